//! Panics in jobs and in the input iterator: each becomes a value, the
//! workers and the run go on, and no other result is lost.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{quiet_test_panics, threads_named, watchdog};
use wpool::{Context, Job, JobResult, Outcome, WorkerPool};

const JOBS: u64 = 1000;

/// Runs 1,000 jobs on `workers` workers; every tenth panics with a message
/// naming its id.
fn ten_percent_panic(workers: usize) {
    quiet_test_panics();
    let pool = WorkerPool::new(workers).unwrap();
    let jobs = (0..JOBS).map(|i| Job::new(i, i));
    let mut run = pool
        .run(&Context::background(), jobs, |_, i: u64| {
            if i.is_multiple_of(10) {
                panic!("test panic in job {i}");
            }
            Ok::<_, String>(i * 3)
        })
        .unwrap();

    let mut panicked = HashSet::new();
    let mut succeeded = HashSet::new();
    for result in &mut run {
        let id = result.id().as_u64().unwrap();
        match result.into_outcome() {
            Outcome::Panicked(panic) => {
                assert_eq!(id % 10, 0, "job {id} should not have panicked");
                assert_eq!(panic.message(), format!("test panic in job {id}"));
                assert_eq!(
                    panic.to_string(),
                    format!("job panicked: test panic in job {id}")
                );
                assert!(panicked.insert(id), "job {id} reported twice");
            }
            Outcome::Succeeded(value) => {
                assert_ne!(id % 10, 0, "job {id} should have panicked");
                assert_eq!(value, id * 3);
                assert!(succeeded.insert(id), "job {id} reported twice");
            }
            other => panic!("job {id}: unexpected outcome {other:?}"),
        }
    }
    assert_eq!(panicked.len(), 100);
    assert_eq!(succeeded.len(), 900);
    let summary = run.wait();
    assert_eq!(summary.counts.panicked, 100);
    assert_eq!(summary.counts.succeeded, 900);
    assert_eq!(summary.counts.failed, 0);
    assert_eq!(summary.counts.submitted, JOBS);
    assert!(summary.unstarted.is_empty());
    assert_eq!(summary.cancelled_by, None);
    assert!(summary.input_panic.is_none());
}

#[test]
fn ten_percent_of_jobs_panic_on_four_workers() {
    watchdog(|| ten_percent_panic(4));
}

#[test]
fn ten_percent_of_jobs_panic_on_one_worker() {
    watchdog(|| ten_percent_panic(1));
}

#[test]
fn a_non_string_payload_is_reported_as_box_dyn_any() {
    watchdog(|| {
        // This payload has no message, so the default hook reports it on
        // stderr; that report is expected.
        let pool = WorkerPool::new(1).unwrap();
        let run = pool
            .run(
                &Context::background(),
                [Job::new(1u64, ())],
                |_, ()| -> Result<(), ()> { std::panic::panic_any(42u32) },
            )
            .unwrap();
        let results: Vec<_> = run.collect();
        assert_eq!(results.len(), 1);
        match results[0].outcome() {
            Outcome::Panicked(panic) => assert_eq!(panic.message(), "Box<dyn Any>"),
            other => panic!("unexpected outcome {other:?}"),
        }
    });
}

#[test]
fn string_and_str_payloads_keep_their_message() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(2).unwrap();
        let jobs = (0..4u64).map(|i| Job::new(i, i));
        let run = pool
            .run(
                &Context::background(),
                jobs,
                |_, i: u64| -> Result<(), ()> {
                    match i {
                        0 => std::panic::panic_any(format!("test panic owned {i}")),
                        1 => panic!("test panic formatted {}", i * 100),
                        2 => panic!("test panic static"),
                        _ => std::panic::panic_any("test panic str payload"),
                    }
                },
            )
            .unwrap();
        let mut messages: Vec<(u64, String)> = run
            .map(|r| {
                let id = r.id().as_u64().unwrap();
                match r.into_outcome() {
                    Outcome::Panicked(panic) => (id, panic.message().to_owned()),
                    other => panic!("job {id}: unexpected outcome {other:?}"),
                }
            })
            .collect();
        messages.sort();
        let expected = [
            (0, "test panic owned 0"),
            (1, "test panic formatted 100"),
            (2, "test panic static"),
            (3, "test panic str payload"),
        ];
        let expected: Vec<(u64, String)> =
            expected.iter().map(|(i, m)| (*i, m.to_string())).collect();
        assert_eq!(messages, expected);
    });
}

