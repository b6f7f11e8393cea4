//! The C face of TLS: the client settings (`pollhttp_tls_client`, a [`TlsClientConfig`]), the
//! server settings (`pollhttp_tls_server`, a [`TlsServerConfig`]) and the details of an
//! established session (`pollhttp_tls_info`, a snapshot of [`TlsInfo`] that owns the strings
//! it hands out). Settings are changed through `update_settings`, so a failed change leaves
//! them as they were.

use super::boundary::{
    cstring_lossy, free_call, give_handle, put_opt, status_call, timeout_arg, update_settings,
    value_call,
};
use crate::{TlsClientConfig, TlsInfo, TlsServerConfig};
use std::ffi::{c_char, c_int, CString};

// ------------------------------------------------------------------------------------------------
// Client settings
// ------------------------------------------------------------------------------------------------

/// Client TLS settings (C: `pollhttp_tls_client*`): a [`TlsClientConfig`]. Owned by the caller
/// from a `pollhttp_tls_client_new_*` call until [`pollhttp_tls_client_free`]; a client made
/// with it keeps its own reference, so it may be freed right after.
pub struct pollhttp_tls_client(pub(super) TlsClientConfig);

/// Client TLS that verifies servers against the Mozilla root certificates (built in, as a
/// browser would). Owned by the caller: free with [`pollhttp_tls_client_free`].
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_new_webpki_roots() -> *mut pollhttp_tls_client {
    const F: &str = "pollhttp_tls_client_new_webpki_roots";
    value_call(F, std::ptr::null_mut(), |_| {
        Ok(give_handle(pollhttp_tls_client(
            TlsClientConfig::webpki_roots(),
        )))
    })
}

/// Client TLS that verifies servers against the CA certificates in the PEM file at
/// `ca_pem_path` (and nothing else). Owned by the caller; NULL with the last error set when
/// the file cannot be read or holds no usable CA certificate.
///
/// # Safety
/// `ca_pem_path` is a NUL-terminated string (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_new_ca_file(
    ca_pem_path: *const c_char,
) -> *mut pollhttp_tls_client {
    const F: &str = "pollhttp_tls_client_new_ca_file";
    value_call(F, std::ptr::null_mut(), |cx| {
        let p = cx.str_arg(ca_pem_path, "ca_pem_path")?;
        Ok(give_handle(pollhttp_tls_client(
            TlsClientConfig::with_ca_file(p)?,
        )))
    })
}

/// Client TLS that does not verify the server at all (any certificate, any name): the session
/// is encrypted, but an attacker in the middle goes unnoticed. For tests and self-signed
/// servers trusted by other means only. Owned by the caller.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_new_insecure() -> *mut pollhttp_tls_client {
    const F: &str = "pollhttp_tls_client_new_insecure";
    value_call(F, std::ptr::null_mut(), |_| {
        Ok(give_handle(
            pollhttp_tls_client(TlsClientConfig::insecure()),
        ))
    })
}

/// Presents a client certificate: the chain (leaf first) in `chain_pem_path` and its private
/// key in `key_pem_path`. On failure (a file unreadable, no certificate or key, a key that
/// does not fit) `tls` is unchanged. Clients made earlier with `tls` are not affected.
///
/// # Safety
/// `tls` is a valid client TLS setting; the paths are NUL-terminated strings (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_set_client_cert(
    tls: *mut pollhttp_tls_client,
    chain_pem_path: *const c_char,
    key_pem_path: *const c_char,
) -> c_int {
    status_call("pollhttp_tls_client_set_client_cert", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        let chain = cx.str_arg(chain_pem_path, "chain_pem_path")?;
        let key = cx.str_arg(key_pem_path, "key_pem_path")?;
        update_settings(&mut t.0, |t| t.with_client_cert(chain, key))
    })
}

/// Non-zero (the default): ALPN offers `h2` as well as `http/1.1` when the connection asks
/// for HTTP/2 (version 20); zero: `http/1.1` only. Clients made earlier with `tls` are not
/// affected.
///
/// # Safety
/// `tls` is NULL or a valid client TLS setting.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_set_offer_h2(
    tls: *mut pollhttp_tls_client,
    on: c_int,
) -> c_int {
    status_call("pollhttp_tls_client_set_offer_h2", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        update_settings(&mut t.0, |t| Ok(t.offer_h2(on != 0)))
    })
}

/// Frees client TLS settings. NULL is a no-op. Clients made with them keep their own copy.
///
/// # Safety
/// `tls` is NULL or a setting the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_free(tls: *mut pollhttp_tls_client) {
    free_call("pollhttp_tls_client_free", tls)
}

