//! The secrets Inkan hands out: signer and completion link tokens, API keys. Only their SHA-256
//! is stored. Link tokens are derived with HMAC from a key the database does not hold, so the
//! email job can put the link into the mail without the job row ever containing it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use inkan_domain::{EnvelopeId, RecipientId};
use inkan_store::{TokenHash, TokenKind};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use std::path::Path;

use crate::{Result, ServiceError};

/// The key that derives link tokens: 32 random bytes in a file of the data folder.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    pub fn random() -> LinkKey {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        LinkKey(k)
    }

    /// Reads the key at `path`, creating it (mode 0600) when absent.
    pub fn load_or_create(path: &Path) -> Result<LinkKey> {
        key_file(path).map(LinkKey)
    }

    /// The token of a recipient's link (signer or completion page): 256 bits, URL-safe.
    /// A recipient's link token. `generation` counts fresh links sent by staff (0: the first,
    /// whose form is unchanged since links began).
    pub fn token(
        &self,
        kind: TokenKind,
        envelope: EnvelopeId,
        recipient: RecipientId,
        generation: u32,
    ) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        let label = match kind {
            TokenKind::Signer => "signer",
            TokenKind::Completion => "completion",
        };
        let base = format!("inkan-link-v1|{label}|{envelope}|{recipient}");
        match generation {
            0 => mac.update(base.as_bytes()),
            n => mac.update(format!("{base}|{n}").as_bytes()),
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// HMAC-SHA256 of `data` under this key, separated by `purpose` so that a MAC made for one
    /// use (a session, a CSRF token) is never valid for another.
    pub(crate) fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.purpose_mac(purpose, data)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Checks a MAC made by [`LinkKey::mac`] in constant time.
    pub(crate) fn verify(&self, purpose: &str, data: &[u8], tag: &[u8]) -> bool {
        self.purpose_mac(purpose, data).verify_slice(tag).is_ok()
    }

    fn purpose_mac(&self, purpose: &str, data: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(b"inkan-mac-v1|");
        mac.update(purpose.as_bytes());
        mac.update(b"|");
        mac.update(data);
        mac
    }
}

// HMAC accepts keys of any length; this cannot happen.
fn unreachable_hmac() -> Hmac<Sha256> {
    unreachable!("HMAC-SHA256 takes keys of any length")
}

/// The key that keys the audit chains (`keys/audit.key`), created on first start. It lives
/// beside the other keys, outside the database: write access to the database alone is not
/// enough to recompute a rewritten trail.
pub fn audit_chain_key(path: &Path) -> Result<inkan_store::ChainKey> {
    key_file(path).map(inkan_store::ChainKey::from_bytes)
}

/// The 32 random bytes in the file at `path`, created (mode 0600) when absent.
fn key_file(path: &Path) -> Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.as_slice().try_into().map_err(|_| {
            ServiceError::internal(format!("{} must hold exactly 32 bytes", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut k = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut k);
            write_private(path, &k)?;
            Ok(k)
        }
        Err(e) => Err(ServiceError::failed(path.display().to_string(), e)),
    }
}

/// A new API key (`inkan_` + 256 random bits) and its stored hash.
pub fn new_api_key() -> (String, TokenHash) {
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    let secret = format!("inkan_{}", URL_SAFE_NO_PAD.encode(k));
    let hash = TokenHash::of(&secret);
    (secret, hash)
}

/// A new webhook signing secret.
pub fn new_webhook_secret() -> String {
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    format!("whsec_{}", URL_SAFE_NO_PAD.encode(k))
}

/// Writes a secret file readable by its owner only, atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ServiceError::failed("the secrets", e))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| ServiceError::failed("the secrets", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(|e| ServiceError::failed("the secrets", e))?;
    }
    tmp.write_all(bytes)
        .map_err(|e| ServiceError::failed("the secrets", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| ServiceError::failed("the secrets", e))?;
    tmp.persist(path)
        .map_err(|e| ServiceError::failed("the secrets", e))?;
    Ok(())
}

/// HMAC-SHA256 of a webhook body, hex: the `Inkan-Signature: t=<time>,v1=<hex>` value covers
/// `<time>.<body>`.
pub fn webhook_signature(secret: &str, time: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable_hmac());
    mac.update(time.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// How a secret sealed under the master key starts when stored in a text column.
const SEALED: &str = "enc1:";

/// What a stored secret holds.
pub(crate) enum Stored {
    /// Its plaintext, opened.
    Opened(Vec<u8>),
    /// Not sealed: a value an older version stored in clear.
    Clear,
}

impl crate::Inkan {
    /// `plaintext` sealed under the master key for `context` (`org/<id>/…`), as text for a
    /// database column. The context binds it to its row: copied onto another, it does not open,
    /// so a database copy alone reveals nothing.
    pub(crate) async fn seal_text(&self, context: &str, plaintext: &[u8]) -> Result<String> {
        let sealed = self
            .blobs
            .seal_secret(&secret_context(context)?, plaintext)
            .await?;
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(sealed)
        ))
    }

    /// The plaintext of [`seal_text`](Self::seal_text)'s output for the same `context`.
    pub(crate) async fn open_text(&self, context: &str, stored: &str) -> Result<Stored> {
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Ok(Stored::Clear);
        };
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|e| ServiceError::failed(format!("{context}: not base64"), e))?;
        Ok(Stored::Opened(
            self.blobs
                .open_secret(&secret_context(context)?, &sealed)
                .await?,
        ))
    }
}

fn secret_context(context: &str) -> Result<inkan_blobs::BlobKey> {
    inkan_blobs::BlobKey::new(context.to_string())
        .map_err(|e| ServiceError::failed("the secrets", e))
}
