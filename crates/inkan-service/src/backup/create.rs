//! Making a set: the database copy first (with the inventory of that same moment), then the
//! key files and the PKI folder, then every blob not already in the destination, and the
//! manifest last.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use inkan_blobs::MasterKeyConfig;

use super::{object, set_name, sha256_hex, Backups, DatabaseCopy, Entry, Manifest, Progress};
use super::{Source, FORMAT};
use crate::{Result, ServiceError};

/// The database copy is stored in parts of this size, so that no part is held whole in memory
/// beyond it, whatever the database's size.
const PART_BYTES: usize = 32 << 20;

impl Backups {
    /// Makes a set of `source` now. Blobs already stored by an earlier set are not copied again.
    pub async fn create(&self, source: &Source, progress: &dyn Progress) -> Result<Manifest> {
        let now = source.inkan.now();
        let name = set_name(now);
        if self
            .destination
            .exists(&object(&format!("sets/{name}/manifest.json"))?)
            .await?
        {
            return Err(ServiceError::Invalid(format!(
                "backup set {name} already exists; try again in a second"
            )));
        }
        // Blobs that kept sets already hold, with what their manifests say of them.
        let mut stored: BTreeMap<String, Entry> = BTreeMap::new();
        for manifest in self.sets().await? {
            stored.extend(manifest.blobs.into_iter().map(|b| (b.name.clone(), b)));
        }

        progress.advance("database", 0, 1);
        let (database, inventory) = self.copy_database(source, &name).await?;
        progress.advance("database", 1, 1);

        let files = source_files(source)?;
        let mut file_entries = Vec::with_capacity(files.len());
        for (n, (name_in_set, path)) in files.iter().enumerate() {
            let bytes = std::fs::read(path).map_err(|e| {
                ServiceError::failed(format!("backup: reading {}", path.display()), e)
            })?;
            self.destination
                .put(
                    &object(&format!("sets/{name}/files/{name_in_set}"))?,
                    &bytes,
                )
                .await?;
            file_entries.push(Entry {
                name: name_in_set.clone(),
                size: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            });
            progress.advance("files", n as u64 + 1, files.len() as u64);
        }

        let keys = source.inkan.blobs.list("").await?;
        let mut blobs = Vec::with_capacity(keys.len());
        for (n, key) in keys.iter().enumerate() {
            let pooled = object(&format!("blobs/{}", key.as_str()))?;
            let entry = match stored.get(key.as_str()) {
                Some(entry) if self.destination.exists(&pooled).await? => entry.clone(),
                _ => {
                    // Read through the master key: what is copied has been authenticated.
                    let plaintext = source.inkan.blobs.get(key).await?;
                    self.destination.put(&pooled, &plaintext).await?;
                    Entry {
                        name: key.as_str().to_string(),
                        size: plaintext.len() as u64,
                        sha256: sha256_hex(&plaintext),
                    }
                }
            };
            blobs.push(entry);
            progress.advance("blobs", n as u64 + 1, keys.len() as u64);
        }

        let manifest = Manifest {
            format: FORMAT,
            name: name.clone(),
            created_at: now,
            inkan_version: env!("CARGO_PKG_VERSION").to_string(),
            database,
            files: file_entries,
            blobs,
            inventory,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| ServiceError::failed("making the backup", e))?;
        self.destination
            .put(&object(&format!("sets/{name}/manifest.json"))?, &json)
            .await?;
        Ok(manifest)
    }

    /// The database copied to a private scratch file, then stored in parts.
    async fn copy_database(
        &self,
        source: &Source,
        name: &str,
    ) -> Result<(DatabaseCopy, inkan_store::Inventory)> {
        let scratch = tempfile::Builder::new()
            .prefix("backup-")
            .tempdir_in(source.inkan.engine.scratch())
            .map_err(|e| ServiceError::failed("making the backup", e))?;
        let file = scratch.path().join("database");
        let store = source.inkan.store();
        let inventory = store.export_database(&file).await?;
        let mut reader =
            std::fs::File::open(&file).map_err(|e| ServiceError::failed("making the backup", e))?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        let (mut parts, mut size) = (0u32, 0u64);
        loop {
            let part = read_part(&mut reader)?;
            if part.is_empty() && parts > 0 {
                break;
            }
            sha2::Digest::update(&mut hasher, &part);
            size += part.len() as u64;
            self.destination
                .put(&object(&format!("sets/{name}/database/{parts:04}"))?, &part)
                .await?;
            parts += 1;
            if part.len() < PART_BYTES {
                break;
            }
        }
        Ok((
            DatabaseCopy {
                backend: store.backend().to_string(),
                parts,
                size,
                sha256: hex::encode(sha2::Digest::finalize(hasher)),
            },
            inventory,
        ))
    }
}

/// Up to [`PART_BYTES`] of `reader` (fewer only at its end).
fn read_part(reader: &mut impl Read) -> Result<Vec<u8>> {
    let mut part = Vec::with_capacity(PART_BYTES);
    reader
        .take(PART_BYTES as u64)
        .read_to_end(&mut part)
        .map_err(|e| ServiceError::failed("making the backup", e))?;
    Ok(part)
}

/// The files a set carries besides the database and blobs, by their name in the set: the link
/// key (outstanding signer links stay valid), the audit chain key, the master key when it is a
/// file (webhook secrets are sealed under it), and the whole PKI folder.
pub(super) fn source_files(source: &Source) -> Result<Vec<(String, PathBuf)>> {
    let keys = source.config.data_dir().join("keys");
    let mut files = vec![
        ("keys/links.key".to_string(), keys.join("links.key")),
        ("keys/audit.key".to_string(), keys.join("audit.key")),
    ];
    if let Some(path) = master_key_file(&source.config) {
        files.push(("keys/master.key".to_string(), path));
    }
    files.retain(|(_, path)| path.exists());
    let mut pki = Vec::new();
    walk(&source.pki_dir, &source.pki_dir, &mut pki)?;
    files.extend(
        pki.into_iter()
            .map(|(rel, path)| (format!("pki/{rel}"), path)),
    );
    Ok(files)
}

/// The master key's file, when the master key is a file (not inside a PKCS#11 token).
pub(super) fn master_key_file(config: &crate::setup::Config) -> Option<PathBuf> {
    match config.master_key() {
        MasterKeyConfig::File { path } => Some(path),
        _ => None,
    }
}

/// Every regular file under `dir`, by its `/`-separated path relative to `root`, sorted.
/// Lock files and unfinished atomic writes (`*.tmp`, `*.tmp<pid>`) are left out.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ServiceError::failed(format!("backup: listing {}", dir.display()), e))?;
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| ServiceError::failed("making the backup", e))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
            if extension.is_some_and(|e| e == "lock" || e.starts_with("tmp")) {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .map_err(|e| ServiceError::failed("making the backup", e))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}
