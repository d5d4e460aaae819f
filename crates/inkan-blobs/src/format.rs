//! The stored object: a self-describing header, then the AES-256-GCM ciphertext and tag.
//!
//! ```text
//! "INKB"              4 bytes  magic: not an Inkan blob otherwise
//! version             1 byte   1
//! id length           1 byte   1..=255
//! master key id       n bytes  UTF-8, MasterKey::id of the key that wrapped the data key
//! wrapped length      2 bytes  big-endian, 1..=1024
//! wrapped data key    w bytes  MasterKey::wrap output
//! nonce               12 bytes random, for the content
//! header check        8 bytes  SHA-256 of all the bytes above, truncated
//! ciphertext          the content's length
//! tag                 16 bytes
//! ```
//!
//! A *continuation* (version 2) holds only what a revision appends to an earlier blob, its
//! base: its plaintext is the base's plaintext followed by its own content. Between the nonce
//! and the header check it names the base exactly as it was when the continuation was written:
//!
//! ```text
//! base key length     2 bytes  big-endian, 1..=MAX_KEY_LEN
//! base key            n bytes  a blob key in the same folder as this blob's key
//! base length         8 bytes  big-endian, the base's whole plaintext length
//! base tag            16 bytes the tag that ends the base's stored object
//! ```
//!
//! A PDF's revisions are incremental updates, each the previous file with an update appended;
//! stored as continuations, an envelope's documents take their size once, not once per
//! signature, and a signature writes and encrypts a few kilobytes instead of the whole file.
//! The base's tag is the last 16 bytes of its object, under a data key of its own: a base
//! replaced since (even by the same plaintext) no longer matches, and the read fails.
//!
//! The content is authenticated with associated data = the whole header followed by the blob
//! key. So any changed byte, a truncation, or an object moved or swapped under another key fails
//! the tag, and nothing but the original plaintext can ever come out. The unkeyed header check
//! only exists so that accidental damage to the master key id is reported as corruption rather
//! than as "encrypted under another master key"; security rests on the tag.

use std::sync::Arc;

use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use sha2::{Digest, Sha256};

use crate::master::{DataKey, NONCE_LEN, TAG_LEN};
use crate::{BlobError, BlobKey, MasterKey, MasterKeyError};

/// First bytes of every stored object.
pub const MAGIC: &[u8; 4] = b"INKB";
/// The format version of a whole object.
pub const VERSION: u8 = 1;
/// The format version of a continuation: the base's plaintext, then the object's own content.
pub const CONTINUATION: u8 = 2;
const CHECK_LEN: usize = 8;
const MAX_WRAPPED_LEN: usize = 1024;

/// The blob a continuation continues, as it was when the continuation was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub key: BlobKey,
    /// The length of the base's whole plaintext.
    pub len: u64,
    /// The tag that ends the base's stored object: it names that very object.
    pub tag: [u8; TAG_LEN],
}

/// The folder of a blob key: everything before its last `/` (`""` at the top).
fn folder(key: &BlobKey) -> &str {
    key.as_str()
        .rsplit_once('/')
        .map_or("", |(folder, _)| folder)
}

/// Whether `key` may continue `base`: another blob of the same folder (a document's revisions
/// lie together), so that a continuation never reaches into another envelope's or tenant's
/// blobs.
pub(crate) fn may_continue(key: &BlobKey, base: &BlobKey) -> bool {
    key != base && folder(key) == folder(base)
}

/// The tag that ends a stored object (all zeros for an object too short to have one, which
/// then fails to open anyway).
pub(crate) fn object_tag(object: &[u8]) -> [u8; TAG_LEN] {
    let mut tag = [0u8; TAG_LEN];
    if let Some(at) = object.len().checked_sub(TAG_LEN) {
        tag.copy_from_slice(&object[at..]);
    }
    tag
}

/// Encrypts `plaintext` for `key` under a fresh data key wrapped by `master`.
pub(crate) fn seal(
    master: &dyn MasterKey,
    key: &BlobKey,
    plaintext: &[u8],
) -> Result<Vec<u8>, BlobError> {
    seal_object(master, key, None, plaintext)
}

