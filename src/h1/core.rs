//! The sans-IO HTTP/1 connection core, both roles.
//!
//! It takes received bytes and the current time, and produces outgoing bytes, stream events
//! and deadlines; it never sees a socket or a clock. Streams are kept in request order: a
//! server answers pipelined requests in the order they came (a response written early is held
//! back until the ones before it are done) and a client matches responses to requests in the
//! order the requests went out.
//!
//! Receiving is one small state machine ([`Recv`]): a head, then a body delimited by length,
//! chunks or close, then the next head. Any rule the peer breaks ends receiving: a server
//! answers the status the error names, after the responses it owes, and closes.

use super::chunked::{encode_chunk_head, encode_last_chunk, ChunkedDecoder, CRLF};
use super::encode::{
    request_head, response_head, response_head_reusing, RequestInfo, RequestSending, Sending,
};
use super::head::{Framing, Head};
use super::parse::{parse_request_reusing, parse_response};
use super::reuse::{pool_give, pool_take, KeepRule, KeptHead};
use super::stream_state::StreamState;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::recv::{closed_stream, RecvSide};
use crate::Role;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug)]
enum BodyDec {
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    Close,
}

/// What the receiving half of the connection is doing.
#[derive(Debug)]
enum Recv {
    /// Waiting for (the rest of) a head.
    Head,
    /// Receiving the body of stream `id`; `discard` when nobody will read it.
    Body { id: u64, dec: BodyDec },
    /// A head asked for a protocol switch (Upgrade, CONNECT); nothing more is parsed until the
    /// answer decides whether the connection becomes a tunnel.
    Paused,
    /// The connection is a raw tunnel now; bytes are the caller's.
    Tunnel,
    /// Nothing more will be read (error, close requested, or the peer's end).
    Closed,
}

#[derive(Debug)]
pub(crate) struct H1Stream {
    pub id: u64,
    pub recv: RecvSide,
    /// The request (server) or the request we sent (client).
    info: RequestInfo,
    /// The final head was sent; how its body is delimited.
    sending: Option<Sending>,
    send_left: u64,
    pub send_end: bool,
    /// Bytes written while another stream's message was still going out.
    pending: Vec<u8>,
    /// Server: an error response owed in place of the application's answer.
    error_answer: Option<Error>,
    /// Server: 100 Continue was asked for and not yet answered.
    expect_continue: bool,
    /// The application gave up on the stream (reset); its input is discarded.
    abandoned: bool,
    /// Client: the request head went out and a response is expected.
    awaiting: bool,
    /// In the ready list already.
    queued: bool,
    /// In `send_order`: its message (or the right to write it) is still to go out.
    in_send_order: bool,
    /// Made by the connection to carry an error answer; the application never sees it.
    synthetic: bool,
    /// The minor HTTP version of the peer's last head.
    peer_minor: u8,
}

impl H1Stream {
    fn new(id: u64, info: RequestInfo) -> H1Stream {
        H1Stream {
            id,
            recv: RecvSide::default(),
            info,
            sending: None,
            send_left: 0,
            send_end: false,
            pending: Vec::new(),
            error_answer: None,
            expect_continue: false,
            abandoned: false,
            awaiting: false,
            queued: false,
            in_send_order: false,
            synthetic: false,
            peer_minor: info.minor,
        }
    }
}

/// What is kept of a removed stream: what a caller may still ask after the end.
#[derive(Debug)]
struct Finished {
    id: u64,
    trailers: Option<Headers>,
    close_delimited: bool,
    /// The error that ended it, if the application has not seen it yet.
    error: Option<Error>,
}

/// Client: the last request head encoded, copied as it is when the next request's head is
/// stored identically (a load generator or a polling client sends the same head again and
/// again; validating and encoding it each time was about a fifth of a pipelined request).
#[derive(Debug)]
struct EncodedRequest {
    headers: Headers,
    minor: u8,
    end: bool,
    bytes: Vec<u8>,
    req: RequestSending,
}

/// Client: the last response head parsed, taken as it is when the next response's head has
/// the same bytes (a server answers a repeated request with the same head, at least within
/// the second of its `Date`; parsing the head and storing its fields was about a quarter of a
/// pipelined request). What a head parses to depends only on its bytes, the request's
/// method and the configuration, which a connection keeps.
#[derive(Debug)]
struct ParsedResponse {
    method_head: bool,
    method_connect: bool,
    kept: KeptHead,
}

impl ParsedResponse {
    /// The head at the start of `buf` when it is this one (answering a request of the same
    /// kind), its fields stored in a head of `spare` when there is one; and its length.
    fn take_if_same(
        &self,
        buf: &[u8],
        method_head: bool,
        method_connect: bool,
        spare: &mut Vec<Headers>,
    ) -> Option<(Head, usize)> {
        if self.method_head != method_head || self.method_connect != method_connect {
            return None;
        }
        self.kept
            .take_if_same(buf, || spare.pop().unwrap_or_default())
    }

    /// Remembers `head`, the `bytes` it was parsed from.
    fn store(&mut self, bytes: &[u8], method_head: bool, method_connect: bool, head: &Head) {
        self.method_head = method_head;
        self.method_connect = method_connect;
        self.kept.replace(bytes, head);
    }
}

/// The largest response head kept in `ClientReuse::last_response`.
const PARSED_RESPONSE_KEPT: usize = 1024;

/// See `KeepRule`: after this many response heads in a row that differed from the one kept,
/// a new one is kept only once in `RESPONSE_RETRY` heads (heads that never repeat cost little
/// more).
const RESPONSE_MISSES: u32 = 2;
const RESPONSE_RETRY: u32 = 16;

/// What a client connection keeps to reuse from one request to the next; boxed, so that a
/// server connection pays one pointer for it.
#[derive(Debug, Default)]
struct ClientReuse {
    /// The last request head encoded (see `EncodedRequest`).
    last_request: Option<EncodedRequest>,
    /// Cleared response heads the application gave back, to parse the next ones into.
    spare_heads: Vec<Headers>,
    /// Body storage finished responses left behind (emptied), for later responses' bodies:
    /// with a caller that takes bodies with `try_get_body_into` into a reused buffer (whose
    /// storage it swaps in), a pipelined batch allocates no body storage per response.
    spare_bodies: Vec<Vec<u8>>,
    /// The streams whose request heads went out, in the order they did (responses come in
    /// this order, which is the streams' order unless heads were written out of it). Streams
    /// at the front that were answered, or are gone, are dropped when the next head comes.
    wire_order: VecDeque<u64>,
    /// The last response head parsed (see `ParsedResponse`).
    last_response: Option<ParsedResponse>,
    /// When to keep a new response head.
    response_rule: KeepRule,
}

/// The most storage of a response head kept for reuse (`H1Core::recycle_head`).
const SPARE_HEAD_BYTES: usize = 4096;

/// The most storage of a response body kept for reuse (`ClientReuse::spare_bodies`).
const SPARE_BODY_BYTES: usize = 4096;

/// The largest encoded request head kept in `ClientReuse::last_request`.
const ENCODED_REQUEST_KEPT: usize = 1024;

