//! Helpers shared by the integration tests: a watchdog that turns a
//! deadlock into a failure, and a payload that counts its drops.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any one test body may take before it counts as hung.
pub const WATCHDOG: Duration = Duration::from_secs(20);

/// Runs `body` on its own thread and fails the test if it has not finished
/// within [`WATCHDOG`], so a deadlock is a red test rather than a stuck CI.
/// A panic in `body` fails the test with the body's own message.
pub fn watchdog<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    watchdog_for(WATCHDOG, body)
}

/// [`watchdog`] with a custom limit.
pub fn watchdog_for<R: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let handle = std::thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let _ = tx.send(body());
        })
        .expect("spawn test body");
    match rx.recv_timeout(limit) {
        Ok(value) => {
            handle.join().expect("test body");
            value
        }
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
            // The body panicked: re-raise its panic here.
            match handle.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("the body sends before it returns"),
            }
        }
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
            panic!("watchdog: the test did not finish within {limit:?}, a deadlock?")
        }
    }
}

/// A value that counts how often values of its family were dropped.
#[derive(Debug)]
pub struct DropCounter {
    pub id: u64,
    drops: Arc<AtomicUsize>,
}

impl DropCounter {
    pub fn family() -> Arc<AtomicUsize> {
        Arc::new(AtomicUsize::new(0))
    }

    pub fn new(id: u64, drops: &Arc<AtomicUsize>) -> DropCounter {
        DropCounter {
            id,
            drops: drops.clone(),
        }
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Silences the default panic hook's report for panics raised on purpose
/// by test jobs (their message starts with "test panic"), and keeps the
/// report for everything else.
pub fn quiet_test_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !message.starts_with("test panic") {
                default(info);
            }
        }));
    });
}

/// Counts this process's live threads whose name starts with `prefix`
/// (Linux: `/proc/self/task/*/comm`, where names are cut to 15 bytes).
/// Give each test's pool its own short `thread_name` so tests running in
/// parallel don't see each other's threads.
pub fn threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

/// Long enough for anything that must happen, on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// Long enough to be fairly sure that something that must not happen did
/// not.
pub const QUIET: Duration = Duration::from_millis(50);

/// Asserts that every thread named `prefix*` is gone once its run has been
/// dropped or waited for. Linux wakes a thread's joiner a moment before it
/// takes the exited thread out of /proc, so a thread joined a microsecond
/// ago may still be listed: the count is polled, for a bounded time.
pub fn assert_threads_gone(prefix: &str) {
    let give_up = Instant::now() + Duration::from_secs(2);
    let tick = crossbeam_channel::never::<()>();
    loop {
        let alive = threads_named(prefix);
        if alive == 0 {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "{alive} threads named {prefix}* outlived their run"
        );
        let _ = tick.recv_timeout(Duration::from_millis(1));
    }
}

/// The numeric value of a job id the tests made from a number.
pub fn id_of(id: &wpool::JobId) -> u64 {
    id.as_u64().expect("numeric job id")
}

/// A pool of `workers` threads named `name-0`, `name-1`, ..., so that a test
/// can find them (see [`assert_threads_gone`]).
pub fn named_pool(workers: usize, name: &str) -> wpool::WorkerPool {
    wpool::WorkerPool::builder()
        .workers(workers)
        .thread_name(name)
        .build()
        .expect("a valid pool")
}

/// Blocks a job until the test sends on or drops `gate`, or the run is
/// cancelled, so that a failed assertion, which drops the run, never leaves
/// it hanging.
pub fn wait_at_gate(ctx: &wpool::Context, gate: &crossbeam_channel::Receiver<()>) {
    crossbeam_channel::select! {
        recv(gate) -> _ => {}
        recv(ctx.done()) -> _ => {}
    }
}
