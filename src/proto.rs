//! The protocol core of a connection, HTTP/1.x or HTTP/2, behind one set of method names: the
//! connection face and the streams call these, and each forwards to the version's sans-IO
//! core (`h1::core::H1Core` or `h2::H2Core`), which have the same methods with the same
//! meanings.

use crate::clock::LazyNow;
use crate::error::Result;
use crate::h1::core::H1Core;
use crate::h1::StreamState;
use crate::h2::H2Core;
use crate::headers::Headers;
use crate::recv::RecvSide;
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
    pub(crate) fn is_h2(&self) -> bool {
        matches!(self, Core::H2(_))
    }

    pub(crate) fn out(&self) -> &Vec<u8> {
        each!(self, c => &c.out)
    }

    pub(crate) fn want_flush(&self) -> bool {
        each!(self, c => c.want_flush)
    }

    /// Now as an IMF-fixdate, for the `date` of the responses written next.
    pub(crate) fn set_date(&mut self, date: [u8; 29]) {
        each!(self, c => c.date = date)
    }

    pub(crate) fn clear_want_flush(&mut self) {
        each!(self, c => c.want_flush = false)
    }

    pub(crate) fn pop_incoming(&mut self) -> Option<u64> {
        each!(self, c => c.incoming.pop_front())
    }

    pub(crate) fn wants_read(&self) -> bool {
        each!(self, c => c.wants_read())
    }

    pub(crate) fn is_tunnel(&self) -> bool {
        match self {
            Core::H1(c) => c.is_tunnel(),
            Core::H2(_) => false,
        }
    }

    pub(crate) fn mid_message(&self) -> bool {
        each!(self, c => c.mid_message())
    }

    /// Client: the authority of request heads that name none (`Host` in HTTP/1.1,
    /// `:authority` in HTTP/2).
    pub(crate) fn set_authority(&mut self, authority: &str) {
        match self {
            Core::H1(c) => c.set_authority(authority),
            Core::H2(c) => c.authority = Some(authority.into()),
        }
    }

    /// Why the core ended the connection, if the peer broke a rule (or it failed).
    pub(crate) fn failure(&self) -> Option<&crate::Error> {
        each!(self, c => c.failure.as_ref())
    }

    pub(crate) fn is_done(&self) -> bool {
        each!(self, c => c.is_done())
    }

    pub(crate) fn is_idle(&self) -> bool {
        each!(self, c => c.is_idle())
    }

    pub(crate) fn in_flight(&self) -> usize {
        each!(self, c => c.in_flight())
    }

    /// Marks the idle time; the clock is read only when the core has a use for it.
    pub(crate) fn note_idle(&mut self, now: &mut LazyNow) {
        match self {
            Core::H1(c) => c.note_idle(now),
            Core::H2(c) => c.note_idle(now.get()),
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        each!(self, c => c.deadline())
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        each!(self, c => c.on_timeout(now))
    }

    /// Streams put on the ready list so far (wrapping).
    pub(crate) fn readied(&self) -> u64 {
        each!(self, c => c.readied)
    }

    pub(crate) fn next_ready(&mut self) -> Option<u64> {
        each!(self, c => c.next_ready())
    }

    pub(crate) fn recv(&mut self, buf: &[u8], now: Instant) -> usize {
        each!(self, c => c.recv(buf, now))
    }

    pub(crate) fn recv_eof(&mut self) {
        each!(self, c => c.recv_eof())
    }

    pub(crate) fn abort(&mut self, e: crate::Error) {
        each!(self, c => c.abort(e))
    }

    pub(crate) fn shutdown(&mut self) {
        each!(self, c => c.shutdown())
    }

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

    /// Takes back a head the application has read (HTTP/1 parses a later head into it).
    pub(crate) fn recycle_head(&mut self, h: Headers) {
        match self {
            Core::H1(c) => c.recycle_head(h),
            Core::H2(_) => {}
        }
    }

    pub(crate) fn with_recv_head<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        each!(self, c => c.with_recv_head(id, f))
    }
}