/// Encrypts `appended` for `key` as a continuation of `base` (see the module's documentation).
pub(crate) fn seal_continuation(
    master: &dyn MasterKey,
    key: &BlobKey,
    base: &Base,
    appended: &[u8],
) -> Result<Vec<u8>, BlobError> {
    if !may_continue(key, &base.key) {
        return Err(BlobError::InvalidKey {
            key: key.to_string(),
            reason: "a continuation's base must be another blob of the same folder",
        });
    }
    seal_object(master, key, Some(base), appended)
}

fn seal_object(
    master: &dyn MasterKey,
    key: &BlobKey,
    base: Option<&Base>,
    content: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let dek = DataKey::generate();
    let wrapped = master.wrap(&dek)?;
    let id = master.id().as_bytes();
    let id_len = u8::try_from(id.len()).ok().filter(|&n| n > 0);
    let wrapped_len = u16::try_from(wrapped.len())
        .ok()
        .filter(|&n| n > 0 && usize::from(n) <= MAX_WRAPPED_LEN);
    let (Some(id_len), Some(wrapped_len)) = (id_len, wrapped_len) else {
        // A MasterKey implementation outside its contract.
        return Err(MasterKeyError::WrapFailed {
            id: master.id().to_string(),
        }
        .into());
    };
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);

    let base_len = base.map_or(0, |b| 2 + b.key.as_str().len() + 8 + TAG_LEN);
    let header_len = 4 + 1 + 1 + id.len() + 2 + wrapped.len() + NONCE_LEN + base_len + CHECK_LEN;
    let mut out = Vec::with_capacity(header_len + content.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(if base.is_some() {
        CONTINUATION
    } else {
        VERSION
    });
    out.push(id_len);
    out.extend_from_slice(id);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&nonce);
    if let Some(base) = base {
        // A BlobKey is at most MAX_KEY_LEN (< 65536) bytes.
        let name = base.key.as_str().as_bytes();
        out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&base.len.to_be_bytes());
        out.extend_from_slice(&base.tag);
    }
    let check = Sha256::digest(&out);
    out.extend_from_slice(&check[..CHECK_LEN]);
    debug_assert_eq!(out.len(), header_len);

    let aad = associated_data(&out, key);
    out.extend_from_slice(content);
    let failed = || MasterKeyError::WrapFailed {
        id: master.id().to_string(),
    };
    // The nonce is fresh and random, and the data key is used for this one object only.
    let tag = content_cipher(&dek)
        .ok_or_else(failed)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut out[header_len..],
        )
        .map_err(|_| failed())?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// The parsed header of a stored object.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub master_key_id: &'a str,
    pub wrapped: &'a [u8],
    pub nonce: &'a [u8],
    /// What a continuation continues; `None` for a whole object.
    pub base: Option<Base>,
    /// Length of the header, where the ciphertext starts.
    pub len: usize,
}

