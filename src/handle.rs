//! A handle on a run that stops it and watches it without borrowing it.

use std::fmt;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::context::Context;
use crate::counts::Counts;
use crate::engine::Control;

/// Cancels, shuts down and watches a run from anywhere, taken with
/// [`Run::handle`](crate::Run::handle).
///
/// A `Run` is borrowed while `for result in &mut run` iterates it, so
/// `run.cancel()` and `run.counts()` cannot be called in the loop's body.
/// A `RunHandle` can: it is cheap to clone, `Send` and `Sync`, and does not
/// keep the run alive (once the run has finished, cancelling does nothing).
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2)?;
/// let jobs = (0..10_000u64).map(|i| Job::new(i, i));
/// let mut run = pool.run(&Context::background(), jobs, |_, i: u64| {
///     if i == 500 { Err("bad input") } else { Ok(i) }
/// })?;
/// let handle = run.handle();
/// let mut progress = 0;
/// for result in &mut run {
///     progress = handle.counts().finished();
///     if result.outcome().is_failed() {
///         handle.cancel(); // stop at the first failure
///     }
/// }
/// let summary = run.wait();
/// assert_eq!(summary.counts.failed, 1);
/// assert!(progress >= 1);
/// assert_eq!(summary.counts.finished() + summary.counts.unstarted, summary.counts.submitted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RunHandle {
    control: Control,
    done: Receiver<()>,
}

impl RunHandle {
    pub(crate) fn new(control: Control, done: Receiver<()>) -> RunHandle {
        RunHandle { control, done }
    }

    /// Cancels the run, as [`Run::cancel`](crate::Run::cancel): running
    /// jobs see their context cancelled, jobs not yet started come back
    /// unstarted, and no more input is read. Does not block.
    ///
    /// Returns `true` if this call cancelled the run.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let run = pool.run(&Context::background(), (0u64..).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
    /// let handle = run.handle();
    /// std::thread::spawn(move || handle.cancel());
    /// let summary = run.wait(); // ends once the other thread has cancelled
    /// assert!(summary.cancelled_by.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.control.cancel()
    }

    /// Shuts the run down gracefully, as
    /// [`Run::shutdown`](crate::Run::shutdown): no more jobs are taken in,
    /// and jobs already taken in still run. Does not block.
    ///
    /// Returns `true` if this call shut the run down.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let mut run = pool.run(&Context::background(), (0u64..).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
    /// let handle = run.handle();
    /// let mut read = 0;
    /// for _ in &mut run {
    ///     read += 1;
    ///     if read == 10 {
    ///         handle.shutdown();
    ///     }
    /// }
    /// let summary = run.wait();
    /// // Every job queued ran (the one the feeder was waiting to queue, if
    /// // any, came back unstarted).
    /// assert_eq!(summary.counts.succeeded, read);
    /// assert_eq!(summary.counts.finished() + summary.counts.unstarted, summary.counts.submitted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&self) -> bool {
        self.control.shutdown()
    }

    /// A snapshot of the run's counters, as
    /// [`Run::counts`](crate::Run::counts).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool.run(&Context::background(), (0..20u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
    /// let handle = run.handle();
    /// run.wait();
    /// assert_eq!(handle.counts().succeeded, 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counts(&self) -> Counts {
        self.control.counts()
    }

    /// The run's context (see [`Run::context`](crate::Run::context)).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let run = pool.run(&Context::background(), [Job::new(1u64, ())], |_, ()| Ok::<_, ()>(()))?;
    /// let handle = run.handle();
    /// handle.cancel();
    /// assert!(handle.context().is_cancelled());
    /// # drop(run);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context(&self) -> &Context {
        self.control.context()
    }

    /// Returns `true` once every worker of the run has been joined (see
    /// [`Run::done`](crate::Run::done)).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let run = pool.run(&Context::background(), [Job::new(1u64, ())], |_, ()| Ok::<_, ()>(()))?;
    /// let handle = run.handle();
    /// run.wait();
    /// assert!(handle.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(self.done.try_recv(), Err(TryRecvError::Disconnected))
    }
}

impl fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field("counts", &self.counts())
            .field("finished", &self.is_finished())
            .finish()
    }
}
