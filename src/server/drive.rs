//! How a server steps: readiness in, connections accepted, deadlines run, connections
//! stepped, their requests recorded and handed out.

use super::exchange::{Answer, Exchange};
use super::slab::Key;
use super::{Conn, Server, LISTENER_TOKENS};
use crate::error::{Error, Result};
use crate::StreamId;
use std::time::{Duration, Instant};

/// How long to wait before accepting again after `accept` failed (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Steps of one connection in a row before others get their turn.
const ROUNDS: usize = 4;

/// Finished request records kept for their storage.
const SPARE: usize = 256;

impl Server {
    /// Takes what the kernel reported: listeners with connections waiting, connections with
    /// readiness (queued to be stepped).
    pub(super) fn take_readiness(&mut self) -> Result<()> {
        match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                self.more_events = true;
                return Ok(());
            }
            Err(e) => return Err(Error::io("wait on the server's epoll instance", &e)),
        }
        let mut n = 0;
        let mut ready = std::mem::take(&mut self.ready);
        for ev in self.events.iter() {
            n += 1;
            ready.push((ev.token().0, ev.is_read_closed() || ev.is_error()));
        }
        // A full batch: the kernel may hold more (edge-triggered, it will not say so again).
        self.more_events = n >= self.events.capacity();
        for &(token, closed) in &ready {
            if token >= LISTENER_TOKENS {
                if let Some(Some(l)) = self.listeners.get_mut(token - LISTENER_TOKENS) {
                    l.pending = true;
                }
                continue;
            }
            if let Some((key, c)) = self.conns.at_mut(token as u32) {
                if closed {
                    c.conn.hint_read_closed();
                }
                self.queue_drive(key);
            }
        }
        ready.clear();
        self.ready = ready;
        Ok(())
    }

    /// Accepts from every listener with connections waiting, within the bounds.
    pub(super) fn accept_all(&mut self, now: Instant) {
        match self.accept_retry {
            Some(t) if t > now => return,
            Some(_) => {
                self.accept_retry = None;
                for l in self.listeners.iter_mut().flatten() {
                    l.pending = true;
                }
            }
            None => {}
        }
        for i in 0..self.listeners.len() {
            let Some(mut l) = self.listeners[i].take() else {
                continue;
            };
            let mut taken = 0;
            while l.pending && taken < self.opts.accepts_per_step {
                if self.conns.len() >= self.opts.max_connections {
                    // The backlog keeps them; a connection that closes makes room.
                    break;
                }
                match l.listener.try_accept() {
                    Ok(conn) => {
                        self.adopt(conn);
                        taken += 1;
                    }
                    Err(e) if e.is_would_block() => l.pending = false,
                    Err(e) => {
                        log::warn!(
                            "accepting a connection failed: {e}; trying again in {} ms",
                            ACCEPT_BACKOFF.as_millis()
                        );
                        self.accept_retry = Some(now + ACCEPT_BACKOFF);
                        break;
                    }
                }
            }
            self.listeners[i] = Some(l);
        }
    }

    /// Registers an accepted connection and queues it (it may hold a request already).
    fn adopt(&mut self, mut conn: crate::Connection) {
        // The step flushes what a turn's responses wrote, together.
        conn.set_auto_flush(false);
        let key = self.conns.next_key();
        let token = mio::Token(key.index as usize);
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        if let Err(e) = self.poll.registry().register(&mut conn, token, interest) {
            log::warn!("registering an accepted connection failed: {e}; it is closed");
            return;
        }
        let key = self.conns.insert(Box::new(Conn {
            conn,
            exchanges: Vec::new(),
            queued: false,
            touched: false,
            armed: None,
        }));
        self.queue_drive(key);
    }

    /// Queues the connections whose deadlines have come and answers the requests whose
    /// response is overdue.
    pub(super) fn run_deadlines(&mut self, now: Instant) {
        while let Some((t, key)) = self.conn_clock.pop_due(now) {
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            if c.armed != Some(t) {
                continue; // an entry a later arming made stale
            }
            c.armed = None;
            self.queue_drive(key);
        }
        while let Some(key) = self.answer_clock.pop_due(now) {
            let overdue = self
                .exchanges
                .get(key)
                .is_some_and(|ex| ex.got_head && ex.answer == Answer::None);
            if overdue {
                self.answer_overdue(key);
            }
        }
    }

    /// Writes what the application's calls left in the connections they touched; a
    /// connection with more to do is queued to be stepped.
    pub(super) fn flush_touched(&mut self) {
        let mut touched = std::mem::take(&mut self.touched);
        for key in touched.drain(..) {
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            c.touched = false;
            if c.queued {
                continue; // stepped soon anyway
            }
            let _ = c.conn.try_flush();
            if c.conn.is_closed() {
                self.close_conn(key);
            } else if c.conn.wants_step_now() {
                self.queue_drive(key);
            } else if let Some(t) = c.conn.timeout() {
                let live = self.conns.len();
                if let Some(c) = self.conns.get_mut(key) {
                    self.conn_clock.arm(key, &mut c.armed, t, live);
                }
            }
        }
        if self.touched.is_empty() {
            self.touched = touched; // keep the storage
        }
    }

    /// Steps the queued connections, within the bound.
    pub(super) fn drive_queued(&mut self, now: Instant) {
        let mut budget = self.opts.drives_per_step.max(1);
        while budget > 0 {
            let Some(key) = self.to_drive.pop_front() else {
                return;
            };
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            c.queued = false;
            budget -= 1;
            self.drive(key, now);
        }
    }

    /// Steps one connection, records its new requests, passes on its streams' news, writes
    /// what is buffered; closes it when it is over; arms its deadline.
    fn drive(&mut self, key: Key, now: Instant) {
        let handed = self.to_hand.len();
        let mut ids = std::mem::take(&mut self.ids);
        for round in 0..ROUNDS {
            let Some(c) = self.conns.get_mut(key) else {
                break;
            };
            // A failure shows as the connection closed (and its streams' errors).
            let _ = c.conn.step();
            while let Ok(Some(id)) = c.conn.try_next_incoming_stream() {
                ids.push((id, true));
            }
            while let Some(id) = c.conn.next_ready_stream() {
                ids.push((id, false));
            }
            for (id, new) in ids.drain(..) {
                if new {
                    self.open_exchange(key, id, now);
                } else {
                    self.on_ready(key, id);
                }
            }
            let Some(c) = self.conns.get_mut(key) else {
                break;
            };
            let _ = c.conn.try_flush();
            if c.conn.is_closed() {
                self.close_conn(key);
                break;
            }
            if !c.conn.wants_step_now() {
                break;
            }
            if round + 1 == ROUNDS {
                self.queue_drive(key); // others first; it goes on in this step or the next
            }
        }
        self.ids = ids;
        let live = self.conns.len();
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if self.to_hand.len() > handed {
            // Requests went to the application, whose answers change the deadline again:
            // armed once, after its turn (`flush_touched`).
            if !c.touched {
                c.touched = true;
                self.touched.push(key);
            }
        } else if let Some(t) = c.conn.timeout() {
            self.conn_clock.arm(key, &mut c.armed, t, live);
        }
    }

    /// Records a request the connection announced and takes its head if it is in.
    fn open_exchange(&mut self, conn: Key, id: StreamId, now: Instant) {
        let ex = match self.spare.pop() {
            Some(mut ex) => {
                ex.reset(conn, id);
                ex
            }
            None => Box::new(Exchange::new(conn, id)),
        };
        let key = self.exchanges.insert(ex);
        if let Some(c) = self.conns.get_mut(conn) {
            c.exchanges.push((id, key));
        }
        if let Some(d) = self.opts.response_timeout {
            self.answer_clock.push(now + d, key);
            let (exchanges, n) = (&self.exchanges, self.exchanges.len());
            self.answer_clock.retain_live(
                |k| exchanges.get(k).is_some_and(|ex| ex.answer == Answer::None),
                n,
            );
        }
        self.take_head(key);
    }

    /// A stream of `conn` has news: its request's head, room for the rest of a response, or
    /// news for the application.
    fn on_ready(&mut self, conn: Key, id: StreamId) {
        let Some(key) = self.exchange_of(conn, id) else {
            return; // a request already answered: the connection finishes it alone
        };
        let Some(ex) = self.exchanges.get(key) else {
            return;
        };
        match (ex.got_head, ex.answer) {
            (false, _) => self.take_head(key),
            (true, Answer::Sending) => self.push_out(key),
            (true, Answer::Done) => self.settle(key),
            (true, _) => self.queue_hand(key),
        }
    }

    fn exchange_of(&self, conn: Key, id: StreamId) -> Option<Key> {
        let c = self.conns.get(conn)?;
        c.exchanges.iter().find(|(s, _)| *s == id).map(|(_, k)| *k)
    }

    /// Takes the request's head into its record (the storage of the last one goes back to
    /// the connection) and hands the request out.
    fn take_head(&mut self, key: Key) {
        let Some(ex) = self.exchanges.get_mut(key) else {
            return;
        };
        let Some(c) = self.conns.get_mut(ex.conn) else {
            return;
        };
        let mut stream = c.conn.stream(ex.stream);
        match stream.try_get_headers_into(&mut ex.head) {
            Ok(Some(_)) => {
                ex.got_head = true;
                self.queue_hand(key);
            }
            Err(e) if e.is_would_block() => {}
            Ok(None) | Err(_) => {
                // The stream ended or failed before its head: nothing to hand out.
                ex.answer = Answer::Done;
                self.settle(key);
            }
        }
    }

    /// Gives the connection more of a body given whole.
    pub(super) fn push_out(&mut self, key: Key) {
        let Some(ex) = self.exchanges.get_mut(key) else {
            return;
        };
        let Some(c) = self.conns.get_mut(ex.conn) else {
            return;
        };
        match c.conn.stream(ex.stream).try_write_chunk(ex.unsent(), true) {
            Err(e) if e.is_would_block() => return, // named ready again when there is room
            Err(e) => log::debug!("the rest of a response could not be written: {e}"),
            Ok(()) => {}
        }
        ex.answer = Answer::Done;
        ex.out_at = ex.out.len();
        // Called from `drive`, which writes what this left buffered.
        self.settle(key);
    }

    /// Removes a request's record once its response is complete.
    pub(super) fn settle(&mut self, key: Key) {
        if !self
            .exchanges
            .get(key)
            .is_some_and(|ex| ex.answer == Answer::Done)
        {
            return;
        }
        let Some(ex) = self.exchanges.remove(key) else {
            return;
        };
        if let Some(c) = self.conns.get_mut(ex.conn) {
            if let Some(i) = c.exchanges.iter().position(|(_, k)| *k == key) {
                c.exchanges.swap_remove(i);
            }
        }
        if self.spare.len() < SPARE {
            self.spare.push(ex);
        }
    }

    /// Closes a connection that is over; its requests go with it.
    fn close_conn(&mut self, key: Key) {
        let Some(mut c) = self.conns.remove(key) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut c.conn);
        if let Some(e) = c.conn.error() {
            log::debug!("connection closed: {e}");
        }
        for (_, k) in c.exchanges.drain(..) {
            if let Some(ex) = self.exchanges.remove(k) {
                if self.spare.len() < SPARE {
                    self.spare.push(ex);
                }
            }
        }
    }

    /// The application gave no response head in time: 503.
    fn answer_overdue(&mut self, key: Key) {
        let timeout = self.opts.response_timeout.unwrap_or_default();
        if let Some(mut req) = self.request(super::RequestId(key)) {
            log::warn!(
                "{} {}: no response after {} s; answering 503",
                req.method(),
                req.path(),
                timeout.as_secs()
            );
            let body = b"The server gave no response in time.\n";
            let _ = req.respond(
                http::StatusCode::SERVICE_UNAVAILABLE,
                &[("content-type", "text/plain")],
                body,
            );
        }
    }
}
