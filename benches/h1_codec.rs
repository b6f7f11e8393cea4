//! Micro-benchmarks of the HTTP/1 codecs, without a connection or a socket around them: the
//! request-head parser (a fresh parse, and the server's default path, which takes a head that
//! repeats the last one from it) and the chunked decoder. Throughput is in input bytes.
//!
//! `cargo bench --bench h1_codec` (criterion; a change to a codec shows here without a whole
//! server run: see docs/benchmarks.md). Under `cargo test` each benchmark runs once, as a test.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pollhttp::fuzzing::bench;
use pollhttp::Config;
use std::hint::black_box;
use std::sync::Arc;

/// What `curl http://example.com/` sends.
const CURL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/7.88.1\r\n\
Accept: */*\r\n\r\n";

/// A browser's navigation request (Firefox 128 on Linux), with a cookie.
const BROWSER_GET: &[u8] = b"GET /catalog/item/4711?ref=list&page=3 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/catalog/index.html\r\n\
Connection: keep-alive\r\n\
Cookie: session=8f2c1e0b9a7d4c3e2f1a0b9c8d7e6f5a; theme=dark; consent=yes\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: same-origin\r\n\
Priority: u=0, i\r\n\r\n";

/// A POST as an API client sends it.
const API_POST: &[u8] = b"POST /api/v1/orders HTTP/1.1\r\nHost: api.example.com\r\n\
Content-Type: application/json\r\nContent-Length: 256\r\nAccept: application/json\r\n\
Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl\r\n\
X-Request-Id: 3f2a9c1e-8b7d-4e6f-a5c4-1b2d3e4f5a6b\r\n\r\n";

fn request_heads(c: &mut Criterion) {
    let cfg = Arc::new(Config::default());
    let mut group = c.benchmark_group("h1_request_head");
    for (name, head) in [
        ("curl", CURL_GET),
        ("browser", BROWSER_GET),
        ("api_post", API_POST),
    ] {
        assert_eq!(
            bench::request_head(head, &cfg),
            head.len(),
            "{name} must parse"
        );
        group.throughput(Throughput::Bytes(head.len() as u64));
        group.bench_with_input(BenchmarkId::new("fresh", name), head, |b, head| {
            b.iter(|| bench::request_head(black_box(head), &cfg))
        });
        // The server's default: the same head again is taken from the last one parsed (a head
        // with credentials, such as api_post's or the browser's cookie, never is).
        group.bench_with_input(BenchmarkId::new("reusing", name), head, |b, head| {
            let mut memo = bench::RequestMemo::default();
            b.iter(|| bench::request_head_reusing(&mut memo, black_box(head), &cfg))
        });
    }
    group.finish();
}

/// `body_len` bytes in chunks of `chunk` bytes, then the last chunk and, if asked, trailers.
fn chunked(body_len: usize, chunk: usize, trailers: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body_len + body_len / chunk * 8 + 64);
    let payload: Vec<u8> = (0..chunk).map(|i| b'a' + (i % 26) as u8).collect();
    let mut left = body_len;
    while left > 0 {
        let n = left.min(chunk);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&payload[..n]);
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out.extend_from_slice(b"0\r\n");
    if trailers {
        out.extend_from_slice(b"Server-Timing: total;dur=12\r\nX-Checksum: 9a8b7c6d\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn chunked_bodies(c: &mut Criterion) {
    let mut group = c.benchmark_group("h1_chunked_decode");
    let cases = [
        ("64KiB_in_4KiB_chunks", chunked(64 * 1024, 4096, false)),
        ("4KiB_in_64B_chunks_with_trailers", chunked(4096, 64, true)),
    ];
    let mut body = Vec::new();
    for (name, wire) in &cases {
        assert_eq!(
            bench::chunked_body(wire, &mut body),
            wire.len(),
            "{name} must decode"
        );
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), wire, |b, wire| {
            b.iter(|| bench::chunked_body(black_box(wire), &mut body))
        });
    }
    group.finish();
}

criterion_group!(benches, request_heads, chunked_bodies);
criterion_main!(benches);
