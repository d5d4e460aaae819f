//! One error type whose messages tell a person what is wrong with the file (or the request), and
//! where.

use thiserror::Error;

use crate::object::ObjRef;

/// Why a PDF could not be read, or an update could not be written.
#[derive(Debug, Error)]
pub enum PdfError {
    /// Reading the source (or writing the output) failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with a `%PDF-` header (within the first KB, where readers look).
    #[error("not a PDF: no %PDF header")]
    NotPdf,
    /// There is no `startxref` near the end of the file, so its cross-reference data cannot be
    /// found (often a truncated upload).
    #[error("no startxref at the end of the file (is it truncated?)")]
    NoStartxref,
    /// `startxref` (or a `/Prev`, `/XRefStm`) names an offset beyond the end of the file.
    #[error("{what} points outside the file (offset {offset}, the file has {len} bytes)")]
    OutsideFile {
        /// Which pointer: "startxref", "/Prev", "/XRefStm".
        what: &'static str,
        /// The offset found.
        offset: u64,
        /// The file length.
        len: u64,
    },
    /// A `/Prev` or `/XRefStm` chain comes back to a section already read.
    #[error("cross-reference loop at offset {offset}")]
    XrefLoop {
        /// The offset reached a second time.
        offset: u64,
    },
    /// A cross-reference section (table or stream) is malformed.
    #[error("broken cross-reference section at offset {offset}: {reason}")]
    BadXref {
        /// Where the section starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The bytes at an offset are not valid PDF syntax.
    #[error("syntax error at byte {offset}: {reason}")]
    Syntax {
        /// Where the problem was found.
        offset: u64,
        /// What was expected or found.
        reason: String,
    },
    /// A size or count limit that protects memory and time was exceeded.
    #[error("{what} exceeds the limit of {limit}")]
    Limit {
        /// What was too big or too deep.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The trailer has no usable `/Root`.
    #[error("the trailer has no /Root catalog")]
    NoRoot,
    /// The cross-reference data does not list the object.
    #[error("object {0} does not exist")]
    MissingObject(ObjRef),
    /// An object (or a value inside one) has another type than required.
    #[error("{what} is not {expected} (it is {found})")]
    WrongType {
        /// What was looked at, e.g. "object 12 0" or "/MediaBox of page 3".
        what: String,
        /// The type required, with its article: "a dictionary".
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// The cross-reference entry points at another object than the one asked for.
    #[error(
        "the cross-reference entry of object {expected} points at offset {offset}, where {found}"
    )]
    ObjectMismatch {
        /// The object asked for.
        expected: ObjRef,
        /// Where the entry points.
        offset: u64,
        /// What was found there instead.
        found: String,
    },
    /// An object stream (`/Type /ObjStm`) is malformed.
    #[error("object stream {num} 0 is broken: {reason}")]
    ObjStm {
        /// The object stream's number.
        num: u32,
        /// What is wrong.
        reason: String,
    },
    /// The file is encrypted: it can be read when it opens without a password, but never
    /// updated (an update would have to be encrypted too).
    #[error("encrypted PDFs cannot be changed (the file has an /Encrypt dictionary)")]
    Encrypted,
    /// The file is encrypted and opens only with a password, which Inkan does not ask for.
    #[error("the PDF is protected by a password needed to open it")]
    PasswordRequired,
    /// The file is encrypted in a way this crate does not read.
    #[error("the PDF is encrypted with {0}, which cannot be read")]
    EncryptedUnreadable(String),
    /// A stream uses a filter this crate does not decode.
    #[error("stream filter /{0} is not supported")]
    UnsupportedFilter(String),
    /// Stream data could not be decoded.
    #[error("cannot decode stream data: {0}")]
    Decode(String),
    /// The page tree is not a tree.
    #[error("the page tree is cyclic: {0} appears twice")]
    PageTreeCycle(ObjRef),
    /// A page number beyond the last page.
    #[error(
        "page {index} does not exist (the document has {count} pages; pages are counted from 0)"
    )]
    NoSuchPage {
        /// The index asked for (from 0).
        index: usize,
        /// The number of pages.
        count: usize,
    },
    /// A revision number beyond the last revision.
    #[error("revision {index} does not exist (the file has {count} revisions; revisions are counted from 0)")]
    NoSuchRevision {
        /// The index asked for (from 0).
        index: usize,
        /// The number of revisions.
        count: usize,
    },
    /// The cross-reference data was rebuilt by scanning because it is broken; an incremental
    /// update would point its `/Prev` at broken data.
    #[error("the file's cross-reference data is damaged (it was only readable by scanning the file); rewrite the file before updating it incrementally")]
    Damaged,
    /// The writer was asked something inconsistent.
    #[error("invalid update: {0}")]
    InvalidUpdate(String),
    /// A value does not fit in the space reserved for it.
    #[error("the value needs {needed} bytes but the placeholder reserves only {reserved}")]
    PlaceholderTooSmall {
        /// Bytes needed (for hex placeholders: binary bytes before hex encoding).
        needed: usize,
        /// Bytes reserved.
        reserved: usize,
    },
}

/// The crate's result type.
pub type Result<T, E = PdfError> = std::result::Result<T, E>;

impl PdfError {
    pub(crate) fn syntax(offset: u64, reason: impl Into<String>) -> Self {
        PdfError::Syntax {
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_xref(offset: u64, reason: impl Into<String>) -> Self {
        PdfError::BadXref {
            offset,
            reason: reason.into(),
        }
    }
}
