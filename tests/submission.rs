//! Continuous submission through `Submitter`: many producer threads,
//! back-pressure (`try_submit`, `submit_timeout`, a blocking `submit`),
//! closing and cancelling, and the error values that give the job back.

mod common;

use std::collections::HashSet;
use std::error::Error;
use std::time::{Duration, Instant};

use common::watchdog;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use wpool::{
    Context, ContextError, Job, Run, SubmitError, SubmitTimeoutError, Submitter, TrySubmitError,
    WorkerPool,
};

const PRODUCERS: u64 = 8;
const PER_PRODUCER: u64 = 1000;

/// How long an operation that is expected to block gets to prove it does.
const BLOCKED: Duration = Duration::from_millis(50);
/// How long an operation that is expected to complete may take at most.
const SOON: Duration = Duration::from_secs(10);

#[test]
fn eight_producers_submit_while_the_main_thread_reads() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(4)
            .queue_capacity(64)
            .results_capacity(64)
            .build()
            .unwrap();
        let (submitter, mut run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i * 2))
            .unwrap();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|t| {
                let submitter = submitter.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        let id = t * PER_PRODUCER + i;
                        submitter.submit(Job::new(id, id)).unwrap();
                    }
                })
            })
            .collect();
        drop(submitter);

        let mut seen = HashSet::new();
        for result in &mut run {
            let id = result.id().as_u64().unwrap();
            assert_eq!(result.value(), Some(&(id * 2)));
            assert!(seen.insert(id), "id {id} seen twice");
        }
        for producer in producers {
            producer.join().unwrap();
        }
        assert_eq!(seen.len() as u64, PRODUCERS * PER_PRODUCER);
        assert_eq!(seen, (0..PRODUCERS * PER_PRODUCER).collect::<HashSet<_>>());
        let summary = run.wait();
        assert_eq!(summary.counts.submitted, PRODUCERS * PER_PRODUCER);
        assert_eq!(summary.counts.succeeded, PRODUCERS * PER_PRODUCER);
        assert_eq!(summary.discarded, 0);
    });
}

/// A one-worker run whose jobs wait for the gate (or a cancel) and report
/// that they started.
struct Blocked {
    submitter: Submitter<String>,
    run: Run<String, String, ContextError>,
    gate: Option<Sender<()>>,
    started: Receiver<String>,
}

fn blocked_run(queue_capacity: usize) -> Blocked {
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(queue_capacity)
        .build()
        .unwrap();
    let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
    let (started_tx, started_rx) = crossbeam_channel::unbounded();
    let (submitter, run) = pool
        .start(&Context::background(), move |ctx, args: String| {
            let _ = started_tx.send(args.clone());
            common::wait_at_gate(ctx, &gate_rx);
            ctx.check()?;
            Ok(args)
        })
        .unwrap();
    Blocked {
        submitter,
        run,
        gate: Some(gate_tx),
        started: started_rx,
    }
}

impl Blocked {
    /// Submits a job the worker takes and blocks in, then fills the queue
    /// of `capacity` jobs.
    fn fill(&self, capacity: u64) {
        self.submitter
            .submit(Job::new(0u64, "running".to_string()))
            .unwrap();
        assert_eq!(self.started.recv_timeout(SOON).unwrap(), "running");
        for i in 1..=capacity {
            self.submitter
                .try_submit(Job::new(i, format!("queued {i}")))
                .unwrap();
        }
    }
}

#[test]
fn try_submit_on_a_full_queue_is_full_and_gives_the_job_back() {
    watchdog(|| {
        let mut b = blocked_run(2);
        b.fill(2);
        assert_eq!(b.run.counts().queued, 2);
        let err = b
            .submitter
            .try_submit(Job::new(3u64, "extra".to_string()).with_kind("k"))
            .unwrap_err();
        assert!(err.is_full());
        assert!(!err.is_closed() && !err.is_cancelled());
        let job = err.into_inner();
        assert_eq!(job.id().as_u64(), Some(3));
        assert_eq!(job.descriptor().kind(), "k");
        assert_eq!(job.args(), "extra");
        // The refused job was not counted.
        assert_eq!(b.run.counts().submitted, 3);

        // Opening the gate drains the queue; everything submitted runs.
        drop(b.gate.take());
        drop(b.submitter);
        let mut args: Vec<String> = b.run.by_ref().map(|r| r.into_value().unwrap()).collect();
        args.sort();
        assert_eq!(args, ["queued 1", "queued 2", "running"]);
        let summary = b.run.wait();
        assert_eq!(summary.counts.submitted, 3);
        assert_eq!(summary.counts.succeeded, 3);
    });
}

