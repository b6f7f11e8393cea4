//! The three loops `docs/embedding.md` teaches, written as the docs write them, over one
//! [`Side`]: the application's half of a test (a server or a client with its connections).
//!
//! - [`Kind::MioEdge`]: mio, every fd registered once for both directions, edge-triggered;
//!   registered again only when `pollfd()` differs from the fd registered (a client trying its
//!   next address).
//! - [`Kind::EpollLevel`]: raw epoll, level-triggered, armed for exactly `events()`, re-armed
//!   with `EPOLL_CTL_MOD` when that changed.
//! - [`Kind::Poll`]: `poll(2)`, the array rebuilt from `pollfd()`/`events()` every turn.
//!
//! All three: after any event, `step()` and drain the queues (the side's `serve`), step again
//! while `wants_step_now()` (at most 16 times in a row), wait no longer than the earliest
//! `timeout()` of any connection or the application's own deadline, and step every
//! connection whose `timeout()` has passed. Each run is bounded in time and fails when its
//! limit passes.

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use pollhttp::{Connection, Listener};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Which loop drives a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MioEdge,
    EpollLevel,
    Poll,
}

/// The application's half of a test: its connections and what it does with them.
pub trait Side {
    /// The listener, for a server.
    fn listener(&mut self) -> Option<&mut Listener>;
    /// Takes an accepted connection; returns its slot.
    fn accepted(&mut self, conn: Connection) -> usize;
    /// The number of slots (some may be empty).
    fn slots(&self) -> usize;
    /// The connection in `slot`, if it is still open.
    fn conn(&mut self, slot: usize) -> Option<&mut Connection>;
    /// After a step of `slot`: drain its queues and do the application's work.
    fn serve(&mut self, slot: usize);
    /// The application's own next deadline (a slow reader's next read), if any.
    fn app_deadline(&self) -> Option<Instant>;
    /// The application's timed work, due now: the slots it touched.
    fn app_tick(&mut self, now: Instant) -> Vec<usize>;
    /// `slot`'s connection closed; the side drops it.
    fn remove(&mut self, slot: usize);
    /// Whether the side is done (every exchange checked, every connection closed).
    fn finished(&self) -> bool;
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Stats {
    /// Turns of the loop (each one wait).
    pub turns: u64,
    /// Steps taken.
    pub steps: u64,
}

/// The next connection waiting on `l`; `None` when none is (a failure panics).
fn accept(l: &mut Listener) -> Option<Connection> {
    match l.try_accept() {
        Ok(conn) => Some(conn),
        Err(e) if e.is_would_block() => None,
        Err(e) => panic!("accept: {e}"),
    }
}

/// Steps `slot` and serves it, again while a step is due at once (16 times at most, as the
/// docs write it). `false` if the connection closed (and was removed).
fn drive<S: Side>(side: &mut S, slot: usize, stats: &mut Stats) -> bool {
    for _ in 0..16 {
        let Some(c) = side.conn(slot) else {
            return false;
        };
        let _ = c.step(); // a failure shows as is_closed() and in the streams
        stats.steps += 1;
        side.serve(slot);
        let Some(c) = side.conn(slot) else {
            return false;
        };
        if c.is_closed() {
            side.remove(slot);
            return false;
        }
        if !c.wants_step_now() {
            break;
        }
    }
    true
}

/// The earliest of every connection's `timeout()` and the application's deadline.
fn earliest<S: Side>(side: &mut S) -> Option<Instant> {
    let mut t = side.app_deadline();
    for slot in 0..side.slots() {
        if let Some(d) = side.conn(slot).and_then(|c| c.timeout()) {
            t = Some(t.map_or(d, |e: Instant| e.min(d)));
        }
    }
    t
}

/// How long to wait: until `wake`, never past `end`, rounded up to whole milliseconds (a
/// deadline is never woken for just before it passes).
fn wait_for(wake: Option<Instant>, end: Instant, now: Instant) -> Duration {
    let w = wake.map_or(end, |w| w.min(end));
    let d = w.saturating_duration_since(now);
    let ms = d.as_millis() as u64 + u64::from(d.subsec_nanos() % 1_000_000 != 0);
    Duration::from_millis(ms)
}

/// Steps the slots whose deadline passed and the ones the application's timed work touched.
fn due<S: Side>(side: &mut S, stats: &mut Stats, mut after: impl FnMut(&mut S, usize)) {
    let now = Instant::now();
    let touched = if side.app_deadline().is_some_and(|t| t <= now) {
        side.app_tick(now)
    } else {
        Vec::new()
    };
    for slot in touched {
        // The application's calls may have made a step due (backpressure lifted).
        if side.conn(slot).is_some_and(|c| c.wants_step_now()) && drive(side, slot, stats) {
            after(side, slot);
        }
    }
    let now = Instant::now();
    for slot in 0..side.slots() {
        let is_due = side
            .conn(slot)
            .and_then(|c| c.timeout())
            .is_some_and(|t| t <= now);
        if is_due && drive(side, slot, stats) {
            after(side, slot);
        }
    }
}

/// Runs `side` with the loop `kind` until it is finished; an error if `limit` passes first.
pub fn run<S: Side>(kind: Kind, side: &mut S, limit: Duration) -> Result<Stats, String> {
    match kind {
        Kind::MioEdge => run_mio(side, limit),
        Kind::EpollLevel => run_epoll(side, limit),
        Kind::Poll => run_poll(side, limit),
    }
}

const LISTENER: usize = usize::MAX;

fn timed_out<S: Side>(kind: Kind, side: &mut S, stats: &Stats) -> String {
    let mut open = Vec::new();
    for slot in 0..side.slots() {
        if let Some(c) = side.conn(slot) {
            let mut p = libc::pollfd {
                fd: c.pollfd(),
                events: libc::POLLIN | libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, 0) };
            open.push(format!(
                "slot {slot}: fd {} ready now {:#x}, events {:?} timeout {:?} wants_step_now {} in flight {}",
                p.fd,
                p.revents,
                c.events(),
                c.timeout()
                    .map(|t| t.saturating_duration_since(Instant::now())),
                c.wants_step_now(),
                c.streams_in_flight()
            ));
        }
    }
    format!(
        "{kind:?} loop did not finish in time ({} turns, {} steps); open: {open:?}",
        stats.turns, stats.steps
    )
}

