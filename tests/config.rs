//! Pool configuration: worker counts, capacities (including 0 and 1),
//! thread names, a failed thread start, and sharing one pool between runs.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{threads_named, watchdog};
use crossbeam_channel::RecvTimeoutError;
use wpool::{BuildError, Builder, Context, Counts, Job, WorkerPool};

const SOON: Duration = Duration::from_secs(10);
const BLOCKED: Duration = Duration::from_millis(50);

#[test]
fn zero_workers_is_an_error_not_a_panic() {
    assert_eq!(WorkerPool::new(0).unwrap_err(), BuildError::ZeroWorkers);
    let err = WorkerPool::builder()
        .workers(0)
        .queue_capacity(10)
        .thread_name("zero")
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::ZeroWorkers);
    assert_eq!(err.to_string(), "a worker pool needs at least one worker");
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.source().is_none());
    // A later call fixes the count.
    let pool = WorkerPool::builder().workers(0).workers(3).build().unwrap();
    assert_eq!(pool.workers(), 3);
}

#[test]
fn a_thread_name_with_a_nul_byte_is_an_error_not_a_panic_at_run() {
    let err = WorkerPool::builder()
        .thread_name("no\0pe")
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::NulInThreadName);
    assert_eq!(err.to_string(), "a thread name cannot hold a NUL byte");
    // Zero workers is reported first, and a later name fixes it.
    let both = WorkerPool::builder().workers(0).thread_name("a\0").build();
    assert_eq!(both.unwrap_err(), BuildError::ZeroWorkers);
    let fixed = WorkerPool::builder()
        .thread_name("a\0")
        .thread_name("ok")
        .build();
    assert!(fixed.is_ok());
}

#[test]
fn the_default_builder_has_at_least_one_worker() {
    let pool = Builder::default().build().unwrap();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(pool.workers(), cpus);
    assert_eq!(WorkerPool::builder().build().unwrap().workers(), cpus);
    let builder = WorkerPool::builder().workers(2).thread_name("dbg");
    let text = format!("{:?}", builder.clone());
    assert!(
        text.contains("workers: 2") && text.contains("\"dbg\""),
        "{text}"
    );
}

#[test]
fn one_worker_delivers_results_in_input_order() {
    watchdog(|| {
        let pool = WorkerPool::new(1).unwrap();
        for jobs in [1u64, 7, 500] {
            let run = pool
                .run(
                    &Context::background(),
                    (0..jobs).map(|i| Job::new(i, i)),
                    |_, i: u64| Ok::<_, ()>(i + 1000),
                )
                .unwrap();
            let values: Vec<u64> = run.map(|r| r.into_value().unwrap()).collect();
            assert_eq!(values, (1000..1000 + jobs).collect::<Vec<_>>());
        }
    });
}

#[test]
fn more_workers_than_jobs() {
    watchdog(|| {
        let pool = common::named_pool(16, "cfgmany");
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
        let job = move |ctx: &Context, i: u64| {
            let _ = started_tx.send(i);
            common::wait_at_gate(ctx, &gate_rx);
            Ok::<_, ()>(i * 10)
        };

        // A batch of three jobs on sixteen workers: all three run at once.
        let mut run = pool
            .run(
                &Context::background(),
                (0..3u64).map(|i| Job::new(i, i)),
                job.clone(),
            )
            .unwrap();
        let mut started: Vec<u64> = (0..3)
            .map(|_| started_rx.recv_timeout(SOON).unwrap())
            .collect();
        started.sort_unstable();
        assert_eq!(started, [0, 1, 2]);
        assert_eq!(run.counts().running, 3);
        drop(gate_tx);
        let mut values: Vec<u64> = run.by_ref().map(|r| r.into_value().unwrap()).collect();
        values.sort_unstable();
        assert_eq!(values, [0, 10, 20]);
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, 3);
        assert_eq!(summary.counts.submitted, 3);
    });
}

