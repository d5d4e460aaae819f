//! Backups: sets of everything an installation needs to come back, written to a folder or an
//! S3 prefix, kept by a daily/monthly/yearly retention, restored into an empty installation and
//! proved readable by a restore drill.
//!
//! A set is:
//!
//! ```text
//! sets/<20261204T030000Z>/manifest.json   what the set holds, with sizes and SHA-256 (written last)
//! sets/<…>/database/0000, 0001, …         the database copy (SQLite VACUUM INTO / pg_dump), in parts
//! sets/<…>/files/keys/…                   links.key, audit.key, master.key (when it is a file)
//! sets/<…>/files/pki/…                    the PKI folder (certificates, wrapped keys, serials)
//! blobs/<key>                             every blob, shared by all sets (blobs never change)
//! ```
//!
//! Every object is encrypted and authenticated under the backup key (a 32-byte key file kept
//! apart from the data, [`BackupConfig::key_file`]), in the blob format of `inkan-blobs`, bound
//! to its name: a set cannot be read without the key, and an object changed, truncated or moved
//! in the destination is refused when it is read. Blobs are stored as their plaintext under the
//! backup key, so a set restores even where the master key was inside an HSM that is gone.
//!
//! Sets are incremental: a blob already in the destination (named by a kept set's manifest) is
//! not copied again. A set without a manifest is an interrupted one; it is never listed and is
//! removed by the next pruning.

mod create;
mod drill;
mod restore;
mod retention;

use std::path::PathBuf;
use std::sync::Arc;

use inkan_blobs::{BlobConfig, BlobKey, BlobStore, MasterKeyConfig};
use inkan_store::Inventory;
use serde::{Deserialize, Serialize};

pub use drill::DrillReport;
pub use retention::Retention;

use crate::setup::Config;
use crate::{Result, ServiceError};

/// The manifest format this build writes and reads.
const FORMAT: u32 = 1;

/// Where backups go and how many are kept (TOML `[backup]`). Every field has a default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// A folder or an S3 bucket and prefix (default: `<data_dir>/backups`, which survives
    /// nothing the data folder does not: name another disk or a bucket in production).
    pub destination: Option<BlobConfig>,
    /// The key every set is encrypted under (default `<data_dir>/keys/backup.key`, created by
    /// the first backup). Keep a copy away from the server: without it no set can be read.
    pub key_file: Option<PathBuf>,
    /// Sets kept: daily, monthly, yearly (default 7, 12, 10).
    #[serde(default)]
    pub keep: Retention,
    /// The hour (JST, 0–23) after which `inkan serve` makes the day's set (default 3). A server
    /// that was down then makes it when it comes back.
    pub hour: Option<u8>,
    /// Whether `inkan serve` makes sets by itself (default true). With several web nodes, leave
    /// it on for one.
    pub scheduled: Option<bool>,
}

impl BackupConfig {
    pub fn hour(&self) -> u8 {
        self.hour.unwrap_or(3).min(23)
    }

    pub fn scheduled(&self) -> bool {
        self.scheduled.unwrap_or(true)
    }
}

/// What a set holds, written last: a set without one is incomplete.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// `20261204T030000Z`: when the set was made (UTC), and its folder name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The Inkan version that wrote it.
    pub inkan_version: String,
    pub database: DatabaseCopy,
    /// Key files and the PKI folder, by path (`keys/links.key`, `pki/root.pem`).
    pub files: Vec<Entry>,
    /// Every blob, by key.
    pub blobs: Vec<Entry>,
    /// Row counts and every sealed envelope's final PDFs and certificate, with their SHA-256.
    pub inventory: Inventory,
}

/// The database copy: which backend made it, and the whole file's size and SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseCopy {
    /// `sqlite` or `postgres`: a copy restores only into the same kind.
    pub backend: String,
    pub parts: u32,
    pub size: u64,
    pub sha256: String,
}

/// A file or a blob in a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    /// Hex SHA-256 of the content (the plaintext).
    pub sha256: String,
}

/// Long work reports its steps, e.g. to a terminal.
pub trait Progress: Send + Sync {
    /// `done` of `total` items of `step` (the database, blobs, files, checks).
    fn advance(&self, step: &str, done: u64, total: u64);
}

/// No progress shown (the scheduled backup logs its result instead).
pub struct Quiet;

