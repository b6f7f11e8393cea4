//! The timer table: every deadline of the connection is one [`Timer`] kind, and [`Timers`]
//! holds, per kind, when its clock started (armed) or `None` (cleared). Like quinn-proto's
//! timer table, but a clock start rather than a deadline is kept, since the durations come
//! from [`H2Config`](super::H2Config) and some kinds count only in some states (idle: no
//! stream and no GOAWAY sent). A leaf: what each kind's deadline is and what it does when it
//! passes are `impl H2Core` methods in `deadlines`, which `core` does not import. The data of
//! our keep-alive PING is here, for `deadlines` (which sends it) and `ping` (which knows its
//! answer).

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
}

impl Timer {
    /// Every kind, in the order `on_timeout` fires them.
    pub(super) const ALL: [Timer; 6] = [
        Timer::SettingsAck,
        Timer::Shutdown,
        Timer::SendStall,
        Timer::PingAck,
        Timer::Keepalive,
        Timer::Idle,
    ];
}

/// The timer table: per [`Timer`] kind, when its clock started, or `None`.
#[derive(Debug)]
pub(super) struct Timers([Option<Instant>; 6]);

impl Timers {
    /// A new connection's clocks: our SETTINGS just went out, it is idle, and the peer counts
    /// as heard from.
    pub(super) fn new(now: Instant) -> Timers {
        let mut t = Timers([None; 6]);
        t.start(Timer::SettingsAck, now);
        t.start(Timer::Idle, now);
        t.start(Timer::Keepalive, now);
        t
    }

    /// Arms `kind` (again) from `now`.
    pub(super) fn start(&mut self, kind: Timer, now: Instant) {
        self.0[kind as usize] = Some(now);
    }

    /// Clears `kind`.
    pub(super) fn stop(&mut self, kind: Timer) {
        self.0[kind as usize] = None;
    }

    /// Clears `kind`, returning when it had started.
    pub(super) fn take(&mut self, kind: Timer) -> Option<Instant> {
        self.0[kind as usize].take()
    }

    /// When `kind` started, if it is armed.
    pub(super) fn since(&self, kind: Timer) -> Option<Instant> {
        self.0[kind as usize]
    }

    pub(super) fn is_armed(&self, kind: Timer) -> bool {
        self.0[kind as usize].is_some()
    }
}
