//! A run: its threads, its shared state, and the handle that reads its
//! results.
//!
//! # Shutdown protocol
//!
//! Every run has one supervisor thread besides its workers. In a batch run
//! it is also the feeder. It ends a run in a fixed order, which is what
//! makes the guarantees on [`Run`] hold:
//!
//! 1. Input stops: the input is exhausted or the intake context ends
//!    (shutdown or cancel), and the job queue's last sender is dropped.
//! 2. Every worker is joined. Workers leave once the queue is closed and
//!    no job is left on any shelf, or at once on cancel, handing back the
//!    jobs they held.
//! 3. Jobs still queued (only after a cancel) are moved to `unstarted`.
//! 4. The results channel's last sender is dropped, then the done channel's.
//!
//! So when `done` closes, every result is in the results channel and every
//! unstarted job is in `unstarted`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use parking_lot::Mutex;

use crate::budget::Budget;
use crate::parcel::{JobCost, Parcel, max_batch};
use crate::pool::Config;
use crate::shelf::{Nudge, OpenParcel, Shelf};
use crate::stats::Stats;
use crate::unwind;
use crate::{
    Context, ContextError, Counts, Job, JobPanic, JobResult, NextTimeoutError, ResultBatch,
    StartError, TryNextError,
};

/// The state a run's threads and its handle share.
pub(crate) struct Shared<A> {
    /// The run's own context, handed to every job.
    pub(crate) ctx: Context,
    /// A child of `ctx`, ended by a graceful shutdown: it stops the intake
    /// of jobs without touching running ones.
    pub(crate) intake: Context,
    pub(crate) stats: Arc<Stats>,
    pub(crate) cost: JobCost,
    /// Jobs queued, counted against the queue capacity.
    pub(crate) queue_budget: Arc<Budget>,
    /// Results delivered and not yet taken, counted against the results
    /// capacity; shared with every [`ResultBatch`] in flight.
    pub(crate) results_budget: Arc<Budget>,
    pub(crate) max_parcel: usize,
    pub(crate) max_results: usize,
    /// Workers looking for work or asleep waiting for it; whoever adds work
    /// where they would look nudges them.
    pub(crate) idle_workers: AtomicUsize,
    pub(crate) unstarted: Mutex<Vec<Job<A>>>,
    /// One per worker: the rest of the parcel it is working through.
    pub(crate) shelves: Box<[Shelf<A>]>,
    /// The feeder's parcel while it fills.
    pub(crate) open_parcel: OpenParcel<A>,
    /// Wakes an idle worker to look at the shelves and the open parcel.
    pub(crate) nudge: Nudge,
    /// Workers that found the queue closed and nothing anywhere.
    pub(crate) drained: AtomicUsize,
    /// Disconnected by the last worker to drain: no job is left anywhere.
    pub(crate) search_over: Receiver<()>,
    search_over_tx: Mutex<Option<Sender<()>>>,
    pub(crate) input_panic: Mutex<Option<JobPanic>>,
    /// Set when the end of the context cut the run short: the feeder left
    /// input unread, submitters were turned away, or a job was running.
    pub(crate) cut_short: AtomicBool,
    /// Why the context ended, if that cut the run short; set when the last
    /// worker has been joined.
    pub(crate) cancelled_by: Mutex<Option<ContextError>>,
}

impl<A> Shared<A> {
    /// Tells the drained workers waiting for nudges that none will come.
    pub(crate) fn end_search(&self) {
        self.search_over_tx.lock().take();
    }

    /// Takes a parcel off the queue's budget as it leaves the queue.
    pub(crate) fn dequeued(&self, parcel: Parcel<A>) -> Parcel<A> {
        self.queue_budget.release(parcel.len());
        parcel
    }

    pub(crate) fn give_back(&self, jobs: impl IntoIterator<Item = Job<A>>) {
        let mut unstarted = self.unstarted.lock();
        let before = unstarted.len();
        unstarted.extend(jobs);
        self.stats.add_unstarted((unstarted.len() - before) as u64);
    }
}

