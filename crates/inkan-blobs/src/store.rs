//! The blob store: encryption on top of an `object_store` backend (a local folder or S3).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{format, BlobError, BlobKey, MasterKey, Result};

/// Where blobs are stored, as the service's configuration says (TOML: `kind = "filesystem"` or
/// `kind = "s3"`).
#[derive(Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BlobConfig {
    /// A folder on the local disk (created if absent). The default for a single server.
    Filesystem {
        /// The root folder; blob keys are paths below it.
        root: PathBuf,
    },
    /// An S3-compatible object store (AWS S3, MinIO, Ceph, …), addressed path-style
    /// (`endpoint/bucket/key`), which every S3-compatible server understands.
    S3 {
        /// The endpoint URL, e.g. `https://s3.ap-northeast-1.amazonaws.com` or
        /// `http://127.0.0.1:9000`. Absent: AWS's endpoint for `region`.
        #[serde(default)]
        endpoint: Option<String>,
        /// The bucket (it must exist).
        bucket: String,
        /// The region; most non-AWS servers accept the default `us-east-1`.
        #[serde(default = "default_region")]
        region: String,
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: String,
        /// Allow a plain `http://` endpoint (a server on the same host or network only).
        #[serde(default)]
        allow_http: bool,
        /// A folder inside the bucket that every key is placed under (`inkan/prod`): several
        /// installations, or blobs and backups, can share one bucket.
        #[serde(default)]
        prefix: Option<String>,
    },
}

fn default_region() -> String {
    "us-east-1".to_string()
}

impl fmt::Debug for BlobConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobConfig::Filesystem { root } => {
                f.debug_struct("Filesystem").field("root", root).finish()
            }
            BlobConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                allow_http,
                prefix,
                ..
            } => f
                .debug_struct("S3")
                .field("endpoint", endpoint)
                .field("bucket", bucket)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<secret>")
                .field("allow_http", allow_http)
                .field("prefix", prefix)
                .finish(),
        }
    }
}

/// What `put` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, lowercase hex: what the database records to identify the
    /// document's content (the stored object's own hash changes with every encryption).
    pub sha256: String,
}

/// A blob's plaintext as read, naming the exact stored object it came from: a later revision
/// that appends to it is stored as a continuation ([`BlobStore::put_after`]).
pub struct Revision {
    /// The plaintext.
    pub bytes: Vec<u8>,
    /// The stored object the plaintext came from (its top object, for a continuation).
    origin: format::Base,
    /// How many stored objects make it: 1 for a whole object, one more per continuation.
    objects: usize,
}

impl Revision {
    /// The key it was read from.
    pub fn key(&self) -> &BlobKey {
        &self.origin.key
    }
}

impl fmt::Debug for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revision")
            .field("key", &self.origin.key)
            .field("len", &self.bytes.len())
            .field("objects", &self.objects)
            .finish()
    }
}

/// The longest chain of continuations read: more is damage (or a loop) in the store.
const MAX_OBJECTS_READ: usize = 64;
/// A revision read from this many objects is written whole, not as one more continuation:
/// reads stay short however many times a document is signed or timestamped again.
const MAX_OBJECTS_WRITTEN: usize = 16;

/// Encrypted blobs in a backend.
///
/// Each `put` encrypts under a fresh data key and writes one object; each `get` checks the
/// object's authenticity before returning anything. Whole blobs are held in memory (contracts
/// and their attachments are megabytes, not gigabytes); encryption and key wrapping run on
/// tokio's blocking pool, since an HSM round trip or a 50 MB encryption must not stall the
/// async workers. A tokio runtime is required.
pub struct BlobStore {
    backend: Arc<dyn ObjectStore>,
    /// The key new blobs are written with, then retired keys still accepted for reading.
    masters: Arc<Vec<Arc<dyn MasterKey>>>,
    /// For the local backend: the root, to make each new object durable once `put` returns.
    local_root: Option<PathBuf>,
    description: String,
}

