//! Nothing is lost and nothing leaks: every job's arguments and every
//! result value are dropped exactly once whatever ends the run, the live
//! counters add up, and a cancel at any point keeps every job accounted for.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{DropCounter, quiet_test_panics, watchdog};
use wpool::{Context, ContextError, Job, WorkerPool};

const SOON: Duration = Duration::from_secs(10);

/// Drop counters for job arguments and result values, and how many of
/// each were made.
struct Families {
    args: Arc<AtomicUsize>,
    args_made: Arc<AtomicUsize>,
    values: Arc<AtomicUsize>,
    values_made: Arc<AtomicUsize>,
}

impl Families {
    fn new() -> Families {
        Families {
            args: DropCounter::family(),
            args_made: Arc::new(AtomicUsize::new(0)),
            values: DropCounter::family(),
            values_made: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Lazily made jobs `0..n` whose arguments are drop counters.
    fn jobs(&self, n: u64) -> impl Iterator<Item = Job<DropCounter>> + Send + 'static {
        let (args, made) = (self.args.clone(), self.args_made.clone());
        (0..n).map(move |i| {
            made.fetch_add(1, SeqCst);
            Job::new(i, DropCounter::new(i, &args))
        })
    }

    /// Makes result values, counting them.
    fn value_maker(&self) -> impl Fn(u64) -> DropCounter + Send + Sync + 'static {
        let (values, made) = (self.values.clone(), self.values_made.clone());
        move |id| {
            made.fetch_add(1, SeqCst);
            DropCounter::new(id, &values)
        }
    }

    /// A job function that turns an argument into a value drop counter.
    fn value_of(
        &self,
    ) -> impl Fn(&Context, DropCounter) -> Result<DropCounter, String> + Send + Sync + 'static {
        let (values, made) = (self.values.clone(), self.values_made.clone());
        move |_, arg: DropCounter| {
            made.fetch_add(1, SeqCst);
            Ok(DropCounter::new(arg.id * 2, &values))
        }
    }

    fn assert_all_dropped_once(&self) {
        assert_eq!(
            self.args.load(SeqCst),
            self.args_made.load(SeqCst),
            "job arguments"
        );
        assert_eq!(
            self.values.load(SeqCst),
            self.values_made.load(SeqCst),
            "result values"
        );
    }
}

#[test]
fn a_finished_run_drops_every_argument_and_value_once() {
    watchdog(|| {
        let f = Families::new();
        let pool = WorkerPool::new(3).unwrap();
        let mut run = pool
            .run(&Context::background(), f.jobs(1000), f.value_of())
            .unwrap();
        let mut values = Vec::new();
        for result in &mut run {
            let id = result.id().as_u64().unwrap();
            let value = result.into_value().unwrap();
            assert_eq!(value.id, id * 2);
            values.push(value);
        }
        // Every argument is gone once its job ran; the values are all held.
        assert_eq!(f.args.load(SeqCst), 1000);
        assert_eq!(f.values.load(SeqCst), 0);
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 1000);
        drop(values);
        drop(summary);
        assert_eq!(f.values_made.load(SeqCst), 1000);
        f.assert_all_dropped_once();
    });
}

#[test]
fn a_run_dropped_after_three_results_drops_everything_once() {
    watchdog(|| {
        for workers in [1, 4] {
            let f = Families::new();
            let pool = WorkerPool::builder()
                .workers(workers)
                .queue_capacity(256)
                .results_capacity(64)
                .build()
                .unwrap();
            let run = pool
                .run(&Context::background(), f.jobs(1_000_000), f.value_of())
                .unwrap();
            let first: Vec<_> = run.take(3).collect();
            assert_eq!(first.len(), 3);
            // `take` dropped the run: cancelled and joined, so nothing moves.
            let made = f.args_made.load(SeqCst);
            assert!((3..1_000_000).contains(&made), "made {made}");
            drop(first);
            f.assert_all_dropped_once();
        }
    });
}

#[test]
fn a_run_dropped_with_unread_results_and_waiting_workers_drops_everything() {
    watchdog(|| {
        let f = Families::new();
        // Tiny capacities: the workers and the feeder are blocked on full
        // channels when the run is dropped.
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(1)
            .results_capacity(1)
            .build()
            .unwrap();
        let mut run = pool
            .run(&Context::background(), f.jobs(10_000), f.value_of())
            .unwrap();
        let first = run.next_timeout(SOON).unwrap();
        drop(run);
        drop(first);
        f.assert_all_dropped_once();
    });
}

