//! The pollable listener: TCP or Unix-domain, yielding server connections without blocking.

use crate::config::Config;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::tls::TlsServerConfig;
use crate::transport::{SockName, Socket};
use crate::wait::{not_yet, wait_for, Pollable};
use crate::PollEvents;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

enum Inner {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
}

/// A listening socket whose [`try_accept`](Listener::try_accept) yields server [`Connection`]s.
pub struct Listener {
    /// `None` once closed.
    inner: Option<Inner>,
    path: Option<PathBuf>,
    cfg: Arc<Config>,
    tls: Option<TlsServerConfig>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.localname().ok())
            .finish()
    }
}

/// The default listen backlog.
pub const DEFAULT_BACKLOG: i32 = 1024;

impl Listener {
    /// Listens on a TCP address with SO_REUSEADDR and the default backlog.
    ///
    /// # Errors
    /// The socket could not be created, bound or put to listen.
    pub fn bind(addr: SocketAddr, cfg: Arc<Config>) -> Result<Listener> {
        Listener::bind_with_backlog(addr, DEFAULT_BACKLOG, cfg)
    }

    /// Listens on a TCP address with SO_REUSEADDR and `backlog`.
    ///
    /// # Errors
    /// The socket could not be created, bound or put to listen.
    pub fn bind_with_backlog(addr: SocketAddr, backlog: i32, cfg: Arc<Config>) -> Result<Listener> {
        let ctx = |what: &str, e: io::Error| Error::io(&format!("{what} {addr}"), &e);
        let s = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM.nonblocking().cloexec(),
            Some(socket2::Protocol::TCP),
        )
        .map_err(|e| ctx("socket", e))?;
        s.set_reuse_address(true)
            .map_err(|e| ctx("SO_REUSEADDR", e))?;
        if addr.is_ipv6() {
            let _ = s.set_only_v6(true);
        }
        s.bind(&addr.into()).map_err(|e| ctx("bind", e))?;
        s.listen(backlog).map_err(|e| ctx("listen", e))?;
        let std: std::net::TcpListener = s.into();
        Ok(Listener {
            inner: Some(Inner::Tcp(mio::net::TcpListener::from_std(std))),
            path: None,
            cfg,
            tls: None,
        })
    }

    /// Listens on a Unix-domain socket at `path`; a stale socket file there is replaced. The
    /// file is removed when the listener is dropped.
    ///
    /// # Errors
    /// The path exists and is not a socket, or the socket could not be bound.
    pub fn bind_unix(path: &Path, cfg: Arc<Config>) -> Result<Listener> {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if m.file_type().is_socket() {
                let _ = std::fs::remove_file(path);
            } else {
                return Err(Error::new(
                    crate::ErrorKind::InvalidInput,
                    format!("bind {}: exists and is not a socket", path.display()),
                ));
            }
        }
        let l = mio::net::UnixListener::bind(path)
            .map_err(|e| Error::io(&format!("bind {}", path.display()), &e))?;
        Ok(Listener {
            inner: Some(Inner::Unix(l)),
            path: Some(path.to_path_buf()),
            cfg,
            tls: None,
        })
    }

    /// Serves TLS on this listener: accepted connections do the handshake in their first
    /// steps (ALPN `h2` or `http/1.1`); with [`TlsServerConfig::allow_plaintext`] a client
    /// that sends plaintext HTTP is served without TLS on the same port.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn with_tls(mut self, tls: TlsServerConfig) -> Listener {
        self.set_tls(tls);
        self
    }

    /// [`with_tls`](Listener::with_tls) in place (the C ABI's `pollhttp_listener_set_tls`).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn set_tls(&mut self, tls: TlsServerConfig) {
        self.tls = Some(tls);
    }

    /// The name it listens on.
    ///
    /// # Errors
    /// `getsockname` failed.
    pub fn localname(&self) -> Result<SockName> {
        match &self.inner {
            Some(Inner::Tcp(l)) => l
                .local_addr()
                .map(SockName::Inet)
                .map_err(|e| Error::io("getsockname", &e)),
            Some(Inner::Unix(_)) => Ok(SockName::Unix(self.path.clone())),
            None => Ok(SockName::Unspecified),
        }
    }

    /// The fd to watch (readable means a connection is waiting); -1 once closed.
    pub fn pollfd(&self) -> RawFd {
        match &self.inner {
            Some(Inner::Tcp(l)) => l.as_raw_fd(),
            Some(Inner::Unix(l)) => l.as_raw_fd(),
            None => -1,
        }
    }

    /// What to wait for: readable, or nothing once closed.
    pub fn events(&self) -> PollEvents {
        if self.inner.is_none() {
            PollEvents::NONE
        } else {
            PollEvents::READABLE
        }
    }

    /// The next waiting connection, without blocking; an error of kind `WouldBlock` when none
    /// is waiting. Call it until then after each readiness event (safe under edge-triggered
    /// polling).
    ///
    /// ```no_run
    /// # fn f(listener: &mut pollhttp::Listener) -> pollhttp::Result<()> {
    /// loop {
    ///     match listener.try_accept() {
    ///         Ok(conn) => println!("accepted {:?}", conn.peername()),
    ///         Err(e) if e.is_would_block() => break, // none waiting: wait for readability
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock`: none is waiting. `Closed`: the listener was closed. Otherwise `accept`
    /// failed (e.g. out of file descriptors); the listener stays usable.
    pub fn try_accept(&mut self) -> Result<Connection> {
        loop {
            let r = match &self.inner {
                Some(Inner::Tcp(l)) => l.accept().map(|(s, _)| Socket::Tcp(s)),
                Some(Inner::Unix(l)) => l.accept().map(|(s, _)| Socket::Unix(s)),
                None => return Err(self.closed_error()),
            };
            return match r {
                Ok(s) => match &self.tls {
                    #[cfg(not(feature = "tls"))]
                    Some(_) => unreachable!("TLS settings without the tls feature"),
                    #[cfg(feature = "tls")]
                    Some(t) => match Connection::server_with_tls(s, self.cfg.clone(), t) {
                        Ok(c) => Ok(c),
                        Err(e) => {
                            log::warn!("TLS session for an accepted connection: {e}");
                            continue;
                        }
                    },
                    None => Ok(Connection::server(s, self.cfg.clone())),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(Error::would_block()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The peer gave up before we took it: not the listener's problem.
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
                Err(e) => Err(Error::io("accept", &e)),
            };
        }
    }

    /// Blocking: waits at most `timeout` for a connection.
    ///
    /// # Errors
    /// `accept` failed, the listener is closed, or the time ran out.
    pub fn accept_timeout(&mut self, timeout: Option<Duration>) -> Result<Connection> {
        wait_for(self, timeout, "accept", |l| not_yet(l.try_accept()))
    }

    /// Stops accepting and closes the listening socket (new connections are refused by the
    /// kernel; a Unix socket's file is removed): `events()` asks for nothing, `try_accept`
    /// fails with `Closed` and `pollfd()` is -1. Deregister it from a poller first. Connections already
    /// accepted are the caller's to [`shutdown`](Connection::shutdown) for a graceful stop.
    pub fn close(&mut self) {
        self.inner = None;
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }

    fn closed_error(&self) -> Error {
        Error::new(crate::ErrorKind::Closed, "the listener is closed")
    }

    /// The configuration given to accepted connections.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.close();
    }
}

/// A listener's step does nothing: [`Listener::try_accept`] takes what readiness announced.
impl Pollable for Listener {
    fn pollfd(&self) -> RawFd {
        Listener::pollfd(self)
    }
    fn events(&self) -> PollEvents {
        Listener::events(self)
    }
    fn timeout(&self) -> Option<Instant> {
        None
    }
    fn step(&mut self) -> Result<()> {
        Ok(())
    }
    fn is_closed(&self) -> bool {
        self.inner.is_none()
    }
    fn closed_error(&self) -> Error {
        Listener::closed_error(self)
    }
}

impl mio::event::Source for Listener {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        mio::unix::SourceFd(&self.pollfd()).register(r, t, i)
    }
    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        mio::unix::SourceFd(&self.pollfd()).reregister(r, t, i)
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.pollfd()).deregister(r)
    }
}
