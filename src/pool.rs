//! The pool's configuration, its builder, and the ways to start a run.

use std::fmt;
use std::sync::Arc;

use crate::batch::ResultBatch;
use crate::context::Context;
use crate::engine::{
    Config, Deliver, Detached, Engine, Input, Policy, Spawner, Task, ThreadHooks, plain_task,
};
use crate::error::{BuildError, InitError, StartError};
use crate::job::{Job, JobFn};
use crate::map::{Map, ScopedMap, infallible, numbered};
use crate::run::{Run, ScopedRun};
use crate::scope::Scope;
use crate::submit::Submitter;

/// Default capacity of the job queue, in jobs. Measured on 1,000,000
/// trivial jobs: past a few thousand jobs in flight throughput no longer
/// grows, while memory does. See the README's performance section.
///
/// # Examples
///
/// ```
/// use wpool::{DEFAULT_QUEUE_CAPACITY, WorkerPool};
///
/// // Jobs that carry large buffers: keep fewer of them waiting.
/// let pool = WorkerPool::builder().workers(2).queue_capacity(DEFAULT_QUEUE_CAPACITY / 64).build()?;
/// assert_eq!(pool.workers(), 2);
/// # Ok::<(), wpool::BuildError>(())
/// ```
pub const DEFAULT_QUEUE_CAPACITY: usize = 16_384;

/// Default capacity of the results channel, in results.
///
/// # Examples
///
/// ```
/// use wpool::{DEFAULT_RESULTS_CAPACITY, WorkerPool};
///
/// // Large results: let fewer of them wait for a slow reader.
/// let pool = WorkerPool::builder().workers(2).results_capacity(DEFAULT_RESULTS_CAPACITY / 64).build()?;
/// assert_eq!(pool.workers(), 2);
/// # Ok::<(), wpool::BuildError>(())
/// ```
pub const DEFAULT_RESULTS_CAPACITY: usize = 16_384;

/// Default cap on a batch of jobs or results; see [`Builder::max_batch`].
/// Beyond a few thousand jobs a batch saves nothing measurable and only
/// delays the first results.
///
/// # Examples
///
/// ```
/// use wpool::{DEFAULT_MAX_BATCH, WorkerPool};
///
/// // Halve the batches for jobs of uneven cost.
/// let pool = WorkerPool::builder().max_batch(DEFAULT_MAX_BATCH / 2).build().unwrap();
/// # drop(pool);
/// ```
pub const DEFAULT_MAX_BATCH: usize = 4096;

/// Default input-order window, in jobs: see [`Builder::order_window`].
///
/// A window must hold every job that runs while the oldest one holds the
/// line, or workers go idle waiting for it: with one job taking 1,000 times
/// as long as the others, 16 workers get through about 16,000 others
/// meanwhile. It is also the queue's and the results channel's default
/// capacity, so input order never holds more jobs and results together
/// than either of those allows alone.
///
/// Jobs of tens of nanoseconds fill it with the batches they travel in,
/// and then input order runs about a tenth slower than completion order;
/// a window of 65,536 brings it within a few percent, for four times as
/// many results held behind a slow job.
///
/// # Examples
///
/// ```
/// use wpool::{DEFAULT_ORDER_WINDOW, Order, WorkerPool};
///
/// // Large results: let fewer of them wait behind a slow job.
/// let pool = WorkerPool::builder().order(Order::Input).order_window(DEFAULT_ORDER_WINDOW / 16).build()?;
/// assert_eq!(pool.order(), Order::Input);
/// # Ok::<(), wpool::BuildError>(())
/// ```
pub const DEFAULT_ORDER_WINDOW: usize = 16_384;

/// The order in which a run hands out its results; see
/// [`Builder::order`] and [`WorkerPool::with_order`].
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, Order, WorkerPool};
///
/// let pool = WorkerPool::new(4)?.with_order(Order::Input);
/// let jobs = (0..100u64).map(|i| Job::new(i, i));
/// let run = pool.run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(i * 2))?;
/// let ids: Vec<u64> = run.map(|r| r.id().as_u64().unwrap()).collect();
/// assert_eq!(ids, (0..100).collect::<Vec<_>>());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Order {
    /// About the order in which the jobs finish (the default): each result
    /// as soon as its worker hands it over, at no cost.
    #[default]
    Completion,
    /// The order in which the run took the jobs in: the input's order for
    /// [`WorkerPool::run`], the order of accepted submissions for
    /// [`WorkerPool::start`]. Results that finish ahead of their turn wait
    /// in a window of [`Builder::order_window`] jobs; when the oldest
    /// unfinished job holds the window full, no new job is taken in until
    /// it finishes, so memory stays bounded behind a slow job. After a
    /// cancel, the results of jobs that ran still come in order, with
    /// gaps where jobs came back unstarted.
    Input,
}

