//! One test (or a few) per operation of the seed's `connection` object (lua-http's
//! `connection`: `type`, `version`, `pollfd`/`events`/`timeout`, `connect(timeout)`, `checktls`,
//! `localname`/`peername`, `flush`, `shutdown`, `close`, `new_stream`,
//! `get_next_incoming_stream(timeout)`, `onidle`), written from the seed's own words and named
//! after the operation, for HTTP/1.1 and HTTP/2 (h2c by prior knowledge, and h2 by ALPN for
//! `checktls`) and for both roles where the operation applies to both.
//!
//! Everything runs over real loopback sockets: 127.0.0.1, ::1, and a Unix socket in a
//! temporary directory. The peer is our own `Listener` + `Connection` driven in a thread with
//! the blocking conveniences, or a raw `std::net` socket where the test must control timing
//! or see the bytes themselves (an answer 300 ms late, a GOAWAY before the end of file, a
//! server that never sends its SETTINGS). Waits are on events (a poll loop on `pollfd()` /
//! `events()` / `timeout()`, blocking reads with a timeout), every loop bounded in turns and
//! time; the only sleeps are a scripted peer's deliberate delays.
//!
//! Where our shapes differ from the seed on purpose: `type` is [`Connection::role`] (a
//! [`Role`]), `version` is an [`http::Version`] rather than a number, `checktls` returns a
//! [`pollhttp::TlsInfo`] or an error of kind `NoTls`, `localname`/`peername` return a
//! [`SockName`] (`Unspecified` is `AF_UNSPEC`), `shutdown` is graceful (exchanges in flight
//! finish first), and `connect(timeout)` is also bounded by `Config::connect_timeout`.

mod common;

#[cfg(feature = "tls")]
use common::certs::TestPki;
use common::drive::{self, counting_idle_handler, drive_until, send_get, Readable};
use common::{temp_dir, Scratch};
use pollhttp::{
    ClientOptions, Config, Connection, ErrorKind, Headers, Idle, Listener, PollEvents, Role,
    SockName, StatusCode, StreamId, Target,
};
#[cfg(feature = "tls")]
use pollhttp::{TlsClientConfig, TlsServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound on any single wait.
const WAIT: Duration = Duration::from_secs(5);
const T: Option<Duration> = Some(WAIT);
/// The delay of a scripted peer that answers late, and the short timeouts the tests measure.
const LATE: Duration = Duration::from_millis(300);

// ----------------------------------------------------------------------------------------------
// Versions
// ----------------------------------------------------------------------------------------------

/// The two protocols every operation is checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ver {
    /// HTTP/1.1.
    H1,
    /// HTTP/2 over cleartext, by prior knowledge.
    H2,
}

const VERSIONS: [Ver; 2] = [Ver::H1, Ver::H2];

impl Ver {
    fn http(self) -> http::Version {
        match self {
            Ver::H1 => http::Version::HTTP_11,
            Ver::H2 => http::Version::HTTP_2,
        }
    }

