//! The connection's start and control frames: the preface, the first SETTINGS, the
//! `HTTP2-Settings` payload, PING, and connection errors of the field-block sequence.

use super::*;

#[test]
fn bad_http2_settings_payloads_are_refused() {
    let now = Instant::now();
    let req = || Headers::request(Method::GET, "/", Some("a"));
    // Not a multiple of 6 bytes; ENABLE_PUSH = 2; INITIAL_WINDOW_SIZE above 2^31-1.
    for bad in [
        &[0u8, 4, 0][..],
        &[0, 2, 0, 0, 0, 2],
        &[0, 4, 0x80, 0, 0, 0],
    ] {
        let e = H2Core::upgraded_server(H2Config::default(), now, bad, req()).err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Protocol), "{bad:?}");
    }
}

#[test]
fn ping_is_answered_with_the_same_data() {
    let (mut s, now) = server();
    s.recv(&raw(6, 0, 0, b"12345678"), now);
    assert_eq!(
        take(&mut s),
        [F::Ping {
            ack: true,
            data: *b"12345678"
        }]
    );
}

#[test]
fn a_wrong_preface_is_a_protocol_error() {
    let now = Instant::now();
    let mut s = H2Core::new(Role::Server, H2Config::default(), now);
    take(&mut s);
    assert_eq!(
        s.recv(b"PRI * HTTP/2.0\r\n\r\nSM\r\n", now),
        0,
        "partial: wait"
    );
    s.recv(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
    assert!(s.is_done() && !s.wants_read());
}

#[test]
fn the_first_frame_must_be_settings() {
    let now = Instant::now();
    let mut s = H2Core::new(Role::Server, H2Config::default(), now);
    take(&mut s);
    let mut input = PREFACE.to_vec();
    input.extend(raw(6, 0, 0, b"12345678"));
    s.recv(&input, now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
}

#[test]
fn a_frame_inside_a_header_block_is_a_protocol_error() {
    let (mut s, now) = server();
    let b = block(&GET);
    let mut v = raw(1, 0, 1, &b[..3]); // HEADERS without END_HEADERS
    v.extend(raw(6, 0, 0, b"12345678"));
    s.recv(&v, now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::ProtocolError));
}

#[test]
fn an_hpack_error_is_a_compression_error() {
    let (mut s, now) = server();
    s.recv(
        &raw(1, 5, 1, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        now,
    );
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::CompressionError));
}

#[test]
fn a_server_enabling_push_is_a_protocol_error() {
    let now = Instant::now();
    let mut c = H2Core::new(Role::Client, H2Config::default(), now);
    take(&mut c);
    c.recv(&raw(4, 0, 0, &[0, 2, 0, 0, 0, 1]), now);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::ProtocolError));
}
