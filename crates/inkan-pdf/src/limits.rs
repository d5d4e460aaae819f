//! The bounds that keep reading any input fast and small. Each is far above what a real document
//! needs and far below what would exhaust the machine.

/// Arrays and dictionaries nested deeper than this are refused (the parser recurses).
pub const MAX_NESTING: usize = 256;

/// The most objects (all nested values counted) one indirect object may hold: a flat `/Kids` of
/// a 100,000-page document fits; an array that would take gigabytes of memory does not.
pub const MAX_OBJECT_ELEMENTS: usize = 1 << 20;

/// The longest string, name or keyword token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 << 20;

/// The most cross-reference sections followed through `/Prev` (one per incremental update).
pub const MAX_XREF_SECTIONS: usize = 4096;

/// The most bytes a decoded cross-reference stream may have.
pub const MAX_XREF_STREAM_BYTES: usize = 64 << 20;

/// The most bytes a decoded object stream may have.
pub const MAX_OBJSTM_BYTES: usize = 32 << 20;

/// The most objects one object stream may declare.
pub const MAX_OBJSTM_OBJECTS: u64 = 1 << 20;

/// How deep the page tree may be (real trees are 2–6 levels).
pub const MAX_PAGE_TREE_DEPTH: usize = 128;

/// How many lookups one lookup may trigger in a chain (an indirect `/Length` of a stream inside an
/// object stream, a reference to a reference …); beyond that it is a cycle.
pub const MAX_RESOLVE_DEPTH: usize = 16;

/// How many parsed objects the document keeps in its cache before starting afresh.
pub const CACHE_OBJECTS: usize = 4096;

/// How many decoded object streams the document keeps.
pub const CACHE_OBJECT_STREAMS: usize = 2;

/// How far from the end of the file `startxref` is looked for (files often end with padding).
pub const STARTXREF_SEARCH: u64 = 64 * 1024;

/// The default bound on decoded stream data for [`crate::Document::decode_stream`] callers that
/// have no better idea.
pub const DEFAULT_DECODE_LIMIT: usize = 256 << 20;
