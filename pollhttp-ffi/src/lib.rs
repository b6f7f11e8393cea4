//! The C ABI: pollhttp as a C library (`libpollhttp.so` / `libpollhttp.a`, header
//! `include/pollhttp.h`), for C reactors that own their event loop.
//!
//! It is a thin layer over the Rust API and adds no behaviour of its own. Handles are opaque:
//! a [`pollhttp_listener`], a [`pollhttp_conn`] (a [`Connection`](crate::Connection)), a
//! [`pollhttp_headers`] (a [`Headers`](crate::Headers) list); the settings a listener or client
//! is made with, a [`pollhttp_config`] (a [`Config`](crate::Config)), a [`pollhttp_tls_client`]
//! and a [`pollhttp_tls_server`] (rustls settings), each copied by the call that takes it; and a
//! [`pollhttp_tls_info`], a snapshot of a TLS session that owns the strings it hands out. A
//! stream is named by its connection and its 64-bit id, because a Rust
//! [`Stream`](crate::Stream) only lives as long as a borrow of its connection; the same pair
//! works for HTTP/1 and HTTP/2 streams alike.
//!
//! Conventions, the same for every function (the header repeats them next to each one):
//! - Calls that can fail return an `int` status: [`POLLHTTP_OK`] (0), [`POLLHTTP_END`] (1,
//!   not an error: "nothing more", e.g. the end of a body), or a negative error code, one per
//!   [`ErrorKind`](crate::ErrorKind) ([`POLLHTTP_EAGAIN`] is "would block / not yet": step the
//!   connection and try again), plus [`POLLHTTP_ERANGE`], [`POLLHTTP_EPANIC`] and
//!   [`POLLHTTP_EOTHER`].
//! - A failed call leaves lua-http's `(nil, message, errno)` in per-thread storage:
//!   [`pollhttp_last_error_code`], [`pollhttp_last_error_message`], [`pollhttp_last_errno`].
//!   A successful call leaves it as it was, like C's `errno`.
//! - No Rust panic crosses the boundary: each body runs under `catch_unwind`, and a panic
//!   becomes [`POLLHTTP_EPANIC`] (the handle involved is then in an unspecified but memory-safe
//!   state: free it).
//! - Every pointer argument is checked: NULL where a value is required is
//!   [`POLLHTTP_EINVAL`] (or a NULL / -1 result for calls that return a pointer or an fd),
//!   never a crash. A non-NULL pointer must be valid as documented: that is the caller's part.
//! - Timeouts are `int` milliseconds; a negative value means no limit.
//! - Handles are not thread-safe: use one from one thread at a time (they may move between
//!   threads). The last error is per thread.
//!
//! The files: `boundary` holds what every call shares (status codes, the last error, the
//! panic guard, NULL checks, argument readers and the helpers that hand results to C); then one
//! file per object: `config`, `tls` (client and server settings, session details), `listener`,
//! `conn`, `stream` and `headers`. Every item C sees is re-exported here, at the crate root.
//!
//! This crate is the C library only (a `cdylib` and a `staticlib`, named `pollhttp` like the
//! Rust library it depends on, so that the files are `libpollhttp.a` and `libpollhttp.so`): a
//! Rust program depends on `pollhttp` and never builds it. It uses the Rust library's public
//! API and nothing else.

#![allow(non_camel_case_types)]

// The Rust API under the names the files use (`crate::Connection`, ...; they were a module of
// the Rust library once). `pollhttp::NAME` is the Rust library, `crate::NAME` the C ABI.
use pollhttp::{
    ClientOptions, Config, Connection, Error, ErrorKind, Headers, Idle, IdleHandler, Listener,
    Role, SockName, StatusCode, Stream, StreamId, StreamState, Target, TlsClientConfig, TlsInfo,
    TlsServerConfig, Watch, Watcher,
};

// `boundary` turns C's raw pointers into references: each of its unsafe operations has a block
// and a `// SAFETY:` comment. The object files' exported functions are `unsafe fn`s whose
// `# Safety` section is the contract their bodies rely on when they hand C's pointers to the
// boundary's readers; a block around each such call would repeat that contract line by line,
// so they may call them without one. Their other unsafe operations still have blocks and
// comments.
mod boundary;
#[allow(unsafe_op_in_unsafe_fn)]
mod config;
#[allow(unsafe_op_in_unsafe_fn)]
mod conn;
#[allow(unsafe_op_in_unsafe_fn)]
mod headers;
#[allow(unsafe_op_in_unsafe_fn)]
mod listener;
#[allow(unsafe_op_in_unsafe_fn)]
mod server;
#[allow(unsafe_op_in_unsafe_fn)]
mod stream;
#[allow(unsafe_op_in_unsafe_fn)]
mod tls;

pub use boundary::*;
pub use config::*;
pub use conn::*;
pub use headers::*;
pub use listener::*;
pub use server::*;
pub use stream::*;
pub use tls::*;

#[cfg(test)]
mod tests;
// The ABI as C sees it, the header in sync, the C example against curl: see its first lines.
// A unit test because nothing can link this crate as Rust (`autotests = false` in Cargo.toml).
#[cfg(test)]
#[path = "../tests/c_abi.rs"]
mod c_abi;
// examples/proxy.c between curl, nghttp, h2load, Python's h2 and an upstream: see its first
// lines.
#[cfg(test)]
#[path = "../tests/c_proxy.rs"]
mod c_proxy;
