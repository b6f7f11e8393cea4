//! The HTTP/2 connection's kinds of deadline, for the timer table of `crate::timer`: every
//! deadline of the connection is one [`Timer`] kind (the durations come from
//! [`H2Config`](super::H2Config); some kinds count only in some states: idle, no stream and no
//! GOAWAY sent; one, `Response`, stands for the deadlines the streams keep). A leaf: what each
//! kind's deadline is and what it does when it passes are `impl H2Core` methods in
//! `deadlines`, which `core` does not import. The data of our keep-alive PING is here, for
//! `deadlines` (which sends it) and `ping` (which knows its answer).

use crate::timer::{TimerKind, Timers};
use std::time::Instant;

/// The opaque data of our keep-alive PINGs.
pub(super) const KEEPALIVE_PING: [u8; 8] = *b"pollhttp";

/// A kind of deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// Our SETTINGS went out and are not acknowledged yet (`settings_timeout`).
    SettingsAck,
    /// Graceful shutdown: streams in flight have until `shutdown_timeout`.
    Shutdown,
    /// Output has waited for flow-control credit without any DATA going out
    /// (`send_stall_timeout`).
    SendStall,
    /// Our keep-alive PING is not answered yet (`keepalive_timeout`).
    PingAck,
    /// The peer was last heard from (a keep-alive PING goes out after `keepalive_interval`
    /// of silence, unless one is unanswered).
    Keepalive,
    /// The connection has had no stream since (`idle_timeout`).
    Idle,
    /// Client: the earliest of the streams' response deadlines (`response_timeout`,
    /// `response_read_timeout`), or earlier. Unlike the other kinds it is armed with the
    /// instant itself, not a clock start: each stream keeps its own deadline (its
    /// `ResponseClock`), and the connection is woken at the first of them without a scan of
    /// its streams at every frame. A stream whose deadline moved later leaves it early: the
    /// wake-up then finds nothing due and arms the next.
    Response,
}

impl Timer {
    /// Every kind, in the order `on_timeout` fires them.
    pub(super) const ALL: [Timer; 7] = [
        Timer::SettingsAck,
        Timer::Shutdown,
        Timer::SendStall,
        Timer::PingAck,
        Timer::Keepalive,
        Timer::Idle,
        Timer::Response,
    ];
}

impl TimerKind for Timer {
    const ALL: &'static [Timer] = &Timer::ALL;

    fn index(self) -> usize {
        self as usize
    }
}

/// A new connection's clocks: our SETTINGS just went out, it is idle, and the peer counts as
/// heard from.
pub(super) fn starting(now: Instant) -> Timers<Timer, 7> {
    let mut t = Timers::new();
    t.start(Timer::SettingsAck, now);
    t.start(Timer::Idle, now);
    t.start(Timer::Keepalive, now);
    t
}
