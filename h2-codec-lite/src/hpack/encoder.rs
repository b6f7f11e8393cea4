//! The HPACK encoder (RFC 7541 §6, §7).

use super::huffman;
use super::integer::encode_integer;
use super::table::{entry_size, static_find, DynamicTable, StaticMatch, STATIC_LEN};
use super::HeaderRef;

/// Default table size: the initial SETTINGS_HEADER_TABLE_SIZE.
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// Cookie values shorter than this are sent never-indexed: short values
/// are easy to guess by probing the compression context (RFC 7541
/// §7.1.3).
const SHORT_COOKIE: usize = 20;

/// Encodes header lists into header blocks, keeping the dynamic table
/// that mirrors the peer's decoder.
///
/// Representation per field:
/// * exact match in the static or dynamic table: indexed (1 byte or so);
/// * sensitive fields (the caller's flag, `authorization`,
///   `proxy-authorization`, and short `cookie` values per RFC 7541 §7.1.3):
///   never-indexed literal;
/// * fields whose values change with every message (`:path`,
///   `content-length`, dates, ETags, ranges, ...) and entries that would
///   take over three quarters of the table: literal without indexing;
/// * everything else: literal with incremental indexing.
///
/// Names use a table index when one exists. Strings are Huffman-coded when
/// that is shorter. A change of the peer's SETTINGS_HEADER_TABLE_SIZE is
/// signalled with size updates at the start of the next block
/// (RFC 7541 §4.2, §6.3).
#[derive(Debug)]
pub struct HpackEncoder {
    table: DynamicTable,
    /// The peer's SETTINGS_HEADER_TABLE_SIZE.
    peer_max: usize,
    /// Our own cap on the table size (memory).
    limit: usize,
    /// Pending size updates: (smallest size since last block, final size).
    pending: Option<(usize, usize)>,
    use_huffman: bool,
}

impl Default for HpackEncoder {
    fn default() -> Self {
        HpackEncoder::new()
    }
}

/// Literal representation kinds (RFC 7541 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Literal {
    Incremental,
    WithoutIndexing,
    NeverIndexed,
}

impl HpackEncoder {
    /// An encoder for a peer using the default 4096-byte table, with
    /// Huffman coding on.
    pub fn new() -> HpackEncoder {
        HpackEncoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            peer_max: DEFAULT_TABLE_SIZE,
            limit: usize::MAX,
            pending: None,
            use_huffman: true,
        }
    }

    /// Turns Huffman coding of strings on or off (on by default; when on,
    /// it is used only where it is shorter).
    pub fn set_use_huffman(&mut self, on: bool) {
        self.use_huffman = on;
    }

    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE. The table is resized
    /// (to this, or less if [`set_table_size_limit`](Self::set_table_size_limit)
    /// says so) and the change is signalled at the start of the next block.
    pub fn set_max_table_size(&mut self, peer_setting: usize) {
        self.peer_max = peer_setting;
        self.resize();
    }

    /// Caps the table size we use whatever the peer allows (to bound our
    /// memory); signalled like [`set_max_table_size`](Self::set_max_table_size).
    pub fn set_table_size_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.resize();
    }

    fn resize(&mut self) {
        let new = self.peer_max.min(self.limit);
        let current = self.pending.map_or(self.table.max_size(), |p| p.1);
        if new == current {
            return;
        }
        let min = self.pending.map_or(self.table.max_size(), |p| p.0).min(new);
        self.pending = Some((min, new));
    }

    /// The dynamic table (for inspection).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Appends the header block for `headers` to `dst`. Names must already
    /// be lowercase (RFC 9113 §8.2.1); pseudo-header fields must come
    /// first — neither is checked here.
    pub fn encode<'h, I>(&mut self, headers: I, dst: &mut Vec<u8>)
    where
        I: IntoIterator<Item = HeaderRef<'h>>,
    {
        if let Some((min, fin)) = self.pending.take() {
            if min < fin {
                encode_integer(min, 5, 0x20, dst);
                self.table.set_max_size(min);
            }
            encode_integer(fin, 5, 0x20, dst);
            self.table.set_max_size(fin);
        }
        for h in headers {
            self.encode_field(h, dst);
        }
    }

    fn encode_field(&mut self, h: HeaderRef<'_>, dst: &mut Vec<u8>) {
        let never = h.sensitive || always_sensitive(h.name, h.value);
        let stat = static_find(h.name, h.value);
        if !never {
            if let StaticMatch::Full(i) = stat {
                encode_integer(i, 7, 0x80, dst);
                return;
            }
            if let Some(pos) = self.table.find(h.name, h.value) {
                encode_integer(STATIC_LEN + 1 + pos, 7, 0x80, dst);
                return;
            }
        }
        let name_idx = match stat {
            StaticMatch::Full(i) | StaticMatch::Name(i) => i,
            StaticMatch::None => self
                .table
                .find_name(h.name)
                .map_or(0, |pos| STATIC_LEN + 1 + pos),
        };
        let size = entry_size(h.name, h.value);
        let kind = if never {
            Literal::NeverIndexed
        } else if per_message(h.name) || size > self.table.max_size() / 4 * 3 {
            Literal::WithoutIndexing
        } else {
            Literal::Incremental
        };
        let (prefix, pattern) = match kind {
            Literal::Incremental => (6, 0x40),
            Literal::WithoutIndexing => (4, 0x00),
            Literal::NeverIndexed => (4, 0x10),
        };
        encode_integer(name_idx, prefix, pattern, dst);
        if name_idx == 0 {
            self.write_string(h.name, dst);
        }
        self.write_string(h.value, dst);
        if kind == Literal::Incremental {
            self.table.insert(h.name, h.value);
        }
    }

    fn write_string(&self, s: &[u8], dst: &mut Vec<u8>) {
        if self.use_huffman {
            let hlen = huffman::encoded_len(s);
            if hlen < s.len() {
                encode_integer(hlen, 7, 0x80, dst);
                huffman::encode(s, dst);
                return;
            }
        }
        encode_integer(s.len(), 7, 0x00, dst);
        dst.extend_from_slice(s);
    }
}

