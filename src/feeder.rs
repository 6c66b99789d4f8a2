//! The feeder of a batch run: it pulls jobs from the caller's iterator,
//! packs them into parcels, and queues them.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::parcel::Parcel;
use crate::run::Shared;
use crate::{Job, unwind};

/// A partial parcel goes out when it has waited this long in the feeder,
/// whatever the workers are doing.
const MAX_PARCEL_DELAY: Duration = Duration::from_millis(1);

/// Input slower than this per job is "slow": a partial parcel then goes out
/// as soon as a worker is idle, because waiting for the parcel to fill would
/// leave that worker idle longer than the job takes to make.
const SLOW_INPUT: Duration = Duration::from_micros(2);

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
        parcel: Vec::new(),
        target: 1,
        clock: Clock::new(),
        input_exhausted: false,
    };
    let mut input = input;
    // The iterator's own panic ends the input; the parcel filled so far is
    // outside the closure and survives it.
    let outcome = unwind::catch(|| feeder.pull(&mut input));
    if let Err(panic) = outcome {
        *shared.input_panic.lock() = Some(panic);
    }
    if !feeder.parcel.is_empty() {
        feeder.send_parcel();
    }
    if !feeder.input_exhausted && shared.ctx.is_cancelled_relaxed() {
        shared.intake_cut.store(true, Ordering::Relaxed);
    }
    // Dropping the input may run user code too.
    if let Err(panic) = unwind::catch(move || drop(input)) {
        shared.input_panic.lock().get_or_insert(panic);
    }
}

struct Feeder<'a, A> {
    shared: &'a Shared<A>,
    jobs: &'a Sender<Parcel<A>>,
    parcel: Vec<Job<A>>,
    /// The parcel size to aim at, re-read from the measured job cost after
    /// each parcel rather than per job.
    target: usize,
    clock: Clock,
    input_exhausted: bool,
}

impl<A> Feeder<'_, A> {
    fn pull(&mut self, input: &mut impl Iterator<Item = Job<A>>) {
        loop {
            if self.shared.intake.is_cancelled_relaxed() {
                return;
            }
            // Decide before calling `next`, which may block for a long time.
            if let Some(pace) = self.clock.tick(!self.parcel.is_empty())
                && (pace.parcel_age >= MAX_PARCEL_DELAY
                    || (pace.per_job >= SLOW_INPUT
                        && self.shared.idle_workers.load(Ordering::SeqCst) > 0))
                && !self.send_parcel()
            {
                return;
            }
            let Some(job) = input.next() else {
                self.input_exhausted = true;
                return;
            };
            self.parcel.push(job);
            if self.parcel.len() >= self.target && !self.send_parcel() {
                return;
            }
        }
    }

    /// Queues the current parcel, waiting while the queue is full. Returns
    /// `false`, with the parcel given back as unstarted, if the intake
    /// ended first.
    fn send_parcel(&mut self) -> bool {
        let size = self.parcel.len();
        let jobs = std::mem::replace(&mut self.parcel, Vec::with_capacity(size));
        self.clock.parcel_sent();
        self.target = self.shared.cost.parcel_size(self.shared.max_parcel);
        self.shared.stats.add_submitted(size as u64);
        let parcel = match <[Job<A>; 1]>::try_from(jobs) {
            Ok([job]) => Parcel::One(job),
            Err(jobs) => Parcel::Many(jobs),
        };
        let budget = &self.shared.queue_budget;
        if budget
            .acquire(size, self.shared.intake.done(), None)
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

/// Reads the clock only as often as the input's pace needs: every job for
/// slow input, every few hundred for a fast generator, where a clock read
/// per job would cost more than making the job.
struct Clock {
    stride: u32,
    countdown: u32,
    last_read: Instant,
    parcel_born: Option<Instant>,
}

struct Pace {
    parcel_age: Duration,
    per_job: Duration,
}

impl Clock {
    const MAX_STRIDE: u32 = 256;

    fn new() -> Clock {
        Clock {
            stride: 1,
            countdown: 1,
            last_read: Instant::now(),
            parcel_born: None,
        }
    }

    #[inline]
    fn tick(&mut self, parcel_pending: bool) -> Option<Pace> {
        self.countdown -= 1;
        if self.countdown > 0 {
            return None;
        }
        let now = Instant::now();
        let per_job = now.duration_since(self.last_read) / self.stride;
        if per_job < Duration::from_micros(1) {
            self.stride = (self.stride * 2).min(Clock::MAX_STRIDE);
        } else if per_job > Duration::from_micros(10) {
            self.stride = 1;
        }
        self.countdown = self.stride;
        self.last_read = now;
        if !parcel_pending {
            return None;
        }
        let born = *self.parcel_born.get_or_insert(now);
        Some(Pace {
            parcel_age: now.duration_since(born),
            per_job,
        })
    }

    fn parcel_sent(&mut self) {
        self.parcel_born = None;
    }
}
