//! One error type for the whole library.
//!
//! lua-http returns `nil, message, errno`; here that triple is an [`Error`]: a [`ErrorKind`] a
//! program can match on, a message that names the rule broken and where, the OS errno where
//! the operating system gave one, and, for protocol errors found by a server, the HTTP status
//! that was (or should be) answered.

use std::fmt;
use std::io;

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
    /// The peer broke the HTTP protocol (malformed or forbidden bytes).
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
        }
    }
}

/// The library's error: kind, message, errno and (for protocol errors) the status to answer.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    errno: Option<i32>,
    status: Option<u16>,
    retryable: bool,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            errno: None,
            status: None,
            retryable: false,
        }
    }

    /// A protocol error that a server answers with `status` before closing.
    pub fn protocol(status: u16, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message).with_status(status)
    }

    /// The same error with the HTTP status a server answers it with.
    pub fn with_status(mut self, status: u16) -> Error {
        self.status = Some(status);
        self
    }

    /// The same error with an OS error number.
    pub fn with_errno(mut self, errno: i32) -> Error {
        self.errno = Some(errno);
        self
    }

    /// An error from an OS error, with `context` saying what was being done.
    pub fn io(context: &str, err: &io::Error) -> Error {
        let kind = match err.kind() {
            io::ErrorKind::TimedOut => ErrorKind::TimedOut,
            io::ErrorKind::WouldBlock => ErrorKind::WouldBlock,
            _ => ErrorKind::Io,
        };
        Error {
            kind,
            message: format!("{context}: {err}"),
            errno: err.raw_os_error(),
            status: None,
            retryable: false,
        }
    }

    /// A deadline passed while doing `what`.
    pub fn timed_out(what: &str) -> Error {
        let mut e = Error::new(ErrorKind::TimedOut, format!("{what}: timed out"));
        e.errno = Some(libc::ETIMEDOUT);
        e
    }

    /// The operation would block.
    pub(crate) fn would_block() -> Error {
        Error::new(ErrorKind::WouldBlock, "operation would block")
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, naming the rule broken and where.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The OS error number, where the operating system gave one.
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }

    /// For a protocol error found by a server: the HTTP status it answers with.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The same error, marked safe to retry: the peer did not process the request.
    pub fn retryable(mut self) -> Error {
        self.retryable = true;
        self
    }

    /// Whether the request is known not to have been processed by the peer (a pipelined
    /// request after a `Connection: close` answer, a stream refused or above a GOAWAY's last
    /// stream id), so sending it again on another connection is safe.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Whether the error only means "not yet": the operation may succeed after a `step()`.
    pub fn is_would_block(&self) -> bool {
        self.kind == ErrorKind::WouldBlock
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(e) = self.errno {
            d.field("errno", &e);
        }
        if let Some(s) = self.status {
            d.field("status", &s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = self.status {
            write!(f, " (answered {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        Error::io("i/o", &err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        if let Some(code) = err.errno {
            return io::Error::from_raw_os_error(code);
        }
        let kind = match err.kind {
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

    #[test]
    fn protocol_errors_carry_the_status() {
        let e = Error::protocol(431, "header section larger than 8192 bytes");
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert_eq!(e.status(), Some(431));
        assert_eq!(
            e.to_string(),
            "header section larger than 8192 bytes (answered 431)"
        );
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
