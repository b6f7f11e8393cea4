//! The body calls a proxy needs (issue 15), over HTTP/1.1 and HTTP/2, with our client and our
//! server (and, for a proxy, two of each) driven in the test's own thread by one `poll(2)`
//! loop: `Stream::body_follows` after every kind of head, `try_read_body` into the caller's
//! buffer, `try_write` taking what fits, and `try_pass_body` / `try_pass_body_to` moving a
//! body within one connection and between two, the end and the trailers with it.

mod common;

use common::drive::{drive_until, incoming, Response};

use pollhttp::{
    ClientOptions, Config, Connection, ErrorKind, Headers, Listener, Method, SockName, StatusCode,
    StreamId, StreamState, Target,
};
use std::sync::Arc;
use std::time::Duration;

/// Bound on any wait.
const WAIT: Duration = Duration::from_secs(10);

const VERSIONS: [http::Version; 2] = [http::Version::HTTP_11, http::Version::HTTP_2];

fn listener(cfg: Config) -> (Listener, std::net::SocketAddr) {
    let l = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(cfg)).unwrap();
    let SockName::Inet(addr) = l.localname().unwrap() else {
        panic!("a TCP listener")
    };
    (l, addr)
}

/// Our client (speaking `version`; HTTP/2 by prior knowledge) connected to our server, both
/// with `cfg`: (client, server).
fn pair(version: http::Version, cfg: Config) -> (Connection, Connection) {
    let (mut l, addr) = listener(cfg.clone());
    let mut client = Connection::client(
        Target::Addr(addr),
        ClientOptions {
            version,
            http2_prior_knowledge: version == http::Version::HTTP_2,
            config: Arc::new(cfg),
            #[cfg(feature = "tls")]
            tls: None,
        },
    )
    .unwrap();
    let mut server = l.accept_timeout(Some(WAIT)).expect("a connection");
    drive_until(&mut [&mut client, &mut server], "connect", WAIT, |c| {
        c[0].is_connected()
    });
    (client, server)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Writes a request head on a new stream of `client`; `len`: a body of that length follows
/// (`Some(None)`: a body without a length: chunked over HTTP/1.1).
fn request(client: &mut Connection, method: Method, len: Option<Option<usize>>) -> StreamId {
    let id = client.new_stream().unwrap();
    let mut h = Headers::request(method, "/", Some("test"));
    if let Some(Some(n)) = len {
        h.append("content-length", n.to_string());
    }
    client.stream(id).write_headers(&h, len.is_none()).unwrap();
    id
}

/// Drives both until the server has a request and its head: (its id, the head).
fn take_request(client: &mut Connection, server: &mut Connection) -> (StreamId, Headers) {
    let mut got = None;
    let mut head = None;
    drive_until(&mut [client, server], "a request head", WAIT, |c| {
        if got.is_none() {
            got = incoming(c[1]);
        }
        if let Some(id) = got {
            match c[1].stream(id).try_get_headers() {
                Ok(Some(h)) => head = Some(h),
                Err(e) if e.is_would_block() => {}
                other => panic!("request head: {other:?}"),
            }
        }
        head.is_some()
    });
    (got.unwrap(), head.unwrap())
}

/// Drives both until the client's stream `id` has its final head.
fn take_response_head(client: &mut Connection, server: &mut Connection, id: StreamId) -> Headers {
    let mut head = None;
    drive_until(&mut [client, server], "a response head", WAIT, |c| {
        match c[0].stream(id).try_get_headers() {
            Ok(Some(h)) => head = Some(h),
            Err(e) if e.is_would_block() => {}
            other => panic!("response head: {other:?}"),
        }
        head.is_some()
    });
    head.unwrap()
}

/// Reads stream `id` of `conn` to its end with `try_read_body` and a buffer of `cap` bytes,
/// driving `conns` (where `conn` is number `which`) as needed.
fn read_body(conns: &mut [&mut Connection], which: usize, id: StreamId, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut buf = vec![0u8; cap];
    let mut done = false;
    drive_until(conns, "a body read", WAIT, |c| {
        while !done {
            match c[which].stream(id).try_read_body(&mut buf) {
                Ok(Some(n)) => {
                    assert!(n > 0 && n <= cap);
                    body.extend_from_slice(&buf[..n]);
                }
                Ok(None) => done = true,
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("body: {e}"),
            }
        }
        done
    });
    body
}

/// `body_follows` after each kind of head, and `try_read_body` to the end, on both sides:
/// none after a GET (END_STREAM / no framing), one after a POST with a length or (HTTP/1.1)
/// chunked, none for the response to HEAD or a 204, and none once a body was read.
#[test]
fn body_follows_says_whether_a_body_comes_after_each_head() {
    for version in VERSIONS {
        let (mut client, mut server) = pair(version, Config::default());
        // A GET: no body, and the peer's side is over.
        let id = request(&mut client, Method::GET, None);
        assert!(
            client.stream(id).body_follows(),
            "{version:?}: no answer yet"
        );
        let (sid, _) = take_request(&mut client, &mut server);
        assert!(!server.stream(sid).body_follows(), "{version:?}: GET");
        assert_eq!(server.stream(sid).state(), StreamState::HalfClosedRemote);
        let mut res = Headers::response(StatusCode::OK);
        res.append("content-length", "5");
        server.stream(sid).write_headers(&res, false).unwrap();
        server.stream(sid).try_write(b"hello", true).unwrap();
        take_response_head(&mut client, &mut server, id);
        assert!(client.stream(id).body_follows(), "{version:?}: 5 bytes");
        let got = read_body(&mut [&mut client, &mut server], 0, id, 2);
        assert_eq!(got, b"hello");
        assert!(!client.stream(id).body_follows(), "{version:?}: read");
        assert_eq!(
            client.stream(id).try_read_body(&mut [0; 4]).unwrap(),
            None,
            "the end is said again"
        );

        // POSTs with a length, and without one (chunked over HTTP/1.1).
        for len in [Some(11), None] {
            let id = request(&mut client, Method::POST, Some(len));
            let (sid, _) = take_request(&mut client, &mut server);
            assert!(
                server.stream(sid).body_follows(),
                "{version:?}: POST {len:?}"
            );
            assert_ne!(server.stream(sid).state(), StreamState::HalfClosedRemote);
            client.stream(id).try_write(b"hello world", true).unwrap();
            let got = read_body(&mut [&mut client, &mut server], 1, sid, 3);
            assert_eq!(got, b"hello world");
            assert!(!server.stream(sid).body_follows());
            assert!(matches!(
                server.stream(sid).state(),
                StreamState::HalfClosedRemote | StreamState::Closed
            ));
            server
                .stream(sid)
                .write_headers(&Headers::response(StatusCode::NO_CONTENT), true)
                .unwrap();
            take_response_head(&mut client, &mut server, id);
            assert!(!client.stream(id).body_follows(), "{version:?}: 204");
        }

        // HEAD: the answer's content-length announces a body that does not come.
        let id = request(&mut client, Method::HEAD, None);
        let (sid, _) = take_request(&mut client, &mut server);
        let mut res = Headers::response(StatusCode::OK);
        res.append("content-length", "1000");
        server.stream(sid).write_headers(&res, true).unwrap();
        take_response_head(&mut client, &mut server, id);
        assert!(!client.stream(id).body_follows(), "{version:?}: HEAD");
        // An empty buffer is refused; a stream that is gone has no body to come.
        let e = client.stream(id).try_read_body(&mut []).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(!client.stream(StreamId::new(999)).body_follows());
    }
}

/// `try_write` takes what fits in a small send buffer, says how much, says "not yet" only
/// when nothing fits, and the stream is named ready when there is room again; the client gets
/// the whole body.
#[test]
fn try_write_takes_what_fits_like_write_2() {
    const LEN: usize = 600_000;
    for version in VERSIONS {
        let mut cfg = Config::default();
        cfg.send_buffer = 16 * 1024;
        let (mut client, mut server) = pair(version, cfg);
        let id = request(&mut client, Method::GET, None);
        let (sid, _) = take_request(&mut client, &mut server);
        let body = pattern(LEN);
        let mut res = Headers::response(StatusCode::OK);
        res.append("content-length", LEN.to_string());
        server.stream(sid).write_headers(&res, false).unwrap();
        let first = server.stream(sid).try_write(&body, true).unwrap();
        assert!(
            first > 0 && first < LEN,
            "{version:?}: a part of it: {first}"
        );
        let mut sent = first;
        let mut refused = 0;
        let mut got = Response::default();
        drive_until(&mut [&mut client, &mut server], "the body", WAIT, |c| {
            while let Some(ready) = c[1].next_ready_stream() {
                while ready == sid && sent < LEN {
                    match c[1].stream(sid).try_write(&body[sent..], true) {
                        Ok(n) => {
                            assert!(n > 0, "Ok(0) for a non-empty write");
                            sent += n;
                        }
                        Err(e) if e.is_would_block() => {
                            refused += 1;
                            break;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            got.take(c[0], id)
        });
        assert!(got.body == body, "{version:?}: {} bytes", got.body.len());
        assert!(refused > 0, "{version:?}: the buffer filled up at times");
    }
}

/// The server echoes each request body with `Connection::try_pass_body` from the request to
/// its own response (one stream), over HTTP/1.1 (chunked answer) and HTTP/2, several
/// requests in a row; a small send buffer makes the pass stop for room.
#[test]
fn try_pass_body_echoes_a_request_body_within_a_connection() {
    for version in VERSIONS {
        let mut cfg = Config::default();
        cfg.send_buffer = 32 * 1024;
        let (mut client, mut server) = pair(version, cfg);
        for (n, len) in [0usize, 1, 70_000, 300_000].into_iter().enumerate() {
            let body = pattern(len + n);
            let id = request(&mut client, Method::POST, Some(Some(body.len())));
            let (sid, _) = take_request(&mut client, &mut server);
            server
                .stream(sid)
                .write_headers(&Headers::response(StatusCode::OK), false)
                .unwrap();
            let mut up = 0;
            let mut passed_end = false;
            let mut got = Response::default();
            drive_until(&mut [&mut client, &mut server], "an echo", WAIT, |c| {
                while up < body.len() {
                    match c[0].stream(id).try_write(&body[up..], true) {
                        Ok(k) => up += k,
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("upload: {e}"),
                    }
                }
                if up == body.len() && body.is_empty() {
                    let _ = c[0].stream(id).try_write(&[], true);
                }
                while !passed_end {
                    match c[1].try_pass_body(sid, sid, usize::MAX) {
                        Ok(Some(k)) => assert!(k > 0),
                        Ok(None) => passed_end = true,
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("pass: {e}"),
                    }
                }
                while c[1].next_ready_stream().is_some() {}
                got.take(c[0], id)
            });
            assert!(
                got.body == body,
                "{version:?}: {} of {} bytes",
                got.body.len(),
                body.len()
            );
            assert_eq!(
                server.try_pass_body(sid, sid, 10).unwrap(),
                None,
                "the end is said again"
            );
        }
        let e = server
            .try_pass_body(StreamId::new(1), StreamId::new(1), 0)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}

/// A proxy in one thread: client -> (front) proxy (back) -> origin. The request body goes
/// front to back and the response body back to front with `Stream::try_pass_body_to`; the
/// origin's trailers (HTTP/2 and chunked HTTP/1.1) are passed on with the end. Every mix of
/// versions in front and behind.
#[test]
fn try_pass_body_to_proxies_bodies_and_trailers_between_connections() {
    const UP: usize = 250_000;
    const DOWN: usize = 900_000;
    for front_v in VERSIONS {
        for back_v in VERSIONS {
            let what = format!("{front_v:?} in front, {back_v:?} behind");
            let mut cfg = Config::default();
            cfg.send_buffer = 64 * 1024;
            cfg.recv_buffer = 64 * 1024;
            let (mut client, mut front) = pair(front_v, cfg.clone());
            let (mut back, mut origin) = pair(back_v, cfg);
            let up = pattern(UP);
            let down: Vec<u8> = pattern(DOWN).into_iter().rev().collect();
            // The client's request, its head passed on by hand.
            let cid = request(&mut client, Method::POST, Some(None));
            let (fid, head) = take_request(&mut client, &mut front);
            assert!(front.stream(fid).body_follows());
            let bid = back.new_stream().unwrap();
            let mut fwd = Headers::request(Method::POST, head.path().unwrap(), Some("origin"));
            fwd.append("te", "trailers");
            back.stream(bid).write_headers(&fwd, false).unwrap();
            let mut conns = [&mut client, &mut front, &mut back, &mut origin];
            let (mut sent, mut up_end, mut oid, mut origin_got) = (0, false, None, Vec::new());
            let (mut origin_done, mut down_sent, mut answered) = (false, 0, false);
            let (mut down_end, mut res, mut front_head) = (false, Response::default(), false);
            drive_until(&mut conns, &what, WAIT, |c| {
                let [client, front, back, origin] = c else {
                    unreachable!()
                };
                while sent < UP {
                    match client.stream(cid).try_write(&up[sent..], true) {
                        Ok(k) => sent += k,
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("upload: {e}"),
                    }
                }
                // Up: front -> back.
                while !up_end {
                    match front
                        .stream(fid)
                        .try_pass_body_to(&mut back.stream(bid), 20_000)
                    {
                        Ok(Some(k)) => assert!(k > 0 && k <= 20_000),
                        Ok(None) => up_end = true,
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("{what}: pass up: {e}"),
                    }
                }
                // The origin reads the request, then answers with a body and trailers.
                if oid.is_none() {
                    if let Some(id) = incoming(origin) {
                        origin.stream(id).try_get_headers().unwrap().unwrap();
                        oid = Some(id);
                    }
                }
                if let (Some(id), false) = (oid, origin_done) {
                    let mut buf = [0u8; 4096];
                    loop {
                        match origin.stream(id).try_read_body(&mut buf) {
                            Ok(Some(k)) => origin_got.extend_from_slice(&buf[..k]),
                            Ok(None) => break origin_done = true,
                            Err(e) if e.is_would_block() => break,
                            Err(e) => panic!("origin: {e}"),
                        }
                    }
                }
                if let (Some(id), true) = (oid, origin_done) {
                    let mut s = origin.stream(id);
                    if !answered {
                        s.write_headers(&Headers::response(StatusCode::OK), false)
                            .unwrap();
                        answered = true;
                    }
                    while down_sent < DOWN {
                        match s.try_write(&down[down_sent..], false) {
                            Ok(k) => down_sent += k,
                            Err(e) if e.is_would_block() => break,
                            Err(e) => panic!("origin answer: {e}"),
                        }
                        if down_sent == DOWN {
                            let mut t = Headers::new();
                            t.append("x-checksum", "42");
                            s.write_headers(&t, true).unwrap();
                        }
                    }
                }
                // Down: the head by hand, then back -> front.
                if !front_head {
                    match back.stream(bid).try_get_headers() {
                        Ok(Some(h)) => {
                            assert_eq!(h.status(), Some(StatusCode::OK));
                            let end = !back.stream(bid).body_follows();
                            assert!(!end, "{what}: a body follows");
                            let res = Headers::response(StatusCode::OK);
                            front.stream(fid).write_headers(&res, end).unwrap();
                            front_head = true;
                        }
                        Err(e) if e.is_would_block() => {}
                        other => panic!("{what}: the origin's head: {other:?}"),
                    }
                }
                while !down_end && front_head {
                    match back
                        .stream(bid)
                        .try_pass_body_to(&mut front.stream(fid), usize::MAX)
                    {
                        Ok(Some(k)) => assert!(k > 0),
                        Ok(None) => down_end = true,
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("{what}: pass down: {e}"),
                    }
                }
                for conn in [&mut **front, &mut **back, &mut **origin] {
                    while conn.next_ready_stream().is_some() {}
                }
                res.take(client, cid)
            });
            assert!(origin_got == up, "{what}: up {} of {UP}", origin_got.len());
            assert!(
                res.body == down,
                "{what}: down {} of {DOWN}",
                res.body.len()
            );
            let trailers = client.stream(cid).try_get_trailers().unwrap();
            assert_eq!(
                trailers.as_ref().and_then(|t| t.get_str("x-checksum")),
                Some("42"),
                "{what}: the trailers came with the end"
            );
        }
    }
}
