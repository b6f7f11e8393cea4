//! The C ABI: pollhttp as a C library (`libpollhttp.so` / `libpollhttp.a`, header
//! `include/pollhttp.h`), for C reactors that own their event loop.
//!
//! It is a thin layer over the Rust API and adds no behaviour of its own. Handles are opaque:
//! a [`pollhttp_listener`], a [`pollhttp_conn`] (a [`Connection`]), a [`pollhttp_headers`] (a
//! [`Headers`] list); the settings a listener or client is made with, a [`pollhttp_config`]
//! (a [`Config`]), a [`pollhttp_tls_client`] and a [`pollhttp_tls_server`] (rustls settings),
//! each copied by the call that takes it; and a [`pollhttp_tls_info`], a snapshot of a TLS
//! session that owns the strings it hands out. A stream is named by its connection and its 64-bit id, because a Rust
//! [`Stream`](crate::Stream) only lives as long as a borrow of its connection; the same pair
//! works for HTTP/1 and HTTP/2 streams alike.
//!
//! Conventions, the same for every function (the header repeats them next to each one):
//! - Calls that can fail return an `int` status: [`POLLHTTP_OK`] (0), [`POLLHTTP_END`] (1,
//!   not an error: "nothing more", e.g. the end of a body), or a negative error code, one per
//!   [`ErrorKind`] ([`POLLHTTP_EAGAIN`] is "would block / not yet": step the connection and
//!   try again), plus [`POLLHTTP_ERANGE`], [`POLLHTTP_EPANIC`] and [`POLLHTTP_EOTHER`].
//! - A failed call leaves lua-http's `(nil, message, errno)` in per-thread storage:
//!   [`pollhttp_last_error_code`], [`pollhttp_last_error_message`], [`pollhttp_last_errno`].
//!   A successful call leaves it as it was, like C's `errno`.
//! - No Rust panic crosses the boundary: each body runs under `catch_unwind`, and a panic
//!   becomes [`POLLHTTP_EPANIC`] (the handle involved is then in an unspecified but memory-safe
//!   state: free it).
//! - Every pointer argument is checked: NULL where a value is required is
//!   [`POLLHTTP_EINVAL`] (or a NULL / -1 result for calls that return a pointer or an fd),
//!   never a crash. A non-NULL pointer must be valid as documented: that is the caller's part.
//! - Timeouts are `int` milliseconds; a negative value means no limit.
//! - Handles are not thread-safe: use one from one thread at a time (they may move between
//!   threads). The last error is per thread.

#![allow(non_camel_case_types)]

use crate::{
    ClientOptions, Config, Connection, Error, ErrorKind, Headers, IdleHandler, Listener, SockName,
    StreamId, StreamState, Target, TlsClientConfig, TlsInfo, TlsServerConfig,
};
use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------------
// Status codes
// ------------------------------------------------------------------------------------------------

/// Success.
pub const POLLHTTP_OK: c_int = 0;
/// Not an error: nothing (more) — the end of a body, no head on a stream that ended, no more
/// incoming streams on a closed connection, no trailers, the end of a header list.
pub const POLLHTTP_END: c_int = 1;
/// Would block / not yet ([`ErrorKind::WouldBlock`]): step the connection and try again.
pub const POLLHTTP_EAGAIN: c_int = -1;
/// An operating-system I/O error ([`ErrorKind::Io`]); the errno is kept.
pub const POLLHTTP_EIO: c_int = -2;
/// A deadline passed ([`ErrorKind::TimedOut`]).
pub const POLLHTTP_ETIMEDOUT: c_int = -3;
/// Name resolution failed ([`ErrorKind::Resolve`]).
pub const POLLHTTP_ERESOLVE: c_int = -4;
/// Every address refused or failed the connection ([`ErrorKind::Connect`]).
pub const POLLHTTP_ECONNECT: c_int = -5;
/// The peer broke the HTTP protocol ([`ErrorKind::Protocol`]).
pub const POLLHTTP_EPROTOCOL: c_int = -6;
/// A configured limit was exceeded ([`ErrorKind::Limit`]).
pub const POLLHTTP_ELIMIT: c_int = -7;
/// The connection is closed ([`ErrorKind::Closed`]).
pub const POLLHTTP_ECLOSED: c_int = -8;
/// The stream was reset or abandoned ([`ErrorKind::Reset`]).
pub const POLLHTTP_ERESET: c_int = -9;
/// The peer closed in the middle of a message ([`ErrorKind::Truncated`]).
pub const POLLHTTP_ETRUNCATED: c_int = -10;
/// Not valid in the current state ([`ErrorKind::InvalidState`]).
pub const POLLHTTP_ESTATE: c_int = -11;
/// An argument is invalid: NULL where a value is required, not UTF-8, a bad header name, an
/// unsupported version ... ([`ErrorKind::InvalidInput`]).
pub const POLLHTTP_EINVAL: c_int = -12;
/// There is no TLS session on this connection ([`ErrorKind::NoTls`]).
pub const POLLHTTP_ENOTLS: c_int = -13;
/// A buffer the caller passed is too small for the result.
pub const POLLHTTP_ERANGE: c_int = -14;
/// Internal error: a Rust panic was caught at the boundary.
pub const POLLHTTP_EPANIC: c_int = -15;
/// An error of a kind this version of the ABI does not name.
pub const POLLHTTP_EOTHER: c_int = -16;

/// Stream state: nothing sent or received yet.
pub const POLLHTTP_STREAM_IDLE: c_int = 0;
/// Stream state: both directions open.
pub const POLLHTTP_STREAM_OPEN: c_int = 1;
/// Stream state: we finished sending; the peer may still send.
pub const POLLHTTP_STREAM_HALF_CLOSED_LOCAL: c_int = 2;
/// Stream state: the peer finished sending; we may still send.
pub const POLLHTTP_STREAM_HALF_CLOSED_REMOTE: c_int = 3;
/// Stream state: both directions done, or reset, or unknown.
pub const POLLHTTP_STREAM_CLOSED: c_int = 4;

/// Client flag of [`pollhttp_conn_client_ex`]: with version 20 over cleartext, speak HTTP/2
/// from the first byte (prior knowledge, RFC 9113 §3.3) instead of offering `Upgrade: h2c`.
pub const POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE: c_int = 1;

/// The C code of an error kind.
pub fn error_code(kind: ErrorKind) -> c_int {
    #[allow(unreachable_patterns)]
    match kind {
        ErrorKind::WouldBlock => POLLHTTP_EAGAIN,
        ErrorKind::Io => POLLHTTP_EIO,
        ErrorKind::TimedOut => POLLHTTP_ETIMEDOUT,
        ErrorKind::Resolve => POLLHTTP_ERESOLVE,
        ErrorKind::Connect => POLLHTTP_ECONNECT,
        ErrorKind::Protocol => POLLHTTP_EPROTOCOL,
        ErrorKind::Limit => POLLHTTP_ELIMIT,
        ErrorKind::Closed => POLLHTTP_ECLOSED,
        ErrorKind::Reset => POLLHTTP_ERESET,
        ErrorKind::Truncated => POLLHTTP_ETRUNCATED,
        ErrorKind::InvalidState => POLLHTTP_ESTATE,
        ErrorKind::InvalidInput => POLLHTTP_EINVAL,
        ErrorKind::NoTls => POLLHTTP_ENOTLS,
        // ErrorKind is non_exhaustive: a kind added later reads as "other" until named here.
        _ => POLLHTTP_EOTHER,
    }
}

// ------------------------------------------------------------------------------------------------
// The last error, per thread
// ------------------------------------------------------------------------------------------------

struct LastError {
    code: c_int,
    /// Borrowed for the fixed messages of the hot paths ("not yet"), so they cost no allocation.
    message: Cow<'static, CStr>,
    errno: c_int,
    status: c_int,
    retryable: bool,
}

thread_local! {
    static LAST: RefCell<LastError> = const { RefCell::new(LastError {
        code: POLLHTTP_OK,
        message: Cow::Borrowed(c""),
        errno: 0,
        status: 0,
        retryable: false,
    }) };
}

fn cstring_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn store(e: LastError) -> c_int {
    let code = e.code;
    // try_with: during thread teardown the storage may be gone; the code still goes back.
    let _ = LAST.try_with(|l| *l.borrow_mut() = e);
    code
}

fn set_last(code: c_int, message: &str, errno: c_int, status: c_int, retryable: bool) -> c_int {
    store(LastError {
        code,
        message: Cow::Owned(cstring_lossy(message)),
        errno,
        status,
        retryable,
    })
}

/// [`POLLHTTP_EAGAIN`] with a fixed message and `EAGAIN`, without allocating.
fn not_yet(message: &'static CStr) -> c_int {
    store(LastError {
        code: POLLHTTP_EAGAIN,
        message: Cow::Borrowed(message),
        errno: libc::EAGAIN,
        status: 0,
        retryable: false,
    })
}

/// Records `e` as the thread's last error; returns its code. "Would block" carries `EAGAIN`
/// when the OS gave no errno, as a C programmer expects of it.
fn fail(e: &Error) -> c_int {
    let errno = match (e.errno(), e.kind()) {
        (Some(n), _) => n,
        (None, ErrorKind::WouldBlock) => libc::EAGAIN,
        (None, _) => 0,
    };
    set_last(
        error_code(e.kind()),
        e.message(),
        errno,
        e.status().map_or(0, c_int::from),
        e.is_retryable(),
    )
}

/// Replaces TLS settings by what `update` makes of a copy of them; on failure they stay as
/// they were, and the error becomes the thread's last error.
fn update_settings<T: Clone>(slot: &mut T, update: impl FnOnce(T) -> crate::Result<T>) -> c_int {
    match update(slot.clone()) {
        Ok(updated) => {
            *slot = updated;
            POLLHTTP_OK
        }
        Err(e) => fail(&e),
    }
}

fn invalid(func: &str, what: &str) -> c_int {
    set_last(POLLHTTP_EINVAL, &format!("{func}: {what}"), 0, 0, false)
}

fn null_arg(func: &str, arg: &str) -> c_int {
    invalid(func, &format!("argument `{arg}` is NULL"))
}

/// Runs `f`, turning a panic into [`POLLHTTP_EPANIC`] (recorded as the last error) and
/// `on_panic`.
fn guard<T>(func: &str, on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            log::error!("{func}: panic caught at the C boundary: {what}");
            set_last(
                POLLHTTP_EPANIC,
                &format!("{func}: internal error (panic caught at the C boundary): {what}"),
                0,
                0,
                false,
            );
            on_panic
        }
    }
}

/// A status from a result whose value C does not need.
fn status<T>(r: crate::Result<T>) -> c_int {
    match r {
        Ok(_) => POLLHTTP_OK,
        Err(e) => fail(&e),
    }
}

/// `&mut *p`, or records "argument is NULL" and returns `$ret` from the enclosing closure.
macro_rules! arg_mut {
    ($p:expr, $func:expr, $name:literal, $ret:expr) => {
        // SAFETY: the caller promises a non-NULL pointer is valid and not aliased (# Safety).
        match unsafe { $p.as_mut() } {
            Some(r) => r,
            None => {
                null_arg($func, $name);
                return $ret;
            }
        }
    };
}

