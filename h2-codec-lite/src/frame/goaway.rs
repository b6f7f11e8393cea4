//! GOAWAY frames (RFC 9113 §6.8).

use super::{read_u31, read_u32, require_connection, FrameHeader, FrameType, MAX_STREAM_ID};
use crate::error::{ErrorCode, FrameError};

/// A parsed GOAWAY frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoAwayFrame<'a> {
    /// Highest stream id the sender might have processed (31 bits).
    pub last_stream_id: u32,
    /// Why the connection is going away (unknown codes preserved).
    pub error_code: ErrorCode,
    /// Opaque diagnostic data (borrowed from the input).
    pub debug_data: &'a [u8],
}

impl<'a> GoAwayFrame<'a> {
    /// Parses a GOAWAY payload.
    ///
    /// Errors: non-zero stream -> connection PROTOCOL_ERROR; payload
    /// shorter than 8 -> connection FRAME_SIZE_ERROR.
    pub fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Self, FrameError> {
        require_connection(
            header,
            "RFC 9113 §6.8: GOAWAY frames MUST NOT be associated with a stream",
        )?;
        if payload.len() < 8 {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.8: GOAWAY frame length must be at least 8",
            ));
        }
        Ok(GoAwayFrame {
            last_stream_id: read_u31(&payload[0..4]),
            error_code: ErrorCode::from_u32(read_u32(&payload[4..8])),
            debug_data: &payload[8..],
        })
    }
}

/// Appends a GOAWAY frame.
pub fn encode_goaway(
    last_stream_id: u32,
    error_code: ErrorCode,
    debug_data: &[u8],
    dst: &mut Vec<u8>,
) {
    let len = u32::try_from(8 + debug_data.len()).expect("debug data too long");
    FrameHeader::new(FrameType::GoAway, 0, 0, len).encode(dst);
    dst.extend_from_slice(&(last_stream_id & MAX_STREAM_ID).to_be_bytes());
    dst.extend_from_slice(&error_code.as_u32().to_be_bytes());
    dst.extend_from_slice(debug_data);
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;

    #[test]
    fn round_trip() {
        let mut v = Vec::new();
        encode_goaway(7, ErrorCode::EnhanceYourCalm, b"slow down", &mut v);
        assert_eq!(
            &v[..17],
            [0, 0, 17, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0xb]
        );
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::GoAway(GoAwayFrame {
                last_stream_id: 7,
                error_code: ErrorCode::EnhanceYourCalm,
                debug_data: b"slow down"
            })
        );
    }

    #[test]
    fn reserved_bit_and_unknown_code() {
        let f = raw(7, 0, 0, &[0x80, 0, 0, 1, 0, 0, 0, 0x77]);
        match decode_one(&f).unwrap() {
            Frame::GoAway(g) => {
                assert_eq!(g.last_stream_id, 1);
                assert_eq!(g.error_code, ErrorCode::Unknown(0x77));
                assert!(g.debug_data.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors() {
        assert_conn_err(decode_one(&raw(7, 0, 1, &[0; 8])), ErrorCode::ProtocolError);
        assert_conn_err(
            decode_one(&raw(7, 0, 0, &[0; 7])),
            ErrorCode::FrameSizeError,
        );
    }
}
