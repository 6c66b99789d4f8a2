//! wpool against its peers: a sequential loop, a hand-written crossbeam
//! pool, the `threadpool` crate and rayon, on the same workloads, printed as
//! one markdown table.
//!
//! From the repository's root (the `wpool-bench` package's default binary):
//!
//! ```text
//! cargo run --release -p wpool-bench              # about two minutes on 2 cores
//! cargo run --release -p wpool-bench -- --quick   # a few seconds
//! cargo run --release -p wpool-bench -- --svg docs/peers.svg
//! cargo run --release -p wpool-bench -- --rounds 5   # steadier medians, ~2.5 minutes
//! cargo run --release -p wpool-bench -- --only W1,W2,W5   # those workloads only
//! cargo run --release -p wpool-bench -- --only W1,wpool_submit_8   # one contender
//! ```
//!
//! `--only LIST` keeps the workloads (`W1`, …, `C1`) and the contenders
//! (their criterion ids: `threadpool`, `wpool_submit`, `wpool_submit_8`, …)
//! in the comma-separated list; naming no workload keeps them all, naming
//! no contender keeps them all. The cases a kept case's ratios compare it
//! with are kept too.
//!
//! `--svg PATH` also draws the table's throughput figures (W1–W5) as an SVG
//! bar chart, jobs/s on a log scale, one panel per workload (the code is in
//! `chart.rs`, beside this file). It combines with `--quick`; a relative
//! `PATH` is from the directory cargo was run in.
//!
//! The workloads (job `i` returns a value made from `i`, and every
//! contender's results are summed and checked, so none can skip work):
//!
//! - W1: trivial jobs, job `i` returns `2 * i`.
//! - W2: jobs of about 1 µs of integer arithmetic, W3: of about 50 µs (the
//!   number of rounds is calibrated at startup against the sequential loop).
//!   W1 and W2 also submit from 8 threads at once, to wpool (clones of one
//!   `Submitter`) and to `threadpool` (clones of the pool), each thread
//!   with an eighth of the jobs; those rows compare with each other.
//!   W1 and W2 also run wpool's `run` on a pool with `Order::Input`
//!   (results in input order), `map` (input order) and `map_unordered`,
//!   each compared with wpool's `run` in completion order.
//! - W2s: W2's jobs, except that one in 1,000 (job `i` with `i` a multiple
//!   of 1,000) takes 1,000 times as long, about 1 ms: what a slow job costs
//!   results in input order, whose window holds the jobs finished behind
//!   it. wpool's `run` in both orders and `map`, beside the sequential loop
//!   and rayon's `par_iter` (which also keeps input order).
//! - W4: jobs that each sleep 1 ms, with 8 and 64 workers, beside the ideal
//!   wall time and a channel-free floor (fresh threads taking job numbers
//!   from one atomic counter).
//! - W5: many runs of 16 trivial jobs: what starting and joining a run costs.
//! - L1: one job submitted into an idle pool, time to its result (after 25
//!   untimed tries per worker, so that new threads are not what it
//!   measures).
//! - C1: `cancel` then `wait` on a run that cannot move: an endless input
//!   of trivial jobs, nobody reading results, every worker waiting for room
//!   in the full results channel and the feeder for room in the full queue.
//!   Each try checks that the run stopped at once and that every job is
//!   accounted for.
//!
//! Every round runs every case once, in turn, and the table reports the
//! median of the rounds, so that a slow spell of a shared machine hits all
//! contenders alike. The `peers` criterion bench (`benches/peers.rs` in this
//! package) includes this file as a module and runs the same cases.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use crossbeam_channel::{Receiver, Sender, unbounded};
use rayon::prelude::*;
use wpool::{Context, ContextError, Counts, Job, JobFn, Map, Order, Run, WorkerPool};

use wpool_bench::hand_pool::hand_pool;

mod chart;

/// What a job does with its number `i`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Work {
    /// Returns `2 * i`.
    Double,
    /// This many rounds of an xorshift-multiply mix seeded by `i`.
    Mix(u32),
    /// As `Mix`, except that one job in [`SLOW_EVERY`] (those whose `i` is
    /// a multiple of it) has [`SLOW_FACTOR`] times as many rounds.
    Skewed(u32),
    /// Sleeps this long, then returns `2 * i`.
    Sleep(Duration),
}

impl Work {
    /// Job `i`.
    #[inline]
    pub(crate) fn call(self, i: u64) -> u64 {
        match self {
            Work::Double => black_box(2 * i),
            Work::Mix(rounds) => black_box(mix(i, rounds)),
            Work::Skewed(rounds) => black_box(mix(i, skewed(i, rounds))),
            Work::Sleep(time) => {
                thread::sleep(time);
                2 * i
            }
        }
    }

    /// The sum of jobs `0..n`'s results, which every contender must match.
    fn checksum(self, n: u64) -> u64 {
        match self {
            Work::Mix(rounds) => sum((0..n).map(|i| mix(i, rounds))),
            Work::Skewed(rounds) => sum((0..n).map(|i| mix(i, skewed(i, rounds)))),
            Work::Double | Work::Sleep(_) => n.wrapping_mul(n.wrapping_sub(1)),
        }
    }
}

/// One job in this many is slow in [`Work::Skewed`]...
pub(crate) const SLOW_EVERY: u64 = 1_000;
/// ... and takes this many times as long as the others.
pub(crate) const SLOW_FACTOR: u32 = 1_000;

/// Job `i`'s rounds of [`mix`] in [`Work::Skewed`] with `rounds` a job.
fn skewed(i: u64, rounds: u32) -> u32 {
    if i.is_multiple_of(SLOW_EVERY) {
        rounds.saturating_mul(SLOW_FACTOR)
    } else {
        rounds
    }
}

/// `rounds` rounds of xorshift64 and a multiply, a dependent chain the
/// compiler can neither shorten nor vectorise.
fn mix(seed: u64, rounds: u32) -> u64 {
    let mut x = seed | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    }
    x
}

/// The rounds of [`mix`] that make the sequential loop take `target` a
/// job: a first guess from one long job, corrected by timing the loop.
fn calibrate(target: Duration) -> u32 {
    const PROBE: u32 = 1 << 20;
    let fastest = |jobs: u64, rounds: u32| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                black_box(Work::Mix(rounds).checksum(jobs));
                start.elapsed() / jobs as u32
            })
            .min()
            .unwrap()
    };
    let guess = rounds_for(target, fastest(1, PROBE), PROBE);
    // About 20 ms of jobs of the guessed size.
    let jobs = (20_000 / target.as_micros().max(1)).max(1) as u64;
    rounds_for(target, fastest(jobs, guess), guess)
}