/// `&*p`, or records "argument is NULL" and returns `$ret` from the enclosing closure.
macro_rules! arg_ref {
    ($p:expr, $func:expr, $name:literal, $ret:expr) => {
        // SAFETY: the caller promises a non-NULL pointer is valid (# Safety).
        match unsafe { $p.as_ref() } {
            Some(r) => r,
            None => {
                null_arg($func, $name);
                return $ret;
            }
        }
    };
}

/// A NUL-terminated UTF-8 string argument, or the error code to return.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for `'a`.
unsafe fn str_arg<'a>(p: *const c_char, func: &str, name: &str) -> Result<&'a str, c_int> {
    if p.is_null() {
        return Err(null_arg(func, name));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| invalid(func, &format!("argument `{name}` is not UTF-8")))
}

/// A `(pointer, length)` byte argument; NULL is allowed only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes valid for `'a`.
unsafe fn bytes_arg<'a>(
    p: *const u8,
    len: usize,
    func: &str,
    name: &str,
) -> Result<&'a [u8], c_int> {
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(null_arg(func, name));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

fn timeout_arg(ms: c_int) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// Milliseconds until `t`, rounded up (a loop that sleeps that long wakes after the deadline,
/// not just before it); 0 when due; -1 for none.
fn ms_until(t: Option<Instant>) -> c_int {
    let Some(t) = t else { return -1 };
    let left = t.saturating_duration_since(Instant::now());
    let ms = left.as_millis();
    let ms = if Duration::from_millis(ms as u64) < left {
        ms + 1
    } else {
        ms
    };
    ms.min(c_int::MAX as u128) as c_int
}

fn version_number(v: http::Version) -> c_int {
    match v {
        http::Version::HTTP_09 => 9,
        http::Version::HTTP_10 => 10,
        http::Version::HTTP_11 => 11,
        http::Version::HTTP_2 => 20,
        http::Version::HTTP_3 => 30,
        _ => 0,
    }
}

/// Hands bytes to C: NULL for none, else a boxed slice freed by [`pollhttp_bytes_free`].
fn give_bytes(v: Vec<u8>, data: &mut *mut u8, len: &mut usize) {
    *len = v.len();
    *data = if v.is_empty() {
        std::ptr::null_mut()
    } else {
        Box::into_raw(v.into_boxed_slice()) as *mut u8
    };
}

/// Writes a socket name as lua-http's (family, address, port).
///
/// # Safety
/// Each pointer is NULL or valid for writes (`address` for `address_len` bytes).
unsafe fn put_sockname(
    func: &str,
    name: &SockName,
    family: *mut c_int,
    address: *mut c_char,
    address_len: usize,
    port: *mut u16,
) -> c_int {
    let (text, p) = match name {
        SockName::Inet(a) => (a.ip().to_string(), a.port()),
        SockName::Unix(Some(path)) => (path.to_string_lossy().into_owned(), 0),
        SockName::Unix(None) | SockName::Unspecified => (String::new(), 0),
    };
    if !address.is_null() || address_len > 0 {
        if address.is_null() {
            return null_arg(func, "address");
        }
        if text.len() + 1 > address_len {
            return set_last(
                POLLHTTP_ERANGE,
                &format!(
                    "{func}: the address needs {} bytes, the buffer has {address_len}",
                    text.len() + 1
                ),
                0,
                0,
                false,
            );
        }
        std::ptr::copy_nonoverlapping(text.as_ptr(), address as *mut u8, text.len());
        *address.add(text.len()) = 0;
    }
    if let Some(f) = family.as_mut() {
        *f = name.family();
    }
    if let Some(pt) = port.as_mut() {
        *pt = p;
    }
    POLLHTTP_OK
}

// ------------------------------------------------------------------------------------------------
// Handles
// ------------------------------------------------------------------------------------------------

/// A listening socket (C: `pollhttp_listener*`). Owned by the caller from
/// [`pollhttp_listener_bind`] until [`pollhttp_listener_free`].
pub struct pollhttp_listener(Listener);

/// A client or server connection (C: `pollhttp_conn*`). Owned by the caller from
/// [`pollhttp_conn_client`] or [`pollhttp_listener_accept`] until [`pollhttp_conn_close`] or
/// [`pollhttp_conn_free`]. Its streams are `(conn, id)` pairs.
#[repr(transparent)]
pub struct pollhttp_conn(Connection);

/// An ordered header list with pseudo-headers (C: `pollhttp_headers*`). Owned by the caller
/// from `pollhttp_headers_new*` or a `get_headers`/`get_trailers` call until
/// [`pollhttp_headers_free`].
#[repr(transparent)]
pub struct pollhttp_headers(Headers);

/// Limits, timeouts and options (C: `pollhttp_config*`): a [`Config`], starting from
/// `Config::default()`. Owned by the caller from [`pollhttp_config_new`] until
/// [`pollhttp_config_free`]; the calls that take one copy it, so it may be changed or freed
/// right after without affecting what was made with it.
pub struct pollhttp_config(Config);

/// Client TLS settings (C: `pollhttp_tls_client*`): a [`TlsClientConfig`]. Owned by the caller
/// from a `pollhttp_tls_client_new_*` call until [`pollhttp_tls_client_free`]; a client made
/// with it keeps its own reference, so it may be freed right after.
pub struct pollhttp_tls_client(TlsClientConfig);

/// Server TLS settings (C: `pollhttp_tls_server*`): a [`TlsServerConfig`]. Owned by the caller
/// from [`pollhttp_tls_server_new_pem`] until [`pollhttp_tls_server_free`]; a listener given
/// it keeps its own reference, so it may be freed right after.
pub struct pollhttp_tls_server(TlsServerConfig);

/// The details of an established TLS session (C: `pollhttp_tls_info*`), a snapshot taken by
/// [`pollhttp_conn_get_tls_info`]. Owned by the caller until [`pollhttp_tls_info_free`]; the
/// strings and bytes its accessors hand out point into it and live exactly as long.
pub struct pollhttp_tls_info {
    version: CString,
    cipher_suite: CString,
    alpn: Option<CString>,
    server_name: Option<CString>,
    peer_certificates: Vec<Vec<u8>>,
}

/// The handler [`pollhttp_conn_onidle`] takes: called with the connection and the caller's
/// `userdata` when the connection becomes idle, on the thread that drives it, from inside
/// `pollhttp_conn_step` (or another call that moves the connection). It may use the
/// connection, but must not free it.
pub type pollhttp_idle_fn =
    Option<unsafe extern "C" fn(conn: *mut pollhttp_conn, userdata: *mut c_void)>;

// ------------------------------------------------------------------------------------------------
// Library and errors
// ------------------------------------------------------------------------------------------------

/// The library's version, e.g. `"0.1.0"`: a static string, never freed.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_library_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// A short static description of a status code (`"would block"`, ...): never freed.
///
/// # Safety
/// None: any value is accepted.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_strerror(code: c_int) -> *const c_char {
    let s: &'static CStr = match code {
        POLLHTTP_OK => c"ok",
        POLLHTTP_END => c"end",
        POLLHTTP_EAGAIN => c"would block",
        POLLHTTP_EIO => c"i/o error",
        POLLHTTP_ETIMEDOUT => c"timed out",
        POLLHTTP_ERESOLVE => c"name resolution failed",
        POLLHTTP_ECONNECT => c"connection failed",
        POLLHTTP_EPROTOCOL => c"protocol error",
        POLLHTTP_ELIMIT => c"limit exceeded",
        POLLHTTP_ECLOSED => c"connection closed",
        POLLHTTP_ERESET => c"stream reset",
        POLLHTTP_ETRUNCATED => c"message truncated",
        POLLHTTP_ESTATE => c"invalid state",
        POLLHTTP_EINVAL => c"invalid argument",
        POLLHTTP_ENOTLS => c"no TLS session",
        POLLHTTP_ERANGE => c"buffer too small",
        POLLHTTP_EPANIC => c"internal error",
        _ => c"other error",
    };
    s.as_ptr()
}

/// The code of this thread's last error ([`POLLHTTP_OK`] if none yet).
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_last_error_code() -> c_int {
    LAST.try_with(|l| l.borrow().code).unwrap_or(POLLHTTP_OK)
}

/// The message of this thread's last error (`""` if none): lua-http's message. The string is
/// owned by the library and valid until the next failing pollhttp call on this thread.
///
/// # Safety
/// None: it takes no arguments. The result must not be freed or used after the next pollhttp
/// call on the same thread.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_last_error_message() -> *const c_char {
    LAST.try_with(|l| l.borrow().message.as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// The OS errno of this thread's last error, 0 if the OS gave none: lua-http's errno.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_last_errno() -> c_int {
    LAST.try_with(|l| l.borrow().errno).unwrap_or(0)
}

/// For a protocol error a server found: the HTTP status it answered with; else 0.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_last_error_status() -> c_int {
    LAST.try_with(|l| l.borrow().status).unwrap_or(0)
}

/// 1 if the last error says the request was not processed by the peer (safe to retry on
/// another connection), else 0.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_last_error_retryable() -> c_int {
    LAST.try_with(|l| c_int::from(l.borrow().retryable))
        .unwrap_or(0)
}

/// Resets this thread's last error to [`POLLHTTP_OK`], empty message, errno 0.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_clear_error() {
    set_last(POLLHTTP_OK, "", 0, 0, false);
}

/// Frees bytes the library handed over (a body chunk, a whole body). NULL is a no-op.
///
/// # Safety
/// `data` is NULL or a pointer the library returned with this `len`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_bytes_free(data: *mut u8, len: usize) {
    guard("pollhttp_bytes_free", (), || {
        if !data.is_null() {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)));
        }
    })
}

// ------------------------------------------------------------------------------------------------
// Headers
// ------------------------------------------------------------------------------------------------

fn new_headers(h: Headers) -> *mut pollhttp_headers {
    Box::into_raw(Box::new(pollhttp_headers(h)))
}

/// A new empty header list, owned by the caller (free with [`pollhttp_headers_free`]).
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_new() -> *mut pollhttp_headers {
    guard("pollhttp_headers_new", std::ptr::null_mut(), || {
        new_headers(Headers::new())
    })
}

/// A new request head (`:method`, `:path`, and `:authority` unless `authority` is NULL),
/// owned by the caller. NULL (with the last error set) if an argument is NULL or not UTF-8.
///
/// # Safety
/// `method` and `path` are NUL-terminated strings; `authority` is NULL or one.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_new_request(
    method: *const c_char,
    path: *const c_char,
    authority: *const c_char,
) -> *mut pollhttp_headers {
    const F: &str = "pollhttp_headers_new_request";
    guard(F, std::ptr::null_mut(), || {
        let Ok(m) = str_arg(method, F, "method") else {
            return std::ptr::null_mut();
        };
        let Ok(p) = str_arg(path, F, "path") else {
            return std::ptr::null_mut();
        };
        let a = if authority.is_null() {
            None
        } else {
            match str_arg(authority, F, "authority") {
                Ok(a) => Some(a),
                Err(_) => return std::ptr::null_mut(),
            }
        };
        new_headers(Headers::request(m, p, a))
    })
}

/// A new response head with `:status`, owned by the caller. NULL (last error set) unless
/// `status` is 100..=999.
///
/// # Safety
/// None: any value is accepted.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_new_response(status: c_int) -> *mut pollhttp_headers {
    const F: &str = "pollhttp_headers_new_response";
    guard(F, std::ptr::null_mut(), || {
        if !(100..=999).contains(&status) {
            invalid(F, &format!("status {status} is not a three-digit code"));
            return std::ptr::null_mut();
        }
        new_headers(Headers::response(status as u16))
    })
}

