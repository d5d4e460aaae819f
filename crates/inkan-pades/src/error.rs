//! Why a PDF could not be signed, timestamped or verified.
//!
//! Which variant to use: a lower layer's failure is wrapped as itself (`Pdf`, `Cms`, `Key`,
//! `Tsa`, `Io` with the path), keeping it as the source; a request that cannot be done to this
//! document has a variant of its own naming what is wrong (`Field`, `AlreadySigned`,
//! `AlreadyCertified`, `NeedsTsa` …), so callers match on the case rather than on text;
//! validation data that cannot be gathered is `Validation`; a verification over its budget is
//! `TooComplex`.

use thiserror::Error;

/// What is wrong with a form field a request names.
#[derive(Debug, Error)]
pub enum FieldProblem {
    #[error("the name is used twice")]
    UsedTwice,
    #[error("a field name is 1 to 200 bytes without a period")]
    BadName,
    #[error("there is no such field")]
    Missing,
    #[error("the document has no page {0}")]
    NoPage(usize),
    #[error("a field of type {0} cannot take that value")]
    WrongValue(String),
    #[error("it exists but is not a signature field")]
    NotSignature,
    #[error("it is already signed")]
    AlreadySigned,
}

/// Why a PDF could not be signed, timestamped or verified.
#[derive(Debug, Error)]
pub enum PadesError {
    #[error("PDF: {0}")]
    Pdf(inkan_pdf::PdfError),
    #[error("CMS: {0}")]
    Cms(inkan_cms::CmsError),
    #[error("{0}")]
    Key(inkan_keys::KeyError),
    #[error("timestamp: {0}")]
    Tsa(inkan_pki::tsa::TsaError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("this document is certified with no changes allowed (DocMDP P=1): it cannot be signed again")]
    NoChangesAllowed,
    /// A form field a request names cannot be placed, filled or signed so. (The problem is
    /// shown in the message, so it is not also a source: a cause is printed once.)
    #[error("field {field:?}: {problem}")]
    Field {
        field: String,
        problem: FieldProblem,
    },
    /// The document already has a signature, so `what` (placing fields, stamping pages) would
    /// break it.
    #[error("the document is already signed: {0}")]
    AlreadySigned(&'static str),
    /// A certification signature must be the document's first.
    #[error("the document is already certified; a certification signature must come first")]
    AlreadyCertified,
    /// A new visible widget after a certification is an annotation its DocMDP forbids.
    #[error("the document is certified: a visible signature must go into a signature field placed before the certification (use --field), or be invisible")]
    VisibleAfterCertification,
    /// The file holds no signature to work on.
    #[error("the file holds no signature")]
    NoSignature,
    /// Archive renewal needs a timestamp in the newest signature.
    #[error("the newest signature carries no timestamp: nothing to renew")]
    NothingToRenew,
    /// The level asked for needs a TSA and none was given.
    #[error("{0} needs a TSA")]
    NeedsTsa(&'static str),
    /// A signature or timestamp kept needing more room than reserved (a TSA answering with
    /// ever longer tokens).
    #[error("the {0} kept outgrowing its reserved space")]
    OutgrewReservedSpace(&'static str),
    /// The page asked for is not in the document (counted from 1).
    #[error("the document has no page {0}")]
    NoSuchPage(usize),
    /// `--visible` is not `PAGE:X,Y,W,H`.
    #[error("--visible takes PAGE:X,Y,W,H (e.g. 1:360,60,200,60), not {0:?}")]
    BadVisibleSpec(String),
    /// The seal image cannot be drawn.
    #[error("the seal image: {0}")]
    SealImage(&'static str),
    /// Not a 締結証明書ID.
    #[error("a 締結証明書ID is 32 hex digits, not {0:?}")]
    BadConclusionId(String),
    /// Bytes after the last revision that begin another one: a truncated upload.
    #[error("the file is truncated or damaged: {extra} bytes after its last complete revision (byte {end}) are an incomplete update")]
    IncompleteUpdate { end: u64, extra: u64 },
    /// The Japanese font is missing or unusable.
    #[error("{0}")]
    Font(String),
    /// A form field a signature has locked (its field's `/Lock`, its FieldMDP reference) would
    /// be changed.
    #[error("フィールド「{field}」は署名「{by}」によってロックされています (the field {field:?} is locked by the signature in {by:?})")]
    FieldLocked { field: String, by: String },
    #[error("revoked: {0}")]
    Revoked(String),
    #[error("validation data: {0}")]
    Validation(String),
    /// The file needs more work to verify than the limits allow (a file built to exhaust the
    /// verifier, or an extraordinary one): which limit, in Japanese and English.
    #[error("この PDF は複雑すぎるため検証できません (too complex to verify): {0}")]
    TooComplex(String),
}

impl PadesError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PadesError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

// Conversions without `#[from]`: the inner error is shown in this error's message, so it is
// not also reported as its source (which would print it twice).

impl From<inkan_pdf::PdfError> for PadesError {
    fn from(e: inkan_pdf::PdfError) -> Self {
        Self::Pdf(e)
    }
}

impl From<inkan_cms::CmsError> for PadesError {
    fn from(e: inkan_cms::CmsError) -> Self {
        Self::Cms(e)
    }
}

impl From<inkan_keys::KeyError> for PadesError {
    fn from(e: inkan_keys::KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<inkan_pki::tsa::TsaError> for PadesError {
    fn from(e: inkan_pki::tsa::TsaError) -> Self {
        Self::Tsa(e)
    }
}
