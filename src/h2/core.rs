//! The sans-IO HTTP/2 connection core, both roles.
//!
//! It takes received bytes and the current time, and produces outgoing bytes (in `out`),
//! stream events (the `incoming` and `ready` queues, and each stream's [`RecvSide`]) and
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
use super::flow::{Flood, Unreturned, Window};
use super::head::{encode_head, outgoing_fields, HeadCheck, HeadKind};
use super::state::{Event, H2State};
use crate::error::{Error, ErrorKind, Result};
use crate::h1::StreamState;
use crate::headers::Headers;
use crate::recv::{closed_stream, RecvSide};
use crate::Role;
use h2_codec_lite::hpack::{HeaderRef, HpackDecoder, HpackEncoder};
use h2_codec_lite::{
    decode_frame, encode_data, encode_data_header, encode_goaway, encode_headers, encode_ping,
    encode_push_promise, encode_rst_stream, encode_settings, encode_settings_ack,
    encode_window_update, flags, BlockStart, DataFrame, ErrorCode, FieldBlockAssembler, Frame,
    FrameHeader, FrameType, GoAwayFrame, RstStreamFrame, Settings, SettingsFrame,
    WindowUpdateFrame, FRAME_HEADER_LEN, MAX_STREAM_ID,
};
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

/// The client connection preface (RFC 9113 §3.4), before the client's SETTINGS.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The opaque data of our keep-alive PINGs.
pub(super) const KEEPALIVE_PING: [u8; 8] = *b"pollhttp";

/// Every window starts here until SETTINGS say otherwise (§6.9.2).
const DEFAULT_WINDOW: u32 = 65_535;

/// Streams we reset, remembered so that frames the peer sent before it saw the reset are
/// ignored (§5.1, "closed") rather than answered.
const RESETS_KEPT: usize = 128;

/// Ranges of skipped peer stream ids remembered (see `H2Core::note_skipped_peer_ids`).
const SKIPPED_RANGES_KEPT: usize = 16;

/// Removed streams remembered for late questions (trailers).
const FINISHED_KEPT: usize = 8;

#[derive(Debug)]
pub(super) struct H2Stream {
    pub(super) state: H2State,
    recv: RecvSide,
    /// What the peer may still send on this stream.
    recv_window: Window,
    /// Read by the application, not yet returned with WINDOW_UPDATE.
    unreturned: Unreturned,
    /// `recv.buffered()` when we last looked: less now means the application read.
    buffered_mark: usize,
    /// The content-length of the peer's message, to check against the DATA received.
    content_length: Option<u64>,
    data_len: u64,
    /// Client: the request was HEAD, so the response has no body whatever its length says.
    head_request: bool,
    /// Server: the request asked for 100-continue and has not had it.
    expect_continue: bool,
    pub(super) send_window: Window,
    /// Body bytes waiting for flow-control credit (from `pending_pos` on).
    pending: Vec<u8>,
    pending_pos: usize,
    /// END_STREAM goes out after `pending` (and after `pending_trailers`).
    pending_end: bool,
    pending_trailers: Option<Headers>,
    /// Client: the request head, waiting for a concurrency slot or for a lower id to open.
    queued_head: Option<(Headers, bool)>,
    /// The final head is written (sent or queued).
    head_sent: bool,
    /// The application ended its side (the end may still be queued).
    end_written: bool,
    /// We sent RST_STREAM: late frames from the peer are ignored.
    reset_sent: bool,
    in_send_queue: bool,
    in_ready: bool,
    /// Nobody will read the stream's input any more: it is discarded as it comes.
    abandoned: bool,
    /// A write found the send buffer full: the stream is named ready once it has room.
    blocked_writer: bool,
    /// Our message has no body whatever is written (a response to HEAD, 204, 304).
    no_body: bool,
    /// The content-length our head announced, and the body bytes written so far.
    send_length: Option<u64>,
    sent_len: u64,
}

impl H2Stream {
    fn new(recv_window: u32, send_window: u32) -> H2Stream {
        H2Stream {
            state: H2State::Idle,
            recv: RecvSide::default(),
            recv_window: Window::new(recv_window),
            unreturned: Unreturned::default(),
            buffered_mark: 0,
            content_length: None,
            data_len: 0,
            head_request: false,
            expect_continue: false,
            send_window: Window::new(send_window),
            pending: Vec::new(),
            pending_pos: 0,
            pending_end: false,
            pending_trailers: None,
            queued_head: None,
            head_sent: false,
            end_written: false,
            reset_sent: false,
            in_send_queue: false,
            in_ready: false,
            abandoned: false,
            blocked_writer: false,
            no_body: false,
            send_length: None,
            sent_len: 0,
        }
    }

    fn unsent(&self) -> usize {
        self.pending.len() - self.pending_pos
    }

    fn has_output(&self) -> bool {
        self.unsent() > 0 || self.pending_trailers.is_some() || self.pending_end
    }

    fn drop_output(&mut self) {
        self.pending = Vec::new();
        self.pending_pos = 0;
        self.pending_trailers = None;
        self.pending_end = false;
        self.queued_head = None;
    }

    fn transition(&mut self, ev: Event) {
        self.state = self.state.next(ev).unwrap_or(H2State::Closed);
    }
}

