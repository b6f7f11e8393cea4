/*
 * pollhttp.h — the C ABI of pollhttp: HTTP/1.0, HTTP/1.1 and HTTP/2 client and server
 * connections for programs that own their event loop.
 *
 * Link with libpollhttp.a (plus -lpthread -ldl -lm -lrt -lutil -lgcc_s) or libpollhttp.so,
 * both built by `cargo build --release -p pollhttp-ffi` into target/release/. The
 * repository's docs/embedding.md shows how to drive a connection from epoll, poll(2) and C;
 * pollhttp-ffi/examples/echo_server.c is a whole server, pollhttp-ffi/examples/proxy.c a reverse
 * proxy driven by watchers (pollhttp_conn_set_watcher).
 *
 * This header is written by hand; pollhttp-ffi/tests/c_abi.rs fails when it and
 * pollhttp-ffi/src/ disagree on any function (name, parameter names and types, return type) or
 * constant.
 *
 * Conventions (the same for every function):
 * - Calls that can fail return an int status: POLLHTTP_OK (0), POLLHTTP_END (1, not an
 *   error: "nothing more"), or a negative POLLHTTP_E* code. POLLHTTP_EAGAIN means "would block
 *   / not yet": step the connection and try again.
 * - Names say whether a call waits. A call that may block takes a timeout_ms argument (or its
 *   name ends in _wait), and its comment starts with "Blocking:". Every call that never blocks
 *   and can say "not yet" (POLLHTTP_EAGAIN) has a name with try_ in it. Every other call
 *   neither blocks nor says "not yet": writing a head (pollhttp_stream_write_headers) only
 *   buffers it, so it needs no try_. The header's own test (pollhttp-ffi/tests/c_abi.rs) holds
 *   every declaration to this rule. Deprecated old names (pollhttp_conn_next_ready_stream,
 *   pollhttp_listener_accept, pollhttp_conn_checktls, pollhttp_conn_get_tls_info,
 *   pollhttp_conn_close) stay, each beside its new name, with the same behaviour.
 * - Calls that do not wait follow one rule, as their Rust twins do (docs/embedding.md, "The
 *   non-blocking convention"): a read returns POLLHTTP_OK with its result when something is
 *   ready and POLLHTTP_END when it has ended (nothing more will come; every later call says so
 *   again); a call that cannot end returns POLLHTTP_OK when done; "not yet" is POLLHTTP_EAGAIN
 *   (errno EAGAIN): step the connection and call again. Anything else is a failure.
 *
 *   call (pollhttp_ left out)        OK                  END                  EAGAIN
 *   conn_try_next_incoming_stream    a new stream        no more will start   none yet
 *   stream_try_get_headers           the next head       ended, no head       none yet
 *   stream_try_get_next_chunk        body bytes          the body is over     nothing yet
 *   stream_try_read_body             bytes in your buf   the body is over     nothing yet
 *   stream_try_get_trailers          the trailers        none, or taken       body not over
 *   stream_try_write_chunk           written (buffered)  -                    buffer full
 *   stream_try_write                 *written bytes      -                    nothing fits
 *   stream_try_pass_body             *moved bytes        over, end passed on  none, or no room
 *   conn_try_flush                   all output is out   -                    output left
 *   conn_try_connect                 connected           -                    connecting
 *   listener_try_accept              a new connection    - (closed: ECLOSED)  none waiting
 *   conn_try_checktls                a TLS session       - (plain: ENOTLS)    handshaking
 *   conn_try_next_ready_stream       a stream with news  - (a queue)          empty for now
 *   stream_wait_for_continue         send the body       a final answer       - (blocking)
 *
 *   "No more will start": the connection closed or was shut down, the peer is going away
 *   (GOAWAY, Connection: close, the end of its input), an HTTP/1 server reads no more requests,
 *   or a client takes no pushes. Blocking forms (timeout_ms) end the same way, with
 *   POLLHTTP_ETIMEDOUT when the time runs out.
 * - A failed call leaves lua-http's (nil, message, errno) in per-thread storage: read it with
 *   pollhttp_last_error_code(), pollhttp_last_error_message(), pollhttp_last_errno(). A
 *   successful call leaves it as it was, like errno.
 * - No Rust panic crosses into C: it becomes POLLHTTP_EPANIC (free the handle involved).
 * - Every pointer argument is checked: NULL where a value is required gives POLLHTTP_EINVAL
 *   (or a NULL / -1 result), never a crash. A non-NULL pointer must be valid.
 * - Timeouts are milliseconds; a negative timeout means no limit.
 * - HTTP versions are POLLHTTP_HTTP_1_0, POLLHTTP_HTTP_1_1 and POLLHTTP_HTTP_2 (10, 11, 20).
 * - Handles (pollhttp_listener*, pollhttp_conn*, pollhttp_headers*, pollhttp_config*,
 *   pollhttp_tls_client*, pollhttp_tls_server*, pollhttp_tls_info*, pollhttp_server*) are owned
 *   by the caller from the call that returns them until a call whose name ends in _free: that
 *   frees, and nothing else does (but the deprecated pollhttp_conn_close, the old name of
 *   pollhttp_conn_close_free). One line per handle:
 *     pollhttp_listener   pollhttp_listener_free (closes it first if open); _close only closes
 *                         the socket; pollhttp_server_add_listener takes the handle over
 *     pollhttp_conn       pollhttp_conn_free (releases at once) or pollhttp_conn_close_free
 *                         (shutdown, a brief flush, release); _shutdown only starts a close
 *     pollhttp_headers    pollhttp_headers_free
 *     pollhttp_config     pollhttp_config_free
 *     pollhttp_tls_client pollhttp_tls_client_free
 *     pollhttp_tls_server pollhttp_tls_server_free
 *     pollhttp_tls_info   pollhttp_tls_info_free
 *     pollhttp_server     pollhttp_server_free (its listeners and connections with it)
 *     bytes handed out    pollhttp_bytes_free(data, len)
 *   Handles are not thread-safe: use each from one thread at a time. A stream is
 *   (pollhttp_conn*, stream id), a server's request (pollhttp_server*, request id): nothing to
 *   free.
 * - Settings handles (config, TLS) are copied by the calls that take them: free or change
 *   them right after, what was made with them keeps its own copy.
 * - Strings passed in are copied; pointers handed out say how long they stay valid. Header
 *   names and values go in as (pointer, length) in the _n calls and come out that way (see
 *   "Header lists"); the header calls without _n, and names of hosts, addresses and files,
 *   take NUL-terminated strings.
 * - SIGPIPE: the library never raises it, whatever its disposition. Sockets are written with
 *   send(2) and MSG_NOSIGNAL (a peer that closed is POLLHTTP_EIO with errno EPIPE or
 *   ECONNRESET), the resolver's wake-up channel is a socket pair written the same way, and
 *   pollhttp_stream_save_body_to_fd writes to a caller's pipe with SIGPIPE blocked in the
 *   calling thread for the write (a pending SIGPIPE of its own is consumed, any other left
 *   alone). No need to ignore SIGPIPE for the library's sake.
 */
#ifndef POLLHTTP_H
#define POLLHTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes ------------------------------------------------------------------------ */

#define POLLHTTP_OK 0          /* success */
#define POLLHTTP_END 1         /* not an error: end of body, no head, no more streams, no field */
#define POLLHTTP_EAGAIN (-1)   /* would block / not yet: step the connection and retry */
#define POLLHTTP_EIO (-2)      /* operating-system I/O error (see pollhttp_last_errno) */
#define POLLHTTP_ETIMEDOUT (-3) /* a deadline passed */
#define POLLHTTP_ERESOLVE (-4) /* name resolution failed */
#define POLLHTTP_ECONNECT (-5) /* every address refused or failed the connection */
#define POLLHTTP_EPROTOCOL (-6) /* the peer broke the HTTP protocol */
#define POLLHTTP_ELIMIT (-7)   /* a configured limit was exceeded */
#define POLLHTTP_ECLOSED (-8)  /* the connection is closed */
#define POLLHTTP_ERESET (-9)   /* the stream was reset or abandoned */
#define POLLHTTP_ETRUNCATED (-10) /* the peer closed in the middle of a message */
#define POLLHTTP_ESTATE (-11)  /* not valid in the current state */
#define POLLHTTP_EINVAL (-12)  /* invalid argument (NULL, not UTF-8, bad name, bad version) */
#define POLLHTTP_ENOTLS (-13)  /* no TLS session on this connection */
#define POLLHTTP_ERANGE (-14)  /* a buffer the caller passed is too small */
#define POLLHTTP_EPANIC (-15)  /* internal error: a Rust panic was caught at the boundary */
#define POLLHTTP_EOTHER (-16)  /* an error of a kind this ABI version does not name */