/// Frees a header list. NULL is a no-op.
///
/// # Safety
/// `headers` is NULL or a list the library returned, not yet freed; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_free(headers: *mut pollhttp_headers) {
    guard("pollhttp_headers_free", (), || {
        if !headers.is_null() {
            drop(Box::from_raw(headers));
        }
    })
}

/// Appends a field (name stored lower-case; validated when the head is written).
///
/// # Safety
/// `headers` is a valid list; `name` and `value` are NUL-terminated strings (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_append(
    headers: *mut pollhttp_headers,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    const F: &str = "pollhttp_headers_append";
    guard(F, POLLHTTP_EPANIC, || {
        let h = arg_mut!(headers, F, "headers", POLLHTTP_EINVAL);
        let n = match str_arg(name, F, "name") {
            Ok(n) => n,
            Err(c) => return c,
        };
        if value.is_null() {
            return null_arg(F, "value");
        }
        h.0.append(n, CStr::from_ptr(value).to_bytes());
        POLLHTTP_OK
    })
}

/// Appends a field given as `(pointer, length)` pairs; the value may hold any bytes. With
/// `sensitive` non-zero, HTTP/2 sends the value HPACK never-indexed.
///
/// # Safety
/// `headers` is a valid list; `name` points to `name_len` bytes of UTF-8 and `value` to
/// `value_len` bytes (NULL allowed when the length is 0); both are copied.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_append_n(
    headers: *mut pollhttp_headers,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
    sensitive: c_int,
) -> c_int {
    const F: &str = "pollhttp_headers_append_n";
    guard(F, POLLHTTP_EPANIC, || {
        let h = arg_mut!(headers, F, "headers", POLLHTTP_EINVAL);
        let n = match bytes_arg(name as *const u8, name_len, F, "name") {
            Ok(n) => n,
            Err(c) => return c,
        };
        let Ok(n) = std::str::from_utf8(n) else {
            return invalid(F, "argument `name` is not UTF-8");
        };
        let v = match bytes_arg(value as *const u8, value_len, F, "value") {
            Ok(v) => v,
            Err(c) => return c,
        };
        if sensitive != 0 {
            h.0.append_sensitive(n, v);
        } else {
            h.0.append(n, v);
        }
        POLLHTTP_OK
    })
}

/// Replaces every field called `name` by one with `value` (appended if there was none).
///
/// # Safety
/// `headers` is a valid list; `name` and `value` are NUL-terminated strings (copied).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_upsert(
    headers: *mut pollhttp_headers,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    const F: &str = "pollhttp_headers_upsert";
    guard(F, POLLHTTP_EPANIC, || {
        let h = arg_mut!(headers, F, "headers", POLLHTTP_EINVAL);
        let n = match str_arg(name, F, "name") {
            Ok(n) => n,
            Err(c) => return c,
        };
        if value.is_null() {
            return null_arg(F, "value");
        }
        h.0.upsert(n, CStr::from_ptr(value).to_bytes());
        POLLHTTP_OK
    })
}

/// The value of the first field called `name` (any case), or NULL if there is none (or an
/// argument is NULL: then the last error says so). The value is NOT NUL-terminated: its
/// length goes to `*value_len` (which may be NULL). It points into the list and stays valid
/// until the list is changed or freed.
///
/// # Safety
/// `headers` is a valid list; `name` a NUL-terminated string; `value_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_get(
    headers: *const pollhttp_headers,
    name: *const c_char,
    value_len: *mut usize,
) -> *const c_char {
    const F: &str = "pollhttp_headers_get";
    guard(F, std::ptr::null(), || {
        let h = arg_ref!(headers, F, "headers", std::ptr::null());
        let Ok(n) = str_arg(name, F, "name") else {
            return std::ptr::null();
        };
        match h.0.get(n) {
            Some(v) => {
                if let Some(l) = value_len.as_mut() {
                    *l = v.len();
                }
                v.as_ptr() as *const c_char
            }
            None => std::ptr::null(),
        }
    })
}

/// The number of fields, pseudo-headers included (0 for NULL).
///
/// # Safety
/// `headers` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_count(headers: *const pollhttp_headers) -> usize {
    const F: &str = "pollhttp_headers_count";
    guard(F, 0, || arg_ref!(headers, F, "headers", 0).0.len())
}

/// Field number `index` (from 0, in order, pseudo-headers first): [`POLLHTTP_OK`] with the
/// name and value (neither NUL-terminated; they point into the list and stay valid until it
/// is changed or freed), or [`POLLHTTP_END`] past the last field.
///
/// # Safety
/// `headers` is a valid list; the four out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_field(
    headers: *const pollhttp_headers,
    index: usize,
    name: *mut *const c_char,
    name_len: *mut usize,
    value: *mut *const c_char,
    value_len: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_headers_field";
    guard(F, POLLHTTP_EPANIC, || {
        let h = arg_ref!(headers, F, "headers", POLLHTTP_EINVAL);
        let name = arg_mut!(name, F, "name", POLLHTTP_EINVAL);
        let name_len = arg_mut!(name_len, F, "name_len", POLLHTTP_EINVAL);
        let value = arg_mut!(value, F, "value", POLLHTTP_EINVAL);
        let value_len = arg_mut!(value_len, F, "value_len", POLLHTTP_EINVAL);
        match h.0.iter().nth(index) {
            Some(f) => {
                *name = f.name.as_ptr() as *const c_char;
                *name_len = f.name.len();
                *value = f.value.as_ptr() as *const c_char;
                *value_len = f.value.len();
                POLLHTTP_OK
            }
            None => POLLHTTP_END,
        }
    })
}

/// The `:status` of a response head as a number, or -1 if it has none (or `headers` is NULL).
///
/// # Safety
/// `headers` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_status(headers: *const pollhttp_headers) -> c_int {
    const F: &str = "pollhttp_headers_status";
    guard(F, -1, || {
        arg_ref!(headers, F, "headers", -1)
            .0
            .status()
            .map_or(-1, c_int::from)
    })
}

// ------------------------------------------------------------------------------------------------
// Configuration
// ------------------------------------------------------------------------------------------------

/// Runs `set` on the configuration behind `config`: [`POLLHTTP_OK`], or [`POLLHTTP_EINVAL`]
/// with `set`'s reason (the configuration is then unchanged).
///
/// # Safety
/// `config` is NULL or a valid configuration.
unsafe fn set_config(
    func: &str,
    config: *mut pollhttp_config,
    set: impl FnOnce(&mut Config) -> Result<(), String>,
) -> c_int {
    guard(func, POLLHTTP_EPANIC, || {
        let c = arg_mut!(config, func, "config", POLLHTTP_EINVAL);
        match set(&mut c.0) {
            Ok(()) => POLLHTTP_OK,
            Err(why) => invalid(func, &why),
        }
    })
}

/// A size that must be at least 1: a zero buffer or head limit would stall every exchange.
fn positive(name: &str, v: usize) -> Result<usize, String> {
    if v == 0 {
        Err(format!("{name} 0: it must be at least 1"))
    } else {
        Ok(v)
    }
}

/// A byte limit where a negative value means "no limit".
fn optional_limit(v: i64) -> Option<u64> {
    u64::try_from(v).ok()
}

/// A duration that cannot be "no limit".
fn required_ms(name: &str, ms: c_int) -> Result<Duration, String> {
    timeout_arg(ms).ok_or_else(|| format!("{name} {ms}: it needs a limit (0 or more ms)"))
}

/// The largest flow-control window HTTP/2 allows (RFC 9113 §6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// The configuration the `_ex` calls take: a copy, or the defaults for NULL.
///
/// # Safety
/// `config` is NULL or a valid configuration.
unsafe fn config_arg(config: *const pollhttp_config) -> Arc<Config> {
    Arc::new(
        config
            .as_ref()
            .map_or_else(Config::default, |c| c.0.clone()),
    )
}

/// A new configuration holding the defaults (those of `pollhttp_listener_bind` and
/// `pollhttp_conn_client`). Owned by the caller: free it with [`pollhttp_config_free`]. The
/// calls that take it copy it, so it may be changed or freed right after them.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_new() -> *mut pollhttp_config {
    guard("pollhttp_config_new", std::ptr::null_mut(), || {
        Box::into_raw(Box::new(pollhttp_config(Config::default())))
    })
}

/// Frees a configuration. NULL is a no-op. What was made with it keeps its own copy.
///
/// # Safety
/// `config` is NULL or a configuration the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_free(config: *mut pollhttp_config) {
    guard("pollhttp_config_free", (), || {
        if !config.is_null() {
            drop(Box::from_raw(config));
        }
    })
}

/// The largest header section, start line included (default 16 KiB): a server answers a
/// larger one with 431, a client fails with a protocol error. Also the HTTP/2 header-list
/// limit. At least 1.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_max_head_size(
    config: *mut pollhttp_config,
    bytes: usize,
) -> c_int {
    set_config("pollhttp_config_set_max_head_size", config, |c| {
        c.max_head_size = positive("max_head_size", bytes)?;
        Ok(())
    })
}

/// The most header fields in one head (default 100; more are answered 431). At least 1.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_max_headers(
    config: *mut pollhttp_config,
    count: usize,
) -> c_int {
    set_config("pollhttp_config_set_max_headers", config, |c| {
        c.max_headers = positive("max_headers", count)?;
        Ok(())
    })
}

/// The largest request body a server accepts (default 64 MiB; 413 above it); negative for no
/// limit.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_max_request_body(
    config: *mut pollhttp_config,
    bytes: i64,
) -> c_int {
    set_config("pollhttp_config_set_max_request_body", config, |c| {
        c.max_request_body = optional_limit(bytes);
        Ok(())
    })
}

/// The largest response body a client accepts (default: no limit); negative for no limit.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_max_response_body(
    config: *mut pollhttp_config,
    bytes: i64,
) -> c_int {
    set_config("pollhttp_config_set_max_response_body", config, |c| {
        c.max_response_body = optional_limit(bytes);
        Ok(())
    })
}

/// Received body bytes buffered per stream before the connection stops reading until the
/// application reads (default 256 KiB). At least 1.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_recv_buffer(
    config: *mut pollhttp_config,
    bytes: usize,
) -> c_int {
    set_config("pollhttp_config_set_recv_buffer", config, |c| {
        c.recv_buffer = positive("recv_buffer", bytes)?;
        Ok(())
    })
}

/// Outgoing bytes buffered before stream writes report [`POLLHTTP_EAGAIN`] (default 1 MiB).
/// At least 1.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_send_buffer(
    config: *mut pollhttp_config,
    bytes: usize,
) -> c_int {
    set_config("pollhttp_config_set_send_buffer", config, |c| {
        c.send_buffer = positive("send_buffer", bytes)?;
        Ok(())
    })
}

/// The time a peer has to deliver a whole request head once it started one (default 30 s;
/// against slowloris); negative for no limit.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_head_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_head_timeout", config, |c| {
        c.head_timeout = timeout_arg(timeout_ms);
        Ok(())
    })
}

/// The time an idle keep-alive connection is kept open (default 120 s); negative for no limit.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_idle_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_idle_timeout", config, |c| {
        c.idle_timeout = timeout_arg(timeout_ms);
        Ok(())
    })
}

