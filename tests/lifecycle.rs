//! Connection lifecycle over real loopback sockets, with our server and our client (or a raw
//! socket) driven in the test's own thread by one `poll(2)` loop over all of them: idle
//! notifications, ready-stream reporting, send and receive backpressure, and releasing fds.

mod common;

use common::drive::{counting_idle_handler, drive_until, incoming, send_get, turn, Response};

use pollhttp::{
    ClientOptions, Config, Connection, ErrorKind, Headers, Idle, Listener, Method, SockName,
    StatusCode, StreamId, StreamState, Target,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Bound on any single wait.
const WAIT: Duration = Duration::from_secs(5);

// ----------------------------------------------------------------------------------------------
// Driving several connections in one thread
// ----------------------------------------------------------------------------------------------

fn listener(cfg: Config) -> (Listener, SocketAddr) {
    let l = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(cfg)).unwrap();
    let SockName::Inet(addr) = l.localname().unwrap() else {
        panic!("a TCP listener")
    };
    (l, addr)
}

/// Accepts one connection, waiting at most [`WAIT`].
fn accept(l: &mut Listener) -> Connection {
    l.accept_timeout(Some(WAIT))
        .expect("a connection to accept")
}

/// A listener, and our client connected to our server through it.
fn pair(cfg: Config) -> (Listener, Connection, Connection) {
    let (mut l, addr) = listener(cfg.clone());
    let mut client = Connection::client(
        Target::Addr(addr),
        ClientOptions {
            config: Arc::new(cfg),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let server = accept(&mut l);
    drive_until(&mut [&mut client], "connect", WAIT, |c| c[0].is_connected());
    (l, client, server)
}

/// A raw std socket connected to our server.
fn raw_pair(cfg: Config) -> (Listener, TcpStream, Connection) {
    let (mut l, addr) = listener(cfg);
    let raw = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    raw.set_write_timeout(Some(WAIT)).unwrap();
    let server = accept(&mut l);
    (l, raw, server)
}

/// A minimal server application driven only by what the connection reports: streams it
/// started (`try_next_incoming_stream`) and streams with news (`next_ready_stream`). Every
/// request is answered with its body, or `PATH\n`.
#[derive(Default)]
struct App {
    reqs: Vec<(StreamId, Option<String>, Vec<u8>)>,
    answered: usize,
    /// Reports from `next_ready_stream`.
    reports: usize,
}

impl App {
    fn run(&mut self, conn: &mut Connection) {
        while let Ok(Some(id)) = conn.try_next_incoming_stream() {
            self.reqs.push((id, None, Vec::new()));
        }
        while let Some(id) = conn.next_ready_stream() {
            self.reports += 1;
            let Some(i) = self.reqs.iter().position(|r| r.0 == id) else {
                continue;
            };
            let mut s = conn.stream(id);
            let r = &mut self.reqs[i];
            if r.1.is_none() {
                match s.try_get_headers() {
                    Ok(Some(h)) => r.1 = Some(h.path().unwrap_or("").to_string()),
                    Err(e) if e.is_would_block() => continue,
                    other => panic!("request head: {other:?}"),
                }
            }
            let complete = loop {
                match s.try_get_next_chunk() {
                    Ok(Some(d)) => r.2.extend_from_slice(&d),
                    Ok(None) => break true,
                    Err(e) if e.is_would_block() => break false,
                    Err(e) => panic!("request body: {e:?}"),
                }
            };
            if !complete {
                continue;
            }
            let (id, path, body) = self.reqs.remove(i);
            let body = if body.is_empty() {
                format!("{}\n", path.unwrap()).into_bytes()
            } else {
                body
            };
            let mut h = Headers::response(StatusCode::OK);
            h.append("content-length", body.len().to_string());
            let mut s = conn.stream(id);
            s.write_headers(&h, false).unwrap();
            s.try_write_chunk(&body, true).unwrap();
            self.answered += 1;
        }
    }
}

/// Pumps client and server (the server answering through [`App`]) until the client's stream
/// `id` has its whole response; returns the body.
fn exchange(
    client: &mut Connection,
    server: &mut Connection,
    app: &mut App,
    id: StreamId,
) -> Vec<u8> {
    let mut res = Response::default();
    drive_until(&mut [client, server], "an exchange", WAIT, |c| {
        app.run(c[1]);
        let done = res.take(c[0], id);
        if let Some(h) = &res.head {
            assert_eq!(h.status(), Some(StatusCode::OK));
        }
        done
    });
    res.body
}

// ----------------------------------------------------------------------------------------------
// onidle
// ----------------------------------------------------------------------------------------------

/// The server connection's idle handler fires once each time it becomes idle after answering
/// (three sequential requests: three calls), and not for the idleness it starts with.
#[test]
fn onidle_fires_each_time_the_server_connection_becomes_idle() {
    let (_l, mut client, mut server) = pair(Config::default());
    let (count, h) = counting_idle_handler();
    assert!(server.onidle(Some(h)).is_none());
    let mut app = App::default();
    turn(&mut [&mut client, &mut server], Instant::now());
    assert_eq!(count.load(Ordering::SeqCst), 0, "called before any request");
    for i in 1..=3 {
        let id = send_get(&mut client, &format!("/{i}"), "x");
        let body = exchange(&mut client, &mut server, &mut app, id);
        assert_eq!(body, format!("/{i}\n").as_bytes());
        drive_until(&mut [&mut client, &mut server], "onidle", WAIT, |_| {
            count.load(Ordering::SeqCst) >= i
        });
        assert_eq!(count.load(Ordering::SeqCst), i, "after request {i}");
    }
    assert!(server.onidle(None).is_some(), "the handler is handed back");
}

/// The client connection's idle handler fires once the response has been read, without any
/// more I/O: that is when a pool can reuse the connection.
#[test]
fn onidle_fires_on_a_client_once_its_response_is_read() {
    let (_l, mut client, mut server) = pair(Config::default());
    let (count, h) = counting_idle_handler();
    client.onidle(Some(h));
    let mut app = App::default();
    let id = send_get(&mut client, "/pool", "x");
    assert_eq!(exchange(&mut client, &mut server, &mut app, id), b"/pool\n");
    assert!(client.is_idle());
    drive_until(
        &mut [&mut client, &mut server],
        "the client's onidle",
        WAIT,
        |_| count.load(Ordering::SeqCst) >= 1,
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

/// The idle handler sees the connection through `Idle`: it can read its state and shut it
/// down gracefully (it cannot step it: `Idle` has no such call, see its doc test). A server
/// whose handler shuts down after the first exchange answers it, then closes: the client sees
/// the end of the connection, not an error.
#[test]
fn an_idle_handler_can_shut_its_connection_down() {
    let (_l, mut client, mut server) = pair(Config::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    server.onidle(Some(Box::new(move |c: &mut Idle<'_>| {
        assert!(c.is_idle());
        assert_eq!(c.role(), pollhttp::Role::Server);
        assert!(c.peername().is_ok());
        seen.fetch_add(1, Ordering::SeqCst);
        c.shutdown();
    })));
    let mut app = App::default();
    let id = send_get(&mut client, "/once", "x");
    assert_eq!(exchange(&mut client, &mut server, &mut app, id), b"/once\n");
    drive_until(
        &mut [&mut client, &mut server],
        "the server closes after its handler shut it down",
        WAIT,
        |c| c[1].is_closed(),
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(server.error().is_none(), "{:?}", server.error());
}

// ----------------------------------------------------------------------------------------------
// next_ready_stream
// ----------------------------------------------------------------------------------------------

/// A reactor that touches only the streams the connection reports sees a request's head as
/// soon as it arrives, then its body piece by piece as it arrives, then its end; on the
/// client side, the responses to three pipelined requests. No stream is ever polled on spec.
#[test]
fn next_ready_stream_reports_heads_and_bodies_as_they_arrive() {
    let (_l, mut raw, mut server) = raw_pair(Config::default());
    raw.write_all(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n")
        .unwrap();
    let mut id = None;
    drive_until(&mut [&mut server], "the incoming stream", WAIT, |c| {
        id = id.or_else(|| incoming(c[0]));
        id.is_some()
    });
    let id = id.unwrap();
    assert_eq!(server.next_ready_stream(), Some(id), "the head is news");
    assert_eq!(server.next_ready_stream(), None, "reported once");
    let h = server.stream(id).try_get_headers().unwrap().unwrap();
    assert_eq!(h.path(), Some("/p"));
    turn(
        &mut [&mut server],
        Instant::now() + Duration::from_millis(20),
    );
    assert_eq!(server.next_ready_stream(), None, "no news, no report");
    for piece in [&b"abc"[..], b"def"] {
        raw.write_all(piece).unwrap();
        let mut ready = None;
        drive_until(&mut [&mut server], "the body piece", WAIT, |c| {
            ready = c[0].next_ready_stream();
            ready.is_some()
        });
        assert_eq!(ready, Some(id));
        assert_eq!(
            server.stream(id).try_get_next_chunk().unwrap(),
            Some(piece.to_vec())
        );
    }
    // The end came with the last piece (Content-Length).
    assert_eq!(server.stream(id).try_get_next_chunk().unwrap(), None);
    let mut res = Headers::response(StatusCode::NO_CONTENT);
    res.append("x", "y");
    server.stream(id).write_headers(&res, true).unwrap();
    drop(raw);

    let (_l, mut client, mut server) = pair(Config::default());
    let ids: Vec<StreamId> = (0..3)
        .map(|i| send_get(&mut client, &format!("/{i}"), "x"))
        .collect();
    let mut app = App::default();
    let mut bodies: Vec<Vec<u8>> = vec![Vec::new(); 3];
    let mut ended = [false; 3];
    drive_until(
        &mut [&mut client, &mut server],
        "three answers",
        WAIT,
        |c| {
            app.run(c[1]);
            while let Some(id) = c[0].next_ready_stream() {
                let i = ids.iter().position(|x| *x == id).expect("a stream of ours");
                let mut s = c[0].stream(id);
                loop {
                    match s.try_get_headers() {
                        Ok(Some(h)) => assert_eq!(h.status(), Some(StatusCode::OK)),
                        Ok(None) => break,
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("{e:?}"),
                    }
                }
                loop {
                    match s.try_get_next_chunk() {
                        Ok(Some(d)) => bodies[i].extend_from_slice(&d),
                        Ok(None) => {
                            ended[i] = true;
                            break;
                        }
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            ended.iter().all(|e| *e)
        },
    );
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(b, format!("/{i}\n").as_bytes());
    }
    assert_eq!(app.answered, 3);
}

// ----------------------------------------------------------------------------------------------
// Send backpressure
// ----------------------------------------------------------------------------------------------

const BIG: usize = 8 * 1024 * 1024;
const PIECE: usize = 64 * 1024;

fn pattern(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

/// A raw client with a small receive buffer that asks for `/big` and reads nothing until told
/// to; then it reads the whole answer and checks every byte. Returns the body length it got.
fn slow_reader(addr: SocketAddr, go: mpsc::Receiver<()>) -> thread::JoinHandle<usize> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(32 * 1024).unwrap();
    sock.connect_timeout(&addr.into(), WAIT).unwrap();
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::spawn(move || {
        go.recv_timeout(Duration::from_secs(20))
            .expect("the go signal");
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut b).unwrap(), 1, "EOF in the head");
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        let mut got = 0;
        let mut buf = vec![0u8; 256 * 1024];
        while got < BIG {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "EOF after {got} body bytes");
            assert!(
                buf[..n] == pattern(got, n)[..],
                "body bytes differ at {got}"
            );
            got += n;
        }
        got
    })
}

/// An 8 MiB answer to a peer that does not read: `try_write_chunk` reports `WouldBlock` once
/// the send buffer is full (and the socket too: the connection then waits for writability),
/// never buffering without bound; once the peer reads, writing succeeds again and
/// `flush(timeout)` pushes the rest. Every byte arrives, in order.
#[test]
fn large_answer_to_a_slow_reader_flows_with_backpressure() {
    let mut cfg = Config::default();
    cfg.send_buffer = 256 * 1024;
    let (mut l, addr) = listener(cfg.clone());
    let (go, go_rx) = mpsc::channel();
    let reader = slow_reader(addr, go_rx);
    let mut server = accept(&mut l);
    let mut id = None;
    drive_until(&mut [&mut server], "the request", WAIT, |c| {
        id = id.or_else(|| incoming(c[0]));
        id.is_some()
    });
    let id = id.unwrap();
    let mut h = Headers::response(StatusCode::OK);
    h.append("content-length", BIG.to_string());
    server.stream(id).write_headers(&h, false).unwrap();

    let mut sent = 0;
    let mut max_buffered = 0;
    let mut blocked = false;
    // Write until the socket is full: WouldBlock even right after a flush attempt.
    for _ in 0..10_000 {
        match server
            .stream(id)
            .try_write_chunk(&pattern(sent, PIECE), false)
        {
            Ok(()) => sent += PIECE,
            Err(e) if e.is_would_block() => match server.try_flush() {
                Ok(()) => {}
                Err(e) if e.is_would_block() => {
                    blocked = true;
                    break;
                }
                Err(e) => panic!("{e:?}"),
            },
            Err(e) => panic!("{e:?}"),
        }
        max_buffered = max_buffered.max(server.buffered_output());
        assert!(sent < BIG, "8 MiB went out to a peer that reads nothing");
    }
    assert!(blocked, "the socket never filled up");
    assert!(
        max_buffered <= cfg.send_buffer + PIECE,
        "{max_buffered} bytes buffered with a send_buffer of {}",
        cfg.send_buffer
    );
    assert!(
        server.events().is_writable(),
        "blocked on a full socket, the connection must wait for writability"
    );
    go.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent < BIG {
        let n = PIECE.min(BIG - sent);
        let left = deadline.saturating_duration_since(Instant::now());
        server
            .stream(id)
            .write_chunk(&pattern(sent, n), sent + n == BIG, Some(left))
            .expect("room to write once the peer reads");
        sent += n;
        max_buffered = max_buffered.max(server.buffered_output());
    }
    server
        .flush(Some(Duration::from_secs(20)))
        .expect("flush the rest");
    assert_eq!(server.buffered_output(), 0);
    assert!(max_buffered <= cfg.send_buffer + PIECE);
    assert_eq!(reader.join().unwrap(), BIG);
}

/// A reactor blocked by `WouldBlock` learns that it may write again from the connection: the
/// stream comes back from `next_ready_stream` ("room to write") once the socket drains.
#[test]
fn next_ready_stream_reports_room_to_write() {
    let mut cfg = Config::default();
    cfg.send_buffer = 256 * 1024;
    let (mut l, addr) = listener(cfg);
    let (go, go_rx) = mpsc::channel();
    let reader = slow_reader(addr, go_rx);
    let mut server = accept(&mut l);
    let mut id = None;
    drive_until(&mut [&mut server], "the request", WAIT, |c| {
        id = id.or_else(|| incoming(c[0]));
        id.is_some()
    });
    let id = id.unwrap();
    while server.next_ready_stream().is_some() {}
    let mut h = Headers::response(StatusCode::OK);
    h.append("content-length", BIG.to_string());
    server.stream(id).write_headers(&h, false).unwrap();
    let mut sent = 0;
    loop {
        match server
            .stream(id)
            .try_write_chunk(&pattern(sent, PIECE), false)
        {
            Ok(()) => sent += PIECE,
            Err(e) if e.is_would_block() => match server.try_flush() {
                Ok(()) => {}
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("{e:?}"),
            },
            Err(e) => panic!("{e:?}"),
        }
        assert!(sent < BIG, "the socket never filled up");
    }
    go.send(()).unwrap();
    // The reactor: wait, step, write to the streams reported ready; nothing else.
    let deadline = Instant::now() + 2 * WAIT;
    let mut reports = 0;
    while sent < BIG {
        assert!(
            Instant::now() < deadline,
            "{sent} of {BIG} bytes sent, {reports} reports: the stream was never reported \
             ready to write again"
        );
        turn(&mut [&mut server], deadline);
        while let Some(r) = server.next_ready_stream() {
            assert_eq!(r, id);
            reports += 1;
            loop {
                let n = PIECE.min(BIG - sent);
                match server
                    .stream(id)
                    .try_write_chunk(&pattern(sent, n), sent + n == BIG)
                {
                    Ok(()) => sent += n,
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("{e:?}"),
                }
                if sent == BIG {
                    break;
                }
            }
        }
    }
    server.flush(Some(Duration::from_secs(20))).unwrap();
    assert_eq!(reader.join().unwrap(), BIG);
}

// ----------------------------------------------------------------------------------------------
// Receive backpressure
// ----------------------------------------------------------------------------------------------

/// A large request body the application does not read: the connection buffers at most
/// `recv_buffer` of it and stops reading (no longer waits for readability, and does not spin),
/// so the client's writes block; once the application reads, reading resumes.
#[test]
fn unread_request_body_stops_the_connection_reading() {
    const TOTAL: u64 = 256 * 1024 * 1024;
    let mut cfg = Config::default();
    cfg.recv_buffer = 64 * 1024;
    cfg.max_request_body = None;
    let recv_buffer = cfg.recv_buffer;
    let (_l, raw, mut server) = raw_pair(cfg);
    let written = Arc::new(AtomicUsize::new(0));
    let w = written.clone();
    let (ended_tx, ended) = mpsc::channel::<()>();
    let mut tx = raw.try_clone().unwrap();
    tx.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let writer = thread::spawn(move || {
        let _ended = ended_tx;
        let head = format!("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {TOTAL}\r\n\r\n");
        if tx.write_all(head.as_bytes()).is_err() {
            return;
        }
        let piece = vec![b'u'; 1024 * 1024];
        let mut sent = 0u64;
        while sent < TOTAL {
            match tx.write(&piece) {
                Ok(n) => {
                    sent += n as u64;
                    w.fetch_add(n, Ordering::SeqCst);
                }
                Err(_) => return,
            }
        }
    });
    let mut id = None;
    drive_until(&mut [&mut server], "the request head", WAIT, |c| {
        id = id.or_else(|| incoming(c[0]));
        id.is_some()
    });
    let id = id.unwrap();
    server.stream(id).try_get_headers().unwrap().unwrap();
    // The application reads nothing more. The connection must stop asking to read.
    let turns = drive_until(
        &mut [&mut server],
        "the connection to stop reading",
        WAIT,
        |c| !c[0].events().is_readable(),
    );
    // Many more turns change nothing: it neither reads nor spins.
    let before = written.load(Ordering::SeqCst);
    let t0 = Instant::now();
    let mut idle_turns = 0;
    while t0.elapsed() < Duration::from_millis(300) {
        idle_turns += 1;
        turn(&mut [&mut server], t0 + Duration::from_millis(300));
        assert!(!server.events().is_readable());
    }
    assert!(
        idle_turns < 50,
        "{idle_turns} turns in 300 ms while paused: the loop spins (timeout() {:?})",
        server
            .timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
    );
    assert!(!writer.is_finished(), "the whole body was taken in");
    let first = server.stream(id).try_get_next_chunk().unwrap().unwrap();
    assert!(
        first.len() <= recv_buffer,
        "{} body bytes buffered for the application with a recv_buffer of {recv_buffer}",
        first.len()
    );
    // Reading resumes once the application reads.
    let mut got = first.len();
    drive_until(&mut [&mut server], "reading to resume", WAIT, |c| {
        loop {
            match c[0].stream(id).try_get_next_chunk() {
                Ok(Some(d)) => got += d.len(),
                Ok(None) => panic!("the body ended early"),
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        got >= 4 * 1024 * 1024
    });
    assert!(written.load(Ordering::SeqCst) >= before);
    eprintln!("paused after {turns} turns, {got} bytes read after resuming");
    // Closing the server connection ends the writer (its writes fail).
    server.close();
    drop(raw);
    // The writer's end drops its sender.
    assert_eq!(
        ended.recv_timeout(Duration::from_secs(25)),
        Err(mpsc::RecvTimeoutError::Disconnected),
        "the writer hangs"
    );
    writer.join().unwrap();
}

// ----------------------------------------------------------------------------------------------
// Releasing resources
// ----------------------------------------------------------------------------------------------

/// What fd `fd` of this process refers to (`socket:[inode]`), if it is open.
fn fd_target(fd: i32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

/// `close()` releases the fd (checked by what the fd number refers to, which survives reuse
/// of the number by another thread), and the peer sees the connection end.
#[test]
fn close_releases_the_fd_and_the_peer_sees_eof() {
    let (_l, mut client, mut server) = pair(Config::default());
    let mut app = App::default();
    let id = send_get(&mut client, "/", "x");
    exchange(&mut client, &mut server, &mut app, id);
    let fd = client.pollfd();
    let target = fd_target(fd).expect("the client's fd is open");
    assert!(
        target.to_string_lossy().starts_with("socket:"),
        "{target:?}"
    );
    client.close();
    assert_ne!(fd_target(fd), Some(target), "close() left the socket open");
    drive_until(
        &mut [&mut server],
        "the server to see the close",
        WAIT,
        |c| c[0].is_closed(),
    );
    assert_eq!(server.pollfd(), -1);
    assert_eq!(server.events(), pollhttp::PollEvents::NONE);
    assert_eq!(server.timeout(), None);
    assert!(server.error().is_none(), "{:?}", server.error());
}

/// A connection closed by its peer releases its fd too, without `close()`.
#[test]
fn a_connection_closed_by_the_peer_releases_its_fd() {
    let (_l, raw, mut server) = raw_pair(Config::default());
    let fd = server.pollfd();
    let target = fd_target(fd).unwrap();
    drop(raw);
    drive_until(&mut [&mut server], "the close", WAIT, |c| c[0].is_closed());
    assert_eq!(server.pollfd(), -1);
    assert_ne!(
        fd_target(fd),
        Some(target),
        "the closed connection kept its socket"
    );
}

/// `Listener::close` stops accepting: it asks for nothing and yields nothing, even with a
/// client waiting in the backlog.
#[test]
fn listener_close_stops_accepting() {
    let (mut l, addr) = listener(Config::default());
    let _waiting = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    l.close();
    assert_eq!(l.events(), pollhttp::PollEvents::NONE);
    let e = l
        .try_accept()
        .expect_err("a closed listener accepts nothing");
    assert_eq!(e.kind(), ErrorKind::Closed, "{e:?}");
    assert!(l.accept_timeout(Some(Duration::from_millis(50))).is_err());
}

/// After `Listener::close`, new connections are refused rather than left hanging in a backlog
/// nobody will accept from (clients fail fast and retry elsewhere while the server drains).
#[test]
fn listener_close_refuses_new_connections() {
    let (mut l, addr) = listener(Config::default());
    l.close();
    let r = TcpStream::connect_timeout(&addr, WAIT);
    assert!(
        r.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused),
        "connect after Listener::close: {r:?}"
    );
}

#[test]
fn wants_step_now_holds_exactly_while_timeout_says_now() {
    let (_l, mut raw, mut server) = raw_pair(Config::default());
    server.set_auto_flush(false);
    let agree = |c: &Connection| {
        let now = Instant::now();
        let due = c.timeout().is_some_and(|t| t <= now);
        assert_eq!(c.wants_step_now(), due, "wants_step_now against timeout()");
        due
    };
    raw.write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut ids = Vec::new();
    drive_until(&mut [&mut server], "two requests", WAIT, |c| {
        ids.extend(std::iter::from_fn(|| incoming(c[0])));
        ids.len() == 2
    });
    agree(&server);
    let mut h = Headers::response(StatusCode::OK);
    h.append("content-length", "2");
    for id in ids {
        // A head buffered and not yet tried: a step is due at once.
        server.stream(id).write_headers(&h, false).unwrap();
        assert!(server.wants_step_now(), "output not yet tried");
        assert!(agree(&server));
        server.stream(id).try_write_chunk(b"ok", true).unwrap();
        agree(&server);
    }
    server.try_flush().unwrap();
    let _ = server.step();
    // Answered and written, idle: only the keep-alive deadline is ahead.
    assert!(!server.wants_step_now(), "idle, everything written");
    assert!(!agree(&server));
    assert!(server.timeout().is_some(), "the keep-alive deadline");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while got.windows(4).filter(|w| w == b"\r\nok").count() < 2 {
        let n = raw.read(&mut buf).unwrap();
        assert!(n > 0, "two answers: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
}

// ----------------------------------------------------------------------------------------------
// Stream ids
// ----------------------------------------------------------------------------------------------

/// A public stream id that does not fit HTTP/2's 31 bits names no stream: on both sides of
/// an HTTP/2 connection every call with `1 << 32 | 1` is refused as invalid input, and stream
/// 1 (which a truncating conversion would have hit) carries on untouched.
#[test]
fn an_http2_stream_id_beyond_31_bits_is_refused_and_stream_1_is_untouched() {
    let (mut l, addr) = listener(Config::default());
    let mut client = Connection::client(
        Target::Addr(addr),
        ClientOptions {
            version: http::Version::HTTP_2,
            http2_prior_knowledge: true,
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let mut server = accept(&mut l);
    let id = client.new_stream().unwrap();
    assert_eq!(id, StreamId::new(1));
    let mut head = Headers::request(Method::POST, "/up", Some("x"));
    head.append("content-length", "2");
    client.stream(id).write_headers(&head, false).unwrap();
    let mut sid = None;
    drive_until(&mut [&mut client, &mut server], "the request", WAIT, |c| {
        sid = sid.or_else(|| incoming(c[1]));
        sid.is_some()
    });
    let sid = sid.unwrap();
    assert_eq!(sid.get(), 1);
    let big = StreamId::new(1 << 32 | 1);
    let invalid = |r: pollhttp::Result<()>| {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    };
    for conn in [&mut client, &mut server] {
        let mut s = conn.stream(big);
        assert_eq!(s.state(), StreamState::Closed);
        invalid(s.try_write_chunk(b"x", false).map(drop));
        invalid(s.write_headers(&Headers::response(StatusCode::OK), true));
        invalid(s.try_get_headers().map(drop));
        invalid(s.reset());
    }
    client.stream(id).try_write_chunk(b"ok", true).unwrap();
    let mut got = Vec::new();
    let mut head = None;
    drive_until(&mut [&mut client, &mut server], "the body", WAIT, |c| {
        let mut s = c[1].stream(sid);
        if head.is_none() {
            head = s.try_get_headers().ok().flatten();
        }
        loop {
            match s.try_get_next_chunk() {
                Ok(Some(d)) => got.extend_from_slice(&d),
                Ok(None) => return true,
                Err(e) if e.is_would_block() => return false,
                Err(e) => panic!("{e}"),
            }
        }
    });
    assert_eq!(head.unwrap().path(), Some("/up"));
    assert_eq!(got, b"ok");
}

// ----------------------------------------------------------------------------------------------
// The re-exported crates
// ----------------------------------------------------------------------------------------------

/// `pollhttp::mio` is the mio whose `event::Source` the listener and the connections
/// implement: a program registers them with it and is woken by it, with no `mio` of its own;
/// `pollhttp::http` is the `http` whose types the heads use.
#[test]
fn the_reexported_mio_and_http_are_the_ones_pollhttp_uses() {
    use pollhttp::mio::{Events, Interest, Poll, Token};
    let (mut l, addr) = listener(Config::default());
    let mut client = Connection::client(Target::Addr(addr), ClientOptions::default()).unwrap();
    let mut server = accept(&mut l);
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut l, Token(0), Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut server, Token(1), Interest::READABLE)
        .unwrap();
    send_get(&mut client, "/mio", "x");
    let mut events = Events::with_capacity(8);
    let deadline = Instant::now() + WAIT;
    let mut woke = false;
    while !woke && Instant::now() < deadline {
        client.step().unwrap();
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        woke = events.iter().any(|e| e.token() == Token(1));
    }
    assert!(
        woke,
        "the server connection's readiness came through pollhttp::mio"
    );
    server.step().unwrap();
    let sid = incoming(&mut server).expect("the request");
    let head = server.stream(sid).try_get_headers().unwrap().unwrap();
    let method: pollhttp::http::Method = head.method().unwrap();
    assert_eq!(method, pollhttp::http::Method::GET);
}

// ----------------------------------------------------------------------------------------------
// The non-blocking convention: Ok(Some) ready, Ok(None) ended, WouldBlock not yet
// ----------------------------------------------------------------------------------------------

/// A listener, and our client of `version` (HTTP/2 by prior knowledge) connected to our server
/// through it.
fn pair_of(version: http::Version) -> (Listener, Connection, Connection) {
    let (mut l, addr) = listener(Config::default());
    let opts = ClientOptions {
        version,
        http2_prior_knowledge: version == http::Version::HTTP_2,
        ..ClientOptions::default()
    };
    let mut client = Connection::client(Target::Addr(addr), opts).unwrap();
    let mut server = accept(&mut l);
    drive_until(&mut [&mut client, &mut server], "connect", WAIT, |c| {
        c[0].is_connected()
    });
    (l, client, server)
}

const VERSIONS: [http::Version; 2] = [http::Version::HTTP_11, http::Version::HTTP_2];

/// `try_next_incoming_stream` is "not yet" (`WouldBlock`) while the connection may still start
/// streams, and `Ok(None)` as soon as it will start no more: here, once the server shut down
/// (no step needed), and on every call after.
#[test]
fn incoming_streams_are_not_yet_until_a_request_and_end_at_shutdown() {
    for v in VERSIONS {
        let (_l, mut client, mut server) = pair_of(v);
        let e = server
            .try_next_incoming_stream()
            .expect_err("no request yet");
        assert!(e.is_would_block(), "{v:?}: {e:?}");
        let id = send_get(&mut client, "/", "x");
        let mut sid = None;
        drive_until(&mut [&mut client, &mut server], "the request", WAIT, |c| {
            sid = sid.or_else(|| incoming(c[1]));
            sid.is_some()
        });
        let e = server.try_next_incoming_stream().expect_err("one request");
        assert!(e.is_would_block(), "{v:?}: {e:?}");
        server.shutdown();
        assert_eq!(server.try_next_incoming_stream().unwrap(), None, "{v:?}");
        // The request in flight is still answered; no more streams are started.
        let mut app = App::default();
        app.reqs.push((sid.unwrap(), None, Vec::new()));
        let mut res = Response::default();
        drive_until(&mut [&mut client, &mut server], "the answer", WAIT, |c| {
            app.run(c[1]);
            assert_eq!(c[1].try_next_incoming_stream().unwrap(), None, "{v:?}");
            res.take(c[0], id)
        });
        assert_eq!(res.body, b"/\n", "{v:?}");
        drive_until(&mut [&mut client, &mut server], "the close", WAIT, |c| {
            c[0].is_closed() && c[1].is_closed()
        });
        for c in [&mut server, &mut client] {
            assert_eq!(c.try_next_incoming_stream().unwrap(), None, "{v:?} closed");
            assert_eq!(c.get_next_incoming_stream(Some(WAIT)).unwrap(), None);
        }
    }
}

/// The peer going away ends the incoming streams while the connection lives on: an HTTP/2
/// client's GOAWAY (its `shutdown()`), an HTTP/1.1 request with `Connection: close`. The
/// request in flight is answered after that.
#[test]
fn incoming_streams_end_when_the_peer_is_going_away() {
    for v in VERSIONS {
        let (_l, mut client, mut server) = pair_of(v);
        let id = client.new_stream().unwrap();
        let mut head = Headers::request(Method::GET, "/bye", Some("x"));
        if v == http::Version::HTTP_11 {
            head.append("connection", "close");
        }
        client.stream(id).write_headers(&head, true).unwrap();
        if v == http::Version::HTTP_2 {
            client.shutdown();
        }
        let mut sid = None;
        drive_until(
            &mut [&mut client, &mut server],
            "no more streams",
            WAIT,
            |c| loop {
                match c[1].try_next_incoming_stream() {
                    Ok(Some(id)) => sid = Some(id),
                    Ok(None) => return true,
                    Err(e) if e.is_would_block() => return false,
                    Err(e) => panic!("{v:?}: {e:?}"),
                }
            },
        );
        assert!(!server.is_closed(), "{v:?}: the answer is still owed");
        let mut app = App::default();
        app.reqs.push((sid.expect("the request"), None, Vec::new()));
        let mut res = Response::default();
        drive_until(&mut [&mut client, &mut server], "the answer", WAIT, |c| {
            app.run(c[1]);
            res.take(c[0], id)
        });
        assert_eq!(res.body, b"/bye\n", "{v:?}");
    }
}

/// An HTTP/1.1 server connection whose client closed has no more incoming streams; a client
/// without push has none from the start (HTTP/1.1 and HTTP/2 alike).
#[test]
fn incoming_streams_end_with_the_peers_close_and_never_start_for_a_client() {
    for v in VERSIONS {
        let (_l, mut client, mut server) = pair_of(v);
        assert_eq!(client.try_next_incoming_stream().unwrap(), None, "{v:?}");
        assert!(server
            .try_next_incoming_stream()
            .unwrap_err()
            .is_would_block());
        client.close();
        drive_until(&mut [&mut server], "the end", WAIT, |c| {
            match c[0].try_next_incoming_stream() {
                Ok(None) => true,
                Err(e) if e.is_would_block() => false,
                other => panic!("{v:?}: {other:?}"),
            }
        });
        drive_until(&mut [&mut server], "the close", WAIT, |c| c[0].is_closed());
        assert_eq!(server.try_next_incoming_stream().unwrap(), None, "{v:?}");
    }
}

/// Reads from `s` until `n` bytes have come (or the peer closes); returns how many came.
fn read_n(mut s: TcpStream, n: usize) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < n {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        got
    })
}

/// `try_flush` is "not yet" (`WouldBlock`) while output is left, and `Ok(())` once the peer took
/// it all; server and client alike (HTTP/1.1 over raw peers that read only when told to).
#[test]
fn try_flush_is_not_yet_while_output_is_left_then_ok() {
    const LEN: usize = 16 << 20;
    let body = vec![b'x'; LEN];
    // Server: an answer larger than the sockets hold.
    let (_l, mut raw, mut server) = raw_pair(Config::default());
    raw.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut id = None;
    drive_until(&mut [&mut server], "the request", WAIT, |c| {
        id = id.or_else(|| incoming(c[0]));
        id.is_some()
    });
    let mut h = Headers::response(StatusCode::OK);
    h.append("content-length", LEN.to_string());
    let mut s = server.stream(id.unwrap());
    s.write_headers(&h, false).unwrap();
    s.try_write_chunk(&body, true).unwrap();
    let e = server.try_flush().expect_err("more than the sockets hold");
    assert!(e.is_would_block(), "{e:?}");
    assert!(server.events().is_writable());
    let reader = read_n(raw.try_clone().unwrap(), LEN);
    drive_until(&mut [&mut server], "the flush", WAIT, |c| {
        match c[0].try_flush() {
            Ok(()) => true,
            Err(e) if e.is_would_block() => false,
            Err(e) => panic!("{e:?}"),
        }
    });
    assert_eq!(server.buffered_output(), 0);
    assert!(reader.join().unwrap() >= LEN);

    // Client: a request body larger than the sockets hold, to a server that reads later.
    let raw_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = raw_l.local_addr().unwrap();
    let mut client = Connection::client(Target::Addr(addr), ClientOptions::default()).unwrap();
    let (peer, _) = raw_l.accept().unwrap();
    drive_until(&mut [&mut client], "connect", WAIT, |c| c[0].is_connected());
    let id = client.new_stream().unwrap();
    let mut h = Headers::request(Method::POST, "/up", Some("x"));
    h.append("content-length", LEN.to_string());
    client.set_auto_flush(false);
    let mut s = client.stream(id);
    s.write_headers(&h, false).unwrap();
    s.try_write_chunk(&body, true).unwrap();
    let e = client.try_flush().expect_err("more than the sockets hold");
    assert!(e.is_would_block(), "{e:?}");
    let reader = read_n(peer, LEN);
    drive_until(&mut [&mut client], "the flush", WAIT, |c| {
        match c[0].try_flush() {
            Ok(()) => true,
            Err(e) if e.is_would_block() => false,
            Err(e) => panic!("{e:?}"),
        }
    });
    assert_eq!(client.buffered_output(), 0);
    assert!(reader.join().unwrap() >= LEN);
}

/// Reads stream `id` of `c[i]` with `try_get_body_into` until it says the end, stepping the
/// connections while it says "not yet"; checks the convention on the way (every `Some` has
/// bytes, `None` comes once, after the last bytes, and again on every later call).
fn body_into(c: &mut [&mut Connection], i: usize, id: StreamId, buf: &mut Vec<u8>) {
    drive_until(c, "the end of the body", WAIT, |c| {
        loop {
            let before = buf.len();
            match c[i].stream(id).try_get_body_into(buf) {
                Ok(Some(n)) => assert!(n > 0 && buf.len() == before + n, "{n}"),
                Ok(None) => break,
                Err(e) if e.is_would_block() => return false,
                Err(e) => panic!("{e:?}"),
            }
        }
        for _ in 0..2 {
            assert_eq!(
                c[i].stream(id).try_get_body_into(buf).unwrap(),
                None,
                "again"
            );
        }
        true
    });
}

/// `try_get_body_into`, both roles, HTTP/1.1 and HTTP/2: "not yet" before the body comes,
/// `Ok(Some(n))` for what came, `Ok(None)` on the call after the last bytes, and again after
/// the stream is gone.
#[test]
fn try_get_body_into_gives_some_until_the_end_then_none() {
    for v in VERSIONS {
        let (_l, mut client, mut server) = pair_of(v);
        let id = client.new_stream().unwrap();
        let mut head = Headers::request(Method::POST, "/up", Some("x"));
        head.append("content-length", "10");
        client.stream(id).write_headers(&head, false).unwrap();
        let mut sid = None;
        drive_until(
            &mut [&mut client, &mut server],
            "the request head",
            WAIT,
            |c| {
                sid = sid.or_else(|| incoming(c[1]));
                sid.is_some()
            },
        );
        let sid = sid.unwrap();
        server.stream(sid).try_get_headers().unwrap().unwrap();
        let mut got = Vec::new();
        let e = server.stream(sid).try_get_body_into(&mut got).unwrap_err();
        assert!(e.is_would_block(), "{v:?}: {e:?}");
        client.stream(id).try_write_chunk(b"01234", false).unwrap();
        drive_until(
            &mut [&mut client, &mut server],
            "the first half",
            WAIT,
            |c| match c[1].stream(sid).try_get_body_into(&mut got) {
                Ok(Some(_)) => got.len() == 5,
                Err(e) if e.is_would_block() => false,
                other => panic!("{v:?}: {other:?}"),
            },
        );
        let e = server.stream(sid).try_get_body_into(&mut got).unwrap_err();
        assert!(e.is_would_block(), "{v:?}: the body goes on: {e:?}");
        client.stream(id).try_write_chunk(b"56789", true).unwrap();
        body_into(&mut [&mut client, &mut server], 1, sid, &mut got);
        assert_eq!(got, b"0123456789", "{v:?}");
        let mut h = Headers::response(StatusCode::OK);
        h.append("content-length", "6");
        server.stream(sid).write_headers(&h, false).unwrap();
        server.stream(sid).try_write_chunk(b"answer", true).unwrap();
        let mut answer = Vec::new();
        drive_until(
            &mut [&mut client, &mut server],
            "the answer head",
            WAIT,
            |c| match c[0].stream(id).try_get_headers() {
                Ok(h) => h.is_some(),
                Err(e) if e.is_would_block() => false,
                Err(e) => panic!("{v:?}: {e:?}"),
            },
        );
        body_into(&mut [&mut client, &mut server], 0, id, &mut answer);
        assert_eq!(answer, b"answer", "{v:?}");
        assert_eq!(client.stream(id).state(), StreamState::Closed);
    }
}

/// `try_accept` is "not yet" (`WouldBlock`) while no client waits, gives each waiting client's
/// connection, then says "not yet" again; once the listener is closed it fails with `Closed`.
#[test]
fn try_accept_is_not_yet_until_a_client_waits() {
    let (mut l, addr) = listener(Config::default());
    let e = l.try_accept().expect_err("no client yet");
    assert!(e.is_would_block(), "{e:?}");
    let _a = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    let _b = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    let mut got = Vec::new();
    common::drive::until(
        &mut l,
        "two clients",
        WAIT,
        |l| {
            loop {
                match l.try_accept() {
                    Ok(c) => got.push(c),
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("{e:?}"),
                }
            }
            got.len() == 2
        },
        |l, until| {
            common::drive::wait(&[common::drive::Readable(l.pollfd())], until);
        },
    );
    assert!(l.try_accept().unwrap_err().is_would_block());
    l.close();
    assert_eq!(l.try_accept().unwrap_err().kind(), ErrorKind::Closed);
}
