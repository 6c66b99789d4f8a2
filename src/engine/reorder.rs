//! Putting results back in input order, on the reader's side.
//!
//! Every job a run takes in gets its place (`seq`: 0, 1, 2, ...) and, in a
//! run that hands out results in input order, a credit of the run's
//! *window* (a [`Capacity`]) taken by the producer before it queues the
//! job. Results arrive in batches, about in the order they finish. A
//! worker runs jobs in the order it took them, and takes them a batch of
//! consecutive places at a time, so a batch of results is nearly always
//! one *run* of consecutive places, or a few. The reader keeps the runs
//! that come ahead of their turn, ordered by their first place, and hands
//! out the front run's results one by one as soon as its first place is
//! next: per result, that is one step of a `Vec` iterator, as in
//! completion order; the ordering costs per run, not per result.
//!
//! A run's credits go back when it becomes the front one, when everything
//! before it is handed out. So at most a window of jobs is between being
//! taken in and being next in line: behind a slow job, producers wait,
//! and what the reader holds cannot outgrow the window (plus the one run
//! it is handing out, which waits for nothing but the reader). Credits go
//! back then, not later: the thread that reads may be the one that
//! submits next (a loop that submits and drains with `try_next`), and a
//! credit it kept for a result it had already handed out would be the one
//! its own submission waits for.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::capacity::Capacity;
use crate::outcome::JobResult;

pub(crate) struct Reorder<T, E> {
    /// The place of the next result to hand out once `front` is empty.
    next: u64,
    /// The run being handed out; its credits went back when it came to
    /// the front.
    front: std::vec::IntoIter<JobResult<T, E>>,
    /// Runs that came ahead of their turn, by first place (and the order
    /// they arrived in, which keeps two runs apart if the engine ever gave
    /// a place twice: they are both handed out, never lost).
    waiting: BTreeMap<(u64, u64), Vec<JobResult<T, E>>>,
    /// How many runs have arrived: the second half of `waiting`'s keys.
    arrived: u64,
    window: Arc<Capacity>,
}

impl<T, E> Reorder<T, E> {
    pub(crate) fn new(window: Arc<Capacity>) -> Self {
        Reorder {
            next: 0,
            front: Vec::new().into_iter(),
            waiting: BTreeMap::new(),
            arrived: 0,
            window,
        }
    }

    /// Puts arrived results in their places, a run of consecutive places
    /// at a time.
    pub(crate) fn insert(&mut self, mut results: Vec<JobResult<T, E>>) {
        // Split off runs from the back, so that each element moves at most
        // once, and usually (one run) none does.
        while let Some(start) = run_start(&results) {
            let run = results.split_off(start);
            self.insert_run(run);
        }
        self.insert_run(results);
    }

    fn insert_run(&mut self, run: Vec<JobResult<T, E>>) {
        let Some(first) = run.first() else { return };
        let key = (first.seq(), self.arrived);
        self.arrived += 1;
        self.waiting.insert(key, run);
    }

    /// Hands out the next result in input order, if it has arrived.
    pub(crate) fn pop(&mut self) -> Option<JobResult<T, E>> {
        loop {
            if let Some(result) = self.front.next() {
                return Some(result);
            }
            // The front run is done: the next one, if its turn has come
            // (or passed, for a place given twice).
            let entry = self.waiting.first_entry()?;
            if entry.key().0 > self.next {
                return None;
            }
            let run = entry.remove();
            self.bring_forward(run);
        }
    }

    /// Hands out every result whose turn has come, at once: the rest of
    /// the front run, or the next run if its turn has come; `None` if
    /// neither.
    pub(crate) fn take_ready(&mut self) -> Option<std::vec::IntoIter<JobResult<T, E>>> {
        if self.front.len() == 0 {
            let entry = self.waiting.first_entry()?;
            if entry.key().0 > self.next {
                return None;
            }
            let run = entry.remove();
            self.bring_forward(run);
        }
        Some(std::mem::replace(&mut self.front, Vec::new().into_iter()))
    }

    /// Once the run has ended: hands out the next result there is,
    /// skipping places whose jobs never ran.
    pub(crate) fn pop_after_end(&mut self) -> Option<JobResult<T, E>> {
        loop {
            if let Some(result) = self.front.next() {
                return Some(result);
            }
            let run = self.waiting.pop_first()?.1;
            self.bring_forward(run);
        }
    }

