//! A load generator on client connections: one thread, one mio loop, many connections.
//!
//! ```text
//! cargo run --release --example load -- URL [--connections C] [--seconds S] [--pipeline N]
//!     [--http2 [--streams M] | --http2-upgrade [--streams M]] [--method M] [--data STR]
//!     [-H 'name: value']... [--http1.0] [--unix PATH] [--cacert FILE] [-k|--insecure]
//! ```
//!
//! Defaults: 10 connections, 10 seconds, N = M = 1.
//!
//! It opens C connections without blocking (`Connection::client`, then the loop drives the
//! connect), keeps N requests in flight on each (pipelined over HTTP/1.1, M concurrent streams
//! over HTTP/2), and counts the answers: a 2xx response is a completed request; any other
//! status, a failed stream or a connection lost under requests is an error. Requests the server
//! never processed because it closed the connection first, or (HTTP/2) sent GOAWAY before
//! their streams, are not errors: the library fails them as safe to retry, and they go again.
//! A closed connection is reopened (after a short pause when it never got an answer, so a
//! refused connect does not spin). After S seconds it prints, as its last line:
//!
//! ```text
//! done: N requests, E errors
//! ```
//!
//! Versions: `http://` with `--http2` speaks HTTP/2 from the first byte (prior knowledge, as
//! `h2load` and `curl --http2-prior-knowledge` do); `--http2-upgrade` sends the first request
//! of each connection as HTTP/1.1 offering `Upgrade: h2c`, and opens the other streams once the
//! server switched. `https://` offers ALPN `h2` and `http/1.1` with `--http2`, only `http/1.1`
//! without; the server's choice decides, and a connection that ends up on HTTP/1.1 pipelines
//! N as usual. Servers are verified against the webpki roots, or `--cacert FILE`;
//! `-k`/`--insecure` skips verification (for test servers with self-signed certificates).
//!
//! How the loop is built, and why:
//! - Every fd is registered once, edge-triggered, for both directions (as in `echo_server`):
//!   `step()` reads until the socket would block or a read comes back short (see below), so no
//!   edge is lost, and no `epoll_ctl` is needed per request. While a connection is still resolving or connecting its `pollfd()`
//!   may change (the resolver's wake-up socket, then the socket of each address tried): it is
//!   registered again when, and only when, `pollfd()` differs from the fd registered (the new
//!   fd is opened before the old one is closed, so the numbers differ; registering again after
//!   every step would wake an edge-triggered loop at once for writability, a busy loop while
//!   an HTTP/2 client waits for the server's SETTINGS).
//! - Answers are taken from `next_ready_stream()`, which names the streams with news after a
//!   step: HTTP/2 answers complete in any order, and each is found by its stream id among the
//!   connection's few requests in flight.
//! - With N = M = 1 a request goes out in the `write_headers` call that ends it (auto flush).
//!   Otherwise auto flush is off: the requests that refill the pipeline (or the free streams)
//!   are written into the connection's buffer and leave in one `try_flush`, one `write(2)`.
//! - Over TLS no request is written before the handshake is over (and, for HTTP/2, the
//!   server's SETTINGS came: `is_connected()`), since ALPN decides which core speaks.
//! - One request head (`Headers`) is built at start and reused (an HTTP/1 connection copies
//!   the bytes it encoded for the previous identical head); per request the loop allocates
//!   nothing of its own (the in-flight list of each connection keeps its capacity). Response
//!   heads are taken with `try_get_headers_into` into one `Headers` per connection, whose
//!   previous content goes back to the connection to parse a later head into; bodies are
//!   taken with `try_get_body_into` into one cleared buffer per connection, whose storage the
//!   connection gives to a later response's body.
//! - Reading stops at a short read (`Config::read_to_would_block = false`): the loop passes
//!   peer-closed events on with `hint_read_closed()`, so no end of input is missed, and a
//!   readable event costs one `recv` instead of two.
//! - The poller sleeps until the earliest of: the end of the run, and a lower bound of the
//!   connections' `timeout()`s. The bound is folded in O(1) after each connection is driven;
//!   when it passes, one sweep steps the connections that are due and computes it exactly.

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use pollhttp::{
    ClientOptions, Config, Connection, Headers, Method, StreamId, Target, TlsClientConfig,
};
use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: load URL [--connections C] [--seconds S] [--pipeline N]
            [--http2 [--streams M] | --http2-upgrade [--streams M]] [--method M] [--data STR]
            [-H 'name: value']... [--http1.0] [--unix PATH] [--cacert FILE] [-k|--insecure]";

