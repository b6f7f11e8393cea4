//! PRIORITY frames (RFC 9113 §6.3) and the priority fields shared with
//! HEADERS (deprecated signalling, still parsed and validated).

use super::{read_u31, require_stream, FrameHeader, FrameType, MAX_STREAM_ID};
use crate::error::{ErrorCode, FrameError};

/// Stream dependency and weight (RFC 9113 §5.3.2 of RFC 7540 heritage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrioritySpec {
    /// The E flag: exclusive dependency.
    pub exclusive: bool,
    /// The stream this one depends on (31 bits).
    pub dependency: u32,
    /// The weight field as sent (0..=255); the effective weight is one
    /// more (1..=256).
    pub weight: u8,
}

impl PrioritySpec {
    /// Length of the encoded fields.
    pub const LEN: usize = 5;

    /// Parses the 5-byte field (`b` must have at least 5 bytes).
    pub(crate) fn parse(b: &[u8]) -> PrioritySpec {
        PrioritySpec {
            exclusive: b[0] & 0x80 != 0,
            dependency: read_u31(&b[0..4]),
            weight: b[4],
        }
    }

    /// Appends the 5-byte encoding.
    pub fn encode(&self, dst: &mut Vec<u8>) {
        let mut dep = self.dependency & MAX_STREAM_ID;
        if self.exclusive {
            dep |= 0x8000_0000;
        }
        dst.extend_from_slice(&dep.to_be_bytes());
        dst.push(self.weight);
    }

    /// RFC 9113 §5.3.1: "A stream cannot depend on itself."
    pub(crate) fn check_self_dependency(
        &self,
        stream_id: u32,
        rule: &'static str,
    ) -> Result<(), FrameError> {
        if self.dependency == stream_id {
            Err(FrameError::stream(
                stream_id,
                ErrorCode::ProtocolError,
                rule,
            ))
        } else {
            Ok(())
        }
    }
}

/// A parsed PRIORITY frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriorityFrame {
    /// The stream being prioritised (never 0).
    pub stream_id: u32,
    /// Its dependency and weight.
    pub spec: PrioritySpec,
}

impl PriorityFrame {
    /// Parses a PRIORITY payload.
    ///
    /// Errors: stream 0 -> connection PROTOCOL_ERROR; length other than 5
    /// -> stream FRAME_SIZE_ERROR; self-dependency -> stream PROTOCOL_ERROR.
    pub fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Self, FrameError> {
        require_stream(
            header,
            "RFC 9113 §6.3: PRIORITY frames MUST be associated with a stream",
        )?;
        if payload.len() != PrioritySpec::LEN {
            return Err(FrameError::stream(
                header.stream_id,
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.3: PRIORITY frame length must be 5",
            ));
        }
        let spec = PrioritySpec::parse(payload);
        spec.check_self_dependency(
            header.stream_id,
            "RFC 9113 §5.3.1: a stream cannot depend on itself (PRIORITY)",
        )?;
        Ok(PriorityFrame {
            stream_id: header.stream_id,
            spec,
        })
    }
}

/// Appends a PRIORITY frame.
pub fn encode_priority(stream_id: u32, spec: PrioritySpec, dst: &mut Vec<u8>) {
    FrameHeader::new(FrameType::Priority, 0, stream_id, 5).encode(dst);
    spec.encode(dst);
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;

    #[test]
    fn round_trip_exact_bytes() {
        let spec = PrioritySpec {
            exclusive: true,
            dependency: 3,
            weight: 15,
        };
        let mut v = Vec::new();
        encode_priority(5, spec, &mut v);
        assert_eq!(v, [0, 0, 5, 2, 0, 0, 0, 0, 5, 0x80, 0, 0, 3, 15]);
        assert_eq!(
            decode_one(&v).unwrap(),
            Frame::Priority(PriorityFrame { stream_id: 5, spec })
        );
    }

    #[test]
    fn errors() {
        assert_conn_err(
            decode_one(&raw(2, 0, 0, &[0, 0, 0, 1, 1])),
            ErrorCode::ProtocolError,
        );
        assert_stream_err(
            decode_one(&raw(2, 0, 3, &[0, 0, 0, 1])),
            3,
            ErrorCode::FrameSizeError,
        );
        assert_stream_err(
            decode_one(&raw(2, 0, 3, &[0, 0, 0, 1, 1, 1])),
            3,
            ErrorCode::FrameSizeError,
        );
        // Depends on itself (the exclusive bit does not matter).
        assert_stream_err(
            decode_one(&raw(2, 0, 3, &[0x80, 0, 0, 3, 1])),
            3,
            ErrorCode::ProtocolError,
        );
    }
}