/// A running batch of jobs, and the iterator over its results.
///
/// Results arrive in about the order the jobs finish (each worker sends its
/// results in small batches), one per job, as [`JobResult`]s; iteration
/// blocks until the next result is ready and ends after the last.
/// A run is started by [`WorkerPool::run`](crate::WorkerPool::run),
/// [`WorkerPool::run_boxed`](crate::WorkerPool::run_boxed) or
/// [`WorkerPool::start`](crate::WorkerPool::start).
///
/// # Stopping a run
///
/// - [`shutdown`](Run::shutdown) is graceful: no more jobs are taken, and
///   those already submitted still run.
/// - [`cancel`](Run::cancel) is immediate: the run's context is cancelled,
///   running jobs see it, and jobs that have not started are not run; they
///   come back in [`Summary::unstarted`].
///
/// # Drop
///
/// Dropping a `Run` cancels it and joins all of its threads, so no thread
/// outlives the handle, also when results were left unread. Running jobs
/// are asked to stop through their context; a job that never looks at its
/// context makes the drop wait for it. So does an input iterator whose
/// `next` is blocked (see [`WorkerPool::run`](crate::WorkerPool::run)).
///
/// The jobs that never started and a panic of the input iterator are only
/// reported by the [`Summary`] of [`wait`](Run::wait): iterate `&mut run`
/// and then call `wait` when they matter. A `Run` consumed by value (`for
/// result in run`, `run.count()`, `run.take(3)`) drops them with it.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(4).unwrap();
/// let jobs = (0..1000u64).map(|i| Job::new(i, i));
/// let mut run = pool.run(&Context::background(), jobs, |_ctx, i: u64| Ok::<_, String>(2 * i)).unwrap();
///
/// let mut sum = 0;
/// for result in &mut run {
///     sum += result.into_value().unwrap();
/// }
/// assert_eq!(sum, 999 * 1000);
/// let summary = run.wait();
/// assert_eq!(summary.counts.succeeded, 1000);
/// assert!(summary.unstarted.is_empty());
/// ```
#[must_use = "dropping a Run cancels it: iterate it, or call wait()"]
pub struct Run<A, T, E> {
    shared: Arc<Shared<A>>,
    results: Receiver<ResultBatch<T, E>>,
    buffer: std::vec::IntoIter<JobResult<T, E>>,
    done: Receiver<()>,
    supervisor: Option<JoinHandle<()>>,
}

/// What a finished run did, from [`Run::wait`].
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(1).unwrap();
/// let ctx = Context::with_cancel(&Context::background());
/// ctx.cancel();
/// let run = pool.run(&ctx, (0..5u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
/// let summary = run.wait();
/// assert_eq!(summary.cancelled_by, Some(wpool::ContextError::Cancelled));
/// assert_eq!(summary.counts.finished() + summary.counts.unstarted, summary.counts.submitted);
/// ```
#[non_exhaustive]
pub struct Summary<A> {
    /// The final counters.
    pub counts: Counts,
    /// Jobs that were submitted but never started, with their descriptors,
    /// ready to be resubmitted or saved.
    pub unstarted: Vec<Job<A>>,
    /// Why the run's context ended, if it ended before the last worker
    /// stopped: the run was cancelled, or a deadline cut it short.
    pub cancelled_by: Option<ContextError>,
    /// Results that [`Run::wait`] dropped because nobody had read them.
    pub discarded: u64,
    /// The panic of the input iterator, which ends the input early.
    pub input_panic: Option<JobPanic>,
}

impl<A> fmt::Debug for Summary<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Summary")
            .field("counts", &self.counts)
            .field("unstarted", &self.unstarted.len())
            .field("cancelled_by", &self.cancelled_by)
            .field("discarded", &self.discarded)
            .field("input_panic", &self.input_panic)
            .finish()
    }
}

/// What the supervisor thread needs to end a run in order.
pub(crate) struct Closing<A, T, E> {
    pub(crate) shared: Arc<Shared<A>>,
    pub(crate) workers: Vec<JoinHandle<()>>,
    pub(crate) jobs: Receiver<Parcel<A>>,
    pub(crate) results: Sender<ResultBatch<T, E>>,
    pub(crate) done: Sender<()>,
}