/// The rounds that take `target`, if `rounds` took `took`.
fn rounds_for(target: Duration, took: Duration, rounds: u32) -> u32 {
    let scaled = f64::from(rounds) * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
    scaled.round().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// The producer threads of the contenders that submit from many.
const SUBMITTERS: u64 = 8;

/// Jobs `0..n` in [`SUBMITTERS`] contiguous shares whose sizes differ by
/// at most one.
fn shares(n: u64) -> impl Iterator<Item = std::ops::Range<u64>> {
    (0..SUBMITTERS).map(move |k| k * n / SUBMITTERS..(k + 1) * n / SUBMITTERS)
}

fn sum(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(0, u64::wrapping_add)
}

/// Reads every result of a wpool run and sums the values.
fn sum_run<A>(run: Run<A, u64, ()>) -> u64 {
    sum(run.map(|result| result.into_value().expect("every job succeeds")))
}

/// Reads every output of a wpool map and sums them.
fn sum_map<X>(map: Map<X, u64>) -> u64 {
    sum(map.map(|output| output.expect("no job panics")))
}

/// Jobs `0..n` doing `work`, as a batch run with one shared function on
/// `pool` (whose order is the run's), summed.
fn sum_batch_run(pool: &WorkerPool, work: Work, n: u64) -> u64 {
    let jobs = (0..n).map(|i| Job::new(i, i));
    sum_run(
        pool.run(&Context::background(), jobs, move |_, i| Ok(work.call(i)))
            .unwrap(),
    )
}

/// A way to get jobs done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contender {
    /// A plain loop on the calling thread.
    Sequential,
    /// The Go seed's design by hand (the shape of the `throughput` bench):
    /// a feeder thread, a boxed closure per job, one message per job and
    /// per result, channels of `workers`, threads started per run.
    SeedPool,
    /// The `threadpool` crate, the pool built once: `execute` per job from
    /// the calling thread, then the results read from a channel (the
    /// pattern of its documentation).
    Threadpool,
    /// rayon's `ThreadPool::spawn` per job, as `Threadpool`.
    RayonSpawn,
    /// rayon's `par_iter().map().collect()` on a dedicated pool.
    RayonParIter,
    /// wpool, a batch from an iterator with one shared function (in C1,
    /// an endless one), results in completion order.
    WpoolRun,
    /// `WpoolRun` on a pool with `Order::Input`: results in input order.
    WpoolRunInput,
    /// wpool's parallel map, `map` (input order) over the job numbers.
    WpoolMap,
    /// `WpoolMap` with `map_unordered` (completion order).
    WpoolMapUnordered,
    /// `WpoolRun` from `run_builder().worker_state(..)`: each worker
    /// counts its jobs in a state of its own.
    WpoolRunState,
    /// wpool, a batch of boxed per-job closures.
    WpoolBoxed,
    /// wpool, continuous submission from one producer thread.
    WpoolSubmit,
    /// wpool, continuous submission from [`SUBMITTERS`] producer threads,
    /// each with a clone of the `Submitter` and an equal share of the jobs.
    WpoolSubmitMany,
    /// `Threadpool` with `execute` from [`SUBMITTERS`] threads, each with a
    /// clone of the pool and an equal share of the jobs: `WpoolSubmitMany`'s
    /// like-for-like peer.
    ThreadpoolMany,
    /// W4's floor: fresh threads taking job numbers from an atomic counter.
    AtomicFloor,
    /// L1's baseline: long-lived workers, one crossbeam message per job and
    /// per result.
    MessagePool,
    /// L1: a new wpool run for every job.
    WpoolFresh,
}

use Contender::*;

impl Contender {
    /// Every contender, for `--only`.
    const ALL: [Contender; 17] = [
        Sequential,
        SeedPool,
        Threadpool,
        ThreadpoolMany,
        RayonSpawn,
        RayonParIter,
        WpoolRun,
        WpoolRunInput,
        WpoolMap,
        WpoolMapUnordered,
        WpoolRunState,
        WpoolBoxed,
        WpoolSubmit,
        WpoolSubmitMany,
        AtomicFloor,
        MessagePool,
        WpoolFresh,
    ];

    /// The pools that run every workload.
    pub(crate) const POOLS: [Contender; 7] = [
        SeedPool,
        Threadpool,
        RayonSpawn,
        RayonParIter,
        WpoolRun,
        WpoolBoxed,
        WpoolSubmit,
    ];

    /// W1's and W2's: the pools, wpool's input order, maps and worker
    /// state, then submission from many threads.
    pub(crate) const W1_AND_W2: [Contender; 13] = [
        SeedPool,
        Threadpool,
        RayonSpawn,
        RayonParIter,
        WpoolRun,
        WpoolRunInput,
        WpoolMap,
        WpoolMapUnordered,
        WpoolRunState,
        WpoolBoxed,
        WpoolSubmit,
        ThreadpoolMany,
        WpoolSubmitMany,
    ];

    /// W2s's: rayon's ordered map, and wpool's batch run in both orders
    /// and its map.
    pub(crate) const SLOW_ONES: [Contender; 4] = [RayonParIter, WpoolRun, WpoolRunInput, WpoolMap];

