//! HTTP/2 frames (RFC 9113 §4 and §6): the 9-byte frame header, one
//! module per frame type, the [`Frame`] enum and [`decode_frame`].
//!
//! Parsing borrows from the caller's buffer (payloads such as DATA bytes
//! and header-block fragments are `&[u8]` slices, never copied). Encoders
//! append to a caller-owned `Vec<u8>`.

mod continuation;
mod data;
mod goaway;
mod headers;
mod ping;
mod priority;
mod push_promise;
mod rst_stream;
mod settings;
mod window_update;

pub use continuation::{
    encode_continuation, BlockStart, ContinuationFrame, FieldBlock, FieldBlockAssembler,
};
pub use data::{encode_data, encode_data_header, encode_data_padded, DataFrame};
pub use goaway::{encode_goaway, GoAwayFrame};
pub use headers::{encode_headers, HeadersFrame};
pub use ping::{encode_ping, PingFrame};
pub use priority::{encode_priority, PriorityFrame, PrioritySpec};
pub use push_promise::{encode_push_promise, PushPromiseFrame};
pub use rst_stream::{encode_rst_stream, RstStreamFrame};
pub use settings::{
    encode_settings, encode_settings_ack, SettingId, Settings, SettingsFrame,
    DEFAULT_HEADER_TABLE_SIZE, DEFAULT_INITIAL_WINDOW_SIZE,
};
pub use window_update::{encode_window_update, WindowUpdateFrame};

use crate::error::{ErrorCode, FrameError};

/// Length of the fixed frame header (RFC 9113 §4.1).
pub const FRAME_HEADER_LEN: usize = 9;
/// Initial (and smallest allowed) SETTINGS_MAX_FRAME_SIZE: 2^14.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// Largest allowed SETTINGS_MAX_FRAME_SIZE: 2^24 - 1.
pub const MAX_ALLOWED_FRAME_SIZE: u32 = 16_777_215;
/// Largest stream identifier and largest flow-control window: 2^31 - 1.
pub const MAX_STREAM_ID: u32 = 0x7fff_ffff;
/// Largest flow-control window size (RFC 9113 §6.9.1): 2^31 - 1.
pub const MAX_WINDOW_SIZE: u32 = 0x7fff_ffff;

/// Frame flag bits (RFC 9113 §6). Flags a frame type does not define are
/// ignored on receipt.
pub mod flags {
    /// END_STREAM (DATA, HEADERS).
    pub const END_STREAM: u8 = 0x1;
    /// ACK (SETTINGS, PING).
    pub const ACK: u8 = 0x1;
    /// END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION).
    pub const END_HEADERS: u8 = 0x4;
    /// PADDED (DATA, HEADERS, PUSH_PROMISE).
    pub const PADDED: u8 = 0x8;
    /// PRIORITY (HEADERS).
    pub const PRIORITY: u8 = 0x20;
}

/// The frame type octet (RFC 9113 §6, §11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// DATA (0x0).
    Data,
    /// HEADERS (0x1).
    Headers,
    /// PRIORITY (0x2), deprecated but still parsed.
    Priority,
    /// RST_STREAM (0x3).
    RstStream,
    /// SETTINGS (0x4).
    Settings,
    /// PUSH_PROMISE (0x5).
    PushPromise,
    /// PING (0x6).
    Ping,
    /// GOAWAY (0x7).
    GoAway,
    /// WINDOW_UPDATE (0x8).
    WindowUpdate,
    /// CONTINUATION (0x9).
    Continuation,
    /// An extension or unknown type, which must be ignored (§4.1, §5.5).
    Unknown(u8),
}

impl FrameType {
    /// Converts the wire octet.
    pub const fn from_u8(v: u8) -> FrameType {
        match v {
            0 => FrameType::Data,
            1 => FrameType::Headers,
            2 => FrameType::Priority,
            3 => FrameType::RstStream,
            4 => FrameType::Settings,
            5 => FrameType::PushPromise,
            6 => FrameType::Ping,
            7 => FrameType::GoAway,
            8 => FrameType::WindowUpdate,
            9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The wire octet.
    pub const fn as_u8(self) -> u8 {
        match self {
            FrameType::Data => 0,
            FrameType::Headers => 1,
            FrameType::Priority => 2,
            FrameType::RstStream => 3,
            FrameType::Settings => 4,
            FrameType::PushPromise => 5,
            FrameType::Ping => 6,
            FrameType::GoAway => 7,
            FrameType::WindowUpdate => 8,
            FrameType::Continuation => 9,
            FrameType::Unknown(v) => v,
        }
    }
}

/// The 9-octet header in front of every frame (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Payload length (24 bits), header excluded.
    pub length: u32,
    /// Frame type.
    pub frame_type: FrameType,
    /// Raw flag bits; see [`flags`].
    pub flags: u8,
    /// Stream identifier (31 bits; the reserved bit is ignored on read).
    pub stream_id: u32,
}

impl FrameHeader {
    /// Builds a header.
    pub const fn new(frame_type: FrameType, flags: u8, stream_id: u32, length: u32) -> Self {
        FrameHeader {
            length,
            frame_type,
            flags,
            stream_id,
        }
    }

