//! The deadlines of the HTTP/1 core, asserted at their instants: the head timeout
//! (slowloris), the release of what an idle connection kept for reuse, the idle keep-alive
//! timeout, and a client's response deadlines (to the first byte, between reads). The idle
//! timeout's tests turn the release off, so that the idle deadline is the only one armed.

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

// The client's response deadlines (`Config::response_timeout`, `response_read_timeout`), on a
// lone client core fed the server's bytes by hand at the instants the tests choose.

const FIRST: Duration = Duration::from_secs(5);
const READ: Duration = Duration::from_secs(2);

/// A client with response deadlines `first` (to the first byte) and `read` (between reads),
/// and its idle deadlines off, so that the response ones are all it arms.
fn timed_client(first: Option<Duration>, read: Option<Duration>, t0: Instant) -> H1Core {
    let cfg = Config {
        response_timeout: first,
        response_read_timeout: read,
        idle_timeout: None,
        idle_release: None,
        ..Config::default()
    };
    H1Core::new(Role::Client, Arc::new(cfg), 1, t0)
}

/// The application's call ended at `t`: the face hands the core the time.
fn app_done(c: &mut H1Core, t: Instant) {
    c.note_time(&mut LazyNow::at(t));
}

/// A step at `t`: the deadline fires if it passed.
fn step_at(c: &mut H1Core, t: Instant) {
    if c.deadline().is_some_and(|d| t >= d) {
        c.on_timeout(t);
    }
}

/// The body bytes stream `id` has now (it has not ended).
fn body_so_far(c: &mut H1Core, id: u64) -> Vec<u8> {
    let mut b = Vec::new();
    let ended = c.with_recv(id, |r| r.drain_all(&mut b)).unwrap().unwrap();
    assert!(!ended, "the body goes on");
    b
}

/// The error stream `id` failed with, asked for its next head.
fn head_error(c: &mut H1Core, id: u64) -> Error {
    c.with_recv_head(id, |r| r.take_head())
        .unwrap()
        .expect_err("the stream failed")
}

#[test]
fn no_answer_fails_the_exchange_and_those_behind_it_exactly_at_the_response_timeout() {
    let t0 = Instant::now();
    let mut c = timed_client(Some(FIRST), None, t0);
    let a = client_get(&mut c, "GET");
    let b = client_get(&mut c, "GET");
    app_done(&mut c, t0);
    assert_eq!(c.deadline(), Some(t0 + FIRST));
    step_at(&mut c, t0 + FIRST - TICK);
    assert!(!c.is_done());
    assert!(head_error(&mut c, a).is_would_block(), "still waiting");
    step_at(&mut c, t0 + FIRST);
    assert!(
        c.is_done(),
        "an HTTP/1 connection cannot be reused after that"
    );
    for id in [a, b] {
        let e = head_error(&mut c, id);
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
        assert_eq!(e.message(), "no response within 5 s");
        assert_eq!(e.errno(), Some(libc::ETIMEDOUT));
    }
    assert_eq!(c.failure().map(Error::kind), Some(ErrorKind::TimedOut));
    assert_eq!(c.deadline(), None);
}

#[test]
fn the_wait_for_an_answer_starts_at_the_end_of_the_request_not_its_head() {
    let t0 = Instant::now();
    let mut c = timed_client(Some(FIRST), None, t0);
    let id = c.new_stream().unwrap();
    let mut h = Headers::request(Method::POST, "/up", Some("h"));
    h.append("content-length", "3");
    c.write_headers(id, &h, false).unwrap();
    app_done(&mut c, t0);
    assert_eq!(c.deadline(), None, "an upload's time is not the server's");
    let t1 = t0 + Duration::from_secs(60);
    c.write_body(id, b"abc", true).unwrap();
    app_done(&mut c, t1);
    assert_eq!(c.deadline(), Some(t1 + FIRST));
    // The first byte of the answer, just in time, stops the clock.
    let t2 = t1 + FIRST - TICK;
    assert_eq!(c.recv(b"H", t2), 0);
    assert_eq!(c.deadline(), None, "no read deadline is set");
    step_at(&mut c, t1 + FIRST);
    assert!(!c.is_done());
    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    c.recv(answer, t1 + Duration::from_secs(3600));
    assert_eq!(head_of(&mut c, id).status(), Some(StatusCode::OK));
}

