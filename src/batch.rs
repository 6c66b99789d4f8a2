//! A batch of results as it travels on a run's results channel.

use std::fmt;
use std::sync::Arc;

use crate::engine::Capacity;
use crate::outcome::JobResult;

/// Results a worker delivered together, as received from
/// [`Run::results`](crate::Run::results).
///
/// Workers send results in batches because one channel message per result
/// would cost more than a small job. A batch holds its share of the
/// results channel's capacity until it is dropped or turned into an
/// iterator, so hold on to batches only as long as you mean to slow the
/// workers down.
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2).unwrap();
/// let run = pool.run(&Context::background(), (0..100u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i)).unwrap();
/// let mut sum = 0;
/// while let Ok(batch) = run.results().recv() {
///     assert!(!batch.is_empty());
///     sum += batch.iter().filter_map(|r| r.value()).sum::<u64>();
/// }
/// assert_eq!(sum, 99 * 100 / 2);
/// ```
pub struct ResultBatch<T, E> {
    results: Vec<JobResult<T, E>>,
    /// Room in the results capacity this batch holds until it is dropped.
    credits: usize,
    capacity: Arc<Capacity>,
    /// In a run that hands out results in input order, the window these
    /// results hold a place in until they are handed out or dropped.
    window: Option<Arc<Capacity>>,
}

impl<T, E> ResultBatch<T, E> {
    pub(crate) fn new(
        results: Vec<JobResult<T, E>>,
        credits: usize,
        capacity: &Arc<Capacity>,
        window: Option<Arc<Capacity>>,
    ) -> Self {
        ResultBatch {
            results,
            credits,
            capacity: capacity.clone(),
            window,
        }
    }

    /// Returns the results, giving their capacity back but keeping their
    /// places in the input-order window: the `Run` that reorders them
    /// gives those back as it hands each one out.
    pub(crate) fn into_vec_keeping_window(mut self) -> Vec<JobResult<T, E>> {
        self.window = None;
        self.into_vec()
    }

    /// Returns the results, giving their capacity back to the workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool.run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
    /// let mut all = Vec::new();
    /// while let Ok(batch) = run.results().recv() {
    ///     all.extend(batch.into_vec()); // keep the results, free the channel's room
    /// }
    /// assert_eq!(all.len(), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_vec(mut self) -> Vec<JobResult<T, E>> {
        self.release();
        std::mem::take(&mut self.results)
    }

    fn release(&mut self) {
        self.capacity.give_back(std::mem::take(&mut self.credits));
        if let Some(window) = self.window.take() {
            window.give_back(self.results.len());
        }
    }
}

impl<T, E> std::ops::Deref for ResultBatch<T, E> {
    type Target = [JobResult<T, E>];

    fn deref(&self) -> &[JobResult<T, E>] {
        &self.results
    }
}

impl<T, E> IntoIterator for ResultBatch<T, E> {
    type Item = JobResult<T, E>;
    type IntoIter = std::vec::IntoIter<JobResult<T, E>>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a, T, E> IntoIterator for &'a ResultBatch<T, E> {
    type Item = &'a JobResult<T, E>;
    type IntoIter = std::slice::Iter<'a, JobResult<T, E>>;

    fn into_iter(self) -> Self::IntoIter {
        self.results.iter()
    }
}

impl<T, E> Drop for ResultBatch<T, E> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<T: fmt::Debug, E: fmt::Debug> fmt::Debug for ResultBatch<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.results).finish()
    }
}
