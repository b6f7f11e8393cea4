//! The C face of [`Connection`]: a `pollhttp_conn` handle, made as a client (or accepted by a
//! listener), driven by the caller's loop (`pollfd`, `events`, `timeout`, `step`), asked about
//! its state, TLS and socket names, flushed, shut down and closed, and asked for streams. The
//! idle handler (`pollhttp_conn_onidle`) and the watcher (`pollhttp_conn_set_watcher`) carry a
//! C function and its userdata into the connection.

use super::boundary::{
    fail, free_call, give_handle, guard, ms_until, not_yet, or_not_yet, put_id, put_sockname,
    status, status_call, take_handle, timeout_arg, value_call, version_number, Call, Outcome,
};
use super::config::config_arg;
use super::tls::tls_info;
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::{ClientOptions, Connection, Idle, IdleHandler, Target, Watch, Watcher};
use std::ffi::{c_char, c_int, c_void, CStr};

/// A client or server connection (C: `pollhttp_conn*`). Owned by the caller from
/// [`pollhttp_conn_client`] or [`pollhttp_listener_try_accept`] until [`pollhttp_conn_close_free`] or
/// [`pollhttp_conn_free`]. Its streams are `(conn, id)` pairs.
#[repr(transparent)]
pub struct pollhttp_conn(pub(super) Connection);

/// The handler [`pollhttp_conn_onidle`] takes: called with the connection and the caller's
/// `userdata` when the connection becomes idle, on the thread that drives it, from inside
/// `pollhttp_conn_step` (or another call that moves the connection). It may use the
/// connection, but must not free it.
pub type pollhttp_idle_fn =
    Option<unsafe extern "C" fn(conn: *mut pollhttp_conn, userdata: *mut c_void)>;

/// The watcher [`pollhttp_conn_set_watcher`] takes: called with the connection, its fd, the
/// fd told before (`old_fd`; equal to `fd` when it did not change, -1 on the first call),
/// its events (`POLLIN`/`POLLOUT` bits), the milliseconds until its next deadline (rounded
/// up; 0: a step is due now; -1: none) and the caller's `userdata`, whenever one of them
/// changed, at the end of the pollhttp call that changed it.
pub type pollhttp_watch_fn = Option<
    unsafe extern "C" fn(
        conn: *mut pollhttp_conn,
        fd: c_int,
        old_fd: c_int,
        events: c_int,
        timeout_ms: c_int,
        userdata: *mut c_void,
    ),
>;

/// Client flag of [`pollhttp_conn_client_ex`]: with version 20 over cleartext, speak HTTP/2
/// from the first byte (prior knowledge, RFC 9113 §3.3) instead of offering `Upgrade: h2c`.
pub const POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE: c_int = 1;

fn client_version(cx: Call, version: c_int) -> Outcome<http::Version> {
    match version {
        POLLHTTP_HTTP_1_0 => Ok(http::Version::HTTP_10),
        POLLHTTP_HTTP_1_1 => Ok(http::Version::HTTP_11),
        POLLHTTP_HTTP_2 => Ok(http::Version::HTTP_2),
        v => Err(cx.invalid(&format!(
            "version {v}: use POLLHTTP_HTTP_1_0, _1_1 or _2 (10, 11, 20)"
        ))),
    }
}

/// The frame of the calls that ask a yes-or-no question of a connection: 1 or 0, negative
/// for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
unsafe fn conn_flag(
    func: &'static str,
    conn: *const pollhttp_conn,
    ask: impl FnOnce(&Connection) -> bool,
) -> c_int {
    status_call(func, |cx| {
        Ok(c_int::from(ask(&cx.arg_ref(conn, "conn")?.0)))
    })
}

/// The options of the calls without `_ex`: `version`, defaults for the rest.
fn plain(version: http::Version) -> ClientOptions {
    ClientOptions {
        version,
        ..ClientOptions::default()
    }
}

