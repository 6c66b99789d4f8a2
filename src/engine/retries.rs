//! Jobs waiting out a back-off before another attempt. They wait here, not
//! on a worker: a worker that finds no other job sleeps until the first
//! one is due, and one with other jobs runs those meanwhile. After a
//! cancel the workers hand each back with its last attempt's outcome.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use parking_lot::Mutex;

use crate::job::Job;
use crate::outcome::Outcome;

pub(crate) struct Retries<A, T, E> {
    waiting: Mutex<BinaryHeap<Reverse<Due<A, T, E>>>>,
    /// How many wait, for the exit check and the idle search without the
    /// lock. Written under the lock (SeqCst), so that a worker's exit check
    /// that reads 0 either saw the job leave with a move begun, or the job
    /// was never here.
    count: AtomicUsize,
}

struct Due<A, T, E> {
    at: Instant,
    job: Job<A>,
    /// The outcome of the attempt that failed, reported if the run is
    /// cancelled before the next one.
    last: Outcome<T, E>,
}

impl<A, T, E> PartialEq for Due<A, T, E> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<A, T, E> Eq for Due<A, T, E> {}

impl<A, T, E> PartialOrd for Due<A, T, E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<A, T, E> Ord for Due<A, T, E> {
    /// By due time, then by place in the intake: a stable order.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.job.seq()).cmp(&(other.at, other.job.seq()))
    }
}

impl<A, T, E> Retries<A, T, E> {
    pub(crate) fn new() -> Self {
        Retries {
            waiting: Mutex::new(BinaryHeap::new()),
            count: AtomicUsize::new(0),
        }
    }

    /// Puts a job to wait until `at`, with the outcome of its last attempt.
    pub(crate) fn schedule(&self, at: Instant, job: Job<A>, last: Outcome<T, E>) {
        let mut waiting = self.waiting.lock();
        waiting.push(Reverse(Due { at, job, last }));
        self.count.store(waiting.len(), SeqCst);
    }

    /// Takes a job whose back-off is over, with its last attempt's
    /// outcome.
    pub(crate) fn take_due(&self, now: Instant) -> Option<(Job<A>, Outcome<T, E>)> {
        if self.is_empty() {
            return None;
        }
        let mut waiting = self.waiting.lock();
        if waiting.peek()?.0.at > now {
            return None;
        }
        let Reverse(due) = waiting.pop()?;
        self.count.store(waiting.len(), SeqCst);
        drop(waiting);
        Some((due.job, due.last))
    }

    /// When the first waiting job is due, if any waits.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        if self.is_empty() {
            return None;
        }
        self.waiting.lock().peek().map(|due| due.0.at)
    }

    /// Whether no job waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.count.load(SeqCst) == 0
    }

    /// Takes every waiting job with its last outcome, for a run that ended.
    pub(crate) fn drain(&self) -> Vec<(Job<A>, Outcome<T, E>)> {
        let mut waiting = self.waiting.lock();
        self.count.store(0, SeqCst);
        std::mem::take(&mut *waiting)
            .into_sorted_vec()
            .into_iter()
            // Sorted by `Reverse`: the latest first.
            .rev()
            .map(|Reverse(due)| (due.job, due.last))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn job(seq: u64) -> Job<u64> {
        let mut job = Job::new(seq, seq);
        job.enter_run(seq);
        job
    }

    #[test]
    fn a_job_comes_back_once_due_with_its_attempt_counted() {
        let retries: Retries<u64, u64, &str> = Retries::new();
        let now = Instant::now();
        retries.schedule(now + Duration::from_secs(1), job(1), Outcome::Failed("no"));
        assert!(!retries.is_empty());
        assert!(retries.take_due(now).is_none(), "not due yet");
        assert_eq!(retries.next_due(), Some(now + Duration::from_secs(1)));
        let (taken, last) = retries.take_due(now + Duration::from_secs(2)).unwrap();
        assert_eq!(last, Outcome::Failed("no"));
        assert_eq!(taken.seq(), 1);
        assert_eq!(taken.descriptor().attempts(), 0, "counted when it starts");
        assert!(retries.is_empty());
    }

    #[test]
    fn the_earliest_comes_first_and_a_drain_takes_all_with_their_outcomes() {
        let retries: Retries<u64, u64, &str> = Retries::new();
        let now = Instant::now();
        retries.schedule(
            now + Duration::from_millis(20),
            job(2),
            Outcome::Failed("b"),
        );
        retries.schedule(
            now + Duration::from_millis(10),
            job(1),
            Outcome::Failed("a"),
        );
        assert_eq!(
            retries
                .take_due(now + Duration::from_millis(15))
                .unwrap()
                .0
                .seq(),
            1
        );
        retries.schedule(now, job(3), Outcome::Failed("c"));
        let drained: Vec<_> = retries
            .drain()
            .into_iter()
            .map(|(job, last)| (job.seq(), last))
            .collect();
        assert_eq!(
            drained,
            [(3, Outcome::Failed("c")), (2, Outcome::Failed("b"))]
        );
        assert!(retries.is_empty());
    }
}
