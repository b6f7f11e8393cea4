//! TLS with peers nobody here wrote: curl (HTTP/1.1 and HTTP/2), nghttp, Python httpx over
//! HTTP/2, `openssl s_client` and headless Chromium as clients of a pollhttp server; nginx as
//! an https server for pollhttp's client (HTTP/1.1 and HTTP/2). Certificates are made at run
//! time; clients verify them against the test CA wherever the peer can be told to.
//!
//! The server records the HTTP version and TLS session of every request it answers, so each
//! test checks which protocol the peer actually used, not only that a body came back.

mod common;
#[path = "peers/pollhttp_server.rs"]
mod server;
#[path = "peers/pollhttp_tls_server.rs"]
mod tls_server;

use common::certs::TestPki;
use common::*;
use pollhttp::{
    ClientOptions, Connection, ErrorKind, Headers, StatusCode, Target, TlsClientConfig,
    TlsServerConfig,
};
use server::Server;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tls_server::{https_url, serve_tls_logged, Log, PAGE};

/// What one run of a client peer may take (their own time limits are a little less).
const PEER_LIMIT: Duration = Duration::from_secs(30);
/// Headless Chromium starts slowly on a loaded machine.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);
/// The bound of every blocking call of our client.
const T: Option<Duration> = Some(Duration::from_secs(10));

fn tls_server(pki: &TestPki) -> (Server, Log) {
    let tls = TlsServerConfig::from_pem_files(&pki.server.cert_path, &pki.server.key_path)
        .expect("server TLS config");
    serve_tls_logged(tls)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(what: &str, out: Output, server: &Server) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}\nserver errors: {:?}",
        out.status,
        text(&out.stdout),
        text(&out.stderr),
        server.errors()
    );
    out
}

/// Checks that the one request for `path` came over TLS with ALPN `alpn` as `version`.
fn assert_seen(log: &Log, path: &str, version: http::Version, alpn: &str) {
    let seen = log.only(path);
    assert_eq!(seen.version, version, "{path}: {seen:?}");
    let tls = seen
        .tls
        .unwrap_or_else(|| panic!("{path} came over plaintext"));
    assert_eq!(tls.alpn_str(), Some(alpn), "{path}");
    assert!(tls.version.starts_with("TLSv1."), "{tls:?}");
}

// ----------------------------------------------------------------------------------------------
// curl
// ----------------------------------------------------------------------------------------------

/// curl with `args` after `-sS --max-time 20 --cacert CA`, `localhost` pinned to 127.0.0.1.
fn curl(server: &Server, pki: &TestPki, args: &[&str]) -> Output {
    let mut cmd = Command::new(require_tool("curl"));
    cmd.args(["-sS", "--max-time", "20", "--noproxy", "*", "--cacert"])
        .arg(&pki.ca_path)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", server.port()))
        .args(args);
    let out = run_with_timeout(&mut cmd, PEER_LIMIT);
    ok(&format!("curl {args:?}"), out, server)
}

#[test]
fn curl_https_http11() {
    let pki = TestPki::new();
    let (server, log) = tls_server(&pki);
    let url = https_url(&server, "localhost", "/c1");
    let out = curl(
        &server,
        &pki,
        &["--http1.1", "-w", "\n%{http_version}", &url],
    );
    assert_eq!(text(&out.stdout), "hello\n\n1.1");
    assert_seen(&log, "/c1", http::Version::HTTP_11, "http/1.1");
    assert_eq!(
        log.only("/c1").tls.unwrap().server_name.as_deref(),
        Some("localhost")
    );
}

