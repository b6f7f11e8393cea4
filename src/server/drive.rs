//! How a server steps: readiness in, connections accepted, deadlines run, connections
//! stepped, their requests recorded and handed out.

use super::exchange::{Answer, Exchanges};
use super::slab::Key;
use super::{Conn, Server, LISTENER_TOKENS};
use crate::error::{Error, Result};
use crate::StreamId;
use std::time::{Duration, Instant};

/// How long to wait before accepting again after `accept` failed (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Steps of one connection in a row before others get their turn.
const ROUNDS: usize = 4;

/// How a connection's turn in [`drive`] ended.
enum Driven {
    /// Nothing more to do without I/O or a deadline.
    Idle,
    /// Requests have news for the application: its turn comes first, then
    /// [`flush_touched`](Server::flush_touched) looks at the connection again.
    Handed,
    /// Still work at once after [`ROUNDS`] steps: others go first.
    More,
    /// The connection is over.
    Closed,
}

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
        for ev in self.events.iter() {
            n += 1;
            let token = ev.token().0;
            if token >= LISTENER_TOKENS {
                if let Some(Some(l)) = self.listeners.get_mut(token - LISTENER_TOKENS) {
                    l.pending = true;
                }
                continue;
            }
            if let Some((key, c)) = self.conns.at_mut(token as u32) {
                if ev.is_read_closed() || ev.is_error() {
                    c.conn.hint_read_closed();
                }
                if !c.queued {
                    c.queued = true;
                    self.to_drive.push_back(key);
                }
            }
        }
        // A full batch: the kernel may hold more (edge-triggered, it will not say so again).
        self.more_events = n >= self.events.capacity();
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
            let live = self.conns.len();
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            if c.armed != Some(t) {
                continue; // an entry a later arming made stale
            }
            c.armed = None;
            if c.queued {
                continue;
            }
            if !c.conn.wants_step_now() {
                match c.conn.deadline() {
                    // The deadline moved on since it was armed (a keep-alive connection's
                    // idle clock restarts with every exchange): armed again, no step.
                    Some(real) if real > now => {
                        self.conn_clock.arm(key, &mut c.armed, real, live);
                        continue;
                    }
                    None => continue, // no deadline any more
                    Some(_) => {}
                }
            }
            c.queued = true;
            self.to_drive.push_back(key);
        }
        while let Some(key) = self.reqs.clock.pop_due(now) {
            let overdue = self
                .reqs
                .table
                .get(key)
                .is_some_and(|ex| ex.got_head && ex.answer == Answer::None);
            if overdue {
                self.answer_overdue(key);
            }
        }
    }

    /// Writes what the application's calls left in the connections they touched; a
    /// connection with more to do is queued to be stepped, the others armed.
    pub(super) fn flush_touched(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        let mut touched = std::mem::take(&mut self.touched);
        for key in touched.drain(..) {
            let live = self.conns.len();
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            c.touched = false;
            if c.queued {
                continue; // stepped soon anyway
            }
            // Nothing buffered: nothing for a flush to do (what else the calls left is
            // work at once, which `wants_step_now` tells).
            if c.conn.out_pending() {
                let _ = c.conn.try_flush();
            }
            if c.conn.is_closed() {
                self.close_conn(key);
            } else if c.conn.wants_step_now() {
                c.queued = true;
                self.to_drive.push_back(key);
            } else if let Some(t) = c.conn.deadline() {
                self.conn_clock.arm(key, &mut c.armed, t, live);
            }
        }
        if self.touched.is_empty() {
            self.touched = touched; // keep the storage
        }
    }

    /// Steps the queued connections, within the bound; each is reached once per turn and
    /// passed along while its requests are recorded.
    pub(super) fn drive_queued(&mut self, now: Instant) {
        // Every request recorded in this step is due its response at the same time.
        let due = self.opts.response_timeout.map(|d| now + d);
        let mut budget = self.opts.drives_per_step.max(1);
        while budget > 0 {
            let Some(key) = self.to_drive.pop_front() else {
                return;
            };
            let live = self.conns.len();
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            c.queued = false;
            budget -= 1;
            match drive(c, key, &mut self.reqs, &mut self.ids, due) {
                Driven::Closed => self.close_conn(key),
                Driven::Handed => {
                    // The application's answers change the deadline again, and may leave
                    // work: looked at once, after its turn.
                    if !c.touched {
                        c.touched = true;
                        self.touched.push(key);
                    }
                }
                Driven::More => {
                    // Others first; it goes on in this step or the next.
                    c.queued = true;
                    self.to_drive.push_back(key);
                }
                Driven::Idle => {
                    if let Some(t) = c.conn.deadline() {
                        self.conn_clock.arm(key, &mut c.armed, t, live);
                    }
                }
            }
        }
    }

    /// Removes a request's record once its response is complete.
    pub(super) fn settle(&mut self, key: Key) {
        let Some(ex) = self
            .reqs
            .table
            .remove_if(key, |ex| ex.answer == Answer::Done)
        else {
            return;
        };
        if let Some(c) = self.conns.get_mut(ex.conn) {
            c.forget(key);
        }
        self.reqs.recycle(ex);
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
            if let Some(ex) = self.reqs.table.remove(k) {
                self.reqs.recycle(ex);
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

/// Steps one connection (again while it has work at once, up to [`ROUNDS`] times), records
/// its new requests, passes on its streams' news and writes what that left buffered.
fn drive(
    c: &mut Conn,
    key: Key,
    reqs: &mut Exchanges,
    ids: &mut Vec<StreamId>,
    due: Option<Instant>,
) -> Driven {
    let handed = reqs.to_hand.len();
    for _ in 0..ROUNDS {
        // A failure shows as the connection closed (and its streams' errors).
        let _ = c.conn.step();
        // The last request opened with its head: queued to be handed out, which is all its
        // news (the head) would ask for.
        let mut fresh = None;
        while let Ok(Some(id)) = c.conn.try_next_incoming_stream() {
            if reqs.open(c, key, id, due) {
                fresh = Some(id);
            }
        }
        // Taken first, then passed on: the news of this step only, whatever passing it on
        // readies (that is the next round's).
        while let Some(id) = c.conn.next_ready_stream() {
            if Some(id) != fresh {
                ids.push(id);
            }
        }
        for id in ids.drain(..) {
            reqs.on_ready(c, id);
        }
        // What the step could write is written; only the rest of a body given whole,
        // passed on just now, is to write.
        if std::mem::take(&mut reqs.pushed) {
            let _ = c.conn.try_flush();
        }
        if c.conn.is_closed() {
            return Driven::Closed;
        }
        if reqs.to_hand.len() > handed {
            // Whether more is due at once is asked after the application's turn, which
            // changes it (`flush_touched`): not twice.
            return Driven::Handed;
        }
        if !c.conn.wants_step_now() {
            return Driven::Idle;
        }
    }
    Driven::More
}

impl Exchanges {
    /// Records a request its connection `c` (key `conn`) announced, with its head if that is
    /// in (then it is queued to be handed out: `true`), and its response deadline.
    fn open(&mut self, c: &mut Conn, conn: Key, id: StreamId, due: Option<Instant>) -> bool {
        let mut ex = self.fresh(conn, id);
        match c.conn.stream(id).try_get_head_into(&mut ex.head) {
            Ok(Some(bare)) => {
                ex.got_head = true;
                ex.bare = bare;
                ex.queued = true;
            }
            Err(e) if e.is_would_block() => {}
            Ok(None) | Err(_) => {
                // The stream ended or failed before its head: nothing to hand out.
                self.recycle(ex);
                return false;
            }
        }
        let queued = ex.queued;
        let key = self.table.insert(ex);
        c.exchanges.push((id, key));
        if queued {
            self.to_hand.push_back(key);
        }
        if let Some(at) = due {
            self.clock.push(at, key);
            let (table, n) = (&self.table, self.table.len());
            self.clock.retain_live(
                |k| table.get(k).is_some_and(|ex| ex.answer == Answer::None),
                n,
            );
        }
        queued
    }

    /// A stream of connection `c` has news: its request's head, room for the rest of a
    /// response, or news for the application.
    fn on_ready(&mut self, c: &mut Conn, id: StreamId) {
        let Some(&(_, key)) = c.exchanges.iter().find(|(s, _)| *s == id) else {
            return; // a request already answered: the connection finishes it alone
        };
        let Some(ex) = self.table.get_mut(key) else {
            return;
        };
        match (ex.got_head, ex.answer) {
            (false, _) => self.take_head(c, key),
            (true, Answer::Sending) => self.push_out(c, key),
            (true, Answer::Done) => self.finish(c, key),
            (true, _) => {
                if !ex.queued {
                    ex.queued = true;
                    self.to_hand.push_back(key);
                }
            }
        }
    }

    /// Takes the head of a request recorded before it came (the storage of the last one
    /// goes back to the connection) and hands the request out.
    fn take_head(&mut self, c: &mut Conn, key: Key) {
        let Some(ex) = self.table.get_mut(key) else {
            return;
        };
        match c.conn.stream(ex.stream).try_get_head_into(&mut ex.head) {
            Ok(Some(bare)) => {
                ex.got_head = true;
                ex.bare = bare;
                if !ex.queued {
                    ex.queued = true;
                    self.to_hand.push_back(key);
                }
            }
            Err(e) if e.is_would_block() => {}
            Ok(None) | Err(_) => {
                // The stream ended or failed before its head: nothing to hand out.
                ex.answer = Answer::Done;
                self.finish(c, key);
            }
        }
    }

    /// Gives the connection more of a body given whole.
    fn push_out(&mut self, c: &mut Conn, key: Key) {
        let Some(ex) = self.table.get_mut(key) else {
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
        self.pushed = true;
        self.finish(c, key);
    }

    /// Removes the record of a request of connection `c` whose response is complete.
    fn finish(&mut self, c: &mut Conn, key: Key) {
        let Some(ex) = self.table.remove(key) else {
            return;
        };
        c.forget(key);
        self.recycle(ex);
    }
}

impl Conn {
    /// Takes a request that is over off the connection's list.
    fn forget(&mut self, key: Key) {
        if let Some(i) = self.exchanges.iter().position(|(_, k)| *k == key) {
            self.exchanges.swap_remove(i);
        }
    }
}
