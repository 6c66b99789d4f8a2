//! Error values. Every error of an operation that was handed a job gives the
//! job back.

use std::error::Error;
use std::fmt;
use std::io;

use crate::outcome::JobPanic;

/// Why a [`Context`](crate::Context) ended.
///
/// # Examples
///
/// ```
/// use wpool::{Context, ContextError};
///
/// let ctx = Context::with_cancel(&Context::background());
/// ctx.cancel();
/// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
/// assert_eq!(ContextError::Cancelled.to_string(), "context cancelled");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// [`Context::cancel`](crate::Context::cancel) was called on the context
    /// or on one of its ancestors.
    Cancelled,
    /// The deadline of the context, or of one of its ancestors, passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Cancelled => "context cancelled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl Error for ContextError {}

impl From<ContextError> for String {
    /// Returns the error's message, so that `ctx.check()?` and
    /// `ctx.sleep(..)?` work in a job whose error type is `String`.
    /// (Boxed errors, `Box<dyn Error + Send + Sync>` and the like, take a
    /// `ContextError` through the standard library's own conversion.)
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, ContextError};
    ///
    /// fn step(ctx: &Context) -> Result<u32, String> {
    ///     ctx.check()?;
    ///     Ok(1)
    /// }
    /// let ctx = Context::with_cancel(&Context::background());
    /// assert_eq!(step(&ctx), Ok(1));
    /// ctx.cancel();
    /// assert_eq!(step(&ctx), Err("context cancelled".to_string()));
    /// assert_eq!(String::from(ContextError::DeadlineExceeded), "context deadline exceeded");
    /// ```
    fn from(err: ContextError) -> String {
        err.to_string()
    }
}

/// A [`Builder`](crate::Builder) was given a configuration no pool can run.
///
/// # Examples
///
/// ```
/// use wpool::{BuildError, WorkerPool};
///
/// let err = WorkerPool::new(0).unwrap_err();
/// assert_eq!(err, BuildError::ZeroWorkers);
/// assert_eq!(err.to_string(), "a worker pool needs at least one worker");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// The pool was asked for zero workers.
    ZeroWorkers,
    /// The thread name prefix holds a NUL byte, which no thread name may
    /// hold.
    ///
    /// ```
    /// use wpool::{BuildError, WorkerPool};
    ///
    /// let err = WorkerPool::builder().thread_name("bad\0name").build().unwrap_err();
    /// assert_eq!(err, BuildError::NulInThreadName);
    /// assert_eq!(err.to_string(), "a thread name cannot hold a NUL byte");
    /// ```
    NulInThreadName,
    /// More workers than [`MAX_WORKERS`](crate::MAX_WORKERS).
    ///
    /// ```
    /// use wpool::{BuildError, WorkerPool};
    ///
    /// let err = WorkerPool::new(usize::MAX).unwrap_err();
    /// assert!(matches!(err, BuildError::TooManyWorkers { requested: usize::MAX, .. }));
    /// assert!(err.to_string().starts_with("too many workers"));
    /// ```
    TooManyWorkers {
        /// The number asked for.
        requested: usize,
        /// The most a pool may have.
        max: usize,
    },
    /// A thread stack larger than [`MAX_STACK_SIZE`](crate::MAX_STACK_SIZE).
    ///
    /// ```
    /// use wpool::{BuildError, WorkerPool};
    ///
    /// let err = WorkerPool::builder().stack_size(usize::MAX).build().unwrap_err();
    /// assert!(matches!(err, BuildError::StackTooLarge { .. }));
    /// ```
    StackTooLarge {
        /// The size asked for, in bytes.
        requested: usize,
        /// The largest size allowed, in bytes.
        max: usize,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => f.write_str("a worker pool needs at least one worker"),
            BuildError::NulInThreadName => f.write_str("a thread name cannot hold a NUL byte"),
            BuildError::TooManyWorkers { requested, max } => {
                write!(f, "too many workers: {requested} asked for, at most {max}")
            }
            BuildError::StackTooLarge { requested, max } => {
                write!(
                    f,
                    "thread stack too large: {requested} bytes asked for, at most {max}"
                )
            }
        }
    }
}

impl Error for BuildError {}