    fn opts(self, cfg: Config) -> ClientOptions {
        ClientOptions {
            version: self.http(),
            http2_prior_knowledge: self == Ver::H2,
            config: Arc::new(cfg),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    fn client(self, target: Target) -> Connection {
        Connection::client(target, self.opts(Config::default())).expect("a client connection")
    }

    fn open(self, target: Target) -> Connection {
        let mut c = self.client(target.clone());
        c.connect(T)
            .unwrap_or_else(|e| panic!("{self:?} connect to {target:?}: {e}"));
        c
    }
}

// ----------------------------------------------------------------------------------------------
// Our server in a thread
// ----------------------------------------------------------------------------------------------

fn bind(addr: &str) -> (Listener, SocketAddr) {
    let l = Listener::bind(addr.parse().unwrap(), Arc::new(Config::default()))
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    let SockName::Inet(a) = l.localname().unwrap() else {
        panic!("a TCP listener")
    };
    (l, a)
}

/// Joins a thread, passing its panic on.
fn join<R>(h: JoinHandle<R>) -> R {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Accepts one connection on `l` in a thread and hands it to `f` (the listener lives as long).
fn server_thread<R: Send + 'static>(
    mut l: Listener,
    f: impl FnOnce(Connection) -> R + Send + 'static,
) -> JoinHandle<R> {
    thread::spawn(move || {
        let c = l.accept_timeout(T).expect("a connection to accept");
        f(c)
    })
}

/// What [`answer_all`] saw.
#[derive(Debug)]
struct Served {
    paths: Vec<String>,
    /// The request's version, per request.
    versions: Vec<Option<http::Version>>,
    /// The connection's `version()` after each request head.
    conn_versions: Vec<http::Version>,
    /// How the wait for the next request ended: `Ok(None)` when no more will come.
    end: pollhttp::Result<Option<StreamId>>,
}

/// Answers every request with 200 and the body `PATH\n` until no more will come (or none comes
/// for [`WAIT`]).
fn answer_all(conn: &mut Connection) -> Served {
    let mut s = Served {
        paths: Vec::new(),
        versions: Vec::new(),
        conn_versions: Vec::new(),
        end: Ok(None),
    };
    loop {
        let id = match conn.get_next_incoming_stream(T) {
            Ok(Some(id)) => id,
            other => {
                s.end = other;
                return s;
            }
        };
        let mut st = conn.stream(id);
        let head = st.get_headers(T).expect("a request head").expect("a head");
        let path = head.path().unwrap_or("").to_string();
        let _ = st.get_body_as_bytes(T).expect("the request body");
        s.versions.push(st.peer_version());
        let mut res = Headers::response(StatusCode::OK);
        let body = format!("{path}\n");
        res.append("content-length", body.len().to_string());
        st.write_headers(&res, false).expect("the response head");
        st.write_body_from_bytes(body.as_bytes(), T)
            .expect("the response body");
        s.conn_versions.push(conn.version());
        s.paths.push(path);
    }
}

/// A server thread that answers every request on one connection.
fn answering(l: Listener) -> JoinHandle<Served> {
    server_thread(l, |mut c| answer_all(&mut c))
}

/// Writes a GET for `path` on a new stream.
fn get(conn: &mut Connection, path: &str) -> StreamId {
    send_get(conn, path, "seed.test")
}

/// The response to stream `id`: status and body.
fn response(conn: &mut Connection, id: StreamId) -> (u16, Vec<u8>) {
    let (head, body) = drive::response(conn, id, T);
    (head.status().expect("a status").as_u16(), body)
}

/// One GET and its response.
fn fetch(conn: &mut Connection, path: &str) -> (u16, Vec<u8>) {
    let id = get(conn, path);
    response(conn, id)
}

// ----------------------------------------------------------------------------------------------
// Raw peers
// ----------------------------------------------------------------------------------------------

fn raw_listener(addr: &str) -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Accepts one connection within [`WAIT`]; reads on it time out after [`WAIT`].
fn raw_accept(l: &TcpListener) -> TcpStream {
    let ready = drive::wait(&[Readable(l.as_raw_fd())], Instant::now() + WAIT);
    assert_ne!(ready[0], 0, "no client within {WAIT:?}");
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// Reads until a request head (`\r\n\r\n`) is in; returns it.
fn read_head(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => got.push(b[0]),
            other => panic!(
                "reading a head: {other:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    String::from_utf8(got).unwrap()
}

/// Reads until the end of file; returns what came and how long the end took to come. Panics
/// if the read times out (the socket's read timeout) or fails otherwise.
fn read_to_eof(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    s.set_read_timeout(Some(limit)).unwrap();
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, t0.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!(
                "no end of file within {limit:?} ({e}); got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

/// Whether the socket has bytes to read right now (a non-blocking peek).
fn has_bytes_now(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: `b` is a valid writable buffer of its length for the call.
    let n = unsafe {
        libc::recv(
            s.as_raw_fd(),
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n > 0
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const GOAWAY: u8 = 0x7;

/// An HTTP/2 frame.
fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, ty, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[derive(Debug)]
struct Frame {
    ty: u8,
    flags: u8,
    stream: u32,
}

/// The next frame, or `None` at the end of file.
fn read_frame(s: &mut TcpStream) -> Option<Frame> {
    let mut h = [0u8; 9];
    match s.read_exact(&mut h) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
        Err(e) => panic!("reading a frame header: {e}"),
    }
    let len = (h[0] as usize) << 16 | (h[1] as usize) << 8 | h[2] as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).expect("a frame's payload");
    Some(Frame {
        ty: h[3],
        flags: h[4],
        stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
    })
}

/// Accepts one HTTP/2 client on `l` (prefaces and SETTINGS exchanged) and reads frames until
/// its request's HEADERS: the socket and the request's stream id.
fn raw_h2_request(l: &TcpListener) -> (TcpStream, u32) {
    let mut s = raw_accept(l);
    raw_h2_start(&mut s, true);
    loop {
        let f = read_frame(&mut s).expect("the request");
        if f.ty == HEADERS {
            return (s, f.stream);
        }
    }
}

/// A raw HTTP/2 server's start: reads the client preface and its SETTINGS, and (when `settings`)
/// sends its own empty SETTINGS and acknowledges the client's.
fn raw_h2_start(s: &mut TcpStream, settings: bool) {
    let mut p = [0u8; 24];
    s.read_exact(&mut p).expect("the client preface");
    assert_eq!(&p[..], PREFACE);
    let f = read_frame(s).expect("the client's SETTINGS");
    assert_eq!(f.ty, SETTINGS, "{f:?}");
    if settings {
        s.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
        s.write_all(&frame(SETTINGS, 0x1, 0, &[])).unwrap();
    }
}

// ----------------------------------------------------------------------------------------------
// Odds and ends
// ----------------------------------------------------------------------------------------------

/// What fd `fd` of this process refers to (`socket:[inode]`, `pipe:[inode]`), if it is open.
fn fd_target(fd: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

// ----------------------------------------------------------------------------------------------
// connection.type
// ----------------------------------------------------------------------------------------------

/// "`client`: acts as a client ... `server`: acts as a server": a connection made with
/// `Connection::client` is a client from its start, one accepted by a listener a server, in
/// both versions, and neither changes with use.
#[test]
fn seed_type_is_client_or_server_in_both_versions() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = server_thread(l, |mut c| {
            let before = c.role();
            let served = answer_all(&mut c);
            (before, c.role(), served)
        });
        let mut c = v.client(Target::Addr(addr));
        assert_eq!(c.role(), Role::Client, "{v:?} before connecting");
        assert_eq!(c.role().as_str(), "client");
        c.connect(T).unwrap();
        assert_eq!(fetch(&mut c, "/type"), (200, b"/type\n".to_vec()), "{v:?}");
        assert_eq!(c.role(), Role::Client, "{v:?} after an exchange");
        c.close();
        let (before, after, served) = join(srv);
        assert_eq!(before, Role::Server, "{v:?}");
        assert_eq!(after, Role::Server, "{v:?}");
        assert_eq!(after.as_str(), "server");
        assert_eq!(served.paths, ["/type"], "{v:?}");
    }
}

// ----------------------------------------------------------------------------------------------
// connection.version
// ----------------------------------------------------------------------------------------------

/// "The HTTP version number of the connection": ours is an `http::Version` (a deliberate
/// difference: no float to compare). A client reports the version it was made for, before and
/// after connecting; the server reports the version its client speaks once it has heard it
/// (HTTP/2 by the prior-knowledge preface), and each request carries it.
#[test]
fn seed_version_is_the_http_version_of_each_side() {
    for (asked, prior) in [
        (http::Version::HTTP_10, false),
        (http::Version::HTTP_11, false),
        (http::Version::HTTP_2, true),
    ] {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = answering(l);
        let mut c = Connection::client(
            Target::Addr(addr),
            ClientOptions {
                version: asked,
                http2_prior_knowledge: prior,
                ..ClientOptions::default()
            },
        )
        .unwrap();
        assert_eq!(c.version(), asked, "before connecting");
        c.connect(T).unwrap();
        assert_eq!(c.version(), asked, "after connecting");
        let id = get(&mut c, "/v");
        let (status, body) = response(&mut c, id);
        assert_eq!((status, body), (200, b"/v\n".to_vec()), "{asked:?}");
        assert_eq!(c.version(), asked, "after an exchange");
        c.close();
        let served = join(srv);
        assert_eq!(served.versions, [Some(asked)], "the request's version");
        let conn_version = if asked == http::Version::HTTP_2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert_eq!(
            served.conn_versions,
            [conn_version],
            "the server connection's version for a {asked:?} client"
        );
    }
}

// ----------------------------------------------------------------------------------------------
// connection:pollfd(), connection:events(), connection:timeout()
// ----------------------------------------------------------------------------------------------

/// Before connecting, the three describe the connect in progress: the socket being connected,
/// writable interest, the connect deadline (`Config::connect_timeout`). A loop that waits only
/// on them gets connected in a few turns. After connecting: the same socket, readable
/// interest only (nothing to write), no connect deadline any more. Once closed: -1, nothing,
/// no deadline.
#[test]
fn seed_pollfd_events_timeout_before_and_after_connect() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = answering(l);
        let mut cfg = Config::default();
        cfg.connect_timeout = Some(Duration::from_secs(7));
        cfg.idle_timeout = None;
        let t0 = Instant::now();
        let mut c = Connection::client(Target::Addr(addr), v.opts(cfg)).unwrap();
        let t1 = Instant::now();
        let fd = c.pollfd();
        assert!(fd >= 0, "{v:?}: pollfd {fd} while connecting");
        assert!(
            fd_target(fd).is_some_and(|t| t.starts_with("socket:")),
            "{v:?}: pollfd while connecting is {:?}",
            fd_target(fd)
        );
        assert_eq!(c.events(), PollEvents::WRITABLE, "{v:?}: while connecting");
        let deadline = c.timeout().expect("the connect deadline");
        assert!(
            deadline >= t0 + Duration::from_secs(7) && deadline <= t1 + Duration::from_secs(7),
            "{v:?}: the connect deadline is {:?} away",
            deadline.saturating_duration_since(t1)
        );
        assert!(!c.is_connected());

        let socket = fd_target(fd).unwrap();
        let turns = drive_until(&mut [&mut c], "connect", WAIT, |c| c[0].is_connected());
        assert!(turns <= 20, "{v:?}: {turns} turns to connect");
        assert_eq!(
            c.pollfd(),
            fd,
            "{v:?}: the socket connected is the one watched"
        );
        assert_eq!(
            c.events(),
            PollEvents::READABLE,
            "{v:?}: connected and idle"
        );
        // The connect deadline is gone (HTTP/2 may still wait for its SETTINGS to be acked).
        drive_until(&mut [&mut c], "no deadline left", WAIT, |c| {
            c[0].timeout().is_none()
        });

        // An exchange: waiting for the answer is readable interest on the same fd.
        let id = get(&mut c, "/poll");
        assert_eq!(c.pollfd(), fd);
        assert!(c.events().is_readable(), "{v:?}: waiting for an answer");
        assert_eq!(response(&mut c, id), (200, b"/poll\n".to_vec()));

        c.shutdown();
        drive_until(&mut [&mut c], "the close", WAIT, |c| c[0].is_closed());
        assert_eq!(c.pollfd(), -1, "{v:?}: closed");
        assert_eq!(c.events(), PollEvents::NONE, "{v:?}: closed");
        // Closed outside a step (shutdown() of an idle connection): one step is due, so that
        // a loop that looks for closed connections after its steps finds this one; then none.
        if c.timeout().is_some() {
            assert!(c.wants_step_now(), "{v:?}: closed, a step due");
            c.step().expect("a step of a closed connection");
        }
        assert_eq!(c.timeout(), None, "{v:?}: closed");
        assert!(!c.wants_step_now(), "{v:?}: closed and stepped");
        assert_ne!(
            fd_target(fd),
            Some(socket),
            "{v:?}: the closed connection kept its socket"
        );
        join(srv);
    }
}

/// While a host name resolves, `pollfd()` is the resolver's wake-up socket (readable
/// interest); once connected it is the connection's socket, another fd: a loop re-reads it
/// after each step and follows it.
#[test]
fn seed_pollfd_follows_the_connection_from_resolution_to_the_socket() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = answering(l);
        let mut c = v.client(Target::Host("localhost".into(), addr.port()));
        let fd = c.pollfd();
        let resolver = fd_target(fd);
        assert!(
            resolver.as_ref().is_some_and(|t| t.starts_with("socket:")),
            "{v:?}: pollfd while resolving is {resolver:?}"
        );
        assert_eq!(c.events(), PollEvents::READABLE, "{v:?}: while resolving");
        assert!(c.timeout().is_some(), "{v:?}: the connect deadline");
        drive_until(&mut [&mut c], "connect", WAIT, |c| c[0].is_connected());
        let sock = c.pollfd();
        assert!(
            fd_target(sock).is_some_and(|t| t.starts_with("socket:"))
                && fd_target(sock) != resolver,
            "{v:?}: pollfd once connected is {:?}, the resolver's was {resolver:?}",
            fd_target(sock)
        );
        assert_eq!(c.peername().unwrap(), SockName::Inet(addr));
        assert_eq!(fetch(&mut c, "/dns"), (200, b"/dns\n".to_vec()));
        c.close();
        join(srv);
    }
}

// ----------------------------------------------------------------------------------------------
// connection:connect(timeout)
// ----------------------------------------------------------------------------------------------

/// "Returns true on success": `connect` returns `Ok(())` once connected, and at once when
/// already connected; the connection then carries requests.
#[test]
fn seed_connect_returns_ok_once_connected() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = answering(l);
        let mut c = v.client(Target::Addr(addr));
        assert!(!c.is_connected());
        c.connect(T)
            .unwrap_or_else(|e| panic!("{v:?} connect: {e}"));
        assert!(c.is_connected(), "{v:?}");
        let t0 = Instant::now();
        c.connect(Some(Duration::ZERO))
            .expect("already connected: no wait needed");
        assert!(t0.elapsed() < Duration::from_millis(100));
        assert_eq!(fetch(&mut c, "/c"), (200, b"/c\n".to_vec()), "{v:?}");
        c.close();
        join(srv);
    }
}

