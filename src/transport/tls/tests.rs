//! A client and a server session over a real non-blocking Unix socket pair, driven in one
//! thread by a bounded loop that waits with `poll(2)` on exactly what the sessions ask for:
//! a wait that finds nothing ready means the sessions' interests were wrong (a stall).

#[path = "../../../tests/common/certs.rs"]
mod certs;

use super::certs::roots_from_file;
use super::*;
use crate::transport::Socket;
use certs::TestPki;
use rustls::{ClientConfig, ServerConfig};
use std::io::{self, Write};
use std::os::fd::RawFd;

/// Longest a test waits for the other side in one `poll(2)`.
const WAIT_MS: i32 = 5_000;
/// Rounds of a pump loop before a test gives up.
const ROUNDS: usize = 10_000;

fn socket_pair() -> (Socket, Socket) {
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (
        Socket::Unix(mio::net::UnixStream::from_std(a)),
        Socket::Unix(mio::net::UnixStream::from_std(b)),
    )
}

struct End {
    tls: TlsSession,
    sock: Socket,
}

impl End {
    fn interest(&self) -> i16 {
        (if self.tls.wants_read() {
            libc::POLLIN
        } else {
            0
        }) | (if self.tls.wants_write() {
            libc::POLLOUT
        } else {
            0
        })
    }
}

/// Waits until one of the fds is ready for what is asked of it; panics if none becomes
/// ready (both sides wait for something the other will never do: an interest bug).
fn wait(fds: &[(RawFd, i16)]) {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .filter(|(_, ev)| *ev != 0)
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    assert!(!pfds.is_empty(), "stall: neither side waits for anything");
    // SAFETY: `pfds` is a live Vec of initialised pollfds; poll reads and writes exactly
    // `pfds.len()` of them during the call and keeps no pointer after it.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, WAIT_MS) };
    assert!(n > 0, "stall: nothing became ready for {fds:?}");
}

/// Polls one fd for `events` without waiting: whether it is ready now.
fn ready_now(fd: RawFd, events: i16) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `p` is one initialised pollfd that outlives the call; poll does not keep it.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & events != 0
}

/// A server session serving `pki`'s server certificate on one end of a socket pair, and the
/// other end (returned first) for a raw peer that writes what it likes.
fn server_with_raw_peer(pki: &TestPki) -> (Socket, End) {
    let (raw, sock) = socket_pair();
    let tls = TlsSession::server(&serving(&pki.server)).unwrap();
    (raw, End { tls, sock })
}

/// The error of a handshake step on `end` that fails at once.
fn handshake_error(end: &mut End) -> Error {
    into_error(
        end.tls.drive_handshake(&mut end.sock).unwrap_err(),
        "handshake",
    )
}

fn pair(client: &TlsClientConfig, name: &str, server: &TlsServerConfig) -> (End, End) {
    let (c, s) = socket_pair();
    (
        End {
            tls: TlsSession::client(client, name).expect("client session"),
            sock: c,
        },
        End {
            tls: TlsSession::server(server).expect("server session"),
            sock: s,
        },
    )
}

fn trusting(pki: &TestPki) -> TlsClientConfig {
    TlsClientConfig::with_ca_file(&pki.ca_path).expect("CA file")
}

fn serving(pem: &certs::Pem) -> TlsServerConfig {
    TlsServerConfig::from_pem_files(&pem.cert_path, &pem.key_path).expect("server PEM files")
}

