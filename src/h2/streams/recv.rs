//! Receiving on streams: field blocks (heads, trailers, promises) assembled from HEADERS and
//! CONTINUATION, the peer opening streams (§5.1, §5.1.2), DATA with its flow control and
//! content-length checks, and RST_STREAM.

use crate::error::{Error, ErrorKind};
use crate::h2::core::H2Core;
use crate::h2::head::{HeadCheck, HeadKind};
use crate::h2::state::{Event, H2State};
use crate::h2::streams::store::H2Stream;
use crate::h2::timer::Timer;
use crate::headers::Headers;
use crate::Role;
use h2_codec_lite::{BlockStart, DataFrame, ErrorCode, FieldBlockAssembler, Frame, RstStreamFrame};
use http::StatusCode;
use std::time::Instant;

impl H2Core {
    /// HEADERS and CONTINUATION frames, and any frame while a field block is open.
    pub(in crate::h2) fn on_block_frame(&mut self, frame: Frame<'_>, now: Instant) {
        if let Frame::Continuation(c) = &frame {
            if c.header_block.is_empty()
                && !c.end_headers
                && self.floods.empty.hit(now, self.cfg.flood_window)
            {
                return self.conn_error(ErrorCode::EnhanceYourCalm, "empty CONTINUATION flood");
            }
        }
        let mut asm = std::mem::replace(&mut self.assembler, FieldBlockAssembler::new(0));
        match asm.push(&frame) {
            Ok(Some(block)) => {
                let (id, start) = (block.stream_id, block.start);
                self.on_field_block(id, start, block.block);
            }
            Ok(None) => {}
            Err(e) => self.conn_error(e.code(), e.message()),
        }
        self.assembler = asm;
    }

