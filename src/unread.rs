//! The part of a batch run's input that the run never read.

use std::fmt;

use crate::job::Job;

/// The jobs a resumable batch run's input still held when the run stopped
/// taking them in, from [`Summary::unread_input`](crate::Summary::unread_input):
/// an iterator over the rest of the input itself, so an endless input
/// stays endless and nothing is read ahead. See
/// [`WorkerPool::resumable`](crate::WorkerPool::resumable).
///
/// # Examples
///
/// ```
/// use wpool::{Context, Job, WorkerPool};
///
/// let pool = WorkerPool::new(2)?.resumable();
/// let ctx = Context::with_cancel(&Context::background());
/// ctx.cancel();
/// let run = pool.run(&ctx, (0..100u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
/// let summary = run.wait();
/// assert!(!summary.unread_input.is_empty());
/// let ids: Vec<u64> = summary.unread_input.map(|job| job.id().as_u64().unwrap()).collect();
/// assert_eq!(ids, (0..100).collect::<Vec<_>>(), "a cancelled context: nothing was read");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UnreadInput<A> {
    input: Option<Box<dyn Iterator<Item = Job<A>> + Send>>,
}

impl<A> UnreadInput<A> {
    pub(crate) fn new(input: Option<Box<dyn Iterator<Item = Job<A>> + Send>>) -> Self {
        UnreadInput { input }
    }

    /// Returns `true` if the run read its input to the end (or the input
    /// panicked, or the run had no input, or was not resumable): nothing
    /// was left. `false` means
    /// the run stopped reading early; the rest may still turn out empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, Job, WorkerPool};
    ///
    /// let pool = WorkerPool::new(2)?;
    /// let run = pool.run(&Context::background(), (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| Ok::<_, ()>(i))?;
    /// assert!(run.wait().unread_input.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.input.is_none()
    }
}

impl<A> Iterator for UnreadInput<A> {
    type Item = Job<A>;

    fn next(&mut self) -> Option<Job<A>> {
        self.input.as_mut()?.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.input
            .as_ref()
            .map_or((0, Some(0)), |input| input.size_hint())
    }
}

impl<A> fmt::Debug for UnreadInput<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnreadInput")
            .field("empty", &self.is_empty())
            .finish()
    }
}
