//! Go-style cancellation contexts: cancel, deadline, parent and child.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
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
    /// Taken (set to `None`) only while the context is dropped.
    parent: Option<Arc<Inner>>,
    /// This context's place in its parent's [`Children`]; meaningless for a
    /// context that has no parent or was born ended.
    slot: usize,
    /// The earliest deadline of this context and all of its ancestors,
    /// worked out once at creation so that nobody has to walk the chain to
    /// learn it.
    deadline: Option<Instant>,
    /// Whether this context's deadline is its own, earlier than its
    /// parent's, and so needs a timer entry of its own (an inherited deadline
    /// ends this context through the ancestor that set it). Cleared once the
    /// entry is given up on drop.
    own_timer: bool,
    /// Why the context ended ([`LIVE`] while it has not): written only under
    /// the `state` lock, together with the rest of the ending, and read
    /// without any lock.
    reason: AtomicU8,
    /// Disconnected (never sent on) when the context is cancelled. Made on
    /// first use: most contexts (the links of a chain, say) are never
    /// watched.
    done: OnceLock<Receiver<()>>,
    state: Mutex<State>,
}

struct State {
    /// Dropping this sender is what closes `Inner::done`; `None` until
    /// `done` is made, and once the context has ended.
    done_sender: Option<Sender<()>>,
    children: Children,
}

/// The live children of a context, which ending it ends: a slab, where each
/// child knows its slot (`Inner::slot`), so that adding and forgetting a
/// child is a push and a store, without hashing.
#[derive(Default)]
struct Children {
    slots: Vec<Option<Weak<Inner>>>,
    /// The empty slots, to be reused before `slots` grows.
    free: Vec<usize>,
}

