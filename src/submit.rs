//! Continuous submission: jobs arriving from any number of threads while
//! the results are being read.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::{Intake, Refused, Wait};
use crate::error::{SubmitError, SubmitTimeoutError, TrySubmitError};
use crate::job::Job;

/// Ends the intake (a graceful shutdown) when the last submitter is gone.
struct Submitters<A>(Arc<dyn Intake<A>>);

impl<A> Drop for Submitters<A> {
    fn drop(&mut self) {
        self.0.shutdown();
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

impl<A> Submitter<A> {
    pub(crate) fn new(intake: Arc<dyn Intake<A>>) -> Submitter<A> {
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
                Refused::Cancelled => SubmitError::Cancelled(job),
                Refused::Full | Refused::Closed => SubmitError::Closed(job),
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
                Refused::Full => TrySubmitError::Full(job),
                Refused::Closed => TrySubmitError::Closed(job),
                Refused::Cancelled => TrySubmitError::Cancelled(job),
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
                Refused::Full => SubmitTimeoutError::Timeout(job),
                Refused::Closed => SubmitTimeoutError::Closed(job),
                Refused::Cancelled => SubmitTimeoutError::Cancelled(job),
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
        self.shared.0.is_closed()
    }

    fn send(&self, job: Job<A>, wait: Wait) -> Result<(), (Refused, Job<A>)> {
        self.shared.0.submit(job, wait)
    }
}
