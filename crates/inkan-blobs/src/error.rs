//! Errors of the blob store, worded for the person who reads the log.
//!
//! `NotFound` is kept apart from `Corrupt` because they call for different actions: a missing
//! blob is usually a bug or a race in the caller, a corrupt one is damaged storage or tampering
//! and must never be served.

use std::path::PathBuf;

/// What went wrong with a blob or with the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The blob key is not an acceptable object name.
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// No blob is stored under this key.
    #[error("blob {key} does not exist")]
    NotFound {
        /// The blob key.
        key: String,
    },
    /// The stored object is damaged, truncated, not an Inkan blob, or was written under another
    /// name (moved or swapped). Its content is never returned.
    #[error("blob {key} is corrupt and cannot be read: {reason}")]
    Corrupt {
        /// The blob key.
        key: String,
        /// What the check found.
        reason: String,
    },
    /// The blob was encrypted under a master key that this store was not given.
    #[error(
        "blob {key} was encrypted under master key {found:?}, which this store does not have \
         (it has {known:?}); configure the master key it was written with"
    )]
    UnknownMasterKey {
        /// The blob key.
        key: String,
        /// The master key id recorded in the blob.
        found: String,
        /// The ids of the master keys this store holds.
        known: Vec<String>,
    },
    /// The master key could not be used (file unreadable, token unavailable, …).
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    /// The storage backend failed (disk, network, S3 permissions, …).
    #[error("blob storage failed on {key}: {source}")]
    Backend {
        /// The blob key, or the store description when no single blob is concerned.
        key: String,
        /// The backend's error.
        #[source]
        source: object_store::Error,
    },
    /// The store could not be set up from its configuration.
    #[error("blob store configuration: {0}")]
    Config(String),
}

/// What went wrong with a master key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The wrapped data key failed authentication: it was damaged, or wrapped by another key.
    #[error("the wrapped data key does not authenticate under master key {id:?}")]
    UnwrapFailed {
        /// The master key's id.
        id: String,
    },
    /// The master key file could not be read or written.
    #[error("master key file {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The master key file exists but does not hold a key.
    #[error("master key file {}: {reason}", path.display())]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The PKCS#11 module or token refused or failed.
    #[error("PKCS#11 master key: {0}")]
    Pkcs11(String),
    /// Encryption failed for a reason other than the input (should not happen).
    #[error("master key {id:?} could not wrap the data key")]
    WrapFailed {
        /// The master key's id.
        id: String,
    },
}

impl From<cryptoki::error::Error> for MasterKeyError {
    fn from(e: cryptoki::error::Error) -> Self {
        MasterKeyError::Pkcs11(e.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = BlobError> = std::result::Result<T, E>;