/// `connect`'s non-blocking form: `try_connect` is "not yet" (`WouldBlock`) while the client
/// connects, `Ok(())` once connected (and a server connection while it is open); after
/// `shutdown()` it fails with `Closed` (a connection cannot be re-opened), and a refused
/// connect fails with the connect error.
#[test]
fn seed_try_connect_is_not_yet_until_connected() {
    for v in VERSIONS {
        let (mut l, addr) = bind("127.0.0.1:0");
        let mut c = v.client(Target::Addr(addr));
        let e = c.try_connect().expect_err("not connected before a step");
        assert!(e.is_would_block(), "{v:?}: {e:?}");
        let mut server = l.accept_timeout(T).unwrap();
        assert_eq!(server.try_connect(), Ok(()), "a server connection is open");
        drive_until(&mut [&mut c, &mut server], "connected", WAIT, |c| {
            match c[0].try_connect() {
                Ok(()) => true,
                Err(e) if e.is_would_block() => false,
                Err(e) => panic!("{v:?}: {e:?}"),
            }
        });
        assert!(c.is_connected());
        c.shutdown();
        assert_eq!(c.try_connect().unwrap_err().kind(), ErrorKind::Closed);
    }
    let (l, addr) = raw_listener("127.0.0.1:0");
    drop(l);
    let mut c = Ver::H1.client(Target::Addr(addr));
    drive_until(&mut [&mut c], "the refusal", WAIT, |c| c[0].is_closed());
    assert_eq!(c.try_connect().unwrap_err().kind(), ErrorKind::Connect);
}

/// "Connecting may include ... HTTP2 settings exchange": an HTTP/2 client is not connected
/// until the server's SETTINGS arrive; `connect(timeout)` gives up at its timeout (kind
/// `TimedOut`) and only the wait ends, not the connection: once the SETTINGS come, a second
/// `connect` succeeds.
#[test]
fn seed_connect_h2_waits_for_the_server_settings_and_its_timeout_ends_only_the_wait() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let (go_tx, go) = mpsc::channel::<()>();
    let srv = thread::spawn(move || {
        let mut s = raw_accept(&l);
        raw_h2_start(&mut s, false);
        go.recv_timeout(WAIT).expect("the go signal");
        s.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
        s.write_all(&frame(SETTINGS, 0x1, 0, &[])).unwrap();
        read_to_eof(&mut s, WAIT)
    });
    let mut c = Ver::H2.client(Target::Addr(addr));
    let t0 = Instant::now();
    let e = c
        .connect(Some(LATE))
        .expect_err("no SETTINGS from the server: not connected");
    let took = t0.elapsed();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
    assert!(
        took >= LATE - Duration::from_millis(20) && took < LATE + Duration::from_secs(2),
        "connect(Some({LATE:?})) returned after {took:?}"
    );
    assert!(!c.is_connected());
    assert!(!c.is_closed(), "the wait timed out, not the connection");
    go_tx.send(()).unwrap();
    c.connect(T).expect("connected once the SETTINGS came");
    assert!(c.is_connected());
    c.close();
    join(srv);
}

/// The versions whose `connect` waits for a peer that accepts and says nothing: HTTP/1.1 over
/// TLS (connecting includes the handshake; the `tls` feature) and HTTP/2 by prior knowledge
/// (connecting includes the server's SETTINGS).
const WAITING_VERSIONS: &[Ver] = if cfg!(feature = "tls") {
    &[Ver::H1, Ver::H2]
} else {
    &[Ver::H2]
};

/// Starts a client of version `v` (HTTP/1.1 over TLS, so that connecting includes a handshake;
/// HTTP/2 by prior knowledge) with `Config::connect_timeout` = `config`, against a peer that
/// accepts the TCP connection and then says nothing (no ServerHello; no SETTINGS), and calls
/// `connect(Some(wait))`. Returns the error, how long the call took, and whether the
/// connection is closed afterwards.
fn connect_to_a_silent_peer(
    v: Ver,
    config: Duration,
    wait: Duration,
) -> (pollhttp::Error, Duration, bool) {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let (done_tx, done) = mpsc::channel::<()>();
    let srv = thread::spawn(move || {
        let mut s = raw_accept(&l);
        if v == Ver::H2 {
            raw_h2_start(&mut s, false);
        }
        // Silent until the test is over.
        let _ = done.recv_timeout(Duration::from_secs(20));
        drop(s);
    });
    let mut cfg = Config::default();
    cfg.connect_timeout = Some(config);
    let opts = ClientOptions {
        #[cfg(feature = "tls")]
        tls: (v == Ver::H1).then(TlsClientConfig::insecure),
        ..v.opts(cfg)
    };
    let mut c = Connection::client(Target::Addr(addr), opts).unwrap();
    let t0 = Instant::now();
    let e = c
        .connect(Some(wait))
        .expect_err("a silent peer: not connected");
    let took = t0.elapsed();
    assert!(!c.is_connected());
    let closed = c.is_closed();
    drop(c);
    done_tx.send(()).unwrap();
    join(srv);
    (e, took, closed)
}

fn about_late(took: Duration) -> bool {
    took >= LATE - Duration::from_millis(20) && took < LATE + Duration::from_secs(2)
}

/// "The connect function will yield until the connection attempt finishes ... or until
/// timeout is exceeded": with the caller's timeout (300 ms) shorter than the configured one,
/// `connect` returns `TimedOut` after about 300 ms, and only the wait ends: the connection is
/// not closed.
#[test]
fn seed_connect_timeout_of_the_caller_ends_the_wait() {
    for &v in WAITING_VERSIONS {
        let (e, took, closed) = connect_to_a_silent_peer(v, Duration::from_secs(30), LATE);
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{v:?}: {e:?}");
        assert!(
            about_late(took),
            "{v:?}: connect(Some({LATE:?})) took {took:?}"
        );
        assert!(!closed, "{v:?}: the wait timed out, not the connection");
    }
}

/// `connect(timeout)` is also bounded by `Config::connect_timeout`: HTTP/1.1 over TLS to a
/// peer that never answers the ClientHello, with the configured bound (300 ms) shorter than
/// the caller's (5 s): `TimedOut` after about 300 ms, and the connection is closed (the
/// configured bound is the connection's own).
#[test]
#[cfg(feature = "tls")]
fn seed_connect_h1_tls_is_also_bounded_by_config_connect_timeout() {
    let (e, took, closed) = connect_to_a_silent_peer(Ver::H1, LATE, WAIT);
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
    assert!(
        about_late(took),
        "connect(Some({WAIT:?})) with connect_timeout {LATE:?} took {took:?}"
    );
    assert!(closed, "the connect deadline ends the connection");
}

/// The same for HTTP/2 by prior knowledge, whose connect includes the server's SETTINGS
/// (`Connection::connect`'s own documentation; the seed: "Connecting may include ... HTTP2
/// settings exchange"): a server that accepts and never sends SETTINGS must make
/// `connect(Some(5 s))` fail after about `connect_timeout` (300 ms), not after 5 s.
#[test]
fn seed_connect_h2_settings_wait_is_also_bounded_by_config_connect_timeout() {
    let (e, took, closed) = connect_to_a_silent_peer(Ver::H2, LATE, WAIT);
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
    assert!(
        about_late(took),
        "connect(Some({WAIT:?})) with connect_timeout {LATE:?}, no SETTINGS from the server: \
         took {took:?} (the configured bound does not cover the SETTINGS exchange)"
    );
    assert!(closed, "the connect deadline ends the connection");
}

// ----------------------------------------------------------------------------------------------
// connection:checktls()
// ----------------------------------------------------------------------------------------------

/// "Returns nil and an error message if there is no active TLS session": over cleartext, in
/// both versions and both roles, `checktls()` is an error of kind `NoTls`.
#[test]
fn seed_checktls_over_cleartext_is_no_tls_for_both_roles() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = server_thread(l, |mut c| {
            let id = c.get_next_incoming_stream(T).unwrap().expect("a request");
            let tls = c.checktls().map(|_| ()).map_err(|e| e.kind());
            let mut s = c.stream(id);
            s.get_headers(T).unwrap();
            s.write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
                .unwrap();
            let _ = c.flush(T);
            let _ = answer_all(&mut c);
            tls
        });
        let mut c = v.client(Target::Addr(addr));
        let before = c.checktls().expect_err("no TLS before connecting");
        assert_eq!(before.kind(), ErrorKind::NoTls, "{v:?}: {before:?}");
        c.connect(T).unwrap();
        let id = get(&mut c, "/");
        assert_eq!(response(&mut c, id).0, 204);
        let e = c.checktls().expect_err("a cleartext connection");
        assert_eq!(e.kind(), ErrorKind::NoTls, "{v:?}: {e:?}");
        assert!(!e.message().is_empty(), "an error message");
        c.close();
        assert_eq!(join(srv), Err(ErrorKind::NoTls), "{v:?}: the server side");
    }
}

