//! 多要素認証 for staff: a code from an authenticator app (TOTP) after the password, or one
//! of ten recovery codes printed at enrolment.
//!
//! A right password for a user with an authenticator does not open a session: it gives a
//! short-lived pending login (a sealed cookie naming the user and their session generation),
//! and only a right code turns it into a session. When the organization requires MFA, a user
//! without an authenticator enrols on that same pending login before any session exists.
//!
//! Each code is accepted once (the store moves the user's last accepted step atomically, on
//! every node), with one step of clock skew either way. Wrong codes count against the user:
//! five in fifteen minutes lock their codes for fifteen minutes, and every wrong code is in the
//! audit trail. The secret is kept sealed under the master key, bound to its user; recovery
//! codes are kept as hashes.

pub mod passkey;
mod totp;

use inkan_domain::{OrganizationId, UserId};
use inkan_store::{AttemptLimit, TokenHash, User, UserChange};
use serde::Serialize;

pub use totp::{TotpSecret, DIGITS, STEP_SECONDS};

use crate::japan::format_slash_jst;
use crate::secrets::Stored;
use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// How long a right password waits for its code.
const PENDING_SECONDS: i64 = 10 * 60;
const PENDING: &str = "mfa-pending";
/// Recovery codes made at each enrolment.
const RECOVERY_CODES: usize = 10;
/// Wrong codes per user: five in fifteen minutes, then fifteen minutes without.
const WRONG_CODES: AttemptLimit = AttemptLimit {
    failures: 5,
    window: 900,
    lock: 900,
};
const WRONG_CODE_SCOPE: &str = "staff-mfa";
/// The issuer an authenticator app lists the account under.
const ISSUER: &str = "Inkan";

/// What a right password leads to.
#[derive(Debug)]
pub enum LoginStep {
    /// Logged in (no second factor for this user, and none required).
    Done(Staff),
    /// A code from the user's authenticator (or a recovery code) comes next.
    Code(PendingLogin),
    /// The organization requires MFA and the user has no authenticator: enrol first.
    Enrol(PendingLogin),
}

impl LoginStep {
    /// The staff member, when the login is complete.
    pub fn done(self) -> Option<Staff> {
        match self {
            LoginStep::Done(staff) => Some(staff),
            LoginStep::Code(_) | LoginStep::Enrol(_) => None,
        }
    }
}

/// A right password waiting for its second factor: a sealed cookie value, short-lived.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingLogin(String);

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingLogin(…)")
    }
}

impl PendingLogin {
    /// The cookie value.
    pub fn cookie(&self) -> &str {
        &self.0
    }
    /// The pending login of a cookie (checked when used).
    pub fn from_cookie(value: &str) -> PendingLogin {
        PendingLogin(value.to_string())
    }
    /// How long the cookie lives.
    pub const SECONDS: i64 = PENDING_SECONDS;
}

/// An authenticator about to be enrolled: what the enrolment page shows.
#[derive(Debug, Clone)]
pub struct TotpOffer {
    /// The new secret in base32, for typing by hand.
    pub secret: String,
    /// The `otpauth://` URI, for the QR code.
    pub uri: String,
}

/// Where a user's second factor stands, for their account page.
#[derive(Debug, Clone, Serialize)]
pub struct MfaStatus {
    pub enrolled: bool,
    pub recovery_codes_left: u32,
    /// The organization requires MFA (an enrolled user cannot remove theirs).
    pub required: bool,
}

impl Inkan {
    /// The step after a right password for `user`: a session, or a pending login.
    pub(crate) async fn second_factor_step(&self, staff: Staff, user: &User) -> Result<LoginStep> {
        let required = self
            .organization_record(staff.organization)
            .await?
            .mfa_required;
        let has_passkey = self.has_passkey(user).await?;
        if user.totp_secret.is_none() && !has_passkey && !required {
            return Ok(LoginStep::Done(staff));
        }
        let pending = PendingLogin(self.seal_cookie(
            PENDING,
            &[
                user.organization.to_string(),
                user.id.to_string(),
                user.session_generation.to_string(),
            ],
            PENDING_SECONDS,
        ));
        Ok(if user.totp_secret.is_some() || has_passkey {
            LoginStep::Code(pending)
        } else {
            LoginStep::Enrol(pending)
        })
    }

