use super::format_date;

#[test]
fn dates_are_imf_fixdate() {
    assert_eq!(&format_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(&format_date(784111777), b"Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(
        &format_date(1_709_251_199),
        b"Thu, 29 Feb 2024 23:59:59 GMT"
    );
}

#[test]
fn a_date_cache_formats_once_per_second_of_the_monotonic_clock() {
    use super::DateCache;
    use std::time::{Duration, Instant};
    let now = Instant::now();
    let mut cache = DateCache::default();
    let first = cache.get(now);
    assert!(
        first.ends_with(b" GMT"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
    // Within the second the kept value is returned as it is, whatever the wall clock says.
    cache.value = *b"Sun, 06 Nov 1994 08:49:37 GMT";
    assert_eq!(&cache.get(now), b"Sun, 06 Nov 1994 08:49:37 GMT");
    // Past it the wall clock is read again.
    assert_ne!(
        &cache.get(now + Duration::from_secs(1)),
        b"Sun, 06 Nov 1994 08:49:37 GMT"
    );
}
