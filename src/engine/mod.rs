//! The run engine: the machinery behind [`Run`](crate::Run),
//! [`Submitter`](crate::Submitter) and [`WorkerPool`](crate::WorkerPool),
//! which only call the verbs of [`Engine`]. How its threads cooperate (the
//! worker states, who wakes whom, when a worker leaves, the shutdown order)
//! is written down in `README.md` beside this file.
//!
//! - `launch.rs`: starting a run's threads; the last one out ends the run.
//! - `spawner.rs`: spawning them detached, or in a `std::thread::Scope`.
//! - `feeder.rs`: pulls a batch run's input into the job queue.
//! - `worker.rs`: the worker loop: find jobs, run them, send results.
//! - `queue.rs`: the job queue: the open batch, full batches, its capacity.
//! - `local_queue.rs`: each worker's local queue and unsent results.
//! - `idle.rs`: idle workers, waking them, and the exact exit check.
//! - `reorder.rs`: results back in input order, on the reader's side.
//! - `policy.rs`: the opt-in policies a worker asks around each job.
//! - `retries.rs`: jobs waiting out a back-off before another attempt.
//! - `rate.rs`: a limit on job starts per second.
//! - `batch_size.rs`: batch sizes from the measured cost of a job.
//! - `capacity.rs`: the results capacity, counted in results.
//! - `room.rs`: waiting for room, woken by whoever frees it or a cancel.
//! - `counters.rs`: per-worker counters for progress and the summary.

mod batch_size;
mod capacity;
mod counters;
mod feeder;
mod idle;
mod launch;
mod local_queue;
mod policy;
mod queue;
mod rate;
mod reorder;
mod retries;
mod room;
mod spawner;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::context::Context;
use crate::counts::Counts;
use crate::error::ContextError;
use crate::job::{Job, JobDescriptor};
use crate::outcome::{JobPanic, JobResult};

pub(crate) use batch_size::RESULTS_WORK;
pub(crate) use capacity::Capacity;
pub(crate) use launch::{Input, Task, plain_task};
pub(crate) use policy::{NoPolicy, Policy};
use queue::Producer;
pub(crate) use queue::{Refused, Wait};
pub(crate) use rate::StartRate;
pub(crate) use reorder::Reorder;
pub(crate) use spawner::{Detached, Spawner};

pub(crate) use worker::Deliver;

use batch_size::{JobCost, max_batch};
use counters::Counters;
use idle::IdleWorkers;
use local_queue::LocalQueue;
use queue::JobQueue;
use retries::Retries;
use spawner::Handle;

/// A run's intake as its submitters see it, without the result types.
pub(crate) trait Intake<A>: Send + Sync {
    /// Queues a job, waiting for room as `wait` allows.
    fn submit(&self, job: Job<A>, wait: Wait) -> Result<(), (Refused, Job<A>)>;
    /// Stops the intake (a graceful shutdown).
    fn shutdown(&self) -> bool;
    /// Whether the run no longer takes jobs.
    fn is_closed(&self) -> bool;
}

impl<A: Send, T: Send, E: Send> Intake<A> for Engine<'_, A, T, E> {
    fn submit(&self, job: Job<A>, wait: Wait) -> Result<(), (Refused, Job<A>)> {
        Engine::submit(self, job, wait)
    }

    fn shutdown(&self) -> bool {
        Engine::shutdown(self)
    }

    fn is_closed(&self) -> bool {
        self.is_intake_closed()
    }
}

/// Keeps a value on cache lines of its own (two, for the adjacent-line
/// prefetcher), so that threads writing it do not slow down threads that
/// read its neighbours: the feeder locks the queue once per job while
/// workers read the reader's flag once per job.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<V>(pub(crate) V);

impl<V> std::ops::Deref for CachePadded<V> {
    type Target = V;

    fn deref(&self) -> &V {
        &self.0
    }
}

/// A pool's settings, as the engine reads them.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) results_capacity: usize,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) max_batch: usize,
    /// Whether runs hand out results in input order (read by the face,
    /// which gives the engine a window for such runs).
    pub(crate) input_order: bool,
    pub(crate) order_window: usize,
    /// Whether a batch run that stops reading its input early keeps the
    /// rest for its summary, instead of dropping it at once.
    pub(crate) resumable: bool,
    pub(crate) hooks: ThreadHooks,
}

/// A handler a worker thread calls with its index.
pub(crate) type ThreadHook = Arc<dyn Fn(usize) + Send + Sync>;

/// What each worker thread calls when it starts and before it exits.
#[derive(Clone, Default)]
pub(crate) struct ThreadHooks {
    pub(crate) start: Option<ThreadHook>,
    pub(crate) exit: Option<ThreadHook>,
}

