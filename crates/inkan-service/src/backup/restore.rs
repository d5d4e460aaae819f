//! Restoring a set into an empty installation: the one a configuration names (its data folder,
//! database, blob store and master key). Nothing is written until every check has passed, and
//! nothing that exists is ever overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inkan_blobs::{BlobStore, FileMasterKey};

use super::create::master_key_file;
use super::{object, sha256_hex, Backups, Entry, Manifest, Progress};
use crate::setup::Config;
use crate::{Result, ServiceError};

impl Backups {
    /// Restores the set `name` (or `latest`) into the installation `target` describes, which
    /// must hold nothing yet. Afterwards the PKI's TSA serial numbers continue above anything
    /// the lost installation may have issued.
    pub async fn restore(
        &self,
        name: &str,
        target: &Config,
        now: std::time::SystemTime,
        progress: &dyn Progress,
    ) -> Result<Manifest> {
        let manifest = self.manifest(name).await?;
        let data = target.data_dir();
        let pki_dir = target.pki_dir.clone().unwrap_or_else(|| data.join("pki"));
        let url = target.database_url();
        let backend = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        if manifest.database.backend != backend {
            return Err(ServiceError::Invalid(format!(
                "バックアップ {} は {} のデータベースです (the set holds a {} database; the \
                 configuration names a {backend} one)",
                manifest.name, manifest.database.backend, manifest.database.backend
            )));
        }

        // ── Checks: an empty place ─────────────────────────────────────────────────────────
        let placed: Vec<(Entry, PathBuf)> = manifest
            .files
            .iter()
            .filter_map(|e| destination_of(e, &data, &pki_dir, target).map(|p| (e.clone(), p)))
            .collect();
        if let Some((_, path)) = placed.iter().find(|(_, p)| p.exists()) {
            return Err(not_empty(&format!("{} exists", path.display())));
        }
        if !inkan_store::database_is_empty(&url).await? {
            return Err(not_empty("the database holds tables"));
        }
        let blob_config = target.blobs();
        // Listing needs no key: a throwaway one opens the store for it.
        let lister = BlobStore::open(
            &blob_config,
            Arc::new(FileMasterKey::from_bytes(&rand::random())),
        )?;
        if !lister.list("").await?.is_empty() {
            return Err(not_empty("the blob store holds blobs"));
        }

        // ── Key files and the PKI folder ───────────────────────────────────────────────────
        for (n, (entry, path)) in placed.iter().enumerate() {
            let bytes = self
                .destination
                .get(&object(&format!(
                    "sets/{}/files/{}",
                    manifest.name, entry.name
                ))?)
                .await?;
            check(entry, &bytes)?;
            write_new(path, &bytes)?;
            progress.advance("files", n as u64 + 1, placed.len() as u64);
        }
        inkan_pki::Pki::continue_after_restore(&pki_dir, now)
            .map_err(|e| ServiceError::failed("the restored PKI", e))?;

        // ── The database ───────────────────────────────────────────────────────────────────
        std::fs::create_dir_all(data.join("tmp"))
            .map_err(|e| ServiceError::failed("restoring the backup", e))?;
        let scratch = tempfile::Builder::new()
            .prefix("restore-")
            .tempdir_in(data.join("tmp"))
            .map_err(|e| ServiceError::failed("restoring the backup", e))?;
        let copy = scratch.path().join("database");
        {
            let mut file = std::fs::File::create(&copy)
                .map_err(|e| ServiceError::failed("restoring the backup", e))?;
            let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
            for part in 0..manifest.database.parts {
                let bytes = self
                    .destination
                    .get(&object(&format!(
                        "sets/{}/database/{part:04}",
                        manifest.name
                    ))?)
                    .await?;
                sha2::Digest::update(&mut hasher, &bytes);
                file.write_all(&bytes)
                    .map_err(|e| ServiceError::failed("restoring the backup", e))?;
                progress.advance(
                    "database",
                    u64::from(part) + 1,
                    u64::from(manifest.database.parts),
                );
            }
            file.sync_all()
                .map_err(|e| ServiceError::failed("restoring the backup", e))?;
            let sha256 = hex::encode(sha2::Digest::finalize(hasher));
            if sha256 != manifest.database.sha256 {
                return Err(ServiceError::Invalid(format!(
                    "バックアップ {} のデータベースが壊れています (the database copy's SHA-256 is \
                     {sha256}, the manifest says {})",
                    manifest.name, manifest.database.sha256
                )));
            }
        }
        inkan_store::import_database(&url, &copy).await?;

        // ── Blobs, under the target's master key ───────────────────────────────────────────
        let master = target
            .master_key()
            .open()
            .map_err(|e| ServiceError::failed("the master key", e))?;
        let blobs = BlobStore::open(&blob_config, master)?;
        for (n, entry) in manifest.blobs.iter().enumerate() {
            let bytes = self
                .destination
                .get(&object(&format!("blobs/{}", entry.name))?)
                .await?;
            check(entry, &bytes)?;
            blobs
                .put(&inkan_blobs::BlobKey::new(&entry.name)?, &bytes)
                .await?;
            progress.advance("blobs", n as u64 + 1, manifest.blobs.len() as u64);
        }
        Ok(manifest)
    }
}

/// Where a file of the set goes in the target; `None` for the master key when the target's
/// master key is not a file (an HSM's key cannot be restored from a file).
fn destination_of(entry: &Entry, data: &Path, pki_dir: &Path, target: &Config) -> Option<PathBuf> {
    let relative = |rest: &str| {
        rest.split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect::<PathBuf>()
    };
    match entry.name.as_str() {
        "keys/master.key" => master_key_file(target),
        name => match name.split_once('/') {
            Some(("keys", rest)) => Some(data.join("keys").join(relative(rest))),
            Some(("pki", rest)) => Some(pki_dir.join(relative(rest))),
            _ => None,
        },
    }
}

fn check(entry: &Entry, bytes: &[u8]) -> Result<()> {
    let sha256 = sha256_hex(bytes);
    if sha256 == entry.sha256 && bytes.len() as u64 == entry.size {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "バックアップの {} が壊れています ({}: {} bytes with SHA-256 {sha256}; the manifest \
             says {} bytes, {})",
            entry.name,
            entry.name,
            bytes.len(),
            entry.size,
            entry.sha256
        )))
    }
}

/// Writes a file that must not exist yet (private, synced).
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ServiceError::failed("restoring the backup", e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| ServiceError::failed(format!("restoring {}", path.display()), e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ServiceError::failed(format!("restoring {}", path.display()), e))
}

fn not_empty(what: &str) -> ServiceError {
    ServiceError::Invalid(format!(
        "復元先が空ではありません (the restore target is not empty: {what}; a backup is restored \
         only into an empty installation)"
    ))
}
