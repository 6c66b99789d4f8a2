//! The worker loop: take the next job from the local queue, run it, hand
//! in its result; when the local queue is empty, send the results and find
//! more jobs. `README.md` has the protocol this follows.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::context::Context;
use crate::engine::Engine;
use crate::engine::batch_size::RESULTS_WORK;
use crate::engine::capacity::Capacity;
use crate::engine::counters::{Finish, WorkerCounters};
use crate::engine::idle::Move;
use crate::engine::local_queue::LocalQueue;
use crate::engine::queue::Taken;
use crate::engine::room::{SPINS, backoff};
use crate::job::Job;
use crate::outcome::{JobResult, Outcome};
use crate::unwind;

/// How often one worker may take the open batch. The open batch is there
/// for an input that stalls: a worker that took it again each time it ran
/// dry would, behind an input faster than the producer can fill batches,
/// take a few jobs at a time and fight the producer for the queue's lock
/// on nearly every job. Paced, a worker takes what a stalled input left
/// within this long, and a busy producer's batches fill up and travel
/// whole.
const OPEN_BATCH_PACE: Duration = Duration::from_micros(100);

/// Where a worker's result batches go: `(results, credits taken for
/// them)`. The credits go back to the results capacity when the reader
/// drops the batch.
pub(crate) type Deliver<'a, T, E> = dyn Fn(Vec<JobResult<T, E>>, usize, &Arc<Capacity>) + 'a;

impl<A, T, E> Engine<'_, A, T, E> {
    /// Runs worker `index` until no job is left to start and none can
    /// come, or the run is cancelled.
    pub(crate) fn work<F>(&self, index: usize, f: &F, deliver: &Deliver<'_, T, E>)
    where
        F: Fn(&Context, A) -> Result<T, E>,
    {
        let mut worker = Worker {
            engine: self,
            index,
            local: &self.local_queues[index],
            counters: self.counters.worker(index),
            deliver,
            clock: None,
            results_batch: 1,
            open_batch_taken: None,
        };
        let mut full = Vec::new();
        let mut next = worker.local.next_job();
        loop {
            let Some(job) = next else {
                // Nothing left here: deliver what is done before looking on.
                worker.send(worker.local.take_unsent());
                if worker.find_work() {
                    next = worker.local.next_job();
                    continue;
                }
                break;
            };
            if self.ctx.is_ended() {
                self.give_back(std::iter::once(job).chain(worker.local.clear()));
                next = None;
                continue;
            }
            worker.start_clock();
            let result = execute(&self.ctx, worker.counters, f, job);
            next = worker
                .local
                .finish_and_next(result, worker.results_batch, &mut full);
            if !full.is_empty() {
                let capacity = full.capacity();
                worker.send(std::mem::replace(&mut full, Vec::with_capacity(capacity)));
            } else if self.reader_waiting.load(Ordering::Relaxed) {
                // A reader waits: what is finished goes now, not with the
                // next batch.
                worker.send(worker.local.take_unsent());
            }
        }
        worker.send(worker.local.take_unsent());
    }
}

/// Runs one job, catching its panic, and counts it.
#[inline]
fn execute<A, T, E, F>(
    ctx: &Context,
    counters: &WorkerCounters,
    f: &F,
    job: Job<A>,
) -> JobResult<T, E>
where
    F: Fn(&Context, A) -> Result<T, E>,
{
    let (descriptor, args) = job.into_parts();
    counters.started();
    let (outcome, how) = match unwind::catch(|| f(ctx, args)) {
        Ok(Ok(value)) => (Outcome::Succeeded(value), Finish::Succeeded),
        Ok(Err(err)) if ctx.is_cancelled() => (Outcome::Cancelled(err), Finish::Cancelled),
        Ok(Err(err)) => (Outcome::Failed(err), Finish::Failed),
        Err(panic) => (Outcome::Panicked(panic), Finish::Panicked),
    };
    counters.finished(how);
    JobResult::new(descriptor, outcome)
}

struct Worker<'a, 'scope, A, T, E> {
    engine: &'a Engine<'scope, A, T, E>,
    index: usize,
    local: &'a LocalQueue<A, T, E>,
    counters: &'a WorkerCounters,
    deliver: &'a Deliver<'a, T, E>,
    /// When the first job since the last send started, and how many have
    /// started since: the measurement of a job's cost.
    clock: Option<(Instant, usize)>,
    /// How many results make a batch, from the measured job cost.
    results_batch: usize,
    /// When this worker last took the open batch.
    open_batch_taken: Option<Instant>,
}

