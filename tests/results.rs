//! Reading results: `try_next`, `next_timeout`, `next_deadline`, the raw
//! `results()` channel in `select!`, `ResultBatch`, `done()`, and the
//! accessors of `Outcome`, `JobResult`, `JobId` and boxed jobs.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{quiet_test_panics, watchdog};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use wpool::{
    Context, ContextError, Job, JobFailure, JobFn, JobId, JobResult, Metadata, NextTimeoutError,
    Outcome, Run, TryNextError, WorkerPool,
};

const SOON: Duration = Duration::from_secs(10);
const BLOCKED: Duration = Duration::from_millis(50);

/// A one-worker run of `jobs` jobs; each reports that it started, then
/// waits for one message on the gate (or a cancel).
fn gated_run(jobs: u64) -> (Run<u64, u64, ContextError>, Sender<()>, Receiver<u64>) {
    let pool = WorkerPool::new(1).unwrap();
    let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
    let (started_tx, started_rx) = crossbeam_channel::unbounded();
    let run = pool
        .run(
            &Context::background(),
            (0..jobs).map(|i| Job::new(i, i)),
            move |ctx, i: u64| {
                let _ = started_tx.send(i);
                common::wait_at_gate(ctx, &gate_rx);
                ctx.check()?;
                Ok(i)
            },
        )
        .unwrap();
    (run, gate_tx, started_rx)
}

#[test]
fn try_next_is_empty_while_a_job_blocks_and_finished_at_the_end() {
    watchdog(|| {
        let (mut run, gate, started) = gated_run(2);
        assert_eq!(started.recv_timeout(SOON).unwrap(), 0);
        assert_eq!(run.try_next().unwrap_err(), TryNextError::Empty);
        assert!(!run.is_finished());
        gate.send(()).unwrap();
        assert_eq!(run.next_timeout(SOON).unwrap().value(), Some(&0));
        assert_eq!(started.recv_timeout(SOON).unwrap(), 1);
        assert_eq!(run.try_next().unwrap_err(), TryNextError::Empty);
        gate.send(()).unwrap();
        assert!(run.done().recv_timeout(SOON).is_err());
        assert!(run.is_finished());
        assert_eq!(run.try_next().unwrap().value(), Some(&1));
        assert_eq!(run.try_next().unwrap_err(), TryNextError::Finished);
        assert_eq!(run.try_next().unwrap_err(), TryNextError::Finished);
        assert_eq!(TryNextError::Empty.to_string(), "no result is ready yet");
        assert_eq!(
            TryNextError::Finished.to_string(),
            "the run has finished and every result was read"
        );
    });
}

#[test]
fn next_timeout_times_out_then_returns_the_result() {
    watchdog(|| {
        let (mut run, gate, started) = gated_run(1);
        started.recv_timeout(SOON).unwrap();
        let before = Instant::now();
        assert_eq!(
            run.next_timeout(BLOCKED).unwrap_err(),
            NextTimeoutError::Timeout
        );
        assert!(before.elapsed() >= BLOCKED);
        assert_eq!(
            run.next_timeout(Duration::ZERO).unwrap_err(),
            NextTimeoutError::Timeout
        );
        gate.send(()).unwrap();
        let result = run.next_timeout(SOON).unwrap();
        assert_eq!(result.id().as_u64(), Some(0));
        assert_eq!(
            run.next_timeout(SOON).unwrap_err(),
            NextTimeoutError::Finished
        );
        // A timeout too large for an Instant waits like `next`.
        assert_eq!(
            run.next_timeout(Duration::MAX).unwrap_err(),
            NextTimeoutError::Finished
        );
        assert_eq!(
            NextTimeoutError::Timeout.to_string(),
            "timed out waiting for a result"
        );
    });
}

#[test]
fn next_deadline_times_out_then_returns_the_result() {
    watchdog(|| {
        let (mut run, gate, started) = gated_run(2);
        started.recv_timeout(SOON).unwrap();
        let deadline = Instant::now() + BLOCKED;
        assert_eq!(
            run.next_deadline(deadline).unwrap_err(),
            NextTimeoutError::Timeout
        );
        assert!(Instant::now() >= deadline);
        // A deadline in the past does not wait at all.
        assert_eq!(
            run.next_deadline(Instant::now() - BLOCKED).unwrap_err(),
            NextTimeoutError::Timeout
        );
        gate.send(()).unwrap();
        gate.send(()).unwrap();
        assert_eq!(
            run.next_deadline(Instant::now() + SOON).unwrap().value(),
            Some(&0)
        );
        // Once the run is done, results already there come back even for a
        // deadline that has passed.
        assert!(run.done().recv_timeout(SOON).is_err());
        let past = Instant::now();
        assert_eq!(run.next_deadline(past).unwrap().value(), Some(&1));
        assert_eq!(
            run.next_deadline(past).unwrap_err(),
            NextTimeoutError::Finished
        );
    });
}

