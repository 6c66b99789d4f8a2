//! Committing finished jobs: the result (or dead letter) is written and the
//! job acknowledged in one atomic step on the server.
//!
//! A Lua script does, for each finished job, `XACK` and then, only if that
//! `XACK` acknowledged the entry, the `XADD` of its record. Being one
//! script, it runs whole or not at all: a worker killed at any moment
//! leaves each of its jobs either acknowledged with its record written, or
//! pending with nothing written, to be run again by another worker. And
//! because the write depends on the acknowledgement, a job run twice (its
//! first worker was slow, not dead, and another claimed it) is recorded by
//! whichever finishes first; the other's record is dropped and counted.

use redis::{Connection, RedisResult, Script};

use crate::keys::Keys;

/// `KEYS`: the jobs stream, the results stream, the dead-letter stream.
/// `ARGV`: the group, then for each job its entry id, its target (1 for
/// results, 2 for dead letters), its number of field-and-value strings,
/// and those strings. Returns how many records it wrote to each target.
const COMMIT: &str = r"
local written = {0, 0}
local i = 2
while i <= #ARGV do
  local entry, target, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if redis.call('XACK', KEYS[1], ARGV[1], entry) == 1 then
    redis.call('XADD', KEYS[1 + target], '*', unpack(ARGV, i + 3, i + 2 + n))
    written[target] = written[target] + 1
  end
  i = i + 3 + n
end
return written
";

/// Where a finished job's record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The results stream: the job succeeded.
    Results,
    /// The dead-letter stream: the job failed for good.
    DeadLetters,
}

/// A finished job's record, waiting to be committed.
#[derive(Debug, Clone)]
pub struct Record {
    /// The job's entry id in the jobs stream.
    pub entry: String,
    /// Where the record goes.
    pub target: Target,
    /// The record's fields and values.
    pub fields: Vec<(&'static str, String)>,
}

/// How many records one commit wrote, per target.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Results written.
    pub results: u64,
    /// Dead letters written.
    pub dead: u64,
}

/// Commits batches of [`Record`]s with the script.
#[derive(Debug)]
pub struct Committer {
    script: Script,
    keys: Keys,
}

impl Committer {
    /// A committer for the streams of `keys`.
    pub fn new(keys: &Keys) -> Committer {
        Committer {
            script: Script::new(COMMIT),
            keys: keys.clone(),
        }
    }

    /// Acknowledges every record's job and writes the records whose job
    /// was still pending, in one atomic step; returns how many were
    /// written to each stream. A record not written belonged to a job that another worker
    /// had already committed.
    ///
    /// # Errors
    ///
    /// A Redis error: then nothing of the batch was committed (the script
    /// runs whole or not at all, unless the server fails mid-script), and
    /// its jobs stay pending for another worker to claim.
    pub fn commit(&self, conn: &mut Connection, records: &[Record]) -> RedisResult<Written> {
        if records.is_empty() {
            return Ok(Written::default());
        }
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(&self.keys.jobs)
            .key(&self.keys.results)
            .key(&self.keys.dead)
            .arg(&self.keys.group);
        for record in records {
            let target = match record.target {
                Target::Results => 1,
                Target::DeadLetters => 2,
            };
            invocation
                .arg(&record.entry)
                .arg(target)
                .arg(2 * record.fields.len());
            for (field, value) in &record.fields {
                invocation.arg(*field).arg(value);
            }
        }
        let (results, dead): (u64, u64) = invocation.invoke(conn)?;
        Ok(Written { results, dead })
    }
}