    /// The name in the table.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Sequential => "sequential loop",
            SeedPool => "crossbeam pool, seed sizing (`bounded(workers)`)",
            Threadpool => "`threadpool`, `execute` per job",
            RayonSpawn => "rayon `spawn` per job",
            RayonParIter => "rayon `par_iter().map().collect()`",
            WpoolRun => "**wpool `run`** (shared function)",
            WpoolRunInput => "**wpool `run`** (shared function, input order)",
            WpoolMap => "**wpool `map`** (input order)",
            WpoolMapUnordered => "**wpool `map_unordered`**",
            WpoolRunState => "**wpool `run`** (shared function, `worker_state`)",
            WpoolBoxed => "**wpool `run_boxed`** (`Job::from_fn`)",
            WpoolSubmit => "**wpool `start` + `submit`**",
            WpoolSubmitMany => "**wpool `start` + `submit`**, 8 submitting threads",
            ThreadpoolMany => "`threadpool`, `execute` per job, 8 submitting threads",
            AtomicFloor => "fresh threads + `AtomicU64` (floor)",
            MessagePool => "crossbeam pool, 1 message per job",
            WpoolFresh => "**wpool `start` + `submit` + `next`**, new run per job",
        }
    }

    /// The name in criterion's reports.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Sequential => "sequential",
            SeedPool => "seed_pool",
            Threadpool => "threadpool",
            RayonSpawn => "rayon_spawn",
            RayonParIter => "rayon_par_iter",
            WpoolRun => "wpool_run",
            WpoolRunInput => "wpool_run_input",
            WpoolMap => "wpool_map",
            WpoolMapUnordered => "wpool_map_unordered",
            WpoolRunState => "wpool_run_state",
            WpoolBoxed => "wpool_run_boxed",
            WpoolSubmit => "wpool_submit",
            WpoolSubmitMany => "wpool_submit_8",
            ThreadpoolMany => "threadpool_8",
            AtomicFloor => "atomic_floor",
            MessagePool => "message_pool",
            WpoolFresh => "wpool_fresh_run",
        }
    }

    /// Whether this is wpool, for the chart's colours.
    fn is_wpool(self) -> bool {
        matches!(
            self,
            WpoolRun
                | WpoolRunInput
                | WpoolMap
                | WpoolMapUnordered
                | WpoolRunState
                | WpoolBoxed
                | WpoolSubmit
                | WpoolSubmitMany
                | WpoolFresh
        )
    }

    /// The contender whose ratio goes beside this one's where a workload
    /// has both: the same shape from another crate, or for wpool's input
    /// order and maps, its batch run in completion order.
    fn peer(self) -> Option<Contender> {
        match self {
            WpoolSubmit => Some(Threadpool),
            WpoolSubmitMany => Some(ThreadpoolMany),
            WpoolRunInput | WpoolMap | WpoolMapUnordered | WpoolRunState => Some(WpoolRun),
            _ => None,
        }
    }

    /// Whether every job and every result is a message of its own: slow on
    /// trivial jobs, so W1 gives these fewer jobs.
    fn one_message_per_job(self) -> bool {
        matches!(
            self,
            SeedPool | Threadpool | ThreadpoolMany | RayonSpawn | WpoolSubmit | WpoolSubmitMany
        )
    }

    /// Runs jobs `0..n` doing `work` and returns the sum of their results.
    pub(crate) fn batch(self, pools: &Pools, work: Work, n: u64) -> u64 {
        let workers = pools.workers;
        let ctx = Context::background();
        match self {
            Sequential => sum((0..n).map(|i| work.call(i))),
            SeedPool => hand_pool(move |i| work.call(i), n, workers, workers),
            Threadpool => {
                let (tx, rx) = unbounded();
                for i in 0..n {
                    let tx = tx.clone();
                    pools
                        .threadpool
                        .execute(move || tx.send(work.call(i)).unwrap());
                }
                drop(tx);
                sum(rx)
            }
            ThreadpoolMany => {
                let (tx, rx) = unbounded();
                let producers: Vec<_> = shares(n)
                    .map(|share| {
                        let (pool, tx) = (pools.threadpool.clone(), tx.clone());
                        thread::spawn(move || {
                            for i in share {
                                let tx = tx.clone();
                                pool.execute(move || tx.send(work.call(i)).unwrap());
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let total = sum(rx);
                producers.into_iter().for_each(|p| p.join().unwrap());
                total
            }
            RayonSpawn => {
                let (tx, rx) = unbounded();
                for i in 0..n {
                    let tx = tx.clone();
                    pools.rayon.spawn(move || tx.send(work.call(i)).unwrap());
                }
                drop(tx);
                sum(rx)
            }
            RayonParIter => {
                let results: Vec<u64> = pools
                    .rayon
                    .install(|| (0..n).into_par_iter().map(|i| work.call(i)).collect());
                sum(results)
            }
            WpoolRun => sum_batch_run(&pools.wpool, work, n),
            WpoolRunInput => sum_batch_run(&pools.wpool_input, work, n),
            WpoolMap => sum_map(pools.wpool.map(&ctx, 0..n, move |i| work.call(i)).unwrap()),
            WpoolMapUnordered => sum_map(
                pools
                    .wpool
                    .map_unordered(&ctx, 0..n, move |i| work.call(i))
                    .unwrap(),
            ),
            WpoolRunState => {
                let jobs = (0..n).map(|i| Job::new(i, i));
                let run = pools
                    .wpool
                    .run_builder()
                    .worker_state(|| Ok::<u64, Infallible>(0))
                    .run(&ctx, jobs, move |count: &mut u64, _, i| {
                        *count += 1;
                        Ok(work.call(i))
                    })
                    .unwrap();
                sum_run(run)
            }
            WpoolBoxed => {
                let jobs = (0..n).map(move |i| -> Job<JobFn<u64, ()>> {
                    Job::from_fn(i, move |_| Ok(work.call(i)))
                });
                sum_run(pools.wpool.run_boxed(&ctx, jobs).unwrap())
            }
            WpoolSubmit => {
                let (submitter, run) = pools
                    .wpool
                    .start(&ctx, move |_, i| Ok(work.call(i)))
                    .unwrap();
                let producer = thread::spawn(move || {
                    for i in 0..n {
                        submitter.submit(Job::new(i, i)).unwrap();
                    }
                });
                let total = sum_run(run);
                producer.join().unwrap();
                total
            }
            WpoolSubmitMany => {
                let (submitter, run) = pools
                    .wpool
                    .start(&ctx, move |_, i| Ok(work.call(i)))
                    .unwrap();
                let producers: Vec<_> = shares(n)
                    .map(|share| {
                        let submitter = submitter.clone();
                        thread::spawn(move || {
                            for i in share {
                                submitter.submit(Job::new(i, i)).unwrap();
                            }
                        })
                    })
                    .collect();
                // The run ends when the producers' clones are gone.
                drop(submitter);
                let total = sum_run(run);
                producers.into_iter().for_each(|p| p.join().unwrap());
                total
            }
            AtomicFloor => {
                let next = AtomicU64::new(0);
                let take = || {
                    let mut total = 0u64;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return total;
                        }
                        total = total.wrapping_add(work.call(i));
                    }
                };
                thread::scope(|s| {
                    let threads: Vec<_> = (0..workers).map(|_| s.spawn(take)).collect();
                    sum(threads.into_iter().map(|t| t.join().unwrap()))
                })
            }
            MessagePool | WpoolFresh => panic!("{self:?} only measures latency"),
        }
    }

    /// Submits `tries` single jobs (job `i` returns `2 * i`) to an idle
    /// pool, `gap` apart, and returns the time each took to its result.
    pub(crate) fn latencies(self, pools: &Pools, tries: u64, gap: Duration) -> Vec<Duration> {
        let ctx = Context::background();
        let double = |_: &Context, i: u64| Ok::<_, ()>(2 * i);
        // The first jobs a thread runs after it starts are slow on this
        // machine (tens of microseconds, whatever the pool), and a `start`
        // run has new threads while the message pool's are old: both get
        // the same untimed warm-up, so that L1 measures idle pools, not new
        // threads. The jobs go round the workers, so the warm-up grows with
        // them. A new run per job is `WpoolFresh`'s row.
        let warm_up = L1_WARM_UP * pools.workers as u64;
        match self {
            MessagePool => (0..warm_up + tries)
                .map(|i| probe(gap, i, || pools.messages.call(i)))
                .skip(warm_up as usize)
                .collect(),
            WpoolSubmit => {
                let (submitter, mut run) = pools.wpool.start(&ctx, double).unwrap();
                let times = (0..warm_up + tries)
                    .map(|i| {
                        probe(gap, i, || {
                            submitter.submit(Job::new(i, i)).unwrap();
                            run.next().and_then(|r| r.into_value()).unwrap()
                        })
                    })
                    .skip(warm_up as usize)
                    .collect();
                drop(submitter);
                run.wait();
                times
            }
            WpoolFresh => (0..tries)
                .map(|i| {
                    let mut started = None;
                    let time = probe(gap, i, || {
                        let (submitter, mut run) = pools.wpool.start(&ctx, double).unwrap();
                        submitter.submit(Job::new(i, i)).unwrap();
                        let value = run.next().and_then(|r| r.into_value()).unwrap();
                        started = Some((submitter, run));
                        value
                    });
                    // Ending the run is not part of the latency.
                    let (submitter, run) = started.unwrap();
                    drop(submitter);
                    run.wait();
                    time
                })
                .collect(),
            _ => panic!("no latency probe for {self:?}"),
        }
    }

    /// C1: starts `tries` runs of `pools.workers` workers over an endless
    /// input of trivial jobs, with room for `results` results and `queue`
    /// queued jobs, and reads no result. Once every thread of a run waits
    /// for room, times `cancel` and `wait`, and checks the summary.
    pub(crate) fn cancellations(
        self,
        pools: &Pools,
        tries: u64,
        results: usize,
        queue: usize,
    ) -> Vec<Duration> {
        assert_eq!(self, WpoolRun, "no cancellation probe for {self:?}");
        let workers = pools.workers;
        // One job and one result per message, so that the counts show when
        // the run is stuck (see `blocked`).
        let pool = WorkerPool::builder()
            .workers(workers)
            .results_capacity(results)
            .queue_capacity(queue)
            .max_batch(1)
            .build()
            .unwrap();
        let ctx = Context::background();
        (0..tries)
            .map(|_| {
                let endless = (0u64..).map(|i| Job::new(i, i));
                let run = pool
                    .run(&ctx, endless, |_, i| Ok::<_, ()>(Work::Double.call(i)))
                    .unwrap();
                let stuck = blocked(&run, results, workers, queue);
                let start = Instant::now();
                run.cancel();
                let summary = run.wait();
                let time = start.elapsed();
                let counts = summary.counts;
                assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
                assert_eq!(
                    counts.finished() + counts.unstarted,
                    counts.submitted,
                    "a job went missing: {summary:?}"
                );
                assert_eq!(counts.unstarted, summary.unstarted.len() as u64);
                assert_eq!(
                    counts.finished(),
                    stuck.finished(),
                    "a job ran after the run was stuck: {summary:?}"
                );
                assert_eq!(counts.succeeded, summary.discarded, "{summary:?}");
                assert!(counts.unstarted >= queue as u64, "{summary:?}");
                time
            })
            .collect()
    }
}

/// Waits until `run`, whose results nobody reads, can make no progress,
/// and returns its counts then; panics after 10 s.
///
/// With batches of one, at most `results` results are in the channel and
/// each worker holds at most one more, that it is waiting to deliver: so
/// once `results + workers` jobs have finished, every worker waits for
/// room. Once `queue` jobs are queued, the queue is full and the feeder
/// waits for room too (at worst after queueing the job in its hands).
fn blocked<A, T, E>(run: &Run<A, T, E>, results: usize, workers: usize, queue: usize) -> Counts {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = run.counts();
        if counts.finished() >= (results + workers) as u64 && counts.queued >= queue as u64 {
            return counts;
        }
        assert!(
            Instant::now() < deadline,
            "the run never blocked: {counts:?}"
        );
        thread::yield_now();
    }
}

/// Untimed tries before L1's timed ones, per worker.
const L1_WARM_UP: u64 = 25;

/// Lets the pool go idle for `gap`, then times `job`, which must return
/// `2 * i`.
fn probe(gap: Duration, i: u64, job: impl FnOnce() -> u64) -> Duration {
    thread::sleep(gap);
    let start = Instant::now();
    let value = job();
    let time = start.elapsed();
    assert_eq!(value, 2 * i, "wrong result");
    time
}

/// L1's baseline: long-lived workers, one message per job and per result.
pub(crate) struct MessageWorkers {
    jobs: Option<Sender<u64>>,
    results: Receiver<u64>,
    threads: Vec<JoinHandle<()>>,
}

impl MessageWorkers {
    fn new(workers: usize) -> MessageWorkers {
        let (jobs, jobs_rx) = unbounded::<u64>();
        let (results_tx, results) = unbounded();
        let threads = (0..workers)
            .map(|_| {
                let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
                thread::spawn(move || {
                    for i in jobs_rx {
                        results_tx.send(2 * i).unwrap();
                    }
                })
            })
            .collect();
        MessageWorkers {
            jobs: Some(jobs),
            results,
            threads,
        }
    }

    /// Job `i`, done by a worker.
    fn call(&self, i: u64) -> u64 {
        self.jobs.as_ref().unwrap().send(i).unwrap();
        self.results.recv().unwrap()
    }
}

impl Drop for MessageWorkers {
    fn drop(&mut self) {
        self.jobs.take();
        self.threads.drain(..).for_each(|t| t.join().unwrap());
    }
}

/// Every contender's pool of one size, built once and reused by every
/// case with that many workers. (wpool's pools and the seed's hold no
/// threads: they start their threads per run.)
pub(crate) struct Pools {
    workers: usize,
    wpool: WorkerPool,
    /// `wpool` with `Order::Input`.
    wpool_input: WorkerPool,
    threadpool: threadpool::ThreadPool,
    rayon: rayon::ThreadPool,
    messages: MessageWorkers,
}

impl Pools {
    pub(crate) fn new(workers: usize) -> Pools {
        let wpool = WorkerPool::new(workers).unwrap();
        Pools {
            workers,
            wpool_input: wpool.with_order(Order::Input),
            wpool,
            threadpool: threadpool::ThreadPool::new(workers),
            rayon: rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .unwrap(),
            messages: MessageWorkers::new(workers),
        }
    }

    /// One set of pools for each worker count among `cases`.
    pub(crate) fn for_cases(cases: &[Case]) -> BTreeMap<usize, Pools> {
        cases
            .iter()
            .map(|case| (case.workers, Pools::new(case.workers)))
            .collect()
    }
}

/// How a workload's jobs arrive.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// One run of all the jobs.
    Batch(Work),
    /// Runs of this many trivial jobs each.
    Runs(u64),
    /// One job at a time into an idle pool, this long apart.
    Latency(Duration),
    /// `cancel` and `wait` on a run whose workers wait for room for their
    /// results, with room for this many results and queued jobs.
    Cancel { results: usize, queue: usize },
}

