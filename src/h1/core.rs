//! The sans-IO HTTP/1 connection core, both roles: the [`H1Core`] record, its construction,
//! and the surface the connection face calls (deadlines, the application's stream calls,
//! shutdown, hand-over).
//!
//! It takes received bytes and the current time, and produces outgoing bytes, stream events
//! and deadlines; it never sees a socket or a clock. Streams are kept in request order: a
//! server answers pipelined requests in the order they came (a response written early is held
//! back until the ones before it are done) and a client matches responses to requests in the
//! order the requests went out. The rest of the core is split by concern: the stream queue and
//! ready list (`queue`), receiving (`recv`), sending (`send`), and the decision that the
//! connection is over (`done`), all `impl H1Core` blocks; the plain types the core holds are in
//! leaf modules that do not import it: the stream record and pool (`streams`), the
//! connection's state with its transitions (`state`), and the client's head caches
//! (`client_cache`).

use super::client_cache::{EncodedRequest, ParsedResponse};
use super::encode::{LastResponse, RequestInfo};
use super::parse::{give_spare_request_head, RequestMemo};
use super::reuse::KeepRule;
use super::state::{Lifecycle, Recv};
use super::streams::{Finished, H1Stream, CLIENT_STREAM_ROOM};
use super::timer::Timer;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::events::Events;
use crate::headers::Headers;
use crate::recv::{closed_stream, RecvSide};
use crate::stream_state::StreamState;
use crate::timer::Timers;
use crate::Role;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// What a client connection keeps to reuse from one request to the next; boxed, so that a
/// server connection pays one pointer for it.
#[derive(Debug, Default)]
pub(super) struct ClientReuse {
    /// The last request head encoded (see `EncodedRequest`).
    pub(super) last_request: Option<EncodedRequest>,
    /// Cleared response heads the application gave back, to parse the next ones into.
    pub(super) spare_heads: Vec<Headers>,
    /// Body storage finished responses left behind (emptied), for later responses' bodies:
    /// with a caller that takes bodies with `try_get_body_into` into a reused buffer (whose
    /// storage it swaps in), a pipelined batch allocates no body storage per response.
    pub(super) spare_bodies: Vec<Vec<u8>>,
    /// The streams whose request heads went out, in the order they did (responses come in
    /// this order, which is the streams' order unless heads were written out of it). Streams
    /// at the front that were answered, or are gone, are dropped when the next head comes.
    pub(super) wire_order: VecDeque<u64>,
    /// The last response head parsed (see `ParsedResponse`).
    pub(super) last_response: Option<ParsedResponse>,
    /// When to keep a new response head.
    pub(super) response_rule: KeepRule,
}

/// What a server connection keeps to reuse from one request to the next (see
/// `Config::reuse_heads`); boxed and made at the first request, so a client connection pays
/// one pointer for it. Owned by the core:
/// bounded, released with the connection, and compared only with the connection's own later
/// heads.
#[derive(Debug, Default)]
pub(super) struct ServerReuse {
    /// Request heads the application gave back, cleared, to parse later ones into (see
    /// `give_spare_request_head`).
    pub(super) spare_heads: Vec<Headers>,
    /// The last request head parsed (see `RequestMemo`).
    pub(super) request: RequestMemo,
    /// The last response head encoded (see `LastResponse`).
    pub(super) response: LastResponse,
}

/// The most storage of a response head kept for reuse (`H1Core::recycle_head`).
pub(super) const SPARE_HEAD_BYTES: usize = 4096;

/// The output buffer's size when it starts again (most answers' heads fit).
pub(crate) const OUT_START: usize = 512;

/// An output buffer that grew past this (a large body) is given back once written with no
/// message in flight; while a body streams it is kept for the next bytes (the send buffer
/// bounds it), so that each refill does not grow a new one from nothing.
const OUT_SHRINK: usize = 64 * 1024;

