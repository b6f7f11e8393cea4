//! What a client makes of responses: matching them to requests in wire order, reset
//! requests, body framings, HEAD/204/304 and interim heads, truncation and malformed
//! responses, `Connection: close` with requests behind it.

use super::*;

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
    assert!(
        c.events.ready_list().iter().all(|&id| id != a),
        "nothing to tell of a"
    );
    for (id, want) in [(b, b"B"), (d, b"D")] {
        let head = c.with_recv_head(id, |r| r.heads.pop_front()).unwrap();
        assert_eq!(head.and_then(|h| h.status()), Some(StatusCode::OK));
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
    c.write_headers(b, &Headers::request(Method::GET, "/b", Some("h")), true)
        .unwrap();
    c.write_headers(a, &Headers::request(Method::GET, "/a", Some("h")), true)
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
    let h = head_of(&mut c, d);
    assert_eq!(h.status(), Some(StatusCode::OK));
    assert!(c.with_recv_head(d, |r| r.close_delimited).unwrap());
    assert_eq!(body_of(&mut c, d), b"until close");
}

#[test]
fn client_head_204_304_have_no_body_and_interim_heads_come_first() {
    let mut c = client();
    let a = client_get(&mut c, "HEAD");
    let b = client_get(&mut c, "GET");
    let d = client_get(&mut c, "GET");
    c.recv(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", Instant::now());
    assert_eq!(body_of(&mut c, a), b"");
    let h1 = head_of(&mut c, b);
    assert_eq!(h1.status(), Some(StatusCode::EARLY_HINTS));
    let h2 = head_of(&mut c, b);
    assert_eq!(h2.status(), Some(StatusCode::NO_CONTENT));
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
    assert_eq!(body_cut_short(&mut c, a), b"abc");

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
