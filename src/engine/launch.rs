//! Starting a run's threads, and ending the run.
//!
//! A run ends on a thread that runs no job, once every worker has left, so
//! that it can join every worker before `done` fires: in a batch run the
//! feeder, which waits for the workers once its input is done; in a `start`
//! run a short-lived closer that the last worker to leave starts (or the
//! launcher, if every worker left before it finished starting them). A
//! `start` run has no thread that waits for the whole run only to join.
//!
//! Every thread is started by the run's spawner (`spawner.rs`): detached,
//! or in the caller's `std::thread::Scope` for a run that borrows for
//! `'scope`. Its handle is kept here and joined here either way.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use std::convert::Infallible;

use crate::context::Context;
use crate::engine::{Config, Engine, NoPolicy, UnreadInput};
use crate::error::StartError;
use crate::job::Job;
use crate::unwind;

impl<'scope, A, T, E> Engine<'scope, A, T, E>
where
    A: Send + 'scope,
    T: Send + 'scope,
    E: Send + 'scope,
{
    /// Starts worker `index`'s thread, which runs `work` and then leaves.
    /// On error nothing was started; the caller then calls
    /// [`abort`](Engine::abort).
    pub(crate) fn spawn_worker(
        self: &Arc<Self>,
        config: &Config,
        index: usize,
        work: impl FnOnce(&Engine<'scope, A, T, E>) + Send + 'scope,
    ) -> Result<(), StartError> {
        self.participants.fetch_add(1, Ordering::AcqRel);
        let engine = self.clone();
        let hooks = config.hooks.clone();
        let spawned = self.spawn(
            config,
            format!("{}-{index}", config.thread_name),
            move || {
                // Leaves even if the engine's own code panics (a bug, since
                // user code is caught): a worker that never left would keep
                // the run from ending, and its handle's drop waiting.
                let leaving = Leaving(&engine);
                engine.call_hook(hooks.start.as_deref(), index);
                work(&engine);
                engine.call_hook(hooks.exit.as_deref(), index);
                drop(leaving);
            },
        );
        if spawned.is_err() {
            self.participants.fetch_sub(1, Ordering::AcqRel);
        }
        spawned
    }

    /// Starts the feeder of a batch run: it feeds `input` into the queue,
    /// then waits for every worker to leave and ends the run.
    pub(crate) fn spawn_feeder<I>(
        self: &Arc<Self>,
        config: &Config,
        input: Input<I, A>,
    ) -> Result<(), StartError>
    where
        I: Iterator<Item = Job<A>> + Send + 'scope,
    {
        let Input { jobs: input, keep } = input;
        let (workers_left_tx, workers_left) = crossbeam_channel::bounded::<()>(0);
        *self.workers_left.lock() = Some(workers_left_tx);
        let engine = self.clone();
        // If the thread cannot start, std drops the closure, and with it the
        // input, on this thread: user code, whose panic must not skip the
        // caller's `abort`.
        let mut input = DropCaught(Some(input));
        let spawned = self.spawn(
            config,
            format!("{}-feeder", config.thread_name),
            move || {
                if let Some(input) = input.0.take()
                    && let Some(unread) = engine.feed(input)
                {
                    match keep {
                        Some(keep) => engine.keep_unread(keep(unread)),
                        None => engine.drop_user_value(unread),
                    }
                }
                // Disconnected by the last participant to leave.
                let _ = workers_left.recv();
                engine.end();
            },
        );
        if spawned.is_err() {
            self.workers_left.lock().take();
        }
        spawned
    }

    /// Calls a thread hook, keeping its panic for the summary.
    fn call_hook(&self, hook: Option<&(dyn Fn(usize) + Send + Sync)>, index: usize) {
        if let Some(hook) = hook
            && let Err(panic) = unwind::catch(|| hook(index))
        {
            self.record_panic(panic);
        }
    }

    /// Spawns a thread of the run and lists its handle.
    fn spawn(
        &self,
        config: &Config,
        name: String,
        body: impl FnOnce() + Send + 'scope,
    ) -> Result<(), StartError> {
        let mut builder = thread::Builder::new().name(name.clone());
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        // Holding the list's lock across the spawn makes the handle's entry
        // come before the thread can try to join the others.
        let mut threads = self.threads.lock();
        match self.spawner.spawn(builder, Box::new(body)) {
            Ok(handle) => {
                threads.push(handle);
                Ok(())
            }
            Err(err) => Err(StartError::new(name, err)),
        }
    }

    /// Ends the launcher's part once every thread has started.
    pub(crate) fn launched(self: &Arc<Self>) {
        Engine::leave(self, false);
    }

    /// Ends a run that failed to start: the threads started so far stop
    /// at once, and the launcher leaves.
    pub(crate) fn abort(self: &Arc<Self>) {
        self.ctx.cancel();
        self.queue.close();
        Engine::leave(self, false);
    }

    /// Called by each worker when its loop is done, and by the launcher.
    /// The last one out has the run ended on a thread that runs no job:
    /// the feeder, if there is one, else a closer thread it starts (or
    /// itself, if that cannot start, or if it is the launcher).
    fn leave(engine: &Arc<Self>, is_worker: bool) {
        if engine.participants.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        if let Some(feeder_waits) = engine.workers_left.lock().take() {
            drop(feeder_waits);
            return;
        }
        if is_worker {
            // A `start` run, or a batch run whose feeder never started. The
            // closer comes from the run's spawner, like every other thread.
            let closer = engine.clone();
            let name = format!("{}-closer", engine.thread_name);
            let mut threads = engine.threads.lock();
            let spawned = engine.spawner.spawn(
                thread::Builder::new().name(name),
                Box::new(move || closer.end()),
            );
            if let Ok(handle) = spawned {
                threads.push(handle);
                return;
            }
        }
        engine.end();
    }
}

/// What every worker of a run does: make its state with `init`, then run
/// each job with `f` under `policy`.
pub(crate) struct Task<Init, F, P> {
    pub(crate) init: Init,
    pub(crate) f: F,
    pub(crate) policy: P,
    /// Whether the launcher waits for every worker's `init` before it
    /// lets any job in (a run whose state can fail to be made).
    pub(crate) waits_for_init: bool,
}

/// A plain run's task: no state, no policy.
#[expect(clippy::type_complexity, reason = "the task's three parts")]
pub(crate) fn plain_task<A, T, E>(
    f: impl Fn(&Context, A) -> Result<T, E>,
) -> Task<
    impl Fn() -> Result<(), Infallible>,
    impl Fn(&mut (), &Context, A) -> Result<T, E>,
    NoPolicy,
> {
    Task {
        init: || Ok(()),
        f: move |_: &mut (), ctx: &Context, args: A| f(ctx, args),
        policy: NoPolicy,
        waits_for_init: false,
    }
}

/// Calls `Engine::leave` for a worker when dropped, also by a panic.
struct Leaving<'e, 'scope, A, T, E>(&'e Arc<Engine<'scope, A, T, E>>)
where
    A: Send + 'scope,
    T: Send + 'scope,
    E: Send + 'scope;

impl<'scope, A, T, E> Drop for Leaving<'_, 'scope, A, T, E>
where
    A: Send + 'scope,
    T: Send + 'scope,
    E: Send + 'scope,
{
    fn drop(&mut self) {
        Engine::leave(self.0, true);
    }
}

/// A batch run's input, and how to keep what it leaves unread.
pub(crate) struct Input<I, A> {
    jobs: I,
    /// Boxes the rest of the input for the summary; only an input that
    /// borrows nothing can be kept past the run (a scoped run's input
    /// stays with its caller if passed `by_ref()`).
    keep: Option<fn(I) -> UnreadInput<A>>,
}

impl<I, A> Input<I, A>
where
    I: Iterator<Item = Job<A>> + Send,
{
    /// An input that borrows nothing: its unread rest can be handed back.
    pub(crate) fn owned(jobs: I) -> Self
    where
        I: 'static,
    {
        Input {
            jobs,
            keep: Some(|rest| Box::new(rest)),
        }
    }

    /// An input that may borrow: dropped when the run stops reading it.
    pub(crate) fn borrowed(jobs: I) -> Self {
        Input { jobs, keep: None }
    }
}

/// Drops its value inside `unwind::catch`.
struct DropCaught<V>(Option<V>);

impl<V> Drop for DropCaught<V> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            let _ = unwind::catch(move || drop(value));
        }
    }
}