/// The operating system refused to start one of a run's threads.
///
/// By the time this error is returned, the threads that did start have been
/// stopped and joined, and no job has run.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// // No system grants a 1 TiB stack.
/// let pool = WorkerPool::builder().workers(2).stack_size(wpool::MAX_STACK_SIZE).build().unwrap();
/// let err = pool
///     .run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, n: u64| Ok::<_, ()>(n))
///     .unwrap_err();
/// assert!(err.thread_name().starts_with("wpool-"));
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug)]
pub struct StartError {
    thread_name: String,
    source: io::Error,
}

impl StartError {
    pub(crate) fn new(thread_name: String, source: io::Error) -> StartError {
        StartError {
            thread_name,
            source,
        }
    }

    /// The name of the thread that could not be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// // No system grants a 1 TiB stack.
    /// let pool = WorkerPool::builder().thread_name("resizer").stack_size(wpool::MAX_STACK_SIZE).build()?;
    /// let jobs = (0..10u64).map(|i| Job::new(i, i));
    /// let err = pool.run(&Context::background(), jobs, |_, n: u64| Ok::<_, ()>(n)).unwrap_err();
    /// assert!(err.thread_name().starts_with("resizer-"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn thread_name(&self) -> &str {
        &self.thread_name
    }

    /// Returns the operating system's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// // No system grants a 1 TiB stack.
    /// let pool = WorkerPool::builder().stack_size(wpool::MAX_STACK_SIZE).build()?;
    /// let err = pool.start(&Context::background(), |_, n: u64| Ok::<_, ()>(n)).unwrap_err();
    /// let io_error: std::io::Error = err.into_io_error();
    /// assert!(!io_error.to_string().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to start thread {:?}", self.thread_name)
    }
}

impl Error for StartError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// A run with per-worker state did not start: a thread could not start, or
/// a worker's state could not be made (see
/// [`RunBuilder::worker_state`](crate::RunBuilder::worker_state)). The run
/// took no job in: the threads already started were stopped and joined.
///
/// # Examples
///
/// ```
/// use wpool::{Context, InitError, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2)?;
/// let err = pool
///     .run_builder()
///     .worker_state(|| Err::<Vec<u8>, _>("no memory for the buffer"))
///     .run(&Context::background(), [Job::new(1, ())], |_buf, _, ()| Ok::<_, ()>(()))
///     .unwrap_err();
/// assert!(matches!(err, InitError::Failed { error: "no memory for the buffer", .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError<E> {
    /// A thread could not start.
    Start(StartError),
    /// A worker's state function returned an error.
    Failed {
        /// The worker's index.
        worker: usize,
        /// The state function's error.
        error: E,
    },
    /// A worker's state function panicked.
    Panicked {
        /// The worker's index.
        worker: usize,
        /// The panic.
        panic: JobPanic,
    },
}

impl InitError<std::convert::Infallible> {
    /// For a run whose workers have no state to make: only the start can
    /// fail.
    pub(crate) fn into_start_error(self) -> StartError {
        match self {
            InitError::Start(err) => err,
            InitError::Failed { error, .. } => match error {},
            // A run without state makes `()` for each worker, which cannot
            // panic.
            InitError::Panicked { .. } => unreachable!("making `()` panicked"),
        }
    }
}

impl<E> From<StartError> for InitError<E> {
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, InitError, WorkerPool};
    ///
    /// let pool = WorkerPool::builder().stack_size(wpool::MAX_STACK_SIZE).build()?;
    /// let start = pool.start(&Context::background(), |_, n: u64| Ok::<_, ()>(n)).unwrap_err();
    /// assert!(matches!(InitError::<()>::from(start), InitError::Start(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from(err: StartError) -> InitError<E> {
        InitError::Start(err)
    }
}

impl<E: fmt::Display> fmt::Display for InitError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Start(err) => fmt::Display::fmt(err, f),
            InitError::Failed { worker, error } => {
                write!(f, "worker {worker} could not make its state: {error}")
            }
            InitError::Panicked { worker, panic } => {
                write!(f, "worker {worker} panicked making its state: {panic}")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> Error for InitError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            InitError::Start(err) => Some(err),
            _ => None,
        }
    }
}

