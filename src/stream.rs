//! The stream interface, lua-http style: write headers, body chunks and 100-continue; read
//! headers, chunks, the whole body, trailers; unget; reset; state.
//!
//! A [`Stream`] is a short-lived handle borrowed from its [`Connection`]. Every read has a
//! non-blocking `try_` form (an error of kind `WouldBlock` means "not yet": step the
//! connection and try again, e.g. when [`Connection::next_ready_stream`] names the stream) and
//! a blocking form that takes a timeout and runs the one wait loop.

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::recv::{Chunk, RecvSide};
use crate::stream_state::StreamState;
use crate::wait::{not_yet, wait_for};
use crate::StreamId;
use std::io::{Read, Write};
use std::time::Duration;

/// A handle on one stream of a connection.
pub struct Stream<'c> {
    conn: &'c mut Connection,
    id: StreamId,
}

impl Connection {
    /// A handle on stream `id`.
    pub fn stream(&mut self, id: StreamId) -> Stream<'_> {
        Stream::new(self, id)
    }

    /// Moves up to `max` body bytes received on stream `from` to the send side of stream `to`
    /// of this same connection (two HTTP/2 streams, or one stream's request body to its own
    /// response), without an allocation: as [`Stream::try_pass_body_to`], which passes between
    /// two connections. `from` and `to` may be the same stream.
    ///
    /// # Errors
    /// As [`Stream::try_pass_body_to`].
    pub fn try_pass_body(
        &mut self,
        from: StreamId,
        to: StreamId,
        max: usize,
    ) -> Result<Option<usize>> {
        let r = pass_within(self, from.get(), to.get(), max);
        if changed_nothing(&r, self) {
            return self.unchanged_then("try_pass_body", r);
        }
        self.after_app()?;
        r
    }

    /// Body bytes stream `id` may write now: what its HTTP/2 send buffer has room for, or,
    /// over HTTP/1, what the connection's output has room for (at least one byte while it is
    /// within the send buffer: `try_write_chunk` takes a chunk then, and the writers refused
    /// are woken once it is). 0: full.
    fn send_room(&self, id: u64) -> usize {
        match self.core_ref().stream_send_room(id) {
            Some(room) => room,
            None => (self.config().send_buffer + 1).saturating_sub(self.buffered_output()),
        }
    }

    /// How many of `want > 0` bytes stream `id` takes now: at most its room; with no room, a
    /// refusal (would-block: the stream is named ready once there is room), or all of them
    /// when the core refuses by itself (HTTP/2 keeps the stream's buffer and its waiting
    /// writer). A closed connection takes none: its error.
    fn room_for(&mut self, id: u64, want: usize) -> Result<usize> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        match self.send_room(id) {
            0 if self.core_mut().refuse_write(id) => Err(Error::send_buffer_full()),
            0 => Ok(want),
            room => Ok(want.min(room)),
        }
    }
}

/// Ends the body of stream `to` of `dst`, with `trailers` when the body passed on had them.
fn pass_end(dst: &mut Connection, to: u64, bytes: &[u8], trailers: Option<&Headers>) -> Result<()> {
    if dst.is_closed() {
        return Err(dst.closed_error());
    }
    match trailers {
        Some(t) => {
            if !bytes.is_empty() {
                dst.core_mut().write_body(to, bytes, false)?;
            }
            dst.core_mut().write_headers(to, t, true)
        }
        None => dst.core_mut().write_body(to, bytes, true),
    }
}

/// What a pass finds on the source's side when nothing is buffered: the end passed on
/// (`Ok(None)`, once the destination's body is ended too), or the source's would-block or
/// error.
fn pass_nothing(r: &mut RecvSide, dst: &mut Connection, to: u64) -> Result<Option<usize>> {
    r.nothing_buffered()?;
    if !dst.core_ref().send_ended(to) {
        pass_end(dst, to, &[], r.trailers.as_ref())?;
    }
    Ok(None)
}

/// Whether a call that returned `r` changed nothing on `conn` the caller's loop watches: it
/// said "not yet" (it took and wrote nothing, so the fd, events and deadline are what they
/// were; see `Connection::unchanged_then`) and queued no output on the way (the 100 Continue
/// a request's first body read answers, seen in the core's `want_flush`).
#[inline(always)]
fn changed_nothing<T>(r: &Result<T>, conn: &Connection) -> bool {
    matches!(r, Err(e) if e.is_would_block()) && !conn.core_ref().want_flush()
}

