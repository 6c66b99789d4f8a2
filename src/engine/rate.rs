//! A limit on how many jobs a run starts per second: the generic cell rate
//! algorithm, which books each start a slot on a shared timeline. Slots
//! are `interval` apart; a burst of `burst` starts may come at once after
//! a quiet spell, and never more: in any window of `n` intervals at most
//! `n + burst` jobs start.

use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use parking_lot::Mutex;

pub(crate) struct StartRate {
    interval: Duration,
    /// How far ahead of its slot a start may come: `(burst - 1) * interval`.
    tolerance: Duration,
    /// The slot of the next start if none comes early (the "theoretical
    /// arrival time"); `None` before the first start.
    next: Mutex<Option<Instant>>,
}

impl StartRate {
    /// At most `per_second` starts a second, `burst` (at least 1) at once.
    pub(crate) fn new(per_second: f64, burst: u32) -> StartRate {
        let interval = Duration::from_secs_f64(1.0 / per_second);
        StartRate {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            next: Mutex::new(None),
        }
    }

    /// Books the next start's slot and waits for it; `Err` if `stop`
    /// disconnects first (the slot is then lost, which only slows the
    /// rate).
    pub(crate) fn wait(&self, stop: &Receiver<()>) -> Result<(), ()> {
        let start_at = self.book(Instant::now());
        let now = Instant::now();
        if start_at <= now {
            return Ok(());
        }
        crossbeam_channel::select! {
            recv(stop) -> _ => Err(()),
            default(start_at - now) => Ok(()),
        }
    }

    /// Books a start asked for at `now`; returns when it may begin.
    fn book(&self, now: Instant) -> Instant {
        let mut next = self.next.lock();
        let theoretical = next.unwrap_or(now).max(now);
        let start_at = theoretical
            .checked_sub(self.tolerance)
            .map_or(now, |earliest| earliest.max(now));
        *next = Some(theoretical.max(start_at) + self.interval);
        start_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_spaced_one_interval_apart() {
        let rate = StartRate::new(100.0, 1);
        let now = Instant::now();
        let slots: Vec<_> = (0..4).map(|_| rate.book(now) - now).collect();
        let ms = Duration::from_millis;
        assert_eq!(slots, [ms(0), ms(10), ms(20), ms(30)]);
    }

    #[test]
    fn a_burst_starts_at_once_and_then_the_rate_holds() {
        let rate = StartRate::new(100.0, 3);
        let now = Instant::now();
        let slots: Vec<_> = (0..5).map(|_| rate.book(now) - now).collect();
        let ms = Duration::from_millis;
        assert_eq!(slots, [ms(0), ms(0), ms(0), ms(10), ms(20)]);
    }

    #[test]
    fn a_quiet_spell_does_not_save_up_more_than_a_burst() {
        let rate = StartRate::new(100.0, 2);
        let start = Instant::now();
        rate.book(start);
        let later = start + Duration::from_secs(10);
        let slots: Vec<_> = (0..3).map(|_| rate.book(later) - later).collect();
        let ms = Duration::from_millis;
        assert_eq!(slots, [ms(0), ms(0), ms(10)]);
    }

    #[test]
    fn a_stop_ends_the_wait() {
        let rate = StartRate::new(0.5, 1);
        let (stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        assert_eq!(rate.wait(&stop), Ok(()), "the first start goes at once");
        drop(stop_tx);
        assert_eq!(rate.wait(&stop), Err(()), "the next would wait 2 s");
    }
}
