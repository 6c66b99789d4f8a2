//! Continuous submission: jobs arriving from any number of threads while
//! the results are being read.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::RwLock;

use crate::budget::{Budget, Refused};
use crate::parcel::Parcel;
use crate::stats::Stats;
use crate::{Context, Job, SubmitError, SubmitTimeoutError, TrySubmitError};

/// The submitters' side of a run's job queue.
pub(crate) struct Intake<A> {
    /// The queue's only sender. Submitting holds the read lock across the
    /// send; ending the intake takes the write lock and drops the sender, so
    /// after that no job can slip into the queue unseen.
    pub(crate) queue: RwLock<Option<Sender<Parcel<A>>>>,
    ctx: Context,
    intake: Context,
    stats: Arc<Stats>,
    queue_budget: Arc<Budget>,
}

impl<A> Intake<A> {
    pub(crate) fn new(
        jobs: Sender<Parcel<A>>,
        ctx: Context,
        intake: Context,
        stats: Arc<Stats>,
        queue_budget: Arc<Budget>,
    ) -> Self {
        Intake {
            queue: RwLock::new(Some(jobs)),
            ctx,
            intake,
            stats,
            queue_budget,
        }
    }
}

/// Ends the intake (a graceful shutdown) when the last submitter is gone.
struct Submitters<A>(Arc<Intake<A>>);

impl<A> Drop for Submitters<A> {
    fn drop(&mut self) {
        self.0.intake.cancel();
    }
}

/// Submits jobs to a run started with
/// [`WorkerPool::start`](crate::WorkerPool::start), from any thread.
///
/// Clone it for each thread that submits. The run stops taking jobs when
/// every `Submitter` has been dropped (or [`Run::shutdown`](crate::Run::shutdown)
/// is called); jobs already queued still run, and then the run's results end.
///
/// Every failed submission gives the job back in its error.
///
/// # Deadlock hazard
///
/// A job may submit to its own run, but a blocking [`submit`](Submitter::submit)
/// waits for room in the queue, and only the workers make room. If every
/// worker is inside a job that waits like this, the run stalls until it is
/// cancelled (a cancel wakes every waiting submit). From inside a job,
/// prefer [`try_submit`](Submitter::try_submit) or
/// [`submit_timeout`](Submitter::submit_timeout). And since the run ends only
/// once every `Submitter` is dropped, one that jobs can reach keeps the run
/// going until [`Run::shutdown`](crate::Run::shutdown) or a cancel.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2).unwrap();
/// let (submitter, run) = pool.start(&Context::background(), |_, n: u64| Ok::<_, ()>(n * n)).unwrap();
/// let producers: Vec<_> = (0..4u64)
///     .map(|t| {
///         let submitter = submitter.clone();
///         std::thread::spawn(move || {
///             for i in 0..25 {
///                 submitter.submit(Job::new(t * 100 + i, i)).unwrap();
///             }
///         })
///     })
///     .collect();
/// drop(submitter); // the run ends once the producers' clones are gone too
/// let total: u64 = run.map(|r| r.into_value().unwrap()).sum();
/// producers.into_iter().for_each(|p| p.join().unwrap());
/// assert_eq!(total, 4 * (0..25u64).map(|i| i * i).sum::<u64>());
/// ```
pub struct Submitter<A> {
    shared: Arc<Submitters<A>>,
}

impl<A> Clone for Submitter<A> {
    fn clone(&self) -> Submitter<A> {
        Submitter {
            shared: self.shared.clone(),
        }
    }
}

impl<A> fmt::Debug for Submitter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submitter").finish_non_exhaustive()
    }
}

/// Why a submission did not go through.
enum Refusal {
    /// No room in the queue, now or before the deadline.
    Full,
    Closed,
    Cancelled,
}

/// How long a submission may wait for room in the queue.
#[derive(Clone, Copy)]
enum Wait {
    No,
    Until(Instant),
    Forever,
}

impl<A> Submitter<A> {
    pub(crate) fn new(intake: Arc<Intake<A>>) -> Submitter<A> {
        Submitter {
            shared: Arc::new(Submitters(intake)),
        }
    }

    /// Queues `job`, waiting while the queue is full (back-pressure).
    ///
    /// # Errors
    ///
    /// Gives the job back with [`SubmitError::Closed`] if the run no longer
    /// takes jobs, or [`SubmitError::Cancelled`] if it was cancelled, also
    /// while waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, mut run) = pool.start(&Context::background(), |_, s: &str| Ok::<_, ()>(s.len())).unwrap();
    /// submitter.submit(Job::new("greeting", "hello")).unwrap();
    /// assert_eq!(run.next().unwrap().value(), Some(&5));
    /// ```
    pub fn submit(&self, job: Job<A>) -> Result<(), SubmitError<Job<A>>> {
        self.send(job, Wait::Forever)
            .map_err(|(refusal, job)| match refusal {
                Refusal::Cancelled => SubmitError::Cancelled(job),
                _ => SubmitError::Closed(job),
            })
    }