/// mio: register once for both directions, edge-triggered.
fn run_mio<S: Side>(side: &mut S, limit: Duration) -> Result<Stats, String> {
    let end = Instant::now() + limit;
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut events = Events::with_capacity(256);
    let mut stats = Stats::default();
    let mut registered: Vec<RawFd> = Vec::new();
    if let Some(l) = side.listener() {
        poll.registry()
            .register(l, Token(LISTENER), Interest::READABLE)
            .map_err(|e| e.to_string())?;
    }
    // Registers `slot`'s fd when it is not the one registered (a new connection, or a client
    // that moved on to its next address: closing the old fd took it out of the poll set).
    let sync = |side: &mut S, registered: &mut Vec<RawFd>, poll: &Poll, slot: usize| {
        if registered.len() <= slot {
            registered.resize(slot + 1, -1);
        }
        let Some(c) = side.conn(slot) else {
            registered[slot] = -1;
            return;
        };
        let fd = c.pollfd();
        if fd >= 0 && fd != registered[slot] {
            poll.registry()
                .register(
                    &mut SourceFd(&fd),
                    Token(slot),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .expect("register");
            registered[slot] = fd;
        }
    };
    for slot in 0..side.slots() {
        sync(side, &mut registered, &poll, slot);
        if drive(side, slot, &mut stats) {
            sync(side, &mut registered, &poll, slot);
        }
    }
    while !side.finished() {
        let now = Instant::now();
        if now >= end {
            return Err(timed_out(Kind::MioEdge, side, &stats));
        }
        stats.turns += 1;
        let wait = wait_for(earliest(side), end, now);
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        }
        for ev in events.iter() {
            let slot = ev.token().0;
            if slot == LISTENER {
                while let Some(conn) = side.listener().and_then(accept) {
                    let slot = side.accepted(conn);
                    sync(side, &mut registered, &poll, slot);
                    if drive(side, slot, &mut stats) {
                        sync(side, &mut registered, &poll, slot);
                    }
                }
                continue;
            }
            if ev.is_read_closed() || ev.is_error() {
                if let Some(c) = side.conn(slot) {
                    c.hint_read_closed();
                }
            }
            if drive(side, slot, &mut stats) {
                sync(side, &mut registered, &poll, slot);
            } else if slot < registered.len() {
                registered[slot] = -1;
            }
        }
        due(side, &mut stats, |side, slot| {
            sync(side, &mut registered, &poll, slot)
        });
    }
    Ok(stats)
}

