//! The one blocking loop behind every call that takes a timeout, for anything [`Pollable`].
//!
//! It is built only on the public contract: wait on `pollfd()` for `events()` until the
//! earlier of its own deadline and `timeout()`, then `step()`, until the condition holds.

use crate::error::{Error, Result};
use crate::PollEvents;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// What a caller's loop drives: an fd to watch for some events, a deadline, and a step that
/// does the work possible now. `Connection` and `Listener` are pollable; the blocking
/// conveniences of both are [`wait_for`] over this.
pub(crate) trait Pollable {
    /// The fd to watch; -1 once closed.
    fn pollfd(&self) -> RawFd;
    /// What to wait for on it.
    fn events(&self) -> PollEvents;
    /// The earliest time a step is due even without readiness.
    fn timeout(&self) -> Option<Instant>;
    /// The work possible now, without blocking. A failure shows in the waited-for
    /// condition or as the object closed.
    fn step(&mut self) -> Result<()>;
    /// Closed: nothing will come any more.
    fn is_closed(&self) -> bool;
    /// The error a wait on a closed object ends with.
    fn closed_error(&self) -> Error;
}

/// Waits until `fd` is ready for `events` or `wait` has passed (`None`: no limit).
pub(crate) fn poll_fd(fd: RawFd, events: PollEvents, wait: Option<Duration>) {
    let ms = match wait {
        None => -1,
        Some(d) => {
            let ms = d.as_millis();
            // Round up so a deadline is never woken for just before it passes.
            let ms = if Duration::from_millis(ms as u64) < d {
                ms + 1
            } else {
                ms
            };
            ms.min(i32::MAX as u128) as i32
        }
    };
    let mut p = libc::pollfd {
        fd,
        events: events.to_poll(),
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd that outlives the call; poll does not keep it.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    if r < 0 {
        log::trace!("poll: {}", std::io::Error::last_os_error());
    }
}

/// A non-blocking call's result as a blocking loop's condition: "not yet" (an error of kind
/// `WouldBlock`) is `Ok(None)`, to wait and try again.
pub(crate) fn not_yet<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_would_block() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Steps `conn` until `cond` gives a value, fails, or `timeout` passes.
pub(crate) fn wait_for<P: Pollable, T>(
    conn: &mut P,
    timeout: Option<Duration>,
    what: &str,
    mut cond: impl FnMut(&mut P) -> Result<Option<T>>,
) -> Result<T> {
    let deadline = timeout.map(|d| Instant::now() + d);
    loop {
        if let Some(v) = cond(conn)? {
            return Ok(v);
        }
        if conn.is_closed() {
            return Err(conn.closed_error());
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(Error::timed_out(what));
        }
        let wake = match (deadline, conn.timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = wake.map(|w| w.saturating_duration_since(now));
        if wait != Some(Duration::ZERO) {
            poll_fd(conn.pollfd(), conn.events(), wait);
        }
        // A failure shows in the condition (a stream's error) or as the closed connection.
        let _ = conn.step();
    }
}
