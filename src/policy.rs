//! Per-run policies: fail-fast, a per-job timeout, retries, a start rate,
//! and per-worker state, set on a [`RunBuilder`] and composed freely.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::context::Context;
use crate::engine::{Detached, Engine, Input, Policy, StartRate, Task};
use crate::error::{InitError, StartError};
use crate::job::Job;
use crate::outcome::Outcome;
use crate::pool::WorkerPool;
use crate::run::Run;
use crate::submit::Submitter;

type Predicate<V> = Arc<dyn Fn(&V) -> bool + Send + Sync>;

/// The most attempts a job may make (its attempts are counted in 16 bits
/// beside its place in the intake).
const MAX_ATTEMPTS: u32 = 1 << 16;

/// Clones a job's arguments for another attempt.
type CloneArgs<A> = fn(&A) -> A;

/// Configures the policies of one run, started with [`run`](RunBuilder::run)
/// or [`start`](RunBuilder::start); from [`WorkerPool::run_builder`].
///
/// Every policy is off unless set, and they compose: a run may fail fast,
/// give each job a timeout, retry failed jobs, limit its start rate and
/// keep state per worker, all at once. Each keeps the pool's guarantees:
/// every job gives exactly one result or comes back unstarted, a cancel
/// wakes every wait a policy adds, and no thread outlives the run. The
/// pool's own settings (order, window, capacities) apply as for
/// [`WorkerPool::run`].
///
/// `A`, `T` and `E` are the run's argument, value and error types, inferred
/// from the job function.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use wpool::{Context, Job, Retry, WorkerPool};
///
/// let pool = WorkerPool::new(4)?;
/// let run = pool
///     .run_builder()
///     .fail_fast()
///     .job_timeout(Duration::from_secs(5))
///     .retry(Retry::attempts(3).fixed(Duration::from_millis(1)))
///     .start_rate(10_000, 100)
///     .worker_state(|| Ok::<_, String>(Vec::<u8>::with_capacity(1024)))
///     .run(&Context::background(), (0..100u32).map(|i| Job::new(i, i)), |buf, _ctx, i| {
///         buf.clear();
///         buf.extend_from_slice(&i.to_le_bytes());
///         Ok::<_, String>(buf.len())
///     })?;
/// assert_eq!(run.filter_map(|r| r.into_value()).sum::<usize>(), 400);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a RunBuilder does nothing until `run` or `start`"]
pub struct RunBuilder<A, T, E, State = NoState> {
    pool: WorkerPool,
    state: State,
    policies: Policies<A, T, E>,
}

/// The state of a [`RunBuilder`] whose workers keep none: its job
/// function takes `|ctx, args|`, until
/// [`worker_state`](RunBuilder::worker_state) gives each worker a state.
///
/// # Examples
///
/// ```
/// use wpool::{NoState, RunBuilder, WorkerPool};
///
/// let pool = WorkerPool::new(2)?;
/// let builder: RunBuilder<u32, u32, (), NoState> = pool.run_builder();
/// # drop(builder);
/// # Ok::<(), wpool::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoState;

/// How a run retries jobs that failed: how many attempts in all, how long
/// to wait between them, and which errors are worth another attempt. Set
/// with [`RunBuilder::retry`].
///
/// A job that returned `Err` ([`Outcome::Failed`]) or ran past its timeout
/// ([`Outcome::TimedOut`]) is tried again, with the arguments it was given
/// first (a clone), until it succeeds or has made its attempts; its result
/// then carries the last attempt's outcome and
/// [`attempts`](crate::JobResult::attempts). A panic is never retried (it
/// is a bug, not bad luck), nor is a job of a cancelled run. A job waiting
/// out its back-off waits in the run, not on a worker: other jobs run
/// meanwhile, and a cancel ends the wait at once (the job then comes back
/// with its last failure).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use wpool::Retry;
///
/// // Up to 5 attempts, waiting 10, 20, 40, 80 ms (at most 1 s) between
/// // them, each wait up to 20% shorter or longer, for errors that say so.
/// let retry = Retry::attempts(5)
///     .exponential(Duration::from_millis(10), Duration::from_secs(1))
///     .jitter(0.2)
///     .when(|err: &std::io::Error| err.kind() == std::io::ErrorKind::TimedOut);
/// assert_eq!(retry.max_attempts(), 5);
/// ```
pub struct Retry<E> {
    attempts: u32,
    first_delay: Duration,
    max_delay: Duration,
    exponential: bool,
    jitter: f64,
    when: Option<Predicate<E>>,
}