/// What one turn of the send scheduler did for a stream.
enum Progress {
    /// Sent a frame; more is waiting.
    More,
    /// Nothing more to send.
    Done,
    /// Waiting for flow-control credit.
    Blocked,
    /// Waiting for the stream to open (a client's concurrency slot).
    Waiting,
}

/// The peer's settings as they apply to what we send.
#[derive(Debug)]
struct PeerSettings {
    max_streams: u32,
    initial_window: u32,
    max_frame: u32,
    max_header_list: Option<u32>,
    /// Server: the client's SETTINGS_ENABLE_PUSH (1 until its SETTINGS say otherwise).
    enable_push: bool,
}

/// The flood counters (see [`H2Config`]).
#[derive(Debug)]
struct Floods {
    resets: Flood,
    settings: Flood,
    pings: Flood,
    empty: Flood,
}

/// The HTTP/2 core of one connection.
pub(crate) struct H2Core {
    role: Role,
    cfg: H2Config,
    /// Boxed: a node of the map then moves ids and pointers, not whole streams.
    pub(super) streams: BTreeMap<u32, Box<H2Stream>>,
    finished: VecDeque<(u32, Headers)>,
    /// Frames to write, in order; the face writes and clears it.
    pub out: Vec<u8>,
    /// Server: streams the peer opened, not yet taken by the application.
    pub incoming: VecDeque<u64>,
    /// Streams with news for the application.
    pub ready: VecDeque<u64>,
    /// Streams put on `ready` so far (wrapping): the face tells news that came from an
    /// application's call, outside a step, by it.
    pub readied: u64,
    /// Output that should go out now (a head, an end, a control frame) was queued.
    pub want_flush: bool,
    /// Why the connection ended, if it failed.
    pub failure: Option<Error>,
    /// `:scheme` of requests that name none: "https" over TLS, "http" for h2c.
    pub scheme: &'static str,
    /// Now as an IMF-fixdate, for the `date` of responses (kept current by the face).
    pub date: [u8; 29],
    enc: HpackEncoder,
    dec: HpackDecoder,
    assembler: FieldBlockAssembler,
    /// Server: the client preface was seen (a client has nothing to wait for).
    preface_seen: bool,
    /// The peer's first frame (a SETTINGS) was seen.
    peer_settings_seen: bool,
    /// Our SETTINGS went out at this time and are not acknowledged yet.
    pub(super) settings_sent_at: Option<Instant>,
    peer: PeerSettings,
    /// The receive window a new stream gets (the larger of old and new until our SETTINGS
    /// are acknowledged, so a peer that has not seen them yet is not punished).
    recv_initial_window: u32,
    conn_recv: Window,
    conn_unreturned: Unreturned,
    conn_send: Window,
    pub(super) next_local_id: u32,
    last_peer_id: u32,
    /// Client: streams made by `new_stream` and not yet opened, in id order (ids must be
    /// used in increasing order, so they open in this order).
    pending_open: VecDeque<u32>,
    send_queue: VecDeque<u32>,
    reset_ids: VecDeque<u32>,
    /// The last stream id of the GOAWAY we sent / received.
    goaway_sent: Option<u32>,
    goaway_recv: Option<u32>,
    /// Graceful shutdown deadline.
    shutdown_until: Option<Instant>,
    recv_closed: bool,
    done: bool,
    /// The latest time we were given (for calls that take none).
    now: Instant,
    idle_since: Option<Instant>,
    floods: Floods,
    /// When the peer last sent anything (keep-alive).
    last_heard: Instant,
    /// Our keep-alive PING went out at this time and is not answered yet.
    ping_sent: Option<Instant>,
    /// Since when output has waited for flow-control credit without any DATA going out.
    stalled_since: Option<Instant>,
    /// Ranges of peer stream ids skipped (never used), inclusive.
    skipped_peer_ids: VecDeque<(u32, u32)>,
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
        let floods = Floods {
            resets: Flood::new(cfg.max_resets),
            settings: Flood::new(cfg.max_settings),
            pings: Flood::new(cfg.max_pings),
            empty: Flood::new(cfg.max_empty_frames),
        };
        let mut core = H2Core {
            role,
            streams: BTreeMap::new(),
            finished: VecDeque::new(),
            out: Vec::with_capacity(1024),
            incoming: VecDeque::new(),
            ready: VecDeque::new(),
            readied: 0,
            want_flush: true,
            failure: None,
            scheme: "https",
            date: *b"Thu, 01 Jan 1970 00:00:00 GMT",
            enc,
            dec,
            assembler: FieldBlockAssembler::new(cfg.max_header_block),
            preface_seen: role == Role::Client,
            peer_settings_seen: false,
            settings_sent_at: Some(now),
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
            shutdown_until: None,
            recv_closed: false,
            done: false,
            now,
            idle_since: Some(now),
            floods,
            last_heard: now,
            ping_sent: None,
            stalled_since: None,
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
        core.idle_since = None;
        core.incoming.push_back(1);
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
        core.idle_since = None;
        core
    }

