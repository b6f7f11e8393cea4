//! Entry points for the fuzz targets in `fuzz/` (not a public API: hidden, unstable).
//!
//! Each takes arbitrary bytes and checks invariants that must hold for any input: no panic,
//! consumed counts within the input, bounded output.

use crate::config::Config;
use crate::h1::chunked::ChunkedDecoder;
use crate::h1::core::H1Core;
use crate::h1::parse::{parse_request, parse_request_reusing, parse_response, RequestMemo};
use crate::h2::{H2Config, H2Core, PREFACE};
use crate::Role;
use std::sync::Arc;
use std::time::Instant;

/// Parses `data` as a request head, and checks that taking a repeated head from the last one
/// parsed gives what a fresh parse does (`data` twice: the second is taken when the first was
/// kept; then `data` with a byte changed after the last one parsed).
pub fn request_head(data: &[u8]) {
    let cfg = Arc::new(Config::default());
    let fresh = parse_request(data, &cfg);
    if let Ok(Some((head, n))) = &fresh {
        assert!(*n <= data.len());
        assert!(head.headers.len() <= cfg.max_headers + 3);
    }
    let fresh = format!("{fresh:?}");
    // What a server connection keeps from one head to the next.
    let (mut memo, mut spare) = (RequestMemo::default(), Vec::new());
    for _ in 0..2 {
        assert_eq!(
            format!(
                "{:?}",
                parse_request_reusing(&mut memo, data, &cfg, &mut spare)
            ),
            fresh
        );
    }
    if let Some(last) = data.len().checked_sub(1) {
        let mut changed = data.to_vec();
        changed[last / 2] ^= 0x01;
        let fresh = format!("{:?}", parse_request(&changed, &cfg));
        assert_eq!(
            format!(
                "{:?}",
                parse_request_reusing(&mut memo, &changed, &cfg, &mut spare)
            ),
            fresh
        );
    }
}

