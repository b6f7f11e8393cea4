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

use crate::error::{Error, ErrorKind, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
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

// ----------------------------------------------------------------------------------------------
// PEM files
// ----------------------------------------------------------------------------------------------

fn pem_error(path: &Path, what: &str, e: rustls::pki_types::pem::Error) -> Error {
    use rustls::pki_types::pem::Error as P;
    match e {
        P::Io(io) => Error::io(&format!("reading {what} file {}", path.display()), &io),
        P::NoItemsFound => Error::new(
            ErrorKind::InvalidInput,
            format!("no {what} found in PEM file {}", path.display()),
        ),
        other => Error::new(
            ErrorKind::InvalidInput,
            format!("bad PEM in {what} file {}: {other}", path.display()),
        ),
    }
}

/// Every certificate in a PEM file, in order; an error if there is none.
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let iter =
        CertificateDer::pem_file_iter(path).map_err(|e| pem_error(path, "certificate", e))?;
    let certs = iter
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificate", e))?;
    if certs.is_empty() {
        return Err(pem_error(
            path,
            "certificate",
            rustls::pki_types::pem::Error::NoItemsFound,
        ));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, "private key", e))
}

/// A certificate chain and its key, checked to belong together.
fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey> {
    let chain = load_certs(cert)?;
    let key_der = load_key(key)?;
    CertifiedKey::from_der(chain, key_der, &provider()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "TLS key {} does not fit certificate {}: {e}",
                key.display(),
                cert.display()
            ),
        )
    })
}

fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("bad CA certificate in {}: {e}", path.display()),
            )
        })?;
    }
    Ok(roots)
}

// ----------------------------------------------------------------------------------------------
// Client configuration
// ----------------------------------------------------------------------------------------------

/// How a client connection sets up TLS: which servers it trusts, its own certificate if any,
/// and which HTTP versions it offers through ALPN.
///
/// Cheap to clone (the rustls configuration is shared).
#[derive(Clone)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
    h2: bool,
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl TlsClientConfig {
    fn from_roots(roots: RootCertStore) -> TlsClientConfig {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsClientConfig::from_config(config, true)
    }

    fn from_config(mut config: ClientConfig, h2: bool) -> TlsClientConfig {
        config.alpn_protocols = alpn_list(h2);
        TlsClientConfig {
            config: Arc::new(config),
            h2,
        }
    }

    /// Verifies servers against the Mozilla root certificates (the `webpki-roots` crate), as a
    /// browser would. Offers `h2` and `http/1.1`.
    pub fn webpki_roots() -> TlsClientConfig {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        TlsClientConfig::from_roots(roots)
    }

    /// Verifies servers against the CA certificates in a PEM file (and nothing else).
    ///
    /// # Errors
    /// The file cannot be read, holds no certificate, or a certificate in it is not a usable
    /// trust anchor.
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<TlsClientConfig> {
        Ok(TlsClientConfig::from_roots(roots_from_file(path.as_ref())?))
    }

    /// Does not verify the server at all: any certificate, any name, expired or not, is
    /// accepted (handshake signatures are still checked, so the session is encrypted, but an
    /// attacker in the middle goes unnoticed). For tests and for talking to a server with a
    /// self-signed certificate you trust by other means; never for the open network.
    pub fn insecure() -> TlsClientConfig {
        let provider = provider();
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth();
        TlsClientConfig::from_config(config, true)
    }

    /// Uses a configuration the caller built with rustls (its own verifier, versions, cipher
    /// suites, session cache ...). The ALPN list is replaced by ours (`h2`, `http/1.1`), since
    /// the negotiated protocol decides which HTTP version the connection speaks.
    pub fn from_rustls(config: Arc<ClientConfig>) -> TlsClientConfig {
        TlsClientConfig::from_config(Arc::unwrap_or_clone(config), true)
    }

    /// Presents a client certificate: the chain (leaf first) and its private key, from PEM
    /// files.
    ///
    /// # Errors
    /// A file cannot be read, holds no certificate or no key, or the key does not belong to
    /// the certificate.
    pub fn with_client_cert(
        self,
        chain_pem: impl AsRef<Path>,
        key_pem: impl AsRef<Path>,
    ) -> Result<TlsClientConfig> {
        let ck = load_certified_key(chain_pem.as_ref(), key_pem.as_ref())?;
        let mut config = Arc::unwrap_or_clone(self.config);
        config.client_auth_cert_resolver = Arc::new(SingleCertAndKey::from(ck));
        Ok(TlsClientConfig {
            config: Arc::new(config),
            h2: self.h2,
        })
    }

    /// Whether to offer HTTP/2 (`h2`) besides `http/1.1` in ALPN (the default); `false` for a
    /// connection that speaks HTTP/1.1 only. A connection offers `h2` only when it asks for
    /// HTTP/2 (`ClientOptions::version`) and this is on.
    pub fn offer_h2(self, on: bool) -> TlsClientConfig {
        if on == self.h2 {
            return self;
        }
        TlsClientConfig::from_config(Arc::unwrap_or_clone(self.config), on)
    }

    /// The ALPN protocols offered, most preferred first.
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.config.alpn_protocols
    }

    /// The rustls configuration in use.
    pub fn rustls_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

