//! TLS through the public API over loopback: our client against our server (and against a bare
//! rustls peer where a test needs to see the records themselves), with certificates made at
//! run time (`common::certs`).
//!
//! What is pinned down: ALPN picks HTTP/1.1 or HTTP/2 and both sides report the session
//! (`version()`, `checktls()`); SNI chooses the certificate; client certificates; one port for
//! plaintext HTTP/1.1, h2c and TLS; megabyte bodies both ways; `shutdown()` ends with
//! close_notify and an end without it is told apart; bad input (plaintext, garbage, a cut
//! handshake) fails clearly and does not stop the server; bad certificates are refused with
//! the reason; a silent client is dropped at the handshake timeout and our client's connect
//! times out against a silent server; an idle TLS connection does not spin a level-triggered
//! loop.

mod common;
#[path = "peers/pollhttp_server.rs"]
mod server;
#[path = "peers/pollhttp_tls_server.rs"]
mod tls_server;

use common::certs::{Pem, TestPki};
use common::drive::drive_one;
use common::*;
use pollhttp::{
    ClientOptions, Config, Connection, ErrorKind, Headers, Listener, Method, PollEvents,
    StatusCode, Target, TlsClientConfig, TlsServerConfig,
};
use server::{default_handler, serve_in_thread, Server};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tls_server::{serve_tls, serve_tls_logged};

/// The bound of every blocking call of our client and of every raw socket read.
const LIMIT: Duration = Duration::from_secs(10);
const T: Option<Duration> = Some(LIMIT);
/// A short handshake timeout for the tests that wait for it.
const SHORT: Duration = Duration::from_millis(300);
const MB: usize = 1024 * 1024;

// ----------------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------------

fn serving(pem: &Pem) -> TlsServerConfig {
    TlsServerConfig::from_pem_files(&pem.cert_path, &pem.key_path).expect("server TLS config")
}

fn trusting(pki: &TestPki) -> TlsClientConfig {
    TlsClientConfig::with_ca_file(&pki.ca_path).expect("client TLS config")
}

fn tls_options(tls: TlsClientConfig, version: http::Version) -> ClientOptions {
    ClientOptions {
        version,
        tls: Some(tls),
        ..ClientOptions::default()
    }
}

/// `localhost:PORT` as a host name: resolved, sent as SNI and checked against the certificate.
fn localhost_name(server: &Server) -> Target {
    Target::Host("localhost".into(), server.port())
}

fn try_open(
    target: Target,
    tls: TlsClientConfig,
    version: http::Version,
) -> pollhttp::Result<Connection> {
    Connection::open(target, tls_options(tls, version), T)
}

fn open(target: Target, tls: TlsClientConfig, version: http::Version) -> Connection {
    try_open(target.clone(), tls, version)
        .unwrap_or_else(|e| panic!("https connect to {target:?} ({version:?}): {e}"))
}

/// A request for `localhost`; a body goes as `application/octet-stream`.
fn request(method: &str, path: &str, body: &[u8]) -> Headers {
    let mut h = Headers::request(method.parse().expect("a method"), path, Some("localhost"));
    if !body.is_empty() {
        h.append("content-type", "application/octet-stream");
    }
    h
}

/// One request on a new stream (a body makes it carry one) and its response.
fn try_exchange(
    conn: &mut Connection,
    method: &str,
    path: &str,
    body: &[u8],
) -> pollhttp::Result<(Headers, Vec<u8>)> {
    drive::try_exchange(conn, request(method, path, body), body, T)
}

fn exchange(conn: &mut Connection, method: &str, path: &str, body: &[u8]) -> (Headers, Vec<u8>) {
    drive::exchange(conn, request(method, path, body), body, T)
}

fn get_hello(conn: &mut Connection, path: &str) {
    let (head, body) = exchange(conn, "GET", path, b"");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(body, b"hello\n");
}

/// A TLS ClientHello as rustls sends it for `localhost`.
fn client_hello() -> Vec<u8> {
    let cfg = TlsClientConfig::insecure();
    let mut c =
        rustls::ClientConnection::new(cfg.rustls_config().clone(), "localhost".try_into().unwrap())
            .unwrap();
    let mut out = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut out).unwrap();
    }
    assert!(out.len() > 100, "a ClientHello of {} bytes", out.len());
    out
}