/// Reads and checks the header of `object`; `Corrupt` for anything unexpected.
pub(crate) fn parse_header<'a>(key: &BlobKey, object: &'a [u8]) -> Result<Header<'a>, BlobError> {
    let corrupt = |reason: &str| BlobError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    };
    let mut reader = Reader { object, at: 0 };
    let truncated = || corrupt("the object is truncated (it ends inside its header)");
    if reader.take(4).ok_or_else(truncated)? != MAGIC {
        return Err(corrupt(
            "it does not start with the INKB marker, so it is not an encrypted Inkan blob",
        ));
    }
    let version = reader.byte().ok_or_else(truncated)?;
    let id_len = usize::from(reader.byte().ok_or_else(truncated)?);
    let id = reader.take(id_len).ok_or_else(truncated)?;
    let wrapped_len = usize::from(u16::from_be_bytes([
        reader.byte().ok_or_else(truncated)?,
        reader.byte().ok_or_else(truncated)?,
    ]));
    let wrapped = reader.take(wrapped_len).ok_or_else(truncated)?;
    let nonce = reader.take(NONCE_LEN).ok_or_else(truncated)?;
    let base = match version {
        CONTINUATION => {
            let name_len = usize::from(u16::from_be_bytes([
                reader.byte().ok_or_else(truncated)?,
                reader.byte().ok_or_else(truncated)?,
            ]));
            let name = reader.take(name_len).ok_or_else(truncated)?;
            let len = reader.take(8).ok_or_else(truncated)?;
            let tag = reader.take(TAG_LEN).ok_or_else(truncated)?;
            Some((name, len, tag))
        }
        _ => None,
    };
    let checked = reader.at;
    let check = reader.take(CHECK_LEN).ok_or_else(truncated)?;
    let len = reader.at;
    if Sha256::digest(&object[..checked])[..CHECK_LEN] != *check {
        return Err(corrupt("its header is damaged (header check mismatch)"));
    }
    // Checked after the header check, so a damaged version byte reads as damage.
    if version != VERSION && version != CONTINUATION {
        return Err(corrupt(&format!(
            "it uses format version {version}, which this build does not read \
             (only versions {VERSION} and {CONTINUATION}); it was written by a newer Inkan"
        )));
    }
    let base = match base {
        None => None,
        Some((name, len, tag)) => {
            let base = std::str::from_utf8(name)
                .ok()
                .and_then(|name| BlobKey::new(name).ok())
                .filter(|base| may_continue(key, base))
                .ok_or_else(|| {
                    corrupt("it continues a blob that is not another blob of its folder")
                })?;
            let mut len_bytes = [0u8; 8];
            len_bytes.copy_from_slice(len);
            let mut tag_bytes = [0u8; TAG_LEN];
            tag_bytes.copy_from_slice(tag);
            Some(Base {
                key: base,
                len: u64::from_be_bytes(len_bytes),
                tag: tag_bytes,
            })
        }
    };
    if id_len == 0 || wrapped_len == 0 || wrapped_len > MAX_WRAPPED_LEN {
        return Err(corrupt("its header has an empty key id or wrapped key"));
    }
    let master_key_id =
        std::str::from_utf8(id).map_err(|_| corrupt("its master key id is not UTF-8"))?;
    if object.len() < len + TAG_LEN {
        return Err(corrupt("the object is truncated (no room for its tag)"));
    }
    Ok(Header {
        master_key_id,
        wrapped,
        nonce,
        base,
        len,
    })
}

/// Decrypts a stored object that is whole (not a continuation); the master key is chosen by
/// the id in its header.
pub(crate) fn open(
    masters: &[Arc<dyn MasterKey>],
    key: &BlobKey,
    object: Vec<u8>,
) -> Result<Vec<u8>, BlobError> {
    match open_content(masters, key, object)? {
        (content, None) => Ok(content),
        (_, Some(base)) => Err(BlobError::Corrupt {
            key: key.to_string(),
            reason: format!(
                "it is a continuation of blob {}, where a whole object was expected",
                base.key
            ),
        }),
    }
}

/// Decrypts a stored object's own content; for a continuation, also what it continues.
pub(crate) fn open_content(
    masters: &[Arc<dyn MasterKey>],
    key: &BlobKey,
    mut object: Vec<u8>,
) -> Result<(Vec<u8>, Option<Base>), BlobError> {
    let header = parse_header(key, &object)?;
    let base = header.base.clone();
    let master = masters
        .iter()
        .find(|m| m.id() == header.master_key_id)
        .ok_or_else(|| BlobError::UnknownMasterKey {
            key: key.to_string(),
            found: header.master_key_id.to_string(),
            known: masters.iter().map(|m| m.id().to_string()).collect(),
        })?;
    let dek = match master.unwrap(header.wrapped) {
        Ok(dek) => dek,
        Err(MasterKeyError::UnwrapFailed { id }) => {
            return Err(BlobError::Corrupt {
                key: key.to_string(),
                reason: format!("its data key does not authenticate under master key {id:?}"),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let header_len = header.len;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(header.nonce);
    let aad = associated_data(&object[..header_len], key);
    let tag_at = object.len() - TAG_LEN;
    let altered = || BlobError::Corrupt {
        key: key.to_string(),
        reason: "its content does not authenticate: it was altered or truncated, or it is \
                 the object of another blob key (moved or swapped)"
            .to_string(),
    };
    content_cipher(&dek)
        .ok_or_else(altered)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut object[header_len..],
        )
        .map_err(|_| altered())?;
    object.truncate(tag_at);
    object.drain(..header_len);
    Ok((object, base))
}

/// AES-256-GCM under a data key, as ring implements it: the same cipher as RustCrypto's
/// `aes-gcm` (objects written by either open with the other), in assembly. Measured on 8 MB
/// (dev profile, dependencies optimised): sealing 26 → 5 ms, opening 22 → 1.6 ms; the portable
/// cipher was a sixth of the CPU time of sealing envelopes, each 1 MB revision being decrypted
/// and encrypted again. `None` only for a key of the wrong length, which a [`DataKey`] cannot
/// be.
fn content_cipher(dek: &DataKey) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, dek.as_bytes())
        .ok()
        .map(LessSafeKey::new)
}

/// Reads a header front to back, never past the end.
struct Reader<'a> {
    object: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let bytes = self.object.get(self.at..end)?;
        self.at = end;
        Some(bytes)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
}

