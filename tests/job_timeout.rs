//! Per-job timeouts (`RunBuilder::job_timeout`): a job that stops on its
//! own deadline is `TimedOut(Some(err))`, one that ignores it and returns
//! late is `TimedOut(None)` with its value dropped, fast jobs succeed, and
//! a run-wide cancel or deadline is still `Cancelled`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{
    DropCounter, PATIENCE, assert_threads_gone, id_of, named_pool, watchdog, watchdog_for,
};
use crossbeam_channel::{bounded, unbounded};
use wpool::{Context, ContextError, Job, Outcome};

#[test]
fn a_job_that_honours_its_context_times_out_with_its_error() {
    watchdog(|| {
        let pool = named_pool(2, "jtsleep");
        let started = Instant::now();
        let jobs = [Job::new(0u64, 60_000u64), Job::new(1, 1)];
        let run = pool
            .run_builder()
            .job_timeout(Duration::from_millis(30))
            .run(&Context::background(), jobs, |ctx, ms| {
                ctx.sleep(Duration::from_millis(ms))?;
                Ok::<_, ContextError>(ms)
            })
            .unwrap();
        let mut results: Vec<_> = run.collect();
        results.sort_by_key(|r| id_of(r.id()));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slow job stopped at its deadline, not after its minute"
        );
        assert_eq!(
            results[0].outcome(),
            &Outcome::TimedOut(Some(ContextError::DeadlineExceeded))
        );
        assert_eq!(results[0].error(), Some(&ContextError::DeadlineExceeded));
        assert_eq!(results[1].outcome(), &Outcome::Succeeded(1));
        assert_threads_gone("jtsleep-");
    });
}

/// A job that never looks at its context: it blocks on a channel the test
/// closes only once the job's own context has ended (seen through the
/// context's done channel, not a sleep). Its value is dropped.
#[test]
fn a_job_that_ignores_its_context_and_returns_late_times_out_without_a_value() {
    watchdog(|| {
        let pool = named_pool(2, "jtlate");
        let drops = DropCounter::family();
        let (ctx_tx, ctx_rx) = unbounded::<Context>();
        let (release_tx, release) = bounded::<()>(0);
        let f = {
            let drops = drops.clone();
            move |ctx: &Context, i: u64| {
                if i == 0 {
                    ctx_tx.send(ctx.clone()).unwrap();
                    // Ignores `ctx` altogether.
                    let _ = release.recv();
                }
                Ok::<_, String>(DropCounter::new(i, &drops))
            }
        };
        let jobs = (0..50u64).map(|i| Job::new(i, i));
        let run = pool
            .run_builder()
            .job_timeout(Duration::from_millis(20))
            .run(&Context::background(), jobs, f)
            .unwrap();
        let job_ctx = ctx_rx.recv_timeout(PATIENCE).expect("the job starts");
        assert!(job_ctx.deadline().is_some(), "the job has a deadline");
        assert!(
            job_ctx.done().recv_timeout(PATIENCE).is_err(),
            "the job's context ends on its deadline"
        );
        assert_eq!(job_ctx.err(), Some(ContextError::DeadlineExceeded));
        drop(release_tx);

        let mut late = None;
        let mut values = 0;
        for result in run {
            if id_of(result.id()) == 0 {
                late = Some(result);
            } else {
                assert!(result.is_succeeded(), "{result:?}");
                values += 1;
            }
        }
        let late = late.expect("the late job has a result");
        assert!(
            matches!(late.outcome(), Outcome::TimedOut(None)),
            "{late:?}"
        );
        assert_eq!(values, 49);
        // The 49 values were handed out and dropped here, the late one was
        // dropped by the pool.
        assert_eq!(drops.load(SeqCst), 50);
        assert_threads_gone("jtlate-");
    });
}

