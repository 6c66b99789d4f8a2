//! `wpool-redis`: the producer, the worker, the collector and the
//! no-broker baseline, as subcommands. See the crate docs (`src/lib.rs`)
//! for the pattern and the guarantees.
//!
//! ```text
//! wpool-redis produce --jobs 20000 --rounds 2000 --fail-every 1000 --flaky-every 97
//! wpool-redis worker --threads 2 --exit-when-idle       # one consumer; Ctrl-C stops it
//! wpool-redis collect                                   # counts per outcome
//! wpool-redis local --jobs 20000 --rounds 2000          # the same jobs, no broker
//! ```
//!
//! `worker` exits with 0 once done (`--exit-when-idle`), 130 after Ctrl-C,
//! 124 after `--deadline`, 1 on an error; its last line on stderr is its
//! report (`report: read=... claimed=... succeeded=... dead=...
//! discarded=... handed_back=...`). A second Ctrl-C exits at once, leaving
//! its jobs pending for the other workers to claim.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use wpool::{Context, ContextError};
use wpool_redis::{Keys, Plan, ReadOptions, WorkerOptions};

#[derive(Parser)]
#[command(name = "wpool-redis", about = "wpool workers on a Redis stream")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the streams are.
#[derive(Args)]
struct Broker {
    /// The Redis server
    #[arg(long, default_value = "redis://127.0.0.1:6379/")]
    redis: String,
    /// The streams are PREFIX:jobs, PREFIX:results, PREFIX:dead; the group PREFIX:workers
    #[arg(long, default_value = "wpool")]
    prefix: String,
}

/// Which jobs (the producer's and the baseline's).
#[derive(Args)]
struct PlanArgs {
    /// How many jobs
    #[arg(long, default_value_t = 20_000)]
    jobs: u64,
    /// Work per job, in rounds of a mixing function (~2 ns each)
    #[arg(long, default_value_t = 2_000)]
    rounds: u32,
    /// Every Nth job fails for good (0: none)
    #[arg(long, default_value_t = 0)]
    fail_every: u64,
    /// Every Nth job fails once, then succeeds when retried (0: none)
    #[arg(long, default_value_t = 0)]
    flaky_every: u64,
}

impl PlanArgs {
    fn plan(&self) -> Plan {
        Plan {
            jobs: self.jobs,
            rounds: self.rounds,
            fail_every: self.fail_every,
            flaky_every: self.flaky_every,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Add jobs to the jobs stream
    Produce {
        #[command(flatten)]
        broker: Broker,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Run jobs from the stream as one consumer of the group
    Worker {
        #[command(flatten)]
        broker: Broker,
        /// This consumer's name [default: HOSTNAME-PID]
        #[arg(long)]
        consumer: Option<String>,
        /// Pool threads
        #[arg(long, default_value_t = NonZeroUsize::MIN.saturating_add(1))]
        threads: NonZeroUsize,
        /// Entries per read
        #[arg(long, default_value_t = 200)]
        count: usize,
        /// Longest blocking read, in ms (also the worst delay to see Ctrl-C)
        #[arg(long, default_value_t = 100)]
        block_ms: u64,
        /// Take over jobs another consumer has left pending this long, in ms
        #[arg(long, default_value_t = 30_000)]
        claim_idle_ms: u64,
        /// Attempts per job in this process (transient failures only)
        #[arg(long, default_value_t = 3)]
        attempts: u32,
        /// Stop after this many seconds, handing back what never started
        #[arg(long, value_name = "SECS")]
        deadline: Option<f64>,
        /// Exit once nothing is new and nothing is pending in the group
        #[arg(long)]
        exit_when_idle: bool,
    },
    /// Count the results and dead letters
    Collect {
        #[command(flatten)]
        broker: Broker,
    },
    /// Run the same jobs in this process, without the broker
    Local {
        #[command(flatten)]
        plan: PlanArgs,
        /// Pool threads
        #[arg(long, default_value_t = NonZeroUsize::MIN.saturating_add(1))]
        threads: NonZeroUsize,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Produce { broker, plan } => {
            let started = Instant::now();
            let added = connect(&broker).and_then(|mut conn| {
                wpool_redis::produce(&mut conn, &Keys::new(&broker.prefix), &plan.plan())
            });
            match added {
                Ok(n) => {
                    eprintln!("added {n} jobs in {:.2?}", started.elapsed());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Collect { broker } => {
            match connect(&broker)
                .and_then(|mut conn| wpool_redis::collect(&mut conn, &Keys::new(&broker.prefix)))
            {
                Ok(tally) => {
                    print!("{tally}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Local { plan, threads } => {
            let started = Instant::now();
            match wpool_redis::run_local(&plan.plan(), threads.get(), 3) {
                Ok(counts) => {
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "{} jobs in {secs:.2} s: {:.0} jobs/s (succeeded {}, failed {})",
                        counts.submitted,
                        counts.submitted as f64 / secs,
                        counts.succeeded,
                        counts.failed
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&*e),
            }
        }
        Command::Worker {
            broker,
            consumer,
            threads,
            count,
            block_ms,
            claim_idle_ms,
            attempts,
            deadline,
            exit_when_idle,
        } => {
            let options = WorkerOptions {
                read: ReadOptions {
                    consumer: consumer.unwrap_or_else(default_consumer),
                    count: count.max(1),
                    block: Duration::from_millis(block_ms.max(1)),
                    claim_idle: Duration::from_millis(claim_idle_ms),
                    exit_when_idle,
                },
                threads: threads.get(),
                attempts,
                commit_batch: count.max(1),
                commit_after: Duration::from_millis(2),
            };
            worker(&broker, &options, deadline)
        }
    }
}

fn worker(broker: &Broker, options: &WorkerOptions, deadline: Option<f64>) -> ExitCode {
    let root = Context::with_cancel(&Context::background());
    let ctx = match deadline {
        Some(secs) => Context::with_timeout(&root, Duration::from_secs_f64(secs.max(0.0))),
        None => root.clone(),
    };
    // Ctrl-C cancels the run; a second one exits at once.
    let on_interrupt = root.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        if !on_interrupt.cancel() {
            std::process::exit(130);
        }
    }) {
        eprintln!("wpool-redis: cannot handle Ctrl-C: {e}");
    }
    let client = match redis::Client::open(broker.redis.as_str()) {
        Ok(client) => client,
        Err(e) => return fail(&e),
    };
    let keys = Keys::new(&broker.prefix);
    let started = Instant::now();
    match wpool_redis::run_worker(&client, &keys, options, &ctx) {
        Ok(report) => {
            let secs = started.elapsed().as_secs_f64();
            let stopped = report.stopped_by.map_or("-".to_string(), |e| e.to_string());
            eprintln!(
                "report: consumer={} secs={secs:.3} read={} claimed={} succeeded={} dead={} discarded={} handed_back={} stopped_by={stopped:?}",
                options.read.consumer,
                report.input.read,
                report.input.claimed,
                report.succeeded,
                report.dead,
                report.discarded,
                report.handed_back,
            );
            match report.stopped_by {
                None => ExitCode::SUCCESS,
                Some(ContextError::DeadlineExceeded) => ExitCode::from(124),
                Some(_) => ExitCode::from(130),
            }
        }
        Err(e) => fail(&e),
    }
}

fn connect(broker: &Broker) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(broker.redis.as_str())?.get_connection()
}

fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".to_string());
    format!("{host}-{}", std::process::id())
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("wpool-redis: {error}");
    ExitCode::FAILURE
}
