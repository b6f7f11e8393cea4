//! Micro-benchmarks of h2-codec-lite: HPACK encoding and decoding, and frame parsing.
//!
//! `cargo bench -p h2-codec-lite` (criterion). Throughput is in bytes: for HPACK, the header
//! list's name and value bytes (what the codec turns into a block, or gets back from one),
//! so that encode and decode figures read alike; for frames, the wire bytes parsed. Under
//! `cargo test` each benchmark runs once, as a test.
//!
//! Header sets: the request and response examples of RFC 7541 Appendix C (C.3/C.4: three
//! requests on one connection, table 4096; C.5/C.6: three responses, table 256, with
//! evictions), decoded from the RFC's own Huffman-coded blocks; and a browser's navigation
//! request (Firefox 128), on a connection's first request (`cold`: every field a literal) and
//! on a later one (`warm`: the table already holds the fields).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use h2_codec_lite::hpack::{HeaderRef, HpackDecoder, HpackEncoder};
use h2_codec_lite::{
    decode_frame, encode_data, encode_headers, encode_ping, encode_settings, encode_window_update,
    Settings, DEFAULT_MAX_FRAME_SIZE,
};
use std::hint::black_box;

type Fields = &'static [(&'static str, &'static str)];

/// RFC 7541 C.3 (and C.4): three requests in a row.
const C3_REQUESTS: [Fields; 3] = [
    &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ],
    &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ],
    &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ],
];

/// RFC 7541 C.4: the blocks of C.3's requests, Huffman-coded.
const C4_BLOCKS: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];

const DATE1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION: &str = "https://www.example.com";
const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

/// RFC 7541 C.5 (and C.6): three responses in a row, with a 256-byte table.
const C5_RESPONSES: [Fields; 3] = [
    &[
        (":status", "302"),
        ("cache-control", "private"),
        ("date", DATE1),
        ("location", LOCATION),
    ],
    &[
        (":status", "307"),
        ("cache-control", "private"),
        ("date", DATE1),
        ("location", LOCATION),
    ],
    &[
        (":status", "200"),
        ("cache-control", "private"),
        ("date", DATE2),
        ("location", LOCATION),
        ("content-encoding", "gzip"),
        ("set-cookie", COOKIE),
    ],
];

/// RFC 7541 C.6: the blocks of C.5's responses, Huffman-coded.
const C6_BLOCKS: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
     9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

#[path = "data/browser_request.rs"]
mod browser_request;
use browser_request::BROWSER_REQUEST;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn refs(fields: Fields) -> impl Iterator<Item = HeaderRef<'static>> {
    fields
        .iter()
        .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes()))
}

fn field_bytes(lists: &[Fields]) -> u64 {
    let bytes: usize = lists
        .iter()
        .flat_map(|l| l.iter())
        .map(|(n, v)| n.len() + v.len())
        .sum();
    bytes as u64
}

/// Encodes `lists` in a row with one fresh encoder (table limit `table`).
fn encode_all(lists: &[Fields], table: usize, out: &mut Vec<u8>) -> usize {
    let mut encoder = HpackEncoder::new();
    encoder.set_max_table_size(table);
    out.clear();
    for list in lists {
        encoder.encode(refs(list), out);
    }
    out.len()
}

/// Decodes `blocks` in a row with one fresh decoder (table limit `table`); returns the name
/// and value bytes decoded.
fn decode_all(blocks: &[Vec<u8>], table: usize) -> usize {
    let mut decoder = HpackDecoder::new();
    decoder.set_max_table_size_setting(table);
    let mut bytes = 0;
    for block in blocks {
        decoder
            .decode(block, |h| bytes += h.name.len() + h.value.len())
            .expect("a valid block");
    }
    bytes
}

fn hpack_rfc7541(c: &mut Criterion) {
    let mut group = c.benchmark_group("hpack_rfc7541_appendix_c");
    let requests = C4_BLOCKS.map(hex).to_vec();
    let mut responses = C6_BLOCKS.map(hex).to_vec();
    // The RFC starts C.6 with a 256-byte table; a decoder whose SETTINGS_HEADER_TABLE_SIZE was
    // lowered to 256 requires the block to say so first: a size update to 256 (3f e1 01).
    responses[0].splice(0..0, [0x3f, 0xe1, 0x01]);
    let cases = [
        ("requests_c3_c4", &C3_REQUESTS, 4096, &requests),
        ("responses_c5_c6", &C5_RESPONSES, 256, &responses),
    ];
    let mut out = Vec::with_capacity(1024);
    for (name, lists, table, blocks) in cases {
        let bytes = field_bytes(lists);
        assert_eq!(
            decode_all(blocks, table) as u64,
            bytes,
            "{name}: the RFC's blocks"
        );
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| encode_all(black_box(lists), table, &mut out))
        });
        group.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| decode_all(black_box(blocks), table))
        });
    }
    group.finish();
}

