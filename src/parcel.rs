//! What travels on a run's channels, and how big a batch should be.
//!
//! # Why batches
//!
//! One channel message per job caps a pool at a few million jobs a second,
//! whatever the job: the send, the receive and the wake-up cost more than a
//! small job. So the feeder sends *parcels* of jobs and each worker sends its
//! results back in batches. A parcel is sized from the measured cost of a
//! job to hold about [`PARCEL_WORK`] of work: trivial jobs travel thousands
//! to a message, while jobs of a millisecond or more travel alone. A worker
//! works through a parcel one job at a time from its shelf, where idle
//! workers can take from it (see [`shelf`](crate::shelf)), and sends its
//! results in batches of about 1 ms of work.
//!
//! Capacities are configured in jobs, not messages, and enforced by a
//! [`Budget`](crate::budget::Budget), so memory stays bounded whatever the
//! batch size.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::Job;

/// How much work one parcel should carry.
pub(crate) const PARCEL_WORK: Duration = Duration::from_millis(1);

/// A message on the job queue: one submitted job, or a parcel from the
/// feeder.
pub(crate) enum Parcel<A> {
    One(Job<A>),
    Many(Vec<Job<A>>),
}

impl<A> Parcel<A> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Parcel::One(_) => 1,
            Parcel::Many(jobs) => jobs.len(),
        }
    }

    /// The parcel's jobs, without copying them out of a many-job parcel.
    pub(crate) fn into_vec(self) -> Vec<Job<A>> {
        match self {
            Parcel::One(job) => vec![job],
            Parcel::Many(jobs) => jobs,
        }
    }
}

impl<A> IntoIterator for Parcel<A> {
    type Item = Job<A>;
    type IntoIter = ParcelIter<A>;

    fn into_iter(self) -> ParcelIter<A> {
        match self {
            Parcel::One(job) => ParcelIter::One(Some(job)),
            Parcel::Many(jobs) => ParcelIter::Many(jobs.into_iter()),
        }
    }
}

pub(crate) enum ParcelIter<A> {
    One(Option<Job<A>>),
    Many(std::vec::IntoIter<Job<A>>),
}

impl<A> Iterator for ParcelIter<A> {
    type Item = Job<A>;

    fn next(&mut self) -> Option<Job<A>> {
        match self {
            ParcelIter::One(job) => job.take(),
            ParcelIter::Many(jobs) => jobs.next(),
        }
    }
}

/// The largest batch for a channel of `capacity` jobs shared by `workers`,
/// at most `cap`:
/// small enough that one batch never holds the share of several workers,
/// so that a full channel still spreads its work over all of them.
pub(crate) fn max_batch(capacity: usize, workers: usize, cap: usize) -> usize {
    (capacity / workers.saturating_mul(2).max(1)).clamp(1, cap.max(1))
}

/// The measured average cost of one job, shared by the workers (who
/// measure) and the feeder (who sizes parcels from it).
#[derive(Default)]
pub(crate) struct JobCost {
    nanos: AtomicU64,
}

impl JobCost {
    /// Folds in one parcel's measurement. Workers race on this; a lost
    /// update only delays the estimate by one parcel.
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

    /// How many jobs make a parcel of about [`PARCEL_WORK`]; one until a
    /// measurement exists, so slow jobs never start out bunched together.
    pub(crate) fn parcel_size(&self, max_batch: usize) -> usize {
        self.batch_size(PARCEL_WORK, max_batch)
    }

    /// How many jobs make about `work` of work, between 1 and `max_batch`;
    /// one until a measurement exists.
    pub(crate) fn batch_size(&self, work: Duration, max_batch: usize) -> usize {
        match self.nanos.load(Relaxed) {
            0 => 1,
            nanos => ((work.as_nanos() as u64 / nanos) as usize).clamp(1, max_batch),
        }
    }
}
