//! The boundary every C call goes through: the status codes and the per-thread last error
//! (lua-http's `(nil, message, errno)`), `guard` that catches a panic before it reaches C, and
//! the frame of every call: `status_call` (a call that returns a status), `value_call` (one
//! that returns a handle, an fd or a count), `free_call` (one that frees a handle). A call's
//! body gets a `Call`, whose argument readers (`arg_mut`, `arg_ref`, `str_arg`, `cstr_arg`,
//! `bytes_arg`) turn C's pointers into references or a recorded [`POLLHTTP_EINVAL`], and gives
//! an `Outcome`: a `?` on a failed [`pollhttp::Result`] records the error and returns its code.
//! Then the helpers that hand results to C (`give_handle`, `give_bytes`, `lend_bytes`,
//! `put_opt`, `put_sockname`, `ms_until`, `version_number`, `update_settings`). The C calls
//! that read the last error, the library version and `pollhttp_bytes_free` live here too. The
//! object files build on these and add no convention of their own.

use crate::{Error, ErrorKind, SockName, StreamId};
use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
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

/// HTTP/1.0, as the version calls name it (`pollhttp_conn_version`, `pollhttp_conn_client`).
pub const POLLHTTP_HTTP_1_0: c_int = 10;
/// HTTP/1.1.
pub const POLLHTTP_HTTP_1_1: c_int = 11;
/// HTTP/2.
pub const POLLHTTP_HTTP_2: c_int = 20;

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
        // This ABI has no code of its own for TLS failures: they stay "protocol" as before.
        ErrorKind::Tls => POLLHTTP_EPROTOCOL,
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
    /// The last error of a failed call on this thread: per thread by design, like C's `errno`
    /// (the header says so), since a C caller reads it right after the call that failed, on
    /// the same thread. It holds the codes and message of one error, replaced by the next
    /// failure or `pollhttp_clear_error`, and goes with the thread.
    static LAST: RefCell<LastError> = const { RefCell::new(LastError {
        code: POLLHTTP_OK,
        message: Cow::Borrowed(c""),
        errno: 0,
        status: 0,
        retryable: false,
    }) };
}

pub(super) fn cstring_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn store(e: LastError) -> c_int {
    let code = e.code;
    // try_with: during thread teardown the storage may be gone; the code still goes back.
    let _ = LAST.try_with(|l| *l.borrow_mut() = e);
    code
}

pub(super) fn set_last(
    code: c_int,
    message: &str,
    errno: c_int,
    status: c_int,
    retryable: bool,
) -> c_int {
    store(LastError {
        code,
        message: Cow::Owned(cstring_lossy(message)),
        errno,
        status,
        retryable,
    })
}

/// [`POLLHTTP_EAGAIN`] with a fixed message and `EAGAIN`, without allocating.
pub(super) fn not_yet(message: &'static CStr) -> c_int {
    store(LastError {
        code: POLLHTTP_EAGAIN,
        message: Cow::Borrowed(message),
        errno: libc::EAGAIN,
        status: 0,
        retryable: false,
    })
}

/// `r` for a `?`: "would block" recorded as [`not_yet`] with the fixed `message` (no
/// allocation: a C loop ends every drain of a non-blocking call with it), any other error as
/// itself.
pub(super) fn or_not_yet<T>(r: pollhttp::Result<T>, message: &'static CStr) -> Outcome<T> {
    r.map_err(|e| match e.is_would_block() {
        true => Failed(not_yet(message)),
        false => Failed::from(e),
    })
}

/// Records `e` as the thread's last error; returns its code. "Would block" carries `EAGAIN`
/// when the OS gave no errno, as a C programmer expects of it.
pub(super) fn fail(e: &Error) -> c_int {
    let errno = match (e.errno(), e.kind()) {
        (Some(n), _) => n,
        (None, ErrorKind::WouldBlock) => libc::EAGAIN,
        (None, _) => 0,
    };
    set_last(
        error_code(e.kind()),
        e.message(),
        errno,
        e.status().map_or(0, |s| c_int::from(s.as_u16())),
        e.is_retryable(),
    )
}

pub(super) fn invalid(func: &str, what: &str) -> c_int {
    set_last(POLLHTTP_EINVAL, &format!("{func}: {what}"), 0, 0, false)
}

/// Runs `f`, turning a panic into [`POLLHTTP_EPANIC`] (recorded as the last error) and
/// `on_panic`.
pub(super) fn guard<T>(func: &str, on_panic: T, f: impl FnOnce() -> T) -> T {
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

// ------------------------------------------------------------------------------------------------
// The frame of a call
// ------------------------------------------------------------------------------------------------

/// A failure already recorded as the thread's last error; its code is what C gets. A
/// [`crate::Error`] becomes one through `?` (recording it).
pub(super) struct Failed(c_int);

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed(fail(&e))
    }
}

/// What the body of a call gives: its result for C, or a failure already recorded.
pub(super) type Outcome<T> = Result<T, Failed>;

