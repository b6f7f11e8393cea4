//! The echo server of `echo_server.rs` over a raw `epoll` loop, C style: GET and HEAD answer
//! `hello\n`; a request with a body is answered with the same body.
//!
//! ```text
//! cargo run --release --example epoll_echo_server -- [--listen 127.0.0.1:8080] [--unix PATH]
//! ```
//!
//! This is the loop a C reactor would run around a `Connection`, with nothing from mio:
//! - Each connection's `pollfd()` is registered level-triggered for exactly
//!   `events().to_epoll()`, and re-armed with `EPOLL_CTL_MOD` only when `events()` changed after
//!   the connection was driven. Level-triggered is safe because `events()` is precise: a
//!   connection that waits for nothing is armed with no events, and is never woken for
//!   readiness it does not want.
//! - Deadlines (`timeout()`: idle keep-alive, slow request heads, output left to write) sit in a
//!   binary heap keyed by `(deadline, slot, generation)`. An entry is pushed when a
//!   connection's deadline changes; an entry that no longer matches its connection is skipped
//!   when it comes up, and the heap is rebuilt when stale entries outnumber live ones, so it
//!   stays O(log n) per change and O(n) in size. `epoll_wait` sleeps until the top entry.
//! - An epoll event carries `slot | generation << 32`, so an event still queued for a
//!   connection that closed in the same batch is not delivered to the one that took its slot.

use pollhttp::{Config, Connection, Headers, Listener, Method, StatusCode, StreamId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The epoll data of the listener; connections use `slot | generation << 32`.
const LISTENER: u64 = u64::MAX;
/// Events taken from one `epoll_wait`.
const MAX_EVENTS: usize = 1024;
/// Steps of one connection in a row while its `timeout()` says more work is due now.
const STEPS_PER_DRIVE: usize = 16;

struct Request {
    id: StreamId,
    head: bool,
    got_head: bool,
    /// The whole request body is in.
    got_body: bool,
    /// The answer's head went out; its body waits for room in the send buffer.
    answered: bool,
    body: Vec<u8>,
}

struct Client {
    conn: Connection,
    reqs: Vec<Request>,
    /// The fd registered with epoll (it does not change for a server connection).
    fd: RawFd,
    /// The epoll events it is armed with now.
    armed: u32,
    /// The deadline its current heap entry stands for.
    deadline: Option<Instant>,
}

/// The connections, by slot, and the deadlines heap.
struct Server {
    ep: RawFd,
    clients: Vec<Option<Client>>,
    /// The generation of each slot: bumped when a connection leaves it.
    gens: Vec<u32>,
    free: Vec<usize>,
    live: usize,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
}

fn usage() -> ! {
    eprintln!("usage: epoll_echo_server [--listen ADDR] [--unix PATH]");
    std::process::exit(2)
}

fn main() {
    let mut listen = "127.0.0.1:8080".to_string();
    let mut unix: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage()),
            "--unix" => unix = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let cfg = Arc::new(Config::default());
    let mut listener = match &unix {
        Some(p) => Listener::bind_unix(std::path::Path::new(p), cfg),
        None => match listen.parse() {
            Ok(a) => Listener::bind(a, cfg),
            Err(_) => {
                eprintln!("epoll_echo_server: --listen needs ADDR:PORT, got {listen}");
                std::process::exit(2)
            }
        },
    }
    .unwrap_or_else(|e| {
        eprintln!("epoll_echo_server: {e}");
        std::process::exit(1)
    });
    match &unix {
        Some(p) => println!("epoll_echo_server listening on unix:{p}"),
        None => println!("epoll_echo_server listening on http://{listen}/"),
    }
    if let Err(e) = run(&mut listener) {
        eprintln!("epoll_echo_server: {e}");
        std::process::exit(1);
    }
}