/// One pass between two connections: the bytes go from the source's receive buffer straight
/// into the destination's output (one copy).
fn pass_between(
    src: &mut Connection,
    from: u64,
    dst: &mut Connection,
    to: u64,
    max: usize,
) -> Result<Option<usize>> {
    if max == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a pass of at most 0 bytes",
        ));
    }
    src.core_mut()
        .with_recv(from, |r| {
            let avail = r.buffered();
            if avail == 0 {
                return pass_nothing(r, dst, to);
            }
            let n = dst.room_for(to, avail.min(max))?;
            let bytes = &r.unread()[..n];
            if r.end && n == avail {
                pass_end(dst, to, bytes, r.trailers.as_ref())?;
            } else {
                dst.core_mut().write_body(to, bytes, false)?;
            }
            r.consume(n);
            Ok(Some(n))
        })
        .and_then(|x| x)
}

/// The bytes a pass within one connection copies at a time, through the stack: the source's
/// buffer and the destination's output belong to the same core, so they cannot be borrowed
/// together.
const PASS_STEP: usize = 16 * 1024;

/// One pass within a connection: up to `max` bytes, `PASS_STEP` at a time.
fn pass_within(conn: &mut Connection, from: u64, to: u64, max: usize) -> Result<Option<usize>> {
    if max == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a pass of at most 0 bytes",
        ));
    }
    let mut step = [0u8; PASS_STEP];
    let mut moved = 0;
    while moved < max {
        // What the source has: copied (not yet taken), and whether it ends the body.
        let avail = conn.core_mut().with_recv(from, |r| r.buffered())?;
        if avail == 0 {
            if moved > 0 {
                break; // the end, or an error, is the next call's to tell
            }
            let mut r = RecvSide::default();
            let seen = conn.core_mut().with_recv(from, |src| {
                let out = src.nothing_buffered();
                r.trailers = src.trailers.clone();
                out
            })?;
            seen?;
            if !conn.core_ref().send_ended(to) {
                pass_end(conn, to, &[], r.trailers.as_ref())?;
            }
            return Ok(None);
        }
        let want = avail.min(max - moved).min(PASS_STEP);
        let n = match conn.room_for(to, want) {
            Ok(n) => n,
            Err(_) if moved > 0 => break,
            Err(e) => return Err(e),
        };
        let (last, trailers) = conn.core_mut().with_recv(from, |r| {
            step[..n].copy_from_slice(&r.unread()[..n]);
            let last = r.end && n == r.buffered();
            (last, if last { r.trailers.clone() } else { None })
        })?;
        let written = match last {
            true => pass_end(conn, to, &step[..n], trailers.as_ref()),
            false => conn.core_mut().write_body(to, &step[..n], false),
        };
        match written {
            Ok(()) => {}
            Err(_) if moved > 0 => break, // told by the next call
            Err(e) => return Err(e),
        }
        conn.core_mut().with_recv(from, |r| r.consume(n))?;
        moved += n;
        if last {
            break;
        }
    }
    Ok(Some(moved))
}

