//! Harness shared by the integration tests (`mod common;` in each `tests/*.rs`): finding the
//! real peers, starting them on free loopback ports, bounding every child process in time, and
//! cleaning up after them.
//!
//! Peers are never optional. A missing program or Python module panics with a message that
//! says to run `scripts/install-peers.sh`; CI (`CI` or `POLLHTTP_REQUIRE_PEERS` set) and local
//! runs alike fail rather than skip, so a green run always means the peers were exercised.
//!
//! Only `std` is used here; [`certs`] (certificates made at run time for the TLS tests) uses the
//! `rcgen` dev-dependency.
//!
//! pollhttp-ffi's tests (its `tests/c_abi.rs`) include this module too, by path. There
//! `CARGO_MANIFEST_DIR` is pollhttp-ffi's directory, so [`peer_script`] and
//! [`example_binary`], which find files from it, serve pollhttp's own tests only.
#![allow(dead_code)]

pub mod certs;
pub mod drive;
pub mod uploads;

#[allow(unused_imports)]
pub use uploads::{assert_same_bytes, assert_uploads_are_echoed, noise, Scratch};

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a peer server may take to start listening.
pub const PEER_START_LIMIT: Duration = Duration::from_secs(20);
/// Upper bound for one run of a client peer (the lua-http client's own deadline is 10 s).
pub const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// Size of the static file nginx serves at `/big.bin` and, chunked, at `/chunked`.
pub const BIG_BIN_LEN: usize = 100 * 1024;

/// Where Debian's nginx-light keeps the echo module (package libnginx-mod-http-echo).
const NGINX_ECHO_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_echo_module.so";
/// Directories searched after PATH: nginx and nghttpd live in /usr/sbin, often not on PATH.
const EXTRA_BIN_DIRS: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

fn strict() -> bool {
    std::env::var_os("POLLHTTP_REQUIRE_PEERS").is_some() || std::env::var_os("CI").is_some()
}

fn missing_peer(what: &str, detail: &str) -> ! {
    let why = if strict() {
        "POLLHTTP_REQUIRE_PEERS/CI is set, so a missing peer fails the run"
    } else {
        "the tests never skip a peer silently"
    };
    panic!(
        "test peer missing: {what}\n{detail}\n({why}.) \
         Run `scripts/install-peers.sh` (as root, or with sudo) to install every peer."
    );
}

// ----------------------------------------------------------------------------------------------
// Finding peers
// ----------------------------------------------------------------------------------------------

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds program `name` on PATH (then in the sbin directories, where nginx lives) and returns
/// its full path. Panics when it is missing, saying to run `scripts/install-peers.sh`.
pub fn require_tool(name: &str) -> PathBuf {
    if name.contains('/') {
        let path = PathBuf::from(name);
        if is_executable(&path) {
            return path;
        }
        missing_peer(name, "no executable file at that path");
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path_var).chain(EXTRA_BIN_DIRS.iter().map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return candidate;
        }
    }
    missing_peer(
        &format!("program `{name}`"),
        &format!("not found on PATH ({path_var:?}) nor in {EXTRA_BIN_DIRS:?}"),
    );
}

/// Checks that the C header `header` (a development package's, e.g. `uv.h` of libuv1-dev) is
/// installed under /usr/include; panics otherwise, saying to run `scripts/install-peers.sh`.
pub fn require_c_header(header: &str, package: &str) {
    let path = Path::new("/usr/include").join(header);
    if !path.is_file() {
        missing_peer(
            &format!("C library {package}"),
            &format!("{} is missing", path.display()),
        );
    }
}

