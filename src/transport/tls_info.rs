//! What `checktls()` reports about a connection's TLS session. Outside the `tls` module, so that
//! `checktls()` means the same with and without the `tls` feature: without it no connection
//! has a session, and `checktls()` is always an error of kind `NoTls`.

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
