//! The baseline: the same jobs in one process, without the broker.

use std::sync::Arc;
use std::time::Duration;

use wpool::{Context, Counts, Job, Retry, WorkerPool};

use crate::job::{self, FailedOnce, JobError, Plan, Task};

/// Runs every job of `plan` on one pool of `threads` threads, with the
/// worker's retry policy, and returns the run's counts.
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
    let retry = Retry::attempts(attempts)
        .exponential(Duration::from_millis(1), Duration::from_millis(100))
        .when(|e: &JobError| e.transient);
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
    let run = pool.run_builder().retry(retry).run(
        &Context::background(),
        jobs,
        move |_ctx, task: Task| job::run(&task, &failed_once),
    )?;
    Ok(run.wait().counts)
}
