//! The job queue a run's producers (the feeder or the submitters) share
//! with its workers.
//!
//! Producers add one job at a time to the *open batch* under the queue's
//! lock; once it holds a batch's worth (see
//! [`batch_size`](crate::engine::batch_size)), it goes onto a channel of
//! full batches, which sleeping workers wait on. The open batch is not out
//! of reach while it fills: an idle worker takes it as it is (`take_open`),
//! so a job pulled from an input that then stalls, or submitted alone,
//! never waits for batch-mates.
//!
//! The capacity counts jobs, open batch and channel together, under the
//! same lock; producers wait for room in a [`Room`].

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use parking_lot::Mutex;

use crate::context::Context;
use crate::engine::CachePadded;
use crate::engine::batch_size::{BATCH_WORK, JobCost};
use crate::engine::counters::Counters;
use crate::engine::idle::IdleWorkers;
use crate::engine::room::{Room, WaitEnded};
use crate::job::Job;

/// How many jobs a feeder queues before any job has been measured (or two
/// per worker, if more). Until then batches hold one job each, and a fast
/// input would otherwise fill the whole queue with one-job batches before
/// the first job finishes, which the workers would then take one message
/// at a time. Slow jobs lose nothing: every worker still finds one waiting.
const BLIND_CAPACITY: usize = 64;

/// Who is adding a job, and what `push` reads besides the queue.
#[derive(Clone, Copy)]
pub(crate) struct Producer<'a> {
    /// Ended by a shutdown or cancel: no job is taken after that.
    pub(crate) intake: &'a Context,
    /// The measured job cost, which sizes the batches.
    pub(crate) cost: &'a JobCost,
    /// Told when the open batch gets its first job.
    pub(crate) idle: &'a IdleWorkers,
    /// The feeder, which queues only a few jobs until one is measured and
    /// checks the intake itself before it pulls each job.
    pub(crate) blind: bool,
}

/// Why a job was not queued; the job comes back with it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No room, now or before the deadline.
    Full,
    /// The queue is closed, or the intake ended while waiting.
    Closed,
    /// Like `Closed`, because the run was cancelled (the queue itself does
    /// not tell the two apart; the engine does).
    Cancelled,
}

/// How long a producer may wait for room.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    No,
    Until(Instant),
    Forever,
}

/// What a worker found on the queue's channel.
pub(crate) enum Taken<A> {
    Jobs(Vec<Job<A>>),
    Empty,
    /// Closed and empty: no job will come this way again.
    Closed,
}

/// What an idle worker took with [`JobQueue::take_open`].
pub(crate) enum Took<A> {
    /// A full batch that went onto the channel since the worker looked
    /// there: older than the open batch, so it goes first.
    Full(Vec<Job<A>>),
    /// The open batch, as it was.
    Open(Vec<Job<A>>),
}

pub(crate) struct JobQueue<A> {
    /// The open batch and the accounting; producers take it once per job,
    /// workers once per batch.
    state: CachePadded<Mutex<QueueState<A>>>,
    /// Full batches. Its only sender is in `state` until `close`.
    batches: Receiver<Vec<Job<A>>>,
    /// Producers waiting for room; notified whenever jobs leave.
    room: Room,
    capacity: usize,
    blind_capacity: usize,
    max_batch: usize,
    /// Where the `submitted` count is published for progress reports.
    counters: Arc<Counters>,
}

struct QueueState<A> {
    open: Vec<Job<A>>,
    /// Jobs in the open batch and on the channel; at most `capacity`, or
    /// one job when the capacity is 0.
    queued: usize,
    /// Jobs ever accepted (the run's `submitted` count).
    submitted: u64,
    /// `None` once closed.
    sender: Option<Sender<Vec<Job<A>>>>,
    /// The size at which the open batch goes onto the channel, re-read from
    /// the measured job cost once per batch.
    target: usize,
    /// Whether a job had been measured at the last batch: until then a
    /// blind producer queues only a few jobs.
    measured: bool,
}

