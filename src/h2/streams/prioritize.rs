//! The send scheduler: body bytes wait in their stream until both windows have room and move
//! to `out` one frame per stream in turn (round robin) while `out` is below its high-water
//! mark; a client's streams wait here for a concurrency slot.

use crate::h2::core::H2Core;
use crate::h2::head::HeadKind;
use crate::h2::state::H2State;
use crate::Role;
use h2_codec_lite::{encode_data, encode_data_header};

/// What one turn of the send scheduler did for a stream.
pub(in crate::h2) enum Progress {
    /// Sent a frame; more is waiting.
    More,
    /// Nothing more to send.
    Done,
    /// Waiting for flow-control credit.
    Blocked,
    /// Waiting for the stream to open (a client's concurrency slot).
    Waiting,
}

impl H2Core {
    /// Moves DATA (and the trailers and ends behind it) from the streams into `out`, one
    /// frame per stream in turn, while flow control allows and `out` is below its high-water
    /// mark. The face calls it after draining `out`.
    pub(crate) fn fill_out(&mut self) {
        let mut blocked = 0;
        let mut credit_wanted = false;
        let mut progressed = false;
        while self.out.len() < self.cfg.out_high_water && blocked < self.send_queue.len() {
            let Some(id) = self.send_queue.pop_front() else {
                break;
            };
            match self.send_one(id) {
                Progress::More => {
                    self.send_queue.push_back(id);
                    blocked = 0;
                    progressed = true;
                }
                Progress::Done => {
                    if let Some(s) = self.streams.get_mut(&id) {
                        s.in_send_queue = false;
                    }
                    blocked = 0;
                    progressed = true;
                    self.after_change(id);
                }
                Progress::Blocked => {
                    self.send_queue.push_back(id);
                    blocked += 1;
                    credit_wanted = true;
                }
                Progress::Waiting => {
                    self.send_queue.push_back(id);
                    blocked += 1;
                }
            }
        }
        self.note_send_turn(credit_wanted, progressed);
    }

    pub(in crate::h2) fn enqueue(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.in_send_queue && s.has_output() {
                s.in_send_queue = true;
                self.send_queue.push_back(id);
            }
        }
    }

    pub(in crate::h2) fn send_one(&mut self, id: u32) -> Progress {
        let conn_room = self.conn_send.available();
        let max_frame = self.peer.max_frame as usize;
        let Some(s) = self.streams.get_mut(&id) else {
            return Progress::Done;
        };
        if !s.state.can_send() {
            if s.state == H2State::Idle {
                return Progress::Waiting;
            }
            s.drop_output();
            return Progress::Done;
        }
        let left = s.unsent();
        if left > 0 {
            let n = left
                .min(max_frame)
                .min(s.send_window.available())
                .min(conn_room);
            if n == 0 {
                return Progress::Blocked;
            }
            let end = s.pending_end && n == left && s.pending_trailers.is_none();
            encode_data_header(id, n, end, &mut self.out);
            self.out
                .extend_from_slice(&s.pending[s.pending_pos..s.pending_pos + n]);
            s.pending_pos += n;
            if s.pending_pos == s.pending.len() {
                s.pending.clear();
                s.pending_pos = 0;
            }
            s.send_window.take(n as u32);
            self.conn_send.take(n as u32);
            if s.blocked_writer && s.unsent() < self.cfg.send_buffer {
                s.blocked_writer = false;
                self.mark_ready(id);
            }
            if end {
                self.on_end_sent(id);
                return Progress::Done;
            }
            let more = self.streams.get(&id).is_some_and(|s| s.has_output());
            return if more { Progress::More } else { Progress::Done };
        }
        if let Some(t) = s.pending_trailers.take() {
            self.send_head_now(id, &t, true, HeadKind::Trailers);
            return Progress::Done;
        }
        if s.pending_end {
            encode_data(id, &[], true, &mut self.out);
            self.on_end_sent(id);
        }
        Progress::Done
    }

    /// Client: whether a stream may open now (see [`H2Core::try_open_queued`]).
    pub(in crate::h2) fn may_open(&self) -> bool {
        self.role == Role::Client
            && !self.done
            && self.goaway_recv.is_none()
            && self.below_stream_limit()
    }

    /// Whether fewer of our streams are active than the peer allows. Every active stream is in
    /// the map, so a map smaller than the limit needs no count (the walk is the cost).
    pub(in crate::h2) fn below_stream_limit(&self) -> bool {
        let max = self.peer.max_streams as usize;
        self.streams.len() < max || self.active_streams(true) < max
    }

    /// Client: opens queued streams, in id order, while the peer's limit allows.
    pub(in crate::h2) fn try_open_queued(&mut self) {
        if self.role != Role::Client || self.done || self.goaway_recv.is_some() {
            return;
        }
        while let Some(&id) = self.pending_open.front() {
            if !self.below_stream_limit() {
                break;
            }
            let Some(s) = self.streams.get_mut(&id) else {
                self.pending_open.pop_front();
                continue;
            };
            let Some((h, end)) = s.queued_head.take() else {
                // Ids go out in order: a later stream waits for this one's head.
                break;
            };
            self.pending_open.pop_front();
            let end_now = end && !s.has_output();
            self.send_head_now(id, &h, end_now, HeadKind::Request);
            self.enqueue(id);
        }
    }
}
