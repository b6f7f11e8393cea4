//! # pollhttp
//!
//! HTTP/1.0 and HTTP/1.1 client and server connections for programs that own their event
//! loop: no async runtime, no executor, no hidden thread on the hot path.
//!
//! A [`Connection`] is a pollable object. [`Connection::pollfd`] is the fd to watch,
//! [`Connection::events`] what to wait for, [`Connection::timeout`] the next deadline, and
//! [`Connection::step`] does all the work possible now without blocking. After a step, the
//! connection says which streams have news ([`Connection::next_ready_stream`]) and which
//! streams the peer started ([`Connection::try_next_incoming_stream`]); a [`Stream`] handle
//! reads and writes heads, body chunks and trailers, lua-http style.
//!
//! ```no_run
//! use pollhttp::{Config, Headers, Listener};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! let mut listener = Listener::bind("127.0.0.1:8080".parse().unwrap(), Arc::new(Config::default()))?;
//! let mut conn = listener.accept_timeout(None)?;
//! // The blocking conveniences run the same loop a reactor would: poll, step, repeat.
//! while let Some(id) = conn.get_next_incoming_stream(Some(Duration::from_secs(30)))? {
//!     let mut stream = conn.stream(id);
//!     let head = stream.get_headers(None)?.expect("a request head");
//!     let body = stream.get_body_as_bytes(Some(Duration::from_secs(10)))?;
//!     let mut res = Headers::response(200);
//!     res.append("content-type", "text/plain");
//!     stream.write_headers(&res, false)?;
//!     let reply = if body.is_empty() { format!("{}\n", head.path().unwrap_or("/")).into_bytes() } else { body };
//!     stream.write_body_from_bytes(&reply, None)?;
//! }
//! # Ok::<(), pollhttp::Error>(())
//! ```
//!
//! The layers (see `docs/architecture.md`): the transport (socket, options, resolver thread)
//! -> the sans-IO protocol core (HTTP/1 here: httparse + our own chunked codec), which takes
//! bytes and the time and produces bytes, stream events and deadlines -> streams -> the caller.
//!
//! C programs use the same connections through the C ABI in [`ffi`] (`libpollhttp.a` or
//! `libpollhttp.so`, header `include/pollhttp.h`); `docs/embedding.md` shows every way to drive
//! a connection, from raw epoll to C.

#![warn(missing_docs)]

mod clock;
mod config;
mod connection;
mod date;
mod error;
pub mod ffi;
#[doc(hidden)]
pub mod fuzzing;
pub mod h1;
pub(crate) mod h2;
mod headers;
mod listener;
mod proto;
mod recv;
mod stream;
pub mod transport;
mod wait;

// TLS lives with the transport (src/transport/tls.rs); its public path stays `pollhttp::tls`.
#[doc(inline)]
pub use transport::tls;

pub use config::{Config, Http2Config};
pub use connection::{ClientOptions, Connection, IdleHandler, Target};
pub use error::{Error, ErrorKind, Result};
pub use h1::StreamState;
pub use headers::{Field, Headers};
pub use listener::{Listener, DEFAULT_BACKLOG};
pub use stream::Stream;
pub use tls::{TlsClientConfig, TlsInfo, TlsServerConfig};
pub use transport::{SockName, Socket};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// What a connection waits for: readable, writable, both, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interest {
    readable: bool,
    writable: bool,
}

impl Interest {
    /// Nothing to wait for.
    pub const NONE: Interest = Interest::new(false, false);
    /// Readable.
    pub const READABLE: Interest = Interest::new(true, false);
    /// Writable.
    pub const WRITABLE: Interest = Interest::new(false, true);
    /// Readable and writable.
    pub const BOTH: Interest = Interest::new(true, true);

    /// An interest from its two halves.
    pub const fn new(readable: bool, writable: bool) -> Interest {
        Interest { readable, writable }
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
