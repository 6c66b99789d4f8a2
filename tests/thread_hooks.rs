//! Thread hooks (`Builder::on_thread_start`, `on_thread_exit`): each runs
//! once per worker thread, with the worker's index, on that thread (named
//! `{prefix}-{index}`), before its first job and after its last; a panic in
//! a hook is reported in `Summary::input_panic` and the run completes.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{assert_threads_gone, quiet_test_panics, watchdog};
use parking_lot::Mutex;
use wpool::{Context, Job, WorkerPool};

fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_string()
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Start(usize),
    Init,
    Job,
    StateDropped,
    Exit(usize),
}

type Log = Arc<Mutex<Vec<(String, Event)>>>;

/// A pool whose hooks log `(thread name, event)`.
fn logging_pool(workers: usize, prefix: &str, log: &Log) -> WorkerPool {
    let (start_log, exit_log) = (log.clone(), log.clone());
    WorkerPool::builder()
        .workers(workers)
        .thread_name(prefix)
        .on_thread_start(move |index| start_log.lock().push((thread_name(), Event::Start(index))))
        .on_thread_exit(move |index| exit_log.lock().push((thread_name(), Event::Exit(index))))
        .build()
        .unwrap()
}

/// The log's events per thread, in order.
fn per_thread(log: &Log) -> BTreeMap<String, Vec<Event>> {
    let mut threads: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for (name, event) in log.lock().iter() {
        threads.entry(name.clone()).or_default().push(event.clone());
    }
    threads
}

