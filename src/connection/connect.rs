//! Connecting a client: resolution (on the resolver's thread), then a non-blocking TCP
//! connect to each address in turn (`Phase::Resolving`, `Phase::Connecting`).

use super::{Connection, Phase};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::start_tcp_connect;
use std::net::SocketAddr;

impl Connection {
    /// Tries `addrs[next..]` in turn until a connect starts.
    pub(super) fn start_addrs(
        addrs: Vec<SocketAddr>,
        mut next: usize,
        mut last: Option<Error>,
        cfg: &Config,
    ) -> Result<Phase> {
        while next < addrs.len() {
            let a = addrs[next];
            next += 1;
            match start_tcp_connect(a, cfg.nodelay) {
                Ok(sock) => return Ok(Phase::Connecting { addrs, next, sock }),
                Err(e) => last = Some(Error::io(&format!("connect {a}"), &e)),
            }
        }
        Err(connect_failed(last))
    }

    /// Checks a connect in progress; `Ok(true)` once connected.
    pub(super) fn poll_connect(&mut self) -> Result<bool> {
        let Phase::Connecting { sock, addrs, next } = &mut self.phase else {
            return Ok(true);
        };
        let outcome = match sock.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => match sock.peername() {
                Ok(_) => Ok(true),
                Err(e) if e.errno() == Some(libc::ENOTCONN) => Ok(false),
                Err(_) => Ok(false),
            },
        };
        match outcome {
            Ok(true) => {
                let next = if self.tls.is_some() {
                    Phase::Handshake
                } else {
                    Phase::Open
                };
                let Phase::Connecting { sock, .. } = std::mem::replace(&mut self.phase, next)
                else {
                    unreachable!()
                };
                self.sock = Some(sock);
                if self.tls.is_none() && !self.core.is_h2() {
                    // Connected. (An HTTP/2 client by prior knowledge keeps the deadline
                    // until the server's SETTINGS came; a TLS client until its handshake.)
                    self.connect_deadline = None;
                }
                log::debug!("connected to {:?}", self.target);
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => {
                let what = match addrs.get(next.wrapping_sub(1)) {
                    Some(a) => format!("connect {a}"),
                    None => "connect".to_string(),
                };
                let err = Error::io(&what, &e);
                let addrs = std::mem::take(addrs);
                let n = *next;
                let next = Connection::start_addrs(addrs, n, Some(err), &self.cfg)?;
                self.set_phase(next);
                Ok(false)
            }
        }
    }
}

fn connect_failed(last: Option<Error>) -> Error {
    match last {
        Some(e) => {
            let msg = e.message().to_string();
            let errno = e.errno();
            let mut out = Error::new(ErrorKind::Connect, msg);
            if let Some(n) = errno {
                out = out.with_errno(n);
            }
            out
        }
        None => Error::new(ErrorKind::Connect, "no address to connect to"),
    }
}
