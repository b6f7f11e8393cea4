//! The static table (RFC 7541 §2.3.1, Appendix A) and the dynamic table
//! (§2.3.2, §4).

use std::collections::VecDeque;

/// Per-entry overhead counted in table sizes (RFC 7541 §4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// The static table, index 1 first (RFC 7541 Appendix A).
pub const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Number of static-table entries; dynamic indices start after it.
pub const STATIC_LEN: usize = STATIC_TABLE.len();

/// The size of an entry as RFC 7541 §4.1 counts it: 32 + name + value.
pub const fn entry_size(name: &[u8], value: &[u8]) -> usize {
    ENTRY_OVERHEAD + name.len() + value.len()
}

/// Result of a static-table lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaticMatch {
    /// No entry has this name.
    None,
    /// An entry has this name (1-based index), none has the value too.
    Name(usize),
    /// The entry at this 1-based index has both name and value.
    Full(usize),
}

/// First 1-based index and number of entries with `name`. Dispatches on
/// the length, then on the bytes: no hashing, a handful of comparisons.
fn static_name_range(name: &[u8]) -> Option<(usize, usize)> {
    Some(match name.len() {
        3 => match name {
            b"age" => (21, 1),
            b"via" => (60, 1),
            _ => return None,
        },
        4 => match name {
            b"date" => (33, 1),
            b"etag" => (34, 1),
            b"from" => (37, 1),
            b"host" => (38, 1),
            b"link" => (45, 1),
            b"vary" => (59, 1),
            _ => return None,
        },
        5 => match name {
            b":path" => (4, 2),
            b"allow" => (22, 1),
            b"range" => (50, 1),
            _ => return None,
        },
        6 => match name {
            b"accept" => (19, 1),
            b"cookie" => (32, 1),
            b"expect" => (35, 1),
            b"server" => (54, 1),
            _ => return None,
        },
        7 => match name {
            b":method" => (2, 2),
            b":scheme" => (6, 2),
            b":status" => (8, 7),
            b"expires" => (36, 1),
            b"referer" => (51, 1),
            b"refresh" => (52, 1),
            _ => return None,
        },
        8 => match name {
            b"if-match" => (39, 1),
            b"if-range" => (42, 1),
            b"location" => (46, 1),
            _ => return None,
        },
        10 => match name {
            b":authority" => (1, 1),
            b"set-cookie" => (55, 1),
            b"user-agent" => (58, 1),
            _ => return None,
        },
        11 => match name {
            b"retry-after" => (53, 1),
            _ => return None,
        },
        12 => match name {
            b"content-type" => (31, 1),
            b"max-forwards" => (47, 1),
            _ => return None,
        },
        13 => match name {
            b"accept-ranges" => (18, 1),
            b"authorization" => (23, 1),
            b"cache-control" => (24, 1),
            b"content-range" => (30, 1),
            b"if-none-match" => (41, 1),
            b"last-modified" => (44, 1),
            _ => return None,
        },
        14 => match name {
            b"accept-charset" => (15, 1),
            b"content-length" => (28, 1),
            _ => return None,
        },
        15 => match name {
            b"accept-encoding" => (16, 1),
            b"accept-language" => (17, 1),
            _ => return None,
        },
        16 => match name {
            b"content-encoding" => (26, 1),
            b"content-language" => (27, 1),
            b"content-location" => (29, 1),
            b"www-authenticate" => (61, 1),
            _ => return None,
        },
        17 => match name {
            b"if-modified-since" => (40, 1),
            b"transfer-encoding" => (57, 1),
            _ => return None,
        },
        18 => match name {
            b"proxy-authenticate" => (48, 1),
            _ => return None,
        },
        19 => match name {
            b"content-disposition" => (25, 1),
            b"if-unmodified-since" => (43, 1),
            b"proxy-authorization" => (49, 1),
            _ => return None,
        },
        25 => match name {
            b"strict-transport-security" => (56, 1),
            _ => return None,
        },
        27 => match name {
            b"access-control-allow-origin" => (20, 1),
            _ => return None,
        },
        _ => return None,
    })
}

/// Looks up `name` / `value` in the static table.
pub fn static_find(name: &[u8], value: &[u8]) -> StaticMatch {
    match static_name_range(name) {
        None => StaticMatch::None,
        Some((first, count)) => {
            for i in first..first + count {
                if STATIC_TABLE[i - 1].1 == value {
                    return StaticMatch::Full(i);
                }
            }
            StaticMatch::Name(first)
        }
    }
}

/// One dynamic-table entry: name and value in a single allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    bytes: Box<[u8]>,
    name_len: usize,
}

impl Entry {
    fn name(&self) -> &[u8] {
        &self.bytes[..self.name_len]
    }
    fn value(&self) -> &[u8] {
        &self.bytes[self.name_len..]
    }
    fn size(&self) -> usize {
        ENTRY_OVERHEAD + self.bytes.len()
    }
}

