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

#[test]
fn a_null_argument_is_einval_naming_the_call_and_the_argument() {
    // SAFETY: NULL is what is being tested; the strings are NUL-terminated.
    let r = unsafe { pollhttp_headers_append(std::ptr::null_mut(), c"a".as_ptr(), c"b".as_ptr()) };
    assert_eq!(r, POLLHTTP_EINVAL);
    assert_eq!(
        last_message(),
        "pollhttp_headers_append: argument `headers` is NULL"
    );
    // A call that returns a value gives its fallback, and says why the same way.
    // SAFETY: NULL is accepted.
    assert_eq!(unsafe { pollhttp_headers_count(std::ptr::null()) }, 0);
    assert_eq!(
        last_message(),
        "pollhttp_headers_count: argument `headers` is NULL"
    );
}

#[test]
fn string_and_byte_arguments_are_checked_in_order() {
    // SAFETY: every pointer is NULL or a NUL-terminated string, or `len` readable bytes.
    unsafe {
        let bad = [0xffu8, 0];
        let h = pollhttp_headers_new_request(bad.as_ptr().cast(), c"/".as_ptr(), std::ptr::null());
        assert!(h.is_null());
        assert_eq!(
            last_message(),
            "pollhttp_headers_new_request: argument `method` is not UTF-8"
        );
        let h = pollhttp_headers_new_request(c"GET".as_ptr(), c"/".as_ptr(), std::ptr::null());
        assert!(!h.is_null());
        let r = pollhttp_headers_append_n(h, c"x".as_ptr(), 1, std::ptr::null(), 3, 0);
        assert_eq!(r, POLLHTTP_EINVAL);
        assert_eq!(
            last_message(),
            "pollhttp_headers_append_n: argument `value` is NULL"
        );
        let r = pollhttp_headers_append_n(h, c"x-a".as_ptr(), 3, std::ptr::null(), 0, 1);
        assert_eq!(r, POLLHTTP_OK);
        let (mut name, mut name_len) = (std::ptr::null(), 0);
        let (mut value, mut value_len) = (std::ptr::null(), 1);
        let last = pollhttp_headers_count(h) - 1;
        let r = pollhttp_headers_field(
            h,
            last,
            &mut name,
            &mut name_len,
            &mut value,
            &mut value_len,
        );
        assert_eq!(r, POLLHTTP_OK);
        let n = std::slice::from_raw_parts(name.cast::<u8>(), name_len);
        assert_eq!((n, value_len), (&b"x-a"[..], 0));
        let r = pollhttp_headers_field(
            h,
            last + 1,
            &mut name,
            &mut name_len,
            &mut value,
            &mut value_len,
        );
        assert_eq!(r, POLLHTTP_END);
        pollhttp_headers_free(h);
    }
}

#[test]
fn a_refused_setting_keeps_the_old_value_and_says_why() {
    // SAFETY: the configuration is the one just made, freed once at the end.
    unsafe {
        let c = pollhttp_config_new();
        assert_eq!(pollhttp_config_set_max_head_size(c, 0), POLLHTTP_EINVAL);
        assert_eq!(
            last_message(),
            "pollhttp_config_set_max_head_size: max_head_size 0: it must be at least 1"
        );
        assert_eq!(pollhttp_config_set_max_head_size(c, 1024), POLLHTTP_OK);
        assert_eq!((*c).0.max_head_size, 1024);
        pollhttp_config_free(c);
    }
}
