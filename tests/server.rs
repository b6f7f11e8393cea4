//! Behaviour of our server over real loopback sockets: raw `std` clients speak bytes to a
//! `Listener` and its connections, driven by a bounded `poll(2)` loop on a thread of the test.
//!
//! The sans-IO core's unit tests cover the byte-level rules; these tests pin down what only
//! real sockets show: the answer to a bad request survives the client's unread bytes
//! (lingering close, no RST), connections do not disturb each other, deadlines fire on their
//! own, 100-continue goes out before the client sends the body, a switched protocol gets the
//! raw socket, a graceful shutdown lets the request in flight finish.

mod common;

use common::drive::{self, Pollee, Readable};
use common::temp_dir;
use pollhttp::{
    Config, Connection, ErrorKind, Headers, Listener, SockName, Socket, StatusCode, StreamId,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound on any single wait of a test (a read, an event from the server thread).
const WAIT: Duration = Duration::from_secs(5);
/// Bound on the server thread's whole life.
const SERVER_LIFE: Duration = Duration::from_secs(60);

// ----------------------------------------------------------------------------------------------
// The in-process server
// ----------------------------------------------------------------------------------------------

/// What the server thread tells the test.
#[derive(Debug)]
enum Ev {
    /// A connection was accepted; its names as the connection reports them.
    Accepted { local: SockName, peer: SockName },
    /// The application got a request head.
    Head { method: String, path: String },
    /// The application's read of a request failed (the stream ended with an error).
    StreamFailed { kind: ErrorKind, message: String },
    /// The application called `shutdown()` on the connection.
    ShutdownCalled,
    /// A connection closed; `error` is what `step()` reported, if anything.
    Closed { error: Option<pollhttp::Error> },
    /// A connection was handed over as a raw socket.
    Upgraded,
    /// A connection closed while the application still held a request it had not finished
    /// reading and was never told about; this is what one more read of its body gave:
    /// `Ok(true)` is a clean end (a short success if the body was cut), `Ok(false)` "not yet".
    Leftover {
        path: String,
        body_len: usize,
        read: Result<bool, ErrorKind>,
    },
}

/// Per-request state of the application.
struct Req {
    id: StreamId,
    method: String,
    path: String,
    got_head: bool,
    body: Vec<u8>,
}

enum Action {
    /// Call again when the stream has news.
    Wait,
    /// The request is answered (or dropped).
    Done,
    /// The answer switched protocols: hand the raw socket to an echo thread.
    Upgrade,
}

/// What the server thread hands back when it stops.
#[derive(Debug)]
struct Stats {
    /// Iterations of the poll loop in all.
    iterations: usize,
}

struct TestServer {
    addr: Option<SocketAddr>,
    path: Option<PathBuf>,
    stop: Arc<AtomicBool>,
    waker: UnixStream,
    thread: Option<JoinHandle<Stats>>,
    events: Receiver<Ev>,
}

impl TestServer {
    fn tcp(cfg: Config) -> TestServer {
        let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(cfg))
            .expect("bind 127.0.0.1:0");
        let addr = match listener.localname().unwrap() {
            SockName::Inet(a) => a,
            other => panic!("a TCP listener named {other:?}"),
        };
        TestServer::start(listener, Some(addr), None)
    }

    fn unix(cfg: Config) -> TestServer {
        let path = temp_dir("server-unix").join("s.sock");
        let listener = Listener::bind_unix(&path, Arc::new(cfg)).expect("bind_unix");
        assert_eq!(
            listener.localname().unwrap(),
            SockName::Unix(Some(path.clone()))
        );
        TestServer::start(listener, None, Some(path))
    }

    fn start(listener: Listener, addr: Option<SocketAddr>, path: Option<PathBuf>) -> TestServer {
        let stop = Arc::new(AtomicBool::new(false));
        let (waker, wake_rx) = UnixStream::pair().unwrap();
        wake_rx.set_nonblocking(true).unwrap();
        let (tx, events) = mpsc::channel();
        let s = stop.clone();
        let thread = thread::Builder::new()
            .name("test-server".into())
            .spawn(move || serve_loop(listener, s, wake_rx, tx))
            .unwrap();
        TestServer {
            addr,
            path,
            stop,
            waker,
            thread: Some(thread),
            events,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr.expect("a TCP server")
    }

    fn connect(&self) -> Raw<TcpStream> {
        let s = TcpStream::connect_timeout(&self.addr(), WAIT).expect("connect to our server");
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        Raw::new(s)
    }

    /// The next event of the server thread, waiting at most [`WAIT`].
    fn event(&self) -> Ev {
        self.events
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no event from the server thread within {WAIT:?}: {e}"))
    }

    /// Skips events until one matches `f`, for at most [`WAIT`] in all.
    fn wait_event<T>(&self, what: &str, mut f: impl FnMut(Ev) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) => {
                    if let Some(v) = f(ev) {
                        return v;
                    }
                }
                Err(e) => panic!("no {what} from the server thread within {WAIT:?}: {e}"),
            }
        }
    }

    fn stop(mut self) -> Stats {
        self.halt().expect("the server thread's stats")
    }

    fn halt(&mut self) -> Option<Stats> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.write(&[1]);
        let t = self.thread.take()?;
        match t.join() {
            Ok(s) => Some(s),
            Err(p) if !thread::panicking() => std::panic::resume_unwind(p),
            Err(_) => None,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.halt();
        if let Some(p) = &self.path {
            let _ = std::fs::remove_dir_all(p.parent().unwrap());
        }
    }
}

