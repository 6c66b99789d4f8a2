//! Scoped runs (`WorkerPool::scope`, `Scope::run`): input and job functions
//! that borrow from the caller's stack, with the guarantees of a `Run`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, PATIENCE, watchdog};
use wpool::{Context, ContextError, Job, Outcome, WorkerPool};

#[test]
fn input_borrows_a_local_vec_and_the_job_function_a_local_hash_map() {
    watchdog(|| {
        let words: Vec<String> = ["apple", "pear", "plum", "fig"].map(String::from).to_vec();
        let prices: HashMap<&str, u32> = HashMap::from([("apple", 3), ("pear", 5), ("fig", 7)]);
        let pool = WorkerPool::new(3).unwrap();
        let mut priced: Vec<(u64, Option<u32>)> = pool.scope(|s| {
            let jobs = words.iter().enumerate().map(|(i, w)| Job::new(i, w));
            let run = s
                .run(&Context::background(), jobs, |_, word| {
                    prices.get(word.as_str()).copied().ok_or(word.len())
                })
                .unwrap();
            run.map(|r| (common::id_of(r.id()), r.into_value()))
                .collect()
        });
        priced.sort();
        assert_eq!(
            priced,
            [(0, Some(3)), (1, Some(5)), (2, None), (3, Some(7))]
        );
        assert_eq!(words.len(), 4, "the words are still the caller's");
    });
}

#[test]
fn input_borrows_a_local_hash_map_and_the_job_function_a_local_vec() {
    watchdog(|| {
        let stock: HashMap<String, usize> = (0..50).map(|i| (format!("item{i}"), i)).collect();
        let weights: Vec<u64> = (0..50).map(|i| i * 10).collect();
        let pool = WorkerPool::new(2).unwrap();
        let total: u64 = pool.scope(|s| {
            let jobs = stock.iter().map(|(name, &i)| Job::new(name.as_str(), i));
            let run = s
                .run(&Context::background(), jobs, |_, i: usize| {
                    Ok::<_, ()>(weights[i])
                })
                .unwrap();
            run.filter_map(|r| r.into_value()).sum()
        });
        assert_eq!(total, weights.iter().sum::<u64>());
    });
}

#[test]
fn results_borrow_from_the_callers_data_and_outlive_the_scope() {
    watchdog(|| {
        let lines: Vec<String> = (0..200).map(|i| format!("key{i}=value{i}")).collect();
        let pool = WorkerPool::new(4).unwrap();
        let mut values: Vec<&str> = pool.scope(|s| {
            let jobs = lines
                .iter()
                .enumerate()
                .map(|(i, l)| Job::new(i, l.as_str()));
            let run = s
                .run(&Context::background(), jobs, |_, line| {
                    line.split_once('=').map(|(_, value)| value).ok_or(line)
                })
                .unwrap();
            run.filter_map(|r| r.into_value()).collect()
        });
        assert_eq!(values.len(), 200);
        values.sort_by_key(|v| v["value".len()..].parse::<u32>().unwrap());
        assert_eq!(values[0], "value0");
        assert_eq!(values[199], "value199");
        // The results point into the caller's strings.
        let first = lines[0].as_str();
        assert!(std::ptr::eq(
            values[0].as_ptr(),
            first[first.len() - "value0".len()..].as_ptr()
        ));
    });
}

#[test]
fn a_cancel_mid_run_gives_the_unstarted_jobs_back_and_the_scope_returns() {
    watchdog(|| {
        let items: Vec<String> = (0..100).map(|i| format!("item {i}")).collect();
        let (started_tx, started) = crossbeam_channel::unbounded();
        let (fed_tx, fed) = crossbeam_channel::unbounded();
        let pool = WorkerPool::new(1).unwrap();
        let summary = pool.scope(|s| {
            let jobs = items.iter().enumerate().map(|(i, item)| {
                if i == 5 {
                    // Jobs 0 to 4 are queued or running by now.
                    fed_tx.send(()).unwrap();
                }
                Job::new(i, item)
            });
            let run = s
                .run(&Context::background(), jobs, |ctx, _item| {
                    started_tx.send(()).unwrap();
                    // The only worker stays here until the cancel.
                    let _ = ctx.done().recv_timeout(PATIENCE);
                    ctx.check()
                })
                .unwrap();
            started
                .recv_timeout(PATIENCE)
                .expect("the first job started");
            fed.recv_timeout(PATIENCE).expect("five jobs fed");
            assert!(run.cancel());
            run.wait()
        });
        assert_eq!(summary.counts.cancelled, 1);
        assert_eq!(summary.counts.succeeded, 0);
        assert!(summary.counts.unstarted >= 4, "{:?}", summary.counts);
        assert_eq!(summary.unstarted.len() as u64, summary.counts.unstarted);
        assert_eq!(
            summary.counts.finished() + summary.counts.unstarted,
            summary.counts.submitted
        );
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        // The jobs that come back still borrow the caller's items.
        for job in &summary.unstarted {
            let i = common::id_of(job.id()) as usize;
            assert!(std::ptr::eq(*job.args(), &items[i]));
        }
    });
}

