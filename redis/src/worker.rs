//! The worker: one process, one consumer of the group, one wpool run.
//!
//! The run's input is a [`StreamInput`] (its own connection); the jobs run
//! on the pool's threads, transient failures retried by the job (see
//! [`run_job`](crate::run_job)); and the
//! thread that started the run reads its results and commits them in
//! batches (its own connection), each batch one atomic
//! [`Committer::commit`]: the record written and the job acknowledged
//! together. Committing on the reading thread rather than in each job keeps
//! one connection for all commits and one round trip per batch instead of
//! two per job, and leaves the jobs pure.
//!
//! When the run stops early (Ctrl-C, a deadline, a Redis error), the jobs
//! it did not start, the jobs it cancelled and the entries read but not
//! handed out are not acknowledged: they are handed back, still pending,
//! with their idle time set past any claim idle time, so the next
//! `XAUTOCLAIM` of any live worker takes them. If even that fails (the
//! process is killed, Redis is gone) they stay pending and are claimed once
//! their idle time passes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{Client, Connection, RedisError, RedisResult};
use wpool::{Context, ContextError, NextTimeoutError, Outcome, WorkerPool};

use crate::commit::{Committer, Record, Target};
use crate::input::{ReadCounts, ReadOptions, StreamInput};
use crate::job::{self, Done, FailedOnce, Task};
use crate::keys::Keys;

/// Handed-back entries get this idle time (an hour), longer than any
/// worker's claim idle time, so they are claimed at once.
const HAND_BACK_IDLE_MS: u64 = 3_600_000;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How the input reads (consumer name, batch, block and claim times).
    pub read: ReadOptions,
    /// Threads of the pool.
    pub threads: usize,
    /// Attempts per job in this process, the first included; only
    /// transient failures are retried, by the job itself.
    pub attempts: u32,
    /// Records per commit at most.
    pub commit_batch: usize,
    /// A partial batch is committed once no result has come for this long.
    pub commit_after: Duration,
}

/// What a worker did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    /// Entries read and claimed.
    pub input: ReadCounts,
    /// Results written to the results stream.
    pub succeeded: u64,
    /// Records written to the dead-letter stream.
    pub dead: u64,
    /// Records dropped because another worker had committed the job first.
    pub discarded: u64,
    /// Entries handed back unstarted (or cancelled) when the run stopped.
    pub handed_back: u64,
    /// What stopped the run early, if anything did.
    pub stopped_by: Option<ContextError>,
}

/// Why a worker stopped with an error.
#[derive(Debug)]
pub enum WorkerError {
    /// Talking to Redis failed.
    Redis(RedisError),
    /// The pool's configuration was refused (zero threads).
    Build(wpool::BuildError),
    /// The pool could not start its threads.
    Start(wpool::StartError),
}

impl std::fmt::Display for WorkerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerError::Redis(e) => write!(f, "redis: {e}"),
            WorkerError::Build(e) => write!(f, "configuring the pool: {e}"),
            WorkerError::Start(e) => write!(f, "starting the pool: {e}"),
        }
    }
}

impl std::error::Error for WorkerError {}

impl From<RedisError> for WorkerError {
    fn from(e: RedisError) -> Self {
        WorkerError::Redis(e)
    }
}

