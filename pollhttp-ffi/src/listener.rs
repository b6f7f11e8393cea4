//! The C face of [`Listener`]: a `pollhttp_listener` handle, bound on TCP or a Unix socket
//! (with or without a configuration), given TLS, watched through its fd and events, and
//! asked for connections, each handed out as a `pollhttp_conn`.

use super::boundary::{
    free_call, give_handle, or_not_yet, put_sockname, status_call, timeout_arg, value_call, Call,
    Outcome,
};
use super::config::config_arg;
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::Listener;
use std::ffi::{c_char, c_int};
use std::net::{IpAddr, SocketAddr};

/// A listening socket (C: `pollhttp_listener*`). Owned by the caller from
/// [`pollhttp_listener_bind`] until [`pollhttp_listener_free`].
pub struct pollhttp_listener(pub(super) Listener);

/// Binds on TCP `address` (an IP literal) and `port`, with `config` (NULL: the defaults).
///
/// # Safety
/// `address` is NULL or a NUL-terminated string; `config` NULL or a valid configuration.
unsafe fn bind_tcp(
    cx: Call,
    address: *const c_char,
    port: u16,
    config: *const pollhttp_config,
) -> Outcome<*mut pollhttp_listener> {
    let a = cx.str_arg(address, "address")?;
    let Ok(ip) = a.parse::<IpAddr>() else {
        return Err(cx.invalid(&format!("`{a}` is not an IPv4 or IPv6 address")));
    };
    let l = Listener::bind(SocketAddr::new(ip, port), config_arg(config))?;
    Ok(give_handle(pollhttp_listener(l)))
}

/// Binds on the Unix-domain socket at `path`, with `config` (NULL: the defaults).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `config` NULL or a valid configuration.
unsafe fn bind_unix(
    cx: Call,
    path: *const c_char,
    config: *const pollhttp_config,
) -> Outcome<*mut pollhttp_listener> {
    let p = cx.str_arg(path, "path")?;
    let l = Listener::bind_unix(std::path::Path::new(p), config_arg(config))?;
    Ok(give_handle(pollhttp_listener(l)))
}

/// Listens on TCP `address` (an IPv4 or IPv6 literal: no name resolution) and `port` (0: any
/// free port; see [`pollhttp_listener_localname`]), SO_REUSEADDR, default limits. Returns a
/// listener owned by the caller (free with [`pollhttp_listener_free`]), or NULL with the last
/// error set.
///
/// # Safety
/// `address` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_bind(
    address: *const c_char,
    port: u16,
) -> *mut pollhttp_listener {
    value_call("pollhttp_listener_bind", std::ptr::null_mut(), |cx| {
        bind_tcp(cx, address, port, std::ptr::null())
    })
}

/// Listens on a Unix-domain socket at `path` (a stale socket file is replaced; the file is
/// removed when the listener is closed or freed). Owned by the caller; NULL on error.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_bind_unix(
    path: *const c_char,
) -> *mut pollhttp_listener {
    value_call("pollhttp_listener_bind_unix", std::ptr::null_mut(), |cx| {
        bind_unix(cx, path, std::ptr::null())
    })
}

/// As [`pollhttp_listener_bind`], with the limits and timeouts of `config` for every
/// connection it accepts (copied: `config` may be changed or freed right after; NULL for the
/// defaults). Owned by the caller; NULL with the last error set on failure.
///
/// # Safety
/// `address` is a NUL-terminated string; `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_bind_ex(
    address: *const c_char,
    port: u16,
    config: *const pollhttp_config,
) -> *mut pollhttp_listener {
    value_call("pollhttp_listener_bind_ex", std::ptr::null_mut(), |cx| {
        bind_tcp(cx, address, port, config)
    })
}

/// As [`pollhttp_listener_bind_unix`], with the limits and timeouts of `config` (copied; NULL
/// for the defaults). Owned by the caller; NULL on error.
///
/// # Safety
/// `path` is a NUL-terminated string; `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_bind_unix_ex(
    path: *const c_char,
    config: *const pollhttp_config,
) -> *mut pollhttp_listener {
    const F: &str = "pollhttp_listener_bind_unix_ex";
    value_call(F, std::ptr::null_mut(), |cx| bind_unix(cx, path, config))
}

/// Serves TLS on this listener: connections accepted from now on do the handshake in their
/// first steps (watch their pollfd as usual) and speak HTTP/2 or HTTP/1.1 as ALPN decides;
/// with [`pollhttp_tls_server_set_allow_plaintext`], plaintext HTTP is served on the same port.
/// The listener keeps its own copy of `tls`, which the caller still owns (and may free right
/// after). Connections accepted before are not affected.
///
/// # Safety
/// `listener` is a valid listener; `tls` a valid server TLS setting.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_set_tls(
    listener: *mut pollhttp_listener,
    tls: *const pollhttp_tls_server,
) -> c_int {
    status_call("pollhttp_listener_set_tls", |cx| {
        let l = cx.arg_mut(listener, "listener")?;
        l.0.set_tls(cx.arg_ref(tls, "tls")?.0.clone());
        Ok(POLLHTTP_OK)
    })
}

