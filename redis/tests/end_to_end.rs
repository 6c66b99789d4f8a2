//! Three worker processes against a real `redis-server`: 20,000 jobs, one
//! worker killed with SIGKILL mid-run (and a replacement started), another
//! stopped with SIGINT; every job ends with exactly one record, nothing is
//! left pending, and the dead letters are exactly the jobs made to fail.
//!
//! Run with `-- --nocapture` to see the figures.

mod common;

use std::io::Read;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use common::{Guarded, RedisServer, poll, program, report_field, watchdog};
use redis::Commands;
use redis::streams::StreamPendingReply;
use wpool_redis::{Keys, Mode, Plan};

const JOBS: u64 = 20_000;
/// About 0.4 ms a job in a debug build: the run lasts several seconds, so
/// the kill and the SIGINT land mid-run.
const ROUNDS: u32 = 20_000;
/// A worker takes over entries pending this long for another consumer.
const CLAIM_IDLE_MS: u64 = 1_000;

fn plan() -> Plan {
    Plan {
        jobs: JOBS,
        rounds: ROUNDS,
        fail_every: 1_000,
        flaky_every: 97,
    }
}

fn worker(url: &str, name: &str) -> Guarded {
    let claim_idle = CLAIM_IDLE_MS.to_string();
    let child = program(&[
        "worker",
        "--redis",
        url,
        "--consumer",
        name,
        "--threads",
        "2",
        "--count",
        "50",
        "--claim-idle-ms",
        &claim_idle,
        "--exit-when-idle",
    ])
    .spawn()
    .expect("start a worker");
    Guarded(child)
}

/// Waits for the worker to exit (it exits by itself) and returns its
/// status and its stderr.
fn finish(mut worker: Guarded, limit: Duration) -> (ExitStatus, String) {
    let status = poll("a worker to exit", limit, || {
        worker.0.try_wait().ok().flatten()
    });
    let mut stderr = String::new();
    if let Some(mut pipe) = worker.0.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status, stderr)
}

fn pending_of(conn: &mut redis::Connection, keys: &Keys, consumer: &str) -> usize {
    let reply: StreamPendingReply = conn.xpending(&keys.jobs, &keys.group).expect("XPENDING");
    match reply {
        StreamPendingReply::Empty => 0,
        StreamPendingReply::Data(data) => data
            .consumers
            .iter()
            .find(|c| c.name == consumer)
            .map_or(0, |c| c.pending),
    }
}