#[test]
fn a_cancelled_run_gives_back_its_unstarted_jobs() {
    watchdog(|| {
        let f = Families::new();
        let pool = WorkerPool::builder()
            .workers(1)
            .queue_capacity(1000)
            .build()
            .unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let value = f.value_maker();
        let job = move |ctx: &Context, arg: DropCounter| -> Result<DropCounter, ContextError> {
            if arg.id == 10 {
                let _ = started_tx.send(arg.id);
                let _ = ctx.done().recv();
                ctx.check()?;
            }
            Ok(value(arg.id))
        };
        let (submitter, mut run) = pool.start(&Context::background(), job).unwrap();
        let mut jobs = f.jobs(100);
        for job in jobs.by_ref().take(10) {
            submitter.submit(job).unwrap();
        }
        let done: Vec<_> = (0..10).map(|_| run.next_timeout(SOON).unwrap()).collect();
        assert!(done.iter().all(|r| r.is_ok()));
        submitter.submit(jobs.next().unwrap()).unwrap();
        assert_eq!(started_rx.recv_timeout(SOON).unwrap(), 10);
        for job in jobs {
            submitter.submit(job).unwrap();
        }
        assert_eq!(run.counts().queued, 89);
        assert!(run.cancel());
        let cancelled = run.next_timeout(SOON).unwrap();
        assert_eq!(cancelled.id().as_u64(), Some(10));
        assert_eq!(cancelled.outcome().error(), Some(&ContextError::Cancelled));
        let summary = run.wait();

        assert_eq!(summary.counts.submitted, 100);
        assert_eq!(summary.counts.succeeded, 10);
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.counts.unstarted, 89);
        let mut ids: Vec<u64> = summary.unstarted.iter().map(|j| j.args().id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (11..100).collect::<Vec<_>>());
        for job in &summary.unstarted {
            assert_eq!(job.id().as_u64(), Some(job.args().id));
        }
        // The unstarted arguments are alive, in the summary; the rest are gone.
        assert_eq!(f.args.load(SeqCst), 11);
        drop(done);
        drop(cancelled);
        assert_eq!(f.values.load(SeqCst), 10);

        // The unstarted jobs can be run again, in a new run.
        let rerun = pool
            .run(
                &Context::background(),
                summary.unstarted,
                |_, arg: DropCounter| Ok::<_, ()>(arg.id),
            )
            .unwrap();
        let mut rerun_ids: Vec<u64> = rerun.map(|r| r.into_value().unwrap()).collect();
        rerun_ids.sort_unstable();
        assert_eq!(rerun_ids, (11..100).collect::<Vec<_>>());
        assert_eq!(f.args.load(SeqCst), 100);
        assert_eq!(f.args_made.load(SeqCst), 100);
        assert_eq!(f.values.load(SeqCst), 10);
    });
}

#[test]
fn dropping_the_summary_drops_the_unstarted_jobs() {
    watchdog(|| {
        let f = Families::new();
        let pool = WorkerPool::builder()
            .workers(1)
            .queue_capacity(1000)
            .build()
            .unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let value = f.value_maker();
        let run = pool
            .run(
                &Context::background(),
                f.jobs(500),
                move |ctx, arg: DropCounter| {
                    if arg.id == 0 {
                        let _ = started_tx.send(());
                        let _ = ctx.done().recv();
                    }
                    Ok::<_, ()>(value(arg.id))
                },
            )
            .unwrap();
        started_rx.recv_timeout(SOON).unwrap();
        // Some jobs wait behind the blocked one (the feeder may be further).
        let give_up = std::time::Instant::now() + SOON;
        while run.counts().queued == 0 {
            assert!(std::time::Instant::now() < give_up, "no job was queued");
            std::thread::yield_now();
        }
        run.cancel();
        let summary = run.wait();
        assert!(!summary.unstarted.is_empty());
        assert_eq!(summary.discarded, 1);
        assert_eq!(summary.counts.succeeded, 1);
        assert_eq!(summary.unstarted.len() as u64, summary.counts.unstarted);
        assert_eq!(summary.counts.submitted, 1 + summary.counts.unstarted);
        let made = f.args_made.load(SeqCst);
        assert_eq!(made as u64, summary.counts.submitted);
        // Only the unstarted jobs' arguments are still alive.
        assert_eq!(f.args.load(SeqCst), made - summary.unstarted.len());
        assert_eq!(f.values.load(SeqCst), 1);
        drop(summary);
        f.assert_all_dropped_once();
    });
}