/* HTTP versions (pollhttp_conn_client, pollhttp_conn_version, pollhttp_stream_peer_version). */
#define POLLHTTP_HTTP_1_0 10
#define POLLHTTP_HTTP_1_1 11
#define POLLHTTP_HTTP_2 20

/* Stream states (pollhttp_stream_state). */
#define POLLHTTP_STREAM_IDLE 0               /* nothing sent or received yet */
#define POLLHTTP_STREAM_OPEN 1               /* both directions open */
#define POLLHTTP_STREAM_HALF_CLOSED_LOCAL 2  /* we finished sending; the peer may still send */
#define POLLHTTP_STREAM_HALF_CLOSED_REMOTE 3 /* the peer finished sending: its body is over
                                              * (bytes may still wait to be read); we may
                                              * still send */
#define POLLHTTP_STREAM_CLOSED 4             /* both done, reset, or unknown */

/* Client flags (pollhttp_conn_client_ex). */
#define POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE 1 /* POLLHTTP_HTTP_2 over cleartext: HTTP/2 from the
                                              * first byte instead of offering Upgrade: h2c */

/* ---- Handles ----------------------------------------------------------------------------- */

/* A listening socket. */
typedef struct pollhttp_listener pollhttp_listener;
/* A client or server connection (HTTP/1.x or HTTP/2); its streams are (conn, id) pairs. */
typedef struct pollhttp_conn pollhttp_conn;
/* An ordered header list with pseudo-headers (":method", ":path", ":status" ...). */
typedef struct pollhttp_headers pollhttp_headers;
/* Limits, timeouts and options of listeners and clients (the defaults, until set). */
typedef struct pollhttp_config pollhttp_config;
/* Client TLS settings: which servers to trust, a client certificate. */
typedef struct pollhttp_tls_client pollhttp_tls_client;
/* Server TLS settings: certificate and key, SNI, plaintext on the same port, handshake time. */
typedef struct pollhttp_tls_server pollhttp_tls_server;
/* A snapshot of an established TLS session (pollhttp_conn_try_get_tls_info). */
typedef struct pollhttp_tls_info pollhttp_tls_info;
/* A server: listeners, connections and requests behind one fd (pollhttp_server_new). */
typedef struct pollhttp_server pollhttp_server;

/* The handler of pollhttp_conn_onidle: called with the connection and the caller's userdata,
 * from inside the pollhttp call that drives the connection. It may read conn's state and call
 * pollhttp_conn_shutdown; the calls that would re-enter conn (pollhttp_conn_step, _connect,
 * _flush, _try_flush and every blocking call) fail with POLLHTTP_ESTATE while it runs. It must
 * never free conn. */
typedef void (*pollhttp_idle_fn)(pollhttp_conn *conn, void *userdata);

/* The watcher of pollhttp_conn_set_watcher: told that the connection's fd, events or deadline
 * changed, at the end of the pollhttp call that changed them.
 *   fd          the fd to watch now; -1 once the connection is closed.
 *   old_fd      the fd told before: equal to fd when it did not change, -1 on the first call.
 *               When it differs, stop watching old_fd (it is still open during the call and
 *               closed right after it: EPOLL_CTL_DEL, uv_poll_stop, ev_io_stop) and start
 *               watching fd.
 *   events      what to wait for on fd: POLLIN/POLLOUT bits (an edge-triggered loop that
 *               registered fd for both directions can ignore it).
 *   timeout_ms  the next deadline: 0 = a step is due now (put conn on your ready list),
 *               > 0 = in that many milliseconds (rounded up; arm your timer), -1 = none.
 *               File now + timeout_ms against a clock finer than milliseconds: a "now"
 *               rounded down wakes the loop before the deadline, and that step changes
 *               nothing and tells nothing (re-arm a timer whose step told nothing).
 * fd -1 with timeout_ms -1 is the end: the connection is closed and finished with (free it
 * from your loop, not from here). It runs on the thread of the call, may read conn's state
 * (pollhttp_conn_pollfd ...) and write to its streams; the calls that would re-enter conn
 * (pollhttp_conn_step, _connect, _flush, _try_flush and every blocking call) fail with
 * POLLHTTP_ESTATE while it runs. It must never free conn. */
typedef void (*pollhttp_watch_fn)(pollhttp_conn *conn, int fd, int old_fd, int events,
                                  int timeout_ms, void *userdata);

/* ---- Library and errors ------------------------------------------------------------------ */

/* The library version, e.g. "0.1.0". Static: never free it. */
const char *pollhttp_library_version(void);

/* A short static description of a status code ("would block"). Never free it. */
const char *pollhttp_strerror(int code);

/* The code of this thread's last error (POLLHTTP_OK if none yet). */
int pollhttp_last_error_code(void);

/* The message of this thread's last error ("" if none): lua-http's message. Owned by the
 * library; valid until the next failing pollhttp call on this thread. Never free it. */
const char *pollhttp_last_error_message(void);

/* The OS errno of this thread's last error, 0 if the OS gave none: lua-http's errno. */
int pollhttp_last_errno(void);

/* For a protocol error a server found: the HTTP status it answered with (400, 413 ...), else 0. */
int pollhttp_last_error_status(void);

/* 1 if the last error says the peer did not process the request (safe to retry elsewhere). */
int pollhttp_last_error_retryable(void);

/* Resets this thread's last error to POLLHTTP_OK, "", errno 0. */
void pollhttp_clear_error(void);

/* Frees bytes the library handed over (a body chunk, a whole body) with their length.
 * NULL is a no-op. The pointer is invalid afterwards. */
void pollhttp_bytes_free(uint8_t *data, size_t len);

/* ---- Header lists ------------------------------------------------------------------------ */

/* Strings: every call that takes a name or value has a form ending in _n that takes it as
 * (pointer, length), as every call hands them out (pollhttp_headers_get, _field: pointer and
 * length, NOT NUL-terminated). The forms without _n take NUL-terminated strings and are
 * conveniences over the same list. Names are UTF-8 and matched in any case; values may hold
 * any bytes (in the _n forms). A NULL pointer is allowed only with length 0.
 *
 * Hop-by-hop fields (RFC 9110 7.6.1). The library frames messages itself, so on write:
 * - HTTP/1 final response: Connection, Keep-Alive and Transfer-Encoding are dropped (the
 *   library writes its own Transfer-Encoding: chunked, Connection: close / keep-alive /
 *   upgrade); "Connection: close" among the fields still closes the connection after the
 *   response. Proxy-Connection, Upgrade and TE are sent as given, and so is every field of an
 *   interim (1xx) head.
 * - HTTP/1 request: Transfer-Encoding is dropped (written by the library when the body is
 *   chunked); Connection is sent as given (its close token is honoured), as are Keep-Alive,
 *   Proxy-Connection, Upgrade and TE.
 * - HTTP/2 (both sides): Connection, Proxy-Connection, Keep-Alive, Transfer-Encoding, Upgrade
 *   and a TE other than "trailers" are dropped (RFC 9113 8.2.2 forbids them); Host in a
 *   request becomes ":authority" when the head has none, and is dropped.
 * On read, an HTTP/1 head keeps every field as received, hop-by-hop ones included (the library
 * reads framing and persistence from them); an HTTP/2 head never holds them (a peer that sends
 * one has its stream reset, RFC 9113 8.2.2). Fields named by a Connection header are not
 * removed on either side: a proxy removes them, and the hop-by-hop ones above, itself. */