/// Encodes a request head into `out`, or copies the bytes of `cache` when it holds the same
/// head; a head encoded afresh replaces the cache (when small). On an error `out` may hold
/// part of the head: the caller truncates it.
fn encode_request(
    cache: &mut Option<EncodedRequest>,
    out: &mut Vec<u8>,
    h: &Headers,
    minor: u8,
    end: bool,
    default_authority: Option<&str>,
) -> Result<RequestSending> {
    if let Some(c) = cache.as_ref() {
        if c.minor == minor && c.end == end && c.headers.same_storage(h) {
            out.extend_from_slice(&c.bytes);
            return Ok(c.req);
        }
    }
    let start = out.len();
    let req = request_head(out, h, minor, end, default_authority)?;
    let bytes = &out[start..];
    if bytes.len() > ENCODED_REQUEST_KEPT {
        *cache = None;
        return Ok(req);
    }
    let c = cache.get_or_insert_with(|| EncodedRequest {
        headers: Headers::new(),
        minor,
        end,
        bytes: Vec::new(),
        req,
    });
    c.headers.copy_from(h);
    c.minor = minor;
    c.end = end;
    c.bytes.clear();
    c.bytes.extend_from_slice(bytes);
    c.req = req;
    Ok(req)
}

/// The output buffer's size when it starts again (most answers' heads fit).
pub(crate) const OUT_START: usize = 512;

/// The most streams of room an idle client connection keeps (see `H1Core::keeps_stream_room`).
const CLIENT_STREAM_ROOM: usize = 32;
/// Removed streams remembered for late questions.
const FINISHED_KEPT: usize = 8;

/// The most stream rooms a thread's pool holds (one record each, about 400 bytes).
const POOLED_STREAM_ROOMS: usize = 64;

