//! The connection's state, in one place: what the receiving half is doing ([`Recv`], with the
//! body decoder of [`BodyDec`]) and whether the connection carries more messages
//! ([`Lifecycle`]). Each is an enum whose variants are the legal states, and each event that
//! moves the lifecycle is one function here (learnt from hyper's `Reading`/`KeepAlive` and
//! from h11's table of each role's states), so which combinations can occur is written down
//! rather than spread over booleans.
//!
//! RFC 9112 §9 in these terms: a connection is persistent ([`Lifecycle::Open`]) until a
//! `Connection: close` (§9.6), an HTTP/1.0 message without keep-alive (§9.3), a close-delimited
//! body (§6.3), an error or a local decision ends persistence ([`Lifecycle::close`]); the
//! messages in flight still finish ([`Lifecycle::Closing`]), and once they have the connection
//! is over ([`Lifecycle::finish`], [`Lifecycle::Done`]) and closes when its output is flushed.
//! A client that shuts down gracefully (§9.6: "a client ... SHOULD ... wait for responses")
//! drains ([`Lifecycle::Draining`]) first.
//!
//! Two flags of the core are not part of this lifecycle and stay booleans: `want_flush` (output
//! should go out now: set by an event, cleared by the face once it wrote) and `auto_flush` (a
//! setting of the application's). The core's decision that the connection is over
//! (`check_done`) is in `done`: this module holds plain types and does not import the core.

use super::chunked::ChunkedDecoder;

/// How the body being received is delimited (RFC 9112 §6.3), and what is left of it.
#[derive(Debug)]
pub(super) enum BodyDec {
    /// `Content-Length`: this many bytes are still to come.
    Length(u64),
    /// The chunked coding (§7.1).
    Chunked(Box<ChunkedDecoder>),
    /// A response read until the connection closes (§6.3 rule 8).
    Close,
}

/// What the receiving half of the connection is doing.
///
/// `Head` -> `Body` (a message with a body) -> `Head` (persistent) or `Closed` (closing);
/// `Head` -> `Paused` (an Upgrade or CONNECT waits for its answer) -> `Tunnel` (switched) or
/// `Head`/`Closed` (refused); any state -> `Closed` when the peer breaks a rule, its input ends
/// or the connection stops taking messages.
#[derive(Debug)]
pub(super) enum Recv {
    /// Waiting for (the rest of) a head.
    Head,
    /// Receiving the body of stream `id` (dropped when nobody will read it).
    Body { id: u64, dec: BodyDec },
    /// A head asked for a protocol switch (Upgrade, CONNECT); nothing more is parsed until the
    /// answer decides whether the connection becomes a tunnel.
    Paused,
    /// The connection is a raw tunnel now; bytes are the caller's.
    Tunnel,
    /// Nothing more will be read (error, close requested, or the peer's end).
    Closed,
}

/// Whether the connection carries another message after the ones in flight, and whether it
/// is over (RFC 9112 §9.3, §9.6).
///
/// ```text
///   Open ──close──▶ Closing ──finish──▶ Done
///    │                 ▲                  ▲
///    └─shut_down─▶ Draining ──close───┘   │
///    (client)          └──────finish──────┘
/// ```
///
/// Every transition goes forward: `Done` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lifecycle {
    /// Persistent: a new message may follow the ones in flight.
    Open,
    /// A client shut down by its application: no new request; the answers to the requests in
    /// flight still arrive, and the connection closes once the last one is in (`check_done`).
    Draining,
    /// No message after the ones in flight: the peer asked to close (`Connection: close`,
    /// HTTP/1.0 without keep-alive, a close-delimited body), a rule was broken (a server owes
    /// an error answer), a body was cut short or a message reset, the peer's input ended, a
    /// server was shut down, or an idle connection timed out. `shut_down`: a client's
    /// application had shut it down before (its requests are refused as such).
    Closing { shut_down: bool },
    /// Over: the connection closes once its output is flushed.
    Done { shut_down: bool },
}

impl Lifecycle {
    /// No new message starts: closing or done.
    #[inline]
    pub(super) fn closing(self) -> bool {
        matches!(self, Lifecycle::Closing { .. } | Lifecycle::Done { .. })
    }

    #[inline]
    pub(super) fn is_done(self) -> bool {
        matches!(self, Lifecycle::Done { .. })
    }

    /// A client's application shut the connection down.
    pub(super) fn shut_down(self) -> bool {
        matches!(
            self,
            Lifecycle::Draining
                | Lifecycle::Closing { shut_down: true }
                | Lifecycle::Done { shut_down: true }
        )
    }

    /// Event: persistence ends (§9.6); the messages in flight finish, no new one starts.
    #[inline]
    pub(super) fn close(&mut self) {
        *self = match *self {
            Lifecycle::Open => Lifecycle::Closing { shut_down: false },
            Lifecycle::Draining => Lifecycle::Closing { shut_down: true },
            s @ (Lifecycle::Closing { .. } | Lifecycle::Done { .. }) => s,
        };
    }

    /// Event: a client's application shuts the connection down.
    pub(super) fn shut_down_client(&mut self) {
        *self = match *self {
            Lifecycle::Open | Lifecycle::Draining => Lifecycle::Draining,
            Lifecycle::Closing { .. } => Lifecycle::Closing { shut_down: true },
            Lifecycle::Done { .. } => Lifecycle::Done { shut_down: true },
        };
    }

    /// Event: everything is over (or the connection failed, or was handed over).
    pub(super) fn finish(&mut self) {
        *self = Lifecycle::Done {
            shut_down: self.shut_down(),
        };
    }
}