impl Children {
    fn insert(&mut self, child: Weak<Inner>) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(child);
                slot
            }
            None => {
                self.slots.push(Some(child));
                self.slots.len() - 1
            }
        }
    }

    /// Forgets the child in `slot`. Each child does so at most once, and
    /// never after its parent has ended and taken its children (leaving
    /// this empty), so a slot never names another child by then.
    fn remove(&mut self, slot: usize) {
        if let Some(entry) = self.slots.get_mut(slot)
            && entry.take().is_some()
        {
            self.free.push(slot);
            if self.free.len() == self.slots.len() {
                self.slots.clear();
                self.free.clear();
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The children still alive.
    fn upgrade(self) -> impl Iterator<Item = Arc<Inner>> {
        self.slots
            .into_iter()
            .flatten()
            .filter_map(|child| child.upgrade())
    }
}

/// `Inner::reason` of a context that has not ended.
const LIVE: u8 = 0;
/// `Inner::reason` of a context ended by [`ContextError::Cancelled`].
const CANCELLED: u8 = 1;
/// `Inner::reason` of a context ended by [`ContextError::DeadlineExceeded`].
const DEADLINE_EXCEEDED: u8 = 2;

fn encode(reason: ContextError) -> u8 {
    match reason {
        ContextError::Cancelled => CANCELLED,
        ContextError::DeadlineExceeded => DEADLINE_EXCEEDED,
    }
}

fn decode(reason: u8) -> Option<ContextError> {
    match reason {
        CANCELLED => Some(ContextError::Cancelled),
        DEADLINE_EXCEEDED => Some(ContextError::DeadlineExceeded),
        _ => None,
    }
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
                slot: 0,
                deadline: None,
                own_timer: false,
                reason: AtomicU8::new(LIVE),
                done: OnceLock::from(crossbeam_channel::never()),
                state: Mutex::new(State {
                    done_sender: None,
                    children: Children::default(),
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
    #[must_use]
    pub fn with_cancel(parent: &Context) -> Context {
        Context::derive(parent, None)
    }

    /// Returns a child of `parent` that is cancelled with
    /// [`ContextError::DeadlineExceeded`] once `timeout` has passed.
    ///
    /// A zero `timeout` gives a context that has ended already: its
    /// [`done`](Context::done) channel is disconnected on return.
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
    #[must_use]
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
    /// As in Go, a deadline that has already passed gives a context that has
    /// ended already: its [`done`](Context::done) channel is disconnected on
    /// return and its [`err`](Context::err) is
    /// [`ContextError::DeadlineExceeded`].
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
    #[must_use]
    pub fn with_deadline(parent: &Context, deadline: Instant) -> Context {
        Context::derive(parent, Some(deadline))
    }

    fn derive(parent: &Context, deadline: Option<Instant>) -> Context {
        let inherited = parent.inner.deadline;
        let deadline = match (inherited, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let linked = parent.inner.is_cancellable();
        // Under the parent's lock, which ending it takes too: either the
        // parent has ended, and the child is born ended with its reason, or
        // the child is among the children that ending the parent will end.
        let mut parent_state = linked.then(|| parent.inner.state.lock());
        let parent_ended = if linked { parent.inner.reason() } else { None };
        let inner = Arc::new_cyclic(|this| {
            let slot = match (&mut parent_state, parent_ended) {
                (Some(state), None) => state.children.insert(this.clone()),
                // Not a child the parent has to end or forget.
                _ => usize::MAX,
            };
            Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                parent: linked.then(|| parent.inner.clone()),
                slot,
                deadline,
                // Only a deadline earlier than the parent's needs its own
                // timer: the parent's timer ends this child through the
                // parent otherwise.
                own_timer: deadline.is_some() && deadline != inherited,
                reason: AtomicU8::new(parent_ended.map_or(LIVE, encode)),
                done: OnceLock::new(),
                state: Mutex::new(State {
                    done_sender: None,
                    children: Children::default(),
                }),
            }
        });
        drop(parent_state);
        // A deadline that has already passed ends the context at once, as in
        // Go, rather than whenever the timer thread gets to it. Where the
        // deadline is inherited this ends the ancestor that set it, as its
        // timer would.
        if let Some(deadline) = deadline
            && !inner.is_ended()
            && deadline <= Instant::now()
        {
            inner.expire();
        }
        if let Some(deadline) = deadline
            && inner.own_timer
            && !inner.is_ended()
        {
            let expire: Arc<dyn timer::Expire> = inner.clone();
            timer::register(inner.id, deadline, Arc::downgrade(&expire));
            // A parent cancelled since the check above ended this child and
            // found nothing to unregister yet: undo the registration, or the
            // timer thread would wait for a deadline nobody needs.
            if inner.is_ended() {
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
        self.inner.is_cancellable() && self.inner.end(ContextError::Cancelled)
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
        // One atomic load, and a clock read only where there is a deadline:
        // no lock unless this very call ends the context.
        if let Some(reason) = self.inner.reason() {
            return Some(reason);
        }
        // The timer thread may lag a little behind the clock; a reader that
        // sees the deadline pass ends the context itself so every observer
        // agrees from here on.
        let deadline = self.inner.deadline?;
        if Instant::now() < deadline {
            return None;
        }
        self.inner.expire();
        self.inner.reason()
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
    /// makes it a case in [`crossbeam_channel::select!`][select].
    ///
    /// [select]: https://docs.rs/crossbeam-channel/0.5/crossbeam_channel/macro.select.html
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
        self.inner.done.get_or_init(|| {
            let (done_sender, done) = crossbeam_channel::bounded(0);
            let mut state = self.inner.state.lock();
            // Read under the lock that ending the context takes: either it
            // has ended and the sender goes at once, or ending it will drop
            // the sender.
            if !self.inner.is_ended() {
                state.done_sender = Some(done_sender);
            }
            done
        })
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
                let _ = self.done().recv_deadline(wake);
            }
            None => {
                let _ = self.done().recv();
            }
        }
        self.check()
    }

    /// Whether the context has ended, without looking at the clock: one
    /// atomic load, for the engine's per-job check. A deadline that passed
    /// is seen here once the timer thread or
    /// [`expire_if_past`](Context::expire_if_past) has ended the context.
    #[inline]
    pub(crate) fn is_ended(&self) -> bool {
        self.inner.is_ended()
    }

    /// Ends the context with [`ContextError::DeadlineExceeded`] if its
    /// deadline (its own or an ancestor's, whichever is earliest) is at or
    /// before `now`, and returns whether the context has ended, for whatever
    /// reason.
    ///
    /// For callers that read the clock anyway (the run engine between jobs),
    /// so that a passed deadline takes effect at once instead of whenever
    /// the timer thread wakes. The ending is exactly the timer's: the
    /// context that set the deadline ends, and with it every descendant,
    /// this context included; `done()` disconnects and everything waiting on
    /// it wakes. A context that has already ended keeps its reason.
    ///
    /// Cheap where it does nothing: one atomic load and a comparison with
    /// the deadline cached at creation, without a lock or an allocation;
    /// with no deadline anywhere in the chain, no comparison either.
    #[inline]
    pub(crate) fn expire_if_past(&self, now: Instant) -> bool {
        if self.inner.is_ended() {
            return true;
        }
        match self.inner.deadline {
            Some(deadline) if deadline <= now => {
                self.inner.expire();
                true
            }
            _ => false,
        }
    }

    /// A weak handle on the shared state, for the timer's unit tests.
    #[cfg(test)]
    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
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
            .field("err", &self.inner.reason())
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}

impl timer::Expire for Inner {
    fn expire(&self) {
        self.end(ContextError::DeadlineExceeded);
    }
}

impl Inner {
    fn is_cancellable(&self) -> bool {
        self.id != 0
    }

    /// Why the context ended, or `None` while it is live; lock-free.
    #[inline]
    fn reason(&self) -> Option<ContextError> {
        decode(self.reason.load(Ordering::Acquire))
    }

    #[inline]
    fn is_ended(&self) -> bool {
        self.reason.load(Ordering::Acquire) != LIVE
    }

    /// Ends this context and every descendant with `reason`, and forgets it
    /// in its parent. Returns `false` if the context had already ended.
    ///
    /// The descendants are walked with a work list, not by recursion, so a
    /// chain of any depth ends without exhausting the stack.
    pub(crate) fn end(&self, reason: ContextError) -> bool {
        let Some(children) = self.close(reason) else {
            return false;
        };
        if let Some(parent) = &self.parent {
            parent.state.lock().children.remove(self.slot);
        }
        // A descendant's parent has ended and given up its children already,
        // so there is nothing to forget there; only the closing is left.
        let mut pending: Vec<Arc<Inner>> = children.upgrade().collect();
        while let Some(context) = pending.pop() {
            if let Some(children) = context.close(reason) {
                pending.extend(children.upgrade());
            }
        }
        true
    }

    /// Records `reason`, closes `done` and gives up the timer entry, then
    /// hands back the children for the caller to end. `None` if the context
    /// had already ended.
    fn close(&self, reason: ContextError) -> Option<Children> {
        let (children, done_sender) = {
            let mut state = self.state.lock();
            if self.is_ended() {
                return None;
            }
            self.reason.store(encode(reason), Ordering::Release);
            (
                std::mem::take(&mut state.children),
                state.done_sender.take(),
            )
        };
        drop(done_sender);
        if self.own_timer {
            timer::unregister(self.id);
        }
        Some(children)
    }

    /// Ends, with [`ContextError::DeadlineExceeded`], the context that set
    /// this one's deadline (this one, or the nearest ancestor whose own
    /// deadline it inherits), which ends this one with it, just as that
    /// context's timer would.
    fn expire(&self) {
        let Some(deadline) = self.deadline else {
            return;
        };
        let mut owner = self;
        while let Some(parent) = &owner.parent
            && parent.deadline == Some(deadline)
        {
            owner = parent;
        }
        owner.end(ContextError::DeadlineExceeded);
        // The owner may have ended a moment ago for another reason, its
        // descendants still being ended on another thread: this context's
        // deadline has passed all the same, so it ends now either way.
        self.end(ContextError::DeadlineExceeded);
    }

    /// Called as the last handle goes: forgets a context that never ended in
    /// its parent and in the timer, which keep work (or memory) for it
    /// otherwise (ending it did both already), and hands back its handle on
    /// the parent for the caller to drop.
    fn release(&mut self) -> Option<Arc<Inner>> {
        let parent = self.parent.take();
        if *self.reason.get_mut() == LIVE {
            if let Some(parent) = &parent {
                parent.state.lock().children.remove(self.slot);
            }
            if self.own_timer {
                timer::unregister(self.id);
            }
        }
        self.own_timer = false;
        parent
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping the last handle on a parent drops the parent, and so on
        // up the chain: unwound here in a loop rather than by the recursion
        // of nested drops, so a chain of any depth drops without exhausting
        // the stack. `Arc::into_inner` hands the parent over to exactly one
        // of several threads dropping its last handles at once.
        let mut parent = self.release();
        while let Some(handle) = parent {
            parent = Arc::into_inner(handle).and_then(|mut inner| inner.release());
        }
    }
}

#[cfg(test)]
mod tests {
    use crossbeam_channel::TryRecvError;

    use super::*;

    /// Long enough for anything that must happen, on a loaded machine.
    const PATIENCE: Duration = Duration::from_secs(5);
    /// A timeout no test waits for.
    const LONG: Duration = Duration::from_secs(600);

    fn assert_live(ctx: &Context) {
        assert_eq!(ctx.inner.reason(), None);
        assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Empty));
    }

    fn assert_ended(ctx: &Context, why: ContextError) {
        assert_eq!(ctx.inner.reason(), Some(why));
        assert_eq!(ctx.err(), Some(why));
        assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Disconnected));
    }

    /// Runs `f` on another thread and returns what it returns, failing the
    /// test if that takes longer than [`PATIENCE`] (a thread blocked on a
    /// lock the test holds, say) rather than hanging it.
    fn within_patience<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(PATIENCE)
            .expect("returned without waiting for a lock")
    }

    #[test]
    fn expire_if_past_leaves_a_context_whose_deadline_has_not_passed() {
        let now = Instant::now();
        let background = Context::background();
        assert!(!background.expire_if_past(now + LONG));
        assert!(!background.inner.is_ended());

        let plain = Context::with_cancel(&Context::with_cancel(&background));
        assert!(
            !plain.expire_if_past(now + LONG),
            "no deadline, nothing to pass"
        );
        assert_live(&plain);

        let deadline = now + LONG;
        let timed = Context::with_deadline(&background, deadline);
        let child = Context::with_cancel(&timed);
        assert!(!timed.expire_if_past(now));
        assert!(!child.expire_if_past(deadline - Duration::from_nanos(1)));
        assert_live(&timed);
        assert_live(&child);
    }

    #[test]
    fn expire_if_past_takes_no_lock_where_it_does_nothing() {
        let plain = Context::with_cancel(&Context::with_cancel(&Context::background()));
        let timed = Context::with_timeout(&plain, LONG);
        // Every lock of the chain is held: a check that took one would wait.
        let _held = [
            &plain.inner,
            plain.inner.parent.as_ref().unwrap(),
            &timed.inner,
        ]
        .map(|inner| inner.state.lock());
        let now = Instant::now();
        let checked = [plain.clone(), timed.clone()];
        let expired = within_patience(move || checked.map(|ctx| ctx.expire_if_past(now)));
        assert_eq!(expired, [false, false]);
    }

    #[test]
    fn err_and_is_cancelled_take_no_lock() {
        let cancelled = Context::with_cancel(&Context::background());
        cancelled.cancel();
        let timed = Context::with_timeout(&Context::background(), LONG);
        let _held = [&cancelled.inner, &timed.inner].map(|inner| inner.state.lock());
        let (a, b) = (cancelled.clone(), timed.clone());
        let seen = within_patience(move || {
            (
                a.err(),
                a.is_cancelled(),
                a.check(),
                b.err(),
                b.is_cancelled(),
                b.inner.is_ended(),
            )
        });
        assert_eq!(
            seen,
            (
                Some(ContextError::Cancelled),
                true,
                Err(ContextError::Cancelled),
                None,
                false,
                false
            )
        );
    }

    #[test]
    fn expire_if_past_ends_the_context_as_its_timer_would() {
        let root = Context::with_cancel(&Context::background());
        let deadline = Instant::now() + LONG;
        // `owner` set the deadline; `ctx` and `sibling` inherit it, and so
        // does `grandchild`, whose own deadline is later.
        let owner = Context::with_deadline(&root, deadline);
        let ctx = Context::with_cancel(&owner);
        let sibling = Context::with_cancel(&owner);
        let grandchild = Context::with_deadline(&ctx, deadline + LONG);
        assert_eq!(grandchild.deadline(), Some(deadline));

        let (returned_tx, returned_rx) = crossbeam_channel::unbounded();
        let waiter = {
            let grandchild = grandchild.clone();
            std::thread::spawn(move || {
                let received = grandchild.done().recv();
                returned_tx.send(()).unwrap();
                received
            })
        };
        assert!(
            ctx.expire_if_past(deadline),
            "a deadline at `now` has passed"
        );
        for ended in [&owner, &ctx, &sibling, &grandchild] {
            assert_ended(ended, ContextError::DeadlineExceeded);
        }
        assert_live(&root);
        returned_rx
            .recv_timeout(PATIENCE)
            .expect("a thread waiting on done wakes");
        assert!(waiter.join().unwrap().is_err());
        assert!(!owner.cancel(), "the context ended once");
        assert!(ctx.expire_if_past(deadline), "and stays ended");
        assert_ended(&ctx, ContextError::DeadlineExceeded);
    }

    #[test]
    fn expire_if_past_ends_a_child_whose_own_deadline_passed_and_not_its_parent() {
        let now = Instant::now();
        let parent = Context::with_deadline(&Context::background(), now + 2 * LONG);
        let child = Context::with_deadline(&parent, now + LONG);
        assert!(!parent.expire_if_past(now + LONG));
        assert!(child.expire_if_past(now + LONG));
        assert_ended(&child, ContextError::DeadlineExceeded);
        assert_live(&parent);
    }

    #[test]
    fn expire_if_past_keeps_the_reason_of_an_ended_context() {
        let ctx = Context::with_timeout(&Context::background(), LONG);
        let child = Context::with_cancel(&ctx);
        assert!(ctx.cancel());
        assert!(ctx.expire_if_past(Instant::now() + 2 * LONG));
        assert!(child.expire_if_past(Instant::now() + 2 * LONG));
        assert_ended(&ctx, ContextError::Cancelled);
        assert_ended(&child, ContextError::Cancelled);
    }

    #[test]
    fn a_passed_deadline_ends_the_context_at_creation() {
        let past = Instant::now();
        for ctx in [
            Context::with_deadline(&Context::background(), past),
            Context::with_timeout(&Context::background(), Duration::ZERO),
        ] {
            assert!(ctx.inner.is_ended(), "ended before anyone asked err()");
            assert_ended(&ctx, ContextError::DeadlineExceeded);
            assert!(
                !timer::is_registered(ctx.inner.id),
                "an ended context keeps no timer entry"
            );
        }
    }

    #[test]
    fn dropping_a_live_child_forgets_it_in_its_parent() {
        let parent = Context::with_cancel(&Context::background());
        let children: Vec<Context> = (0..3).map(|_| Context::with_cancel(&parent)).collect();
        let chain = Context::with_cancel(&Context::with_cancel(&parent));
        assert_eq!(parent.inner.state.lock().children.len(), 4);
        drop(children);
        assert_eq!(parent.inner.state.lock().children.len(), 1);
        drop(chain);
        assert_eq!(parent.inner.state.lock().children.len(), 0);
        let cancelled = Context::with_cancel(&parent);
        cancelled.cancel();
        assert!(
            parent.inner.state.lock().children.len() == 0,
            "an ended child is forgotten at once"
        );
        assert_live(&parent);
    }
}