thread_local! {
    /// Rooms for one stream record, given back by server connections that went idle: the next
    /// request on any of the thread's connections takes one instead of allocating. (The
    /// allocator's own per-thread cache holds too few blocks of this size for a server whose
    /// connections take turns.)
    static STREAM_ROOMS: std::cell::RefCell<Vec<VecDeque<H1Stream>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty queue with room for one stream record.
fn take_stream_room() -> VecDeque<H1Stream> {
    pool_take(&STREAM_ROOMS).unwrap_or_else(|| VecDeque::with_capacity(1))
}

/// Gives an empty queue's room to the thread's pool (dropped when the pool is full).
fn give_stream_room(room: VecDeque<H1Stream>) {
    debug_assert!(room.is_empty());
    if room.capacity() == 1 {
        pool_give(&STREAM_ROOMS, room, POOLED_STREAM_ROOMS);
    }
}

/// The HTTP/1 core of one connection.
pub(crate) struct H1Core {
    finished: VecDeque<Finished>,
    /// Streams told "would block" for a full send buffer: ready again once it drains.
    blocked_writers: Vec<u64>,
    role: Role,
    cfg: Arc<Config>,
    /// The minor version a client speaks (server: answers in the request's version).
    minor: u8,
    streams: VecDeque<H1Stream>,
    next_id: u64,
    recv: Recv,
    /// Streams in the order their messages go out; the front writes straight to `out`.
    send_order: VecDeque<u64>,
    pub out: Vec<u8>,
    /// The connection carries no message after the ones in flight.
    closing: bool,
    /// Everything is done; close once `out` is flushed.
    done: bool,
    /// Client: the application shut the connection down. No new requests; the connection
    /// closes once every request in flight has its whole answer (a server's shutdown is
    /// `closing` alone: it stops reading requests at once and answers the ones it has).
    shut_down: bool,
    pub incoming: VecDeque<u64>,
    pub ready: VecDeque<u64>,
    /// Streams put on `ready` so far (wrapping): the face tells news that came from an
    /// application's call, outside a step, by it.
    pub readied: u64,
    /// A head started arriving at this time and is not complete.
    head_since: Option<Instant>,
    /// Nothing in flight since this time.
    idle_since: Option<Instant>,
    /// The HTTP Date value to send (set by the connection face).
    pub date: [u8; 29],
    /// Flush as soon as a message ends (clients; servers decide per pipeline).
    pub auto_flush: bool,
    /// Server: a request offered `Upgrade: h2c` acceptably (RFC 7540 §3.2): its head and the
    /// decoded `HTTP2-Settings`. Parsing stopped there; the face answers 101 and hands the
    /// connection to HTTP/2.
    pub h2c: Option<(Headers, Vec<u8>)>,
    /// Set when a message ended and output should go out now.
    pub want_flush: bool,
    /// Why the connection ended, if it failed.
    pub failure: Option<Error>,
    /// Client: what is reused from one request to the next.
    reuse: Option<Box<ClientReuse>>,
    /// Client: the `Host` of a request head that names none (the connection's target).
    authority: Option<Box<str>>,
}

fn info_default() -> RequestInfo {
    RequestInfo {
        minor: 1,
        head: false,
        connect: false,
        keep_alive: true,
    }
}

impl H1Core {
    pub(crate) fn new(role: Role, cfg: Arc<Config>, minor: u8, now: Instant) -> H1Core {
        H1Core {
            finished: VecDeque::new(),
            blocked_writers: Vec::new(),
            role,
            cfg,
            minor,
            streams: VecDeque::new(),
            next_id: 1,
            recv: Recv::Head,
            send_order: VecDeque::new(),
            out: Vec::new(),
            closing: false,
            shut_down: false,
            authority: None,
            done: false,
            incoming: VecDeque::new(),
            ready: VecDeque::new(),
            readied: 0,
            head_since: None,
            idle_since: Some(now),
            date: [0; 29],
            auto_flush: true,
            h2c: None,
            want_flush: false,
            failure: None,
            reuse: None,
        }
    }

    /// Takes back a head the application has read, to parse a later head into its storage. A
    /// client keeps up to `CLIENT_STREAM_ROOM` small ones (a pipelined batch's); a server
    /// keeps none itself and gives them to its thread's pool for later requests.
    pub(crate) fn recycle_head(&mut self, mut h: Headers) {
        if self.role == Role::Server {
            // Servers keep none per connection (they hold many idle ones): the thread's pool
            // takes it for a later request on any connection.
            super::parse::give_spare_request_head(h);
            return;
        }
        if h.storage_bytes() > SPARE_HEAD_BYTES {
            return;
        }
        let spare = &mut self.reuse.get_or_insert_with(Default::default).spare_heads;
        if spare.len() < CLIENT_STREAM_ROOM {
            h.clear();
            spare.push(h);
        }
    }

    /// Inlined: a client request looks its stream up several times, and the usual case is a
    /// few loads and one compare.
    #[inline]
    fn find(&self, id: u64) -> Option<usize> {
        // Streams are pushed at the back with increasing ids and removed from anywhere, so the
        // queue is sorted by id, and while none was removed out of order the id is its own
        // index. A walk over the records (a few hundred bytes each) cost more per lookup than
        // the rest of a pipelined request's bookkeeping.
        let first = self.streams.front()?.id;
        let guess = usize::try_from(id.checked_sub(first)?).ok()?;
        if self.streams.get(guess).is_some_and(|s| s.id == id) {
            return Some(guess);
        }
        self.find_after_removals(id)
    }

    /// [`find`](Self::find) once streams were removed out of order.
    #[cold]
    #[inline(never)]
    fn find_after_removals(&self, id: u64) -> Option<usize> {
        self.streams.binary_search_by_key(&id, |s| s.id).ok()
    }

    fn mark_ready(&mut self, i: usize) {
        let s = &mut self.streams[i];
        if !s.queued && !s.abandoned && !s.synthetic {
            s.queued = true;
            self.ready.push_back(s.id);
            self.readied = self.readied.wrapping_add(1);
        }
    }

    /// Stream `id` was refused a write because the send buffer is full.
    pub(crate) fn note_blocked_writer(&mut self, id: u64) {
        if !self.blocked_writers.contains(&id) {
            self.blocked_writers.push(id);
        }
    }

    /// The send buffer drained: the streams refused a write may write again.
    pub(crate) fn wake_writers(&mut self) {
        for id in std::mem::take(&mut self.blocked_writers) {
            if let Some(i) = self.find(id) {
                self.mark_ready(i);
            }
        }
    }

    pub(crate) fn has_blocked_writers(&self) -> bool {
        !self.blocked_writers.is_empty()
    }

    /// Pops the next stream with news, clearing its flag.
    pub(crate) fn next_ready(&mut self) -> Option<u64> {
        while let Some(id) = self.ready.pop_front() {
            if let Some(i) = self.find(id) {
                self.streams[i].queued = false;
                return Some(id);
            }
            if self.finished.iter().any(|f| f.id == id) {
                // Gone already, but with something left to tell (its error, its trailers).
                return Some(id);
            }
        }
        None
    }

    /// Whether the receiving side wants more bytes now.
    /// Client: the `Host` of request heads that name none.
    pub(crate) fn set_authority(&mut self, authority: &str) {
        self.authority = Some(authority.into());
    }

    #[inline(always)]
    pub(crate) fn wants_read(&self) -> bool {
        match &self.recv {
            Recv::Head => {
                self.role == Role::Client || self.streams.len() < self.cfg.max_pipelined.max(1)
            }
            Recv::Body { id, .. } => match self.find(*id) {
                Some(i) => self.streams[i].recv.buffered() < self.cfg.recv_buffer,
                None => true,
            },
            Recv::Paused | Recv::Tunnel | Recv::Closed => false,
        }
    }

    /// Whether the connection is finished and should be closed once output is flushed.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    pub(crate) fn is_tunnel(&self) -> bool {
        matches!(self.recv, Recv::Tunnel)
    }

    /// A body is being received: an end of input now cuts a message.
    pub(crate) fn mid_message(&self) -> bool {
        matches!(self.recv, Recv::Body { .. })
    }

    /// No message in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.streams.is_empty() && self.head_since.is_none()
    }

    /// Server: requests parsed but not yet fully answered.
    pub(crate) fn in_flight(&self) -> usize {
        self.streams.len()
    }

    /// The earliest deadline of the core.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let head = self
            .head_since
            .zip(self.cfg.head_timeout)
            .map(|(t, d)| t + d);
        let idle = self
            .idle_since
            .zip(self.cfg.idle_timeout)
            .map(|(t, d)| t + d);
        match (head, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires the deadlines that passed.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if let (Some(t), Some(d)) = (self.head_since, self.cfg.head_timeout) {
            if now >= t + d {
                self.head_since = None;
                let e = Error::protocol(408, "request head not received in time");
                log::debug!("h1: {e}");
                match self.role {
                    Role::Server => self.fail_receiving(e),
                    Role::Client => self.fail_all(Error::timed_out("response head")),
                }
                return;
            }
        }
        if let (Some(t), Some(d)) = (self.idle_since, self.cfg.idle_timeout) {
            if now >= t + d && self.streams.is_empty() {
                log::debug!("h1: idle keep-alive connection timed out");
                self.idle_since = None;
                self.recv = Recv::Closed;
                self.closing = true;
                self.done = true;
            }
        }
    }

    /// Feeds received bytes; returns how many were consumed. Unconsumed bytes must be offered
    /// again (with more after them) once [`wants_read`](Self::wants_read) says so.
    pub(crate) fn recv(&mut self, buf: &[u8], now: Instant) -> usize {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            match &mut self.recv {
                Recv::Head => {
                    if rest.is_empty() || !self.wants_read() {
                        return pos;
                    }
                    match self.recv_head(rest, now) {
                        Ok(0) => {
                            if self.head_since.is_none() && self.role == Role::Server {
                                self.head_since = Some(now);
                            }
                            self.idle_since = None;
                            return pos;
                        }
                        Ok(n) => pos += n,
                        Err(e) => {
                            self.fail_receiving(e);
                            return buf.len();
                        }
                    }
                }
                Recv::Body { .. } => {
                    let Recv::Body { id, mut dec } =
                        std::mem::replace(&mut self.recv, Recv::Closed)
                    else {
                        unreachable!()
                    };
                    let i = self.find(id);
                    let live = i.filter(|&i| !self.streams[i].abandoned);
                    let limit = match live {
                        Some(i) => self
                            .cfg
                            .recv_buffer
                            .saturating_sub(self.streams[i].recv.buffered()),
                        None => usize::MAX,
                    };
                    if limit == 0 || (rest.is_empty() && !matches!(dec, BodyDec::Length(0))) {
                        self.recv = Recv::Body { id, dec };
                        return pos;
                    }
                    let mut sink = live.map(|i| &mut self.streams[i].recv);
                    let mut push = |d: &[u8]| {
                        if let Some(r) = sink.as_deref_mut() {
                            r.push_body(d);
                        }
                    };
                    let (used, done) = match &mut dec {
                        BodyDec::Length(left) => {
                            let n = (*left).min(rest.len() as u64).min(limit as u64) as usize;
                            push(&rest[..n]);
                            *left -= n as u64;
                            (n, *left == 0)
                        }
                        BodyDec::Close => {
                            let n = rest.len().min(limit);
                            push(&rest[..n]);
                            (n, false)
                        }
                        BodyDec::Chunked(d) => {
                            let r = &rest[..rest.len().min(limit.max(64))];
                            match d.decode(r, self.cfg.max_head_size, self.cfg.max_headers, push) {
                                Ok(dd) => (dd.consumed, dd.done),
                                Err(e) => {
                                    self.fail_receiving(e);
                                    return buf.len();
                                }
                            }
                        }
                    };
                    let trailers = match &mut dec {
                        BodyDec::Chunked(d) if done => d.take_trailers(),
                        _ => None,
                    };
                    pos += used;
                    if let Some(i) = i {
                        if let Err(e) = self.check_body_limit(i) {
                            self.fail_receiving(e);
                            return buf.len();
                        }
                        if used > 0 || done {
                            self.mark_ready(i);
                        }
                    }
                    if done {
                        self.end_of_body_at(i, trailers);
                    } else {
                        self.recv = Recv::Body { id, dec };
                        if used == 0 {
                            return pos;
                        }
                    }
                }
                Recv::Paused | Recv::Tunnel | Recv::Closed => return pos,
            }
        }
    }

    fn check_body_limit(&self, i: usize) -> Result<()> {
        let s = &self.streams[i];
        let limit = match self.role {
            Role::Server => self.cfg.max_request_body,
            Role::Client => self.cfg.max_response_body,
        };
        match limit {
            Some(max) if s.recv.total > max => Err(Error::new(
                ErrorKind::Limit,
                format!("body larger than the limit of {max} bytes"),
            )
            .with_status(413)),
            _ => Ok(()),
        }
    }

    fn end_of_body(&mut self, id: u64, trailers: Option<Headers>) {
        let i = self.find(id);
        self.end_of_body_at(i, trailers);
    }

    /// [`end_of_body`](Self::end_of_body) for the stream at index `i` of the queue (`None`:
    /// gone already).
    fn end_of_body_at(&mut self, i: Option<usize>, trailers: Option<Headers>) {
        self.recv = if self.closing {
            Recv::Closed
        } else {
            Recv::Head
        };
        if let Some(i) = i {
            let s = &mut self.streams[i];
            s.recv.end = true;
            s.recv.trailers = trailers;
            if self.role == Role::Client {
                s.awaiting = false;
                // Answered: off the front of the wire order (see `ClientReuse::wire_order`).
                let id = s.id;
                if let Some(r) = self.reuse.as_deref_mut() {
                    if r.wire_order.front() == Some(&id) {
                        r.wire_order.pop_front();
                    }
                }
            }
            self.mark_ready(i);
            self.reap_at(i);
        }
        if self.role == Role::Client && self.closing {
            self.fail_unanswered();
        }
        self.check_done();
    }

    /// Parses one head; returns bytes consumed (0: incomplete).
    fn recv_head(&mut self, buf: &[u8], now: Instant) -> Result<usize> {
        match self.role {
            Role::Server => {
                let Some((head, n)) = parse_request_reusing(buf, &self.cfg)? else {
                    return Ok(0);
                };
                self.head_since = None;
                self.idle_since = None;
                self.on_request(head, now);
                Ok(n)
            }
            Role::Client => {
                // The oldest request on the wire gets the response (RFC 9112 9.3.2).
                let oldest = loop {
                    let Some(&id) = self.reuse.as_ref().and_then(|r| r.wire_order.front()) else {
                        break None;
                    };
                    match self.find(id) {
                        Some(i) if self.streams[i].awaiting => break Some(i),
                        _ => {
                            if let Some(r) = self.reuse.as_deref_mut() {
                                r.wire_order.pop_front();
                            }
                        }
                    }
                };
                let Some(i) = oldest else {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        "response received with no request outstanding",
                    ));
                };
                let info = self.streams[i].info;
                let reuse = self.reuse.get_or_insert_with(Default::default);
                let reusing = self.cfg.reuse_heads;
                if let Some(last) = reuse.last_response.as_ref().filter(|_| reusing) {
                    let spare = &mut reuse.spare_heads;
                    if let Some((head, n)) = last.take_if_same(buf, info.head, info.connect, spare)
                    {
                        reuse.response_rule.hit();
                        self.on_response(i, head);
                        return Ok(n);
                    }
                }
                let Some((head, n)) = parse_response(
                    buf,
                    &self.cfg,
                    info.head,
                    info.connect,
                    &mut reuse.spare_heads,
                )?
                else {
                    return Ok(0);
                };
                if reusing
                    && reuse
                        .response_rule
                        .keep_after_miss(RESPONSE_MISSES, RESPONSE_RETRY)
                    && n <= PARSED_RESPONSE_KEPT
                {
                    let bytes = &buf[..n];
                    match &mut reuse.last_response {
                        Some(last) => last.store(bytes, info.head, info.connect, &head),
                        None => {
                            reuse.last_response = Some(ParsedResponse {
                                method_head: info.head,
                                method_connect: info.connect,
                                kept: KeptHead::new(bytes, &head),
                            })
                        }
                    }
                }
                self.on_response(i, head);
                Ok(n)
            }
        }
    }

    fn on_request(&mut self, head: Head, _now: Instant) {
        if head.upgrade
            && head.framing == Framing::Empty
            && !head.method_connect
            && self.cfg.http2.enabled
            && self.streams.is_empty()
        {
            if let Some(settings) =
                crate::h2::upgrade::h2c_offer(&head.headers, self.cfg.http2.max_frame_size)
            {
                log::debug!("h1: request upgrades to h2c");
                self.h2c = Some((head.headers, settings));
                self.recv = Recv::Paused;
                return;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let info = RequestInfo {
            minor: head.minor,
            head: head.method_head,
            connect: head.method_connect,
            keep_alive: head.keep_alive,
        };
        let mut s = H1Stream::new(id, info);
        s.expect_continue = head.expect_continue;
        s.recv.got_final_head = true;
        if !head.keep_alive {
            self.closing = true;
        }
        let too_big = match (head.framing, self.cfg.max_request_body) {
            (Framing::Length(n), Some(max)) => n > max,
            _ => false,
        };
        s.recv.heads.push_back(head.headers);
        self.room_for_stream();
        self.streams.push_back(s);
        self.push_send_order(self.streams.len() - 1);
        if too_big {
            // Refuse before the body arrives: the client may still be waiting for 100.
            let max = self.cfg.max_request_body.unwrap_or(0);
            self.fail_receiving(
                Error::new(
                    ErrorKind::Limit,
                    format!("request body larger than the limit of {max} bytes"),
                )
                .with_status(413),
            );
            return;
        }
        self.incoming.push_back(id);
        let i = self.streams.len() - 1;
        self.mark_ready(i);
        self.recv = match head.framing {
            Framing::Length(n) => Recv::Body {
                id,
                dec: BodyDec::Length(n),
            },
            Framing::Chunked => Recv::Body {
                id,
                dec: BodyDec::Chunked(Box::new(ChunkedDecoder::new())),
            },
            _ => {
                self.streams[i].recv.end = true;
                if head.upgrade || info.connect {
                    Recv::Paused
                } else if self.closing {
                    Recv::Closed
                } else {
                    Recv::Head
                }
            }
        };
        if head.upgrade && !matches!(self.recv, Recv::Paused) {
            // An upgrade with a body: the answer comes after the body; pause then.
            log::debug!("h1: upgrade request with a body; upgrade refused by framing");
        }
    }

    fn on_response(&mut self, i: usize, head: Head) {
        let id = self.streams[i].id;
        let status = head.status;
        let s = &mut self.streams[i];
        s.peer_minor = head.minor;
        if (100..200).contains(&status) && status != 101 {
            if status == 100 {
                // `100 Continue` only lets the body go; the application sees the heads that
                // mean something to it (103 Early Hints, ...).
                s.expect_continue = false;
                return;
            }
            s.recv.heads.push_back(head.headers);
            self.mark_ready(i);
            return;
        }
        s.recv.got_final_head = true;
        s.recv.heads.push_back(head.headers);
        if !head.keep_alive {
            self.closing = true;
        }
        if matches!(
            head.framing,
            Framing::Length(_) | Framing::Chunked | Framing::Close
        ) {
            if let Some(room) = self.reuse.as_deref_mut().and_then(|r| r.spare_bodies.pop()) {
                s.recv.give_body_room(room);
            }
        }
        self.recv = match head.framing {
            Framing::Length(n) => Recv::Body {
                id,
                dec: BodyDec::Length(n),
            },
            Framing::Chunked => Recv::Body {
                id,
                dec: BodyDec::Chunked(Box::new(ChunkedDecoder::new())),
            },
            Framing::Close => {
                s.recv.close_delimited = true;
                self.closing = true;
                Recv::Body {
                    id,
                    dec: BodyDec::Close,
                }
            }
            Framing::Tunnel => {
                s.recv.end = true;
                s.awaiting = false;
                self.closing = true;
                self.mark_ready(i);
                self.recv = Recv::Tunnel;
                return;
            }
            Framing::Empty => {
                self.mark_ready(i);
                self.end_of_body_at(Some(i), None);
                return;
            }
        };
        self.mark_ready(i);
    }

    /// The peer sent something we cannot accept: stop receiving, tell the stream, and (server)
    /// owe the peer an error response in order.
    fn fail_receiving(&mut self, e: Error) {
        log::debug!("h1 {:?}: {e}", self.role);
        self.recv = Recv::Closed;
        self.closing = true;
        self.head_since = None;
        match self.role {
            Role::Server => {
                // The stream being received (if any) fails; the error answer replaces the
                // answer to the first request not yet answered, or comes after all of them.
                let status = e.status().unwrap_or(400);
                // The request being received fails, and its application hears of it.
                for i in 0..self.streams.len() {
                    let s = &mut self.streams[i];
                    if !s.recv.end && s.recv.error.is_none() {
                        s.recv.fail(e.clone());
                        self.mark_ready(i);
                    }
                }
                if status == crate::h1::parse::NO_ANSWER {
                    // Answers already owed still go out; then the connection closes.
                    self.failure = Some(e);
                    self.check_done();
                    return;
                }
                let unanswered = self
                    .streams
                    .iter()
                    .position(|s| !s.recv.end && s.sending.is_none());
                let id = match unanswered {
                    Some(i) => self.streams[i].id,
                    None => {
                        let id = self.next_id;
                        self.next_id += 1;
                        let mut s = H1Stream::new(id, info_default());
                        s.synthetic = true;
                        self.streams.push_back(s);
                        self.push_send_order(self.streams.len() - 1);
                        id
                    }
                };
                if let Some(i) = self.find(id) {
                    let s = &mut self.streams[i];
                    s.error_answer = Some(e.clone().with_status(status));
                    s.recv.fail(e.clone());
                    self.incoming.retain(|x| *x != id);
                    if self.send_order.front() == Some(&id) {
                        self.write_error_answer(id);
                    }
                }
                self.failure = Some(e);
            }
            Role::Client => {
                self.fail_all(e);
            }
        }
        self.check_done();
    }

    fn write_error_answer(&mut self, id: u64) {
        let Some(i) = self.find(id) else { return };
        let Some(e) = self.streams[i].error_answer.take() else {
            return;
        };
        let status = e.status().unwrap_or(400);
        let msg = format!("{}\n", e.message());
        let mut h = Headers::response(status);
        h.append("content-type", "text/plain; charset=utf-8");
        let mut b = crate::headers::itoa_buf();
        h.append(
            "content-length",
            crate::headers::fmt_u64(&mut b, msg.len() as u64),
        );
        h.append("connection", "close");
        let info = RequestInfo {
            keep_alive: false,
            head: false,
            ..self.streams[i].info
        };
        let date = self.date;
        if response_head(&mut self.out, &h, info, false, &date).is_ok() {
            self.out.extend_from_slice(msg.as_bytes());
        }
        let s = &mut self.streams[i];
        s.send_end = true;
        self.closing = true;
        self.want_flush = true;
        self.finish_sending(id);
    }

    /// Fails every stream (client errors, closed connection).
    fn fail_all(&mut self, e: Error) {
        for i in 0..self.streams.len() {
            let s = &mut self.streams[i];
            if !s.recv.end {
                s.recv.fail(e.clone());
                self.mark_ready(i);
            }
        }
        self.failure.get_or_insert(e);
        self.recv = Recv::Closed;
        self.closing = true;
        self.check_done();
    }

    /// Client: requests after a `Connection: close` response will get no answer.
    fn fail_unanswered(&mut self) {
        for i in 0..self.streams.len() {
            let s = &mut self.streams[i];
            if !s.recv.got_final_head && !s.recv.end {
                s.recv.fail(
                    Error::new(
                        ErrorKind::Closed,
                        "the server closed the connection before answering; the request was not processed and is safe to retry",
                    )
                    .retryable(),
                );
                self.mark_ready(i);
            }
        }
    }

    /// The peer closed its sending side.
    pub(crate) fn recv_eof(&mut self) {
        match std::mem::replace(&mut self.recv, Recv::Closed) {
            Recv::Body {
                id,
                dec: BodyDec::Close,
            } => {
                self.recv = Recv::Head;
                self.end_of_body(id, None);
                self.recv = Recv::Closed;
            }
            Recv::Body { id, .. } => {
                if let Some(i) = self.find(id) {
                    let s = &mut self.streams[i];
                    s.recv.fail(Error::new(
                        ErrorKind::Truncated,
                        "the peer closed the connection in the middle of a body",
                    ));
                    self.mark_ready(i);
                }
            }
            Recv::Tunnel => self.recv = Recv::Tunnel,
            _ => {}
        }
        self.head_since = None;
        self.closing = true;
        match self.role {
            Role::Client if self.streams.is_empty() => self.check_done(),
            Role::Client => {
                let e = Error::new(
                    ErrorKind::Closed,
                    "the server closed the connection before the response was complete",
                );
                if self.streams.iter().any(|s| !s.recv.end) {
                    self.fail_all(e);
                } else {
                    // Every answer is in (only not read yet): a clean end.
                    self.recv = Recv::Closed;
                    self.closing = true;
                    self.check_done();
                }
            }
            Role::Server => {
                // Requests that were complete still get their answers (the peer may only have
                // half-closed); a request cut short fails, and nobody answers it.
                for i in 0..self.streams.len() {
                    if !self.streams[i].recv.end {
                        self.streams[i].recv.fail(Error::new(
                            ErrorKind::Truncated,
                            "the client closed the connection before the request was complete",
                        ));
                        self.mark_ready(i);
                    }
                }
                let nothing_to_answer = self
                    .streams
                    .iter()
                    .all(|s| s.send_end || (s.recv.error.is_some() && s.sending.is_none()));
                if nothing_to_answer {
                    // Without this a connection whose client vanished mid-request would stay
                    // open until the application reset the failed stream.
                    self.done = true;
                }
            }
        }
        self.check_done();
    }

    /// The connection failed underneath (socket error): every stream fails with `e`.
    pub(crate) fn abort(&mut self, e: Error) {
        self.fail_all(e);
        self.done = true;
    }

    fn check_done(&mut self) {
        if self.shut_down && matches!(self.recv, Recv::Head) && self.all_answered() {
            // A client shut down by the application: the last answer it waited for is in.
            self.closing = true;
            self.recv = Recv::Closed;
        }
        if !self.closing || !matches!(self.recv, Recv::Closed) {
            return;
        }
        let over = match self.role {
            Role::Server => self.streams.iter().all(|s| s.send_end),
            Role::Client => self.all_answered(),
        };
        if over {
            self.done = true;
        }
    }

    /// Client: every stream has its whole answer, or has failed.
    fn all_answered(&self) -> bool {
        self.streams
            .iter()
            .all(|s| s.recv.end || s.recv.error.is_some())
    }

    /// Removes a stream that has nothing left to give or take. A server's stream goes once its
    /// answer is out and its request is over (the application answered; it needs the request
    /// no more); a client's once the application has seen the end of the response. What a
    /// caller may still ask of a removed stream (trailers, how its body ended) is kept in a
    /// short record.
    fn reap(&mut self, id: u64) {
        if let Some(i) = self.find(id) {
            self.reap_at(i);
        }
    }

    /// [`reap`](Self::reap) for the stream at index `i` of the queue. Inlined: most calls
    /// find the stream still in use, and the test is a few loads.
    #[inline]
    fn reap_at(&mut self, i: usize) {
        let s = &self.streams[i];
        if !s.send_end || s.in_send_order || s.error_answer.is_some() {
            return;
        }
        let over = match self.role {
            Role::Server => s.abandoned || s.recv.end || s.recv.error.is_some(),
            // A client stream given up while its response is still to come stays until that
            // response has been read off the wire (and dropped): HTTP/1 answers in order, and
            // the next response is not this one's.
            Role::Client => (s.abandoned && !s.awaiting) || s.recv.seen_end,
        };
        if over {
            self.remove_at(i);
        }
    }

    /// Removes the stream at index `i`, which [`reap_at`](Self::reap_at) found over.
    #[inline(never)]
    fn remove_at(&mut self, i: usize) {
        let s = &mut self.streams[i];
        let id = s.id;
        let error = if s.recv.seen_end {
            None
        } else {
            s.recv.error.take()
        };
        if s.recv.trailers.is_some() || s.recv.close_delimited || error.is_some() {
            let rec = Finished {
                id,
                trailers: s.recv.trailers.take(),
                close_delimited: s.recv.close_delimited,
                error,
            };
            if self.finished.len() >= FINISHED_KEPT {
                self.finished.pop_front();
            }
            self.finished.push_back(rec);
        }
        if let Some(r) = self.reuse.as_deref_mut() {
            // A client's body storage goes to a later response (see `spare_bodies`).
            if r.spare_bodies.len() < CLIENT_STREAM_ROOM
                && (1..=SPARE_BODY_BYTES).contains(&s.recv.body_capacity())
            {
                r.spare_bodies.push(s.recv.take_body_room());
            }
        }
        // Dropped where it lies: `remove` would copy the record out first.
        if self.streams.len() == 1 {
            self.streams.clear();
        } else {
            self.streams.drain(i..=i);
        }
        if self.streams.is_empty() && self.streams.capacity() > 0 && !self.keeps_stream_room() {
            // An idle server connection keeps no stream room: a server holds many idle
            // keep-alive connections, and one stream record is about 400 bytes. The room goes
            // to the thread's pool, where the next request on any connection finds it.
            give_stream_room(std::mem::take(&mut self.streams));
        }
    }

    /// A client keeps the room of a pipelined batch (up to `CLIENT_STREAM_ROOM` streams) when
    /// the batch is over: it refills the pipeline at once, and would otherwise grow the queue
    /// again from one slot in every round. Clients hold few connections; a server holds many
    /// idle ones, which keep room for one stream only.
    fn keeps_stream_room(&self) -> bool {
        self.role == Role::Client && self.streams.capacity() <= CLIENT_STREAM_ROOM
    }

    /// Makes room for one more stream; the first gets exactly one slot, from the thread's
    /// pool of rooms when it has one.
    fn room_for_stream(&mut self) {
        if self.streams.capacity() == 0 {
            self.streams = take_stream_room();
        }
    }

    /// Marks the idle time (called by the face when it sees the core idle).
    pub(crate) fn note_idle(&mut self, now: &mut crate::clock::LazyNow) {
        if self.streams.is_empty() && self.head_since.is_none() && self.idle_since.is_none() {
            self.idle_since = Some(now.get());
        }
    }

    // ---- the application's side -------------------------------------------------------

    /// Client: a new stream for a request.
    pub(crate) fn new_stream(&mut self) -> Result<u64> {
        if self.role != Role::Client {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "a server's streams are started by the client",
            ));
        }
        if self.shut_down {
            return Err(Error::new(
                ErrorKind::Closed,
                "the connection was shut down: it takes no more requests",
            ));
        }
        if self.closing || self.done {
            return Err(Error::new(
                ErrorKind::Closed,
                "the connection takes no more requests",
            ));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.room_for_stream();
        self.streams.push_back(H1Stream::new(id, info_default()));
        self.idle_since = None;
        Ok(id)
    }

    /// Client: the request asked `Expect: 100-continue` and neither `100 Continue` nor a
    /// final answer has come yet.
    pub(crate) fn continue_pending(&self, id: u64) -> bool {
        self.find(id).is_some_and(|i| {
            let s = &self.streams[i];
            self.role == Role::Client
                && s.expect_continue
                && !s.recv.got_final_head
                && s.recv.error.is_none()
        })
    }

    /// The HTTP version of the peer's message on stream `id` (request or response).
    pub(crate) fn peer_version(&self, id: u64) -> Option<http::Version> {
        let s = &self.streams[self.find(id)?];
        Some(if s.peer_minor == 0 {
            http::Version::HTTP_10
        } else {
            http::Version::HTTP_11
        })
    }

    pub(crate) fn state(&self, id: u64) -> StreamState {
        let Some(i) = self.find(id) else {
            return StreamState::Closed;
        };
        let s = &self.streams[i];
        let sent = s.send_end;
        let recv_done = s.recv.end || s.recv.error.is_some();
        match (sent, recv_done) {
            (true, true) => StreamState::Closed,
            (true, false) => StreamState::HalfClosedLocal,
            (false, true) => StreamState::HalfClosedRemote,
            (false, false)
                if s.sending.is_none()
                    && s.recv.heads.is_empty()
                    && !s.recv.got_final_head
                    && self.role == Role::Client =>
            {
                StreamState::Idle
            }
            _ => StreamState::Open,
        }
    }

    fn is_front(&self, id: u64) -> bool {
        self.send_order.front() == Some(&id)
    }

    fn push_send_order(&mut self, i: usize) {
        self.streams[i].in_send_order = true;
        self.send_order.push_back(self.streams[i].id);
    }

    fn pop_send_order(&mut self) {
        if let Some(id) = self.send_order.pop_front() {
            if let Some(i) = self.find(id) {
                self.streams[i].in_send_order = false;
            }
        }
    }

    /// Appends bytes of stream `id`'s message: straight to `out` when it is at the front.
    fn emit(&mut self, i: usize, f: impl FnOnce(&mut Vec<u8>)) {
        let id = self.streams[i].id;
        if self.is_front(id) {
            f(&mut self.out);
        } else {
            f(&mut self.streams[i].pending);
        }
    }

    pub(crate) fn write_headers(&mut self, id: u64, h: &Headers, end: bool) -> Result<()> {
        let i = self.find(id).ok_or_else(closed_stream)?;
        if self.out.capacity() == 0 {
            // The buffer is released when idle; start again at a size most answers fit.
            self.out.reserve(OUT_START);
        }
        if self.streams[i].send_end {
            return Err(Error::new(ErrorKind::InvalidState, "stream already ended"));
        }
        if self.streams[i].sending.is_some() {
            // A second head after the final one is a trailer section.
            return self.write_trailers(id, h);
        }
        match self.role {
            Role::Server => {
                let status = h.status().unwrap_or(0);
                let info = self.streams[i].info;
                let unread_body = !self.streams[i].recv.end
                    && !(100..200).contains(&status)
                    && !self.body_discardable(id);
                let expect_unanswered =
                    self.streams[i].expect_continue && !self.streams[i].recv.end;
                let info = RequestInfo {
                    keep_alive: info.keep_alive
                        && !self.closing_after_request(i)
                        && !unread_body
                        && (!expect_unanswered || (100..200).contains(&status)),
                    ..info
                };
                let date = self.date;
                let mut tmp = Vec::new();
                let target_front = self.is_front(id);
                let buf = if target_front {
                    &mut self.out
                } else {
                    &mut tmp
                };
                let start = buf.len();
                let encoded = if self.cfg.reuse_heads {
                    response_head_reusing(buf, h, info, end, &date)
                } else {
                    response_head(buf, h, info, end, &date)
                };
                let sending = match encoded {
                    Ok(s) => s,
                    Err(e) => {
                        buf.truncate(start);
                        return Err(e);
                    }
                };
                if !target_front {
                    self.streams[i].pending.extend_from_slice(&tmp);
                }
                let s = &mut self.streams[i];
                if (100..200).contains(&status) && status != 101 {
                    if status == 100 {
                        s.expect_continue = false;
                    }
                    self.want_flush = true;
                    return Ok(());
                }
                if s.expect_continue && !s.recv.end {
                    // Final answer without 100 Continue: the client may or may not send the
                    // body now, so the connection cannot be reused (RFC 9110 10.1.1).
                    s.expect_continue = false;
                    self.closing = true;
                }
                if !sending.keep_alive {
                    self.closing = true;
                }
                s.send_left = match sending.framing {
                    Framing::Length(n) => n,
                    _ => 0,
                };
                s.sending = Some(sending);
                if sending.framing == Framing::Tunnel {
                    s.send_end = true;
                    s.recv.end = true;
                    self.recv = Recv::Tunnel;
                    self.want_flush = true;
                    return Ok(());
                }
                if matches!(self.recv, Recv::Paused) {
                    // The upgrade or CONNECT was answered without switching: go on.
                    self.recv = if self.closing {
                        Recv::Closed
                    } else {
                        Recv::Head
                    };
                }
            }
            Role::Client => {
                let minor = self.minor;
                let mut tmp = Vec::new();
                let front_now = self.send_order.is_empty();
                let buf = if front_now { &mut self.out } else { &mut tmp };
                let start = buf.len();
                let cache = &mut self.reuse.get_or_insert_with(Default::default).last_request;
                let authority = self.authority.as_deref();
                let req = match if self.cfg.reuse_heads {
                    encode_request(cache, buf, h, minor, end, authority)
                } else {
                    request_head(buf, h, minor, end, authority)
                } {
                    Ok(s) => s,
                    Err(e) => {
                        buf.truncate(start);
                        return Err(e);
                    }
                };
                let sending = req.sending;
                // The whole request is in `out` now, with nothing queued before it.
                let whole = end
                    && front_now
                    && matches!(sending.framing, Framing::Empty | Framing::Length(0));
                if !whole {
                    self.push_send_order(i);
                }
                let s = &mut self.streams[i];
                s.pending.extend_from_slice(&tmp);
                s.info = RequestInfo {
                    minor,
                    head: req.head,
                    connect: req.connect,
                    keep_alive: sending.keep_alive,
                };
                s.expect_continue = req.expect_continue;
                s.awaiting = true;
                if let Some(r) = self.reuse.as_deref_mut() {
                    r.wire_order.push_back(id);
                }
                s.send_left = match sending.framing {
                    Framing::Length(n) => n,
                    _ => 0,
                };
                s.sending = Some(sending);
                if !sending.keep_alive {
                    self.closing = true;
                }
                if whole {
                    // Over here: what `end_message` does, without a turn in the send order.
                    s.send_end = true;
                    self.want_flush = self.auto_flush || self.want_flush;
                    self.reap_at(i);
                    self.check_done();
                    return Ok(());
                }
                if sending.framing == Framing::Tunnel {
                    // CONNECT: the body is the tunnel, sent after the answer.
                    s.send_end = true;
                    self.finish_sending(id);
                    self.want_flush = true;
                    return Ok(());
                }
            }
        }
        if end {
            self.end_message(i)?;
        }
        Ok(())
    }

    /// Whether the rest of stream `id`'s request body is small enough to read and drop.
    fn body_discardable(&self, id: u64) -> bool {
        match &self.recv {
            Recv::Body {
                id: rid,
                dec: BodyDec::Length(n),
            } if *rid == id => *n <= self.cfg.max_discard,
            _ => false,
        }
    }

    fn closing_after_request(&self, i: usize) -> bool {
        // A server closing the connection answers the last request with `Connection: close`.
        self.closing
            && self
                .streams
                .iter()
                .skip(i + 1)
                .all(|s| s.error_answer.is_none())
            && (i + 1 == self.streams.len())
    }

    pub(crate) fn write_continue(&mut self, id: u64) -> Result<()> {
        let i = self.find(id).ok_or_else(closed_stream)?;
        if self.role != Role::Server || self.streams[i].sending.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "100 Continue is a server's answer before the final head",
            ));
        }
        if self.streams[i].info.minor == 0 {
            return Ok(());
        }
        self.streams[i].expect_continue = false;
        self.emit(i, |o| o.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n"));
        self.want_flush = true;
        Ok(())
    }

    pub(crate) fn write_body(&mut self, id: u64, data: &[u8], end: bool) -> Result<()> {
        let i = self.find(id).ok_or_else(closed_stream)?;
        let s = &self.streams[i];
        if s.send_end {
            return Err(Error::new(ErrorKind::InvalidState, "stream already ended"));
        }
        let Some(sending) = s.sending else {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "write the headers before the body",
            ));
        };
        if !data.is_empty() {
            match sending.framing {
                Framing::Length(_) => {
                    if data.len() as u64 > s.send_left {
                        return Err(Error::new(
                            ErrorKind::InvalidInput,
                            "body longer than the content-length sent",
                        ));
                    }
                    self.streams[i].send_left -= data.len() as u64;
                    self.emit(i, |o| o.extend_from_slice(data));
                }
                Framing::Chunked => self.emit(i, |o| {
                    encode_chunk_head(o, data.len());
                    o.extend_from_slice(data);
                    o.extend_from_slice(CRLF);
                }),
                Framing::Close | Framing::Tunnel => self.emit(i, |o| o.extend_from_slice(data)),
                Framing::Empty => {
                    // HEAD, 204 and 304 carry no body: what the application wrote is dropped.
                    log::trace!(
                        "h1: dropping {} body bytes of a bodiless message",
                        data.len()
                    );
                }
            }
        }
        if end {
            self.end_message(i)?;
        }
        Ok(())
    }

    pub(crate) fn write_trailers(&mut self, id: u64, t: &Headers) -> Result<()> {
        let i = self.find(id).ok_or_else(closed_stream)?;
        for f in t.iter() {
            super::encode::check_field(f.name, f.value)?;
        }
        match self.streams[i].sending.map(|s| s.framing) {
            Some(Framing::Chunked) => {
                self.emit(i, |o| encode_last_chunk(o, Some(t)));
                self.streams[i].send_end = true;
                self.after_end(i);
                Ok(())
            }
            Some(_) => {
                // Only a chunked body can carry trailers; they are dropped, the body ends.
                log::debug!("h1: trailers dropped: the body is not chunked");
                self.end_message(i)
            }
            None => Err(Error::new(
                ErrorKind::InvalidState,
                "write the headers before the trailers",
            )),
        }
    }

    fn end_message(&mut self, i: usize) -> Result<()> {
        let s = &self.streams[i];
        match s.sending.map(|s| s.framing) {
            Some(Framing::Chunked) => self.emit(i, |o| encode_last_chunk(o, None)),
            Some(Framing::Length(_)) if s.send_left > 0 => {
                // A body cut short would desynchronise the connection: close it after this.
                let left = s.send_left;
                self.closing = true;
                self.streams[i].send_end = true;
                self.after_end(i);
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("body ended {left} bytes short of the content-length sent; the connection will close"),
                ));
            }
            Some(Framing::Close) => self.closing = true,
            _ => {}
        }
        self.streams[i].send_end = true;
        self.after_end(i);
        Ok(())
    }

    fn after_end(&mut self, i: usize) {
        let id = self.streams[i].id;
        // Servers flush when no other answer is due right behind this one (a pipelined batch
        // goes out in one write); clients when asked to.
        if self.role == Role::Server {
            let s = &mut self.streams[i];
            if !s.recv.end && !s.abandoned {
                // Answered before the request body was all in: discard the rest if it is
                // small, close otherwise.
                s.abandoned = true;
                s.recv.discard();
                let small = matches!(&self.recv, Recv::Body { dec: BodyDec::Length(n), .. } if *n <= self.cfg.max_discard);
                if !small {
                    self.closing = true;
                    self.recv = Recv::Closed;
                }
            }
        }
        self.finish_sending(id);
    }

    /// Stream `id`'s message is complete: the next one in order may write.
    fn finish_sending(&mut self, id: u64) {
        let at = self.find(id);
        // Whether streams were removed below (and `at` may have moved).
        let mut removed = false;
        if self.is_front(id) {
            self.send_order.pop_front();
            if let Some(i) = at {
                self.streams[i].in_send_order = false;
            }
            while let Some(&next) = self.send_order.front() {
                let Some(j) = self.find(next) else {
                    self.pop_send_order();
                    continue;
                };
                let pending = std::mem::take(&mut self.streams[j].pending);
                self.out.extend_from_slice(&pending);
                if self.streams[j].error_answer.is_some() {
                    self.write_error_answer(next);
                    return;
                }
                if !self.streams[j].send_end {
                    break;
                }
                self.pop_send_order();
                self.reap(next);
                removed = true;
            }
        }
        // Answers leave together: a server writes once no answer is left in the application's
        // hands (a pipelined batch goes out in one write); a client when asked to.
        self.want_flush = match self.role {
            Role::Server => self.send_order.is_empty(),
            Role::Client => self.auto_flush || self.want_flush,
        };
        match at {
            Some(i) if !removed => self.reap_at(i),
            _ => self.reap(id),
        }
        if self.closing && self.role == Role::Server && self.streams.iter().all(|s| s.send_end) {
            if !matches!(self.recv, Recv::Tunnel) {
                self.recv = Recv::Closed;
            }
            if self.streams.iter().all(|s| s.send_end) {
                self.done = !matches!(self.recv, Recv::Tunnel);
            }
        }
        self.check_done();
    }

    /// Server push is HTTP/2's (RFC 9113 §8.4): HTTP/1 has no way to promise a response.
    pub(crate) fn push_promise(&mut self, _id: u64, _request: &Headers) -> Result<u64> {
        Err(Error::new(
            ErrorKind::InvalidState,
            "server push needs an HTTP/2 connection; this one speaks HTTP/1",
        ))
    }

    /// The application drops its interest in a stream (lua-http's `shutdown`/reset).
    pub(crate) fn reset(&mut self, id: u64) -> Result<()> {
        let Some(i) = self.find(id) else {
            return Ok(());
        };
        let s = &mut self.streams[i];
        s.abandoned = true;
        s.recv.discard();
        if !s.send_end {
            // HTTP/1 has no way to cancel one message: the connection must go.
            s.send_end = true;
            self.closing = true;
            self.recv = Recv::Closed;
            self.done = self.role == Role::Client || self.streams.iter().all(|s| s.send_end);
            if self.role == Role::Server && self.is_front(id) {
                self.done = true;
            }
        }
        self.finish_sending(id);
        self.reap(id);
        Ok(())
    }

    /// Server: stop taking requests; the ones in flight finish, answered with
    /// `Connection: close`.
    pub(crate) fn shutdown(&mut self) {
        if self.role == Role::Client {
            // Requests in flight keep their answers coming: receiving goes on until the last
            // one is in (`check_done`), then the connection closes.
            self.shut_down = true;
            self.check_done();
            return;
        }
        self.closing = true;
        if matches!(self.recv, Recv::Head) {
            self.recv = Recv::Closed;
        }
        if self.streams.is_empty() {
            self.done = true;
        }
        self.check_done();
    }

    pub(crate) fn with_recv<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        let Some(mut i) = self.find(id) else {
            return self.with_finished(id, f);
        };
        if self.role == Role::Server
            && self.streams[i].expect_continue
            && self.streams[i].sending.is_none()
        {
            // Reading the body of a request that expects 100-continue answers it.
            self.write_continue(id)?;
            i = self.find(id).ok_or_else(closed_stream)?;
        }
        let r = f(&mut self.streams[i].recv);
        self.reap_at(i);
        Ok(r)
    }

    /// Reads a head without answering 100-continue.
    pub(crate) fn with_recv_head<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        match self.find(id) {
            Some(i) => {
                let r = f(&mut self.streams[i].recv);
                self.reap_at(i);
                Ok(r)
            }
            None => self.with_finished(id, f),
        }
    }

    /// A removed stream reads as ended: no more body, and the trailers if it had them.
    fn with_finished<T>(&mut self, id: u64, f: impl FnOnce(&mut RecvSide) -> T) -> Result<T> {
        if id == 0 || id >= self.next_id {
            return Err(closed_stream());
        }
        let rec = self.finished.iter_mut().find(|r| r.id == id);
        let mut r = RecvSide::default();
        r.end = true;
        r.seen_end = true;
        r.got_final_head = true;
        if let Some(rec) = &rec {
            r.close_delimited = rec.close_delimited;
            if let Some(e) = &rec.error {
                r.end = false;
                r.error = Some(e.clone());
            }
        }
        let mut rec = rec;
        if let Some(rec) = rec.as_deref_mut() {
            r.trailers = rec.trailers.take();
        }
        let out = f(&mut r);
        if let Some(rec) = rec {
            rec.trailers = r.trailers.take();
        }
        Ok(out)
    }

    /// The bytes after the head in a tunnel are the caller's; the core is done.
    pub(crate) fn hand_over(&mut self) {
        self.recv = Recv::Closed;
        self.done = true;
    }
}

#[cfg(test)]
mod tests;
