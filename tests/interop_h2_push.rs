//! HTTP/2 server push (RFC 9113 §8.4) against peers nobody here wrote.
//!
//! Our server pushes to `nghttp` (prior knowledge; nghttp accepts pushes unless told
//! `--no-push`), and our client, with `Http2Config::enable_push`, receives what `nghttpd -p`
//! pushes, body byte for byte. Over HTTP/1 the call is refused.

mod common;

use common::*;
use pollhttp::{
    ClientOptions, Config, Connection, Headers, Listener, Method, SockName, StatusCode, StreamId,
    Target,
};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The bound of every blocking call.
const T: Option<Duration> = Some(Duration::from_secs(15));
/// What one run of a command-line peer may take (its own timeout is shorter).
const PEER_LIMIT: Duration = Duration::from_secs(60);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `len` bytes that show a shifted or dropped piece (not a multiple of any frame size).
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

/// Serves one connection on a thread: the request for `/` is answered with a page, after
/// promising `/style.css`, which is pushed with `css`. Returns the port and the thread, which
/// ends with what it saw (the request path, the promised stream) once the client is gone.
fn push_server(css: Vec<u8>) -> (u16, thread::JoinHandle<(String, StreamId)>) {
    let mut listener = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
        .expect("bind a listener on 127.0.0.1:0");
    let port = match listener.localname().unwrap() {
        SockName::Inet(a) => a.port(),
        other => panic!("not a TCP listener: {other:?}"),
    };
    let thread = thread::spawn(move || {
        let mut conn = listener.accept_timeout(T).expect("nghttp connects");
        let id = conn
            .get_next_incoming_stream(T)
            .unwrap()
            .expect("a request");
        assert_eq!(conn.version(), http::Version::HTTP_2);
        let req = conn.stream(id).get_headers(T).unwrap().expect("a head");
        let authority = req.get_str(":authority").unwrap_or("127.0.0.1").to_string();
        let promised = Headers::request(Method::GET, "/style.css", Some(authority.as_str()));
        let pushed = conn.stream(id).push_promise(&promised).unwrap();
        let page = b"<link rel=stylesheet href=/style.css>\n";
        let mut head = Headers::response(StatusCode::OK);
        head.append("content-type", "text/html");
        head.append("content-length", page.len().to_string());
        conn.stream(id).write_headers(&head, false).unwrap();
        conn.stream(id).write_body_from_bytes(page, T).unwrap();
        let mut head = Headers::response(StatusCode::OK);
        head.append("content-type", "text/css");
        head.append("content-length", css.len().to_string());
        conn.stream(pushed).write_headers(&head, false).unwrap();
        conn.stream(pushed).write_body_from_bytes(&css, T).unwrap();
        // Serve until nghttp closes the connection (it asks for nothing more).
        let end = Instant::now() + Duration::from_secs(20);
        while !conn.is_closed() && Instant::now() < end {
            match conn.get_next_incoming_stream(Some(Duration::from_millis(200))) {
                Ok(None) => break,
                Ok(Some(extra)) => panic!("unexpected request on {extra:?}"),
                Err(e) if e.kind() == pollhttp::ErrorKind::TimedOut => {}
                Err(e) => panic!("serving nghttp: {e}"),
            }
        }
        (req.path().unwrap_or("").to_string(), pushed)
    });
    (port, thread)
}

#[test]
fn our_server_pushes_to_nghttp() {
    let css = pattern(100_000);
    let (port, server) = push_server(css.clone());
    let mut cmd = Command::new(require_tool("nghttp"));
    cmd.args(["-nv", "--timeout=20"])
        .arg(format!("http://127.0.0.1:{port}/"));
    let out = run_with_timeout(&mut cmd, PEER_LIMIT);
    let log = text(&out.stdout);
    assert!(
        out.status.success(),
        "nghttp failed ({})\n{log}\n{}",
        out.status,
        text(&out.stderr)
    );
    let (path, pushed) = server.join().expect("the server thread");
    assert_eq!(path, "/");
    assert_eq!(pushed, StreamId::new(2));
    // nghttp -v prints every frame it receives.
    assert!(
        log.contains("recv PUSH_PROMISE frame <length=")
            && log.contains("(padlen=0, promised_stream_id=2)"),
        "{log}"
    );
    // nghttp prints a block's fields before the frame that carried it.
    let before = &log[..log.find("recv PUSH_PROMISE").unwrap()];
    for field in [":method: GET", ":scheme: http", ":path: /style.css"] {
        assert!(before.contains(field), "{field} not promised: {log}");
    }
    // The pushed response: its head and its body on stream 2, with the end of the stream.
    assert!(log.contains("recv (stream_id=2) :status: 200"), "{log}");
    assert!(log.contains("; First push response header"), "{log}");
    let stream2 = log
        .lines()
        .filter(|l| l.contains("stream_id=2>"))
        .collect::<Vec<_>>();
    assert!(
        stream2.iter().any(|l| l.contains("recv HEADERS frame")),
        "{log}"
    );
    assert!(
        stream2
            .iter()
            .any(|l| l.contains("recv DATA frame") && l.contains("flags=0x01")),
        "no END_STREAM on the pushed stream: {log}"
    );
    let received: usize = log
        .lines()
        .filter(|l| l.contains("recv DATA frame") && l.contains("stream_id=2>"))
        .filter_map(|l| {
            let at = l.find("<length=")? + "<length=".len();
            l[at..].split(',').next()?.trim().parse::<usize>().ok()
        })
        .sum();
    assert_eq!(received, css.len(), "pushed body bytes: {log}");
    assert!(
        !log.contains("recv RST_STREAM") && !log.contains("PROTOCOL_ERROR"),
        "{log}"
    );
}

