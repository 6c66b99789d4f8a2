//! Fail-fast runs (`RunBuilder::fail_fast`, `fail_fast_when`): the first
//! failure cancels the run, keeps its own outcome and is named in
//! `Summary::tripped_by`; no worker starts more than one job after it, and
//! every job taken in comes back once, as a result or unstarted.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{
    PATIENCE, assert_threads_gone, id_of, named_pool, quiet_test_panics, wait_at_gate, watchdog,
};
use crossbeam_channel::unbounded;
use wpool::{Context, ContextError, Job, JobResult, Outcome, Summary};

/// Checks that every job taken in came back exactly once: `results` and
/// `summary.unstarted` hold ids `0..submitted` between them, with none twice,
/// and the counts agree with what was seen.
fn assert_accounted<A, T: std::fmt::Debug, E: std::fmt::Debug>(
    results: &[JobResult<T, E>],
    summary: &Summary<A>,
) {
    let counts = summary.counts;
    let mut seen = BTreeSet::new();
    for id in results
        .iter()
        .map(|r| id_of(r.id()))
        .chain(summary.unstarted.iter().map(|job| id_of(job.id())))
    {
        assert!(seen.insert(id), "job {id} came back twice");
    }
    assert_eq!(
        seen,
        (0..counts.submitted).collect::<BTreeSet<_>>(),
        "every job taken in comes back"
    );
    assert_eq!(counts.finished(), results.len() as u64, "{counts:?}");
    assert_eq!(counts.unstarted, summary.unstarted.len() as u64);
    assert_eq!(
        counts.finished() + counts.unstarted,
        counts.submitted,
        "{counts:?}"
    );
}

#[test]
fn a_failure_keeps_its_outcome_and_is_named_in_tripped_by() {
    const FAILING: u64 = 300;
    watchdog(|| {
        let pool = named_pool(2, "ffone");
        let pulled = Arc::new(AtomicU64::new(0));
        let input = {
            let pulled = pulled.clone();
            (0..100_000u64).map(move |i| {
                pulled.fetch_add(1, SeqCst);
                Job::new(i, i)
            })
        };
        // The failing job cancels nothing itself: fail-fast does.
        let mut run = pool
            .run_builder()
            .fail_fast()
            .run(&Context::background(), input, |_, i: u64| {
                if i == FAILING {
                    Err(format!("job {i} failed"))
                } else {
                    Ok(i)
                }
            })
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_threads_gone("ffone-");

        let failing: Vec<_> = results
            .iter()
            .filter(|r| id_of(r.id()) == FAILING)
            .collect();
        assert_eq!(failing.len(), 1, "the failing job has one result");
        assert_eq!(
            failing[0].outcome(),
            &Outcome::Failed(format!("job {FAILING} failed")),
            "the tripping job keeps its own outcome, not Cancelled"
        );
        assert_eq!(failing[0].attempts(), 1);
        let tripped = summary.tripped_by.as_ref().expect("the run was tripped");
        assert_eq!(id_of(tripped.id()), FAILING);
        assert_eq!(summary.counts.failed, 1);
        assert_eq!(summary.counts.panicked, 0);
        assert_eq!(summary.counts.timed_out, 0);
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        // Every other result is a success (the jobs ignore their context,
        // so none returns Err after the trip).
        for result in results.iter().filter(|r| id_of(r.id()) != FAILING) {
            assert!(result.is_succeeded(), "{result:?}");
        }
        assert!(
            summary.counts.submitted < 100_000,
            "the run stopped taking input: {:?}",
            summary.counts
        );
        assert_eq!(
            pulled.load(SeqCst),
            summary.counts.submitted,
            "every job pulled from the input was taken in"
        );
        assert_accounted(&results, &summary);
    });
}