    pub(in crate::h2) fn on_field_block(&mut self, id: u32, start: BlockStart, block: &[u8]) {
        let (end_stream, priority, promised) = match start {
            BlockStart::Headers {
                end_stream,
                priority,
            } => (end_stream, priority, None),
            // Only a client that accepts pushes gets here (`on_frame`).
            BlockStart::PushPromise { promised_stream_id } => {
                (false, None, Some(promised_stream_id))
            }
        };
        let kind = match self.streams.get(&id) {
            _ if promised.is_some() => HeadKind::Request,
            Some(s) if self.role == Role::Server || s.recv.got_final_head => HeadKind::Trailers,
            _ if self.role == Role::Server => HeadKind::Request,
            _ => HeadKind::Response,
        };
        // The HPACK state follows every block, even one we refuse (§4.3).
        let mut check = HeadCheck::new(kind).max_fields(self.cfg.max_headers);
        let too_large = match self
            .dec
            .decode(block, |f| check.field(f.name, f.value, f.sensitive))
        {
            Ok(()) => false,
            Err(e) if e.is_connection_error() => {
                return self.conn_error(ErrorCode::CompressionError, e.message())
            }
            Err(_) => true,
        };
        check.finish();
        // A head over our limits is not malformed: a server answers such a request 431.
        let (problem, oversize) = if priority.is_some_and(|p| p.dependency == id) {
            (
                Some("RFC 9113 §5.3.1: a stream cannot depend on itself"),
                false,
            )
        } else if too_large {
            (
                Some("RFC 9113 §6.5.2: header list larger than SETTINGS_MAX_HEADER_LIST_SIZE"),
                true,
            )
        } else if check.too_many {
            (Some("more header fields than Config::max_headers"), true)
        } else {
            (check.error, false)
        };
        if let Some(promised) = promised {
            return self.on_push_promise(id, promised, check, problem);
        }
        let Some(s) = self.streams.get(&id) else {
            if self.is_idle_id(id) {
                if self.is_local(id) {
                    return self.conn_error(
                        ErrorCode::ProtocolError,
                        "RFC 9113 §5.1.1: HEADERS on a stream id only we may open",
                    );
                }
                self.note_skipped_peer_ids(id);
                self.last_peer_id = id;
                return self.open_peer_stream(id, check, end_stream, problem, oversize);
            }
            if self.reset_ids.contains(&id) {
                return;
            }
            if self.was_skipped(id) {
                return self.conn_error(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §5.1.1: HEADERS on a stream id lower than one the peer already used",
                );
            }
            return self.conn_error(
                ErrorCode::StreamClosed,
                "RFC 9113 §5.1: HEADERS on a closed stream",
            );
        };
        if s.state == H2State::Idle {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1: HEADERS on a stream we have not opened",
            );
        }
        if s.state == H2State::ReservedLocal {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1: HEADERS on a stream we reserved for a push",
            );
        }
        if !s.state.can_recv() && s.state != H2State::ReservedRemote {
            if s.reset_sent {
                return;
            }
            return self.stream_error(
                id,
                ErrorCode::StreamClosed,
                "RFC 9113 §5.1: HEADERS after the peer ended the stream",
            );
        }
        if let Some(rule) = problem {
            return self.stream_error(id, ErrorCode::ProtocolError, rule);
        }
        let s = self.streams.get_mut(&id).expect("checked above");
        if s.state == H2State::ReservedRemote {
            // The pushed response begins (§8.4.2).
            s.transition(Event::RecvHeaders);
        }
        match kind {
            HeadKind::Trailers => {
                if !end_stream {
                    return self.stream_error(
                        id,
                        ErrorCode::ProtocolError,
                        "RFC 9113 §8.1: a trailer section without END_STREAM",
                    );
                }
                s.recv.trailers = Some(check.headers);
            }
            _ => {
                let status = check.status.unwrap_or(0);
                if status < 200 {
                    if end_stream {
                        return self.stream_error(
                            id,
                            ErrorCode::ProtocolError,
                            "RFC 9113 §8.1: an interim (1xx) response with END_STREAM",
                        );
                    }
                    // 100 Continue only lets the body go; other 1xx heads are shown.
                    s.expect_continue = false;
                    if status != 100 {
                        s.recv.heads.push_back(check.headers);
                        self.mark_ready(id);
                    }
                    return;
                }
                s.recv.got_final_head = true;
                s.expect_continue = false;
                s.content_length = if s.head_request || status == 204 || status == 304 {
                    Some(0)
                } else {
                    check.content_length
                };
                s.recv.heads.push_back(check.headers);
            }
        }
        self.mark_ready(id);
        if end_stream {
            self.end_of_recv(id);
        }
    }

    /// Server: the peer opens stream `id`. A head over our limits (`oversize`) is answered
    /// 431; another `problem` refuses the stream.
    pub(in crate::h2) fn open_peer_stream(
        &mut self,
        id: u32,
        check: HeadCheck,
        end_stream: bool,
        problem: Option<&'static str>,
        oversize: bool,
    ) {
        if self.role == Role::Client {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §8.4: a server cannot open a stream with HEADERS (a push is reserved with PUSH_PROMISE)",
            );
        }
        if self.goaway_sent.is_some() || self.goaway_recv.is_some() {
            // Above the last stream id of our GOAWAY, or opened by a client that said it is
            // going away (the application was told no more streams come): not processed, the
            // client may retry.
            return self.refuse(id, ErrorCode::RefusedStream);
        }
        if self.active_streams(false) >= self.cfg.max_concurrent_streams as usize {
            return self.refuse(id, ErrorCode::RefusedStream);
        }
        if let Some(rule) = problem {
            log::debug!("h2: refusing stream {id}: {rule}");
            if oversize {
                return self.answer_431(id, end_stream);
            }
            return self.refuse(id, ErrorCode::ProtocolError);
        }
        if let (Some(max), Some(len)) = (self.cfg.max_recv_body, check.content_length) {
            if len > max {
                return self.refuse(id, ErrorCode::Cancel);
            }
        }
        let mut s = H2Stream::new(self.recv_initial_window, self.peer.initial_window);
        s.transition(Event::RecvHeaders);
        s.content_length = check.content_length;
        s.head_request = check.headers.get_str(":method") == Some("HEAD");
        s.expect_continue = check.expect_continue && !end_stream;
        s.recv.got_final_head = true;
        s.recv.heads.push_back(check.headers);
        self.streams.insert(id, Box::new(s));
        self.timers.stop(Timer::Idle);
        self.events.opened(id as u64);
        self.mark_ready(id);
        if end_stream {
            self.end_of_recv(id);
        }
    }

    /// Server: a request whose head is over our limits (SETTINGS_MAX_HEADER_LIST_SIZE,
    /// `max_headers`) is answered `431 Request Header Fields Too Large` (RFC 9113 §8.2.2,
    /// RFC 6585 §5) on a stream the application never sees. The block was decoded, so HPACK
    /// stays in step; a client still sending is asked to stop with RST_STREAM(NO_ERROR)
    /// once the answer is out (§8.1), as for any early answer.
    pub(in crate::h2) fn answer_431(&mut self, id: u32, end_stream: bool) {
        // Each answer costs us more than a reset would: they count toward the same bound.
        if self.floods.resets.hit(self.now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "too many oversized requests");
        }
        let mut s = H2Stream::new(self.recv_initial_window, self.peer.initial_window);
        s.transition(Event::RecvHeaders);
        // Nobody reads it: what still comes is dropped and its credit returned.
        s.abandoned = true;
        s.recv.got_final_head = true;
        if end_stream {
            s.recv.end = true;
            s.transition(Event::RecvEndStream);
        }
        self.streams.insert(id, Box::new(s));
        self.timers.stop(Timer::Idle);
        const BODY: &[u8] = b"request header fields too large\n";
        let mut h = Headers::response(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        h.append("content-type", "text/plain");
        h.append("content-length", BODY.len().to_string());
        let sent = self
            .write_headers(id as u64, &h, false)
            .and_then(|()| self.write_body(id as u64, BODY, true));
        if let Err(e) = sent {
            log::debug!("h2: the 431 for stream {id} did not go out: {e}");
        }
    }

    /// Answers a stream we do not keep with RST_STREAM.
    pub(in crate::h2) fn refuse(&mut self, id: u32, code: ErrorCode) {
        if self.floods.resets.hit(self.now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "too many refused streams");
        }
        self.send_rst(id, code);
    }

    pub(in crate::h2) fn end_of_recv(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.content_length.is_some_and(|n| n != s.data_len) {
            return self.stream_error(
                id,
                ErrorCode::ProtocolError,
                "RFC 9113 §8.1.1: content-length does not match the DATA received",
            );
        }
        s.recv.end = true;
        s.transition(Event::RecvEndStream);
        self.mark_ready(id);
        self.after_change(id);
    }

    pub(in crate::h2) fn on_data(&mut self, d: DataFrame<'_>, now: Instant) {
        let len = d.flow_controlled_len;
        let id = d.stream_id;
        if !self.conn_recv.take(len) {
            return self.conn_error(
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: DATA beyond the connection flow-control window",
            );
        }
        if d.data.is_empty() && !d.end_stream && self.floods.empty.hit(now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "empty DATA flood");
        }
        let Some(s) = self.streams.get_mut(&id) else {
            self.return_conn_credit(len as usize);
            if self.is_idle_id(id) {
                return self.conn_error(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §5.1: DATA on an idle stream",
                );
            }
            if self.reset_ids.contains(&id) {
                return;
            }
            // A stream both sides ended: RFC 9113 §5.1 lets this be a connection error, as
            // RFC 7540 required and as HEADERS on it already is.
            return self.conn_error(
                ErrorCode::StreamClosed,
                "RFC 9113 §5.1, §6.1: DATA on a closed stream",
            );
        };
        if matches!(
            s.state,
            H2State::Idle | H2State::ReservedLocal | H2State::ReservedRemote
        ) {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1: DATA on a stream that is idle or reserved",
            );
        }
        if !s.state.can_recv() {
            let ignore = s.reset_sent;
            self.return_conn_credit(len as usize);
            if ignore {
                return;
            }
            return self.stream_error(
                id,
                ErrorCode::StreamClosed,
                "RFC 9113 §6.1: DATA after the peer ended the stream",
            );
        }
        if !s.recv_window.take(len) {
            self.return_conn_credit(len as usize);
            return self.stream_error(
                id,
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: DATA beyond the stream flow-control window",
            );
        }
        if !s.recv.got_final_head {
            self.return_conn_credit(len as usize);
            return self.stream_error(
                id,
                ErrorCode::ProtocolError,
                "RFC 9113 §8.1: DATA before the final head",
            );
        }
        s.data_len += d.data.len() as u64;
        if s.content_length.is_some_and(|n| s.data_len > n) {
            self.return_conn_credit(len as usize);
            return self.stream_error(
                id,
                ErrorCode::ProtocolError,
                "RFC 9113 §8.1.1: more DATA than the content-length",
            );
        }
        if let Some(max) = self.cfg.max_recv_body.filter(|&m| s.data_len > m) {
            self.return_conn_credit(len as usize);
            let mut e = Error::new(
                ErrorKind::Limit,
                format!("body larger than the limit of {max} bytes"),
            );
            if self.role == Role::Server {
                e = e.with_status(StatusCode::PAYLOAD_TOO_LARGE);
            }
            return self.reset_stream(id, ErrorCode::Cancel, e);
        }
        // Padding is flow-controlled but never read: its credit goes back at once.
        let padding = len as usize - d.data.len();
        let credit = if s.abandoned {
            len as usize
        } else {
            s.recv.push_body(d.data);
            s.buffered_mark += d.data.len();
            padding
        };
        if credit > 0 {
            self.return_stream_credit(id, credit);
            self.return_conn_credit(credit);
        }
        if !d.data.is_empty() {
            self.mark_ready(id);
        }
        if d.end_stream {
            self.end_of_recv(id);
        }
    }

    /// A frame came for stream `id`, which the table does not hold: on an id nobody has used
    /// yet, the connection error `rule` (PROTOCOL_ERROR); on a closed stream's, nothing (late
    /// frames are ignored).
    pub(in crate::h2) fn on_missing_stream(&mut self, id: u32, rule: &str) {
        if self.is_idle_id(id) {
            self.conn_error(ErrorCode::ProtocolError, rule);
        }
    }

    pub(in crate::h2) fn on_rst(&mut self, r: RstStreamFrame, now: Instant) {
        if self.floods.resets.hit(now, self.cfg.flood_window) {
            return self.conn_error(
                ErrorCode::EnhanceYourCalm,
                "too many RST_STREAM frames (rapid reset)",
            );
        }
        let id = r.stream_id;
        let Some(s) = self.streams.get_mut(&id) else {
            return self.on_missing_stream(id, "RFC 9113 §6.4: RST_STREAM on an idle stream");
        };
        if s.state == H2State::Idle {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.4: RST_STREAM on a stream we have not opened",
            );
        }
        s.transition(Event::RecvReset);
        s.drop_output();
        let e = if r.error_code == ErrorCode::RefusedStream {
            Error::new(
                ErrorKind::Reset,
                "the peer refused the stream (REFUSED_STREAM): it was not processed and is safe to retry",
            )
            .retryable()
        } else {
            Error::new(
                ErrorKind::Reset,
                format!("the peer reset the stream ({})", r.error_code.name()),
            )
        }
        .with_h2_code(r.error_code.as_u32());
        s.recv.fail(e);
        self.after_stream_failed(id);
    }
}
