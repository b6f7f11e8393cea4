//! pollhttp's client against nginx (HTTP/1.x): bodies with a length, chunked and delimited by
//! close, keep-alive and pipelining on one connection, POST bodies with a length and chunked,
//! and HEAD.

mod common;

use common::*;
use pollhttp::{ClientOptions, Connection, Headers, SockName, StatusCode, StreamId, Target};
use std::time::Duration;

/// The bound of every blocking call of our client.
const T: Option<Duration> = Some(Duration::from_secs(10));
/// What nginx answers at `/` (and any path it has no location for).
const BODY: &str = "hello from nginx\n";

fn open(port: u16) -> Connection {
    Connection::open(Target::Addr(localhost(port)), ClientOptions::default(), T)
        .unwrap_or_else(|e| panic!("connect to nginx on port {port}: {e}"))
}

fn request(method: &str, path: &str) -> Headers {
    Headers::request(method.parse().expect("a method"), path, Some("127.0.0.1"))
}

/// Writes a bodiless request on a new stream.
fn send(conn: &mut Connection, method: &str, path: &str) -> StreamId {
    drive::send(conn, method, path, "127.0.0.1")
}

/// Reads stream `id`'s response: (head, body).
fn receive(conn: &mut Connection, id: StreamId) -> (Headers, Vec<u8>) {
    drive::response(conn, id, T)
}

fn get(conn: &mut Connection, path: &str) -> (Headers, Vec<u8>) {
    drive::get(conn, path, "127.0.0.1", T)
}

fn local_port(conn: &Connection) -> u16 {
    match conn.localname().unwrap() {
        SockName::Inet(a) => a.port(),
        other => panic!("not a TCP connection: {other:?}"),
    }
}

#[test]
fn get_root() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let (head, body) = get(&mut conn, "/");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(head.get_str("content-type"), Some("text/plain"));
    assert_eq!(
        head.get_str("content-length"),
        Some(BODY.len().to_string().as_str())
    );
    assert!(head
        .get_str("server")
        .is_some_and(|s| s.starts_with("nginx")));
    assert_eq!(body, BODY.as_bytes());
    assert!(!conn.is_closed(), "nginx keeps HTTP/1.1 connections open");
}

#[test]
fn keep_alive_sequential_requests_share_one_connection() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let first_port = local_port(&conn);
    for (i, path) in ["/", "/a", "/big.bin", "/b", "/chunked", "/c"]
        .iter()
        .enumerate()
    {
        let (head, body) = get(&mut conn, path);
        assert_eq!(head.status(), Some(StatusCode::OK), "request {i} ({path})");
        let expected = if path.ends_with(".bin") || *path == "/chunked" {
            big_bin()
        } else {
            BODY.as_bytes().to_vec()
        };
        assert!(body == expected, "request {i} ({path}): body differs");
        assert!(
            conn.is_idle(),
            "request {i} ({path}) left the connection busy"
        );
        assert_eq!(
            local_port(&conn),
            first_port,
            "request {i} used a new connection"
        );
    }
    assert_eq!(conn.peername().unwrap(), SockName::Inet(localhost(port)));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    // All three heads go out in one write.
    conn.set_auto_flush(false);
    let paths = ["/one", "/big.bin", "/three"];
    let ids: Vec<StreamId> = paths.iter().map(|p| send(&mut conn, "GET", p)).collect();
    assert!(conn.buffered_output() > 0);
    conn.flush(T).unwrap();
    assert_eq!(conn.streams_in_flight(), 3);
    for (id, path) in ids.iter().zip(paths) {
        let (head, body) = receive(&mut conn, *id);
        assert_eq!(head.status(), Some(StatusCode::OK), "{path}");
        let expected = if path == "/big.bin" {
            big_bin()
        } else {
            BODY.as_bytes().to_vec()
        };
        assert!(body == expected, "{path}: body differs");
    }
    assert!(conn.is_idle());
    // The connection is still good for more.
    assert_eq!(get(&mut conn, "/four").1, BODY.as_bytes());
}

#[test]
fn pipelined_responses_can_be_read_out_of_order() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let a = send(&mut conn, "GET", "/big.bin");
    let b = send(&mut conn, "GET", "/chunked");
    let c = send(&mut conn, "GET", "/last");
    // The last answer first: the ones before it are buffered meanwhile.
    let (head, body) = receive(&mut conn, c);
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(body, BODY.as_bytes());
    assert!(receive(&mut conn, b).1 == big_bin(), "/chunked differs");
    assert!(receive(&mut conn, a).1 == big_bin(), "/big.bin differs");
}

