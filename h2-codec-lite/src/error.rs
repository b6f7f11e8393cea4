//! Error codes (RFC 9113 §7) and the errors produced while parsing frames
//! and HPACK header blocks.

use std::fmt;

/// An HTTP/2 error code as carried by RST_STREAM and GOAWAY (RFC 9113 §7).
///
/// Codes this crate does not know are preserved in [`ErrorCode::Unknown`]
/// so that they round-trip unchanged (RFC 9113 §7: unknown codes "MUST NOT
/// trigger any special behavior" and may be treated as `INTERNAL_ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `NO_ERROR` (0x0): graceful shutdown, not an error.
    NoError,
    /// `PROTOCOL_ERROR` (0x1): unspecific protocol error.
    ProtocolError,
    /// `INTERNAL_ERROR` (0x2): unexpected internal error.
    InternalError,
    /// `FLOW_CONTROL_ERROR` (0x3): the peer violated flow control.
    FlowControlError,
    /// `SETTINGS_TIMEOUT` (0x4): SETTINGS were not acknowledged in time.
    SettingsTimeout,
    /// `STREAM_CLOSED` (0x5): a frame arrived on a half-closed stream.
    StreamClosed,
    /// `FRAME_SIZE_ERROR` (0x6): a frame had an invalid size.
    FrameSizeError,
    /// `REFUSED_STREAM` (0x7): the stream was refused before any processing.
    RefusedStream,
    /// `CANCEL` (0x8): the stream is no longer needed.
    Cancel,
    /// `COMPRESSION_ERROR` (0x9): the field-compression context cannot be
    /// maintained.
    CompressionError,
    /// `CONNECT_ERROR` (0xa): the CONNECT tunnel was reset or closed.
    ConnectError,
    /// `ENHANCE_YOUR_CALM` (0xb): the peer generates excessive load.
    EnhanceYourCalm,
    /// `INADEQUATE_SECURITY` (0xc): the transport does not meet requirements.
    InadequateSecurity,
    /// `HTTP_1_1_REQUIRED` (0xd): use HTTP/1.1 instead.
    Http11Required,
    /// Any other code, preserved as received.
    Unknown(u32),
}

impl ErrorCode {
    /// Converts a wire value into an error code; unknown values are kept.
    pub const fn from_u32(code: u32) -> ErrorCode {
        match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolError,
            0x2 => ErrorCode::InternalError,
            0x3 => ErrorCode::FlowControlError,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSizeError,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::CompressionError,
            0xa => ErrorCode::ConnectError,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The 32-bit wire value of this code.
    pub const fn as_u32(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(other) => other,
        }
    }

    /// The name the RFC gives this code (`"UNKNOWN"` for unknown codes).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::NoError => "NO_ERROR",
            ErrorCode::ProtocolError => "PROTOCOL_ERROR",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::FlowControlError => "FLOW_CONTROL_ERROR",
            ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT",
            ErrorCode::StreamClosed => "STREAM_CLOSED",
            ErrorCode::FrameSizeError => "FRAME_SIZE_ERROR",
            ErrorCode::RefusedStream => "REFUSED_STREAM",
            ErrorCode::Cancel => "CANCEL",
            ErrorCode::CompressionError => "COMPRESSION_ERROR",
            ErrorCode::ConnectError => "CONNECT_ERROR",
            ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY",
            ErrorCode::Http11Required => "HTTP_1_1_REQUIRED",
            ErrorCode::Unknown(_) => "UNKNOWN",
        }
    }
}

impl From<u32> for ErrorCode {
    fn from(code: u32) -> Self {
        ErrorCode::from_u32(code)
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> Self {
        code.as_u32()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(c) => write!(f, "UNKNOWN(0x{c:x})"),
            known => f.write_str(known.name()),
        }
    }
}

/// Whether an error ends the whole connection or only one stream
/// (RFC 9113 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorScope {
    /// A connection error (§5.4.1): send GOAWAY with the code and close.
    Connection,
    /// A stream error (§5.4.2) on the given stream: send RST_STREAM with
    /// the code; the connection stays usable.
    Stream(u32),
}

/// A violation of RFC 9113 found while parsing a frame.
///
/// It carries the [`ErrorCode`] to send, whether it is a connection or a
/// stream error, and a static message naming the rule that was broken
/// (e.g. `"RFC 9113 §6.7: PING payload length must be 8"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    code: ErrorCode,
    scope: ErrorScope,
    rule: &'static str,
    frame_len: Option<usize>,
}

impl FrameError {
    /// A connection error with `code`, breaking `rule`.
    pub const fn connection(code: ErrorCode, rule: &'static str) -> FrameError {
        FrameError {
            code,
            scope: ErrorScope::Connection,
            rule,
            frame_len: None,
        }
    }

    /// A stream error on `stream_id` with `code`, breaking `rule`.
    pub const fn stream(stream_id: u32, code: ErrorCode, rule: &'static str) -> FrameError {
        FrameError {
            code,
            scope: ErrorScope::Stream(stream_id),
            rule,
            frame_len: None,
        }
    }

    pub(crate) const fn with_frame_len(mut self, len: usize) -> FrameError {
        self.frame_len = Some(len);
        self
    }

    /// The error code to put in GOAWAY or RST_STREAM.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// Connection or stream scope.
    pub const fn scope(&self) -> ErrorScope {
        self.scope
    }

    /// `true` for a connection error.
    pub const fn is_connection_error(&self) -> bool {
        matches!(self.scope, ErrorScope::Connection)
    }

    /// The stream to reset for a stream error, `None` for a connection error.
    pub const fn stream_id(&self) -> Option<u32> {
        match self.scope {
            ErrorScope::Stream(id) => Some(id),
            ErrorScope::Connection => None,
        }
    }

