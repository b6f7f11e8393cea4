//! Connections driven the way `docs/embedding.md` tells users to drive them: the mio
//! edge-triggered loop, raw epoll level-triggered, and `poll(2)`, in both roles, over
//! HTTP/1.0, HTTP/1.1 (pipelined) and HTTP/2, cleartext and TLS, with bodies from 0 bytes to
//! 64 MiB in both directions, fast and slow readers on either side, many streams and many
//! connections at once. Every echo is compared byte for byte.
//!
//! A lost wake-up (a connection that could make progress while its loop is told to wait)
//! shows here as a loop that does not finish in time; with the `wakeup-check` feature on
//! (`scripts/test.sh` runs the suite both ways) it panics at the call after which it
//! happened.

mod apps;
mod kinds;

use apps::{EchoClient, EchoServer, Plan, Reader};
use kinds::{run, Kind};
use pollhttp::{ClientOptions, Config, Listener, Method, Target};
#[cfg(feature = "tls")]
use pollhttp::{TlsClientConfig, TlsServerConfig};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How long one side's loop may take at most.
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    H10,
    H11,
    H2,
}

/// A self-signed certificate for localhost, written to a fresh directory: (cert, key).
#[cfg(feature = "tls")]
fn certificate() -> (std::path::PathBuf, std::path::PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    let dir = std::env::temp_dir().join(format!(
        "pollhttp-loops-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

/// One test: a server driven by `server` and a client driven by `client`.
struct Case {
    server: Kind,
    client: Kind,
    version: Version,
    tls: bool,
    /// Per connection, the body sizes of its requests.
    connections: Vec<Vec<usize>>,
    server_reader: Reader,
    client_reader: Reader,
}

impl Case {
    fn new(server: Kind, client: Kind, version: Version, tls: bool) -> Case {
        Case {
            server,
            client,
            version,
            tls,
            connections: Vec::new(),
            server_reader: Reader::Fast,
            client_reader: Reader::Fast,
        }
    }

    /// `n` connections, each with requests of these sizes (HTTP/1.0: one request per
    /// connection, so each size gets a connection of its own).
    fn bodies(mut self, n: usize, sizes: &[usize]) -> Case {
        for _ in 0..n {
            if self.version == Version::H10 {
                self.connections.extend(sizes.iter().map(|&s| vec![s]));
            } else {
                self.connections.push(sizes.to_vec());
            }
        }
        self
    }

    fn readers(mut self, server: Reader, client: Reader) -> Case {
        self.server_reader = server;
        self.client_reader = client;
        self
    }

    fn run(self) {
        if std::env::var_os("POLLHTTP_TEST_LOG").is_some() {
            static LOG: StderrLog = StderrLog;
            if log::set_logger(&LOG).is_ok() {
                log::set_max_level(log::LevelFilter::Debug);
            }
        }
        let mut cfg = Config::default();
        // Small buffers and windows, so that every body here is larger than all of them.
        cfg.recv_buffer = 16 * 1024;
        cfg.send_buffer = 16 * 1024;
        cfg.http2.initial_window_size = 32 * 1024;
        let cfg = Arc::new(cfg);
        let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), cfg.clone()).expect("bind");
        let port = match listener.localname().expect("local name") {
            pollhttp::SockName::Inet(a) => a.port(),
            other => panic!("listener name {other:?}"),
        };
        // The cases over TLS exist with the `tls` feature only.
        #[cfg(feature = "tls")]
        let (listener, tls_client) = if self.tls {
            let (cert, key) = certificate();
            let listener = listener.with_tls(TlsServerConfig::from_pem_files(&cert, &key).unwrap());
            let tls_client = Some(TlsClientConfig::with_ca_file(&cert).unwrap());
            // Both settings have read the files.
            let _ = std::fs::remove_dir_all(cert.parent().expect("the certificate's directory"));
            (listener, tls_client)
        } else {
            (listener, None)
        };
        let version = match self.version {
            Version::H10 => http::Version::HTTP_10,
            Version::H11 => http::Version::HTTP_11,
            Version::H2 => http::Version::HTTP_2,
        };
        let plan = Plan {
            target: if self.tls {
                Target::Host("localhost".into(), port)
            } else {
                Target::Addr(([127, 0, 0, 1], port).into())
            },
            opts: ClientOptions {
                version,
                http2_prior_knowledge: self.version == Version::H2 && !self.tls,
                config: cfg,
                #[cfg(feature = "tls")]
                tls: tls_client,
            },
            connections: self.connections.clone(),
            reader: self.client_reader,
            // HTTP/2 by ALPN: no request before the handshake chose the version.
            eager: !(self.tls && self.version == Version::H2),
        };
        let requests: usize = self.connections.iter().map(Vec::len).sum();
        let (kind, reader, n) = (self.server, self.server_reader, self.connections.len());
        let server = thread::spawn(move || {
            let mut side = EchoServer::new(listener, n, reader);
            // The client stops first when the exchange stalls, and reports both sides.
            let r = run(kind, &mut side, LIMIT);
            (r, side.answered)
        });
        let client_kind = self.client;
        let client = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let mut client = EchoClient::new(&plan);
            let r = run(client_kind, &mut client, LIMIT - Duration::from_secs(5));
            (r, client)
        }));
        let served = server.join();
        let (r, client) = match (client, served) {
            (Ok((r, client)), Ok((served, answered))) => {
                served.unwrap_or_else(|e| panic!("server: {e}"));
                assert_eq!(answered, requests, "requests answered");
                (r, client)
            }
            (client, served) => {
                let server = match served {
                    Ok((r, _)) => format!("{r:?}"),
                    Err(p) => panic_text(p),
                };
                let client = match client {
                    Ok((r, _)) => format!("{r:?}"),
                    Err(p) => panic_text(p),
                };
                panic!("a side failed:\n  client: {client}\n  server: {server}");
            }
        };
        r.unwrap_or_else(|e| panic!("client: {e}"));
        assert_eq!(client.checked, requests, "echoes checked");
        let total: usize = self.connections.iter().flatten().sum();
        assert_eq!(client.bytes, total, "echo bytes");
    }
}

