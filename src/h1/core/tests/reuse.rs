//! What is reused from one message to the next: a repeated request head copied, a repeated
//! response head taken from the kept one, a server's response-head cache only with
//! `reuse_heads`, an idle server's stream room given to the thread's pool.

use super::*;
use crate::h1::streams::STREAM_ROOMS;

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
fn without_head_reuse_a_server_keeps_no_response_head() {
    use crate::h1::encode::tests::keeps_a_response_head;
    let answer = |reuse: bool| {
        let mut s = server_with(Config {
            reuse_heads: reuse,
            ..Config::default()
        });
        s.recv(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
        let id = s.incoming.pop_front().unwrap();
        let mut h = Headers::response(StatusCode::OK);
        h.append("x-custom", "v");
        s.write_headers(id, &h, true).unwrap();
        take_out(&mut s)
    };
    let off = answer(false);
    assert!(!keeps_a_response_head());
    assert_eq!(answer(true), off, "the same answer either way");
    assert!(keeps_a_response_head());
}

#[test]
fn an_idle_server_gives_its_stream_room_to_the_next_request_on_the_thread() {
    let pooled = || STREAM_ROOMS.with(|p| p.borrow().len());
    let answer = |s: &mut H1Core| {
        s.recv(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
        assert_eq!(s.streams.capacity(), 1);
        let id = s.incoming.pop_front().unwrap();
        s.write_headers(id, &Headers::response(StatusCode::NO_CONTENT), true)
            .unwrap();
        let _ = s.with_recv_head(id, |r| r.heads.pop_front());
        s.reap(id);
        assert!(take_out(s).starts_with("HTTP/1.1 204 No Content\r\n"));
    };
    let (mut a, mut b) = (server(), server());
    answer(&mut a);
    assert_eq!(
        a.streams.capacity(),
        0,
        "an idle connection holds no stream room"
    );
    let after_a = pooled();
    assert!(after_a >= 1);
    answer(&mut b);
    assert_eq!(b.streams.capacity(), 0);
    assert_eq!(pooled(), after_a, "b took a's room and gave it back");
    b.recv(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Instant::now());
    assert_eq!(
        pooled(),
        after_a - 1,
        "a request in progress holds the room"
    );
}
