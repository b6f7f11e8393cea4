//! The pollable face of a connection: `pollfd` / `events` / `timeout` / `step`, and the seed's
//! operations (connect, checktls, localname, peername, flush, shutdown, close, new_stream,
//! get_next_incoming_stream, onidle).
//!
//! Only this module reads the clock and touches the socket; the protocol core is fed bytes
//! and `now`. Bytes flow socket -> `step()` -> core -> stream queues, and back from the
//! streams' writes -> the core's outgoing buffer -> `step()` (or an immediate write when a
//! message ends) -> socket.

use crate::clock::LazyNow;
use crate::config::Config;
use crate::date::DateCache;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::Core;
use crate::tls::{TlsInfo, TlsServerConfig, TlsSession};
use crate::transport::resolve::Resolver;
use crate::transport::{start_unix_connect, SockName, Socket};
use crate::wait::{not_yet, wait_for, Pollable};
use crate::{PollEvents, Role, StreamId};
use std::fmt;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

enum Phase {
    Resolving(Resolver),
    Connecting {
        addrs: Vec<SocketAddr>,
        next: usize,
        sock: Socket,
    },
    /// Transport up; the TLS handshake goes on (a server with plaintext allowed on the same
    /// port first looks at the first bytes to tell a ClientHello from HTTP).
    Handshake,
    Open,
    /// A server wrote its last answer and half-closed; it reads and drops what the client
    /// still sends until the client closes or the deadline, so that closing with unread
    /// input does not reset the connection and destroy the answer (RFC 9112 9.6).
    Lingering(Instant),
    Closed,
}

/// I/O counters and the probe flag. Kept in every build (two additions per system call), so
/// that the code the check runs is the code that ships.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Progress {
    /// Bytes the core was given from the socket or from TLS.
    pub(super) read: u64,
    /// Bytes written to the socket (or to TLS).
    pub(super) written: u64,
    /// A probe step is running: it neither reads a drained socket nor writes a blocked one.
    pub(super) probing: bool,
}

/// Client: where the `Upgrade: h2c` offer of a plaintext HTTP/1.1 connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum H2cOffer {
    /// Not offered (any more): a server, a connection that is not to offer, or an offer
    /// that was answered over HTTP/1.1.
    No,
    /// To add to the first request, if that one has no body.
    ToMake,
    /// Went out on stream 1; a 101 answer switches. `head_request`: the request was HEAD.
    Made { head_request: bool },
}

mod connect;
mod idle;
mod io;
mod negotiate;
mod options;
mod probe;
mod watch;

pub use options::{ClientOptions, Target};

/// The handler [`Connection::onidle`] takes.
pub type IdleHandler = Box<dyn FnMut(&mut Idle<'_>) + Send>;

/// The connection as its idle handler sees it: its state, and [`shutdown`](Self::shutdown).
///
/// It cannot step, flush or wait: the handler runs inside a step of this very connection,
/// and returns to it. A program that wants to do more (send the next request of a pool, say)
/// notes the connection in its own structures and does it from its loop.
///
/// ```compile_fail
/// # use pollhttp::Idle;
/// // The handler cannot drive the connection that calls it:
/// let h: pollhttp::IdleHandler = Box::new(|c: &mut Idle<'_>| { let _ = c.step(); });
/// ```
pub struct Idle<'a> {
    conn: &'a mut Connection,
}

/// The handler and what the connection remembers of idleness.
pub(super) struct OnIdle {
    handler: Option<IdleHandler>,
    /// Idle at the end of the last step (the handler runs on the change to idle).
    was_idle: bool,
    /// The handler is running: calls that would re-enter the connection are refused.
    running: bool,
}

/// The callback [`Connection::set_watcher`] takes.
pub type Watcher = Box<dyn FnMut(&Watch) + Send>;

/// What a connection's watcher is told: the connection's [`pollfd`](Connection::pollfd),
/// [`events`](Connection::events) and [`timeout`](Connection::timeout) as they are at the end
/// of the call that changed one of them, and the fd told before.
///
/// A loop files it this way:
/// - `fd != old_fd`: stop watching `old_fd` (if it is not -1) and start watching `fd` (if it
///   is not -1). `old_fd` is still open during the call and closed right after it, so removing
///   it from a poller is safe (and required by libuv and libev; with a bare epoll, its closing
///   removes it anyway). The first call after [`Connection::set_watcher`] has `old_fd` -1.
/// - `events`: what to wait for on `fd`. An edge-triggered loop that registered `fd` for both
///   directions has nothing to do; a level-triggered one re-arms (`EPOLL_CTL_MOD`).
/// - `deadline`: `None` for no deadline; an instant already past when a step is due now (put
///   the connection on the loop's ready list); a later one for the loop's timer (a heap with
///   lazy deletion: keep the last deadline told, skip entries that differ from it).
/// - `fd` -1 and no deadline: the connection is finished (closed, and its last step taken);
///   this is the last call. Drop the connection from the loop, but not from inside the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    /// The fd to watch now; -1 once the connection is closed.
    pub fd: RawFd,
    /// The fd told before: equal to `fd` when it did not change; -1 on the first call.
    pub old_fd: RawFd,
    /// What to wait for on `fd`.
    pub events: PollEvents,
    /// When a step is due even without readiness: an instant already past for "now", `None`
    /// for never.
    pub deadline: Option<Instant>,
    /// The connection, for a binding whose callback is given it (the C ABI's; see
    /// [`Watch::connection_ptr`]).
    conn: *mut Connection,
}

