//! The deadlines: keep-alive PINGs, output stalled on a closed window, the idle timeout,
//! unacknowledged SETTINGS, and a client's response deadlines (each stream's own, behind the
//! connection's one `Response` wake-up).

use super::*;

#[test]
fn keepalive_pings_and_gives_up_without_an_answer() {
    let cfg = H2Config {
        keepalive_interval: Some(Duration::from_secs(5)),
        keepalive_timeout: Duration::from_secs(2),
        ..H2Config::default()
    };
    let t0 = Instant::now();
    let mut c = client_with(cfg, t0);
    assert_eq!(c.deadline(), Some(t0 + Duration::from_secs(5)));
    c.on_timeout(t0 + Duration::from_secs(5));
    let f = take(&mut c);
    assert!(
        f.contains(&F::Ping {
            ack: false,
            data: KEEPALIVE_PING
        }),
        "{f:?}"
    );
    // The answer clears it; the next ping is due an interval after the peer was heard.
    let t1 = t0 + Duration::from_secs(6);
    let mut ack = Vec::new();
    encode_ping(true, KEEPALIVE_PING, &mut ack);
    c.recv(&ack, t1);
    assert_eq!(c.deadline(), Some(t1 + Duration::from_secs(5)));
    c.on_timeout(t1 + Duration::from_secs(5));
    take(&mut c);
    c.on_timeout(t1 + Duration::from_secs(7));
    assert!(c.is_done());
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::NoError));
    assert_eq!(
        c.failure.as_ref().map(Error::kind),
        Some(ErrorKind::TimedOut)
    );
}

#[test]
fn output_stalled_on_a_closed_window_is_reset_after_the_stall_timeout() {
    let cfg = config(|c| c.send_stall_timeout = Some(Duration::from_secs(5)));
    let t0 = Instant::now();
    let mut s = H2Core::new(Role::Server, cfg, t0);
    let mut input = PREFACE.to_vec();
    let closed = Settings {
        initial_window_size: Some(0),
        ..Settings::default()
    };
    encode_settings(&closed, &mut input);
    encode_settings_ack(&mut input);
    input.extend(headers(1, &GET, true));
    s.recv(&input, t0);
    take(&mut s);
    s.write_headers(1, &Headers::response(StatusCode::OK), false)
        .unwrap();
    s.write_body(1, &[7; 100], true).unwrap();
    let f = take(&mut s);
    assert!(!f.iter().any(|x| matches!(x, F::Data { .. })), "{f:?}");
    assert_eq!(s.deadline(), Some(t0 + Duration::from_secs(5)));
    // Credit for 10 bytes is progress: the clock starts again when it stalls anew.
    let mut wu = Vec::new();
    encode_window_update(1, 10, &mut wu);
    let t1 = t0 + Duration::from_secs(3);
    s.recv(&wu, t1);
    assert!(take(&mut s).contains(&F::Data {
        id: 1,
        len: 10,
        end: false
    }));
    assert_eq!(s.deadline(), Some(t1 + Duration::from_secs(5)));
    s.on_timeout(t1 + Duration::from_secs(5));
    assert_eq!(rst_code(&mut s, 1), Some(ErrorCode::Cancel));
    assert!(s.is_idle(), "the stalled stream and its buffer are gone");
}

#[test]
fn idle_connection_goes_away_after_its_timeout() {
    let (mut s, now) = server();
    let t = s.deadline().unwrap();
    assert_eq!(t, now + Duration::from_secs(120));
    s.on_timeout(t);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::NoError));
    assert!(s.is_done());
}

#[test]
fn unacknowledged_settings_time_out() {
    let now = Instant::now();
    let mut c = H2Core::new(Role::Client, H2Config::default(), now);
    let first = take(&mut c);
    assert_eq!(first[0], F::Settings { ack: false });
    assert!(matches!(first[1], F::WindowUpdate { id: 0, .. }));
    let t = c.deadline().unwrap();
    assert_eq!(t, now + Duration::from_secs(10));
    c.on_timeout(t - Duration::from_millis(1));
    assert!(c.out.is_empty());
    c.on_timeout(t);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::SettingsTimeout));
    assert!(c.is_done());
    // A deadline passed: the connection fails as timed out, with the code it sent.
    let e = c.failure.clone().expect("the connection failed");
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(e.h2_code(), Some(ErrorCode::SettingsTimeout.as_u32()));
    assert_eq!(e.errno(), Some(libc::ETIMEDOUT));
}

// A client's response deadlines (`response_timeout`, `response_read_timeout`), on a lone
// client core fed the server's frames by hand at the instants the tests choose.

