//! Go-style cancellation contexts: cancel, deadline, parent and child.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::error::ContextError;
use crate::timer;

/// A cancellation signal shared by a run, its jobs and anything they start,
/// modelled on Go's `context.Context`.
///
/// A context is cancelled at most once, for one reason ([`ContextError`]):
/// explicitly through [`cancel`](Context::cancel), or when its deadline
/// passes. Cancelling a context cancels all of its children (contexts made
/// from it with [`with_cancel`](Context::with_cancel),
/// [`with_timeout`](Context::with_timeout) or
/// [`with_deadline`](Context::with_deadline)); cancelling a child never
/// touches its parent.
///
/// `Context` is a cheap handle: cloning it gives another handle to the same
/// context, and it is `Send + Sync`, so jobs on any thread can watch it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use wpool::{Context, ContextError};
///
/// let parent = Context::with_cancel(&Context::background());
/// let child = Context::with_timeout(&parent, Duration::from_secs(60));
///
/// assert!(!child.is_cancelled());
/// parent.cancel();
/// assert_eq!(child.err(), Some(ContextError::Cancelled));
/// // The done channel is closed, so a receive returns at once.
/// assert!(child.done().recv().is_err());
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    id: u64,
    parent: Option<Arc<Inner>>,
    deadline: Option<Instant>,
    /// Mirrors `State::reason.is_some()` so hot loops can poll without a lock.
    cancelled: AtomicBool,
    /// Disconnected (never sent on) when the context is cancelled.
    done: Receiver<()>,
    state: Mutex<State>,
}

struct State {
    reason: Option<ContextError>,
    /// Dropping this sender is what closes `Inner::done`.
    done_sender: Option<Sender<()>>,
    children: HashMap<u64, std::sync::Weak<Inner>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Context {
    /// Returns a context that is never cancelled and has no deadline: the
    /// root that other contexts derive from.
    ///
    /// [`cancel`](Context::cancel) on a background context does nothing, and
    /// its [`done`](Context::done) channel never closes.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Context;
    ///
    /// let ctx = Context::background();
    /// assert!(!ctx.cancel());
    /// assert!(!ctx.is_cancelled());
    /// assert_eq!(ctx.deadline(), None);
    /// ```
    pub fn background() -> Context {
        Context {
            inner: Arc::new(Inner {
                id: 0,
                parent: None,
                deadline: None,
                cancelled: AtomicBool::new(false),
                done: crossbeam_channel::never(),
                state: Mutex::new(State {
                    reason: None,
                    done_sender: None,
                    children: HashMap::new(),
                }),
            }),
        }
    }

    /// Returns a child of `parent` that can be cancelled on its own, and is
    /// cancelled with its parent.
    ///
    /// The child inherits the parent's deadline. If the parent is already
    /// cancelled, the child starts cancelled with the same reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Context;
    ///
    /// let parent = Context::with_cancel(&Context::background());
    /// let child = Context::with_cancel(&parent);
    /// assert!(child.cancel());
    /// assert!(child.is_cancelled());
    /// assert!(!parent.is_cancelled(), "cancelling a child never reaches the parent");
    /// ```
    pub fn with_cancel(parent: &Context) -> Context {
        Context::derive(parent, None)
    }

    /// Returns a child of `parent` that is cancelled with
    /// [`ContextError::DeadlineExceeded`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, ContextError};
    ///
    /// let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(10));
    /// // Blocks until the deadline closes the done channel.
    /// assert!(ctx.done().recv().is_err());
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn with_timeout(parent: &Context, timeout: Duration) -> Context {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => Context::derive(parent, Some(deadline)),
            // A timeout too large to represent never expires.
            None => Context::derive(parent, None),
        }
    }