#[test]
fn results_work_in_select_with_another_channel() {
    watchdog(|| {
        let (mut run, gate, started) = gated_run(10);
        let (side_tx, side_rx) = crossbeam_channel::unbounded();
        for i in 0..3 {
            side_tx.send(i).unwrap();
        }
        drop(side_tx);
        let mut side_rx = side_rx;
        let mut gate = Some(gate);
        let mut side_seen = Vec::new();
        let mut results = HashSet::new();
        loop {
            crossbeam_channel::select! {
                recv(run.results()) -> batch => match batch {
                    Ok(batch) => {
                        // The jobs only run once all side messages were read.
                        assert_eq!(side_seen, [0, 1, 2]);
                        for result in batch {
                            assert!(results.insert(result.into_value().unwrap()));
                        }
                    }
                    Err(_) => break,
                },
                recv(side_rx) -> msg => match msg {
                    Ok(msg) => {
                        side_seen.push(msg);
                        if side_seen.len() == 3 {
                            // Opens the gate for good.
                            drop(gate.take());
                        }
                    }
                    Err(_) => side_rx = crossbeam_channel::never(),
                },
            }
        }
        assert_eq!(results, (0..10).collect::<HashSet<u64>>());
        assert_eq!(started.try_iter().count(), 10);
        assert!(run.next().is_none());
    });
}

#[test]
fn result_batches_deref_iterate_and_convert() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let run = pool
            .run(
                &Context::background(),
                (0..500u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i + 1),
            )
            .unwrap();
        let mut seen = HashSet::new();
        let mut batches = 0u32;
        while let Ok(batch) = run.results().recv() {
            batches += 1;
            assert!(!batch.is_empty());
            // Deref to a slice.
            let len = batch.len();
            assert_eq!(batch.iter().count(), len);
            assert_eq!((&batch).into_iter().count(), len);
            assert_eq!(
                batch.first().map(|r| r.id()),
                batch.iter().next().map(|r| r.id())
            );
            for result in &batch {
                assert_eq!(result.value(), Some(&(result.id().as_u64().unwrap() + 1)));
            }
            assert!(format!("{batch:?}").starts_with('['));
            // Alternate between the two ways to take the results out.
            let results: Vec<JobResult<u64, ()>> = if batches.is_multiple_of(2) {
                batch.into_vec()
            } else {
                batch.into_iter().collect()
            };
            assert_eq!(results.len(), len);
            for result in results {
                assert!(seen.insert(result.id().as_u64().unwrap()));
            }
        }
        assert_eq!(seen.len(), 500);
        assert!(batches >= 1);
    });
}

#[test]
fn a_held_batch_holds_its_share_of_the_results_capacity() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(1)
            .results_capacity(1)
            .build()
            .unwrap();
        let run = pool
            .run(
                &Context::background(),
                (0..3u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        let first = run.results().recv_timeout(SOON).unwrap();
        assert_eq!(first.len(), 1);
        // While the first batch is held, the worker may not deliver another.
        assert_eq!(
            run.results().recv_timeout(BLOCKED).unwrap_err(),
            RecvTimeoutError::Timeout
        );
        let first = first.into_vec();
        let second = run.results().recv_timeout(SOON).unwrap();
        assert_eq!(second.len(), 1);
        drop(second);
        let third = run.results().recv_timeout(SOON).unwrap();
        let ids: Vec<u64> = first
            .iter()
            .chain(third.iter())
            .map(|r| r.id().as_u64().unwrap())
            .collect();
        assert_eq!(ids, [0, 2]);
        drop(third);
        assert!(run.done().recv_timeout(SOON).is_err());
    });
}