#[test]
fn curl_https_http2_get_and_a_megabyte_post() {
    let pki = TestPki::new();
    let (server, log) = tls_server(&pki);
    let url = https_url(&server, "localhost", "/c2");
    let out = curl(&server, &pki, &["--http2", "-w", "\n%{http_version}", &url]);
    assert_eq!(text(&out.stdout), "hello\n\n2");
    assert_seen(&log, "/c2", http::Version::HTTP_2, "h2");

    let data: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let file = pki.write("post.bin", &data);
    let post = https_url(&server, "localhost", "/c2-post");
    let out = curl(
        &server,
        &pki,
        &[
            "--http2",
            "--data-binary",
            &format!("@{}", file.display()),
            "-H",
            "content-type: application/octet-stream",
            &post,
        ],
    );
    assert!(
        out.stdout == data,
        "the echo differs ({} bytes)",
        out.stdout.len()
    );
    assert_seen(&log, "/c2-post", http::Version::HTTP_2, "h2");
    assert_eq!(log.only("/c2-post").body_len, data.len());
    assert_eq!(server.errors(), Vec::<String>::new());
}

// ----------------------------------------------------------------------------------------------
// nghttp, httpx, openssl s_client
// ----------------------------------------------------------------------------------------------

#[test]
fn nghttp_over_tls_uses_h2() {
    let pki = TestPki::new();
    let (server, log) = tls_server(&pki);
    let mut cmd = Command::new(require_tool("nghttp"));
    cmd.args(["-v", "-t", "20"])
        .arg(https_url(&server, "127.0.0.1", "/ng"));
    let out = ok("nghttp", run_with_timeout(&mut cmd, PEER_LIMIT), &server);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("The negotiated protocol: h2"), "{stdout}");
    assert!(stdout.contains("\nhello\n"), "{stdout}");
    assert!(stdout.contains(":status: 200"), "{stdout}");
    assert_seen(&log, "/ng", http::Version::HTTP_2, "h2");
}

#[test]
fn httpx_http2_verifies_our_certificate() {
    let pki = TestPki::new();
    let (server, log) = tls_server(&pki);
    let ca = pki.ca_path.to_str().unwrap();
    let url = https_url(&server, "localhost", "/hx");
    let out = ok(
        "httpx",
        httpx_client(&url, &["--http2", "--cacert", ca]),
        &server,
    );
    assert_eq!(text(&out.stdout), "200\nhello\n");
    assert!(
        text(&out.stderr).contains("http_version: HTTP/2"),
        "{}",
        text(&out.stderr)
    );
    assert_seen(&log, "/hx", http::Version::HTTP_2, "h2");

    let post = https_url(&server, "localhost", "/hx-post");
    let out = ok(
        "httpx",
        httpx_client(
            &post,
            &["--http2", "--cacert", ca, "--data", "ping over h2"],
        ),
        &server,
    );
    assert_eq!(text(&out.stdout), "200\nping over h2");
    assert_seen(&log, "/hx-post", http::Version::HTTP_2, "h2");

    // Without our CA, httpx refuses the certificate: verification is really on.
    let out = httpx_client(
        &https_url(&server, "localhost", "/hx-refused"),
        &["--http2"],
    );
    assert!(
        !out.status.success(),
        "httpx accepted an untrusted certificate"
    );
    assert!(
        text(&out.stderr).contains("CERTIFICATE_VERIFY_FAILED"),
        "{}",
        text(&out.stderr)
    );
    assert!(log.for_path("/hx-refused").is_empty());
}