impl<'c> Stream<'c> {
    fn new(conn: &'c mut Connection, id: StreamId) -> Stream<'c> {
        Stream { conn, id }
    }

    /// The stream's id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// The stream's state; `Closed` for a finished or unknown stream.
    pub fn state(&self) -> StreamState {
        self.conn.core_ref().state(self.id.get())
    }

    /// The HTTP version of the peer's message on this stream (the request a server got, the
    /// response a client got); `None` once the stream is gone.
    pub fn peer_version(&self) -> Option<http::Version> {
        self.conn.core_ref().peer_version(self.id.get())
    }

    /// The connection the stream belongs to.
    pub fn connection(&mut self) -> &mut Connection {
        self.conn
    }

    #[inline]
    fn done<T>(&mut self, r: Result<T>) -> Result<T> {
        if changed_nothing(&r, self.conn) {
            return self
                .conn
                .unchanged_then("a stream call that said not yet", r);
        }
        self.conn.after_app()?;
        r
    }

    /// Runs `f`, which may fail, on the stream's receive side, as the core's `with_recv`
    /// (which first answers a request that expects 100-continue: its body is being read).
    #[inline]
    fn on_recv<T>(&mut self, f: impl FnOnce(&mut RecvSide) -> Result<T>) -> Result<T> {
        let id = self.id.get();
        self.conn.core_mut().with_recv(id, f).and_then(|x| x)
    }

    /// As [`on_recv`](Self::on_recv) without answering 100-continue (the core's
    /// `with_recv_head`).
    #[inline]
    fn on_recv_head<T>(&mut self, f: impl FnOnce(&mut RecvSide) -> Result<T>) -> Result<T> {
        let id = self.id.get();
        self.conn.core_mut().with_recv_head(id, f).and_then(|x| x)
    }

    /// Writes a head: `:status` and fields (server), or `:method`, `:path`, `:authority` and
    /// fields (client). `end` means no body follows. A second head after the final one is sent
    /// as trailers. Interim (1xx) heads may precede the final one.
    ///
    /// # Errors
    /// The head is invalid (bad name or value, missing pseudo-header), the stream already
    /// ended, or the connection is closed.
    pub fn write_headers(&mut self, headers: &Headers, end: bool) -> Result<()> {
        if self.conn.is_closed() {
            return Err(self.conn.closed_error());
        }
        let id = self.id.get();
        let head = self.conn.offer_h2c(id, headers, end);
        let r = self.conn.core_mut().write_headers(id, &head, end);
        self.done(r)
    }

    /// Server, HTTP/2: promises the response to `request` (server push, RFC 9113 §8.4) on
    /// this stream, a request of the client, and returns the promised stream. The
    /// PUSH_PROMISE goes out at once, before any body of this stream written after the call,
    /// so write the promise before the part of the body that refers to the pushed resource.
    /// Answer on the promised stream with [`write_headers`](Self::write_headers) and the body
    /// calls, as on any stream; it is not one of the incoming streams.
    ///
    /// `request` is a GET or HEAD without content, with `:path` and `:authority` (or `host`);
    /// `:scheme` defaults to the connection's. A client sees the push as an incoming stream
    /// (see [`Http2Config::enable_push`](crate::Http2Config::enable_push)).
    ///
    /// ```no_run
    /// # fn answer(conn: &mut pollhttp::Connection, req: pollhttp::StreamId) -> pollhttp::Result<()> {
    /// use pollhttp::{Headers, Method, StatusCode};
    /// let style = Headers::request(Method::GET, "/style.css", Some("example.com"));
    /// let pushed = conn.stream(req).push_promise(&style)?;
    /// conn.stream(req).write_headers(&Headers::response(StatusCode::OK), false)?;
    /// conn.stream(req).write_chunk(b"<link rel=stylesheet href=/style.css>", true, None)?;
    /// let mut css = Headers::response(StatusCode::OK);
    /// css.append("content-type", "text/css");
    /// conn.stream(pushed).write_headers(&css, false)?;
    /// conn.stream(pushed).write_chunk(b"body { margin: 0 }", true, None)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `InvalidState` on an HTTP/1 connection, on a client, when the client disabled push
    /// (SETTINGS_ENABLE_PUSH = 0), or when this stream is not open or half-closed (remote)
    /// (its response already ended, or it was reset); `InvalidInput` for a request that
    /// cannot be promised; `Limit` when the client's SETTINGS_MAX_CONCURRENT_STREAMS allows
    /// no more pushed streams now, or the request is over its SETTINGS_MAX_HEADER_LIST_SIZE;
    /// `Closed` after GOAWAY or once the stream ids are used up.
    pub fn push_promise(&mut self, request: &Headers) -> Result<StreamId> {
        if self.conn.is_closed() {
            return Err(self.conn.closed_error());
        }
        let r = self.conn.core_mut().push_promise(self.id.get(), request);
        self.done(r).map(StreamId::new)
    }

    /// Server: answers `Expect: 100-continue` with `100 Continue`.
    ///
    /// # Errors
    /// The final head was already sent, or this is a client stream.
    pub fn write_continue(&mut self) -> Result<()> {
        let r = self.conn.core_mut().write_continue(self.id.get());
        self.done(r)
    }

    /// Writes body bytes without blocking; `end` ends the body. Reports `WouldBlock` (and
    /// writes nothing) while the connection holds more unsent output than its `send_buffer`.
    ///
    /// # Errors
    /// Would block, no head was written, the body overruns its Content-Length, or the stream
    /// already ended.
    pub fn try_write_chunk(&mut self, data: &[u8], end: bool) -> Result<()> {
        if self.conn.is_closed() {
            return Err(self.conn.closed_error());
        }
        if !data.is_empty() && self.conn.buffered_output() > self.conn.config().send_buffer {
            // `next_ready_stream` names this stream again once the buffer drains. (An HTTP/2
            // core keeps its own per-stream buffers and says would-block itself.)
            if self.conn.core_mut().refuse_write(self.id.get()) {
                return Err(Error::send_buffer_full());
            }
        }
        let r = self.conn.core_mut().write_body(self.id.get(), data, end);
        self.done(r)
    }

    /// Writes as much of `data` as the send buffer takes now, without blocking, as
    /// `write(2)` does: `Ok(n)` when the first `n` bytes were taken (buffered); `end` ends the
    /// body only when all of `data` was taken (`n == data.len()`; an empty `data` with `end`
    /// just ends it). "Not yet" (`WouldBlock`) only when nothing fits: then nothing was
    /// taken, and [`Connection::next_ready_stream`] names the stream when there is room.
    ///
    /// The room is the stream's send buffer over HTTP/2 and the connection's output over
    /// HTTP/1 (`Config::send_buffer` either way), so a large `data` is taken in parts; the
    /// rest is the caller's to write again, from its own buffer: nothing is allocated for it.
    ///
    /// # Errors
    /// Would block (nothing taken), no head was written, the body overruns its
    /// Content-Length, or the stream already ended.
    pub fn try_write(&mut self, data: &[u8], end: bool) -> Result<usize> {
        if self.conn.is_closed() {
            return Err(self.conn.closed_error());
        }
        let id = self.id.get();
        let n = match data.is_empty() {
            true => 0,
            false => self.conn.room_for(id, data.len())?,
        };
        let r = self
            .conn
            .core_mut()
            .write_body(id, &data[..n], end && n == data.len());
        self.done(r.map(|()| n))
    }

    /// Moves up to `max` body bytes received on this stream to the send side of stream `to`
    /// of another connection, without an allocation (the bytes go from this stream's receive
    /// buffer into `to`'s output), as a proxy passes a body on: `Ok(Some(n))` when `n` bytes
    /// were moved (call again: more may be there); `Ok(None)` when this stream's body is over
    /// and its end was passed on (`to`'s body is ended, with the trailers this body had), and
    /// every later call says so again. The end goes with the last bytes when they are moved
    /// together. "Not yet" (`WouldBlock`): this stream has nothing new and its body goes on,
    /// or `to` has no room; each stream is named by its connection's
    /// [`next_ready_stream`](Connection::next_ready_stream) when that changes, so call again
    /// when either is. `max` is at least 1 (`usize::MAX`: no limit but the room).
    /// [`Connection::try_pass_body`] passes between two streams of one connection.
    ///
    /// ```no_run
    /// # fn f(front: &mut pollhttp::Connection, fid: pollhttp::StreamId,
    /// #      back: &mut pollhttp::Connection, bid: pollhttp::StreamId) -> pollhttp::Result<()> {
    /// // The upstream's response body (back, bid) on to the client (front, fid).
    /// loop {
    ///     match back.stream(bid).try_pass_body_to(&mut front.stream(fid), usize::MAX) {
    ///         Ok(Some(_)) => {}     // moved; there may be more
    ///         Ok(None) => break,    // all of it, and the end
    ///         Err(e) if e.is_would_block() => break, // again when either stream is ready
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Not yet (`WouldBlock`), this stream failed (reset, truncated body: told after the bytes
    /// before it), or writing to `to` failed (no head written there, its Content-Length
    /// overrun, it ended or was reset, its connection closed); `InvalidInput` for `max` 0.
    pub fn try_pass_body_to(&mut self, to: &mut Stream<'_>, max: usize) -> Result<Option<usize>> {
        let r = pass_between(self.conn, self.id.get(), to.conn, to.id.get(), max);
        if changed_nothing(&r, self.conn) && changed_nothing(&r, to.conn) {
            to.conn.unchanged_then("try_pass_body_to (destination)", ());
            return self.conn.unchanged_then("try_pass_body_to", r);
        }
        let dst = to.conn.after_app();
        self.conn.after_app()?;
        dst?;
        r
    }

    /// Blocking: writes body bytes, waiting at most `timeout` for room in the send buffer.
    ///
    /// # Errors
    /// As [`try_write_chunk`](Self::try_write_chunk), or the time ran out.
    pub fn write_chunk(&mut self, data: &[u8], end: bool, timeout: Option<Duration>) -> Result<()> {
        let id = self.id;
        wait_for(self.conn, timeout, "write_chunk", |c| {
            not_yet(c.stream(id).try_write_chunk(data, end))
        })
    }

    /// Blocking: writes `data` as the whole (rest of the) body and flushes it.
    ///
    /// # Errors
    /// As [`write_chunk`](Self::write_chunk), or the flush failed.
    pub fn write_body_from_bytes(&mut self, data: &[u8], timeout: Option<Duration>) -> Result<()> {
        self.write_chunk(data, true, timeout)?;
        self.conn.flush(timeout)
    }

    /// Blocking: copies `reader` to the body until its end, then ends the body and flushes.
    ///
    /// # Errors
    /// Reading failed, or as [`write_chunk`](Self::write_chunk).
    pub fn write_body_from_reader(
        &mut self,
        reader: &mut dyn Read,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read the body source", &e)),
            };
            if n == 0 {
                self.write_chunk(&[], true, timeout)?;
                return self.conn.flush(timeout);
            }
            self.write_chunk(&buf[..n], false, timeout)?;
        }
    }

