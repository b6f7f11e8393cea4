//! Limits, timeouts and options, with defaults a public-facing server can use as they are.

use std::time::Duration;

/// Limits, timeouts and options of a connection (both roles). Every bound the library enforces
/// is here; `Config::default()` gives conservative values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest request line (server) a peer may send: longer ones are answered 414.
    pub max_request_line: usize,
    /// Largest header section, start line included: larger ones are answered 431 (server) or
    /// fail with a protocol error (client). Also bounds a chunked body's trailer section.
    pub max_head_size: usize,
    /// Most header fields in one head: more are answered 431.
    pub max_headers: usize,
    /// Largest request body a server accepts (413 above it); `None` for no limit.
    pub max_request_body: Option<u64>,
    /// Largest response body a client accepts; `None` for no limit.
    pub max_response_body: Option<u64>,
    /// Received body bytes buffered for one stream before the connection stops reading from
    /// the socket until the application reads (backpressure).
    pub recv_buffer: usize,
    /// Outgoing bytes buffered before stream writes report "would block".
    pub send_buffer: usize,
    /// Requests a server parses ahead of its responses (pipelining depth).
    pub max_pipelined: usize,
    /// Unread request body a server discards to keep a connection alive after it answered
    /// early; past it the connection is closed instead.
    pub max_discard: u64,
    /// Bytes one `step()` reads from the socket at most, so one busy peer cannot starve the
    /// caller's loop.
    pub read_budget: usize,
    /// Time a peer has to deliver a complete request head once it started one (slowloris).
    pub head_timeout: Option<Duration>,
    /// Time an idle keep-alive connection is kept open.
    pub idle_timeout: Option<Duration>,
    /// Time allowed for a whole `connect` (resolution, TCP, handshakes) when the caller starts
    /// a client connection without its own timeout.
    pub connect_timeout: Option<Duration>,
    /// Time a graceful shutdown waits for in-flight requests before it closes.
    pub shutdown_timeout: Duration,
    /// Client: the time a server has to start answering a request, counted from when the
    /// whole request is in the connection's output (normally the application's last write of
    /// it: a head written with `end`, the body's end, or its trailers) to the first byte of
    /// the response ("time to first byte"). Counted from the request's end rather than its
    /// head because a server answers once it has read the request: an upload's time is the
    /// network's, not the server's (a body the server will not take is bounded by
    /// [`Http2Config::send_stall_timeout`] on HTTP/2). The clock starts only once the server
    /// can be answering this request: on HTTP/1, after the responses to the requests
    /// pipelined before it are in; on HTTP/2, once its stream is open and its end went out
    /// (not while it waits for a concurrency slot or flow-control credit). An interim
    /// response (1xx) counts as an answer begun, and the final one then has the same time
    /// again from the interim's end.
    ///
    /// When it passes, the exchange fails with
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) ("no response within 5 s"). An
    /// HTTP/1 connection cannot be reused after that: it closes, and the requests pipelined
    /// behind fail the same way. On HTTP/2 the stream is reset (RST_STREAM CANCEL) and the
    /// connection and its other streams go on. `None` (the default): no limit. Servers ignore
    /// it (a [`Server`](crate::Server) bounds its application's answers with
    /// [`ServerOptions::response_timeout`](crate::ServerOptions::response_timeout)).
    pub response_timeout: Option<Duration>,
    /// Client: the longest a response in progress may leave its reader waiting: the time
    /// from its last bytes (of the head or the body) to the next ones, an upstream that
    /// stalls in the middle of a body. While the application has body bytes of the stream it
    /// has not taken, the clock does not run (the wait is the application's, and
    /// backpressure or flow control may be what holds the server back); it starts again, in
    /// full, when the application has taken the last of them. HTTP/1 counts every byte;
    /// HTTP/2 counts whole frames of the stream (HEADERS, CONTINUATION, DATA).
    ///
    /// When it passes, the exchange fails with
    /// [`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut) ("the response stalled: nothing for
    /// 5 s"), after the body bytes that did arrive; HTTP/1 closes the connection (failing the
    /// requests pipelined behind), HTTP/2 resets the stream (RST_STREAM CANCEL) and goes on.
    /// `None` (the default): no limit. Servers ignore it.
    pub response_read_timeout: Option<Duration>,
    /// Set TCP_NODELAY on TCP sockets.
    pub nodelay: bool,
    /// Read until the socket reports "would block" in every `step()` (the default), which is
    /// what an edge-triggered loop needs. A level-triggered loop (`poll(2)`, epoll without
    /// EPOLLET), or an edge-triggered one that passes peer-closed events on with
    /// [`Connection::hint_read_closed`](crate::Connection::hint_read_closed), can turn it off:
    /// a read that returns less than asked for then ends the reading, saving one `read`
    /// system call per readable event.
    pub read_to_would_block: bool,
    /// Reuse the work done for a head when the next one is the same (the default): a request
    /// or response head received byte for byte as the last one is taken from it instead of
    /// parsed again, and a head to send that is stored identically to the last one is copied
    /// from its encoded bytes. The output is the same either way. A server connection keeps
    /// the last request head it parsed and the last response head it sent (never a request
    /// head with `Authorization`, `Proxy-Authorization` or `Cookie`, nor a response head with
    /// `set-cookie` or a sensitive field); a client connection its last request and response
    /// heads. What a connection keeps is its own (nothing is shared between connections), is
    /// compared only with its own later heads, and goes with it. Turning it off keeps no copy
    /// of past heads and makes the work per head the same whether or not it repeats, for
    /// deployments that want no timing difference between a head seen before and a new one.
    pub reuse_heads: bool,
    /// How long an idle HTTP/1 connection keeps what it reuses from one message to the next
    /// (the heads above, request heads given back, the room of a stream record, a grown
    /// output buffer) before it gives them back. A keep-alive peer that sends its next
    /// request sooner finds them; a connection idle for longer holds only its socket's state
    /// (about 1.7 KiB against 3.6), at the price of one wake-up (a step at this deadline).
    /// `None`: kept while the connection lives.
    pub idle_release: Option<Duration>,
    /// HTTP/2 settings and limits (the body, buffer and timeout limits above apply to HTTP/2
    /// streams too).
    pub http2: Http2Config,
}

