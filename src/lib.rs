//! # pollhttp
//!
//! HTTP/1.0, HTTP/1.1 and HTTP/2 connections, client and server, over TCP or Unix sockets,
//! with or without TLS (rustls; ALPN `h2`, `h2c` by upgrade or prior knowledge), for programs
//! that own their event loop: no async runtime, no executor, no hidden thread on the hot path
//! (a client resolving a host name does it on a thread of its own). C programs get the same
//! connections through the C ABI, the workspace's `pollhttp-ffi` crate (`libpollhttp.a` /
//! `libpollhttp.so`, header `pollhttp-ffi/include/pollhttp.h`); this crate is the Rust library
//! alone.
//!
//! ## A server
//!
//! A [`Server`] owns its listeners and every connection behind one fd (its own epoll
//! instance, nested in the caller's loop); [`next_request()`](Server::next_request) hands out
//! each [`Request`] when its head is in, and again whenever it has news, until it is answered:
//!
//! ```no_run
//! use pollhttp::mio::{Events, Interest, Poll, Token};
//! use pollhttp::{Method, Server, StatusCode};
//! use std::time::Instant;
//!
//! let mut server = Server::bind("127.0.0.1:8080".parse()?)?;
//! let mut poll = Poll::new()?;
//! poll.registry().register(&mut server, Token(0), Interest::READABLE)?;
//! let mut events = Events::with_capacity(8);
//! loop {
//!     let wait = server.timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!     poll.poll(&mut events, wait)?;
//!     server.step()?;
//!     while let Some(mut req) = server.next_request() {
//!         match (req.method(), req.path()) {
//!             (Method::GET, "/hello") => {
//!                 req.respond(StatusCode::OK, &[("content-type", "application/json")], b"{}")?
//!             }
//!             (Method::POST, "/echo") => match req.try_body(1 << 20) {
//!                 Ok(Some(body)) => req.respond(StatusCode::OK, &[], &body)?,
//!                 Err(e) if e.is_would_block() => {} // handed out again as the body comes
//!                 Err(e) => req.respond_error(&e)?,   // e.g. 413 over the limit
//!                 Ok(None) => {}
//!             },
//!             _ => req.respond(StatusCode::NOT_FOUND, &[], b"")?,
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/hello_server.rs` is this server with TLS; `examples/hello_client.rs` a client in
//! the same kind of loop. Below the server, every connection is a pollable object of its own,
//! for programs that drive each one by hand.
//!
//! ## The pollable contract
//!
//! A [`Connection`] (and a [`Listener`]) is a pollable object:
//!
//! - [`pollfd()`](Connection::pollfd) is the fd to watch (re-read it after each step while a
//!   client connects), [`events()`](Connection::events) exactly what to wait for on it;
//! - [`timeout()`](Connection::timeout) is when to step even without readiness (a time already
//!   past, and [`wants_step_now()`](Connection::wants_step_now), when work is due at once);
//! - [`step()`](Connection::step) does all the work possible now, without blocking;
//! - after each step, [`try_next_incoming_stream()`](Connection::try_next_incoming_stream)
//!   names the streams the peer started and [`next_ready_stream()`](Connection::next_ready_stream)
//!   the streams with news; a [`Stream`] reads and writes heads, body chunks and trailers,
//!   lua-http style, with `try_*` forms that never wait;
//! - [`set_watcher()`](Connection::set_watcher) tells a loop with many connections when one's
//!   fd, events or deadline change, whichever call changed them (a write made while handling
//!   another connection too), so that the loop keeps a ready list and never scans them.
//!
//! ## Ready, ended, not yet
//!
//! Every call that does not wait answers the same way, in Rust and in the C ABI:
//!
//! - a read gives `Ok(Some(x))` when something is ready and `Ok(None)` when it has ended
//!   (nothing more will come: the body is over, the connection will start no more streams);
//! - a call that cannot end (a write, [`try_flush`](Connection::try_flush),
//!   [`try_accept`](Listener::try_accept), [`try_connect`](Connection::try_connect)) gives
//!   `Ok(x)` when done;
//! - "not yet" is an `Err(e)` with [`e.is_would_block()`](Error::is_would_block) (kind
//!   [`ErrorKind::WouldBlock`]; `POLLHTTP_EAGAIN` in C): step the connection and call again;
//! - [`next_ready_stream()`](Connection::next_ready_stream) alone is a queue: `None` when it is
//!   empty for now.
//!
//! The table of every such call, its C twin and what each answer means is in
//! `docs/embedding.md`, section "The non-blocking convention".
//!
//! No lost wake-ups: after any call, a step that could make progress is announced by
//! `timeout()` or by readiness the fd will signal, so level- and edge-triggered loops are
//! both safe. Every call that takes a timeout (`get_headers`, `accept_timeout`, ...) is this
//! same loop run for you.
//!
//! A client GET driven by a `poll(2)` loop:
//!
//! ```no_run
//! use pollhttp::{ClientOptions, Connection, Headers, Method, Target};
//! use std::time::Instant;
//!
//! let target = Target::Host("example.com".into(), 80);
//! let mut conn = Connection::client(target, ClientOptions::default())?;
//! let id = conn.new_stream()?;
//! // Buffered; it goes out once the connection is up. The target gives the authority.
//! conn.stream(id).write_headers(&Headers::request(Method::GET, "/", None), true)?;
//! let (mut head, mut body) = (None, Vec::new());
//! 'run: while !conn.is_closed() {
//!     // Wait for exactly events() on pollfd(), no later than timeout() (rounded up).
//!     let ms = conn.timeout().map_or(-1, |t| {
//!         let us = t.saturating_duration_since(Instant::now()).as_micros();
//!         us.div_ceil(1000).min(i32::MAX as u128) as i32
//!     });
//!     let mut p = libc::pollfd { fd: conn.pollfd(), events: conn.events().to_poll(), revents: 0 };
//!     // SAFETY: one valid pollfd that outlives the call.
//!     unsafe { libc::poll(&mut p, 1, ms) };
//!     conn.step()?;
//!     while let Some(ready) = conn.next_ready_stream() {
//!         let mut s = conn.stream(ready);
//!         if head.is_none() {
//!             match s.try_get_headers() {
//!                 Err(e) if e.is_would_block() => continue,
//!                 r => head = r?,
//!             }
//!         }
//!         loop {
//!             match s.try_get_next_chunk() {
//!                 Ok(Some(chunk)) => body.extend_from_slice(&chunk),
//!                 Ok(None) => break 'run, // the end of the body
//!                 Err(e) if e.is_would_block() => break,
//!                 Err(e) => return Err(e.into()),
//!             }
//!         }
//!     }
//! }
//! println!("{:?}: {} bytes", head.and_then(|h| h.status()), body.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Cargo features
//!
//! - `tls` (on by default): TLS on rustls with the ring provider, that is `pollhttp::tls`,
//!   `Listener::with_tls`, `Connection::server_with_tls` and `ClientOptions::tls`. Without it
//!   (`default-features = false`) no rustls, ring or webpki-roots is built, and pollhttp is
//!   cleartext HTTP/1.0, HTTP/1.1 and HTTP/2 (h2c), client and server, with the same API
//!   otherwise; [`Connection::checktls`] is then always an error of kind [`ErrorKind::NoTls`].
//!
//! ## Further reading
//!
//! - `docs/embedding.md`: every way to drive a connection (raw epoll level- and
//!   edge-triggered, `poll(2)`, mio, C), the rules of the contract, many connections'
//!   timeouts, the blocking conveniences, and lua-http's operations mapped to pollhttp's.
//! - `docs/architecture.md`: the layers (socket, TLS, the pollable face, the sans-IO HTTP/1
//!   and HTTP/2 cores, streams), which module may use which, how time and events flow.
//! - `docs/benchmarks.md`: the figures and how they are measured.
//! - `examples/`: complete servers and clients (mio, raw epoll, blocking calls); a C server in
//!   `pollhttp-ffi/examples/`.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod config;
mod connection;
mod date;
mod error;
mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod h1;
pub(crate) mod h2;
mod headers;
mod listener;
mod proto;
mod recv;
mod server;
mod stream;
mod stream_state;
mod timer;
pub mod transport;
mod wait;

