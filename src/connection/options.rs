//! What a client connection is opened with: where to, and how.

use crate::config::Config;
use crate::tls::TlsClientConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a client connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name (resolved off the caller's thread) or address literal, and a port.
    Host(String, u16),
    /// An address: no resolution.
    Addr(SocketAddr),
    /// A Unix-domain socket path.
    Unix(PathBuf),
}

impl Target {
    /// The value of the `:authority` a request to this target carries by default.
    pub fn authority(&self) -> String {
        match self {
            Target::Host(h, p) if h.contains(':') => format!("[{h}]:{p}"),
            Target::Host(h, p) => format!("{h}:{p}"),
            Target::Addr(a) => a.to_string(),
            Target::Unix(_) => "localhost".to_string(),
        }
    }
}

/// Options of a client connection.
///
/// Build it as `ClientOptions { version, ..ClientOptions::default() }` rather than naming every
/// field: the `tls` field is there only with the `tls` feature (on by default), and a crate
/// elsewhere in a program's dependencies may turn that on.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The HTTP version to speak: `HTTP_10`, `HTTP_11` or `HTTP_2`. Over plaintext, `HTTP_2`
    /// starts as HTTP/1.1 and offers `Upgrade: h2c` with the first request (when it has no
    /// body; the connection stays HTTP/1.1 if the server declines), unless
    /// [`http2_prior_knowledge`](Self::http2_prior_knowledge) is set.
    pub version: http::Version,
    /// With `version: HTTP_2` over plaintext: speak HTTP/2 from the first byte (RFC 9113
    /// §3.3), for a server known to accept it.
    pub http2_prior_knowledge: bool,
    /// Limits and timeouts.
    pub config: Arc<Config>,
    /// TLS (https): the handshake is part of connecting; with `version: HTTP_2` ALPN offers
    /// `h2` and `http/1.1` and the server's choice decides the version. The server name
    /// checked and sent as SNI is the target's host.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<TlsClientConfig>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            version: http::Version::HTTP_11,
            http2_prior_knowledge: false,
            config: Arc::new(Config::default()),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientOptions {
    /// The TLS settings, if any: never without the `tls` feature.
    pub(crate) fn tls_config(&self) -> Option<&TlsClientConfig> {
        #[cfg(feature = "tls")]
        return self.tls.as_ref();
        #[cfg(not(feature = "tls"))]
        None
    }
}
