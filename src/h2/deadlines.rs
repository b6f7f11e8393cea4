//! The deadlines of the connection, as an `impl H2Core` block over the timer table of
//! `timer`: [`H2Core::due`] turns a running clock into a deadline (the one place each kind's
//! rule is written, with the conditions under which it counts), [`H2Core::deadline`] is the
//! earliest of them and [`H2Core::on_timeout`] fires the kinds whose deadline passed, in
//! [`Timer::ALL`] order, through `H2Core::fire` (the one place each kind's action is
//! written). A client's response deadlines are the streams' own (`ResponseClock`): their rule
//! is `H2Core::response_wait`, kept by `H2Core::sync_response_clock`, and the connection's
//! `Timer::Response` wakes it at the earliest. `core` does not import this file.

use super::core::H2Core;
use super::state::H2State;
use super::streams::store::{ResponseClock, ResponseWait};
use super::timer::{Timer, KEEPALIVE_PING};
use crate::clock::LazyNow;
use crate::error::{Error, ErrorKind};
use crate::Role;
use h2_codec_lite::{encode_goaway, encode_ping, ErrorCode, Frame};
use std::time::{Duration, Instant};

impl H2Core {
    /// The face's time after its I/O and after each of the application's calls, read only
    /// when the core has a use for it: it marks the idle time when the core is idle, and
    /// starts the response clocks owed (see `clocks_owed`).
    pub(crate) fn note_time(&mut self, now: &mut LazyNow) {
        if self.streams.is_empty() {
            let now = now.get();
            self.now = now;
            if !self.timers.is_armed(Timer::Idle) {
                self.timers.start(Timer::Idle, now);
            }
        }
        if !self.clocks_owed.is_empty() {
            let now = now.get();
            self.now = now;
            self.start_owed_clocks(now);
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
            // Armed with the earliest stream deadline itself.
            Timer::Response => Some(since),
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
        // A reset above may have let a queued stream open and its end go out.
        self.start_owed_clocks(now);
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
            Timer::Response => {
                self.expire_responses(now);
                false
            }
        }
    }

    /// Client: whether the response deadlines are on (a server has none).
    #[inline]
    pub(super) fn times_responses(&self) -> bool {
        self.role == Role::Client
            && (self.cfg.response_timeout.is_some() || self.cfg.response_read_timeout.is_some())
    }

    /// Client: the stream of a frame that may move its response deadline (a frame of the
    /// response, or its reset), when the deadlines are on.
    pub(super) fn response_frame(&self, frame: &Frame<'_>) -> Option<u32> {
        let timed = matches!(
            frame,
            Frame::Headers(_)
                | Frame::Continuation(_)
                | Frame::Data(_)
                | Frame::PushPromise(_)
                | Frame::RstStream(_)
        );
        (timed && self.times_responses()).then(|| frame.stream_id())
    }

    /// Client: which deadline stream `id`'s response counts now, if one does: the rule.
    /// `FirstByte` while its request's end is out (half-closed, local) and nothing of the
    /// final response has come (an interim head's end counts as a start again); `Read` while
    /// the response is in progress (a head block partly in, or the final head came) and the
    /// application has taken every body byte. Our own streams only (not a pushed one), until
    /// the response ends or fails.
    fn response_wait(&self, id: u32) -> Option<ResponseWait> {
        let s = self.streams.get(&id)?;
        if !self.is_local(id) || !s.state.can_recv() || s.recv.end || s.recv.error.is_some() {
            return None;
        }
        if s.recv.got_final_head || self.assembler.open_stream() == Some(id) {
            (s.recv.buffered() == 0 && self.cfg.response_read_timeout.is_some())
                .then_some(ResponseWait::Read)
        } else {
            (s.state == H2State::HalfClosedLocal && self.cfg.response_timeout.is_some())
                .then_some(ResponseWait::FirstByte)
        }
    }

