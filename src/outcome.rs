//! What a job produced: its outcome, paired with its descriptor.

use std::fmt;

use crate::job::{JobDescriptor, JobId};

/// How a job that ran ended.
///
/// More ways may be added, so a `match` on it needs a wildcard arm; one
/// without does not compile:
///
/// ```compile_fail,E0004
/// use wpool::Outcome;
///
/// fn describe(outcome: &Outcome<u32, String>) -> &'static str {
///     match outcome {
///         Outcome::Succeeded(_) => "ok",
///         Outcome::Failed(_) | Outcome::Cancelled(_) => "error",
///         Outcome::Panicked(_) => "panic",
///     }
/// }
/// ```
///
/// # Examples
///
/// ```
/// use wpool::Outcome;
///
/// let outcome: Outcome<u32, String> = Outcome::Failed("disk full".into());
/// assert!(outcome.is_failed());
/// assert_eq!(outcome.into_result().unwrap_err().to_string(), "job failed: disk full");
///
/// let describe = |outcome: &Outcome<u32, String>| match outcome {
///     Outcome::Succeeded(_) => "ok",
///     Outcome::Failed(_) | Outcome::Cancelled(_) => "error",
///     Outcome::Panicked(_) => "panic",
///     _ => "other",
/// };
/// assert_eq!(describe(&Outcome::Succeeded(1)), "ok");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome<T, E> {
    /// The job returned `Ok`.
    Succeeded(T),
    /// The job returned `Err` while the run's context was live.
    Failed(E),
    /// The job returned `Err` after the run's context was cancelled or its
    /// deadline passed: the job stopped because it was told to.
    Cancelled(E),
    /// The job panicked; the worker caught the panic and went on.
    Panicked(JobPanic),
    /// The job ran past its own deadline, in a run with a per-job timeout
    /// (see [`RunBuilder::job_timeout`](crate::RunBuilder::job_timeout)):
    /// it returned `Err` after its context ended on that deadline (the
    /// error is here), or it ignored its context and returned late (`None`:
    /// a value that came after the deadline is dropped). A run-wide cancel
    /// is [`Outcome::Cancelled`] instead.
    TimedOut(Option<E>),
}

impl<T, E> Outcome<T, E> {
    /// Returns `true` for [`Outcome::TimedOut`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Outcome;
    ///
    /// assert!(Outcome::<u32, &str>::TimedOut(Some("too slow")).is_timed_out());
    /// assert!(!Outcome::<u32, &str>::Cancelled("stopped").is_timed_out());
    /// ```
    #[must_use]
    pub fn is_timed_out(&self) -> bool {
        matches!(self, Outcome::TimedOut(_))
    }

    /// Returns `true` for [`Outcome::Succeeded`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Outcome;
    ///
    /// assert!(Outcome::<u32, ()>::Succeeded(1).is_succeeded());
    /// assert!(!Outcome::<u32, ()>::Failed(()).is_succeeded());
    /// ```
    #[must_use]
    pub fn is_succeeded(&self) -> bool {
        matches!(self, Outcome::Succeeded(_))
    }

