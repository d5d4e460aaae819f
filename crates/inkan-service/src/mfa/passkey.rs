//! パスキー (WebAuthn) as a second factor, over `webauthn-rs`: registered by a logged-in user,
//! used after the password instead of a code. The relying party is the server's `public_url`
//! (its host is the RP ID, so a browser needs a domain name: `localhost` works, an IP address
//! does not). The ceremony's state travels in a sealed cookie for five minutes (it holds the
//! challenge, which the browser sees anyway; the MAC keeps it unaltered), and the challenge
//! is accepted once on every node (`used_once`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use inkan_store::{StoredPasskey, User};
use serde::Serialize;
use utoipa::ToSchema;
pub use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, Url, Webauthn, WebauthnBuilder,
};

use super::PendingLogin;
use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// How long a ceremony may take in the browser.
pub const CEREMONY_SECONDS: i64 = 300;
const REGISTRATION: &str = "passkey-registration";
const AUTHENTICATION: &str = "passkey-authentication";
/// At most this many passkeys per user (a login's state lists them all, in a cookie).
const MAX_PASSKEYS: usize = 5;

/// A passkey as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What the browser needs to start a ceremony, and the cookie that remembers it.
#[derive(Debug, Clone)]
pub struct Ceremony<T> {
    pub options: T,
    pub cookie: String,
}

