//! The feeder of a batch run: it pulls jobs from the caller's iterator,
//! packs them into parcels, and queues them.
//!
//! A parcel fills in the shared [`OpenParcel`](crate::shelf::OpenParcel),
//! not in the feeder's hands: the input's next job may be a long time
//! coming, and meanwhile an idle worker takes the jobs already there.

use std::sync::atomic::Ordering;

use crossbeam_channel::Sender;

use crate::parcel::Parcel;
use crate::run::Shared;
use crate::{Job, unwind};

/// Feeds `input` into the job queue until it ends, panics, or the intake
/// context ends. Jobs taken from `input` but not queued are given back as
/// unstarted.
pub(crate) fn feed<A>(
    shared: &Shared<A>,
    input: impl Iterator<Item = Job<A>>,
    jobs: &Sender<Parcel<A>>,
) {
    let mut feeder = Feeder {
        shared,
        jobs,
        target: 1,
        input_exhausted: false,
    };
    let mut input = input;
    // The iterator's own panic ends the input; the jobs taken before it are
    // in the open parcel and survive it.
    let outcome = unwind::catch(|| feeder.pull(&mut input));
    if let Err(panic) = outcome {
        *shared.input_panic.lock() = Some(panic);
    }
    let rest = shared.open_parcel.take();
    if !rest.is_empty() {
        feeder.send(rest);
    }
    if !feeder.input_exhausted && shared.ctx.is_cancelled_relaxed() {
        shared.cut_short.store(true, Ordering::Relaxed);
    }
    // Dropping the input may run user code too.
    if let Err(panic) = unwind::catch(move || drop(input)) {
        shared.input_panic.lock().get_or_insert(panic);
    }
}

/// How many jobs the feeder queues before any job has been measured.
const BLIND_QUEUE: usize = 64;

struct Feeder<'a, A> {
    shared: &'a Shared<A>,
    jobs: &'a Sender<Parcel<A>>,
    /// The parcel size to aim at, re-read from the measured job cost after
    /// each parcel rather than per job.
    target: usize,
    input_exhausted: bool,
}

impl<A> Feeder<'_, A> {
    fn pull(&mut self, input: &mut impl Iterator<Item = Job<A>>) {
        loop {
            if self.shared.intake.is_cancelled_relaxed() {
                return;
            }
            let Some(job) = input.next() else {
                self.input_exhausted = true;
                return;
            };
            match self
                .shared
                .open_parcel
                .push(job, self.target, &self.shared.idle_workers)
            {
                Ok(full) => {
                    if !self.send(full) {
                        return;
                    }
                }
                Err(true) => self.shared.nudge.send(),
                Err(false) => {}
            }
        }
    }

    /// Queues a parcel, waiting while the queue is full. Returns `false`,
    /// with the jobs given back as unstarted, if the intake ended first.
    fn send(&mut self, jobs: Vec<Job<A>>) -> bool {
        let size = jobs.len();
        self.target = self.shared.cost.parcel_size(self.shared.max_parcel);
        self.shared.stats.add_submitted(size as u64);
        let parcel = match <[Job<A>; 1]>::try_from(jobs) {
            Ok([job]) => Parcel::One(job),
            Err(jobs) => Parcel::Many(jobs),
        };
        let budget = &self.shared.queue_budget;
        // Until a job has been measured, parcels hold one job each, and the
        // feeder keeps only a few of them queued (`BLIND_QUEUE`, at least
        // two per worker): a fast input would otherwise fill the whole
        // queue with single-job parcels before the first job finishes, and
        // the workers would take trivial jobs one message at a time for
        // thousands of jobs. Slow jobs lose nothing: every worker still
        // finds one waiting.
        let cap = if self.shared.cost.is_measured() {
            usize::MAX
        } else {
            BLIND_QUEUE.max(2 * self.shared.shelves.len())
        };
        if budget
            .acquire_within(size, cap, self.shared.intake.done(), None)
            .is_err()
        {
            self.shared.give_back(parcel);
            return false;
        }
        match self.jobs.send(parcel) {
            Ok(()) => true,
            Err(err) => {
                budget.release(size);
                self.shared.give_back(err.into_inner());
                false
            }
        }
    }
}
