//! `mio-limit PORT`: the ceiling of pollhttp's HTTP/1.1 benchmarks.
//!
//! A server with no HTTP in it. It counts the ends of request heads (`\r\n\r\n`) in what it
//! reads and writes one canned `200` answer for each, so it supports keep-alive and pipelining
//! with the fewest possible instructions between the system calls. A real server can approach
//! its figures, not pass them: the kernel's part (loopback TCP, epoll) is the same for both.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
const END_OF_HEAD: &[u8; 4] = b"\r\n\r\n";
const LISTENER: Token = Token(usize::MAX);

/// One client connection.
struct Client {
    socket: TcpStream,
    /// How many bytes of `END_OF_HEAD` the bytes read so far end with (0 to 3): a head's end
    /// may be split between two reads.
    matched: usize,
    /// Answers not yet written.
    pending: Vec<u8>,
}

impl Client {
    /// Counts the request heads that `bytes` completes.
    fn heads_in(&mut self, bytes: &[u8]) -> usize {
        let mut heads = 0;
        for &b in bytes {
            self.matched = if b == END_OF_HEAD[self.matched] {
                self.matched + 1
            } else if b == b'\r' {
                1
            } else {
                0
            };
            if self.matched == END_OF_HEAD.len() {
                heads += 1;
                self.matched = 0;
            }
        }
        heads
    }

    /// Reads until the socket would block, then writes what is owed. Returns false when the
    /// connection is over.
    fn serve(&mut self, buf: &mut [u8]) -> bool {
        loop {
            match self.socket.read(buf) {
                Ok(0) => return false,
                Ok(n) => {
                    for _ in 0..self.heads_in(&buf[..n]) {
                        self.pending.extend_from_slice(ANSWER);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        while !self.pending.is_empty() {
            match self.socket.write(&self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        true
    }
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: mio-limit PORT");
            std::process::exit(2);
        }
    };
    let mut poll = Poll::new().expect("epoll instance");
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .expect("register the listener");
    let mut clients: HashMap<usize, Client> = HashMap::new();
    let mut next_token = 0usize;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            panic!("epoll_wait: {e}");
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut socket, _)) = listener.accept() {
                    let _ = socket.set_nodelay(true);
                    let token = Token(next_token);
                    next_token += 1;
                    // Edge-triggered, both directions, registered once: no epoll_ctl per turn.
                    if poll
                        .registry()
                        .register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)
                        .is_ok()
                    {
                        let client = Client {
                            socket,
                            matched: 0,
                            pending: Vec::new(),
                        };
                        clients.insert(token.0, client);
                    }
                }
                continue;
            }
            let id = event.token().0;
            let open = clients.get_mut(&id).is_some_and(|c| c.serve(&mut buf));
            if !open {
                clients.remove(&id);
            }
        }
    }
}