/// A workload, and which contenders run it with which worker counts.
pub(crate) struct Workload {
    pub(crate) id: &'static str,
    /// A stable name, for criterion.
    pub(crate) name: &'static str,
    pub(crate) what: String,
    shape: Shape,
    jobs: u64,
    /// W1's job count for contenders that send one message per job.
    per_message_jobs: u64,
    workers: [usize; 2],
    /// Contenders that run once, not per worker count, and their workers.
    solo: Option<(Contender, usize)>,
    contenders: &'static [Contender],
    baselines: fn(usize) -> Vec<Baseline>,
}

/// What a case's throughput or latency is compared with.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Baseline {
    /// Another case of the same workload.
    Case(Contender, usize),
    /// The best wall time possible: `workers` jobs of `job` at a time.
    Ideal { job: Duration, workers: usize },
}

/// One contender on one workload with one number of workers.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) workload: &'static str,
    pub(crate) shape: Shape,
    pub(crate) contender: Contender,
    pub(crate) workers: usize,
    /// Jobs per measurement (for L1 and C1, tries).
    pub(crate) jobs: u64,
    expected: u64,
    baselines: Vec<Baseline>,
}

/// One measurement of a case.
#[derive(Clone, Debug)]
pub(crate) enum Sample {
    Wall(Duration),
    Latencies(Vec<Duration>),
}

impl Case {
    /// Runs the case once and checks its results.
    pub(crate) fn measure(&self, pools: &Pools) -> Sample {
        let start = Instant::now();
        let total = match self.shape {
            Shape::Batch(work) => self.contender.batch(pools, work, self.jobs),
            Shape::Runs(size) => {
                sum((0..self.jobs / size).map(|_| self.contender.batch(pools, Work::Double, size)))
            }
            Shape::Latency(_) | Shape::Cancel { .. } => {
                return Sample::Latencies(self.latencies(pools, self.jobs));
            }
        };
        let wall = start.elapsed();
        assert_eq!(total, self.expected, "wrong sum: {self:?}");
        Sample::Wall(wall)
    }