    /// Parses the first 9 bytes of `buf`; `None` if fewer are available.
    /// The reserved bit of the stream identifier is masked off (§4.1).
    pub fn parse(buf: &[u8]) -> Option<FrameHeader> {
        if buf.len() < FRAME_HEADER_LEN {
            return None;
        }
        Some(FrameHeader {
            length: u32::from_be_bytes([0, buf[0], buf[1], buf[2]]),
            frame_type: FrameType::from_u8(buf[3]),
            flags: buf[4],
            stream_id: read_u31(&buf[5..9]),
        })
    }

    /// The 9 wire bytes; the reserved bit is written as zero.
    ///
    /// # Panics
    /// If `length` does not fit in 24 bits.
    pub fn to_bytes(&self) -> [u8; FRAME_HEADER_LEN] {
        assert!(
            self.length <= MAX_ALLOWED_FRAME_SIZE,
            "frame length exceeds 2^24-1"
        );
        let l = self.length.to_be_bytes();
        let s = (self.stream_id & MAX_STREAM_ID).to_be_bytes();
        [
            l[1],
            l[2],
            l[3],
            self.frame_type.as_u8(),
            self.flags,
            s[0],
            s[1],
            s[2],
            s[3],
        ]
    }

    /// Appends the 9 wire bytes to `dst` (see [`FrameHeader::to_bytes`]).
    pub fn encode(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.to_bytes());
    }