/* A new empty list. Owned by the caller: free with pollhttp_headers_free. */
pollhttp_headers *pollhttp_headers_new(void);

/* A new request head: ":method", ":path", and ":authority" unless authority is NULL. Strings
 * are NUL-terminated and copied. Owned by the caller; NULL (last error set) if method or path
 * is NULL or a string is not UTF-8. */
pollhttp_headers *pollhttp_headers_new_request(const char *method, const char *path,
                                               const char *authority);

/* As pollhttp_headers_new_request, with (pointer, length) strings (UTF-8, copied); authority
 * NULL: no ":authority". */
pollhttp_headers *pollhttp_headers_new_request_n(const char *method, size_t method_len,
                                                 const char *path, size_t path_len,
                                                 const char *authority, size_t authority_len);

/* A new response head with ":status". Owned by the caller; NULL unless 100 <= status <= 999. */
pollhttp_headers *pollhttp_headers_new_response(int status);

/* Frees a list; NULL is a no-op. Pointers into it (from _get, _field) die with it. */
void pollhttp_headers_free(pollhttp_headers *headers);

/* Appends a field (NUL-terminated name and value, copied; the name is stored lower-case and
 * validated when the head is written). */
int pollhttp_headers_append(pollhttp_headers *headers, const char *name, const char *value);

/* Appends a field given as (pointer, length); the value may hold any bytes (NULL allowed when
 * its length is 0). Copied. sensitive != 0: HTTP/2 sends the value HPACK never-indexed. */
int pollhttp_headers_append_n(pollhttp_headers *headers, const char *name, size_t name_len,
                              const char *value, size_t value_len, int sensitive);

/* Replaces every field called name by one with value, at the place of the first (appended if
 * there was none). NUL-terminated strings, copied. */
int pollhttp_headers_upsert(pollhttp_headers *headers, const char *name, const char *value);

/* As pollhttp_headers_upsert, with (pointer, length) strings; the value may hold any bytes. */
int pollhttp_headers_upsert_n(pollhttp_headers *headers, const char *name, size_t name_len,
                              const char *value, size_t value_len);

/* Removes every field called name (any case; NUL-terminated). Returns how many were removed
 * (0 if there was none: a count, never POLLHTTP_END), or a negative code (POLLHTTP_EINVAL).
 * Pointers into the list from before the call are invalid afterwards. */
int pollhttp_headers_remove(pollhttp_headers *headers, const char *name);

/* As pollhttp_headers_remove, with the name as (pointer, length). */
int pollhttp_headers_remove_n(pollhttp_headers *headers, const char *name, size_t name_len);

/* The value of the first field called name (any case; NUL-terminated), NOT NUL-terminated,
 * its length in *value_len (value_len may be NULL); NULL if there is none. Points into the
 * list: valid until the list is changed or freed. */
const char *pollhttp_headers_get(const pollhttp_headers *headers, const char *name,
                                 size_t *value_len);

/* As pollhttp_headers_get, with the name as (pointer, length). */
const char *pollhttp_headers_get_n(const pollhttp_headers *headers, const char *name,
                                   size_t name_len, size_t *value_len);

/* The number of fields, pseudo-headers included (0 for NULL). */
size_t pollhttp_headers_count(const pollhttp_headers *headers);

/* Field number index (from 0, in order, pseudo-headers first): POLLHTTP_OK with name and
 * value (NOT NUL-terminated; pointing into the list, valid until it is changed or freed), or
 * POLLHTTP_END past the last field. Iterate with: for (i = 0; ... == POLLHTTP_OK; i++). */
int pollhttp_headers_field(const pollhttp_headers *headers, size_t index, const char **name,
                           size_t *name_len, const char **value, size_t *value_len);

/* The ":status" of a response head as a number, or -1 if it has none (or headers is NULL). */
int pollhttp_headers_status(const pollhttp_headers *headers);

/* ---- Configuration ----------------------------------------------------------------------- */

/* Setters return POLLHTTP_OK, or POLLHTTP_EINVAL (config NULL, or a value out of range: the
 * configuration is then unchanged). Timeouts are milliseconds, negative for no limit unless
 * said otherwise. */

/* A new configuration holding the defaults (those of pollhttp_listener_bind and
 * pollhttp_conn_client). Owned by the caller: free with pollhttp_config_free. The calls that
 * take it copy it. */
pollhttp_config *pollhttp_config_new(void);

/* Frees a configuration; NULL is a no-op. What was made with it keeps its own copy. */
void pollhttp_config_free(pollhttp_config *config);

/* Largest header section, start line included (default 16 KiB): a server answers a larger one
 * with 431, a client fails with POLLHTTP_EPROTOCOL. Also the HTTP/2 header-list limit. >= 1. */
int pollhttp_config_set_max_head_size(pollhttp_config *config, size_t bytes);

/* Most header fields in one head (default 100; more are answered 431). >= 1. */
int pollhttp_config_set_max_headers(pollhttp_config *config, size_t count);

/* Largest request body a server accepts (default 64 MiB; 413 above); negative: no limit. */
int pollhttp_config_set_max_request_body(pollhttp_config *config, int64_t bytes);

/* Largest response body a client accepts (default: no limit); negative: no limit. */
int pollhttp_config_set_max_response_body(pollhttp_config *config, int64_t bytes);

/* Received body bytes buffered per stream before reading stops until the application reads
 * (default 256 KiB). >= 1. */
int pollhttp_config_set_recv_buffer(pollhttp_config *config, size_t bytes);

/* Outgoing bytes buffered before stream writes report POLLHTTP_EAGAIN (default 1 MiB). >= 1. */
int pollhttp_config_set_send_buffer(pollhttp_config *config, size_t bytes);

/* Time a peer has to deliver a whole request head once started (default 30 s; slowloris). */
int pollhttp_config_set_head_timeout(pollhttp_config *config, int timeout_ms);

/* Client: the time from a request's end to the first byte of its response (ms; negative: no
 * limit, the default); then the stream fails with POLLHTTP_ETIMEDOUT (HTTP/1: the connection
 * closes; HTTP/2: the stream is reset, the connection goes on). */
int pollhttp_config_set_response_timeout(pollhttp_config *config, int timeout_ms);

/* Client: the longest gap between two reads of a response in progress (ms; negative: no
 * limit, the default); then the stream fails with POLLHTTP_ETIMEDOUT. */
int pollhttp_config_set_response_read_timeout(pollhttp_config *config, int timeout_ms);

/* Time an idle keep-alive connection is kept open (default 120 s). */
int pollhttp_config_set_idle_timeout(pollhttp_config *config, int timeout_ms);

/* Time an idle HTTP/1 connection keeps what it reuses for its next message (kept heads, a
 * stream record's room, its output buffer) before giving it back (default 100 ms); negative:
 * kept while the connection lives. */
int pollhttp_config_set_idle_release(pollhttp_config *config, int timeout_ms);

/* Client: time a whole connect may take: resolution, TCP, TLS handshake (default 30 s). */
int pollhttp_config_set_connect_timeout(pollhttp_config *config, int timeout_ms);

/* Time a graceful shutdown waits for in-flight exchanges (default 10 s). Needs a limit:
 * negative is POLLHTTP_EINVAL. */
int pollhttp_config_set_shutdown_timeout(pollhttp_config *config, int timeout_ms);

/* on != 0 (the default): each step reads until the socket would block (edge-triggered loops).
 * 0: a short read ends the reading, one read(2) less per event in a level-triggered loop. */
int pollhttp_config_set_read_to_would_block(pollhttp_config *config, int on);

/* on != 0 (the default): a head that repeats the last one (received byte for byte, or to send
 * stored identically) reuses the work done for it. 0: every head is parsed and encoded
 * afresh, and no copy of past heads is kept. */
int pollhttp_config_set_reuse_heads(pollhttp_config *config, int on);

