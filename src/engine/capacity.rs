//! The results capacity, counted in results, not in messages.
//!
//! Results travel in batches of varying size, so a channel bounded in
//! messages would bound nothing useful. The results channel is therefore
//! unbounded, and a `Capacity` caps what is in it: a worker takes one
//! credit per result before sending a batch, and the batch gives them back
//! when the reader drops it (see [`ResultBatch`](crate::ResultBatch)).
//!
//! It lets a sender exceed it in two bounded cases: a batch that finds
//! nothing in flight always goes (so a capacity smaller than a batch, or
//! zero, slows a run down but never stops it), and after a cancel workers
//! deliver their last batch without credits.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use crossbeam_channel::Receiver;

use crate::engine::room::{Room, WaitEnded};

pub(crate) struct Capacity {
    limit: usize,
    /// Credits held by batches in flight. Taken by workers with a SeqCst
    /// compare-and-swap, given back by readers with a SeqCst subtract, so
    /// that [`Room`]'s announce-then-check protocol holds.
    used: AtomicUsize,
    room: Room,
}

impl Capacity {
    pub(crate) fn new(limit: usize) -> Capacity {
        Capacity {
            limit,
            used: AtomicUsize::new(0),
            room: Room::new(),
        }
    }

    /// Takes `n` credits if they fit, or if nothing is in flight.
    pub(crate) fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(SeqCst, SeqCst, |used| {
                (used == 0 || used + n <= self.limit).then_some(used + n)
            })
            .is_ok()
    }

    /// Takes as many credits as fit, up to `max`; at least one if nothing
    /// is in flight. Returns how many it took, 0 if none fit.
    pub(crate) fn try_take_up_to(&self, max: usize) -> usize {
        let mut taken = 0;
        let _ = self.used.fetch_update(SeqCst, SeqCst, |used| {
            taken = if used == 0 {
                max.min(self.limit).max(1)
            } else {
                max.min(self.limit.saturating_sub(used))
            };
            (taken > 0).then_some(used + taken)
        });
        taken
    }

    /// Like [`try_take_up_to`](Self::try_take_up_to), waiting for at least
    /// one credit until `stop` disconnects or `deadline` passes.
    pub(crate) fn take_up_to(
        &self,
        max: usize,
        stop: &Receiver<()>,
        deadline: Option<Instant>,
    ) -> Result<usize, WaitEnded> {
        let mut taken = 0;
        self.room.wait_for(
            || {
                taken = self.try_take_up_to(max);
                taken > 0
            },
            stop,
            deadline,
        )?;
        Ok(taken)
    }

    /// Takes `n` credits, waiting for them until `stop` disconnects.
    pub(crate) fn take(&self, n: usize, stop: &Receiver<()>) -> Result<(), WaitEnded> {
        self.room.wait_for(|| self.try_take(n), stop, None)
    }

    /// Gives `n` credits back and wakes the workers waiting for room.
    pub(crate) fn give_back(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.used.fetch_sub(n, SeqCst);
        self.room.notify();
    }

    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn taking_up_to_a_number_takes_what_fits() {
        let capacity = Capacity::new(10);
        assert_eq!(capacity.try_take_up_to(4), 4);
        assert_eq!(capacity.try_take_up_to(64), 6);
        assert_eq!(capacity.try_take_up_to(1), 0);
        capacity.give_back(10);
        let none = Capacity::new(0);
        assert_eq!(none.try_take_up_to(8), 1, "nothing in flight: one goes");
        assert_eq!(none.try_take_up_to(8), 0);
    }

    #[test]
    fn a_wait_for_some_credits_wakes_when_they_come_back() {
        let capacity = Arc::new(Capacity::new(2));
        assert_eq!(capacity.try_take_up_to(2), 2);
        let (_stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        let waiter = {
            let capacity = capacity.clone();
            std::thread::spawn(move || capacity.take_up_to(8, &stop, None))
        };
        capacity.give_back(1);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    }

    #[test]
    fn credits_are_taken_up_to_the_limit() {
        let capacity = Capacity::new(10);
        assert!(capacity.try_take(6));
        assert!(capacity.try_take(4));
        assert!(!capacity.try_take(1));
        capacity.give_back(4);
        assert!(capacity.try_take(3));
        assert_eq!(capacity.used(), 9);
    }

    #[test]
    fn a_batch_larger_than_the_limit_goes_when_nothing_is_in_flight() {
        let capacity = Capacity::new(0);
        assert!(capacity.try_take(100));
        assert!(!capacity.try_take(1));
        capacity.give_back(100);
        assert!(capacity.try_take(1));
    }

    #[test]
    fn giving_back_wakes_a_waiting_taker() {
        let capacity = Arc::new(Capacity::new(1));
        assert!(capacity.try_take(1));
        let (_stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        let taker = {
            let capacity = capacity.clone();
            std::thread::spawn(move || capacity.take(1, &stop))
        };
        capacity.give_back(1);
        assert_eq!(taker.join().unwrap(), Ok(()));
        assert_eq!(capacity.used(), 1);
    }

    #[test]
    fn a_stop_wakes_a_waiting_taker() {
        let capacity = Capacity::new(1);
        assert!(capacity.try_take(1));
        let (stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        drop(stop_tx);
        assert_eq!(capacity.take(1, &stop), Err(WaitEnded::Stopped));
        assert_eq!(capacity.used(), 1);
    }
}
