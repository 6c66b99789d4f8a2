//! A worker pool on OS threads that hands back one result per job, read like
//! an iterator, and stops on a Go-style [`Context`].
//!
//! It is Go's worker-pool pattern done with Rust's guarantees: a feeder
//! generates jobs, N workers take them from one shared queue (fan-out),
//! every job's result goes to one results channel (fan-in), and a context
//! (cancel, timeout, deadline, parent and child) stops the whole run. The
//! Go original is the `wpool` package (`New`, `Run`, `GenerateFrom`,
//! `Results`, `Done`) walked through in the blog post "go并发-工作池模式"
//! ("Go concurrency: the worker-pool pattern", 2021-07-01, no author named).
//!
//! **Results come in completion order unless you ask for input order**: by
//! default about the order the jobs finish, since each worker hands its
//! results over in small batches (about 1 ms of work each), so a result can
//! arrive after one that finished slightly later on another worker. Every
//! result carries its job's id. [`Order::Input`] hands results out in input
//! order instead, and [`WorkerPool::map`] is the one-line parallel map, in
//! input order; see [Input order and the parallel map](#input-order-and-the-parallel-map).
//!
//! - **Nothing is lost.** Every job submitted yields exactly one
//!   [`JobResult`] (succeeded, failed, cancelled or panicked), or comes back
//!   unstarted in the [`Summary`], ready to be resubmitted.
//! - **Nothing hangs.** Cancellation wakes the feeder, the workers and every
//!   blocked send. Dropping the [`Run`] cancels it and joins its threads,
//!   also when the reader stopped halfway. (Code the pool calls can still
//!   block it: a job that ignores its context, or an input whose `next`
//!   blocks; see [`WorkerPool::run`].)
//! - **Panics stay in their job**: a panic becomes [`Outcome::Panicked`]
//!   with its message, and the worker goes on. (This needs the default
//!   `panic = "unwind"`.)
//! - **Memory is bounded** for any number of jobs: the input is pulled
//!   lazily, and both channels have a capacity counted in jobs, which a
//!   run exceeds by at most a batch per worker.
//!
//! # Hello, world
//!
//! The Go original's demo: 1,000 jobs, job `i` returns `2 * i`.
//!
//! ```
//! use wpool::{Context, Job, WorkerPool};
//!
//! let pool = WorkerPool::new(4)?;
//! let jobs = (0..1000u64).map(|i| Job::new(i, i).with_kind("double"));
//! let run = pool.run(&Context::background(), jobs, |_ctx, i: u64| Ok::<u64, String>(2 * i))?;
//! for result in run {
//!     let i = result.id().as_u64().unwrap();
//!     assert_eq!(result.value(), Some(&(2 * i)));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Jobs
//!
//! A [`Job`] is a [`JobDescriptor`] (id, kind tag, metadata; returned with
//! the result) and the arguments of the run's job function. The function is
//! given once per run and shared, so a job costs no allocation for it; the
//! function returns `Result<T, E>` with your own `T` and `E`. Where every
//! job needs its own code, [`Job::from_fn`] boxes a closure per job for
//! [`WorkerPool::run_boxed`].
//!
//! # Configuring the pool
//!
//! [`WorkerPool::builder`] sets the number of workers, the capacities of the
//! job queue and the results channel (in jobs), the thread names and stack
//! size. A bad configuration is an error value, never a panic:
//!
//! ```
//! use wpool::{BuildError, WorkerPool};
//!
//! let pool = WorkerPool::builder().workers(8).queue_capacity(4096).thread_name("fetch").build()?;
//! assert_eq!(pool.workers(), 8);
//! assert_eq!(WorkerPool::new(0).unwrap_err(), BuildError::ZeroWorkers);
//! # Ok::<(), BuildError>(())
//! ```
//!
//! # Reading results
//!
//! [`Run`] is an [`Iterator`] that blocks for the next result and ends after
//! the last one. [`Run::try_next`] and [`Run::next_timeout`] don't block, or
//! not for long, and [`Run::results`] is the raw channel, for
//! [`crossbeam_channel::select!`][select]. [`Run::counts`] reads live
//! counters for a progress bar, and [`Run::wait`] returns the final
//! [`Summary`].
//!
//! [select]: https://docs.rs/crossbeam-channel/0.5/crossbeam_channel/macro.select.html
//!
//! ```
//! use std::time::Duration;
//! use wpool::{Context, Job, WorkerPool};
//!
//! let pool = WorkerPool::new(2)?;
//! let mut run = pool.run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| {
//!     if i == 3 { Err(format!("job {i} failed")) } else { Ok(i) }
//! })?;
//! let first = run.next_timeout(Duration::from_secs(5))?;
//! assert!(first.id().as_u64().is_some());
//! let failures = (&mut run).filter(|r| r.outcome().is_failed()).count();
//! let summary = run.wait();
//! assert_eq!(summary.counts.failed, 1);
//! assert!(failures <= 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cancelling, timeouts and deadlines
//!
//! Every run gets its own child of the context it was started with, and
//! hands it to each job. Cancelling the parent, a deadline passing, or
//! [`Run::cancel`] stops the run: running jobs see the context ended (a
//! job that returns `Err` then counts as [`Outcome::Cancelled`]), and jobs
//! not yet started come back in [`Summary::unstarted`].
//!
//! ```
//! use std::time::Duration;
//! use wpool::{Context, ContextError, Job, WorkerPool};
//!
//! let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(20));
//! let pool = WorkerPool::new(2)?;
//! let jobs = (0..100u64).map(|i| Job::new(i, i));
//! // Each job takes 10 ms unless the context ends first.
//! let run = pool.run(&ctx, jobs, |ctx, _| ctx.sleep(Duration::from_millis(10)))?;
//! let summary = run.wait();
//! assert_eq!(summary.cancelled_by, Some(ContextError::DeadlineExceeded));
//! assert!(summary.unstarted.len() > 50);
//! assert_eq!(summary.counts.finished() + summary.counts.unstarted, summary.counts.submitted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Submitting from many threads
//!
//! [`WorkerPool::start`] returns a [`Submitter`] with `submit` (waits while
//! the queue is full), `try_submit` and `submit_timeout`; each gives the job
//! back when it fails. The run ends once every submitter is dropped and the
//! queue is drained.
//!
//! ```
//! use wpool::{Context, Job, WorkerPool};
//!
//! let pool = WorkerPool::new(2)?;
//! let (submitter, run) = pool.start(&Context::background(), |_, line: String| Ok::<_, ()>(line.len()))?;
//! std::thread::spawn(move || {
//!     for (i, line) in ["a", "bb", "ccc"].into_iter().enumerate() {
//!         submitter.submit(Job::new(i, line.to_string())).unwrap();
//!     }
//! });
//! let total: usize = run.filter_map(|r| r.into_value()).sum();
//! assert_eq!(total, 6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Input order and the parallel map
//!
//! [`WorkerPool::map`] applies a plain function to every item of any
//! iterator (an endless one too) and yields the outputs in input order,
//! each `Ok(output)` or `Err(`[`JobPanic`]`)`; [`WorkerPool::map_unordered`]
//! yields them as they are done, and [`ScopedMap::indexed`] adds each
//! item's place. For jobs with ids and a context, a pool derived with
//! [`WorkerPool::with_order`] runs them in [`Order::Input`]. Either way, at
//! most [`order_window`](Builder::order_window) jobs are between being
//! taken in and their turn to be handed out, so a slow job holds back a
//! bounded number of results, not the whole input.
//!
//! ```
//! use wpool::{Context, Job, Order, WorkerPool};
//!
//! let pool = WorkerPool::new(4)?;
//! let lengths: Vec<usize> = pool.map(&Context::background(), ["a", "bb", "ccc"], str::len)?.collect::<Result<_, _>>()?;
//! assert_eq!(lengths, [1, 2, 3]);
//!
//! let ordered = pool.with_order(Order::Input);
//! let run = ordered.run(&Context::background(), (0..100u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
//! let ids: Vec<u64> = run.map(|r| r.id().as_u64().unwrap()).collect();
//! assert_eq!(ids, (0..100).collect::<Vec<_>>());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Stopping from inside the loop, and resuming
//!
//! A `for result in &mut run` loop borrows the run; [`Run::handle`] gives a
//! [`RunHandle`] to cancel it or read its counters from inside the loop.
//! A pool made [`resumable`](WorkerPool::resumable) keeps what a stopped
//! run never read of its input: [`Summary::into_remaining`] chains the
//! unstarted jobs and that [`UnreadInput`], to resume with nothing missing
//! and nothing repeated.
//!
//! ```
//! use wpool::{Context, Job, WorkerPool};
//!
//! let pool = WorkerPool::new(2)?.resumable();
//! let mut run = pool.run(&Context::background(), (0..1_000u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
//! let handle = run.handle();
//! let mut done = 0;
//! for _ in &mut run {
//!     done += 1;
//!     if done == 100 {
//!         handle.cancel();
//!     }
//! }
//! let rest = run.wait().into_remaining();
//! let resumed = pool.run(&Context::background(), rest, |_, i: u64| Ok::<_, ()>(i))?;
//! assert_eq!(done + resumed.count(), 1_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Policies: fail-fast, timeouts, retries, rates, per-worker state
//!
//! [`WorkerPool::run_builder`] starts a run with opt-in policies that
//! compose freely: [`fail_fast`](RunBuilder::fail_fast) (cancel at the
//! first failure, which keeps its own outcome and is named in
//! [`Summary::tripped_by`]), [`job_timeout`](RunBuilder::job_timeout) (each
//! job its own deadline, [`Outcome::TimedOut`]), [`retry`](RunBuilder::retry)
//! (a [`Retry`] with back-off and jitter; jobs wait it out in the run, not
//! on a worker), [`start_rate`](RunBuilder::start_rate) (at most N starts a
//! second) and [`worker_state`](RunBuilder::worker_state) (a value made once
//! per worker thread and lent to each of its jobs). [`Builder`] adds thread
//! hooks: [`on_thread_start`](Builder::on_thread_start) and
//! [`on_thread_exit`](Builder::on_thread_exit).
//!
//! ```
//! use std::time::Duration;
//! use wpool::{Context, Job, Retry, WorkerPool};
//!
//! let pool = WorkerPool::new(4)?;
//! let run = pool
//!     .run_builder()
//!     .fail_fast()
//!     .job_timeout(Duration::from_secs(2))
//!     .retry(Retry::attempts(3).exponential(Duration::from_millis(1), Duration::from_millis(50)))
//!     .start_rate(1_000, 10)
//!     .worker_state(|| Ok::<_, String>(Vec::<u8>::with_capacity(4096)))
//!     .run(&Context::background(), (0..20u32).map(|i| Job::new(i, i)), |scratch, ctx, i| {
//!         ctx.check().map_err(|e| e.to_string())?;
//!         scratch.clear();
//!         scratch.resize(i as usize, 0);
//!         Ok::<_, String>(scratch.len())
//!     })?;
//! let summary = run.wait();
//! assert_eq!(summary.counts.succeeded, 20);
//! assert_eq!(summary.tripped_by, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Borrowing from the stack
//!
//! [`WorkerPool::scope`] is [`std::thread::scope`] for runs: inside it,
//! [`Scope::run`] starts a run whose input, job function and results may
//! borrow local data, and every run is joined before the scope returns.
//!
//! ```
//! use wpool::{Context, Job, WorkerPool};
//!
//! let pool = WorkerPool::new(2)?;
//! let words = vec!["one".to_string(), "three".to_string()];
//! let total: usize = pool.scope(|s| {
//!     let jobs = words.iter().enumerate().map(|(i, w)| Job::new(i, w));
//!     let run = s.run(&Context::background(), jobs, |_, w| Ok::<_, ()>(w.len()))?;
//!     Ok::<_, wpool::StartError>(run.filter_map(|r| r.into_value()).sum())
//! })?;
//! assert_eq!(total, 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Shutdown and drop
//!
//! [`Run::shutdown`] is graceful (stop taking jobs, finish queued ones);
//! [`Run::cancel`] is immediate. [`Run::done`] is a channel that closes only
//! after every worker has been joined, so a reader that sees it can drain
//! the remaining results without blocking. Dropping a `Run` cancels it and
//! joins its threads:
//!
//! ```
//! use wpool::{Context, Job, WorkerPool};
//!
//! let pool = WorkerPool::new(4)?;
//! let endless = (0u64..).map(|i| Job::new(i, i));
//! let run = pool.run(&Context::background(), endless, |_, i: u64| Ok::<_, ()>(i))?;
//! let first_three: Vec<_> = run.take(3).collect(); // drops the run: cancel and join
//! assert_eq!(first_three.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Panics in jobs
//!
//! ```
//! use wpool::{Context, Job, Outcome, WorkerPool};
//!
//! let pool = WorkerPool::new(2)?;
//! let run = pool.run(&Context::background(), (0..10u32).map(|i| Job::new(i, i)), |_, i: u32| {
//!     assert!(i != 7, "seven is unlucky");
//!     Ok::<_, ()>(i)
//! })?;
//! let panics: Vec<String> = run
//!     .filter_map(|r| match r.into_outcome() {
//!         Outcome::Panicked(panic) => Some(panic.message().to_owned()),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(panics, ["seven is unlucky"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! (The panic is still reported by the default panic hook on stderr; install
//! your own hook with [`std::panic::set_hook`] to silence it.)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The public face: the pool, a run and its results, submitting, contexts.
mod batch;
mod context;
mod handle;
mod map;
mod policy;
mod pool;
mod run;
mod scope;
mod submit;
mod unread;