fn associated_data(header: &[u8], key: &BlobKey) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + key.as_str().len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(key.as_str().as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::FileMasterKey;

    #[test]
    fn round_trip_and_every_byte_matters() {
        let master: Arc<dyn MasterKey> = Arc::new(FileMasterKey::from_bytes(&[1; 32]));
        let key = BlobKey::new("org/1/doc.pdf").unwrap();
        let sealed = seal(master.as_ref(), &key, b"hello").unwrap();
        let masters = [master];
        assert_eq!(open(&masters, &key, sealed.clone()).unwrap(), b"hello");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x40;
            let err = open(&masters, &key, bad).unwrap_err();
            assert!(matches!(err, BlobError::Corrupt { .. }), "byte {i}: {err}");
        }
        for cut in 0..sealed.len() {
            let err = open(&masters, &key, sealed[..cut].to_vec()).unwrap_err();
            assert!(matches!(err, BlobError::Corrupt { .. }), "cut {cut}: {err}");
        }
        let other = BlobKey::new("org/1/other.pdf").unwrap();
        assert!(matches!(
            open(&masters, &other, sealed).unwrap_err(),
            BlobError::Corrupt { .. }
        ));
    }

    /// Objects written before the content cipher moved to ring (RustCrypto's `aes-gcm`) and
    /// after it are the same bytes: each cipher opens what the other sealed.
    #[test]
    fn the_content_cipher_is_plain_aes_256_gcm() {
        use aes_gcm::aead::{AeadInPlace, KeyInit};
        use aes_gcm::{Aes256Gcm, Tag};

        let master: Arc<dyn MasterKey> = Arc::new(FileMasterKey::from_bytes(&[3; 32]));
        let key = BlobKey::new("org/1/contract.pdf").unwrap();
        let plaintext: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let sealed = seal(master.as_ref(), &key, &plaintext).unwrap();
        let header = parse_header(&key, &sealed).unwrap();
        let dek = master.unwrap(header.wrapped).unwrap();
        let aad = associated_data(&sealed[..header.len], &key);
        let tag_at = sealed.len() - TAG_LEN;
        let rust_crypto = Aes256Gcm::new(dek.as_bytes().into());

        let mut content = sealed[header.len..tag_at].to_vec();
        rust_crypto
            .decrypt_in_place_detached(
                aes_gcm::Nonce::from_slice(header.nonce),
                &aad,
                &mut content,
                Tag::from_slice(&sealed[tag_at..]),
            )
            .unwrap();
        assert_eq!(content, plaintext);

        // Sealed by RustCrypto under the same header: `open` reads it.
        let tag = rust_crypto
            .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(header.nonce), &aad, &mut content)
            .unwrap();
        let mut object = sealed[..header.len].to_vec();
        object.extend_from_slice(&content);
        object.extend_from_slice(&tag);
        assert_eq!(object, sealed);
        assert_eq!(open(&[master], &key, object).unwrap(), plaintext);
    }

    #[test]
    fn empty_plaintext() {
        let master: Arc<dyn MasterKey> = Arc::new(FileMasterKey::from_bytes(&[1; 32]));
        let key = BlobKey::new("empty").unwrap();
        let sealed = seal(master.as_ref(), &key, b"").unwrap();
        assert_eq!(open(&[master], &key, sealed).unwrap(), b"");
    }
}
