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