#[test]
fn start_and_exit_hooks_run_once_per_worker_with_its_index_and_name() {
    const WORKERS: usize = 4;
    watchdog(|| {
        let log: Log = Arc::default();
        let pool = logging_pool(WORKERS, "thbasic", &log);
        let job_log = log.clone();
        let run = pool
            .run(
                &Context::background(),
                (0..2_000u64).map(|i| Job::new(i, i)),
                move |_, i: u64| {
                    job_log.lock().push((thread_name(), Event::Job));
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 2_000);
        assert!(summary.input_panic.is_none());
        assert_threads_gone("thbasic-");

        let threads = per_thread(&log);
        assert_eq!(threads.len(), WORKERS, "{:?}", threads.keys());
        let mut jobs = 0;
        for index in 0..WORKERS {
            let name = format!("thbasic-{index}");
            let events = threads
                .get(&name)
                .unwrap_or_else(|| panic!("no events on {name}"));
            assert_eq!(events.first(), Some(&Event::Start(index)), "{name}");
            assert_eq!(events.last(), Some(&Event::Exit(index)), "{name}");
            let middle = &events[1..events.len() - 1];
            assert!(
                middle.iter().all(|event| *event == Event::Job),
                "{name}: one start hook before all jobs, one exit hook after: {events:?}"
            );
            jobs += middle.len();
        }
        assert_eq!(jobs, 2_000);
    });
}

#[test]
fn hooks_run_for_every_run_of_the_pool_and_for_submitter_runs() {
    const WORKERS: usize = 2;
    watchdog(|| {
        let log: Log = Arc::default();
        let pool = logging_pool(WORKERS, "thruns", &log);
        for _ in 0..3 {
            pool.run(
                &Context::background(),
                (0..10u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap()
            .wait();
        }
        let (submitter, run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        submitter.submit(Job::new(0u64, 0)).unwrap();
        drop(submitter);
        assert_eq!(run.count(), 1);
        assert_threads_gone("thruns-");

        let mut starts = BTreeMap::<usize, usize>::new();
        let mut exits = BTreeMap::<usize, usize>::new();
        for (name, event) in log.lock().iter() {
            match event {
                Event::Start(index) => {
                    assert_eq!(name, &format!("thruns-{index}"));
                    *starts.entry(*index).or_default() += 1;
                }
                Event::Exit(index) => {
                    assert_eq!(name, &format!("thruns-{index}"));
                    *exits.entry(*index).or_default() += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let expected: BTreeMap<usize, usize> = (0..WORKERS).map(|i| (i, 4)).collect();
        assert_eq!(starts, expected, "four runs, one start per worker each");
        assert_eq!(exits, expected, "four runs, one exit per worker each");
    });
}

/// With per-worker state, the start hook comes before the state is made
/// and the exit hook after it is dropped, all on the worker's thread.
#[test]
fn hooks_bracket_the_worker_state() {
    struct State(Log);
    impl Drop for State {
        fn drop(&mut self) {
            self.0.lock().push((thread_name(), Event::StateDropped));
        }
    }
    const WORKERS: usize = 3;
    watchdog(|| {
        let log: Log = Arc::default();
        let pool = logging_pool(WORKERS, "thstate", &log);
        let init_log = log.clone();
        let run = pool
            .run_builder()
            .worker_state(move || {
                init_log.lock().push((thread_name(), Event::Init));
                Ok::<_, ()>(State(init_log.clone()))
            })
            .run(
                &Context::background(),
                (0..300u64).map(|i| Job::new(i, i)),
                |state: &mut State, _, i: u64| {
                    state.0.lock().push((thread_name(), Event::Job));
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        assert_eq!(run.count(), 300);
        assert_threads_gone("thstate-");
        let threads = per_thread(&log);
        assert_eq!(threads.len(), WORKERS);
        for (index, (name, events)) in threads.iter().enumerate() {
            assert_eq!(name, &format!("thstate-{index}"));
            let n = events.len();
            assert!(n >= 4, "{name}: {events:?}");
            assert_eq!(events[0], Event::Start(index), "{name}: {events:?}");
            assert_eq!(events[1], Event::Init, "{name}: {events:?}");
            assert_eq!(events[n - 2], Event::StateDropped, "{name}: {events:?}");
            assert_eq!(events[n - 1], Event::Exit(index), "{name}: {events:?}");
            assert!(events[2..n - 2].iter().all(|event| *event == Event::Job));
        }
    });
}

#[test]
fn a_panicking_start_hook_is_reported_and_the_run_completes() {
    quiet_test_panics();
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(3)
            .thread_name("thpanic")
            .on_thread_start(|index| {
                if index == 1 {
                    panic!("test panic in the start hook of worker {index}");
                }
            })
            .build()
            .unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0..500u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        let mut ids: Vec<u64> = (&mut run).map(|r| r.into_value().unwrap()).collect();
        let summary = run.wait();
        ids.sort_unstable();
        assert_eq!(ids, (0..500).collect::<Vec<_>>());
        assert_eq!(summary.counts.succeeded, 500);
        let panic = summary.input_panic.expect("the hook's panic is reported");
        assert_eq!(panic.message(), "test panic in the start hook of worker 1");
        assert_threads_gone("thpanic-");
    });
}

#[test]
fn a_panicking_exit_hook_is_reported_and_the_run_completes() {
    quiet_test_panics();
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(2)
            .thread_name("thexitp")
            .on_thread_exit(|index| panic!("test panic in the exit hook of worker {index}"))
            .build()
            .unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0..100u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        assert_eq!((&mut run).count(), 100);
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 100);
        let panic = summary.input_panic.expect("the hook's panic is reported");
        assert!(
            panic
                .message()
                .starts_with("test panic in the exit hook of worker "),
            "{panic:?}"
        );
        assert_threads_gone("thexitp-");
    });
}

/// Thread names carry the worker index also without hooks, with the
/// default prefix and with a custom one.
#[test]
fn worker_threads_are_named_prefix_dash_index() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(3)
            .thread_name("thname")
            .build()
            .unwrap();
        let run = pool
            .run(
                &Context::background(),
                (0..300u64).map(|i| Job::new(i, i)),
                |_, _: u64| Ok::<_, ()>(thread_name()),
            )
            .unwrap();
        let mut names: Vec<String> = run.filter_map(|r| r.into_value()).collect();
        names.sort();
        names.dedup();
        assert!(!names.is_empty());
        for name in &names {
            let index = name
                .strip_prefix("thname-")
                .unwrap_or_else(|| panic!("{name}"));
            assert!(
                index.parse::<usize>().is_ok_and(|index| index < 3),
                "{name}"
            );
        }
    });
}