/* Server: on != 0 (the default) accepts HTTP/2 over cleartext (prior knowledge, h2c upgrade);
 * 0 serves HTTP/1 only there. Over TLS, ALPN decides. */
int pollhttp_config_set_http2_enabled(pollhttp_config *config, int on);

/* HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS we advertise (default 100). */
int pollhttp_config_set_http2_max_concurrent_streams(pollhttp_config *config, uint32_t streams);

/* HTTP/2: SETTINGS_INITIAL_WINDOW_SIZE we advertise, unread body bytes per stream (default
 * 1 MiB; at most 2^31-1). */
int pollhttp_config_set_http2_initial_window_size(pollhttp_config *config, uint32_t bytes);

/* HTTP/2: the connection's receive window, unread body bytes of all streams (65535 to 2^31-1);
 * negative (the default) picks by role: 2 MiB for a server, 16 MiB for a client. */
int pollhttp_config_set_http2_connection_window_size(pollhttp_config *config, int64_t bytes);

/* HTTP/2 client: on != 0 accepts server push (SETTINGS_ENABLE_PUSH=1): each push becomes an
 * incoming stream whose first head is the promised request, the second the response.
 * 0 (the default) refuses pushes. A server ignores it. */
int pollhttp_config_set_http2_enable_push(pollhttp_config *config, int on);

/* HTTP/2 keep-alive: PING after this long without a byte from the peer; negative (the default):
 * no keep-alive pings. */
int pollhttp_config_set_http2_keepalive_interval(pollhttp_config *config, int interval_ms);

/* HTTP/2 keep-alive: time the peer has to answer our PING, then the connection fails with
 * POLLHTTP_ETIMEDOUT (default 20 s). Needs a limit: negative is POLLHTTP_EINVAL. */
int pollhttp_config_set_http2_keepalive_timeout(pollhttp_config *config, int timeout_ms);

/* ---- TLS settings ------------------------------------------------------------------------ */

/* Client TLS verifying servers against the Mozilla root certificates (built in). Owned by the
 * caller: free with pollhttp_tls_client_free. */
pollhttp_tls_client *pollhttp_tls_client_new_webpki_roots(void);

/* Client TLS verifying servers against the CA certificates in the PEM file ca_pem_path (and
 * nothing else). Owned by the caller; NULL with the last error set if the file cannot be read
 * or holds no usable CA certificate. */
pollhttp_tls_client *pollhttp_tls_client_new_ca_file(const char *ca_pem_path);

/* Client TLS that does NOT verify the server (any certificate, any name): encrypted, but open
 * to an attacker in the middle. For tests and self-signed servers trusted by other means. */
pollhttp_tls_client *pollhttp_tls_client_new_insecure(void);

/* Presents a client certificate: the chain (leaf first) in chain_pem_path, its key in
 * key_pem_path. On failure tls is unchanged. Clients made earlier with tls are not affected. */
int pollhttp_tls_client_set_client_cert(pollhttp_tls_client *tls, const char *chain_pem_path,
                                        const char *key_pem_path);

/* on != 0 (the default): ALPN offers h2 and http/1.1 when the connection asks for HTTP/2
 * (POLLHTTP_HTTP_2); 0: http/1.1 only. Clients made earlier with tls are not affected. */
int pollhttp_tls_client_set_offer_h2(pollhttp_tls_client *tls, int on);

/* Frees client TLS settings; NULL is a no-op. Clients made with them keep their own copy. */
void pollhttp_tls_client_free(pollhttp_tls_client *tls);

/* Server TLS with the certificate chain (leaf first) in cert_pem_path and its key in
 * key_pem_path. ALPN selects h2 or http/1.1; a client has 10 s for the handshake; plaintext is
 * refused. Owned by the caller: free with pollhttp_tls_server_free. NULL with the last error
 * set if a file cannot be read, holds no certificate or key, or the key does not fit. */
pollhttp_tls_server *pollhttp_tls_server_new_pem(const char *cert_pem_path,
                                                 const char *key_pem_path);

/* Serves the certificate in cert_pem_path (key in key_pem_path) to clients asking for name by
 * SNI ("example.com", or "*.example.com" for one label in front); others get the certificate
 * chosen before. Call once per name. On failure tls is unchanged. */
int pollhttp_tls_server_add_sni(pollhttp_tls_server *tls, const char *name,
                                const char *cert_pem_path, const char *key_pem_path);

/* Mutual TLS: asks clients for a certificate issued by a CA in ca_pem_path and verifies it;
 * required == 0 still serves a client that sends none (never one whose certificate fails).
 * Certificate choice (SNI too) and ALPN are kept. On failure tls is unchanged. */
int pollhttp_tls_server_set_client_ca_file(pollhttp_tls_server *tls, const char *ca_pem_path,
                                           int required);

/* on != 0 (the default): ALPN selects h2 when the client offers it; 0: HTTP/1.1 only. */
int pollhttp_tls_server_set_offer_h2(pollhttp_tls_server *tls, int on);

/* on != 0: the same port also serves plaintext HTTP (the first bytes tell TLS from HTTP);
 * 0 (the default) refuses plaintext. */
int pollhttp_tls_server_set_allow_plaintext(pollhttp_tls_server *tls, int on);

/* Time a client has to complete the handshake once accepted (default 10 s); negative: none. */
int pollhttp_tls_server_set_handshake_timeout(pollhttp_tls_server *tls, int timeout_ms);

/* Frees server TLS settings; NULL is a no-op. Listeners given them keep their own copy. */
void pollhttp_tls_server_free(pollhttp_tls_server *tls);

/* ---- Listener ---------------------------------------------------------------------------- */

/* Listens on TCP address (an IPv4 or IPv6 literal; no name resolution) and port (0: any free
 * port, see pollhttp_listener_localname), with SO_REUSEADDR and default limits. Owned by the
 * caller (pollhttp_listener_free); NULL with the last error set on failure. */
pollhttp_listener *pollhttp_listener_bind(const char *address, uint16_t port);

/* Listens on a Unix-domain socket at path (a stale socket file is replaced; the file is
 * removed when the listener is closed or freed). Owned by the caller; NULL on failure. */
pollhttp_listener *pollhttp_listener_bind_unix(const char *path);

/* As pollhttp_listener_bind, with the limits and timeouts of config for every connection it
 * accepts (copied: free it when you like; NULL for the defaults). */
pollhttp_listener *pollhttp_listener_bind_ex(const char *address, uint16_t port,
                                             const pollhttp_config *config);

/* As pollhttp_listener_bind_unix, with config (copied; NULL for the defaults). */
pollhttp_listener *pollhttp_listener_bind_unix_ex(const char *path,
                                                  const pollhttp_config *config);

/* Serves TLS: connections accepted from now on do the handshake in their first steps (watch
 * their pollfd as usual) and speak HTTP/2 or HTTP/1.1 as ALPN decides; with
 * pollhttp_tls_server_set_allow_plaintext, plaintext HTTP is served on the same port. The
 * listener keeps its own copy of tls (the caller still owns and frees it). Connections
 * accepted before are not affected. */
int pollhttp_listener_set_tls(pollhttp_listener *listener, const pollhttp_tls_server *tls);

/* The fd to watch (readable: a connection is waiting); -1 once closed. Owned by the listener:
 * never close it. */
int pollhttp_listener_pollfd(const pollhttp_listener *listener);

/* What to wait for as poll(2) bits: POLLIN, or 0 once closed. */
int pollhttp_listener_events(const pollhttp_listener *listener);

/* The next waiting connection without blocking (Rust's try_accept): POLLHTTP_OK with *conn
 * (owned by the caller, independent of the listener: free with pollhttp_conn_close_free or
 * pollhttp_conn_free), POLLHTTP_EAGAIN when none is waiting (call until then after each
 * readiness event), POLLHTTP_ECLOSED once the listener is closed, or another error such as out
 * of fds (the listener stays usable). */
int pollhttp_listener_try_accept(pollhttp_listener *listener, pollhttp_conn **conn);