/// HTTP/2 settings we advertise and the limits we enforce on an HTTP/2 peer. Body limits, the
/// send buffer, the idle and shutdown timeouts and the header-list size (`max_head_size`) come
/// from [`Config`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Http2Config {
    /// Server: accept HTTP/2 on plaintext connections, by prior knowledge (the client preface
    /// is told from an HTTP/1 request by its first bytes) and by `Upgrade: h2c`.
    pub enabled: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise; a server refuses streams beyond it with
    /// RST_STREAM(REFUSED_STREAM).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: body bytes of one stream the peer may send
    /// before the application reads them.
    pub initial_window_size: u32,
    /// The connection's receive window: unread body bytes of all streams together, after
    /// which the peer must wait for the application to read. `None` picks by role: 2 MiB
    /// for a server (what a hostile client can make it hold per connection), 16 MiB for a
    /// client (which may leave several large answers unread while it reads another, as
    /// browsers do: Chromium uses 15 MB).
    pub connection_window_size: Option<u32>,
    /// SETTINGS_MAX_FRAME_SIZE we advertise and accept (16,384 to 16,777,215).
    pub max_frame_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise: the HPACK table the peer's encoder may use.
    pub header_table_size: u32,
    /// The largest HPACK table our encoder uses, whatever the peer allows.
    pub encoder_table_limit: usize,
    /// The largest compressed header block (HEADERS + CONTINUATION frames) we assemble; a
    /// longer one is a CONTINUATION flood (GOAWAY ENHANCE_YOUR_CALM).
    pub max_header_block: usize,
    /// Output bytes queued before DATA frames wait in their streams.
    pub out_high_water: usize,
    /// Time the peer has to acknowledge our SETTINGS (then GOAWAY SETTINGS_TIMEOUT).
    pub settings_timeout: Option<Duration>,
    /// The window the flood counters below count over.
    pub flood_window: Duration,
    /// RST_STREAM frames received plus streams we reset, per window (rapid reset,
    /// CVE-2023-44487); beyond it GOAWAY ENHANCE_YOUR_CALM.
    pub max_resets: u32,
    /// SETTINGS frames received per window.
    pub max_settings: u32,
    /// PING frames received per window.
    pub max_pings: u32,
    /// Frames that carry nothing (empty DATA, empty CONTINUATION, PRIORITY, zero
    /// WINDOW_UPDATE, unknown types) per window.
    pub max_empty_frames: u32,
    /// Time our output may wait for the peer's flow-control credit with nothing sent (a peer
    /// that keeps its window closed to pin our buffers); then the waiting streams are reset
    /// (RST_STREAM CANCEL) and fail with a timeout. `None` for no limit.
    pub send_stall_timeout: Option<Duration>,
    /// Keep-alive: after this long without a byte from the peer, send a PING; `None` (the
    /// default) for no keep-alive pings.
    pub keepalive_interval: Option<Duration>,
    /// Keep-alive: the time the peer has to answer our PING; then the connection fails with
    /// a timeout error (GOAWAY NO_ERROR is sent as it closes).
    pub keepalive_timeout: Duration,
    /// Client: accept server push (RFC 9113 §8.4). `true` advertises SETTINGS_ENABLE_PUSH=1:
    /// each PUSH_PROMISE the server sends then becomes an incoming stream
    /// ([`Connection::try_next_incoming_stream`](crate::Connection::try_next_incoming_stream))
    /// whose first head is the promised request and whose second is the pushed response.
    /// `false` (the default) advertises 0, and a PUSH_PROMISE is a connection error. A server
    /// ignores it: it never advertises the setting, and pushes with
    /// [`Stream::push_promise`](crate::Stream::push_promise) when the client allows.
    pub enable_push: bool,
}

impl Default for Http2Config {
    fn default() -> Http2Config {
        Http2Config {
            enabled: true,
            max_concurrent_streams: 100,
            initial_window_size: 1024 * 1024,
            connection_window_size: None,
            max_frame_size: 16_384,
            header_table_size: 4096,
            encoder_table_limit: 4096,
            max_header_block: 64 * 1024,
            out_high_water: 128 * 1024,
            settings_timeout: Some(Duration::from_secs(10)),
            flood_window: Duration::from_secs(10),
            max_resets: 200,
            max_settings: 100,
            max_pings: 100,
            max_empty_frames: 1000,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            enable_push: false,
            send_stall_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_request_line: 8 * 1024,
            max_head_size: 16 * 1024,
            max_headers: 100,
            max_request_body: Some(64 * 1024 * 1024),
            max_response_body: None,
            recv_buffer: 256 * 1024,
            send_buffer: 1024 * 1024,
            max_pipelined: 32,
            max_discard: 256 * 1024,
            read_budget: 1024 * 1024,
            head_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(120)),
            connect_timeout: Some(Duration::from_secs(30)),
            shutdown_timeout: Duration::from_secs(10),
            response_timeout: None,
            response_read_timeout: None,
            nodelay: true,
            read_to_would_block: true,
            reuse_heads: true,
            idle_release: Some(Duration::from_millis(100)),
            http2: Http2Config::default(),
        }
    }
}
