//! The Go seed's worker pool written by hand on crossbeam channels, the
//! baseline the benchmarks compare wpool with: a feeder thread, a boxed
//! closure per job, one message per job and per result, both channels
//! bounded at `capacity`, threads started per run.
//!
//! Shared by the `throughput` bench and the peer table (`src/bin/peers/`,
//! which the `peers` bench includes), so all of them measure the same code.

use std::thread;

use crossbeam_channel::bounded;

/// Runs jobs `0..n` (job `i` returns `f(i)`) on `workers` threads and
/// returns the wrapping sum of their results.
pub fn hand_pool<F>(f: F, n: u64, workers: usize, capacity: usize) -> u64
where
    F: Fn(u64) -> u64 + Copy + Send + 'static,
{
    type Task = Box<dyn FnOnce() -> u64 + Send>;
    let (jobs_tx, jobs_rx) = bounded::<(u64, Task)>(capacity);
    let (results_tx, results_rx) = bounded::<(u64, u64)>(capacity);
    let feeder = thread::spawn(move || {
        for i in 0..n {
            jobs_tx.send((i, Box::new(move || f(i)))).unwrap();
        }
    });
    let workers: Vec<_> = (0..workers)
        .map(|_| {
            let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
            thread::spawn(move || {
                for (id, task) in jobs_rx {
                    results_tx.send((id, task())).unwrap();
                }
            })
        })
        .collect();
    drop(results_tx);
    let total = results_rx
        .iter()
        .fold(0, |sum: u64, (_, value)| sum.wrapping_add(value));
    feeder.join().unwrap();
    workers.into_iter().for_each(|w| w.join().unwrap());
    total
}
