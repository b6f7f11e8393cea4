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
