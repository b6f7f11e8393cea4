//! Which protocol a connection speaks: the TLS handshake and the core ALPN chooses, a server's
//! look at the first bytes (TLS or plaintext on a mixed port; the HTTP/2 preface by prior
//! knowledge), and the `h2c` upgrade (a client's offer, either side's switch).

use super::{Connection, H2cOffer, Phase};
use crate::error::{Error, ErrorKind, Result};
use crate::h2::{H2Config, H2Core, PREFACE};
use crate::headers::Headers;
use crate::proto::Core;
use crate::tls::{into_error, looks_like_tls, TlsSession};
use crate::Role;
use std::borrow::Cow;
use std::io;
use std::time::Instant;

impl Connection {
    /// Moves the TLS handshake on; `Ok(true)` once it is done and the protocol core that ALPN
    /// chose is in place (or, on a mixed port, once the first bytes turned out plaintext).
    pub(super) fn poll_handshake(&mut self, now: Instant) -> Result<bool> {
        let Some(sock) = self.sock.as_mut() else {
            return Err(Error::new(ErrorKind::Closed, "no socket"));
        };
        if let Some(cfg) = &self.tls_maybe {
            let mut first = [0u8; 8];
            let n = match sock.peek(&mut first) {
                Ok(n) => n,
                Err(e) => {
                    return match e.kind() {
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(false),
                        _ => Err(Error::io("read", &e)),
                    }
                }
            };
            let first = &first[..n];
            if first.is_empty() {
                log::debug!("server: the client closed before its first byte");
                self.close_now();
                return Ok(false);
            }
            // A lone 0x16 byte is a TLS record's start; HTTP never begins so. Deciding on it
            // keeps a level-triggered loop from spinning on a peeked byte.
            if looks_like_tls(first).unwrap_or(first[0] == 0x16) {
                self.tls = Some(Box::new(TlsSession::server(cfg)?));
            } else {
                log::debug!("server: plaintext on a port that also speaks TLS");
                self.sniff = self.cfg.http2.enabled;
                self.tls_maybe = None;
                self.phase = Phase::Open;
                self.connect_deadline = None;
                return Ok(true);
            }
            self.tls_maybe = None;
        }
        let Some(tls) = self.tls.as_mut() else {
            self.phase = Phase::Open;
            return Ok(true);
        };
        match tls.drive_handshake(sock) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => return Err(into_error(e, "TLS handshake")),
        }
        let h2 = tls.alpn() == Some(crate::tls::ALPN_H2);
        log::debug!(
            "{}: TLS handshake done, ALPN {:?}",
            self.role.as_str(),
            tls.alpn().map(String::from_utf8_lossy)
        );
        match self.role {
            Role::Server if h2 => {
                self.core = Core::h2(Role::Server, &self.cfg, "https", self.date.get(now), now);
                self.version = http::Version::HTTP_2;
            }
            Role::Client if h2 && self.asked_version == http::Version::HTTP_2 => {
                if !self.core.is_idle() {
                    return Err(Error::new(
                        ErrorKind::InvalidState,
                        "requests were written before the TLS handshake chose HTTP/2; wait for \
                         is_connected() before new_stream() on an https connection that offers h2",
                    ));
                }
                self.core = Core::h2(Role::Client, &self.cfg, "https", self.date.get(now), now);
                if let Some(t) = &self.target {
                    self.core.set_authority(&t.authority());
                }
                self.version = http::Version::HTTP_2;
            }
            _ => {}
        }
        self.phase = Phase::Open;
        if !(self.role == Role::Client && self.core.is_h2()) {
            self.connect_deadline = None;
        }
        Ok(true)
    }

    /// Hands the connection to HTTP/2 after an `h2c` upgrade: a server answers 101 to the
    /// request that offered it (which becomes stream 1), a client that got 101 goes on with
    /// stream 1's response. `Ok(true)` if it switched (bytes read past the head wait in
    /// `inbuf` for the new core).
    pub(super) fn switch_to_h2(&mut self, now: Instant) -> Result<bool> {
        let Core::H1(h1) = &mut self.core else {
            return Ok(false);
        };
        // The new core, and what goes out before its first frames.
        let (h2, answer): (H2Core, &[u8]) = match self.role {
            Role::Server => {
                let Some((head, settings)) = h1.h2c.take() else {
                    return Ok(false);
                };
                let h2 = H2Core::upgraded_server(
                    H2Config::from_config(&self.cfg, Role::Server),
                    now,
                    &settings,
                    head,
                )?;
                (
                    h2,
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
                )
            }
            Role::Client => {
                let H2cOffer::Made { head_request } = self.h2c else {
                    return Ok(false);
                };
                if !h1.is_tunnel() {
                    if h1.is_idle() || h1.state(1) == crate::StreamState::Closed {
                        // The server answered over HTTP/1.1: no upgrade.
                        self.h2c = H2cOffer::No;
                    }
                    return Ok(false);
                }
                self.h2c = H2cOffer::No;
                let upgraded = h1
                    .with_recv_head(1, |r| {
                        r.heads.back().is_some_and(|h| {
                            h.status_code() == Some(101)
                                && h.get("upgrade")
                                    .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"h2c"))
                        })
                    })
                    .unwrap_or(false);
                if !upgraded {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        "the server switched to a protocol other than the h2c we offered",
                    ));
                }
                let h2 = H2Core::upgraded_client(
                    H2Config::from_config(&self.cfg, Role::Client),
                    now,
                    head_request,
                );
                (h2, b"")
            }
        };
        let mut h2 = h2;
        // Output the HTTP/1 core had not written yet goes first, then the 101, then HTTP/2.
        let mut out = h1.take_output(self.out_pos);
        out.extend_from_slice(answer);
        h2.put_output_first(out);
        log::debug!("{}: switched to HTTP/2 (h2c upgrade)", self.role.as_str());
        self.out_pos = 0;
        self.core = Core::taking_over(h2, "http", self.date.get(now));
        if let (Role::Client, Some(t)) = (self.role, &self.target) {
            self.core.set_authority(&t.authority());
        }
        self.version = http::Version::HTTP_2;
        Ok(true)
    }

    /// Called before stream `id`'s head is written: the head to send. A client's first
    /// request carries the `h2c` upgrade offer when the connection should make it (a head
    /// without an authority gets the target's later, in the core's encoder).
    pub(crate) fn offer_h2c<'h>(
        &mut self,
        id: u64,
        head: &'h Headers,
        end: bool,
    ) -> Cow<'h, Headers> {
        if self.h2c != H2cOffer::ToMake {
            return Cow::Borrowed(head);
        }
        // Only the first request can carry the offer; later ones go out as they are.
        self.h2c = H2cOffer::No;
        if id != 1 || !end {
            return Cow::Borrowed(head);
        }
        let mut h = head.clone();
        crate::h2::upgrade::offer_fields(&mut h, &H2Config::from_config(&self.cfg, self.role));
        self.h2c = H2cOffer::Made {
            head_request: h.get_str(":method") == Some("HEAD"),
        };
        Cow::Owned(h)
    }
}

/// Server: whether the first bytes are the HTTP/2 client preface (RFC 9113 §3.4); `None`
/// while they are too few to tell.
pub(super) fn tell_preface(first: &[u8]) -> Option<bool> {
    let n = first.len().min(PREFACE.len());
    if first[..n] != PREFACE[..n] {
        Some(false)
    } else if n < PREFACE.len() {
        None
    } else {
        Some(true)
    }
}
