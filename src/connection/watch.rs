//! The watcher: one callback per connection, told whenever what the caller's loop must know
//! about it changes (its fd, its events, its deadline), by whatever call changed it: a step of
//! this connection, or any call on it or its streams made while the loop handles another one
//! (a proxy writing to its upstream while it reads the client, say). A loop that files what it
//! is told (fd into its poller, "now" onto a ready list, a later time into its timer heap)
//! never scans all its connections, and edge-triggered registration once per fd is enough.
//!
//! The report runs at the end of every public call, where the no-lost-wake-up check runs
//! (`probe.rs`), and only when the triple differs from the last one reported. An fd the
//! connection gives up (the resolver's pipe, a failed address's socket, the socket of a
//! connection that closed) stays open until the watcher has been told, so that the loop can
//! remove it from its poller (`EPOLL_CTL_DEL`, `uv_poll_stop`, `ev_io_stop`) while the number
//! still names it; it is closed right after.

use super::{Connection, Phase, Retired, Watch, Watcher, Watching};
use crate::transport::Socket;
use std::time::Instant;

// SAFETY: `conn` is only an address here; reading through it takes unsafe code bound by
// `connection_ptr`'s contract (during the watcher's call, on the thread that made the call).
unsafe impl Send for Watch {}
// SAFETY: as for Send: `&Watch` gives the address, never access through it.
unsafe impl Sync for Watch {}

impl Watch {
    /// Whether the fd changed since the last call (`old_fd` is to be dropped, `fd` added).
    pub fn fd_changed(&self) -> bool {
        self.fd != self.old_fd
    }

    /// Whether a step is due at `now` (the deadline has passed).
    pub fn is_due(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }

    /// The connection the watch is about, for a binding whose callback is given the
    /// connection (the C ABI's, given a `pollhttp_conn*`): derived from the borrow of the call
    /// that runs the watcher, valid during the watcher's call only. The calls that would
    /// re-enter the connection (`step`, `try_flush`, `flush`, `connect` and every blocking
    /// call) fail with `InvalidState` meanwhile; a change made by another call (a stream
    /// write) is reported by a second call of the watcher when it returns.
    pub fn connection_ptr(&self) -> *mut Connection {
        self.conn
    }
}

impl Connection {
    /// Sets the watcher, called whenever this connection's [`pollfd`](Self::pollfd),
    /// [`events`](Self::events) or [`timeout`](Self::timeout) changes, with the new values
    /// (a [`Watch`]); returns the previous one. `None` removes it.
    ///
    /// It is called at the end of the public call that made the change, whichever it was:
    /// `step()`, or a call on this connection or one of its streams made while the program
    /// handles another connection (a write that leaves output to send makes a step due now;
    /// a read that lifts backpressure does too). It is called only when something changed
    /// since its last call, and once at once from `set_watcher` with the current state
    /// (`old_fd` -1), so that a loop can do all its registering in the watcher. A loop built
    /// on it keeps a ready list (connections told a deadline already past) and a timer heap,
    /// and never scans all its connections; see `docs/embedding.md`, "Told by a watcher".
    ///
    /// The watcher runs on the thread that made the call and must not call back into the
    /// connection (in Rust it is not given it; through the C ABI, the calls that would re-enter
    /// it fail while it runs). It may record what it is told, register fds and queue work.
    /// [`close`](Self::close) tells it the end (fd -1, no deadline) before the fd is closed;
    /// dropping a connection tells it nothing.
    ///
    /// Without a watcher this costs one test of an `Option` per call.
    pub fn set_watcher(&mut self, watcher: Option<Watcher>) -> Option<Watcher> {
        let Some(f) = watcher else {
            let w = self.watch.as_deref_mut()?;
            if w.running {
                w.replaced = true;
                return w.f.take();
            }
            return self.watch.take().and_then(|w| w.f);
        };
        let w = self.watch.get_or_insert_with(|| {
            Box::new(Watching {
                f: None,
                last: None,
                running: false,
                replaced: false,
                touched: false,
                muted: false,
                retired: Vec::new(),
            })
        });
        // A new watcher knows nothing yet: it is told everything, with `old_fd` -1.
        w.last = None;
        w.replaced |= w.running;
        let old = w.f.replace(f);
        self.report_watch();
        old
    }

