//! Request and response heads: httparse for the syntax, then the framing rules of RFC 9112
//! section 6 and the field rules of RFC 9110 that decide how a message is delimited.
//!
//! Every rejection names the rule and carries the status a server answers it with; a client
//! gets the same error as a protocol error. Nothing here allocates more than the head it
//! returns, and nothing reads past the configured limits.

use super::head::{Framing, Head};
use super::reuse::{KeepRule, KeptHead};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::headers::Headers;
use http::StatusCode;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// Field slots for httparse on the stack. A head with more fields (up to
/// `Config::max_headers`, 100 by default) is parsed again with a table on the heap: the
/// default used to allocate that 3 KiB table (too large for malloc's fast path) for every head.
const STACK_HEADERS: usize = 64;

fn strip_leading_newlines(buf: &[u8]) -> usize {
    // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
    let mut i = 0;
    while i < buf.len() && i < 8 && (buf[i] == b'\r' || buf[i] == b'\n') {
        i += 1;
    }
    i
}

/// Checks the size limits on an incomplete head: the answer when it grew too large.
fn check_partial(buf: &[u8], cfg: &Config, request: bool) -> Result<()> {
    let line_end = memchr_nl(buf);
    if request {
        match line_end {
            None if buf.len() > cfg.max_request_line => {
                return Err(Error::protocol(
                    StatusCode::URI_TOO_LONG,
                    format!("request line longer than {} bytes", cfg.max_request_line),
                ))
            }
            Some(n) if n > cfg.max_request_line => {
                return Err(Error::protocol(
                    StatusCode::URI_TOO_LONG,
                    format!("request line longer than {} bytes", cfg.max_request_line),
                ))
            }
            _ => {}
        }
    }
    if buf.len() > cfg.max_head_size {
        return Err(Error::protocol(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("header section larger than {} bytes", cfg.max_head_size),
        ));
    }
    Ok(())
}