impl<E> Retry<E> {
    /// At most `attempts` attempts per job in all (the first included; 0
    /// counts as 1, and more than [`u16::MAX`] + 1 as that many), with no wait between them until
    /// [`fixed`](Retry::fixed) or [`exponential`](Retry::exponential) sets
    /// one.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Retry;
    ///
    /// assert_eq!(Retry::<()>::attempts(3).max_attempts(), 3);
    /// assert_eq!(Retry::<()>::attempts(0).max_attempts(), 1);
    /// ```
    pub fn attempts(attempts: u32) -> Retry<E> {
        Retry {
            attempts: attempts.clamp(1, MAX_ATTEMPTS),
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            exponential: false,
            jitter: 0.0,
            when: None,
        }
    }

    /// Waits `delay` before each new attempt (at most a year: a longer
    /// wait is a year, which a cancel ends like any other).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::Retry;
    ///
    /// let retry = Retry::<()>::attempts(3).fixed(Duration::from_millis(100));
    /// assert_eq!(retry.delay_before(2), Duration::from_millis(100));
    /// ```
    #[must_use]
    pub fn fixed(mut self, delay: Duration) -> Retry<E> {
        self.first_delay = delay;
        self.max_delay = delay;
        self.exponential = false;
        self
    }

    /// Waits `first` before the second attempt, and twice as long before
    /// each one after, up to `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::Retry;
    ///
    /// let ms = Duration::from_millis;
    /// let retry = Retry::<()>::attempts(6).exponential(ms(10), ms(50));
    /// let delays: Vec<_> = (1..6).map(|attempt| retry.delay_before(attempt + 1)).collect();
    /// assert_eq!(delays, [ms(10), ms(20), ms(40), ms(50), ms(50)]);
    /// ```
    #[must_use]
    pub fn exponential(mut self, first: Duration, max: Duration) -> Retry<E> {
        self.first_delay = first;
        self.max_delay = max.max(first);
        self.exponential = true;
        self
    }

    /// Makes each wait up to `fraction` (0 to 1) shorter or longer, at
    /// random, so that jobs that failed together do not all try again at
    /// the same moment.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::Retry;
    ///
    /// let retry = Retry::<()>::attempts(2).fixed(Duration::from_millis(100)).jitter(0.5);
    /// assert_eq!(retry.delay_before(2), Duration::from_millis(100), "before jitter");
    /// ```
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Retry<E> {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Retries only errors for which `retryable` returns `true` (a job that
    /// timed out without an error is then not retried).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Retry;
    ///
    /// let retry = Retry::attempts(3).when(|status: &u16| *status >= 500);
    /// # drop(retry);
    /// ```
    #[must_use]
    pub fn when(mut self, retryable: impl Fn(&E) -> bool + Send + Sync + 'static) -> Retry<E> {
        self.when = Some(Arc::new(retryable));
        self
    }

    /// The most attempts a job makes.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Retry;
    ///
    /// assert_eq!(Retry::<()>::attempts(4).max_attempts(), 4);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before attempt number `attempt` (2 for the first retry),
    /// before jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::Retry;
    ///
    /// let retry = Retry::<()>::attempts(3).exponential(Duration::from_millis(5), Duration::from_secs(1));
    /// assert_eq!(retry.delay_before(3), Duration::from_millis(10));
    /// ```
    pub fn delay_before(&self, attempt: u32) -> Duration {
        if !self.exponential {
            return self.first_delay;
        }
        let doublings = attempt.saturating_sub(2);
        1u32.checked_shl(doublings)
            .and_then(|factor| self.first_delay.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }

    /// Whether an attempt that ended in `outcome` is worth another.
    fn retries<T>(&self, outcome: &Outcome<T, E>) -> bool {
        match (outcome, &self.when) {
            (Outcome::Failed(err) | Outcome::TimedOut(Some(err)), Some(when)) => when(err),
            (Outcome::TimedOut(None), Some(_)) => false,
            (Outcome::Failed(_) | Outcome::TimedOut(_), None) => true,
            _ => false,
        }
    }
}

impl<E> Clone for Retry<E> {
    fn clone(&self) -> Retry<E> {
        Retry {
            when: self.when.clone(),
            ..*self
        }
    }
}

impl<E> fmt::Debug for Retry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("attempts", &self.attempts)
            .field("first_delay", &self.first_delay)
            .field("max_delay", &self.max_delay)
            .field("exponential", &self.exponential)
            .field("jitter", &self.jitter)
            .field("when", &self.when.is_some())
            .finish()
    }
}

/// The policies of one run, as the engine asks them (see
/// `engine/policy.rs`).
struct Policies<A, T, E> {
    fail_fast: Option<Predicate<Outcome<T, E>>>,
    job_timeout: Option<Duration>,
    retry: Option<(Retry<E>, CloneArgs<A>)>,
    start_rate: Option<(u32, u32)>,
}

/// The policies with the engine's start-rate limiter made for one run.
struct RunPolicies<A, T, E> {
    policies: Policies<A, T, E>,
    start_rate: Option<StartRate>,
    /// Varies the jitter from one retry to the next.
    jitter_seed: AtomicU64,
}

impl<A, T, E> Policy<A, T, E> for RunPolicies<A, T, E> {
    fn is_active(&self) -> bool {
        let Policies {
            fail_fast,
            job_timeout,
            retry,
            start_rate,
        } = &self.policies;
        fail_fast.is_some() || job_timeout.is_some() || retry.is_some() || start_rate.is_some()
    }