/// Checks that `python3 -c "import {module}"` succeeds; panics otherwise, saying to run
/// `scripts/install-peers.sh`.
pub fn require_python_module(module: &str) {
    let python = require_tool("python3");
    let code = format!("import {module}");
    let out = run_with_timeout(
        Command::new(&python).args(["-c", &code]),
        Duration::from_secs(30),
    );
    if !out.status.success() {
        missing_peer(
            &format!("Python module `{module}`"),
            &format!(
                "`{} -c \"{code}\"` failed ({}): {}",
                python.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
}

/// Full path of a peer script in the workspace's `tests/peers/` (the Python and lua-http
/// peers), found from the crate's own directory (pollhttp's, or pollhttp-ffi's beside it).
pub fn peer_script(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = if manifest.join("tests/peers").is_dir() {
        manifest
    } else {
        manifest.parent().unwrap_or(manifest)
    };
    let path = root.join("tests/peers").join(name);
    assert!(path.is_file(), "peer script {} is missing", path.display());
    path
}

// ----------------------------------------------------------------------------------------------
// Processes
// ----------------------------------------------------------------------------------------------

/// A child process that is killed (SIGKILL to exactly its PID) and reaped when dropped.
///
/// A peer started by this module also owns its temp directory (config, served files, log):
/// the directory is removed on drop, unless the test is panicking, in which case the log is
/// printed and the directory kept for inspection.
pub struct Child {
    name: String,
    process: std::process::Child,
    log: Option<PathBuf>,
    dir: Option<PathBuf>,
}

impl Child {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// A short name for messages (the program, or the peer's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wrapped process, e.g. to take its piped stdout.
    pub fn process(&mut self) -> &mut std::process::Child {
        &mut self.process
    }

    /// The temp directory this child owns, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// What the peer wrote to stdout and stderr so far (empty if not logged to a file).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(None))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // kill() is a no-op error if std already reaped it; the PID stays ours until wait().
        let _ = self.process.kill();
        let _ = self.process.wait();
        if thread::panicking() {
            if self.log.is_some() {
                eprintln!(
                    "--- log of peer {} (pid {}) ---\n{}--- end of log ---",
                    self.name,
                    self.id(),
                    tail(&self.log(), 8 * 1024)
                );
            }
            if let Some(dir) = &self.dir {
                eprintln!("peer {} files kept in {}", self.name, dir.display());
            }
        } else if let Some(dir) = &self.dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn program_name(cmd: &Command) -> String {
    Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(OsStr::new("?"))
        .to_string_lossy()
        .into_owned()
}

/// Spawns `cmd` (stdio as the caller configured it) and wraps it in a [`Child`] guard.
/// Panics if the program cannot be started.
pub fn spawn(cmd: &mut Command) -> Child {
    let process = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    Child {
        name: program_name(cmd),
        process,
        log: None,
        dir: None,
    }
}

/// Runs `cmd` to completion with stdin empty and stdout/stderr captured. If it has not exited
/// within `limit`, kills it and panics with what it printed.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    run_with_input(cmd, &[], limit)
}

/// curl with `args` (quiet, no proxy, at most 60 s), bounded; panics unless it succeeded.
pub fn curl_ok<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let out = run_with_timeout(
        Command::new(require_tool("curl"))
            .args(["-sS", "--noproxy", "*", "--max-time", "60"])
            .args(args),
        CLIENT_LIMIT,
    );
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(
        out.status.success(),
        "curl {shown:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// h2load `-n n` with `args` against `url`, bounded; panics unless all `n` requests
/// succeeded with a 2xx. Returns what it printed.
pub fn h2load<S: AsRef<OsStr>>(n: u32, args: &[S], url: &str) -> String {
    let out = run_with_timeout(
        Command::new(require_tool("h2load"))
            .args(["-n", &n.to_string()])
            .args(args)
            .arg(url),
        Duration::from_secs(120),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(out.status.success(), "h2load {shown:?}: {text}");
    assert!(
        text.contains(&format!("{n} succeeded, 0 failed, 0 errored"))
            && text.contains(&format!("status codes: {n} 2xx")),
        "h2load {shown:?}: {text}"
    );
    text
}

/// Like [`run_with_timeout`], with `input` written to the child's stdin (then closed).
pub fn run_with_input(cmd: &mut Command, input: &[u8], limit: Duration) -> Output {
    let (out, timed_out) = run_bounded(cmd, input, limit);
    if timed_out {
        panic!(
            "{cmd:?} timed out after {limit:?} and was killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Collects a pipe on a thread into a shared buffer, so that what was read is available even
/// if the pipe never reaches EOF (a grandchild may hold it open).
fn collect(mut pipe: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buf);
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
            }
        }
    });
    (buf, handle)
}

/// Waits up to `limit` for a collector thread to reach EOF; returns whatever it gathered.
fn drain(buf: Arc<Mutex<Vec<u8>>>, handle: thread::JoinHandle<()>, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let data = buf.lock().unwrap().clone();
    data
}

fn run_bounded(cmd: &mut Command, input: &[u8], limit: Duration) -> (Output, bool) {
    cmd.stdin(if input.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut guard = spawn(cmd);
    let child = guard.process();
    let (out_buf, out_thread) = collect(child.stdout.take().unwrap());
    let (err_buf, err_thread) = collect(child.stderr.take().unwrap());
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A child that never reads must not block us: write on a thread.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }

    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("try_wait on a child") {
            break (status, false);
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            break (child.wait().expect("wait on a killed child"), true);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let grace = Duration::from_secs(5);
    let stdout = drain(out_buf, out_thread, grace);
    let stderr = drain(err_buf, err_thread, grace);
    (
        Output {
            status,
            stdout,
            stderr,
        },
        timed_out,
    )
}

// ----------------------------------------------------------------------------------------------
// Ports and directories
// ----------------------------------------------------------------------------------------------

/// A TCP port on 127.0.0.1 that was free a moment ago, for a program we start to listen on
/// (the peers below retry on a clash).
///
/// It is taken below the kernel's ephemeral range (32768 and up on Linux), where no socket
/// bound to port 0 lands: a port the kernel handed out as ephemeral could be taken, between
/// our check and the peer's bind, by any of the tests' own listeners running at the same time
/// (and a peer that then fails to bind would leave our test talking to that listener). Each
/// call of a test binary moves on to the next port, from a start that differs between runs.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000; // 20000..32000
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let seed = (std::process::id().wrapping_mul(2_654_435_761)) % COUNT;
    let _ = NEXT.compare_exchange(u32::MAX, seed, Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..COUNT {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT) as u16;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 in {FIRST}..{}", FIRST + COUNT);
}

/// `127.0.0.1:port`.
pub fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Tries to connect once, for at most `limit`.
fn connects(addr: SocketAddr, limit: Duration) -> Result<(), std::io::Error> {
    TcpStream::connect_timeout(&addr, limit.max(Duration::from_millis(1))).map(drop)
}

/// Waits until something accepts TCP connections on `addr`, retrying with a small back-off;
/// panics if nothing does within `limit`.
pub fn wait_for_port(addr: SocketAddr, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(5);
    loop {
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        let err = match connects(addr, left.min(Duration::from_millis(250))) {
            Ok(()) => return,
            Err(e) => e,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            panic!("nothing listened on {addr} within {limit:?} (last error: {err})");
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty directory under the system temp dir, unique per call
/// (`pollhttp-{tag}-{pid}-{counter}`).
pub fn temp_dir(tag: &str) -> PathBuf {
    let tag: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pollhttp-{tag}-{}-{n}", std::process::id()));
    // Left over from an earlier run whose pid was the same.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

// ----------------------------------------------------------------------------------------------
// Peer servers
// ----------------------------------------------------------------------------------------------

/// Starts a server on a free port and waits until it accepts connections. `make` builds the
/// command for a port. Output goes to a log file in `dir`; the returned [`Child`] owns `dir`.
/// If the server exits before listening (a port clash, say), it is tried again on another port.
fn start_server(name: &str, dir: PathBuf, make: &dyn Fn(u16) -> Command) -> (Child, u16) {
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let port = free_port();
        let log_path = dir.join(format!("{name}-{attempt}.log"));
        let log = File::create(&log_path).expect("create peer log");
        let mut cmd = make(port);
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log fd"))
            .stderr(log);
        let mut child = spawn(&mut cmd);
        child.name = name.to_string();
        child.log = Some(log_path);
        let deadline = Instant::now() + PEER_START_LIMIT;
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(status) = child.process.try_wait().expect("try_wait on a peer") {
                let log = child.log();
                if attempt == ATTEMPTS {
                    child.dir = Some(dir);
                    panic!("peer {name} ({cmd:?}) exited with {status} before listening:\n{log}");
                }
                eprintln!("peer {name} exited early on port {port} ({status}); retrying:\n{log}");
                break;
            }
            if connects(localhost(port), Duration::from_millis(250)).is_ok() {
                child.dir = Some(dir);
                return (child, port);
            }
            if Instant::now() >= deadline {
                child.dir = Some(dir);
                panic!(
                    "peer {name} ({cmd:?}) did not listen on port {port} within {PEER_START_LIMIT:?}:\n{}",
                    child.log()
                );
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
    unreachable!()
}

/// The bytes nginx serves at `/big.bin` and `/chunked`: `BIG_BIN_LEN` bytes of `i % 251`.
pub fn big_bin() -> Vec<u8> {
    (0..BIG_BIN_LEN).map(|i| (i % 251) as u8).collect()
}

/// Quotes `text` as an nginx string: `$` cannot be escaped in nginx 1.22, so it goes through
/// the `$dollar` variable defined in the config.
fn nginx_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("${dollar}"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn nginx(body: &str, h2c: bool) -> (Child, u16) {
    if h2c {
        nginx_with(body, "nginx-h2c", " http2", "")
    } else {
        nginx_with(body, "nginx", "", "")
    }
}

/// nginx as [`nginx_server`] describes it; `listen_options` follow the address on the
/// `listen` line and `server_lines` go into the `server` block.
fn nginx_with(body: &str, tag: &str, listen_options: &str, server_lines: &str) -> (Child, u16) {
    let nginx = require_tool("nginx");
    if !Path::new(NGINX_ECHO_MODULE).is_file() {
        missing_peer(
            "nginx echo module",
            &format!("{NGINX_ECHO_MODULE} not found (Debian libnginx-mod-http-echo, pulled in by nginx-light)"),
        );
    }
    let dir = temp_dir(tag);
    let www = dir.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("big.bin"), big_bin()).unwrap();
    let body = nginx_quote(body);
    let d = dir.display();
    start_server("nginx", dir.clone(), &|port| {
        let listen = format!("127.0.0.1:{port}{listen_options}");
        let conf = format!(
            r#"load_module {NGINX_ECHO_MODULE};
worker_processes 1;
daemon off;
master_process off;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_max_body_size 16m;
  client_body_buffer_size 16m;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  geo $dollar {{ default "$"; }}
  server {{
    listen {listen};
    {server_lines}
    root {d}/www;
    location / {{ default_type text/plain; return 200 {body}; }}
    location = /big.bin {{ }}
    location = /chunked {{
      try_files /big.bin =500;
      sub_filter 'pollhttp-never-matches' '';
      sub_filter_once off;
      sub_filter_types *;
    }}
    location = /echo {{ echo_read_request_body; echo_request_body; }}
  }}
}}
"#
        );
        let conf_path = Path::new(&dir).join(format!("nginx-{port}.conf"));
        fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(&nginx);
        cmd.arg("-e")
            .arg(dir.join("error.log"))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path);
        cmd
    })
}

/// Starts nginx (one process, `master_process off`) on 127.0.0.1, HTTP/1.x. Locations:
/// - `/` (and any path not below): 200, `text/plain`, exactly `body` (any method);
/// - `/big.bin`: a static file of [`BIG_BIN_LEN`] bytes ([`big_bin`]), with Content-Length;
/// - `/chunked`: the same bytes sent `Transfer-Encoding: chunked` (HTTP/1.1 requests);
/// - `/echo`: 200 with the request body echoed back (chunked), via the echo module.
pub fn nginx_server(body: &str) -> (Child, u16) {
    nginx(body, false)
}

/// Like [`nginx_server`], but the port speaks HTTP/2 by prior knowledge (h2c) only.
pub fn nginx_h2c_server(body: &str) -> (Child, u16) {
    nginx(body, true)
}

/// Like [`nginx_server`], but over TLS: the port speaks https only, with the certificate
/// chain and key in the given PEM files, TLS 1.2 and 1.3, and ALPN `h2` and `http/1.1`
/// (`listen PORT ssl http2`).
pub fn nginx_tls_server(body: &str, cert: &Path, key: &Path) -> (Child, u16) {
    let lines = format!(
        "ssl_certificate {};\n    ssl_certificate_key {};\n    ssl_protocols TLSv1.2 TLSv1.3;",
        cert.display(),
        key.display()
    );
    nginx_with(body, "nginx-tls", " ssl http2", &lines)
}

/// Starts `python3 -m http.server` (it speaks HTTP/1.0 and closes after each response) on
/// 127.0.0.1, serving the returned directory, which holds `hello.txt` = `hello from python\n`.
/// Files added to the directory are served too.
pub fn python_http_server() -> (Child, u16, PathBuf) {
    let python = require_tool("python3");
    let dir = temp_dir("python-http");
    let www = dir.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("hello.txt"), "hello from python\n").unwrap();
    let (child, port) = start_server("python-http.server", dir, &|port| {
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(&www);
        cmd
    });
    (child, port, www)
}

/// lua5.2 and the path of one of our lua-http peer scripts in `tests/peers/`, after checking
/// that lua5.2 is installed.
fn lua_script(name: &str) -> (PathBuf, PathBuf) {
    let lua = require_tool("lua5.2");
    (lua, peer_script(name))
}

/// Starts the lua-http echo server (`lua5.2 tests/peers/lua_http_server.lua PORT 127.0.0.1`): every
/// request gets 200; a request body is echoed back (its content-type kept), no body gives
/// `hello`; HEAD gets headers only. Response headers include `content-length` and
/// `x-echo-http-version` (`1.0`, `1.1` or `2`). Speaks HTTP/1.0, HTTP/1.1 and HTTP/2 by prior
/// knowledge on the same port; no `Upgrade: h2c` (answered as HTTP/1.1). Answers
/// `Expect: 100-continue`.
pub fn lua_echo_server() -> (Child, u16) {
    let (lua, script) = lua_script("lua_http_server.lua");
    start_server("lua_http_server", temp_dir("lua-echo"), &|port| {
        let mut cmd = Command::new(&lua);
        cmd.arg(&script).arg(port.to_string()).arg("127.0.0.1");
        cmd
    })
}

/// Runs the lua-http one-shot client, `lua5.2 tests/peers/lua_http_client.lua OPTIONS... URL
/// [BODY]`,
/// bounded by [`CLIENT_LIMIT`]. Options: `--http1.0`, `--http1.1`, `--http2` (prior knowledge
/// on `http://`), `--method M`, `--timeout S` (default 10), `--no-redirect`, `--no-expect`.
/// A `body` makes it a POST (`content-type: application/octet-stream`; `@path` sends a file;
/// bodies over 1 KiB get `Expect: 100-continue` unless `--no-expect`).
///
/// Exit status 0 on any HTTP response, 1 on a transport/protocol failure, 2 on a usage error.
/// See [`parse_lua_client_output`] for the stdout format.
pub fn lua_client(url: &str, options: &[&str], body: Option<&str>) -> Output {
    let (lua, script) = lua_script("lua_http_client.lua");
    let mut cmd = Command::new(&lua);
    cmd.arg(&script).args(options).arg(url);
    if let Some(body) = body {
        cmd.arg(body);
    }
    run_with_timeout(&mut cmd, CLIENT_LIMIT)
}

/// A response as the lua-http client printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuaResponse {
    /// `1.0`, `1.1` or `2`: the version the exchange used.
    pub version: String,
    pub status: u16,
    /// Header names as lua-http gives them (lower case), in order; pseudo-headers left out.
    pub headers: Vec<(String, String)>,
    /// The body as printed: the client appends `\n` to a non-empty body not ending in one.
    pub body: Vec<u8>,
}

impl LuaResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the lua-http client's stdout: `HTTP/{1.0|1.1|2} {status}\n`, then `name: value\n`
/// per header, a blank line, then the body. Panics (with stderr) if the client failed.
pub fn parse_lua_client_output(out: &Output) -> LuaResponse {
    let fail = |why: &str| -> ! {
        panic!(
            "lua-http client: {why} (exit {})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    if !out.status.success() {
        fail("no HTTP response");
    }
    let split = out
        .stdout
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or_else(|| fail("no blank line after the headers"));
    let head = std::str::from_utf8(&out.stdout[..split]).unwrap_or_else(|_| fail("head not UTF-8"));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_else(|| fail("empty output"));
    let (version, status) = status_line
        .strip_prefix("HTTP/")
        .and_then(|rest| rest.split_once(' '))
        .unwrap_or_else(|| fail("bad status line"));
    let status = status.parse().unwrap_or_else(|_| fail("bad status code"));
    let headers = lines
        .map(|l| {
            let (n, v) = l
                .split_once(": ")
                .unwrap_or_else(|| fail("bad header line"));
            (n.to_string(), v.to_string())
        })
        .collect();
    LuaResponse {
        version: version.to_string(),
        status,
        headers,
        body: out.stdout[split + 2..].to_vec(),
    }
}

/// [`lua_client`] then [`parse_lua_client_output`]: panics unless there was an HTTP response.
pub fn lua_fetch(url: &str, options: &[&str], body: Option<&str>) -> LuaResponse {
    parse_lua_client_output(&lua_client(url, options, body))
}

// ----------------------------------------------------------------------------------------------
// Python client peers (tests/peers/)
// ----------------------------------------------------------------------------------------------

/// Runs `python3 tests/peers/httpx_client.py URL ARGS...` bounded by [`CLIENT_LIMIT`].
/// Args: `--method M`, `--data STR`, `--http2` (prior knowledge on `http://`), `--header
/// 'Name: value'` (repeatable), `--timeout S`. Stdout: the status code on the first line, then
/// the body bytes as received; stderr names the HTTP version used. Exit 0 on any HTTP response.
pub fn httpx_client(url: &str, args: &[&str]) -> Output {
    require_python_module("httpx");
    if args.contains(&"--http2") {
        require_python_module("h2");
    }
    let mut cmd = Command::new(require_tool("python3"));
    cmd.arg(peer_script("httpx_client.py")).arg(url).args(args);
    run_with_timeout(&mut cmd, CLIENT_LIMIT)
}

/// Runs `python3 tests/peers/h11_client.py HOST PORT PATH`: two GETs of PATH on one
/// keep-alive HTTP/1.1 connection. Stdout, per response: `{status} {body length}\n`, the body,
/// `\n`. Exit 1 if the server did not keep the connection open for the second request.
pub fn h11_client(host: &str, port: u16, path: &str) -> Output {
    require_python_module("h11");
    let mut cmd = Command::new(require_tool("python3"));
    cmd.arg(peer_script("h11_client.py"))
        .arg(host)
        .arg(port.to_string())
        .arg(path);
    run_with_timeout(&mut cmd, CLIENT_LIMIT)
}

// ----------------------------------------------------------------------------------------------
// Raw HTTP over std sockets, for checking peers and servers byte by byte
// ----------------------------------------------------------------------------------------------

/// Connects to `addr`, writes `request`, and reads until the peer closes; panics if that takes
/// longer than `limit`. The request should carry `Connection: close` (or be HTTP/1.0).
pub fn raw_exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut stream = TcpStream::connect_timeout(&addr, limit)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.write_all(request).expect("write request");
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            panic!(
                "{addr} did not close within {limit:?}; got so far:\n{}",
                String::from_utf8_lossy(&response)
            );
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut chunk) {
            Ok(0) => return response,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("read from {addr}: {e}"),
        }
    }
}

/// Splits a raw HTTP/1 response at the blank line: (head as text, body bytes).
pub fn split_head(response: &[u8]) -> (String, Vec<u8>) {
    let at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(response)));
    (
        String::from_utf8_lossy(&response[..at]).into_owned(),
        response[at + 4..].to_vec(),
    )
}

