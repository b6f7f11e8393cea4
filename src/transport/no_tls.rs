//! `crate::tls` without the `tls` feature: no rustls, and no TLS session, ever.
//!
//! The connection keeps its TLS slots (`Option<Box<TlsSession>>`, a listener's and a mixed
//! port's `Option<TlsServerConfig>`), and its code that drives a session stays as it is: the
//! types here have no value, so those slots are always `None`, the code behind them cannot run
//! (each method is an empty `match`), and the optimiser leaves it out. The public face of TLS
//! (the configurations, `Listener::with_tls`, `Connection::server_with_tls`,
//! `ClientOptions::tls`) is not there at all; `checktls()` stays, and says `NoTls`.

use crate::error::{Error, Result};
use std::io::{self, Read, Write};

pub(crate) use super::TlsInfo;

/// The ALPN protocol id of HTTP/2 (what a handshake that cannot happen would compare with).
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// The value none of the types below can hold. Their field of this type is private: outside
/// this module they look like ordinary types, so code that handles them is not reported as
/// unreachable, only never run.
#[derive(Debug, Clone)]
enum Never {}

/// No TLS session can exist.
#[derive(Debug)]
pub(crate) struct TlsSession(Never);

/// No server TLS settings can exist.
#[derive(Debug, Clone)]
pub(crate) struct TlsServerConfig(Never);

/// No client TLS settings can exist.
#[derive(Debug, Clone)]
pub(crate) struct TlsClientConfig(Never);

impl TlsClientConfig {
    pub(crate) fn offer_h2(self, _on: bool) -> TlsClientConfig {
        match self.0 {}
    }
}

impl TlsSession {
    pub(crate) fn client(config: &TlsClientConfig, _server_name: &str) -> Result<TlsSession> {
        match config.0 {}
    }

    pub(crate) fn server(config: &TlsServerConfig) -> Result<TlsSession> {
        match config.0 {}
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        match self.0 {}
    }

    pub(crate) fn wants_write(&self) -> bool {
        match self.0 {}
    }

    pub(crate) fn wants_read(&self) -> bool {
        match self.0 {}
    }

    pub(crate) fn read_ready(&self) -> bool {
        match self.0 {}
    }

    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        match self.0 {}
    }

    pub(crate) fn info(&self) -> TlsInfo {
        match self.0 {}
    }

    pub(crate) fn send_close_notify(&mut self) {
        match self.0 {}
    }

    pub(crate) fn flush_tls<S: Write>(&mut self, _sock: &mut S) -> io::Result<bool> {
        match self.0 {}
    }

    pub(crate) fn write_plain<S: Write>(
        &mut self,
        _sock: &mut S,
        _data: &[u8],
    ) -> io::Result<usize> {
        match self.0 {}
    }

    pub(crate) fn read_plain<S: Read + Write>(
        &mut self,
        _sock: &mut S,
        _buf: &mut [u8],
    ) -> io::Result<usize> {
        match self.0 {}
    }

    pub(crate) fn drive_handshake<S: Read + Write>(&mut self, _sock: &mut S) -> io::Result<bool> {
        match self.0 {}
    }
}

/// Nothing is TLS here (only asked on a port that serves TLS, which cannot exist).
pub(crate) fn looks_like_tls(_first: &[u8]) -> Option<bool> {
    Some(false)
}

/// An OS error from a socket call, described with `context` (with TLS, a session's own errors
/// come back through the same call).
pub(crate) fn into_error(e: io::Error, context: &str) -> Error {
    Error::io(context, &e)
}
