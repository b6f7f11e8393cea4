//! The application's side of a stream: opening one, writing heads, bodies and trailers,
//! 100-continue, reset, and the encoding of heads into `out`.

use crate::error::{Error, ErrorKind, Result};
use crate::h2::core::H2Core;
use crate::h2::head::{outgoing_fields, HeadKind};
use crate::h2::state::{Event, H2State};
use crate::h2::streams::store::stream_id;
use crate::h2::streams::store::H2Stream;
use crate::h2::timer::Timer;
use crate::headers::Headers;
use crate::recv::closed_stream;
use crate::stream_state::StreamState;
use crate::Role;
use h2_codec_lite::hpack::HeaderRef;
use h2_codec_lite::{
    encode_data, encode_headers, flags, ErrorCode, FrameHeader, FrameType, FRAME_HEADER_LEN,
    MAX_STREAM_ID,
};
use http::StatusCode;

impl H2Core {
    /// Client: a new stream for a request. Its HEADERS go out when the head is written and
    /// the peer's SETTINGS_MAX_CONCURRENT_STREAMS allows; until then it is queued.
    pub(crate) fn new_stream(&mut self) -> Result<u64> {
        if self.role != Role::Client {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "a server's streams are started by the client",
            ));
        }
        if self.done || self.goaway_sent.is_some() || self.goaway_recv.is_some() {
            return Err(Error::new(
                ErrorKind::Closed,
                "the HTTP/2 connection takes no new streams (GOAWAY)",
            ));
        }
        let id = self.next_local_id;
        if id > MAX_STREAM_ID {
            return Err(Error::new(
                ErrorKind::Closed,
                "the HTTP/2 connection has used all its stream ids",
            ));
        }
        self.next_local_id += 2;
        let s = H2Stream::new(self.recv_initial_window, self.peer.initial_window);
        self.streams.insert(id, Box::new(s));
        self.pending_open.push_back(id);
        self.timers.stop(Timer::Idle);
        Ok(id as u64)
    }

    /// The HTTP version of the peer's message on stream `id`.
    pub(crate) fn peer_version(&self, id: u64) -> Option<http::Version> {
        stream_id(id)
            .is_ok_and(|sid| self.streams.contains_key(&sid))
            .then_some(http::Version::HTTP_2)
    }

    pub(crate) fn state(&self, id: u64) -> StreamState {
        match stream_id(id).ok().and_then(|sid| self.streams.get(&sid)) {
            Some(s) => s.state.public(),
            None => StreamState::Closed,
        }
    }

    pub(in crate::h2) fn send_error(s: &H2Stream) -> Option<Error> {
        if s.reset_sent || s.state == H2State::Closed && !s.end_written {
            return Some(
                s.recv
                    .error
                    .clone()
                    .unwrap_or_else(|| Error::new(ErrorKind::Reset, "the HTTP/2 stream was reset")),
            );
        }
        if s.end_written {
            return Some(Error::new(ErrorKind::InvalidState, "stream already ended"));
        }
        None
    }

    /// Writes a head: a request (client), an interim or final response (server), or, after
    /// the final head, trailers (which end the stream).
    pub(crate) fn write_headers(&mut self, id: u64, h: &Headers, end: bool) -> Result<()> {
        let sid = stream_id(id)?;
        let s = self.streams.get(&sid).ok_or_else(closed_stream)?;
        if let Some(e) = Self::send_error(s) {
            return Err(e);
        }
        let kind = match self.role {
            _ if s.head_sent => HeadKind::Trailers,
            Role::Client => HeadKind::Request,
            Role::Server => HeadKind::Response,
        };
        // A copy, so that the fields borrow neither the core nor its clock.
        let date = self.date;
        let authority = self.authority.clone();
        let head = outgoing_fields(
            h,
            kind,
            self.scheme,
            Some(&date),
            authority.as_deref().map(str::as_bytes),
        )?;
        let size = head.size;
        if let Some(max) = self.peer.max_header_list {
            if size > max as usize {
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("head of {size} bytes is larger than the peer's SETTINGS_MAX_HEADER_LIST_SIZE of {max}"),
                ));
            }
        }
        // A request whose turn it is, with a free slot, goes out now.
        let open_now =
            kind == HeadKind::Request && self.pending_open.front() == Some(&sid) && self.may_open();
        let s = self.streams.get_mut(&sid).ok_or_else(closed_stream)?;
        if kind == HeadKind::Trailers {
            if let Some(len) = s.send_length.filter(|&len| len != s.sent_len) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "the body ({} bytes) does not match the content-length {len} of its head",
                        s.sent_len
                    ),
                ));
            }
        }
        match kind {
            HeadKind::Trailers => {
                s.end_written = true;
                s.pending_end = true;
                s.pending_trailers = Some(h.clone());
                self.enqueue(sid);
                self.fill_out();
            }
            HeadKind::Response => {
                let interim = head.status.is_some_and(|st| st < 200);
                if interim && end {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        "an interim (1xx) response cannot end the stream",
                    ));
                }
                s.expect_continue = false;
                if !interim {
                    s.head_sent = true;
                    s.end_written = end;
                    let status = head.status.unwrap_or(200);
                    s.no_body = s.head_request || status == 204 || status == 304;
                    s.send_length = if s.no_body { None } else { head.content_length };
                }
                self.send_fields_now(sid, head.fields, end);
            }
            HeadKind::Request => {
                s.head_sent = true;
                s.end_written = end;
                s.head_request = head.head_method;
                s.send_length = head.content_length;
                // A client waits for the 100 (or an answer) before its body.
                s.expect_continue = !end && head.expect_continue;
                if open_now {
                    // Sent from the fields already checked, with no copy kept.
                    self.pending_open.pop_front();
                    self.send_fields_now(sid, head.fields, end);
                    self.enqueue(sid);
                } else {
                    s.queued_head = Some((h.clone(), end));
                }
                self.try_open_queued();
                self.fill_out();
            }
        }
        self.want_flush = true;
        Ok(())
    }

    /// Server: answers `Expect: 100-continue` with a 100 head.
    pub(crate) fn write_continue(&mut self, id: u64) -> Result<()> {
        let s = self
            .streams
            .get(&stream_id(id)?)
            .ok_or_else(closed_stream)?;
        if self.role != Role::Server || s.head_sent {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "100 Continue is a server's answer before the final head",
            ));
        }
        self.write_headers(id, &Headers::response(StatusCode::CONTINUE), false)
    }

    /// Writes body bytes; `end` ends the body. Bytes wait in the stream until flow control
    /// lets them go; once the stream holds `send_buffer` unsent bytes, writes report
    /// would-block (and write nothing) until credit arrives.
    pub(crate) fn write_body(&mut self, id: u64, data: &[u8], end: bool) -> Result<()> {
        let sid = stream_id(id)?;
        let send_buffer = self.cfg.send_buffer;
        let s = self.streams.get_mut(&sid).ok_or_else(closed_stream)?;
        if let Some(e) = Self::send_error(s) {
            return Err(e);
        }
        if !s.head_sent {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "write the headers before the body",
            ));
        }
        // A response to HEAD, a 204 or a 304 has no body (RFC 9110 §9.3.2, §15.3.5, §15.4.5):
        // what the application writes is dropped, as over HTTP/1.
        let data = if s.no_body { &[][..] } else { data };
        if !data.is_empty() && s.unsent() >= send_buffer {
            s.blocked_writer = true;
            return Err(Error::h2_send_buffer_full());
        }
        if let Some(len) = s.send_length {
            let total = s.sent_len + data.len() as u64;
            if total > len || (end && total < len) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "the body ({total} bytes{}) does not match the content-length {len} of its head",
                        if end { "" } else { " so far" }
                    ),
                ));
            }
        }
        s.sent_len += data.len() as u64;
        // Fast path: nothing queued, and the credit and `out` take the data at once; it goes
        // straight into `out` as one DATA frame (no copy into the stream).
        let fits = data.len() <= self.peer.max_frame as usize
            && data.len() <= s.send_window.available()
            && data.len() <= self.conn_send.available();
        if self.send_queue.is_empty()
            && s.unsent() == 0
            && s.pending_trailers.is_none()
            && s.state.can_send()
            && fits
            && self.out.len() < self.cfg.out_high_water
            && (!data.is_empty() || end)
        {
            s.send_window.take(data.len() as u32);
            self.conn_send.take(data.len() as u32);
            encode_data(sid, data, end, &mut self.out);
            if end {
                s.end_written = true;
                self.want_flush = true;
                self.on_end_sent(sid);
            }
            return Ok(());
        }
        if s.pending_pos > 0 && s.pending_pos * 2 >= s.pending.len() {
            s.pending.drain(..s.pending_pos);
            s.pending_pos = 0;
        }
        s.pending.extend_from_slice(data);
        if end {
            s.end_written = true;
            s.pending_end = true;
            self.want_flush = true;
        }
        self.enqueue(sid);
        self.fill_out();
        Ok(())
    }

    /// The application drops the stream: RST_STREAM(CANCEL) if it is open, and its input is
    /// discarded (the credit goes back to the peer).
    pub(crate) fn reset(&mut self, id: u64) -> Result<()> {
        let sid = stream_id(id)?;
        let Some(s) = self.streams.get(&sid) else {
            return Ok(());
        };
        if !matches!(s.state, H2State::Idle | H2State::Closed) {
            self.send_rst(sid, ErrorCode::Cancel);
        }
        self.remove_stream(sid);
        self.try_open_queued();
        self.fill_out();
        self.check_done();
        Ok(())
    }

    /// HPACK-encodes a head and frames it (HEADERS + CONTINUATION at the peer's frame size).
    pub(in crate::h2) fn send_head_now(&mut self, id: u32, h: &Headers, end: bool, kind: HeadKind) {
        let date = self.date;
        let authority = self.authority.clone();
        match outgoing_fields(
            h,
            kind,
            self.scheme,
            Some(&date),
            authority.as_deref().map(str::as_bytes),
        ) {
            Ok(head) => self.send_fields_now(id, head.fields, end),
            // Checked when the head was written; nothing was encoded.
            Err(e) => log::error!("h2: head for stream {id} could not be encoded: {e}"),
        }
    }

    /// HPACK-encodes checked fields and frames them. The block is encoded straight into `out`
    /// behind room for the frame header, which is filled in after; a block larger than the
    /// peer's frame size (rare) is moved out again and split into HEADERS + CONTINUATION.
    pub(in crate::h2) fn send_fields_now(
        &mut self,
        id: u32,
        fields: Vec<HeaderRef<'_>>,
        end: bool,
    ) {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        self.enc.encode(fields, &mut self.out);
        let len = self.out.len() - at - FRAME_HEADER_LEN;
        if len <= self.peer.max_frame as usize {
            let fl = flags::END_HEADERS | if end { flags::END_STREAM } else { 0 };
            let fh = FrameHeader::new(FrameType::Headers, fl, id, len as u32);
            self.out[at..at + FRAME_HEADER_LEN].copy_from_slice(&fh.to_bytes());
        } else {
            let block = self.out.split_off(at + FRAME_HEADER_LEN);
            self.out.truncate(at);
            encode_headers(id, &block, end, None, self.peer.max_frame, &mut self.out);
        }
        self.want_flush = true;
        if let Some(s) = self.streams.get_mut(&id) {
            s.transition(Event::SendHeaders);
        }
        if end {
            self.on_end_sent(id);
        }
    }

    /// END_STREAM went out on stream `id`.
    pub(in crate::h2) fn on_end_sent(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.pending_end = false;
        s.transition(Event::SendEndStream);
        if self.role == Role::Server && s.state == H2State::HalfClosedLocal {
            // Answered before the request was all in: ask the client to stop sending
            // (RFC 9113 §8.1) and drop what still comes.
            s.abandoned = true;
            let unread = s.recv.buffered();
            s.recv.discard();
            s.buffered_mark = 0;
            s.recv.end = true;
            self.send_rst(id, ErrorCode::NoError);
            if let Some(s) = self.streams.get_mut(&id) {
                s.transition(Event::SendReset);
            }
            self.return_conn_credit(unread);
        }
        // A client's request is all out: the wait for its answer starts.
        self.sync_response_clock(id, None, false);
        self.want_flush = true;
        self.after_change(id);
    }
}