#[test]
fn results_and_next_can_be_mixed() {
    watchdog(|| {
        let pool = WorkerPool::new(3).unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0..300u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        let mut seen = HashSet::new();
        // One from the iterator, which buffers the rest of its batch...
        seen.insert(run.next().unwrap().into_value().unwrap());
        let mut turn = 0u32;
        loop {
            turn += 1;
            if turn.is_multiple_of(2) {
                match run.results().recv() {
                    Ok(batch) => {
                        for result in batch {
                            let value = result.into_value().unwrap();
                            assert!(seen.insert(value), "{value} seen twice");
                        }
                    }
                    Err(_) => {
                        // The channel has ended, but the iterator may still
                        // hold the rest of a batch it took.
                        for result in &mut run {
                            let value = result.into_value().unwrap();
                            assert!(seen.insert(value), "{value} seen twice");
                        }
                        break;
                    }
                }
            } else {
                match run.next() {
                    Some(result) => {
                        let value = result.into_value().unwrap();
                        assert!(seen.insert(value), "{value} seen twice");
                    }
                    None => {
                        assert!(run.results().recv().is_err());
                        break;
                    }
                }
            }
        }
        assert!(run.next().is_none());
        // ...which the iterator still hands out: nothing is lost.
        assert_eq!(seen, (0..300).collect::<HashSet<_>>());
    });
}

#[test]
fn the_iterator_is_fused() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0..5u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        assert_eq!(run.by_ref().count(), 5);
        // An ended iterator means a finished run.
        assert!(run.is_finished());
        for _ in 0..3 {
            assert!(run.next().is_none());
        }
        assert_eq!(run.try_next().unwrap_err(), TryNextError::Finished);
        assert_eq!(
            run.next_timeout(SOON).unwrap_err(),
            NextTimeoutError::Finished
        );
        assert!(run.next().is_none());
        fn fused<I: std::iter::FusedIterator>(_: &I) {}
        fused(&run);
        assert!(format!("{run:?}").starts_with("Run"));
    });
}

#[test]
fn folding_a_run_reads_every_result_once_and_ends_with_the_run() {
    const JOBS: u64 = 10_000;
    watchdog(|| {
        let pool = common::named_pool(2, "rfold");
        let mut run = pool
            .run(
                &Context::background(),
                (0..JOBS).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(2 * i),
            )
            .unwrap();
        // A few by `next` first, so that the fold starts in a half-read batch.
        let mut seen = HashSet::new();
        for result in run.by_ref().take(3) {
            assert!(seen.insert(result.id().clone()));
        }
        // `fold` (behind `for_each`, `sum`, `count`) takes whole batches.
        let seen = run.fold(seen, |mut seen, result| {
            let i = result.id().as_u64().expect("numeric ids only");
            assert!(seen.insert(result.id().clone()), "job {i} twice");
            assert_eq!(result.into_value(), Some(2 * i));
            seen
        });
        assert_eq!(seen.len() as u64, JOBS);
        // The fold consumed the run, and dropping it joined every thread.
        common::assert_threads_gone("rfold-");
    });
}

#[test]
fn a_fold_over_a_cancelled_run_returns() {
    watchdog(|| {
        let ctx = Context::with_cancel(&Context::background());
        let pool = WorkerPool::new(2).unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let run = pool
            .run(
                &ctx,
                (0..1_000u64).map(|i| Job::new(i, i)),
                move |ctx, i: u64| {
                    let _ = started_tx.send(i);
                    let _ = ctx.done().recv();
                    Err::<u64, _>(i)
                },
            )
            .unwrap();
        let canceller = std::thread::spawn(move || {
            for _ in 0..2 {
                started_rx.recv_timeout(SOON).expect("two jobs start");
            }
            ctx.cancel();
            started_rx
        });
        // The two running jobs come back cancelled, no other job starts, and
        // the fold returns.
        let cancelled = run.fold(0, |cancelled, result| {
            assert!(result.outcome().is_cancelled(), "{result:?}");
            cancelled + 1
        });
        assert_eq!(cancelled, 2);
        let started_rx = canceller.join().unwrap();
        assert_eq!(
            started_rx.try_iter().count(),
            0,
            "a job started after the cancel"
        );
    });
}

