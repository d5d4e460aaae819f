//! シングルサインオン: OpenID Connect login per organization (authorization code flow with
//! PKCE, state and nonce, over the `openidconnect` crate), users provisioned on their first
//! login for the organization's email domains, and "SSO required" turning password login off.
//!
//! Nothing of a login in progress is stored: its state, nonce and PKCE verifier travel in a
//! sealed, ten-minute cookie (MAC'd with the link key, so it cannot be forged), and each state
//! is accepted once on every node (`used_once`), so a replayed callback is refused even with
//! its cookie. The provider's answer is believed only after the token endpoint (reached with
//! the client secret and the PKCE verifier, through the egress policy) returns an ID token
//! whose signature, issuer, audience, expiry and nonce `openidconnect` verifies against the
//! provider's published keys, at Inkan's clock. Every refusal is audited with its reason.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use inkan_domain::{Email, OrganizationId, UserId};
use inkan_store::{SsoProvider, User, UserRole};
use openidconnect::core::{CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secrets::Stored;
use crate::{Caller, Inkan, Reach, Result, ServiceError, Staff};

/// How long a login may take at the provider.
pub const SSO_LOGIN_SECONDS: i64 = 600;
const SSO_COOKIE: &str = "sso-login";
/// At most this many email domains per organization.
const MAX_DOMAINS: usize = 20;

/// An organization's single sign-on as its administrators see it (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub domains: Vec<String>,
    /// Password login is off for the organization.
    pub required: bool,
    /// The redirect URI to register at the provider.
    pub callback_url: String,
}

/// Single sign-on to set: the provider, the client, the email domains.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SsoInput {
    /// `https://login.example.jp/realms/city`: discovery is at
    /// `/.well-known/openid-configuration` under it.
    pub issuer: String,
    pub client_id: String,
    /// The client secret; empty or absent keeps the one already set.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The email domains whose users log in through it: `city.morioka.lg.jp`.
    pub domains: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

/// Where to send the browser to log in, and the cookie that remembers the login.
#[derive(Debug, Clone)]
pub struct SsoStart {
    pub redirect: String,
    pub cookie: String,
}

/// Why a callback was refused, as the audit trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The state in the callback is not the one this browser's login sent.
    State,
    /// The callback was used already.
    Replayed,
    /// The provider answered with an error instead of a code.
    ProviderError,
    /// The token endpoint refused the code (or could not be reached).
    TokenExchange,
    /// The ID token is not valid: signature, issuer, audience, expiry or nonce.
    IdToken,
    /// No email, or one the provider has not verified, or one outside the domains.
    Email,
    /// The email is a user of another organization, or a disabled one.
    User,
}

impl Refusal {
    /// The reason as the login page tells it.
    fn japanese(self) -> &'static str {
        match self {
            Refusal::State => "この手続きはこのブラウザで始められたものではありません",
            Refusal::Replayed => "この応答は使用済みです",
            Refusal::ProviderError => "認証基盤がエラーを返しました",
            Refusal::TokenExchange => "認証基盤がコードを受け付けませんでした",
            Refusal::IdToken => "認証基盤の ID トークンが正しくありません",
            Refusal::Email => "確認済みの組織のメールアドレスがありません",
            Refusal::User => "このメールアドレスの職員はこの組織でログインできません",
        }
    }

    fn english(self) -> &'static str {
        match self {
            Refusal::State => "this sign-in did not begin in this browser",
            Refusal::Replayed => "this answer was used already",
            Refusal::ProviderError => "the provider answered with an error",
            Refusal::TokenExchange => "the provider did not accept the code",
            Refusal::IdToken => "the provider's ID token is not valid",
            Refusal::Email => "no verified email of the organization",
            Refusal::User => "this email's user cannot sign in to this organization",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Refusal::State => "state_mismatch",
            Refusal::Replayed => "replayed_callback",
            Refusal::ProviderError => "provider_error",
            Refusal::TokenExchange => "token_exchange",
            Refusal::IdToken => "id_token",
            Refusal::Email => "email",
            Refusal::User => "user",
        }
    }
}

