//! The sans-IO HTTP/2 connection core, both roles.
//!
//! It takes received bytes and the current time, and produces outgoing bytes (in `out`),
//! stream events (the `incoming` and `ready` queues, and each stream's [`RecvSide`](crate::recv::RecvSide)) and
//! deadlines; it never sees a socket or a clock. Its face is the one of the HTTP/1 core
//! (`recv`, `recv_eof`, `out`, `wants_read`, `deadline`, `on_timeout`, `new_stream`,
//! `write_headers`, `write_body`, `with_recv`, ...), so the connection face dispatches to
//! either with one `match`. Stream ids are the HTTP/2 stream ids.
//!
//! Frames come from `h2-codec-lite`, which checks every single-frame rule; this file checks
//! the rules that need connection state: the preface and SETTINGS exchange, stream states and
//! ids (§5.1), concurrency (§5.1.2), field-block sequencing (§4.3, via the codec's assembler),
//! flow control (§5.2, §6.9), GOAWAY (§6.8) and the abuse bounds of [`H2Config`].
//!
//! Sending: a head is HPACK-encoded into `out` when it is written; body bytes wait in their
//! stream until both flow-control windows have room, and move to `out` one frame per stream in
//! turn (round robin) while `out` is below its high-water mark. The face calls
//! [`H2Core::fill_out`] after it drained `out`, so a large window never copies a whole body
//! into the connection buffer.

use super::config::H2Config;
use super::flood::Floods;
use super::flow::{Unreturned, Window};
use super::settings::{decode_settings_payload, our_settings, PeerSettings};
use super::state::{Event, H2State};
use super::streams::store::stream_id;
use super::streams::store::{H2Stream, FINISHED_KEPT, RESETS_KEPT};
use super::timer::{self, Timer};
use crate::error::{Error, ErrorKind, Result};
use crate::events::Events;
use crate::headers::Headers;
use crate::timer::Timers;
use crate::Role;
use h2_codec_lite::hpack::{HpackDecoder, HpackEncoder};
use h2_codec_lite::{
    decode_frame, encode_goaway, encode_rst_stream, encode_settings, encode_window_update,
    ErrorCode, FieldBlockAssembler, Frame,
};
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

/// An output buffer that grew past this (a large body) is given back once written.
const OUT_SHRINK: usize = 64 * 1024;

/// The client connection preface (RFC 9113 §3.4), before the client's SETTINGS.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Every window starts here until SETTINGS say otherwise (§6.9.2).
pub(super) const DEFAULT_WINDOW: u32 = 65_535;