/// Client: the time a whole connect may take (resolution, TCP, TLS handshake; default 30 s),
/// also when it goes on in `pollhttp_conn_step`; negative for no limit.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_connect_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_connect_timeout", config, |c| {
        c.connect_timeout = timeout_arg(timeout_ms);
        Ok(())
    })
}

/// The time a graceful shutdown waits for in-flight exchanges before it cuts them off
/// (default 10 s). It needs a limit: a negative value is [`POLLHTTP_EINVAL`].
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_shutdown_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_shutdown_timeout", config, |c| {
        c.shutdown_timeout = required_ms("shutdown_timeout", timeout_ms)?;
        Ok(())
    })
}

/// Non-zero (the default): every step reads until the socket would block, as an
/// edge-triggered loop needs. Zero: a short read ends the reading, which saves one `read` per
/// event in a level-triggered loop (or an edge-triggered one that calls
/// `pollhttp_conn_hint_read_closed` on peer-closed events).
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_read_to_would_block(
    config: *mut pollhttp_config,
    on: c_int,
) -> c_int {
    set_config("pollhttp_config_set_read_to_would_block", config, |c| {
        c.read_to_would_block = on != 0;
        Ok(())
    })
}

/// Non-zero (the default): a head that repeats the last one (received byte for byte, or to
/// send stored identically) reuses the work done for it; zero: every head is parsed and
/// encoded afresh and no copy of past heads is kept (see `Config::reuse_heads`).
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_reuse_heads(
    config: *mut pollhttp_config,
    on: c_int,
) -> c_int {
    set_config("pollhttp_config_set_reuse_heads", config, |c| {
        c.reuse_heads = on != 0;
        Ok(())
    })
}

/// Server: non-zero (the default) accepts HTTP/2 on plaintext connections (prior knowledge
/// and `Upgrade: h2c`); zero serves HTTP/1 only there. Over TLS, ALPN decides.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_enabled(
    config: *mut pollhttp_config,
    on: c_int,
) -> c_int {
    set_config("pollhttp_config_set_http2_enabled", config, |c| {
        c.http2.enabled = on != 0;
        Ok(())
    })
}

/// HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS we advertise (default 100); a server refuses
/// streams beyond it.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_max_concurrent_streams(
    config: *mut pollhttp_config,
    streams: u32,
) -> c_int {
    set_config(
        "pollhttp_config_set_http2_max_concurrent_streams",
        config,
        |c| {
            c.http2.max_concurrent_streams = streams;
            Ok(())
        },
    )
}

/// HTTP/2: SETTINGS_INITIAL_WINDOW_SIZE we advertise, the unread body bytes one stream may
/// hold (default 1 MiB); at most 2^31-1.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_initial_window_size(
    config: *mut pollhttp_config,
    bytes: u32,
) -> c_int {
    set_config(
        "pollhttp_config_set_http2_initial_window_size",
        config,
        |c| {
            if bytes > MAX_WINDOW {
                return Err(format!("initial_window_size {bytes}: at most {MAX_WINDOW}"));
            }
            c.http2.initial_window_size = bytes;
            Ok(())
        },
    )
}

/// HTTP/2: the connection's receive window, the unread body bytes of all streams together
/// (65,535 to 2^31-1); negative picks by role (2 MiB for a server, 16 MiB for a client, the
/// default).
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_connection_window_size(
    config: *mut pollhttp_config,
    bytes: i64,
) -> c_int {
    set_config(
        "pollhttp_config_set_http2_connection_window_size",
        config,
        |c| {
            c.http2.connection_window_size = match bytes {
                b if b < 0 => None,
                b if (65_535..=i64::from(MAX_WINDOW)).contains(&b) => Some(b as u32),
                b => {
                    return Err(format!(
                        "connection_window_size {b}: use 65535 to {MAX_WINDOW}, or -1"
                    ))
                }
            };
            Ok(())
        },
    )
}

/// HTTP/2 client: non-zero accepts server push (advertises SETTINGS_ENABLE_PUSH=1; each push
/// becomes an incoming stream whose first head is the promised request and second the
/// response); zero (the default) refuses it. A server ignores it.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_enable_push(
    config: *mut pollhttp_config,
    on: c_int,
) -> c_int {
    set_config("pollhttp_config_set_http2_enable_push", config, |c| {
        c.http2.enable_push = on != 0;
        Ok(())
    })
}

/// HTTP/2 keep-alive: after this long without a byte from the peer, send a PING; negative
/// (the default) for no keep-alive pings.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_keepalive_interval(
    config: *mut pollhttp_config,
    interval_ms: c_int,
) -> c_int {
    set_config(
        "pollhttp_config_set_http2_keepalive_interval",
        config,
        |c| {
            c.http2.keepalive_interval = timeout_arg(interval_ms);
            Ok(())
        },
    )
}

/// HTTP/2 keep-alive: the time the peer has to answer our PING before the connection fails
/// with [`POLLHTTP_ETIMEDOUT`] (default 20 s). It needs a limit: negative is
/// [`POLLHTTP_EINVAL`].
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_http2_keepalive_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_http2_keepalive_timeout", config, |c| {
        c.http2.keepalive_timeout = required_ms("keepalive_timeout", timeout_ms)?;
        Ok(())
    })
}

// ------------------------------------------------------------------------------------------------
// TLS settings
// ------------------------------------------------------------------------------------------------

fn new_tls_client(r: crate::Result<TlsClientConfig>) -> *mut pollhttp_tls_client {
    match r {
        Ok(t) => Box::into_raw(Box::new(pollhttp_tls_client(t))),
        Err(e) => {
            fail(&e);
            std::ptr::null_mut()
        }
    }
}

/// Client TLS that verifies servers against the Mozilla root certificates (built in, as a
/// browser would). Owned by the caller: free with [`pollhttp_tls_client_free`].
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_new_webpki_roots() -> *mut pollhttp_tls_client {
    guard(
        "pollhttp_tls_client_new_webpki_roots",
        std::ptr::null_mut(),
        || new_tls_client(Ok(TlsClientConfig::webpki_roots())),
    )
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
    guard(F, std::ptr::null_mut(), || {
        let Ok(p) = str_arg(ca_pem_path, F, "ca_pem_path") else {
            return std::ptr::null_mut();
        };
        new_tls_client(TlsClientConfig::with_ca_file(p))
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
    guard(
        "pollhttp_tls_client_new_insecure",
        std::ptr::null_mut(),
        || new_tls_client(Ok(TlsClientConfig::insecure())),
    )
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
    const F: &str = "pollhttp_tls_client_set_client_cert";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
        let chain = match str_arg(chain_pem_path, F, "chain_pem_path") {
            Ok(p) => p,
            Err(c) => return c,
        };
        let key = match str_arg(key_pem_path, F, "key_pem_path") {
            Ok(p) => p,
            Err(c) => return c,
        };
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
    const F: &str = "pollhttp_tls_client_set_offer_h2";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
        update_settings(&mut t.0, |t| Ok(t.offer_h2(on != 0)))
    })
}

