//! The examples as programs: `echo_server` (HTTP/1.1, h2c and https on one binary),
//! `epoll_echo_server`, `fetch` and `load` run against each other and against curl, and their
//! outputs are checked. What the README promises a user can type, this runs.

mod common;

use common::*;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A server example started on a free port; stopped (by PID) when dropped. `tls`: started
/// with `--tls-self-signed`, whose certificate path is kept.
struct ExampleServer {
    _child: Child,
    port: u16,
    cert: Option<PathBuf>,
}

impl ExampleServer {
    fn start(name: &str, extra: &[&str]) -> ExampleServer {
        let exe = example_binary(name);
        for _ in 0..3 {
            let port = free_port();
            let mut child = spawn(
                Command::new(&exe)
                    .args(["--listen", &format!("127.0.0.1:{port}")])
                    .args(extra)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit()),
            );
            let stdout = child.process().stdout.take().expect("stdout");
            let mut lines = std::io::BufReader::new(stdout).lines();
            // The server prints where it listens (after the certificate's path with TLS)
            // before its loop starts: reading those lines is waiting for it.
            let mut cert = None;
            let mut listening = false;
            for _ in 0..2 {
                let Some(Ok(line)) = lines.next() else { break };
                if let Some(p) = line.strip_prefix("echo_server: self-signed certificate in ") {
                    cert = Some(PathBuf::from(p));
                    continue;
                }
                listening = line.contains(&format!("127.0.0.1:{port}"));
                break;
            }
            if !listening {
                eprintln!("{name} did not start on port {port}; retrying");
                continue;
            }
            std::thread::spawn(move || lines.for_each(drop));
            wait_for_port(localhost(port), PEER_START_LIMIT);
            return ExampleServer {
                _child: child,
                port,
                cert,
            };
        }
        panic!("{name} did not start");
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        if let Some(dir) = self.cert.as_ref().and_then(|c| c.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn fetch(args: &[&str]) -> Output {
    run_with_timeout(
        Command::new(example_binary("fetch")).args(args),
        CLIENT_LIMIT,
    )
}

/// Runs `load` and returns (requests, errors) from its last line.
fn load(args: &[&str]) -> (u64, u64) {
    let out = run_with_timeout(
        Command::new(example_binary("load")).args(args),
        CLIENT_LIMIT,
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "load {args:?}: {stdout}{}",
        text(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default().to_string();
    let nums: Vec<u64> = last
        .trim_start_matches("done: ")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(
        last.starts_with("done: ") && nums.len() == 2,
        "last line {last:?}"
    );
    (nums[0], nums[1])
}

#[test]
fn fetch_speaks_every_version_to_the_echo_server() {
    let server = ExampleServer::start("echo_server", &[]);
    let url = server.url("http", "/x");
    for (flags, version) in [
        (&["--http1.0"][..], "HTTP/1.0 200"),
        (&[][..], "HTTP/1.1 200"),
        (&["--http2"][..], "HTTP/2 200"),
        (&["--http2-prior-knowledge"][..], "HTTP/2 200"),
    ] {
        let mut args = vec![url.as_str(), "-i"];
        args.extend_from_slice(flags);
        let out = fetch(&args);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{flags:?}: {}", text(&out.stderr));
        assert!(stdout.starts_with(version), "{flags:?}: {stdout:?}");
        assert!(
            stdout.ends_with("\r\n\r\nhello\n") || stdout.ends_with("\n\nhello\n"),
            "{stdout:?}"
        );
        // A body is echoed, whatever the version (with --http2 the request goes out as
        // HTTP/1.1: the h2c offer rides only on a bodiless request).
        let mut args = vec![url.as_str(), "-d", "echo me"];
        args.extend_from_slice(flags);
        let out = fetch(&args);
        assert_eq!(
            text(&out.stdout),
            "echo me",
            "{flags:?}: {}",
            text(&out.stderr)
        );
    }
    // A HEAD over HTTP/2 has the length and no body.
    let out = fetch(&[&url, "-i", "-X", "HEAD", "--http2-prior-knowledge"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("content-length: 6"), "{stdout:?}");
    assert!(!stdout.contains("hello"), "{stdout:?}");
}

#[test]
fn fetch_over_https_verifies_the_self_signed_certificate() {
    let server = ExampleServer::start("echo_server", &["--tls-self-signed"]);
    let cert = server.cert.clone().expect("the certificate's path");
    let cert = cert.to_str().unwrap();
    let url = server.url("https", "/");
    for (flag, version) in [("--http1.1", "HTTP/1.1 200"), ("--http2", "HTTP/2 200")] {
        let out = fetch(&[&url, "-i", "--cacert", cert, flag]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{flag}: {}", text(&out.stderr));
        assert!(stdout.starts_with(version), "{flag}: {stdout:?}");
    }
    // Without the certificate the web roots do not trust it; --insecure skips the check.
    let out = fetch(&[&url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not signed by a trusted CA"),
        "{}",
        text(&out.stderr)
    );
    let out = fetch(&[&url, "--insecure"]);
    assert_eq!(text(&out.stdout), "hello\n");
}

#[test]
fn load_runs_without_errors_over_every_protocol() {
    let server = ExampleServer::start("echo_server", &[]);
    let url = server.url("http", "/");
    let common = ["--connections", "2", "--seconds", "1"];
    for extra in [
        &[][..],
        &["--pipeline", "8"],
        &["--http2", "--streams", "8"],
        &["--http2-upgrade"],
    ] {
        let mut args = vec![url.as_str()];
        args.extend_from_slice(&common);
        args.extend_from_slice(extra);
        let (n, errors) = load(&args);
        assert!(n > 100, "{extra:?}: only {n} requests");
        assert_eq!(errors, 0, "{extra:?}");
    }
    let tls = ExampleServer::start("echo_server", &["--tls-self-signed"]);
    let url = tls.url("https", "/");
    let cert = tls.cert.clone().unwrap();
    for extra in [&[][..], &["--http2", "--streams", "4"]] {
        let mut args = vec![url.as_str(), "--cacert", cert.to_str().unwrap()];
        args.extend_from_slice(&common);
        args.extend_from_slice(extra);
        let (n, errors) = load(&args);
        assert!(n > 100, "https {extra:?}: only {n} requests");
        assert_eq!(errors, 0, "https {extra:?}");
    }
}

#[test]
fn the_epoll_echo_server_serves_http1_and_h2c() {
    let curl = require_tool("curl");
    let server = ExampleServer::start("epoll_echo_server", &[]);
    let url = server.url("http", "/");
    for flag in ["--http1.1", "--http2", "--http2-prior-knowledge"] {
        let out = run_with_timeout(
            Command::new(&curl).args(["-sS", flag, "-w", " %{http_version}", &url]),
            CLIENT_LIMIT,
        );
        let want = if flag == "--http1.1" {
            "hello\n 1.1"
        } else {
            "hello\n 2"
        };
        assert_eq!(text(&out.stdout), want, "{flag}: {}", text(&out.stderr));
        let out = run_with_timeout(
            Command::new(&curl).args(["-sS", flag, "--data-binary", "abc", &url]),
            CLIENT_LIMIT,
        );
        assert_eq!(text(&out.stdout), "abc", "{flag}");
    }
}