    /// The SETTINGS payload a client sends in `HTTP2-Settings` (the same as its first
    /// SETTINGS frame).
    pub(crate) fn settings_payload(cfg: &H2Config) -> Vec<u8> {
        let mut v = Vec::with_capacity(64);
        encode_settings(&our_settings(cfg, Role::Client), &mut v);
        v.split_off(9)
    }

    // ---- the connection face's side ---------------------------------------------------

    /// Whether the core wants more bytes. HTTP/2 always reads while the connection lives:
    /// flow control, not the socket, holds a fast peer back.
    pub(crate) fn wants_read(&self) -> bool {
        !self.recv_closed && !self.done
    }

    /// The connection is over; close it once `out` is flushed.
    pub(crate) fn is_done(&self) -> bool {
        self.done
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

    /// The peer's SETTINGS arrived (a client's `connect` waits for it).
    pub(crate) fn settings_exchanged(&self) -> bool {
        self.peer_settings_seen
    }

    /// Client: the request on stream `id` asked for 100-continue and no head has come yet.
    pub(crate) fn continue_pending(&self, id: u64) -> bool {
        self.role == Role::Client
            && self
                .streams
                .get(&(id as u32))
                .is_some_and(|s| s.expect_continue && !s.recv.got_final_head)
    }

    /// Body bytes written by the application and not yet in `out` (waiting for credit).
    pub(crate) fn unsent(&self) -> usize {
        self.streams.values().map(|s| s.unsent()).sum()
    }

    /// Marks the idle time (called by the face when it sees the core idle).
    pub(crate) fn note_idle(&mut self, now: Instant) {
        self.now = now;
        if self.streams.is_empty() && self.idle_since.is_none() {
            self.idle_since = Some(now);
        }
    }

    /// The earliest deadline: SETTINGS acknowledgement, graceful shutdown, idle connection.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        let settings = self
            .settings_sent_at
            .zip(self.cfg.settings_timeout)
            .map(|(t, d)| t + d);
        let idle = self
            .idle_since
            .filter(|_| self.streams.is_empty() && self.goaway_sent.is_none())
            .zip(self.cfg.idle_timeout)
            .map(|(t, d)| t + d);
        let keepalive = self
            .cfg
            .keepalive_interval
            .map(|every| match self.ping_sent {
                Some(t) => t + self.cfg.keepalive_timeout,
                None => self.last_heard + every,
            });
        let stalled = self
            .stalled_since
            .zip(self.cfg.send_stall_timeout)
            .map(|(t, d)| t + d);
        [settings, idle, self.shutdown_until, keepalive, stalled]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the deadlines that passed.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.done {
            return;
        }
        if let (Some(t), Some(d)) = (self.settings_sent_at, self.cfg.settings_timeout) {
            if now >= t + d {
                return self.conn_error(
                    ErrorCode::SettingsTimeout,
                    "RFC 9113 §6.5.3: our SETTINGS were not acknowledged in time",
                );
            }
        }
        if self.shutdown_until.is_some_and(|t| now >= t) {
            log::debug!("h2: graceful shutdown timed out");
            self.fail_all(Error::timed_out("HTTP/2 graceful shutdown"));
            self.recv_closed = true;
            self.done = true;
            return;
        }
        if let (Some(t), Some(d)) = (self.stalled_since, self.cfg.send_stall_timeout) {
            if now >= t + d {
                log::debug!("h2: output stalled on a closed flow-control window for {d:?}");
                self.reset_stalled();
            }
        }
        if let Some(every) = self.cfg.keepalive_interval {
            match self.ping_sent {
                Some(t) if now >= t + self.cfg.keepalive_timeout => {
                    log::debug!("h2: keep-alive PING not answered in time");
                    if self.goaway_sent.is_none() {
                        encode_goaway(self.last_peer_id, ErrorCode::NoError, b"", &mut self.out);
                        self.goaway_sent = Some(self.last_peer_id);
                    }
                    let e = Error::timed_out("HTTP/2 keep-alive (no PING acknowledgement)");
                    self.fail_all(e.clone());
                    self.failure.get_or_insert(e);
                    self.recv_closed = true;
                    self.done = true;
                    self.want_flush = true;
                    return;
                }
                None if now >= self.last_heard + every => {
                    encode_ping(false, KEEPALIVE_PING, &mut self.out);
                    self.ping_sent = Some(now);
                    self.want_flush = true;
                }
                _ => {}
            }
        }
        if let (Some(t), Some(d)) = (self.idle_since, self.cfg.idle_timeout) {
            if now >= t + d && self.streams.is_empty() {
                log::debug!("h2: idle connection timed out");
                self.idle_since = None;
                self.shutdown();
            }
        }
    }