    /// Runs `tries` tries of a latency case (L1 or C1), each checked, and
    /// returns the time each took.
    pub(crate) fn latencies(&self, pools: &Pools, tries: u64) -> Vec<Duration> {
        match self.shape {
            Shape::Latency(gap) => self.contender.latencies(pools, tries, gap),
            Shape::Cancel { results, queue } => {
                self.contender.cancellations(pools, tries, results, queue)
            }
            Shape::Batch(_) | Shape::Runs(_) => panic!("{self:?} measures throughput"),
        }
    }
}

/// C1's room for results and for queued jobs: small, so that a run blocks
/// soon after it starts.
const CANCEL_RESULTS: usize = 64;
const CANCEL_QUEUE: usize = 64;

/// How many jobs each workload gets, and how many rounds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) trivial_jobs: u64,
    pub(crate) short_jobs: u64,
    pub(crate) long_jobs: u64,
    pub(crate) sleep_jobs: u64,
    pub(crate) runs: u64,
    pub(crate) tries: u64,
    /// C1's tries.
    pub(crate) cancels: u64,
    pub(crate) rounds: usize,
}

impl Plan {
    /// `cargo run --release -p wpool-bench`.
    pub(crate) const FULL: Plan = Plan {
        trivial_jobs: 10_000_000,
        short_jobs: 200_000,
        long_jobs: 10_000,
        sleep_jobs: 2_000,
        runs: 2_000,
        tries: 1_000,
        cancels: 100,
        rounds: 3,
    };

    /// `-- --quick`: seconds, for a smoke test.
    pub(crate) const QUICK: Plan = Plan {
        trivial_jobs: 100_000,
        short_jobs: 10_000,
        long_jobs: 200,
        sleep_jobs: 200,
        runs: 50,
        tries: 50,
        cancels: 20,
        rounds: 1,
    };

    /// The workloads, with W2's and W3's jobs calibrated on this machine.
    pub(crate) fn workloads(&self) -> Vec<Workload> {
        let per_run = 16;
        let short = Work::Mix(calibrate(Duration::from_micros(1)));
        let long = Work::Mix(calibrate(Duration::from_micros(50)));
        let sequential = |_| vec![Baseline::Case(Sequential, 1)];
        let batch = |id, name, what: &str, work, jobs| Workload {
            id,
            name,
            what: format!("{what}: {jobs} jobs"),
            shape: Shape::Batch(work),
            jobs,
            per_message_jobs: jobs,
            workers: [2, 8],
            solo: Some((Sequential, 1)),
            contenders: &Contender::POOLS,
            baselines: sequential,
        };
        let rounds = |work: Work| match work {
            Work::Mix(rounds) => rounds,
            _ => 0,
        };
        vec![
            Workload {
                per_message_jobs: self.trivial_jobs / 10,
                contenders: &Contender::W1_AND_W2,
                ..batch(
                    "W1",
                    "trivial",
                    "job i returns 2·i",
                    Work::Double,
                    self.trivial_jobs,
                )
            },
            Workload {
                contenders: &Contender::W1_AND_W2,
                ..batch(
                    "W2",
                    "1us",
                    &format!("~1 µs of arithmetic ({} mix rounds)", rounds(short)),
                    short,
                    self.short_jobs,
                )
            },
            Workload {
                contenders: &Contender::SLOW_ONES,
                ..batch(
                    "W2s",
                    "1us_slow_ones",
                    &format!(
                        "W2's jobs, but one in {} takes {} times as long",
                        thousands(SLOW_EVERY),
                        thousands(SLOW_FACTOR.into())
                    ),
                    Work::Skewed(rounds(short)),
                    self.short_jobs,
                )
            },
            batch(
                "W3",
                "50us",
                &format!("~50 µs of arithmetic ({} mix rounds)", rounds(long)),
                long,
                self.long_jobs,
            ),
            Workload {
                workers: [8, 64],
                solo: None,
                contenders: &[
                    AtomicFloor,
                    SeedPool,
                    Threadpool,
                    RayonSpawn,
                    RayonParIter,
                    WpoolRun,
                    WpoolBoxed,
                    WpoolSubmit,
                ],
                baselines: |workers| {
                    let job = Duration::from_millis(1);
                    vec![
                        Baseline::Ideal { job, workers },
                        Baseline::Case(AtomicFloor, workers),
                    ]
                },
                ..batch(
                    "W4",
                    "sleep_1ms",
                    "sleep 1 ms",
                    Work::Sleep(Duration::from_millis(1)),
                    self.sleep_jobs,
                )
            },
            Workload {
                id: "W5",
                name: "runs_of_16",
                what: format!("{} runs of {per_run} trivial jobs", self.runs),
                shape: Shape::Runs(per_run),
                jobs: self.runs * per_run,
                per_message_jobs: self.runs * per_run,
                workers: [2, 8],
                solo: None,
                contenders: &Contender::POOLS,
                baselines: |workers| vec![Baseline::Case(Threadpool, workers)],
            },
            Workload {
                id: "L1",
                name: "latency",
                what: format!(
                    "latency of one job into an idle pool, {} tries after {L1_WARM_UP} untimed ones per worker",
                    self.tries
                ),
                shape: Shape::Latency(Duration::from_micros(300)),
                jobs: self.tries,
                per_message_jobs: self.tries,
                workers: [2, 8],
                solo: None,
                contenders: &[MessagePool, WpoolSubmit, WpoolFresh],
                baselines: |workers| vec![Baseline::Case(MessagePool, workers)],
            },
            Workload {
                id: "C1",
                name: "cancel",
                what: format!(
                    "`cancel` then `wait`, every worker waiting on a full results \
                     channel ({CANCEL_RESULTS} results, nobody reading) and the feeder \
                     on a full queue ({CANCEL_QUEUE} jobs) of an endless input, {} tries",
                    self.cancels
                ),
                shape: Shape::Cancel {
                    results: CANCEL_RESULTS,
                    queue: CANCEL_QUEUE,
                },
                jobs: self.cancels,
                per_message_jobs: self.cancels,
                workers: [2, 8],
                solo: None,
                contenders: &[WpoolRun],
                baselines: |_| Vec::new(),
            },
        ]
    }

    /// Every case of `workloads`, in the order they run in a round.
    pub(crate) fn cases(workloads: &[Workload]) -> Vec<Case> {
        let mut cases = Vec::new();
        for workload in workloads {
            let per_workers = workload
                .workers
                .iter()
                .flat_map(|&w| workload.contenders.iter().map(move |&c| (c, w)));
            let full = workload.expected(workload.jobs);
            for (contender, workers) in workload.solo.into_iter().chain(per_workers) {
                let jobs = if contender.one_message_per_job() {
                    workload.per_message_jobs
                } else {
                    workload.jobs
                };
                cases.push(Case {
                    workload: workload.id,
                    shape: workload.shape,
                    contender,
                    workers,
                    jobs,
                    expected: if jobs == workload.jobs {
                        full
                    } else {
                        workload.expected(jobs)
                    },
                    baselines: baselines(workload, contender, workers),
                });
            }
        }
        cases
    }
}

/// A case's baselines: its workload's, and its contender's peer where the
/// workload has it.
fn baselines(workload: &Workload, contender: Contender, workers: usize) -> Vec<Baseline> {
    let mut baselines = (workload.baselines)(workers);
    let peer = contender
        .peer()
        .filter(|peer| workload.contenders.contains(peer))
        .map(|peer| Baseline::Case(peer, workers))
        .filter(|peer| !baselines.iter().any(|b| b.is_case(peer)));
    baselines.extend(peer);
    baselines
}