    /// Returns `true` for [`Outcome::Failed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Outcome;
    ///
    /// assert!(Outcome::<u32, &str>::Failed("disk full").is_failed());
    /// assert!(!Outcome::<u32, &str>::Cancelled("stopped").is_failed());
    /// ```
    #[must_use]
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// Returns `true` for [`Outcome::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Outcome;
    ///
    /// assert!(Outcome::<u32, &str>::Cancelled("stopped").is_cancelled());
    /// assert!(!Outcome::<u32, &str>::Failed("disk full").is_cancelled());
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Outcome::Cancelled(_))
    }

    /// Returns `true` for [`Outcome::Panicked`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let run = pool.run(&Context::background(), [Job::new(1u64, ())], |_, ()| -> Result<(), ()> {
    ///     panic!("out of cheese")
    /// })?;
    /// let outcomes: Vec<_> = run.map(|r| r.into_outcome()).collect();
    /// assert!(outcomes[0].is_panicked());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_panicked(&self) -> bool {
        matches!(self, Outcome::Panicked(_))
    }

    /// Returns the value of a job that succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Outcome;
    ///
    /// assert_eq!(Outcome::<u32, &str>::Succeeded(7).value(), Some(&7));
    /// assert_eq!(Outcome::<u32, &str>::Failed("disk full").value(), None);
    /// ```
    pub fn value(&self) -> Option<&T> {
        match self {
            Outcome::Succeeded(value) => Some(value),
            _ => None,
        }
    }

    /// Returns the error of a job that failed, was cancelled or timed out
    /// with an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Outcome;
    ///
    /// assert_eq!(Outcome::<u32, &str>::Failed("disk full").error(), Some(&"disk full"));
    /// assert_eq!(Outcome::<u32, &str>::Cancelled("stopped").error(), Some(&"stopped"));
    /// assert_eq!(Outcome::<u32, &str>::Succeeded(7).error(), None);
    /// ```
    pub fn error(&self) -> Option<&E> {
        match self {
            Outcome::Failed(err) | Outcome::Cancelled(err) | Outcome::TimedOut(Some(err)) => {
                Some(err)
            }
            _ => None,
        }
    }

    /// Converts into a `Result`, keeping the failure's kind in
    /// [`JobFailure`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{JobFailure, Outcome};
    ///
    /// assert_eq!(Outcome::<u32, &str>::Succeeded(7).into_result(), Ok(7));
    /// let cancelled = Outcome::<u32, &str>::Cancelled("stopped").into_result();
    /// assert_eq!(cancelled, Err(JobFailure::Cancelled("stopped")));
    /// ```
    pub fn into_result(self) -> Result<T, JobFailure<E>> {
        match self {
            Outcome::Succeeded(value) => Ok(value),
            Outcome::Failed(err) => Err(JobFailure::Failed(err)),
            Outcome::Cancelled(err) => Err(JobFailure::Cancelled(err)),
            Outcome::Panicked(panic) => Err(JobFailure::Panicked(panic)),
            Outcome::TimedOut(err) => Err(JobFailure::TimedOut(err)),
        }
    }
}

/// The failing side of [`Outcome::into_result`] and
/// [`JobResult::into_result`].
///
/// Where the job's error type `E` implements `Display` (`String`, `&str`,
/// any error type), so does `JobFailure<E>`: it says which way the job
/// failed, then the job's own error (`job failed: disk on fire`). It is then
/// also an [`Error`](std::error::Error), so `?` turns it into a
/// `Box<dyn Error>`. It has no [`source`](std::error::Error::source): the
/// job's error is in the message already, and as a source too an
/// error-chain report would print it twice. Match the variant to get at the
/// error itself.
///
/// For an error type without `Display`, such as `()`, `JobFailure` has
/// neither `Display` nor `Error` (one impl cannot show the error where it
/// can and fall back to a fixed text where it cannot, and `()` cannot be
/// given a `Display` outside the standard library); its `Debug`, which
/// `unwrap` uses, works for any `E: Debug`.
///
/// # Examples
///
/// ```
/// use wpool::{JobFailure, Outcome};
///
/// fn total(outcomes: Vec<Outcome<u32, String>>) -> Result<u32, Box<dyn std::error::Error>> {
///     let mut sum = 0;
///     for outcome in outcomes {
///         sum += outcome.into_result()?;
///     }
///     Ok(sum)
/// }
///
/// assert_eq!(total(vec![Outcome::Succeeded(1), Outcome::Succeeded(2)]).unwrap(), 3);
/// let err = total(vec![Outcome::Succeeded(1), Outcome::Failed("disk on fire".into())]).unwrap_err();
/// assert_eq!(err.to_string(), "job failed: disk on fire");
///
/// let failure = Outcome::<(), std::fmt::Error>::Cancelled(std::fmt::Error).into_result().unwrap_err();
/// assert_eq!(failure, JobFailure::Cancelled(std::fmt::Error));
/// assert_eq!(failure.to_string(), "job cancelled: an error occurred when formatting an argument");
/// assert!(std::error::Error::source(&failure).is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobFailure<E> {
    /// See [`Outcome::Failed`].
    Failed(E),
    /// See [`Outcome::Cancelled`].
    Cancelled(E),
    /// See [`Outcome::Panicked`].
    Panicked(JobPanic),
    /// See [`Outcome::TimedOut`].
    TimedOut(Option<E>),
}