/// The HTTP/1 core of one connection.
pub(crate) struct H1Core {
    pub(super) finished: VecDeque<Finished>,
    /// Streams told "would block" for a full send buffer: ready again once it drains.
    pub(super) blocked_writers: Vec<u64>,
    pub(super) role: Role,
    pub(super) cfg: Arc<Config>,
    /// The minor version a client speaks (server: answers in the request's version).
    pub(super) minor: u8,
    pub(super) streams: VecDeque<H1Stream>,
    pub(super) next_id: u64,
    pub(super) recv: Recv,
    /// Streams in the order their messages go out; the front writes straight to `out`.
    pub(super) send_order: VecDeque<u64>,
    pub(super) out: Vec<u8>,
    /// Whether the connection carries more messages, and whether it is over (see
    /// [`Lifecycle`]; a server's shutdown closes at once: it stops reading requests and
    /// answers the ones it has, a client's drains).
    pub(super) lifecycle: Lifecycle,
    /// Streams the peer opened and streams with news, for the application.
    pub(super) events: Events,
    /// The clocks of the deadlines (a head arriving, idleness, a response awaited); see
    /// `deadlines`.
    pub(super) timers: Timers<Timer, 5>,
    /// Client: the bytes of a response head seen so far (the head is parsed when it is all
    /// in; more than this means more came, for the response's read deadline).
    pub(super) head_seen: usize,
    /// The HTTP Date value to send (set by the connection face).
    pub(super) date: [u8; 29],
    /// Flush as soon as a message ends (clients; servers decide per pipeline).
    pub(super) auto_flush: bool,
    /// Server: a request offered `Upgrade: h2c` acceptably (RFC 7540 §3.2): its head and the
    /// decoded `HTTP2-Settings`. Parsing stopped there; the face answers 101 and hands the
    /// connection to HTTP/2.
    pub h2c: Option<(Headers, Vec<u8>)>,
    /// Set when a message ended and output should go out now.
    pub(super) want_flush: bool,
    /// Why the connection ended, if it failed.
    pub(super) failure: Option<Error>,
    /// Client: what is reused from one request to the next.
    pub(super) reuse: Option<Box<ClientReuse>>,
    /// Server: what is reused from one request to the next.
    pub(super) server_reuse: Option<Box<ServerReuse>>,
    /// Client: the `Host` of a request head that names none (the connection's target).
    pub(super) authority: Option<Box<str>>,
}

pub(super) fn info_default() -> RequestInfo {
    RequestInfo {
        minor: 1,
        head: false,
        connect: false,
        keep_alive: true,
    }
}

