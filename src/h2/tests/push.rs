//! Server push (RFC 9113 §8.4): what each role advertises, the frames of a push, the limits,
//! cancelled and refused pushes, and bad promises.

use super::*;

#[test]
fn push_promise_to_a_client_is_a_protocol_error() {
    let (mut c, now) = client_asking(H2Config::default(), true);
    let mut payload = 2u32.to_be_bytes().to_vec();
    payload.extend(block(&GET));
    c.recv(&raw(5, 4, 1, &payload), now);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::ProtocolError));
    let e = c.with_recv_head(1, |r| r.take_head()).unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
}

#[test]
fn enable_push_is_advertised_by_a_client_only() {
    let now = Instant::now();
    let client = |push| {
        let cfg = config(|c| c.enable_push = push);
        first_settings(&H2Core::new(Role::Client, cfg, now)).enable_push
    };
    assert_eq!(client(false), Some(false));
    assert_eq!(client(true), Some(true));
    let cfg = config(|c| c.enable_push = true);
    let server = H2Core::new(Role::Server, cfg, now);
    assert_eq!(first_settings(&server).enable_push, None);
}

#[test]
fn a_server_pushes_and_a_client_that_accepts_gets_an_incoming_stream() {
    let mut p = Pair::with_client(|c| c.enable_push = true);
    let (id, sid) = p.request("GET", "/", true);
    head_of(&mut p.s, sid);
    let pushed = p.s.push_promise(sid, &css()).unwrap();
    assert_eq!(pushed, 2);
    assert_eq!(p.s.state(pushed), StreamState::Idle, "reserved (local)");
    assert!(
        p.s.events.incoming().is_empty(),
        "a pushed stream is not an incoming one"
    );
    p.s.write_headers(sid, &Headers::response(StatusCode::OK), false)
        .unwrap();
    p.s.write_body(sid, b"<link href=/style.css>", true)
        .unwrap();
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-type", "text/css");
    p.s.write_headers(pushed, &res, false).unwrap();
    assert_eq!(p.s.state(pushed), StreamState::HalfClosedRemote);
    p.s.write_body(pushed, b"body{}", true).unwrap();
    let f = frames(&p.s.out);
    let at = |x: &F| f.iter().position(|y| y == x).unwrap();
    assert!(
        at(&F::PushPromise { id: 1, promised: 2 })
            < at(&F::Data {
                id: 1,
                len: 22,
                end: true
            }),
        "the promise goes before the body that refers to it: {f:?}"
    );
    p.pump();
    assert!(p.s.is_idle(), "both server streams are done");
    // The client: its request, and the push as an incoming stream.
    assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::OK));
    assert!(body_of(&mut p.c, id).1);
    assert_eq!(p.c.pop_incoming(), Some(2));
    let promised = head_of(&mut p.c, 2);
    assert_eq!(promised.method(), Some(Method::GET));
    assert_eq!(promised.path(), Some("/style.css"));
    assert_eq!(promised.get(":authority"), Some(&b"example.com"[..]));
    let head = head_of(&mut p.c, 2);
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(head.get("content-type"), Some(&b"text/css"[..]));
    assert_eq!(body_of(&mut p.c, 2), (b"body{}".to_vec(), true));
    assert!(p.c.is_idle());
    assert!(
        p.c.write_body(2, b"x", true).is_err(),
        "a client sends nothing on a push"
    );
}

