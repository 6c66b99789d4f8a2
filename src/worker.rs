//! The worker loop: take a parcel, run its jobs, deliver their results.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::parcel::Parcel;
use crate::run::Shared;
use crate::stats::{Finish, WorkerSlot};
use crate::{Context, Job, JobResult, Outcome, ResultBatch, unwind};

/// How long a finished result may wait in a worker's outbox before it is
/// sent on its own, when a parcel turns out slower than its estimate.
const MAX_RESULT_DELAY: Duration = Duration::from_millis(2);

/// Spins before blocking. A blocking `select!` parks the thread at once,
/// and the wake-up costs more than a short job: retrying a few times first
/// is what keeps small jobs cheap.
pub(crate) const SPINS: u32 = 10;

pub(crate) fn spin(step: u32) {
    if step < 6 {
        for _ in 0..1 << step {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

/// Runs one worker until the job queue is drained and closed, or the run
/// is cancelled.
pub(crate) fn work<A, T, E, F>(
    index: usize,
    shared: Arc<Shared<A>>,
    jobs: Receiver<Parcel<A>>,
    results: Sender<ResultBatch<T, E>>,
    f: &F,
) where
    F: Fn(&Context, A) -> Result<T, E>,
{
    let slot = shared.stats.slot(index);
    let mut outbox = Outbox::new(&shared, results);
    while let Some(parcel) = receive(&shared, &jobs) {
        let size = parcel.len();
        let started = Instant::now();
        let mut parcel = parcel.into_iter();
        let mut ran = 0;
        while let Some(job) = parcel.next() {
            if shared.ctx.is_cancelled_relaxed() {
                shared.give_back(std::iter::once(job).chain(parcel.by_ref()));
                break;
            }
            outbox.push(execute(&shared.ctx, slot, f, job));
            ran += 1;
            // Reading the clock after every tiny job would cost as much as
            // the job; small parcels hold slow jobs, so check those each time.
            if (size <= 64 || ran % 64 == 0) && outbox.is_due() {
                outbox.flush();
            }
        }
        shared.cost.record(started.elapsed(), ran);
        outbox.flush();
    }
}

fn execute<A, T, E, F>(ctx: &Context, slot: &WorkerSlot, f: &F, job: Job<A>) -> JobResult<T, E>
where
    F: Fn(&Context, A) -> Result<T, E>,
{
    let (descriptor, args) = job.into_parts();
    slot.started();
    let (outcome, how) = match unwind::catch(|| f(ctx, args)) {
        Ok(Ok(value)) => (Outcome::Succeeded(value), Finish::Succeeded),
        Ok(Err(err)) if ctx.is_cancelled() => (Outcome::Cancelled(err), Finish::Cancelled),
        Ok(Err(err)) => (Outcome::Failed(err), Finish::Failed),
        Err(panic) => (Outcome::Panicked(panic), Finish::Panicked),
    };
    slot.finished(how);
    JobResult::new(descriptor, outcome)
}

/// Takes the next parcel; `None` when the queue is drained and closed, or
/// the run is cancelled.
fn receive<A>(shared: &Shared<A>, jobs: &Receiver<Parcel<A>>) -> Option<Parcel<A>> {
    for step in 0..SPINS {
        // Checked before taking a parcel: taking one frees queue capacity,
        // which would let a waiting submitter into a cancelled run.
        if shared.ctx.is_cancelled_relaxed() {
            return None;
        }
        match jobs.try_recv() {
            Ok(parcel) => return Some(shared.dequeued(parcel)),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => spin(step),
        }
    }
    shared.idle_workers.fetch_add(1, Ordering::SeqCst);
    let parcel = crossbeam_channel::select! {
        recv(jobs) -> parcel => parcel.ok().map(|p| shared.dequeued(p)),
        recv(shared.ctx.done()) -> _ => None,
    };
    shared.idle_workers.fetch_sub(1, Ordering::SeqCst);
    parcel
}

/// A worker's results not yet sent, and the rules for sending them.
struct Outbox<'a, A, T, E> {
    shared: &'a Shared<A>,
    results: Sender<ResultBatch<T, E>>,
    batch: Vec<JobResult<T, E>>,
    oldest: Option<Instant>,
}

impl<'a, A, T, E> Outbox<'a, A, T, E> {
    fn new(shared: &'a Shared<A>, results: Sender<ResultBatch<T, E>>) -> Self {
        Outbox {
            shared,
            results,
            batch: Vec::new(),
            oldest: None,
        }
    }

    fn push(&mut self, result: JobResult<T, E>) {
        if self.batch.is_empty() {
            self.oldest = Some(Instant::now());
        }
        self.batch.push(result);
        if self.batch.len() >= self.shared.max_results {
            self.flush();
        }
    }

    /// Whether the oldest waiting result has waited long enough to go out
    /// without the rest of its batch.
    fn is_due(&self) -> bool {
        self.oldest
            .is_some_and(|oldest| !self.batch.is_empty() && oldest.elapsed() >= MAX_RESULT_DELAY)
    }

    /// Sends the batch, waiting while the results channel is full. After a
    /// cancel nobody may be reading any more, so the batch is sent anyway,
    /// over the budget: at most one batch per worker, and nothing blocks.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let size = self.batch.len();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(size));
        let budget = &self.shared.results_budget;
        let credits = match budget.acquire(size, self.shared.ctx.done(), None) {
            Ok(()) => size,
            Err(_) => 0,
        };
        // Fails only if the reader is gone, and then the batch goes with it.
        let _ = self
            .results
            .send(ResultBatch::new(batch, credits, budget.clone()));
    }
}

impl<A, T, E> Drop for Outbox<'_, A, T, E> {
    fn drop(&mut self) {
        self.flush();
    }
}