/// A job that spins past its deadline watching only the clock (no
/// `check`, no `done`): the timeout is noticed when it returns.
#[test]
fn a_job_that_spins_past_its_deadline_times_out() {
    watchdog(|| {
        let pool = named_pool(1, "jtspin");
        let run = pool
            .run_builder()
            .job_timeout(Duration::from_millis(10))
            .run(&Context::background(), [Job::new(0u64, ())], |ctx, ()| {
                let deadline = ctx.deadline().expect("a deadline");
                while Instant::now() < deadline + Duration::from_millis(2) {
                    std::thread::yield_now();
                }
                Ok::<_, String>("late")
            })
            .unwrap();
        let results: Vec<_> = run.collect();
        assert_eq!(results.len(), 1);
        assert!(
            matches!(results[0].outcome(), Outcome::TimedOut(None)),
            "{:?}",
            results[0]
        );
    });
}

#[test]
fn fast_jobs_succeed_and_counts_tell_the_timed_out_apart() {
    watchdog(|| {
        let pool = named_pool(3, "jtmix");
        let jobs = (0..300u64).map(|i| Job::new(i, i));
        let run = pool
            .run_builder()
            .job_timeout(Duration::from_millis(40))
            .run(&Context::background(), jobs, |ctx, i: u64| {
                if i % 50 == 7 {
                    ctx.sleep(Duration::from_secs(60))?;
                } else if i % 50 == 8 {
                    return Err(ContextError::Cancelled);
                }
                Ok::<_, ContextError>(i)
            })
            .unwrap();
        let mut timed_out = 0;
        let mut failed = 0;
        let mut succeeded = 0;
        let mut seen = vec![false; 300];
        let mut run = run;
        for result in &mut run {
            let id = id_of(result.id());
            assert!(!std::mem::replace(&mut seen[id as usize], true));
            match result.outcome() {
                Outcome::TimedOut(Some(ContextError::DeadlineExceeded)) => {
                    assert_eq!(id % 50, 7);
                    timed_out += 1;
                }
                // An error before the deadline is a failure, not a timeout.
                Outcome::Failed(ContextError::Cancelled) => {
                    assert_eq!(id % 50, 8);
                    failed += 1;
                }
                Outcome::Succeeded(value) => {
                    assert_eq!(*value, id);
                    succeeded += 1;
                }
                other => panic!("job {id}: unexpected {other:?}"),
            }
        }
        let summary = run.wait();
        assert_eq!((timed_out, failed, succeeded), (6, 6, 288));
        assert_eq!(summary.counts.timed_out, 6);
        assert_eq!(summary.counts.failed, 6);
        assert_eq!(summary.counts.succeeded, 288);
        assert_eq!(summary.counts.cancelled, 0);
        assert_eq!(summary.counts.finished(), 300);
        assert_eq!(summary.cancelled_by, None, "timeouts do not end the run");
        assert_threads_gone("jtmix-");
    });
}

