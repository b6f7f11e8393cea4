//! CONTINUATION frames (RFC 9113 §6.10) and the HEADERS / PUSH_PROMISE
//! splitting helper.

use super::{
    flags, require_stream, Frame, FrameHeader, FrameType, PrioritySpec, MAX_ALLOWED_FRAME_SIZE,
};
use crate::error::{ErrorCode, FrameError};

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

/// How a field block began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStart {
    /// A HEADERS frame, with its END_STREAM flag and priority fields.
    Headers {
        /// END_STREAM of the HEADERS frame.
        end_stream: bool,
        /// Priority fields of the HEADERS frame.
        priority: Option<PrioritySpec>,
    },
    /// A PUSH_PROMISE frame.
    PushPromise {
        /// The stream the promise reserves.
        promised_stream_id: u32,
    },
}

/// A complete field block, ready for the HPACK decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldBlock<'a> {
    /// The stream of the HEADERS / PUSH_PROMISE frame.
    pub stream_id: u32,
    /// What the block belongs to.
    pub start: BlockStart,
    /// The whole encoded block: borrowed from the frame when it came in one
    /// frame, from the assembler's buffer when CONTINUATIONs were joined.
    pub block: &'a [u8],
}

/// Joins HEADERS / PUSH_PROMISE + CONTINUATION fragments into one field
/// block and enforces their sequencing (RFC 9113 §4.3, §6.10): while a
/// block is open, any frame other than a CONTINUATION on the same stream is
/// a connection PROTOCOL_ERROR, and so is a CONTINUATION when no block is
/// open. The joined size is capped, so a CONTINUATION flood cannot grow the
/// buffer without bound.
///
/// Feed it every frame, in order, with [`FieldBlockAssembler::push`].
#[derive(Debug)]
pub struct FieldBlockAssembler {
    open: Option<(u32, BlockStart)>,
    buf: Vec<u8>,
    max_len: usize,
}

impl FieldBlockAssembler {
    /// An assembler refusing blocks longer than `max_len` bytes.
    pub fn new(max_len: usize) -> FieldBlockAssembler {
        FieldBlockAssembler {
            open: None,
            buf: Vec::new(),
            max_len,
        }
    }

    /// The stream whose block is waiting for CONTINUATION frames.
    pub fn open_stream(&self) -> Option<u32> {
        self.open.map(|(id, _)| id)
    }

    /// Takes the next frame. Returns `Ok(Some(block))` when a field block
    /// is complete, `Ok(None)` for other frames and for fragments that
    /// need CONTINUATIONs; errors are connection errors.
    pub fn push<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Option<FieldBlock<'a>>, FrameError> {
        if let Some((stream_id, start)) = self.open {
            let c = match frame {
                Frame::Continuation(c) if c.stream_id == stream_id => c,
                _ => {
                    return Err(FrameError::connection(
                        ErrorCode::ProtocolError,
                        "RFC 9113 §6.10: a field block must be followed only by CONTINUATION frames on the same stream",
                    ))
                }
            };
            if self.buf.len() + c.header_block.len() > self.max_len {
                return Err(FrameError::connection(
                    ErrorCode::EnhanceYourCalm,
                    "RFC 9113 §10.5.1: field block exceeds the configured size limit",
                ));
            }
            self.buf.extend_from_slice(c.header_block);
            if !c.end_headers {
                return Ok(None);
            }
            self.open = None;
            return Ok(Some(FieldBlock {
                stream_id,
                start,
                block: &self.buf,
            }));
        }
        let (stream_id, start, fragment, end_headers) = match frame {
            Frame::Headers(h) => (
                h.stream_id,
                BlockStart::Headers {
                    end_stream: h.end_stream,
                    priority: h.priority,
                },
                h.header_block,
                h.end_headers,
            ),
            Frame::PushPromise(p) => (
                p.stream_id,
                BlockStart::PushPromise {
                    promised_stream_id: p.promised_stream_id,
                },
                p.header_block,
                p.end_headers,
            ),
            Frame::Continuation(_) => {
                return Err(FrameError::connection(
                    ErrorCode::ProtocolError,
                    "RFC 9113 §6.10: CONTINUATION without a preceding HEADERS, PUSH_PROMISE or CONTINUATION lacking END_HEADERS",
                ))
            }
            _ => return Ok(None),
        };
        if fragment.len() > self.max_len {
            return Err(FrameError::connection(
                ErrorCode::EnhanceYourCalm,
                "RFC 9113 §10.5.1: field block exceeds the configured size limit",
            ));
        }
        if end_headers {
            return Ok(Some(FieldBlock {
                stream_id,
                start,
                block: fragment,
            }));
        }
        self.buf.clear();
        self.buf.extend_from_slice(fragment);
        self.open = Some((stream_id, start));
        Ok(None)
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