#[test]
fn a_panicking_job_does_not_end_the_run_or_lose_results() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(1).unwrap();
        // The very first job panics; the single worker must run the rest.
        let jobs = (0..200u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run(&Context::background(), jobs, |_, i: u64| {
                if i == 0 {
                    panic!("test panic first job");
                }
                if i == 100 {
                    return Err(format!("job {i} failed"));
                }
                Ok(i)
            })
            .unwrap();
        let results: Vec<JobResult<u64, String>> = run.by_ref().collect();
        // One worker runs its jobs in order and delivers them in order.
        let ids: Vec<u64> = results.iter().map(|r| r.id().as_u64().unwrap()).collect();
        assert_eq!(ids, (0..200).collect::<Vec<_>>());
        assert!(results[0].outcome().is_panicked());
        assert_eq!(
            results[100].outcome().error(),
            Some(&"job 100 failed".to_string())
        );
        for r in results
            .iter()
            .filter(|r| r.id().as_u64() != Some(0) && r.id().as_u64() != Some(100))
        {
            assert_eq!(r.value(), r.id().as_u64().as_ref());
        }
        let summary = run.wait();
        assert_eq!(summary.counts.panicked, 1);
        assert_eq!(summary.counts.failed, 1);
        assert_eq!(summary.counts.succeeded, 198);
        assert_eq!(summary.discarded, 0);
    });
}

#[test]
fn the_worker_survives_its_panics() {
    watchdog(|| {
        quiet_test_panics();
        let pool = common::named_pool(1, "pnkeep");
        let (thread_tx, thread_rx) = crossbeam_channel::unbounded();
        let (submitter, mut run) = pool
            .start(&Context::background(), move |_, i: u64| {
                thread_tx.send(std::thread::current().id()).unwrap();
                if i < 10 {
                    panic!("test panic {i}");
                }
                Ok::<_, ()>(i)
            })
            .unwrap();
        for i in 0..10u64 {
            submitter.submit(Job::new(i, i)).unwrap();
        }
        for i in 0..10u64 {
            let result = run.next_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(result.id().as_u64(), Some(i));
            assert!(result.outcome().is_panicked());
        }
        // The run is still live, on the same worker thread. (Only threads
        // that have run are named, so the idle supervisor is not counted.)
        assert_eq!(threads_named("pnkeep-0"), 1);
        assert!(!run.is_finished());
        submitter.submit(Job::new(10u64, 10)).unwrap();
        let result = run.next_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(result.value(), Some(&10));
        // One thread ran all eleven: none was replaced after a panic.
        let threads: Vec<_> = thread_rx.try_iter().collect();
        assert_eq!(threads.len(), 11);
        assert!(threads.iter().all(|&id| id == threads[0]), "{threads:?}");
        drop(submitter);
        assert!(run.next().is_none());
        let summary = run.wait();
        assert_eq!(summary.counts.panicked, 10);
        assert_eq!(summary.counts.succeeded, 1);
    });
}

/// Yields jobs `0..panic_at`, then panics in `next`.
struct PanickingInput {
    next: u64,
    panic_at: u64,
}

impl Iterator for PanickingInput {
    type Item = Job<u64>;

    fn next(&mut self) -> Option<Job<u64>> {
        if self.next == self.panic_at {
            panic!("test panic in input at {}", self.next);
        }
        let i = self.next;
        self.next += 1;
        Some(Job::new(i, i))
    }
}