#[test]
fn a_stalled_response_fails_at_the_read_timeout_and_every_read_pushes_it_back() {
    let t0 = Instant::now();
    let mut c = timed_client(Some(FIRST), Some(READ), t0);
    let id = client_get(&mut c, "GET");
    app_done(&mut c, t0);
    let t1 = t0 + Duration::from_secs(1);
    let part = b"HTTP/1.1 200 OK\r\nContent-Le";
    assert_eq!(c.recv(part, t1), 0);
    assert_eq!(c.deadline(), Some(t1 + READ), "a head in progress");
    // The face offers the same bytes again with nothing new: no read.
    let t2 = t1 + Duration::from_secs(1);
    assert_eq!(c.recv(part, t2), 0);
    assert_eq!(c.deadline(), Some(t1 + READ));
    let more = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc";
    assert_eq!(c.recv(more, t2), more.len());
    assert_eq!(
        c.deadline(),
        None,
        "the application has bytes to take: the wait is its own"
    );
    // It takes them an hour later: the server has the whole time again from then.
    let t3 = t2 + Duration::from_secs(3600);
    step_at(&mut c, t3);
    assert_eq!(head_of(&mut c, id).status(), Some(StatusCode::OK));
    assert_eq!(body_so_far(&mut c, id), b"abc");
    app_done(&mut c, t3);
    assert_eq!(c.deadline(), Some(t3 + READ));
    let t4 = t3 + READ - TICK;
    step_at(&mut c, t4);
    c.recv(b"de", t4);
    assert_eq!(body_so_far(&mut c, id), b"de");
    app_done(&mut c, t4);
    assert_eq!(c.deadline(), Some(t4 + READ), "a read pushes it back");
    step_at(&mut c, t4 + READ - TICK);
    assert!(!c.is_done());
    step_at(&mut c, t4 + READ);
    assert!(c.is_done());
    // After the bytes that did arrive, the error.
    let mut rest = Vec::new();
    let e = c
        .with_recv(id, |r| r.drain_all(&mut rest))
        .unwrap()
        .unwrap_err();
    assert!(rest.is_empty());
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(e.message(), "the response stalled: nothing for 2 s");
}

#[test]
fn a_pipelined_request_is_waited_for_from_the_end_of_the_answer_before_it() {
    let t0 = Instant::now();
    let mut c = timed_client(Some(FIRST), None, t0);
    let a = client_get(&mut c, "GET");
    let b = client_get(&mut c, "GET");
    app_done(&mut c, t0);
    let t1 = t0 + Duration::from_secs(4);
    c.recv(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", t1);
    assert_eq!(
        c.deadline(),
        Some(t1 + FIRST),
        "b's answer is due from a's end"
    );
    assert_eq!(body_of(&mut c, a), b"A");
    app_done(&mut c, t1 + Duration::from_secs(1));
    assert_eq!(c.deadline(), Some(t1 + FIRST), "a clock that runs goes on");
    step_at(&mut c, t1 + FIRST - TICK);
    assert!(!c.is_done());
    step_at(&mut c, t1 + FIRST);
    assert_eq!(head_error(&mut c, b).kind(), ErrorKind::TimedOut);
}

#[test]
fn an_interim_answer_gives_the_final_one_the_response_timeout_again() {
    let t0 = Instant::now();
    let mut c = timed_client(Some(FIRST), None, t0);
    let id = client_get(&mut c, "GET");
    app_done(&mut c, t0);
    let t1 = t0 + FIRST - TICK;
    c.recv(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", t1);
    assert_eq!(c.deadline(), Some(t1 + FIRST));
    assert_eq!(head_of(&mut c, id).status().map(|s| s.as_u16()), Some(103));
    step_at(&mut c, t1 + FIRST);
    assert_eq!(head_error(&mut c, id).kind(), ErrorKind::TimedOut);
}

#[test]
fn the_response_deadlines_are_off_by_default() {
    let t0 = Instant::now();
    let mut c = H1Core::new(Role::Client, cfg(), 1, t0);
    assert!(!c.times_responses());
    let id = client_get(&mut c, "GET");
    app_done(&mut c, t0);
    let armed =
        |c: &H1Core| c.timers.is_armed(Timer::Response) || c.timers.is_armed(Timer::ResponseRead);
    assert!(!armed(&c));
    assert_eq!(c.deadline(), None, "a request in flight has no deadline");
    let t1 = t0 + Duration::from_secs(86_400);
    c.recv(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", t1);
    assert!(!armed(&c));
    assert_eq!(body_so_far(&mut c, id), b"ab");
    app_done(&mut c, t1);
    assert!(!armed(&c));
    assert_eq!(c.deadline(), None);
    c.recv(b"cd", t1 + Duration::from_secs(86_400));
    assert_eq!(body_of(&mut c, id), b"cd");
}

#[test]
fn with_the_response_deadlines_on_both_roles_keep_their_other_deadlines() {
    let mut p = Pair::with(Config {
        response_timeout: Some(FIRST),
        response_read_timeout: Some(READ),
        ..Config::default()
    });
    // An exchange answered in time: the idle deadlines follow it as before.
    p.exchange(b"x");
    let t1 = p.now;
    assert_eq!(p.s.deadline(), Some(t1 + idle_release()));
    assert_eq!(p.c.deadline(), Some(t1 + idle_release()));
    p.at(t1, idle_release());
    assert_eq!(p.c.deadline(), Some(t1 + idle_timeout()));
    // A head trickling in still gets the server's 408 at the head timeout; the client
    // (whose request is all in its output, as far as it can know) gives up at its own.
    p.hold();
    let t2 = p.now;
    let id = client_get(&mut p.c, "GET");
    p.deliver(3);
    assert_eq!(p.s.deadline(), Some(t2 + head_timeout()));
    assert_eq!(p.c.deadline(), Some(t2 + FIRST));
    p.at(t2, FIRST - TICK);
    assert!(!p.c.is_done());
    p.at(t2, FIRST);
    assert!(p.c.is_done() && !p.s.is_done());
    assert_eq!(head_error(&mut p.c, id).kind(), ErrorKind::TimedOut);
    assert_eq!(p.s.deadline(), Some(t2 + head_timeout()));
    p.at(t2, head_timeout());
    assert!(p.s.is_done());
    assert!(String::from_utf8_lossy(&p.to_c).starts_with("HTTP/1.1 408 "));
}