/// The HPACK dynamic table: a FIFO of entries kept in a ring buffer
/// (`VecDeque`). New entries go in at the front (dynamic index 1, i.e.
/// HPACK index 62); eviction pops from the back, so neither insertion nor
/// eviction moves other entries. Sizes follow RFC 7541 §4.1 (32 + name +
/// value per entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DynamicTable {
    entries: VecDeque<Entry>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    /// An empty table whose maximum size is `max_size` bytes.
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Current size (sum of 32 + name + value over the entries).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Current maximum size.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The entry at 0-based position `i` (0 = most recently inserted,
    /// HPACK index 62).
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.entries.get(i).map(|e| (e.name(), e.value()))
    }

    /// Entries from newest to oldest.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().map(|e| (e.name(), e.value()))
    }

    /// Changes the maximum size, evicting oldest entries until the table
    /// fits (RFC 7541 §4.3).
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => break,
            }
        }
    }

    /// Inserts an entry (RFC 7541 §4.4): evicts oldest entries until it
    /// fits; an entry larger than the maximum size empties the table and is
    /// not inserted (not an error). Returns whether it was inserted.
    ///
    /// `name` and `value` are copied before anything is evicted, so they
    /// may come from an entry that the insertion evicts.
    pub fn insert(&mut self, name: &[u8], value: &[u8]) -> bool {
        let size = entry_size(name, value);
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            return false;
        }
        let mut bytes = Vec::with_capacity(name.len() + value.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(value);
        self.evict_to(self.max_size - size);
        self.entries.push_front(Entry {
            bytes: bytes.into_boxed_slice(),
            name_len: name.len(),
        });
        self.size += size;
        true
    }

    /// 0-based position of the newest entry equal to `name` / `value`.
    pub fn find(&self, name: &[u8], value: &[u8]) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.name_len == name.len()
                && e.bytes.len() == name.len() + value.len()
                && e.name() == name
                && e.value() == value
        })
    }

    /// 0-based position of the newest entry named `name`.
    pub fn find_name(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.name_len == name.len() && e.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_spot_checks() {
        assert_eq!(STATIC_LEN, 61);
        assert_eq!(STATIC_TABLE[0], (&b":authority"[..], &b""[..]));
        assert_eq!(STATIC_TABLE[1], (&b":method"[..], &b"GET"[..]));
        assert_eq!(
            STATIC_TABLE[15],
            (&b"accept-encoding"[..], &b"gzip, deflate"[..])
        );
        assert_eq!(STATIC_TABLE[23].0, b"cache-control");
        assert_eq!(STATIC_TABLE[32].0, b"date");
        assert_eq!(STATIC_TABLE[54].0, b"set-cookie");
        assert_eq!(STATIC_TABLE[60].0, b"www-authenticate");
    }

    #[test]
    fn static_lookup_agrees_with_linear_scan_for_every_entry() {
        for (i, (name, value)) in STATIC_TABLE.iter().enumerate() {
            let first = STATIC_TABLE.iter().position(|e| e.0 == *name).unwrap() + 1;
            assert_eq!(static_find(name, value), StaticMatch::Full(i + 1));
            assert_eq!(static_find(name, b"\x00nope"), StaticMatch::Name(first));
        }
        assert_eq!(static_find(b":status", b"302"), StaticMatch::Name(8));
        assert_eq!(static_find(b":path", b"/"), StaticMatch::Full(4));
        assert_eq!(static_find(b"x-custom", b""), StaticMatch::None);
        assert_eq!(
            static_find(b"Accept", b""),
            StaticMatch::None,
            "case-sensitive"
        );
        assert_eq!(static_find(b"", b""), StaticMatch::None);
    }

    #[test]
    fn insert_evict_and_sizes() {
        let mut t = DynamicTable::new(100);
        assert!(t.insert(b"aaaa", b"bbbb")); // 40
        assert!(t.insert(b"cccc", b"dddd")); // 80
        assert_eq!(t.size(), 80);
        assert_eq!(t.get(0), Some((&b"cccc"[..], &b"dddd"[..])));
        assert!(t.insert(b"eeee", b"ffff")); // evicts aaaa
        assert_eq!(t.len(), 2);
        assert_eq!(t.size(), 80);
        assert_eq!(t.get(1), Some((&b"cccc"[..], &b"dddd"[..])));
        assert_eq!(t.find(b"eeee", b"ffff"), Some(0));
        assert_eq!(t.find(b"aaaa", b"bbbb"), None);
        assert_eq!(t.find_name(b"cccc"), Some(1));
        // Exactly max size fits.
        assert!(t.insert(&[b'x'; 30], &[b'y'; 38]));
        assert_eq!(t.len(), 1);
        assert_eq!(t.size(), 100);
        // Too big: clears the table.
        assert!(!t.insert(&[b'x'; 30], &[b'y'; 39]));
        assert!(t.is_empty());
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn resize_evicts_oldest() {
        let mut t = DynamicTable::new(4096);
        for i in 0..10u8 {
            t.insert(&[b'a' + i], b"v"); // 34 each
        }
        assert_eq!(t.size(), 340);
        t.set_max_size(100);
        assert_eq!(t.len(), 2);
        assert_eq!(t.iter().map(|e| e.0[0]).collect::<Vec<_>>(), b"ji");
        t.set_max_size(0);
        assert!(t.is_empty());
        assert_eq!(t.max_size(), 0);
        assert!(!t.insert(b"a", b""));
    }

    #[test]
    fn insert_may_reference_evicted_entry() {
        let mut t = DynamicTable::new(70);
        t.insert(b"name", b"value-one"); // 45
        let (n, _) = t.get(0).unwrap();
        let n = n.to_vec();
        t.insert(&n, b"value-two"); // evicts the first one
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(0), Some((&b"name"[..], &b"value-two"[..])));
    }
}
