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