struct Live {
    conn: Connection,
    reqs: Vec<Req>,
    upgrade: bool,
}

fn serve_loop(
    mut listener: Listener,
    stop: Arc<AtomicBool>,
    mut wake: UnixStream,
    tx: Sender<Ev>,
) -> Stats {
    let end = Instant::now() + SERVER_LIFE;
    let mut conns: Vec<Live> = Vec::new();
    let mut iterations = 0;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        assert!(now < end, "the test server ran longer than {SERVER_LIFE:?}");
        iterations += 1;
        let wake_fd = Readable(std::os::fd::AsRawFd::as_raw_fd(&wake));
        let mut items: Vec<&dyn Pollee> = vec![&wake_fd, &listener];
        items.extend(conns.iter().map(|l| &l.conn as &dyn Pollee));
        drive::wait(&items, end);
        let mut b = [0u8; 16];
        while matches!(wake.read(&mut b), Ok(n) if n > 0) {}
        loop {
            match listener.try_accept() {
                Ok(mut conn) => {
                    let _ = tx.send(Ev::Accepted {
                        local: conn.localname().unwrap(),
                        peer: conn.peername().unwrap(),
                    });
                    let _ = conn.step();
                    conns.push(Live {
                        conn,
                        reqs: Vec::new(),
                        upgrade: false,
                    });
                }
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("accept: {e}"),
            }
        }
        let mut i = 0;
        while i < conns.len() {
            let l = &mut conns[i];
            let r = l.conn.step();
            serve(l, &tx);
            if l.upgrade {
                let l = conns.swap_remove(i);
                hand_over(l.conn, &tx);
                continue;
            }
            if l.conn.is_closed() {
                for mut req in std::mem::take(&mut l.reqs) {
                    if !req.got_head {
                        continue;
                    }
                    let (etx, erx) = mpsc::channel();
                    let read =
                        read_body(&mut l.conn, &mut req, &etx).map_err(|()| match erx.try_recv() {
                            Ok(Ev::StreamFailed { kind, .. }) => kind,
                            _ => ErrorKind::InvalidState,
                        });
                    let _ = tx.send(Ev::Leftover {
                        path: req.path,
                        body_len: req.body.len(),
                        read,
                    });
                }
                let error = r.err().or_else(|| l.conn.error().cloned());
                let _ = tx.send(Ev::Closed { error });
                conns.swap_remove(i);
                continue;
            }
            i += 1;
        }
    }
    Stats { iterations }
}

