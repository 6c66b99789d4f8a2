//! The feeder of a batch run: it pulls jobs from the caller's iterator
//! into the job queue, one at a time, on a thread of its own.

use std::sync::atomic::Ordering;

use crate::engine::Engine;
use crate::engine::queue::Wait;
use crate::job::Job;
use crate::unwind;

/// How many input-order credits the feeder takes at a time: one shared
/// atomic operation per this many jobs, not per job.
const WINDOW_CREDITS: usize = 64;

impl<A, T, E> Engine<'_, A, T, E> {
    /// Feeds `input` into the queue until it ends, panics, or the intake
    /// ends, then closes the queue. A job pulled but not queued comes back
    /// unstarted. The input's panics (in `next` or in its drop) are kept for
    /// the summary; the jobs queued before survive them.
    ///
    /// In a resumable run, returns the input if the intake ended before the
    /// input did, for the caller to hand back; otherwise drops it here, as
    /// soon as it stops reading (an input may hold senders or files that
    /// the caller waits to see closed).
    pub(crate) fn feed<I: Iterator<Item = Job<A>>>(&self, input: I) -> Option<I> {
        let mut input = input;
        // Input-order credits taken and not yet used by a job.
        let mut credits = 0;
        let pulled = unwind::catch(|| {
            loop {
                if credits == 0
                    && let Some(window) = &self.window
                {
                    // Before pulling: a job waits in the input, not in
                    // memory, while the window is full.
                    match window.take_up_to(WINDOW_CREDITS, self.intake.done(), None) {
                        Ok(taken) => credits = taken,
                        Err(_) => return false,
                    }
                }
                // Checked before pulling: after a cancel or shutdown no
                // input is pulled at all.
                if self.intake.is_ended() {
                    return false;
                }
                let Some(job) = input.next() else {
                    return true;
                };
                credits = credits.saturating_sub(1);
                if let Err((_, mut job)) = self.queue.push(job, Wait::Forever, self.producer(true))
                {
                    self.queue.count_refused(&mut job);
                    self.give_back([job]);
                    credits += usize::from(self.window.is_some());
                    return false;
                }
            }
        });
        if let Some(window) = &self.window {
            window.give_back(credits);
        }
        let stopped_early = match pulled {
            Ok(true) => false,
            Ok(false) => {
                if self.ctx.is_cancelled() {
                    self.intake_cut_short.store(true, Ordering::Relaxed);
                }
                true
            }
            Err(panic) => {
                self.record_panic(panic);
                false
            }
        };
        self.queue.close();
        if stopped_early && self.resumable {
            return Some(input);
        }
        // Dropping the input may run user code too.
        if let Err(panic) = unwind::catch(move || drop(input)) {
            self.record_panic(panic);
        }
        None
    }
}