/// Steps of one connection in a row while its `timeout()` says more work is due now.
const STEPS_PER_DRIVE: usize = 16;
/// Pause before reopening a connection that closed without any answer.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Error messages shown on stderr; the rest are only counted.
const SHOWN_ERRORS: u64 = 5;

/// The parts of an `http://` or `https://` URL a request needs.
#[derive(Debug)]
struct Url {
    host: String,
    port: u16,
    authority: String,
    path: String,
    /// `https://`.
    tls: bool,
}

/// Parses `http[s]://host[:port][/path][?query]` (IPv6 literals in brackets).
fn parse_url(url: &str) -> Result<Url, String> {
    let (rest, tls) = match url.find("://") {
        Some(i) => match url[..i].to_ascii_lowercase().as_str() {
            "http" => (&url[i + 3..], false),
            "https" => (&url[i + 3..], true),
            s => {
                return Err(format!(
                    "unsupported scheme {s}:// (only http:// and https://)"
                ))
            }
        },
        None => (url, false),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or("unclosed '[' in the URL's host")?;
        match &v6[close + 1..] {
            "" => (&v6[..close], None),
            p => match p.strip_prefix(':') {
                Some(p) => (&v6[..close], Some(p)),
                None => return Err(format!("unexpected {p:?} after the IPv6 address")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains('@') {
        return Err(format!("no usable host in {url:?}"));
    }
    let port = match port {
        None | Some("") if tls => 443,
        None | Some("") => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or(format!("bad port {p:?}"))?,
    };
    let tail = tail.split('#').next().unwrap_or("");
    let path = match tail {
        "" => "/".to_string(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_string(),
    };
    Ok(Url {
        host: host.to_string(),
        port,
        authority: authority.trim_end_matches(':').to_string(),
        path,
        tls,
    })
}

/// A request in flight: its stream, and the final status once its head came (0 before).
struct InFlight {
    id: StreamId,
    status: u16,
}

/// One connection's place in the loop. The token of a slot is its index and its generation,
/// so events still queued for a connection that was closed and replaced are recognised.
struct Slot {
    conn: Option<Connection>,
    gen: u32,
    /// The fd registered with the poller, or -1.
    registered: RawFd,
    /// A response came on this connection (a later close is not a connect failure).
    answered: bool,
    /// A request was written on this connection (its failure is counted through it).
    sent: bool,
    /// The requests in flight, in no particular order (HTTP/2 answers them in any order).
    inflight: Vec<InFlight>,
    /// When to reopen the slot's connection once it has closed.
    retry_at: Option<Instant>,
    /// The last response head read: each head is taken into it (`try_get_headers_into`), and
    /// the one it held goes back to the connection, which parses a later head into its room.
    head: Headers,
    /// The body of the last response read (`try_get_body_into`), cleared before each: its
    /// storage and the connection's go back and forth, so no body is allocated per response.
    body: Vec<u8>,
}

/// What one run asks for, and what it counts.
struct Load {
    target: Target,
    opts: ClientOptions,
    req: Headers,
    body: Option<Vec<u8>>,
    /// Requests in flight on an HTTP/1.1 connection.
    pipeline: usize,
    /// Streams in flight on an HTTP/2 connection.
    streams: usize,
    /// HTTP/2 by `Upgrade: h2c`: one request until the server has answered the offer.
    upgrade: bool,
    ok: u64,
    errors: u64,
    /// Requests the server never processed (it closed, or sent GOAWAY, first); sent again,
    /// not errors.
    unanswered: u64,
    /// Connections that got an answer, and how many of them over HTTP/2.
    answered_conns: u64,
    h2_conns: u64,
    /// A time no later than the earliest `timeout()` (or retry) of any connection.
    earliest: Option<Instant>,
}

fn usage_error(msg: &str) -> ! {
    eprintln!("load: {msg}\n{USAGE}");
    exit(2)
}

fn main() {
    let mut url = None;
    let (mut connections, mut seconds, mut pipeline) = (10usize, 10f64, 1usize);
    let mut method = None;
    let mut data: Option<String> = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut http10 = false;
    let mut unix: Option<PathBuf> = None;
    let mut http2 = false;
    let mut upgrade = false;
    let mut streams = 1usize;
    let mut cacert: Option<PathBuf> = None;
    let mut insecure = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage_error(&format!("{arg} needs a value")))
        };
        let number = |v: String| -> usize {
            v.parse()
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage_error(&format!("{arg} needs a positive number")))
        };
        match arg.as_str() {
            "-c" | "--connections" => connections = number(value()),
            "-d" | "--seconds" | "--duration" => {
                let v = value();
                seconds = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .unwrap_or_else(|| usage_error(&format!("bad duration {v:?}")));
            }
            "-p" | "--pipeline" => pipeline = number(value()),
            "-X" | "--method" => method = Some(value()),
            "--data" => data = Some(value()),
            "-H" | "--header" => {
                let h = value();
                match h.split_once(':') {
                    Some((n, v)) if !n.trim().is_empty() => {
                        headers.push((n.trim().to_string(), v.trim().to_string()))
                    }
                    _ => usage_error(&format!("header {h:?} is not 'name: value'")),
                }
            }
            "--http1.0" => http10 = true,
            "--unix" => unix = Some(PathBuf::from(value())),
            "--http2" => http2 = true,
            "--http2-upgrade" => upgrade = true,
            "-m" | "--streams" => streams = number(value()),
            "--cacert" => cacert = Some(PathBuf::from(value())),
            "-k" | "--insecure" => insecure = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            s if s.starts_with('-') => usage_error(&format!("unknown option {s}")),
            _ if url.is_some() => usage_error("more than one URL"),
            _ => url = Some(arg),
        }
    }
    let url = url.unwrap_or_else(|| usage_error("no URL"));
    let url = parse_url(&url).unwrap_or_else(|e| {
        eprintln!("load: {e}");
        exit(2)
    });
    if http10 && (http2 || upgrade) {
        usage_error("--http1.0 and HTTP/2 exclude each other");
    }
    if upgrade && (http2 || url.tls) {
        usage_error("--http2-upgrade is for http:// URLs, instead of --http2");
    }
    if upgrade && data.is_some() {
        // The library offers h2c only with a request that has no body, so every connection
        // would stay HTTP/1.1.
        usage_error("--http2-upgrade takes no --data (use --http2 for prior knowledge)");
    }
    let tls = if !url.tls {
        None
    } else if insecure {
        Some(TlsClientConfig::insecure())
    } else if let Some(ca) = &cacert {
        Some(TlsClientConfig::with_ca_file(ca).unwrap_or_else(|e| {
            eprintln!("load: {e}");
            exit(2)
        }))
    } else {
        Some(TlsClientConfig::webpki_roots())
    };
    // Set once here, so that each connection shares this configuration as it is.
    let tls = tls.map(|t| t.offer_h2(http2));

    let method = method.unwrap_or_else(|| if data.is_some() { "POST" } else { "GET" }.into());
    let method = Method::from_bytes(method.as_bytes()).unwrap_or_else(|_| {
        eprintln!("load: not an HTTP method: {method:?}");
        exit(2)
    });
    let mut req = Headers::request(method, &url.path, Some(&url.authority));
    for (n, v) in &headers {
        req.append(n, v);
    }
    let body = data.map(String::into_bytes);
    if let Some(b) = &body {
        if !req.has("content-length") {
            req.append("content-length", b.len().to_string());
        }
    }
    if http10 && !req.has("connection") {
        req.append("connection", "keep-alive");
    }
    let target = match unix {
        Some(p) => Target::Unix(p),
        None => Target::Host(url.host.clone(), url.port),
    };
    let version = if http10 {
        http::Version::HTTP_10
    } else if http2 || upgrade {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    let mut config = Config::default();
    // The loop passes peer-closed events on (`hint_read_closed`), so a short read may end the
    // reading of a step: one `recv` per readable event instead of two (the second would only
    // say "would block").
    config.read_to_would_block = false;
    let mut load = Load {
        target,
        opts: ClientOptions {
            version,
            http2_prior_knowledge: http2 && !url.tls,
            tls,
            config: Arc::new(config),
        },
        req,
        body,
        pipeline,
        streams,
        upgrade,
        ok: 0,
        errors: 0,
        unanswered: 0,
        answered_conns: 0,
        h2_conns: 0,
        earliest: None,
    };
    let started = Instant::now();
    if let Err(e) = run(
        &mut load,
        connections,
        started + Duration::from_secs_f64(seconds),
    ) {
        eprintln!("load: {e}");
        exit(1)
    }
    let took = started.elapsed().as_secs_f64();
    let depth = if http2 || upgrade {
        format!("streams {streams}, pipeline {pipeline}")
    } else {
        format!("pipeline {pipeline}")
    };
    println!(
        "load: {connections} connections, {depth}, {took:.2} s: {:.0} req/s",
        load.ok as f64 / took
    );
    println!(
        "load: {} connections answered, {} of them over HTTP/2",
        load.answered_conns, load.h2_conns
    );
    if load.unanswered > 0 {
        println!(
            "load: {} requests not processed by the server before it closed or sent GOAWAY \
             (sent again)",
            load.unanswered
        );
    }
    println!("done: {} requests, {} errors", load.ok, load.errors);
}

fn token(slot: usize, gen: u32) -> Token {
    Token(slot | ((gen as usize) << 32))
}

fn run(load: &mut Load, connections: usize, end: Instant) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut slots: Vec<Slot> = (0..connections)
        .map(|_| Slot {
            conn: None,
            gen: 0,
            registered: -1,
            answered: false,
            sent: false,
            inflight: Vec::with_capacity(load.pipeline.max(load.streams)),
            retry_at: None,
            head: Headers::new(),
            body: Vec::new(),
        })
        .collect();
    for (i, s) in slots.iter_mut().enumerate() {
        open(load, &poll, s, i);
    }
    loop {
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        let wake = load.earliest.map_or(end, |t| t.min(end));
        if let Err(e) = poll.poll(&mut events, Some(wake.saturating_duration_since(now))) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            let (i, gen) = (ev.token().0 & 0xffff_ffff, (ev.token().0 >> 32) as u32);
            if slots.get(i).is_some_and(|s| s.gen == gen) {
                if ev.is_read_closed() || ev.is_error() {
                    if let Some(c) = slots[i].conn.as_mut() {
                        c.hint_read_closed();
                    }
                }
                drive(load, &poll, &mut slots[i], i);
            }
        }
        let now = Instant::now();
        if load.earliest.is_some_and(|t| t <= now) {
            // Sweep: step what is due, reopen what waited, and compute the bound exactly.
            load.earliest = None;
            for (i, s) in slots.iter_mut().enumerate() {
                if s.conn.is_none() {
                    match s.retry_at {
                        Some(t) if t > now => fold(&mut load.earliest, t),
                        _ => open(load, &poll, s, i),
                    }
                    continue;
                }
                match s.conn.as_ref().and_then(Connection::timeout) {
                    Some(t) if t <= now => drive(load, &poll, s, i),
                    Some(t) => fold(&mut load.earliest, t),
                    None => {}
                }
            }
        }
    }
}

