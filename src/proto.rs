//! The protocol core of a connection, HTTP/1.x or HTTP/2, behind one surface: the connection
//! face and the streams drive either core through the methods of [`Core`] alone, and each is
//! one dispatch to the version's sans-IO core (`h1::core::H1Core` or `h2::H2Core`), which
//! have the same methods with the same meanings (a core that lacks one does not compile).
//! No field of a core is visible here.
//!
//! The surface, in the order a step uses it:
//! - input: [`recv`](Core::recv) takes received bytes with `now`, [`recv_eof`](Core::recv_eof)
//!   the end of input; [`wants_read`](Core::wants_read) says whether more is welcome;
//! - output: [`output`](Core::output) is what to send, [`sent_all`](Core::sent_all) /
//!   [`write_refused`](Core::write_refused) say how the socket took it;
//! - time: [`deadline`](Core::deadline) is the next deadline, [`on_timeout`](Core::on_timeout)
//!   fires what passed (`now` always comes in: no core reads the clock);
//! - events: [`pop_incoming`](Core::pop_incoming) (a stream the peer opened;
//!   [`incoming_over`](Core::incoming_over) once it will open no more) and
//!   [`next_ready`](Core::next_ready) (a stream with news: a head, data, trailers, its end, a
//!   reset, room to write), counted by [`readied`](Core::readied) so that news made outside a
//!   step makes a step due; [`failure`](Core::failure) and [`is_done`](Core::is_done) tell
//!   that the connection is ending and why;
//! - streams: `new_stream`, `write_headers`, `write_body`, `reset`, `with_recv` ...

use crate::clock::LazyNow;
use crate::config::Config;
use crate::error::Result;
use crate::h1::core::H1Core;
use crate::h2::{H2Config, H2Core};
use crate::headers::Headers;
use crate::recv::RecvSide;
use crate::stream_state::StreamState;
use crate::Role;
use std::sync::Arc;
use std::time::Instant;

/// The core of one connection. HTTP/1 inline (its hot path should not chase a pointer), HTTP/2
/// boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Core {
    H1(H1Core),
    /// Boxed: an HTTP/2 core carries HPACK tables and a stream map, and HTTP/1 connections
    /// should not pay for its size.
    H2(Box<H2Core>),
}

macro_rules! each {
    ($core:expr, $c:ident => $e:expr) => {
        match $core {
            Core::H1($c) => $e,
            Core::H2($c) => $e,
        }
    };
}

impl Core {
    /// A new HTTP/1.x core (`version` 1.0 or 1.1) for a connection's settings.
    pub(crate) fn h1(
        role: Role,
        cfg: &Arc<Config>,
        version: http::Version,
        date: [u8; 29],
        now: Instant,
    ) -> Core {
        let minor = if version == http::Version::HTTP_10 {
            0
        } else {
            1
        };
        let mut core = H1Core::new(role, cfg.clone(), minor, now);
        core.set_date(date);
        Core::H1(core)
    }

    /// A new HTTP/2 core for a connection's settings, whose requests name `scheme`.
    pub(crate) fn h2(
        role: Role,
        cfg: &Config,
        scheme: &'static str,
        date: [u8; 29],
        now: Instant,
    ) -> Core {
        let core = H2Core::new(role, H2Config::from_config(cfg, role), now);
        Core::taking_over(core, scheme, date)
    }

    /// An HTTP/2 core made elsewhere (an h2c upgrade) taking over the connection: the
    /// `:scheme` of its requests and the current date for its responses.
    pub(crate) fn taking_over(mut core: H2Core, scheme: &'static str, date: [u8; 29]) -> Core {
        core.set_scheme(scheme);
        core.set_date(date);
        Core::H2(Box::new(core))
    }

    pub(crate) fn is_h2(&self) -> bool {
        matches!(self, Core::H2(_))
    }

    // The outward surface: bytes to send, events, deadlines.

    #[inline]
    pub(crate) fn output(&self) -> &[u8] {
        each!(self, c => c.output())
    }

    /// All of `output()` was written; `true` if the core put more in.
    #[inline]
    pub(crate) fn sent_all(&mut self) -> bool {
        each!(self, c => c.sent_all())
    }

    /// The socket refused a write with `unsent` bytes of output left.
    #[inline]
    pub(crate) fn write_refused(&mut self, unsent: usize) {
        each!(self, c => c.write_refused(unsent))
    }

    #[inline]
    pub(crate) fn want_flush(&self) -> bool {
        each!(self, c => c.want_flush())
    }

    #[inline]
    pub(crate) fn clear_want_flush(&mut self) {
        each!(self, c => c.clear_want_flush())
    }

    pub(crate) fn set_auto_flush(&mut self, on: bool) {
        each!(self, c => c.set_auto_flush(on))
    }

    /// Now as an IMF-fixdate, for the `date` of the responses written next.
    pub(crate) fn set_date(&mut self, date: [u8; 29]) {
        each!(self, c => c.set_date(date))
    }

    /// The next stream the peer opened, not yet taken by the application.
    pub(crate) fn pop_incoming(&mut self) -> Option<u64> {
        each!(self, c => c.pop_incoming())
    }

    /// Streams put on the ready list so far (wrapping).
    #[inline]
    pub(crate) fn readied(&self) -> u64 {
        each!(self, c => c.readied())
    }

    /// The next stream with news (head, data, trailers, end, reset, room to write).
    pub(crate) fn next_ready(&mut self) -> Option<u64> {
        each!(self, c => c.next_ready())
    }