#[test]
fn submit_timeout_on_a_full_queue_times_out_and_gives_the_job_back() {
    watchdog(|| {
        let mut b = blocked_run(1);
        b.fill(1);
        let started = Instant::now();
        let err = b
            .submitter
            .submit_timeout(Job::new(9u64, "late".to_string()), BLOCKED)
            .unwrap_err();
        assert!(started.elapsed() >= BLOCKED);
        assert!(err.is_timeout());
        assert_eq!(err.to_string(), "timed out submitting to a full job queue");
        let job = err.into_inner();
        assert_eq!((job.id().as_u64(), job.args().as_str()), (Some(9), "late"));

        let err = b
            .submitter
            .submit_deadline(job, Instant::now() + BLOCKED)
            .unwrap_err();
        assert!(err.is_timeout());
        let job = err.into_inner();

        // Once there is room, the same job goes through.
        drop(b.gate.take());
        b.submitter.submit_timeout(job, SOON).unwrap();
        drop(b.submitter);
        assert_eq!(b.run.by_ref().count(), 3);
        assert_eq!(b.run.wait().counts.succeeded, 3);
    });
}

#[test]
fn a_blocked_submit_wakes_with_cancelled_when_the_run_is_cancelled() {
    watchdog(|| {
        let b = blocked_run(1);
        b.fill(1);
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let submitter = b.submitter.clone();
        let blocked = std::thread::spawn(move || {
            let job = Job::new(77u64, "payload".to_string())
                .with_kind("blocked")
                .with_meta("key", "value");
            let _ = done_tx.send(submitter.submit(job));
        });
        // The queue is full, so the submission waits.
        assert_eq!(
            done_rx.recv_timeout(BLOCKED).unwrap_err(),
            RecvTimeoutError::Timeout
        );
        assert!(b.run.cancel());
        let submitted = done_rx
            .recv_timeout(SOON)
            .expect("cancel wakes the submitter");
        blocked.join().unwrap();
        let err = match submitted {
            Err(err) => err,
            Ok(()) => {
                // The regression this test guards: the slot freed by the
                // cancelled worker woke the submit, which then queued the
                // job into the cancelled run (it came back as unstarted).
                let summary = b.run.wait();
                let ids: Vec<_> = summary.unstarted.iter().map(|j| j.id().clone()).collect();
                panic!(
                    "submit returned Ok after the run was cancelled (it must be \
                     SubmitError::Cancelled); unstarted jobs: {ids:?}, counts: {:?}",
                    summary.counts
                );
            }
        };
        assert!(err.is_cancelled());
        assert!(!err.is_closed());
        let (descriptor, args) = err.into_inner().into_parts();
        assert_eq!(descriptor.id().as_u64(), Some(77));
        assert_eq!(descriptor.kind(), "blocked");
        assert_eq!(descriptor.metadata().get("key"), Some("value"));
        assert_eq!(args, "payload");

        let summary = b.run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(summary.counts.submitted, 2);
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.counts.unstarted, 1);
        assert_eq!(summary.unstarted.len(), 1);
        assert_eq!(summary.unstarted[0].args(), "queued 1");
    });
}

#[test]
fn a_blocked_submit_wakes_when_the_parent_context_is_cancelled_elsewhere() {
    watchdog(|| {
        let parent = Context::with_cancel(&Context::background());
        let pool = WorkerPool::builder()
            .workers(1)
            .queue_capacity(1)
            .build()
            .unwrap();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (submitter, run) = pool
            .start(&parent, move |ctx, i: u64| {
                let _ = started_tx.send(i);
                ctx.done().recv().ok();
                ctx.check()
            })
            .unwrap();
        submitter.submit(Job::new(0u64, 0)).unwrap();
        assert_eq!(started_rx.recv_timeout(SOON).unwrap(), 0);
        submitter.submit(Job::new(1u64, 1)).unwrap();

        let (result_tx, result_rx) = crossbeam_channel::bounded(1);
        let blocked = {
            let submitter = submitter.clone();
            std::thread::spawn(move || {
                let _ = result_tx.send(submitter.submit_timeout(Job::new(2u64, 2), SOON * 10));
            })
        };
        assert_eq!(
            result_rx.recv_timeout(BLOCKED).unwrap_err(),
            RecvTimeoutError::Timeout
        );
        assert!(!submitter.is_closed());
        let canceller = std::thread::spawn(move || parent.cancel());
        assert!(canceller.join().unwrap());
        let submitted = result_rx.recv_timeout(SOON).unwrap();
        blocked.join().unwrap();
        let err = match submitted {
            Err(err) => err,
            Ok(()) => {
                // The same regression as in the test above.
                let summary = run.wait();
                let ids: Vec<_> = summary.unstarted.iter().map(|j| j.id().clone()).collect();
                panic!(
                    "submit_timeout returned Ok after the run was cancelled (it must be \
                     SubmitTimeoutError::Cancelled); unstarted jobs: {ids:?}, counts: {:?}",
                    summary.counts
                );
            }
        };
        assert!(err.is_cancelled());
        assert_eq!(err.into_inner().into_args(), 2);
        assert!(submitter.is_closed());
        let summary = run.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(summary.counts.submitted, 2);
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.counts.unstarted, 1);
    });
}

