//! Why a PKI operation failed, for the operator: a lower layer's error wrapped as itself (`Key`,
//! `Cms`, `Der`, `Io` with the path), the PKI folder or its configuration (`Directory`,
//! `Config`), and the requests the CA, OCSP responder and TSA refuse.
use thiserror::Error;

/// Why a PKI operation failed. Messages are meant for the operator reading them.
#[derive(Debug, Error)]
pub enum PkiError {
    #[error("{0}")]
    Key(inkan_keys::KeyError),
    #[error("CMS: {0}")]
    Cms(inkan_cms::CmsError),
    #[error("ASN.1 encoding: {0}")]
    Der(der::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("PKI directory {0}: {1}")]
    Directory(String, String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("{0}")]
    Invalid(String),
}

impl PkiError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PkiError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

// Conversions without `#[from]`: the inner error is shown in this error's message, so it is
// not also reported as its source (which would print it twice).

impl From<inkan_keys::KeyError> for PkiError {
    fn from(e: inkan_keys::KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<inkan_cms::CmsError> for PkiError {
    fn from(e: inkan_cms::CmsError) -> Self {
        Self::Cms(e)
    }
}

impl From<der::Error> for PkiError {
    fn from(e: der::Error) -> Self {
        Self::Der(e)
    }
}