fn fold(earliest: &mut Option<Instant>, t: Instant) {
    *earliest = Some(earliest.map_or(t, |e| e.min(t)));
}

/// Opens the slot's connection, writes its first requests, and drives it once.
fn open(load: &mut Load, poll: &Poll, s: &mut Slot, i: usize) {
    s.gen = s.gen.wrapping_add(1);
    s.registered = -1;
    s.answered = false;
    s.sent = false;
    s.retry_at = None;
    s.inflight.clear();
    match Connection::client(load.target.clone(), load.opts.clone()) {
        Ok(mut c) => {
            if batched(load) {
                c.set_auto_flush(false);
            }
            s.conn = Some(c);
            // The requests wait in the connection's buffer until the connect completes.
            refill(load, s);
            drive(load, poll, s, i);
        }
        Err(e) => {
            count_error(load, &e);
            s.conn = None;
            s.retry_at = Some(Instant::now() + RETRY_PAUSE);
            fold(&mut load.earliest, Instant::now() + RETRY_PAUSE);
        }
    }
}

/// Registers the connection's current fd if it is not the one registered (a new connection,
/// or a client that moved on to its next address: the old fd was closed, which took it out of
/// the poll set).
fn register(poll: &Poll, s: &mut Slot, i: usize) {
    let Some(c) = &s.conn else { return };
    let fd = c.pollfd();
    if fd < 0 || fd == s.registered {
        return;
    }
    let interest = Interest::READABLE | Interest::WRITABLE;
    if let Err(e) = poll
        .registry()
        .register(&mut SourceFd(&fd), token(i, s.gen), interest)
    {
        eprintln!("load: registering fd {fd}: {e}");
        return;
    }
    s.registered = fd;
}