/// "Returns the ... ssl object if the connection is secured": over TLS, `checktls()` describes
/// the session on both sides, with the ALPN protocol that chose the version (`http/1.1` or
/// `h2`) and the server's certificate on the client's side. While the handshake goes on it is
/// an error of kind `WouldBlock`, not `NoTls`.
#[test]
#[cfg(feature = "tls")]
fn seed_checktls_over_tls_describes_the_session_on_both_sides() {
    let pki = TestPki::new();
    for (v, alpn) in [(Ver::H1, "http/1.1"), (Ver::H2, "h2")] {
        let tls = TlsServerConfig::from_pem_files(&pki.server.cert_path, &pki.server.key_path)
            .expect("server TLS config");
        let l = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
            .unwrap()
            .with_tls(tls);
        let SockName::Inet(addr) = l.localname().unwrap() else {
            panic!("a TCP listener")
        };
        let srv = server_thread(l, |mut c| {
            let pending = c.checktls().map(|_| ()).map_err(|e| e.kind());
            let id = c.get_next_incoming_stream(T).unwrap().expect("a request");
            let info = c.checktls();
            let version = c.version();
            let mut s = c.stream(id);
            s.get_headers(T).unwrap();
            s.write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
                .unwrap();
            let _ = c.flush(T);
            let _ = answer_all(&mut c);
            (pending, info, version)
        });
        let opts = ClientOptions {
            version: v.http(),
            tls: Some(TlsClientConfig::with_ca_file(&pki.ca_path).expect("client TLS config")),
            ..ClientOptions::default()
        };
        let mut c = Connection::client(Target::Addr(addr), opts).unwrap();
        let e = c
            .checktls()
            .expect_err("the handshake has not happened yet");
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{v:?}: {e:?}");
        c.connect(T)
            .unwrap_or_else(|e| panic!("{v:?} over TLS: {e}"));
        assert_eq!(c.version(), v.http(), "ALPN {alpn}");
        let info = c.checktls().expect("a TLS session");
        assert_eq!(info.alpn_str(), Some(alpn), "{v:?}");
        assert!(info.version.starts_with("TLSv1."), "{info:?}");
        assert!(!info.cipher_suite.is_empty(), "{info:?}");
        assert_eq!(info.peer_certificates.first(), Some(&pki.server.der));
        let id = get(&mut c, "/");
        assert_eq!(response(&mut c, id).0, 204);
        c.close();
        let (pending, server_info, server_version) = join(srv);
        assert_eq!(
            pending,
            Err(ErrorKind::WouldBlock),
            "{v:?}: server before the handshake"
        );
        let server_info = server_info.expect("the server's TLS session");
        assert_eq!(server_info.alpn_str(), Some(alpn), "{v:?}");
        assert_eq!(server_info.version, info.version);
        assert_eq!(server_info.cipher_suite, info.cipher_suite);
        assert!(
            server_info.peer_certificates.is_empty(),
            "no client certificate"
        );
        assert_eq!(server_version, v.http());
    }
}

// ----------------------------------------------------------------------------------------------
// connection:localname(), connection:peername()
// ----------------------------------------------------------------------------------------------

/// A client and the server connection it reached, over `bind` (TCP), with one exchange done:
/// the client's (localname, peername), the server's (localname, peername), the listener's name.
fn names_over_tcp(v: Ver, bind_to: &str) -> [SockName; 5] {
    let (l, addr) = bind(bind_to);
    let listener_name = l.localname().unwrap();
    let srv = server_thread(l, |mut c| {
        let names = (c.localname().unwrap(), c.peername().unwrap());
        answer_all(&mut c);
        names
    });
    let mut c = v.open(Target::Addr(addr));
    assert_eq!(fetch(&mut c, "/n"), (200, b"/n\n".to_vec()));
    let local = c.localname().unwrap();
    let peer = c.peername().unwrap();
    c.close();
    let (s_local, s_peer) = join(srv);
    [local, peer, s_local, s_peer, listener_name]
}

/// "Returns address family, IP address and port for an external socket": over IPv4, each
/// side's peer is the other's local name, the client's peer is the listener, the family is
/// `AF_INET`, in both versions.
#[test]
fn seed_localname_peername_over_ipv4() {
    names_are_the_ends_of_the_connection("127.0.0.1:0", libc::AF_INET);
}

/// The same over IPv6 (`::1`; the machine is expected to have it: the test fails, not skips).
#[test]
fn seed_localname_peername_over_ipv6() {
    names_are_the_ends_of_the_connection("[::1]:0", libc::AF_INET6);
}

/// Each side's peer is the other's local name, the client's peer is the listener, every name
/// is of `family`, on loopback, with a port: in both versions.
fn names_are_the_ends_of_the_connection(bind: &str, family: i32) {
    for v in VERSIONS {
        let [local, peer, s_local, s_peer, listener] = names_over_tcp(v, bind);
        assert_eq!(peer, listener, "{v:?}: the client's peer is the listener");
        assert_eq!(s_local, listener, "{v:?}");
        assert_eq!(local, s_peer, "{v:?}: the client as the server sees it");
        for n in [&local, &peer, &s_local, &s_peer] {
            assert_eq!(n.family(), family, "{v:?}: {n:?}");
            let SockName::Inet(a) = n else { unreachable!() };
            assert!(a.ip().is_loopback() && a.port() != 0, "{v:?}: {n:?}");
        }
    }
}

/// "For Unix domain sockets, the function returns AF_UNIX and the path": the path is the
/// listener's, on the server's local side and the client's peer side; the client's own end is
/// unnamed. Both versions.
#[test]
fn seed_localname_peername_over_a_unix_socket() {
    for v in VERSIONS {
        let dir = Scratch(temp_dir("seed-unix"));
        let path = dir.0.join("seed.sock");
        let l = Listener::bind_unix(&path, Arc::new(Config::default())).unwrap();
        assert_eq!(l.localname().unwrap(), SockName::Unix(Some(path.clone())));
        let srv = server_thread(l, |mut c| {
            let names = (c.localname().unwrap(), c.peername().unwrap());
            let served = answer_all(&mut c);
            (names, served)
        });
        let mut c = v.open(Target::Unix(path.clone()));
        assert_eq!(fetch(&mut c, "/unix"), (200, b"/unix\n".to_vec()), "{v:?}");
        let local = c.localname().unwrap();
        let peer = c.peername().unwrap();
        c.close();
        let ((s_local, s_peer), served) = join(srv);
        assert_eq!(peer, SockName::Unix(Some(path.clone())), "{v:?}");
        assert_eq!(s_local, SockName::Unix(Some(path.clone())), "{v:?}");
        assert_eq!(
            local,
            SockName::Unix(None),
            "{v:?}: the client's end is unnamed"
        );
        assert_eq!(s_peer, SockName::Unix(None), "{v:?}");
        for n in [&local, &peer, &s_local, &s_peer] {
            assert_eq!(n.family(), libc::AF_UNIX, "{v:?}: {n:?}");
        }
        assert_eq!(
            served.versions,
            [Some(v.http())],
            "{v:?} over a Unix socket"
        );
    }
}

/// "If the connection object is not connected, returns AF_UNSPEC (0)": before the first step
/// and after the close, both names are `Unspecified`, family 0; both versions, both roles.
#[test]
fn seed_localname_peername_unconnected_are_af_unspec() {
    assert_eq!(libc::AF_UNSPEC, 0);
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = server_thread(l, |mut c| {
            let connected = c.localname().unwrap().family();
            answer_all(&mut c);
            drive::drive_one(&mut c, "the close", WAIT, |c| c.is_closed());
            (connected, c.localname().unwrap(), c.peername().unwrap())
        });
        let mut c = v.client(Target::Addr(addr));
        assert!(!c.is_connected());
        assert_eq!(c.localname().unwrap(), SockName::Unspecified, "{v:?}");
        assert_eq!(c.peername().unwrap(), SockName::Unspecified, "{v:?}");
        assert_eq!(c.localname().unwrap().family(), libc::AF_UNSPEC);
        assert_eq!(c.peername().unwrap().family(), 0);
        c.connect(T).unwrap();
        assert_eq!(c.localname().unwrap().family(), libc::AF_INET);
        assert_eq!(fetch(&mut c, "/"), (200, b"/\n".to_vec()));
        c.shutdown();
        drive_until(&mut [&mut c], "the close", WAIT, |c| c[0].is_closed());
        assert_eq!(
            c.localname().unwrap(),
            SockName::Unspecified,
            "{v:?} closed"
        );
        assert_eq!(c.peername().unwrap(), SockName::Unspecified, "{v:?} closed");
        let (connected, s_local, s_peer) = join(srv);
        assert_eq!(connected, libc::AF_INET);
        assert_eq!(
            s_local,
            SockName::Unspecified,
            "{v:?}: the closed server side"
        );
        assert_eq!(
            s_peer,
            SockName::Unspecified,
            "{v:?}: the closed server side"
        );
    }
}

