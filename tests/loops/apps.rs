//! The two applications the loops drive: a streaming echo server and a client that sends
//! bodies and checks their echoes byte for byte, each optionally a slow reader (it takes a
//! few bytes per tick of its own clock, so the connection's receive buffers fill and the peer
//! is held back, and every read of the application must make a step due again).

use crate::kinds::Side;
use pollhttp::{
    ClientOptions, Connection, Headers, Listener, Method, StatusCode, StreamId, Target,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The body bytes at every offset: a table of a prime length, so that no two nearby offsets
/// of a long body look alike.
const PERIOD: usize = 65_521;

fn table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut x: u32 = 0x9e37_79b9;
        (0..PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 11) as u8
            })
            .collect()
    })
}

/// The `len` body bytes from `offset`.
pub fn pattern(offset: usize, len: usize) -> Vec<u8> {
    let t = table();
    let mut out = Vec::with_capacity(len);
    let mut at = offset % PERIOD;
    while out.len() < len {
        let n = (PERIOD - at).min(len - out.len());
        out.extend_from_slice(&t[at..at + n]);
        at = 0;
    }
    out
}

/// Whether `data` is the body at `offset`.
pub fn matches(offset: usize, data: &[u8]) -> bool {
    let t = table();
    let mut at = offset % PERIOD;
    let mut rest = data;
    while !rest.is_empty() {
        let n = (PERIOD - at).min(rest.len());
        if rest[..n] != t[at..at + n] {
            return false;
        }
        rest = &rest[n..];
        at = 0;
    }
    true
}

/// How an application reads bodies.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    /// Everything that is there, whenever a stream is named ready.
    Fast,
    /// At most `bytes` per stream each `every`, on its own clock: the rest of a chunk is
    /// put back (`unget`) and the receive buffers fill behind it.
    Slow { bytes: usize, every: Duration },
}

/// The reader's clock: when it reads next.
struct Ticks {
    reader: Reader,
    next: Option<Instant>,
}

impl Ticks {
    fn new(reader: Reader) -> Ticks {
        Ticks { reader, next: None }
    }

    /// Bytes the reader takes from one stream now: unlimited when fast, 0 between ticks.
    fn budget(&self, ticking: bool) -> usize {
        match self.reader {
            Reader::Fast => usize::MAX,
            Reader::Slow { bytes, .. } if ticking => bytes,
            Reader::Slow { .. } => 0,
        }
    }

    /// The reader wants more: arm the next tick if none is armed.
    fn want(&mut self, now: Instant) {
        if let Reader::Slow { every, .. } = self.reader {
            self.next.get_or_insert(now + every);
        }
    }
}

/// Takes at most `budget` bytes of the next chunk (the rest is put back). `Ok(None)` at the
/// end of the body, `Err(true)` for "not yet", `Err(false)` for a failed stream.
fn take(conn: &mut Connection, id: StreamId, budget: usize) -> Result<Option<Vec<u8>>, bool> {
    let mut s = conn.stream(id);
    match s.try_get_next_chunk() {
        Ok(Some(mut d)) => {
            if d.len() > budget {
                s.unget(&d[budget..]).expect("unget");
                d.truncate(budget);
            }
            Ok(Some(d))
        }
        Ok(None) => Ok(None),
        Err(e) if e.is_would_block() => Err(true),
        Err(e) => panic!("stream {id:?} failed: {e}"),
    }
}

/// The slots that hold a connection.
fn open_slots<T>(conns: &[Option<T>]) -> Vec<usize> {
    (0..conns.len()).filter(|&s| conns[s].is_some()).collect()
}

// ---- the echo server ------------------------------------------------------------------------

/// One request being echoed: the response streams the request body back as it is read.
#[derive(Default)]
struct Echo {
    answered: bool,
    /// A piece read and not yet taken by the send side.
    pending: Option<Vec<u8>>,
    ended: bool,
}

struct ServerConn {
    conn: Connection,
    reqs: HashMap<StreamId, Echo>,
}

/// A server that echoes every request's body, streamed, as the body of a 200 answer.
pub struct EchoServer {
    listener: Listener,
    conns: Vec<Option<ServerConn>>,
    ticks: Ticks,
    /// Connections still to accept before the server is finished.
    to_accept: usize,
    pub answered: usize,
}