    /// Client, after writing a head with `Expect: 100-continue`: waits at most `timeout` for
    /// the server's `100 Continue`. `Ok(true)`: send the body (the 100 came, or the time ran
    /// out: RFC 9110 10.1.1 says not to wait indefinitely); `Ok(false)`: a final answer came
    /// instead, so the body is not wanted (read the head with `get_headers`).
    ///
    /// # Errors
    /// The stream failed.
    pub fn wait_for_continue(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let id = self.id;
        match wait_for(self.conn, timeout, "wait_for_continue", |c| {
            if c.core_mut().continue_pending(id.get()) {
                return Ok(None);
            }
            let answered = c
                .core_mut()
                .with_recv_head(id.get(), |r| r.got_final_head)
                .unwrap_or(true);
            Ok(Some(!answered))
        }) {
            Err(e) if e.kind() == ErrorKind::TimedOut => Ok(true),
            r => r,
        }
    }

    /// The next head without waiting: `Ok(None)` if the stream ended without one; an error
    /// of kind `WouldBlock` if none has arrived yet. Interim (1xx) heads come before the final
    /// one (a client does not see `100 Continue`; it only lets the body go).
    ///
    /// # Errors
    /// Not yet, or the stream failed.
    pub fn try_get_headers(&mut self) -> Result<Option<Headers>> {
        let r = self.on_recv_head(|r| r.take_head());
        self.done(r)
    }

