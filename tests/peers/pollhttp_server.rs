//! A pollhttp HTTP/1 server for the interop tests, run on a thread of its own and built only on
//! the public pollable API: one `poll(2)` loop over a [`Listener`] and its connections, each
//! polled for exactly `events()` and stepped when it is ready or its `timeout()` is due.
//!
//! Included by the interop test files with `#[path = "peers/pollhttp_server.rs"] mod server;`.
//!
//! [`default_handler`] behaves like `examples/echo_server.rs` (GET/HEAD: `hello\n`; a request
//! body is echoed) and adds `/trailers`, `/status/NNN` and `/slow-stream`.
//!
//! Every loop is bounded: the server thread stops when its [`Server`] is dropped (a wake-up
//! byte on a socket pair, no polling of the flag), at [`SERVER_LIFETIME`], or after
//! [`MAX_ITERATIONS`] turns of its loop.
#![allow(dead_code)]

use pollhttp::{Config, Connection, Headers, Listener, SockName, StatusCode, StreamId, TlsInfo};
use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The longest a test server runs.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(120);
/// The most turns the server loop takes (a spinning loop is a bug; this bounds its cost).
pub const MAX_ITERATIONS: usize = 1_000_000;
/// The pieces `/slow-stream` sends, one every [`SLOW_GAP`].
pub const SLOW_PIECES: usize = 5;
/// The pause between two pieces of `/slow-stream`.
pub const SLOW_GAP: Duration = Duration::from_millis(60);
/// The trailer fields `/trailers` sends.
pub const TRAILERS: [(&str, &str); 2] = [("x-checksum", "abc123"), ("x-trailer-two", "2")];

/// A complete request as the handler sees it.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Option<Headers>,
    /// The connection's HTTP version when the request was complete.
    pub version: http::Version,
    /// The connection's TLS session (`None` over plaintext).
    pub tls: Option<TlsInfo>,
}

/// How a reply's body goes out.
#[derive(Debug, Clone)]
pub enum Body {
    /// With a Content-Length.
    Full(Vec<u8>),
    /// Without a length (chunked for HTTP/1.1, close-delimited for HTTP/1.0): one piece per
    /// `gap`, then the trailers (if any).
    Stream {
        pieces: Vec<Vec<u8>>,
        gap: Duration,
        trailers: Vec<(String, String)>,
    },
}

/// A handler's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    /// `status` with a Content-Length body.
    pub fn full(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Body::Full(body.into()),
        }
    }
}

/// The pieces `/slow-stream` sends.
pub fn slow_pieces() -> Vec<Vec<u8>> {
    (0..SLOW_PIECES)
        .map(|i| format!("chunk {i}\n").into_bytes())
        .collect()
}

/// The echo server's behaviour, plus a few routes:
/// - `/status/NNN`: answers NNN with `status NNN\n` (no body for 1xx, 204, 304);
/// - `/trailers`: `hello trailers\n` in two chunks, then the [`TRAILERS`];
/// - `/slow-stream`: [`slow_pieces`], one every [`SLOW_GAP`], without a length;
/// - anything else: the request body echoed (content-type kept), or `hello\n` without one.
///
/// Every answer carries `x-method` and `x-body-length` (what the server received).
pub fn default_handler(req: &Request) -> Reply {
    let mut reply = if let Some(code) = req.path.strip_prefix("/status/") {
        let status: u16 = code.parse().unwrap_or(400);
        if (100..200).contains(&status) || status == 204 || status == 304 {
            Reply::full(status, Vec::new())
        } else {
            Reply::full(status, format!("status {status}\n"))
        }
    } else if req.path == "/trailers" {
        Reply {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("trailer".into(), "x-checksum, x-trailer-two".into()),
            ],
            body: Body::Stream {
                pieces: vec![b"hello ".to_vec(), b"trailers\n".to_vec()],
                gap: Duration::ZERO,
                trailers: TRAILERS
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            },
        }
    } else if req.path == "/slow-stream" {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Body::Stream {
                pieces: slow_pieces(),
                gap: SLOW_GAP,
                trailers: Vec::new(),
            },
        }
    } else if req.body.is_empty() {
        Reply::full(200, "hello\n")
    } else {
        let mut r = Reply::full(200, req.body.clone());
        if let Some(ct) = req.headers.get_str("content-type") {
            r.headers[0].1 = ct.to_string();
        }
        r
    };
    reply.headers.push(("x-method".into(), req.method.clone()));
    reply
        .headers
        .push(("x-body-length".into(), req.body.len().to_string()));
    reply
}