    fn fails_fast(&self) -> bool {
        self.policies.fail_fast.is_some()
    }

    fn retries(&self) -> bool {
        self.policies.retry.is_some()
    }

    fn trips(&self, outcome: &Outcome<T, E>) -> bool {
        self.policies
            .fail_fast
            .as_ref()
            .is_some_and(|trips| trips(outcome))
    }

    fn keep_for_retry(&self, args: &A) -> Option<A> {
        self.policies.retry.as_ref().map(|(_, clone)| clone(args))
    }

    fn retry_after(&self, outcome: &Outcome<T, E>, attempt: u32) -> Option<Duration> {
        let (retry, _) = self.policies.retry.as_ref()?;
        // `attempt` attempts ran before this one.
        let made = attempt + 1;
        if made >= retry.attempts || !retry.retries(outcome) {
            return None;
        }
        let delay = retry.delay_before(made + 1);
        if retry.jitter == 0.0 {
            return Some(delay);
        }
        let random = next_random(&self.jitter_seed);
        let factor = 1.0 + retry.jitter * (2.0 * random - 1.0);
        // A delay too long to scale stays as it is.
        Some(Duration::try_from_secs_f64(delay.as_secs_f64() * factor.max(0.0)).unwrap_or(delay))
    }

    fn job_timeout(&self) -> Option<Duration> {
        self.policies.job_timeout
    }

    fn start_rate(&self) -> Option<&StartRate> {
        self.start_rate.as_ref()
    }
}

/// A number in [0, 1) from a shared xorshift state: jitter needs spread,
/// not quality.
fn next_random(state: &AtomicU64) -> f64 {
    let mut x = state.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl WorkerPool {
    /// Returns a [`RunBuilder`] to start a run of this pool with policies:
    /// fail-fast, a per-job timeout, retries, a start rate, per-worker
    /// state.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool.run_builder().fail_fast().run(&Context::background(), (0..10u32).map(|i| Job::new(i, i)), |_, i| {
    ///     if i == 3 { Err("three") } else { Ok(i) }
    /// })?;
    /// let summary = run.wait();
    /// assert_eq!(summary.tripped_by.map(|job| job.id().as_u64()), Some(Some(3)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_builder<A, T, E>(&self) -> RunBuilder<A, T, E> {
        RunBuilder {
            pool: self.clone(),
            state: NoState,
            policies: Policies {
                fail_fast: None,
                job_timeout: None,
                retry: None,
                start_rate: None,
            },
        }
    }
}

impl<A, T, E, State> RunBuilder<A, T, E, State> {
    /// Cancels the run at the first job that fails, panics or times out.
    /// That job keeps its own outcome and is named by
    /// [`Summary::tripped_by`](crate::Summary::tripped_by); the jobs
    /// running then see the run's context cancelled, and the rest come back
    /// unstarted. A worker starts no job after it, except one it had
    /// already begun to start.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = (0..10_000u32).map(|i| Job::new(i, i));
    /// let run = pool.run_builder().fail_fast().run(&Context::background(), jobs, |_, i| {
    ///     if i == 100 { Err(format!("{i} is bad")) } else { Ok(i) }
    /// })?;
    /// let summary = run.wait();
    /// assert_eq!(summary.counts.failed, 1);
    /// assert!(summary.counts.unstarted > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail_fast(self) -> Self {
        self.fail_fast_when(|outcome| {
            matches!(
                outcome,
                Outcome::Failed(_) | Outcome::Panicked(_) | Outcome::TimedOut(_)
            )
        })
    }