/// The most workers a pool may have; [`Builder::build`] refuses more with
/// [`BuildError::TooManyWorkers`]. Every run starts all of its workers, so
/// far more threads than this would exhaust the process's threads or
/// memory in the middle of starting a run; beyond a few thousand threads,
/// blocking jobs are better served by fewer workers and a context-aware
/// wait.
///
/// # Examples
///
/// ```
/// use wpool::{BuildError, MAX_WORKERS, WorkerPool};
///
/// assert!(WorkerPool::builder().workers(MAX_WORKERS).build().is_ok());
/// let err = WorkerPool::builder().workers(MAX_WORKERS + 1).build().unwrap_err();
/// assert!(matches!(err, BuildError::TooManyWorkers { .. }));
/// ```
pub const MAX_WORKERS: usize = 16_384;

/// The largest stack a pool's threads may ask for, 1 TiB; [`Builder::build`]
/// refuses more with [`BuildError::StackTooLarge`]. No job needs more, and
/// larger sizes (up to `usize::MAX`) cannot be mapped at all: refused at
/// build time, they are an error value there rather than a failed start
/// later. A size within the bound can still fail to start on a machine
/// without the memory (a [`StartError`]).
///
/// # Examples
///
/// ```
/// use wpool::{BuildError, MAX_STACK_SIZE, WorkerPool};
///
/// let err = WorkerPool::builder().stack_size(usize::MAX).build().unwrap_err();
/// assert_eq!(err, BuildError::StackTooLarge { requested: usize::MAX, max: MAX_STACK_SIZE });
/// ```
pub const MAX_STACK_SIZE: usize = 1 << 40;

/// A worker pool: the configuration every run it starts shares.
///
/// Each run starts its own worker threads and joins them all before it
/// reports done, so a `WorkerPool` holds no threads and is cheap to clone
/// and share. Start a run with [`run`](WorkerPool::run) (a batch from an
/// iterator, one shared job function), [`run_boxed`](WorkerPool::run_boxed)
/// (a batch of jobs that each carry their own closure) or
/// [`start`](WorkerPool::start) (jobs submitted from any thread while the
/// results are read).
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(4)?;
/// let jobs = (0..1000u64).map(|i| Job::new(i, i));
/// let run = pool.run(&Context::background(), jobs, |_ctx, i: u64| Ok::<_, String>(i * 2))?;
/// let sum: u64 = run.filter_map(|r| r.into_value()).sum();
/// assert_eq!(sum, 999 * 1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WorkerPool {
    config: Arc<Config>,
}

impl WorkerPool {
    /// Returns a pool of `workers` threads with default settings; see
    /// [`Builder`] for the others.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroWorkers`] if `workers` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::WorkerPool;
    ///
    /// assert_eq!(WorkerPool::new(3).unwrap().workers(), 3);
    /// assert!(WorkerPool::new(0).is_err());
    /// ```
    pub fn new(workers: usize) -> Result<WorkerPool, BuildError> {
        Builder::new().workers(workers).build()
    }

