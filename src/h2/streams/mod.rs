//! The streams of a connection, after hyperium/h2's `proto/streams`: the record and the
//! table of streams (`store`), receiving on them (`recv`), the application's side
//! (`send`), the send scheduler (`prioritize`) and flow-control credit (`flow_control`).
//! Each is an `impl H2Core` block over the one stream table.

mod flow_control;
mod prioritize;
mod recv;
mod send;
pub(super) mod store;
