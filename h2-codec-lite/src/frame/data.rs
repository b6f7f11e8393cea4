//! DATA frames (RFC 9113 §6.1).

use super::{flags, require_stream, split_padded, write_padding, FrameHeader, FrameType};
use crate::error::FrameError;

/// A parsed DATA frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataFrame<'a> {
    /// The stream (never 0).
    pub stream_id: u32,
    /// The application data, padding removed (borrowed from the input).
    pub data: &'a [u8],
    /// END_STREAM flag.
    pub end_stream: bool,
    /// Pad Length, if the PADDED flag was set.
    pub pad_len: Option<u8>,
    /// The whole payload length including Pad Length and padding: this is
    /// what counts against flow-control windows (RFC 9113 §6.1).
    pub flow_controlled_len: u32,
}

impl<'a> DataFrame<'a> {
    /// Parses a DATA payload.
    ///
    /// Errors: stream 0 -> connection PROTOCOL_ERROR; PADDED without room
    /// for the Pad Length -> connection FRAME_SIZE_ERROR; padding as long
    /// as the payload or longer -> connection PROTOCOL_ERROR.
    pub fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Self, FrameError> {
        require_stream(
            header,
            "RFC 9113 §6.1: DATA frames MUST be associated with a stream",
        )?;
        let parts = split_padded(
            header,
            payload,
            0,
            "RFC 9113 §6.1: PADDED DATA frame too short for the Pad Length field",
            "RFC 9113 §6.1: DATA padding length must be less than the frame payload length",
        )?;
        Ok(DataFrame {
            stream_id: header.stream_id,
            data: parts.body,
            end_stream: header.flags & flags::END_STREAM != 0,
            pad_len: parts.pad_len,
            flow_controlled_len: header.length,
        })
    }
}

/// Appends only the 9-byte header of an unpadded DATA frame carrying `len`
/// bytes, so the caller can copy (or write) the payload itself straight
/// after it without an intermediate buffer.
///
/// # Panics
/// If `len` exceeds 2^24 - 1. Keeping `len` within the peer's
/// SETTINGS_MAX_FRAME_SIZE and flow-control windows is the caller's job.
pub fn encode_data_header(stream_id: u32, len: usize, end_stream: bool, dst: &mut Vec<u8>) {
    let len = u32::try_from(len).expect("DATA length exceeds u32");
    let fl = if end_stream { flags::END_STREAM } else { 0 };
    FrameHeader::new(FrameType::Data, fl, stream_id, len).encode(dst);
}

/// Appends a complete unpadded DATA frame.
pub fn encode_data(stream_id: u32, data: &[u8], end_stream: bool, dst: &mut Vec<u8>) {
    encode_data_header(stream_id, data.len(), end_stream, dst);
    dst.extend_from_slice(data);
}

/// Appends a DATA frame with the PADDED flag and `pad_len` zero bytes of
/// padding (the frame counts `1 + data.len() + pad_len` bytes against flow
/// control).
pub fn encode_data_padded(
    stream_id: u32,
    data: &[u8],
    pad_len: u8,
    end_stream: bool,
    dst: &mut Vec<u8>,
) {
    let len = u32::try_from(1 + data.len() + pad_len as usize).expect("DATA length exceeds u32");
    let fl = flags::PADDED | if end_stream { flags::END_STREAM } else { 0 };
    FrameHeader::new(FrameType::Data, fl, stream_id, len).encode(dst);
    dst.push(pad_len);
    dst.extend_from_slice(data);
    write_padding(pad_len as usize, dst);
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;
    use crate::error::ErrorCode;

    fn data(f: Frame<'_>) -> DataFrame<'_> {
        match f {
            Frame::Data(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encode_exact_bytes() {
        let mut v = Vec::new();
        encode_data(1, b"hi", true, &mut v);
        assert_eq!(v, [0, 0, 2, 0, 1, 0, 0, 0, 1, b'h', b'i']);
        let mut h = Vec::new();
        encode_data_header(3, 5, false, &mut h);
        assert_eq!(h, [0, 0, 5, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn parse_plain_and_padded() {
        let mut v = Vec::new();
        encode_data(5, b"hello", false, &mut v);
        let d = data(decode_one(&v).unwrap());
        assert_eq!(d.data, b"hello");
        assert!(!d.end_stream);
        assert_eq!(d.pad_len, None);
        assert_eq!(d.flow_controlled_len, 5);

        let mut p = Vec::new();
        encode_data_padded(5, b"hello", 3, true, &mut p);
        assert_eq!(p.len(), 9 + 1 + 5 + 3);
        let d = data(decode_one(&p).unwrap());
        assert_eq!(d.data, b"hello");
        assert!(d.end_stream);
        assert_eq!(d.pad_len, Some(3));
        assert_eq!(d.flow_controlled_len, 9);
    }

    #[test]
    fn empty_data_frames() {
        // The common "end of body" frame: no payload, END_STREAM.
        let mut v = Vec::new();
        encode_data(1, b"", true, &mut v);
        assert_eq!(v, [0, 0, 0, 0, 1, 0, 0, 0, 1]);
        let d = data(decode_one(&v).unwrap());
        assert!(d.end_stream && d.data.is_empty());
        // PADDED with Pad Length 0 and nothing else.
        let f = raw(0, flags::PADDED, 1, &[0]);
        let d = data(decode_one(&f).unwrap());
        assert_eq!(
            (d.data, d.pad_len, d.flow_controlled_len),
            (&b""[..], Some(0), 1)
        );
    }

    #[test]
    fn padding_filling_rest_of_payload_is_ok() {
        // Pad Length 2, payload length 3: no data, 2 bytes of padding.
        let f = raw(0, flags::PADDED, 1, &[2, 0, 0]);
        let d = data(decode_one(&f).unwrap());
        assert_eq!(d.data, b"");
        assert_eq!(d.flow_controlled_len, 3);
    }

    #[test]
    fn unknown_flags_ignored() {
        let f = raw(0, 0xf6, 1, b"x"); // no END_STREAM, no PADDED
        let d = data(decode_one(&f).unwrap());
        assert_eq!(d.data, b"x");
        assert!(!d.end_stream);
    }

    #[test]
    fn errors() {
        assert_conn_err(decode_one(&raw(0, 0, 0, b"x")), ErrorCode::ProtocolError);
        // Padding length equal to payload length.
        assert_conn_err(
            decode_one(&raw(0, flags::PADDED, 1, &[3, 0, 0])),
            ErrorCode::ProtocolError,
        );
        // Padding longer than payload.
        assert_conn_err(
            decode_one(&raw(0, flags::PADDED, 1, &[200, b'a'])),
            ErrorCode::ProtocolError,
        );
        // PADDED with an empty payload: no room for Pad Length.
        assert_conn_err(
            decode_one(&raw(0, flags::PADDED, 1, &[])),
            ErrorCode::FrameSizeError,
        );
    }
}