impl Baseline {
    /// Whether both are the same case.
    fn is_case(&self, other: &Baseline) -> bool {
        matches!((self, other), (Baseline::Case(a, x), Baseline::Case(b, y)) if (a, x) == (b, y))
    }
}

impl Workload {
    /// The sum of `jobs` jobs' results.
    fn expected(&self, jobs: u64) -> u64 {
        match self.shape {
            Shape::Batch(work) => work.checksum(jobs),
            Shape::Runs(size) => (jobs / size).wrapping_mul(Work::Double.checksum(size)),
            Shape::Latency(_) | Shape::Cancel { .. } => 0,
        }
    }
}

/// A case's measurements, reduced to the figures in the table.
#[derive(Clone, Copy, Debug)]
enum Figures {
    /// The median wall time of a measurement, and jobs per second from it.
    Rate { wall: Duration, per_second: f64 },
    /// Over every try of every round.
    Latency {
        p50: Duration,
        p99: Duration,
        max: Duration,
    },
}

impl Figures {
    fn of(case: &Case, samples: &[Sample]) -> Figures {
        let mut times: Vec<Duration> = samples
            .iter()
            .flat_map(|sample| match sample {
                Sample::Wall(wall) => std::slice::from_ref(wall),
                Sample::Latencies(times) => times.as_slice(),
            })
            .copied()
            .collect();
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        match case.shape {
            Shape::Latency(_) | Shape::Cancel { .. } => Figures::Latency {
                p50: at(0.5),
                p99: at(0.99),
                max: at(1.0),
            },
            Shape::Batch(_) | Shape::Runs(_) => Figures::Rate {
                wall: at(0.5),
                per_second: case.jobs as f64 / at(0.5).as_secs_f64(),
            },
        }
    }
}

/// A case's figures over its baseline's.
#[derive(Clone, Copy, Debug)]
enum Ratio {
    /// Throughput over the baseline's: higher is better.
    Rate(f64),
    /// Latencies over the baseline's: lower is better.
    Latency { p50: f64, p99: f64 },
}

/// Every case's figures.
struct Results<'a>(Vec<(&'a Case, Figures)>);

impl Results<'_> {
    fn find(&self, workload: &str, contender: Contender, workers: usize) -> Option<Figures> {
        self.0
            .iter()
            .find(|(c, _)| {
                c.workload == workload && c.contender == contender && c.workers == workers
            })
            .map(|&(_, figures)| figures)
    }

    /// `figures`, of a case of `workload`, over `baseline`'s.
    fn ratio(&self, workload: &str, figures: Figures, baseline: Baseline) -> Option<Ratio> {
        let base = match baseline {
            Baseline::Case(contender, workers) => self.find(workload, contender, workers)?,
            Baseline::Ideal { job, workers } => Figures::Rate {
                wall: Duration::ZERO,
                per_second: workers as f64 / job.as_secs_f64(),
            },
        };
        let over = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        match (figures, base) {
            (Figures::Rate { per_second, .. }, Figures::Rate { per_second: b, .. }) => {
                Some(Ratio::Rate(per_second / b))
            }
            (
                Figures::Latency { p50, p99, .. },
                Figures::Latency {
                    p50: b50, p99: b99, ..
                },
            ) => Some(Ratio::Latency {
                p50: over(p50, b50),
                p99: over(p99, b99),
            }),
            _ => None,
        }
    }

    /// The table's ratio cell.
    fn ratios(&self, case: &Case, figures: Figures) -> String {
        let cell = |&baseline| {
            let name = match baseline {
                Baseline::Case(contender, workers)
                    if (contender, workers) == (case.contender, case.workers) =>
                {
                    return Some("baseline".to_owned());
                }
                Baseline::Case(contender, _) => contender.id(),
                Baseline::Ideal { .. } => "ideal",
            };
            Some(match self.ratio(case.workload, figures, baseline)? {
                Ratio::Rate(r) => format!("{} {name}", times(r)),
                Ratio::Latency { p50, p99 } => {
                    format!("p50 {}, p99 {} {name}", times(p50), times(p99))
                }
            })
        };
        let cells: Vec<String> = case.baselines.iter().filter_map(cell).collect();
        cells.join(", ")
    }
}

/// A target from the issue: a wpool case's ratio to a baseline, or its
/// p99 latency.
struct Target {
    workload: &'static str,
    contender: Contender,
    workers: usize,
    goal: Goal,
}

/// What a [`Target`] asks of its case.
#[derive(Clone, Copy)]
enum Goal {
    /// At least this throughput ratio to the baseline, or at most this p50
    /// latency ratio.
    Ratio(Baseline, f64),
    /// A p99 latency under this.
    P99Under(Duration),
}

const fn target(
    workload: &'static str,
    contender: Contender,
    workers: usize,
    baseline: Baseline,
    bound: f64,
) -> Target {
    Target {
        workload,
        contender,
        workers,
        goal: Goal::Ratio(baseline, bound),
    }
}

const fn p99_under(
    workload: &'static str,
    contender: Contender,
    workers: usize,
    bound: Duration,
) -> Target {
    Target {
        workload,
        contender,
        workers,
        goal: Goal::P99Under(bound),
    }
}

const IDEAL_8: Baseline = Baseline::Ideal {
    job: Duration::from_millis(1),
    workers: 8,
};

/// The issue's targets, and those of input order and the map.
const TARGETS: [Target; 25] = [
    target("W1", WpoolRun, 2, Baseline::Case(RayonParIter, 2), 1.0),
    target("W1", WpoolRun, 8, Baseline::Case(RayonParIter, 8), 0.9),
    target("W1", WpoolBoxed, 2, Baseline::Case(Threadpool, 2), 10.0),
    target("W1", WpoolBoxed, 8, Baseline::Case(Threadpool, 8), 10.0),
    target("W2", WpoolRun, 2, Baseline::Case(Sequential, 1), 1.9),
    target("W3", WpoolRun, 2, Baseline::Case(Sequential, 1), 1.95),
    // Input order and the map against completion order.
    target("W1", WpoolMap, 2, Baseline::Case(WpoolRun, 2), 1.0),
    target("W1", WpoolMap, 8, Baseline::Case(WpoolRun, 8), 1.0),
    target("W2", WpoolRunInput, 2, Baseline::Case(WpoolRun, 2), 0.95),
    target("W2", WpoolRunInput, 8, Baseline::Case(WpoolRun, 8), 0.95),
    target("W2", WpoolMap, 2, Baseline::Case(WpoolRun, 2), 1.0),
    target("W2", WpoolMap, 8, Baseline::Case(WpoolRun, 8), 1.0),
    target("W1", WpoolMapUnordered, 2, Baseline::Case(WpoolRun, 2), 1.0),
    target("W1", WpoolMapUnordered, 8, Baseline::Case(WpoolRun, 8), 1.0),
    target("W2", WpoolMapUnordered, 2, Baseline::Case(WpoolRun, 2), 1.0),
    target("W2", WpoolMapUnordered, 8, Baseline::Case(WpoolRun, 8), 1.0),
    // Per-worker state against none.
    target("W2", WpoolRunState, 2, Baseline::Case(WpoolRun, 2), 1.0),
    target("W2", WpoolRunState, 8, Baseline::Case(WpoolRun, 8), 1.0),
    target("W2s", WpoolRunInput, 2, Baseline::Case(WpoolRun, 2), 0.9),
    target("W2s", WpoolRunInput, 8, Baseline::Case(WpoolRun, 8), 0.9),
    target("W4", WpoolRun, 64, Baseline::Case(AtomicFloor, 64), 0.97),
    target("W4", WpoolRun, 8, IDEAL_8, 0.9),
    target("L1", WpoolSubmit, 2, Baseline::Case(MessagePool, 2), 1.1),
    target("L1", WpoolSubmit, 8, Baseline::Case(MessagePool, 8), 1.1),
    p99_under("C1", WpoolRun, 8, Duration::from_millis(2)),
];