#[test]
fn a_run_wide_cancel_is_cancelled_not_timed_out() {
    const WORKERS: usize = 2;
    watchdog(|| {
        let pool = named_pool(WORKERS, "jtcancel");
        let (started_tx, started) = unbounded();
        let jobs = (0..10u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .job_timeout(Duration::from_secs(60))
            .run(&Context::background(), jobs, move |ctx, i: u64| {
                started_tx.send(i).unwrap();
                ctx.sleep(Duration::from_secs(120))?;
                Ok::<_, ContextError>(i)
            })
            .unwrap();
        for _ in 0..WORKERS {
            started.recv_timeout(PATIENCE).expect("a job starts");
        }
        assert!(run.cancel());
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_eq!(results.len(), WORKERS, "{results:?}");
        for result in &results {
            assert_eq!(
                result.outcome(),
                &Outcome::Cancelled(ContextError::Cancelled),
                "{result:?}"
            );
        }
        assert_eq!(summary.counts.timed_out, 0);
        assert_eq!(summary.counts.cancelled, WORKERS as u64);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_threads_gone("jtcancel-");
    });
}

/// The run's own deadline is shorter than each job's timeout: the jobs end
/// on the run's deadline, which is a cancel of the run, not a timeout.
#[test]
fn a_run_wide_deadline_is_cancelled_not_timed_out() {
    watchdog(|| {
        let pool = named_pool(2, "jtdead");
        let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(50));
        let jobs = (0..10u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run_builder()
            .job_timeout(Duration::from_secs(60))
            .run(&ctx, jobs, |ctx, i: u64| {
                ctx.sleep(Duration::from_secs(120))?;
                Ok::<_, ContextError>(i)
            })
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert!(!results.is_empty());
        for result in &results {
            assert_eq!(
                result.outcome(),
                &Outcome::Cancelled(ContextError::DeadlineExceeded),
                "{result:?}"
            );
        }
        assert_eq!(summary.counts.timed_out, 0);
        assert_eq!(summary.cancelled_by, Some(ContextError::DeadlineExceeded));
        assert_threads_gone("jtdead-");
    });
}

/// Each job gets a context (and a deadline) of its own: a job's timeout is
/// measured from its own start, not from the run's.
#[test]
fn each_job_gets_a_fresh_deadline_from_its_own_start() {
    watchdog(|| {
        let pool = named_pool(1, "jtfresh");
        let calls = Arc::new(AtomicUsize::new(0));
        let f = {
            let calls = calls.clone();
            move |ctx: &Context, i: u64| {
                calls.fetch_add(1, SeqCst);
                let started = Instant::now();
                let deadline = ctx.deadline().expect("a deadline");
                assert!(deadline > started, "job {i}: a deadline in the past");
                // Each job sleeps 20 ms of its 200: five of them in a row
                // take longer than one timeout, yet none times out.
                ctx.sleep(Duration::from_millis(20))?;
                Ok::<_, ContextError>(deadline)
            }
        };
        let run = pool
            .run_builder()
            .job_timeout(Duration::from_millis(200))
            .run(
                &Context::background(),
                (0..15u64).map(|i| Job::new(i, i)),
                f,
            )
            .unwrap();
        let mut deadlines: Vec<_> = run
            .map(|r| {
                assert!(r.is_succeeded(), "{r:?}");
                r.into_value().unwrap()
            })
            .collect();
        assert_eq!(deadlines.len(), 15);
        deadlines.sort();
        deadlines.dedup();
        assert_eq!(deadlines.len(), 15, "every job has its own deadline");
        assert_eq!(calls.load(SeqCst), 15);
    });
}

/// 100,000 trivial jobs, each with its own timeout (its own context and
/// deadline), all complete. The time against the same run without a
/// timeout is reported, not asserted.
#[test]
fn a_hundred_thousand_jobs_with_a_timeout_each_complete() {
    const JOBS: u64 = 100_000;
    watchdog_for(Duration::from_secs(120), || {
        let pool = named_pool(2, "jtmany");
        let plain_started = Instant::now();
        let plain = pool
            .run(
                &Context::background(),
                (0..JOBS).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap()
            .wait();
        let plain_took = plain_started.elapsed();
        assert_eq!(plain.counts.succeeded, JOBS);

        let timed_started = Instant::now();
        let run = pool
            .run_builder()
            .job_timeout(Duration::from_secs(30))
            .run(
                &Context::background(),
                (0..JOBS).map(|i| Job::new(i, i)),
                |ctx, i: u64| {
                    ctx.check().map_err(|_| ())?;
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        let sum: u64 = run.filter_map(|r| r.into_value()).sum();
        let timed_took = timed_started.elapsed();
        assert_eq!(sum, JOBS * (JOBS - 1) / 2);
        eprintln!(
            "{JOBS} jobs on 2 workers: {plain_took:?} without a timeout, \
             {timed_took:?} with a timeout each ({:.1}x)",
            timed_took.as_secs_f64() / plain_took.as_secs_f64()
        );
        assert_threads_gone("jtmany-");
    });
}
