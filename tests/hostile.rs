//! Hostile jobs: panics with odd payloads, values whose destructor panics,
//! a job that ignores its context, and jobs that block on their own pool.
//! None of them may deadlock the other workers or the caller's cancel.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::watchdog;
use wpool::{Context, Job, Outcome, Submitter, WorkerPool};

#[test]
fn a_panic_with_a_non_string_payload_is_reported_and_the_run_goes_on() {
    common::quiet_test_panics();
    watchdog(|| {
        // The default hook prints "Box<dyn Any>" for such payloads; keep the
        // test's output clean by raising it with resume_unwind, which skips
        // the hook.
        let pool = WorkerPool::new(2).unwrap();
        let run = pool
            .run(
                &Context::background(),
                (0..10u32).map(|i| Job::new(i, i)),
                |_, i: u32| {
                    if i == 4 {
                        std::panic::resume_unwind(Box::new(vec![1u8, 2, 3]));
                    }
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        let outcomes: Vec<_> = run.map(|r| r.into_outcome()).collect();
        assert_eq!(outcomes.len(), 10);
        let panics: Vec<_> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Panicked(p) => Some(p.message().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(
            panics,
            ["a panic with a non-string payload of unknown type"]
        );
    });
}

/// Panics when dropped, unless defused.
struct Grenade(bool);

impl Drop for Grenade {
    fn drop(&mut self) {
        if self.0 {
            panic!("test panic: a destructor exploded");
        }
    }
}

#[test]
fn a_panic_while_wait_drops_unread_results_leaves_no_thread_behind() {
    common::quiet_test_panics();
    watchdog(|| {
        let pool = common::named_pool(2, "grenade");
        let run = pool
            .run(
                &Context::background(),
                (0..50u32).map(|i| Job::new(i, i)),
                |_, i: u32| Ok::<_, ()>(Grenade(i == 10)),
            )
            .unwrap();
        // `wait` drops results nobody read; one of them panics in its
        // destructor, in the caller's thread. Unwinding drops the run, which
        // cancels and joins it.
        let outcome = catch_unwind(AssertUnwindSafe(move || run.wait()));
        assert!(
            outcome.is_err(),
            "the destructor's panic reaches the caller"
        );
        common::assert_threads_gone("grenade");
    });
}

#[test]
fn a_job_argument_whose_destructor_panics_is_a_panicked_job() {
    common::quiet_test_panics();
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let jobs = (0..3u32).map(|i| Job::new(i, Grenade(i == 1)));
        let run = pool
            .run(&Context::background(), jobs, |_, grenade: Grenade| {
                // The argument is dropped inside the job, so its panic is the
                // job's panic.
                drop(grenade);
                Ok::<_, ()>(())
            })
            .unwrap();
        let summary_source: Vec<_> = run
            .map(|r| (r.id().as_u64().unwrap(), r.outcome().is_panicked()))
            .collect();
        let mut panicked: Vec<_> = summary_source
            .iter()
            .filter(|(_, p)| *p)
            .map(|(id, _)| *id)
            .collect();
        panicked.sort_unstable();
        assert_eq!(panicked, [1]);
        assert_eq!(summary_source.len(), 3);
    });
}

#[test]
fn a_job_that_ignores_its_context_is_reported_by_wait_timeout() {
    watchdog(|| {
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        let pool = WorkerPool::new(1).unwrap();
        let run = pool
            .run(
                &Context::background(),
                [Job::new(1u64, ())],
                move |_, ()| {
                    started_tx.send(()).unwrap();
                    // Deaf to cancellation: only the test can let it go.
                    release_rx.recv().unwrap();
                    Ok::<_, ()>(())
                },
            )
            .unwrap();
        started_rx.recv().unwrap();
        run.cancel();
        let run = run
            .wait_timeout(Duration::from_millis(50))
            .expect_err("a job that ignores the context keeps the run going");
        assert_eq!(run.counts().running, 1);
        release_tx.send(()).unwrap();
        let summary = run
            .wait_timeout(Duration::from_secs(10))
            .expect("finishes once released");
        // It returned Ok after the cancel: a success, not a cancellation.
        assert_eq!(summary.counts.succeeded, 1);
    });
}

/// Every worker blocks submitting into its own full queue: the pool can
/// make no progress by itself (the hazard `Submitter` documents), but a
/// cancel still wakes every blocked submit and ends the run.
#[test]
fn jobs_that_block_submitting_to_their_own_pool_still_yield_to_cancel() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(1)
            .build()
            .unwrap();
        let own: Arc<Mutex<Option<Submitter<u32>>>> = Arc::default();
        let (submitting_tx, submitting_rx) = crossbeam_channel::unbounded::<()>();
        let (submitter, mut run) = pool
            .start(&Context::background(), {
                let own = own.clone();
                move |_, depth: u32| -> Result<u32, bool> {
                    let own = own
                        .lock()
                        .unwrap()
                        .clone()
                        .expect("set before the first job");
                    submitting_tx.send(()).unwrap();
                    for child in 0..100u64 {
                        own.submit(Job::new(child, depth + 1))
                            .map_err(|err| err.is_cancelled())?;
                    }
                    Ok(depth)
                }
            })
            .unwrap();
        *own.lock().unwrap() = Some(submitter.clone());
        // One seed job: its first child goes to the other worker, and then
        // both are parents that submit.
        submitter.submit(Job::new(1000u64, 0)).unwrap();
        submitting_rx.recv().unwrap();
        submitting_rx.recv().unwrap();
        // Both workers are inside jobs that fill the queue and then wait for
        // room that only they could make.
        assert_eq!(
            run.next_timeout(Duration::from_millis(100)).unwrap_err(),
            wpool::NextTimeoutError::Timeout
        );
        run.cancel();
        let summary = run.wait();
        // Both blocked submits were woken and refused as cancelled.
        assert_eq!(summary.counts.cancelled, 2);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
        own.lock().unwrap().take();
    });
}
