//! Waiting for room: the one wait-and-wake primitive behind both
//! capacities (the job queue's and the results channel's).
//!
//! A waiter *announces* itself, checks its condition once more, and then
//! sleeps on the current generation's channel together with a stop channel
//! (a context's `done`), so a cancel wakes it like any blocked send. Whoever
//! frees room calls [`Room::notify`], which ends the generation: every
//! waiter wakes and checks for itself whether what it waits for now fits,
//! so a waiter whose batch does not fit can never use up a wake-up meant
//! for another whose batch does.
//!
//! Why no wake-up is lost: the waiter's announce (a SeqCst add) comes
//! before its last check, and the releaser's change comes before its SeqCst
//! load of `waiters`. Either the check sees the room, or the load sees the
//! waiter, and the waiter's channel belongs to a generation that `notify`
//! then ends.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

/// Why a wait for room ended without room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEnded {
    /// The stop channel disconnected.
    Stopped,
    /// The deadline passed.
    TimedOut,
}

/// Spins before blocking: a short retry costs less than parking a thread
/// and waking it again, which is more than a small job takes.
pub(crate) const SPINS: u32 = 10;

/// One step of a spin-then-yield backoff.
pub(crate) fn backoff(step: u32) {
    if step < 6 {
        for _ in 0..1 << step {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

pub(crate) struct Room {
    /// Threads between `announce` and the end of their wait. Written with
    /// SeqCst by waiters, read with SeqCst by `notify`: see the module docs.
    waiters: AtomicUsize,
    /// The current generation: its receiver is what waiters sleep on, and
    /// dropping its sender (by replacing the pair) wakes them all.
    generation: Mutex<(Sender<()>, Receiver<()>)>,
}

impl Room {
    pub(crate) fn new() -> Room {
        Room {
            waiters: AtomicUsize::new(0),
            generation: Mutex::new(crossbeam_channel::bounded(0)),
        }
    }

    /// Waits until `fits` returns `true` (it runs once per wake-up and
    /// takes the room when it says so), `stop` disconnects, or `deadline`
    /// passes. Room that is there when the wait ends is still taken.
    pub(crate) fn wait_for(
        &self,
        mut fits: impl FnMut() -> bool,
        stop: &Receiver<()>,
        deadline: Option<Instant>,
    ) -> Result<(), WaitEnded> {
        for step in 0..SPINS {
            if fits() {
                return Ok(());
            }
            backoff(step);
        }
        loop {
            let woken = self.generation.lock().1.clone();
            self.waiters.fetch_add(1, SeqCst);
            if fits() {
                self.waiters.fetch_sub(1, SeqCst);
                return Ok(());
            }
            let outcome = match deadline {
                Some(deadline) => crossbeam_channel::select! {
                    recv(woken) -> _ => Ok(()),
                    recv(stop) -> _ => Err(WaitEnded::Stopped),
                    default(deadline.saturating_duration_since(Instant::now())) => Err(WaitEnded::TimedOut),
                },
                None => crossbeam_channel::select! {
                    recv(woken) -> _ => Ok(()),
                    recv(stop) -> _ => Err(WaitEnded::Stopped),
                },
            };
            self.waiters.fetch_sub(1, SeqCst);
            if let Err(ended) = outcome {
                // Room and the stop signal can arrive together; `select!`
                // picks either, and room that is there should be used.
                return if fits() { Ok(()) } else { Err(ended) };
            }
        }
    }

    /// Wakes every waiter to check again; call after freeing room.
    pub(crate) fn notify(&self) {
        if self.waiters.load(SeqCst) > 0 {
            *self.generation.lock() = crossbeam_channel::bounded(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    #[test]
    fn a_notify_after_the_room_appears_wakes_the_waiter() {
        let room = Arc::new(Room::new());
        let open = Arc::new(AtomicBool::new(false));
        let (_stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        let waiter = {
            let (room, open) = (room.clone(), open.clone());
            std::thread::spawn(move || room.wait_for(|| open.load(SeqCst), &stop, None))
        };
        open.store(true, SeqCst);
        room.notify();
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }

    #[test]
    fn a_stop_ends_the_wait() {
        let room = Room::new();
        let (stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        drop(stop_tx);
        assert_eq!(
            room.wait_for(|| false, &stop, None),
            Err(WaitEnded::Stopped)
        );
    }

    #[test]
    fn a_deadline_ends_the_wait() {
        let room = Room::new();
        let (_stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        let deadline = Instant::now() + Duration::from_millis(5);
        assert_eq!(
            room.wait_for(|| false, &stop, Some(deadline)),
            Err(WaitEnded::TimedOut)
        );
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn room_that_is_there_is_taken_even_when_stopped() {
        let room = Room::new();
        let (stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        drop(stop_tx);
        assert_eq!(room.wait_for(|| true, &stop, None), Ok(()));
    }
}
