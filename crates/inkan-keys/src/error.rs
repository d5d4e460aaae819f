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
}

impl From<cryptoki::error::Error> for KeyError {
    fn from(e: cryptoki::error::Error) -> Self {
        KeyError::Pkcs11(e.to_string())
    }
}