impl Target {
    /// A line of the list under the table.
    fn check(&self, results: &Results<'_>) -> Option<String> {
        let figures = results.find(self.workload, self.contender, self.workers)?;
        let (versus, value, met, bound) = match self.goal {
            Goal::Ratio(baseline, bound) => {
                let (ratio, met, bound) = match results.ratio(self.workload, figures, baseline)? {
                    Ratio::Rate(r) => (r, r >= bound, format!("≥ {}", times(bound))),
                    Ratio::Latency { p50, .. } => {
                        (p50, p50 <= bound, format!("p50 ≤ {}", times(bound)))
                    }
                };
                let versus = match baseline {
                    Baseline::Case(contender, workers) => {
                        format!(" vs {} ({workers})", contender.id())
                    }
                    Baseline::Ideal { .. } => " vs ideal".to_owned(),
                };
                (versus, times(ratio), met, bound)
            }
            Goal::P99Under(bound) => {
                let Figures::Latency { p99, .. } = figures else {
                    return None;
                };
                let value = format!("p99 {}", duration(p99));
                (
                    String::new(),
                    value,
                    p99 < bound,
                    format!("p99 < {}", duration(bound)),
                )
            }
        };
        Some(format!(
            "- {} {} ({}){versus}: {value} (target {bound}) {}",
            self.workload,
            self.contender.id(),
            self.workers,
            if met { "met" } else { "**missed**" },
        ))
    }
}

/// A ratio, to two significant digits or more.
fn times(ratio: f64) -> String {
    match ratio {
        r if r >= 10.0 => format!("{r:.1}×"),
        r if r >= 0.1 => format!("{r:.2}×"),
        r => format!("{r:.4}×"),
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn per_second(rate: f64) -> String {
    match rate {
        r if r >= 1e6 => format!("{:.2} M", r / 1e6),
        r if r >= 1e3 => format!("{:.1} k", r / 1e3),
        r => format!("{r:.0}"),
    }
}

fn duration(time: Duration) -> String {
    match time.as_secs_f64() {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 1e-3 => format!("{:.1} ms", s * 1e3),
        s => format!("{:.1} µs", s * 1e6),
    }
}

/// The machine and the date, for the top of the table.
fn machine() -> String {
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, name)| name.trim());
    let date = Command::new("date")
        .arg("+%Y-%m-%d %H:%M %Z")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown date".to_owned(), |d| d.trim().to_owned());
    format!("nproc {cpus}, {model}, {date}")
}

/// wpool against its peers: every workload's contenders, run in turn for
/// a number of rounds, and the medians printed as one markdown table.
#[derive(Debug, Parser)]
#[command(name = "peers", after_help = after_help())]
struct Options {
    /// Few jobs and one round: seconds, for a smoke test.
    #[arg(long)]
    quick: bool,
    /// Rounds to run, instead of the plan's (3, or 1 with --quick).
    #[arg(long, value_name = "N")]
    rounds: Option<NonZeroUsize>,
    /// Keeps only these workloads and contenders (comma-separated ids, any
    /// case), and the cases they are compared with; no workload named keeps
    /// them all, no contender named keeps them all.
    #[arg(long, value_name = "LIST", value_parser = Only::parse)]
    only: Option<Only>,
    /// Also draws W1–W5's throughput as an SVG bar chart at PATH.
    #[arg(long, value_name = "PATH")]
    svg: Option<PathBuf>,
}

/// The workloads, in `--help`; the header of this file has the details.
const WORKLOADS: &str = "  W1   trivial jobs: job i returns 2·i
  W2   jobs of ~1 µs of arithmetic
  W2s  W2's jobs, but one in 1,000 takes 1,000 times as long (~1 ms)
  W3   jobs of ~50 µs of arithmetic
  W4   jobs that sleep 1 ms, with 8 and 64 workers
  W5   many runs of 16 trivial jobs
  L1   latency of one job into an idle pool
  C1   `cancel` then `wait` on a run whose threads all wait for room";

/// `--help`'s text after the options: the ids `--only` takes.
fn after_help() -> String {
    let contenders: Vec<&str> = Contender::ALL.iter().map(|c| c.id()).collect();
    format!(
        "Workloads:\n{WORKLOADS}\n\nContenders: {}\n\nExample: peers --rounds 5 --only W2,W2s,wpool_map",
        contenders.join(", ")
    )
}

/// Exits with `problem`, the usage line and status 2, as for a bad
/// argument.
fn usage_error(problem: impl std::fmt::Display) -> ! {
    Options::command()
        .error(ErrorKind::InvalidValue, problem)
        .exit()
}

/// `--only`'s comma-separated list of workload ids (`W1`, …, `C1`) and
/// contender ids (`threadpool`, `wpool_submit_8`, …, the ids criterion
/// uses), in any case. An empty half keeps every workload or contender;
/// the cases a kept case is compared with stay too, so that its ratios
/// are still there.
#[derive(Clone, Debug, Default)]
struct Only {
    /// As given, checked against the workloads once they exist.
    workloads: Vec<String>,
    contenders: Vec<Contender>,
}

impl Only {
    /// Parses `--only`'s argument.
    fn parse(list: &str) -> Result<Only, String> {
        let mut only = Only::default();
        for token in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match Contender::ALL
                .into_iter()
                .find(|c| c.id().eq_ignore_ascii_case(token))
            {
                Some(contender) => only.contenders.push(contender),
                None => only.workloads.push(token.to_owned()),
            }
        }
        if only.workloads.is_empty() && only.contenders.is_empty() {
            return Err("a comma-separated list is needed".to_owned());
        }
        Ok(only)
    }

    /// Keeps the workloads asked for, or says which ones do not exist.
    fn workloads(&self, mut workloads: Vec<Workload>) -> Result<Vec<Workload>, String> {
        let unknown: Vec<&str> = self
            .workloads
            .iter()
            .filter(|id| !workloads.iter().any(|w| w.id.eq_ignore_ascii_case(id)))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let ids: Vec<&str> = workloads.iter().map(|w| w.id).collect();
            let contenders: Vec<&str> = Contender::ALL.iter().map(|c| c.id()).collect();
            return Err(format!(
                "--only: no workload or contender {}; workloads are {}, contenders {}",
                unknown.join(", "),
                ids.join(", "),
                contenders.join(", ")
            ));
        }
        if !self.workloads.is_empty() {
            workloads.retain(|w| {
                self.workloads
                    .iter()
                    .any(|id| w.id.eq_ignore_ascii_case(id))
            });
        }
        Ok(workloads)
    }

    /// Keeps the cases of the contenders asked for and the cases they are
    /// compared with.
    fn cases(&self, cases: Vec<Case>) -> Vec<Case> {
        if self.contenders.is_empty() {
            return cases;
        }
        let asked = |case: &Case| self.contenders.contains(&case.contender);
        let compared = |case: &Case| {
            let this = Baseline::Case(case.contender, case.workers);
            cases.iter().any(|other| {
                other.workload == case.workload
                    && asked(other)
                    && other.baselines.iter().any(|b| b.is_case(&this))
            })
        };
        let keep: Vec<bool> = cases.iter().map(|c| asked(c) || compared(c)).collect();
        cases
            .into_iter()
            .zip(keep)
            .filter_map(|(case, keep)| keep.then_some(case))
            .collect()
    }

    /// A line for the top of the table, if anything was left out.
    fn describe(&self) -> Option<String> {
        let mut parts = self.workloads.clone();
        parts.extend(self.contenders.iter().map(|c| c.id().to_owned()));
        (!parts.is_empty()).then(|| {
            format!(
                "Only `{}` (and the cases they are compared with).",
                parts.join(",")
            )
        })
    }
}

