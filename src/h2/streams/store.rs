//! The stream record: [`H2Stream`] (state, receive side, windows, queued output, a client's
//! response deadline: [`ResponseClock`]), the bounds on the ids we remember after a stream is
//! gone (reset, skipped, finished) and [`stream_id`], the HTTP/2 id of a public stream id. A
//! leaf: the stream table's questions asked by id (local or peer, idle, active, finished) are
//! `impl H2Core` methods in `lookup`, which `core` does not import.

use crate::error::{Error, ErrorKind, Result};
use crate::h2::flow::{Unreturned, Window};
use crate::h2::state::{Event, H2State};
use crate::headers::Headers;
use crate::recv::RecvSide;
use h2_codec_lite::MAX_STREAM_ID;
use std::time::Instant;

/// Streams we reset, remembered so that frames the peer sent before it saw the reset are
/// ignored (§5.1, "closed") rather than answered.
pub(in crate::h2) const RESETS_KEPT: usize = 128;

/// Ranges of skipped peer stream ids remembered (see `H2Core::note_skipped_peer_ids`).
pub(in crate::h2) const SKIPPED_RANGES_KEPT: usize = 16;

/// Removed streams remembered for late questions (trailers).
pub(in crate::h2) const FINISHED_KEPT: usize = 8;

/// The HTTP/2 stream id of a public stream id. HTTP/2 ids have 31 bits (RFC 9113 §5.1.1):
/// a larger public id names no HTTP/2 stream and is refused, never truncated (`1 << 32 | 1`
/// is not stream 1).
pub(in crate::h2) fn stream_id(id: u64) -> Result<u32> {
    u32::try_from(id)
        .ok()
        .filter(|&sid| sid <= MAX_STREAM_ID)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "not an HTTP/2 stream id (more than 31 bits)",
            )
        })
}

/// Which response deadline a client stream's clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::h2) enum ResponseWait {
    /// The request's end went out and no frame of the response came since, or an interim
    /// response ended (`response_timeout`).
    FirstByte,
    /// The response is in progress and the application has taken what came
    /// (`response_read_timeout`).
    Read,
}

/// A client stream's response deadline: the stream's own instant, which the connection's
/// `Timer::Response` is armed at (or before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::h2) enum ResponseClock {
    /// No deadline counts.
    Off,
    /// One starts at the next time the core is given: what started it (an end going out, the
    /// application's read) came without a time. The stream is in `H2Core::clocks_owed`.
    Owed(ResponseWait),
    /// The stream fails at this instant unless what it waits for comes first.
    Due(ResponseWait, Instant),
}

#[derive(Debug)]
pub(in crate::h2) struct H2Stream {
    pub(in crate::h2) state: H2State,
    pub(in crate::h2) recv: RecvSide,
    /// What the peer may still send on this stream.
    pub(in crate::h2) recv_window: Window,
    /// Read by the application, not yet returned with WINDOW_UPDATE.
    pub(in crate::h2) unreturned: Unreturned,
    /// `recv.buffered()` when we last looked: less now means the application read.
    pub(in crate::h2) buffered_mark: usize,
    /// The content-length of the peer's message, to check against the DATA received.
    pub(in crate::h2) content_length: Option<u64>,
    pub(in crate::h2) data_len: u64,
    /// Client: the request was HEAD, so the response has no body whatever its length says.
    pub(in crate::h2) head_request: bool,
    /// Server: the request asked for 100-continue and has not had it.
    pub(in crate::h2) expect_continue: bool,
    pub(in crate::h2) send_window: Window,
    /// Body bytes waiting for flow-control credit (from `pending_pos` on).
    pub(in crate::h2) pending: Vec<u8>,
    pub(in crate::h2) pending_pos: usize,
    /// END_STREAM goes out after `pending` (and after `pending_trailers`).
    pub(in crate::h2) pending_end: bool,
    pub(in crate::h2) pending_trailers: Option<Headers>,
    /// Client: the request head, waiting for a concurrency slot or for a lower id to open.
    pub(in crate::h2) queued_head: Option<(Headers, bool)>,
    /// The final head is written (sent or queued).
    pub(in crate::h2) head_sent: bool,
    /// The application ended its side (the end may still be queued).
    pub(in crate::h2) end_written: bool,
    /// We sent RST_STREAM: late frames from the peer are ignored.
    pub(in crate::h2) reset_sent: bool,
    pub(in crate::h2) in_send_queue: bool,
    pub(in crate::h2) in_ready: bool,
    /// Nobody will read the stream's input any more: it is discarded as it comes.
    pub(in crate::h2) abandoned: bool,
    /// A write found the send buffer full: the stream is named ready once it has room.
    pub(in crate::h2) blocked_writer: bool,
    /// Our message has no body whatever is written (a response to HEAD, 204, 304).
    pub(in crate::h2) no_body: bool,
    /// The content-length our head announced, and the body bytes written so far.
    pub(in crate::h2) send_length: Option<u64>,
    pub(in crate::h2) sent_len: u64,
    /// Client: the response deadline (see `H2Core::sync_response_clock`).
    pub(in crate::h2) response: ResponseClock,
}

impl H2Stream {
    pub(in crate::h2) fn new(recv_window: u32, send_window: u32) -> H2Stream {
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
            response: ResponseClock::Off,
        }
    }

    pub(in crate::h2) fn unsent(&self) -> usize {
        self.pending.len() - self.pending_pos
    }

    pub(in crate::h2) fn has_output(&self) -> bool {
        self.unsent() > 0 || self.pending_trailers.is_some() || self.pending_end
    }

    pub(in crate::h2) fn drop_output(&mut self) {
        self.pending = Vec::new();
        self.pending_pos = 0;
        self.pending_trailers = None;
        self.pending_end = false;
        self.queued_head = None;
    }

    pub(in crate::h2) fn transition(&mut self, ev: Event) {
        self.state = self.state.next(ev).unwrap_or(H2State::Closed);
    }
}
