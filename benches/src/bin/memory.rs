//! Shows that memory stays bounded however many jobs a run has: the input is
//! a lazy generator, and both channels have capacities counted in jobs.
//!
//! Runs 1,000,000 and then 10,000,000 trivial jobs on one pool and prints
//! the process's peak resident memory (Linux `VmHWM`) after each, and how
//! much it grew between the two: ten times the jobs should cost next to
//! nothing.
//!
//! ```text
//! cargo run --release -p wpool-bench --bin memory [WORKERS]
//! ```

use clap::Parser;
use wpool::{Context, Job, WorkerPool};

/// Runs 1,000,000 and then 10,000,000 trivial jobs on one pool and prints
/// the peak resident memory after each: ten times the jobs should cost next
/// to nothing.
#[derive(Debug, Parser)]
#[command(name = "memory")]
struct Args {
    /// The pool's workers.
    #[arg(default_value_t = 8)]
    workers: usize,
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let workers = Args::parse().workers;
    let pool = WorkerPool::new(workers)?;
    println!("workers: {workers}");
    let mut peaks = Vec::new();
    for jobs in [1_000_000u64, 10_000_000] {
        let generator = (0..jobs).map(|i| Job::new(i, i));
        let run = pool.run(&Context::background(), generator, |_, i: u64| {
            Ok::<_, ()>(2 * i)
        })?;
        let sum: u64 = run.map(|r| r.into_value().unwrap_or(0)).sum();
        assert_eq!(sum, jobs * (jobs - 1), "every job's result was read");
        match peak_rss_kib() {
            Some(kib) => {
                println!("{jobs:>10} jobs: peak RSS {:.1} MiB", kib as f64 / 1024.0);
                peaks.push(kib);
            }
            None => println!("{jobs:>10} jobs: peak RSS unknown (no /proc/self/status)"),
        }
    }
    if let [small, large] = peaks[..] {
        println!(
            "growth from 1,000,000 to 10,000,000 jobs: {:.1} MiB",
            large.saturating_sub(small) as f64 / 1024.0
        );
    }
    Ok(())
}