/// The HTTP/2 core of one connection.
pub(crate) struct H2Core {
    pub(super) role: Role,
    pub(super) cfg: H2Config,
    /// Boxed: a node of the map then moves ids and pointers, not whole streams.
    pub(super) streams: BTreeMap<u32, Box<H2Stream>>,
    pub(super) finished: VecDeque<(u32, Headers)>,
    /// Frames to write, in order; the face writes and clears it.
    pub(super) out: Vec<u8>,
    /// Streams the peer opened (requests, pushed responses) and streams with news, for the
    /// application.
    pub(super) events: Events,
    /// Output that should go out now (a head, an end, a control frame) was queued.
    pub(super) want_flush: bool,
    /// Why the connection ended, if it failed.
    pub(super) failure: Option<Error>,
    /// `:scheme` of requests that name none: "https" over TLS, "http" for h2c.
    pub(super) scheme: &'static str,
    /// Client: the `:authority` of request heads that name none (the connection's target).
    pub(super) authority: Option<std::sync::Arc<str>>,
    /// Now as an IMF-fixdate, for the `date` of responses (kept current by the face).
    pub(super) date: [u8; 29],
    pub(super) enc: HpackEncoder,
    pub(super) dec: HpackDecoder,
    pub(super) assembler: FieldBlockAssembler,
    /// Server: the client preface was seen (a client has nothing to wait for).
    pub(super) preface_seen: bool,
    /// The peer's first frame (a SETTINGS) was seen.
    pub(super) peer_settings_seen: bool,
    /// Our SETTINGS went out at this time and are not acknowledged yet.
    pub(super) peer: PeerSettings,
    /// The receive window a new stream gets (the larger of old and new until our SETTINGS
    /// are acknowledged, so a peer that has not seen them yet is not punished).
    pub(super) recv_initial_window: u32,
    pub(super) conn_recv: Window,
    pub(super) conn_unreturned: Unreturned,
    pub(super) conn_send: Window,
    pub(super) next_local_id: u32,
    pub(super) last_peer_id: u32,
    /// Client: streams made by `new_stream` and not yet opened, in id order (ids must be
    /// used in increasing order, so they open in this order).
    pub(super) pending_open: VecDeque<u32>,
    pub(super) send_queue: VecDeque<u32>,
    pub(super) reset_ids: VecDeque<u32>,
    /// The last stream id of the GOAWAY we sent / received.
    pub(super) goaway_sent: Option<u32>,
    pub(super) goaway_recv: Option<u32>,
    /// The peer's GOAWAY carried an error code: why its streams fail when it closes.
    pub(super) goaway_error: Option<Error>,
    /// Graceful shutdown deadline.
    pub(super) recv_closed: bool,
    pub(super) done: bool,
    /// The latest time we were given (for calls that take none).
    pub(super) now: Instant,
    pub(super) floods: Floods,
    /// Every deadline's clock (see `timer`).
    pub(super) timers: Timers<Timer, 7>,
    /// Client: streams whose response clock is owed a start (`ResponseClock::Owed`), started
    /// at the next time the core is given: at the end of `recv` and `on_timeout`, or by the
    /// face after its I/O and the application's calls (`note_time`).
    pub(super) clocks_owed: Vec<u32>,
    /// Ranges of peer stream ids skipped (never used), inclusive.
    pub(super) skipped_peer_ids: VecDeque<(u32, u32)>,
}

impl H2Core {
    /// A core for one connection. A client queues the preface; both roles queue their
    /// SETTINGS and the connection WINDOW_UPDATE, so `out` is non-empty from the start.
    pub(crate) fn new(role: Role, cfg: H2Config, now: Instant) -> H2Core {
        let mut dec = HpackDecoder::new();
        dec.set_max_header_list_size(cfg.max_header_list_size as usize);
        // Longer strings than a whole block could carry are a COMPRESSION_ERROR; within that,
        // the list-size limit (a stream error) decides.
        dec.set_max_string_len(cfg.max_header_block.max(cfg.max_header_list_size as usize));
        let mut enc = HpackEncoder::new();
        enc.set_table_size_limit(cfg.encoder_table_limit);
        let floods = Floods::new(&cfg);
        let mut core = H2Core {
            role,
            streams: BTreeMap::new(),
            finished: VecDeque::new(),
            out: Vec::with_capacity(1024),
            events: Events::default(),
            want_flush: true,
            failure: None,
            scheme: "https",
            authority: None,
            date: *b"Thu, 01 Jan 1970 00:00:00 GMT",
            enc,
            dec,
            assembler: FieldBlockAssembler::new(cfg.max_header_block),
            preface_seen: role == Role::Client,
            peer_settings_seen: false,
            peer: PeerSettings {
                max_streams: u32::MAX,
                initial_window: DEFAULT_WINDOW,
                max_frame: h2_codec_lite::DEFAULT_MAX_FRAME_SIZE,
                max_header_list: None,
                enable_push: true,
            },
            recv_initial_window: cfg.initial_window_size.max(DEFAULT_WINDOW),
            conn_recv: Window::new(DEFAULT_WINDOW),
            conn_unreturned: Unreturned::default(),
            conn_send: Window::new(DEFAULT_WINDOW),
            next_local_id: if role == Role::Client { 1 } else { 2 },
            last_peer_id: 0,
            pending_open: VecDeque::new(),
            send_queue: VecDeque::new(),
            reset_ids: VecDeque::new(),
            goaway_sent: None,
            goaway_recv: None,
            goaway_error: None,
            recv_closed: false,
            done: false,
            now,
            floods,
            timers: timer::starting(now),
            clocks_owed: Vec::new(),
            skipped_peer_ids: VecDeque::new(),
            cfg,
        };
        if role == Role::Client {
            core.out.extend_from_slice(PREFACE);
        }
        encode_settings(&our_settings(&core.cfg, role), &mut core.out);
        let target = core.cfg.connection_window_size.max(DEFAULT_WINDOW);
        if target > DEFAULT_WINDOW {
            encode_window_update(0, target - DEFAULT_WINDOW, &mut core.out);
            core.conn_recv = Window::new(target);
        }
        core
    }

