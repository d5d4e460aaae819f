//! The low-level PDF layer of Inkan: a reader for the PDFs users actually send, and an
//! incremental writer for the PAdES engine.
//!
//! - [`Document`] opens a PDF through a random-access [`Source`] (a file read with positional
//!   reads, or bytes in memory) and reads only what is asked: the trailer and cross-reference
//!   data at opening (classic tables, cross-reference streams, hybrid files, `/Prev` chains,
//!   linearized files), then objects on demand (object streams included) through a small cache.
//!   Stream data stays in the file until [`Document::stream_data`] or
//!   [`Document::decode_stream`] is called, so a 50 MB scan opens with a few hundred KB of
//!   memory. Broken cross-reference data is rebuilt by scanning, and flagged.
//! - [`Document::pages`] walks the page tree with inherited attributes, refusing cycles.
//! - [`IncrementalUpdate`] appends new and changed objects, a cross-reference section of the
//!   same kind as the original's last one, and a trailer chained by `/Prev`, without changing a
//!   byte of the original. [`Placeholder`]s reserve a signature's `/Contents` and `/ByteRange`;
//!   [`PreparedUpdate`] knows every offset before writing, writes in one streaming pass while
//!   feeding the signed byte ranges to a hash, and patches the signature in afterwards.
//! - [`NewDocument`] writes a brand-new file (classic cross-reference table); [`ObjectSink`] is
//!   what both writers share, so fonts and form XObjects are built once for either.
//! - [`content::Operations`] reads content streams (and CMaps) as operands and operators.
//!
//! Nothing here panics, hangs or allocates without bound on any input: see [`limits`].
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod content;
mod crypt;
mod document;
mod error;
mod filters;
mod lexer;
pub mod limits;
mod new_document;
mod object;
mod objstm;
mod pages;
mod parser;
mod placeholder;
mod reconstruct;
pub mod sample;
mod serialize;
mod sink;
mod source;
pub mod text;
mod writer;
mod xref;

pub use document::{Document, OpenOptions, Revision};
pub use error::{PdfError, Result};
pub use filters::{decode, flate_encode, Filter};
pub use new_document::NewDocument;
pub use object::{Dict, Name, ObjRef, Object, PdfString, Stream, StreamData, StringFormat};
pub use pages::{Page, Pages, Rect};
pub use placeholder::{hash_byte_range, Placeholder, PlaceholderId, PlaceholderSpan};
pub use sink::ObjectSink;
pub use source::{Appended, FileSource, Prefix, Source};
pub use writer::{Compression, IncrementalUpdate, PreparedUpdate};
pub use xref::{XrefEntry, XrefKind, XrefSection, MAX_XREF_ENTRIES};
