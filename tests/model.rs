//! Model-based property tests: random runs (workers, capacities, job
//! behaviours, how the run is fed and how it is stopped) checked against a
//! model of what each job must produce. Every submitted job appears exactly
//! once among the results and the unstarted jobs, each outcome matches what
//! the job was told to do unless cancellation reached it first, and the
//! summary's counters equal the tallies of the results.
//!
//! `WPOOL_PROPTEST_CASES=10000 cargo test --release --test model` for a long
//! run.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use wpool::{Context, Job, Outcome, Run, Summary, WorkerPool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Succeed,
    Fail,
    Panic,
    /// Works for a few microseconds, then succeeds.
    Work(u16),
    /// Waits up to 2 ms on its context: succeeds unless cancelled first.
    WaitOnContext,
}

#[derive(Clone, Copy, Debug)]
enum Stop {
    Never,
    CancelAfter(usize),
    ShutdownAfter(usize),
    DropAfter(usize),
    TimeoutMicros(u64),
}

#[derive(Clone, Copy, Debug)]
enum Feed {
    Batch,
    Submitters(usize),
}

#[derive(Clone, Debug)]
struct Scenario {
    workers: usize,
    queue_capacity: usize,
    results_capacity: usize,
    jobs: Vec<Behaviour>,
    stop: Stop,
    feed: Feed,
}

type Args = (u64, Behaviour);

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        40 => Just(Behaviour::Succeed),
        20 => Just(Behaviour::Fail),
        5 => Just(Behaviour::Panic),
        30 => (0u16..20).prop_map(Behaviour::Work),
        5 => Just(Behaviour::WaitOnContext),
    ]
}

fn stop() -> impl Strategy<Value = Stop> {
    prop_oneof![
        Just(Stop::Never),
        (0usize..300).prop_map(Stop::CancelAfter),
        (0usize..300).prop_map(Stop::ShutdownAfter),
        (0usize..300).prop_map(Stop::DropAfter),
        (0u64..5_000).prop_map(Stop::TimeoutMicros),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        1usize..=16,
        0usize..=64,
        0usize..=64,
        prop::collection::vec(behaviour(), 0..2000),
        stop(),
        prop_oneof![Just(Feed::Batch), (1usize..=4).prop_map(Feed::Submitters)],
    )
        .prop_map(
            |(workers, queue_capacity, results_capacity, jobs, stop, feed)| Scenario {
                workers,
                queue_capacity,
                results_capacity,
                jobs,
                stop,
                feed,
            },
        )
}

fn execute(ctx: &Context, (id, behaviour): Args) -> Result<u64, u64> {
    match behaviour {
        Behaviour::Succeed => Ok(id),
        Behaviour::Fail => Err(id),
        Behaviour::Panic => panic!("test panic {id}"),
        Behaviour::Work(micros) => {
            let until = std::time::Instant::now() + Duration::from_micros(micros.into());
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
            Ok(id)
        }
        Behaviour::WaitOnContext => ctx
            .sleep(Duration::from_millis(2))
            .map(|()| id)
            .map_err(|_| id),
    }
}

/// What the test saw of one run.
struct Observed {
    results: HashMap<u64, Outcome<u64, u64>>,
    summary: Option<Summary<Args>>,
    /// Jobs a submitter tried and that came back refused.
    refused: Vec<u64>,
}

/// Totals over every run in this process, reported with `--nocapture`.
static RUNS: AtomicU64 = AtomicU64::new(0);
static JOBS_THROUGH: AtomicU64 = AtomicU64::new(0);