use std::fmt;

// TLS lives with the transport (src/transport/tls/); its public path stays `pollhttp::tls`.
// Without the `tls` feature, `crate::tls` is the stand-in that offers no session.
#[cfg(feature = "tls")]
#[doc(inline)]
pub use transport::tls;
#[cfg(not(feature = "tls"))]
use transport::tls;

pub use config::{Config, Http2Config};
pub use connection::{ClientOptions, Connection, Idle, IdleHandler, Target, Watch, Watcher};
pub use error::{Error, ErrorKind, Result};
pub use headers::{Field, Headers};
/// The `http` crate's method and status types, which [`Headers`] and [`Error`] take and give.
pub use http::{Method, StatusCode};
pub use listener::{Listener, DEFAULT_BACKLOG};
pub use server::{Request, RequestId, Server, ServerOptions};
pub use stream::Stream;
pub use stream_state::StreamState;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::{TlsClientConfig, TlsServerConfig};
pub use transport::{SockName, Socket, TlsInfo};

/// The `http` crate pollhttp is built on (`Method`, `StatusCode`, `Version`, `Uri` ...), so that
/// a program names the very types pollhttp takes and gives without adding it at a matching
/// version.
pub use http;
/// The `mio` crate pollhttp is built on: [`Connection`] and [`Listener`] implement
/// `mio::event::Source` of this version, so a mio program registers them with
/// `pollhttp::mio::Poll` (a `mio` of another version in the program's own `Cargo.toml` would
/// not see the implementation).
pub use mio;

