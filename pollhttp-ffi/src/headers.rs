//! The C face of [`Headers`]: a `pollhttp_headers` handle, made empty, as a request or as a
//! response head, filled with `append`/`upsert`, read field by field, and freed. The stream
//! calls take one to write a head and hand one out for each head received.

use super::boundary::{
    free_call, give_handle, lend_bytes, put_opt, status_call, value_call, Call, Outcome,
};
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::Headers;
use std::ffi::{c_char, c_int};

/// A `(pointer, length)` string argument that must be UTF-8 (a field name, a method, a path).
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes valid for `'a`.
unsafe fn text_n<'a>(cx: Call, p: *const c_char, len: usize, name: &str) -> Outcome<&'a str> {
    let b = cx.bytes_arg(p.cast(), len, name)?;
    std::str::from_utf8(b).map_err(|_| cx.invalid(&format!("argument `{name}` is not UTF-8")))
}

/// An ordered header list with pseudo-headers (C: `pollhttp_headers*`). Owned by the caller
/// from `pollhttp_headers_new*` or a `get_headers`/`get_trailers` call until
/// [`pollhttp_headers_free`].
#[repr(transparent)]
pub struct pollhttp_headers(pub(super) Headers);

/// A new empty header list, owned by the caller (free with [`pollhttp_headers_free`]).
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_new() -> *mut pollhttp_headers {
    value_call("pollhttp_headers_new", std::ptr::null_mut(), |_| {
        Ok(give_handle(pollhttp_headers(Headers::new())))
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
    value_call("pollhttp_headers_new_request", std::ptr::null_mut(), |cx| {
        let m = cx.str_arg(method, "method")?;
        let p = cx.str_arg(path, "path")?;
        let a = cx.opt_str_arg(authority, "authority")?;
        Ok(give_handle(pollhttp_headers(Headers::request_text(
            m, p, a,
        ))))
    })
}

/// [`pollhttp_headers_new_request`] with `(pointer, length)` strings: `:method`, `:path`, and
/// `:authority` unless `authority` is NULL. Each must be UTF-8; NULL is allowed for an empty
/// method or path only with length 0 (and then refused as empty when the head is written).
///
/// # Safety
/// `method` and `path` point to `method_len` and `path_len` bytes (NULL allowed when the
/// length is 0); `authority` is NULL or points to `authority_len` bytes. All are copied.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_new_request_n(
    method: *const c_char,
    method_len: usize,
    path: *const c_char,
    path_len: usize,
    authority: *const c_char,
    authority_len: usize,
) -> *mut pollhttp_headers {
    const F: &str = "pollhttp_headers_new_request_n";
    value_call(F, std::ptr::null_mut(), |cx| {
        let m = text_n(cx, method, method_len, "method")?;
        let p = text_n(cx, path, path_len, "path")?;
        let a = match authority.is_null() {
            true => None,
            false => Some(text_n(cx, authority, authority_len, "authority")?),
        };
        Ok(give_handle(pollhttp_headers(Headers::request_text(
            m, p, a,
        ))))
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
    value_call(F, std::ptr::null_mut(), |cx| {
        let Some(s) = u16::try_from(status)
            .ok()
            .and_then(|s| crate::StatusCode::from_u16(s).ok())
        else {
            return Err(cx.invalid(&format!("status {status} is not a three-digit code")));
        };
        let head = Headers::response(s);
        Ok(give_handle(pollhttp_headers(head)))
    })
}

/// Frees a header list. NULL is a no-op.
///
/// # Safety
/// `headers` is NULL or a list the library returned, not yet freed; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_free(headers: *mut pollhttp_headers) {
    free_call("pollhttp_headers_free", headers)
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
    status_call("pollhttp_headers_append", |cx| {
        let h = cx.arg_mut(headers, "headers")?;
        let n = cx.str_arg(name, "name")?;
        h.0.append(n, cx.cstr_arg(value, "value")?.to_bytes());
        Ok(POLLHTTP_OK)
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
    status_call("pollhttp_headers_append_n", |cx| {
        let h = cx.arg_mut(headers, "headers")?;
        let n = text_n(cx, name, name_len, "name")?;
        let v = cx.bytes_arg(value.cast(), value_len, "value")?;
        if sensitive != 0 {
            h.0.append_sensitive(n, v);
        } else {
            h.0.append(n, v);
        }
        Ok(POLLHTTP_OK)
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
    status_call("pollhttp_headers_upsert", |cx| {
        let h = cx.arg_mut(headers, "headers")?;
        let n = cx.str_arg(name, "name")?;
        h.0.upsert(n, cx.cstr_arg(value, "value")?.to_bytes());
        Ok(POLLHTTP_OK)
    })
}

/// [`pollhttp_headers_upsert`] with `(pointer, length)` strings; the value may hold any bytes.
///
/// # Safety
/// `headers` is a valid list; `name` points to `name_len` bytes of UTF-8 and `value` to
/// `value_len` bytes (NULL allowed when the length is 0); both are copied.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_upsert_n(
    headers: *mut pollhttp_headers,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> c_int {
    status_call("pollhttp_headers_upsert_n", |cx| {
        let h = cx.arg_mut(headers, "headers")?;
        let n = text_n(cx, name, name_len, "name")?;
        h.0.upsert(n, cx.bytes_arg(value.cast(), value_len, "value")?);
        Ok(POLLHTTP_OK)
    })
}

/// Removes every field called `name` (any case): the number removed (0 if there was none),
/// or a negative code. A count, never [`POLLHTTP_END`].
///
/// # Safety
/// `headers` is a valid list; `name` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_remove(
    headers: *mut pollhttp_headers,
    name: *const c_char,
) -> c_int {
    status_call("pollhttp_headers_remove", |cx| {
        let h = cx.arg_mut(headers, "headers")?;
        Ok(remove_all(h, cx.str_arg(name, "name")?))
    })
}

/// [`pollhttp_headers_remove`] with the name as `(pointer, length)`.
///
/// # Safety
/// `headers` is a valid list; `name` points to `name_len` bytes of UTF-8.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_remove_n(
    headers: *mut pollhttp_headers,
    name: *const c_char,
    name_len: usize,
) -> c_int {
    status_call("pollhttp_headers_remove_n", |cx| {
        let h = cx.arg_mut(headers, "headers")?;
        Ok(remove_all(h, text_n(cx, name, name_len, "name")?))
    })
}

/// Removes the fields called `name`; how many there were.
fn remove_all(h: &mut pollhttp_headers, name: &str) -> c_int {
    let before = h.0.len();
    h.0.remove(name);
    c_int::try_from(before - h.0.len()).unwrap_or(c_int::MAX)
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
    value_call("pollhttp_headers_get", std::ptr::null(), |cx| {
        let h = cx.arg_ref(headers, "headers")?;
        Ok(first_value(h, cx.str_arg(name, "name")?, value_len))
    })
}

/// [`pollhttp_headers_get`] with the name as `(pointer, length)`.
///
/// # Safety
/// `headers` is a valid list; `name` points to `name_len` bytes of UTF-8; `value_len` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_get_n(
    headers: *const pollhttp_headers,
    name: *const c_char,
    name_len: usize,
    value_len: *mut usize,
) -> *const c_char {
    value_call("pollhttp_headers_get_n", std::ptr::null(), |cx| {
        let h = cx.arg_ref(headers, "headers")?;
        Ok(first_value(
            h,
            text_n(cx, name, name_len, "name")?,
            value_len,
        ))
    })
}

/// The first value of `name` lent to C (its length to `*value_len`), or NULL.
///
/// # Safety
/// `value_len` is NULL or writable.
unsafe fn first_value(h: &pollhttp_headers, name: &str, value_len: *mut usize) -> *const c_char {
    match h.0.get(name) {
        Some(v) => {
            put_opt(value_len, v.len());
            v.as_ptr().cast()
        }
        None => std::ptr::null(),
    }
}

/// The number of fields, pseudo-headers included (0 for NULL).
///
/// # Safety
/// `headers` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_count(headers: *const pollhttp_headers) -> usize {
    value_call("pollhttp_headers_count", 0, |cx| {
        Ok(cx.arg_ref(headers, "headers")?.0.len())
    })
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
    status_call("pollhttp_headers_field", |cx| {
        let h = cx.arg_ref(headers, "headers")?;
        let name = cx.arg_mut(name, "name")?;
        let name_len = cx.arg_mut(name_len, "name_len")?;
        let value = cx.arg_mut(value, "value")?;
        let value_len = cx.arg_mut(value_len, "value_len")?;
        Ok(match h.0.field(index) {
            Some(f) => {
                lend_bytes(f.name.as_bytes(), name, name_len);
                lend_bytes(f.value, value, value_len);
                POLLHTTP_OK
            }
            None => POLLHTTP_END,
        })
    })
}

/// The `:status` of a response head as a number, or -1 if it has none (or `headers` is NULL).
///
/// # Safety
/// `headers` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_headers_status(headers: *const pollhttp_headers) -> c_int {
    value_call("pollhttp_headers_status", -1, |cx| {
        Ok(cx
            .arg_ref(headers, "headers")?
            .0
            .status_code()
            .map_or(-1, c_int::from))
    })
}
