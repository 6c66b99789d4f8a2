//! A run's counters as the caller sees them.

/// A snapshot of a run's counters, from [`Run::counts`](crate::Run::counts)
/// while it goes on and in its final [`Summary`](crate::Summary).
///
/// Once the run has finished,
/// `submitted == succeeded + failed + cancelled + panicked + timed_out +
/// unstarted`.
/// While it runs the fields are read one by one, so a snapshot may be off by
/// the jobs that moved on while it was taken.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2).unwrap();
/// let jobs = (0..100u64).map(|i| Job::new(i, i));
/// let run = pool.run(&Context::background(), jobs, |_, i: u64| {
///     if i % 10 == 0 { Err("no tens") } else { Ok(i) }
/// }).unwrap();
/// let summary = run.wait();
/// assert_eq!(summary.counts.submitted, 100);
/// assert_eq!(summary.counts.succeeded, 90);
/// assert_eq!(summary.counts.failed, 10);
/// assert_eq!(summary.counts.finished(), 100);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Counts {
    /// Jobs taken into the run: from the input iterator, or accepted by a
    /// submitter.
    pub submitted: u64,
    /// Jobs submitted and waiting for a worker.
    pub queued: u64,
    /// Jobs a worker is executing right now.
    pub running: u64,
    /// Jobs that returned `Ok`.
    pub succeeded: u64,
    /// Jobs that returned `Err` while the run was live.
    pub failed: u64,
    /// Jobs that returned `Err` after the run was cancelled.
    pub cancelled: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs that ran past their own deadline (a per-job timeout).
    pub timed_out: u64,
    /// Attempts beyond each job's first, in a run that retries failed
    /// jobs; a job waiting to be tried again counts as running.
    pub retries: u64,
    /// Jobs that were submitted but never started, because the run was
    /// cancelled or shut down first. They come back in
    /// [`Summary::unstarted`](crate::Summary::unstarted).
    pub unstarted: u64,
}

impl Counts {
    /// Jobs that ran to an outcome: succeeded, failed, cancelled, panicked
    /// or timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Counts;
    ///
    /// let mut counts = Counts::default();
    /// (counts.succeeded, counts.failed, counts.cancelled, counts.panicked) = (90, 5, 3, 2);
    /// counts.unstarted = 40; // never ran, so not finished
    /// assert_eq!(counts.finished(), 100);
    /// ```
    pub fn finished(&self) -> u64 {
        self.succeeded + self.failed + self.cancelled + self.panicked + self.timed_out
    }
}
