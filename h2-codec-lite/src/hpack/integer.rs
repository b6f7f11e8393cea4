//! Prefix-N integers (RFC 7541 §5.1).

/// Why an integer could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegerError {
    /// The input ended inside the integer.
    Truncated,
    /// The value exceeds the caller's bound, or uses more continuation
    /// octets than any value within `u32` needs.
    Overflow,
}

/// At most this many continuation octets are accepted (enough for any
/// value up to 2^32 + 2^8); longer encodings, including ones padded with
/// zero-valued continuation octets, are rejected as overflow.
const MAX_CONTINUATION_OCTETS: usize = 5;

/// Appends `value` as an integer with an N-bit prefix (`prefix_bits` in
/// 1..=8). The bits of `first_byte` above the prefix (representation
/// pattern bits) are kept; its prefix bits must be zero.
pub fn encode_integer(value: usize, prefix_bits: u8, first_byte: u8, dst: &mut Vec<u8>) {
    debug_assert!((1..=8).contains(&prefix_bits));
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        dst.push(first_byte | value as u8);
        return;
    }
    dst.push(first_byte | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 128 {
        dst.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    dst.push(rest as u8);
}

/// Decodes an integer with an N-bit prefix from the front of `buf`,
/// returning the value and the number of octets used. Values above `max`
/// are rejected with [`IntegerError::Overflow`] without ever overflowing
/// arithmetic.
pub fn decode_integer(buf: &[u8], prefix_bits: u8, max: u32) -> Result<(u32, usize), IntegerError> {
    debug_assert!((1..=8).contains(&prefix_bits));
    let first = *buf.first().ok_or(IntegerError::Truncated)?;
    let max_prefix = (1u32 << prefix_bits) - 1;
    let mut value = u32::from(first) & max_prefix;
    if value < max_prefix {
        return if value > max {
            Err(IntegerError::Overflow)
        } else {
            Ok((value, 1))
        };
    }
    let mut acc = u64::from(value);
    for i in 0..MAX_CONTINUATION_OCTETS {
        let b = *buf.get(1 + i).ok_or(IntegerError::Truncated)?;
        acc += u64::from(b & 0x7f) << (7 * i);
        if acc > u64::from(max) {
            return Err(IntegerError::Overflow);
        }
        if b & 0x80 == 0 {
            value = acc as u32;
            return Ok((value, 2 + i));
        }
    }
    Err(IntegerError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: usize, n: u8) -> Vec<u8> {
        let mut out = Vec::new();
        encode_integer(v, n, 0, &mut out);
        out
    }

    /// RFC 7541 C.1.1: 10 with a 5-bit prefix.
    #[test]
    fn c_1_1() {
        assert_eq!(enc(10, 5), [0x0a]);
        assert_eq!(decode_integer(&[0x0a], 5, u32::MAX), Ok((10, 1)));
    }

    /// RFC 7541 C.1.2: 1337 with a 5-bit prefix.
    #[test]
    fn c_1_2() {
        assert_eq!(enc(1337, 5), [0x1f, 0x9a, 0x0a]);
        assert_eq!(
            decode_integer(&[0x1f, 0x9a, 0x0a], 5, u32::MAX),
            Ok((1337, 3))
        );
        // Pattern bits above the prefix are ignored by the decoder.
        assert_eq!(
            decode_integer(&[0xff, 0x9a, 0x0a], 5, u32::MAX),
            Ok((1337, 3))
        );
    }

    /// RFC 7541 C.1.3: 42 starting at an octet boundary (8-bit prefix).
    #[test]
    fn c_1_3() {
        assert_eq!(enc(42, 8), [0x2a]);
        assert_eq!(decode_integer(&[0x2a], 8, u32::MAX), Ok((42, 1)));
    }

    #[test]
    fn pattern_bits_kept() {
        let mut v = Vec::new();
        encode_integer(62, 7, 0x80, &mut v);
        assert_eq!(v, [0xbe]);
        v.clear();
        encode_integer(127, 7, 0x80, &mut v);
        assert_eq!(v, [0xff, 0x00]);
    }

    #[test]
    fn round_trips_every_prefix() {
        for n in 1..=8u8 {
            for v in (0..300usize).chain([16_383, 65_535, 1 << 24, u32::MAX as usize]) {
                let e = enc(v, n);
                assert_eq!(
                    decode_integer(&e, n, u32::MAX),
                    Ok((v as u32, e.len())),
                    "{v} {n}"
                );
            }
        }
    }

    #[test]
    fn truncated() {
        assert_eq!(decode_integer(&[], 5, 100), Err(IntegerError::Truncated));
        assert_eq!(
            decode_integer(&[0x1f], 5, 10_000),
            Err(IntegerError::Truncated)
        );
        assert_eq!(
            decode_integer(&[0x1f, 0x9a], 5, 10_000),
            Err(IntegerError::Truncated)
        );
    }

    #[test]
    fn overflow_and_bounds() {
        assert_eq!(
            decode_integer(&[0x1f, 0x9a, 0x0a], 5, 1336),
            Err(IntegerError::Overflow)
        );
        assert_eq!(decode_integer(&[0x0a], 5, 9), Err(IntegerError::Overflow));
        // 2^32 exactly does not fit.
        let e = enc(1 << 32, 8);
        assert_eq!(decode_integer(&e, 8, u32::MAX), Err(IntegerError::Overflow));
        // Endless continuation octets (value 0 each) are refused.
        let mut bomb = vec![0x1f];
        bomb.extend(std::iter::repeat(0x80).take(100));
        bomb.push(0);
        assert_eq!(
            decode_integer(&bomb, 5, u32::MAX),
            Err(IntegerError::Overflow)
        );
        // Huge value.
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(
            decode_integer(&huge, 8, u32::MAX),
            Err(IntegerError::Overflow)
        );
    }
}