/// What a connection holds for its watcher (boxed: a connection without one carries a
/// pointer's worth).
struct Watching {
    /// The callback; out of its slot while it runs.
    f: Option<Watcher>,
    /// What it was last told: fd, events, deadline.
    last: Option<(RawFd, PollEvents, Option<Instant>)>,
    /// The callback runs: a call it makes reports nothing itself (the running report checks
    /// again when the callback returns), and the calls that would re-enter are refused.
    running: bool,
    /// `set_watcher` was called while the callback ran: the running one is not put back.
    replaced: bool,
    /// A call the callback made would have reported: the report looks again when it returns.
    touched: bool,
    /// `close()` runs: the end is told once, when it is done.
    muted: bool,
    /// What held an fd given up since the last report (kept open until the watcher is told).
    retired: Vec<Retired>,
}

/// An fd's owner kept until the watcher was told that the fd is gone (held only to be
/// dropped then).
#[allow(dead_code)]
enum Retired {
    Phase(Phase),
    Socket(Socket),
}

/// A client or server HTTP connection driven by the caller's loop.
///
/// Watch [`pollfd`](Self::pollfd) for [`events`](Self::events), wake no later than
/// [`timeout`](Self::timeout), and call [`step`](Self::step); then look at
/// [`next_ready_stream`](Self::next_ready_stream) and
/// [`try_next_incoming_stream`](Self::try_next_incoming_stream). Writes to streams are buffered
/// and go out when a message ends, at the next `step()`, or at [`try_flush`](Self::try_flush);
/// `timeout()` returns "now" while buffered output has not been tried, so an edge-triggered
/// loop that honours `timeout()` never misses it.
pub struct Connection {
    role: Role,
    version: http::Version,
    phase: Phase,
    sock: Option<Socket>,
    core: Core,
    cfg: Arc<Config>,
    inbuf: Vec<u8>,
    /// The `Date` of the responses written next, formatted at most once a second from the
    /// `now` of a step.
    date: DateCache,
    out_pos: usize,
    /// The last write hit EAGAIN: wait for writability.
    write_blocked: bool,
    /// Work left for the next step without waiting (the read budget was used up, a message
    /// ended).
    more: bool,
    read_eof: bool,
    /// The last read left the socket empty: new bytes will make it readable again (an edge,
    /// for an edge-triggered loop). False after a read that filled its buffer.
    sock_drained: bool,
    /// Reading stopped because the core wanted no more (backpressure: a full receive buffer,
    /// a full pipeline). Input may be left (held bytes, decrypted bytes, or bytes in the
    /// kernel that no readiness event will announce again), and `events()` said "not
    /// readable". When the core wants input again (the application read), a step is due at
    /// once.
    input_paused: bool,
    /// The core's `readied()` at the end of the last step: the loop drains the ready list
    /// after each step, so news added since (by an application's call: a write that freed
    /// room and woke a refused writer) makes a step due, after which the loop drains again.
    readied_seen: u64,
    /// I/O counters and the probe flag of the no-lost-wake-up check.
    progress: Progress,
    connect_deadline: Option<Instant>,
    shutdown_deadline: Option<Instant>,
    error: Option<Error>,
    /// A step saw the connection closed (and returned its error, if it failed): no step is
    /// due any more.
    reported: bool,
    idle: OnIdle,
    target: Option<Target>,
    /// The caller's loop saw the peer close (or an error): read to the end in the next step.
    read_closed_hint: bool,
    /// When the last `step()` began: what `timeout()` returns for work due at once (a time
    /// already past, so no clock is read there).
    last_step: Instant,
    /// Server: the first bytes are not in yet; they tell HTTP/1 from the HTTP/2 preface.
    sniff: bool,
    /// Client: where the `Upgrade: h2c` offer stands.
    h2c: H2cOffer,
    /// The fd registered with mio through this connection's `Source` impl (-1: none), so
    /// that a re-registration after the fd changed (a client trying its next address)
    /// registers the new one.
    registered_fd: RawFd,
    /// Write at once when a message ends (HTTP/2; the HTTP/1 core keeps its own flag).
    auto_flush: bool,
    /// The TLS session (boxed: a plaintext connection should not carry its size).
    tls: Option<Box<TlsSession>>,
    /// Server on a port that allows plaintext too: the TLS setup, until the first bytes say
    /// whether the client speaks TLS.
    tls_maybe: Option<TlsServerConfig>,
    /// Client: what the application asked for (ALPN may settle on less).
    asked_version: http::Version,
    /// The watcher and what it was told (`watch.rs`); `None` costs one test per call.
    watch: Option<Box<Watching>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("type", &self.role)
            .field("version", &self.version)
            .field("fd", &self.pollfd())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    fn with_phase(
        role: Role,
        version: http::Version,
        phase: Phase,
        sock: Option<Socket>,
        cfg: Arc<Config>,
    ) -> Connection {
        let now = Instant::now();
        let mut date = DateCache::default();
        let core = if version == http::Version::HTTP_2 {
            Core::h2(role, &cfg, "http", date.get(now), now)
        } else {
            Core::h1(role, &cfg, version, date.get(now), now)
        };
        Connection {
            role,
            version,
            phase,
            sock,
            core,
            cfg,
            inbuf: Vec::new(),
            date,
            out_pos: 0,
            write_blocked: false,
            more: false,
            read_eof: false,
            // A new socket: registering it reports what it already holds.
            sock_drained: true,
            input_paused: false,
            readied_seen: 0,
            progress: Progress::default(),
            connect_deadline: None,
            shutdown_deadline: None,
            error: None,
            reported: false,
            idle: OnIdle::new(),
            target: None,
            last_step: now,
            read_closed_hint: false,
            sniff: false,
            h2c: H2cOffer::No,
            registered_fd: -1,
            auto_flush: true,
            tls: None,
            tls_maybe: None,
            asked_version: version,
            watch: None,
        }
    }

