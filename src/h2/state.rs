//! The stream state machine of RFC 9113 §5.1, with every transition in one table.
//!
//! The core feeds it the frames it sends and receives as [`Event`]s; a transition the table
//! does not have is the caller's cue to answer with the error the RFC names (the core decides
//! which, since that depends on the frame type as well as the state).

use crate::stream_state::StreamState;

/// A stream's state, RFC 9113 Figure 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum H2State {
    Idle,
    ReservedLocal,
    ReservedRemote,
    Open,
    HalfClosedLocal,
    HalfClosedRemote,
    Closed,
}

/// What happened on a stream (the labels of the RFC's diagram: H = HEADERS, PP = PUSH_PROMISE,
/// ES = END_STREAM, R = RST_STREAM; "send" and "recv" are from our side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    SendHeaders,
    RecvHeaders,
    SendPushPromise,
    RecvPushPromise,
    SendEndStream,
    RecvEndStream,
    SendReset,
    RecvReset,
}

impl H2State {
    /// The state after `ev`, or `None` when the RFC does not allow it in this state.
    pub(crate) fn next(self, ev: Event) -> Option<H2State> {
        use Event::*;
        use H2State::*;
        Some(match (self, ev) {
            (Idle, SendHeaders | RecvHeaders) => Open,
            (Idle, SendPushPromise) => ReservedLocal,
            (Idle, RecvPushPromise) => ReservedRemote,
            (ReservedLocal, SendHeaders) => HalfClosedRemote,
            (ReservedRemote, RecvHeaders) => HalfClosedLocal,
            // Interim (1xx) heads and trailers: more heads on a stream that is open that way.
            (Open | HalfClosedRemote, SendHeaders) => self,
            (Open | HalfClosedLocal, RecvHeaders) => self,
            (Open, SendEndStream) => HalfClosedLocal,
            (Open, RecvEndStream) => HalfClosedRemote,
            (HalfClosedLocal, RecvEndStream) => Closed,
            (HalfClosedRemote, SendEndStream) => Closed,
            // RST_STREAM on an idle stream is a connection PROTOCOL_ERROR (§6.4).
            (Idle, SendReset | RecvReset) => return None,
            (_, SendReset | RecvReset) => Closed,
            _ => return None,
        })
    }

    /// The peer may send DATA or HEADERS.
    pub(crate) fn can_recv(self) -> bool {
        matches!(self, H2State::Open | H2State::HalfClosedLocal)
    }

    /// We may send DATA or HEADERS.
    pub(crate) fn can_send(self) -> bool {
        matches!(self, H2State::Open | H2State::HalfClosedRemote)
    }

    /// Counts toward SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2: open or half-closed).
    pub(crate) fn is_active(self) -> bool {
        matches!(
            self,
            H2State::Open | H2State::HalfClosedLocal | H2State::HalfClosedRemote
        )
    }

    /// lua-http's name for the state.
    pub(crate) fn public(self) -> StreamState {
        match self {
            H2State::Idle | H2State::ReservedLocal | H2State::ReservedRemote => StreamState::Idle,
            H2State::Open => StreamState::Open,
            H2State::HalfClosedLocal => StreamState::HalfClosedLocal,
            H2State::HalfClosedRemote => StreamState::HalfClosedRemote,
            H2State::Closed => StreamState::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Event::*;
    use super::H2State::*;

    #[test]
    fn a_request_and_its_response_walk_the_diagram() {
        // Client view: send H, send ES, recv H, recv ES.
        let s = Idle.next(SendHeaders).unwrap();
        assert_eq!(s, Open);
        let s = s.next(SendEndStream).unwrap();
        assert_eq!(s, HalfClosedLocal);
        let s = s.next(RecvHeaders).unwrap();
        assert_eq!(s.next(RecvEndStream), Some(Closed));
        // Server view.
        let s = Idle.next(RecvHeaders).unwrap().next(RecvEndStream).unwrap();
        assert_eq!(s, HalfClosedRemote);
        assert!(s.can_send() && !s.can_recv());
        assert_eq!(s.next(SendEndStream), Some(Closed));
    }

    #[test]
    fn transitions_the_rfc_does_not_have_are_refused() {
        assert_eq!(Idle.next(RecvEndStream), None);
        assert_eq!(Idle.next(RecvReset), None);
        assert_eq!(HalfClosedRemote.next(RecvEndStream), None);
        assert_eq!(HalfClosedRemote.next(RecvHeaders), None);
        assert_eq!(Closed.next(RecvHeaders), None);
        assert_eq!(HalfClosedLocal.next(SendEndStream), None);
        assert_eq!(Open.next(RecvReset), Some(Closed));
        assert_eq!(ReservedRemote.next(RecvHeaders), Some(HalfClosedLocal));
        assert!(!ReservedLocal.is_active() && HalfClosedLocal.is_active());
    }
}
