//! The connection's I/O: reading into the core (with the read budget, backpressure and TLS),
//! writing its output, what follows (idle, the server's linger after its last answer) and
//! closing.

use super::negotiate::tell_preface;
use super::{Connection, Phase};
use crate::clock::LazyNow;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::Core;
use crate::tls::into_error;
use crate::transport::{left_empty, ReadWatch};
use crate::Role;
use std::cell::RefCell;
use std::io;
use std::time::{Duration, Instant};

/// How long a server lingers after its last answer.
const LINGER: Duration = Duration::from_secs(2);

thread_local! {
    /// Where a read puts its bytes before they go to the core (or to `inbuf`), so that an idle
    /// connection holds no read buffer and a busy one does not pay for one of its own. It is
    /// memory, not state: the bytes a read put in are zeroed as soon as they are handed on,
    /// so nothing of one connection is left in it when another reads (one per thread, fixed
    /// size, released with the thread).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

const SCRATCH_SIZE: usize = 64 * 1024;

impl Connection {
    pub(super) fn do_read(&mut self, now: Instant) -> Result<()> {
        let Connection {
            sock,
            core,
            inbuf,
            date,
            sniff,
            version,
            cfg,
            read_eof,
            more,
            read_closed_hint,
            role,
            tls,
            sock_drained,
            input_paused,
            progress,
            ..
        } = self;
        let Some(sock) = sock.as_mut() else {
            return Ok(());
        };
        // Bytes held back by backpressure (or left by a protocol switch) go in first.
        if !inbuf.is_empty() && !*sniff && core.wants_read() {
            feed_held(core, inbuf, now);
        }
        let mut budget = cfg.read_budget;
        // Under TLS a short read says nothing about the socket (rustls reads a record at a
        // time), so only "would block" ends the reading.
        let eager = cfg.read_to_would_block || std::mem::take(read_closed_hint) || tls.is_some();
        // Whether the core takes more input, asked once per read (after the bytes went in).
        let mut wants = core.wants_read();
        while !*read_eof && wants && !core.is_tunnel() {
            if progress.probing && *sock_drained && !tls.as_ref().is_some_and(|t| t.read_ready()) {
                // The no-lost-wake-up probe: bytes that came after the socket was drained
                // are announced by readiness; only what no event will announce counts.
                break;
            }
            if budget == 0 {
                *more = true;
                break;
            }
            let r = SCRATCH.with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < SCRATCH_SIZE {
                    s.resize(SCRATCH_SIZE, 0);
                }
                let max = budget.min(SCRATCH_SIZE);
                let r = 'read: {
                    let read = match tls.as_mut() {
                        Some(t) => {
                            let mut watched = ReadWatch {
                                sock: &mut *sock,
                                drained: &mut *sock_drained,
                            };
                            t.read_plain(&mut watched, &mut s[..max])
                        }
                        None => {
                            let r = sock.read(&mut s[..max]);
                            *sock_drained = left_empty(&r, max);
                            r
                        }
                    };
                    match read {
                        Ok(0) => Ok(0),
                        Ok(n) => {
                            progress.read += n as u64;
                            if *sniff {
                                inbuf.extend_from_slice(&s[..n]);
                                match tell_preface(inbuf) {
                                    None => break 'read Ok(n),
                                    Some(h2) => {
                                        *sniff = false;
                                        if h2 {
                                            log::debug!("server: the client speaks HTTP/2");
                                            *core =
                                                Core::h2(*role, cfg, "http", date.get(now), now);
                                            *version = http::Version::HTTP_2;
                                        }
                                    }
                                }
                                feed_held(core, inbuf, now);
                            } else if inbuf.is_empty() {
                                let used = core.recv(&s[..n], now);
                                if used < n {
                                    inbuf.extend_from_slice(&s[used..n]);
                                }
                            } else {
                                inbuf.extend_from_slice(&s[..n]);
                                feed_held(core, inbuf, now);
                            }
                            Ok(n)
                        }
                        Err(e) => Err(e),
                    }
                };
                if let Ok(n) = r {
                    // The bytes were handed on: the scratch keeps nothing between reads.
                    s[..n].fill(0);
                }
                r
            });
            match r {
                Ok(0) => {
                    *read_eof = true;
                    if std::mem::take(sniff) && !inbuf.is_empty() {
                        // A few bytes of something, then the end: HTTP/1 judges them.
                        feed_held(core, inbuf, now);
                    }
                    core.recv_eof();
                    wants = core.wants_read();
                }
                Ok(n) => {
                    wants = core.wants_read();
                    let asked = budget.min(SCRATCH_SIZE);
                    budget = budget.saturating_sub(n);
                    let held = tls.as_ref().is_some_and(|t| t.read_ready());
                    if n < asked && !eager && !held {
                        // The socket had no more at this moment: a level-triggered loop (or
                        // a peer-closed hint) will tell us when there is.
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset && *role == Role::Server => {
                    log::debug!("peer reset the connection");
                    *read_eof = true;
                    core.abort(Error::io("read", &e));
                    wants = core.wants_read();
                    break;
                }
                Err(e) => {
                    let e = into_error(e, "read");
                    let cut = core.mid_message() || !inbuf.is_empty();
                    if e.kind() == ErrorKind::Truncated && !cut {
                        // Between messages (the last one may be complete and unread): as
                        // good as a clean end.
                        log::debug!("{e}");
                        *read_eof = true;
                        core.recv_eof();
                        wants = core.wants_read();
                        break;
                    }
                    return Err(e);
                }
            }
            if inbuf.len() > cfg.max_head_size + cfg.recv_buffer + SCRATCH_SIZE {
                // The core refused bytes it does not want yet; stop reading until it does.
                break;
            }
        }
        if budget == 0 && tls.as_ref().is_some_and(|t| t.read_ready()) {
            *more = true;
        }
        // Even with nothing left behind, a core that turned input away makes the next step
        // due when it wants input again: that step re-reads `events()`, which a loop armed
        // for exactly the last `events()` must see to re-arm for readability.
        *input_paused = (!*read_eof || !inbuf.is_empty()) && !wants;
        // An idle connection holds no read buffer; a busy one keeps its emptied buffer, so
        // that one under backpressure does not grow a new one at every turn.
        if inbuf.is_empty() && inbuf.capacity() > 0 && core.is_idle() {
            *inbuf = Vec::new();
        }
        Ok(())
    }

    /// Writes buffered output without blocking; `Ok(true)` once all of it is out.
    pub(super) fn do_write(&mut self) -> Result<bool> {
        if self.progress.probing && self.write_blocked {
            // The no-lost-wake-up probe: the socket announces when it takes more.
            return Ok(false);
        }
        self.core.clear_want_flush();
        let Some(sock) = self.sock.as_mut() else {
            return Ok(!self.out_pending());
        };
        loop {
            let out = self.core.output();
            while self.out_pos < out.len() {
                let written = match self.tls.as_mut() {
                    Some(t) => t.write_plain(sock, &out[self.out_pos..]),
                    None => sock.write(&out[self.out_pos..]),
                };
                match written {
                    Ok(0) => return Err(Error::new(ErrorKind::Closed, "write returned 0")),
                    Ok(n) => {
                        self.out_pos += n;
                        self.progress.written += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.write_blocked = true;
                        let unsent = out.len() - self.out_pos;
                        self.core.write_refused(unsent);
                        return Ok(false);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(into_error(e, "write"));
                    }
                }
            }
            self.out_pos = 0;
            if !self.core.sent_all() {
                break;
            }
        }
        if let Some(t) = self.tls.as_mut() {
            // Records rustls still holds (the socket took only part of them).
            if !t.flush_tls(sock).map_err(|e| into_error(e, "write"))? {
                self.write_blocked = true;
                return Ok(false);
            }
        }
        self.write_blocked = false;
        Ok(true)
    }

    pub(super) fn after_io(&mut self, now: &mut LazyNow) {
        let pending = self.out_pending();
        let core = &mut self.core;
        if core.is_done() && !pending {
            if core.is_tunnel() {
                return;
            }
            if self.role == Role::Server && !self.read_eof && self.error.is_none() {
                self.send_close_notify();
                if let Some(sock) = &self.sock {
                    let _ = sock.shutdown_write();
                }
                self.phase = Phase::Lingering(now.get() + LINGER);
                self.linger(false);
                return;
            }
            self.close_now();
            return;
        }
        if self.read_eof && self.role == Role::Client && core.is_idle() {
            self.close_now();
            return;
        }
        // The clocks that start without I/O of their own: the idle time, a response deadline.
        core.note_time(now);
        let idle = core.is_idle();
        if idle && !self.idle.was_idle {
            self.idle.was_idle = true;
            self.run_idle_handler();
        } else if !idle {
            self.idle.was_idle = false;
        }
    }

    /// Reads and drops input while lingering; closes at EOF, error, or `expired`.
    pub(super) fn linger(&mut self, expired: bool) {
        let mut done = expired;
        if let Some(sock) = self.sock.as_mut() {
            let mut buf = [0u8; 4096];
            for _ in 0..64 {
                match sock.read(&mut buf) {
                    Ok(0) => {
                        done = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        done = true;
                        break;
                    }
                }
            }
        }
        if done {
            self.close_now();
        }
    }

    /// TLS: close_notify, written as far as the socket takes it now.
    fn send_close_notify(&mut self) {
        if let (Some(t), Some(sock)) = (self.tls.as_mut(), self.sock.as_mut()) {
            if !t.is_handshaking() {
                t.send_close_notify();
                let _ = t.flush_tls(sock);
            }
        }
    }

    pub(super) fn close_now(&mut self) {
        if self.error.is_none() {
            self.send_close_notify();
        }
        if let Some(sock) = self.sock.take() {
            let _ = sock.shutdown_write();
            self.retire_socket(sock);
        }
        self.set_phase(Phase::Closed);
        self.inbuf = Vec::new();
        self.connect_deadline = None;
        self.shutdown_deadline = None;
    }
}

/// Feeds the bytes held in `inbuf` to the core and keeps what it did not take (the end of
/// `do_read` releases an emptied buffer once the connection is idle).
fn feed_held(core: &mut Core, inbuf: &mut Vec<u8>, now: Instant) {
    let used = core.recv(inbuf, now);
    inbuf.drain(..used);
}

#[cfg(test)]
mod tests;
