//! Behaviour of our client over real loopback sockets, against tiny servers of the test's own:
//! a `std::net::TcpListener` on a thread that follows a script of raw bytes, so every response
//! byte is under the test's control.
//!
//! Also the pollable contract as a caller's loop sees it: a raw `poll(2)` loop built only on
//! `pollfd`/`events`/`timeout`/`step` must not spin, and a `Connection` is a `mio` source.

mod common;

use common::drive::{self, drive_one, Readable};

use pollhttp::{
    ClientOptions, Config, Connection, ErrorKind, Headers, Method, PollEvents, SockName,
    StatusCode, StreamId, Target,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound on any single wait.
const WAIT: Duration = Duration::from_secs(5);

// ----------------------------------------------------------------------------------------------
// A scripted server
// ----------------------------------------------------------------------------------------------

/// One step of a scripted server's single connection.
enum Step {
    /// Read until one more request head (`\r\n\r\n`) has arrived.
    Head,
    /// Read exactly this many more bytes (a request body).
    Bytes(usize),
    /// Write these bytes.
    Write(Vec<u8>),
    /// Close the connection (the script ends).
    Close,
    /// Wait for the client to close, then end.
    Eof,
}

fn w(bytes: &[u8]) -> Step {
    Step::Write(bytes.to_vec())
}

/// What the scripted server saw.
struct Seen {
    /// Everything the client sent.
    bytes: Vec<u8>,
    /// The client's address as the server saw it.
    peer: SocketAddr,
}

struct Scripted {
    addr: SocketAddr,
    thread: Option<JoinHandle<Seen>>,
}

impl Scripted {
    /// Everything the client sent, once the script has ended.
    fn seen(mut self) -> Seen {
        match self.thread.take().unwrap().join() {
            Ok(s) => s,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            // A script that fails after the test's assertions must still be reported.
            if let Err(p) = t.join() {
                if !thread::panicking() {
                    std::panic::resume_unwind(p);
                }
            }
        }
    }
}

/// A server on `bind` (port 0) that accepts one connection and follows `steps`. Every read
/// and the accept are bounded by [`WAIT`].
fn scripted_on(bind: &str, steps: Vec<Step>) -> Scripted {
    let listener = TcpListener::bind(bind).unwrap_or_else(|e| panic!("bind {bind}: {e}"));
    let addr = listener.local_addr().unwrap();
    let thread = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + WAIT;
        let (mut s, peer) = loop {
            match listener.accept() {
                Ok(x) => break x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "scripted server: no client within {WAIT:?}"
                    );
                    let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
                    drive::wait(&[Readable(fd)], Instant::now() + Duration::from_millis(100));
                }
                Err(e) => panic!("scripted server: accept: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut all = Vec::new();
        // Bytes read and not yet consumed by a step.
        let mut pos = 0;
        let mut buf = [0u8; 16 * 1024];
        let mut read_more = |s: &mut TcpStream, all: &mut Vec<u8>| -> usize {
            match s.read(&mut buf) {
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    n
                }
                Err(e) => panic!(
                    "scripted server: read: {e}; got so far {:?}",
                    String::from_utf8_lossy(all)
                ),
            }
        };
        for step in steps {
            match step {
                Step::Head => loop {
                    if let Some(at) = all[pos..].windows(4).position(|w| w == b"\r\n\r\n") {
                        pos += at + 4;
                        break;
                    }
                    assert!(
                        read_more(&mut s, &mut all) > 0,
                        "scripted server: EOF before a request head"
                    );
                },
                Step::Bytes(n) => {
                    while all.len() - pos < n {
                        assert!(
                            read_more(&mut s, &mut all) > 0,
                            "scripted server: EOF before the request body"
                        );
                    }
                    pos += n;
                }
                Step::Write(b) => {
                    // The client may already have given up (that is what some tests check).
                    let _ = s.write_all(&b);
                }
                Step::Close => {
                    let _ = s.shutdown(std::net::Shutdown::Write);
                    break;
                }
                Step::Eof => {
                    while read_more(&mut s, &mut all) > 0 {}
                    break;
                }
            }
        }
        Seen { bytes: all, peer }
    });
    Scripted {
        addr,
        thread: Some(thread),
    }
}

fn scripted(steps: Vec<Step>) -> Scripted {
    scripted_on("127.0.0.1:0", steps)
}

// ----------------------------------------------------------------------------------------------
// Client helpers
// ----------------------------------------------------------------------------------------------

fn opts() -> ClientOptions {
    ClientOptions::default()
}

fn open(addr: SocketAddr) -> Connection {
    Connection::open(Target::Addr(addr), opts(), Some(WAIT)).expect("connect to the script")
}