impl EchoServer {
    pub fn new(listener: Listener, connections: usize, reader: Reader) -> EchoServer {
        EchoServer {
            listener,
            conns: Vec::new(),
            ticks: Ticks::new(reader),
            to_accept: connections,
            answered: 0,
        }
    }

    /// Moves one request on as far as it goes now; `true` when it is over.
    fn echo(
        conn: &mut Connection,
        id: StreamId,
        r: &mut Echo,
        budget: usize,
        answered: &mut usize,
    ) -> bool {
        if !r.answered {
            match conn.stream(id).try_get_headers() {
                Ok(Some(h)) => assert_eq!(h.method(), Some(Method::POST), "request head {h:?}"),
                Ok(None) => return true,
                Err(e) if e.is_would_block() => return false,
                Err(e) => panic!("request head of {id:?}: {e}"),
            }
            let mut head = Headers::response(StatusCode::OK);
            head.append("content-type", "application/octet-stream");
            conn.stream(id)
                .write_headers(&head, false)
                .expect("answer head");
            r.answered = true;
        }
        let mut left = budget;
        loop {
            if let Some(p) = r.pending.take() {
                match conn.stream(id).try_write_chunk(&p, false) {
                    Ok(()) => {}
                    Err(e) if e.is_would_block() => {
                        // Named ready again when there is room.
                        r.pending = Some(p);
                        return false;
                    }
                    Err(e) => panic!("echo of {id:?}: {e}"),
                }
            }
            if r.ended {
                return match conn.stream(id).try_write_chunk(&[], true) {
                    Ok(()) => {
                        *answered += 1;
                        true
                    }
                    Err(e) if e.is_would_block() => false,
                    Err(e) => panic!("end of the echo of {id:?}: {e}"),
                };
            }
            if left == 0 {
                return false;
            }
            match take(conn, id, left) {
                Ok(Some(d)) => {
                    left -= d.len().min(left);
                    if !d.is_empty() {
                        r.pending = Some(d);
                    }
                }
                Ok(None) => r.ended = true,
                Err(_) => return false,
            }
        }
    }

    fn serve_conn(&mut self, slot: usize, ticking: bool) {
        let budget = self.ticks.budget(ticking);
        let Some(Some(sc)) = self.conns.get_mut(slot) else {
            return;
        };
        while let Ok(Some(id)) = sc.conn.try_next_incoming_stream() {
            sc.reqs.insert(id, Echo::default());
        }
        let mut named = Vec::new();
        while let Some(id) = sc.conn.next_ready_stream() {
            named.push(id);
        }
        // A slow reader's tick visits every request; otherwise the ones named ready.
        let ids: Vec<StreamId> = if ticking {
            sc.reqs.keys().copied().collect()
        } else {
            named
        };
        let mut wants_more = false;
        for id in ids {
            let Some(r) = sc.reqs.get_mut(&id) else {
                continue;
            };
            if Self::echo(&mut sc.conn, id, r, budget, &mut self.answered) {
                sc.reqs.remove(&id);
            } else if r.answered && !r.ended && r.pending.is_none() {
                wants_more = true;
            }
        }
        if wants_more || sc.reqs.values().any(|r| r.answered && !r.ended) {
            self.ticks.want(Instant::now());
        }
    }
}

impl Side for EchoServer {
    fn listener(&mut self) -> Option<&mut Listener> {
        Some(&mut self.listener)
    }

    fn accepted(&mut self, mut conn: Connection) -> usize {
        assert!(self.to_accept > 0, "more connections than the test made");
        self.to_accept -= 1;
        // Many answers per turn go out together.
        conn.set_auto_flush(false);
        self.conns.push(Some(ServerConn {
            conn,
            reqs: HashMap::new(),
        }));
        self.conns.len() - 1
    }

    fn slots(&self) -> usize {
        self.conns.len()
    }

    fn conn(&mut self, slot: usize) -> Option<&mut Connection> {
        self.conns.get_mut(slot)?.as_mut().map(|c| &mut c.conn)
    }