    /// Cancels the run at the first job whose outcome `trips` says should,
    /// as [`fail_fast`](RunBuilder::fail_fast) does at any failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Outcome, WorkerPool};
    ///
    /// // Missing files are fine; anything else stops the run.
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = ["a", "missing", "b"].into_iter().enumerate().map(|(i, name)| Job::new(i, name));
    /// let run = pool
    ///     .run_builder()
    ///     .fail_fast_when(|outcome: &Outcome<usize, String>| {
    ///         outcome.error().is_some_and(|err| !err.starts_with("not found"))
    ///     })
    ///     .run(&Context::background(), jobs, |_, name| {
    ///         if name == "missing" { Err(format!("not found: {name}")) } else { Ok(name.len()) }
    ///     })?;
    /// let summary = run.wait();
    /// assert_eq!(summary.tripped_by, None);
    /// assert_eq!((summary.counts.succeeded, summary.counts.failed), (2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail_fast_when(
        mut self,
        trips: impl Fn(&Outcome<T, E>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.policies.fail_fast = Some(Arc::new(trips));
        self
    }

    /// Gives each job a context of its own that ends `timeout` after the
    /// job starts (or with the run's). A job that returns `Err` after its
    /// own deadline, or returns at all after it, is
    /// [`Outcome::TimedOut`], not cancelled; the run goes on.
    ///
    /// A thread cannot be stopped from outside: the timeout ends the job's
    /// context, and the job must look at it (`ctx.check()?`,
    /// [`Context::sleep`], a `select!` on [`Context::done`]) to stop. A job
    /// that never looks runs to its end and is then reported as timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, Outcome, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = [Job::new("fast", 1u64), Job::new("slow", 10_000)];
    /// let run = pool
    ///     .run_builder()
    ///     .job_timeout(Duration::from_millis(50))
    ///     .run(&Context::background(), jobs, |ctx, ms| {
    ///         ctx.sleep(Duration::from_millis(ms))?;
    ///         Ok::<_, wpool::ContextError>(ms)
    ///     })?;
    /// for result in run {
    ///     match result.id().as_str() {
    ///         Some("fast") => assert_eq!(result.value(), Some(&1)),
    ///         _ => assert!(result.outcome().is_timed_out()),
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn job_timeout(mut self, timeout: Duration) -> Self {
        self.policies.job_timeout = Some(timeout);
        self
    }

    /// Retries jobs that fail, as `retry` says (see [`Retry`]). The jobs'
    /// arguments are cloned before each attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use wpool::{Context, Job, Retry, WorkerPool};
    ///
    /// let calls = AtomicU32::new(0);
    /// let pool = WorkerPool::new(1)?;
    /// let flaky = std::sync::Arc::new(calls);
    /// let seen = flaky.clone();
    /// let mut run = pool
    ///     .run_builder()
    ///     .retry(Retry::attempts(3))
    ///     .run(&Context::background(), [Job::new(1, ())], move |_, ()| {
    ///         // Fails twice, then succeeds.
    ///         if seen.fetch_add(1, Ordering::SeqCst) < 2 { Err("flaky") } else { Ok("done") }
    ///     })?;
    /// let result = run.next().unwrap();
    /// assert_eq!((result.value(), result.attempts()), (Some(&"done"), 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry(mut self, retry: Retry<E>) -> Self
    where
        A: Clone,
    {
        self.policies.retry = Some((retry, A::clone));
        self
    }

