//! Throughput through the broker with 1, 2 and 3 worker processes, beside
//! the same jobs in one process without it. Ignored by default; run it in
//! release mode to get the README's figures:
//!
//! ```text
//! cargo test -p wpool-redis --release --test throughput -- --ignored --nocapture
//! ```
//!
//! `WPOOL_REDIS_BENCH_JOBS` (default 100,000) and `WPOOL_REDIS_BENCH_ROUNDS`
//! (default 2,000 and 20,000: two job sizes) change the load.

mod common;

use std::time::{Duration, Instant};

use common::{Guarded, RedisServer, poll, program, watchdog};
use wpool_redis::{Keys, Plan};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "a benchmark: run with --release -- --ignored --nocapture"]
fn throughput_by_worker_processes() {
    watchdog(Duration::from_secs(600), || {
        let server = RedisServer::start();
        let url = server.url();
        let mut conn = server.connect();
        let jobs = env_or("WPOOL_REDIS_BENCH_JOBS", 100_000);
        let sizes: Vec<u32> = match std::env::var("WPOOL_REDIS_BENCH_ROUNDS") {
            Ok(v) => v.split(',').filter_map(|r| r.trim().parse().ok()).collect(),
            Err(_) => vec![2_000, 20_000],
        };
        for rounds in sizes {
            let plan = Plan {
                jobs,
                rounds,
                fail_every: 0,
                flaky_every: 0,
            };
            let started = Instant::now();
            let counts = wpool_redis::run_local(&plan, 2, 3).expect("the local run");
            assert_eq!(counts.succeeded, jobs);
            let local = jobs as f64 / started.elapsed().as_secs_f64();
            eprintln!("rounds {rounds}: one process, no broker, 2 threads: {local:.0} jobs/s");
            for processes in 1..=3 {
                let prefix = format!("bench-{rounds}-{processes}");
                let keys = Keys::new(&prefix);
                wpool_redis::produce(&mut conn, &keys, &plan).expect("produce");
                let started = Instant::now();
                let workers: Vec<Guarded> = (0..processes)
                    .map(|i| {
                        let name = format!("w{i}");
                        let child = program(&[
                            "worker",
                            "--redis",
                            &url,
                            "--prefix",
                            &prefix,
                            "--consumer",
                            &name,
                            "--threads",
                            "2",
                            "--exit-when-idle",
                        ])
                        .spawn()
                        .expect("start a worker");
                        Guarded(child)
                    })
                    .collect();
                for mut worker in workers {
                    let status = poll("a worker to finish", Duration::from_secs(300), || {
                        worker.0.try_wait().ok().flatten()
                    });
                    assert!(status.success());
                }
                let rate = jobs as f64 / started.elapsed().as_secs_f64();
                let tally = wpool_redis::collect(&mut conn, &keys).expect("collect");
                assert_eq!(tally.outputs.len() as u64, jobs);
                eprintln!(
                    "rounds {rounds}: {processes} worker process(es), 2 threads each: {rate:.0} jobs/s ({:.0}% of no broker)",
                    100.0 * rate / local
                );
            }
        }
        drop(server);
    });
}