fn hpack_browser(c: &mut Criterion) {
    let mut group = c.benchmark_group("hpack_browser_request");
    group.throughput(Throughput::Bytes(field_bytes(&[BROWSER_REQUEST])));
    let mut out = Vec::with_capacity(1024);

    // cold: a connection's first request, every field a literal (mostly Huffman-coded).
    group.bench_function("encode/cold", |b| {
        b.iter(|| encode_all(black_box(&[BROWSER_REQUEST]), 4096, &mut out))
    });
    let mut cold_block = Vec::new();
    encode_all(&[BROWSER_REQUEST], 4096, &mut cold_block);
    group.bench_function("decode/cold", |b| {
        b.iter(|| decode_all(black_box(std::slice::from_ref(&cold_block)), 4096))
    });

    // warm: the same request again on the same connection, the fields found in the table.
    let mut encoder = HpackEncoder::new();
    let mut first = Vec::new();
    encoder.encode(refs(BROWSER_REQUEST), &mut first);
    group.bench_function("encode/warm", |b| {
        b.iter(|| {
            out.clear();
            encoder.encode(refs(black_box(BROWSER_REQUEST)), &mut out);
            out.len()
        })
    });
    let mut warm_block = Vec::new();
    encoder.encode(refs(BROWSER_REQUEST), &mut warm_block);
    let mut decoder = HpackDecoder::new();
    decoder.decode_to_vec(&first).expect("first block");
    group.bench_function("decode/warm", |b| {
        b.iter(|| {
            let mut bytes = 0;
            decoder
                .decode(black_box(&warm_block), |h| {
                    bytes += h.name.len() + h.value.len()
                })
                .expect("warm block");
            bytes
        })
    });
    group.finish();
}

/// Parses every frame of `wire`; returns how many.
fn parse_all(wire: &[u8]) -> usize {
    let mut at = 0;
    let mut frames = 0;
    while at < wire.len() {
        let (frame, used) = decode_frame(&wire[at..], DEFAULT_MAX_FRAME_SIZE)
            .expect("a valid frame")
            .expect("a whole frame");
        black_box(&frame);
        at += used;
        frames += 1;
    }
    frames
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("h2_frame_parse");

    // What a client's connection carries at its start and then for 32 requests: SETTINGS, a
    // WINDOW_UPDATE, and per request a HEADERS frame (the browser's block, warm after the
    // first) and a 1 KiB DATA frame, with a PING in the middle.
    let mut mixed = Vec::new();
    encode_settings(
        &Settings {
            max_concurrent_streams: Some(100),
            initial_window_size: Some(1 << 20),
            ..Settings::default()
        },
        &mut mixed,
    );
    encode_window_update(0, 1 << 24, &mut mixed);
    let mut encoder = HpackEncoder::new();
    let body = vec![b'x'; 1024];
    for i in 0..32u32 {
        let mut block = Vec::new();
        encoder.encode(refs(BROWSER_REQUEST), &mut block);
        let stream = 2 * i + 1;
        encode_headers(
            stream,
            &block,
            false,
            None,
            DEFAULT_MAX_FRAME_SIZE,
            &mut mixed,
        );
        encode_data(stream, &body, true, &mut mixed);
        if i == 16 {
            encode_ping(false, *b"pollhttp", &mut mixed);
        }
    }

    // A download: 16 KiB DATA frames.
    let mut data = Vec::new();
    let chunk = vec![b'y'; 16 * 1024];
    for _ in 0..16 {
        encode_data(1, &chunk, false, &mut data);
    }

    for (name, wire) in [("mixed_requests", &mixed), ("data_16KiB", &data)] {
        assert!(parse_all(wire) > 0);
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), wire, |b, wire| {
            b.iter(|| parse_all(black_box(wire)))
        });
    }
    group.finish();
}

criterion_group!(benches, hpack_rfc7541, hpack_browser, frames);
criterion_main!(benches);
