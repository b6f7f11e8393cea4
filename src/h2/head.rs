//! Heads on the wire: the checks RFC 9113 §8.2 and §8.3 put on a received field section, and
//! the conversion of a caller's [`Headers`] into the field list HPACK encodes.
//!
//! A received head is checked field by field while the HPACK decoder delivers it
//! ([`HeadCheck`]), so a malformed head costs no second pass. Any broken rule makes the
//! request or response malformed: the core answers with a stream error of type PROTOCOL_ERROR
//! (§8.1.1) and the message names the rule.

use crate::error::{Error, ErrorKind, Result};
use crate::headers::{has_cr_lf_nul, Headers};
use h2_codec_lite::hpack::{HeaderRef, HpackEncoder};

/// What a field section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadKind {
    Request,
    Response,
    Trailers,
}

const METHOD: u8 = 1;
const SCHEME: u8 = 2;
const AUTHORITY: u8 = 4;
const PATH: u8 = 8;
const STATUS: u8 = 16;

/// A received head being checked as it is decoded.
#[derive(Debug)]
pub(crate) struct HeadCheck {
    kind: HeadKind,
    pub headers: Headers,
    pseudo: u8,
    regular_seen: bool,
    pub error: Option<&'static str>,
    pub content_length: Option<u64>,
    pub status: Option<u16>,
    pub connect: bool,
    pub head_method: bool,
    pub expect_continue: bool,
    empty_path: bool,
    /// Regular fields seen, and the most allowed: past it `too_many` is set and the rest of
    /// the section is not kept (the decoder still reads it, for the HPACK state).
    fields: usize,
    max_fields: usize,
    pub too_many: bool,
}

fn is_connection_specific(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection" | b"proxy-connection" | b"keep-alive" | b"transfer-encoding" | b"upgrade"
    )
}

/// RFC 9113 §8.2.1: a name has no upper-case letters, no controls, SP, DEL or non-ASCII, and
/// no colon except the one that starts a pseudo-header.
fn check_name(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        return Some("RFC 9113 §8.2.1: empty field name");
    }
    let body = if name[0] == b':' { &name[1..] } else { name };
    for &b in body {
        if b.is_ascii_uppercase() {
            return Some("RFC 9113 §8.2.1: field name with upper-case characters");
        }
        if b <= 0x20 || b >= 0x7f || b == b':' {
            return Some("RFC 9113 §8.2.1: field name with a forbidden character");
        }
    }
    None
}

/// RFC 9113 §8.2.1: a value has no NUL, CR or LF, and no leading or trailing SP or HTAB.
fn check_value(value: &[u8]) -> Option<&'static str> {
    if has_cr_lf_nul(value) {
        return Some("RFC 9113 §8.2.1: field value with NUL, CR or LF");
    }
    if matches!(value.first(), Some(b' ' | b'\t')) || matches!(value.last(), Some(b' ' | b'\t')) {
        return Some("RFC 9113 §8.2.1: field value with leading or trailing whitespace");
    }
    None
}

fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |n, d| n * 10 + (d - b'0') as u64))
}

impl HeadCheck {
    pub(crate) fn new(kind: HeadKind) -> HeadCheck {
        HeadCheck {
            kind,
            headers: Headers::with_capacity(8, 128),
            pseudo: 0,
            regular_seen: false,
            error: None,
            content_length: None,
            status: None,
            connect: false,
            head_method: false,
            expect_continue: false,
            empty_path: false,
            fields: 0,
            max_fields: usize::MAX,
            too_many: false,
        }
    }

    /// Bounds the number of regular fields (`Config::max_headers`).
    pub(crate) fn max_fields(mut self, n: usize) -> HeadCheck {
        self.max_fields = n;
        self
    }

    fn fail(&mut self, rule: &'static str) {
        self.error.get_or_insert(rule);
    }