fn epoll_ctl(ep: RawFd, op: i32, fd: RawFd, events: u32, slot: usize) -> std::io::Result<()> {
    let mut ev = libc::epoll_event {
        events,
        u64: slot as u64,
    };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call.
    if unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// An epoll instance, closed when dropped.
struct Epoll(RawFd);

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the fd is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

/// Raw epoll, level-triggered, armed for exactly `events()`.
fn run_epoll<S: Side>(side: &mut S, limit: Duration) -> Result<Stats, String> {
    let end = Instant::now() + limit;
    // SAFETY: plain system call.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let ep = Epoll(ep);
    let mut stats = Stats::default();
    // Per slot: the fd registered and the events it is armed for.
    let mut armed: Vec<(RawFd, u32)> = Vec::new();
    if let Some(l) = side.listener() {
        epoll_ctl(
            ep.0,
            libc::EPOLL_CTL_ADD,
            l.pollfd(),
            libc::EPOLLIN as u32,
            LISTENER,
        )
        .map_err(|e| e.to_string())?;
    }
    let arm = |side: &mut S, armed: &mut Vec<(RawFd, u32)>, slot: usize| {
        if armed.len() <= slot {
            armed.resize(slot + 1, (-1, 0));
        }
        let Some(c) = side.conn(slot) else {
            armed[slot] = (-1, 0);
            return;
        };
        let (fd, want) = (c.pollfd(), c.events().to_epoll());
        if fd < 0 {
            return;
        }
        if fd != armed[slot].0 {
            epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, fd, want, slot).expect("EPOLL_CTL_ADD");
            armed[slot] = (fd, want);
        } else if want != armed[slot].1 {
            epoll_ctl(ep.0, libc::EPOLL_CTL_MOD, fd, want, slot).expect("EPOLL_CTL_MOD");
            armed[slot].1 = want;
        }
    };
    for slot in 0..side.slots() {
        if drive(side, slot, &mut stats) {
            arm(side, &mut armed, slot);
        }
    }
    let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    while !side.finished() {
        let now = Instant::now();
        if now >= end {
            return Err(timed_out(Kind::EpollLevel, side, &stats));
        }
        stats.turns += 1;
        let ms = wait_for(earliest(side), end, now)
            .as_millis()
            .min(i32::MAX as u128) as i32;
        // SAFETY: `evs` holds room for as many events as passed.
        let n = unsafe { libc::epoll_wait(ep.0, evs.as_mut_ptr(), evs.len() as i32, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.to_string());
        }
        for ev in &evs[..n as usize] {
            let (slot, revents) = (ev.u64 as usize, ev.events);
            if slot == LISTENER {
                while let Some(conn) = side.listener().and_then(accept) {
                    let slot = side.accepted(conn);
                    if drive(side, slot, &mut stats) {
                        arm(side, &mut armed, slot);
                    }
                }
                continue;
            }
            if revents & (libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) as u32 != 0 {
                if let Some(c) = side.conn(slot) {
                    c.hint_read_closed();
                }
            }
            if drive(side, slot, &mut stats) {
                arm(side, &mut armed, slot);
                let want = armed.get(slot).map_or(0, |a| a.1);
                if want == 0 && revents & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                    // Wants nothing and hung up: finished with (the docs' rule).
                    if let Some(c) = side.conn(slot) {
                        if c.timeout().is_none() {
                            side.remove(slot);
                        }
                    }
                }
            } else if slot < armed.len() {
                armed[slot] = (-1, 0);
            }
        }
        due(side, &mut stats, |side, slot| arm(side, &mut armed, slot));
    }
    Ok(stats)
}

/// `poll(2)`: the array rebuilt every turn.
fn run_poll<S: Side>(side: &mut S, limit: Duration) -> Result<Stats, String> {
    let end = Instant::now() + limit;
    let mut stats = Stats::default();
    for slot in 0..side.slots() {
        drive(side, slot, &mut stats);
    }
    while !side.finished() {
        let now = Instant::now();
        if now >= end {
            return Err(timed_out(Kind::Poll, side, &stats));
        }
        stats.turns += 1;
        let mut fds = Vec::new();
        let mut who = Vec::new();
        if let Some(l) = side.listener() {
            fds.push(libc::pollfd {
                fd: l.pollfd(),
                events: libc::POLLIN,
                revents: 0,
            });
            who.push(LISTENER);
        }
        for slot in 0..side.slots() {
            if let Some(c) = side.conn(slot) {
                fds.push(libc::pollfd {
                    fd: c.pollfd(),
                    events: c.events().to_poll(),
                    revents: 0,
                });
                who.push(slot);
            }
        }
        let ms = wait_for(earliest(side), end, now)
            .as_millis()
            .min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid array of its length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.to_string());
        }
        for (p, &slot) in fds.iter().zip(&who) {
            if p.revents == 0 {
                continue;
            }
            if slot == LISTENER {
                while let Some(conn) = side.listener().and_then(accept) {
                    let slot = side.accepted(conn);
                    drive(side, slot, &mut stats);
                }
                continue;
            }
            if p.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                if let Some(c) = side.conn(slot) {
                    c.hint_read_closed();
                }
            }
            if drive(side, slot, &mut stats) && p.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                if let Some(c) = side.conn(slot) {
                    if c.events().is_none() && c.timeout().is_none() {
                        side.remove(slot);
                    }
                }
            }
        }
        due(side, &mut stats, |_, _| {});
    }
    Ok(stats)
}
