//! The HPACK decoder (RFC 7541 §3, §6).

use super::huffman::{self, HuffmanError};
use super::integer::{decode_integer, IntegerError};
use super::table::{DynamicTable, STATIC_LEN, STATIC_TABLE};
use super::{Header, HeaderRef};
use crate::error::{HpackError, HpackErrorKind};

/// Default limit on the decoded header list (32 + name + value summed).
pub const DEFAULT_MAX_HEADER_LIST_SIZE: usize = 64 * 1024;
/// Default limit on one decoded string (name or value).
pub const DEFAULT_MAX_STRING_LEN: usize = 16 * 1024;
/// Default SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// Decodes header blocks, keeping the dynamic table between them.
///
/// One decoder per connection and direction. Blocks must be decoded in the
/// order they arrive, each one whole (concatenate HEADERS/PUSH_PROMISE and
/// CONTINUATION fragments first), even for streams that are being reset,
/// or the table goes out of sync (RFC 9113 §4.3).
///
/// Memory is bounded: every string is checked against
/// [`set_max_string_len`](Self::set_max_string_len) before or while it is
/// decoded, the table against the SETTINGS_HEADER_TABLE_SIZE limit, and
/// fields stop being delivered once the list exceeds
/// [`set_max_header_list_size`](Self::set_max_header_list_size), so a
/// block of tiny references to a large table entry (an "HPACK bomb")
/// cannot make [`decode_to_vec`](Self::decode_to_vec) grow without bound.
#[derive(Debug)]
pub struct HpackDecoder {
    table: DynamicTable,
    /// Our SETTINGS_HEADER_TABLE_SIZE: the largest size update allowed.
    settings_max: usize,
    /// Set when the limit was lowered below the table's current maximum:
    /// the next block must start with a size update at most this large.
    required_update: Option<usize>,
    max_header_list_size: usize,
    max_string_len: usize,
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

impl Default for HpackDecoder {
    fn default() -> Self {
        HpackDecoder::new()
    }
}

enum Str {
    /// A range of the block (raw literal, zero-copy).
    Block(usize, usize),
    /// The scratch buffer (Huffman-decoded).
    Buf,
}

impl HpackDecoder {
    /// A decoder with a 4096-byte table, a 64 KiB header-list limit and a
    /// 16 KiB string limit.
    pub fn new() -> HpackDecoder {
        HpackDecoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            settings_max: DEFAULT_TABLE_SIZE,
            required_update: None,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            max_string_len: DEFAULT_MAX_STRING_LEN,
            name_buf: Vec::new(),
            value_buf: Vec::new(),
        }
    }

    /// Sets the SETTINGS_HEADER_TABLE_SIZE we advertise, once the peer
    /// has acknowledged it. Size updates above it are COMPRESSION_ERRORs.
    /// If it is below the table's current maximum, the peer's next block
    /// must begin with a size update to at most this value (RFC 7541 §4.2).
    pub fn set_max_table_size_setting(&mut self, size: usize) {
        self.settings_max = size;
        if size < self.table.max_size() {
            self.required_update = Some(self.required_update.map_or(size, |r| r.min(size)));
        }
    }

    /// Sets the header-list limit (32 + name + value summed over a block),
    /// typically our SETTINGS_MAX_HEADER_LIST_SIZE.
    pub fn set_max_header_list_size(&mut self, size: usize) {
        self.max_header_list_size = size;
    }

    /// Sets the limit on the length of one decoded name or value.
    pub fn set_max_string_len(&mut self, len: usize) {
        self.max_string_len = len;
    }

