//! Driving connections in the test's own thread, and the request/response helpers the tests
//! share.
//!
//! One `poll(2)` loop for every test that steps connections itself: [`wait`] is the one
//! `poll(2)` (every item's fd for its events, woken no later than the earliest timeout),
//! [`turn`] waits once and steps every connection, and [`drive_until`] turns until a condition
//! holds, bounded in turns ([`MAX_TURNS`]) and time, panicking with what it waited for. The
//! loops of `tests/loops/` are the docs' three loop kinds and stay apart on purpose.
//!
//! The request helpers use the blocking conveniences: [`send`] writes a bodiless request,
//! [`response`] reads a response whole, [`get`] does both for a GET and [`exchange`] for any
//! request; [`Response`]
//! reads one as it arrives without waiting, for tests that drive the loop themselves.

use pollhttp::{Connection, Headers, Idle, IdleHandler, Listener, StreamId};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bound on the turns of [`drive_until`]: more means a spinning loop.
pub const MAX_TURNS: usize = 10_000;

/// Something [`wait`] can wait on: a file descriptor, the `poll(2)` events wanted on it and a
/// deadline.
pub trait Pollee {
    /// The fd to poll; negative to wait on nothing but the deadline.
    fn poll_fd(&self) -> RawFd;
    /// The `poll(2)` events wanted on [`Pollee::poll_fd`].
    fn poll_events(&self) -> i16;
    /// When to be woken at the latest, if ever.
    fn poll_deadline(&self) -> Option<Instant> {
        None
    }
}

impl Pollee for Connection {
    /// A connection that asks for no event waits only for its timeout (fd -1), so that a
    /// hung-up socket it does not watch cannot spin the loop.
    fn poll_fd(&self) -> RawFd {
        if self.events().is_none() {
            -1
        } else {
            self.pollfd()
        }
    }
    fn poll_events(&self) -> i16 {
        self.events().to_poll()
    }
    fn poll_deadline(&self) -> Option<Instant> {
        self.timeout()
    }
}

impl Pollee for Listener {
    fn poll_fd(&self) -> RawFd {
        self.pollfd()
    }
    fn poll_events(&self) -> i16 {
        self.events().to_poll()
    }
}

/// A bare fd waited on for reading (a wake-up pipe, a listening `std` socket).
pub struct Readable(pub RawFd);

impl Pollee for Readable {
    fn poll_fd(&self) -> RawFd {
        self.0
    }
    fn poll_events(&self) -> i16 {
        libc::POLLIN
    }
}

impl<P: Pollee + ?Sized> Pollee for &P {
    fn poll_fd(&self) -> RawFd {
        (**self).poll_fd()
    }
    fn poll_events(&self) -> i16 {
        (**self).poll_events()
    }
    fn poll_deadline(&self) -> Option<Instant> {
        (**self).poll_deadline()
    }
}

impl<P: Pollee + ?Sized> Pollee for &mut P {
    fn poll_fd(&self) -> RawFd {
        (**self).poll_fd()
    }
    fn poll_events(&self) -> i16 {
        (**self).poll_events()
    }
    fn poll_deadline(&self) -> Option<Instant> {
        (**self).poll_deadline()
    }
}

/// Milliseconds from `now` to `until` for `poll(2)`, rounded up so that a deadline is never
/// woken for just before it passes.
pub fn poll_ms(until: Instant, now: Instant) -> i32 {
    until
        .saturating_duration_since(now)
        .as_micros()
        .div_ceil(1000)
        .min(i32::MAX as u128) as i32
}

/// One `poll(2)` on every item's fd for its events, until the earliest of their deadlines and
/// `until`. Returns the `revents` of each item, in order.
pub fn wait<P: Pollee>(items: &[P], until: Instant) -> Vec<i16> {
    let now = Instant::now();
    let mut wake = until;
    let mut fds: Vec<libc::pollfd> = items
        .iter()
        .map(|p| {
            if let Some(t) = p.poll_deadline() {
                wake = wake.min(t);
            }
            libc::pollfd {
                fd: p.poll_fd(),
                events: p.poll_events(),
                revents: 0,
            }
        })
        .collect();
    // SAFETY: `fds` is a valid array of pollfd for the duration of the call.
    let n = unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            poll_ms(wake, now),
        )
    };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
    }
    fds.iter().map(|p| p.revents).collect()
}

/// Waits once on every connection (see [`wait`]), at most until `until`, then steps every
/// connection; a step's error shows in the connection (`is_closed()`, `error()`) and its
/// streams.
pub fn turn(conns: &mut [&mut Connection], until: Instant) {
    wait(conns, until);
    for c in conns.iter_mut() {
        let _ = c.step();
    }
}

/// Calls `turn(state, deadline)` until `done(state)` holds; panics naming `what` after
/// `limit` or [`MAX_TURNS`] turns (a spinning loop). Returns the number of turns.
pub fn until<S: ?Sized>(
    state: &mut S,
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&mut S) -> bool,
    mut turn: impl FnMut(&mut S, Instant),
) -> usize {
    let deadline = Instant::now() + limit;
    let mut turns = 0;
    while !done(state) {
        turns += 1;
        assert!(
            Instant::now() < deadline && turns < MAX_TURNS,
            "{what}: not done after {turns} turns ({limit:?})"
        );
        turn(state, deadline);
    }
    turns
}

/// [`turn`]s `conns` until `done` holds; panics naming `what` after `limit` or [`MAX_TURNS`]
/// turns. Returns the number of turns.
pub fn drive_until(
    conns: &mut [&mut Connection],
    what: &str,
    limit: Duration,
    done: impl FnMut(&mut [&mut Connection]) -> bool,
) -> usize {
    until(conns, what, limit, done, turn)
}

