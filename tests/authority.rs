//! A request head that names no authority (neither `:authority` nor `host`) carries the
//! target's: `Host` over HTTP/1.x (RFC 9112 §3.2: a client MUST send Host in every HTTP/1.1
//! request), `:authority` over HTTP/2 (RFC 9113 §8.3.1). One given by the application wins.

use pollhttp::{
    ClientOptions, Config, Connection, Headers, Listener, Method, SockName, StatusCode, Target,
};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const T: Option<Duration> = Some(Duration::from_secs(10));

/// Sends one GET with `head` over HTTP/1.x to a raw server; returns the `host` lines it got.
fn h1_hosts(version: http::Version, host_name: Option<&str>, head: Headers) -> Vec<String> {
    let raw = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (sock, _) = raw.accept().unwrap();
        let mut r = BufReader::new(sock.try_clone().unwrap());
        let mut hosts = Vec::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            if line.to_ascii_lowercase().starts_with("host:") {
                hosts.push(line.trim_end().to_string());
            }
        }
        (&sock)
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .unwrap();
        hosts
    });
    let target = match host_name {
        Some(h) => Target::Host(h.to_string(), port),
        None => Target::Addr(([127, 0, 0, 1], port).into()),
    };
    let opts = ClientOptions {
        version,
        ..ClientOptions::default()
    };
    let mut c = Connection::open(target, opts, T).expect("connect");
    let id = c.new_stream().unwrap();
    c.stream(id).write_headers(&head, true).unwrap();
    let answer = c.stream(id).get_headers(T).unwrap().unwrap();
    assert_eq!(answer.status(), Some(StatusCode::NO_CONTENT));
    server.join().unwrap()
}

#[test]
fn an_http11_request_without_host_gets_the_targets() {
    let got = h1_hosts(
        http::Version::HTTP_11,
        None,
        Headers::request(Method::GET, "/", None),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("host: 127.0.0.1:"), "{got:?}");
    let got = h1_hosts(
        http::Version::HTTP_11,
        Some("localhost"),
        Headers::request(Method::GET, "/", None),
    );
    assert!(
        got.len() == 1 && got[0].starts_with("host: localhost:"),
        "{got:?}"
    );
}

#[test]
fn an_http10_request_without_host_gets_the_targets_too() {
    let got = h1_hosts(
        http::Version::HTTP_10,
        None,
        Headers::request(Method::GET, "/", None),
    );
    assert!(
        got.len() == 1 && got[0].starts_with("host: 127.0.0.1:"),
        "{got:?}"
    );
}

#[test]
fn an_authority_or_host_given_by_the_application_is_kept() {
    let got = h1_hosts(
        http::Version::HTTP_11,
        None,
        Headers::request(Method::GET, "/", Some("example.test")),
    );
    assert_eq!(got, vec!["host: example.test".to_string()]);
    let mut head = Headers::request(Method::GET, "/", None);
    head.append("host", "other.test:8080");
    let got = h1_hosts(http::Version::HTTP_11, None, head);
    assert_eq!(got, vec!["host: other.test:8080".to_string()]);
}

#[test]
fn an_http2_request_without_authority_gets_the_targets() {
    let mut l =
        Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default())).unwrap();
    let SockName::Inet(addr) = l.localname().unwrap() else {
        panic!("listener name")
    };
    let server = thread::spawn(move || {
        let mut s = l.accept_timeout(T).unwrap();
        let id = s.get_next_incoming_stream(T).unwrap().unwrap();
        let head = s.stream(id).get_headers(T).unwrap().unwrap();
        s.stream(id)
            .write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
            .unwrap();
        s.flush(T).unwrap();
        head.get(":authority").map(|a| a.to_vec())
    });
    let opts = ClientOptions {
        version: http::Version::HTTP_2,
        http2_prior_knowledge: true,
        ..ClientOptions::default()
    };
    let mut c = Connection::open(Target::Addr(addr), opts, T).expect("connect");
    let id = c.new_stream().unwrap();
    c.stream(id)
        .write_headers(&Headers::request(Method::GET, "/", None), true)
        .unwrap();
    assert_eq!(
        c.stream(id).get_headers(T).unwrap().unwrap().status(),
        Some(StatusCode::NO_CONTENT)
    );
    let authority = server.join().unwrap();
    assert_eq!(authority, Some(addr.to_string().into_bytes()));
}