    /// Returns a [`Builder`] to configure a pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::WorkerPool;
    ///
    /// let pool = WorkerPool::builder().workers(2).thread_name("resizer").build().unwrap();
    /// assert_eq!(pool.workers(), 2);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The number of worker threads each run starts.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::WorkerPool;
    ///
    /// let pool = WorkerPool::builder().workers(6).build()?;
    /// assert_eq!(pool.workers(), 6);
    /// assert_eq!(pool.clone().workers(), 6, "clones share the configuration");
    /// # Ok::<(), wpool::BuildError>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.config.workers
    }

    /// The order in which this pool's runs hand out results.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Order, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// assert_eq!(pool.order(), Order::Completion);
    /// assert_eq!(pool.with_order(Order::Input).order(), Order::Input);
    /// # Ok::<(), wpool::BuildError>(())
    /// ```
    pub fn order(&self) -> Order {
        if self.config.input_order {
            Order::Input
        } else {
            Order::Completion
        }
    }

    /// Returns this pool with another result order, for the runs started
    /// from it (see [`Order`]); the pool it came from is unchanged. A pool
    /// holds no threads, so this costs one small allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Order, WorkerPool};
    ///
    /// let pool = WorkerPool::new(4)?;
    /// let lines = ["one", "two", "three"].into_iter().enumerate().map(|(i, l)| Job::new(i, l));
    /// let run = pool.with_order(Order::Input).run(&Context::background(), lines, |_, l: &str| Ok::<_, ()>(l.len()))?;
    /// let lengths: Vec<usize> = run.filter_map(|r| r.into_value()).collect();
    /// assert_eq!(lengths, [3, 3, 5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_order(&self, order: Order) -> WorkerPool {
        self.with_config(|config| config.input_order = order == Order::Input)
    }

    /// Returns this pool with another input-order window (see
    /// [`Builder::order_window`]); the pool it came from is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Order, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?.with_order(Order::Input).with_order_window(64);
    /// assert_eq!(pool.order_window(), 64);
    /// # Ok::<(), wpool::BuildError>(())
    /// ```
    #[must_use]
    pub fn with_order_window(&self, jobs: usize) -> WorkerPool {
        self.with_config(|config| config.order_window = jobs.max(1))
    }

    /// The input-order window of this pool's runs, in jobs.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{DEFAULT_ORDER_WINDOW, WorkerPool};
    ///
    /// assert_eq!(WorkerPool::new(2)?.order_window(), DEFAULT_ORDER_WINDOW);
    /// # Ok::<(), wpool::BuildError>(())
    /// ```
    pub fn order_window(&self) -> usize {
        self.config.order_window
    }

    /// Returns this pool with resumable runs (see [`Builder::resumable`]):
    /// a batch run that stops reading its input early hands the rest back
    /// in [`Summary::unread_input`](crate::Summary::unread_input). The pool
    /// it came from is unchanged.
    ///
    /// # Examples
    ///
    /// Cancel at any point, then resume until done: every job runs exactly
    /// once.
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?.resumable();
    /// let mut input: Box<dyn Iterator<Item = Job<u64>> + Send> = Box::new((0..10_000u64).map(|i| Job::new(i, i)));
    /// let mut sum = 0;
    /// loop {
    ///     let ctx = Context::with_cancel(&Context::background());
    ///     let mut run = pool.run(&ctx, input, |_, i: u64| Ok::<_, ()>(i))?;
    ///     sum += (&mut run).take(1000).filter_map(|r| r.into_value()).sum::<u64>();
    ///     ctx.cancel();
    ///     sum += (&mut run).filter_map(|r| r.into_value()).sum::<u64>();
    ///     let summary = run.wait();
    ///     if summary.unstarted.is_empty() && summary.unread_input.is_empty() {
    ///         break;
    ///     }
    ///     input = Box::new(summary.into_remaining());
    /// }
    /// assert_eq!(sum, 9_999 * 10_000 / 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn resumable(&self) -> WorkerPool {
        self.with_config(|config| config.resumable = true)
    }

    /// A copy of this pool with `change` made to its configuration.
    fn with_config(&self, change: impl FnOnce(&mut Config)) -> WorkerPool {
        let mut config = Config::clone(&self.config);
        change(&mut config);
        WorkerPool {
            config: Arc::new(config),
        }
    }

    /// The input-order window of a run, if it hands out results in input
    /// order.
    pub(crate) fn window(&self, order: Order) -> Option<usize> {
        (order == Order::Input).then_some(self.config.order_window)
    }

    /// Starts a batch run: a feeder thread pulls jobs from `jobs` lazily
    /// (so an endless or huge iterator is fine), the workers call `f` on
    /// each job's arguments, and the returned [`Run`] yields one result per
    /// job.
    ///
    /// `f` is shared by all jobs, so a job costs no allocation for its
    /// function. Each call gets the run's [`Context`] and should return
    /// early once it is cancelled.
    ///
    /// Jobs already taken from `jobs` never wait for the next one: idle
    /// workers take them while the input is still producing.
    ///
    /// # Blocking input
    ///
    /// Nothing can interrupt the input's `next` call, so an input that
    /// blocks (a channel whose senders stay open, a socket) keeps the run
    /// from finishing, and a cancel or a drop of the [`Run`] waits until
    /// `next` returns. For jobs that arrive from other threads, use
    /// [`start`](WorkerPool::start) and a [`Submitter`] instead, or make the
    /// input watch the context:
    ///
    /// ```
    /// use crossbeam_channel::select;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let (tx, rx) = crossbeam_channel::unbounded::<u64>();
    /// let ctx = Context::with_cancel(&Context::background());
    /// let input = {
    ///     let ctx = ctx.clone();
    ///     // Ends when the channel closes or the context ends.
    ///     std::iter::from_fn(move || select! {
    ///         recv(rx) -> n => n.ok().map(|n| Job::new(n, n)),
    ///         recv(ctx.done()) -> _ => None,
    ///     })
    /// };
    /// let pool = WorkerPool::new(2).unwrap();
    /// let mut run = pool.run(&ctx, input, |_, n: u64| Ok::<_, ()>(n)).unwrap();
    /// tx.send(1).unwrap();
    /// assert_eq!(run.next().unwrap().value(), Some(&1));
    /// ctx.cancel(); // the sender is still open, and yet the run ends
    /// assert!(run.next().is_none());
    /// # drop(tx);
    /// ```
    ///
    /// # Errors
    ///
    /// [`StartError`] if the operating system refuses to start a thread. The
    /// threads already started are stopped and joined first, no job has
    /// been taken from `jobs`, and `jobs` and `f` are dropped: keep what you
    /// cannot make again (a `Vec` of jobs, say) until the run has started.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let words = ["alpha", "beta", "gamma"].into_iter().enumerate().map(|(i, w)| Job::new(i, w));
    /// let run = pool.run(&Context::background(), words, |_, w: &str| Ok::<_, ()>(w.len())).unwrap();
    /// let mut lengths: Vec<usize> = run.filter_map(|r| r.into_value()).collect();
    /// lengths.sort();
    /// assert_eq!(lengths, [4, 5, 5]);
    /// ```
    pub fn run<I, A, T, E, F>(
        &self,
        ctx: &Context,
        jobs: I,
        f: F,
    ) -> Result<Run<A, T, E>, StartError>
    where
        I: IntoIterator<Item = Job<A>>,
        I::IntoIter: Send + 'static,
        F: Fn(&Context, A) -> Result<T, E> + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        // Before any thread starts: a panic here leaves nothing running.
        let input = Some(Input::owned(jobs.into_iter()));
        let (_, run) = self.launch_plain(&Detached, ctx, f, input, self.order())?;
        Ok(run)
    }

    /// Applies `f` to every item of `items` on the pool's threads and
    /// returns the outputs, in input order, as a lazy iterator: the
    /// one-line form of a batch run, with no [`Job`]s to build and no error
    /// type to name. Each output is `Ok(f(item))`, or `Err` with the
    /// [`JobPanic`](crate::JobPanic) if `f` panicked on that item (the
    /// others still run). For completion order, see
    /// [`map_unordered`](WorkerPool::map_unordered); for each item's place
    /// in the input, [`Map::indexed`](crate::ScopedMap::indexed).
    ///
    /// The input is read lazily, as workers need items, so it may be
    /// endless; at most [`order_window`](Builder::order_window) items are
    /// between being read and their turn to be handed out, so memory stays
    /// bounded behind a slow item. Dropping the [`Map`] or cancelling `ctx` stops
    /// it. A function that fails returns a `Result`, which comes back as
    /// it is; one that needs its context, or jobs with ids of their own,
    /// use [`run`](WorkerPool::run).
    ///
    /// # Errors
    ///
    /// As [`run`](WorkerPool::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(4)?;
    /// let lengths: Vec<usize> = pool
    ///     .map(&Context::background(), ["a", "bb", "ccc"], str::len)?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(lengths, [1, 2, 3]);
    ///
    /// // An endless input, stopped by dropping the map.
    /// let evens: Vec<u64> = pool.map(&Context::background(), 0u64.., |n| 2 * n)?.take(3).map(Result::unwrap).collect();
    /// assert_eq!(evens, [0, 2, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map<I, U, F>(&self, ctx: &Context, items: I, f: F) -> Result<Map<I::Item, U>, StartError>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> U + Send + Sync + 'static,
        U: Send + 'static,
    {
        // Before any thread starts: a panic here leaves nothing running.
        let input = Input::owned(numbered(items.into_iter()));
        self.launch_map(&Detached, ctx, input, f, Order::Input)
    }

    /// Like [`map`](WorkerPool::map), with the outputs in about the order
    /// they are done rather than in input order: nothing waits for a slow
    /// item, and no window bounds how far ahead the map reads.
    /// [`Map::indexed`](crate::ScopedMap::indexed) tells each output's
    /// place in the input.
    ///
    /// # Errors
    ///
    /// As [`run`](WorkerPool::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(4)?;
    /// let mut squares: Vec<u64> = pool
    ///     .map_unordered(&Context::background(), 0..100u64, |n| n * n)?
    ///     .collect::<Result<_, _>>()?;
    /// squares.sort();
    /// assert_eq!(squares[99], 99 * 99);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_unordered<I, U, F>(
        &self,
        ctx: &Context,
        items: I,
        f: F,
    ) -> Result<Map<I::Item, U>, StartError>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> U + Send + Sync + 'static,
        U: Send + 'static,
    {
        let input = Input::owned(numbered(items.into_iter()));
        self.launch_map(&Detached, ctx, input, f, Order::Completion)
    }

    /// Starts a batch run of jobs that each carry their own closure (see
    /// [`Job::from_fn`]).
    ///
    /// # Errors
    ///
    /// As [`run`](WorkerPool::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, JobFn, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let jobs = (0..10u64).map(|i| -> Job<JobFn<u64, String>> {
    ///     if i % 2 == 0 {
    ///         Job::from_fn(i, move |_| Ok(i))
    ///     } else {
    ///         Job::from_fn(i, move |_| Err(format!("{i} is odd")))
    ///     }
    /// });
    /// let summary = pool.run_boxed(&Context::background(), jobs).unwrap().wait();
    /// assert_eq!((summary.counts.succeeded, summary.counts.failed), (5, 5));
    /// ```
    pub fn run_boxed<I, T, E>(
        &self,
        ctx: &Context,
        jobs: I,
    ) -> Result<Run<JobFn<T, E>, T, E>, StartError>
    where
        I: IntoIterator<Item = Job<JobFn<T, E>>>,
        I::IntoIter: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.run(ctx, jobs, |ctx, f: JobFn<T, E>| f(ctx))
    }

    /// Starts a run that takes jobs from a [`Submitter`] (Go's long-running
    /// dispatcher): clone the submitter into any threads that produce jobs,
    /// and read the results from the [`Run`] meanwhile.
    ///
    /// The run ends when every submitter has been dropped (or on
    /// [`Run::shutdown`]) and the queue is drained, or when it is cancelled.
    ///
    /// # Errors
    ///
    /// [`StartError`] if the operating system refuses to start a thread; the
    /// threads already started are stopped and joined first.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let (submitter, run) = pool.start(&Context::background(), |_, n: u32| Ok::<_, ()>(n + 1)).unwrap();
    /// for n in 0..10 {
    ///     submitter.submit(Job::new(n, n)).unwrap();
    /// }
    /// drop(submitter);
    /// let sum: u32 = run.filter_map(|r| r.into_value()).sum();
    /// assert_eq!(sum, 55);
    /// ```
    #[expect(clippy::type_complexity, reason = "a pair of two public types")]
    pub fn start<A, T, E, F>(
        &self,
        ctx: &Context,
        f: F,
    ) -> Result<(Submitter<A>, Run<A, T, E>), StartError>
    where
        F: Fn(&Context, A) -> Result<T, E> + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let no_input = None::<Input<std::iter::Empty<Job<A>>, A>>;
        let (engine, run) = self.launch_plain(&Detached, ctx, f, no_input, self.order())?;
        Ok((Submitter::new(engine), run))
    }

    /// Creates a scope for runs that borrow from the caller's stack, like
    /// [`std::thread::scope`]: `f` gets a [`Scope`], whose
    /// [`run`](Scope::run) starts a batch run whose input, job function and
    /// results may borrow anything that outlives the call to `scope`.
    ///
    /// Every run started in the scope borrows it, so it has been dropped
    /// (which cancels it and joins its threads) or waited for by the time
    /// `f` returns; and every thread started in the scope has been joined
    /// when `scope` returns. The runs' threads are scoped threads of a
    /// [`std::thread::scope`] that lasts for the call.
    ///
    /// # Lifetimes
    ///
    /// As in [`std::thread::scope`]: `'scope` is the lifetime of the scope
    /// itself (a [`ScopedRun`] cannot outlive it), and `'env` that of
    /// anything the runs borrow, which must outlive the scope. So data made
    /// before the call can be borrowed; data made inside `f` can only be
    /// moved into a run (a `move` closure).
    ///
    /// # Panics
    ///
    /// A panic in `f` is resumed once every thread of the scope is joined.
    /// Panics inside jobs never get here: each is the job's
    /// [`Outcome::Panicked`](crate::Outcome::Panicked). A panic of a run's
    /// input iterator is resumed where its [`ScopedRun`] is dropped, as for
    /// a [`Run`].
    ///
    /// # Deadlock hazard
    ///
    /// A run that is leaked (with [`std::mem::forget`]) instead of dropped
    /// is not cancelled, so `scope` waits for its jobs and input to end.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let names: Vec<String> = vec!["ada".into(), "grace".into(), "edsger".into()];
    /// let minimum = 4; // borrowed by the job function
    /// let long: usize = pool.scope(|s| {
    ///     let jobs = names.iter().enumerate().map(|(i, name)| Job::new(i, name));
    ///     let run = s.run(&Context::background(), jobs, |_, name| Ok::<_, ()>(name.len() >= minimum))?;
    ///     Ok::<_, wpool::StartError>(run.filter(|r| r.value() == Some(&true)).count())
    /// })?;
    /// assert_eq!(long, 2);
    /// assert_eq!(names.len(), 3, "still ours");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A run cannot escape its scope:
    ///
    /// ```compile_fail
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2).unwrap();
    /// let run = pool.scope(|s| {
    ///     s.run(&Context::background(), [Job::new(1u64, 1u64)], |_, n: u64| Ok::<_, ()>(n)).unwrap()
    /// });
    /// ```
    pub fn scope<'env, R>(&self, f: impl for<'scope> FnOnce(&Scope<'scope, 'env>) -> R) -> R {
        std::thread::scope(|scope| f(&Scope::new(scope, self.clone())))
    }
}