/// Frees client TLS settings. NULL is a no-op. Clients made with them keep their own copy.
///
/// # Safety
/// `tls` is NULL or a setting the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_client_free(tls: *mut pollhttp_tls_client) {
    guard("pollhttp_tls_client_free", (), || {
        if !tls.is_null() {
            drop(Box::from_raw(tls));
        }
    })
}

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
    const F: &str = "pollhttp_tls_server_new_pem";
    guard(F, std::ptr::null_mut(), || {
        let Ok(cert) = str_arg(cert_pem_path, F, "cert_pem_path") else {
            return std::ptr::null_mut();
        };
        let Ok(key) = str_arg(key_pem_path, F, "key_pem_path") else {
            return std::ptr::null_mut();
        };
        match TlsServerConfig::from_pem_files(cert, key) {
            Ok(t) => Box::into_raw(Box::new(pollhttp_tls_server(t))),
            Err(e) => {
                fail(&e);
                std::ptr::null_mut()
            }
        }
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
    const F: &str = "pollhttp_tls_server_add_sni";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
        let n = match str_arg(name, F, "name") {
            Ok(s) => s,
            Err(c) => return c,
        };
        let cert = match str_arg(cert_pem_path, F, "cert_pem_path") {
            Ok(s) => s,
            Err(c) => return c,
        };
        let key = match str_arg(key_pem_path, F, "key_pem_path") {
            Ok(s) => s,
            Err(c) => return c,
        };
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
    const F: &str = "pollhttp_tls_server_set_client_ca_file";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
        let ca = match str_arg(ca_pem_path, F, "ca_pem_path") {
            Ok(s) => s,
            Err(c) => return c,
        };
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
    const F: &str = "pollhttp_tls_server_set_offer_h2";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
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
    const F: &str = "pollhttp_tls_server_set_allow_plaintext";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
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
    const F: &str = "pollhttp_tls_server_set_handshake_timeout";
    guard(F, POLLHTTP_EPANIC, || {
        let t = arg_mut!(tls, F, "tls", POLLHTTP_EINVAL);
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
    guard("pollhttp_tls_server_free", (), || {
        if !tls.is_null() {
            drop(Box::from_raw(tls));
        }
    })
}

// ------------------------------------------------------------------------------------------------
// Listener
// ------------------------------------------------------------------------------------------------

fn new_listener(r: crate::Result<Listener>) -> *mut pollhttp_listener {
    match r {
        Ok(l) => Box::into_raw(Box::new(pollhttp_listener(l))),
        Err(e) => {
            fail(&e);
            std::ptr::null_mut()
        }
    }
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
    const F: &str = "pollhttp_listener_bind";
    guard(F, std::ptr::null_mut(), || {
        let Ok(a) = str_arg(address, F, "address") else {
            return std::ptr::null_mut();
        };
        let Ok(ip) = a.parse::<std::net::IpAddr>() else {
            invalid(F, &format!("`{a}` is not an IPv4 or IPv6 address"));
            return std::ptr::null_mut();
        };
        new_listener(Listener::bind(
            std::net::SocketAddr::new(ip, port),
            Arc::new(Config::default()),
        ))
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
    const F: &str = "pollhttp_listener_bind_unix";
    guard(F, std::ptr::null_mut(), || {
        let Ok(p) = str_arg(path, F, "path") else {
            return std::ptr::null_mut();
        };
        new_listener(Listener::bind_unix(
            std::path::Path::new(p),
            Arc::new(Config::default()),
        ))
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
    const F: &str = "pollhttp_listener_bind_ex";
    guard(F, std::ptr::null_mut(), || {
        let Ok(a) = str_arg(address, F, "address") else {
            return std::ptr::null_mut();
        };
        let Ok(ip) = a.parse::<std::net::IpAddr>() else {
            invalid(F, &format!("`{a}` is not an IPv4 or IPv6 address"));
            return std::ptr::null_mut();
        };
        new_listener(Listener::bind(
            std::net::SocketAddr::new(ip, port),
            config_arg(config),
        ))
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
    guard(F, std::ptr::null_mut(), || {
        let Ok(p) = str_arg(path, F, "path") else {
            return std::ptr::null_mut();
        };
        new_listener(Listener::bind_unix(
            std::path::Path::new(p),
            config_arg(config),
        ))
    })
}

/// Aborts the process if dropped: held across a move out of and back into a place that must
/// never be seen empty, so that an unwind in between cannot drop the value twice.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        std::process::abort();
    }
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
    const F: &str = "pollhttp_listener_set_tls";
    guard(F, POLLHTTP_EPANIC, || {
        let l = arg_mut!(listener, F, "listener", POLLHTTP_EINVAL);
        let t = arg_ref!(tls, F, "tls", POLLHTTP_EINVAL).0.clone();
        // `Listener::with_tls` takes the listener by value; move it out and back in place.
        let bomb = AbortOnUnwind;
        // SAFETY: `l.0` is valid; it is read once and overwritten before anyone can see it
        // again, and `bomb` aborts rather than let an unwind drop it twice in between.
        let old = std::ptr::read(&l.0);
        std::ptr::write(&mut l.0, old.with_tls(t));
        std::mem::forget(bomb);
        POLLHTTP_OK
    })
}

/// The fd to watch (readable: a connection is waiting), or -1 once closed (or for NULL). The
/// fd stays owned by the listener: do not close it.
///
/// # Safety
/// `listener` is NULL or a valid listener.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_pollfd(listener: *const pollhttp_listener) -> c_int {
    const F: &str = "pollhttp_listener_pollfd";
    guard(F, -1, || arg_ref!(listener, F, "listener", -1).0.pollfd())
}

/// What to wait for, as `poll(2)` bits: `POLLIN`, or 0 once closed (or for NULL).
///
/// # Safety
/// `listener` is NULL or a valid listener.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_events(listener: *const pollhttp_listener) -> c_int {
    const F: &str = "pollhttp_listener_events";
    guard(F, 0, || {
        c_int::from(arg_ref!(listener, F, "listener", 0).0.events().to_poll())
    })
}

/// The next waiting connection without blocking: [`POLLHTTP_OK`] and `*conn` set (owned by the
/// caller, independent of the listener), or [`POLLHTTP_EAGAIN`] when none is waiting (call it
/// until then after each readiness event), or an error (e.g. out of fds; the listener stays
/// usable).
///
/// # Safety
/// `listener` is a valid listener; `conn` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_accept(
    listener: *mut pollhttp_listener,
    conn: *mut *mut pollhttp_conn,
) -> c_int {
    const F: &str = "pollhttp_listener_accept";
    guard(F, POLLHTTP_EPANIC, || {
        let l = arg_mut!(listener, F, "listener", POLLHTTP_EINVAL);
        let out = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        match l.0.accept() {
            Ok(Some(c)) => {
                *out = Box::into_raw(Box::new(pollhttp_conn(c)));
                POLLHTTP_OK
            }
            Ok(None) => not_yet(c"no connection waiting"),
            Err(e) => fail(&e),
        }
    })
}

/// Blocking: waits at most `timeout_ms` (negative: no limit) for a connection; `*conn` as in
/// [`pollhttp_listener_accept`].
///
/// # Safety
/// `listener` is a valid listener; `conn` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_accept_timeout(
    listener: *mut pollhttp_listener,
    timeout_ms: c_int,
    conn: *mut *mut pollhttp_conn,
) -> c_int {
    const F: &str = "pollhttp_listener_accept_timeout";
    guard(F, POLLHTTP_EPANIC, || {
        let l = arg_mut!(listener, F, "listener", POLLHTTP_EINVAL);
        let out = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        match l.0.accept_timeout(timeout_arg(timeout_ms)) {
            Ok(c) => {
                *out = Box::into_raw(Box::new(pollhttp_conn(c)));
                POLLHTTP_OK
            }
            Err(e) => fail(&e),
        }
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
    const F: &str = "pollhttp_listener_localname";
    guard(F, POLLHTTP_EPANIC, || {
        let l = arg_ref!(listener, F, "listener", POLLHTTP_EINVAL);
        match l.0.local_name() {
            Ok(n) => put_sockname(F, &n, family, address, address_len, port),
            Err(e) => fail(&e),
        }
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
    const F: &str = "pollhttp_listener_close";
    guard(F, POLLHTTP_EPANIC, || {
        arg_mut!(listener, F, "listener", POLLHTTP_EINVAL).0.close();
        POLLHTTP_OK
    })
}

/// Closes (if still open) and frees a listener. NULL is a no-op.
///
/// # Safety
/// `listener` is NULL or a listener the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_listener_free(listener: *mut pollhttp_listener) {
    guard("pollhttp_listener_free", (), || {
        if !listener.is_null() {
            drop(Box::from_raw(listener));
        }
    })
}

// ------------------------------------------------------------------------------------------------
// Connection
// ------------------------------------------------------------------------------------------------

fn client_version(func: &str, version: c_int) -> Result<http::Version, c_int> {
    match version {
        10 => Ok(http::Version::HTTP_10),
        11 => Ok(http::Version::HTTP_11),
        20 => Ok(http::Version::HTTP_2),
        v => Err(invalid(
            func,
            &format!("version {v}: use 10, 11 or 20 (HTTP/1.0, 1.1, 2)"),
        )),
    }
}

/// The options of the calls without `_ex`: `version`, defaults for the rest.
fn plain(version: http::Version) -> ClientOptions {
    ClientOptions {
        version,
        ..ClientOptions::default()
    }
}

fn new_client(target: Target, opts: ClientOptions) -> *mut pollhttp_conn {
    match Connection::client(target, opts) {
        Ok(c) => Box::into_raw(Box::new(pollhttp_conn(c))),
        Err(e) => {
            fail(&e);
            std::ptr::null_mut()
        }
    }
}

/// Starts a client connection to `host` (a name, resolved off the caller's thread, or an
/// address literal) and `port`, speaking HTTP `version` (10, 11 or 20), without blocking:
/// resolution and connect go on in [`pollhttp_conn_step`] (watch [`pollhttp_conn_pollfd`],
/// which changes while it connects). Owned by the caller; NULL with the last error set on
/// failure (including a version this build cannot speak).
///
/// # Safety
/// `host` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_client(
    host: *const c_char,
    port: u16,
    version: c_int,
) -> *mut pollhttp_conn {
    const F: &str = "pollhttp_conn_client";
    guard(F, std::ptr::null_mut(), || {
        let Ok(h) = str_arg(host, F, "host") else {
            return std::ptr::null_mut();
        };
        let Ok(v) = client_version(F, version) else {
            return std::ptr::null_mut();
        };
        new_client(Target::Host(h.to_string(), port), plain(v))
    })
}

/// Starts a client connection to the Unix-domain socket at `path`; as
/// [`pollhttp_conn_client`].
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_client_unix(
    path: *const c_char,
    version: c_int,
) -> *mut pollhttp_conn {
    const F: &str = "pollhttp_conn_client_unix";
    guard(F, std::ptr::null_mut(), || {
        let Ok(p) = str_arg(path, F, "path") else {
            return std::ptr::null_mut();
        };
        let Ok(v) = client_version(F, version) else {
            return std::ptr::null_mut();
        };
        new_client(Target::Unix(p.into()), plain(v))
    })
}

/// The client options of the `_ex` calls, checked.
///
/// # Safety
/// `config` and `tls` are NULL or valid.
unsafe fn client_options(
    func: &str,
    version: c_int,
    flags: c_int,
    config: *const pollhttp_config,
    tls: *const pollhttp_tls_client,
) -> Result<ClientOptions, c_int> {
    let v = client_version(func, version)?;
    if flags & !POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE != 0 {
        return Err(invalid(func, &format!("unknown flags {flags:#x}")));
    }
    let prior = flags & POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE != 0;
    if prior && v != http::Version::HTTP_2 {
        return Err(invalid(
            func,
            &format!("POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE with version {version}: it needs 20"),
        ));
    }
    Ok(ClientOptions {
        version: v,
        http2_prior_knowledge: prior,
        config: config_arg(config),
        tls: tls.as_ref().map(|t| t.0.clone()),
    })
}

/// As [`pollhttp_conn_client`], with options:
/// - `flags`: 0, or [`POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE`] with version 20 to speak HTTP/2
///   from the first byte over cleartext (for a server known to accept it) instead of offering
///   `Upgrade: h2c` with the first request; over TLS, ALPN decides and the flag changes
///   nothing;
/// - `config`: limits and timeouts (copied; NULL for the defaults);
/// - `tls`: NULL for plaintext, else https with these settings (the client keeps its own
///   reference; the caller still owns and frees `tls`). The handshake is part of connecting;
///   `host` is the name checked against the certificate and sent as SNI. With version 20 ALPN
///   offers `h2` and `http/1.1` and the server's choice sets [`pollhttp_conn_version`].
///
/// Owned by the caller; NULL with the last error set on failure.
///
/// # Safety
/// `host` is a NUL-terminated string; `config` and `tls` are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_client_ex(
    host: *const c_char,
    port: u16,
    version: c_int,
    flags: c_int,
    config: *const pollhttp_config,
    tls: *const pollhttp_tls_client,
) -> *mut pollhttp_conn {
    const F: &str = "pollhttp_conn_client_ex";
    guard(F, std::ptr::null_mut(), || {
        let Ok(h) = str_arg(host, F, "host") else {
            return std::ptr::null_mut();
        };
        let Ok(opts) = client_options(F, version, flags, config, tls) else {
            return std::ptr::null_mut();
        };
        new_client(Target::Host(h.to_string(), port), opts)
    })
}

/// As [`pollhttp_conn_client_ex`], to the Unix-domain socket at `path` (over TLS the name
/// checked is `localhost`).
///
/// # Safety
/// `path` is a NUL-terminated string; `config` and `tls` are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_client_unix_ex(
    path: *const c_char,
    version: c_int,
    flags: c_int,
    config: *const pollhttp_config,
    tls: *const pollhttp_tls_client,
) -> *mut pollhttp_conn {
    const F: &str = "pollhttp_conn_client_unix_ex";
    guard(F, std::ptr::null_mut(), || {
        let Ok(p) = str_arg(path, F, "path") else {
            return std::ptr::null_mut();
        };
        let Ok(opts) = client_options(F, version, flags, config, tls) else {
            return std::ptr::null_mut();
        };
        new_client(Target::Unix(p.into()), opts)
    })
}

/// lua-http's `close()`: shuts down, writes what is buffered (briefly, without blocking),
/// releases the fd, and frees the handle. NULL is a no-op. Remove the fd from your poller
/// first.
///
/// # Safety
/// `conn` is NULL or a connection the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_close(conn: *mut pollhttp_conn) {
    guard("pollhttp_conn_close", (), || {
        if !conn.is_null() {
            Box::from_raw(conn).0.close();
        }
    })
}

/// Releases the fd at once (no shutdown, unsent output dropped) and frees the handle: for a
/// connection that is closed already, or to abandon one. NULL is a no-op.
///
/// # Safety
/// `conn` is NULL or a connection the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_free(conn: *mut pollhttp_conn) {
    guard("pollhttp_conn_free", (), || {
        if !conn.is_null() {
            drop(Box::from_raw(conn));
        }
    })
}

/// lua-http's `connection.type`: `"client"` or `"server"` (static; NULL for a NULL `conn`).
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_type(conn: *const pollhttp_conn) -> *const c_char {
    const F: &str = "pollhttp_conn_type";
    guard(F, std::ptr::null(), || {
        let c = arg_ref!(conn, F, "conn", std::ptr::null());
        let s: &'static CStr = match c.0.role() {
            crate::Role::Client => c"client",
            crate::Role::Server => c"server",
        };
        s.as_ptr()
    })
}