#[test]
fn submitting_after_shutdown_is_closed() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let (submitter, run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        submitter.submit(Job::new(1u64, 1)).unwrap();
        assert!(run.shutdown());
        assert!(!run.shutdown(), "the second shutdown does nothing");
        assert!(submitter.is_closed());

        let err = submitter.submit(Job::new(2u64, 2)).unwrap_err();
        assert!(err.is_closed() && !err.is_cancelled());
        assert_eq!(err.to_string(), "submitting to a closed run");
        let err = submitter.try_submit(err.into_inner()).unwrap_err();
        assert!(err.is_closed());
        let err = submitter
            .submit_timeout(err.into_inner(), SOON)
            .unwrap_err();
        assert!(err.is_closed());
        let job = err.into_inner();
        assert_eq!(job.into_args(), 2);

        // The job queued before the shutdown still runs.
        let summary = run.wait();
        assert_eq!(summary.counts.submitted, 1);
        assert_eq!(summary.counts.succeeded, 1);
        assert_eq!(summary.discarded, 1);
        assert_eq!(summary.cancelled_by, None);

        // After the run ended the submitter still refuses, as closed.
        assert!(submitter.submit(Job::new(3u64, 3)).unwrap_err().is_closed());
    });
}

#[test]
fn submitting_after_cancel_is_cancelled() {
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let (submitter, run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        assert!(run.cancel());
        assert!(submitter.is_closed());
        assert!(
            submitter
                .submit(Job::new(1u64, 1))
                .unwrap_err()
                .is_cancelled()
        );
        let err = submitter.try_submit(Job::new(2u64, 2)).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.to_string(), "submitting to a cancelled run");
        let err = submitter
            .submit_deadline(Job::new(3u64, 3), Instant::now() + SOON)
            .unwrap_err();
        assert!(err.is_cancelled());
        let summary = run.wait();
        assert_eq!(summary.counts.submitted, 0);
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        // Dropping the run later changes nothing for the submitter.
        assert!(
            submitter
                .submit(Job::new(4u64, 4))
                .unwrap_err()
                .is_cancelled()
        );
    });
}

#[test]
fn a_dropped_run_refuses_submissions() {
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let (submitter, run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        drop(run);
        assert!(submitter.is_closed());
        let err = submitter.submit(Job::new(1u64, 1)).unwrap_err();
        // Dropping a run cancels it.
        assert!(err.is_cancelled());
        assert_eq!(err.into_inner().into_args(), 1);
    });
}

#[test]
fn the_run_ends_when_every_submitter_is_dropped() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let (first, mut run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let second = first.clone();
        let third = second.clone();
        for (i, s) in [&first, &second, &third].into_iter().enumerate() {
            s.submit(Job::new(i, i as u64)).unwrap();
        }
        let mut ids: Vec<u64> = (0..3)
            .map(|_| run.next_timeout(SOON).unwrap().into_value().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, [0, 1, 2]);

        drop(first);
        drop(second);
        // One clone is left, so the run waits for more jobs.
        assert_eq!(
            run.next_timeout(BLOCKED).unwrap_err(),
            wpool::NextTimeoutError::Timeout
        );
        assert!(!third.is_closed());
        assert!(!run.is_finished());
        third.submit(Job::new(3u64, 3)).unwrap();
        assert_eq!(run.next_timeout(SOON).unwrap().value(), Some(&3));

        drop(third);
        assert!(run.next().is_none());
        assert!(run.done().recv_timeout(SOON).is_err());
        assert!(run.is_finished());
        let summary = run.wait();
        assert_eq!(summary.counts.submitted, 4);
        assert_eq!(summary.counts.succeeded, 4);
        assert_eq!(summary.cancelled_by, None);
    });
}

#[test]
fn dropping_the_submitter_before_any_job_ends_an_empty_run() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let (submitter, mut run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        drop(submitter);
        assert!(run.next().is_none());
        let summary = run.wait();
        assert_eq!(summary.counts, wpool::Counts::default());
    });
}

fn assert_send_sync_clone<T: Send + Sync + Clone + std::fmt::Debug>(_: &T) {}

/// Not Debug, not Clone, not Sync: a job's arguments need none of these.
struct Opaque(std::cell::Cell<u32>);

