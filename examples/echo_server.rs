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
//! One thread, many connections. Each connection is registered once (its fd does not change)
//! for both directions, edge-triggered; after an event it is stepped, its ready streams are
//! answered, and it is stepped again while `wants_step_now()` says work is due at once. Deadlines
//! (idle keep-alive, slow request heads) are swept once a second.

use mio::{Events, Interest, Poll, Token};
use pollhttp::{Config, Connection, Headers, Listener, Method, StreamId, TlsServerConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(usize::MAX);

struct Request {
    id: StreamId,
    head: bool,
    got_head: bool,
    /// The whole request body is in.
    got_body: bool,
    /// The answer's head went out; its body waits for room in the send buffer.
    answered: bool,
    body: Vec<u8>,
}

struct Client {
    conn: Connection,
    reqs: Vec<Request>,
}

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
    let mut listener = match &unix {
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
    if let Some((c, k)) = pems {
        let tls = TlsServerConfig::from_pem_files(&c, &k)
            .unwrap_or_else(|e| fail(&e.to_string()))
            .allow_plaintext(plaintext);
        listener = listener.with_tls(tls);
    }
    match &unix {
        Some(p) => println!("echo_server listening on unix:{p}"),
        None => println!("echo_server listening on {scheme}://{listen}/"),
    }
    if let Err(e) = run(&mut listener) {
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

fn run(listener: &mut Listener) -> std::io::Result<()> {
    catch_stop_signals();
    let mut poll = Poll::new()?;
    poll.registry()
        .register(listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    // Boxed: the table holds a pointer per slot, and a connection's record is allocated at
    // its own size (the table grows by doubling, so inline records would cost up to twice
    // their size per idle connection).
    let mut clients: Vec<Option<Box<Client>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut next_sweep = Instant::now() + Duration::from_secs(1);
    let mut stopping: Option<Instant> = None;
    loop {
        if stopping.is_none() && STOP.load(Ordering::Relaxed) {
            // Graceful stop: accept no more, let every connection finish what is in flight
            // (answered with `Connection: close`), and give up on the rest at a deadline.
            println!("echo_server: stopping");
            let _ = poll.registry().deregister(listener);
            listener.close();
            for slot in 0..clients.len() {
                if let Some(c) = clients[slot].as_mut() {
                    c.conn.shutdown();
                }
                drive(&mut clients, &mut free, &poll, slot);
            }
            stopping = Some(Instant::now() + Duration::from_secs(10));
        }
        if let Some(deadline) = stopping {
            if clients.iter().all(Option::is_none) || Instant::now() >= deadline {
                return Ok(());
            }
        }
        let now = Instant::now();
        let wait = next_sweep.saturating_duration_since(now);
        if stopping.is_some() {
            next_sweep = next_sweep.min(now + Duration::from_millis(100));
        }
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                loop {
                    match listener.try_accept() {
                        Ok(mut conn) => {
                            conn.set_auto_flush(false);
                            let slot = free.pop().unwrap_or_else(|| {
                                clients.push(None);
                                clients.len() - 1
                            });
                            if poll
                                .registry()
                                .register(
                                    &mut conn,
                                    Token(slot),
                                    Interest::READABLE | Interest::WRITABLE,
                                )
                                .is_err()
                            {
                                free.push(slot);
                                continue;
                            }
                            clients[slot] = Some(Box::new(Client {
                                conn,
                                reqs: Vec::new(),
                            }));
                            drive(&mut clients, &mut free, &poll, slot);
                        }
                        Err(e) if e.is_would_block() => break,
                        Err(e) => {
                            eprintln!("echo_server: {e}");
                            break;
                        }
                    }
                }
                continue;
            }
            if ev.is_read_closed() || ev.is_error() {
                if let Some(Some(c)) = clients.get_mut(ev.token().0) {
                    c.conn.hint_read_closed();
                }
            }
            drive(&mut clients, &mut free, &poll, ev.token().0);
        }
        let now = Instant::now();
        if now >= next_sweep {
            next_sweep = now + Duration::from_secs(1);
            for slot in 0..clients.len() {
                let due = clients[slot]
                    .as_ref()
                    .and_then(|c| c.conn.timeout())
                    .is_some_and(|t| t <= now);
                if due {
                    drive(&mut clients, &mut free, &poll, slot);
                }
            }
        }
    }
}

/// Steps one connection and answers what it has, until no work is due right now.
fn drive(clients: &mut [Option<Box<Client>>], free: &mut Vec<usize>, poll: &Poll, slot: usize) {
    let Some(c) = clients.get_mut(slot).and_then(Option::as_mut) else {
        return;
    };
    for _ in 0..16 {
        let _ = c.conn.step();
        while let Ok(Some(id)) = c.conn.try_next_incoming_stream() {
            c.reqs.push(Request {
                id,
                head: false,
                got_head: false,
                got_body: false,
                answered: false,
                body: Vec::new(),
            });
        }
        while let Some(id) = c.conn.next_ready_stream() {
            serve(c, id);
        }
        // The answers of this turn go out together (HTTP/2 answers many streams per turn).
        let _ = c.conn.try_flush();
        if c.conn.is_closed() {
            let _ = poll.registry().deregister(&mut c.conn);
            clients[slot] = None;
            free.push(slot);
            return;
        }
        // Deadlines (idle, slow heads) are left to the sweep; only work due at once loops.
        if !c.conn.wants_step_now() {
            return;
        }
    }
}

fn serve(c: &mut Client, id: StreamId) {
    let Some(i) = c.reqs.iter().position(|r| r.id == id) else {
        return;
    };
    let mut stream = c.conn.stream(id);
    let r = &mut c.reqs[i];
    if !r.got_head {
        // Into one reused head: the connection takes the storage it held back for later
        // requests.
        let got = REQUEST.with(|h| {
            let mut h = h.borrow_mut();
            let got = stream.try_get_headers_into(&mut h);
            got.map(|head| head.map(|h| r.head = h.method() == Some(Method::HEAD)))
        });
        match got {
            Ok(Some(())) => r.got_head = true,
            Err(e) if e.is_would_block() => return,
            _ => {
                c.reqs.swap_remove(i);
                return;
            }
        }
    }
    while !r.got_body {
        match stream.try_get_next_chunk() {
            Ok(Some(d)) => {
                if r.body.is_empty() {
                    r.body = d;
                } else {
                    r.body.extend_from_slice(&d);
                }
            }
            Ok(None) => r.got_body = true,
            Err(e) if e.is_would_block() => return,
            Err(_) => {
                c.reqs.swap_remove(i);
                return;
            }
        }
    }
    let body: &[u8] = if r.body.is_empty() {
        b"hello\n"
    } else {
        &r.body
    };
    if !r.answered {
        // One response head reused for every answer: no allocation per request.
        let written = RESPONSE.with(|res| {
            let mut res = res.borrow_mut();
            res.clear();
            res.append(":status", "200");
            res.append("content-type", "text/plain");
            let mut digits = [0u8; 20];
            res.append("content-length", decimal(&mut digits, body.len()));
            stream.write_headers(&res, false)
        });
        if written.is_err() {
            c.reqs.swap_remove(i);
            return;
        }
        r.answered = true;
    }
    match stream.try_write_chunk(if r.head { &[] } else { body }, true) {
        // Refused while the send buffer is full: kept, and written when `next_ready_stream`
        // names the stream again.
        Err(e) if e.is_would_block() => {}
        _ => {
            c.reqs.swap_remove(i);
        }
    }
}

thread_local! {
    static RESPONSE: std::cell::RefCell<Headers> = std::cell::RefCell::new(Headers::new());
    static REQUEST: std::cell::RefCell<Headers> = std::cell::RefCell::new(Headers::new());
}

fn decimal(buf: &mut [u8; 20], mut n: usize) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}
