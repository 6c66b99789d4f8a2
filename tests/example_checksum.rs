//! Runs `examples/checksum.rs` as a process and holds it to `sha256sum`:
//! same output, accepted by `sha256sum -c`, failures reported, Ctrl-C and
//! `--timeout` handled with the documented exit codes.
#![cfg(unix)]

mod common;

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::watchdog_for;
use tempfile::TempDir;
use walkdir::WalkDir;

/// Room for building the example (once per test binary) and running it.
const LIMIT: Duration = Duration::from_secs(60);

/// Builds the example once, in the profile of these tests, and returns the
/// path of its binary as Cargo reports it.
fn checksum_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "build",
                "--example",
                "checksum",
                "--message-format=json-render-diagnostics",
            ])
            .stderr(Stdio::inherit());
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        let output = cargo.output().expect("run cargo build");
        assert!(
            output.status.success(),
            "cargo build --example checksum failed"
        );
        // The artifact message of the example names its binary:
        // {"reason":"compiler-artifact", ..., "executable":"/.../checksum", ...}
        let stdout = String::from_utf8(output.stdout).expect("cargo's JSON is UTF-8");
        let executable = stdout
            .lines()
            .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
            .find_map(|line| line.split(r#""executable":""#).nth(1)?.split('"').next())
            .expect("cargo reports the example's binary");
        PathBuf::from(executable)
    })
}

fn checksum(args: &[&OsStr]) -> Output {
    Command::new(checksum_bin())
        .args(args)
        .output()
        .expect("run checksum")
}

fn sha256sum(args: &[&OsStr]) -> Output {
    Command::new("sha256sum")
        .args(args)
        .output()
        .expect("run sha256sum")
}

/// The lines of `bytes`, sorted; names may not be UTF-8.
fn sorted_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    lines.sort();
    lines
}

/// Pseudo-random bytes (xorshift), so files are binary and distinct.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A tree of 300 small files in 30 nested folders (every seventh one
/// empty), one 20 MB file, and names `sha256sum` must escape or that are
/// not UTF-8.
fn make_tree() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for n in 0..300usize {
        let folder = dir
            .path()
            .join(format!("d{}", n % 6))
            .join(format!("e{}", n % 5));
        fs::create_dir_all(&folder).unwrap();
        let len = if n % 7 == 0 { 0 } else { n * 7919 % 20_000 };
        fs::write(folder.join(format!("f{n}.bin")), noise(n as u64, len)).unwrap();
    }
    fs::write(dir.path().join("big.bin"), noise(1, 20 << 20)).unwrap();
    for name in [
        &b"back\\slash"[..],
        b"new\nline",
        b"carriage\rreturn",
        b"latin1-\xe9",
        b"two  spaces",
    ] {
        fs::write(dir.path().join(OsStr::from_bytes(name)), name).unwrap();
    }
    dir
}

/// The regular files under `root`, in walkdir's order (the example's).
fn files_in_walk_order(root: &Path) -> Vec<PathBuf> {
    WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .collect()
}

