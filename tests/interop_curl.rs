//! curl as a client of a pollhttp server: GET, HEAD, POST echo (Content-Length, chunked,
//! `Expect: 100-continue`), HTTP/1.0, keep-alive reuse, a Unix-domain socket, trailers, and a
//! body streamed over time.

mod common;
#[path = "peers/pollhttp_server.rs"]
mod server;

use common::*;
use server::{default_handler, serve_in_thread, serve_unix_in_thread, Server};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// What one curl run may take (curl's own `--max-time` is a little less).
const CURL_LIMIT: Duration = Duration::from_secs(30);

/// Runs curl with `args` (after `-sS --max-time 20`), bounded in time.
fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new(require_tool("curl"));
    cmd.args(["-sS", "--max-time", "20", "--noproxy", "*"])
        .args(args);
    run_with_timeout(&mut cmd, CURL_LIMIT)
}

/// Runs curl and panics (with its output and the server's errors) unless it exits 0.
fn curl_ok(server: &Server, args: &[&str]) -> Output {
    let out = curl(args);
    assert!(
        out.status.success(),
        "curl {args:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}\nserver errors: {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.errors()
    );
    out
}

/// Splits curl `-i` output into (head, body); the head of the final response only.
fn split_include(out: &Output) -> (String, Vec<u8>) {
    let mut rest: &[u8] = &out.stdout;
    loop {
        let (head, body) = split_head(rest);
        // curl -i prints interim (1xx) heads too; skip them.
        if head.starts_with("HTTP/1.1 1") || head.starts_with("HTTP/1.0 1") {
            let at = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            rest = &rest[at + 4..];
            continue;
        }
        return (head, body);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file of `len` bytes in a fresh temp dir: (dir, path, contents).
fn body_file(tag: &str, len: usize) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let dir = temp_dir(tag);
    let data: Vec<u8> = (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[i % 27])
        .collect();
    let path = dir.join("body.bin");
    std::fs::write(&path, &data).unwrap();
    (dir, path, data)
}

#[test]
fn curl_get() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(&server, &["-i", &server.url("/")]);
    let (head, body) = split_include(&out);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(head_value(&head, "content-length"), Some("6"));
    assert_eq!(head_value(&head, "content-type"), Some("text/plain"));
    assert!(head_value(&head, "date").is_some(), "{head}");
    assert_eq!(body, b"hello\n");
    assert_eq!(server.errors(), Vec::<String>::new());
}

#[test]
fn curl_head_has_no_body_and_keeps_content_length() {
    let server = serve_in_thread(default_handler);
    // -I: curl must not wait for a body (it would hang until --max-time if we sent one it
    // does not expect, or misparse the next response).
    let started = Instant::now();
    let out = curl_ok(
        &server,
        &["-I", &server.url("/"), "-I", &server.url("/status/404")],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let heads: Vec<&str> = text.split("\r\n\r\n").filter(|h| !h.is_empty()).collect();
    assert_eq!(heads.len(), 2, "{text}");
    assert!(heads[0].starts_with("HTTP/1.1 200 OK"), "{text}");
    assert_eq!(head_value(heads[0], "content-length"), Some("6"));
    assert_eq!(head_value(heads[0], "x-method"), Some("HEAD"));
    assert!(heads[1].starts_with("HTTP/1.1 404 Not Found"), "{text}");
    assert_eq!(head_value(heads[1], "content-length"), Some("11"));
    // Both on one connection: the HEAD answer carried no body bytes that could desynchronise it.
    assert_eq!(server.accepted(), 1);

    // And on the wire: nothing after the head.
    let raw = raw_exchange(
        server.addr(),
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        CURL_LIMIT,
    );
    let (head, body) = split_head(&raw);
    assert_eq!(head_value(&head, "content-length"), Some("6"), "{head}");
    assert!(body.is_empty(), "HEAD answer has a body: {body:?}");
}

#[test]
fn curl_post_with_content_length_is_echoed() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(
        &server,
        &[
            "-i",
            "--data-binary",
            "echo this body, please",
            "-H",
            "Content-Type: text/x-test",
            &server.url("/echo"),
        ],
    );
    let (head, body) = split_include(&out);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(head_value(&head, "content-type"), Some("text/x-test"));
    assert_eq!(head_value(&head, "x-method"), Some("POST"));
    assert_eq!(body, b"echo this body, please");
}

