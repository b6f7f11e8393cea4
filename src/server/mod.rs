//! A whole server behind one fd: [`Server`] owns its listeners and every connection they
//! accept, and hands out requests.
//!
//! It is pollable as a [`Connection`] is: [`pollfd()`](Server::pollfd) is an epoll instance of
//! its own (nested in the caller's loop as cqueues nests a controller: watch it for
//! readability, level- or edge-triggered), [`timeout()`](Server::timeout) the next deadline,
//! and [`step()`](Server::step) does a bounded amount of the work possible now. After each
//! step, [`next_request()`](Server::next_request) hands out the requests with news.
//!
//! Inside, a step takes the readiness the kernel reported (at most
//! [`ServerOptions::events_per_step`]), accepts new connections (at most
//! [`ServerOptions::accepts_per_step`] per listener, none past
//! [`ServerOptions::max_connections`]), steps the connections due (their deadlines kept in a
//! heap, never scanned), and writes what the application's calls left buffered. Work left
//! over is announced by a `timeout()` that has already passed.

mod deadlines;
mod drive;
mod exchange;
mod fifo;
mod options;
mod request;
mod slab;
#[cfg(test)]
mod tests;

pub use exchange::RequestId;
pub use options::ServerOptions;
pub use request::Request;

use crate::config::Config;
use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::listener::Listener;
use crate::transport::SockName;
use crate::wait::poll_fd;
use crate::PollEvents;
use deadlines::ConnClock;
use exchange::Exchanges;
use fifo::Fifo;
use slab::{Key, Slab};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A connection the server owns, with what the server keeps beside it.
struct Conn {
    conn: Connection,
    /// The requests handed out and not over, by stream.
    exchanges: Vec<(crate::StreamId, Key)>,
    /// In the queue of connections to step.
    queued: bool,
    /// A call on one of its requests left work for it (in `Server::touched`).
    touched: bool,
    /// The earliest entry of this connection in the deadline heap.
    armed: Option<Instant>,
}

/// A listener the server owns.
struct Listening {
    listener: Listener,
    /// Readiness was reported and the backlog may not be empty yet.
    pending: bool,
}

/// Listeners' tokens count down from the top; connections' tokens are their places.
const LISTENER_TOKENS: usize = usize::MAX - 1024;

/// A pollable HTTP server: listeners, connections, requests, all behind one fd.
///
/// ```no_run
/// use pollhttp::mio::{Events, Interest, Poll, Token};
/// use pollhttp::{Server, StatusCode};
/// use std::time::Instant;
///
/// let mut server = Server::bind("127.0.0.1:8080".parse()?)?;
/// let mut poll = Poll::new()?;
/// poll.registry().register(&mut server, Token(0), Interest::READABLE)?;
/// let mut events = Events::with_capacity(8);
/// loop {
///     let wait = server.timeout().map(|t| t.saturating_duration_since(Instant::now()));
///     poll.poll(&mut events, wait)?;
///     server.step()?;
///     while let Some(mut req) = server.next_request() {
///         match req.path() {
///             "/" => req.respond(StatusCode::OK, &[("content-type", "text/plain")], b"hello\n")?,
///             _ => req.respond(StatusCode::NOT_FOUND, &[], b"")?,
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Server {
    opts: ServerOptions,
    poll: mio::Poll,
    events: mio::Events,
    /// The kernel had more readiness than one step takes.
    more_events: bool,
    listeners: Vec<Option<Listening>>,
    conns: Slab<Box<Conn>>,
    /// The requests: records, the queue of those with news, their response deadlines.
    reqs: Exchanges,
    /// Connections to step (readiness, a deadline, the application's calls).
    to_drive: Fifo<Key>,
    /// Connections the application's calls on requests left work for.
    touched: Vec<Key>,
    conn_clock: ConnClock,
    /// A graceful stop was asked for.
    stopping: bool,
    /// Accepting failed for want of resources: try again from this time.
    accept_retry: Option<Instant>,
    /// A head reused for the responses `respond` writes.
    scratch: Headers,
    /// Scratch list reused by every step: a connection's streams with news.
    ids: Vec<crate::StreamId>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("fd", &self.pollfd())
            .field("listeners", &self.listeners.iter().flatten().count())
            .field("connections", &self.conns.len())
            .field("requests", &self.reqs.table.len())
            .field("stopping", &self.stopping)
            .finish()
    }
}