#[test]
fn chunked_response() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let (head, body) = get(&mut conn, "/chunked");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(head.get_str("transfer-encoding"), Some("chunked"));
    assert!(!head.has("content-length"));
    assert_eq!(body.len(), BIG_BIN_LEN);
    assert!(body == big_bin(), "chunked body differs");
}

#[test]
fn chunked_response_read_piece_by_piece() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let id = send(&mut conn, "GET", "/chunked");
    let mut stream = conn.stream(id);
    let head = stream.get_headers(T).unwrap().unwrap();
    assert_eq!(head.get_str("transfer-encoding"), Some("chunked"));
    let mut body = Vec::new();
    for _ in 0..100_000 {
        match stream.get_next_chunk(T) {
            Ok(Some(piece)) => body.extend_from_slice(&piece),
            Ok(None) => break,
            Err(e) => panic!("after {} bytes: {e}", body.len()),
        }
    }
    assert!(
        body == big_bin(),
        "chunked body differs ({} bytes)",
        body.len()
    );
}

#[test]
fn big_file_with_content_length() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let (head, body) = get(&mut conn, "/big.bin");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(
        head.get_str("content-length"),
        Some(BIG_BIN_LEN.to_string().as_str())
    );
    assert!(body == big_bin(), "big.bin differs");
    // The same through save_body_to.
    let id = send(&mut conn, "GET", "/big.bin");
    let mut stream = conn.stream(id);
    stream.get_headers(T).unwrap().unwrap();
    let mut saved = Vec::new();
    assert_eq!(
        stream.save_body_to(&mut saved, T).unwrap(),
        BIG_BIN_LEN as u64
    );
    assert!(saved == big_bin());
}

#[test]
fn http_1_0_chunked_location_is_close_delimited() {
    let (_nginx, port) = nginx_server(BODY);
    let opts = ClientOptions {
        version: http::Version::HTTP_10,
        ..Default::default()
    };
    let mut conn = Connection::open(Target::Addr(localhost(port)), opts, T).unwrap();
    let id = send(&mut conn, "GET", "/chunked");
    let mut stream = conn.stream(id);
    let head = stream.get_headers(T).unwrap().unwrap();
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert!(!head.has("transfer-encoding"), "chunked sent to HTTP/1.0");
    let body = stream.get_body_as_bytes(T).unwrap();
    assert!(stream.body_close_delimited());
    assert!(body == big_bin(), "body differs ({} bytes)", body.len());
}

#[test]
fn post_with_content_length_is_echoed() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let id = conn.new_stream().unwrap();
    let mut stream = conn.stream(id);
    let mut h = request("POST", "/echo");
    h.append("content-type", "application/octet-stream");
    h.append("content-length", data.len().to_string());
    stream.write_headers(&h, false).unwrap();
    stream.write_body_from_bytes(&data, T).unwrap();
    let (head, body) = receive(&mut conn, id);
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert!(body == data, "echo differs ({} bytes)", body.len());
    // Keep-alive after a POST.
    assert_eq!(get(&mut conn, "/").1, BODY.as_bytes());
}

#[test]
fn post_with_a_chunked_body_is_echoed() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    let id = conn.new_stream().unwrap();
    let mut stream = conn.stream(id);
    stream
        .write_headers(&request("POST", "/echo"), false)
        .unwrap();
    let pieces: [&[u8]; 4] = [
        b"first piece, ",
        b"second, ",
        &[b'x'; 3000],
        b" and the end",
    ];
    for p in pieces {
        stream.write_chunk(p, false, T).unwrap();
    }
    stream.write_chunk(&[], true, T).unwrap();
    let (head, body) = receive(&mut conn, id);
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(body, pieces.concat());
    assert_eq!(get(&mut conn, "/").1, BODY.as_bytes());
}

#[test]
fn head_request_has_no_body() {
    let (_nginx, port) = nginx_server(BODY);
    let mut conn = open(port);
    for path in ["/big.bin", "/"] {
        let id = send(&mut conn, "HEAD", path);
        let (head, body) = receive(&mut conn, id);
        assert_eq!(head.status(), Some(StatusCode::OK));
        assert!(head.has("content-length"), "{path}: {head:?}");
        assert!(body.is_empty(), "{path}: HEAD answer with a body");
    }
    // The connection was not confused by the lengths without bodies.
    assert!(get(&mut conn, "/big.bin").1 == big_bin());
}
