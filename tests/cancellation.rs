//! Cancelling a run: by `Run::cancel`, by a deadline, by the parent
//! context, while the job queue or the results channel is full, and before
//! the run starts. Every job taken into a run must come back, either as a
//! result or as an unstarted job that can be resubmitted.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{PATIENCE, QUIET, assert_threads_gone, id_of, watchdog};
use crossbeam_channel::{TryRecvError, unbounded};
use wpool::{Context, ContextError, Job, NextTimeoutError, Outcome, SubmitError, WorkerPool};

/// Adds `ids` to `set`, failing on an id seen before.
fn insert_all(set: &mut BTreeSet<u64>, ids: impl IntoIterator<Item = u64>, what: &str) {
    for id in ids {
        assert!(set.insert(id), "job {id} came back twice ({what})");
    }
}

#[test]
fn cancel_with_a_full_queue_returns_every_job_as_a_result_or_unstarted() {
    const WORKERS: usize = 2;
    const QUEUE: usize = 4;
    const JOBS: u64 = 1000;
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(WORKERS)
            .queue_capacity(QUEUE)
            .thread_name("cfull")
            .build()
            .unwrap();
        let (pulled_tx, pulled_rx) = unbounded();
        let (started_tx, started_rx) = unbounded();
        let input = (0..JOBS).map(move |i| {
            pulled_tx.send(i).unwrap();
            Job::new(i, i).with_kind("blocker")
        });
        let mut run = pool
            .run(&Context::background(), input, move |ctx, i: u64| {
                started_tx.send(i).unwrap();
                let _ = ctx.done().recv();
                Err::<u64, _>(format!("job {i} stopped"))
            })
            .unwrap();

        // Both workers are busy and the queue behind them fills up.
        for _ in 0..WORKERS {
            started_rx
                .recv_timeout(PATIENCE)
                .expect("a worker starts a job");
        }
        let mut pulled = Vec::new();
        for _ in 0..WORKERS + QUEUE {
            pulled.push(
                pulled_rx
                    .recv_timeout(PATIENCE)
                    .expect("the feeder fills the queue"),
            );
        }
        // Back-pressure: the feeder may hold one more job, but no more.
        while let Ok(i) = pulled_rx.recv_timeout(QUIET) {
            pulled.push(i);
            assert!(
                pulled.len() <= WORKERS + QUEUE + 1,
                "the feeder pulled {} jobs past a full queue",
                pulled.len()
            );
        }

        assert!(run.cancel());
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        // The input was dropped when the run ended: collect what it made.
        pulled.extend(pulled_rx.iter());
        assert_threads_gone("cfull-");

        let counts = summary.counts;
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(
            counts.finished() + counts.unstarted,
            counts.submitted,
            "{counts:?}"
        );
        assert_eq!(summary.unstarted.len() as u64, counts.unstarted);
        assert_eq!(counts.submitted, pulled.len() as u64);
        assert_eq!(summary.discarded, 0);
        // Only the two running jobs ran, and they stopped because of the cancel.
        assert_eq!(results.len(), WORKERS);
        assert_eq!(counts.cancelled, WORKERS as u64);
        assert_eq!(
            started_rx.try_iter().count(),
            0,
            "a job started after the cancel"
        );
        for result in &results {
            assert!(result.outcome().is_cancelled(), "{result:?}");
            assert_eq!(result.descriptor().kind(), "blocker");
        }
        for job in &summary.unstarted {
            assert_eq!(job.descriptor().kind(), "blocker", "the descriptor is kept");
            assert_eq!(*job.args(), id_of(job.id()), "the arguments are kept");
        }

        // Every job pulled is a result or unstarted, exactly once.
        let mut first_run = BTreeSet::new();
        insert_all(
            &mut first_run,
            results.iter().map(|r| id_of(r.id())),
            "first run",
        );
        insert_all(
            &mut first_run,
            summary.unstarted.iter().map(|j| id_of(j.id())),
            "first run",
        );
        assert_eq!(first_run, pulled.iter().copied().collect::<BTreeSet<_>>());

        // Resubmit the unstarted jobs with those never pulled: the two runs
        // together run every job once.
        let pulled: BTreeSet<u64> = pulled.into_iter().collect();
        let rest = (0..JOBS)
            .filter(move |i| !pulled.contains(i))
            .map(|i| Job::new(i, i).with_kind("blocker"));
        let second = pool
            .run(
                &Context::background(),
                summary.unstarted.into_iter().chain(rest),
                |_, i: u64| Ok::<u64, String>(i),
            )
            .unwrap();
        let mut second_run = BTreeSet::new();
        for result in second {
            assert_eq!(result.value(), Some(&id_of(result.id())));
            assert_eq!(result.descriptor().kind(), "blocker");
            assert!(second_run.insert(id_of(result.id())), "{result:?} twice");
        }
        let ran_in_first: BTreeSet<u64> = results.iter().map(|r| id_of(r.id())).collect();
        assert!(
            ran_in_first.is_disjoint(&second_run),
            "a job ran in both runs"
        );
        let all: BTreeSet<u64> = ran_in_first.union(&second_run).copied().collect();
        assert_eq!(all, (0..JOBS).collect::<BTreeSet<_>>(), "a job was lost");
        assert_threads_gone("cfull-");
    });
}

