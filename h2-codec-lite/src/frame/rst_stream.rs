//! RST_STREAM frames (RFC 9113 §6.4).

use super::{read_u32, require_stream, FrameHeader, FrameType};
use crate::error::{ErrorCode, FrameError};

/// A parsed RST_STREAM frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStreamFrame {
    /// The stream being reset (never 0).
    pub stream_id: u32,
    /// Why (unknown codes preserved).
    pub error_code: ErrorCode,
}

impl RstStreamFrame {
    /// Parses an RST_STREAM payload.
    ///
    /// Errors: stream 0 -> connection PROTOCOL_ERROR; length other than 4
    /// -> connection FRAME_SIZE_ERROR.
    pub fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Self, FrameError> {
        require_stream(
            header,
            "RFC 9113 §6.4: RST_STREAM frames MUST be associated with a stream",
        )?;
        if payload.len() != 4 {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.4: RST_STREAM frame length must be 4",
            ));
        }
        Ok(RstStreamFrame {
            stream_id: header.stream_id,
            error_code: ErrorCode::from_u32(read_u32(payload)),
        })
    }
}

/// Appends an RST_STREAM frame.
pub fn encode_rst_stream(stream_id: u32, error_code: ErrorCode, dst: &mut Vec<u8>) {
    FrameHeader::new(FrameType::RstStream, 0, stream_id, 4).encode(dst);
    dst.extend_from_slice(&error_code.as_u32().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;

    #[test]
    fn round_trip_and_unknown_code() {
        let mut v = Vec::new();
        encode_rst_stream(3, ErrorCode::Cancel, &mut v);
        assert_eq!(v, [0, 0, 4, 3, 0, 0, 0, 0, 3, 0, 0, 0, 8]);
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::RstStream(RstStreamFrame {
                stream_id: 3,
                error_code: ErrorCode::Cancel
            })
        );
        let f = raw(3, 0, 1, &[0xde, 0xad, 0xbe, 0xef]);
        match decode_one(&f).unwrap() {
            Frame::RstStream(r) => assert_eq!(r.error_code, ErrorCode::Unknown(0xdead_beef)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors() {
        assert_conn_err(
            decode_one(&raw(3, 0, 0, &[0, 0, 0, 8])),
            ErrorCode::ProtocolError,
        );
        assert_conn_err(
            decode_one(&raw(3, 0, 1, &[0, 0, 8])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(
            decode_one(&raw(3, 0, 1, &[0, 0, 0, 0, 8])),
            ErrorCode::FrameSizeError,
        );
    }
}