impl BlobStore {
    /// The store a configuration describes, with `master` wrapping the data keys.
    pub fn open(config: &BlobConfig, master: Arc<dyn MasterKey>) -> Result<Self> {
        match config {
            BlobConfig::Filesystem { root } => Self::filesystem(root, master),
            BlobConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
                prefix,
            } => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_allow_http(*allow_http)
                    .with_virtual_hosted_style_request(false);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                let s3 = builder
                    .build()
                    .map_err(|e| BlobError::Config(format!("S3 bucket {bucket:?}: {e}")))?;
                let description = format!(
                    "s3 bucket {bucket:?}{} at {}",
                    prefix
                        .as_deref()
                        .map(|p| format!(" under {p:?}"))
                        .unwrap_or_default(),
                    endpoint.as_deref().unwrap_or("AWS")
                );
                let backend: Arc<dyn ObjectStore> =
                    match prefix.as_deref().map(|p| p.trim_matches('/')) {
                        None | Some("") => Arc::new(s3),
                        Some(p) => {
                            let folder = ObjectPath::parse(p)
                                .map_err(|e| BlobError::Config(format!("S3 prefix {p:?}: {e}")))?;
                            Arc::new(object_store::prefix::PrefixStore::new(s3, folder))
                        }
                    };
                Ok(Self::with_backend(backend, master, description))
            }
        }
    }

    /// Blobs as files under `root` (created with its parents if absent).
    ///
    /// Writes are atomic: `object_store` writes each object to a temporary `name#N` file beside
    /// it and renames it into place, so readers see the old object or the whole new one, never a
    /// part. After the rename this store also syncs the file and its folder, so a blob whose
    /// `put` returned survives a power cut.
    pub fn filesystem(root: impl AsRef<Path>, master: Arc<dyn MasterKey>) -> Result<Self> {
        let root = root.as_ref();
        let config_error = |what: &str, e: &dyn fmt::Display| {
            BlobError::Config(format!("blob folder {}: {what}: {e}", root.display()))
        };
        std::fs::create_dir_all(root).map_err(|e| config_error("cannot create it", &e))?;
        let root = root
            .canonicalize()
            .map_err(|e| config_error("cannot resolve it", &e))?;
        let local = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| config_error("cannot open it", &e))?;
        let description = format!("folder {}", root.display());
        let mut store = Self::with_backend(Arc::new(local), master, description);
        store.local_root = Some(root);
        Ok(store)
    }

    /// Blobs in any `object_store` backend (e.g. `InMemory` in tests).
    pub fn with_backend(
        backend: Arc<dyn ObjectStore>,
        master: Arc<dyn MasterKey>,
        description: impl Into<String>,
    ) -> Self {
        BlobStore {
            backend,
            masters: Arc::new(vec![master]),
            local_root: None,
            description: description.into(),
        }
    }

    /// Also reads blobs written under `key`, a master key being rotated out. New blobs are
    /// always written under the store's main key.
    pub fn with_retired_master_key(mut self, key: Arc<dyn MasterKey>) -> Self {
        Arc::make_mut(&mut self.masters).push(key);
        self
    }

    /// Where the blobs are, for people (`folder /srv/blobs`, `s3 bucket "b" at …`); no secret.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The id of the master key new blobs are written under.
    pub fn master_key_id(&self) -> &str {
        self.masters.first().map(|m| m.id()).unwrap_or_default()
    }

    /// Encrypts `plaintext` and stores it under `key`, replacing any blob there.
    pub async fn put(&self, key: &BlobKey, plaintext: &[u8]) -> Result<BlobInfo> {
        let info = BlobInfo::of(plaintext);
        let masters = Arc::clone(&self.masters);
        let (blob_key, plaintext) = (key.clone(), plaintext.to_vec());
        let sealed =
            blocking(move || format::seal(first_master(&masters)?.as_ref(), &blob_key, &plaintext))
                .await?;
        self.store_object(key, sealed).await?;
        Ok(info)
    }

    /// Stores `plaintext`, a new revision of `previous`, under `key`: when it is `previous`
    /// with bytes appended (a PDF's incremental update) and `key` lies in the same folder, only
    /// the appended bytes are encrypted and written, as a continuation of `previous`'s object
    /// (see [`format`](mod@format)); otherwise the whole plaintext, as [`put`](Self::put).
    /// Reading `key` gives the whole plaintext either way. `previous`'s object must stay where
    /// it is for as long as `key` is kept (revisions are never replaced).
    pub async fn put_after(
        &self,
        key: &BlobKey,
        previous: &Revision,
        plaintext: &[u8],
    ) -> Result<BlobInfo> {
        let continues = previous.objects < MAX_OBJECTS_WRITTEN
            && format::may_continue(key, &previous.origin.key)
            && plaintext.starts_with(&previous.bytes);
        if !continues {
            return self.put(key, plaintext).await;
        }
        let info = BlobInfo::of(plaintext);
        let masters = Arc::clone(&self.masters);
        let base = previous.origin.clone();
        let blob_key = key.clone();
        let appended = plaintext[previous.bytes.len()..].to_vec();
        let sealed = blocking(move || {
            let master = first_master(&masters)?;
            format::seal_continuation(master.as_ref(), &blob_key, &base, &appended)
        })
        .await?;
        self.store_object(key, sealed).await?;
        Ok(info)
    }

    /// Writes a sealed object; on a local folder, durably.
    async fn store_object(&self, key: &BlobKey, sealed: Vec<u8>) -> Result<()> {
        let path = object_path(key)?;
        self.backend
            .put(&path, PutPayload::from(sealed))
            .await
            .map_err(|e| self.backend_error(key, e))?;
        if let Some(root) = &self.local_root {
            let file = root.join(key.as_str());
            blocking(move || {
                sync_file_and_folder(&file);
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Encrypts a small secret that is kept elsewhere (a database column) exactly as blobs are
    /// encrypted: a fresh data key wrapped by the master key, the result bound to `context` so
    /// that it cannot be moved to another record.
    pub async fn seal_secret(&self, context: &BlobKey, plaintext: &[u8]) -> Result<Vec<u8>> {
        let masters = Arc::clone(&self.masters);
        let (context, plaintext) = (context.clone(), plaintext.to_vec());
        blocking(move || format::seal(first_master(&masters)?.as_ref(), &context, &plaintext)).await
    }

    /// The plaintext of [`BlobStore::seal_secret`]'s output, checked against `context`.
    pub async fn open_secret(&self, context: &BlobKey, sealed: &[u8]) -> Result<Vec<u8>> {
        let masters = Arc::clone(&self.masters);
        let (context, sealed) = (context.clone(), sealed.to_vec());
        blocking(move || format::open(&masters, &context, sealed)).await
    }

    /// The plaintext of the blob under `key`, after checking that it is exactly what was put
    /// there under that key.
    pub async fn get(&self, key: &BlobKey) -> Result<Vec<u8>> {
        Ok(self.read(key).await?.bytes)
    }

    /// The plaintext of the blob under `key`, checked as by [`get`](Self::get), with what names
    /// its stored object: a new revision of it can then be stored with
    /// [`put_after`](Self::put_after). A continuation is read with the objects it continues,
    /// each checked to be the very object it was written after.
    pub async fn read(&self, key: &BlobKey) -> Result<Revision> {
        // The stored objects, from `key` down to the first whole one.
        let mut objects: Vec<(BlobKey, Vec<u8>)> = Vec::new();
        let mut at = key.clone();
        loop {
            let object = match self.fetch(&at).await {
                Err(BlobError::NotFound { .. }) if !objects.is_empty() => {
                    return Err(BlobError::Corrupt {
                        key: key.to_string(),
                        reason: format!("it continues blob {at}, which is missing"),
                    })
                }
                fetched => fetched?,
            };
            let base = format::parse_header(&at, &object)?.base;
            objects.push((at, object));
            match base {
                Some(_) if objects.len() == MAX_OBJECTS_READ => {
                    return Err(BlobError::Corrupt {
                        key: key.to_string(),
                        reason: format!(
                            "it continues a chain of more than {MAX_OBJECTS_READ} stored objects"
                        ),
                    })
                }
                Some(base) => at = base.key,
                None => break,
            }
        }
        let masters = Arc::clone(&self.masters);
        let top = key.clone();
        blocking(move || assemble(&masters, &top, objects)).await
    }

    /// One stored object, as its bytes.
    async fn fetch(&self, key: &BlobKey) -> Result<Vec<u8>> {
        let path = object_path(key)?;
        let object = self
            .backend
            .get(&path)
            .await
            .map_err(|e| self.backend_error(key, e))?
            .bytes()
            .await
            .map_err(|e| self.backend_error(key, e))?;
        Ok(Vec::from(object))
    }

    /// Removes the blob under `key`. Removing a blob that is not there succeeds, so a retried
    /// cleanup job does not fail.
    pub async fn delete(&self, key: &BlobKey) -> Result<()> {
        let path = object_path(key)?;
        match self.backend.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.backend_error(key, e)),
        }
    }

    /// Whether a blob is stored under `key` (its content is not checked).
    pub async fn exists(&self, key: &BlobKey) -> Result<bool> {
        let path = object_path(key)?;
        match self.backend.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.backend_error(key, e)),
        }
    }

    /// The keys of every blob whose key starts with the folder `prefix` (`""`: all), sorted.
    /// Objects the store did not write (a name it would refuse) are left out.
    pub async fn list(&self, prefix: &str) -> Result<Vec<BlobKey>> {
        use futures_util::TryStreamExt;
        let folder = match prefix.trim_end_matches('/') {
            "" => None,
            p => Some(ObjectPath::parse(p).map_err(|_| BlobError::InvalidKey {
                key: p.to_string(),
                reason: "the storage backend refuses this name",
            })?),
        };
        let objects: Vec<_> = self
            .backend
            .list(folder.as_ref())
            .try_collect()
            .await
            .map_err(|e| BlobError::Backend {
                key: format!("{prefix}* ({})", self.description),
                source: e,
            })?;
        let mut keys: Vec<BlobKey> = objects
            .into_iter()
            .filter_map(|o| BlobKey::new(o.location.to_string()).ok())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn backend_error(&self, key: &BlobKey, e: object_store::Error) -> BlobError {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound {
                key: key.to_string(),
            },
            source => BlobError::Backend {
                key: format!("{key} ({})", self.description),
                source,
            },
        }
    }
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStore")
            .field("backend", &self.description)
            .field(
                "master_keys",
                &self.masters.iter().map(|m| m.id()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn object_path(key: &BlobKey) -> Result<ObjectPath> {
    // BlobKey's alphabet is narrower than object_store's, so this does not fail in practice.
    ObjectPath::parse(key.as_str()).map_err(|_| BlobError::InvalidKey {
        key: key.to_string(),
        reason: "the storage backend refuses this name",
    })
}

/// fsync of the renamed file and of its folder; failures only cost durability on power loss,
/// which the object's authentication would then catch, so they are not reported.
fn sync_file_and_folder(file: &Path) {
    if let Ok(f) = std::fs::File::open(file) {
        let _ = f.sync_all();
    }
    if let Some(Ok(dir)) = file.parent().map(std::fs::File::open) {
        let _ = dir.sync_all();
    }
}

impl BlobInfo {
    fn of(plaintext: &[u8]) -> Self {
        BlobInfo {
            size: plaintext.len() as u64,
            sha256: hex::encode(Sha256::digest(plaintext)),
        }
    }
}

fn first_master(masters: &[Arc<dyn MasterKey>]) -> Result<&Arc<dyn MasterKey>> {
    masters
        .first()
        .ok_or_else(|| BlobError::Config("the blob store has no master key".to_string()))
}

/// The plaintext of `top` from its stored objects (`top`'s first, each continuation followed by
/// the object it continues): each object opened, and each continuation checked to continue
/// exactly the object below it, whole.
fn assemble(
    masters: &[Arc<dyn MasterKey>],
    top: &BlobKey,
    objects: Vec<(BlobKey, Vec<u8>)>,
) -> Result<Revision> {
    let count = objects.len();
    let mut below: Option<(format::Base, Vec<u8>)> = None;
    for (key, object) in objects.into_iter().rev() {
        let tag = format::object_tag(&object);
        let (content, base) = format::open_content(masters, &key, object)?;
        let bytes = match (below.take(), base) {
            (None, None) => content,
            (Some((origin, mut bytes)), Some(base)) => {
                if base.key != origin.key
                    || base.tag != origin.tag
                    || base.len != bytes.len() as u64
                {
                    return Err(BlobError::Corrupt {
                        key: top.to_string(),
                        reason: format!(
                            "blob {key} continues blob {} as it was when written, and that \
                             blob was replaced or damaged since",
                            base.key
                        ),
                    });
                }
                bytes.extend_from_slice(&content);
                bytes
            }
            // `read` follows each continuation down to a whole object, and no further.
            _ => {
                return Err(BlobError::Corrupt {
                    key: top.to_string(),
                    reason: format!(
                        "its chain of stored objects changed while it was read ({key})"
                    ),
                })
            }
        };
        below = Some((
            format::Base {
                key,
                len: bytes.len() as u64,
                tag,
            },
            bytes,
        ));
    }
    let (origin, bytes) = below.ok_or_else(|| BlobError::NotFound {
        key: top.to_string(),
    })?;
    Ok(Revision {
        bytes,
        origin,
        objects: count,
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(BlobError::Config(format!(
            "blob encryption task cancelled: {e}"
        ))),
    }
}
