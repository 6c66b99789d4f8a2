//! `Context`: background, cancel, timeouts and deadlines, parent and child,
//! the `done` channel, `sleep` and `check`, and the context a job is given.

mod common;

use std::time::{Duration, Instant};

use common::{PATIENCE, QUIET, assert_threads_gone, watchdog};
use crossbeam_channel::{RecvTimeoutError, TryRecvError, unbounded};
use wpool::{Context, ContextError, Job, Outcome};

/// A timeout no test waits for.
const LONG: Duration = Duration::from_secs(600);

fn assert_live(ctx: &Context) {
    assert!(!ctx.is_cancelled());
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.check(), Ok(()));
    assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Empty));
}

fn assert_ended(ctx: &Context, why: ContextError) {
    assert!(ctx.is_cancelled());
    assert_eq!(ctx.err(), Some(why));
    assert_eq!(ctx.check(), Err(why));
    assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn background_is_never_cancelled() {
    watchdog(|| {
        for ctx in [Context::background(), Context::default()] {
            assert!(!ctx.cancel(), "cancel does nothing on a background context");
            assert!(!ctx.cancel());
            assert_live(&ctx);
            assert_eq!(ctx.deadline(), None);
            assert_eq!(
                ctx.done().recv_timeout(QUIET),
                Err(RecvTimeoutError::Timeout)
            );
            assert_eq!(ctx.sleep(Duration::from_millis(1)), Ok(()));
        }
    });
}

#[test]
fn with_cancel_is_cancelled_once() {
    let ctx = Context::with_cancel(&Context::background());
    assert_live(&ctx);
    assert_eq!(ctx.deadline(), None);
    assert!(ctx.cancel(), "the first cancel cancels");
    assert!(!ctx.cancel(), "a second cancel does not");
    assert_ended(&ctx, ContextError::Cancelled);
}

#[test]
fn err_tells_a_cancel_from_a_deadline() {
    let cancelled = Context::with_timeout(&Context::background(), LONG);
    assert!(cancelled.cancel());
    assert_ended(&cancelled, ContextError::Cancelled);

    let expired = Context::with_deadline(&Context::background(), Instant::now());
    assert_eq!(expired.err(), Some(ContextError::DeadlineExceeded));
    assert!(!expired.cancel(), "a context ends only once");
    assert_ended(&expired, ContextError::DeadlineExceeded);
    assert_ne!(ContextError::Cancelled, ContextError::DeadlineExceeded);
}

#[test]
fn done_disconnects_when_cancelled_from_another_thread() {
    watchdog(|| {
        let ctx = Context::with_cancel(&Context::background());
        let (returned_tx, returned_rx) = unbounded();
        let waiter = {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let received = ctx.done().recv();
                returned_tx.send(()).unwrap();
                received
            })
        };
        assert_eq!(
            returned_rx.recv_timeout(QUIET),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(ctx.cancel());
        returned_rx
            .recv_timeout(PATIENCE)
            .expect("done disconnects on cancel");
        assert!(
            waiter.join().unwrap().is_err(),
            "nothing is ever sent on done"
        );
    });
}

#[test]
fn done_disconnects_when_the_deadline_passes() {
    watchdog(|| {
        let timeout = Duration::from_millis(30);
        let start = Instant::now();
        let ctx = Context::with_timeout(&Context::background(), timeout);
        // Nobody calls err(): the deadline alone has to close done.
        assert_eq!(
            ctx.done().recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected)
        );
        assert!(
            start.elapsed() >= timeout,
            "done closed before the deadline"
        );
        assert_ended(&ctx, ContextError::DeadlineExceeded);
    });
}

#[test]
fn a_parent_cancel_reaches_child_and_grandchild() {
    let parent = Context::with_cancel(&Context::background());
    let child = Context::with_cancel(&parent);
    let grandchild = Context::with_timeout(&child, LONG);
    assert_live(&grandchild);
    assert!(parent.cancel());
    assert_ended(&parent, ContextError::Cancelled);
    assert_ended(&child, ContextError::Cancelled);
    assert_ended(&grandchild, ContextError::Cancelled);
    assert!(!child.cancel(), "the child was already cancelled");
}