#[test]
fn a_panicking_job_is_panicked_and_the_scope_returns_normally() {
    common::quiet_test_panics();
    watchdog(|| {
        let numbers: Vec<u32> = (0..20).collect();
        let pool = WorkerPool::new(2).unwrap();
        let (panics, succeeded) = pool.scope(|s| {
            let jobs = numbers.iter().map(|n| Job::new(*n, n));
            let run = s
                .run(&Context::background(), jobs, |_, n: &u32| {
                    assert!(*n != 7, "test panic: seven");
                    Ok::<_, ()>(*n)
                })
                .unwrap();
            let mut panics = Vec::new();
            let mut succeeded = 0;
            for result in run {
                match result.into_outcome() {
                    Outcome::Panicked(panic) => panics.push(panic.message().to_owned()),
                    Outcome::Succeeded(_) => succeeded += 1,
                    other => panic!("unexpected outcome {other:?}"),
                }
            }
            (panics, succeeded)
        });
        assert_eq!(panics, ["test panic: seven"]);
        assert_eq!(succeeded, 19);
    });
}

#[test]
fn dropping_a_scoped_run_early_cancels_it_and_joins_its_threads() {
    watchdog(|| {
        let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        let pulled = AtomicUsize::new(0);
        let pool = common::named_pool(3, "scdrop");
        let first: Vec<usize> = pool.scope(|s| {
            // Endless, and borrowing both the names and the counter.
            let endless = (0usize..).map(|i| {
                pulled.fetch_add(1, Ordering::SeqCst);
                Job::new(i, &names[i % names.len()])
            });
            let run = s
                .run(&Context::background(), endless, |_, name: &String| {
                    Ok::<_, ()>(name.len())
                })
                .unwrap();
            // Consumed by value: dropped after three results.
            let first = run.take(3).filter_map(|r| r.into_value()).collect();
            common::assert_threads_gone("scdrop");
            first
        });
        assert_eq!(first, [2, 2, 2]);
        assert!(pulled.load(Ordering::SeqCst) >= 3);
    });
}

#[test]
fn the_job_functions_state_is_dropped_by_the_time_the_run_is() {
    watchdog(|| {
        let drops = DropCounter::family();
        let offsets: Vec<u64> = vec![100, 200];
        let pool = common::named_pool(4, "scjoin");
        pool.scope(|s| {
            let counter = DropCounter::new(0, &drops);
            let offsets = &offsets;
            let run = s
                .run(
                    &Context::background(),
                    (0..1000u64).map(|i| Job::new(i, i)),
                    move |_, i: u64| {
                        let _keep = &counter; // the function owns the counter
                        Ok::<_, ()>(i + offsets[(i % 2) as usize])
                    },
                )
                .unwrap();
            let sum: u64 = run.filter_map(|r| r.into_value()).sum();
            // The run was consumed, so dropped: its workers, and the job
            // function with them, are gone.
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "the job function was dropped"
            );
            common::assert_threads_gone("scjoin");
            assert_eq!(sum, 999 * 1000 / 2 + 500 * 100 + 500 * 200);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1, "and only once");
    });
}