    /// One decoded field.
    pub(crate) fn field(&mut self, name: &[u8], value: &[u8], sensitive: bool) {
        if self.error.is_some() || self.too_many {
            return;
        }
        if name.first() != Some(&b':') {
            self.fields += 1;
            if self.fields > self.max_fields {
                self.too_many = true;
                return;
            }
        }
        if let Some(rule) = check_name(name).or_else(|| check_value(value)) {
            return self.fail(rule);
        }
        if name[0] == b':' {
            if self.regular_seen {
                return self.fail("RFC 9113 §8.3: pseudo-header field after a regular field");
            }
            let bit = match (self.kind, name) {
                (HeadKind::Request, b":method") => METHOD,
                (HeadKind::Request, b":scheme") => SCHEME,
                (HeadKind::Request, b":authority") => AUTHORITY,
                (HeadKind::Request, b":path") => PATH,
                (HeadKind::Response, b":status") => STATUS,
                (HeadKind::Trailers, _) => {
                    return self.fail("RFC 9113 §8.1: pseudo-header field in trailers")
                }
                _ => return self.fail(
                    "RFC 9113 §8.3: unknown pseudo-header field or one of the other message kind",
                ),
            };
            if self.pseudo & bit != 0 {
                return self.fail("RFC 9113 §8.3: duplicated pseudo-header field");
            }
            self.pseudo |= bit;
            match bit {
                METHOD => {
                    self.connect = value == b"CONNECT";
                    self.head_method = value == b"HEAD";
                }
                PATH => self.empty_path = value.is_empty(),
                STATUS => match Headers::parse_status(value) {
                    Some(s) if s >= 100 => self.status = Some(s),
                    _ => return self.fail("RFC 9113 §8.3.2: :status is not a three-digit code"),
                },
                _ => {}
            }
        } else {
            self.regular_seen = true;
            if is_connection_specific(name) {
                return self.fail("RFC 9113 §8.2.2: connection-specific header field");
            }
            if name == b"te" && value != b"trailers" {
                return self.fail("RFC 9113 §8.2.2: TE header field other than \"trailers\"");
            }
            if name == b"content-length" {
                match parse_length(value) {
                    Some(n) if self.content_length.is_none_or(|m| m == n) => {
                        self.content_length = Some(n)
                    }
                    _ => return self.fail("RFC 9110 §8.6: invalid or conflicting content-length"),
                }
            }
            if name == b"expect" && value.eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            }
        }
        // The name was checked to be visible ASCII above.
        let name = crate::headers::as_text(name).unwrap_or("");
        if sensitive {
            self.headers.append_sensitive(name, value);
        } else {
            self.headers.append(name, value);
        }
    }

    /// What makes a checked request unfit to be promised (RFC 9113 §8.4): a method other than
    /// GET or HEAD (safe and cacheable), no `:authority`, or content.
    pub(crate) fn promised_request_error(&self) -> Option<&'static str> {
        if !matches!(self.headers.get_str(":method"), Some("GET" | "HEAD")) {
            return Some(
                "RFC 9113 §8.4: a promised request must be safe and cacheable (GET or HEAD)",
            );
        }
        if self.pseudo & AUTHORITY == 0 {
            return Some("RFC 9113 §8.4: a promised request must have :authority");
        }
        if self.content_length.is_some_and(|n| n > 0) {
            return Some("RFC 9113 §8.4: a promised request has no content");
        }
        None
    }

    /// The checks that need the whole section.
    pub(crate) fn finish(&mut self) {
        if self.error.is_some() {
            return;
        }
        match self.kind {
            HeadKind::Request if self.connect => {
                if self.pseudo & AUTHORITY == 0 || self.pseudo & (SCHEME | PATH) != 0 {
                    self.fail("RFC 9113 §8.5: CONNECT needs :authority and no :scheme or :path");
                }
            }
            HeadKind::Request => {
                if self.pseudo & (METHOD | SCHEME | PATH) != METHOD | SCHEME | PATH {
                    self.fail("RFC 9113 §8.3.1: request without :method, :scheme or :path");
                } else if self.empty_path {
                    self.fail("RFC 9113 §8.3.1: empty :path");
                }
            }
            HeadKind::Response => {
                if self.pseudo & STATUS == 0 {
                    self.fail("RFC 9113 §8.3.2: response without :status");
                }
            }
            HeadKind::Trailers => {}
        }
    }
}

