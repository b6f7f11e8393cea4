//! Writing request and response heads, choosing how the body that follows is delimited.
//!
//! The caller's [`Headers`] are checked before anything is written (a name must be a token, a
//! value must not hold CR, LF or NUL: RFC 9110 5.1 and 5.5), so nothing the application passes
//! can split a message or inject a field.

use super::head::Framing;
use super::reuse::KeepRule;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::{fmt_u64, has_cr_lf_nul, itoa_buf, Headers};

/// How the body after a head we wrote is delimited, and whether the connection stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sending {
    pub framing: Framing,
    pub keep_alive: bool,
}

/// The bytes of a token (RFC 9110 5.6.2), as a table: a head's names are checked byte by
/// byte on every message.
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// Checks that a field can be sent as it is.
pub(crate) fn check_field(name: &str, value: &[u8]) -> Result<()> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid header field name {name:?} (RFC 9110 5.1)"),
        ));
    }
    if has_cr_lf_nul(value) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("header field {name:?} has CR, LF or NUL in its value (RFC 9110 5.5)"),
        ));
    }
    Ok(())
}

fn put_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn parse_length(v: &[u8]) -> Result<u64> {
    if !v.is_empty() && v.len() <= 19 && v.iter().all(u8::is_ascii_digit) {
        Ok(v.iter().fold(0u64, |n, d| n * 10 + (d - b'0') as u64))
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            "invalid content-length in the head to send",
        ))
    }
}

fn has_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// What a server knows of the request it is answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestInfo {
    pub minor: u8,
    pub head: bool,
    pub connect: bool,
    pub keep_alive: bool,
}

/// The last response head a server connection encoded, and what it was encoded from: a
/// connection that answers with the same head again (same fields, same request properties, same
/// second) gets a copy of its bytes. Owned by the connection's core (dies with it), bounded by
/// `LAST_RESPONSE_MAX` and `LAST_RESPONSE_STORAGE_MAX`, and only ever compared with that
/// connection's own later heads. Heads with a sensitive field or `set-cookie` (one user's
/// secrets) are never kept.
#[derive(Debug, Default)]
pub(crate) struct LastResponse {
    head: Headers,
    req: Option<RequestInfo>,
    end: bool,
    date: [u8; 29],
    bytes: Vec<u8>,
    sending: Option<Sending>,
    /// When to remember a new head (a server whose heads all differ, a length that varies
    /// say, does not pay for a copy on every answer).
    rule: KeepRule,
}

/// See `KeepRule`: the first misses in a row remembered, then one in `KEEP_EVERY`.
const KEEP_FIRST: u32 = 8;
const KEEP_EVERY: u32 = 8;
/// Heads longer than this are not remembered (the copy would cost more than it saves).
const LAST_RESPONSE_MAX: usize = 1024;
/// Nor heads whose storage is larger than this (a head edited many times holds dead bytes).
const LAST_RESPONSE_STORAGE_MAX: usize = 4096;

impl LastResponse {
    /// Whether a head is kept.
    #[cfg(test)]
    pub(crate) fn keeps_a_head(&self) -> bool {
        self.sending.is_some()
    }
}

/// [`response_head`], copied from the last head `last` kept when that one was encoded from the
/// same fields, request properties and date.
pub(crate) fn response_head_reusing(
    last: &mut LastResponse,
    out: &mut Vec<u8>,
    h: &Headers,
    req: RequestInfo,
    end: bool,
    date: &[u8; 29],
) -> Result<Sending> {
    if let Some(sending) = last.sending {
        if last.req == Some(req)
            && last.end == end
            && last.date == *date
            && last.head.same_storage(h)
        {
            last.rule.hit();
            out.extend_from_slice(&last.bytes);
            return Ok(sending);
        }
    }
    let start = out.len();
    let sending = response_head(out, h, req, end, date)?;
    if last.rule.keep_after_miss(KEEP_FIRST, KEEP_EVERY)
        && out.len() - start <= LAST_RESPONSE_MAX
        && h.storage_bytes() <= LAST_RESPONSE_STORAGE_MAX
        && !h.iter().any(|f| f.sensitive || f.name == "set-cookie")
    {
        last.head.copy_from(h);
        last.req = Some(req);
        last.end = end;
        last.date = *date;
        last.bytes.clear();
        last.bytes.extend_from_slice(&out[start..]);
        last.sending = Some(sending);
    }
    Ok(sending)
}