impl<E: fmt::Display> fmt::Display for JobFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobFailure::Failed(err) => write!(f, "job failed: {err}"),
            JobFailure::Cancelled(err) => write!(f, "job cancelled: {err}"),
            JobFailure::Panicked(panic) => fmt::Display::fmt(panic, f),
            JobFailure::TimedOut(Some(err)) => write!(f, "job timed out: {err}"),
            JobFailure::TimedOut(None) => f.write_str("job timed out"),
        }
    }
}

/// No `source`: `Display` shows the job's error already (and the bound is
/// `Display`, not `Error`, so that `String` errors work with `?`).
impl<E: fmt::Debug + fmt::Display> std::error::Error for JobFailure<E> {}

/// A panic caught in a job, with its message.
///
/// The message is made from the panic's payload, the value given to
/// `panic!` or [`panic_any`](std::panic::panic_any):
///
/// - a `&str`, `String`, `Box<str>` or `Cow<'static, str>` is the message
///   itself, as with `panic!("...")`;
/// - a primitive number, `bool` or `char`, a `Box<dyn Error + Send + Sync>`,
///   a `Box<dyn Error + Send>` or an [`io::Error`](std::io::Error) gives
///   `a panic with a payload of type u32: 42`, its type and its value (or
///   the error's message);
/// - any other payload gives `a panic with a non-string payload of unknown
///   type`, since a `Box<dyn Any>` cannot tell its type's name.
///
/// The payload itself is not kept. A `JobPanic` is `Clone`, `Eq` and
/// `Hash`, which an arbitrary payload is not (a shared, take-once payload
/// would make clones and equality say less than they seem to), and
/// dropping a payload runs its destructor: the pool does that at once, on
/// the worker and with a panicking destructor caught, instead of wherever
/// the result happens to be dropped. A job that needs a structured payload
/// back can catch its own panic with
/// [`catch_unwind`](std::panic::catch_unwind) and return it as its error.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(1).unwrap();
/// let run = pool
///     .run(&Context::background(), [Job::new(1u64, 0u32)], |_, n: u32| {
///         if n == 0 {
///             panic!("division by zero");
///         }
///         Ok::<_, String>(100 / n)
///     })
///     .unwrap();
/// let result = run.into_iter().next().unwrap();
/// assert_eq!(result.outcome().clone().into_result().unwrap_err().to_string(),
///            "job panicked: division by zero");
///
/// let run = pool
///     .run(&Context::background(), [Job::new(1, 7u32), Job::new(2, 8u32)], |_, n: u32| -> Result<(), String> {
///         if n == 7 {
///             std::panic::panic_any(n); // a u32 payload
///         }
///         std::panic::panic_any(vec![n]) // a payload of no known type
///     })
///     .unwrap();
/// let mut messages: Vec<String> = run
///     .map(|r| r.into_result().unwrap_err().to_string())
///     .collect();
/// messages.sort();
/// assert_eq!(messages, [
///     "job panicked: a panic with a non-string payload of unknown type",
///     "job panicked: a panic with a payload of type u32: 7",
/// ]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JobPanic {
    /// A thin pointer, so that an `Outcome` is no bigger than its value or
    /// error; panics are rare enough for the extra allocation.
    #[expect(
        clippy::box_collection,
        reason = "one word instead of three in every Outcome"
    )]
    message: Box<String>,
}

impl JobPanic {
    pub(crate) fn new(message: String) -> JobPanic {
        JobPanic {
            message: Box::new(message),
        }
    }

    /// The panic message.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Outcome, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let run = pool.run(&Context::background(), [Job::new(1u64, 0u32)], |_, n: u32| {
    ///     assert!(n > 0, "n must be positive, got {n}");
    ///     Ok::<_, ()>(n)
    /// })?;
    /// let Some(Outcome::Panicked(panic)) = run.map(|r| r.into_outcome()).next() else { unreachable!() };
    /// assert_eq!(panic.message(), "n must be positive, got 0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for JobPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JobPanic").field(&self.message).finish()
    }
}

impl fmt::Display for JobPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job panicked: {}", self.message)
    }
}

impl std::error::Error for JobPanic {}