#[test]
fn a_panic_trips_the_run_and_stays_panicked() {
    const PANICKING: u64 = 77;
    quiet_test_panics();
    watchdog(|| {
        let pool = named_pool(2, "ffpanic");
        let input = (0..100_000u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .fail_fast()
            .run(&Context::background(), input, |_, i: u64| {
                assert!(i != PANICKING, "test panic in job {i}");
                Ok::<_, String>(i)
            })
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_threads_gone("ffpanic-");

        let panicked: Vec<_> = results
            .iter()
            .filter(|r| r.outcome().is_panicked())
            .collect();
        assert_eq!(panicked.len(), 1);
        assert_eq!(id_of(panicked[0].id()), PANICKING);
        match panicked[0].outcome() {
            Outcome::Panicked(panic) => {
                assert_eq!(panic.message(), format!("test panic in job {PANICKING}"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            summary.tripped_by.as_ref().map(|job| id_of(job.id())),
            Some(PANICKING)
        );
        assert_eq!(summary.counts.panicked, 1);
        assert_eq!(summary.counts.failed, 0);
        assert!(summary.counts.unstarted > 0 || summary.counts.submitted < 100_000);
        assert_accounted(&results, &summary);
    });
}

/// The bound on jobs started after the failure, with the failure made at a
/// moment that is well defined: every other worker is inside a job, parked
/// until the run's context ends, when the failing job returns. No job can
/// start between that return and the trip (every worker is busy), so each
/// start counted after it is a start after the trip. The documented bound
/// is "one per worker that had already begun to start it", and here none
/// had; a worker that went on through its local queue after the trip would
/// start many.
#[test]
fn no_worker_starts_more_than_one_job_after_the_failure() {
    const WORKERS: usize = 4;
    const FAILING: u64 = 1_000;
    watchdog(|| {
        let pool = named_pool(WORKERS, "ffbound");
        let starts = Arc::new(AtomicU64::new(0));
        let failing_started = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicBool::new(false));
        let starts_at_failure = Arc::new(AtomicU64::new(u64::MAX));
        let (parked_tx, parked_rx) = unbounded::<u64>();
        // Never sent on: parked jobs leave when the run's context ends (or
        // this is dropped, if the test fails).
        let (_gate_tx, gate) = unbounded::<()>();
        let f = {
            let (starts, failing_started, failed, starts_at_failure) = (
                starts.clone(),
                failing_started.clone(),
                failed.clone(),
                starts_at_failure.clone(),
            );
            move |ctx: &Context, i: u64| {
                starts.fetch_add(1, SeqCst);
                if i == FAILING {
                    failing_started.store(true, SeqCst);
                    // Wait until each other worker is parked in a job.
                    for _ in 1..WORKERS {
                        parked_rx
                            .recv_timeout(PATIENCE)
                            .expect("every other worker parks in a job");
                    }
                    starts_at_failure.store(starts.load(SeqCst), SeqCst);
                    failed.store(true, SeqCst);
                    return Err(format!("job {i} failed"));
                }
                if failing_started.load(SeqCst) && !failed.load(SeqCst) {
                    parked_tx.send(i).unwrap();
                    wait_at_gate(ctx, &gate);
                }
                Ok(i)
            }
        };
        let input = (0..1_000_000u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .fail_fast()
            .run(&Context::background(), input, f)
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_threads_gone("ffbound-");

        let at_failure = starts_at_failure.load(SeqCst);
        assert_ne!(at_failure, u64::MAX, "the failing job ran to its end");
        let after = starts.load(SeqCst) - at_failure;
        eprintln!("jobs started after the failure: {after} ({WORKERS} workers)");
        assert!(
            after < WORKERS as u64,
            "{after} jobs started after the failure with {WORKERS} workers"
        );
        let failing = results
            .iter()
            .find(|r| id_of(r.id()) == FAILING)
            .expect("the failing job has a result");
        assert!(failing.outcome().is_failed(), "{failing:?}");
        assert_eq!(
            summary.tripped_by.as_ref().map(|job| id_of(job.id())),
            Some(FAILING)
        );
        assert_eq!(
            results.len() as u64,
            starts.load(SeqCst),
            "one result per job started"
        );
        assert_accounted(&results, &summary);
    });
}

/// The same bound without any parking: a job that sees the run's context
/// already cancelled when it starts started after the trip (the cancel
/// happened before it). With trivial jobs and busy local queues, at most
/// one per other worker may.
#[test]
fn jobs_that_start_after_the_trip_are_at_most_one_per_worker() {
    const WORKERS: usize = 4;
    watchdog(|| {
        for round in 0..20u64 {
            let failing = 500 + round * 97;
            let pool = named_pool(WORKERS, "fffree");
            let late = Arc::new(AtomicUsize::new(0));
            let f = {
                let late = late.clone();
                move |ctx: &Context, i: u64| {
                    if ctx.is_cancelled() {
                        late.fetch_add(1, SeqCst);
                    }
                    if i == failing {
                        return Err("boom");
                    }
                    Ok(i)
                }
            };
            let input = (0..1_000_000u64).map(|i| Job::new(i, i));
            let mut run = pool
                .run_builder()
                .fail_fast()
                .run(&Context::background(), input, f)
                .unwrap();
            let results: Vec<_> = (&mut run).collect();
            let summary = run.wait();
            let late = late.load(SeqCst);
            assert!(
                late < WORKERS,
                "round {round}: {late} jobs started after the trip with {WORKERS} workers"
            );
            assert_eq!(
                summary.tripped_by.as_ref().map(|job| id_of(job.id())),
                Some(failing)
            );
            let failed: Vec<_> = results.iter().filter(|r| !r.is_succeeded()).collect();
            assert_eq!(failed.len(), 1, "round {round}: {failed:?}");
            assert_eq!(failed[0].outcome(), &Outcome::Failed("boom"));
            assert_accounted(&results, &summary);
        }
        assert_threads_gone("fffree-");
    });
}

#[test]
fn the_predicate_form_trips_only_on_matching_outcomes() {
    watchdog(|| {
        let pool = named_pool(3, "ffwhen");
        let job = |ctx: &Context, i: u64| -> Result<u64, String> {
            ctx.check().map_err(|e| e.to_string())?;
            match i {
                150 => Err("fatal: disk gone".to_string()),
                i if i % 10 == 3 => Err(format!("soft: {i}")),
                i => Ok(i),
            }
        };
        let trips = |outcome: &Outcome<u64, String>| {
            outcome.error().is_some_and(|err| err.starts_with("fatal"))
        };

        // Without the fatal job: soft failures never trip the run.
        let input = (0..1_000u64).filter(|&i| i != 150).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .fail_fast_when(trips)
            .run(&Context::background(), input, job)
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_eq!(summary.tripped_by, None);
        assert_eq!(summary.cancelled_by, None);
        assert_eq!(summary.counts.failed, 100);
        assert_eq!(summary.counts.succeeded, 899);
        assert_eq!(summary.counts.unstarted, 0);
        assert_eq!(results.len(), 999);

        // With it: the fatal job trips the run, the soft ones before it
        // came back failed without tripping it.
        let input = (0..100_000u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .fail_fast_when(trips)
            .run(&Context::background(), input, job)
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_threads_gone("ffwhen-");
        assert_eq!(
            summary.tripped_by.as_ref().map(|job| id_of(job.id())),
            Some(150)
        );
        let fatal = results.iter().find(|r| id_of(r.id()) == 150).unwrap();
        assert_eq!(
            fatal.outcome(),
            &Outcome::Failed("fatal: disk gone".to_string())
        );
        let soft_failed = results
            .iter()
            .filter(|r| r.outcome().is_failed() && id_of(r.id()) != 150)
            .count();
        assert!(
            soft_failed >= 1,
            "soft failures came back as failed results"
        );
        for result in &results {
            let id = id_of(result.id());
            match result.outcome() {
                Outcome::Failed(err) if id == 150 => assert!(err.starts_with("fatal")),
                Outcome::Failed(err) => assert_eq!(err, &format!("soft: {id}")),
                Outcome::Succeeded(value) => assert_eq!(*value, id),
                // After the trip, a job that looked at its context.
                Outcome::Cancelled(err) => assert_eq!(err, "context cancelled"),
                other => panic!("job {id}: unexpected {other:?}"),
            }
        }
        assert_accounted(&results, &summary);
    });
}

#[test]
fn a_submitter_run_fails_fast_too() {
    const FAILING: u64 = 40;
    watchdog(|| {
        let pool = named_pool(2, "ffsub");
        let (submitter, mut run) = pool
            .run_builder()
            .fail_fast()
            .start(&Context::background(), |_, i: u64| {
                if i == FAILING {
                    Err(format!("job {i} failed"))
                } else {
                    Ok(i)
                }
            })
            .unwrap();
        let producer = std::thread::spawn(move || {
            let mut accepted = 0u64;
            for i in 0.. {
                match submitter.submit(Job::new(i, i)) {
                    Ok(()) => accepted += 1,
                    Err(err) => {
                        assert!(err.is_cancelled(), "{err:?}");
                        assert_eq!(id_of(err.into_inner().id()), i);
                        return accepted;
                    }
                }
            }
            unreachable!("the run is tripped long before")
        });
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        let accepted = producer.join().unwrap();
        assert_threads_gone("ffsub-");

        assert_eq!(summary.counts.submitted, accepted);
        let failing = results
            .iter()
            .find(|r| id_of(r.id()) == FAILING)
            .expect("the failing job has a result");
        assert_eq!(
            failing.outcome(),
            &Outcome::Failed(format!("job {FAILING} failed"))
        );
        assert_eq!(
            summary.tripped_by.as_ref().map(|job| id_of(job.id())),
            Some(FAILING)
        );
        assert_eq!(summary.counts.failed, 1);
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_accounted(&results, &summary);
    });
}

#[test]
fn a_timed_out_job_trips_fail_fast() {
    watchdog(|| {
        let pool = named_pool(2, "fftime");
        let input = (0..100_000u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .fail_fast()
            .job_timeout(Duration::from_millis(20))
            .run(&Context::background(), input, |ctx, i: u64| {
                if i == 10 {
                    ctx.sleep(Duration::from_secs(60))?;
                }
                Ok(i)
            })
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_threads_gone("fftime-");
        let slow = results.iter().find(|r| id_of(r.id()) == 10).unwrap();
        assert_eq!(
            slow.outcome(),
            &Outcome::TimedOut(Some(ContextError::DeadlineExceeded))
        );
        assert_eq!(
            summary.tripped_by.as_ref().map(|job| id_of(job.id())),
            Some(10)
        );
        assert_eq!(summary.counts.timed_out, 1);
        assert_accounted(&results, &summary);
    });
}

#[test]
fn a_run_without_failures_is_not_tripped() {
    watchdog(|| {
        let pool = named_pool(2, "ffnone");
        let run = pool
            .run_builder()
            .fail_fast()
            .run(
                &Context::background(),
                (0..2_000u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, String>(i),
            )
            .unwrap();
        let summary = run.wait();
        assert_eq!(summary.tripped_by, None);
        assert_eq!(summary.cancelled_by, None);
        assert_eq!(summary.counts.succeeded, 2_000);
        assert_eq!(summary.counts.unstarted, 0);
    });
}

#[test]
fn a_failure_after_the_callers_cancel_trips_nothing() {
    quiet_test_panics();
    watchdog(|| {
        let pool = wpool::WorkerPool::new(1).unwrap();
        let (started_tx, started) = crossbeam_channel::bounded(1);
        let run = pool
            .run_builder()
            .fail_fast()
            .run(
                &Context::background(),
                [Job::new(1u64, ())],
                move |ctx, ()| -> Result<(), ()> {
                    started_tx.send(()).unwrap();
                    let _ = ctx.done().recv();
                    panic!("test panic after the cancel");
                },
            )
            .unwrap();
        started.recv().unwrap();
        run.cancel();
        let summary = run.wait();
        assert_eq!(
            summary.tripped_by, None,
            "the caller cancelled, no job tripped"
        );
        assert_eq!(summary.counts.panicked, 1);
    });
}