#[test]
fn a_panic_in_the_input_iterator_ends_the_input() {
    watchdog(|| {
        quiet_test_panics();
        for (workers, panic_at) in [(1, 0), (1, 1), (2, 50), (3, 777)] {
            let pool = WorkerPool::new(workers).unwrap();
            let input = PanickingInput { next: 0, panic_at };
            let mut run = pool
                .run(&Context::background(), input, |_, i: u64| {
                    Ok::<_, ()>(i + 1)
                })
                .unwrap();
            let mut ids: Vec<u64> = run
                .by_ref()
                .map(|r| {
                    let id = r.id().as_u64().unwrap();
                    assert_eq!(r.value(), Some(&(id + 1)));
                    id
                })
                .collect();
            ids.sort_unstable();
            assert_eq!(
                ids,
                (0..panic_at).collect::<Vec<_>>(),
                "panic at {panic_at}"
            );
            let summary = run.wait();
            let panic = summary.input_panic.expect("the input's panic is reported");
            assert_eq!(
                panic.message(),
                format!("test panic in input at {panic_at}")
            );
            assert_eq!(summary.counts.submitted, panic_at);
            assert_eq!(summary.counts.succeeded, panic_at);
            assert!(summary.unstarted.is_empty());
            assert_eq!(summary.cancelled_by, None);
        }
    });
}

/// Yields `len` jobs and panics when dropped.
struct PanicOnDrop {
    next: u64,
    len: u64,
}

impl Iterator for PanicOnDrop {
    type Item = Job<u64>;

    fn next(&mut self) -> Option<Job<u64>> {
        (self.next < self.len).then(|| {
            self.next += 1;
            Job::new(self.next - 1, self.next - 1)
        })
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("test panic dropping the input");
    }
}

#[test]
fn a_panic_dropping_the_input_is_reported_and_the_jobs_still_run() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(2).unwrap();
        let input = PanicOnDrop { next: 0, len: 20 };
        let mut run = pool
            .run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        assert_eq!(run.by_ref().count(), 20);
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 20);
        assert_eq!(
            summary
                .input_panic
                .map(|p| p.message().to_owned())
                .as_deref(),
            Some("test panic dropping the input")
        );
    });
}

#[test]
fn panics_in_a_continuous_run() {
    watchdog(|| {
        quiet_test_panics();
        let pool = WorkerPool::new(3).unwrap();
        let (submitter, mut run) = pool
            .start(&Context::background(), |_, i: u64| {
                if i % 7 == 3 {
                    panic!("test panic submitted {i}");
                }
                Ok::<_, ()>(i)
            })
            .unwrap();
        let producers: Vec<_> = (0..2u64)
            .map(|t| {
                let submitter = submitter.clone();
                std::thread::spawn(move || {
                    for i in 0..100u64 {
                        let id = t * 1000 + i;
                        submitter.submit(Job::new(id, id)).unwrap();
                    }
                })
            })
            .collect();
        drop(submitter);
        let mut seen = HashSet::new();
        let mut panics = 0;
        for result in &mut run {
            let id = result.id().as_u64().unwrap();
            assert!(seen.insert(id), "job {id} reported twice");
            match result.outcome() {
                Outcome::Panicked(panic) => {
                    assert_eq!(id % 7, 3);
                    assert_eq!(panic.message(), format!("test panic submitted {id}"));
                    panics += 1;
                }
                Outcome::Succeeded(value) => assert_eq!(*value, id),
                other => panic!("job {id}: unexpected outcome {other:?}"),
            }
        }
        for producer in producers {
            producer.join().unwrap();
        }
        let expected_panics = (0..2u64)
            .flat_map(|t| (0..100u64).map(move |i| t * 1000 + i))
            .filter(|id| id % 7 == 3)
            .count() as u64;
        assert_eq!(seen.len(), 200);
        assert_eq!(panics, expected_panics);
        let summary = run.wait();
        assert_eq!(summary.counts.panicked, expected_panics);
        assert_eq!(summary.counts.succeeded, 200 - expected_panics);
        assert_eq!(summary.counts.submitted, 200);
    });
}
