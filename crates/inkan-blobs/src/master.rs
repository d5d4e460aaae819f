//! Data keys and the master keys that wrap them.
//!
//! Envelope encryption: every blob gets its own random [`DataKey`]; only that small key is
//! encrypted ("wrapped") by the master key. So the master key can live in an HSM that sees 60
//! bytes per blob rather than the documents themselves, one leaked data key exposes one blob,
//! and a master key rotation re-wraps keys instead of re-encrypting every document.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::MasterKeyError;

/// Length of a data key and of a file master key: AES-256.
pub const KEY_LEN: usize = 32;
/// Length of the AES-GCM nonces used here (the size GCM is designed for).
pub(crate) const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;
/// Associated data of every wrapping, so a wrapped data key cannot be confused with any other
/// ciphertext made under the same master key.
pub(crate) const WRAP_AAD: &[u8] = b"inkan-blobs data key v1";

/// A blob's AES-256 data key. Wiped from memory when dropped; its `Debug` shows no bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Self {
        let mut key = DataKey([0; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut key.0);
        key
    }

    /// A key from its bytes, or `None` when `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(DataKey(array))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

/// A key that wraps and unwraps data keys.
///
/// `id` is written into every blob, so that a store given the wrong master key says so instead
/// of reporting corruption, and so that several keys can be read during a rotation. It must
/// identify the key material, not just a name: two different keys must never share an id.
pub trait MasterKey: Send + Sync {
    /// A stable identifier of this key (at most 255 bytes of UTF-8).
    fn id(&self) -> &str;
    /// Encrypts `dek` (authenticated); the result is opaque and at most 1024 bytes.
    fn wrap(&self, dek: &DataKey) -> Result<Vec<u8>, MasterKeyError>;
    /// Recovers a data key from `wrap`'s output; [`MasterKeyError::UnwrapFailed`] when `wrapped`
    /// does not authenticate.
    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, MasterKeyError>;
}

impl fmt::Debug for dyn MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({:?})", self.id())
    }
}

/// A master key of 32 random bytes in a file (mode 0600), wrapping with AES-256-GCM.
///
/// The simple choice for a single server; [`crate::Pkcs11MasterKey`] keeps the key in an HSM.
/// Back the file up apart from the blobs: without it, no blob can be read.
pub struct FileMasterKey {
    cipher: Aes256Gcm,
    id: String,
}

impl FileMasterKey {
    /// Reads the key from `path`, or creates it there (with its folder) if there is no such file.
    ///
    /// Creation is atomic and never overwrites: the key is written and synced to a temporary file,
    /// then hard-linked into place, so a concurrent creator or a crash can neither leave a short
    /// key file nor replace a key that blobs already depend on.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self, MasterKeyError> {
        let path = path.as_ref();
        match std::fs::read(path) {
            Ok(bytes) => return Self::from_file_bytes(path, Zeroizing::new(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(MasterKeyError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        let key = DataKey::generate();
        create_key_file(path, key.as_bytes())?;
        // Read back what is in place: another process may have created it first.
        Self::load(path)
    }

    /// Reads an existing key file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, MasterKeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| MasterKeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_file_bytes(path, Zeroizing::new(bytes))
    }

    /// A key from its 32 bytes (for tests, or keys kept elsewhere).
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"inkan-blobs master key id\0")
            .chain_update(bytes)
            .finalize();
        FileMasterKey {
            cipher: Aes256Gcm::new(bytes.into()),
            // A fingerprint, not the key: 64 bits of a hash of 256 random bits reveal nothing
            // usable, and tell two keys apart.
            id: format!("file:{}", hex::encode(&digest[..8])),
        }
    }

    fn from_file_bytes(path: &Path, bytes: Zeroizing<Vec<u8>>) -> Result<Self, MasterKeyError> {
        let key: &[u8; KEY_LEN] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| MasterKeyError::BadKeyFile {
                    path: path.to_path_buf(),
                    reason: format!(
                        "holds {} bytes where a master key is exactly {KEY_LEN} random bytes",
                        bytes.len()
                    ),
                })?;
        Ok(Self::from_bytes(key))
    }
}

fn create_key_file(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), MasterKeyError> {
    let io = |source| MasterKeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut suffix = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", hex::encode(suffix)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(key)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            // Make the new name durable too.
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        // Another process created it meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(e)),
    }
}

