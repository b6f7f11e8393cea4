//! Entry points for the fuzz targets in `fuzz/` (not a public API: hidden, unstable).
//!
//! Each takes arbitrary bytes and checks invariants that must hold for any input: no panic,
//! consumed counts within the input, bounded output.

use crate::config::Config;
use crate::h1::chunked::ChunkedDecoder;
use crate::h1::core::H1Core;
use crate::h1::parse::{parse_request, parse_response};
use crate::Role;
use std::sync::Arc;
use std::time::Instant;

/// Parses `data` as a request head.
pub fn request_head(data: &[u8]) {
    let cfg = Config::default();
    if let Ok(Some((head, n))) = parse_request(data, &cfg) {
        assert!(n <= data.len());
        assert!(head.headers.len() <= cfg.max_headers + 3);
    }
}

/// Parses `data` as a response head, for each kind of request.
pub fn response_head(data: &[u8]) {
    let cfg = Config::default();
    for (head, connect) in [(false, false), (true, false), (false, true)] {
        if let Ok(Some((_, n))) = parse_response(data, &cfg, head, connect) {
            assert!(n <= data.len());
        }
    }
}

/// Decodes `data` as a chunked body, whole and split in two at every 7th offset.
pub fn chunked(data: &[u8]) {
    let mut whole = Vec::new();
    let r1 = ChunkedDecoder::new().decode(data, 8192, 100, |d| whole.extend_from_slice(d));
    assert!(whole.len() <= data.len());
    for cut in (0..data.len()).step_by(7).take(64) {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let a = d.decode(&data[..cut], 8192, 100, |x| body.extend_from_slice(x));
        let Ok(a) = a else { continue };
        assert!(a.consumed <= cut);
        if a.done {
            continue;
        }
        let mut rest = data[a.consumed..cut].to_vec();
        rest.extend_from_slice(&data[cut..]);
        let b = d.decode(&rest, 8192, 100, |x| body.extend_from_slice(x));
        if let (Ok(x), Ok(y)) = (&r1, &b) {
            if x.done && y.done {
                assert_eq!(body, whole, "a split changed the body");
            }
        }
    }
}

/// Feeds `data` to a server core in pieces, answering every request, and checks that the
/// output stays bounded.
pub fn server_core(data: &[u8]) {
    let now = Instant::now();
    let mut c = H1Core::new(Role::Server, Arc::new(Config::default()), 1, now);
    let mut buf: Vec<u8> = Vec::new();
    for piece in data.chunks(97) {
        buf.extend_from_slice(piece);
        let n = c.recv(&buf, now);
        assert!(n <= buf.len());
        buf.drain(..n);
        while let Some(id) = c.incoming.pop_front() {
            let _ = c.with_recv(id, |r| {
                let mut b = Vec::new();
                let _ = r.drain_into(&mut b);
            });
            let _ = c.write_headers(id, &crate::Headers::response(200), false);
            let _ = c.write_body(id, b"ok", true);
        }
        assert!(c.out.len() < 1 << 20);
        c.out.clear();
        if c.is_done() {
            break;
        }
    }
    c.recv_eof();
}

#[cfg(test)]
mod tests {
    /// The fuzz bodies over a fixed set of pseudo-random and mutated inputs, so that the
    /// invariants are checked in every test run, not only under `cargo fuzz`.
    #[test]
    fn fuzz_bodies_hold_on_generated_inputs() {
        let seeds: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"5;e=1\r\nhello\r\n0\r\n\r\n",
            b"POST / HTTP/1.0\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhiGET / HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\n\r\n",
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20000 {
            let seed = seeds[round % seeds.len()];
            let mut v = seed.to_vec();
            for _ in 0..(next() % 6) {
                let r = next();
                let pos = (r as usize >> 8) % (v.len() + 1);
                match r % 4 {
                    0 if pos < v.len() => v[pos] = (r >> 32) as u8,
                    1 => v.insert(pos, b"\r\n:; \x00\t0fF"[(r >> 40) as usize % 10]),
                    2 if pos < v.len() => {
                        v.remove(pos);
                    }
                    _ => v.truncate(pos),
                }
            }
            super::request_head(&v);
            super::response_head(&v);
            super::chunked(&v);
            super::server_core(&v);
        }
    }
}
