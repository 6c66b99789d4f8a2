//! `checksum`: a parallel `sha256sum` on a wpool run.
//!
//! It prints the SHA-256 of every file under the given paths (the current
//! directory by default) in exactly `sha256sum`'s format, so that
//! `sha256sum -c` checks its output:
//!
//! ```text
//! cargo run --release --example checksum -- src             # hash src/ recursively
//! cargo run --release --example checksum -- src tests > SUMS
//! sha256sum -c --quiet SUMS
//! cargo run --release --example checksum -- --ordered --workers 8 --timeout 30 ~/photos
//! ```
//!
//! Options: `--ordered` (print in walk order instead of completion order),
//! `--workers N` (default: one per CPU), `--timeout SECS` (a deadline for the
//! whole run), `--timeout-per-file SECS` (give up on one file, go on with
//! the others), `--fail-fast` (stop at the first file that fails), `--help`.
//! `clap` parses them (the `Options` struct below).
//!
//! How it uses wpool:
//!
//! - The directory walk is lazy: the `walkdir` iterator, mapped to one
//!   [`Job`] per entry, goes straight into [`WorkerPool::run`], whose feeder
//!   thread pulls it. A tree of a million files starts hashing at once and
//!   never sits in memory. Each job's id is its index in the walk.
//! - One job function is shared by all jobs. It reads the file in 64 KiB
//!   chunks into its worker's buffer (made once per worker with
//!   [`RunBuilder::worker_state`](wpool::RunBuilder::worker_state)) and
//!   calls [`Context::check`] between chunks, so Ctrl-C (which cancels the
//!   context), `--timeout` or `--timeout-per-file` (each file's own
//!   context, [`RunBuilder::job_timeout`](wpool::RunBuilder::job_timeout))
//!   stops a big file within a chunk. `--fail-fast` is the run's own
//!   policy, [`RunBuilder::fail_fast`](wpool::RunBuilder::fail_fast).
//! - Results are read like an iterator, in completion order. `--ordered`
//!   runs the pool in [`Order::Input`]: the run hands out the results in
//!   walk order, and its window of [`ORDER_WINDOW_PER_WORKER`] files per
//!   worker bounds what waits behind a slow file: once the oldest
//!   unfinished file holds the window full, the walk pauses until that
//!   file is done, so memory stays flat however many files follow it.
//! - The progress bar on stderr reads [`Run::counts`](wpool::Run::counts)
//!   and a byte counter the jobs add to. It is hidden unless stderr is a
//!   terminal.
//! - After the run, [`Run::wait`](wpool::Run::wait) returns the
//!   [`Summary`](wpool::Summary); its `unstarted` jobs are the files a
//!   cancelled run never got to.
//!
//! What counts as a file: every entry of the walk that is not a directory,
//! as with `find PATH ! -type d | xargs sha256sum`. Symbolic links are not
//! descended into (except a link given on the command line) but are
//! followed the way `sha256sum` follows them: a link to a regular file is
//! hashed under the link's path, a broken link fails as "vanished (not
//! found)", and a link to anything else fails as "not a regular file", as
//! do FIFOs, sockets and devices (which are never opened; a file swapped
//! for a FIFO between the check and the open would still block). Walk
//! errors (an unreadable or vanished directory, a missing argument) become
//! jobs that fail with their path, so every problem is reported in one
//! place.
//!
//! Output: each line is written whole (buffered, flushed every 100 ms, or
//! at once when stdout is a terminal). Names holding a backslash, newline or
//! carriage return are escaped as GNU `sha256sum` (coreutils 9) does: the
//! line starts with `\`, and the name has `\\`, `\n` and `\r`. Failures go
//! to stderr as they happen; a summary (hashed, failed by reason, cancelled,
//! not started) ends the run on stderr.
//!
//! Exit status: 0 when every file was hashed, 1 when some failed (also with
//! `--fail-fast`), 2 for a bad argument, 124 when `--timeout` expired (as
//! `timeout(1)` does), 130 after Ctrl-C. A second Ctrl-C exits at once.
//!
//! Testing aids: `WPOOL_CHECKSUM_THROTTLE_MS=N` makes every chunk wait N ms
//! (with [`Context::sleep`], so cancelling still stops it at once), which
//! lets the tests interrupt a run halfway without gigabytes of data.
//! `WPOOL_CHECKSUM_READ_FIFOS=1` hashes FIFOs, as `sha256sum` does, instead
//! of refusing them, so that a test can hold a file back for as long as it
//! needs: the job waits in `open` for a writer and reads until it closes
//! (where no cancel reaches it).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Read, StdoutLock, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;
use wpool::{Context, ContextError, Job, NextTimeoutError, Order, Outcome, WorkerPool};

