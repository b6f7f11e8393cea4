//! Malformed messages (RFC 9113 §8.1.1, §8.2): bad heads, trailers and content-lengths are
//! stream errors; oversized heads are answered 431 or refused.

use super::*;

#[test]
fn malformed_requests_are_reset_with_protocol_error() {
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            ("X-Upper", "1"),
        ],
        vec![(":method", "GET"), (":scheme", "https")],
        vec![
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            ("connection", "close"),
        ],
        vec![
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            ("te", "gzip"),
        ],
        vec![
            ("x", "1"),
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
        ],
        vec![
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            (":foo", "1"),
        ],
    ];
    for fields in cases {
        let (s, code) = server_answer(&[headers(1, &fields, true)]);
        assert_eq!(code, Some(ErrorCode::ProtocolError), "{fields:?}");
        assert!(s.events.incoming().is_empty());
        assert!(!s.is_done(), "a stream error leaves the connection up");
    }
}

#[test]
fn pseudo_headers_in_trailers_are_malformed() {
    let (mut s, now) = server();
    s.recv(&post_headers(1, "2"), now);
    s.recv(&data(1, b"hi", false), now);
    assert_eq!(
        s.pop_incoming(),
        Some(1),
        "the application takes the stream"
    );
    s.recv(&headers(1, &[(":path", "/")], true), now);
    assert_eq!(rst_code(&mut s, 1), Some(ErrorCode::ProtocolError));
    head_of(&mut s, 1);
    let chunk = s.with_recv(1, |r| r.take_chunk(10)).unwrap().unwrap();
    assert_eq!(
        chunk,
        crate::recv::Chunk::Data(b"hi".to_vec()),
        "data before the error"
    );
    let e = s.with_recv(1, |r| r.take_chunk(10)).unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
}

#[test]
fn trailers_without_end_stream_are_malformed() {
    let (_, code) = server_answer(&[post_headers(1, "0"), headers(1, &[("x", "1")], false)]);
    assert_eq!(code, Some(ErrorCode::ProtocolError));
}

#[test]
fn content_length_must_match_the_data() {
    let (_, code) = server_answer(&[post_headers(1, "5"), data(1, b"abc", true)]);
    assert_eq!(code, Some(ErrorCode::ProtocolError));
    let (_, code) = server_answer(&[post_headers(1, "2"), data(1, b"abc", false)]);
    assert_eq!(code, Some(ErrorCode::ProtocolError));
    let (_, code) = server_answer(&[post_headers(1, "3"), data(1, b"abc", true)]);
    assert_eq!(code, None);
}

#[test]
fn a_header_list_over_the_limit_is_refused_and_hpack_stays_in_sync() {
    let (mut s, now) = server_configured(config(|c| c.max_header_list_size = 200));
    let big = "x".repeat(300);
    let mut f = GET.to_vec();
    f.push(("x-big", &big));
    let mut enc = HpackEncoder::new();
    s.recv(&headers_with(&mut enc, 1, &f, true), now);
    assert_eq!(statuses(&mut s), [(1, 431)], "answered, not reset");
    // The next block refers to fields the refused one put in the table.
    let next = headers_with(&mut enc, 3, &GET, true);
    assert_eq!(
        next.len(),
        9 + 4,
        "four indexed fields, one from the refused block"
    );
    s.recv(&next, now);
    assert_eq!(*s.events.incoming(), [3]);
    assert_eq!(
        head_of(&mut s, 3).get(":authority"),
        Some(&b"example.com"[..])
    );
}

#[test]
fn an_interim_response_with_end_stream_is_malformed() {
    let (mut c, now) = client_asking(H2Config::default(), true);
    c.recv(&headers(1, &[(":status", "103")], true), now);
    assert_eq!(rst_code(&mut c, 1), Some(ErrorCode::ProtocolError));
    // The caller's error is the protocol violation, with the code of the RST_STREAM sent.
    let e = c.with_recv_head(1, |r| r.take_head()).unwrap().unwrap_err();
    assert_eq!(
        (e.kind(), e.h2_code()),
        (ErrorKind::Protocol, Some(1)),
        "{e}"
    );
}