/// The verifier behind [`TlsClientConfig::insecure`]: accepts every certificate, but still
/// checks that the handshake is signed by the key in it.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

// ----------------------------------------------------------------------------------------------
// Server configuration
// ----------------------------------------------------------------------------------------------

/// How a server sets up TLS: its certificates (one, or one per SNI name), which HTTP versions
/// it selects through ALPN, how long a client may take for the handshake, and whether the
/// same port also takes plaintext HTTP.
///
/// Cheap to clone (the rustls configuration is shared).
#[derive(Clone)]
pub struct TlsServerConfig {
    config: Arc<ServerConfig>,
    h2: bool,
    handshake_timeout: Option<Duration>,
    allow_plaintext: bool,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("alpn", &self.config.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("allow_plaintext", &self.allow_plaintext)
            .finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    fn from_config(mut config: ServerConfig) -> TlsServerConfig {
        config.alpn_protocols = alpn_list(true);
        TlsServerConfig {
            config: Arc::new(config),
            h2: true,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            allow_plaintext: false,
        }
    }

    fn with_config(self, mut config: ServerConfig) -> TlsServerConfig {
        config.alpn_protocols = alpn_list(self.h2);
        TlsServerConfig {
            config: Arc::new(config),
            ..self
        }
    }

    /// Serves the certificate chain (leaf first) in `cert_pem` with the private key in
    /// `key_pem`; selects `h2` or `http/1.1` through ALPN.
    ///
    /// # Errors
    /// A file cannot be read, holds no certificate or no key, or the key does not belong to
    /// the certificate.
    pub fn from_pem_files(
        cert_pem: impl AsRef<Path>,
        key_pem: impl AsRef<Path>,
    ) -> Result<TlsServerConfig> {
        let ck = load_certified_key(cert_pem.as_ref(), key_pem.as_ref())?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(ck)));
        Ok(TlsServerConfig::from_config(config))
    }

    /// Uses a configuration the caller built with rustls. The ALPN list is replaced by ours
    /// (`h2`, `http/1.1`), since the negotiated protocol decides the HTTP version.
    pub fn from_rustls(config: Arc<ServerConfig>) -> TlsServerConfig {
        TlsServerConfig::from_config(Arc::unwrap_or_clone(config))
    }

    /// Chooses the certificate by the name the client asks for (SNI): each entry is a name
    /// (`example.com`, or `*.example.com` for any one label in front), a certificate chain PEM
    /// file and its key PEM file. A client that sends no name, or one not listed, gets the
    /// certificate this configuration had before.
    ///
    /// # Errors
    /// A file cannot be read or does not hold a certificate and its matching key.
    pub fn with_sni<N, C, K>(self, entries: Vec<(N, C, K)>) -> Result<TlsServerConfig>
    where
        N: AsRef<str>,
        C: AsRef<Path>,
        K: AsRef<Path>,
    {
        let mut by_name = HashMap::new();
        for (name, cert, key) in entries {
            let ck = load_certified_key(cert.as_ref(), key.as_ref())?;
            by_name.insert(name.as_ref().to_ascii_lowercase(), Arc::new(ck));
        }
        let mut config = (*self.config).clone();
        config.cert_resolver = Arc::new(SniResolver {
            by_name,
            fallback: config.cert_resolver.clone(),
        });
        Ok(self.with_config(config))
    }

    /// Asks clients for a certificate issued by a CA in `ca_pem` and verifies it; with
    /// `required` false, a client without a certificate is still served. The certificate
    /// choice and ALPN of this configuration are kept; other settings of a caller-built
    /// rustls configuration (versions, session storage, ...) go back to the defaults.
    ///
    /// # Errors
    /// The CA file cannot be read or holds no usable CA certificate.
    pub fn with_client_ca_file(
        self,
        ca_pem: impl AsRef<Path>,
        required: bool,
    ) -> Result<TlsServerConfig> {
        let path = ca_pem.as_ref();
        let roots = Arc::new(roots_from_file(path)?);
        let mut builder = WebPkiClientVerifier::builder_with_provider(roots, provider());
        if !required {
            builder = builder.allow_unauthenticated();
        }
        let verifier = builder.build().map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("client CA file {}: {e}", path.display()),
            )
        })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("TLS server configuration", &e))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(self.config.cert_resolver.clone());
        Ok(self.with_config(config))
    }

    /// Whether to select HTTP/2 (`h2`) when the client offers it (the default); `false` for a
    /// server that speaks HTTP/1.1 only.
    pub fn offer_h2(mut self, on: bool) -> TlsServerConfig {
        if on == self.h2 {
            return self;
        }
        self.h2 = on;
        let config = (*self.config).clone();
        self.with_config(config)
    }

    /// How long a client has to complete the handshake after the connection is accepted
    /// (default [`DEFAULT_HANDSHAKE_TIMEOUT`]); `None` for no limit.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> TlsServerConfig {
        self.handshake_timeout = timeout;
        self
    }

    /// Whether the same port also serves plaintext HTTP: the listener tells a TLS
    /// ClientHello from an HTTP request by the first bytes (off by default).
    pub fn allow_plaintext(mut self, on: bool) -> TlsServerConfig {
        self.allow_plaintext = on;
        self
    }

    /// The handshake time limit.
    pub fn get_handshake_timeout(&self) -> Option<Duration> {
        self.handshake_timeout
    }

    /// Whether plaintext HTTP is served on the same port.
    pub fn allows_plaintext(&self) -> bool {
        self.allow_plaintext
    }

    /// The ALPN protocols selected from, most preferred first.
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.config.alpn_protocols
    }

    /// The rustls configuration in use.
    pub fn rustls_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }
}

