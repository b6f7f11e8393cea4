//! The server's clocks: when each connection is due a step (a heap), and when each request's
//! response is due (a queue: every request gets the same time to answer, so they fall due in
//! the order they came).
//!
//! Nothing is scanned: a step takes only what has fallen due. A connection's deadline often
//! moves later (each request pushes its idle deadline back); the heap keeps the earlier entry,
//! and when it falls due the connection is stepped and armed again with its real deadline.

use super::fifo::Fifo;
use super::slab::Key;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Connections' deadlines.
pub(crate) struct ConnClock {
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
}

impl ConnClock {
    pub(crate) fn new() -> ConnClock {
        ConnClock {
            heap: BinaryHeap::new(),
        }
    }

    /// Arms `key` for `at` unless `armed` (its earliest entry) is already no later; updates
    /// `armed`. `live` is how many connections there are, to bound the stale entries.
    #[inline]
    pub(crate) fn arm(&mut self, key: Key, armed: &mut Option<Instant>, at: Instant, live: usize) {
        if armed.is_some_and(|a| a <= at) {
            return; // the usual case: a later deadline, found when the entry falls due
        }
        self.add(key, armed, at, live);
    }

    fn add(&mut self, key: Key, armed: &mut Option<Instant>, at: Instant, live: usize) {
        *armed = Some(at);
        self.heap.push(Reverse((at, key.index, key.gen)));
        if self.heap.len() > 2 * live + 1024 {
            self.compact();
        }
    }

    /// The earliest entry (it may be stale: a step then finds nothing to do for it).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// The next entry due at `now`, taken out.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Key)> {
        let Reverse((t, index, gen)) = *self.heap.peek()?;
        if t > now {
            return None;
        }
        self.heap.pop();
        Some((t, Key { index, gen }))
    }

    /// Drops entries that are past their use: keeps only the earliest per connection. Rare:
    /// only when many connections' deadlines moved earlier again and again.
    fn compact(&mut self) {
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        entries.sort_unstable_by_key(|Reverse((t, i, g))| (*i, *g, *t));
        entries.dedup_by_key(|Reverse((_, i, g))| (*i, *g));
        self.heap = BinaryHeap::from(entries);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Requests' response deadlines, in the order they fall due.
pub(crate) struct AnswerClock {
    queue: Fifo<(Instant, Key)>,
}

impl AnswerClock {
    pub(crate) fn new() -> AnswerClock {
        AnswerClock { queue: Fifo::new() }
    }

    /// Adds a request's deadline. Every request gets the same time to answer, so it is
    /// usually the latest and goes at the back; after the time was shortened
    /// (`Server::set_response_timeout`) it is put in its place among the later ones.
    #[inline]
    pub(crate) fn push(&mut self, at: Instant, request: Key) {
        if self.queue.back().is_none_or(|(t, _)| *t <= at) {
            self.queue.push_back((at, request));
        } else {
            self.queue.insert_before((at, request), |(t, _)| *t > at);
        }
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.queue.front().map(|(t, _)| *t)
    }

    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Key> {
        match self.queue.front() {
            Some((t, _)) if *t <= now => self.queue.pop_front().map(|(_, k)| k),
            _ => None,
        }
    }

    /// Drops the entries of requests that are over, when they are most of the queue.
    pub(crate) fn retain_live(&mut self, live: impl Fn(Key) -> bool, requests: usize) {
        if self.queue.len() > 2 * requests + 1024 {
            self.queue.retain(|(_, k)| live(*k));
        }
    }
}
