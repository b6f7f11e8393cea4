//! What a [`Server`](super::Server) is told: the connections' configuration and its own limits.

use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;

/// A server's limits and the configuration its connections get. The defaults suit a
/// public-facing server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Given to every connection of the listeners the server binds itself
    /// ([`Server::listen`](super::Server::listen) and
    /// [`listen_unix`](super::Server::listen_unix)): limits, timeouts, HTTP/2 settings.
    pub config: Arc<Config>,
    /// Connections open at once. At the limit the server accepts no more; the kernel keeps
    /// new ones in the listen backlog until one closes. Default 10,000 (mind the process's
    /// limit on open files, `ulimit -n`).
    pub max_connections: usize,
    /// How long a request may wait for the application's response head, from the arrival of
    /// its own head. When it passes the server answers `503 Service Unavailable` itself (and
    /// logs a warning). `None`: no limit. Default 60 s.
    pub response_timeout: Option<Duration>,
    /// Readiness events taken from the kernel per [`step`](super::Server::step); more stay
    /// for the next step (`timeout()` says it is due at once). Default 256.
    pub events_per_step: usize,
    /// Connections accepted per step and listener. Default 64.
    pub accepts_per_step: usize,
    /// Connections stepped per step, counting each time one is stepped. Default 512.
    pub drives_per_step: usize,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            config: Arc::new(Config::default()),
            max_connections: 10_000,
            response_timeout: Some(Duration::from_secs(60)),
            events_per_step: 256,
            accepts_per_step: 64,
            drives_per_step: 512,
        }
    }
}
