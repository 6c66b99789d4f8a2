//! The jobs: what the producer writes, what a worker computes, and how a
//! job fails. The work is simulated and deterministic, so that a test can
//! check every output.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use redis::streams::StreamId;
use wpool::Context;

/// What a job asks for, as the fields of its jobs-stream entry:
/// `job` (its number), `mode` and `rounds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The job's number, unique in a plan; its result is `work(job, rounds)`.
    pub job: u64,
    /// Whether it succeeds, fails for good, or fails once then succeeds.
    pub mode: Mode,
    /// How much work: rounds of a 64-bit mixing function (about 2 ns each).
    pub rounds: u32,
}

/// How a job behaves, set by the producer so that failures are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Succeeds.
    Ok,
    /// Fails on every attempt: the job ends in the dead-letter stream.
    Fail,
    /// Fails its first attempt in each process that runs it with a
    /// transient error, then succeeds when retried.
    Flaky,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Ok => "ok",
            Mode::Fail => "fail",
            Mode::Flaky => "flaky",
        }
    }
}

impl Payload {
    /// The entry's fields, as `XADD` takes them.
    pub fn fields(&self) -> [(&'static str, String); 3] {
        [
            ("job", self.job.to_string()),
            ("mode", self.mode.as_str().to_string()),
            ("rounds", self.rounds.to_string()),
        ]
    }

    /// Reads a payload back from a stream entry.
    ///
    /// # Errors
    ///
    /// A missing or malformed field, as a message naming it.
    pub fn parse(entry: &StreamId) -> Result<Payload, String> {
        let field = |name: &str| {
            entry
                .get::<String>(name)
                .ok_or_else(|| format!("entry {}: no field {name:?}", entry.id))
        };
        let number = |name: &str| -> Result<u64, String> {
            field(name)?
                .parse()
                .map_err(|_| format!("entry {}: field {name:?} is not a number", entry.id))
        };
        let mode = match field("mode")?.as_str() {
            "ok" => Mode::Ok,
            "fail" => Mode::Fail,
            "flaky" => Mode::Flaky,
            other => return Err(format!("entry {}: unknown mode {other:?}", entry.id)),
        };
        let rounds = u32::try_from(number("rounds")?)
            .map_err(|_| format!("entry {}: field \"rounds\" is too large", entry.id))?;
        Ok(Payload {
            job: number("job")?,
            mode,
            rounds,
        })
    }
}

/// Which jobs a run is made of: job `i` of `jobs` does `rounds` rounds of
/// work; every `fail_every`-th job fails for good and every
/// `flaky_every`-th fails once (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// How many jobs, numbered from 0.
    pub jobs: u64,
    /// The work per job.
    pub rounds: u32,
    /// Jobs `fail_every - 1`, `2 * fail_every - 1`, ... fail for good.
    pub fail_every: u64,
    /// Jobs `flaky_every - 1`, ... (unless they fail for good) fail once.
    pub flaky_every: u64,
}

impl Plan {
    /// Job `job`'s payload.
    pub fn payload(&self, job: u64) -> Payload {
        let every = |n: u64| n > 0 && job % n == n - 1;
        let mode = if every(self.fail_every) {
            Mode::Fail
        } else if every(self.flaky_every) {
            Mode::Flaky
        } else {
            Mode::Ok
        };
        Payload {
            job,
            mode,
            rounds: self.rounds,
        }
    }

    /// Every payload of the plan, in order.
    pub fn payloads(&self) -> impl Iterator<Item = Payload> + '_ {
        (0..self.jobs).map(|job| self.payload(job))
    }
}

/// The simulated work: `rounds` rounds of splitmix64 from `job`. Pure, so
/// running a job twice gives the same output.
pub fn work(job: u64, rounds: u32) -> u64 {
    let mut x = job;
    for _ in 0..rounds {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x = z ^ (z >> 31);
    }
    x
}

/// A job's arguments: its jobs-stream entry id (what `XACK` names) and its
/// payload, or why the entry could not be read as one.
#[derive(Debug, Clone)]
pub struct Task {
    /// The entry id in the jobs stream.
    pub entry: String,
    /// The payload, or the reason it is malformed.
    pub payload: Result<Payload, String>,
}

