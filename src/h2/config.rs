//! The settings we advertise to an HTTP/2 peer and the limits the core enforces on it.
//!
//! Everything the HTTP/2 core bounds is here, with defaults a public-facing server can use as
//! they are. [`H2Config::from_config`] takes the values shared with HTTP/1 (body limits, send
//! buffer, timeouts) from the connection's [`Config`].

use crate::config::Config;
use crate::Role;
use std::time::Duration;

/// HTTP/2 settings and limits of one connection.
#[derive(Debug, Clone)]
pub(crate) struct H2Config {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise: a server refuses streams beyond it with
    /// RST_STREAM(REFUSED_STREAM).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: the most body bytes of one stream the peer may
    /// send before the application reads them.
    ///
    /// 1 MiB, not the protocol's 65,535: one stream's throughput is at most window / RTT, and
    /// 64 KiB caps a 100 ms path at about 5 Mbit/s while 1 MiB allows about 80 Mbit/s. Memory
    /// stays bounded by `connection_window_size`, which caps what all streams together may
    /// have unread, and credit is returned only as the application reads, so a slow reader
    /// holds the peer back instead of growing buffers.
    pub initial_window_size: u32,
    /// The connection-level receive window (raised from 65,535 by a WINDOW_UPDATE right after
    /// our SETTINGS): the most unread body bytes of all streams together.
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise (and accept).
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce on decoded heads (32 + name +
    /// value summed, RFC 9113 §6.5.2).
    pub max_header_list_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise: the HPACK table the peer's encoder may use.
    pub header_table_size: u32,
    /// The largest HPACK table our encoder uses, whatever the peer allows (our memory).
    pub encoder_table_limit: usize,
    /// The largest compressed header block (HEADERS + CONTINUATIONs) we assemble; a longer one
    /// is a CONTINUATION flood: connection error ENHANCE_YOUR_CALM.
    pub max_header_block: usize,
    /// Unsent body bytes one stream may hold (waiting for flow-control credit) before writes
    /// report would-block.
    pub send_buffer: usize,
    /// Output bytes queued in `out` before DATA frames wait in their streams (so a big window
    /// does not copy a whole body into the connection buffer at once).
    pub out_high_water: usize,
    /// Largest body received on one stream; larger ones are reset (CANCEL) and fail with a
    /// limit error (status 413 for a server's request). `None` for no limit.
    pub max_recv_body: Option<u64>,
    /// Time the peer has to acknowledge our SETTINGS (then SETTINGS_TIMEOUT).
    pub settings_timeout: Option<Duration>,
    /// Time a connection with no streams stays open; then GOAWAY(NO_ERROR).
    pub idle_timeout: Option<Duration>,
    /// Time a graceful shutdown waits for in-flight streams after its GOAWAY.
    pub shutdown_timeout: Duration,
    /// The window over which the flood counters below are counted.
    pub flood_window: Duration,
    /// RST_STREAM frames received plus stream errors we answered with RST_STREAM, per window
    /// (rapid reset, CVE-2023-44487, and its "made you reset" variant).
    pub max_resets: u32,
    /// SETTINGS frames received per window.
    pub max_settings: u32,
    /// PING frames received per window.
    pub max_pings: u32,
    /// Frames that carry nothing per window: empty DATA without END_STREAM, empty
    /// CONTINUATION without END_HEADERS, PRIORITY, zero WINDOW_UPDATE, unknown types.
    pub max_empty_frames: u32,
    /// Time output may wait for flow-control credit with nothing sent; then the waiting
    /// streams are reset (CANCEL) and fail with a timeout. `None` for no limit.
    pub send_stall_timeout: Option<Duration>,
    /// Idle time before a keep-alive PING; `None` for none.
    pub keepalive_interval: Option<Duration>,
    /// Time the peer has to answer a keep-alive PING.
    pub keepalive_timeout: Duration,
    /// Client: SETTINGS_ENABLE_PUSH we advertise (a server never advertises it).
    pub enable_push: bool,
    /// Most regular header fields in one received head: a request with more is answered 431,
    /// another head with more is a stream error.
    pub max_headers: usize,
    /// Client: the time from a request's end going out to the first frame of its response
    /// (then RST_STREAM CANCEL, and the stream fails with a timeout). `None` for no limit; a
    /// server has none.
    pub response_timeout: Option<Duration>,
    /// Client: the longest a response in progress may go without a frame while its reader
    /// has taken what came (then as `response_timeout`). `None` for no limit; a server has
    /// none.
    pub response_read_timeout: Option<Duration>,
}

/// The connection's defaults as a server takes them ([`H2Config::from_config`]), with no
/// body limit: what the core's tests start from.
impl Default for H2Config {
    fn default() -> H2Config {
        H2Config {
            max_recv_body: None,
            ..H2Config::from_config(&Config::default(), Role::Server)
        }
    }
}

impl H2Config {
    /// The settings of `cfg.http2`, with the limits shared with HTTP/1 taken from `cfg`.
    pub(crate) fn from_config(cfg: &Config, role: Role) -> H2Config {
        let h = &cfg.http2;
        H2Config {
            max_concurrent_streams: h.max_concurrent_streams,
            initial_window_size: h.initial_window_size.min(h2_codec_lite::MAX_WINDOW_SIZE),
            connection_window_size: h
                .connection_window_size
                .unwrap_or(match role {
                    Role::Server => 2 * 1024 * 1024,
                    Role::Client => 16 * 1024 * 1024,
                })
                .min(h2_codec_lite::MAX_WINDOW_SIZE),
            max_frame_size: h.max_frame_size.clamp(16_384, 16_777_215),
            header_table_size: h.header_table_size,
            encoder_table_limit: h.encoder_table_limit,
            max_header_block: h.max_header_block,
            out_high_water: h.out_high_water,
            settings_timeout: h.settings_timeout,
            flood_window: h.flood_window,
            max_resets: h.max_resets,
            max_settings: h.max_settings,
            max_pings: h.max_pings,
            max_empty_frames: h.max_empty_frames,
            keepalive_interval: h.keepalive_interval,
            keepalive_timeout: h.keepalive_timeout,
            send_stall_timeout: h.send_stall_timeout,
            enable_push: h.enable_push && role == Role::Client,
            max_headers: cfg.max_headers,
            send_buffer: cfg.send_buffer,
            max_recv_body: match role {
                Role::Server => cfg.max_request_body,
                Role::Client => cfg.max_response_body,
            },
            idle_timeout: cfg.idle_timeout,
            shutdown_timeout: cfg.shutdown_timeout,
            max_header_list_size: cfg.max_head_size.min(u32::MAX as usize) as u32,
            response_timeout: cfg.response_timeout.filter(|_| role == Role::Client),
            response_read_timeout: cfg.response_read_timeout.filter(|_| role == Role::Client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_protocol_bounds() {
        let c = H2Config::default();
        assert!(c.initial_window_size <= h2_codec_lite::MAX_WINDOW_SIZE);
        assert!(c.connection_window_size >= 65_535);
        assert!((16_384..=16_777_215).contains(&c.max_frame_size));
        assert!(c.max_header_block >= c.max_header_list_size as usize);
    }

    #[test]
    fn shared_limits_come_from_the_connection_config() {
        let base = Config::default();
        let c = H2Config::from_config(&base, Role::Server);
        assert_eq!(c.max_recv_body, base.max_request_body);
        assert_eq!(c.send_buffer, base.send_buffer);
        assert_eq!(c.max_header_list_size as usize, base.max_head_size);
        assert_eq!(c.max_headers, base.max_headers);
    }

    #[test]
    fn only_a_client_times_responses() {
        let base = Config {
            response_timeout: Some(Duration::from_secs(5)),
            response_read_timeout: Some(Duration::from_secs(7)),
            ..Config::default()
        };
        let c = H2Config::from_config(&base, Role::Client);
        assert_eq!(c.response_timeout, base.response_timeout);
        assert_eq!(c.response_read_timeout, base.response_read_timeout);
        let s = H2Config::from_config(&base, Role::Server);
        assert_eq!((s.response_timeout, s.response_read_timeout), (None, None));
        let d = H2Config::from_config(&Config::default(), Role::Client);
        assert_eq!(
            (d.response_timeout, d.response_read_timeout),
            (None, None),
            "off by default"
        );
    }

    #[test]
    fn only_a_client_enables_push() {
        let mut base = Config::default();
        assert!(!H2Config::from_config(&base, Role::Client).enable_push);
        base.http2.enable_push = true;
        assert!(H2Config::from_config(&base, Role::Client).enable_push);
        assert!(!H2Config::from_config(&base, Role::Server).enable_push);
    }
}
