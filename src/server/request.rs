//! The handle on one request of a [`Server`]: its head, its body, its response.

use super::exchange::{Answer, Exchange, RequestId};
use super::slab::Key;
use super::Server;
use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::transport::SockName;
use crate::{Method, StatusCode};

/// A request the [`Server`] handed out, borrowed from it until the next call on the server.
///
/// Its head is in. Read the body with [`try_body`](Self::try_body) (the whole body, up to a
/// limit) or piece by piece; answer with [`respond`](Self::respond) (a head and a whole body
/// in one call) or with [`write_head`](Self::write_head) and
/// [`try_write_chunk`](Self::try_write_chunk) (a streamed body). Every read and write here
/// is non-blocking, with the crate's convention: an error for which
/// [`Error::is_would_block`] is true means "not yet", and the server hands the request out
/// again from [`Server::next_request`] when it has news (more body, room to write), until its
/// response is complete. Keep its [`id`](Self::id) to come back to it through
/// [`Server::request`] without waiting for news.
pub struct Request<'s> {
    server: &'s mut Server,
    key: Key,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id())
            .field("method", &self.method())
            .field("path", &self.path())
            .finish()
    }
}

impl<'s> Request<'s> {
    pub(super) fn new(server: &'s mut Server, key: Key) -> Request<'s> {
        Request { server, key }
    }

    fn ex(&self) -> &Exchange {
        self.server
            .reqs
            .table
            .get(self.key)
            .expect("a Request's record lives as long as the Request")
    }

    #[inline]
    fn ex_mut(&mut self) -> &mut Exchange {
        self.server
            .reqs
            .table
            .get_mut(self.key)
            .expect("a Request's record lives as long as the Request")
    }

    /// The request's id, valid across steps until its response is complete.
    pub fn id(&self) -> RequestId {
        RequestId(self.key)
    }

    /// The request head (`:method`, `:path`, `:authority`, `:scheme` and the fields).
    pub fn headers(&self) -> &Headers {
        &self.ex().head
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.headers().method().unwrap_or_default()
    }

    /// The path without the query (`""` for a request without a path, e.g. CONNECT).
    pub fn path(&self) -> &str {
        self.headers().path().unwrap_or("")
    }

    /// The query, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.headers().query()
    }

    /// The HTTP version of the request.
    pub fn version(&mut self) -> http::Version {
        let (ex, conn) = self.split();
        let version = conn.version();
        conn.stream(ex.stream).peer_version().unwrap_or(version)
    }

    /// The connection the request came on, to look at (peer address, TLS, version).
    pub fn connection(&self) -> &Connection {
        let conn = self.ex().conn;
        &self
            .server
            .conns
            .get(conn)
            .expect("a Request's connection lives as long as the Request")
            .conn
    }

    /// The peer's address.
    ///
    /// # Errors
    /// The socket is gone.
    pub fn peername(&self) -> Result<SockName> {
        self.connection().peername()
    }

    /// The request's record and its connection, which is marked touched: what a call writes
    /// or frees goes out when [`Server::next_request`] has handed out the turn's last request
    /// (all of a connection's answers in one write), or in the next step.
    fn split(&mut self) -> (&mut Exchange, &mut Connection) {
        let (ex, conn, _) = self.parts();
        (ex, conn)
    }

    /// [`split`](Self::split), with the server's reused response head.
    fn parts(&mut self) -> (&mut Exchange, &mut Connection, &mut Headers) {
        let server = &mut *self.server;
        let ex = server
            .reqs
            .table
            .get_mut(self.key)
            .expect("a Request's record lives as long as the Request");
        let c = server
            .conns
            .get_mut(ex.conn)
            .expect("a Request's connection lives as long as the Request");
        if !c.touched {
            c.touched = true;
            server.touched.push(ex.conn);
        }
        (ex, &mut c.conn, &mut server.scratch)
    }

