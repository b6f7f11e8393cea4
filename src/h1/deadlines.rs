//! The deadlines of an HTTP/1 connection, as an `impl H1Core` block over the timer table of
//! `crate::timer` (the shape the HTTP/2 core has): `timer::Timer` names the kinds,
//! [`H1Core::due`] turns a running clock into a deadline (the one place each kind's rule is
//! written), [`H1Core::deadline`] is the earliest of them and [`H1Core::on_timeout`] fires the
//! kinds whose deadline passed through `fire` (the one place each kind's action is written).
//! The client's response deadlines count only in some states, which
//! [`H1Core::sync_response_clocks`] keeps them armed in (called after the bytes received and,
//! through [`H1Core::note_time`], after the application's calls).

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
            // Armed only while they count (`sync_response_clocks` keeps them so).
            Timer::Response => self.cfg.response_timeout.map(|d| since + d),
            Timer::ResponseRead => self.cfg.response_read_timeout.map(|d| since + d),
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
            Timer::Response | Timer::ResponseRead => {
                // HTTP/1 cannot drop one exchange and go on: the answer may still come, and
                // would be taken for the next one's. The exchange and every one pipelined
                // behind it fail, and the connection closes.
                let e = match kind {
                    Timer::Response => {
                        Error::no_response(self.cfg.response_timeout.unwrap_or_default())
                    }
                    _ => {
                        Error::response_stalled(self.cfg.response_read_timeout.unwrap_or_default())
                    }
                };
                log::debug!("h1: {e}");
                self.timers.stop(Timer::Response);
                self.timers.stop(Timer::ResponseRead);
                self.fail_all(e);
                self.lifecycle.finish();
                true
            }
        }
    }

    /// The face's time after its I/O and after each of the application's calls, read only if
    /// a clock starts now: idleness (see `note_idle`), or a response deadline that an
    /// application's call started (a request's end written, the last body bytes taken).
    pub(crate) fn note_time(&mut self, now: &mut LazyNow) {
        if self.times_responses() {
            self.sync_response_clocks(now);
        }
        self.note_idle(now);
    }

    /// Marks the idle time when the core is idle (its output buffer goes with the rest of
    /// what it kept at `idle_release`, so that a client refilling its pipeline does not grow a
    /// new one every time). A connection that is over has no idle time: it closes once its
    /// output is out.
    fn note_idle(&mut self, now: &mut LazyNow) {
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

    /// Part of a head is in (`seen` bytes of it), and the connection is no longer idle. A
    /// server's head clock starts with the first bytes; for a client, more bytes of a
    /// response than last time are bytes of a response in progress.
    pub(super) fn head_started(&mut self, now: Instant, seen: usize) {
        match self.role {
            Role::Server => self.timers.start_unless_armed(Timer::Head, now),
            Role::Client => {
                if seen > self.head_seen {
                    self.head_seen = seen;
                    self.response_bytes(now);
                }
            }
        }
        self.busy();
    }

    /// Client: whether the response deadlines are on (a server has none).
    #[inline]
    pub(super) fn times_responses(&self) -> bool {
        self.role == Role::Client
            && (self.cfg.response_timeout.is_some() || self.cfg.response_read_timeout.is_some())
    }

    /// Client: bytes of a response came at `now`: its first byte is in, and the read clock
    /// starts again (`sync_response_clocks` then stops it if the application has bytes to
    /// take).
    pub(super) fn response_bytes(&mut self, now: Instant) {
        if self.times_responses() {
            self.timers.stop(Timer::Response);
            self.timers.start(Timer::ResponseRead, now);
        }
    }

    /// Client: the response clocks after anything that may have changed what the connection
    /// waits for (bytes received, a request's end written, body bytes taken, a failure): the
    /// one place their rule is written. `Response` runs while the oldest request without an
    /// answer is all in the output and no byte of its answer is in (an interim answer's end
    /// counts as a new start); `ResponseRead` while a response is in progress (a head partly
    /// in, or a body) and the application has taken every body byte that came. A clock that
    /// runs already goes on (the bytes that restart the read clock do it themselves), so the
    /// time is read only when one starts.
    pub(super) fn sync_response_clocks(&mut self, now: &mut LazyNow) {
        let (first_byte, reading) = match &self.recv {
            Recv::Body { id, .. } => {
                let i = self.find(*id);
                let caught_up = i.is_none_or(|i| self.streams[i].recv.buffered() == 0);
                (false, Some(caught_up))
            }
            Recv::Head if self.head_seen > 0 => (false, Some(true)),
            Recv::Head => (self.answer_due(), None),
            Recv::Paused | Recv::Tunnel | Recv::Closed => (false, None),
        };
        if !first_byte {
            self.timers.stop(Timer::Response);
        } else if self.cfg.response_timeout.is_some() && !self.timers.is_armed(Timer::Response) {
            self.timers.start(Timer::Response, now.get());
        }
        match reading {
            Some(true) if self.cfg.response_read_timeout.is_some() => {
                if !self.timers.is_armed(Timer::ResponseRead) {
                    self.timers.start(Timer::ResponseRead, now.get());
                }
            }
            _ => self.timers.stop(Timer::ResponseRead),
        }
    }

    /// Client: the oldest request on the wire without an answer is all in the output (its
    /// end written), and has not failed: its answer is due.
    fn answer_due(&self) -> bool {
        let Some(r) = self.reuse.as_deref() else {
            return false;
        };
        r.wire_order
            .iter()
            .find_map(|&id| self.find(id).filter(|&i| self.streams[i].awaiting))
            .is_some_and(|i| {
                let s = &self.streams[i];
                s.send_end && s.recv.error.is_none()
            })
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