#[test]
fn curl_chunked_upload_is_echoed() {
    let server = serve_in_thread(default_handler);
    let (dir, path, data) = body_file("curl-chunked", 200 * 1024);
    let file_arg = format!("@{}", path.display());
    let out = curl_ok(
        &server,
        &[
            "-v",
            "--data-binary",
            &file_arg,
            "-H",
            "Transfer-Encoding: chunked",
            "--expect100-timeout",
            "30",
            &server.url("/upload"),
        ],
    );
    assert!(
        stderr(&out).contains("> Transfer-Encoding: chunked"),
        "{}",
        stderr(&out)
    );
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "echoed body differs");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn curl_small_chunked_upload_without_expect_is_echoed() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(
        &server,
        &[
            "-i",
            "--data-binary",
            "tiny chunked body",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Expect:",
            &server.url("/"),
        ],
    );
    let (head, body) = split_include(&out);
    assert_eq!(head_value(&head, "x-body-length"), Some("17"), "{head}");
    assert_eq!(body, b"tiny chunked body");
}

/// Uploads `len` bytes with curl `extra` options and `--expect100-timeout 30`; checks that
/// curl sent `Expect: 100-continue`, got `100 Continue`, and had the body echoed, quickly.
fn expect_upload(len: usize, extra: &[&str]) {
    let server = serve_in_thread(default_handler);
    let (dir, path, data) = body_file("curl-expect", len);
    let file_arg = format!("@{}", path.display());
    let url = server.url("/expect");
    let mut args = vec![
        "-v",
        "--data-binary",
        &file_arg,
        "--expect100-timeout",
        "30",
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    let started = Instant::now();
    // With --expect100-timeout 30, curl waits up to 30 s for "100 Continue" before sending
    // the body anyway; its --max-time of 20 s would fail the run first. Success (quickly)
    // therefore proves the server sent 100 Continue.
    let out = curl_ok(&server, &args);
    let elapsed = started.elapsed();
    let err = stderr(&out);
    assert!(err.contains("> Expect: 100-continue"), "{err}");
    assert!(err.contains("< HTTP/1.1 100 Continue"), "{err}");
    assert!(err.contains("< HTTP/1.1 200 OK"), "{err}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(out.stdout == data, "echoed body differs");
    assert_eq!(server.errors(), Vec::<String>::new());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn curl_expect_100_continue_is_answered_at_once() {
    // curl 7.88 sends Expect by itself only for bodies over 1 MiB; ask for it explicitly.
    expect_upload(64 * 1024, &["-H", "Expect: 100-continue"]);
}

#[test]
fn curl_sends_expect_by_itself_for_a_large_body_and_gets_100() {
    expect_upload(2 * 1024 * 1024, &[]);
}

#[test]
fn curl_http_1_0() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(&server, &["-i", "--http1.0", &server.url("/")]);
    let (head, body) = split_include(&out);
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    assert_eq!(head_value(&head, "content-length"), Some("6"));
    assert_eq!(body, b"hello\n");

    let out = curl_ok(
        &server,
        &[
            "-i",
            "--http1.0",
            "--data-binary",
            "posted over 1.0",
            &server.url("/"),
        ],
    );
    let (head, body) = split_include(&out);
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    assert_eq!(body, b"posted over 1.0");
}

#[test]
fn curl_http_1_0_streamed_answer_is_close_delimited() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(&server, &["-i", "--http1.0", &server.url("/slow-stream")]);
    let (head, body) = split_include(&out);
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    assert_eq!(head_value(&head, "transfer-encoding"), None, "{head}");
    assert_eq!(head_value(&head, "content-length"), None, "{head}");
    assert_eq!(body, server::slow_pieces().concat());
}

#[test]
fn curl_reuses_one_keep_alive_connection() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(
        &server,
        &[
            "-v",
            &server.url("/a"),
            &server.url("/status/201"),
            "--next",
            "--data-binary",
            "third",
            &server.url("/c"),
            "--next",
            &server.url("/trailers"),
        ],
    );
    let err = stderr(&out);
    assert_eq!(
        err.matches("Re-using existing connection").count(),
        3,
        "{err}"
    );
    assert_eq!(
        out.stdout,
        b"hello\nstatus 201\nthirdhello trailers\n".to_vec(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.served(), 4);
    assert!(server.iterations() < 100, "{} turns", server.iterations());
}

#[test]
fn curl_over_a_unix_socket() {
    let dir = temp_dir("curl-unix");
    let path = dir.join("pollhttp.sock");
    let server = serve_unix_in_thread(&path, default_handler);
    let sock = path.to_str().unwrap();
    let out = curl_ok(&server, &["-i", "--unix-socket", sock, "http://localhost/"]);
    let (head, body) = split_include(&out);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(body, b"hello\n");

    let out = curl_ok(
        &server,
        &[
            "--unix-socket",
            sock,
            "--data-binary",
            "over unix",
            "http://localhost/post",
            "--unix-socket",
            sock,
            "http://localhost/again",
        ],
    );
    assert_eq!(out.stdout, b"over unixover unix".to_vec());
    drop(server);
    assert!(!path.exists(), "the socket file outlived the listener");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn curl_sees_trailers() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(&server, &["-i", "--raw", &server.url("/trailers")]);
    let (head, raw) = split_include(&out);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(head_value(&head, "transfer-encoding"), Some("chunked"));
    assert_eq!(
        head_value(&head, "trailer"),
        Some("x-checksum, x-trailer-two")
    );
    assert_eq!(decode_chunked(&raw), b"hello trailers\n");
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(
        text.ends_with("0\r\nx-checksum: abc123\r\nx-trailer-two: 2\r\n\r\n"),
        "{text:?}"
    );

    // Without --raw, curl decodes the chunks and shows the trailers after the body with -i.
    let out = curl_ok(&server, &["-i", &server.url("/trailers")]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("hello trailers\n"), "{text:?}");
    assert!(text.contains("x-checksum: abc123"), "{text:?}");
}

#[test]
fn curl_status_codes() {
    let server = serve_in_thread(default_handler);
    for (path, code, body) in [
        ("/status/404", "404", "status 404\n"),
        ("/status/500", "500", "status 500\n"),
        ("/status/204", "204", ""),
        ("/status/418", "418", "status 418\n"),
    ] {
        let out = curl_ok(&server, &["-w", "|%{http_code}", &server.url(path)]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{body}|{code}"),
            "{path}"
        );
    }
}

#[test]
fn curl_receives_a_body_streamed_over_time() {
    let server = serve_in_thread(default_handler);
    let out = curl_ok(
        &server,
        &[
            "--raw",
            "-w",
            "|%{time_starttransfer}|%{time_total}",
            &server.url("/slow-stream"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = text.rsplitn(3, '|');
    let total: f64 = parts.next().unwrap().parse().unwrap();
    let first: f64 = parts.next().unwrap().parse().unwrap();
    let raw = parts.next().unwrap();
    // One chunk per piece: the pieces were written at different times, not gathered.
    let expected: String = server::slow_pieces()
        .iter()
        .map(|p| format!("{:x}\r\n{}\r\n", p.len(), String::from_utf8_lossy(p)))
        .chain(["0\r\n\r\n".to_string()])
        .collect();
    assert_eq!(raw, expected);
    // The first byte came before the last piece was written.
    let spread = Duration::from_secs_f64(total - first);
    let min = server::SLOW_GAP * (server::SLOW_PIECES as u32 - 1) * 3 / 4;
    assert!(
        spread >= min,
        "body arrived within {spread:?}, expected over {min:?}"
    );
    // The server's poll loop waited for exactly `events()` and `timeout()`: it did not spin
    // while the pieces were due.
    assert!(server.iterations() < 100, "{} turns", server.iterations());
}