    fn serve(&mut self, slot: usize) {
        self.serve_conn(slot, false);
        if let Some(Some(sc)) = self.conns.get_mut(slot) {
            let _ = sc.conn.try_flush();
        }
    }

    fn app_deadline(&self) -> Option<Instant> {
        self.ticks.next
    }

    fn app_tick(&mut self, _now: Instant) -> Vec<usize> {
        self.ticks.next = None;
        let slots = open_slots(&self.conns);
        for &slot in &slots {
            self.serve_conn(slot, true);
            if let Some(Some(sc)) = self.conns.get_mut(slot) {
                let _ = sc.conn.try_flush();
            }
        }
        slots
    }

    fn remove(&mut self, slot: usize) {
        if let Some(sc) = self.conns[slot].take() {
            if let Some(e) = sc.conn.error() {
                eprintln!(
                    "DEBUG server conn {slot} closed with {e} ({:?}), {} reqs open",
                    e.kind(),
                    sc.reqs.len()
                );
            }
        }
    }

    fn finished(&self) -> bool {
        self.to_accept == 0 && self.conns.iter().all(Option::is_none)
    }
}

// ---- the client -----------------------------------------------------------------------------

/// One request: a body of `size` bytes, sent as fast as the connection takes it, and its echo
/// checked as it arrives.
struct Exchange {
    size: usize,
    id: Option<StreamId>,
    sent: usize,
    got_head: bool,
    received: usize,
    done: bool,
}

struct ClientConn {
    conn: Connection,
    exchanges: Vec<Exchange>,
    /// Streams are opened once the connection is up (a TLS connection that may pick HTTP/2
    /// by ALPN must not get requests before), or at once (`eager`).
    eager: bool,
    shut: bool,
}

/// What a client test sends.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub opts: ClientOptions,
    /// One entry per connection: the body sizes of its requests (all written at once: pipelined
    /// over HTTP/1.1, concurrent streams over HTTP/2).
    pub connections: Vec<Vec<usize>>,
    pub reader: Reader,
    /// Write requests before the connection is up (not over TLS with HTTP/2 offered).
    pub eager: bool,
}

/// A client that sends bodies and checks every byte of their echoes.
pub struct EchoClient {
    conns: Vec<Option<ClientConn>>,
    ticks: Ticks,
    /// Piece size of the writes.
    piece: usize,
    pub checked: usize,
    pub bytes: usize,
}

impl EchoClient {
    pub fn new(plan: &Plan) -> EchoClient {
        let conns = plan
            .connections
            .iter()
            .map(|sizes| {
                let conn =
                    Connection::client(plan.target.clone(), plan.opts.clone()).expect("client");
                Some(ClientConn {
                    conn,
                    exchanges: sizes
                        .iter()
                        .map(|&size| Exchange {
                            size,
                            id: None,
                            sent: 0,
                            got_head: false,
                            received: 0,
                            done: false,
                        })
                        .collect(),
                    eager: plan.eager,
                    shut: false,
                })
            })
            .collect();
        EchoClient {
            conns,
            ticks: Ticks::new(plan.reader),
            piece: 16 * 1024,
            checked: 0,
            bytes: 0,
        }
    }

    fn start(cc: &mut ClientConn) {
        if !(cc.eager || cc.conn.is_connected()) {
            return;
        }
        for x in cc.exchanges.iter_mut().filter(|x| x.id.is_none()) {
            let id = cc.conn.new_stream().expect("new_stream");
            // No :authority: the library fills in the target's.
            let mut head = Headers::request(Method::POST, "/echo", None);
            head.append("content-length", x.size.to_string());
            cc.conn
                .stream(id)
                .write_headers(&head, x.size == 0)
                .expect("request head");
            x.id = Some(id);
        }
    }