impl std::fmt::Debug for ThreadHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadHooks")
            .field("start", &self.start.is_some())
            .field("exit", &self.exit.is_some())
            .finish()
    }
}

/// The input a batch run's feeder stopped reading, handed back to the
/// caller with the summary.
pub(crate) type UnreadInput<A> = Box<dyn Iterator<Item = Job<A>> + Send>;

/// What a run's handles may do without the run's types: cancel it, shut
/// it down, read its counters.
#[derive(Clone)]
pub(crate) struct Control {
    ctx: Context,
    intake: Context,
    counters: Arc<Counters>,
}

impl Control {
    /// The run's context.
    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    /// Cancels the run: workers, the feeder and producers waiting for room
    /// all wait on the context, and the thread that ends the run closes
    /// the queue. Returns `true` if this call cancelled it.
    pub(crate) fn cancel(&self) -> bool {
        self.ctx.cancel()
    }

    /// Stops the intake: the feeder stops reading, submitters are turned
    /// away, and the first worker to find no job closes the queue. Returns
    /// `true` if this call stopped it.
    pub(crate) fn shutdown(&self) -> bool {
        self.intake.cancel()
    }

    /// A snapshot of the counters.
    pub(crate) fn counts(&self) -> Counts {
        self.counters.snapshot()
    }
}

/// The state one run's threads and handles share. Its threads may borrow
/// for `'scope`: `'static` unless the run was started in a scope.
pub(crate) struct Engine<'scope, A, T, E> {
    /// The run's own context, handed to every job; a child of the caller's.
    ctx: Context,
    /// A child of `ctx`, ended by a graceful shutdown: it stops the intake
    /// of jobs without touching running ones.
    intake: Context,
    queue: JobQueue<A>,
    /// One per worker, by index.
    local_queues: Box<[LocalQueue<A, T, E>]>,
    idle: CachePadded<IdleWorkers>,
    cost: CachePadded<JobCost>,
    results_capacity: Arc<Capacity>,
    /// For results in input order: one credit per job between the moment
    /// a producer takes it in and the moment the reader is handed its
    /// result (or drops it), so that a slow job can hold back at most this
    /// many jobs and results. Producers take credits before they pull or
    /// queue a job; `Run` and `ResultBatch` give them back.
    window: Option<Arc<Capacity>>,
    /// Whether the feeder keeps the input it stops reading early.
    resumable: bool,
    /// The input the feeder stopped reading when the intake ended.
    unread: Mutex<Option<UnreadInput<A>>>,
    /// The largest batch of results a worker sends.
    max_results: usize,
    /// Shared with the queue and with `RunHandle`s.
    counters: Arc<Counters>,
    /// Jobs that will not start, for the summary.
    unstarted: Mutex<Vec<Job<A>>>,
    /// Jobs waiting out a back-off before another attempt.
    retries: Retries<A, T, E>,
    /// The job whose outcome cancelled the run (fail-fast).
    tripped_by: Mutex<Option<JobDescriptor>>,
    /// The first panic of user code outside a job: the input iterator's
    /// `next` or drop, or the job function's drop.
    panic: Mutex<Option<JobPanic>>,
    /// Set (Relaxed) when the end of the context left input unread or
    /// closed the intake early; read by the thread that ends the run, after
    /// joining everyone else.
    intake_cut_short: AtomicBool,
    /// Why the context cut the run short; set when the run ends.
    cancelled_by: Mutex<Option<ContextError>>,
    /// Workers still in their loop, plus one for the launcher until every
    /// thread has started. AcqRel: the one that takes it to zero has the
    /// run ended, which must see everyone's work.
    participants: AtomicUsize,
    /// In a batch run, the feeder waits for this to disconnect once its
    /// input is done: the last participant to leave drops it.
    workers_left: Mutex<Option<Sender<()>>>,
    /// The prefix of the run's thread names, for the closer thread.
    thread_name: String,
    /// Spawns the run's threads: detached, or in the caller's scope.
    spawner: &'scope dyn Spawner<'scope>,
    /// The run's threads; the one that ends the run joins all the others,
    /// the run's handle joins that last one.
    threads: Mutex<Vec<Handle<'scope>>>,
    /// Dropped when the run has ended, which disconnects `Run::done`.
    done: Mutex<Option<Sender<()>>>,
    /// Set by a reader about to block for results, cleared when it stops
    /// waiting. The reader sets it (SeqCst) before taking the workers'
    /// unsent results under their local queues' locks; a worker reads it
    /// (Relaxed) after handing in a result under that lock and then sends
    /// what it holds. The lock orders the two: either the reader takes the
    /// result, or the worker sees the flag.
    reader_waiting: CachePadded<AtomicBool>,
}