    /// Starts at most `per_second` jobs a second across the run's workers,
    /// and at most `burst` (at least 1) at once after a quiet spell: in any
    /// one-second window, at most `per_second + burst - 1` jobs start. A
    /// worker waiting for its turn wakes at once on a cancel (its job then
    /// comes back unstarted). A `per_second` of 0 counts as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(4)?;
    /// let started = Instant::now();
    /// let run = pool
    ///     .run_builder()
    ///     .start_rate(100, 1)
    ///     .run(&Context::background(), (0..11u32).map(|i| Job::new(i, i)), |_, i| Ok::<_, ()>(i))?;
    /// assert_eq!(run.count(), 11);
    /// // Eleven starts 10 ms apart.
    /// assert!(started.elapsed() >= Duration::from_millis(100));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_rate(mut self, per_second: u32, burst: u32) -> Self {
        self.policies.start_rate = Some((per_second.max(1), burst.max(1)));
        self
    }

    /// Gives each worker a state of its own, made by `init` once on the
    /// worker's thread before the run takes any job in, handed to the job
    /// function as `&mut` for every job the worker runs (a buffer, a
    /// connection, a random number generator), and dropped on that thread
    /// when the worker leaves. The job function then takes the state first:
    /// `|state, ctx, args|`.
    ///
    /// If `init` fails (or panics) on any worker, the run does not start:
    /// [`run`](RunBuilder::run) returns [`InitError`] and takes no job in.
    /// `run` waits for every worker's `init` to return, whatever the
    /// context: an `init` that blocks (a connection with no timeout) keeps
    /// `run` from returning, so give it a timeout of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool
    ///     .run_builder()
    ///     .worker_state(|| Ok::<_, std::convert::Infallible>(String::with_capacity(64)))
    ///     .run(&Context::background(), (0..5u32).map(|i| Job::new(i, i)), |line, _, i| {
    ///         line.clear(); // reused: allocated once per worker, not per job
    ///         line.push_str(&format!("job {i}"));
    ///         Ok::<_, ()>(line.len())
    ///     })?;
    /// assert_eq!(run.filter_map(|r| r.into_value()).sum::<usize>(), 25);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker_state<S, IE, Init>(self, init: Init) -> RunBuilder<A, T, E, Init>
    where
        Init: Fn() -> Result<S, IE> + Send + Sync + 'static,
    {
        RunBuilder {
            pool: self.pool,
            state: init,
            policies: self.policies,
        }
    }

    /// The task and policies for the engine.
    fn into_parts(self) -> (WorkerPool, State, RunPolicies<A, T, E>) {
        let start_rate = self
            .policies
            .start_rate
            .map(|(per_second, burst)| StartRate::new(f64::from(per_second), burst));
        let policies = RunPolicies {
            policies: self.policies,
            start_rate,
            jitter_seed: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        };
        (self.pool, self.state, policies)
    }
}

impl<A, T, E> RunBuilder<A, T, E, NoState>
where
    A: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// Starts a batch run with these policies, like [`WorkerPool::run`].
    ///
    /// # Errors
    ///
    /// As [`WorkerPool::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool
    ///     .run_builder()
    ///     .job_timeout(Duration::from_secs(1))
    ///     .run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i| Ok::<_, ()>(i * 2))?;
    /// assert_eq!(run.filter_map(|r| r.into_value()).sum::<u64>(), 90);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<I, F>(self, ctx: &Context, jobs: I, f: F) -> Result<Run<A, T, E>, StartError>
    where
        I: IntoIterator<Item = Job<A>>,
        I::IntoIter: Send + 'static,
        F: Fn(&Context, A) -> Result<T, E> + Send + Sync + 'static,
    {
        // Before any thread starts: a panic here leaves nothing running.
        let input = Some(Input::owned(jobs.into_iter()));
        let (_, run) = self
            .worker_state(|| Ok::<(), Infallible>(()))
            .launch(
                ctx,
                input,
                move |_: &mut (), ctx: &Context, args| f(ctx, args),
                false,
            )
            .map_err(InitError::into_start_error)?;
        Ok(run)
    }

    /// Starts a run fed by a [`Submitter`] with these policies, like
    /// [`WorkerPool::start`].
    ///
    /// # Errors
    ///
    /// As [`WorkerPool::start`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let (submitter, run) = pool.run_builder().fail_fast().start(&Context::background(), |_, n: u32| Ok::<_, ()>(n))?;
    /// submitter.submit(Job::new(1, 41))?;
    /// drop(submitter);
    /// assert_eq!(run.filter_map(|r| r.into_value()).sum::<u32>(), 41);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[expect(clippy::type_complexity, reason = "a pair of two public types")]
    pub fn start<F>(self, ctx: &Context, f: F) -> Result<(Submitter<A>, Run<A, T, E>), StartError>
    where
        F: Fn(&Context, A) -> Result<T, E> + Send + Sync + 'static,
    {
        let no_input = None::<Input<std::iter::Empty<Job<A>>, A>>;
        let (engine, run) = self
            .worker_state(|| Ok::<(), Infallible>(()))
            .launch(
                ctx,
                no_input,
                move |_: &mut (), ctx: &Context, args| f(ctx, args),
                false,
            )
            .map_err(InitError::into_start_error)?;
        Ok((Submitter::new(engine), run))
    }
}

