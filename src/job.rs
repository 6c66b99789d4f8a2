//! Jobs and their descriptors.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::context::Context;

/// A job's identifier: a number or a string, returned with the job's result.
///
/// Numeric ids cost nothing to make, which matters when a generator feeds
/// millions of jobs; string ids are shared, so cloning one never copies the
/// text.
///
/// Any primitive integer converts, so a bare literal works too (`JobId::from(7)`,
/// `Job::new(7, args)`). An id is the number it was made from, whatever its
/// type: `JobId::from(7)`, `JobId::from(7u8)` and `JobId::from(7u64)` are the
/// same id. Negative numbers are ids of their own, shown with their sign:
/// they are neither wrapped around into large `u64`s nor refused, so
/// [`as_u64`](JobId::as_u64) returns `None` for them and
/// [`as_i64`](JobId::as_i64) returns the number. Numeric ids order as
/// numbers, and before every string id.
///
/// # Examples
///
/// ```
/// use wpool::JobId;
///
/// let numeric = JobId::from(42u64);
/// let named = JobId::from("resize:cat.png");
/// assert_eq!(numeric.to_string(), "42");
/// assert_eq!(numeric.as_u64(), Some(42));
/// assert_eq!(named.as_str(), Some("resize:cat.png"));
///
/// // A bare integer literal works, and the type it was given in does not matter.
/// assert_eq!(JobId::from(42), numeric);
/// let negative = JobId::from(-1);
/// assert_eq!(negative.to_string(), "-1");
/// assert_eq!((negative.as_u64(), negative.as_i64()), (None, Some(-1)));
/// assert!(negative < JobId::from(0u8) && JobId::from(u64::MAX) < named);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(IdRepr);

/// Sixteen bytes: ids travel with every job and result, so their size is
/// a large share of what a trivial job costs to move.
///
/// Every number has exactly one representation (`Negative` holds only
/// numbers below zero), so the derived `Eq` and `Hash` compare numbers, and
/// the variants' order makes the derived `Ord` numeric.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum IdRepr {
    Negative(i64),
    Number(u64),
    Text(Arc<String>),
}

impl JobId {
    /// Returns the id as a number, if it is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobId;
    ///
    /// assert_eq!(JobId::from(42u32).as_u64(), Some(42));
    /// assert_eq!(JobId::from("42").as_u64(), None);
    /// assert_eq!(JobId::from(-1).as_u64(), None);
    /// ```
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            IdRepr::Number(n) => Some(*n),
            IdRepr::Negative(_) | IdRepr::Text(_) => None,
        }
    }

    /// Returns the id as a signed number, if it is a number that fits in an
    /// `i64`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobId;
    ///
    /// assert_eq!(JobId::from(-3).as_i64(), Some(-3));
    /// assert_eq!(JobId::from(3u8).as_i64(), Some(3));
    /// assert_eq!(JobId::from(u64::MAX).as_i64(), None);
    /// assert_eq!(JobId::from("3").as_i64(), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            IdRepr::Negative(n) => Some(*n),
            IdRepr::Number(n) => i64::try_from(*n).ok(),
            IdRepr::Text(_) => None,
        }
    }

    /// Returns the id as a string, if it was made from one.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobId;
    ///
    /// assert_eq!(JobId::from("thumbnail:7").as_str(), Some("thumbnail:7"));
    /// assert_eq!(JobId::from(7u64).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            IdRepr::Negative(_) | IdRepr::Number(_) => None,
            IdRepr::Text(text) => Some(text.as_str()),
        }
    }
}

macro_rules! job_id_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for JobId {
            #[doc = concat!("Returns a numeric id; any `", stringify!($t), "` fits in a `u64`.")]
            ///
            /// # Examples
            ///
            /// ```
            /// use wpool::JobId;
            ///
            #[doc = concat!("let id = JobId::from(7", stringify!($t), ");")]
            /// assert_eq!(id.as_u64(), Some(7));
            /// ```
            fn from(n: $t) -> JobId {
                JobId(IdRepr::Number(n as u64))
            }
        }
    )*};
}
job_id_from_unsigned!(u8, u16, u32, u64, usize);