const FIRST: Duration = Duration::from_secs(5);
const READ: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_nanos(1);

/// The defaults with response deadlines `first` (to the first frame) and `read` (between
/// frames).
fn timed(first: Option<Duration>, read: Option<Duration>) -> H2Config {
    config(|c| {
        c.response_timeout = first;
        c.response_read_timeout = read;
    })
}

/// The application's call ended at `t`: the face hands the core the time.
fn app_done(c: &mut H2Core, t: Instant) {
    c.note_time(&mut crate::clock::LazyNow::at(t));
}

const OK: [(&str, &str); 1] = [(":status", "200")];

/// The error stream `id` failed with, asked for its next head.
fn head_error(c: &mut H2Core, id: u64) -> Error {
    c.with_recv_head(id, |r| r.take_head())
        .unwrap()
        .expect_err("the stream failed")
}

/// The body bytes stream `id` has now (it has not ended).
fn body_so_far(c: &mut H2Core, id: u64) -> Vec<u8> {
    let (b, ended) = body_of(c, id);
    assert!(!ended, "the body goes on");
    b
}

fn cancel(id: u64) -> F {
    F::Rst {
        id: id as u32,
        code: ErrorCode::Cancel,
    }
}

#[test]
fn an_unanswered_stream_is_reset_at_its_response_timeout_and_the_connection_goes_on() {
    let t0 = Instant::now();
    let mut c = client_with(timed(Some(FIRST), None), t0);
    let a = request(&mut c, "GET", "/a", true);
    app_done(&mut c, t0);
    let t1 = t0 + Duration::from_secs(1);
    let b = request(&mut c, "GET", "/b", true);
    app_done(&mut c, t1);
    take(&mut c);
    assert_eq!(c.deadline(), Some(t0 + FIRST));
    c.on_timeout(t0 + FIRST - TICK);
    assert!(c.out.is_empty());
    c.on_timeout(t0 + FIRST);
    assert_eq!(take(&mut c), [cancel(a)]);
    let e = head_error(&mut c, a);
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(e.message(), "no response within 5 s");
    assert_eq!(e.h2_code(), Some(ErrorCode::Cancel.as_u32()));
    assert_eq!(e.errno(), Some(libc::ETIMEDOUT));
    assert_eq!(c.deadline(), Some(t1 + FIRST), "b's deadline is the next");
    // b is answered just in time, and the connection goes on.
    c.recv(&headers(3, &OK, true), t1 + FIRST - TICK);
    assert_eq!(head_of(&mut c, b).status(), Some(StatusCode::OK));
    c.on_timeout(t1 + FIRST);
    assert!(c.out.is_empty() && !c.is_done() && c.failure.is_none());
    let d = request(&mut c, "GET", "/d", true);
    c.recv(&headers(5, &OK, true), t1 + FIRST);
    assert_eq!(head_of(&mut c, d).status(), Some(StatusCode::OK));
}

#[test]
fn a_stalled_response_is_reset_at_its_read_timeout_and_every_read_pushes_it_back() {
    let t0 = Instant::now();
    let mut c = client_with(timed(Some(FIRST), Some(READ)), t0);
    let id = request(&mut c, "GET", "/", true);
    app_done(&mut c, t0);
    take(&mut c);
    let t1 = t0 + Duration::from_secs(1);
    c.recv(&headers(1, &OK, false), t1);
    assert_eq!(c.deadline(), Some(t1 + READ), "the response is in progress");
    assert_eq!(head_of(&mut c, id).status(), Some(StatusCode::OK));
    let t2 = t1 + Duration::from_secs(1);
    c.recv(&data(1, b"abc", false), t2);
    // The application does not take the bytes: the wait is its own. The wake-up armed
    // before finds nothing due.
    c.on_timeout(t1 + READ);
    assert!(c.out.is_empty());
    assert_eq!(c.deadline(), None);
    // It takes them an hour later: the server has the whole time again from then.
    let t3 = t2 + Duration::from_secs(3600);
    assert_eq!(body_so_far(&mut c, id), b"abc");
    app_done(&mut c, t3);
    assert_eq!(c.deadline(), Some(t3 + READ));
    let t4 = t3 + READ - TICK;
    c.recv(&data(1, b"de", false), t4);
    assert_eq!(body_so_far(&mut c, id), b"de");
    app_done(&mut c, t4);
    // The wake-up stays at the earlier instant, finds nothing due there and moves on.
    c.on_timeout(t3 + READ);
    assert!(c.out.is_empty());
    assert_eq!(c.deadline(), Some(t4 + READ));
    c.on_timeout(t4 + READ - TICK);
    assert!(c.out.is_empty());
    c.on_timeout(t4 + READ);
    assert_eq!(take(&mut c), [cancel(id)]);
    let e = c
        .with_recv(id, |r| r.drain_all(&mut Vec::new()))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(e.message(), "the response stalled: nothing for 2 s");
    assert!(!c.is_done());
}