fn new_client(target: Target, opts: ClientOptions) -> Outcome<*mut pollhttp_conn> {
    Ok(give_handle(pollhttp_conn(Connection::client(
        target, opts,
    )?)))
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
    value_call("pollhttp_conn_client", std::ptr::null_mut(), |cx| {
        let h = cx.str_arg(host, "host")?;
        let v = client_version(cx, version)?;
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
    value_call("pollhttp_conn_client_unix", std::ptr::null_mut(), |cx| {
        let p = cx.str_arg(path, "path")?;
        let v = client_version(cx, version)?;
        new_client(Target::Unix(p.into()), plain(v))
    })
}

/// The client options of the `_ex` calls, checked.
///
/// # Safety
/// `config` and `tls` are NULL or valid.
unsafe fn client_options(
    cx: Call,
    version: c_int,
    flags: c_int,
    config: *const pollhttp_config,
    tls: *const pollhttp_tls_client,
) -> Outcome<ClientOptions> {
    let v = client_version(cx, version)?;
    if flags & !POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE != 0 {
        return Err(cx.invalid(&format!("unknown flags {flags:#x}")));
    }
    let prior = flags & POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE != 0;
    if prior && v != http::Version::HTTP_2 {
        return Err(cx.invalid(&format!(
            "POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE with version {version}: it needs 20"
        )));
    }
    // SAFETY: `config` and `tls` are NULL or valid (this function's contract).
    let (config, tls) = unsafe { (config_arg(config), tls.as_ref()) };
    Ok(ClientOptions {
        version: v,
        http2_prior_knowledge: prior,
        config,
        tls: tls.map(|t| t.0.clone()),
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
    value_call("pollhttp_conn_client_ex", std::ptr::null_mut(), |cx| {
        let h = cx.str_arg(host, "host")?;
        let opts = client_options(cx, version, flags, config, tls)?;
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
    value_call("pollhttp_conn_client_unix_ex", std::ptr::null_mut(), |cx| {
        let p = cx.str_arg(path, "path")?;
        let opts = client_options(cx, version, flags, config, tls)?;
        new_client(Target::Unix(p.into()), opts)
    })
}

/// lua-http's `close()`, and a free: shuts down, writes what is buffered (briefly, without
/// blocking), releases the fd, and frees the handle. NULL is a no-op. Remove the fd from your
/// poller first.
///
/// # Safety
/// `conn` is NULL or a connection the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_close_free(conn: *mut pollhttp_conn) {
    close_free("pollhttp_conn_close_free", conn)
}

/// Deprecated: the old name of [`pollhttp_conn_close_free`], with the same behaviour: it frees
/// the handle, the one call not ending in `_free` that does.
///
/// # Safety
/// As [`pollhttp_conn_close_free`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_close(conn: *mut pollhttp_conn) {
    close_free("pollhttp_conn_close", conn)
}

/// The body of [`pollhttp_conn_close_free`] and its old name.
///
/// # Safety
/// As [`pollhttp_conn_close_free`].
unsafe fn close_free(func: &'static str, conn: *mut pollhttp_conn) {
    guard(func, (), || {
        // SAFETY: `conn` is NULL or a connection not yet freed, and C gives it up here.
        if let Some(c) = unsafe { take_handle(conn) } {
            c.0.close();
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
    free_call("pollhttp_conn_free", conn)
}

/// lua-http's `connection.type`: `"client"` or `"server"` (static; NULL for a NULL `conn`).
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_type(conn: *const pollhttp_conn) -> *const c_char {
    value_call("pollhttp_conn_type", std::ptr::null(), |cx| {
        let s: &'static CStr = match cx.arg_ref(conn, "conn")?.0.role() {
            crate::Role::Client => c"client",
            crate::Role::Server => c"server",
        };
        Ok(s.as_ptr())
    })
}

/// lua-http's `connection.version`: 10, 11 or 20 (HTTP/1.0, 1.1, 2); a negative code for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_version(conn: *const pollhttp_conn) -> c_int {
    status_call("pollhttp_conn_version", |cx| {
        Ok(version_number(cx.arg_ref(conn, "conn")?.0.version()))
    })
}

/// The fd to watch, or -1 once closed (or for NULL). While a client resolves a name it is the
/// resolver's wake-up socket, while it connects the socket being tried: re-read it after every
/// [`pollhttp_conn_step`] and re-register when it changed. Owned by the connection: never close
/// it; remove it from your poller before freeing the connection.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_pollfd(conn: *const pollhttp_conn) -> c_int {
    value_call("pollhttp_conn_pollfd", -1, |cx| {
        Ok(cx.arg_ref(conn, "conn")?.0.pollfd())
    })
}

/// What to wait for now, as `poll(2)` bits (`POLLIN`, `POLLOUT`, both, or 0; the same values
/// as `EPOLLIN`/`EPOLLOUT` on Linux). Precise: a level-triggered loop waiting for exactly this
/// does not spin. 0 for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_events(conn: *const pollhttp_conn) -> c_int {
    value_call("pollhttp_conn_events", 0, |cx| {
        Ok(c_int::from(cx.arg_ref(conn, "conn")?.0.events().to_poll()))
    })
}

/// Milliseconds until the next deadline that needs a [`pollhttp_conn_step`] even without I/O
/// (rounded up, 0 if due now), or -1 for none (or for NULL). Ready for `poll`/`epoll_wait`.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_timeout(conn: *const pollhttp_conn) -> c_int {
    value_call("pollhttp_conn_timeout", -1, |cx| {
        Ok(ms_until(cx.arg_ref(conn, "conn")?.0.timeout()))
    })
}

/// Does all the work possible now without blocking: resolves, connects, reads until the socket
/// would block, feeds the protocol, writes what it can, fires passed deadlines. Then drain
/// [`pollhttp_conn_try_next_incoming_stream`] and [`pollhttp_conn_try_next_ready_stream`].
/// [`POLLHTTP_OK`], or the error that closed the connection in this step (reported once; later
/// steps return OK and do nothing).
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_step(conn: *mut pollhttp_conn) -> c_int {
    status_call("pollhttp_conn_step", |cx| {
        status(cx.arg_mut(conn, "conn")?.0.step())
    })
}

/// Tells the connection the loop saw the peer close or an error (`EPOLLRDHUP`, `EPOLLHUP`,
/// `EPOLLERR`): the next step reads to the end.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_hint_read_closed(conn: *mut pollhttp_conn) -> c_int {
    status_call("pollhttp_conn_hint_read_closed", |cx| {
        cx.arg_mut(conn, "conn")?.0.hint_read_closed();
        Ok(POLLHTTP_OK)
    })
}

/// 1 if the connection is closed (by either side, or after an error), 0 if not; negative for
/// NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_is_closed(conn: *const pollhttp_conn) -> c_int {
    conn_flag("pollhttp_conn_is_closed", conn, Connection::is_closed)
}

