//! The C face of [`Config`]: a `pollhttp_config` handle holding limits, timeouts and HTTP/2
//! settings, one setter a field, each checking its value before it is stored. The `_ex`
//! calls of the listener and the client take a copy through `config_arg`.

use super::boundary::{free_call, give_handle, status_call, timeout_arg, value_call};
use super::*; // the C surface: status codes, handles, the calls of the other files
use crate::Config;
use std::ffi::c_int;
use std::sync::Arc;
use std::time::Duration;

/// Limits, timeouts and options (C: `pollhttp_config*`): a [`Config`], starting from
/// `Config::default()`. Owned by the caller from [`pollhttp_config_new`] until
/// [`pollhttp_config_free`]; the calls that take one copy it, so it may be changed or freed
/// right after without affecting what was made with it.
pub struct pollhttp_config(pub(super) Config);

/// Runs `set` on the configuration behind `config`: [`POLLHTTP_OK`], or [`POLLHTTP_EINVAL`]
/// with `set`'s reason (the configuration is then unchanged).
///
/// # Safety
/// `config` is NULL or a valid configuration.
unsafe fn set_config(
    func: &'static str,
    config: *mut pollhttp_config,
    set: impl FnOnce(&mut Config) -> Result<(), String>,
) -> c_int {
    status_call(func, |cx| {
        let c = cx.arg_mut(config, "config")?;
        set(&mut c.0).map_err(|why| cx.invalid(&why))?;
        Ok(POLLHTTP_OK)
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
pub(super) unsafe fn config_arg(config: *const pollhttp_config) -> Arc<Config> {
    // SAFETY: a non-NULL `config` is a valid configuration (this function's contract).
    let config = unsafe { config.as_ref() };
    Arc::new(config.map_or_else(Config::default, |c| c.0.clone()))
}

/// A new configuration holding the defaults (those of `pollhttp_listener_bind` and
/// `pollhttp_conn_client`). Owned by the caller: free it with [`pollhttp_config_free`]. The
/// calls that take it copy it, so it may be changed or freed right after them.
///
/// # Safety
/// None: it takes no arguments.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_new() -> *mut pollhttp_config {
    value_call("pollhttp_config_new", std::ptr::null_mut(), |_| {
        Ok(give_handle(pollhttp_config(Config::default())))
    })
}

/// Frees a configuration. NULL is a no-op. What was made with it keeps its own copy.
///
/// # Safety
/// `config` is NULL or a configuration the library returned, not yet freed; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_free(config: *mut pollhttp_config) {
    free_call("pollhttp_config_free", config)
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

/// Client: the time from a request's end to the first byte of its response (off by default:
/// negative); then the stream fails with `POLLHTTP_ETIMEDOUT` (HTTP/1: the connection closes;
/// HTTP/2: the stream is reset).
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_response_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_response_timeout", config, |c| {
        c.response_timeout = timeout_arg(timeout_ms);
        Ok(())
    })
}

/// Client: the longest gap between two reads of a response in progress (off by default:
/// negative); then the stream fails with `POLLHTTP_ETIMEDOUT`.
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_response_read_timeout(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_response_read_timeout", config, |c| {
        c.response_read_timeout = timeout_arg(timeout_ms);
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

/// The time an idle HTTP/1 connection keeps what it reuses for its next message (kept heads,
/// the room of a stream record, its output buffer) before giving it back (default 100 ms);
/// negative to keep it while the connection lives (see `Config::idle_release`).
///
/// # Safety
/// `config` is NULL or a valid configuration.
#[no_mangle]
pub unsafe extern "C" fn pollhttp_config_set_idle_release(
    config: *mut pollhttp_config,
    timeout_ms: c_int,
) -> c_int {
    set_config("pollhttp_config_set_idle_release", config, |c| {
        c.idle_release = timeout_arg(timeout_ms);
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
