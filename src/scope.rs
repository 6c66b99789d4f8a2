//! Scoped runs: batch runs whose input and job function borrow from the
//! caller's stack, started inside [`WorkerPool::scope`].

use std::fmt;
use std::thread;

use crate::context::Context;
use crate::engine::Input;
use crate::error::StartError;
use crate::job::Job;
use crate::map::{ScopedMap, numbered};
use crate::pool::{Order, WorkerPool};
use crate::run::ScopedRun;

/// A scope to start runs in that borrow from the caller's stack, given by
/// [`WorkerPool::scope`] (like [`std::thread::Scope`]).
///
/// A run started here is a [`ScopedRun`]: the same results, context,
/// summary and guarantees as a [`Run`](crate::Run), but its input, its job
/// function and its results may borrow anything that lives for `'env`,
/// that is, that was there before [`WorkerPool::scope`] was called. The
/// run cannot outlive the scope, and its threads are the scope's threads,
/// joined by the time `scope` returns (by the run's drop, or its
/// [`wait`](ScopedRun::wait)).
///
/// # Examples
///
/// Results may borrow from the caller too, and outlive the scope:
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2)?;
/// let files: Vec<String> = vec!["main.rs".into(), "lib.rs".into(), "README".into()];
/// let mut stems: Vec<&str> = pool.scope(|s| {
///     let jobs = files.iter().enumerate().map(|(i, file)| Job::new(i, file.as_str()));
///     let run = s.run(&Context::background(), jobs, |_, file| {
///         Ok::<_, ()>(file.split('.').next().unwrap_or(file))
///     })?;
///     Ok::<_, wpool::StartError>(run.filter_map(|r| r.into_value()).collect())
/// })?;
/// stems.sort();
/// assert_eq!(stems, ["README", "lib", "main"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Scope<'scope, 'env> {
    scope: &'scope thread::Scope<'scope, 'env>,
    /// The pool's configuration, which every run of the scope shares.
    pool: WorkerPool,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    pub(crate) fn new(scope: &'scope thread::Scope<'scope, 'env>, pool: WorkerPool) -> Self {
        Scope { scope, pool }
    }

    /// Starts a batch run in this scope, like [`WorkerPool::run`]: a feeder
    /// thread pulls jobs from `jobs` lazily, the workers call `f` on each
    /// job's arguments, and the returned [`ScopedRun`] yields one result
    /// per job. Unlike `WorkerPool::run`, `jobs`, `f` and the job types may
    /// borrow for `'scope`.
    ///
    /// Everything `WorkerPool::run` says about blocking input holds here
    /// too; as the scope waits for the run's threads, an input whose `next`
    /// blocks also keeps the scope from returning.
    ///
    /// # Errors
    ///
    /// [`StartError`] if the operating system refuses to start a thread. The
    /// threads already started are stopped and joined first, no job has
    /// been taken from `jobs`, and `jobs` and `f` are dropped.
    ///
    /// # Examples
    ///
    /// A job function that reads a lookup table on the caller's stack:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let prices: HashMap<&str, u32> = HashMap::from([("apple", 3), ("pear", 5)]);
    /// let basket = vec![("apple", 2), ("pear", 1), ("plum", 4)];
    /// let pool = WorkerPool::new(2)?;
    /// let summary = pool.scope(|s| {
    ///     let jobs = basket.iter().map(|&(fruit, n)| Job::new(fruit, (fruit, n)));
    ///     let mut run = s.run(&Context::background(), jobs, |_, (fruit, n)| {
    ///         prices.get(fruit).map(|price| price * n).ok_or("no price")
    ///     })?;
    ///     let total: u32 = (&mut run).filter_map(|r| r.into_value()).sum();
    ///     assert_eq!(total, 2 * 3 + 5);
    ///     Ok::<_, wpool::StartError>(run.wait())
    /// })?;
    /// assert_eq!((summary.counts.succeeded, summary.counts.failed), (2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<I, A, T, E, F>(
        &self,
        ctx: &Context,
        jobs: I,
        f: F,
    ) -> Result<ScopedRun<'scope, A, T, E>, StartError>
    where
        I: IntoIterator<Item = Job<A>>,
        I::IntoIter: Send + 'scope,
        F: Fn(&Context, A) -> Result<T, E> + Send + Sync + 'scope,
        A: Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        // Before any thread starts: a panic here leaves nothing running.
        let input = Some(Input::borrowed(jobs.into_iter()));
        let (_, run) = self
            .pool
            .launch_plain(self.scope, ctx, f, input, self.pool.order())?;
        Ok(run)
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Like [`WorkerPool::map`]: the outputs of `f` on every item, in
    /// input order, where `items`, `f` and the outputs may borrow for
    /// `'scope`.
    ///
    /// # Errors
    ///
    /// As [`WorkerPool::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let text = String::from("the quick brown fox");
    /// let pool = WorkerPool::new(2)?;
    /// let firsts: Vec<&str> = pool.scope(|s| {
    ///     let map = s.map(&Context::background(), text.split(' '), |word| &word[..1])?;
    ///     Ok::<_, wpool::StartError>(map.map(Result::unwrap).collect())
    /// })?;
    /// assert_eq!(firsts, ["t", "q", "b", "f"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map<I, U, F>(
        &self,
        ctx: &Context,
        items: I,
        f: F,
    ) -> Result<ScopedMap<'scope, I::Item, U>, StartError>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'scope,
        I::Item: Send + 'scope,
        F: Fn(I::Item) -> U + Send + Sync + 'scope,
        U: Send + 'scope,
    {
        let input = Input::borrowed(numbered(items.into_iter()));
        self.pool
            .launch_map(self.scope, ctx, input, f, Order::Input)
    }

    /// Like [`WorkerPool::map_unordered`], where `items`, `f` and the
    /// outputs may borrow for `'scope`.
    ///
    /// # Errors
    ///
    /// As [`WorkerPool::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, WorkerPool};
    ///
    /// let numbers = vec![3u64, 1, 2];
    /// let pool = WorkerPool::new(2)?;
    /// let total: u64 = pool.scope(|s| {
    ///     let map = s.map_unordered(&Context::background(), &numbers, |n| n * 10)?;
    ///     Ok::<_, wpool::StartError>(map.map(Result::unwrap).sum())
    /// })?;
    /// assert_eq!(total, 60);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_unordered<I, U, F>(
        &self,
        ctx: &Context,
        items: I,
        f: F,
    ) -> Result<ScopedMap<'scope, I::Item, U>, StartError>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'scope,
        I::Item: Send + 'scope,
        F: Fn(I::Item) -> U + Send + Sync + 'scope,
        U: Send + 'scope,
    {
        let input = Input::borrowed(numbered(items.into_iter()));
        self.pool
            .launch_map(self.scope, ctx, input, f, Order::Completion)
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("workers", &self.pool.workers())
            .finish_non_exhaustive()
    }
}
