//! A first-in first-out queue of small copyable items, as a vector read from a cursor: a push
//! is a vector push and a pop moves the cursor, cheaper than a ring buffer's wrapped indexes
//! on the server's hottest paths (connections to step, requests to hand out, response
//! deadlines). The vector empties when it is read to the end, which each step usually does;
//! otherwise the part read goes when it is most of the vector (each item moves at most once,
//! amortised).

pub(crate) struct Fifo<T> {
    items: Vec<T>,
    /// Where reading is: `items[..head]` has been popped.
    head: usize,
}

/// The part read is dropped once it is at least this long and at least half the vector.
const COMPACT: usize = 64;

impl<T: Copy> Fifo<T> {
    pub(crate) fn new() -> Fifo<T> {
        Fifo {
            items: Vec::new(),
            head: 0,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.items.len() - self.head
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head == self.items.len()
    }

    #[inline]
    pub(crate) fn push_back(&mut self, item: T) {
        if self.head >= COMPACT && self.head * 2 >= self.items.len() {
            self.compact();
        }
        self.items.push(item);
    }

    #[inline]
    pub(crate) fn front(&self) -> Option<&T> {
        self.items.get(self.head)
    }

    #[inline]
    pub(crate) fn back(&self) -> Option<&T> {
        self.items[self.head..].last()
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = *self.items.get(self.head)?;
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        }
        Some(item)
    }

    /// Puts `item` before the first item `after` says follows it (at the back when none
    /// does): for a queue kept in order whose new item may, rarely, belong earlier.
    pub(crate) fn insert_before(&mut self, item: T, mut after: impl FnMut(&T) -> bool) {
        self.compact();
        let at = self.items.partition_point(|x| !after(x));
        self.items.insert(at, item);
    }

    /// Keeps only the items `keep` says yes to, in order.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.compact();
        self.items.retain(keep);
    }

    /// Drops the part read.
    fn compact(&mut self) {
        self.items.drain(..self.head);
        self.head = 0;
    }
}
