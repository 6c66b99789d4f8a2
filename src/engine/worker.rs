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
use crate::engine::policy::Policy;
use crate::engine::queue::{Taken, Took};
use crate::engine::room::{SPINS, backoff};
use crate::job::{Job, JobDescriptor};
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

/// The longest back-off before another attempt: a longer one is this long
/// (and `Instant` cannot reach much further anyway). A cancel ends it.
const MAX_BACKOFF: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Where a worker's result batches go: `(results, credits taken for
/// them)`. The credits go back to the results capacity when the reader
/// drops the batch.
pub(crate) type Deliver<'a, T, E> = dyn Fn(Vec<JobResult<T, E>>, usize, &Arc<Capacity>) + 'a;

impl<A, T, E> Engine<'_, A, T, E> {
    /// Runs worker `index` until no job is left to start and none can
    /// come, or the run is cancelled: each job with `f`, the worker's
    /// `state`, and the run's `policy`.
    pub(crate) fn work<S, F, P>(
        &self,
        index: usize,
        state: &mut S,
        f: &F,
        policy: &P,
        deliver: &Deliver<'_, T, E>,
    ) where
        F: Fn(&mut S, &Context, A) -> Result<T, E>,
        P: Policy<A, T, E>,
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
            retry: None,
        };
        // Asked once: a run without policies never asks them per job.
        let plain = !policy.is_active();
        let mut full = Vec::new();
        let mut next = worker.local.next_job();
        loop {
            // A retry the worker took runs before anything else; its result
            // goes out on its own (retries are rare, and kept apart so that
            // the loop below stays lean).
            if !plain && worker.retry.is_some() {
                if let Some((job, last)) = worker.retry.take() {
                    let result = if self.ctx.is_ended() {
                        // A job that ran once ends with that attempt's outcome.
                        Some(worker.finish_without_attempt(job, last))
                    } else {
                        worker.start_clock();
                        worker.execute(state, f, policy, job, Some(last))
                    };
                    worker.send(result.into_iter().collect());
                }
                continue;
            }
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
            let result = if plain {
                worker.execute_plain(state, f, job)
            } else {
                match worker.execute(state, f, policy, job, None) {
                    Some(result) => result,
                    None => {
                        // Waiting for another attempt, or for a start slot
                        // that a cancel ended.
                        next = worker.local.next_job();
                        continue;
                    }
                }
            };
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
        let mut last = worker.local.take_unsent();
        // After a cancel, a job waiting for another attempt comes back
        // with the outcome of the attempt it made last. (Without one, the
        // exit check waited for them all, and a retry scheduled since by a
        // worker still running is that worker's to run.)
        if self.ctx.is_ended() {
            for (job, outcome) in self.retries.drain() {
                last.push(worker.finish_without_attempt(job, outcome));
            }
        }
        worker.send(last);
    }
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
    /// A job due for another attempt, taken by `find_work`, with its last
    /// attempt's outcome. It never waits on a local queue: a job that ran
    /// once must end with an outcome, never come back unstarted.
    retry: Option<(Job<A>, Outcome<T, E>)>,
}

impl<A, T, E> Worker<'_, '_, A, T, E> {
    /// Runs one job of a run without policies, catching its panic, and
    /// counts it: [`execute`](Self::execute) with every policy step left
    /// out, so that a plain run's loop is as lean as it was before there
    /// were policies.
    #[inline(always)]
    fn execute_plain<S, F>(&self, state: &mut S, f: &F, job: Job<A>) -> JobResult<T, E>
    where
        F: Fn(&mut S, &Context, A) -> Result<T, E>,
    {
        let ctx = &self.engine.ctx;
        let (descriptor, args) = job.into_parts();
        self.counters.started();
        let (outcome, how) = match unwind::catch(|| f(state, ctx, args)) {
            Ok(Ok(value)) => (Outcome::Succeeded(value), Finish::Succeeded),
            Ok(Err(err)) if ctx.is_cancelled() => (Outcome::Cancelled(err), Finish::Cancelled),
            Ok(Err(err)) => (Outcome::Failed(err), Finish::Failed),
            Err(panic) => (Outcome::Panicked(panic), Finish::Panicked),
        };
        self.counters.finished(how);
        JobResult::new(descriptor, outcome)
    }

