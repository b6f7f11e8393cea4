//! Uploads through a server that echoes request bodies: large files sent with curl and every
//! echo compared byte for byte (the example servers, Rust and C).

use super::{require_tool, run_with_timeout, temp_dir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A temp directory removed when dropped, failed test or not (its files are large).
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` bytes of a xorshift stream: no shift of it matches itself, so an echo that lost,
/// repeated or reordered bytes differs from it.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Panics unless `got` is `want`, naming the first byte that differs.
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: {} bytes echoed for {}, first difference at byte {at}",
            got.len(),
            want.len()
        );
    }
}

/// `curl --data-binary @file -o out` to `url` with `flag` (the HTTP version), bounded by curl's
/// own `--max-time` (a hang fails the test, it does not block it); checks the version used and
/// that `out` holds exactly `want`.
pub fn curl_echo(url: &str, flag: &str, file: &Path, out: &Path, want: &[u8], what: &str) {
    let max_time: u64 = if want.len() > 10_000_000 { 60 } else { 20 };
    let _ = std::fs::remove_file(out);
    let started = Instant::now();
    let run = run_with_timeout(
        Command::new(require_tool("curl"))
            .args(["-sS", "--noproxy", "*", "--max-time", &max_time.to_string()])
            .args([flag, "-w", "%{http_version}", "--data-binary"])
            .arg(format!("@{}", file.display()))
            .arg("-o")
            .arg(out)
            .arg(url),
        Duration::from_secs(max_time + 30),
    );
    assert!(
        run.status.success(),
        "{what} to {url}: curl failed after {:?} ({}): {}",
        started.elapsed(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let version = if flag == "--http1.1" { "1.1" } else { "2" };
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        version,
        "{what}: the HTTP version"
    );
    assert_same_bytes(&std::fs::read(out).unwrap_or_default(), want, what);
}

/// Over HTTP/1.1 and then h2c by prior knowledge: five uploads of a 3,000,000-byte file in a
/// row, then one of 64 MiB, each echo compared with the file byte for byte. Returns the time
/// the twelve uploads took.
pub fn assert_uploads_are_echoed(url: &str, tag: &str) -> Duration {
    let dir = Scratch(temp_dir(tag));
    let small = noise(3_000_000, 1);
    let big = noise(64 << 20, 2);
    let (small_file, big_file) = (dir.0.join("3MB.bin"), dir.0.join("64MiB.bin"));
    std::fs::write(&small_file, &small).unwrap();
    std::fs::write(&big_file, &big).unwrap();
    let out = dir.0.join("echo.bin");
    let started = Instant::now();
    for flag in ["--http1.1", "--http2-prior-knowledge"] {
        for i in 1..=5 {
            let what = format!("{flag} upload {i} of 5 of 3,000,000 bytes");
            curl_echo(url, flag, &small_file, &out, &small, &what);
        }
        let what = format!("{flag} upload of 64 MiB");
        curl_echo(url, flag, &big_file, &out, &big, &what);
    }
    started.elapsed()
}
