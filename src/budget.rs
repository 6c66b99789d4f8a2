//! Capacity counted in jobs, not in messages.
//!
//! Jobs and results travel in batches of varying size, so a channel bounded
//! in messages would bound nothing useful: ten messages may hold ten jobs or
//! forty thousand. Both channels of a run are therefore unbounded, and a
//! `Budget` caps what is in them: a sender acquires one credit per job
//! before sending, and the receiver releases them when it takes the batch
//! out. Waiting for credits is a `select` on a wake-up channel and a stop
//! channel, so cancellation wakes a waiting sender like any blocked send.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

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
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
}

impl Budget {
    pub(crate) fn new(capacity: usize) -> Budget {
        // Wake-ups beyond this many are passed on by the woken (see
        // `acquire`), so the channel only needs room for a few.
        let (wake_tx, wake_rx) = crossbeam_channel::bounded(64);
        Budget {
            capacity,
            used: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            wake_tx,
            wake_rx,
        }
    }

    /// Takes `n` credits if they fit. A batch larger than the whole budget
    /// still goes through when nothing else is in flight, so a capacity
    /// smaller than a batch (or zero) slows a run down but never stops it.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        self.used
            .fetch_update(SeqCst, SeqCst, |used| {
                (used == 0 || used + n <= self.capacity).then_some(used + n)
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
        for step in 0..SPINS {
            if self.try_acquire(n) {
                return Ok(());
            }
            spin(step);
        }
        loop {
            // Announce the wait before the last check: a release that the
            // check misses sees the waiter and sends a wake-up.
            self.waiters.fetch_add(1, SeqCst);
            if self.try_acquire(n) {
                self.waiters.fetch_sub(1, SeqCst);
                self.pass_on_wake_up();
                return Ok(());
            }
            let woken = match deadline {
                Some(deadline) => crossbeam_channel::select! {
                    recv(self.wake_rx) -> _ => Ok(()),
                    recv(stop) -> _ => Err(Refused::Stopped),
                    default(deadline.saturating_duration_since(Instant::now())) => Err(Refused::Timeout),
                },
                None => crossbeam_channel::select! {
                    recv(self.wake_rx) -> _ => Ok(()),
                    recv(stop) -> _ => Err(Refused::Stopped),
                },
            };
            self.waiters.fetch_sub(1, SeqCst);
            woken?;
            if self.try_acquire(n) {
                self.pass_on_wake_up();
                return Ok(());
            }
        }
    }

    /// Returns `n` credits and wakes the waiters.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.used.fetch_sub(n, SeqCst);
        for _ in 0..self.waiters.load(SeqCst) {
            if self.wake_tx.try_send(()).is_err() {
                break;
            }
        }
    }

    /// More waiters than wake-up slots could otherwise sleep on while
    /// credits are free; each one that gets through wakes the next.
    fn pass_on_wake_up(&self) {
        if self.waiters.load(SeqCst) > 0 {
            let _ = self.wake_tx.try_send(());
        }
    }
}