    /// `true` if all bits of `flag` are set.
    pub const fn has_flag(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// A frame whose type this crate does not know; it must be ignored
/// (RFC 9113 §5.5), but is handed out so extensions can look at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownFrame<'a> {
    /// The frame header as received.
    pub header: FrameHeader,
    /// The raw payload.
    pub payload: &'a [u8],
}

/// One parsed frame, borrowing its payload from the input buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA.
    Data(DataFrame<'a>),
    /// HEADERS.
    Headers(HeadersFrame<'a>),
    /// PRIORITY.
    Priority(PriorityFrame),
    /// RST_STREAM.
    RstStream(RstStreamFrame),
    /// SETTINGS.
    Settings(SettingsFrame),
    /// PUSH_PROMISE.
    PushPromise(PushPromiseFrame<'a>),
    /// PING.
    Ping(PingFrame),
    /// GOAWAY.
    GoAway(GoAwayFrame<'a>),
    /// WINDOW_UPDATE.
    WindowUpdate(WindowUpdateFrame),
    /// CONTINUATION.
    Continuation(ContinuationFrame<'a>),
    /// Unknown type: ignore it (but see RFC 9113 §6.10 about unknown
    /// frames between HEADERS and CONTINUATION, which the connection must
    /// reject).
    Unknown(UnknownFrame<'a>),
}

impl<'a> Frame<'a> {
    /// Parses a frame from its header and exactly `header.length` bytes of
    /// payload, applying every check RFC 9113 §4 and §6 make on a single
    /// frame. Checks that need connection state (stream states, CONTINUATION
    /// sequencing, flow-control windows) are the caller's.
    ///
    /// # Panics
    /// If `payload.len() != header.length`.
    pub fn parse(header: FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        assert_eq!(
            payload.len(),
            header.length as usize,
            "payload length mismatch"
        );
        Ok(match header.frame_type {
            FrameType::Data => Frame::Data(DataFrame::parse(&header, payload)?),
            FrameType::Headers => Frame::Headers(HeadersFrame::parse(&header, payload)?),
            FrameType::Priority => Frame::Priority(PriorityFrame::parse(&header, payload)?),
            FrameType::RstStream => Frame::RstStream(RstStreamFrame::parse(&header, payload)?),
            FrameType::Settings => Frame::Settings(SettingsFrame::parse(&header, payload)?),
            FrameType::PushPromise => {
                Frame::PushPromise(PushPromiseFrame::parse(&header, payload)?)
            }
            FrameType::Ping => Frame::Ping(PingFrame::parse(&header, payload)?),
            FrameType::GoAway => Frame::GoAway(GoAwayFrame::parse(&header, payload)?),
            FrameType::WindowUpdate => {
                Frame::WindowUpdate(WindowUpdateFrame::parse(&header, payload)?)
            }
            FrameType::Continuation => {
                Frame::Continuation(ContinuationFrame::parse(&header, payload)?)
            }
            FrameType::Unknown(_) => Frame::Unknown(UnknownFrame { header, payload }),
        })
    }

    /// The stream identifier the frame was sent on (0 for connection
    /// frames).
    pub fn stream_id(&self) -> u32 {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => 0,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Continuation(f) => f.stream_id,
            Frame::Unknown(f) => f.header.stream_id,
        }
    }
}

/// Decodes one frame from the front of `buf`.
///
/// * `Ok(None)`: more bytes are needed (the header or payload is
///   incomplete). A header announcing a payload larger than
///   `max_frame_size` (our SETTINGS_MAX_FRAME_SIZE) is rejected as soon as
///   its 9 bytes are available, so an oversized frame is never buffered.
/// * `Ok(Some((frame, consumed)))`: a complete frame; drop `consumed` bytes
///   from the buffer after you are done with the borrowed `frame`.
/// * `Err(e)`: a protocol violation. For a connection error, send GOAWAY
///   with `e.code()` and stop. For a stream error, send RST_STREAM on
///   `e.stream_id()`, skip [`FrameError::frame_len`] bytes and go on.
///
/// Oversized frames are always connection errors here (RFC 9113 §4.2
/// allows a stream error only for frames that cannot alter connection
/// state; a connection error is always permissible).
pub fn decode_frame(
    buf: &[u8],
    max_frame_size: u32,
) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let header = match FrameHeader::parse(buf) {
        Some(h) => h,
        None => return Ok(None),
    };
    if header.length > max_frame_size {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §4.2: frame length exceeds SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    let total = FRAME_HEADER_LEN + header.length as usize;
    if buf.len() < total {
        return Ok(None);
    }
    match Frame::parse(header, &buf[FRAME_HEADER_LEN..total]) {
        Ok(frame) => Ok(Some((frame, total))),
        Err(e) if !e.is_connection_error() => Err(e.with_frame_len(total)),
        Err(e) => Err(e),
    }
}

/// Reads a 31-bit value, ignoring the reserved high bit.
pub(crate) fn read_u31(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & MAX_STREAM_ID
}

/// Reads a big-endian u32.
pub(crate) fn read_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Rejects stream 0 for frames that must be on a stream.
pub(crate) fn require_stream(header: &FrameHeader, rule: &'static str) -> Result<(), FrameError> {
    if header.stream_id == 0 {
        Err(FrameError::connection(ErrorCode::ProtocolError, rule))
    } else {
        Ok(())
    }
}

/// Rejects non-zero streams for connection-level frames.
pub(crate) fn require_connection(
    header: &FrameHeader,
    rule: &'static str,
) -> Result<(), FrameError> {
    if header.stream_id != 0 {
        Err(FrameError::connection(ErrorCode::ProtocolError, rule))
    } else {
        Ok(())
    }
}

/// The parts of a possibly padded payload.
pub(crate) struct Unpadded<'a> {
    /// Fixed fields that follow the Pad Length octet (priority, promised id).
    pub fixed: &'a [u8],
    /// The body (data or field-block fragment).
    pub body: &'a [u8],
    /// The Pad Length, if PADDED was set.
    pub pad_len: Option<u8>,
}

/// Splits `payload` into the optional Pad Length, `fixed_len` bytes of
/// fixed fields, the body and the padding (RFC 9113 §6.1, §6.2, §6.6).
pub(crate) fn split_padded<'a>(
    header: &FrameHeader,
    payload: &'a [u8],
    fixed_len: usize,
    short_rule: &'static str,
    pad_rule: &'static str,
) -> Result<Unpadded<'a>, FrameError> {
    let padded = header.flags & flags::PADDED != 0;
    let (pad_len, rest) = if padded {
        match payload.split_first() {
            Some((&p, rest)) => (Some(p), rest),
            None => {
                return Err(FrameError::connection(
                    ErrorCode::FrameSizeError,
                    short_rule,
                ))
            }
        }
    } else {
        (None, payload)
    };
    if rest.len() < fixed_len {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            short_rule,
        ));
    }
    let (fixed, rest) = rest.split_at(fixed_len);
    let pad = pad_len.unwrap_or(0) as usize;
    // "If the length of the padding is the length of the frame payload or
    // greater, the recipient MUST treat this as a connection error of type
    // PROTOCOL_ERROR." Padding that eats into the fixed fields is the same
    // violation.
    if pad_len.is_some() && (pad >= payload.len() || pad > rest.len()) {
        return Err(FrameError::connection(ErrorCode::ProtocolError, pad_rule));
    }
    Ok(Unpadded {
        fixed,
        body: &rest[..rest.len() - pad],
        pad_len,
    })
}