// ----------------------------------------------------------------------------------------------
// connection:flush(timeout)
// ----------------------------------------------------------------------------------------------

/// "Flushes buffered outgoing data on the socket to the operating system": an HTTP/1.1
/// client's request held back (auto-flush off) is not on the wire; after `flush(timeout)`
/// nothing is buffered and the server reads it.
#[test]
fn seed_flush_h1_client_writes_a_held_request() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let mut c = Ver::H1.open(Target::Addr(addr));
    let mut raw = raw_accept(&l);
    c.set_auto_flush(false);
    get(&mut c, "/flush");
    assert!(c.buffered_output() > 0, "the request is held");
    assert!(!has_bytes_now(&raw), "nothing on the wire before flush()");
    c.flush(T).expect("flush");
    assert_eq!(c.buffered_output(), 0);
    let head = read_head(&mut raw);
    assert!(head.starts_with("GET /flush HTTP/1.1\r\n"), "{head}");
}

/// The same for an HTTP/2 client: the HEADERS frame is held, then flushed.
#[test]
fn seed_flush_h2_client_writes_a_held_request() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let srv = thread::spawn(move || {
        let mut s = raw_accept(&l);
        raw_h2_start(&mut s, true);
        // Everything the client sends up to its acknowledgement of our SETTINGS.
        loop {
            let f = read_frame(&mut s).expect("the client's SETTINGS ack");
            if f.ty == SETTINGS && f.flags & 1 == 1 {
                break;
            }
        }
        s
    });
    let mut c = Ver::H2.open(Target::Addr(addr));
    c.flush(T).unwrap();
    let mut raw = join(srv);
    c.set_auto_flush(false);
    let id = get(&mut c, "/flush");
    assert!(c.buffered_output() > 0, "the request is held");
    assert!(!has_bytes_now(&raw), "nothing on the wire before flush()");
    c.flush(T).expect("flush");
    assert_eq!(c.buffered_output(), 0);
    let f = read_frame(&mut raw).expect("the request");
    assert_eq!(
        (f.ty, f.stream),
        (HEADERS, u32::try_from(id.get()).unwrap()),
        "{f:?}"
    );
}

/// An HTTP/1.1 server's answer written by the application without its end yet (a message
/// that ends goes out at once; a part of one waits for a step or a flush) is on the wire after
/// `flush(timeout)`.
#[test]
fn seed_flush_h1_server_writes_a_buffered_answer() {
    let (mut l, addr) = bind("127.0.0.1:0");
    let mut raw = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let mut server = l.accept_timeout(T).unwrap();
    raw.write_all(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let id = server.get_next_incoming_stream(T).unwrap().unwrap();
    server.stream(id).get_headers(T).unwrap();
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-length", "4");
    server.stream(id).write_headers(&res, false).unwrap();
    server.stream(id).try_write_chunk(b"ok", false).unwrap();
    assert!(
        server.buffered_output() > 0,
        "the answer so far is buffered"
    );
    assert!(!has_bytes_now(&raw), "nothing on the wire before flush()");
    server.flush(T).expect("flush");
    assert_eq!(server.buffered_output(), 0);
    let head = read_head(&mut raw);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let mut body = [0u8; 2];
    raw.read_exact(&mut body).unwrap();
    assert_eq!(&body, b"ok", "the body written so far");
    server.stream(id).try_write_chunk(b"!!", true).unwrap();
    server.flush(T).unwrap();
    raw.read_exact(&mut body).unwrap();
    assert_eq!(&body, b"!!");
}

/// An HTTP/2 server with auto-flush off holds its answer until `flush(timeout)`.
#[test]
fn seed_flush_h2_server_writes_a_held_answer() {
    let (mut l, addr) = bind("127.0.0.1:0");
    let mut raw = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let mut server = l.accept_timeout(T).unwrap();
    server.set_auto_flush(false);
    raw.write_all(PREFACE).unwrap();
    raw.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
    // GET http://x/ : :method GET, :scheme http, :path / (static table), :authority x.
    let block = [0x82, 0x86, 0x84, 0x41, 0x01, b'x'];
    raw.write_all(&frame(HEADERS, 0x5, 1, &block)).unwrap();
    let id = server.get_next_incoming_stream(T).unwrap().unwrap();
    assert_eq!(server.version(), http::Version::HTTP_2);
    server.stream(id).get_headers(T).unwrap();
    // What the server sent so far: its SETTINGS and the ack of ours.
    let mut acked = false;
    while !acked {
        let f = read_frame(&mut raw).expect("the server's SETTINGS ack");
        acked = f.ty == SETTINGS && f.flags & 1 == 1;
    }
    server
        .stream(id)
        .write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    assert!(server.buffered_output() > 0, "the answer is held");
    assert!(!has_bytes_now(&raw), "nothing on the wire before flush()");
    server.flush(T).expect("flush");
    assert_eq!(server.buffered_output(), 0);
    let f = read_frame(&mut raw).expect("the answer");
    assert_eq!((f.ty, f.stream), (HEADERS, 1), "{f:?}");
}

// ----------------------------------------------------------------------------------------------
// connection:shutdown()
// ----------------------------------------------------------------------------------------------

/// "Performs an orderly shutdown of the connection ... The connection cannot be re-opened."
/// Ours is graceful: an HTTP/1.1 client that calls `shutdown()` with a request sent and its
/// response not yet arrived still gets that response (the server answers 300 ms after the
/// shutdown, keeping the connection alive as far as it is concerned); then the connection
/// closes and the server reads the end of file within a couple of seconds. `connect()` after
/// `shutdown()` is an error, at once, both while the answer is awaited and once closed.
#[test]
fn seed_shutdown_h1_client_lets_the_response_in_flight_arrive() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let (got_tx, got) = mpsc::channel::<String>();
    let (shut_tx, shut) = mpsc::channel::<Instant>();
    let srv = thread::spawn(move || {
        let mut s = raw_accept(&l);
        got_tx.send(read_head(&mut s)).unwrap();
        let shut_at = shut.recv_timeout(WAIT).expect("the shutdown signal");
        thread::sleep(LATE);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        let answered = shut_at.elapsed();
        let (rest, eof_after) = read_to_eof(&mut s, Duration::from_secs(2));
        (answered, rest, eof_after)
    });
    let mut c = Ver::H1.open(Target::Addr(addr));
    let id = get(&mut c, "/late");
    let head = got
        .recv_timeout(WAIT)
        .expect("the request reached the server");
    assert!(head.starts_with("GET /late HTTP/1.1\r\n"), "{head}");
    c.shutdown();
    shut_tx.send(Instant::now()).unwrap();
    let t0 = Instant::now();
    let e = c
        .connect(Some(Duration::from_secs(1)))
        .expect_err("connect() after shutdown()");
    assert!(t0.elapsed() < Duration::from_millis(500), "connect waited");
    assert_eq!(e.kind(), ErrorKind::Closed, "{e:?}");
    assert!(c.new_stream().is_err(), "no new request after shutdown()");
    let mut s = c.stream(id);
    let h = s
        .get_headers(T)
        .expect("the answer in flight after shutdown()")
        .expect("a head");
    assert_eq!(h.status(), Some(StatusCode::OK));
    assert_eq!(s.get_body_as_bytes(T).expect("the body"), b"hello");
    drive_until(
        &mut [&mut c],
        "the close after the last answer",
        WAIT,
        |c| c[0].is_closed(),
    );
    assert!(c.error().is_none(), "{:?}", c.error());
    let (answered, rest, eof_after) = join(srv);
    assert!(answered >= LATE, "answered {answered:?} after the shutdown");
    assert!(
        rest.is_empty(),
        "the client sent {rest:?} after its request"
    );
    assert!(
        eof_after < Duration::from_secs(2),
        "EOF after {eof_after:?}"
    );
    let e = c
        .connect(Some(Duration::from_secs(1)))
        .expect_err("connect() after shutdown() and close");
    assert_eq!(e.kind(), ErrorKind::Closed, "{e:?}");
}