fn get(conn: &mut Connection, path: &str) -> StreamId {
    drive::send_get(conn, path, "x")
}

fn status(h: &Headers) -> u16 {
    h.status().expect("a :status").as_u16()
}

// ----------------------------------------------------------------------------------------------
// Bodies
// ----------------------------------------------------------------------------------------------

/// A chunked response with trailers: the body is the chunks joined, and the trailers are
/// there once the body is over.
#[test]
fn chunked_response_with_trailers() {
    let srv = scripted(vec![
        Step::Head,
        w(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n\
            5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\nX-Other: a\r\n\r\n",
        ),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    let h = s.get_headers(Some(WAIT)).unwrap().expect("a head");
    assert_eq!(status(&h), 200);
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"hello world");
    let t = s.try_get_trailers().unwrap().expect("trailers");
    assert_eq!(t.get_str("x-sum"), Some("42"));
    assert_eq!(t.get_str("x-other"), Some("a"));
    assert!(!s.body_close_delimited());
    assert!(!conn.is_closed(), "a chunked response keeps the connection");
    drop(conn);
}

/// A body cut short of its Content-Length by the server closing is an error of kind
/// `Truncated`, never a short success; the bytes that did arrive come first.
#[test]
fn truncated_content_length_body_is_an_error_not_a_short_success() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly 10 by"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    assert_eq!(status(&s.get_headers(Some(WAIT)).unwrap().unwrap()), 200);
    let e = s
        .get_body_as_bytes(Some(WAIT))
        .expect_err("a truncated body must not succeed");
    assert_eq!(e.kind(), ErrorKind::Truncated, "{e:?}");
    // The chunk-by-chunk reader sees the same.
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly 10 by"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    let mut got = Vec::new();
    let e = loop {
        match s.get_next_chunk(Some(WAIT)) {
            Ok(Some(d)) => got.extend_from_slice(&d),
            Ok(None) => panic!("a truncated body ended cleanly after {got:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, b"only 10 by");
    assert_eq!(e.kind(), ErrorKind::Truncated, "{e:?}");
}

/// A truncated chunked body is an error too.
#[test]
fn truncated_chunked_body_is_an_error() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    let e = s.get_body_as_bytes(Some(WAIT)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Truncated, "{e:?}");
}

/// A body delimited by the server closing is a success, marked as close-delimited.
#[test]
fn close_delimited_body_succeeds_and_is_marked() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, "),
        w(b"until the end"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    assert!(s.body_close_delimited(), "known from the head already");
    assert_eq!(
        s.get_body_as_bytes(Some(WAIT)).unwrap(),
        b"all of it, until the end"
    );
    assert!(
        s.body_close_delimited(),
        "the mark must still be there once the body is read: that is when it matters"
    );
}

/// A length-delimited body is not marked close-delimited, even when the server closes after
/// it.
#[test]
fn length_body_then_close_is_not_close_delimited() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"ok");
    assert!(!s.body_close_delimited());
}

// ----------------------------------------------------------------------------------------------
// Malformed responses
// ----------------------------------------------------------------------------------------------

fn malformed(response: &[u8]) -> pollhttp::Error {
    let srv = scripted(vec![Step::Head, w(response), Step::Eof]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let e = conn
        .stream(id)
        .get_headers(Some(WAIT))
        .expect_err("a malformed response must fail");
    // The connection is unusable afterwards and closes (the script sees EOF).
    assert!(conn.is_closed() || conn.new_stream().is_err());
    drop(conn);
    drop(srv);
    e
}

#[test]
fn bad_status_line_is_a_protocol_error() {
    for r in [
        &b"HTTP/1.1 2x0 OK\r\n\r\n"[..],
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/9.9 200 OK\r\n\r\n",
        b"SMTP ready\r\n\r\n",
    ] {
        let e = malformed(r);
        assert_eq!(
            e.kind(),
            ErrorKind::Protocol,
            "{:?}: {e:?}",
            String::from_utf8_lossy(r)
        );
    }
}

#[test]
fn nul_in_a_response_header_is_a_protocol_error() {
    let e = malformed(b"HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
}

#[test]
fn conflicting_content_lengths_are_a_protocol_error() {
    let e = malformed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
}

// ----------------------------------------------------------------------------------------------
// Interim responses
// ----------------------------------------------------------------------------------------------

/// `100 Continue` only lets the body go: `get_headers` returns the final 200, not the 100.
#[test]
fn continue_100_is_not_shown_the_final_head_is() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 100 Continue\r\n\r\n"),
        Step::Bytes(4),
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = conn.new_stream().unwrap();
    let mut h = Headers::request(Method::POST, "/", Some("x"));
    h.append("expect", "100-continue");
    h.append("content-length", "4");
    let mut s = conn.stream(id);
    s.write_headers(&h, false).unwrap();
    s.write_body_from_bytes(b"data", Some(WAIT)).unwrap();
    let head = s.get_headers(Some(WAIT)).unwrap().expect("a head");
    assert_eq!(status(&head), 200, "the interim 100 was returned: {head:?}");
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"ok");
}