impl From<StartError> for io::Error {
    /// Returns an `io::Error` of the operating system error's
    /// [`kind`](io::Error::kind) that wraps the `StartError`, so that `?`
    /// works in a function returning [`io::Result`]. Its message names the
    /// thread, its [`source`](Error::source) is the operating system's
    /// error, and [`get_ref`](io::Error::get_ref) downcasts to the
    /// `StartError`. For the operating system's error alone, with its
    /// [`raw_os_error`](io::Error::raw_os_error), use
    /// [`StartError::into_io_error`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use wpool::{Context, Job, StartError, WorkerPool};
    ///
    /// fn start(pool: &WorkerPool) -> io::Result<usize> {
    ///     let jobs = (0..10u64).map(|i| Job::new(i, i));
    ///     let run = pool.run(&Context::background(), jobs, |_, n| Ok::<_, ()>(n))?;
    ///     Ok(run.count())
    /// }
    ///
    /// assert_eq!(start(&WorkerPool::new(2)?)?, 10);
    ///
    /// // No system grants a 1 TiB stack.
    /// let pool = WorkerPool::builder().stack_size(wpool::MAX_STACK_SIZE).build()?;
    /// let err = start(&pool).unwrap_err();
    /// assert!(err.to_string().starts_with("failed to start thread"));
    /// assert!(err.get_ref().unwrap().is::<StartError>());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from(err: StartError) -> io::Error {
        io::Error::new(err.source.kind(), err)
    }
}

macro_rules! job_error {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $is:ident, $text:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub enum $name<T> {
            $( $(#[$vmeta])* $variant(T), )+
        }

        impl<T> $name<T> {
            /// Returns the job that was not submitted.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use wpool::", stringify!($name), ";")]
            ///
            /// // Each variant gives its job back; here the jobs are numbers.
            /// let errors = [
            $( #[doc = concat!("    ", stringify!($name), "::", stringify!($variant), "(5),")] )+
            /// ];
            /// for err in errors {
            ///     assert_eq!(err.into_inner(), 5);
            /// }
            /// ```
            pub fn into_inner(self) -> T {
                match self {
                    $( $name::$variant(job) => job, )+
                }
            }

            $(
                #[doc = concat!("Returns `true` for [`", stringify!($name), "::", stringify!($variant), "`].")]
                ///
                /// # Examples
                ///
                /// ```
                #[doc = concat!("use wpool::{Job, ", stringify!($name), "};")]
                ///
                #[doc = concat!("let err = ", stringify!($name), "::", stringify!($variant), "(Job::new(1u64, \"payload\"));")]
                #[doc = concat!("assert!(err.", stringify!($is), "());")]
                #[doc = concat!("assert_eq!(err.to_string(), \"", $text, "\");")]
                /// ```
                pub fn $is(&self) -> bool {
                    matches!(self, $name::$variant(_))
                }
            )+
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $( $name::$variant(_) => f.write_str(concat!(stringify!($variant), "(..)")), )+
                }
            }
        }

        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $( $name::$variant(_) => f.write_str($text), )+
                }
            }
        }

        impl<T> Error for $name<T> {}
    };
}

job_error! {
    /// A blocking [`Submitter::submit`](crate::Submitter::submit) failed; the
    /// job comes back unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, run) = pool.start(&Context::background(), |_, n: u32| Ok::<_, ()>(n)).unwrap();
    /// run.cancel();
    /// let err = submitter.submit(Job::new(7u64, 7)).unwrap_err();
    /// assert!(err.is_cancelled());
    /// assert_eq!(err.into_inner().into_args(), 7);
    /// ```
    SubmitError {
        /// The run no longer takes jobs: it was shut down or has ended.
        Closed => is_closed, "submitting to a closed run";
        /// The run's context was cancelled.
        Cancelled => is_cancelled, "submitting to a cancelled run";
    }
}

job_error! {
    /// A [`Submitter::try_submit`](crate::Submitter::try_submit) failed; the
    /// job comes back unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, run) = pool.start(&Context::background(), |_, n: u32| Ok::<_, ()>(n)).unwrap();
    /// run.shutdown();
    /// let err = submitter.try_submit(Job::new(1u64, 1)).unwrap_err();
    /// assert!(err.is_closed());
    /// ```
    TrySubmitError {
        /// The job queue is full (or, in input order, the window).
        Full => is_full, "submitting to a full job queue";
        /// The run no longer takes jobs: it was shut down or has ended.
        Closed => is_closed, "submitting to a closed run";
        /// The run's context was cancelled.
        Cancelled => is_cancelled, "submitting to a cancelled run";
    }
}

