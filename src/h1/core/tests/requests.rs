//! What a server makes of requests: the status a broken one gets, limits, heads split
//! anywhere, HTTP/1.0 keep-alive, chunked bodies and trailers, `Expect: 100-continue`, an
//! answer before the body, a client gone mid-body, Upgrade, pipelining.

use super::*;

#[test]
fn bad_requests_get_the_status_the_rfcs_name_and_close() {
    let cases: &[(&[u8], &str)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabc", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "501"),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "400"),
        (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
        (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", "505"),
        (b"GET x HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", "417"),
    ];
    for (input, status) in cases {
        let line = answer_to(input);
        assert!(
            line.starts_with(&format!("HTTP/1.1 {status} "))
                || line.starts_with(&format!("HTTP/1.0 {status} ")),
            "{:?} answered {line:?}, expected {status}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn a_request_line_without_an_http_version_is_closed_without_an_answer() {
    for input in [
        &b"INVALID CONNECTION PREFACE\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
        b"GET / FTP/1.0\r\n\r\n",
    ] {
        let mut s = server();
        s.recv(input, Instant::now());
        assert!(
            s.out.is_empty(),
            "{:?} was answered",
            String::from_utf8_lossy(input)
        );
        assert!(
            s.is_done(),
            "{:?} left the connection open",
            String::from_utf8_lossy(input)
        );
    }
    // A well-formed version we do not speak still gets its 505.
    assert!(answer_to(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n").contains(" 505 "));
    // Pipelined requests before the bad line are answered first.
    let (mut s, id) = server_got(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP AT ALL\r\n\r\n");
    s.write_headers(id, &Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    assert!(take_out(&mut s).starts_with("HTTP/1.1 204"));
    assert!(s.is_done());
}

#[test]
fn limits_answer_414_431_413() {
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
    assert!(answer_to(long_line.as_bytes()).contains(" 414 "));
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "a".repeat(17000)
    );
    assert!(answer_to(big_head.as_bytes()).contains(" 431 "));
    let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for i in 0..101 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert!(answer_to(many.as_bytes()).contains(" 431 "));
    let ten_bytes_at_most = || {
        server_with(Config {
            max_request_body: Some(10),
            ..Config::default()
        })
    };
    let mut s = ten_bytes_at_most();
    s.recv(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
        Instant::now(),
    );
    assert!(take_out(&mut s).starts_with("HTTP/1.1 413 "));
    assert!(s.is_done());
    // A chunked body is counted as it arrives.
    let mut s = ten_bytes_at_most();
    s.recv(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n", Instant::now());
    assert!(take_out(&mut s).starts_with("HTTP/1.1 413 "));
}

#[test]
fn a_head_split_anywhere_parses_the_same() {
    let req = b"POST /p?q=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello";
    for cut in 1..req.len() {
        let mut s = server();
        let now = Instant::now();
        let mut buf = req[..cut].to_vec();
        let n = s.recv(&buf, now);
        buf.drain(..n);
        buf.extend_from_slice(&req[cut..]);
        let n = s.recv(&buf, now);
        assert_eq!(n, buf.len());
        let id = s.pop_incoming().expect("a request");
        let h = head_of(&mut s, id);
        assert_eq!(h.method(), Some(Method::POST));
        assert_eq!(h.path_and_query(), Some("/p?q=1"));
        assert_eq!(h.authority(), Some("example.com"));
        assert_eq!(body_of(&mut s, id), b"hello");
    }
}

#[test]
fn pipelined_answers_go_out_in_request_order() {
    let (mut s, a) =
        server_got(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    let b = s.pop_incoming().unwrap();
    answer(&mut s, b, 200, b"B");
    assert!(s.out.is_empty(), "the second answer waits for the first");
    answer(&mut s, a, 200, b"A");
    let out = take_out(&mut s);
    let ia = out.find("\r\n\r\nA").unwrap();
    let ib = out.find("\r\n\r\nB").unwrap();
    assert!(ia < ib, "{out}");
    assert!(s.want_flush);
}

#[test]
fn http10_keep_alive_only_when_asked() {
    let (mut s, id) = server_got(b"GET / HTTP/1.0\r\n\r\n");
    s.write_headers(id, &Headers::response(StatusCode::OK), false)
        .unwrap();
    s.write_body(id, b"x", true).unwrap();
    let out = take_out(&mut s);
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    assert!(out.contains("connection: close"), "{out}");
    assert!(s.is_done());

    let (mut s, id) = server_got(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    answer(&mut s, id, 200, b"x");
    let out = take_out(&mut s);
    assert!(out.contains("connection: keep-alive"), "{out}");
    assert!(!s.is_done());
}

#[test]
fn chunked_request_with_trailers_and_chunked_answer() {
    let (mut s, id) = server_got(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 5\r\n\r\n");
    let _ = s.with_recv_head(id, |r| r.take_head()).unwrap();
    assert_eq!(body_of(&mut s, id), b"hello");
    let t = s
        .with_recv_head(id, |r| r.take_trailers())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(t.get_str("x-sum"), Some("5"));
    s.write_headers(id, &Headers::response(StatusCode::OK), false)
        .unwrap();
    s.write_body(id, b"abc", false).unwrap();
    let mut tr = Headers::new();
    tr.append("x-done", "1");
    s.write_headers(id, &tr, true).unwrap();
    let out = take_out(&mut s);
    assert!(
        out.ends_with("transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-done: 1\r\n\r\n"),
        "{out:?}"
    );
}

#[test]
fn expect_continue_is_answered_when_the_body_is_read() {
    let (mut s, id) = server_got(
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    );
    assert!(s.out.is_empty());
    let r = s.with_recv(id, |r| r.take_chunk(10)).unwrap();
    assert!(r.unwrap_err().is_would_block());
    assert_eq!(take_out(&mut s), "HTTP/1.1 100 Continue\r\n\r\n");
    s.recv(b"ok", Instant::now());
    assert_eq!(body_of(&mut s, id), b"ok");
}

#[test]
fn answering_before_the_body_closes_or_discards() {
    // A large unread body: answer, then close.
    let (mut s, id) =
        server_got(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\nxx");
    s.write_headers(id, &Headers::response(StatusCode::FORBIDDEN), true)
        .unwrap();
    assert!(take_out(&mut s).contains("connection: close"));
    assert!(s.is_done());
    // A small one is discarded and the connection goes on.
    let (mut s, id) = server_got(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nxx");
    s.write_headers(id, &Headers::response(StatusCode::FORBIDDEN), true)
        .unwrap();
    take_out(&mut s);
    s.recv(b"xxGET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
    assert!(s.pop_incoming().is_some());
    assert!(!s.is_done());
}

#[test]
fn a_client_vanishing_mid_request_ends_the_connection() {
    let (mut s, id) = server_got(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    s.recv_eof();
    assert!(s.is_done(), "nothing is left to answer");
    assert_eq!(body_cut_short(&mut s, id), b"abc");
}

#[test]
fn upgrade_pauses_parsing_until_answered() {
    let (mut s, id) =
        server_got(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n");
    assert!(!s.wants_read());
    let mut h = Headers::response(StatusCode::SWITCHING_PROTOCOLS);
    h.append("upgrade", "x");
    s.write_headers(id, &h, false).unwrap();
    assert!(s.is_tunnel());
    assert!(take_out(&mut s)
        .starts_with("HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n"));
}
