//! Live counters of a run.
//!
//! Each worker owns one cache-line-aligned slot and is its only writer, so
//! counting costs a plain store per job instead of a contended atomic add;
//! readers sum the slots.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a run's counters, from [`Run::counts`](crate::Run::counts)
/// while it goes on and in its final [`Summary`](crate::Summary).
///
/// Once the run has finished,
/// `submitted == succeeded + failed + cancelled + panicked + unstarted`.
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
    /// Jobs that were submitted but never started, because the run was
    /// cancelled or shut down first. They come back in
    /// [`Summary::unstarted`](crate::Summary::unstarted).
    pub unstarted: u64,
}

impl Counts {
    /// Jobs that ran to an outcome: succeeded, failed, cancelled or
    /// panicked.
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
        self.succeeded + self.failed + self.cancelled + self.panicked
    }
}

#[derive(Default)]
#[repr(align(128))]
pub(crate) struct WorkerSlot {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    panicked: AtomicU64,
}

/// Which counter a finished job moves.
#[derive(Clone, Copy)]
pub(crate) enum Finish {
    Succeeded,
    Failed,
    Cancelled,
    Panicked,
}

impl WorkerSlot {
    /// Only the slot's own worker calls this, so load-then-store is exact.
    #[inline]
    fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }

    #[inline]
    pub(crate) fn started(&self) {
        WorkerSlot::bump(&self.started);
    }

    #[inline]
    pub(crate) fn finished(&self, how: Finish) {
        WorkerSlot::bump(match how {
            Finish::Succeeded => &self.succeeded,
            Finish::Failed => &self.failed,
            Finish::Cancelled => &self.cancelled,
            Finish::Panicked => &self.panicked,
        });
    }
}

pub(crate) struct Stats {
    submitted: AtomicU64,
    unstarted: AtomicU64,
    /// Results a timed-out `wait_deadline` dropped, for the final summary.
    discarded: AtomicU64,
    workers: Box<[WorkerSlot]>,
}

impl Stats {
    pub(crate) fn new(workers: usize) -> Stats {
        Stats {
            submitted: AtomicU64::new(0),
            unstarted: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            workers: (0..workers).map(|_| WorkerSlot::default()).collect(),
        }
    }

    pub(crate) fn slot(&self, worker: usize) -> &WorkerSlot {
        &self.workers[worker]
    }

    pub(crate) fn add_submitted(&self, jobs: u64) {
        self.submitted.fetch_add(jobs, Relaxed);
    }

    pub(crate) fn add_unstarted(&self, jobs: u64) {
        self.unstarted.fetch_add(jobs, Relaxed);
    }

    pub(crate) fn add_discarded(&self, results: u64) {
        self.discarded.fetch_add(results, Relaxed);
    }

    pub(crate) fn take_discarded(&self) -> u64 {
        self.discarded.swap(0, Relaxed)
    }

    pub(crate) fn snapshot(&self) -> Counts {
        let mut counts = Counts::default();
        let mut started = 0;
        for slot in self.workers.iter() {
            started += slot.started.load(Relaxed);
            counts.succeeded += slot.succeeded.load(Relaxed);
            counts.failed += slot.failed.load(Relaxed);
            counts.cancelled += slot.cancelled.load(Relaxed);
            counts.panicked += slot.panicked.load(Relaxed);
        }
        counts.unstarted = self.unstarted.load(Relaxed);
        counts.submitted = self.submitted.load(Relaxed);
        counts.running = started.saturating_sub(counts.finished());
        counts.queued = counts
            .submitted
            .saturating_sub(started)
            .saturating_sub(counts.unstarted);
        counts
    }
}
