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
    pub fn is_succeeded(&self) -> bool {
        matches!(self, Outcome::Succeeded(_))
    }

    /// Returns `true` for [`Outcome::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// Returns `true` for [`Outcome::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Outcome::Cancelled(_))
    }

    /// Returns `true` for [`Outcome::Panicked`].
    pub fn is_panicked(&self) -> bool {
        matches!(self, Outcome::Panicked(_))
    }

    /// Returns the value of a job that succeeded.
    pub fn value(&self) -> Option<&T> {
        match self {
            Outcome::Succeeded(value) => Some(value),
            _ => None,
        }
    }

    /// Returns the error of a job that failed or was cancelled.
    pub fn error(&self) -> Option<&E> {
        match self {
            Outcome::Failed(err) | Outcome::Cancelled(err) => Some(err),
            _ => None,
        }
    }

    /// Converts into a `Result`, keeping the failure's kind in
    /// [`JobFailure`].
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
            JobFailure::Panicked(panic) => Some(panic),
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
    pub fn descriptor(&self) -> &JobDescriptor {
        &self.descriptor
    }

    /// The job's id.
    pub fn id(&self) -> &JobId {
        self.descriptor.id()
    }

    /// How the job ended.
    pub fn outcome(&self) -> &Outcome<T, E> {
        &self.outcome
    }

    /// Returns `true` if the job succeeded.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_succeeded()
    }

    /// The value of a job that succeeded.
    pub fn value(&self) -> Option<&T> {
        self.outcome.value()
    }

    /// Returns the value of a job that succeeded, dropping the rest.
    pub fn into_value(self) -> Option<T> {
        match self.outcome {
            Outcome::Succeeded(value) => Some(value),
            _ => None,
        }
    }

    /// Returns the outcome, dropping the descriptor.
    pub fn into_outcome(self) -> Outcome<T, E> {
        self.outcome
    }

    /// Splits the result into its descriptor and outcome.
    pub fn into_parts(self) -> (JobDescriptor, Outcome<T, E>) {
        (self.descriptor, self.outcome)
    }
}