    /// A server core taking over after `101 Switching Protocols` for `Upgrade: h2c` (RFC 7540
    /// §3.2): `settings` is the decoded `HTTP2-Settings` payload, applied as the client's first
    /// SETTINGS (the 101 acknowledges them), and `request` (a complete request without a body)
    /// becomes stream 1, half-closed (remote). The client preface is still expected first.
    ///
    /// # Errors
    /// The settings payload is malformed.
    pub(crate) fn upgraded_server(
        cfg: H2Config,
        now: Instant,
        settings: &[u8],
        mut request: Headers,
    ) -> Result<H2Core> {
        let st = decode_settings_payload(settings, cfg.max_frame_size)?;
        let mut core = H2Core::new(Role::Server, cfg, now);
        if !core.apply_peer_settings(st) {
            return Err(Error::new(
                ErrorKind::Protocol,
                "HTTP2-Settings carries settings out of range",
            ));
        }
        for name in ["connection", "upgrade", "http2-settings", "keep-alive"] {
            while request.remove(name) {}
        }
        if !request.has(":scheme") {
            request.append(":scheme", "http");
        }
        let mut s = H2Stream::new(core.recv_initial_window, core.peer.initial_window);
        s.transition(Event::RecvHeaders);
        s.transition(Event::RecvEndStream);
        s.recv.got_final_head = true;
        s.recv.heads.push_back(request);
        s.recv.end = true;
        core.streams.insert(1, Box::new(s));
        core.last_peer_id = 1;
        core.timers.stop(Timer::Idle);
        core.events.opened(1);
        core.mark_ready(1);
        Ok(core)
    }

    /// A client core taking over after the server answered our `Upgrade: h2c` request with
    /// 101: the request was stream 1 (half-closed, local) and its response arrives on it. The
    /// preface and our SETTINGS go out first, as on any HTTP/2 connection.
    pub(crate) fn upgraded_client(cfg: H2Config, now: Instant, head_request: bool) -> H2Core {
        let mut core = H2Core::new(Role::Client, cfg, now);
        let mut s = H2Stream::new(core.recv_initial_window, core.peer.initial_window);
        s.transition(Event::SendHeaders);
        s.transition(Event::SendEndStream);
        s.head_sent = true;
        s.end_written = true;
        s.head_request = head_request;
        core.streams.insert(1, Box::new(s));
        core.next_local_id = 3;
        core.timers.stop(Timer::Idle);
        // The 101 was an interim answer: the final one has the time to its first byte again.
        core.sync_response_clock(1, Some(now), false);
        core
    }

    /// Frames to send, in order; the face writes them and then calls
    /// [`sent_all`](Self::sent_all).
    #[inline]
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    /// The face wrote all of [`output`](Self::output): DATA that waited for room moves in.
    /// `true`: there is more to write.
    #[inline]
    pub(crate) fn sent_all(&mut self) -> bool {
        self.out.clear();
        self.fill_out();
        // Released once no stream is left (an idle connection holds no output buffer); kept
        // while streams are open, so that a body that comes in pieces (a proxy's) is not
        // framed into a freshly grown buffer after every write that emptied it.
        if self.out.is_empty() && self.out.capacity() > OUT_SHRINK && self.streams.is_empty() {
            self.out = Vec::new();
        }
        !self.out.is_empty()
    }

