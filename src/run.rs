//! A run's handle: the iterator over its results, its summary, and the
//! ways to stop it. The machinery behind it is in [`engine`](crate::engine).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use crate::batch::ResultBatch;
use crate::context::Context;
use crate::counts::Counts;
use crate::engine::{Engine, RESULTS_WORK, Reorder};
use crate::error::{ContextError, NextTimeoutError, TryNextError};
use crate::handle::RunHandle;
use crate::job::{Job, JobDescriptor};
use crate::outcome::{JobPanic, JobResult};
use crate::unread::UnreadInput;

/// A running batch of jobs, and the iterator over its results.
///
/// Results arrive one per job, as [`JobResult`]s, in about the order the
/// jobs finish (each worker sends its results in small batches), or in
/// input order from a pool set to [`Order::Input`](crate::Order::Input);
/// iteration blocks until the next result is ready and ends after the
/// last.
/// A run is started by [`WorkerPool::run`](crate::WorkerPool::run),
/// [`WorkerPool::run_boxed`](crate::WorkerPool::run_boxed) or
/// [`WorkerPool::start`](crate::WorkerPool::start), which return a [`Run`]
/// (a `ScopedRun<'static, ..>`), or by [`Scope::run`](crate::Scope::run)
/// inside [`WorkerPool::scope`](crate::WorkerPool::scope), whose input and
/// job function may borrow for `'scope` from the caller's stack. Both kinds
/// behave the same in every other way.
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
/// outlives the handle, also when results were left unread. (A scoped run
/// cannot outlive its scope, so its threads are joined before the scope
/// ends.) Running jobs
/// are asked to stop through their context; a job that never looks at its
/// context makes the drop wait for it. So does an input iterator whose
/// `next` is blocked (see [`WorkerPool::run`](crate::WorkerPool::run)).
///
/// The jobs that never started are only reported by the [`Summary`] of
/// [`wait`](Run::wait): iterate `&mut run` and then call `wait` when they
/// matter. A `Run` consumed by value (`for result in run`, `run.count()`,
/// `run.take(3)`) drops them with it.
///
/// # Panics
///
/// A panic of the input iterator (or of the job function's destructor)
/// ends the input early and is reported by [`Summary::input_panic`]. If
/// [`wait`](Run::wait) has not taken it, dropping the `Run` resumes it on
/// the dropping thread once the run's threads are joined, as
/// [`std::thread::scope`] does with a panicked thread: a `for result in
/// run` loop over a failing input panics when it ends instead of looking
/// like a short input. (Not while that thread is already panicking.)
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
pub struct ScopedRun<'scope, A, T, E> {
    engine: Arc<Engine<'scope, A, T, E>>,
    results: Receiver<ResultBatch<T, E>>,
    /// The rest of the batch being handed out.
    buffer: std::vec::IntoIter<JobResult<T, E>>,
    /// In a run that hands out results in input order, the results that
    /// came ahead of their turn.
    /// (Boxed: a `Run` travels by value in `wait_timeout`'s error.)
    reorder: Option<Box<Reorder<T, E>>>,
    /// Set when the raw results channel is handed out in input order: its
    /// batches come in completion order and never reach the reordering,
    /// which the next read then ends rather than wait for them.
    raw_channel_taken: AtomicBool,
    done: Receiver<()>,
    /// Set once the run's threads are joined and its summary taken.
    ended: bool,
}

