//! One error type for the whole library.
//!
//! lua-http returns `nil, message, errno`; here that triple is an [`Error`]: a [`ErrorKind`] a
//! program can match on, a message that names the rule broken and where, the OS errno where
//! the operating system gave one, for protocol errors found by a server the HTTP status that
//! was (or should be) answered, for HTTP/2 the error code of the GOAWAY or RST_STREAM sent or
//! received, and the underlying error (I/O, TLS) as its [`source`](std::error::Error::source).

use http::StatusCode;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, coarse enough to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An operating-system I/O error; [`Error::errno`] has the code.
    Io,
    /// A deadline passed before the operation finished.
    TimedOut,
    /// Name resolution failed.
    Resolve,
    /// Every address of the target refused or failed the TCP connection.
    Connect,
    /// The peer broke the HTTP protocol (malformed or forbidden bytes), or HTTP/2 ended the
    /// connection or stream with an error code ([`Error::h2_code`] has it).
    Protocol,
    /// A configured limit was exceeded (header size, body size, streams ...).
    Limit,
    /// The connection is closed (by us or by the peer) and the operation cannot go on.
    Closed,
    /// The stream was reset or abandoned before it finished.
    Reset,
    /// The peer closed the connection in the middle of a message.
    Truncated,
    /// The caller asked for something that is not valid in the current state.
    InvalidState,
    /// The caller passed a value that cannot be sent (bad header name, bad status ...).
    InvalidInput,
    /// The operation cannot complete now without blocking; try again after a `step()`.
    WouldBlock,
    /// There is no TLS session on this connection.
    NoTls,
    /// TLS failed: the handshake (a certificate refused, nothing in common, a peer that does
    /// not speak TLS), an alert from the peer, or a broken TLS record. The `rustls` error is
    /// the [`source`](std::error::Error::source).
    Tls,
}

impl ErrorKind {
    /// A short lower-case name of the kind, as used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "i/o error",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::Resolve => "name resolution failed",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Limit => "limit exceeded",
            ErrorKind::Closed => "connection closed",
            ErrorKind::Reset => "stream reset",
            ErrorKind::Truncated => "message truncated",
            ErrorKind::InvalidState => "invalid state",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::WouldBlock => "would block",
            ErrorKind::NoTls => "no TLS session",
            ErrorKind::Tls => "TLS failure",
        }
    }
}

/// The library's error: kind, message, errno, (for protocol errors) the status to answer or
/// the HTTP/2 error code, and the underlying error as [`source`](std::error::Error::source).
///
/// Two errors are equal when everything but the source is: the source explains, it does not
/// distinguish.
#[derive(Clone)]
pub struct Error(Arc<Inner>);

/// What an [`Error`] holds, behind a pointer: a `Result` of the library is then a pointer wide,
/// which keeps the hot paths' results small. Shared, so that "not yet", which every drain of a
/// non-blocking call ends with, costs no allocation (each thread keeps one, see
/// [`Error::would_block`]), and a clone is a count.
#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    errno: Option<i32>,
    status: Option<StatusCode>,
    /// An HTTP/1 request error answered by closing without a response.
    no_answer: bool,
    h2_code: Option<u32>,
    retryable: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.0.kind == other.0.kind
            && self.0.message == other.0.message
            && self.0.errno == other.0.errno
            && self.0.status == other.0.status
            && self.0.no_answer == other.0.no_answer
            && self.0.h2_code == other.0.h2_code
            && self.0.retryable == other.0.retryable
    }
}

