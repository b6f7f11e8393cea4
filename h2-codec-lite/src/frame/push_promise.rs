//! PUSH_PROMISE frames (RFC 9113 §6.6).

use super::continuation::encode_field_block;
use super::{flags, read_u31, require_stream, split_padded, FrameHeader, FrameType, MAX_STREAM_ID};
use crate::error::{ErrorCode, FrameError};

/// A parsed PUSH_PROMISE frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushPromiseFrame<'a> {
    /// The associated stream the promise is sent on (never 0).
    pub stream_id: u32,
    /// The stream reserved by the promise (never 0).
    pub promised_stream_id: u32,
    /// END_HEADERS flag.
    pub end_headers: bool,
    /// The field-block fragment, padding removed.
    pub header_block: &'a [u8],
    /// Pad Length, if the PADDED flag was set.
    pub pad_len: Option<u8>,
}

impl<'a> PushPromiseFrame<'a> {
    /// Parses a PUSH_PROMISE payload.
    ///
    /// Errors: stream 0 -> connection PROTOCOL_ERROR; payload too short for
    /// Pad Length / Promised Stream ID -> connection FRAME_SIZE_ERROR;
    /// padding too long -> connection PROTOCOL_ERROR; promised stream 0 ->
    /// connection PROTOCOL_ERROR. Whether push is enabled and whether the
    /// promised id is valid for the connection is the caller's to check.
    pub fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Self, FrameError> {
        require_stream(
            header,
            "RFC 9113 §6.6: PUSH_PROMISE frames MUST be associated with a stream",
        )?;
        let parts = split_padded(
            header,
            payload,
            4,
            "RFC 9113 §6.6: PUSH_PROMISE frame too short for its Promised Stream ID",
            "RFC 9113 §6.6: PUSH_PROMISE padding length must be less than the remaining payload",
        )?;
        let promised_stream_id = read_u31(parts.fixed);
        if promised_stream_id == 0 {
            return Err(FrameError::connection(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.6: the Promised Stream ID must be a valid new stream, not 0",
            ));
        }
        Ok(PushPromiseFrame {
            stream_id: header.stream_id,
            promised_stream_id,
            end_headers: header.flags & flags::END_HEADERS != 0,
            header_block: parts.body,
            pad_len: parts.pad_len,
        })
    }
}

/// Appends a PUSH_PROMISE frame for `header_block`, split into
/// PUSH_PROMISE + CONTINUATION frames so that no payload exceeds
/// `max_frame_size`.
pub fn encode_push_promise(
    stream_id: u32,
    promised_stream_id: u32,
    header_block: &[u8],
    max_frame_size: u32,
    dst: &mut Vec<u8>,
) {
    let prefix = (promised_stream_id & MAX_STREAM_ID).to_be_bytes();
    encode_field_block(
        FrameType::PushPromise,
        0,
        stream_id,
        &prefix,
        header_block,
        max_frame_size,
        dst,
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Frame, DEFAULT_MAX_FRAME_SIZE};
    use super::*;

    #[test]
    fn round_trip_exact_bytes() {
        let mut v = Vec::new();
        encode_push_promise(1, 2, &[0x82], DEFAULT_MAX_FRAME_SIZE, &mut v);
        assert_eq!(v, [0, 0, 5, 5, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0x82]);
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::PushPromise(PushPromiseFrame {
                stream_id: 1,
                promised_stream_id: 2,
                end_headers: true,
                header_block: &[0x82],
                pad_len: None
            })
        );
    }

    #[test]
    fn padded_and_reserved_bit() {
        let f = raw(5, 0x0c, 1, &[1, 0x80, 0, 0, 4, 0x82, 0]);
        match decode_one(&f).unwrap() {
            Frame::PushPromise(p) => {
                assert_eq!(p.promised_stream_id, 4);
                assert_eq!(p.header_block, [0x82]);
                assert_eq!(p.pad_len, Some(1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors() {
        assert_conn_err(
            decode_one(&raw(5, 4, 0, &[0, 0, 0, 2])),
            ErrorCode::ProtocolError,
        );
        assert_conn_err(
            decode_one(&raw(5, 4, 1, &[0, 0, 2])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(decode_one(&raw(5, 0x0c, 1, &[])), ErrorCode::FrameSizeError);
        assert_conn_err(
            decode_one(&raw(5, 0x0c, 1, &[2, 0, 0, 0, 2, 0])),
            ErrorCode::ProtocolError,
        );
        assert_conn_err(
            decode_one(&raw(5, 4, 1, &[0, 0, 0, 0])),
            ErrorCode::ProtocolError,
        );
    }
}
