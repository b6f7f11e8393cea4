//! The deadlines: keep-alive PINGs, output stalled on a closed window, the idle timeout and
//! unacknowledged SETTINGS.

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
