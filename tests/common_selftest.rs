//! Tests of the test harness itself (`tests/common/`): every peer installs, starts, and
//! answers as the other tests expect, and child processes are bounded and cleaned up.
//! Only std sockets are used here, so a failure points at the harness or the peers, never at
//! pollhttp.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn nginx_answers_a_raw_get_with_its_body() {
    let body = "hello from nginx: \"quoted\", $dollar, back\\slash";
    let (_nginx, port) = nginx_server(body);
    let response = raw_exchange(
        localhost(port),
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        LIMIT,
    );
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(head_value(&head, "content-type"), Some("text/plain"));
    assert_eq!(got, body.as_bytes());
}

#[test]
fn nginx_serves_the_big_file_with_length_and_chunked() {
    let (_nginx, port) = nginx_server("hello");
    let response = raw_exchange(
        localhost(port),
        b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        LIMIT,
    );
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(
        head_value(&head, "content-length"),
        Some(BIG_BIN_LEN.to_string().as_str())
    );
    assert_eq!(got, big_bin());

    let response = raw_exchange(
        localhost(port),
        b"GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        LIMIT,
    );
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(head_value(&head, "transfer-encoding"), Some("chunked"));
    assert_eq!(decode_chunked(&got), big_bin());
}

#[test]
fn nginx_echoes_a_post_body() {
    let (_nginx, port) = nginx_server("hello");
    let response = raw_exchange(
        localhost(port),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\necho me pls",
        LIMIT,
    );
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(decode_chunked(&got), b"echo me pls");
}

#[test]
fn nginx_h2c_answers_the_lua_http_client_over_http2() {
    let (_nginx, port) = nginx_h2c_server("hello over h2");
    let res = lua_fetch(
        &format!("http://127.0.0.1:{port}/"),
        &["--http2", "--timeout", "10"],
        None,
    );
    assert_eq!((res.version.as_str(), res.status), ("2", 200));
    assert_eq!(res.body, b"hello over h2\n");
}

#[test]
fn python_http_server_answers_http_1_0() {
    let (_python, port, dir) = python_http_server();
    assert!(dir.join("hello.txt").is_file());
    let response = raw_exchange(localhost(port), b"GET /hello.txt HTTP/1.0\r\n\r\n", LIMIT);
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.0 200 "), "{head}");
    assert_eq!(got, b"hello from python\n");
}

#[test]
fn lua_echo_server_echoes_a_post_body_over_a_raw_socket() {
    let (_lua, port) = lua_echo_server();
    let response = raw_exchange(
        localhost(port),
        b"POST /anything HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
          Content-Length: 13\r\nConnection: close\r\n\r\nechoed by lua",
        LIMIT,
    );
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(head_value(&head, "x-echo-http-version"), Some("1.1"));
    assert_eq!(got, b"echoed by lua");

    let response = raw_exchange(localhost(port), b"GET / HTTP/1.0\r\n\r\n", LIMIT);
    let (head, got) = split_head(&response);
    assert!(head.starts_with("HTTP/1.0 200 "), "{head}");
    assert_eq!(got, b"hello");
}

#[test]
fn lua_client_talks_to_the_lua_echo_server_in_each_version() {
    let (_lua, port) = lua_echo_server();
    let url = format!("http://127.0.0.1:{port}/path");
    for (option, version) in [("--http1.0", "1.0"), ("--http1.1", "1.1"), ("--http2", "2")] {
        let res = lua_fetch(&url, &[option], Some("posted body"));
        assert_eq!(
            (res.version.as_str(), res.status),
            (version, 200),
            "{res:?}"
        );
        assert_eq!(res.header("x-echo-http-version"), Some(version));
        assert_eq!(res.body, b"posted body\n");
    }
    let res = lua_fetch(&url, &[], None);
    assert_eq!(res.body, b"hello\n");
}

#[test]
fn lua_client_reports_a_refused_connection_with_exit_status_1() {
    let out = lua_client(
        &format!("http://127.0.0.1:{}/", free_port()),
        &["--timeout", "5"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn python_clients_talk_to_the_peers() {
    let (_lua, port) = lua_echo_server();
    let url = format!("http://127.0.0.1:{port}/");
    let out = httpx_client(&url, &["--data", "via httpx", "--http2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"200\nvia httpx");
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP/2"));

    let (_nginx, port) = nginx_server("keep me alive");
    let out = h11_client("127.0.0.1", port, "/");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout,
        b"200 13\nkeep me alive\n200 13\nkeep me alive\n".to_vec()
    );

    // python's http.server closes after each response: h11_client must say so and fail.
    let (_python, port, _) = python_http_server();
    let out = h11_client("127.0.0.1", port, "/hello.txt");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn dropping_a_peer_kills_it_and_removes_its_files() {
    let (lua, port) = lua_echo_server();
    let dir = lua.dir().unwrap().to_path_buf();
    let pid = lua.id();
    drop(lua);
    // The pid is reaped; if it was reused already, it is no longer the lua server.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&cmdline).contains("lua_http_server"));
    assert!(std::net::TcpStream::connect(localhost(port)).is_err());
    assert!(!dir.exists());
}

#[test]
fn run_with_timeout_kills_a_child_at_the_limit() {
    let started = Instant::now();
    let panic = std::panic::catch_unwind(|| {
        run_with_timeout(
            Command::new(require_tool("sleep")).arg("30"),
            Duration::from_millis(300),
        )
    })
    .expect_err("sleep 30 finished within 300 ms");
    assert!(started.elapsed() < Duration::from_secs(10));
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(message.contains("timed out"), "{message}");
}

#[test]
fn run_with_timeout_captures_output_and_status() {
    let out = run_with_input(
        Command::new(require_tool("sh")).args(["-c", "cat; echo err >&2; exit 3"]),
        b"from stdin",
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"from stdin");
    assert_eq!(out.stderr, b"err\n");
}

#[test]
#[should_panic(expected = "scripts/install-peers.sh")]
fn a_missing_tool_is_a_failure_not_a_skip() {
    require_tool("pollhttp-no-such-program");
}

#[test]
#[should_panic(expected = "scripts/install-peers.sh")]
fn a_missing_python_module_is_a_failure_not_a_skip() {
    require_python_module("pollhttp_no_such_module");
}

#[test]
fn wait_for_port_and_temp_dirs() {
    let listener = std::net::TcpListener::bind(localhost(0)).unwrap();
    wait_for_port(listener.local_addr().unwrap(), LIMIT);
    let (a, b) = (temp_dir("same tag"), temp_dir("same tag"));
    assert_ne!(a, b);
    assert!(a.is_dir() && b.is_dir());
    std::fs::remove_dir_all(a).unwrap();
    std::fs::remove_dir_all(b).unwrap();
}

#[test]
#[should_panic(expected = "nothing listened")]
fn wait_for_port_gives_up_at_its_limit() {
    wait_for_port(localhost(free_port()), Duration::from_millis(300));
}

/// Peers' ports come from below the kernel's ephemeral range (no listener of ours bound to
/// port 0 can take them between the check and the peer's bind), one after the other, each
/// free when handed out.
#[test]
fn free_ports_are_below_the_ephemeral_range_and_differ() {
    let a = free_port();
    let b = free_port();
    assert_ne!(a, b);
    for p in [a, b] {
        assert!((20_000..32_000).contains(&p), "{p}");
        std::net::TcpListener::bind(("127.0.0.1", p)).expect("the port is free");
    }
}