/// Other interim heads (103 Early Hints) are returned, before the final one.
#[test]
fn early_hints_103_come_before_the_final_head() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"),
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    let first = s.get_headers(Some(WAIT)).unwrap().unwrap();
    assert_eq!(status(&first), 103);
    assert_eq!(first.get_str("link"), Some("</s.css>; rel=preload"));
    let fin = s.get_headers(Some(WAIT)).unwrap().unwrap();
    assert_eq!(status(&fin), 200);
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"ok");
}

// ----------------------------------------------------------------------------------------------
// Pipelining
// ----------------------------------------------------------------------------------------------

/// Three requests pipelined (heads written, one flush): the server sees all three before it
/// answers, and the answers are matched to their streams in order.
#[test]
fn pipelined_requests_get_their_answers_in_order() {
    let mut answers = Vec::new();
    for i in 1..=3 {
        answers.extend_from_slice(
            format!("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-N: {i}\r\n\r\nanswer{i}").as_bytes(),
        );
    }
    let srv = scripted(vec![
        Step::Head,
        Step::Head,
        Step::Head,
        Step::Write(answers),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    conn.set_auto_flush(false);
    let ids: Vec<StreamId> = (1..=3).map(|i| get(&mut conn, &format!("/{i}"))).collect();
    assert!(
        conn.buffered_output() > 0,
        "auto flush is off: nothing sent yet"
    );
    conn.flush(Some(WAIT)).unwrap();
    assert_eq!(conn.streams_in_flight(), 3);
    for (i, id) in ids.iter().enumerate() {
        let mut s = conn.stream(*id);
        let h = s.get_headers(Some(WAIT)).unwrap().unwrap();
        assert_eq!(h.get_str("x-n"), Some((i + 1).to_string().as_str()));
        assert_eq!(
            s.get_body_as_bytes(Some(WAIT)).unwrap(),
            format!("answer{}", i + 1).as_bytes()
        );
    }
    assert!(conn.is_idle());
    drop(conn);
    let seen = srv.seen();
    let text = String::from_utf8_lossy(&seen.bytes);
    let order: Vec<&str> = text.lines().filter(|l| l.starts_with("GET ")).collect();
    assert_eq!(
        order,
        ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1", "GET /3 HTTP/1.1"]
    );
}

/// Answers may also be read out of order: reading the third stream first buffers the first
/// two answers for their streams.
#[test]
fn pipelined_answers_can_be_read_out_of_order() {
    let mut answers = Vec::new();
    for i in 1..=3 {
        answers.extend_from_slice(
            format!("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nanswer{i}").as_bytes(),
        );
    }
    let srv = scripted(vec![
        Step::Head,
        Step::Head,
        Step::Head,
        Step::Write(answers),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let ids: Vec<StreamId> = (1..=3).map(|i| get(&mut conn, &format!("/{i}"))).collect();
    for &i in &[2usize, 0, 1] {
        let mut s = conn.stream(ids[i]);
        s.get_headers(Some(WAIT)).unwrap().unwrap();
        assert_eq!(
            s.get_body_as_bytes(Some(WAIT)).unwrap(),
            format!("answer{}", i + 1).as_bytes()
        );
    }
}

/// Heads taken with `try_get_headers_into` into one reused `Headers` are the ones
/// `try_get_headers` gives, interim heads included, also once the connection parses later
/// heads into the storage of heads given back (no field of an earlier head shows through).
#[test]
fn heads_taken_into_a_reused_headers_are_the_heads_sent() {
    fn fields(h: &Headers) -> Vec<(String, Vec<u8>)> {
        h.iter()
            .map(|f| (f.name.to_string(), f.value.to_vec()))
            .collect()
    }
    fn take_into(conn: &mut Connection, id: StreamId, dst: &mut Headers) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            match conn.stream(id).try_get_headers_into(dst) {
                Ok(got) => return got.is_some(),
                Err(e) if e.is_would_block() => {
                    assert!(Instant::now() < deadline, "no head within {WAIT:?}");
                    drive::wait(&[&*conn], deadline);
                    conn.step().expect("step");
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }
    let long = "v".repeat(300);
    let round1 = format!(
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-N: 1\r\nSet-Cookie: a\r\n\r\n1\
         HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Long: {long}\r\n\r\n2"
    );
    let round2 = "HTTP/1.1 204 No Content\r\nX-N: 3\r\n\r\n\
                  HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    let srv = scripted(vec![
        Step::Head,
        Step::Head,
        Step::Write(round1.into_bytes()),
        Step::Head,
        Step::Head,
        Step::Write(round2.as_bytes().to_vec()),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let mut head = Headers::new();
    let a = get(&mut conn, "/1");
    let b = get(&mut conn, "/2");
    let expect = |list: &[(&str, &[u8])]| -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect()
    };
    assert!(take_into(&mut conn, a, &mut head));
    assert_eq!(
        fields(&head),
        expect(&[(":status", b"103"), ("link", b"</s.css>")])
    );
    assert!(take_into(&mut conn, a, &mut head));
    assert_eq!(
        fields(&head),
        expect(&[
            (":status", b"200"),
            ("content-length", b"1"),
            ("x-n", b"1"),
            ("set-cookie", b"a"),
        ])
    );
    assert_eq!(conn.stream(a).get_body_as_bytes(Some(WAIT)).unwrap(), b"1");
    // The stream is over: no other head, and `head` stays as it was.
    assert!(!take_into(&mut conn, a, &mut head));
    assert_eq!(head.get_str("x-n"), Some("1"));
    assert!(take_into(&mut conn, b, &mut head));
    assert_eq!(
        fields(&head),
        expect(&[
            (":status", b"200"),
            ("content-length", b"1"),
            ("x-long", long.as_bytes()),
        ])
    );
    assert_eq!(conn.stream(b).get_body_as_bytes(Some(WAIT)).unwrap(), b"2");
    // Parsed into the storage of the heads given back above.
    let c = get(&mut conn, "/3");
    let d = get(&mut conn, "/4");
    assert!(take_into(&mut conn, c, &mut head));
    assert_eq!(fields(&head), expect(&[(":status", b"204"), ("x-n", b"3")]));
    let plain = conn.stream(d).get_headers(Some(WAIT)).unwrap().unwrap();
    assert_eq!(
        fields(&plain),
        expect(&[(":status", b"201"), ("content-length", b"0")])
    );
    assert!(!take_into(&mut conn, d, &mut head));
    assert_eq!(head.status(), Some(StatusCode::NO_CONTENT));
}

/// Bodies taken with `try_get_body_into` into one reused buffer: each call appends what has
/// arrived and says how much (`Ok(Some(n))`), `WouldBlock` while nothing new has come, and
/// `Ok(None)` on the call after the last bytes; a body with no bytes is over at once; a
/// truncated body is an error after the bytes that came; a stream already over reads as ended,
/// again and again. Later bodies land in the storage of earlier ones, and no byte of an
/// earlier body shows through.
#[test]
fn bodies_taken_into_a_reused_buffer_are_the_bodies_sent() {
    /// Reads stream `id`'s body to its end: the sizes each call appended.
    fn body_into(
        conn: &mut Connection,
        id: StreamId,
        buf: &mut Vec<u8>,
    ) -> pollhttp::Result<Vec<usize>> {
        let deadline = Instant::now() + WAIT;
        let mut sizes = Vec::new();
        loop {
            match conn.stream(id).try_get_body_into(buf) {
                Ok(Some(n)) => sizes.push(n),
                Ok(None) => return Ok(sizes),
                Err(e) if e.is_would_block() => {
                    assert!(Instant::now() < deadline, "no body end within {WAIT:?}");
                    drive::wait(&[&*conn], deadline);
                    conn.step().expect("step");
                }
                Err(e) => return Err(e),
            }
        }
    }
    let srv = scripted(vec![
        Step::Head,
        Step::Head,
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
            HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"),
        // The rest of the chunked body only once the client has sent a fourth request.
        Step::Head,
        w(b"2\r\nde\r\n0\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let a = get(&mut conn, "/1");
    let b = get(&mut conn, "/2");
    let c = get(&mut conn, "/3");
    let mut buf = Vec::new();
    let head = |conn: &mut Connection, id| {
        status(&conn.stream(id).get_headers(Some(WAIT)).unwrap().unwrap())
    };
    assert_eq!(head(&mut conn, a), 200);
    let sizes = body_into(&mut conn, a, &mut buf).unwrap();
    assert_eq!((buf.as_slice(), sizes.iter().sum()), (&b"hello"[..], 5));
    assert!(sizes.iter().all(|&n| n > 0), "{sizes:?}");
    // Over already (the stream is gone): nothing more, and ended, at every call.
    for _ in 0..2 {
        assert_eq!(conn.stream(a).try_get_body_into(&mut buf).unwrap(), None);
    }
    assert_eq!(buf, b"hello");

    assert_eq!(head(&mut conn, b), 200);
    buf.clear();
    let deadline = Instant::now() + WAIT;
    while buf.len() < 3 {
        match conn.stream(b).try_get_body_into(&mut buf) {
            Ok(Some(n)) => assert!(n > 0),
            Err(e) if e.is_would_block() => {}
            other => panic!("the body cannot be over before its last chunk: {other:?}"),
        }
        assert!(Instant::now() < deadline, "no body bytes within {WAIT:?}");
        if buf.len() < 3 {
            drive::wait(&[&conn], deadline);
            conn.step().expect("step");
        }
    }
    assert_eq!(buf, b"abc");
    let d = get(&mut conn, "/4");
    body_into(&mut conn, b, &mut buf).unwrap();
    assert_eq!(buf, b"abcde");

    assert_eq!(head(&mut conn, c), 204);
    buf.clear();
    assert_eq!(conn.stream(c).try_get_body_into(&mut buf).unwrap(), None);
    assert!(buf.is_empty());

    assert_eq!(head(&mut conn, d), 200);
    buf.clear();
    let e = body_into(&mut conn, d, &mut buf).expect_err("a truncated body must not succeed");
    assert_eq!(e.kind(), ErrorKind::Truncated, "{e:?}");
    assert_eq!(buf, b"part");
}

/// A `Connection: close` answer while a second pipelined request is outstanding: the first
/// succeeds, the second fails with kind `Closed` and a message saying it is safe to retry.
#[test]
fn connection_close_fails_the_next_pipelined_request_as_retryable() {
    let srv = scripted(vec![
        Step::Head,
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
        Step::Close,
    ]);
    let mut conn = open(srv.addr);
    let a = get(&mut conn, "/a");
    let b = get(&mut conn, "/b");
    let mut s = conn.stream(a);
    assert_eq!(status(&s.get_headers(Some(WAIT)).unwrap().unwrap()), 200);
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"ok");
    let e = conn
        .stream(b)
        .get_headers(Some(WAIT))
        .expect_err("the second request was never answered");
    assert_eq!(e.kind(), ErrorKind::Closed, "{e:?}");
    assert!(e.message().contains("safe to retry"), "{e:?}");
    assert!(
        conn.new_stream().is_err(),
        "a closing connection takes no new request"
    );
}

// ----------------------------------------------------------------------------------------------
// Connecting
// ----------------------------------------------------------------------------------------------

/// A closed port: kind `Connect` with errno ECONNREFUSED, for an address and for an address
/// literal given as a host.
#[test]
fn connect_to_a_closed_port_is_refused_with_errno() {
    let port = common::free_port();
    for target in [
        Target::Addr(common::localhost(port)),
        Target::Host("127.0.0.1".into(), port),
    ] {
        let e = Connection::open(target.clone(), opts(), Some(WAIT))
            .expect_err("nothing listens there");
        assert_eq!(e.kind(), ErrorKind::Connect, "{target:?}: {e:?}");
        assert_eq!(e.errno(), Some(libc::ECONNREFUSED), "{target:?}: {e:?}");
    }
}

/// A host name resolves on the resolver thread and connects; the request goes out and is
/// answered.
#[test]
fn localhost_resolves_and_connects() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Step::Eof,
    ]);
    let target = Target::Host("localhost".into(), srv.addr.port());
    let mut conn = Connection::client(target.clone(), opts()).unwrap();
    conn.connect(Some(WAIT))
        .expect("localhost resolves and connects");
    assert!(conn.is_connected());
    let id = conn.new_stream().unwrap();
    let mut s = conn.stream(id);
    s.write_headers(
        &Headers::request(Method::GET, "/", Some(&target.authority())),
        true,
    )
    .unwrap();
    assert_eq!(status(&s.get_headers(Some(WAIT)).unwrap().unwrap()), 200);
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"ok");
    drop(conn);
    let port = srv.addr.port();
    let seen = srv.seen();
    let text = String::from_utf8_lossy(&seen.bytes).to_ascii_lowercase();
    assert!(
        text.contains(&format!("\r\nhost: localhost:{port}\r\n")),
        "{text}"
    );
}

/// A name that cannot resolve fails with kind `Resolve`, within the wait's bound.
#[test]
fn unresolvable_name_is_a_resolve_error() {
    let t0 = Instant::now();
    let e = Connection::open(
        Target::Host("nonexistent.invalid".into(), 80),
        opts(),
        Some(Duration::from_secs(20)),
    )
    .expect_err("a .invalid name does not resolve");
    assert_eq!(
        e.kind(),
        ErrorKind::Resolve,
        "{e:?} after {:?}",
        t0.elapsed()
    );
    assert!(e.message().contains("nonexistent.invalid"), "{e:?}");
}

/// `Config::connect_timeout` bounds a connect whose caller gave no timeout. With a zero
/// timeout the deadline has passed before the first `step()`, whatever the network does, so
/// the outcome is deterministic: `TimedOut` (errno ETIMEDOUT), and the connection is closed.
/// (A target that never answers cannot be made reliably on loopback: a full backlog still
/// completes handshakes on Linux, and black-hole addresses depend on the network.)
#[test]
fn config_connect_timeout_fires_when_the_caller_gives_none() {
    let srv = scripted(vec![Step::Eof]);
    let mut cfg = Config::default();
    cfg.connect_timeout = Some(Duration::ZERO);
    let o = ClientOptions {
        config: Arc::new(cfg),
        ..ClientOptions::default()
    };
    for target in [
        Target::Addr(srv.addr),
        Target::Host("localhost".into(), srv.addr.port()),
    ] {
        let mut conn = Connection::client(target.clone(), o.clone()).unwrap();
        let t0 = Instant::now();
        let e = conn
            .connect(None)
            .expect_err("the connect deadline has passed");
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{target:?}: {e:?}");
        assert_eq!(e.errno(), Some(libc::ETIMEDOUT));
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
        assert!(conn.is_closed());
        assert_eq!(conn.events(), PollEvents::NONE);
        assert_eq!(conn.timeout(), None);
    }
    // Let the script end: connect once for real.
    drop(TcpStream::connect(srv.addr));
}

/// `connect(timeout)`'s own timeout: a zero wait on a name still resolving returns `TimedOut`
/// at once, and only the wait ends: the connection goes on and a later wait sees it connect.
#[test]
fn connect_wait_times_out_without_killing_the_connection() {
    let srv = scripted(vec![Step::Eof]);
    let mut conn =
        Connection::client(Target::Host("localhost".into(), srv.addr.port()), opts()).unwrap();
    let e = conn.connect(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
    assert!(!conn.is_closed());
    conn.connect(Some(WAIT)).expect("the connection went on");
    assert!(conn.is_connected());
}

// ----------------------------------------------------------------------------------------------
// Names
// ----------------------------------------------------------------------------------------------

#[test]
fn names_over_ipv4() {
    let srv = scripted(vec![Step::Eof]);
    let conn = open(srv.addr);
    let local = conn.localname().unwrap();
    let peer = conn.peername().unwrap();
    assert_eq!(peer, SockName::Inet(srv.addr));
    assert_eq!(local.family(), libc::AF_INET);
    drop(conn);
    let seen = srv.seen();
    assert_eq!(local, SockName::Inet(seen.peer));
}

/// IPv6 loopback is expected on this machine: binding `[::1]` must work (the test fails
/// rather than skips otherwise).
#[test]
fn names_over_ipv6() {
    for literal in [false, true] {
        let srv = scripted_on("[::1]:0", vec![Step::Eof]);
        assert!(srv.addr.is_ipv6());
        let target = if literal {
            Target::Host("::1".into(), srv.addr.port())
        } else {
            Target::Addr(srv.addr)
        };
        let conn = Connection::open(target.clone(), opts(), Some(WAIT))
            .unwrap_or_else(|e| panic!("{target:?}: {e:?}"));
        assert_eq!(conn.peername().unwrap(), SockName::Inet(srv.addr));
        let local = conn.localname().unwrap();
        assert_eq!(local.family(), libc::AF_INET6);
        drop(conn);
        assert_eq!(local, SockName::Inet(srv.seen().peer), "{target:?}");
    }
    assert_eq!(Target::Host("::1".into(), 8080).authority(), "[::1]:8080");
}

/// Unspecified while resolving, while connecting, and once closed.
#[test]
fn names_are_unspecified_before_connecting_and_after_close() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
        Step::Close,
    ]);
    let conn =
        Connection::client(Target::Host("localhost".into(), srv.addr.port()), opts()).unwrap();
    assert_eq!(conn.localname().unwrap(), SockName::Unspecified);
    assert_eq!(conn.peername().unwrap(), SockName::Unspecified);
    assert_eq!(conn.localname().unwrap().family(), libc::AF_UNSPEC);
    drop(conn);
    // Still connecting (no step yet) to a port where nothing listens: no name either.
    let conn =
        Connection::client(Target::Addr(common::localhost(common::free_port())), opts()).unwrap();
    assert!(!conn.is_connected());
    assert_eq!(conn.localname().unwrap(), SockName::Unspecified);
    assert_eq!(conn.peername().unwrap(), SockName::Unspecified);
    drop(conn);

    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    assert_eq!(s.get_body_as_bytes(Some(WAIT)).unwrap(), b"ok");
    drive_one(&mut conn, "the client to close", WAIT, |c| c.is_closed());
    assert_eq!(conn.localname().unwrap(), SockName::Unspecified);
    assert_eq!(conn.peername().unwrap(), SockName::Unspecified);
}