fn check(scenario: Scenario) {
    let observed = common::watchdog_for(Duration::from_secs(20), {
        let scenario = scenario.clone();
        move || drive(&scenario)
    });
    let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    let jobs = JOBS_THROUGH.fetch_add(observed.results.len() as u64, Ordering::Relaxed)
        + observed.results.len() as u64;
    if runs.is_multiple_of(1000) {
        eprintln!("model: {runs} random runs, {jobs} jobs through them, all checked");
    }
    let cancels = matches!(
        scenario.stop,
        Stop::CancelAfter(_) | Stop::DropAfter(_) | Stop::TimeoutMicros(_)
    );

    // Each outcome matches the job's behaviour, unless cancellation got there.
    for (&id, outcome) in &observed.results {
        let behaviour = scenario.jobs[id as usize];
        let fine = match (behaviour, outcome) {
            (Behaviour::Succeed | Behaviour::Work(_), Outcome::Succeeded(v)) => *v == id,
            (Behaviour::Fail, Outcome::Failed(e)) => *e == id,
            (Behaviour::Fail, Outcome::Cancelled(e)) => cancels && *e == id,
            (Behaviour::Panic, Outcome::Panicked(p)) => p.message() == format!("test panic {id}"),
            (Behaviour::WaitOnContext, Outcome::Succeeded(v)) => *v == id,
            (Behaviour::WaitOnContext, Outcome::Cancelled(e)) => cancels && *e == id,
            _ => false,
        };
        assert!(fine, "job {id} ({behaviour:?}) ended as {outcome:?}");
    }

    let Some(summary) = observed.summary else {
        // The run was dropped early: what was read must be right (above).
        return;
    };
    let counts = summary.counts;

    // Every submitted job exactly once, across results and unstarted jobs.
    let mut unstarted: Vec<u64> = summary.unstarted.iter().map(|j| j.args().0).collect();
    unstarted.sort_unstable();
    let before = unstarted.len();
    unstarted.dedup();
    assert_eq!(before, unstarted.len(), "an unstarted job came back twice");
    for id in &unstarted {
        assert!(
            !observed.results.contains_key(id),
            "job {id} both ran and came back"
        );
    }
    assert_eq!(
        counts.submitted,
        (observed.results.len() + unstarted.len()) as u64
    );
    assert_eq!(counts.unstarted, unstarted.len() as u64);
    assert_eq!(summary.discarded, 0, "the test read every result");
    for id in &observed.refused {
        assert!(!observed.results.contains_key(id) && unstarted.binary_search(id).is_err());
    }
    let accounted = observed.results.len() + unstarted.len() + observed.refused.len();
    match (scenario.stop, scenario.feed) {
        // Nothing stopped the run: every job ran.
        (Stop::Never, _) => {
            assert_eq!(observed.results.len(), scenario.jobs.len());
            assert!(unstarted.is_empty() && observed.refused.is_empty());
        }
        // Submitters offer every job: each was taken or refused.
        (_, Feed::Submitters(_)) => assert_eq!(accounted, scenario.jobs.len()),
        // A stopped feeder leaves the rest of the input untouched.
        (_, Feed::Batch) => assert!(accounted <= scenario.jobs.len()),
    }

    // The summary's counters are the tallies of the results.
    let tally = |f: fn(&Outcome<u64, u64>) -> bool| {
        observed.results.values().filter(|o| f(o)).count() as u64
    };
    assert_eq!(counts.succeeded, tally(Outcome::is_succeeded));
    assert_eq!(counts.failed, tally(Outcome::is_failed));
    assert_eq!(counts.cancelled, tally(Outcome::is_cancelled));
    assert_eq!(counts.panicked, tally(Outcome::is_panicked));
    assert_eq!(counts.running, 0);
    assert_eq!(counts.queued, 0);
    if !cancels {
        assert_eq!(summary.cancelled_by, None);
    }
}