macro_rules! job_id_from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for JobId {
            #[doc = concat!("Returns a numeric id; any `", stringify!($t), "` fits in an `i64`.")]
            ///
            /// A number at or above zero is the same id as that number given
            /// as any unsigned type; a negative number is an id of its own,
            /// which [`JobId::as_i64`] returns and [`JobId::as_u64`] does not.
            /// An untyped integer literal is an `i32`, so this is also what
            /// makes `JobId::from(7)` and `Job::new(7, args)` work.
            ///
            /// # Examples
            ///
            /// ```
            /// use wpool::JobId;
            ///
            #[doc = concat!("let id = JobId::from(7", stringify!($t), ");")]
            /// assert_eq!(id, JobId::from(7u64));
            /// assert_eq!(id.as_u64(), Some(7));
            ///
            #[doc = concat!("let negative = JobId::from(-7", stringify!($t), ");")]
            /// assert_eq!(negative.as_u64(), None);
            /// assert_eq!(negative.as_i64(), Some(-7));
            /// assert_eq!(negative.to_string(), "-7");
            /// ```
            fn from(n: $t) -> JobId {
                let n = n as i64;
                match u64::try_from(n) {
                    Ok(n) => JobId(IdRepr::Number(n)),
                    Err(_) => JobId(IdRepr::Negative(n)),
                }
            }
        }
    )*};
}
job_id_from_signed!(i8, i16, i32, i64, isize);

impl From<&str> for JobId {
    /// Returns a string id, copying the text once.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobId;
    ///
    /// let id = JobId::from("resize:cat.png");
    /// assert_eq!(id.as_str(), Some("resize:cat.png"));
    /// assert_eq!(id.to_string(), "resize:cat.png");
    /// ```
    fn from(text: &str) -> JobId {
        JobId(IdRepr::Text(Arc::new(text.to_owned())))
    }
}

impl From<String> for JobId {
    /// Returns a string id, taking over the `String` without copying it.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobId;
    ///
    /// let id = JobId::from(format!("user:{}", 42));
    /// assert_eq!(id.as_str(), Some("user:42"));
    /// ```
    fn from(text: String) -> JobId {
        JobId(IdRepr::Text(Arc::new(text)))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdRepr::Negative(n) => fmt::Display::fmt(n, f),
            IdRepr::Number(n) => fmt::Display::fmt(n, f),
            IdRepr::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdRepr::Negative(n) => write!(f, "JobId({n})"),
            IdRepr::Number(n) => write!(f, "JobId({n})"),
            IdRepr::Text(text) => write!(f, "JobId({text:?})"),
        }
    }
}