    /// Sends what the connection takes now; reads and checks what it may.
    fn turn(cc: &mut ClientConn, piece: usize, budget: usize) -> (usize, usize, bool) {
        let (mut checked, mut bytes, mut wants_more) = (0, 0, false);
        for x in cc.exchanges.iter_mut().filter(|x| !x.done) {
            let Some(id) = x.id else { continue };
            while x.sent < x.size {
                let n = piece.min(x.size - x.sent);
                let end = x.sent + n == x.size;
                match cc.conn.stream(id).try_write_chunk(&pattern(x.sent, n), end) {
                    Ok(()) => x.sent += n,
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("request body of {id:?}: {e}"),
                }
            }
            if !x.got_head {
                match cc.conn.stream(id).try_get_headers() {
                    Ok(Some(h)) => {
                        assert_eq!(h.status(), Some(StatusCode::OK), "answer head {h:?}");
                        x.got_head = true;
                    }
                    Ok(None) => panic!("{id:?} ended without an answer"),
                    Err(e) if e.is_would_block() => continue,
                    Err(e) => panic!("answer head of {id:?}: {e}"),
                }
            }
            let mut left = budget;
            while left > 0 {
                match take(&mut cc.conn, id, left) {
                    Ok(Some(d)) => {
                        assert!(
                            matches(x.received, &d),
                            "{id:?}: the echo differs from the body within bytes {}..{}",
                            x.received,
                            x.received + d.len()
                        );
                        x.received += d.len();
                        left -= d.len().min(left);
                        bytes += d.len();
                    }
                    Ok(None) => {
                        assert_eq!(x.received, x.size, "{id:?}: echo length");
                        assert_eq!(x.sent, x.size, "{id:?}: answered before its body was sent");
                        x.done = true;
                        checked += 1;
                        break;
                    }
                    Err(_) => break,
                }
            }
            if !x.done {
                wants_more = true;
            }
        }
        (checked, bytes, wants_more)
    }

    fn serve_conn(&mut self, slot: usize, ticking: bool) {
        let budget = self.ticks.budget(ticking);
        let piece = self.piece;
        let Some(Some(cc)) = self.conns.get_mut(slot) else {
            return;
        };
        Self::start(cc);
        while cc.conn.next_ready_stream().is_some() {}
        let (checked, bytes, wants_more) = Self::turn(cc, piece, budget);
        self.checked += checked;
        self.bytes += bytes;
        if cc.exchanges.iter().all(|x| x.done) && !cc.shut {
            // Every echo checked: a graceful end, then the connection closes by itself.
            cc.shut = true;
            cc.conn.shutdown();
        }
        if wants_more {
            self.ticks.want(Instant::now());
        }
    }
}

impl Side for EchoClient {
    fn listener(&mut self) -> Option<&mut Listener> {
        None
    }

    fn accepted(&mut self, _: Connection) -> usize {
        unreachable!("a client accepts nothing")
    }

    fn slots(&self) -> usize {
        self.conns.len()
    }

    fn conn(&mut self, slot: usize) -> Option<&mut Connection> {
        self.conns.get_mut(slot)?.as_mut().map(|c| &mut c.conn)
    }

    fn serve(&mut self, slot: usize) {
        self.serve_conn(slot, false);
    }

    fn app_deadline(&self) -> Option<Instant> {
        self.ticks.next
    }

    fn app_tick(&mut self, _now: Instant) -> Vec<usize> {
        self.ticks.next = None;
        let slots = open_slots(&self.conns);
        for &slot in &slots {
            self.serve_conn(slot, true);
        }
        slots
    }

    fn remove(&mut self, slot: usize) {
        let mut cc = self.conns[slot].take().expect("a connection to remove");
        // What arrived before the close is still there to read (a slow reader left it).
        let (checked, bytes, _) = Self::turn(&mut cc, self.piece, usize::MAX);
        self.checked += checked;
        self.bytes += bytes;
        let open: Vec<String> = cc
            .exchanges
            .iter()
            .filter(|x| !x.done)
            .map(|x| {
                format!(
                    "{:?}: {} bytes, {} sent, head {}, {} received",
                    x.id, x.size, x.sent, x.got_head, x.received
                )
            })
            .collect();
        assert!(
            open.is_empty(),
            "the connection closed ({:?}) with exchanges unfinished: {open:?}",
            cc.conn.error().map(|e| e.to_string()),
        );
    }

    fn finished(&self) -> bool {
        self.conns.iter().all(Option::is_none)
    }
}