/// The same for an HTTP/2 client: the GOAWAY goes out, the answer the server sends 300 ms
/// later still arrives in full, then the connection closes (the server reads the end of file)
/// and cannot be connected again.
#[test]
fn seed_shutdown_h2_client_lets_the_response_in_flight_arrive() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let (got_tx, got) = mpsc::channel::<u32>();
    let (shut_tx, shut) = mpsc::channel::<()>();
    let srv = thread::spawn(move || {
        let (mut s, stream) = raw_h2_request(&l);
        got_tx.send(stream).unwrap();
        shut.recv_timeout(WAIT).expect("the shutdown signal");
        thread::sleep(LATE);
        // :status 200 (static table), then "hello" and the end of the stream.
        s.write_all(&frame(HEADERS, 0x4, stream, &[0x88])).unwrap();
        s.write_all(&frame(0x0, 0x1, stream, b"hello")).unwrap();
        let t0 = Instant::now();
        let mut frames = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        while let Some(f) = read_frame(&mut s) {
            frames.push(f.ty);
        }
        (frames, t0.elapsed())
    });
    let mut c = Ver::H2.open(Target::Addr(addr));
    let id = get(&mut c, "/late");
    assert_eq!(
        got.recv_timeout(WAIT).unwrap(),
        u32::try_from(id.get()).unwrap()
    );
    c.shutdown();
    shut_tx.send(()).unwrap();
    let e = c
        .connect(Some(Duration::from_secs(1)))
        .expect_err("connect() after shutdown()");
    assert_eq!(e.kind(), ErrorKind::Closed, "{e:?}");
    assert!(c.new_stream().is_err(), "no new stream after shutdown()");
    let mut s = c.stream(id);
    let h = s
        .get_headers(T)
        .expect("the answer in flight after shutdown()")
        .expect("a head");
    assert_eq!(h.status(), Some(StatusCode::OK));
    assert_eq!(s.get_body_as_bytes(T).expect("the body"), b"hello");
    drive_until(
        &mut [&mut c],
        "the close after the last answer",
        WAIT,
        |c| c[0].is_closed(),
    );
    let (frames, eof_after) = join(srv);
    assert!(frames.contains(&GOAWAY), "no GOAWAY: {frames:?}");
    assert!(
        eof_after < Duration::from_secs(2),
        "EOF after {eof_after:?}"
    );
    assert!(c
        .connect(Some(Duration::from_secs(1)))
        .is_err_and(|e| e.kind() == ErrorKind::Closed));
}

/// A server's `shutdown()` with a request in flight: the request is answered in full (over
/// HTTP/1.1 with `Connection: close`), no new request is taken (the server's
/// `get_next_incoming_stream` says `None` at once), then both sides close: the client sees the
/// end.
#[test]
fn seed_shutdown_server_finishes_the_request_in_flight_then_closes() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = server_thread(l, |mut c| {
            let id = c.get_next_incoming_stream(T).unwrap().expect("a request");
            c.shutdown();
            let mut s = c.stream(id);
            let head = s.get_headers(T).unwrap().unwrap();
            let body = format!("{}\n", head.path().unwrap());
            let mut res = Headers::response(StatusCode::OK);
            res.append("content-length", body.len().to_string());
            s.write_headers(&res, false).unwrap();
            s.write_body_from_bytes(body.as_bytes(), T).unwrap();
            let t0 = Instant::now();
            let next = c.get_next_incoming_stream(T);
            drive::drive_one(&mut c, "the close after shutdown()", WAIT, |c| {
                c.is_closed()
            });
            (next.map_err(|e| e.to_string()), t0.elapsed(), c.is_closed())
        });
        let mut c = v.open(Target::Addr(addr));
        let id = get(&mut c, "/in-flight");
        let mut s = c.stream(id);
        let head = s.get_headers(T).unwrap().expect("the answer");
        assert_eq!(head.status(), Some(StatusCode::OK), "{v:?}");
        if v == Ver::H1 {
            assert_eq!(head.get_str("connection"), Some("close"), "{v:?}");
        }
        assert_eq!(s.get_body_as_bytes(T).unwrap(), b"/in-flight\n", "{v:?}");
        drive_until(&mut [&mut c], "the client to see the close", WAIT, |c| {
            c[0].is_closed()
        });
        assert!(
            c.new_stream().is_err(),
            "{v:?}: a new request on a connection the server shut down"
        );
        let (next, took, closed) = join(srv);
        assert_eq!(next, Ok(None), "{v:?}: no more requests after shutdown()");
        assert!(
            took < Duration::from_secs(2),
            "{v:?}: closed after {took:?}"
        );
        assert!(closed, "{v:?}");
    }
}

// ----------------------------------------------------------------------------------------------
// connection:close()
// ----------------------------------------------------------------------------------------------

/// "Closes a connection and releases operating system resources": a client's `close()`
/// releases its fd, and the server sees the connection end (its `get_next_incoming_stream`
/// returns `None` promptly). Both versions.
#[test]
fn seed_close_client_releases_the_fd_and_the_server_sees_eof() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let (closed_tx, closed) = mpsc::channel::<Instant>();
        let srv = server_thread(l, move |mut c| {
            let served = answer_all(&mut c);
            let at = Instant::now();
            let closed_at = closed.recv_timeout(WAIT).expect("the close signal");
            (served, at.saturating_duration_since(closed_at))
        });
        let mut c = v.open(Target::Addr(addr));
        assert_eq!(fetch(&mut c, "/x"), (200, b"/x\n".to_vec()));
        let fd = c.pollfd();
        let target = fd_target(fd).expect("the client's fd is open");
        assert!(target.starts_with("socket:"), "{target}");
        c.close();
        closed_tx.send(Instant::now()).unwrap();
        assert_ne!(
            fd_target(fd),
            Some(target),
            "{v:?}: close() kept the socket"
        );
        let (served, after) = join(srv);
        assert_eq!(served.paths, ["/x"]);
        assert!(
            matches!(served.end, Ok(None)),
            "{v:?}: the server's wait ended with {:?}",
            served.end
        );
        assert!(
            after < Duration::from_secs(2),
            "{v:?}: seen {after:?} after"
        );
    }
}

/// "`:close()` performs a `connection:shutdown()` prior to releasing resources": over HTTP/2
/// that is a GOAWAY before the end of file, from a client and from a server alike.
#[test]
fn seed_close_h2_sends_goaway_before_the_end_for_both_roles() {
    // Client: a raw server sees GOAWAY, then EOF.
    let (l, addr) = raw_listener("127.0.0.1:0");
    let srv = thread::spawn(move || {
        let mut s = raw_accept(&l);
        raw_h2_start(&mut s, true);
        let mut frames = Vec::new();
        while let Some(f) = read_frame(&mut s) {
            frames.push(f.ty);
        }
        frames
    });
    let c = Ver::H2.open(Target::Addr(addr));
    let fd = c.pollfd();
    let target = fd_target(fd).unwrap();
    c.close();
    assert_ne!(fd_target(fd), Some(target), "close() kept the socket");
    let frames = join(srv);
    assert_eq!(
        frames.last(),
        Some(&GOAWAY),
        "the client's last frames {frames:?}"
    );

    // Server: a raw client sees GOAWAY, then EOF.
    let (mut l, addr) = bind("127.0.0.1:0");
    let mut raw = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let mut server = l.accept_timeout(T).unwrap();
    raw.write_all(PREFACE).unwrap();
    raw.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
    drive_until(&mut [&mut server], "the preface", WAIT, |c| {
        c[0].version() == http::Version::HTTP_2
    });
    let fd = server.pollfd();
    let target = fd_target(fd).unwrap();
    server.close();
    assert_ne!(fd_target(fd), Some(target), "close() kept the socket");
    let mut frames = Vec::new();
    while let Some(f) = read_frame(&mut raw) {
        frames.push(f.ty);
    }
    assert_eq!(
        frames.last(),
        Some(&GOAWAY),
        "the server's frames {frames:?}"
    );
}

/// A server's `close()` releases its fd and the client sees the end: the client connection
/// closes and its `get_next_incoming_stream` says `None`. Both versions.
#[test]
fn seed_close_server_releases_the_fd_and_the_client_sees_eof() {
    for v in VERSIONS {
        let (mut l, addr) = bind("127.0.0.1:0");
        let (fetched_tx, fetched) = mpsc::channel::<()>();
        let client = thread::spawn(move || {
            let mut c = v.open(Target::Addr(addr));
            assert_eq!(fetch(&mut c, "/s"), (200, b"/s\n".to_vec()));
            fetched_tx.send(()).unwrap();
            drive::drive_one(&mut c, "the server's close", WAIT, |c| c.is_closed());
            let next = c.get_next_incoming_stream(T);
            (next.map_err(|e| e.to_string()), c.is_closed())
        });
        let mut server = l.accept_timeout(T).unwrap();
        let id = server.get_next_incoming_stream(T).unwrap().unwrap();
        server.stream(id).get_headers(T).unwrap();
        let mut res = Headers::response(StatusCode::OK);
        res.append("content-length", "3");
        server.stream(id).write_headers(&res, false).unwrap();
        server.stream(id).write_body_from_bytes(b"/s\n", T).unwrap();
        server.flush(T).unwrap();
        fetched
            .recv_timeout(WAIT)
            .expect("the client got its answer");
        let fd = server.pollfd();
        let target = fd_target(fd).unwrap();
        server.close();
        assert_ne!(
            fd_target(fd),
            Some(target),
            "{v:?}: close() kept the socket"
        );
        let (next, closed) = join(client);
        assert_eq!(next, Ok(None), "{v:?}: the client's wait");
        assert!(closed, "{v:?}");
    }
}