impl<A> JobQueue<A> {
    pub(crate) fn new(
        capacity: usize,
        max_batch: usize,
        workers: usize,
        counters: Arc<Counters>,
    ) -> Self {
        let (sender, batches) = crossbeam_channel::unbounded();
        JobQueue {
            state: CachePadded(Mutex::new(QueueState {
                open: Vec::new(),
                queued: 0,
                submitted: 0,
                sender: Some(sender),
                target: 1,
                measured: false,
            })),
            batches,
            room: Room::new(),
            capacity,
            blind_capacity: BLIND_CAPACITY.max(workers.saturating_mul(2)),
            max_batch,
            counters,
        }
    }

    /// Queues `job`, waiting for room as `wait` allows. Refused once the
    /// queue is closed or `intake` has ended, also while waiting. A `blind`
    /// producer (the feeder) queues only a few jobs until one is measured.
    #[inline]
    pub(crate) fn push(
        &self,
        job: Job<A>,
        wait: Wait,
        producer: Producer<'_>,
    ) -> Result<(), (Refused, Job<A>)> {
        // The common case, once per job: room, and a single lock.
        let refused = self.try_add(&mut self.state.lock(), job, producer);
        match refused {
            Ok(()) => Ok(()),
            Err((Refused::Full, job)) => self.push_slow(job, wait, producer),
            Err(refused) => Err(refused),
        }
    }

    /// [`push`](Self::push) when the queue is full: waits for room.
    #[cold]
    #[inline(never)]
    fn push_slow(
        &self,
        job: Job<A>,
        wait: Wait,
        producer: Producer<'_>,
    ) -> Result<(), (Refused, Job<A>)> {
        let deadline = match wait {
            Wait::No => return Err((Refused::Full, job)),
            Wait::Until(deadline) => Some(deadline),
            Wait::Forever => None,
        };
        let mut job = Some(job);
        let mut closed = false;
        let waited = self.room.wait_for(
            || {
                let Some(next) = job.take() else { return true };
                match self.try_add(&mut self.state.lock(), next, producer) {
                    Ok(()) => true,
                    Err((why, back)) => {
                        job = Some(back);
                        closed = why == Refused::Closed;
                        closed
                    }
                }
            },
            producer.intake.done(),
            deadline,
        );
        match (job, waited) {
            (None, _) => Ok(()),
            (Some(job), Err(WaitEnded::TimedOut)) if !closed => Err((Refused::Full, job)),
            (Some(job), _) => Err((Refused::Closed, job)),
        }
    }

    /// Adds `job` to the open batch if there is room; gives it back with
    /// `Full` or `Closed` if not.
    #[inline(always)]
    fn try_add(
        &self,
        state: &mut QueueState<A>,
        job: Job<A>,
        producer: Producer<'_>,
    ) -> Result<(), (Refused, Job<A>)> {
        let Producer {
            intake,
            cost,
            idle,
            blind,
        } = producer;
        // The feeder checks the intake itself before it pulls each job.
        if state.sender.is_none() || (!blind && intake.is_ended()) {
            return Err((Refused::Closed, job));
        }
        if blind && !state.measured {
            state.measured = cost.is_measured();
        }
        let capacity = if blind && !state.measured {
            self.capacity.min(self.blind_capacity)
        } else {
            self.capacity
        };
        if state.queued != 0 && state.queued >= capacity {
            return Err((Refused::Full, job));
        }
        let seq = state.submitted;
        state.queued += 1;
        state.submitted += 1;
        self.counters.set_submitted(state.submitted);
        state.open.push(job);
        if let Some(job) = state.open.last_mut() {
            job.enter_run(seq);
        }
        if state.open.len() >= state.target {
            self.send_open(state, cost);
        } else if state.open.len() == 1 {
            idle.work_added();
        }
        Ok(())
    }

    /// Sends the full open batch onto the channel.
    #[cold]
    fn send_open(&self, state: &mut QueueState<A>, cost: &JobCost) {
        let target = cost.batch_size(BATCH_WORK, self.max_batch);
        state.target = target;
        let batch = std::mem::replace(&mut state.open, Vec::with_capacity(target));
        if let Some(sender) = &state.sender {
            // The receiver lives as long as the queue: this cannot fail.
            let _ = sender.send(batch);
        }
    }

    /// The channel of full batches, for a worker's `select!`. A batch
    /// received from it must go through [`taken`](Self::taken).
    pub(crate) fn batches(&self) -> &Receiver<Vec<Job<A>>> {
        &self.batches
    }