impl<A, T, E> Closing<A, T, E> {
    /// Ends a run that failed to start: stops and joins the workers started
    /// so far. No job has been queued.
    fn abort(self, jobs: Sender<Parcel<A>>) {
        self.shared.ctx.cancel();
        drop(jobs);
        self.finish();
    }

    /// Steps 2 to 4 of the shutdown protocol; the caller has done step 1.
    pub(crate) fn finish(self) {
        for worker in self.workers {
            // Workers catch every panic of user code, so this cannot fail.
            let _ = worker.join();
        }
        let shared = &self.shared;
        shared.give_back(self.jobs.try_iter().flat_map(|p| shared.dequeued(p)));
        for shelf in shared.shelves.iter() {
            shared.give_back(shelf.clear());
        }
        // A deadline that passes while the threads wind down, after every
        // job has finished, cut nothing short and is not reported.
        let counts = shared.stats.snapshot();
        let cut_short = shared.cut_short.load(Ordering::Relaxed)
            || counts.cancelled > 0
            || counts.unstarted > 0;
        *shared.cancelled_by.lock() = shared.ctx.err().filter(|_| cut_short);
        drop(self.results);
        drop(self.done);
    }
}

/// Channels and threads of a run being started, before it has a handle.
pub(crate) struct Launch<A, T, E> {
    pub(crate) shared: Arc<Shared<A>>,
    pub(crate) jobs_tx: Sender<Parcel<A>>,
    pub(crate) closing: Closing<A, T, E>,
    results_rx: Receiver<ResultBatch<T, E>>,
    done_rx: Receiver<()>,
    config: Arc<Config>,
}