    /// Queues `job` if there is room right now.
    ///
    /// # Errors
    ///
    /// Gives the job back with [`TrySubmitError::Full`],
    /// [`TrySubmitError::Closed`] or [`TrySubmitError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(1).queue_capacity(1).build().unwrap();
    /// let (started_tx, started) = crossbeam_channel::unbounded();
    /// let (submitter, run) = pool
    ///     .start(&Context::background(), move |ctx, ()| {
    ///         started_tx.send(()).unwrap();
    ///         let _ = ctx.done().recv(); // busy until the run is cancelled
    ///         ctx.check()
    ///     })
    ///     .unwrap();
    /// submitter.try_submit(Job::new(1u64, ())).unwrap();
    /// started.recv().unwrap(); // the worker holds job 1
    /// submitter.try_submit(Job::new(2u64, ())).unwrap(); // the queue holds job 2
    /// let err = submitter.try_submit(Job::new(3u64, ())).unwrap_err();
    /// assert!(err.is_full());
    /// assert_eq!(err.into_inner().id().as_u64(), Some(3)); // the job comes back
    /// run.cancel();
    /// # drop(run);
    /// ```
    pub fn try_submit(&self, job: Job<A>) -> Result<(), TrySubmitError<Job<A>>> {
        self.send(job, Wait::No)
            .map_err(|(refusal, job)| match refusal {
                Refusal::Full => TrySubmitError::Full(job),
                Refusal::Closed => TrySubmitError::Closed(job),
                Refusal::Cancelled => TrySubmitError::Cancelled(job),
            })
    }

    /// Queues `job`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// Gives the job back with [`SubmitTimeoutError::Timeout`],
    /// [`SubmitTimeoutError::Closed`] or [`SubmitTimeoutError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, mut run) = pool.start(&Context::background(), |_, n: u8| Ok::<_, ()>(n)).unwrap();
    /// submitter.submit_timeout(Job::new(1u64, 1), Duration::from_secs(1)).unwrap();
    /// assert_eq!(run.next().unwrap().value(), Some(&1));
    /// ```
    pub fn submit_timeout(
        &self,
        job: Job<A>,
        timeout: Duration,
    ) -> Result<(), SubmitTimeoutError<Job<A>>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.submit_deadline(job, deadline),
            None => self.submit(job).map_err(SubmitTimeoutError::from),
        }
    }

    /// Queues `job`, waiting until `deadline` at most for room.
    ///
    /// # Errors
    ///
    /// Gives the job back with [`SubmitTimeoutError::Timeout`],
    /// [`SubmitTimeoutError::Closed`] or [`SubmitTimeoutError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, run) = pool.start(&Context::background(), |_, n: u8| Ok::<_, ()>(n)).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// submitter.submit_deadline(Job::new(1u64, 1), deadline).unwrap();
    /// drop(submitter);
    /// assert_eq!(run.wait().counts.succeeded, 1);
    /// ```
    pub fn submit_deadline(
        &self,
        job: Job<A>,
        deadline: Instant,
    ) -> Result<(), SubmitTimeoutError<Job<A>>> {
        self.send(job, Wait::Until(deadline))
            .map_err(|(refusal, job)| match refusal {
                Refusal::Full => SubmitTimeoutError::Timeout(job),
                Refusal::Closed => SubmitTimeoutError::Closed(job),
                Refusal::Cancelled => SubmitTimeoutError::Cancelled(job),
            })
    }

    /// Returns `true` once the run no longer takes jobs.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, run) = pool.start(&Context::background(), |_, ()| Ok::<_, ()>(())).unwrap();
    /// assert!(!submitter.is_closed());
    /// run.shutdown();
    /// assert!(submitter.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.0.intake.is_cancelled()
    }

    fn send(&self, job: Job<A>, wait: Wait) -> Result<(), (Refusal, Job<A>)> {
        let intake = &self.shared.0;
        let refuse = |job| {
            let why = if intake.ctx.is_cancelled() {
                Refusal::Cancelled
            } else {
                Refusal::Closed
            };
            Err((why, job))
        };
        if intake.intake.is_cancelled() {
            return refuse(job);
        }
        let queue = match wait {
            Wait::No => match intake.queue.try_read() {
                Some(queue) => queue,
                // Only the intake's end takes the write lock.
                None => return refuse(job),
            },
            _ => intake.queue.read(),
        };
        let Some(jobs) = queue.as_ref() else {
            return refuse(job);
        };
        let budget = &intake.queue_budget;
        let acquired = match wait {
            Wait::No if budget.try_acquire(1) => Ok(()),
            Wait::No => Err(Refused::Timeout),
            Wait::Until(deadline) => budget.acquire(1, intake.intake.done(), Some(deadline)),
            Wait::Forever => budget.acquire(1, intake.intake.done(), None),
        };
        match acquired {
            // Room can appear while the run is being cancelled; a submit that
            // was waiting must then fail, not slip into the cancelled run.
            Ok(()) if intake.ctx.is_cancelled_relaxed() || intake.intake.is_cancelled_relaxed() => {
                budget.release(1);
                return refuse(job);
            }
            Ok(()) => {}
            Err(Refused::Timeout) => return Err((Refusal::Full, job)),
            Err(Refused::Stopped) => return refuse(job),
        }
        match jobs.send(Parcel::One(job)) {
            Ok(()) => {
                intake.stats.add_submitted(1);
                Ok(())
            }
            Err(err) => {
                budget.release(1);
                refuse(only_job(err.into_inner()))
            }
        }
    }
}

fn only_job<A>(parcel: Parcel<A>) -> Job<A> {
    match parcel {
        Parcel::One(job) => job,
        Parcel::Many(_) => unreachable!("submitters send single jobs"),
    }
}
