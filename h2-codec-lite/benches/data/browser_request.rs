//! The header list of a browser's navigation request, shared by the criterion benchmarks
//! (`benches/codec.rs`) and `examples/hpack_bench.rs`.

/// A browser's navigation request (Firefox 128 on Linux), with a cookie.
pub const BROWSER_REQUEST: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "www.example.com"),
    (":path", "/catalog/item/4711?ref=list&page=3"),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    ),
    ("accept-language", "en-US,en;q=0.5"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("referer", "https://www.example.com/catalog/index.html"),
    (
        "cookie",
        "session=8f2c1e0b9a7d4c3e2f1a0b9c8d7e6f5a; theme=dark; consent=yes; _ga=GA1.2.1234567890.1700000000",
    ),
    ("upgrade-insecure-requests", "1"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "same-origin"),
    ("priority", "u=0, i"),
];