impl<A, T, E, S, IE, Init> RunBuilder<A, T, E, Init>
where
    Init: Fn() -> Result<S, IE> + Send + Sync + 'static,
    IE: Send + 'static,
    A: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// Starts a batch run whose workers keep state, like
    /// [`WorkerPool::run`]; the job function takes the worker's state
    /// first. See [`worker_state`](RunBuilder::worker_state).
    ///
    /// # Errors
    ///
    /// [`InitError`] if a thread could not start or a worker's state could
    /// not be made; no job was taken from `jobs`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool
    ///     .run_builder()
    ///     .worker_state(|| Ok::<_, String>(0u64)) // jobs this worker ran
    ///     .run(&Context::background(), (0..100u32).map(|i| Job::new(i, i)), |ran, _, _| {
    ///         *ran += 1;
    ///         Ok::<_, ()>(*ran)
    ///     })?;
    /// assert_eq!(run.count(), 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<I, F>(self, ctx: &Context, jobs: I, f: F) -> Result<Run<A, T, E>, InitError<IE>>
    where
        I: IntoIterator<Item = Job<A>>,
        I::IntoIter: Send + 'static,
        F: Fn(&mut S, &Context, A) -> Result<T, E> + Send + Sync + 'static,
        S: 'static,
    {
        // Before any thread starts: a panic here leaves nothing running.
        let input = Some(Input::owned(jobs.into_iter()));
        let (_, run) = self.launch(ctx, input, f, true)?;
        Ok(run)
    }

    /// Starts a run fed by a [`Submitter`] whose workers keep state, like
    /// [`WorkerPool::start`].
    ///
    /// # Errors
    ///
    /// As [`run`](RunBuilder::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let (submitter, run) = pool
    ///     .run_builder()
    ///     .worker_state(|| Ok::<_, String>(Vec::new()))
    ///     .start(&Context::background(), |seen: &mut Vec<u32>, _, n: u32| {
    ///         seen.push(n);
    ///         Ok::<_, ()>(seen.len())
    ///     })?;
    /// submitter.submit(Job::new(1, 7))?;
    /// drop(submitter);
    /// assert_eq!(run.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[expect(clippy::type_complexity, reason = "a pair of two public types")]
    pub fn start<F>(
        self,
        ctx: &Context,
        f: F,
    ) -> Result<(Submitter<A>, Run<A, T, E>), InitError<IE>>
    where
        F: Fn(&mut S, &Context, A) -> Result<T, E> + Send + Sync + 'static,
        S: 'static,
    {
        let no_input = None::<Input<std::iter::Empty<Job<A>>, A>>;
        let (engine, run) = self.launch(ctx, no_input, f, true)?;
        Ok((Submitter::new(engine), run))
    }

    /// Starts the run's threads with these policies.
    #[expect(clippy::type_complexity, reason = "the engine and its handle")]
    fn launch<I, F>(
        self,
        ctx: &Context,
        input: Option<Input<I, A>>,
        f: F,
        waits_for_init: bool,
    ) -> Result<(Arc<Engine<'static, A, T, E>>, Run<A, T, E>), InitError<IE>>
    where
        I: Iterator<Item = Job<A>> + Send + 'static,
        F: Fn(&mut S, &Context, A) -> Result<T, E> + Send + Sync + 'static,
        S: 'static,
    {
        let (pool, init, policy) = self.into_parts();
        let window = pool.window(pool.order());
        let task = Task {
            init,
            f,
            policy,
            waits_for_init,
        };
        pool.launch(&Detached, ctx, task, input, window)
    }
}

impl<A, T, E, State> fmt::Debug for RunBuilder<A, T, E, State> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policies = &self.policies;
        f.debug_struct("RunBuilder")
            .field("pool", &self.pool)
            .field("fail_fast", &policies.fail_fast.is_some())
            .field("job_timeout", &policies.job_timeout)
            .field("retry", &policies.retry.as_ref().map(|(retry, _)| retry))
            .field("start_rate", &policies.start_rate)
            .finish_non_exhaustive()
    }
}