    /// Runs one job, catching its panic, and counts it. `None` if the job
    /// will be tried again, or if a cancel came while it waited for a
    /// start slot (it then comes back unstarted).
    #[inline(always)]
    fn execute<S, F, P>(
        &self,
        state: &mut S,
        f: &F,
        policy: &P,
        job: Job<A>,
        last: Option<Outcome<T, E>>,
    ) -> Option<JobResult<T, E>>
    where
        F: Fn(&mut S, &Context, A) -> Result<T, E>,
        P: Policy<A, T, E>,
    {
        let engine = self.engine;
        let run_ctx = &engine.ctx;
        if let Some(rate) = policy.start_rate()
            && rate.wait(run_ctx.done()).is_err()
        {
            return match last {
                Some(last) => Some(self.finish_without_attempt(job, last)),
                None => {
                    engine.give_back([job]);
                    None
                }
            };
        }
        let (mut descriptor, args) = job.into_parts();
        if last.is_some() {
            // Another attempt of a job that ran before.
            descriptor.count_retry();
        }
        if let Some(last) = last {
            // Its destructor is user code.
            engine.drop_user_value(last);
        }
        // Policies call user code too (a clone, a predicate): its panic is
        // the run's, not the worker's.
        let again = match policy.retries() {
            true => engine
                .catch_user_panic(|| policy.keep_for_retry(&args))
                .flatten(),
            false => None,
        };
        if descriptor.attempts() == 0 {
            self.counters.started();
        } else {
            self.counters.retried();
        }
        // A job with a timeout gets a context of its own, ended by its
        // deadline or by the run's.
        let job_ctx = policy
            .job_timeout()
            .map(|timeout| Context::with_timeout(run_ctx, timeout));
        let ctx = job_ctx.as_ref().unwrap_or(run_ctx);
        let returned = unwind::catch(|| f(state, ctx, args));
        let timed_out = || {
            job_ctx.as_ref().is_some_and(|job_ctx| {
                job_ctx.expire_if_past(Instant::now());
                job_ctx.is_cancelled() && !run_ctx.is_cancelled()
            })
        };
        let outcome = match returned {
            Ok(Ok(value)) if timed_out() => {
                // Late: the value is dropped, here on the worker.
                engine.drop_user_value(value);
                Outcome::TimedOut(None)
            }
            Ok(Ok(value)) => Outcome::Succeeded(value),
            Ok(Err(err)) if run_ctx.is_cancelled() => Outcome::Cancelled(err),
            Ok(Err(err)) if timed_out() => Outcome::TimedOut(Some(err)),
            Ok(Err(err)) => Outcome::Failed(err),
            Err(panic) => Outcome::Panicked(panic),
        };
        drop(job_ctx);
        if let Some(args) = again {
            let delay = match run_ctx.is_ended() {
                true => None,
                false => engine
                    .catch_user_panic(|| policy.retry_after(&outcome, descriptor.attempts()))
                    .flatten(),
            };
            let Some(delay) = delay else {
                // Not tried again: the copy goes, its destructor caught.
                engine.drop_user_value(args);
                return self.finish(policy, descriptor, outcome);
            };
            let now = Instant::now();
            let at = now.checked_add(delay.min(MAX_BACKOFF)).unwrap_or(now);
            engine
                .retries
                .schedule(at, Job::with_descriptor(descriptor, args), outcome);
            // A sleeping worker sets its alarm by the first job due.
            engine.idle.work_added();
            return None;
        }
        self.finish(policy, descriptor, outcome)
    }