/// A run whose input and job function own what they use (`'static`): the
/// kind [`WorkerPool::run`](crate::WorkerPool::run),
/// [`WorkerPool::run_boxed`](crate::WorkerPool::run_boxed) and
/// [`WorkerPool::start`](crate::WorkerPool::start) return. Its methods and
/// docs are those of [`ScopedRun`].
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, Run, WorkerPool};
///
/// fn total(run: Run<u64, u64, ()>) -> u64 {
///     run.filter_map(|r| r.into_value()).sum()
/// }
///
/// let pool = WorkerPool::new(2).unwrap();
/// let run = pool.run(&Context::background(), (1..=4u64).map(|i| Job::new(i, i)), |_, i: u64| Ok(i)).unwrap();
/// assert_eq!(total(run), 10);
/// ```
pub type Run<A, T, E> = ScopedRun<'static, A, T, E>;

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
    /// In a resumable run ([`WorkerPool::resumable`](crate::WorkerPool::resumable)),
    /// the input of a batch run that stopped before the input's end (a
    /// cancel, a deadline, a shutdown): it yields exactly the jobs the run
    /// never pulled. Chained after [`unstarted`](Summary::unstarted), it
    /// resumes the run with nothing missing and nothing repeated (see
    /// [`Summary::into_remaining`]). Empty if the input was read to its
    /// end or panicked, for runs fed by a [`Submitter`](crate::Submitter),
    /// and for runs that are not resumable, which drop their input as soon
    /// as they stop reading it.
    pub unread_input: UnreadInput<A>,
    /// Why the run's context ended, if that cut the run short: a job came
    /// back cancelled, jobs came back unstarted, or input was left unread
    /// (or submitters turned away). A cancel that only reached jobs that
    /// finished their work anyway cut nothing short and is not reported.
    pub cancelled_by: Option<ContextError>,
    /// The job whose outcome cancelled the run, in a run that fails fast
    /// (see [`RunBuilder::fail_fast`](crate::RunBuilder::fail_fast)).
    pub tripped_by: Option<JobDescriptor>,
    /// Results that [`Run::wait`] dropped because nobody had read them.
    pub discarded: u64,
    /// The panic of the input iterator (in `next` or its drop), which ends
    /// the input early, or of the job function's destructor.
    pub input_panic: Option<JobPanic>,
}

impl<A> Summary<A> {
    /// The jobs the run did not get to, in the order it would have taken
    /// them: [`unstarted`](Summary::unstarted), then the
    /// [`unread_input`](Summary::unread_input). Run them to resume a
    /// cancelled run with nothing missing and nothing repeated.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?.resumable();
    /// let ctx = Context::with_cancel(&Context::background());
    /// let jobs = (0..1000u64).map(|i| Job::new(i, i));
    /// let run = pool.run(&ctx, jobs, |_, i: u64| Ok::<_, ()>(i))?;
    /// ctx.cancel();
    /// let summary = run.wait();
    /// let done = summary.counts.finished();
    /// // The rest, run again: every job exactly once over both runs.
    /// let rest = pool.run(&Context::background(), summary.into_remaining(), |_, i: u64| Ok::<_, ()>(i))?;
    /// assert_eq!(done + rest.count() as u64, 1000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_remaining(self) -> std::iter::Chain<std::vec::IntoIter<Job<A>>, UnreadInput<A>> {
        self.unstarted.into_iter().chain(self.unread_input)
    }
}

impl<A> fmt::Debug for Summary<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Summary")
            .field("counts", &self.counts)
            .field("unstarted", &self.unstarted.len())
            .field("unread_input", &self.unread_input)
            .field("cancelled_by", &self.cancelled_by)
            .field("tripped_by", &self.tripped_by)
            .field("discarded", &self.discarded)
            .field("input_panic", &self.input_panic)
            .finish()
    }
}

impl<'scope, A, T, E> ScopedRun<'scope, A, T, E> {
    pub(crate) fn new(
        engine: Arc<Engine<'scope, A, T, E>>,
        results: Receiver<ResultBatch<T, E>>,
        done: Receiver<()>,
    ) -> Self {
        ScopedRun {
            reorder: engine.reorder().map(Box::new),
            raw_channel_taken: AtomicBool::new(false),
            engine,
            results,
            buffer: Vec::new().into_iter(),
            done,
            ended: false,
        }
    }
}

