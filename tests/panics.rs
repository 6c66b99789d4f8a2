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
fn a_non_string_payload_is_reported_by_its_type() {
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
            Outcome::Panicked(panic) => {
                assert_eq!(panic.message(), "a panic with a payload of type u32: 42")
            }
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

/// An input whose `into_iter` panics.
struct PanicsInIntoIter;

impl IntoIterator for PanicsInIntoIter {
    type Item = Job<u64>;
    type IntoIter = std::vec::IntoIter<Job<u64>>;

    fn into_iter(self) -> Self::IntoIter {
        panic!("test panic in into_iter");
    }
}

/// The text of a panic payload, as `panic!` and `resume_unwind` make them.
fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}

// Issue #9, defect 4
/// A panic in `jobs.into_iter()` comes out of `pool.run` on the caller's
/// thread, and nothing of the run is left behind: the job function has
/// been dropped by the time `run` unwinds, and no thread of the pool runs.
/// Before the fix the workers were started first and outlived the call.
#[test]
fn a_panic_in_into_iter_propagates_out_of_run_and_leaves_no_thread_running() {
    watchdog(|| {
        quiet_test_panics();
        let drops = common::DropCounter::family();
        let owned_by_f = common::DropCounter::new(0, &drops);
        let pool = common::named_pool(3, "pnintoit");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run(
                &Context::background(),
                PanicsInIntoIter,
                move |_, i: u64| {
                    let _owned = &owned_by_f;
                    Ok::<_, ()>(i)
                },
            )
        }));
        let payload = caught.expect_err("the panic of into_iter comes out of run");
        assert_eq!(payload_text(&*payload), Some("test panic in into_iter"));
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the job function is dropped before run unwinds: no thread holds it"
        );
        common::assert_threads_gone("pnintoit");
    });
}

/// Panics when dropped: captured by a job function, it makes the
/// function's destructor panic.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("test panic dropping the job function");
    }
}

// Issue #9, defect 5
/// The job function's destructor is user code and may panic. Whichever
/// thread drops the function last (a worker, or the caller inside `run`
/// when every worker has already left, as on a cancelled context), that
/// panic never comes out of `pool.run` and is reported in
/// `Summary::input_panic`, every time. Before the fix it was swallowed, or
/// raised out of `run` when the caller dropped the function last.
#[test]
fn a_panicking_job_function_destructor_never_panics_run_and_is_reported() {
    watchdog(|| {
        quiet_test_panics();
        let pool = common::named_pool(2, "pnfdrop");
        let cancelled = Context::with_cancel(&Context::background());
        cancelled.cancel();
        for (ctx, tries) in [(&cancelled, 200), (&Context::background(), 50)] {
            for attempt in 0..tries {
                let guard = PanicsOnDrop;
                let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pool.run(ctx, (0..10u64).map(|i| Job::new(i, i)), move |_, i: u64| {
                        let _owned = &guard;
                        Ok::<_, ()>(i)
                    })
                }));
                let run = match started {
                    Ok(run) => run.expect("the run starts"),
                    Err(payload) => panic!(
                        "try {attempt} (cancelled: {}): pool.run panicked: {:?}",
                        ctx.is_cancelled(),
                        payload_text(&*payload)
                    ),
                };
                let summary = run.wait();
                let panic = summary.input_panic.unwrap_or_else(|| {
                    panic!(
                        "try {attempt} (cancelled: {}): the destructor's panic is not reported",
                        ctx.is_cancelled()
                    )
                });
                assert_eq!(panic.message(), "test panic dropping the job function");
                let expected = if ctx.is_cancelled() { 0 } else { 10 };
                assert_eq!(summary.counts.succeeded, expected);
            }
        }
        common::assert_threads_gone("pnfdrop");
    });
}

// Issue #9, defect 7
/// `for result in run` over an input that panics after three jobs does not
/// look like a short input: once the three results are read, the loop's
/// end (the drop of the `Run`) resumes the input's panic on the caller's
/// thread, with its message as a `String` payload. Before the fix the loop
/// just ended.
#[test]
fn a_for_loop_over_a_run_by_value_resumes_the_input_panic() {
    watchdog(|| {
        quiet_test_panics();
        let pool = common::named_pool(2, "pnforv");
        let mut read = 0;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let input = PanickingInput {
                next: 0,
                panic_at: 3,
            };
            let run = pool
                .run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
                .unwrap();
            for result in run {
                assert!(result.is_ok());
                read += 1;
            }
        }));
        let payload = caught.expect_err("the input's panic reaches the reader");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("test panic in input at 3")
        );
        assert_eq!(read, 3, "every result is read before the panic");
        common::assert_threads_gone("pnforv");
    });
}

// Issue #9, defect 7
/// The same through `count()`, which consumes the run by `fold`.
#[test]
fn counting_a_run_by_value_resumes_the_input_panic() {
    watchdog(|| {
        quiet_test_panics();
        let pool = common::named_pool(2, "pncount");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let input = PanickingInput {
                next: 0,
                panic_at: 3,
            };
            pool.run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
                .unwrap()
                .count()
        }));
        let payload = match caught {
            Ok(count) => panic!("count() returned {count} as if the input had ended"),
            Err(payload) => payload,
        };
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("test panic in input at 3")
        );
        common::assert_threads_gone("pncount");
    });
}

// Issue #9, defect 7
/// A reader that iterates `&mut run` and then calls `wait()` gets the
/// input's panic in `Summary::input_panic`, and nothing panics.
#[test]
fn reading_by_reference_then_waiting_reports_the_input_panic_without_panicking() {
    watchdog(|| {
        quiet_test_panics();
        let pool = common::named_pool(2, "pnbyref");
        let input = PanickingInput {
            next: 0,
            panic_at: 3,
        };
        let mut run = pool
            .run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let mut read = 0;
        for result in &mut run {
            assert!(result.is_ok());
            read += 1;
        }
        assert_eq!(read, 3);
        let summary = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.wait()))
            .expect("wait() reports the input's panic instead of raising it");
        assert_eq!(
            summary
                .input_panic
                .map(|p| p.message().to_owned())
                .as_deref(),
            Some("test panic in input at 3")
        );
        assert_eq!(summary.counts.succeeded, 3);
        common::assert_threads_gone("pnbyref");
    });
}

// Issue #9, defect 7
/// A `Run` whose input panicked, dropped while its thread is already
/// unwinding from a panic of its own, does not raise the input's panic (a
/// panic during a panic aborts the process): the caller's own panic comes
/// out.
#[test]
fn dropping_a_run_whose_input_panicked_while_already_panicking_does_not_abort() {
    watchdog(|| {
        quiet_test_panics();
        let pool = common::named_pool(2, "pnunwd");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let input = PanickingInput {
                next: 0,
                panic_at: 3,
            };
            let run = pool
                .run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
                .unwrap();
            // The run finishes, its input's panic recorded and unread.
            assert!(run.done().recv().is_err());
            panic!("test panic of the caller, holding the run");
        }));
        let payload = caught.expect_err("the caller's panic comes out");
        assert_eq!(
            payload_text(&*payload),
            Some("test panic of the caller, holding the run")
        );
        common::assert_threads_gone("pnunwd");
    });
}
