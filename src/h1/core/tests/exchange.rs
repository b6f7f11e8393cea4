//! A client core and a server core talking through the [`Pair`].

use super::*;

#[test]
fn client_and_server_cores_talk_to_each_other() {
    let mut p = Pair::new();
    let id = p.c.new_stream().unwrap();
    let mut req = Headers::request(Method::POST, "/echo", Some("x"));
    req.append("x-test", "1");
    p.c.write_headers(id, &req, false).unwrap();
    p.c.write_body(id, b"hello ", false).unwrap();
    p.c.write_body(id, b"world", true).unwrap();
    p.pump();
    assert!(p.to_s.is_empty(), "the server took the whole request");
    let sid = p.s.pop_incoming().unwrap();
    assert_eq!(head_of(&mut p.s, sid).get_str("x-test"), Some("1"));
    let body = body_of(&mut p.s, sid);
    assert_eq!(body, b"hello world");
    p.s.write_headers(sid, &Headers::response(StatusCode::CREATED), false)
        .unwrap();
    p.s.write_body(sid, &body, true).unwrap();
    p.pump();
    assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::CREATED));
    assert_eq!(body_of(&mut p.c, id), b"hello world");
    assert!(p.c.is_idle() && p.s.is_idle());
}

#[test]
fn expect_continue_waits_with_no_deadline_until_the_server_reads_the_body() {
    let mut p = Pair::new();
    let t0 = p.now;
    let id = p.c.new_stream().unwrap();
    let mut h = Headers::request(Method::PUT, "/", Some("h"));
    h.append("expect", "100-continue");
    h.append("content-length", "2");
    p.c.write_headers(id, &h, false).unwrap();
    p.pump();
    let sid = p.s.pop_incoming().unwrap();
    assert!(p.c.continue_pending(id));
    assert_eq!((p.c.deadline(), p.s.deadline()), (None, None));
    p.at(t0, Duration::from_secs(3600));
    assert!(p.c.continue_pending(id) && p.to_c.is_empty());
    // Reading the body answers 100 Continue; the client then sends it.
    let r = p.s.with_recv(sid, |r| r.take_chunk(10)).unwrap();
    assert!(r.unwrap_err().is_would_block());
    p.pump();
    assert!(!p.c.continue_pending(id));
    p.c.write_body(id, b"ok", true).unwrap();
    p.pump();
    assert_eq!(body_of(&mut p.s, sid), b"ok");
    p.answer(sid, 204, b"");
    assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::NO_CONTENT));
}

#[test]
fn pipelined_requests_over_the_pair_are_answered_in_order_whatever_order_the_server_writes() {
    let mut p = Pair::new();
    let ids: Vec<u64> = (0..3).map(|_| client_get(&mut p.c, "GET")).collect();
    p.pump();
    let sids: Vec<u64> = std::iter::from_fn(|| p.s.pop_incoming()).collect();
    assert_eq!(sids.len(), 3);
    for &sid in sids.iter().rev() {
        head_of(&mut p.s, sid);
        p.answer(sid, 200, format!("answer {sid}").as_bytes());
    }
    for (id, sid) in ids.into_iter().zip(sids) {
        assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::OK));
        assert_eq!(body_of(&mut p.c, id), format!("answer {sid}").as_bytes());
    }
    p.pump();
    assert!(p.c.is_idle() && p.s.is_idle());
}

#[test]
fn a_server_shut_down_answers_its_request_in_flight_with_close_then_is_done() {
    let mut p = Pair::new();
    let t0 = p.now;
    let (id, sid) = p.request("GET", "/", true);
    head_of(&mut p.s, sid);
    p.s.shutdown();
    assert!(!p.s.is_done());
    // The core arms no deadline for the drain (the face's shutdown_timeout is the limit).
    assert_eq!(p.s.deadline(), None);
    p.at(t0, Duration::from_secs(3600));
    assert!(!p.s.is_done());
    p.answer(sid, 200, b"bye");
    assert!(p.s.is_done());
    let h = head_of(&mut p.c, id);
    assert_eq!(h.get_str("connection"), Some("close"));
    assert_eq!(body_of(&mut p.c, id), b"bye");
    assert!(
        p.c.new_stream().is_err(),
        "the client takes no more requests"
    );
}

#[test]
fn a_client_shut_down_still_reads_the_answer_in_flight_then_is_done() {
    let mut p = Pair::new();
    let t0 = p.now;
    let (id, sid) = p.request("GET", "/", true);
    p.c.shutdown();
    assert!(!p.c.is_done());
    assert_eq!(p.c.deadline(), None);
    let e = p.c.new_stream().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    p.at(t0, Duration::from_secs(3600));
    head_of(&mut p.s, sid);
    p.answer(sid, 200, b"ok");
    assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::OK));
    assert_eq!(body_of(&mut p.c, id), b"ok");
    assert!(p.c.is_done());
}
