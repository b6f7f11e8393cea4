//! Whole exchanges between a client and a server core: requests and answers with bodies
//! and trailers, the h2c upgrade in both roles, dates, bodiless answers, 100-continue and
//! heads that span CONTINUATION frames.

use super::*;

#[test]
fn get_exchange() {
    let mut p = Pair::with_defaults();
    let (id, sid) = p.request("GET", "/hello", true);
    assert_eq!(id, 1);
    assert_eq!(sid, 1);
    let req = head_of(&mut p.s, sid);
    assert_eq!(req.path(), Some("/hello"));
    assert_eq!(req.get(":scheme"), Some(&b"https"[..]));
    assert_eq!(body_of(&mut p.s, sid), (vec![], true));
    assert_eq!(p.s.state(sid), StreamState::HalfClosedRemote);
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-type", "text/plain");
    p.s.write_headers(sid, &res, false).unwrap();
    p.s.write_body(sid, b"hello", true).unwrap();
    p.pump();
    assert!(p.s.is_idle(), "a finished server stream is removed");
    assert_eq!(p.c.next_ready(), Some(1));
    assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::OK));
    assert_eq!(body_of(&mut p.c, id), (b"hello".to_vec(), true));
    assert!(p.c.is_idle(), "a client stream goes once its end was seen");
    assert_eq!(p.c.state(id), StreamState::Closed);
}

#[test]
fn post_with_body_and_trailers_both_ways() {
    let mut p = Pair::with_defaults();
    let id = p.c.new_stream().unwrap();
    let mut h = Headers::request(Method::POST, "/up", Some("example.com"));
    h.append("te", "trailers");
    p.c.write_headers(id, &h, false).unwrap();
    p.c.write_body(id, b"part one, ", false).unwrap();
    p.c.write_body(id, b"part two", false).unwrap();
    let mut t = Headers::new();
    t.append("x-checksum", "42");
    p.c.write_headers(id, &t, true).unwrap();
    p.pump();
    let sid = p.s.pop_incoming().unwrap();
    head_of(&mut p.s, sid);
    assert_eq!(
        body_of(&mut p.s, sid),
        (b"part one, part two".to_vec(), true)
    );
    let trailers = p.s.with_recv(sid, |r| r.take_trailers()).unwrap().unwrap();
    assert_eq!(trailers.unwrap().get("x-checksum"), Some(&b"42"[..]));
    p.s.write_headers(sid, &Headers::response(StatusCode::OK), false)
        .unwrap();
    p.s.write_body(sid, b"ok", false).unwrap();
    let mut t = Headers::new();
    t.append("grpc-status", "0");
    p.s.write_headers(sid, &t, true).unwrap();
    p.pump();
    head_of(&mut p.c, id);
    assert_eq!(body_of(&mut p.c, id), (b"ok".to_vec(), true));
    let t = p.c.with_recv(id, |r| r.take_trailers()).unwrap().unwrap();
    assert_eq!(t.unwrap().get("grpc-status"), Some(&b"0"[..]));
}

#[test]
fn an_upgraded_server_answers_the_request_on_stream_1() {
    let now = Instant::now();
    // The client's HTTP2-Settings: INITIAL_WINDOW_SIZE 10 (so our answer is held to it).
    let st = Settings {
        initial_window_size: Some(10),
        ..Settings::default()
    };
    let mut payload = Vec::new();
    encode_settings(&st, &mut payload);
    let mut req = Headers::request(Method::GET, "/up", Some("example.com"));
    req.append("connection", "Upgrade, HTTP2-Settings");
    req.append("upgrade", "h2c");
    req.append("http2-settings", "AAQAAAAK");
    let mut s = H2Core::upgraded_server(H2Config::default(), now, &payload[9..], req).unwrap();
    assert_eq!(s.pop_incoming(), Some(1));
    assert_eq!(s.state(1), StreamState::HalfClosedRemote);
    let head = head_of(&mut s, 1);
    assert_eq!(head.get(":scheme"), Some(&b"http"[..]));
    assert!(!head.has("upgrade") && !head.has("http2-settings") && !head.has("connection"));
    assert_eq!(body_of(&mut s, 1), (vec![], true));
    // No SETTINGS ACK for the header's settings: the 101 acknowledged them.
    assert!(!take(&mut s).contains(&F::Settings { ack: true }));
    // The client preface still comes first.
    let mut input = PREFACE.to_vec();
    encode_settings(&Settings::default(), &mut input);
    assert_eq!(s.recv(&input, now), input.len());
    s.write_headers(1, &Headers::response(StatusCode::OK), false)
        .unwrap();
    s.write_body(1, &[b'x'; 25], true).unwrap();
    let f = take(&mut s);
    assert!(f.contains(&F::Headers { id: 1, end: false }), "{f:?}");
    assert!(
        f.contains(&F::Data {
            id: 1,
            len: 10,
            end: false
        }),
        "the window of HTTP2-Settings applies: {f:?}"
    );
    assert!(!f
        .iter()
        .any(|x| matches!(x, F::Data { len, .. } if *len > 10)));
}