/// [`drive_until`] for one connection.
pub fn drive_one(
    conn: &mut Connection,
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&mut Connection) -> bool,
) -> usize {
    drive_until(&mut [conn], what, limit, |c| done(c[0]))
}

/// The next stream the peer of `conn` started, if one has come (`None`: not yet); panics when
/// the connection says no more will come, or fails.
pub fn incoming(conn: &mut Connection) -> Option<StreamId> {
    match conn.try_next_incoming_stream() {
        Ok(Some(id)) => Some(id),
        Err(e) if e.is_would_block() => None,
        other => panic!("the next incoming stream: {other:?}"),
    }
}

// ----------------------------------------------------------------------------------------------
// Requests and responses
// ----------------------------------------------------------------------------------------------

/// Writes a bodiless request (`method` `path` for `authority`) on a new stream.
pub fn send(conn: &mut Connection, method: &str, path: &str, authority: &str) -> StreamId {
    let id = conn.new_stream().expect("a new stream");
    conn.stream(id)
        .write_headers(
            &Headers::request(method.parse().expect("a method"), path, Some(authority)),
            true,
        )
        .unwrap_or_else(|e| panic!("{method} {path}: the request head: {e}"));
    id
}

/// Writes a GET of `path` for `authority` on a new stream.
pub fn send_get(conn: &mut Connection, path: &str, authority: &str) -> StreamId {
    send(conn, "GET", path, authority)
}

/// A GET of `path` for `authority` on a new stream and its whole response, each wait bounded
/// by `timeout`: (head, body).
pub fn get(
    conn: &mut Connection,
    path: &str,
    authority: &str,
    timeout: Option<Duration>,
) -> (Headers, Vec<u8>) {
    let id = send_get(conn, path, authority);
    response(conn, id, timeout)
}

/// Reads stream `id`'s response whole, each wait bounded by `timeout`: (head, body).
pub fn try_response(
    conn: &mut Connection,
    id: StreamId,
    timeout: Option<Duration>,
) -> pollhttp::Result<(Headers, Vec<u8>)> {
    let mut stream = conn.stream(id);
    let head = stream
        .get_headers(timeout)?
        .ok_or_else(|| pollhttp::Error::new(pollhttp::ErrorKind::Closed, "no response head"))?;
    let body = stream.get_body_as_bytes(timeout)?;
    Ok((head, body))
}

/// [`try_response`], panicking with the stream and the error.
pub fn response(
    conn: &mut Connection,
    id: StreamId,
    timeout: Option<Duration>,
) -> (Headers, Vec<u8>) {
    try_response(conn, id, timeout).unwrap_or_else(|e| panic!("response on {id:?}: {e}"))
}

/// Sends `head` on a new stream, with `body` (and its `content-length`) when it is not empty,
/// and reads the response; each wait bounded by `timeout`.
pub fn try_exchange(
    conn: &mut Connection,
    mut head: Headers,
    body: &[u8],
    timeout: Option<Duration>,
) -> pollhttp::Result<(Headers, Vec<u8>)> {
    let id = conn.new_stream()?;
    let mut stream = conn.stream(id);
    if body.is_empty() {
        stream.write_headers(&head, true)?;
    } else {
        head.append("content-length", body.len().to_string());
        stream.write_headers(&head, false)?;
        stream.write_body_from_bytes(body, timeout)?;
    }
    try_response(conn, id, timeout)
}

/// [`try_exchange`], panicking with the request and the connection's version.
pub fn exchange(
    conn: &mut Connection,
    head: Headers,
    body: &[u8],
    timeout: Option<Duration>,
) -> (Headers, Vec<u8>) {
    let what = format!(
        "{} {}",
        head.get_str(":method").unwrap_or("?"),
        head.path().unwrap_or("?")
    );
    try_exchange(conn, head, body, timeout)
        .unwrap_or_else(|e| panic!("{what} over {:?}: {e}", conn.version()))
}

/// A response read as it arrives, without waiting: for tests that turn the loop themselves.
#[derive(Debug, Default)]
pub struct Response {
    /// The head, once in.
    pub head: Option<Headers>,
    /// The body bytes so far.
    pub body: Vec<u8>,
}

impl Response {
    /// Takes what stream `id` has now; `true` once the body is over. Panics on an error.
    pub fn take(&mut self, conn: &mut Connection, id: StreamId) -> bool {
        let mut s = conn.stream(id);
        if self.head.is_none() {
            match s.try_get_headers() {
                Ok(Some(h)) => self.head = Some(h),
                Err(e) if e.is_would_block() => return false,
                other => panic!("response head on {id:?}: {other:?}"),
            }
        }
        loop {
            match s.try_get_next_chunk() {
                Ok(Some(d)) => self.body.extend_from_slice(&d),
                Ok(None) => return true,
                Err(e) if e.is_would_block() => return false,
                Err(e) => panic!("response body on {id:?}: {e:?}"),
            }
        }
    }
}

/// An idle handler that counts its calls, and the count; it asserts that the connection is
/// idle each time it is called.
pub fn counting_idle_handler() -> (Arc<AtomicUsize>, IdleHandler) {
    let n = Arc::new(AtomicUsize::new(0));
    let m = n.clone();
    let h: IdleHandler = Box::new(move |c: &mut Idle<'_>| {
        assert!(c.is_idle(), "onidle called on a busy connection");
        m.fetch_add(1, Ordering::SeqCst);
    });
    (n, h)
}
