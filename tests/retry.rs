//! Retries (`RunBuilder::retry` with a `Retry`): attempts and the last
//! outcome on each result, the `when` predicate, no retry of panics, the
//! back-off waited in the run (not on a worker) and cut short by a cancel,
//! exponential delays, and `Counts::retries`.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{
    PATIENCE, assert_threads_gone, id_of, named_pool, quiet_test_panics, wait_at_gate, watchdog,
    watchdog_for,
};
use crossbeam_channel::unbounded;
use parking_lot::Mutex;
use wpool::{Context, ContextError, Job, JobResult, Outcome, Retry, Summary, WorkerPool};

/// One call counter per job id.
fn counters(jobs: usize) -> Arc<Vec<AtomicU32>> {
    Arc::new((0..jobs).map(|_| AtomicU32::new(0)).collect())
}

#[test]
fn a_job_failing_k_times_then_succeeding_takes_k_plus_one_attempts() {
    const JOBS: usize = 200;
    watchdog(|| {
        let pool = named_pool(3, "rtflaky");
        let calls = counters(JOBS);
        let f = {
            let calls = calls.clone();
            // Job `i` fails `i % 4` times, then succeeds; it is given the
            // same arguments every time.
            move |_: &Context, (i, tag): (u64, String)| {
                assert_eq!(tag, format!("job {i}"), "the arguments are cloned intact");
                let call = calls[i as usize].fetch_add(1, SeqCst) + 1;
                if u64::from(call) <= i % 4 {
                    Err(format!("job {i} attempt {call} failed"))
                } else {
                    Ok(i * 10)
                }
            }
        };
        let jobs = (0..JOBS as u64).map(|i| Job::new(i, (i, format!("job {i}"))));
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(4))
            .run(&Context::background(), jobs, f)
            .unwrap();
        let mut seen = 0;
        let mut retries = 0u64;
        for result in &mut run {
            let i = id_of(result.id());
            assert_eq!(result.outcome(), &Outcome::Succeeded(i * 10), "job {i}");
            assert_eq!(u64::from(result.attempts()), i % 4 + 1, "job {i}");
            assert_eq!(calls[i as usize].load(SeqCst), result.attempts());
            retries += u64::from(result.attempts() - 1);
            seen += 1;
        }
        let summary = run.wait();
        assert_eq!(seen, JOBS);
        assert_eq!(summary.counts.succeeded, JOBS as u64);
        assert_eq!(summary.counts.failed, 0);
        // 50 jobs each of 0, 1, 2 and 3 retries.
        assert_eq!(retries, 300);
        assert_eq!(summary.counts.retries, retries);
        assert_threads_gone("rtflaky-");
    });
}

#[test]
fn a_job_that_always_fails_makes_max_attempts_and_keeps_its_last_error() {
    watchdog(|| {
        let pool = named_pool(2, "rtalways");
        let calls = counters(10);
        let f = {
            let calls = calls.clone();
            move |_: &Context, i: u64| -> Result<u64, String> {
                let call = calls[i as usize].fetch_add(1, SeqCst) + 1;
                Err(format!("job {i} attempt {call}"))
            }
        };
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(3).fixed(Duration::from_millis(1)))
            .run(
                &Context::background(),
                (0..10u64).map(|i| Job::new(i, i)),
                f,
            )
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        assert_eq!(results.len(), 10);
        for result in &results {
            let i = id_of(result.id());
            assert_eq!(result.attempts(), 3);
            assert_eq!(
                result.outcome(),
                &Outcome::Failed(format!("job {i} attempt 3"))
            );
            assert_eq!(calls[i as usize].load(SeqCst), 3);
        }
        assert_eq!(summary.counts.failed, 10);
        assert_eq!(summary.counts.retries, 20);
        assert_eq!(summary.cancelled_by, None);
    });
}