impl<A, T, E> Launch<A, T, E>
where
    A: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// Creates the channels and starts the workers, each running `work`.
    pub(crate) fn new<W>(config: Arc<Config>, parent: &Context, work: W) -> Result<Self, StartError>
    where
        W: Fn(usize, Arc<Shared<A>>, Receiver<Parcel<A>>, Sender<ResultBatch<T, E>>)
            + Send
            + Sync
            + 'static,
    {
        // Unbounded in messages; the budgets bound them in jobs.
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
        let (results_tx, results_rx) = crossbeam_channel::unbounded();
        let (done_tx, done_rx) = crossbeam_channel::bounded(0);
        let ctx = Context::with_cancel(parent);
        let (search_over_tx, search_over) = crossbeam_channel::bounded(0);
        let shared = Arc::new(Shared {
            intake: Context::with_cancel(&ctx),
            ctx,
            stats: Arc::new(Stats::new(config.workers)),
            cost: JobCost::default(),
            queue_budget: Arc::new(Budget::new(config.queue_capacity)),
            results_budget: Arc::new(Budget::new(config.results_capacity)),
            max_parcel: max_batch(config.queue_capacity, config.workers, config.max_batch),
            max_results: max_batch(config.results_capacity, config.workers, config.max_batch),
            idle_workers: AtomicUsize::new(0),
            unstarted: Mutex::new(Vec::new()),
            shelves: (0..config.workers).map(|_| Shelf::new()).collect(),
            open_parcel: OpenParcel::new(),
            nudge: Nudge::new(config.workers),
            drained: AtomicUsize::new(0),
            search_over,
            search_over_tx: Mutex::new(Some(search_over_tx)),
            input_panic: Mutex::new(None),
            cut_short: AtomicBool::new(false),
            cancelled_by: Mutex::new(None),
        });
        let mut launch = Launch {
            closing: Closing {
                shared: shared.clone(),
                workers: Vec::with_capacity(config.workers),
                jobs: jobs_rx,
                results: results_tx,
                done: done_tx,
            },
            shared,
            jobs_tx,
            results_rx,
            done_rx,
            config,
        };
        let work = Arc::new(work);
        for index in 0..launch.config.workers {
            let (work, shared) = (work.clone(), launch.shared.clone());
            let (jobs, results) = (launch.closing.jobs.clone(), launch.closing.results.clone());
            let name = format!("{}-{index}", launch.config.thread_name);
            let worker = move || {
                work(index, shared, jobs, results);
                // The last worker out drops the job function, and with it
                // whatever the caller's closure captured: user code, which
                // must not panic on a pool thread.
                let _ = unwind::catch(move || drop(work));
            };
            match launch.spawn(name, worker) {
                Ok(handle) => launch.closing.workers.push(handle),
                Err(err) => {
                    launch.closing.abort(launch.jobs_tx);
                    return Err(err);
                }
            }
        }
        Ok(launch)
    }

    fn spawn(
        &self,
        name: String,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<JoinHandle<()>, StartError> {
        Launch::<A, T, E>::spawn_with(&self.config, name, f)
    }

    /// Starts the supervisor, which runs `supervise` and then ends the run.
    /// If it cannot start, stops and joins the workers; no job has been
    /// queued.
    pub(crate) fn supervise(
        self,
        supervise: impl FnOnce(Closing<A, T, E>, Sender<Parcel<A>>) + Send + 'static,
    ) -> Result<Run<A, T, E>, StartError> {
        let name = format!("{}-supervisor", self.config.thread_name);
        let Launch {
            shared,
            jobs_tx,
            closing,
            results_rx,
            done_rx,
            config,
        } = self;
        // The closure owns the closing state; if the thread never starts, it
        // comes back through this slot so the workers can still be joined.
        let slot = Arc::new(Mutex::new(Some((closing, jobs_tx))));
        let taken = slot.clone();
        let spawned = Launch::<A, T, E>::spawn_with(&config, name, move || {
            // Taken in a statement of its own: an `if let` on the lock would
            // hold it for the whole run, user code included.
            let state = taken.lock().take();
            if let Some((closing, jobs_tx)) = state {
                supervise(closing, jobs_tx);
            }
        });
        match spawned {
            Ok(handle) => Ok(Run {
                shared,
                results: results_rx,
                buffer: Vec::new().into_iter(),
                done: done_rx,
                supervisor: Some(handle),
            }),
            Err(err) => {
                if let Some((closing, jobs_tx)) = slot.lock().take() {
                    closing.abort(jobs_tx);
                }
                Err(err)
            }
        }
    }

    fn spawn_with(
        config: &Config,
        name: String,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<JoinHandle<()>, StartError> {
        let mut builder = thread::Builder::new().name(name.clone());
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        builder.spawn(f).map_err(|err| StartError::new(name, err))
    }
}

impl<A, T, E> Run<A, T, E> {
    /// Returns the next result without blocking.
    ///
    /// # Errors
    ///
    /// [`TryNextError::Empty`] if no result is ready yet,
    /// [`TryNextError::Finished`] once every result has been read.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, TryNextError, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let mut run = pool.run(&Context::background(), [Job::new(1u64, ())], |_, ()| Ok::<_, ()>(1)).unwrap();
    /// run.done().recv().ok(); // wait for the run to finish
    /// assert!(run.try_next().unwrap().is_ok());
    /// assert_eq!(run.try_next().unwrap_err(), TryNextError::Finished);
    /// ```
    pub fn try_next(&mut self) -> Result<JobResult<T, E>, TryNextError> {
        // A deadline that has passed makes every receive a single try.
        self.receive(Some(Instant::now())).map_err(|err| match err {
            NextTimeoutError::Timeout => TryNextError::Empty,
            NextTimeoutError::Finished => TryNextError::Finished,
        })
    }

    /// Waits up to `timeout` for the next result.
    ///
    /// # Errors
    ///
    /// [`NextTimeoutError::Timeout`] if none arrived in time,
    /// [`NextTimeoutError::Finished`] once every result has been read.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let mut run = pool.run(&Context::background(), [Job::new(1u64, 5u32)], |_, n: u32| Ok::<_, ()>(n)).unwrap();
    /// let result = run.next_timeout(Duration::from_secs(5)).unwrap();
    /// assert_eq!(result.value(), Some(&5));
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<JobResult<T, E>, NextTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.next_deadline(deadline),
            None => self.next().ok_or(NextTimeoutError::Finished),
        }
    }

    /// Waits until `deadline` for the next result.
    ///
    /// # Errors
    ///
    /// [`NextTimeoutError::Timeout`] if none arrived in time,
    /// [`NextTimeoutError::Finished`] once every result has been read.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wpool::{Context, Job, NextTimeoutError, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let ctx = Context::background();
    /// let (started_tx, started) = crossbeam_channel::bounded(1);
    /// let mut run = pool.run(&ctx, [Job::new(1u64, ())], move |ctx, ()| {
    ///     started_tx.send(()).unwrap();
    ///     ctx.sleep(Duration::from_secs(60))
    /// }).unwrap();
    /// started.recv().unwrap();
    /// let soon = Instant::now() + Duration::from_millis(10);
    /// assert_eq!(run.next_deadline(soon).unwrap_err(), NextTimeoutError::Timeout);
    /// run.cancel();
    /// assert!(run.next().unwrap().outcome().is_cancelled());
    /// ```
    pub fn next_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<JobResult<T, E>, NextTimeoutError> {
        self.receive(Some(deadline))
    }

    /// The one receive behind `next`, `try_next` and `next_deadline`.
    fn receive(&mut self, deadline: Option<Instant>) -> Result<JobResult<T, E>, NextTimeoutError> {
        loop {
            if let Some(result) = self.buffer.next() {
                return Ok(result);
            }
            match recv_until(&self.results, deadline) {
                Ok(batch) => self.buffer = batch.into_iter(),
                Err(RecvTimeoutError::Timeout) => return Err(NextTimeoutError::Timeout),
                // The supervisor closes `done` a moment after the results;
                // the run counts as finished only once both are closed, so
                // that an ended iterator means a finished run.
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(match recv_until(&self.done, deadline) {
                        Err(RecvTimeoutError::Disconnected) => NextTimeoutError::Finished,
                        _ => NextTimeoutError::Timeout,
                    });
                }
            }
        }
    }

    /// The channel the workers deliver results on, in batches, for use in
    /// [`crossbeam_channel::select!`]. It is disconnected once the run has
    /// finished.
    ///
    /// Reading from it and iterating the `Run` can be mixed, but `next` takes
    /// a whole batch off the channel and hands it out one result at a time:
    /// once this disconnects, call `next` until it returns `None` for any
    /// results it still holds. A batch holds its share of the results
    /// capacity until it is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use crossbeam_channel::{select, tick};
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let mut run = pool.run(&Context::background(), (0..100u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
    /// let ticker = tick(Duration::from_millis(100));
    /// let mut seen = 0;
    /// loop {
    ///     select! {
    ///         recv(run.results()) -> batch => match batch {
    ///             Ok(batch) => seen += batch.len(),
    ///             Err(_) => break, // the run has finished
    ///         },
    ///         recv(ticker) -> _ => eprintln!("{:?}", run.counts()),
    ///     }
    /// }
    /// assert_eq!(seen, 100);
    /// ```
    pub fn results(&self) -> &Receiver<ResultBatch<T, E>> {
        &self.results
    }

    /// A channel that is disconnected once every worker has been joined.
    ///
    /// By then every result has been delivered to [`results`](Run::results),
    /// so a reader that sees `done` can read the rest without blocking.
    /// Nothing is ever sent on it.
    ///
    /// Workers wait while the results channel is full (see
    /// [`Builder::results_capacity`](crate::Builder::results_capacity)), so
    /// a caller that waits for `done` without reading results or cancelling
    /// may wait forever. [`wait`](Run::wait) reads (and drops) results for
    /// you.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let mut run = pool.run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
    /// assert!(run.done().recv().is_err()); // blocks until the run has finished
    /// assert_eq!(run.by_ref().count(), 10); // and no result is lost
    /// ```
    pub fn done(&self) -> &Receiver<()> {
        &self.done
    }

    /// Returns `true` once every worker has been joined (see
    /// [`done`](Run::done)).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let run = pool.run(&Context::background(), [Job::new(1u64, ())], |_, ()| Ok::<_, ()>(())).unwrap();
    /// run.done().recv().ok();
    /// assert!(run.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(self.done.try_recv(), Err(TryRecvError::Disconnected))
    }

    /// The run's context: a child of the context the run was started with,
    /// handed to every job.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let parent = Context::with_cancel(&Context::background());
    /// let pool = WorkerPool::new(1).unwrap();
    /// let run = pool.run(&parent, [Job::new(1u64, ())], |_, ()| Ok::<_, ()>(())).unwrap();
    /// parent.cancel();
    /// assert!(run.context().is_cancelled());
    /// ```
    pub fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// Cancels the run (Java's `shutdownNow`): running jobs see a cancelled
    /// context, jobs not yet started are not run and come back in
    /// [`Summary::unstarted`], and submitting fails. Results of jobs that
    /// finish still arrive. Does not block.
    ///
    /// Returns `true` if this call cancelled the run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let jobs = (0..1000u64).map(|i| Job::new(i, i));
    /// let run = pool.run(&Context::background(), jobs, |ctx, _| ctx.sleep(Duration::from_secs(60))).unwrap();
    /// assert!(run.cancel());
    /// let summary = run.wait();
    /// assert_eq!(summary.counts.succeeded, 0);
    /// assert_eq!(summary.counts.unstarted, summary.unstarted.len() as u64);
    /// ```
    pub fn cancel(&self) -> bool {
        self.shared.ctx.cancel()
    }

    /// Shuts the run down gracefully (Java's `shutdown`): no more jobs are
    /// taken from the input or accepted from submitters, and jobs already
    /// queued still run. Does not block.
    ///
    /// Returns `true` if this call shut the run down.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let endless = (0u64..).map(|i| Job::new(i, i));
    /// let run = pool.run(&Context::background(), endless, |_, i: u64| Ok::<_, ()>(i)).unwrap();
    /// run.shutdown();
    /// let summary = run.wait();
    /// // Every job taken from the input either ran or came back.
    /// assert_eq!(summary.counts.finished() + summary.counts.unstarted, summary.counts.submitted);
    /// ```
    pub fn shutdown(&self) -> bool {
        self.shared.intake.cancel()
    }

    /// A snapshot of the run's counters, cheap enough for a progress bar.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let mut run = pool.run(&Context::background(), (0..50u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
    /// run.by_ref().for_each(drop);
    /// assert_eq!(run.counts().succeeded, 50);
    /// ```
    pub fn counts(&self) -> Counts {
        self.shared.stats.snapshot()
    }

    /// Waits for the run to finish and returns its [`Summary`]. Results not
    /// yet read are dropped (and counted in [`Summary::discarded`]), so this
    /// never waits on a full results channel.
    ///
    /// Blocks as long as a running job does: a job that ignores its context
    /// keeps `wait` waiting. See [`wait_timeout`](Run::wait_timeout). A run
    /// started with [`WorkerPool::start`](crate::WorkerPool::start) ends only
    /// once every [`Submitter`](crate::Submitter) is dropped (or on
    /// [`shutdown`](Run::shutdown) or [`cancel`](Run::cancel)): waiting
    /// while holding one waits forever. So does waiting while holding
    /// [`ResultBatch`]es taken from [`results`](Run::results) that fill the
    /// results capacity: the workers wait for that room until the batches
    /// are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let run = pool.run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
    /// let summary = run.wait();
    /// assert_eq!(summary.discarded, 10);
    /// assert_eq!(summary.counts.succeeded, 10);
    /// ```
    pub fn wait(mut self) -> Summary<A> {
        let mut discarded = self.buffer.len() as u64;
        self.buffer = Vec::new().into_iter();
        for batch in self.results.iter() {
            discarded += batch.len() as u64;
        }
        self.finish(discarded)
    }

    /// Like [`wait`](Run::wait), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// Gives the `Run` back if it has not finished in time: a job is still
    /// running (perhaps one that ignores its context). Results read while
    /// waiting are dropped all the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (started_tx, started) = crossbeam_channel::bounded(1);
    /// let run = pool.run(&Context::background(), [Job::new(1u64, ())], move |ctx, ()| {
    ///     started_tx.send(()).unwrap();
    ///     ctx.sleep(Duration::from_secs(60))
    /// }).unwrap();
    /// started.recv().unwrap();
    /// let run = run.wait_timeout(Duration::from_millis(10)).unwrap_err(); // still running
    /// run.cancel();
    /// let summary = run.wait_timeout(Duration::from_secs(10)).unwrap();
    /// assert_eq!(summary.counts.cancelled, 1);
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<Summary<A>, Run<A, T, E>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Ok(self.wait()),
        }
    }

    /// Like [`wait`](Run::wait), giving up at `deadline`.
    ///
    /// # Errors
    ///
    /// Gives the `Run` back if it has not finished in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let run = pool.run(&Context::background(), [Job::new(1u64, 2u64)], |_, n: u64| Ok::<_, ()>(n)).unwrap();
    /// let summary = run.wait_deadline(Instant::now() + Duration::from_secs(10)).unwrap();
    /// assert_eq!(summary.counts.succeeded, 1);
    /// ```
    pub fn wait_deadline(mut self, deadline: Instant) -> Result<Summary<A>, Run<A, T, E>> {
        let mut discarded = self.buffer.len() as u64;
        self.buffer = Vec::new().into_iter();
        loop {
            match self.results.recv_deadline(deadline) {
                Ok(batch) => discarded += batch.len() as u64,
                Err(RecvTimeoutError::Disconnected) => return Ok(self.finish(discarded)),
                Err(RecvTimeoutError::Timeout) => {
                    self.shared.stats.add_discarded(discarded);
                    return Err(self);
                }
            }
        }
    }

    /// Joins the supervisor and collects the summary; the results channel
    /// is already drained and disconnected.
    fn finish(&mut self, mut discarded: u64) -> Summary<A> {
        if let Some(supervisor) = self.supervisor.take() {
            // The supervisor runs user code only inside `unwind::catch`.
            let _ = supervisor.join();
        }
        discarded += self.shared.stats.take_discarded();
        Summary {
            counts: self.shared.stats.snapshot(),
            unstarted: std::mem::take(&mut *self.shared.unstarted.lock()),
            cancelled_by: *self.shared.cancelled_by.lock(),
            discarded,
            input_panic: self.shared.input_panic.lock().take(),
        }
    }
}

