//! The idle handler (lua-http's `connection:onidle`): what it is given, and the guard that
//! keeps it from re-entering the connection that calls it.
//!
//! The handler runs inside a step, when the connection becomes idle. It gets an [`Idle`], a
//! view of the connection that can read its state and start a graceful shutdown, but cannot
//! step, flush, wait or read and write streams: in Rust that is the type's whole surface; the
//! C ABI, whose handler is given the connection itself, refuses those calls at run time while
//! the handler runs (`step()`, `try_flush()`, `flush()` and `connect()` fail with
//! `InvalidState`, and every blocking call goes through them).

use super::{Connection, Idle, OnIdle};
use crate::error::{Error, ErrorKind, Result};
use crate::tls::TlsInfo;
use crate::transport::SockName;
use crate::Role;

/// The view of a connection its handler gets; a program can make one to call a handler itself
/// (it is only a narrower borrow).
impl<'a> From<&'a mut Connection> for Idle<'a> {
    fn from(conn: &'a mut Connection) -> Idle<'a> {
        Idle { conn }
    }
}

impl Idle<'_> {
    /// Whether no exchange is in progress (true when the handler is called).
    pub fn is_idle(&self) -> bool {
        self.conn.is_idle()
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.conn.role()
    }

    /// The HTTP version the connection speaks.
    pub fn version(&self) -> http::Version {
        self.conn.version()
    }

    /// The local name; see [`Connection::localname`].
    ///
    /// # Errors
    /// `getsockname` failed.
    pub fn localname(&self) -> Result<SockName> {
        self.conn.localname()
    }

    /// The peer's name; see [`Connection::peername`].
    ///
    /// # Errors
    /// `getpeername` failed.
    pub fn peername(&self) -> Result<SockName> {
        self.conn.peername()
    }

    /// The TLS session; see [`Connection::checktls`].
    ///
    /// # Errors
    /// As [`Connection::checktls`].
    pub fn checktls(&self) -> Result<TlsInfo> {
        self.conn.checktls()
    }

    /// Starts a graceful shutdown; see [`Connection::shutdown`]. The connection closes from
    /// the loop's next steps, once what is buffered is out.
    pub fn shutdown(&mut self) {
        self.conn.shutdown();
    }

    /// The connection itself, for a binding whose handler is given the connection (the C
    /// ABI's, given a `pollhttp_conn*`); the run-time guard refuses the calls that would
    /// re-enter it. Valid during the handler's call only.
    pub fn connection_ptr(&mut self) -> *mut Connection {
        self.conn
    }
}

impl OnIdle {
    pub(super) fn new() -> OnIdle {
        OnIdle {
            handler: None,
            was_idle: true,
            running: false,
        }
    }

    /// Whether a handler is set and has not run since the connection became idle.
    pub(super) fn owed(&self, idle: bool) -> bool {
        self.handler.is_some() && !self.was_idle && idle
    }
}

impl Connection {
    /// Runs the idle handler, if one is set; it may replace itself through
    /// `Connection::onidle` only from the C ABI (Rust's `Idle` has no such call).
    pub(super) fn run_idle_handler(&mut self) {
        let Some(mut h) = self.idle.handler.take() else {
            return;
        };
        self.idle.running = true;
        h(&mut Idle::from(&mut *self));
        self.idle.running = false;
        if self.idle.handler.is_none() {
            self.idle.handler = Some(h);
        }
    }

    /// Refuses `call` while the idle handler or the watcher runs (it would re-enter the
    /// call that runs them).
    pub(super) fn not_reentered(&self, call: &str) -> Result<()> {
        if self.idle.running {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!(
                    "{call} was called from the connection's own idle handler, which runs inside \
                     a step; return from the handler and let the loop drive the connection"
                ),
            ));
        }
        if self.watcher_running() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!(
                    "{call} was called from the connection's own watcher, which runs at the end \
                     of a call on it; file what the watcher is told and let the loop drive the \
                     connection"
                ),
            ));
        }
        Ok(())
    }
}