/* Deprecated: the old name of pollhttp_listener_try_accept, with the same behaviour. */
int pollhttp_listener_accept(pollhttp_listener *listener, pollhttp_conn **conn);

/* Blocking: waits at most timeout_ms for a connection; *conn as in
 * pollhttp_listener_try_accept. */
int pollhttp_listener_accept_timeout(pollhttp_listener *listener, int timeout_ms,
                                     pollhttp_conn **conn);

/* lua-http's (family, address, port) of the listening socket: AF_INET/AF_INET6 with the IP as
 * NUL-terminated text and the port, AF_UNIX with the path, AF_UNSPEC once closed. address gets
 * at most address_len bytes (POLLHTTP_ERANGE if too small; 46 hold any IP, 108 any Unix path).
 * Each out-pointer may be NULL (not wanted; address NULL only with address_len 0). */
int pollhttp_listener_localname(const pollhttp_listener *listener, int *family, char *address,
                                size_t address_len, uint16_t *port);

/* Stops accepting and closes the socket (remove its fd from your poller first). It does NOT
 * free the handle: that is pollhttp_listener_free's. Accepted connections are not affected. */
int pollhttp_listener_close(pollhttp_listener *listener);

/* Closes (if open) and frees a listener; NULL is a no-op. The pointer is invalid afterwards. */
void pollhttp_listener_free(pollhttp_listener *listener);

/* ---- Connection: creating and freeing ----------------------------------------------------- */

/* Starts a client connection to host (a name, resolved off the caller's thread, or an address
 * literal) and port, speaking HTTP version POLLHTTP_HTTP_1_0, POLLHTTP_HTTP_1_1 or
 * POLLHTTP_HTTP_2, without blocking: resolution and connect go on in pollhttp_conn_step. Owned
 * by the caller; NULL with the last error set on failure (including a version this build
 * cannot speak). host is copied. */
pollhttp_conn *pollhttp_conn_client(const char *host, uint16_t port, int version);

/* As pollhttp_conn_client, to the Unix-domain socket at path. */
pollhttp_conn *pollhttp_conn_client_unix(const char *path, int version);

/* As pollhttp_conn_client, with options:
 * - flags: 0, or POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE with POLLHTTP_HTTP_2 to speak HTTP/2 from
 *   the first byte over cleartext instead of offering Upgrade: h2c (over TLS, ALPN decides
 *   and the flag changes nothing); other bits are POLLHTTP_EINVAL;
 * - config: limits and timeouts (copied; NULL for the defaults);
 * - tls: NULL for plaintext, else https with these settings (the client keeps its own copy;
 *   the caller still owns and frees tls). The handshake is part of connecting; host is the
 *   name checked against the certificate and sent as SNI. With POLLHTTP_HTTP_2 ALPN offers h2
 *   and http/1.1, and the server's choice sets pollhttp_conn_version.
 * Owned by the caller; NULL with the last error set on failure. */
pollhttp_conn *pollhttp_conn_client_ex(const char *host, uint16_t port, int version, int flags,
                                       const pollhttp_config *config,
                                       const pollhttp_tls_client *tls);

/* As pollhttp_conn_client_ex, to the Unix-domain socket at path (over TLS the name checked is
 * "localhost"). */
pollhttp_conn *pollhttp_conn_client_unix_ex(const char *path, int version, int flags,
                                            const pollhttp_config *config,
                                            const pollhttp_tls_client *tls);

/* lua-http's close(), and a free: shutdown, write what is buffered (briefly, without
 * blocking), release the fd, free the handle. Remove the fd from your poller first. NULL is a
 * no-op; the pointer (and every stream id of it) is invalid afterwards. */
void pollhttp_conn_close_free(pollhttp_conn *conn);

/* Deprecated: the old name of pollhttp_conn_close_free, with the same behaviour (it frees the
 * handle: the one call not ending in _free that does). */
void pollhttp_conn_close(pollhttp_conn *conn);

/* Releases the fd at once (no shutdown; unsent output dropped) and frees the handle: for a
 * connection that is closed already, or to abandon one. NULL is a no-op. */
void pollhttp_conn_free(pollhttp_conn *conn);

/* ---- Connection: the pollable contract --------------------------------------------------- */

/* lua-http's connection.type: "client" or "server" (static; NULL for NULL). */
const char *pollhttp_conn_type(const pollhttp_conn *conn);

/* lua-http's connection.version: POLLHTTP_HTTP_1_0, POLLHTTP_HTTP_1_1 or POLLHTTP_HTTP_2. */
int pollhttp_conn_version(const pollhttp_conn *conn);

/* The fd to watch; -1 once closed. While a client resolves a name it is the resolver's
 * wake-up socket, while it connects the socket being tried: re-read it after every step and
 * re-register when it changed (or let pollhttp_conn_set_watcher's watcher say when). Owned by
 * the connection: never close it. */
int pollhttp_conn_pollfd(const pollhttp_conn *conn);

/* What to wait for now as poll(2) bits: POLLIN, POLLOUT, both, or 0 (the same values as
 * EPOLLIN/EPOLLOUT on Linux). Precise: a level-triggered loop waiting for exactly this does
 * not spin. */
int pollhttp_conn_events(const pollhttp_conn *conn);

/* Milliseconds until the next deadline that needs a step even without I/O (rounded up; 0: due
 * now), or -1 for none: ready to pass to poll/epoll_wait (take the minimum over connections). */
int pollhttp_conn_timeout(const pollhttp_conn *conn);

/* Does all the work possible now without blocking: resolve, connect, read until the socket
 * would block, feed the protocol, write, fire passed deadlines. Then drain
 * pollhttp_conn_try_next_incoming_stream and pollhttp_conn_try_next_ready_stream.
 * POLLHTTP_OK, or the error that closed the connection in this step (reported once). */
int pollhttp_conn_step(pollhttp_conn *conn);

/* Tells the connection the loop saw the peer close or an error (EPOLLRDHUP, EPOLLHUP,
 * EPOLLERR): the next step reads to the end. */
int pollhttp_conn_hint_read_closed(pollhttp_conn *conn);

/* 1 if closed (by either side, or after an error), 0 if not, negative for NULL. */
int pollhttp_conn_is_closed(const pollhttp_conn *conn);

/* 1 once a client has connected (a server: while open), 0 if not, negative for NULL. */
int pollhttp_conn_is_connected(const pollhttp_conn *conn);

/* 1 if no exchange is in progress, 0 if one is, negative for NULL. */
int pollhttp_conn_is_idle(const pollhttp_conn *conn);

/* 1 if a step is due at once for work that waits on no I/O (buffered input, output not yet
 * tried), 0 if not, negative for NULL: the timeout reads "now" exactly then, and a loop can
 * ask this instead of reading the clock. */
int pollhttp_conn_wants_step_now(const pollhttp_conn *conn);

/* Why the connection failed: POLLHTTP_OK if it did not, else the error's code, with the error
 * made this thread's last error (message, errno). */
int pollhttp_conn_error(const pollhttp_conn *conn);

/* ---- Connection: lua-http's operations --------------------------------------------------- */

/* Whether a client connection is established, without waiting (connect's non-blocking form):
 * POLLHTTP_OK once it is (a server's: while open), POLLHTTP_EAGAIN while it connects (step it
 * and ask again), or why it cannot be (the connect failed, the connection closed or was shut
 * down). */
int pollhttp_conn_try_connect(pollhttp_conn *conn);

/* Blocking: lua-http's connect(timeout): waits until a client connection is established. */
int pollhttp_conn_connect(pollhttp_conn *conn, int timeout_ms);

/* lua-http's checktls(): POLLHTTP_OK if there is a TLS session, POLLHTTP_ENOTLS if the
 * connection is plaintext, POLLHTTP_EAGAIN while the handshake goes on. */
int pollhttp_conn_try_checktls(const pollhttp_conn *conn);

/* Deprecated: the old name of pollhttp_conn_try_checktls, with the same behaviour. */
int pollhttp_conn_checktls(const pollhttp_conn *conn);