/// Reads a run the way `done()` is meant for: results while they come,
/// then, once done is closed, the rest without blocking.
fn read_until_done(workers: usize, jobs: u64, results_capacity: usize) {
    let pool = WorkerPool::builder()
        .workers(workers)
        .results_capacity(results_capacity)
        .build()
        .unwrap();
    let mut run = pool
        .run(
            &Context::background(),
            (0..jobs).map(|i| Job::new(i, i)),
            |_, i: u64| Ok::<_, ()>(i),
        )
        .unwrap();
    let mut seen = HashSet::new();
    loop {
        crossbeam_channel::select! {
            recv(run.results()) -> batch => match batch {
                Ok(batch) => seen.extend(batch.into_iter().map(|r| r.into_value().unwrap())),
                Err(_) => {
                    // All results are in; done closes right after.
                    assert!(run.done().recv_timeout(SOON).is_err());
                    break;
                }
            },
            recv(run.done()) -> msg => {
                assert!(msg.is_err(), "nothing is ever sent on done");
                break;
            }
        }
    }
    assert!(run.is_finished());
    loop {
        match run.try_next() {
            Ok(result) => assert!(seen.insert(result.into_value().unwrap())),
            Err(TryNextError::Empty) => panic!("try_next was Empty after done closed"),
            Err(TryNextError::Finished) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen.len() as u64, jobs);
    assert_eq!(run.wait().discarded, 0);
}

#[test]
fn done_closes_only_after_every_result_was_delivered() {
    watchdog(|| {
        read_until_done(4, 2000, 16);
        read_until_done(1, 300, 1);
        read_until_done(3, 1, 0);
    });
}

#[test]
fn after_done_try_next_drains_without_ever_being_empty() {
    watchdog(|| {
        for workers in [1, 2, 5] {
            let jobs = 1000u64;
            let pool = WorkerPool::builder()
                .workers(workers)
                .results_capacity(jobs as usize)
                .build()
                .unwrap();
            let mut run = pool
                .run(
                    &Context::background(),
                    (0..jobs).map(|i| Job::new(i, i)),
                    |_, i: u64| Ok::<_, ()>(i),
                )
                .unwrap();
            assert!(run.done().recv_timeout(SOON).is_err());
            assert!(run.is_finished());
            let mut read = 0;
            loop {
                match run.try_next() {
                    Ok(_) => read += 1,
                    Err(TryNextError::Empty) => panic!("Empty after done, {read} read"),
                    Err(TryNextError::Finished) => break,
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(read, jobs);
        }
    });
}

#[test]
fn is_finished_turns_true_when_the_run_ends() {
    watchdog(|| {
        let (mut run, gate, started) = gated_run(1);
        started.recv_timeout(SOON).unwrap();
        assert!(!run.is_finished());
        assert_eq!(
            run.done().recv_timeout(BLOCKED),
            Err(RecvTimeoutError::Timeout)
        );
        drop(gate);
        assert_eq!(run.next_timeout(SOON).unwrap().value(), Some(&0));
        assert!(run.done().recv_timeout(SOON).is_err());
        assert!(run.is_finished());
        assert!(run.is_finished(), "stays finished");
    });
}

#[derive(Clone, Debug, PartialEq)]
struct MyError(&'static str);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for MyError {}

#[test]
fn outcome_helpers_for_every_kind_of_outcome() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(1).unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (submitter, mut run) = pool
            .start(
                &Context::background(),
                move |ctx, what: &'static str| match what {
                    "ok" => Ok(7u32),
                    "fail" => Err(MyError("bad input")),
                    "panic" => panic!("test panic helper"),
                    _ => {
                        let _ = started_tx.send(());
                        let _ = ctx.done().recv();
                        Err(MyError("gave up"))
                    }
                },
            )
            .unwrap();
        for (i, what) in ["ok", "fail", "panic"].into_iter().enumerate() {
            submitter.submit(Job::new(i, what)).unwrap();
        }
        let ok = run.next_timeout(SOON).unwrap();
        let failed = run.next_timeout(SOON).unwrap();
        let panicked = run.next_timeout(SOON).unwrap();
        submitter.submit(Job::new(3u64, "block")).unwrap();
        started_rx.recv_timeout(SOON).unwrap();
        run.cancel();
        let cancelled = run.next_timeout(SOON).unwrap();
        assert!(run.next().is_none());

        let o = ok.outcome();
        assert!(o.is_succeeded() && !o.is_failed() && !o.is_cancelled() && !o.is_panicked());
        assert_eq!((o.value(), o.error()), (Some(&7), None));
        assert!(ok.is_ok());
        assert_eq!(ok.clone().into_outcome().into_result(), Ok(7));

        let o = failed.outcome();
        assert!(o.is_failed() && !o.is_succeeded() && !o.is_cancelled() && !o.is_panicked());
        assert_eq!((o.value(), o.error()), (None, Some(&MyError("bad input"))));
        assert!(!failed.is_ok());
        let failure = failed.clone().into_outcome().into_result().unwrap_err();
        assert_eq!(failure, JobFailure::Failed(MyError("bad input")));
        assert_eq!(failure.to_string(), "job failed: bad input");
        // The error is in Display already; an error chain must not repeat
        // it as the source.
        assert!(std::error::Error::source(&failure).is_none());

        let o = panicked.outcome();
        assert!(o.is_panicked() && !o.is_failed() && !o.is_succeeded() && !o.is_cancelled());
        assert_eq!((o.value(), o.error()), (None, None));
        let failure = panicked.clone().into_outcome().into_result().unwrap_err();
        assert_eq!(failure.to_string(), "job panicked: test panic helper");
        match &failure {
            JobFailure::Panicked(panic) => {
                assert_eq!(panic.message(), "test panic helper");
                assert_eq!(format!("{panic:?}"), "JobPanic(\"test panic helper\")");
            }
            other => panic!("unexpected {other:?}"),
        }
        // The message is in Display already; an error chain must not
        // repeat it as the source.
        assert!(std::error::Error::source(&failure).is_none());

        let o = cancelled.outcome();
        assert!(o.is_cancelled() && !o.is_failed() && !o.is_succeeded() && !o.is_panicked());
        assert_eq!(o.error(), Some(&MyError("gave up")));
        let failure = cancelled.clone().into_outcome().into_result().unwrap_err();
        assert_eq!(failure, JobFailure::Cancelled(MyError("gave up")));
        assert_eq!(failure.to_string(), "job cancelled: gave up");

        // Outcomes built by hand behave the same.
        let by_hand: Outcome<u8, &str> = Outcome::Cancelled("stopped");
        assert!(by_hand.is_cancelled());
        assert_eq!(
            by_hand.into_result().unwrap_err().to_string(),
            "job cancelled: stopped"
        );
        assert_eq!(run.wait().counts.finished(), 4);
    });
}

