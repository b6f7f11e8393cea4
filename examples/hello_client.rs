//! A short client in a mio loop: GET a URL and print the status and the body. HTTP/2 where
//! the server agrees (ALPN over https, `Upgrade: h2c` over plaintext), HTTP/1.1 otherwise.
//!
//! ```text
//! cargo run --example hello_client -- [URL [CA.pem]]   (default http://127.0.0.1:8080/hello)
//! ```

use pollhttp::http::{Uri, Version};
use pollhttp::mio::{Events, Interest, Poll, Token};
use pollhttp::{ClientOptions, Connection, Headers, Method, Target, TlsClientConfig};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let uri: Uri = args
        .first()
        .map_or("http://127.0.0.1:8080/hello", |a| a.as_str())
        .parse()?;
    let https = uri.scheme_str() == Some("https");
    let host = uri.host().ok_or("the URL needs a host")?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tls = match args.get(1) {
        Some(ca) => TlsClientConfig::with_ca_file(ca)?,
        None => TlsClientConfig::webpki_roots(),
    };
    let opts = ClientOptions {
        version: Version::HTTP_2,
        tls: https.then_some(tls),
        ..Default::default()
    };
    let mut conn = Connection::client(Target::Host(host, port), opts)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut id = None;

    let (mut poll, mut events) = (Poll::new()?, Events::with_capacity(4));
    let both = Interest::READABLE | Interest::WRITABLE;
    poll.registry().register(&mut conn, Token(0), both)?;
    let mut fd = conn.pollfd();
    let (mut status, mut body) = (None, Vec::new());
    while !conn.is_closed() {
        let wait = conn
            .timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, wait)?;
        conn.step()?;
        if conn.pollfd() != fd {
            // While connecting the fd changes (each address tried): register the new one.
            poll.registry().reregister(&mut conn, Token(0), both)?;
            fd = conn.pollfd();
        }
        if id.is_none() && conn.is_connected() {
            // Once connected the version is known (TLS chose it by ALPN): the request goes.
            let s = conn.new_stream()?;
            conn.stream(s)
                .write_headers(&Headers::request(Method::GET, path, None), true)?;
            id = Some(s);
        }
        while let Some(ready) = conn.next_ready_stream() {
            let mut s = conn.stream(ready);
            if status.is_none() {
                match s.try_get_headers() {
                    Err(e) if e.is_would_block() => continue,
                    r => status = r?.and_then(|h| h.status()),
                }
            }
            loop {
                match s.try_get_next_chunk() {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => {
                        println!("{:?} {}", conn.version(), status.map_or(0, |s| s.as_u16()));
                        print!("{}", String::from_utf8_lossy(&body));
                        return Ok(());
                    }
                    Err(e) if e.is_would_block() => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(conn
        .error()
        .map_or("closed".to_string(), |e| e.to_string())
        .into())
}