#[test]
fn each_worker_is_its_own_named_thread() {
    watchdog(|| {
        let pool = common::named_pool(16, "cfgsixt");
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
        let mut run = pool
            .run(
                &Context::background(),
                (0..16u64).map(|i| Job::new(i, i)),
                move |ctx, i: u64| {
                    let name = std::thread::current().name().unwrap_or("").to_owned();
                    let _ = started_tx.send(name);
                    common::wait_at_gate(ctx, &gate_rx);
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        // Sixteen jobs that wait for the gate are running at once, so each
        // is on its own worker.
        let names: HashSet<String> = (0..16)
            .map(|_| started_rx.recv_timeout(SOON).unwrap())
            .collect();
        let expected: HashSet<String> = (0..16).map(|i| format!("cfgsixt-{i}")).collect();
        assert_eq!(names, expected);
        // The sixteen workers, and the feeder until it has left.
        let threads = threads_named("cfgsixt");
        assert!((16..=17).contains(&threads), "{threads} threads");
        assert_eq!(run.counts().running, 16);
        drop(gate_tx);
        assert_eq!(run.by_ref().count(), 16);
        assert_eq!(run.wait().counts.succeeded, 16);
    });
}

#[test]
fn an_empty_job_list_ends_at_once() {
    watchdog(|| {
        let pool = WorkerPool::new(4).unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                Vec::<Job<u64>>::new(),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        assert!(run.next().is_none());
        assert!(run.done().recv_timeout(SOON).is_err(), "done closes");
        assert!(run.is_finished());
        assert_eq!(run.counts(), Counts::default());
        let summary = run.wait();
        assert_eq!(summary.counts, Counts::default());
        assert_eq!(summary.counts.finished(), 0);
        assert!(summary.unstarted.is_empty());
        assert_eq!(summary.cancelled_by, None);
        assert_eq!(summary.discarded, 0);
        assert!(summary.input_panic.is_none());
    });
}

/// Runs 1,000 jobs with the given capacities and checks every result.
fn run_with_capacities(workers: usize, queue: usize, results: usize) {
    let pool = WorkerPool::builder()
        .workers(workers)
        .queue_capacity(queue)
        .results_capacity(results)
        .build()
        .unwrap();
    let mut run = pool
        .run(
            &Context::background(),
            (0..1000u64).map(|i| Job::new(i, i)),
            |_, i: u64| {
                if i % 100 == 99 {
                    Err(format!("job {i}"))
                } else {
                    Ok(i * i)
                }
            },
        )
        .unwrap();
    let mut seen = HashSet::new();
    for result in &mut run {
        let id = result.id().as_u64().unwrap();
        assert!(
            seen.insert(id),
            "job {id} twice (queue {queue}, results {results})"
        );
        if id % 100 == 99 {
            assert_eq!(result.outcome().error(), Some(&format!("job {id}")));
        } else {
            assert_eq!(result.value(), Some(&(id * id)));
        }
    }
    assert_eq!(seen.len(), 1000, "queue {queue}, results {results}");
    let summary = run.wait();
    assert_eq!(summary.counts.succeeded, 990);
    assert_eq!(summary.counts.failed, 10);
    assert_eq!(summary.counts.submitted, 1000);
    assert_eq!(summary.discarded, 0);
}

#[test]
fn zero_capacities_still_complete_a_run() {
    watchdog(|| {
        run_with_capacities(3, 0, 0);
        run_with_capacities(1, 0, 0);
        run_with_capacities(2, 0, 16);
        run_with_capacities(2, 16, 0);
    });
}

#[test]
fn capacities_of_one_still_complete_a_run() {
    watchdog(|| {
        run_with_capacities(3, 1, 1);
        run_with_capacities(1, 1, 1);
        run_with_capacities(2, 1, 0);
        run_with_capacities(2, 0, 1);
    });
}

#[test]
fn zero_capacities_with_a_submitter() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(0)
            .results_capacity(0)
            .build()
            .unwrap();
        let (submitter, run) = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap();
        let producer = std::thread::spawn(move || {
            for i in 0..500u64 {
                submitter.submit(Job::new(i, i)).unwrap();
            }
        });
        let mut values: Vec<u64> = run.map(|r| r.into_value().unwrap()).collect();
        producer.join().unwrap();
        values.sort_unstable();
        assert_eq!(values, (0..500).collect::<Vec<_>>());
    });
}

