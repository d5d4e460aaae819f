use thiserror::Error;

/// Why a PKI operation failed. Messages are meant for the operator reading them.
#[derive(Debug, Error)]
pub enum PkiError {
    #[error("{0}")]
    Key(#[from] inkan_keys::KeyError),
    #[error("CMS: {0}")]
    Cms(#[from] inkan_cms::CmsError),
    #[error("ASN.1 encoding: {0}")]
    Der(#[from] der::Error),
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
