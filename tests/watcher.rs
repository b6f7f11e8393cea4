//! The watcher (`Connection::set_watcher`): told whenever a connection's fd, events or deadline
//! change, whatever call changed them, and only then.
//!
//! - a write on server connection B made while the program handles connection A tells B's
//!   watcher that a step is due now (and tells A's nothing);
//! - a client's fd changes while it connects (the resolver's pipe, then the socket): each
//!   change is told with the old fd, still open during the call;
//! - steps of idle connections, and calls that change nothing, tell nothing; a call that says
//!   "not yet" tells nothing, but the first read of a body that expects 100-continue, which
//!   says "not yet" too, still sends the 100 Continue it queued;
//! - six downloads of 10 MB through `examples/watch_proxy.rs`, a reverse proxy on one
//!   edge-triggered epoll loop fed only by its watchers (every fd registered once, a ready
//!   list, a timer heap, no scan of the connections), arrive byte for byte, with HTTP/1.1 and
//!   HTTP/2 in front and behind, two of them read late (the proxy's writes to them are
//!   refused until they read).

mod common;

#[path = "../examples/watch_proxy.rs"]
#[allow(dead_code)]
mod watch_proxy;

use common::drive::{self, drive_one};
use common::*;
use pollhttp::{
    ClientOptions, Config, Connection, Headers, Listener, Method, PollEvents, StatusCode, StreamId,
    Target, Watch,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::RawFd;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const T: Option<Duration> = Some(Duration::from_secs(30));
const LIMIT: Duration = Duration::from_secs(30);

/// A watcher that records every call, and the calls.
fn recorder() -> (Arc<Mutex<Vec<Watch>>>, pollhttp::Watcher) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (seen, Box::new(move |w: &Watch| s.lock().unwrap().push(*w)))
}

fn taken(seen: &Mutex<Vec<Watch>>) -> Vec<Watch> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// A listener on a free loopback port.
fn listen() -> (Listener, SocketAddr) {
    let addr = localhost(free_port());
    let l = Listener::bind(addr, Arc::new(Config::default())).expect("bind");
    (l, addr)
}

/// The next server connection on `l` (a client connected already).
fn accept(l: &mut Listener) -> Connection {
    l.accept_timeout(T).expect("accept")
}

/// Steps `conn` (waiting on its fd) until a request came in; its stream.
fn next_request(conn: &mut Connection) -> StreamId {
    let mut id = None;
    drive_one(conn, "a request", LIMIT, |c| {
        id = id.or_else(|| drive::incoming(c));
        id.is_some()
    });
    let id = id.unwrap();
    let head = conn.stream(id).try_get_headers().unwrap().unwrap();
    assert_eq!(head.method(), Some(Method::GET));
    id
}

#[test]
fn a_write_on_b_made_while_handling_a_tells_bs_watcher_a_step_is_due_now() {
    let (mut l, addr) = listen();
    let mut client_a = TcpStream::connect(addr).unwrap();
    let mut a = accept(&mut l);
    let mut client_b = TcpStream::connect(addr).unwrap();
    let mut b = accept(&mut l);
    let (seen_a, wa) = recorder();
    let (seen_b, wb) = recorder();
    assert!(a.set_watcher(Some(wa)).is_none());
    assert!(b.set_watcher(Some(wb)).is_none());
    // The first call tells everything, old_fd -1.
    for (seen, conn) in [(&seen_a, &a), (&seen_b, &b)] {
        let first = taken(seen);
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(first[0].fd, conn.pollfd());
        assert_eq!(first[0].old_fd, -1);
        assert_eq!(first[0].events, PollEvents::READABLE);
        assert_eq!(first[0].deadline, conn.timeout());
    }

    // B's request is in; the program keeps its stream, to answer later.
    client_b
        .write_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let sb = next_request(&mut b);
    taken(&seen_b);

    // The program handles A: a request came; while at it, it answers B's.
    client_a
        .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let sa = next_request(&mut a);
    taken(&seen_a);
    let mut head = Headers::response(StatusCode::OK);
    head.append("content-length", "5");
    b.stream(sb).write_headers(&head, false).unwrap();
    let told = taken(&seen_b);
    assert_eq!(told.len(), 1, "one call for the write on B: {told:?}");
    let w = told[0];
    assert!(w.is_due(Instant::now()), "a step of B is due now: {w:?}");
    assert_eq!((w.fd, w.old_fd), (b.pollfd(), b.pollfd()));
    assert!(w.events.is_writable(), "B has output to write: {w:?}");
    assert!(b.wants_step_now());
    // A second write while B waits on the ready list changes nothing the loop must know.
    b.stream(sb).try_write_chunk(b"hel", false).unwrap();
    assert_eq!(taken(&seen_b), Vec::new(), "still due now, already told");
    assert_eq!(taken(&seen_a), Vec::new(), "A's watcher hears nothing of B");

    // The loop steps B from its ready list: the output goes out, no step is due any more.
    b.step().unwrap();
    let told = taken(&seen_b);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(!told[0].is_due(Instant::now()), "{:?}", told[0]);
    assert!(!told[0].events.is_writable(), "{:?}", told[0]);
    // The end of the body goes out at once (a message that ends is written).
    b.stream(sb).try_write_chunk(b"lo", true).unwrap();
    a.stream(sa).write_headers(&head, false).unwrap();
    a.stream(sa).try_write_chunk(b"hello", true).unwrap();
    for (c, conn) in [(&mut client_a, &mut a), (&mut client_b, &mut b)] {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        c.set_read_timeout(T).unwrap();
        while !got.ends_with(b"hello") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "the answer: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
            let _ = conn.step();
        }
        assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}