/// Free-form key/value labels carried from a job to its result (Go's
/// `map[string]interface{}`, with string values).
///
/// An empty `Metadata` does not allocate.
///
/// # Examples
///
/// ```
/// use wpool::Metadata;
///
/// let mut meta = Metadata::new();
/// meta.insert("tenant", "acme");
/// meta.insert("tenant", "globex");
/// assert_eq!(meta.get("tenant"), Some("globex"));
/// assert_eq!(meta.len(), 1);
///
/// // Like a map, equality ignores the order the keys were inserted in.
/// let a: Metadata = [("tenant", "acme"), ("region", "eu")].into_iter().collect();
/// let b: Metadata = [("region", "eu"), ("tenant", "acme")].into_iter().collect();
/// assert_eq!(a, b);
/// ```
#[derive(Clone, Default)]
pub struct Metadata(Vec<(Cow<'static, str>, String)>);

impl PartialEq for Metadata {
    fn eq(&self, other: &Metadata) -> bool {
        // Keys are unique (`insert` replaces), so equal lengths and every
        // pair found in the other make the same map.
        self.0.len() == other.0.len() && self.0.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for Metadata {}

impl std::hash::Hash for Metadata {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // In key order, so that equal metadata hash alike.
        let mut pairs: Vec<_> = self.0.iter().collect();
        pairs.sort_unstable();
        pairs.hash(state);
    }
}

impl Metadata {
    /// Returns empty metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let meta = Metadata::new();
    /// assert!(meta.is_empty());
    /// assert_eq!(meta, Metadata::default());
    /// ```
    pub fn new() -> Metadata {
        Metadata(Vec::new())
    }

    /// Sets `key` to `value`, returning the previous value.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let mut meta = Metadata::new();
    /// assert_eq!(meta.insert("attempt", "1"), None);
    /// assert_eq!(meta.insert("attempt", 2.to_string()), Some("1".to_string()));
    /// assert_eq!(meta.get("attempt"), Some("2"));
    /// ```
    pub fn insert(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Option<String> {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => Some(std::mem::replace(old, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    /// Returns the value of `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let meta: Metadata = [("tenant", "acme")].into_iter().collect();
    /// assert_eq!(meta.get("tenant"), Some("acme"));
    /// assert_eq!(meta.get("region"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Returns the number of keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let mut meta = Metadata::new();
    /// meta.insert("tenant", "acme");
    /// meta.insert("tenant", "globex"); // replaces, does not add
    /// assert_eq!(meta.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns `true` if there are no keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let mut meta = Metadata::new();
    /// assert!(meta.is_empty());
    /// meta.insert("tenant", "acme");
    /// assert!(!meta.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the pairs in insertion order.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let meta: Metadata = [("tenant", "acme"), ("region", "eu")].into_iter().collect();
    /// let pairs: Vec<(&str, &str)> = meta.iter().collect();
    /// assert_eq!(pairs, [("tenant", "acme"), ("region", "eu")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    /// Collects key/value pairs; a later value for the same key replaces
    /// the earlier one, as with [`Metadata::insert`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Metadata;
    ///
    /// let meta: Metadata = [("attempt", "1"), ("attempt", "2")].into_iter().collect();
    /// assert_eq!(meta.get("attempt"), Some("2"));
    /// assert_eq!(meta.len(), 1);
    /// ```
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Metadata {
        let mut meta = Metadata::new();
        for (k, v) in pairs {
            meta.insert(k, v);
        }
        meta
    }
}

/// What identifies a job: its id, a kind tag and metadata. The descriptor
/// travels with the job and comes back with its result, or with the job
/// itself if it never started.
///
/// # Examples
///
/// ```
/// use wpool::JobDescriptor;
///
/// let d = JobDescriptor::new(7u64).with_kind("resize").with_meta("size", "64x64");
/// assert_eq!(d.id().as_u64(), Some(7));
/// assert_eq!(d.kind(), "resize");
/// assert_eq!(d.metadata().get("size"), Some("64x64"));
/// ```
#[derive(Clone)]
pub struct JobDescriptor {
    identity: Identity,
    /// The job's place in its run's intake (0, 1, 2, ...; the low 48
    /// bits), set when the run accepts it, and how many of its attempts
    /// ran before this one (retries; the high 16 bits). Packed into one
    /// word to keep a job small: the engine moves millions of them. Not
    /// part of what identifies a job: equality and hashing leave it out.
    place: u64,
}

/// A job's id, and its kind and metadata if it has any.
///
/// The engine moves millions of descriptors, so their size is a large
/// share of what a trivial job costs: kind and metadata live behind one
/// pointer that only the jobs which have them pay for, and that pointer
/// takes the place of the id rather than sitting beside it. The enum is
/// then no larger than the id (the `Labeled` pointer fits in the bytes
/// after the id's own tag, which has values to spare for this one), and
/// a descriptor is 24 bytes, not 32 or 80.
#[derive(Clone)]
enum Identity {
    Bare(JobId),
    Labeled(Box<Labeled>),
}

#[derive(Clone)]
struct Labeled {
    id: JobId,
    kind: Cow<'static, str>,
    metadata: Metadata,
}

/// The bits of `JobDescriptor::place` that hold the place in the intake.
const SEQ_BITS: u32 = 48;

impl JobDescriptor {
    /// The job's place in its run's intake.
    pub(crate) fn seq(&self) -> u64 {
        self.place & ((1 << SEQ_BITS) - 1)
    }

    /// How many attempts of the job ran before this one.
    pub(crate) fn attempts(&self) -> u32 {
        (self.place >> SEQ_BITS) as u32
    }

    /// Counts an attempt about to run after others did (saturating: a
    /// retry policy allows at most `u16::MAX` attempts).
    pub(crate) fn count_retry(&mut self) {
        if self.attempts() < u32::from(u16::MAX) {
            self.place += 1 << SEQ_BITS;
        }
    }

    /// A run takes the job in at place `seq`, with no attempt made yet:
    /// the place and the count are the run's, so a descriptor that comes
    /// from another run's result starts afresh. (One plain store, with
    /// nothing read first: the queue writes it for every job, under its
    /// lock.)
    fn enter_run(&mut self, seq: u64) {
        self.place = seq & ((1 << SEQ_BITS) - 1);
    }
}

impl PartialEq for JobDescriptor {
    fn eq(&self, other: &JobDescriptor) -> bool {
        self.id() == other.id()
            && self.kind() == other.kind()
            && self.metadata() == other.metadata()
    }
}

impl Eq for JobDescriptor {}

impl std::hash::Hash for JobDescriptor {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
        self.kind().hash(state);
        self.metadata().hash(state);
    }
}

static NO_METADATA: Metadata = Metadata(Vec::new());

impl JobDescriptor {
    /// Returns a descriptor with this id, an empty kind and no metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobDescriptor;
    ///
    /// let d = JobDescriptor::new("report:2024-06");
    /// assert_eq!(d.id().as_str(), Some("report:2024-06"));
    /// assert_eq!(d.kind(), "");
    /// assert!(d.metadata().is_empty());
    /// ```
    #[must_use]
    pub fn new(id: impl Into<JobId>) -> JobDescriptor {
        JobDescriptor {
            identity: Identity::Bare(id.into()),
            place: 0,
        }
    }

    /// The kind and metadata, to change; a bare descriptor gets them.
    fn labels_mut(&mut self) -> &mut Labeled {
        if let Identity::Bare(id) = &mut self.identity {
            let id = std::mem::replace(id, JobId(IdRepr::Number(0)));
            self.identity = Identity::Labeled(Box::new(Labeled {
                id,
                kind: Cow::Borrowed(""),
                metadata: Metadata::new(),
            }));
        }
        match &mut self.identity {
            Identity::Labeled(labeled) => labeled,
            Identity::Bare(_) => unreachable!("labeled just above"),
        }
    }

    /// Sets the kind tag (Go's `JType`).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobDescriptor;
    ///
    /// let d = JobDescriptor::new(1u64).with_kind("resize");
    /// assert_eq!(d.kind(), "resize");
    /// ```
    #[must_use]
    pub fn with_kind(mut self, kind: impl Into<Cow<'static, str>>) -> JobDescriptor {
        self.labels_mut().kind = kind.into();
        self
    }

    /// Adds one metadata pair.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobDescriptor;
    ///
    /// let d = JobDescriptor::new(1u64).with_meta("tenant", "acme").with_meta("region", "eu");
    /// assert_eq!(d.metadata().get("tenant"), Some("acme"));
    /// assert_eq!(d.metadata().len(), 2);
    /// ```
    #[must_use]
    pub fn with_meta(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.labels_mut().metadata.insert(key, value);
        self
    }

    /// Replaces the metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{JobDescriptor, Metadata};
    ///
    /// let shared: Metadata = [("tenant", "acme"), ("region", "eu")].into_iter().collect();
    /// let d = JobDescriptor::new(1u64).with_meta("draft", "yes").with_metadata(shared.clone());
    /// assert_eq!(d.metadata(), &shared);
    /// assert_eq!(d.metadata().get("draft"), None);
    /// ```
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> JobDescriptor {
        self.labels_mut().metadata = metadata;
        self
    }

    /// The job's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{JobDescriptor, JobId};
    ///
    /// let d = JobDescriptor::new(7u64);
    /// assert_eq!(d.id(), &JobId::from(7u64));
    /// ```
    pub fn id(&self) -> &JobId {
        match &self.identity {
            Identity::Bare(id) => id,
            Identity::Labeled(labeled) => &labeled.id,
        }
    }

    /// The job's kind tag; empty unless one was set.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobDescriptor;
    ///
    /// assert_eq!(JobDescriptor::new(1u64).kind(), "");
    /// assert_eq!(JobDescriptor::new(1u64).with_kind("fetch").kind(), "fetch");
    /// ```
    pub fn kind(&self) -> &str {
        match &self.identity {
            Identity::Bare(_) => "",
            Identity::Labeled(labeled) => &labeled.kind,
        }
    }

    /// The job's metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobDescriptor;
    ///
    /// let d = JobDescriptor::new(1u64).with_meta("size", "64x64");
    /// assert_eq!(d.metadata().get("size"), Some("64x64"));
    /// assert!(JobDescriptor::new(2u64).metadata().is_empty());
    /// ```
    pub fn metadata(&self) -> &Metadata {
        match &self.identity {
            Identity::Bare(_) => &NO_METADATA,
            Identity::Labeled(labeled) => &labeled.metadata,
        }
    }

    /// The job's metadata, to change.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::JobDescriptor;
    ///
    /// let mut d = JobDescriptor::new(1u64).with_meta("attempt", "1");
    /// d.metadata_mut().insert("attempt", "2");
    /// assert_eq!(d.metadata().get("attempt"), Some("2"));
    /// ```
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.labels_mut().metadata
    }
}

impl fmt::Debug for JobDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobDescriptor")
            .field("id", self.id())
            .field("kind", &self.kind())
            .field("metadata", self.metadata())
            .finish()
    }
}

/// Pins the `#[must_use]` of the constructors (here, for want of a place
/// of its own in `context.rs`, of `Context`'s too): discarding what one
/// returns is a warning, denied here.
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard() {
///     wpool::Job::new(1, ());
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard() {
///     wpool::JobDescriptor::new(1);
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(parent: &wpool::Context) {
///     wpool::Context::with_cancel(parent);
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(parent: &wpool::Context) {
///     wpool::Context::with_timeout(parent, std::time::Duration::from_secs(1));
/// }
/// ```
///
/// ```compile_fail
/// #[deny(unused_must_use)]
/// fn discard(parent: &wpool::Context) {
///     wpool::Context::with_deadline(parent, std::time::Instant::now());
/// }
/// ```
///
/// The same code, using the values, compiles:
///
/// ```
/// use std::time::{Duration, Instant};
/// use wpool::{Context, Job, JobDescriptor};
///
/// #[deny(unused_must_use)]
/// fn keep(parent: &Context) -> (Job<()>, JobDescriptor, [Context; 3]) {
///     let contexts = [
///         Context::with_cancel(parent),
///         Context::with_timeout(parent, Duration::from_secs(1)),
///         Context::with_deadline(parent, Instant::now()),
///     ];
///     (Job::new(1, ()), JobDescriptor::new(1), contexts)
/// }
/// ```
#[cfg(doctest)]
struct MustUsePins;

/// A unit of work: a [`JobDescriptor`] and the arguments the run's job
/// function is called with.
///
/// The function itself is given once per run (see
/// [`WorkerPool::run`](crate::WorkerPool::run)) and shared by all jobs, so a
/// job costs no allocation of its own. For a different closure per job, use
/// [`Job::from_fn`] with [`WorkerPool::run_boxed`](crate::WorkerPool::run_boxed).
///
/// # Examples
///
/// ```
/// use wpool::Job;
///
/// let job = Job::new(1u64, "https://example.com").with_kind("fetch");
/// assert_eq!(job.descriptor().kind(), "fetch");
/// assert_eq!(*job.args(), "https://example.com");
/// ```
pub struct Job<A> {
    descriptor: JobDescriptor,
    args: A,
}

/// A job's own closure, for runs in which every job does something
/// different; see [`Job::from_fn`].
///
/// # Examples
///
/// ```
/// use wpool::{Context, JobFn};
///
/// let greet: JobFn<String, ()> = Box::new(|_: &Context| Ok("hello".to_string()));
/// assert_eq!(greet(&Context::background()), Ok("hello".to_string()));
/// ```
pub type JobFn<T, E> = Box<dyn FnOnce(&Context) -> Result<T, E> + Send>;

impl<A> Job<A> {
    /// Returns a job with a fresh descriptor carrying `id`: a string or any
    /// primitive integer, a bare literal included (see [`JobId`] for what a
    /// negative number becomes).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new("cat.png", (64u32, 64u32));
    /// assert_eq!(job.id().as_str(), Some("cat.png"));
    /// assert_eq!(job.args(), &(64, 64));
    ///
    /// let numbered = Job::new(7, ());
    /// assert_eq!(numbered.id().as_u64(), Some(7));
    /// ```
    ///
    /// The job function's error type is not known from the jobs, nor from a
    /// function that only ever returns `Ok`, so such a function names it, in
    /// its return type or in the `Ok`; `()` or
    /// [`Infallible`](std::convert::Infallible) will do:
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = (0..10u64).map(|i| Job::new(i, i));
    /// let run = pool.run(&Context::background(), jobs, |_, i| Ok::<_, ()>(i * 2))?;
    /// assert_eq!(run.filter_map(|r| r.into_value()).sum::<u64>(), 90);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(id: impl Into<JobId>, args: A) -> Job<A> {
        Job {
            descriptor: JobDescriptor::new(id),
            args,
        }
    }

    /// Returns a job with the given descriptor.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Job, JobDescriptor};
    ///
    /// let descriptor = JobDescriptor::new(3u64).with_kind("fetch").with_meta("retry", "1");
    /// let job = Job::with_descriptor(descriptor.clone(), "https://example.com");
    /// assert_eq!(job.descriptor(), &descriptor);
    /// ```
    pub fn with_descriptor(descriptor: JobDescriptor, args: A) -> Job<A> {
        Job { descriptor, args }
    }

    /// Sets the descriptor's kind tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new(1u64, "cat.png").with_kind("resize");
    /// assert_eq!(job.descriptor().kind(), "resize");
    /// ```
    #[must_use]
    pub fn with_kind(mut self, kind: impl Into<Cow<'static, str>>) -> Job<A> {
        self.descriptor = self.descriptor.with_kind(kind);
        self
    }

    /// Adds one metadata pair to the descriptor.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new(1u64, "cat.png").with_meta("tenant", "acme");
    /// assert_eq!(job.descriptor().metadata().get("tenant"), Some("acme"));
    /// ```
    #[must_use]
    pub fn with_meta(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.descriptor = self.descriptor.with_meta(key, value);
        self
    }

    /// The job's descriptor.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new(9u64, ()).with_kind("ping");
    /// assert_eq!(job.descriptor().id().as_u64(), Some(9));
    /// assert_eq!(job.descriptor().kind(), "ping");
    /// ```
    pub fn descriptor(&self) -> &JobDescriptor {
        &self.descriptor
    }

    /// The job's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new(9u64, ());
    /// assert_eq!(job.id().as_u64(), Some(9));
    /// ```
    pub fn id(&self) -> &JobId {
        self.descriptor.id()
    }

    /// The arguments the job function will be called with.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new(1u64, vec![3, 1, 2]);
    /// assert_eq!(job.args().len(), 3);
    /// ```
    pub fn args(&self) -> &A {
        &self.args
    }

    /// Returns the arguments, dropping the descriptor.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let job = Job::new(1u64, String::from("payload")).with_kind("upload");
    /// assert_eq!(job.into_args(), "payload");
    /// ```
    pub fn into_args(self) -> A {
        self.args
    }

    /// Splits the job into its descriptor and arguments, for instance to
    /// resubmit an unstarted job with changed arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Job;
    ///
    /// let (descriptor, args) = Job::new(4u64, 10u32).with_kind("retry").into_parts();
    /// let again = Job::with_descriptor(descriptor, args * 2);
    /// assert_eq!(again.descriptor().kind(), "retry");
    /// assert_eq!(*again.args(), 20);
    /// ```
    pub fn into_parts(self) -> (JobDescriptor, A) {
        (self.descriptor, self.args)
    }
}

impl<T, E> Job<JobFn<T, E>> {
    /// Returns a job that carries its own closure, for
    /// [`WorkerPool::run_boxed`](crate::WorkerPool::run_boxed). This costs
    /// one allocation per job; prefer one shared function with
    /// [`Job::new`] where the jobs differ only in their arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, JobFn, WorkerPool};
    ///
    /// let jobs: Vec<Job<JobFn<String, ()>>> = vec![
    ///     Job::from_fn(1u64, |_| Ok("one".to_string())),
    ///     Job::from_fn(2u64, |_| Ok("two".repeat(2))),
    /// ];
    /// let pool = WorkerPool::new(2).unwrap();
    /// let mut values: Vec<String> = pool
    ///     .run_boxed(&Context::background(), jobs)
    ///     .unwrap()
    ///     .filter_map(|r| r.into_value())
    ///     .collect();
    /// values.sort();
    /// assert_eq!(values, ["one", "twotwo"]);
    /// ```
    pub fn from_fn<F>(id: impl Into<JobId>, f: F) -> Job<JobFn<T, E>>
    where
        F: FnOnce(&Context) -> Result<T, E> + Send + 'static,
    {
        Job::new(id, Box::new(f))
    }
}

impl<A> Job<A> {
    /// Takes the job into a run at place `seq`; see `JobDescriptor::enter_run`.
    pub(crate) fn enter_run(&mut self, seq: u64) {
        self.descriptor.enter_run(seq);
    }

    /// The job's place in its run's intake.
    pub(crate) fn seq(&self) -> u64 {
        self.descriptor.seq()
    }
}

impl<A> fmt::Debug for Job<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("descriptor", &self.descriptor)
            .finish_non_exhaustive()
    }
}

impl<A: Clone> Clone for Job<A> {
    fn clone(&self) -> Job<A> {
        Job {
            descriptor: self.descriptor.clone(),
            args: self.args.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_id_is_sixteen_bytes_with_negative_numbers_too_and_a_descriptor_twenty_four() {
        assert_eq!(std::mem::size_of::<JobId>(), 16);
        assert_eq!(std::mem::size_of::<JobDescriptor>(), 24);
    }

    #[test]
    fn a_descriptor_is_its_id_kind_and_metadata_whatever_its_layout() {
        use std::hash::{BuildHasher, RandomState};
        let hasher = RandomState::new();
        let bare = JobDescriptor::new("a");
        // Labeled, but with nothing in the labels: the same descriptor.
        let emptied = JobDescriptor::new("a")
            .with_kind("")
            .with_metadata(Metadata::new());
        assert_eq!(bare, emptied);
        assert_eq!(hasher.hash_one(&bare), hasher.hash_one(&emptied));
        let mut labeled = JobDescriptor::new("a").with_kind("k").with_meta("x", "1");
        assert_eq!(labeled.id(), bare.id());
        assert_ne!(labeled, bare);
        labeled.metadata_mut().insert("y", "2");
        assert_eq!((labeled.kind(), labeled.metadata().len()), ("k", 2));
        // The place is not part of what identifies a job.
        let mut placed = labeled.clone();
        placed.enter_run(9);
        placed.count_retry();
        assert_eq!((placed.seq(), placed.attempts()), (9, 1));
        assert_eq!(placed, labeled);
    }
}
