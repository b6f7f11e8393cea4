//! An echo server on a plain mio loop: GET and HEAD answer `hello\n`; a request with a body is
//! answered with the same body. HTTP/1.0, HTTP/1.1 and cleartext HTTP/2 (prior knowledge and
//! `Upgrade: h2c`) on the same port.
//!
//! ```text
//! cargo run --release --example echo_server -- [--listen 127.0.0.1:8080] [--unix PATH]
//!     [--tls-cert FILE --tls-key FILE | --tls-self-signed] [--tls-allow-plaintext]
//!     [--no-reuse-heads]
//! ```
//!
//! `--no-reuse-heads` turns `Config::reuse_heads` off (every head parsed and encoded afresh).
//!
//! With a certificate it serves https on the same port (ALPN `h2` and `http/1.1`);
//! `--tls-self-signed` makes one for `localhost` and 127.0.0.1 at start and writes it next to
//! its key in a temporary directory (it prints where, for `curl --cacert`).
//!
//! The server is a `pollhttp::Server` (listeners, connections, deadlines, limits, graceful
//! stop: all behind one fd) nested in a mio loop; the loop only waits, steps and answers what
//! `next_request()` hands out. `epoll_echo_server` is the same server with every connection
//! driven by hand.

use pollhttp::mio::{Events, Interest, Poll, Token};
use pollhttp::{Config, Listener, Request, Server, ServerOptions, StatusCode, TlsServerConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The largest body echoed (it is echoed whole, with its length).
const MAX_BODY: usize = 1 << 30;

fn usage() -> ! {
    eprintln!(
        "usage: echo_server [--listen ADDR] [--unix PATH] \
         [--tls-cert FILE --tls-key FILE | --tls-self-signed] [--tls-allow-plaintext] \
         [--no-reuse-heads]"
    );
    std::process::exit(2)
}

fn fail(msg: &str) -> ! {
    eprintln!("echo_server: {msg}");
    std::process::exit(1)
}

/// A self-signed certificate for localhost, 127.0.0.1 and ::1, written with its key to a
/// fresh directory under the system's temporary directory: (certificate, key).
fn self_signed() -> (PathBuf, PathBuf) {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names)
        .unwrap_or_else(|e| fail(&format!("making a certificate: {e}")));
    let dir = std::env::temp_dir().join(format!("echo_server-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap_or_else(|e| fail(&format!("{e}")));
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap_or_else(|e| fail(&format!("{e}")));
    (cert, key)
}

fn main() {
    let mut listen = "127.0.0.1:8080".to_string();
    let mut unix: Option<String> = None;
    let (mut cert, mut key, mut self_sign, mut plaintext) = (None, None, false, false);
    let mut reuse_heads = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage()),
            "--unix" => unix = Some(args.next().unwrap_or_else(|| usage())),
            "--tls-cert" => cert = Some(PathBuf::from(args.next().unwrap_or_else(|| usage()))),
            "--tls-key" => key = Some(PathBuf::from(args.next().unwrap_or_else(|| usage()))),
            "--tls-self-signed" => self_sign = true,
            "--tls-allow-plaintext" => plaintext = true,
            "--no-reuse-heads" => reuse_heads = false,
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    let mut cfg = Config::default();
    // mio is edge-triggered; the loop passes peer-closed events on with hint_read_closed(),
    // so a short read may end the reading (one system call less per request).
    cfg.read_to_would_block = false;
    cfg.reuse_heads = reuse_heads;
    let cfg = Arc::new(cfg);
    let listener = match &unix {
        Some(p) => Listener::bind_unix(std::path::Path::new(p), cfg.clone()),
        None => match listen.parse() {
            Ok(a) => Listener::bind(a, cfg.clone()),
            Err(_) => {
                eprintln!("echo_server: --listen needs ADDR:PORT, got {listen}");
                std::process::exit(2)
            }
        },
    }
    .unwrap_or_else(|e| fail(&e.to_string()));
    let pems = match (cert, key, self_sign) {
        (Some(c), Some(k), false) => Some((c, k)),
        (None, None, true) => {
            let (c, k) = self_signed();
            println!("echo_server: self-signed certificate in {}", c.display());
            Some((c, k))
        }
        (None, None, false) => None,
        _ => usage(),
    };
    let scheme = if pems.is_some() { "https" } else { "http" };
    let listener = match pems {
        Some((c, k)) => {
            let tls = TlsServerConfig::from_pem_files(&c, &k)
                .unwrap_or_else(|e| fail(&e.to_string()))
                .allow_plaintext(plaintext);
            listener.with_tls(tls)
        }
        None => listener,
    };
    let opts = ServerOptions {
        config: cfg,
        ..ServerOptions::default()
    };
    let mut server = Server::new(opts).unwrap_or_else(|e| fail(&e.to_string()));
    server
        .add_listener(listener)
        .unwrap_or_else(|e| fail(&e.to_string()));
    match &unix {
        Some(p) => println!("echo_server listening on unix:{p}"),
        None => println!("echo_server listening on {scheme}://{listen}/"),
    }
    if let Err(e) = run(&mut server) {
        eprintln!("echo_server: {e}");
        std::process::exit(1);
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// SIGINT and SIGTERM ask for a graceful stop (the poll wakes with EINTR).
fn catch_stop_signals() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe; the
    // sigaction struct is zeroed and fully set before use.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
    }
}

fn run(server: &mut Server) -> std::io::Result<()> {
    catch_stop_signals();
    let mut poll = Poll::new()?;
    poll.registry()
        .register(server, Token(0), Interest::READABLE)?;
    let mut events = Events::with_capacity(16);
    loop {
        if STOP.load(Ordering::Relaxed) && !server.is_done() {
            // Graceful stop: accept no more, let every connection finish what is in flight
            // (answered with `Connection: close`); each gives up at its shutdown_timeout.
            println!("echo_server: stopping");
            server.shutdown();
            STOP.store(false, Ordering::Relaxed);
        }
        if server.is_done() {
            return Ok(());
        }
        let wait = server
            .timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, wait) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        server.step().map_err(std::io::Error::other)?;
        while let Some(mut req) = server.next_request() {
            serve(&mut req);
        }
    }
}

/// A request with a body: the body; GET and others: `hello` (HEAD gets the head of that).
fn serve(req: &mut Request<'_>) {
    let body = match req.try_body(MAX_BODY) {
        Ok(Some(body)) => body,
        Ok(None) => return,
        Err(e) if e.is_would_block() => return, // handed out again as the body comes
        Err(e) => {
            let _ = req.respond_error(&e);
            return;
        }
    };
    let body: &[u8] = if body.is_empty() { b"hello\n" } else { &body };
    if let Err(e) = req.respond(StatusCode::OK, &[("content-type", "text/plain")], body) {
        eprintln!("echo_server: {e}");
    }
}