// The machinery behind a run, which the face only calls into.
mod engine;

// Plain data types and helpers, below both.
mod counts;
mod error;
mod job;
mod outcome;
mod timer;
mod unwind;

/// The channel crate whose `Receiver`s [`Context::done`], [`Run::results`]
/// and [`Run::done`] return, re-exported so that `select!` and the types
/// always match the version this crate uses.
pub use crossbeam_channel;

pub use crate::batch::ResultBatch;
pub use crate::context::Context;
pub use crate::counts::Counts;
pub use crate::error::{
    BuildError, ContextError, InitError, NextTimeoutError, StartError, SubmitError,
    SubmitTimeoutError, TryNextError, TrySubmitError,
};
pub use crate::handle::RunHandle;
pub use crate::job::{Job, JobDescriptor, JobFn, JobId, Metadata};
pub use crate::map::{Map, MapIndexed, ScopedMap};
pub use crate::outcome::{JobFailure, JobPanic, JobResult, Outcome};
pub use crate::policy::{NoState, Retry, RunBuilder};
pub use crate::pool::{
    Builder, DEFAULT_MAX_BATCH, DEFAULT_ORDER_WINDOW, DEFAULT_QUEUE_CAPACITY,
    DEFAULT_RESULTS_CAPACITY, MAX_STACK_SIZE, MAX_WORKERS, Order, WorkerPool,
};
pub use crate::run::{Run, ScopedRun, Summary};
pub use crate::scope::Scope;
pub use crate::submit::Submitter;
pub use crate::unread::UnreadInput;

/// The README's examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