/// Steps one connection, takes its answers, refills its pipeline, until no work is due now.
fn drive(load: &mut Load, poll: &Poll, s: &mut Slot, i: usize) {
    for _ in 0..STEPS_PER_DRIVE {
        let Some(c) = s.conn.as_mut() else { return };
        // A failure shows below: in the streams it failed, and as the closed connection.
        let _ = c.step();
        register(poll, s, i);
        let Some(c) = s.conn.as_mut() else { return };
        while let Some(id) = c.next_ready_stream() {
            let Some(k) = s.inflight.iter().position(|f| f.id == id) else {
                continue;
            };
            match read_response(c, &mut s.inflight[k], &mut s.head, &mut s.body) {
                None => {}
                Some(Ok(())) => {
                    s.inflight.swap_remove(k);
                    if !s.answered {
                        s.answered = true;
                        load.answered_conns += 1;
                        load.h2_conns += u64::from(c.version() == http::Version::HTTP_2);
                    }
                    load.ok += 1;
                }
                Some(Err(e)) if unprocessed(&e) => {
                    // The server closed the connection (e.g. `Connection: close` after its
                    // keep-alive limit) or sent GOAWAY before it took this request: not an
                    // error; the request goes again on the next connection.
                    s.inflight.swap_remove(k);
                    load.unanswered += 1;
                }
                Some(Err(e)) => {
                    s.inflight.swap_remove(k);
                    count_error(load, &e);
                }
            }
        }
        if c.is_closed() {
            // Whatever is still in flight did not get its answer.
            if !s.inflight.is_empty() {
                let e = c.error().cloned().unwrap_or_else(|| {
                    pollhttp::Error::new(pollhttp::ErrorKind::Closed, "connection closed")
                });
                for _ in 0..s.inflight.len() {
                    count_error(load, &e);
                }
            } else if let (false, Some(e)) = (s.sent, c.error()) {
                // Failed before it carried a request (over TLS none is written before the
                // handshake is over): the failed connect or handshake is the error.
                let e = e.clone();
                count_error(load, &e);
            }
            // Reopened by the sweep after the next poll (which then does not wait): at once if
            // the connection was answered, after a pause if it never was.
            s.conn = None;
            let pause = if s.answered {
                Duration::ZERO
            } else {
                RETRY_PAUSE
            };
            let t = Instant::now() + pause;
            s.retry_at = Some(t);
            fold(&mut load.earliest, t);
            return;
        }
        refill(load, s);
        let Some(c) = s.conn.as_ref() else { return };
        match c.timeout() {
            Some(t) if t <= Instant::now() => continue,
            Some(t) => {
                fold(&mut load.earliest, t);
                return;
            }
            None => return,
        }
    }
    // Still due after the budget: leave it to the sweep, right after the next poll.
    if let Some(t) = s.conn.as_ref().and_then(Connection::timeout) {
        fold(&mut load.earliest, t);
    }
}

