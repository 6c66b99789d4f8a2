//! How a run's threads are spawned: detached (`std::thread::Builder::spawn`,
//! for a run that owns everything it touches, `'scope` = `'static`) or in a
//! `std::thread::Scope` (for a run that borrows from the caller's stack).
//! Either way the engine keeps each thread's handle and joins it itself, so
//! the shutdown order is the same for both.

use std::io;
use std::thread::{self, JoinHandle, ScopedJoinHandle, Thread};

/// A thread's body: the engine boxes one per thread.
pub(crate) type Body<'scope> = Box<dyn FnOnce() + Send + 'scope>;

/// Spawns the threads of runs whose borrows last for `'scope`.
pub(crate) trait Spawner<'scope>: Sync {
    /// Spawns `body` on a thread configured by `builder`.
    fn spawn(
        &'scope self,
        builder: thread::Builder,
        body: Body<'scope>,
    ) -> io::Result<Handle<'scope>>;
}

/// Spawns plain threads, which may outlive the caller's stack frame.
pub(crate) struct Detached;

impl Spawner<'static> for Detached {
    fn spawn(
        &'static self,
        builder: thread::Builder,
        body: Body<'static>,
    ) -> io::Result<Handle<'static>> {
        builder.spawn(body).map(Handle::Detached)
    }
}

/// Spawns threads in a scope, which joins them (at the latest) when it ends.
impl<'scope> Spawner<'scope> for thread::Scope<'scope, '_> {
    fn spawn(
        &'scope self,
        builder: thread::Builder,
        body: Body<'scope>,
    ) -> io::Result<Handle<'scope>> {
        builder.spawn_scoped(self, body).map(Handle::Scoped)
    }
}

/// The handle of a run's thread, as its spawner returned it.
pub(crate) enum Handle<'scope> {
    Detached(JoinHandle<()>),
    Scoped(ScopedJoinHandle<'scope, ()>),
}

impl Handle<'_> {
    /// The thread the handle stands for.
    pub(crate) fn thread(&self) -> &Thread {
        match self {
            Handle::Detached(handle) => handle.thread(),
            Handle::Scoped(handle) => handle.thread(),
        }
    }

    /// Waits for the thread to return. Every thread of a run catches the
    /// panics of user code, so an error here is not expected and ignored.
    pub(crate) fn join(self) {
        let _ = match self {
            Handle::Detached(handle) => handle.join(),
            Handle::Scoped(handle) => handle.join(),
        };
    }
}