#[test]
fn submitter_is_send_sync_clone_and_debug() {
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        let (submitter, run) = pool
            .start(&Context::background(), |_, o: Opaque| {
                Ok::<_, ()>(o.0.get())
            })
            .unwrap();
        assert_send_sync_clone(&submitter);
        assert!(format!("{submitter:?}").starts_with("Submitter"));
        let clone = submitter.clone();
        std::thread::spawn(move || clone.submit(Job::new(1u64, Opaque(std::cell::Cell::new(5)))))
            .join()
            .unwrap()
            .map_err(|e| e.to_string())
            .unwrap();
        drop(submitter);
        let values: Vec<u32> = run.filter_map(|r| r.into_value()).collect();
        assert_eq!(values, [5]);
    });
}

/// Has no Debug implementation.
#[derive(PartialEq, Eq)]
struct NoDebug(u32);

#[test]
fn error_values_give_the_job_back_and_describe_themselves() {
    let full = TrySubmitError::Full(NoDebug(1));
    let closed = TrySubmitError::Closed(NoDebug(2));
    let cancelled = TrySubmitError::Cancelled(NoDebug(3));
    assert!(full.is_full() && !full.is_closed() && !full.is_cancelled());
    assert!(closed.is_closed() && !closed.is_full() && !closed.is_cancelled());
    assert!(cancelled.is_cancelled() && !cancelled.is_full() && !cancelled.is_closed());
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert_eq!(format!("{closed:?}"), "Closed(..)");
    assert_eq!(format!("{cancelled:?}"), "Cancelled(..)");
    assert_eq!(full.to_string(), "submitting to a full job queue");
    assert_eq!(closed.to_string(), "submitting to a closed run");
    assert_eq!(cancelled.to_string(), "submitting to a cancelled run");
    assert!(full == TrySubmitError::Full(NoDebug(1)));
    assert!(full != TrySubmitError::Closed(NoDebug(1)));
    assert_eq!(full.into_inner().0, 1);
    assert_eq!(closed.into_inner().0, 2);
    assert_eq!(cancelled.into_inner().0, 3);

    let closed = SubmitError::Closed(NoDebug(4));
    let cancelled = SubmitError::Cancelled(NoDebug(5));
    assert!(closed.is_closed() && !closed.is_cancelled());
    assert!(cancelled.is_cancelled() && !cancelled.is_closed());
    assert_eq!(
        format!("{closed:?} {cancelled:?}"),
        "Closed(..) Cancelled(..)"
    );
    assert_eq!(closed.to_string(), "submitting to a closed run");
    assert_eq!(cancelled.to_string(), "submitting to a cancelled run");
    let boxed: Box<dyn Error> = Box::new(SubmitError::Closed(NoDebug(0)));
    assert!(boxed.source().is_none());
    assert!(TrySubmitError::from(closed).is_closed());
    let cancelled: SubmitTimeoutError<NoDebug> = cancelled.into();
    assert!(cancelled.is_cancelled());
    assert_eq!(cancelled.into_inner().0, 5);

    let timeout = SubmitTimeoutError::Timeout(NoDebug(6));
    assert!(timeout.is_timeout() && !timeout.is_closed() && !timeout.is_cancelled());
    assert_eq!(format!("{timeout:?}"), "Timeout(..)");
    assert_eq!(
        timeout.to_string(),
        "timed out submitting to a full job queue"
    );
    assert_eq!(
        SubmitTimeoutError::Closed(NoDebug(7)).to_string(),
        "submitting to a closed run"
    );
    assert!(SubmitTimeoutError::from(SubmitError::Closed(NoDebug(8))).is_closed());
    assert_eq!(timeout.into_inner().0, 6);
}

// Issue #9, item 6
/// A `start` run has no thread besides its workers (there used to be a
/// `-supervisor` thread that only waited to join them), and once the last
/// `Submitter` is dropped and every result read, none of its threads is
/// left, although the `Run` is still held.
#[test]
fn a_start_run_has_no_thread_besides_its_workers() {
    watchdog(|| {
        let pool = common::named_pool(3, "sbonly");
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
        let (submitter, mut run) = pool
            .start(&Context::background(), move |ctx, i: u64| {
                started_tx.send(i).unwrap();
                common::wait_at_gate(ctx, &gate_rx);
                Ok::<_, ()>(i)
            })
            .unwrap();
        for i in 0..3u64 {
            submitter.submit(Job::new(i, i)).unwrap();
        }
        // Three jobs running at once: every worker has run, so every
        // worker has taken its name (a thread names itself when it starts).
        for _ in 0..3 {
            started_rx
                .recv_timeout(SOON)
                .expect("the three jobs run at once");
        }
        assert_eq!(
            common::threads_named("sbonly"),
            3,
            "three workers and no other thread"
        );
        drop(gate_tx);
        drop(submitter);
        assert_eq!(run.by_ref().count(), 3);
        common::assert_threads_gone("sbonly");
        assert!(run.is_finished());
        assert_eq!(run.wait().counts.succeeded, 3);
    });
}
