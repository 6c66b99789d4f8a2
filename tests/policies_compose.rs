//! Every policy at once: input order, fail-fast on one specific error, a
//! per-job timeout, retries of transient errors, a start rate and
//! per-worker state, over a few hundred flaky, slow, failing and fine
//! jobs. Every job comes back exactly once (a result or unstarted), the
//! results in input order, with the attempts each job made.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use common::{assert_threads_gone, id_of, watchdog};
use crossbeam_channel::{Sender, unbounded};
use wpool::{Context, ContextError, Job, JobResult, Order, Outcome, Retry, Summary, WorkerPool};

const JOBS: u64 = 300;
const FATAL: u64 = 250;
const WORKERS: usize = 4;

#[derive(Clone, Debug, PartialEq)]
enum Error {
    Transient(u32),
    Permanent,
    Fatal,
    Context(ContextError),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Fails (transient) on its first attempt.
    FlakyOnce,
    /// Fails (transient) on its first two attempts.
    FlakyTwice,
    /// Sleeps past its timeout, looking at its context.
    Slow,
    /// Fails with an error not worth retrying.
    Permanent,
    /// Fails with the error that stops the run.
    Fatal,
    Fine,
}

fn kind(i: u64, with_fatal: bool) -> Kind {
    match i {
        FATAL if with_fatal => Kind::Fatal,
        i if i % 25 == 3 => Kind::Slow,
        i if i % 10 == 1 => Kind::FlakyOnce,
        i if i % 10 == 2 => Kind::FlakyTwice,
        i if i % 10 == 7 => Kind::Permanent,
        _ => Kind::Fine,
    }
}

/// A worker's state: its thread and the attempts it ran, reported when it
/// is dropped.
struct State {
    thread: String,
    attempts: u64,
    report: Sender<(String, String, u64)>,
}

impl Drop for State {
    fn drop(&mut self) {
        let here = std::thread::current().name().unwrap_or("").to_string();
        let _ = self.report.send((self.thread.clone(), here, self.attempts));
    }
}

struct Outcomes {
    results: Vec<JobResult<(u64, String), Error>>,
    summary: Summary<u64>,
    calls: Arc<Vec<AtomicU32>>,
    pulled: u64,
    states: Vec<(String, String, u64)>,
}

fn run_all(with_fatal: bool, prefix: &'static str) -> Outcomes {
    let pool = WorkerPool::builder()
        .workers(WORKERS)
        .thread_name(prefix)
        .build()
        .unwrap()
        .with_order(Order::Input);
    let calls: Arc<Vec<AtomicU32>> = Arc::new((0..JOBS).map(|_| AtomicU32::new(0)).collect());
    let pulled = Arc::new(AtomicU64::new(0));
    let (report_tx, report) = unbounded();
    let input = {
        let pulled = pulled.clone();
        (0..JOBS).map(move |i| {
            pulled.fetch_add(1, SeqCst);
            Job::new(i, i)
        })
    };
    let f = {
        let calls = calls.clone();
        move |state: &mut State, ctx: &Context, i: u64| -> Result<(u64, String), Error> {
            assert_eq!(
                std::thread::current().name(),
                Some(state.thread.as_str()),
                "the state stays on its worker"
            );
            state.attempts += 1;
            let attempt = calls[i as usize].fetch_add(1, SeqCst) + 1;
            match kind(i, with_fatal) {
                Kind::Fatal => return Err(Error::Fatal),
                Kind::Slow => ctx.sleep(Duration::from_secs(10)).map_err(Error::Context)?,
                Kind::FlakyOnce if attempt < 2 => return Err(Error::Transient(attempt)),
                Kind::FlakyTwice if attempt < 3 => return Err(Error::Transient(attempt)),
                Kind::Permanent => return Err(Error::Permanent),
                _ => {}
            }
            Ok((i, state.thread.clone()))
        }
    };
    let mut run = pool
        .run_builder()
        .fail_fast_when(|outcome: &Outcome<(u64, String), Error>| {
            matches!(outcome, Outcome::Failed(Error::Fatal))
        })
        .job_timeout(Duration::from_millis(50))
        .retry(
            Retry::attempts(3)
                .fixed(Duration::from_millis(2))
                .jitter(0.5)
                .when(|err: &Error| matches!(err, Error::Transient(_))),
        )
        .start_rate(3_000, 50)
        .worker_state(move || {
            Ok::<_, String>(State {
                thread: std::thread::current().name().unwrap_or("").to_string(),
                attempts: 0,
                report: report_tx.clone(),
            })
        })
        .run(&Context::background(), input, f)
        .unwrap();
    let results: Vec<_> = (&mut run).collect();
    let summary = run.wait();
    assert_threads_gone(&format!("{prefix}-"));
    Outcomes {
        results,
        summary,
        calls,
        pulled: pulled.load(SeqCst),
        states: report.try_iter().collect(),
    }
}

