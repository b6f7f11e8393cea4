//! What is reused from one message to the next: a repeated request head copied, a repeated
//! response head taken from the kept one, a server's response-head cache only with
//! `reuse_heads`, an idle server's stream room given to the thread's pool.

use super::*;
use crate::h1::parse::{SPARE_REQUEST_HEADS, SPARE_REQUEST_HEAD_BYTES};

#[test]
fn a_repeated_request_head_is_copied_and_any_change_is_encoded_afresh() {
    let mut c = client();
    let mut h = Headers::request(Method::GET, "/a", Some("h"));
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
    let mut p = Headers::request(Method::POST, "/a", Some("h"));
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
        .with_recv(id, |r| r.drain_all(&mut body))
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
fn without_head_reuse_a_server_keeps_no_response_head() {
    let answer = |reuse: bool| {
        let cfg = Config {
            reuse_heads: reuse,
            ..Config::default()
        };
        let mut s = H1Core::new(Role::Server, Arc::new(cfg), 1, Instant::now());
        s.recv(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
        let id = s.pop_incoming().unwrap();
        let mut h = Headers::response(StatusCode::OK);
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
        let id = s.pop_incoming().unwrap();
        s.write_headers(id, &Headers::response(StatusCode::NO_CONTENT), true)
            .unwrap();
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
    while let Some(id) = a.pop_incoming() {
        a.write_headers(id, &Headers::response(StatusCode::NO_CONTENT), true)
            .unwrap();
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
    let id = s.pop_incoming().unwrap();
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
    let mut answer = Headers::response(StatusCode::OK);
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
    let mut answer = Headers::response(StatusCode::OK);
    answer.append("x-long", "y".repeat(2000));
    serve_one(&mut s, long.as_bytes(), &answer);
    let r = s.server_reuse.as_ref().unwrap();
    assert_eq!(r.request.kept_bytes(), None);
    assert!(!r.response.keeps_a_head());
}
