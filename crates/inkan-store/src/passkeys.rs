//! パスキー in the store: a staff user's WebAuthn credentials, kept as the service's WebAuthn
//! library serialises them (public key, signature counter), never a secret.

use async_trait::async_trait;
use inkan_domain::UserId;
use serde::{Deserialize, Serialize};

use crate::{Result, UnixTime};

/// One registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// A UUID of ours (the credential's own ID is inside `credential`).
    pub id: String,
    pub user: UserId,
    /// What its owner calls it: `業務用 PC`.
    pub name: String,
    /// The credential as JSON (webauthn-rs's `Passkey`).
    pub credential: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// The store's part for passkeys (a part of [`crate::Store`]; implemented in `sql/passkeys.rs`).
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    async fn add_passkey(&self, passkey: &StoredPasskey) -> Result<()>;
    /// The user's passkeys, oldest first.
    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>>;
    /// After a login with it: the credential's new counter, and when.
    async fn touch_passkey(
        &self,
        user: UserId,
        id: &str,
        credential: &str,
        now: i64,
    ) -> Result<bool>;
    /// Removes one of the user's passkeys; false when there is no such passkey of theirs.
    async fn remove_passkey(&self, user: UserId, id: &str) -> Result<bool>;
    /// Removes every passkey of the user (an administrator's MFA reset).
    async fn remove_passkeys(&self, user: UserId) -> Result<u64>;
}