#[test]
fn a_deadline_passing_mid_run_cancels_it_with_deadline_exceeded() {
    const QUICK: u64 = 4;
    const JOBS: u64 = 100;
    watchdog(|| {
        let pool = common::named_pool(2, "cdead");
        let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(200));
        let deadline = ctx.deadline().expect("a timeout sets a deadline");
        let (started_tx, started_rx) = unbounded();
        let mut run = pool
            .run(
                &ctx,
                (0..JOBS).map(|i| Job::new(i, i)),
                move |ctx, i: u64| {
                    if i < QUICK {
                        return Ok(i);
                    }
                    started_tx.send(i).unwrap();
                    ctx.sleep(Duration::from_secs(30)).map(|()| i)
                },
            )
            .unwrap();
        assert_eq!(
            run.context().deadline(),
            Some(deadline),
            "the run inherits the deadline"
        );
        let results: Vec<_> = (&mut run).collect();
        assert!(
            Instant::now() >= deadline,
            "the run ended before its deadline"
        );
        assert_eq!(run.context().err(), Some(ContextError::DeadlineExceeded));
        let summary = run.wait();

        let counts = summary.counts;
        assert_eq!(summary.cancelled_by, Some(ContextError::DeadlineExceeded));
        assert_eq!(
            counts.finished() + counts.unstarted,
            counts.submitted,
            "{counts:?}"
        );
        assert_eq!(summary.unstarted.len() as u64, counts.unstarted);
        assert_eq!(results.len() as u64, counts.finished());
        assert_eq!(counts.succeeded, QUICK);
        assert_eq!(
            counts.failed, 0,
            "a job that stops at the deadline is cancelled, not failed"
        );
        // Slow jobs that started were cut short: one per worker at most.
        let started = started_rx.try_iter().count() as u64;
        assert!((1..=2).contains(&started), "{started} slow jobs started");
        assert_eq!(counts.cancelled, started);
        let cancelled: Vec<_> = results
            .iter()
            .filter(|r| r.outcome().is_cancelled())
            .collect();
        assert_eq!(cancelled.len() as u64, started);
        for result in cancelled {
            assert_eq!(
                result.outcome(),
                &Outcome::Cancelled(ContextError::DeadlineExceeded)
            );
        }
        assert!(!summary.unstarted.is_empty());
        assert_threads_gone("cdead-");
    });
}