/// Writes a response head for a request described by `req`. `end` says no body follows.
/// Interim (1xx) responses return `Framing::Empty` and leave the exchange open.
pub(crate) fn response_head(
    out: &mut Vec<u8>,
    h: &Headers,
    req: RequestInfo,
    end: bool,
    date: &[u8],
) -> Result<Sending> {
    // One pass over the fields: validate, and find what decides the framing.
    let mut status = None;
    let mut declared = None;
    let mut close = false;
    let mut has_date = false;
    for f in h.iter() {
        match f.name {
            ":status" => status = Headers::parse_status(f.value),
            n if n.starts_with(':') => {}
            n => {
                check_field(n, f.value)?;
                match n {
                    "content-length" if declared.is_none() => {
                        declared = Some(parse_length(f.value)?)
                    }
                    "connection" => close |= has_token(f.value, b"close"),
                    "date" => has_date = true,
                    _ => {}
                }
            }
        }
    }
    let status = status.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            "a response head needs a valid :status",
        )
    })?;
    if !(100..=999).contains(&status) {
        return Err(Error::new(ErrorKind::InvalidInput, "status out of range"));
    }
    let mut keep_alive = req.keep_alive && !close;
    let interim = (100..200).contains(&status) && status != 101;
    let no_body = interim || status == 204 || status == 304 || status == 101;
    let framing = if status == 101 || (req.connect && (200..300).contains(&status)) {
        Framing::Tunnel
    } else if no_body || req.head {
        Framing::Empty
    } else if let Some(n) = declared {
        Framing::of_length(n)
    } else if end {
        Framing::Empty
    } else if req.minor >= 1 {
        Framing::Chunked
    } else {
        keep_alive = false;
        Framing::Close
    };
    status_line(out, req.minor, status);
    for f in h.iter().filter(|f| !f.name.starts_with(':')) {
        match f.name {
            // Connection-level fields are ours to write.
            "connection" | "keep-alive" | "transfer-encoding" if !interim => continue,
            "content-length" if no_body && status != 304 => continue,
            _ => {}
        }
        put_field(out, f.name, f.value);
    }
    if !interim {
        if !has_date && date.first().is_some_and(|&b| b != 0) {
            put_field(out, "date", date);
        }
        match framing {
            Framing::Chunked => put_field(out, "transfer-encoding", b"chunked"),
            Framing::Empty if end && declared.is_none() && !no_body && !req.head => {
                put_field(out, "content-length", b"0")
            }
            _ => {}
        }
        if status == 101 {
            put_field(out, "connection", b"upgrade");
        } else if !keep_alive {
            put_field(out, "connection", b"close");
        } else if req.minor == 0 {
            put_field(out, "connection", b"keep-alive");
        }
    }
    out.extend_from_slice(b"\r\n");
    Ok(Sending {
        framing,
        keep_alive,
    })
}

/// `HTTP/1.x NNN Reason\r\n`; the usual answer is one copy.
fn status_line(out: &mut Vec<u8>, minor: u8, status: u16) {
    if status == 200 {
        out.extend_from_slice(if minor == 0 {
            b"HTTP/1.0 200 OK\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\n"
        });
        return;
    }
    out.extend_from_slice(if minor == 0 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    let mut b = itoa_buf();
    out.extend_from_slice(fmt_u64(&mut b, status as u64).as_bytes());
    out.push(b' ');
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes a request head. `minor` is the HTTP/1 minor version to speak; `end` says no body
/// follows; `default_authority` is the `Host` of a head that names none (neither `:authority`
/// nor `host`): the connection's target (RFC 9112 §3.2: a client sends Host in every
/// HTTP/1.1 request).
pub(crate) fn request_head(
    out: &mut Vec<u8>,
    h: &Headers,
    minor: u8,
    end: bool,
    default_authority: Option<&str>,
) -> Result<RequestSending> {
    // One pass over the fields: validate, and find what decides the framing.
    let (mut method, mut path, mut authority) = (None, None, None);
    let (mut has_host, mut declared, mut te_chunked) = (false, None, false);
    let (mut close, mut keep_alive_token, mut expect_continue) = (false, false, false);
    for f in h.iter() {
        if let Some(pseudo) = f.name.strip_prefix(':') {
            if has_cr_lf_nul(f.value) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "CR, LF or NUL in a pseudo-header",
                ));
            }
            match pseudo {
                "method" => method = f.value_str(),
                "path" => path = f.value_str(),
                "authority" => authority = f.value_str(),
                _ => {}
            }
            continue;
        }
        check_field(f.name, f.value)?;
        match f.name {
            "host" => has_host = true,
            "content-length" if declared.is_none() => declared = Some(parse_length(f.value)?),
            "transfer-encoding" => te_chunked |= has_token(f.value, b"chunked"),
            "connection" => {
                close |= has_token(f.value, b"close");
                keep_alive_token |= has_token(f.value, b"keep-alive");
            }
            "expect" => expect_continue |= f.value.eq_ignore_ascii_case(b"100-continue"),
            _ => {}
        }
    }
    let method = method
        .filter(|m| !m.is_empty() && m.bytes().all(is_tchar))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "a request head needs a valid :method",
            )
        })?;
    let connect = method == "CONNECT";
    let target = if connect { authority } else { path }
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b > 0x20 && b != 0x7f))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "a request head needs a valid :path (or :authority for CONNECT)",
            )
        })?;
    let framing = if let Some(n) = declared {
        Framing::of_length(n)
    } else if end {
        Framing::Empty
    } else if connect {
        Framing::Tunnel
    } else if minor >= 1 || te_chunked {
        Framing::Chunked
    } else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "an HTTP/1.0 request body needs a content-length",
        ));
    };
    let keep_alive = if minor == 0 { keep_alive_token } else { !close };
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(if minor == 0 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    if !has_host {
        if let Some(a) = authority.or(default_authority) {
            put_field(out, "host", a.as_bytes());
        }
    }
    for f in h.iter().filter(|f| !f.name.starts_with(':')) {
        if f.name == "transfer-encoding" {
            continue;
        }
        put_field(out, f.name, f.value);
    }
    if framing == Framing::Chunked {
        put_field(out, "transfer-encoding", b"chunked");
    } else if framing == Framing::Empty
        && declared.is_none()
        && matches!(method, "POST" | "PUT" | "PATCH")
    {
        // RFC 9110 8.6: a user agent SHOULD send Content-Length when a request that has a
        // body by meaning has none, so the server does not wait for one.
        put_field(out, "content-length", b"0");
    }
    out.extend_from_slice(b"\r\n");
    Ok(RequestSending {
        sending: Sending {
            framing,
            keep_alive,
        },
        head: method == "HEAD",
        connect,
        expect_continue,
    })
}

