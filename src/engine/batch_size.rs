//! How many jobs travel together, from the measured cost of a job.
//!
//! One channel message per job caps a pool at a few million jobs a second,
//! whatever the job: the send, the receive and the wake-up cost more than a
//! small job. So jobs go to the workers in *batches* sized to hold about
//! [`BATCH_WORK`] of work, and results come back in batches of about
//! [`RESULTS_WORK`]: trivial jobs travel thousands to a message, jobs of a
//! millisecond or more alone. Until a job has been measured, batches hold
//! one job, so slow jobs never start out bunched together.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How much work one batch of jobs should carry.
pub(crate) const BATCH_WORK: Duration = Duration::from_millis(1);

/// How much work one batch of results stands for: how long a result may
/// wait for its batch-mates. Each batch may wake the reader, and a wake-up
/// costs the worker microseconds (far more in a virtual machine): at
/// 100 µs a lone worker lost 4 to 9% of its time to them on ~1 µs jobs, at
/// 1 ms about 1%. A reader that is about to block takes unsent results
/// itself, so a result never waits for a slow job behind it for longer
/// than this.
pub(crate) const RESULTS_WORK: Duration = Duration::from_millis(1);

/// The largest batch for a channel of `capacity` jobs shared by `workers`,
/// at most `cap`: small enough that one batch never holds the share of
/// several workers, so that a full channel still spreads its work over all
/// of them.
pub(crate) fn max_batch(capacity: usize, workers: usize, cap: usize) -> usize {
    (capacity / workers.saturating_mul(2).max(1)).clamp(1, cap.max(1))
}

/// The measured average cost of one job: the workers measure, the queue
/// and the workers' result batches are sized from it.
#[derive(Default)]
pub(crate) struct JobCost {
    /// Nanoseconds per job, a moving average; 0 until measured. Relaxed:
    /// workers race on it, and a lost update only delays the estimate by
    /// one batch.
    nanos: AtomicU64,
}

impl JobCost {
    /// Folds in one measurement: `jobs` jobs took `elapsed`.
    pub(crate) fn record(&self, elapsed: Duration, jobs: usize) {
        if jobs == 0 {
            return;
        }
        let sample = (elapsed.as_nanos() / jobs as u128).clamp(1, u64::MAX as u128) as u64;
        let old = self.nanos.load(Relaxed);
        let new = if old == 0 {
            sample
        } else {
            (old.saturating_mul(3) / 4)
                .saturating_add(sample / 4)
                .max(1)
        };
        self.nanos.store(new, Relaxed);
    }

    /// Whether any job has been measured yet.
    pub(crate) fn is_measured(&self) -> bool {
        self.nanos.load(Relaxed) != 0
    }

    /// How many jobs make about `work` of work, between 1 and `max`; one
    /// until a measurement exists.
    pub(crate) fn batch_size(&self, work: Duration, max: usize) -> usize {
        match self.nanos.load(Relaxed) {
            0 => 1,
            nanos => ((work.as_nanos() as u64 / nanos) as usize).clamp(1, max.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_one_job_until_a_job_is_measured() {
        let cost = JobCost::default();
        assert!(!cost.is_measured());
        assert_eq!(cost.batch_size(BATCH_WORK, 4096), 1);
    }

    #[test]
    fn batches_hold_about_the_target_work() {
        let cost = JobCost::default();
        cost.record(Duration::from_micros(100), 100); // 1 µs a job
        assert!(cost.is_measured());
        assert_eq!(cost.batch_size(Duration::from_millis(1), 4096), 1000);
        assert_eq!(cost.batch_size(Duration::from_millis(1), 64), 64);
    }

    #[test]
    fn slow_jobs_travel_alone() {
        let cost = JobCost::default();
        cost.record(Duration::from_millis(50), 1);
        assert_eq!(cost.batch_size(BATCH_WORK, 4096), 1);
    }

    #[test]
    fn the_estimate_follows_a_change_in_cost() {
        let cost = JobCost::default();
        cost.record(Duration::from_micros(1), 1);
        for _ in 0..40 {
            cost.record(Duration::from_micros(100), 1);
        }
        assert_eq!(cost.batch_size(Duration::from_millis(1), 4096), 10);
    }

    #[test]
    fn max_batch_keeps_a_share_for_every_worker() {
        assert_eq!(max_batch(16_384, 2, 4096), 4096);
        assert_eq!(max_batch(16_384, 8, 4096), 1024);
        assert_eq!(max_batch(10, 8, 4096), 1);
        assert_eq!(max_batch(0, 1, 0), 1);
        assert_eq!(max_batch(usize::MAX, usize::MAX, 4096), 1);
    }
}