/// One C call in progress: its name, which each argument check puts in its message. The
/// argument readers take a raw pointer from C and give a Rust reference or slice, or a
/// recorded [`POLLHTTP_EINVAL`] naming the argument.
#[derive(Clone, Copy)]
pub(super) struct Call(&'static str);

impl Call {
    pub(super) fn name(self) -> &'static str {
        self.0
    }

    /// [`POLLHTTP_EINVAL`] with `"<call>: <what>"`.
    pub(super) fn invalid(self, what: &str) -> Failed {
        Failed(invalid(self.0, what))
    }

    fn null(self, arg: &str) -> Failed {
        self.invalid(&format!("argument `{arg}` is NULL"))
    }

    /// `&mut *p`: a handle or an out-parameter C must pass.
    ///
    /// # Safety
    /// `p` is NULL or valid for reads and writes, and not aliased, for `'a`.
    pub(super) unsafe fn arg_mut<'a, T>(self, p: *mut T, name: &str) -> Outcome<&'a mut T> {
        // SAFETY: a non-NULL `p` is valid and unaliased for 'a (this function's contract).
        unsafe { p.as_mut() }.ok_or_else(|| self.null(name))
    }

    /// `&*p`: a handle C must pass.
    ///
    /// # Safety
    /// `p` is NULL or valid for reads, and not written through, for `'a`.
    pub(super) unsafe fn arg_ref<'a, T>(self, p: *const T, name: &str) -> Outcome<&'a T> {
        // SAFETY: a non-NULL `p` is valid for reads for 'a (this function's contract).
        unsafe { p.as_ref() }.ok_or_else(|| self.null(name))
    }

    /// A NUL-terminated string argument that must be UTF-8.
    ///
    /// # Safety
    /// `p` is NULL or points to a NUL-terminated string valid for `'a`.
    pub(super) unsafe fn str_arg<'a>(self, p: *const c_char, name: &str) -> Outcome<&'a str> {
        // SAFETY: as this function's contract.
        unsafe { self.cstr_arg(p, name) }?
            .to_str()
            .map_err(|_| self.invalid(&format!("argument `{name}` is not UTF-8")))
    }

    /// As [`Call::str_arg`], with NULL for "none".
    ///
    /// # Safety
    /// As [`Call::str_arg`].
    pub(super) unsafe fn opt_str_arg<'a>(
        self,
        p: *const c_char,
        name: &str,
    ) -> Outcome<Option<&'a str>> {
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: as this function's contract.
        unsafe { self.str_arg(p, name) }.map(Some)
    }

    /// A NUL-terminated string argument of any bytes (without the NUL).
    ///
    /// # Safety
    /// `p` is NULL or points to a NUL-terminated string valid for `'a`.
    pub(super) unsafe fn cstr_arg<'a>(self, p: *const c_char, name: &str) -> Outcome<&'a CStr> {
        if p.is_null() {
            return Err(self.null(name));
        }
        // SAFETY: `p` is not NULL, so it points to a NUL-terminated string valid for 'a.
        Ok(unsafe { CStr::from_ptr(p) })
    }

    /// A `(pointer, length)` byte argument; NULL is allowed only with length 0.
    ///
    /// # Safety
    /// `p` is NULL or points to `len` readable bytes valid for `'a`.
    pub(super) unsafe fn bytes_arg<'a>(
        self,
        p: *const u8,
        len: usize,
        name: &str,
    ) -> Outcome<&'a [u8]> {
        if p.is_null() {
            return if len == 0 {
                Ok(&[])
            } else {
                Err(self.null(name))
            };
        }
        // SAFETY: `p` is not NULL, so it points to `len` readable bytes valid for 'a.
        Ok(unsafe { std::slice::from_raw_parts(p, len) })
    }
}

/// The frame of a call that returns a status: `body` runs under [`guard`] (a panic is
/// [`POLLHTTP_EPANIC`]); a failure gives its code.
pub(super) fn status_call(func: &'static str, body: impl FnOnce(Call) -> Outcome<c_int>) -> c_int {
    guard(func, POLLHTTP_EPANIC, || {
        body(Call(func)).unwrap_or_else(|Failed(code)| code)
    })
}

/// The frame of a call that returns a value (a handle, an fd, a count): `body` runs under
/// [`guard`]; after a panic or a failure (recorded) C gets `fallback` (NULL, -1, 0).
pub(super) fn value_call<T: Copy>(
    func: &'static str,
    fallback: T,
    body: impl FnOnce(Call) -> Outcome<T>,
) -> T {
    guard(func, fallback, || body(Call(func)).unwrap_or(fallback))
}

/// The frame of a call that frees a handle the library returned: NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a handle [`give_handle`] returned, not yet freed; invalid afterwards.
pub(super) unsafe fn free_call<T>(func: &'static str, p: *mut T) {
    // SAFETY: as this function's contract.
    guard(func, (), || drop(unsafe { take_handle(p) }))
}

