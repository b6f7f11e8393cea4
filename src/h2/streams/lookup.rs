//! The stream table's questions, as an `impl H2Core` block: reading a stream's receive side
//! by id (a removed stream reads as ended, with its trailers), the peer ids a new stream
//! skipped, and the questions asked by id (local or peer, idle, active). The record and the
//! constants are in `store`, which `core` imports; `core` does not import this file.

use super::store::{stream_id, SKIPPED_RANGES_KEPT};
use crate::error::Result;
use crate::h2::core::H2Core;
use crate::recv::{closed_stream, RecvSide};
use crate::Role;

impl H2Core {
    pub(crate) fn with_recv<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        let sid = stream_id(id)?;
        let continue_owed = self
            .streams
            .get(&sid)
            .is_some_and(|s| s.expect_continue && !s.head_sent && s.state.can_send());
        if continue_owed && self.role == Role::Server {
            // Reading the body of a request that expects 100-continue answers it.
            self.write_continue(id)?;
        }
        self.with_recv_head(id, f)
    }

    /// Reads without answering 100-continue.
    pub(crate) fn with_recv_head<T>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        let sid = stream_id(id)?;
        let Some(s) = self.streams.get_mut(&sid) else {
            return self.with_finished(sid, f);
        };
        let r = f(&mut s.recv);
        let now = s.recv.buffered();
        let read = s.buffered_mark.saturating_sub(now);
        s.buffered_mark = now;
        if read > 0 {
            self.return_stream_credit(sid, read);
            self.return_conn_credit(read);
            // The application took body bytes: a response stalled from now on is the peer's.
            self.sync_response_clock(sid, None, false);
        }
        self.after_change(sid);
        Ok(r)
    }

    /// Reads stream `id`'s receive side without changing anything (no credit goes back);
    /// `None` once the stream is gone (or was never there).
    pub(crate) fn peek_recv<T>(&self, id: u64, f: impl FnOnce(&RecvSide) -> T) -> Option<T> {
        let sid = stream_id(id).ok()?;
        self.streams.get(&sid).map(|s| f(&s.recv))
    }

    /// Body bytes stream `id` takes before its send buffer is full (0: a write is refused
    /// until it drains); `None` for a stream that is not there (a write says why).
    pub(crate) fn stream_send_room(&self, id: u64) -> Option<usize> {
        let sid = stream_id(id).ok()?;
        let s = self.streams.get(&sid)?;
        Some(self.cfg.send_buffer.saturating_sub(s.unsent()))
    }

    /// Whether stream `id`'s outgoing message has ended (a removed stream's has).
    pub(crate) fn send_ended(&self, id: u64) -> bool {
        let Ok(sid) = stream_id(id) else {
            return false;
        };
        match self.streams.get(&sid) {
            Some(s) => s.end_written,
            None => {
                sid != 0
                    && match self.is_local(sid) {
                        true => sid < self.next_local_id,
                        false => sid <= self.last_peer_id,
                    }
            }
        }
    }

    /// A removed stream reads as ended, with its trailers if it had them.
    pub(in crate::h2) fn with_finished<T>(
        &mut self,
        id: u32,
        f: impl FnOnce(&mut RecvSide) -> T,
    ) -> Result<T> {
        let known = match self.is_local(id) {
            true => id < self.next_local_id,
            false => id <= self.last_peer_id,
        };
        if id == 0 || !known {
            return Err(closed_stream());
        }
        let mut r = RecvSide::default();
        r.end = true;
        r.seen_end = true;
        r.got_final_head = true;
        let i = self.finished.iter().position(|(fid, _)| *fid == id);
        if let Some(i) = i {
            r.trailers = self.finished.remove(i).map(|(_, t)| t);
        }
        let out = f(&mut r);
        if let Some(t) = r.trailers.take() {
            self.finished.push_back((id, t));
        }
        Ok(out)
    }

    /// Remembers the peer ids a new stream `id` skipped (never used, implicitly closed), so a
    /// later HEADERS on one is told from one on a stream that really ran (§5.1.1 vs §5.1).
    /// Peers almost never skip; the record is bounded and the oldest ranges are forgotten.
    pub(in crate::h2) fn note_skipped_peer_ids(&mut self, id: u32) {
        let first = if self.last_peer_id == 0 {
            if self.is_local(1) {
                2
            } else {
                1
            }
        } else {
            self.last_peer_id + 2
        };
        if id > first {
            if self.skipped_peer_ids.len() >= SKIPPED_RANGES_KEPT {
                self.skipped_peer_ids.pop_front();
            }
            self.skipped_peer_ids.push_back((first, id - 2));
        }
    }

    pub(in crate::h2) fn was_skipped(&self, id: u32) -> bool {
        self.skipped_peer_ids
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&id))
    }

    pub(in crate::h2) fn is_local(&self, id: u32) -> bool {
        (id % 2 == 1) == (self.role == Role::Client)
    }

    /// Open or half-closed streams opened by us (`local`) or by the peer: each side's
    /// SETTINGS_MAX_CONCURRENT_STREAMS bounds the streams the other opens (§5.1.2).
    pub(in crate::h2) fn active_streams(&self, local: bool) -> usize {
        self.streams
            .iter()
            .filter(|(&id, s)| self.is_local(id) == local && s.state.is_active())
            .count()
    }

    /// A stream id nobody has used yet (§5.1.1).
    pub(in crate::h2) fn is_idle_id(&self, id: u32) -> bool {
        if self.is_local(id) {
            id >= self.next_local_id
        } else {
            id > self.last_peer_id
        }
    }
}
