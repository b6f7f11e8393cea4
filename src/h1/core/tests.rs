use super::*;
use crate::h1::parse::{SPARE_REQUEST_HEADS, SPARE_REQUEST_HEAD_BYTES};

fn cfg() -> Arc<Config> {
    Arc::new(Config::default())
}

fn server() -> H1Core {
    H1Core::new(Role::Server, cfg(), 1, Instant::now())
}

fn client() -> H1Core {
    H1Core::new(Role::Client, cfg(), 1, Instant::now())
}

#[test]
fn streams_are_found_by_id_after_removals_out_of_order() {
    let mut c = client();
    let ids: Vec<u64> = (0..5).map(|_| c.new_stream().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    c.streams.remove(1);
    c.streams.remove(0);
    assert_eq!(c.find(1), None);
    assert_eq!(c.find(2), None);
    assert_eq!(c.find(3), Some(0));
    assert_eq!(c.find(5), Some(2));
    c.streams.remove(1);
    assert_eq!(c.find(4), None);
    assert_eq!(c.find(5), Some(1));
    assert_eq!(c.find(6), None);
    assert_eq!(c.find(0), None);
    assert_eq!(c.find(u64::MAX), None);
}

#[test]
fn a_repeated_request_head_is_copied_and_any_change_is_encoded_afresh() {
    let mut c = client();
    let mut h = Headers::request("GET", "/a", Some("h"));
    h.append("x-k", "1");
    let mut heads = Vec::new();
    for end in [true, true] {
        let id = c.new_stream().unwrap();
        c.write_headers(id, &h, end).unwrap();
        heads.push(take_out(&mut c));
    }
    assert_eq!(heads[0], "GET /a HTTP/1.1\r\nhost: h\r\nx-k: 1\r\n\r\n");
    assert_eq!(heads[1], heads[0]);
    // Changed in place, and equal in content but built apart: encoded from the head.
    h.upsert("x-k", "2");
    let id = c.new_stream().unwrap();
    c.write_headers(id, &h, true).unwrap();
    assert_eq!(
        take_out(&mut c),
        "GET /a HTTP/1.1\r\nhost: h\r\nx-k: 2\r\n\r\n"
    );
    let mut p = Headers::request("POST", "/a", Some("h"));
    p.append("x-k", "2");
    for (end, want) in [
        (
            true,
            "POST /a HTTP/1.1\r\nhost: h\r\nx-k: 2\r\ncontent-length: 0\r\n\r\n",
        ),
        (
            false,
            "POST /a HTTP/1.1\r\nhost: h\r\nx-k: 2\r\ntransfer-encoding: chunked\r\n\r\n",
        ),
    ] {
        let id = c.new_stream().unwrap();
        c.write_headers(id, &p, end).unwrap();
        assert_eq!(take_out(&mut c), want);
        if !end {
            c.write_body(id, b"", true).unwrap();
            assert_eq!(take_out(&mut c), "0\r\n\r\n");
        }
    }
    // A head that cannot be sent is refused every time, and leaves nothing in the output.
    let mut bad = h.clone();
    bad.append("x-bad", "a\r\nb");
    for _ in 0..2 {
        let id = c.new_stream().unwrap();
        assert!(c.write_headers(id, &bad, true).is_err());
        assert!(c.out.is_empty());
    }
}

fn take_out(c: &mut H1Core) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut c.out)).into_owned()
}

fn body_of(c: &mut H1Core, id: u64) -> Vec<u8> {
    let mut b = Vec::new();
    c.with_recv(id, |r| r.drain_into(&mut b)).unwrap().unwrap();
    b
}