fn raw_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, LIMIT).unwrap_or_else(|e| panic!("{addr}: {e}"));
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Reads until the peer closes (end of file or reset); panics if that takes over `LIMIT`.
fn read_until_closed(sock: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("the server did not close within {LIMIT:?} ({e}); got {got:?}"),
        }
    }
}

type RustlsClient = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A bare rustls client (blocking) to `addr`, asking for `name` by SNI.
fn rustls_client(cfg: &TlsClientConfig, name: &str, addr: SocketAddr) -> RustlsClient {
    let conn = rustls::ClientConnection::new(
        cfg.rustls_config().clone(),
        name.to_string().try_into().unwrap(),
    )
    .unwrap();
    rustls::StreamOwned::new(conn, raw_connect(addr))
}

/// How a TLS stream ended.
#[derive(Debug, PartialEq)]
enum End {
    /// close_notify, then the end.
    Clean,
    /// The end of the TCP stream without close_notify.
    Truncated,
}

/// Reads a rustls stream to its end: (bytes, how it ended).
fn read_to_end_tls<S: Read>(s: &mut S) -> (Vec<u8>, End) {
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, End::Clean),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return (got, End::Truncated)
            }
            Err(e) => panic!(
                "TLS read failed: {e}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

fn big(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

// ----------------------------------------------------------------------------------------------
// ALPN, the session on both sides
// ----------------------------------------------------------------------------------------------

#[test]
fn https_http11_by_alpn_reports_the_session_on_both_sides() {
    let pki = TestPki::new();
    let (server, log) = serve_tls_logged(serving(&pki.server));
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    assert_eq!(conn.version(), http::Version::HTTP_11);
    get_hello(&mut conn, "/h1");

    let info = conn.checktls().expect("checktls on an https client");
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.cipher_suite.starts_with("TLS13_"), "{info:?}");
    assert_eq!(info.alpn_str(), Some("http/1.1"));
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(info.peer_certificates.first(), Some(&pki.server.der));

    let seen = log.only("/h1");
    assert_eq!(seen.version, http::Version::HTTP_11);
    let tls = seen.tls.expect("the server's TLS session");
    assert_eq!(tls.version, "TLSv1.3");
    assert_eq!(tls.alpn_str(), Some("http/1.1"));
    assert_eq!(tls.server_name.as_deref(), Some("localhost"));
    assert!(tls.peer_certificates.is_empty(), "no client certificate");
    // Keep-alive over TLS: a second request on the same connection.
    get_hello(&mut conn, "/h1-again");
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.errors(), Vec::<String>::new());
}

#[test]
fn https_h2_by_alpn_reports_the_session_on_both_sides() {
    let pki = TestPki::new();
    let (server, log) = serve_tls_logged(serving(&pki.server));
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_2,
    );
    assert_eq!(conn.version(), http::Version::HTTP_2, "ALPN chose h2");
    get_hello(&mut conn, "/h2");
    // Two streams on the one connection.
    get_hello(&mut conn, "/h2-again");

    let info = conn.checktls().unwrap();
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.alpn_str(), Some("h2"));
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(info.peer_certificates.first(), Some(&pki.server.der));

    let seen = log.only("/h2");
    assert_eq!(seen.version, http::Version::HTTP_2);
    let tls = seen.tls.unwrap();
    assert_eq!(tls.alpn_str(), Some("h2"));
    assert_eq!(tls.server_name.as_deref(), Some("localhost"));
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.errors(), Vec::<String>::new());
}

#[test]
fn an_h2_client_gets_http11_from_a_server_that_does_not_offer_h2() {
    let pki = TestPki::new();
    let server = serve_tls(serving(&pki.server).offer_h2(false), default_handler);
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_2,
    );
    assert_eq!(conn.version(), http::Version::HTTP_11);
    assert_eq!(conn.checktls().unwrap().alpn_str(), Some("http/1.1"));
    get_hello(&mut conn, "/");
}

