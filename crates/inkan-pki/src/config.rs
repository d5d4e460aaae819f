//! `DIR/pki.toml`: what a PKI directory needs to know about itself.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::PkiError;

/// The settings of one PKI directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PkiConfig {
    /// The URL under which `inkan pki serve` is reachable; OCSP, CRL and CA-certificate URLs in
    /// every certificate start with it.
    pub base_url: String,
    /// The organisation named in every certificate subject.
    pub org: String,
    /// The TSA policy OID put into every TSTInfo (and the only one accepted in requests).
    pub tsa_policy: String,
    /// Where the private keys live.
    pub keys: KeyBackendConfig,
}

/// Where the CA, TSA, OCSP and witness private keys live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum KeyBackendConfig {
    /// PEM files under `DIR/keys/`, wrapped with AES-256-GCM under the key-encryption key in
    /// `kek_file` (relative to DIR unless absolute; keep it elsewhere in production).
    File { kek_file: PathBuf },
    /// A PKCS#11 token; the PIN comes from the environment variable `pin_env`.
    Pkcs11 {
        module: PathBuf,
        token: String,
        pin_env: String,
        /// Prefix of the key labels in the token (`PREFIX-root`, `PREFIX-issuing-ca`, …), so one
        /// token can hold several PKIs.
        label_prefix: String,
    },
}

impl PkiConfig {
    pub fn read(dir: &Path) -> Result<Self, PkiError> {
        let path = dir.join("pki.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                PkiError::Directory(
                    dir.display().to_string(),
                    "no pki.toml here: run `inkan pki init --dir DIR --base-url URL` first".into(),
                )
            } else {
                PkiError::io(&path, e)
            }
        })?;
        toml::from_str(&text).map_err(|e| PkiError::Config(format!("{}: {e}", path.display())))
    }

    pub fn write(&self, dir: &Path) -> Result<(), PkiError> {
        let path = dir.join("pki.toml");
        let text = toml::to_string_pretty(self).map_err(|e| PkiError::Config(e.to_string()))?;
        let header = "# Inkan PKI directory settings (written by `inkan pki init`).\n";
        crate::fsutil::write_atomic(&path, format!("{header}{text}").as_bytes())
    }

    /// The URLs that go into certificates, derived from `base_url`.
    pub fn urls(&self) -> Urls {
        Urls {
            base: self.base_url.trim_end_matches('/').to_string(),
        }
    }
}

/// The service URLs of a PKI, as written into its certificates and served by `inkan pki serve`.
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
}

impl Urls {
    pub fn ocsp(&self) -> String {
        format!("{}/ocsp", self.base)
    }
    pub fn tsa(&self) -> String {
        format!("{}/tsa", self.base)
    }
    pub fn crl(&self, ca: crate::CaRole) -> String {
        format!("{}/crl/{}.crl", self.base, ca.file_stem())
    }
    pub fn certificate(&self, ca: crate::CaRole) -> String {
        format!("{}/certs/{}.cer", self.base, ca.file_stem())
    }
}