/// Takes new requests and gives every stream with news to the application.
fn serve(l: &mut Live, tx: &Sender<Ev>) {
    while let Ok(Some(id)) = l.conn.try_next_incoming_stream() {
        l.reqs.push(Req {
            id,
            method: String::new(),
            path: String::new(),
            got_head: false,
            body: Vec::new(),
        });
    }
    while let Some(id) = l.conn.next_ready_stream() {
        let Some(i) = l.reqs.iter().position(|r| r.id == id) else {
            continue;
        };
        match app(&mut l.conn, &mut l.reqs[i], tx) {
            Action::Wait => {}
            Action::Done => {
                l.reqs.remove(i);
            }
            Action::Upgrade => {
                l.reqs.remove(i);
                l.upgrade = true;
                return;
            }
        }
    }
}

/// The raw socket of an upgraded connection goes to a thread that echoes it (the bytes that
/// arrived after the head first).
fn hand_over(conn: Connection, tx: &Sender<Ev>) {
    let (sock, early) = conn.into_upgraded().expect("into_upgraded after a switch");
    let _ = tx.send(Ev::Upgraded);
    match sock {
        Socket::Tcp(s) => {
            let s = TcpStream::from(s);
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            thread::spawn(move || echo(s, early));
        }
        Socket::Unix(s) => {
            let s = UnixStream::from(s);
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            thread::spawn(move || echo(s, early));
        }
    }
}

