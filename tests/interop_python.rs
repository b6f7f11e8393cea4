//! Python peers: httpx and h11 as clients of a pollhttp server, and pollhttp's client against
//! `python3 -m http.server` (HTTP/1.0, one answer per connection) and against a small HTTP/1.0
//! server whose bodies are delimited by the connection closing.

mod common;
#[path = "peers/pollhttp_server.rs"]
mod server;

use common::*;
use pollhttp::{ClientOptions, Connection, ErrorKind, Headers, Method, StatusCode, Target};
use server::{default_handler, serve_in_thread};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The bound of every blocking call of our client.
const T: Option<Duration> = Some(Duration::from_secs(10));

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One GET with a fresh connection of our client: (response head, body, close-delimited).
fn fetch(port: u16, opts: ClientOptions, path: &str) -> (Headers, Vec<u8>, bool) {
    let mut conn = Connection::open(Target::Addr(localhost(port)), opts, T)
        .unwrap_or_else(|e| panic!("connect to port {port}: {e}"));
    let id = drive::send_get(&mut conn, path, "127.0.0.1");
    let (head, body) = drive::response(&mut conn, id, T);
    let close_delimited = conn.stream(id).body_close_delimited();
    (head, body, close_delimited)
}

// ---- httpx and h11 against our server --------------------------------------------------------

#[test]
fn httpx_get() {
    let server = serve_in_thread(default_handler);
    let out = httpx_client(&server.url("/"), &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "200\nhello\n");
    assert!(text(&out.stderr).contains("HTTP/1.1"), "{out:?}");
    assert_eq!(server.errors(), Vec::<String>::new());
}

#[test]
fn httpx_post_is_echoed() {
    let server = serve_in_thread(default_handler);
    let out = httpx_client(
        &server.url("/post"),
        &[
            "--data",
            "via httpx",
            "--header",
            "Content-Type: text/x-httpx",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "200\nvia httpx");
    let out = httpx_client(&server.url("/status/404"), &["--method", "DELETE"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "404\nstatus 404\n");
}

#[test]
fn httpx_reads_trailers_and_a_streamed_body() {
    let server = serve_in_thread(default_handler);
    let out = httpx_client(&server.url("/trailers"), &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "200\nhello trailers\n");
    let out = httpx_client(&server.url("/slow-stream"), &[]);
    assert!(out.status.success(), "{out:?}");
    let expected = format!("200\n{}", text(&server::slow_pieces().concat()));
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn h11_two_keep_alive_requests_on_one_connection() {
    let server = serve_in_thread(default_handler);
    let out = h11_client("127.0.0.1", server.port(), "/");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "200 6\nhello\n\n200 6\nhello\n\n");
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.served(), 2);

    // A chunked answer with trailers keeps the connection too.
    let out = h11_client("127.0.0.1", server.port(), "/trailers");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        "200 15\nhello trailers\n\n200 15\nhello trailers\n\n"
    );
    assert_eq!(server.accepted(), 2);
    assert_eq!(server.errors(), Vec::<String>::new());
}

// ---- our client against python's http.server -------------------------------------------------

#[test]
fn client_gets_a_file_from_python_http_server() {
    let (_python, port, _dir) = python_http_server();
    let (head, body, close_delimited) = fetch(port, ClientOptions::default(), "/hello.txt");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(head.get_str("content-length"), Some("18"));
    assert_eq!(body, b"hello from python\n");
    assert!(!close_delimited, "the body had a Content-Length");
}

#[test]
fn client_gets_a_404_with_a_body_from_python_http_server() {
    let (_python, port, _dir) = python_http_server();
    let (head, body, _) = fetch(port, ClientOptions::default(), "/no/such/file");
    assert_eq!(head.status(), Some(StatusCode::NOT_FOUND));
    assert!(!body.is_empty(), "404 without a body");
    let len: usize = head
        .get_str("content-length")
        .expect("a content-length")
        .parse()
        .unwrap();
    assert_eq!(body.len(), len);
    assert!(text(&body).contains("404"), "{}", text(&body));
}

#[test]
fn client_speaks_http_1_0_to_python_http_server() {
    let (_python, port, dir) = python_http_server();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let opts = ClientOptions {
        version: http::Version::HTTP_10,
        ..Default::default()
    };
    let (head, body, _) = fetch(port, opts, "/data.bin");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert!(body == data, "300 kB file differs ({} bytes)", body.len());
}