    /// Takes a full batch off the channel, if there is one.
    pub(crate) fn try_take(&self) -> Taken<A> {
        match self.batches.try_recv() {
            Ok(batch) => Taken::Jobs(self.taken(batch)),
            Err(TryRecvError::Empty) => Taken::Empty,
            Err(TryRecvError::Disconnected) => Taken::Closed,
        }
    }

    /// Accounts for a batch a worker received from the channel.
    pub(crate) fn taken(&self, batch: Vec<Job<A>>) -> Vec<Job<A>> {
        self.state.lock().queued -= batch.len();
        self.room.notify();
        batch
    }

    /// Takes the open batch as it is, for an idle worker (or a full batch
    /// sent since the worker looked, which is older); `None` if both are
    /// empty.
    pub(crate) fn take_open(&self) -> Option<Took<A>> {
        let mut taken = {
            let mut state = self.state.lock();
            // A full batch that went onto the channel since the worker
            // looked there is older than the open one, and goes first:
            // jobs start in the order they were taken in. (Batches are
            // sent under this lock, so none can slip past this look.)
            if let Ok(batch) = self.batches.try_recv() {
                state.queued -= batch.len();
                drop(state);
                self.room.notify();
                return Some(Took::Full(batch));
            }
            if state.open.is_empty() {
                return None;
            }
            state.queued -= state.open.len();
            std::mem::take(&mut state.open)
        };
        self.room.notify();
        // The buffer was sized for a full batch; a few jobs taken from a
        // stalled input need not carry it onto a local queue.
        if taken.capacity() > 2 * taken.len() {
            taken.shrink_to_fit();
        }
        Some(Took::Open(taken))
    }

