//! The TLS session over a non-blocking socket ([`TlsSession`]): plaintext in and out, TLS
//! records to and from the socket, the interests a pollable connection asks after each step
//! (`wants_write`, `read_ready`), errors in this library's terms, and the description of an
//! established session ([`TlsInfo`]).

use super::{config_error, TlsClientConfig, TlsInfo, TlsServerConfig};
use crate::error::{Error, ErrorKind, Result};
use rustls::pki_types::ServerName;
use std::fmt;
use std::io::{self, Read, Write};

fn version_name(v: Option<rustls::ProtocolVersion>) -> &'static str {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        Some(other) => other.as_str().unwrap_or("unknown"),
        None => "none",
    }
}

/// Tells a TLS ClientHello from anything else by the first bytes of a connection (for a port
/// that serves TLS and plaintext): `Some(true)` for a TLS handshake record (content type 22,
/// version 3.x), `Some(false)` for anything else, `None` when too few bytes came in to tell.
pub(crate) fn looks_like_tls(first: &[u8]) -> Option<bool> {
    match first {
        [] | [0x16] | [0x16, 0x03] => None,
        [0x16, 0x03, minor, ..] => Some(*minor <= 0x04),
        _ => Some(false),
    }
}

/// Whether bytes start like a TLS record of any type (handshake, alert, ...), for telling a
/// peer that speaks TLS badly from one that does not speak it at all.
fn is_tls_record(first: &[u8]) -> bool {
    match first {
        [t] => (20..=24).contains(t),
        [t, 3, ..] => (20..=24).contains(t),
        _ => false,
    }
}

/// Bytes of the connection's start kept to explain a handshake failure.
const FIRST_BYTES: usize = 16;

/// A socket reader that keeps a copy of the connection's first bytes.
struct Tap<'a, S> {
    sock: &'a mut S,
    first: &'a mut [u8; FIRST_BYTES],
    first_len: &'a mut usize,
}

impl<S: Read> Read for Tap<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(buf)?;
        if *self.first_len < FIRST_BYTES {
            let take = n.min(FIRST_BYTES - *self.first_len);
            self.first[*self.first_len..*self.first_len + take].copy_from_slice(&buf[..take]);
            *self.first_len += take;
        }
        Ok(n)
    }
}

/// An io::Error that carries the crate's error, for [`into_error`] to take back out.
fn io_error(kind: io::ErrorKind, e: Error) -> io::Error {
    io::Error::new(kind, e)
}

/// Turns an error from a [`TlsSession`] method into the crate's error: the session's own
/// errors (truncation, handshake and protocol failures) come back as they were made; an OS
/// error is described with `context`.
pub(crate) fn into_error(e: io::Error, context: &str) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(ours) => ours.clone(),
        None => Error::io(context, &e),
    }
}

fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\r' => "\\r".to_string(),
            b'\n' => "\\n".to_string(),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// One TLS session over a non-blocking socket: plaintext in and out, TLS records to and from
/// the socket, with no blocking and no clock.
///
/// The socket is passed to each call (`&mut S` where `S` reads and writes without blocking,
/// as [`crate::Socket`] does), so the connection keeps owning it.
pub(crate) struct TlsSession {
    conn: rustls::Connection,
    /// The SNI name we sent (client) or that the client sent (server, read from rustls).
    sent_name: Option<String>,
    first: [u8; FIRST_BYTES],
    first_len: usize,
    /// Decrypted bytes rustls holds that `read_plain` has not handed out yet.
    plain_pending: usize,
    /// The socket reported end of file.
    eof: bool,
    /// The peer's close_notify came in.
    peer_closed: bool,
    /// `read_plain` returned the end (`Ok(0)` or the truncation error).
    end_reported: bool,
    close_sent: bool,
    failed: Option<Error>,
}