#[test]
fn our_client_receives_what_nghttpd_pushes() {
    let pushed_body = pattern(200_000);
    let (_nghttpd, port) = nghttpd_server(
        &[
            ("index.html", b"<link rel=stylesheet href=/pushed.bin>\n"),
            ("pushed.bin", &pushed_body),
        ],
        &["-p/index.html=/pushed.bin"],
    );
    let mut cfg = Config::default();
    cfg.http2.enable_push = true;
    let opts = ClientOptions {
        version: http::Version::HTTP_2,
        http2_prior_knowledge: true,
        config: Arc::new(cfg),
        #[cfg(feature = "tls")]
        tls: None,
    };
    let mut conn = Connection::open(Target::Addr(localhost(port)), opts, T)
        .unwrap_or_else(|e| panic!("connect to nghttpd on {port}: {e}"));
    let id = conn.new_stream().unwrap();
    conn.stream(id)
        .write_headers(
            &Headers::request(Method::GET, "/index.html", Some("127.0.0.1")),
            true,
        )
        .unwrap();
    // The push comes as an incoming stream, named before the page's body is read.
    let pushed = conn
        .get_next_incoming_stream(T)
        .unwrap()
        .expect("a pushed stream");
    let head = conn.stream(id).get_headers(T).unwrap().unwrap();
    assert_eq!(head.status(), Some(StatusCode::OK));
    let page = conn.stream(id).get_body_as_bytes(T).unwrap();
    assert_eq!(page, b"<link rel=stylesheet href=/pushed.bin>\n");
    let promised = conn.stream(pushed).get_headers(T).unwrap().unwrap();
    assert_eq!(promised.method(), Some(Method::GET));
    assert_eq!(promised.path(), Some("/pushed.bin"));
    let res = conn.stream(pushed).get_headers(T).unwrap().unwrap();
    assert_eq!(res.status(), Some(StatusCode::OK));
    assert_eq!(res.get_str("content-length"), Some("200000"));
    let body = conn.stream(pushed).get_body_as_bytes(T).unwrap();
    assert_eq!(body.len(), pushed_body.len());
    assert!(body == pushed_body, "the pushed body differs");
    assert_eq!(pushed.get() % 2, 0, "a server's stream id");
    // The connection goes on.
    let id = conn.new_stream().unwrap();
    conn.stream(id)
        .write_headers(
            &Headers::request(Method::GET, "/pushed.bin", Some("127.0.0.1")),
            true,
        )
        .unwrap();
    assert_eq!(
        conn.stream(id).get_headers(T).unwrap().unwrap().status(),
        Some(StatusCode::OK)
    );
    assert!(conn.stream(id).get_body_as_bytes(T).unwrap() == pushed_body);
}

/// HTTP/1 has no push: the call says so, and the request is still answered.
#[test]
fn push_over_http1_is_an_invalid_state() {
    use std::io::{Read, Write};
    let mut listener =
        Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default())).unwrap();
    let SockName::Inet(addr) = listener.localname().unwrap() else {
        panic!("not a TCP listener");
    };
    let client = thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(T).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        v
    });
    let mut conn = listener.accept_timeout(T).unwrap();
    let id = conn.get_next_incoming_stream(T).unwrap().unwrap();
    conn.stream(id).get_headers(T).unwrap();
    let e = conn
        .stream(id)
        .push_promise(&Headers::request(Method::GET, "/x", Some("a")))
        .unwrap_err();
    assert_eq!(e.kind(), pollhttp::ErrorKind::InvalidState);
    assert!(e.message().contains("HTTP/2"), "{e}");
    conn.stream(id)
        .write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    conn.flush(T).unwrap();
    conn.close();
    let answer = text(&client.join().unwrap());
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
}