impl WorkerPool {
    /// Starts a run with no state and no policy: `run`, `start`, the maps
    /// and their scoped forms, in `order`.
    #[expect(clippy::type_complexity, reason = "the engine and its handle")]
    pub(crate) fn launch_plain<'scope, A, T, E, F, I>(
        &self,
        spawner: &'scope dyn Spawner<'scope>,
        ctx: &Context,
        f: F,
        input: Option<Input<I, A>>,
        order: Order,
    ) -> Result<(Arc<Engine<'scope, A, T, E>>, ScopedRun<'scope, A, T, E>), StartError>
    where
        F: Fn(&Context, A) -> Result<T, E> + Send + Sync + 'scope,
        I: Iterator<Item = Job<A>> + Send + 'scope,
        A: Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        self.launch(spawner, ctx, plain_task(f), input, self.window(order))
            .map_err(InitError::into_start_error)
    }

    /// Starts a map over `input` (items numbered by their place) in
    /// `order`.
    pub(crate) fn launch_map<'scope, X, U, F, I>(
        &self,
        spawner: &'scope dyn Spawner<'scope>,
        ctx: &Context,
        input: Input<I, X>,
        f: F,
        order: Order,
    ) -> Result<ScopedMap<'scope, X, U>, StartError>
    where
        F: Fn(X) -> U + Send + Sync + 'scope,
        I: Iterator<Item = Job<X>> + Send + 'scope,
        X: Send + 'scope,
        U: Send + 'scope,
    {
        let (_, run) = self.launch_plain(spawner, ctx, infallible(f), Some(input), order)?;
        Ok(ScopedMap::new(run))
    }

    /// Starts a run's workers, and its feeder if it has one, with
    /// `spawner`: detached threads, or a scope's (then everything may
    /// borrow for `'scope`). With a `window`, the run hands out results in
    /// input order. If a thread cannot start, the ones already started are
    /// stopped and joined.
    #[expect(
        clippy::type_complexity,
        reason = "a pair of the engine and its handle"
    )]
    pub(crate) fn launch<'scope, A, T, E, S, IE, Init, F, P, I>(
        &self,
        spawner: &'scope dyn Spawner<'scope>,
        ctx: &Context,
        task: Task<Init, F, P>,
        input: Option<Input<I, A>>,
        window: Option<usize>,
    ) -> Result<(Arc<Engine<'scope, A, T, E>>, ScopedRun<'scope, A, T, E>), InitError<IE>>
    where
        Init: Fn() -> Result<S, IE> + Send + Sync + 'scope,
        F: Fn(&mut S, &Context, A) -> Result<T, E> + Send + Sync + 'scope,
        P: Policy<A, T, E> + 'scope,
        I: Iterator<Item = Job<A>> + Send + 'scope,
        IE: Send + 'scope,
        A: Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        let config = &self.config;
        let (engine, done) = Engine::new(config, ctx, spawner, window);
        let engine = Arc::new(engine);
        let (results_tx, results_rx) = crossbeam_channel::unbounded();
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
        let waits_for_init = task.waits_for_init;
        let task = Arc::new(task);
        let mut started = Ok(());
        for index in 0..config.workers {
            let (task, results, ready) = (task.clone(), results_tx.clone(), ready_tx.clone());
            let window = engine.window().cloned();
            let worker = move |engine: &Engine<'scope, A, T, E>| {
                let deliver: &Deliver<'_, T, E> = &|batch, credits, capacity| {
                    let batch = ResultBatch::new(batch, credits, capacity, window.clone());
                    // Fails only if the reader is gone, and the batch with it.
                    let _ = results.send(batch);
                };
                // The worker's state is made, used and dropped on its own
                // thread.
                match crate::unwind::catch(|| (task.init)()) {
                    Ok(Ok(mut state)) => {
                        let _ = ready.send(Ok(()));
                        drop(ready);
                        engine.work(index, &mut state, &task.f, &task.policy, deliver);
                        engine.drop_user_value(state);
                    }
                    Ok(Err(error)) => {
                        let _ = ready.send(Err(InitError::Failed {
                            worker: index,
                            error,
                        }));
                    }
                    Err(panic) => {
                        let _ = ready.send(Err(InitError::Panicked {
                            worker: index,
                            panic,
                        }));
                    }
                }
                // Whoever drops the task last runs the destructors of its
                // closures: user code, which must not panic on a pool thread.
                engine.drop_user_value(task);
            };
            started = engine
                .spawn_worker(config, index, worker)
                .map_err(InitError::Start);
            if started.is_err() {
                break;
            }
        }
        drop((results_tx, ready_tx));
        engine.drop_user_value(task);
        if started.is_ok() && waits_for_init {
            // No job comes in before every worker has its state.
            for _ in 0..config.workers {
                match ready_rx.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(failure)) => {
                        started = Err(failure);
                        break;
                    }
                    // Every worker has reported or left.
                    Err(_) => break,
                }
            }
        }
        if let (Ok(()), Some(input)) = (&started, input) {
            started = engine.spawn_feeder(config, input).map_err(InitError::Start);
        }
        match started {
            Ok(()) => {
                engine.launched();
                Ok((engine.clone(), ScopedRun::new(engine, results_rx, done)))
            }
            Err(err) => {
                engine.abort();
                // No thread outlives the failed call.
                let _ = done.recv();
                engine.join_threads();
                Err(err)
            }
        }
    }
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.config.workers)
            .field("queue_capacity", &self.config.queue_capacity)
            .field("results_capacity", &self.config.results_capacity)
            .field("thread_name", &self.config.thread_name)
            .field("stack_size", &self.config.stack_size)
            .field("max_batch", &self.config.max_batch)
            .field("order", &self.order())
            .field("order_window", &self.config.order_window)
            .field("resumable", &self.config.resumable)
            .field("hooks", &self.config.hooks)
            .finish()
    }
}