/// What an open fd refers to: fstat's device and inode.
type FileId = (u64, u64);

/// Each watcher call: what was told, and what `old_fd` referred to at that moment.
type Log = Arc<Mutex<Vec<(Watch, Option<FileId>)>>>;

/// fstat's (device, inode) of `fd`, if it is open.
fn identity(fd: RawFd) -> Option<FileId> {
    // SAFETY: fstat writes into a zeroed stat it is given; any fd number is allowed.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then_some((st.st_dev, st.st_ino))
    }
}

#[test]
fn a_clients_fd_change_while_connecting_is_told_with_the_old_fd_still_open() {
    let (mut l, addr) = listen();
    let opts = ClientOptions::default();
    // A host name: resolved on a thread whose wake-up pipe is the first fd, then the socket
    // of each address ("localhost" may be ::1 first, where nothing listens).
    let mut c = Connection::client(Target::Host("localhost".into(), addr.port()), opts).unwrap();
    let pipe = c.pollfd();
    // Each call: what was told, and what the old fd was at that moment.
    let seen: Log = Arc::default();
    let s = seen.clone();
    c.set_watcher(Some(Box::new(move |w: &Watch| {
        s.lock().unwrap().push((*w, identity(w.old_fd)));
    })));
    let mut server = None;
    drive_one(&mut c, "connected", LIMIT, |c| {
        if server.is_none() {
            server = l.try_accept().ok();
        }
        c.is_connected()
    });
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let sock = c.pollfd();
    assert_ne!(pipe, sock);
    assert_eq!(seen[0].0.fd, pipe, "{seen:?}");
    assert_eq!(seen[0].0.old_fd, -1);
    assert_eq!(
        seen[0].0.events,
        PollEvents::READABLE,
        "waiting for the resolver"
    );
    // The fd changes form a chain from the pipe to the socket, each old fd open when told.
    let changes: Vec<&(Watch, Option<FileId>)> =
        seen.iter().filter(|(w, _)| w.fd_changed()).collect();
    assert!(changes.len() >= 2, "{seen:?}");
    for pair in changes.windows(2) {
        assert_eq!(pair[1].0.old_fd, pair[0].0.fd, "{seen:?}");
        assert!(pair[1].1.is_some(), "the old fd was open: {seen:?}");
    }
    assert_eq!(changes.last().unwrap().0.fd, sock);
    let last = seen.last().unwrap().0;
    assert_eq!(last.fd, sock);
    assert_eq!(last.deadline, c.timeout());
    assert_eq!(last.events, c.events());
}