/// Feeds `input` to a fresh server; returns the status line it answered with.
fn answer_to(input: &[u8]) -> String {
    let mut s = server();
    s.recv(input, Instant::now());
    let out = take_out(&mut s);
    out.lines().next().unwrap_or("").to_string()
}

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
    let mut s = server();
    s.recv(
        b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP AT ALL\r\n\r\n",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
    s.write_headers(id, &Headers::response(204), true).unwrap();
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
    let c = Config {
        max_request_body: Some(10),
        ..Config::default()
    };
    let mut s = H1Core::new(Role::Server, Arc::new(c), 1, Instant::now());
    s.recv(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
        Instant::now(),
    );
    assert!(take_out(&mut s).starts_with("HTTP/1.1 413 "));
    assert!(s.is_done());
    // A chunked body is counted as it arrives.
    let c = Config {
        max_request_body: Some(10),
        ..Config::default()
    };
    let mut s = H1Core::new(Role::Server, Arc::new(c), 1, Instant::now());
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
        let id = s.incoming.pop_front().expect("a request");
        let h = s
            .with_recv_head(id, |r| r.take_head())
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(h.method(), Some("POST"));
        assert_eq!(h.path(), Some("/p?q=1"));
        assert_eq!(h.authority(), Some("example.com"));
        assert_eq!(body_of(&mut s, id), b"hello");
    }
}