/// lua-http's `connection.type`: which side of the exchange a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends requests.
    Client,
    /// Answers requests.
    Server,
}

impl Role {
    /// `"client"` or `"server"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// A stream's id within its connection.
///
/// The public id is a `u64` (HTTP/1 numbers its exchanges without bound). On an HTTP/2
/// connection ids have 31 bits (RFC 9113 §5.1.1): an id that does not fit names no stream
/// and every call with it is refused with [`ErrorKind::InvalidInput`], never truncated
/// (`1 << 32 | 1` is not stream 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(u64);

impl StreamId {
    /// The stream with id `id`, as the connection numbers it.
    pub const fn new(id: u64) -> StreamId {
        StreamId(id)
    }

    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for StreamId {
    fn from(id: u64) -> StreamId {
        StreamId(id)
    }
}

impl From<StreamId> for u64 {
    fn from(id: StreamId) -> u64 {
        id.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What [`Connection::events`] and [`Listener::events`] return: the readiness to wait for on
/// `pollfd()` (readable, writable, both, or nothing), lua-http's `events()`. Not a mio type:
/// [`to_mio`](Self::to_mio) gives the `mio::Interest` to register with, and
/// [`to_poll`](Self::to_poll) / [`to_epoll`](Self::to_epoll) the flags of the other loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollEvents {
    readable: bool,
    writable: bool,
}

impl PollEvents {
    /// Nothing to wait for.
    pub const NONE: PollEvents = PollEvents::new(false, false);
    /// Readable.
    pub const READABLE: PollEvents = PollEvents::new(true, false);
    /// Writable.
    pub const WRITABLE: PollEvents = PollEvents::new(false, true);
    /// Readable and writable.
    pub const BOTH: PollEvents = PollEvents::new(true, true);

    /// The events from their two halves.
    pub const fn new(readable: bool, writable: bool) -> PollEvents {
        PollEvents { readable, writable }
    }

    /// Wants readability.
    pub fn is_readable(self) -> bool {
        self.readable
    }

    /// Wants writability.
    pub fn is_writable(self) -> bool {
        self.writable
    }

    /// Wants nothing.
    pub fn is_none(self) -> bool {
        !self.readable && !self.writable
    }

    /// As `poll(2)` flags (`POLLIN`, `POLLOUT`).
    pub fn to_poll(self) -> i16 {
        (if self.readable { libc::POLLIN } else { 0 })
            | (if self.writable { libc::POLLOUT } else { 0 })
    }

    /// As `epoll` flags (`EPOLLIN`, `EPOLLOUT`; add `EPOLLET` yourself for edge-triggered).
    pub fn to_epoll(self) -> u32 {
        (if self.readable {
            libc::EPOLLIN as u32
        } else {
            0
        }) | (if self.writable {
            libc::EPOLLOUT as u32
        } else {
            0
        })
    }

    /// As a `mio::Interest`; `None` for nothing (mio cannot express it: deregister instead,
    /// or keep READABLE registered, which reports only errors and hang-ups then).
    pub fn to_mio(self) -> Option<mio::Interest> {
        match (self.readable, self.writable) {
            (true, true) => Some(mio::Interest::READABLE | mio::Interest::WRITABLE),
            (true, false) => Some(mio::Interest::READABLE),
            (false, true) => Some(mio::Interest::WRITABLE),
            (false, false) => None,
        }
    }
}

#[cfg(test)]
mod tests;