#[test]
fn a_parent_deadline_reaches_the_child_with_its_reason() {
    watchdog(|| {
        let parent = Context::with_timeout(&Context::background(), Duration::from_millis(20));
        let child = Context::with_cancel(&parent);
        assert_eq!(
            child.deadline(),
            parent.deadline(),
            "the child inherits the deadline"
        );
        assert_eq!(
            child.done().recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_ended(&child, ContextError::DeadlineExceeded);
        assert_ended(&parent, ContextError::DeadlineExceeded);
    });
}

#[test]
fn a_child_cancel_never_reaches_its_parent_or_siblings() {
    let parent = Context::with_cancel(&Context::background());
    let child = Context::with_cancel(&parent);
    let sibling = Context::with_cancel(&parent);
    let grandchild = Context::with_cancel(&child);
    assert!(child.cancel());
    assert_ended(&child, ContextError::Cancelled);
    assert_ended(&grandchild, ContextError::Cancelled);
    assert_live(&parent);
    assert_live(&sibling);

    // A child whose deadline passes does not end its parent either.
    let expired = Context::with_timeout(&parent, Duration::ZERO);
    assert_eq!(expired.err(), Some(ContextError::DeadlineExceeded));
    assert_live(&parent);
    assert_live(&sibling);
}

#[test]
fn a_child_of_an_ended_parent_starts_ended_with_the_same_reason() {
    let cancelled = Context::with_cancel(&Context::background());
    cancelled.cancel();
    assert_ended(&Context::with_cancel(&cancelled), ContextError::Cancelled);
    assert_ended(
        &Context::with_timeout(&cancelled, LONG),
        ContextError::Cancelled,
    );
    assert_ended(
        &Context::with_deadline(&cancelled, Instant::now() + LONG),
        ContextError::Cancelled,
    );

    let expired = Context::with_timeout(&Context::background(), Duration::ZERO);
    assert_eq!(expired.err(), Some(ContextError::DeadlineExceeded));
    let child = Context::with_cancel(&expired);
    assert_ended(&child, ContextError::DeadlineExceeded);
    assert!(!child.cancel(), "an ended child cannot be cancelled again");
    assert_eq!(
        child.err(),
        Some(ContextError::DeadlineExceeded),
        "the reason never changes"
    );
}

#[test]
fn a_childs_deadline_is_the_earlier_of_its_own_and_its_parents() {
    let now = Instant::now();
    let soon = now + Duration::from_secs(60);
    let later = now + Duration::from_secs(120);
    let parent = Context::with_deadline(&Context::background(), soon);
    assert_eq!(parent.deadline(), Some(soon));
    assert_eq!(
        Context::with_deadline(&parent, later).deadline(),
        Some(soon)
    );
    let earlier = now + Duration::from_secs(30);
    assert_eq!(
        Context::with_deadline(&parent, earlier).deadline(),
        Some(earlier)
    );
    assert_eq!(Context::with_cancel(&parent).deadline(), Some(soon));
    assert_eq!(Context::with_timeout(&parent, LONG).deadline(), Some(soon));
    let timeout = Context::with_timeout(&parent, Duration::from_secs(1))
        .deadline()
        .unwrap();
    assert!(timeout < soon);
    assert!(timeout >= now + Duration::from_secs(1));
    // A timeout too large for an Instant never expires.
    assert_eq!(
        Context::with_timeout(&Context::background(), Duration::MAX).deadline(),
        None
    );
    assert_eq!(
        Context::with_timeout(&parent, Duration::MAX).deadline(),
        Some(soon)
    );
}

#[test]
fn with_timeout_zero_is_immediately_deadline_exceeded() {
    watchdog(|| {
        let ctx = Context::with_timeout(&Context::background(), Duration::ZERO);
        assert!(ctx.is_cancelled());
        assert_ended(&ctx, ContextError::DeadlineExceeded);
        assert_eq!(ctx.sleep(LONG), Err(ContextError::DeadlineExceeded));

        // Its done channel closes without anyone asking err() first.
        let untouched = Context::with_timeout(&Context::background(), Duration::ZERO);
        assert_eq!(
            untouched.done().recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(untouched.err(), Some(ContextError::DeadlineExceeded));
    });
}

#[test]
fn a_deadline_already_past_ends_the_context_at_creation() {
    watchdog(|| {
        let background = Context::background();
        // Every time, not only when the timer thread happens to be quick:
        // done is disconnected before anyone has asked err().
        for _ in 0..1000 {
            for ctx in [
                Context::with_deadline(&background, Instant::now() - Duration::from_millis(1)),
                Context::with_deadline(&background, Instant::now()),
                Context::with_timeout(&background, Duration::ZERO),
            ] {
                assert_eq!(
                    ctx.done().try_recv(),
                    Err(TryRecvError::Disconnected),
                    "done at creation"
                );
                assert_ended(&ctx, ContextError::DeadlineExceeded);
                assert!(!ctx.cancel(), "a context ends only once");
                assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
            }
        }
    });
}

#[test]
fn a_child_of_a_done_parent_is_done_at_creation() {
    watchdog(|| {
        let cancelled = Context::with_cancel(&Context::background());
        assert!(cancelled.cancel());
        let expired = Context::with_deadline(
            &Context::background(),
            Instant::now() - Duration::from_millis(1),
        );
        for (parent, why) in [
            (&cancelled, ContextError::Cancelled),
            (&expired, ContextError::DeadlineExceeded),
        ] {
            for child in [
                Context::with_cancel(parent),
                Context::with_timeout(parent, LONG),
                Context::with_deadline(parent, Instant::now() + LONG),
                // Ended already, the parent's reason is the child's.
                Context::with_timeout(parent, Duration::ZERO),
            ] {
                assert_eq!(
                    child.done().try_recv(),
                    Err(TryRecvError::Disconnected),
                    "done at creation"
                );
                assert_ended(&child, why);
            }
        }

        // A parent whose deadline passed after it was made, and that nobody
        // has asked err() of since: its child is done at creation all the
        // same, and the parent with it.
        for _ in 0..100 {
            let parent = Context::with_timeout(&Context::background(), Duration::from_millis(1));
            let deadline = parent.deadline().expect("a deadline");
            while Instant::now() < deadline {
                std::hint::spin_loop();
            }
            let child = Context::with_cancel(&parent);
            assert_eq!(
                child.done().try_recv(),
                Err(TryRecvError::Disconnected),
                "done at creation"
            );
            assert_ended(&child, ContextError::DeadlineExceeded);
            assert_ended(&parent, ContextError::DeadlineExceeded);
        }
    });
}

#[test]
fn sleep_returns_early_when_cancelled_from_another_thread() {
    watchdog(|| {
        let ctx = Context::with_cancel(&Context::background());
        let (sleeping_tx, sleeping_rx) = unbounded();
        let sleeper = {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                sleeping_tx.send(()).unwrap();
                let start = Instant::now();
                (ctx.sleep(LONG), start.elapsed())
            })
        };
        sleeping_rx
            .recv_timeout(PATIENCE)
            .expect("the sleeper starts");
        assert!(ctx.cancel());
        let (slept, elapsed) = sleeper.join().unwrap();
        assert_eq!(slept, Err(ContextError::Cancelled));
        assert!(elapsed < PATIENCE, "slept {elapsed:?}");
    });
}

