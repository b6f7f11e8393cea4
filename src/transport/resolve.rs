//! Name resolution off the caller's thread.
//!
//! `getaddrinfo` blocks, so it runs on a short-lived thread of its own; the answer comes back
//! through a channel, and a byte on a socket pair wakes the caller's loop, whose `pollfd()` is
//! the pair's reading end meanwhile. A socket pair rather than a pipe: the byte is sent with
//! `MSG_NOSIGNAL`, so a connection freed before the answer came (its end closed) costs the
//! thread an `EPIPE`, never the process a SIGPIPE. A caller that passes a `SocketAddr` never
//! gets here.

use crate::error::{Error, ErrorKind, Result};
use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc;

pub(crate) struct Resolver {
    rx: mpsc::Receiver<Result<Vec<SocketAddr>>>,
    wake: mio::net::UnixStream,
    what: String,
}

impl Resolver {
    /// Starts resolving `host`:`port` (TCP addresses, every family).
    pub(crate) fn start(host: &str, port: u16) -> Result<Resolver> {
        let (tx_wake, rx_wake) = mio::net::UnixStream::pair()
            .map_err(|e| Error::io("socket pair for the resolver", &e))?;
        let (tx, rx) = mpsc::channel();
        let h = host.to_string();
        let what = format!("resolve {host}:{port}");
        std::thread::Builder::new()
            .name("pollhttp-resolve".into())
            .spawn(move || {
                let hints = dns_lookup::AddrInfoHints {
                    socktype: libc::SOCK_STREAM,
                    ..Default::default()
                };
                let service = port.to_string();
                let r = match dns_lookup::getaddrinfo(Some(&h), Some(&service), Some(hints)) {
                    Ok(it) => {
                        let addrs: Vec<SocketAddr> =
                            it.filter_map(|a| a.ok()).map(|a| a.sockaddr).collect();
                        if addrs.is_empty() {
                            Err(Error::new(
                                ErrorKind::Resolve,
                                format!("resolve {h}: no addresses"),
                            ))
                        } else {
                            Ok(addrs)
                        }
                    }
                    Err(e) => Err(Error::new(
                        ErrorKind::Resolve,
                        format!("resolve {h}: {}", std::io::Error::from(e)),
                    )),
                };
                let _ = tx.send(r);
                let _ = super::send_nosignal(socket2::SockRef::from(&tx_wake), &[1]);
            })
            .map_err(|e| Error::io("spawn the resolver thread", &e))?;
        Ok(Resolver {
            rx,
            wake: rx_wake,
            what,
        })
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// The answer, once it is there.
    pub(crate) fn poll(&mut self) -> Option<Result<Vec<SocketAddr>>> {
        match self.rx.try_recv() {
            Ok(r) => {
                let mut b = [0u8; 8];
                let _ = self.wake.read(&mut b);
                Some(r)
            }
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(Error::new(
                ErrorKind::Resolve,
                format!("{}: the resolver thread died", self.what),
            ))),
        }
    }
}
