//! An ordered header list with pseudo-headers, as lua-http has it.
//!
//! This is the wire form that crosses between the caller and the protocol cores: request heads
//! carry `:method`, `:path`, `:authority` (and `:scheme`, `:protocol` in HTTP/2), response heads
//! carry `:status`, and the ordinary fields follow in the order they were received or added.
//! Names are stored lower-case. All names and (UTF-8) values live in one buffer, so a head costs
//! two allocations however many fields it has. Conversions to and from the `http` crate's types are
//! at the edge (`convert`: [`Headers::to_request_parts`], [`Headers::from_request_parts`] ...).
//!
//! The list is a container: [`Headers::append`] stores whatever it is given, and the protocol
//! core refuses a head it cannot send when it is written. The typed calls cannot say what is
//! not so: [`Headers::request`] takes an [`http::Method`], [`Headers::response`] an
//! [`http::StatusCode`], and [`Headers::method`] / [`Headers::status`] give `None` for a
//! pseudo-header that is missing or is no method / status.

use http::{Method, StatusCode};
use std::fmt;

mod convert;

#[derive(Clone, Copy, PartialEq, Eq)]
struct FieldRef {
    name_start: u32,
    name_len: u32,
    value_start: u32,
    value_len: u32,
    sensitive: bool,
    /// The value is not UTF-8 and lives in `raw` instead of `text`.
    raw: bool,
}

impl FieldRef {
    /// A field whose name and value are both in `text`, not sensitive.
    fn in_text(name_start: u32, name_len: usize, value_start: u32, value_len: usize) -> FieldRef {
        FieldRef {
            name_start,
            name_len: name_len as u32,
            value_start,
            value_len: value_len as u32,
            sensitive: false,
            raw: false,
        }
    }
}

/// One field of a [`Headers`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The lower-case field name (pseudo-headers start with `:`).
    pub name: &'a str,
    /// The value as bytes (HTTP field values are not necessarily UTF-8).
    pub value: &'a [u8],
    /// Whether the value is sensitive: HTTP/2 sends it HPACK never-indexed.
    pub sensitive: bool,
}

impl<'a> Field<'a> {
    /// The value as `&str` when it is valid UTF-8.
    pub fn value_str(&self) -> Option<&'a str> {
        as_text(self.value).ok()
    }
}