fn drive(scenario: &Scenario) -> Observed {
    let pool = WorkerPool::builder()
        .workers(scenario.workers)
        .queue_capacity(scenario.queue_capacity)
        .results_capacity(scenario.results_capacity)
        .build()
        .unwrap();
    let ctx = match scenario.stop {
        Stop::TimeoutMicros(micros) => {
            Context::with_timeout(&Context::background(), Duration::from_micros(micros))
        }
        _ => Context::background(),
    };
    let jobs: Vec<Job<Args>> = scenario
        .jobs
        .iter()
        .enumerate()
        .map(|(i, &b)| Job::new(i, (i as u64, b)))
        .collect();
    match scenario.feed {
        Feed::Batch => {
            let run = pool.run(&ctx, jobs, execute).unwrap();
            read(run, scenario.stop, Vec::new())
        }
        Feed::Submitters(threads) => {
            let (submitter, run) = pool.start(&ctx, execute).unwrap();
            let mut shares: Vec<Vec<Job<Args>>> = (0..threads).map(|_| Vec::new()).collect();
            for (i, job) in jobs.into_iter().enumerate() {
                shares[i % threads].push(job);
            }
            let producers: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    let submitter = submitter.clone();
                    std::thread::spawn(move || {
                        let mut refused = Vec::new();
                        for job in share {
                            if let Err(err) = submitter.submit(job) {
                                refused.push(err.into_inner().args().0);
                            }
                        }
                        refused
                    })
                })
                .collect();
            drop(submitter);
            // The producers must be joined after the run is read (they may
            // wait on a full queue), but their refusals are needed for the
            // checks: join them once the results end or the run is dropped.
            let mut observed = read(run, scenario.stop, Vec::new());
            for producer in producers {
                observed.refused.extend(producer.join().unwrap());
            }
            observed
        }
    }
}

fn read(mut run: Run<Args, u64, u64>, stop: Stop, refused: Vec<u64>) -> Observed {
    let mut results = HashMap::new();
    let act = |run: &Run<Args, u64, u64>, read: usize| -> bool {
        match stop {
            Stop::CancelAfter(k) if k == read => {
                run.cancel();
            }
            Stop::ShutdownAfter(k) if k == read => {
                run.shutdown();
            }
            Stop::DropAfter(k) if k == read => return false,
            _ => {}
        }
        true
    };
    if !act(&run, 0) {
        drop(run);
        return Observed {
            results,
            summary: None,
            refused,
        };
    }
    while let Some(result) = run.next() {
        let (descriptor, outcome) = result.into_parts();
        let id = descriptor.id().as_u64().unwrap();
        assert!(
            results.insert(id, outcome).is_none(),
            "job {id} gave two results"
        );
        if !act(&run, results.len()) {
            drop(run);
            return Observed {
                results,
                summary: None,
                refused,
            };
        }
    }
    // The iterator ended: the run is done and nothing is left to read.
    assert!(run.is_finished());
    assert_eq!(run.try_next().unwrap_err(), wpool::TryNextError::Finished);
    Observed {
        results,
        summary: Some(run.wait()),
        refused,
    }
}

fn cases() -> u32 {
    std::env::var("WPOOL_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_runs_lose_nothing_and_match_the_model(scenario in scenario()) {
        common::quiet_test_panics();
        check(scenario);
    }
}

/// Pinned edge case: a graceful shutdown before the first result, with
/// submitters, must still account for every job offered.
#[test]
fn shutdown_before_the_first_result_with_submitters() {
    common::quiet_test_panics();
    check(Scenario {
        workers: 1,
        queue_capacity: 0,
        results_capacity: 0,
        jobs: vec![Behaviour::Succeed; 50],
        stop: Stop::ShutdownAfter(0),
        feed: Feed::Submitters(2),
    });
}

/// Pinned edge case: a timeout that has already passed when the run starts.
#[test]
fn deadline_passed_before_the_run_starts() {
    common::quiet_test_panics();
    check(Scenario {
        workers: 3,
        queue_capacity: 5,
        results_capacity: 1,
        jobs: vec![Behaviour::WaitOnContext; 20],
        stop: Stop::TimeoutMicros(0),
        feed: Feed::Batch,
    });
}

/// Regression, found by the property test above: the results channel closes
/// a moment before `done`, and a reader whose iterator had just ended could
/// see a run that was not finished yet. An ended iterator now waits for
/// `done`.
#[test]
fn an_ended_iterator_means_a_finished_run() {
    common::watchdog(|| {
        let pool = WorkerPool::new(8).unwrap();
        for round in 0..300u64 {
            let jobs = (0..round % 17).map(|i| Job::new(i, i));
            let mut run = pool
                .run(&Context::background(), jobs, |_, i: u64| Ok::<_, ()>(i))
                .unwrap();
            while run.next().is_some() {}
            assert!(run.is_finished(), "round {round}");
        }
    });
}