/// Takes what stream `f` has: `None` if its answer is not complete yet, else whether it was a
/// 2xx. The head is taken into `head`; the body is read into `body` and dropped.
fn read_response(
    c: &mut Connection,
    f: &mut InFlight,
    head: &mut Headers,
    body: &mut Vec<u8>,
) -> Option<Result<(), pollhttp::Error>> {
    let mut stream = c.stream(f.id);
    while f.status == 0 {
        match stream.try_get_headers_into(head) {
            Ok(Some(head)) => {
                let status = head.status().map_or(0, |s| s.as_u16());
                // Interim heads (1xx other than 101) come before the final one.
                if !(100..200).contains(&status) || status == 101 {
                    f.status = status.max(1);
                }
            }
            Ok(None) => {
                return Some(Err(pollhttp::Error::new(
                    pollhttp::ErrorKind::Protocol,
                    "the stream ended without a response",
                )))
            }
            Err(e) if e.is_would_block() => return None,
            Err(e) => return Some(Err(e)),
        }
    }
    // A body still arriving is taken as it comes, so the connection's receive buffer never
    // fills up and stops reading; the call after the last bytes says the body is over.
    loop {
        body.clear();
        match stream.try_get_body_into(body) {
            Ok(Some(_)) => {}
            Ok(None) => return Some(outcome(f.status)),
            Err(e) if e.is_would_block() => return None,
            Err(e) => return Some(Err(e)),
        }
    }
}