impl Inkan {
    /// The relying party, or why passkeys cannot work with this server's `public_url`.
    fn webauthn(&self) -> Result<Webauthn> {
        let unavailable = || {
            ServiceError::Unavailable(
                "パスキーはサーバーの URL がドメイン名のときに使えます (passkeys need the server to be reached by a domain name, not an IP address)"
                    .into(),
            )
        };
        let origin = Url::parse(&self.settings.public_url).map_err(|_| unavailable())?;
        let rp_id = origin.domain().ok_or_else(unavailable)?.to_string();
        WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name("Inkan").build())
            .map_err(|_| unavailable())
    }

    /// Whether passkeys work with this server's URL (the pages offer them only then).
    pub fn passkeys_available(&self) -> bool {
        self.webauthn().is_ok()
    }

    /// The logged-in user's passkeys.
    pub async fn passkeys(&self, staff: &Staff) -> Result<Vec<PasskeyView>> {
        let user = self.staff_user(staff).await?;
        Ok(self
            .store
            .passkeys(user.id)
            .await?
            .into_iter()
            .map(|p| PasskeyView {
                id: p.id,
                name: p.name,
                created_at: p.created_at,
                last_used_at: p.last_used_at,
            })
            .collect())
    }

    /// Starts registering a passkey for the logged-in user.
    pub async fn start_passkey_registration(
        &self,
        staff: &Staff,
    ) -> Result<Ceremony<CreationChallengeResponse>> {
        let user = self.staff_user(staff).await?;
        self.start_registration_for(&user).await
    }

    /// Starts registering a passkey on a pending login (the organization requires MFA and the
    /// user has none yet).
    pub async fn start_passkey_registration_at_login(
        &self,
        pending: &PendingLogin,
    ) -> Result<Ceremony<CreationChallengeResponse>> {
        let (_, user) = self.pending_user(pending).await?;
        self.start_registration_for(&user).await
    }

    async fn start_registration_for(
        &self,
        user: &User,
    ) -> Result<Ceremony<CreationChallengeResponse>> {
        let webauthn = self.webauthn()?;
        let existing = self.user_passkeys(user).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(ServiceError::Invalid(format!(
                "パスキーは {MAX_PASSKEYS} 個まで登録できます (at most {MAX_PASSKEYS} passkeys)"
            )));
        }
        let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
        let (options, state) = webauthn
            .start_passkey_registration(
                user.id.as_uuid(),
                user.email.as_str(),
                &user.name,
                Some(exclude),
            )
            .map_err(|e| ServiceError::failed("passkey registration", e))?;
        let cookie = self.seal_state(REGISTRATION, user, &state)?;
        Ok(Ceremony { options, cookie })
    }

    /// Finishes a registration with the browser's answer, under `name`.
    pub async fn finish_passkey_registration(
        &self,
        staff: &Staff,
        caller: &Caller,
        cookie: &str,
        name: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<PasskeyView> {
        let user = self.staff_user(staff).await?;
        self.finish_registration_for(staff, &user, caller, cookie, name, credential)
            .await
    }

    /// Finishes a registration on a pending login: the passkey is the user's second factor
    /// from now on, and the login is complete (the session's identity).
    pub async fn finish_passkey_registration_at_login(
        &self,
        pending: &PendingLogin,
        caller: &Caller,
        cookie: &str,
        name: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<Staff> {
        let (staff, user) = self.pending_user(pending).await?;
        self.admit_network(&staff, caller, "login").await?;
        self.finish_registration_for(&staff, &user, caller, cookie, name, credential)
            .await?;
        self.record(
            &staff,
            caller,
            "login",
            serde_json::json!({ "email": user.email.to_string(), "mfa": "passkey_enrolled" }),
        )
        .await?;
        Ok(staff)
    }

    async fn finish_registration_for(
        &self,
        staff: &Staff,
        user: &User,
        caller: &Caller,
        cookie: &str,
        name: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<PasskeyView> {
        let webauthn = self.webauthn()?;
        let state: PasskeyRegistration = self.open_state(REGISTRATION, user, cookie).await?;
        let passkey = webauthn
            .finish_passkey_registration(credential, &state)
            .map_err(|e| {
                ServiceError::Invalid(format!(
                    "パスキーを登録できませんでした (the passkey was not registered): {e}"
                ))
            })?;
        let name = inkan_domain::text::line("パスキーの名前 (passkey name)", name, 100)?;
        let stored = StoredPasskey {
            id: uuid::Uuid::new_v4().to_string(),
            user: user.id,
            name: if name.is_empty() {
                "パスキー".into()
            } else {
                name
            },
            credential: serde_json::to_string(&passkey)
                .map_err(|e| ServiceError::failed("the passkey ceremony", e))?,
            created_at: self.now(),
            last_used_at: None,
        };
        self.store.add_passkey(&stored).await?;
        self.record(
            staff,
            caller,
            "passkey_added",
            serde_json::json!({ "passkey": stored.id, "name": stored.name }),
        )
        .await?;
        Ok(PasskeyView {
            id: stored.id,
            name: stored.name,
            created_at: stored.created_at,
            last_used_at: None,
        })
    }

    /// Removes one of the logged-in user's passkeys. Refused when it is their last second
    /// factor and the organization requires one.
    pub async fn remove_passkey(&self, staff: &Staff, caller: &Caller, id: &str) -> Result<()> {
        let user = self.staff_user(staff).await?;
        let left = self.store.passkeys(user.id).await?.len();
        if left <= 1
            && user.totp_secret.is_none()
            && self
                .organization_record(staff.organization)
                .await?
                .mfa_required
        {
            return Err(ServiceError::NotAllowed(
                "この組織では多要素認証が必須のため、最後のパスキーは削除できません \
                 (your organization requires MFA: the last passkey cannot be removed)"
                    .into(),
            ));
        }
        if !self.store.remove_passkey(user.id, id).await? {
            return Err(ServiceError::NotFound("the passkey"));
        }
        self.record(
            staff,
            caller,
            "passkey_removed",
            serde_json::json!({ "passkey": id }),
        )
        .await
    }

    /// Starts the passkey step of a pending login (after the right password).
    pub async fn start_passkey_login(
        &self,
        pending: &PendingLogin,
    ) -> Result<Ceremony<RequestChallengeResponse>> {
        let webauthn = self.webauthn()?;
        let (_, user) = self.pending_user(pending).await?;
        let passkeys: Vec<Passkey> = self
            .user_passkeys(&user)
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if passkeys.is_empty() {
            return Err(ServiceError::Invalid(
                "パスキーが登録されていません (no passkey is registered)".into(),
            ));
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| ServiceError::failed("passkey authentication", e))?;
        let cookie = self.seal_state(AUTHENTICATION, &user, &state)?;
        Ok(Ceremony { options, cookie })
    }

    /// Completes a pending login with the browser's passkey answer. A wrong answer counts like
    /// a wrong code (five lock the second factor for fifteen minutes).
    pub async fn finish_passkey_login(
        &self,
        pending: &PendingLogin,
        caller: &Caller,
        cookie: &str,
        credential: &PublicKeyCredential,
    ) -> Result<Staff> {
        let webauthn = self.webauthn()?;
        let (staff, user) = self.pending_user(pending).await?;
        self.admit_network(&staff, caller, "login").await?;
        self.refuse_if_mfa_locked(&user).await?;
        let state: PasskeyAuthentication = self.open_state(AUTHENTICATION, &user, cookie).await?;
        let result = match webauthn.finish_passkey_authentication(credential, &state) {
            Ok(r) => r,
            Err(_) => {
                self.count_wrong_mfa_code(&staff, &user, caller).await?;
                return Err(ServiceError::Unauthenticated(
                    "パスキーを確認できませんでした (the passkey was not accepted)".into(),
                ));
            }
        };
        let mut used = None;
        for (stored, mut passkey) in self.user_passkeys(&user).await? {
            if passkey.update_credential(&result).is_some() {
                let credential = serde_json::to_string(&passkey)
                    .map_err(|e| ServiceError::failed("the passkey ceremony", e))?;
                self.store
                    .touch_passkey(user.id, &stored.id, &credential, self.now())
                    .await?;
                used = Some(stored.id);
            }
        }
        self.record(
            &staff,
            caller,
            "login",
            serde_json::json!({ "email": user.email.to_string(), "mfa": "passkey", "passkey": used }),
        )
        .await?;
        Ok(staff)
    }

    /// Whether the user has a passkey (the login then asks for a second factor).
    pub(crate) async fn has_passkey(&self, user: &User) -> Result<bool> {
        Ok(!self.store.passkeys(user.id).await?.is_empty())
    }

    async fn user_passkeys(&self, user: &User) -> Result<Vec<(StoredPasskey, Passkey)>> {
        self.store
            .passkeys(user.id)
            .await?
            .into_iter()
            .map(|stored| {
                let passkey: Passkey = serde_json::from_str(&stored.credential)
                    .map_err(|e| ServiceError::failed(format!("passkey {}", stored.id), e))?;
                Ok((stored, passkey))
            })
            .collect()
    }

    /// A ceremony's state, sealed for `purpose` and bound to the user and their session
    /// generation.
    fn seal_state<T: Serialize>(&self, purpose: &str, user: &User, state: &T) -> Result<String> {
        let json = serde_json::to_vec(state)
            .map_err(|e| ServiceError::failed("the passkey ceremony", e))?;
        Ok(self.seal_cookie(
            purpose,
            &[
                user.id.to_string(),
                user.session_generation.to_string(),
                URL_SAFE_NO_PAD.encode(json),
            ],
            CEREMONY_SECONDS,
        ))
    }

    /// The state of a ceremony begun by this user, used once.
    async fn open_state<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        user: &User,
        cookie: &str,
    ) -> Result<T> {
        let expired = || {
            ServiceError::Gone(
                "パスキーの手続きの期限が切れました。もう一度お試しください (the passkey step expired; try again)"
                    .into(),
            )
        };
        let fields = self.open_cookie(purpose, cookie, 3).ok_or_else(expired)?;
        if fields[0] != user.id.to_string() || fields[1] != user.session_generation.to_string() {
            return Err(expired());
        }
        // Keyed by the state's hash: one challenge, accepted once.
        let once = URL_SAFE_NO_PAD.encode(inkan_store::TokenHash::of(&fields[2]).0);
        if !self
            .store
            .use_once(purpose, &once, self.now() + CEREMONY_SECONDS, self.now())
            .await?
        {
            return Err(expired());
        }
        let json = URL_SAFE_NO_PAD.decode(&fields[2]).map_err(|_| expired())?;
        serde_json::from_slice(&json).map_err(|_| expired())
    }
}
