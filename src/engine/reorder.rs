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
//! Each credit goes back the moment its result is handed out, not a few at
//! a time: the thread that reads may be the one that submits next (a loop
//! that submits and drains with `try_next`), and a credit it kept would be
//! the one its own submission waits for. That costs one shared atomic
//! operation per result.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::engine::capacity::Capacity;
use crate::outcome::JobResult;

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
    window: Arc<Capacity>,
}

impl<T, E> Reorder<T, E> {
    pub(crate) fn new(window: Arc<Capacity>) -> Self {
        Reorder {
            next: 0,
            ring: VecDeque::new(),
            strays: Vec::new(),
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
            self.window.give_back(1);
            return Some(stray);
        }
        if !matches!(self.ring.front(), Some(Some(_))) {
            return None;
        }
        let result = self.ring.pop_front().flatten();
        self.next += 1;
        // The place goes back at once: the thread that reads may be the
        // one that submits next, and would wait for it forever.
        self.window.give_back(1);
        result
    }

    /// Once the run has ended: hands out the next result there is,
    /// skipping places whose jobs never ran.
    pub(crate) fn pop_after_end(&mut self) -> Option<JobResult<T, E>> {
        if let Some(stray) = self.strays.pop() {
            self.window.give_back(1);
            return Some(stray);
        }
        while let Some(slot) = self.ring.pop_front() {
            self.next += 1;
            if let Some(result) = slot {
                self.window.give_back(1);
                return Some(result);
            }
        }
        None
    }

    /// Ends the reordering: returns the results held, in input order, and
    /// gives back every credit they and the results handed out hold.
    pub(crate) fn into_held(mut self) -> Vec<JobResult<T, E>> {
        let mut held = std::mem::take(&mut self.strays);
        held.extend(std::mem::take(&mut self.ring).into_iter().flatten());
        self.window.give_back(held.len());
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
    fn results_come_out_in_input_order_and_give_their_places_back_at_once() {
        let window = Arc::new(Capacity::new(8));
        assert_eq!(window.try_take_up_to(8), 8);
        let mut reorder = Reorder::new(window.clone());
        reorder.insert(vec![result(2), result(1)]);
        assert!(reorder.pop().is_none(), "0 has not arrived");
        reorder.insert(vec![result(0), result(4)]);
        let first = reorder.pop();
        assert_eq!(values(first), [0]);
        assert_eq!(window.try_take_up_to(8), 1, "its place came back with it");
        let mut out = Vec::new();
        while let Some(result) = reorder.pop() {
            out.push(result);
        }
        assert_eq!(values(out), [1, 2]);
        assert_eq!(window.try_take_up_to(8), 2);
    }

    #[test]
    fn after_the_end_gaps_are_skipped() {
        let window = Arc::new(Capacity::new(8));
        assert_eq!(window.try_take_up_to(8), 8);
        let mut reorder = Reorder::new(window.clone());
        reorder.insert(vec![result(3), result(1)]);
        assert!(reorder.pop().is_none());
        let mut out = Vec::new();
        while let Some(result) = reorder.pop_after_end() {
            out.push(result);
        }
        assert_eq!(values(out), [1, 3]);
        assert_eq!(window.try_take_up_to(8), 2);
    }

    #[test]
    fn ending_the_reordering_hands_back_what_it_held_and_its_places() {
        let window = Arc::new(Capacity::new(16));
        assert_eq!(window.try_take_up_to(16), 16);
        let mut reorder = Reorder::new(window.clone());
        reorder.insert((1..4).map(result).collect());
        assert!(reorder.pop().is_none());
        let held = reorder.into_held();
        assert_eq!(values(held), [1, 2, 3]);
        assert_eq!(window.try_take_up_to(16), 3);
    }
}