impl Progress for Quiet {
    fn advance(&self, _step: &str, _done: u64, _total: u64) {}
}

/// A backup destination opened with its key.
pub struct Backups {
    destination: BlobStore,
    retention: Retention,
    description: String,
}

impl Backups {
    /// The destination `config` names, with its key (created on first use when it is the
    /// default file and `create_key` is true, as for making a backup; reading needs the key).
    pub fn open(config: &Config, create_key: bool) -> Result<Backups> {
        let backup = config.backup.clone().unwrap_or_default();
        let key_file = backup
            .key_file
            .clone()
            .unwrap_or_else(|| config.data_dir().join("keys").join("backup.key"));
        if !create_key && !key_file.exists() {
            return Err(ServiceError::Invalid(format!(
                "バックアップ鍵がありません (the backup key {} does not exist; give the key the \
                 backups were made with)",
                key_file.display()
            )));
        }
        let key = MasterKeyConfig::File {
            path: key_file.clone(),
        }
        .open()
        .map_err(|e| {
            ServiceError::Invalid(format!(
                "バックアップ鍵を読めません (the backup key {}: {e})",
                key_file.display()
            ))
        })?;
        let destination_config =
            backup
                .destination
                .clone()
                .unwrap_or_else(|| BlobConfig::Filesystem {
                    root: config.data_dir().join("backups"),
                });
        let destination = BlobStore::open(&destination_config, key)?;
        let description = destination.describe().to_string();
        Ok(Backups {
            destination,
            retention: backup.keep,
            description,
        })
    }

    /// The destination, as logs show it (no secret).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Whether the destination is the default folder inside the data folder, which a lost disk
    /// takes with it.
    pub fn inside_data_folder(config: &Config) -> bool {
        config
            .backup
            .as_ref()
            .and_then(|b| b.destination.as_ref())
            .is_none()
    }

    /// Every complete set, oldest first.
    pub async fn sets(&self) -> Result<Vec<Manifest>> {
        let mut sets = Vec::new();
        for name in self.set_names().await? {
            if let Some(manifest) = self.manifest_if_complete(&name).await? {
                sets.push(manifest);
            }
        }
        sets.sort_by_key(|m| m.created_at);
        Ok(sets)
    }

    /// The manifest of the set `name` (`20261204T030000Z`, or `latest`).
    pub async fn manifest(&self, name: &str) -> Result<Manifest> {
        if name == "latest" {
            return self.sets().await?.pop().ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "バックアップがありません (there is no backup set in {})",
                    self.description
                ))
            });
        }
        check_set_name(name)?;
        self.manifest_if_complete(name).await?.ok_or_else(|| {
            ServiceError::Invalid(format!(
                "バックアップ {name} が見つかりません (no complete backup set {name} in {})",
                self.description
            ))
        })
    }

    /// Removes the sets the retention does not keep, interrupted sets older than a day, and
    /// the blobs no kept set names. Returns the names of the sets removed.
    pub async fn prune(&self, now: i64) -> Result<Vec<String>> {
        let sets = self.sets().await?;
        let keep = self
            .retention
            .keep(&sets.iter().map(|m| m.created_at).collect::<Vec<_>>());
        let complete: std::collections::BTreeSet<String> =
            sets.iter().map(|m| m.name.clone()).collect();
        let mut removed = Vec::new();
        for name in self.set_names().await? {
            let stale = match sets.iter().find(|m| m.name == name) {
                Some(m) => !keep.contains(&m.created_at),
                // An interrupted set: old enough that no backup is still writing it.
                None => set_time(&name).is_some_and(|t| now - t > 86_400),
            };
            if stale {
                for key in self.destination.list(&format!("sets/{name}/")).await? {
                    self.destination.delete(&key).await?;
                }
                if complete.contains(&name) {
                    removed.push(name);
                }
            }
        }
        let named: std::collections::BTreeSet<&str> = sets
            .iter()
            .filter(|m| keep.contains(&m.created_at))
            .flat_map(|m| m.blobs.iter().map(|b| b.name.as_str()))
            .collect();
        for key in self.destination.list("blobs/").await? {
            let blob = key.as_str().trim_start_matches("blobs/");
            if !named.contains(blob) {
                self.destination.delete(&key).await?;
            }
        }
        Ok(removed)
    }

    async fn set_names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .destination
            .list("sets/")
            .await?
            .iter()
            .filter_map(|k| k.as_str().split('/').nth(1).map(str::to_string))
            .filter(|n| check_set_name(n).is_ok())
            .collect();
        names.dedup();
        Ok(names)
    }

    async fn manifest_if_complete(&self, name: &str) -> Result<Option<Manifest>> {
        let key = object(&format!("sets/{name}/manifest.json"))?;
        if !self.destination.exists(&key).await? {
            return Ok(None);
        }
        let bytes = self.destination.get(&key).await?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            ServiceError::Invalid(format!(
                "the manifest of backup set {name} is unreadable: {e}"
            ))
        })?;
        if manifest.format != FORMAT {
            return Err(ServiceError::Invalid(format!(
                "backup set {name} has format {} (this Inkan reads format {FORMAT})",
                manifest.format
            )));
        }
        Ok(Some(manifest))
    }
}