/// Bytes read per step; the job checks its context between steps.
const CHUNK: usize = 64 * 1024;
/// How often the progress bar is updated and pending output flushed.
const TICK: Duration = Duration::from_millis(100);
/// `--ordered`: the input-order window, in files per worker. Behind a slow
/// file the walk goes on until the window is full. A place holds a path, or
/// a path and its digest: ~200 bytes (4 KiB paths at most), so ~100 KB a
/// worker. Over the cargo registry's sources (8,519 files, 2 workers), 4 a
/// worker made `--ordered` take 2.2x as long as the unordered run; with 512
/// it takes no longer.
const ORDER_WINDOW_PER_WORKER: usize = 512;

/// Prints the SHA-256 of every file under each PATH in sha256sum's format.
#[derive(Parser)]
#[command(name = "checksum")]
struct Options {
    /// Files and directories to hash; directories are walked recursively
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    /// Print in walk order (default: as files finish)
    #[arg(long)]
    ordered: bool,
    /// Hash N files at a time [default: one per CPU]
    #[arg(long, value_name = "N")]
    workers: Option<NonZeroUsize>,
    /// Give up after SECS seconds (exit status 124)
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    timeout: Option<Duration>,
    /// Stop at the first file that cannot be hashed
    #[arg(long)]
    fail_fast: bool,
    /// Give up on a file after SECS seconds, and go on with the others
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    timeout_per_file: Option<Duration>,
}

/// Parses `--timeout`: seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs = text.parse::<f64>().map_err(|err| err.to_string())?;
    Duration::try_from_secs_f64(secs).map_err(|err| err.to_string())
}

/// Testing aids, from the environment (see the top of this file).
#[derive(Clone, Copy)]
struct Aids {
    throttle: Option<Duration>,
    read_fifos: bool,
}

/// What one job works on: a path the walk found, or the walk's own error
/// for a path, which the job simply returns as its failure.
enum Target {
    File(PathBuf),
    WalkError(HashError),
}

/// What a successful job returns.
struct Hashed {
    path: PathBuf,
    digest: [u8; 32],
    bytes: u64,
}

/// Why a path was not hashed.
#[derive(Debug)]
struct HashError {
    path: PathBuf,
    reason: Reason,
}

#[derive(Debug)]
enum Reason {
    PermissionDenied,
    /// Not found: deleted since the walk saw it, or a broken symlink.
    Vanished,
    /// A directory, FIFO, socket or device: what it is.
    NotRegular(&'static str),
    Other(io::Error),
    /// The run was cancelled (Ctrl-C, `--fail-fast`) or timed out mid-file.
    Stopped(ContextError),
}

impl Reason {
    fn from_io(err: io::Error) -> Reason {
        match err.kind() {
            io::ErrorKind::PermissionDenied => Reason::PermissionDenied,
            io::ErrorKind::NotFound => Reason::Vanished,
            io::ErrorKind::IsADirectory => Reason::NotRegular("a directory"),
            _ => Reason::Other(err),
        }
    }

