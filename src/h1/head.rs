//! A parsed HTTP/1 head and how its message body is delimited: what the parser produces and
//! the reuse, encoding and core modules consume.

use crate::headers::Headers;

/// How a message body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (responses only).
    Close,
    /// The connection is handed over (101 Switching Protocols, 2xx to CONNECT).
    Tunnel,
}

impl Framing {
    /// The framing a declared Content-Length of `n` makes: no body for 0.
    pub(crate) fn of_length(n: u64) -> Framing {
        if n == 0 {
            Framing::Empty
        } else {
            Framing::Length(n)
        }
    }
}

/// A parsed head with what the protocol core needs to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub headers: Headers,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub framing: Framing,
    /// Whether the connection may carry another message after this one.
    pub keep_alive: bool,
    /// The request asked `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The request asked to upgrade the protocol (Upgrade + Connection: upgrade).
    pub upgrade: bool,
    /// Status of a response (0 for requests).
    pub status: u16,
    /// A request's method is HEAD.
    pub method_head: bool,
    /// A request's method is CONNECT.
    pub method_connect: bool,
}

impl Head {
    /// A copy whose fields are stored in `storage` (a head given back, or an empty one).
    pub(crate) fn copy_into(&self, mut storage: Headers) -> Head {
        storage.copy_from(&self.headers);
        Head {
            headers: storage,
            minor: self.minor,
            framing: self.framing,
            keep_alive: self.keep_alive,
            expect_continue: self.expect_continue,
            upgrade: self.upgrade,
            status: self.status,
            method_head: self.method_head,
            method_connect: self.method_connect,
        }
    }
}
