//! The chunked transfer coding (RFC 9112 section 7.1): a strict, incremental decoder and the
//! encoder's framing helpers.
//!
//! The decoder is a state machine fed any split of the input; it never buffers body bytes (it
//! hands out slices of the input) and buffers a trailer section only up to a limit. It is strict
//! where leniency enables request smuggling: CRLF is required after the size line and after the
//! chunk data, the size is hex digits only and bounded, and extensions are bounded.

use crate::error::{Error, Result};
use crate::headers::Headers;
use http::StatusCode;

const MAX_EXT: usize = 4096;
const MAX_SIZE_DIGITS: u8 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of the size; `digits` so far.
    Size {
        digits: u8,
    },
    /// Optional whitespace after the size, before `;` or CR.
    SizeWs,
    /// In a chunk extension.
    Ext,
    /// Saw CR at the end of the size line.
    SizeLf,
    /// In chunk data; `remaining` bytes to go.
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// In the trailer section (after the last chunk).
    Trailer,
    Done,
}

/// Incremental decoder of a chunked body.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    size: u64,
    ext_len: usize,
    trailer: Vec<u8>,
    trailers: Option<Headers>,
}

/// What one call to [`ChunkedDecoder::decode`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Input bytes consumed.
    pub consumed: usize,
    /// The body (and trailer section) is complete.
    pub done: bool,
}

fn bad(rule: &str) -> Error {
    Error::protocol(
        StatusCode::BAD_REQUEST,
        format!("malformed chunked body: {rule} (RFC 9112 7.1)"),
    )
}