#[test]
fn client_sees_python_close_the_connection_after_its_answer() {
    let (_python, port, _dir) = python_http_server();
    // By name: "localhost" may resolve to ::1 first, where python does not listen; the client
    // must go on to the next address.
    let mut conn = Connection::open(
        Target::Host("localhost".into(), port),
        ClientOptions::default(),
        T,
    )
    .unwrap_or_else(|e| panic!("connect to localhost:{port}: {e}"));
    let id = conn.new_stream().unwrap();
    let mut stream = conn.stream(id);
    stream
        .write_headers(
            &Headers::request(Method::GET, "/hello.txt", Some("localhost")),
            true,
        )
        .unwrap();
    let head = stream.get_headers(T).unwrap().unwrap();
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert_eq!(stream.get_body_as_bytes(T).unwrap(), b"hello from python\n");
    // HTTP/1.0 without keep-alive: no second request on this connection.
    let err = conn
        .new_stream()
        .expect_err("a second stream on a closing connection");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
}

// ---- our client against an HTTP/1.0 server whose bodies end at close -----------------------

/// Starts tests/peers/http10_close_server.py on a free port.
fn close_delimited_server() -> (Child, u16) {
    let python = require_tool("python3");
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.arg(peer_script("http10_close_server.py"))
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let child = spawn(&mut cmd);
    wait_for_port(localhost(port), PEER_START_LIMIT);
    (child, port)
}

#[test]
fn client_reads_a_close_delimited_http_1_0_body() {
    let (_peer, port) = close_delimited_server();
    let (head, body, close_delimited) = fetch(port, ClientOptions::default(), "/");
    assert_eq!(head.status(), Some(StatusCode::OK));
    assert!(!head.has("content-length"));
    assert_eq!(body, b"close-delimited body from python\n");
    assert!(close_delimited, "the body was delimited by the close");

    let (_, body, close_delimited) = fetch(port, ClientOptions::default(), "/big");
    assert_eq!(body, big_bin());
    assert!(close_delimited);
}

#[test]
fn client_reports_a_truncated_body_as_an_error() {
    let (_peer, port) = close_delimited_server();
    let mut conn =
        Connection::open(Target::Addr(localhost(port)), ClientOptions::default(), T).unwrap();
    let id = conn.new_stream().unwrap();
    let mut stream = conn.stream(id);
    stream
        .write_headers(
            &Headers::request(Method::GET, "/truncated", Some("x")),
            true,
        )
        .unwrap();
    let head = stream.get_headers(T).unwrap().unwrap();
    assert_eq!(head.get_str("content-length"), Some("100"));
    let err = stream
        .get_body_as_bytes(T)
        .expect_err("10 bytes of 100 must not be a success");
    assert_eq!(err.kind(), ErrorKind::Truncated, "{err}");
}

// ---- reduced cases -------------------------------------------------------------------------
//
// The close-delimited test above fails when the client reads the body bytes before the FIN
// arrives. These reproduce that deterministically with a std socket as the server: the end of
// the body arrives only after the application has read every byte before it.

/// A one-connection server on a std socket: reads the request head, writes `first`, waits
/// until the test says so, writes `rest`, then closes. Returns the port, the "go on" sender
/// and the thread.
fn two_part_server(
    first: &'static [u8],
    rest: &'static [u8],
) -> (
    u16,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind(localhost(0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(T).unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "client closed before its request head");
            req.extend_from_slice(&buf[..n]);
        }
        s.write_all(first).unwrap();
        let _ = wait.recv_timeout(Duration::from_secs(10));
        s.write_all(rest).unwrap();
        // Dropping `s` closes the connection.
    });
    (port, go, thread)
}

/// Connects to a [`two_part_server`], sends `GET /` and reads the response head.
fn get_head_from(port: u16) -> (Connection, pollhttp::StreamId) {
    let mut conn =
        Connection::open(Target::Addr(localhost(port)), ClientOptions::default(), T).unwrap();
    let id = conn.new_stream().unwrap();
    let mut stream = conn.stream(id);
    stream
        .write_headers(&Headers::request(Method::GET, "/", Some("x")), true)
        .unwrap();
    assert_eq!(
        stream.get_headers(T).unwrap().unwrap().status(),
        Some(StatusCode::OK)
    );
    (conn, id)
}