impl Eq for Error {}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Arc::new(Inner {
            kind,
            message: message.into(),
            errno: None,
            status: None,
            no_answer: false,
            h2_code: None,
            retryable: false,
            source: None,
        }))
    }

    /// A protocol error that a server answers with `status` before closing.
    pub fn protocol(status: StatusCode, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message).with_status(status)
    }

    /// An HTTP/1 request error a server answers by closing the connection, without a
    /// response (a request line that is not HTTP/1 at all).
    pub(crate) fn protocol_no_answer(message: impl Into<String>) -> Error {
        let mut e = Error::new(ErrorKind::Protocol, message);
        e.inner().no_answer = true;
        e
    }

    /// Whether a server closes without answering this request error.
    pub(crate) fn is_no_answer(&self) -> bool {
        self.0.no_answer
    }

    /// The same error with the HTTP status a server answers it with.
    pub fn with_status(mut self, status: StatusCode) -> Error {
        let inner = self.inner();
        inner.status = Some(status);
        inner.no_answer = false;
        self
    }

    /// The same error with the HTTP/2 error code (RFC 9113 §7) of the GOAWAY or RST_STREAM
    /// that was sent or received for it.
    pub fn with_h2_code(mut self, code: u32) -> Error {
        self.inner().h2_code = Some(code);
        self
    }

    /// The same error with `source` as the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.inner().source = Some(Arc::new(source));
        self
    }

    /// The same error with an OS error number.
    pub fn with_errno(mut self, errno: i32) -> Error {
        self.inner().errno = Some(errno);
        self
    }

    /// An error from an OS error, with `context` saying what was being done.
    pub fn io(context: &str, err: &io::Error) -> Error {
        let kind = match err.kind() {
            io::ErrorKind::TimedOut => ErrorKind::TimedOut,
            io::ErrorKind::WouldBlock => ErrorKind::WouldBlock,
            _ => ErrorKind::Io,
        };
        let source = match err.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(err.kind(), err.to_string()),
        };
        let mut e = Error::new(kind, format!("{context}: {err}")).with_source(source);
        e.inner().errno = err.raw_os_error();
        e
    }

    /// A deadline passed while doing `what`.
    pub fn timed_out(what: &str) -> Error {
        let mut e = Error::new(ErrorKind::TimedOut, format!("{what}: timed out"));
        e.inner().errno = Some(libc::ETIMEDOUT);
        e
    }

    /// Client: no byte of a response came within `d` of its request's end
    /// (`Config::response_timeout`).
    pub(crate) fn no_response(d: Duration) -> Error {
        Error::new(
            ErrorKind::TimedOut,
            format!("no response within {}", for_people(d)),
        )
        .with_errno(libc::ETIMEDOUT)
    }

    /// Client: a response in progress brought nothing for `d` (`Config::response_read_timeout`).
    pub(crate) fn response_stalled(d: Duration) -> Error {
        Error::new(
            ErrorKind::TimedOut,
            format!("the response stalled: nothing for {}", for_people(d)),
        )
        .with_errno(libc::ETIMEDOUT)
    }

    /// The operation would block ("not yet"). Every drain of a non-blocking call ends with one
    /// (the incoming streams after each step, a body read to what has arrived), so it is made
    /// once per thread and shared: no allocation.
    pub(crate) fn would_block() -> Error {
        thread_local! {
            static WOULD_BLOCK: Error =
                Error::new(ErrorKind::WouldBlock, "operation would block");
        }
        WOULD_BLOCK
            .try_with(Error::clone)
            .unwrap_or_else(|_| Error::new(ErrorKind::WouldBlock, "operation would block"))
    }

    /// "Not yet" for a write the send buffer refuses (HTTP/1: the connection's output is over
    /// `send_buffer`), shared per thread as [`would_block`](Self::would_block) is: a proxy
    /// meets it on every turn that fills a buffer, and it costs no allocation.
    pub(crate) fn send_buffer_full() -> Error {
        const MSG: &str = "send buffer full";
        thread_local! {
            static FULL: Error = Error::new(ErrorKind::WouldBlock, MSG);
        }
        FULL.try_with(Error::clone)
            .unwrap_or_else(|_| Error::new(ErrorKind::WouldBlock, MSG))
    }

    /// As [`send_buffer_full`](Self::send_buffer_full), for an HTTP/2 stream's own buffer.
    pub(crate) fn h2_send_buffer_full() -> Error {
        const MSG: &str =
            "HTTP/2 stream send buffer full: waiting for flow-control credit from the peer";
        thread_local! {
            static FULL: Error = Error::new(ErrorKind::WouldBlock, MSG);
        }
        FULL.try_with(Error::clone)
            .unwrap_or_else(|_| Error::new(ErrorKind::WouldBlock, MSG))
    }

    /// The fields, to change them: shared ones (a would-block error) are copied first.
    fn inner(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.0)
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, naming the rule broken and where.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The OS error number, where the operating system gave one.
    pub fn errno(&self) -> Option<i32> {
        self.0.errno
    }

    /// For a protocol error found by a server: the HTTP status it answers with.
    pub fn status(&self) -> Option<StatusCode> {
        self.0.status
    }

    /// For an HTTP/2 error: the error code (RFC 9113 §7: 1 is PROTOCOL_ERROR, 8 CANCEL ...)
    /// of the GOAWAY or RST_STREAM that we sent for it (a [`ErrorKind::Protocol`] error the
    /// peer caused, a SETTINGS timeout) or that the peer sent (a stream reset, a connection
    /// the peer ended with an error).
    pub fn h2_code(&self) -> Option<u32> {
        self.0.h2_code
    }

    /// The same error, marked safe to retry: the peer did not process the request.
    pub fn retryable(mut self) -> Error {
        self.inner().retryable = true;
        self
    }

    /// Whether the request is known not to have been processed by the peer (a pipelined
    /// request after a `Connection: close` answer, a stream refused or above a GOAWAY's last
    /// stream id), so sending it again on another connection is safe.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// Whether the error only means "not yet": the operation may succeed after a `step()`.
    pub fn is_would_block(&self) -> bool {
        self.0.kind == ErrorKind::WouldBlock
    }
}