/// The value of header `name` (case-insensitive) in a head from [`split_head`].
pub fn head_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Decodes a complete chunked body (chunk extensions and trailers ignored); panics if it is
/// malformed or truncated.
pub fn decode_chunked(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line without CRLF");
        let line = std::str::from_utf8(&body[..eol]).expect("chunk size line not UTF-8");
        let size_text = line.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_text, 16)
            .unwrap_or_else(|_| panic!("bad chunk size {line:?}"));
        body = &body[eol + 2..];
        if size == 0 {
            return out;
        }
        assert!(body.len() >= size + 2, "truncated chunk of {size} bytes");
        out.extend_from_slice(&body[..size]);
        assert_eq!(
            &body[size..size + 2],
            b"\r\n",
            "chunk data not followed by CRLF"
        );
        body = &body[size + 2..];
    }
}

// ----------------------------------------------------------------------------------------------
// HTTP/2 peers (tests/interop_h2.rs)
// ----------------------------------------------------------------------------------------------

/// Starts nghttpd (Debian nghttp2-server) without TLS on 127.0.0.1, serving a fresh directory
/// that holds `files` (name, contents); `extra` options go before the port (e.g.
/// `--echo-upload`: a POST or PUT is answered with its own body). nghttpd speaks HTTP/2 by
/// prior knowledge and accepts `Upgrade: h2c`.
pub fn nghttpd_server(files: &[(&str, &[u8])], extra: &[&str]) -> (Child, u16) {
    let nghttpd = require_tool("nghttpd");
    let dir = temp_dir("nghttpd");
    let www = dir.join("www");
    fs::create_dir_all(&www).unwrap();
    for (name, contents) in files {
        fs::write(www.join(name), contents).unwrap();
    }
    start_server("nghttpd", dir, &|port| {
        let mut cmd = Command::new(&nghttpd);
        cmd.args(["--no-tls", "--address=127.0.0.1"])
            .arg("--htdocs")
            .arg(&www)
            .args(extra)
            .arg(port.to_string());
        cmd
    })
}