/// Parses `data` as a response head, for each kind of request.
pub fn response_head(data: &[u8]) {
    let cfg = Config::default();
    for (head, connect) in [(false, false), (true, false), (false, true)] {
        if let Ok(Some((_, n))) = parse_response(data, &cfg, head, connect, &mut Vec::new()) {
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

/// Adds `piece` to the input a core has not taken yet and offers all of it to `recv` (the
/// core's), which returns how much it took; keeps the rest for the next piece.
fn offer(buf: &mut Vec<u8>, piece: &[u8], recv: impl FnOnce(&[u8]) -> usize) {
    buf.extend_from_slice(piece);
    let n = recv(buf);
    assert!(n <= buf.len());
    buf.drain(..n);
}

/// Answers every request a server core (HTTP/1 or HTTP/2: the same calls) has taken: its body
/// read and dropped, then `200` with `ok`.
macro_rules! answer_every_request {
    ($core:expr) => {
        while let Some(id) = $core.pop_incoming() {
            let _ = $core.with_recv(id, |r| {
                let mut b = Vec::new();
                let _ = r.drain_into(&mut b);
            });
            let _ =
                $core.write_headers(id, &crate::Headers::response(crate::StatusCode::OK), false);
            let _ = $core.write_body(id, b"ok", true);
        }
    };
}

/// Feeds `data` to a server core in pieces, answering every request, and checks that the
/// output stays bounded.
pub fn server_core(data: &[u8]) {
    let now = Instant::now();
    let mut c = H1Core::new(Role::Server, Arc::new(Config::default()), 1, now);
    let mut buf: Vec<u8> = Vec::new();
    for piece in data.chunks(97) {
        offer(&mut buf, piece, |b| c.recv(b, now));
        answer_every_request!(c);
        assert!(c.output().len() < 1 << 20);
        c.sent_all();
        if c.is_done() {
            break;
        }
    }
    c.recv_eof();
}

/// Feeds `data` (after the client preface) to an HTTP/2 server core in pieces, answering
/// every request stream, and checks that the output stays bounded and nothing panics.
pub fn h2_server_core(data: &[u8]) {
    let now = Instant::now();
    let cfg = H2Config::from_config(&Config::default(), Role::Server);
    let mut c = H2Core::new(Role::Server, cfg, now);
    let mut buf: Vec<u8> = PREFACE.to_vec();
    for piece in data.chunks(61) {
        offer(&mut buf, piece, |b| c.recv(b, now));
        answer_every_request!(c);
        while c.next_ready().is_some() {}
        assert!(c.output().len() < 1 << 21);
        // As the face does once `out` is written: it empties, and waiting DATA moves in.
        c.sent_all();
        c.on_timeout(now);
        if c.is_done() {
            break;
        }
    }
    c.recv_eof();
}

/// Feeds `data` to an HTTP/2 client core that has two requests in flight, reading whatever
/// arrives, and checks that the output stays bounded and nothing panics.
pub fn h2_client_core(data: &[u8]) {
    let now = Instant::now();
    let mut cfg = Config::default();
    cfg.http2.enable_push = data.first().is_some_and(|b| b & 1 == 1);
    let mut c = H2Core::new(Role::Client, H2Config::from_config(&cfg, Role::Client), now);
    for path in ["/a", "/b"] {
        if let Ok(id) = c.new_stream() {
            let _ = c.write_headers(
                id,
                &crate::Headers::request(crate::Method::GET, path, Some("x")),
                true,
            );
        }
    }
    c.sent_all();
    let mut buf: Vec<u8> = Vec::new();
    for piece in data.chunks(53) {
        offer(&mut buf, piece, |b| c.recv(b, now));
        while let Some(id) = c.next_ready() {
            let _ = c.with_recv(id, |r| {
                let _ = r.take_head();
                let mut b = Vec::new();
                let _ = r.drain_into(&mut b);
            });
        }
        while c.pop_incoming().is_some() {}
        assert!(c.output().len() < 1 << 21);
        c.sent_all();
        if c.is_done() {
            break;
        }
    }
    c.recv_eof();
}

#[cfg(test)]
mod tests {
    /// The pseudo-random source of the generated inputs (xorshift64), and the edits it makes.
    struct Mutator(u64);

    impl Mutator {
        fn next(&mut self) -> u64 {
            let x = &mut self.0;
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *x
        }

        /// Fewer than `most` random edits of `v`, each a byte changed, a byte `insert` makes
        /// from a random number put in, a byte dropped, or a cut (that keeps `keep` bytes at
        /// least).
        fn mutate(&mut self, v: &mut Vec<u8>, most: u64, insert: impl Fn(u64) -> u8, keep: usize) {
            for _ in 0..(self.next() % most) {
                let r = self.next();
                let pos = (r as usize >> 8) % (v.len() + 1);
                match r % 4 {
                    0 if pos < v.len() => v[pos] = (r >> 32) as u8,
                    1 => v.insert(pos, insert(r)),
                    2 if pos < v.len() => {
                        v.remove(pos);
                    }
                    _ => v.truncate(pos.max(keep)),
                }
            }
        }
    }

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
        let mut m = Mutator(0x9E37_79B9_7F4A_7C15);
        let http_byte = |r: u64| b"\r\n:; \x00\t0fF"[(r >> 40) as usize % 10];
        for round in 0..20000 {
            let seed = seeds[round % seeds.len()];
            let mut v = seed.to_vec();
            m.mutate(&mut v, 6, http_byte, 0);
            super::request_head(&v);
            super::response_head(&v);
            super::chunked(&v);
            super::server_core(&v);
        }
    }

    /// The HTTP/2 fuzz bodies over frame sequences built from valid frames and then mutated
    /// (bytes changed, inserted, dropped, cut).
    #[test]
    fn h2_fuzz_bodies_hold_on_generated_inputs() {
        use h2_codec_lite::hpack::{HeaderRef, HpackEncoder};
        use h2_codec_lite::{
            encode_data, encode_headers, encode_ping, encode_settings, encode_window_update,
            Settings,
        };
        let mut frames = Vec::new();
        encode_settings(&Settings::default(), &mut frames);
        let mut block = Vec::new();
        HpackEncoder::new().encode(
            [
                HeaderRef::new(b":method", b"POST"),
                HeaderRef::new(b":scheme", b"http"),
                HeaderRef::new(b":authority", b"x"),
                HeaderRef::new(b":path", b"/"),
                HeaderRef::new(b":status", b"200"),
            ],
            &mut block,
        );
        encode_headers(1, &block, false, None, 16_384, &mut frames);
        encode_data(1, b"hello", false, &mut frames);
        encode_window_update(0, 1000, &mut frames);
        encode_ping(false, *b"12345678", &mut frames);
        encode_headers(3, &block, true, None, 16_384, &mut frames);
        encode_data(1, b"", true, &mut frames);
        let mut m = Mutator(0x2545_F491_4F6C_DD1D);
        for _ in 0..3000 {
            let mut v = frames.clone();
            // Cuts keep the first frame's header.
            m.mutate(&mut v, 8, |r| (r >> 40) as u8, 9);
            super::h2_server_core(&v);
            super::h2_client_core(&v);
        }
    }
}

/// Entry points for the criterion benchmarks in `benches/` (not a public API: hidden,
/// unstable): the HTTP/1 codecs alone, with no connection around them.
pub mod bench {
    use crate::config::Config;
    use crate::h1::chunked::ChunkedDecoder;
    use crate::h1::parse::{parse_request, parse_request_reusing};

    /// Parses a request head at the start of `data` afresh (as with `Config::reuse_heads`
    /// off); returns the bytes it used, 0 if the head is incomplete or invalid.
    pub fn request_head(data: &[u8], cfg: &Config) -> usize {
        match parse_request(data, cfg) {
            Ok(Some((_, used))) => used,
            _ => 0,
        }
    }

    /// What a server connection keeps from one request head to the next (the last head
    /// parsed), for [`request_head_reusing`].
    #[derive(Default)]
    pub struct RequestMemo {
        memo: crate::h1::parse::RequestMemo,
        spare: Vec<crate::headers::Headers>,
    }

    /// Parses a request head the way a server connection does by default: a head that repeats
    /// the last one kept in `memo` (with the same `cfg`) is taken from it. Returns the bytes
    /// used, 0 if incomplete or invalid.
    pub fn request_head_reusing(
        memo: &mut RequestMemo,
        data: &[u8],
        cfg: &std::sync::Arc<Config>,
    ) -> usize {
        match parse_request_reusing(&mut memo.memo, data, cfg, &mut memo.spare) {
            Ok(Some((_, used))) => used,
            _ => 0,
        }
    }

    /// Decodes `data` as one whole chunked body (trailers allowed) into `body`, which is
    /// cleared first; returns the bytes of `data` used, 0 on an error.
    pub fn chunked_body(data: &[u8], body: &mut Vec<u8>) -> usize {
        body.clear();
        match ChunkedDecoder::new().decode(data, 8192, 100, |d| body.extend_from_slice(d)) {
            Ok(decoded) => decoded.consumed,
            Err(_) => 0,
        }
    }
}
