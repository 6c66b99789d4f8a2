//! What a run may do around each job besides running it: the opt-in
//! policies of [`RunBuilder`](crate::RunBuilder) (fail-fast, a per-job
//! timeout, retries, a start rate). The worker asks its run's policy at
//! each step; a plain run's policy is [`NoPolicy`], whose answers are
//! constants the compiler folds away, so a policy that is off costs
//! nothing.

use std::time::Duration;

use crate::engine::rate::StartRate;
use crate::outcome::Outcome;

pub(crate) trait Policy<A, T, E>: Send + Sync {
    /// Whether any step below may do anything. When not, the worker runs
    /// the jobs without asking: a plain run (whose answer is a constant
    /// that compiles the question away) and a run whose builder set only
    /// worker state or hooks take the loop they took before there were
    /// policies.
    fn is_active(&self) -> bool {
        true
    }

    /// Whether the run fails fast at all: when not, `trips` is not asked.
    fn fails_fast(&self) -> bool {
        false
    }

    /// Whether the run retries at all: when not, `keep_for_retry` and
    /// `retry_after` are not asked.
    fn retries(&self) -> bool {
        false
    }

    /// Whether `outcome` cancels the run (fail-fast).
    fn trips(&self, _outcome: &Outcome<T, E>) -> bool {
        false
    }

    /// A copy of a job's arguments for another attempt, if the run retries
    /// jobs; taken before the job runs, since the job consumes them.
    fn keep_for_retry(&self, _args: &A) -> Option<A> {
        None
    }

    /// How long to wait before trying a job again after `outcome`, its
    /// attempt number `attempt` (0 for the first); `None` if it is not
    /// tried again.
    fn retry_after(&self, _outcome: &Outcome<T, E>, _attempt: u32) -> Option<Duration> {
        None
    }

    /// Each job's own timeout, if it has one.
    fn job_timeout(&self) -> Option<Duration> {
        None
    }

    /// The limit on job starts, if there is one.
    fn start_rate(&self) -> Option<&StartRate> {
        None
    }
}

/// The policy of a plain run: none.
pub(crate) struct NoPolicy;

impl<A, T, E> Policy<A, T, E> for NoPolicy {
    fn is_active(&self) -> bool {
        false
    }
}