/// 1 if a client has finished connecting (a server: while open), 0 if not; negative for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_is_connected(conn: *const pollhttp_conn) -> c_int {
    conn_flag("pollhttp_conn_is_connected", conn, Connection::is_connected)
}

/// 1 if no exchange is in progress, 0 if one is; negative for NULL.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_is_idle(conn: *const pollhttp_conn) -> c_int {
    conn_flag("pollhttp_conn_is_idle", conn, Connection::is_idle)
}

/// 1 if a step is due at once for work that waits on no I/O (buffered input, output not yet
/// tried), 0 if not, negative for NULL: the timeout reads "now" exactly then, and a loop can
/// ask this instead of reading the clock.
///
/// # Safety
/// `conn` is NULL or a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_wants_step_now(conn: *const pollhttp_conn) -> c_int {
    conn_flag(
        "pollhttp_conn_wants_step_now",
        conn,
        Connection::wants_step_now,
    )
}

/// Why the connection failed: [`POLLHTTP_OK`] if it did not, else its error's code, with the
/// error as this thread's last error (message, errno).
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_error(conn: *const pollhttp_conn) -> c_int {
    status_call("pollhttp_conn_error", |cx| {
        Ok(cx
            .arg_ref(conn, "conn")?
            .0
            .error()
            .map_or(POLLHTTP_OK, fail))
    })
}