#[test]
fn output_matches_sha256sum_and_passes_its_check() {
    watchdog_for(LIMIT, || {
        let tree = make_tree();
        let files = files_in_walk_order(tree.path());
        assert_eq!(files.len(), 306);
        let ours = checksum(&["--workers".as_ref(), "4".as_ref(), tree.path().as_ref()]);
        let stderr = String::from_utf8_lossy(&ours.stderr);
        assert_eq!(ours.status.code(), Some(0), "stderr: {stderr}");
        assert!(stderr.contains("306 hashed"), "stderr: {stderr}");

        let args: Vec<&OsStr> = files.iter().map(|path| path.as_os_str()).collect();
        let theirs = sha256sum(&args);
        assert!(theirs.status.success());
        assert_eq!(sorted_lines(&ours.stdout), sorted_lines(&theirs.stdout));

        let sums = tree.path().join("SUMS");
        fs::write(&sums, &ours.stdout).unwrap();
        let check = sha256sum(&["-c".as_ref(), "--quiet".as_ref(), sums.as_os_str()]);
        assert!(
            check.status.success(),
            "sha256sum -c: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    });
}

#[test]
fn ordered_output_follows_the_walk() {
    watchdog_for(LIMIT, || {
        let tree = make_tree();
        // `sha256sum` prints in argument order: the walk's order here.
        let files = files_in_walk_order(tree.path());
        let args: Vec<&OsStr> = files.iter().map(|path| path.as_os_str()).collect();
        let expected = sha256sum(&args).stdout;

        let root = tree.path().as_os_str();
        for _ in 0..2 {
            let ordered = checksum(&[
                "--ordered".as_ref(),
                "--workers".as_ref(),
                "4".as_ref(),
                root,
            ]);
            assert_eq!(ordered.status.code(), Some(0));
            assert!(
                ordered.stdout == expected,
                "--ordered output is not in walk order"
            );
        }
        let unordered = checksum(&["--workers".as_ref(), "4".as_ref(), root]);
        assert_eq!(sorted_lines(&unordered.stdout), sorted_lines(&expected));
    });
}

fn is_root() -> bool {
    let id = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

#[test]
fn failures_are_reported_on_stderr_and_exit_1() {
    watchdog_for(LIMIT, || {
        let tree = TempDir::new().unwrap();
        let root = tree.path();
        fs::create_dir(root.join("sub")).unwrap();
        let good = [root.join("a.txt"), root.join("sub/b.bin")];
        fs::write(&good[0], "hello\n").unwrap();
        fs::write(&good[1], noise(7, 100_000)).unwrap();
        let link = root.join("link-to-a");
        symlink(&good[0], &link).unwrap();

        let fifo = root.join("sub/fifo");
        let mkfifo = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(mkfifo.success());
        let broken = root.join("broken-link");
        symlink(root.join("nowhere"), &broken).unwrap();
        let dir_link = root.join("dir-link");
        symlink(root.join("sub"), &dir_link).unwrap();
        let missing = root.join("missing-argument");
        let mut bad = vec![fifo, broken, dir_link, missing.clone()];
        // Root reads mode-000 files; the cases above fail for root too.
        if !is_root() {
            let locked = root.join("locked");
            fs::write(&locked, "secret").unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
            bad.push(locked);
        }

        let ours = checksum(&[root.as_os_str(), missing.as_os_str()]);
        let stdout = String::from_utf8(ours.stdout).unwrap();
        let stderr = String::from_utf8(ours.stderr).unwrap();
        assert_eq!(ours.status.code(), Some(1), "stderr: {stderr}");
        for path in &bad {
            let name = path.to_str().unwrap();
            assert!(
                stderr.contains(&format!("{name}: ")),
                "{name} not reported: {stderr}"
            );
            assert!(!stdout.contains(name), "{name} on stdout: {stdout}");
        }
        assert!(stderr.contains("failed"), "stderr: {stderr}");

        // The good files, and the link to one under its own name, are hashed.
        let theirs = sha256sum(&[good[0].as_os_str(), good[1].as_os_str(), link.as_os_str()]);
        assert_eq!(
            sorted_lines(stdout.as_bytes()),
            sorted_lines(&theirs.stdout)
        );
    });
}

/// A tree of `count` files of 1 MiB: 16 chunks each, so with the throttle
/// below every file takes at least 16 x 20 ms.
fn slow_tree(count: u64) -> TempDir {
    let dir = TempDir::new().unwrap();
    for n in 0..count {
        fs::write(dir.path().join(format!("file{n:02}")), noise(n, 1 << 20)).unwrap();
    }
    dir
}

fn throttled(args: &[&OsStr]) -> Command {
    let mut command = Command::new(checksum_bin());
    command.args(args).env("WPOOL_CHECKSUM_THROTTLE_MS", "20");
    command
}

/// Checks that every line is a whole `sha256sum` line and that
/// `sha256sum -c` accepts them all.
fn assert_verifiable(lines: &[String], dir: &Path) {
    for line in lines {
        let (hex, path) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("not a sha256sum line: {line:?}"));
        assert!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "bad digest: {line:?}"
        );
        assert!(Path::new(path).is_file(), "bad path: {line:?}");
    }
    if lines.is_empty() {
        return; // `sha256sum -c` rejects an empty list
    }
    let sums = dir.join("SUMS");
    fs::write(
        &sums,
        lines
            .iter()
            .map(|line| format!("{line}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let check = sha256sum(&["-c".as_ref(), "--quiet".as_ref(), sums.as_os_str()]);
    assert!(check.status.success(), "sha256sum -c rejected {lines:?}");
}

#[test]
fn sigint_stops_the_run_and_exits_130() {
    watchdog_for(LIMIT, || {
        let tree = slow_tree(20);
        let mut child = throttled(&["--workers".as_ref(), "1".as_ref(), tree.path().as_ref()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn checksum");
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

        // Interrupt once the first file is done and the second is running.
        let mut lines = vec![stdout.next().expect("a first line").unwrap()];
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        assert!(kill.expect("run kill").success());
        lines.extend(stdout.map(Result::unwrap));
        let status = child.wait().unwrap();
        let stderr = stderr.join().unwrap();

        assert_eq!(status.code(), Some(130), "stderr: {stderr}");
        assert!(
            lines.len() < 20,
            "the run finished before the signal: {stderr}"
        );
        assert!(
            stderr.contains("cancelled") && stderr.contains("not started"),
            "stderr: {stderr}"
        );
        assert!(stderr.contains("interrupted"), "stderr: {stderr}");
        assert_verifiable(&lines, tree.path());
    });
}

#[test]
fn timeout_stops_the_run_and_exits_124() {
    watchdog_for(LIMIT, || {
        let tree = slow_tree(10);
        let args = [
            "--workers".as_ref(),
            "1".as_ref(),
            "--timeout".as_ref(),
            "0.5".as_ref(),
            tree.path().as_ref(),
        ];
        let output = throttled(&args).output().expect("run checksum");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(124), "stderr: {stderr}");
        assert!(
            stderr.contains("timed out") && stderr.contains("not started"),
            "stderr: {stderr}"
        );
        let lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert!(lines.len() < 10);
        assert_verifiable(&lines, tree.path());
    });
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    watchdog_for(LIMIT, || {
        let tree = slow_tree(10);
        // The missing path comes first in the walk, so its job fails first.
        let missing = tree.path().join("missing");
        let args = [
            "--fail-fast".as_ref(),
            "--workers".as_ref(),
            "1".as_ref(),
            missing.as_os_str(),
            tree.path().as_ref(),
        ];
        let output = throttled(&args).output().expect("run checksum");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("missing: not found"), "stderr: {stderr}");
        assert!(
            stderr.contains("stopped at the first failure"),
            "stderr: {stderr}"
        );
        let lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert!(lines.len() < 10, "nothing was stopped: {stderr}");
        assert_verifiable(&lines, tree.path());
    });
}

/// `ORDER_WINDOW_PER_WORKER` in the example, times the 2 workers the
/// stuck-file test runs: how many files `--ordered` may have between its
/// walk and its output.
#[cfg(target_os = "linux")]
const WINDOW: u64 = 2 * 512;

/// Kills the example if the test fails while the example waits on it.
#[cfg(target_os = "linux")]
struct KillOnDrop(Option<std::process::Child>);

#[cfg(target_os = "linux")]
impl KillOnDrop {
    fn id(&self) -> u32 {
        self.0.as_ref().expect("not waited for").id()
    }

    /// Waits for the example to exit, reading its stdout and stderr.
    fn output(mut self) -> Output {
        let child = self.0.take().expect("not waited for");
        child.wait_with_output().expect("wait for checksum")
    }
}

#[cfg(target_os = "linux")]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The bytes a process has read so far (`rchar` in `/proc/PID/io`): every
/// `read`, of files, pipes and its own start-up alike.
#[cfg(target_os = "linux")]
fn bytes_read(pid: u32) -> u64 {
    let io = fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_else(|err| panic!("/proc/{pid}/io: {err} (did checksum exit?)"));
    io.lines()
        .find_map(|line| line.strip_prefix("rchar:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("/proc/PID/io has rchar")
}

/// `--ordered` behind a first file that does not finish: the rest of the
/// walk is hashed up to the window and no further (the example's own
/// reorder buffer, before `Order::Input`, read every file meanwhile), and
/// once the first file ends the output is complete and in walk order.
///
/// The first file is a FIFO (which `WPOOL_CHECKSUM_READ_FIFOS=1` lets the
/// example hash) that the test writes only after checking how far the
/// example read: its other files are 4 KiB each, so `rchar` counts them.
#[cfg(target_os = "linux")]
#[test]
fn ordered_reads_no_more_than_a_window_past_a_stuck_file() {
    use sha2::{Digest, Sha256};
    use std::time::Instant;

    const FILE_LEN: u64 = 4096;
    /// Its start-up reads (`rchar` counts the loader's reads of libraries,
    /// ~10 KB here) count as at most this many files.
    const START_UP: u64 = 16;
    watchdog_for(LIMIT, || {
        let tree = TempDir::new().unwrap();
        let stuck = tree.path().join("stuck");
        let mkfifo = Command::new("mkfifo").arg(&stuck).status();
        assert!(mkfifo.expect("run mkfifo").success());
        let dir = tree.path().join("files");
        fs::create_dir(&dir).unwrap();
        for n in 0..WINDOW * 3 / 2 {
            let name = dir.join(format!("f{n:04}"));
            fs::write(name, noise(n, FILE_LEN as usize)).unwrap();
        }
        // The FIFO first on the command line is first in the walk.
        let started = Instant::now();
        let child = Command::new(checksum_bin())
            .args(["--ordered", "--workers", "2"])
            .args([stuck.as_os_str(), dir.as_os_str()])
            .env("WPOOL_CHECKSUM_READ_FIFOS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn checksum");
        let child = KillOnDrop(Some(child));
        let pid = child.id();
        let files_read = || bytes_read(pid) / FILE_LEN;
        let tick = crossbeam_channel::never::<()>();

        // Half a window read past the stuck file: the walk is under way.
        while files_read() < WINDOW / 2 {
            assert!(
                started.elapsed() < common::PATIENCE,
                "checksum read {} files in {:?}",
                files_read(),
                common::PATIENCE
            );
            let _ = tick.recv_timeout(Duration::from_millis(1));
        }
        // At the pace it read that half window, it could read every other
        // file four times over while we watch: it must stop at the window.
        let half_window = started.elapsed();
        let watch = Instant::now();
        let mut most = 0;
        while watch.elapsed() < (half_window * 4).max(common::QUIET) {
            most = most.max(files_read());
            assert!(
                most < WINDOW + START_UP,
                "{most} files read past a stuck one (window: {WINDOW})"
            );
            let _ = tick.recv_timeout(Duration::from_millis(1));
        }
        // The window is full, not smaller than promised: only the stuck
        // file's place is not read.
        assert!(
            most >= WINDOW - 1,
            "only {most} files read past the stuck one"
        );

        // Now the first file: written, closed, hashed.
        let content = b"the slow first file\n";
        fs::write(&stuck, content).unwrap();
        let output = child.output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
        assert!(
            stderr.contains(&format!("{} hashed", WINDOW * 3 / 2 + 1)),
            "stderr: {stderr}"
        );

        let digest: String = Sha256::digest(content)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let mut expected = format!("{digest}  {}\n", stuck.display()).into_bytes();
        let files = files_in_walk_order(&dir);
        let args: Vec<&OsStr> = files.iter().map(|path| path.as_os_str()).collect();
        expected.extend(sha256sum(&args).stdout);
        assert!(
            output.stdout == expected,
            "--ordered output is not every file in walk order"
        );
    });
}

#[test]
fn timeout_per_file_gives_up_on_a_slow_file_and_goes_on() {
    watchdog_for(LIMIT, || {
        // One big file (64 chunks of 20 ms: over a second) among small ones
        // (one chunk each): only the big one runs past 0.3 s.
        let tree = TempDir::new().unwrap();
        fs::write(tree.path().join("big"), noise(1, 64 << 16)).unwrap();
        for n in 0..5 {
            fs::write(tree.path().join(format!("small{n}")), noise(n + 2, 1000)).unwrap();
        }
        let args = [
            "--timeout-per-file".as_ref(),
            "0.3".as_ref(),
            "--workers".as_ref(),
            "2".as_ref(),
            tree.path().as_ref(),
        ];
        let output = throttled(&args).output().expect("run checksum");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("big: timed out"), "stderr: {stderr}");
        assert!(
            stderr.contains("5 hashed") && stderr.contains("1 timed out"),
            "stderr: {stderr}"
        );
        let lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines.len(), 5);
        assert_verifiable(&lines, tree.path());
    });
}