/* checktls() with the details: POLLHTTP_OK with *info, a snapshot of the session owned by the
 * caller (read it with pollhttp_tls_info_*, free it with pollhttp_tls_info_free; it outlives
 * the connection if need be); POLLHTTP_ENOTLS on plaintext; POLLHTTP_EAGAIN during the
 * handshake. *info is left alone on failure. */
int pollhttp_conn_try_get_tls_info(const pollhttp_conn *conn, pollhttp_tls_info **info);

/* Deprecated: the old name of pollhttp_conn_try_get_tls_info, with the same behaviour. */
int pollhttp_conn_get_tls_info(const pollhttp_conn *conn, pollhttp_tls_info **info);

/* The strings and bytes below point into info and live exactly as long as it does. */

/* The protocol version: "TLSv1.3" or "TLSv1.2" (NULL for NULL). */
const char *pollhttp_tls_info_version(const pollhttp_tls_info *info);

/* The cipher suite as IANA names it ("TLS13_AES_256_GCM_SHA384" ...; NULL for NULL). */
const char *pollhttp_tls_info_cipher_suite(const pollhttp_tls_info *info);

/* The ALPN protocol agreed on ("h2", "http/1.1"), or NULL if none. */
const char *pollhttp_tls_info_alpn(const pollhttp_tls_info *info);

/* The SNI name (a server: what the client asked for; a client: what it sent), or NULL if none
 * (a client connecting to an IP address sends none). */
const char *pollhttp_tls_info_server_name(const pollhttp_tls_info *info);

/* The number of certificates the peer presented, leaf first; 0 if none (most clients). */
size_t pollhttp_tls_info_peer_cert_count(const pollhttp_tls_info *info);

/* The DER bytes of the peer's certificate number index (0: the leaf), their length in *len
 * (len may be NULL); NULL past the last one. */
const uint8_t *pollhttp_tls_info_peer_cert(const pollhttp_tls_info *info, size_t index,
                                           size_t *len);

/* Frees a session snapshot; NULL is a no-op. Pointers taken from it die with it. */
void pollhttp_tls_info_free(pollhttp_tls_info *info);

/* lua-http's localname(): (family, address, port) of the local socket, AF_UNSPEC when not
 * connected; out-pointers as in pollhttp_listener_localname. */
int pollhttp_conn_localname(const pollhttp_conn *conn, int *family, char *address,
                            size_t address_len, uint16_t *port);

/* lua-http's peername(): the peer (next hop); as pollhttp_conn_localname. */
int pollhttp_conn_peername(const pollhttp_conn *conn, int *family, char *address,
                           size_t address_len, uint16_t *port);

/* Writes buffered output without blocking: POLLHTTP_OK once all is out, POLLHTTP_EAGAIN if
 * some is left (wait for POLLOUT), or the error that closed the connection. */
int pollhttp_conn_try_flush(pollhttp_conn *conn);

/* Blocking: lua-http's flush(timeout). */
int pollhttp_conn_flush(pollhttp_conn *conn, int timeout_ms);

/* lua-http's shutdown(): no new streams; in-flight exchanges finish (HTTP/1 answers with
 * Connection: close, HTTP/2 sends GOAWAY), then the connection closes; what is left at the
 * shutdown deadline is cut off. Keep stepping it until pollhttp_conn_is_closed. */
int pollhttp_conn_shutdown(pollhttp_conn *conn);

/* lua-http's new_stream(), client side: a new stream for one request, its id in *stream_id. */
int pollhttp_conn_new_stream(pollhttp_conn *conn, uint64_t *stream_id);

/* The next stream the peer started (a request, for a server; a push, for a client that enabled
 * push) without waiting: POLLHTTP_OK with *stream_id; POLLHTTP_END when the connection will
 * start no more (closed, shut down, the peer is going away, an HTTP/1 connection done with
 * requests, a client without push), and on every later call; POLLHTTP_EAGAIN if none has come
 * yet. */
int pollhttp_conn_try_next_incoming_stream(pollhttp_conn *conn, uint64_t *stream_id);

/* Blocking: lua-http's get_next_incoming_stream(timeout): POLLHTTP_OK with *stream_id,
 * POLLHTTP_END when no more will come (as pollhttp_conn_try_next_incoming_stream says it), or
 * an error. */
int pollhttp_conn_get_next_incoming_stream(pollhttp_conn *conn, int timeout_ms,
                                           uint64_t *stream_id);

/* The next stream with news since it was last named (a head, body bytes, the end, an error,
 * room to write): POLLHTTP_OK with *stream_id, or POLLHTTP_EAGAIN when there is none now (a
 * queue: it never ends). Drain it after each step. */
int pollhttp_conn_try_next_ready_stream(pollhttp_conn *conn, uint64_t *stream_id);

/* Deprecated: the old name of pollhttp_conn_try_next_ready_stream, with the same behaviour. */
int pollhttp_conn_next_ready_stream(pollhttp_conn *conn, uint64_t *stream_id);

/* lua-http's onidle(handler): handler(conn, userdata) is called when the connection becomes
 * idle; NULL removes it. userdata stays the caller's (never freed by the library); handler
 * and userdata must stay usable until replaced or until conn is freed. */
int pollhttp_conn_onidle(pollhttp_conn *conn, pollhttp_idle_fn handler, void *userdata);

/* Sets the watcher (pollhttp_watch_fn): watcher(conn, fd, old_fd, events, timeout_ms,
 * userdata) is called whenever the connection's fd, events or deadline changed, at the end of
 * the call that changed them, whichever call it was: pollhttp_conn_step, or a call on conn or
 * its streams made while your loop handles another connection (a proxy writing to its
 * upstream while it reads the client: the write makes a step of the upstream due now, and its
 * watcher says so). Only on a change, and once at once from this call with the current state
 * (old_fd -1), so that the watcher can do all the registering. NULL removes it. userdata stays
 * the caller's; watcher and userdata must stay usable until replaced or until conn is freed.
 * pollhttp_conn_close tells the end (fd -1, old_fd, timeout_ms -1) before the fd is closed, with
 * conn being freed (compare it, do not use it); pollhttp_conn_free tells nothing.
 *
 * The loop it makes (libuv: a uv_poll_t and a uv_timer_t per connection; libev: an ev_io and an
 * ev_timer; a bare epoll, shown here), which never scans its connections:
 *   on watch(conn, fd, old_fd, events, timeout_ms):
 *       if (old_fd != fd) { if (old_fd >= 0) epoll_ctl(DEL, old_fd);
 *                           if (fd >= 0) epoll_ctl(ADD, fd, EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET); }
 *       (level-triggered: epoll_ctl(MOD, fd, events) when events changed)
 *       if (timeout_ms == 0) put conn on the ready list (once);
 *       else if (timeout_ms > 0) file conn in the timer heap at now + timeout_ms;
 *       if (fd < 0 && timeout_ms < 0) mark conn finished;
 *   loop: step each conn on the ready list (taking it off first), each whose timer fired, each
 *       epoll reports, draining its queues after each step; free the finished; wait in
 *       epoll_wait no longer than the earliest timer, 0 while the ready list is not empty. */
int pollhttp_conn_set_watcher(pollhttp_conn *conn, pollhttp_watch_fn watcher, void *userdata);

/* on != 0 (the default): a client writes at once when a request ends. A client pipelining many
 * requests turns it off and calls pollhttp_conn_try_flush after them. */
int pollhttp_conn_set_auto_flush(pollhttp_conn *conn, int on);

/* ---- Streams: (conn, stream_id) ---------------------------------------------------------- */

/* The stream's state, a POLLHTTP_STREAM_* value (CLOSED for finished or unknown ids).
 * HALF_CLOSED_REMOTE (or CLOSED after it) means the peer's message is over: no more body will
 * arrive, though bytes that arrived may still wait to be read; pollhttp_stream_body_follows
 * says whether any do. */
int pollhttp_stream_state(pollhttp_conn *conn, uint64_t stream_id);

