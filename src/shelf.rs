//! Work that sits outside the channel, where an idle worker can still take
//! it: each worker's shelf (the rest of the parcel it is working through)
//! and the feeder's parcel that is still filling.
//!
//! # Why
//!
//! Batching puts jobs out of other workers' reach. Without shelves, jobs
//! batched behind a slow job wait for it while other workers sit idle, and
//! the jobs in a half-filled parcel wait for the input's next job, which
//! for an input fed by a channel may be a long time. So a worker takes its
//! parcel one job at a time from its shelf, a worker with nothing to do
//! takes half of another's shelf or the feeder's open parcel, and a nudge
//! wakes idle workers when either fills up. A worker takes the open parcel
//! at most once per 100 µs (see `worker::OPEN_PARCEL_PACE`) and, while it
//! may not, waits with a timer instead of for nudges, so that a fast
//! input's parcels fill up and a nudge always reaches a worker that will
//! look.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::Job;

/// A worker's shelf, on a cache line of its own so that the owner's lock
/// traffic does not disturb its neighbours.
#[repr(align(128))]
pub(crate) struct Shelf<A> {
    jobs: Mutex<VecDeque<Job<A>>>,
}

impl<A> Shelf<A> {
    pub(crate) fn new() -> Shelf<A> {
        Shelf {
            jobs: Mutex::new(VecDeque::new()),
        }
    }

    /// Puts a received parcel on the owner's shelf. Returns whether to
    /// nudge: other workers are idle, and there is more here than the job
    /// the owner takes next.
    ///
    /// `idle` is read under the shelf's lock, which orders it against a
    /// worker that goes idle and then looks at this shelf: either that
    /// worker sees these jobs, or this sees it idle.
    pub(crate) fn stock(&self, jobs: Vec<Job<A>>, idle: &AtomicUsize) -> bool {
        let mut shelf = self.jobs.lock();
        if shelf.is_empty() {
            // Takes over the parcel's buffer instead of copying every job.
            *shelf = VecDeque::from(jobs);
        } else {
            shelf.extend(jobs);
        }
        // The owner takes the first job itself; only the rest is worth
        // waking anyone for.
        shelf.len() > 1 && idle.load(Ordering::Relaxed) > 0
    }

    /// Takes the owner's next job. One at a time, so that everything
    /// behind the job a worker is running stays within other workers' reach.
    pub(crate) fn next_job(&self) -> Option<Job<A>> {
        self.jobs.lock().pop_front()
    }

    /// Takes the later half of another worker's shelf; `None` if it is
    /// empty.
    pub(crate) fn steal_half(&self) -> Option<Vec<Job<A>>> {
        let mut jobs = self.jobs.lock();
        if jobs.is_empty() {
            return None;
        }
        let keep = jobs.len() / 2;
        Some(jobs.drain(keep..).collect())
    }

    /// Empties the shelf, for jobs that will not start.
    pub(crate) fn clear(&self) -> VecDeque<Job<A>> {
        std::mem::take(&mut *self.jobs.lock())
    }
}

/// The feeder's parcel while it fills, shared so that an idle worker can
/// take it while the feeder waits for its input.
#[repr(align(128))]
pub(crate) struct OpenParcel<A> {
    jobs: Mutex<Vec<Job<A>>>,
}

impl<A> OpenParcel<A> {
    pub(crate) fn new() -> OpenParcel<A> {
        OpenParcel {
            jobs: Mutex::new(Vec::new()),
        }
    }

    /// Adds a job. Returns the parcel once it holds `target` jobs, or else
    /// whether to nudge: the parcel just opened and a worker is idle (read
    /// under the lock, as in [`Shelf::stock`]).
    pub(crate) fn push(
        &self,
        job: Job<A>,
        target: usize,
        idle: &AtomicUsize,
    ) -> Result<Vec<Job<A>>, bool> {
        let mut jobs = self.jobs.lock();
        jobs.push(job);
        if jobs.len() >= target {
            // The next parcel gets room for about as many jobs up front, so
            // that filling it seldom reallocates.
            Ok(std::mem::replace(&mut *jobs, Vec::with_capacity(target)))
        } else {
            Err(jobs.len() == 1 && idle.load(Ordering::Relaxed) > 0)
        }
    }

    /// Takes whatever the parcel holds.
    pub(crate) fn take(&self) -> Vec<Job<A>> {
        std::mem::take(&mut *self.jobs.lock())
    }

    /// Takes the parcel for an idle worker; `None` if it is empty.
    ///
    /// `count` sees how many jobs were taken while the lock is still held:
    /// the jobs are then in no queue and on no shelf, and a worker that
    /// finds the queue closed must not see them missing from the counts
    /// (it would leave, thinking nothing is left to start).
    pub(crate) fn take_some(&self, count: impl FnOnce(usize)) -> Option<Vec<Job<A>>> {
        let mut taken = {
            let mut jobs = self.jobs.lock();
            if jobs.is_empty() {
                return None;
            }
            count(jobs.len());
            std::mem::take(&mut *jobs)
        };
        // The parcel's buffer was sized for a full parcel; a few jobs taken
        // from a stalled input need not carry it onto a shelf.
        if taken.capacity() > 2 * taken.len() {
            taken.shrink_to_fit();
        }
        Some(taken)
    }
}

/// Wakes a worker that is blocked waiting on the job queue, so that it
/// looks at the shelves and the open parcel.
pub(crate) struct Nudge {
    tx: Sender<()>,
    pub(crate) rx: Receiver<()>,
}

impl Nudge {
    /// Room for one nudge per worker; a worker that finds work passes a
    /// nudge on while others are idle (see `Shelf::stock`), and a worker
    /// that may not take the open parcel yet sleeps on a timer instead, so
    /// none of them sleeps through work that is waiting.
    pub(crate) fn new(workers: usize) -> Nudge {
        let (tx, rx) = crossbeam_channel::bounded(workers.max(1));
        Nudge { tx, rx }
    }

    pub(crate) fn send(&self) {
        let _ = self.tx.try_send(());
    }
}
