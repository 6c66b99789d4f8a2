//! The deadline thread: one thread for every context deadline in the
//! process, started when the first deadline is registered and gone again
//! once none has been pending for a moment (`LINGER`), so an idle process
//! keeps no timer thread.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Weak;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// What the deadline thread ends when a deadline passes: a context. A
/// trait, so that the timer depends on nothing of the crate's.
pub(crate) trait Expire: Send + Sync {
    /// Ends the context because its deadline passed.
    fn expire(&self);
}

type Inner = dyn Expire;

/// How long the thread stays once no deadline is pending, for the next
/// one: starting a thread costs tens of microseconds, waiting costs none.
const LINGER: std::time::Duration = std::time::Duration::from_millis(100);

/// The process's deadline timer, which every context deadline uses.
static TIMER: Timer = Timer::new("wpool-timer");

/// Asks the timer thread to end the context `id` with
/// `ContextError::DeadlineExceeded` at `deadline`, starting the thread if
/// none is running.
pub(crate) fn register(id: u64, deadline: Instant, context: Weak<Inner>) {
    TIMER.register(id, deadline, context);
}

/// Withdraws the deadline of the context `id`, if it is still pending; the
/// timer thread leaves once no deadline is.
pub(crate) fn unregister(id: u64) {
    TIMER.unregister(id);
}

/// Whether the context `id` has a deadline pending with the process's timer.
#[cfg(test)]
pub(crate) fn is_registered(id: u64) -> bool {
    TIMER.timers.lock().live.contains_key(&id)
}

/// A queue of deadlines and the thread that waits for them. The process
/// has one, [`TIMER`]; the unit tests make their own, so that what they
/// observe is theirs alone.
struct Timer {
    /// The name of the thread.
    name: &'static str,
    timers: Mutex<Timers>,
    /// Wakes the thread for an earlier deadline, or to leave.
    wake: Condvar,
}

