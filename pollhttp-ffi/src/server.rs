//! The C face of [`Server`]: a `pollhttp_server` handle owning its listeners and connections
//! behind one fd, driven by the caller's loop (`pollfd`, `events`, `timeout`, `step`), and the
//! requests it hands out, named by the server and a 64-bit request id (as a stream is named
//! by its connection and its id): their head, body and response.

use super::boundary::{
    free_call, give_bytes, give_handle, ms_until, or_not_yet, put_opt, status, status_call,
    take_handle, timeout_arg, value_call, Call, Outcome,
};
use super::config::config_arg;
use super::*; // the C surface: status codes, handles, the calls of the other files
use pollhttp::{Error, ErrorKind, Headers, Request, RequestId, Server, ServerOptions, StatusCode};
use std::ffi::{c_char, c_int};
use std::net::{IpAddr, SocketAddr};

/// A server (C: `pollhttp_server*`): listeners, connections and requests behind one fd.
/// Owned by the caller from [`pollhttp_server_new`] until [`pollhttp_server_free`].
pub struct pollhttp_server(pub(super) Server);

/// The request `request` of `server`, or `POLLHTTP_ESTATE` when it is over.
fn request_of(server: &mut Server, request: u64) -> Outcome<Request<'_>> {
    server.request(RequestId::from_u64(request)).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidState,
            format!(
                "request {request:#x} is over: its response is complete, or its connection closed"
            ),
        )
        .into()
    })
}

/// The frame of every request call: the guard, `server` checked, then `body` with the request.
///
/// # Safety
/// `server` is NULL or a valid server.
unsafe fn request_call(
    func: &'static str,
    server: *mut pollhttp_server,
    request: u64,
    body: impl FnOnce(Call, Request<'_>) -> Outcome<c_int>,
) -> c_int {
    status_call(func, |cx| {
        let s = cx.arg_mut(server, "server")?;
        let req = request_of(&mut s.0, request)?;
        body(cx, req)
    })
}

/// A server with no listener yet; its connections get `config` (copied; NULL: the defaults).
/// Owned by the caller (free with [`pollhttp_server_free`]); NULL with the last error set.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_new(
    config: *const pollhttp_config,
) -> *mut pollhttp_server {
    value_call("pollhttp_server_new", std::ptr::null_mut(), |_| {
        let opts = ServerOptions {
            config: config_arg(config),
            ..ServerOptions::default()
        };
        Ok(give_handle(pollhttp_server(Server::new(opts)?)))
    })
}

/// Frees a server: its listeners and connections close at once (for a graceful stop call
/// [`pollhttp_server_shutdown`] and step until [`pollhttp_server_is_done`] first). NULL is a
/// no-op.
///
/// # Safety
/// `server` is NULL or a server not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_free(server: *mut pollhttp_server) {
    free_call("pollhttp_server_free", server)
}

/// Connections open at once (>= 1; default 10000): at the limit the server accepts no more and
/// the kernel keeps new ones in the backlog.
///
/// # Safety
/// `server` is a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_set_max_connections(
    server: *mut pollhttp_server,
    max: usize,
) -> c_int {
    status_call("pollhttp_server_set_max_connections", |cx| {
        let s = cx.arg_mut(server, "server")?;
        if max == 0 {
            return Err(cx.invalid("max must be at least 1"));
        }
        s.0.set_max_connections(max);
        Ok(POLLHTTP_OK)
    })
}

/// How long a request may wait for its response head (ms; negative: no limit; default
/// 60000); then the server answers 503 itself.
///
/// # Safety
/// `server` is a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_set_response_timeout(
    server: *mut pollhttp_server,
    timeout_ms: c_int,
) -> c_int {
    status_call("pollhttp_server_set_response_timeout", |cx| {
        let s = cx.arg_mut(server, "server")?;
        s.0.set_response_timeout(timeout_arg(timeout_ms));
        Ok(POLLHTTP_OK)
    })
}

