//! The deadlines of the HTTP/1 core, asserted at their instants: the head timeout
//! (slowloris), the release of what an idle connection kept for reuse, and the idle
//! keep-alive timeout. The idle timeout's tests turn the release off, so that the idle
//! deadline is the only one armed.

use super::*;

#[test]
fn head_timeout_answers_408() {
    let mut s = server();
    let t0 = Instant::now();
    s.recv(b"GET / HT", t0);
    let d = s.deadline().unwrap();
    assert_eq!(d, t0 + Config::default().head_timeout.unwrap());
    s.on_timeout(d);
    assert!(take_out(&mut s).starts_with("HTTP/1.1 408 "));
    assert!(s.is_done());
}

#[test]
fn idle_timeout_closes_quietly() {
    let t0 = Instant::now();
    let mut s = H1Core::new(Role::Server, cfg(), 1, t0);
    let d = s.deadline().unwrap();
    s.on_timeout(d);
    assert!(s.is_done());
    assert!(s.out.is_empty());
}

/// The configured timeouts, and the smallest step of the clock.
fn head_timeout() -> Duration {
    Config::default().head_timeout.unwrap()
}

fn idle_timeout() -> Duration {
    Config::default().idle_timeout.unwrap()
}

const TICK: Duration = Duration::from_nanos(1);

/// A pair whose only idle deadline is the idle timeout (nothing kept is released).
fn pair_keeping_its_reuse() -> Pair {
    Pair::with(Config {
        idle_release: None,
        ..Config::default()
    })
}

fn idle_release() -> Duration {
    Config::default().idle_release.unwrap()
}

#[test]
fn what_an_idle_connection_kept_for_reuse_is_given_back_at_idle_release() {
    let mut p = Pair::new();
    p.exchange(b"x");
    let first =
        p.s.server_reuse
            .as_ref()
            .map(|r| r.request.kept_bytes().is_some());
    assert_eq!(
        first,
        Some(true),
        "the server keeps the request head it parsed"
    );
    assert!(p.s.streams.capacity() > 0 && p.c.reuse.is_some());
    // Back to back, the next exchange finds what was kept.
    p.exchange(b"x");
    let t1 = p.now;
    assert_eq!(p.s.deadline(), Some(t1 + idle_release()));
    assert_eq!(p.c.deadline(), Some(t1 + idle_release()));
    p.at(t1, idle_release() - TICK);
    assert!(p.s.server_reuse.is_some() && p.s.streams.capacity() > 0);
    p.at(t1, idle_release());
    assert!(
        p.s.server_reuse.is_none(),
        "the server's heads are given back"
    );
    assert_eq!(p.s.streams.capacity(), 0, "and its stream room");
    assert!(
        p.c.reuse.is_none() && p.c.streams.capacity() == 0,
        "the client's too"
    );
    assert_eq!((p.s.out.capacity(), p.c.out.capacity()), (0, 0));
    // Released once: the idle timeout is what is left, counted from the same instant.
    assert_eq!(p.s.deadline(), Some(t1 + idle_timeout()));
    assert!(!p.s.is_done() && !p.c.is_done());
    assert!(p.to_c.is_empty() && p.to_s.is_empty(), "nothing is said");
    // The connection goes on: the next exchange is the same on the wire.
    p.exchange(b"x");
    assert!(p.s.server_reuse.is_some(), "kept again");
}

#[test]
fn an_idle_connection_closes_quietly_at_the_idle_timeout_counted_from_its_last_exchange() {
    let mut p = pair_keeping_its_reuse();
    let t0 = p.now;
    assert_eq!(p.s.deadline(), Some(t0 + idle_timeout()));
    assert_eq!(p.c.deadline(), Some(t0 + idle_timeout()));
    // An exchange late in the first idle period starts the clock again on both sides.
    p.at(t0, idle_timeout() - Duration::from_secs(10));
    p.exchange(b"x");
    let t1 = p.now;
    assert_eq!(p.s.deadline(), Some(t1 + idle_timeout()));
    assert_eq!(p.c.deadline(), Some(t1 + idle_timeout()));
    p.at(t0, idle_timeout());
    assert!(
        !p.s.is_done() && !p.c.is_done(),
        "the first period's end is gone"
    );
    p.at(t1, idle_timeout() - TICK);
    assert!(!p.s.is_done() && !p.c.is_done());
    p.at(t1, idle_timeout());
    assert!(p.s.is_done() && p.c.is_done());
    assert!(
        p.to_c.is_empty() && p.to_s.is_empty(),
        "nothing is said on closing"
    );
    // Noted idle again after the step (as the face does while output is pending), a
    // finished connection arms no deadline.
    assert_eq!((p.s.deadline(), p.c.deadline()), (None, None));
}

