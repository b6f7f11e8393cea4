//! Stream ids, states and concurrency (RFC 9113 §5.1): ids that go backwards, many streams
//! at once, streams queued beyond the peer's limit, refused streams and stream errors.

use super::*;

#[test]
fn a_lower_never_used_stream_id_is_a_protocol_error_a_closed_one_stream_closed() {
    let (mut s, now) = server();
    s.recv(&headers(5, &GET, true), now);
    s.recv(&headers(3, &GET, true), now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, true), now);
    head_of(&mut s, 1);
    s.write_headers(1, &Headers::response(StatusCode::NO_CONTENT), true)
        .unwrap();
    assert!(s.is_idle(), "stream 1 ran and is gone");
    take(&mut s);
    s.recv(&headers(1, &GET, true), now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::StreamClosed));
}

#[test]
fn many_concurrent_streams() {
    let mut p = Pair::with_defaults();
    let ids: Vec<u64> = (0..50)
        .map(|i| request(&mut p.c, "GET", &format!("/{i}"), true))
        .collect();
    p.pump();
    assert_eq!(p.s.events.incoming().len(), 50);
    while let Some(sid) = p.s.pop_incoming() {
        let path = head_of(&mut p.s, sid).path().unwrap().to_string();
        p.s.write_headers(sid, &Headers::response(StatusCode::OK), false)
            .unwrap();
        p.s.write_body(sid, path.as_bytes(), true).unwrap();
    }
    p.pump();
    for (i, id) in ids.into_iter().enumerate() {
        head_of(&mut p.c, id);
        assert_eq!(body_of(&mut p.c, id).0, format!("/{i}").into_bytes());
    }
    assert!(p.c.is_idle() && p.s.is_idle());
}

#[test]
fn a_client_queues_streams_beyond_the_servers_limit() {
    let mut p = Pair::with_server(|c| c.max_concurrent_streams = 2);
    let ids: Vec<u64> = (0..5)
        .map(|_| request(&mut p.c, "GET", "/", true))
        .collect();
    p.pump();
    assert_eq!(p.s.events.incoming().len(), 2, "only two streams opened");
    assert_eq!(p.c.state(ids[2]), StreamState::Idle);
    let mut answered = 0;
    while answered < 5 {
        let sid = p.s.pop_incoming().expect("a queued stream opened");
        head_of(&mut p.s, sid);
        p.s.write_headers(sid, &Headers::response(StatusCode::NO_CONTENT), true)
            .unwrap();
        answered += 1;
        p.pump();
        let open = p.s.streams.values().filter(|s| s.state.is_active()).count();
        assert!(open <= 2);
    }
    for id in ids {
        assert_eq!(head_of(&mut p.c, id).status(), Some(StatusCode::NO_CONTENT));
    }
}

#[test]
fn a_server_answering_before_the_request_body_ends_stops_the_upload() {
    let mut p = Pair::with_defaults();
    let id = p.c.new_stream().unwrap();
    p.c.write_headers(id, &Headers::request(Method::POST, "/", Some("x")), false)
        .unwrap();
    p.c.write_body(id, b"some", false).unwrap();
    p.pump();
    let sid = p.s.pop_incoming().unwrap();
    p.s.write_headers(sid, &Headers::response(StatusCode::PAYLOAD_TOO_LARGE), true)
        .unwrap();
    assert_eq!(
        frames(&p.s.out),
        [
            F::Headers { id: 1, end: true },
            F::Rst {
                id: 1,
                code: ErrorCode::NoError
            }
        ]
    );
    p.pump();
    assert!(p.s.is_idle());
    assert_eq!(
        head_of(&mut p.c, id).status(),
        Some(StatusCode::PAYLOAD_TOO_LARGE)
    );
    assert!(p.c.write_body(id, b"more", true).is_err());
}

#[test]
fn frames_on_idle_streams_are_protocol_errors() {
    for frame in [
        data(1, b"x", false),
        raw(3, 0, 1, &0u32.to_be_bytes()),   // RST_STREAM
        raw(8, 0, 5, &100u32.to_be_bytes()), // WINDOW_UPDATE
        headers(2, &GET, true),              // even id from a client
        raw(9, 4, 1, &[0x82]),               // CONTINUATION with no block
    ] {
        let (mut s, now) = server();
        s.recv(&frame, now);
        assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
    }
}

