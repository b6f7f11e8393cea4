//! Tests of the boundary: a panic is caught and becomes `POLLHTTP_EPANIC`, every error kind
//! has its own code, a message with NUL bytes survives, timeouts round up.

use super::boundary::{guard, ms_until, set_last, timeout_arg};
use super::*;
use crate::ErrorKind;
use std::ffi::{c_int, CStr};
use std::time::{Duration, Instant};

fn last_message() -> String {
    // SAFETY: the message pointer is valid until the next failing call on this thread.
    unsafe { CStr::from_ptr(pollhttp_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_panic_becomes_epanic_and_does_not_unwind() {
    let r = guard("pollhttp_test", POLLHTTP_EPANIC, || -> c_int {
        panic!("boom at the boundary")
    });
    assert_eq!(r, POLLHTTP_EPANIC);
    // SAFETY: no arguments.
    assert_eq!(unsafe { pollhttp_last_error_code() }, POLLHTTP_EPANIC);
    let m = last_message();
    assert!(
        m.contains("pollhttp_test") && m.contains("boom at the boundary"),
        "{m}"
    );
}

#[test]
fn every_error_kind_has_its_own_code() {
    use ErrorKind::*;
    let kinds = [
        Io,
        TimedOut,
        Resolve,
        Connect,
        Protocol,
        Limit,
        Closed,
        Reset,
        Truncated,
        InvalidState,
        InvalidInput,
        WouldBlock,
        NoTls,
    ];
    let mut codes: Vec<c_int> = kinds.iter().map(|k| error_code(*k)).collect();
    assert!(codes.iter().all(|c| *c < 0 && *c != POLLHTTP_EOTHER));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), kinds.len());
}

#[test]
fn messages_with_nul_bytes_survive() {
    set_last(POLLHTTP_EINVAL, "a\0b", 0, 0, false);
    assert_eq!(last_message(), "a\\0b");
}

#[test]
fn timeouts_round_up_and_none_is_minus_one() {
    assert_eq!(ms_until(None), -1);
    assert_eq!(ms_until(Some(Instant::now() - Duration::from_secs(1))), 0);
    let t = ms_until(Some(Instant::now() + Duration::from_micros(1500)));
    assert!((1..=2).contains(&t), "{t}");
    assert_eq!(timeout_arg(-1), None);
    assert_eq!(timeout_arg(250), Some(Duration::from_millis(250)));
}