#[test]
fn a_client_whose_tls_settings_do_not_offer_h2_speaks_http11_even_when_asking_for_http2() {
    let pki = TestPki::new();
    let server = serve_tls(serving(&pki.server), default_handler);
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki).offer_h2(false),
        http::Version::HTTP_2,
    );
    assert_eq!(conn.version(), http::Version::HTTP_11);
    assert_eq!(conn.checktls().unwrap().alpn_str(), Some("http/1.1"));
    get_hello(&mut conn, "/");
    // The same server, asked with the default settings: HTTP/2.
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_2,
    );
    assert_eq!(conn.version(), http::Version::HTTP_2);
    get_hello(&mut conn, "/");
}

#[test]
fn an_ip_address_target_sends_no_sni_and_is_checked_against_the_ip_entry() {
    let pki = TestPki::new();
    let (server, log) = serve_tls_logged(serving(&pki.server));
    let mut conn = open(
        Target::Addr(server.addr()),
        trusting(&pki),
        http::Version::HTTP_2,
    );
    get_hello(&mut conn, "/ip");
    assert_eq!(conn.checktls().unwrap().server_name, None);
    assert_eq!(log.only("/ip").tls.unwrap().server_name, None);
}

// ----------------------------------------------------------------------------------------------
// Certificates: SNI, client certificates
// ----------------------------------------------------------------------------------------------

#[test]
fn sni_chooses_the_certificate_and_other_names_get_the_default() {
    let pki = TestPki::new();
    let by_name = pki.issue("sni-localhost", &["localhost"]);
    let wild = pki.issue("sni-wild", &["*.wild.test"]);
    let tls = serving(&pki.server)
        .with_sni(vec![
            ("localhost", &by_name.cert_path, &by_name.key_path),
            ("*.wild.test", &wild.cert_path, &wild.key_path),
        ])
        .unwrap();
    let (server, log) = serve_tls_logged(tls);

    // Our client, by name: the certificate listed for `localhost`.
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    get_hello(&mut conn, "/by-name");
    assert_eq!(
        conn.checktls().unwrap().peer_certificates[0],
        by_name.der,
        "SNI localhost picks its own certificate"
    );

    // Our client, by address: no SNI, so the default certificate.
    let mut conn = open(
        Target::Addr(server.addr()),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    get_hello(&mut conn, "/by-address");
    assert_eq!(
        conn.checktls().unwrap().peer_certificates[0],
        pki.server.der
    );

    // A bare rustls client asking for a name under the wildcard.
    let mut c = rustls_client(
        &trusting(&pki).offer_h2(false),
        "a.wild.test",
        server.addr(),
    );
    c.write_all(b"GET /wild HTTP/1.1\r\nHost: a.wild.test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (response, end) = read_to_end_tls(&mut c);
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    assert_eq!(end, End::Clean, "the server ends with close_notify");
    let presented = c.conn.peer_certificates().unwrap()[0].as_ref().to_vec();
    assert_eq!(presented, wild.der);

    assert_eq!(
        log.only("/by-name").tls.unwrap().server_name.as_deref(),
        Some("localhost")
    );
    assert_eq!(log.only("/by-address").tls.unwrap().server_name, None);
    assert_eq!(
        log.only("/wild").tls.unwrap().server_name.as_deref(),
        Some("a.wild.test")
    );
}

#[test]
fn a_required_client_certificate_is_seen_by_the_server_and_its_absence_refused() {
    let pki = TestPki::new();
    let tls = serving(&pki.server)
        .with_client_ca_file(&pki.ca_path, true)
        .unwrap();
    let (server, log) = serve_tls_logged(tls);

    for version in [http::Version::HTTP_11, http::Version::HTTP_2] {
        let with_cert = trusting(&pki)
            .with_client_cert(&pki.client.cert_path, &pki.client.key_path)
            .unwrap();
        let mut conn = open(localhost_name(&server), with_cert, version);
        let path = format!("/client-cert-{version:?}");
        get_hello(&mut conn, &path);
        let seen = log.only(&path);
        assert_eq!(seen.version, version);
        assert_eq!(
            seen.tls.unwrap().peer_certificates.first(),
            Some(&pki.client.der),
            "the server sees the client's certificate"
        );
    }

    // Without a certificate: TLS 1.3 lets the client finish its side of the handshake before
    // the server refuses, so the failure may show at connect or at the first exchange.
    let err = match try_open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_11,
    ) {
        Err(e) => e,
        Ok(mut conn) => try_exchange(&mut conn, "GET", "/no-cert", b"")
            .expect_err("a client without a certificate must be refused"),
    };
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.message().contains("refused"), "{err}");
    assert!(log.for_path("/no-cert").is_empty());
    let on_server = server
        .wait_for_error("certificate", LIMIT)
        .unwrap_or_else(|| panic!("server errors: {:?}", server.errors()));
    assert!(on_server.contains("TLS handshake failed"), "{on_server}");
}