#[test]
fn panicking_jobs_drop_their_arguments_while_unwinding() {
    watchdog(|| {
        quiet_test_panics();
        let f = Families::new();
        let pool = WorkerPool::new(1).unwrap();
        let value = f.value_maker();
        let mut run = pool
            .run(
                &Context::background(),
                f.jobs(300),
                move |_, arg: DropCounter| {
                    if arg.id.is_multiple_of(3) {
                        panic!("test panic {}", arg.id);
                    }
                    Ok::<_, ()>(value(arg.id))
                },
            )
            .unwrap();
        let mut kept = Vec::new();
        for result in &mut run {
            let id = result.id().as_u64().unwrap();
            // One worker runs the jobs in order: this one and all before it
            // have dropped their arguments, panicking or not.
            assert!(f.args.load(SeqCst) as u64 > id, "job {id}");
            if id.is_multiple_of(3) {
                assert!(result.outcome().is_panicked());
            } else {
                kept.push(result.into_value().unwrap());
            }
        }
        assert_eq!(f.args.load(SeqCst), 300);
        assert_eq!(kept.len(), 200);
        assert_eq!(f.values.load(SeqCst), 0);
        let summary = run.wait();
        assert_eq!(summary.counts.panicked, 100);
        drop(kept);
        assert_eq!(f.values.load(SeqCst), 200);
        assert_eq!(f.args_made.load(SeqCst), 300);
    });
}

#[test]
fn live_counts_follow_a_blocked_worker() {
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
        let (submitter, mut run) = pool
            .start(&Context::background(), move |ctx, i: u64| {
                let _ = started_tx.send(i);
                common::wait_at_gate(ctx, &gate_rx);
                Ok::<_, ()>(i)
            })
            .unwrap();
        let counts = run.counts();
        assert_eq!((counts.submitted, counts.queued, counts.running), (0, 0, 0));

        submitter.submit(Job::new(0u64, 0)).unwrap();
        assert_eq!(started_rx.recv_timeout(SOON).unwrap(), 0);
        let counts = run.counts();
        assert_eq!((counts.submitted, counts.queued, counts.running), (1, 0, 1));
        assert_eq!(counts.finished(), 0);

        for i in 1..=5u64 {
            submitter.submit(Job::new(i, i)).unwrap();
            let counts = run.counts();
            assert_eq!(
                (counts.submitted, counts.queued, counts.running),
                (i + 1, i, 1)
            );
        }

        // Let one job through at a time and watch the counters move.
        for i in 0..6u64 {
            gate_tx.send(()).unwrap();
            let result = run.next_timeout(SOON).unwrap();
            assert_eq!(result.value(), Some(&i));
            if i < 5 {
                assert_eq!(started_rx.recv_timeout(SOON).unwrap(), i + 1);
                let counts = run.counts();
                assert_eq!(counts.succeeded, i + 1);
                assert_eq!((counts.queued, counts.running), (4 - i, 1));
            }
        }
        drop(submitter);
        assert!(run.next().is_none());
        let summary = run.wait();
        let c = summary.counts;
        assert_eq!(
            (c.submitted, c.succeeded, c.queued, c.running),
            (6, 6, 0, 0)
        );
    });
}

/// What a job of the mixed run does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Succeed,
    Fail,
    Panic,
    BlockUntilCancelled,
}