/// Drives both handshakes to the end, or until one side fails (then the other side is
/// driven until it fails too, or until it has nothing left to do). Returns each side's error.
fn handshake(c: &mut End, s: &mut End) -> (Option<Error>, Option<Error>) {
    let (mut ce, mut se) = (None, None);
    let mut hung_up = false;
    for _ in 0..ROUNDS {
        if ce.is_none() {
            if let Err(e) = c.tls.drive_handshake(&mut c.sock) {
                ce = Some(into_error(e, "client handshake"));
            }
        }
        if se.is_none() {
            if let Err(e) = s.tls.drive_handshake(&mut s.sock) {
                se = Some(into_error(e, "server handshake"));
            }
        }
        let c_done = ce.is_some() || !c.tls.is_handshaking();
        let s_done = se.is_some() || !s.tls.is_handshaking();
        if c_done && s_done {
            break;
        }
        if ce.is_some() || se.is_some() {
            // One side failed and closes, as a connection does; the other sees the alert or
            // the end.
            if !hung_up {
                hung_up = true;
                let failed = if ce.is_some() {
                    &mut c.sock
                } else {
                    &mut s.sock
                };
                drop(std::mem::replace(failed, socket_pair().0));
            }
            let alive = if ce.is_some() { &*s } else { &*c };
            wait(&[(alive.sock.fd(), alive.interest())]);
            continue;
        }
        wait(&[(c.sock.fd(), c.interest()), (s.sock.fd(), s.interest())]);
    }
    (ce, se)
}

fn handshake_ok(c: &mut End, s: &mut End) {
    let (ce, se) = handshake(c, s);
    assert!(
        ce.is_none() && se.is_none(),
        "client: {ce:?}, server: {se:?}"
    );
    assert!(!c.tls.is_handshaking() && !s.tls.is_handshaking());
}

/// A client trusting the test CA and a server with its certificate for `localhost`, their
/// handshake done.
fn connected(pki: &TestPki) -> (End, End) {
    let (mut c, mut s) = pair(&trusting(pki), "localhost", &serving(&pki.server));
    handshake_ok(&mut c, &mut s);
    (c, s)
}

/// Sends `data` from one end to the other through both sessions; returns what arrived.
fn transfer(from: &mut End, to: &mut End, data: &[u8]) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..ROUNDS {
        if sent < data.len() {
            match from.tls.write_plain(&mut from.sock, &data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("write_plain: {e}"),
            }
        } else {
            from.tls.flush_tls(&mut from.sock).expect("flush_tls");
        }
        loop {
            match to.tls.read_plain(&mut to.sock, &mut buf) {
                Ok(0) => panic!("unexpected end after {} bytes", got.len()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("read_plain: {e}"),
            }
        }
        assert!(
            !to.tls.read_ready(),
            "read_plain said WouldBlock with input ready"
        );
        if got.len() == data.len() {
            return got;
        }
        let mut want_from = from.interest();
        if sent < data.len() && !from.tls.wants_write() {
            // Plaintext left to hand over and the session's buffer has room: go again now.
            want_from = libc::POLLOUT;
        }
        wait(&[(from.sock.fd(), want_from), (to.sock.fd(), to.interest())]);
    }
    panic!("transfer did not finish: sent {sent}, got {}", got.len());
}

fn big(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

// ----------------------------------------------------------------------------------------------
// Handshake, ALPN, session description
// ----------------------------------------------------------------------------------------------

#[test]
fn handshake_completes_and_h2_is_chosen_when_both_offer_it() {
    let pki = TestPki::new();
    let (c, s) = connected(&pki);
    assert_eq!(c.tls.alpn(), Some(ALPN_H2));
    assert_eq!(s.tls.alpn(), Some(ALPN_H2));

    let ci = c.tls.info();
    assert_eq!(ci.version, "TLSv1.3");
    assert!(ci.cipher_suite.starts_with("TLS13_"), "{}", ci.cipher_suite);
    assert_eq!(ci.alpn_str(), Some("h2"));
    assert_eq!(ci.server_name.as_deref(), Some("localhost"));
    assert_eq!(ci.peer_certificates, vec![pki.server.der.clone()]);

    let si = s.tls.info();
    assert_eq!(si.version, "TLSv1.3");
    assert_eq!(si.cipher_suite, ci.cipher_suite);
    assert_eq!(si.server_name.as_deref(), Some("localhost"));
    assert!(
        si.peer_certificates.is_empty(),
        "the client sent no certificate"
    );
}

#[test]
fn http11_is_chosen_when_either_side_offers_only_it() {
    let pki = TestPki::new();
    let client_h1 = trusting(&pki).offer_h2(false);
    assert_eq!(client_h1.alpn_protocols(), [ALPN_HTTP11.to_vec()]);
    let (mut c, mut s) = pair(&client_h1, "localhost", &serving(&pki.server));
    handshake_ok(&mut c, &mut s);
    assert_eq!(c.tls.alpn(), Some(ALPN_HTTP11));
    assert_eq!(s.tls.alpn(), Some(ALPN_HTTP11));

    let server_h1 = serving(&pki.server).offer_h2(false);
    let (mut c, mut s) = pair(&trusting(&pki), "localhost", &server_h1);
    handshake_ok(&mut c, &mut s);
    assert_eq!(c.tls.info().alpn_str(), Some("http/1.1"));
}

#[test]
fn an_ip_address_target_is_verified_against_the_certificate_and_sends_no_sni() {
    let pki = TestPki::new();
    let (mut c, mut s) = pair(&trusting(&pki), "127.0.0.1", &serving(&pki.server));
    handshake_ok(&mut c, &mut s);
    assert_eq!(c.tls.info().server_name, None);
    assert_eq!(s.tls.info().server_name, None);
    let (mut c, mut s) = pair(&trusting(&pki), "[::1]", &serving(&pki.server));
    handshake_ok(&mut c, &mut s);
}

#[test]
fn a_target_that_is_no_name_is_refused() {
    let e = TlsSession::client(&TlsClientConfig::insecure(), "not a name!").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("neither a DNS name"), "{e}");
}

