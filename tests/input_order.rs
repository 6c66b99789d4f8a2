//! Results in input order: `Order::Input` for batch and submitter runs, the
//! bounded window behind a slow job, cancels leaving gaps, and every way of
//! reading (next, fold, try_next, the raw channel, wait) under a window.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{quiet_test_panics, watchdog};
use crossbeam_channel::unbounded;
use wpool::{Context, ContextError, Job, Order, Outcome, WorkerPool};

const SOON: Duration = Duration::from_secs(10);
/// How long nothing must happen to count as "nothing happens".
const QUIET: Duration = Duration::from_millis(50);

fn ordered_pool(workers: usize, window: usize) -> WorkerPool {
    WorkerPool::builder()
        .workers(workers)
        .order(Order::Input)
        .order_window(window)
        .build()
        .unwrap()
}

/// Spins for about `micros` microseconds: uneven job costs without sleeping.
fn spin(micros: u64) {
    let until = std::time::Instant::now() + Duration::from_micros(micros);
    while std::time::Instant::now() < until {
        std::hint::spin_loop();
    }
}

fn ids(results: impl IntoIterator<Item = wpool::JobResult<u64, String>>) -> Vec<u64> {
    results
        .into_iter()
        .map(|r| r.id().as_u64().unwrap())
        .collect()
}

#[test]
fn uneven_jobs_come_back_in_input_order() {
    watchdog(|| {
        for (workers, window) in [(1, 16), (2, 1), (3, 7), (4, 64), (8, 16_384)] {
            let pool = ordered_pool(workers, window);
            let jobs = (0..2_000u64).map(|i| Job::new(i, i));
            let run = pool
                .run(&Context::background(), jobs, |_, i: u64| {
                    spin(i * 7919 % 13);
                    Ok::<_, String>(i * 2)
                })
                .unwrap();
            let results: Vec<_> = run.collect();
            assert_eq!(ids(results.iter().cloned()), (0..2_000).collect::<Vec<_>>());
            assert!(
                results
                    .iter()
                    .all(|r| r.value() == Some(&(2 * r.id().as_u64().unwrap())))
            );
        }
    });
}

#[test]
fn the_default_is_completion_order_and_with_order_derives_a_pool() {
    let pool = WorkerPool::new(2).unwrap();
    assert_eq!(pool.order(), Order::Completion);
    let ordered = pool.with_order(Order::Input).with_order_window(32);
    assert_eq!(
        (ordered.order(), ordered.order_window()),
        (Order::Input, 32)
    );
    assert_eq!(pool.order(), Order::Completion, "the original is unchanged");
    assert_eq!(pool.with_order_window(0).order_window(), 1, "0 counts as 1");
}

#[test]
fn a_slow_first_job_holds_the_window_full_and_no_job_more_is_taken_in() {
    const WINDOW: usize = 16;
    watchdog(|| {
        let pool = ordered_pool(4, WINDOW);
        let pulled = Arc::new(AtomicU64::new(0));
        let (release_tx, release_rx) = unbounded::<()>();
        let (finished_tx, finished_rx) = unbounded::<u64>();
        let input = {
            let pulled = pulled.clone();
            (0..10_000u64).map(move |i| {
                pulled.fetch_add(1, Ordering::SeqCst);
                Job::new(i, i)
            })
        };
        let mut run = pool
            .run(&Context::background(), input, move |_, i: u64| {
                if i == 0 {
                    release_rx.recv().unwrap();
                }
                finished_tx.send(i).unwrap();
                Ok::<_, String>(i)
            })
            .unwrap();
        // Every job in the window but the first finishes...
        for _ in 1..WINDOW {
            finished_rx
                .recv_timeout(SOON)
                .expect("a job in the window finishes");
        }
        // ...and then nothing more is taken in, nor does anything come out.
        assert!(
            finished_rx.recv_timeout(QUIET).is_err(),
            "a job beyond the window ran"
        );
        assert_eq!(pulled.load(Ordering::SeqCst), WINDOW as u64);
        assert!(run.try_next().is_err(), "a result overtook job 0");
        release_tx.send(()).unwrap();
        let results: Vec<_> = run.by_ref().collect();
        assert_eq!(ids(results), (0..10_000).collect::<Vec<_>>());
        assert_eq!(run.wait().counts.succeeded, 10_000);
    });
}