#[test]
fn job_result_accessors() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let jobs = (0..20u64).map(|i| {
            Job::new(format!("job-{i}"), i)
                .with_kind(if i.is_multiple_of(2) { "even" } else { "odd" })
                .with_meta("index", i.to_string())
                .with_meta("run", "accessors")
        });
        let run = pool
            .run(&Context::background(), jobs, |_, i: u64| {
                Ok::<_, String>(i * 10)
            })
            .unwrap();
        let mut seen = 0;
        for result in run {
            let i: u64 = result.id().as_str().unwrap()[4..].parse().unwrap();
            assert_eq!(result.id().as_u64(), None);
            assert_eq!(result.id().to_string(), format!("job-{i}"));
            let d = result.descriptor();
            assert_eq!(d.id(), result.id());
            assert_eq!(d.kind(), if i.is_multiple_of(2) { "even" } else { "odd" });
            assert_eq!(d.metadata().get("index"), Some(i.to_string().as_str()));
            assert_eq!(d.metadata().get("run"), Some("accessors"));
            assert_eq!(d.metadata().get("missing"), None);
            assert_eq!(d.metadata().len(), 2);
            let pairs: Vec<(&str, &str)> = d.metadata().iter().collect();
            assert_eq!(pairs[0].0, "index");
            assert_eq!(pairs[1], ("run", "accessors"));
            assert_eq!(result.value(), Some(&(i * 10)));
            assert_eq!(result.clone(), result);
            match i % 3 {
                0 => assert_eq!(result.into_value(), Some(i * 10)),
                1 => assert_eq!(result.into_outcome(), Outcome::Succeeded(i * 10)),
                _ => {
                    let (descriptor, outcome) = result.into_parts();
                    assert_eq!(descriptor.id(), &JobId::from(format!("job-{i}")));
                    assert_eq!(outcome.value(), Some(&(i * 10)));
                }
            }
            seen += 1;
        }
        assert_eq!(seen, 20);
    });
}

