//! WINDOW_UPDATE frames (RFC 9113 §6.9).

use super::{read_u31, FrameHeader, FrameType, MAX_WINDOW_SIZE};
use crate::error::{ErrorCode, FrameError};

/// A parsed WINDOW_UPDATE frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdateFrame {
    /// The stream, or 0 for the connection window.
    pub stream_id: u32,
    /// Window Size Increment, 1..=2^31-1. Overflowing the window past
    /// 2^31-1 is the caller's FLOW_CONTROL_ERROR to detect.
    pub increment: u32,
}

impl WindowUpdateFrame {
    /// Parses a WINDOW_UPDATE payload.
    ///
    /// Errors: length other than 4 -> connection FRAME_SIZE_ERROR;
    /// increment 0 -> PROTOCOL_ERROR, a stream error on a stream and a
    /// connection error on stream 0. The reserved bit is ignored.
    pub fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Self, FrameError> {
        if payload.len() != 4 {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.9: WINDOW_UPDATE frame length must be 4",
            ));
        }
        let increment = read_u31(payload);
        if increment == 0 {
            return Err(if header.stream_id == 0 {
                FrameError::connection(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §6.9: WINDOW_UPDATE increment of 0 on the connection",
                )
            } else {
                FrameError::stream(
                    header.stream_id,
                    ErrorCode::ProtocolError,
                    "RFC 9113 §6.9: WINDOW_UPDATE increment of 0 on a stream",
                )
            });
        }
        Ok(WindowUpdateFrame {
            stream_id: header.stream_id,
            increment,
        })
    }
}

/// Appends a WINDOW_UPDATE frame.
///
/// # Panics
/// In debug builds, if `increment` is 0 or above 2^31-1.
pub fn encode_window_update(stream_id: u32, increment: u32, dst: &mut Vec<u8>) {
    debug_assert!(
        (1..=MAX_WINDOW_SIZE).contains(&increment),
        "invalid window increment"
    );
    FrameHeader::new(FrameType::WindowUpdate, 0, stream_id, 4).encode(dst);
    dst.extend_from_slice(&(increment & MAX_WINDOW_SIZE).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;

    #[test]
    fn round_trip_and_reserved_bit() {
        let mut v = Vec::new();
        encode_window_update(0, 65_535, &mut v);
        assert_eq!(v, [0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::WindowUpdate(WindowUpdateFrame {
                stream_id: 0,
                increment: 65_535
            })
        );
        let f = raw(8, 0, 3, &[0xff, 0xff, 0xff, 0xff]);
        match decode_one(&f).unwrap() {
            Frame::WindowUpdate(w) => assert_eq!(w.increment, MAX_WINDOW_SIZE),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors() {
        assert_conn_err(
            decode_one(&raw(8, 0, 0, &[0, 0, 1])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(
            decode_one(&raw(8, 0, 1, &[0, 0, 0, 1, 0])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(
            decode_one(&raw(8, 0, 0, &[0, 0, 0, 0])),
            ErrorCode::ProtocolError,
        );
        let e = assert_stream_err(
            decode_one(&raw(8, 0, 5, &[0, 0, 0, 0])),
            5,
            ErrorCode::ProtocolError,
        );
        assert_eq!(e.frame_len(), Some(13));
        // Only the reserved bit set: still an increment of 0.
        assert_stream_err(
            decode_one(&raw(8, 0, 5, &[0x80, 0, 0, 0])),
            5,
            ErrorCode::ProtocolError,
        );
    }
}
