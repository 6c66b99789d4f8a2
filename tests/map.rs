//! The parallel map: `WorkerPool::map` (input order) and `map_unordered`,
//! their scoped forms, panics per item, indexes, stopping by drop or by a
//! context, and a bounded window behind a slow item.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{quiet_test_panics, watchdog};
use crossbeam_channel::unbounded;
use wpool::{Context, ContextError, WorkerPool};

const SOON: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(50);

#[test]
fn a_plain_closure_needs_no_annotation_and_keeps_input_order() {
    watchdog(|| {
        let pool = WorkerPool::new(4).unwrap();
        let doubled: Vec<u64> = pool
            .map(&Context::background(), 0..10_000u64, |i| i * 2)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(doubled, (0..10_000).map(|i| i * 2).collect::<Vec<_>>());
    });
}

#[test]
fn unordered_outputs_are_all_there_and_indexed_tells_their_place() {
    watchdog(|| {
        let pool = WorkerPool::new(4).unwrap();
        let words: Vec<String> = (0..1_000).map(|i| format!("w{i}")).collect();
        let mut seen = vec![false; words.len()];
        for (index, len) in pool
            .map_unordered(&Context::background(), words.clone(), |w| w.len())
            .unwrap()
            .indexed()
        {
            let index = usize::try_from(index).unwrap();
            assert_eq!(len.unwrap(), words[index].len());
            assert!(!std::mem::replace(&mut seen[index], true), "{index} twice");
        }
        assert!(seen.iter().all(|&s| s));
    });
}

#[test]
fn a_panic_is_that_items_output_and_the_rest_still_run() {
    quiet_test_panics();
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let outputs: Vec<_> = pool
            .map(&Context::background(), 0..100u32, |i| {
                assert!(i % 10 != 3, "test panic on {i}");
                i
            })
            .unwrap()
            .indexed()
            .collect();
        assert_eq!(outputs.len(), 100);
        for (index, output) in outputs {
            match output {
                Ok(value) => assert_eq!(u64::from(value), index),
                Err(panic) => {
                    assert_eq!(index % 10, 3);
                    assert_eq!(panic.message(), format!("test panic on {index}"));
                }
            }
        }
    });
}

#[test]
fn a_fallible_function_returns_its_results_as_they_are() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let parsed: Vec<Result<u32, std::num::ParseIntError>> = pool
            .map(&Context::background(), ["1", "x", "3"], str::parse::<u32>)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(parsed[0], Ok(1));
        assert!(parsed[1].is_err());
        assert_eq!(parsed[2], Ok(3));
    });
}

#[test]
fn dropping_a_map_over_an_endless_input_stops_it() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(2)
            .thread_name("mapdrop")
            .build()
            .unwrap();
        let first: Vec<u64> = pool
            .map(&Context::background(), 0u64.., |i| i)
            .unwrap()
            .take(5)
            .map(Result::unwrap)
            .collect();
        assert_eq!(first, [0, 1, 2, 3, 4]);
        common::assert_threads_gone("mapdrop-");
    });
}

#[test]
fn a_cancelled_context_stops_the_map_and_the_summary_accounts_for_every_item() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap().resumable();
        let ctx = Context::with_cancel(&Context::background());
        let mut map = pool.map(&ctx, 0..1_000_000u64, |i| i).unwrap();
        let read = (&mut map).take(1_000).count() as u64;
        ctx.cancel();
        let rest = (&mut map).count() as u64;
        let summary = map.wait();
        assert_eq!(summary.cancelled_by, Some(ContextError::Cancelled));
        assert_eq!(summary.counts.finished(), read + rest);
        // Resuming from the summary covers the items that did not run.
        let remaining = summary.into_remaining().count() as u64;
        assert_eq!(read + rest + remaining, 1_000_000);
    });
}

#[test]
fn a_slow_item_holds_the_window_and_the_map_reads_no_further() {
    const WINDOW: usize = 32;
    watchdog(|| {
        let pool = WorkerPool::new(4).unwrap().with_order_window(WINDOW);
        let read = Arc::new(AtomicU64::new(0));
        let (release_tx, release_rx) = unbounded::<()>();
        let (done_tx, done_rx) = unbounded::<u64>();
        let items = {
            let read = read.clone();
            (0..100_000u64).inspect(move |_| {
                read.fetch_add(1, Ordering::SeqCst);
            })
        };
        let map = pool
            .map(&Context::background(), items, move |i| {
                if i == 0 {
                    release_rx.recv().unwrap();
                }
                done_tx.send(i).unwrap();
                i
            })
            .unwrap();
        for _ in 1..WINDOW {
            done_rx
                .recv_timeout(SOON)
                .expect("the items in the window run");
        }
        assert!(
            done_rx.recv_timeout(QUIET).is_err(),
            "an item beyond the window ran"
        );
        assert_eq!(read.load(Ordering::SeqCst), WINDOW as u64);
        release_tx.send(()).unwrap();
        let sum: u64 = map.map(Result::unwrap).sum();
        assert_eq!(sum, 99_999 * 100_000 / 2);
    });
}

#[test]
fn a_scoped_map_borrows_its_items_its_function_and_its_outputs() {
    watchdog(|| {
        let pool = WorkerPool::new(3).unwrap();
        let lines: Vec<String> = (0..500).map(|i| format!("line {i}: text")).collect();
        let prefix = String::from("line ");
        let heads: Vec<&str> = pool.scope(|s| {
            s.map(&Context::background(), &lines, |line| {
                let rest = line.strip_prefix(prefix.as_str()).unwrap();
                &rest[..rest.find(':').unwrap()]
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        });
        assert_eq!(heads.len(), 500);
        assert!(heads.iter().enumerate().all(|(i, h)| *h == i.to_string()));
        let total: usize = pool.scope(|s| {
            s.map_unordered(&Context::background(), &lines, String::len)
                .unwrap()
                .map(Result::unwrap)
                .sum()
        });
        assert_eq!(total, lines.iter().map(String::len).sum());
    });
}

#[test]
fn a_handle_stops_a_map_from_inside_its_loop() {
    watchdog(|| {
        let pool = WorkerPool::new(2).unwrap();
        let mut map = pool.map(&Context::background(), 0u64.., |i| i).unwrap();
        let handle = map.handle();
        let mut last: Option<u64> = None;
        let mut read = 0;
        for output in &mut map {
            let value = output.unwrap();
            // In order; after the cancel, with gaps where items never ran.
            assert!(last.is_none_or(|last| value > last), "out of order");
            last = Some(value);
            read += 1;
            if value == 999 {
                handle.cancel();
            }
        }
        assert!(read >= 1_000);
        assert_eq!(map.counts().succeeded, read);
    });
}