impl Inkan {
    /// The redirect URI providers are told (`<public_url>/login/sso/callback`).
    pub fn sso_callback_url(&self) -> String {
        format!("{}/login/sso/callback", self.settings.public_url)
    }

    /// The organization's single sign-on, if set (administrators).
    pub async fn sso_settings(&self, staff: &Staff) -> Result<Option<SsoSettings>> {
        self.require_admin(staff).await?;
        Ok(self
            .store
            .sso_provider(staff.organization)
            .await?
            .map(|p| SsoSettings {
                issuer: p.issuer,
                client_id: p.client_id,
                domains: p.domains,
                required: p.required,
                callback_url: self.sso_callback_url(),
            }))
    }

    /// Sets the organization's single sign-on. Only an administrator who reads everything
    /// (whoever chooses the provider chooses who logs in as whom). The provider must be
    /// reachable under the egress policy; a domain another organization has is refused.
    pub async fn set_sso(
        &self,
        staff: &Staff,
        caller: &Caller,
        input: &SsoInput,
    ) -> Result<SsoSettings> {
        self.require_admin(staff).await?;
        staff.require_cover(Reach::Every)?;
        let issuer = input.issuer.trim().trim_end_matches('/').to_string();
        IssuerUrl::new(issuer.clone()).map_err(|e| {
            ServiceError::Invalid(format!(
                "発行者 URL が正しくありません (not an issuer URL): {e}"
            ))
        })?;
        self.settings.sso_egress.check(&issuer).map_err(|e| {
            ServiceError::Invalid(format!(
                "この発行者 URL には接続できません (the issuer cannot be reached under the egress policy): {e}"
            ))
        })?;
        let client_id = inkan_domain::text::required_line(
            "クライアント ID (client ID)",
            &input.client_id,
            200,
        )?;
        let domains = email_domains(&input.domains)?;
        let before = self.store.sso_provider(staff.organization).await?;
        let client_secret = match input.client_secret.as_deref().map(str::trim) {
            Some(secret) if !secret.is_empty() => {
                self.seal_client_secret(staff.organization, secret).await?
            }
            _ => before
                .as_ref()
                .map(|p| p.client_secret.clone())
                .ok_or_else(|| {
                    ServiceError::Invalid(
                        "クライアントシークレットを入力してください (the client secret is required)"
                            .into(),
                    )
                })?,
        };
        let provider = SsoProvider {
            organization: staff.organization,
            issuer,
            client_id,
            client_secret,
            domains,
            required: input.required,
            updated_at: self.now(),
        };
        self.store
            .set_sso_provider(&provider)
            .await
            .map_err(|e| match e {
                inkan_store::StoreError::Duplicate(what) => ServiceError::Invalid(format!(
                    "{what} は他の組織が使っています (another organization has it)"
                )),
                other => other.into(),
            })?;
        self.record(
            staff,
            caller,
            "sso_changed",
            serde_json::json!({
                "before": before.as_ref().map(audit_view),
                "after": audit_view(&provider),
                "secret_changed": input.client_secret.as_deref().is_some_and(|s| !s.trim().is_empty()),
            }),
        )
        .await?;
        Ok(SsoSettings {
            issuer: provider.issuer,
            client_id: provider.client_id,
            domains: provider.domains,
            required: provider.required,
            callback_url: self.sso_callback_url(),
        })
    }

    /// Turns single sign-on off (password login works again for those with a password).
    pub async fn remove_sso(&self, staff: &Staff, caller: &Caller) -> Result<()> {
        self.require_admin(staff).await?;
        staff.require_cover(Reach::Every)?;
        if self.store.remove_sso_provider(staff.organization).await? {
            self.record(staff, caller, "sso_removed", serde_json::json!({}))
                .await?;
        }
        Ok(())
    }