#[test]
fn the_frames_of_a_push() {
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, true), now);
    let a = s.push_promise(1, &css()).unwrap();
    let head = Headers::request(Method::HEAD, "/style.css", Some("example.com"));
    let b = s.push_promise(1, &head).unwrap();
    assert_eq!((a, b), (2, 4), "even ids, increasing");
    let out = std::mem::take(&mut s.out);
    let mut dec = HpackDecoder::new();
    let got = blocks(&out, &mut dec);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, F::PushPromise { id: 1, promised: 2 });
    assert_eq!(got[1].0, F::PushPromise { id: 1, promised: 4 });
    let fields: Vec<(&str, &str)> = got[0]
        .1
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/style.css")
        ]
    );
    assert_eq!(got[1].1[0], (":method".into(), "HEAD".into()));
    // Each promised stream is answered as any other; a HEAD has no body.
    s.write_headers(a, &Headers::response(StatusCode::OK), false)
        .unwrap();
    s.write_body(a, b"abc", true).unwrap();
    let mut res = Headers::response(StatusCode::OK);
    res.append("content-length", "3");
    s.write_headers(b, &res, false).unwrap();
    s.write_body(b, b"abc", true).unwrap();
    assert_eq!(
        take(&mut s),
        [
            F::Headers { id: 2, end: false },
            F::Data {
                id: 2,
                len: 3,
                end: true
            },
            F::Headers { id: 4, end: false },
            F::Data {
                id: 4,
                len: 0,
                end: true
            }
        ]
    );
    // The pushed streams are done; the request stream still waits for its answer.
    assert_eq!(s.in_flight(), 1);
}

#[test]
fn a_large_promised_request_goes_out_with_continuation_frames() {
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, true), now);
    let mut big = css();
    big.append("x-large", "v".repeat(40_000));
    s.push_promise(1, &big).unwrap();
    let f = take(&mut s);
    assert_eq!(f[0], F::PushPromise { id: 1, promised: 2 });
    assert!(f.len() >= 3 && f[1..].iter().all(|f| *f == F::Continuation { id: 1 }));
}

#[test]
fn push_promise_refuses_what_rfc_9113_does_not_allow() {
    let now = Instant::now();
    let kind = |r: Result<u64>| r.unwrap_err().kind();
    // A client does not push.
    let mut c = client_with(H2Config::default(), now);
    let id = request(&mut c, "GET", "/", false);
    assert_eq!(kind(c.push_promise(id, &css())), ErrorKind::InvalidState);
    // A client that disabled push.
    let (mut s, now) = server();
    let mut off = Vec::new();
    let st = Settings {
        enable_push: Some(false),
        ..Settings::default()
    };
    encode_settings(&st, &mut off);
    s.recv(&off, now);
    s.recv(&headers(1, &GET, true), now);
    let e = s.push_promise(1, &css()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert!(e.message().contains("SETTINGS_ENABLE_PUSH"), "{e}");
    // Streams that are not a client's open or half-closed (remote) request.
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, true), now);
    s.recv(&headers(3, &GET, true), now);
    s.write_headers(3, &Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    let pushed = s.push_promise(1, &css()).unwrap();
    for on in [3, pushed, 5, 0] {
        assert_eq!(
            kind(s.push_promise(on, &css())),
            ErrorKind::InvalidState,
            "{on}"
        );
    }
    // Requests that cannot be promised.
    let post = Headers::request(Method::POST, "/", Some("example.com"));
    let no_authority = Headers::request(Method::GET, "/", None);
    let mut content = css();
    content.append("content-length", "5");
    let mut no_path = Headers::new();
    no_path.append(":method", "GET");
    no_path.append(":authority", "example.com");
    for bad in [post, no_authority, content, no_path] {
        assert_eq!(
            kind(s.push_promise(1, &bad)),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert!(take(&mut s)
        .iter()
        .all(|f| *f == F::PushPromise { id: 1, promised: 2 } || matches!(f, F::Headers { .. })));
    // Stream ids run out.
    s.next_local_id = MAX_STREAM_ID + 1;
    assert_eq!(kind(s.push_promise(1, &css())), ErrorKind::Closed);
    // After the client's GOAWAY.
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, false), now);
    s.recv(&raw(7, 0, 0, &[0; 8]), now);
    assert_eq!(kind(s.push_promise(1, &css())), ErrorKind::Closed);
}