/// lua-http's `connection.version`: 10, 11 or 20 (HTTP/1.0, 1.1, 2); a negative code for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_version(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_version";
    guard(F, POLLHTTP_EPANIC, || {
        version_number(arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.version())
    })
}

/// The fd to watch, or -1 once closed (or for NULL). While a client resolves a name it is the
/// resolver's wake-up pipe, while it connects the socket being tried: re-read it after every
/// [`pollhttp_conn_step`] and re-register when it changed. Owned by the connection: never close
/// it; remove it from your poller before freeing the connection.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_pollfd(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_pollfd";
    guard(F, -1, || arg_ref!(conn, F, "conn", -1).0.pollfd())
}

/// What to wait for now, as `poll(2)` bits (`POLLIN`, `POLLOUT`, both, or 0; the same values
/// as `EPOLLIN`/`EPOLLOUT` on Linux). Precise: a level-triggered loop waiting for exactly this
/// does not spin. 0 for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_events(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_events";
    guard(F, 0, || {
        c_int::from(arg_ref!(conn, F, "conn", 0).0.events().to_poll())
    })
}

/// Milliseconds until the next deadline that needs a [`pollhttp_conn_step`] even without I/O
/// (rounded up, 0 if due now), or -1 for none (or for NULL). Ready for `poll`/`epoll_wait`.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_timeout(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_timeout";
    guard(F, -1, || {
        ms_until(arg_ref!(conn, F, "conn", -1).0.timeout())
    })
}

/// Does all the work possible now without blocking: resolves, connects, reads until the socket
/// would block, feeds the protocol, writes what it can, fires passed deadlines. Then drain
/// [`pollhttp_conn_try_next_incoming_stream`] and [`pollhttp_conn_next_ready_stream`].
/// [`POLLHTTP_OK`], or the error that closed the connection in this step (reported once; later
/// steps return OK and do nothing).
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_step(conn: *mut pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_step";
    guard(F, POLLHTTP_EPANIC, || {
        status(arg_mut!(conn, F, "conn", POLLHTTP_EINVAL).0.step())
    })
}

/// Tells the connection the loop saw the peer close or an error (`EPOLLRDHUP`, `EPOLLHUP`,
/// `EPOLLERR`): the next step reads to the end.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_hint_read_closed(conn: *mut pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_hint_read_closed";
    guard(F, POLLHTTP_EPANIC, || {
        arg_mut!(conn, F, "conn", POLLHTTP_EINVAL)
            .0
            .hint_read_closed();
        POLLHTTP_OK
    })
}

/// 1 if the connection is closed (by either side, or after an error), 0 if not; negative for
/// NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_is_closed(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_is_closed";
    guard(F, POLLHTTP_EPANIC, || {
        c_int::from(arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.is_closed())
    })
}

/// 1 if a client has finished connecting (a server: while open), 0 if not; negative for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_is_connected(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_is_connected";
    guard(F, POLLHTTP_EPANIC, || {
        c_int::from(arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.is_connected())
    })
}

/// 1 if no exchange is in progress, 0 if one is; negative for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_is_idle(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_is_idle";
    guard(F, POLLHTTP_EPANIC, || {
        c_int::from(arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.is_idle())
    })
}

/// 1 if a step is due at once for work that waits on no I/O (buffered input, output not yet
/// tried), 0 if not, negative for NULL: the timeout reads "now" exactly then, and a loop can
/// ask this instead of reading the clock.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_wants_step_now(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_wants_step_now";
    guard(F, POLLHTTP_EPANIC, || {
        c_int::from(
            arg_ref!(conn, F, "conn", POLLHTTP_EINVAL)
                .0
                .wants_step_now(),
        )
    })
}

/// Why the connection failed: [`POLLHTTP_OK`] if it did not, else its error's code, with the
/// error as this thread's last error (message, errno).
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_error(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_error";
    guard(F, POLLHTTP_EPANIC, || {
        match arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.error() {
            Some(e) => fail(e),
            None => POLLHTTP_OK,
        }
    })
}

/// Blocking: waits until a client connection is established, at most `timeout_ms`.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_connect(
    conn: *mut pollhttp_conn,
    timeout_ms: c_int,
) -> c_int {
    const F: &str = "pollhttp_conn_connect";
    guard(F, POLLHTTP_EPANIC, || {
        status(
            arg_mut!(conn, F, "conn", POLLHTTP_EINVAL)
                .0
                .connect(timeout_arg(timeout_ms)),
        )
    })
}

/// lua-http's `checktls()`: [`POLLHTTP_OK`] if the connection has a TLS session,
/// [`POLLHTTP_ENOTLS`] with a message if it is plaintext, [`POLLHTTP_EAGAIN`] while the
/// handshake goes on. [`pollhttp_conn_get_tls_info`] gives the session's details.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_checktls(conn: *const pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_checktls";
    guard(F, POLLHTTP_EPANIC, || {
        status(arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.checktls())
    })
}

/// lua-http's `checktls()` with the details: [`POLLHTTP_OK`] with `*info`, a snapshot of the
/// session owned by the caller (read it with the `pollhttp_tls_info_*` calls, free it with
/// [`pollhttp_tls_info_free`]; it stays valid after the connection is freed);
/// [`POLLHTTP_ENOTLS`] on a plaintext connection; [`POLLHTTP_EAGAIN`] while the handshake
/// goes on. `*info` is left alone on failure.
///
/// # Safety
/// `conn` is a valid connection; `info` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_get_tls_info(
    conn: *const pollhttp_conn,
    info: *mut *mut pollhttp_tls_info,
) -> c_int {
    const F: &str = "pollhttp_conn_get_tls_info";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_ref!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(info, F, "info", POLLHTTP_EINVAL);
        match c.0.checktls() {
            Ok(i) => {
                *out = Box::into_raw(Box::new(tls_info(i)));
                POLLHTTP_OK
            }
            Err(e) => fail(&e),
        }
    })
}

fn tls_info(i: TlsInfo) -> pollhttp_tls_info {
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

/// The protocol version, `"TLSv1.3"` or `"TLSv1.2"` (NULL for a NULL `info`). The string lives
/// as long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_version(
    info: *const pollhttp_tls_info,
) -> *const c_char {
    const F: &str = "pollhttp_tls_info_version";
    guard(F, std::ptr::null(), || {
        arg_ref!(info, F, "info", std::ptr::null()).version.as_ptr()
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
    const F: &str = "pollhttp_tls_info_cipher_suite";
    guard(F, std::ptr::null(), || {
        arg_ref!(info, F, "info", std::ptr::null())
            .cipher_suite
            .as_ptr()
    })
}

/// The ALPN protocol agreed on (`"h2"`, `"http/1.1"`), or NULL if none was (or `info` is
/// NULL). The string lives as long as `info`.
///
/// # Safety
/// `info` is NULL or a valid session description.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_alpn(info: *const pollhttp_tls_info) -> *const c_char {
    const F: &str = "pollhttp_tls_info_alpn";
    guard(F, std::ptr::null(), || {
        arg_ref!(info, F, "info", std::ptr::null())
            .alpn
            .as_ref()
            .map_or(std::ptr::null(), |a| a.as_ptr())
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
    const F: &str = "pollhttp_tls_info_server_name";
    guard(F, std::ptr::null(), || {
        arg_ref!(info, F, "info", std::ptr::null())
            .server_name
            .as_ref()
            .map_or(std::ptr::null(), |n| n.as_ptr())
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
    const F: &str = "pollhttp_tls_info_peer_cert_count";
    guard(F, 0, || {
        arg_ref!(info, F, "info", 0).peer_certificates.len()
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
    const F: &str = "pollhttp_tls_info_peer_cert";
    guard(F, std::ptr::null(), || {
        let i = arg_ref!(info, F, "info", std::ptr::null());
        match i.peer_certificates.get(index) {
            Some(der) => {
                if let Some(l) = len.as_mut() {
                    *l = der.len();
                }
                der.as_ptr()
            }
            None => std::ptr::null(),
        }
    })
}

/// Frees a session description. NULL is a no-op. Strings and bytes taken from it die with it.
///
/// # Safety
/// `info` is NULL or a description the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_tls_info_free(info: *mut pollhttp_tls_info) {
    guard("pollhttp_tls_info_free", (), || {
        if !info.is_null() {
            drop(Box::from_raw(info));
        }
    })
}

/// lua-http's `localname()`: (family, address, port) of the local socket, `AF_UNSPEC` when not
/// connected. Out-pointers as in [`pollhttp_listener_localname`].
///
/// # Safety
/// `conn` is a valid connection; out-pointers as in [`pollhttp_listener_localname`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_localname(
    conn: *const pollhttp_conn,
    family: *mut c_int,
    address: *mut c_char,
    address_len: usize,
    port: *mut u16,
) -> c_int {
    const F: &str = "pollhttp_conn_localname";
    guard(F, POLLHTTP_EPANIC, || {
        match arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.localname() {
            Ok(n) => put_sockname(F, &n, family, address, address_len, port),
            Err(e) => fail(&e),
        }
    })
}

/// lua-http's `peername()`: (family, address, port) of the peer (the next hop), `AF_UNSPEC`
/// when not connected. Out-pointers as in [`pollhttp_listener_localname`].
///
/// # Safety
/// `conn` is a valid connection; out-pointers as in [`pollhttp_listener_localname`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_peername(
    conn: *const pollhttp_conn,
    family: *mut c_int,
    address: *mut c_char,
    address_len: usize,
    port: *mut u16,
) -> c_int {
    const F: &str = "pollhttp_conn_peername";
    guard(F, POLLHTTP_EPANIC, || {
        match arg_ref!(conn, F, "conn", POLLHTTP_EINVAL).0.peername() {
            Ok(n) => put_sockname(F, &n, family, address, address_len, port),
            Err(e) => fail(&e),
        }
    })
}

/// Writes buffered output without blocking: [`POLLHTTP_OK`] once all of it is out,
/// [`POLLHTTP_EAGAIN`] if some is left (wait for `POLLOUT`), or the error that closed the
/// connection.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_try_flush(conn: *mut pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_try_flush";
    guard(F, POLLHTTP_EPANIC, || {
        match arg_mut!(conn, F, "conn", POLLHTTP_EINVAL).0.try_flush() {
            Ok(true) => POLLHTTP_OK,
            Ok(false) => not_yet(c"output left to write"),
            Err(e) => fail(&e),
        }
    })
}

/// Blocking: lua-http's `flush(timeout)`: writes all buffered output, at most `timeout_ms`.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_flush(conn: *mut pollhttp_conn, timeout_ms: c_int) -> c_int {
    const F: &str = "pollhttp_conn_flush";
    guard(F, POLLHTTP_EPANIC, || {
        status(
            arg_mut!(conn, F, "conn", POLLHTTP_EINVAL)
                .0
                .flush(timeout_arg(timeout_ms)),
        )
    })
}

/// lua-http's `shutdown()`: no new streams; in-flight exchanges finish (a server answers with
/// `Connection: close`, HTTP/2 sends GOAWAY), then the connection closes; what is left at the
/// shutdown deadline is cut off. Keep stepping the connection until it is closed.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_shutdown(conn: *mut pollhttp_conn) -> c_int {
    const F: &str = "pollhttp_conn_shutdown";
    guard(F, POLLHTTP_EPANIC, || {
        arg_mut!(conn, F, "conn", POLLHTTP_EINVAL).0.shutdown();
        POLLHTTP_OK
    })
}

/// Client: a new stream for one request; its id goes to `*stream_id`.
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_new_stream(
    conn: *mut pollhttp_conn,
    stream_id: *mut u64,
) -> c_int {
    const F: &str = "pollhttp_conn_new_stream";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(stream_id, F, "stream_id", POLLHTTP_EINVAL);
        match c.0.new_stream() {
            Ok(id) => {
                *out = id.0;
                POLLHTTP_OK
            }
            Err(e) => fail(&e),
        }
    })
}