#[test]
fn a_descriptor_from_a_retried_result_starts_afresh_in_another_run() {
    watchdog(|| {
        let pool = named_pool(1, "rtafresh");
        let mut first = pool
            .run_builder()
            .retry(Retry::attempts(3).fixed(Duration::from_millis(1)))
            .run(&Context::background(), [Job::new(7u64, ())], |_, ()| {
                Err::<(), _>("always")
            })
            .unwrap();
        let result = first.next().unwrap();
        assert_eq!(result.attempts(), 3);
        // The same descriptor, in a run of its own: its attempts are that
        // run's, not the sum.
        let again = Job::with_descriptor(result.descriptor().clone(), ());
        let mut second = pool
            .run(&Context::background(), [again], |_, ()| Ok::<_, &str>(()))
            .unwrap();
        let result = second.next().unwrap();
        assert_eq!((id_of(result.id()), result.attempts()), (7, 1));
    });
}

#[test]
fn the_when_predicate_stops_retries_of_permanent_errors() {
    #[derive(Clone, Debug, PartialEq)]
    enum Error {
        Transient(u32),
        Permanent(u32),
    }
    watchdog(|| {
        let pool = named_pool(2, "rtwhen");
        let calls = counters(3);
        let f = {
            let calls = calls.clone();
            move |_: &Context, i: u64| -> Result<u64, Error> {
                let call = calls[i as usize].fetch_add(1, SeqCst) + 1;
                match (i, call) {
                    // Transient twice, then permanent: three attempts.
                    (0, 1 | 2) => Err(Error::Transient(call)),
                    (0, _) => Err(Error::Permanent(call)),
                    // Permanent at once: one attempt.
                    (1, _) => Err(Error::Permanent(call)),
                    // Transient, then fine.
                    (_, 1) => Err(Error::Transient(call)),
                    (_, _) => Ok(i),
                }
            }
        };
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(10).when(|err: &Error| matches!(err, Error::Transient(_))))
            .run(&Context::background(), (0..3u64).map(|i| Job::new(i, i)), f)
            .unwrap();
        let mut results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        results.sort_by_key(|r| id_of(r.id()));
        assert_eq!(results[0].outcome(), &Outcome::Failed(Error::Permanent(3)));
        assert_eq!(results[0].attempts(), 3);
        assert_eq!(results[1].outcome(), &Outcome::Failed(Error::Permanent(1)));
        assert_eq!(results[1].attempts(), 1);
        assert_eq!(results[2].outcome(), &Outcome::Succeeded(2));
        assert_eq!(results[2].attempts(), 2);
        let calls: Vec<_> = calls.iter().map(|c| c.load(SeqCst)).collect();
        assert_eq!(calls, [3, 1, 2]);
        assert_eq!(summary.counts.retries, 3);
    });
}

#[test]
fn panics_are_not_retried() {
    quiet_test_panics();
    watchdog(|| {
        let pool = named_pool(2, "rtpanic");
        let calls = counters(4);
        let f = {
            let calls = calls.clone();
            move |_: &Context, i: u64| -> Result<u64, String> {
                calls[i as usize].fetch_add(1, SeqCst);
                assert!(i % 2 == 1, "test panic in job {i}");
                Ok(i)
            }
        };
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(5))
            .run(&Context::background(), (0..4u64).map(|i| Job::new(i, i)), f)
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        for result in &results {
            let i = id_of(result.id());
            assert_eq!(result.attempts(), 1, "job {i}");
            assert_eq!(
                result.outcome().is_panicked(),
                i.is_multiple_of(2),
                "{result:?}"
            );
        }
        let calls: Vec<_> = calls.iter().map(|c| c.load(SeqCst)).collect();
        assert_eq!(calls, [1, 1, 1, 1]);
        assert_eq!(summary.counts.panicked, 2);
        assert_eq!(summary.counts.retries, 0);
    });
}

#[test]
fn a_timed_out_attempt_is_retried() {
    watchdog(|| {
        let pool = named_pool(1, "rttime");
        let calls = counters(1);
        let f = {
            let calls = calls.clone();
            move |ctx: &Context, ()| {
                if calls[0].fetch_add(1, SeqCst) == 0 {
                    ctx.sleep(Duration::from_secs(60))?;
                }
                Ok::<_, ContextError>("second time lucky")
            }
        };
        let mut run = pool
            .run_builder()
            .job_timeout(Duration::from_millis(20))
            .retry(Retry::attempts(3))
            .run(&Context::background(), [Job::new(0u64, ())], f)
            .unwrap();
        let result = run.next().expect("a result");
        assert_eq!(result.outcome(), &Outcome::Succeeded("second time lucky"));
        assert_eq!(result.attempts(), 2);
        let summary = run.wait();
        assert_eq!(summary.counts.timed_out, 0, "only the last attempt counts");
        assert_eq!(summary.counts.succeeded, 1);
        assert_eq!(summary.counts.retries, 1);
    });
}

