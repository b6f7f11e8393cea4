//! Server push (RFC 9113 §8.4): a server's PUSH_PROMISE (checked against what RFC 9113 allows
//! and the client's settings), and a client's handling of a received promise.

use super::core::H2Core;
use super::head::{encode_head, outgoing_fields, HeadCheck, HeadKind};
use super::state::{Event, H2State};
use super::streams::store::stream_id;
use super::streams::store::H2Stream;
use super::timer::Timer;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::Role;
use h2_codec_lite::{encode_push_promise, ErrorCode, MAX_STREAM_ID};

impl H2Core {
    /// Server: promises a response to `request` on the client's stream `id` (RFC 9113 §8.4).
    /// The PUSH_PROMISE (with CONTINUATION frames past the peer's frame size) goes into `out`
    /// at once, ahead of any DATA of `id` still waiting; the promised stream, reserved
    /// (local), is returned, and the application answers on it as on any stream.
    ///
    /// The client's SETTINGS_MAX_CONCURRENT_STREAMS bounds the pushed streams not yet closed,
    /// reserved ones included: RFC 9113 does not count reserved streams, but each will open,
    /// and a push the client would refuse is wasted work.
    pub(crate) fn push_promise(&mut self, id: u64, request: &Headers) -> Result<u64> {
        let state = |m: &str| Err(Error::new(ErrorKind::InvalidState, m));
        let input = |m: &str| Err(Error::new(ErrorKind::InvalidInput, m));
        if self.role != Role::Server {
            return state("only a server pushes (RFC 9113 §8.4)");
        }
        if self.done || self.goaway_sent.is_some() || self.goaway_recv.is_some() {
            return Err(Error::new(
                ErrorKind::Closed,
                "the HTTP/2 connection takes no new streams (GOAWAY)",
            ));
        }
        if !self.peer.enable_push {
            return state("the client disabled server push (SETTINGS_ENABLE_PUSH = 0)");
        }
        let assoc = stream_id(id)?;
        match self.streams.get(&assoc) {
            Some(s)
                if !self.is_local(assoc)
                    && !s.reset_sent
                    && matches!(s.state, H2State::Open | H2State::HalfClosedRemote) => {}
            _ => {
                return state(
                    "RFC 9113 §6.6: a push is promised on a request stream of the client that is open or half-closed (remote)",
                )
            }
        }
        let method = request.get_str(":method");
        if !matches!(method, Some("GET" | "HEAD")) {
            return input(
                "RFC 9113 §8.4: a promised request must be safe and cacheable (GET or HEAD)",
            );
        }
        if !request.has(":path") || !(request.has(":authority") || request.has("host")) {
            return input("RFC 9113 §8.4: a promised request needs :path and :authority");
        }
        if request
            .get_str("content-length")
            .is_some_and(|v| v.trim() != "0")
        {
            return input("RFC 9113 §8.4: a promised request has no content");
        }
        let pushed = self
            .streams
            .iter()
            .filter(|(&sid, s)| self.is_local(sid) && s.state != H2State::Closed)
            .count();
        if pushed >= self.peer.max_streams as usize {
            return Err(Error::new(
                ErrorKind::Limit,
                format!(
                    "the client's SETTINGS_MAX_CONCURRENT_STREAMS ({}) allows no more pushed streams now",
                    self.peer.max_streams
                ),
            ));
        }
        let promised = self.next_local_id;
        if promised > MAX_STREAM_ID {
            return Err(Error::new(
                ErrorKind::Closed,
                "the HTTP/2 connection has used all its stream ids",
            ));
        }
        // Checked before encoding: the encoder's table must only change for a block we send.
        let size = outgoing_fields(request, HeadKind::Request, self.scheme, None, None)?.size;
        if let Some(max) = self.peer.max_header_list.filter(|&m| size > m as usize) {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("promised request of {size} bytes is larger than the peer's SETTINGS_MAX_HEADER_LIST_SIZE of {max}"),
            ));
        }
        let mut block = Vec::with_capacity(128);
        encode_head(
            &mut self.enc,
            request,
            HeadKind::Request,
            self.scheme,
            None,
            &mut block,
        )?;
        self.next_local_id += 2;
        encode_push_promise(assoc, promised, &block, self.peer.max_frame, &mut self.out);
        self.want_flush = true;
        let mut s = H2Stream::new(self.recv_initial_window, self.peer.initial_window);
        s.transition(Event::SendPushPromise);
        s.head_request = method == Some("HEAD");
        // The client sends nothing on it: its side is over from the start.
        s.recv.got_final_head = true;
        s.recv.end = true;
        self.streams.insert(promised, Box::new(s));
        self.timers.stop(Timer::Idle);
        Ok(promised as u64)
    }

    /// Client: the server promised stream `promised` on our stream `assoc` (RFC 9113 §6.6,
    /// §8.4). The promised request `check` is already decoded (HPACK is in step); `problem`
    /// is what is wrong with it, if anything.
    pub(super) fn on_push_promise(
        &mut self,
        assoc: u32,
        promised: u32,
        check: HeadCheck,
        problem: Option<&'static str>,
    ) {
        if self.is_local(promised) || promised <= self.last_peer_id {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.6: the promised stream id must be a new even id above any the server used",
            );
        }
        let local = self.is_local(assoc);
        let (open, reset) = match self.streams.get(&assoc) {
            Some(s) => (
                matches!(s.state, H2State::Open | H2State::HalfClosedLocal) && !s.reset_sent,
                s.reset_sent,
            ),
            None => (false, self.reset_ids.contains(&assoc)),
        };
        if !local || !(open || reset) {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.6: PUSH_PROMISE on a stream that is neither open nor half-closed (local)",
            );
        }
        self.last_peer_id = promised;
        if reset {
            // Sent before the server saw our RST_STREAM: the push goes with its request.
            return self.refuse(promised, ErrorCode::Cancel);
        }
        if let Some(rule) = problem.or_else(|| check.promised_request_error()) {
            log::debug!("h2: refusing pushed stream {promised}: {rule}");
            return self.refuse(promised, ErrorCode::ProtocolError);
        }
        let pushed = self
            .streams
            .iter()
            .filter(|(&id, s)| !self.is_local(id) && s.state != H2State::Closed)
            .count();
        // After a GOAWAY either way the application was told no more streams come.
        let going_away = self.goaway_sent.is_some() || self.goaway_recv.is_some();
        if going_away || pushed >= self.cfg.max_concurrent_streams as usize {
            return self.refuse(promised, ErrorCode::RefusedStream);
        }
        let mut s = H2Stream::new(self.recv_initial_window, self.peer.initial_window);
        s.transition(Event::RecvPushPromise);
        s.head_request = check.head_method;
        // We send nothing on a pushed stream: writes fail as on an ended stream.
        s.head_sent = true;
        s.end_written = true;
        s.recv.heads.push_back(check.headers);
        self.streams.insert(promised, Box::new(s));
        self.timers.stop(Timer::Idle);
        self.events.opened(promised as u64);
        self.mark_ready(promised);
    }
}