/// Sizes around every buffer and window: nothing, one byte, more than one HTTP/2 window and
/// the receive buffer, and 3 MB (the upload that hung `echo_server`).
const SIZES: &[usize] = &[0, 1, 70_000, 3_000_000];

const SLOW: Reader = Reader::Slow {
    bytes: 4096,
    every: Duration::from_millis(1),
};

// ---- every loop in both roles, every version, cleartext and TLS ----------------------------

#[test]
fn mio_edge_server_epoll_level_client_h11_pipelined() {
    Case::new(Kind::MioEdge, Kind::EpollLevel, Version::H11, false)
        .bodies(3, SIZES)
        .run();
}

#[test]
fn epoll_level_server_poll_client_h11_pipelined() {
    Case::new(Kind::EpollLevel, Kind::Poll, Version::H11, false)
        .bodies(3, SIZES)
        .run();
}

#[test]
fn poll_server_mio_edge_client_h11_pipelined() {
    Case::new(Kind::Poll, Kind::MioEdge, Version::H11, false)
        .bodies(3, SIZES)
        .run();
}

#[test]
fn mio_edge_server_poll_client_h10() {
    Case::new(Kind::MioEdge, Kind::Poll, Version::H10, false)
        .bodies(1, SIZES)
        .run();
}

#[test]
fn epoll_level_server_mio_edge_client_h10() {
    Case::new(Kind::EpollLevel, Kind::MioEdge, Version::H10, false)
        .bodies(1, SIZES)
        .run();
}

#[test]
fn poll_server_epoll_level_client_h10() {
    Case::new(Kind::Poll, Kind::EpollLevel, Version::H10, false)
        .bodies(1, SIZES)
        .run();
}

#[test]
fn mio_edge_server_epoll_level_client_h2_many_streams() {
    Case::new(Kind::MioEdge, Kind::EpollLevel, Version::H2, false)
        .bodies(3, &[SIZES, SIZES, SIZES].concat())
        .run();
}

