//! Each worker's local queue: the rest of the batch it is working through,
//! where idle workers can steal from it, and its results not yet sent,
//! where a reader about to block can take them.
//!
//! Both sit behind one lock, which the owner takes once per job (to hand
//! in the last result and take the next job): everything a worker holds
//! stays within reach of the others, for the price of one uncontended
//! lock a job.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::engine::idle::{IdleWorkers, Move};
use crate::job::Job;
use crate::outcome::JobResult;

/// On a cache line of its own, so that the owner's lock traffic does not
/// disturb its neighbours.
#[repr(align(128))]
pub(crate) struct LocalQueue<A, T, E> {
    inner: Mutex<Local<A, T, E>>,
}

struct Local<A, T, E> {
    /// Jobs waiting to start, in order; the owner takes from the front,
    /// thieves the back half.
    jobs: VecDeque<Job<A>>,
    /// Results of finished jobs not yet sent.
    unsent: Vec<JobResult<T, E>>,
    /// How many results went out last time: the next buffer's size, so
    /// that it is allocated once rather than grown job by job.
    last_sent: usize,
}

impl<A, T, E> LocalQueue<A, T, E> {
    pub(crate) fn new() -> Self {
        LocalQueue {
            inner: Mutex::new(Local {
                jobs: VecDeque::new(),
                unsent: Vec::new(),
                last_sent: 0,
            }),
        }
    }

    /// Puts jobs the owner took elsewhere on its queue, and reports them to
    /// idle workers if there is more than the job the owner takes next.
    /// Reported under the lock: a worker that starts looking and then
    /// looks here either sees these jobs or is counted by the report.
    pub(crate) fn stock(&self, jobs: Vec<Job<A>>, idle: &IdleWorkers) {
        let mut local = self.inner.lock();
        if local.jobs.is_empty() {
            // Takes over the batch's buffer instead of copying every job.
            local.jobs = VecDeque::from(jobs);
        } else {
            local.jobs.extend(jobs);
        }
        if local.jobs.len() > 1 {
            idle.work_added();
        }
    }

    /// Takes the owner's next job.
    pub(crate) fn next_job(&self) -> Option<Job<A>> {
        self.inner.lock().jobs.pop_front()
    }

    /// Hands in the owner's last result and takes its next job, under one
    /// lock. Once there are `batch` unsent results, they are swapped into
    /// `full` (an empty buffer the owner keeps, so that nothing is
    /// allocated under the lock) for the owner to send.
    #[inline]
    pub(crate) fn finish_and_next(
        &self,
        result: JobResult<T, E>,
        batch: usize,
        full: &mut Vec<JobResult<T, E>>,
    ) -> Option<Job<A>> {
        let mut local = self.inner.lock();
        if local.unsent.capacity() == 0 {
            let size = local.last_sent.clamp(1, batch.max(1));
            local.unsent.reserve_exact(size);
        }
        local.unsent.push(result);
        if local.unsent.len() >= batch {
            local.last_sent = local.unsent.len();
            std::mem::swap(&mut local.unsent, full);
        }
        local.jobs.pop_front()
    }

    /// Takes the results not yet sent.
    pub(crate) fn take_unsent(&self) -> Vec<JobResult<T, E>> {
        let mut local = self.inner.lock();
        if !local.unsent.is_empty() {
            local.last_sent = local.unsent.len();
        }
        std::mem::take(&mut local.unsent)
    }

    /// Takes the back half of the jobs (at least one); `None` if there are
    /// none. The move begins inside the lock, so that a worker's exit
    /// check either sees the jobs here or sees them in hand.
    pub(crate) fn steal_half<'i>(&self, idle: &'i IdleWorkers) -> Option<(Vec<Job<A>>, Move<'i>)> {
        let mut local = self.inner.lock();
        if local.jobs.is_empty() {
            return None;
        }
        let moving = idle.begin_move();
        let keep = local.jobs.len() / 2;
        Some((local.jobs.drain(keep..).collect(), moving))
    }

    /// Whether no job waits here.
    pub(crate) fn has_no_jobs(&self) -> bool {
        self.inner.lock().jobs.is_empty()
    }

    /// Empties the queue, for jobs that will not start.
    pub(crate) fn clear(&self) -> VecDeque<Job<A>> {
        std::mem::take(&mut self.inner.lock().jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    type Queue = LocalQueue<u32, u32, ()>;

    fn jobs(ids: std::ops::Range<u32>) -> Vec<Job<u32>> {
        ids.map(|i| Job::new(u64::from(i), i)).collect()
    }

    fn args(jobs: impl IntoIterator<Item = Job<u32>>) -> Vec<u32> {
        jobs.into_iter().map(|job| job.into_parts().1).collect()
    }

    fn result(i: u32) -> JobResult<u32, ()> {
        JobResult::new(
            Job::new(u64::from(i), ()).into_parts().0,
            Outcome::Succeeded(i),
        )
    }

    #[test]
    fn the_owner_takes_jobs_in_order() {
        let queue = Queue::new();
        queue.stock(jobs(0..3), &IdleWorkers::new(1));
        let mut taken = Vec::new();
        while let Some(job) = queue.next_job() {
            taken.push(job);
        }
        assert_eq!(args(taken), [0, 1, 2]);
    }

    #[test]
    fn a_thief_takes_the_back_half() {
        let queue = Queue::new();
        let idle = IdleWorkers::new(1);
        queue.stock(jobs(0..5), &idle);
        let steal = || queue.steal_half(&idle).map(|(jobs, _moving)| args(jobs));
        assert_eq!(steal().unwrap(), [2, 3, 4]);
        assert_eq!(steal().unwrap(), [1]);
        assert_eq!(steal().unwrap(), [0]);
        assert!(steal().is_none());
        assert!(queue.has_no_jobs());
    }

    #[test]
    fn stocking_more_than_one_job_wakes_a_looking_worker() {
        let idle = IdleWorkers::new(2);
        let _looking = idle.start_looking();
        let queue = Queue::new();
        queue.stock(jobs(0..1), &idle);
        assert!(
            idle.nudges().try_recv().is_err(),
            "the owner takes that one"
        );
        queue.stock(jobs(1..2), &idle);
        assert!(idle.nudges().try_recv().is_ok());
    }

    #[test]
    fn results_are_handed_out_in_batches_or_on_demand() {
        let queue = Queue::new();
        let mut full = Vec::new();
        queue.finish_and_next(result(1), 2, &mut full);
        assert!(full.is_empty());
        queue.finish_and_next(result(2), 2, &mut full);
        assert_eq!(full.len(), 2);
        full.clear();
        queue.finish_and_next(result(3), 2, &mut full);
        assert!(full.is_empty());
        assert_eq!(queue.take_unsent().len(), 1);
        assert!(queue.take_unsent().is_empty());
    }
}