    /// Whether password login is off for the user's organization.
    pub(crate) async fn password_login_off(&self, org: OrganizationId) -> Result<bool> {
        Ok(self
            .store
            .sso_provider(org)
            .await?
            .is_some_and(|p| p.required))
    }

    /// Starts a login through the provider of `email`'s domain: where to send the browser, and
    /// the cookie remembering the login (`next` must already be a local path).
    pub async fn start_sso(&self, email: &str, next: &str) -> Result<SsoStart> {
        let not_set = || {
            ServiceError::Invalid(
                "このメールアドレスのドメインにはシングルサインオンが設定されていません \
                 (no single sign-on is set for this email's domain)"
                    .into(),
            )
        };
        let domain = email
            .trim()
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .ok_or_else(not_set)?;
        let provider = self
            .store
            .sso_provider_for_domain(&domain)
            .await?
            .ok_or_else(not_set)?;
        let client = self.oidc_client(&provider).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let cookie = self.seal_cookie(
            SSO_COOKIE,
            &[
                provider.organization.to_string(),
                state.secret().clone(),
                nonce.secret().clone(),
                verifier.secret().clone(),
                URL_SAFE_NO_PAD.encode(next),
            ],
            SSO_LOGIN_SECONDS,
        );
        Ok(SsoStart {
            redirect: url.to_string(),
            cookie,
        })
    }

    /// Finishes a login at the callback: the staff identity, and where to go (`next`). Every
    /// refusal after the cookie names the organization is audited as `sso_refused`.
    pub async fn finish_sso(
        &self,
        cookie: &str,
        callback: &SsoCallback,
        caller: &Caller,
    ) -> Result<(Staff, String)> {
        let expired = || {
            ServiceError::Unauthenticated(
                "シングルサインオンの手続きの期限が切れたか、別のブラウザで始められました。もう一度ログインしてください \
                 (the single sign-on login expired or began in another browser; please log in again)"
                    .into(),
            )
        };
        let fields = self
            .open_cookie(SSO_COOKIE, cookie, 5)
            .ok_or_else(expired)?;
        let org: OrganizationId = fields[0].parse().map_err(|_| expired())?;
        let next = URL_SAFE_NO_PAD
            .decode(&fields[4])
            .ok()
            .and_then(|n| String::from_utf8(n).ok())
            .unwrap_or_else(|| "/app".into());
        let refuse = |refusal: Refusal, detail: String| async move {
            tracing::warn!(organization = %org, reason = refusal.name(), %detail, "single sign-on refused");
            self.append_audit(self.audit_entry(
                org,
                "system",
                "sso_refused",
                None,
                None,
                caller,
                serde_json::json!({ "reason": refusal.name(), "detail": detail }),
            ))
            .await?;
            Err::<(Staff, String), ServiceError>(ServiceError::Unauthenticated(format!(
                "シングルサインオンでログインできませんでした（{}） (single sign-on did not succeed: {})",
                refusal.japanese(),
                refusal.english()
            )))
        };
        if let Some(error) = &callback.error {
            return refuse(Refusal::ProviderError, error.chars().take(200).collect()).await;
        }
        let state = callback.state.as_deref().unwrap_or("");
        if !constant_time_eq(state.as_bytes(), fields[1].as_bytes()) {
            return refuse(Refusal::State, String::new()).await;
        }
        if !self
            .store
            .use_once(
                SSO_COOKIE,
                state,
                self.now() + SSO_LOGIN_SECONDS,
                self.now(),
            )
            .await?
        {
            return refuse(Refusal::Replayed, String::new()).await;
        }
        let provider = self.store.sso_provider(org).await?.ok_or_else(expired)?;
        let client = self.oidc_client(&provider).await?;
        let code = AuthorizationCode::new(callback.code.clone().unwrap_or_default());
        let request = match client.exchange_code(code) {
            Ok(r) => r.set_pkce_verifier(PkceCodeVerifier::new(fields[3].clone())),
            Err(e) => return refuse(Refusal::TokenExchange, e.to_string()).await,
        };
        let http = self.settings.sso_egress.client();
        let tokens = match request.request_async(&http).await {
            Ok(t) => t,
            Err(e) => return refuse(Refusal::TokenExchange, error_chain(&e)).await,
        };
        let Some(id_token) = tokens.id_token() else {
            return refuse(Refusal::IdToken, "no ID token".into()).await;
        };
        let now = self.now();
        let verifier = client
            .id_token_verifier()
            .set_time_fn(move || chrono::DateTime::from_timestamp(now, 0).unwrap_or_default());
        let claims: CoreIdTokenClaims =
            match id_token.claims(&verifier, &Nonce::new(fields[2].clone())) {
                Ok(c) => c.clone(),
                Err(e) => return refuse(Refusal::IdToken, e.to_string()).await,
            };
        // The email is in the ID token, or (as providers that follow the core specification
        // strictly send it) at the UserInfo endpoint, for the same subject.
        let (email, verified) = match claims.email() {
            Some(email) => (Some(email.as_str().to_string()), claims.email_verified()),
            None => {
                let request = match client.user_info(
                    tokens.access_token().clone(),
                    Some(claims.subject().clone()),
                ) {
                    Ok(r) => r,
                    Err(e) => return refuse(Refusal::Email, e.to_string()).await,
                };
                let info: openidconnect::core::CoreUserInfoClaims =
                    match request.request_async(&http).await {
                        Ok(info) => info,
                        Err(e) => return refuse(Refusal::Email, error_chain(&e)).await,
                    };
                (
                    info.email().map(|e| e.as_str().to_string()),
                    info.email_verified(),
                )
            }
        };
        let email = match verified_email(email, verified, &provider) {
            Ok(email) => email,
            Err(why) => return refuse(Refusal::Email, why).await,
        };
        let user = match self.sso_user(&provider, &email, &claims, caller).await? {
            Ok(user) => user,
            Err(why) => return refuse(Refusal::User, why).await,
        };
        let staff = Staff::user(user.organization, user.id, user.role);
        self.admit_network(&staff, caller, "login").await?;
        self.record(
            &staff,
            caller,
            "login",
            serde_json::json!({ "email": user.email.to_string(), "method": "sso" }),
        )
        .await?;
        Ok((staff, next))
    }