    /// The dynamic table (for inspection).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes one complete header block, calling `emit` for each field in
    /// order. Fields are borrowed from `block` (raw literals), the dynamic
    /// table or an internal scratch buffer; copy what you keep.
    ///
    /// On [`HpackErrorKind::HeaderListTooLarge`] the whole block has been
    /// processed (the table is in sync), but fields after the limit was
    /// crossed were not delivered. Any other error is fatal for the
    /// connection (COMPRESSION_ERROR).
    pub fn decode<F>(&mut self, block: &[u8], mut emit: F) -> Result<(), HpackError>
    where
        F: FnMut(HeaderRef<'_>),
    {
        let mut pos = 0;
        let mut at_start = true;
        let mut min_update: Option<usize> = None;
        let mut list_size = 0usize;
        let mut over_limit = false;

        while pos < block.len() {
            let b = block[pos];
            if b & 0xe0 == 0x20 {
                // §6.3 Dynamic Table Size Update.
                if !at_start {
                    return Err(HpackError::compression(
                        "RFC 7541 §4.2: dynamic table size update after the first header field",
                    ));
                }
                let (size, n) = read_int(&block[pos..], 5, u32::MAX)?;
                pos += n;
                let size = size as usize;
                if size > self.settings_max {
                    return Err(HpackError::compression(
                        "RFC 7541 §6.3: dynamic table size update above SETTINGS_HEADER_TABLE_SIZE",
                    ));
                }
                min_update = Some(min_update.map_or(size, |m| m.min(size)));
                self.table.set_max_size(size);
                continue;
            }
            if at_start {
                at_start = false;
                self.check_required_update(min_update)?;
            }

            let field_size;
            if b & 0x80 != 0 {
                // §6.1 Indexed Header Field.
                let (idx, n) = read_int(&block[pos..], 7, u32::MAX)?;
                pos += n;
                let (name, value) = lookup(&self.table, idx as usize)?;
                field_size = 32 + name.len() + value.len();
                list_size = list_size.saturating_add(field_size);
                over_limit |= list_size > self.max_header_list_size;
                if !over_limit {
                    emit(HeaderRef {
                        name,
                        value,
                        sensitive: false,
                    });
                }
                continue;
            }

            // §6.2 Literal Header Field representations.
            let (prefix, incremental, sensitive) = if b & 0xc0 == 0x40 {
                (6, true, false) // with incremental indexing
            } else {
                (4, false, b & 0x10 != 0) // without indexing / never indexed
            };
            let (idx, n) = read_int(&block[pos..], prefix, u32::MAX)?;
            pos += n;

            let HpackDecoder {
                table,
                name_buf,
                value_buf,
                max_string_len,
                ..
            } = self;
            let name: &[u8] = if idx == 0 {
                match read_string(block, &mut pos, name_buf, *max_string_len)? {
                    Str::Block(s, e) => &block[s..e],
                    Str::Buf => name_buf,
                }
            } else {
                let idx = idx as usize;
                if idx <= STATIC_LEN {
                    STATIC_TABLE[idx - 1].0
                } else {
                    // Copy: inserting the new entry may evict this one.
                    let (n, _) = lookup(table, idx)?;
                    name_buf.clear();
                    name_buf.extend_from_slice(n);
                    name_buf
                }
            };
            let value: &[u8] = match read_string(block, &mut pos, value_buf, *max_string_len)? {
                Str::Block(s, e) => &block[s..e],
                Str::Buf => value_buf,
            };
            field_size = 32 + name.len() + value.len();
            list_size = list_size.saturating_add(field_size);
            over_limit |= list_size > self.max_header_list_size;
            if !over_limit {
                emit(HeaderRef {
                    name,
                    value,
                    sensitive,
                });
            }
            if incremental {
                table.insert(name, value);
            }
        }
        if at_start {
            // A block with no field at all (possibly only size updates).
            self.check_required_update(min_update)?;
        }
        if over_limit {
            return Err(HpackError::new(
                HpackErrorKind::HeaderListTooLarge,
                "RFC 9113 §6.5.2: header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE",
            ));
        }
        Ok(())
    }

    /// Decodes one complete header block into owned fields.
    pub fn decode_to_vec(&mut self, block: &[u8]) -> Result<Vec<Header>, HpackError> {
        let mut out = Vec::new();
        self.decode(block, |h| out.push(h.to_header()))?;
        Ok(out)
    }

    fn check_required_update(&mut self, min_update: Option<usize>) -> Result<(), HpackError> {
        if let Some(required) = self.required_update {
            match min_update {
                Some(m) if m <= required => self.required_update = None,
                _ => {
                    return Err(HpackError::compression(
                        "RFC 7541 §4.2: block must start with a dynamic table size update after SETTINGS_HEADER_TABLE_SIZE was lowered",
                    ))
                }
            }
        }
        Ok(())
    }
}

fn read_int(buf: &[u8], prefix: u8, max: u32) -> Result<(u32, usize), HpackError> {
    decode_integer(buf, prefix, max).map_err(|e| match e {
        IntegerError::Truncated => {
            HpackError::compression("RFC 7541 §5.1: integer truncated by the end of the block")
        }
        IntegerError::Overflow => {
            HpackError::compression("RFC 7541 §5.1: integer exceeds the implementation limit")
        }
    })
}

/// Resolves a 1-based HPACK index (RFC 7541 §2.3.3).
fn lookup(table: &DynamicTable, idx: usize) -> Result<(&[u8], &[u8]), HpackError> {
    if idx == 0 {
        return Err(HpackError::compression(
            "RFC 7541 §6.1: index value 0 is not allowed",
        ));
    }
    if idx <= STATIC_LEN {
        return Ok(STATIC_TABLE[idx - 1]);
    }
    table
        .get(idx - STATIC_LEN - 1)
        .ok_or(HpackError::compression(
            "RFC 7541 §2.3.3: index beyond the static and dynamic tables",
        ))
}

/// Reads a string literal (RFC 7541 §5.2) at `*pos`.
fn read_string(
    block: &[u8],
    pos: &mut usize,
    buf: &mut Vec<u8>,
    max_len: usize,
) -> Result<Str, HpackError> {
    let huffman = block.get(*pos).ok_or(HpackError::compression(
        "RFC 7541 §5.2: string literal missing at the end of the block",
    ))? & 0x80
        != 0;
    let (len, n) = read_int(&block[*pos..], 7, u32::MAX)?;
    *pos += n;
    let len = len as usize;
    let start = *pos;
    if len > block.len() - start {
        return Err(HpackError::compression(
            "RFC 7541 §5.2: string length runs past the end of the block",
        ));
    }
    *pos += len;
    if huffman {
        buf.clear();
        huffman::decode(&block[start..start + len], buf, max_len).map_err(|e| match e {
            HuffmanError::TooLong => HpackError::new(
                HpackErrorKind::StringTooLong,
                "decoded Huffman string exceeds the configured maximum string length",
            ),
            other => HpackError::compression(other.message()),
        })?;
        Ok(Str::Buf)
    } else if len > max_len {
        Err(HpackError::new(
            HpackErrorKind::StringTooLong,
            "string literal exceeds the configured maximum string length",
        ))
    } else {
        Ok(Str::Block(start, start + len))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn pairs(v: &[Header]) -> Vec<(String, String)> {
        v.iter()
            .map(|h| {
                (
                    String::from_utf8(h.name.clone()).unwrap(),
                    String::from_utf8(h.value.clone()).unwrap(),
                )
            })
            .collect()
    }

    fn table_state(t: &DynamicTable) -> Vec<(String, String)> {
        t.iter()
            .map(|(n, v)| {
                (
                    String::from_utf8(n.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// One step of an RFC 7541 Appendix C example: the block, the decoded
    /// list, the dynamic table afterwards (newest first) and its size.
    pub(crate) struct Step {
        pub block: &'static str,
        pub headers: &'static [(&'static str, &'static str)],
        pub table: &'static [(&'static str, &'static str)],
        pub size: usize,
    }

    fn run(steps: &[Step], table_size: usize) {
        let mut d = HpackDecoder::new();
        d.set_max_table_size_setting(table_size);
        d.table.set_max_size(table_size);
        d.required_update = None;
        for (i, s) in steps.iter().enumerate() {
            let got = d.decode_to_vec(&hex(s.block)).unwrap();
            assert_eq!(pairs(&got), owned(s.headers), "step {i}");
            assert_eq!(
                table_state(&d.table),
                owned(s.table),
                "table after step {i}"
            );
            assert_eq!(d.table.size(), s.size, "size after step {i}");
        }
    }

    /// RFC 7541 C.2.1: literal field with indexing.
    #[test]
    fn c_2_1() {
        run(
            &[Step {
                block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
                headers: &[("custom-key", "custom-header")],
                table: &[("custom-key", "custom-header")],
                size: 55,
            }],
            4096,
        );
    }

    /// RFC 7541 C.2.2: literal field without indexing.
    #[test]
    fn c_2_2() {
        run(
            &[Step {
                block: "040c 2f73 616d 706c 652f 7061 7468",
                headers: &[(":path", "/sample/path")],
                table: &[],
                size: 0,
            }],
            4096,
        );
    }

    /// RFC 7541 C.2.3: literal field never indexed.
    #[test]
    fn c_2_3() {
        let mut d = HpackDecoder::new();
        let got = d
            .decode_to_vec(&hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))
            .unwrap();
        assert_eq!(
            got,
            vec![Header {
                name: b"password".to_vec(),
                value: b"secret".to_vec(),
                sensitive: true
            }]
        );
        assert!(d.table.is_empty());
    }

    /// RFC 7541 C.2.4: indexed field.
    #[test]
    fn c_2_4() {
        run(
            &[Step {
                block: "82",
                headers: &[(":method", "GET")],
                table: &[],
                size: 0,
            }],
            4096,
        );
    }

    pub(crate) const C3: &[Step] = &[
        Step {
            block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            headers: &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ],
            table: &[(":authority", "www.example.com")],
            size: 57,
        },
        Step {
            block: "8286 84be 5808 6e6f 2d63 6163 6865",
            headers: &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ],
            table: &[
                ("cache-control", "no-cache"),
                (":authority", "www.example.com"),
            ],
            size: 110,
        },
        Step {
            block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            headers: &[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ],
            table: &[
                ("custom-key", "custom-value"),
                ("cache-control", "no-cache"),
                (":authority", "www.example.com"),
            ],
            size: 164,
        },
    ];

    /// C.4 has the same fields and table states as C.3, Huffman-coded.
    pub(crate) const C4_BLOCKS: [&str; 3] = [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ];

    /// RFC 7541 C.3: requests without Huffman coding.
    #[test]
    fn c_3() {
        run(C3, 4096);
    }

    /// RFC 7541 C.4: requests with Huffman coding.
    #[test]
    fn c_4() {
        let steps: Vec<Step> = C3
            .iter()
            .zip(C4_BLOCKS)
            .map(|(s, block)| Step {
                block,
                headers: s.headers,
                table: s.table,
                size: s.size,
            })
            .collect();
        run(&steps, 4096);
    }

    const DATE1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
    const DATE2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
    const LOC: &str = "https://www.example.com";
    const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    const C5_HEADERS: [&[(&str, &str)]; 3] = [
        &[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", DATE1),
            ("location", LOC),
        ],
        &[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", DATE1),
            ("location", LOC),
        ],
        &[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", DATE2),
            ("location", LOC),
            ("content-encoding", "gzip"),
            ("set-cookie", COOKIE),
        ],
    ];

    const C5_TABLES: [(&[(&str, &str)], usize); 3] = [
        (
            &[
                ("location", LOC),
                ("date", DATE1),
                ("cache-control", "private"),
                (":status", "302"),
            ],
            222,
        ),
        (
            &[
                (":status", "307"),
                ("location", LOC),
                ("date", DATE1),
                ("cache-control", "private"),
            ],
            222,
        ),
        (
            &[
                ("set-cookie", COOKIE),
                ("content-encoding", "gzip"),
                ("date", DATE2),
            ],
            215,
        ),
    ];

    fn responses(blocks: [&'static str; 3]) -> Vec<Step> {
        (0..3)
            .map(|i| Step {
                block: blocks[i],
                headers: C5_HEADERS[i],
                table: C5_TABLES[i].0,
                size: C5_TABLES[i].1,
            })
            .collect()
    }

    /// RFC 7541 C.5: responses without Huffman coding, table size 256,
    /// with evictions.
    #[test]
    fn c_5() {
        run(
            &responses([
                "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
                 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
                 6c65 2e63 6f6d",
                "4803 3330 37c1 c0bf",
                "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
                 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
                 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
                 3d31",
            ]),
            256,
        );
    }

    /// RFC 7541 C.6: responses with Huffman coding, table size 256.
    #[test]
    fn c_6() {
        run(
            &responses([
                "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
                 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
                "4883 640e ffc1 c0bf",
                "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
                 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
                 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            ]),
            256,
        );
    }

    fn err(d: &mut HpackDecoder, block: &[u8]) -> HpackError {
        d.decode_to_vec(block).unwrap_err()
    }

    #[test]
    fn bad_indices() {
        let mut d = HpackDecoder::new();
        let e = err(&mut d, &[0x80]);
        assert_eq!(e.kind(), HpackErrorKind::Compression);
        assert!(e.message().contains("index value 0"));
        // 62 with an empty dynamic table.
        assert!(err(&mut d, &[0xbe]).message().contains("beyond"));
        // Literal with name index 62.
        assert!(err(&mut d, &[0x7e, 0x00]).message().contains("beyond"));
        assert!(err(&mut d, &[0x0f, 0x2f, 0x00])
            .message()
            .contains("beyond"));
        // 61 is fine.
        assert_eq!(
            d.decode_to_vec(&[0xbd]).unwrap()[0].name,
            b"www-authenticate"
        );
    }

    #[test]
    fn truncated_blocks() {
        let mut d = HpackDecoder::new();
        for b in [
            &[0xff][..],
            &[0x40],
            &[0x40, 0x03, b'a'],
            &[0x04],
            &[0x41, 0x85, 0xf1],
        ] {
            assert_eq!(err(&mut d, b).kind(), HpackErrorKind::Compression, "{b:?}");
        }
    }

    #[test]
    fn huffman_errors_are_compression_errors() {
        let mut d = HpackDecoder::new();
        // Literal without indexing, name index 1, Huffman value ff ff ff ff (EOS).
        let e = err(&mut d, &[0x01, 0x84, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(e.kind(), HpackErrorKind::Compression);
        assert!(e.message().contains("EOS"));
        // Padding not all ones.
        assert!(err(&mut d, &[0x01, 0x81, 0x06])
            .message()
            .contains("padding"));
        // Padding longer than 7 bits.
        assert!(err(&mut d, &[0x01, 0x82, 0x07, 0xff])
            .message()
            .contains("7 bits"));
    }

    #[test]
    fn size_update_rules() {
        let mut d = HpackDecoder::new();
        // Update to 0 then 4096 at the start: fine.
        assert!(d.decode_to_vec(&[0x20, 0x3f, 0xe1, 0x1f, 0x82]).is_ok());
        // After a field: error.
        let e = err(&mut d, &[0x82, 0x20]);
        assert!(e.message().contains("after the first header field"));
        // Above the setting: error.
        let mut d = HpackDecoder::new();
        let e = err(&mut d, &[0x3f, 0xe2, 0x1f]); // 4097
        assert!(e.message().contains("above SETTINGS_HEADER_TABLE_SIZE"));
        // A larger setting allows it.
        d.set_max_table_size_setting(8192);
        assert!(d.decode_to_vec(&[0x3f, 0xe2, 0x1f, 0x82]).is_ok());
        assert_eq!(d.table().max_size(), 4097);
    }

    #[test]
    fn size_update_required_after_lowering_setting() {
        let mut d = HpackDecoder::new();
        d.decode_to_vec(&hex(C3[0].block)).unwrap();
        d.set_max_table_size_setting(0);
        let e = err(&mut d, &[0x82]);
        assert!(e
            .message()
            .contains("must start with a dynamic table size update"));
        // An update that is still too large does not satisfy it either.
        let mut d = HpackDecoder::new();
        d.set_max_table_size_setting(100);
        assert!(d.decode_to_vec(&[0x3f, 0x61, 0x82]).is_err()); // 128 > 100
        let mut d = HpackDecoder::new();
        d.set_max_table_size_setting(100);
        assert!(d.decode_to_vec(&[0x3f, 0x45, 0x82]).is_ok()); // 100
        assert!(d.decode_to_vec(&[0x82]).is_ok(), "requirement consumed");
    }

    #[test]
    fn header_list_limit_keeps_table_in_sync() {
        let mut d = HpackDecoder::new();
        d.set_max_header_list_size(100);
        // C.3.1 is 4 fields: 42 + 43 + 37 + 57 = 179 > 100.
        let mut seen = Vec::new();
        let e = d
            .decode(&hex(C3[0].block), |h| seen.push(h.to_header()))
            .unwrap_err();
        assert_eq!(e.kind(), HpackErrorKind::HeaderListTooLarge);
        assert!(!e.is_connection_error());
        assert_eq!(seen.len(), 2);
        // The :authority entry was still inserted: C.3.2 decodes.
        d.set_max_header_list_size(usize::MAX);
        let got = d.decode_to_vec(&hex(C3[1].block)).unwrap();
        assert_eq!(pairs(&got), owned(C3[1].headers));
    }

    #[test]
    fn hpack_bomb_is_bounded() {
        // One 4000-byte value in the table, then 10,000 one-byte references.
        let mut d = HpackDecoder::new();
        // Literal with incremental indexing, new name "x".
        let mut block = vec![0x40, 0x01, b'x'];
        let value = vec![b'v'; 4000];
        crate::hpack::integer::encode_integer(value.len(), 7, 0, &mut block);
        block.extend_from_slice(&value);
        block.extend(std::iter::repeat(0xbe).take(10_000));
        let mut delivered = 0usize;
        let e = d
            .decode(&block, |h| delivered += h.value.len())
            .unwrap_err();
        assert_eq!(e.kind(), HpackErrorKind::HeaderListTooLarge);
        assert!(delivered <= DEFAULT_MAX_HEADER_LIST_SIZE);
    }

    #[test]
    fn string_length_limit() {
        let mut d = HpackDecoder::new();
        d.set_max_string_len(3);
        let e = err(&mut d, &[0x00, 0x04, b'a', b'b', b'c', b'd', 0x00]);
        assert_eq!(e.kind(), HpackErrorKind::StringTooLong);
        assert!(e.is_connection_error());
        // Huffman "www.example.com" decodes to 15 bytes > 3.
        let e = err(&mut d, &hex("0184 f1e3 c2e5"));
        assert_eq!(e.kind(), HpackErrorKind::StringTooLong);
        // A huge declared length is refused before any allocation.
        let e = err(&mut d, &[0x00, 0x7f, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(e.kind(), HpackErrorKind::Compression);
    }

    #[test]
    fn zero_copy_for_raw_literals() {
        let block = hex("040c 2f73 616d 706c 652f 7061 7468");
        let mut d = HpackDecoder::new();
        let range = block.as_ptr_range();
        d.decode(&block, |h| {
            assert!(
                range.contains(&h.value.as_ptr()),
                "value borrowed from block"
            );
        })
        .unwrap();
    }
}
