//! Staff sessions of the web pages and the CSRF tokens of every form.
//!
//! A session is a signed cookie value (`v1.<organization>.<user>.<expires>.<nonce>.<mac>`, MAC by
//! the installation's link key; a signer account's is `v1.<account>.<expires>.<nonce>.<mac>`
//! under another purpose), so any instance behind a load balancer can check it without a
//! shared session table. Each check also reloads the user, so a deleted user's session dies at
//! once. CSRF tokens are MACs of the scope they protect (a session, a signer link, a login
//! form's cookie): a page can only post back what the server rendered into it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use inkan_domain::{OrganizationId, UserId};
use rand::RngCore;

use inkan_store::UserChange;

use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// How long a staff session lasts: a working day.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// The logged-in staff member as the page header shows them.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub organization: String,
    pub name: String,
    pub email: String,
    /// An administrator of the organization (sees the settings).
    pub administrator: bool,
}

const SESSION: &str = "session";
const CSRF: &str = "csrf";

impl Inkan {
    /// A signed cookie value `v1.<fields…>.<expires>.<nonce>.<mac>` for `purpose`, valid for
    /// `seconds`. Fields must not contain dots (IDs do not).
    pub(crate) fn seal_cookie(&self, purpose: &str, fields: &[String], seconds: i64) -> String {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let body = format!(
            "v1.{}.{}.{}",
            fields.join("."),
            self.now() + seconds,
            URL_SAFE_NO_PAD.encode(nonce)
        );
        let tag = self.links.mac(purpose, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The fields of a cookie sealed for `purpose`: `None` when forged, expired or made for
    /// another purpose or with another number of fields.
    pub(crate) fn open_cookie(
        &self,
        purpose: &str,
        cookie: &str,
        fields: usize,
    ) -> Option<Vec<String>> {
        let (body, tag) = cookie.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !self.links.verify(purpose, body.as_bytes(), &tag) {
            return None;
        }
        let parts: Vec<&str> = body.split('.').collect();
        // v1, the fields, the expiry, the nonce.
        if parts.len() != fields + 3 || parts[0] != "v1" {
            return None;
        }
        let expires: i64 = parts[fields + 1].parse().ok()?;
        (expires > self.now()).then(|| parts[1..=fields].iter().map(|p| p.to_string()).collect())
    }

    /// Opens a session for a logged-in user: the cookie value. It names the user's current
    /// session generation, so ending their sessions ends this one too.
    pub async fn start_session(&self, staff: &Staff) -> Result<String> {
        let id = staff.user.ok_or_else(|| {
            ServiceError::NotAllowed("only a staff user (not an API key) can hold a session".into())
        })?;
        let user = self
            .store
            .user(staff.organization, id)
            .await?
            .ok_or(ServiceError::NotFound("the user"))?;
        Ok(self.seal_cookie(
            SESSION,
            &[
                staff.organization.to_string(),
                id.to_string(),
                user.session_generation.to_string(),
            ],
            SESSION_SECONDS,
        ))
    }

    /// Ends every session of the logged-in user, on every device (ログアウト).
    pub async fn logout(&self, staff: &Staff, caller: &Caller) -> Result<()> {
        let Some(user) = staff.user else {
            return Ok(());
        };
        self.store
            .end_sessions(
                staff.organization,
                user,
                UserChange::EndSessions,
                self.now(),
            )
            .await?;
        self.record(staff, caller, "logout", serde_json::json!({}))
            .await
    }

    /// The staff member of a session cookie: refused when forged or expired, when the user no
    /// longer exists or is disabled, when their sessions were ended since (logout, a new
    /// password), and when `caller` is outside the organization's allowed networks.
    pub async fn session(&self, cookie: &str, caller: &Caller) -> Result<Staff> {
        let expired =
            || ServiceError::Unauthenticated("the session has ended; log in again".into());
        let fields = self.open_cookie(SESSION, cookie, 3).ok_or_else(expired)?;
        let org: OrganizationId = fields[0].parse().map_err(|_| expired())?;
        let id: UserId = fields[1].parse().map_err(|_| expired())?;
        let generation: i64 = fields[2].parse().map_err(|_| expired())?;
        let user = self.store.user(org, id).await?.ok_or_else(expired)?;
        if user.disabled_at.is_some() || user.session_generation != generation {
            return Err(expired());
        }
        let staff = Staff::user(org, id, user.role);
        self.admit_network(&staff, caller, "session").await?;
        Ok(staff)
    }

    /// Who is logged in, for the page header.
    pub async fn session_user(&self, staff: &Staff) -> Result<SessionUser> {
        let org = self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let user = match staff.user {
            Some(id) => self.store.user(staff.organization, id).await?,
            None => None,
        };
        Ok(SessionUser {
            organization: org.name,
            administrator: staff.rights.administers,
            name: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            email: user.map(|u| u.email.to_string()).unwrap_or_default(),
        })
    }

    /// The CSRF token for forms posted within `scope` (a session cookie, a link token, …).
    pub fn csrf_token(&self, scope: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.links.mac(CSRF, scope.as_bytes()))
    }

    /// True when `token` is the CSRF token of `scope` (constant time).
    pub fn csrf_valid(&self, scope: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token.trim()) {
            Ok(tag) => self.links.verify(CSRF, scope.as_bytes(), &tag),
            Err(_) => false,
        }
    }
}