    /// Counts a job's last outcome and applies fail-fast to it.
    #[inline(always)]
    fn finish<P: Policy<A, T, E>>(
        &self,
        policy: &P,
        descriptor: JobDescriptor,
        outcome: Outcome<T, E>,
    ) -> Option<JobResult<T, E>> {
        let engine = self.engine;
        self.counters.finished(Finish::of(&outcome));
        if policy.fails_fast() && engine.catch_user_panic(|| policy.trips(&outcome)) == Some(true) {
            engine.trip(&descriptor);
        }
        Some(JobResult::new(descriptor, outcome))
    }

    /// Ends a job that will not make the attempt it was due for (the run
    /// was cancelled) with the outcome of its last one.
    fn finish_without_attempt(&self, job: Job<A>, last: Outcome<T, E>) -> JobResult<T, E> {
        let (descriptor, args) = job.into_parts();
        self.engine.drop_user_value(args);
        self.counters.finished(Finish::of(&last));
        JobResult::new(descriptor, last)
    }
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
        // A retry that is due goes first: behind an input that never runs
        // dry, one that waited for the queue to empty would never run.
        if !engine.retries.is_empty()
            && !engine.ctx.is_ended()
            && let Some(due) = engine.retries.take_due(Instant::now())
        {
            self.retry = Some(due);
            return true;
        }
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
                    && let Some(took) = engine.queue.take_open()
                {
                    let jobs = match took {
                        Took::Full(jobs) => jobs,
                        Took::Open(jobs) => {
                            // Only the open batch is paced.
                            self.open_batch_taken = Some(Instant::now());
                            jobs
                        }
                    };
                    return self.stock(jobs, moving);
                }
            }
            if let Some((jobs, moving)) = self.steal() {
                return self.stock(jobs, moving);
            }
            // A retry that came due while this worker looked.
            let retry_due = engine.retries.next_due();
            if retry_due.is_some()
                && let Some(due) = engine.retries.take_due(Instant::now())
            {
                self.retry = Some(due);
                return true;
            }
            if closed {
                if let Some(due) = retry_due {
                    // Only retries are left (or jobs on their way to a
                    // local queue): sleep until the first is due.
                    crossbeam_channel::select! {
                        recv(engine.ctx.done()) -> _ => return false,
                        default(due.saturating_duration_since(Instant::now())) => {}
                    }
                    continue;
                }
                if self.nothing_waiting() {
                    return false;
                }
                std::thread::yield_now();
                continue;
            }
            // A shutdown from a `RunHandle` ends the intake without closing
            // the queue: the first worker to sleep closes it.
            if engine.intake.is_ended() {
                engine.queue.close();
                continue;
            }
            // Sleeps until a batch arrives, work is reported, the run is
            // cancelled, the intake ends, or (when paced) it may take the
            // open batch again, or a retry is due. A paced worker takes no
            // nudges: a nudge it swallowed would not reach a worker that
            // may take the open batch now.
            let wake_at = match (paced_until, retry_due) {
                (Some(paced), Some(due)) => Some(paced.min(due)),
                (paced, due) => paced.or(due),
            };
            let moving = idle.begin_move();
            let received = match (paced_until, wake_at) {
                (Some(_), Some(until)) => crossbeam_channel::select! {
                    recv(engine.queue.batches()) -> batch => batch.ok(),
                    recv(engine.ctx.done()) -> _ => return false,
                    recv(engine.intake.done()) -> _ => None,
                    default(until.saturating_duration_since(Instant::now())) => None,
                },
                (None, Some(until)) => crossbeam_channel::select! {
                    recv(engine.queue.batches()) -> batch => batch.ok(),
                    recv(idle.nudges()) -> _ => None,
                    recv(engine.ctx.done()) -> _ => return false,
                    recv(engine.intake.done()) -> _ => None,
                    default(until.saturating_duration_since(Instant::now())) => None,
                },
                _ => crossbeam_channel::select! {
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
        self.engine.retries.is_empty()
            && self.engine.local_queues.iter().all(LocalQueue::has_no_jobs)
            && idle.nothing_waiting(seen)
    }
}