    /// The group this reason is counted under in the summary.
    fn group(&self) -> &'static str {
        match self {
            Reason::PermissionDenied => "permission denied",
            Reason::Vanished => "vanished (not found)",
            Reason::NotRegular(_) => "not a regular file",
            Reason::Other(_) => "other",
            Reason::Stopped(_) => "cancelled",
        }
    }
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.reason {
            Reason::NotRegular(what) => write!(f, "{path}: not a regular file ({what})"),
            Reason::Other(err) => write!(f, "{path}: {err}"),
            Reason::Stopped(err) => write!(f, "{path}: {err}"),
            Reason::Vanished => write!(f, "{path}: not found (vanished, or a broken symlink)"),
            Reason::PermissionDenied => write!(f, "{path}: permission denied"),
        }
    }
}

impl std::error::Error for HashError {}

/// Describes a file that is not a regular file.
fn kind_of(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        } else if kind.is_socket() {
            return "a socket";
        } else if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    "a special file"
}

/// The lazy walk: one job per entry that is not a directory, numbered in
/// walk order. `sizes`, when given, adds up the bytes found, for the
/// progress bar's total (one `lstat` per file, so only when it is shown).
fn walk(
    roots: Vec<PathBuf>,
    sizes: Option<Arc<AtomicU64>>,
) -> impl Iterator<Item = Job<Target>> + Send + 'static {
    roots
        .into_iter()
        .flat_map(|root| WalkDir::new(root).follow_links(false))
        .filter_map(move |entry| match entry {
            Ok(entry) if entry.file_type().is_dir() => None,
            Ok(entry) => {
                if let Some(sizes) = &sizes {
                    let len = entry.metadata().map_or(0, |meta| meta.len());
                    sizes.fetch_add(len, Ordering::Relaxed);
                }
                Some(Target::File(entry.into_path()))
            }
            Err(err) => {
                let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                let reason = match err.into_io_error() {
                    Some(io_err) => Reason::from_io(io_err),
                    None => Reason::Other(io::Error::other("filesystem loop")),
                };
                Some(Target::WalkError(HashError { path, reason }))
            }
        })
        .enumerate()
        .map(|(index, target)| Job::new(index as u64, target))
}

/// The job function: hashes one file, chunk by chunk, stopping early once
/// `ctx` ends.
fn hash_file(
    buffer: &mut [u8],
    ctx: &Context,
    path: PathBuf,
    hashed: &AtomicU64,
    aids: Aids,
) -> Result<Hashed, HashError> {
    let fail = |reason| HashError {
        path: path.clone(),
        reason,
    };
    // `metadata` follows symlinks, as sha256sum does when it opens a path.
    // Checking first means a FIFO is never opened (which would block).
    let meta = fs::metadata(&path).map_err(|err| fail(Reason::from_io(err)))?;
    let fifo_allowed = aids.read_fifos && kind_of(&meta) == "a FIFO";
    if !meta.is_file() && !fifo_allowed {
        return Err(fail(Reason::NotRegular(kind_of(&meta))));
    }
    let mut file = File::open(&path).map_err(|err| fail(Reason::from_io(err)))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0;
    loop {
        match aids.throttle {
            Some(pause) => ctx.sleep(pause),
            None => ctx.check(),
        }
        .map_err(|err| fail(Reason::Stopped(err)))?;
        let n = match file.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(fail(Reason::from_io(err))),
        };
        hasher.update(&buffer[..n]);
        bytes += n as u64;
        hashed.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(Hashed {
        path,
        digest: hasher.finalize().into(),
        bytes,
    })
}