    /// A server connection over an accepted socket.
    pub fn server(sock: Socket, cfg: Arc<Config>) -> Connection {
        sock.set_nodelay(cfg.nodelay);
        let sniff = cfg.http2.enabled;
        let mut c = Connection::with_phase(
            Role::Server,
            http::Version::HTTP_11,
            Phase::Open,
            Some(sock),
            cfg,
        );
        c.sniff = sniff;
        c
    }

    /// A server connection over an accepted socket, speaking TLS (the handshake goes on in
    /// `step()`, bounded by the configuration's handshake timeout). ALPN `h2` makes it an
    /// HTTP/2 connection. If the configuration allows plaintext too, the first bytes decide.
    ///
    /// # Errors
    /// rustls refused the configuration.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn server_with_tls(
        sock: Socket,
        cfg: Arc<Config>,
        tls: &TlsServerConfig,
    ) -> Result<Connection> {
        sock.set_nodelay(cfg.nodelay);
        let mut c = Connection::with_phase(
            Role::Server,
            http::Version::HTTP_11,
            Phase::Handshake,
            Some(sock),
            cfg,
        );
        if tls.allows_plaintext() {
            c.tls_maybe = Some(tls.clone());
        } else {
            c.tls = Some(Box::new(TlsSession::server(tls)?));
        }
        c.connect_deadline = tls.get_handshake_timeout().map(|d| Instant::now() + d);
        Ok(c)
    }

    /// Starts a client connection to `target` without blocking: resolution (on a thread of its
    /// own, for a host name) and the TCP connect go on in `step()`. Use
    /// [`connect`](Self::connect) to wait for it, or just write a request: it goes out once
    /// the connection is up.
    ///
    /// # Errors
    /// A socket or the resolver thread could not be created, or the version is not one of
    /// HTTP/1.0, HTTP/1.1 and HTTP/2.
    pub fn client(target: Target, opts: ClientOptions) -> Result<Connection> {
        let v = opts.version;
        if v != http::Version::HTTP_10 && v != http::Version::HTTP_11 && v != http::Version::HTTP_2
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("unsupported version {:?}", opts.version),
            ));
        }
        let cfg = opts.config.clone();
        let phase = match &target {
            Target::Host(h, p) => match h.parse::<std::net::IpAddr>() {
                Ok(ip) => Connection::start_addrs(vec![SocketAddr::new(ip, *p)], 0, None, &cfg)?,
                Err(_) => Phase::Resolving(Resolver::start(h, *p)?),
            },
            Target::Addr(a) => Connection::start_addrs(vec![*a], 0, None, &cfg)?,
            Target::Unix(p) => Phase::Connecting {
                addrs: Vec::new(),
                next: 0,
                sock: start_unix_connect(p)
                    .map_err(|e| Error::io(&format!("connect {}", p.display()), &e))?,
            },
        };
        let h2c = v == http::Version::HTTP_2
            && !opts.http2_prior_knowledge
            && opts.tls_config().is_none();
        // Over TLS the core is chosen once ALPN has spoken; HTTP/1.1 until then.
        let version = if h2c || (opts.tls_config().is_some() && v == http::Version::HTTP_2) {
            http::Version::HTTP_11
        } else {
            v
        };
        let tls = match opts.tls_config() {
            Some(t) => {
                let name = match &target {
                    Target::Host(h, _) => h.clone(),
                    Target::Addr(a) => a.ip().to_string(),
                    Target::Unix(_) => "localhost".to_string(),
                };
                // h2 is offered when HTTP/2 is asked for, unless the TLS settings turned it
                // off (`TlsClientConfig::offer_h2(false)`: HTTP/1.1 whatever the version).
                let t = if v == http::Version::HTTP_2 {
                    t.clone()
                } else {
                    t.clone().offer_h2(false)
                };
                Some(Box::new(TlsSession::client(&t, &name)?))
            }
            None => None,
        };
        let mut c = Connection::with_phase(Role::Client, version, phase, None, cfg.clone());
        if h2c {
            c.h2c = H2cOffer::ToMake;
        }
        c.tls = tls;
        c.asked_version = v;
        c.connect_deadline = cfg.connect_timeout.map(|d| Instant::now() + d);
        c.core.set_authority(&target.authority());
        c.target = Some(target);
        Ok(c)
    }

    /// Blocking convenience: a client connection to `target`, connected within `timeout`.
    ///
    /// # Errors
    /// Resolution, every address's connect, or the time limit failed.
    pub fn open(
        target: Target,
        opts: ClientOptions,
        timeout: Option<Duration>,
    ) -> Result<Connection> {
        let mut c = Connection::client(target, opts)?;
        c.connect(timeout)?;
        Ok(c)
    }

    /// `"client"` or `"server"`: lua-http's `connection.type`.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The HTTP version: 1.0, 1.1, or 2 (by prior knowledge, once the server saw the
    /// HTTP/2 preface, or after an `h2c` upgrade).
    pub fn version(&self) -> http::Version {
        self.version
    }

    /// The fd to watch. While a client is resolving it is the resolver's wake-up socket, while
    /// it connects the socket being tried: re-read it after every `step()`. -1 once closed.
    pub fn pollfd(&self) -> RawFd {
        match &self.phase {
            Phase::Resolving(r) => r.fd(),
            Phase::Connecting { sock, .. } => sock.fd(),
            Phase::Handshake | Phase::Open | Phase::Lingering(_) => {
                self.sock.as_ref().map_or(-1, Socket::fd)
            }
            Phase::Closed => -1,
        }
    }

    /// Output is buffered and not yet written (what [`try_flush`](Self::try_flush) has to do).
    #[inline]
    pub(crate) fn out_pending(&self) -> bool {
        self.core.output().len() > self.out_pos
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// What to wait for now. Precise: a level-triggered loop waiting for exactly this does
    /// not spin.
    pub fn events(&self) -> PollEvents {
        match &self.phase {
            Phase::Resolving(_) => PollEvents::READABLE,
            Phase::Connecting { .. } => PollEvents::WRITABLE,
            Phase::Lingering(_) => PollEvents::READABLE,
            Phase::Closed => PollEvents::NONE,
            Phase::Handshake => match &self.tls {
                Some(t) => PollEvents::new(t.wants_read(), t.wants_write()),
                None => PollEvents::READABLE,
            },
            Phase::Open => {
                let c = &self.core;
                let r = !self.read_eof
                    && c.wants_read()
                    && !c.is_tunnel()
                    && self.tls.as_ref().is_none_or(|t| t.wants_read());
                let w = self.out_pending();
                PollEvents::new(r, w)
            }
        }
    }

    /// The earliest time a `step()` is due even without I/O, or `None`.
    pub fn timeout(&self) -> Option<Instant> {
        if matches!(self.phase, Phase::Closed) {
            // Closed by a call outside a step (the application's last write, shutdown()):
            // one more step, after which the loop sees `is_closed()` where it looks for it.
            return (!self.reported).then_some(self.last_step);
        }
        let t = self.deadline();
        if matches!(self.phase, Phase::Open) && self.work_without_io() {
            return Some(t.map_or(self.last_step, |t| t.min(self.last_step)));
        }
        t
    }

    /// The earliest deadline of the clock alone (connect, shutdown, lingering, the
    /// protocol's): [`timeout`](Self::timeout) without the work due at once, which
    /// [`wants_step_now`](Self::wants_step_now) tells. For a caller that asked that first
    /// (the server, arming its heap), so the work is not looked at twice.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if let (Phase::Open, None, None) =
            (&self.phase, self.connect_deadline, self.shutdown_deadline)
        {
            return self.core.deadline(); // an open connection, the usual case
        }
        let mut t = self.connect_deadline;
        let mut merge = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        };
        merge(self.shutdown_deadline);
        match self.phase {
            Phase::Lingering(d) => merge(Some(d)),
            Phase::Open => merge(self.core.deadline()),
            Phase::Closed => return None,
            _ => {}
        }
        t
    }

    /// Whether a `step()` is due at once for work that waits on no I/O and no clock: input
    /// already buffered, output not yet tried, a message that ended. Then
    /// [`timeout`](Self::timeout) returns a time already past; this answers the same without
    /// the caller reading the clock (a loop that steps a connection again while this holds
    /// and leaves deadlines to its timer misses nothing).
    pub fn wants_step_now(&self) -> bool {
        match self.phase {
            Phase::Open => self.work_without_io(),
            Phase::Closed => !self.reported,
            _ => false,
        }
    }

    /// The no-lost-wake-up rule: whatever a step could do now without a new readiness event
    /// or a deadline is reported here, so that `timeout()` says "now". Computed from the
    /// state, not from flags set by each call, so that no application call can forget it.
    #[inline]
    fn work_without_io(&self) -> bool {
        let c = &self.core;
        // Input the core turned away for backpressure, wanted again now.
        let resumed = self.input_paused && c.wants_read();
        let news = c.readied() != self.readied_seen;
        let tls_ready = self.tls.as_ref().is_some_and(|t| t.read_ready()) && c.wants_read();
        // An idle handler owed: the exchange ended by the application's reading, and the
        // handler runs from a step.
        let idle_owed = self.idle.owed(c.is_idle());
        self.more
            || resumed
            || news
            || tls_ready
            || (self.out_pending() && !self.write_blocked)
            || idle_owed
    }

    /// Whether the connection is closed (by either side, or after an error).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Whether a client connection has finished connecting: the transport is up and, for
    /// HTTP/2, the server's SETTINGS arrived.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Open) && self.core.is_connected()
    }

    /// Why the connection failed, if it did: an I/O or connect error, or the rule the peer
    /// broke when the protocol ended the connection (a GOAWAY we sent with its code, an error
    /// answer), never only "closed".
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref().or_else(|| self.core.failure())
    }

    /// Does all the work possible now without blocking: resolves, connects, reads until the
    /// socket would block (or the read budget is spent), feeds the protocol, writes what it
    /// can, and fires passed deadlines.
    ///
    /// # Errors
    /// The connection failed in this step (I/O error, connect or resolution failure, the peer
    /// broke the protocol); it is closed now, and every stream has failed. Later calls return
    /// `Ok(())` and do nothing.
    pub fn step(&mut self) -> Result<()> {
        self.not_reentered("step()")?;
        let now = Instant::now();
        self.last_step = now;
        let r = self.step_inner(now);
        if let Err(e) = r {
            self.fail(e);
        }
        self.readied_seen = self.core.readied();
        let newly_closed = self.is_closed() && !self.reported;
        self.reported |= newly_closed;
        let r = match &self.error {
            Some(e) if newly_closed => Err(e.clone()),
            _ => Ok(()),
        };
        self.check_wakeups_then("step()", r)
    }

    fn fail(&mut self, e: Error) {
        log::debug!("connection failed: {e}");
        self.core.abort(e.clone());
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.close_now();
    }

    fn step_inner(&mut self, now: Instant) -> Result<()> {
        if let Some(d) = self.connect_deadline {
            if now >= d && !self.is_connected() && !self.is_closed() {
                let what = match (&self.phase, self.role) {
                    (Phase::Handshake, Role::Server) => "TLS handshake",
                    (Phase::Handshake, Role::Client) => "connect (TLS handshake)",
                    (Phase::Open, _) => "connect (the server's HTTP/2 SETTINGS)",
                    _ => "connect",
                };
                return Err(Error::timed_out(what));
            }
        }
        loop {
            match &mut self.phase {
                Phase::Closed => return Ok(()),
                Phase::Resolving(r) => match r.poll() {
                    None => return Ok(()),
                    Some(Err(e)) => return Err(e),
                    Some(Ok(addrs)) => {
                        let next = Connection::start_addrs(addrs, 0, None, &self.cfg)?;
                        self.set_phase(next);
                    }
                },
                Phase::Connecting { .. } => {
                    if !self.poll_connect()? {
                        return Ok(());
                    }
                }
                Phase::Handshake => {
                    if !self.poll_handshake(now)? {
                        return Ok(());
                    }
                }
                Phase::Open => break,
                Phase::Lingering(deadline) => {
                    let deadline = *deadline;
                    self.linger(now >= deadline);
                    return Ok(());
                }
            }
        }
        self.more = false;
        if let Some(date) = self.date.refresh(now) {
            // A new second: the responses written next carry it (cores start with the
            // current one).
            self.core.set_date(date);
        }
        self.do_read(now)?;
        if self.switch_to_h2(now)? {
            self.do_read(now)?;
        }
        let c = &mut self.core;
        if c.deadline().is_some_and(|d| now >= d) {
            c.on_timeout(now);
        }
        if let Some(d) = self.shutdown_deadline {
            if now >= d {
                log::debug!("graceful shutdown deadline passed; closing");
                self.core.abort(Error::new(
                    ErrorKind::Closed,
                    "connection closed at the shutdown deadline",
                ));
                self.close_now();
                return Ok(());
            }
        }
        self.do_write()?;
        self.after_io(&mut LazyNow::at(now));
        if self.connect_deadline.is_some() && self.is_connected() {
            self.connect_deadline = None;
        }
        Ok(())
    }

    /// Called after the application touched the core: writes now if a message ended. Whether
    /// reading may resume (the application took what held it back) is
    /// [`work_without_io`](Self::work_without_io)'s to see.
    pub(crate) fn after_app(&mut self) -> Result<()> {
        let r = self.after_app_inner();
        self.check_wakeups_then("a stream call", r)
    }

    fn after_app_inner(&mut self) -> Result<()> {
        let c = &self.core;
        let flush = c.want_flush() && (self.auto_flush || !c.is_h2());
        if flush && matches!(self.phase, Phase::Open) {
            if let Err(e) = self.do_write() {
                self.fail(e.clone());
                return Err(e);
            }
            self.after_io(&mut LazyNow::unread());
        } else if c.is_done() {
            self.more = true;
        } else if matches!(self.phase, Phase::Open) {
            // Deadlines the application's call started start now, not at the next step (which,
            // with nothing to read, may never come): the idle deadline when the exchange ended
            // by its reading, a response deadline when a request ended or it took the last
            // bytes that came.
            self.core.note_time(&mut LazyNow::unread());
        }
        Ok(())
    }

    /// Tells the connection that the caller's loop saw the peer close its side or an error
    /// (EPOLLRDHUP, EPOLLHUP, EPOLLERR; mio's `is_read_closed()` or `is_error()`): the next
    /// `step()` reads until the end even when [`Config::read_to_would_block`] is off.
    pub fn hint_read_closed(&mut self) {
        self.read_closed_hint = true;
    }

    /// Whether a client connection is established, without waiting: `Ok(())` once it is
    /// (resolution, TCP connect, the TLS handshake, and for HTTP/2 the server's SETTINGS; a
    /// server connection: while it is open), an error of kind `WouldBlock` while it connects
    /// (step it and ask again). [`is_connected`](Self::is_connected) is the same question as
    /// a `bool`, without the reason of a failure.
    ///
    /// # Errors
    /// `WouldBlock`: still connecting. Otherwise why it cannot be: resolution or every
    /// connect failed, the connect deadline passed, the connection closed, or it was shut
    /// down (a connection cannot be re-opened).
    pub fn try_connect(&mut self) -> Result<()> {
        if self.shutdown_deadline.is_some() {
            // lua-http: "the connection cannot be re-opened".
            return Err(Error::new(
                ErrorKind::Closed,
                "the connection was shut down; it cannot be connected again",
            ));
        }
        if self.is_connected() {
            Ok(())
        } else if let Some(e) = &self.error {
            Err(e.clone())
        } else if self.is_closed() {
            Err(self.closed_error())
        } else {
            Err(Error::would_block())
        }
    }

    /// Blocking: waits until a client connection is established (resolution, TCP connect,
    /// and for HTTP/2 by prior knowledge the server's SETTINGS), at most `timeout`.
    ///
    /// # Errors
    /// Resolution or every connect failed, or the time ran out.
    pub fn connect(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.not_reentered("connect()")?;
        wait_for(self, timeout, "connect", |c| not_yet(c.try_connect()))
    }

    /// The TLS session: protocol version, cipher suite, ALPN protocol, SNI name and the
    /// peer's certificates (lua-http's `checktls`).
    ///
    /// # Errors
    /// There is no TLS session on this connection (kind `NoTls`), or its handshake has not
    /// finished yet (kind `WouldBlock`).
    pub fn checktls(&self) -> Result<TlsInfo> {
        match &self.tls {
            Some(t) if !t.is_handshaking() => Ok(t.info()),
            Some(_) => Err(Error::new(
                ErrorKind::WouldBlock,
                "the TLS handshake has not finished yet",
            )),
            None => Err(Error::new(
                ErrorKind::NoTls,
                "no TLS session: the connection is plaintext",
            )),
        }
    }

    /// The local name; [`SockName::Unspecified`] when not connected.
    ///
    /// # Errors
    /// `getsockname` failed.
    pub fn localname(&self) -> Result<SockName> {
        match &self.sock {
            Some(s) => s.localname(),
            None => Ok(SockName::Unspecified),
        }
    }

    /// The peer's name (the next hop); [`SockName::Unspecified`] when not connected.
    ///
    /// # Errors
    /// `getpeername` failed.
    pub fn peername(&self) -> Result<SockName> {
        match &self.sock {
            Some(s) => s.peername(),
            None => Ok(SockName::Unspecified),
        }
    }

    /// Writes buffered output without blocking: `Ok(())` once all of it is out; an error of
    /// kind `WouldBlock` while some is left (the socket took what it could, or the connection
    /// is not up yet): `events()` asks for writability then, and the next steps write the rest.
    ///
    /// # Errors
    /// `WouldBlock`: output is left. Otherwise the write failed (the connection is closed
    /// now), or the connection closed with output unsent.
    pub fn try_flush(&mut self) -> Result<()> {
        self.not_reentered("try_flush()")?;
        let done = match self.phase {
            Phase::Open => match self.do_write() {
                Ok(done) => {
                    self.after_io(&mut LazyNow::unread());
                    self.check_wakeups("try_flush()");
                    done
                }
                Err(e) => {
                    self.fail(e.clone());
                    return Err(e);
                }
            },
            Phase::Closed if self.out_pending() => {
                return Err(self.error.clone().unwrap_or_else(|| {
                    Error::new(ErrorKind::Closed, "connection closed with output unsent")
                }))
            }
            _ => !self.out_pending(),
        };
        match done {
            true => Ok(()),
            false => Err(Error::new(
                ErrorKind::WouldBlock,
                "output left to write: the socket takes more later",
            )),
        }
    }

    /// Blocking: writes all buffered output, waiting at most `timeout`.
    ///
    /// # Errors
    /// The write failed or the time ran out.
    pub fn flush(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.not_reentered("flush()")?;
        wait_for(self, timeout, "flush", |c| not_yet(c.try_flush()))
    }

    /// Orderly shutdown: no new requests (server) or streams (client); in-flight exchanges
    /// finish (a server answers them with `Connection: close`), then the connection closes.
    /// Whatever is still running at the configured `shutdown_timeout` is cut off.
    pub fn shutdown(&mut self) {
        let c = &mut self.core;
        c.shutdown();
        if self.shutdown_deadline.is_none() {
            self.shutdown_deadline = Some(Instant::now() + self.cfg.shutdown_timeout);
        }
        self.more = true;
        if c.is_done() && !self.out_pending() {
            self.close_now();
        }
        self.check_wakeups("shutdown()");
    }

    /// Shuts down, flushes what is buffered (briefly, without blocking) and releases the fd.
    /// A watcher is told the end (fd -1, no deadline) before the fd is closed.
    pub fn close(mut self) {
        // Nothing to tell on the way: the end is told once, below.
        self.mute_watcher();
        self.shutdown();
        let _ = self.try_flush();
        self.close_now();
        self.watch_end();
    }

    /// Client: a new stream for one request.
    ///
    /// # Errors
    /// The connection is a server's, or it takes no more requests.
    pub fn new_stream(&mut self) -> Result<StreamId> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let r = self.core.new_stream().map(StreamId::new);
        self.tell_watcher();
        r
    }

    /// The next stream the peer started, without waiting: a request, for a server; a pushed
    /// response, for a client that enabled push ([`Http2Config::enable_push`]).
    ///
    /// `Ok(Some(id))` is a new stream; `Ok(None)` means this connection will start no more
    /// (it is closed or failed; it was shut down; the peer is going away: HTTP/2 GOAWAY,
    /// HTTP/1 `Connection: close` or the end of its input; an HTTP/1 server connection reads no
    /// more requests; a client takes no pushes), and every later call says so again; an error
    /// of kind `WouldBlock` means none has come yet: step the connection and call again.
    ///
    /// ```no_run
    /// # fn f(conn: &mut pollhttp::Connection) -> pollhttp::Result<()> {
    /// loop {
    ///     match conn.try_next_incoming_stream() {
    ///         Ok(Some(id)) => println!("new stream {id}"),
    ///         Ok(None) => break, // no more will come: finish what is in flight
    ///         Err(e) if e.is_would_block() => break, // not yet: step first
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// [`Http2Config::enable_push`]: crate::Http2Config::enable_push
    ///
    /// # Errors
    /// `WouldBlock`: none has come yet, and more may.
    pub fn try_next_incoming_stream(&mut self) -> Result<Option<StreamId>> {
        match self.core.pop_incoming() {
            Some(id) => {
                self.check_wakeups_then("try_next_incoming_stream()", Ok(Some(StreamId::new(id))))
            }
            None if self.incoming_over() => {
                self.unchanged_then("try_next_incoming_stream()", Ok(None))
            }
            None => self.unchanged_then("try_next_incoming_stream()", Err(Error::would_block())),
        }
    }

    /// Whether the peer will start no more streams (after those not yet taken).
    fn incoming_over(&self) -> bool {
        // A client's incoming streams are pushes: without push, none ever comes.
        let no_push = self.role == Role::Client && !self.cfg.http2.enable_push;
        match self.phase {
            Phase::Closed | Phase::Lingering(_) => true,
            // The version (and so the core) is not settled yet.
            Phase::Resolving(_) | Phase::Connecting { .. } | Phase::Handshake => no_push,
            Phase::Open => {
                // An HTTP/1 client may still become HTTP/2 by its h2c offer.
                let h2c_pending = !self.core.is_h2() && self.h2c != H2cOffer::No;
                no_push || (self.core.incoming_over() && !h2c_pending)
            }
        }
    }

    /// Blocking: the next stream the peer starts, waiting at most `timeout`; `Ok(None)` when
    /// no more will come (as [`try_next_incoming_stream`](Self::try_next_incoming_stream)
    /// says it: the connection closed, was shut down, the peer is going away ...).
    ///
    /// # Errors
    /// The time ran out.
    pub fn get_next_incoming_stream(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<StreamId>> {
        wait_for(self, timeout, "get_next_incoming_stream", |c| {
            not_yet(c.try_next_incoming_stream())
        })
    }

    /// The next stream with news since it was last returned: a head, body bytes, the end,
    /// an error, or room to write. A reactor drains this after each `step()`.
    pub fn next_ready_stream(&mut self) -> Option<StreamId> {
        match self.core.next_ready() {
            Some(id) => self.check_wakeups_then("next_ready_stream()", Some(StreamId::new(id))),
            None => self.unchanged_then("next_ready_stream()", None),
        }
    }

    /// Sets the handler called when the connection becomes idle (no request in progress, none
    /// waiting); returns the previous one.
    ///
    /// The handler is given an [`Idle`]: it can look at the connection and shut it down, but
    /// not step, flush or wait on it (it runs inside this connection's step).
    pub fn onidle(&mut self, handler: Option<IdleHandler>) -> Option<IdleHandler> {
        let old = std::mem::replace(&mut self.idle.handler, handler);
        // A handler owed a run makes a step due.
        self.tell_watcher();
        old
    }

    /// Whether no exchange is in progress.
    pub fn is_idle(&self) -> bool {
        self.core.is_idle()
    }

    /// Requests parsed and not yet fully answered (server) or exchanges open (client).
    pub fn streams_in_flight(&self) -> usize {
        self.core.in_flight()
    }

    /// Turns on or off the immediate write when a message ends (on by default; over HTTP/1
    /// it applies to a client's requests, over HTTP/2 to both roles). A client that pipelines
    /// many requests, or an HTTP/2 peer answering many streams in one turn of its loop, turns
    /// it off and calls [`try_flush`](Self::try_flush) once after writing them all (or lets the
    /// next `step()` write: `timeout()` is "now" while output waits).
    pub fn set_auto_flush(&mut self, on: bool) {
        self.auto_flush = on;
        self.core.set_auto_flush(on);
    }

    /// After a 101 (Switching Protocols) or a 2xx answer to CONNECT: the raw socket and the
    /// bytes already read past the head, for the caller to speak the new protocol on.
    ///
    /// # Errors
    /// The connection was not switched to a tunnel.
    pub fn into_upgraded(mut self) -> Result<(Socket, Vec<u8>)> {
        if self.tls.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "the connection speaks TLS: its raw socket cannot be handed over",
            ));
        }
        if !self.core.is_tunnel() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "the connection was not upgraded",
            ));
        }
        let _ = self.flush(Some(Duration::from_secs(5)));
        self.core.hand_over();
        let sock = self
            .sock
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "no socket"))?;
        self.phase = Phase::Closed;
        Ok((sock, std::mem::take(&mut self.inbuf)))
    }

    pub(crate) fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }

    pub(crate) fn core_ref(&self) -> &Core {
        &self.core
    }

    pub(crate) fn closed_error(&self) -> Error {
        self.error
            .clone()
            .unwrap_or_else(|| Error::new(ErrorKind::Closed, "connection closed"))
    }

    /// Outgoing bytes buffered and not yet written (for HTTP/2, with the body bytes that wait
    /// for flow-control credit).
    pub fn buffered_output(&self) -> usize {
        self.core.output().len() - self.out_pos + self.core.unsent()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.cfg
    }
}

