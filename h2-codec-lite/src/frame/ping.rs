//! PING frames (RFC 9113 §6.7).

use super::{flags, require_connection, FrameHeader, FrameType};
use crate::error::{ErrorCode, FrameError};

/// A parsed PING frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingFrame {
    /// ACK flag: this is a PING response.
    pub ack: bool,
    /// The opaque 8 bytes (echo them back in the ACK).
    pub data: [u8; 8],
}

impl PingFrame {
    /// Parses a PING payload.
    ///
    /// Errors: non-zero stream -> connection PROTOCOL_ERROR; length other
    /// than 8 -> connection FRAME_SIZE_ERROR.
    pub fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Self, FrameError> {
        require_connection(
            header,
            "RFC 9113 §6.7: PING frames MUST NOT be associated with a stream",
        )?;
        let data: [u8; 8] = payload.try_into().map_err(|_| {
            FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.7: PING frame length must be 8",
            )
        })?;
        Ok(PingFrame {
            ack: header.flags & flags::ACK != 0,
            data,
        })
    }
}

/// Appends a PING frame (`ack` = true for the response).
pub fn encode_ping(ack: bool, data: [u8; 8], dst: &mut Vec<u8>) {
    let fl = if ack { flags::ACK } else { 0 };
    FrameHeader::new(FrameType::Ping, fl, 0, 8).encode(dst);
    dst.extend_from_slice(&data);
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;

    #[test]
    fn round_trip() {
        let mut v = Vec::new();
        encode_ping(true, *b"12345678", &mut v);
        assert_eq!(&v[..9], [0, 0, 8, 6, 1, 0, 0, 0, 0]);
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::Ping(PingFrame {
                ack: true,
                data: *b"12345678"
            })
        );
    }

    #[test]
    fn errors() {
        assert_conn_err(
            decode_one(&raw(6, 0, 1, b"12345678")),
            ErrorCode::ProtocolError,
        );
        assert_conn_err(
            decode_one(&raw(6, 0, 0, b"1234567")),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(
            decode_one(&raw(6, 0, 0, b"123456789")),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(decode_one(&raw(6, 1, 0, b"")), ErrorCode::FrameSizeError);
    }
}