    /// Runs `f` on the request's stream (see [`split`](Self::split)).
    fn on_stream<T>(&mut self, f: impl FnOnce(&mut crate::Stream<'_>) -> Result<T>) -> Result<T> {
        let (ex, conn) = self.split();
        f(&mut conn.stream(ex.stream))
    }

    /// The whole body, once it is all in: `Ok(Some(body))`, then `Ok(None)` (it was taken).
    /// Until then "not yet" (`WouldBlock`); what has come is kept by the server, at most
    /// `limit` bytes.
    ///
    /// # Errors
    /// Not yet; the body is longer than `limit` (kind `Limit`, status 413: answer with
    /// [`respond_error`](Self::respond_error)); the stream failed (reset, truncated body).
    #[inline]
    pub fn try_body(&mut self, limit: usize) -> Result<Option<Vec<u8>>> {
        let ex = self.ex_mut();
        if ex.body_taken {
            return Ok(None);
        }
        if ex.bare {
            // The request ended with its head: its body is empty, and nothing is left to
            // read from the connection.
            ex.body_taken = true;
            return Ok(Some(Vec::new()));
        }
        self.read_body(limit)
    }

    /// [`try_body`](Self::try_body) for a request with a body to read.
    fn read_body(&mut self, limit: usize) -> Result<Option<Vec<u8>>> {
        let (ex, conn) = self.split();
        let mut stream = conn.stream(ex.stream);
        let r = loop {
            match stream.try_get_body_into(&mut ex.body) {
                Ok(Some(_)) if ex.body.len() <= limit => continue,
                r => break r,
            }
        };
        if ex.body.len() > limit {
            ex.body_taken = true;
            ex.body = Vec::new();
            return Err(Error::new(
                ErrorKind::Limit,
                format!("the request body is longer than the {limit} bytes this server takes"),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        match r {
            Ok(_) => {
                ex.body_taken = true;
                Ok(Some(std::mem::take(&mut ex.body)))
            }
            Err(e) => Err(e),
        }
    }

    /// The next piece of the body: `Ok(None)` at its end, "not yet" (`WouldBlock`) until more
    /// comes.
    ///
    /// # Errors
    /// Not yet, or the stream failed (reset, truncated body).
    pub fn try_get_next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        self.on_stream(|s| s.try_get_next_chunk())
    }

    /// The body bytes that have come, appended to `buf`: `Ok(Some(n))` for `n` bytes,
    /// `Ok(None)` once the body is over, "not yet" (`WouldBlock`) until more comes (see
    /// [`Stream::try_get_body_into`](crate::Stream::try_get_body_into)).
    ///
    /// # Errors
    /// Not yet, or the stream failed.
    pub fn try_get_body_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<usize>> {
        self.on_stream(|s| s.try_get_body_into(buf))
    }

    /// The trailers once the body is over (`None` if there were none).
    ///
    /// # Errors
    /// The body is not over yet (`WouldBlock`), or the stream failed.
    pub fn try_get_trailers(&mut self) -> Result<Option<Headers>> {
        self.on_stream(|s| s.try_get_trailers())
    }

    fn not_answered(&self) -> Result<()> {
        match self.ex().answer {
            Answer::None => Ok(()),
            _ => Err(answered()),
        }
    }

    /// Answers with a head and a whole body in one call. `content-length` is added (unless
    /// `fields` has one, or the status has no body); a HEAD request gets the head only. What
    /// the connection cannot take now is kept by the server and written as room comes: the
    /// request is not handed out again.
    ///
    /// # Errors
    /// The request already has its response head; a field is invalid; the stream or the
    /// connection failed.
    pub fn respond(
        &mut self,
        status: StatusCode,
        fields: &[(&str, &str)],
        body: &[u8],
    ) -> Result<()> {
        let (ex, conn, head) = self.parts();
        head.clear();
        head.append(":status", status.as_str());
        let mut has_length = false;
        for (name, value) in fields {
            has_length |= name.eq_ignore_ascii_case("content-length");
            head.append(name, value);
        }
        answer(ex, conn, head, has_length, status, body)
    }

    /// [`respond`](Self::respond) with a head made by the caller (with `:status`).
    ///
    /// # Errors
    /// As [`respond`](Self::respond); the head has no valid `:status`.
    pub fn respond_with(&mut self, head: &Headers, body: &[u8]) -> Result<()> {
        self.not_answered()?;
        let status = head.status().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "a response head needs a :status of three digits",
            )
        })?;
        let (ex, conn, copy) = self.parts();
        copy.clone_from(head);
        answer(ex, conn, copy, head.has("content-length"), status, body)
    }