impl Pollable for Connection {
    fn pollfd(&self) -> RawFd {
        Connection::pollfd(self)
    }
    fn events(&self) -> PollEvents {
        Connection::events(self)
    }
    fn timeout(&self) -> Option<Instant> {
        Connection::timeout(self)
    }
    fn step(&mut self) -> Result<()> {
        Connection::step(self)
    }
    fn is_closed(&self) -> bool {
        Connection::is_closed(self)
    }
    fn closed_error(&self) -> Error {
        Connection::closed_error(self)
    }
}

/// Registers [`Connection::pollfd`]. While a client connects the fd may change (the
/// resolver's wake-up socket, then each address's socket): `reregister` after such a change registers
/// the new fd (the old one was closed, which took it out of the poll set), so a loop can
/// re-register whenever `pollfd()` differs from the fd it registered, and only then (a
/// re-registration for writability wakes an edge-triggered loop at once: doing it after every
/// step spins). `deregister` of a closed connection does nothing.
impl mio::event::Source for Connection {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        let fd = self.pollfd();
        mio::unix::SourceFd(&fd).register(registry, token, interests)?;
        self.registered_fd = fd;
        Ok(())
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        let fd = self.pollfd();
        if fd != self.registered_fd {
            return self.register(registry, token, interests);
        }
        mio::unix::SourceFd(&fd).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        let fd = self.pollfd();
        let registered = std::mem::replace(&mut self.registered_fd, -1);
        if fd < 0 || fd != registered {
            // Closed: closing the fd took it out of the poll set.
            return Ok(());
        }
        mio::unix::SourceFd(&fd).deregister(registry)
    }
}