#[test]
fn results_capacity_holds_workers_back_until_the_reader_reads() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(1)
            .results_capacity(2)
            .thread_name("cfgback")
            .build()
            .unwrap();
        let mut run = pool
            .run(
                &Context::background(),
                (0..10u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        // Nobody reads: the worker stops once two results wait, so the run
        // cannot finish.
        assert_eq!(
            run.done().recv_timeout(BLOCKED),
            Err(RecvTimeoutError::Timeout)
        );
        // Two results in the channel, and one more the worker holds while it
        // waits for room.
        let finished = run.counts().succeeded;
        assert!(
            finished <= 3,
            "{finished} jobs finished past a capacity of 2"
        );
        assert_eq!(run.by_ref().count(), 10);
        assert!(run.done().recv_timeout(SOON).is_err());
    });
}

#[test]
fn jobs_run_on_threads_with_the_configured_name() {
    watchdog(|| {
        let pool = common::named_pool(3, "cfgname");
        let input_thread = Arc::new(Mutex::new(None::<String>));
        let input = {
            let input_thread = input_thread.clone();
            (0..300u64).map(move |i| {
                if i == 0 {
                    *input_thread.lock().unwrap() =
                        std::thread::current().name().map(str::to_owned);
                }
                Job::new(i, i)
            })
        };
        let run = pool
            .run(&Context::background(), input, |_, _: u64| {
                Ok::<_, ()>(std::thread::current().name().unwrap_or("").to_owned())
            })
            .unwrap();
        let names: HashSet<String> = run.map(|r| r.into_value().unwrap()).collect();
        assert!(!names.is_empty());
        for name in &names {
            assert!(
                ["cfgname-0", "cfgname-1", "cfgname-2"].contains(&name.as_str()),
                "job ran on {name:?}"
            );
        }
        // The input is pulled on the feeder thread.
        assert_eq!(
            input_thread.lock().unwrap().as_deref(),
            Some("cfgname-feeder")
        );
    });
}

#[test]
fn the_default_thread_name_is_wpool() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let run = pool
            .run(&Context::background(), [Job::new(0u64, ())], |_, ()| {
                Ok::<_, ()>(std::thread::current().name().unwrap_or("").to_owned())
            })
            .unwrap();
        let names: Vec<String> = run.map(|r| r.into_value().unwrap()).collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with("wpool-"), "{names:?}");
    });
}

/// An input that counts the jobs taken from it and records being dropped.
struct WatchedInput {
    taken: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

impl Iterator for WatchedInput {
    type Item = Job<u64>;

    fn next(&mut self) -> Option<Job<u64>> {
        let i = self.taken.fetch_add(1, Ordering::SeqCst) as u64;
        Some(Job::new(i, i))
    }
}

impl Drop for WatchedInput {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_thread_start_failure_is_an_error_and_leaves_no_thread() {
    watchdog(|| {
        // No machine here grants a 1 TiB stack (the largest a pool may ask for).
        let pool = WorkerPool::builder()
            .workers(2)
            .thread_name("cfgbig")
            .stack_size(wpool::MAX_STACK_SIZE)
            .build()
            .unwrap();
        let taken = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicBool::new(false));
        let input = WatchedInput {
            taken: taken.clone(),
            dropped: dropped.clone(),
        };
        let err = pool
            .run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
            .unwrap_err();
        // The first thread already failed to start, so none ever ran.
        assert_eq!(err.thread_name(), "cfgbig-0");
        common::assert_threads_gone("cfgbig");
        assert_eq!(
            err.to_string(),
            format!("failed to start thread {:?}", err.thread_name())
        );
        let source = std::error::Error::source(&err).expect("an io error as the source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        let io = err.into_io_error();
        assert!(io.raw_os_error().is_some(), "{io:?}");
        // No job was taken from the input, and the input was not leaked.
        assert_eq!(taken.load(Ordering::SeqCst), 0);
        assert!(dropped.load(Ordering::SeqCst));

        // The same for a continuous run.
        let err = pool
            .start(&Context::background(), |_, i: u64| Ok::<_, ()>(i))
            .unwrap_err();
        assert!(err.thread_name().starts_with("cfgbig-"));
        common::assert_threads_gone("cfgbig");

        // And for a boxed run.
        let jobs = vec![Job::from_fn(1u64, |_| Ok::<_, ()>(1))];
        assert!(pool.run_boxed(&Context::background(), jobs).is_err());
        common::assert_threads_gone("cfgbig");
    });
}

fn assert_pool_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>(_: &T) {}

#[test]
fn the_pool_is_shared_by_concurrent_runs() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(128)
            .thread_name("cfgshare")
            .build()
            .unwrap();
        assert_pool_traits(&pool);
        let text = format!("{pool:?}");
        for part in [
            "WorkerPool",
            "workers: 2",
            "queue_capacity: 128",
            "\"cfgshare\"",
        ] {
            assert!(text.contains(part), "{text}");
        }