#[test]
fn idle_connections_and_calls_that_change_nothing_tell_nothing() {
    let (mut l, addr) = listen();
    let mut client = Connection::client(Target::Addr(addr), ClientOptions::default()).unwrap();
    let (seen_c, wc) = recorder();
    client.set_watcher(Some(wc));
    let mut server = None;
    drive_one(&mut client, "connected", LIMIT, |c| {
        server = server.take().or_else(|| l.try_accept().ok());
        c.is_connected() && server.is_some()
    });
    let mut server = server.unwrap();
    let (seen_s, ws) = recorder();
    server.set_watcher(Some(ws));
    // One exchange, then both are idle.
    let id = drive::send_get(&mut client, "/", &addr.to_string());
    let sid = next_request(&mut server);
    server
        .stream(sid)
        .write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    drive::response(&mut client, id, T);
    drive_until_quiet(&mut [&mut client, &mut server]);
    let (c0, s0) = (taken(&seen_c).len(), taken(&seen_s).len());
    assert!(c0 > 0 && s0 > 0, "the exchange was told");
    for _ in 0..50 {
        for conn in [&mut client, &mut server] {
            conn.step().unwrap();
            assert!(conn.next_ready_stream().is_none());
            assert!(!matches!(conn.try_next_incoming_stream(), Ok(Some(_))));
        }
    }
    assert_eq!(taken(&seen_c), Vec::new(), "idle client steps");
    assert_eq!(taken(&seen_s), Vec::new(), "idle server steps");
    // Replacing the watcher tells the new one everything; removing it tells nothing.
    let (seen2, w2) = recorder();
    assert!(client.set_watcher(Some(w2)).is_some());
    let first = taken(&seen2);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].old_fd, -1);
    assert_eq!(first[0].fd, client.pollfd());
    assert!(client.set_watcher(None).is_some());
    client.shutdown();
    assert_eq!(taken(&seen2), Vec::new());
    // close() tells the end: fd -1, no deadline, the old fd.
    let fd = server.pollfd();
    server.close();
    let end = taken(&seen_s);
    assert_eq!(end.len(), 1, "{end:?}");
    assert_eq!((end[0].fd, end[0].old_fd, end[0].deadline), (-1, fd, None));
}

#[test]
fn a_not_yet_tells_nothing_but_the_100_continue_it_queued_goes_out() {
    let (mut l, addr) = listen();
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(T).unwrap();
    client
        .write_all(
            b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
    let mut server = accept(&mut l);
    let (seen, w) = recorder();
    server.set_watcher(Some(w));
    let mut id = None;
    drive_one(&mut server, "a request", LIMIT, |c| {
        id = id.or_else(|| drive::incoming(c));
        id.is_some()
    });
    let id = id.unwrap();
    assert!(server.stream(id).try_get_headers().unwrap().is_some());
    drive_until_quiet(&mut [&mut server]);
    while server.next_ready_stream().is_some() {}
    taken(&seen);
    // Nothing to take: "not yet" from the queues and the trailers, and nothing told.
    assert!(server.next_ready_stream().is_none());
    let e = server.try_next_incoming_stream().unwrap_err();
    assert!(e.is_would_block(), "{e}");
    let e = server.stream(id).try_get_trailers().unwrap_err();
    assert!(e.is_would_block(), "{e}");
    assert_eq!(taken(&seen), Vec::new());
    // The first body read answers 100 Continue and says "not yet": the answer goes out
    // without another step (what the call queued is written by the call).
    let e = server.stream(id).try_get_next_chunk().unwrap_err();
    assert!(e.is_would_block(), "{e}");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client
            .read(&mut buf)
            .expect("the 100 Continue, without a step");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        got.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // The body, and the answer.
    client.write_all(b"hello").unwrap();
    let mut body = Vec::new();
    drive_one(&mut server, "the body", LIMIT, |c| {
        while let Ok(Some(chunk)) = c.stream(id).try_get_next_chunk() {
            body.extend_from_slice(&chunk);
        }
        body.len() == 5
    });
    assert_eq!(body, b"hello");
}

/// Steps the connections until no step is due now (their output is out, the idle handlers
/// and deadlines are set), waiting on their fds between turns.
fn drive_until_quiet(conns: &mut [&mut Connection]) {
    drive::drive_until(conns, "quiet", LIMIT, |cs| {
        cs.iter()
            .all(|c| !c.wants_step_now() && !c.events().is_writable())
    });
}

// ---- Six downloads of 10 MB through the watcher-driven proxy -----------------------------------

const DOWNLOADS: usize = 6;
const SIZE: usize = 10 << 20;

/// The body of download `n`: different for each, so that a mix-up shows.
fn body(n: usize) -> Vec<u8> {
    (0..SIZE)
        .map(|i| ((i * 31 + n * 7 + i / 4093) % 251) as u8)
        .collect()
}

/// The upstream: a thread per connection, answering `/N` with download N's body.
fn origin(bodies: Arc<Vec<Vec<u8>>>) -> SocketAddr {
    let (mut l, addr) = listen();
    thread::spawn(move || loop {
        let Ok(mut conn) = l.accept_timeout(Some(Duration::from_secs(120))) else {
            return;
        };
        let bodies = bodies.clone();
        thread::spawn(move || {
            while let Ok(Some(id)) = conn.get_next_incoming_stream(T) {
                let mut s = conn.stream(id);
                let Ok(Some(head)) = s.get_headers(T) else {
                    return;
                };
                let n: usize = head.path().unwrap()[1..].parse().unwrap();
                let mut answer = Headers::response(StatusCode::OK);
                answer.append("content-length", bodies[n].len().to_string());
                answer.append("content-type", "application/octet-stream");
                if s.write_headers(&answer, false).is_err()
                    || s.write_body_from_bytes(&bodies[n], T).is_err()
                {
                    return;
                }
            }
        });
    });
    addr
}

/// Downloads finished, counted for the late readers to wait on.
type Finished = Arc<(Mutex<usize>, Condvar)>;

/// Downloads `/n` through `proxy`. A late reader (`late`) takes the head, then waits until the
/// other downloads are over before it reads the body: meanwhile the proxy's writes to its
/// stream fill what the connection takes (an HTTP/2 stream's window, the send buffer) and are
/// refused, and the proxy reads its upstream no more until the watcher of the client's
/// connection says there is room.
fn download(
    proxy: SocketAddr,
    n: usize,
    h2: bool,
    late: Option<(Finished, usize)>,
) -> Result<Vec<u8>, String> {
    let opts = ClientOptions {
        version: if h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        },
        http2_prior_knowledge: h2,
        ..ClientOptions::default()
    };
    let e = |what: &str, e: pollhttp::Error| format!("download {n}: {what}: {e}");
    let mut c = Connection::open(Target::Addr(proxy), opts, T).map_err(|x| e("connect", x))?;
    let id = c.new_stream().map_err(|x| e("stream", x))?;
    let req = Headers::request(Method::GET, &format!("/{n}"), None);
    let mut s = c.stream(id);
    s.write_headers(&req, true).map_err(|x| e("request", x))?;
    let head = s
        .get_headers(T)
        .map_err(|x| e("head", x))?
        .ok_or("no head")?;
    if head.status() != Some(StatusCode::OK) {
        return Err(format!("download {n}: {:?}", head.status()));
    }
    if let Some((finished, others)) = &late {
        let (count, changed) = &**finished;
        let count = count.lock().unwrap();
        let (count, waited) = changed
            .wait_timeout_while(count, Duration::from_secs(120), |c| *c < *others)
            .unwrap();
        if waited.timed_out() {
            return Err(format!("download {n}: only {count} others finished"));
        }
    }
    let mut got = Vec::with_capacity(SIZE);
    while let Some(d) = s
        .get_next_chunk(T)
        .map_err(|x| e(&format!("body after {} bytes", got.len()), x))?
    {
        got.extend_from_slice(&d);
    }
    Ok(got)
}

