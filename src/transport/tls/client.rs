//! The client's TLS configuration: which servers it trusts, its own certificate, the ALPN
//! protocols it offers, and the verifier that trusts anything (`insecure`).

use super::certs::{load_certified_key, roots_from_file};
use super::{alpn_list, provider};
use crate::error::Result;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::SingleCertAndKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// How a client connection sets up TLS: which servers it trusts, its own certificate if any,
/// and which HTTP versions it offers through ALPN.
///
/// Cheap to clone (the rustls configuration is shared).
#[derive(Clone)]
pub struct TlsClientConfig {
    pub(super) config: Arc<ClientConfig>,
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