impl ChunkedDecoder {
    pub(crate) fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            ext_len: 0,
            trailer: Vec::new(),
            trailers: None,
        }
    }

    /// The trailer fields, once decoding is done (if there were any).
    pub(crate) fn take_trailers(&mut self) -> Option<Headers> {
        self.trailers.take()
    }

    /// Decodes from `input`, passing body bytes to `data` (possibly in several calls).
    /// `max_trailer` bounds the trailer section; `max_headers` its field count.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        max_trailer: usize,
        max_headers: usize,
        mut data: impl FnMut(&[u8]),
    ) -> Result<Decoded> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Size { digits } => {
                    let v = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        _ if digits == 0 => return Err(bad("chunk size is not a hex number")),
                        b'\r' => {
                            self.state = State::SizeLf;
                            i += 1;
                            continue;
                        }
                        b';' => {
                            self.state = State::Ext;
                            i += 1;
                            continue;
                        }
                        b' ' | b'\t' => {
                            self.state = State::SizeWs;
                            i += 1;
                            continue;
                        }
                        _ => return Err(bad("invalid character after the chunk size")),
                    };
                    if digits >= MAX_SIZE_DIGITS {
                        return Err(bad("chunk size too large"));
                    }
                    self.size = self.size * 16 + v as u64;
                    self.state = State::Size { digits: digits + 1 };
                    i += 1;
                }
                State::SizeWs => {
                    match b {
                        b' ' | b'\t' => {}
                        b';' => self.state = State::Ext,
                        b'\r' => self.state = State::SizeLf,
                        _ => return Err(bad("invalid character after the chunk size")),
                    }
                    i += 1;
                }
                State::Ext => {
                    // Extensions are ignored, but bounded and free of control characters.
                    match b {
                        b'\r' => self.state = State::SizeLf,
                        b'\t' | 0x20..=0x7e | 0x80..=0xff => {
                            self.ext_len += 1;
                            if self.ext_len > MAX_EXT {
                                return Err(bad("chunk extension too long"));
                            }
                        }
                        _ => return Err(bad("control character in a chunk extension")),
                    }
                    i += 1;
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(bad("chunk size line not ended by CRLF"));
                    }
                    i += 1;
                    self.ext_len = 0;
                    if self.size == 0 {
                        self.state = State::Trailer;
                    } else {
                        self.state = State::Data {
                            remaining: self.size,
                        };
                        self.size = 0;
                    }
                }
                State::Data { remaining } => {
                    let n = remaining.min((input.len() - i) as u64) as usize;
                    data(&input[i..i + n]);
                    i += n;
                    let left = remaining - n as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(bad("chunk data not followed by CRLF"));
                    }
                    self.state = State::DataLf;
                    i += 1;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(bad("chunk data not followed by CRLF"));
                    }
                    self.state = State::Size { digits: 0 };
                    i += 1;
                }
                State::Trailer => {
                    let rest = &input[i..];
                    let (n, end) = self.scan_trailer(rest);
                    if self.trailer.len() + n > max_trailer {
                        return Err(Error::protocol(
                            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                            format!("trailer section larger than {max_trailer} bytes"),
                        ));
                    }
                    self.trailer.extend_from_slice(&rest[..n]);
                    i += n;
                    if end {
                        self.finish_trailer(max_headers)?;
                        self.state = State::Done;
                        return Ok(Decoded {
                            consumed: i,
                            done: true,
                        });
                    }
                }
                State::Done => break,
            }
        }
        Ok(Decoded {
            consumed: i,
            done: self.state == State::Done,
        })
    }

    /// Finds the end of the trailer section in `rest`, given what is buffered already.
    /// Returns how many bytes of `rest` belong to it and whether it ended.
    fn scan_trailer(&self, rest: &[u8]) -> (usize, bool) {
        // The section ends at an empty line: CRLF at its very start, or CRLFCRLF.
        let prev = &self.trailer;
        for (j, _) in rest.iter().enumerate() {
            let at = prev.len() + j;
            let byte = |k: usize| -> u8 {
                if k < prev.len() {
                    prev[k]
                } else {
                    rest[k - prev.len()]
                }
            };
            if byte(at) == b'\n'
                && at >= 1
                && byte(at - 1) == b'\r'
                && (at == 1 || (at >= 3 && byte(at - 2) == b'\n' && byte(at - 3) == b'\r'))
            {
                return (j + 1, true);
            }
        }
        (rest.len(), false)
    }

    fn finish_trailer(&mut self, max_headers: usize) -> Result<()> {
        let raw = std::mem::take(&mut self.trailer);
        if raw.len() <= 2 {
            return Ok(());
        }
        let mut slots = vec![httparse::EMPTY_HEADER; max_headers.min(256)];
        match httparse::parse_headers(&raw, &mut slots) {
            Ok(httparse::Status::Complete((_, fields))) => {
                let mut h = Headers::with_capacity(fields.len(), raw.len());
                for f in fields {
                    // RFC 9110 6.5.1: framing and routing fields are not allowed in trailers.
                    let n = f.name.to_ascii_lowercase();
                    if matches!(
                        n.as_str(),
                        "content-length" | "transfer-encoding" | "host" | "connection"
                    ) {
                        continue;
                    }
                    h.append_raw(f.name, f.value);
                }
                self.trailers = Some(h);
                Ok(())
            }
            Ok(httparse::Status::Partial) => Err(bad("incomplete trailer section")),
            Err(httparse::Error::TooManyHeaders) => Err(Error::protocol(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many trailer fields",
            )),
            Err(_) => Err(bad("malformed trailer field")),
        }
    }
}