    /// The user of a pending login: refused when forged, expired, or when the user's sessions
    /// were ended since (a new password, disabling).
    async fn pending_user(&self, pending: &PendingLogin) -> Result<(Staff, User)> {
        let expired = || {
            ServiceError::Gone(
                "ログインの有効期限が切れました。もう一度ログインしてください \
                 (the login has expired; log in again)"
                    .into(),
            )
        };
        let fields = self
            .open_cookie(PENDING, &pending.0, 3)
            .ok_or_else(expired)?;
        let org: OrganizationId = fields[0].parse().map_err(|_| expired())?;
        let id: UserId = fields[1].parse().map_err(|_| expired())?;
        let generation: i64 = fields[2].parse().map_err(|_| expired())?;
        let user = self.store.user(org, id).await?.ok_or_else(expired)?;
        if user.disabled_at.is_some() || user.session_generation != generation {
            return Err(expired());
        }
        Ok((Staff::user(org, id, user.role), user))
    }

    /// The email of a pending login's user (the code page names whose code it asks for).
    pub async fn pending_login_email(&self, pending: &PendingLogin) -> Result<String> {
        Ok(self.pending_user(pending).await?.1.email.to_string())
    }

    /// Completes a pending login with a code from the authenticator or a recovery code.
    pub async fn complete_login(
        &self,
        pending: &PendingLogin,
        code: &str,
        caller: &Caller,
    ) -> Result<Staff> {
        let (staff, user) = self.pending_user(pending).await?;
        self.admit_network(&staff, caller, "login").await?;
        let method = self.check_code(&staff, &user, code, caller).await?;
        self.record(
            &staff,
            caller,
            "login",
            serde_json::json!({ "email": user.email.to_string(), "mfa": method }),
        )
        .await?;
        Ok(staff)
    }

    /// A new secret to enrol, labelled with the user's email in the authenticator app.
    pub fn offer_totp(&self, user_email: &str) -> TotpOffer {
        let secret = TotpSecret::random();
        TotpOffer {
            uri: secret.otpauth_uri(ISSUER, user_email),
            secret: secret.base32(),
        }
    }

    /// The offer of `secret` again (after a mistyped code: the app may hold it already);
    /// `None` when it is not a secret.
    pub fn reoffer_totp(&self, secret: &str, user_email: &str) -> Option<TotpOffer> {
        let secret = TotpSecret::from_base32(secret)?;
        Some(TotpOffer {
            uri: secret.otpauth_uri(ISSUER, user_email),
            secret: secret.base32(),
        })
    }

    /// Enrols the logged-in user's authenticator: `secret` as offered, `code` read from the
    /// app to prove it holds the secret. The recovery codes, shown once.
    pub async fn enrol_totp(
        &self,
        staff: &Staff,
        caller: &Caller,
        secret: &str,
        code: &str,
    ) -> Result<Vec<String>> {
        let user = self.staff_user(staff).await?;
        self.enrol(staff, &user, caller, secret, code).await
    }

    /// Enrols on a pending login (the organization requires MFA): the session, and the
    /// recovery codes to show once.
    pub async fn enrol_totp_at_login(
        &self,
        pending: &PendingLogin,
        caller: &Caller,
        secret: &str,
        code: &str,
    ) -> Result<(Staff, Vec<String>)> {
        let (staff, user) = self.pending_user(pending).await?;
        self.admit_network(&staff, caller, "login").await?;
        let codes = self.enrol(&staff, &user, caller, secret, code).await?;
        self.record(
            &staff,
            caller,
            "login",
            serde_json::json!({ "email": user.email.to_string(), "mfa": "enrolled" }),
        )
        .await?;
        Ok((staff, codes))
    }

