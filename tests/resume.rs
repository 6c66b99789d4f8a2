//! Resumable runs: the input a run never read comes back in
//! `Summary::unread_input`, so cancelling at any point and resuming until
//! done processes every item exactly once. Runs that are not resumable drop
//! their input as soon as they stop reading it.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::watchdog;
use crossbeam_channel::unbounded;
use wpool::{Context, Job, Order, WorkerPool};

type Input = Box<dyn Iterator<Item = Job<u64>> + Send>;

/// A small deterministic generator, so that a failure can be replayed.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs `items` to completion through runs cancelled after a random number
/// of results each, resuming from each summary; returns how often each
/// item ran and how many runs it took.
fn run_with_random_cancels(pool: &WorkerPool, items: u64, seed: u64) -> (HashMap<u64, u32>, u32) {
    let mut random = seed;
    let ran = Arc::new(parking_lot::Mutex::new(HashMap::new()));
    let mut input: Input = Box::new((0..items).map(|i| Job::new(i, i)));
    let mut runs = 0;
    loop {
        runs += 1;
        let ctx = Context::with_cancel(&Context::background());
        let ran_here = ran.clone();
        let mut run = pool
            .run(&ctx, input, move |_, i: u64| {
                *ran_here.lock().entry(i).or_insert(0) += 1;
                Ok::<_, ()>(i)
            })
            .unwrap();
        let stop_after = next_random(&mut random) % (items / 4 + 1);
        let mut read = (&mut run).take(stop_after as usize).count() as u64;
        ctx.cancel();
        read += (&mut run).count() as u64;
        let summary = run.wait();
        assert_eq!(summary.counts.finished(), read);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
        if summary.unstarted.is_empty() && summary.unread_input.is_empty() {
            break;
        }
        input = Box::new(summary.into_remaining());
    }
    let ran = std::mem::take(&mut *ran.lock());
    (ran, runs)
}

#[test]
fn cancelling_at_random_points_and_resuming_runs_every_item_exactly_once() {
    watchdog(|| {
        for (workers, order, seed) in [
            (1, Order::Completion, 1),
            (2, Order::Completion, 2),
            (4, Order::Input, 3),
            (8, Order::Completion, 4),
            (3, Order::Input, 5),
        ] {
            let pool = WorkerPool::builder()
                .workers(workers)
                .queue_capacity(64)
                .order(order)
                .resumable(true)
                .build()
                .unwrap();
            let (ran, runs) = run_with_random_cancels(&pool, 5_000, seed);
            assert_eq!(ran.len(), 5_000, "items missing (seed {seed})");
            assert!(
                ran.values().all(|&n| n == 1),
                "an item ran twice (seed {seed})"
            );
            assert!(runs > 1, "the cancels never cut a run short");
        }
    });
}

#[test]
fn an_endless_input_resumes_where_it_stopped() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap().resumable();
        let ctx = Context::with_cancel(&Context::background());
        let mut run = pool
            .run(&ctx, (0u64..).map(|i| Job::new(i, i)), |_, i: u64| {
                Ok::<_, ()>(i)
            })
            .unwrap();
        let _ = (&mut run).take(100).count();
        ctx.cancel();
        let summary = run.wait();
        let submitted = summary.counts.submitted;
        assert!(!summary.unread_input.is_empty());
        let next: Vec<u64> = summary
            .unread_input
            .take(3)
            .map(|job| job.id().as_u64().unwrap())
            .collect();
        assert_eq!(next, [submitted, submitted + 1, submitted + 2]);
    });
}

#[test]
fn an_input_read_to_its_end_leaves_nothing_unread() {
    let pool = WorkerPool::new(2).unwrap().resumable();
    let summary = pool
        .run(
            &Context::background(),
            (0..100u64).map(|i| Job::new(i, i)),
            |_, i: u64| Ok::<_, ()>(i),
        )
        .unwrap()
        .wait();
    assert!(summary.unread_input.is_empty());
    assert_eq!(summary.into_remaining().count(), 0);
}

#[test]
fn a_run_that_is_not_resumable_drops_its_input_as_soon_as_it_stops_reading() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let ctx = Context::with_cancel(&Context::background());
        let (alive_tx, alive_rx) = unbounded::<()>();
        let input = (0u64..).map(move |i| {
            let _keep = &alive_tx;
            Job::new(i, i)
        });
        let mut run = pool.run(&ctx, input, |_, i: u64| Ok::<_, ()>(i)).unwrap();
        let _ = (&mut run).take(10).count();
        ctx.cancel();
        // The input (and the sender it holds) is dropped before the run is
        // waited for: the channel disconnects.
        assert!(alive_rx.recv_timeout(Duration::from_secs(10)).is_err());
        let summary = run.wait();
        assert!(summary.unread_input.is_empty());
    });
}

#[test]
fn an_unread_input_not_taken_is_dropped_with_the_run() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap().resumable();
        let ctx = Context::with_cancel(&Context::background());
        let dropped = Arc::new(AtomicU64::new(0));
        struct Tail(Arc<AtomicU64>, u64);
        impl Iterator for Tail {
            type Item = Job<u64>;
            fn next(&mut self) -> Option<Job<u64>> {
                self.1 += 1;
                Some(Job::new(self.1, self.1))
            }
        }
        impl Drop for Tail {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let mut run = pool
            .run(&ctx, Tail(dropped.clone(), 0), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let _ = (&mut run).take(10).count();
        ctx.cancel();
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "kept for the summary");
        drop(run);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "dropped once, with the run"
        );
    });
}
