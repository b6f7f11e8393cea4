//! A request the server has handed out, and what the server keeps of it until its response
//! has gone to the connection.

use super::deadlines::AnswerClock;
use super::fifo::Fifo;
use super::slab::{Key, Slab};
use crate::headers::Headers;
use crate::StreamId;
use std::fmt;

/// Names a request of a [`Server`](super::Server) across steps: the application may keep it
/// and come back with [`Server::request`](super::Server::request). It goes stale once the
/// response is complete or the connection is gone.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub(crate) Key);

impl RequestId {
    /// The id as one number (for a C program, a log line or a map key).
    pub fn to_u64(self) -> u64 {
        (u64::from(self.0.gen) << 32) | u64::from(self.0.index)
    }

    /// The id [`to_u64`](Self::to_u64) gave.
    pub fn from_u64(n: u64) -> RequestId {
        RequestId(Key {
            index: n as u32,
            gen: (n >> 32) as u32,
        })
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({}.{})", self.0.index, self.0.gen)
    }
}

/// Where the response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// No final head written yet.
    None,
    /// The head went to the connection; the body is the application's to write.
    Streaming,
    /// The head and a body given whole; what the connection has not taken yet is in `out`.
    Sending,
    /// The response is complete (or the stream failed): the record goes once no handle is
    /// left.
    Done,
}

/// One request's record.
pub(crate) struct Exchange {
    /// Its connection's key in the server's table.
    pub(crate) conn: Key,
    pub(crate) stream: StreamId,
    /// The request head, taken when it arrived (the storage is reused for later requests).
    pub(crate) head: Headers,
    /// The head has been taken: the request is handed out.
    pub(crate) got_head: bool,
    /// The request ended with its head (no body byte, no error): `try_body` gives the empty
    /// body without asking the connection.
    pub(crate) bare: bool,
    pub(crate) answer: Answer,
    /// The rest of a body given whole, from `out_at`, waiting for room.
    pub(crate) out: Vec<u8>,
    pub(crate) out_at: usize,
    /// What [`Request::try_body`](super::Request::try_body) has collected.
    pub(crate) body: Vec<u8>,
    /// The whole body was given out by `try_body`.
    pub(crate) body_taken: bool,
    /// In the queue of requests to hand out.
    pub(crate) queued: bool,
}

/// Buffers larger than this are not kept for a later request.
const KEEP: usize = 64 * 1024;

impl Exchange {
    pub(crate) fn new(conn: Key, stream: StreamId) -> Exchange {
        Exchange {
            conn,
            stream,
            head: Headers::new(),
            got_head: false,
            bare: false,
            answer: Answer::None,
            out: Vec::new(),
            out_at: 0,
            body: Vec::new(),
            body_taken: false,
            queued: false,
        }
    }

    /// Makes a finished record ready for another request, keeping its storage when small.
    pub(crate) fn reset(&mut self, conn: Key, stream: StreamId) {
        self.conn = conn;
        self.stream = stream;
        self.got_head = false;
        self.bare = false;
        self.answer = Answer::None;
        self.out.clear();
        if self.out.capacity() > KEEP {
            self.out = Vec::new();
        }
        self.out_at = 0;
        self.body.clear();
        if self.body.capacity() > KEEP {
            self.body = Vec::new();
        }
        self.body_taken = false;
        self.queued = false;
    }

    /// The body bytes still waiting for the connection.
    pub(crate) fn unsent(&self) -> &[u8] {
        &self.out[self.out_at..]
    }
}

/// Finished request records kept for their storage.
const SPARE: usize = 256;

/// The requests' records, with what goes with them: the finished records kept for reuse,
/// the queue of requests with news for the application, their response deadlines. Apart
/// from the connections' table, so that a connection's record, reached once, is passed
/// along while its requests are recorded.
pub(crate) struct Exchanges {
    /// Boxed: a record moves between the table and the spares at the cost of a pointer.
    pub(crate) table: Slab<Box<Exchange>>,
    /// Finished records, kept for their storage (boxed as in the table).
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Exchange>>,
    /// Requests with news for the application.
    pub(crate) to_hand: Fifo<Key>,
    pub(crate) clock: AnswerClock,
    /// A body given whole went on to the connection in this round of `drive` (its output is
    /// to write).
    pub(crate) pushed: bool,
}

impl Exchanges {
    pub(crate) fn new() -> Exchanges {
        Exchanges {
            table: Slab::new(),
            spare: Vec::new(),
            to_hand: Fifo::new(),
            clock: AnswerClock::new(),
            pushed: false,
        }
    }

    /// A record for a new request of `conn`, from the spares when there is one.
    pub(crate) fn fresh(&mut self, conn: Key, stream: StreamId) -> Box<Exchange> {
        match self.spare.pop() {
            Some(mut ex) => {
                ex.reset(conn, stream);
                ex
            }
            None => Box::new(Exchange::new(conn, stream)),
        }
    }

    /// Keeps a finished record's storage for a later request.
    pub(crate) fn recycle(&mut self, ex: Box<Exchange>) {
        if self.spare.len() < SPARE {
            self.spare.push(ex);
        }
    }
}
