//! The C face of [`Headers`]: a `pollhttp_headers` handle, made empty, as a request or as a
//! response head, filled with `append`/`upsert`, read field by field, and freed. The stream
//! calls take one to write a head and hand one out for each head received.

use super::boundary::{arg_mut, arg_ref, bytes_arg, guard, invalid, null_arg, str_arg};
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::Headers;
use std::ffi::{c_char, c_int, CStr};

/// An ordered header list with pseudo-headers (C: `pollhttp_headers*`). Owned by the caller
/// from `pollhttp_headers_new*` or a `get_headers`/`get_trailers` call until
/// [`pollhttp_headers_free`].
#[repr(transparent)]
pub struct pollhttp_headers(pub(super) Headers);

pub(super) fn new_headers(h: Headers) -> *mut pollhttp_headers {
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
        new_headers(Headers::request_text(m, p, a))
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
        let Some(s) = u16::try_from(status)
            .ok()
            .and_then(|s| crate::StatusCode::from_u16(s).ok())
        else {
            invalid(F, &format!("status {status} is not a three-digit code"));
            return std::ptr::null_mut();
        };
        new_headers(Headers::response(s))
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
            .status_code()
            .map_or(-1, c_int::from)
    })
}
