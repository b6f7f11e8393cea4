//! A reverse proxy on one edge-triggered epoll loop that never scans its connections: each
//! connection's watcher (`Connection::set_watcher`) tells the loop what changed, and the loop
//! files it.
//!
//! ```text
//! cargo run --release --example watch_proxy -- --listen 127.0.0.1:8080 --upstream 127.0.0.1:8081 [--upstream-h2]
//! ```
//!
//! In front, clients speak HTTP/1.1 or cleartext HTTP/2 (prior knowledge); behind, each
//! request gets a connection of its own to the upstream (HTTP/1.1, or HTTP/2 with prior
//! knowledge with `--upstream-h2`), and the answer's body streams back chunk by chunk, with
//! backpressure both ways: a chunk the client's connection refuses (its send buffer is full)
//! waits, and the upstream is not read meanwhile. Requests with a body are answered 501 (this
//! is a download proxy); an upstream that fails is a 502, or a reset once the head went out.
//!
//! The loop, as `docs/embedding.md` ("Told by a watcher") teaches it:
//! - every fd is registered once, `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`, by the watcher
//!   when it is told a new fd (`EPOLL_CTL_ADD`; the fd it replaces, still open during the call,
//!   is removed with `EPOLL_CTL_DEL`), and never re-armed;
//! - a deadline already past puts the connection on the ready list (once: a flag says it is
//!   there); a later one goes into a timer heap, with lazy deletion (an entry that is not the
//!   connection's last deadline is skipped);
//! - the loop steps what epoll reports, what the ready list holds and what the timers fire,
//!   nothing else. Reading the upstream's answer and writing it to the client are calls on
//!   one connection made while handling another: their watchers tell the loop, which is
//!   what makes edge-triggered registration once enough.
//! - a watcher told fd -1 and no deadline: the connection is finished, and is dropped after
//!   the call that finished it.

use pollhttp::{
    ClientOptions, Config, Connection, Headers, Listener, Method, StatusCode, StreamId, Target,
    Watch,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The epoll data of the listener and of the stop eventfd; connections use
/// `slot | generation << 32`.
const LISTENER: u64 = u64::MAX;
const STOP: u64 = u64::MAX - 1;
const MAX_EVENTS: usize = 256;

/// A connection's place: its slot and the slot's generation (bumped when a connection leaves
/// it), so that news for a connection that is gone never reaches the one that took its slot.
type Key = (usize, u32);

/// What the run did, for the tests.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Calls of the watchers.
    pub watch_calls: u64,
    /// `EPOLL_CTL_ADD`s, one per fd a connection was told to watch.
    pub adds: u64,
    /// `EPOLL_CTL_DEL`s of an fd a connection gave up.
    pub dels: u64,
    /// Connections opened (accepted or to the upstream).
    pub connections: u64,
    /// Steps taken.
    pub steps: u64,
    /// Turns of the loop (one `epoll_wait` each).
    pub turns: u64,
    /// Exchanges answered to the end, and failed (502 or a reset).
    pub completed: u64,
    pub failed: u64,
    /// Chunks a client's connection refused (its send buffer was full), moved later.
    pub refused: u64,
}

/// What the watchers tell the loop. A watcher must be `Send`, so this sits behind a mutex; the
/// loop is one thread, never holds the lock while it calls a connection (whose watcher takes
/// it), and so the lock is never contended.
struct Told {
    ep: RawFd,
    /// Connections due for a step now, each once (`queued`).
    ready: VecDeque<Key>,
    queued: Vec<bool>,
    /// The last deadline told, per slot: a timer entry that is not it is stale.
    deadline: Vec<Option<Instant>>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// Connections told fd -1 and no deadline: to drop.
    finished: Vec<Key>,
    stats: Stats,
}