/// One worker: job 0 fails and waits out a back-off of a minute; the other
/// jobs all run and come back meanwhile (the test would hit its watchdog
/// long before the minute is up otherwise). Then a cancel ends the wait at
/// once and job 0 comes back with its last failure.
#[test]
fn other_jobs_run_on_the_only_worker_while_one_waits_out_its_back_off() {
    const OTHERS: u64 = 20;
    watchdog(|| {
        let pool = named_pool(1, "rtwait");
        let calls = counters(1);
        let f = {
            let calls = calls.clone();
            move |_: &Context, i: u64| {
                if i == 0 {
                    let call = calls[0].fetch_add(1, SeqCst) + 1;
                    return Err(format!("attempt {call} failed"));
                }
                Ok(i)
            }
        };
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(3).fixed(Duration::from_secs(60)))
            .run(
                &Context::background(),
                (0..=OTHERS).map(|i| Job::new(i, i)),
                f,
            )
            .unwrap();
        let mut others = Vec::new();
        while others.len() < OTHERS as usize {
            let result = run.next().expect("the other jobs come back");
            assert_ne!(id_of(result.id()), 0, "job 0 waits a minute: {result:?}");
            assert!(result.is_succeeded());
            others.push(id_of(result.id()));
        }
        others.sort_unstable();
        assert_eq!(others, (1..=OTHERS).collect::<Vec<_>>());
        assert_eq!(calls[0].load(SeqCst), 1, "job 0 is still waiting");
        let counts = run.counts();
        assert_eq!(counts.succeeded, OTHERS);
        assert_eq!(
            counts.running, 1,
            "a job waiting for a retry counts as running"
        );

        let cancelled = Instant::now();
        assert!(run.cancel());
        let rest: Vec<_> = (&mut run).collect();
        let summary = run.wait();
        let took = cancelled.elapsed();
        assert!(
            took < Duration::from_secs(10),
            "a cancel ends the back-off at once, took {took:?}"
        );
        assert_eq!(rest.len(), 1, "{rest:?}");
        assert_eq!(id_of(rest[0].id()), 0);
        assert_eq!(
            rest[0].outcome(),
            &Outcome::Failed("attempt 1 failed".to_string())
        );
        assert_eq!(rest[0].attempts(), 1);
        assert_eq!(calls[0].load(SeqCst), 1, "not tried again after the cancel");
        assert_eq!(summary.counts.failed, 1);
        assert_eq!(summary.counts.succeeded, OTHERS);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
        assert_threads_gone("rtwait-");
    });
}

/// One worker: job 0 fails its first attempt and waits out `retry`'s
/// back-off, while job 1 waits for the run to end; then the run is
/// cancelled. Returns the results, by id, the summary, and how long the
/// cancel took to end the run; checks that no attempt started after it.
fn cancel_during_a_back_off(
    name: &str,
    retry: Retry<&'static str>,
) -> (Vec<JobResult<u64, &'static str>>, Summary<u64>, Duration) {
    let pool = named_pool(1, name);
    let (started_tx, started) = unbounded();
    let (_gate_tx, gate) = unbounded::<()>();
    let f = move |ctx: &Context, i: u64| {
        started_tx.send(i).unwrap();
        if i == 0 {
            return Err("failed");
        }
        wait_at_gate(ctx, &gate);
        if ctx.is_cancelled() {
            Err("cancelled")
        } else {
            Ok(i)
        }
    };
    let mut run = pool
        .run_builder()
        .retry(retry)
        .run(&Context::background(), (0..2u64).map(|i| Job::new(i, i)), f)
        .unwrap();
    // Job 0's first attempt, then job 1 on the same worker: job 0 is then
    // waiting out its back-off.
    assert_eq!(started.recv_timeout(PATIENCE).unwrap(), 0);
    assert_eq!(started.recv_timeout(PATIENCE).unwrap(), 1);
    let cancelled = Instant::now();
    run.cancel();
    let mut results: Vec<_> = (&mut run).collect();
    let summary = run.wait();
    let took = cancelled.elapsed();
    results.sort_by_key(|r| id_of(r.id()));
    assert!(started.try_recv().is_err(), "no attempt after the cancel");
    assert_threads_gone(&format!("{name}-"));
    (results, summary, took)
}