/// An ordered list of header fields, pseudo-headers first.
#[derive(Clone, Default)]
pub struct Headers {
    /// Every name (lower-case ASCII) and every UTF-8 value, back to back: one allocation
    /// holds a whole head in the usual case.
    text: String,
    /// Values that are not UTF-8 (obs-text), rare enough to live apart.
    raw: Vec<u8>,
    fields: Vec<FieldRef>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty list with room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            raw: Vec::new(),
            fields: Vec::with_capacity(fields),
        }
    }

    /// A head built from slices of `src`, the bytes of an HTTP/1 head as received: `src` is
    /// copied once and the fields refer into the copy (their names lower-cased there), which
    /// costs less than storing the fields one by one. `pseudo` are pseudo-headers (names, and
    /// values that are slices of `src`), stored first; `fields` the ordinary fields, slices of
    /// `src` as the parser found them. `None` when `src` is not UTF-8 or a value lies
    /// outside it: the caller then stores the fields one by one. The head is built in the
    /// storage of `h` (cleared first; a head given back, or a new one).
    pub(crate) fn from_received(
        mut h: Headers,
        src: &[u8],
        pseudo: &[(&str, &[u8])],
        fields: &[httparse::Header<'_>],
    ) -> Option<Headers> {
        h.clear();
        let src_text = as_text(src).ok()?;
        let base = src.as_ptr() as usize;
        let at = |s: &[u8]| -> Option<u32> {
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            (start + s.len() <= src.len()).then_some(start as u32)
        };
        let names: usize = pseudo.iter().map(|(k, _)| k.len()).sum();
        h.fields.reserve_exact(pseudo.len() + fields.len());
        h.text.reserve_exact(src.len() + names);
        h.text.push_str(src_text);
        for (name, value) in pseudo {
            let value_start = at(value)?;
            let name_start = h.text.len() as u32;
            h.text.push_str(name);
            h.fields.push(FieldRef::in_text(
                name_start,
                name.len(),
                value_start,
                value.len(),
            ));
        }
        for f in fields {
            let name_start = at(f.name.as_bytes())?;
            let value_start = at(f.value)?;
            let name_end = name_start as usize + f.name.len();
            h.text[name_start as usize..name_end].make_ascii_lowercase();
            h.fields.push(FieldRef::in_text(
                name_start,
                f.name.len(),
                value_start,
                f.value.len(),
            ));
        }
        Some(h)
    }

    /// A request head: `:method`, `:path` and, when given, `:authority`.
    ///
    /// ```
    /// use pollhttp::{Headers, Method};
    /// let h = Headers::request(Method::GET, "/", Some("example.com"));
    /// assert_eq!(h.method(), Some(Method::GET));
    /// // A method known only as text is parsed first: an invalid one is an error there.
    /// let m = Method::from_bytes(b"PURGE").unwrap();
    /// assert_eq!(Headers::request(m, "/", None).get_str(":method"), Some("PURGE"));
    /// ```
    pub fn request(method: Method, path: &str, authority: Option<&str>) -> Headers {
        Headers::request_text(method.as_str(), path, authority)
    }

    /// [`Headers::request`] with the method as text, unchecked (the C ABI's, which lets the
    /// core refuse a bad method when the head is written).
    pub fn request_text(method: &str, path: &str, authority: Option<&str>) -> Headers {
        let mut h = Headers::with_capacity(8, 64);
        h.append(":method", method);
        h.append(":path", path);
        if let Some(a) = authority {
            h.append(":authority", a);
        }
        h
    }

    /// A response head with `:status`.
    ///
    /// ```
    /// use pollhttp::{Headers, StatusCode};
    /// let h = Headers::response(StatusCode::NOT_FOUND);
    /// assert_eq!(h.status(), Some(StatusCode::NOT_FOUND));
    /// // A status known only as a number is checked first (100..=999).
    /// let s = StatusCode::from_u16(299).unwrap();
    /// assert_eq!(Headers::response(s).get_str(":status"), Some("299"));
    /// ```
    pub fn response(status: StatusCode) -> Headers {
        let mut h = Headers::with_capacity(8, 64);
        h.append(":status", status.as_str());
        h
    }

    /// Stores a value; returns where, and whether in `raw`.
    fn store_value(&mut self, value: &[u8]) -> (u32, bool) {
        match as_text(value) {
            Ok(v) => {
                let at = self.text.len() as u32;
                self.text.push_str(v);
                (at, false)
            }
            Err(_) => {
                let at = self.raw.len() as u32;
                self.raw.extend_from_slice(value);
                (at, true)
            }
        }
    }

    fn push(&mut self, name: &str, value: &[u8], sensitive: bool) {
        let name_start = self.text.len() as u32;
        self.text.reserve(name.len() + value.len());
        push_lower(&mut self.text, name);
        let (value_start, raw) = self.store_value(value);
        self.fields.push(FieldRef {
            name_start,
            name_len: name.len() as u32,
            value_start,
            value_len: value.len() as u32,
            sensitive,
            raw,
        });
    }

    /// Appends a field; the name is stored lower-case. Nothing is validated here: the protocol
    /// core refuses a name or value it cannot send when the head is written.
    pub fn append(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.push(name, value.as_ref(), false);
    }

    /// Appends a field whose value is sensitive (HPACK never-indexed in HTTP/2).
    pub fn append_sensitive(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.push(name, value.as_ref(), true);
    }

    /// Appends a field as a parser found it (httparse has checked the name is a token).
    pub(crate) fn append_raw(&mut self, name: &str, value: &[u8]) {
        self.push(name, value, false);
    }

    /// Replaces every field called `name` by one with `value`, at the place of the first
    /// (added at the end if there is none).
    pub fn upsert(&mut self, name: &str, value: impl AsRef<[u8]>) {
        match self.position(name) {
            Some(i) => {
                let value = value.as_ref();
                let (value_start, raw) = self.store_value(value);
                let f = &mut self.fields[i];
                f.value_start = value_start;
                f.value_len = value.len() as u32;
                f.sensitive = false;
                f.raw = raw;
                let keep = i;
                let mut j = 0;
                let names = &self.text;
                self.fields.retain(|f| {
                    let k = j;
                    j += 1;
                    k == keep || !field_name(names, f).eq_ignore_ascii_case(name)
                });
            }
            None => self.append(name, value),
        }
    }

    fn name_of(&self, f: &FieldRef) -> &str {
        field_name(&self.text, f)
    }

    fn value_of(&self, f: &FieldRef) -> &[u8] {
        let range = f.value_start as usize..(f.value_start + f.value_len) as usize;
        if f.raw {
            &self.raw[range]
        } else {
            &self.text.as_bytes()[range]
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        let len = name.len() as u32;
        self.fields
            .iter()
            .position(|f| f.name_len == len && same_name(self.name_of(f), name))
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.position(name).map(|i| self.value_of(&self.fields[i]))
    }

    /// The value of the first field called `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| as_text(v).ok())
    }

    /// Every value of the fields called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |f| self.name_of(f).eq_ignore_ascii_case(name))
            .map(move |f| self.value_of(f))
    }

    /// Whether a field called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Removes every field called `name`; returns whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        let names = &self.text;
        self.fields
            .retain(|f| !field_name(names, f).eq_ignore_ascii_case(name));
        before != self.fields.len()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = Field<'_>> + '_ {
        self.fields.iter().map(move |f| Field {
            name: self.name_of(f),
            value: self.value_of(f),
            sensitive: f.sensitive,
        })
    }

    /// Field number `index` (from 0, in order, pseudo-headers first), or `None` past the
    /// last: what [`iter`](Self::iter) gives at that place, without walking the ones before.
    pub fn field(&self, index: usize) -> Option<Field<'_>> {
        self.fields.get(index).map(|f| Field {
            name: self.name_of(f),
            value: self.value_of(f),
            sensitive: f.sensitive,
        })
    }

    /// The number of fields, pseudo-headers included.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether `self` and `other` are stored identically (the same fields at the same places
    /// of the same bytes): a cheap test that is enough to know they hold the same head.
    pub(crate) fn same_storage(&self, other: &Headers) -> bool {
        self.fields == other.fields
            && same_bytes(self.text.as_bytes(), other.text.as_bytes())
            && same_bytes(&self.raw, &other.raw)
    }

    /// Makes `self` a copy of `src`, reusing its own storage.
    pub(crate) fn copy_from(&mut self, src: &Headers) {
        self.text.clone_from(&src.text);
        self.raw.clone_from(&src.raw);
        self.fields.clone_from(&src.fields);
    }

    /// The bytes of storage this list holds (its allocations' sizes).
    pub(crate) fn storage_bytes(&self) -> usize {
        self.text.capacity()
            + self.raw.capacity()
            + self.fields.capacity() * std::mem::size_of::<FieldRef>()
    }

    /// Removes every field, keeping the storage.
    pub fn clear(&mut self) {
        self.text.clear();
        self.raw.clear();
        self.fields.clear();
    }

    /// The `:status` pseudo-header; `None` if there is none or it is not a status (three
    /// digits, 100 to 999).
    pub fn status(&self) -> Option<StatusCode> {
        StatusCode::from_u16(self.status_code()?).ok()
    }

    /// The `:status` pseudo-header as a number (three digits), for the protocol cores and the
    /// C ABI; [`status`](Headers::status) is the same as a `StatusCode`.
    pub fn status_code(&self) -> Option<u16> {
        // Pseudo-headers come first: the usual place of `:status` is the front.
        let first = self.fields.first()?;
        let v = if self.name_of(first) == ":status" {
            self.value_of(first)
        } else {
            self.get(":status")?
        };
        Headers::parse_status(v)
    }

    pub(crate) fn parse_status(v: &[u8]) -> Option<u16> {
        if v.len() != 3 || !v.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(v.iter().fold(0u16, |n, d| n * 10 + (d - b'0') as u16))
    }

    /// The `:method` pseudo-header; `None` if there is none or it is not a method (a token).
    /// [`get_str(":method")`](Headers::get_str) has the text as it is.
    pub fn method(&self) -> Option<Method> {
        Method::from_bytes(self.get(":method")?).ok()
    }

    /// The path of the request target, without its query, as `http::Uri::path` has it:
    /// `/hello` for a `:path` of `/hello?x=1` (`*` for `OPTIONS *`). `None` when the head has
    /// no `:path` (a response, a CONNECT request). The whole `:path` is
    /// [`path_and_query`](Self::path_and_query).
    pub fn path(&self) -> Option<&str> {
        let p = self.path_and_query()?;
        Some(p.split_once('?').map_or(p, |(path, _)| path))
    }

    /// The query of the request target, after the `?` (`x=1` for `/hello?x=1`); `None` when
    /// there is none.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query()?.split_once('?').map(|(_, q)| q)
    }

    /// The `:path` pseudo-header as received or to be sent: the path and the query of the
    /// request target (origin form, or `*`).
    pub fn path_and_query(&self) -> Option<&str> {
        self.get_str(":path")
    }

    /// The request target as an `http::Uri`: absolute (`http://host/path?query`) when the head
    /// has `:scheme` and `:authority`, else its path and query alone. `None` when there is no
    /// `:path` or it is no URI.
    pub fn uri(&self) -> Option<http::Uri> {
        let pq = self.path_and_query()?;
        match (self.get_str(":scheme"), self.authority()) {
            (Some(scheme), Some(authority)) if !authority.is_empty() => http::Uri::builder()
                .scheme(scheme)
                .authority(authority)
                .path_and_query(pq)
                .build()
                .ok(),
            _ => pq.parse().ok(),
        }
    }

    /// The `:authority` pseudo-header.
    pub fn authority(&self) -> Option<&str> {
        self.get_str(":authority")
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|x| (x.name, String::from_utf8_lossy(x.value).into_owned())),
            )
            .finish()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Headers {}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Headers {
        let mut h = Headers::new();
        for (n, v) in iter {
            h.append(n, v);
        }
        h
    }
}