    /// Pops the next stream with news, clearing its flag.
    pub(crate) fn next_ready(&mut self) -> Option<u64> {
        while let Some(id) = self.ready.pop_front() {
            if let Some(s) = self.streams.get_mut(&(id as u32)) {
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
            self.last_heard = now;
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
                    self.on_frame(frame, now);
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
        pos
    }

    /// The peer closed its sending side: streams not finished fail.
    pub(crate) fn recv_eof(&mut self) {
        if !self.done {
            self.fail_all(Error::new(
                ErrorKind::Closed,
                "the HTTP/2 peer closed the connection before the stream ended",
            ));
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

    /// Orderly close: GOAWAY(NO_ERROR) with the last stream we will process; streams in
    /// flight finish (until `shutdown_timeout`), new ones are refused.
    pub(crate) fn shutdown(&mut self) {
        if self.goaway_sent.is_some() || self.done {
            return;
        }
        // The last stream the peer opened (a client's: the last push it accepted).
        let last = self.last_peer_id;
        encode_goaway(last, ErrorCode::NoError, b"", &mut self.out);
        self.goaway_sent = Some(last);
        self.shutdown_until = Some(self.now + self.cfg.shutdown_timeout);
        self.want_flush = true;
        // Client streams that never went out never will.
        let unopened: Vec<u32> = self.pending_open.drain(..).collect();
        for id in unopened {
            self.fail_stream(
                id,
                Error::new(
                    ErrorKind::Closed,
                    "the connection is shutting down; the request was not sent and is safe to retry",
                )
                .retryable(),
            );
        }
        self.check_done();
    }

    /// Moves DATA (and the trailers and ends behind it) from the streams into `out`, one
    /// frame per stream in turn, while flow control allows and `out` is below its high-water
    /// mark. The face calls it after draining `out`.
    pub(crate) fn fill_out(&mut self) {
        let mut blocked = 0;
        let mut credit_wanted = false;
        let mut progressed = false;
        while self.out.len() < self.cfg.out_high_water && blocked < self.send_queue.len() {
            let Some(id) = self.send_queue.pop_front() else {
                break;
            };
            match self.send_one(id) {
                Progress::More => {
                    self.send_queue.push_back(id);
                    blocked = 0;
                    progressed = true;
                }
                Progress::Done => {
                    if let Some(s) = self.streams.get_mut(&id) {
                        s.in_send_queue = false;
                    }
                    blocked = 0;
                    progressed = true;
                    self.after_change(id);
                }
                Progress::Blocked => {
                    self.send_queue.push_back(id);
                    blocked += 1;
                    credit_wanted = true;
                }
                Progress::Waiting => {
                    self.send_queue.push_back(id);
                    blocked += 1;
                }
            }
        }
        // A peer that never opens its window must not hold our buffers for ever: the clock
        // runs from the last DATA sent while output still waits for credit.
        if !credit_wanted {
            self.stalled_since = None;
        } else if progressed || self.stalled_since.is_none() {
            self.stalled_since = Some(self.now);
        }
    }

    /// Resets the streams whose output has waited for flow-control credit longer than the
    /// stall timeout.
    fn reset_stalled(&mut self) {
        let stalled: Vec<u32> = self
            .send_queue
            .iter()
            .copied()
            .filter(|id| {
                self.streams
                    .get(id)
                    .is_some_and(|s| s.state.can_send() && s.unsent() > 0)
            })
            .collect();
        for id in stalled {
            self.reset_stream(
                id,
                ErrorCode::Cancel,
                Error::timed_out("HTTP/2 send: the peer's flow-control window stayed closed"),
            );
        }
        self.stalled_since = None;
    }

    // ---- the application's side -------------------------------------------------------

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
        self.idle_since = None;
        Ok(id as u64)
    }

    /// The HTTP version of the peer's message on stream `id`.
    pub(crate) fn peer_version(&self, id: u64) -> Option<http::Version> {
        self.streams
            .contains_key(&(id as u32))
            .then_some(http::Version::HTTP_2)
    }

    pub(crate) fn state(&self, id: u64) -> StreamState {
        match self.streams.get(&(id as u32)) {
            Some(s) => s.state.public(),
            None => StreamState::Closed,
        }
    }

    fn send_error(s: &H2Stream) -> Option<Error> {
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
        let sid = id as u32;
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
        let head = outgoing_fields(h, kind, self.scheme, Some(&date))?;
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
        let s = self.streams.get(&(id as u32)).ok_or_else(closed_stream)?;
        if self.role != Role::Server || s.head_sent {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "100 Continue is a server's answer before the final head",
            ));
        }
        self.write_headers(id, &Headers::response(100), false)
    }

    /// Writes body bytes; `end` ends the body. Bytes wait in the stream until flow control
    /// lets them go; once the stream holds `send_buffer` unsent bytes, writes report
    /// would-block (and write nothing) until credit arrives.
    pub(crate) fn write_body(&mut self, id: u64, data: &[u8], end: bool) -> Result<()> {
        let sid = id as u32;
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
            return Err(Error::new(
                ErrorKind::WouldBlock,
                "HTTP/2 stream send buffer full: waiting for flow-control credit from the peer",
            ));
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
        let sid = id as u32;
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
        let assoc = id as u32;
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
        let method = request.method();
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
        let size = outgoing_fields(request, HeadKind::Request, self.scheme, None)?.size;
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
        self.idle_since = None;
        Ok(promised as u64)
    }

    pub(crate) fn with_recv<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        let sid = id as u32;
        let continue_owed = self
            .streams
            .get(&sid)
            .is_some_and(|s| s.expect_continue && !s.head_sent && s.state.can_send());
        if continue_owed && self.role == Role::Server {
            // Reading the body of a request that expects 100-continue answers it.
            self.write_continue(id)?;
        }
        self.with_recv_head(id, f)
    }