#[test]
fn every_outcome_adds_up_to_submitted() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(1).unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (submitter, mut run) = pool
            .start(&Context::background(), move |ctx, act: Act| match act {
                Act::Succeed => Ok(()),
                Act::Fail => Err("failed"),
                Act::Panic => panic!("test panic on purpose"),
                Act::BlockUntilCancelled => {
                    let _ = started_tx.send(());
                    let _ = ctx.done().recv();
                    Err("stopped")
                }
            })
            .unwrap();
        let acts = [(Act::Succeed, 5), (Act::Fail, 3), (Act::Panic, 2)];
        let mut id = 0u64;
        for (act, n) in acts {
            for _ in 0..n {
                submitter.submit(Job::new(id, act)).unwrap();
                id += 1;
            }
        }
        let first: Vec<_> = (0..10).map(|_| run.next_timeout(SOON).unwrap()).collect();
        assert_eq!(first.iter().filter(|r| r.is_ok()).count(), 5);
        submitter
            .submit(Job::new(id, Act::BlockUntilCancelled))
            .unwrap();
        started_rx.recv_timeout(SOON).unwrap();
        for i in 1..=4 {
            submitter.submit(Job::new(id + i, Act::Succeed)).unwrap();
        }
        let live = run.counts();
        assert_eq!(
            live.submitted,
            live.finished() + live.queued + live.running + live.unstarted
        );
        assert!(run.cancel());
        let last = run.next_timeout(SOON).unwrap();
        assert_eq!(last.outcome().error(), Some(&"stopped"));
        assert!(last.outcome().is_cancelled());
        assert!(run.next().is_none());
        let summary = run.wait();
        let c = summary.counts;
        assert_eq!(
            (
                c.submitted,
                c.succeeded,
                c.failed,
                c.cancelled,
                c.panicked,
                c.unstarted
            ),
            (15, 5, 3, 1, 2, 4)
        );
        assert_eq!(
            c.submitted,
            c.succeeded + c.failed + c.cancelled + c.panicked + c.unstarted
        );
        assert_eq!((c.queued, c.running), (0, 0));
        assert_eq!(summary.unstarted.len(), 4);
        assert!(summary.unstarted.iter().all(|j| *j.args() == Act::Succeed));
    });
}

/// Cancels a batch run after `k` results and checks that every job taken
/// from the input comes back exactly once, as a result or unstarted.
fn cancel_after(workers: usize, k: usize, via_parent: bool) {
    let f = Families::new();
    let pulled = Arc::new(AtomicU64::new(0));
    let input = {
        let pulled = pulled.clone();
        f.jobs(5000).inspect(move |_| {
            pulled.fetch_add(1, SeqCst);
        })
    };
    let pool = WorkerPool::builder()
        .workers(workers)
        .queue_capacity(64)
        .results_capacity(32)
        .build()
        .unwrap();
    let parent = Context::with_cancel(&Context::background());
    let value = f.value_maker();
    let mut run = pool
        .run(
            &parent,
            input,
            move |ctx, arg: DropCounter| -> Result<_, String> {
                // Some work that notices a cancel.
                if arg.id % 50 == 49 {
                    ctx.check().map_err(|e| e.to_string())?;
                }
                Ok(value(arg.id))
            },
        )
        .unwrap();
    let mut ids = Vec::new();
    for result in run.by_ref().take(k) {
        ids.push(result.id().as_u64().unwrap());
    }
    if via_parent {
        assert!(parent.cancel());
    } else {
        assert!(run.cancel());
    }
    // Results of jobs that ran still arrive after the cancel.
    for result in &mut run {
        ids.push(result.id().as_u64().unwrap());
    }
    let summary = run.wait();
    assert_eq!(summary.discarded, 0);
    let c = summary.counts;
    assert_eq!(c.submitted, c.finished() + c.unstarted, "k {k}: {c:?}");
    assert_eq!(c.unstarted, summary.unstarted.len() as u64);
    assert_eq!(c.finished(), ids.len() as u64);
    ids.extend(summary.unstarted.iter().map(|j| j.id().as_u64().unwrap()));
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "k {k}: a job came back twice");
    // The input is pulled in order, so the jobs taken are 0..pulled.
    let pulled = pulled.load(SeqCst);
    assert_eq!(c.submitted, pulled, "k {k}");
    assert_eq!(
        unique,
        (0..pulled).collect::<HashSet<_>>(),
        "k {k}: a job was lost"
    );
    assert!(pulled >= k as u64);
    drop(summary);
    f.assert_all_dropped_once();
}

#[test]
fn a_cancel_at_any_point_loses_no_job() {
    watchdog(|| {
        for (seed, k) in [0usize, 1, 3, 17, 100, 640, 2500, 4999]
            .into_iter()
            .enumerate()
        {
            cancel_after(1 + seed % 3, k, seed.is_multiple_of(2));
        }
    });
}

#[test]
fn a_cancel_after_the_last_result_changes_nothing() {
    watchdog(|| {
        let f = Families::new();
        let pool = WorkerPool::new(2).unwrap();
        let mut run = pool
            .run(&Context::background(), f.jobs(200), f.value_of())
            .unwrap();
        let values: Vec<_> = run.by_ref().map(|r| r.into_value().unwrap()).collect();
        assert_eq!(values.len(), 200);
        run.cancel();
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 200);
        assert_eq!(summary.counts.unstarted, 0);
        // The run had finished before the cancel.
        assert_eq!(summary.cancelled_by, None);
        drop(values);
        f.assert_all_dropped_once();
    });
}