struct Timers {
    /// Earliest deadline first. Entries of contexts that were cancelled or
    /// dropped stay here until popped or compacted away; `live` says which
    /// are still wanted.
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    live: BTreeMap<u64, Weak<Inner>>,
    thread_running: bool,
    /// The deadline the thread is waiting for, while it waits: a new
    /// deadline wakes it only if it is earlier. `None` while the thread is
    /// not waiting (it is starting, or ending contexts with the lock
    /// released), and so looks at the queue again before it next waits.
    waiting_until: Option<Instant>,
    /// Deadlines registered so far: a thread lingering with nothing to do
    /// starts its `LINGER` again after each, even one withdrawn at once.
    registered: u64,
    /// The threads this timer started, for the tests to see them leave.
    #[cfg(test)]
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Timer {
    const fn new(name: &'static str) -> Timer {
        Timer {
            name,
            timers: Mutex::new(Timers {
                queue: BinaryHeap::new(),
                live: BTreeMap::new(),
                thread_running: false,
                waiting_until: None,
                registered: 0,
                #[cfg(test)]
                threads: Vec::new(),
            }),
            wake: Condvar::new(),
        }
    }

    fn register(&'static self, id: u64, deadline: Instant, context: Weak<Inner>) {
        let mut timers = self.timers.lock();
        timers.queue.push(Reverse((deadline, id)));
        timers.registered += 1;
        timers.live.insert(id, context);
        if !timers.thread_running {
            let spawned = std::thread::Builder::new()
                .name(self.name.into())
                .spawn(move || self.run());
            // Without the thread, deadlines are still honoured by every
            // `Context::err` call, only `done()` does not close by itself.
            timers.thread_running = spawned.is_ok();
            #[cfg(test)]
            timers.threads.extend(spawned.ok());
        } else if timers
            .waiting_until
            .is_some_and(|waiting_until| deadline < waiting_until)
        {
            self.wake.notify_one();
        }
    }

    fn unregister(&self, id: u64) {
        let mut timers = self.timers.lock();
        if timers.live.remove(&id).is_none() {
            return;
        }
        if timers.live.is_empty() {
            timers.queue.clear();
            self.wake.notify_one();
        } else if timers.queue.len() > 2 * timers.live.len() + 64 {
            // Many short-lived timeouts that were cancelled early would
            // otherwise pile up until their deadlines.
            let Timers { queue, live, .. } = &mut *timers;
            queue.retain(|Reverse((_, id))| live.contains_key(id));
        }
    }

    fn run(&self) {
        let mut timers = self.timers.lock();
        // Since when no deadline has been pending, and how many had been
        // registered then.
        let mut idle_since: Option<(Instant, u64)> = None;
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
                // Ending a context takes other locks and calls back into
                // `unregister`.
                drop(timers);
                for context in expired.iter().filter_map(Weak::upgrade) {
                    context.expire();
                }
                timers = self.timers.lock();
                continue;
            }
            match timers.queue.peek() {
                Some(&Reverse((at, _))) => {
                    timers.waiting_until = Some(at);
                    self.wake.wait_until(&mut timers, at);
                    timers.waiting_until = None;
                }
                None => {
                    // Jobs with a timeout each come and go one after the
                    // other: a thread that left at every gap would be
                    // started again for the next job.
                    let registered = timers.registered;
                    let (since, _) = *idle_since
                        .filter(|&(_, seen)| seen == registered)
                        .get_or_insert((now, registered));
                    idle_since = Some((since, registered));
                    let until = since + LINGER;
                    if now >= until {
                        timers.thread_running = false;
                        return;
                    }
                    timers.waiting_until = Some(until);
                    self.wake.wait_until(&mut timers, until);
                    timers.waiting_until = None;
                    continue;
                }
            }
            idle_since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossbeam_channel::{RecvTimeoutError, TryRecvError};

    use super::*;
    use crate::context::Context;
    use crate::error::ContextError;

    /// Long enough for anything that must happen, on a loaded machine.
    const PATIENCE: Duration = Duration::from_secs(5);
    /// A deadline no test waits for.
    const LONG: Duration = Duration::from_secs(600);

    /// A timer of the test's own, apart from the process's.
    fn timer() -> &'static Timer {
        Box::leak(Box::new(Timer::new("wpool-test-tmr")))
    }

    /// A context without a deadline of its own, so that only the test's
    /// timer can end it with `DeadlineExceeded`.
    fn context() -> Context {
        Context::with_cancel(&Context::background())
    }

    /// Polls, for a bounded time, until `ready` holds of the timer's state.
    fn await_state(timer: &Timer, what: &str, ready: impl Fn(&Timers) -> bool) {
        let give_up = Instant::now() + PATIENCE;
        let tick = crossbeam_channel::never::<()>();
        while !ready(&timer.timers.lock()) {
            assert!(Instant::now() < give_up, "{what}: not after {PATIENCE:?}");
            let _ = tick.recv_timeout(Duration::from_millis(1));
        }
    }

    /// Waits, for a bounded time, until every thread `timer` started has
    /// returned.
    fn await_threads_gone(timer: &Timer, what: &str) {
        let threads = std::mem::take(&mut timer.timers.lock().threads);
        assert!(!threads.is_empty(), "{what}: no thread was started");
        let give_up = Instant::now() + PATIENCE;
        let tick = crossbeam_channel::never::<()>();
        for thread in threads {
            while !thread.is_finished() {
                assert!(
                    Instant::now() < give_up,
                    "{what}: the timer thread still runs after {PATIENCE:?}"
                );
                let _ = tick.recv_timeout(Duration::from_millis(1));
            }
            thread.join().expect("the timer thread does not panic");
        }
    }