/// `bytes` as text when they are UTF-8. Field names and values are nearly always ASCII, which
/// `is_ascii` (a word at a time) confirms for a fraction of what a full UTF-8 validation costs
/// on short strings; only the rest are validated.
pub(crate) fn as_text(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: `is_ascii` just above found every byte below 0x80, and a sequence of ASCII
        // bytes is valid UTF-8. (Kept unchecked: this runs for every name and value of every
        // head, and the full validation it replaced cost ~500 ns a request; docs/benchmarks.md.)
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Whether a field value holds CR, LF or NUL, which no HTTP version lets a value carry (RFC
/// 9110 5.5, RFC 9113 8.2.1). Without short-circuiting, so the scan compiles to wide compares.
pub(crate) fn has_cr_lf_nul(value: &[u8]) -> bool {
    value.iter().fold(false, |bad, &b| {
        bad | (b == b'\r') | (b == b'\n') | (b == 0)
    })
}

/// Whether a stored (lower-case) name is `name` in any case; asked mostly with lower-case
/// names, which one word-wise compare settles.
#[inline]
fn same_name(stored: &str, name: &str) -> bool {
    same_bytes(stored.as_bytes(), name.as_bytes()) || stored.eq_ignore_ascii_case(name)
}

/// Eight bytes lower-cased at once: each byte in `A..=Z` gets its 0x20 bit set, every other
/// byte (non-ASCII ones included) stays as it is.
#[inline]
fn lower8(w: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = w & !HIGH;
    // Per byte, no carries between bytes (low7 + 0x3f <= 0xbe): the high bit says b >= 'A',
    // and in the second b > 'Z'.
    let at_least_a = low7 + 0x3f3f_3f3f_3f3f_3f3f;
    let above_z = low7 + 0x2525_2525_2525_2525;
    let upper = at_least_a & !above_z & !w & HIGH;
    w | (upper >> 2)
}

/// Appends `name` lower-cased (ASCII letters only), eight bytes at a time (on the path of every
/// field stored; `str::make_ascii_lowercase` after a `push_str` is a byte at a time).
fn push_lower(text: &mut String, name: &str) {
    // Room first, so that nothing below can panic (the only panic `extend` has is growing):
    // an unwind must never see `text` in the middle, where a multi-byte character of `name`
    // may be cut at an eight-byte boundary.
    text.reserve(name.len());
    // SAFETY: `as_mut_vec` requires `text` to be UTF-8 again when the borrow `v` ends. What is
    // appended is `name`'s bytes in order with only A-Z turned into a-z (`lower8` and
    // `to_ascii_lowercase` leave every other byte, non-ASCII ones included, as it is), and
    // `name` is a `str`, so the whole is UTF-8 once the last byte is in; no panic can happen
    // before that (reserved above), and `v` does not escape this function.
    let v = unsafe { text.as_mut_vec() };
    let mut words = name.as_bytes().chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        v.extend_from_slice(&lower8(w).to_le_bytes());
    }
    v.extend(words.remainder().iter().map(u8::to_ascii_lowercase));
}

/// `a == b`, word by word: a head is a few dozen bytes, and the C library's `memcmp` cost
/// more per call than such a compare (perf under load: about a tenth of the client's samples).
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut wa, mut wb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut wa).zip(&mut wb) {
        let x = u64::from_ne_bytes(x.try_into().unwrap_or([0; 8]));
        let y = u64::from_ne_bytes(y.try_into().unwrap_or([0; 8]));
        if x != y {
            return false;
        }
    }
    let mut diff = 0u8;
    for (x, y) in wa.remainder().iter().zip(wb.remainder()) {
        diff |= x ^ y;
    }
    diff == 0
}