#[test]
fn tls12_is_negotiated_when_the_client_allows_only_it() {
    let pki = TestPki::new();
    let base = trusting(&pki);
    let v12 = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots_from_file(&pki.ca_path).unwrap())
        .with_no_client_auth();
    let client = TlsClientConfig::from_rustls(Arc::new(v12));
    assert_eq!(client.alpn_protocols(), base.alpn_protocols());
    let (mut c, mut s) = pair(&client, "localhost", &serving(&pki.server));
    handshake_ok(&mut c, &mut s);
    assert_eq!(s.tls.info().version, "TLSv1.2");
    assert_eq!(c.tls.alpn(), Some(ALPN_H2));
}

#[test]
fn sni_picks_the_certificate_and_unknown_names_get_the_default() {
    let pki = TestPki::new();
    let wild = pki.issue("wild", &["*.sni.test"]);
    let server = serving(&pki.server)
        .with_sni(vec![
            (
                "other.example",
                &pki.wrong_name.cert_path,
                &pki.wrong_name.key_path,
            ),
            ("*.sni.test", &wild.cert_path, &wild.key_path),
        ])
        .expect("SNI entries");
    for (name, der) in [
        ("other.example", &pki.wrong_name.der),
        ("www.sni.test", &wild.der),
        ("localhost", &pki.server.der),
    ] {
        let (mut c, mut s) = pair(&trusting(&pki), name, &server);
        handshake_ok(&mut c, &mut s);
        assert_eq!(&c.tls.info().peer_certificates[0], der, "for {name}");
        assert_eq!(s.tls.info().server_name.as_deref(), Some(name));
    }
}

#[test]
fn client_certificates_are_presented_and_required_ones_are_enforced() {
    let pki = TestPki::new();
    let server = serving(&pki.server)
        .with_client_ca_file(&pki.ca_path, true)
        .expect("client CA");
    let with_cert = trusting(&pki)
        .with_client_cert(&pki.client.cert_path, &pki.client.key_path)
        .expect("client cert");
    let (mut c, mut s) = pair(&with_cert, "localhost", &server);
    handshake_ok(&mut c, &mut s);
    assert_eq!(s.tls.info().peer_certificates, vec![pki.client.der.clone()]);
    assert_eq!(
        s.tls.alpn(),
        Some(ALPN_H2),
        "ALPN survives the rebuilt config"
    );

    // Without one: the server refuses; the client (TLS 1.3: done before the server checks)
    // learns it from the alert on its next read.
    let (mut c, mut s) = pair(&trusting(&pki), "localhost", &server);
    let (_, se) = handshake(&mut c, &mut s);
    let se = se.expect("the server refuses a client without a certificate");
    assert_eq!(se.kind(), ErrorKind::Tls);
    assert!(se.message().contains("TLS handshake failed"), "{se}");
    let mut buf = [0u8; 64];
    let ce = loop {
        match c.tls.read_plain(&mut c.sock, &mut buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(&[(c.sock.fd(), libc::POLLIN)]),
            Err(e) => break into_error(e, "read"),
            Ok(n) => panic!("read {n} bytes from a refused session"),
        }
    };
    assert!(ce.message().contains("refused the session"), "{ce}");
}