/// What every run must satisfy: each job once, in input order, attempts
/// as made, the workers' states made and dropped on their threads and
/// counting every attempt.
fn check_common(outcomes: &Outcomes, prefix: &str) {
    let Outcomes {
        results,
        summary,
        calls,
        pulled,
        states,
    } = outcomes;
    let counts = summary.counts;

    // Input order: strictly increasing ids.
    let ids: Vec<u64> = results.iter().map(|r| id_of(r.id())).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "results out of input order: {ids:?}"
    );
    // Every job taken in exactly once, as a result or unstarted.
    let mut seen = BTreeSet::new();
    for id in ids
        .iter()
        .copied()
        .chain(summary.unstarted.iter().map(|job| id_of(job.id())))
    {
        assert!(seen.insert(id), "job {id} came back twice");
    }
    assert_eq!(seen, (0..counts.submitted).collect::<BTreeSet<_>>());
    assert_eq!(counts.submitted, *pulled, "each job pulled was taken in");
    assert_eq!(counts.finished(), results.len() as u64, "{counts:?}");
    assert_eq!(counts.unstarted, summary.unstarted.len() as u64);
    assert_eq!(counts.finished() + counts.unstarted, counts.submitted);

    // Attempts: as many as the job function saw, at least 1, at most 3.
    let mut attempts_total = 0u64;
    for result in results {
        let i = id_of(result.id());
        let made = calls[i as usize].load(SeqCst);
        assert_eq!(result.attempts(), made, "job {i}: {result:?}");
        assert!((1..=3).contains(&made), "job {i}: {made} attempts");
        attempts_total += u64::from(made);
    }
    for job in &summary.unstarted {
        let i = id_of(job.id());
        assert_eq!(calls[i as usize].load(SeqCst), 0, "unstarted job {i} ran");
    }
    let outcome_count = |pred: fn(&Outcome<(u64, String), Error>) -> bool| {
        results.iter().filter(|r| pred(r.outcome())).count() as u64
    };
    assert_eq!(counts.succeeded, outcome_count(Outcome::is_succeeded));
    assert_eq!(counts.failed, outcome_count(Outcome::is_failed));
    assert_eq!(counts.timed_out, outcome_count(Outcome::is_timed_out));
    assert_eq!(counts.cancelled, outcome_count(Outcome::is_cancelled));
    assert_eq!(counts.panicked, 0);

    // One state per worker, made and dropped on its thread, and together
    // they ran every attempt.
    assert_eq!(states.len(), WORKERS, "{states:?}");
    let names: BTreeSet<_> = states.iter().map(|(made, _, _)| made.clone()).collect();
    let expected: BTreeSet<_> = (0..WORKERS).map(|i| format!("{prefix}-{i}")).collect();
    assert_eq!(names, expected);
    for (made, dropped, _) in states {
        assert_eq!(made, dropped, "a state dropped off its thread");
    }
    let state_attempts: u64 = states.iter().map(|(_, _, n)| n).sum();
    assert_eq!(
        state_attempts, attempts_total,
        "the states count every attempt"
    );

    // Values name the job and the worker that ran it.
    for result in results {
        if let Some((i, thread)) = result.value() {
            assert_eq!(*i, id_of(result.id()));
            assert!(expected.contains(thread), "{thread}");
        }
    }
}