/// Held by a reader while it blocks for results; see `reader_waiting`.
pub(crate) struct ReaderWaits<'a>(&'a AtomicBool);

impl Drop for ReaderWaits<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl<'scope, A, T, E> Engine<'scope, A, T, E> {
    /// A new engine whose threads `spawner` starts, and the receiver of its
    /// done channel. With a `window`, results are to be read in input
    /// order.
    pub(crate) fn new(
        config: &Config,
        parent: &Context,
        spawner: &'scope dyn Spawner<'scope>,
        window: Option<usize>,
    ) -> (Engine<'scope, A, T, E>, Receiver<()>) {
        let ctx = Context::with_cancel(parent);
        let (done_tx, done_rx) = crossbeam_channel::bounded(0);
        let workers = config.workers;
        let counters = Arc::new(Counters::new(workers));
        let engine = Engine {
            intake: Context::with_cancel(&ctx),
            ctx,
            queue: JobQueue::new(
                config.queue_capacity,
                max_batch(config.queue_capacity, workers, config.max_batch),
                workers,
                counters.clone(),
            ),
            local_queues: (0..workers).map(|_| LocalQueue::new()).collect(),
            idle: CachePadded(IdleWorkers::new(workers)),
            cost: CachePadded(JobCost::default()),
            results_capacity: Arc::new(Capacity::new(config.results_capacity)),
            window: window.map(|jobs| Arc::new(Capacity::new(jobs))),
            resumable: config.resumable,
            unread: Mutex::new(None),
            max_results: max_batch(config.results_capacity, workers, config.max_batch),
            counters,
            unstarted: Mutex::new(Vec::new()),
            retries: Retries::new(),
            tripped_by: Mutex::new(None),
            panic: Mutex::new(None),
            intake_cut_short: AtomicBool::new(false),
            cancelled_by: Mutex::new(None),
            participants: AtomicUsize::new(1),
            workers_left: Mutex::new(None),
            thread_name: config.thread_name.clone(),
            spawner,
            threads: Mutex::new(Vec::with_capacity(workers + 1)),
            done: Mutex::new(Some(done_tx)),
            reader_waiting: CachePadded(AtomicBool::new(false)),
        };
        (engine, done_rx)
    }

    /// The run's context.
    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    /// What a handle needs to cancel the run and read its counters.
    pub(crate) fn control(&self) -> Control {
        Control {
            ctx: self.ctx.clone(),
            intake: self.intake.clone(),
            counters: self.counters.clone(),
        }
    }

    /// The input-order window, if results are to be read in input order.
    pub(crate) fn window(&self) -> Option<&Arc<Capacity>> {
        self.window.as_ref()
    }

    /// What a reader needs to put results back in input order, if the run
    /// hands them out in that order.
    pub(crate) fn reorder(&self) -> Option<Reorder<T, E>> {
        let window = self.window.as_ref()?;
        Some(Reorder::new(window.clone()))
    }

    /// Queues a submitted job, waiting for room as `wait` allows.
    pub(crate) fn submit(&self, job: Job<A>, wait: Wait) -> Result<(), (Refused, Job<A>)> {
        if let Some(window) = &self.window {
            // A slot in the input-order window first, then room in the queue.
            let deadline = match wait {
                Wait::No => Some(std::time::Instant::now()),
                Wait::Until(deadline) => Some(deadline),
                Wait::Forever => None,
            };
            if let Err(ended) = window.take_up_to(1, self.intake.done(), deadline) {
                let refused = match ended {
                    room::WaitEnded::TimedOut => Refused::Full,
                    room::WaitEnded::Stopped => Refused::Closed,
                };
                return Err(self.refused(refused, job));
            }
        }
        self.queue
            .push(job, wait, self.producer(false))
            .map_err(|(refused, job)| {
                if let Some(window) = &self.window {
                    window.give_back(1);
                }
                self.refused(refused, job)
            })
    }

    /// Tells a refusal caused by the end of the context apart.
    fn refused(&self, refused: Refused, job: Job<A>) -> (Refused, Job<A>) {
        if refused == Refused::Closed && self.ctx.is_cancelled() {
            // A submitter turned away by the end of the context.
            self.intake_cut_short.store(true, Ordering::Relaxed);
            return (Refused::Cancelled, job);
        }
        (refused, job)
    }

