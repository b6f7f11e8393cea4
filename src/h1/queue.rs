//! The stream queue of an HTTP/1 connection, as methods of [`H1Core`]: streams kept in
//! request order and found by id, the ready list the face hands to the application, the
//! writers waiting for the send buffer to drain, and the reaping of streams that have nothing
//! left to give or take (what a caller may still ask of them kept in a short record). The
//! stream record and the limits are in `streams`.

use super::core::H1Core;
use super::streams::{Finished, CLIENT_STREAM_ROOM, FINISHED_KEPT, SPARE_BODY_BYTES};
use crate::Role;
use std::collections::VecDeque;

impl H1Core {
    /// Inlined: a client request looks its stream up several times, and the usual case is a
    /// few loads and one compare.
    #[inline]
    pub(super) fn find(&self, id: u64) -> Option<usize> {
        // Streams are pushed at the back with increasing ids and removed from anywhere, so the
        // queue is sorted by id, and while none was removed out of order the id is its own
        // index. A walk over the records (a few hundred bytes each) cost more per lookup than
        // the rest of a pipelined request's bookkeeping.
        let first = self.streams.front()?.id;
        let guess = usize::try_from(id.checked_sub(first)?).ok()?;
        if self.streams.get(guess).is_some_and(|s| s.id == id) {
            return Some(guess);
        }
        self.find_after_removals(id)
    }

    /// [`find`](Self::find) once streams were removed out of order.
    #[cold]
    #[inline(never)]
    pub(super) fn find_after_removals(&self, id: u64) -> Option<usize> {
        self.streams.binary_search_by_key(&id, |s| s.id).ok()
    }

    pub(super) fn mark_ready(&mut self, i: usize) {
        let s = &mut self.streams[i];
        if !s.queued && !s.abandoned && !s.synthetic {
            s.queued = true;
            self.events.ready(s.id);
        }
    }

    /// Stream `id` was refused a write because the send buffer is full.
    pub(crate) fn note_blocked_writer(&mut self, id: u64) {
        if !self.blocked_writers.contains(&id) {
            self.blocked_writers.push(id);
        }
    }

    /// The send buffer drained: the streams refused a write may write again.
    pub(crate) fn wake_writers(&mut self) {
        for id in std::mem::take(&mut self.blocked_writers) {
            if let Some(i) = self.find(id) {
                self.mark_ready(i);
            }
        }
    }

    pub(crate) fn has_blocked_writers(&self) -> bool {
        !self.blocked_writers.is_empty()
    }

    /// Pops the next stream with news, clearing its flag.
    pub(crate) fn next_ready(&mut self) -> Option<u64> {
        while let Some(id) = self.events.pop_ready() {
            if let Some(i) = self.find(id) {
                self.streams[i].queued = false;
                return Some(id);
            }
            if self.finished.iter().any(|f| f.id == id) {
                // Gone already, but with something left to tell (its error, its trailers).
                return Some(id);
            }
        }
        None
    }

    /// Removes a stream that has nothing left to give or take. A server's stream goes once its
    /// answer is out and its request is over (the application answered; it needs the request
    /// no more); a client's once the application has seen the end of the response. What a
    /// caller may still ask of a removed stream (trailers, how its body ended) is kept in a
    /// short record.
    pub(super) fn reap(&mut self, id: u64) {
        if let Some(i) = self.find(id) {
            self.reap_at(i);
        }
    }

    /// [`reap`](Self::reap) for the stream at index `i` of the queue. Inlined: most calls
    /// find the stream still in use, and the test is a few loads.
    #[inline]
    pub(super) fn reap_at(&mut self, i: usize) {
        let s = &self.streams[i];
        if !s.send_end || s.in_send_order || s.error_answer.is_some() {
            return;
        }
        let over = match self.role {
            Role::Server => s.abandoned || s.recv.end || s.recv.error.is_some(),
            // A client stream given up while its response is still to come stays until that
            // response has been read off the wire (and dropped): HTTP/1 answers in order, and
            // the next response is not this one's.
            Role::Client => (s.abandoned && !s.awaiting) || s.recv.seen_end,
        };
        if over {
            self.remove_at(i);
        }
    }

    /// Removes the stream at index `i`, which [`reap_at`](Self::reap_at) found over.
    #[inline(never)]
    pub(super) fn remove_at(&mut self, i: usize) {
        let s = &mut self.streams[i];
        let id = s.id;
        let error = if s.recv.seen_end {
            None
        } else {
            s.recv.error.take()
        };
        if s.recv.trailers.is_some() || s.recv.close_delimited || error.is_some() {
            let rec = Finished {
                id,
                trailers: s.recv.trailers.take(),
                close_delimited: s.recv.close_delimited,
                error,
            };
            if self.finished.len() >= FINISHED_KEPT {
                self.finished.pop_front();
            }
            self.finished.push_back(rec);
        }
        if let Some(r) = self.reuse.as_deref_mut() {
            // A client's body storage goes to a later response (see `spare_bodies`).
            if r.spare_bodies.len() < CLIENT_STREAM_ROOM
                && (1..=SPARE_BODY_BYTES).contains(&s.recv.body_capacity())
            {
                r.spare_bodies.push(s.recv.take_body_room());
            }
        }
        // Dropped where it lies: `remove` would copy the record out first.
        let len = self.streams.len();
        if len == 1 {
            self.streams.clear();
        } else if i == 0 {
            // The oldest (the usual case: answers are reaped in order).
            drop(self.streams.pop_front());
        } else {
            self.streams.drain(i..=i);
        }
        if self.streams.is_empty() && self.streams.capacity() > 0 && !self.keeps_stream_room() {
            // A pipelined batch grew the queue past what an idle connection keeps.
            self.streams = VecDeque::new();
        }
    }

    /// An idle connection keeps the room its queue has, within bounds: a client the room of a
    /// pipelined batch (up to `CLIENT_STREAM_ROOM` streams), since it refills the pipeline at
    /// once and would otherwise grow the queue again from one slot in every round; a server
    /// the room of one stream record (about 400 bytes), for its next request, since a server
    /// holds many idle keep-alive connections. The room is the connection's own and goes
    /// with it.
    pub(super) fn keeps_stream_room(&self) -> bool {
        let most = match self.role {
            Role::Client => CLIENT_STREAM_ROOM,
            Role::Server => 1,
        };
        self.streams.capacity() <= most
    }

    /// Makes room for one more stream; the first gets exactly one slot.
    pub(super) fn room_for_stream(&mut self) {
        if self.streams.capacity() == 0 {
            self.streams = VecDeque::with_capacity(1);
        }
    }
}