/// Listens on TCP `address` (an IPv4 or IPv6 literal) and `port` (0: any free port); the port
/// bound goes to `*bound_port` (NULL: not wanted).
///
/// # Safety
/// `server` is a valid server; `address` a NUL-terminated string; `bound_port` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_listen(
    server: *mut pollhttp_server,
    address: *const c_char,
    port: u16,
    bound_port: *mut u16,
) -> c_int {
    status_call("pollhttp_server_listen", |cx| {
        let s = cx.arg_mut(server, "server")?;
        let a = cx.str_arg(address, "address")?;
        let Ok(ip) = a.parse::<IpAddr>() else {
            return Err(cx.invalid(&format!("`{a}` is not an IPv4 or IPv6 address")));
        };
        let name = s.0.listen(SocketAddr::new(ip, port))?;
        if let pollhttp::SockName::Inet(bound) = name {
            put_opt(bound_port, bound.port());
        }
        Ok(POLLHTTP_OK)
    })
}

/// Listens on the Unix-domain socket at `path`.
///
/// # Safety
/// `server` is a valid server; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_listen_unix(
    server: *mut pollhttp_server,
    path: *const c_char,
) -> c_int {
    status_call("pollhttp_server_listen_unix", |cx| {
        let s = cx.arg_mut(server, "server")?;
        let p = cx.str_arg(path, "path")?;
        status(s.0.listen_unix(std::path::Path::new(p)))
    })
}

/// Gives the server a listener made by the caller (with TLS from
/// `pollhttp_listener_set_tls`, or its own configuration). The listener handle is taken,
/// whatever the result: it is invalid after the call (do not free it).
///
/// # Safety
/// `server` is a valid server; `listener` a listener not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_add_listener(
    server: *mut pollhttp_server,
    listener: *mut pollhttp_listener,
) -> c_int {
    status_call("pollhttp_server_add_listener", |cx| {
        let l = take_handle(listener).ok_or_else(|| cx.invalid("argument `listener` is NULL"))?;
        let s = cx.arg_mut(server, "server")?;
        status(s.0.add_listener(l.0))
    })
}

/// The fd to watch for readability (the server's epoll instance; it never changes: register
/// it once, level- or edge-triggered); -1 for NULL.
///
/// # Safety
/// `server` is NULL or a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_pollfd(server: *const pollhttp_server) -> c_int {
    value_call("pollhttp_server_pollfd", -1, |cx| {
        Ok(cx.arg_ref(server, "server")?.0.pollfd())
    })
}

/// What to wait for on the fd: `POLLIN`; negative for NULL.
///
/// # Safety
/// `server` is NULL or a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_events(server: *const pollhttp_server) -> c_int {
    status_call("pollhttp_server_events", |cx| {
        Ok(c_int::from(
            cx.arg_ref(server, "server")?.0.events().to_poll(),
        ))
    })
}

/// Milliseconds until a step is due without readiness (rounded up), 0 when work is due now,
/// -1 for none.
///
/// # Safety
/// `server` is NULL or a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_timeout(server: *const pollhttp_server) -> c_int {
    value_call("pollhttp_server_timeout", -1, |cx| {
        Ok(ms_until(cx.arg_ref(server, "server")?.0.timeout()))
    })
}

/// Does a bounded amount of the work possible now, without blocking; then call
/// [`pollhttp_server_try_next_request`] until it is not `POLLHTTP_OK`. A connection's failure
/// is its own: `POLLHTTP_OK` unless the server's own epoll instance failed.
///
/// # Safety
/// `server` is a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_step(server: *mut pollhttp_server) -> c_int {
    status_call("pollhttp_server_step", |cx| {
        status(cx.arg_mut(server, "server")?.0.step())
    })
}

/// Blocking: waits at most `timeout_ms` (negative: no limit) for readiness or the server's
/// deadline, then steps (lua-http's `server:step(timeout)`).
///
/// # Safety
/// `server` is a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_step_wait(
    server: *mut pollhttp_server,
    timeout_ms: c_int,
) -> c_int {
    status_call("pollhttp_server_step_wait", |cx| {
        status(
            cx.arg_mut(server, "server")?
                .0
                .step_wait(timeout_arg(timeout_ms)),
        )
    })
}

