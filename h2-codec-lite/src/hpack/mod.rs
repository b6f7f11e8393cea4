//! HPACK header compression (RFC 7541).
//!
//! * [`HpackDecoder`] turns a complete header block (the concatenated
//!   fragments of HEADERS/PUSH_PROMISE + CONTINUATION) into header fields,
//!   with limits that keep a hostile peer from making it allocate without
//!   bound.
//! * [`HpackEncoder`] turns header fields into a header block, choosing
//!   the representation per field.
//! * [`integer`], [`huffman`] and [`table`] are the building blocks, public
//!   for tests and tools.

pub mod decoder;
pub mod encoder;
pub mod huffman;
pub mod integer;
pub mod table;

pub use decoder::HpackDecoder;
pub use encoder::HpackEncoder;
pub use table::DynamicTable;

/// A borrowed header field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeaderRef<'a> {
    /// Field name (HTTP/2 requires lowercase; not checked here).
    pub name: &'a [u8],
    /// Field value.
    pub value: &'a [u8],
    /// Never-indexed: must not be put in any compression table, by us or
    /// by intermediaries re-encoding it (RFC 7541 §6.2.3, §7.1.3).
    pub sensitive: bool,
}

impl<'a> HeaderRef<'a> {
    /// An ordinary field.
    pub const fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        HeaderRef {
            name,
            value,
            sensitive: false,
        }
    }

    /// A sensitive (never-indexed) field.
    pub const fn sensitive(name: &'a [u8], value: &'a [u8]) -> Self {
        HeaderRef {
            name,
            value,
            sensitive: true,
        }
    }

    /// Copies into an owned [`Header`].
    pub fn to_header(&self) -> Header {
        Header {
            name: self.name.to_vec(),
            value: self.value.to_vec(),
            sensitive: self.sensitive,
        }
    }

    /// The field's size for SETTINGS_MAX_HEADER_LIST_SIZE and table
    /// accounting: 32 + name + value.
    pub const fn size(&self) -> usize {
        table::ENTRY_OVERHEAD + self.name.len() + self.value.len()
    }
}

/// An owned header field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Header {
    /// Field name.
    pub name: Vec<u8>,
    /// Field value.
    pub value: Vec<u8>,
    /// Never-indexed, see [`HeaderRef::sensitive`].
    pub sensitive: bool,
}

impl Header {
    /// An ordinary field.
    pub fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    /// Borrows as a [`HeaderRef`].
    pub fn as_header_ref(&self) -> HeaderRef<'_> {
        HeaderRef {
            name: &self.name,
            value: &self.value,
            sensitive: self.sensitive,
        }
    }
}