    /// The time `wait` allows.
    fn response_limit(&self, wait: ResponseWait) -> Duration {
        match wait {
            ResponseWait::FirstByte => self.cfg.response_timeout,
            ResponseWait::Read => self.cfg.response_read_timeout,
        }
        .unwrap_or_default()
    }

    /// Client: stream `id`'s response clock after something changed for it (a frame of it
    /// came, its end went out, the application read). A clock that counts the same wait goes
    /// on, unless `fresh` (a frame of the response came at `now`: the wait starts again); a
    /// new one starts at `now`, or is owed the next time the core is given (`now` is `None`:
    /// the change came in an application's call, or while sending).
    pub(in crate::h2) fn sync_response_clock(
        &mut self,
        id: u32,
        now: Option<Instant>,
        fresh: bool,
    ) {
        if !self.times_responses() {
            return;
        }
        let want = self.response_wait(id);
        let limit = want.map(|w| self.response_limit(w));
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let next = match (want, s.response) {
            (None, _) => ResponseClock::Off,
            (Some(w), ResponseClock::Due(k, at)) if k == w && !fresh => ResponseClock::Due(k, at),
            (Some(w), was) => match now {
                Some(now) => ResponseClock::Due(w, now + limit.unwrap_or_default()),
                None => {
                    if !matches!(was, ResponseClock::Owed(_)) {
                        self.clocks_owed.push(id);
                    }
                    ResponseClock::Owed(w)
                }
            },
        };
        s.response = next;
        if let ResponseClock::Due(_, at) = next {
            self.arm_response(at);
        }
    }

    /// Starts the response clocks owed (see `clocks_owed`) at `now`.
    pub(super) fn start_owed_clocks(&mut self, now: Instant) {
        while let Some(id) = self.clocks_owed.pop() {
            let Some(ResponseClock::Owed(w)) = self.streams.get(&id).map(|s| s.response) else {
                continue;
            };
            let at = now + self.response_limit(w);
            if let Some(s) = self.streams.get_mut(&id) {
                s.response = ResponseClock::Due(w, at);
            }
            self.arm_response(at);
        }
    }

    /// The connection is woken at `at` at the latest, for a stream's response deadline.
    fn arm_response(&mut self, at: Instant) {
        if self.timers.since(Timer::Response).is_none_or(|t| at < t) {
            self.timers.start(Timer::Response, at);
        }
    }

    /// Client: the `Response` wake-up. The streams whose deadline passed and that still wait
    /// for what it counts are reset (RST_STREAM CANCEL) and fail with a timeout, the
    /// connection and its other streams going on; a deadline left over from a wait that ended
    /// otherwise is brought up to date; the wake-up is armed again at the earliest deadline
    /// left. One walk over the streams (at most the concurrent ones and those queued for a
    /// slot), once per deadline rather than at every frame.
    fn expire_responses(&mut self, now: Instant) {
        self.timers.stop(Timer::Response);
        let due: Vec<(u32, ResponseWait)> = self
            .streams
            .iter()
            .filter_map(|(&id, s)| match s.response {
                ResponseClock::Due(w, at) if at <= now => Some((id, w)),
                _ => None,
            })
            .collect();
        for (id, w) in due {
            if self.response_wait(id) != Some(w) {
                self.sync_response_clock(id, Some(now), false);
                continue;
            }
            let limit = self.response_limit(w);
            let e = match w {
                ResponseWait::FirstByte => Error::no_response(limit),
                ResponseWait::Read => Error::response_stalled(limit),
            };
            if let Some(s) = self.streams.get_mut(&id) {
                s.response = ResponseClock::Off;
            }
            self.reset_now(id, ErrorCode::Cancel, e);
        }
        let next = self
            .streams
            .values()
            .filter_map(|s| match s.response {
                ResponseClock::Due(_, at) => Some(at),
                _ => None,
            })
            .min();
        if let Some(at) = next {
            self.arm_response(at);
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
