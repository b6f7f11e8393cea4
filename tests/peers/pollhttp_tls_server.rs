//! The pollhttp test server of `pollhttp_server.rs` behind TLS: the same `poll(2)` loop and
//! handlers over a [`Listener`] set up with [`Listener::with_tls`], plus a record of what each
//! request arrived on (HTTP version, TLS session) so that a test can tell which protocol a
//! peer it did not write (curl, a browser) actually used.
//!
//! Included after the plain server:
//! `#[path = "peers/pollhttp_server.rs"] mod server;`
//! `#[path = "peers/pollhttp_tls_server.rs"] mod tls_server;`
#![allow(dead_code)]

use crate::server::{default_handler, serve_listener, Reply, Request, Server};
use pollhttp::{Config, Listener, TlsInfo, TlsServerConfig};
use std::sync::{Arc, Mutex};

/// What one request arrived on.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub version: http::Version,
    pub tls: Option<TlsInfo>,
    pub body_len: usize,
}

/// The requests a server answered, in order.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    /// Every request so far.
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    /// The requests for `path`.
    pub fn for_path(&self, path: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.path == path).collect()
    }

    /// The one request for `path`; panics unless there is exactly one.
    pub fn only(&self, path: &str) -> Seen {
        let seen = self.for_path(path);
        assert_eq!(seen.len(), 1, "requests for {path}: {:?}", self.all());
        seen.into_iter().next().unwrap()
    }

    fn note(&self, req: &Request) {
        self.0.lock().unwrap().push(Seen {
            method: req.method.clone(),
            path: req.path.clone(),
            version: req.version,
            tls: req.tls.clone(),
            body_len: req.body.len(),
        });
    }
}

/// A small HTML page served at `/page` by [`serve_tls_logged`]; its text is `hello`.
pub const PAGE: &str =
    "<!DOCTYPE html><html><head><title>pollhttp</title></head><body><p id=\"msg\">hello</p></body></html>";

/// Serves `handler` over TLS on 127.0.0.1 (a free port), with the default [`Config`].
pub fn serve_tls<H>(tls: TlsServerConfig, handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    serve_tls_config(Config::default(), tls, handler)
}

/// Like [`serve_tls`] with a configuration of the caller's.
pub fn serve_tls_config<H>(cfg: Config, tls: TlsServerConfig, handler: H) -> Server
where
    H: Fn(&Request) -> Reply + Send + 'static,
{
    let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(cfg))
        .expect("bind a pollhttp listener on 127.0.0.1:0")
        .with_tls(tls);
    serve_listener(listener, handler)
}

/// [`default_handler`] over TLS, plus `/page` ([`PAGE`] as `text/html`), recording every
/// request in the returned [`Log`].
pub fn serve_tls_logged(tls: TlsServerConfig) -> (Server, Log) {
    let log = Log::default();
    let record = log.clone();
    let server = serve_tls(tls, move |req| {
        record.note(req);
        if req.path == "/page" {
            let mut r = Reply::full(200, PAGE);
            r.headers[0].1 = "text/html; charset=utf-8".into();
            r
        } else {
            default_handler(req)
        }
    });
    (server, log)
}

/// `https://{host}:{port}{path}`.
pub fn https_url(server: &Server, host: &str, path: &str) -> String {
    format!("https://{host}:{}{path}", server.port())
}