/// `epoll_ctl` with one event; `events` and `data` are ignored for `EPOLL_CTL_DEL`.
fn ctl(ep: RawFd, op: i32, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call; the kernel copies it.
    if unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Milliseconds for `epoll_wait` until `deadline`, rounded up so that it does not wake just
/// before the deadline and spin; -1 (no limit) without one.
fn wait_ms(deadline: Option<Instant>, now: Instant) -> i32 {
    let Some(d) = deadline else { return -1 };
    let left = d.saturating_duration_since(now);
    let ms = left.as_millis();
    let ms = if Duration::from_millis(ms as u64) < left {
        ms + 1
    } else {
        ms
    };
    ms.min(i32::MAX as u128) as i32
}

fn run(listener: &mut Listener) -> io::Result<()> {
    // SAFETY: epoll_create1 takes no pointers; the fd it returns is closed at the end of run.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut srv = Server {
        ep,
        clients: Vec::new(),
        gens: Vec::new(),
        free: Vec::new(),
        live: 0,
        timers: BinaryHeap::new(),
    };
    let r = serve_forever(&mut srv, listener);
    // SAFETY: `ep` is our epoll fd and nothing uses it after this.
    unsafe { libc::close(ep) };
    r
}

fn serve_forever(srv: &mut Server, listener: &mut Listener) -> io::Result<()> {
    ctl(
        srv.ep,
        libc::EPOLL_CTL_ADD,
        listener.pollfd(),
        listener.events().to_epoll(),
        LISTENER,
    )?;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    loop {
        srv.fire_timers();
        let wait = wait_ms(
            srv.timers.peek().map(|Reverse((t, _, _))| *t),
            Instant::now(),
        );
        // SAFETY: `events` holds MAX_EVENTS initialised entries that outlive the call, and the
        // kernel writes at most that many.
        let n = unsafe { libc::epoll_wait(srv.ep, events.as_mut_ptr(), MAX_EVENTS as i32, wait) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in &events[..n as usize] {
            // Copied out: the struct is packed on x86-64, so its fields are not referenced.
            let (data, revents) = (ev.u64, ev.events);
            if data == LISTENER {
                srv.accept_all(listener);
                continue;
            }
            let (slot, gen) = ((data & 0xffff_ffff) as usize, (data >> 32) as u32);
            if srv.gens.get(slot) == Some(&gen) {
                srv.drive(slot, revents);
            }
        }
    }
}

impl Server {
    /// Takes every waiting connection (the listener is level-triggered, so one left behind
    /// wakes the next `epoll_wait` anyway).
    fn accept_all(&mut self, listener: &mut Listener) {
        loop {
            let conn = match listener.try_accept() {
                Ok(c) => c,
                Err(e) if e.is_would_block() => return,
                Err(e) => {
                    // E.g. out of fds: say so, and let the next wake-up try again.
                    eprintln!("epoll_echo_server: {e}");
                    return;
                }
            };
            let slot = self.free.pop().unwrap_or_else(|| {
                self.clients.push(None);
                self.gens.push(0);
                self.clients.len() - 1
            });
            let fd = conn.pollfd();
            let armed = conn.events().to_epoll();
            let data = slot as u64 | (self.gens[slot] as u64) << 32;
            if let Err(e) = ctl(self.ep, libc::EPOLL_CTL_ADD, fd, armed, data) {
                eprintln!("epoll_echo_server: epoll_ctl add: {e}");
                self.free.push(slot);
                continue;
            }
            self.clients[slot] = Some(Client {
                conn,
                reqs: Vec::new(),
                fd,
                armed,
                deadline: None,
            });
            self.live += 1;
            // Bytes may be waiting already; the first step also sets the first deadline.
            self.drive(slot, 0);
        }
    }

    /// Steps the connections whose deadline has come.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((t, slot, gen))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            let current = self.gens[slot] == gen
                && self.clients[slot]
                    .as_ref()
                    .is_some_and(|c| c.deadline == Some(t));
            if current {
                if let Some(c) = self.clients[slot].as_mut() {
                    // The entry is used up: drive files the next one even if the time is the same.
                    c.deadline = None;
                }
                self.drive(slot, 0);
            }
        }
    }

    /// Steps one connection and answers what it has, until no work is due right now; then
    /// re-arms it and files its next deadline.
    fn drive(&mut self, slot: usize, revents: u32) {
        let Some(c) = self.clients[slot].as_mut() else {
            return;
        };
        for _ in 0..STEPS_PER_DRIVE {
            // A failure shows as the closed connection (and in its streams).
            let _ = c.conn.step();
            while let Ok(Some(id)) = c.conn.try_next_incoming_stream() {
                c.reqs.push(Request {
                    id,
                    head: false,
                    got_head: false,
                    got_body: false,
                    answered: false,
                    body: Vec::new(),
                });
            }
            while let Some(id) = c.conn.next_ready_stream() {
                serve(c, id);
            }
            if c.conn.is_closed() {
                self.remove(slot);
                return;
            }
            match c.conn.timeout() {
                Some(t) if t <= Instant::now() => {}
                _ => break,
            }
        }
        let want = c.conn.events().to_epoll();
        let hangup = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
        if want == 0 && revents & hangup != 0 {
            // epoll reports hang-ups and errors even to an fd armed for nothing; a connection
            // that wants nothing more from a socket in that state would be woken forever.
            self.remove(slot);
            return;
        }
        if want != c.armed {
            let data = slot as u64 | (self.gens[slot] as u64) << 32;
            if let Err(e) = ctl(self.ep, libc::EPOLL_CTL_MOD, c.fd, want, data) {
                eprintln!("epoll_echo_server: epoll_ctl mod: {e}");
                self.remove(slot);
                return;
            }
            c.armed = want;
        }
        let deadline = c.conn.timeout();
        if deadline != c.deadline {
            c.deadline = deadline;
            if let Some(t) = deadline {
                self.timers.push(Reverse((t, slot, self.gens[slot])));
                if self.timers.len() > 2 * self.live + 64 {
                    self.rebuild_timers();
                }
            }
        }
    }

    /// Drops the stale entries: one entry per live deadline is left.
    fn rebuild_timers(&mut self) {
        let entries: Vec<_> = self
            .clients
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| {
                let t = c.as_ref()?.deadline?;
                Some(Reverse((t, slot, self.gens[slot])))
            })
            .collect();
        self.timers = BinaryHeap::from(entries);
    }

    /// Takes a connection out of epoll and frees its slot; dropping it closes its socket.
    fn remove(&mut self, slot: usize) {
        if let Some(c) = self.clients[slot].take() {
            if !c.conn.is_closed() {
                // A closed connection's fd is already gone (and with it the registration).
                let _ = ctl(self.ep, libc::EPOLL_CTL_DEL, c.fd, 0, 0);
            }
            self.gens[slot] = self.gens[slot].wrapping_add(1);
            self.free.push(slot);
            self.live -= 1;
        }
    }
}