/// Creates the consumer group (and the jobs stream) unless it exists.
/// The group starts at the stream's first entry.
///
/// # Errors
///
/// A Redis error other than "the group exists".
pub fn ensure_group(conn: &mut Connection, keys: &Keys) -> RedisResult<()> {
    let created: RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.jobs)
        .arg(&keys.group)
        .arg("0")
        .arg("MKSTREAM")
        .query(conn);
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// Runs the worker until `ctx` ends or, with `exit_when_idle`, the group
/// has nothing left, committing each finished job with a [`Committer`] and
/// handing back (unacknowledged) what never ran; see the [crate docs](crate).
///
/// # Errors
///
/// A Redis error (after handing back what it can) or a pool that could
/// not start.
pub fn run(
    client: &Client,
    keys: &Keys,
    options: &WorkerOptions,
    ctx: &Context,
) -> Result<WorkerReport, WorkerError> {
    let mut conn = client.get_connection()?;
    ensure_group(&mut conn, keys)?;
    let counts = Arc::new(Mutex::new(ReadCounts::default()));
    let input_error = Arc::new(Mutex::new(None));
    let input = StreamInput::new(
        client.get_connection()?,
        keys,
        options.read.clone(),
        ctx,
        counts.clone(),
        input_error.clone(),
    );

    let pool = WorkerPool::builder()
        .workers(options.threads)
        .queue_capacity(options.read.count)
        .thread_name("redis-worker")
        .resumable(true)
        .build()
        .map_err(WorkerError::Build)?;
    let failed_once = Arc::new(FailedOnce::default());
    let attempts = options.attempts;
    let mut run = pool
        .run(ctx, input, move |ctx, task: Task| {
            job::run(ctx, &task, &failed_once, attempts)
        })
        .map_err(WorkerError::Start)?;

    let committer = Committer::new(keys);
    let mut report = WorkerReport::default();
    let mut batch: Vec<Record> = Vec::with_capacity(options.commit_batch);
    let mut hand_back: Vec<String> = Vec::new();
    let mut commit_error = None;
    loop {
        let result = match run.next_timeout(options.commit_after) {
            Ok(result) => result,
            Err(NextTimeoutError::Timeout) => {
                if let Err(e) = commit(&committer, &mut conn, &mut batch, &mut report) {
                    commit_error = Some(e);
                    break;
                }
                continue;
            }
            // Finished (and any other end the enum may grow).
            Err(_) => break,
        };
        let (descriptor, outcome) = result.into_parts();
        let entry = descriptor.id().to_string();
        let consumer = &options.read.consumer;
        match outcome {
            Outcome::Succeeded(done) => batch.push(succeeded(entry, done, consumer)),
            // Stopped by Ctrl-C or the deadline while running (or waiting
            // to retry): not acknowledged.
            Outcome::Cancelled(_) => hand_back.push(entry),
            Outcome::Failed(e) | Outcome::TimedOut(Some(e)) => {
                batch.push(dead(entry, e.job, &e.to_string(), e.attempts, consumer));
            }
            Outcome::TimedOut(None) => batch.push(dead(entry, None, "timed out", 1, consumer)),
            Outcome::Panicked(panic) => {
                let error = format!("panicked: {}", panic.message());
                batch.push(dead(entry, None, &error, 1, consumer));
            }
            // An outcome this code does not know: not acknowledged, so
            // another worker runs the job again.
            _ => hand_back.push(entry),
        }
        if batch.len() >= options.commit_batch
            && let Err(e) = commit(&committer, &mut conn, &mut batch, &mut report)
        {
            commit_error = Some(e);
            break;
        }
    }
    if commit_error.is_none()
        && let Err(e) = commit(&committer, &mut conn, &mut batch, &mut report)
    {
        commit_error = Some(e);
    }
    if commit_error.is_some() {
        run.cancel();
    }
    // What never ran (or was cancelled while running) goes back; the
    // batch that failed to commit stays pending, to be claimed.
    let summary = run.wait();
    report.stopped_by = summary.cancelled_by;
    hand_back.extend(summary.unstarted.iter().map(|job| job.id().to_string()));
    hand_back.extend(summary.unread_input.map(|job| job.id().to_string()));
    report.input = *counts.lock().unwrap_or_else(|p| p.into_inner());
    let handed = hand_back_entries(&mut conn, keys, &options.read.consumer, &hand_back);
    if let Some(e) = commit_error {
        return Err(e.into());
    }
    report.handed_back = handed?;
    if let Some(e) = input_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e.into());
    }
    Ok(report)
}

/// Commits the batch, counts what was written, and empties it.
fn commit(
    committer: &Committer,
    conn: &mut Connection,
    batch: &mut Vec<Record>,
    report: &mut WorkerReport,
) -> RedisResult<()> {
    let written = committer.commit(conn, batch)?;
    report.succeeded += written.results;
    report.dead += written.dead;
    report.discarded += batch.len() as u64 - written.results - written.dead;
    batch.clear();
    Ok(())
}

fn succeeded(entry: String, done: Done, consumer: &str) -> Record {
    Record {
        entry: entry.clone(),
        target: Target::Results,
        fields: vec![
            ("job", done.job.to_string()),
            ("output", done.output.to_string()),
            ("attempts", done.attempts.to_string()),
            ("entry", entry),
            ("worker", consumer.to_string()),
        ],
    }
}

fn dead(entry: String, job: Option<u64>, error: &str, attempts: u32, consumer: &str) -> Record {
    let job = job.map_or_else(|| "?".to_string(), |job| job.to_string());
    Record {
        entry: entry.clone(),
        target: Target::DeadLetters,
        fields: vec![
            ("job", job),
            ("error", error.to_string()),
            ("attempts", attempts.to_string()),
            ("entry", entry),
            ("worker", consumer.to_string()),
        ],
    }
}

/// Marks `entries` (pending for `consumer`) idle for an hour, so that any
/// worker's next `XAUTOCLAIM` takes them; returns how many were handed
/// back. `XCLAIM ... JUSTID` to the same consumer changes nothing else: not
/// the owner, not the delivery count.
fn hand_back_entries(
    conn: &mut Connection,
    keys: &Keys,
    consumer: &str,
    entries: &[String],
) -> RedisResult<u64> {
    let mut handed = 0;
    for chunk in entries.chunks(1000) {
        let ids: Vec<String> = redis::cmd("XCLAIM")
            .arg(&keys.jobs)
            .arg(&keys.group)
            .arg(consumer)
            .arg(0)
            .arg(chunk)
            .arg("IDLE")
            .arg(HAND_BACK_IDLE_MS)
            .arg("JUSTID")
            .query(conn)?;
        handed += ids.len() as u64;
    }
    Ok(handed)
}