#[test]
fn pushes_stay_within_the_clients_concurrency_limit() {
    let now = Instant::now();
    let mut s = H2Core::new(Role::Server, H2Config::default(), now);
    let mut input = PREFACE.to_vec();
    let st = Settings {
        max_concurrent_streams: Some(1),
        ..Settings::default()
    };
    encode_settings(&st, &mut input);
    input.extend(headers(1, &GET, true));
    s.recv(&input, now);
    let a = s.push_promise(1, &css()).unwrap();
    let e = s.push_promise(1, &css()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(
        e.message().contains("SETTINGS_MAX_CONCURRENT_STREAMS"),
        "{e}"
    );
    // The client's own requests do not count; a finished push frees its slot.
    s.recv(&headers(3, &GET, false), now);
    s.write_headers(a, &Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    assert_eq!(s.push_promise(1, &css()).unwrap(), 4);
}

#[test]
fn a_push_the_client_cancels_is_gone_for_the_server() {
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, false), now);
    let pushed = s.push_promise(1, &css()).unwrap();
    s.recv(
        &raw(3, 0, u32::try_from(pushed).unwrap(), &8u32.to_be_bytes()),
        now,
    );
    let e = s.write_headers(pushed, &Headers::response(StatusCode::OK), false);
    assert!(e.is_err());
    assert_eq!(s.in_flight(), 1, "only the request is left");
    take(&mut s);
    // The request stream can still promise and answer.
    assert_eq!(s.push_promise(1, &css()).unwrap(), 4);
}

#[test]
fn a_client_refuses_a_push_by_resetting_it() {
    let (mut c, now) = client_asking(with_push(), true);
    let mut enc = HpackEncoder::new();
    c.recv(&promise_with(&mut enc, 1, 2, &GET), now);
    assert_eq!(c.pop_incoming(), Some(2));
    assert_eq!(c.state(2), StreamState::Idle, "reserved (remote)");
    c.reset(2).unwrap();
    assert_eq!(rst_code(&mut c, 2), Some(ErrorCode::Cancel));
    // What the server sent before it saw the reset is dropped quietly.
    c.recv(
        &headers_with(&mut enc, 2, &[(":status", "200")], false),
        now,
    );
    c.recv(&data(2, b"late", true), now);
    assert!(take(&mut c)
        .iter()
        .all(|f| matches!(f, F::WindowUpdate { .. })));
    assert!(!c.is_done());
    // Stream 1 still gets its answer, HPACK in step.
    c.recv(&headers_with(&mut enc, 1, &[(":status", "200")], true), now);
    assert_eq!(head_of(&mut c, 1).status(), Some(StatusCode::OK));
}

#[test]
fn a_pushed_response_to_head_has_no_body() {
    let now = Instant::now();
    let mut c = push_client(now);
    request(&mut c, "GET", "/", false);
    let mut head = GET.to_vec();
    head[0] = (":method", "HEAD");
    let mut enc = HpackEncoder::new();
    c.recv(&promise_with(&mut enc, 1, 2, &head), now);
    let res = [(":status", "200"), ("content-length", "10")];
    c.recv(&headers_with(&mut enc, 2, &res, true), now);
    assert_eq!(head_of(&mut c, 2).method(), Some(Method::HEAD));
    assert_eq!(head_of(&mut c, 2).status(), Some(StatusCode::OK));
    assert_eq!(body_of(&mut c, 2), (vec![], true));
}

#[test]
fn bad_promised_requests_are_stream_errors_and_hpack_stays_in_step() {
    let mut post = GET.to_vec();
    post[0] = (":method", "POST");
    let mut no_authority = GET.to_vec();
    no_authority.remove(2);
    let mut content = GET.to_vec();
    content.push(("content-length", "4"));
    let mut malformed = GET.to_vec();
    malformed.push(("connection", "close"));
    let big = "x".repeat(300);
    let mut too_large = GET.to_vec();
    too_large.push(("x-big", &big));
    for fields in [post, no_authority, content, malformed, too_large] {
        let mut cfg = with_push();
        cfg.max_header_list_size = 250;
        let (mut c, now) = client_asking(cfg, true);
        let mut enc = HpackEncoder::new();
        c.recv(&promise_with(&mut enc, 1, 2, &fields), now);
        assert_eq!(
            rst_code(&mut c, 2),
            Some(ErrorCode::ProtocolError),
            "{fields:?}"
        );
        assert!(c.events.incoming().is_empty() && !c.is_done(), "{fields:?}");
        // Promise 4 reuses what promise 2 put in the table.
        c.recv(&promise_with(&mut enc, 1, 4, &GET), now);
        assert_eq!(c.pop_incoming(), Some(4), "{fields:?}");
        assert_eq!(
            head_of(&mut c, 4).get(":authority"),
            Some(&b"example.com"[..])
        );
    }
}