    /// The socket refused a write: nothing to do (each stream buffers its own body and is
    /// told when credit and room come back).
    pub(crate) fn write_refused(&mut self, _unsent: usize) {}

    /// Output that should go out now was queued (a head, an end, a control frame).
    #[inline]
    pub(crate) fn want_flush(&self) -> bool {
        self.want_flush
    }

    #[inline]
    pub(crate) fn clear_want_flush(&mut self) {
        self.want_flush = false;
    }

    /// HTTP/2's writes wait for the face's flush policy, applied by the face itself.
    pub(crate) fn set_auto_flush(&mut self, _on: bool) {}

    /// Now as an IMF-fixdate, for the `date` of the responses written next.
    #[inline]
    pub(crate) fn set_date(&mut self, date: [u8; 29]) {
        self.date = date;
    }

    /// `:scheme` of requests that name none: "https" over TLS, "http" for h2c.
    pub(crate) fn set_scheme(&mut self, scheme: &'static str) {
        self.scheme = scheme;
    }

    /// Client: the `:authority` of request heads that name none.
    pub(crate) fn set_authority(&mut self, authority: &str) {
        self.authority = Some(authority.into());
    }

    /// The next stream the peer opened (a request, or a pushed response), not yet taken.
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

    /// The peer's SETTINGS arrived: the connection is usable (a client's `connect` waits).
    #[inline]
    pub(crate) fn is_connected(&self) -> bool {
        self.peer_settings_seen
    }

    /// A write met a full send buffer: HTTP/2 streams buffer their own bodies and refuse
    /// writes themselves, so the face does not refuse.
    pub(crate) fn refuse_write(&mut self, _id: u64) -> bool {
        false
    }

    /// Output queued before `bytes` goes out after them (a core taking over a connection).
    pub(crate) fn put_output_first(&mut self, mut bytes: Vec<u8>) {
        bytes.extend_from_slice(&self.out);
        self.out = bytes;
    }

    /// Nothing to hand over: an HTTP/2 connection is never a tunnel.
    pub(crate) fn hand_over(&mut self) {}

    /// An HTTP/2 connection is never switched to a tunnel (CONNECT tunnels are streams).
    pub(crate) fn is_tunnel(&self) -> bool {
        false
    }

    /// Heads are not reused: each HPACK block is decoded into a new one.
    pub(crate) fn recycle_head(&mut self, _head: Headers) {}

    /// Whether the core wants more bytes. HTTP/2 always reads while the connection lives:
    /// flow control, not the socket, holds a fast peer back.
    pub(crate) fn wants_read(&self) -> bool {
        !self.recv_closed && !self.done
    }

    /// The connection is over; close it once `out` is flushed.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the peer will open no more streams that reach the application: the connection
    /// is over or its input ended, a GOAWAY went either way (after ours, new streams are
    /// refused; after the peer's, the peer is going away and a stream it still opens is
    /// refused too), or this is a client that takes no pushes.
    pub(crate) fn incoming_over(&self) -> bool {
        self.done
            || self.recv_closed
            || self.goaway_sent.is_some()
            || self.goaway_recv.is_some()
            || (self.role == Role::Client && !self.cfg.enable_push)
    }