/// An object name in the destination.
fn object(name: &str) -> Result<BlobKey> {
    Ok(BlobKey::new(name)?)
}

/// How set names are written: `20261204T030000Z`, the UTC time the set was made.
const SET_NAME: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// `20261204T030000Z` from Unix seconds.
fn set_name(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(SET_NAME)
        .unwrap_or_default()
}

/// Unix seconds of a set name, if it is one.
fn set_time(name: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(name, SET_NAME)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

fn check_set_name(name: &str) -> Result<()> {
    match set_time(name) {
        Some(_) => Ok(()),
        None => Err(ServiceError::Invalid(format!(
            "{name:?} はバックアップ名ではありません (not a backup set name: expected \
             20261204T030000Z or latest)"
        ))),
    }
}

/// Hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A service's parts that a backup reads, shared by the CLI and the scheduler.
#[derive(Clone)]
pub struct Source {
    pub inkan: crate::Inkan,
    pub config: Config,
    pub pki_dir: PathBuf,
}

impl Source {
    pub fn new(assembled: &crate::setup::Assembled) -> Source {
        Source {
            inkan: assembled.inkan.clone(),
            config: assembled.config.clone(),
            pki_dir: assembled.pki.dir().to_path_buf(),
        }
    }
}

/// Runs forever beside `inkan serve`: every ten minutes, if the day (JST) has no set yet and
/// its backup hour has passed, makes one and prunes. Failures are logged and tried again at
/// the next check.
pub async fn run_schedule(source: Source, backups: Arc<Backups>, hour: u8) {
    loop {
        let now = source.inkan.now();
        match due(&backups, now, hour, &source.inkan).await {
            Ok(true) => match backups.create(&source, &Quiet).await {
                Ok(manifest) => {
                    source
                        .inkan
                        .metrics
                        .saw_backups(backups.describe(), manifest.created_at);
                    tracing::info!(set = %manifest.name, blobs = manifest.blobs.len(), destination = %backups.describe(), "backup made");
                    match backups.prune(now).await {
                        Ok(removed) => tracing::info!(removed = ?removed, "backups pruned"),
                        Err(e) => {
                            tracing::error!(error = %e, "pruning backups failed")
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the scheduled backup failed; trying again in ten minutes")
                }
            },
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot list the backups"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}

/// Whether today's (JST) set is due: the hour has passed and no set was made today. The newest
/// set goes to the metrics on the way.
async fn due(backups: &Backups, now: i64, hour: u8, inkan: &crate::Inkan) -> Result<bool> {
    let sets = backups.sets().await?;
    let newest = sets.iter().map(|m| m.created_at).max().unwrap_or(0);
    inkan.metrics.saw_backups(backups.describe(), newest);
    let today = crate::japan::date_jst(now);
    let jst_hour = ((now + 9 * 3600).rem_euclid(86_400) / 3600) as u8;
    if jst_hour < hour {
        return Ok(false);
    }
    Ok(!sets
        .iter()
        .any(|m| crate::japan::date_jst(m.created_at) == today))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn set_names_read_back_as_their_time_and_nothing_else_is_one() {
        let at = 1_796_353_200; // 2026-12-04 03:00:00 UTC
        assert_eq!(set_name(at), "20261204T030000Z");
        assert_eq!(set_time(&set_name(at)), Some(at));
        for bad in [
            "latest",
            "../x",
            "20261304T030000Z",
            "",
            "20261204T030000Z/..",
        ] {
            assert!(check_set_name(bad).is_err(), "{bad}");
        }
    }
}
