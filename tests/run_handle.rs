//! `RunHandle`: stopping and watching a run from inside `for r in &mut run`
//! and from other threads, without borrowing the `Run`.

mod common;

use std::time::Duration;

use common::watchdog;
use crossbeam_channel::unbounded;
use wpool::{Context, ContextError, Job, WorkerPool};

const SOON: Duration = Duration::from_secs(10);

#[test]
fn a_cancel_inside_the_loop_stops_the_run_and_accounts_for_every_job() {
    watchdog(|| {
        let pool = WorkerPool::new(4).unwrap();
        let endless = (0u64..).map(|i| Job::new(i, i));
        let mut run = pool
            .run(&Context::background(), endless, |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let handle = run.handle();
        let mut read = 0u64;
        for _ in &mut run {
            read += 1;
            if read == 1_000 {
                assert!(handle.cancel(), "the first cancel cancels");
                assert!(!handle.cancel(), "a second one does not");
            }
        }
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(summary.counts.finished(), read);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
    });
}

#[test]
fn counts_drive_a_progress_bar_from_inside_the_loop() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0..5_000u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        let handle = run.handle();
        let mut last = 0;
        let mut read = 0;
        for _ in &mut run {
            read += 1;
            let finished = handle.counts().finished();
            assert!(finished >= last, "progress went backwards");
            assert!(finished >= read, "a result was read before it finished");
            last = finished;
        }
        assert_eq!(handle.counts().succeeded, 5_000);
        drop(run);
        assert!(handle.is_finished());
    });
}

#[test]
fn a_shutdown_from_a_handle_ends_a_submitter_run_whose_submitter_lives_on() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let (submitter, mut run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let handle = run.handle();
        for i in 0..10 {
            submitter.submit(Job::new(i, i)).unwrap();
        }
        let mut read = 0;
        for _ in &mut run {
            read += 1;
            if read == 1 {
                assert!(handle.shutdown());
            }
        }
        // The run ended with the submitter still alive, and every job
        // accepted before the shutdown ran.
        assert_eq!(read, 10);
        assert!(
            submitter
                .submit(Job::new(10u64, 10))
                .unwrap_err()
                .is_closed()
        );
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 10);
        assert_eq!(summary.counts.unstarted, 0);
    });
}

#[test]
fn a_shutdown_from_a_handle_stops_reading_the_input_and_runs_what_was_read() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0u64..).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        let handle = run.handle();
        let mut read = 0;
        for _ in &mut run {
            read += 1;
            if read == 100 {
                handle.shutdown();
            }
        }
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, None, "a shutdown is not a cancel");
        // At most the one job the feeder had pulled and was waiting to
        // queue comes back; every job queued ran.
        assert!(summary.counts.unstarted <= 1, "{:?}", summary.counts);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
        assert_eq!(summary.counts.succeeded, read);
    });
}

#[test]
fn a_handle_on_another_thread_cancels_a_blocked_run() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let (started_tx, started_rx) = unbounded();
        let run = pool
            .run(
                &Context::background(),
                (0..100u64).map(|i| Job::new(i, i)),
                move |ctx, _| {
                    let _ = started_tx.send(());
                    ctx.sleep(Duration::from_secs(60))
                },
            )
            .unwrap();
        let handle = run.handle();
        started_rx.recv_timeout(SOON).unwrap();
        let canceller = std::thread::spawn(move || handle.cancel());
        let summary = run.wait();
        assert!(canceller.join().unwrap());
        assert_eq!(summary.counts.succeeded, 0);
        assert_eq!(
            summary.counts.cancelled + summary.counts.unstarted,
            summary.counts.submitted
        );
    });
}

#[test]
fn a_handle_outlives_its_run_harmlessly() {
    let pool = WorkerPool::new(1).unwrap();
    let run = pool
        .run(
            &Context::background(),
            [Job::new(1u64, 1u64)],
            |_, i: u64| Ok::<_, ()>(i),
        )
        .unwrap();
    let handle = run.handle();
    let copy = handle.clone();
    assert_eq!(run.wait().counts.succeeded, 1);
    assert!(handle.is_finished());
    assert_eq!(copy.counts().succeeded, 1);
    // Cancelling a finished run's context cuts nothing short.
    handle.cancel();
    assert!(format!("{handle:?}").contains("RunHandle"));
}
