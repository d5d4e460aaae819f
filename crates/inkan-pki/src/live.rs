//! A certificate file that may be replaced while the process runs: the TSA, OCSP-responder and
//! witness certificates are renewed in place (`Pki::renew_service_certificates`), possibly by
//! another process sharing the PKI directory (a worker beside `inkan serve`, or `inkan pki
//! serve`). Whoever signs with one reads it through a [`LiveCertificate`], which notices the
//! replacement (a new file is renamed over the old one, so its inode and modification time
//! change) and reads it again — one `stat` per use, no restart.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use x509_cert::Certificate;

use crate::PkiError;

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    inode: u64,
    modified_ns: i128,
    len: u64,
}

impl Version {
    fn of(path: &Path) -> Result<Version, PkiError> {
        let meta = std::fs::metadata(path).map_err(|e| PkiError::io(path, e))?;
        Ok(Version {
            inode: meta.ino(),
            modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            len: meta.len(),
        })
    }
}

/// One certificate file, read again whenever it was replaced.
#[derive(Debug)]
pub struct LiveCertificate {
    path: PathBuf,
    cached: Mutex<(Version, Arc<Certificate>)>,
}

impl LiveCertificate {
    /// Reads `path` (PEM or DER, one certificate).
    pub fn open(path: &Path) -> Result<LiveCertificate, PkiError> {
        let version = Version::of(path)?;
        let certificate = Arc::new(crate::read_certificate(path)?);
        Ok(LiveCertificate {
            path: path.to_path_buf(),
            cached: Mutex::new((version, certificate)),
        })
    }

    /// The certificate the file holds now. When the file cannot be read at this moment (being
    /// replaced by a copy that is not atomic, say), the last one read is kept: it was valid a
    /// moment ago, and signing must not stop over a renewal.
    pub fn current(&self) -> Arc<Certificate> {
        let mut cached = match self.cached.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Ok(version) = Version::of(&self.path) {
            if version != cached.0 {
                match crate::read_certificate(&self.path) {
                    Ok(certificate) => *cached = (version, Arc::new(certificate)),
                    Err(e) => tracing::warn!(
                        path = %self.path.display(),
                        error = %e,
                        "a renewed certificate could not be read; the previous one stays in use"
                    ),
                }
            }
        }
        cached.1.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