impl MasterKey for FileMasterKey {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, dek: &DataKey) -> Result<Vec<u8>, MasterKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: dek.as_bytes(),
                    aad: WRAP_AAD,
                },
            )
            .map_err(|_| MasterKeyError::WrapFailed {
                id: self.id.clone(),
            })?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, MasterKeyError> {
        let failed = || MasterKeyError::UnwrapFailed {
            id: self.id.clone(),
        };
        if wrapped.len() != NONCE_LEN + KEY_LEN + TAG_LEN {
            return Err(failed());
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: WRAP_AAD,
                    },
                )
                .map_err(|_| failed())?,
        );
        DataKey::from_slice(&plain).ok_or_else(failed)
    }
}

impl fmt::Debug for FileMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Where the master key is, as the service's configuration says (TOML: `kind = "file"` or
/// `kind = "pkcs11"`).
#[derive(Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum MasterKeyConfig {
    /// A key file, created on first use.
    File {
        /// The key file (32 raw bytes, mode 0600).
        path: PathBuf,
    },
    /// An AES key in a PKCS#11 token, generated there on first use.
    Pkcs11 {
        /// The PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
        module: PathBuf,
        /// The token's label.
        token_label: String,
        /// The user PIN.
        pin: String,
        /// The label of the AES key in the token.
        key_label: String,
    },
}

impl MasterKeyConfig {
    /// Opens (or creates) the configured key.
    pub fn open(&self) -> Result<Arc<dyn MasterKey>, MasterKeyError> {
        Ok(match self {
            MasterKeyConfig::File { path } => Arc::new(FileMasterKey::load_or_create(path)?),
            MasterKeyConfig::Pkcs11 {
                module,
                token_label,
                pin,
                key_label,
            } => Arc::new(crate::Pkcs11MasterKey::open_or_create(
                module,
                token_label,
                pin,
                key_label,
            )?),
        })
    }
}

impl fmt::Debug for MasterKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterKeyConfig::File { path } => f.debug_struct("File").field("path", path).finish(),
            MasterKeyConfig::Pkcs11 {
                module,
                token_label,
                key_label,
                ..
            } => f
                .debug_struct("Pkcs11")
                .field("module", module)
                .field("token_label", token_label)
                .field("pin", &"<secret>")
                .field("key_label", key_label)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn data_key_debug_hides_bytes() {
        let key = DataKey::from_slice(&[0xAB; KEY_LEN]).unwrap();
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("ab"),
            "{shown}"
        );
    }

    #[test]
    fn wrap_round_trip_and_tamper() {
        let master = FileMasterKey::from_bytes(&[7; KEY_LEN]);
        let dek = DataKey::generate();
        let wrapped = master.wrap(&dek).unwrap();
        assert_eq!(master.unwrap(&wrapped).unwrap().as_bytes(), dek.as_bytes());
        // Fresh nonce each time.
        assert_ne!(master.wrap(&dek).unwrap(), wrapped);
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 1;
            assert!(matches!(
                master.unwrap(&bad),
                Err(MasterKeyError::UnwrapFailed { .. })
            ));
        }
        let other = FileMasterKey::from_bytes(&[8; KEY_LEN]);
        assert_ne!(other.id(), master.id());
        assert!(other.unwrap(&wrapped).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/blobs.key");
        let created = FileMasterKey::load_or_create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = FileMasterKey::load_or_create(&path).unwrap();
        assert_eq!(created.id(), again.id());
        // No temporary file left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );

        std::fs::write(&path, b"short").unwrap();
        let err = FileMasterKey::load(&path).unwrap_err();
        assert!(err.to_string().contains("5 bytes"), "{err}");
    }

    #[test]
    fn config_hides_pin_and_rejects_typos() {
        let cfg: MasterKeyConfig = toml::from_str(
            "kind = \"pkcs11\"\nmodule = \"/m.so\"\ntoken_label = \"t\"\npin = \"s3cret\"\nkey_label = \"k\"\n",
        )
        .unwrap();
        assert!(!format!("{cfg:?}").contains("s3cret"));
        assert!(toml::from_str::<MasterKeyConfig>("kind = \"file\"\npaht = \"x\"\n").is_err());
    }
}