/// Fields always sent never-indexed (RFC 7541 §7.1.3).
fn always_sensitive(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" => true,
        b"cookie" => value.len() < SHORT_COOKIE,
        _ => false,
    }
}

/// Fields whose values typically differ in every message: indexing them
/// would only churn the table.
fn per_message(name: &[u8]) -> bool {
    matches!(
        name,
        b":path"
            | b"content-length"
            | b"content-range"
            | b"range"
            | b"date"
            | b"age"
            | b"etag"
            | b"expires"
            | b"last-modified"
            | b"if-modified-since"
            | b"if-unmodified-since"
            | b"if-none-match"
            | b"if-match"
            | b"if-range"
            | b"set-cookie"
            | b"x-request-id"
    )
}

#[cfg(test)]
mod tests {
    use super::super::decoder::tests::{hex, C3, C4_BLOCKS};
    use super::super::{Header, HpackDecoder};
    use super::*;

    fn refs<'a>(v: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = HeaderRef<'a>> {
        v.iter()
            .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes()))
    }

    fn state(t: &DynamicTable) -> Vec<(Vec<u8>, Vec<u8>)> {
        t.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()
    }

    /// The encoder reproduces RFC 7541 C.3 byte for byte (no Huffman),
    /// with the same table states.
    #[test]
    fn reproduces_c_3() {
        let mut e = HpackEncoder::new();
        e.set_use_huffman(false);
        for (i, step) in C3.iter().enumerate() {
            let mut out = Vec::new();
            e.encode(refs(step.headers), &mut out);
            assert_eq!(out, hex(step.block), "C.3.{}", i + 1);
            let want: Vec<_> = step
                .table
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect();
            assert_eq!(state(e.table()), want);
            assert_eq!(e.table().size(), step.size);
        }
    }

    /// ... and C.4 with Huffman coding.
    #[test]
    fn reproduces_c_4() {
        let mut e = HpackEncoder::new();
        for (i, step) in C3.iter().enumerate() {
            let mut out = Vec::new();
            e.encode(refs(step.headers), &mut out);
            assert_eq!(out, hex(C4_BLOCKS[i]), "C.4.{}", i + 1);
            assert_eq!(e.table().size(), step.size);
        }
    }

    fn round_trip(e: &mut HpackEncoder, d: &mut HpackDecoder, headers: &[Header]) -> Vec<u8> {
        let mut out = Vec::new();
        e.encode(headers.iter().map(|h| h.as_header_ref()), &mut out);
        let got = d.decode_to_vec(&out).unwrap();
        let strip = |v: &[Header]| -> Vec<(Vec<u8>, Vec<u8>)> {
            v.iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect()
        };
        assert_eq!(strip(&got), strip(headers));
        assert_eq!(state(e.table()), state(d.table()), "tables in sync");
        out
    }

    #[test]
    fn sensitive_fields_are_never_indexed() {
        let mut e = HpackEncoder::new();
        let mut d = HpackDecoder::new();
        let hs = [
            Header::new("authorization", "Bearer abcdef"),
            Header::new("cookie", "id=1"),
            Header {
                name: b"x-secret".to_vec(),
                value: b"hunter2".to_vec(),
                sensitive: true,
            },
            Header::new(":method", "GET"),
        ];
        let mut out = Vec::new();
        e.encode(hs.iter().map(|h| h.as_header_ref()), &mut out);
        // authorization: never indexed with static name index 23.
        assert_eq!(&out[..2], [0x1f, 0x08]);
        assert!(e.table().is_empty());
        let got = d.decode_to_vec(&out).unwrap();
        assert!(got[0].sensitive && got[1].sensitive && got[2].sensitive);
        assert!(!got[3].sensitive);
        // A long cookie is indexed normally.
        let long = [Header::new("cookie", "session=0123456789abcdefghij")];
        round_trip(&mut e, &mut d, &long);
        assert_eq!(e.table().len(), 1);
        // Second time it is a single index byte.
        assert_eq!(round_trip(&mut e, &mut d, &long), [0xbe]);
    }

    #[test]
    fn per_message_fields_not_indexed() {
        let mut e = HpackEncoder::new();
        let mut d = HpackDecoder::new();
        let hs = [
            Header::new(":path", "/a/b?c=d"),
            Header::new("content-length", "1234"),
            Header::new(":path", "/"),
        ];
        let out = round_trip(&mut e, &mut d, &hs);
        assert!(e.table().is_empty());
        assert_eq!(out[0], 0x04, ":path literal without indexing, name index 4");
        assert_eq!(*out.last().unwrap(), 0x84, ":path / is static index 4");
    }

    #[test]
    fn huge_entries_not_indexed() {
        let mut e = HpackEncoder::new();
        let mut d = HpackDecoder::new();
        let big = "x".repeat(3500);
        round_trip(&mut e, &mut d, &[Header::new("x-big", big.as_str())]);
        assert!(e.table().is_empty());
    }

    #[test]
    fn table_size_changes_signalled_at_next_block() {
        let mut e = HpackEncoder::new();
        let mut d = HpackDecoder::new();
        round_trip(&mut e, &mut d, &[Header::new("x-a", "1")]);
        assert_eq!(e.table().len(), 1);
        // Peer lowers to 0 then raises to 256 before the next block: the
        // block starts with two updates, 0 then 256 (RFC 7541 §4.2).
        e.set_max_table_size(0);
        e.set_max_table_size(256);
        d.set_max_table_size_setting(0);
        d.set_max_table_size_setting(256);
        let out = round_trip(&mut e, &mut d, &[Header::new("x-b", "2")]);
        assert_eq!(&out[..4], [0x20, 0x3f, 0xe1, 0x01]);
        assert_eq!(e.table().max_size(), 256);
        assert_eq!(e.table().len(), 1, "x-a evicted, x-b inserted");
        // No change: no update.
        e.set_max_table_size(256);
        let out = round_trip(&mut e, &mut d, &[Header::new("x-b", "2")]);
        assert_eq!(out, [0xbe]);
        // A local limit below the peer's setting.
        e.set_table_size_limit(100);
        let out = round_trip(&mut e, &mut d, &[]);
        assert_eq!(out, [0x3f, 0x45]);
        assert_eq!(d.table().max_size(), 100);
    }

    #[test]
    fn dynamic_name_reference() {
        let mut e = HpackEncoder::new();
        let mut d = HpackDecoder::new();
        round_trip(&mut e, &mut d, &[Header::new("x-trace", "a")]);
        let out = round_trip(&mut e, &mut d, &[Header::new("x-trace", "b")]);
        // Incremental indexing with name index 62.
        assert_eq!(out[0], 0x40 | 62);
        assert_eq!(e.table().len(), 2);
    }

    /// Small deterministic PRNG for property-style tests.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_header_lists_round_trip() {
        const NAMES: &[&str] = &[
            ":method",
            ":path",
            ":authority",
            ":scheme",
            ":status",
            "accept",
            "accept-encoding",
            "cookie",
            "authorization",
            "user-agent",
            "x-custom",
            "x-trace-id",
            "content-length",
            "cache-control",
            "date",
            "etag",
        ];
        const VALUES: &[&str] = &[
            "GET",
            "POST",
            "/",
            "/index.html",
            "gzip, deflate",
            "200",
            "",
        ];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for table_size in [0usize, 64, 256, 4096] {
            let mut e = HpackEncoder::new();
            let mut d = HpackDecoder::new();
            e.set_max_table_size(table_size);
            d.set_max_table_size_setting(table_size);
            e.set_use_huffman(table_size != 64);
            // Under Miri (scripts/miri.sh), about a thousand times slower, a sample.
            let lists = if cfg!(miri) { 15 } else { 300 };
            for _ in 0..lists {
                let n = rng.below(12);
                let mut hs = Vec::new();
                for _ in 0..n {
                    let name: Vec<u8> = if rng.below(4) == 0 {
                        (0..1 + rng.below(20))
                            .map(|_| b'a' + rng.below(26) as u8)
                            .collect()
                    } else {
                        NAMES[rng.below(NAMES.len())].as_bytes().to_vec()
                    };
                    let value: Vec<u8> = match rng.below(3) {
                        0 => VALUES[rng.below(VALUES.len())].as_bytes().to_vec(),
                        1 => (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
                        _ => (0..rng.below(300))
                            .map(|_| b' ' + rng.below(95) as u8)
                            .collect(),
                    };
                    hs.push(Header {
                        name,
                        value,
                        sensitive: rng.below(10) == 0,
                    });
                }
                round_trip(&mut e, &mut d, &hs);
                assert!(e.table().size() <= table_size);
            }
        }
    }
}