// ------------------------------------------------------------------------------------------------
// Server settings
// ------------------------------------------------------------------------------------------------

/// Server TLS settings (C: `pollhttp_tls_server*`): a [`TlsServerConfig`]. Owned by the caller
/// from [`pollhttp_tls_server_new_pem`] until [`pollhttp_tls_server_free`]; a listener given
/// it keeps its own reference, so it may be freed right after.
pub struct pollhttp_tls_server(pub(super) TlsServerConfig);

/// Server TLS with the certificate chain (leaf first) in the PEM file `cert_pem_path` and its
/// private key in `key_pem_path`; ALPN selects `h2` or `http/1.1`; a client has 10 s for the
/// handshake; plaintext is refused. Owned by the caller: free with
/// [`pollhttp_tls_server_free`]. NULL with the last error set when a file cannot be read,
/// holds no certificate or key, or the key does not fit the certificate.
///
/// # Safety
/// The paths are NUL-terminated strings (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_new_pem(
    cert_pem_path: *const c_char,
    key_pem_path: *const c_char,
) -> *mut pollhttp_tls_server {
    value_call("pollhttp_tls_server_new_pem", std::ptr::null_mut(), |cx| {
        let cert = cx.str_arg(cert_pem_path, "cert_pem_path")?;
        let key = cx.str_arg(key_pem_path, "key_pem_path")?;
        Ok(give_handle(pollhttp_tls_server(
            TlsServerConfig::from_pem_files(cert, key)?,
        )))
    })
}

/// Serves the certificate in `cert_pem_path` (chain, leaf first) with the key in
/// `key_pem_path` to clients that ask for `name` by SNI (`example.com`, or `*.example.com`
/// for any one label in front); others get the certificate chosen before. Call once per name.
/// On failure `tls` is unchanged.
///
/// # Safety
/// `tls` is a valid server TLS setting; the strings are NUL-terminated (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_add_sni(
    tls: *mut pollhttp_tls_server,
    name: *const c_char,
    cert_pem_path: *const c_char,
    key_pem_path: *const c_char,
) -> c_int {
    status_call("pollhttp_tls_server_add_sni", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        let n = cx.str_arg(name, "name")?;
        let cert = cx.str_arg(cert_pem_path, "cert_pem_path")?;
        let key = cx.str_arg(key_pem_path, "key_pem_path")?;
        update_settings(&mut t.0, |t| t.with_sni(vec![(n, cert, key)]))
    })
}

/// Asks clients for a certificate issued by a CA in `ca_pem_path` and verifies it (mutual
/// TLS); with `required` zero, a client without a certificate is still served (one with a
/// certificate that does not verify is not). The certificate choice (SNI included) and ALPN
/// are kept. On failure (the file unreadable, no usable CA certificate in it) `tls` is
/// unchanged.
///
/// # Safety
/// `tls` is NULL or a valid server TLS setting; the path is a NUL-terminated string (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_set_client_ca_file(
    tls: *mut pollhttp_tls_server,
    ca_pem_path: *const c_char,
    required: c_int,
) -> c_int {
    status_call("pollhttp_tls_server_set_client_ca_file", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        let ca = cx.str_arg(ca_pem_path, "ca_pem_path")?;
        update_settings(&mut t.0, |t| t.with_client_ca_file(ca, required != 0))
    })
}

/// Non-zero (the default): ALPN selects `h2` when the client offers it; zero: HTTP/1.1 only.
///
/// # Safety
/// `tls` is NULL or a valid server TLS setting.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_set_offer_h2(
    tls: *mut pollhttp_tls_server,
    on: c_int,
) -> c_int {
    status_call("pollhttp_tls_server_set_offer_h2", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        update_settings(&mut t.0, |t| Ok(t.offer_h2(on != 0)))
    })
}

/// Non-zero: the same port also serves plaintext HTTP (the first bytes tell a TLS ClientHello
/// from an HTTP request); zero (the default) refuses plaintext.
///
/// # Safety
/// `tls` is NULL or a valid server TLS setting.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_set_allow_plaintext(
    tls: *mut pollhttp_tls_server,
    on: c_int,
) -> c_int {
    status_call("pollhttp_tls_server_set_allow_plaintext", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        update_settings(&mut t.0, |t| Ok(t.allow_plaintext(on != 0)))
    })
}

/// The time a client has to complete the handshake once accepted (default 10 s); negative for
/// no limit.
///
/// # Safety
/// `tls` is NULL or a valid server TLS setting.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_set_handshake_timeout(
    tls: *mut pollhttp_tls_server,
    timeout_ms: c_int,
) -> c_int {
    status_call("pollhttp_tls_server_set_handshake_timeout", |cx| {
        let t = cx.arg_mut(tls, "tls")?;
        update_settings(&mut t.0, |t| {
            Ok(t.handshake_timeout(timeout_arg(timeout_ms)))
        })
    })
}