/// A cancel while a job waits out a long back-off and another job is
/// running: both come back at once, the waiting one with its last failure.
#[test]
fn a_cancel_during_a_long_back_off_returns_promptly() {
    watchdog(|| {
        let retry = Retry::attempts(5).fixed(Duration::from_secs(60));
        let (results, summary, took) = cancel_during_a_back_off("rtcancel", retry);
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].outcome(), &Outcome::Failed("failed"));
        assert_eq!(results[0].attempts(), 1);
        assert_eq!(results[1].outcome(), &Outcome::Cancelled("cancelled"));
        assert_eq!(summary.counts.failed, 1);
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
    });
}

/// `Counts::retries` is documented as "attempts beyond each job's first":
/// after a cancel in the middle of a back-off, the retry that never ran
/// should not be counted, so it equals the sum of `attempts() - 1` over
/// the results.
#[test]
fn counts_retries_match_the_attempts_made_when_a_cancel_ends_a_back_off() {
    watchdog(|| {
        let retry = Retry::attempts(5).fixed(Duration::from_secs(60));
        let (results, summary, _) = cancel_during_a_back_off("rtcount", retry);
        let attempts_beyond_first: u64 = results.iter().map(|r| u64::from(r.attempts() - 1)).sum();
        assert_eq!(attempts_beyond_first, 0, "{results:?}");
        assert_eq!(
            summary.counts.retries, attempts_beyond_first,
            "counts.retries counts a retry that never ran"
        );
    });
}

#[test]
fn a_fixed_back_off_is_waited_before_each_retry() {
    const DELAY: Duration = Duration::from_millis(50);
    watchdog(|| {
        let pool = named_pool(2, "rtfixed");
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let f = {
            let attempts = attempts.clone();
            move |_: &Context, ()| {
                let mut attempts = attempts.lock();
                attempts.push(Instant::now());
                if attempts.len() < 3 {
                    Err("again")
                } else {
                    Ok(attempts.len())
                }
            }
        };
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(3).fixed(DELAY))
            .run(&Context::background(), [Job::new(0u64, ())], f)
            .unwrap();
        let result = run.next().unwrap();
        assert_eq!(result.outcome(), &Outcome::Succeeded(3));
        assert_eq!(result.attempts(), 3);
        let attempts = attempts.lock();
        for (n, pair) in attempts.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            assert!(gap >= DELAY, "gap {n}: {gap:?} < {DELAY:?}");
            assert!(gap < DELAY + PATIENCE, "gap {n}: {gap:?}");
        }
    });
}

#[test]
fn exponential_delays_grow_up_to_the_cap() {
    let ms = Duration::from_millis;
    let retry = Retry::<()>::attempts(8).exponential(ms(20), ms(200));
    let delays: Vec<_> = (2..=8).map(|attempt| retry.delay_before(attempt)).collect();
    assert_eq!(
        delays,
        [ms(20), ms(40), ms(80), ms(160), ms(200), ms(200), ms(200)]
    );
    // Fixed delays do not grow.
    let fixed = Retry::<()>::attempts(5).fixed(ms(30));
    assert!((2..=5).all(|attempt| fixed.delay_before(attempt) == ms(30)));
    // Jitter leaves `delay_before` alone (it is applied per wait).
    assert_eq!(
        Retry::<()>::attempts(3)
            .exponential(ms(10), ms(100))
            .jitter(0.9)
            .delay_before(3),
        ms(20)
    );
}