/// A caller's head made ready for HPACK: the fields in wire order and what the core needs to
/// know about the message, all found in one pass over the head.
pub(crate) struct OutgoingHead<'a> {
    pub fields: Vec<HeaderRef<'a>>,
    /// The field-list size (32 + name + value summed), as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
    pub size: usize,
    /// `:status` of a response.
    pub status: Option<u16>,
    /// The first `content-length`, when it parses.
    pub content_length: Option<u64>,
    /// The request's method is HEAD.
    pub head_method: bool,
    /// The first `expect` field is `100-continue`.
    pub expect_continue: bool,
}

/// The fields of `h` as HPACK encodes them for a head of `kind`, pseudo-headers first.
///
/// A request gets `:scheme` from `scheme` when it has none, and `:authority` from a `host`
/// field. Connection-specific fields (an HTTP/1 habit) are left out rather than refused, and
/// so is a `te` other than `trailers`; names and values that cannot be sent are refused. A
/// final response without a `date` field gets `date` (RFC 9110 §6.6.1: a server with a clock
/// sends one).
///
/// The head is walked twice in all (pseudo-headers and the fields the core looks at, then the
/// regular fields in order) rather than looked up field by field: names are stored lower-case,
/// so exact comparisons find what `Headers::get` would.
/// `default_authority` is the `:authority` of a request that names none (neither `:authority`
/// nor `host`): the connection's target (RFC 9113 §8.3.1).
pub(crate) fn outgoing_fields<'a>(
    h: &'a Headers,
    kind: HeadKind,
    scheme: &'a str,
    date: Option<&'a [u8]>,
    default_authority: Option<&'a [u8]>,
) -> Result<OutgoingHead<'a>> {
    let bad = |what: &str, name: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("cannot send {what} {name:?} in HTTP/2"),
        )
    };
    // The first of each, as `Headers::get` finds it.
    let (mut method, mut scheme_v, mut authority, mut path, mut host, mut status_v) =
        (None, None, None, None, None, None);
    let (mut has_date, mut content_length, mut expect) = (false, None, None);
    for f in h.iter() {
        let slot = match f.name.as_bytes() {
            b":method" => &mut method,
            b":scheme" => &mut scheme_v,
            b":authority" => &mut authority,
            b":path" => &mut path,
            b":status" => &mut status_v,
            b"host" => &mut host,
            b"content-length" => &mut content_length,
            b"expect" => &mut expect,
            b"date" => {
                has_date = true;
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(f.value);
        }
    }
    let mut out = OutgoingHead {
        fields: Vec::with_capacity(h.len() + 2),
        size: 0,
        status: status_v.and_then(Headers::parse_status),
        content_length: content_length
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse().ok()),
        head_method: method == Some(b"HEAD"),
        expect_continue: expect.is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue")),
    };
    let fields = &mut out.fields;
    match kind {
        HeadKind::Request => {
            let method = method.ok_or_else(|| bad("a request without", ":method"))?;
            fields.push(HeaderRef::new(b":method", method));
            let connect = method == b"CONNECT";
            if !connect {
                fields.push(HeaderRef::new(
                    b":scheme",
                    scheme_v.unwrap_or(scheme.as_bytes()),
                ));
            }
            if let Some(a) = authority.or(host).or(default_authority) {
                fields.push(HeaderRef::new(b":authority", a));
            } else if connect {
                return Err(bad("a CONNECT request without", ":authority"));
            }
            if !connect {
                let path = path.filter(|p| !p.is_empty()).unwrap_or(b"/");
                fields.push(HeaderRef::new(b":path", path));
            }
        }
        HeadKind::Response => {
            let v = status_v
                .filter(|_| {
                    out.status
                        .is_some_and(|s| (100..=999).contains(&s) && s != 101)
                })
                .ok_or_else(|| bad("a response without a valid", ":status"))?;
            fields.push(HeaderRef::new(b":status", v));
            if let Some(d) = date.filter(|_| out.status.unwrap_or(0) >= 200 && !has_date) {
                fields.push(HeaderRef::new(b"date", d));
            }
        }
        HeadKind::Trailers => {}
    }
    for f in h.iter() {
        let name = f.name.as_bytes();
        if name.first() == Some(&b':') {
            let known = match kind {
                HeadKind::Request => {
                    matches!(name, b":method" | b":scheme" | b":authority" | b":path")
                }
                HeadKind::Response => name == b":status",
                HeadKind::Trailers => false,
            };
            if !known {
                return Err(bad("the pseudo-header", f.name));
            }
            continue;
        }
        if is_connection_specific(name)
            || (name == b"te" && f.value != b"trailers")
            || (kind == HeadKind::Request && name == b"host")
        {
            continue;
        }
        if check_name(name).is_some() {
            return Err(bad("the field name", f.name));
        }
        if has_cr_lf_nul(f.value) {
            return Err(bad("a value with NUL, CR or LF in", f.name));
        }
        fields.push(HeaderRef {
            name,
            value: f.value,
            sensitive: f.sensitive,
        });
    }
    out.size = out.fields.iter().map(HeaderRef::size).sum();
    Ok(out)
}