#[test]
fn sleep_sleeps_while_live_and_stops_at_the_deadline() {
    watchdog(|| {
        let ctx = Context::with_cancel(&Context::background());
        let nap = Duration::from_millis(5);
        let start = Instant::now();
        assert_eq!(ctx.sleep(nap), Ok(()));
        assert!(start.elapsed() >= nap);

        let timeout = Duration::from_millis(20);
        let start = Instant::now();
        let ctx = Context::with_timeout(&Context::background(), timeout);
        assert_eq!(ctx.sleep(LONG), Err(ContextError::DeadlineExceeded));
        assert!(start.elapsed() >= timeout);
    });
}

#[test]
fn check_is_ok_until_the_context_ends() {
    fn step(ctx: &Context, n: u32) -> Result<u32, ContextError> {
        ctx.check()?;
        Ok(n + 1)
    }
    let ctx = Context::with_cancel(&Context::background());
    assert_eq!(step(&ctx, 1), Ok(2));
    ctx.cancel();
    assert_eq!(step(&ctx, 1), Err(ContextError::Cancelled));
    let expired = Context::with_timeout(&Context::background(), Duration::ZERO);
    assert_eq!(step(&expired, 1), Err(ContextError::DeadlineExceeded));
}

#[test]
fn a_context_is_send_sync_and_clone_and_clones_share_their_state() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Context>();

    let ctx = Context::with_cancel(&Context::background());
    let clone = ctx.clone();
    let child = Context::with_cancel(&ctx);
    assert!(clone.cancel());
    assert_ended(&ctx, ContextError::Cancelled);
    assert_ended(&child, ContextError::Cancelled);
    assert!(!ctx.cancel(), "a clone is the same context");
}