/// A job's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// The job's number.
    pub job: u64,
    /// `work(job, rounds)`.
    pub output: u64,
    /// The attempts it took in this process, the last one included.
    pub attempts: u32,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// The job's number, if its payload had one.
    pub job: Option<u64>,
    /// Worth retrying: the run's retry policy retries only these.
    pub transient: bool,
    /// What went wrong.
    pub message: String,
    /// The attempts made in this process.
    pub attempts: u32,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.transient {
            "transient"
        } else {
            "permanent"
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for JobError {}

/// The flaky jobs that have failed once in this process: shared by the
/// workers, since a retry may run on another thread.
#[derive(Debug, Default)]
pub struct FailedOnce(Mutex<HashSet<u64>>);

/// The wait before the second attempt; it doubles for each one after.
const FIRST_BACKOFF: Duration = Duration::from_millis(1);

/// Runs one job: up to `attempts` attempts (at least one), retrying
/// transient failures after a back-off of 1 ms, 2 ms, 4 ms, ... (at most
/// 100 ms) that the context cuts short.
///
/// The retries are the job's own loop rather than the run's
/// [`Retry`](wpool::Retry) policy: the run starts a retry only when its
/// workers find no other job, and the input of a worker is a stream that
/// is never done, so a retry could wait longer than the claim idle time
/// and be claimed, and run, by another worker meanwhile.
///
/// # Errors
///
/// The last attempt's error: a permanent [`JobError`] for a malformed
/// payload or a `fail` job, a transient one for a `flaky` job whose
/// attempts ran out or whose context ended during the back-off.
pub fn run(
    ctx: &Context,
    task: &Task,
    failed_once: &FailedOnce,
    attempts: u32,
) -> Result<Done, JobError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match attempt_once(task, failed_once, attempt) {
            Err(e) if e.transient && attempt < attempts && ctx.sleep(backoff).is_ok() => {
                backoff = (backoff * 2).min(Duration::from_millis(100));
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// One attempt, the `attempt`-th.
fn attempt_once(task: &Task, failed_once: &FailedOnce, attempt: u32) -> Result<Done, JobError> {
    let payload = task.payload.as_ref().map_err(|message| JobError {
        job: None,
        transient: false,
        message: message.clone(),
        attempts: attempt,
    })?;
    let fail = |transient: bool, message: &str| JobError {
        job: Some(payload.job),
        transient,
        message: message.to_string(),
        attempts: attempt,
    };
    match payload.mode {
        Mode::Ok => {}
        Mode::Fail => return Err(fail(false, "made to fail")),
        Mode::Flaky => {
            // A poisoned lock only means another job panicked while holding
            // it; the set is still usable.
            let mut set = failed_once.0.lock().unwrap_or_else(|p| p.into_inner());
            if set.insert(payload.job) {
                return Err(fail(true, "made to fail once"));
            }
            set.remove(&payload.job);
        }
    }
    Ok(Done {
        job: payload.job,
        output: work(payload.job, payload.rounds),
        attempts: attempt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_fails_and_flakes_exactly_where_it_says() {
        let plan = Plan {
            jobs: 100,
            rounds: 1,
            fail_every: 10,
            flaky_every: 5,
        };
        let modes: Vec<Mode> = plan.payloads().map(|p| p.mode).collect();
        assert_eq!(modes.iter().filter(|m| **m == Mode::Fail).count(), 10);
        assert_eq!(modes.iter().filter(|m| **m == Mode::Flaky).count(), 10);
        assert_eq!(modes[9], Mode::Fail);
        assert_eq!(modes[4], Mode::Flaky);
    }

    #[test]
    fn a_flaky_job_fails_once_then_succeeds() {
        let failed_once = FailedOnce::default();
        let task = Task {
            entry: "1-0".into(),
            payload: Ok(Payload {
                job: 3,
                mode: Mode::Flaky,
                rounds: 4,
            }),
        };
        let ctx = Context::background();
        let failed = run(&ctx, &task, &failed_once, 1).unwrap_err();
        assert!(failed.transient);
        assert_eq!(failed.attempts, 1);
        let done = run(&ctx, &task, &failed_once, 1).unwrap();
        assert_eq!((done.output, done.attempts), (work(3, 4), 1));
        let retried = run(&ctx, &task, &FailedOnce::default(), 2).unwrap();
        assert_eq!((retried.output, retried.attempts), (work(3, 4), 2));
    }

    #[test]
    fn a_payload_survives_the_stream_fields() {
        let payload = Payload {
            job: 42,
            mode: Mode::Fail,
            rounds: 7,
        };
        let entry = StreamId {
            id: "1-0".into(),
            map: payload
                .fields()
                .into_iter()
                .map(|(k, v)| (k.to_string(), redis::Value::BulkString(v.into_bytes())))
                .collect(),
        };
        assert_eq!(Payload::parse(&entry), Ok(payload));
    }
}