fn field_name<'a>(names: &'a str, f: &FieldRef) -> &'a str {
    // Names are ASCII (pushed from `str`s that are tokens or lower-cased ASCII), so these
    // offsets are always on character boundaries.
    names
        .get(f.name_start as usize..(f.name_start + f.name_len) as usize)
        .unwrap_or("invalid")
}

pub(crate) fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub(crate) fn fmt_u64(buf: &mut [u8; 20], mut n: u64) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_and_order_kept() {
        let mut h = Headers::request(Method::GET, "/x", Some("example.com"));
        h.append("Content-Type", "text/plain");
        h.append("X-A", "1");
        h.append("x-a", "2");
        let names: Vec<_> = h.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                ":method",
                ":path",
                ":authority",
                "content-type",
                "x-a",
                "x-a"
            ]
        );
        assert_eq!(h.get("CONTENT-type"), Some(&b"text/plain"[..]));
        assert_eq!(h.get_all("x-a").collect::<Vec<_>>(), [b"1", b"2"]);
        assert_eq!(h.method(), Some(Method::GET));
        assert_eq!(h.path(), Some("/x"));
    }

    #[test]
    fn upsert_replaces_in_place_and_remove_removes_all() {
        let mut h = Headers::response(StatusCode::OK);
        h.append("a", "1");
        h.append("b", "2");
        h.append("a", "3");
        h.upsert("a", "9");
        assert_eq!(
            h.iter().map(|f| f.name).collect::<Vec<_>>(),
            [":status", "a", "b"]
        );
        assert_eq!(h.get_str("a"), Some("9"));
        assert!(h.remove("B"));
        assert!(!h.remove("b"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.status(), Some(StatusCode::OK));
    }

    #[test]
    fn status_must_be_three_digits() {
        let mut h = Headers::new();
        h.append(":status", "2000");
        assert_eq!(h.status(), None);
        assert_eq!(
            Headers::response(StatusCode::NOT_FOUND).status(),
            Some(StatusCode::NOT_FOUND)
        );
    }

    /// The typed accessors say `None` for what the raw list holds but is no status or method;
    /// the text stays readable with `get_str`.
    #[test]
    fn status_and_method_are_none_unless_valid() {
        let mut h = Headers::new();
        h.append(":status", "099");
        assert_eq!((h.status(), h.get_str(":status")), (None, Some("099")));
        let mut h = Headers::new();
        h.append(":method", "G T");
        assert_eq!((h.method(), h.get_str(":method")), (None, Some("G T")));
        assert_eq!(Headers::new().method(), None);
        let purge = Method::from_bytes(b"PURGE").unwrap();
        let h = Headers::request(purge.clone(), "/", None);
        assert_eq!(h.method(), Some(purge));
        let h = Headers::response(StatusCode::from_u16(599).unwrap());
        assert_eq!(h.get_str(":status"), Some("599"));
        assert_eq!(h.status().map(|s| s.as_u16()), Some(599));
    }

    #[test]
    fn values_that_are_not_utf8_are_kept_byte_for_byte() {
        let mut h = Headers::new();
        h.append("a", b"caf\xe9");
        h.append("b", "ok");
        h.upsert("a", b"\xff\xfe");
        assert_eq!(h.get("a"), Some(&b"\xff\xfe"[..]));
        assert_eq!(h.get_str("a"), None);
        assert_eq!(h.get_str("b"), Some("ok"));
        assert_eq!(h.iter().map(|f| f.name).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn as_text_takes_ascii_and_utf8_and_refuses_the_rest() {
        assert_eq!(as_text(b"").unwrap(), "");
        assert_eq!(
            as_text(b"text/plain; charset=utf-8").unwrap(),
            "text/plain; charset=utf-8"
        );
        assert_eq!(as_text("caf\u{e9}".as_bytes()).unwrap(), "caf\u{e9}");
        assert!(as_text(b"caf\xe9").is_err());
        assert!(as_text(b"\x80").is_err());
        assert!(as_text(b"abcdefghijklmnop\xff").is_err());
    }

    #[test]
    fn names_are_lower_cased_byte_for_byte_as_to_ascii_lowercase_does() {
        // Every byte value at every position of a word, and the lengths around a word.
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut w = [b'Q'; 8];
                w[at] = b;
                let x = u64::from_le_bytes(w);
                let want: Vec<u8> = w.iter().map(u8::to_ascii_lowercase).collect();
                assert_eq!(
                    lower8(x).to_le_bytes().to_vec(),
                    want,
                    "byte {b:#x} at {at}"
                );
            }
        }
        for name in [
            "",
            "A",
            "Content-Type",
            "X-ABCDEFGHIJKLMNOPQRSTUVWXYZ-@[`{",
            "Ümlaut-ÄÖ",
        ] {
            let mut text = String::from("x");
            push_lower(&mut text, name);
            assert_eq!(text, format!("x{}", name.to_ascii_lowercase()));
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let a: Vec<u8> = (0..40u8).collect();
        for n in 0..a.len() {
            let copy = a[..n].to_vec();
            assert!(same_bytes(&a[..n], &copy));
            assert!(!same_bytes(&a[..n], &a[..n + 1]));
            for at in 0..n {
                let mut b = a[..n].to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a[..n], &b), "{n} bytes, differing at {at}");
            }
        }
        let mut h = Headers::request(Method::GET, "/", Some("x"));
        let copy = h.clone();
        assert!(h.same_storage(&copy));
        h.append("x-a", [0xff]);
        assert!(!h.same_storage(&copy));
        let mut other = Headers::new();
        other.copy_from(&h);
        assert!(other.same_storage(&h));
    }

    #[test]
    fn fmt_u64_formats_decimal() {
        let mut b = itoa_buf();
        assert_eq!(fmt_u64(&mut b, 0), "0");
        let mut b = itoa_buf();
        assert_eq!(fmt_u64(&mut b, u64::MAX), "18446744073709551615");
    }

    /// `path()` is the target's path without its query (a route matches `/hello?x=1` as
    /// `/hello`), `query()` the rest, `path_and_query()` the `:path` as sent, `uri()` the
    /// target as an `http::Uri` (relative without `:scheme` and `:authority`).
    #[test]
    fn the_request_target_in_its_parts() {
        let h = Headers::request(Method::GET, "/hello?x=1&y", None);
        assert_eq!(h.path(), Some("/hello"));
        assert_eq!(h.query(), Some("x=1&y"));
        assert_eq!(h.path_and_query(), Some("/hello?x=1&y"));
        let u = h.uri().expect("a relative URI");
        assert_eq!(
            (u.path(), u.query(), u.host()),
            ("/hello", Some("x=1&y"), None)
        );
        let plain = Headers::request(Method::GET, "/plain", None);
        assert_eq!((plain.path(), plain.query()), (Some("/plain"), None));
        let star = Headers::request(Method::OPTIONS, "*", None);
        assert_eq!(star.path(), Some("*"));
        assert_eq!(Headers::response(StatusCode::OK).path(), None);
        assert_eq!(Headers::response(StatusCode::OK).uri(), None);
    }
}