#[test]
fn an_optional_client_certificate_may_be_left_out() {
    let pki = TestPki::new();
    let tls = serving(&pki.server)
        .with_client_ca_file(&pki.ca_path, false)
        .unwrap();
    let (server, log) = serve_tls_logged(tls);
    let mut conn = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_2,
    );
    get_hello(&mut conn, "/anonymous");
    assert!(log
        .only("/anonymous")
        .tls
        .unwrap()
        .peer_certificates
        .is_empty());
}

#[test]
fn our_client_refuses_bad_certificates_and_says_why() {
    let pki = TestPki::new();
    let cases: [(&Pem, &str); 3] = [
        (&pki.expired, "the server's certificate has expired"),
        (
            &pki.wrong_name,
            "the server's certificate is not valid for the name asked for",
        ),
        (
            &pki.untrusted,
            "the server's certificate is not signed by a trusted CA",
        ),
    ];
    for (pem, why) in cases {
        let server = serve_tls(serving(pem), default_handler);
        for version in [http::Version::HTTP_11, http::Version::HTTP_2] {
            let err = try_open(localhost_name(&server), trusting(&pki), version)
                .expect_err("a bad certificate must be refused");
            assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
            assert!(err.message().contains(why), "expected {why:?} in: {err}");
            // rustls's own error stays reachable under ours.
            let source = std::error::Error::source(&err).expect("the rustls error as source");
            assert!(
                matches!(
                    source.downcast_ref::<rustls::Error>(),
                    Some(rustls::Error::InvalidCertificate(_))
                ),
                "{source:?}"
            );
        }
        // The server heard why: our client sent an alert.
        let on_server = server
            .wait_for_error("refused the session", LIMIT)
            .unwrap_or_else(|| panic!("server errors: {:?}", server.errors()));
        assert!(on_server.contains("alert"), "{on_server}");
        // And insecure() accepts the same certificate.
        let mut conn = open(
            localhost_name(&server),
            TlsClientConfig::insecure(),
            http::Version::HTTP_2,
        );
        get_hello(&mut conn, "/insecure");
    }
}

// ----------------------------------------------------------------------------------------------
// One port for plaintext and TLS
// ----------------------------------------------------------------------------------------------

#[test]
fn one_port_serves_plaintext_http11_h2c_and_tls() {
    let pki = TestPki::new();
    let (server, log) = serve_tls_logged(serving(&pki.server).allow_plaintext(true));
    let target = Target::Addr(server.addr());

    let mut plain = Connection::open(target.clone(), ClientOptions::default(), T).unwrap();
    get_hello(&mut plain, "/plain-h1");
    assert_eq!(plain.checktls().unwrap_err().kind(), ErrorKind::NoTls);

    let h2c = ClientOptions {
        version: http::Version::HTTP_2,
        http2_prior_knowledge: true,
        ..ClientOptions::default()
    };
    let mut prior = Connection::open(target.clone(), h2c, T).unwrap();
    assert_eq!(prior.version(), http::Version::HTTP_2);
    get_hello(&mut prior, "/plain-h2c");

    let mut tls_h2 = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_2,
    );
    get_hello(&mut tls_h2, "/tls-h2");
    let mut tls_h1 = open(
        localhost_name(&server),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    get_hello(&mut tls_h1, "/tls-h1");

    // HTTP/1.0 bytes straight on the socket.
    let raw = raw_exchange(server.addr(), b"GET /raw-h10 HTTP/1.0\r\n\r\n", LIMIT);
    let (head, body) = split_head(&raw);
    assert!(head.starts_with("HTTP/1."), "{head}");
    assert!(head.contains(" 200 "), "{head}");
    assert_eq!(body, b"hello\n");

    let expect = [
        ("/plain-h1", http::Version::HTTP_11, None),
        ("/plain-h2c", http::Version::HTTP_2, None),
        ("/tls-h2", http::Version::HTTP_2, Some("h2")),
        ("/tls-h1", http::Version::HTTP_11, Some("http/1.1")),
        // A server connection's version() is 1.1 for HTTP/1.0 requests too (1.x is one core).
        ("/raw-h10", http::Version::HTTP_11, None),
    ];
    for (path, version, alpn) in expect {
        let seen = log.only(path);
        assert_eq!(seen.version, version, "{path}");
        match alpn {
            None => assert!(seen.tls.is_none(), "{path} came over TLS: {seen:?}"),
            Some(a) => assert_eq!(seen.tls.unwrap().alpn_str(), Some(a), "{path}"),
        }
    }
    assert_eq!(server.accepted(), 5);
    assert_eq!(server.errors(), Vec::<String>::new());
}