impl Server {
    /// A server with no listener yet.
    ///
    /// # Errors
    /// The epoll instance could not be made (out of file descriptors).
    pub fn new(opts: ServerOptions) -> Result<Server> {
        let poll = mio::Poll::new().map_err(|e| Error::io("create the server's epoll", &e))?;
        let events = mio::Events::with_capacity(opts.events_per_step.max(1));
        Ok(Server {
            opts,
            poll,
            events,
            more_events: false,
            listeners: Vec::new(),
            conns: Slab::new(),
            reqs: Exchanges::new(),
            to_drive: Fifo::new(),
            touched: Vec::new(),
            conn_clock: ConnClock::new(),
            stopping: false,
            accept_retry: None,
            scratch: Headers::new(),
            ids: Vec::new(),
        })
    }

    /// A server with the default options, listening on `addr` (TCP).
    ///
    /// # Errors
    /// As [`new`](Self::new) and [`listen`](Self::listen).
    pub fn bind(addr: SocketAddr) -> Result<Server> {
        let mut s = Server::new(ServerOptions::default())?;
        s.listen(addr)?;
        Ok(s)
    }

    /// Listens on `addr` (TCP) with the options' connection configuration; returns the
    /// address bound (with the port the kernel chose for port 0).
    ///
    /// # Errors
    /// Binding or listening failed.
    pub fn listen(&mut self, addr: SocketAddr) -> Result<SockName> {
        let l = Listener::bind(addr, self.opts.config.clone())?;
        self.add_listener(l)
    }

    /// Listens on the Unix socket `path`.
    ///
    /// # Errors
    /// Binding or listening failed.
    pub fn listen_unix(&mut self, path: &Path) -> Result<SockName> {
        let l = Listener::bind_unix(path, self.opts.config.clone())?;
        self.add_listener(l)
    }