#[test]
fn bad_promises_are_connection_errors() {
    let now = Instant::now();
    // (what the server sends after our request on stream 1 got its answer on stream 3,
    // which ended; stream 5 was never opened)
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("odd promised id", promise(1, 7, &GET)),
        ("promised id not above the last", {
            let mut v = promise(1, 4, &GET);
            v.extend(promise(1, 2, &GET));
            v
        }),
        ("promised id reused", {
            let mut v = promise(1, 2, &GET);
            v.extend(promise(1, 2, &GET));
            v
        }),
        ("on a stream that ended", promise(3, 2, &GET)),
        ("on a stream never opened", promise(5, 2, &GET)),
        ("on a pushed stream", {
            let mut v = promise(1, 2, &GET);
            v.extend(promise(2, 4, &GET));
            v
        }),
        ("on stream 0", raw(5, 4, 0, &[0, 0, 0, 2, 0x82])),
        ("DATA on a reserved stream", {
            let mut v = promise(1, 2, &GET);
            v.extend(data(2, b"x", false));
            v
        }),
        ("WINDOW_UPDATE on a reserved stream", {
            let mut v = promise(1, 2, &GET);
            v.extend(raw(8, 0, 2, &100u32.to_be_bytes()));
            v
        }),
    ];
    for (what, input) in cases {
        let mut c = push_client(now);
        request(&mut c, "GET", "/", false);
        request(&mut c, "GET", "/", true);
        c.recv(&headers(3, &[(":status", "204")], true), now);
        take(&mut c);
        c.recv(&input, now);
        assert_eq!(
            goaway_code(&mut c),
            Some(ErrorCode::ProtocolError),
            "{what}"
        );
        assert!(c.is_done(), "{what}");
    }
}

#[test]
fn a_promise_on_a_stream_we_reset_is_cancelled() {
    let now = Instant::now();
    let mut c = push_client(now);
    request(&mut c, "GET", "/", false);
    c.reset(1).unwrap();
    take(&mut c);
    let mut enc = HpackEncoder::new();
    c.recv(&promise_with(&mut enc, 1, 2, &GET), now);
    assert_eq!(rst_code(&mut c, 2), Some(ErrorCode::Cancel));
    assert!(c.events.incoming().is_empty() && !c.is_done());
    // HPACK followed the cancelled block.
    request(&mut c, "GET", "/", false);
    c.recv(&promise_with(&mut enc, 3, 4, &GET), now);
    assert_eq!(c.pop_incoming(), Some(4));
    assert_eq!(head_of(&mut c, 4).path(), Some("/"));
}

#[test]
fn pushes_beyond_our_concurrency_limit_are_refused() {
    let mut cfg = with_push();
    cfg.max_concurrent_streams = 2;
    let (mut c, now) = client_asking(cfg, false);
    let mut enc = HpackEncoder::new();
    for promised in [2, 4, 6] {
        c.recv(&promise_with(&mut enc, 1, promised, &GET), now);
    }
    assert_eq!(rst_code(&mut c, 6), Some(ErrorCode::RefusedStream));
    assert_eq!(*c.events.incoming(), [2, 4]);
    // A push that finished frees its slot.
    c.recv(&headers_with(&mut enc, 2, &[(":status", "204")], true), now);
    head_of(&mut c, 2);
    head_of(&mut c, 2);
    assert_eq!(c.with_recv(2, |r| r.take_head()).unwrap().unwrap(), None);
    c.recv(&promise_with(&mut enc, 1, 8, &GET), now);
    assert_eq!(*c.events.incoming(), [4, 8], "2 is over and gone");
}

#[test]
fn a_server_rejects_push_promise_from_a_client() {
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, false), now);
    s.recv(&promise(1, 2, &GET), now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
}
