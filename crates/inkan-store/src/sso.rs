//! シングルサインオン in the store: each organization's OpenID provider and the email domains
//! it logs in, and values that may be used once on every node (an SSO login's state).

use async_trait::async_trait;
use inkan_domain::OrganizationId;
use serde::{Deserialize, Serialize};

use crate::{Result, UnixTime};

/// An organization's OpenID provider.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoProvider {
    pub organization: OrganizationId,
    /// The issuer URL (discovery is at `/.well-known/openid-configuration` under it).
    pub issuer: String,
    pub client_id: String,
    /// Sealed under the master key, bound to the organization.
    pub client_secret: String,
    /// The email domains (lower case) whose users it logs in; each belongs to one organization.
    pub domains: Vec<String>,
    /// Password login is off for the organization's users.
    pub required: bool,
    pub updated_at: UnixTime,
}

impl std::fmt::Debug for SsoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoProvider")
            .field("organization", &self.organization)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("domains", &self.domains)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// The store's part for single sign-on (a part of [`crate::Store`]; implemented in
/// `sql/sso.rs`).
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Sets (or replaces) the organization's provider and its domains in one transaction; a
    /// domain another organization has is [`crate::StoreError::Duplicate`], and nothing changes.
    async fn set_sso_provider(&self, provider: &SsoProvider) -> Result<()>;
    /// Removes the provider and its domains; false when there was none.
    async fn remove_sso_provider(&self, org: OrganizationId) -> Result<bool>;
    async fn sso_provider(&self, org: OrganizationId) -> Result<Option<SsoProvider>>;
    /// The provider of the organization that has this email domain (lower case).
    async fn sso_provider_for_domain(&self, domain: &str) -> Result<Option<SsoProvider>>;
    /// Records `value` as used in `scope` until `expires_at`: true the first time, false when it
    /// was used before (on any node). Values past their expiry are forgotten.
    async fn use_once(&self, scope: &str, value: &str, expires_at: i64, now: i64) -> Result<bool>;
}
