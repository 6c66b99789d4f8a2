//! The process-wide deadline timer thread ("wpool-timer") starts with the
//! first pending deadline and is gone again once no deadline is pending, so
//! timeouts never leak a thread. This file holds a single test: no other
//! test may create deadline contexts in this process while it counts
//! threads.

mod common;

use std::time::{Duration, Instant};

use common::{threads_named, watchdog};
use crossbeam_channel::RecvTimeoutError;
use wpool::{Context, ContextError, Job};

const TIMER: &str = "wpool-timer";
/// How long the timer thread may take to start or to leave.
const LIMIT: Duration = Duration::from_secs(5);
/// A timeout no test waits for.
const LONG: Duration = Duration::from_secs(600);

/// Waits, polling with a bounded deadline, until `expected` timer threads
/// are alive. A thread names itself once it runs, and leaves on its own
/// after its last deadline is gone, so neither is visible at once.
fn await_timer_threads(expected: usize, what: &str) {
    let give_up = Instant::now() + LIMIT;
    let tick = crossbeam_channel::never::<()>();
    loop {
        let alive = threads_named(TIMER);
        if alive == expected {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "{what}: {alive} timer threads after {LIMIT:?}, expected {expected}"
        );
        let _ = tick.recv_timeout(Duration::from_millis(1));
    }
}

#[test]
fn the_timer_thread_leaves_once_no_deadline_is_pending() {
    watchdog(|| {
        assert_eq!(threads_named(TIMER), 0, "no deadline yet");

        // Many pending deadlines share one thread; cancelling some and
        // dropping the others leaves none pending.
        let mut contexts: Vec<Context> = (0..1000)
            .map(|i| Context::with_timeout(&Context::background(), LONG + Duration::from_millis(i)))
            .collect();
        await_timer_threads(1, "pending deadlines");
        for ctx in contexts.iter().step_by(2) {
            assert!(ctx.cancel());
        }
        assert_eq!(
            threads_named(TIMER),
            1,
            "half the deadlines are still pending"
        );
        contexts.clear();
        await_timer_threads(0, "cancelled and dropped deadlines");

        // Deadlines that fire are no longer pending either, even while their
        // contexts are still alive.
        let expiring: Vec<Context> = (0..50u64)
            .map(|i| Context::with_timeout(&Context::background(), Duration::from_millis(i % 10)))
            .collect();
        for ctx in &expiring {
            assert_eq!(
                ctx.done().recv_timeout(LIMIT),
                Err(RecvTimeoutError::Disconnected)
            );
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        }
        await_timer_threads(0, "expired deadlines");

        // Children with deadlines of their own, under a parent with one.
        let parent = Context::with_timeout(&Context::background(), LONG);
        let children: Vec<Context> = (0..100)
            .map(|i| Context::with_timeout(&parent, Duration::from_secs(60 + i)))
            .collect();
        await_timer_threads(1, "nested deadlines");
        assert!(parent.cancel());
        assert!(
            children
                .iter()
                .all(|c| c.err() == Some(ContextError::Cancelled))
        );
        await_timer_threads(0, "deadlines of a cancelled parent and its children");
        drop((parent, children));

        // The thread starts again for a new deadline: only it can close the
        // done channel of a context nobody asks err() of.
        let again = Context::with_timeout(&Context::background(), Duration::from_millis(10));
        assert_eq!(
            again.done().recv_timeout(LIMIT),
            Err(RecvTimeoutError::Disconnected)
        );
        await_timer_threads(0, "a deadline that fired");

        // A run under a timeout leaves no timer thread behind either.
        let ctx = Context::with_timeout(&Context::background(), Duration::from_millis(20));
        let pool = common::named_pool(2, "tmr");
        let summary = pool
            .run(&ctx, (0..1000u64).map(|i| Job::new(i, i)), |ctx, _: u64| {
                ctx.sleep(Duration::from_millis(5))
            })
            .unwrap()
            .wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::DeadlineExceeded));
        common::assert_threads_gone("tmr-");
        drop(ctx);
        await_timer_threads(0, "a run under a timeout");
    });
}