// ----------------------------------------------------------------------------------------------
// connection:new_stream()
// ----------------------------------------------------------------------------------------------

/// "Creates and returns a new stream on the connection": each call gives a new stream (over
/// HTTP/2 the odd ids 1, 3, 5), each carrying its own request and answer; a server cannot make
/// one, nor can a closed client.
#[test]
fn seed_new_stream_gives_one_stream_per_request() {
    for v in VERSIONS {
        let (l, addr) = bind("127.0.0.1:0");
        let srv = server_thread(l, |mut c| {
            let e = c.new_stream().map_err(|e| e.kind());
            (e, answer_all(&mut c))
        });
        let mut c = v.open(Target::Addr(addr));
        let ids: Vec<StreamId> = (0..3).map(|i| get(&mut c, &format!("/{i}"))).collect();
        for w in ids.windows(2) {
            assert!(w[0] < w[1], "{v:?}: ids {ids:?}");
        }
        if v == Ver::H2 {
            assert_eq!(ids, [StreamId::new(1), StreamId::new(3), StreamId::new(5)]);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                response(&mut c, *id),
                (200, format!("/{i}\n").into_bytes()),
                "{v:?}"
            );
        }
        c.shutdown();
        drive_until(&mut [&mut c], "the close", WAIT, |c| c[0].is_closed());
        let e = c.new_stream().expect_err("a closed connection");
        assert_eq!(e.kind(), ErrorKind::Closed, "{v:?}: {e:?}");
        let (server_new, served) = join(srv);
        assert_eq!(server_new, Err(ErrorKind::InvalidState), "{v:?}: a server");
        assert_eq!(served.paths, ["/0", "/1", "/2"], "{v:?}");
    }
}

// ----------------------------------------------------------------------------------------------
// connection:get_next_incoming_stream(timeout)
// ----------------------------------------------------------------------------------------------

/// "Returns the next peer initiated stream": a server gets each request in order (two
/// pipelined over HTTP/1.1, two concurrent over HTTP/2); with none coming it gives up at its
/// timeout (`TimedOut`, the connection lives on); once the client closes, `Ok(None)`, again
/// and again.
#[test]
fn seed_get_next_incoming_stream_server_gets_each_request_then_none_once_closed() {
    for v in VERSIONS {
        let (mut l, addr) = bind("127.0.0.1:0");
        let (go_tx, go) = mpsc::channel::<()>();
        let client = thread::spawn(move || {
            let mut c = v.open(Target::Addr(addr));
            go.recv_timeout(WAIT).expect("the go signal");
            let a = get(&mut c, "/a");
            let b = get(&mut c, "/b");
            let answers = [response(&mut c, a), response(&mut c, b)];
            c.close();
            answers
        });
        let mut server = l.accept_timeout(T).unwrap();
        let t0 = Instant::now();
        let e = server
            .get_next_incoming_stream(Some(LATE))
            .expect_err("no request yet");
        let took = t0.elapsed();
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{v:?}: {e:?}");
        assert!(
            took >= LATE - Duration::from_millis(20) && took < LATE + Duration::from_secs(2),
            "{v:?}: timed out after {took:?}"
        );
        assert!(!server.is_closed());
        go_tx.send(()).unwrap();
        let mut ids = Vec::new();
        for want in ["/a", "/b"] {
            let id = server
                .get_next_incoming_stream(T)
                .unwrap()
                .unwrap_or_else(|| panic!("{v:?}: the request for {want}"));
            let head = server.stream(id).get_headers(T).unwrap().unwrap();
            assert_eq!(head.path(), Some(want), "{v:?}: in order");
            ids.push(id);
        }
        assert_ne!(ids[0], ids[1]);
        for id in ids {
            let mut res = Headers::response(StatusCode::OK);
            res.append("content-length", "2");
            server.stream(id).write_headers(&res, false).unwrap();
            server.stream(id).write_body_from_bytes(b"ok", T).unwrap();
        }
        let t0 = Instant::now();
        assert_eq!(server.get_next_incoming_stream(T).unwrap(), None, "{v:?}");
        drive::drive_one(&mut server, "the client's close", WAIT, |c| c.is_closed());
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(server.get_next_incoming_stream(T).unwrap(), None, "again");
        for a in join(client) {
            assert_eq!(a, (200, b"ok".to_vec()), "{v:?}");
        }
    }
}

/// A client's peer starts streams only as pushes: a client that takes none (the default, and
/// any HTTP/1.1 client) is told at once that no stream will come, before and after the server
/// closes; an HTTP/2 client that takes pushes waits for one (and times out), and is told
/// `Ok(None)` once the server closes.
#[test]
fn seed_get_next_incoming_stream_client_none_without_push_else_times_out_then_none_once_closed() {
    for (v, push) in [
        (Ver::H1, false),
        (Ver::H1, true),
        (Ver::H2, false),
        (Ver::H2, true),
    ] {
        let waits = v == Ver::H2 && push;
        let (l, addr) = bind("127.0.0.1:0");
        let (close_tx, close) = mpsc::channel::<()>();
        let srv = server_thread(l, move |mut c| {
            let id = c.get_next_incoming_stream(T).unwrap().unwrap();
            c.stream(id).get_headers(T).unwrap();
            c.stream(id)
                .write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
                .unwrap();
            c.flush(T).unwrap();
            close.recv_timeout(WAIT).expect("the close signal");
            c.close();
        });
        let mut cfg = Config::default();
        cfg.http2.enable_push = push;
        let mut c = Connection::client(Target::Addr(addr), v.opts(cfg)).unwrap();
        c.connect(T).unwrap();
        assert_eq!(fetch(&mut c, "/").0, 204);
        let t0 = Instant::now();
        if waits {
            let e = c
                .get_next_incoming_stream(Some(LATE))
                .expect_err("no stream from the server");
            assert_eq!(e.kind(), ErrorKind::TimedOut, "{v:?}: {e:?}");
            assert!(t0.elapsed() >= LATE - Duration::from_millis(20));
            let e = c.try_next_incoming_stream().expect_err("not yet");
            assert!(e.is_would_block(), "{v:?}: {e:?}");
        } else {
            assert_eq!(c.get_next_incoming_stream(T).unwrap(), None, "{v:?}");
            assert!(t0.elapsed() < LATE, "{v:?}: {:?}", t0.elapsed());
        }
        assert!(!c.is_closed());
        close_tx.send(()).unwrap();
        let t0 = Instant::now();
        assert_eq!(c.get_next_incoming_stream(T).unwrap(), None, "{v:?}");
        drive::drive_one(&mut c, "the server's close", WAIT, |c| c.is_closed());
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(c.try_next_incoming_stream().unwrap(), None, "{v:?}: again");
        join(srv);
    }
}

// ----------------------------------------------------------------------------------------------
// connection:onidle(new_handler)
// ----------------------------------------------------------------------------------------------

/// "Returns the previous handler": the first call returns none; each later call returns the
/// handler set before it (the very one: calling it counts on its own counter).
#[test]
fn seed_onidle_returns_the_previous_handler() {
    for v in VERSIONS {
        let mut c = v.client(Target::Addr("127.0.0.1:9".parse().unwrap()));
        let (first, h1) = counting_idle_handler();
        let (second, h2) = counting_idle_handler();
        assert!(c.onidle(Some(h1)).is_none(), "{v:?}: no handler at first");
        let mut back = c.onidle(Some(h2)).expect("the first handler back");
        back(&mut Idle::from(&mut c));
        assert_eq!(first.load(Ordering::SeqCst), 1, "{v:?}: it is the first");
        assert_eq!(second.load(Ordering::SeqCst), 0);
        let mut back = c.onidle(None).expect("the second handler back");
        back(&mut Idle::from(&mut c));
        assert_eq!(second.load(Ordering::SeqCst), 1, "{v:?}: it is the second");
        assert!(c.onidle(None).is_none(), "{v:?}: none set");
    }
}