impl<A, T, E> Engine<'_, A, T, E> {
    /// The shutdown steps, taken once every worker has left:
    ///
    /// 1. Every other thread is joined (they have all left).
    /// 2. Jobs still queued or on a local queue (only after a cancel) come
    ///    back unstarted.
    /// 3. `cancelled_by` is set if the end of the context cut the run short.
    /// 4. The done channel's sender is dropped.
    ///
    /// The results channel disconnects when the last worker's sender goes,
    /// which is after its last send; `Run` reports the end of the results
    /// only once `done` has disconnected too. Run on a thread that ran no
    /// job (except in the fallback where a closer cannot start), so every
    /// worker has been joined when `done` fires.
    fn end(&self) {
        let me = thread::current().id();
        let others: Vec<_> = {
            let mut threads = self.threads.lock();
            let (mine, others) = std::mem::take(&mut *threads)
                .into_iter()
                .partition(|handle| handle.thread().id() == me);
            *threads = mine;
            others
        };
        for handle in others {
            // Every thread catches the panics of user code.
            handle.join();
        }
        if self.queue.close() && self.ctx.is_cancelled() {
            // A `start` run whose context ended before its intake closed.
            self.intake_cut_short.store(true, Ordering::Relaxed);
        }
        self.give_back(self.queue.drain());
        for local in self.local_queues.iter() {
            self.give_back(local.clear());
        }
        // A deadline that passes while the threads wind down, after every
        // job has finished, cut nothing short and is not reported.
        let counts = self.counts();
        let cut_short = self.intake_cut_short.load(Ordering::Relaxed)
            || counts.cancelled > 0
            || counts.unstarted > 0;
        *self.cancelled_by.lock() = self.ctx.err().filter(|_| cut_short);
        self.done.lock().take();
    }

    /// Joins the threads left to join: the one that ended the run. Call
    /// only once `done` has disconnected.
    pub(crate) fn join_threads(&self) {
        let threads = std::mem::take(&mut *self.threads.lock());
        for handle in threads {
            handle.join();
        }
    }
}