    fn frames(bytes: &[u8]) -> Vec<Frame<'_>> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some((f, n)) = super::super::decode_frame(rest, 16_384).unwrap() {
            out.push(f);
            rest = &rest[n..];
        }
        out
    }

    #[test]
    fn assembler_single_frame_is_zero_copy() {
        let mut v = Vec::new();
        super::super::encode_headers(1, b"abc", true, None, 16_384, &mut v);
        let fs = frames(&v);
        let mut a = FieldBlockAssembler::new(100);
        let b = a.push(&fs[0]).unwrap().unwrap();
        assert_eq!(b.block, b"abc");
        assert!(std::ptr::eq(b.block.as_ptr(), v[9..].as_ptr()));
        assert_eq!(
            b.start,
            BlockStart::Headers {
                end_stream: true,
                priority: None
            }
        );
    }

    #[test]
    fn assembler_joins_continuations() {
        let block: Vec<u8> = (0..50u8).collect();
        let mut v = Vec::new();
        super::super::encode_push_promise(3, 4, &block, 16, &mut v);
        let fs = frames(&v);
        assert_eq!(fs.len(), 4); // 12 + 16 + 16 + 6 bytes of block
        let mut a = FieldBlockAssembler::new(100);
        for f in &fs[..3] {
            assert_eq!(a.push(f).unwrap(), None);
            assert_eq!(a.open_stream(), Some(3));
        }
        let b = a.push(&fs[3]).unwrap().unwrap();
        assert_eq!(b.block, &block[..]);
        assert_eq!(b.stream_id, 3);
        assert_eq!(
            b.start,
            BlockStart::PushPromise {
                promised_stream_id: 4
            }
        );
        assert_eq!(a.open_stream(), None);
        // Other frames pass through.
        let ping = raw(6, 0, 0, &[0; 8]);
        assert_eq!(a.push(&decode_one(&ping).unwrap()).unwrap(), None);
    }

    #[test]
    fn assembler_sequencing_errors() {
        let mut a = FieldBlockAssembler::new(100);
        let c = raw(9, 4, 1, b"x");
        let e = a.push(&decode_one(&c).unwrap()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ProtocolError);
        // Open a block on stream 1, then interleave other frames.
        let h = raw(1, 0, 1, b"a");
        let ping = raw(6, 0, 0, &[0; 8]);
        let other_stream = raw(9, 4, 3, b"x");
        let unknown = raw(0xbb, 0, 1, b"");
        for bad in [&ping, &other_stream, &unknown, &h] {
            let mut a = FieldBlockAssembler::new(100);
            assert_eq!(a.push(&decode_one(&h).unwrap()).unwrap(), None);
            let e = a.push(&decode_one(bad).unwrap()).unwrap_err();
            assert!(e.is_connection_error());
            assert_eq!(e.code(), ErrorCode::ProtocolError);
        }
    }

    #[test]
    fn assembler_size_limit() {
        let mut a = FieldBlockAssembler::new(4);
        let h = raw(1, 0, 1, b"abc");
        assert_eq!(a.push(&decode_one(&h).unwrap()).unwrap(), None);
        let c = raw(9, 0, 1, b"de");
        let e = a.push(&decode_one(&c).unwrap()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::EnhanceYourCalm);
        let mut a = FieldBlockAssembler::new(2);
        let e = a
            .push(&decode_one(&raw(1, 4, 1, b"abc")).unwrap())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::EnhanceYourCalm);
    }
}