/// A receive that waits until `deadline`, or for as long as it takes.
fn recv_until<M>(channel: &Receiver<M>, deadline: Option<Instant>) -> Result<M, RecvTimeoutError> {
    match deadline {
        Some(deadline) => channel.recv_deadline(deadline),
        None => channel.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

impl<A, T, E> Iterator for Run<A, T, E> {
    type Item = JobResult<T, E>;

    /// Blocks until the next result is ready; `None` once the run has
    /// finished and every result has been read.
    fn next(&mut self) -> Option<JobResult<T, E>> {
        self.receive(None).ok()
    }

    /// Folds every result, a whole batch at a time: `sum`, `count`,
    /// `for_each` and the like skip the per-result bookkeeping of `next`.
    /// Returns, like iteration by `next`, once the run has finished.
    fn fold<B, G>(mut self, init: B, mut g: G) -> B
    where
        G: FnMut(B, JobResult<T, E>) -> B,
    {
        let mut acc = std::mem::take(&mut self.buffer).fold(init, &mut g);
        while let Ok(batch) = self.results.recv() {
            acc = batch.into_iter().fold(acc, &mut g);
        }
        // As in `receive`: the run counts as finished once `done` closes.
        let _ = self.done.recv();
        acc
    }
}

impl<A, T, E> std::iter::FusedIterator for Run<A, T, E> {}

impl<A, T, E> Drop for Run<A, T, E> {
    fn drop(&mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            // A run that has finished is left as it ended: its context stays
            // uncancelled, as after `wait`.
            if !self.is_finished() {
                self.shared.ctx.cancel();
            }
            let _ = supervisor.join();
        }
    }
}

impl<A, T, E> fmt::Debug for Run<A, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("counts", &self.counts())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
