//! GOAWAY (RFC 9113 §6.8): streams in flight finish, later ones fail as safe to retry.

use super::*;

#[test]
fn goaway_lets_streams_in_flight_finish_and_fails_later_ones_as_retryable() {
    let mut p = Pair::with_defaults();
    let a = request(&mut p.c, "GET", "/a", true);
    p.pump();
    let b = request(&mut p.c, "GET", "/b", true);
    // The server shuts down before it sees stream 3.
    p.s.shutdown();
    let goaway = std::mem::take(&mut p.s.out);
    assert_eq!(
        frames(&goaway),
        [F::GoAway {
            last: 1,
            code: ErrorCode::NoError
        }]
    );
    let hb = std::mem::take(&mut p.c.out);
    p.s.recv(&hb, p.now);
    assert_eq!(rst_code(&mut p.s, 3), Some(ErrorCode::RefusedStream));
    p.c.recv(&goaway, p.now);
    let err =
        p.c.with_recv_head(b, |r| r.take_head())
            .unwrap()
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(err.message().contains("safe to retry"), "{err}");
    assert!(err.is_retryable());
    assert!(p.c.new_stream().is_err(), "no new streams after GOAWAY");
    // Stream 1 still completes, then both sides are done.
    let sid = p.s.pop_incoming().unwrap();
    assert_eq!(sid, a);
    p.s.write_headers(sid, &Headers::response(StatusCode::OK), false)
        .unwrap();
    p.s.write_body(sid, b"bye", true).unwrap();
    p.pump();
    head_of(&mut p.c, a);
    assert_eq!(body_of(&mut p.c, a), (b"bye".to_vec(), true));
    assert!(p.s.is_done());
    assert!(p.c.is_done());
}

/// The GOAWAY frame a peer sends: NO_ERROR, `last` the last stream it processes.
fn goaway(last: u32) -> Vec<u8> {
    let mut v = Vec::new();
    h2_codec_lite::encode_goaway(last, ErrorCode::NoError, b"", &mut v);
    v
}

/// A client that sent GOAWAY is going away: the server tells the application no more streams
/// come, and refuses a stream the client still opens (not processed: safe to retry), while
/// the one in flight finishes.
#[test]
fn after_the_clients_goaway_the_server_takes_no_new_stream() {
    let (mut s, now) = server();
    assert!(!s.incoming_over(), "a server takes streams");
    s.recv(&headers(1, &GET, true), now);
    s.recv(&goaway(0), now);
    assert!(s.incoming_over());
    assert_eq!(s.pop_incoming(), Some(1), "stream 1 came before the GOAWAY");
    s.recv(&headers(3, &GET, true), now);
    assert_eq!(rst_code(&mut s, 3), Some(ErrorCode::RefusedStream));
    assert_eq!(s.pop_incoming(), None);
    s.write_headers(1, &Headers::response(StatusCode::OK), true)
        .unwrap();
    assert!(s.is_done(), "the stream in flight finished");
}

/// Our own shutdown: the GOAWAY we send ends the incoming streams too.
#[test]
fn after_our_goaway_no_stream_comes_in() {
    let (mut s, now) = server();
    s.recv(&headers(1, &GET, true), now);
    s.shutdown();
    assert!(s.incoming_over());
    s.recv(&headers(3, &GET, true), now);
    assert_eq!(rst_code(&mut s, 3), Some(ErrorCode::RefusedStream));
    assert_eq!(s.pop_incoming(), Some(1));
    assert_eq!(s.pop_incoming(), None);
}

/// A client takes incoming streams only as pushes: without push none ever comes; with push,
/// none after the server's GOAWAY (a promise made after it is refused).
#[test]
fn a_clients_incoming_streams_end_without_push_or_at_the_servers_goaway() {
    let now = Instant::now();
    assert!(client_with(H2Config::default(), now).incoming_over());
    let (mut c, now) = client_asking(with_push(), false);
    assert!(!c.incoming_over(), "pushes may come");
    let mut enc = HpackEncoder::new();
    c.recv(&promise_with(&mut enc, 1, 2, &GET), now);
    c.recv(&goaway(1), now);
    assert!(c.incoming_over());
    c.recv(&promise_with(&mut enc, 1, 4, &GET), now);
    assert_eq!(rst_code(&mut c, 4), Some(ErrorCode::RefusedStream));
    assert_eq!(*c.events.incoming(), [2], "only the push before the GOAWAY");
}
