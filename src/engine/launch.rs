//! Starting a run's threads, and ending the run: the last thread out (or
//! the launcher, if every thread left before it finished starting them)
//! takes the shutdown steps, so no thread exists only to wait and join.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use crate::engine::{Config, Engine};
use crate::error::StartError;

impl<A, T, E> Engine<A, T, E>
where
    A: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// Starts one of the run's threads, which runs `part` and then leaves.
    /// On error nothing was started; the caller then calls
    /// [`abort`](Engine::abort).
    pub(crate) fn spawn(
        self: &Arc<Self>,
        config: &Config,
        name: String,
        part: impl FnOnce(&Engine<A, T, E>) + Send + 'static,
    ) -> Result<(), StartError> {
        let mut builder = thread::Builder::new().name(name.clone());
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        self.participants.fetch_add(1, Ordering::AcqRel);
        let engine = self.clone();
        // Holding the list's lock across the spawn makes the handle's entry
        // come before the thread can try to join the others.
        let mut threads = self.threads.lock();
        let spawned = builder.spawn(move || {
            part(&engine);
            engine.leave();
        });
        match spawned {
            Ok(handle) => {
                threads.push(handle);
                Ok(())
            }
            Err(err) => {
                drop(threads);
                self.participants.fetch_sub(1, Ordering::AcqRel);
                Err(StartError::new(name, err))
            }
        }
    }
}

impl<A, T, E> Engine<A, T, E> {
    /// Ends the launcher's part once every thread has started.
    pub(crate) fn launched(&self) {
        self.leave();
    }

    /// Ends a run that failed to start: the threads started so far stop
    /// at once, and the launcher leaves.
    pub(crate) fn abort(&self) {
        self.ctx.cancel();
        self.queue.close();
        self.leave();
    }

    /// Called by each participant when its part is done; the last one ends
    /// the run.
    fn leave(&self) {
        if self.participants.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.end();
        }
    }

    /// The shutdown steps, taken once every participant has left:
    ///
    /// 1. Every other thread is joined (they have all left).
    /// 2. Jobs still queued or on a local queue (only after a cancel) come
    ///    back unstarted.
    /// 3. `cancelled_by` is set if the end of the context cut the run short.
    /// 4. The done channel's sender is dropped.
    ///
    /// The results channel disconnects when the last worker's sender goes,
    /// which is after its last send; `Run` reports the end of the results
    /// only once `done` has disconnected too.
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
            let _ = handle.join();
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
            let _ = handle.join();
        }
    }
}
