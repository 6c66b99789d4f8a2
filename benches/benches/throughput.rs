//! Throughput on trivial jobs (job `i` returns `2 * i`): wpool with its
//! default capacities against a sequential loop, a hand-written crossbeam
//! pool at three channel sizes, and the `threadpool` crate. Every contender
//! sums all results, so none can skip work.
//!
//! `cargo bench -p wpool-bench --bench throughput`; `WPOOL_BENCH_JOBS`
//! changes the job count (default 1,000,000).

#![expect(
    missing_docs,
    reason = "criterion_group! defines an undocumented function"
)]

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wpool::{Context, Job, WorkerPool};

use wpool_bench::hand_pool::hand_pool;

fn jobs() -> u64 {
    std::env::var("WPOOL_BENCH_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

fn expected(n: u64) -> u64 {
    n * (n - 1)
}

fn sequential(n: u64) -> u64 {
    (0..n).map(|i| black_box(2 * i)).sum()
}

/// The seed's design by hand (see `src/hand_pool.rs`), channels of
/// `capacity`.
fn hand_crossbeam(n: u64, workers: usize, capacity: usize) -> u64 {
    hand_pool(|i| black_box(2 * i), n, workers, capacity)
}

fn threadpool_crate(n: u64, workers: usize) -> u64 {
    let pool = threadpool::ThreadPool::new(workers);
    let (tx, rx) = crossbeam_channel::unbounded();
    let feeder = {
        let tx = tx.clone();
        // Feeding from its own thread lets results be read while jobs are
        // still submitted, as in the other contenders.
        thread::spawn(move || {
            for i in 0..n {
                let tx = tx.clone();
                pool.execute(move || tx.send((i, 2 * i)).unwrap());
            }
            pool.join();
        })
    };
    drop(tx);
    let sum = rx.iter().map(|(_, value)| value).sum();
    feeder.join().unwrap();
    sum
}

fn wpool_run(n: u64, pool: &WorkerPool) -> u64 {
    let jobs = (0..n).map(|i| Job::new(i, i));
    pool.run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(2 * i))
        .unwrap()
        .map(|r| r.into_value().unwrap())
        .sum()
}

fn trivial_jobs(c: &mut Criterion) {
    let n = jobs();
    let mut group = c.benchmark_group("trivial_jobs");
    group.throughput(Throughput::Elements(n));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));

    group.bench_function("sequential", |b| {
        b.iter(|| assert_eq!(sequential(n), expected(n)))
    });
    for workers in [2, 8] {
        let pool = WorkerPool::new(workers).unwrap();
        group.bench_with_input(
            BenchmarkId::new("wpool_default", workers),
            &workers,
            |b, _| b.iter(|| assert_eq!(wpool_run(n, &pool), expected(n))),
        );
        group.bench_with_input(
            BenchmarkId::new("threadpool", workers),
            &workers,
            |b, &w| b.iter(|| assert_eq!(threadpool_crate(n, w), expected(n))),
        );
        for capacity in [workers, 64, 1024] {
            let id = BenchmarkId::new(format!("hand_crossbeam_cap{capacity}"), workers);
            group.bench_with_input(id, &workers, |b, &w| {
                b.iter(|| assert_eq!(hand_crossbeam(n, w, capacity), expected(n)))
            });
        }
    }
    group.finish();
}

/// The capacity sweep behind `DEFAULT_QUEUE_CAPACITY` and
/// `DEFAULT_RESULTS_CAPACITY`.
fn capacities(c: &mut Criterion) {
    let n = jobs();
    let mut group = c.benchmark_group("wpool_capacity");
    group.throughput(Throughput::Elements(n));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for workers in [2, 8] {
        for capacity in [64, 1024, 4096, 16_384, 65_536] {
            let pool = WorkerPool::builder()
                .workers(workers)
                .queue_capacity(capacity)
                .results_capacity(capacity)
                .build()
                .unwrap();
            let id = BenchmarkId::new(format!("workers{workers}"), capacity);
            group.bench_with_input(id, &capacity, |b, _| {
                b.iter(|| assert_eq!(wpool_run(n, &pool), expected(n)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, trivial_jobs, capacities);
criterion_main!(benches);