#[test]
fn a_request_in_flight_arms_no_deadline_and_the_idle_clock_starts_at_its_answer() {
    let mut p = pair_keeping_its_reuse();
    let t0 = p.now;
    let (id, sid) = p.request("GET", "/", true);
    head_of(&mut p.s, sid);
    // The application takes an hour to answer: neither core times the exchange out.
    assert_eq!(p.s.deadline(), None);
    assert_eq!(p.c.deadline(), None);
    p.at(t0, Duration::from_secs(3600));
    assert!(!p.s.is_done() && !p.c.is_done());
    p.answer(sid, 200, b"late");
    assert_eq!(body_of(&mut p.c, id), b"late");
    p.pump();
    let t1 = p.now;
    assert_eq!(p.s.deadline(), Some(t1 + idle_timeout()));
    p.at(t1, idle_timeout() - TICK);
    assert!(!p.s.is_done());
    p.at(t1, idle_timeout());
    assert!(p.s.is_done());
}

#[test]
fn a_head_trickling_in_gets_408_at_the_head_timeout_counted_from_its_first_byte() {
    let mut p = Pair::new();
    let t0 = p.now;
    p.hold();
    let id = p.c.new_stream().unwrap();
    p.c.write_headers(id, &Headers::request(Method::GET, "/", Some("h")), true)
        .unwrap();
    p.at(t0, Duration::from_secs(5));
    p.deliver(3);
    let t1 = p.now;
    assert_eq!(
        p.s.deadline(),
        Some(t1 + head_timeout()),
        "the head clock replaces the idle one"
    );
    // A byte every ten seconds does not move the deadline (slowloris).
    for k in 1..=2 {
        p.at(t1, Duration::from_secs(10 * k));
        p.deliver(1);
        assert_eq!(p.s.deadline(), Some(t1 + head_timeout()));
    }
    assert_eq!(p.c.deadline(), None, "a client waiting for its answer");
    p.at(t1, head_timeout() - TICK);
    assert!(p.to_c.is_empty() && !p.s.is_done());
    p.at(t1, head_timeout());
    assert!(p.s.is_done());
    let h = head_of(&mut p.c, id);
    assert_eq!(h.status(), Some(StatusCode::REQUEST_TIMEOUT));
    assert_eq!(h.get_str("connection"), Some("close"));
}

#[test]
fn a_pipelined_head_gets_its_own_head_clock_and_its_408_after_the_answer_before_it() {
    let mut p = Pair::new();
    let t0 = p.now;
    p.hold();
    let a = client_get(&mut p.c, "GET");
    let b = client_get(&mut p.c, "GET");
    p.pump();
    let one = p.wire.len() / 2;
    p.deliver(one - 1);
    assert_eq!(p.s.deadline(), Some(t0 + head_timeout()));
    // The first head completes just in time; the second starts its own clock.
    p.at(t0, head_timeout() - TICK);
    p.deliver(1 + 3);
    let sa = p.s.pop_incoming().unwrap();
    let t1 = p.now;
    assert_eq!(p.s.deadline(), Some(t1 + head_timeout()));
    p.at(t1, head_timeout() - TICK);
    assert!(!p.s.is_done());
    // At the deadline the second request is refused, but its 408 waits for the first
    // request's answer (answers go out in request order).
    p.at(t1, head_timeout());
    assert!(p.to_c.is_empty(), "{:?}", String::from_utf8_lossy(&p.to_c));
    assert!(!p.s.is_done());
    head_of(&mut p.s, sa);
    p.answer(sa, 200, b"A");
    assert_eq!(head_of(&mut p.c, a).status(), Some(StatusCode::OK));
    assert_eq!(body_of(&mut p.c, a), b"A");
    assert_eq!(
        head_of(&mut p.c, b).status(),
        Some(StatusCode::REQUEST_TIMEOUT)
    );
    assert!(p.s.is_done());
}

#[test]
fn with_the_timeouts_off_no_deadline_is_armed() {
    let mut p = Pair::with(Config {
        head_timeout: None,
        idle_timeout: None,
        idle_release: None,
        ..Config::default()
    });
    let t0 = p.now;
    p.exchange(b"x");
    assert_eq!((p.s.deadline(), p.c.deadline()), (None, None));
    // A head left half-sent for a day is still waited for.
    p.hold();
    client_get(&mut p.c, "GET");
    p.deliver(3);
    assert_eq!(p.s.deadline(), None);
    p.at(t0, Duration::from_secs(86_400));
    assert!(!p.s.is_done() && !p.c.is_done());
    assert!(p.to_c.is_empty());
}
