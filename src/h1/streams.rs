//! The streams of an HTTP/1 connection as plain data: the [`H1Stream`] record, what is kept of
//! removed ones ([`Finished`]), and the limits on what a connection keeps. The queue that works on them (finding, readying, reaping) is `H1Core`'s and
//! lives in `queue`; this module does not import the core.

use super::encode::{RequestInfo, Sending};
use crate::error::Error;
use crate::headers::Headers;
use crate::recv::RecvSide;

#[derive(Debug)]
pub(crate) struct H1Stream {
    pub id: u64,
    pub recv: RecvSide,
    /// The request (server) or the request we sent (client).
    pub(super) info: RequestInfo,
    /// The final head was sent; how its body is delimited.
    pub(super) sending: Option<Sending>,
    pub(super) send_left: u64,
    pub send_end: bool,
    /// Bytes written while another stream's message was still going out.
    pub(super) pending: Vec<u8>,
    /// Server: an error response owed in place of the application's answer.
    pub(super) error_answer: Option<Error>,
    /// Server: 100 Continue was asked for and not yet answered.
    pub(super) expect_continue: bool,
    /// The application gave up on the stream (reset); its input is discarded.
    pub(super) abandoned: bool,
    /// Client: the request head went out and a response is expected.
    pub(super) awaiting: bool,
    /// In the ready list already.
    pub(super) queued: bool,
    /// In `send_order`: its message (or the right to write it) is still to go out.
    pub(super) in_send_order: bool,
    /// Made by the connection to carry an error answer; the application never sees it.
    pub(super) synthetic: bool,
    /// The minor HTTP version of the peer's last head.
    pub(super) peer_minor: u8,
}

impl H1Stream {
    pub(super) fn new(id: u64, info: RequestInfo) -> H1Stream {
        H1Stream {
            id,
            recv: RecvSide::default(),
            info,
            sending: None,
            send_left: 0,
            send_end: false,
            pending: Vec::new(),
            error_answer: None,
            expect_continue: false,
            abandoned: false,
            awaiting: false,
            queued: false,
            in_send_order: false,
            synthetic: false,
            peer_minor: info.minor,
        }
    }
}

/// What is kept of a removed stream: what a caller may still ask after the end.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) id: u64,
    pub(super) trailers: Option<Headers>,
    pub(super) close_delimited: bool,
    /// The error that ended it, if the application has not seen it yet.
    pub(super) error: Option<Error>,
}

/// The most storage of a response body kept for reuse (`ClientReuse::spare_bodies`).
pub(super) const SPARE_BODY_BYTES: usize = 4096;

/// The most streams of room an idle client connection keeps (see `H1Core::keeps_stream_room`).
pub(super) const CLIENT_STREAM_ROOM: usize = 32;

/// Removed streams remembered for late questions.
pub(super) const FINISHED_KEPT: usize = 8;
