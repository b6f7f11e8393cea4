//! The timer table: every deadline of the connection (SETTINGS acknowledgement, graceful
//! shutdown, send stall, keep-alive, idle) is one [`Timer`] kind, armed and cleared through
//! [`Timers`], and given its deadline and its action in one place each.

use super::core::H2Core;
use super::ping::KEEPALIVE_PING;
use crate::error::Error;
use h2_codec_lite::{encode_goaway, encode_ping, ErrorCode};
use std::time::Instant;

impl H2Core {
    /// Marks the idle time (called by the face when it sees the core idle).
    pub(crate) fn note_idle(&mut self, now: Instant) {
        self.now = now;
        if self.streams.is_empty() && self.idle_since.is_none() {
            self.idle_since = Some(now);
        }
    }

    /// The earliest deadline: SETTINGS acknowledgement, graceful shutdown, idle connection.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        let settings = self
            .settings_sent_at
            .zip(self.cfg.settings_timeout)
            .map(|(t, d)| t + d);
        let idle = self
            .idle_since
            .filter(|_| self.streams.is_empty() && self.goaway_sent.is_none())
            .zip(self.cfg.idle_timeout)
            .map(|(t, d)| t + d);
        let keepalive = self
            .cfg
            .keepalive_interval
            .map(|every| match self.ping_sent {
                Some(t) => t + self.cfg.keepalive_timeout,
                None => self.last_heard + every,
            });
        let stalled = self
            .stalled_since
            .zip(self.cfg.send_stall_timeout)
            .map(|(t, d)| t + d);
        [settings, idle, self.shutdown_until, keepalive, stalled]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the deadlines that passed.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.done {
            return;
        }
        if let (Some(t), Some(d)) = (self.settings_sent_at, self.cfg.settings_timeout) {
            if now >= t + d {
                return self.conn_error(
                    ErrorCode::SettingsTimeout,
                    "RFC 9113 §6.5.3: our SETTINGS were not acknowledged in time",
                );
            }
        }
        if self.shutdown_until.is_some_and(|t| now >= t) {
            log::debug!("h2: graceful shutdown timed out");
            self.fail_all(Error::timed_out("HTTP/2 graceful shutdown"));
            self.recv_closed = true;
            self.done = true;
            return;
        }
        if let (Some(t), Some(d)) = (self.stalled_since, self.cfg.send_stall_timeout) {
            if now >= t + d {
                log::debug!("h2: output stalled on a closed flow-control window for {d:?}");
                self.reset_stalled();
            }
        }
        if let Some(every) = self.cfg.keepalive_interval {
            match self.ping_sent {
                Some(t) if now >= t + self.cfg.keepalive_timeout => {
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
                    return;
                }
                None if now >= self.last_heard + every => {
                    encode_ping(false, KEEPALIVE_PING, &mut self.out);
                    self.ping_sent = Some(now);
                    self.want_flush = true;
                }
                _ => {}
            }
        }
        if let (Some(t), Some(d)) = (self.idle_since, self.cfg.idle_timeout) {
            if now >= t + d && self.streams.is_empty() {
                log::debug!("h2: idle connection timed out");
                self.idle_since = None;
                self.shutdown();
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
        self.stalled_since = None;
    }
}
