//! The streams of an HTTP/1 connection: the [`H1Stream`] record, the queue that keeps them in
//! request order (found by id, reaped once they have nothing left to give or take, their
//! rooms given to the thread's pool when a server goes idle), what is kept of removed ones,
//! and the ready list the face hands to the application.

use super::core::H1Core;
use super::encode::{RequestInfo, Sending};
use super::reuse::{pool_give, pool_take};
use crate::error::Error;
use crate::headers::Headers;
use crate::recv::RecvSide;
use crate::Role;
use std::collections::VecDeque;

#[derive(Debug)]
pub(crate) struct H1Stream {
    pub id: u64,
    pub recv: RecvSide,
    /// The request (server) or the request we sent (client).
    pub(super) info: RequestInfo,
    /// The final head was sent; how its body is delimited.
    pub(super) sending: Option<Sending>,
    pub(super) send_left: u64,
    pub send_end: bool,
    /// Bytes written while another stream's message was still going out.
    pub(super) pending: Vec<u8>,
    /// Server: an error response owed in place of the application's answer.
    pub(super) error_answer: Option<Error>,
    /// Server: 100 Continue was asked for and not yet answered.
    pub(super) expect_continue: bool,
    /// The application gave up on the stream (reset); its input is discarded.
    pub(super) abandoned: bool,
    /// Client: the request head went out and a response is expected.
    pub(super) awaiting: bool,
    /// In the ready list already.
    pub(super) queued: bool,
    /// In `send_order`: its message (or the right to write it) is still to go out.
    pub(super) in_send_order: bool,
    /// Made by the connection to carry an error answer; the application never sees it.
    pub(super) synthetic: bool,
    /// The minor HTTP version of the peer's last head.
    pub(super) peer_minor: u8,
}

impl H1Stream {
    pub(super) fn new(id: u64, info: RequestInfo) -> H1Stream {
        H1Stream {
            id,
            recv: RecvSide::default(),
            info,
            sending: None,
            send_left: 0,
            send_end: false,
            pending: Vec::new(),
            error_answer: None,
            expect_continue: false,
            abandoned: false,
            awaiting: false,
            queued: false,
            in_send_order: false,
            synthetic: false,
            peer_minor: info.minor,
        }
    }
}

/// What is kept of a removed stream: what a caller may still ask after the end.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) id: u64,
    pub(super) trailers: Option<Headers>,
    pub(super) close_delimited: bool,
    /// The error that ended it, if the application has not seen it yet.
    pub(super) error: Option<Error>,
}

/// The most storage of a response body kept for reuse (`ClientReuse::spare_bodies`).
pub(super) const SPARE_BODY_BYTES: usize = 4096;

/// The most streams of room an idle client connection keeps (see `H1Core::keeps_stream_room`).
pub(super) const CLIENT_STREAM_ROOM: usize = 32;

/// Removed streams remembered for late questions.
pub(super) const FINISHED_KEPT: usize = 8;

/// The most stream rooms a thread's pool holds (one record each, about 400 bytes).
pub(super) const POOLED_STREAM_ROOMS: usize = 64;

thread_local! {
    /// Rooms for one stream record, given back by server connections that went idle: the next
    /// request on any of the thread's connections takes one instead of allocating. (The
    /// allocator's own per-thread cache holds too few blocks of this size for a server whose
    /// connections take turns.)
    pub(super) static STREAM_ROOMS: std::cell::RefCell<Vec<VecDeque<H1Stream>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty queue with room for one stream record.
pub(super) fn take_stream_room() -> VecDeque<H1Stream> {
    pool_take(&STREAM_ROOMS).unwrap_or_else(|| VecDeque::with_capacity(1))
}

/// Gives an empty queue's room to the thread's pool (dropped when the pool is full).
pub(super) fn give_stream_room(room: VecDeque<H1Stream>) {
    debug_assert!(room.is_empty());
    if room.capacity() == 1 {
        pool_give(&STREAM_ROOMS, room, POOLED_STREAM_ROOMS);
    }
}

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
            self.ready.push_back(s.id);
            self.readied = self.readied.wrapping_add(1);
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
        while let Some(id) = self.ready.pop_front() {
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
        if self.streams.len() == 1 {
            self.streams.clear();
        } else {
            self.streams.drain(i..=i);
        }
        if self.streams.is_empty() && self.streams.capacity() > 0 && !self.keeps_stream_room() {
            // An idle server connection keeps no stream room: a server holds many idle
            // keep-alive connections, and one stream record is about 400 bytes. The room goes
            // to the thread's pool, where the next request on any connection finds it.
            give_stream_room(std::mem::take(&mut self.streams));
        }
    }

    /// A client keeps the room of a pipelined batch (up to `CLIENT_STREAM_ROOM` streams) when
    /// the batch is over: it refills the pipeline at once, and would otherwise grow the queue
    /// again from one slot in every round. Clients hold few connections; a server holds many
    /// idle ones, which keep room for one stream only.
    pub(super) fn keeps_stream_room(&self) -> bool {
        self.role == Role::Client && self.streams.capacity() <= CLIENT_STREAM_ROOM
    }

    /// Makes room for one more stream; the first gets exactly one slot, from the thread's
    /// pool of rooms when it has one.
    pub(super) fn room_for_stream(&mut self) {
        if self.streams.capacity() == 0 {
            self.streams = take_stream_room();
        }
    }
}