impl<A, T, E> ScopedRun<'_, A, T, E> {
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
            if self.reorder.is_some() && self.raw_channel_taken.load(Ordering::Relaxed) {
                // What is held comes first, then completion order.
                self.buffer = self.stop_reordering().into_iter();
                continue;
            }
            let Some(reorder) = &mut self.reorder else {
                self.buffer = self.next_batch(deadline)?.into_iter();
                continue;
            };
            if let Some(result) = reorder.pop() {
                return Ok(result);
            }
            match self.next_batch(deadline) {
                Ok(results) => self.reorder.as_mut().map_or((), |r| r.insert(results)),
                Err(NextTimeoutError::Finished) => {
                    // Every result is in: the places still empty are jobs
                    // that never ran.
                    let reorder = self.reorder.as_mut();
                    return reorder
                        .and_then(|reorder| reorder.pop_after_end())
                        .ok_or(NextTimeoutError::Finished);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Takes a batch's results; in input order, they keep their places in
    /// the window until handed out.
    fn unpack(&self, batch: ResultBatch<T, E>) -> Vec<JobResult<T, E>> {
        if self.reorder.is_some() {
            batch.into_vec_keeping_window()
        } else {
            batch.into_vec()
        }
    }

    /// Stops putting results back in input order (for `wait`, which drops
    /// them): returns the results held, and gives back their places.
    fn stop_reordering(&mut self) -> Vec<JobResult<T, E>> {
        self.reorder
            .take()
            .map_or_else(Vec::new, |reorder| reorder.into_held())
    }

    /// Waits for the next batch of results.
    ///
    /// Workers send results in batches, so a result can sit in a worker's
    /// hands while the worker runs its next job. A reader that has waited
    /// [`RESULTS_WORK`] (1 ms) for a batch takes such results itself and
    /// asks the workers to send theirs at once until it has something; so
    /// a finished result is never held back by a reader's own wait.
    fn next_batch(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Vec<JobResult<T, E>>, NextTimeoutError> {
        match self.results.try_recv() {
            Ok(batch) => return Ok(self.unpack(batch)),
            Err(TryRecvError::Disconnected) => return self.end_of_results(deadline),
            Err(TryRecvError::Empty) => {}
        }
        let soon = Instant::now() + RESULTS_WORK;
        match self
            .results
            .recv_deadline(deadline.map_or(soon, |d| d.min(soon)))
        {
            Ok(batch) => return Ok(self.unpack(batch)),
            Err(RecvTimeoutError::Disconnected) => return self.end_of_results(deadline),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let waiting = self.engine.reader_waits();
        let unsent = self.engine.take_unsent();
        if !unsent.is_empty() {
            // Taken from the workers' hands, not from a batch: they still
            // hold their places in the window. The reordering gives them
            // back in its turn; without it (the raw channel was taken),
            // they go back now, as an unpacked batch's do.
            if self.reorder.is_none()
                && let Some(window) = self.engine.window()
            {
                window.give_back(unsent.len());
            }
            return Ok(unsent);
        }
        let received = recv_until(&self.results, deadline);
        drop(waiting);
        match received {
            Ok(batch) => Ok(self.unpack(batch)),
            Err(RecvTimeoutError::Timeout) => Err(NextTimeoutError::Timeout),
            Err(RecvTimeoutError::Disconnected) => self.end_of_results(deadline),
        }
    }

    /// The results channel has disconnected: every result is in the
    /// buffer's hands. The run counts as finished only once `done` has
    /// disconnected too (a moment later), so that an ended iterator means a
    /// finished run.
    fn end_of_results(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Vec<JobResult<T, E>>, NextTimeoutError> {
        match recv_until(&self.done, deadline) {
            Err(RecvTimeoutError::Disconnected) => Err(NextTimeoutError::Finished),
            _ => Err(NextTimeoutError::Timeout),
        }
    }

    /// The channel the workers deliver results on, in batches, for use in
    /// [`crossbeam_channel::select!`][select]. It is disconnected once the
    /// run has finished.
    ///
    /// [select]: https://docs.rs/crossbeam-channel/0.5/crossbeam_channel/macro.select.html
    ///
    /// Reading from it and iterating the `Run` can be mixed, but `next` takes
    /// a whole batch off the channel and hands it out one result at a time:
    /// once this disconnects, call `next` until it returns `None` for any
    /// results it still holds. A batch holds its share of the results
    /// capacity until it is dropped.
    ///
    /// In [`Order::Input`](crate::Order::Input), batches come off this
    /// channel in completion order, and handing the channel out ends the
    /// run's reordering: `next` then returns the results it held back, in
    /// order, and after them every result as it comes. (Reordering cannot
    /// wait for results that were read here.)
    ///
    /// A reader of this channel alone gets each result when its worker
    /// sends its batch: after about 1 ms of work, when the worker runs out
    /// of jobs, or at once while `next`, `next_timeout` or `fold` waits. A
    /// result finished just before a slow job can so wait for that job;
    /// [`next_timeout`](Run::next_timeout) called when the channel has been
    /// quiet for a while takes such results from the workers.
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
        if self.reorder.is_some() {
            self.raw_channel_taken.store(true, Ordering::Relaxed);
        }
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
        self.engine.context()
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
        self.engine.cancel()
    }

    /// Shuts the run down gracefully (Java's `shutdown`): no more jobs are
    /// taken from the input or accepted from submitters, and jobs already
    /// queued still run (a job the feeder had pulled and was waiting to
    /// queue comes back unstarted). Does not block.
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
        self.engine.shutdown()
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
        self.engine.counts()
    }

    /// A handle that cancels or shuts down the run and reads its counters,
    /// without borrowing the `Run`: take it before `for result in &mut
    /// run`, and use it inside the loop (or on another thread) to stop
    /// early or drive a progress bar.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let mut run = pool.run(&Context::background(), (0u64..).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
    /// let handle = run.handle();
    /// for result in &mut run {
    ///     if result.value() == Some(&100) {
    ///         handle.cancel(); // run.cancel() would not compile here
    ///     }
    /// }
    /// assert!(handle.counts().succeeded > 100);
    /// let summary = run.wait();
    /// assert_eq!(summary.cancelled_by, Some(wpool::ContextError::Cancelled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(&self) -> RunHandle {
        RunHandle::new(self.engine.control(), self.done.clone())
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
        discarded += self.stop_reordering().len() as u64;
        for batch in self.results.iter() {
            discarded += batch.len() as u64;
        }
        self.end(discarded)
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
    pub fn wait_timeout(self, timeout: Duration) -> Result<Summary<A>, Self> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Ok(self.wait()),
        }
    }

    /// Like [`wait`](Run::wait), giving up at `deadline`.
    ///
    /// # Errors
    ///
    /// Gives the `Run` back if it has not finished in time. It comes back
    /// by the deadline plus the time to drop at most 64 results, also
    /// while results keep arriving.
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
    pub fn wait_deadline(mut self, deadline: Instant) -> Result<Summary<A>, Self> {
        let mut discarded = 0;
        if self.reorder.is_some() {
            return self.wait_deadline_in_order(deadline);
        }
        loop {
            // The buffer is dropped a slice at a time, with a look at the
            // clock after each: dropping a result runs user code, which
            // may be slow, and results may never stop coming.
            while self.buffer.len() > 0 {
                if Instant::now() >= deadline {
                    self.engine.add_discarded(discarded);
                    return Err(self);
                }
                let slice = self.buffer.len().min(CHECK_EVERY);
                self.buffer.by_ref().take(slice).for_each(drop);
                discarded += slice as u64;
            }
            if Instant::now() >= deadline {
                self.engine.add_discarded(discarded);
                return Err(self);
            }
            match self.results.recv_deadline(deadline) {
                Ok(batch) => self.buffer = batch.into_vec().into_iter(),
                Err(RecvTimeoutError::Disconnected) => {
                    return match self.done.recv_deadline(deadline) {
                        Err(RecvTimeoutError::Disconnected) => Ok(self.end(discarded)),
                        _ => {
                            self.engine.add_discarded(discarded);
                            Err(self)
                        }
                    };
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.engine.add_discarded(discarded);
                    return Err(self);
                }
            }
        }
    }

    /// [`wait_deadline`](Self::wait_deadline) in input order: the results
    /// are dropped as they are handed out, so that a run given back can go
    /// on in input order.
    fn wait_deadline_in_order(mut self, deadline: Instant) -> Result<Summary<A>, Self> {
        let mut discarded = 0u64;
        loop {
            if discarded.is_multiple_of(CHECK_EVERY as u64) && Instant::now() >= deadline {
                self.engine.add_discarded(discarded);
                return Err(self);
            }
            match self.receive(Some(deadline)) {
                Ok(result) => {
                    drop(result);
                    discarded += 1;
                }
                Err(NextTimeoutError::Finished) => return Ok(self.end(discarded)),
                Err(NextTimeoutError::Timeout) => {
                    self.engine.add_discarded(discarded);
                    return Err(self);
                }
            }
        }
    }

    /// Joins the run's last thread and collects the summary; every result
    /// has been read or dropped, and `done` has disconnected or is about to.
    fn end(&mut self, mut discarded: u64) -> Summary<A> {
        let _ = self.done.recv();
        self.engine.join_threads();
        self.ended = true;
        discarded += self.engine.take_discarded();
        Summary {
            counts: self.engine.counts(),
            unstarted: self.engine.take_unstarted(),
            unread_input: UnreadInput::new(self.engine.take_unread()),
            cancelled_by: self.engine.cancelled_by(),
            tripped_by: self.engine.take_tripped_by(),
            discarded,
            input_panic: self.engine.take_panic(),
        }
    }
}