/* 1 if the peer's message on the stream has body bytes still to read (some wait, or the peer
 * has not ended its message), 0 once the body is over or when there is none (an HTTP/2 head
 * with END_STREAM; an HTTP/1 request with neither Content-Length nor chunking, or with
 * Content-Length: 0; a response to HEAD, a 204, a 304), or when the stream failed or is gone;
 * negative for NULL. It reads nothing. Asked right after the final head was taken (from the
 * library's own framing, not by reading fields), it says whether a body follows the head: a
 * proxy then writes the head on with end_stream = !body_follows. */
int pollhttp_stream_body_follows(pollhttp_conn *conn, uint64_t stream_id);

/* The HTTP version of the peer's message on the stream: POLLHTTP_HTTP_1_0, _1_1, _2, or 0
 * when unknown. */
int pollhttp_stream_peer_version(pollhttp_conn *conn, uint64_t stream_id);

/* lua-http's write_headers(headers, end_stream): ":status" and fields (server), or ":method",
 * ":path", ":authority" and fields (client); a head after the final one is sent as trailers.
 * Never blocks and never says "not yet": the head is buffered (hence no try_). Hop-by-hop
 * fields are handled as "Header lists" says. The list is copied: the caller still owns (and
 * frees) headers. */
int pollhttp_stream_write_headers(pollhttp_conn *conn, uint64_t stream_id,
                                  const pollhttp_headers *headers, int end_stream);

/* lua-http's write_continue(): answers Expect: 100-continue with 100 Continue (server). */
int pollhttp_stream_write_continue(pollhttp_conn *conn, uint64_t stream_id);

/* Server, HTTP/2: server push. Promises the response to request (a GET or HEAD without
 * content, with ":path" and ":authority"; ":scheme" defaults to the connection's) on stream_id,
 * a request of the client; the promised stream's id goes to *promised_id. The PUSH_PROMISE goes
 * out before any body of stream_id written after the call. Answer on the promised stream with
 * the usual calls; it is not an incoming stream. request is copied (the caller still frees it).
 * POLLHTTP_ESTATE on HTTP/1, on a client, when the client disabled push, or once stream_id's
 * response ended; POLLHTTP_EINVAL for a request that cannot be promised; POLLHTTP_ELIMIT when
 * the client allows no more pushed streams now. */
int pollhttp_stream_push_promise(pollhttp_conn *conn, uint64_t stream_id,
                                 const pollhttp_headers *request, uint64_t *promised_id);

/* Writes body bytes (copied) without blocking, all or nothing; end_stream != 0 ends the body.
 * POLLHTTP_EAGAIN (nothing written) while the send buffer is full: retry when
 * pollhttp_conn_try_next_ready_stream names the stream again. data may be NULL when len is 0.
 * pollhttp_stream_try_write takes part of a large write instead. */
int pollhttp_stream_try_write_chunk(pollhttp_conn *conn, uint64_t stream_id,
                                    const uint8_t *data, size_t len, int end_stream);

/* Writes as much of data (copied) as the send buffer takes now, without blocking, as write(2)
 * does: POLLHTTP_OK with *written bytes taken from the front of data (fewer than len when the
 * buffer filled up: write the rest later, from your own buffer); end_stream != 0 ends the body
 * only when all of data was taken (len 0 with end_stream just ends it). POLLHTTP_EAGAIN
 * (*written 0) only when nothing fits: retry when pollhttp_conn_try_next_ready_stream names the
 * stream again. The room is the stream's send buffer over HTTP/2, the connection's output over
 * HTTP/1 (pollhttp_config_set_send_buffer). data may be NULL when len is 0. */
int pollhttp_stream_try_write(pollhttp_conn *conn, uint64_t stream_id, const uint8_t *data,
                              size_t len, int end_stream, size_t *written);

/* Moves up to max received body bytes of stream from_id of from_conn to the send side of
 * stream to_id of to_conn, without an allocation (the bytes go from the source's receive
 * buffer into the destination's output): POLLHTTP_OK with *moved (> 0) bytes moved (call
 * again: there may be more); POLLHTTP_END (*moved 0) when the source's body is over and its end
 * was passed on (the destination's body is ended, with the trailers the source had), and on
 * every later call; POLLHTTP_EAGAIN (*moved 0) when the source has nothing new or the
 * destination has no room: call again when pollhttp_conn_try_next_ready_stream names either
 * stream. The end goes with the last bytes when they move together. from_conn and to_conn may
 * be the same connection (two HTTP/2 streams, or a request body to its own response: from_id
 * may equal to_id). max >= 1 (SIZE_MAX: as much as there is room for). The destination's head
 * must be written first; the source's head taken first. Errors: the source's (a reset, a
 * truncated body, told after the bytes before it) or the destination's (its Content-Length
 * overrun, ended, reset, its connection closed). */
int pollhttp_stream_try_pass_body(pollhttp_conn *from_conn, uint64_t from_id,
                                  pollhttp_conn *to_conn, uint64_t to_id, size_t max,
                                  size_t *moved);

/* Blocking: lua-http's write_chunk(chunk, end_stream, timeout). */
int pollhttp_stream_write_chunk(pollhttp_conn *conn, uint64_t stream_id, const uint8_t *data,
                                size_t len, int end_stream, int timeout_ms);

/* Blocking: lua-http's write_body_from_string: data as the whole (rest of the) body, then end
 * and flush. */
int pollhttp_stream_write_body_from_bytes(pollhttp_conn *conn, uint64_t stream_id,
                                          const uint8_t *data, size_t len, int timeout_ms);

/* Blocking: lua-http's write_body_from_file: copies fd until end of file, then end and flush.
 * The fd stays the caller's (not closed). */
int pollhttp_stream_write_body_from_fd(pollhttp_conn *conn, uint64_t stream_id, int fd,
                                       int timeout_ms);

/* Blocking: client, after a head with Expect: 100-continue: waits at most timeout_ms for
 * 100 Continue.
 * POLLHTTP_OK: send the body (it came, or the time ran out); POLLHTTP_END: a final answer came
 * instead, the body is not wanted. */
int pollhttp_stream_wait_for_continue(pollhttp_conn *conn, uint64_t stream_id, int timeout_ms);

/* The next head without waiting (interim 1xx heads before the final one): POLLHTTP_OK with
 * *headers (owned by the caller: pollhttp_headers_free), POLLHTTP_END if the stream ended
 * without one, POLLHTTP_EAGAIN if none arrived yet, or the stream's error. */
int pollhttp_stream_try_get_headers(pollhttp_conn *conn, uint64_t stream_id,
                                    pollhttp_headers **headers);

/* Blocking: lua-http's get_headers(timeout); POLLHTTP_ETIMEDOUT instead of POLLHTTP_EAGAIN. */
int pollhttp_stream_get_headers(pollhttp_conn *conn, uint64_t stream_id, int timeout_ms,
                                pollhttp_headers **headers);

/* The next piece of the body without waiting: POLLHTTP_OK with *data and *len (owned by the
 * caller: pollhttp_bytes_free(data, len)), POLLHTTP_END at the end of the body (*data NULL),
 * POLLHTTP_EAGAIN if nothing arrived yet, or the stream's error (a truncated body is
 * POLLHTTP_ETRUNCATED, never a short success). Each piece is an allocation:
 * pollhttp_stream_try_read_body reads into a buffer of yours instead. */
int pollhttp_stream_try_get_next_chunk(pollhttp_conn *conn, uint64_t stream_id, uint8_t **data,
                                       size_t *len);

/* Body bytes read into the caller's buffer, without waiting and without an allocation:
 * POLLHTTP_OK with *n (> 0) bytes at the front of buf (call again: more may be there),
 * POLLHTTP_END (*n 0) when the body is over (and on every later call), POLLHTTP_EAGAIN (*n 0)
 * if nothing new arrived, or the stream's error (a truncated body is POLLHTTP_ETRUNCATED, told
 * after the bytes before it). cap >= 1. Call it after the head is taken. */
int pollhttp_stream_try_read_body(pollhttp_conn *conn, uint64_t stream_id, uint8_t *buf,
                                  size_t cap, size_t *n);