/// Attempt numbers past 33 make `delay_before` shift a `u32` by 32 bits:
/// it must saturate at the cap, not overflow.
#[test]
fn exponential_delays_of_late_attempts_stay_at_the_cap() {
    let ms = Duration::from_millis;
    let retry = Retry::<()>::attempts(100).exponential(ms(1), ms(200));
    for attempt in 10..=100 {
        assert_eq!(retry.delay_before(attempt), ms(200), "attempt {attempt}");
    }
    assert_eq!(retry.delay_before(u32::MAX), ms(200));
}

/// A run that retries a job 40 times with exponential back-off reaches the
/// attempts where `delay_before` overflows (see above): every attempt is
/// still made and the job comes back failed after 40.
#[test]
fn forty_exponential_attempts_all_run() {
    watchdog_for(Duration::from_secs(10), || {
        let pool = named_pool(1, "rtforty");
        let calls = counters(1);
        let f = {
            let calls = calls.clone();
            move |_: &Context, ()| -> Result<(), u32> { Err(calls[0].fetch_add(1, SeqCst) + 1) }
        };
        let mut run = pool
            .run_builder()
            .retry(
                Retry::attempts(40)
                    .exponential(Duration::from_micros(1), Duration::from_micros(50)),
            )
            .run(&Context::background(), [Job::new(0u64, ())], f)
            .unwrap();
        let result = run.next().expect("the job comes back");
        assert_eq!(result.attempts(), 40);
        assert_eq!(result.outcome(), &Outcome::Failed(40));
        assert_eq!(calls[0].load(SeqCst), 40);
        let summary = run.wait();
        assert_eq!(summary.counts.retries, 39);
    });
}

/// The waits themselves: each gap between attempts is at least its
/// delay (20, 40, 80, 160 ms), so the gaps grow; the upper bounds are
/// generous.
#[test]
fn exponential_back_off_gaps_grow_between_attempts() {
    watchdog(|| {
        let ms = Duration::from_millis;
        let pool = named_pool(1, "rtexp");
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let f = {
            let attempts = attempts.clone();
            move |_: &Context, ()| -> Result<(), &'static str> {
                attempts.lock().push(Instant::now());
                Err("again")
            }
        };
        let retry = Retry::attempts(5).exponential(ms(20), ms(1_000));
        let mut run = pool
            .run_builder()
            .retry(retry.clone())
            .run(&Context::background(), [Job::new(0u64, ())], f)
            .unwrap();
        let result = run.next().unwrap();
        assert_eq!(result.attempts(), 5);
        assert_eq!(result.outcome(), &Outcome::Failed("again"));
        let attempts = attempts.lock();
        assert_eq!(attempts.len(), 5);
        let gaps: Vec<_> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
        eprintln!("exponential gaps: {gaps:?}");
        for (n, gap) in gaps.iter().enumerate() {
            let delay = retry.delay_before(n as u32 + 2);
            assert!(*gap >= delay, "gap {n}: {gap:?} < {delay:?}");
            assert!(*gap < delay + PATIENCE, "gap {n}: {gap:?}");
        }
        // The delays themselves double: 20, 40, 80, 160 ms.
        assert!(gaps[3] >= ms(160) && gaps[2] >= ms(80) && gaps[1] >= ms(40));
    });
}

/// With jitter, each wait stays within `delay * (1 ± jitter)` below (the
/// upper side has the scheduler's slack on top), and the waits of several
/// jobs that failed together spread out.
#[test]
fn jitter_keeps_each_wait_within_its_bounds() {
    const JOBS: u64 = 8;
    watchdog(|| {
        let ms = Duration::from_millis;
        let pool = named_pool(4, "rtjitter");
        let attempts = Arc::new(Mutex::new(HashMap::<u64, Vec<Instant>>::new()));
        let f = {
            let attempts = attempts.clone();
            move |_: &Context, i: u64| -> Result<(), &'static str> {
                attempts.lock().entry(i).or_default().push(Instant::now());
                Err("again")
            }
        };
        let run = pool
            .run_builder()
            .retry(Retry::attempts(3).fixed(ms(100)).jitter(0.5))
            .run(&Context::background(), (0..JOBS).map(|i| Job::new(i, i)), f)
            .unwrap();
        assert!(run.map(|r| r.attempts()).all(|attempts| attempts == 3));
        let attempts = attempts.lock();
        let mut gaps = Vec::new();
        for times in attempts.values() {
            assert_eq!(times.len(), 3);
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(gap >= ms(50), "a wait below delay * (1 - jitter): {gap:?}");
                assert!(gap < ms(150) + PATIENCE, "{gap:?}");
                gaps.push(gap);
            }
        }
        gaps.sort();
        eprintln!("jittered gaps: {gaps:?}");
        assert!(
            gaps[gaps.len() - 1] - gaps[0] > ms(20),
            "16 jittered waits of 100 ms +-50% are not all alike: {gaps:?}"
        );
    });
}

