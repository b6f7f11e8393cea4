//! The streams of a connection, after hyperium/h2's `proto/streams`: the stream record
//! (`store`, plain types that `core` uses), the table's questions by id (`lookup`),
//! receiving on them (`recv`), the application's side (`send`), the send scheduler
//! (`prioritize`) and flow-control credit (`flow_control`). All but `store` are `impl H2Core`
//! blocks over the one stream table.

mod flow_control;
mod lookup;
mod prioritize;
mod recv;
mod send;
pub(super) mod store;