/// Encodes `h` as a header block of `kind` into `dst` (see [`outgoing_fields`]); returns the
/// field-list size (32 + name + value summed), as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
pub(crate) fn encode_head(
    enc: &mut HpackEncoder,
    h: &Headers,
    kind: HeadKind,
    scheme: &str,
    date: Option<&[u8]>,
    dst: &mut Vec<u8>,
) -> Result<usize> {
    let head = outgoing_fields(h, kind, scheme, date, None)?;
    enc.encode(head.fields, dst);
    Ok(head.size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use h2_codec_lite::hpack::HpackDecoder;
    use http::{Method, StatusCode};

    fn check(kind: HeadKind, fields: &[(&str, &str)]) -> HeadCheck {
        let mut c = HeadCheck::new(kind);
        for (n, v) in fields {
            c.field(n.as_bytes(), v.as_bytes(), false);
        }
        c.finish();
        c
    }

    const GET: [(&str, &str); 4] = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/"),
    ];

    #[test]
    fn a_plain_request_passes() {
        let c = check(HeadKind::Request, &GET);
        assert_eq!(c.error, None);
        assert_eq!(c.headers.path(), Some("/"));
    }

    #[test]
    fn each_malformed_request_names_its_rule() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[(":method", "GET"), (":path", "/")], "without :method"),
            (
                &[(":method", "GET"), (":scheme", "http"), (":path", "")],
                "empty :path",
            ),
            (&[(":method", "GET"), (":method", "GET")], "duplicated"),
            (&[("x", "1"), (":method", "GET")], "after a regular"),
            (&[(":status", "200")], "unknown pseudo"),
            (&[(":method", "GET"), ("Host", "a")], "upper-case"),
            (
                &[(":method", "GET"), ("connection", "close")],
                "connection-specific",
            ),
            (
                &[(":method", "GET"), ("transfer-encoding", "chunked")],
                "connection-specific",
            ),
            (&[(":method", "GET"), ("te", "gzip")], "TE header"),
            (&[(":method", "GET"), ("x", "a\nb")], "NUL, CR or LF"),
            (&[(":method", "GET"), ("x", " a")], "whitespace"),
            (
                &[
                    (":method", "GET"),
                    ("content-length", "1"),
                    ("content-length", "2"),
                ],
                "content-length",
            ),
            (&[(":method", "CONNECT"), (":path", "/")], "CONNECT"),
        ];
        for (fields, rule) in cases {
            let c = check(HeadKind::Request, fields);
            let e = c.error.unwrap_or_else(|| panic!("{fields:?} passed"));
            assert!(e.contains(rule), "{fields:?}: {e}");
        }
        let mut ok = GET.to_vec();
        ok.push(("te", "trailers"));
        assert_eq!(check(HeadKind::Request, &ok).error, None);
    }

    #[test]
    fn the_field_count_is_bounded() {
        let mut c = HeadCheck::new(HeadKind::Request).max_fields(2);
        for (n, v) in GET.iter().chain(&[("a", "1"), ("b", "2")]) {
            c.field(n.as_bytes(), v.as_bytes(), false);
        }
        assert!(!c.too_many, "pseudo-headers do not count");
        c.field(b"c", b"3", false);
        assert!(c.too_many);
        assert_eq!(c.headers.len(), 6, "the field past the bound is not kept");
    }

    #[test]
    fn a_promised_request_is_a_get_or_head_with_authority_and_no_content() {
        assert_eq!(
            check(HeadKind::Request, &GET).promised_request_error(),
            None
        );
        let mut head = GET.to_vec();
        head[0] = (":method", "HEAD");
        assert_eq!(
            check(HeadKind::Request, &head).promised_request_error(),
            None
        );
        let mut post = GET.to_vec();
        post[0] = (":method", "POST");
        let mut no_authority = GET.to_vec();
        no_authority.remove(2);
        let mut content = GET.to_vec();
        content.push(("content-length", "3"));
        for (fields, rule) in [
            (post, "GET or HEAD"),
            (no_authority, ":authority"),
            (content, "no content"),
        ] {
            let e = check(HeadKind::Request, &fields).promised_request_error();
            assert!(e.is_some_and(|e| e.contains(rule)), "{fields:?}: {e:?}");
        }
    }

    #[test]
    fn responses_and_trailers() {
        assert_eq!(
            check(HeadKind::Response, &[(":status", "204")]).status,
            Some(204)
        );
        assert!(check(HeadKind::Response, &[("x", "1")]).error.is_some());
        assert!(check(HeadKind::Response, &[(":status", "20")])
            .error
            .is_some());
        assert!(check(HeadKind::Trailers, &[(":status", "200")])
            .error
            .is_some());
        assert_eq!(check(HeadKind::Trailers, &[("x-sum", "1")]).error, None);
    }

    #[test]
    fn an_http1_style_head_is_encoded_as_http2() {
        let mut h = Headers::request(Method::GET, "/x", None);
        h.append("Host", "example.com");
        h.append("connection", "keep-alive");
        h.append_sensitive("authorization", "secret");
        let mut enc = HpackEncoder::new();
        let mut block = Vec::new();
        encode_head(&mut enc, &h, HeadKind::Request, "http", None, &mut block).unwrap();
        let fields = HpackDecoder::new().decode_to_vec(&block).unwrap();
        let names: Vec<&[u8]> = fields.iter().map(|f| &f.name[..]).collect();
        assert_eq!(
            names,
            [
                &b":method"[..],
                b":scheme",
                b":authority",
                b":path",
                b"authorization"
            ]
        );
        assert_eq!(fields[1].value, b"http");
        assert_eq!(fields[2].value, b"example.com");
        assert!(fields[4].sensitive, "sensitive fields are never indexed");
        let mut bad = Headers::response(StatusCode::OK);
        bad.append("x", "a\r\nb");
        assert!(encode_head(&mut enc, &bad, HeadKind::Response, "", None, &mut block).is_err());
        let mut t = Headers::new();
        t.append(":status", "200");
        assert!(encode_head(&mut enc, &t, HeadKind::Trailers, "", None, &mut block).is_err());
    }
}
