//! What a job produced: its outcome, paired with its descriptor.

use std::fmt;

use crate::{JobDescriptor, JobId};

/// How a job that ran ended.
///
/// # Examples
///
/// ```
/// use wpool::Outcome;
///
/// let outcome: Outcome<u32, String> = Outcome::Failed("disk full".into());
/// assert!(outcome.is_failed());
/// assert_eq!(outcome.into_result().unwrap_err().to_string(), "job failed");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl<T, E> Outcome<T, E> {
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

    /// Returns the error of a job that failed or was cancelled.
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
            Outcome::Failed(err) | Outcome::Cancelled(err) => Some(err),
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
        }
    }
}

/// The failing side of [`Outcome::into_result`].
///
/// Its `Display` says which way the job failed; the job's own error, if any,
/// is its [`source`](std::error::Error::source).
///
/// # Examples
///
/// ```
/// use wpool::{JobFailure, Outcome};
///
/// let failure = Outcome::<(), std::fmt::Error>::Failed(std::fmt::Error).into_result().unwrap_err();
/// assert_eq!(failure, JobFailure::Failed(std::fmt::Error));
/// assert_eq!(failure.to_string(), "job failed");
/// assert!(std::error::Error::source(&failure).is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobFailure<E> {
    /// See [`Outcome::Failed`].
    Failed(E),
    /// See [`Outcome::Cancelled`].
    Cancelled(E),
    /// See [`Outcome::Panicked`].
    Panicked(JobPanic),
}

impl<E> fmt::Display for JobFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobFailure::Failed(_) => f.write_str("job failed"),
            JobFailure::Cancelled(_) => f.write_str("job cancelled"),
            JobFailure::Panicked(panic) => fmt::Display::fmt(panic, f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for JobFailure<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobFailure::Failed(err) | JobFailure::Cancelled(err) => Some(err),
            // Display already shows the panic's message; as a source too, an
            // error-chain report would print it twice.
            JobFailure::Panicked(_) => None,
        }
    }
}

/// A panic caught in a job, with its message.
///
/// The message is the panic's `&str` or `String` payload; other payloads
/// are reported as `"Box<dyn Any>"`, as the standard library does.
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
///         Ok::<_, ()>(100 / n)
///     })
///     .unwrap();
/// let result = run.into_iter().next().unwrap();
/// assert_eq!(result.outcome().clone().into_result().unwrap_err().to_string(),
///            "job panicked: division by zero");
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
    pub fn is_ok(&self) -> bool {
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