/// A complete answer counts when its status is 2xx.
fn outcome(status: u16) -> Result<(), pollhttp::Error> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(pollhttp::Error::new(
            pollhttp::ErrorKind::Protocol,
            format!("answered {status}"),
        ))
    }
}

/// Whether requests are written with auto flush off and leave in one `try_flush` per turn.
fn batched(load: &Load) -> bool {
    load.pipeline > 1 || (load.opts.version == http::Version::HTTP_2 && load.streams > 1)
}

/// How many requests connection `c` carries at once now: `streams` over HTTP/2, `pipeline`
/// over HTTP/1, one while an `h2c` offer waits for its answer, none before a TLS handshake
/// (and the server's SETTINGS) is over.
fn depth(load: &Load, c: &Connection, answered: bool) -> usize {
    if c.version() == http::Version::HTTP_2 {
        if load.opts.tls.is_some() && !c.is_connected() {
            0
        } else {
            load.streams
        }
    } else if load.opts.tls.is_some() && !c.is_connected() {
        0
    } else if load.upgrade && !answered {
        1
    } else {
        load.pipeline
    }
}

/// Writes requests until the connection's depth is in flight; when batched, flushes them in
/// one write.
fn refill(load: &mut Load, s: &mut Slot) {
    let Some(c) = s.conn.as_mut() else { return };
    let depth = depth(load, c, s.answered);
    let mut wrote = false;
    while s.inflight.len() < depth {
        // Refused when the connection takes no more requests (closing): it is reopened once
        // it has closed.
        let Ok(id) = c.new_stream() else { break };
        let mut stream = c.stream(id);
        let r = match &load.body {
            None => stream.write_headers(&load.req, true),
            Some(b) => stream
                .write_headers(&load.req, false)
                .and_then(|()| stream.try_write_chunk(b, true)),
        };
        match r {
            Ok(()) => {
                s.inflight.push(InFlight { id, status: 0 });
                wrote = true;
            }
            Err(e) => {
                count_error(load, &e);
                // A half-written request cannot be taken back: HTTP/1 gives up the connection,
                // HTTP/2 the stream.
                let _ = stream.reset();
                break;
            }
        }
    }
    s.sent |= wrote;
    if wrote && batched(load) {
        // A failed write closes the connection; the next step reports it.
        let _ = c.try_flush();
    }
}

/// Whether a stream failed because the server closed the connection before it read the
/// request: the library says so, and that the request is safe to retry.
fn unprocessed(e: &pollhttp::Error) -> bool {
    e.is_retryable()
}

fn count_error(load: &mut Load, e: &pollhttp::Error) {
    load.errors += 1;
    if load.errors <= SHOWN_ERRORS {
        eprintln!("load: error: {e}");
        if load.errors == SHOWN_ERRORS {
            eprintln!("load: (further errors are only counted)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls_with_and_without_tls() {
        let u = parse_url("http://127.0.0.1:8080/x?y").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path.as_str(),
                u.tls
            ),
            ("127.0.0.1", 8080, "127.0.0.1:8080", "/x?y", false)
        );
        let u = parse_url("HTTPS://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("::1", 443, true));
        let u = parse_url("https://localhost:8443").unwrap();
        assert_eq!((u.port, u.path.as_str(), u.tls), (8443, "/", true));
        let u = parse_url("example.com").unwrap();
        assert_eq!((u.port, u.tls), (80, false));
        assert!(parse_url("ftp://x/").unwrap_err().contains("unsupported"));
        assert!(parse_url("http://h:0/").is_err());
    }
}