#[test]
fn every_policy_at_once_without_the_fatal_error_runs_every_job() {
    watchdog(|| {
        let outcomes = run_all(false, "pcall");
        check_common(&outcomes, "pcall");
        let Outcomes {
            results, summary, ..
        } = &outcomes;
        assert_eq!(summary.tripped_by, None);
        assert_eq!(summary.cancelled_by, None);
        assert_eq!(results.len() as u64, JOBS);
        for result in results {
            let i = id_of(result.id());
            let (outcome, attempts) = (result.outcome(), result.attempts());
            match kind(i, false) {
                Kind::Fine => {
                    assert!(outcome.is_succeeded(), "job {i}: {result:?}");
                    assert_eq!(attempts, 1, "job {i}");
                }
                Kind::FlakyOnce => {
                    assert!(outcome.is_succeeded(), "job {i}: {result:?}");
                    assert_eq!(attempts, 2, "job {i}");
                }
                Kind::FlakyTwice => {
                    assert!(outcome.is_succeeded(), "job {i}: {result:?}");
                    assert_eq!(attempts, 3, "job {i}");
                }
                Kind::Slow => {
                    assert_eq!(
                        outcome,
                        &Outcome::TimedOut(Some(Error::Context(ContextError::DeadlineExceeded))),
                        "job {i}"
                    );
                    assert_eq!(
                        attempts, 1,
                        "a timeout that is not transient is not retried"
                    );
                }
                Kind::Permanent => {
                    assert_eq!(outcome, &Outcome::Failed(Error::Permanent), "job {i}");
                    assert_eq!(attempts, 1, "job {i}");
                }
                Kind::Fatal => unreachable!(),
            }
        }
        let counts = summary.counts;
        // 0..300: 12 slow (i % 25 == 3), 30 permanent, 30 + 30 flaky.
        assert_eq!(counts.timed_out, 12);
        assert_eq!(counts.failed, 30);
        assert_eq!(counts.succeeded, 258);
        assert_eq!(counts.retries, 30 + 2 * 30);
        assert_eq!(counts.unstarted, 0);
    });
}

#[test]
fn every_policy_at_once_with_the_fatal_error_stops_and_accounts_for_every_job() {
    watchdog(|| {
        let outcomes = run_all(true, "pcfatal");
        check_common(&outcomes, "pcfatal");
        let Outcomes {
            results, summary, ..
        } = &outcomes;
        eprintln!("with the fatal job: {:?}", summary.counts);
        assert_eq!(
            summary.tripped_by.as_ref().map(|job| id_of(job.id())),
            Some(FATAL)
        );
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        let fatal = results
            .iter()
            .find(|r| id_of(r.id()) == FATAL)
            .expect("the fatal job has a result");
        assert_eq!(fatal.outcome(), &Outcome::Failed(Error::Fatal));
        assert_eq!(fatal.attempts(), 1);
        for result in results {
            let i = id_of(result.id());
            let (outcome, attempts) = (result.outcome(), result.attempts());
            if i == FATAL {
                continue;
            }
            match (kind(i, true), outcome) {
                // Whatever ran when the run was tripped may come back
                // cancelled.
                (_, Outcome::Cancelled(Error::Context(ContextError::Cancelled))) => {}
                (Kind::Fine, Outcome::Succeeded(_)) => assert_eq!(attempts, 1, "job {i}"),
                (Kind::FlakyOnce, Outcome::Succeeded(_)) => assert_eq!(attempts, 2, "job {i}"),
                (Kind::FlakyTwice, Outcome::Succeeded(_)) => assert_eq!(attempts, 3, "job {i}"),
                // Cancelled in the middle of its back-off: its last failure.
                (Kind::FlakyOnce | Kind::FlakyTwice, Outcome::Failed(Error::Transient(n))) => {
                    assert_eq!(*n, attempts, "job {i}: the last attempt's error");
                }
                (Kind::Slow, Outcome::TimedOut(Some(Error::Context(e)))) => {
                    assert_eq!(*e, ContextError::DeadlineExceeded);
                    assert_eq!(attempts, 1);
                }
                (Kind::Permanent, Outcome::Failed(Error::Permanent)) => {
                    assert_eq!(attempts, 1, "job {i}")
                }
                (kind, outcome) => panic!("job {i} ({kind:?}): unexpected {outcome:?}"),
            }
        }
        // Jobs well before the fatal one ran.
        assert!(
            results
                .iter()
                .any(|r| id_of(r.id()) < 10 && r.is_succeeded())
        );
    });
}
