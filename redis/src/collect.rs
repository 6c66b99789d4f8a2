//! The collector: reads the results and dead-letter streams and counts
//! the outcomes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use redis::streams::{StreamId, StreamRangeReply};
use redis::{Commands, Connection, RedisResult};

use crate::keys::Keys;

/// Entries per `XRANGE` page.
const PAGE: usize = 1000;

/// What the results and dead-letter streams hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Each job's output, by job number (the last one read for a job
    /// recorded more than once).
    pub outputs: BTreeMap<u64, u64>,
    /// Results recorded on a job's second or later attempt in its process.
    pub retried: u64,
    /// Results beyond the first for the same job, by job number.
    pub duplicates: BTreeMap<u64, u64>,
    /// Dead letters, by job number, with their error (`u64::MAX` for a
    /// dead letter with no job number).
    pub dead: BTreeMap<u64, String>,
    /// Dead letters per error.
    pub dead_by_error: BTreeMap<String, u64>,
    /// Results recorded per worker.
    pub by_worker: BTreeMap<String, u64>,
}

impl Tally {
    /// The job numbers with a result.
    pub fn succeeded(&self) -> BTreeSet<u64> {
        self.outputs.keys().copied().collect()
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let duplicates: u64 = self.duplicates.values().sum();
        writeln!(
            f,
            "succeeded: {} jobs (retried first: {})",
            self.outputs.len(),
            self.retried
        )?;
        writeln!(f, "dead-lettered: {} jobs", self.dead.len())?;
        for (error, n) in &self.dead_by_error {
            writeln!(f, "  {n} x {error}")?;
        }
        writeln!(f, "duplicate results: {duplicates}")?;
        for (worker, n) in &self.by_worker {
            writeln!(f, "  {worker}: {n} results")?;
        }
        Ok(())
    }
}

/// Reads both streams whole and counts them.
///
/// # Errors
///
/// A Redis error.
pub fn collect(conn: &mut Connection, keys: &Keys) -> RedisResult<Tally> {
    let mut tally = Tally::default();
    for entry in read_all(conn, &keys.results)? {
        let job: u64 = entry.get("job").unwrap_or(u64::MAX);
        let output: u64 = entry.get("output").unwrap_or_default();
        if entry.get::<u32>("attempts").unwrap_or(1) > 1 {
            tally.retried += 1;
        }
        let worker: String = entry.get("worker").unwrap_or_default();
        *tally.by_worker.entry(worker).or_default() += 1;
        if tally.outputs.insert(job, output).is_some() {
            *tally.duplicates.entry(job).or_default() += 1;
        }
    }
    for entry in read_all(conn, &keys.dead)? {
        let job: u64 = entry.get("job").unwrap_or(u64::MAX);
        let error: String = entry.get("error").unwrap_or_default();
        *tally.dead_by_error.entry(error.clone()).or_default() += 1;
        tally.dead.insert(job, error);
    }
    Ok(tally)
}

/// Every entry of `stream`, a page at a time.
fn read_all(conn: &mut Connection, stream: &str) -> RedisResult<Vec<StreamId>> {
    let mut entries = Vec::new();
    let mut start = "-".to_string();
    loop {
        let page: StreamRangeReply = conn.xrange_count(stream, &start, "+", PAGE)?;
        let Some(last) = page.ids.last() else {
            return Ok(entries);
        };
        // The next page starts just after the last entry read.
        start = format!("({}", last.id);
        let full = page.ids.len() == PAGE;
        entries.extend(page.ids);
        if !full {
            return Ok(entries);
        }
    }
}