#[test]
fn cancelling_the_parent_context_ends_the_run() {
    const WORKERS: usize = 2;
    watchdog(|| {
        let pool = common::named_pool(WORKERS, "cpar");
        let parent = Context::with_cancel(&Context::background());
        let (started_tx, started_rx) = unbounded();
        let mut run = pool
            .run(
                &parent,
                (0..100u64).map(|i| Job::new(i, i)),
                move |ctx, i: u64| {
                    started_tx.send(i).unwrap();
                    let _ = ctx.done().recv();
                    Err::<u64, _>(ctx.err().expect("done closes only when the context ends"))
                },
            )
            .unwrap();
        for _ in 0..WORKERS {
            started_rx
                .recv_timeout(PATIENCE)
                .expect("a worker starts a job");
        }
        assert!(!run.context().is_cancelled());
        assert!(!run.is_finished());

        assert!(parent.cancel());
        assert!(run.context().is_cancelled());
        assert_eq!(run.context().err(), Some(ContextError::Cancelled));
        let results: Vec<_> = (&mut run).collect();
        assert_eq!(results.len(), WORKERS);
        for result in &results {
            assert_eq!(
                result.outcome(),
                &Outcome::Cancelled(ContextError::Cancelled)
            );
        }
        assert!(run.is_finished());
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        let counts = summary.counts;
        assert_eq!(counts.cancelled, WORKERS as u64);
        assert_eq!(
            counts.finished() + counts.unstarted,
            counts.submitted,
            "{counts:?}"
        );
        assert_eq!(summary.unstarted.len() as u64, counts.unstarted);
        assert_eq!(
            started_rx.try_iter().count(),
            0,
            "a job started after the cancel"
        );
        assert_threads_gone("cpar-");
    });
}

#[test]
fn a_job_that_checks_its_context_stops_early() {
    watchdog(|| {
        let pool = common::named_pool(1, "cchk");
        let (started_tx, started_rx) = unbounded();
        let mut run = pool
            .run(
                &Context::background(),
                [Job::new(1u64, ())],
                move |ctx, ()| -> Result<u64, ContextError> {
                    let mut first = true;
                    // Endless work, in small steps that each look at the context.
                    loop {
                        ctx.check()?;
                        if std::mem::take(&mut first) {
                            started_tx.send(()).unwrap();
                        }
                        std::thread::yield_now();
                    }
                },
            )
            .unwrap();
        started_rx.recv_timeout(PATIENCE).expect("the job starts");
        assert!(matches!(
            run.next_timeout(QUIET),
            Err(NextTimeoutError::Timeout)
        ));

        assert!(run.cancel());
        let result = run
            .next_timeout(PATIENCE)
            .expect("the job stops once cancelled");
        assert_eq!(id_of(result.id()), 1);
        assert_eq!(
            result.outcome(),
            &Outcome::Cancelled(ContextError::Cancelled)
        );
        assert!(run.next().is_none());
        let summary = run.wait();
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.counts.submitted, 1);
        assert!(summary.unstarted.is_empty());
    });
}

#[test]
fn cancelling_a_run_does_not_cancel_its_parent() {
    watchdog(|| {
        let pool = common::named_pool(2, "cnop");
        let parent = Context::with_cancel(&Context::background());
        let run = pool
            .run(
                &parent,
                (0..10u64).map(|i| Job::new(i, i)),
                |ctx, i: u64| ctx.sleep(Duration::from_secs(30)).map(|()| i),
            )
            .unwrap();
        assert!(run.cancel());
        assert!(!run.cancel(), "only the first cancel cancels");
        assert!(run.context().is_cancelled());
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));

        assert!(!parent.is_cancelled());
        assert_eq!(parent.err(), None);
        assert_eq!(parent.done().try_recv(), Err(TryRecvError::Empty));
        // A sibling run from the same parent runs normally.
        let sibling = pool
            .run(&parent, (0..10u64).map(|i| Job::new(i, i)), |_, i: u64| {
                Ok::<_, ()>(i)
            })
            .unwrap();
        let summary = sibling.wait();
        assert_eq!(summary.counts.succeeded, 10);
        assert_eq!(summary.cancelled_by, None);
        assert!(!parent.is_cancelled());
        assert_threads_gone("cnop-");
    });
}

