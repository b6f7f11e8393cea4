//! The receive side of a stream, shared by the protocol cores: heads not yet read, body bytes
//! not yet read, trailers, end of stream, and the error that ended it.

use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use std::collections::VecDeque;

/// Heads not yet read: almost always one, so the first is kept inline.
#[derive(Debug, Default)]
pub(crate) struct HeadQueue {
    first: Option<Headers>,
    rest: VecDeque<Headers>,
}

impl HeadQueue {
    pub(crate) fn push_back(&mut self, h: Headers) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(h);
        } else {
            self.rest.push_back(h);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Headers> {
        self.first.take().or_else(|| self.rest.pop_front())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    /// The latest head not yet read.
    pub(crate) fn back(&self) -> Option<&Headers> {
        self.rest.back().or(self.first.as_ref())
    }

    pub(crate) fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

/// What a stream has received and the application has not yet taken.
#[derive(Debug, Default)]
pub(crate) struct RecvSide {
    pub heads: HeadQueue,
    /// A final (non-1xx) head has arrived.
    pub got_final_head: bool,
    body: Vec<u8>,
    pos: usize,
    pub trailers: Option<Headers>,
    /// The peer ended the stream.
    pub end: bool,
    /// The body ended because the connection closed (no length was given).
    pub close_delimited: bool,
    /// The stream failed (reset, truncation, protocol error).
    pub error: Option<Error>,
    /// Body bytes received in all.
    pub total: u64,
    /// The application has seen the end (or the error): nothing more to tell it.
    pub seen_end: bool,
}

/// One step of reading a body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    Data(Vec<u8>),
    End,
}

impl RecvSide {
    pub(crate) fn push_body(&mut self, data: &[u8]) {
        if self.pos == self.body.len() {
            self.body.clear();
            self.pos = 0;
        } else if self.pos >= self.body.len() - self.pos {
            // Read in part (`read_into`, a pass): the bytes read go, so that a reader that
            // never catches up exactly does not grow the buffer by everything it read.
            self.body.drain(..self.pos);
            self.pos = 0;
        }
        self.body.extend_from_slice(data);
        self.total += data.len() as u64;
    }

    /// Gives the stream storage for its body (a buffer a finished stream left behind), when
    /// it has none: the body then arrives without an allocation.
    pub(crate) fn give_body_room(&mut self, room: Vec<u8>) {
        if self.body.capacity() == 0 {
            debug_assert!(room.is_empty());
            self.body = room;
            self.pos = 0;
        }
    }

    /// Takes the body's storage, emptied, for a later stream (the stream is over: nothing of
    /// the body is left to read).
    pub(crate) fn take_body_room(&mut self) -> Vec<u8> {
        let mut room = std::mem::take(&mut self.body);
        room.clear();
        self.pos = 0;
        room
    }

    /// The bytes of storage the body buffer holds.
    pub(crate) fn body_capacity(&self) -> usize {
        self.body.capacity()
    }

    /// Body bytes buffered and not yet read.
    pub(crate) fn buffered(&self) -> usize {
        self.body.len() - self.pos
    }

    /// Drops everything buffered (the application gave up on the stream).
    pub(crate) fn discard(&mut self) {
        self.body = Vec::new();
        self.pos = 0;
        self.heads.clear();
        self.trailers = None;
    }

    pub(crate) fn fail(&mut self, e: Error) {
        if !self.end && self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// The next head, or would-block, or the error that ended the stream.
    pub(crate) fn take_head(&mut self) -> Result<Option<Headers>> {
        if let Some(h) = self.heads.pop_front() {
            return Ok(Some(h));
        }
        if let Some(e) = &self.error {
            self.seen_end = true;
            return Err(e.clone());
        }
        if self.end {
            // The stream ended without (another) head.
            self.seen_end = self.buffered() == 0;
            return Ok(None);
        }
        Err(Error::would_block())
    }

    /// Up to `max` body bytes; `Chunk::End` once the body is over; would-block if none yet.
    pub(crate) fn take_chunk(&mut self, max: usize) -> Result<Chunk> {
        let n = self.buffered().min(max);
        if n > 0 {
            let out = if self.pos == 0 && n == self.body.len() {
                std::mem::take(&mut self.body)
            } else {
                self.body[self.pos..self.pos + n].to_vec()
            };
            self.pos += n;
            if self.pos >= self.body.len() {
                self.body.clear();
                self.pos = 0;
            }
            return Ok(Chunk::Data(out));
        }
        self.nothing_buffered().map(|_| Chunk::End)
    }

    /// Appends every buffered body byte to `out`: `Some(n)` for `n` bytes appended, `None`
    /// when the body is over and nothing was left, would-block when nothing has come and the
    /// body goes on, or the error that ended the stream (told after the bytes before it).
    pub(crate) fn drain_into(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>> {
        let n = self.buffered();
        if n > 0 {
            if out.is_empty() && self.pos == 0 {
                // The body's storage goes to the caller; the caller's takes its place.
                std::mem::swap(out, &mut self.body);
            } else {
                out.extend_from_slice(&self.body[self.pos..]);
            }
            self.body.clear();
            self.pos = 0;
            // A body that ended with these bytes is over for the core: the stream may go, and
            // the next call reads it as ended. An error is told by the next call.
            self.seen_end = self.end;
            return Ok(Some(n));
        }
        self.nothing_buffered()
    }

    /// Whether body bytes are still to be read: some wait to be read, or the peer has not
    /// ended its message (nor failed).
    pub(crate) fn body_follows(&self) -> bool {
        self.buffered() > 0 || (!self.end && self.error.is_none())
    }

    /// What a read finds when no body byte is buffered: `None` at the end of the body, the
    /// error that ended the stream, or would-block. Marks the end (or the error) seen.
    /// (Never `Some`: the callers with bytes to hand out answer before asking it.)
    pub(crate) fn nothing_buffered(&mut self) -> Result<Option<usize>> {
        if let Some(e) = &self.error {
            self.seen_end = true;
            return Err(e.clone());
        }
        if self.end {
            self.seen_end = true;
            return Ok(None);
        }
        Err(Error::would_block())
    }

    /// Copies body bytes into `out` (as many as fit): `Some(n)` for `n > 0` bytes, `None` when
    /// the body is over, would-block when nothing has come and the body goes on, or the error
    /// that ended the stream (told after the bytes before it). `out` is not empty.
    pub(crate) fn read_into(&mut self, out: &mut [u8]) -> Result<Option<usize>> {
        let n = self.buffered().min(out.len());
        if n == 0 {
            return self.nothing_buffered();
        }
        out[..n].copy_from_slice(&self.body[self.pos..self.pos + n]);
        self.consume(n);
        Ok(Some(n))
    }

    /// The body bytes buffered and not yet read, without taking them (see [`consume`]).
    ///
    /// [`consume`]: Self::consume
    pub(crate) fn unread(&self) -> &[u8] {
        &self.body[self.pos..]
    }

    /// Takes the first `n` bytes of [`unread`](Self::unread) as read; the last of them ends
    /// the body for the core when the peer ended it (the next read says so).
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.buffered());
        self.pos += n;
        if self.pos == self.body.len() {
            // The storage stays for the next bytes.
            self.body.clear();
            self.pos = 0;
            self.seen_end = self.end;
        }
    }

    /// For the cores' tests: [`drain_into`](Self::drain_into) until it says the end (`true`)
    /// or not yet (`false`).
    #[cfg(test)]
    pub(crate) fn drain_all(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        loop {
            match self.drain_into(out) {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(true),
                Err(e) if e.is_would_block() => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Puts bytes back in front of the unread body (lua-http's `unget`).
    pub(crate) fn unget(&mut self, data: &[u8]) {
        let mut v = Vec::with_capacity(data.len() + self.buffered());
        v.extend_from_slice(data);
        v.extend_from_slice(&self.body[self.pos..]);
        self.body = v;
        self.pos = 0;
    }

    pub(crate) fn take_trailers(&mut self) -> Result<Option<Headers>> {
        if !self.end {
            if let Some(e) = &self.error {
                return Err(e.clone());
            }
            return Err(Error::would_block());
        }
        Ok(self.trailers.take())
    }
}

pub(crate) fn closed_stream() -> Error {
    Error::new(ErrorKind::Closed, "stream is closed or unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_come_in_order_then_end() {
        let mut r = RecvSide::default();
        assert!(r.take_chunk(10).unwrap_err().is_would_block());
        r.push_body(b"hello ");
        r.push_body(b"world");
        assert_eq!(r.take_chunk(3).unwrap(), Chunk::Data(b"hel".to_vec()));
        r.unget(b"XY");
        assert_eq!(
            r.take_chunk(100).unwrap(),
            Chunk::Data(b"XYlo world".to_vec())
        );
        assert!(r.take_chunk(10).unwrap_err().is_would_block());
        r.end = true;
        assert_eq!(r.take_chunk(10).unwrap(), Chunk::End);
        assert!(r.seen_end);
    }

    #[test]
    fn an_error_is_reported_after_the_data_before_it() {
        let mut r = RecvSide::default();
        r.push_body(b"part");
        r.fail(Error::new(ErrorKind::Truncated, "peer closed mid-body"));
        assert_eq!(r.take_chunk(10).unwrap(), Chunk::Data(b"part".to_vec()));
        assert_eq!(r.take_chunk(10).unwrap_err().kind(), ErrorKind::Truncated);
        let mut out = Vec::new();
        assert_eq!(
            r.drain_into(&mut out).unwrap_err().kind(),
            ErrorKind::Truncated
        );
    }

    /// `drain_into`: the bytes, then the end on the next call; would-block in between; the
    /// storage of an empty buffer is exchanged with the body's.
    #[test]
    fn drain_into_gives_the_bytes_then_the_end() {
        let mut r = RecvSide::default();
        let mut out = Vec::new();
        assert!(r.drain_into(&mut out).unwrap_err().is_would_block());
        r.push_body(b"hello ");
        assert_eq!(r.drain_into(&mut out).unwrap(), Some(6));
        assert!(r.drain_into(&mut out).unwrap_err().is_would_block());
        r.push_body(b"world");
        r.end = true;
        assert_eq!(r.drain_into(&mut out).unwrap(), Some(5));
        assert_eq!(out, b"hello world");
        assert!(r.seen_end, "the end came with the last bytes");
        assert_eq!(r.drain_into(&mut out).unwrap(), None);
        assert_eq!(r.drain_into(&mut out).unwrap(), None);
        let mut r = RecvSide::default();
        r.push_body(b"abc");
        let storage = r.body.as_ptr();
        let mut fresh = Vec::with_capacity(100);
        assert_eq!(r.drain_into(&mut fresh).unwrap(), Some(3));
        assert_eq!(fresh.as_ptr(), storage, "the body's storage, not a copy");
        assert_eq!(
            r.body.capacity(),
            100,
            "the caller's storage took its place"
        );
    }

    /// `read_into`: as many bytes as fit, in order, then the end (said again); a reader that
    /// reads less than arrives does not grow the buffer by what it read; `consume` and
    /// `unread` (a pass) keep the same order and the same end.
    #[test]
    fn read_into_fills_the_callers_buffer_then_says_the_end() {
        let mut r = RecvSide::default();
        let mut buf = [0u8; 4];
        assert!(r.read_into(&mut buf).unwrap_err().is_would_block());
        r.push_body(b"hello world");
        assert_eq!(r.read_into(&mut buf).unwrap(), Some(4));
        assert_eq!(&buf, b"hell");
        r.push_body(b"!");
        assert_eq!(r.unread(), b"o world!");
        r.consume(2);
        r.end = true;
        assert_eq!(r.read_into(&mut buf).unwrap(), Some(4));
        assert_eq!(&buf, b"worl");
        assert!(!r.seen_end);
        assert_eq!(r.read_into(&mut buf).unwrap(), Some(2));
        assert_eq!(&buf[..2], b"d!");
        assert!(r.seen_end, "the end came with the last bytes");
        assert!(!r.body_follows());
        assert_eq!(r.read_into(&mut buf).unwrap(), None);
        assert_eq!(r.read_into(&mut buf).unwrap(), None);

        let mut r = RecvSide::default();
        for _ in 0..1000 {
            r.push_body(&[7; 100]);
            assert_eq!(r.read_into(&mut [0; 60]).unwrap(), Some(60));
        }
        assert_eq!(r.buffered(), 40_000);
        assert!(
            r.body.len() < 2 * 40_000 + 100,
            "what was read is dropped: {} bytes kept",
            r.body.len()
        );
        assert!(r.body_follows());
        r.fail(Error::new(ErrorKind::Reset, "reset"));
        assert!(r.body_follows(), "bytes before the error are still to read");
        r.consume(usize::MAX);
        assert!(!r.body_follows());
        assert_eq!(r.read_into(&mut buf).unwrap_err().kind(), ErrorKind::Reset);
    }

    /// A failure after some bytes: those bytes first, the error on the next call.
    #[test]
    fn drain_into_tells_an_error_after_the_bytes_before_it() {
        let mut r = RecvSide::default();
        r.push_body(b"part");
        r.fail(Error::new(ErrorKind::Truncated, "peer closed mid-body"));
        let mut out = Vec::new();
        assert_eq!(r.drain_into(&mut out).unwrap(), Some(4));
        assert!(!r.seen_end);
        let e = r.drain_into(&mut out).unwrap_err();
        assert_eq!(
            (e.kind(), out.as_slice()),
            (ErrorKind::Truncated, &b"part"[..])
        );
    }
}
