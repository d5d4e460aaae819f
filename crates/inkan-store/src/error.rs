//! Why a storage operation failed. Which variant to use: a concurrent change of the same
//! envelope is `Conflict` (the caller reloads and retries); a unique value taken is
//! `Duplicate`; something named that is not there (or is another organization's) is
//! `NotFound`; a change the store refuses on its own rules (a folder moved under itself) is
//! `Refused` with the reason for the person; stored data that cannot be read back is
//! `Corrupt`; sqlx's own errors are wrapped as they are (`Database`, `Migration`), keeping
//! them as the source.
use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Someone else changed the envelope first: reload and try again.
    #[error("the envelope was changed by someone else at the same time; reload and try again")]
    Conflict,
    /// A unique value (an email, an API key, an ID) already exists.
    #[error("{0} already exists")]
    Duplicate(String),
    /// Something named in a change does not exist (or belongs to another organization).
    #[error("{0} was not found")]
    NotFound(String),
    /// The change is refused as asked (a folder moved under itself, one that is not empty
    /// deleted): the message says why, for the person who asked.
    #[error("{0}")]
    Refused(String),
    /// The database URL or settings are wrong.
    #[error("database configuration: {0}")]
    Config(String),
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
