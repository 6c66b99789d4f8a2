//! The feeder of a batch run: it pulls jobs from the caller's iterator
//! into the job queue, one at a time, on a thread of its own.

use std::sync::atomic::Ordering;

use crate::engine::Engine;
use crate::engine::queue::Wait;
use crate::job::Job;
use crate::unwind;

impl<A, T, E> Engine<'_, A, T, E> {
    /// Feeds `input` into the queue until it ends, panics, or the intake
    /// ends, then closes the queue. A job pulled but not queued comes back
    /// unstarted. The input's panics (in `next` or in its drop) are kept for
    /// the summary; the jobs queued before survive them.
    pub(crate) fn feed(&self, input: impl Iterator<Item = Job<A>>) {
        let mut input = input;
        let pulled = unwind::catch(|| {
            loop {
                // Checked before pulling: after a cancel or shutdown no
                // input is pulled at all.
                if self.intake.is_ended() {
                    return false;
                }
                let Some(job) = input.next() else {
                    return true;
                };
                if let Err((_, job)) = self.queue.push(job, Wait::Forever, self.producer(true)) {
                    self.queue.count_submitted(1);
                    self.give_back([job]);
                    return false;
                }
            }
        });
        match pulled {
            Ok(true) => {}
            Ok(false) => {
                if self.ctx.is_cancelled() {
                    self.intake_cut_short.store(true, Ordering::Relaxed);
                }
            }
            Err(panic) => self.record_panic(panic),
        }
        self.queue.close();
        // Dropping the input may run user code too.
        if let Err(panic) = unwind::catch(move || drop(input)) {
            self.record_panic(panic);
        }
    }
}
