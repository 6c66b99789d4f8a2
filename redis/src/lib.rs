//! wpool past one machine: workers on many hosts consume one Redis stream
//! through a consumer group, and nothing is lost when a worker dies.
//!
//! # The pattern
//!
//! - A **producer** adds jobs to the jobs stream (`XADD`).
//! - Each **worker** process is one consumer of one consumer group. Its
//!   wpool run's input is the stream: `XREADGROUP` hands each entry to one
//!   consumer, where it stays *pending* until acknowledged. The jobs run on
//!   the pool; transient failures are retried in the run.
//! - The worker **commits** each finished job: a Lua script acknowledges it
//!   (`XACK`) and, if that acknowledged it, writes its record (`XADD`) to
//!   the results stream, or to the dead-letter stream with its error for a
//!   job that failed for good. Record and acknowledgement are one atomic
//!   step: there is no moment where a job has its result but is still
//!   pending, or is acknowledged without one.
//! - Entries left pending by a consumer that died are taken over by the
//!   live ones after an idle time (`XAUTOCLAIM`). On Ctrl-C or a deadline
//!   a worker finishes its running jobs, commits them, and hands back the
//!   rest unacknowledged (marked idle, so the next claim takes them).
//! - A **collector** reads the results and dead letters and counts them.
//!
//! # Guarantees
//!
//! Every job added is run at least once and ends with exactly one record:
//! a result or a dead letter. A job runs more than once when its worker
//! died (or was stopped hard) after taking it and before committing it,
//! or when its worker held it longer than the claim idle time and another
//! claimed it; the first commit wins and the later record is dropped and
//! counted ([`WorkerReport::discarded`]). So the *records* are exactly
//! once per entry, but a job's *effects outside Redis* are at least once:
//! make them idempotent (key them by job number or entry id).
//!
//! # Running it
//!
//! ```text
//! redis-server --port 6379 --save "" --appendonly no &
//! cargo run --release -p wpool-redis -- produce --jobs 20000 --fail-every 1000 --flaky-every 97
//! cargo run --release -p wpool-redis -- worker --exit-when-idle     # on each host, as often as you like
//! cargo run --release -p wpool-redis -- collect
//! cargo run --release -p wpool-redis -- local --jobs 20000          # the same jobs, no broker
//! ```
//!
//! Every subcommand takes `--redis URL` (default `redis://127.0.0.1:6379/`)
//! and `--prefix P` (the [`Keys`]); `--help` lists the rest.

mod collect;
mod commit;
mod input;
mod job;
mod keys;
mod local;
mod produce;
mod worker;

pub use crate::collect::{Tally, collect};
pub use crate::commit::{Committer, Record, Target, Written};
pub use crate::input::{ReadCounts, ReadOptions, StreamInput};
pub use crate::job::{Done, FailedOnce, JobError, Mode, Payload, Plan, Task, run as run_job, work};
pub use crate::keys::Keys;
pub use crate::local::run as run_local;
pub use crate::produce::produce;
pub use crate::worker::{
    WorkerError, WorkerOptions, WorkerReport, ensure_group, run as run_worker,
};