/// One line of `sha256sum` output, escaped as GNU `sha256sum` does.
fn sha256sum_line(digest: &[u8; 32], path: &Path) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let name = path_bytes(path);
    let escape = name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut line = Vec::with_capacity(name.len() + 70);
    if escape {
        line.push(b'\\');
    }
    for byte in digest {
        line.extend([HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
    }
    line.extend_from_slice(b"  ");
    for &byte in name.iter() {
        match byte {
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            _ => line.push(byte),
        }
    }
    line.push(b'\n');
    line
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().into()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    path.to_string_lossy().into_owned().into_bytes().into()
}

/// A finished job, as it will be reported.
enum Report {
    Line(Vec<u8>),
    Failure(String),
    Nothing,
}

/// Writes reports as the run hands them out (in walk order with
/// `--ordered`). Stdout only ever receives whole lines: they are buffered,
/// and flushed every tick (or each one at once when stdout is a terminal).
struct Printer {
    out: BufWriter<StdoutLock<'static>>,
    to_terminal: bool,
    bar: ProgressBar,
}

impl Printer {
    fn emit(&mut self, report: Report) {
        match report {
            Report::Line(line) => {
                self.out.write_all(&line).unwrap_or_else(stdout_failed);
                if self.to_terminal {
                    self.flush();
                }
            }
            Report::Failure(message) => {
                self.flush();
                self.bar.suspend(|| eprintln!("checksum: {message}"));
            }
            Report::Nothing => {}
        }
    }

    fn flush(&mut self) {
        let flushed = if self.to_terminal {
            self.bar.suspend(|| self.out.flush())
        } else {
            self.out.flush()
        };
        flushed.unwrap_or_else(stdout_failed);
    }
}

/// Stdout is gone (say, `checksum | head`): stop, as `sha256sum` would.
fn stdout_failed(err: io::Error) {
    eprintln!("checksum: stdout: {err}");
    std::process::exit(1);
}

/// What the results were, for the summary.
#[derive(Default)]
struct Tally {
    hashed: u64,
    bytes: u64,
    failed: BTreeMap<&'static str, u64>,
    cancelled: u64,
}

impl Tally {
    /// Counts one result and turns it into a report. A job counts as
    /// cancelled only if it stopped because of the context: a file that
    /// failed for its own reason after a cancel is still a failure.
    fn record(&mut self, index: u64, outcome: Outcome<Hashed, HashError>) -> Report {
        match outcome {
            Outcome::Succeeded(file) => {
                self.hashed += 1;
                self.bytes += file.bytes;
                Report::Line(sha256sum_line(&file.digest, &file.path))
            }
            Outcome::Failed(err) | Outcome::Cancelled(err) => {
                if let Reason::Stopped(_) = err.reason {
                    self.cancelled += 1;
                    return Report::Nothing;
                }
                *self.failed.entry(err.reason.group()).or_default() += 1;
                Report::Failure(err.to_string())
            }
            Outcome::Panicked(panic) => {
                *self.failed.entry("other").or_default() += 1;
                Report::Failure(format!("file #{index}: {panic}"))
            }
            Outcome::TimedOut(err) => {
                *self.failed.entry("timed out").or_default() += 1;
                Report::Failure(match err {
                    Some(err) => format!("{}: timed out", err.path.display()),
                    None => format!("file #{index}: timed out"),
                })
            }
            _ => {
                *self.failed.entry("other").or_default() += 1;
                Report::Failure(format!("file #{index}: ended in an unknown way"))
            }
        }
    }

    fn failures(&self) -> u64 {
        self.failed.values().sum()
    }
}

fn progress_bar() -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} {elapsed} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()).with_style(style)
}

