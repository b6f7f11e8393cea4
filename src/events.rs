//! What a protocol core has to tell the application, kept the same way by both cores: the
//! streams the peer opened and not yet taken (`incoming`), and the streams with news (a head,
//! body bytes, trailers, the end, a reset, room to write) in the order they got it (`ready`),
//! with a count of every stream ever put there, by which the face tells that news came from
//! an application's call between two steps. Each core keeps, per stream, whether it is on the
//! ready list already (a stream is listed once until taken).

use std::collections::VecDeque;

/// A core's event lists; see the module.
#[derive(Debug, Default)]
pub(crate) struct Events {
    incoming: VecDeque<u64>,
    ready: VecDeque<u64>,
    readied: u64,
}

impl Events {
    /// The peer opened stream `id` (a request, a pushed response).
    pub(crate) fn opened(&mut self, id: u64) {
        self.incoming.push_back(id);
    }

    /// The next stream the peer opened, not yet taken.
    #[inline]
    pub(crate) fn pop_incoming(&mut self) -> Option<u64> {
        self.incoming.pop_front()
    }

    /// The streams opened and not yet taken, oldest first.
    #[cfg(test)]
    pub(crate) fn incoming(&self) -> &VecDeque<u64> {
        &self.incoming
    }

    /// Whether stream `id` was opened and not yet taken.
    pub(crate) fn is_incoming(&self, id: u64) -> bool {
        self.incoming.contains(&id)
    }

    /// Stream `id` is gone before it was taken.
    pub(crate) fn forget_incoming(&mut self, id: u64) {
        self.incoming.retain(|&x| x != id);
    }

    /// Stream `id` has news (the caller checked that it is not listed already).
    #[inline]
    pub(crate) fn ready(&mut self, id: u64) {
        self.ready.push_back(id);
        self.readied = self.readied.wrapping_add(1);
    }

    /// The next stream listed as having news (it may be gone since: the core checks).
    #[inline]
    pub(crate) fn pop_ready(&mut self) -> Option<u64> {
        self.ready.pop_front()
    }

    /// The streams listed as having news, oldest first.
    #[cfg(test)]
    pub(crate) fn ready_list(&self) -> &VecDeque<u64> {
        &self.ready
    }

    /// Streams put on the ready list so far (wrapping).
    #[inline]
    pub(crate) fn readied(&self) -> u64 {
        self.readied
    }
}
