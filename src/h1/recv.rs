//! Receiving on an HTTP/1 connection: heads (requests for a server, responses for a client,
//! reusing the client's last parsed response, whose type is in `client_cache`), bodies
//! delimited by length, chunks or close, the end of input, and the errors that end receiving.
//! The states it moves through are [`Recv`]'s; any rule the peer breaks
//! ends receiving, and a server then answers the status the error names, after the responses
//! it owes, and closes.

use super::chunked::ChunkedDecoder;
use super::client_cache::{ParsedResponse, PARSED_RESPONSE_KEPT, RESPONSE_MISSES, RESPONSE_RETRY};
use super::core::{info_default, H1Core};
use super::encode::RequestInfo;
use super::head::{Framing, Head};
use super::parse::{parse_request_reusing, parse_response};
use super::reuse::KeptHead;
use super::state::{BodyDec, Recv};
use super::streams::H1Stream;
use crate::clock::LazyNow;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::Role;
use http::StatusCode;
use std::time::Instant;

impl H1Core {
    /// Feeds received bytes; returns how many were consumed. Unconsumed bytes must be offered
    /// again (with more after them) once [`wants_read`](Self::wants_read) says so.
    pub(crate) fn recv(&mut self, buf: &[u8], now: Instant) -> usize {
        let used = self.take_bytes(buf, now);
        if self.times_responses() {
            self.sync_response_clocks(&mut LazyNow::at(now));
        }
        used
    }

    /// [`recv`](Self::recv) without the response clocks' update after it.
    fn take_bytes(&mut self, buf: &[u8], now: Instant) -> usize {
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
                            self.head_started(now, rest.len());
                            return pos;
                        }
                        Ok(n) => {
                            pos += n;
                            if self.role == Role::Client {
                                // Its last bytes came now (a head is parsed when it is whole).
                                self.head_seen = 0;
                                self.response_bytes(now);
                            }
                        }
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
                    if used > 0 {
                        self.response_bytes(now);
                    }
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

    pub(super) fn check_body_limit(&self, i: usize) -> Result<()> {
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
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)),
            _ => Ok(()),
        }
    }

    pub(super) fn end_of_body(&mut self, id: u64, trailers: Option<Headers>) {
        let i = self.find(id);
        self.end_of_body_at(i, trailers);
    }

    /// [`end_of_body`](Self::end_of_body) for the stream at index `i` of the queue (`None`:
    /// gone already).
    pub(super) fn end_of_body_at(&mut self, i: Option<usize>, trailers: Option<Headers>) {
        self.recv = if self.lifecycle.closing() {
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
        if self.role == Role::Client && self.lifecycle.closing() {
            self.fail_unanswered();
        }
        self.check_done();
    }

    /// Parses one head; returns bytes consumed (0: incomplete).
    pub(super) fn recv_head(&mut self, buf: &[u8], now: Instant) -> Result<usize> {
        match self.role {
            Role::Server => {
                let r = self.server_reuse.get_or_insert_with(Default::default);
                let parsed =
                    parse_request_reusing(&mut r.request, buf, &self.cfg, &mut r.spare_heads)?;
                let Some((head, n)) = parsed else {
                    return Ok(0);
                };
                self.head_over();
                self.busy();
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

    pub(super) fn on_request(&mut self, head: Head, _now: Instant) {
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
        if !head.keep_alive {
            self.lifecycle.close();
        }
        let too_big = match (head.framing, self.cfg.max_request_body) {
            (Framing::Length(n), Some(max)) => n > max,
            _ => false,
        };
        // Made where it lives: a stream record is a few hundred bytes, not worth a move.
        self.room_for_stream();
        self.streams.push_back(H1Stream::new(id, info));
        let s = self.streams.back_mut().expect("just pushed");
        s.expect_continue = head.expect_continue;
        s.recv.got_final_head = true;
        s.recv.heads.push_back(head.headers);
        self.push_send_order(self.streams.len() - 1);
        if too_big {
            // Refuse before the body arrives: the client may still be waiting for 100.
            let max = self.cfg.max_request_body.unwrap_or(0);
            self.fail_receiving(
                Error::new(
                    ErrorKind::Limit,
                    format!("request body larger than the limit of {max} bytes"),
                )
                .with_status(StatusCode::PAYLOAD_TOO_LARGE),
            );
            return;
        }
        self.events.opened(id);
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
                } else if self.lifecycle.closing() {
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

    pub(super) fn on_response(&mut self, i: usize, head: Head) {
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
            self.lifecycle.close();
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
                self.lifecycle.close();
                Recv::Body {
                    id,
                    dec: BodyDec::Close,
                }
            }
            Framing::Tunnel => {
                s.recv.end = true;
                s.awaiting = false;
                self.lifecycle.close();
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
    pub(super) fn fail_receiving(&mut self, e: Error) {
        log::debug!("h1 {:?}: {e}", self.role);
        self.recv = Recv::Closed;
        self.lifecycle.close();
        self.head_over();
        match self.role {
            Role::Server => {
                // The stream being received (if any) fails; the error answer replaces the
                // answer to the first request not yet answered, or comes after all of them.
                let status = e.status().unwrap_or(StatusCode::BAD_REQUEST);
                // The request being received fails, and its application hears of it.
                for i in 0..self.streams.len() {
                    let s = &mut self.streams[i];
                    if !s.recv.end && s.recv.error.is_none() {
                        s.recv.fail(e.clone());
                        self.mark_ready(i);
                    }
                }
                if e.is_no_answer() {
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
                    self.events.forget_incoming(id);
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

    /// Fails every stream (client errors, closed connection).
    pub(super) fn fail_all(&mut self, e: Error) {
        for i in 0..self.streams.len() {
            let s = &mut self.streams[i];
            if !s.recv.end {
                s.recv.fail(e.clone());
                self.mark_ready(i);
            }
        }
        self.failure.get_or_insert(e);
        self.recv = Recv::Closed;
        self.lifecycle.close();
        self.check_done();
    }

    /// Client: requests after a `Connection: close` response will get no answer.
    pub(super) fn fail_unanswered(&mut self) {
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
        self.head_over();
        self.lifecycle.close();
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
                    self.lifecycle.close();
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
                    self.lifecycle.finish();
                }
            }
        }
        self.check_done();
        if self.times_responses() {
            // Nothing more comes: no response clock runs.
            self.sync_response_clocks(&mut LazyNow::unread());
        }
    }
}
