//! The parallel map: any iterator in, a function on the pool, outputs out.
//! It is a batch run underneath, whose jobs are the items numbered by
//! their place in the input.

use std::convert::Infallible;
use std::fmt;

use crate::context::Context;
use crate::counts::Counts;
use crate::handle::RunHandle;
use crate::job::Job;
use crate::outcome::{JobPanic, JobResult, Outcome};
use crate::run::{ScopedRun, Summary};

/// The outputs of [`WorkerPool::map`](crate::WorkerPool::map) and
/// [`WorkerPool::map_unordered`](crate::WorkerPool::map_unordered), a
/// [`ScopedMap`] over a run that borrows nothing.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Map, WorkerPool};
///
/// fn lengths(pool: &WorkerPool, words: Vec<String>) -> Map<String, usize> {
///     pool.map(&Context::background(), words, |word| word.len()).unwrap()
/// }
///
/// let pool = WorkerPool::new(2)?;
/// let total: usize = lengths(&pool, vec!["ab".into(), "c".into()]).map(Result::unwrap).sum();
/// assert_eq!(total, 3);
/// # Ok::<(), wpool::BuildError>(())
/// ```
pub type Map<X, U> = ScopedMap<'static, X, U>;

/// A lazy iterator over the outputs of a function applied to every item
/// of an input on a pool's threads: `Ok(output)`, or `Err` with the panic
/// that stopped the function on that item. From
/// [`WorkerPool::map`](crate::WorkerPool::map) (input order),
/// [`WorkerPool::map_unordered`](crate::WorkerPool::map_unordered)
/// (completion order), or the same methods of a
/// [`Scope`](crate::Scope), whose maps may borrow.
///
/// The input is read lazily, as the workers need items (so an endless
/// input is fine), and memory stays bounded: in input order at most
/// [`order_window`](crate::Builder::order_window) items are between being
/// read and their turn to be handed out.
///
/// Dropping it cancels the map and joins its threads, as dropping a
/// [`Run`](crate::Run) does; so does a cancel of the context it was
/// started with. [`indexed`](ScopedMap::indexed) tells each output's place
/// in the input; [`wait`](ScopedMap::wait) returns the [`Summary`], whose
/// jobs carry the items that did not run, numbered by their place.
///
/// # Examples
///
/// ```
/// use wpool::{Context, WorkerPool};
///
/// let pool = WorkerPool::new(4)?;
/// let squares: Vec<u64> = pool.map(&Context::background(), 1..=5u64, |n| n * n)?.collect::<Result<_, _>>()?;
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A panic comes back as that item's output, and the others still run:
///
/// ```
/// use wpool::{Context, WorkerPool};
///
/// let pool = WorkerPool::new(2)?;
/// let outputs: Vec<_> = pool.map(&Context::background(), ["1", "x", "3"], |s| s.parse::<u32>().unwrap())?.collect();
/// assert_eq!(outputs[0].as_ref().ok(), Some(&1));
/// assert!(outputs[1].is_err());
/// assert_eq!(outputs[2].as_ref().ok(), Some(&3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a map cancels it: iterate it"]
pub struct ScopedMap<'scope, X, U> {
    run: ScopedRun<'scope, X, U, Infallible>,
}

/// The outputs of a map with their places in the input, from
/// [`ScopedMap::indexed`].
///
/// # Examples
///
/// ```
/// use wpool::{Context, WorkerPool};
///
/// let pool = WorkerPool::new(2)?;
/// for (index, output) in pool.map_unordered(&Context::background(), 0..10u64, |n| n + 100)?.indexed() {
///     assert_eq!(output?, index + 100);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a map cancels it: iterate it"]
pub struct MapIndexed<'scope, X, U> {
    run: ScopedRun<'scope, X, U, Infallible>,
}

impl<'scope, X, U> ScopedMap<'scope, X, U> {
    pub(crate) fn new(run: ScopedRun<'scope, X, U, Infallible>) -> Self {
        ScopedMap { run }
    }