/// Whether a client connection is established, without waiting (Rust's `try_connect`):
/// [`POLLHTTP_OK`] once it is (a server's: while open), [`POLLHTTP_EAGAIN`] while it connects,
/// or why it cannot be (the connect failed, the connection closed or was shut down).
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_try_connect(conn: *mut pollhttp_conn) -> c_int {
    status_call("pollhttp_conn_try_connect", |cx| {
        let connected = cx.arg_mut(conn, "conn")?.0.try_connect();
        or_not_yet(connected, c"still connecting")?;
        Ok(POLLHTTP_OK)
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
    status_call("pollhttp_conn_connect", |cx| {
        status(cx.arg_mut(conn, "conn")?.0.connect(timeout_arg(timeout_ms)))
    })
}

/// lua-http's `checktls()`: [`POLLHTTP_OK`] if the connection has a TLS session,
/// [`POLLHTTP_ENOTLS`] with a message if it is plaintext, [`POLLHTTP_EAGAIN`] while the
/// handshake goes on. [`pollhttp_conn_try_get_tls_info`] gives the session's details.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_try_checktls(conn: *const pollhttp_conn) -> c_int {
    checktls("pollhttp_conn_try_checktls", conn)
}

/// Deprecated: the old name of [`pollhttp_conn_try_checktls`], with the same behaviour.
///
/// # Safety
/// As [`pollhttp_conn_try_checktls`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_checktls(conn: *const pollhttp_conn) -> c_int {
    checktls("pollhttp_conn_checktls", conn)
}