/// The next stream the peer started (a request, for a server), without waiting:
/// [`POLLHTTP_OK`] with `*stream_id`, or [`POLLHTTP_EAGAIN`] if none is waiting.
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_try_next_incoming_stream(
    conn: *mut pollhttp_conn,
    stream_id: *mut u64,
) -> c_int {
    const F: &str = "pollhttp_conn_try_next_incoming_stream";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(stream_id, F, "stream_id", POLLHTTP_EINVAL);
        match c.0.try_next_incoming_stream() {
            Some(id) => {
                *out = id.0;
                POLLHTTP_OK
            }
            None => not_yet(c"no incoming stream waiting"),
        }
    })
}

/// Blocking: lua-http's `get_next_incoming_stream(timeout)`: [`POLLHTTP_OK`] with
/// `*stream_id`, [`POLLHTTP_END`] once the connection is closed and no more will come, or an
/// error ([`POLLHTTP_ETIMEDOUT`] ...).
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_get_next_incoming_stream(
    conn: *mut pollhttp_conn,
    timeout_ms: c_int,
    stream_id: *mut u64,
) -> c_int {
    const F: &str = "pollhttp_conn_get_next_incoming_stream";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(stream_id, F, "stream_id", POLLHTTP_EINVAL);
        match c.0.get_next_incoming_stream(timeout_arg(timeout_ms)) {
            Ok(Some(id)) => {
                *out = id.0;
                POLLHTTP_OK
            }
            Ok(None) => POLLHTTP_END,
            Err(e) => fail(&e),
        }
    })
}

/// The next stream with news since it was last named (a head, body bytes, the end, an error,
/// or room to write): [`POLLHTTP_OK`] with `*stream_id`, or [`POLLHTTP_EAGAIN`] when there is
/// none. Drain it after each step.
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_next_ready_stream(
    conn: *mut pollhttp_conn,
    stream_id: *mut u64,
) -> c_int {
    const F: &str = "pollhttp_conn_next_ready_stream";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(stream_id, F, "stream_id", POLLHTTP_EINVAL);
        match c.0.next_ready_stream() {
            Some(id) => {
                *out = id.0;
                POLLHTTP_OK
            }
            None => not_yet(c"no stream is ready"),
        }
    })
}

/// The C handler and its userdata, moved into the connection's idle handler.
struct IdleCallback {
    f: unsafe extern "C" fn(*mut pollhttp_conn, *mut c_void),
    userdata: *mut c_void,
}

impl IdleCallback {
    fn call(&self, conn: &mut Connection) {
        // pollhttp_conn is repr(transparent) over Connection: the same pointer, derived from
        // the handler's own borrow, used only during the call.
        let p = conn as *mut Connection as *mut pollhttp_conn;
        // SAFETY: the caller of pollhttp_conn_onidle vouched for `f` and `userdata`.
        unsafe { (self.f)(p, self.userdata) }
    }
}

// SAFETY: the connection calls its handler only on the thread that drives it; moving the
// connection to another thread moves the callback with it, which the C caller accepted when it
// handed both over (documented on pollhttp_conn_onidle).
unsafe impl Send for IdleCallback {}

/// lua-http's `onidle(handler)`: `handler(conn, userdata)` is called when the connection
/// becomes idle (no request in progress, none waiting). NULL removes the handler. The
/// `userdata` stays the caller's: the library never frees it.
///
/// # Safety
/// `conn` is a valid connection; `handler` is NULL or a function that may be called, with
/// `userdata`, from any pollhttp call that drives `conn` until the handler is replaced or
/// `conn` is freed. It must not free `conn`.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_onidle(
    conn: *mut pollhttp_conn,
    handler: pollhttp_idle_fn,
    userdata: *mut c_void,
) -> c_int {
    const F: &str = "pollhttp_conn_onidle";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let h: Option<IdleHandler> = handler.map(|f| {
            let cb = IdleCallback { f, userdata };
            Box::new(move |c: &mut Connection| cb.call(c)) as IdleHandler
        });
        c.0.onidle(h);
        POLLHTTP_OK
    })
}

/// Turns on (non-zero) or off the immediate write when a client's request ends; a client that
/// pipelines many requests turns it off and calls [`pollhttp_conn_try_flush`] after them.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_set_auto_flush(
    conn: *mut pollhttp_conn,
    on: c_int,
) -> c_int {
    const F: &str = "pollhttp_conn_set_auto_flush";
    guard(F, POLLHTTP_EPANIC, || {
        arg_mut!(conn, F, "conn", POLLHTTP_EINVAL)
            .0
            .set_auto_flush(on != 0);
        POLLHTTP_OK
    })
}

// ------------------------------------------------------------------------------------------------
// Streams: (conn, stream_id)
// ------------------------------------------------------------------------------------------------

/// The stream's state, one of `POLLHTTP_STREAM_*` (`CLOSED` for a finished or unknown id);
/// negative for NULL.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_state(conn: *mut pollhttp_conn, stream_id: u64) -> c_int {
    const F: &str = "pollhttp_stream_state";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        match c.0.stream(StreamId(stream_id)).state() {
            StreamState::Idle => POLLHTTP_STREAM_IDLE,
            StreamState::Open => POLLHTTP_STREAM_OPEN,
            StreamState::HalfClosedLocal => POLLHTTP_STREAM_HALF_CLOSED_LOCAL,
            StreamState::HalfClosedRemote => POLLHTTP_STREAM_HALF_CLOSED_REMOTE,
            StreamState::Closed => POLLHTTP_STREAM_CLOSED,
        }
    })
}

/// The HTTP version of the peer's message on the stream (10, 11 or 20), 0 when unknown;
/// negative for NULL.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_peer_version(
    conn: *mut pollhttp_conn,
    stream_id: u64,
) -> c_int {
    const F: &str = "pollhttp_stream_peer_version";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        c.0.stream(StreamId(stream_id))
            .peer_version()
            .map_or(0, version_number)
    })
}

/// Writes a head: `:status` and fields (server), or `:method`, `:path`, `:authority` and
/// fields (client); a second head after the final one is sent as trailers. `end_stream`
/// non-zero: no body follows. The list is copied: the caller still owns and frees `headers`.
///
/// # Safety
/// `conn` is a valid connection; `headers` a valid list.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_write_headers(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    headers: *const pollhttp_headers,
    end_stream: c_int,
) -> c_int {
    const F: &str = "pollhttp_stream_write_headers";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let h = arg_ref!(headers, F, "headers", POLLHTTP_EINVAL);
        status(
            c.0.stream(StreamId(stream_id))
                .write_headers(&h.0, end_stream != 0),
        )
    })
}

/// Server: answers `Expect: 100-continue` with `100 Continue`.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_write_continue(
    conn: *mut pollhttp_conn,
    stream_id: u64,
) -> c_int {
    const F: &str = "pollhttp_stream_write_continue";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        status(c.0.stream(StreamId(stream_id)).write_continue())
    })
}

/// Server, HTTP/2: server push (RFC 9113 §8.4). Promises the response to `request` (a GET or
/// HEAD without content, with `:path` and `:authority`; `:scheme` defaults to the
/// connection's) on `stream_id`, a request of the client, and puts the promised stream's id in
/// `*promised_id`. The PUSH_PROMISE goes out before any body of `stream_id` written after the
/// call. Answer on the promised stream with the usual calls (write_headers, the body calls);
/// it is not one of the incoming streams. The list is copied: the caller still owns `request`.
/// [`POLLHTTP_ESTATE`] on HTTP/1, on a client, when the client disabled push, or when
/// `stream_id`'s response already ended; [`POLLHTTP_EINVAL`] for a request that cannot be
/// promised; [`POLLHTTP_ELIMIT`] when the client allows no more pushed streams now.
///
/// # Safety
/// `conn` is a valid connection; `request` a valid list; `promised_id` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_push_promise(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    request: *const pollhttp_headers,
    promised_id: *mut u64,
) -> c_int {
    const F: &str = "pollhttp_stream_push_promise";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let h = arg_ref!(request, F, "request", POLLHTTP_EINVAL);
        let out = arg_mut!(promised_id, F, "promised_id", POLLHTTP_EINVAL);
        match c.0.stream(StreamId(stream_id)).push_promise(&h.0) {
            Ok(id) => {
                *out = id.0;
                POLLHTTP_OK
            }
            Err(e) => fail(&e),
        }
    })
}

/// Writes body bytes without blocking (copied); `end_stream` non-zero ends the body.
/// [`POLLHTTP_EAGAIN`] (nothing written) while the connection's send buffer is full: retry
/// when [`pollhttp_conn_next_ready_stream`] names the stream again.
///
/// # Safety
/// `conn` is a valid connection; `data` points to `len` bytes (NULL allowed when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_write_chunk(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    data: *const u8,
    len: usize,
    end_stream: c_int,
) -> c_int {
    const F: &str = "pollhttp_stream_try_write_chunk";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = match bytes_arg(data, len, F, "data") {
            Ok(d) => d,
            Err(code) => return code,
        };
        status(
            c.0.stream(StreamId(stream_id))
                .try_write_chunk(d, end_stream != 0),
        )
    })
}

/// Blocking: lua-http's `write_chunk(chunk, end_stream, timeout)`: waits at most `timeout_ms`
/// for room in the send buffer.
///
/// # Safety
/// As [`pollhttp_stream_try_write_chunk`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_write_chunk(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    data: *const u8,
    len: usize,
    end_stream: c_int,
    timeout_ms: c_int,
) -> c_int {
    const F: &str = "pollhttp_stream_write_chunk";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = match bytes_arg(data, len, F, "data") {
            Ok(d) => d,
            Err(code) => return code,
        };
        status(c.0.stream(StreamId(stream_id)).write_chunk(
            d,
            end_stream != 0,
            timeout_arg(timeout_ms),
        ))
    })
}

/// Blocking: lua-http's `write_body_from_string`: `data` as the whole (rest of the) body, then
/// ends it and flushes, at most `timeout_ms` for each wait.
///
/// # Safety
/// As [`pollhttp_stream_try_write_chunk`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_write_body_from_bytes(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    data: *const u8,
    len: usize,
    timeout_ms: c_int,
) -> c_int {
    const F: &str = "pollhttp_stream_write_body_from_bytes";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = match bytes_arg(data, len, F, "data") {
            Ok(d) => d,
            Err(code) => return code,
        };
        status(
            c.0.stream(StreamId(stream_id))
                .write_body_from_bytes(d, timeout_arg(timeout_ms)),
        )
    })
}

