//! Helpers shared by the tests: a watchdog, a `redis-server` of the test's
//! own on 127.0.0.1 that is killed on drop, bounded polling, and the
//! worker program.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// The root crate's test helpers, shared rather than copied.
#[path = "../../../tests/common/mod.rs"]
mod shared;

/// Runs `body` on its own thread and fails the test if it has not finished
/// within `limit` (the root crate's `watchdog_for`).
pub use shared::watchdog_for as watchdog;

/// Calls `check` every 10 ms until it returns `Some`, for at most `limit`.
///
/// # Panics
///
/// When `limit` passes first, naming `what`.
pub fn poll<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + limit;
    let tick = crossbeam_channel::never::<()>();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < give_up, "waited {limit:?} for {what}");
        let _ = tick.recv_timeout(Duration::from_millis(10));
    }
}

/// A `redis-server` on 127.0.0.1 at a free port, with no persistence, in a
/// temporary directory; killed (and reaped) when dropped, whatever happens.
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts the server and waits (at most 10 s) until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed (the message says how to get
    /// it), or does not come up.
    pub fn start() -> RedisServer {
        let program = std::env::var_os("WPOOL_REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        let dir = tempfile::tempdir().expect("a temporary directory");
        // A free port: the OS picks one, then it is let go for the server.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&program)
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}. These tests need a Redis server (7.0 or later): \
                     `apt-get install redis-server` on Debian or Ubuntu (`.ci/run` does it), \
                     `brew install redis` on macOS, or set WPOOL_REDIS_SERVER to its path.",
                    program.display()
                )
            });
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        poll(
            "redis-server to answer PING",
            Duration::from_secs(10),
            || {
                let mut conn = server.client().get_connection().ok()?;
                redis::cmd("PING").query::<String>(&mut conn).ok()
            },
        );
        server
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A client for the server.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid URL")
    }

    /// A connection to the server.
    pub fn connect(&self) -> redis::Connection {
        self.client()
            .get_connection()
            .expect("a connection to the test server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `wpool-redis` program with `args`, its stderr piped (for the
/// worker's report line), its stdout piped.
pub fn program(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wpool-redis"));
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A child process that is killed (and reaped) on drop, so that a failed
/// test leaves no worker behind.
pub struct Guarded(pub Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of `key=` in a worker's `report:` line.
pub fn report_field(report: &str, key: &str) -> Option<u64> {
    let line = report.lines().rev().find(|l| l.starts_with("report:"))?;
    let prefix = format!("{key}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&prefix))?
        .parse()
        .ok()
}