#[test]
fn a_body_over_the_limit_resets_the_stream() {
    let (mut s, now) = server_configured(config(|c| c.max_recv_body = Some(10)));
    s.recv(&post_headers(1, "100"), now);
    assert_eq!(
        rst_code(&mut s, 1),
        Some(ErrorCode::Cancel),
        "declared too long"
    );
    s.recv(&headers(3, &GET[..], false), now);
    assert_eq!(s.pop_incoming(), Some(3));
    s.recv(&data(3, &[0; 11], false), now);
    assert_eq!(
        rst_code(&mut s, 3),
        Some(ErrorCode::Cancel),
        "sent too long"
    );
    let e = s.with_recv(3, |r| r.take_head().and_then(|_| r.take_chunk(100)));
    let e = e.unwrap().unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (ErrorKind::Limit, Some(http::StatusCode::PAYLOAD_TOO_LARGE))
    );
}

#[test]
fn a_request_head_over_the_list_size_is_answered_431_and_the_upload_stopped() {
    let (mut s, now) = server_configured(config(|c| c.max_header_list_size = 200));
    let big = "x".repeat(300);
    let mut f = post("100");
    f.push(("x-big", big));
    let f: Vec<(&str, &str)> = f.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut enc = HpackEncoder::new();
    s.recv(&headers_with(&mut enc, 1, &f, false), now);
    let out = std::mem::take(&mut s.out);
    let fr = frames(&out);
    assert_eq!(
        fr,
        [
            F::Headers { id: 1, end: false },
            F::Data {
                id: 1,
                len: 32,
                end: true
            },
            F::Rst {
                id: 1,
                code: ErrorCode::NoError
            }
        ]
    );
    let heads = blocks(&out, &mut HpackDecoder::new());
    let head = &heads[0].1;
    assert!(head.contains(&(":status".into(), "431".into())), "{head:?}");
    assert!(head.contains(&("content-type".into(), "text/plain".into())));
    assert!(
        s.events.incoming().is_empty() && s.events.ready_list().is_empty(),
        "the application never sees it"
    );
    assert!(s.is_idle());
    // The body still on its way is dropped, its credit returned, nothing reset again.
    s.recv(&data(1, &[0; 100], true), now);
    assert!(take(&mut s)
        .iter()
        .all(|f| matches!(f, F::WindowUpdate { .. })));
    s.recv(&headers_with(&mut enc, 3, &GET, true), now);
    assert_eq!(*s.events.incoming(), [3]);
    assert_eq!(head_of(&mut s, 3).path(), Some("/"));
}

#[test]
fn a_request_with_more_fields_than_max_headers_is_answered_431() {
    let (mut s, now) = server_configured(config(|c| c.max_headers = 3));
    let mut f = GET.to_vec();
    f.extend([("a", "1"), ("b", "2"), ("c", "3")]);
    s.recv(&headers(1, &f, true), now);
    f.push(("d", "4"));
    s.recv(&headers(3, &f, true), now);
    assert_eq!(statuses(&mut s), [(3, 431)]);
    assert_eq!(*s.events.incoming(), [1], "three fields pass, four do not");
    assert!(!s.is_done());
}

#[test]
fn a_response_with_more_fields_than_max_headers_is_a_stream_error() {
    let (mut c, now) = client_asking(config(|c| c.max_headers = 1), true);
    c.recv(
        &headers(1, &[(":status", "200"), ("a", "1"), ("b", "2")], true),
        now,
    );
    assert_eq!(rst_code(&mut c, 1), Some(ErrorCode::ProtocolError));
    let e = c.with_recv_head(1, |r| r.take_head()).unwrap().unwrap_err();
    assert!(e.message().contains("max_headers"), "{e}");
}