#[test]
fn a_submitter_run_hands_results_out_in_the_order_jobs_were_accepted() {
    watchdog(|| {
        let pool = ordered_pool(4, 64);
        let (submitter, run) = pool
            .start(&Context::background(), |_, i: u64| {
                spin(i % 5);
                Ok::<_, String>(i)
            })
            .unwrap();
        let feeder = std::thread::spawn(move || {
            for i in 0..3_000u64 {
                submitter.submit(Job::new(i, i)).unwrap();
            }
        });
        let got = ids(run);
        feeder.join().unwrap();
        assert_eq!(got, (0..3_000).collect::<Vec<_>>());
    });
}

#[test]
fn try_submit_on_a_full_window_gives_the_job_back() {
    watchdog(|| {
        let pool = ordered_pool(1, 2);
        let (release_tx, release_rx) = unbounded::<()>();
        let (submitter, run) = pool
            .start(&Context::background(), move |_, i: u64| {
                if i == 0 {
                    release_rx.recv().unwrap();
                }
                Ok::<_, String>(i)
            })
            .unwrap();
        submitter.try_submit(Job::new(0u64, 0)).unwrap();
        submitter.try_submit(Job::new(1u64, 1)).unwrap();
        let refused = submitter.try_submit(Job::new(2u64, 2)).unwrap_err();
        assert!(refused.is_full(), "{refused:?}");
        let timed_out = submitter
            .submit_timeout(refused.into_inner(), QUIET)
            .unwrap_err();
        assert!(timed_out.is_timeout(), "{timed_out:?}");
        release_tx.send(()).unwrap();
        // Handing out job 0's result frees its place in the window.
        let mut run = run;
        assert_eq!(run.next().unwrap().id().as_u64(), Some(0));
        submitter.submit(timed_out.into_inner()).unwrap();
        drop(submitter);
        assert_eq!(ids(run), [1, 2]);
    });
}

#[test]
fn after_a_cancel_the_results_that_exist_still_come_in_order() {
    watchdog(|| {
        let pool = ordered_pool(4, 256);
        let ctx = Context::with_cancel(&Context::background());
        let jobs = (0..100_000u64).map(|i| Job::new(i, i));
        let mut run = pool
            .run(&ctx, jobs, |_, i: u64| {
                spin(i % 3);
                Ok::<_, String>(i)
            })
            .unwrap();
        let mut got = ids((&mut run).take(500));
        ctx.cancel();
        got.extend(ids(&mut run));
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "out of order after a cancel"
        );
        assert_eq!(&got[..500], (0..500).collect::<Vec<_>>());
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        let mut all = got;
        let unstarted: Vec<u64> = summary
            .unstarted
            .iter()
            .map(|j| j.id().as_u64().unwrap())
            .collect();
        assert!(
            unstarted.windows(2).all(|w| w[0] < w[1]),
            "unstarted jobs come back in order"
        );
        all.extend(unstarted);
        all.sort_unstable();
        assert_eq!(
            all,
            (0..summary.counts.submitted).collect::<Vec<_>>(),
            "each job once"
        );
    });
}

#[test]
fn panics_and_failures_keep_their_places() {
    quiet_test_panics();
    watchdog(|| {
        let pool = ordered_pool(3, 8);
        let jobs = (0..300u64).map(|i| Job::new(i, i));
        let run = pool
            .run(&Context::background(), jobs, |_, i: u64| match i % 10 {
                3 => panic!("test panic {i}"),
                7 => Err(format!("{i} failed")),
                _ => Ok(i),
            })
            .unwrap();
        for (i, result) in (0u64..).zip(run) {
            assert_eq!(result.id().as_u64(), Some(i));
            match (i % 10, result.outcome()) {
                (3, Outcome::Panicked(_)) | (7, Outcome::Failed(_)) => {}
                (_, Outcome::Succeeded(v)) => assert_eq!(*v, i),
                (_, other) => panic!("job {i}: {other:?}"),
            }
        }
    });
}

