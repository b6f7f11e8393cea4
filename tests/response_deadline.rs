//! The client's response deadlines (`Config::response_timeout`, `response_read_timeout`) over
//! real loopback sockets, with the blocking calls a program makes: a server that accepts and
//! never answers, and one that sends the head and a little of the body and then stalls, over
//! HTTP/1.1 (a raw `std` socket on a thread) and HTTP/2 by prior knowledge (our server on a
//! thread). The client's `get_headers` / `get_body_as_bytes` end with `TimedOut` at about the
//! configured time, never before; HTTP/1.1 closes the connection, HTTP/2 resets the stream and
//! keeps the connection. Every wait is on events and bounded by [`WAIT`].

mod common;

use common::drive::{self, drive_one, Readable};

use pollhttp::{
    ClientOptions, Config, Connection, Error, ErrorKind, Headers, Listener, SockName, StatusCode,
    StreamState, Target,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound on any single wait.
const WAIT: Duration = Duration::from_secs(5);

/// The deadlines the client is given.
const LIMIT: Duration = Duration::from_millis(300);

/// How late after its deadline a timeout may be seen (a loaded machine schedules late).
const SLACK: Duration = Duration::from_secs(2);

/// What the server does with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    /// Reads it and never answers.
    Silent,
    /// Answers 200 with a Content-Length of 100, sends 5 bytes of the body, and no more.
    Stalls,
}

/// A client of `version` (HTTP/2 by prior knowledge) with both response deadlines at
/// [`LIMIT`], connected to `addr`.
fn client(addr: SocketAddr, version: http::Version) -> Connection {
    let mut cfg = Config::default();
    cfg.response_timeout = Some(LIMIT);
    cfg.response_read_timeout = Some(LIMIT);
    let opts = ClientOptions {
        version,
        http2_prior_knowledge: version == http::Version::HTTP_2,
        config: Arc::new(cfg),
        #[cfg(feature = "tls")]
        tls: None,
    };
    Connection::open(Target::Addr(addr), opts, Some(WAIT)).expect("connect")
}

/// Checks a response deadline's error, seen `took` after the clock could start.
fn assert_timed_out(e: &Error, said: &str, took: Duration) {
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(e.message(), said);
    assert!(took >= LIMIT, "{e} after {took:?}, before its time");
    assert!(took < LIMIT + SLACK, "{e} only after {took:?}");
}

/// The client's side: a GET, and the deadline that ends it. Returns the error.
fn ask(conn: &mut Connection, server: Server) -> Error {
    let start = Instant::now();
    let id = drive::send_get(conn, "/", "x");
    let mut s = conn.stream(id);
    match server {
        Server::Silent => {
            let e = s.get_headers(Some(WAIT)).expect_err("no answer came");
            assert_timed_out(&e, "no response within 300 ms", start.elapsed());
            e
        }
        Server::Stalls => {
            let head = s.get_headers(Some(WAIT)).unwrap().expect("a head");
            assert_eq!(head.status(), Some(StatusCode::OK));
            // The clock runs once the application has taken what came: from here at the
            // earliest.
            let start = Instant::now();
            let e = s.get_body_as_bytes(Some(WAIT)).expect_err("a stalled body");
            assert_timed_out(
                &e,
                "the response stalled: nothing for 300 ms",
                start.elapsed(),
            );
            e
        }
    }
}

// ----------------------------------------------------------------------------------------------
// HTTP/1.1: a raw socket on a thread
// ----------------------------------------------------------------------------------------------

/// A raw HTTP/1.1 server on a thread: it accepts one connection, reads the request head, does
/// what `server` says, and then reads until the client closes. Returns whether it did.
fn h1_server(server: Server) -> (SocketAddr, JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + WAIT;
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "no client within {WAIT:?}");
                    let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
                    drive::wait(&[Readable(fd)], deadline);
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).expect("the request head");
            assert!(n > 0, "EOF before the request head");
            got.extend_from_slice(&buf[..n]);
        }
        if server == Server::Stalls {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst")
                .unwrap();
        }
        // Nothing more: the client must give up and close (a read error here is the bound).
        matches!(s.read(&mut buf), Ok(0))
    });
    (addr, t)
}

