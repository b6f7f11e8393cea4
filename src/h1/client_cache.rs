//! The client's caches of repeated heads, kept in `ClientReuse` from one request to the next:
//! the last request head encoded ([`EncodedRequest`], copied as it is when the next request's
//! head is the same) and the last response head parsed ([`ParsedResponse`], taken as it is when
//! the next response's head has the same bytes), with the limits on what is kept. Plain types:
//! `send` and `recv` fill and consult them, and the core only holds them.

use super::encode::RequestSending;
use super::head::Head;
use super::reuse::KeptHead;
use crate::headers::Headers;

/// Client: the last request head encoded, copied as it is when the next request's head is
/// stored identically (a load generator or a polling client sends the same head again and
/// again; validating and encoding it each time was about a fifth of a pipelined request).
#[derive(Debug)]
pub(super) struct EncodedRequest {
    pub(super) headers: Headers,
    pub(super) minor: u8,
    pub(super) end: bool,
    pub(super) bytes: Vec<u8>,
    pub(super) req: RequestSending,
}

/// The largest encoded request head kept in `ClientReuse::last_request`.
pub(super) const ENCODED_REQUEST_KEPT: usize = 1024;

/// Client: the last response head parsed, taken as it is when the next response's head has
/// the same bytes (a server answers a repeated request with the same head, at least within
/// the second of its `Date`; parsing the head and storing its fields was about a quarter of a
/// pipelined request). What a head parses to depends only on its bytes, the request's
/// method and the configuration, which a connection keeps.
#[derive(Debug)]
pub(super) struct ParsedResponse {
    pub(super) method_head: bool,
    pub(super) method_connect: bool,
    pub(super) kept: KeptHead,
}

impl ParsedResponse {
    /// The head at the start of `buf` when it is this one (answering a request of the same
    /// kind), its fields stored in a head of `spare` when there is one; and its length.
    pub(super) fn take_if_same(
        &self,
        buf: &[u8],
        method_head: bool,
        method_connect: bool,
        spare: &mut Vec<Headers>,
    ) -> Option<(Head, usize)> {
        if self.method_head != method_head || self.method_connect != method_connect {
            return None;
        }
        self.kept
            .take_if_same(buf, || spare.pop().unwrap_or_default())
    }

    /// Remembers `head`, the `bytes` it was parsed from.
    pub(super) fn store(
        &mut self,
        bytes: &[u8],
        method_head: bool,
        method_connect: bool,
        head: &Head,
    ) {
        self.method_head = method_head;
        self.method_connect = method_connect;
        self.kept.replace(bytes, head);
    }
}

/// The largest response head kept in `ClientReuse::last_response`.
pub(super) const PARSED_RESPONSE_KEPT: usize = 1024;

/// See `KeepRule`: after this many response heads in a row that differed from the one kept,
/// a new one is kept only once in `RESPONSE_RETRY` heads (heads that never repeat cost little
/// more).
pub(super) const RESPONSE_MISSES: u32 = 2;

pub(super) const RESPONSE_RETRY: u32 = 16;
