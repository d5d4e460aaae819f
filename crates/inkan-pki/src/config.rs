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
    /// The generation of root and issuing CA that issues today (`inkan pki rollover` counts it
    /// up; the earlier ones keep answering for what they issued).
    #[serde(default = "first_generation")]
    pub generation: u32,
}

fn first_generation() -> u32 {
    1
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

    /// The URLs that go into the certificates of `generation`, derived from `base_url`.
    pub fn urls(&self, generation: u32) -> Urls {
        Urls {
            base: self.base_url.trim_end_matches('/').to_string(),
            generation,
        }
    }
}

/// The service URLs of a PKI, as written into its certificates and served by `inkan pki serve`.
/// The first generation's CA services sit at the top (`/ocsp`, `/crl/…`, `/certs/…`), a later
/// one's under its number (`/g2/ocsp`): URLs written into certificates are forever, so each
/// generation keeps its own. The TSA is one URL whichever generation's key answers.
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
    generation: u32,
}

impl Urls {
    /// Where this generation's CA services are: the base, or `base/g{n}` after a rollover.
    fn ca_base(&self) -> String {
        match self.generation {
            0 | 1 => self.base.clone(),
            n => format!("{}/{}", self.base, generation_segment(n)),
        }
    }
    pub fn ocsp(&self) -> String {
        format!("{}/ocsp", self.ca_base())
    }
    pub fn tsa(&self) -> String {
        format!("{}/tsa", self.base)
    }
    pub fn crl(&self, ca: crate::CaRole) -> String {
        format!("{}/crl/{}.crl", self.ca_base(), ca.file_stem())
    }
    pub fn certificate(&self, ca: crate::CaRole) -> String {
        format!("{}/certs/{}.cer", self.ca_base(), ca.file_stem())
    }
}

/// The path segment (and folder name) of a generation after the first: `g2`, `g3`, …
pub fn generation_segment(generation: u32) -> String {
    format!("g{generation}")
}