#[test]
fn openssl_s_client_http11() {
    let pki = TestPki::new();
    let (server, log) = tls_server(&pki);
    let mut cmd = Command::new(require_tool("openssl"));
    cmd.args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", server.port()))
        .args([
            "-servername",
            "localhost",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(&pki.ca_path)
        .args(["-alpn", "http/1.1", "-ign_eof"]);
    let out = run_with_input(
        &mut cmd,
        b"GET /os HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        PEER_LIMIT,
    );
    let out = ok("openssl s_client", out, &server);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Verify return code: 0 (ok)"), "{stdout}");
    assert!(stdout.contains("ALPN protocol: http/1.1"), "{stdout}");
    assert!(stdout.contains("TLSv1.3"), "{stdout}");
    assert!(stdout.contains("HTTP/1.1 200 OK\r\n"), "{stdout}");
    assert!(stdout.contains("\r\n\r\nhello\n"), "{stdout}");
    assert_seen(&log, "/os", http::Version::HTTP_11, "http/1.1");
    assert_eq!(
        log.only("/os").tls.unwrap().server_name.as_deref(),
        Some("localhost")
    );
}

// ----------------------------------------------------------------------------------------------
// nginx as the https server, our client
// ----------------------------------------------------------------------------------------------

const NGINX_BODY: &str = "hello from nginx over tls\n";

fn nginx_exchange(
    conn: &mut Connection,
    method: &str,
    path: &str,
    body: &[u8],
) -> (Headers, Vec<u8>) {
    drive::exchange(
        conn,
        Headers::request(method.parse().expect("a method"), path, Some("localhost")),
        body,
        T,
    )
}

#[test]
fn our_client_against_nginx_over_https_http11_and_h2() {
    let pki = TestPki::new();
    let (_nginx, port) = nginx_tls_server(NGINX_BODY, &pki.server.cert_path, &pki.server.key_path);
    let post: Vec<u8> = (0..256 * 1024).map(|i| (i % 13) as u8 + b'a').collect();
    for (version, alpn) in [
        (http::Version::HTTP_11, "http/1.1"),
        (http::Version::HTTP_2, "h2"),
    ] {
        let opts = ClientOptions {
            version,
            tls: Some(TlsClientConfig::with_ca_file(&pki.ca_path).unwrap()),
            ..ClientOptions::default()
        };
        let mut conn = Connection::open(Target::Host("localhost".into(), port), opts, T)
            .unwrap_or_else(|e| panic!("connect to nginx over TLS ({version:?}): {e}"));
        assert_eq!(conn.version(), version);
        let info = conn.checktls().unwrap();
        assert_eq!(info.alpn_str(), Some(alpn));
        assert_eq!(info.version, "TLSv1.3");
        assert_eq!(info.peer_certificates.first(), Some(&pki.server.der));

        let (head, body) = nginx_exchange(&mut conn, "GET", "/", b"");
        assert_eq!(head.status(), Some(StatusCode::OK), "{version:?}");
        assert!(head
            .get_str("server")
            .is_some_and(|s| s.starts_with("nginx")));
        assert_eq!(body, NGINX_BODY.as_bytes());

        let (head, body) = nginx_exchange(&mut conn, "GET", "/big.bin", b"");
        assert_eq!(head.status(), Some(StatusCode::OK));
        assert!(body == big_bin(), "{version:?}: /big.bin differs");

        let (head, body) = nginx_exchange(&mut conn, "POST", "/echo", &post);
        assert_eq!(head.status(), Some(StatusCode::OK));
        assert!(
            body == post,
            "{version:?}: the echo differs ({} bytes)",
            body.len()
        );
        assert!(!conn.is_closed(), "nginx keeps the connection");
        conn.shutdown();
    }

    // A client that does not trust the CA refuses nginx's certificate.
    let opts = ClientOptions {
        version: http::Version::HTTP_2,
        tls: Some(TlsClientConfig::webpki_roots()),
        ..ClientOptions::default()
    };
    let err = Connection::open(Target::Host("localhost".into(), port), opts, T)
        .expect_err("the test CA is not a web root");
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(
        err.message().contains("not signed by a trusted CA"),
        "{err}"
    );
}

// ----------------------------------------------------------------------------------------------
// Headless Chromium
// ----------------------------------------------------------------------------------------------

/// Loads `url` in headless Chromium (certificate errors ignored: it has no way to take our CA
/// without a profile database) and returns (the DOM it dumped, the protocols its net log says
/// were negotiated).
fn chromium(url: &str) -> (String, Vec<String>) {
    let chromium = require_tool("chromium");
    let dir = temp_dir("chromium");
    let net_log = dir.join("net-log.json");
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--ignore-certificate-errors",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()))
    .arg(format!("--log-net-log={}", net_log.display()))
    .arg("--dump-dom")
    .arg(url)
    .env("HOME", &dir);
    let out = run_with_timeout(&mut cmd, BROWSER_LIMIT);
    assert!(
        out.status.success(),
        "chromium failed ({})\n{}",
        out.status,
        tail_of(&text(&out.stderr))
    );
    let log = fs::read_to_string(&net_log).unwrap_or_default();
    let _ = fs::remove_dir_all(&dir);
    (text(&out.stdout), negotiated_protocols(&log))
}

fn tail_of(s: &str) -> &str {
    let mut at = s.len().saturating_sub(4000);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// The `"negotiated_protocol":"..."` values in a Chromium net log.
fn negotiated_protocols(log: &str) -> Vec<String> {
    const KEY: &str = "\"negotiated_protocol\":\"";
    log.match_indices(KEY)
        .filter_map(|(at, _)| {
            let rest = &log[at + KEY.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn chromium_loads_a_page_from_our_server_over_h2() {
    let pki = TestPki::new();
    let (server, log) = tls_server(&pki);
    let (dom, protocols) = chromium(&https_url(&server, "127.0.0.1", "/page"));
    assert!(dom.contains(r#"<p id="msg">hello</p>"#), "{dom}");
    assert!(dom.contains("<title>pollhttp</title>"), "{dom}\n{PAGE}");
    let page = log.for_path("/page");
    assert!(!page.is_empty(), "{:?}", log.all());
    for seen in &page {
        assert_eq!(seen.version, http::Version::HTTP_2, "{seen:?}");
        assert_eq!(seen.tls.as_ref().unwrap().alpn_str(), Some("h2"));
    }
    assert!(protocols.iter().any(|p| p == "h2"), "{protocols:?}");
    assert!(protocols.iter().all(|p| p == "h2"), "{protocols:?}");
}

/// `examples/echo_server`, built for the profile the tests run under.
fn echo_server_example() -> PathBuf {
    example_binary("echo_server")
}

/// Runs `echo_server --tls-self-signed` on a free port: (process, port, certificate file).
fn echo_server_tls() -> (Child, u16, PathBuf) {
    let exe = echo_server_example();
    for _ in 0..3 {
        let port = free_port();
        let mut child = spawn(
            Command::new(&exe)
                .args([
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--tls-self-signed",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let stdout = child.process().stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        // The first line names the certificate, the second says where it listens: both are
        // printed before the loop starts, so reading them is waiting for the server.
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let second = lines.next().and_then(Result::ok).unwrap_or_default();
        let Some(cert) = first.strip_prefix("echo_server: self-signed certificate in ") else {
            eprintln!("echo_server on port {port} said {first:?} {second:?}; retrying");
            continue;
        };
        assert_eq!(
            second,
            format!("echo_server listening on https://127.0.0.1:{port}/")
        );
        // Keep reading, so that a later line never meets a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        wait_for_port(localhost(port), PEER_START_LIMIT);
        return (child, port, PathBuf::from(cert));
    }
    panic!("echo_server did not start");
}

#[test]
fn chromium_and_curl_against_the_echo_server_example_over_h2() {
    let (_echo, port, cert) = echo_server_tls();
    // The certificate's directory is the example's to leave behind; the test cleans it.
    let cert_dir = cert.parent().unwrap().to_path_buf();
    let (dom, protocols) = chromium(&format!("https://127.0.0.1:{port}/page"));
    assert!(dom.contains("hello"), "{dom}");
    assert!(protocols.iter().any(|p| p == "h2"), "{protocols:?}");

    let mut cmd = Command::new(require_tool("curl"));
    cmd.args([
        "-sS",
        "--max-time",
        "20",
        "--noproxy",
        "*",
        "--http2",
        "--cacert",
    ])
    .arg(&cert)
    .args(["-w", "\n%{http_version}"])
    .arg(format!("https://127.0.0.1:{port}/"));
    let out = run_with_timeout(&mut cmd, PEER_LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello\n\n2");
    let _ = fs::remove_dir_all(cert_dir);
}
