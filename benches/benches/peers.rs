//! wpool against its peers under criterion: the cases of the peer table,
//! `src/bin/peers/main.rs` (included here as a module, so both measure the
//! same code), one benchmark group per workload. W1 has 2,000,000 jobs (200,000
//! for the contenders that send one message per job), a W5 iteration is one
//! run of 16 jobs, an L1 iteration is one job into an idle pool, and a C1
//! iteration is one `cancel` and `wait` of a run whose threads all wait for
//! room (starting the run and filling it are not timed).
//!
//! `cargo bench -p wpool-bench --bench peers`, or add `-- --quick` for a
//! shorter run; `cargo run --release -p wpool-bench` prints the same
//! comparison as one table.

#![expect(
    missing_docs,
    reason = "criterion_group! defines an undocumented function"
)]

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

#[path = "../src/bin/peers/main.rs"]
#[allow(dead_code, reason = "the peer table's printing is not used here")]
mod peers;

use peers::{Plan, Pools, Shape};

/// The peer table's full plan, with fewer W1 jobs and one run per W5
/// iteration.
const PLAN: Plan = Plan {
    trivial_jobs: 2_000_000,
    runs: 1,
    ..Plan::FULL
};

fn workloads(c: &mut Criterion) {
    let workloads = PLAN.workloads();
    let cases = Plan::cases(&workloads);
    let pools = Pools::for_cases(&cases);
    for workload in &workloads {
        let mut group = c.benchmark_group(format!("{}_{}", workload.id, workload.name));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        // An iteration of W1 to W4 takes up to seconds: the same number of
        // iterations in every sample keeps the run short.
        group.sampling_mode(SamplingMode::Flat);
        for case in cases.iter().filter(|case| case.workload == workload.id) {
            let pools = &pools[&case.workers];
            let id = BenchmarkId::new(case.contender.id(), case.workers);
            match case.shape {
                Shape::Latency(_) | Shape::Cancel { .. } => {
                    group.throughput(Throughput::Elements(1));
                    group.bench_function(id, |b| {
                        b.iter_custom(|tries| case.latencies(pools, tries).into_iter().sum())
                    });
                }
                Shape::Batch(_) | Shape::Runs(_) => {
                    group.throughput(Throughput::Elements(case.jobs));
                    group.bench_function(id, |b| b.iter(|| case.measure(pools)));
                }
            }
        }
        group.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
