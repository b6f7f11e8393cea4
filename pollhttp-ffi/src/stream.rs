//! The C face of a [`Stream`](crate::Stream): a stream is named by its connection and its 64-bit
//! id, because a Rust `Stream` only lives as long as a borrow of its connection. Its calls
//! write heads (a second head after the final one goes out as trailers), 100-continue, push
//! promises and a body (in chunks, in parts as the send buffer takes them, from bytes or from an
//! fd); read heads, chunks, body bytes into the caller's buffer, a whole body (or into an fd)
//! and trailers; pass a body on to another stream; and reset the stream. The `try_` calls never
//! wait; a call that waits takes a timeout.

use super::boundary::{
    give_bytes, give_handle, or_not_yet, put_id, put_opt, status, status_call, timeout_arg,
    version_number, Call, Outcome,
};
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::{Headers, Stream, StreamId, StreamState};
use std::ffi::c_int;
use std::fs::File;
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// The frame of every stream call: the guard, `conn` checked first, then `body` with the
/// stream `stream_id` of it.
///
/// # Safety
/// `conn` is NULL or a valid connection.
unsafe fn stream_call(
    func: &'static str,
    conn: *mut pollhttp_conn,
    stream_id: u64,
    body: impl FnOnce(Call, Stream<'_>) -> Outcome<c_int>,
) -> c_int {
    status_call(func, |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        body(cx, c.0.stream(StreamId::new(stream_id)))
    })
}

/// A file descriptor C lends for the length of one call, as a `File` that never closes it.
///
/// # Safety
/// `fd` is negative (refused) or an open file descriptor for the length of the call.
unsafe fn lent_fd(cx: Call, fd: c_int) -> Outcome<ManuallyDrop<File>> {
    if fd < 0 {
        return Err(cx.invalid(&format!("fd {fd} is not a file descriptor")));
    }
    // SAFETY: `fd` is open for the length of the call (this function's contract), and
    // ManuallyDrop keeps the File from closing it: C still owns it.
    Ok(ManuallyDrop::new(unsafe { File::from_raw_fd(fd) }))
}

/// A caller's file descriptor written without raising SIGPIPE (the header promises the library
/// never does): a socket with `send(2)` and `MSG_NOSIGNAL`; anything else (a pipe) with
/// SIGPIPE blocked in this thread for the `write(2)`, and the SIGPIPE that write raised, if
/// any, taken from the thread's pending set before the mask is restored. A SIGPIPE that was
/// pending before is left alone. The fd is never closed.
struct NoSigpipe(c_int);