/// The body of [`pollhttp_conn_try_checktls`] and its old name.
///
/// # Safety
/// As [`pollhttp_conn_try_checktls`].
unsafe fn checktls(func: &'static str, conn: *const pollhttp_conn) -> c_int {
    status_call(func, |cx| {
        let tls = cx.arg_ref(conn, "conn")?.0.checktls();
        or_not_yet(tls, c"the TLS handshake goes on")?;
        Ok(POLLHTTP_OK)
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
pub unsafe extern "C" fn pollhttp_conn_try_get_tls_info(
    conn: *const pollhttp_conn,
    info: *mut *mut pollhttp_tls_info,
) -> c_int {
    get_tls_info("pollhttp_conn_try_get_tls_info", conn, info)
}

/// Deprecated: the old name of [`pollhttp_conn_try_get_tls_info`], with the same behaviour.
///
/// # Safety
/// As [`pollhttp_conn_try_get_tls_info`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_get_tls_info(
    conn: *const pollhttp_conn,
    info: *mut *mut pollhttp_tls_info,
) -> c_int {
    get_tls_info("pollhttp_conn_get_tls_info", conn, info)
}

/// The body of [`pollhttp_conn_try_get_tls_info`] and its old name.
///
/// # Safety
/// As [`pollhttp_conn_try_get_tls_info`].
unsafe fn get_tls_info(
    func: &'static str,
    conn: *const pollhttp_conn,
    info: *mut *mut pollhttp_tls_info,
) -> c_int {
    status_call(func, |cx| {
        let c = cx.arg_ref(conn, "conn")?;
        let out = cx.arg_mut(info, "info")?;
        let session = or_not_yet(c.0.checktls(), c"the TLS handshake goes on")?;
        *out = give_handle(tls_info(session));
        Ok(POLLHTTP_OK)
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
    status_call("pollhttp_conn_localname", |cx| {
        let n = cx.arg_ref(conn, "conn")?.0.localname()?;
        put_sockname(cx, &n, family, address, address_len, port)
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
    status_call("pollhttp_conn_peername", |cx| {
        let n = cx.arg_ref(conn, "conn")?.0.peername()?;
        put_sockname(cx, &n, family, address, address_len, port)
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
    status_call("pollhttp_conn_try_flush", |cx| {
        let flushed = cx.arg_mut(conn, "conn")?.0.try_flush();
        or_not_yet(flushed, c"output left to write")?;
        Ok(POLLHTTP_OK)
    })
}

/// Blocking: lua-http's `flush(timeout)`: writes all buffered output, at most `timeout_ms`.
///
/// # Safety
/// `conn` is a valid connection.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_flush(conn: *mut pollhttp_conn, timeout_ms: c_int) -> c_int {
    status_call("pollhttp_conn_flush", |cx| {
        status(cx.arg_mut(conn, "conn")?.0.flush(timeout_arg(timeout_ms)))
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
    status_call("pollhttp_conn_shutdown", |cx| {
        cx.arg_mut(conn, "conn")?.0.shutdown();
        Ok(POLLHTTP_OK)
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
    status_call("pollhttp_conn_new_stream", |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        let out = cx.arg_mut(stream_id, "stream_id")?;
        Ok(put_id(out, c.0.new_stream()?))
    })
}

/// The next stream the peer started (a request, for a server; a push, for a client that
/// enabled push), without waiting: [`POLLHTTP_OK`] with `*stream_id`; [`POLLHTTP_END`] when
/// the connection will start no more (closed, shut down, the peer is going away, an HTTP/1
/// connection done with requests, a client without push), and on every later call;
/// [`POLLHTTP_EAGAIN`] if none has come yet.
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_try_next_incoming_stream(
    conn: *mut pollhttp_conn,
    stream_id: *mut u64,
) -> c_int {
    status_call("pollhttp_conn_try_next_incoming_stream", |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        let out = cx.arg_mut(stream_id, "stream_id")?;
        let next = c.0.try_next_incoming_stream();
        Ok(match or_not_yet(next, c"no incoming stream waiting")? {
            Some(id) => put_id(out, id),
            None => POLLHTTP_END,
        })
    })
}

/// Blocking: lua-http's `get_next_incoming_stream(timeout)`: [`POLLHTTP_OK`] with
/// `*stream_id`, [`POLLHTTP_END`] when no more will come (as
/// [`pollhttp_conn_try_next_incoming_stream`] says it), or an error ([`POLLHTTP_ETIMEDOUT`] ...).
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_get_next_incoming_stream(
    conn: *mut pollhttp_conn,
    timeout_ms: c_int,
    stream_id: *mut u64,
) -> c_int {
    status_call("pollhttp_conn_get_next_incoming_stream", |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        let out = cx.arg_mut(stream_id, "stream_id")?;
        Ok(
            match c.0.get_next_incoming_stream(timeout_arg(timeout_ms))? {
                Some(id) => put_id(out, id),
                None => POLLHTTP_END,
            },
        )
    })
}

/// The next stream with news since it was last named (a head, body bytes, the end, an error,
/// or room to write): [`POLLHTTP_OK`] with `*stream_id`, or [`POLLHTTP_EAGAIN`] when there is
/// none now (the queue never ends). Drain it after each step.
///
/// # Safety
/// `conn` is a valid connection; `stream_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_try_next_ready_stream(
    conn: *mut pollhttp_conn,
    stream_id: *mut u64,
) -> c_int {
    next_ready("pollhttp_conn_try_next_ready_stream", conn, stream_id)
}

/// Deprecated: the old name of [`pollhttp_conn_try_next_ready_stream`], with the same
/// behaviour.
///
/// # Safety
/// As [`pollhttp_conn_try_next_ready_stream`].
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_next_ready_stream(
    conn: *mut pollhttp_conn,
    stream_id: *mut u64,
) -> c_int {
    next_ready("pollhttp_conn_next_ready_stream", conn, stream_id)
}

/// The body of [`pollhttp_conn_try_next_ready_stream`] and its old name.
///
/// # Safety
/// As [`pollhttp_conn_try_next_ready_stream`].
unsafe fn next_ready(func: &'static str, conn: *mut pollhttp_conn, stream_id: *mut u64) -> c_int {
    status_call(func, |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        let out = cx.arg_mut(stream_id, "stream_id")?;
        Ok(match c.0.next_ready_stream() {
            Some(id) => put_id(out, id),
            None => not_yet(c"no stream is ready"),
        })
    })
}

/// The C handler and its userdata, moved into the connection's idle handler.
struct IdleCallback {
    f: unsafe extern "C" fn(*mut pollhttp_conn, *mut c_void),
    userdata: *mut c_void,
}

impl IdleCallback {
    fn call(&self, idle: &mut Idle<'_>) {
        // pollhttp_conn is repr(transparent) over Connection: the same pointer, derived from
        // the handler's own borrow, used only during the call. The calls that would re-enter
        // the connection (step, flush, connect and every blocking call) fail while it runs.
        let p = idle.connection_ptr() as *mut pollhttp_conn;
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
    status_call("pollhttp_conn_onidle", |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        let h: Option<IdleHandler> = handler.map(|f| {
            let cb = IdleCallback { f, userdata };
            Box::new(move |c: &mut Idle<'_>| cb.call(c)) as IdleHandler
        });
        c.0.onidle(h);
        Ok(POLLHTTP_OK)
    })
}

/// The C watcher and its userdata, moved into the connection's watcher.
struct WatchCallback {
    f: unsafe extern "C" fn(*mut pollhttp_conn, c_int, c_int, c_int, c_int, *mut c_void),
    userdata: *mut c_void,
    /// The handle's address, which C knows the connection by.
    handle: usize,
}

impl WatchCallback {
    fn call(&self, w: &Watch) {
        // pollhttp_conn is repr(transparent) over Connection: the pointer the watch carries,
        // derived from the borrow of the call that runs the watcher, is the handle itself,
        // usable during the call (the calls that would re-enter fail meanwhile). Only
        // pollhttp_conn_close moves the connection out of its handle, to close it: C is then
        // given the handle's address, which it may compare but not use (it is being freed).
        let p = w.connection_ptr() as *mut pollhttp_conn;
        let p = if p as usize == self.handle {
            p
        } else {
            self.handle as *mut pollhttp_conn
        };
        let events = c_int::from(w.events.to_poll());
        // SAFETY: the caller of pollhttp_conn_set_watcher vouched for `f` and `userdata`.
        unsafe {
            (self.f)(
                p,
                w.fd,
                w.old_fd,
                events,
                ms_until(w.deadline),
                self.userdata,
            )
        }
    }
}

// SAFETY: as for IdleCallback: the connection calls its watcher only on the thread that drives
// it, and C accepted that the callback moves with the connection (pollhttp_conn_set_watcher).
unsafe impl Send for WatchCallback {}

/// Sets the watcher: `watcher(conn, fd, old_fd, events, timeout_ms, userdata)` is called
/// whenever the connection's fd, events or deadline changed, at the end of the pollhttp call
/// that changed it (a step, or any call on the connection or its streams, such as a write
/// made while the program handles another connection), and once at once with the current
/// state (`old_fd` -1). NULL removes it. The way to embed in libuv, libev or a bare epoll
/// without scanning every connection: see the header.
///
/// # Safety
/// `conn` is a valid connection; `watcher` is NULL or a function that may be called, with
/// `userdata`, from any pollhttp call on `conn` (or its streams) until it is replaced or
/// `conn` is freed. It must not free `conn`.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_conn_set_watcher(
    conn: *mut pollhttp_conn,
    watcher: pollhttp_watch_fn,
    userdata: *mut c_void,
) -> c_int {
    status_call("pollhttp_conn_set_watcher", |cx| {
        let c = cx.arg_mut(conn, "conn")?;
        let w: Option<Watcher> = watcher.map(|f| {
            let cb = WatchCallback {
                f,
                userdata,
                handle: conn as usize,
            };
            Box::new(move |w: &Watch| cb.call(w)) as Watcher
        });
        c.0.set_watcher(w);
        Ok(POLLHTTP_OK)
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
    status_call("pollhttp_conn_set_auto_flush", |cx| {
        cx.arg_mut(conn, "conn")?.0.set_auto_flush(on != 0);
        Ok(POLLHTTP_OK)
    })
}
