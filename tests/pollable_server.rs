//! The pollable `Server` over real sockets, driven the ways its docs teach (a mio loop, a raw
//! epoll loop level- and edge-triggered with the server's fd registered once, the blocking
//! `step_wait`), against curl, nghttp and h2load: HTTP/1.1, h2c (prior knowledge and
//! upgrade), TLS with ALPN and plaintext on one port, a Unix socket; bodies larger than every
//! buffer both ways, a response given whole and one streamed, a request answered on a later
//! turn; its limits (response timeout, connections), bad input, graceful shutdown.

mod common;

use common::*;
use pollhttp::{
    Config, Headers, Listener, Method, RequestId, Server, ServerOptions, StatusCode,
    TlsServerConfig,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::RawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest a test's server runs, whatever happens.
const SERVER_LIMIT: Duration = Duration::from_secs(180);
/// Longest one turn of a test loop waits, so that it sees the stop flag.
const TURN: Duration = Duration::from_millis(20);

/// The loops the docs show.
#[derive(Debug, Clone, Copy)]
enum Loop {
    /// `pollhttp::mio::Poll` with the server registered (the `Server` docs' loop).
    Mio,
    /// A raw epoll with the server's fd registered once, level-triggered.
    EpollLevel,
    /// The same, edge-triggered.
    EpollEdge,
    /// `Server::step_wait`.
    StepWait,
}

/// What the server's thread reports when it ends.
#[derive(Debug, Default)]
struct Report {
    /// Most connections open at once.
    max_connections: usize,
    /// The server shut down and every connection closed.
    done: bool,
}

/// A server on a thread of its own, stopped when dropped.
struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Report>>,
}

impl Running {
    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Waits for the server's thread to end by itself (a shutdown) and returns its report.
    fn join(mut self) -> Report {
        self.thread.take().unwrap().join().expect("server thread")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let r = t.join();
            if !std::thread::panicking() {
                r.expect("server thread");
            }
        }
    }
}

/// Starts a server made by `make` (which returns the address to test), driven by `kind`,
/// with `app` called after every step.
fn start(
    kind: Loop,
    make: impl FnOnce() -> (Server, SocketAddr) + Send + 'static,
    mut app: impl FnMut(&mut Server) + Send + 'static,
) -> Running {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let (mut server, addr) = make();
        tx.send(addr).unwrap();
        let mut report = Report::default();
        let mut driver = Driver::new(kind, &mut server);
        let until = Instant::now() + SERVER_LIMIT;
        while !flag.load(Ordering::Relaxed) && Instant::now() < until {
            driver.wait(&mut server);
            server.step().expect("step");
            app(&mut server);
            report.max_connections = report.max_connections.max(server.connections());
            if server.is_done() {
                report.done = true;
                break;
            }
        }
        report
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("server started");
    Running {
        addr,
        stop,
        thread: Some(thread),
    }
}

/// Waits as `Loop` says, at most `TURN`.
enum Driver {
    Mio(pollhttp::mio::Poll, pollhttp::mio::Events),
    Epoll(RawFd),
    StepWait,
}