/// Configures a [`WorkerPool`].
///
/// # Examples
///
/// ```
/// use wpool::WorkerPool;
///
/// let pool = WorkerPool::builder()
///     .workers(8)
///     .queue_capacity(1024)
///     .results_capacity(1024)
///     .thread_name("crawler")
///     .stack_size(256 * 1024)
///     .build()
///     .unwrap();
/// assert_eq!(pool.workers(), 8);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    workers: usize,
    queue_capacity: usize,
    results_capacity: usize,
    thread_name: String,
    stack_size: Option<usize>,
    max_batch: usize,
    order: Order,
    order_window: usize,
    resumable: bool,
    hooks: ThreadHooks,
}

impl Default for Builder {
    /// The same as [`Builder::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Builder;
    ///
    /// let pool = Builder::default().workers(2).build()?;
    /// assert_eq!(pool.workers(), 2);
    /// # Ok::<(), wpool::BuildError>(())
    /// ```
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// Returns a builder with one worker per available CPU,
    /// [`DEFAULT_QUEUE_CAPACITY`], [`DEFAULT_RESULTS_CAPACITY`], threads
    /// named `wpool-0`, `wpool-1`, ..., and the platform's stack size.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Builder;
    ///
    /// let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// assert_eq!(Builder::new().build()?.workers(), cpus);
    /// # Ok::<(), wpool::BuildError>(())
    /// ```
    pub fn new() -> Builder {
        Builder {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            results_capacity: DEFAULT_RESULTS_CAPACITY,
            thread_name: "wpool".to_owned(),
            stack_size: None,
            max_batch: DEFAULT_MAX_BATCH,
            order: Order::Completion,
            order_window: DEFAULT_ORDER_WINDOW,
            resumable: false,
            hooks: ThreadHooks::default(),
        }
    }

