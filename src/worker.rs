//! The worker loop: find jobs, run them a chunk at a time, deliver their
//! results.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::parcel::Parcel;
use crate::run::Shared;
use crate::stats::{Finish, WorkerSlot};
use crate::{Context, Job, JobResult, Outcome, ResultBatch, unwind};

/// Spins before blocking. A blocking `select!` parks the thread at once,
/// and the wake-up costs more than a short job: retrying a few times first
/// is what keeps small jobs cheap.
pub(crate) const SPINS: u32 = 10;

/// About how much work a batch of results stands for: how long a result may
/// wait for its batch-mates, and so how long at most it waits behind a job
/// that turns out slow. Each batch may wake the reader, and a wake-up costs
/// the worker microseconds (far more in a virtual machine, where it crosses
/// to another CPU): at 100 µs a batch a lone worker lost 4 to 9% of its
/// time to them on ~1 µs jobs, at 1 ms about 1%.
const RESULT_WORK: Duration = Duration::from_millis(1);

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
    let shelf = &shared.shelves[index];
    let mut outbox = Outbox::new(&shared, results);
    let mut finder = Finder::new(index, &shared, &jobs);
    loop {
        // One job at a time off the shelf: the rest stays where an idle
        // worker can take it, should this job turn out slow.
        let Some(job) = shelf.next_job() else {
            // Nothing left here: deliver what is done before looking on.
            outbox.flush();
            match finder.find_work() {
                Some(found) => {
                    if shelf.stock(found, &shared.idle_workers) {
                        shared.nudge.send();
                    }
                    continue;
                }
                None => break,
            }
        };
        if shared.ctx.is_cancelled_relaxed() {
            shared.give_back(std::iter::once(job).chain(shelf.clear()));
            continue;
        }
        outbox.job_starts();
        outbox.push(execute(&shared.ctx, slot, f, job));
        if shared.ctx.is_cancelled_relaxed() {
            // The job was running when the context ended.
            shared.cut_short.store(true, Ordering::Relaxed);
        }
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

/// How often one worker may take the feeder's open parcel. The open parcel
/// is there for an input that stalls: a worker that took it again each time
/// it ran dry would, behind an input faster than the feeder can pack it,
/// take a few jobs at a time and fight the feeder for the parcel's lock on
/// nearly every job. Paced, a worker takes what a stalled input left within
/// this long, and a busy feeder's parcels fill up and travel whole.
const OPEN_PARCEL_PACE: Duration = Duration::from_micros(100);

/// Where a worker looks for jobs once its shelf is empty.
struct Finder<'a, A> {
    index: usize,
    shared: &'a Shared<A>,
    jobs: &'a Receiver<Parcel<A>>,
    /// When this worker last took the feeder's open parcel.
    open_parcel_taken: Option<Instant>,
}

impl<'a, A> Finder<'a, A> {
    fn new(index: usize, shared: &'a Shared<A>, jobs: &'a Receiver<Parcel<A>>) -> Self {
        Finder {
            index,
            shared,
            jobs,
            open_parcel_taken: None,
        }
    }

    /// Finds jobs for an idle worker: from the queue, the feeder's open
    /// parcel, or another worker's shelf, spinning a little before it
    /// blocks. `None` once no job is left anywhere and none can come, or the
    /// run is cancelled.
    ///
    /// A worker does not leave as soon as the queue is closed while jobs
    /// wait to start: another worker may still be working through a shelf,
    /// and a job on it may turn out slow. Workers that find nothing anywhere
    /// count themselves drained, and the last one to drain ends the search
    /// for all of them; once every job left is running, they leave at once.
    fn find_work(&mut self) -> Option<Vec<Job<A>>> {
        let shared = self.shared;
        for step in 0..SPINS {
            // Checked before taking jobs: taking a parcel frees queue
            // capacity, which would let a waiting submitter into a cancelled
            // run.
            if shared.ctx.is_cancelled_relaxed() {
                return None;
            }
            // Only the queue while spinning: the shelves and the open parcel
            // are behind locks that their owners take for every job.
            match self.jobs.try_recv() {
                Ok(parcel) => return Some(shared.dequeued(parcel).into_vec()),
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => spin(step),
            }
        }
        // Announced before every look, which takes each lock in turn:
        // whoever adds work after a look sees an idle worker and nudges.
        shared.idle_workers.fetch_add(1, Ordering::SeqCst);
        let found = self.wait_for_work();
        shared.idle_workers.fetch_sub(1, Ordering::SeqCst);
        found
    }

