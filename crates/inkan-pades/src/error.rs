use thiserror::Error;

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
    #[error("{0}")]
    Refused(String),
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