/// Picks a server certificate by SNI name, exact or one-label wildcard, else the fallback.
#[derive(Debug)]
struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    fallback: Arc<dyn ResolvesServerCert>,
}

impl SniResolver {
    fn find(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = name.to_ascii_lowercase();
        if let Some(ck) = self.by_name.get(&name) {
            return Some(ck);
        }
        let (_, parent) = name.split_once('.')?;
        self.by_name.get(&format!("*.{parent}"))
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(ck) = hello.server_name().and_then(|n| self.find(n)) {
            return Some(ck.clone());
        }
        self.fallback.resolve(hello)
    }
}

// ----------------------------------------------------------------------------------------------
// Session description
// ----------------------------------------------------------------------------------------------

/// What `checktls()` reports about an established TLS session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The protocol version: `"TLSv1.3"` or `"TLSv1.2"`.
    pub version: &'static str,
    /// The cipher suite, as IANA names it (`"TLS13_AES_256_GCM_SHA384"` ...).
    pub cipher_suite: &'static str,
    /// The ALPN protocol agreed on (`b"h2"`, `b"http/1.1"`), if any.
    pub alpn: Option<Vec<u8>>,
    /// The SNI name: on a server, what the client asked for; on a client, what it sent (none
    /// when the target was an IP address).
    pub server_name: Option<String>,
    /// The peer's certificate chain, DER-encoded, leaf first (empty when the peer sent none,
    /// as most clients do).
    pub peer_certificates: Vec<Vec<u8>>,
}

impl TlsInfo {
    /// The ALPN protocol as text, if one was agreed on.
    pub fn alpn_str(&self) -> Option<&str> {
        self.alpn
            .as_deref()
            .and_then(|a| std::str::from_utf8(a).ok())
    }
}

fn version_name(v: Option<rustls::ProtocolVersion>) -> &'static str {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        Some(other) => other.as_str().unwrap_or("unknown"),
        None => "none",
    }
}

// ----------------------------------------------------------------------------------------------
// The session
// ----------------------------------------------------------------------------------------------

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
            let read = self.conn.read_tls(&mut Tap {
                sock: &mut *sock,
                first: &mut self.first,
                first_len: &mut self.first_len,
            });
            match read {
                Ok(0) => self.eof = true,
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
            let read = self.conn.read_tls(&mut Tap {
                sock: &mut *sock,
                first: &mut self.first,
                first_len: &mut self.first_len,
            });
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            self.process(sock)?;
        }
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

#[cfg(test)]
mod tests;