    /// The rule that was broken, with its RFC section.
    pub const fn message(&self) -> &'static str {
        self.rule
    }

    /// For a stream error returned by [`crate::decode_frame`]: the length
    /// (header included) of the offending frame, which the caller must skip
    /// before it continues reading the connection.
    pub const fn frame_len(&self) -> Option<usize> {
        self.frame_len
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            ErrorScope::Connection => write!(f, "connection error {}: {}", self.code, self.rule),
            ErrorScope::Stream(id) => {
                write!(
                    f,
                    "stream error {} on stream {}: {}",
                    self.code, id, self.rule
                )
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// What went wrong while decoding an HPACK header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HpackErrorKind {
    /// The block is malformed (bad index, truncated data, bad Huffman
    /// code, misplaced or too large table size update, over-long integer).
    /// The compression context is lost: connection error
    /// `COMPRESSION_ERROR` (RFC 9113 §4.3).
    Compression,
    /// A string literal is longer than the decoder's configured limit. The
    /// decoder stopped, so its context is unusable: connection error
    /// `COMPRESSION_ERROR`.
    StringTooLong,
    /// The decoded header list is larger than the configured maximum
    /// (SETTINGS_MAX_HEADER_LIST_SIZE accounting, 32 + name + value per
    /// field). The whole block *was* processed, so the dynamic table is in
    /// sync and the connection can go on: reject the request or response
    /// (e.g. RST_STREAM or a 431 response, RFC 9113 §10.5.1).
    HeaderListTooLarge,
}

/// An error from [`crate::hpack::HpackDecoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HpackError {
    kind: HpackErrorKind,
    rule: &'static str,
}

impl HpackError {
    pub(crate) const fn compression(rule: &'static str) -> HpackError {
        HpackError {
            kind: HpackErrorKind::Compression,
            rule,
        }
    }

    pub(crate) const fn new(kind: HpackErrorKind, rule: &'static str) -> HpackError {
        HpackError { kind, rule }
    }

    /// The kind of failure.
    pub const fn kind(&self) -> HpackErrorKind {
        self.kind
    }

    /// The rule that was broken, with its RFC section.
    pub const fn message(&self) -> &'static str {
        self.rule
    }

    /// `true` unless the error is [`HpackErrorKind::HeaderListTooLarge`],
    /// after which the connection remains usable.
    pub const fn is_connection_error(&self) -> bool {
        !matches!(self.kind, HpackErrorKind::HeaderListTooLarge)
    }

    /// The error code to send: `COMPRESSION_ERROR` for connection errors,
    /// `PROTOCOL_ERROR` (as RST_STREAM) for an over-large header list.
    pub const fn code(&self) -> ErrorCode {
        match self.kind {
            HpackErrorKind::HeaderListTooLarge => ErrorCode::ProtocolError,
            _ => ErrorCode::CompressionError,
        }
    }

    /// Converts this error into a [`FrameError`] for the header block of
    /// `stream_id`.
    pub const fn to_frame_error(&self, stream_id: u32) -> FrameError {
        if self.is_connection_error() {
            FrameError::connection(self.code(), self.rule)
        } else {
            FrameError::stream(stream_id, self.code(), self.rule)
        }
    }
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HPACK {:?} error: {}", self.kind, self.rule)
    }
}

impl std::error::Error for HpackError {}

impl From<HpackError> for FrameError {
    /// Connection-scoped conversion; use [`HpackError::to_frame_error`] to
    /// keep the stream id of a non-fatal error.
    fn from(e: HpackError) -> Self {
        e.to_frame_error(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_round_trips_all_known_and_unknown() {
        for v in 0u32..=0xd {
            let c = ErrorCode::from_u32(v);
            assert!(!matches!(c, ErrorCode::Unknown(_)), "{v}");
            assert_eq!(c.as_u32(), v);
            assert_eq!(u32::from(c), v);
        }
        assert_eq!(ErrorCode::from(0xe), ErrorCode::Unknown(0xe));
        assert_eq!(ErrorCode::Unknown(0xdead_beef).as_u32(), 0xdead_beef);
        assert_eq!(ErrorCode::from(0x9).to_string(), "COMPRESSION_ERROR");
        assert_eq!(ErrorCode::Unknown(0x42).to_string(), "UNKNOWN(0x42)");
        assert_eq!(ErrorCode::Http11Required.as_u32(), 0xd);
        assert_eq!(ErrorCode::EnhanceYourCalm.name(), "ENHANCE_YOUR_CALM");
    }

    #[test]
    fn frame_error_scopes() {
        let c = FrameError::connection(ErrorCode::ProtocolError, "rule");
        assert!(c.is_connection_error());
        assert_eq!(c.stream_id(), None);
        assert_eq!(c.message(), "rule");
        let s = FrameError::stream(3, ErrorCode::FrameSizeError, "r2");
        assert!(!s.is_connection_error());
        assert_eq!(s.stream_id(), Some(3));
        assert_eq!(s.scope(), ErrorScope::Stream(3));
        assert_eq!(
            s.to_string(),
            "stream error FRAME_SIZE_ERROR on stream 3: r2"
        );
    }

    #[test]
    fn hpack_error_conversion() {
        let e = HpackError::compression("x");
        assert_eq!(e.code(), ErrorCode::CompressionError);
        assert!(e.to_frame_error(5).is_connection_error());
        let big = HpackError::new(HpackErrorKind::HeaderListTooLarge, "y");
        assert!(!big.is_connection_error());
        assert_eq!(big.to_frame_error(5).stream_id(), Some(5));
    }
}