    /// Answers an error: its status ([`Error::status`], else 500) and its message as a
    /// plain-text body.
    ///
    /// # Errors
    /// As [`respond`](Self::respond).
    pub fn respond_error(&mut self, error: &Error) -> Result<()> {
        let status = error.status().unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = error.message().to_string();
        body.push('\n');
        self.respond(
            status,
            &[("content-type", "text/plain; charset=utf-8")],
            body.as_bytes(),
        )
    }

    /// Writes a response head; `end` means no body follows. An interim head (1xx) may come
    /// before the final one. After a final head without `end`, write the body with
    /// [`try_write_chunk`](Self::try_write_chunk).
    ///
    /// # Errors
    /// The request already has its final head; the head is invalid; the stream failed.
    pub fn write_head(&mut self, head: &Headers, end: bool) -> Result<()> {
        self.not_answered()?;
        self.on_stream(|s| s.write_headers(head, end))?;
        let interim = head.status().is_some_and(|s| s.is_informational());
        if !interim {
            self.ex_mut().answer = if end { Answer::Done } else { Answer::Streaming };
        }
        Ok(())
    }

    /// Writes body bytes of a streamed response without blocking; `end` ends it. "Not yet"
    /// (`WouldBlock`, nothing written) while the connection's send buffer is full: the request
    /// is handed out again when there is room.
    ///
    /// # Errors
    /// Not yet; no head was written; the body overruns its content-length; the stream failed.
    pub fn try_write_chunk(&mut self, data: &[u8], end: bool) -> Result<()> {
        if self.ex().answer != Answer::Streaming {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "write the response head (without end) before its body",
            ));
        }
        let r = self.on_stream(|s| s.try_write_chunk(data, end));
        match &r {
            Ok(()) if end => self.ex_mut().answer = Answer::Done,
            Err(e) if !e.is_would_block() => self.ex_mut().answer = Answer::Done,
            _ => {}
        }
        r
    }

    /// Ends a streamed response with trailers.
    ///
    /// # Errors
    /// No head was written, or the stream failed.
    pub fn write_trailers(&mut self, trailers: &Headers) -> Result<()> {
        if self.ex().answer != Answer::Streaming {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "trailers end a response whose head was written without end",
            ));
        }
        let r = self.on_stream(|s| s.write_headers(trailers, true));
        self.ex_mut().answer = Answer::Done;
        r
    }

    /// Gives up on the request: the stream is reset (HTTP/2 RST_STREAM, HTTP/1 closes the
    /// connection after what went before it).
    ///
    /// # Errors
    /// The stream is already over.
    pub fn reset(&mut self) -> Result<()> {
        let r = self.on_stream(|s| s.reset());
        self.ex_mut().answer = Answer::Done;
        r
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        self.server.settle(self.key);
    }
}

/// Writes `head` (given a content-length unless it `has_length`) and `body` as the response
/// of `ex` on `conn`.
fn answer(
    ex: &mut Exchange,
    conn: &mut Connection,
    head: &mut Headers,
    has_length: bool,
    status: StatusCode,
    body: &[u8],
) -> Result<()> {
    let bodyless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if !bodyless && !has_length {
        let mut digits = [0u8; 20];
        head.append(
            "content-length",
            crate::headers::fmt_u64(&mut digits, body.len() as u64),
        );
    }
    if ex.answer != Answer::None {
        return Err(answered());
    }
    let mut stream = conn.stream(ex.stream);
    stream.write_headers(head, body.is_empty())?;
    ex.answer = Answer::Done;
    if body.is_empty() {
        return Ok(());
    }
    match stream.try_write_chunk(body, true) {
        Ok(()) => Ok(()),
        Err(e) if e.is_would_block() => {
            ex.out.clear();
            ex.out.extend_from_slice(body);
            ex.out_at = 0;
            ex.answer = Answer::Sending;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn answered() -> Error {
    Error::new(
        ErrorKind::InvalidState,
        "this request already has its response head",
    )
}