impl fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSession")
            .field(
                "server",
                &matches!(self.conn, rustls::Connection::Server(_)),
            )
            .field("handshaking", &self.conn.is_handshaking())
            .field("plain_pending", &self.plain_pending)
            .field("eof", &self.eof)
            .field("close_sent", &self.close_sent)
            .field("failed", &self.failed)
            .finish()
    }
}

impl TlsSession {
    fn new(conn: rustls::Connection, sent_name: Option<String>) -> TlsSession {
        TlsSession {
            conn,
            sent_name,
            first: [0; FIRST_BYTES],
            first_len: 0,
            plain_pending: 0,
            eof: false,
            peer_closed: false,
            end_reported: false,
            close_sent: false,
            failed: None,
        }
    }

    /// A client session for `server_name`: a DNS name (sent as SNI and checked against the
    /// certificate) or an IP address (checked against the certificate's IP entries, no SNI).
    ///
    /// # Errors
    /// `server_name` is neither a DNS name nor an IP address.
    pub(crate) fn client(config: &TlsClientConfig, server_name: &str) -> Result<TlsSession> {
        let host = server_name
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(server_name);
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("TLS: {server_name:?} is neither a DNS name nor an IP address"),
            )
        })?;
        let sent = match &name {
            ServerName::DnsName(d) => Some(d.as_ref().to_string()),
            _ => None,
        };
        let conn = rustls::ClientConnection::new(config.config.clone(), name)
            .map_err(|e| config_error("TLS client session", &e))?;
        Ok(TlsSession::new(conn.into(), sent))
    }

    /// A server session for a freshly accepted connection.
    ///
    /// # Errors
    /// rustls refused the configuration.
    pub(crate) fn server(config: &TlsServerConfig) -> Result<TlsSession> {
        let conn = rustls::ServerConnection::new(config.config.clone())
            .map_err(|e| config_error("TLS server session", &e))?;
        Ok(TlsSession::new(conn.into(), None))
    }

    /// Whether the handshake is still going on.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether TLS records wait to be written: the connection needs the socket writable.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether the session can use bytes from the socket now: the connection needs the
    /// socket readable. False once the session ended or failed, and while decrypted
    /// plaintext waits to be read (backpressure: read that first, see [`Self::read_ready`]).
    pub(crate) fn wants_read(&self) -> bool {
        self.failed.is_none() && !self.eof && self.conn.wants_read()
    }

    /// Whether decrypted plaintext waits in the session.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn has_buffered_plaintext(&self) -> bool {
        self.plain_pending > 0
    }

    /// Whether [`Self::read_plain`] would return at once without touching the socket
    /// (plaintext, the clean end, a truncation or an error already known): the connection
    /// must step again without waiting for readability, or an edge-triggered loop stalls.
    pub(crate) fn read_ready(&self) -> bool {
        self.plain_pending > 0
            || (!self.end_reported && (self.eof || self.peer_closed || self.failed.is_some()))
    }

    /// The ALPN protocol agreed on, once the handshake is done.
    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// Whether the peer's close_notify came in.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// The session's description for `checktls()`.
    pub(crate) fn info(&self) -> TlsInfo {
        let server_name = match &self.conn {
            rustls::Connection::Server(s) => s.server_name().map(str::to_string),
            rustls::Connection::Client(_) => self.sent_name.clone(),
        };
        TlsInfo {
            version: version_name(self.conn.protocol_version()),
            cipher_suite: self
                .conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("none"),
            alpn: self.conn.alpn_protocol().map(<[u8]>::to_vec),
            server_name,
            peer_certificates: self
                .conn
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
                .unwrap_or_default(),
        }
    }

    /// Queues a close_notify alert; [`Self::flush_tls`] sends it. Plaintext written after it
    /// is refused.
    pub(crate) fn send_close_notify(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            self.conn.send_close_notify();
        }
    }

    /// Writes pending TLS records to the socket until it would block: `Ok(true)` when none is
    /// left.
    ///
    /// # Errors
    /// The socket failed (WouldBlock is not an error here).
    pub(crate) fn flush_tls<S: Write>(&mut self, sock: &mut S) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Takes plaintext to send, as much as the session's buffer (rustls' limit, 64 KiB by
    /// default) holds, and writes TLS records to the socket until it would block. Before the
    /// handshake is done the plaintext waits in the session. `Ok(n)` with `n < data.len()`
    /// when the buffer is full; the connection offers the rest after a writable event.
    ///
    /// # Errors
    /// WouldBlock when not one byte was taken; the socket failed; close_notify was sent
    /// already or the session failed.
    pub(crate) fn write_plain<S: Write>(&mut self, sock: &mut S, data: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io_error(io::ErrorKind::Other, e.clone()));
        }
        if self.close_sent {
            return Err(io_error(
                io::ErrorKind::BrokenPipe,
                Error::new(
                    ErrorKind::Closed,
                    "TLS: cannot write after close_notify was sent",
                ),
            ));
        }
        let mut taken = 0;
        loop {
            let n = self.conn.writer().write(&data[taken..])?;
            taken += n;
            let all_out = self.flush_tls(sock)?;
            if taken == data.len() || !all_out || n == 0 {
                break;
            }
        }
        if taken == 0 && !data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Reads plaintext: first what the session holds already, else TLS records from the
    /// socket until some plaintext comes out or the socket would block. Handshake replies
    /// (and key updates) are written out on the way, as far as the socket takes them.
    ///
    /// `Ok(0)` only once the peer's close_notify came in and every byte before it was read
    /// (`buf` must not be empty).
    ///
    /// # Errors
    /// - WouldBlock: nothing decrypted and the socket has nothing more now.
    /// - an error holding [`ErrorKind::Truncated`]: the socket ended without close_notify
    ///   (in the middle of the handshake or after it);
    /// - InvalidData holding [`ErrorKind::Tls`]: the peer broke TLS, sent plaintext, or
    ///   its certificate was refused; the alert for it has been sent as far as the socket
    ///   took it;
    /// - any other socket error.
    ///
    /// [`into_error`] turns each of these into the crate's [`Error`].
    pub(crate) fn read_plain<S: Read + Write>(
        &mut self,
        sock: &mut S,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        debug_assert!(!buf.is_empty(), "an empty buffer reads as the end");
        loop {
            if let Some(e) = &self.failed {
                self.end_reported = true;
                return Err(io_error(io::ErrorKind::InvalidData, e.clone()));
            }
            match self.conn.reader().read(buf) {
                Ok(n) => {
                    self.plain_pending = self.plain_pending.saturating_sub(n);
                    if n == 0 && !buf.is_empty() {
                        self.end_reported = true;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.end_reported = true;
                    return Err(io_error(io::ErrorKind::UnexpectedEof, self.truncation()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            self.plain_pending = 0;
            match self.read_tls(sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.process(sock)?;
            if self.conn.wants_write() {
                // Handshake messages and key updates go out now; a socket error shows again
                // at the connection's next write, where it is reported.
                if let Err(e) = self.flush_tls(sock) {
                    log::debug!("TLS: writing while reading: {e}");
                }
            }
        }
    }

    /// Moves the handshake on: writes what is pending, reads and processes what the socket
    /// has, until the handshake is done (`Ok(true)`) or the socket would block (`Ok(false)`;
    /// wait for [`Self::wants_write`] / [`Self::wants_read`]). Application data that arrives
    /// with the last handshake flight stays buffered ([`Self::read_ready`]).
    ///
    /// # Errors
    /// As [`Self::read_plain`]: a truncated handshake, a refused certificate, a protocol
    /// failure, a socket error.
    pub(crate) fn drive_handshake<S: Read + Write>(&mut self, sock: &mut S) -> io::Result<bool> {
        loop {
            if let Some(e) = &self.failed {
                return Err(io_error(io::ErrorKind::InvalidData, e.clone()));
            }
            self.flush_tls(sock)?;
            if !self.conn.is_handshaking() {
                return Ok(true);
            }
            if self.eof {
                self.end_reported = true;
                return Err(io_error(io::ErrorKind::UnexpectedEof, self.truncation()));
            }
            match self.read_tls(sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            self.process(sock)?;
        }
    }

    /// Reads TLS records from the socket into rustls, keeping a copy of the connection's
    /// first bytes; an end of file is noted (`eof`).
    fn read_tls<S: Read>(&mut self, sock: &mut S) -> io::Result<usize> {
        let n = self.conn.read_tls(&mut Tap {
            sock,
            first: &mut self.first,
            first_len: &mut self.first_len,
        })?;
        if n == 0 {
            self.eof = true;
        }
        Ok(n)
    }

    /// Runs rustls over what was read; on failure, sends the alert rustls queued and keeps
    /// the error.
    fn process<S: Write>(&mut self, sock: &mut S) -> io::Result<()> {
        match self.conn.process_new_packets() {
            Ok(state) => {
                self.plain_pending = state.plaintext_bytes_to_read();
                self.peer_closed = state.peer_has_closed();
                Ok(())
            }
            Err(e) => {
                let err = self.describe(&e);
                log::debug!("{err}");
                // The alert is a courtesy to the peer: the error is what matters.
                let _ = self.flush_tls(sock);
                self.failed = Some(err.clone());
                Err(io_error(io::ErrorKind::InvalidData, err))
            }
        }
    }

    /// The error for an end of file without close_notify.
    fn truncation(&self) -> Error {
        if self.conn.is_handshaking() {
            if self.first_len == 0 {
                Error::new(
                    ErrorKind::Truncated,
                    "TLS handshake: the peer closed the connection before sending anything",
                )
            } else {
                Error::new(
                    ErrorKind::Truncated,
                    "TLS handshake: the peer closed the connection in the middle of the handshake",
                )
            }
        } else {
            Error::new(
                ErrorKind::Truncated,
                "TLS: the peer closed the connection without close_notify (data may be truncated)",
            )
        }
    }

    /// A message for a rustls error that says what happened in the terms of this library.
    fn describe(&self, e: &rustls::Error) -> Error {
        use rustls::{CertificateError, Error as E};
        let handshaking = self.conn.is_handshaking();
        let first = &self.first[..self.first_len];
        let server = matches!(self.conn, rustls::Connection::Server(_));
        let what = if handshaking {
            "TLS handshake failed"
        } else {
            "TLS error"
        };
        let peer = if server { "client" } else { "server" };
        let msg = match e {
            _ if handshaking && !first.is_empty() && !is_tls_record(first) => format!(
                "{what}: the {peer} does not speak TLS: it sent plaintext starting with \"{}\"",
                printable(first)
            ),
            E::InvalidCertificate(CertificateError::Expired)
            | E::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
                format!("{what}: the {peer}'s certificate has expired ({e})")
            }
            E::InvalidCertificate(CertificateError::UnknownIssuer) => {
                format!("{what}: the {peer}'s certificate is not signed by a trusted CA ({e})")
            }
            E::InvalidCertificate(CertificateError::NotValidForName)
            | E::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => format!(
                "{what}: the {peer}'s certificate is not valid for the name asked for ({e})"
            ),
            E::AlertReceived(alert) => {
                format!("{what}: the {peer} refused the session (alert {alert:?})")
            }
            E::NoApplicationProtocol => {
                format!("{what}: no ALPN protocol in common with the {peer} (we offer h2 and http/1.1 only)")
            }
            E::PeerIncompatible(p) => format!(
                "{what}: the {peer} has no TLS version, cipher suite or key exchange in common with us ({p:?})"
            ),
            other => format!("{what}: {other}"),
        };
        Error::new(ErrorKind::Tls, msg).with_source(e.clone())
    }
}