/// A back-off too long to ever end (`Duration::MAX`, "only a cancel ends
/// the wait"): the job waits in the run, and a cancel brings it back with
/// its failure. (`Instant::now() + delay` must not overflow on the worker.)
#[test]
fn a_back_off_of_duration_max_is_ended_by_a_cancel() {
    watchdog_for(Duration::from_secs(10), || {
        let retry = Retry::attempts(2).fixed(Duration::MAX);
        let (results, _, _) = cancel_during_a_back_off("rtmax", retry);
        assert_eq!(results.len(), 2, "{results:?}");
        assert_eq!(results[0].outcome(), &Outcome::Failed("failed"));
        assert_eq!(results[0].attempts(), 1);
    });
}

#[test]
fn a_due_retry_is_not_starved_by_an_input_that_never_runs_dry() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(1)
            .thread_name("rtstarve")
            .build()
            .unwrap();
        let failed_once = Arc::new(AtomicU32::new(0));
        let seen = failed_once.clone();
        let mut run = pool
            .run_builder()
            .retry(Retry::attempts(2).fixed(Duration::from_millis(1)))
            .run(
                &Context::background(),
                (0u64..).map(|i| Job::new(i, i)),
                move |_, i: u64| {
                    if i == 0 && seen.fetch_add(1, SeqCst) == 0 {
                        return Err("first attempt fails");
                    }
                    Ok(i)
                },
            )
            .unwrap();
        // The endless input keeps the queue full; job 0's retry still runs.
        let retried = run
            .by_ref()
            .find(|r| r.id().as_u64() == Some(0))
            .expect("job 0's result");
        assert_eq!((retried.value(), retried.attempts()), (Some(&0), 2));
    });
}

#[test]
fn a_worker_leaving_never_ends_another_workers_fresh_retry() {
    // Found by review: a worker leaving by the exit check took the retry
    // heap with it, ending a retry another worker had just scheduled with
    // its first failure (about one run in 1,500).
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        for _ in 0..3_000 {
            let calls: Arc<Vec<AtomicU32>> = Arc::new((0..2).map(|_| AtomicU32::new(0)).collect());
            let counted = calls.clone();
            let run = pool
                .run_builder()
                .retry(Retry::attempts(3))
                .run(
                    &Context::background(),
                    (0..2u64).map(|i| Job::new(i, i)),
                    move |_, i| {
                        // Each job fails its first attempt only.
                        let index = usize::try_from(i).unwrap();
                        if counted[index].fetch_add(1, SeqCst) == 0 {
                            Err("transient")
                        } else {
                            Ok(i)
                        }
                    },
                )
                .unwrap();
            for result in run {
                assert!(
                    result.is_succeeded(),
                    "{result:?} after {} attempt(s)",
                    result.attempts()
                );
            }
        }
    });
}

#[test]
fn args_whose_drop_panics_are_dropped_inside_the_catch() {
    quiet_test_panics();
    struct Bomb;
    impl Clone for Bomb {
        fn clone(&self) -> Bomb {
            Bomb
        }
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("test panic in a drop");
            }
        }
    }
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let run = pool
            .run_builder()
            .retry(Retry::attempts(2))
            .run(
                &Context::background(),
                (0..3u64).map(|i| Job::new(i, Bomb)),
                |_, bomb| {
                    std::mem::forget(bomb);
                    Ok::<_, ()>(())
                },
            )
            .unwrap();
        let summary = run.wait();
        // Every job accounted for; the drops' panics are reported, not lost.
        assert_eq!(summary.counts.succeeded, 3);
        assert!(summary.input_panic.is_some());
    });
}