#[test]
fn an_upgraded_server_still_wants_the_preface() {
    let now = Instant::now();
    let req = Headers::request(Method::GET, "/", Some("a"));
    let mut s = H2Core::upgraded_server(H2Config::default(), now, &[], req).unwrap();
    take(&mut s);
    s.recv(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n", now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
}

#[test]
fn an_upgraded_client_reads_the_response_on_stream_1() {
    let now = Instant::now();
    let mut c = H2Core::upgraded_client(H2Config::default(), now, false);
    let sent = std::mem::take(&mut c.out);
    assert!(sent.starts_with(PREFACE), "the preface follows the 101");
    assert_eq!(c.state(1), StreamState::HalfClosedLocal);
    let mut input = Vec::new();
    encode_settings(&Settings::default(), &mut input);
    input.extend(headers(1, &[(":status", "200")], false));
    input.extend(data(1, b"hi", true));
    assert_eq!(c.recv(&input, now), input.len());
    assert_eq!(head_of(&mut c, 1).status(), Some(StatusCode::OK));
    assert_eq!(body_of(&mut c, 1), (b"hi".to_vec(), true));
    assert_eq!(c.new_stream().unwrap(), 3, "stream 1 is taken");
}

#[test]
fn final_responses_carry_a_date() {
    let (mut s, now) = server();
    s.date = *b"Sun, 06 Nov 1994 08:49:37 GMT";
    s.recv(&headers(1, &GET, true), now);
    s.recv(&headers(3, &GET, true), now);
    s.write_headers(1, &Headers::response(StatusCode::EARLY_HINTS), false)
        .unwrap();
    s.write_headers(1, &Headers::response(StatusCode::OK), true)
        .unwrap();
    let mut own = Headers::response(StatusCode::OK);
    own.append("date", "Thu, 01 Jan 1970 00:00:00 GMT");
    s.write_headers(3, &own, true).unwrap();
    let out = std::mem::take(&mut s.out);
    let mut dec = HpackDecoder::new();
    let mut heads = Vec::new();
    let mut buf = &out[..];
    while let Ok(Some((f, n))) = decode_frame(buf, 1 << 20) {
        if let Frame::Headers(h) = f {
            heads.push(dec.decode_to_vec(h.header_block).unwrap());
        }
        buf = &buf[n..];
    }
    let dates: Vec<Vec<&[u8]>> = heads
        .iter()
        .map(|h| {
            h.iter()
                .filter(|f| f.name == b"date")
                .map(|f| &f.value[..])
                .collect()
        })
        .collect();
    assert_eq!(dates.len(), 3);
    assert!(dates[0].is_empty(), "no date on a 1xx");
    assert_eq!(dates[1], [&b"Sun, 06 Nov 1994 08:49:37 GMT"[..]]);
    assert_eq!(
        dates[2],
        [&b"Thu, 01 Jan 1970 00:00:00 GMT"[..]],
        "kept, not doubled"
    );
}

#[test]
fn answers_to_head_and_204_carry_no_body() {
    let (mut s, now) = server();
    let head_req = [
        (":method", "HEAD"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", "/"),
    ];
    s.recv(&headers(1, &head_req, true), now);
    s.recv(&headers(3, &GET, true), now);
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-length", "5");
    s.write_headers(1, &res, false).unwrap();
    s.write_body(1, b"hello", true).unwrap();
    s.write_headers(3, &Headers::response(StatusCode::NO_CONTENT), false)
        .unwrap();
    s.write_body(3, b"dropped", true).unwrap();
    let f = take(&mut s);
    assert!(
        f.contains(&F::Data {
            id: 1,
            len: 0,
            end: true
        }),
        "{f:?}"
    );
    assert!(
        f.contains(&F::Data {
            id: 3,
            len: 0,
            end: true
        }),
        "{f:?}"
    );
}

#[test]
fn a_body_must_match_our_own_content_length() {
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, true), now);
    s.recv(&headers(3, &GET, true), now);
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-length", "4");
    s.write_headers(1, &res, false).unwrap();
    let e = s.write_body(1, b"hello", true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("content-length 4"), "{e}");
    s.write_body(1, b"hel", false).unwrap();
    assert_eq!(
        s.write_body(1, b"", true).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    s.write_body(1, b"l", true).unwrap();
    s.write_headers(3, &res, false).unwrap();
    s.write_body(3, b"ab", false).unwrap();
    assert!(
        s.write_headers(3, &Headers::new(), true).is_err(),
        "trailers too early"
    );
}

#[test]
fn a_client_waits_for_100_continue() {
    let (mut c, now) = (
        client_with(H2Config::default(), Instant::now()),
        Instant::now(),
    );
    let id = c.new_stream().unwrap();
    let mut h = Headers::request(Method::POST, "/", Some("a"));
    h.append("expect", "100-continue");
    c.write_headers(id, &h, false).unwrap();
    assert!(c.continue_pending(id));
    c.recv(
        &headers(u32::try_from(id).unwrap(), &[(":status", "100")], false),
        now,
    );
    assert!(!c.continue_pending(id), "the 100 lets the body go");
    let id2 = c.new_stream().unwrap();
    c.write_headers(id2, &h, false).unwrap();
    c.recv(
        &headers(u32::try_from(id2).unwrap(), &[(":status", "417")], true),
        now,
    );
    assert!(!c.continue_pending(id2), "a final answer ends the wait");
}

#[test]
fn expect_continue_is_answered_when_the_body_is_read() {
    let (mut s, now) = server();
    let mut f = post("3");
    f.push(("expect", "100-continue".into()));
    let f: Vec<(&str, &str)> = f.iter().map(|(n, v)| (*n, v.as_str())).collect();
    s.recv(&headers(1, &f, false), now);
    head_of(&mut s, 1);
    assert!(take(&mut s).is_empty());
    let _ = s.with_recv(1, |r| r.buffered());
    assert_eq!(take(&mut s), [F::Headers { id: 1, end: false }]);
}

#[test]
fn a_large_head_goes_out_as_headers_and_continuation() {
    let mut p = Pair::with_server(|c| c.max_header_list_size = 64 * 1024);
    let id = p.c.new_stream().unwrap();
    let mut h = Headers::request(Method::GET, "/", Some("x"));
    h.append("x-large", "v".repeat(40_000));
    p.c.write_headers(id, &h, true).unwrap();
    let f = frames(&p.c.out);
    assert_eq!(f[0], F::Headers { id: 1, end: true });
    assert!(f[1..].iter().all(|f| *f == F::Continuation { id: 1 }) && f.len() >= 2);
    p.pump();
    let sid = p.s.pop_incoming().unwrap();
    assert_eq!(head_of(&mut p.s, sid).get("x-large").unwrap().len(), 40_000);
}

#[test]
fn a_head_over_the_peers_list_limit_is_not_sent() {
    let mut p = Pair::with_server(|c| c.max_header_list_size = 1000);
    let id = p.c.new_stream().unwrap();
    let mut h = Headers::request(Method::GET, "/", Some("x"));
    h.append("x-large", "v".repeat(2000));
    let e = p.c.write_headers(id, &h, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(p.c.out.is_empty());
}
