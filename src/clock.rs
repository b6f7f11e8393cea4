//! The connection's clock, as the cores see it: the time is read by the face and handed in.

use std::time::Instant;

/// The time, read from the clock at most once and only when asked: the write paths after an
/// application's call need it only when a connection turns idle or starts lingering.
pub(crate) struct LazyNow(Option<Instant>);

impl LazyNow {
    /// A time already read.
    pub(crate) fn at(now: Instant) -> LazyNow {
        LazyNow(Some(now))
    }

    /// No time read yet.
    pub(crate) fn unread() -> LazyNow {
        LazyNow(None)
    }

    /// The time, reading the clock the first time.
    pub(crate) fn get(&mut self) -> Instant {
        *self.0.get_or_insert_with(Instant::now)
    }
}
