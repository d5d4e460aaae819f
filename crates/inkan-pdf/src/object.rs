//! The PDF object model (ISO 32000-2 §7.3), as read from a file or built for an update.

use std::fmt;

use crate::error::{PdfError, Result};

/// An indirect object's identity: object number and generation (`12 0 R`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    /// The object number.
    pub num: u32,
    /// The generation number (0 for nearly every object ever written).
    pub gen: u16,
}

impl ObjRef {
    /// `num gen R`.
    pub fn new(num: u32, gen: u16) -> Self {
        ObjRef { num, gen }
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.num, self.gen)
    }
}

/// How a string was (or will be) written: both hold arbitrary bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    /// `(...)`, with backslash escapes.
    Literal,
    /// `<...>`, two hex digits per byte (signature `/Contents` are written this way).
    Hex,
}

/// A string object: its bytes after escape decoding, as they were in the file. Text strings
/// (titles, field names) are encoded; see [`PdfString::to_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfString {
    /// The bytes (escapes and hex already decoded; no text decoding).
    pub bytes: Vec<u8>,
    /// Literal or hex.
    pub format: StringFormat,
}

impl PdfString {
    /// A literal string holding `bytes`.
    pub fn literal(bytes: impl Into<Vec<u8>>) -> Self {
        PdfString {
            bytes: bytes.into(),
            format: StringFormat::Literal,
        }
    }

    /// A hex string holding `bytes`.
    pub fn hex(bytes: impl Into<Vec<u8>>) -> Self {
        PdfString {
            bytes: bytes.into(),
            format: StringFormat::Hex,
        }
    }

    /// A text string for `text`: PDFDocEncoding when it can hold it, otherwise UTF-16BE with a
    /// byte order mark (what every reader, old or new, understands — Japanese names end up here).
    pub fn from_text(text: &str) -> Self {
        PdfString::literal(crate::text::encode_text_string(text))
    }

    /// The string read as a text string (UTF-16BE or UTF-8 with BOM, else PDFDocEncoding).
    pub fn to_text(&self) -> String {
        crate::text::decode_text_string(&self.bytes)
    }
}

/// A name (`/Type`), holding its bytes after `#xx` decoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub Vec<u8>);

impl Name {
    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(s.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Name {
    fn from(s: &[u8]) -> Self {
        Name(s.to_vec())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", String::from_utf8_lossy(&self.0))
    }
}

/// A dictionary, keeping its keys in file order (so a rewritten dictionary reads like the
/// original). Lookups are linear: PDF dictionaries are small.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dict {
    entries: Vec<(Name, Object)>,
}

impl Dict {
    /// An empty dictionary.
    pub fn new() -> Self {
        Dict::default()
    }

    /// The value of `key` (the last one, if a broken file repeats a key).
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&Object> {
        let key = key.as_ref();
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.0 == key)
            .map(|(_, v)| v)
    }

    /// Sets `key`, replacing its value if present; returns the old value.
    pub fn insert(&mut self, key: impl Into<Name>, value: impl Into<Object>) -> Option<Object> {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.entries.iter_mut().rev().find(|(k, _)| *k == key) {
            return Some(std::mem::replace(&mut slot.1, value));
        }
        self.entries.push((key, value));
        None
    }

