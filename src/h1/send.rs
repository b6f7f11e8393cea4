//! Sending on an HTTP/1 connection: the send order (messages go out in stream order; a message
//! written early waits in its stream's pending bytes), heads, bodies, trailers and the end of
//! a message, a server's error answers, and the encoding of request heads through the client's
//! cache of its last one (the cache's type is in `client_cache`).

use super::chunked::{encode_chunk_head, encode_last_chunk, CRLF};
use super::client_cache::{EncodedRequest, ENCODED_REQUEST_KEPT};
use super::core::{H1Core, OUT_START};
use super::encode::{
    request_head, response_head, response_head_reusing, RequestInfo, RequestSending,
};
use super::head::Framing;
use super::state::{BodyDec, Recv};
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::recv::closed_stream;
use crate::Role;
use http::StatusCode;

/// Encodes a request head into `out`, or copies the bytes of `cache` when it holds the same
/// head; a head encoded afresh replaces the cache (when small). On an error `out` may hold
/// part of the head: the caller truncates it.
pub(super) fn encode_request(
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

impl H1Core {
    pub(super) fn write_error_answer(&mut self, id: u64) {
        let Some(i) = self.find(id) else { return };
        let Some(e) = self.streams[i].error_answer.take() else {
            return;
        };
        let status = e.status().unwrap_or(StatusCode::BAD_REQUEST);
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
        self.lifecycle.close();
        self.want_flush = true;
        self.finish_sending(id);
    }

    pub(super) fn is_front(&self, id: u64) -> bool {
        self.send_order.front() == Some(&id)
    }

    pub(super) fn push_send_order(&mut self, i: usize) {
        self.streams[i].in_send_order = true;
        self.send_order.push_back(self.streams[i].id);
    }

    pub(super) fn pop_send_order(&mut self) {
        if let Some(id) = self.send_order.pop_front() {
            if let Some(i) = self.find(id) {
                self.streams[i].in_send_order = false;
            }
        }
    }

    /// Appends bytes of stream `id`'s message: straight to `out` when it is at the front.
    pub(super) fn emit(&mut self, i: usize, f: impl FnOnce(&mut Vec<u8>)) {
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
                let status = h.status_code().unwrap_or(0);
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
                    let last = &mut self
                        .server_reuse
                        .get_or_insert_with(Default::default)
                        .response;
                    response_head_reusing(last, buf, h, info, end, &date)
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
                    self.lifecycle.close();
                }
                if !sending.keep_alive {
                    self.lifecycle.close();
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
                    self.recv = if self.lifecycle.closing() {
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
                    self.lifecycle.close();
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
    pub(super) fn body_discardable(&self, id: u64) -> bool {
        match &self.recv {
            Recv::Body {
                id: rid,
                dec: BodyDec::Length(n),
            } if *rid == id => *n <= self.cfg.max_discard,
            _ => false,
        }
    }

    pub(super) fn closing_after_request(&self, i: usize) -> bool {
        // A server closing the connection answers the last request with `Connection: close`.
        self.lifecycle.closing()
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

    pub(super) fn end_message(&mut self, i: usize) -> Result<()> {
        let s = &self.streams[i];
        match s.sending.map(|s| s.framing) {
            Some(Framing::Chunked) => self.emit(i, |o| encode_last_chunk(o, None)),
            Some(Framing::Length(_)) if s.send_left > 0 => {
                // A body cut short would desynchronise the connection: close it after this.
                let left = s.send_left;
                self.lifecycle.close();
                self.streams[i].send_end = true;
                self.after_end(i);
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("body ended {left} bytes short of the content-length sent; the connection will close"),
                ));
            }
            Some(Framing::Close) => self.lifecycle.close(),
            _ => {}
        }
        self.streams[i].send_end = true;
        self.after_end(i);
        Ok(())
    }

    pub(super) fn after_end(&mut self, i: usize) {
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
                    self.lifecycle.close();
                    self.recv = Recv::Closed;
                }
            }
        }
        self.finish_sending(id);
    }

    /// Stream `id`'s message is complete: the next one in order may write.
    pub(super) fn finish_sending(&mut self, id: u64) {
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
        if self.lifecycle.closing()
            && self.role == Role::Server
            && self.streams.iter().all(|s| s.send_end)
        {
            // Every answer is out: over, unless the connection became a tunnel.
            if !matches!(self.recv, Recv::Tunnel) {
                self.recv = Recv::Closed;
                self.lifecycle.finish();
            }
        }
        self.check_done();
    }
}