/// A duration as a message for a person says it: "5 s", "1.5 s", "250 ms", "2.5 ms".
fn for_people(d: Duration) -> String {
    let (whole, unit, per) = if d >= Duration::from_secs(1) {
        (d.as_secs(), "s", d.subsec_nanos() as u64)
    } else {
        let n = d.subsec_nanos() as u64;
        (n / 1_000_000, "ms", n % 1_000_000 * 1000)
    };
    // The fraction, in nanoseconds of the unit, to at most three digits, without trailing
    // zeros.
    let mut frac = format!("{:03}", per / 1_000_000);
    while frac.ends_with('0') {
        frac.pop();
    }
    if frac.is_empty() {
        format!("{whole} {unit}")
    } else {
        format!("{whole}.{frac} {unit}")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind)
            .field("message", &self.0.message);
        if let Some(e) = self.0.errno {
            d.field("errno", &e);
        }
        if let Some(s) = self.0.status {
            d.field("status", &s.as_u16());
        }
        if let Some(c) = self.0.h2_code {
            d.field("h2_code", &c);
        }
        if let Some(s) = &self.0.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        if let Some(s) = self.0.status {
            write!(f, " (answered {})", s.as_u16())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        Error::io("i/o", &err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        if let Some(code) = err.0.errno {
            return io::Error::from_raw_os_error(code);
        }
        let kind = match err.0.kind {
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::WouldBlock => io::ErrorKind::WouldBlock,
            ErrorKind::Closed => io::ErrorKind::NotConnected,
            ErrorKind::Truncated => io::ErrorKind::UnexpectedEof,
            ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
            ErrorKind::Reset => io::ErrorKind::ConnectionReset,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_errno_and_context() {
        let e = Error::io(
            "connect 127.0.0.1:1",
            &io::Error::from_raw_os_error(libc::ECONNREFUSED),
        );
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(e.errno(), Some(libc::ECONNREFUSED));
        assert!(e.message().starts_with("connect 127.0.0.1:1: "), "{e}");
    }

    /// The OS error stays reachable as the source, with its raw errno; the source does not
    /// make two errors unequal.
    #[test]
    fn io_errors_have_the_os_error_as_source() {
        use std::error::Error as _;
        let os = io::Error::from_raw_os_error(libc::ECONNRESET);
        let e = Error::io("read", &os);
        let src = e.source().expect("a source");
        let src = src.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(src.raw_os_error(), Some(libc::ECONNRESET));
        assert_eq!(e.clone(), e);
        let other = io::Error::other("custom");
        let e = Error::io("write", &other);
        let src = e.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(
            (src.kind(), src.to_string()),
            (io::ErrorKind::Other, "custom".into())
        );
        assert!(Error::new(ErrorKind::Closed, "closed").source().is_none());
    }

    /// The response deadlines' errors say the time as a person would, and are timeouts with
    /// ETIMEDOUT.
    #[test]
    fn response_deadline_errors_name_their_time() {
        let ms = Duration::from_millis;
        let e = Error::no_response(Duration::from_secs(5));
        assert_eq!(e.message(), "no response within 5 s");
        assert_eq!(
            (e.kind(), e.errno()),
            (ErrorKind::TimedOut, Some(libc::ETIMEDOUT))
        );
        let e = Error::response_stalled(ms(1500));
        assert_eq!(e.message(), "the response stalled: nothing for 1.5 s");
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        for (d, said) in [
            (ms(250), "250 ms"),
            (ms(1001), "1.001 s"),
            (Duration::from_micros(2500), "2.5 ms"),
            (Duration::from_nanos(1), "0 ms"),
            (Duration::from_secs(120), "120 s"),
        ] {
            assert_eq!(for_people(d), said);
        }
    }

    #[test]
    fn protocol_errors_carry_the_status() {
        let e = Error::protocol(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header section larger than 8192 bytes",
        );
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert_eq!(
            e.status(),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(
            e.to_string(),
            "header section larger than 8192 bytes (answered 431)"
        );
    }

    /// "Not yet" is one shared error per thread; changing a copy of it leaves the others alone.
    #[test]
    fn would_block_is_shared_and_copied_on_change() {
        let (a, b) = (Error::would_block(), Error::would_block());
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(a.is_would_block());
        let c = b.with_errno(libc::EAGAIN);
        assert_eq!((c.errno(), a.errno()), (Some(libc::EAGAIN), None));
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        assert_eq!(Error::would_block().errno(), None);
    }

    #[test]
    fn timeouts_have_etimedout() {
        let e = Error::timed_out("connect");
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert_eq!(e.errno(), Some(libc::ETIMEDOUT));
        let io: io::Error = e.into();
        assert_eq!(io.raw_os_error(), Some(libc::ETIMEDOUT));
    }
}