/// The fd to watch (readable: a connection is waiting), or -1 once closed (or for NULL). The
/// fd stays owned by the listener: do not close it.
///
/// # Safety
/// `listener` is NULL or a valid listener.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_pollfd(listener: *const pollhttp_listener) -> c_int {
    value_call("pollhttp_listener_pollfd", -1, |cx| {
        Ok(cx.arg_ref(listener, "listener")?.0.pollfd())
    })
}

/// What to wait for, as `poll(2)` bits: `POLLIN`, or 0 once closed (or for NULL).
///
/// # Safety
/// `listener` is NULL or a valid listener.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_events(listener: *const pollhttp_listener) -> c_int {
    value_call("pollhttp_listener_events", 0, |cx| {
        Ok(c_int::from(
            cx.arg_ref(listener, "listener")?.0.events().to_poll(),
        ))
    })
}

/// The next waiting connection without blocking (Rust's `try_accept`): [`POLLHTTP_OK`] and
/// `*conn` set (owned by the caller, independent of the listener), or [`POLLHTTP_EAGAIN`] when
/// none is waiting (call it until then after each readiness event), [`POLLHTTP_ECLOSED`] once
/// the listener is closed, or another error (e.g. out of fds; the listener stays usable).
///
/// # Safety
/// `listener` is a valid listener; `conn` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_try_accept(
    listener: *mut pollhttp_listener,
    conn: *mut *mut pollhttp_conn,
) -> c_int {
    try_accept("pollhttp_listener_try_accept", listener, conn)
}

/// Deprecated: the old name of [`pollhttp_listener_try_accept`] (a call that never blocks and
/// can say "not yet" starts with `try_`), with the same behaviour.
///
/// # Safety
/// As [`pollhttp_listener_try_accept`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_accept(
    listener: *mut pollhttp_listener,
    conn: *mut *mut pollhttp_conn,
) -> c_int {
    try_accept("pollhttp_listener_accept", listener, conn)
}

/// The body of [`pollhttp_listener_try_accept`] and its old name.
///
/// # Safety
/// As [`pollhttp_listener_try_accept`].
unsafe fn try_accept(
    func: &'static str,
    listener: *mut pollhttp_listener,
    conn: *mut *mut pollhttp_conn,
) -> c_int {
    status_call(func, |cx| {
        let l = cx.arg_mut(listener, "listener")?;
        let out = cx.arg_mut(conn, "conn")?;
        let c = or_not_yet(l.0.try_accept(), c"no connection waiting")?;
        *out = give_handle(pollhttp_conn(c));
        Ok(POLLHTTP_OK)
    })
}

/// Blocking: waits at most `timeout_ms` (negative: no limit) for a connection; `*conn` as in
/// [`pollhttp_listener_try_accept`].
///
/// # Safety
/// `listener` is a valid listener; `conn` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_accept_timeout(
    listener: *mut pollhttp_listener,
    timeout_ms: c_int,
    conn: *mut *mut pollhttp_conn,
) -> c_int {
    status_call("pollhttp_listener_accept_timeout", |cx| {
        let l = cx.arg_mut(listener, "listener")?;
        let out = cx.arg_mut(conn, "conn")?;
        *out = give_handle(pollhttp_conn(l.0.accept_timeout(timeout_arg(timeout_ms))?));
        Ok(POLLHTTP_OK)
    })
}

/// The name the listener listens on, as lua-http's (family, address, port): `AF_INET` or
/// `AF_INET6` with the IP as text and the port, `AF_UNIX` with the path, `AF_UNSPEC` once
/// closed. `address` gets a NUL-terminated string ([`POLLHTTP_ERANGE`] if `address_len` is too
/// small; 46 bytes hold any IP, 108 any Unix path). Any out-pointer may be NULL (not wanted).
///
/// # Safety
/// `listener` is a valid listener; `family`, `port` NULL or writable; `address` NULL (with
/// `address_len` 0) or writable for `address_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_localname(
    listener: *const pollhttp_listener,
    family: *mut c_int,
    address: *mut c_char,
    address_len: usize,
    port: *mut u16,
) -> c_int {
    status_call("pollhttp_listener_localname", |cx| {
        let n = cx.arg_ref(listener, "listener")?.0.localname()?;
        put_sockname(cx, &n, family, address, address_len, port)
    })
}

/// Stops accepting and closes the listening socket; the handle stays valid (pollfd -1) until
/// [`pollhttp_listener_free`]. Remove its fd from your poller first. Accepted connections are
/// not affected.
///
/// # Safety
/// `listener` is a valid listener.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_close(listener: *mut pollhttp_listener) -> c_int {
    status_call("pollhttp_listener_close", |cx| {
        cx.arg_mut(listener, "listener")?.0.close();
        Ok(POLLHTTP_OK)
    })
}

/// Closes (if still open) and frees a listener. NULL is a no-op.
///
/// # Safety
/// `listener` is NULL or a listener the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_free(listener: *mut pollhttp_listener) {
    free_call("pollhttp_listener_free", listener)
}