#[test]
fn http1_a_silent_server_times_out_the_request_and_the_connection_closes() {
    let (addr, server) = h1_server(Server::Silent);
    let mut conn = client(addr, http::Version::HTTP_11);
    let e = ask(&mut conn, Server::Silent);
    assert_eq!(e.errno(), Some(libc::ETIMEDOUT));
    assert!(
        conn.is_closed(),
        "an HTTP/1 connection cannot be reused after that"
    );
    assert!(server.join().unwrap(), "the server saw the client close");
}

#[test]
fn http1_a_body_that_stalls_times_out_and_the_connection_closes() {
    let (addr, server) = h1_server(Server::Stalls);
    let mut conn = client(addr, http::Version::HTTP_11);
    ask(&mut conn, Server::Stalls);
    assert!(conn.is_closed());
    assert!(server.join().unwrap(), "the server saw the client close");
}

// ----------------------------------------------------------------------------------------------
// HTTP/2 by prior knowledge: our server on a thread
// ----------------------------------------------------------------------------------------------

/// Our server on a thread: it accepts one connection (HTTP/2 by the client's preface), takes
/// one request and does what `server` says, then drives the connection until the stream is
/// closed (the client reset it) and says on the channel whether the connection was still open
/// then; then it drives it until the client has gone.
fn h2_server(server: Server) -> (SocketAddr, mpsc::Receiver<bool>, JoinHandle<()>) {
    let mut l = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
        .expect("a listener");
    let SockName::Inet(addr) = l.localname().unwrap() else {
        panic!("a TCP listener")
    };
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let mut conn = l.accept_timeout(Some(WAIT)).expect("a client");
        let id = conn
            .get_next_incoming_stream(Some(WAIT))
            .expect("a request")
            .expect("a request");
        conn.stream(id).get_headers(Some(WAIT)).unwrap();
        if server == Server::Stalls {
            let mut h = Headers::response(StatusCode::OK);
            h.append("content-length", "100");
            let mut s = conn.stream(id);
            s.write_headers(&h, false).unwrap();
            s.write_chunk(b"first", false, Some(WAIT)).unwrap();
            conn.flush(Some(WAIT)).unwrap();
        }
        drive_one(&mut conn, "the client's reset", WAIT, |c| {
            c.is_closed() || c.stream(id).state() == StreamState::Closed
        });
        tx.send(!conn.is_closed()).unwrap();
        drive_one(&mut conn, "the client to go", WAIT, |c| c.is_closed());
    });
    (addr, rx, t)
}

/// RST_STREAM's CANCEL (RFC 9113 §7).
const CANCEL: u32 = 0x8;

/// HTTP/2: the deadline resets the stream, the connection stays; the server sees the reset
/// while the connection is open.
fn h2_case(server: Server) {
    let (addr, reset_seen, thread) = h2_server(server);
    let mut conn = client(addr, http::Version::HTTP_2);
    assert_eq!(conn.version(), http::Version::HTTP_2);
    let e = ask(&mut conn, server);
    assert_eq!(e.h2_code(), Some(CANCEL), "the stream was reset");
    assert!(
        !conn.is_closed() && conn.is_connected(),
        "the connection goes on"
    );
    conn.flush(Some(WAIT)).unwrap();
    let open = reset_seen
        .recv_timeout(WAIT)
        .expect("the server saw the reset");
    assert!(
        open,
        "the server saw the stream reset on a connection still open"
    );
    drop(conn);
    thread.join().unwrap();
}

#[test]
fn http2_a_silent_server_times_out_the_stream_and_the_connection_goes_on() {
    h2_case(Server::Silent);
}

#[test]
fn http2_a_body_that_stalls_times_out_the_stream_and_the_connection_goes_on() {
    h2_case(Server::Stalls);
}