// ----------------------------------------------------------------------------------------------
// Bodies, close_notify, truncation
// ----------------------------------------------------------------------------------------------

#[test]
fn megabyte_bodies_go_both_ways_over_http11_and_h2() {
    let pki = TestPki::new();
    let (server, log) = serve_tls_logged(serving(&pki.server));
    let data = big(MB);
    for version in [http::Version::HTTP_11, http::Version::HTTP_2] {
        let mut conn = open(localhost_name(&server), trusting(&pki), version);
        assert_eq!(conn.version(), version);
        let path = format!("/mb-{version:?}");
        for round in 0..2 {
            let (head, body) = exchange(&mut conn, "POST", &path, &data);
            assert_eq!(head.status(), Some(StatusCode::OK));
            assert_eq!(head.get_str("x-body-length"), Some(MB.to_string().as_str()));
            assert_eq!(body.len(), MB, "{version:?} round {round}");
            assert!(body == data, "{version:?} round {round}: the echo differs");
        }
        let seen = log.for_path(&path);
        assert_eq!(seen.len(), 2);
        assert!(seen
            .iter()
            .all(|s| s.body_len == MB && s.version == version));
    }
    assert_eq!(server.accepted(), 2);
    assert_eq!(server.errors(), Vec::<String>::new());
}

#[test]
fn our_server_shutdown_ends_with_close_notify() {
    let pki = TestPki::new();
    let mut listener = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
        .unwrap()
        .with_tls(serving(&pki.server));
    let addr = match listener.localname().unwrap() {
        pollhttp::SockName::Inet(a) => a,
        other => panic!("{other:?}"),
    };
    let client_cfg = trusting(&pki).offer_h2(false);
    let client = thread::spawn(move || {
        let mut c = rustls_client(&client_cfg, "localhost", addr);
        // Keep-alive: the server ends the connection only because of shutdown().
        c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        read_to_end_tls(&mut c)
    });
    let mut conn = listener.accept_timeout(T).unwrap();
    let id = conn
        .get_next_incoming_stream(T)
        .unwrap()
        .expect("a request");
    let mut stream = conn.stream(id);
    stream.get_headers(T).unwrap().unwrap();
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-length", "6");
    stream.write_headers(&res, false).unwrap();
    stream.write_body_from_bytes(b"hello\n", T).unwrap();
    conn.shutdown();
    // Ok(None): the connection closed and no request will come.
    assert_eq!(conn.get_next_incoming_stream(T).unwrap(), None);
    assert!(conn.is_closed());
    assert!(conn.error().is_none(), "{:?}", conn.error());

    let (response, end) = client.join().unwrap();
    let (head, body) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"hello\n");
    assert_eq!(end, End::Clean, "the peer saw close_notify, not a cut");
}

