//! The HTTP `Date` (RFC 9110 5.6.7) of the responses a connection writes: each connection owns
//! a [`DateCache`], formatted at most once a second from the monotonic `now` the step already
//! read.

use std::time::{Duration, Instant, SystemTime};

/// The IMF-fixdate of the current second, owned by one connection: the wall clock is read and
/// formatted again only when the monotonic `now` passed in says the second is over. It holds
/// nothing but the time (no request data), and goes with its connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DateCache {
    /// When the kept value stops being current (`None`: nothing kept yet).
    until: Option<Instant>,
    value: [u8; 29],
}

impl DateCache {
    /// The IMF-fixdate of now (RFC 9110 5.6.7), formatted again only once the second of the
    /// one kept is over.
    pub(crate) fn get(&mut self, now: Instant) -> [u8; 29] {
        self.refresh(now);
        self.value
    }

    /// The new value if the kept one's second is over at `now` (or none was kept), else
    /// `None`: what a connection hands its core only when it changed.
    #[inline]
    pub(crate) fn refresh(&mut self, now: Instant) -> Option<[u8; 29]> {
        if self.until.is_some_and(|until| now < until) {
            return None;
        }
        self.format(now);
        Some(self.value)
    }

    /// Reads the wall clock and formats it, kept until its second is over (by `now`).
    #[cold]
    fn format(&mut self, now: Instant) {
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let left = Duration::from_secs(1) - Duration::from_nanos(wall.subsec_nanos() as u64);
        self.until = Some(now + left);
        self.value = format_date(wall.as_secs());
    }
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