/// A request head written: its framing, and what the core must remember of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSending {
    pub sending: Sending,
    pub head: bool,
    pub connect: bool,
    pub expect_continue: bool,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use http::{Method, StatusCode};

    fn info(minor: u8) -> RequestInfo {
        RequestInfo {
            minor,
            head: false,
            connect: false,
            keep_alive: true,
        }
    }

    /// The response head of a bare `status` (no fields, no Date) for `req`: the bytes, and
    /// the framing chosen.
    fn bare_head(status: StatusCode, req: RequestInfo, end: bool) -> (Vec<u8>, Sending) {
        let mut out = Vec::new();
        let s = response_head(&mut out, &Headers::response(status), req, end, b"").unwrap();
        (out, s)
    }

    #[test]
    fn response_heads_with_a_cookie_or_a_sensitive_field_are_not_kept() {
        let mut last = LastResponse::default();
        let date = *b"Tue, 24 Nov 2026 14:00:00 GMT";
        let mut cookie = Headers::response(StatusCode::OK);
        cookie.append("set-cookie", "session=secret");
        let mut sensitive = Headers::response(StatusCode::OK);
        sensitive.append_sensitive("x-token", "secret");
        for h in [&cookie, &sensitive] {
            let mut fresh = Vec::new();
            response_head(&mut fresh, h, info(1), true, &date).unwrap();
            for _ in 0..2 {
                let mut out = Vec::new();
                response_head_reusing(&mut last, &mut out, h, info(1), true, &date).unwrap();
                assert_eq!(out, fresh);
            }
            assert!(!last.keeps_a_head());
        }
        response_head_reusing(
            &mut last,
            &mut Vec::new(),
            &Headers::response(StatusCode::OK),
            info(1),
            true,
            &date,
        )
        .unwrap();
        assert!(last.keeps_a_head());
    }

    #[test]
    fn a_repeated_response_head_is_copied_and_any_change_is_encoded_afresh() {
        let last = std::cell::RefCell::new(LastResponse::default());
        let date_a = *b"Tue, 24 Nov 2026 14:00:00 GMT";
        let date_b = *b"Tue, 24 Nov 2026 14:00:01 GMT";
        let head = |len: &str| {
            let mut h = Headers::response(StatusCode::OK);
            h.append("content-type", "text/plain");
            h.append("content-length", len);
            h
        };
        let fresh = |h: &Headers, req: RequestInfo, end: bool, date: &[u8; 29]| {
            let mut out = Vec::new();
            let s = response_head(&mut out, h, req, end, date).unwrap();
            (out, s)
        };
        let reusing = |h: &Headers, req: RequestInfo, end: bool, date: &[u8; 29]| {
            let mut out = b"before".to_vec();
            let s =
                response_head_reusing(&mut last.borrow_mut(), &mut out, h, req, end, date).unwrap();
            assert!(out.starts_with(b"before"));
            (out[6..].to_vec(), s)
        };
        let head_req = RequestInfo {
            head: true,
            ..info(1)
        };
        let closing = RequestInfo {
            keep_alive: false,
            ..info(1)
        };
        // Twice each (the second is a copy), and every change of an input in between.
        let steps = [
            (head("5"), info(1), false, date_a),
            (head("5"), info(1), false, date_a),
            (head("6"), info(1), false, date_a),
            (head("6"), info(0), false, date_a),
            (head("6"), head_req, false, date_a),
            (head("6"), closing, false, date_a),
            (head("6"), closing, true, date_a),
            (head("6"), closing, true, date_b),
            (head("6"), closing, true, date_b),
            (
                Headers::response(StatusCode::NOT_FOUND),
                info(1),
                true,
                date_b,
            ),
            (
                Headers::response(StatusCode::NOT_FOUND),
                info(1),
                true,
                date_b,
            ),
        ];
        for (h, req, end, date) in &steps {
            assert_eq!(reusing(h, *req, *end, date), fresh(h, *req, *end, date));
        }
        // A head that fails is an error each time, and does not disturb what is remembered.
        let mut bad = head("5");
        bad.append("bad name", "x");
        for _ in 0..2 {
            let mut last = last.borrow_mut();
            let r =
                response_head_reusing(&mut last, &mut Vec::new(), &bad, info(1), false, &date_a);
            assert!(r.is_err());
        }
        let (h, req, end, date) = &steps[10];
        assert_eq!(reusing(h, *req, *end, date), fresh(h, *req, *end, date));
        // Many different heads in a row (a length that varies): every answer is still right.
        for n in 0..40 {
            let h = head(&n.to_string());
            assert_eq!(
                reusing(&h, info(1), false, &date_a),
                fresh(&h, info(1), false, &date_a)
            );
        }
    }

    #[test]
    fn response_with_end_gets_content_length_zero() {
        let (out, s) = bare_head(StatusCode::OK, info(1), true);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(s.framing, Framing::Empty);
        assert!(s.keep_alive);
    }

    #[test]
    fn streaming_response_is_chunked_for_11_and_close_delimited_for_10() {
        let (out, s) = bare_head(StatusCode::OK, info(1), false);
        assert_eq!(s.framing, Framing::Chunked);
        assert!(out.ends_with(b"transfer-encoding: chunked\r\n\r\n"));
        let (out, s) = bare_head(StatusCode::OK, info(0), false);
        assert_eq!(s.framing, Framing::Close);
        assert!(!s.keep_alive);
        assert_eq!(out, b"HTTP/1.0 200 OK\r\nconnection: close\r\n\r\n");
    }

    #[test]
    fn head_and_204_have_no_body() {
        let mut h = Headers::response(StatusCode::OK);
        h.append("content-length", "6");
        let mut out = Vec::new();
        let req = RequestInfo {
            head: true,
            ..info(1)
        };
        let s = response_head(&mut out, &h, req, false, b"").unwrap();
        assert_eq!(s.framing, Framing::Empty);
        assert!(out.windows(17).any(|w| w == b"content-length: 6"));
        let (out, s) = bare_head(StatusCode::NO_CONTENT, info(1), false);
        assert_eq!(s.framing, Framing::Empty);
        assert_eq!(out, b"HTTP/1.1 204 No Content\r\n\r\n");
    }

    #[test]
    fn header_injection_is_refused() {
        let mut h = Headers::response(StatusCode::OK);
        h.append("x", "a\r\nset-cookie: evil");
        let e = response_head(&mut Vec::new(), &h, info(1), true, b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let mut h = Headers::response(StatusCode::OK);
        h.append("bad name", "v");
        assert!(response_head(&mut Vec::new(), &h, info(1), true, b"").is_err());
        let h = Headers::request(Method::GET, "/a b", Some("x"));
        assert!(request_head(&mut Vec::new(), &h, 1, true, None).is_err());
    }

    #[test]
    fn request_heads() {
        let mut out = Vec::new();
        let h = Headers::request(Method::GET, "/x", Some("example.com"));
        let s = request_head(&mut out, &h, 1, true, None).unwrap().sending;
        assert_eq!(out, b"GET /x HTTP/1.1\r\nhost: example.com\r\n\r\n");
        assert_eq!(s.framing, Framing::Empty);
        let mut out = Vec::new();
        let h = Headers::request(Method::POST, "/", Some("h"));
        let s = request_head(&mut out, &h, 1, false, None).unwrap().sending;
        assert_eq!(s.framing, Framing::Chunked);
        let mut out = Vec::new();
        let s = request_head(&mut out, &h, 1, true, None).unwrap().sending;
        assert_eq!(s.framing, Framing::Empty);
        assert!(out.ends_with(b"content-length: 0\r\n\r\n"));
        assert!(request_head(&mut Vec::new(), &h, 0, false, None).is_err());
    }
}
