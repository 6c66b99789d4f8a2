//! The Go seed's own test, ported: 1,000 jobs, job `i` returns `2 * i`, ids
//! are the decimal `i`, every value is checked and every id seen once. The
//! seed's version busy-waits and can return on `Done` with results unread;
//! this one reads until the results end and then checks `done`.

mod common;

use std::collections::HashSet;

use common::watchdog;
use wpool::{Context, Job, WorkerPool};

const JOBS: u64 = 1000;
const WORKERS: usize = 5;

fn test_jobs() -> Vec<Job<u64>> {
    (0..JOBS)
        .map(|i| {
            Job::new(i.to_string(), i)
                .with_kind("anyType")
                .with_meta("foo", "foo")
        })
        .collect()
}

#[test]
fn every_job_doubles_its_id_and_every_id_is_seen_once() {
    watchdog(|| {
        let pool = WorkerPool::new(WORKERS).unwrap();
        let ctx = Context::with_cancel(&Context::background());
        let mut run = pool
            .run(&ctx, test_jobs(), |_, i: u64| Ok::<_, String>(2 * i))
            .unwrap();

        let mut seen = HashSet::new();
        for result in &mut run {
            let id: u64 = result.id().as_str().unwrap().parse().expect("decimal id");
            assert_eq!(result.descriptor().kind(), "anyType");
            assert_eq!(result.descriptor().metadata().get("foo"), Some("foo"));
            assert_eq!(result.value(), Some(&(2 * id)), "job {id}");
            assert!(seen.insert(id), "id {id} seen twice");
        }
        assert_eq!(seen.len() as u64, JOBS);
        // The iterator ended, so the run is done: done is closed already.
        assert!(run.done().try_recv().is_err());
        assert!(run.is_finished());
        let summary = run.wait();
        assert_eq!(summary.counts.succeeded, JOBS);
        assert_eq!(summary.discarded, 0);
        ctx.cancel();
    });
}

#[test]
fn a_reader_that_waits_for_done_first_still_gets_every_result() {
    watchdog(|| {
        let pool = WorkerPool::builder()
            .workers(WORKERS)
            .results_capacity(JOBS as usize)
            .build()
            .unwrap();
        let mut run = pool
            .run(&Context::background(), test_jobs(), |_, i: u64| {
                Ok::<_, String>(2 * i)
            })
            .unwrap();
        // The seed returns as soon as Done fires; here done only fires once
        // every worker is joined, and every result is still readable.
        assert!(run.done().recv().is_err());
        let mut seen = HashSet::new();
        while let Ok(result) = run.try_next() {
            assert!(seen.insert(result.id().clone()));
        }
        assert_eq!(seen.len() as u64, JOBS);
    });
}