impl<'a, A, T, E> Worker<'a, '_, A, T, E> {
    /// Counts a job for the cost measurement; the first one since a send
    /// starts the clock. Reading the clock is also when a deadline that
    /// passed ends the context, without waiting for the timer thread.
    fn start_clock(&mut self) {
        match &mut self.clock {
            Some((_, jobs)) => *jobs += 1,
            None => {
                let now = Instant::now();
                self.engine.ctx.expire_if_past(now);
                self.clock = Some((now, 1));
            }
        }
    }

    /// Sends a batch of results, waiting while the results capacity is
    /// full. After a cancel nobody may be reading any more, so the batch
    /// goes over the capacity: at most one batch per worker, and nothing
    /// blocks.
    fn send(&mut self, results: Vec<JobResult<T, E>>) {
        let engine = self.engine;
        if let Some((started, jobs)) = self.clock.take() {
            engine.cost.record(started.elapsed(), jobs);
            self.results_batch = engine.cost.batch_size(RESULTS_WORK, engine.max_results);
        }
        if results.is_empty() {
            return;
        }
        let capacity = &engine.results_capacity;
        let credits = match capacity.take(results.len(), engine.ctx.done()) {
            Ok(()) => results.len(),
            Err(_) => 0,
        };
        (self.deliver)(results, credits, capacity);
    }

    /// Finds jobs and puts them on the local queue: from the queue's
    /// channel, the open batch, or another worker's local queue, in that
    /// order (the channel holds full batches and costs no lock; the open
    /// batch is the producer's; stealing takes from a busy worker).
    /// Returns `false` once no job is left to start and none can come, or
    /// the run is cancelled.
    fn find_work(&mut self) -> bool {
        let engine = self.engine;
        let idle = &engine.idle;
        // Once the channel says closed, it stays closed and empty: no take
        // from it or from the open batch can find anything any more.
        let mut closed = false;
        for step in 0..SPINS {
            // Checked before taking jobs: taking a batch frees room in the
            // queue, which would let a waiting producer into a cancelled run.
            if engine.ctx.is_ended() {
                return false;
            }
            let moving = idle.begin_move();
            match engine.queue.try_take() {
                Taken::Jobs(jobs) => return self.stock(jobs, moving),
                Taken::Closed => {
                    closed = true;
                    break;
                }
                Taken::Empty => {}
            }
            drop(moving);
            backoff(step);
        }
        let _looking = idle.start_looking();
        loop {
            if engine.ctx.is_ended() {
                return false;
            }
            let mut paced_until = None;
            if !closed {
                let moving = idle.begin_move();
                match engine.queue.try_take() {
                    Taken::Jobs(jobs) => return self.stock(jobs, moving),
                    Taken::Closed => closed = true,
                    Taken::Empty => {}
                }
                paced_until = self
                    .open_batch_taken
                    .map(|taken| taken + OPEN_BATCH_PACE)
                    .filter(|&until| Instant::now() < until);
                if !closed
                    && paced_until.is_none()
                    && let Some(jobs) = engine.queue.take_open()
                {
                    self.open_batch_taken = Some(Instant::now());
                    return self.stock(jobs, moving);
                }
            }
            if let Some((jobs, moving)) = self.steal() {
                return self.stock(jobs, moving);
            }
            if closed {
                if self.nothing_waiting() {
                    return false;
                }
                std::thread::yield_now();
                continue;
            }
            // Sleeps until a batch arrives, work is reported, the run is
            // cancelled, or (when paced) it may take the open batch again.
            // A paced worker takes no nudges: a nudge it swallowed would
            // not reach a worker that may take the open batch now.
            // A shutdown from a `RunHandle` ends the intake without closing
            // the queue: the first worker to sleep closes it.
            if engine.intake.is_ended() {
                engine.queue.close();
                continue;
            }
            let moving = idle.begin_move();
            let received = match paced_until {
                Some(until) => crossbeam_channel::select! {
                    recv(engine.queue.batches()) -> batch => batch.ok(),
                    recv(engine.ctx.done()) -> _ => return false,
                    recv(engine.intake.done()) -> _ => None,
                    default(until.saturating_duration_since(Instant::now())) => None,
                },
                None => crossbeam_channel::select! {
                    recv(engine.queue.batches()) -> batch => batch.ok(),
                    recv(idle.nudges()) -> _ => None,
                    recv(engine.ctx.done()) -> _ => return false,
                    recv(engine.intake.done()) -> _ => None,
                },
            };
            if let Some(batch) = received {
                let jobs = engine.queue.taken(batch);
                return self.stock(jobs, moving);
            }
        }
    }

    /// Takes half of another worker's local queue, with the move counted
    /// from inside that queue's lock.
    fn steal(&self) -> Option<(Vec<Job<A>>, Move<'a>)> {
        let others = &self.engine.local_queues;
        let idle = &self.engine.idle;
        (1..others.len())
            .find_map(|offset| others[(self.index + offset) % others.len()].steal_half(idle))
    }

    /// Puts found jobs on the local queue, ending the move that brought
    /// them. Returns `false`, with the jobs given back, if the run was
    /// cancelled meanwhile.
    fn stock(&self, jobs: Vec<Job<A>>, mut moving: Move<'_>) -> bool {
        moving.carried();
        let engine = self.engine;
        if engine.ctx.is_ended() {
            engine.give_back(jobs);
            return false;
        }
        self.local.stock(jobs, &engine.idle);
        true
    }

    /// The exact exit check, once the queue is closed and drained: no job
    /// waits on any local queue, and none is in anyone's hands.
    fn nothing_waiting(&self) -> bool {
        let idle = &self.engine.idle;
        if idle.moving() {
            return false;
        }
        let seen = idle.moves_so_far();
        self.engine.local_queues.iter().all(LocalQueue::has_no_jobs) && idle.nothing_waiting(seen)
    }
}