/// Starts a run whose results channel fills up because nobody reads it, and
/// returns it once the workers are stuck delivering.
fn run_with_a_full_results_channel(
    prefix: &str,
) -> (
    wpool::Run<u64, u64, ()>,
    crossbeam_channel::Receiver<u64>,
    usize,
) {
    const WORKERS: usize = 2;
    const RESULTS: usize = 2;
    let pool = WorkerPool::builder()
        .workers(WORKERS)
        .results_capacity(RESULTS)
        .thread_name(prefix)
        .build()
        .unwrap();
    let (ran_tx, ran_rx) = unbounded();
    let run = pool
        .run(
            &Context::background(),
            (0..1000u64).map(|i| Job::new(i, i)),
            move |_, i: u64| {
                ran_tx.send(i).unwrap();
                Ok(i)
            },
        )
        .unwrap();
    let mut ran = 0;
    for _ in 0..RESULTS {
        ran_rx
            .recv_timeout(PATIENCE)
            .expect("jobs run until the results channel is full");
        ran += 1;
    }
    // Each worker may hold the one result it is waiting to deliver.
    while ran_rx.recv_timeout(QUIET).is_ok() {
        ran += 1;
        assert!(
            ran <= RESULTS + WORKERS,
            "{ran} jobs ran past a full results channel"
        );
    }
    assert!(!run.is_finished());
    (run, ran_rx, ran)
}

#[test]
fn cancel_and_wait_with_a_full_results_channel_and_no_reader() {
    watchdog(|| {
        let (run, ran_rx, ran) = run_with_a_full_results_channel("cfres");
        assert!(run.cancel());
        let summary = run.wait();
        assert_eq!(
            ran_rx.try_iter().count(),
            0,
            "a job started after the cancel"
        );
        let counts = summary.counts;
        assert_eq!(counts.succeeded, ran as u64);
        assert_eq!(summary.discarded, ran as u64);
        assert_eq!(
            counts.finished() + counts.unstarted,
            counts.submitted,
            "{counts:?}"
        );
        assert_eq!(summary.unstarted.len() as u64, counts.unstarted);
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_threads_gone("cfres-");
    });
}

#[test]
fn after_a_cancel_workers_deliver_past_a_full_results_channel() {
    watchdog(|| {
        let (mut run, _ran_rx, ran) = run_with_a_full_results_channel("cfpast");
        assert!(run.cancel());
        // Nobody reads, yet the run ends: the workers that waited for room
        // deliver their last results without it, and `done` closes.
        assert_eq!(
            run.done().recv_timeout(PATIENCE),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected),
            "a worker still waits for room after the cancel"
        );
        assert_eq!((&mut run).count(), ran);
        assert_threads_gone("cfpast-");
    });
}

#[test]
fn cancel_then_read_the_rest_with_a_full_results_channel() {
    watchdog(|| {
        let (mut run, ran_rx, ran) = run_with_a_full_results_channel("cfrd");
        assert!(run.cancel());
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_eq!(
            ran_rx.try_iter().count(),
            0,
            "a job started after the cancel"
        );
        assert_eq!(results.len(), ran);
        assert!(results.iter().all(|r| r.is_ok()));
        let counts = summary.counts;
        assert_eq!(summary.discarded, 0);
        assert_eq!(counts.succeeded, ran as u64);
        assert_eq!(
            counts.finished() + counts.unstarted,
            counts.submitted,
            "{counts:?}"
        );
        assert_eq!(summary.unstarted.len() as u64, counts.unstarted);
        let mut seen = BTreeSet::new();
        insert_all(&mut seen, results.iter().map(|r| id_of(r.id())), "result");
        insert_all(
            &mut seen,
            summary.unstarted.iter().map(|j| id_of(j.id())),
            "unstarted",
        );
        assert_eq!(seen.len() as u64, counts.submitted);
        // The feeder takes jobs in order, so what came back is a prefix.
        assert_eq!(seen, (0..counts.submitted).collect::<BTreeSet<_>>());
        assert_threads_gone("cfrd-");
    });
}