/// The next request with news: `POLLHTTP_OK` with its id in `*request` (a new request whose
/// head is in, or one handed out before with more body, room to write, or a failure);
/// `POLLHTTP_EAGAIN` when none has news now (its last call writes the turn's answers);
/// `POLLHTTP_END` once the server is shut down and every connection closed.
///
/// # Safety
/// `server` is a valid server; `request` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_try_next_request(
    server: *mut pollhttp_server,
    request: *mut u64,
) -> c_int {
    status_call("pollhttp_server_try_next_request", |cx| {
        let s = cx.arg_mut(server, "server")?;
        let out = cx.arg_mut(request, "request")?;
        if let Some(req) = s.0.next_request() {
            *out = req.id().to_u64();
            return Ok(POLLHTTP_OK);
        }
        if s.0.is_done() {
            return Ok(POLLHTTP_END);
        }
        Err(Error::new(ErrorKind::WouldBlock, "no request has news").into())
    })
}

/// Graceful stop: the listeners close, every connection finishes what is in flight and
/// closes; step until [`pollhttp_server_is_done`].
///
/// # Safety
/// `server` is a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_shutdown(server: *mut pollhttp_server) -> c_int {
    status_call("pollhttp_server_shutdown", |cx| {
        cx.arg_mut(server, "server")?.0.shutdown();
        Ok(POLLHTTP_OK)
    })
}

/// 1 once shut down with every connection closed, else 0; negative for NULL.
///
/// # Safety
/// `server` is NULL or a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_is_done(server: *const pollhttp_server) -> c_int {
    status_call("pollhttp_server_is_done", |cx| {
        Ok(c_int::from(cx.arg_ref(server, "server")?.0.is_done()))
    })
}

/// Connections open now; 0 for NULL.
///
/// # Safety
/// `server` is NULL or a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_server_connections(server: *const pollhttp_server) -> usize {
    value_call("pollhttp_server_connections", 0, |cx| {
        Ok(cx.arg_ref(server, "server")?.0.connections())
    })
}

/// Lends the request's head (`:method`, `:path`, `:authority`, `:scheme`, fields): read it with
/// the `pollhttp_headers_*` calls; valid until the next call on the server or on one of its
/// requests; do not free it.
///
/// # Safety
/// `server` is a valid server; `headers` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_headers(
    server: *mut pollhttp_server,
    request: u64,
    headers: *mut *const pollhttp_headers,
) -> c_int {
    request_call("pollhttp_request_headers", server, request, |cx, req| {
        let out = cx.arg_mut(headers, "headers")?;
        let h: *const Headers = req.headers();
        // pollhttp_headers is repr(transparent) over Headers.
        *out = h.cast::<pollhttp_headers>();
        Ok(POLLHTTP_OK)
    })
}

/// The whole request body once it is all in: `POLLHTTP_OK` with `*data`/`*len` (free `*data`
/// with `pollhttp_bytes_free`; NULL for an empty body); `POLLHTTP_END` once it was taken;
/// `POLLHTTP_EAGAIN` until it is all in (the request is handed out again as it comes);
/// `POLLHTTP_ELIMIT` (status 413 in `pollhttp_last_error_status`) when it is longer than
/// `limit` bytes.
///
/// # Safety
/// `server` is a valid server; `data` and `len` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_try_body(
    server: *mut pollhttp_server,
    request: u64,
    limit: usize,
    data: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    request_call(
        "pollhttp_request_try_body",
        server,
        request,
        |cx, mut req| {
            let (data, len) = (cx.arg_mut(data, "data")?, cx.arg_mut(len, "len")?);
            match req.try_body(limit)? {
                Some(body) => {
                    give_bytes(body, data, len);
                    Ok(POLLHTTP_OK)
                }
                None => Ok(POLLHTTP_END),
            }
        },
    )
}