// ----------------------------------------------------------------------------------------------
// The pollable contract
// ----------------------------------------------------------------------------------------------

/// Takes every body chunk there is now without waiting; `Ok(true)` at the end of the body.
/// A stream that vanished before reporting its end ("stream is closed or unknown" right after
/// its last bytes) is noted in `lost_end` and taken as ended, so that the caller can check the
/// rest of the contract before failing on it.
fn drain_now(
    s: &mut pollhttp::Stream<'_>,
    body: &mut Vec<u8>,
    lost_end: &mut Option<pollhttp::Error>,
) -> bool {
    loop {
        match s.try_get_next_chunk() {
            Ok(Some(d)) => body.extend_from_slice(&d),
            Ok(None) => return true,
            Err(e) if e.is_would_block() => return false,
            Err(e) if e.kind() == ErrorKind::Closed && !body.is_empty() => {
                *lost_end = Some(e);
                return true;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// A request driven by a raw `poll(2)` loop that uses only `pollfd`/`events`/`timeout`/
/// `step` and the non-blocking stream calls, through name resolution (the fd changes) and
/// connect, written before the connection is up. The loop must not spin, and once the
/// connection is closed it asks for nothing.
#[test]
fn raw_poll_loop_drives_a_request_without_spinning() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhel"),
        w(b"lo"),
        Step::Close,
    ]);
    let mut conn =
        Connection::client(Target::Host("localhost".into(), srv.addr.port()), opts()).unwrap();
    let id = conn.new_stream().unwrap();
    conn.stream(id)
        .write_headers(&Headers::request(Method::GET, "/", Some("x")), true)
        .expect("a request may be written before the connection is up");
    let deadline = Instant::now() + WAIT;
    let mut iterations = 0;
    let mut fds = Vec::new();
    let mut head = None;
    let mut body = Vec::new();
    let mut ended = false;
    let mut lost_end = None;
    while !conn.is_closed() {
        iterations += 1;
        assert!(
            iterations < 100 && Instant::now() < deadline,
            "{iterations} iterations, fds {fds:?}: the loop spins or stalls"
        );
        let fd = conn.pollfd();
        assert!(fd >= 0);
        if fds.last() != Some(&fd) {
            fds.push(fd);
        }
        let ev = conn.events();
        assert!(
            !ev.is_none() || conn.timeout().is_some(),
            "a live connection waits for nothing and no time"
        );
        drive::wait(&[&conn], deadline);
        conn.step().expect("step");
        let mut s = conn.stream(id);
        if head.is_none() {
            match s.try_get_headers() {
                Ok(h) => head = h,
                Err(e) if e.is_would_block() => continue,
                Err(e) => panic!("{e:?}"),
            }
        }
        if !ended {
            ended = drain_now(&mut s, &mut body, &mut lost_end);
        }
    }
    assert_eq!(status(head.as_ref().expect("a head")), 200);
    assert!(ended);
    assert_eq!(body, b"hello");
    assert_eq!(conn.events(), PollEvents::NONE);
    assert_eq!(conn.timeout(), None);
    assert_eq!(conn.pollfd(), -1);
    assert!(
        conn.step().is_ok(),
        "step on a closed connection does nothing"
    );
    eprintln!("raw poll loop: {iterations} iterations, fds {fds:?}");
    assert!(
        lost_end.is_none(),
        "try_get_next_chunk never returned Ok(None) at the end of the body: {lost_end:?}"
    );
}

/// A `Connection` is a `mio::event::Source`: registered once (its fd does not change for an
/// address target), edge-triggered events drive a request to its end.
#[test]
fn connection_registers_with_mio() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmio!"),
        Step::Eof,
    ]);
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(8);
    let mut conn = Connection::client(Target::Addr(srv.addr), opts()).unwrap();
    let fd = conn.pollfd();
    poll.registry()
        .register(
            &mut conn,
            mio::Token(7),
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
        .unwrap();
    let id = conn.new_stream().unwrap();
    conn.stream(id)
        .write_headers(&Headers::request(Method::GET, "/", Some("x")), true)
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let mut iterations = 0;
    let mut body = Vec::new();
    let mut got_head = false;
    let mut lost_end = None;
    let done = loop {
        iterations += 1;
        assert!(
            iterations < 100 && Instant::now() < deadline,
            "{iterations} iterations: the mio loop spins or stalls"
        );
        let now = Instant::now();
        let wait = conn
            .timeout()
            .map_or(deadline, |t| t.min(deadline))
            .saturating_duration_since(now);
        poll.poll(&mut events, Some(wait)).unwrap();
        for ev in events.iter() {
            assert_eq!(ev.token(), mio::Token(7));
        }
        conn.step().unwrap();
        assert_eq!(
            conn.pollfd(),
            fd,
            "the fd of an address target does not change"
        );
        let mut s = conn.stream(id);
        if !got_head {
            match s.try_get_headers() {
                Ok(Some(h)) => {
                    assert_eq!(status(&h), 200);
                    got_head = true;
                }
                Ok(None) => panic!("the stream ended without a head"),
                Err(e) if e.is_would_block() => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        // Edge-triggered: take everything there is now, or no event will say so again.
        if got_head && drain_now(&mut s, &mut body, &mut lost_end) {
            break true;
        }
    };
    assert!(done);
    assert_eq!(body, b"mio!");
    assert_eq!(conn.events().to_mio(), Some(mio::Interest::READABLE));
    poll.registry().deregister(&mut conn).unwrap();
    assert!(
        lost_end.is_none(),
        "try_get_next_chunk never returned Ok(None) at the end of the body: {lost_end:?}"
    );
}

/// The smallest case of a stream vanishing before its end is reported: a complete response
/// in one segment, read chunk by chunk. The chunk reader must end with `Ok(None)`; and
/// `save_body_to`, built on it, must succeed.
#[test]
fn chunk_reader_ends_with_none_on_a_complete_response() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Step::Head,
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    assert_eq!(s.get_next_chunk(Some(WAIT)).unwrap(), Some(b"ok".to_vec()));
    let end = s.get_next_chunk(Some(WAIT));
    let id = get(&mut conn, "/");
    let mut s = conn.stream(id);
    s.get_headers(Some(WAIT)).unwrap().unwrap();
    let mut out = Vec::new();
    let saved = s.save_body_to(&mut out, Some(WAIT));
    assert_eq!(end, Ok(None), "get_next_chunk after the last bytes");
    assert_eq!(saved, Ok(2), "save_body_to");
    assert_eq!(out, b"ok");
}

fn expect_continue_request(conn: &mut Connection) -> StreamId {
    let id = conn.new_stream().unwrap();
    let mut h = Headers::request(Method::PUT, "/", Some("x"));
    h.append("expect", "100-continue");
    h.append("content-length", "4");
    conn.stream(id).write_headers(&h, false).unwrap();
    id
}

/// A client that asked for `100 Continue` can wait for it before sending the body.
#[test]
fn wait_for_continue_returns_true_when_the_server_says_go_on() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 100 Continue\r\n\r\n"),
        Step::Bytes(4),
        w(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = expect_continue_request(&mut conn);
    let mut s = conn.stream(id);
    assert!(s.wait_for_continue(Some(WAIT)).unwrap());
    s.write_body_from_bytes(b"data", Some(WAIT)).unwrap();
    let head = s.get_headers(Some(WAIT)).unwrap().expect("a head");
    assert_eq!(status(&head), 201);
    drop(conn);
    let seen = srv.seen();
    assert!(
        seen.bytes.ends_with(b"\r\n\r\ndata"),
        "{:?}",
        String::from_utf8_lossy(&seen.bytes)
    );
}

/// A final answer instead of `100 Continue` means the body is not wanted.
#[test]
fn wait_for_continue_returns_false_on_a_final_answer() {
    let srv = scripted(vec![
        Step::Head,
        w(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = expect_continue_request(&mut conn);
    let mut s = conn.stream(id);
    assert!(!s.wait_for_continue(Some(WAIT)).unwrap());
    let head = s.get_headers(Some(WAIT)).unwrap().expect("a head");
    assert_eq!(status(&head), 417);
}

/// A server that never answers the expectation does not make the client wait forever.
#[test]
fn wait_for_continue_gives_up_waiting_at_its_timeout() {
    let srv = scripted(vec![
        Step::Head,
        Step::Bytes(4),
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        Step::Eof,
    ]);
    let mut conn = open(srv.addr);
    let id = expect_continue_request(&mut conn);
    let mut s = conn.stream(id);
    assert!(s
        .wait_for_continue(Some(Duration::from_millis(50)))
        .unwrap());
    s.write_body_from_bytes(b"data", Some(WAIT)).unwrap();
    assert_eq!(status(&s.get_headers(Some(WAIT)).unwrap().unwrap()), 200);
}