    #[test]
    fn an_earlier_registration_wakes_the_thread_for_the_earlier_deadline() {
        let timer = timer();
        let late = context();
        let far = Instant::now() + LONG;
        timer.register(1, far, late.downgrade());
        // Only once the thread sleeps until the far deadline does the
        // earlier one have to wake it.
        await_state(timer, "the thread waits for the far deadline", |t| {
            t.waiting_until == Some(far)
        });

        let early = context();
        let start = Instant::now();
        let soon = start + Duration::from_millis(10);
        timer.register(2, soon, early.downgrade());
        assert_eq!(
            early.done().recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected),
            "the earlier deadline fired"
        );
        assert!(Instant::now() >= soon, "fired before its deadline");
        assert_eq!(early.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(late.done().try_recv(), Err(TryRecvError::Empty));
        assert_eq!(late.err(), None, "the far deadline has not passed");

        // The thread goes back to waiting for the far deadline.
        await_state(timer, "the thread waits for the far deadline again", |t| {
            t.waiting_until == Some(far)
        });
        timer.unregister(1);
        await_threads_gone(timer, "no deadline left");
        assert_eq!(late.err(), None);
    }

    #[test]
    fn unregistering_the_last_entry_lets_the_thread_exit() {
        let timer = timer();
        let contexts: Vec<Context> = (0..3).map(|_| context()).collect();
        let far = Instant::now() + LONG;
        for (id, ctx) in (1..).zip(&contexts) {
            timer.register(id, far + Duration::from_millis(id), ctx.downgrade());
        }
        await_state(timer, "the thread waits", |t| {
            t.waiting_until == Some(far + Duration::from_millis(1))
        });
        timer.unregister(1);
        timer.unregister(2);
        {
            let timers = timer.timers.lock();
            assert!(timers.thread_running, "one deadline is still pending");
            assert_eq!(timers.live.len(), 1);
        }
        // Withdrawing an entry twice, or one never registered, changes
        // nothing.
        timer.unregister(2);
        timer.unregister(99);
        assert!(timer.timers.lock().thread_running);

        timer.unregister(3);
        await_threads_gone(timer, "the last entry withdrawn");
        {
            let timers = timer.timers.lock();
            assert!(!timers.thread_running);
            assert!(timers.queue.is_empty());
            assert!(timers.live.is_empty());
        }
        assert!(contexts.iter().all(|ctx| ctx.err().is_none()));

        // A new deadline starts a new thread, which fires it and leaves.
        let again = context();
        timer.register(4, Instant::now(), again.downgrade());
        assert_eq!(
            again.done().recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(again.err(), Some(ContextError::DeadlineExceeded));
        await_threads_gone(timer, "the deadline fired");
    }

    #[test]
    fn the_queue_is_compacted_when_many_registrations_are_cancelled_early() {
        let timer = timer();
        let contexts: Vec<Context> = (0..1000).map(|_| context()).collect();
        let far = Instant::now() + LONG;
        for (id, ctx) in (0..).zip(&contexts) {
            timer.register(id, far + Duration::from_millis(id), ctx.downgrade());
        }
        assert_eq!(timer.timers.lock().queue.len(), 1000);
        // Withdraw all but every tenth: the queue never holds many more
        // entries than are still wanted.
        for id in (0..1000).filter(|id| id % 10 != 0) {
            timer.unregister(id);
            let timers = timer.timers.lock();
            assert!(
                timers.queue.len() <= 2 * timers.live.len() + 64,
                "{} queued for {} live deadlines",
                timers.queue.len(),
                timers.live.len()
            );
        }
        {
            let timers = timer.timers.lock();
            assert_eq!(timers.live.len(), 100);
            assert!(
                timers.queue.len() < 1000,
                "withdrawn entries were compacted away"
            );
            assert!(
                timers
                    .queue
                    .iter()
                    .filter(|Reverse((_, id))| timers.live.contains_key(id))
                    .count()
                    == 100,
                "every live entry is still queued"
            );
        }
        for id in (0..1000).step_by(10) {
            timer.unregister(id);
        }
        await_threads_gone(timer, "every entry withdrawn");
        assert!(contexts.iter().all(|ctx| ctx.err().is_none()));
    }
}