/// What a running server saw; shared with the test thread.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicUsize,
    /// Requests answered.
    pub served: AtomicUsize,
    /// Turns of the loop.
    pub iterations: AtomicUsize,
    /// Connection and stream errors, as text.
    pub errors: Mutex<Vec<String>>,
    /// Notified whenever an error is added to `errors`.
    pub error_added: Condvar,
}

/// A server thread; dropping it stops and joins the thread.
pub struct Server {
    name: SockName,
    wake: UnixStream,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    /// The TCP address it listens on (panics for a Unix-domain server).
    pub fn addr(&self) -> SocketAddr {
        match &self.name {
            SockName::Inet(a) => *a,
            other => panic!("not a TCP server: {other:?}"),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn served(&self) -> usize {
        self.stats.served.load(Ordering::SeqCst)
    }

    /// Turns the server loop has taken so far: a loop that polls for exactly `events()` and
    /// wakes at `timeout()` takes a few per request; thousands mean it spins.
    pub fn iterations(&self) -> usize {
        self.stats.iterations.load(Ordering::SeqCst)
    }

    /// Errors the server saw so far.
    pub fn errors(&self) -> Vec<String> {
        self.stats.errors.lock().unwrap().clone()
    }

    /// Waits (on the server's notification, not by polling) until one of its errors contains
    /// `needle`, for at most `limit`; returns that error, or `None` if none came in time.
    pub fn wait_for_error(&self, needle: &str, limit: Duration) -> Option<String> {
        self.wait_for_errors(needle, 1, limit).into_iter().next()
    }

    /// Waits (on the server's notification) until `count` of its errors contain `needle`, for
    /// at most `limit`; returns the errors that do, in order (fewer if time ran out).
    pub fn wait_for_errors(&self, needle: &str, count: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut errors = self.stats.errors.lock().unwrap();
        loop {
            let found: Vec<String> = errors
                .iter()
                .filter(|e| e.contains(needle))
                .cloned()
                .collect();
            let left = deadline.saturating_duration_since(Instant::now());
            if found.len() >= count || left.is_zero() {
                return found;
            }
            errors = self.stats.error_added.wait_timeout(errors, left).unwrap().0;
        }
    }

    /// Stops the thread and waits for it.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.write_all(b"x");
        if let Some(t) = self.thread.take() {
            // A panic in the server thread surfaces here, unless the test is failing already.
            if t.join().is_err() && !thread::panicking() {
                panic!("the pollhttp server thread panicked");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `handler` on 127.0.0.1 (a free port) on a new thread.
pub fn serve_in_thread<H>(handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    serve_config(Config::default(), handler)
}

/// Like [`serve_in_thread`] with a configuration of the caller's.
pub fn serve_config<H>(cfg: Config, handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(cfg))
        .expect("bind a pollhttp listener on 127.0.0.1:0");
    start(listener, handler)
}

/// Serves `handler` on a Unix-domain socket at `path` on a new thread.
pub fn serve_unix_in_thread<H>(path: &Path, handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    let listener = Listener::bind_unix(path, Arc::new(Config::default()))
        .unwrap_or_else(|e| panic!("bind a pollhttp listener on {}: {e}", path.display()));
    start(listener, handler)
}

/// Serves `handler` on a listener the caller set up (a TLS one, say) on a new thread.
pub fn serve_listener<H>(listener: Listener, handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    start(listener, handler)
}

fn start<H>(listener: Listener, handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    let name = listener.localname().expect("the listener's name");
    let (wake, wake_rx) = UnixStream::pair().expect("a socket pair");
    wake_rx.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Stats::default());
    let thread = {
        let stop = stop.clone();
        let stats = stats.clone();
        thread::Builder::new()
            .name("pollhttp-test-server".into())
            .spawn(move || {
                Loop {
                    listener,
                    handler,
                    conns: Vec::new(),
                    stats,
                }
                .run(&wake_rx, &stop)
            })
            .expect("spawn the server thread")
    };
    Server {
        name,
        wake,
        stop,
        stats,
        thread: Some(thread),
    }
}

/// A request whose head or body is still arriving.
struct Pending {
    id: StreamId,
    head: Option<Headers>,
    body: Vec<u8>,
}

/// An answer whose body is still going out.
struct Job {
    id: StreamId,
    pieces: VecDeque<Vec<u8>>,
    gap: Duration,
    next_at: Instant,
    trailers: Option<Headers>,
    /// The last write would have blocked: retry after the next step.
    blocked: bool,
}

struct Conn {
    conn: Connection,
    pending: Vec<Pending>,
    jobs: Vec<Job>,
}

struct Loop<H> {
    listener: Listener,
    handler: H,
    conns: Vec<Conn>,
    stats: Arc<Stats>,
}

fn push_err(stats: &Stats, what: String) {
    stats.errors.lock().unwrap().push(what);
    stats.error_added.notify_all();
}

fn poll_ms(wait: Duration) -> i32 {
    // Round up, so that a deadline is not woken for just before it passes.
    let ms = wait.as_micros().div_ceil(1000);
    ms.min(i32::MAX as u128) as i32
}

impl<H: Fn(&Request) -> Reply> Loop<H> {
    fn error(&self, what: String) {
        push_err(&self.stats, what);
    }

    fn run(mut self, wake_rx: &UnixStream, stop: &AtomicBool) {
        let end = Instant::now() + SERVER_LIFETIME;
        for turn in 0..MAX_ITERATIONS {
            self.stats.iterations.store(turn, Ordering::Relaxed);
            let now = Instant::now();
            if stop.load(Ordering::SeqCst) || now >= end {
                return;
            }
            let mut wake_at = end;
            for c in &self.conns {
                if let Some(t) = c.conn.timeout() {
                    wake_at = wake_at.min(t);
                }
                for j in c.jobs.iter().filter(|j| !j.blocked) {
                    wake_at = wake_at.min(j.next_at);
                }
            }
            let mut fds = Vec::with_capacity(self.conns.len() + 2);
            fds.push(libc::pollfd {
                fd: wake_rx.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            fds.push(libc::pollfd {
                fd: self.listener.pollfd(),
                events: self.listener.events().to_poll(),
                revents: 0,
            });
            for c in &self.conns {
                let ev = c.conn.events();
                fds.push(libc::pollfd {
                    // Nothing wanted: leave the fd out (poll ignores negative fds), so that a
                    // hang-up the connection does not care about yet cannot make us spin.
                    fd: if ev.is_none() { -1 } else { c.conn.pollfd() },
                    events: ev.to_poll(),
                    revents: 0,
                });
            }
            let ms = poll_ms(wake_at.saturating_duration_since(now));
            // SAFETY: `fds` is a valid array of pollfd that outlives the call.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    self.error(format!("poll: {e}"));
                    return;
                }
                continue;
            }
            if fds[0].revents != 0 {
                return;
            }
            let now = Instant::now();
            let mut due: Vec<bool> = fds[2..].iter().map(|p| p.revents != 0).collect();
            for (i, c) in self.conns.iter().enumerate() {
                if c.conn.timeout().is_some_and(|t| t <= now)
                    || c.jobs.iter().any(|j| !j.blocked && j.next_at <= now)
                {
                    due[i] = true;
                }
            }
            if fds[1].revents != 0 {
                loop {
                    match self.listener.try_accept() {
                        Ok(conn) => {
                            self.stats.accepted.fetch_add(1, Ordering::SeqCst);
                            self.conns.push(Conn {
                                conn,
                                pending: Vec::new(),
                                jobs: Vec::new(),
                            });
                            due.push(true);
                        }
                        Err(e) if e.is_would_block() => break,
                        Err(e) => {
                            self.error(format!("accept: {e}"));
                            break;
                        }
                    }
                }
            }
            for (i, due) in due.into_iter().enumerate() {
                if due {
                    self.drive(i);
                }
            }
            self.conns.retain(|c| !c.conn.is_closed());
        }
        self.error(format!(
            "the server loop reached {MAX_ITERATIONS} turns: something spins"
        ));
    }

    /// Steps connection `i` and answers what it has, until no work is due right now.
    fn drive(&mut self, i: usize) {
        for _ in 0..16 {
            let c = &mut self.conns[i];
            if let Err(e) = c.conn.step() {
                self.error(format!("step: {e}"));
            }
            let c = &mut self.conns[i];
            for j in &mut c.jobs {
                j.blocked = false;
            }
            while let Ok(Some(id)) = self.conns[i].conn.try_next_incoming_stream() {
                self.conns[i].pending.push(Pending {
                    id,
                    head: None,
                    body: Vec::new(),
                });
                self.serve(i, id);
            }
            while let Some(id) = self.conns[i].conn.next_ready_stream() {
                self.serve(i, id);
            }
            self.run_jobs(i);
            let c = &mut self.conns[i];
            if c.conn.is_closed() {
                c.jobs.clear();
                return;
            }
            if c.conn.timeout().is_none_or(|t| t > Instant::now()) {
                return;
            }
        }
    }

    /// Reads what stream `id` has; once its request is complete, answers it.
    fn serve(&mut self, i: usize, id: StreamId) {
        let c = &mut self.conns[i];
        let Some(p) = c.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let mut stream = c.conn.stream(id);
        let req = &mut c.pending[p];
        if req.head.is_none() {
            match stream.try_get_headers() {
                Ok(Some(h)) => req.head = Some(h),
                Err(e) if e.is_would_block() => return,
                Ok(None) => {
                    c.pending.swap_remove(p);
                    return;
                }
                Err(e) => {
                    c.pending.swap_remove(p);
                    push_err(&self.stats, format!("stream {id:?} head: {e}"));
                    return;
                }
            }
        }
        loop {
            match stream.try_get_next_chunk() {
                Ok(Some(d)) => req.body.extend_from_slice(&d),
                Ok(None) => break,
                Err(e) if e.is_would_block() => return,
                Err(e) => {
                    c.pending.swap_remove(p);
                    push_err(&self.stats, format!("stream {id:?} body: {e}"));
                    return;
                }
            }
        }
        let trailers = match stream.try_get_trailers() {
            Ok(t) => t,
            Err(e) => {
                push_err(&self.stats, format!("stream {id:?} trailers: {e}"));
                None
            }
        };
        let req = c.pending.swap_remove(p);
        let head = req.head.unwrap();
        let request = Request {
            method: head.get_str(":method").unwrap_or("").to_string(),
            path: head.path().unwrap_or("").to_string(),
            headers: head,
            body: req.body,
            trailers,
            version: c.conn.version(),
            tls: c.conn.checktls().ok(),
        };
        let reply = (self.handler)(&request);
        self.answer(i, id, reply);
    }

    fn answer(&mut self, i: usize, id: StreamId, reply: Reply) {
        let mut h = Headers::response(StatusCode::from_u16(reply.status).expect("a status"));
        for (n, v) in &reply.headers {
            h.append(n, v);
        }
        let c = &mut self.conns[i];
        let (pieces, gap, trailers) = match reply.body {
            Body::Full(b) => {
                h.append("content-length", b.len().to_string());
                let end = b.is_empty();
                if let Err(e) = c.conn.stream(id).write_headers(&h, end) {
                    self.error(format!("stream {id:?} write_headers: {e}"));
                    return;
                }
                if end {
                    self.stats.served.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                (VecDeque::from([b]), Duration::ZERO, None)
            }
            Body::Stream {
                pieces,
                gap,
                trailers,
            } => {
                if let Err(e) = c.conn.stream(id).write_headers(&h, false) {
                    self.error(format!("stream {id:?} write_headers: {e}"));
                    return;
                }
                let trailers = (!trailers.is_empty()).then(|| {
                    let mut t = Headers::new();
                    for (n, v) in &trailers {
                        t.append(n, v);
                    }
                    t
                });
                (pieces.into(), gap, trailers)
            }
        };
        c.jobs.push(Job {
            id,
            pieces,
            gap,
            next_at: Instant::now(),
            trailers,
            blocked: false,
        });
    }

    /// Writes the pieces of the answers that are due.
    fn run_jobs(&mut self, i: usize) {
        let now = Instant::now();
        let c = &mut self.conns[i];
        let mut k = 0;
        while k < c.jobs.len() {
            let j = &mut c.jobs[k];
            let mut stream = c.conn.stream(j.id);
            let mut finished = false;
            let mut failed = None;
            while !j.blocked && j.next_at <= now {
                let r = match j.pieces.front() {
                    Some(piece) => {
                        let last = j.pieces.len() == 1 && j.trailers.is_none();
                        stream.try_write_chunk(piece, last).map(|()| last)
                    }
                    None => match &j.trailers {
                        Some(t) => stream.write_headers(t, true).map(|()| true),
                        None => stream.try_write_chunk(&[], true).map(|()| true),
                    },
                };
                match r {
                    Ok(last) => {
                        if j.pieces.pop_front().is_none() || last {
                            finished = true;
                            break;
                        }
                        j.next_at = now + j.gap;
                    }
                    Err(e) if e.is_would_block() => j.blocked = true,
                    Err(e) => {
                        failed = Some(format!("stream {:?} write: {e}", j.id));
                        break;
                    }
                }
            }
            if finished || failed.is_some() {
                if finished {
                    self.stats.served.fetch_add(1, Ordering::SeqCst);
                }
                if let Some(f) = failed {
                    push_err(&self.stats, f);
                }
                c.jobs.swap_remove(k);
            } else {
                k += 1;
            }
        }
    }
}