#[test]
fn boxed_jobs_each_run_their_own_closure() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(3).unwrap();
        let shared = Arc::new(String::from("shared"));
        let mut jobs: Vec<Job<JobFn<String, String>>> = Vec::new();
        for i in 0..30u64 {
            let shared = shared.clone();
            jobs.push(match i % 5 {
                0 => Job::from_fn(i, move |_| Err(format!("error {i}"))),
                1 => Job::from_fn(i, move |_| panic!("test panic boxed {i}")),
                2 => Job::from_fn(i, move |ctx: &Context| {
                    ctx.check().map_err(|e| e.to_string())?;
                    Ok(format!("{shared} {i}"))
                }),
                _ => Job::from_fn(i, move |_| Ok(i.to_string().repeat(2))),
            });
        }
        let jobs = jobs.into_iter().map(|j| j.with_kind("boxed"));
        let mut run = pool.run_boxed(&Context::background(), jobs).unwrap();
        let mut seen = HashSet::new();
        for result in &mut run {
            let i = result.id().as_u64().unwrap();
            assert_eq!(result.descriptor().kind(), "boxed");
            assert!(seen.insert(i));
            match (i % 5, result.into_outcome()) {
                (0, Outcome::Failed(err)) => assert_eq!(err, format!("error {i}")),
                (1, Outcome::Panicked(p)) => {
                    assert_eq!(p.message(), format!("test panic boxed {i}"))
                }
                (2, Outcome::Succeeded(v)) => assert_eq!(v, format!("shared {i}")),
                (_, Outcome::Succeeded(v)) => assert_eq!(v, i.to_string().repeat(2)),
                (_, other) => panic!("job {i}: unexpected {other:?}"),
            }
        }
        assert_eq!(seen.len(), 30);
        let c = run.wait().counts;
        assert_eq!((c.succeeded, c.failed, c.panicked), (18, 6, 6));
        // Every closure, and what it captured, is gone.
        assert_eq!(Arc::strong_count(&shared), 1);
    });
}

#[test]
fn string_and_numeric_job_ids() {
    let numeric = [
        JobId::from(5u8),
        JobId::from(5u16),
        JobId::from(5u32),
        JobId::from(5u64),
        JobId::from(5usize),
    ];
    for id in &numeric {
        assert_eq!(id, &numeric[0]);
        assert_eq!(id.as_u64(), Some(5));
        assert_eq!(id.as_str(), None);
        assert_eq!(id.to_string(), "5");
        assert_eq!(format!("{id:?}"), "JobId(5)");
    }
    let text = [JobId::from("five"), JobId::from(String::from("five"))];
    for id in &text {
        assert_eq!(id, &text[0]);
        assert_eq!(id.as_str(), Some("five"));
        assert_eq!(id.as_u64(), None);
        assert_eq!(id.to_string(), "five");
        assert_eq!(format!("{id:?}"), "JobId(\"five\")");
    }
    // "5" the string is not 5 the number.
    assert_ne!(JobId::from("5"), JobId::from(5u64));
    assert!(JobId::from(1u64) < JobId::from(2u64));
    let set: HashSet<JobId> = [JobId::from(1u64), JobId::from(1u32), JobId::from("1")].into();
    assert_eq!(set.len(), 2);
    let mut meta: Metadata = [("a", "1"), ("b", "2")].into_iter().collect();
    assert_eq!(meta.insert("a", "3"), Some("1".to_owned()));
    assert_eq!(meta.get("a"), Some("3"));
    assert!(!meta.is_empty());
    assert!(Metadata::new().is_empty());

    // Both kinds travel through a run and come back equal.
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let jobs = vec![
            Job::new(u64::MAX, 0u8),
            Job::new(0u8, 1),
            Job::new("alpha", 2),
            Job::new(String::from("beta"), 3),
            Job::new("", 4),
        ];
        let expected: HashSet<JobId> = jobs.iter().map(|j| j.id().clone()).collect();
        let run = pool
            .run(&Context::background(), jobs, |_, n: u8| Ok::<_, ()>(n))
            .unwrap();
        let ids: HashSet<JobId> = run.map(|r| r.id().clone()).collect();
        assert_eq!(ids, expected);
        assert!(ids.contains(&JobId::from(u64::MAX)));
        assert!(ids.contains(&JobId::from("")));
    });
}

/// The id of the job that waits for the reader in
/// [`last_job_waits_for_the_reader`]; the trivial jobs before it are
/// `0..WAITER`.
const WAITER: u64 = 10_000;

/// How the waiting job ends: released by the reader, or not.
type WaiterOutcome = Outcome<&'static str, &'static str>;

