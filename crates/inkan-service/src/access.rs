//! Who is calling: staff (by API key or login) acting for one organization, or a recipient
//! holding a link token. Every read below takes the caller's organization from here, never from
//! the request, so one organization's data cannot be reached from another's credentials.

use inkan_domain::{ApiKeyId, EnvelopeId, OrganizationId, Recipient, RecipientId, UserId};
pub use inkan_store::Reach;
use inkan_store::{AccessToken, ApiKeyScope, TokenHash, TokenKind, UserRole};

use crate::{Inkan, Result, ServiceError};

/// Where a request came from, for the audit trail, and the signer's pass it brought (the proof
/// that the check of a signer's link was passed: its cookie or `X-Inkan-Link-Pass` header).
#[derive(Clone, Default)]
pub struct Caller {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    pub link_pass: Option<String>,
}

impl std::fmt::Debug for Caller {
    // A pass is a credential: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("ip", &self.ip)
            .field("user_agent", &self.user_agent)
            .field("link_pass", &self.link_pass.as_ref().map(|_| "…"))
            .finish()
    }
}

/// What a staff caller may do, decided in this one place from a user's role or an API key's
/// scope; every use case asks it, so no page or route decides on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    /// Users, API keys and the organization's settings.
    pub administers: bool,
    /// Prepare and send envelopes, cancel and remind, keep the counterparty registry.
    pub sends: bool,
    pub reads: Reach,
}

impl Rights {
    /// The rights of a user's role.
    pub fn of_role(role: UserRole, user: UserId) -> Rights {
        let (administers, sends, reads) = match role {
            UserRole::Admin => (true, true, Reach::Every),
            UserRole::SystemAdmin => (true, false, Reach::Nothing),
            UserRole::DocumentManager => (false, true, Reach::granted(user, true)),
            UserRole::DocumentViewer => (false, false, Reach::granted(user, true)),
            UserRole::Sender => (false, true, Reach::granted(user, false)),
        };
        Rights {
            administers,
            sends,
            reads,
        }
    }

    /// The rights of an API key's scope.
    pub fn of_scope(scope: ApiKeyScope) -> Rights {
        Rights {
            administers: scope == ApiKeyScope::Admin,
            sends: scope >= ApiKeyScope::Send,
            reads: Reach::Every,
        }
    }

    /// Whether this caller reads at least what `granted` would: one who reads every envelope
    /// covers all; anyone may give what reads nothing of others (a sender's own envelopes, or
    /// nothing). A system administrator therefore cannot make, reset or key an account that
    /// reads others' documents — "cannot read documents" would otherwise be one invitation
    /// away. (Whether a sender is given folders or shares is asked apart, by
    /// `require_cover_of_user`, since that is not in the role.)
    pub fn covers(&self, granted: Reach) -> bool {
        matches!(
            (self.reads, granted),
            (Reach::Every, _) | (_, Reach::Nothing) | (_, Reach::Granted { unfiled: false, .. })
        )
    }

    /// Whether this caller manages groups, folders and their grants: an administrator who
    /// reads every document (giving reading is for one who has it all).
    pub fn manages_folders(&self) -> bool {
        self.administers && self.reads == Reach::Every
    }
}

/// A staff member (or an API key) acting for one organization.
#[derive(Debug, Clone)]
pub struct Staff {
    pub organization: OrganizationId,
    /// `user:<id>` or `api_key:<id>`, as the audit trail names them.
    pub actor: String,
    pub user: Option<UserId>,
    /// What an API key may do; `None` for a logged-in user (their role decides).
    pub key_scope: Option<ApiKeyScope>,
    /// The staff member an API key acts for: the sender of what it sends. Never a source of
    /// permissions (the key's scope is).
    pub on_behalf_of: Option<UserId>,
    /// What this caller may do.
    pub rights: Rights,
}

impl Staff {
    pub fn api_key(
        organization: OrganizationId,
        key: ApiKeyId,
        scope: ApiKeyScope,
        owner: Option<UserId>,
    ) -> Staff {
        Staff {
            organization,
            actor: format!("api_key:{key}"),
            user: None,
            key_scope: Some(scope),
            on_behalf_of: owner,
            rights: Rights::of_scope(scope),
        }
    }
    pub fn user(organization: OrganizationId, user: UserId, role: UserRole) -> Staff {
        Staff {
            organization,
            actor: format!("user:{user}"),
            user: Some(user),
            key_scope: None,
            on_behalf_of: Some(user),
            rights: Rights::of_role(role, user),
        }
    }

    /// Whether this caller may change things (create, send, cancel, remind, the counterparty
    /// registry).
    pub fn may_send(&self) -> bool {
        self.rights.sends
    }

