//! The no-lost-wake-up check (cargo feature `wakeup-check`, for tests; never in a default
//! build).
//!
//! The rule it enforces: after any call on a connection (a step, or an application's read or
//! write on a stream), if a step would make progress now, then either
//! [`Connection::wants_step_now`]/[`Connection::timeout`] say "now", or the progress waits on
//! readiness that the fd will signal, edge-triggered. Whenever a call leaves the caller told to
//! wait, the check performs a probe step at once. The probe does not read a socket that the
//! last read left empty (new bytes there are announced by readiness) nor write to one that
//! refused the last write (its room is announced too); anything else it gets done (held
//! bytes fed to the core, decrypted bytes read, output written, a handler owed, the
//! connection closed, a deadline armed) was work the caller would never have been woken
//! for, and the check panics, naming the call after which it happened.

use super::Connection;
#[cfg(feature = "wakeup-check")]
use super::Phase;
#[cfg(feature = "wakeup-check")]
use std::time::Instant;

impl Connection {
    /// The end of a public call that changed nothing the caller's loop watches: one that said
    /// "not yet" (it took, wrote and queued nothing), or a queue found empty. The
    /// no-lost-wake-up check still runs (feature `wakeup-check`): a "not yet" must leave the
    /// caller woken when it can go on. The watcher is not told: what it was told at the end
    /// of the last call still holds, and the report (the fd, events and deadline worked out
    /// again) is the larger part of a cheap call's cost.
    #[inline(always)]
    pub(crate) fn unchanged_then<T>(&mut self, after: &str, r: T) -> T {
        // Inside the idle handler the step that called it is still running: it is checked
        // when it returns.
        #[cfg(feature = "wakeup-check")]
        if !self.idle.running {
            check(self, after);
        }
        #[cfg(not(feature = "wakeup-check"))]
        let _ = after;
        r
    }

    /// The end of a public call: the no-lost-wake-up check (feature `wakeup-check`; nothing
    /// otherwise), then the watcher is told what changed, if one is set.
    #[inline(always)]
    pub(super) fn check_wakeups(&mut self, after: &str) {
        self.check_wakeups_then(after, ())
    }

    /// [`check_wakeups`](Self::check_wakeups) for a call that returns `r`: without a watcher
    /// the answer goes back at once, and the one test of an `Option` is the whole cost (the
    /// report, out of line, takes the answer with it).
    #[inline(always)]
    pub(super) fn check_wakeups_then<T>(&mut self, after: &str, r: T) -> T {
        let r = self.unchanged_then(after, r);
        if self.watch.is_some() {
            return self.tell_watcher_then(r);
        }
        r
    }

    /// Tells the watcher what changed, if one is set (`watch.rs`): one test of an `Option`
    /// without one.
    #[inline(always)]
    pub(super) fn tell_watcher(&mut self) {
        if self.watch.is_some() {
            self.report_watch();
        }
    }

    #[cold]
    #[inline(never)]
    fn tell_watcher_then<T>(&mut self, r: T) -> T {
        self.report_watch();
        r
    }
}

/// What a step can change that counts as progress.
#[cfg(feature = "wakeup-check")]
#[derive(Debug, PartialEq, Eq)]
struct Mark {
    read: u64,
    written: u64,
    held: usize,
    phase: std::mem::Discriminant<Phase>,
    read_eof: bool,
    out: usize,
    idle_owed: bool,
    deadline: Option<Instant>,
}

#[cfg(feature = "wakeup-check")]
impl Mark {
    fn of(c: &Connection) -> Mark {
        Mark {
            read: c.progress.read,
            written: c.progress.written,
            held: c.inbuf.len(),
            phase: std::mem::discriminant(&c.phase),
            read_eof: c.read_eof,
            out: c.core.output().len().saturating_sub(c.out_pos),
            idle_owed: c.idle.owed(c.core.is_idle()),
            deadline: c.core.deadline(),
        }
    }
}

/// Panics if a step would make progress now although the caller is told to wait.
#[cfg(feature = "wakeup-check")]
fn check(c: &mut Connection, after: &str) {
    if c.progress.probing || !matches!(c.phase, Phase::Open) {
        return;
    }
    let now = Instant::now();
    if c.wants_step_now() || c.timeout().is_some_and(|t| t <= now) {
        return;
    }
    let events = c.events();
    let timeout = c.timeout().map(|t| t.saturating_duration_since(now));
    let before = Mark::of(c);
    c.progress.probing = true;
    let r = c.step_inner(now);
    c.progress.probing = false;
    let after_probe = Mark::of(c);
    if r.is_err() || before != after_probe {
        panic!(
            "pollhttp: lost wake-up after {after} ({:?} connection): the caller was told to wait \
             (events {events:?}, timeout in {timeout:?}, wants_step_now false), yet a step made \
             progress: before {before:?}, after {after_probe:?}, step result {r:?}",
            c.role
        );
    }
}