    /// Why the core ended the connection, if the peer broke a rule (or it failed).
    pub(crate) fn failure(&self) -> Option<&crate::Error> {
        each!(self, c => c.failure())
    }

    #[inline]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        each!(self, c => c.deadline())
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        each!(self, c => c.on_timeout(now))
    }

    /// The time after the face's I/O and after each of the application's calls, read only
    /// when the core has a use for it: the clocks that start without bytes received (the idle
    /// time; a client's response deadlines, which a request's end or the application's read
    /// starts) start here.
    #[inline]
    pub(crate) fn note_time(&mut self, now: &mut LazyNow) {
        each!(self, c => c.note_time(now))
    }

    pub(crate) fn recv(&mut self, buf: &[u8], now: Instant) -> usize {
        each!(self, c => c.recv(buf, now))
    }

    pub(crate) fn recv_eof(&mut self) {
        each!(self, c => c.recv_eof())
    }

    // The connection's state.

    #[inline]
    pub(crate) fn wants_read(&self) -> bool {
        each!(self, c => c.wants_read())
    }

    /// Whether the connection is usable for requests (HTTP/2: the peer's SETTINGS came).
    #[inline]
    pub(crate) fn is_connected(&self) -> bool {
        each!(self, c => c.is_connected())
    }

    pub(crate) fn is_tunnel(&self) -> bool {
        each!(self, c => c.is_tunnel())
    }

    /// Hands a tunnel's socket over: the core stops.
    pub(crate) fn hand_over(&mut self) {
        each!(self, c => c.hand_over())
    }

    pub(crate) fn mid_message(&self) -> bool {
        each!(self, c => c.mid_message())
    }

    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        each!(self, c => c.is_done())
    }

    /// Whether the peer will start no more streams (after those not yet taken).
    pub(crate) fn incoming_over(&self) -> bool {
        each!(self, c => c.incoming_over())
    }

    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        each!(self, c => c.is_idle())
    }

    pub(crate) fn in_flight(&self) -> usize {
        each!(self, c => c.in_flight())
    }

    /// Body bytes written by the application and not yet in `output()`.
    #[inline]
    pub(crate) fn unsent(&self) -> usize {
        each!(self, c => c.unsent())
    }

    /// Client: the authority of request heads that name none (`Host` in HTTP/1.1,
    /// `:authority` in HTTP/2).
    pub(crate) fn set_authority(&mut self, authority: &str) {
        each!(self, c => c.set_authority(authority))
    }

    pub(crate) fn abort(&mut self, e: crate::Error) {
        each!(self, c => c.abort(e))
    }

    pub(crate) fn shutdown(&mut self) {
        each!(self, c => c.shutdown())
    }

    // Streams.

    pub(crate) fn new_stream(&mut self) -> Result<u64> {
        each!(self, c => c.new_stream())
    }

    pub(crate) fn peer_version(&self, id: u64) -> Option<http::Version> {
        each!(self, c => c.peer_version(id))
    }

    pub(crate) fn state(&self, id: u64) -> StreamState {
        each!(self, c => c.state(id))
    }

    pub(crate) fn write_headers(&mut self, id: u64, h: &Headers, end: bool) -> Result<()> {
        each!(self, c => c.write_headers(id, h, end))
    }

    pub(crate) fn write_continue(&mut self, id: u64) -> Result<()> {
        each!(self, c => c.write_continue(id))
    }

    pub(crate) fn write_body(&mut self, id: u64, data: &[u8], end: bool) -> Result<()> {
        each!(self, c => c.write_body(id, data, end))
    }

    /// A write of stream `id` met a full send buffer: `true` if the face refuses it (the
    /// stream is told when the buffer drains).
    pub(crate) fn refuse_write(&mut self, id: u64) -> bool {
        each!(self, c => c.refuse_write(id))
    }

    pub(crate) fn push_promise(&mut self, id: u64, request: &Headers) -> Result<u64> {
        each!(self, c => c.push_promise(id, request))
    }

    pub(crate) fn reset(&mut self, id: u64) -> Result<()> {
        each!(self, c => c.reset(id))
    }

    pub(crate) fn continue_pending(&self, id: u64) -> bool {
        each!(self, c => c.continue_pending(id))
    }

    pub(crate) fn with_recv<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        each!(self, c => c.with_recv(id, f))
    }

    pub(crate) fn with_recv_head<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        each!(self, c => c.with_recv_head(id, f))
    }

    /// Reads stream `id`'s receive side without changing anything; `None` once it is gone.
    pub(crate) fn peek_recv<T>(&self, id: u64, f: impl FnOnce(&RecvSide) -> T) -> Option<T> {
        each!(self, c => c.peek_recv(id, f))
    }

    /// Body bytes stream `id` may write before its own send buffer is full; `None` when the
    /// core keeps no buffer per stream (HTTP/1: the connection's output is the limit) or the
    /// stream is not there.
    pub(crate) fn stream_send_room(&self, id: u64) -> Option<usize> {
        each!(self, c => c.stream_send_room(id))
    }

    /// Whether stream `id`'s outgoing message has ended.
    pub(crate) fn send_ended(&self, id: u64) -> bool {
        each!(self, c => c.send_ended(id))
    }

    /// Takes back a head the application has read (HTTP/1 parses a later head into it).
    pub(crate) fn recycle_head(&mut self, h: Headers) {
        each!(self, c => c.recycle_head(h))
    }
}