    /// Like [`try_get_headers`](Self::try_get_headers), but the head is stored in `dst`:
    /// `Ok(Some(dst))` when a head was taken (`dst` holds it now), `Ok(None)` when the stream
    /// ended without one, an error of kind `WouldBlock` when none has arrived yet; `dst` is
    /// left as it was unless `Ok(Some)` is returned.
    ///
    /// What `dst` held before is given to the connection, which parses a later response's head
    /// into its storage (HTTP/1.x clients; other connections drop it). A client that takes
    /// every answer's head this way, reusing one `Headers`, allocates no head storage per
    /// response once its connection has warmed up; the fields it reads are the same as
    /// [`try_get_headers`](Self::try_get_headers) gives.
    ///
    /// ```no_run
    /// # fn f(stream: &mut pollhttp::Stream<'_>) -> pollhttp::Result<()> {
    /// let mut head = pollhttp::Headers::new();
    /// match stream.try_get_headers_into(&mut head) {
    ///     Ok(Some(head)) => println!("status {:?}", head.status()),
    ///     Ok(None) => println!("the stream ended without a head"),
    ///     Err(e) if e.is_would_block() => {} // not yet: step the connection, call again
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`try_get_headers`](Self::try_get_headers): not yet (`WouldBlock`), or the stream
    /// failed.
    pub fn try_get_headers_into<'h>(
        &mut self,
        dst: &'h mut Headers,
    ) -> Result<Option<&'h mut Headers>> {
        match self.head_into::<false>(dst)? {
            Some(_) => Ok(Some(dst)),
            None => Ok(None),
        }
    }

    /// [`try_get_headers_into`](Self::try_get_headers_into), telling with the head taken
    /// whether the message ended with it: `Ok(Some(true))` when no body byte or error is
    /// left to read, so the body is complete and empty (a server's `GET`: its body needs
    /// no call to be read).
    pub(crate) fn try_get_head_into(&mut self, dst: &mut Headers) -> Result<Option<bool>> {
        self.head_into::<true>(dst)
    }

    /// Both of the above; `BARE`: whether to look at what is left (the public call does not
    /// pay for it).
    #[inline]
    fn head_into<const BARE: bool>(&mut self, dst: &mut Headers) -> Result<Option<bool>> {
        let mut bare = false;
        let r = match self.on_recv_head(|r| {
            let h = r.take_head();
            if BARE {
                bare = r.end && r.buffered() == 0 && r.error.is_none();
            }
            h
        }) {
            Ok(Some(h)) => {
                let old = std::mem::replace(dst, h);
                self.conn.core_mut().recycle_head(old);
                Ok(Some(bare))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        self.done(r)
    }

    /// Blocking: the next head, waiting at most `timeout`.
    ///
    /// # Errors
    /// The time ran out, or the stream failed.
    pub fn get_headers(&mut self, timeout: Option<Duration>) -> Result<Option<Headers>> {
        let id = self.id;
        wait_for(self.conn, timeout, "get_headers", |c| {
            not_yet(c.stream(id).try_get_headers())
        })
    }

    /// The next piece of the body without waiting: `Ok(None)` at its end.
    ///
    /// # Errors
    /// Not yet (`WouldBlock`), or the stream failed (reset, truncated body, protocol error).
    pub fn try_get_next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let r = match self.on_recv(|r| r.take_chunk(usize::MAX)) {
            Ok(Chunk::Data(d)) => Ok(Some(d)),
            Ok(Chunk::End) => Ok(None),
            Err(e) => Err(e),
        };
        self.done(r)
    }

    /// Blocking: the next piece of the body (`None` at its end), waiting at most `timeout`.
    ///
    /// # Errors
    /// The time ran out, or the stream failed.
    pub fn get_next_chunk(&mut self, timeout: Option<Duration>) -> Result<Option<Vec<u8>>> {
        let id = self.id;
        wait_for(self.conn, timeout, "get_next_chunk", |c| {
            not_yet(c.stream(id).try_get_next_chunk())
        })
    }

    /// Blocking: the whole (rest of the) body, waiting at most `timeout` in all.
    ///
    /// # Errors
    /// The time ran out, or the stream failed: a truncated body is an error, never a short
    /// success.
    pub fn get_body_as_bytes(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>> {
        let id = self.id;
        let mut body = Vec::new();
        wait_for(self.conn, timeout, "get_body", |c| loop {
            match c.stream(id).try_get_body_into(&mut body) {
                Ok(Some(_)) => {} // and read on: the next call says whether that was all
                Ok(None) => return Ok(Some(())),
                Err(e) if e.is_would_block() => return Ok(None),
                Err(e) => return Err(e),
            }
        })?;
        Ok(body)
    }

    /// The body bytes that have arrived, appended to `buf`, without waiting: `Ok(Some(n))`
    /// when `n` bytes were appended (more may come: call again), `Ok(None)` when the body is
    /// over and nothing more was appended, an error of kind `WouldBlock` when nothing new has
    /// come and the body goes on (step the connection and call again, e.g. when
    /// [`Connection::next_ready_stream`] names the stream). The call that appends the last
    /// bytes says `Some(n)`; the next one says `None`, and so does every call after it.
    ///
    /// Made for a caller that reuses one buffer for many responses: it allocates nothing of
    /// its own. When `buf` is empty its storage may be exchanged with the body's, and an
    /// HTTP/1.x client gives that storage to a later response's body once the stream is over, so a
    /// client that clears its buffer before each response allocates no body storage per
    /// response once its connection has warmed up. Call it after the head is taken (it does
    /// not skip heads).
    ///
    /// ```no_run
    /// # fn f(stream: &mut pollhttp::Stream<'_>) -> pollhttp::Result<()> {
    /// let mut body = Vec::new();
    /// loop {
    ///     match stream.try_get_body_into(&mut body) {
    ///         Ok(Some(n)) => println!("{n} more bytes"),
    ///         Ok(None) => break println!("{} bytes of body in all", body.len()),
    ///         Err(e) if e.is_would_block() => break, // not yet: step, then call again
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Not yet (`WouldBlock`), or the stream failed (reset, truncated body, protocol error):
    /// the failure is reported by the call after the one that appended the bytes that came
    /// before it, so a truncated body never ends with `Ok(None)`.
    pub fn try_get_body_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<usize>> {
        let r = self.on_recv(|r| r.drain_into(buf));
        self.done(r)
    }

    /// Body bytes read into `buf`, without waiting and without an allocation: `Ok(Some(n))`
    /// when the first `n > 0` bytes of `buf` were filled (more may be there: call again),
    /// `Ok(None)` when the body is over (every later call says so again), "not yet"
    /// (`WouldBlock`) when nothing new has come and the body goes on (call again when
    /// [`Connection::next_ready_stream`] names the stream). Call it after the head is taken.
    ///
    /// # Errors
    /// Not yet (`WouldBlock`), the stream failed (reset, truncated body: told after the bytes
    /// before it, so a truncated body never ends with `Ok(None)`), or `buf` is empty
    /// (`InvalidInput`).
    pub fn try_read_body(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        if buf.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "try_read_body needs room for at least one byte",
            ));
        }
        let r = self.on_recv(|r| r.read_into(buf));
        self.done(r)
    }

    /// Whether the peer's message on this stream has body bytes still to read: `true` while
    /// some wait to be read or the peer has not ended its message; `false` once the body is
    /// over or when there is none (an HTTP/2 head with END_STREAM; an HTTP/1 request with
    /// neither Content-Length nor chunking, or with Content-Length: 0; a response to HEAD, a
    /// 204 or a 304), or when the stream failed or is gone. It does not read anything.
    ///
    /// Asked right after the final head was taken, it tells a proxy whether to send the head
    /// on with `end` (no body) or to pass a body after it. Before the final head a stream whose
    /// peer has not ended it says `true`.
    pub fn body_follows(&self) -> bool {
        self.conn
            .core_ref()
            .peek_recv(self.id.get(), RecvSide::body_follows)
            .unwrap_or(false)
    }

    /// Blocking: the whole body as a UTF-8 string.
    ///
    /// # Errors
    /// As [`get_body_as_bytes`](Self::get_body_as_bytes), or the body is not UTF-8.
    pub fn get_body_as_string(&mut self, timeout: Option<Duration>) -> Result<String> {
        let b = self.get_body_as_bytes(timeout)?;
        String::from_utf8(b).map_err(|_| Error::new(ErrorKind::InvalidInput, "body is not UTF-8"))
    }

    /// Blocking: copies the body into `writer` as it arrives.
    ///
    /// # Errors
    /// Writing failed, or as [`get_next_chunk`](Self::get_next_chunk).
    pub fn save_body_to(
        &mut self,
        writer: &mut dyn Write,
        timeout: Option<Duration>,
    ) -> Result<u64> {
        let deadline = timeout.map(|d| std::time::Instant::now() + d);
        let mut total = 0;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            match self.get_next_chunk(left)? {
                None => return Ok(total),
                Some(d) => {
                    writer
                        .write_all(&d)
                        .map_err(|e| Error::io("write the body", &e))?;
                    total += d.len() as u64;
                }
            }
        }
    }

    /// The trailers once the body is over (`None` if there were none). They are taken: a
    /// second call returns `None`.
    ///
    /// # Errors
    /// The body is not over yet (`WouldBlock`), or the stream failed.
    pub fn try_get_trailers(&mut self) -> Result<Option<Headers>> {
        let r = self.on_recv_head(|r| r.take_trailers());
        self.done(r)
    }

    /// Puts `data` back in front of the unread body.
    ///
    /// # Errors
    /// The stream is unknown or closed.
    pub fn unget(&mut self, data: &[u8]) -> Result<()> {
        let r = self
            .conn
            .core_mut()
            .with_recv_head(self.id.get(), |r| r.unget(data));
        self.done(r)
    }

    /// Whether the body that arrived was delimited by the connection closing (not by a
    /// length or chunking): a proxy may want to tell such a body from a complete one.
    pub fn body_close_delimited(&mut self) -> bool {
        self.conn
            .core_mut()
            .with_recv_head(self.id.get(), |r| r.close_delimited)
            .unwrap_or(false)
    }

    /// Abandons the stream: unread input is dropped, and an unfinished message ends the
    /// connection (HTTP/1 cannot cancel one message and go on).
    ///
    /// # Errors
    /// Never for HTTP/1; kept fallible for HTTP/2's RST_STREAM.
    pub fn reset(&mut self) -> Result<()> {
        let r = self.conn.core_mut().reset(self.id.get());
        self.done(r)
    }
}
