//! Per-worker state (`RunBuilder::worker_state`): made once per worker on
//! its own thread before any job is taken in, lent to each of its jobs,
//! dropped on that thread when the worker leaves; a failing or panicking
//! init stops the run before it pulls any input, and leaves no thread.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use common::{PATIENCE, assert_threads_gone, id_of, named_pool, quiet_test_panics, watchdog};
use crossbeam_channel::{Sender, unbounded};
use wpool::{Context, InitError, Job};

fn thread_name() -> String {
    std::thread::current()
        .name()
        .expect("pool threads are named")
        .to_string()
}

/// A worker's state: the thread it was made on and the jobs it ran. Its
/// drop reports the thread it is dropped on, and how many jobs it ran.
struct State {
    made_on: String,
    jobs: u64,
    dropped: Sender<(String, String, u64)>,
}

impl Drop for State {
    fn drop(&mut self) {
        let _ = self
            .dropped
            .send((self.made_on.clone(), thread_name(), self.jobs));
    }
}

#[test]
fn state_is_made_once_per_worker_used_by_its_jobs_and_dropped_on_its_thread() {
    const WORKERS: usize = 3;
    const JOBS: u64 = 3_000;
    watchdog(|| {
        let pool = named_pool(WORKERS, "wsmain");
        let inits = Arc::new(AtomicUsize::new(0));
        let (made_tx, made) = unbounded();
        let (dropped_tx, dropped) = unbounded();
        let init = {
            let inits = inits.clone();
            move || {
                inits.fetch_add(1, SeqCst);
                made_tx.send(thread_name()).unwrap();
                Ok::<_, String>(State {
                    made_on: thread_name(),
                    jobs: 0,
                    dropped: dropped_tx.clone(),
                })
            }
        };
        let run = pool
            .run_builder()
            .worker_state(init)
            .run(
                &Context::background(),
                (0..JOBS).map(|i| Job::new(i, i)),
                |state: &mut State, _, i: u64| {
                    assert_eq!(state.made_on, thread_name(), "a state stays on its thread");
                    state.jobs += 1;
                    Ok::<_, String>((i, state.made_on.clone(), state.jobs))
                },
            )
            .unwrap();
        // Every worker made its state before `run` returned.
        assert_eq!(inits.load(SeqCst), WORKERS);

        // Per worker, the jobs it ran saw its counter go 1, 2, 3, ...
        let mut per_worker: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut ids = BTreeSet::new();
        for result in run {
            let (i, worker, nth) = result.into_value().expect("every job succeeds");
            assert!(ids.insert(i));
            per_worker.entry(worker).or_default().push(nth);
        }
        assert_eq!(ids.len() as u64, JOBS);
        for (worker, mut nths) in per_worker.clone() {
            nths.sort_unstable();
            let expected: Vec<u64> = (1..=nths.len() as u64).collect();
            assert_eq!(nths, expected, "{worker}: the state persists across jobs");
        }
        assert_threads_gone("wsmain-");

        assert_eq!(inits.load(SeqCst), WORKERS, "one init per worker");
        let made: BTreeSet<String> = made.try_iter().collect();
        let names: BTreeSet<String> = (0..WORKERS).map(|i| format!("wsmain-{i}")).collect();
        assert_eq!(made, names, "each init ran on its worker's thread");

        let dropped: Vec<_> = dropped.try_iter().collect();
        assert_eq!(
            dropped.len(),
            WORKERS,
            "each state dropped once: {dropped:?}"
        );
        let mut jobs = 0;
        for (made_on, dropped_on, ran) in &dropped {
            assert_eq!(made_on, dropped_on, "dropped on the thread it was made on");
            assert_eq!(
                per_worker.get(made_on).map_or(0, |nths| nths.len() as u64),
                *ran
            );
            jobs += ran;
        }
        assert_eq!(jobs, JOBS);
    });
}