/// GETs `/` from a [`two_part_server`]: reads the head and the first piece of the body, lets
/// the server send the rest, and returns the outcome of reading on to the end.
fn read_body_in_two_parts(
    first: &'static [u8],
    rest: &'static [u8],
) -> (Vec<u8>, pollhttp::Result<Vec<u8>>) {
    let (port, go, thread) = two_part_server(first, rest);
    let (mut conn, id) = get_head_from(port);
    let mut stream = conn.stream(id);
    let piece = stream
        .get_next_chunk(T)
        .unwrap()
        .expect("a first piece of the body");
    go.send(()).unwrap();
    let rest = stream.get_body_as_bytes(T);
    thread.join().unwrap();
    (piece, rest)
}

#[test]
fn reduced_close_delimited_end_after_the_body_was_read() {
    // The body is "hello"; the FIN comes after the client took those 5 bytes.
    let (piece, rest) = read_body_in_two_parts(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello",
        b"",
    );
    assert_eq!(piece, b"hello");
    // Expected: the body is over, nothing more (Ok(empty)). Observed: Err("stream is closed
    // or unknown"): the end of the body reaped the stream before the application saw the end.
    assert_eq!(rest.map_err(|e| e.to_string()), Ok(Vec::new()));
}

#[test]
fn reduced_chunked_last_chunk_after_the_body_was_read() {
    let (piece, rest) = read_body_in_two_parts(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"0\r\n\r\n",
    );
    assert_eq!(piece, b"hello");
    assert_eq!(rest.map_err(|e| e.to_string()), Ok(Vec::new()));
}

#[test]
fn reduced_length_body_rest_after_the_first_part_was_read() {
    // The control case: with a Content-Length the end arrives with the last bytes.
    let (piece, rest) = read_body_in_two_parts(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        b"world",
    );
    assert_eq!(piece, b"hello");
    assert_eq!(rest.map_err(|e| e.to_string()), Ok(b"world".to_vec()));
}

#[test]
fn reduced_next_chunk_reports_the_end_after_the_last_piece() {
    // The whole response in one write; the connection stays open.
    let (port, go, thread) =
        two_part_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"");
    let (mut conn, id) = get_head_from(port);
    let mut stream = conn.stream(id);
    assert_eq!(stream.get_next_chunk(T).unwrap(), Some(b"hello".to_vec()));
    // Expected: Ok(None), the end of the body. Observed: Err("stream is closed or unknown"):
    // taking the last bytes reaped the stream, so a get_next_chunk loop (and save_body_to)
    // never sees the end.
    let end = stream.get_next_chunk(T).map_err(|e| e.to_string());
    go.send(()).unwrap();
    thread.join().unwrap();
    assert_eq!(end, Ok(None));
}

#[test]
fn reduced_trailers_after_the_body() {
    let (port, go, thread) = two_part_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n",
        b"",
    );
    let (mut conn, id) = get_head_from(port);
    let mut stream = conn.stream(id);
    assert_eq!(stream.get_body_as_bytes(T).unwrap(), b"hello");
    // Expected: the trailer section. Observed: Err("stream is closed or unknown").
    let trailers = stream
        .try_get_trailers()
        .map(|t| t.and_then(|t| t.get_str("x-checksum").map(str::to_string)))
        .map_err(|e| e.to_string());
    go.send(()).unwrap();
    thread.join().unwrap();
    assert_eq!(trailers, Ok(Some("abc".to_string())));
}

#[test]
fn reduced_close_delimited_flag_after_the_body() {
    let (port, go, thread) = two_part_server(b"HTTP/1.0 200 OK\r\n\r\nhello", b"");
    go.send(()).unwrap();
    let (mut conn, id) = get_head_from(port);
    let mut stream = conn.stream(id);
    let body = stream.get_body_as_bytes(T).map_err(|e| e.to_string());
    // Expected: true. Observed: false, because the stream is gone once the body is read.
    let flag = stream.body_close_delimited();
    thread.join().unwrap();
    assert_eq!(body, Ok(b"hello".to_vec()));
    assert!(
        flag,
        "body_close_delimited() is false after a close-delimited body"
    );
}