#[test]
fn the_wait_summary_counts_add_up() {
    watchdog(|| {
        let inputs: Vec<i64> = (-50..150).collect();
        let pool = WorkerPool::new(3).unwrap();
        let summary = pool.scope(|s| {
            let jobs = inputs.iter().enumerate().map(|(i, n)| Job::new(i, n));
            let mut run = s
                .run(&Context::background(), jobs, |_, n: &i64| {
                    if *n < 0 {
                        Err(format!("{n} is negative"))
                    } else {
                        Ok(n * 2)
                    }
                })
                .unwrap();
            let read = (&mut run).take(10).count();
            assert_eq!(read, 10);
            run.wait()
        });
        assert_eq!(summary.counts.submitted, 200);
        assert_eq!(summary.counts.succeeded, 150);
        assert_eq!(summary.counts.failed, 50);
        assert_eq!(summary.counts.finished(), 200);
        assert_eq!(summary.counts.unstarted, 0);
        assert_eq!(summary.discarded, 190);
        assert!(summary.unstarted.is_empty());
        assert_eq!(summary.cancelled_by, None);
        assert!(summary.input_panic.is_none());
    });
}

#[test]
fn several_runs_one_after_the_other_in_one_scope() {
    watchdog(|| {
        let numbers: Vec<u64> = (1..=100).collect();
        let pool = common::named_pool(2, "scseq");
        let sums: Vec<u64> = pool.scope(|s| {
            (1..=3u64)
                .map(|k| {
                    let jobs = numbers.iter().map(|n| Job::new(*n, n));
                    let run = s
                        .run(&Context::background(), jobs, move |_, n: &u64| {
                            Ok::<_, ()>(n * k)
                        })
                        .unwrap();
                    let sum = run.filter_map(|r| r.into_value()).sum();
                    common::assert_threads_gone("scseq");
                    sum
                })
                .collect()
        });
        assert_eq!(sums, [5050, 2 * 5050, 3 * 5050]);
    });
}

#[test]
fn two_runs_at_once_in_one_scope() {
    watchdog(|| {
        // A job of the first run waits for a job of the second: both must be
        // running at the same time.
        let (tx, rx) = crossbeam_channel::bounded::<u64>(0);
        let pool = WorkerPool::new(1).unwrap();
        let (waited, sent) = pool.scope(|s| {
            let waits = s
                .run(&Context::background(), [Job::new(1u64, ())], |_, ()| {
                    rx.recv_timeout(PATIENCE).map_err(|_| "nothing came")
                })
                .unwrap();
            let sends = s
                .run(&Context::background(), [Job::new(2u64, 42u64)], |_, n| {
                    tx.send_timeout(n, PATIENCE).map_err(|_| "nobody took it")
                })
                .unwrap();
            let waited: Vec<_> = waits.map(|r| r.into_value()).collect();
            let sent: Vec<_> = sends.map(|r| r.into_value()).collect();
            (waited, sent)
        });
        assert_eq!(waited, [Some(42)]);
        assert_eq!(sent, [Some(())]);
    });
}

#[test]
fn an_input_panic_is_resumed_where_the_scoped_run_is_dropped() {
    common::quiet_test_panics();
    watchdog(|| {
        let limit = 5;
        let pool = common::named_pool(2, "scpanic");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                let input = (0..10u64).map(|i| {
                    assert!(i < limit, "test panic: input");
                    Job::new(i, i)
                });
                let run = s
                    .run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
                    .unwrap();
                run.count()
            })
        }));
        let panic = caught.expect_err("the input's panic comes out of the scope");
        assert_eq!(
            panic.downcast_ref::<String>().map(String::as_str),
            Some("test panic: input")
        );
        common::assert_threads_gone("scpanic");
    });
}

#[test]
fn a_start_failure_in_a_scope_is_an_error_and_pulls_no_input() {
    watchdog(|| {
        // No machine here grants a 1 TiB stack (the largest a pool may ask for).
        let pool = WorkerPool::builder()
            .workers(2)
            .thread_name("scbig")
            .stack_size(wpool::MAX_STACK_SIZE)
            .build()
            .unwrap();
        let pulled = AtomicUsize::new(0);
        let err = pool.scope(|s| {
            let input = (0..10u64).map(|i| {
                pulled.fetch_add(1, Ordering::SeqCst);
                Job::new(i, i)
            });
            s.run(&Context::background(), input, |_, i: u64| Ok::<_, ()>(i))
                .map(|run| run.count())
                .unwrap_err()
        });
        assert_eq!(err.thread_name(), "scbig-0");
        assert_eq!(pulled.load(Ordering::SeqCst), 0);
        common::assert_threads_gone("scbig");
    });
}
