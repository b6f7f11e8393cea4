//! The state of a stream in lua-http's terms, shared by the HTTP/1 and HTTP/2 cores.

/// The state of a stream, lua-http's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Nothing sent or received yet.
    Idle,
    /// Both directions open.
    Open,
    /// We finished sending; the peer may still send.
    HalfClosedLocal,
    /// The peer finished sending; we may still send.
    HalfClosedRemote,
    /// Both directions are done, or the stream was reset or is unknown.
    Closed,
}
