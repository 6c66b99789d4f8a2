//! Idle workers: who wakes whom when work is added, and the exact count a
//! worker reads before it leaves. The protocol is in `README.md`.
//!
//! Code that adds work *reports* it ([`IdleWorkers::work_added`]); this
//! module decides whether anyone needs waking. A worker that runs out of
//! work holds a [`Looking`] token while it searches and sleeps, which is
//! evidence that it counted itself idle.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};

use crossbeam_channel::{Receiver, Sender};

pub(crate) struct IdleWorkers {
    /// Workers holding a [`Looking`] token. Incremented (SeqCst) before the
    /// worker looks anywhere; read by [`work_added`](Self::work_added)
    /// under the lock of the place the work was added to, which orders it
    /// against the worker's look at that place.
    looking: AtomicUsize,
    /// Wake-ups for sleeping workers. Room for one per worker: more would
    /// wake nobody.
    nudge_tx: Sender<()>,
    nudge_rx: Receiver<()>,
    /// Workers holding jobs they took from a shared place (the queue, the
    /// open batch, another's local queue) and have not yet put on their own
    /// local queue. Such jobs are in no container; see
    /// [`nothing_waiting`](Self::nothing_waiting).
    in_hand: AtomicUsize,
    /// Moves completed so far, so that a move that began and ended during a
    /// worker's look around is noticed too.
    moves: AtomicU64,
}

/// Held by a worker while it counts itself idle.
pub(crate) struct Looking<'a>(&'a IdleWorkers);

impl Drop for Looking<'_> {
    fn drop(&mut self) {
        self.0.looking.fetch_sub(1, SeqCst);
    }
}

/// Held by a worker while jobs it took are in its hands (or while it
/// tries to take some).
pub(crate) struct Move<'a> {
    idle: &'a IdleWorkers,
    carried: bool,
}

impl Move<'_> {
    /// Notes that the move took jobs: its end counts as a move.
    pub(crate) fn carried(&mut self) {
        self.carried = true;
    }
}

impl Drop for Move<'_> {
    fn drop(&mut self) {
        // Only moves that took jobs count: a try that found nothing moved
        // nothing, and counting it would make every other worker's exit
        // check fail while idle workers keep trying.
        if self.carried {
            self.idle.moves.fetch_add(1, SeqCst);
        }
        self.idle.in_hand.fetch_sub(1, SeqCst);
    }
}

/// What [`IdleWorkers::moves_so_far`] saw, to compare after a look around.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct MovesSeen(u64);

impl IdleWorkers {
    pub(crate) fn new(workers: usize) -> IdleWorkers {
        let (nudge_tx, nudge_rx) = crossbeam_channel::bounded(workers.max(1));
        IdleWorkers {
            looking: AtomicUsize::new(0),
            nudge_tx,
            nudge_rx,
            in_hand: AtomicUsize::new(0),
            moves: AtomicU64::new(0),
        }
    }

    /// Reports work added where only a looking worker finds it (the open
    /// batch, a local queue), not on the queue's channel, whose receive
    /// wakes a sleeping worker by itself. Call it under the lock of the
    /// place the work was added to. Wakes one sleeping worker if any is
    /// looking.
    pub(crate) fn work_added(&self) {
        if self.looking.load(SeqCst) > 0 {
            let _ = self.nudge_tx.try_send(());
        }
    }

    /// Counts the calling worker idle until the token is dropped. Take it
    /// before looking anywhere, so that work added after the look is
    /// reported to a count that includes this worker.
    pub(crate) fn start_looking(&self) -> Looking<'_> {
        self.looking.fetch_add(1, SeqCst);
        Looking(self)
    }

    /// The channel [`work_added`](Self::work_added) nudges on.
    pub(crate) fn nudges(&self) -> &Receiver<()> {
        &self.nudge_rx
    }

    /// Marks jobs about to leave a shared place for the caller's hands;
    /// drop the guard once they are on the caller's local queue.
    pub(crate) fn begin_move(&self) -> Move<'_> {
        self.in_hand.fetch_add(1, SeqCst);
        Move {
            idle: self,
            carried: false,
        }
    }

    /// Starts a look around for [`nothing_waiting`](Self::nothing_waiting).
    pub(crate) fn moves_so_far(&self) -> MovesSeen {
        MovesSeen(self.moves.load(SeqCst))
    }

    /// Whether the look around that began with `seen` saw every job that
    /// was waiting: no move was in progress at its end, and none began and
    /// ended during it. The caller looked at every container in between
    /// (each under its lock) and found them empty; jobs move between
    /// containers only through a [`Move`], so if none happened, no job
    /// slipped from a container not yet looked at into one already looked
    /// at.
    pub(crate) fn nothing_waiting(&self, seen: MovesSeen) -> bool {
        self.in_hand.load(SeqCst) == 0 && self.moves_so_far() == seen
    }

    /// Whether some worker is moving jobs right now; for the look's start.
    pub(crate) fn moving(&self) -> bool {
        self.in_hand.load(SeqCst) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_added_nudges_only_when_someone_looks() {
        let idle = IdleWorkers::new(2);
        idle.work_added();
        assert!(idle.nudges().try_recv().is_err());
        let looking = idle.start_looking();
        idle.work_added();
        assert!(idle.nudges().try_recv().is_ok());
        drop(looking);
        idle.work_added();
        assert!(idle.nudges().try_recv().is_err());
    }

    #[test]
    fn nudges_do_not_pile_up_beyond_the_workers() {
        let idle = IdleWorkers::new(2);
        let _looking = idle.start_looking();
        for _ in 0..10 {
            idle.work_added();
        }
        assert_eq!(idle.nudges().try_iter().count(), 2);
    }

    #[test]
    fn a_move_in_progress_or_completed_during_a_look_is_seen() {
        let idle = IdleWorkers::new(2);
        let seen = idle.moves_so_far();
        assert!(idle.nothing_waiting(seen));
        let mut moving = idle.begin_move();
        assert!(idle.moving());
        assert!(!idle.nothing_waiting(seen));
        moving.carried();
        drop(moving);
        assert!(!idle.moving());
        assert!(!idle.nothing_waiting(seen), "a move ended during the look");
        assert!(idle.nothing_waiting(idle.moves_so_far()));
    }

    #[test]
    fn a_try_that_took_nothing_does_not_count_as_a_move() {
        let idle = IdleWorkers::new(2);
        let seen = idle.moves_so_far();
        drop(idle.begin_move());
        assert!(idle.nothing_waiting(seen));
    }
}