#[test]
fn data_after_end_stream_is_stream_closed() {
    let (_, code) = server_answer(&[headers(1, &GET, true), data(1, b"x", false)]);
    assert_eq!(code, Some(ErrorCode::StreamClosed));
}

#[test]
fn too_many_streams_are_refused() {
    let (mut s, now) = server_configured(config(|c| c.max_concurrent_streams = 1));
    s.recv(&headers(1, &GET, false), now);
    s.recv(&headers(3, &GET, false), now);
    assert_eq!(rst_code(&mut s, 3), Some(ErrorCode::RefusedStream));
    assert_eq!(*s.events.incoming(), [1]);
}

#[test]
fn self_dependency_is_a_stream_protocol_error() {
    let (_, code) = server_answer(&[raw(2, 0, 1, &[0, 0, 0, 1, 16])]);
    assert_eq!(code, Some(ErrorCode::ProtocolError));
    let mut v = Vec::new();
    let spec = PrioritySpec {
        exclusive: false,
        dependency: 1,
        weight: 16,
    };
    encode_headers(
        1,
        &block(&GET),
        true,
        Some(spec),
        DEFAULT_MAX_FRAME_SIZE,
        &mut v,
    );
    let (s, code) = server_answer(&[v]);
    assert_eq!(code, Some(ErrorCode::ProtocolError));
    assert!(s.events.incoming().is_empty());
}

#[test]
fn a_client_sees_a_refused_stream_as_safe_to_retry() {
    let (mut c, now) = client();
    let id = request(&mut c, "GET", "/", true);
    c.recv(&raw(3, 0, 1, &7u32.to_be_bytes()), now);
    let e = c
        .with_recv_head(id, |r| r.take_head())
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Reset);
    assert!(e.message().contains("safe to retry") && e.is_retryable());
    assert_eq!(e.h2_code(), Some(ErrorCode::RefusedStream.as_u32()));
}

/// Public stream ids are `u64`; one beyond HTTP/2's 31 bits names no stream and is refused
/// with an error, never truncated to a lower stream (`1 << 32 | 1` is not stream 1).
#[test]
fn a_stream_id_beyond_31_bits_is_refused_not_truncated() {
    let mut p = Pair::with_defaults();
    let (id, sid) = p.request("POST", "/up", false);
    assert_eq!(id, 1);
    assert_eq!(sid, 1);
    let invalid = |r: Result<()>| r.unwrap_err().kind() == ErrorKind::InvalidInput;
    for big in [1u64 << 32 | 1, 1 << 31 | 1, u64::MAX] {
        assert!(invalid(p.c.write_body(big, b"x", false)));
        assert!(invalid(p.c.write_headers(big, &Headers::new(), true)));
        assert!(invalid(p.c.reset(big)));
        assert!(!p.c.continue_pending(big));
        assert!(invalid(p.s.write_headers(
            big,
            &Headers::response(StatusCode::OK),
            true
        )));
        assert!(invalid(p.s.write_continue(big)));
        assert!(invalid(p.s.with_recv(big, |_| ())));
        assert!(invalid(p.s.with_recv_head(big, |_| ())));
        assert!(p
            .s
            .push_promise(big, &Headers::request(Method::GET, "/a", None))
            .is_err());
        assert_eq!(p.s.state(big), StreamState::Closed);
        assert_eq!(p.s.peer_version(big), None);
    }
    // Stream 1 saw none of it.
    p.pump();
    assert_eq!(head_of(&mut p.s, sid).path(), Some("/up"));
    assert_eq!(body_of(&mut p.s, sid), (vec![], false));
    p.c.write_body(1, b"ok", true).unwrap();
    p.pump();
    assert_eq!(body_of(&mut p.s, sid), (b"ok".to_vec(), true));
    assert_eq!(p.c.state(1), StreamState::HalfClosedLocal);
}
