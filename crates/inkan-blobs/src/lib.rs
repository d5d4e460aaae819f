//! Inkan's encrypted blob store: documents, attachments and signed results, encrypted at rest.
//!
//! Every blob is encrypted with its own random AES-256-GCM data key, and only that data key is
//! encrypted by the master key (a key file, or an AES key that never leaves a PKCS#11 token).
//! The stored object describes itself (format version, master key id, wrapped data key, nonce;
//! see [`format`](mod@format)) and is authenticated together with the blob's key, so damage, truncation, or
//! an object moved under another name is detected on every read and reported as
//! [`BlobError::Corrupt`]; wrong plaintext is never returned.
//!
//! Storage is any `object_store` backend: a local folder by default, an S3-compatible bucket by
//! configuration ([`BlobConfig`]). The backend only ever sees ciphertext.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
pub mod format;
mod key;
mod master;
mod pkcs11;
mod store;

pub use error::{BlobError, MasterKeyError, Result};
pub use key::{BlobKey, MAX_KEY_LEN};
pub use master::{DataKey, FileMasterKey, MasterKey, MasterKeyConfig, KEY_LEN};
pub use pkcs11::Pkcs11MasterKey;
pub use store::{BlobConfig, BlobInfo, BlobStore, Revision};
