//! Soak: continuous submission from 8 threads with random panics, failures
//! and cancellations, over many runs, checking every counter at the end of
//! each. Ignored by default; `.ci/run` runs it with a bounded size:
//!
//! ```text
//! WPOOL_SOAK_JOBS=5000000 cargo test --release --test soak -- --ignored
//! ```

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wpool::{Context, Job, WorkerPool};

const PRODUCERS: u64 = 8;

fn soak_jobs() -> u64 {
    std::env::var("WPOOL_SOAK_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400_000)
}

#[test]
#[ignore = "soak test: run with --ignored (CI does, with a bounded size)"]
fn continuous_submission_with_panics_and_cancels_keeps_every_count_right() {
    common::quiet_test_panics();
    let total = soak_jobs();
    // Generous: a stall anywhere is still a failure, not a hang.
    let limit = Duration::from_secs(30 + total / 10_000);
    common::watchdog_for(limit, move || {
        let pool = WorkerPool::builder()
            .workers(4)
            .queue_capacity(256)
            .results_capacity(256)
            .build()
            .unwrap();
        let offered = Arc::new(AtomicU64::new(0));
        let mut run_index = 0u64;
        let (mut jobs_through, mut runs_cancelled) = (0u64, 0u64);
        while offered.load(Ordering::SeqCst) < total {
            run_index += 1;
            // Every third run is cancelled part-way by the reader.
            let cancel_after = run_index
                .is_multiple_of(3)
                .then_some(1_000 + run_index % 5_000);
            let (submitter, mut run) = pool
                .start(&Context::background(), |_, i: u64| match i % 97 {
                    0 => panic!("test panic {i}"),
                    1..=4 => Err(i),
                    _ => Ok(i),
                })
                .unwrap();
            let per_producer = 20_000u64;
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let (submitter, offered) = (submitter.clone(), offered.clone());
                    std::thread::spawn(move || {
                        let (mut accepted, mut refused) = (0u64, 0u64);
                        for k in 0..per_producer {
                            offered.fetch_add(1, Ordering::Relaxed);
                            match submitter.submit(Job::new(p * per_producer + k, k)) {
                                Ok(()) => accepted += 1,
                                Err(err) => {
                                    assert!(err.is_cancelled(), "only a cancel refuses here");
                                    refused += 1;
                                }
                            }
                        }
                        (accepted, refused)
                    })
                })
                .collect();
            drop(submitter);
            let mut read = 0u64;
            while let Some(result) = run.next() {
                let id = result.id().as_u64().unwrap();
                if let Some(&value) = result.value() {
                    assert!(value % 97 > 4, "job {id}");
                }
                read += 1;
                if Some(read) == cancel_after {
                    run.cancel();
                }
            }
            let summary = run.wait();
            let (accepted, refused) = producers
                .into_iter()
                .map(|p| p.join().unwrap())
                .fold((0, 0), |(a, r), (x, y)| (a + x, r + y));
            let counts = summary.counts;
            assert_eq!(accepted + refused, PRODUCERS * per_producer);
            assert_eq!(counts.submitted, accepted, "run {run_index}");
            assert_eq!(counts.finished(), read, "run {run_index}");
            assert_eq!(counts.unstarted, summary.unstarted.len() as u64);
            assert_eq!(
                counts.finished() + counts.unstarted,
                counts.submitted,
                "run {run_index}"
            );
            assert_eq!((counts.running, counts.queued), (0, 0));
            if cancel_after.is_none() {
                assert_eq!((refused, counts.unstarted), (0, 0), "run {run_index}");
            } else if counts.cancelled + counts.unstarted + refused > 0 {
                runs_cancelled += 1;
            }
            jobs_through += read;
        }
        eprintln!(
            "soak: {run_index} runs, {jobs_through} jobs through, {runs_cancelled} cut short by a cancel"
        );
        assert!(jobs_through > 0);
    });
}