impl Write for NoSigpipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` bytes; the fd is the caller's, open for the
        // call (pollhttp_stream_save_body_to_fd's contract); send only reads `buf`.
        let n = unsafe { libc::send(self.0, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOTSOCK) {
            return Err(e);
        }
        write_with_sigpipe_blocked(self.0, buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `write(2)` to a descriptor that is not a socket, with SIGPIPE blocked in this thread for
/// the call; a SIGPIPE the write raised (EPIPE) is consumed before the mask is restored, so
/// it is never delivered.
fn write_with_sigpipe_blocked(fd: c_int, buf: &[u8]) -> std::io::Result<usize> {
    // SAFETY: plain libc calls on stack values: the signal sets are initialised by
    // sigemptyset/sigaddset (or by pthread_sigmask and sigpending, which fill them) before
    // they are read; `buf` is valid for `buf.len()` bytes and only read; the mask this thread
    // had is restored before returning.
    unsafe {
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        libc::sigemptyset(&mut pending);
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old);
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        let n = libc::write(fd, buf.as_ptr().cast(), buf.len());
        let r = match n {
            n if n >= 0 => Ok(n as usize),
            _ => Err(std::io::Error::last_os_error()),
        };
        if !was_pending
            && r.as_ref()
                .is_err_and(|e| e.raw_os_error() == Some(libc::EPIPE))
        {
            let now = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            while libc::sigtimedwait(&pipe, std::ptr::null_mut(), &now) < 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
            {}
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

/// The stream's state, one of `POLLHTTP_STREAM_*` (`CLOSED` for a finished or unknown id);
/// negative for NULL.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_state(conn: *mut pollhttp_conn, stream_id: u64) -> c_int {
    const F: &str = "pollhttp_stream_state";
    stream_call(F, conn, stream_id, |_, s| {
        Ok(match s.state() {
            StreamState::Idle => POLLHTTP_STREAM_IDLE,
            StreamState::Open => POLLHTTP_STREAM_OPEN,
            StreamState::HalfClosedLocal => POLLHTTP_STREAM_HALF_CLOSED_LOCAL,
            StreamState::HalfClosedRemote => POLLHTTP_STREAM_HALF_CLOSED_REMOTE,
            StreamState::Closed => POLLHTTP_STREAM_CLOSED,
        })
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
    stream_call(F, conn, stream_id, |_, s| {
        Ok(s.peer_version().map_or(0, version_number))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let h = cx.arg_ref(headers, "headers")?;
        status(s.write_headers(&h.0, end_stream != 0))
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
    stream_call(F, conn, stream_id, |_, mut s| status(s.write_continue()))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let h = cx.arg_ref(request, "request")?;
        let out = cx.arg_mut(promised_id, "promised_id")?;
        Ok(put_id(out, s.push_promise(&h.0)?))
    })
}

/// Writes body bytes without blocking (copied); `end_stream` non-zero ends the body.
/// [`POLLHTTP_EAGAIN`] (nothing written) while the connection's send buffer is full: retry
/// when [`pollhttp_conn_try_next_ready_stream`] names the stream again.
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let d = cx.bytes_arg(data, len, "data")?;
        or_not_yet(s.try_write_chunk(d, end_stream != 0), c"send buffer full")?;
        Ok(POLLHTTP_OK)
    })
}

/// Writes as much of `data` as the send buffer takes now, without blocking, as `write(2)`
/// does: [`POLLHTTP_OK`] with `*written` bytes taken (from the front of `data`; fewer than `len`
/// when the buffer filled up); `end_stream` non-zero ends the body only when all of `data` was
/// taken (`len` 0 with `end_stream` just ends it). [`POLLHTTP_EAGAIN`] (`*written` 0) only when
/// nothing fits: retry when [`pollhttp_conn_try_next_ready_stream`] names the stream again.
/// Nothing is allocated for the bytes left: they stay in the caller's buffer.
///
/// # Safety
/// `conn` is a valid connection; `data` points to `len` bytes (NULL allowed when `len` is 0);
/// `written` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_write(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    data: *const u8,
    len: usize,
    end_stream: c_int,
    written: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_stream_try_write";
    stream_call(F, conn, stream_id, |cx, mut s| {
        let d = cx.bytes_arg(data, len, "data")?;
        let out = cx.arg_mut(written, "written")?;
        *out = 0;
        *out = or_not_yet(s.try_write(d, end_stream != 0), c"send buffer full")?;
        Ok(POLLHTTP_OK)
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let d = cx.bytes_arg(data, len, "data")?;
        status(s.write_chunk(d, end_stream != 0, timeout_arg(timeout_ms)))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let d = cx.bytes_arg(data, len, "data")?;
        status(s.write_body_from_bytes(d, timeout_arg(timeout_ms)))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let mut file = lent_fd(cx, fd)?;
        let reader: &mut dyn Read = &mut *file;
        status(s.write_body_from_reader(reader, timeout_arg(timeout_ms)))
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
    stream_call(F, conn, stream_id, |_, mut s| {
        Ok(match s.wait_for_continue(timeout_arg(timeout_ms))? {
            true => POLLHTTP_OK,
            false => POLLHTTP_END,
        })
    })
}

/// Hands a head to C: [`POLLHTTP_OK`] with `*out` (owned by the caller), [`POLLHTTP_END`] for
/// none.
fn give_headers(head: Option<Headers>, out: &mut *mut pollhttp_headers) -> c_int {
    match head {
        Some(h) => {
            *out = give_handle(pollhttp_headers(h));
            POLLHTTP_OK
        }
        None => POLLHTTP_END,
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = cx.arg_mut(headers, "headers")?;
        let head = or_not_yet(s.try_get_headers(), c"no head yet")?;
        Ok(give_headers(head, out))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = cx.arg_mut(headers, "headers")?;
        Ok(give_headers(s.get_headers(timeout_arg(timeout_ms))?, out))
    })
}

/// The `(data, len)` out-parameters of the calls that hand out body bytes, checked before
/// the stream is read (a refused argument must not lose a chunk).
///
/// # Safety
/// `data` and `len` are NULL or valid for writes.
unsafe fn bytes_out<'a>(
    cx: Call,
    data: *mut *mut u8,
    len: *mut usize,
) -> Outcome<(&'a mut *mut u8, &'a mut usize)> {
    Ok((cx.arg_mut(data, "data")?, cx.arg_mut(len, "len")?))
}

/// Hands body bytes to C (owned by the caller): [`POLLHTTP_OK`], or [`POLLHTTP_END`] with
/// NULL and 0 for none.
fn give_chunk(chunk: Option<Vec<u8>>, (data, len): (&mut *mut u8, &mut usize)) -> c_int {
    let end = chunk.is_none();
    give_bytes(chunk.unwrap_or_default(), data, len);
    if end {
        POLLHTTP_END
    } else {
        POLLHTTP_OK
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = bytes_out(cx, data, len)?;
        let chunk = or_not_yet(s.try_get_next_chunk(), c"no body bytes yet")?;
        Ok(give_chunk(chunk, out))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = bytes_out(cx, data, len)?;
        Ok(give_chunk(s.get_next_chunk(timeout_arg(timeout_ms))?, out))
    })
}

/// Body bytes read into the caller's buffer, without waiting and without an allocation:
/// [`POLLHTTP_OK`] with `*n` (> 0) bytes at the front of `buf`, [`POLLHTTP_END`] (`*n` 0) when
/// the body is over (and on every later call), [`POLLHTTP_EAGAIN`] (`*n` 0) if nothing new
/// arrived, or the stream's error (a truncated body is [`POLLHTTP_ETRUNCATED`], told after the
/// bytes before it). `cap` must be at least 1.
///
/// # Safety
/// `conn` is a valid connection; `buf` is valid for `cap` bytes of writes; `n` is valid for
/// writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_read_body(
    conn: *mut pollhttp_conn,
    stream_id: u64,
    buf: *mut u8,
    cap: usize,
    n: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_stream_try_read_body";
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = cx.arg_mut(n, "n")?;
        *out = 0;
        if buf.is_null() {
            return Err(cx.invalid("argument `buf` is NULL"));
        }
        // SAFETY: `buf` is not NULL and valid for `cap` bytes of writes (the contract).
        let b = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
        Ok(
            match or_not_yet(s.try_read_body(b), c"no body bytes yet")? {
                Some(got) => {
                    *out = got;
                    POLLHTTP_OK
                }
                None => POLLHTTP_END,
            },
        )
    })
}

/// 1 if the peer's message on the stream has body bytes still to read (some wait, or the peer
/// has not ended its message), 0 once the body is over or when there is none (HTTP/2 HEADERS
/// with END_STREAM; an HTTP/1 request with neither Content-Length nor chunking; a response to
/// HEAD, a 204, a 304), or when the stream failed or is gone; negative for NULL. It reads
/// nothing. Asked right after the final head was taken, it says whether a body follows it.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_body_follows(
    conn: *mut pollhttp_conn,
    stream_id: u64,
) -> c_int {
    const F: &str = "pollhttp_stream_body_follows";
    stream_call(F, conn, stream_id, |_, s| Ok(c_int::from(s.body_follows())))
}

/// Moves up to `max` received body bytes of stream `from_id` of `from_conn` to the send side of
/// stream `to_id` of `to_conn`, without an allocation: [`POLLHTTP_OK`] with `*moved` (> 0)
/// bytes moved (call again: there may be more); [`POLLHTTP_END`] (`*moved` 0) when the source's
/// body is over and its end was passed on (the destination's body is ended, with the trailers
/// the source had), and on every later call; [`POLLHTTP_EAGAIN`] (`*moved` 0) when the source
/// has nothing new or the destination has no room: call again when
/// [`pollhttp_conn_try_next_ready_stream`] names either stream. `from_conn` and `to_conn` may be
/// the same connection (two HTTP/2 streams, or a request body to its own response: `from_id`
/// and `to_id` may be equal). `max` is at least 1 (`SIZE_MAX`: as much as there is room for).
///
/// # Safety
/// `from_conn` and `to_conn` are valid connections (possibly the same); `moved` is valid for
/// writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_stream_try_pass_body(
    from_conn: *mut pollhttp_conn,
    from_id: u64,
    to_conn: *mut pollhttp_conn,
    to_id: u64,
    max: usize,
    moved: *mut usize,
) -> c_int {
    status_call("pollhttp_stream_try_pass_body", |cx| {
        let out = cx.arg_mut(moved, "moved")?;
        *out = 0;
        let (from, to) = (StreamId::new(from_id), StreamId::new(to_id));
        let passed = if std::ptr::eq(from_conn, to_conn) {
            let c = cx.arg_mut(from_conn, "from_conn")?;
            c.0.try_pass_body(from, to, max)
        } else {
            // Two distinct connections: two references that do not alias.
            let src = cx.arg_mut(from_conn, "from_conn")?;
            let dst = cx.arg_mut(to_conn, "to_conn")?;
            src.0
                .stream(from)
                .try_pass_body_to(&mut dst.0.stream(to), max)
        };
        Ok(match or_not_yet(passed, c"nothing to pass now")? {
            Some(n) => {
                *out = n;
                POLLHTTP_OK
            }
            None => POLLHTTP_END,
        })
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = bytes_out(cx, data, len)?;
        Ok(give_chunk(
            Some(s.get_body_as_bytes(timeout_arg(timeout_ms))?),
            out,
        ))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        if fd < 0 {
            return Err(cx.invalid(&format!("fd {fd} is not a file descriptor")));
        }
        let writer: &mut dyn Write = &mut NoSigpipe(fd);
        put_opt(written, s.save_body_to(writer, timeout_arg(timeout_ms))?);
        Ok(POLLHTTP_OK)
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        let out = cx.arg_mut(headers, "headers")?;
        let trailers = or_not_yet(s.try_get_trailers(), c"the body is not over yet")?;
        Ok(give_headers(trailers, out))
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
    stream_call(F, conn, stream_id, |cx, mut s| {
        status(s.unget(cx.bytes_arg(data, len, "data")?))
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
    stream_call(F, conn, stream_id, |_, mut s| status(s.reset()))
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
    stream_call(F, conn, stream_id, |_, mut s| {
        Ok(c_int::from(s.body_close_delimited()))
    })
}