/// Starts `python3 tests/peers/h2_server.py PORT ARGS...`, an echo server on the Python `h2`
/// library (prior knowledge only). Args: `--max-concurrent N` (advertised and enforced),
/// `--goaway-after N` (GOAWAY after N answers). Answers carry `x-stream-id` and `x-max-open`.
pub fn python_h2_server(args: &[&str]) -> (Child, u16) {
    require_python_module("h2");
    let python = require_tool("python3");
    let script = peer_script("h2_server.py");
    start_server("h2_server.py", temp_dir("h2-server"), &|port| {
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg(port.to_string()).args(args);
        cmd
    })
}

/// Runs `python3 tests/peers/h2_client.py 127.0.0.1 PORT ARGS...` (a client on the Python `h2`
/// library: `echo STREAMS SIZE`, or a misbehaving mode), bounded by [`CLIENT_LIMIT`].
pub fn python_h2_client(port: u16, args: &[&str]) -> Output {
    require_python_module("h2");
    let mut cmd = Command::new(require_tool("python3"));
    cmd.arg(peer_script("h2_client.py"))
        .arg("127.0.0.1")
        .arg(port.to_string())
        .args(args);
    run_with_timeout(&mut cmd, CLIENT_LIMIT)
}

// ----------------------------------------------------------------------------------------------
// The project's own examples as programs
// ----------------------------------------------------------------------------------------------

/// `examples/NAME`, built for the profile the tests run under (next to the test executable's
/// `deps/`); built now if it is missing (`cargo test --all-targets` has built it already).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    let path = profile_dir.join("examples").join(name);
    // Built once per test process, always: `cargo test --test X` does not rebuild examples,
    // and a binary left from before a change of the library would be tested instead. Built
    // with the features this test was (the no-lost-wake-up check included).
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--example", name])
            .arg("--target-dir")
            .arg(profile_dir.parent().expect("target/"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if cfg!(feature = "wakeup-check") {
            cmd.args(["--features", "wakeup-check"]);
        }
        built.push(name.to_string());
        let out = run_with_timeout(&mut cmd, Duration::from_secs(600));
        assert!(
            out.status.success(),
            "building example {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    path
}