/// Pins the `#[must_use]` of the `is_*` accessors: discarding one is a
/// warning, denied here.
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(outcome: &wpool::Outcome<u8, ()>) {
///     outcome.is_succeeded();
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(outcome: &wpool::Outcome<u8, ()>) {
///     outcome.is_failed();
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(outcome: &wpool::Outcome<u8, ()>) {
///     outcome.is_cancelled();
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(outcome: &wpool::Outcome<u8, ()>) {
///     outcome.is_panicked();
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(result: &wpool::JobResult<u8, ()>) {
///     result.is_succeeded();
/// }
/// ```
///
/// The same code, using the value, compiles:
///
/// ```
/// #[deny(unused_must_use)]
/// fn keep(outcome: &wpool::Outcome<u8, ()>, result: &wpool::JobResult<u8, ()>) -> [bool; 6] {
///     [
///         outcome.is_succeeded(),
///         outcome.is_failed(),
///         outcome.is_cancelled(),
///         outcome.is_panicked(),
///         result.is_succeeded(),
///         result.is_ok(),
///     ]
/// }
/// ```
#[cfg(doctest)]
struct MustUsePins;

/// One job's result: its descriptor and its [`Outcome`].
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2).unwrap();
/// let jobs = (0..4u64).map(|i| Job::new(i, i).with_kind("double"));
/// for result in pool.run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(2 * i)).unwrap() {
///     let i = result.id().as_u64().unwrap();
///     assert_eq!(result.descriptor().kind(), "double");
///     assert_eq!(result.value(), Some(&(2 * i)));
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobResult<T, E> {
    descriptor: JobDescriptor,
    outcome: Outcome<T, E>,
}

impl<T, E> JobResult<T, E> {
    pub(crate) fn new(descriptor: JobDescriptor, outcome: Outcome<T, E>) -> JobResult<T, E> {
        JobResult {
            descriptor,
            outcome,
        }
    }

    /// The place of the result's job in its run's intake.
    pub(crate) fn seq(&self) -> u64 {
        self.descriptor.seq()
    }

    /// How many times the job ran in its run: 1, or more in a run that
    /// retries failed jobs (see [`RunBuilder::retry`](crate::RunBuilder::retry));
    /// the outcome is the last attempt's. A job built from this result's
    /// descriptor starts counting afresh in the run it goes to.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let mut run = pool.run(&Context::background(), [Job::new(1, ())], |_, ()| Ok::<_, ()>(()))?;
    /// assert_eq!(run.next().unwrap().attempts(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attempts(&self) -> u32 {
        self.descriptor.attempts() + 1
    }

    /// The descriptor of the job this result belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let job = Job::new(7u64, 21u32).with_kind("double").with_meta("tenant", "acme");
    /// let result = pool.run(&Context::background(), [job], |_, n: u32| Ok::<_, ()>(2 * n))?.next().unwrap();
    /// assert_eq!(result.descriptor().kind(), "double");
    /// assert_eq!(result.descriptor().metadata().get("tenant"), Some("acme"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn descriptor(&self) -> &JobDescriptor {
        &self.descriptor
    }

    /// The job's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let jobs = [Job::new("cat.png", 21u32)];
    /// let result = pool.run(&Context::background(), jobs, |_, n: u32| Ok::<_, ()>(2 * n))?.next().unwrap();
    /// assert_eq!(result.id().as_str(), Some("cat.png"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> &JobId {
        self.descriptor.id()
    }

    /// How the job ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Outcome, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let jobs = [Job::new(1u64, "x")];
    /// let result = pool.run(&Context::background(), jobs, |_, s: &str| s.parse::<u32>())?.next().unwrap();
    /// assert!(matches!(result.outcome(), Outcome::Failed(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn outcome(&self) -> &Outcome<T, E> {
        &self.outcome
    }

    /// Returns `true` if the job succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = ["1", "two", "3"].into_iter().enumerate().map(|(i, s)| Job::new(i, s));
    /// let run = pool.run(&Context::background(), jobs, |_, s: &str| s.parse::<u32>())?;
    /// assert_eq!(run.filter(|r| r.is_ok()).count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.outcome.is_succeeded()
    }

    /// Returns `true` if the job succeeded; the same as
    /// [`is_ok`](JobResult::is_ok), named as [`Outcome::is_succeeded`] is.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = ["1", "two", "3"].into_iter().enumerate().map(|(i, s)| Job::new(i, s));
    /// let run = pool.run(&Context::background(), jobs, |_, s: &str| s.parse::<u32>())?;
    /// for result in run {
    ///     assert_eq!(result.is_succeeded(), result.outcome().is_succeeded());
    ///     assert_eq!(result.is_succeeded(), result.is_ok());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_succeeded(&self) -> bool {
        self.outcome.is_succeeded()
    }

    /// The value of a job that succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let jobs = [Job::new(1u64, "42")];
    /// let result = pool.run(&Context::background(), jobs, |_, s: &str| s.parse::<u32>())?.next().unwrap();
    /// assert_eq!(result.value(), Some(&42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self) -> Option<&T> {
        self.outcome.value()
    }

    /// The error of a job that failed or was cancelled; see
    /// [`Outcome::error`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = [Job::new(1, "x"), Job::new(2, "2")];
    /// let run = pool.run(&Context::background(), jobs, |_, s: &str| {
    ///     s.parse::<u32>().map_err(|e| format!("{s:?}: {e}"))
    /// })?;
    /// let mut results: Vec<_> = run.collect();
    /// results.sort_by_key(|r| r.id().clone());
    /// assert_eq!(results[0].error().map(String::as_str), Some("\"x\": invalid digit found in string"));
    /// assert_eq!(results[1].error(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn error(&self) -> Option<&E> {
        self.outcome.error()
    }

    /// Returns the value of a job that succeeded, dropping the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = ["1", "two", "3"].into_iter().enumerate().map(|(i, s)| Job::new(i, s));
    /// let run = pool.run(&Context::background(), jobs, |_, s: &str| s.parse::<u32>())?;
    /// let sum: u32 = run.filter_map(|r| r.into_value()).sum();
    /// assert_eq!(sum, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_value(self) -> Option<T> {
        match self.outcome {
            Outcome::Succeeded(value) => Some(value),
            _ => None,
        }
    }

    /// Returns the outcome, dropping the descriptor.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Outcome, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let jobs = [Job::new(1u64, 21u32)];
    /// let result = pool.run(&Context::background(), jobs, |_, n: u32| Ok::<_, ()>(2 * n))?.next().unwrap();
    /// assert_eq!(result.into_outcome(), Outcome::Succeeded(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_outcome(self) -> Outcome<T, E> {
        self.outcome
    }

    /// Converts into a `Result`, dropping the descriptor; see
    /// [`Outcome::into_result`]. With an error type that implements
    /// `Display`, the [`JobFailure`] is an error that `?` passes on. (To
    /// keep the job's id with its failure, use
    /// [`into_parts`](JobResult::into_parts) first.)
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// fn sum(inputs: &[&'static str]) -> Result<u32, Box<dyn std::error::Error>> {
    ///     let pool = WorkerPool::new(2)?;
    ///     let jobs = inputs.to_vec().into_iter().enumerate().map(|(i, s)| Job::new(i, s));
    ///     let run = pool.run(&Context::background(), jobs, |_, s: &str| {
    ///         s.parse::<u32>().map_err(|_| format!("not a number: {s:?}"))
    ///     })?;
    ///     let mut sum = 0;
    ///     for result in run {
    ///         sum += result.into_result()?;
    ///     }
    ///     Ok(sum)
    /// }
    ///
    /// assert_eq!(sum(&["1", "2", "3"])?, 6);
    /// assert_eq!(sum(&["1", "two"]).unwrap_err().to_string(), "job failed: not a number: \"two\"");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_result(self) -> Result<T, JobFailure<E>> {
        self.outcome.into_result()
    }

    /// Splits the result into its descriptor and outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, Outcome, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let jobs = [Job::new(7u64, 21u32).with_kind("double")];
    /// let result = pool.run(&Context::background(), jobs, |_, n: u32| Ok::<_, ()>(2 * n))?.next().unwrap();
    /// let (descriptor, outcome) = result.into_parts();
    /// assert_eq!(descriptor.kind(), "double");
    /// assert_eq!(outcome, Outcome::Succeeded(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_parts(self) -> (JobDescriptor, Outcome<T, E>) {
        (self.descriptor, self.outcome)
    }
}
