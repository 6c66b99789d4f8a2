//! Putting results back in input order, on the reader's side.
//!
//! Every job a run takes in gets its place (`seq`: 0, 1, 2, ...) and, in a
//! run that hands out results in input order, a credit of the run's
//! *window* (a [`Capacity`]) taken by the producer before it queues the
//! job. Results arrive in about the order they finish; the reader keeps
//! those that come ahead of their turn in a ring indexed by place, and
//! hands out the front one as soon as it is there. Each result handed out
//! gives its credit back, so that at most a window of jobs is ever between
//! being taken in and being handed out: behind a slow job, producers wait
//! and the ring cannot outgrow the window.
//!
//! Credits go back a few at a time (a shared atomic per result would cost
//! a fast run a few percent), and always before the reader blocks: a
//! producer may be waiting for exactly those credits before it queues the
//! job the reader waits for.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::engine::capacity::Capacity;
use crate::outcome::JobResult;

/// Credits handed back at once, at most; fewer with a small window.
const RELEASE_EVERY: usize = 256;

pub(crate) struct Reorder<T, E> {
    /// The place of `ring[0]`: the next result to hand out.
    next: u64,
    /// Results that came ahead of their turn, by place from `next`; `None`
    /// where a result has not arrived (or never will: a job that came back
    /// unstarted after a cancel).
    ring: VecDeque<Option<JobResult<T, E>>>,
    /// Results whose place was taken or passed: never, unless the engine
    /// gave a place twice; handed out at once rather than lost.
    strays: Vec<JobResult<T, E>>,
    /// Results handed out whose credits have not gone back yet.
    handed_out: usize,
    release_every: usize,
    window: Arc<Capacity>,
}

impl<T, E> Reorder<T, E> {
    pub(crate) fn new(window: Arc<Capacity>, window_size: usize) -> Self {
        Reorder {
            next: 0,
            ring: VecDeque::new(),
            strays: Vec::new(),
            handed_out: 0,
            release_every: (window_size / 8).clamp(1, RELEASE_EVERY),
            window,
        }
    }

    /// Puts arrived results in their places.
    pub(crate) fn insert(&mut self, results: Vec<JobResult<T, E>>) {
        for result in results {
            let Some(at) = result
                .seq()
                .checked_sub(self.next)
                .and_then(|at| usize::try_from(at).ok())
            else {
                self.strays.push(result);
                continue;
            };
            if at >= self.ring.len() {
                self.ring.resize_with(at + 1, || None);
            }
            match &mut self.ring[at] {
                slot @ None => *slot = Some(result),
                Some(_) => self.strays.push(result),
            }
        }
    }

    /// Hands out the next result in input order, if it has arrived.
    pub(crate) fn pop(&mut self) -> Option<JobResult<T, E>> {
        if let Some(stray) = self.strays.pop() {
            self.handed_out += 1;
            return Some(stray);
        }
        if !matches!(self.ring.front(), Some(Some(_))) {
            return None;
        }
        let result = self.ring.pop_front().flatten();
        self.next += 1;
        self.handed_out += 1;
        if self.handed_out >= self.release_every {
            self.release();
        }
        result
    }

    /// Once the run has ended: hands out the next result there is,
    /// skipping places whose jobs never ran.
    pub(crate) fn pop_after_end(&mut self) -> Option<JobResult<T, E>> {
        if let Some(stray) = self.strays.pop() {
            self.handed_out += 1;
            return Some(stray);
        }
        while let Some(slot) = self.ring.pop_front() {
            self.next += 1;
            if let Some(result) = slot {
                self.handed_out += 1;
                return Some(result);
            }
        }
        self.release();
        None
    }

    /// Gives back the credits of the results handed out so far; call
    /// before blocking for more.
    pub(crate) fn release(&mut self) {
        self.window.give_back(std::mem::take(&mut self.handed_out));
    }

    /// Ends the reordering: returns the results held, in input order, and
    /// gives back every credit they and the results handed out hold.
    pub(crate) fn into_held(mut self) -> Vec<JobResult<T, E>> {
        let mut held = std::mem::take(&mut self.strays);
        held.extend(std::mem::take(&mut self.ring).into_iter().flatten());
        self.handed_out += held.len();
        self.release();
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Job;
    use crate::outcome::Outcome;

    fn result(seq: u64) -> JobResult<u64, ()> {
        let mut job = Job::new(seq, ());
        job.set_seq(seq);
        JobResult::new(job.into_parts().0, Outcome::Succeeded(seq))
    }

    fn values(results: impl IntoIterator<Item = JobResult<u64, ()>>) -> Vec<u64> {
        results
            .into_iter()
            .filter_map(JobResult::into_value)
            .collect()
    }

    #[test]
    fn results_come_out_in_input_order() {
        let window = Arc::new(Capacity::new(8));
        assert_eq!(window.try_take_up_to(8), 8);
        let mut reorder = Reorder::new(window.clone(), 8);
        reorder.insert(vec![result(2), result(1)]);
        assert!(reorder.pop().is_none(), "0 has not arrived");
        reorder.insert(vec![result(0), result(4)]);
        let mut out = Vec::new();
        while let Some(result) = reorder.pop() {
            out.push(result);
        }
        assert_eq!(values(out), [0, 1, 2]);
        reorder.release();
        assert_eq!(window.try_take_up_to(8), 3, "three places came back");
    }

    #[test]
    fn after_the_end_gaps_are_skipped() {
        let window = Arc::new(Capacity::new(8));
        let mut reorder = Reorder::new(window, 8);
        reorder.insert(vec![result(3), result(1)]);
        assert!(reorder.pop().is_none());
        let mut out = Vec::new();
        while let Some(result) = reorder.pop_after_end() {
            out.push(result);
        }
        assert_eq!(values(out), [1, 3]);
    }

    #[test]
    fn credits_go_back_a_few_at_a_time() {
        let window = Arc::new(Capacity::new(16));
        assert_eq!(window.try_take_up_to(16), 16);
        let mut reorder = Reorder::new(window.clone(), 16);
        reorder.insert((0..3).map(result).collect());
        reorder.pop();
        assert_eq!(window.try_take_up_to(1), 0, "not yet: 2 per release");
        reorder.pop();
        assert_eq!(window.try_take_up_to(16), 2);
        let held = reorder.into_held();
        assert_eq!(values(held), [2]);
        assert_eq!(window.try_take_up_to(16), 1);
    }
}