/// Blocking: lua-http's `write_body_from_file`: copies `fd` (read until end of file) to the
/// body, then ends it and flushes. The fd stays the caller's: it is not closed.
///
/// # Safety
/// `conn` is a valid connection; `fd` an open, readable file descriptor.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_write_body_from_fd(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    fd: c_int,
    timeout_ms: c_int,
) -> c_int {
    const F: &str = "pollhttp_stream_write_body_from_fd";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        if fd < 0 {
            return invalid(F, &format!("fd {fd} is not a file descriptor"));
        }
        // ManuallyDrop: the fd is borrowed, never closed here.
        let mut file = ManuallyDrop::new(std::fs::File::from_raw_fd(fd));
        let reader: &mut dyn Read = &mut *file;
        status(
            c.0.stream(StreamId(stream_id))
                .write_body_from_reader(reader, timeout_arg(timeout_ms)),
        )
    })
}

/// Client, after a head with `Expect: 100-continue`: waits at most `timeout_ms` for the
/// server's `100 Continue`. [`POLLHTTP_OK`]: send the body (the 100 came, or the time ran
/// out); [`POLLHTTP_END`]: a final answer came instead, the body is not wanted.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_wait_for_continue(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    timeout_ms: c_int,
) -> c_int {
    const F: &str = "pollhttp_stream_wait_for_continue";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        match c
            .0
            .stream(StreamId(stream_id))
            .wait_for_continue(timeout_arg(timeout_ms))
        {
            Ok(true) => POLLHTTP_OK,
            Ok(false) => POLLHTTP_END,
            Err(e) => fail(&e),
        }
    })
}

fn give_headers(r: crate::Result<Option<Headers>>, out: &mut *mut pollhttp_headers) -> c_int {
    match r {
        Ok(Some(h)) => {
            *out = new_headers(h);
            POLLHTTP_OK
        }
        Ok(None) => POLLHTTP_END,
        Err(e) => fail(&e),
    }
}

/// The next head without waiting (interim 1xx heads come before the final one):
/// [`POLLHTTP_OK`] with `*headers` (owned by the caller: free with [`pollhttp_headers_free`]),
/// [`POLLHTTP_END`] if the stream ended without one, [`POLLHTTP_EAGAIN`] if none arrived yet,
/// or the stream's error.
///
/// # Safety
/// `conn` is a valid connection; `headers` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_get_headers(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    headers: *mut *mut pollhttp_headers,
) -> c_int {
    const F: &str = "pollhttp_stream_try_get_headers";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(headers, F, "headers", POLLHTTP_EINVAL);
        give_headers(c.0.stream(StreamId(stream_id)).try_get_headers(), out)
    })
}

/// Blocking: lua-http's `get_headers(timeout)`; results as [`pollhttp_stream_try_get_headers`],
/// with [`POLLHTTP_ETIMEDOUT`] instead of [`POLLHTTP_EAGAIN`].
///
/// # Safety
/// `conn` is a valid connection; `headers` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_get_headers(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    timeout_ms: c_int,
    headers: *mut *mut pollhttp_headers,
) -> c_int {
    const F: &str = "pollhttp_stream_get_headers";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(headers, F, "headers", POLLHTTP_EINVAL);
        give_headers(
            c.0.stream(StreamId(stream_id))
                .get_headers(timeout_arg(timeout_ms)),
            out,
        )
    })
}

fn give_chunk(r: crate::Result<Option<Vec<u8>>>, data: &mut *mut u8, len: &mut usize) -> c_int {
    match r {
        Ok(Some(v)) => {
            give_bytes(v, data, len);
            POLLHTTP_OK
        }
        Ok(None) => {
            *data = std::ptr::null_mut();
            *len = 0;
            POLLHTTP_END
        }
        Err(e) => fail(&e),
    }
}

/// The next piece of the body without waiting: [`POLLHTTP_OK`] with `*data`/`*len` (owned by
/// the caller: free with [`pollhttp_bytes_free`]), [`POLLHTTP_END`] at the end of the body,
/// [`POLLHTTP_EAGAIN`] if nothing arrived yet, or the stream's error (a truncated body is
/// [`POLLHTTP_ETRUNCATED`], never a short success).
///
/// # Safety
/// `conn` is a valid connection; `data` and `len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_get_next_chunk(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    data: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_stream_try_get_next_chunk";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = arg_mut!(data, F, "data", POLLHTTP_EINVAL);
        let l = arg_mut!(len, F, "len", POLLHTTP_EINVAL);
        give_chunk(c.0.stream(StreamId(stream_id)).try_get_next_chunk(), d, l)
    })
}

/// Blocking: lua-http's `get_next_chunk(timeout)`; results as
/// [`pollhttp_stream_try_get_next_chunk`], with [`POLLHTTP_ETIMEDOUT`] instead of
/// [`POLLHTTP_EAGAIN`].
///
/// # Safety
/// `conn` is a valid connection; `data` and `len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_get_next_chunk(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    timeout_ms: c_int,
    data: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_stream_get_next_chunk";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = arg_mut!(data, F, "data", POLLHTTP_EINVAL);
        let l = arg_mut!(len, F, "len", POLLHTTP_EINVAL);
        give_chunk(
            c.0.stream(StreamId(stream_id))
                .get_next_chunk(timeout_arg(timeout_ms)),
            d,
            l,
        )
    })
}

/// Blocking: lua-http's `get_body_as_string(timeout)`: the whole (rest of the) body, at most
/// `timeout_ms` in all. [`POLLHTTP_OK`] with `*data`/`*len` (NULL and 0 for an empty body;
/// owned by the caller: free with [`pollhttp_bytes_free`]; not NUL-terminated).
///
/// # Safety
/// `conn` is a valid connection; `data` and `len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_get_body(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    timeout_ms: c_int,
    data: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_stream_get_body";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = arg_mut!(data, F, "data", POLLHTTP_EINVAL);
        let l = arg_mut!(len, F, "len", POLLHTTP_EINVAL);
        match c
            .0
            .stream(StreamId(stream_id))
            .get_body_as_bytes(timeout_arg(timeout_ms))
        {
            Ok(v) => {
                give_bytes(v, d, l);
                POLLHTTP_OK
            }
            Err(e) => fail(&e),
        }
    })
}

/// Blocking: lua-http's `save_body_to_file`: writes the body to `fd` as it arrives; the byte
/// count goes to `*written` (may be NULL). The fd stays the caller's: it is not closed.
///
/// # Safety
/// `conn` is a valid connection; `fd` an open, writable file descriptor; `written` NULL or
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_save_body_to_fd(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    fd: c_int,
    timeout_ms: c_int,
    written: *mut u64,
) -> c_int {
    const F: &str = "pollhttp_stream_save_body_to_fd";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        if fd < 0 {
            return invalid(F, &format!("fd {fd} is not a file descriptor"));
        }
        // ManuallyDrop: the fd is borrowed, never closed here.
        let mut file = ManuallyDrop::new(std::fs::File::from_raw_fd(fd));
        let writer: &mut dyn Write = &mut *file;
        match c
            .0
            .stream(StreamId(stream_id))
            .save_body_to(writer, timeout_arg(timeout_ms))
        {
            Ok(n) => {
                if let Some(w) = written.as_mut() {
                    *w = n;
                }
                POLLHTTP_OK
            }
            Err(e) => fail(&e),
        }
    })
}

/// The trailers once the body is over: [`POLLHTTP_OK`] with `*headers` (owned by the caller),
/// [`POLLHTTP_END`] if there were none (or they were taken already), [`POLLHTTP_EAGAIN`] while
/// the body is not over.
///
/// # Safety
/// `conn` is a valid connection; `headers` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_get_trailers(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    headers: *mut *mut pollhttp_headers,
) -> c_int {
    const F: &str = "pollhttp_stream_try_get_trailers";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let out = arg_mut!(headers, F, "headers", POLLHTTP_EINVAL);
        give_headers(c.0.stream(StreamId(stream_id)).try_get_trailers(), out)
    })
}

/// lua-http's `unget(str)`: puts `data` (copied) back in front of the unread body.
///
/// # Safety
/// `conn` is a valid connection; `data` points to `len` bytes (NULL allowed when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_unget(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    data: *const u8,
    len: usize,
) -> c_int {
    const F: &str = "pollhttp_stream_unget";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        let d = match bytes_arg(data, len, F, "data") {
            Ok(d) => d,
            Err(code) => return code,
        };
        status(c.0.stream(StreamId(stream_id)).unget(d))
    })
}

/// lua-http's `shutdown()`/`rst`: abandons the stream: unread input is dropped; HTTP/2 sends
/// RST_STREAM; an unfinished HTTP/1 message ends the connection (HTTP/1 cannot cancel one
/// message and go on).
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_reset(conn: *mut pollhttp_conn, stream_id: u64) -> c_int {
    const F: &str = "pollhttp_stream_reset";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        status(c.0.stream(StreamId(stream_id)).reset())
    })
}

/// 1 if the body that arrived was delimited by the connection closing (not by a length or
/// chunking), else 0; negative for NULL.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_body_close_delimited(
    conn: *mut pollhttp_conn,
    stream_id: u64,
) -> c_int {
    const F: &str = "pollhttp_stream_body_close_delimited";
    guard(F, POLLHTTP_EPANIC, || {
        let c = arg_mut!(conn, F, "conn", POLLHTTP_EINVAL);
        c_int::from(c.0.stream(StreamId(stream_id)).body_close_delimited())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_message() -> String {
        // SAFETY: the message pointer is valid until the next failing call on this thread.
        unsafe { CStr::from_ptr(pollhttp_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_epanic_and_does_not_unwind() {
        let r = guard("pollhttp_test", POLLHTTP_EPANIC, || -> c_int {
            panic!("boom at the boundary")
        });
        assert_eq!(r, POLLHTTP_EPANIC);
        // SAFETY: no arguments.
        assert_eq!(unsafe { pollhttp_last_error_code() }, POLLHTTP_EPANIC);
        let m = last_message();
        assert!(
            m.contains("pollhttp_test") && m.contains("boom at the boundary"),
            "{m}"
        );
    }

    #[test]
    fn every_error_kind_has_its_own_code() {
        use ErrorKind::*;
        let kinds = [
            Io,
            TimedOut,
            Resolve,
            Connect,
            Protocol,
            Limit,
            Closed,
            Reset,
            Truncated,
            InvalidState,
            InvalidInput,
            WouldBlock,
            NoTls,
        ];
        let mut codes: Vec<c_int> = kinds.iter().map(|k| error_code(*k)).collect();
        assert!(codes.iter().all(|c| *c < 0 && *c != POLLHTTP_EOTHER));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
    }

    #[test]
    fn messages_with_nul_bytes_survive() {
        set_last(POLLHTTP_EINVAL, "a\0b", 0, 0, false);
        assert_eq!(last_message(), "a\\0b");
    }

    #[test]
    fn timeouts_round_up_and_none_is_minus_one() {
        assert_eq!(ms_until(None), -1);
        assert_eq!(ms_until(Some(Instant::now() - Duration::from_secs(1))), 0);
        let t = ms_until(Some(Instant::now() + Duration::from_micros(1500)));
        assert!((1..=2).contains(&t), "{t}");
        assert_eq!(timeout_arg(-1), None);
        assert_eq!(timeout_arg(250), Some(Duration::from_millis(250)));
    }
}