    /// Appends without looking for an existing key (the parser keeps what the file says).
    pub(crate) fn push(&mut self, key: Name, value: Object) {
        self.entries.push((key, value));
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Option<Object> {
        let key = key.as_ref();
        let mut removed = None;
        self.entries.retain_mut(|(k, v)| {
            if k.0 == key {
                removed = Some(std::mem::replace(v, Object::Null));
                false
            } else {
                true
            }
        });
        removed
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        self.get(key).is_some()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Object)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries in order, values mutable (decryption rewrites strings in place).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&Name, &mut Object)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key` if it is a name.
    pub fn get_name(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    /// The value of `key` if it is an integer.
    pub fn get_int(&self, key: impl AsRef<[u8]>) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }

    /// The value of `key` if it is a reference.
    pub fn get_ref(&self, key: impl AsRef<[u8]>) -> Option<ObjRef> {
        self.get(key).and_then(Object::as_ref)
    }

    /// True when `/Type` is `type_name`.
    pub fn has_type(&self, type_name: &str) -> bool {
        self.get_name("Type") == Some(type_name.as_bytes())
    }
}

impl FromIterator<(Name, Object)> for Dict {
    fn from_iter<I: IntoIterator<Item = (Name, Object)>>(iter: I) -> Self {
        let mut d = Dict::new();
        for (k, v) in iter {
            d.insert(k, v);
        }
        d
    }
}

/// Where a stream's data is.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamData {
    /// In the source file: read only when asked (a scan's image stays on disk).
    InFile {
        /// Offset of the first data byte (after `stream` and its end of line).
        offset: u64,
        /// The number of bytes.
        length: u64,
    },
    /// In memory, already encoded as the dictionary's `/Filter` says (new streams to write).
    InMemory(Vec<u8>),
    /// In the source file, encrypted with the key of `object` (a document that opened with
    /// the empty user password): [`crate::Document::stream_data`] returns it decrypted.
    Encrypted {
        /// Offset of the first data byte.
        offset: u64,
        /// The number of encrypted bytes.
        length: u64,
        /// The object whose key decrypts it.
        object: ObjRef,
    },
}

impl StreamData {
    /// The same data, marked as encrypted with `object`'s key (data in memory is left alone).
    pub(crate) fn encrypted_with(self, object: ObjRef) -> StreamData {
        match self {
            StreamData::InFile { offset, length } => StreamData::Encrypted {
                offset,
                length,
                object,
            },
            other => other,
        }
    }
}

/// A stream: its dictionary and where its (encoded) data is.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// The stream dictionary (`/Length` as the file had it; the writer sets its own).
    pub dict: Dict,
    /// The encoded data.
    pub data: StreamData,
}

impl Stream {
    /// A new stream holding `data`, encoded as `dict`'s `/Filter` says (none: plain bytes).
    pub fn new(dict: Dict, data: Vec<u8>) -> Self {
        Stream {
            dict,
            data: StreamData::InMemory(data),
        }
    }
}

/// Any PDF object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// `null` (also what a reference to a missing or free object means).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// A string.
    String(PdfString),
    /// A name.
    Name(Name),
    /// An array.
    Array(Vec<Object>),
    /// A dictionary.
    Dict(Dict),
    /// A stream (only ever the value of an indirect object).
    Stream(Box<Stream>),
    /// An indirect reference.
    Reference(ObjRef),
}

impl Object {
    /// A name object.
    pub fn name(name: &str) -> Self {
        Object::Name(Name::from(name))
    }

    /// The type's name with an article, for error messages ("a dictionary").
    pub fn type_name(&self) -> &'static str {
        match self {
            Object::Null => "null",
            Object::Bool(_) => "a boolean",
            Object::Integer(_) => "an integer",
            Object::Real(_) => "a real number",
            Object::String(_) => "a string",
            Object::Name(_) => "a name",
            Object::Array(_) => "an array",
            Object::Dict(_) => "a dictionary",
            Object::Stream(_) => "a stream",
            Object::Reference(_) => "a reference",
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Object::Null)
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number (integer or real) as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Integer(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Object::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The name's bytes, if this is a name.
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(&n.0),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_string(&self) -> Option<&PdfString> {
        match self {
            Object::String(s) => Some(s),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The dictionary: of a dictionary, or of a stream.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    /// The stream, if this is one.
    pub fn as_stream(&self) -> Option<&Stream> {
        match self {
            Object::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// The reference, if this is one.
    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Reference(r) => Some(*r),
            _ => None,
        }
    }

    /// The dictionary (of a dictionary or stream), or an error naming `what`.
    pub fn expect_dict(&self, what: impl fmt::Display) -> Result<&Dict> {
        self.as_dict().ok_or_else(|| PdfError::WrongType {
            what: what.to_string(),
            expected: "a dictionary",
            found: self.type_name(),
        })
    }

    /// The array, or an error naming `what`.
    pub fn expect_array(&self, what: impl fmt::Display) -> Result<&[Object]> {
        self.as_array().ok_or_else(|| PdfError::WrongType {
            what: what.to_string(),
            expected: "an array",
            found: self.type_name(),
        })
    }
}

impl From<bool> for Object {
    fn from(v: bool) -> Self {
        Object::Bool(v)
    }
}

impl From<i64> for Object {
    fn from(v: i64) -> Self {
        Object::Integer(v)
    }
}

impl From<i32> for Object {
    fn from(v: i32) -> Self {
        Object::Integer(i64::from(v))
    }
}

impl From<u32> for Object {
    fn from(v: u32) -> Self {
        Object::Integer(i64::from(v))
    }
}

impl From<f64> for Object {
    fn from(v: f64) -> Self {
        Object::Real(v)
    }
}

impl From<PdfString> for Object {
    fn from(v: PdfString) -> Self {
        Object::String(v)
    }
}

impl From<Name> for Object {
    fn from(v: Name) -> Self {
        Object::Name(v)
    }
}

impl From<Vec<Object>> for Object {
    fn from(v: Vec<Object>) -> Self {
        Object::Array(v)
    }
}

impl From<Dict> for Object {
    fn from(v: Dict) -> Self {
        Object::Dict(v)
    }
}

impl From<Stream> for Object {
    fn from(v: Stream) -> Self {
        Object::Stream(Box::new(v))
    }
}

impl From<ObjRef> for Object {
    fn from(v: ObjRef) -> Self {
        Object::Reference(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_insert_replaces_and_keeps_order() {
        let mut d = Dict::new();
        d.insert("Type", Object::name("Sig"));
        d.insert("Filter", Object::name("Adobe.PPKLite"));
        assert_eq!(
            d.insert("Type", Object::name("DocTimeStamp")),
            Some(Object::name("Sig"))
        );
        let keys: Vec<_> = d.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["/Type", "/Filter"]);
        assert!(d.has_type("DocTimeStamp"));
        assert!(d.remove("Type").is_some());
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn object_stays_small() {
        // Arrays of thousands of references (page trees) are held in memory: keep objects compact.
        assert!(std::mem::size_of::<Object>() <= 40);
    }
}
