//! The deadline thread: one thread for every context deadline in the
//! process, started when the first deadline is registered and gone again
//! once none is pending, so an idle process keeps no timer thread.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::context::Inner;
use crate::error::ContextError;

struct Timers {
    /// Earliest deadline first. Entries of contexts that were cancelled or
    /// dropped stay here until popped; `live` says which are still wanted.
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    live: BTreeMap<u64, Weak<Inner>>,
    thread_running: bool,
}

static TIMERS: Mutex<Timers> = Mutex::new(Timers {
    queue: BinaryHeap::new(),
    live: BTreeMap::new(),
    thread_running: false,
});
static WAKE: Condvar = Condvar::new();

pub(crate) fn register(id: u64, deadline: Instant, context: Weak<Inner>) {
    let mut timers = TIMERS.lock();
    let earliest = timers.queue.peek().map(|Reverse((at, _))| *at);
    timers.queue.push(Reverse((deadline, id)));
    timers.live.insert(id, context);
    if !timers.thread_running {
        let spawned = std::thread::Builder::new()
            .name("wpool-timer".into())
            .spawn(run);
        // Without the thread, deadlines are still honoured by every
        // `Context::err` call, only `done()` does not close by itself.
        timers.thread_running = spawned.is_ok();
    } else if earliest.is_none_or(|earliest| deadline < earliest) {
        WAKE.notify_one();
    }
}

pub(crate) fn unregister(id: u64) {
    let mut timers = TIMERS.lock();
    if timers.live.remove(&id).is_none() {
        return;
    }
    if timers.live.is_empty() {
        timers.queue.clear();
        WAKE.notify_one();
    } else if timers.queue.len() > 2 * timers.live.len() + 64 {
        // Many short-lived timeouts that were cancelled early would otherwise
        // pile up until their deadlines.
        let Timers { queue, live, .. } = &mut *timers;
        queue.retain(|Reverse((_, id))| live.contains_key(id));
    }
}

fn run() {
    let mut timers = TIMERS.lock();
    loop {
        let now = Instant::now();
        let mut expired = Vec::new();
        while let Some(&Reverse((at, id))) = timers.queue.peek() {
            if at > now {
                break;
            }
            timers.queue.pop();
            if let Some(context) = timers.live.remove(&id) {
                expired.push(context);
            }
        }
        if !expired.is_empty() {
            // Cancelling takes other locks and calls back into `unregister`.
            drop(timers);
            for context in expired.iter().filter_map(Weak::upgrade) {
                fire(context);
            }
            timers = TIMERS.lock();
            continue;
        }
        match timers.queue.peek() {
            Some(&Reverse((at, _))) => {
                WAKE.wait_until(&mut timers, at);
            }
            None => {
                timers.thread_running = false;
                return;
            }
        }
    }
}

fn fire(context: Arc<Inner>) {
    context.cancel(ContextError::DeadlineExceeded);
}
