//! The loop of README.md ("A caller-driven loop") as a program: an echo server on mio. A
//! request with a body is answered with that body; one without, with `hello from PATH`.
//! HTTP/1.0, HTTP/1.1 (keep-alive, pipelining) and cleartext HTTP/2 on one port.
//!
//! ```text
//! cargo run --example readme_server -- 127.0.0.1:8080
//! ```
//!
//! Everything below this comment is the README's code block, character for character:
//! `tests/examples.rs` compares the two, and runs this program against curl.

use pollhttp::mio::{Events, Interest, Poll, Token};
use pollhttp::{Config, Connection, Headers, Listener, StatusCode, Stream, StreamId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

const LISTENER: Token = Token(0);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    let mut listener = Listener::bind(addr.parse()?, Arc::new(Config::default()))?;
    println!("listening on http://{addr}/");
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(256);
    // One token per connection; each connection with the requests it is reading or answering.
    let mut conns: HashMap<Token, (Connection, HashMap<StreamId, Request>)> = HashMap::new();
    let mut next_token = 1;
    loop {
        // Sleep until an event or the earliest deadline (a past one, when a step is due now).
        let deadline = conns.values().filter_map(|(conn, _)| conn.timeout()).min();
        let wait = deadline.map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, wait) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.into());
        }
        let mut woken = HashSet::new();
        for event in events.iter() {
            if event.token() != LISTENER {
                if let Some((conn, _)) = conns.get_mut(&event.token()) {
                    if event.is_read_closed() || event.is_error() {
                        conn.hint_read_closed(); // the next step reads to the end
                    }
                    woken.insert(event.token());
                }
                continue;
            }
            loop {
                // Edge-triggered: accept until none is waiting.
                let mut conn = match listener.try_accept() {
                    Ok(conn) => conn,
                    Err(e) if e.is_would_block() => break, // none waiting
                    Err(e) => {
                        eprintln!("accept: {e}"); // e.g. out of fds
                        break;
                    }
                };
                let token = Token(next_token);
                next_token += 1;
                // Once, for both directions, edge-triggered: a server's fd never changes.
                let both = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = poll.registry().register(&mut conn, token, both) {
                    eprintln!("register: {e}");
                    continue;
                }
                conns.insert(token, (conn, HashMap::new()));
                woken.insert(token);
            }
        }
        // Drive the connections woken by an event or whose deadline has come; drop the closed.
        let now = Instant::now();
        conns.retain(|token, (conn, requests)| {
            if woken.contains(token) || conn.timeout().is_some_and(|t| t <= now) {
                drive(conn, requests);
            }
            if conn.is_closed() {
                let _ = poll.registry().deregister(conn);
            }
            !conn.is_closed()
        });
    }
}

/// A request: its path once its head is read, its body so far, then the answer to write.
#[derive(Default)]
struct Request {
    path: Option<String>,
    body: Vec<u8>,
    answer: Option<Vec<u8>>,
}

/// Steps a connection and serves its streams until no step is due at once.
fn drive(conn: &mut Connection, requests: &mut HashMap<StreamId, Request>) {
    // At most 16 steps in a row: if one is still due, timeout() says now, and the loop returns.
    for _ in 0..16 {
        let _ = conn.step(); // reads, parses, writes, fires deadlines; a failure closes it
        while let Ok(Some(id)) = conn.try_next_incoming_stream() {
            requests.insert(id, Request::default());
        }
        while let Some(id) = conn.next_ready_stream() {
            let Some(request) = requests.get_mut(&id) else {
                continue;
            };
            match serve(&mut conn.stream(id), request) {
                Err(e) if e.is_would_block() => {} // not yet: named ready again later
                Err(_) => {
                    let _ = conn.stream(id).reset();
                    requests.remove(&id);
                }
                Ok(()) => {
                    requests.remove(&id);
                }
            }
        }
        if !conn.wants_step_now() {
            break;
        }
    }
}

/// Reads request `stream` as far as it has come; once it is whole, answers it with its body,
/// or with `hello from PATH` if it had none. `WouldBlock`: not yet.
fn serve(stream: &mut Stream<'_>, request: &mut Request) -> pollhttp::Result<()> {
    if request.answer.is_none() {
        if request.path.is_none() {
            let Some(head) = stream.try_get_headers()? else {
                return Ok(()); // ended without a head: nothing to answer
            };
            request.path = Some(head.path().unwrap_or("/").to_string());
        }
        while let Some(chunk) = stream.try_get_next_chunk()? {
            request.body.extend_from_slice(&chunk);
        }
        let mut answer = std::mem::take(&mut request.body);
        if answer.is_empty() {
            answer = format!("hello from {}\n", request.path.as_deref().unwrap_or("/")).into();
        }
        let mut head = Headers::response(StatusCode::OK);
        head.append("content-length", answer.len().to_string());
        stream.write_headers(&head, false)?;
        request.answer = Some(answer);
    }
    // Refused (WouldBlock) while the send buffer is full; tried again when the stream is ready.
    stream.try_write_chunk(request.answer.as_deref().unwrap_or_default(), true)
}