#[test]
fn a_stream_waiting_for_a_concurrency_slot_is_waited_for_once_it_went_out() {
    let t0 = Instant::now();
    let mut c = H2Core::new(Role::Client, timed(Some(FIRST), None), t0);
    let mut input = Vec::new();
    let one = Settings {
        max_concurrent_streams: Some(1),
        ..Settings::default()
    };
    encode_settings(&one, &mut input);
    encode_settings_ack(&mut input);
    c.recv(&input, t0);
    let a = request(&mut c, "GET", "/a", true);
    let b = request(&mut c, "GET", "/b", true);
    app_done(&mut c, t0);
    take(&mut c);
    assert_eq!(c.deadline(), Some(t0 + FIRST), "a's only");
    // a's answer frees the slot at t1: b goes out, and its wait starts.
    let t1 = t0 + Duration::from_secs(4);
    c.recv(&headers(1, &OK, true), t1);
    assert!(take(&mut c).contains(&F::Headers { id: 3, end: true }));
    assert_eq!(head_of(&mut c, a).status(), Some(StatusCode::OK));
    c.on_timeout(t0 + FIRST);
    assert!(c.out.is_empty(), "b's wait started at t1");
    assert_eq!(c.deadline(), Some(t1 + FIRST));
    c.on_timeout(t1 + FIRST);
    assert_eq!(take(&mut c), [cancel(b)]);
}

#[test]
fn an_interim_answer_gives_the_final_one_the_response_timeout_again() {
    let t0 = Instant::now();
    let mut c = client_with(timed(Some(FIRST), None), t0);
    let id = request(&mut c, "GET", "/", true);
    app_done(&mut c, t0);
    take(&mut c);
    let t1 = t0 + FIRST - TICK;
    c.recv(&headers(1, &[(":status", "103")], false), t1);
    c.on_timeout(t0 + FIRST);
    assert!(c.out.is_empty());
    assert_eq!(c.deadline(), Some(t1 + FIRST));
    c.on_timeout(t1 + FIRST);
    assert_eq!(take(&mut c), [cancel(id)]);
}

#[test]
fn the_wait_starts_when_the_request_has_ended() {
    let t0 = Instant::now();
    let mut c = client_with(timed(Some(FIRST), None), t0);
    let id = request(&mut c, "POST", "/up", false);
    app_done(&mut c, t0);
    assert_eq!(c.deadline(), None, "an upload's time is not the server's");
    let t1 = t0 + Duration::from_secs(60);
    c.write_body(id, b"abc", true).unwrap();
    app_done(&mut c, t1);
    assert_eq!(c.deadline(), Some(t1 + FIRST));
}

#[test]
fn an_h2c_upgraded_stream_waits_for_its_final_answer_from_the_switch() {
    let t0 = Instant::now();
    let c = H2Core::upgraded_client(timed(Some(FIRST), None), t0, false);
    assert_eq!(c.deadline(), Some(t0 + FIRST));
}

#[test]
fn the_response_deadlines_are_off_by_default_and_on_a_server() {
    let t0 = Instant::now();
    let mut c = client_with(H2Config::default(), t0);
    assert!(!c.times_responses());
    let id = request(&mut c, "GET", "/", true);
    app_done(&mut c, t0);
    assert_eq!(c.deadline(), None);
    let t1 = t0 + Duration::from_secs(86_400);
    c.recv(&headers(1, &OK, false), t1);
    c.recv(&data(1, b"ab", false), t1);
    assert_eq!(body_so_far(&mut c, id), b"ab");
    app_done(&mut c, t1);
    assert!(!c.timers.is_armed(Timer::Response) && c.clocks_owed.is_empty());
    assert_eq!(c.deadline(), None);
    // A server given a client's deadlines keeps none (`H2Config::from_config` drops them
    // for a server, and the core asks its role too).
    let (mut s, t0) = server_configured(timed(Some(FIRST), Some(READ)));
    s.recv(&headers(1, &GET, true), t0);
    assert!(!s.times_responses());
    s.write_headers(1, &Headers::response(StatusCode::OK), false)
        .unwrap();
    app_done(&mut s, t0);
    assert!(!s.timers.is_armed(Timer::Response));
}