    /// Sets the number of worker threads per run.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{BuildError, WorkerPool};
    ///
    /// assert_eq!(WorkerPool::builder().workers(16).build()?.workers(), 16);
    /// assert_eq!(WorkerPool::builder().workers(0).build().unwrap_err(), BuildError::ZeroWorkers);
    /// # Ok::<(), BuildError>(())
    /// ```
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Builder {
        self.workers = workers;
        self
    }

    /// Sets how many submitted jobs may wait in the queue. When it is full,
    /// the feeder and [`Submitter::submit`] wait (back-pressure). A batch
    /// always goes when the queue is empty, so with 0 (or a capacity smaller
    /// than a batch) one batch at a time waits: slow, never stuck. On top of
    /// the queue, each worker holds the rest of the batch it is working
    /// through. Until a first job has finished, and its cost is known, the
    /// feeder queues at most 64 jobs (or two per worker, if that is more).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(2).queue_capacity(0).build()?;
    /// let jobs = (0..20u64).map(|i| Job::new(i, i));
    /// let summary = pool.run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(i))?.wait();
    /// assert_eq!(summary.counts.succeeded, 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn queue_capacity(mut self, jobs: usize) -> Builder {
        self.queue_capacity = jobs;
        self
    }

    /// Sets how many results may wait to be read. When it is full, workers
    /// wait for the reader. As with the queue, a batch always goes when
    /// nothing is waiting, so 0 means one batch at a time. After a cancel,
    /// workers deliver their last results without waiting, so that a
    /// reader that stopped reading never holds them up.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(2).results_capacity(0).build()?;
    /// let jobs = (0..20u64).map(|i| Job::new(i, i));
    /// let run = pool.run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(i))?;
    /// assert_eq!(run.filter_map(|r| r.into_value()).sum::<u64>(), 190);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn results_capacity(mut self, results: usize) -> Builder {
        self.results_capacity = results;
        self
    }

    /// Sets the thread name prefix: workers are `{prefix}-0`, `{prefix}-1`,
    /// ..., and the thread that feeds a batch run its input is
    /// `{prefix}-feeder`. A prefix with a NUL byte makes
    /// [`build`](Builder::build) fail with [`BuildError::NulInThreadName`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(1).thread_name("resizer").build()?;
    /// let run = pool.run(&Context::background(), [Job::new(1u64, ())], |_, ()| {
    ///     Ok::<_, ()>(std::thread::current().name().map(str::to_owned))
    /// })?;
    /// let names: Vec<_> = run.filter_map(|r| r.into_value().flatten()).collect();
    /// assert_eq!(names, ["resizer-0"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// Sets the stack size of the run's threads, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// fn depth(n: u64) -> u64 {
    ///     if n == 0 { 0 } else { 1 + depth(n - 1) }
    /// }
    /// // 64 MiB stacks, for jobs that recurse deeply.
    /// let pool = WorkerPool::builder().workers(1).stack_size(64 << 20).build()?;
    /// let run = pool.run(&Context::background(), [Job::new(1u64, 100_000)], |_, n| Ok::<_, ()>(depth(n)))?;
    /// assert_eq!(run.filter_map(|r| r.into_value()).collect::<Vec<_>>(), [100_000]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Caps how many jobs travel to a worker together, and how many
    /// results travel back together (default [`DEFAULT_MAX_BATCH`]).
    ///
    /// Batches are sized from the measured cost of a job, so that trivial
    /// jobs travel thousands at a time and slow ones alone. When job costs
    /// vary a lot (a few large files among many small ones), a slow job
    /// holds back the results its worker finished before it and has not
    /// sent yet, until a reader has waited 1 ms for them and takes them
    /// itself (the jobs behind it go to idle workers); a reader of the raw
    /// [`Run::results`] channel does not take them, and a small cap bounds
    /// that delay, at the price of more channel traffic. `1` sends every
    /// job and every result on its own; `0` counts as `1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// // Streaming results one by one, as soon as each job ends.
    /// let pool = WorkerPool::builder().workers(2).max_batch(1).build().unwrap();
    /// let run = pool.run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
    /// assert!(run.results().iter().all(|batch| batch.len() == 1));
    /// ```
    #[must_use]
    pub fn max_batch(mut self, jobs: usize) -> Builder {
        self.max_batch = jobs.max(1);
        self
    }

    /// Sets the order in which runs hand out results (default
    /// [`Order::Completion`]). [`WorkerPool::with_order`] changes it for
    /// the runs of one derived pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Order, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(4).order(Order::Input).build()?;
    /// let run = pool.run(&Context::background(), (0..50u32).map(|i| Job::new(i, i)), |_, i: u32| Ok::<_, ()>(i))?;
    /// let values: Vec<u32> = run.filter_map(|r| r.into_value()).collect();
    /// assert_eq!(values, (0..50).collect::<Vec<_>>());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn order(mut self, order: Order) -> Builder {
        self.order = order;
        self
    }

    /// Sets the input-order window (default [`DEFAULT_ORDER_WINDOW`]): in a
    /// run that hands out results in [`Order::Input`], at most this many
    /// jobs are between being taken in and their turn to be handed to the
    /// reader (queued, running, or finished and waiting for an earlier
    /// one); a batch of results whose turn has come is handed out without
    /// holding places. When the
    /// oldest unfinished job holds the window full, the run takes no new
    /// job until it finishes. A window smaller than the number of workers
    /// leaves workers idle; `0` counts as `1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Order, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(2).order(Order::Input).order_window(8).build()?;
    /// let run = pool.run(&Context::background(), (0..100u32).map(|i| Job::new(i, i)), |_, i: u32| Ok::<_, ()>(i))?;
    /// assert_eq!(run.filter_map(|r| r.into_value()).sum::<u32>(), 4950);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn order_window(mut self, jobs: usize) -> Builder {
        self.order_window = jobs.max(1);
        self
    }

    /// Makes batch runs resumable (default `false`): a run that stops
    /// reading its input early (a cancel, a deadline, a shutdown) keeps the
    /// rest of the input and hands it back in
    /// [`Summary::unread_input`](crate::Summary::unread_input), beside the
    /// jobs that came back unstarted. Otherwise the run drops the input as
    /// soon as it stops reading it. [`WorkerPool::resumable`] does the same
    /// for the runs of one derived pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().workers(2).resumable(true).build()?;
    /// let ctx = Context::with_cancel(&Context::background());
    /// ctx.cancel();
    /// let summary = pool.run(&ctx, (0..10u32).map(|i| Job::new(i, i)), |_, i: u32| Ok::<_, ()>(i))?.wait();
    /// assert_eq!(summary.into_remaining().count(), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn resumable(mut self, resumable: bool) -> Builder {
        self.resumable = resumable;
        self
    }

    /// Sets a handler that every worker thread calls with its index when
    /// it starts, before it runs any job (rayon's `start_handler`): to pin
    /// a thread, name it in a profiler, or set up thread-local state. Its
    /// panic is caught, reported by
    /// [`Summary::input_panic`](crate::Summary::input_panic), and the
    /// worker goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = started.clone();
    /// let pool = WorkerPool::builder()
    ///     .workers(3)
    ///     .on_thread_start(move |_index| {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// pool.run(&Context::background(), [Job::new(1, ())], |_, ()| Ok::<_, ()>(()))?.wait();
    /// assert_eq!(started.load(Ordering::SeqCst), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn on_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Builder {
        self.hooks.start = Some(Arc::new(hook));
        self
    }

    /// Sets a handler that every worker thread calls with its index after
    /// its last job, before it exits (rayon's `exit_handler`). Its panic is
    /// caught and reported like [`on_thread_start`](Builder::on_thread_start)'s.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let (exited_tx, exited) = crossbeam_channel::unbounded();
    /// let pool = WorkerPool::builder()
    ///     .workers(2)
    ///     .on_thread_exit(move |index| exited_tx.send(index).unwrap())
    ///     .build()?;
    /// pool.run(&Context::background(), [Job::new(1, ())], |_, ()| Ok::<_, ()>(()))?.wait();
    /// let mut indexes: Vec<usize> = exited.try_iter().collect();
    /// indexes.sort();
    /// assert_eq!(indexes, [0, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn on_thread_exit(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Builder {
        self.hooks.exit = Some(Arc::new(hook));
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroWorkers`] if the pool would have no worker,
    /// [`BuildError::TooManyWorkers`] beyond [`MAX_WORKERS`],
    /// [`BuildError::StackTooLarge`] beyond [`MAX_STACK_SIZE`],
    /// [`BuildError::NulInThreadName`] if the thread name prefix holds a NUL
    /// byte (the threads could not be named).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{BuildError, WorkerPool};
    ///
    /// assert_eq!(WorkerPool::builder().workers(0).build().unwrap_err(), BuildError::ZeroWorkers);
    /// ```
    pub fn build(self) -> Result<WorkerPool, BuildError> {
        if self.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if self.workers > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers {
                requested: self.workers,
                max: MAX_WORKERS,
            });
        }
        if let Some(requested) = self.stack_size.filter(|&size| size > MAX_STACK_SIZE) {
            return Err(BuildError::StackTooLarge {
                requested,
                max: MAX_STACK_SIZE,
            });
        }
        if self.thread_name.contains('\0') {
            return Err(BuildError::NulInThreadName);
        }
        Ok(WorkerPool {
            config: Arc::new(Config {
                workers: self.workers,
                queue_capacity: self.queue_capacity,
                results_capacity: self.results_capacity,
                thread_name: self.thread_name,
                stack_size: self.stack_size,
                max_batch: self.max_batch,
                input_order: self.order == Order::Input,
                order_window: self.order_window,
                resumable: self.resumable,
                hooks: self.hooks,
            }),
        })
    }
}
