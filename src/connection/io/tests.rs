use super::SCRATCH;
use crate::config::Config;
use crate::transport::Socket;
use crate::Connection;
use std::io::Write;
use std::sync::Arc;

#[test]
fn the_read_scratch_keeps_nothing_of_a_read_once_the_bytes_are_handed_on() {
    let (a, mut b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    let sock = Socket::Unix(mio::net::UnixStream::from_std(a));
    let mut conn = Connection::server(sock, Arc::new(Config::default()));
    b.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Api-Key: secret-123\r\n\r\n")
        .unwrap();
    let mut got = false;
    for _ in 0..10 {
        conn.step().unwrap();
        got = matches!(conn.try_next_incoming_stream(), Ok(Some(_)));
        if got {
            break;
        }
    }
    assert!(got, "the request came in");
    let (len, dirty) = SCRATCH.with(|s| {
        let s = s.borrow();
        (s.len(), s.iter().filter(|&&b| b != 0).count())
    });
    assert!(len > 0, "the read went through the scratch");
    assert_eq!(dirty, 0, "no byte of the request is left in the scratch");
}