    /// Returns a child of `parent` that is cancelled with
    /// [`ContextError::DeadlineExceeded`] at `deadline`, or at the parent's
    /// deadline if that comes first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use wpool::Context;
    ///
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// let later = soon + Duration::from_secs(60);
    /// let parent = Context::with_deadline(&Context::background(), soon);
    /// let child = Context::with_deadline(&parent, later);
    /// assert_eq!(child.deadline(), Some(soon));
    /// ```
    pub fn with_deadline(parent: &Context, deadline: Instant) -> Context {
        Context::derive(parent, Some(deadline))
    }

    fn derive(parent: &Context, deadline: Option<Instant>) -> Context {
        let deadline = match (parent.inner.deadline, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (done_sender, done) = crossbeam_channel::bounded(0);
        let inner = Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parent: parent.inner.is_cancellable().then(|| parent.inner.clone()),
            deadline,
            cancelled: AtomicBool::new(false),
            done,
            state: Mutex::new(State {
                reason: None,
                done_sender: Some(done_sender),
                children: HashMap::new(),
            }),
        });
        if let Some(parent) = &inner.parent {
            let mut state = parent.state.lock();
            match state.reason {
                Some(reason) => {
                    drop(state);
                    inner.cancel(reason);
                }
                None => {
                    state.children.insert(inner.id, Arc::downgrade(&inner));
                }
            }
        }
        // Only a deadline earlier than the parent's needs its own timer: the
        // parent's timer cancels this child through the parent otherwise.
        if let Some(deadline) = deadline
            && parent.inner.deadline != Some(deadline)
            && !inner.cancelled.load(Ordering::Acquire)
        {
            timer::register(inner.id, deadline, Arc::downgrade(&inner));
            // A parent cancelled since the check above cancelled this child
            // and found nothing to unregister yet: undo the registration, or
            // the timer thread would wait for a deadline nobody needs.
            if inner.cancelled.load(Ordering::Acquire) {
                timer::unregister(inner.id);
            }
        }
        Context { inner }
    }

    /// Cancels this context and all of its children with
    /// [`ContextError::Cancelled`].
    ///
    /// Returns `true` if this call cancelled it, `false` if it was already
    /// cancelled or is a [`background`](Context::background) context.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Context;
    ///
    /// let ctx = Context::with_cancel(&Context::background());
    /// assert!(ctx.cancel());
    /// assert!(!ctx.cancel(), "only the first call cancels");
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner.is_cancellable() && self.inner.cancel(ContextError::Cancelled)
    }

    /// Returns `true` once the context is cancelled or its deadline has
    /// passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Context;
    ///
    /// let ctx = Context::with_cancel(&Context::background());
    /// assert!(!ctx.is_cancelled());
    /// ctx.cancel();
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.err().is_some()
    }

    /// Returns why the context ended, or `None` while it is still live.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, ContextError};
    ///
    /// let ctx = Context::with_timeout(&Context::background(), Duration::ZERO);
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        if self.inner.cancelled.load(Ordering::Acquire) {
            return self.inner.state.lock().reason;
        }
        // The timer thread may lag a little behind the clock; a reader that
        // sees the deadline pass cancels the context itself so every observer
        // agrees from here on.
        match self.inner.deadline {
            Some(deadline) if Instant::now() >= deadline => {
                self.inner.cancel(ContextError::DeadlineExceeded);
                self.inner.state.lock().reason
            }
            _ => None,
        }
    }

    /// Returns `Ok(())` while the context is live and its [`err`](Context::err)
    /// once it has ended, so a job can stop early with `ctx.check()?`.
    ///
    /// # Errors
    ///
    /// [`ContextError::Cancelled`] or [`ContextError::DeadlineExceeded`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::{Context, ContextError};
    ///
    /// fn step(ctx: &Context) -> Result<u32, ContextError> {
    ///     ctx.check()?;
    ///     Ok(1)
    /// }
    /// let ctx = Context::with_cancel(&Context::background());
    /// assert_eq!(step(&ctx), Ok(1));
    /// ctx.cancel();
    /// assert_eq!(step(&ctx), Err(ContextError::Cancelled));
    /// ```
    pub fn check(&self) -> Result<(), ContextError> {
        match self.err() {
            None => Ok(()),
            Some(err) => Err(err),
        }
    }

    /// Returns the deadline, if the context or one of its ancestors has one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::Context;
    ///
    /// let ctx = Context::with_timeout(&Context::background(), Duration::from_secs(5));
    /// assert!(ctx.deadline().is_some());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// Returns a receiver that is disconnected when the context ends.
    ///
    /// Nothing is ever sent on it: a receive blocks while the context is live
    /// and fails at once after it is cancelled or its deadline passes, which
    /// makes it a case in [`crossbeam_channel::select!`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use crossbeam_channel::{after, select};
    /// use wpool::Context;
    ///
    /// let ctx = Context::with_cancel(&Context::background());
    /// let worker = {
    ///     let ctx = ctx.clone();
    ///     std::thread::spawn(move || {
    ///         select! {
    ///             recv(ctx.done()) -> _ => "cancelled",
    ///             recv(after(Duration::from_secs(60))) -> _ => "timed out",
    ///         }
    ///     })
    /// };
    /// ctx.cancel();
    /// assert_eq!(worker.join().unwrap(), "cancelled");
    /// ```
    pub fn done(&self) -> &Receiver<()> {
        &self.inner.done
    }

    /// Sleeps for `duration` unless the context ends first.
    ///
    /// # Errors
    ///
    /// Returns the context's error as soon as it is cancelled or its deadline
    /// passes, without waiting out the rest of `duration`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use wpool::{Context, ContextError};
    ///
    /// let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(5));
    /// assert_eq!(ctx.sleep(Duration::from_secs(60)), Err(ContextError::DeadlineExceeded));
    /// ```
    pub fn sleep(&self, duration: Duration) -> Result<(), ContextError> {
        self.check()?;
        let mut wake = Instant::now().checked_add(duration);
        if let Some(deadline) = self.inner.deadline {
            wake = Some(wake.map_or(deadline, |w| w.min(deadline)));
        }
        match wake {
            Some(wake) => {
                let _ = self.inner.done.recv_deadline(wake);
            }
            None => {
                let _ = self.inner.done.recv();
            }
        }
        self.check()
    }

    /// The fast, lock-free check used between jobs; it trusts the timer
    /// thread to notice deadlines instead of reading the clock.
    #[inline]
    pub(crate) fn is_cancelled_relaxed(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }
}