    fn wait_for_work(&mut self) -> Option<Vec<Job<A>>> {
        let shared = self.shared;
        loop {
            let (found, look_again) = self.take_elsewhere();
            if found.is_some() {
                return found;
            }
            let closed = match self.jobs.try_recv() {
                Ok(parcel) => return self.take_parcel(parcel),
                Err(TryRecvError::Disconnected) => true,
                Err(TryRecvError::Empty) => false,
            };
            if closed {
                if shared.drained.fetch_add(1, Ordering::SeqCst) + 1 == shared.shelves.len() {
                    // Nothing queued, nothing on any shelf, every worker
                    // idle or gone.
                    shared.end_search();
                    return None;
                }
                if shared.stats.snapshot().queued == 0 {
                    // Every job left is running, and no more can come:
                    // nobody will need this worker's help. Leaving now
                    // spreads the threads' exits over the run's last jobs
                    // instead of piling them all up after the very last one.
                    return None;
                }
                let nudged = crossbeam_channel::select! {
                    recv(shared.nudge.rx) -> _ => true,
                    recv(shared.search_over) -> _ => false,
                    recv(shared.ctx.done()) -> _ => false,
                };
                if !nudged {
                    return None;
                }
                shared.drained.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let received = match look_again {
                // No nudges for a paced worker: it looks again by itself
                // soon, and a nudge it swallowed would not reach a worker
                // that may take the open parcel now.
                Some(at) => crossbeam_channel::select! {
                    recv(self.jobs) -> parcel => parcel.ok(),
                    recv(shared.ctx.done()) -> _ => return None,
                    default(at.saturating_duration_since(Instant::now())) => None,
                },
                None => crossbeam_channel::select! {
                    recv(self.jobs) -> parcel => parcel.ok(),
                    recv(shared.nudge.rx) -> _ => None,
                    recv(shared.ctx.done()) -> _ => return None,
                },
            };
            if let Some(parcel) = received {
                return self.take_parcel(parcel);
            }
        }
    }

    /// Takes a parcel off the queue, or gives it back if the run was
    /// cancelled in the meantime.
    fn take_parcel(&self, parcel: Parcel<A>) -> Option<Vec<Job<A>>> {
        let found = self.shared.dequeued(parcel).into_vec();
        if self.shared.ctx.is_cancelled_relaxed() {
            self.shared.give_back(found);
            return None;
        }
        Some(found)
    }

    /// Takes the feeder's open parcel or half of another worker's shelf.
    /// Without jobs, says when to look at the open parcel again, if this
    /// worker took it too recently to take it now.
    fn take_elsewhere(&mut self) -> (Option<Vec<Job<A>>>, Option<Instant>) {
        let shared = self.shared;
        if shared.ctx.is_cancelled_relaxed() {
            return (None, None);
        }
        let paced_until = self
            .open_parcel_taken
            .map(|taken| taken + OPEN_PARCEL_PACE)
            .filter(|&until| Instant::now() < until);
        if paced_until.is_none()
            && let Some(jobs) = shared
                .open_parcel
                .take_some(|taken| shared.stats.add_submitted(taken as u64))
        {
            self.open_parcel_taken = Some(Instant::now());
            return (Some(jobs), None);
        }
        let others = shared.shelves.len();
        let stolen = (1..others)
            .find_map(|offset| shared.shelves[(self.index + offset) % others].steal_half());
        (stolen, paced_until)
    }
}

/// A worker's results not yet sent, and the rules for sending them.
///
/// Results go out in batches of about [`RESULT_WORK`] worth of jobs (by
/// their measured cost), when the batch is full, and whenever the worker
/// runs out of jobs. The time a batch took to fill is also what measures
/// the cost of a job, for the feeder's parcels and for the next batch.
struct Outbox<'a, A, T, E> {
    shared: &'a Shared<A>,
    results: Sender<ResultBatch<T, E>>,
    batch: Vec<JobResult<T, E>>,
    /// When the first job of this batch started.
    started: Option<Instant>,
    /// How many results make a batch, from the measured job cost.
    target: usize,
}

impl<'a, A, T, E> Outbox<'a, A, T, E> {
    fn new(shared: &'a Shared<A>, results: Sender<ResultBatch<T, E>>) -> Self {
        Outbox {
            shared,
            results,
            batch: Vec::new(),
            started: None,
            target: 1,
        }
    }

    /// Notes that a job starts; the first one of a batch starts its clock.
    fn job_starts(&mut self) {
        if self.started.is_none() {
            self.started = Some(Instant::now());
        }
    }

    fn push(&mut self, result: JobResult<T, E>) {
        self.batch.push(result);
        if self.batch.len() >= self.target {
            self.flush();
        }
    }

    /// Sends the batch, waiting while the results channel is full. After a
    /// cancel nobody may be reading any more, so the batch is sent anyway,
    /// over the budget: at most one batch per worker, and nothing blocks.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let size = self.batch.len();
        if let Some(started) = self.started.take() {
            self.shared.cost.record(started.elapsed(), size);
        }
        self.target = self
            .shared
            .cost
            .batch_size(RESULT_WORK, self.shared.max_results);
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
