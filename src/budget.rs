//! Capacity counted in jobs, not in messages.
//!
//! Jobs and results travel in batches of varying size, so a channel bounded
//! in messages would bound nothing useful: ten messages may hold ten jobs or
//! forty thousand. Both channels of a run are therefore unbounded, and a
//! `Budget` caps what is in them: a sender acquires one credit per job
//! before sending, and the receiver releases them when it takes the batch
//! out. Waiting for credits is a `select` on a wake-up channel and a stop
//! channel, so cancellation wakes a waiting sender like any blocked send.
//!
//! A budget lets a sender exceed it in two cases, both bounded: a batch that
//! finds nothing in flight always goes (see [`Budget::try_acquire`]), and
//! after a cancel workers deliver their last results without credits.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::worker::{SPINS, spin};

/// Why [`Budget::acquire`] gave up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The stop channel closed.
    Stopped,
    /// The deadline passed.
    Timeout,
}

pub(crate) struct Budget {
    capacity: usize,
    used: AtomicUsize,
    waiters: AtomicUsize,
    /// The current generation of waiters waits on this channel; a release
    /// wakes them all at once by replacing it and dropping the old sender.
    /// Every waiter then checks for itself whether its batch fits, so one
    /// whose batch does not fit can never use up a wake-up meant for
    /// another whose batch does.
    generation: Mutex<(Sender<()>, Receiver<()>)>,
}

impl Budget {
    pub(crate) fn new(capacity: usize) -> Budget {
        Budget {
            capacity,
            used: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            generation: Mutex::new(crossbeam_channel::bounded(0)),
        }
    }

    /// Takes `n` credits if they fit. A batch larger than the whole budget
    /// still goes through when nothing else is in flight, so a capacity
    /// smaller than a batch (or zero) slows a run down but never stops it.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        self.try_acquire_within(n, self.capacity)
    }

    /// [`try_acquire`](Self::try_acquire) against a smaller cap than the
    /// budget's own.
    fn try_acquire_within(&self, n: usize, cap: usize) -> bool {
        let cap = cap.min(self.capacity);
        self.used
            .fetch_update(SeqCst, SeqCst, |used| {
                (used == 0 || used + n <= cap).then_some(used + n)
            })
            .is_ok()
    }

    /// Takes `n` credits, waiting for them until `stop` disconnects or
    /// `deadline` passes.
    pub(crate) fn acquire(
        &self,
        n: usize,
        stop: &Receiver<()>,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        self.acquire_within(n, self.capacity, stop, deadline)
    }

    /// [`acquire`](Self::acquire), as if the budget were only `cap` (when
    /// that is smaller): for a sender that must not run far ahead yet.
    pub(crate) fn acquire_within(
        &self,
        n: usize,
        cap: usize,
        stop: &Receiver<()>,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        for step in 0..SPINS {
            if self.try_acquire_within(n, cap) {
                return Ok(());
            }
            spin(step);
        }
        loop {
            // Join the current generation and announce the wait before the
            // last check: a release that the check misses sees the waiter
            // and ends this generation.
            let woken = self.generation.lock().1.clone();
            self.waiters.fetch_add(1, SeqCst);
            if self.try_acquire_within(n, cap) {
                self.waiters.fetch_sub(1, SeqCst);
                return Ok(());
            }
            let outcome = match deadline {
                Some(deadline) => crossbeam_channel::select! {
                    recv(woken) -> _ => Ok(()),
                    recv(stop) -> _ => Err(Refused::Stopped),
                    default(deadline.saturating_duration_since(Instant::now())) => Err(Refused::Timeout),
                },
                None => crossbeam_channel::select! {
                    recv(woken) -> _ => Ok(()),
                    recv(stop) -> _ => Err(Refused::Stopped),
                },
            };
            self.waiters.fetch_sub(1, SeqCst);
            if let Err(refused) = outcome {
                // Room and the stop signal can arrive together; `select!`
                // picks either, and room that is there should be used.
                return if self.try_acquire_within(n, cap) {
                    Ok(())
                } else {
                    Err(refused)
                };
            }
        }
    }

    /// Returns `n` credits and wakes every waiter.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.used.fetch_sub(n, SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            let mut generation = self.generation.lock();
            *generation = crossbeam_channel::bounded(0);
        }
    }
}