        // A run whose jobs block does not stop a second run of the same pool.
        let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let mut blocked = pool
            .run(
                &Context::background(),
                (0..2u64).map(|i| Job::new(i, i)),
                move |ctx, i: u64| {
                    let _ = started_tx.send(i);
                    common::wait_at_gate(ctx, &gate_rx);
                    Ok::<_, ()>(i)
                },
            )
            .unwrap();
        started_rx.recv_timeout(SOON).unwrap();
        started_rx.recv_timeout(SOON).unwrap();
        // Two workers, and the feeder until it has left.
        let threads = threads_named("cfgshare");
        assert!((2..=3).contains(&threads), "{threads} threads");
        let other = pool
            .run(
                &Context::background(),
                (0..100u64).map(|i| Job::new(i, i)),
                |_, i: u64| Ok::<_, ()>(i),
            )
            .unwrap();
        assert_eq!(other.map(|r| r.into_value().unwrap()).sum::<u64>(), 4950);
        assert_eq!(blocked.try_next().unwrap_err(), wpool::TryNextError::Empty);
        drop(gate_tx);
        assert_eq!(blocked.by_ref().count(), 2);

        // Clones of the pool start runs from several threads at once.
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let jobs = (0..250u64).map(move |i| Job::new(t * 1000 + i, i));
                    let run = pool
                        .run(&Context::background(), jobs, move |_, i: u64| {
                            Ok::<_, ()>(t * 1000 + i)
                        })
                        .unwrap();
                    let mut ok = 0;
                    for result in run {
                        assert_eq!(result.value(), result.id().as_u64().as_ref());
                        ok += 1;
                    }
                    ok
                })
            })
            .collect();
        let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, 1000);
    });
}

// Issue #9, defect 3
/// A worker count or stack size that no run could start is refused by
/// `build()` as a value, before any run: `workers(usize::MAX)` used to
/// build and then panic in `run` (a capacity overflow), and `1 << 40`
/// workers aborted the process allocating for them.
#[test]
fn absurd_worker_counts_and_stack_sizes_are_build_errors() {
    use wpool::{MAX_STACK_SIZE, MAX_WORKERS};
    for workers in [usize::MAX, 1 << 40, MAX_WORKERS + 1] {
        let built = std::panic::catch_unwind(|| WorkerPool::builder().workers(workers).build());
        assert_eq!(
            built.expect("build() does not panic").unwrap_err(),
            BuildError::TooManyWorkers {
                requested: workers,
                max: MAX_WORKERS
            },
            "{workers} workers"
        );
    }
    assert_eq!(
        WorkerPool::new(usize::MAX).unwrap_err(),
        BuildError::TooManyWorkers {
            requested: usize::MAX,
            max: MAX_WORKERS
        }
    );
    for bytes in [usize::MAX, MAX_STACK_SIZE + 1] {
        let built = std::panic::catch_unwind(|| WorkerPool::builder().stack_size(bytes).build());
        assert_eq!(
            built.expect("build() does not panic").unwrap_err(),
            BuildError::StackTooLarge {
                requested: bytes,
                max: MAX_STACK_SIZE
            },
            "a stack of {bytes} bytes"
        );
    }
    // The limits themselves build (the pools are not run).
    let pool = WorkerPool::builder()
        .workers(MAX_WORKERS)
        .stack_size(MAX_STACK_SIZE)
        .build()
        .expect("MAX_WORKERS workers with MAX_STACK_SIZE stacks build");
    assert_eq!(pool.workers(), MAX_WORKERS);
}
