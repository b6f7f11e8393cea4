//! # h2-codec-lite
//!
//! HTTP/2 frame parsing and encoding ([RFC 9113]) and HPACK header
//! compression ([RFC 7541]), with no I/O, no streams, no sockets and no
//! dependencies beyond `std`. It is the wire layer for a sans-IO HTTP/2
//! connection core: the core owns the buffers and the state machines, this
//! crate turns bytes into validated frames and header lists and back.
//!
//! ## Design
//!
//! * **Sans-IO, caller-owned buffers.** [`decode_frame`] looks at a byte
//!   slice and answers "need more bytes" (`Ok(None)`), "here is a frame
//!   and it used `n` bytes" (`Ok(Some((frame, n)))`) or an error. Encoders
//!   append to a `Vec<u8>` the caller owns, so frames can be batched into
//!   one write.
//! * **Zero-copy parsing.** [`Frame`] borrows from the input: DATA
//!   payloads, header-block fragments, GOAWAY debug data and unknown
//!   payloads are slices of the caller's buffer. The HPACK decoder hands
//!   raw literal strings to its callback as slices of the block.
//!   [`encode_data_header`] writes just the 9-byte header so a payload can
//!   be written straight after it.
//! * **Errors name the rule.** A [`FrameError`] carries the [`ErrorCode`]
//!   to send, whether it is a connection error (GOAWAY) or a stream error
//!   (RST_STREAM, with the stream id), and a static message citing the
//!   RFC section that was violated. Every per-frame check of RFC 9113 §4
//!   and §6 is done at parse time; checks that need connection state
//!   (stream states, CONTINUATION sequencing, flow-control windows) are
//!   left to the caller.
//! * **Bounded memory in HPACK.** The [`hpack::HpackDecoder`] limits the
//!   decoded header-list size and the length of each string, checks table
//!   size updates against the advertised SETTINGS_HEADER_TABLE_SIZE, and
//!   rejects over-long integers, so a hostile peer cannot make it allocate
//!   without bound. The dynamic table is a ring buffer of entries with
//!   RFC 7541 size accounting; the static table is looked up by matching on
//!   name length and bytes, never by hashing.
//! * **No `unsafe`.** The Huffman decoder is a table-driven 4-bit state
//!   machine whose tables are computed at compile time by `const fn`s from
//!   the RFC 7541 Appendix B code table.
//!
//! ## Example
//!
//! ```
//! use h2_codec_lite::hpack::{HeaderRef, HpackDecoder, HpackEncoder};
//! use h2_codec_lite::{decode_frame, encode_headers, Frame, DEFAULT_MAX_FRAME_SIZE};
//!
//! // Sender: compress a header list and frame it.
//! let mut encoder = HpackEncoder::new();
//! let mut block = Vec::new();
//! encoder.encode(
//!     [
//!         HeaderRef::new(b":method", b"GET"),
//!         HeaderRef::new(b":path", b"/"),
//!         HeaderRef::new(b":scheme", b"https"),
//!         HeaderRef::new(b":authority", b"example.com"),
//!     ],
//!     &mut block,
//! );
//! let mut wire = Vec::new();
//! encode_headers(1, &block, true, None, DEFAULT_MAX_FRAME_SIZE, &mut wire);
//!
//! // Receiver: parse the frame and decode the block.
//! let mut decoder = HpackDecoder::new();
//! let (frame, used) = decode_frame(&wire, DEFAULT_MAX_FRAME_SIZE).unwrap().unwrap();
//! assert_eq!(used, wire.len());
//! let Frame::Headers(headers) = frame else { panic!() };
//! assert!(headers.end_headers && headers.end_stream);
//! let fields = decoder.decode_to_vec(headers.header_block).unwrap();
//! assert_eq!(fields[3].value, b"example.com");
//! ```
//!
//! [RFC 9113]: https://www.rfc-editor.org/rfc/rfc9113
//! [RFC 7541]: https://www.rfc-editor.org/rfc/rfc7541

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod frame;
pub mod hpack;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod fuzz_tests;

pub use error::{ErrorCode, ErrorScope, FrameError, HpackError, HpackErrorKind};
pub use frame::*;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