fn main() -> ExitCode {
    // `--help` prints to stdout and exits 0; a bad argument exits 2.
    let options = Options::parse();
    let aids = Aids {
        throttle: std::env::var("WPOOL_CHECKSUM_THROTTLE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(Duration::from_millis),
        read_fifos: std::env::var_os("WPOOL_CHECKSUM_READ_FIFOS").is_some_and(|on| on == "1"),
    };

    // Ctrl-C cancels `interruptible`; the timeout, if any, is its child.
    let interruptible = Context::with_cancel(&Context::background());
    let ctx = match options.timeout {
        Some(timeout) => Context::with_timeout(&interruptible, timeout),
        None => interruptible.clone(),
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let handler = {
        let (ctx, interrupted) = (interruptible.clone(), interrupted.clone());
        move || {
            if interrupted.swap(true, Ordering::SeqCst) {
                std::process::exit(130); // the second Ctrl-C: stop waiting
            }
            ctx.cancel();
        }
    };
    if let Err(err) = ctrlc::set_handler(handler) {
        eprintln!("checksum: warning: cannot handle Ctrl-C: {err}");
    }

    let bar = progress_bar();
    let found = (!bar.is_hidden()).then(|| Arc::new(AtomicU64::new(0)));
    let hashed = Arc::new(AtomicU64::new(0));
    let workers = options
        .workers
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let pool = match WorkerPool::new(workers) {
        Ok(pool) if options.ordered => pool
            .with_order(Order::Input)
            .with_order_window(workers.saturating_mul(ORDER_WINDOW_PER_WORKER)),
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("checksum: {err}");
            return ExitCode::from(2);
        }
    };
    let jobs = walk(options.paths, found.clone());
    let job_fn = {
        let hashed = hashed.clone();
        move |buffer: &mut Vec<u8>, ctx: &Context, target: Target| match target {
            Target::File(path) => hash_file(buffer, ctx, path, &hashed, aids),
            Target::WalkError(err) => Err(err),
        }
    };
    let mut policies = pool.run_builder();
    if options.fail_fast {
        // The run cancels itself at the first file that fails.
        policies = policies.fail_fast();
    }
    if let Some(timeout) = options.timeout_per_file {
        policies = policies.job_timeout(timeout);
    }
    // Each worker's read buffer, made once and reused for every file.
    let policies = policies.worker_state(|| Ok::<_, Infallible>(vec![0; CHUNK]));
    let mut run = match policies.run(&ctx, jobs, job_fn) {
        Ok(run) => run,
        Err(err) => {
            eprintln!("checksum: {err}");
            return ExitCode::FAILURE;
        }
    };

    let stdout = io::stdout();
    let mut printer = Printer {
        to_terminal: stdout.is_terminal(),
        out: BufWriter::with_capacity(64 * 1024, stdout.lock()),
        bar: bar.clone(),
    };
    let mut tally = Tally::default();
    let mut last_tick = Instant::now();
    loop {
        match run.next_timeout(TICK) {
            Ok(result) => {
                let (descriptor, outcome) = result.into_parts();
                let index = descriptor.id().as_u64().expect("ids are walk indices");
                let report = tally.record(index, outcome);
                printer.emit(report);
            }
            Err(NextTimeoutError::Timeout) => {}
            Err(NextTimeoutError::Finished) => break,
            Err(other) => panic!("unexpected {other}"),
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            printer.flush();
            let counts = run.counts();
            let done = hashed.load(Ordering::Relaxed);
            let total = found
                .as_ref()
                .map_or(0, |found| found.load(Ordering::Relaxed));
            bar.set_length(total.max(done));
            bar.set_position(done);
            bar.set_message(format!("{}/{} files", counts.finished(), counts.submitted));
        }
    }
    printer.flush();
    bar.finish_and_clear();
    let summary = run.wait();

    let mut line = format!(
        "checksum: {} hashed ({})",
        tally.hashed,
        HumanBytes(tally.bytes)
    );
    if tally.failures() > 0 {
        let groups: Vec<String> = tally
            .failed
            .iter()
            .map(|(group, n)| format!("{n} {group}"))
            .collect();
        line += &format!(", {} failed ({})", tally.failures(), groups.join(", "));
    }
    if tally.cancelled > 0 || !summary.unstarted.is_empty() {
        line += &format!(
            ", {} cancelled, {} not started",
            tally.cancelled,
            summary.unstarted.len()
        );
    }
    // The run was cut short if some file was cancelled or never started.
    // (`cancelled_by` alone would also report a deadline that passed while
    // the run wound down, after the last file was done.)
    let stopped = tally.cancelled > 0 || !summary.unstarted.is_empty();
    let (code, why) = if interrupted.load(Ordering::SeqCst) {
        (130, "; interrupted")
    } else if stopped && summary.cancelled_by == Some(ContextError::DeadlineExceeded) {
        (124, "; timed out")
    } else if summary.tripped_by.is_some() {
        (1, "; stopped at the first failure")
    } else {
        (u8::from(tally.failures() > 0), "")
    };
    line += why;
    if let Some(panic) = summary.input_panic {
        line += &format!("; the walk failed: {panic}");
    }
    eprintln!("{line}");
    ExitCode::from(code)
}
