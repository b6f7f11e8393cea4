use super::*;

fn head_with_fields(first_line: &str, n: usize, end: bool) -> Vec<u8> {
    let mut b = format!("{first_line}\r\n").into_bytes();
    for i in 0..n {
        b.extend_from_slice(format!("x-{i}: {i}\r\n").as_bytes());
    }
    if end {
        b.extend_from_slice(b"\r\n");
    }
    b
}

/// What a server connection keeps from one request head to the next: its memo and the heads
/// its application gave back.
#[derive(Default)]
struct Conn {
    memo: RequestMemo,
    spare: Vec<Headers>,
}

impl Conn {
    fn parse(&mut self, buf: &[u8], cfg: &Arc<Config>) -> Result<Option<(Head, usize)>> {
        parse_request_reusing(&mut self.memo, buf, cfg, &mut self.spare)
    }

    fn kept(&self) -> Option<Vec<u8>> {
        self.memo.last.as_ref().map(|l| l.kept.bytes().to_vec())
    }
}

fn fields_of(h: &Headers) -> Vec<(String, Vec<u8>)> {
    h.iter()
        .map(|f| (f.name.to_string(), f.value.to_vec()))
        .collect()
}

#[test]
fn request_heads_hold_pseudo_headers_first_and_lower_case_names() {
    let cfg = Config::default();
    type Fields<'a> = &'a [(&'a str, &'a [u8])];
    let cases: [(&[u8], Fields); 5] = [
        // Stored as one copy of the head.
        (
            b"GET /a?b HTTP/1.1\r\nHost: Example.org\r\nX-Mixed-Case: V a l\r\n\r\n",
            &[
                (":method", b"GET"),
                (":path", b"/a?b"),
                (":authority", b"Example.org"),
                ("host", b"Example.org"),
                ("x-mixed-case", b"V a l"),
            ],
        ),
        // A value that is not UTF-8 (obs-text): stored field by field.
        (
            b"GET / HTTP/1.1\r\nhost: a\r\nX-Latin: caf\xe9\r\nEmpty:\r\n\r\n",
            &[
                (":method", b"GET"),
                (":path", b"/"),
                (":authority", b"a"),
                ("host", b"a"),
                ("x-latin", b"caf\xe9"),
                ("empty", b""),
            ],
        ),
        // Absolute form without a path: `:path` is "/", which is not in the head (so the
        // head is stored field by field).
        (
            b"OPTIONS http://h.example HTTP/1.1\r\nHOST: other\r\n\r\n",
            &[
                (":method", b"OPTIONS"),
                (":path", b"/"),
                (":authority", b"h.example"),
                ("host", b"other"),
            ],
        ),
        (
            b"CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n",
            &[
                (":method", b"CONNECT"),
                (":authority", b"h.example:443"),
                ("host", b"h.example:443"),
            ],
        ),
        // HTTP/1.0 without Host: no `:authority`.
        (
            b"\r\nPOST /p HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
            &[
                (":method", b"POST"),
                (":path", b"/p"),
                ("content-length", b"0"),
            ],
        ),
    ];
    for (input, want) in cases {
        let (head, n) = parse_request(input, &cfg).unwrap().unwrap();
        assert_eq!(n, input.len());
        let want: Vec<(String, Vec<u8>)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        assert_eq!(
            fields_of(&head.headers),
            want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(head.headers.get("HOST"), head.headers.get("host"));
    }
}

/// Everything a parse tells, for comparing two parses.
fn summary(r: Result<Option<(Head, usize)>>) -> String {
    match r {
        Ok(Some((h, n))) => format!(
            "{n} {:?} {} {:?} {} {} {} {} {}",
            fields_of(&h.headers),
            h.minor,
            h.framing,
            h.keep_alive,
            h.expect_continue,
            h.upgrade,
            h.method_head,
            h.method_connect
        ),
        Ok(None) => "partial".to_string(),
        Err(e) => format!("error {:?} {e}", e.status()),
    }
}

#[test]
fn a_repeated_request_head_parses_as_it_would_afresh() {
    let mut conn = Conn::default();
    let cfg = Arc::new(Config::default());
    let strict = Arc::new(Config {
        max_request_line: 10,
        ..Config::default()
    });
    let get = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n".as_slice();
    let inputs: [(&[u8], &Arc<Config>); 12] = [
        (get, &cfg),
        (get, &cfg),
        // The same head with more behind it: a body, or the next request.
        (
            b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n",
            &cfg,
        ),
        (b"\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n", &cfg),
        // One byte different, a prefix (not complete yet), another configuration.
        (b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", &cfg),
        (b"GET /b HTTP/1.1\r\nHost: a\r\n", &cfg),
        (b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", &strict),
        (b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", &cfg),
        (b"POST /b HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", &cfg),
        (b"POST /b HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", &cfg),
        // A bad head right after a good one that it starts like.
        (
            b"POST /b HTTP/1.0\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            &cfg,
        ),
        (b"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &cfg),
    ];
    for (input, c) in inputs {
        assert_eq!(
            summary(conn.parse(input, c)),
            summary(parse_request(input, c)),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Heads that all differ, past the point where only some are kept.
    for i in 0..40 {
        let input = format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n");
        let input = input.as_bytes();
        assert_eq!(
            summary(conn.parse(input, &cfg)),
            summary(parse_request(input, &cfg))
        );
    }
}

#[test]
fn without_head_reuse_no_request_head_is_kept() {
    let mut conn = Conn::default();
    let off = Arc::new(Config {
        reuse_heads: false,
        ..Config::default()
    });
    let input = b"GET /private HTTP/1.1\r\nHost: a\r\nX-Trace: 7\r\n\r\n";
    for _ in 0..3 {
        assert_eq!(
            summary(conn.parse(input, &off)),
            summary(parse_request(input, &off))
        );
    }
    assert!(conn.kept().is_none());
    let on = Arc::new(Config::default());
    let _ = conn.parse(input, &on);
    assert!(conn.kept().is_some());
}

#[test]
fn heads_with_credentials_are_not_kept_and_keeping_goes_on_past_any_count_of_misses() {
    let mut conn = Conn::default();
    let cfg = Arc::new(Config::default());
    for field in [
        "Cookie: s=1",
        "Authorization: Basic eDp5",
        "Proxy-Authorization: x",
    ] {
        let input = format!("GET / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n");
        for _ in 0..2 {
            assert_eq!(
                summary(conn.parse(input.as_bytes(), &cfg)),
                summary(parse_request(input.as_bytes(), &cfg))
            );
        }
        assert_eq!(conn.kept(), None, "{field}");
    }
    conn.memo.rule = KeepRule::after_misses(u32::MAX - 20);
    for i in 0..100 {
        let input = format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n");
        let _ = conn.parse(input.as_bytes(), &cfg);
    }
    let last = String::from_utf8(conn.kept().unwrap()).unwrap();
    let n: u32 = last["GET /".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        n >= 90,
        "still keeping heads after the count wrapped: {last:?}"
    );
}

#[test]
fn a_repeated_request_head_is_copied_into_a_head_given_back() {
    let mut conn = Conn::default();
    let cfg = Arc::new(Config::default());
    let input = b"GET /spare HTTP/1.1\r\nHost: a\r\n\r\n";
    let fresh = summary(parse_request(input, &cfg));
    assert_eq!(summary(conn.parse(input, &cfg)), fresh);
    // A head with room for 3,000 bytes given back: the next copy lands in it.
    let mut spare = Headers::with_capacity(8, 3000);
    spare.append("x-old", "stale");
    give_spare_request_head(&mut conn.spare, spare);
    let (head, n) = conn.parse(input, &cfg).unwrap().unwrap();
    assert!(head.headers.storage_bytes() >= 3000, "the spare's storage");
    assert_eq!(summary(Ok(Some((head, n)))), fresh);
    // Large heads are not kept.
    give_spare_request_head(
        &mut conn.spare,
        Headers::with_capacity(8, SPARE_REQUEST_HEAD_BYTES + 1),
    );
    let (head, _) = conn.parse(input, &cfg).unwrap().unwrap();
    assert!(head.headers.storage_bytes() <= SPARE_REQUEST_HEAD_BYTES);
}

/// Heads with more fields than the stack table holds are parsed with the heap one, up to
/// `Config::max_headers`, complete or not; past it they are refused with 431.
#[test]
fn field_counts_around_the_stack_table_and_the_limit() {
    let cfg = Config::default();
    assert!(cfg.max_headers > STACK_HEADERS);
    for n in [STACK_HEADERS, STACK_HEADERS + 1, cfg.max_headers] {
        let req = head_with_fields("GET / HTTP/1.0", n, true);
        let (head, used) = parse_request(&req, &cfg).unwrap().unwrap();
        assert_eq!(used, req.len(), "{n} fields");
        assert_eq!(
            head.headers.get_str(&format!("x-{}", n - 1)),
            Some(&*format!("{}", n - 1))
        );
        let partial = head_with_fields("GET / HTTP/1.0", n, false);
        assert!(
            parse_request(&partial, &cfg).unwrap().is_none(),
            "{n} fields, partial"
        );
        let res = head_with_fields("HTTP/1.1 200 OK", n, true);
        let (head, used) = parse_response(&res, &cfg, false, false, &mut Vec::new())
            .unwrap()
            .unwrap();
        assert_eq!((head.headers.len(), used), (n + 1, res.len()), "{n} fields");
    }
    let n = cfg.max_headers + 1;
    let req = head_with_fields("GET / HTTP/1.0", n, true);
    assert_eq!(
        parse_request(&req, &cfg).unwrap_err().status(),
        Some(http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    );
    let res = head_with_fields("HTTP/1.1 200 OK", n, false);
    assert!(parse_response(&res, &cfg, false, false, &mut Vec::new()).is_err());
    let small = Config {
        max_headers: 3,
        ..Config::default()
    };
    let req = head_with_fields("GET / HTTP/1.0", 4, true);
    assert_eq!(
        parse_request(&req, &small).unwrap_err().status(),
        Some(http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    );
}