/// Results `wait_deadline` drops between two looks at the clock: dropping a
/// result runs user code, which may be slow, and results may never stop
/// coming.
const CHECK_EVERY: usize = 64;

/// A receive that waits until `deadline`, or for as long as it takes.
fn recv_until<M>(channel: &Receiver<M>, deadline: Option<Instant>) -> Result<M, RecvTimeoutError> {
    match deadline {
        Some(deadline) => channel.recv_deadline(deadline),
        None => channel.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

impl<A, T, E> Iterator for ScopedRun<'_, A, T, E> {
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
        let mut acc = init;
        // In input order, a run of results whose turn has come at a time;
        // one by `receive` when none is ready (it waits, and knows the
        // ends: the end of the results, a raw channel taken).
        while let Some(reorder) = &mut self.reorder {
            if let Some(ready) = reorder.take_ready() {
                acc = ready.fold(acc, &mut g);
                continue;
            }
            match self.receive(None) {
                Ok(result) => acc = g(acc, result),
                Err(_) => return acc,
            }
        }
        acc = std::mem::take(&mut self.buffer).fold(acc, &mut g);
        while let Ok(batch) = self.next_batch(None) {
            acc = batch.into_iter().fold(acc, &mut g);
        }
        acc
    }
}

impl<A, T, E> std::iter::FusedIterator for ScopedRun<'_, A, T, E> {}

impl<A, T, E> Drop for ScopedRun<'_, A, T, E> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        // A run that has finished is left as it ended: its context stays
        // uncancelled, as after `wait`.
        if !self.is_finished() {
            self.engine.cancel();
        }
        let _ = self.done.recv();
        self.engine.join_threads();
        if let Some(unread) = self.engine.take_unread() {
            // Its destructor is user code; a panic there is reported below.
            self.engine.drop_user_value(unread);
        }
        if let Some(panic) = self.engine.take_panic()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(Box::new(panic.message().to_owned()));
        }
    }
}

impl<A, T, E> fmt::Debug for ScopedRun<'_, A, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("counts", &self.counts())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