/// One worker runs `WAITER` trivial jobs, then job `WAITER`, which waits
/// (at most 2 s) until the reader reports, on the returned sender, that it
/// has read the result of job `WAITER - 1`. Its result says which came
/// first: `Ok("released")` or `Err("timed out")`.
fn last_job_waits_for_the_reader(name: &str) -> (Run<u64, &'static str, &'static str>, Sender<()>) {
    let pool = common::named_pool(1, name);
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
    let run = pool
        .run(
            &Context::background(),
            (0..=WAITER).map(|i| Job::new(i, i)),
            move |_, i: u64| {
                if i < WAITER {
                    return Ok("trivial");
                }
                crossbeam_channel::select! {
                    recv(release_rx) -> released => released.map(|()| "released").map_err(|_| "reader gone"),
                    default(Duration::from_secs(2)) => Err("timed out"),
                }
            },
        )
        .unwrap();
    (run, release_tx)
}

/// What the reader does with each result: report the last trivial one,
/// keep the waiting job's outcome.
fn read_one(
    result: JobResult<&'static str, &'static str>,
    release: &Sender<()>,
    waiter: &mut Option<WaiterOutcome>,
) {
    let id = result.id().as_u64().unwrap();
    if id == WAITER - 1 {
        // Fails only once the waiting job has given up and the run ended.
        let _ = release.send(());
    }
    if id == WAITER {
        *waiter = Some(result.into_outcome());
    }
}

fn assert_released(waiter: Option<WaiterOutcome>) {
    match waiter {
        Some(Outcome::Succeeded("released")) => {}
        other => panic!(
            "the waiting job was not released by the reader: {other:?}; result {} \
             waited for the job behind it although the reader was waiting for it",
            WAITER - 1
        ),
    }
}

// Issue #9, item 5
/// A finished result never waits for a reader who is waiting for it, also
/// while the worker that finished it runs a long job: reading by `next`.
#[test]
fn a_finished_result_never_waits_for_a_reader_reading_by_next() {
    watchdog(|| {
        let (mut run, release) = last_job_waits_for_the_reader("rwnext");
        let mut waiter = None;
        let mut read = 0;
        for result in &mut run {
            read += 1;
            read_one(result, &release, &mut waiter);
        }
        assert_eq!(read, WAITER + 1);
        assert_released(waiter);
        assert_eq!(run.wait().counts.succeeded, WAITER + 1);
    });
}

// Issue #9, item 5
/// The same, reading by `Run::fold` (the run consumed by value).
#[test]
fn a_finished_result_never_waits_for_a_reader_reading_by_fold() {
    watchdog(|| {
        let (run, release) = last_job_waits_for_the_reader("rwfold");
        let (read, waiter) = run.fold((0, None), |(read, mut waiter), result| {
            read_one(result, &release, &mut waiter);
            (read + 1, waiter)
        });
        assert_eq!(read, WAITER + 1);
        assert_released(waiter);
    });
}

// Issue #9, item 5
/// The same, reading by `run.by_ref().for_each(..)`.
#[test]
fn a_finished_result_never_waits_for_a_reader_reading_by_for_each() {
    watchdog(|| {
        let (mut run, release) = last_job_waits_for_the_reader("rweach");
        let mut waiter = None;
        let mut read = 0;
        run.by_ref().for_each(|result| {
            read += 1;
            read_one(result, &release, &mut waiter);
        });
        assert_eq!(read, WAITER + 1);
        assert_released(waiter);
        assert_eq!(run.wait().counts.succeeded, WAITER + 1);
    });
}

// Issue #9, item 5
/// The same, reading by `next_timeout(5 s)`: no call times out, and the
/// waiting job is released.
#[test]
fn a_finished_result_never_waits_for_a_reader_reading_by_next_timeout() {
    watchdog(|| {
        let (mut run, release) = last_job_waits_for_the_reader("rwtime");
        let mut waiter = None;
        let mut read = 0;
        loop {
            match run.next_timeout(Duration::from_secs(5)) {
                Ok(result) => {
                    read += 1;
                    read_one(result, &release, &mut waiter);
                }
                Err(NextTimeoutError::Finished) => break,
                Err(NextTimeoutError::Timeout) => {
                    panic!("no result within 5 s after {read}; {:?}", run.counts())
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(read, WAITER + 1);
        assert_released(waiter);
        assert_eq!(run.wait().counts.succeeded, WAITER + 1);
    });
}