#[test]
fn fold_and_for_each_read_in_order() {
    watchdog(|| {
        let pool = ordered_pool(2, 32);
        let run = pool
            .run(
                &Context::background(),
                (0..5_000u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, String>(i),
            )
            .unwrap();
        let (in_order, count) = run.fold((true, 0u64), |(ok, n), r| {
            (ok && r.id().as_u64() == Some(n), n + 1)
        });
        assert!(in_order);
        assert_eq!(count, 5_000);
    });
}

#[test]
fn a_fold_after_some_next_calls_goes_on_from_where_they_stopped() {
    watchdog(|| {
        let pool = ordered_pool(3, 64);
        let mut run = pool
            .run(
                &Context::background(),
                (0..3_000u64).map(|i| Job::new(i, i)),
                |_, i: u64| {
                    // Uneven: results arrive out of order, runs split.
                    spin(if i.is_multiple_of(97) { 200 } else { 0 });
                    Ok::<_, String>(i)
                },
            )
            .unwrap();
        let first: Vec<u64> = ids(run.by_ref().take(10));
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let rest = run.fold(Vec::new(), |mut rest, r| {
            rest.extend(r.id().as_u64());
            rest
        });
        assert_eq!(rest, (10..3_000).collect::<Vec<_>>());
    });
}

#[test]
fn try_next_and_next_timeout_keep_the_order() {
    watchdog(|| {
        let pool = ordered_pool(2, 4);
        let mut run = pool
            .run(
                &Context::background(),
                (0..200u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, String>(i),
            )
            .unwrap();
        let mut got = Vec::new();
        while got.len() < 200 {
            match run.try_next() {
                Ok(r) => got.push(r.id().as_u64().unwrap()),
                Err(_) => got.extend(
                    run.next_timeout(SOON)
                        .ok()
                        .map(|r| r.id().as_u64().unwrap()),
                ),
            }
        }
        assert_eq!(got, (0..200).collect::<Vec<_>>());
    });
}

#[test]
fn reading_the_raw_channel_under_a_small_window_never_stalls() {
    watchdog(|| {
        let pool = ordered_pool(2, 4);
        let run = pool
            .run(
                &Context::background(),
                (0..1_000u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, String>(i),
            )
            .unwrap();
        // Batches read off the channel give their places back when dropped.
        let seen: usize = run.results().iter().map(|batch| batch.len()).sum();
        assert_eq!(seen, 1_000);
    });
}

#[test]
fn results_the_reader_takes_from_the_workers_after_results_give_their_places_back() {
    watchdog(|| {
        let pool = ordered_pool(1, 8);
        let (gate_tx, gate) = unbounded::<()>();
        let (submitter, mut run) = pool
            .start(&Context::background(), move |ctx: &Context, i: u64| {
                if i >= 1_000 {
                    common::wait_at_gate(ctx, &gate); // the probes below
                } else if i % 25 == 24 {
                    // Slow: the reader, waiting, takes the results the
                    // worker holds rather than waiting for their batch.
                    std::thread::sleep(Duration::from_millis(20));
                } else {
                    spin(20);
                }
                Ok::<_, String>(i)
            })
            .unwrap();
        let _ = run.results(); // ends the reordering; nothing read from it
        let mut read = 0;
        for i in 0..300u64 {
            let mut job = Job::new(i, i);
            while let Err(full) = submitter.submit_timeout(job, Duration::from_millis(20)) {
                job = full.into_inner();
                while run.try_next().is_ok() {
                    read += 1;
                }
            }
        }
        while read < 300 {
            run.next_timeout(SOON).expect("a result");
            read += 1;
        }
        // Nothing in flight: the whole window is free again.
        let free = (1_000..1_008u64)
            .filter(|&i| submitter.try_submit(Job::new(i, i)).is_ok())
            .count();
        drop(gate_tx);
        drop(submitter);
        assert_eq!(run.count(), free);
        assert_eq!(free, 8, "places of the window of 8 free once all is read");
    });
}

#[test]
fn one_worker_starts_jobs_in_the_order_they_were_taken_in() {
    watchdog(|| {
        // A full batch sent while the worker looked at the open one used
        // to let the open (later) batch start first.
        for _ in 0..200 {
            let pool = ordered_pool(1, 3);
            let started = Arc::new(parking_lot::Mutex::new(Vec::new()));
            let log = started.clone();
            let run = pool
                .run(
                    &Context::background(),
                    (0..200u64).map(|i| Job::new(i, i)),
                    move |_, i: u64| {
                        log.lock().push(i);
                        Ok::<_, String>(i)
                    },
                )
                .unwrap();
            assert_eq!(run.count(), 200);
            assert_eq!(*started.lock(), (0..200).collect::<Vec<_>>());
        }
    });
}

#[test]
fn wait_under_a_small_window_drops_every_result_and_never_stalls() {
    watchdog(|| {
        let pool = ordered_pool(2, 3);
        let mut run = pool
            .run(
                &Context::background(),
                (0..2_000u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, String>(i),
            )
            .unwrap();
        assert_eq!(run.next().unwrap().id().as_u64(), Some(0));
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 2_000);
        assert_eq!(summary.discarded, 1_999);
    });
}

#[test]
fn wait_timeout_under_a_small_window_comes_back_and_can_wait_again() {
    watchdog(|| {
        let pool = ordered_pool(2, 2);
        let (release_tx, release_rx) = unbounded::<()>();
        let mut run = pool
            .run(
                &Context::background(),
                (0..100u64).map(|i| Job::new(i, i)),
                move |_, i: u64| {
                    if i == 1 {
                        release_rx.recv().unwrap();
                    }
                    Ok::<_, String>(i)
                },
            )
            .unwrap();
        assert_eq!(run.next().unwrap().id().as_u64(), Some(0));
        let run = run.wait_timeout(QUIET).unwrap_err();
        release_tx.send(()).unwrap();
        let summary = run.wait_timeout(SOON).unwrap();
        assert_eq!(summary.counts.succeeded, 100);
    });
}

#[test]
fn taking_the_raw_channel_ends_the_reordering_and_nothing_stalls() {
    watchdog(|| {
        let pool = ordered_pool(2, 4);
        let mut run = pool
            .run(
                &Context::background(),
                (0..100u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, String>(i),
            )
            .unwrap();
        // A batch read off the raw channel and dropped: its results never
        // reach the reordering, which must not wait for them.
        let raw = run.results().recv_timeout(SOON).unwrap().len();
        let rest = run.by_ref().count();
        assert_eq!(raw + rest, 100);
    });
}

#[test]
fn a_thread_that_submits_and_reads_in_turn_never_waits_for_itself() {
    watchdog(|| {
        let pool = ordered_pool(1, 4);
        let (submitter, mut run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, String>(i))
            .unwrap();
        let mut got = Vec::new();
        for i in 0..200u64 {
            // A full window waits for results this same thread hands out.
            while let Err(refused) = submitter.submit_timeout(Job::new(i, i), QUIET) {
                assert!(refused.is_timeout(), "{refused:?}");
                got.push(run.next().unwrap().id().as_u64().unwrap());
            }
            while let Ok(result) = run.try_next() {
                got.push(result.id().as_u64().unwrap());
            }
        }
        drop(submitter);
        got.extend(run.map(|r| r.id().as_u64().unwrap()));
        assert_eq!(got, (0..200).collect::<Vec<_>>());
    });
}

#[test]
fn a_run_given_back_by_wait_timeout_keeps_its_input_order() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(4)
            .order(Order::Input)
            .order_window(64)
            .max_batch(1)
            .build()
            .unwrap();
        let (release_tx, release_rx) = unbounded::<()>();
        let mut run = pool
            .run(
                &Context::background(),
                (0..2_000u64).map(|i| Job::new(i, i)),
                move |_, i: u64| {
                    if i == 100 {
                        let _ = release_rx.recv();
                    }
                    Ok::<_, String>(i)
                },
            )
            .unwrap();
        assert_eq!(run.next().unwrap().id().as_u64(), Some(0));
        let mut run = run.wait_timeout(QUIET).unwrap_err();
        release_tx.send(()).unwrap();
        let rest = ids(run.by_ref());
        assert!(
            rest.windows(2).all(|w| w[0] < w[1]),
            "out of order after wait_timeout"
        );
        assert_eq!(rest.last(), Some(&1_999));
    });
}