impl Told {
    /// Files one watcher call of the connection at `key`.
    fn file(&mut self, key: Key, w: &Watch) {
        let (slot, gen) = key;
        self.stats.watch_calls += 1;
        if w.fd_changed() {
            if w.old_fd >= 0 {
                // Still open: the connection closes it when this call returns.
                let _ = ctl(self.ep, libc::EPOLL_CTL_DEL, w.old_fd, 0, 0);
                self.stats.dels += 1;
            }
            if w.fd >= 0 {
                let all = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
                let data = slot as u64 | (gen as u64) << 32;
                ctl(self.ep, libc::EPOLL_CTL_ADD, w.fd, all as u32, data)
                    .expect("epoll_ctl add a connection's fd");
                self.stats.adds += 1;
            }
        }
        self.deadline[slot] = w.deadline;
        match w.deadline {
            Some(d) if d > Instant::now() => self.timers.push(Reverse((d, slot, gen))),
            // Due now: onto the ready list, once (it may be there already, waiting its turn).
            Some(_) if !self.queued[slot] => {
                self.queued[slot] = true;
                self.ready.push_back(key);
            }
            Some(_) => {}
            None if w.fd < 0 => self.finished.push(key),
            None => {}
        }
    }
}

/// One request on its way: the client's stream and the upstream's.
struct Exchange {
    front: Key,
    front_stream: StreamId,
    up: Key,
    up_stream: StreamId,
    head_sent: bool,
    /// A chunk the client's connection refused: written first when it has room.
    pending: Option<Vec<u8>>,
}

enum Role {
    /// A client's connection: its requests' exchanges, by stream.
    Front(HashMap<StreamId, usize>),
    /// A connection to the upstream, for one exchange (`None` once it is over).
    Upstream(Option<usize>),
}

struct Slot {
    conn: Connection,
    role: Role,
    /// Its watcher said it is finished; an upstream connection stays until its exchange
    /// has moved what it received to the client.
    finished: bool,
}

/// The proxy: its listener, connections by slot, exchanges, and what the watchers told.
pub struct Proxy {
    listener: Listener,
    upstream: SocketAddr,
    upstream_h2: bool,
    ep: RawFd,
    stop: RawFd,
    slots: Vec<Option<Slot>>,
    gens: Vec<u32>,
    free: Vec<usize>,
    exchanges: Vec<Option<Exchange>>,
    free_exchanges: Vec<usize>,
    told: Arc<Mutex<Told>>,
}

/// Stops a running [`Proxy`] from another thread.
#[derive(Clone, Copy)]
pub struct Stopper(RawFd);

impl Stopper {
    pub fn stop(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to the proxy's eventfd.
        unsafe { libc::write(self.0, one.as_ptr().cast(), one.len()) };
    }
}

