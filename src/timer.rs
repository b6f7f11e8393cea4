//! The timer table both protocol cores keep: every deadline of a connection is one kind of
//! timer, and [`Timers`] holds, per kind, when its clock started (armed) or nothing (cleared).
//! Like quinn-proto's timer table, but a clock start rather than a deadline is kept: the
//! durations come from the configuration, and some kinds count only in some states, which
//! each core's `due` rule says (one place per kind), next to its `fire` action (one place per
//! kind). Time is always passed in; nothing here reads the clock.

use std::marker::PhantomData;
use std::time::Instant;

/// A core's kinds of timer: a small enum, each variant an index into the table.
pub(crate) trait TimerKind: Copy + 'static {
    /// Every kind, in the order the core fires them when several passed.
    const ALL: &'static [Self];

    /// The kind's slot in the table (below the table's `N`).
    fn index(self) -> usize;
}

/// The timer table: per kind (`N` of them), when its clock started, or `None`.
#[derive(Debug)]
pub(crate) struct Timers<K, const N: usize> {
    since: [Option<Instant>; N],
    kind: PhantomData<K>,
}

impl<K: TimerKind, const N: usize> Timers<K, N> {
    /// Every clock cleared.
    pub(crate) fn new() -> Timers<K, N> {
        debug_assert!(K::ALL.len() == N && K::ALL.iter().all(|k| k.index() < N));
        Timers {
            since: [None; N],
            kind: PhantomData,
        }
    }

    /// Arms `kind` (again) from `now`.
    pub(crate) fn start(&mut self, kind: K, now: Instant) {
        self.since[kind.index()] = Some(now);
    }

    /// Arms `kind` from `now` unless it runs already.
    pub(crate) fn start_unless_armed(&mut self, kind: K, now: Instant) {
        self.since[kind.index()].get_or_insert(now);
    }

    /// Clears `kind`.
    pub(crate) fn stop(&mut self, kind: K) {
        self.since[kind.index()] = None;
    }

    /// Clears `kind`, returning when it had started.
    pub(crate) fn take(&mut self, kind: K) -> Option<Instant> {
        self.since[kind.index()].take()
    }

    /// When `kind` started, if it is armed.
    pub(crate) fn since(&self, kind: K) -> Option<Instant> {
        self.since[kind.index()]
    }

    pub(crate) fn is_armed(&self, kind: K) -> bool {
        self.since[kind.index()].is_some()
    }
}

#[cfg(test)]
mod tests;
