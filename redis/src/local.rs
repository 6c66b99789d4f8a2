//! The baseline: the same jobs in one process, without the broker.

use std::sync::Arc;
use wpool::{Context, Counts, Job, WorkerPool};

use crate::job::{self, FailedOnce, Plan, Task};

/// Runs every job of `plan` on one pool of `threads` threads, with the
/// worker's retries, and returns the run's counts.
///
/// # Errors
///
/// The pool could not be built or started.
pub fn run(
    plan: &Plan,
    threads: usize,
    attempts: u32,
) -> Result<Counts, Box<dyn std::error::Error>> {
    let pool = WorkerPool::new(threads)?;
    let failed_once = Arc::new(FailedOnce::default());
    let plan = *plan;
    let jobs = (0..plan.jobs)
        .map(move |job| plan.payload(job))
        .map(|payload| {
            let entry = payload.job.to_string();
            Job::new(
                payload.job,
                Task {
                    entry,
                    payload: Ok(payload),
                },
            )
        });
    let run = pool.run(&Context::background(), jobs, move |ctx, task: Task| {
        job::run(ctx, &task, &failed_once, attempts)
    })?;
    Ok(run.wait().counts)
}