/// Whether the request line's last token is an HTTP-version (`HTTP/` DIGIT `.` DIGIT), or
/// could still become one (the line is incomplete).
fn has_http_version(buf: &[u8]) -> bool {
    let Some(end) = memchr_nl(buf) else {
        return true;
    };
    let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
    let token = line.rsplit(|&b| b == b' ').next().unwrap_or(line);
    matches!(token, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

fn memchr_nl(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

fn httparse_error(e: httparse::Error, what: &str) -> Error {
    use httparse::Error as E;
    let (status, rule) = match e {
        E::HeaderName => (StatusCode::BAD_REQUEST, "invalid header field name (RFC 9110 5.1; no whitespace before the colon, RFC 9112 5.1)"),
        E::HeaderValue => (StatusCode::BAD_REQUEST, "invalid header field value (RFC 9110 5.5: CR, LF and NUL are not allowed; obs-fold is rejected, RFC 9112 5.2)"),
        E::NewLine => (StatusCode::BAD_REQUEST, "bare CR or malformed line ending (RFC 9112 2.2)"),
        E::Status => (StatusCode::BAD_REQUEST, "invalid status code (RFC 9112 4)"),
        E::Token => (StatusCode::BAD_REQUEST, "invalid method token (RFC 9110 9.1)"),
        E::TooManyHeaders => (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header fields"),
        E::Version => (StatusCode::HTTP_VERSION_NOT_SUPPORTED, "unsupported HTTP version (RFC 9112 2.3)"),
    };
    Error::protocol(status, format!("malformed {what}: {rule}"))
}

struct Fields {
    content_length: Option<u64>,
    chunked: bool,
    other_coding: bool,
    has_te: bool,
    conn_close: bool,
    conn_keep_alive: bool,
    conn_upgrade: bool,
    has_upgrade: bool,
    expect_continue: bool,
    expect_other: bool,
    hosts: usize,
}

fn parse_content_length(v: &[u8], prev: Option<u64>) -> Result<u64> {
    // RFC 9110 8.6: a list of identical values may be taken as one; anything else is invalid.
    let mut found = prev;
    for part in v.split(|&b| b == b',') {
        let part = trim(part);
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return Err(Error::protocol(
                StatusCode::BAD_REQUEST,
                "invalid Content-Length: not a decimal number (RFC 9110 8.6)",
            ));
        }
        let n = part.iter().fold(0u64, |n, d| n * 10 + (d - b'0') as u64);
        match found {
            Some(p) if p != n => {
                return Err(Error::protocol(
                    StatusCode::BAD_REQUEST,
                    "conflicting Content-Length values (RFC 9110 8.6)",
                ))
            }
            _ => found = Some(n),
        }
    }
    found.ok_or_else(|| {
        Error::protocol(
            StatusCode::BAD_REQUEST,
            "empty Content-Length (RFC 9110 8.6)",
        )
    })
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn tokens(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(trim).filter(|t| !t.is_empty())
}

fn scan_fields(raw: &[httparse::Header<'_>]) -> Result<Fields> {
    let mut f = Fields {
        content_length: None,
        chunked: false,
        other_coding: false,
        has_te: false,
        conn_close: false,
        conn_keep_alive: false,
        conn_upgrade: false,
        has_upgrade: false,
        expect_continue: false,
        expect_other: false,
        hosts: 0,
    };
    for h in raw {
        let name = h.name.as_bytes();
        let v = h.value;
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => f.hosts += 1,
            6 if name.eq_ignore_ascii_case(b"expect") => {
                if trim(v).eq_ignore_ascii_case(b"100-continue") {
                    f.expect_continue = true;
                } else {
                    f.expect_other = true;
                }
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => f.has_upgrade = true,
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for t in tokens(v) {
                    if t.eq_ignore_ascii_case(b"close") {
                        f.conn_close = true;
                    } else if t.eq_ignore_ascii_case(b"keep-alive") {
                        f.conn_keep_alive = true;
                    } else if t.eq_ignore_ascii_case(b"upgrade") {
                        f.conn_upgrade = true;
                    }
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                f.content_length = Some(parse_content_length(v, f.content_length)?);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                f.has_te = true;
                for t in tokens(v) {
                    if f.chunked {
                        // RFC 9112 6.1: chunked MUST NOT be applied more than once and MUST be
                        // the final coding; anything after it leaves the framing unknowable.
                        return Err(Error::protocol(
                            StatusCode::BAD_REQUEST,
                            "invalid Transfer-Encoding: a coding after chunked (RFC 9112 6.1)",
                        ));
                    }
                    if t.eq_ignore_ascii_case(b"chunked") {
                        f.chunked = true;
                    } else {
                        f.other_coding = true;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// The last request head a server connection parsed. Parsing is a function of the head's bytes
/// and the configuration, so a head that is the same bytes under the same configuration (a
/// client polling, a health check, a load generator) is taken from here instead of parsed
/// again. Heads with credentials are never kept (see `carries_credentials`).
#[derive(Debug)]
struct LastRequest {
    /// Held, so that its address cannot be taken by another configuration while kept.
    cfg: Arc<Config>,
    /// The head, and its bytes after any blank lines before it.
    kept: KeptHead,
}

/// What a server connection reuses from one request head to the next: the last head it
/// parsed, and when to keep a new one. Owned by the connection's core (dies with it), bounded
/// by `LAST_REQUEST_MAX`, and only ever compared with that connection's own later heads: one
/// connection's heads never decide how long another's take to parse.
#[derive(Debug, Default)]
pub(crate) struct RequestMemo {
    last: Option<LastRequest>,
    rule: KeepRule,
}

/// See `KeepRule`: the first misses in a row kept, then one in `KEEP_EVERY`.
const KEEP_FIRST: u32 = 8;
const KEEP_EVERY: u32 = 8;
/// Longer heads are not kept.
const LAST_REQUEST_MAX: usize = 1024;

/// The most request heads a server connection keeps to parse later heads into, and the most
/// storage of one.
pub(crate) const SPARE_REQUEST_HEADS: usize = 4;
pub(crate) const SPARE_REQUEST_HEAD_BYTES: usize = 4096;

/// Keeps a request head the application gave back (`Stream::try_get_headers_into`), cleared,
/// in `spare` for a later request: a small one, while there is room.
pub(crate) fn give_spare_request_head(spare: &mut Vec<Headers>, mut h: Headers) {
    if h.storage_bytes() <= SPARE_REQUEST_HEAD_BYTES && spare.len() < SPARE_REQUEST_HEADS {
        h.clear();
        spare.push(h);
    }
}

impl RequestMemo {
    /// The bytes of the head kept, if any.
    #[cfg(test)]
    pub(crate) fn kept_bytes(&self) -> Option<&[u8]> {
        self.last.as_ref().map(|l| l.kept.bytes())
    }
}

/// Whether a request head carries one user's credentials, which a connection does not keep
/// past the request (`Authorization`, `Proxy-Authorization`, `Cookie`).
fn carries_credentials(head: &Head) -> bool {
    head.headers
        .iter()
        .any(|f| matches!(f.name, "authorization" | "proxy-authorization" | "cookie"))
}

/// [`parse_request_into`], taking the head from the last one `memo` kept when `buf` starts
/// with the same bytes and the configuration is the same.
pub(crate) fn parse_request_reusing(
    memo: &mut RequestMemo,
    buf: &[u8],
    cfg: &Arc<Config>,
    spare: &mut Vec<Headers>,
) -> Result<Option<(Head, usize)>> {
    if !cfg.reuse_heads {
        return parse_request_into(buf, cfg, spare);
    }
    let skip = strip_leading_newlines(buf);
    let RequestMemo { last, rule } = memo;
    let taken = last
        .as_ref()
        .filter(|last| Arc::ptr_eq(&last.cfg, cfg))
        // Into a head the application gave back, when there is one.
        .and_then(|last| {
            last.kept
                .take_if_same(&buf[skip..], || spare.pop().unwrap_or_default())
        });
    if let Some((head, n)) = taken {
        rule.hit();
        return Ok(Some((head, skip + n)));
    }
    let parsed = parse_request_into(buf, cfg, spare)?;
    if let Some((head, n)) = &parsed {
        let bytes = &buf[skip..*n];
        if rule.keep_after_miss(KEEP_FIRST, KEEP_EVERY)
            && bytes.len() <= LAST_REQUEST_MAX
            && !carries_credentials(head)
        {
            *last = Some(LastRequest {
                cfg: cfg.clone(),
                kept: KeptHead::new(bytes, head),
            });
        }
    }
    Ok(parsed)
}

/// Parses a request head at the start of `buf`. `Ok(None)`: not complete yet (and within the
/// limits); `Ok(Some((head, n)))`: complete, `n` bytes consumed.
pub(crate) fn parse_request(buf: &[u8], cfg: &Config) -> Result<Option<(Head, usize)>> {
    parse_request_into(buf, cfg, &mut Vec::new())
}

/// [`parse_request`], the fields stored in a head of `spare` (heads given back) when there is
/// one.
pub(crate) fn parse_request_into(
    buf: &[u8],
    cfg: &Config,
    spare: &mut Vec<Headers>,
) -> Result<Option<(Head, usize)>> {
    let skip = strip_leading_newlines(buf);
    let buf = &buf[skip..];
    if buf.is_empty() {
        return Ok(None);
    }
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut heap;
    let mut req = httparse::Request::new(&mut []);
    let mut parsed =
        req.parse_with_uninit_headers(buf, &mut stack[..cfg.max_headers.min(STACK_HEADERS)]);
    if parsed == Err(httparse::Error::TooManyHeaders) && cfg.max_headers > STACK_HEADERS {
        // See `STACK_HEADERS`: only a head with that many fields pays for the larger table.
        heap = vec![MaybeUninit::uninit(); cfg.max_headers];
        req = httparse::Request::new(&mut []);
        parsed = req.parse_with_uninit_headers(buf, &mut heap);
    }
    let n = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            check_partial(buf, cfg, true)?;
            return Ok(None);
        }
        // Not even an HTTP-version where one belongs, or a broken HTTP/2 preface: RFC 9112 3
        // lets a server close without answering, and RFC 9113 3.4 makes a bad preface a
        // connection error; a client that does not speak HTTP/1 understands a close.
        Err(httparse::Error::Version) if !has_http_version(buf) || buf.starts_with(b"PRI * ") => {
            return Err(Error::protocol_no_answer(
                "malformed request line: no HTTP-version (RFC 9112 3); closing without an answer",
            ))
        }
        // Malformed is malformed, whatever follows it in the buffer.
        Err(e) => return Err(httparse_error(e, "request head")),
    };
    if n > cfg.max_head_size {
        return Err(Error::protocol(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("header section larger than {} bytes", cfg.max_head_size),
        ));
    }
    let line_len = memchr_nl(buf).unwrap_or(n);
    if line_len > cfg.max_request_line {
        return Err(Error::protocol(
            StatusCode::URI_TOO_LONG,
            format!("request line longer than {} bytes", cfg.max_request_line),
        ));
    }
    let method = req.method.unwrap_or("GET");
    let target = req.path.unwrap_or("/");
    let minor = req.version.unwrap_or(1);
    let is_connect = method == "CONNECT";
    // The pseudo-headers: `:method`, then `:path` (not for CONNECT), then `:authority` (from
    // the target when it is in authority or absolute form, else from Host).
    let mut authority: Option<&str> = None;
    let path = if is_connect {
        // RFC 9112 3.2.3: CONNECT uses the authority-form and nothing else.
        if target.starts_with('/') || target.contains("://") || target == "*" {
            return Err(Error::protocol(
                StatusCode::BAD_REQUEST,
                "CONNECT needs an authority-form target (RFC 9112 3.2.3)",
            ));
        }
        authority = Some(target);
        None
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        // Absolute-form: the target's authority replaces Host (RFC 9112 3.2.2).
        let slash = rest.find('/').unwrap_or(rest.len());
        authority = Some(&rest[..slash]);
        Some(if slash == rest.len() {
            "/"
        } else {
            &rest[slash..]
        })
    } else if target.starts_with('/') || (target == "*" && method == "OPTIONS") {
        Some(target)
    } else {
        return Err(Error::protocol(
            StatusCode::BAD_REQUEST,
            "request target is not in origin, absolute, authority or asterisk form (RFC 9112 3.2)",
        ));
    };
    let authority = authority.map(str::as_bytes).or_else(|| {
        req.headers
            .iter()
            .find(|h| h.name.len() == 4 && h.name.eq_ignore_ascii_case("host"))
            .map(|h| h.value)
    });
    let mut pseudo: [(&str, &[u8]); 3] = [(":method", method.as_bytes()), ("", b""), ("", b"")];
    let mut np = 1;
    if let Some(p) = path {
        pseudo[np] = (":path", p.as_bytes());
        np += 1;
    }
    if let Some(a) = authority {
        pseudo[np] = (":authority", a);
        np += 1;
    }
    let pseudo = &pseudo[..np];
    // Into a head an application gave back, when there is one.
    let spare = spare.pop().unwrap_or_default();
    let received = Headers::from_received(spare, &buf[..n], pseudo, req.headers);
    let headers = received.unwrap_or_else(|| {
        let bytes = pseudo.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + req
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.len())
                .sum::<usize>();
        let mut h = Headers::with_capacity(req.headers.len() + np, bytes);
        for (k, v) in pseudo {
            h.append(k, v);
        }
        for f in req.headers.iter() {
            h.append_raw(f.name, f.value);
        }
        h
    });
    let f = scan_fields(req.headers)?;
    if minor == 1 && f.hosts == 0 {
        return Err(Error::protocol(
            StatusCode::BAD_REQUEST,
            "HTTP/1.1 request without a Host field (RFC 9112 3.2)",
        ));
    }
    if f.hosts > 1 {
        return Err(Error::protocol(
            StatusCode::BAD_REQUEST,
            "request with more than one Host field (RFC 9112 3.2)",
        ));
    }
    if f.expect_other {
        return Err(Error::protocol(
            StatusCode::EXPECTATION_FAILED,
            "unsupported Expect value (RFC 9110 10.1.1)",
        ));
    }
    let framing = if f.has_te {
        if minor == 0 {
            // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
            return Err(Error::protocol(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1)",
            ));
        }
        if f.content_length.is_some() {
            return Err(Error::protocol(
                StatusCode::BAD_REQUEST,
                "request with both Content-Length and Transfer-Encoding (RFC 9112 6.1)",
            ));
        }
        if f.other_coding {
            return Err(Error::protocol(
                StatusCode::NOT_IMPLEMENTED,
                "unsupported transfer coding: only chunked is implemented (RFC 9112 6.1)",
            ));
        }
        if !f.chunked {
            return Err(Error::protocol(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding without chunked as the final coding (RFC 9112 6.3)",
            ));
        }
        Framing::Chunked
    } else {
        match f.content_length {
            Some(0) | None => Framing::Empty,
            Some(n) => Framing::Length(n),
        }
    };
    let keep_alive = if minor == 0 {
        f.conn_keep_alive && !f.conn_close
    } else {
        !f.conn_close
    };
    let upgrade = f.has_upgrade && f.conn_upgrade && minor == 1;
    let framing = if is_connect { Framing::Empty } else { framing };
    Ok(Some((
        Head {
            headers,
            minor,
            framing,
            keep_alive,
            expect_continue: f.expect_continue && minor == 1,
            upgrade,
            status: 0,
            method_head: method == "HEAD",
            method_connect: is_connect,
        },
        n + skip,
    )))
}

/// Parses a response head. `method_head` and `method_connect` say what the request was, which
/// decides whether the response has a body (RFC 9112 6.3).
pub(crate) fn parse_response(
    buf: &[u8],
    cfg: &Config,
    method_head: bool,
    method_connect: bool,
    spare: &mut Vec<Headers>,
) -> Result<Option<(Head, usize)>> {
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut heap;
    let mut res = httparse::Response::new(&mut []);
    let parser = httparse::ParserConfig::default();
    let mut parsed = parser.parse_response_with_uninit_headers(
        &mut res,
        buf,
        &mut stack[..cfg.max_headers.min(STACK_HEADERS)],
    );
    if parsed == Err(httparse::Error::TooManyHeaders) && cfg.max_headers > STACK_HEADERS {
        // See `STACK_HEADERS`.
        heap = vec![MaybeUninit::uninit(); cfg.max_headers];
        res = httparse::Response::new(&mut []);
        parsed = parser.parse_response_with_uninit_headers(&mut res, buf, &mut heap);
    }
    let n = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            check_partial(buf, cfg, false)?;
            return Ok(None);
        }
        Err(e) => return Err(httparse_error(e, "response head")),
    };
    if n > cfg.max_head_size {
        return Err(Error::protocol(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "response header section larger than {} bytes",
                cfg.max_head_size
            ),
        ));
    }
    let status = res.code.unwrap_or(0);
    if !(100..=999).contains(&status) {
        return Err(Error::protocol(
            StatusCode::BAD_REQUEST,
            "invalid status code (RFC 9112 4)",
        ));
    }
    let minor = res.version.unwrap_or(1);
    // A head the application gave back (cleared) holds the fields in its storage.
    let mut headers = spare
        .pop()
        .unwrap_or_else(|| Headers::with_capacity(res.headers.len() + 1, n));
    headers.append(":status", itoa3(status));
    for h in res.headers.iter() {
        headers.append_raw(h.name, h.value);
    }
    let f = scan_fields(res.headers)?;
    let framing = if (100..200).contains(&status) {
        if status == 101 {
            Framing::Tunnel
        } else {
            Framing::Empty
        }
    } else if method_connect && (200..300).contains(&status) {
        Framing::Tunnel
    } else if method_head || status == 204 || status == 304 {
        Framing::Empty
    } else if f.has_te {
        // RFC 9112 6.3: a final chunked coding wins over Content-Length; any other final
        // coding means the body runs until the connection closes.
        if f.chunked {
            Framing::Chunked
        } else {
            Framing::Close
        }
    } else {
        match f.content_length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    let keep_alive = match framing {
        Framing::Close => false,
        _ if f.has_te && f.content_length.is_some() => false,
        _ if minor == 0 => f.conn_keep_alive && !f.conn_close,
        _ => !f.conn_close,
    };
    Ok(Some((
        Head {
            headers,
            minor,
            framing,
            keep_alive,
            expect_continue: false,
            upgrade: status == 101,
            status,
            method_head: false,
            method_connect: false,
        },
        n,
    )))
}

fn itoa3(n: u16) -> [u8; 3] {
    [
        b'0' + (n / 100 % 10) as u8,
        b'0' + (n / 10 % 10) as u8,
        b'0' + (n % 10) as u8,
    ]
}

#[cfg(test)]
mod tests;
