//! No thread outlives its run: a thousand short runs, each finished,
//! cancelled, shut down, timed out or dropped early at random, leave this
//! process with exactly the threads it had before.

mod common;

use std::time::{Duration, Instant};

use wpool::{Context, Job, WorkerPool};

fn live_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

/// A small xorshift generator: the test needs varied, reproducible choices.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_thousand_runs_ended_every_way_leave_no_thread_behind() {
    common::watchdog_for(Duration::from_secs(60), || {
        let before = live_threads();
        assert!(before > 0, "this test needs /proc/self/task");
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut ended = [0u32; 6];
        for _ in 0..1000 {
            let workers = 1 + rng.below(4) as usize;
            let pool = WorkerPool::builder()
                .workers(workers)
                .queue_capacity(rng.below(32) as usize)
                .build()
                .unwrap();
            let way = rng.below(6) as usize;
            let ctx = if way == 4 {
                Context::with_timeout(
                    &Context::background(),
                    Duration::from_micros(rng.below(300)),
                )
            } else {
                Context::background()
            };
            let jobs = (0..rng.below(200)).map(|i| Job::new(i, i));
            let f = |ctx: &Context, i: u64| -> Result<u64, wpool::ContextError> {
                if i % 50 == 49 {
                    ctx.sleep(Duration::from_millis(1))?;
                }
                Ok(i)
            };
            if way == 5 {
                // Continuous submission, with the submitter dropped or not.
                let (submitter, run) = pool.start(&ctx, f).unwrap();
                for i in 0..rng.below(20) {
                    submitter.submit(Job::new(i, i)).unwrap();
                }
                if rng.below(2) == 0 {
                    drop(submitter);
                    let _ = run.wait();
                } else {
                    drop(run);
                }
            } else {
                let mut run = pool.run(&ctx, jobs, f).unwrap();
                match way {
                    0 => drop(run.wait()),
                    1 => {
                        run.cancel();
                        drop(run.wait());
                    }
                    2 => {
                        run.shutdown();
                        drop(run.wait());
                    }
                    3 => {
                        let _ = run.next();
                        drop(run);
                    }
                    _ => drop(run.wait()),
                }
            }
            ended[way] += 1;
        }
        assert!(
            ended.iter().all(|&n| n > 100),
            "every way was tried: {ended:?}"
        );

        // Joined threads leave /proc a moment after the join returns, and
        // the deadline thread leaves once no deadline is pending.
        let limit = Instant::now() + Duration::from_secs(10);
        while live_threads() > before && Instant::now() < limit {
            std::thread::yield_now();
        }
        assert_eq!(live_threads(), before, "threads leaked");
    });
}