/// Hands a new handle to C: the caller owns it until the call that frees it ([`free_call`]).
pub(super) fn give_handle<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Takes back a handle C gives up (`None` for NULL).
///
/// # Safety
/// `p` is NULL or a handle [`give_handle`] returned, not yet taken back; invalid afterwards.
pub(super) unsafe fn take_handle<T>(p: *mut T) -> Option<Box<T>> {
    // SAFETY: a non-NULL `p` came from Box::into_raw in give_handle and is taken back once.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}

/// [`POLLHTTP_OK`] for a result whose value C does not need.
pub(super) fn status<T>(r: pollhttp::Result<T>) -> Outcome<c_int> {
    r?;
    Ok(POLLHTTP_OK)
}

/// Replaces TLS settings by what `update` makes of a copy of them; on failure they stay as
/// they were, and the error becomes the thread's last error.
pub(super) fn update_settings<T: Clone>(
    slot: &mut T,
    update: impl FnOnce(T) -> pollhttp::Result<T>,
) -> Outcome<c_int> {
    *slot = update(slot.clone())?;
    Ok(POLLHTTP_OK)
}

// ------------------------------------------------------------------------------------------------
// Arguments and results
// ------------------------------------------------------------------------------------------------

pub(super) fn timeout_arg(ms: c_int) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// Milliseconds until `t`, rounded up (a loop that sleeps that long wakes after the deadline,
/// not just before it); 0 when due; -1 for none.
pub(super) fn ms_until(t: Option<Instant>) -> c_int {
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

pub(super) fn version_number(v: http::Version) -> c_int {
    match v {
        http::Version::HTTP_09 => 9,
        http::Version::HTTP_10 => POLLHTTP_HTTP_1_0,
        http::Version::HTTP_11 => POLLHTTP_HTTP_1_1,
        http::Version::HTTP_2 => POLLHTTP_HTTP_2,
        http::Version::HTTP_3 => 30,
        _ => 0,
    }
}

/// Writes `v` to an out-parameter C may pass as NULL (not wanted).
///
/// # Safety
/// `p` is NULL or valid for writes.
pub(super) unsafe fn put_opt<T>(p: *mut T, v: T) {
    // SAFETY: a non-NULL `p` is valid for writes (this function's contract).
    if let Some(slot) = unsafe { p.as_mut() } {
        *slot = v;
    }
}

/// Hands a stream id to C through an out-parameter: [`POLLHTTP_OK`].
pub(super) fn put_id(out: &mut u64, id: StreamId) -> c_int {
    *out = id.get();
    POLLHTTP_OK
}

/// Lends C bytes that stay where they are, as a `(pointer, length)` out-parameter pair.
pub(super) fn lend_bytes(bytes: &[u8], data: &mut *const c_char, len: &mut usize) {
    *data = bytes.as_ptr().cast();
    *len = bytes.len();
}

/// Hands bytes to C: NULL for none, else a boxed slice freed by [`pollhttp_bytes_free`].
pub(super) fn give_bytes(v: Vec<u8>, data: &mut *mut u8, len: &mut usize) {
    *len = v.len();
    *data = if v.is_empty() {
        std::ptr::null_mut()
    } else {
        Box::into_raw(v.into_boxed_slice()).cast::<u8>()
    };
}

/// Writes a socket name as lua-http's (family, address, port).
///
/// # Safety
/// Each pointer is NULL or valid for writes (`address` for `address_len` bytes).
pub(super) unsafe fn put_sockname(
    cx: Call,
    name: &SockName,
    family: *mut c_int,
    address: *mut c_char,
    address_len: usize,
    port: *mut u16,
) -> Outcome<c_int> {
    let (text, p) = match name {
        SockName::Inet(a) => (a.ip().to_string(), a.port()),
        SockName::Unix(Some(path)) => (path.to_string_lossy().into_owned(), 0),
        SockName::Unix(None) | SockName::Unspecified => (String::new(), 0),
    };
    if !address.is_null() || address_len > 0 {
        if address.is_null() {
            return Err(cx.null("address"));
        }
        if text.len() + 1 > address_len {
            let func = cx.name();
            return Err(Failed(set_last(
                POLLHTTP_ERANGE,
                &format!(
                    "{func}: the address needs {} bytes, the buffer has {address_len}",
                    text.len() + 1
                ),
                0,
                0,
                false,
            )));
        }
        // SAFETY: `address` is valid for `address_len` bytes, and text.len() + 1 fit in them.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), address.cast::<u8>(), text.len());
            *address.add(text.len()) = 0;
        }
    }
    // SAFETY: `family` and `port` are NULL or valid for writes (this function's contract).
    unsafe {
        put_opt(family, name.family());
        put_opt(port, p);
    }
    Ok(POLLHTTP_OK)
}

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
            // SAFETY: `data` and `len` are a boxed slice give_bytes handed out, freed only here.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
        }
    })
}