#[test]
fn epoll_level_server_poll_client_h2_many_streams() {
    Case::new(Kind::EpollLevel, Kind::Poll, Version::H2, false)
        .bodies(3, &[SIZES, SIZES, SIZES].concat())
        .run();
}

#[test]
fn poll_server_mio_edge_client_h2_many_streams() {
    Case::new(Kind::Poll, Kind::MioEdge, Version::H2, false)
        .bodies(3, &[SIZES, SIZES, SIZES].concat())
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn tls_mio_edge_server_poll_client_h11() {
    Case::new(Kind::MioEdge, Kind::Poll, Version::H11, true)
        .bodies(2, SIZES)
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn tls_epoll_level_server_mio_edge_client_h2() {
    Case::new(Kind::EpollLevel, Kind::MioEdge, Version::H2, true)
        .bodies(2, SIZES)
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn tls_poll_server_epoll_level_client_h10() {
    Case::new(Kind::Poll, Kind::EpollLevel, Version::H10, true)
        .bodies(1, SIZES)
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn tls_mio_edge_server_epoll_level_client_h2() {
    Case::new(Kind::MioEdge, Kind::EpollLevel, Version::H2, true)
        .bodies(2, SIZES)
        .run();
}

// ---- slow readers on either side ------------------------------------------------------------

#[test]
fn slow_server_reader_mio_edge_h11() {
    Case::new(Kind::MioEdge, Kind::MioEdge, Version::H11, false)
        .bodies(2, &[1, 70_000, 300_000])
        .readers(SLOW, Reader::Fast)
        .run();
}

#[test]
fn slow_client_reader_mio_edge_h11() {
    Case::new(Kind::MioEdge, Kind::MioEdge, Version::H11, false)
        .bodies(2, &[1, 70_000, 300_000])
        .readers(Reader::Fast, SLOW)
        .run();
}

#[test]
fn slow_readers_both_sides_epoll_level_h2() {
    Case::new(Kind::EpollLevel, Kind::EpollLevel, Version::H2, false)
        .bodies(2, &[1, 70_000, 300_000])
        .readers(SLOW, SLOW)
        .run();
}

#[test]
fn slow_server_reader_poll_h10() {
    Case::new(Kind::Poll, Kind::Poll, Version::H10, false)
        .bodies(1, &[70_000, 300_000])
        .readers(SLOW, Reader::Fast)
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn slow_readers_tls_mio_edge_h2() {
    Case::new(Kind::MioEdge, Kind::MioEdge, Version::H2, true)
        .bodies(1, &[70_000, 300_000])
        .readers(SLOW, SLOW)
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn slow_readers_tls_epoll_level_h11() {
    Case::new(Kind::EpollLevel, Kind::EpollLevel, Version::H11, true)
        .bodies(1, &[70_000, 300_000])
        .readers(SLOW, SLOW)
        .run();
}

// ---- 64 MiB in both directions --------------------------------------------------------------

const HUGE: usize = 64 << 20;

#[test]
fn huge_body_mio_edge_h11() {
    Case::new(Kind::MioEdge, Kind::MioEdge, Version::H11, false)
        .bodies(1, &[HUGE])
        .run();
}

#[test]
fn huge_body_epoll_level_h2() {
    Case::new(Kind::EpollLevel, Kind::EpollLevel, Version::H2, false)
        .bodies(1, &[HUGE])
        .run();
}

#[test]
#[cfg(feature = "tls")]
fn huge_body_tls_poll_h11() {
    Case::new(Kind::Poll, Kind::Poll, Version::H11, true)
        .bodies(1, &[HUGE])
        .run();
}

// ---- many connections at once ---------------------------------------------------------------

#[test]
fn many_connections_mio_edge_h11_and_epoll_level_clients() {
    Case::new(Kind::MioEdge, Kind::EpollLevel, Version::H11, false)
        .bodies(32, &[0, 20_000, 100_000])
        .run();
}

#[test]
fn many_connections_epoll_level_server_h2() {
    Case::new(Kind::EpollLevel, Kind::MioEdge, Version::H2, false)
        .bodies(32, &[0, 20_000, 100_000])
        .run();
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    match p.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_else(|_| "panic".into()),
    }
}

/// `POLLHTTP_TEST_LOG=1`: the library's log on stderr (for finding out why a case failed).
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, r: &log::Record<'_>) {
        eprintln!(
            "{:?} {} {}: {}",
            thread::current().id(),
            r.level(),
            r.target(),
            r.args()
        );
    }

    fn flush(&self) {}
}

// ---- an HTTP/2 client waiting for SETTINGS sleeps in its poll -------------------------------

/// A client whose one connection is left to end by itself: the test looks at how.
struct Waiting {
    conn: Option<pollhttp::Connection>,
    error: Option<pollhttp::Error>,
}

impl kinds::Side for Waiting {
    fn listener(&mut self) -> Option<&mut Listener> {
        None
    }
    fn accepted(&mut self, _: pollhttp::Connection) -> usize {
        unreachable!()
    }
    fn slots(&self) -> usize {
        1
    }
    fn conn(&mut self, _: usize) -> Option<&mut pollhttp::Connection> {
        self.conn.as_mut()
    }
    fn serve(&mut self, _: usize) {
        if let Some(c) = self.conn.as_mut() {
            while c.next_ready_stream().is_some() {}
        }
    }
    fn app_deadline(&self) -> Option<std::time::Instant> {
        None
    }
    fn app_tick(&mut self, _: std::time::Instant) -> Vec<usize> {
        Vec::new()
    }
    fn remove(&mut self, _: usize) {
        let c = self.conn.take().expect("the connection");
        self.error = c.error().cloned();
    }
    fn finished(&self) -> bool {
        self.conn.is_none()
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec that outlives the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(r, 0);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Against a listener that accepts nothing and never answers, an HTTP/2 client (prior
/// knowledge, a request written before the SETTINGS exchange) waits in its loop's poll until
/// its SETTINGS timeout ends the connection: under 5% of a core meanwhile, whichever loop
/// drives it.
fn settings_never_come(kind: Kind) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().unwrap();
    let mut cfg = Config::default();
    cfg.connect_timeout = None;
    cfg.http2.settings_timeout = Some(Duration::from_secs(1));
    let opts = ClientOptions {
        version: http::Version::HTTP_2,
        http2_prior_knowledge: true,
        config: Arc::new(cfg),
        #[cfg(feature = "tls")]
        tls: None,
    };
    let mut conn = pollhttp::Connection::client(Target::Addr(addr), opts).expect("client");
    let id = conn.new_stream().expect("new_stream");
    conn.stream(id)
        .write_headers(&pollhttp::Headers::request(Method::GET, "/", None), true)
        .expect("a request before SETTINGS");
    let mut side = Waiting {
        conn: Some(conn),
        error: None,
    };
    let (cpu0, wall0) = (thread_cpu(), std::time::Instant::now());
    let stats = run(kind, &mut side, Duration::from_secs(10)).expect("the loop ends");
    let (cpu, wall) = (thread_cpu() - cpu0, wall0.elapsed());
    let e = side.error.expect("the connection failed");
    assert!(
        e.message().contains("SETTINGS"),
        "{kind:?}: ended by the SETTINGS timeout, not {e}"
    );
    assert!(
        wall >= Duration::from_millis(900),
        "{kind:?}: ended after {wall:?}"
    );
    assert!(
        cpu.as_secs_f64() < 0.05 * wall.as_secs_f64(),
        "{kind:?}: {cpu:?} of CPU in {wall:?} ({} turns, {} steps): the loop spins",
        stats.turns,
        stats.steps
    );
    assert!(
        stats.turns < 50,
        "{kind:?}: {} turns of the loop",
        stats.turns
    );
    drop(silent);
}

#[test]
fn h2_client_waiting_for_settings_sleeps_mio_edge() {
    settings_never_come(Kind::MioEdge);
}

#[test]
fn h2_client_waiting_for_settings_sleeps_epoll_level() {
    settings_never_come(Kind::EpollLevel);
}

#[test]
fn h2_client_waiting_for_settings_sleeps_poll() {
    settings_never_come(Kind::Poll);
}