#[test]
fn killed_and_stopped_workers_lose_nothing() {
    watchdog(Duration::from_secs(240), || {
        let server = RedisServer::start();
        let url = server.url();
        let keys = Keys::new("wpool");
        let mut conn = server.connect();
        let plan = plan();

        let started = Instant::now();
        let produce = program(&[
            "produce",
            "--redis",
            &url,
            "--jobs",
            &JOBS.to_string(),
            "--rounds",
            &ROUNDS.to_string(),
            "--fail-every",
            "1000",
            "--flaky-every",
            "97",
        ])
        .output()
        .expect("run the producer");
        assert!(
            produce.status.success(),
            "producer: {}",
            String::from_utf8_lossy(&produce.stderr)
        );
        let produced = started.elapsed();

        let run_started = Instant::now();
        let a = worker(&url, "a");
        let b = worker(&url, "b");
        let c = worker(&url, "c");
        let results =
            |conn: &mut redis::Connection| -> usize { conn.xlen(&keys.results).expect("XLEN") };

        // SIGKILL `a` a fifth of the way in, and start a replacement.
        poll("a fifth of the results", Duration::from_secs(60), || {
            (results(&mut conn) >= (JOBS / 5) as usize).then_some(())
        });
        let mut a = a;
        let a_pending = pending_of(&mut conn, &keys, "a");
        a.0.kill().expect("SIGKILL a");
        let killed_at = Instant::now();
        let results_at_kill = results(&mut conn);
        let a2 = worker(&url, "a2");
        // Its pending entries are claimed once idle for CLAIM_IDLE_MS.
        poll("a's entries to be claimed", Duration::from_secs(30), || {
            (pending_of(&mut conn, &keys, "a") == 0).then_some(())
        });
        let a_claimed_after = killed_at.elapsed();

        // SIGINT `b` halfway: it finishes its running jobs, commits them,
        // and hands back what it never started.
        poll("half the results", Duration::from_secs(60), || {
            (results(&mut conn) >= (JOBS / 2) as usize).then_some(())
        });
        let b_pending = pending_of(&mut conn, &keys, "b");
        let interrupted_at = Instant::now();
        let results_at_interrupt = results(&mut conn);
        let kill = Command::new("kill")
            .args(["-INT", &b.0.id().to_string()])
            .status()
            .expect("run kill");
        assert!(kill.success());
        let (b_status, b_report) = finish(b, Duration::from_secs(10));
        let b_stopped_after = interrupted_at.elapsed();
        assert_eq!(b_status.code(), Some(130), "b after SIGINT: {b_report}");
        poll(
            "b's handed-back entries to be claimed",
            Duration::from_secs(30),
            || (pending_of(&mut conn, &keys, "b") == 0).then_some(()),
        );
        let b_claimed_after = interrupted_at.elapsed();

        let (a2_status, a2_report) = finish(a2, Duration::from_secs(120));
        let (c_status, c_report) = finish(c, Duration::from_secs(120));
        let run_took = run_started.elapsed();
        assert!(a2_status.success(), "a2: {a2_report}");
        assert!(c_status.success(), "c: {c_report}");

        // Every job has exactly one record, the right one.
        let tally = wpool_redis::collect(&mut conn, &keys).expect("collect");
        let duplicates: u64 = tally.duplicates.values().sum();
        assert_eq!(duplicates, 0, "duplicate results: {:?}", tally.duplicates);
        for payload in plan.payloads() {
            let job = payload.job;
            match payload.mode {
                Mode::Fail => {
                    assert_eq!(
                        tally.dead.get(&job).map(String::as_str),
                        Some("permanent: made to fail")
                    );
                    assert!(
                        !tally.outputs.contains_key(&job),
                        "job {job} failed and succeeded"
                    );
                }
                Mode::Ok | Mode::Flaky => {
                    assert_eq!(
                        tally.outputs.get(&job),
                        Some(&wpool_redis::work(job, ROUNDS)),
                        "job {job}"
                    );
                }
            }
        }
        let flaky = plan.payloads().filter(|p| p.mode == Mode::Flaky).count() as u64;
        let failing = plan.payloads().filter(|p| p.mode == Mode::Fail).count();
        assert_eq!(tally.dead.len(), failing);
        assert_eq!(
            tally.retried, flaky,
            "each flaky job succeeds on its second attempt"
        );
        let dead_len: usize = conn.xlen(&keys.dead).expect("XLEN");
        assert_eq!(
            results(&mut conn) + dead_len,
            JOBS as usize,
            "one record per job"
        );
        let pending: StreamPendingReply = conn.xpending(&keys.jobs, &keys.group).expect("XPENDING");
        assert_eq!(pending.count(), 0, "nothing left pending");

        // The collector program reports the same.
        let collect = program(&["collect", "--redis", &url])
            .output()
            .expect("run the collector");
        let collected = String::from_utf8_lossy(&collect.stdout);
        assert!(
            collected.contains(&format!("succeeded: {} jobs", JOBS as usize - failing)),
            "{collected}"
        );
        assert!(
            collected.contains(&format!("dead-lettered: {failing} jobs")),
            "{collected}"
        );
        assert!(collected.contains("duplicate results: 0"), "{collected}");

        let field = |report: &str, key: &str| report_field(report, key).unwrap_or(0);
        let discarded: u64 = [&b_report, &a2_report, &c_report]
            .iter()
            .map(|r| field(r, "discarded"))
            .sum();
        let claimed: u64 = [&b_report, &a2_report, &c_report]
            .iter()
            .map(|r| field(r, "claimed"))
            .sum();
        eprintln!(
            "figures: {JOBS} jobs ({failing} made to fail, {flaky} flaky), produced in {produced:.2?}, run {run_took:.2?}"
        );
        eprintln!(
            "figures: SIGKILL a at {results_at_kill} results with {a_pending} entries pending for it; \
             all claimed by others {a_claimed_after:.2?} after the kill (claim idle {CLAIM_IDLE_MS} ms)"
        );
        eprintln!(
            "figures: SIGINT b at {results_at_interrupt} results with {b_pending} entries pending for it; \
             b exited (130) {b_stopped_after:.2?} later having handed back {}; all claimed {b_claimed_after:.2?} after the SIGINT",
            field(&b_report, "handed_back")
        );
        eprintln!(
            "figures: entries claimed in all {claimed}; records discarded as duplicates {discarded}; \
             duplicate results 0; dead letters {}; nothing pending",
            tally.dead.len()
        );
        for report in [&b_report, &a2_report, &c_report] {
            if let Some(line) = report.lines().find(|l| l.starts_with("report:")) {
                eprintln!("figures: {line}");
            }
        }
        drop(server);
    });
}
