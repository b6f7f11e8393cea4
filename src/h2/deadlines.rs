//! The deadlines of the connection, as an `impl H2Core` block over the timer table of
//! `timer`: [`H2Core::due`] turns a running clock into a deadline (the one place each kind's
//! rule is written, with the conditions under which it counts), [`H2Core::deadline`] is the
//! earliest of them and [`H2Core::on_timeout`] fires the kinds whose deadline passed, in
//! [`Timer::ALL`] order, through `H2Core::fire` (the one place each kind's action is
//! written). `core` does not import this file.

use super::core::H2Core;
use super::timer::{Timer, KEEPALIVE_PING};
use crate::clock::LazyNow;
use crate::error::{Error, ErrorKind};
use h2_codec_lite::{encode_goaway, encode_ping, ErrorCode};
use std::time::Instant;

impl H2Core {
    /// The face's time after its I/O and after each of the application's calls, read only
    /// when the core has a use for it: it marks the idle time when the core is idle.
    pub(crate) fn note_time(&mut self, now: &mut LazyNow) {
        if self.streams.is_empty() {
            let now = now.get();
            self.now = now;
            if !self.timers.is_armed(Timer::Idle) {
                self.timers.start(Timer::Idle, now);
            }
        }
    }

    /// The send-stall clock after a turn of the scheduler: a peer that never opens its window
    /// must not hold our buffers for ever, so the clock runs from the last DATA sent while
    /// output still waits for credit.
    pub(super) fn note_send_turn(&mut self, credit_wanted: bool, progressed: bool) {
        if !credit_wanted {
            self.timers.stop(Timer::SendStall);
        } else if progressed || !self.timers.is_armed(Timer::SendStall) {
            self.timers.start(Timer::SendStall, self.now);
        }
    }

    /// When `kind` fires, if its clock runs and the kind counts now: each kind's rule.
    pub(super) fn due(&self, kind: Timer) -> Option<Instant> {
        let since = self.timers.since(kind)?;
        match kind {
            Timer::SettingsAck => self.cfg.settings_timeout.map(|d| since + d),
            Timer::Shutdown => Some(since + self.cfg.shutdown_timeout),
            Timer::SendStall => self.cfg.send_stall_timeout.map(|d| since + d),
            Timer::PingAck => self
                .cfg
                .keepalive_interval
                .map(|_| since + self.cfg.keepalive_timeout),
            Timer::Keepalive => self
                .cfg
                .keepalive_interval
                .filter(|_| !self.timers.is_armed(Timer::PingAck))
                .map(|every| since + every),
            Timer::Idle => self
                .cfg
                .idle_timeout
                .filter(|_| self.streams.is_empty() && self.goaway_sent.is_none())
                .map(|d| since + d),
        }
    }

    /// The earliest deadline of the timer table.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        Timer::ALL.into_iter().filter_map(|k| self.due(k)).min()
    }

    /// Fires the deadlines that passed, in [`Timer::ALL`] order, until one ends the
    /// connection.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.done {
            return;
        }
        for kind in Timer::ALL {
            if self.due(kind).is_some_and(|at| now >= at) && self.fire(kind, now) {
                return;
            }
        }
    }

    /// What `kind` does when its deadline passed: each kind's action. `true` if the
    /// connection ended.
    fn fire(&mut self, kind: Timer, now: Instant) -> bool {
        match kind {
            Timer::SettingsAck => {
                // A deadline passed: TimedOut, with the code the GOAWAY carried.
                let rule = "RFC 9113 §6.5.3: our SETTINGS were not acknowledged in time";
                let e = Error::new(
                    ErrorKind::TimedOut,
                    format!("HTTP/2 connection error SETTINGS_TIMEOUT: {rule}"),
                )
                .with_errno(libc::ETIMEDOUT);
                self.end_with_goaway(ErrorCode::SettingsTimeout, rule, e);
                true
            }
            Timer::Shutdown => {
                log::debug!("h2: graceful shutdown timed out");
                self.fail_all(Error::timed_out("HTTP/2 graceful shutdown"));
                self.recv_closed = true;
                self.done = true;
                true
            }
            Timer::SendStall => {
                if let Some(d) = self.cfg.send_stall_timeout {
                    log::debug!("h2: output stalled on a closed flow-control window for {d:?}");
                }
                self.reset_stalled();
                false
            }
            Timer::PingAck => {
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
                true
            }
            Timer::Keepalive => {
                encode_ping(false, KEEPALIVE_PING, &mut self.out);
                self.timers.start(Timer::PingAck, now);
                self.want_flush = true;
                false
            }
            Timer::Idle => {
                log::debug!("h2: idle connection timed out");
                self.timers.stop(Timer::Idle);
                self.shutdown();
                false
            }
        }
    }

    /// Resets the streams whose output has waited for flow-control credit longer than the
    /// stall timeout.
    pub(super) fn reset_stalled(&mut self) {
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
        self.timers.stop(Timer::SendStall);
    }
}
