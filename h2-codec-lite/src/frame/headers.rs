//! HEADERS frames (RFC 9113 §6.2).

use super::continuation::encode_field_block;
use super::{flags, require_stream, split_padded, FrameHeader, FrameType, PrioritySpec};
use crate::error::FrameError;

/// A parsed HEADERS frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadersFrame<'a> {
    /// The stream (never 0).
    pub stream_id: u32,
    /// END_STREAM flag.
    pub end_stream: bool,
    /// END_HEADERS flag: if false, CONTINUATION frames follow.
    pub end_headers: bool,
    /// Priority fields, present if the PRIORITY flag was set.
    pub priority: Option<PrioritySpec>,
    /// The field-block fragment, padding removed (borrowed from the input).
    pub header_block: &'a [u8],
    /// Pad Length, if the PADDED flag was set.
    pub pad_len: Option<u8>,
}

impl<'a> HeadersFrame<'a> {
    /// Parses a HEADERS payload.
    ///
    /// Errors: stream 0 -> connection PROTOCOL_ERROR; payload too short for
    /// Pad Length / priority fields -> connection FRAME_SIZE_ERROR (frames
    /// carrying a field block always get connection errors, §4.2); padding
    /// as long as the payload or longer -> connection PROTOCOL_ERROR.
    ///
    /// A self-dependent priority is *not* an `Err` here, because the field
    /// block must still be decoded to keep the HPACK context in sync
    /// (§4.3); see [`HeadersFrame::stream_error`].
    pub fn parse(header: &FrameHeader, payload: &'a [u8]) -> Result<Self, FrameError> {
        require_stream(
            header,
            "RFC 9113 §6.2: HEADERS frames MUST be associated with a stream",
        )?;
        let has_priority = header.flags & flags::PRIORITY != 0;
        let parts = split_padded(
            header,
            payload,
            if has_priority { PrioritySpec::LEN } else { 0 },
            "RFC 9113 §6.2: HEADERS frame too short for its Pad Length and priority fields",
            "RFC 9113 §6.2: HEADERS padding length must be less than the remaining payload",
        )?;
        Ok(HeadersFrame {
            stream_id: header.stream_id,
            end_stream: header.flags & flags::END_STREAM != 0,
            end_headers: header.flags & flags::END_HEADERS != 0,
            priority: has_priority.then(|| PrioritySpec::parse(parts.fixed)),
            header_block: parts.body,
            pad_len: parts.pad_len,
        })
    }

    /// The stream error this frame carries, if any: a stream that depends
    /// on itself is a stream error of type PROTOCOL_ERROR (RFC 9113
    /// §5.3.1). Decode the field block first (HPACK state must be kept),
    /// then reset the stream with this error.
    pub fn stream_error(&self) -> Option<FrameError> {
        self.priority?
            .check_self_dependency(
                self.stream_id,
                "RFC 9113 §5.3.1: a stream cannot depend on itself (HEADERS)",
            )
            .err()
    }
}