#[test]
fn a_job_is_given_the_runs_context() {
    watchdog(|| {
        let pool = common::named_pool(1, "xjob");
        let parent = Context::with_timeout(&Context::background(), LONG);
        let (ctx_tx, ctx_rx) = unbounded();
        let mut run = pool
            .run(&parent, [Job::new(1u64, ())], move |ctx, ()| {
                ctx_tx.send(ctx.clone()).unwrap();
                let _ = ctx.done().recv();
                Err::<(), _>(ctx.err())
            })
            .unwrap();
        let job_ctx: Context = ctx_rx.recv_timeout(PATIENCE).expect("the job starts");
        assert_live(&job_ctx);
        assert_eq!(job_ctx.deadline(), parent.deadline());
        assert_eq!(job_ctx.deadline(), run.context().deadline());

        // Cancelling the run's context is what the job sees.
        assert!(run.context().cancel());
        assert!(
            !job_ctx.cancel(),
            "the job's context is the run's, already cancelled"
        );
        assert_ended(&job_ctx, ContextError::Cancelled);
        let result = run
            .next_timeout(PATIENCE)
            .expect("the job returns once cancelled");
        assert_eq!(
            result.outcome(),
            &Outcome::Cancelled(Some(ContextError::Cancelled))
        );
        assert_live(&parent);
        assert_eq!(run.wait().cancelled_by, Some(ContextError::Cancelled));
        assert_threads_gone("xjob-");
    });
}

#[test]
fn cancelling_the_jobs_context_cancels_the_run() {
    watchdog(|| {
        let pool = common::named_pool(1, "xown");
        let mut run = pool
            .run(
                &Context::background(),
                (0..10u64).map(|i| Job::new(i, i)),
                |ctx, i: u64| {
                    if i == 0 {
                        // A job may cancel the whole run through its context.
                        assert!(ctx.cancel());
                    }
                    ctx.check().map(|()| i)
                },
            )
            .unwrap();
        let results: Vec<_> = (&mut run).collect();
        assert_eq!(results.len(), 1, "no job starts after the run is cancelled");
        assert_eq!(results[0].id().as_u64(), Some(0));
        assert_eq!(
            results[0].outcome(),
            &Outcome::Cancelled(ContextError::Cancelled)
        );
        assert!(run.context().is_cancelled());
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.counts.succeeded, 0);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
    });
}