    /// The user an SSO login is for: the organization's own (active), or one made now; an
    /// email of another organization is refused (`Err` inside: the reason).
    async fn sso_user(
        &self,
        provider: &SsoProvider,
        email: &Email,
        claims: &CoreIdTokenClaims,
        caller: &Caller,
    ) -> Result<std::result::Result<User, String>> {
        if let Some(user) = self.store.user_by_email(email.as_str()).await? {
            if user.organization != provider.organization {
                return Ok(Err("the email is a user of another organization".into()));
            }
            if user.disabled_at.is_some() {
                return Ok(Err("the user is disabled".into()));
            }
            return Ok(Ok(user));
        }
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_string());
        let name = inkan_domain::text::required_line("氏名 (name)", &name, 100)
            .unwrap_or_else(|_| email.as_str().to_string());
        let user = User {
            id: UserId::new(),
            organization: provider.organization,
            department: None,
            name,
            email: email.clone(),
            // The least reading: their own envelopes, until an administrator gives more.
            role: UserRole::Sender,
            password_hash: None,
            created_at: self.now(),
            session_generation: 0,
            disabled_at: None,
            totp_secret: None,
            totp_last_step: None,
        };
        self.store.create_user(&user).await?;
        self.append_audit(self.audit_entry(
            provider.organization,
            "system",
            "user_provisioned",
            None,
            None,
            caller,
            serde_json::json!({
                "user": user.id, "email": user.email.to_string(), "role": user.role.name(),
                "issuer": provider.issuer,
            }),
        ))
        .await?;
        Ok(Ok(user))
    }

    /// The provider's client, from its discovery document (fetched through the egress policy).
    async fn oidc_client(
        &self,
        provider: &SsoProvider,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
    > {
        // The cause goes to the log; the login page says only what happened.
        let unreachable = |e: String| {
            tracing::warn!(organization = %provider.organization, issuer = %provider.issuer, error = %e,
                "the single sign-on provider cannot be reached");
            ServiceError::Unavailable(
                "シングルサインオンの提供者に接続できません。しばらくしてからもう一度お試しください \
                 (the single sign-on provider cannot be reached; please try again later)"
                    .into(),
            )
        };
        let issuer =
            IssuerUrl::new(provider.issuer.clone()).map_err(|e| unreachable(e.to_string()))?;
        let http = self.settings.sso_egress.client();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| unreachable(error_chain(&e)))?;
        let secret = self.client_secret(provider).await?;
        let redirect = RedirectUrl::new(self.sso_callback_url())
            .map_err(|e| ServiceError::failed("single sign-on", e))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect))
    }

    async fn seal_client_secret(&self, org: OrganizationId, secret: &str) -> Result<String> {
        self.seal_text(&secret_context(org), secret.as_bytes())
            .await
    }

    async fn client_secret(&self, provider: &SsoProvider) -> Result<String> {
        let corrupt = |why: String| {
            ServiceError::failed(
                format!("organization {}: SSO client secret", provider.organization),
                why,
            )
        };
        match self
            .open_text(
                &secret_context(provider.organization),
                &provider.client_secret,
            )
            .await?
        {
            Stored::Opened(plain) => String::from_utf8(plain).map_err(|e| corrupt(e.to_string())),
            Stored::Clear => Err(corrupt("not sealed".into())),
        }
    }
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SsoCallback {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// What an organization's sealed client secret is bound to.
fn secret_context(org: OrganizationId) -> String {
    format!("org/{org}/sso/client-secret")
}

/// What the audit trail keeps of a provider (never the secret).
fn audit_view(p: &SsoProvider) -> serde_json::Value {
    serde_json::json!({
        "issuer": p.issuer, "client_id": p.client_id, "domains": p.domains, "required": p.required,
    })
}

/// The provider's email for the user, if it verified it and its domain is one of the organization's.
fn verified_email(
    email: Option<String>,
    verified: Option<bool>,
    provider: &SsoProvider,
) -> std::result::Result<Email, String> {
    let email = email.ok_or("the provider gave no email")?;
    if verified != Some(true) {
        return Err(format!("the provider has not verified {email}"));
    }
    let parsed: Email = email
        .parse()
        .map_err(|_| format!("{email:?} is not an email address"))?;
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    if !provider.domains.contains(&domain) {
        return Err(format!("{domain} is not one of the organization's domains"));
    }
    Ok(parsed)
}

/// Lower-case, unique email domains, each a plausible host name.
fn email_domains(given: &[String]) -> Result<Vec<String>> {
    let mut domains: Vec<String> = Vec::new();
    for d in given {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() {
            continue;
        }
        let plausible = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !plausible {
            return Err(ServiceError::Invalid(format!(
                "メールのドメイン {d:?} が正しくありません (not an email domain)"
            )));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    if domains.is_empty() || domains.len() > MAX_DOMAINS {
        return Err(ServiceError::Invalid(format!(
            "メールのドメインを 1〜{MAX_DOMAINS} 個指定してください (give 1 to {MAX_DOMAINS} email domains)"
        )));
    }
    Ok(domains)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Compares without an early exit, so timing does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_case_unique_and_plausible() {
        let d = email_domains(&[
            "City.Morioka.LG.JP".into(),
            "@city.morioka.lg.jp".into(),
            " example.jp ".into(),
        ])
        .unwrap();
        assert_eq!(d, ["city.morioka.lg.jp", "example.jp"]);
        for bad in ["localhost", "a..jp", "ex ample.jp", "例え.jp", "x.jp/evil"] {
            assert!(email_domains(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(email_domains(&[]).is_err());
    }
}