/// A bare rustls server on a thread: takes one connection, reads one request head, answers
/// with `response`, waits for `release` (if given), then either ends the TLS session properly
/// (`close_notify`) or just drops the socket; it returns how the client ended its side.
fn rustls_server(
    pki: &TestPki,
    response: &'static [u8],
    close_notify: bool,
    release: Option<mpsc::Receiver<()>>,
) -> (SocketAddr, thread::JoinHandle<End>) {
    let cfg = serving(&pki.server).rustls_config().clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(LIMIT)).unwrap();
        let conn = rustls::ServerConnection::new(cfg).unwrap();
        let mut s = rustls::StreamOwned::new(conn, sock);
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).expect("read the request");
            assert!(n > 0, "the client closed before its request");
            head.extend_from_slice(&buf[..n]);
        }
        s.write_all(response).unwrap();
        s.flush().unwrap();
        if let Some(r) = release {
            r.recv_timeout(LIMIT).expect("the test's go-ahead");
        }
        if !close_notify {
            // Gone without a word: no close_notify.
            s.sock.shutdown(Shutdown::Both).unwrap();
            return End::Truncated;
        }
        let (_, end) = read_to_end_tls(&mut s);
        s.conn.send_close_notify();
        let _ = s.flush();
        end
    });
    (addr, handle)
}