    /// Tells the watcher what changed since its last call (nothing without a change, and
    /// nothing while the idle handler runs: the step that runs it reports when it ends).
    #[cold]
    #[inline(never)]
    pub(super) fn report_watch(&mut self) {
        if self.idle.running {
            return;
        }
        match self.watch.as_deref_mut() {
            None => return,
            Some(w) if w.running => {
                // A call the watcher made on this connection: looked at once it returns.
                w.touched = true;
                return;
            }
            Some(w) if w.muted => return,
            Some(_) => {}
        }
        loop {
            let now = (self.pollfd(), self.events(), self.timeout());
            let Some(w) = self.watch.as_deref_mut() else {
                return;
            };
            if w.last == Some(now) {
                break;
            }
            let old_fd = w.last.map_or(-1, |l| l.0);
            w.last = Some(now);
            let Some(mut f) = w.f.take() else {
                break;
            };
            w.running = true;
            w.replaced = false;
            w.touched = false;
            // Derived from this call's borrow, and nothing else touches the connection until
            // the watcher returns (the pointer is what a binding hands on; see Watch).
            let conn: *mut Connection = self;
            f(&Watch {
                fd: now.0,
                old_fd,
                events: now.1,
                deadline: now.2,
                conn,
            });
            let Some(w) = self.watch.as_deref_mut() else {
                return;
            };
            w.running = false;
            if !w.replaced {
                w.f = Some(f);
            }
            // A call the watcher made (a C caller's stream write) may have changed the state:
            // look again. Without one, what it was told still holds.
            if !w.touched {
                break;
            }
        }
        let Some(w) = self.watch.as_deref_mut() else {
            return;
        };
        // The fds given up are told: close them now.
        w.retired.clear();
        if w.f.is_none() {
            self.watch = None;
        }
    }

    /// Moves to `next`; the fd the old phase held (the resolver's pipe, a connecting
    /// socket) stays open until the watcher is told, if one is set.
    #[inline]
    pub(super) fn set_phase(&mut self, next: Phase) {
        let old = std::mem::replace(&mut self.phase, next);
        if self.watch.is_some() {
            self.retire(Retired::Phase(old));
        }
    }

    /// Lets go of the connection's socket; with a watcher, it stays open until the watcher
    /// is told.
    #[inline]
    pub(super) fn retire_socket(&mut self, sock: Socket) {
        if self.watch.is_some() {
            self.retire(Retired::Socket(sock));
        }
    }

    /// Keeps an fd's owner until the watcher is told (out of line: only with a watcher).
    #[cold]
    #[inline(never)]
    fn retire(&mut self, r: Retired) {
        let holds_fd = match &r {
            Retired::Phase(p) => matches!(p, Phase::Resolving(_) | Phase::Connecting { .. }),
            Retired::Socket(_) => true,
        };
        if let (true, Some(w)) = (holds_fd, self.watch.as_deref_mut()) {
            w.retired.push(r);
        }
    }

    /// Whether the watcher is running (its calls that would re-enter are refused).
    pub(super) fn watcher_running(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.running)
    }

    /// `close()` begins: nothing is told until [`watch_end`](Self::watch_end) (the fds given
    /// up meanwhile stay open until then).
    pub(super) fn mute_watcher(&mut self) {
        if let Some(w) = self.watch.as_deref_mut() {
            w.muted = true;
        }
    }

    /// `close()` ends: the watcher is told the end (fd -1, no deadline) while the fd is still
    /// open, and then dropped.
    pub(super) fn watch_end(&mut self) {
        if let Some(w) = self.watch.as_deref_mut() {
            w.muted = false;
            self.reported = true;
            self.report_watch();
            self.watch = None;
        }
    }
}

#[cfg(test)]
mod tests;