#[test]
fn a_run_started_with_a_cancelled_context_runs_no_job() {
    watchdog(|| {
        let pool = common::named_pool(2, "cpre");
        let ctx = Context::with_cancel(&Context::background());
        ctx.cancel();
        let (ran_tx, ran_rx) = unbounded();
        let mut run = pool
            .run(
                &ctx,
                (0..20u64).map(|i| Job::new(i, i).with_kind("late")),
                move |_, i: u64| {
                    ran_tx.send(i).unwrap();
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        assert!(run.context().is_cancelled());
        assert!(run.next().is_none(), "no job runs");
        let summary = run.wait();
        assert_eq!(ran_rx.try_iter().count(), 0, "no job runs");
        let counts = summary.counts;
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(counts.finished(), 0);
        // The feeder looks at the context before it pulls a job, so the
        // input is never touched.
        assert_eq!(counts.submitted, 0, "a job was pulled: {counts:?}");
        assert!(summary.unstarted.is_empty());
        assert_threads_gone("cpre-");
    });
}

#[test]
fn submitting_to_a_run_started_with_a_cancelled_context_gives_the_job_back() {
    watchdog(|| {
        let pool = common::named_pool(2, "cpsub");
        let ctx = Context::with_cancel(&Context::background());
        ctx.cancel();
        let (submitter, run) = pool.start(&ctx, |_, i: u64| Ok::<_, ()>(i)).unwrap();
        match submitter.submit(Job::new(7u64, 7u64).with_kind("late")) {
            Err(SubmitError::Cancelled(job)) => {
                assert_eq!(id_of(job.id()), 7);
                assert_eq!(job.descriptor().kind(), "late");
                assert_eq!(job.into_args(), 7);
            }
            other => panic!("expected SubmitError::Cancelled, got {other:?}"),
        }
        assert!(submitter.is_closed());
        let summary = run.wait();
        assert_eq!(summary.counts.submitted, 0);
        assert_eq!(summary.counts.finished(), 0);
        assert!(summary.unstarted.is_empty());
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        drop(submitter);
        assert_threads_gone("cpsub-");
    });
}

#[test]
fn cancelled_by_is_none_when_the_cancel_cut_nothing_short() {
    watchdog(|| {
        let pool = common::named_pool(1, "cby");
        let (exhausted_tx, exhausted_rx) = unbounded();
        let (started_tx, started_rx) = unbounded();
        // One job; the input reports when the feeder has seen its end.
        let input = std::iter::once(Job::new(1u64, ())).chain(std::iter::from_fn(move || {
            let _ = exhausted_tx.send(());
            None
        }));
        let run = pool
            .run(&Context::background(), input, move |ctx, ()| {
                started_tx.send(()).unwrap();
                let _ = ctx.done().recv();
                // The job notices the cancel and still finishes its work.
                Ok::<_, ()>("finished anyway")
            })
            .unwrap();
        started_rx.recv_timeout(PATIENCE).expect("the job starts");
        exhausted_rx
            .recv_timeout(PATIENCE)
            .expect("the feeder reaches the end of the input");
        assert!(run.cancel());
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 1);
        assert_eq!(summary.counts.unstarted, 0);
        // `Summary::cancelled_by`: "Why the run's context ended, if that cut
        // the run short". The only job finished its work anyway, the input
        // was exhausted: nothing was cut short (issue #9, defect 8).
        assert_eq!(summary.cancelled_by, None, "{summary:?}");
        assert_threads_gone("cby-");
    });
}