    /// Closes the queue: the open batch goes onto the channel, and no job
    /// is accepted any more. Returns `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut state = self.state.lock();
        let Some(sender) = state.sender.take() else {
            return false;
        };
        let open = std::mem::take(&mut state.open);
        if !open.is_empty() {
            let _ = sender.send(open);
        }
        drop(state);
        // Producers waiting for room learn that none will come.
        self.room.notify();
        true
    }

    /// Whether the queue is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().sender.is_none()
    }

    /// Closes the queue and takes every job still in it, for jobs that will
    /// not start.
    pub(crate) fn drain(&self) -> Vec<Job<A>> {
        self.close();
        let jobs: Vec<Job<A>> = self.batches.try_iter().flatten().collect();
        self.state.lock().queued = 0;
        jobs
    }

    /// Jobs accepted so far.
    #[cfg(test)]
    pub(crate) fn submitted(&self) -> u64 {
        self.state.lock().submitted
    }

    /// Counts a job accepted from a producer without queueing it (a job
    /// the feeder pulled and then gave back), giving it its place.
    pub(crate) fn count_refused(&self, job: &mut Job<A>) {
        let mut state = self.state.lock();
        job.enter_run(state.submitted);
        state.submitted += 1;
        self.counters.set_submitted(state.submitted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Fixture {
        queue: JobQueue<u32>,
        intake: Context,
        cost: JobCost,
        idle: IdleWorkers,
    }

    impl Fixture {
        fn new(capacity: usize) -> Fixture {
            Fixture {
                queue: JobQueue::new(capacity, 4096, 2, Arc::new(Counters::new(2))),
                intake: Context::with_cancel(&Context::background()),
                cost: JobCost::default(),
                idle: IdleWorkers::new(2),
            }
        }

        fn producer(&self, blind: bool) -> Producer<'_> {
            Producer {
                intake: &self.intake,
                cost: &self.cost,
                idle: &self.idle,
                blind,
            }
        }

        fn push_as(&self, i: u32, wait: Wait, blind: bool) -> Result<(), Refused> {
            let job = Job::new(u64::from(i), i);
            self.queue
                .push(job, wait, self.producer(blind))
                .map_err(|(why, _)| why)
        }

        fn push(&self, i: u32, wait: Wait) -> Result<(), Refused> {
            self.push_as(i, wait, false)
        }

        fn take_all(&self) -> usize {
            let mut taken = 0;
            while let Taken::Jobs(jobs) = self.queue.try_take() {
                taken += jobs.len();
            }
            taken
                + match self.queue.take_open() {
                    Some(Took::Full(jobs) | Took::Open(jobs)) => jobs.len(),
                    None => 0,
                }
        }
    }

    #[test]
    fn capacity_counts_jobs_and_frees_as_they_leave() {
        let fixture = Fixture::new(3);
        for i in 0..3 {
            fixture.push(i, Wait::No).unwrap();
        }
        assert_eq!(fixture.push(3, Wait::No), Err(Refused::Full));
        assert_eq!(fixture.take_all(), 3);
        fixture.push(3, Wait::No).unwrap();
        assert_eq!(fixture.queue.submitted(), 4);
    }

    #[test]
    fn a_zero_capacity_holds_one_job_at_a_time() {
        let fixture = Fixture::new(0);
        fixture.push(0, Wait::No).unwrap();
        assert_eq!(fixture.push(1, Wait::No), Err(Refused::Full));
    }

    #[test]
    fn a_timed_push_gives_up_at_its_deadline() {
        let fixture = Fixture::new(1);
        fixture.push(0, Wait::No).unwrap();
        let deadline = Instant::now() + Duration::from_millis(5);
        assert_eq!(fixture.push(1, Wait::Until(deadline)), Err(Refused::Full));
    }

    #[test]
    fn a_waiting_push_goes_in_when_a_worker_takes_jobs() {
        let fixture = std::sync::Arc::new(Fixture::new(1));
        fixture.push(0, Wait::No).unwrap();
        let producer = {
            let fixture = fixture.clone();
            std::thread::spawn(move || fixture.push(1, Wait::Forever))
        };
        let mut taken = 0;
        while taken < 2 {
            taken += fixture.take_all();
            std::thread::yield_now();
        }
        assert_eq!(producer.join().unwrap(), Ok(()));
    }

    #[test]
    fn ending_the_intake_wakes_a_waiting_push() {
        let fixture = std::sync::Arc::new(Fixture::new(1));
        fixture.push(0, Wait::No).unwrap();
        let producer = {
            let fixture = fixture.clone();
            std::thread::spawn(move || fixture.push(1, Wait::Forever))
        };
        fixture.intake.cancel();
        assert_eq!(producer.join().unwrap(), Err(Refused::Closed));
    }

    #[test]
    fn closing_sends_the_open_batch_and_refuses_new_jobs() {
        let fixture = Fixture::new(10);
        fixture.cost.record(Duration::from_nanos(100), 1); // batches of many
        fixture.push(0, Wait::No).unwrap(); // a one-job batch: not measured then
        fixture.push(1, Wait::No).unwrap();
        fixture.push(2, Wait::No).unwrap();
        assert!(fixture.queue.close());
        assert!(!fixture.queue.close());
        assert_eq!(fixture.push(3, Wait::No), Err(Refused::Closed));
        assert_eq!(fixture.take_all(), 3);
        assert!(matches!(fixture.queue.try_take(), Taken::Closed));
    }

    #[test]
    fn the_first_job_of_an_open_batch_wakes_a_looking_worker() {
        let fixture = Fixture::new(100);
        fixture.cost.record(Duration::from_nanos(100), 1);
        fixture.push(0, Wait::No).unwrap(); // target was 1: sent as a batch
        let _looking = fixture.idle.start_looking();
        fixture.push(1, Wait::No).unwrap();
        assert!(fixture.idle.nudges().try_recv().is_ok());
        fixture.push(2, Wait::No).unwrap();
        assert!(fixture.idle.nudges().try_recv().is_err());
    }

    #[test]
    fn a_blind_producer_waits_for_a_measurement() {
        let fixture = Fixture::new(1000);
        for i in 0..64 {
            fixture.push_as(i, Wait::No, true).unwrap();
        }
        assert_eq!(fixture.push_as(64, Wait::No, true), Err(Refused::Full));
        assert_eq!(
            fixture.push(64, Wait::No),
            Ok(()),
            "a submitter is not blind"
        );
        fixture.cost.record(Duration::from_micros(1), 1);
        fixture.push_as(65, Wait::No, true).unwrap();
    }
}