/// The next piece of the request body: `POLLHTTP_OK` with `*data`/`*len` (free with
/// `pollhttp_bytes_free`), `POLLHTTP_END` at its end, `POLLHTTP_EAGAIN` until more comes.
///
/// # Safety
/// `server` is a valid server; `data` and `len` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_try_get_next_chunk(
    server: *mut pollhttp_server,
    request: u64,
    data: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    const F: &str = "pollhttp_request_try_get_next_chunk";
    request_call(F, server, request, |cx, mut req| {
        let (data, len) = (cx.arg_mut(data, "data")?, cx.arg_mut(len, "len")?);
        match or_not_yet(req.try_get_next_chunk(), c"no body bytes yet")? {
            Some(chunk) => {
                give_bytes(chunk, data, len);
                Ok(POLLHTTP_OK)
            }
            None => Ok(POLLHTTP_END),
        }
    })
}

/// The status as a `StatusCode`, or `POLLHTTP_EINVAL`.
fn status_arg(cx: Call, status: c_int) -> Outcome<StatusCode> {
    u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| cx.invalid(&format!("status {status}: use 100 to 999")))
}

/// Answers with `status`, the fields of `fields` (NULL: none; copied, the caller still owns
/// it) and a whole body (`body`, `len`; copied). `content-length` is added unless `fields` has
/// one; a HEAD request gets the head only. What the connection cannot take now is written as
/// room comes; the request is over for the caller.
///
/// # Safety
/// `server` is a valid server; `fields` NULL or a valid list; `body` NULL (with `len` 0) or
/// `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_respond(
    server: *mut pollhttp_server,
    request: u64,
    status: c_int,
    fields: *const pollhttp_headers,
    body: *const u8,
    len: usize,
) -> c_int {
    request_call(
        "pollhttp_request_respond",
        server,
        request,
        |cx, mut req| {
            let code = status_arg(cx, status)?;
            let body = cx.bytes_arg(body, len, "body")?;
            let mut head = Headers::response(code);
            if let Some(f) = fields.as_ref() {
                for field in f.0.iter().filter(|f| !f.name.starts_with(':')) {
                    head.append(field.name, field.value);
                }
            }
            req.respond_with(&head, body)?;
            Ok(POLLHTTP_OK)
        },
    )
}

/// Writes a response head (`:status` and fields) for a streamed body; `end_stream` non-zero:
/// no body follows. Then [`pollhttp_request_try_write_chunk`].
///
/// # Safety
/// `server` is a valid server; `headers` a valid list.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_write_head(
    server: *mut pollhttp_server,
    request: u64,
    headers: *const pollhttp_headers,
    end_stream: c_int,
) -> c_int {
    request_call(
        "pollhttp_request_write_head",
        server,
        request,
        |cx, mut req| {
            let h = cx.arg_ref(headers, "headers")?;
            status(req.write_head(&h.0, end_stream != 0))
        },
    )
}

/// Writes body bytes of a streamed response (copied) without blocking; `end_stream` non-zero
/// ends it. `POLLHTTP_EAGAIN` (nothing written) while the send buffer is full: the request is
/// handed out again when there is room.
///
/// # Safety
/// `server` is a valid server; `data` NULL (with `len` 0) or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_try_write_chunk(
    server: *mut pollhttp_server,
    request: u64,
    data: *const u8,
    len: usize,
    end_stream: c_int,
) -> c_int {
    const F: &str = "pollhttp_request_try_write_chunk";
    request_call(F, server, request, |cx, mut req| {
        let d = cx.bytes_arg(data, len, "data")?;
        or_not_yet(req.try_write_chunk(d, end_stream != 0), c"send buffer full")?;
        Ok(POLLHTTP_OK)
    })
}

/// Gives up on the request: the stream is reset.
///
/// # Safety
/// `server` is a valid server.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_request_reset(
    server: *mut pollhttp_server,
    request: u64,
) -> c_int {
    request_call("pollhttp_request_reset", server, request, |_, mut req| {
        status(req.reset())
    })
}