/// Server side of the onidle tests, without blocking: takes the new requests into `pending`
/// and answers, oldest first and at most `allowed` of them, those whose request has fully
/// arrived; returns how many it answered.
fn answer_ready(conn: &mut Connection, pending: &mut Vec<StreamId>, allowed: usize) -> usize {
    while let Ok(Some(id)) = conn.try_next_incoming_stream() {
        pending.push(id);
    }
    while conn.next_ready_stream().is_some() {}
    let mut answered = 0;
    while answered < allowed && !pending.is_empty() {
        let id = pending[0];
        let mut s = conn.stream(id);
        let path = match s.try_get_headers() {
            Ok(Some(h)) => h.path().unwrap_or("").to_string(),
            Err(e) if e.is_would_block() => break,
            other => panic!("request head: {other:?}"),
        };
        let complete = loop {
            match s.try_get_next_chunk() {
                Ok(Some(_)) => {}
                Ok(None) => break true,
                Err(e) if e.is_would_block() => break false,
                Err(e) => panic!("request body: {e:?}"),
            }
        };
        if !complete {
            break;
        }
        let body = format!("{path}\n");
        let mut res = Headers::response(StatusCode::OK);
        res.append("content-length", body.len().to_string());
        s.write_headers(&res, false).unwrap();
        s.try_write_chunk(body.as_bytes(), true).unwrap();
        pending.remove(0);
        answered += 1;
    }
    answered
}

/// Reads what has come of the answer on stream `id`; `true` once it is complete.
fn read_answer(conn: &mut Connection, id: StreamId, head: &mut bool, body: &mut Vec<u8>) -> bool {
    let mut s = conn.stream(id);
    if !*head {
        match s.try_get_headers() {
            Ok(Some(h)) => {
                assert_eq!(h.status(), Some(StatusCode::OK));
                *head = true;
            }
            Err(e) if e.is_would_block() => return false,
            other => panic!("response head: {other:?}"),
        }
    }
    loop {
        match s.try_get_next_chunk() {
            Ok(Some(d)) => body.extend_from_slice(&d),
            Ok(None) => return true,
            Err(e) if e.is_would_block() => return false,
            Err(e) => panic!("response body: {e:?}"),
        }
    }
}

/// "Called when the connection becomes idle i.e. when there is no request in progress": on both
/// sides and in both versions, the handler runs once after each of three exchanges done one
/// after the other, and not before the first.
#[test]
fn seed_onidle_is_called_each_time_the_connection_becomes_idle() {
    for v in VERSIONS {
        let (mut l, addr) = bind("127.0.0.1:0");
        let mut client = v.client(Target::Addr(addr));
        let mut server = l.accept_timeout(T).unwrap();
        let (client_idle, h) = counting_idle_handler();
        assert!(client.onidle(Some(h)).is_none());
        let (server_idle, h) = counting_idle_handler();
        assert!(server.onidle(Some(h)).is_none());
        drive_until(&mut [&mut client, &mut server], "connect", WAIT, |c| {
            c[0].is_connected()
        });
        assert_eq!(
            client_idle.load(Ordering::SeqCst),
            0,
            "{v:?}: before any request"
        );
        assert_eq!(
            server_idle.load(Ordering::SeqCst),
            0,
            "{v:?}: before any request"
        );
        let mut pending = Vec::new();
        for i in 1..=3 {
            let path = format!("/{i}");
            let id = get(&mut client, &path);
            let (mut head, mut body) = (false, Vec::new());
            drive_until(&mut [&mut client, &mut server], "an exchange", WAIT, |c| {
                answer_ready(c[1], &mut pending, usize::MAX);
                read_answer(c[0], id, &mut head, &mut body)
            });
            assert_eq!(body, format!("{path}\n").as_bytes());
            drive_until(
                &mut [&mut client, &mut server],
                "onidle on both sides",
                WAIT,
                |_| {
                    client_idle.load(Ordering::SeqCst) >= i
                        && server_idle.load(Ordering::SeqCst) >= i
                },
            );
            assert_eq!(
                client_idle.load(Ordering::SeqCst),
                i,
                "{v:?}: client after {i}"
            );
            assert_eq!(
                server_idle.load(Ordering::SeqCst),
                i,
                "{v:?}: server after {i}"
            );
        }
    }
}

/// "... and no pipelined streams waiting": with two requests in (pipelined over HTTP/1.1,
/// concurrent over HTTP/2), answering the first does not make the server idle (the client has
/// that whole answer and the handler has not run); answering the second does, once.
#[test]
fn seed_onidle_waits_for_the_streams_still_waiting() {
    for v in VERSIONS {
        let (mut l, addr) = bind("127.0.0.1:0");
        let mut client = v.client(Target::Addr(addr));
        let mut server = l.accept_timeout(T).unwrap();
        let (server_idle, h) = counting_idle_handler();
        server.onidle(Some(h));
        drive_until(&mut [&mut client, &mut server], "connect", WAIT, |c| {
            c[0].is_connected()
        });
        let a = get(&mut client, "/a");
        let b = get(&mut client, "/b");
        let mut pending = Vec::new();
        drive_until(
            &mut [&mut client, &mut server],
            "two requests in",
            WAIT,
            |c| {
                while let Ok(Some(id)) = c[1].try_next_incoming_stream() {
                    pending.push(id);
                }
                pending.len() == 2
            },
        );
        let (mut head, mut body) = (false, Vec::new());
        let mut answered = 0;
        drive_until(
            &mut [&mut client, &mut server],
            "the first answer",
            WAIT,
            |c| {
                answered += answer_ready(c[1], &mut pending, 1 - answered);
                read_answer(c[0], a, &mut head, &mut body)
            },
        );
        assert_eq!(body, b"/a\n");
        assert!(!server.is_idle(), "{v:?}: a request still waits");
        assert_eq!(
            server_idle.load(Ordering::SeqCst),
            0,
            "{v:?}: onidle with a request still waiting"
        );
        let (mut head, mut body) = (false, Vec::new());
        drive_until(
            &mut [&mut client, &mut server],
            "the second answer",
            WAIT,
            |c| {
                answer_ready(c[1], &mut pending, 1);
                read_answer(c[0], b, &mut head, &mut body)
                    && server_idle.load(Ordering::SeqCst) >= 1
            },
        );
        assert_eq!(body, b"/b\n");
        assert_eq!(server_idle.load(Ordering::SeqCst), 1, "{v:?}");
    }
}

// ----------------------------------------------------------------------------------------------
// Errors a program can match
// ----------------------------------------------------------------------------------------------

/// An HTTP/2 server that ends the connection with GOAWAY(PROTOCOL_ERROR) and closes: the
/// request in flight fails as a protocol error carrying the GOAWAY's code (1) and its debug
/// data, and so does the connection's error.
#[test]
fn an_h2_goaway_with_protocol_error_reaches_the_caller_with_its_code() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let srv = thread::spawn(move || {
        let (mut s, stream) = raw_h2_request(&l);
        let mut goaway = stream.to_be_bytes().to_vec();
        goaway.extend_from_slice(&1u32.to_be_bytes());
        goaway.extend_from_slice(b"you broke it");
        s.write_all(&frame(GOAWAY, 0, 0, &goaway)).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        // Read to the client's close, so that no reset overtakes the GOAWAY.
        s.set_read_timeout(Some(WAIT)).unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    });
    let mut c = Ver::H2.open(Target::Addr(addr));
    let id = get(&mut c, "/broken");
    let e = c
        .stream(id)
        .get_headers(T)
        .expect_err("the stream fails with the GOAWAY");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.h2_code(), Some(1), "{e}");
    assert!(
        e.message().contains("PROTOCOL_ERROR") && e.message().contains("you broke it"),
        "{e}"
    );
    drive_until(&mut [&mut c], "the close", WAIT, |c| c[0].is_closed());
    let ce = c.error().expect("the connection's error");
    assert_eq!(
        (ce.kind(), ce.h2_code()),
        (ErrorKind::Protocol, Some(1)),
        "{ce}"
    );
    drop(c);
    join(srv);
}

/// An HTTP/2 client whose SETTINGS the server never acknowledges: the connection fails as
/// timed out (a deadline passed; not a protocol error), with the code of the GOAWAY it sent
/// (SETTINGS_TIMEOUT, 4).
#[test]
fn an_h2_client_whose_settings_are_never_acknowledged_times_out() {
    let (l, addr) = raw_listener("127.0.0.1:0");
    let srv = thread::spawn(move || {
        let mut s = raw_accept(&l);
        raw_h2_start(&mut s, false);
        // Our SETTINGS, but no acknowledgement of the client's.
        s.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = read_frame(&mut s) {
            frames.push(f.ty);
        }
        frames
    });
    let mut cfg = Config::default();
    cfg.http2.settings_timeout = Some(LATE);
    let mut c = Connection::client(Target::Addr(addr), Ver::H2.opts(cfg)).unwrap();
    let _ = c.connect(T);
    drive_until(&mut [&mut c], "the settings timeout", WAIT, |c| {
        c[0].is_closed()
    });
    let e = c.error().expect("the connection's error");
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(e.h2_code(), Some(4), "{e}");
    assert!(e.message().contains("SETTINGS"), "{e}");
    drop(c);
    assert!(join(srv).contains(&GOAWAY), "no GOAWAY");
}
