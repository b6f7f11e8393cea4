//! The deadlines of the HTTP/1 core, asserted at their instants: the head timeout
//! (slowloris) and the idle keep-alive timeout.

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