    async fn enrol(
        &self,
        staff: &Staff,
        user: &User,
        caller: &Caller,
        secret: &str,
        code: &str,
    ) -> Result<Vec<String>> {
        let secret = TotpSecret::from_base32(secret).ok_or_else(|| {
            ServiceError::Invalid(
                "認証アプリの秘密鍵が読み取れません。画面を読み込み直してください \
                 (the authenticator secret is not readable; reload the page)"
                    .into(),
            )
        })?;
        self.refuse_if_mfa_locked(user).await?;
        let Some(step) = secret.step_of(code, self.now()) else {
            self.count_wrong_mfa_code(staff, user, caller).await?;
            return Err(wrong_code());
        };
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| totp::new_recovery_code())
            .collect();
        let hashes: Vec<TokenHash> = codes.iter().map(|c| TokenHash::of(c)).collect();
        let sealed = self.seal_totp_secret(user, &secret).await?;
        self.store
            .set_totp(user.organization, user.id, Some(&sealed), &hashes)
            .await?;
        // The code that proved the app cannot log in as well.
        self.store
            .accept_totp_step(user.organization, user.id, step)
            .await?;
        self.record(staff, caller, "mfa_enrolled", serde_json::json!({}))
            .await?;
        Ok(codes)
    }

    /// The logged-in user's second factor.
    pub async fn mfa_status(&self, staff: &Staff) -> Result<MfaStatus> {
        let user = self.staff_user(staff).await?;
        Ok(MfaStatus {
            enrolled: user.totp_secret.is_some(),
            recovery_codes_left: self.store.recovery_codes_left(user.id).await?,
            required: self
                .organization_record(staff.organization)
                .await?
                .mfa_required,
        })
    }

    /// Removes the logged-in user's authenticator, with a current code as proof; refused when
    /// the organization requires MFA.
    pub async fn remove_totp(&self, staff: &Staff, caller: &Caller, code: &str) -> Result<()> {
        let user = self.staff_user(staff).await?;
        if self
            .organization_record(staff.organization)
            .await?
            .mfa_required
        {
            return Err(ServiceError::NotAllowed(
                "この組織では多要素認証が必須のため、解除できません \
                 (your organization requires MFA, so it cannot be removed)"
                    .into(),
            ));
        }
        if user.totp_secret.is_none() {
            return Ok(());
        }
        self.check_code(staff, &user, code, caller).await?;
        self.store
            .set_totp(user.organization, user.id, None, &[])
            .await?;
        self.record(staff, caller, "mfa_removed", serde_json::json!({}))
            .await
    }

    /// An administrator resets a user's second factor (a lost phone with lost codes): the
    /// authenticator and recovery codes go, and every session of the user ends; they enrol
    /// again at their next login if the organization requires it.
    pub async fn reset_mfa(&self, staff: &Staff, user: &str, caller: &Caller) -> Result<()> {
        self.require_admin(staff).await?;
        let id: UserId = user
            .parse()
            .map_err(|_| ServiceError::NotFound("the user"))?;
        self.require_cover_of_user(staff, id).await?;
        if !self
            .store
            .set_totp(staff.organization, id, None, &[])
            .await?
        {
            return Err(ServiceError::NotFound("the user"));
        }
        self.store.remove_passkeys(id).await?;
        self.store
            .end_sessions(staff.organization, id, UserChange::EndSessions, self.now())
            .await?;
        self.record(
            staff,
            caller,
            "mfa_reset",
            serde_json::json!({ "user": id.to_string() }),
        )
        .await
    }

    /// Whether the organization requires MFA of every staff user (administrators only).
    pub async fn set_mfa_required(
        &self,
        staff: &Staff,
        caller: &Caller,
        required: bool,
    ) -> Result<()> {
        self.require_admin(staff).await?;
        let before = self
            .organization_record(staff.organization)
            .await?
            .mfa_required;
        self.store
            .set_mfa_required(staff.organization, required)
            .await?;
        self.record(
            staff,
            caller,
            "mfa_required_changed",
            serde_json::json!({ "before": before, "after": required }),
        )
        .await
    }

    /// Checks a code of the user's: a TOTP code (of a step not accepted before) or an unused
    /// recovery code. Which it was, for the audit trail.
    async fn check_code(
        &self,
        staff: &Staff,
        user: &User,
        code: &str,
        caller: &Caller,
    ) -> Result<&'static str> {
        self.refuse_if_mfa_locked(user).await?;
        let secret = self.totp_secret(user).await?;
        let now = self.now();
        if let Some(step) = secret.step_of(code, now) {
            if self
                .store
                .accept_totp_step(user.organization, user.id, step)
                .await?
            {
                return Ok("totp");
            }
        } else if let Some(recovery) = totp::canonical_recovery_code(code) {
            if self
                .store
                .use_recovery_code(user.id, &TokenHash::of(&recovery), now)
                .await?
            {
                return Ok("recovery_code");
            }
        }
        self.count_wrong_mfa_code(staff, user, caller).await?;
        Err(wrong_code())
    }

    async fn refuse_if_mfa_locked(&self, user: &User) -> Result<()> {
        let until = self
            .store
            .locked_until(WRONG_CODE_SCOPE, &user.id.to_string(), self.now())
            .await?;
        match until {
            Some(until) => Err(ServiceError::NotAllowed(format!(
                "誤ったコードが続いたため、{} までコードを受け付けません \
                 (too many wrong codes: codes are refused until then)",
                format_slash_jst(until)
            ))),
            None => Ok(()),
        }
    }

    async fn count_wrong_mfa_code(
        &self,
        staff: &Staff,
        user: &User,
        caller: &Caller,
    ) -> Result<()> {
        let count = self
            .store
            .count_failure(
                WRONG_CODE_SCOPE,
                &user.id.to_string(),
                WRONG_CODES,
                self.now(),
            )
            .await?;
        self.record(
            staff,
            caller,
            "mfa_failed",
            serde_json::json!({ "failures": count.failures, "locked_until": count.locked_until }),
        )
        .await
    }

    async fn staff_user(&self, staff: &Staff) -> Result<User> {
        let id = staff.user.ok_or_else(|| {
            ServiceError::NotAllowed(
                "多要素認証は職員ユーザーのものです (MFA belongs to a staff user, not an API key)"
                    .into(),
            )
        })?;
        self.store
            .user(staff.organization, id)
            .await?
            .ok_or(ServiceError::NotFound("the user"))
    }

    async fn organization_record(&self, id: OrganizationId) -> Result<inkan_store::Organization> {
        self.store
            .organization(id)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))
    }

    async fn seal_totp_secret(&self, user: &User, secret: &TotpSecret) -> Result<String> {
        self.seal_text(&totp_context(user), secret.as_bytes()).await
    }

    async fn totp_secret(&self, user: &User) -> Result<TotpSecret> {
        let corrupt =
            |why: &str| ServiceError::failed(format!("user {}: TOTP secret", user.id), why);
        let stored = user
            .totp_secret
            .as_deref()
            .ok_or_else(|| corrupt("none enrolled"))?;
        match self.open_text(&totp_context(user), stored).await? {
            Stored::Opened(plain) => {
                TotpSecret::from_bytes(plain).ok_or_else(|| corrupt("too short"))
            }
            Stored::Clear => Err(corrupt("not sealed")),
        }
    }
}

/// The sealed secret is bound to its user: copied onto another user's row, it does not open.
fn totp_context(user: &User) -> String {
    format!("org/{}/users/{}/totp", user.organization, user.id)
}

fn wrong_code() -> ServiceError {
    ServiceError::Unauthenticated(
        "コードが違うか、すでに使われています (the code is wrong or was already used)".into(),
    )
}