/// Answers stream `id` once its request is complete: the body echoed, or `hello\n`.
fn serve(c: &mut Client, id: StreamId) {
    let Some(i) = c.reqs.iter().position(|r| r.id == id) else {
        return;
    };
    let mut stream = c.conn.stream(id);
    let r = &mut c.reqs[i];
    if !r.got_head {
        match stream.try_get_headers() {
            Ok(Some(h)) => {
                r.head = h.method() == Some(Method::HEAD);
                r.got_head = true;
            }
            Err(e) if e.is_would_block() => return,
            _ => {
                give_up(&mut stream);
                c.reqs.swap_remove(i);
                return;
            }
        }
    }
    while !r.got_body {
        match stream.try_get_next_chunk() {
            Ok(Some(d)) => {
                if r.body.is_empty() {
                    r.body = d;
                } else {
                    r.body.extend_from_slice(&d);
                }
            }
            Ok(None) => r.got_body = true,
            Err(e) if e.is_would_block() => return,
            Err(_) => {
                give_up(&mut stream);
                c.reqs.swap_remove(i);
                return;
            }
        }
    }
    let body: &[u8] = if r.body.is_empty() {
        b"hello\n"
    } else {
        &r.body
    };
    if !r.answered {
        let mut res = Headers::response(StatusCode::OK);
        res.append("content-type", "text/plain");
        res.append("content-length", body.len().to_string());
        if stream.write_headers(&res, false).is_err() {
            c.reqs.swap_remove(i);
            return;
        }
        r.answered = true;
    }
    match stream.try_write_chunk(if r.head { &[] } else { body }, true) {
        // Refused while the send buffer is full: kept, and written when `next_ready_stream`
        // names the stream again.
        Err(e) if e.is_would_block() => {}
        _ => {
            c.reqs.swap_remove(i);
        }
    }
}

/// A request that failed (e.g. the client went away in the middle of its body) is reset, not
/// just forgotten: an HTTP/1 connection cannot skip an unanswered request, so the library ends
/// the connection. Without it the connection would wait forever for an answer that never comes,
/// with no deadline left to fire (it is not idle), holding its socket in CLOSE-WAIT.
fn give_up(stream: &mut pollhttp::Stream<'_>) {
    let _ = stream.reset();
}