    /// Reads without answering 100-continue.
    pub(crate) fn with_recv_head<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        let sid = id as u32;
        let Some(s) = self.streams.get_mut(&sid) else {
            return self.with_finished(sid, f);
        };
        let r = f(&mut s.recv);
        let now = s.recv.buffered();
        let read = s.buffered_mark.saturating_sub(now);
        s.buffered_mark = now;
        if read > 0 {
            self.return_stream_credit(sid, read);
            self.return_conn_credit(read);
        }
        self.after_change(sid);
        Ok(r)
    }

    /// A removed stream reads as ended, with its trailers if it had them.
    fn with_finished<T>(&mut self, id: u32, f: impl FnOnce(&mut RecvSide) -> T) -> Result<T> {
        let known = match self.is_local(id) {
            true => id < self.next_local_id,
            false => id <= self.last_peer_id,
        };
        if id == 0 || !known {
            return Err(closed_stream());
        }
        let mut r = RecvSide::default();
        r.end = true;
        r.seen_end = true;
        r.got_final_head = true;
        let i = self.finished.iter().position(|(fid, _)| *fid == id);
        if let Some(i) = i {
            r.trailers = self.finished.remove(i).map(|(_, t)| t);
        }
        let out = f(&mut r);
        if let Some(t) = r.trailers.take() {
            self.finished.push_back((id, t));
        }
        Ok(out)
    }

    // ---- receiving frames ---------------------------------------------------------------

    /// Remembers the peer ids a new stream `id` skipped (never used, implicitly closed), so a
    /// later HEADERS on one is told from one on a stream that really ran (§5.1.1 vs §5.1).
    /// Peers almost never skip; the record is bounded and the oldest ranges are forgotten.
    fn note_skipped_peer_ids(&mut self, id: u32) {
        let first = if self.last_peer_id == 0 {
            if self.is_local(1) {
                2
            } else {
                1
            }
        } else {
            self.last_peer_id + 2
        };
        if id > first {
            if self.skipped_peer_ids.len() >= SKIPPED_RANGES_KEPT {
                self.skipped_peer_ids.pop_front();
            }
            self.skipped_peer_ids.push_back((first, id - 2));
        }
    }

    fn was_skipped(&self, id: u32) -> bool {
        self.skipped_peer_ids
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&id))
    }

    fn is_local(&self, id: u32) -> bool {
        (id % 2 == 1) == (self.role == Role::Client)
    }

    /// Open or half-closed streams opened by us (`local`) or by the peer: each side's
    /// SETTINGS_MAX_CONCURRENT_STREAMS bounds the streams the other opens (§5.1.2).
    fn active_streams(&self, local: bool) -> usize {
        self.streams
            .iter()
            .filter(|(&id, s)| self.is_local(id) == local && s.state.is_active())
            .count()
    }

    /// A stream id nobody has used yet (§5.1.1).
    fn is_idle_id(&self, id: u32) -> bool {
        if self.is_local(id) {
            id >= self.next_local_id
        } else {
            id > self.last_peer_id
        }
    }

    fn on_frame(&mut self, frame: Frame<'_>, now: Instant) {
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
            Frame::Ping(p) => {
                if p.ack {
                    if p.data == KEEPALIVE_PING {
                        self.ping_sent = None;
                    }
                    return;
                }
                if self.floods.pings.hit(now, self.cfg.flood_window) {
                    return self.conn_error(ErrorCode::EnhanceYourCalm, "PING flood");
                }
                encode_ping(true, p.data, &mut self.out);
                self.want_flush = true;
            }
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

    /// HEADERS and CONTINUATION frames, and any frame while a field block is open.
    fn on_block_frame(&mut self, frame: Frame<'_>, now: Instant) {
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

    fn on_field_block(&mut self, id: u32, start: BlockStart, block: &[u8]) {
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
    fn open_peer_stream(
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
        if self.goaway_sent.is_some() {
            // Above the last stream id of our GOAWAY: not processed, the client may retry.
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
        s.head_request = check.headers.method() == Some("HEAD");
        s.expect_continue = check.expect_continue && !end_stream;
        s.recv.got_final_head = true;
        s.recv.heads.push_back(check.headers);
        self.streams.insert(id, Box::new(s));
        self.idle_since = None;
        self.incoming.push_back(id as u64);
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
    fn answer_431(&mut self, id: u32, end_stream: bool) {
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
        self.idle_since = None;
        const BODY: &[u8] = b"request header fields too large\n";
        let mut h = Headers::response(431);
        h.append("content-type", "text/plain");
        h.append("content-length", BODY.len().to_string());
        let sent = self
            .write_headers(id as u64, &h, false)
            .and_then(|()| self.write_body(id as u64, BODY, true));
        if let Err(e) = sent {
            log::debug!("h2: the 431 for stream {id} did not go out: {e}");
        }
    }

    /// Client: the server promised stream `promised` on our stream `assoc` (RFC 9113 §6.6,
    /// §8.4). The promised request `check` is already decoded (HPACK is in step); `problem`
    /// is what is wrong with it, if anything.
    fn on_push_promise(
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
        if self.goaway_sent.is_some() || pushed >= self.cfg.max_concurrent_streams as usize {
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
        self.idle_since = None;
        self.incoming.push_back(promised as u64);
        self.mark_ready(promised);
    }

    /// Answers a stream we do not keep with RST_STREAM.
    fn refuse(&mut self, id: u32, code: ErrorCode) {
        if self.floods.resets.hit(self.now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "too many refused streams");
        }
        self.send_rst(id, code);
    }

    fn end_of_recv(&mut self, id: u32) {
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

    fn on_data(&mut self, d: DataFrame<'_>, now: Instant) {
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
                e = e.with_status(413);
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

    fn on_rst(&mut self, r: RstStreamFrame, now: Instant) {
        if self.floods.resets.hit(now, self.cfg.flood_window) {
            return self.conn_error(
                ErrorCode::EnhanceYourCalm,
                "too many RST_STREAM frames (rapid reset)",
            );
        }
        let id = r.stream_id;
        let Some(s) = self.streams.get_mut(&id) else {
            if self.is_idle_id(id) {
                self.conn_error(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §6.4: RST_STREAM on an idle stream",
                );
            }
            return;
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
        };
        s.recv.fail(e);
        if self.role == Role::Server && self.incoming.contains(&(id as u64)) {
            // The application never saw it: cancelled work never surfaces (rapid reset).
            self.remove_stream(id);
        } else {
            self.mark_ready(id);
            self.after_change(id);
        }
        self.try_open_queued();
    }

    fn on_settings(&mut self, f: SettingsFrame, now: Instant) {
        if self.floods.settings.hit(now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "SETTINGS flood");
        }
        if f.ack {
            if self.settings_sent_at.take().is_some() {
                self.our_settings_acked();
            }
            return;
        }
        if self.apply_peer_settings(f.settings) {
            encode_settings_ack(&mut self.out);
            self.want_flush = true;
            self.try_open_queued();
        }
    }

    /// Applies the peer's settings; `false` if they broke the protocol (the connection has
    /// failed then).
    fn apply_peer_settings(&mut self, st: Settings) -> bool {
        if self.role == Role::Client && st.enable_push == Some(true) {
            self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.5.2: a server cannot set SETTINGS_ENABLE_PUSH to 1",
            );
            return false;
        }
        if let Some(v) = st.enable_push {
            self.peer.enable_push = v;
        }
        if let Some(v) = st.header_table_size {
            self.enc.set_max_table_size(v as usize);
        }
        if let Some(v) = st.max_concurrent_streams {
            self.peer.max_streams = v;
        }
        if let Some(v) = st.initial_window_size {
            let delta = v as i64 - self.peer.initial_window as i64;
            self.peer.initial_window = v;
            let mut overflow = false;
            let mut queue = Vec::new();
            for (&id, s) in self.streams.iter_mut() {
                overflow |= !s.send_window.credit(delta);
                if s.has_output() {
                    queue.push(id);
                }
            }
            if overflow {
                self.conn_error(
                    ErrorCode::FlowControlError,
                    "RFC 9113 §6.9.2: SETTINGS_INITIAL_WINDOW_SIZE took a stream window above 2^31-1",
                );
                return false;
            }
            for id in queue {
                self.enqueue(id);
            }
        }
        if let Some(v) = st.max_frame_size {
            self.peer.max_frame = v;
        }
        if let Some(v) = st.max_header_list_size {
            self.peer.max_header_list = Some(v);
        }
        true
    }

    /// The peer applies our SETTINGS from now on.
    fn our_settings_acked(&mut self) {
        if self.cfg.header_table_size as usize != h2_codec_lite::DEFAULT_HEADER_TABLE_SIZE as usize
        {
            self.dec
                .set_max_table_size_setting(self.cfg.header_table_size as usize);
        }
        let ours = self.cfg.initial_window_size;
        if ours < self.recv_initial_window {
            let delta = ours as i64 - self.recv_initial_window as i64;
            for s in self.streams.values_mut() {
                s.recv_window.credit(delta);
            }
            self.recv_initial_window = ours;
        }
    }

    fn on_goaway(&mut self, g: GoAwayFrame<'_>) {
        let last = self
            .goaway_recv
            .map_or(g.last_stream_id, |l| l.min(g.last_stream_id));
        self.goaway_recv = Some(last);
        if g.error_code != ErrorCode::NoError {
            log::debug!(
                "h2: peer sent GOAWAY {}: {}",
                g.error_code.name(),
                String::from_utf8_lossy(g.debug_data)
            );
        }
        let unprocessed: Vec<u32> = self
            .streams
            .keys()
            .copied()
            .filter(|&id| self.is_local(id) && id > last)
            .collect();
        self.pending_open.clear();
        let msg = format!(
            "the peer sent GOAWAY ({}) before processing this stream: it was not processed and is safe to retry",
            g.error_code.name()
        );
        for id in unprocessed {
            self.fail_stream(id, Error::new(ErrorKind::Closed, msg.clone()).retryable());
        }
        self.check_done();
    }

    fn on_window_update(&mut self, w: WindowUpdateFrame) {
        if w.stream_id == 0 {
            if !self.conn_send.credit(w.increment as i64) {
                self.conn_error(
                    ErrorCode::FlowControlError,
                    "RFC 9113 §6.9.1: connection flow-control window above 2^31-1",
                );
            }
            return;
        }
        let id = w.stream_id;
        let Some(s) = self.streams.get_mut(&id) else {
            if self.is_idle_id(id) {
                self.conn_error(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §5.1: WINDOW_UPDATE on an idle stream",
                );
            }
            return;
        };
        if s.state == H2State::ReservedRemote {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1: WINDOW_UPDATE on a stream reserved by the peer",
            );
        }
        if !s.send_window.credit(w.increment as i64) {
            return self.stream_error(
                id,
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: stream flow-control window above 2^31-1",
            );
        }
        if s.has_output() {
            self.enqueue(id);
        }
    }

    // ---- errors ---------------------------------------------------------------------------

    /// A connection error: GOAWAY with `code`, every stream fails, the connection is done.
    fn conn_error(&mut self, code: ErrorCode, rule: &str) {
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
        let e = Error::new(
            ErrorKind::Protocol,
            format!("HTTP/2 connection error {}: {rule}", code.name()),
        );
        self.fail_all(e.clone());
        self.failure = Some(e);
        self.recv_closed = true;
        self.done = true;
        self.want_flush = true;
    }

    /// A stream error the peer caused: RST_STREAM with `code`, and the stream fails.
    fn stream_error(&mut self, id: u32, code: ErrorCode, rule: &str) {
        let e = Error::new(
            ErrorKind::Protocol,
            format!("HTTP/2 stream error {}: {rule}", code.name()),
        );
        self.reset_stream(id, code, e);
    }

    fn reset_stream(&mut self, id: u32, code: ErrorCode, e: Error) {
        log::debug!("h2 {:?}: stream {id}: {e}", self.role);
        // Errors we answer with a reset count like resets received ("made you reset").
        if self.floods.resets.hit(self.now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "too many stream errors");
        }
        self.send_rst(id, code);
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.transition(Event::SendReset);
        s.drop_output();
        s.recv.fail(e);
        if self.role == Role::Server && self.incoming.contains(&(id as u64)) {
            self.remove_stream(id);
        } else {
            self.mark_ready(id);
            self.after_change(id);
        }
        self.try_open_queued();
    }

    fn send_rst(&mut self, id: u32, code: ErrorCode) {
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
    fn fail_stream(&mut self, id: u32, e: Error) {
        self.pending_open.retain(|&x| x != id);
        if let Some(s) = self.streams.get_mut(&id) {
            s.drop_output();
            s.state = H2State::Closed;
            s.recv.fail(e);
            self.mark_ready(id);
            self.after_change(id);
        }
    }

    fn fail_all(&mut self, e: Error) {
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

    // ---- sending --------------------------------------------------------------------------

    fn enqueue(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.in_send_queue && s.has_output() {
                s.in_send_queue = true;
                self.send_queue.push_back(id);
            }
        }
    }

    /// HPACK-encodes a head and frames it (HEADERS + CONTINUATION at the peer's frame size).
    fn send_head_now(&mut self, id: u32, h: &Headers, end: bool, kind: HeadKind) {
        let date = self.date;
        match outgoing_fields(h, kind, self.scheme, Some(&date)) {
            Ok(head) => self.send_fields_now(id, head.fields, end),
            // Checked when the head was written; nothing was encoded.
            Err(e) => log::error!("h2: head for stream {id} could not be encoded: {e}"),
        }
    }

    /// HPACK-encodes checked fields and frames them. The block is encoded straight into `out`
    /// behind room for the frame header, which is filled in after; a block larger than the
    /// peer's frame size (rare) is moved out again and split into HEADERS + CONTINUATION.
    fn send_fields_now(&mut self, id: u32, fields: Vec<HeaderRef<'_>>, end: bool) {
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
    fn on_end_sent(&mut self, id: u32) {
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
        self.want_flush = true;
        self.after_change(id);
    }

    fn send_one(&mut self, id: u32) -> Progress {
        let conn_room = self.conn_send.available();
        let max_frame = self.peer.max_frame as usize;
        let Some(s) = self.streams.get_mut(&id) else {
            return Progress::Done;
        };
        if !s.state.can_send() {
            if s.state == H2State::Idle {
                return Progress::Waiting;
            }
            s.drop_output();
            return Progress::Done;
        }
        let left = s.unsent();
        if left > 0 {
            let n = left
                .min(max_frame)
                .min(s.send_window.available())
                .min(conn_room);
            if n == 0 {
                return Progress::Blocked;
            }
            let end = s.pending_end && n == left && s.pending_trailers.is_none();
            encode_data_header(id, n, end, &mut self.out);
            self.out
                .extend_from_slice(&s.pending[s.pending_pos..s.pending_pos + n]);
            s.pending_pos += n;
            if s.pending_pos == s.pending.len() {
                s.pending.clear();
                s.pending_pos = 0;
            }
            s.send_window.take(n as u32);
            self.conn_send.take(n as u32);
            if s.blocked_writer && s.unsent() < self.cfg.send_buffer {
                s.blocked_writer = false;
                self.mark_ready(id);
            }
            if end {
                self.on_end_sent(id);
                return Progress::Done;
            }
            let more = self.streams.get(&id).is_some_and(|s| s.has_output());
            return if more { Progress::More } else { Progress::Done };
        }
        if let Some(t) = s.pending_trailers.take() {
            self.send_head_now(id, &t, true, HeadKind::Trailers);
            return Progress::Done;
        }
        if s.pending_end {
            encode_data(id, &[], true, &mut self.out);
            self.on_end_sent(id);
        }
        Progress::Done
    }

    /// Client: whether a stream may open now (see [`H2Core::try_open_queued`]).
    fn may_open(&self) -> bool {
        self.role == Role::Client
            && !self.done
            && self.goaway_recv.is_none()
            && self.below_stream_limit()
    }

    /// Whether fewer of our streams are active than the peer allows. Every active stream is in
    /// the map, so a map smaller than the limit needs no count (the walk is the cost).
    fn below_stream_limit(&self) -> bool {
        let max = self.peer.max_streams as usize;
        self.streams.len() < max || self.active_streams(true) < max
    }

    /// Client: opens queued streams, in id order, while the peer's limit allows.
    fn try_open_queued(&mut self) {
        if self.role != Role::Client || self.done || self.goaway_recv.is_some() {
            return;
        }
        while let Some(&id) = self.pending_open.front() {
            if !self.below_stream_limit() {
                break;
            }
            let Some(s) = self.streams.get_mut(&id) else {
                self.pending_open.pop_front();
                continue;
            };
            let Some((h, end)) = s.queued_head.take() else {
                // Ids go out in order: a later stream waits for this one's head.
                break;
            };
            self.pending_open.pop_front();
            let end_now = end && !s.has_output();
            self.send_head_now(id, &h, end_now, HeadKind::Request);
            self.enqueue(id);
        }
    }

    // ---- flow-control credit --------------------------------------------------------------

    fn return_conn_credit(&mut self, n: usize) {
        if n == 0 || self.done {
            return;
        }
        let target = self.cfg.connection_window_size.max(DEFAULT_WINDOW);
        if let Some(inc) = self.conn_unreturned.add(n, target / 2) {
            encode_window_update(0, inc, &mut self.out);
            self.conn_recv.credit(inc as i64);
            self.want_flush = true;
        }
    }

    fn return_stream_credit(&mut self, id: u32, n: usize) {
        let threshold = self.recv_initial_window / 2;
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !s.state.can_recv() || s.abandoned {
            // The peer sends no more on this stream: its credit is moot.
            return;
        }
        if let Some(inc) = s.unreturned.add(n, threshold) {
            s.recv_window.credit(inc as i64);
            encode_window_update(id, inc, &mut self.out);
            self.want_flush = true;
        }
    }

    // ---- bookkeeping ------------------------------------------------------------------------

    fn mark_ready(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.in_ready && !s.abandoned {
                s.in_ready = true;
                self.ready.push_back(id as u64);
                self.readied = self.readied.wrapping_add(1);
            }
        }
    }

    /// Removes a stream: its unread input is dropped and its credit returned.
    fn remove_stream(&mut self, id: u32) {
        let Some(mut s) = self.streams.remove(&id) else {
            return;
        };
        self.pending_open.retain(|&x| x != id);
        self.incoming.retain(|&x| x != id as u64);
        self.return_conn_credit(s.recv.buffered());
        if let Some(t) = s.recv.trailers.take() {
            if self.finished.len() >= FINISHED_KEPT {
                self.finished.pop_front();
            }
            self.finished.push_back((id, t));
        }
        if self.streams.is_empty() {
            self.idle_since = Some(self.now);
            // An emptied map keeps its root node; an idle connection should not.
            self.streams = BTreeMap::new();
        }
    }

    /// After anything that may have ended a stream: reap it, open queued ones, maybe finish.
    fn after_change(&mut self, id: u32) {
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

    fn check_done(&mut self) {
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

/// The settings we advertise (§6.5.2).
fn our_settings(cfg: &H2Config, role: Role) -> Settings {
    Settings {
        header_table_size: Some(cfg.header_table_size),
        // A server must not send 1 and need not send 0 (§6.5.2); a client says 1 only when it
        // accepts pushes.
        enable_push: (role == Role::Client).then_some(cfg.enable_push),
        max_concurrent_streams: Some(cfg.max_concurrent_streams),
        initial_window_size: Some(cfg.initial_window_size),
        max_frame_size: Some(cfg.max_frame_size),
        max_header_list_size: Some(cfg.max_header_list_size),
    }
}

/// Decodes a SETTINGS payload (as `HTTP2-Settings` carries it) with the frame rules.
pub(crate) fn decode_settings_payload(payload: &[u8], max_frame: u32) -> Result<Settings> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Protocol,
            format!("RFC 7540 §3.2.1: HTTP2-Settings is not a valid SETTINGS payload: {why}"),
        )
        .with_status(400)
    };
    if payload.len() > max_frame as usize {
        return Err(bad("too long"));
    }
    let mut frame = Vec::with_capacity(9 + payload.len());
    let n = payload.len();
    frame.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8, 4, 0, 0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    match decode_frame(&frame, max_frame) {
        Ok(Some((Frame::Settings(f), _))) if !f.ack => Ok(f.settings),
        Ok(_) => Err(bad("not a SETTINGS payload")),
        Err(e) => Err(bad(e.message())),
    }
}
