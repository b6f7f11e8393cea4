//! Tests of the HTTP/1 core, one file per concern, and the helpers they share: cores of each
//! role ([`server`], [`client`]), readers of what a core wrote or received ([`take_out`],
//! [`head_of`], [`body_of`]) and [`Pair`], a client and a server core talking in memory at a
//! time the test moves.

mod exchange;
mod requests;
mod responses;
mod reuse;
mod timers;

use super::*;
use crate::clock::LazyNow;
pub(super) use http::{Method, StatusCode};
use std::time::Duration;

fn cfg() -> Arc<Config> {
    Arc::new(Config::default())
}

fn server() -> H1Core {
    H1Core::new(Role::Server, cfg(), 1, Instant::now())
}

fn client() -> H1Core {
    H1Core::new(Role::Client, cfg(), 1, Instant::now())
}

fn take_out(c: &mut H1Core) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut c.out)).into_owned()
}

fn body_of(c: &mut H1Core, id: u64) -> Vec<u8> {
    let mut b = Vec::new();
    c.with_recv(id, |r| r.drain_all(&mut b)).unwrap().unwrap();
    b
}

/// Feeds `input` to a fresh server; returns the status line it answered with.
fn answer_to(input: &[u8]) -> String {
    let mut s = server();
    s.recv(input, Instant::now());
    let out = take_out(&mut s);
    out.lines().next().unwrap_or("").to_string()
}

fn client_get(c: &mut H1Core, method: &str) -> u64 {
    let id = c.new_stream().unwrap();
    c.write_headers(
        id,
        &Headers::request(method.parse().expect("a method"), "/", Some("h")),
        true,
    )
    .unwrap();
    id
}

/// The head the application reads next on stream `id` (it must be there).
fn head_of(c: &mut H1Core, id: u64) -> Headers {
    c.with_recv_head(id, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap()
}

/// The body stream `id` got before it was cut short (its error must say so).
fn body_cut_short(c: &mut H1Core, id: u64) -> Vec<u8> {
    let mut b = Vec::new();
    let e = c
        .with_recv(id, |r| r.drain_all(&mut b))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Truncated);
    b
}

/// A fresh server with `cfg`.
fn server_with(cfg: Config) -> H1Core {
    H1Core::new(Role::Server, Arc::new(cfg), 1, Instant::now())
}

/// A fresh server that received `input`, and the first request it took from it.
fn server_got(input: &[u8]) -> (H1Core, u64) {
    let mut s = server();
    s.recv(input, Instant::now());
    let id = s.pop_incoming().expect("a request");
    (s, id)
}

/// The server answers stream `id` with `status` and `body` (its length given), which end
/// the answer.
fn answer(s: &mut H1Core, id: u64, status: u16, body: &[u8]) {
    let mut h = Headers::response(StatusCode::from_u16(status).expect("a status"));
    h.append("content-length", body.len().to_string());
    s.write_headers(id, &h, body.is_empty()).unwrap();
    if !body.is_empty() {
        s.write_body(id, body, true).unwrap();
    }
}

/// A client core and a server core talking in memory, at a time the test moves: the face's
/// part (moving bytes, firing deadlines, noting idleness) done the way `Connection::step`
/// does it, with no socket and no clock of its own.
struct Pair {
    c: H1Core,
    s: H1Core,
    now: Instant,
    /// Bytes on their way to each side that it has not taken yet (it takes them again, with
    /// any that come after them, once it wants to read).
    to_c: Vec<u8>,
    to_s: Vec<u8>,
    /// The client's output stays on the wire (in `wire`) until [`Pair::deliver`] lets it
    /// through: a slow network, or a slow client.
    held: bool,
    wire: Vec<u8>,
}

impl Pair {
    /// Both sides with the default configuration.
    fn new() -> Pair {
        Pair::with(Config::default())
    }

    /// Both sides with `cfg`.
    fn with(cfg: Config) -> Pair {
        let cfg = Arc::new(cfg);
        let now = Instant::now();
        Pair {
            c: H1Core::new(Role::Client, cfg.clone(), 1, now),
            s: H1Core::new(Role::Server, cfg, 1, now),
            now,
            to_c: Vec::new(),
            to_s: Vec::new(),
            held: false,
            wire: Vec::new(),
        }
    }

    /// Moves bytes both ways until neither side has anything to say or take; then each side
    /// notes the time, as the face does after its I/O (and after the application's calls:
    /// call this after them).
    fn pump(&mut self) {
        for _ in 0..1_000 {
            if self.held {
                self.wire.append(&mut self.c.out);
            } else {
                self.to_s.append(&mut self.c.out);
            }
            self.to_c.append(&mut self.s.out);
            let to_s = self.s.recv(&self.to_s, self.now);
            self.to_s.drain(..to_s);
            let to_c = self.c.recv(&self.to_c, self.now);
            self.to_c.drain(..to_c);
            if to_s == 0 && to_c == 0 && self.c.out.is_empty() && self.s.out.is_empty() {
                for core in [&mut self.c, &mut self.s] {
                    core.note_time(&mut LazyNow::at(self.now));
                }
                return;
            }
        }
        panic!("the cores keep talking");
    }

    /// From now on the client's output waits on the wire until [`Pair::deliver`].
    fn hold(&mut self) {
        self.held = true;
    }

    /// Lets the next `n` bytes of the client's held output through to the server.
    fn deliver(&mut self, n: usize) {
        self.pump();
        self.to_s.extend(self.wire.drain(..n));
        self.pump();
    }

    /// Moves the clock to `t0 + since` and steps both sides as the face would: each fires
    /// its deadlines that passed, then bytes move.
    fn at(&mut self, t0: Instant, since: Duration) {
        let now = t0 + since;
        assert!(now >= self.now, "the clock goes forward");
        self.now = now;
        for core in [&mut self.c, &mut self.s] {
            if core.deadline().is_some_and(|d| now >= d) {
                core.on_timeout(now);
            }
        }
        self.pump();
    }

    /// The client sends a request (its head, and its end when `end`); the server receives it.
    /// Returns the client's stream and the server's.
    fn request(&mut self, method: &str, path: &str, end: bool) -> (u64, u64) {
        let id = self.c.new_stream().unwrap();
        let h = Headers::request(method.parse().expect("a method"), path, Some("h"));
        self.c.write_headers(id, &h, end).unwrap();
        self.pump();
        let sid = self.s.pop_incoming().expect("the server got a request");
        (id, sid)
    }

    /// The server answers stream `sid` with `status` and `body`, which end the answer.
    fn answer(&mut self, sid: u64, status: u16, body: &[u8]) {
        answer(&mut self.s, sid, status, body);
        self.pump();
    }

    /// A whole exchange: a GET, its request head read and answered 200 with `body`, and the
    /// response read by the client to its end (every stream gone).
    fn exchange(&mut self, body: &[u8]) {
        let (id, sid) = self.request("GET", "/", true);
        head_of(&mut self.s, sid);
        self.answer(sid, 200, body);
        assert_eq!(head_of(&mut self.c, id).status(), Some(StatusCode::OK));
        assert_eq!(body_of(&mut self.c, id), body);
        self.pump();
        assert!(self.c.is_idle() && self.s.is_idle(), "the exchange is over");
    }
}