    /// Takes a listener made by the caller: one with TLS ([`Listener::with_tls`], also TLS and
    /// plaintext on one port), its own backlog or its own [`Config`]. Returns its address.
    ///
    /// # Errors
    /// The listener is closed, or registering it failed.
    pub fn add_listener(&mut self, mut listener: Listener) -> Result<SockName> {
        let name = listener.localname()?;
        if self.stopping {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "the server is shutting down and takes no listener",
            ));
        }
        let i = self.listeners.len();
        let token = mio::Token(LISTENER_TOKENS + i);
        if i >= 1024 {
            return Err(Error::new(
                ErrorKind::Limit,
                "a server takes at most 1024 listeners",
            ));
        }
        self.poll
            .registry()
            .register(&mut listener, token, mio::Interest::READABLE)
            .map_err(|e| Error::io("register a listener", &e))?;
        self.listeners.push(Some(Listening {
            listener,
            // What waited before registration is reported too, but try at once.
            pending: true,
        }));
        Ok(name)
    }

    /// The addresses listened on.
    pub fn localnames(&self) -> Vec<SockName> {
        self.listeners
            .iter()
            .flatten()
            .filter_map(|l| l.listener.localname().ok())
            .collect()
    }

    /// Changes [`ServerOptions::max_connections`] (at least 1).
    pub fn set_max_connections(&mut self, max: usize) {
        self.opts.max_connections = max.max(1);
    }

    /// Changes [`ServerOptions::response_timeout`] for the requests that arrive from now on
    /// (those already waiting keep the deadline they got).
    pub fn set_response_timeout(&mut self, timeout: Option<Duration>) {
        self.opts.response_timeout = timeout;
    }

    /// The configuration the server's own listeners give their connections.
    pub fn config(&self) -> &Arc<Config> {
        &self.opts.config
    }

    /// The fd to watch: the server's epoll instance, readable when any of its listeners or
    /// connections has news. Register it once; it does not change.
    pub fn pollfd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }

    /// What to wait for on [`pollfd`](Self::pollfd): always readable.
    pub fn events(&self) -> PollEvents {
        PollEvents::READABLE
    }

    /// When to step even without readiness: the earliest deadline of a connection or a
    /// request, or a time already past when work is due now (the last step stopped at its
    /// bounds, a call on a request left output to write, a request waits in
    /// [`next_request`](Self::next_request)). `None` when only readiness can bring work.
    pub fn timeout(&self) -> Option<Instant> {
        if self.wants_step_now() {
            return Some(Instant::now());
        }
        let mut t = self.conn_clock.next();
        for other in [self.reqs.clock.next(), self.accept_retry] {
            t = match (t, other) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        t
    }

    /// Whether work is due at once (see [`timeout`](Self::timeout)).
    pub fn wants_step_now(&self) -> bool {
        self.more_events
            || !self.to_drive.is_empty()
            || !self.reqs.to_hand.is_empty()
            || !self.touched.is_empty()
            || (self.accept_retry.is_none()
                && self.conns.len() < self.opts.max_connections
                && self.listeners.iter().flatten().any(|l| l.pending))
    }

    /// Does the work possible now, within the options' bounds, without blocking: takes
    /// readiness, accepts, steps the connections due. Then call
    /// [`next_request`](Self::next_request) until it gives `None`.
    ///
    /// A connection's failure is its own (it is closed and logged); the server goes on.
    ///
    /// # Errors
    /// Waiting on the server's own epoll instance failed.
    pub fn step(&mut self) -> Result<()> {
        let now = Instant::now();
        self.flush_touched();
        self.take_readiness()?;
        self.accept_all(now);
        self.run_deadlines(now);
        self.drive_queued(now);
        Ok(())
    }

    /// Blocking: waits at most `timeout` for something to do (readiness or the server's own
    /// deadline), then steps: lua-http's `server:step(timeout)`.
    ///
    /// # Errors
    /// As [`step`](Self::step).
    pub fn step_wait(&mut self, timeout: Option<Duration>) -> Result<()> {
        let now = Instant::now();
        let until = match (timeout.map(|d| now + d), self.timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = until.map(|t| t.saturating_duration_since(now));
        if wait != Some(Duration::ZERO) {
            poll_fd(self.pollfd(), self.events(), wait);
        }
        self.step()
    }

    /// The next request with news for the application: a new request (its head is in), or
    /// one handed out before that has news since (body bytes, its end, room to write more of
    /// its response, a failure). A request is handed out until its response is complete.
    ///
    /// Call it until `None`: then what the turn's answers left buffered is written, one write
    /// per connection.
    pub fn next_request(&mut self) -> Option<Request<'_>> {
        while let Some(key) = self.reqs.to_hand.pop_front() {
            let Some(ex) = self.reqs.table.get_mut(key) else {
                continue;
            };
            ex.queued = false;
            return Some(Request::new(self, key));
        }
        self.flush_touched();
        None
    }

    /// The request `id` names, if it is still going (its response not complete, its
    /// connection open).
    pub fn request(&mut self, id: RequestId) -> Option<Request<'_>> {
        self.reqs.table.get(id.0)?;
        Some(Request::new(self, id.0))
    }

    /// Graceful stop: the listeners close (new connections are refused), every connection
    /// finishes what is in flight and closes (HTTP/1 answers with `Connection: close`,
    /// HTTP/2 sends GOAWAY); what is still running at the connections' `shutdown_timeout`
    /// is cut off. Keep stepping until [`is_done`](Self::is_done).
    pub fn shutdown(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        for slot in &mut self.listeners {
            if let Some(mut l) = slot.take() {
                let _ = self.poll.registry().deregister(&mut l.listener);
                l.listener.close();
            }
        }
        for key in self.conns.keys() {
            if let Some(c) = self.conns.get_mut(key) {
                c.conn.shutdown();
            }
            self.queue_drive(key);
        }
    }

    /// Shut down and every connection closed.
    pub fn is_done(&self) -> bool {
        self.stopping && self.conns.len() == 0
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Requests handed out and not complete.
    pub fn requests_in_flight(&self) -> usize {
        self.reqs.table.len()
    }

    /// Puts a connection in the queue of those to step.
    fn queue_drive(&mut self, key: Key) {
        if let Some(c) = self.conns.get_mut(key) {
            if !c.queued {
                c.queued = true;
                self.to_drive.push_back(key);
            }
        }
    }
}

/// Registers [`Server::pollfd`] (readable): the server's epoll instance, which does not
/// change. Nesting it in the caller's `mio::Poll` is the whole of embedding a server.
impl mio::event::Source for Server {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.pollfd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.pollfd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.pollfd()).deregister(registry)
    }
}