/// Draws the throughput figures of `results` into an SVG file at `path`.
fn write_chart(
    path: &std::path::Path,
    machine: &str,
    rounds: usize,
    workloads: &[Workload],
    results: &Results<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let bars: Vec<chart::Bar> = results
        .0
        .iter()
        .filter_map(|&(case, figures)| match figures {
            Figures::Rate { per_second, .. } => Some(chart::Bar {
                workload: case.workload,
                workers: case.workers,
                contender: case.contender.label().replace(['*', '`'], ""),
                ours: case.contender.is_wpool(),
                per_second,
            }),
            Figures::Latency { .. } => None,
        })
        .collect();
    let panels: Vec<chart::Panel> = workloads
        .iter()
        .filter(|workload| bars.iter().any(|bar| bar.workload == workload.id))
        .map(|workload| chart::Panel {
            id: workload.id,
            caption: workload.what.replace('`', ""),
        })
        .collect();
    let title = format!(
        "wpool and its peers: jobs/s, log scale, higher is better (median of {rounds} round{})",
        if rounds == 1 { "" } else { "s" }
    );
    let notes = [
        "W1 gives contenders that send one message per job a tenth of the jobs.".to_owned(),
        "Latencies (L1, C1) are in the table only.".to_owned(),
    ];
    chart::write_svg(
        path,
        &title,
        &format!("Machine: {machine}"),
        &panels,
        &bars,
        &notes,
    )
}

fn main() {
    let mut options = Options::parse();
    let only = options.only.take().unwrap_or_default();
    let chart_dir = options.svg.as_ref().and_then(|path| path.parent());
    if let Some(dir) = chart_dir.filter(|dir| !dir.as_os_str().is_empty()) {
        // A bad path fails now rather than after the whole run.
        if let Err(err) = std::fs::create_dir_all(dir) {
            eprintln!("cannot create {}: {err}", dir.display());
            std::process::exit(1);
        }
    }
    let mut plan = if options.quick {
        Plan::QUICK
    } else {
        Plan::FULL
    };
    plan.rounds = options.rounds.map_or(plan.rounds, NonZeroUsize::get);
    let started = Instant::now();
    let workloads = match only.workloads(plan.workloads()) {
        Ok(workloads) => workloads,
        Err(problem) => usage_error(problem),
    };
    let cases = only.cases(Plan::cases(&workloads));
    if cases.is_empty() {
        usage_error("--only leaves no case to run");
    }
    let workloads: Vec<Workload> = workloads
        .into_iter()
        .filter(|w| cases.iter().any(|c| c.workload == w.id))
        .collect();
    let machine = machine();
    println!("# wpool and its peers\n");
    println!("Machine: {machine}.\n");
    if let Some(only) = only.describe() {
        println!("{only}\n");
    }
    for workload in &workloads {
        println!("- {} (`{}`): {}", workload.id, workload.name, workload.what);
    }
    println!(
        "\nIn W1–W5 `start` + `submit` submits from one producer thread, and in W1 \
         and W2 also from {SUBMITTERS} (clones of the `Submitter`, each with an equal \
         share of the jobs), beside `threadpool` with `execute` from as many threads \
         (clones of the pool); in L1 it \
         submits into a run started beforehand and reads the result with `next`. \
         W1 gives contenders that send one message per job a tenth of the jobs. \
         wpool's `run` in input order and its maps are compared with its `run` \
         in completion order (in W1, W2 and W2s). \
         C1's pool sends every job and every result on its own (`max_batch(1)`), \
         so that its counts show when the run is stuck."
    );
    let pools = Pools::for_cases(&cases);
    let mut samples = vec![Vec::new(); cases.len()];
    for round in 1..=plan.rounds {
        for (case, samples) in cases.iter().zip(&mut samples) {
            samples.push(case.measure(&pools[&case.workers]));
        }
        eprintln!(
            "round {round} of {} done after {:.1?}",
            plan.rounds,
            started.elapsed()
        );
    }
    let results = Results(
        cases
            .iter()
            .zip(&samples)
            .map(|(case, samples)| (case, Figures::of(case, samples)))
            .collect(),
    );

    println!("\n| workload | contender | workers | jobs | jobs/s | ratio | detail |");
    println!("|---|---|---:|---:|---:|---|---|");
    for &(case, figures) in &results.0 {
        let (rate, detail) = match (figures, case.shape) {
            (
                Figures::Rate {
                    wall,
                    per_second: r,
                },
                Shape::Runs(size),
            ) => {
                let runs = (case.jobs / size) as u32;
                (per_second(r), format!("{} a run", duration(wall / runs)))
            }
            (
                Figures::Rate {
                    wall,
                    per_second: r,
                },
                _,
            ) => (per_second(r), duration(wall)),
            (Figures::Latency { p50, p99, max }, _) => (
                "–".to_owned(),
                format!(
                    "p50 {}, p99 {}, max {}",
                    duration(p50),
                    duration(p99),
                    duration(max)
                ),
            ),
        };
        let ratios = match results.ratios(case, figures) {
            cell if cell.is_empty() => "–".to_owned(),
            cell => cell,
        };
        println!(
            "| {} | {} | {} | {} | {rate} | {ratios} | {detail} |",
            case.workload,
            case.contender.label(),
            case.workers,
            thousands(case.jobs),
        );
    }
    println!(
        "\nMedian of {} round(s). Ratios are throughput over the baseline's (higher is \
         better), for L1 latency over the baseline's (lower is better). L1's and C1's \
         percentiles are over every try of every round. The issue's targets (workers \
         in brackets):\n",
        plan.rounds,
    );
    let targets: Vec<String> = TARGETS.iter().filter_map(|t| t.check(&results)).collect();
    if targets.is_empty() {
        println!("- none among the cases run");
    }
    targets.iter().for_each(|line| println!("{line}"));
    println!("\nTotal time {:.1?}.", started.elapsed());
    if let Some(path) = &options.svg {
        match write_chart(path, &machine, plan.rounds, &workloads, &results) {
            Ok(()) => eprintln!("chart written to {}", path.display()),
            Err(err) => {
                eprintln!("cannot write the chart to {}: {err}", path.display());
                std::process::exit(1);
            }
        }
    }
}