fn ctl(ep: RawFd, op: i32, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call; the kernel copies it.
    if unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Milliseconds for `epoll_wait` until `deadline`, rounded up (-1: none).
fn wait_ms(deadline: Option<Instant>, now: Instant) -> i32 {
    let Some(d) = deadline else { return -1 };
    let left = d.saturating_duration_since(now);
    let us = left.as_micros().div_ceil(1000);
    us.min(i32::MAX as u128) as i32
}

impl Proxy {
    /// A proxy for `upstream` on `listener`.
    pub fn new(listener: Listener, upstream: SocketAddr, upstream_h2: bool) -> io::Result<Proxy> {
        // SAFETY: no pointers; both fds are closed when the proxy is dropped.
        let (ep, stop) = unsafe {
            (
                libc::epoll_create1(libc::EPOLL_CLOEXEC),
                libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK),
            )
        };
        if ep < 0 || stop < 0 {
            return Err(io::Error::last_os_error());
        }
        let et = (libc::EPOLLIN | libc::EPOLLET) as u32;
        ctl(ep, libc::EPOLL_CTL_ADD, listener.pollfd(), et, LISTENER)?;
        ctl(ep, libc::EPOLL_CTL_ADD, stop, libc::EPOLLIN as u32, STOP)?;
        let told = Told {
            ep,
            ready: VecDeque::new(),
            queued: Vec::new(),
            deadline: Vec::new(),
            timers: BinaryHeap::new(),
            finished: Vec::new(),
            stats: Stats::default(),
        };
        Ok(Proxy {
            listener,
            upstream,
            upstream_h2,
            ep,
            stop,
            slots: Vec::new(),
            gens: Vec::new(),
            free: Vec::new(),
            exchanges: Vec::new(),
            free_exchanges: Vec::new(),
            told: Arc::new(Mutex::new(told)),
        })
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop)
    }

    fn told(&self) -> std::sync::MutexGuard<'_, Told> {
        self.told.lock().expect("the watchers' record")
    }

    /// Runs until stopped; what it did.
    pub fn run(&mut self) -> io::Result<Stats> {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
        loop {
            // What the watchers queued: connections due now.
            loop {
                let next = {
                    let mut t = self.told();
                    let k = t.ready.pop_front();
                    if let Some((slot, _)) = k {
                        t.queued[slot] = false;
                    }
                    k
                };
                let Some(key) = next else { break };
                self.drive(key, 0);
                self.reap();
            }
            // Deadlines that passed.
            let now = Instant::now();
            loop {
                let due = {
                    let mut t = self.told();
                    match t.timers.peek() {
                        Some(&Reverse((d, slot, gen))) if d <= now => {
                            t.timers.pop();
                            (t.deadline[slot] == Some(d)).then_some((slot, gen))
                        }
                        _ => break,
                    }
                };
                if let Some(key) = due {
                    self.drive(key, 0);
                    self.reap();
                }
            }
            let wait = {
                let t = self.told();
                if t.ready.is_empty() {
                    wait_ms(t.timers.peek().map(|Reverse((d, _, _))| *d), Instant::now())
                } else {
                    0
                }
            };
            self.told().stats.turns += 1;
            // SAFETY: `events` holds MAX_EVENTS initialised entries that outlive the call.
            let n =
                unsafe { libc::epoll_wait(self.ep, events.as_mut_ptr(), MAX_EVENTS as i32, wait) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for ev in &events[..n as usize] {
                let (data, revents) = (ev.u64, ev.events);
                match data {
                    LISTENER => self.accept_all(),
                    STOP => return Ok(self.told().stats.clone()),
                    _ => {
                        let key = ((data & 0xffff_ffff) as usize, (data >> 32) as u32);
                        self.drive(key, revents);
                    }
                }
                self.reap();
            }
        }
    }

    /// A slot for `conn`, and its watcher (whose first call registers its fd).
    fn add(&mut self, conn: Connection, role: Role) -> Key {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.gens.push(0);
            self.slots.len() - 1
        });
        let key = (slot, self.gens[slot]);
        {
            let mut t = self.told();
            if t.queued.len() <= slot {
                t.queued.resize(slot + 1, false);
                t.deadline.resize(slot + 1, None);
            }
            t.queued[slot] = false;
            t.deadline[slot] = None;
            t.stats.connections += 1;
        }
        self.slots[slot] = Some(Slot {
            conn,
            role,
            finished: false,
        });
        let told = self.told.clone();
        let conn = &mut self.slots[slot].as_mut().expect("just put").conn;
        conn.set_watcher(Some(Box::new(move |w: &Watch| {
            told.lock().expect("the watchers' record").file(key, w)
        })));
        key
    }

    fn slot(&mut self, key: Key) -> Option<&mut Slot> {
        if self.gens.get(key.0) != Some(&key.1) {
            return None;
        }
        self.slots[key.0].as_mut()
    }

    /// Drops the connections whose watcher said they are finished: a client's at once (its
    /// exchanges fail), an upstream's once its exchange is over (what it received may still
    /// be on its way to the client).
    fn reap(&mut self) {
        let done = std::mem::take(&mut self.told().finished);
        for key in done {
            let Some(s) = self.slot(key) else { continue };
            s.finished = true;
            match &s.role {
                Role::Front(m) => {
                    let exchanges: Vec<usize> = m.values().copied().collect();
                    for x in exchanges {
                        self.fail(x);
                    }
                    self.remove(key);
                }
                Role::Upstream(Some(x)) => {
                    let x = *x;
                    self.pump(x); // the rest of the body, or the failure
                }
                Role::Upstream(None) => self.remove(key),
            }
        }
    }

    fn remove(&mut self, key: Key) {
        if self.slot(key).is_some() {
            self.slots[key.0] = None;
            self.gens[key.0] = self.gens[key.0].wrapping_add(1);
            self.free.push(key.0);
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.try_accept() {
                Ok(conn) => {
                    self.add(conn, Role::Front(HashMap::new()));
                }
                Err(e) if e.is_would_block() => return,
                Err(e) => {
                    eprintln!("watch_proxy: accept: {e}");
                    return;
                }
            }
        }
    }

    /// Steps one connection and does what its news asks.
    fn drive(&mut self, key: Key, revents: u32) {
        let Some(s) = self.slot(key) else { return };
        if revents & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
            s.conn.hint_read_closed();
        }
        let _ = s.conn.step(); // a failure shows in the streams and as the closed connection
        let mut requests = Vec::new();
        let mut news = Vec::new();
        while let Ok(Some(id)) = s.conn.try_next_incoming_stream() {
            requests.push(id);
        }
        while let Some(id) = s.conn.next_ready_stream() {
            news.push(id);
        }
        let exchanges: Vec<usize> = match &s.role {
            Role::Front(m) => news.iter().filter_map(|id| m.get(id).copied()).collect(),
            Role::Upstream(x) => x.iter().copied().collect(),
        };
        self.told().stats.steps += 1;
        for id in requests {
            self.start(key, id);
        }
        for x in exchanges {
            self.pump(x);
        }
    }

    /// A client's request: a connection to the upstream for it.
    fn start(&mut self, front: Key, id: StreamId) {
        let (upstream, h2) = (self.upstream, self.upstream_h2);
        let Some(s) = self.slot(front) else { return };
        let mut stream = s.conn.stream(id);
        let head = match stream.try_get_headers() {
            Ok(Some(h)) => h,
            _ => return,
        };
        let answer = |s: &mut Slot, status: StatusCode| {
            let _ = s
                .conn
                .stream(id)
                .write_headers(&Headers::response(status), true);
        };
        let method = head.method().unwrap_or(Method::GET);
        let has_body = head.get_str("content-length").is_some_and(|l| l != "0")
            || head.has("transfer-encoding");
        if has_body || (method != Method::GET && method != Method::HEAD) {
            return answer(s, StatusCode::NOT_IMPLEMENTED);
        }
        let mut request = Headers::request(method, head.path().unwrap_or("/"), None);
        for f in head
            .iter()
            .filter(|f| !f.name.starts_with(':') && f.name != "host")
        {
            request.append(f.name, f.value);
        }
        let opts = ClientOptions {
            version: if h2 {
                http::Version::HTTP_2
            } else {
                http::Version::HTTP_11
            },
            http2_prior_knowledge: h2,
            ..ClientOptions::default()
        };
        let up = Connection::client(Target::Addr(upstream), opts).and_then(|mut c| {
            let sid = c.new_stream()?;
            c.stream(sid).write_headers(&request, true)?;
            Ok((c, sid))
        });
        let (conn, up_stream) = match up {
            Ok(x) => x,
            Err(e) => {
                eprintln!("watch_proxy: upstream: {e}");
                return answer(s, StatusCode::BAD_GATEWAY);
            }
        };
        let x = self.free_exchanges.pop().unwrap_or_else(|| {
            self.exchanges.push(None);
            self.exchanges.len() - 1
        });
        let up = self.add(conn, Role::Upstream(Some(x)));
        self.exchanges[x] = Some(Exchange {
            front,
            front_stream: id,
            up,
            up_stream,
            head_sent: false,
            pending: None,
        });
        if let Some(Slot {
            role: Role::Front(m),
            ..
        }) = self.slot(front)
        {
            m.insert(id, x);
        }
    }

    /// Both connections of exchange `x`, if both are there.
    fn pair(&mut self, x: usize) -> Option<(&mut Exchange, &mut Connection, &mut Connection)> {
        let ex = self.exchanges.get_mut(x)?.as_mut()?;
        let (f, u) = (ex.front, ex.up);
        if self.gens[f.0] != f.1 || self.gens[u.0] != u.1 || f.0 == u.0 {
            return None;
        }
        let (a, b) = if f.0 < u.0 {
            let (l, r) = self.slots.split_at_mut(u.0);
            (&mut l[f.0], &mut r[0])
        } else {
            let (l, r) = self.slots.split_at_mut(f.0);
            (&mut r[0], &mut l[u.0])
        };
        Some((ex, &mut a.as_mut()?.conn, &mut b.as_mut()?.conn))
    }

    /// Moves what the upstream has of exchange `x` to the client, as far as the client's
    /// connection takes it now. One of these calls is always on a connection other than the
    /// one the loop is handling; its watcher tells the loop.
    fn pump(&mut self, x: usize) {
        let Some((ex, front, up)) = self.pair(x) else {
            return self.fail(x);
        };
        let (fs, us) = (ex.front_stream, ex.up_stream);
        while !ex.head_sent {
            match up.stream(us).try_get_headers() {
                Ok(Some(h)) if h.status_code().is_some_and(|c| c < 200) => {}
                Ok(Some(h)) => {
                    let mut head = Headers::response(h.status().unwrap_or(StatusCode::OK));
                    for f in h
                        .iter()
                        .filter(|f| !f.name.starts_with(':') && f.name != "date")
                    {
                        head.append(f.name, f.value);
                    }
                    if front.stream(fs).write_headers(&head, false).is_err() {
                        return self.fail(x);
                    }
                    ex.head_sent = true;
                }
                Err(e) if e.is_would_block() => return,
                _ => return self.fail(x),
            }
        }
        loop {
            let chunk = match ex.pending.take() {
                Some(c) => c,
                None => match up.stream(us).try_get_next_chunk() {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        if front.stream(fs).try_write_chunk(&[], true).is_err() {
                            return self.fail(x);
                        }
                        return self.finish(x, true);
                    }
                    Err(e) if e.is_would_block() => return,
                    Err(_) => return self.fail(x),
                },
            };
            match front.stream(fs).try_write_chunk(&chunk, false) {
                Ok(()) => {}
                Err(e) if e.is_would_block() => {
                    // The client's connection names the stream ready when it has room.
                    ex.pending = Some(chunk);
                    self.told().stats.refused += 1;
                    return;
                }
                Err(_) => return self.fail(x),
            }
        }
    }

    /// Exchange `x` failed: a 502 if the client got no head yet, else a reset.
    fn fail(&mut self, x: usize) {
        let Some(ex) = self.exchanges.get(x).and_then(Option::as_ref) else {
            return;
        };
        let (front, fs, head_sent) = (ex.front, ex.front_stream, ex.head_sent);
        if let Some(s) = self.slot(front) {
            let mut stream = s.conn.stream(fs);
            if head_sent {
                let _ = stream.reset();
            } else {
                let _ = stream.write_headers(&Headers::response(StatusCode::BAD_GATEWAY), true);
            }
        }
        self.finish(x, false);
    }

    /// Exchange `x` is over: its upstream connection is shut down (its watcher tells when it
    /// is finished) and the client's stream forgotten.
    fn finish(&mut self, x: usize, ok: bool) {
        let Some(ex) = self.exchanges.get_mut(x).and_then(Option::take) else {
            return;
        };
        self.free_exchanges.push(x);
        if let Some(s) = self.slot(ex.up) {
            s.role = Role::Upstream(None);
            if s.finished {
                self.remove(ex.up);
            } else {
                s.conn.shutdown();
            }
        }
        if let Some(Slot {
            role: Role::Front(m),
            ..
        }) = self.slot(ex.front)
        {
            m.remove(&ex.front_stream);
        }
        let mut t = self.told();
        if ok {
            t.stats.completed += 1;
        } else {
            t.stats.failed += 1;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The connections go first: their fds leave the epoll set as they close.
        self.slots.clear();
        // SAFETY: our own epoll fd and eventfd, used by nothing after this.
        unsafe {
            libc::close(self.ep);
            libc::close(self.stop);
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: watch_proxy --listen ADDR --upstream ADDR [--upstream-h2]");
    std::process::exit(2)
}

#[allow(dead_code)] // the tests include this file as a module and run the proxy in a thread
fn main() {
    let (mut listen, mut upstream, mut h2) = (None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().and_then(|a| a.parse::<SocketAddr>().ok()),
            "--upstream" => upstream = args.next().and_then(|a| a.parse::<SocketAddr>().ok()),
            "--upstream-h2" => h2 = true,
            _ => usage(),
        }
    }
    let (Some(listen), Some(upstream)) = (listen, upstream) else {
        usage()
    };
    let listener = Listener::bind(listen, Arc::new(Config::default())).unwrap_or_else(|e| {
        eprintln!("watch_proxy: {e}");
        std::process::exit(1)
    });
    println!("watch_proxy listening on http://{listen}/, upstream {upstream}");
    let run = Proxy::new(listener, upstream, h2).and_then(|mut p| p.run());
    if let Err(e) = run {
        eprintln!("watch_proxy: {e}");
        std::process::exit(1);
    }
}