// ----------------------------------------------------------------------------------------------
// Data, close, truncation
// ----------------------------------------------------------------------------------------------

#[test]
fn data_flows_both_ways_including_a_megabyte() {
    let pki = TestPki::new();
    let (mut c, mut s) = connected(&pki);
    assert_eq!(
        transfer(&mut c, &mut s, b"GET / HTTP/1.1\r\n\r\n"),
        b"GET / HTTP/1.1\r\n\r\n"
    );
    let mb = big(1024 * 1024);
    assert!(transfer(&mut s, &mut c, &mb) == mb, "server to client");
    assert!(transfer(&mut c, &mut s, &mb) == mb, "client to server");
}

#[test]
fn plaintext_written_during_the_handshake_is_sent_after_it() {
    let pki = TestPki::new();
    let (mut c, mut s) = pair(&trusting(&pki), "localhost", &serving(&pki.server));
    let n = c.tls.write_plain(&mut c.sock, b"early request").unwrap();
    assert_eq!(n, 13, "buffered until the handshake is done");
    handshake_ok(&mut c, &mut s);
    c.tls.flush_tls(&mut c.sock).unwrap();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    for _ in 0..100 {
        match s.tls.read_plain(&mut s.sock, &mut buf) {
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() == 13 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(&[(s.sock.fd(), libc::POLLIN)]),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"early request");
}

#[test]
fn close_notify_is_a_clean_end_and_no_write_follows_it() {
    let pki = TestPki::new();
    let (mut c, mut s) = connected(&pki);
    c.tls.write_plain(&mut c.sock, b"bye").unwrap();
    c.tls.send_close_notify();
    assert!(c.tls.wants_write());
    assert!(c.tls.flush_tls(&mut c.sock).unwrap());
    let e = c.tls.write_plain(&mut c.sock, b"more").unwrap_err();
    assert_eq!(into_error(e, "write").kind(), ErrorKind::Closed);

    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    let end = loop {
        match s.tls.read_plain(&mut s.sock, &mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(&[(s.sock.fd(), libc::POLLIN)]),
            Err(e) => panic!("{}", into_error(e, "read")),
        }
    };
    assert!(end);
    assert_eq!(got, b"bye");
    assert!(s.tls.peer_closed());
    assert!(!s.tls.wants_read(), "nothing to read after close_notify");
    assert!(!s.tls.read_ready(), "the end was reported");
    // The end stays the end, even after the socket closes.
    drop(c);
    assert_eq!(s.tls.read_plain(&mut s.sock, &mut buf).unwrap(), 0);
}

#[test]
fn a_cut_connection_is_reported_as_truncation() {
    let pki = TestPki::new();
    let (mut c, mut s) = connected(&pki);
    // The client reads what the server sent after the handshake (session tickets): a socket
    // closed with unread input is reset, not ended, which is another error.
    let _ = c.tls.read_plain(&mut c.sock, &mut [0u8; 64]);
    c.tls.write_plain(&mut c.sock, b"partial bo").unwrap();
    drop(c);
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    let e = loop {
        match s.tls.read_plain(&mut s.sock, &mut buf) {
            Ok(0) => panic!("a cut connection must not look like a clean end"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(&[(s.sock.fd(), libc::POLLIN)]),
            Err(e) => break into_error(e, "read"),
        }
    };
    assert_eq!(got, b"partial bo", "data before the cut is delivered first");
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert!(e.message().contains("without close_notify"), "{e}");
}

#[test]
fn a_handshake_cut_in_the_middle_is_reported_as_truncation() {
    let pki = TestPki::new();
    let mut hello = Vec::new();
    let mut probe = TlsSession::client(&trusting(&pki), "localhost").unwrap();
    probe.flush_tls(&mut hello).unwrap();
    assert!(hello.len() > 100, "a ClientHello");

    let (mut raw, mut s) = server_with_raw_peer(&pki);
    raw.write_all(&hello[..hello.len() / 2]).unwrap();
    drop(raw);
    let e = loop {
        match s.tls.drive_handshake(&mut s.sock) {
            Ok(true) => panic!("handshake finished on half a ClientHello"),
            Ok(false) => wait(&[(s.sock.fd(), s.interest())]),
            Err(e) => break into_error(e, "handshake"),
        }
    };
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert!(
        e.message().contains("in the middle of the handshake"),
        "{e}"
    );

    // A client that connects and closes without a byte.
    let (raw, mut s) = server_with_raw_peer(&pki);
    drop(raw);
    let e = handshake_error(&mut s);
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert!(e.message().contains("before sending anything"), "{e}");
}

// ----------------------------------------------------------------------------------------------
// Certificates refused
// ----------------------------------------------------------------------------------------------

fn refused(client: &TlsClientConfig, name: &str, server: &TlsServerConfig) -> (Error, Error) {
    let (mut c, mut s) = pair(client, name, server);
    let (ce, se) = handshake(&mut c, &mut s);
    let ce = ce.expect("the client refuses the certificate");
    let se = se.expect("the server learns it from the alert");
    assert_eq!(ce.kind(), ErrorKind::Tls);
    assert_eq!(se.kind(), ErrorKind::Tls);
    assert!(se.message().contains("refused the session"), "{se}");
    (ce, se)
}

/// The client's error when a client trusting the test CA refuses the certificate `pick`
/// chooses, served for "localhost".
fn refused_cert(pick: impl FnOnce(&TestPki) -> &certs::Pem) -> Error {
    let pki = TestPki::new();
    refused(&trusting(&pki), "localhost", &serving(pick(&pki))).0
}

#[test]
fn an_expired_certificate_is_refused_with_a_clear_message() {
    let ce = refused_cert(|pki| &pki.expired);
    assert!(ce.message().contains("has expired"), "{ce}");
}

#[test]
fn a_certificate_for_another_name_is_refused_with_a_clear_message() {
    let ce = refused_cert(|pki| &pki.wrong_name);
    assert!(ce.message().contains("not valid for the name"), "{ce}");
    assert!(ce.message().contains("other.example"), "{ce}");
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_with_a_clear_message() {
    let pki = TestPki::new();
    let (ce, _) = refused(&trusting(&pki), "localhost", &serving(&pki.untrusted));
    assert!(ce.message().contains("not signed by a trusted CA"), "{ce}");
    let source = std::error::Error::source(&ce).expect("the rustls error as source");
    assert_eq!(
        source.downcast_ref::<rustls::Error>(),
        Some(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    );
    // The public roots do not know the test CA either.
    let (ce, _) = refused(
        &TlsClientConfig::webpki_roots(),
        "localhost",
        &serving(&pki.server),
    );
    assert!(ce.message().contains("not signed by a trusted CA"), "{ce}");
}

#[test]
fn an_insecure_client_accepts_any_certificate() {
    let pki = TestPki::new();
    for pem in [&pki.expired, &pki.wrong_name, &pki.untrusted] {
        let (mut c, mut s) = pair(&TlsClientConfig::insecure(), "localhost", &serving(pem));
        handshake_ok(&mut c, &mut s);
        assert_eq!(c.tls.info().peer_certificates[0], pem.der);
    }
}

#[test]
fn versions_in_common_are_required() {
    let pki = TestPki::new();
    let client = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots_from_file(&pki.ca_path).unwrap())
        .with_no_client_auth();
    let server = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(serving(&pki.server).config.cert_resolver.clone());
    let (mut c, mut s) = pair(
        &TlsClientConfig::from_rustls(Arc::new(client)),
        "localhost",
        &TlsServerConfig::from_rustls(Arc::new(server)),
    );
    let (ce, se) = handshake(&mut c, &mut s);
    let se = se.expect("the server refuses TLS 1.2");
    assert!(se.message().contains("in common with us"), "{se}");
    let ce = ce.expect("the client is told");
    assert!(ce.message().contains("refused the session"), "{ce}");
}

// ----------------------------------------------------------------------------------------------
// Not TLS at all
// ----------------------------------------------------------------------------------------------

#[test]
fn plaintext_http_sent_to_a_tls_server_fails_clearly_and_gets_an_alert() {
    let pki = TestPki::new();
    let (mut raw, mut s) = server_with_raw_peer(&pki);
    raw.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let e = handshake_error(&mut s);
    assert_eq!(e.kind(), ErrorKind::Tls);
    assert!(e.message().contains("does not speak TLS"), "{e}");
    assert!(e.message().contains("GET / HTTP/1.1\\r\\n"), "{e}");
    // The failure sticks, and nothing more is read or written.
    assert!(!s.tls.wants_read() && !s.tls.wants_write());
    assert!(s.tls.read_plain(&mut s.sock, &mut [0u8; 8]).is_err());
    let mut alert = [0u8; 16];
    let n = raw.read(&mut alert).expect("an alert record");
    assert_eq!(alert[0], 0x15, "a TLS alert record: {:?}", &alert[..n]);
}

#[test]
fn garbage_that_starts_like_tls_fails_as_a_tls_error() {
    let pki = TestPki::new();
    let (mut raw, mut s) = server_with_raw_peer(&pki);
    let mut junk = vec![0x16, 0x03, 0x01, 0x00, 0x40];
    junk.extend(big(64));
    raw.write_all(&junk).unwrap();
    let e = handshake_error(&mut s);
    assert_eq!(e.kind(), ErrorKind::Tls);
    assert!(e.message().starts_with("TLS handshake failed: "), "{e}");
    assert!(!e.message().contains("does not speak TLS"), "{e}");
}

#[test]
fn a_plaintext_server_answering_a_tls_client_fails_clearly() {
    let (sock, mut raw) = socket_pair();
    let mut c = End {
        tls: TlsSession::client(&TlsClientConfig::webpki_roots(), "example.com").unwrap(),
        sock,
    };
    assert!(!c.tls.drive_handshake(&mut c.sock).unwrap());
    let mut hello = [0u8; 4096];
    assert!(raw.read(&mut hello).unwrap() > 0);
    raw.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let e = handshake_error(&mut c);
    assert_eq!(e.kind(), ErrorKind::Tls);
    assert!(e.message().contains("the server does not speak TLS"), "{e}");
    assert!(e.message().contains("HTTP/1.1 400"), "{e}");
}

#[test]
fn looks_like_tls_tells_a_client_hello_from_http() {
    let mut hello = Vec::new();
    let mut probe = TlsSession::client(&TlsClientConfig::insecure(), "localhost").unwrap();
    probe.flush_tls(&mut hello).unwrap();
    assert_eq!(looks_like_tls(&hello), Some(true));
    assert_eq!(looks_like_tls(&hello[..3]), Some(true));
    assert_eq!(looks_like_tls(&hello[..2]), None);
    assert_eq!(looks_like_tls(&hello[..1]), None);
    assert_eq!(looks_like_tls(b""), None);
    assert_eq!(looks_like_tls(b"GET / HTTP/1.1\r\n"), Some(false));
    assert_eq!(looks_like_tls(b"P"), Some(false));
    assert_eq!(looks_like_tls(b"PRI * HTTP/2.0\r\n"), Some(false));
    assert_eq!(looks_like_tls(&[0x16, 0x03, 0x09]), Some(false));
    assert_eq!(looks_like_tls(&[0x16, 0x02, 0x01]), Some(false));
}

// ----------------------------------------------------------------------------------------------
// The pollable contract
// ----------------------------------------------------------------------------------------------

#[test]
fn plaintext_held_by_the_session_is_visible_so_an_edge_triggered_loop_never_stalls() {
    let pki = TestPki::new();
    let (mut c, mut s) = connected(&pki);
    // Drain the session tickets the server sent after the handshake.
    let mut small = [0u8; 100];
    assert_eq!(
        c.tls
            .read_plain(&mut c.sock, &mut small)
            .unwrap_err()
            .kind(),
        io::ErrorKind::WouldBlock
    );
    let data = big(50_000);
    assert_eq!(s.tls.write_plain(&mut s.sock, &data).unwrap(), data.len());
    assert!(s.tls.flush_tls(&mut s.sock).unwrap());

    // One small read takes one record off the socket and leaves most of it decrypted inside.
    assert_eq!(c.tls.read_plain(&mut c.sock, &mut small).unwrap(), 100);
    assert!(c.tls.has_buffered_plaintext() && c.tls.read_ready());
    assert!(!c.tls.wants_read(), "plaintext first, then the socket");
    // An edge-triggered loop gets no new event for it: read_ready() is the only signal, and
    // reading until WouldBlock must deliver everything.
    let mut got = small.to_vec();
    let mut buf = [0u8; 4096];
    loop {
        match c.tls.read_plain(&mut c.sock, &mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(got == data);
    assert!(!c.tls.read_ready() && !c.tls.has_buffered_plaintext());
    assert!(c.tls.wants_read());
    assert!(!ready_now(c.sock.fd(), libc::POLLIN), "socket drained");
}

#[test]
fn an_idle_session_asks_only_for_readability_and_a_full_socket_for_writability() {
    let pki = TestPki::new();
    let (mut c, mut s) = connected(&pki);
    let _ = c.tls.read_plain(&mut c.sock, &mut [0u8; 64]);
    for end in [&c, &s] {
        assert_eq!(end.interest(), libc::POLLIN, "idle: readable only");
        assert!(!end.tls.read_ready());
        // Level-triggered: waiting for exactly this returns nothing (no spin).
        assert!(!ready_now(end.sock.fd(), end.interest()));
    }
    // Nobody reads the client: the server's writes fill the socket, then its session.
    let chunk = big(64 * 1024);
    let mut blocked = false;
    for _ in 0..1000 {
        match s.tls.write_plain(&mut s.sock, &chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                blocked = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(blocked, "the session's buffer is bounded");
    assert!(s.tls.wants_write());
    assert_ne!(s.interest() & libc::POLLOUT, 0);
    assert!(
        !ready_now(s.sock.fd(), libc::POLLOUT),
        "POLLOUT asked for only while the socket is really full"
    );
}

// ----------------------------------------------------------------------------------------------
// Configuration errors
// ----------------------------------------------------------------------------------------------

#[test]
fn configuration_errors_name_the_file_and_the_problem() {
    let pki = TestPki::new();
    let missing = pki.dir().join("missing.pem");
    let e = TlsServerConfig::from_pem_files(&missing, &pki.server.key_path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.errno(), Some(libc::ENOENT));
    assert!(e.message().contains("missing.pem"), "{e}");

    let e =
        TlsServerConfig::from_pem_files(&pki.server.cert_path, &pki.server.cert_path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("no private key found"), "{e}");

    let e =
        TlsServerConfig::from_pem_files(&pki.server.key_path, &pki.server.key_path).unwrap_err();
    assert!(e.message().contains("no certificate found"), "{e}");

    let e =
        TlsServerConfig::from_pem_files(&pki.server.cert_path, &pki.client.key_path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("does not fit"), "{e}");

    let junk = pki.write(
        "junk.pem",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let e = TlsClientConfig::with_ca_file(&junk).unwrap_err();
    assert!(e.message().contains("bad PEM"), "{e}");
    let e = TlsClientConfig::with_ca_file(&pki.server.key_path).unwrap_err();
    assert!(e.message().contains("no certificate found"), "{e}");
    let e = TlsClientConfig::insecure()
        .with_client_cert(&pki.client.cert_path, &missing)
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT));
}

#[test]
fn server_options_are_kept() {
    let pki = TestPki::new();
    let cfg = serving(&pki.server);
    assert_eq!(cfg.get_handshake_timeout(), Some(DEFAULT_HANDSHAKE_TIMEOUT));
    assert!(!cfg.allows_plaintext());
    let cfg = cfg
        .handshake_timeout(Some(Duration::from_millis(250)))
        .allow_plaintext(true)
        .offer_h2(false);
    assert_eq!(
        cfg.get_handshake_timeout(),
        Some(Duration::from_millis(250))
    );
    assert!(cfg.allows_plaintext());
    assert_eq!(cfg.alpn_protocols(), [ALPN_HTTP11.to_vec()]);
    assert_eq!(cfg.rustls_config().alpn_protocols, [ALPN_HTTP11.to_vec()]);
}