    /// Makes `run` the one being handed out, and gives its credits back.
    fn bring_forward(&mut self, run: Vec<JobResult<T, E>>) {
        if let Some(last) = run.last() {
            self.next = self.next.max(last.seq() + 1);
        }
        self.window.give_back(run.len());
        self.front = run.into_iter();
    }

    /// Ends the reordering: returns the results held, in input order, and
    /// gives back the credits of those not yet at the front.
    pub(crate) fn into_held(self) -> Vec<JobResult<T, E>> {
        let mut held: Vec<JobResult<T, E>> = self.front.collect();
        let front = held.len();
        held.extend(self.waiting.into_values().flatten());
        self.window.give_back(held.len() - front);
        held
    }
}

/// Where the last run of consecutive places in `results` starts, if it is
/// not the whole of them.
fn run_start<T, E>(results: &[JobResult<T, E>]) -> Option<usize> {
    let last = results.len().checked_sub(1)?;
    (1..=last)
        .rev()
        .find(|&at| results[at - 1].seq().wrapping_add(1) != results[at].seq())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Job;
    use crate::outcome::Outcome;

    fn result(seq: u64) -> JobResult<u64, ()> {
        let mut job = Job::new(seq, ());
        job.enter_run(seq);
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
    fn a_batch_of_several_runs_is_split_and_each_run_waits_for_its_turn() {
        let window = Arc::new(Capacity::new(10));
        assert_eq!(window.try_take_up_to(10), 10);
        let mut reorder = Reorder::new(window.clone());
        reorder.insert([5, 6, 7, 0, 1, 9].map(result).into());
        let mut out = Vec::new();
        out.extend(std::iter::from_fn(|| reorder.pop()));
        assert_eq!(values(out.drain(..)), [0, 1], "2 has not arrived");
        assert_eq!(window.try_take_up_to(10), 2, "the front run's places only");
        reorder.insert([2, 3, 4, 8].map(result).into());
        out.extend(std::iter::from_fn(|| reorder.pop()));
        assert_eq!(values(out), [2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(window.try_take_up_to(10), 8);
    }

    #[test]
    fn a_place_given_twice_is_handed_out_not_lost() {
        let window = Arc::new(Capacity::new(4));
        assert_eq!(window.try_take_up_to(4), 4);
        let mut reorder = Reorder::new(window.clone());
        reorder.insert(vec![result(0), result(1)]);
        assert_eq!(values(reorder.pop()), [0]);
        reorder.insert(vec![result(0), result(2)]);
        let mut out = Vec::new();
        out.extend(std::iter::from_fn(|| reorder.pop()));
        assert_eq!(values(out), [1, 0, 2]);
        assert_eq!(window.try_take_up_to(4), 4, "every place back, once");
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Whatever order and batches results arrive in, they come out in
        /// input order, and a place is held only while its result waits
        /// for an earlier one.
        #[test]
        fn any_arrival_comes_out_in_order_with_every_place_back(
            (order, cuts) in (1usize..200).prop_flat_map(|n| (
                proptest::strategy::Just((0..n as u64).collect::<Vec<_>>()).prop_shuffle(),
                proptest::collection::vec(1usize..20, n),
            ))
        ) {
            let n = order.len();
            let window = Arc::new(Capacity::new(n));
            proptest::prop_assert_eq!(window.try_take_up_to(n), n);
            let mut reorder = Reorder::new(window.clone());
            let (mut arrived, mut out) = (0, Vec::new());
            let mut cuts = cuts.into_iter();
            while arrived < n {
                let take = cuts.next().unwrap_or(n).min(n - arrived);
                reorder.insert(order[arrived..arrived + take].iter().copied().map(result).collect());
                arrived += take;
                out.extend(std::iter::from_fn(|| reorder.pop()));
                // The places back so far are those of the results handed
                // out or at the front: never one still waiting.
                let back = window.try_take_up_to(n);
                proptest::prop_assert!(back >= out.len());
                window.give_back(back);
                let seqs: Vec<u64> = out.iter().map(JobResult::seq).collect();
                proptest::prop_assert_eq!(seqs, (0..out.len() as u64).collect::<Vec<_>>());
            }
            proptest::prop_assert_eq!(out.len(), n);
            proptest::prop_assert_eq!(window.try_take_up_to(n), n);
        }
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
