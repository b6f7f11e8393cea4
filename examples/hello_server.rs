//! A small JSON API on a pollable `Server` in a mio loop: `GET /hello` answers JSON, `POST
//! /echo` answers with the body it got, anything else is 404. HTTP/1.x and cleartext HTTP/2
//! (prior knowledge or `Upgrade: h2c`) on one port; with a certificate and its key, https
//! (ALPN `h2` and `http/1.1`) and plaintext on that port.
//!
//! ```text
//! cargo run --example hello_server -- [ADDR [CERT.pem KEY.pem]]   (default 127.0.0.1:8080)
//! curl http://127.0.0.1:8080/hello?name=you
//! curl --http2-prior-knowledge -d 'some text' http://127.0.0.1:8080/echo
//! ```

use pollhttp::mio::{Events, Interest, Poll, Token};
use pollhttp::{Listener, Method, Server, ServerOptions, StatusCode, TlsServerConfig};
use std::path::Path;
use std::time::Instant;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .map_or("127.0.0.1:8080", |a| a.as_str())
        .parse()?;
    let mut server = Server::new(ServerOptions::default())?;
    let mut listener = Listener::bind(addr, server.config().clone())?;
    if let [_, cert, key] = &args[..] {
        let tls = TlsServerConfig::from_pem_files(Path::new(cert), Path::new(key))?;
        listener = listener.with_tls(tls.allow_plaintext(true));
    }
    println!(
        "hello_server listening on {}",
        server.add_listener(listener)?
    );
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)?;
    let mut events = Events::with_capacity(8);
    loop {
        let wait = server
            .timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, wait)?;
        server.step()?;
        while let Some(mut req) = server.next_request() {
            match (req.method(), req.path()) {
                (Method::GET | Method::HEAD, "/hello") => {
                    let name = req
                        .query()
                        .and_then(|q| q.strip_prefix("name="))
                        .unwrap_or("world");
                    let name: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
                    let body = format!("{{\"hello\":\"{name}\"}}\n");
                    req.respond(StatusCode::OK, JSON, body.as_bytes())?;
                }
                (Method::POST, "/echo") => match req.try_body(1 << 20) {
                    Ok(Some(body)) => req.respond(StatusCode::OK, &[], &body)?,
                    Err(e) if e.is_would_block() => {} // handed out again as the body comes
                    Err(e) => req.respond_error(&e)?,
                    Ok(None) => {}
                },
                _ => req.respond(StatusCode::NOT_FOUND, JSON, b"{\"error\":\"not found\"}\n")?,
            }
        }
    }
}