#[test]
fn our_client_shutdown_sends_close_notify() {
    let pki = TestPki::new();
    let (addr, peer) = rustls_server(
        &pki,
        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n",
        true,
        None,
    );
    let mut conn = open(
        Target::Host("localhost".into(), addr.port()),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    get_hello(&mut conn, "/");
    conn.shutdown();
    drive_one(&mut conn, "the close", LIMIT, |c| c.is_closed());
    assert!(conn.error().is_none(), "{:?}", conn.error());
    assert_eq!(peer.join().unwrap(), End::Clean);
}

#[test]
fn a_response_cut_without_close_notify_is_truncated() {
    let pki = TestPki::new();
    let (addr, peer) = rustls_server(
        &pki,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
        false,
        None,
    );
    let mut conn = open(
        Target::Host("localhost".into(), addr.port()),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    let err = try_exchange(&mut conn, "GET", "/", b"").expect_err("a cut body");
    assert_eq!(err.kind(), ErrorKind::Truncated, "{err}");
    assert!(err.message().contains("close_notify"), "{err}");
    peer.join().unwrap();
}

#[test]
fn an_end_without_close_notify_between_exchanges_is_no_error() {
    let pki = TestPki::new();
    let (go, release) = mpsc::channel();
    let (addr, peer) = rustls_server(
        &pki,
        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n",
        false,
        Some(release),
    );
    let mut conn = open(
        Target::Host("localhost".into(), addr.port()),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    get_hello(&mut conn, "/");
    assert!(conn.is_idle());
    // Only now, with the exchange over, does the server go without close_notify.
    go.send(()).unwrap();
    peer.join().unwrap();
    drive_one(&mut conn, "the close", LIMIT, |c| c.is_closed());
    assert!(
        conn.error().is_none(),
        "no exchange was in progress: {:?}",
        conn.error()
    );
}

#[test]
fn an_end_without_close_notify_right_after_a_complete_response_is_no_error() {
    let pki = TestPki::new();
    let (addr, peer) = rustls_server(
        &pki,
        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n",
        false,
        None,
    );
    let mut conn = open(
        Target::Host("localhost".into(), addr.port()),
        trusting(&pki),
        http::Version::HTTP_11,
    );
    peer_answers_then_leaves(&mut conn, peer);
}

/// Sends a GET, lets the peer answer in full and leave (no close_notify) before the response
/// is read, then reads it: the response is whole, and so the end is not an error.
fn peer_answers_then_leaves(conn: &mut Connection, peer: thread::JoinHandle<End>) {
    let id = conn.new_stream().unwrap();
    conn.stream(id)
        .write_headers(&Headers::request(Method::GET, "/", Some("localhost")), true)
        .unwrap();
    peer.join().unwrap();
    let steps = drive_one(conn, "the close", LIMIT, |c| c.is_closed());
    let mut stream = conn.stream(id);
    let head = stream.get_headers(T).unwrap().unwrap();
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(stream.get_body_as_bytes(T).unwrap(), b"hello\n");
    assert!(
        conn.error().is_none(),
        "the response was complete (Content-Length 6, 6 bytes), yet after {steps} steps: {:?}",
        conn.error()
    );
}

// ----------------------------------------------------------------------------------------------
// Bad input at the server
// ----------------------------------------------------------------------------------------------

/// Sends `bytes` on a raw TCP connection to `server` (then, with `half_close`, ends its
/// sending side) and reads until the server closes: what the server sent back.
fn send_raw(server: &Server, bytes: &[u8], half_close: bool) -> Vec<u8> {
    let mut sock = raw_connect(server.addr());
    sock.write_all(bytes).unwrap();
    if half_close {
        sock.shutdown(Shutdown::Write).unwrap();
    }
    read_until_closed(&mut sock)
}

fn server_error(server: &Server, needle: &str) -> String {
    server
        .wait_for_error(needle, LIMIT)
        .unwrap_or_else(|| panic!("no server error with {needle:?}: {:?}", server.errors()))
}

/// The server still serves a good client after whatever came before.
fn still_serving(server: &Server, pki: &TestPki) {
    let mut conn = open(localhost_name(server), trusting(pki), http::Version::HTTP_2);
    get_hello(&mut conn, "/still-there");
}

#[test]
fn plaintext_http_to_a_tls_only_port_fails_clearly_and_others_are_still_served() {
    let pki = TestPki::new();
    let server = serve_tls(serving(&pki.server), default_handler);
    let back = send_raw(&server, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", false);
    // Nothing but a TLS alert record (type 21) comes back, and the connection is closed.
    assert!(back.is_empty() || back[0] == 21, "{back:?}");
    let err = server_error(&server, "does not speak TLS");
    assert!(
        err.contains(r#"it sent plaintext starting with "GET / HTTP/1.1\r\n"#),
        "{err}"
    );
    // An h2c preface is plaintext too.
    send_raw(&server, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false);
    server_error(&server, "plaintext starting with \"PRI * HTTP/2.0");
    still_serving(&server, &pki);
}

#[test]
fn garbage_fails_the_handshake_and_others_are_still_served() {
    let pki = TestPki::new();
    let server = serve_tls(serving(&pki.server), default_handler);
    send_raw(&server, b"\x00\x01\x02garbage\xff\xfe\r\n\r\n", true);
    server_error(&server, "does not speak TLS");
    // Bytes that start like a TLS handshake record and then make no sense.
    let mut fake = vec![0x16, 0x03, 0x01, 0x00, 0x20];
    fake.extend_from_slice(&[0xee; 32]);
    send_raw(&server, &fake, false);
    let errors = server.wait_for_errors("TLS handshake failed", 2, LIMIT);
    assert_eq!(errors.len(), 2, "{:?}", server.errors());
    assert!(!errors[1].contains("does not speak TLS"), "{}", errors[1]);
    eprintln!("fake TLS record: {}", errors[1]);
    still_serving(&server, &pki);
    assert!(server.accepted() >= 3);
}

#[test]
fn a_handshake_cut_in_the_middle_is_reported_as_truncation() {
    let pki = TestPki::new();
    let server = serve_tls(serving(&pki.server), default_handler);
    let hello = client_hello();
    send_raw(&server, &hello[..hello.len() / 2], true);
    server_error(
        &server,
        "TLS handshake: the peer closed the connection in the middle of the handshake",
    );
    // And one that connects and leaves without a byte.
    send_raw(&server, b"", true);
    server_error(&server, "before sending anything");
    still_serving(&server, &pki);
}

#[test]
fn a_client_that_never_finishes_the_handshake_is_dropped_at_the_timeout() {
    let pki = TestPki::new();
    let server = serve_tls(
        serving(&pki.server).handshake_timeout(Some(SHORT)),
        default_handler,
    );
    let hello = client_hello();
    for first in [&hello[..hello.len() / 2], &[][..]] {
        let started = Instant::now();
        let mut sock = raw_connect(server.addr());
        sock.write_all(first).unwrap();
        // Keep the sending side open: only the server's deadline can end this.
        read_until_closed(&mut sock);
        let took = started.elapsed();
        assert!(took >= SHORT, "closed after {took:?}, before the timeout");
        assert!(
            took < SHORT + Duration::from_secs(3),
            "closed after {took:?}"
        );
    }
    let timeouts = server.wait_for_errors("timed out", 2, LIMIT);
    assert_eq!(timeouts.len(), 2, "{:?}", server.errors());
    for err in timeouts {
        assert_eq!(err, "step: TLS handshake: timed out");
    }
    still_serving(&server, &pki);
}

// ----------------------------------------------------------------------------------------------
// Our client's connect
// ----------------------------------------------------------------------------------------------

#[test]
fn our_client_times_out_against_a_server_that_never_speaks_tls() {
    // The kernel completes the TCP handshake for the backlog; nobody ever answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let pki = TestPki::new();

    // The caller's timeout.
    let started = Instant::now();
    let err = Connection::open(
        Target::Addr(addr),
        tls_options(trusting(&pki), http::Version::HTTP_2),
        Some(SHORT),
    )
    .expect_err("nothing answers");
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        took >= SHORT && took < SHORT + Duration::from_secs(3),
        "{took:?}"
    );

    // Config::connect_timeout, with no timeout of the caller's: the handshake is part of it.
    let mut cfg = Config::default();
    cfg.connect_timeout = Some(SHORT);
    let opts = ClientOptions {
        config: Arc::new(cfg),
        ..tls_options(trusting(&pki), http::Version::HTTP_11)
    };
    let started = Instant::now();
    let mut conn = Connection::client(Target::Addr(addr), opts).unwrap();
    let err = conn.connect(None).expect_err("nothing answers");
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(err.message().contains("TLS handshake"), "{err}");
    assert!(
        took >= SHORT && took < SHORT + Duration::from_secs(3),
        "{took:?}"
    );
    assert!(conn.is_closed());
    drop(silent);
}

#[test]
fn checktls_is_notls_on_plaintext_and_would_block_during_the_handshake() {
    let server = serve_in_thread(default_handler);
    let mut plain =
        Connection::open(Target::Addr(server.addr()), ClientOptions::default(), T).unwrap();
    get_hello(&mut plain, "/");
    let err = plain.checktls().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoTls, "{err}");

    let pki = TestPki::new();
    let tls_server = serve_tls(serving(&pki.server), default_handler);
    let conn = Connection::client(
        localhost_name(&tls_server),
        tls_options(trusting(&pki), http::Version::HTTP_2),
    )
    .unwrap();
    // Not stepped yet: no session to describe.
    assert_eq!(conn.checktls().unwrap_err().kind(), ErrorKind::WouldBlock);
}

// ----------------------------------------------------------------------------------------------
// The pollable contract over TLS
// ----------------------------------------------------------------------------------------------

#[test]
fn an_idle_tls_connection_does_not_spin_a_level_triggered_loop() {
    const WINDOW: Duration = Duration::from_millis(500);
    let pki = TestPki::new();
    let server = serve_tls(serving(&pki.server), default_handler);
    for version in [http::Version::HTTP_11, http::Version::HTTP_2] {
        let mut conn = open(localhost_name(&server), trusting(&pki), version);
        get_hello(&mut conn, "/");
        get_hello(&mut conn, "/");
        // Let what the exchange left in flight settle (an HTTP/2 SETTINGS ack, say).
        let _ = drive_one(&mut conn, "what the exchange left in flight", LIMIT, |c| {
            c.timeout().is_none_or(|t| t > Instant::now() + WINDOW)
        });
        assert_eq!(conn.events(), PollEvents::READABLE, "{version:?}");

        let server_turns = server.iterations();
        let end = Instant::now() + WINDOW;
        let mut steps = 0;
        while Instant::now() < end {
            drive::wait(&[&conn], end);
            conn.step().unwrap();
            steps += 1;
        }
        let server_turns = server.iterations() - server_turns;
        assert!(
            steps <= 3,
            "{version:?}: our client stepped {steps} times in {WINDOW:?} of idleness"
        );
        assert!(
            server_turns <= 3,
            "{version:?}: the server loop turned {server_turns} times in {WINDOW:?} of idleness"
        );
        assert!(!conn.is_closed());
        get_hello(&mut conn, "/after-idle");
    }
    assert_eq!(server.errors(), Vec::<String>::new());
}