/// Writes `early`, then echoes until EOF, an error, or a read timeout.
fn echo<S: Read + Write>(mut s: S, early: Vec<u8>) {
    if s.write_all(&early).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads what has arrived of a request body; `Ok(true)` once it is complete.
fn read_body(conn: &mut Connection, r: &mut Req, tx: &Sender<Ev>) -> Result<bool, ()> {
    let mut s = conn.stream(r.id);
    loop {
        match s.try_get_next_chunk() {
            Ok(Some(d)) => r.body.extend_from_slice(&d),
            Ok(None) => return Ok(true),
            Err(e) if e.is_would_block() => return Ok(false),
            Err(e) => {
                let _ = tx.send(Ev::StreamFailed {
                    kind: e.kind(),
                    message: e.message().to_string(),
                });
                return Err(());
            }
        }
    }
}

fn answer(conn: &mut Connection, id: StreamId, status: u16, body: &[u8]) {
    let mut h = Headers::response(StatusCode::from_u16(status).expect("a status"));
    h.append("content-type", "text/plain");
    h.append("content-length", body.len().to_string());
    let mut s = conn.stream(id);
    s.write_headers(&h, body.is_empty())
        .expect("write the answer's head");
    if !body.is_empty() {
        s.try_write_chunk(body, true)
            .expect("write the answer's body");
    }
}

/// The application. By path:
/// - `/reject-417`, `/reject-413`: answers that status at once, without reading the body;
/// - `/upgrade` with `Upgrade:`: 101 and the raw socket echoes;
/// - `CONNECT`: 200 and the tunnel echoes;
/// - `/shutdown`: the connection is shut down gracefully as soon as the head is in, then the
///   request is echoed like any other;
/// - anything else: echoes the body, or answers `METHOD PATH\n` when there is none.
fn app(conn: &mut Connection, r: &mut Req, tx: &Sender<Ev>) -> Action {
    if !r.got_head {
        let mut s = conn.stream(r.id);
        match s.try_get_headers() {
            Ok(Some(h)) => {
                r.method = h.get_str(":method").unwrap_or("").to_string();
                r.path = h.path().or(h.authority()).unwrap_or("").to_string();
                r.got_head = true;
                let _ = tx.send(Ev::Head {
                    method: r.method.clone(),
                    path: r.path.clone(),
                });
                if r.method == "CONNECT" {
                    conn.stream(r.id)
                        .write_headers(&Headers::response(StatusCode::OK), false)
                        .expect("answer CONNECT");
                    return Action::Upgrade;
                }
                if r.path == "/upgrade" && h.has("upgrade") {
                    let mut res = Headers::response(StatusCode::SWITCHING_PROTOCOLS);
                    res.append("upgrade", h.get("upgrade").unwrap());
                    conn.stream(r.id)
                        .write_headers(&res, false)
                        .expect("answer 101");
                    return Action::Upgrade;
                }
                if let Some(status) = r.path.strip_prefix("/reject-") {
                    let status: u16 = status.parse().unwrap();
                    answer(conn, r.id, status, b"refused\n");
                    return Action::Done;
                }
                if r.path == "/shutdown" {
                    conn.shutdown();
                    let _ = tx.send(Ev::ShutdownCalled);
                }
            }
            Ok(None) => return Action::Done,
            Err(e) if e.is_would_block() => return Action::Wait,
            Err(e) => {
                let _ = tx.send(Ev::StreamFailed {
                    kind: e.kind(),
                    message: e.message().to_string(),
                });
                return Action::Done;
            }
        }
    }
    match read_body(conn, r, tx) {
        Ok(true) => {
            let body = if r.body.is_empty() {
                format!("{} {}\n", r.method, r.path).into_bytes()
            } else {
                std::mem::take(&mut r.body)
            };
            answer(conn, r.id, 200, &body);
            Action::Done
        }
        Ok(false) => Action::Wait,
        Err(()) => Action::Done,
    }
}

// ----------------------------------------------------------------------------------------------
// A raw client
// ----------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        common::head_value(&self.head, name)
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A blocking client socket with a read buffer; every read is bounded by the socket's read
/// timeout ([`WAIT`]).
struct Raw<S: Read + Write> {
    s: S,
    buf: Vec<u8>,
    /// `read` calls that returned data.
    reads: usize,
}

impl<S: Read + Write> Raw<S> {
    fn new(s: S) -> Raw<S> {
        Raw {
            s,
            buf: Vec::new(),
            reads: 0,
        }
    }

    fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).expect("write to our server");
    }

    /// One read into the buffer; `Ok(0)` at EOF.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.s.read(&mut chunk) {
                Ok(n) => {
                    if n > 0 {
                        self.reads += 1;
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn fill_or_panic(&mut self, what: &str) {
        match self.fill() {
            Ok(0) => panic!(
                "EOF while waiting for {what}; got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Ok(_) => {}
            Err(e) => panic!(
                "read error while waiting for {what} ({e}); got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Reads one response head (interim ones included).
    fn head(&mut self) -> (u16, String) {
        loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 4);
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("bad status line in {head:?}"));
                return (status, head);
            }
            self.fill_or_panic("a response head");
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill_or_panic("a response body");
        }
        self.buf.drain(..n).collect()
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 2);
                return l;
            }
            self.fill_or_panic("a chunk size line");
        }
    }

    /// Reads one complete response (interim heads are returned as responses of their own).
    fn response(&mut self) -> Resp {
        let (status, head) = self.head();
        let mut r = Resp {
            status,
            head,
            body: Vec::new(),
        };
        if (100..200).contains(&status) || status == 204 || status == 304 {
            return r;
        }
        if let Some(n) = r.header("content-length") {
            let n: usize = n.parse().unwrap();
            r.body = self.take(n);
        } else if r.header("transfer-encoding").is_some() {
            loop {
                let size = usize::from_str_radix(self.line().split(';').next().unwrap(), 16)
                    .expect("chunk size");
                if size == 0 {
                    while !self.line().is_empty() {}
                    break;
                }
                let d = self.take(size + 2);
                r.body.extend_from_slice(&d[..size]);
            }
        } else {
            r.body = self.rest_until_eof();
        }
        r
    }

    /// Everything up to EOF; panics on a read error (a reset destroying data) or timeout.
    fn rest_until_eof(&mut self) -> Vec<u8> {
        loop {
            match self.fill() {
                Ok(0) => return std::mem::take(&mut self.buf),
                Ok(_) => {}
                Err(e) => panic!(
                    "read error before EOF ({e}); got so far: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// Asserts that nothing more comes and the peer closes cleanly.
    fn expect_eof(&mut self) {
        let rest = self.rest_until_eof();
        assert!(
            rest.is_empty(),
            "bytes after the last response: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

fn default_server() -> TestServer {
    TestServer::tcp(Config::default())
}

// ----------------------------------------------------------------------------------------------
// Bad requests
// ----------------------------------------------------------------------------------------------

/// Sends `head` and then 256 KiB more bytes that the server never reads as HTTP; expects the
/// answer `status` with `connection: close` and a body, then a clean EOF: the server lingers,
/// so its close does not reset the connection and destroy the answer.
fn bad_request_case(cfg: Config, head: &[u8], status: u16) {
    let server = TestServer::tcp(cfg);
    let mut c = server.connect();
    let mut bytes = head.to_vec();
    bytes.extend(std::iter::repeat_n(b'z', 256 * 1024));
    c.send(&bytes);
    let r = c.response();
    assert_eq!(r.status, status, "{}", r.head);
    assert!(r.head.starts_with("HTTP/1.1 "), "{}", r.head);
    assert!(r.closes(), "no connection: close in {}", r.head);
    assert!(!r.body.is_empty(), "the answer has no body");
    c.expect_eof();
}

fn small_body_limit() -> Config {
    let mut cfg = Config::default();
    cfg.max_request_body = Some(1000);
    cfg
}

#[test]
fn content_length_with_transfer_encoding_gets_400_intact() {
    bad_request_case(
        Config::default(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    );
}

#[test]
fn header_section_too_big_gets_431_intact() {
    let head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20_000)
    );
    bad_request_case(Config::default(), head.as_bytes(), 431);
}

#[test]
fn request_line_too_long_gets_414_intact() {
    let head = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    bad_request_case(Config::default(), head.as_bytes(), 414);
}

#[test]
fn declared_body_over_max_request_body_gets_413_intact() {
    bad_request_case(
        small_body_limit(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
        413,
    );
}

#[test]
fn unknown_transfer_coding_gets_501_intact() {
    bad_request_case(
        Config::default(),
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
}

/// A head that is malformed from its first byte is a 400, however many bytes the client sent
/// behind it in the same write (the status must not depend on how the bytes were read).
#[test]
fn garbage_followed_by_more_bytes_gets_400_not_431() {
    bad_request_case(Config::default(), b"\x01\x02 not http at all\r\n\r\n", 400);
}

/// The same garbage alone, in a write of its own, for comparison.
#[test]
fn garbage_alone_gets_400() {
    let server = default_server();
    let mut c = server.connect();
    c.send(b"\x01\x02 not http at all\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 400, "{}", r.head);
    assert!(r.closes());
    c.expect_eof();
}

/// A chunked body that grows past `max_request_body` while the application is reading it is
/// cut off with 413 when it crosses the limit, and the application's read of that body fails
/// with a `Limit` error: it hears of the end of a stream it was given.
#[test]
fn chunked_body_over_the_limit_gets_413_mid_body_and_the_app_hears_of_it() {
    let server = TestServer::tcp(small_body_limit());
    let mut c = server.connect();
    let chunk = |req: &mut Vec<u8>| {
        req.extend_from_slice(b"190\r\n");
        req.extend(std::iter::repeat_n(b'c', 0x190));
        req.extend_from_slice(b"\r\n");
    };
    let mut req = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    chunk(&mut req);
    c.send(&req);
    server.wait_event("the request head", |e| {
        matches!(e, Ev::Head { .. }).then_some(())
    });
    let mut rest = Vec::new();
    for _ in 0..9 {
        chunk(&mut rest);
    }
    rest.extend_from_slice(b"0\r\n\r\n");
    c.send(&rest);
    let r = c.response();
    assert_eq!(r.status, 413, "{}", r.head);
    assert!(r.closes(), "{}", r.head);
    c.expect_eof();
    let failed = server.wait_event("the application's failed read", |e| match e {
        Ev::StreamFailed { kind, .. } => Some(Ok(kind)),
        Ev::Leftover { body_len, read, .. } => Some(Err((body_len, read))),
        _ => None,
    });
    match failed {
        Ok(kind) => assert_eq!(kind, ErrorKind::Limit),
        Err((body_len, read)) => panic!(
            "the application was never told its stream failed (no next_ready_stream); a read \
             of the body after the connection closed gave {read:?} after {body_len} bytes \
             (Ok(true) is a short success)"
        ),
    }
}

/// A bad connection is answered and closed while another one, mid-request, goes on and is
/// served normally (twice: it stays alive).
#[test]
fn one_bad_connection_does_not_disturb_another() {
    let server = default_server();
    let mut good = server.connect();
    good.send(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
    server.wait_event("the good request's head", |e| {
        matches!(e, Ev::Head { .. }).then_some(())
    });

    let mut bad = server.connect();
    bad.send(b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
    let r = bad.response();
    assert_eq!(r.status, 400, "{}", r.head);
    bad.expect_eof();

    good.send(b"world");
    let r = good.response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"helloworld");
    assert!(!r.closes(), "{}", r.head);
    good.send(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = good.response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"GET /again\n");
}

/// A client that resets its connection in the middle of a body: the application's read of that
/// body fails (never a short success), the connection goes away, and the server goes on
/// serving others.
#[test]
fn client_reset_mid_body_fails_the_stream_and_leaves_others_working() {
    let server = default_server();
    let mut r = server.connect();
    r.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    r.send(&[b'x'; 1000]);
    server.wait_event("the upload's head", |e| {
        matches!(e, Ev::Head { .. }).then_some(())
    });
    // SO_LINGER 0: close sends RST instead of FIN.
    socket2::SockRef::from(&r.s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(r);
    let mut failed = None;
    let closed = server.wait_event("the reset connection's close", |e| match e {
        Ev::StreamFailed { kind, message } => {
            failed = Some((kind, message));
            None
        }
        Ev::Leftover {
            path,
            read,
            body_len,
        } => {
            panic!(
                "the application was never told of the end of {path}: a late read gave \
                 {read:?} after {body_len} bytes"
            )
        }
        Ev::Closed { error } => Some(error),
        _ => None,
    });
    let (kind, message) = failed.unwrap_or_else(|| {
        panic!("the application's read of the body must fail (connection closed with {closed:?})")
    });
    assert!(
        matches!(
            kind,
            ErrorKind::Io | ErrorKind::Reset | ErrorKind::Truncated | ErrorKind::Closed
        ),
        "{kind:?}: {message}"
    );

    let mut other = server.connect();
    other.send(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = other.response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"GET /after\n");
}

// ----------------------------------------------------------------------------------------------
// Pipelining, keep-alive, timeouts
// ----------------------------------------------------------------------------------------------

/// Ten requests in one write get ten answers, in order, in one write of the server (so the
/// client needs at most two reads), and the connection stays open.
#[test]
fn pipelined_requests_are_answered_in_order_in_few_reads() {
    let server = default_server();
    let mut c = server.connect();
    let mut batch = Vec::new();
    for i in 0..10 {
        batch.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    c.send(&batch);
    for i in 0..10 {
        let r = c.response();
        assert_eq!(r.status, 200, "{}", r.head);
        assert_eq!(r.body, format!("GET /{i}\n").as_bytes());
        assert!(!r.closes());
    }
    assert!(
        c.reads <= 2,
        "ten pipelined answers took {} reads: not batched into one write",
        c.reads
    );
    c.send(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.response();
    assert_eq!(r.body, b"GET /last\n");
    assert!(r.closes());
    c.expect_eof();
}

/// Slowloris: a head that never completes is answered 408 and closed once `head_timeout` has
/// passed, and the server's loop does not spin meanwhile.
#[test]
fn partial_head_gets_408_and_close_after_head_timeout() {
    let mut cfg = Config::default();
    cfg.head_timeout = Some(Duration::from_millis(200));
    let server = TestServer::tcp(cfg);
    let mut c = server.connect();
    let t0 = Instant::now();
    c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-A: ");
    let r = c.response();
    let waited = t0.elapsed();
    assert_eq!(r.status, 408, "{}", r.head);
    assert!(r.closes(), "{}", r.head);
    c.expect_eof();
    assert!(
        waited >= Duration::from_millis(200),
        "408 after {waited:?}, before the head timeout"
    );
    assert!(waited < Duration::from_secs(3), "408 only after {waited:?}");
    let stats = server.stop();
    assert!(
        stats.iterations < 100,
        "the server loop ran {} times for one slow head: it spins",
        stats.iterations
    );
}

/// An idle keep-alive connection is closed quietly (no answer, just EOF) once `idle_timeout`
/// has passed since the last answer.
#[test]
fn idle_keep_alive_connection_is_closed_after_idle_timeout() {
    let mut cfg = Config::default();
    cfg.idle_timeout = Some(Duration::from_millis(300));
    let server = TestServer::tcp(cfg);
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(!r.closes());
    let t0 = Instant::now();
    c.expect_eof();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed {waited:?} after the answer, before the idle timeout"
    );
    assert!(
        waited < Duration::from_secs(3),
        "closed only after {waited:?}"
    );
    let stats = server.stop();
    assert!(
        stats.iterations < 100,
        "the server loop ran {} times for one idle connection: it spins",
        stats.iterations
    );
}

/// HTTP/1.0 without keep-alive: the answer says `connection: close` and the server closes.
#[test]
fn http10_without_keep_alive_is_closed_after_the_answer() {
    let server = default_server();
    let mut c = server.connect();
    c.send(b"GET /ten HTTP/1.0\r\n\r\n");
    let r = c.response();
    assert!(r.head.starts_with("HTTP/1.0 200 "), "{}", r.head);
    assert!(r.closes(), "{}", r.head);
    assert_eq!(r.body, b"GET /ten\n");
    c.expect_eof();
}

/// HTTP/1.0 with `Connection: keep-alive`: the answer says keep-alive and the connection takes
/// a second request.
#[test]
fn http10_keep_alive_stays_open() {
    let server = default_server();
    let mut c = server.connect();
    for i in 0..2 {
        c.send(format!("GET /ka{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").as_bytes());
        let r = c.response();
        assert!(r.head.starts_with("HTTP/1.0 200 "), "{}", r.head);
        assert!(
            r.header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive")),
            "{}",
            r.head
        );
        assert_eq!(r.body, format!("GET /ka{i}\n").as_bytes());
    }
}

// ----------------------------------------------------------------------------------------------
// Expect: 100-continue
// ----------------------------------------------------------------------------------------------

/// An application that reads the body makes the server send `100 Continue` before the client
/// has sent a byte of it; the exchange then completes and the connection stays open.
#[test]
fn expect_continue_is_answered_before_the_body_when_the_app_reads() {
    let server = default_server();
    let mut c = server.connect();
    c.send(b"PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let (status, head) = c.head();
    assert_eq!(status, 100, "{head}");
    assert!(c.buf.is_empty(), "bytes after 100 Continue before the body");
    c.send(b"hello");
    let r = c.response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"hello");
    assert!(!r.closes(), "{}", r.head);
    c.send(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().body, b"GET /next\n");
}

/// An application that refuses (417, 413) without reading: no `100 Continue`, the refusal
/// says `connection: close` (the client may or may not send the body now), and the server
/// closes. A body over `max_request_body` is refused by the library itself, also without 100.
#[test]
fn expect_continue_refused_without_reading_gets_no_100_and_close() {
    let mut cfg = Config::default();
    cfg.max_request_body = Some(1000);
    let server = TestServer::tcp(cfg);
    for (path, len, status) in [
        ("/reject-417", 5, 417),
        ("/reject-413", 5, 413),
        ("/too-big", 5000, 413),
    ] {
        let mut c = server.connect();
        c.send(
            format!(
                "PUT {path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {len}\r\n\r\n"
            )
            .as_bytes(),
        );
        let r = c.response();
        assert_eq!(r.status, status, "{path}: {}", r.head);
        assert!(r.closes(), "{path}: {}", r.head);
        c.expect_eof();
    }
}

// ----------------------------------------------------------------------------------------------
// Protocol switches
// ----------------------------------------------------------------------------------------------

/// `Upgrade`: the server answers 101 and hands the raw socket over; the bytes the client sent
/// right behind the head are not lost, and bytes echo both ways over the socket.
#[test]
fn upgrade_hands_over_the_raw_socket() {
    let server = default_server();
    let mut c = server.connect();
    c.send(
        b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nearly;",
    );
    let (status, head) = c.head();
    assert_eq!(status, 101, "{head}");
    let head_l = head.to_ascii_lowercase();
    assert!(head_l.contains("\r\nupgrade: echo"), "{head}");
    assert!(head_l.contains("\r\nconnection: upgrade"), "{head}");
    server.wait_event("the hand-over", |e| matches!(e, Ev::Upgraded).then_some(()));
    assert_eq!(c.take(6), b"early;");
    c.send(b"ping");
    assert_eq!(c.take(4), b"ping");
    c.send(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.take(18),
        b"GET / HTTP/1.1\r\n\r\n",
        "HTTP is over: raw bytes"
    );
}

/// `CONNECT` answered 2xx turns the connection into a tunnel the application owns.
#[test]
fn connect_answered_200_becomes_a_tunnel() {
    let server = default_server();
    let mut c = server.connect();
    c.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    let (status, head) = c.head();
    assert_eq!(status, 200, "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length")
            && !head.to_ascii_lowercase().contains("transfer-encoding"),
        "a 2xx to CONNECT has no body framing: {head}"
    );
    let path = server.wait_event("the CONNECT head", |e| match e {
        Ev::Head { method, path } if method == "CONNECT" => Some(path),
        _ => None,
    });
    assert_eq!(path, "example.com:443");
    server.wait_event("the hand-over", |e| matches!(e, Ev::Upgraded).then_some(()));
    c.send(b"\x16\x03\x01 tls-ish bytes");
    assert_eq!(c.take(17), b"\x16\x03\x01 tls-ish bytes");
}

// ----------------------------------------------------------------------------------------------
// Graceful shutdown
// ----------------------------------------------------------------------------------------------

/// `shutdown()` while a request is in flight (its body not yet sent): the request completes,
/// its answer says `connection: close`, then EOF.
#[test]
fn graceful_shutdown_finishes_the_request_in_flight_then_closes() {
    let server = default_server();
    let mut c = server.connect();
    c.send(b"POST /shutdown HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n");
    server.wait_event("shutdown()", |e| {
        matches!(e, Ev::ShutdownCalled).then_some(())
    });
    c.send(b"body");
    let r = c.response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"body");
    assert!(r.closes(), "{}", r.head);
    c.expect_eof();
}

// ----------------------------------------------------------------------------------------------
// Unix-domain sockets
// ----------------------------------------------------------------------------------------------

/// A listener on a Unix-domain socket serves a request; the server connection's names are
/// `SockName::Unix` (the listener's path locally, an unnamed peer).
#[test]
fn unix_socket_listener_serves_and_names_are_unix() {
    let server = TestServer::unix(Config::default());
    let path = server.path.clone().unwrap();
    let s = UnixStream::connect(&path).expect("connect to the Unix socket");
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut c = Raw::new(s);
    c.send(b"GET /unix HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"GET /unix\n");
    match server.event() {
        Ev::Accepted { local, peer } => {
            assert_eq!(local, SockName::Unix(Some(path.clone())));
            assert_eq!(local.family(), libc::AF_UNIX);
            assert_eq!(peer, SockName::Unix(None));
            assert_eq!(peer.family(), libc::AF_UNIX);
        }
        other => panic!("expected the accept first, got {other:?}"),
    }
}

/// A TCP server connection's names are the listener's address and the client's.
#[test]
fn tcp_server_connection_names_are_inet() {
    let server = default_server();
    let c = server.connect();
    match server.event() {
        Ev::Accepted { local, peer } => {
            assert_eq!(local, SockName::Inet(server.addr()));
            assert_eq!(peer, SockName::Inet(c.s.local_addr().unwrap()));
            assert_eq!(local.family(), libc::AF_INET);
        }
        other => panic!("expected the accept first, got {other:?}"),
    }
}
