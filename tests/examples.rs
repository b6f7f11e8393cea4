//! The examples as programs: `echo_server` (HTTP/1.1, h2c and https on one binary),
//! `epoll_echo_server`, `fetch` and `load` run against each other and against curl, and their
//! outputs are checked. What the README promises a user can type, this runs.

mod common;

use common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
        ExampleServer::launch(name, Some("--listen"), extra)
    }

    /// As [`ExampleServer::start`]; the address follows `listen_flag`, or comes first (as
    /// `readme_server` takes it) without one.
    fn launch(name: &str, listen_flag: Option<&str>, extra: &[&str]) -> ExampleServer {
        let exe = example_binary(name);
        for _ in 0..3 {
            let port = free_port();
            let mut child = spawn(
                Command::new(&exe)
                    .args(listen_flag)
                    .arg(format!("127.0.0.1:{port}"))
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

// ------------------------------------------------------------------------------------------------
// Large uploads through the example servers (issue 16: the second 3 MB HTTP/1.1 upload in a row
// hung echo_server, the input it had turned away for backpressure never stepped again)
// ------------------------------------------------------------------------------------------------

#[test]
fn the_echo_server_echoes_large_uploads() {
    let server = ExampleServer::start("echo_server", &[]);
    let took = assert_uploads_are_echoed(&server.url("http", "/"), "upload-echo");
    eprintln!("echo_server: 5 x 3 MB + 64 MiB, HTTP/1.1 and h2c, in {took:?}");
}

#[test]
fn the_epoll_echo_server_echoes_large_uploads() {
    let server = ExampleServer::start("epoll_echo_server", &[]);
    let took = assert_uploads_are_echoed(&server.url("http", "/"), "upload-epoll");
    eprintln!("epoll_echo_server: 5 x 3 MB + 64 MiB, HTTP/1.1 and h2c, in {took:?}");
}

#[test]
fn the_readme_server_echoes_large_uploads() {
    let server = ExampleServer::launch("readme_server", None, &[]);
    let took = assert_uploads_are_echoed(&server.url("http", "/"), "upload-readme");
    eprintln!("readme_server: 5 x 3 MB + 64 MiB, HTTP/1.1 and h2c, in {took:?}");
}

// ------------------------------------------------------------------------------------------------
// The README's loop
// ------------------------------------------------------------------------------------------------

/// The code of README.md's section `title`: its one ```rust block.
fn readme_code(title: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with(&format!("{title}\n")))
        .unwrap_or_else(|| panic!("README.md has a section \"{title}\""));
    let blocks: Vec<&str> = section.split("```rust\n").skip(1).collect();
    assert_eq!(
        blocks.len(),
        1,
        "one rust block in the README's section {title}"
    );
    let end = blocks[0].find("\n```").expect("the rust block ends");
    blocks[0][..=end].to_string()
}

/// The code of README.md's section "A caller-driven loop".
fn readme_loop() -> String {
    readme_code("A caller-driven loop")
}

/// examples/NAME.rs without its `//!` comment (and the blank line after it).
fn example_code(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join(format!("examples/{name}.rs"))).unwrap();
    let code: Vec<&str> = src.lines().skip_while(|l| l.starts_with("//!")).collect();
    assert_eq!(
        code.first(),
        Some(&""),
        "a blank line after the //! comment of {name}"
    );
    code[1..].iter().map(|l| format!("{l}\n")).collect()
}

/// examples/readme_server.rs without its `//!` comment.
fn readme_example() -> String {
    example_code("readme_server")
}

#[test]
fn the_readme_opens_with_the_hello_server_and_client_examples() {
    assert_eq!(readme_code("A server"), example_code("hello_server"));
    assert_eq!(readme_code("A client"), example_code("hello_client"));
}

#[test]
fn the_readme_loop_is_the_readme_server_example() {
    let (readme, example) = (readme_loop(), readme_example());
    assert!(
        example.contains("fn main()") && example.contains("next_ready_stream()"),
        "{example}"
    );
    let line = readme
        .lines()
        .zip(example.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(readme.lines().count().min(example.lines().count()));
    assert!(
        readme == example,
        "README.md's loop and examples/readme_server.rs differ from line {} of the block on \
         (README {:?}, example {:?}): copy the example's code into the README",
        line + 1,
        readme.lines().nth(line),
        example.lines().nth(line)
    );
}

/// Splits the HTTP/1.1 responses to pipelined requests of `methods`, each with a
/// Content-Length (and no body after a HEAD): (head, body) in order.
fn split_responses(mut raw: &[u8], methods: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for method in methods {
        let (head, rest) = split_head(raw);
        let len: usize = head_value(&head, "content-length")
            .unwrap_or_else(|| panic!("no content-length in {head:?}"))
            .parse()
            .unwrap();
        let len = if *method == "HEAD" { 0 } else { len };
        assert!(rest.len() >= len, "a body cut short after {head:?}");
        let at = raw.len() - rest.len() + len;
        out.push((head, rest[..len].to_vec()));
        raw = &raw[at..];
    }
    assert!(raw.is_empty(), "more than {} responses", methods.len());
    out
}

#[test]
fn the_readme_server_answers_curl() {
    let server = ExampleServer::launch("readme_server", None, &[]);
    let curl_out = |args: &[&str]| curl_ok(args);
    let dir = Scratch(temp_dir("readme-server"));
    let body = noise(3_000_000, 3);
    let file = dir.0.join("3MB.bin");
    std::fs::write(&file, &body).unwrap();
    let data = format!("@{}", file.display());
    for (flag, version) in [("--http1.1", "1.1"), ("--http2-prior-knowledge", "2")] {
        // A GET is answered from its head ...
        let out = curl_out(&[flag, "-w", "%{http_version}", &server.url("http", "/x")]);
        assert_eq!(
            text(&out.stdout),
            format!("hello from /x\n{version}"),
            "{flag}"
        );
        // ... a POST of 3 MB with its body, byte for byte ...
        let out = curl_out(&[flag, "--data-binary", &data, &server.url("http", "/")]);
        assert_same_bytes(&out.stdout, &body, &format!("{flag} POST of 3 MB"));
    }
    // Several requests on one connection: one after another over HTTP/1.1 (curl keeps the
    // connection), at once over HTTP/2 (nghttp: curl 7.88 cannot reuse a prior-knowledge
    // connection, curl/curl#10634).
    let urls: Vec<String> = (1..=4)
        .map(|i| server.url("http", &format!("/{i}")))
        .collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let out = curl_out(&[&["--http1.1", "-v"][..], &urls].concat());
    let want = "hello from /1\nhello from /2\nhello from /3\nhello from /4\n";
    assert_eq!(text(&out.stdout), want);
    let reused = text(&out.stderr)
        .matches("Re-using existing connection")
        .count();
    assert_eq!(reused, 3, "{}", text(&out.stderr));
    let out = run_with_timeout(
        Command::new(require_tool("nghttp")).args(&urls),
        CLIENT_LIMIT,
    );
    assert!(out.status.success(), "nghttp: {}", text(&out.stderr));
    let mut got: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    got.sort();
    assert_eq!(got.join("\n") + "\n", want, "nghttp, 4 streams at once");
    // Pipelined for real, in one write; the answers come in order, byte for byte.
    assert_pipeline_is_echoed(server.port, |path| format!("hello from {path}\n"));
}

/// A pipeline sent in one write to an echo example (a GET, two POSTs of 3 MB, a HEAD, a GET
/// with `Connection: close`): the second POST's echo, and the answers after it, find the
/// send buffer full and must be kept and written when it drains, not dropped after their head.
/// `hello` is the example's answer to a GET of a path.
fn assert_pipeline_is_echoed(port: u16, hello: impl Fn(&str) -> String) {
    let body = noise(3_000_000, 3);
    let mut pipeline = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    for _ in 0..2 {
        let head = format!(
            "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        pipeline.extend_from_slice(head.as_bytes());
        pipeline.extend_from_slice(&body);
    }
    pipeline.extend_from_slice(b"HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n");
    pipeline.extend_from_slice(b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let raw = pipelined_exchange(port, pipeline, Duration::from_secs(20));
    let answers = split_responses(&raw, &["GET", "POST", "POST", "HEAD", "GET"]);
    for (head, _) in &answers {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    assert_eq!(answers[0].1, hello("/a").as_bytes());
    assert_same_bytes(&answers[1].1, &body, "the first pipelined POST");
    assert_same_bytes(&answers[2].1, &body, "the second pipelined POST");
    // The HEAD's answer has the length its GET would have, and no body.
    let len = hello("/c").len().to_string();
    assert_eq!(
        head_value(&answers[3].0, "content-length"),
        Some(len.as_str())
    );
    assert_eq!(answers[3].1, b"");
    assert_eq!(answers[4].1, hello("/d").as_bytes());
}

#[test]
fn the_echo_server_answers_a_pipeline_larger_than_its_send_buffer() {
    let server = ExampleServer::start("echo_server", &[]);
    assert_pipeline_is_echoed(server.port, |_| "hello\n".into());
}

#[test]
fn the_epoll_echo_server_answers_a_pipeline_larger_than_its_send_buffer() {
    let server = ExampleServer::start("epoll_echo_server", &[]);
    assert_pipeline_is_echoed(server.port, |_| "hello\n".into());
}

/// Writes `request` to 127.0.0.1:`port` on a thread while reading the answers until the
/// server closes, both bounded by `limit`: a client that pipelines more than the socket
/// buffers hold must read while it writes.
fn pipelined_exchange(port: u16, request: Vec<u8>, limit: Duration) -> Vec<u8> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + limit;
    let mut stream = std::net::TcpStream::connect_timeout(&localhost(port), limit).unwrap();
    stream.set_write_timeout(Some(limit)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let wrote = std::thread::spawn(move || writer.write_all(&request));
    let mut response = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no end within {limit:?}; {} bytes so far",
            response.len()
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted) => {}
            Err(e) => panic!("reading the answers: {e} after {} bytes", response.len()),
        }
    }
    wrote
        .join()
        .unwrap()
        .expect("writing the pipelined requests");
    response
}

/// `hello_client URL [CA]`: its output (the version and status line, then the body).
fn hello_client(args: &[&str]) -> String {
    let out = run_with_timeout(
        Command::new(example_binary("hello_client")).args(args),
        CLIENT_LIMIT,
    );
    assert!(
        out.status.success(),
        "hello_client {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn the_hello_server_answers_curl_nghttp_and_the_hello_client() {
    let server = ExampleServer::launch("hello_server", None, &[]);
    let curl_out = |args: &[&str]| text(&curl_ok(args).stdout);
    let hello = server.url("http", "/hello?name=curl");
    for (flag, version) in [
        ("--http1.1", "1.1"),
        ("--http2-prior-knowledge", "2"),
        ("--http2", "2"),
    ] {
        let out = curl_out(&[flag, "-w", "%{http_version} %{content_type}", &hello]);
        assert_eq!(
            out,
            format!("{{\"hello\":\"curl\"}}\n{version} application/json")
        );
        let out = curl_out(&[
            flag,
            "--data-binary",
            "echo me",
            &server.url("http", "/echo"),
        ]);
        assert_eq!(out, "echo me");
        let out = curl_out(&[flag, "-w", "%{http_code}", &server.url("http", "/nope")]);
        assert_eq!(out, "{\"error\":\"not found\"}\n404");
    }
    // Over the application's 1 MiB limit: 413, and the connection goes on.
    let big = "x".repeat(1_100_000);
    let dir = Scratch(temp_dir("hello-413"));
    let file = dir.0.join("big.txt");
    std::fs::write(&file, big).unwrap();
    let out = curl_out(&[
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        "--data-binary",
        &format!("@{}", file.display()),
        &server.url("http", "/echo"),
    ]);
    assert_eq!(out, "413");
    // nghttp: two streams at once.
    let out = run_with_timeout(
        Command::new(require_tool("nghttp"))
            .arg(server.url("http", "/hello?name=a"))
            .arg(server.url("http", "/hello?name=b")),
        CLIENT_LIMIT,
    );
    let mut got: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    got.sort();
    assert_eq!(got, ["{\"hello\":\"a\"}", "{\"hello\":\"b\"}"]);
    // The hello client: HTTP/2 by upgrade.
    let out = hello_client(&[&server.url("http", "/hello?name=client")]);
    assert_eq!(out, "HTTP/2.0 200\n{\"hello\":\"client\"}\n");
}

#[test]
fn the_hello_server_speaks_tls_with_alpn_and_plaintext_on_one_port() {
    let pki = certs::TestPki::new();
    let (cert, key) = (
        pki.server.cert_path.to_string_lossy().into_owned(),
        pki.server.key_path.to_string_lossy().into_owned(),
    );
    let server = ExampleServer::launch("hello_server", None, &[&cert, &key]);
    let ca = pki.ca_path.to_string_lossy().into_owned();
    let https = format!("https://localhost:{}/hello", server.port);
    let resolve = format!("localhost:{}:127.0.0.1", server.port);
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = run_with_timeout(
            Command::new(require_tool("curl"))
                .args(["-sS", "--noproxy", "*", "--max-time", "20", flag])
                .args([
                    "--cacert",
                    &ca,
                    "--resolve",
                    &resolve,
                    "-w",
                    "%{http_version}",
                ])
                .arg(&https),
            CLIENT_LIMIT,
        );
        assert!(out.status.success(), "{flag}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("{{\"hello\":\"world\"}}\n{version}")
        );
    }
    let out = hello_client(&[&https, &ca]);
    assert_eq!(out, "HTTP/2.0 200\n{\"hello\":\"world\"}\n", "ALPN h2");
    let out = hello_client(&[&server.url("http", "/hello")]);
    assert_eq!(
        out, "HTTP/2.0 200\n{\"hello\":\"world\"}\n",
        "plaintext, same port"
    );
}
