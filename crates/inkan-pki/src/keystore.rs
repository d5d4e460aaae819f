//! Where a PKI's private keys live: wrapped files under `DIR/keys/`, or a PKCS#11 token.
//!
//! Keys are named by role and generation: the first generation's as they always were (`root`,
//! `issuing-ca`, …), a later one's with its number in front (`g2-root`), so every generation a
//! rollover made stays in one store under one key-encryption key or one token.

use inkan_keys::{KeyKind, KeyProtection, Pkcs11Token, SigningKey, SoftwareKey};
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

use crate::config::KeyBackendConfig;
use crate::PkiError;

/// The keys a PKI holds, one per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Root,
    IssuingCa,
    Tsa,
    OcspResponder,
    Witness,
}

impl KeyRole {
    /// The key's name for `generation`: the file stem, or the label after the token's prefix.
    fn name_in(self, generation: u32) -> String {
        if generation <= 1 {
            self.name().to_string()
        } else {
            format!("g{generation}-{}", self.name())
        }
    }

    fn name(self) -> &'static str {
        match self {
            KeyRole::Root => "root",
            KeyRole::IssuingCa => "issuing-ca",
            KeyRole::Tsa => "tsa",
            KeyRole::OcspResponder => "ocsp",
            KeyRole::Witness => "witness",
        }
    }
}

pub(crate) enum KeyStore {
    Files {
        dir: PathBuf,
        kek: Zeroizing<[u8; 32]>,
    },
    Token {
        token: Pkcs11Token,
        label_prefix: String,
    },
}

impl KeyStore {
    /// Opens the key store of a PKI directory; with `create`, makes a new key-encryption key.
    pub(crate) fn open(
        pki_dir: &Path,
        config: &KeyBackendConfig,
        create: bool,
    ) -> Result<Self, PkiError> {
        match config {
            KeyBackendConfig::File { kek_file } => {
                let kek_path = if kek_file.is_absolute() {
                    kek_file.clone()
                } else {
                    pki_dir.join(kek_file)
                };
                let dir = pki_dir.join("keys");
                if create {
                    crate::fsutil::create_dir(&dir)?;
                    if let Some(parent) = kek_path.parent() {
                        crate::fsutil::create_dir(parent)?;
                    }
                    let mut kek = Zeroizing::new([0u8; 32]);
                    rand::rngs::OsRng.fill_bytes(kek.as_mut());
                    crate::fsutil::write_secret(&kek_path, kek.as_ref())?;
                }
                let bytes = Zeroizing::new(
                    std::fs::read(&kek_path).map_err(|e| PkiError::io(&kek_path, e))?,
                );
                let kek: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    PkiError::Config(format!(
                        "{} must hold exactly 32 bytes (a key-encryption key)",
                        kek_path.display()
                    ))
                })?;
                Ok(KeyStore::Files {
                    dir,
                    kek: Zeroizing::new(kek),
                })
            }
            KeyBackendConfig::Pkcs11 {
                module,
                token,
                pin_env,
                label_prefix,
            } => {
                let pin = Zeroizing::new(std::env::var(pin_env).map_err(|_| {
                    PkiError::Config(format!(
                        "the PKCS#11 PIN is read from the environment variable {pin_env}, which is not set"
                    ))
                })?);
                Ok(KeyStore::Token {
                    token: Pkcs11Token::open(module, token, &pin)?,
                    label_prefix: label_prefix.clone(),
                })
            }
        }
    }

    /// Generates a new key for `role` in `generation` and keeps it.
    pub(crate) fn generate(
        &self,
        generation: u32,
        role: KeyRole,
        kind: KeyKind,
    ) -> Result<Arc<dyn SigningKey>, PkiError> {
        let name = role.name_in(generation);
        match self {
            KeyStore::Files { dir, kek } => {
                let key = SoftwareKey::generate(kind)?;
                key.write_file(&key_file(dir, &name), KeyProtection::Kek(kek))?;
                Ok(Arc::new(key))
            }
            KeyStore::Token {
                token,
                label_prefix,
            } => Ok(Arc::new(
                token.generate_key(&format!("{label_prefix}-{name}"), kind)?,
            )),
        }
    }

    /// Loads the key of `role` in `generation`.
    pub(crate) fn load(
        &self,
        generation: u32,
        role: KeyRole,
    ) -> Result<Arc<dyn SigningKey>, PkiError> {
        let name = role.name_in(generation);
        match self {
            KeyStore::Files { dir, kek } => Ok(Arc::new(SoftwareKey::read_file(
                &key_file(dir, &name),
                KeyProtection::Kek(kek),
            )?)),
            KeyStore::Token {
                token,
                label_prefix,
            } => Ok(Arc::new(token.key(&format!("{label_prefix}-{name}"))?)),
        }
    }
}

fn key_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.key"))
}