#[cfg(test)]
mod tests;

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
            lifecycle: Lifecycle::Open,
            authority: None,
            events: Events::default(),
            timers: {
                let mut t = Timers::new();
                t.start(Timer::Idle, now);
                t
            },
            head_seen: 0,
            date: [0; 29],
            auto_flush: true,
            h2c: None,
            want_flush: false,
            failure: None,
            reuse: None,
            server_reuse: None,
        }
    }

    /// Takes back a head the application has read, to parse a later head into its storage. A
    /// client keeps up to `CLIENT_STREAM_ROOM` small ones (a pipelined batch's); a server a few
    /// (`SPARE_REQUEST_HEADS`).
    pub(crate) fn recycle_head(&mut self, mut h: Headers) {
        if self.role == Role::Server {
            give_spare_request_head(&mut self.server_reuse().spare_heads, h);
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

    /// Bytes to send, in order; the face writes them and then calls
    /// [`sent_all`](Self::sent_all).
    #[inline]
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    /// The face wrote all of [`output`](Self::output): the buffer empties (and shrinks if a
    /// large body grew it and no message is in flight), and streams refused a write may write
    /// again. `false`: nothing new to write (an HTTP/2 core may have more).
    #[inline]
    pub(crate) fn sent_all(&mut self) -> bool {
        self.out.clear();
        if self.has_blocked_writers() {
            self.wake_writers();
        }
        if self.out.capacity() > OUT_SHRINK && self.streams.is_empty() {
            self.out = Vec::new();
        }
        false
    }

    /// The socket refused a write with `unsent` bytes of output left: streams refused a write
    /// may write again once that is within the send buffer.
    pub(crate) fn write_refused(&mut self, unsent: usize) {
        if self.has_blocked_writers() && unsent <= self.cfg.send_buffer {
            self.wake_writers();
        }
    }

    /// Output that should go out now was queued (a head, an end).
    #[inline]
    pub(crate) fn want_flush(&self) -> bool {
        self.want_flush
    }

    #[inline]
    pub(crate) fn clear_want_flush(&mut self) {
        self.want_flush = false;
    }

    /// Client: write a request as soon as it ends (`true`), or wait for a flush.
    pub(crate) fn set_auto_flush(&mut self, on: bool) {
        self.auto_flush = on;
    }

    /// Now as an IMF-fixdate, for the `date` of the responses written next.
    #[inline]
    pub(crate) fn set_date(&mut self, date: [u8; 29]) {
        self.date = date;
    }

    /// The next stream the peer opened (a server's request), not yet taken.
    pub(crate) fn pop_incoming(&mut self) -> Option<u64> {
        self.events.pop_incoming()
    }

    /// Streams put on the ready list so far (wrapping).
    #[inline]
    pub(crate) fn readied(&self) -> u64 {
        self.events.readied()
    }

    /// Why the connection ended, if it failed.
    pub(crate) fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// Whether the connection is usable for requests (HTTP/1 has no handshake of its own).
    #[inline]
    pub(crate) fn is_connected(&self) -> bool {
        true
    }

    /// Body bytes written and not yet in `output` (HTTP/1 buffers none elsewhere).
    #[inline]
    pub(crate) fn unsent(&self) -> usize {
        0
    }

    /// A write of stream `id` met a full send buffer: the stream is told when it drains.
    /// `true`: the write is refused (HTTP/2 keeps per-stream buffers and refuses itself).
    pub(crate) fn refuse_write(&mut self, id: u64) -> bool {
        self.note_blocked_writer(id);
        true
    }

    /// The output not yet written, from `pos` on, taken out (for the core that takes over).
    pub(crate) fn take_output(&mut self, pos: usize) -> Vec<u8> {
        self.out.split_off(pos)
    }

    /// Server: what is reused from one request to the next, made at first use.
    pub(super) fn server_reuse(&mut self) -> &mut ServerReuse {
        self.server_reuse.get_or_insert_with(Default::default)
    }

    /// Client: the `Host` of request heads that name none.
    pub(crate) fn set_authority(&mut self, authority: &str) {
        self.authority = Some(authority.into());
    }

    /// Whether the receiving side wants more bytes now.
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
        self.lifecycle.is_done()
    }

    /// Whether the peer will start no more streams: a server reads no more requests (the
    /// connection is closing or over, its input ended, or it became a tunnel); the server of
    /// an HTTP/1 client never starts any (an `h2c` upgrade is the connection's to tell).
    pub(crate) fn incoming_over(&self) -> bool {
        self.role == Role::Client
            || self.lifecycle.closing()
            || matches!(self.recv, Recv::Closed | Recv::Tunnel)
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
        self.streams.is_empty() && !self.head_pending()
    }

    /// Server: requests parsed but not yet fully answered.
    pub(crate) fn in_flight(&self) -> usize {
        self.streams.len()
    }

    /// The connection failed underneath (socket error): every stream fails with `e`.
    pub(crate) fn abort(&mut self, e: Error) {
        self.fail_all(e);
        self.lifecycle.finish();
    }

    /// Client: a new stream for a request.
    pub(crate) fn new_stream(&mut self) -> Result<u64> {
        if self.role != Role::Client {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "a server's streams are started by the client",
            ));
        }
        if self.lifecycle.shut_down() {
            return Err(Error::new(
                ErrorKind::Closed,
                "the connection was shut down: it takes no more requests",
            ));
        }
        if self.lifecycle.closing() {
            return Err(Error::new(
                ErrorKind::Closed,
                "the connection takes no more requests",
            ));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.room_for_stream();
        self.streams.push_back(H1Stream::new(id, info_default()));
        self.busy();
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
            self.lifecycle.close();
            self.recv = Recv::Closed;
            if self.role == Role::Client
                || self.is_front(id)
                || self.streams.iter().all(|s| s.send_end)
            {
                self.lifecycle.finish();
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
            self.lifecycle.shut_down_client();
            self.check_done();
            return;
        }
        self.lifecycle.close();
        if matches!(self.recv, Recv::Head) {
            self.recv = Recv::Closed;
        }
        if self.streams.is_empty() {
            self.lifecycle.finish();
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

    /// Reads stream `id`'s receive side without changing anything; `None` once the stream is
    /// gone (or was never there).
    pub(crate) fn peek_recv<T>(&self, id: u64, f: impl FnOnce(&RecvSide) -> T) -> Option<T> {
        self.find(id).map(|i| f(&self.streams[i].recv))
    }

    /// HTTP/1 keeps no send buffer per stream: the connection's output is the limit.
    pub(crate) fn stream_send_room(&self, _id: u64) -> Option<usize> {
        None
    }

    /// Whether stream `id`'s outgoing message has ended (a removed stream's has).
    pub(crate) fn send_ended(&self, id: u64) -> bool {
        match self.find(id) {
            Some(i) => self.streams[i].send_end,
            None => id != 0 && id < self.next_id,
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
        self.lifecycle.finish();
    }
}