fn downloads_through_the_proxy(upstream_h2: bool) {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..DOWNLOADS).map(body).collect());
    let upstream = origin(bodies.clone());
    let (l, proxy_addr) = listen();
    let mut proxy = watch_proxy::Proxy::new(l, upstream, upstream_h2).unwrap();
    let stopper = proxy.stopper();
    let running = thread::spawn(move || proxy.run());
    let (tx, rx) = mpsc::channel();
    let finished: Finished = Arc::default();
    const LATE: usize = 2;
    for n in 0..DOWNLOADS {
        let tx = tx.clone();
        let finished = finished.clone();
        // Half over HTTP/2 in front; two late readers (one of each version).
        let h2 = n % 2 == 1;
        let late = (n < LATE).then(|| (finished.clone(), DOWNLOADS - LATE));
        thread::spawn(move || {
            let r = download(proxy_addr, n, h2, late);
            if n >= LATE {
                *finished.0.lock().unwrap() += 1;
                finished.1.notify_all();
            }
            tx.send((n, r)).unwrap()
        });
    }
    let end = Instant::now() + Duration::from_secs(240);
    for _ in 0..DOWNLOADS {
        let left = end.saturating_duration_since(Instant::now());
        let (n, got) = rx.recv_timeout(left).expect("a download in time");
        let got = got.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.len(), SIZE, "download {n}");
        assert_same_bytes(&got, &bodies[n], &format!("download {n}"));
    }
    stopper.stop();
    let stats = running.join().unwrap().expect("the proxy's loop");
    assert_eq!(stats.completed, DOWNLOADS as u64, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    // One fd per connection, each registered once and never re-armed.
    assert_eq!(stats.connections, 2 * DOWNLOADS as u64, "{stats:?}");
    assert_eq!(stats.adds, stats.connections, "{stats:?}");
    // The late readers' side filled up: chunks were refused and moved later, when the
    // watchers of their connections said there was room.
    assert!(stats.refused > 0, "{stats:?}");
    eprintln!("watch_proxy (upstream h2: {upstream_h2}): {stats:?}");
}

#[test]
fn six_downloads_of_10_mb_through_a_watcher_driven_edge_triggered_proxy() {
    downloads_through_the_proxy(false);
}

#[test]
fn six_downloads_of_10_mb_through_the_proxy_to_an_http2_upstream() {
    downloads_through_the_proxy(true);
}
