//! The producer: fills the jobs stream with a [`Plan`]'s jobs.

use redis::{Connection, RedisResult};

use crate::job::Plan;
use crate::keys::Keys;

/// Entries per pipelined round trip.
const PIPELINE: usize = 1000;

/// Adds every job of `plan` to the jobs stream, in order, `PIPELINE` entries
/// per round trip; returns how many it added.
///
/// # Errors
///
/// A Redis error; the jobs of the failed round trip may or may not have
/// been added (the stream then holds a prefix of the plan, or a little
/// more).
pub fn produce(conn: &mut Connection, keys: &Keys, plan: &Plan) -> RedisResult<u64> {
    let mut added = 0;
    let mut pipe = redis::pipe();
    for payload in plan.payloads() {
        pipe.xadd(&keys.jobs, "*", &payload.fields()).ignore();
        added += 1;
        if added % PIPELINE as u64 == 0 {
            pipe.query::<()>(conn)?;
            pipe.clear();
        }
    }
    pipe.query::<()>(conn)?;
    Ok(added)
}
