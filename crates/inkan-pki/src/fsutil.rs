//! Small file helpers: every write that must survive a crash is atomic (temp file, fsync, rename).

use std::io::Write;
use std::path::Path;

use crate::PkiError;

/// Writes a file atomically: readers see the old content or the new, never half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let io = |e| PkiError::io(path, e);
    {
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Creates a directory and its parents.
pub fn create_dir(path: &Path) -> Result<(), PkiError> {
    std::fs::create_dir_all(path).map_err(|e| PkiError::io(path, e))
}

/// Writes a secret file (mode 0600), atomically.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let tmp = path.with_extension("tmp");
    let io = |e| PkiError::io(path, e);
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