/// Appends the framing of one chunk of `len` bytes (its size line); the caller appends the
/// data and then [`CRLF`].
pub(crate) fn encode_chunk_head(out: &mut Vec<u8>, len: usize) {
    let mut buf = [0u8; 18];
    let mut i = buf.len();
    buf[i - 2..].copy_from_slice(b"\r\n");
    i -= 2;
    let mut n = len;
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// The line end after chunk data.
pub(crate) const CRLF: &[u8] = b"\r\n";

/// Appends the last chunk, the trailer fields (pseudo-headers skipped) and the final CRLF.
pub(crate) fn encode_last_chunk(out: &mut Vec<u8>, trailers: Option<&Headers>) {
    out.extend_from_slice(b"0\r\n");
    if let Some(t) = trailers {
        for f in t.iter().filter(|f| !f.name.starts_with(':')) {
            out.extend_from_slice(f.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(f.value);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, Option<Headers>, usize)> {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let r = d.decode(input, 1024, 16, |b| body.extend_from_slice(b))?;
        assert!(
            r.done,
            "not done after {:?}",
            String::from_utf8_lossy(input)
        );
        Ok((body, d.take_trailers(), r.consumed))
    }

    #[test]
    fn decodes_rfc_example_with_trailers() {
        let input = b"4\r\nWiki\r\n5;name=val\r\npedia\r\ne\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nGET";
        let (body, trailers, used) = decode_all(input).unwrap();
        assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(used, input.len() - 3);
        assert_eq!(trailers.unwrap().get_str("expires"), Some("never"));
    }

    #[test]
    fn every_split_gives_the_same_body() {
        let input = b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\n";
        for cut in 0..input.len() {
            let mut d = ChunkedDecoder::new();
            let mut body = Vec::new();
            let a = d
                .decode(&input[..cut], 1024, 16, |b| body.extend_from_slice(b))
                .unwrap();
            assert_eq!(a.consumed, cut);
            let b = d
                .decode(&input[cut..], 1024, 16, |b| body.extend_from_slice(b))
                .unwrap();
            assert!(b.done);
            assert_eq!(body, b"abc0123456789abcdef");
            assert_eq!(d.take_trailers().unwrap().get_str("x-t"), Some("1"));
        }
    }

    #[test]
    fn rejects_smuggling_shapes() {
        for bad in [
            &b"g\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcX\r\n",
            b"3\r\nabc\n0\r\n\r\n",
            b"1000000000000000\r\n",
            b"3\x00\r\n",
            b"3;\x01\r\n",
            b"0x3\r\n",
        ] {
            let mut d = ChunkedDecoder::new();
            let e = d.decode(bad, 1024, 16, |_| {}).unwrap_err();
            assert_eq!(
                e.status(),
                Some(http::StatusCode::BAD_REQUEST),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn extension_and_trailer_sizes_are_bounded() {
        let mut long = b"1;".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_EXT + 1));
        let e = ChunkedDecoder::new()
            .decode(&long, 1024, 16, |_| {})
            .unwrap_err();
        assert_eq!(e.status(), Some(http::StatusCode::BAD_REQUEST));
        let mut t = b"0\r\n".to_vec();
        t.extend(std::iter::repeat_n(b'x', 2000));
        let e = ChunkedDecoder::new()
            .decode(&t, 1024, 16, |_| {})
            .unwrap_err();
        assert_eq!(
            e.status(),
            Some(http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }

    #[test]
    fn trailers_drop_framing_fields() {
        let (_, t, _) = decode_all(b"0\r\ncontent-length: 5\r\nx-sum: abc\r\n\r\n").unwrap();
        let t = t.unwrap();
        assert!(!t.has("content-length"));
        assert_eq!(t.get_str("x-sum"), Some("abc"));
    }

    #[test]
    fn encodes_sizes_in_hex() {
        let mut out = Vec::new();
        encode_chunk_head(&mut out, 0x1a2b);
        encode_chunk_head(&mut out, 0);
        assert_eq!(out, b"1a2b\r\n0\r\n");
        let mut t = Headers::new();
        t.append("x-sum", "1");
        let mut out = Vec::new();
        encode_last_chunk(&mut out, Some(&t));
        assert_eq!(out, b"0\r\nx-sum: 1\r\n\r\n");
        let (body, tr, _) = decode_all(&out).unwrap();
        assert!(body.is_empty());
        assert_eq!(tr.unwrap(), t);
    }
}
