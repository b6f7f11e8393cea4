//! What the HTTP/1 core reuses from one message to the next: a head kept to be taken again when
//! the same bytes come back, and the rule that decides when to keep one. Their owners are the
//! connections' cores. See `Config::reuse_heads` for what is kept and what never is.

use super::head::Head;
use crate::headers::{same_bytes, Headers};

/// A head and the bytes it was parsed from, up to and including the empty line that ends it.
/// What a head parses to is a function of those bytes and of what its keeper compares besides
/// (the configuration, the request's method).
#[derive(Debug)]
pub(crate) struct KeptHead {
    bytes: Vec<u8>,
    head: Head,
}

impl KeptHead {
    /// Keeps `head`, parsed from `bytes`.
    pub(crate) fn new(bytes: &[u8], head: &Head) -> KeptHead {
        KeptHead {
            bytes: bytes.to_vec(),
            head: head.clone(),
        }
    }

    /// Keeps `head` instead, in the storage of the one kept.
    pub(crate) fn replace(&mut self, bytes: &[u8], head: &Head) {
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
        let storage = std::mem::take(&mut self.head.headers);
        self.head = head.copy_into(storage);
    }

    /// The bytes the kept head was parsed from.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// When `buf` starts with the kept head's bytes: a copy of the head, its fields in
    /// `storage` (a head given back, or an empty one), and the length of those bytes.
    pub(crate) fn take_if_same(
        &self,
        buf: &[u8],
        storage: impl FnOnce() -> Headers,
    ) -> Option<(Head, usize)> {
        let n = self.bytes.len();
        let same = buf.get(..n).is_some_and(|b| same_bytes(b, &self.bytes));
        same.then(|| (self.head.copy_into(storage()), n))
    }
}

/// When to keep a new head: counts the heads in a row that were not the kept one, keeps the
/// first `first` of them, and then only one in `every`, so heads that never repeat do not pay
/// for a copy each.
#[derive(Debug, Default)]
pub(crate) struct KeepRule {
    misses: u32,
}

impl KeepRule {
    /// A rule that has counted `misses` already.
    #[cfg(test)]
    pub(crate) fn after_misses(misses: u32) -> KeepRule {
        KeepRule { misses }
    }

    /// The kept head came again.
    pub(crate) fn hit(&mut self) {
        self.misses = 0;
    }

    /// A head that was not the kept one: whether to keep it. The count wraps, so keeping goes
    /// on however long the run.
    pub(crate) fn keep_after_miss(&mut self, first: u32, every: u32) -> bool {
        self.misses = self.misses.wrapping_add(1);
        self.misses <= first || self.misses % every == 0
    }
}
