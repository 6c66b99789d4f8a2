//! Live counters of a run.
//!
//! Each worker owns one cache-line-aligned slot and is its only writer, so
//! counting costs a plain store per job instead of a contended atomic add;
//! readers sum the slots. The counters are for progress reports and the
//! final summary: no decision of the engine reads them (a worker's decision
//! to leave reads the containers themselves, see `idle.rs`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::counts::Counts;
use crate::outcome::Outcome;

#[derive(Default)]
#[repr(align(128))]
pub(crate) struct WorkerCounters {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    panicked: AtomicU64,
    timed_out: AtomicU64,
    retries: AtomicU64,
}

/// Which counter a finished job moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Succeeded,
    Failed,
    Cancelled,
    Panicked,
    TimedOut,
}

impl Finish {
    /// The counter an outcome moves.
    pub(crate) fn of<T, E>(outcome: &Outcome<T, E>) -> Finish {
        match outcome {
            Outcome::Succeeded(_) => Finish::Succeeded,
            Outcome::Failed(_) => Finish::Failed,
            Outcome::Cancelled(_) => Finish::Cancelled,
            Outcome::Panicked(_) => Finish::Panicked,
            Outcome::TimedOut(_) => Finish::TimedOut,
        }
    }
}

impl WorkerCounters {
    /// Only the slot's own worker calls this, so load-then-store is exact.
    #[inline]
    fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }

    #[inline]
    pub(crate) fn started(&self) {
        WorkerCounters::bump(&self.started);
    }

    #[inline]
    pub(crate) fn finished(&self, how: Finish) {
        WorkerCounters::bump(match how {
            Finish::Succeeded => &self.succeeded,
            Finish::Failed => &self.failed,
            Finish::Cancelled => &self.cancelled,
            Finish::Panicked => &self.panicked,
            Finish::TimedOut => &self.timed_out,
        });
    }

    /// Counts a job that will be tried again.
    #[inline]
    pub(crate) fn retried(&self) {
        WorkerCounters::bump(&self.retries);
    }
}

pub(crate) struct Counters {
    /// Jobs the run accepted; written by the queue under its lock (so
    /// Relaxed stores of a growing number), read by progress reports.
    submitted: AtomicU64,
    /// Jobs given back unstarted; any thread adds, Relaxed (a count only).
    unstarted: AtomicU64,
    /// Results a timed-out `wait_deadline` dropped, for the final summary.
    discarded: AtomicU64,
    workers: Box<[WorkerCounters]>,
}

impl Counters {
    pub(crate) fn new(workers: usize) -> Counters {
        Counters {
            submitted: AtomicU64::new(0),
            unstarted: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            workers: (0..workers).map(|_| WorkerCounters::default()).collect(),
        }
    }

    pub(crate) fn worker(&self, index: usize) -> &WorkerCounters {
        &self.workers[index]
    }

    /// Records how many jobs the run has accepted so far.
    #[inline]
    pub(crate) fn set_submitted(&self, jobs: u64) {
        self.submitted.store(jobs, Relaxed);
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

    /// The counters as they stand.
    pub(crate) fn snapshot(&self) -> Counts {
        let submitted = self.submitted.load(Relaxed);
        let mut counts = Counts::default();
        let mut started = 0;
        for slot in self.workers.iter() {
            started += slot.started.load(Relaxed);
            counts.succeeded += slot.succeeded.load(Relaxed);
            counts.failed += slot.failed.load(Relaxed);
            counts.cancelled += slot.cancelled.load(Relaxed);
            counts.panicked += slot.panicked.load(Relaxed);
            counts.timed_out += slot.timed_out.load(Relaxed);
            counts.retries += slot.retries.load(Relaxed);
        }
        counts.unstarted = self.unstarted.load(Relaxed);
        counts.submitted = submitted.max(started + counts.unstarted);
        counts.running = started.saturating_sub(counts.finished());
        counts.queued = counts
            .submitted
            .saturating_sub(started)
            .saturating_sub(counts.unstarted);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_sums_the_workers() {
        let counters = Counters::new(2);
        counters.worker(0).started();
        counters.worker(0).finished(Finish::Succeeded);
        counters.worker(1).started();
        counters.worker(1).started();
        counters.worker(1).finished(Finish::Panicked);
        counters.add_unstarted(3);
        let counts = {
            counters.set_submitted(10);
            counters.snapshot()
        };
        assert_eq!(counts.submitted, 10);
        assert_eq!((counts.succeeded, counts.panicked), (1, 1));
        assert_eq!(counts.running, 1);
        assert_eq!(counts.unstarted, 3);
        assert_eq!(counts.queued, 4);
    }
}
