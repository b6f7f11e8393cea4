//! HPACK micro-benchmark: encodes and decodes a realistic browser request
//! header list N times and prints throughput.
//!
//! ```text
//! cargo run --release -p h2-codec-lite --example hpack_bench [N]
//! ```
//!
//! Two scenarios:
//! * `warm`: one encoder/decoder pair for all N blocks, as on a long-lived
//!   connection; the dynamic table turns most fields into 1-byte indices
//!   and only `:path` (different every time) stays a literal.
//! * `cold`: a fresh encoder/decoder for every block, as for the first
//!   request on a connection; every field is a (mostly Huffman-coded)
//!   literal, so this measures string and Huffman coding.
//!
//! MB/s counts uncompressed header bytes (name + value) per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use h2_codec_lite::hpack::{HeaderRef, HpackDecoder, HpackEncoder};

#[path = "../benches/data/browser_request.rs"]
mod browser_request;
use browser_request::BROWSER_REQUEST;

fn paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "/catalog/item/{}?ref=list&page={}",
                i * 7919 % 100_000,
                i % 50
            )
        })
        .collect()
}

/// The browser's request with `path` as its `:path` (different for every block).
fn request(path: &str) -> impl Iterator<Item = HeaderRef<'_>> {
    BROWSER_REQUEST.iter().map(move |&(n, v)| {
        let v = if n == ":path" { path } else { v };
        HeaderRef::new(n.as_bytes(), v.as_bytes())
    })
}

fn report(what: &str, blocks: usize, fields: usize, bytes: usize, t: Duration) {
    let s = t.as_secs_f64();
    println!(
        "{what:<12} {:>8.1} MB/s  {:>6.2} M headers/s  {:>7.0} k blocks/s",
        bytes as f64 / s / 1e6,
        fields as f64 / s / 1e6,
        blocks as f64 / s / 1e3,
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N must be a number"))
        .unwrap_or(200_000);
    let paths = paths(n);
    let fields_per_block = BROWSER_REQUEST.len();
    let raw_bytes: usize = paths
        .iter()
        .map(|p| {
            request(p)
                .map(|h| h.name.len() + h.value.len())
                .sum::<usize>()
        })
        .sum();

    for scenario in ["warm", "cold"] {
        let cold = scenario == "cold";
        // Encode.
        let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(n);
        let mut enc = HpackEncoder::new();
        let t = Instant::now();
        for p in &paths {
            if cold {
                enc = HpackEncoder::new();
            }
            let mut out = Vec::with_capacity(512);
            enc.encode(request(p), &mut out);
            blocks.push(black_box(out));
        }
        let enc_time = t.elapsed();
        let wire: usize = blocks.iter().map(Vec::len).sum();

        // Decode (in order, so the warm decoder's table stays in sync).
        let mut dec = HpackDecoder::new();
        let mut seen = 0usize;
        let t = Instant::now();
        for b in &blocks {
            if cold {
                dec = HpackDecoder::new();
            }
            dec.decode(b, |h| {
                seen += 1;
                black_box(h);
            })
            .expect("decodes");
        }
        let dec_time = t.elapsed();
        assert_eq!(seen, n * fields_per_block);

        println!(
            "{scenario}: {n} blocks x {fields_per_block} fields, {:.1} bytes/block raw -> {:.1} bytes/block encoded",
            raw_bytes as f64 / n as f64,
            wire as f64 / n as f64
        );
        report("  encode", n, seen, raw_bytes, enc_time);
        report("  decode", n, seen, raw_bytes, dec_time);
    }
}
