//! The deadlines of an HTTP/1 connection, as an `impl H1Core` block over the timer table of
//! `crate::timer` (the shape the HTTP/2 core has): `timer::Timer` names the kinds,
//! [`H1Core::due`] turns a running clock into a deadline (the one place each kind's rule is
//! written), [`H1Core::deadline`] is the earliest of them and [`H1Core::on_timeout`] fires the
//! kinds whose deadline passed through `fire` (the one place each kind's action is written).

use super::core::H1Core;
use super::state::Recv;
use super::timer::Timer;
use crate::clock::LazyNow;
use crate::error::Error;
use crate::timer::TimerKind;
use crate::Role;
use http::StatusCode;
use std::time::Instant;

impl H1Core {
    /// When `kind` fires, if its clock runs and the kind counts now: each kind's rule.
    #[inline]
    fn due(&self, kind: Timer) -> Option<Instant> {
        let since = self.timers.since(kind)?;
        match kind {
            Timer::Head => self.cfg.head_timeout.map(|d| since + d),
            Timer::Release => self
                .cfg
                .idle_release
                .filter(|_| self.streams.is_empty())
                .map(|d| since + d),
            Timer::Idle => self
                .cfg
                .idle_timeout
                .filter(|_| self.streams.is_empty())
                .map(|d| since + d),
        }
    }

    /// The earliest deadline of the core.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        for &kind in Timer::ALL {
            if let Some(at) = self.due(kind) {
                if t.is_none_or(|t| at < t) {
                    t = Some(at);
                }
            }
        }
        t
    }

    /// Fires the deadlines that passed, in [`Timer::ALL`] order, until one ends the exchange.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        for &kind in Timer::ALL {
            if self.due(kind).is_some_and(|at| now >= at) && self.fire(kind) {
                return;
            }
        }
    }

    /// What `kind` does when its deadline passed: each kind's action. `true` if it ended the
    /// exchange (no later kind fires in the same call).
    fn fire(&mut self, kind: Timer) -> bool {
        self.timers.stop(kind);
        match kind {
            Timer::Head => {
                let e = Error::protocol(
                    StatusCode::REQUEST_TIMEOUT,
                    "request head not received in time",
                );
                log::debug!("h1: {e}");
                match self.role {
                    Role::Server => self.fail_receiving(e),
                    Role::Client => self.fail_all(Error::timed_out("response head")),
                }
                true
            }
            Timer::Release => {
                self.release_reused();
                false
            }
            Timer::Idle => {
                log::debug!("h1: idle keep-alive connection timed out");
                self.recv = Recv::Closed;
                self.lifecycle.finish();
                true
            }
        }
    }

    /// Marks the idle time (called by the face when it sees the core idle; its output buffer
    /// goes with the rest of what it kept at `idle_release`, so that a client refilling its
    /// pipeline does not grow a new one every time). A connection that is over has no idle
    /// time: it closes once its output is out.
    pub(crate) fn note_idle(&mut self, now: &mut LazyNow) {
        if self.streams.is_empty()
            && !self.timers.is_armed(Timer::Head)
            && !self.timers.is_armed(Timer::Idle)
            && !self.lifecycle.is_done()
        {
            // The clock is read only here, when idleness starts.
            let now = now.get();
            self.timers.start(Timer::Idle, now);
            if self.holds_reused() {
                self.timers.start(Timer::Release, now);
            }
        }
    }

    /// Server: part of a head is in; its clock starts with the first bytes, and the
    /// connection is no longer idle.
    pub(super) fn head_started(&mut self, now: Instant) {
        if self.role == Role::Server {
            self.timers.start_unless_armed(Timer::Head, now);
        }
        self.busy();
    }

    /// A whole head is in, or none will come: its clock stops.
    pub(super) fn head_over(&mut self) {
        self.timers.stop(Timer::Head);
    }

    /// An exchange starts: the connection is not idle.
    pub(super) fn busy(&mut self) {
        self.timers.stop(Timer::Idle);
        self.timers.stop(Timer::Release);
    }

    /// Whether the connection keeps anything for its next message that it could give back.
    fn holds_reused(&self) -> bool {
        self.server_reuse.is_some()
            || self.reuse.is_some()
            || self.streams.capacity() > 0
            || self.out.capacity() > 0
    }

    /// Idle for `idle_release`: what was kept for the next message goes (its next message
    /// parses and allocates afresh, with the same result).
    fn release_reused(&mut self) {
        log::trace!("h1: idle for a while; giving back what was kept for reuse");
        self.server_reuse = None;
        self.reuse = None;
        self.streams = std::collections::VecDeque::new();
        if self.out.is_empty() {
            self.out = Vec::new();
        }
    }

    /// Part of a request head is in (the connection is not idle while it is).
    pub(super) fn head_pending(&self) -> bool {
        self.timers.is_armed(Timer::Head)
    }
}