    /// What the queue needs to know of a producer: the feeder is `blind`.
    fn producer(&self, blind: bool) -> Producer<'_> {
        Producer {
            intake: &self.intake,
            cost: &self.cost,
            idle: &self.idle,
            blind,
        }
    }

    /// Whether the run no longer takes jobs.
    pub(crate) fn is_intake_closed(&self) -> bool {
        self.intake.is_cancelled() || self.queue.is_closed()
    }

    /// Stops the intake; jobs already queued still run. Returns `true` if
    /// this call stopped it.
    pub(crate) fn shutdown(&self) -> bool {
        let ended = self.intake.cancel();
        self.queue.close();
        ended
    }

    /// Cancels the run. Returns `true` if this call cancelled it.
    pub(crate) fn cancel(&self) -> bool {
        let cancelled = self.ctx.cancel();
        if self.queue.close() {
            // Input was still coming: it is cut short.
            self.intake_cut_short.store(true, Ordering::Relaxed);
        }
        cancelled
    }

    /// A snapshot of the counters.
    pub(crate) fn counts(&self) -> Counts {
        self.counters.snapshot()
    }

    /// Asks the workers to send their results at once, until the guard is
    /// dropped; for a reader about to block. Take it before
    /// [`take_unsent`](Self::take_unsent).
    pub(crate) fn reader_waits(&self) -> ReaderWaits<'_> {
        self.reader_waiting.store(true, Ordering::SeqCst);
        ReaderWaits(&self.reader_waiting.0)
    }

    /// Takes the results workers hold but have not sent yet, for a reader
    /// that would otherwise block waiting for them.
    pub(crate) fn take_unsent(&self) -> Vec<JobResult<T, E>> {
        let mut results = Vec::new();
        for local in self.local_queues.iter() {
            results.append(&mut local.take_unsent());
        }
        results
    }

    /// Counts results that a reader dropped unread.
    pub(crate) fn add_discarded(&self, results: u64) {
        self.counters.add_discarded(results);
    }

    /// Takes the count of results dropped unread so far.
    pub(crate) fn take_discarded(&self) -> u64 {
        self.counters.take_discarded()
    }

    /// Takes the jobs that will not start, in the order the run took
    /// them in.
    pub(crate) fn take_unstarted(&self) -> Vec<Job<A>> {
        let mut jobs = std::mem::take(&mut *self.unstarted.lock());
        jobs.sort_by_key(Job::seq);
        jobs
    }

    /// Keeps the input the feeder stopped reading, for the summary.
    pub(crate) fn keep_unread(&self, input: UnreadInput<A>) {
        *self.unread.lock() = Some(input);
    }

    /// Takes the input the feeder stopped reading, if it stopped early.
    pub(crate) fn take_unread(&self) -> Option<UnreadInput<A>> {
        self.unread.lock().take()
    }

    /// Why the context cut the run short, once the run has ended.
    pub(crate) fn cancelled_by(&self) -> Option<ContextError> {
        *self.cancelled_by.lock()
    }

    /// Cancels the run because of `job`'s outcome (fail-fast); the first
    /// such job is kept for the summary.
    fn trip(&self, job: &JobDescriptor) {
        let mut tripped_by = self.tripped_by.lock();
        // A run already cancelled (by its caller, or another trip) was not
        // cancelled by this job.
        if self.cancel() {
            *tripped_by = Some(job.clone());
        }
    }

    /// The job whose outcome cancelled the run, if one did.
    pub(crate) fn take_tripped_by(&self) -> Option<JobDescriptor> {
        self.tripped_by.lock().take()
    }

    /// Takes the panic of user code outside a job, if there was one.
    pub(crate) fn take_panic(&self) -> Option<JobPanic> {
        self.panic.lock().take()
    }

    /// Records a panic of user code outside a job; the first one is kept.
    fn record_panic(&self, panic: JobPanic) {
        self.panic.lock().get_or_insert(panic);
    }

    /// Runs user code outside a job (a policy's predicate, a clone),
    /// keeping its panic for the summary; `None` if it panicked.
    pub(crate) fn catch_user_panic<R>(&self, code: impl FnOnce() -> R) -> Option<R> {
        crate::unwind::catch(code)
            .map_err(|panic| self.record_panic(panic))
            .ok()
    }

    /// Drops a value whose destructor is user code (the job function),
    /// keeping its panic for the summary.
    pub(crate) fn drop_user_value<V>(&self, value: V) {
        if let Err(panic) = crate::unwind::catch(move || drop(value)) {
            self.record_panic(panic);
        }
    }

    /// Moves jobs that will not start to the summary.
    fn give_back(&self, jobs: impl IntoIterator<Item = Job<A>>) {
        let mut unstarted = self.unstarted.lock();
        let before = unstarted.len();
        unstarted.extend(jobs);
        self.counters
            .add_unstarted((unstarted.len() - before) as u64);
    }
}