    /// Refuses a caller who may not send.
    pub(crate) fn require_send(&self) -> Result<()> {
        if self.rights.sends {
            Ok(())
        } else {
            Err(ServiceError::NotAllowed(
                "この権限では封筒の作成・送信・取消や取引先の登録はできません \
                 (your role does not prepare, send or cancel envelopes, nor keep the counterparty registry)"
                    .into(),
            ))
        }
    }

    /// Refuses a caller who would give (a role, a key) or take over (a password or second
    /// factor reset) more reading than they have.
    pub(crate) fn require_cover(&self, granted: Reach) -> Result<()> {
        if self.rights.covers(granted) {
            Ok(())
        } else {
            Err(ServiceError::NotAllowed(
                "文書を閲覧できない権限では、文書を閲覧できる職員や API キーの作成・変更・リセットはできません \
                 (a role that reads no document cannot create, change or reset an account or key that reads them)"
                    .into(),
            ))
        }
    }

    /// Refuses a caller who reads no document at all (lists and searches).
    pub(crate) fn require_some_reading(&self) -> Result<()> {
        match self.rights.reads {
            Reach::Nothing => Err(ServiceError::NotAllowed(
                "この権限では文書を閲覧できません (your role does not read documents)".into(),
            )),
            Reach::Every | Reach::Granted { .. } => Ok(()),
        }
    }

    /// Refuses a caller who does not manage groups, folders and grants.
    pub(crate) fn require_folder_management(&self) -> Result<()> {
        if self.rights.manages_folders() {
            Ok(())
        } else {
            Err(ServiceError::NotAllowed(
                "グループとフォルダの設定は管理者だけができます \
                 (only an administrator who reads every document manages groups and folders)"
                    .into(),
            ))
        }
    }
}

/// A resolved link: one recipient of one envelope.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub organization: OrganizationId,
    pub envelope: EnvelopeId,
    pub recipient: RecipientId,
}

impl Inkan {
    /// The staff identity of an API key (`Authorization: Bearer inkan_…`), used from `caller`:
    /// refused outside the organization's allowed networks.
    pub async fn authenticate_api_key(&self, secret: &str, caller: &Caller) -> Result<Staff> {
        let key = self
            .store
            .api_key_by_hash(&TokenHash::of(secret.trim()))
            .await?
            .ok_or_else(|| ServiceError::Unauthenticated("unknown or revoked API key".into()))?;
        let staff = Staff::api_key(key.organization, key.id, key.scope, key.owner);
        self.admit_network(&staff, caller, "api_key").await?;
        Ok(staff)
    }

    /// Resolves a link token of `kind`. Unknown, expired, or of another kind: all "not found",
    /// so a guess learns nothing.
    pub(crate) async fn resolve_link(&self, token: &str, kind: TokenKind) -> Result<Link> {
        let not_found = ServiceError::NotFound("this link");
        if token.len() < 20 || token.len() > 200 {
            return Err(not_found);
        }
        let stored: AccessToken = self
            .store
            .token(&TokenHash::of(token))
            .await?
            .ok_or(ServiceError::NotFound("this link"))?;
        if stored.kind != kind {
            return Err(not_found);
        }
        if stored.expires_at.is_some_and(|at| at <= self.now()) {
            return Err(not_found);
        }
        let recipient = stored
            .recipient
            .ok_or(ServiceError::NotFound("this link"))?;
        Ok(Link {
            organization: stored.organization,
            envelope: stored.envelope,
            recipient,
        })
    }

    /// The token of a recipient's link: the signing link of their live generation, or the
    /// completion link (one per recipient).
    fn link_token(&self, kind: TokenKind, envelope: EnvelopeId, recipient: &Recipient) -> String {
        let generation = match kind {
            TokenKind::Signer => recipient.link_generation,
            TokenKind::Completion => 0,
        };
        self.links.token(kind, envelope, recipient.id, generation)
    }

    /// The URL of a recipient's page.
    pub(crate) fn link_url(
        &self,
        kind: TokenKind,
        envelope: EnvelopeId,
        recipient: &Recipient,
    ) -> String {
        let token = self.link_token(kind, envelope, recipient);
        match kind {
            TokenKind::Signer => format!("{}/s/{token}", self.settings.public_url),
            TokenKind::Completion => format!("{}/c/{token}", self.settings.public_url),
        }
    }

    /// The stored form of a recipient's link.
    pub(crate) fn link_record(
        &self,
        kind: TokenKind,
        organization: OrganizationId,
        envelope: EnvelopeId,
        recipient: &Recipient,
        expires_at: Option<i64>,
    ) -> AccessToken {
        AccessToken {
            hash: TokenHash::of(&self.link_token(kind, envelope, recipient)),
            kind,
            organization,
            envelope,
            recipient: Some(recipient.id),
            created_at: self.now(),
            expires_at,
        }
    }
}
