//! TLS for both roles, on rustls (ring provider), kept inside the pollable contract.
//!
//! This module sits between the socket and the protocol core (`socket -> TLS -> core`): it
//! turns ciphertext read from a non-blocking socket into plaintext for the core, and the
//! core's plaintext into TLS records for the socket, and it never blocks, never reads the
//! clock and knows nothing of HTTP. ALPN (`h2`, `http/1.1`) is the one piece of HTTP it
//! touches: it offers the protocols, and the connection reads the outcome with
//! `TlsSession::alpn` to pick the HTTP/1 or HTTP/2 core.
//!
//! The public face is configuration ([`TlsClientConfig`], [`TlsServerConfig`]) and the
//! description of an established session ([`TlsInfo`]). The session itself
//! (`TlsSession`) is crate-private: it answers the two questions a pollable connection must
//! ask after each step, "are TLS bytes waiting for the socket to be writable?"
//! (`TlsSession::wants_write`) and "is something already decrypted, so that a step is due
//! without waiting for the socket?" (`TlsSession::read_ready`), so that neither a
//! level-triggered loop spins nor an edge-triggered loop stalls.
//!
//! Errors keep rustls' precision (which rule the peer broke, which certificate check failed)
//! and add what rustls cannot know, such as "the peer sent plaintext HTTP to a TLS port".
//!
//! Split by concern: loading PEM files (`certs`), the client's configuration (`client`), the
//! server's with its SNI choice and client-certificate verification (`server`), and the
//! session with its description (`session`).

mod certs;
mod client;
mod server;
mod session;

pub use super::TlsInfo;
pub use client::TlsClientConfig;
pub use server::TlsServerConfig;
pub(crate) use session::{into_error, looks_like_tls, TlsSession};

use crate::error::{Error, ErrorKind};
use rustls::crypto::CryptoProvider;
use std::sync::Arc;
use std::time::Duration;

/// The ALPN protocol id of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// The ALPN protocol id of HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Handshake time a server gives a client by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn alpn_list(h2: bool) -> Vec<Vec<u8>> {
    if h2 {
        vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()]
    } else {
        vec![ALPN_HTTP11.to_vec()]
    }
}

fn config_error(what: &str, e: &rustls::Error) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("{what}: {e}"))
}

#[cfg(test)]
mod tests;
