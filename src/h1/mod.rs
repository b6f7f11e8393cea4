//! The sans-IO HTTP/1.0 and HTTP/1.1 core: head parsing (httparse plus the framing rules of
//! RFC 9112), the chunked coding, head encoding, and the connection state machine of both roles.

pub(crate) mod chunked;
mod client_cache;
pub(crate) mod core;
mod deadlines;
mod done;
pub(crate) mod encode;
pub(crate) mod head;
pub(crate) mod parse;
mod queue;
mod recv;
pub(crate) mod reuse;
mod send;
mod state;
mod streams;
mod timer;