#[test]
fn a_failing_init_stops_the_run_before_any_input_is_pulled() {
    const WORKERS: usize = 3;
    watchdog(|| {
        let pool = named_pool(WORKERS, "wsfail");
        let pulled = Arc::new(AtomicUsize::new(0));
        let input = {
            let pulled = pulled.clone();
            (0..1_000u64).map(move |i| {
                pulled.fetch_add(1, SeqCst);
                Job::new(i, i)
            })
        };
        let ran = Arc::new(AtomicUsize::new(0));
        let (dropped_tx, dropped) = unbounded();
        let init = move || {
            let name = thread_name();
            if name == "wsfail-1" {
                return Err(format!("no state on {name}"));
            }
            Ok(State {
                made_on: name,
                jobs: 0,
                dropped: dropped_tx.clone(),
            })
        };
        let f = {
            let ran = ran.clone();
            move |_: &mut State, _: &Context, i: u64| {
                ran.fetch_add(1, SeqCst);
                Ok::<_, ()>(i)
            }
        };
        let err = pool
            .run_builder()
            .worker_state(init)
            .run(&Context::background(), input, f)
            .map(|_| ())
            .expect_err("the run does not start");
        match &err {
            InitError::Failed { worker, error } => {
                assert_eq!(*worker, 1);
                assert_eq!(error, "no state on wsfail-1");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "worker 1 could not make its state: no state on wsfail-1"
        );
        // No thread outlives the failed call.
        assert_threads_gone("wsfail-");
        assert_eq!(pulled.load(SeqCst), 0, "no job was pulled from the input");
        assert_eq!(ran.load(SeqCst), 0, "no job ran");
        // The states the other workers made were dropped, each on its own
        // thread.
        let dropped: Vec<_> = dropped.try_iter().collect();
        assert_eq!(dropped.len(), WORKERS - 1, "{dropped:?}");
        for (made_on, dropped_on, jobs) in &dropped {
            assert_eq!(made_on, dropped_on);
            assert_eq!(*jobs, 0);
        }
    });
}

#[test]
fn a_panicking_init_is_reported_and_leaves_no_thread() {
    quiet_test_panics();
    watchdog(|| {
        let pool = named_pool(2, "wspanic");
        let pulled = Arc::new(AtomicUsize::new(0));
        let input = {
            let pulled = pulled.clone();
            (0..1_000u64).map(move |i| {
                pulled.fetch_add(1, SeqCst);
                Job::new(i, i)
            })
        };
        let err = pool
            .run_builder()
            .worker_state(|| -> Result<Vec<u8>, String> {
                if thread_name() == "wspanic-0" {
                    panic!("test panic making the state");
                }
                Ok(Vec::new())
            })
            .run(
                &Context::background(),
                input,
                |_: &mut Vec<u8>, _, i: u64| Ok::<_, ()>(i),
            )
            .map(|_| ())
            .expect_err("the run does not start");
        match &err {
            InitError::Panicked { worker, panic } => {
                assert_eq!(*worker, 0);
                assert_eq!(panic.message(), "test panic making the state");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_threads_gone("wspanic-");
        assert_eq!(pulled.load(SeqCst), 0);
    });
}

#[test]
fn a_failing_init_stops_a_submitter_run_too() {
    watchdog(|| {
        let pool = named_pool(2, "wssub");
        let err = pool
            .run_builder()
            .worker_state(|| Err::<u64, _>("nope"))
            .start(&Context::background(), |_: &mut u64, _, i: u64| {
                Ok::<_, ()>(i)
            })
            .map(|_| ())
            .expect_err("the run does not start");
        assert!(
            matches!(err, InitError::Failed { error: "nope", .. }),
            "{err:?}"
        );
        assert_threads_gone("wssub-");
    });
}

/// A Submitter run with state: the state is made before `start` returns
/// and every job submitted uses its worker's.
#[test]
fn a_submitter_run_lends_each_worker_its_state() {
    watchdog(|| {
        let pool = named_pool(2, "wsstart");
        let inits = Arc::new(AtomicUsize::new(0));
        let (submitter, run) = pool
            .run_builder()
            .worker_state({
                let inits = inits.clone();
                move || {
                    inits.fetch_add(1, SeqCst);
                    Ok::<_, String>((thread_name(), 0u64))
                }
            })
            .start(
                &Context::background(),
                |state: &mut (String, u64), _, i: u64| {
                    state.1 += 1;
                    assert_eq!(state.0, thread_name());
                    Ok::<_, ()>((i, state.1))
                },
            )
            .unwrap();
        assert_eq!(
            inits.load(SeqCst),
            2,
            "both states made before start returns"
        );
        let producer = std::thread::spawn(move || {
            for i in 0..500u64 {
                submitter.submit(Job::new(i, i)).unwrap();
            }
        });
        let mut ids: Vec<u64> = Vec::new();
        let mut total_nth = 0;
        for result in run {
            let id = id_of(result.id());
            let (i, nth) = result.into_value().unwrap();
            assert_eq!(i, id);
            ids.push(i);
            total_nth = total_nth.max(nth);
        }
        producer.join().unwrap();
        ids.sort_unstable();
        assert_eq!(ids, (0..500).collect::<Vec<_>>());
        assert!(total_nth >= 250, "one worker ran at least half the jobs");
        assert_eq!(inits.load(SeqCst), 2);
        assert_threads_gone("wsstart-");
    });
}

/// The state of a job that panics stays with its worker, which goes on
/// with the same state.
#[test]
fn a_panicking_job_leaves_its_worker_state_in_place() {
    quiet_test_panics();
    watchdog(|| {
        let pool = named_pool(1, "wsjobpanic");
        let (dropped_tx, dropped) = unbounded();
        let run = pool
            .run_builder()
            .worker_state(move || {
                Ok::<_, ()>(State {
                    made_on: thread_name(),
                    jobs: 0,
                    dropped: dropped_tx.clone(),
                })
            })
            .run(
                &Context::background(),
                (0..10u64).map(|i| Job::new(i, i)),
                |state: &mut State, _, i: u64| {
                    state.jobs += 1;
                    assert!(i != 4, "test panic in job {i}");
                    Ok::<_, ()>(state.jobs)
                },
            )
            .unwrap();
        let mut nths: Vec<u64> = run.filter_map(|r| r.into_value()).collect();
        nths.sort_unstable();
        assert_eq!(nths, [1, 2, 3, 4, 6, 7, 8, 9, 10]);
        let dropped: Vec<_> = dropped.recv_timeout(PATIENCE).into_iter().collect();
        assert_eq!(dropped[0].2, 10);
        assert_threads_gone("wsjobpanic-");
    });
}