/// Writes `n` zero bytes of padding.
pub(crate) fn write_padding(n: usize, dst: &mut Vec<u8>) {
    dst.resize(dst.len() + n, 0);
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// Builds a raw frame.
    pub fn raw(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let l = (payload.len() as u32).to_be_bytes();
        v.extend_from_slice(&[l[1], l[2], l[3], ty, flags]);
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// Decodes `bytes` with the default max frame size, expecting exactly
    /// one complete frame.
    pub fn decode_one(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
        match decode_frame(bytes, DEFAULT_MAX_FRAME_SIZE)? {
            Some((f, n)) => {
                assert_eq!(n, bytes.len());
                Ok(f)
            }
            None => panic!("incomplete frame"),
        }
    }

    /// Asserts a connection error with `code`.
    pub fn assert_conn_err(r: Result<Frame<'_>, FrameError>, code: ErrorCode) -> FrameError {
        let e = r.expect_err("expected an error");
        assert!(e.is_connection_error(), "{e}");
        assert_eq!(e.code(), code, "{e}");
        assert!(e.message().starts_with("RFC 9113 §"), "{e}");
        e
    }

    /// Asserts a stream error with `code` on `stream`.
    pub fn assert_stream_err(
        r: Result<Frame<'_>, FrameError>,
        stream: u32,
        code: ErrorCode,
    ) -> FrameError {
        let e = r.expect_err("expected an error");
        assert_eq!(e.stream_id(), Some(stream), "{e}");
        assert_eq!(e.code(), code, "{e}");
        assert!(e.message().starts_with("RFC 9113 §"), "{e}");
        e
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn header_round_trip_and_reserved_bit() {
        let bytes = [0x00, 0x01, 0x02, 0x07, 0xff, 0x80, 0x00, 0x00, 0x05];
        let h = FrameHeader::parse(&bytes).unwrap();
        assert_eq!(h.length, 0x102);
        assert_eq!(h.frame_type, FrameType::GoAway);
        assert_eq!(h.flags, 0xff);
        assert_eq!(h.stream_id, 5, "reserved bit must be ignored");
        let out = FrameHeader::new(FrameType::Data, 1, 0xffff_ffff, 3).to_bytes();
        assert_eq!(
            out,
            [0, 0, 3, 0, 1, 0x7f, 0xff, 0xff, 0xff],
            "reserved bit written as 0"
        );
        assert!(FrameHeader::parse(&bytes[..8]).is_none());
        let mut v = Vec::new();
        h.encode(&mut v);
        assert_eq!(v, [0x00, 0x01, 0x02, 0x07, 0xff, 0x00, 0x00, 0x00, 0x05]);
        assert!(h.has_flag(flags::ACK | flags::PADDED));
    }

    #[test]
    fn frame_type_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(FrameType::from_u8(v).as_u8(), v);
        }
        assert_eq!(FrameType::from_u8(10), FrameType::Unknown(10));
    }

    #[test]
    fn need_more_bytes() {
        let f = raw(6, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8]);
        for cut in 0..f.len() {
            assert_eq!(
                decode_frame(&f[..cut], DEFAULT_MAX_FRAME_SIZE),
                Ok(None),
                "{cut}"
            );
        }
        let mut two = f.clone();
        two.extend_from_slice(&f);
        let (_, n) = decode_frame(&two, DEFAULT_MAX_FRAME_SIZE).unwrap().unwrap();
        assert_eq!(n, 17);
    }

    #[test]
    fn oversized_frame_rejected_from_header_alone() {
        let mut h = raw(0, 0, 1, &[]);
        h[0] = 0x00;
        h[1] = 0x40;
        h[2] = 0x01; // 16385
        let e = decode_frame(&h, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert!(e.is_connection_error());
        assert_eq!(e.code(), ErrorCode::FrameSizeError);
        // Exactly max is fine (just incomplete here).
        h[2] = 0x00;
        assert_eq!(decode_frame(&h, DEFAULT_MAX_FRAME_SIZE), Ok(None));
        // A larger limit accepts it.
        h[2] = 0x01;
        assert_eq!(decode_frame(&h, 20_000), Ok(None));
    }

    #[test]
    fn unknown_frame_type_is_returned_not_rejected() {
        let f = raw(0xfa, 0xff, 7, b"ext");
        match decode_one(&f).unwrap() {
            Frame::Unknown(u) => {
                assert_eq!(u.header.frame_type, FrameType::Unknown(0xfa));
                assert_eq!(u.payload, b"ext");
                assert_eq!(Frame::Unknown(u).stream_id(), 7);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stream_error_reports_frame_len() {
        // PRIORITY with a 4-byte payload: stream error, skip 13 bytes.
        let f = raw(2, 0, 3, &[0, 0, 0, 1]);
        let e = decode_frame(&f, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert_eq!(e.stream_id(), Some(3));
        assert_eq!(e.frame_len(), Some(13));
    }
}
