//! Why a key could not be created, loaded or used. A file that is not a key is `Format`; a
//! wrong or missing secret is `WrongSecret` / `SecretNeeded` (never which part was wrong); an
//! algorithm Inkan does not sign with is `Unsupported`; the token's own errors are `Token`,
//! kept typed; other PKCS#11 trouble found here (no such token, no such key) is
//! `Pkcs11` with what was looked for.
use thiserror::Error;

/// Why a key could not be created, loaded or used.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("the key file is not a private key Inkan understands: {0}")]
    Format(String),
    #[error("the key is encrypted and the passphrase or key-encryption key is wrong")]
    WrongSecret,
    #[error("the key is encrypted but no passphrase or key-encryption key was given")]
    SecretNeeded,
    #[error("unsupported key: {0}")]
    Unsupported(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// The token (or its module) refused an operation. (Shown in the message, so not also a
    /// source: a cause is printed once.)
    #[error("PKCS#11: {0}")]
    Token(cryptoki::error::Error),
}

impl From<cryptoki::error::Error> for KeyError {
    fn from(e: cryptoki::error::Error) -> Self {
        KeyError::Token(e)
    }
}
