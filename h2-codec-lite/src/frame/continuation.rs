//! CONTINUATION frames (RFC 9113 §6.10) and the HEADERS / PUSH_PROMISE
//! splitting helper.

use super::{flags, require_stream, FrameHeader, FrameType, MAX_ALLOWED_FRAME_SIZE};
use crate::error::FrameError;

/// A parsed CONTINUATION frame. Whether it may appear at all (only right
/// after a HEADERS / PUSH_PROMISE / CONTINUATION without END_HEADERS on the
/// same stream) is connection state, checked by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContinuationFrame<'a> {
    /// The stream (never 0).
    pub stream_id: u32,
    /// END_HEADERS flag.
    pub end_headers: bool,
    /// The field-block fragment (borrowed from the input).
    pub header_block: &'a [u8],
}

impl<'a> ContinuationFrame<'a> {
    /// Parses a CONTINUATION payload.
    ///
    /// Errors: stream 0 -> connection PROTOCOL_ERROR.
    pub fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Self, FrameError> {
        require_stream(
            header,
            "RFC 9113 §6.10: CONTINUATION frames MUST be associated with a stream",
        )?;
        Ok(ContinuationFrame {
            stream_id: header.stream_id,
            end_headers: header.flags & flags::END_HEADERS != 0,
            header_block: payload,
        })
    }
}

/// Appends one CONTINUATION frame.
pub fn encode_continuation(stream_id: u32, fragment: &[u8], end_headers: bool, dst: &mut Vec<u8>) {
    let len = u32::try_from(fragment.len()).expect("fragment too long");
    let fl = if end_headers { flags::END_HEADERS } else { 0 };
    FrameHeader::new(FrameType::Continuation, fl, stream_id, len).encode(dst);
    dst.extend_from_slice(fragment);
}

/// Writes a first frame of type `ty` (flags `first_flags` plus END_HEADERS
/// if it is the only frame) with `prefix` fixed fields and as much of
/// `block` as fits, then CONTINUATION frames for the rest.
pub(crate) fn encode_field_block(
    ty: FrameType,
    first_flags: u8,
    stream_id: u32,
    prefix: &[u8],
    block: &[u8],
    max_frame_size: u32,
    dst: &mut Vec<u8>,
) {
    assert!(
        max_frame_size <= MAX_ALLOWED_FRAME_SIZE,
        "max_frame_size above 2^24-1"
    );
    let max = max_frame_size as usize;
    assert!(max > prefix.len(), "max_frame_size too small");
    let first_room = max - prefix.len();
    let first_len = block.len().min(first_room);
    let (first, mut rest) = block.split_at(first_len);
    let mut fl = first_flags;
    if rest.is_empty() {
        fl |= flags::END_HEADERS;
    }
    FrameHeader::new(ty, fl, stream_id, (prefix.len() + first.len()) as u32).encode(dst);
    dst.extend_from_slice(prefix);
    dst.extend_from_slice(first);
    while !rest.is_empty() {
        let n = rest.len().min(max);
        let (chunk, tail) = rest.split_at(n);
        encode_continuation(stream_id, chunk, tail.is_empty(), dst);
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn round_trip() {
        let mut v = Vec::new();
        encode_continuation(3, b"abc", true, &mut v);
        assert_eq!(v, [0, 0, 3, 9, 4, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::Continuation(ContinuationFrame {
                stream_id: 3,
                end_headers: true,
                header_block: b"abc"
            })
        );
    }

    #[test]
    fn stream_zero_rejected() {
        assert_conn_err(decode_one(&raw(9, 4, 0, b"abc")), ErrorCode::ProtocolError);
    }

    #[test]
    fn empty_block_is_a_single_frame() {
        let mut v = Vec::new();
        encode_field_block(FrameType::Headers, 0, 1, &[], &[], 16_384, &mut v);
        assert_eq!(v, [0, 0, 0, 1, 4, 0, 0, 0, 1]);
    }
}