impl Default for Context {
    /// The same as [`Context::background`].
    ///
    /// # Examples
    ///
    /// ```
    /// use wpool::Context;
    ///
    /// let ctx = Context::default();
    /// assert!(!ctx.cancel(), "a background context cannot be cancelled");
    /// assert_eq!(ctx.deadline(), None);
    /// ```
    fn default() -> Context {
        Context::background()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.inner.state.lock().reason)
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}

impl Inner {
    fn is_cancellable(&self) -> bool {
        self.id != 0
    }

    /// Records `reason` and closes `done`, then cancels the children.
    /// Returns `false` if the context had already ended.
    pub(crate) fn cancel(&self, reason: ContextError) -> bool {
        let (children, done_sender) = {
            let mut state = self.state.lock();
            if state.reason.is_some() {
                return false;
            }
            state.reason = Some(reason);
            self.cancelled.store(true, Ordering::Release);
            (
                std::mem::take(&mut state.children),
                state.done_sender.take(),
            )
        };
        drop(done_sender);
        for child in children.values().filter_map(std::sync::Weak::upgrade) {
            child.cancel(reason);
        }
        self.detach();
        true
    }

    /// Forgets this context in its parent and in the timer, so that neither
    /// keeps work (or memory) for a context that can no longer fire.
    fn detach(&self) {
        if let Some(parent) = &self.parent {
            parent.state.lock().children.remove(&self.id);
        }
        if self.deadline.is_some() {
            timer::unregister(self.id);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.is_cancellable() && !self.cancelled.load(Ordering::Acquire) {
            self.detach();
        }
    }
}