/// Frees server TLS settings. NULL is a no-op. Listeners given them keep their own copy.
///
/// # Safety
/// `tls` is NULL or a setting the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_server_free(tls: *mut pollhttp_tls_server) {
    free_call("pollhttp_tls_server_free", tls)
}

// ------------------------------------------------------------------------------------------------
// Session details
// ------------------------------------------------------------------------------------------------

/// The details of an established TLS session (C: `pollhttp_tls_info*`), a snapshot taken by
/// [`pollhttp_conn_try_get_tls_info`](super::pollhttp_conn_try_get_tls_info). Owned by the caller
/// until [`pollhttp_tls_info_free`]; the strings and bytes its accessors hand out point into
/// it and live exactly as long.
pub struct pollhttp_tls_info {
    version: CString,
    cipher_suite: CString,
    alpn: Option<CString>,
    server_name: Option<CString>,
    peer_certificates: Vec<Vec<u8>>,
}

pub(super) fn tls_info(i: TlsInfo) -> pollhttp_tls_info {
    pollhttp_tls_info {
        version: cstring_lossy(i.version),
        cipher_suite: cstring_lossy(i.cipher_suite),
        alpn: i
            .alpn
            .as_deref()
            .map(|a| cstring_lossy(&String::from_utf8_lossy(a))),
        server_name: i.server_name.as_deref().map(cstring_lossy),
        peer_certificates: i.peer_certificates,
    }
}

/// An optional string of a session as C gets it: NULL for none.
fn optional_str(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The protocol version, `"TLSv1.3"` or `"TLSv1.2"` (NULL for a NULL `info`). The string lives
/// as long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_version(
    info: *const pollhttp_tls_info,
) -> *const c_char {
    value_call("pollhttp_tls_info_version", std::ptr::null(), |cx| {
        Ok(cx.arg_ref(info, "info")?.version.as_ptr())
    })
}

/// The cipher suite as IANA names it (`"TLS13_AES_256_GCM_SHA384"` ...); NULL for a NULL
/// `info`. The string lives as long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_cipher_suite(
    info: *const pollhttp_tls_info,
) -> *const c_char {
    value_call("pollhttp_tls_info_cipher_suite", std::ptr::null(), |cx| {
        Ok(cx.arg_ref(info, "info")?.cipher_suite.as_ptr())
    })
}

/// The ALPN protocol agreed on (`"h2"`, `"http/1.1"`), or NULL if none was (or `info` is
/// NULL). The string lives as long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_alpn(info: *const pollhttp_tls_info) -> *const c_char {
    value_call("pollhttp_tls_info_alpn", std::ptr::null(), |cx| {
        Ok(optional_str(&cx.arg_ref(info, "info")?.alpn))
    })
}

/// The SNI name: on a server, the one the client asked for; on a client, the one it sent. NULL
/// if there was none (a client connecting to an IP address sends none) or `info` is NULL. The
/// string lives as long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_server_name(
    info: *const pollhttp_tls_info,
) -> *const c_char {
    value_call("pollhttp_tls_info_server_name", std::ptr::null(), |cx| {
        Ok(optional_str(&cx.arg_ref(info, "info")?.server_name))
    })
}

/// The number of certificates the peer presented (its chain, leaf first); 0 when it sent none
/// (as most clients do) or `info` is NULL.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_peer_cert_count(
    info: *const pollhttp_tls_info,
) -> usize {
    value_call("pollhttp_tls_info_peer_cert_count", 0, |cx| {
        Ok(cx.arg_ref(info, "info")?.peer_certificates.len())
    })
}

/// The DER bytes of the peer's certificate number `index` (0 is the leaf), their length in
/// `*len` (which may be NULL); NULL past the last one (or for a NULL `info`). The bytes live as
/// long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description; `len` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_peer_cert(
    info: *const pollhttp_tls_info,
    index: usize,
    len: *mut usize,
) -> *const u8 {
    value_call("pollhttp_tls_info_peer_cert", std::ptr::null(), |cx| {
        Ok(
            match cx.arg_ref(info, "info")?.peer_certificates.get(index) {
                Some(der) => {
                    put_opt(len, der.len());
                    der.as_ptr()
                }
                None => std::ptr::null(),
            },
        )
    })
}

/// Frees a session description. NULL is a no-op. Strings and bytes taken from it die with it.
///
/// # Safety
/// `info` is NULL or a description the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_free(info: *mut pollhttp_tls_info) {
    free_call("pollhttp_tls_info_free", info)
}
