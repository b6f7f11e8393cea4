//! The server's TLS configuration: its certificates (one, or one per SNI name, chosen by
//! `SniResolver`), client-certificate verification against a CA file, the ALPN protocols it
//! selects, the handshake time limit and whether plaintext is served on the same port.

use super::certs::{load_certified_key, roots_from_file};
use super::{alpn_list, config_error, provider, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::error::{Error, ErrorKind, Result};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::ServerConfig;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How a server sets up TLS: its certificates (one, or one per SNI name), which HTTP versions
/// it selects through ALPN, how long a client may take for the handshake, and whether the
/// same port also takes plaintext HTTP.
///
/// Cheap to clone (the rustls configuration is shared).
#[derive(Clone)]
pub struct TlsServerConfig {
    pub(super) config: Arc<ServerConfig>,
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
