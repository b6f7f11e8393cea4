//! The HTTP `Date` (RFC 9110 5.6.7) of the responses a connection writes: formatted at most once
//! a second per thread, from the monotonic `now` the step already read.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime};

thread_local! {
    static DATE: RefCell<(Option<Instant>, [u8; 29])> = const { RefCell::new((None, [0; 29])) };
}

/// The IMF-fixdate of now (RFC 9110 5.6.7), formatted once per second per thread: the
/// monotonic `now` the step already read says whether the cached one is still current.
pub(crate) fn http_date(now: Instant) -> [u8; 29] {
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0.is_none_or(|until| now >= until) {
            let wall = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let left = Duration::from_secs(1) - Duration::from_nanos(wall.subsec_nanos() as u64);
            *d = (Some(now + left), format_date(wall.as_secs()));
        }
        d.1
    })
}

pub(crate) fn format_date(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86400;
    let rem = secs % 86400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    let mut out = [0u8; 29];
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3..5].copy_from_slice(b", ");
    let two = |o: &mut [u8], v: u64| {
        o[0] = b'0' + (v / 10) as u8;
        o[1] = b'0' + (v % 10) as u8;
    };
    two(&mut out[5..7], day as u64);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    out[11] = b' ';
    let y = year as u64;
    two(&mut out[12..14], y / 100);
    two(&mut out[14..16], y % 100);
    out[16] = b' ';
    two(&mut out[17..19], h);
    out[19] = b':';
    two(&mut out[20..22], m);
    out[22] = b':';
    two(&mut out[23..25], s);
    out[25..].copy_from_slice(b" GMT");
    out
}

#[cfg(test)]
mod tests;
