//! The sans-IO HTTP/2 core (RFC 9113, with HPACK from RFC 7541 in `h2-codec-lite`).
//!
//! [`H2Core`] sits where the HTTP/1 core sits in the flow: the transport hands it received
//! bytes and the time, it hands back bytes to write, stream events and deadlines, and it has
//! the HTTP/1 core's method names and meanings so the connection face dispatches to either
//! with one `match`. Its parts:
//!
//! * `core`: the connection: the struct, its constructors, the face's surface, received
//!   bytes and frame dispatch, connection and stream errors;
//! * `on_settings`, `ping`, `goaway` (graceful shutdown), `flood` (abuse counters), `push`:
//!   one control concern each, as `impl H2Core` blocks;
//! * `settings`: what we advertise, the peer's settings and the `HTTP2-Settings` payload
//!   (plain types and functions, no `H2Core`);
//! * `timer`: the timer table, every deadline kind, and the keep-alive PING data (no
//!   `H2Core`); `deadlines`: each kind given its rule and fired in one place;
//! * `streams`: the stream record (`store`), the table's questions by id (`lookup`),
//!   receiving (`recv`), the application's side (`send`), the send scheduler (`prioritize`)
//!   and flow-control credit (`flow_control`);
//!
//! `core` imports only leaves (`settings`, `timer`, `streams::store`, ...) for the types of
//! `H2Core`; the files of `impl H2Core` blocks import `core`, and `core` reaches their
//! methods through `self` without importing them, so the file graph has no cycle.
//! * `state`: the stream state machine of §5.1, every transition in one table;
//! * `head`: the checks on received heads (§8.2, §8.3) and the encoding of outgoing ones;
//! * `flow`: flow-control windows and the flood counters;
//! * `config`: what we advertise and the limits we enforce ([`H2Config`]).
//!
//! ## How HTTP/2 starts
//!
//! * ALPN `h2` or prior knowledge: `H2Core::new`. A client queues the preface and its
//!   SETTINGS at once; a server queues its SETTINGS and expects the client preface
//!   (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) as the first bytes, then a SETTINGS frame.
//! * `Upgrade: h2c` (HTTP/1.1, cleartext). The HTTP/1 core parses the request, its body and
//!   the `HTTP2-Settings` field; the face answers `101 Switching Protocols` and hands the
//!   connection over to a constructor `H2Core::from_h1_upgrade(request head, request body,
//!   HTTP2-Settings payload)`. That constructor builds a server core as `new` does, applies
//!   the decoded `HTTP2-Settings` as the client's first SETTINGS (the 101 acknowledges them,
//!   so no ACK is sent), and creates stream 1 in the half-closed (remote) state (RFC 7540
//!   §3.2): its head and body are already in its `RecvSide`, `recv.end` is set, it is in
//!   `incoming`, and the last peer stream id is 1. The application answers on stream 1 as on
//!   any HTTP/2 stream. The client preface is still expected as the first bytes after the
//!   101, so the preface check stays in force. A client upgrades symmetrically: stream 1 is
//!   half-closed (local) and its response arrives on it. RFC 9113 §3.1 deprecates the
//!   upgrade; it is offered because lua-http users asked for it.

mod config;
mod core;
mod deadlines;
mod flood;
mod flow;
mod goaway;
mod head;
mod on_settings;
mod ping;
mod push;
mod settings;
mod state;
mod streams;
#[cfg(test)]
mod tests;
mod timer;
pub(crate) mod upgrade;

pub(crate) use self::config::H2Config;
pub(crate) use self::core::{H2Core, PREFACE};