impl Driver {
    fn new(kind: Loop, server: &mut Server) -> Driver {
        use pollhttp::mio::{Events, Interest, Poll, Token};
        match kind {
            Loop::Mio => {
                let poll = Poll::new().unwrap();
                poll.registry()
                    .register(server, Token(7), Interest::READABLE)
                    .unwrap();
                Driver::Mio(poll, Events::with_capacity(4))
            }
            Loop::EpollLevel | Loop::EpollEdge => {
                let edge = matches!(kind, Loop::EpollEdge);
                // SAFETY: plain system calls on fds this test owns.
                let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
                assert!(ep >= 0);
                let mut ev = libc::epoll_event {
                    events: (libc::EPOLLIN | if edge { libc::EPOLLET } else { 0 }) as u32,
                    u64: 1,
                };
                // SAFETY: `ev` is valid for the call; the server's fd outlives the loop.
                let r =
                    unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, server.pollfd(), &mut ev) };
                assert_eq!(r, 0, "register the server's fd once");
                Driver::Epoll(ep)
            }
            Loop::StepWait => Driver::StepWait,
        }
    }

    fn wait(&mut self, server: &mut Server) {
        let now = Instant::now();
        let wait = server
            .timeout()
            .map_or(TURN, |t| t.saturating_duration_since(now).min(TURN));
        match self {
            Driver::Mio(poll, events) => {
                let _ = poll.poll(events, Some(wait));
            }
            Driver::Epoll(ep) => {
                let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
                let ms = wait.as_micros().div_ceil(1000) as i32;
                // SAFETY: `evs` is valid for 4 events during the call.
                unsafe { libc::epoll_wait(*ep, evs.as_mut_ptr(), 4, ms) };
            }
            Driver::StepWait => {
                // step_wait steps too; the loop's own step then finds nothing new.
                server.step_wait(Some(wait)).expect("step_wait");
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Driver::Epoll(ep) = self {
            // SAFETY: our own epoll fd, closed once.
            unsafe { libc::close(*ep) };
        }
    }
}

fn plain_server(opts: ServerOptions) -> impl FnOnce() -> (Server, SocketAddr) + Send {
    move || {
        let mut s = Server::new(opts).unwrap();
        let name = s.listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let pollhttp::SockName::Inet(addr) = name else {
            panic!("{name:?}")
        };
        (s, addr)
    }
}

/// The test application: `/hello`, `/echo` (whole body), `/stream` (streamed echo), `/big`
/// (10 MiB given whole), `/later` (answered on the next turn), `/slow` (never answered),
/// `/shutdown` (answers, then shuts the server down).
#[derive(Default)]
struct App {
    /// Streamed echoes: a piece of body waiting for room.
    waiting: HashMap<RequestId, Vec<u8>>,
    /// Requests to answer on the next turn.
    later: Vec<RequestId>,
    big: Vec<u8>,
}

const BIG: usize = 10 << 20;

impl App {
    fn new() -> App {
        App {
            big: noise(BIG, 9),
            ..App::default()
        }
    }

    fn run(&mut self, server: &mut Server) {
        for id in std::mem::take(&mut self.later) {
            if let Some(mut req) = server.request(id) {
                req.respond(StatusCode::OK, &[], b"later\n").unwrap();
            }
        }
        let mut stop = false;
        while let Some(mut req) = server.next_request() {
            match (req.method(), req.path()) {
                (Method::GET | Method::HEAD, "/hello") => req
                    .respond(
                        StatusCode::OK,
                        &[("content-type", "text/plain")],
                        b"hello\n",
                    )
                    .unwrap(),
                (Method::GET, "/big") => req.respond(StatusCode::OK, &[], &self.big).unwrap(),
                (Method::GET, "/later") => self.later.push(req.id()),
                (Method::GET, "/slow") => {}
                (Method::GET, "/shutdown") => {
                    req.respond(StatusCode::OK, &[], b"bye\n").unwrap();
                    stop = true;
                }
                (Method::POST, "/echo") => match req.try_body(64 << 20) {
                    Ok(Some(body)) => req.respond(StatusCode::OK, &[], &body).unwrap(),
                    Err(e) if e.is_would_block() => {}
                    Err(e) => req.respond_error(&e).unwrap(),
                    Ok(None) => {}
                },
                (Method::POST, "/stream") => {
                    let id = req.id();
                    let piece = self.waiting.entry(id).or_insert_with(|| {
                        req.write_head(&Headers::response(StatusCode::OK), false)
                            .unwrap();
                        Vec::new()
                    });
                    loop {
                        if !piece.is_empty() {
                            match req.try_write_chunk(piece, false) {
                                Ok(()) => piece.clear(),
                                Err(e) if e.is_would_block() => break,
                                Err(e) => panic!("{e}"),
                            }
                        }
                        match req.try_get_next_chunk() {
                            Ok(Some(d)) => *piece = d,
                            Ok(None) => {
                                req.try_write_chunk(&[], true).unwrap();
                                self.waiting.remove(&id);
                                break;
                            }
                            Err(e) if e.is_would_block() => break,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                _ => req.respond(StatusCode::NOT_FOUND, &[], b"").unwrap(),
            }
        }
        if stop {
            server.shutdown();
        }
    }
}

fn app_server(kind: Loop, opts: ServerOptions) -> Running {
    let mut app = App::new();
    start(kind, plain_server(opts), move |s| app.run(s))
}

/// curl's output, which must have succeeded.
fn curl_body(args: &[&str]) -> Vec<u8> {
    curl_ok(args).stdout
}

#[test]
fn curl_gets_answers_over_http1_h2c_and_upgrade() {
    let s = app_server(Loop::Mio, ServerOptions::default());
    let url = s.url("http", "/hello");
    for flag in [
        "--http1.0",
        "--http1.1",
        "--http2-prior-knowledge",
        "--http2",
    ] {
        let out = curl_body(&[flag, "-w", " %{http_version}", &url]);
        let want = match flag {
            "--http1.0" => "hello\n 1",
            "--http1.1" => "hello\n 1.1",
            _ => "hello\n 2",
        };
        assert_eq!(String::from_utf8_lossy(&out), want, "{flag}");
    }
    // HEAD: the length of the body, no body.
    let out = curl_body(&["-I", &url]);
    let head = String::from_utf8_lossy(&out);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(head_value(&head, "content-length"), Some("6"), "{head}");
    // Unknown: 404. The query is not part of the path.
    let out = curl_body(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &s.url("http", "/nope"),
    ]);
    assert_eq!(out, b"404");
    let out = curl_body(&[&s.url("http", "/hello?x=1")]);
    assert_eq!(out, b"hello\n");
}

#[test]
fn bodies_larger_than_every_buffer_stream_both_ways() {
    let s = app_server(Loop::EpollEdge, ServerOptions::default());
    let dir = Scratch(temp_dir("server-bodies"));
    let up = noise(20 << 20, 3);
    let file = dir.0.join("up.bin");
    std::fs::write(&file, &up).unwrap();
    let out = dir.0.join("out.bin");
    for flag in ["--http1.1", "--http2-prior-knowledge"] {
        // Streamed both ways: the server holds a piece at a time.
        let what = format!("{flag} streamed echo of 20 MiB");
        uploads::curl_echo(&s.url("http", "/stream"), flag, &file, &out, &up, &what);
        // Given whole: a 10 MiB response the connection takes as room comes.
        let got = curl_body(&[flag, &s.url("http", "/big")]);
        assert_same_bytes(&got, &noise(BIG, 9), &format!("{flag} 10 MiB download"));
    }
    // Whole-body echo, and one over its limit: 413 (nghttp: curl 7.88 reports an error for the
    // RST_STREAM(NO_ERROR) that follows an early answer, RFC 9113 §8.1).
    assert_uploads_are_echoed_once(&s.url("http", "/echo"), &dir);
}

fn assert_uploads_are_echoed_once(url: &str, dir: &Scratch) {
    let body = noise(3_000_000, 4);
    let file = dir.0.join("3MB.bin");
    std::fs::write(&file, &body).unwrap();
    let out = dir.0.join("echo.bin");
    for flag in ["--http1.1", "--http2-prior-knowledge"] {
        uploads::curl_echo(url, flag, &file, &out, &body, &format!("{flag} 3 MB echo"));
    }
}

#[test]
fn a_body_over_the_applications_limit_gets_413() {
    let s = start(
        Loop::Mio,
        plain_server(ServerOptions::default()),
        move |s| {
            // An echo of whole bodies up to 1 MiB.
            while let Some(mut req) = s.next_request() {
                match req.try_body(1 << 20) {
                    Ok(Some(body)) => req.respond(StatusCode::OK, &[], &body).unwrap(),
                    Err(e) if e.is_would_block() => {}
                    Err(e) => req.respond_error(&e).unwrap(),
                    Ok(None) => {}
                }
            }
        },
    );
    let dir = Scratch(temp_dir("server-413"));
    let file = dir.0.join("2MiB.bin");
    std::fs::write(&file, noise(2 << 20, 5)).unwrap();
    let data = format!("@{}", file.display());
    let out = curl_body(&[
        "--http1.1",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--data-binary",
        &data,
        &s.url("http", "/echo"),
    ]);
    assert_eq!(out, b"413");
    let out = run_with_timeout(
        Command::new(require_tool("nghttp"))
            .args(["-v", "-d"])
            .arg(&file)
            .arg(s.url("http", "/echo")),
        CLIENT_LIMIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(":status: 413"), "{text}");
    assert!(text.contains("error_code=NO_ERROR"), "{text}");
    // The server goes on.
    let out = curl_body(&[
        "--http2-prior-knowledge",
        "-d",
        "x",
        &s.url("http", "/echo"),
    ]);
    assert_eq!(out, b"x");
}

#[test]
fn every_loop_the_docs_show_serves_many_connections() {
    for kind in [Loop::Mio, Loop::EpollLevel, Loop::EpollEdge, Loop::StepWait] {
        let s = app_server(kind, ServerOptions::default());
        let url = s.url("http", "/hello");
        h2load(2000, &["-c", "50", "-m", "10"], &url);
        h2load(2000, &["--h1", "-c", "50"], &url);
        drop(s);
        eprintln!("{kind:?}: ok");
    }
}

#[test]
fn an_unanswered_request_gets_503_at_the_response_timeout() {
    let opts = ServerOptions {
        response_timeout: Some(Duration::from_millis(300)),
        ..ServerOptions::default()
    };
    let s = app_server(Loop::Mio, opts);
    let started = Instant::now();
    let out = curl_body(&["-w", " %{http_code}", &s.url("http", "/slow")]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        String::from_utf8_lossy(&out).ends_with(" 503"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    // Answered requests are not touched by it; the server goes on.
    let out = curl_body(&["--http2-prior-knowledge", &s.url("http", "/later")]);
    assert_eq!(out, b"later\n");
}

#[test]
fn a_request_kept_by_id_is_answered_on_a_later_turn() {
    let s = app_server(Loop::EpollLevel, ServerOptions::default());
    // HTTP/1.1: one connection, the second request waits for the first's answer.
    let out = curl_body(&[
        "--http1.1",
        &s.url("http", "/later"),
        &s.url("http", "/hello"),
    ]);
    assert_eq!(out, b"later\nhello\n");
    // HTTP/2: both streams at once on one connection; /hello is answered first. (nghttp:
    // curl 7.88 does not reuse a prior-knowledge connection for a second URL, whatever the
    // server.)
    let out = run_with_timeout(
        Command::new(require_tool("nghttp"))
            .arg("-v")
            .arg(s.url("http", "/later"))
            .arg(s.url("http", "/hello")),
        CLIENT_LIMIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // The bodies are lines of their own among nghttp's frame log.
    let line = |body: &str| text.lines().position(|l| l == body);
    let (hello, later) = (line("hello"), line("later"));
    assert!(hello.is_some() && later.is_some(), "{text}");
    assert!(
        hello < later,
        "the deferred answer comes after the other stream's: {text}"
    );
}

/// A keep-alive HTTP/1.1 connection that has had one answer.
fn keep_alive(addr: SocketAddr) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"hello\n") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    c
}

#[test]
fn at_max_connections_new_ones_wait_in_the_backlog() {
    let opts = ServerOptions {
        max_connections: 2,
        ..ServerOptions::default()
    };
    let s = app_server(Loop::EpollEdge, opts);
    let a = keep_alive(s.addr);
    let _b = keep_alive(s.addr);
    // The kernel completes the third connection; the server does not take it yet.
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 512];
    let e = c.read(&mut buf).expect_err("served past max_connections");
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    // One closes: the third is taken and answered.
    drop(a);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let n = c.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(c);
    let report = {
        let r = s;
        r.stop.store(true, Ordering::Relaxed);
        r.join()
    };
    assert_eq!(report.max_connections, 2);
}

#[test]
fn bad_input_gets_400_and_other_connections_go_on() {
    let s = app_server(Loop::Mio, ServerOptions::default());
    let idle = keep_alive(s.addr);
    let raw = raw_exchange(s.addr, b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", CLIENT_LIMIT);
    let (head, _) = split_head(&raw);
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // An HTTP/2 connection preface followed by garbage: GOAWAY(PROTOCOL_ERROR) for it alone.
    let raw = raw_exchange(
        s.addr,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x09\x00\x00\x00\x00\x01abcd",
        CLIENT_LIMIT,
    );
    let goaway = raw.windows(4).any(|w| w == [0, 0, 8, 7]) || raw.windows(2).any(|w| w == [7, 0]);
    assert!(goaway, "no GOAWAY in {raw:?}");
    drop(idle);
    let out = curl_body(&[&s.url("http", "/hello")]);
    assert_eq!(out, b"hello\n");
}

#[test]
fn a_graceful_shutdown_finishes_what_is_in_flight_and_refuses_new_connections() {
    let s = app_server(Loop::EpollEdge, ServerOptions::default());
    let addr = s.addr;
    let mut idle = keep_alive(addr);
    // A request in flight: half its body sent.
    let mut busy = TcpStream::connect(addr).unwrap();
    busy.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    busy.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
        .unwrap();
    let out = curl_body(&[&format!("http://{addr}/shutdown")]);
    assert_eq!(out, b"bye\n");
    // The idle connection is closed.
    let mut buf = [0u8; 512];
    assert_eq!(
        idle.read(&mut buf).unwrap_or(0),
        0,
        "the idle connection closes"
    );
    // The one in flight is answered, with Connection: close, then closed.
    busy.write_all(b"56789").unwrap();
    let mut got = Vec::new();
    busy.read_to_end(&mut got).unwrap();
    let (head, body) = split_head(&got);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(head_value(&head, "connection"), Some("close"), "{head}");
    assert_eq!(body, b"0123456789");
    // The server's loop ends by itself, and nothing listens any more.
    let report = s.join();
    assert!(report.done);
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn tls_and_plaintext_on_one_port_and_a_unix_socket() {
    let pki = certs::TestPki::new();
    let (cert, key) = (pki.server.cert_path.clone(), pki.server.key_path.clone());
    let dir = Scratch(temp_dir("server-unix"));
    let sock = dir.0.join("s.sock");
    let unix = sock.clone();
    let mut app = App::new();
    let s = start(
        Loop::Mio,
        move || {
            let mut server = Server::new(ServerOptions::default()).unwrap();
            let tls = TlsServerConfig::from_pem_files(&cert, &key)
                .unwrap()
                .allow_plaintext(true);
            let l = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
                .unwrap()
                .with_tls(tls);
            let pollhttp::SockName::Inet(addr) = server.add_listener(l).unwrap() else {
                panic!()
            };
            server.listen_unix(&unix).unwrap();
            assert_eq!(server.localnames().len(), 2);
            (server, addr)
        },
        move |s| app.run(s),
    );
    let https = format!("https://localhost:{}/hello", s.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", s.addr.port());
    let ca = pki.ca_path.to_string_lossy().into_owned();
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = curl_body(&[
            flag,
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "-w",
            " %{http_version}",
            &https,
        ]);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("hello\n {version}"),
            "{flag} over TLS"
        );
    }
    let out = curl_body(&[&s.url("http", "/hello")]);
    assert_eq!(out, b"hello\n", "plaintext on the TLS port");
    let out = curl_body(&["--unix-socket", &sock.to_string_lossy(), "http://t/hello"]);
    assert_eq!(out, b"hello\n", "over the Unix socket");
}