    /// No stream in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.streams.is_empty()
    }

    /// Streams in the core's hands (any state).
    pub(crate) fn in_flight(&self) -> usize {
        self.streams.len()
    }

    /// A stream still expects input from the peer: an end of input now cuts a message.
    pub(crate) fn mid_message(&self) -> bool {
        self.streams.values().any(|s| s.state.can_recv())
    }

    /// Client: the request on stream `id` asked for 100-continue and no head has come yet.
    pub(crate) fn continue_pending(&self, id: u64) -> bool {
        self.role == Role::Client
            && stream_id(id)
                .ok()
                .and_then(|sid| self.streams.get(&sid))
                .is_some_and(|s| s.expect_continue && !s.recv.got_final_head)
    }

    /// Body bytes written by the application and not yet in `out` (waiting for credit).
    #[inline]
    pub(crate) fn unsent(&self) -> usize {
        self.streams.values().map(|s| s.unsent()).sum()
    }

    /// Pops the next stream with news, clearing its flag.
    pub(crate) fn next_ready(&mut self) -> Option<u64> {
        while let Some(id) = self.events.pop_ready() {
            if let Some(s) = stream_id(id)
                .ok()
                .and_then(|sid| self.streams.get_mut(&sid))
            {
                s.in_ready = false;
                return Some(id);
            }
        }
        None
    }

    /// Feeds received bytes; returns how many were consumed (a partial frame is left for the
    /// next call, with more bytes after it).
    pub(crate) fn recv(&mut self, buf: &[u8], now: Instant) -> usize {
        self.now = now;
        if self.recv_closed || self.done {
            return buf.len();
        }
        if !buf.is_empty() {
            self.timers.start(Timer::Keepalive, now);
        }
        let mut pos = 0;
        if !self.preface_seen {
            let n = buf.len().min(PREFACE.len());
            if buf[..n] != PREFACE[..n] {
                self.conn_error(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §3.4: the client connection preface is missing or wrong",
                );
                return buf.len();
            }
            if n < PREFACE.len() {
                return 0;
            }
            self.preface_seen = true;
            pos = PREFACE.len();
        }
        // A frame can end the connection (GOAWAY, an error); nothing after it is looked at.
        while !self.recv_closed && !self.done {
            match decode_frame(&buf[pos..], self.cfg.max_frame_size) {
                Ok(None) => break,
                Ok(Some((frame, used))) => {
                    pos += used;
                    let timed = self.response_frame(&frame);
                    self.on_frame(frame, now);
                    if let Some(id) = timed {
                        self.sync_response_clock(id, Some(now), true);
                    }
                }
                Err(e) => match (e.stream_id(), e.frame_len()) {
                    (Some(id), Some(len))
                        if self.assembler.open_stream().is_none() && self.peer_settings_seen =>
                    {
                        pos += len;
                        if self.floods.empty.hit(now, self.cfg.flood_window) {
                            self.conn_error(
                                ErrorCode::EnhanceYourCalm,
                                "too many invalid frames (zero WINDOW_UPDATE, bad PRIORITY)",
                            );
                        } else {
                            self.stream_error(id, e.code(), e.message());
                        }
                    }
                    (Some(_), _) => self.conn_error(ErrorCode::ProtocolError, e.message()),
                    (None, _) => self.conn_error(e.code(), e.message()),
                },
            }
        }
        if self.recv_closed || self.done {
            pos = buf.len();
        }
        self.fill_out();
        self.start_owed_clocks(now);
        pos
    }

    /// The peer closed its sending side: streams not finished fail.
    pub(crate) fn recv_eof(&mut self) {
        if !self.done {
            // After a GOAWAY with an error code, that error is why the streams failed.
            let e = self.goaway_error.clone().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Closed,
                    "the HTTP/2 peer closed the connection before the stream ended",
                )
            });
            self.fail_all(e);
        }
        self.recv_closed = true;
        self.done = true;
    }

    /// The connection failed underneath (socket error): every stream fails with `e`.
    pub(crate) fn abort(&mut self, e: Error) {
        self.fail_all(e.clone());
        self.failure.get_or_insert(e);
        self.recv_closed = true;
        self.done = true;
    }

    pub(super) fn on_frame(&mut self, frame: Frame<'_>, now: Instant) {
        if !self.peer_settings_seen {
            match &frame {
                Frame::Settings(s) if !s.ack => self.peer_settings_seen = true,
                _ => {
                    return self.conn_error(
                        ErrorCode::ProtocolError,
                        "RFC 9113 §3.4: the peer's connection preface must begin with SETTINGS",
                    )
                }
            }
        }
        let push_accepted = self.role == Role::Client && self.cfg.enable_push;
        if self.assembler.open_stream().is_some()
            || matches!(frame, Frame::Headers(_) | Frame::Continuation(_))
            || (push_accepted && matches!(frame, Frame::PushPromise(_)))
        {
            return self.on_block_frame(frame, now);
        }
        match frame {
            Frame::Data(d) => self.on_data(d, now),
            Frame::Priority(p) => {
                if self.floods.empty.hit(now, self.cfg.flood_window) {
                    return self.conn_error(ErrorCode::EnhanceYourCalm, "PRIORITY flood");
                }
                // Validated by the codec (self-dependency); the signal is deprecated (§5.3.2).
                let _ = p;
            }
            Frame::RstStream(r) => self.on_rst(r, now),
            Frame::Settings(s) => self.on_settings(s, now),
            Frame::PushPromise(_) => self.conn_error(
                ErrorCode::ProtocolError,
                match self.role {
                    Role::Client => {
                        "RFC 9113 §6.6: PUSH_PROMISE received with SETTINGS_ENABLE_PUSH 0"
                    }
                    Role::Server => "RFC 9113 §8.4: a client cannot send PUSH_PROMISE",
                },
            ),
            Frame::Ping(p) => self.on_ping(p, now),
            Frame::GoAway(g) => self.on_goaway(g),
            Frame::WindowUpdate(w) => self.on_window_update(w),
            Frame::Unknown(_) => {
                if self.floods.empty.hit(now, self.cfg.flood_window) {
                    self.conn_error(ErrorCode::EnhanceYourCalm, "flood of unknown frames");
                }
            }
            Frame::Headers(_) | Frame::Continuation(_) => {}
        }
    }

    /// A connection error: GOAWAY with `code`, every stream fails, the connection is done.
    pub(super) fn conn_error(&mut self, code: ErrorCode, rule: &str) {
        let e = Error::new(
            ErrorKind::Protocol,
            format!("HTTP/2 connection error {}: {rule}", code.name()),
        );
        self.end_with_goaway(code, rule, e);
    }

    /// Ends the connection with GOAWAY(`code`, `rule` as debug data): every stream fails with
    /// `e`, which carries the code.
    pub(super) fn end_with_goaway(&mut self, code: ErrorCode, rule: &str, e: Error) {
        if self.done {
            self.recv_closed = true;
            return;
        }
        log::debug!(
            "h2 {:?}: connection error {}: {rule}",
            self.role,
            code.name()
        );
        encode_goaway(self.last_peer_id, code, rule.as_bytes(), &mut self.out);
        let e = e.with_h2_code(code.as_u32());
        self.fail_all(e.clone());
        self.failure = Some(e);
        self.recv_closed = true;
        self.done = true;
        self.want_flush = true;
    }

    /// A stream error the peer caused: RST_STREAM with `code`, and the stream fails.
    pub(super) fn stream_error(&mut self, id: u32, code: ErrorCode, rule: &str) {
        let e = Error::new(
            ErrorKind::Protocol,
            format!("HTTP/2 stream error {}: {rule}", code.name()),
        );
        self.reset_stream(id, code, e);
    }

    /// Resets stream `id` with RST_STREAM(`code`); the stream fails with `e`, which carries
    /// the code.
    pub(super) fn reset_stream(&mut self, id: u32, code: ErrorCode, e: Error) {
        // Errors we answer with a reset count like resets received ("made you reset").
        if self.floods.resets.hit(self.now, self.cfg.flood_window) {
            log::debug!("h2 {:?}: stream {id}: {e}", self.role);
            return self.conn_error(ErrorCode::EnhanceYourCalm, "too many stream errors");
        }
        self.reset_now(id, code, e);
    }

    /// [`reset_stream`](Self::reset_stream) without counting it as an error the peer made us
    /// answer (our own deadline passed).
    pub(super) fn reset_now(&mut self, id: u32, code: ErrorCode, e: Error) {
        let e = e.with_h2_code(code.as_u32());
        log::debug!("h2 {:?}: stream {id}: {e}", self.role);
        self.send_rst(id, code);
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.transition(Event::SendReset);
        s.drop_output();
        s.recv.fail(e);
        self.after_stream_failed(id);
    }

    /// Stream `id` failed (reset by either side): a server's stream the application never
    /// took is dropped (cancelled work never surfaces: rapid reset), any other is readied so
    /// that its reader learns why; a stream queued behind the concurrency limit may open.
    pub(super) fn after_stream_failed(&mut self, id: u32) {
        if self.role == Role::Server && self.events.is_incoming(id as u64) {
            self.remove_stream(id);
        } else {
            self.mark_ready(id);
            self.after_change(id);
        }
        self.try_open_queued();
    }

    pub(super) fn send_rst(&mut self, id: u32, code: ErrorCode) {
        encode_rst_stream(id, code, &mut self.out);
        self.want_flush = true;
        if let Some(s) = self.streams.get_mut(&id) {
            s.reset_sent = true;
        }
        if self.reset_ids.len() >= RESETS_KEPT {
            self.reset_ids.pop_front();
        }
        self.reset_ids.push_back(id);
    }

    /// Fails stream `id` without a frame (it never went out, or the peer will not process it).
    pub(super) fn fail_stream(&mut self, id: u32, e: Error) {
        self.pending_open.retain(|&x| x != id);
        if let Some(s) = self.streams.get_mut(&id) {
            s.drop_output();
            s.state = H2State::Closed;
            s.recv.fail(e);
            self.mark_ready(id);
            self.after_change(id);
        }
    }

    pub(super) fn fail_all(&mut self, e: Error) {
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            let s = self.streams.get_mut(&id).expect("listed");
            s.drop_output();
            s.state = H2State::Closed;
            if !s.recv.end {
                s.recv.fail(e.clone());
                self.mark_ready(id);
            }
        }
        self.pending_open.clear();
        self.send_queue.clear();
    }

    pub(super) fn mark_ready(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.in_ready && !s.abandoned {
                s.in_ready = true;
                self.events.ready(id as u64);
            }
        }
    }

    /// Removes a stream: its unread input is dropped and its credit returned.
    pub(super) fn remove_stream(&mut self, id: u32) {
        let Some(mut s) = self.streams.remove(&id) else {
            return;
        };
        self.pending_open.retain(|&x| x != id);
        self.events.forget_incoming(id as u64);
        self.return_conn_credit(s.recv.buffered());
        if let Some(t) = s.recv.trailers.take() {
            if self.finished.len() >= FINISHED_KEPT {
                self.finished.pop_front();
            }
            self.finished.push_back((id, t));
        }
        if self.streams.is_empty() {
            self.timers.start(Timer::Idle, self.now);
            self.timers.stop(Timer::Response);
            // An emptied map keeps its root node; an idle connection should not. Nor a large
            // output buffer (kept while streams were open, see `sent_all`).
            self.streams = BTreeMap::new();
            if self.out.is_empty() && self.out.capacity() > OUT_SHRINK {
                self.out = Vec::new();
            }
        }
    }

    /// After anything that may have ended a stream: reap it, open queued ones, maybe finish.
    pub(super) fn after_change(&mut self, id: u32) {
        if let Some(s) = self.streams.get(&id) {
            if s.state == H2State::Closed {
                let over = !s.has_output()
                    && (s.abandoned
                        || s.recv.seen_end
                        || (self.role == Role::Server
                            && s.recv.end
                            && s.recv.heads.is_empty()
                            && s.recv.buffered() == 0));
                if over {
                    self.remove_stream(id);
                }
                // A concurrency slot may have come free.
                self.try_open_queued();
            }
        }
        self.check_done();
    }

    pub(super) fn check_done(&mut self) {
        if self.done || (self.goaway_sent.is_none() && self.goaway_recv.is_none()) {
            return;
        }
        // A reserved stream is a promised answer still to come.
        let busy = self.streams.values().any(|s| {
            s.state.is_active()
                || matches!(s.state, H2State::ReservedLocal | H2State::ReservedRemote)
                || s.has_output()
                || s.queued_head.is_some()
        });
        if !busy {
            self.done = true;
        }
    }
}