job_error! {
    /// A [`Submitter::submit_timeout`](crate::Submitter::submit_timeout) or
    /// [`submit_deadline`](crate::Submitter::submit_deadline) failed; the job
    /// comes back unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1).unwrap();
    /// let (submitter, run) = pool.start(&Context::background(), |_, n: u32| Ok::<_, ()>(n)).unwrap();
    /// run.shutdown();
    /// let err = submitter.submit_timeout(Job::new(1u64, 1), Duration::from_millis(1)).unwrap_err();
    /// assert!(err.is_closed());
    /// ```
    SubmitTimeoutError {
        /// No room appeared in the job queue (or, in input order, the
        /// window) before the timeout.
        Timeout => is_timeout, "timed out submitting to a full job queue";
        /// The run no longer takes jobs: it was shut down or has ended.
        Closed => is_closed, "submitting to a closed run";
        /// The run's context was cancelled.
        Cancelled => is_cancelled, "submitting to a cancelled run";
    }
}

impl<T> From<SubmitError<T>> for TrySubmitError<T> {
    /// Keeps the reason and the job.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{SubmitError, TrySubmitError};
    ///
    /// let err = TrySubmitError::from(SubmitError::Cancelled(5));
    /// assert_eq!(err, TrySubmitError::Cancelled(5));
    /// ```
    fn from(err: SubmitError<T>) -> Self {
        match err {
            SubmitError::Closed(job) => TrySubmitError::Closed(job),
            SubmitError::Cancelled(job) => TrySubmitError::Cancelled(job),
        }
    }
}

impl<T> From<SubmitError<T>> for SubmitTimeoutError<T> {
    /// Keeps the reason and the job.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{SubmitError, SubmitTimeoutError};
    ///
    /// let err: SubmitTimeoutError<u32> = SubmitError::Closed(5).into();
    /// assert!(err.is_closed());
    /// assert_eq!(err.into_inner(), 5);
    /// ```
    fn from(err: SubmitError<T>) -> Self {
        match err {
            SubmitError::Closed(job) => SubmitTimeoutError::Closed(job),
            SubmitError::Cancelled(job) => SubmitTimeoutError::Cancelled(job),
        }
    }
}

/// [`Run::try_next`](crate::Run::try_next) found no result ready.
///
/// More reasons may be added, so a `match` on it needs a wildcard arm; one
/// without does not compile:
///
/// ```compile_fail,E0004
/// use wpool::TryNextError;
///
/// fn describe(err: TryNextError) -> &'static str {
///     match err {
///         TryNextError::Empty => "not yet",
///         TryNextError::Finished => "all read",
///     }
/// }
/// ```
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, TryNextError, WorkerPool};
///
/// let pool = WorkerPool::new(1).unwrap();
/// let mut run = pool.run(&Context::background(), Vec::<Job<u32>>::new(), |_, n| Ok::<_, ()>(n)).unwrap();
/// run.done().recv().ok();
/// assert_eq!(run.try_next().unwrap_err(), TryNextError::Finished);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TryNextError {
    /// No result is ready yet, but the run has not finished.
    Empty,
    /// The run has finished and every result has been read.
    Finished,
}

impl fmt::Display for TryNextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryNextError::Empty => "no result is ready yet",
            TryNextError::Finished => "the run has finished and every result was read",
        })
    }
}

impl Error for TryNextError {}

/// [`Run::next_timeout`](crate::Run::next_timeout) or
/// [`Run::next_deadline`](crate::Run::next_deadline) got no result.
///
/// More reasons may be added, so a `match` on it needs a wildcard arm; one
/// without does not compile:
///
/// ```compile_fail,E0004
/// use wpool::NextTimeoutError;
///
/// fn describe(err: NextTimeoutError) -> &'static str {
///     match err {
///         NextTimeoutError::Timeout => "not yet",
///         NextTimeoutError::Finished => "all read",
///     }
/// }
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use wpool::{Context, Job, NextTimeoutError, WorkerPool};
///
/// let pool = WorkerPool::new(1).unwrap();
/// let mut run = pool.run(&Context::background(), Vec::<Job<u32>>::new(), |_, n| Ok::<_, ()>(n)).unwrap();
/// let err = run.next_timeout(Duration::from_secs(5)).unwrap_err();
/// assert_eq!(err, NextTimeoutError::Finished);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NextTimeoutError {
    /// No result arrived in time; the run goes on.
    Timeout,
    /// The run has finished and every result has been read.
    Finished,
}

impl fmt::Display for NextTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NextTimeoutError::Timeout => "timed out waiting for a result",
            NextTimeoutError::Finished => "the run has finished and every result was read",
        })
    }
}

impl Error for NextTimeoutError {}
