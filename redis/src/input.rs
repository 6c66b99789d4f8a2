//! The run's input: the jobs stream, read through the consumer group.
//!
//! [`StreamInput`] is the iterator a wpool run pulls its jobs from. Its
//! `next` hands out the entries of the last read, and when they are gone
//! reads again: first the entries that a dead (or stopped) consumer left
//! pending longer than the claim idle time (`XAUTOCLAIM`, also every half
//! of that time while new entries keep coming), then new entries
//! (`XREADGROUP ... BLOCK`). Each blocking read waits at most the block
//! time, and the context is checked between reads, so cancelling it (Ctrl-C,
//! a deadline) ends the input within one block time.
//!
//! Every entry handed out is pending for this consumer until the worker
//! commits it (see [`Committer`](crate::Committer)); the entries read but not
//! yet handed out when the run stops come back in the run's
//! `Summary::unread_input` (the pool is resumable), for the worker to hand
//! back.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply,
};
use redis::{Commands, Connection, RedisError, RedisResult};
use wpool::{Context, Job};

use crate::job::{Payload, Task};
use crate::keys::Keys;

/// How the input reads.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// This consumer's name in the group.
    pub consumer: String,
    /// Entries per read (`COUNT`).
    pub count: usize,
    /// How long one read may block (`BLOCK`); also how late a cancel is
    /// seen at worst.
    pub block: Duration,
    /// Entries pending this long for another consumer are taken over.
    pub claim_idle: Duration,
    /// End the input once no entry is new and none is pending in the whole
    /// group; otherwise read until the context ends.
    pub exit_when_idle: bool,
}

/// Counters of what the input has read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadCounts {
    /// New entries read with `XREADGROUP`.
    pub read: u64,
    /// Entries taken over from other consumers with `XAUTOCLAIM`.
    pub claimed: u64,
}

/// The jobs stream as an iterator of jobs: hands out the entries of the
/// last read, and when they are gone claims (`XAUTOCLAIM`) and reads
/// (`XREADGROUP ... BLOCK`) more, checking the context between reads.
///
/// Each job's id is its entry id. A Redis error ends the iterator and is
/// kept in the slot given to [`StreamInput::new`].
pub struct StreamInput {
    conn: Connection,
    keys: Keys,
    options: ReadOptions,
    ctx: Context,
    buffer: VecDeque<StreamId>,
    claim_cursor: String,
    next_claim: Instant,
    ended: bool,
    counts: Arc<Mutex<ReadCounts>>,
    error: Arc<Mutex<Option<RedisError>>>,
}

impl std::fmt::Debug for StreamInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamInput")
            .field("keys", &self.keys)
            .field("options", &self.options)
            .field("buffered", &self.buffer.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl StreamInput {
    /// The input of a run: reads with `conn` until `ctx` ends (or, with
    /// `exit_when_idle`, until the group has nothing left); counts into
    /// `counts`, and leaves the first Redis error in `error`.
    pub fn new(
        conn: Connection,
        keys: &Keys,
        options: ReadOptions,
        ctx: &Context,
        counts: Arc<Mutex<ReadCounts>>,
        error: Arc<Mutex<Option<RedisError>>>,
    ) -> StreamInput {
        StreamInput {
            conn,
            keys: keys.clone(),
            options,
            ctx: ctx.clone(),
            buffer: VecDeque::new(),
            claim_cursor: "0-0".to_string(),
            next_claim: Instant::now(),
            ended: false,
            counts,
            error,
        }
    }

    /// Reads more entries into the buffer. `Ok(false)`: the input is over
    /// (`exit_when_idle` and nothing left).
    fn fill(&mut self) -> RedisResult<bool> {
        if Instant::now() >= self.next_claim && self.claim()? > 0 {
            return Ok(true);
        }
        let options = StreamReadOptions::default()
            .group(&self.keys.group, &self.options.consumer)
            .count(self.options.count)
            .block(
                self.options
                    .block
                    .as_millis()
                    .try_into()
                    .unwrap_or(usize::MAX),
            );
        let reply: Option<StreamReadReply> =
            self.conn
                .xread_options(&[&self.keys.jobs], &[">"], &options)?;
        let entries: Vec<StreamId> = reply
            .into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|key| key.ids)
            .collect();
        if !entries.is_empty() {
            self.add(|c| c.read += entries.len() as u64);
            self.buffer.extend(entries);
            return Ok(true);
        }
        // Nothing new: take over what others left, or see whether the
        // whole group is done.
        if self.claim()? > 0 {
            return Ok(true);
        }
        if self.options.exit_when_idle {
            let pending: redis::streams::StreamPendingReply =
                self.conn.xpending(&self.keys.jobs, &self.keys.group)?;
            return Ok(pending.count() > 0);
        }
        Ok(true)
    }

    /// One `XAUTOCLAIM` step from the cursor; returns how many entries it
    /// took over.
    fn claim(&mut self) -> RedisResult<usize> {
        let idle: usize = self
            .options
            .claim_idle
            .as_millis()
            .try_into()
            .unwrap_or(usize::MAX);
        let reply: StreamAutoClaimReply = self.conn.xautoclaim_options(
            &self.keys.jobs,
            &self.keys.group,
            &self.options.consumer,
            idle,
            &self.claim_cursor,
            StreamAutoClaimOptions::default().count(self.options.count),
        )?;
        self.claim_cursor = reply.next_stream_id;
        if self.claim_cursor == "0-0" {
            // A full pass over the pending entries: wait a while before the
            // next one.
            self.next_claim = Instant::now() + self.options.claim_idle / 2;
        }
        let claimed = reply.claimed.len();
        self.add(|c| c.claimed += claimed as u64);
        self.buffer.extend(reply.claimed);
        Ok(claimed)
    }

    fn add(&self, change: impl FnOnce(&mut ReadCounts)) {
        change(&mut self.counts.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl Iterator for StreamInput {
    type Item = Job<Task>;

    /// The next entry as a job; after the input ended, only what is still
    /// buffered (never a new read).
    fn next(&mut self) -> Option<Job<Task>> {
        loop {
            if let Some(entry) = self.buffer.pop_front() {
                let payload = Payload::parse(&entry);
                let task = Task {
                    entry: entry.id.clone(),
                    payload,
                };
                return Some(Job::new(entry.id, task));
            }
            if self.ended || self.ctx.err().is_some() {
                self.ended = true;
                return None;
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => self.ended = true,
                Err(error) => {
                    self.ended = true;
                    *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                }
            }
        }
    }
}
