//! The C face of a [`Stream`](crate::Stream): a stream is named by its connection and its 64-bit
//! id, because a Rust `Stream` only lives as long as a borrow of its connection. Its calls
//! write heads (a second head after the final one goes out as trailers), 100-continue, push
//! promises and a body (in chunks, from bytes or from an fd); read heads, chunks, a whole body
//! (or into an fd) and trailers; and reset the stream. The `try_` calls never wait; a call that
//! waits takes a timeout.

use super::boundary::{
    arg_mut, arg_ref, bytes_arg, fail, give_bytes, guard, invalid, status, timeout_arg,
    version_number,
};
use super::headers::new_headers;
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::{Headers, StreamState};
use std::ffi::c_int;
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

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
        match c.0.stream(stream_id.into()).state() {
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
        c.0.stream(stream_id.into())
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
            c.0.stream(stream_id.into())
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
        status(c.0.stream(stream_id.into()).write_continue())
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
        match c.0.stream(stream_id.into()).push_promise(&h.0) {
            Ok(id) => {
                *out = id.get();
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
            c.0.stream(stream_id.into())
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
        status(c.0.stream(stream_id.into()).write_chunk(
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
            c.0.stream(stream_id.into())
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
            c.0.stream(stream_id.into())
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
            .stream(stream_id.into())
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
        give_headers(c.0.stream(stream_id.into()).try_get_headers(), out)
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
            c.0.stream(stream_id.into())
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
        give_chunk(c.0.stream(stream_id.into()).try_get_next_chunk(), d, l)
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
            c.0.stream(stream_id.into())
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
            .stream(stream_id.into())
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
            .stream(stream_id.into())
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
        give_headers(c.0.stream(stream_id.into()).try_get_trailers(), out)
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
        status(c.0.stream(stream_id.into()).unget(d))
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
        status(c.0.stream(stream_id.into()).reset())
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
        c_int::from(c.0.stream(stream_id.into()).body_close_delimited())
    })
}
