//! Blob keys: the names blobs are stored under.

use std::fmt;

use crate::BlobError;

/// The longest key accepted, in bytes: S3's limit on object names.
pub const MAX_KEY_LEN: usize = 1024;

/// A validated blob name such as `org/<uuid>/env/<uuid>/doc/<uuid>/r3.pdf`.
///
/// Segments are separated by `/` and use only ASCII letters, digits, `.`, `_` and `-`; `.` and
/// `..` segments, empty segments and absolute paths are refused. The narrow alphabet is on
/// purpose: the same name must mean the same object on every backend (a local file system, S3),
/// must never escape the store's root, and must not collide with the temporary `name#N` files
/// the local backend writes before renaming. Original file names belong in the database, not
/// here.
///
/// The key is also the blob's identity in its encryption (associated data), so an object copied
/// or renamed under another key does not decrypt.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self, BlobError> {
        let key = key.into();
        match problem(&key) {
            None => Ok(BlobKey(key)),
            Some(reason) => Err(BlobError::InvalidKey { key, reason }),
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        return Some("it is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return Some("it is longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return Some("it is absolute (starts with /)");
    }
    if key.chars().any(|c| c.is_control()) {
        return Some("it contains a control character");
    }
    for segment in key.split('/') {
        match segment {
            "" => return Some("it has an empty segment (// or a trailing /)"),
            "." | ".." => return Some("it has a . or .. segment"),
            _ => {}
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Some("only ASCII letters, digits, '.', '_', '-' and '/' are allowed");
        }
    }
    None
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({:?})", self.0)
    }
}

impl std::str::FromStr for BlobKey {
    type Err = BlobError;
    fn from_str(s: &str) -> Result<Self, BlobError> {
        BlobKey::new(s)
    }
}

impl TryFrom<&str> for BlobKey {
    type Error = BlobError;
    fn try_from(s: &str) -> Result<Self, BlobError> {
        BlobKey::new(s)
    }
}

impl TryFrom<String> for BlobKey {
    type Error = BlobError;
    fn try_from(s: String) -> Result<Self, BlobError> {
        BlobKey::new(s)
    }
}

impl AsRef<str> for BlobKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_service_keys() {
        for ok in [
            "a",
            "org/7f1c/env/9a2b/doc/33aa/r3.pdf",
            "A-b_c.d/e",
            "x..y",
            ".hidden",
        ] {
            assert!(BlobKey::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_keys() {
        let long = "a".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a/./b",
            "a//b",
            "a/",
            "a\nb",
            "a\0b",
            "a b",
            "a\\b",
            "a#1",
            "契約.pdf",
            long.as_str(),
        ] {
            assert!(
                matches!(BlobKey::new(bad), Err(BlobError::InvalidKey { .. })),
                "{bad:?}"
            );
        }
    }
}
