//! The transport layer: the socket (TCP or Unix), its options, its names, the resolver
//! thread, and TLS. It moves bytes and knows nothing of HTTP.

pub(crate) mod resolve;
// TLS on rustls with the `tls` feature (on by default); without it, a stand-in that has no
// session to offer and no rustls to build (no_tls.rs).
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
#[cfg(not(feature = "tls"))]
#[path = "no_tls.rs"]
pub(crate) mod tls;
mod tls_info;

pub use tls_info::TlsInfo;

use crate::error::{Error, Result};
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

/// A connected stream socket.
#[derive(Debug)]
pub enum Socket {
    /// A TCP connection.
    Tcp(mio::net::TcpStream),
    /// A Unix-domain stream connection.
    Unix(mio::net::UnixStream),
}

/// An endpoint's name, lua-http's `(family, address, port)` or `(AF_UNIX, path)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockName {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A Unix-domain socket: its path, or `None` for an unnamed socket.
    Unix(Option<PathBuf>),
    /// Not connected (`AF_UNSPEC`).
    Unspecified,
}

/// `127.0.0.1:8080`, `[::1]:8080`, `unix:/run/app.sock`, `unix:(unnamed)`, `unspecified`.
impl std::fmt::Display for SockName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SockName::Inet(a) => write!(f, "{a}"),
            SockName::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            SockName::Unix(None) => f.write_str("unix:(unnamed)"),
            SockName::Unspecified => f.write_str("unspecified"),
        }
    }
}

impl SockName {
    /// The address family: `AF_INET`, `AF_INET6`, `AF_UNIX` or `AF_UNSPEC`.
    pub fn family(&self) -> i32 {
        match self {
            SockName::Inet(SocketAddr::V4(_)) => libc::AF_INET,
            SockName::Inet(SocketAddr::V6(_)) => libc::AF_INET6,
            SockName::Unix(_) => libc::AF_UNIX,
            SockName::Unspecified => libc::AF_UNSPEC,
        }
    }
}

fn unix_name(a: &std::os::unix::net::SocketAddr) -> SockName {
    SockName::Unix(a.as_pathname().map(|p| p.to_path_buf()))
}

impl Socket {
    /// The raw fd.
    pub fn fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Reads up to `buf.len()` bytes without taking them from the socket (`recv` with
    /// `MSG_PEEK`, through socket2).
    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let sock = self.fd_ref();
        // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, so the cast keeps the slice's
        // pointer and length. Writing an uninitialised byte through it would de-initialise
        // `buf`; `socket2::Socket::peek` documents that it never does (the kernel copies
        // bytes in, nothing else writes), which is the case its docs name as sound for a
        // `&mut [u8]`. The view does not outlive this call.
        let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        sock.peek(uninit)
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
        }
    }

    /// Writes with `send(2)` and `MSG_NOSIGNAL`: a peer that closed is `EPIPE`, never a
    /// SIGPIPE, whatever the program did with the signal (a C program's default kills it, and
    /// the Rust runtime's SIG_IGN is not there when the library is linked into C). std's TCP
    /// writes do the same; its Unix-domain writes did not in every release.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_nosignal(self.fd_ref(), buf)
    }

    fn fd_ref(&self) -> socket2::SockRef<'_> {
        match self {
            Socket::Tcp(s) => socket2::SockRef::from(s),
            Socket::Unix(s) => socket2::SockRef::from(s),
        }
    }

    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown(Shutdown::Write),
            Socket::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// The local name.
    pub fn localname(&self) -> Result<SockName> {
        match self {
            Socket::Tcp(s) => s.local_addr().map(SockName::Inet),
            Socket::Unix(s) => s.local_addr().map(|a| unix_name(&a)),
        }
        .map_err(|e| Error::io("getsockname", &e))
    }

    /// The peer's name.
    pub fn peername(&self) -> Result<SockName> {
        match self {
            Socket::Tcp(s) => s.peer_addr().map(SockName::Inet),
            Socket::Unix(s) => s.peer_addr().map(|a| unix_name(&a)),
        }
        .map_err(|e| Error::io("getpeername", &e))
    }

    /// The pending socket error (SO_ERROR), for a connect in progress.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Socket::Tcp(s) => s.take_error(),
            Socket::Unix(s) => s.take_error(),
        }
    }

    pub(crate) fn set_nodelay(&self, on: bool) {
        if let Socket::Tcp(s) = self {
            if let Err(e) = s.set_nodelay(on) {
                log::debug!("TCP_NODELAY: {e}");
            }
        }
    }
}

/// A socket whose reads are watched: `drained` tells whether the last read left the socket
/// empty at that moment ("would block", a short read, the end, or an error). Bytes left
/// behind by a read that filled its buffer produce no new readiness edge, so the connection
/// must not wait for one while its core could take them (the no-lost-wake-up rule).
pub(crate) struct ReadWatch<'a> {
    pub(crate) sock: &'a mut Socket,
    pub(crate) drained: &'a mut bool,
}

impl Read for ReadWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.sock.read(buf);
        *self.drained = left_empty(&r, buf.len());
        r
    }
}

impl Write for ReadWatch<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether a read of `asked` bytes that gave `r` left the socket empty at that moment.
#[inline]
pub(crate) fn left_empty(r: &io::Result<usize>, asked: usize) -> bool {
    match r {
        Ok(n) => *n < asked,
        Err(e) => e.kind() != io::ErrorKind::Interrupted,
    }
}

/// Non-blocking reads, for a socket handed over after an upgrade.
impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Socket::read(self, buf)
    }
}

/// Non-blocking writes, for a socket handed over after an upgrade.
impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Socket::write(self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `send(2)` with `MSG_NOSIGNAL` on a stream socket: never raises SIGPIPE.
pub(crate) fn send_nosignal(sock: socket2::SockRef<'_>, buf: &[u8]) -> io::Result<usize> {
    sock.send_with_flags(buf, libc::MSG_NOSIGNAL)
}

/// Starts a non-blocking TCP connect to `addr` (socket2 for the options).
pub(crate) fn start_tcp_connect(addr: SocketAddr, nodelay: bool) -> io::Result<Socket> {
    let domain = socket2::Domain::for_address(addr);
    let s = socket2::Socket::new(
        domain,
        socket2::Type::STREAM.nonblocking().cloexec(),
        Some(socket2::Protocol::TCP),
    )?;
    if nodelay {
        s.set_nodelay(true)?;
    }
    match s.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let std: std::net::TcpStream = s.into();
    Ok(Socket::Tcp(mio::net::TcpStream::from_std(std)))
}

/// Starts a non-blocking connect to a Unix-domain socket.
pub(crate) fn start_unix_connect(path: &std::path::Path) -> io::Result<Socket> {
    mio::net::UnixStream::connect(path).map(Socket::Unix)
}