/* Blocking: lua-http's get_next_chunk(timeout); POLLHTTP_ETIMEDOUT instead of EAGAIN. */
int pollhttp_stream_get_next_chunk(pollhttp_conn *conn, uint64_t stream_id, int timeout_ms,
                                   uint8_t **data, size_t *len);

/* Blocking: lua-http's get_body_as_string(timeout): the whole (rest of the) body in *data and
 * *len (NULL and 0 when empty; NOT NUL-terminated; owned by the caller: pollhttp_bytes_free). */
int pollhttp_stream_get_body(pollhttp_conn *conn, uint64_t stream_id, int timeout_ms,
                             uint8_t **data, size_t *len);

/* Blocking: lua-http's save_body_to_file: writes the body to fd as it arrives, the byte count
 * in *written (may be NULL). The fd stays the caller's (not closed). A pipe or socket whose
 * reader is gone is POLLHTTP_EIO with errno EPIPE, never a SIGPIPE. */
int pollhttp_stream_save_body_to_fd(pollhttp_conn *conn, uint64_t stream_id, int fd,
                                    int timeout_ms, uint64_t *written);

/* The trailers once the body is over: POLLHTTP_OK with *headers (owned by the caller),
 * POLLHTTP_END if there were none (or they were taken), POLLHTTP_EAGAIN while the body is on. */
int pollhttp_stream_try_get_trailers(pollhttp_conn *conn, uint64_t stream_id,
                                     pollhttp_headers **headers);

/* lua-http's unget(str): puts data (copied) back in front of the unread body. */
int pollhttp_stream_unget(pollhttp_conn *conn, uint64_t stream_id, const uint8_t *data,
                          size_t len);

/* lua-http's shutdown()/rst: abandons the stream; unread input is dropped; HTTP/2 sends
 * RST_STREAM; an unfinished HTTP/1 message ends the connection. */
int pollhttp_stream_reset(pollhttp_conn *conn, uint64_t stream_id);

/* 1 if the body that arrived was delimited by the connection closing, else 0. */
int pollhttp_stream_body_close_delimited(pollhttp_conn *conn, uint64_t stream_id);

/* ---- Server: listeners, connections and requests behind one fd --------------------------- */

/* A server with no listener yet; its connections get config (copied; NULL: the defaults).
 * Owned by the caller (pollhttp_server_free); NULL with the last error set on failure. */
pollhttp_server *pollhttp_server_new(const pollhttp_config *config);

/* Frees a server: its listeners and connections close at once (for a graceful stop, call
 * pollhttp_server_shutdown and step until pollhttp_server_is_done first). NULL: no-op. */
void pollhttp_server_free(pollhttp_server *server);

/* Connections open at once (>= 1; default 10000): at the limit new ones wait in the backlog. */
int pollhttp_server_set_max_connections(pollhttp_server *server, size_t max);

/* How long a request may wait for its response head (ms; negative: no limit; default 60000);
 * then the server answers 503 itself. */
int pollhttp_server_set_response_timeout(pollhttp_server *server, int timeout_ms);

/* Listens on TCP address (an IPv4 or IPv6 literal) and port (0: any free port); the port bound
 * goes to *bound_port (may be NULL). */
int pollhttp_server_listen(pollhttp_server *server, const char *address, uint16_t port,
                           uint16_t *bound_port);

/* Listens on the Unix-domain socket at path. */
int pollhttp_server_listen_unix(pollhttp_server *server, const char *path);

/* Gives the server a listener made by the caller (TLS from pollhttp_listener_set_tls, its own
 * config). The listener handle is taken whatever the result: do not use or free it after. */
int pollhttp_server_add_listener(pollhttp_server *server, pollhttp_listener *listener);

/* The fd to watch for readability: the server's epoll instance. It never changes: register it
 * once, level- or edge-triggered. -1 for NULL. */
int pollhttp_server_pollfd(const pollhttp_server *server);

/* What to wait for on the fd: POLLIN. */
int pollhttp_server_events(const pollhttp_server *server);

/* Milliseconds until a step is due without readiness (rounded up), 0 when work is due now,
 * -1 for none. */
int pollhttp_server_timeout(const pollhttp_server *server);

/* Does a bounded amount of the work possible now, without blocking; then call
 * pollhttp_server_try_next_request until it is not POLLHTTP_OK. A connection's failure is its
 * own: POLLHTTP_OK unless the server's own epoll instance failed. */
int pollhttp_server_step(pollhttp_server *server);

/* Blocking: waits at most timeout_ms (negative: no limit) for readiness or the server's
 * deadline, then steps: lua-http's server:step(timeout). */
int pollhttp_server_step_wait(pollhttp_server *server, int timeout_ms);

/* The next request with news: POLLHTTP_OK with its id in *request (a new request whose head is
 * in, or one handed out before with more body, room to write, or a failure); POLLHTTP_EAGAIN
 * when none has news now (that call writes the turn's answers); POLLHTTP_END once the server
 * is shut down and every connection closed. A request is handed out until it is answered. */
int pollhttp_server_try_next_request(pollhttp_server *server, uint64_t *request);

/* Graceful stop: the listeners close, every connection finishes what is in flight and closes;
 * step until pollhttp_server_is_done. */
int pollhttp_server_shutdown(pollhttp_server *server);

/* 1 once shut down with every connection closed, else 0. */
int pollhttp_server_is_done(const pollhttp_server *server);

/* Connections open now; 0 for NULL. */
size_t pollhttp_server_connections(const pollhttp_server *server);

/* ---- Requests of a server: (server, request id) ------------------------------------------ */

/* Every request call fails with POLLHTTP_ESTATE once the request is over (answered, or its
 * connection closed). */

/* Lends the request head (:method, :path, :authority, :scheme and fields) in *headers: read it
 * with pollhttp_headers_*; valid until the next call on the server or its requests; never
 * free it. */
int pollhttp_request_headers(pollhttp_server *server, uint64_t request,
                             const pollhttp_headers **headers);

/* The whole request body once it is all in: POLLHTTP_OK with *data and *len (free *data with
 * pollhttp_bytes_free; NULL for an empty body); POLLHTTP_END once taken; POLLHTTP_EAGAIN until
 * it is all in (the request is handed out again as it comes); POLLHTTP_ELIMIT (status 413 in
 * pollhttp_last_error_status) when it is longer than limit bytes. */
int pollhttp_request_try_body(pollhttp_server *server, uint64_t request, size_t limit,
                              uint8_t **data, size_t *len);

/* The next piece of the request body: POLLHTTP_OK with *data and *len (pollhttp_bytes_free),
 * POLLHTTP_END at its end, POLLHTTP_EAGAIN until more comes. */
int pollhttp_request_try_get_next_chunk(pollhttp_server *server, uint64_t request,
                                        uint8_t **data, size_t *len);

/* Answers with status, the fields of fields (NULL: none; copied) and a whole body (copied).
 * content-length is added unless fields has one; a HEAD request gets the head only. What the
 * connection cannot take now is written as room comes: the request is over for the caller. */
int pollhttp_request_respond(pollhttp_server *server, uint64_t request, int status,
                             const pollhttp_headers *fields, const uint8_t *body, size_t len);

/* Writes a response head (:status and fields) for a streamed body; end_stream != 0: no body
 * follows. Then pollhttp_request_try_write_chunk. */
int pollhttp_request_write_head(pollhttp_server *server, uint64_t request,
                                const pollhttp_headers *headers, int end_stream);

/* Writes body bytes of a streamed response (copied) without blocking; end_stream != 0 ends it.
 * POLLHTTP_EAGAIN (nothing written) while the send buffer is full: the request is handed out
 * again when there is room. */
int pollhttp_request_try_write_chunk(pollhttp_server *server, uint64_t request,
                                     const uint8_t *data, size_t len, int end_stream);

/* Gives up on the request: the stream is reset. */
int pollhttp_request_reset(pollhttp_server *server, uint64_t request);

#ifdef __cplusplus
}
#endif

#endif /* POLLHTTP_H */