#[test]
fn without_head_reuse_a_server_keeps_no_response_head() {
    let answer = |reuse: bool| {
        let cfg = Config {
            reuse_heads: reuse,
            ..Config::default()
        };
        let mut s = H1Core::new(Role::Server, Arc::new(cfg), 1, Instant::now());
        s.recv(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
        let id = s.incoming.pop_front().unwrap();
        let mut h = Headers::response(200);
        h.append("x-custom", "v");
        s.write_headers(id, &h, true).unwrap();
        let keeps = s
            .server_reuse
            .as_ref()
            .is_some_and(|r| r.response.keeps_a_head());
        (take_out(&mut s), keeps)
    };
    let (off, keeps) = answer(false);
    assert!(!keeps);
    let (on, keeps) = answer(true);
    assert_eq!(on, off, "the same answer either way");
    assert!(keeps);
}

#[test]
fn an_idle_server_keeps_its_own_stream_room_for_the_next_request() {
    let answer = |s: &mut H1Core| {
        s.recv(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
        assert_eq!(s.streams.capacity(), 1);
        let id = s.incoming.pop_front().unwrap();
        s.write_headers(id, &Headers::response(204), true).unwrap();
        let _ = s.with_recv_head(id, |r| r.heads.pop_front());
        s.reap(id);
        assert!(take_out(s).starts_with("HTTP/1.1 204 No Content\r\n"));
    };
    let (mut a, mut b) = (server(), server());
    assert_eq!(
        a.streams.capacity(),
        0,
        "a new connection holds no stream room"
    );
    answer(&mut a);
    assert_eq!(
        a.streams.capacity(),
        1,
        "an idle connection keeps the room of one stream"
    );
    answer(&mut b);
    assert_eq!(a.streams.capacity(), 1, "b took nothing of a's");
    answer(&mut a);
    assert_eq!(a.streams.capacity(), 1);
    // A pipelined batch grows the queue; idle again, the connection keeps one room at most.
    a.recv(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
        Instant::now(),
    );
    assert!(a.streams.capacity() >= 3);
    while let Some(id) = a.incoming.pop_front() {
        a.write_headers(id, &Headers::response(204), true).unwrap();
        let _ = a.with_recv_head(id, |r| r.heads.pop_front());
        a.reap(id);
    }
    take_out(&mut a);
    assert!(a.streams.is_empty());
    assert!(a.streams.capacity() <= 1, "{}", a.streams.capacity());
}

/// Serves one request of `head` on `s`, answering with `answer`, the head read and given back.
fn serve_one(s: &mut H1Core, head: &[u8], answer: &Headers) -> String {
    s.recv(head, Instant::now());
    let id = s.incoming.pop_front().unwrap();
    let got = s
        .with_recv_head(id, |r| r.heads.pop_front())
        .unwrap()
        .unwrap();
    s.recycle_head(got);
    s.write_headers(id, answer, true).unwrap();
    s.reap(id);
    take_out(s)
}

#[test]
fn what_a_server_reuses_is_its_own_and_goes_with_it() {
    let cfg = cfg();
    let head = b"GET /k HTTP/1.1\r\nHost: a\r\nX-Api-Key: secret-a\r\n\r\n";
    let mut answer = Headers::response(200);
    answer.append("x-answer", "for-a");
    let mut a = H1Core::new(Role::Server, cfg.clone(), 1, Instant::now());
    let b = H1Core::new(Role::Server, cfg.clone(), 1, Instant::now());
    assert!(a.server_reuse.is_none(), "a new connection keeps nothing");
    let first = serve_one(&mut a, head, &answer);
    assert_eq!(serve_one(&mut a, head, &answer), first, "a repeated answer");
    let kept = a.server_reuse.as_ref().unwrap();
    assert_eq!(kept.request.kept_bytes(), Some(head.as_slice()));
    assert!(kept.response.keeps_a_head());
    assert_eq!(kept.spare_heads.len(), 1, "the head given back");
    // Another connection of the same thread and configuration sees none of it.
    assert!(b.server_reuse.is_none());
    // The kept head holds the configuration; dropping the connection releases both.
    assert_eq!(Arc::strong_count(&cfg), 4);
    drop(a);
    assert_eq!(Arc::strong_count(&cfg), 2, "only b's is left");
}

#[test]
fn what_a_server_reuses_is_bounded() {
    let mut s = server();
    // Heads given back: a few small ones.
    for _ in 0..2 * SPARE_REQUEST_HEADS {
        let mut h = Headers::with_capacity(4, 64);
        h.append("x-a", "1");
        s.recycle_head(h);
    }
    s.recycle_head(Headers::with_capacity(4, SPARE_REQUEST_HEAD_BYTES + 1));
    let r = s.server_reuse.as_ref().unwrap();
    assert_eq!(r.spare_heads.len(), SPARE_REQUEST_HEADS);
    assert!(r.spare_heads.iter().all(|h| h.is_empty()), "cleared");
    // A long request head, and a long response head, are not kept.
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "x".repeat(2000));
    let mut answer = Headers::response(200);
    answer.append("x-long", "y".repeat(2000));
    serve_one(&mut s, long.as_bytes(), &answer);
    let r = s.server_reuse.as_ref().unwrap();
    assert_eq!(r.request.kept_bytes(), None);
    assert!(!r.response.keeps_a_head());
}

#[test]
fn pipelined_answers_go_out_in_request_order() {
    let mut s = server();
    s.recv(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        Instant::now(),
    );
    let a = s.incoming.pop_front().unwrap();
    let b = s.incoming.pop_front().unwrap();
    let mut h = Headers::response(200);
    h.append("content-length", "1");
    s.write_headers(b, &h, false).unwrap();
    s.write_body(b, b"B", true).unwrap();
    assert!(s.out.is_empty(), "the second answer waits for the first");
    s.write_headers(a, &h, false).unwrap();
    s.write_body(a, b"A", true).unwrap();
    let out = take_out(&mut s);
    let ia = out.find("\r\n\r\nA").unwrap();
    let ib = out.find("\r\n\r\nB").unwrap();
    assert!(ia < ib, "{out}");
    assert!(s.want_flush);
}

#[test]
fn http10_keep_alive_only_when_asked() {
    let mut s = server();
    s.recv(b"GET / HTTP/1.0\r\n\r\n", Instant::now());
    let id = s.incoming.pop_front().unwrap();
    s.write_headers(id, &Headers::response(200), false).unwrap();
    s.write_body(id, b"x", true).unwrap();
    let out = take_out(&mut s);
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    assert!(out.contains("connection: close"), "{out}");
    assert!(s.is_done());

    let mut s = server();
    s.recv(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
    let mut h = Headers::response(200);
    h.append("content-length", "1");
    s.write_headers(id, &h, false).unwrap();
    s.write_body(id, b"x", true).unwrap();
    let out = take_out(&mut s);
    assert!(out.contains("connection: keep-alive"), "{out}");
    assert!(!s.is_done());
}

#[test]
fn chunked_request_with_trailers_and_chunked_answer() {
    let mut s = server();
    s.recv(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 5\r\n\r\n", Instant::now());
    let id = s.incoming.pop_front().unwrap();
    let _ = s.with_recv_head(id, |r| r.take_head()).unwrap();
    assert_eq!(body_of(&mut s, id), b"hello");
    let t = s
        .with_recv_head(id, |r| r.take_trailers())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(t.get_str("x-sum"), Some("5"));
    s.write_headers(id, &Headers::response(200), false).unwrap();
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
    let mut s = server();
    s.recv(
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
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
    let mut s = server();
    s.recv(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\nxx",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
    s.write_headers(id, &Headers::response(403), true).unwrap();
    assert!(take_out(&mut s).contains("connection: close"));
    assert!(s.is_done());
    // A small one is discarded and the connection goes on.
    let mut s = server();
    s.recv(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nxx",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
    s.write_headers(id, &Headers::response(403), true).unwrap();
    take_out(&mut s);
    s.recv(b"xxGET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
    assert!(s.incoming.pop_front().is_some());
    assert!(!s.is_done());
}

#[test]
fn a_client_vanishing_mid_request_ends_the_connection() {
    let mut s = server();
    s.recv(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
    s.recv_eof();
    assert!(s.is_done(), "nothing is left to answer");
    let mut b = Vec::new();
    let e = s
        .with_recv(id, |r| r.drain_into(&mut b))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert_eq!(b, b"abc");
}

#[test]
fn upgrade_pauses_parsing_until_answered() {
    let mut s = server();
    s.recv(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
        Instant::now(),
    );
    let id = s.incoming.pop_front().unwrap();
    assert!(!s.wants_read());
    let mut h = Headers::response(101);
    h.append("upgrade", "x");
    s.write_headers(id, &h, false).unwrap();
    assert!(s.is_tunnel());
    assert!(take_out(&mut s)
        .starts_with("HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n"));
}

#[test]
fn head_timeout_answers_408() {
    let mut s = server();
    let t0 = Instant::now();
    s.recv(b"GET / HT", t0);
    let d = s.deadline().unwrap();
    assert_eq!(d, t0 + Config::default().head_timeout.unwrap());
    s.on_timeout(d);
    assert!(take_out(&mut s).starts_with("HTTP/1.1 408 "));
    assert!(s.is_done());
}

#[test]
fn idle_timeout_closes_quietly() {
    let t0 = Instant::now();
    let mut s = H1Core::new(Role::Server, cfg(), 1, t0);
    let d = s.deadline().unwrap();
    s.on_timeout(d);
    assert!(s.is_done());
    assert!(s.out.is_empty());
}

fn client_get(c: &mut H1Core, method: &str) -> u64 {
    let id = c.new_stream().unwrap();
    c.write_headers(id, &Headers::request(method, "/", Some("h")), true)
        .unwrap();
    id
}

#[test]
fn a_reset_request_still_on_the_wire_has_its_response_read_and_dropped() {
    let mut c = client();
    let a = client_get(&mut c, "GET");
    let b = client_get(&mut c, "GET");
    let d = client_get(&mut c, "GET");
    c.reset(a).unwrap();
    assert!(!c.is_idle(), "a's response is still to come");
    // a's answer arrives in two parts, then b's, then d's.
    c.recv(
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nA",
        Instant::now(),
    );
    c.recv(b"AAA", Instant::now());
    c.recv(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nBHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nD\r\n0\r\n\r\n",
        Instant::now(),
    );
    assert!(c.ready.iter().all(|&id| id != a), "nothing to tell of a");
    for (id, want) in [(b, b"B"), (d, b"D")] {
        let head = c.with_recv_head(id, |r| r.heads.pop_front()).unwrap();
        assert_eq!(head.and_then(|h| h.status()), Some(200));
        assert_eq!(body_of(&mut c, id), want);
    }
    // A reset after the response was all in removes the stream at once.
    let e = client_get(&mut c, "GET");
    c.recv(b"HTTP/1.1 204 No Content\r\n\r\n", Instant::now());
    c.reset(e).unwrap();
    assert_eq!(c.state(e), StreamState::Closed);
}

#[test]
fn client_responses_follow_the_order_the_heads_were_written_in() {
    let mut c = client();
    let (a, b) = (c.new_stream().unwrap(), c.new_stream().unwrap());
    c.write_headers(b, &Headers::request("GET", "/b", Some("h")), true)
        .unwrap();
    c.write_headers(a, &Headers::request("GET", "/a", Some("h")), true)
        .unwrap();
    let out = take_out(&mut c);
    assert!(
        out.find("GET /b").unwrap() < out.find("GET /a").unwrap(),
        "{out}"
    );
    c.recv(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nBHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA",
        Instant::now(),
    );
    assert_eq!(body_of(&mut c, b), b"B", "the first answer is /b's");
    assert_eq!(body_of(&mut c, a), b"A");
}

#[test]
fn client_reads_length_chunked_and_close_delimited_bodies() {
    let mut c = client();
    let a = client_get(&mut c, "GET");
    let b = client_get(&mut c, "GET");
    assert_eq!(
        take_out(&mut c),
        "GET / HTTP/1.1\r\nhost: h\r\n\r\nGET / HTTP/1.1\r\nhost: h\r\n\r\n"
    );
    c.recv(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n", Instant::now());
    assert_eq!(body_of(&mut c, a), b"abc");
    assert_eq!(body_of(&mut c, b), b"de");
    let d = client_get(&mut c, "GET");
    c.recv(b"HTTP/1.1 200 OK\r\n\r\nuntil close", Instant::now());
    c.recv_eof();
    let h = c
        .with_recv_head(d, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h.status(), Some(200));
    assert!(c.with_recv_head(d, |r| r.close_delimited).unwrap());
    assert_eq!(body_of(&mut c, d), b"until close");
}

/// What a client stream got: its heads (fields), its body, whether the body ended.
type Got = (Vec<Vec<(String, Vec<u8>)>>, Vec<u8>, bool);

fn got(c: &mut H1Core, id: u64) -> Got {
    let heads = c
        .with_recv_head(id, |r| {
            let mut v = Vec::new();
            while let Some(h) = r.heads.pop_front() {
                v.push(
                    h.iter()
                        .map(|f| (f.name.to_string(), f.value.to_vec()))
                        .collect(),
                );
            }
            v
        })
        .unwrap();
    let mut body = Vec::new();
    let ended = c
        .with_recv(id, |r| r.drain_into(&mut body))
        .unwrap()
        .unwrap();
    (heads, body, ended)
}

/// A response head repeated byte for byte is taken from the one kept (`ParsedResponse`):
/// every head and body reads as a fresh parse gives them, whether the bytes come at once
/// or one by one (a partial head is a prefix of the kept one), the request was a HEAD
/// (same bytes, no body), heads differ late in their bytes, a kept head is the start of a
/// longer one, interim heads repeat, or a head keeps on differing.
#[test]
fn client_repeated_response_heads_read_as_parsed_afresh() {
    let ok5 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let hints = "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n";
    let mut cases: Vec<(&str, String)> = vec![
        ("GET", format!("{ok5}hello")),
        ("GET", format!("{ok5}world")),
        ("HEAD", ok5.to_string()),
        ("GET", format!("{ok5}again")),
        (
            "GET",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}",
                "x".repeat(50)
            ),
        ),
        ("GET", format!("{hints}{hints}{ok5}fifth")),
        ("GET", format!("{ok5}sixth")),
        (
            "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nextra".to_string(),
        ),
        (
            "HEAD",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n".to_string(),
        ),
    ];
    // Heads that never repeat (past the misses after which few are kept), then one that
    // does.
    for n in 0..40 {
        cases.push((
            "GET",
            format!(
                "HTTP/1.1 200 OK\r\nX-N: {n}\r\nContent-Length: 1\r\n\r\n{}",
                n % 10
            ),
        ));
    }
    cases.push(("GET", format!("{ok5}hello")));
    cases.push(("GET", format!("{ok5}hello")));
    cases.push((
        "GET",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nclose".to_string(),
    ));
    for one_by_one in [false, true] {
        let mut c = client();
        for (k, (method, bytes)) in cases.iter().enumerate() {
            let mut fresh = client();
            let f = client_get(&mut fresh, method);
            assert_eq!(fresh.recv(bytes.as_bytes(), Instant::now()), bytes.len());
            let want = got(&mut fresh, f);
            let id = client_get(&mut c, method);
            if one_by_one {
                let mut pending = Vec::new();
                for &b in bytes.as_bytes() {
                    pending.push(b);
                    let n = c.recv(&pending, Instant::now());
                    pending.drain(..n);
                }
                assert!(pending.is_empty(), "case {k}: {pending:?} left");
            } else {
                assert_eq!(c.recv(bytes.as_bytes(), Instant::now()), bytes.len());
            }
            assert_eq!(got(&mut c, id), want, "case {k} ({method} {bytes:?})");
            assert_eq!(c.lifecycle.closing(), fresh.lifecycle.closing(), "case {k}");
        }
        assert!(c.lifecycle.closing());
    }
}

#[test]
fn client_head_204_304_have_no_body_and_interim_heads_come_first() {
    let mut c = client();
    let a = client_get(&mut c, "HEAD");
    let b = client_get(&mut c, "GET");
    let d = client_get(&mut c, "GET");
    c.recv(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", Instant::now());
    assert_eq!(body_of(&mut c, a), b"");
    let h1 = c
        .with_recv_head(b, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h1.status(), Some(103));
    let h2 = c
        .with_recv_head(b, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h2.status(), Some(204));
    assert_eq!(body_of(&mut c, d), b"");
}

#[test]
fn client_truncated_and_malformed_responses_are_errors() {
    let mut c = client();
    let a = client_get(&mut c, "GET");
    c.recv(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        Instant::now(),
    );
    c.recv_eof();
    let mut b = Vec::new();
    let e = c
        .with_recv(a, |r| r.drain_into(&mut b))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert_eq!(b, b"abc");

    for bad in [
        &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: \x00\r\n\r\n",
    ] {
        let mut c = client();
        let a = client_get(&mut c, "GET");
        c.recv(bad, Instant::now());
        let e = c.with_recv_head(a, |r| r.take_head()).unwrap().unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Protocol,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(c.is_done());
    }
}

#[test]
fn client_close_response_fails_later_pipelined_requests_as_retryable() {
    let mut c = client();
    let a = client_get(&mut c, "GET");
    let b = client_get(&mut c, "GET");
    c.recv(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
        Instant::now(),
    );
    assert_eq!(body_of(&mut c, a), b"x");
    let e = c.with_recv_head(b, |r| r.take_head()).unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    assert!(e.message().contains("safe to retry"));
    assert!(c.new_stream().is_err());
}

#[test]
fn client_and_server_cores_talk_to_each_other() {
    let now = Instant::now();
    let mut c = client();
    let mut s = server();
    let id = c.new_stream().unwrap();
    let mut req = Headers::request("POST", "/echo", Some("x"));
    req.append("x-test", "1");
    c.write_headers(id, &req, false).unwrap();
    c.write_body(id, b"hello ", false).unwrap();
    c.write_body(id, b"world", true).unwrap();
    let wire = std::mem::take(&mut c.out);
    assert_eq!(s.recv(&wire, now), wire.len());
    let sid = s.incoming.pop_front().unwrap();
    let h = s
        .with_recv_head(sid, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h.get_str("x-test"), Some("1"));
    let body = body_of(&mut s, sid);
    assert_eq!(body, b"hello world");
    s.write_headers(sid, &Headers::response(201), false)
        .unwrap();
    s.write_body(sid, &body, true).unwrap();
    let wire = std::mem::take(&mut s.out);
    c.recv(&wire, now);
    let h = c
        .with_recv_head(id, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h.status(), Some(201));
    assert_eq!(body_of(&mut c, id), b"hello world");
    assert!(c.is_idle() && s.is_idle());
}