    /// Yields each output with the place of its item in the input (0, 1,
    /// 2, ...), in the same order as the map itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let words = ["a", "bb", "ccc"];
    /// let pairs: Vec<(u64, usize)> = pool
    ///     .map(&Context::background(), words, str::len)?
    ///     .indexed()
    ///     .map(|(i, len)| (i, len.unwrap()))
    ///     .collect();
    /// assert_eq!(pairs, [(0, 1), (1, 2), (2, 3)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn indexed(self) -> MapIndexed<'scope, X, U> {
        MapIndexed { run: self.run }
    }

    /// A handle that cancels the map or reads its counters while it is
    /// being iterated; see [`Run::handle`](crate::Run::handle).
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let mut map = pool.map(&Context::background(), 0u64.., |n| n)?;
    /// let handle = map.handle();
    /// let first: Vec<u64> = (&mut map).take(10).map(Result::unwrap).collect();
    /// handle.cancel();
    /// assert_eq!(first, (0..10).collect::<Vec<_>>());
    /// assert!(map.wait().cancelled_by.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(&self) -> RunHandle {
        self.run.handle()
    }

    /// Cancels the map: items not yet started do not run. Returns `true`
    /// if this call cancelled it.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let map = pool.map(&Context::background(), 0u64.., |n| n)?;
    /// assert!(map.cancel());
    /// let summary = map.wait();
    /// assert_eq!(summary.counts.finished() + summary.counts.unstarted, summary.counts.submitted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.run.cancel()
    }

    /// A snapshot of the map's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let mut map = pool.map(&Context::background(), 0..100u32, |n| n)?;
    /// map.by_ref().for_each(drop);
    /// assert_eq!(map.counts().succeeded, 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counts(&self) -> Counts {
        self.run.counts()
    }

    /// The map's context, a child of the one it was started with.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(1)?;
    /// let map = pool.map(&Context::background(), [1, 2], |n: i32| n)?;
    /// assert!(!map.context().is_cancelled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context(&self) -> &Context {
        self.run.context()
    }

    /// Waits for the map to finish, dropping outputs not yet read, and
    /// returns its [`Summary`] (see [`Run::wait`](crate::Run::wait)). The
    /// summary's jobs carry the items that did not run, with their places
    /// in the input as ids; from a
    /// [resumable](crate::WorkerPool::resumable) pool, with the rest of the
    /// input too.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?.resumable();
    /// let ctx = Context::with_cancel(&Context::background());
    /// ctx.cancel();
    /// let summary = pool.map(&ctx, vec!["a", "b"], str::len)?.wait();
    /// let left: Vec<&str> = summary.into_remaining().map(|job| *job.args()).collect();
    /// assert_eq!(left, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait(self) -> Summary<X> {
        self.run.wait()
    }
}

/// Turns a job's result into the map's output.
fn output<U>(result: JobResult<U, Infallible>) -> Result<U, JobPanic> {
    match result.into_outcome() {
        Outcome::Succeeded(output) => Ok(output),
        Outcome::Panicked(panic) => Err(panic),
        Outcome::Failed(never) | Outcome::Cancelled(never) | Outcome::TimedOut(Some(never)) => {
            match never {}
        }
        // Only a run with a per-job timeout times out, and a map has none.
        Outcome::TimedOut(None) => unreachable!("a map sets no per-job timeout"),
    }
}

/// Turns a job's result into the map's output and its item's place.
fn indexed_output<U>(result: JobResult<U, Infallible>) -> (u64, Result<U, JobPanic>) {
    // Every job of a map has its place as its id.
    let index = result.id().as_u64().unwrap_or(u64::MAX);
    (index, output(result))
}

impl<X, U> Iterator for ScopedMap<'_, X, U> {
    type Item = Result<U, JobPanic>;

    fn next(&mut self) -> Option<Result<U, JobPanic>> {
        self.run.next().map(output)
    }

    fn fold<B, G>(self, init: B, mut g: G) -> B
    where
        G: FnMut(B, Result<U, JobPanic>) -> B,
    {
        self.run.fold(init, |acc, result| g(acc, output(result)))
    }
}

impl<X, U> std::iter::FusedIterator for ScopedMap<'_, X, U> {}

impl<X, U> Iterator for MapIndexed<'_, X, U> {
    type Item = (u64, Result<U, JobPanic>);

    fn next(&mut self) -> Option<(u64, Result<U, JobPanic>)> {
        self.run.next().map(indexed_output)
    }

    fn fold<B, G>(self, init: B, mut g: G) -> B
    where
        G: FnMut(B, (u64, Result<U, JobPanic>)) -> B,
    {
        self.run
            .fold(init, |acc, result| g(acc, indexed_output(result)))
    }
}

impl<X, U> std::iter::FusedIterator for MapIndexed<'_, X, U> {}

impl<X, U> fmt::Debug for ScopedMap<'_, X, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl<X, U> fmt::Debug for MapIndexed<'_, X, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapIndexed")
            .field("counts", &self.run.counts())
            .finish_non_exhaustive()
    }
}

/// A map's input as jobs: each item with its place as its id.
pub(crate) fn numbered<It: Iterator>(items: It) -> impl Iterator<Item = Job<It::Item>> {
    (0u64..)
        .zip(items)
        .map(|(place, item)| Job::new(place, item))
}

/// A map's function as a job function that never fails.
pub(crate) fn infallible<X, U>(
    f: impl Fn(X) -> U + Send + Sync,
) -> impl Fn(&Context, X) -> Result<U, Infallible> + Send + Sync {
    move |_, item| Ok(f(item))
}