/// Appends a HEADERS frame carrying `header_block`, split into HEADERS +
/// CONTINUATION frames so that no frame payload exceeds `max_frame_size`
/// (the peer's SETTINGS_MAX_FRAME_SIZE). END_STREAM goes on the HEADERS
/// frame, END_HEADERS on the last frame.
///
/// # Panics
/// If `max_frame_size` is too small to carry the priority fields plus one
/// byte, or larger than 2^24 - 1.
pub fn encode_headers(
    stream_id: u32,
    header_block: &[u8],
    end_stream: bool,
    priority: Option<PrioritySpec>,
    max_frame_size: u32,
    dst: &mut Vec<u8>,
) {
    let mut prefix = Vec::new();
    let mut fl = if end_stream { flags::END_STREAM } else { 0 };
    if let Some(p) = priority {
        fl |= flags::PRIORITY;
        p.encode(&mut prefix);
    }
    encode_field_block(
        FrameType::Headers,
        fl,
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
    use super::super::{decode_frame, Frame, DEFAULT_MAX_FRAME_SIZE};
    use super::*;
    use crate::error::ErrorCode;

    fn headers(f: Frame<'_>) -> HeadersFrame<'_> {
        match f {
            Frame::Headers(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encode_exact_bytes_and_parse() {
        let mut v = Vec::new();
        encode_headers(1, &[0x82, 0x86], true, None, DEFAULT_MAX_FRAME_SIZE, &mut v);
        assert_eq!(v, [0, 0, 2, 1, 0x05, 0, 0, 0, 1, 0x82, 0x86]);
        let h = headers(decode_one(&v).unwrap());
        assert!(h.end_stream && h.end_headers);
        assert_eq!(h.header_block, [0x82, 0x86]);
        assert_eq!(h.priority, None);
        assert_eq!(h.stream_error(), None);
    }

    #[test]
    fn empty_header_block_is_parsed() {
        let f = raw(1, 4, 1, &[]);
        let h = headers(decode_one(&f).unwrap());
        assert!(h.header_block.is_empty() && h.end_headers);
        let f = raw(1, 0x20, 1, &[0, 0, 0, 0, 9]);
        let h = headers(decode_one(&f).unwrap());
        assert!(h.header_block.is_empty());
        assert_eq!(h.priority.map(|p| p.weight), Some(9));
    }

    #[test]
    fn padded_with_priority() {
        // PADDED|PRIORITY|END_HEADERS, pad 2, dep 0x80000001 (exclusive, 1),
        // weight 16, block [0x82], padding [0, 0].
        let f = raw(1, 0x2c, 3, &[2, 0x80, 0, 0, 1, 16, 0x82, 0, 0]);
        let h = headers(decode_one(&f).unwrap());
        assert_eq!(h.pad_len, Some(2));
        assert_eq!(
            h.priority,
            Some(PrioritySpec {
                exclusive: true,
                dependency: 1,
                weight: 16
            })
        );
        assert_eq!(h.header_block, [0x82]);
        assert!(h.end_headers && !h.end_stream);
    }

    #[test]
    fn self_dependency_is_stream_protocol_error() {
        let mut v = Vec::new();
        let spec = PrioritySpec {
            exclusive: false,
            dependency: 5,
            weight: 0,
        };
        encode_headers(
            5,
            &[0x82],
            false,
            Some(spec),
            DEFAULT_MAX_FRAME_SIZE,
            &mut v,
        );
        let h = headers(decode_one(&v).unwrap());
        assert_eq!(h.priority, Some(spec));
        let e = h.stream_error().unwrap();
        assert_eq!(e.stream_id(), Some(5));
        assert_eq!(e.code(), ErrorCode::ProtocolError);
    }

    #[test]
    fn errors() {
        assert_conn_err(decode_one(&raw(1, 4, 0, &[0x82])), ErrorCode::ProtocolError);
        // PRIORITY flag, only 4 bytes.
        assert_conn_err(
            decode_one(&raw(1, 0x24, 1, &[0, 0, 0, 0])),
            ErrorCode::FrameSizeError,
        );
        // PADDED, empty.
        assert_conn_err(decode_one(&raw(1, 0x0c, 1, &[])), ErrorCode::FrameSizeError);
        // Pad length >= payload length.
        assert_conn_err(
            decode_one(&raw(1, 0x0c, 1, &[2, 0x82])),
            ErrorCode::ProtocolError,
        );
        // Padding eats into the priority fields.
        assert_conn_err(
            decode_one(&raw(1, 0x2c, 1, &[5, 0, 0, 0, 0, 16, 0])),
            ErrorCode::ProtocolError,
        );
    }

    #[test]
    fn large_block_split_into_continuations() {
        let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut v = Vec::new();
        encode_headers(7, &block, true, None, DEFAULT_MAX_FRAME_SIZE, &mut v);
        let mut off = 0;
        let mut got = Vec::new();
        let mut kinds = Vec::new();
        while off < v.len() {
            let (f, n) = decode_frame(&v[off..], DEFAULT_MAX_FRAME_SIZE)
                .unwrap()
                .unwrap();
            match f {
                Frame::Headers(h) => {
                    assert!(h.end_stream && !h.end_headers);
                    got.extend_from_slice(h.header_block);
                    kinds.push((1, h.header_block.len(), h.end_headers));
                }
                Frame::Continuation(c) => {
                    assert_eq!(c.stream_id, 7);
                    got.extend_from_slice(c.header_block);
                    kinds.push((9, c.header_block.len(), c.end_headers));
                }
                other => panic!("{other:?}"),
            }
            off += n;
        }
        assert_eq!(got, block);
        assert_eq!(
            kinds,
            [
                (1, 16384, false),
                (9, 16384, false),
                (9, 40_000 - 32768, true)
            ]
        );
    }

    #[test]
    fn split_with_priority_counts_priority_bytes() {
        let block = vec![0x82; 30];
        let spec = PrioritySpec {
            exclusive: false,
            dependency: 0,
            weight: 200,
        };
        let mut v = Vec::new();
        encode_headers(1, &block, false, Some(spec), 16, &mut v);
        // HEADERS: 5 priority + 11 block; CONTINUATION: 16; CONTINUATION: 3.
        assert_eq!(v.len(), 9 + 16 + 9 + 16 + 9 + 3);
        let (f, n) = decode_frame(&v, 16).unwrap().unwrap();
        let h = headers(f);
        assert_eq!(h.header_block.len(), 11);
        assert_eq!(h.priority, Some(spec));
        assert_eq!(n, 25);
    }
}
