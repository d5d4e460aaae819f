//! Organizations (tenants), their users and API keys, and the counterparty registry (取引先,
//! the 電子契約用メールアドレス届出書).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use inkan_domain::{
    text, ApiKeyId, CalendarDate, CounterpartyId, DepartmentId, Email, OrganizationId,
    StaffNetworks, UserId,
};
use inkan_store::{
    ApiKey, ApiKeyScope, Change, Counterparty, Department, Organization, StoreError, User,
    UserChange, UserRole,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mfa::LoginStep;
use crate::secrets::new_api_key;
use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// A new organization with its first administrator.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewOrganization {
    /// 組織名: `盛岡市`.
    pub name: String,
    /// The first department: `財政部契約検査課`.
    #[serde(default)]
    pub department: Option<String>,
    pub admin_name: String,
    pub admin_email: String,
    /// At least 10 characters; without one the administrator uses API keys only.
    #[serde(default)]
    pub admin_password: Option<String>,
}

/// What creating an organization gives back, once: the API key is not stored in clear.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationCreated {
    pub organization_id: String,
    pub admin_user_id: String,
    pub api_key: String,
}

/// A new staff user of the caller's organization.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewUser {
    pub name: String,
    /// The login name: unique across the installation.
    pub email: String,
    /// The department (部署) by name; created when the organization does not have it yet.
    #[serde(default)]
    pub department: Option<String>,
    /// At least 10 characters; without one the user cannot log in with a password.
    #[serde(default)]
    pub password: Option<String>,
    /// What the user may do: `admin`, `system_admin`, `document_manager`, `document_viewer`
    /// or `sender`. Without it: `document_manager`, or `admin` when `admin` is true.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<UserRole>,
    /// The earlier way to say `"role": "admin"`.
    #[serde(default)]
    pub admin: bool,
}

/// A staff user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub department: Option<String>,
    /// `admin`, `system_admin`, `document_manager`, `document_viewer` or `sender`.
    #[schema(value_type = String)]
    pub role: UserRole,
}

/// An API key as administrators see it (the secret is shown once, at creation).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `read`, `send` or `admin`.
    #[schema(value_type = String)]
    pub scope: ApiKeyScope,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A department (部署).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentView {
    pub id: String,
    pub name: String,
}

/// A counterparty as registered from its 届出書.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CounterpartyInput {
    /// 所在地.
    pub address: String,
    /// 商号又は名称.
    pub trade_name: String,
    /// 代表者職氏名.
    pub representative: String,
    /// 契約締結権限者 役職.
    pub signatory_title: String,
    /// 契約締結権限者 氏名.
    pub signatory_name: String,
    /// 契約締結権限者 メールアドレス.
    pub signatory_email: String,
    /// 事務担当者 部署名.
    #[serde(default)]
    pub clerk_department: String,
    /// 事務担当者 役職.
    #[serde(default)]
    pub clerk_title: String,
    /// 事務担当者 氏名.
    #[serde(default)]
    pub clerk_name: String,
    /// 事務担当者 電話番号.
    #[serde(default)]
    pub clerk_phone: String,
    /// 事務担当者 メールアドレス.
    #[serde(default)]
    pub clerk_email: Option<String>,
    /// 届出日: the date on the 届出書, `2026-12-03` (令和8年12月3日 is read too).
    #[serde(default)]
    pub notified_on: Option<String>,
}

/// A registered counterparty.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterpartyView {
    pub id: String,
    #[serde(flatten)]
    pub fields: CounterpartyInput,
}

/// Names, titles and addresses reach mail headers, PDFs and CSV cells: one line each.
fn required(what: &'static str, value: &str, max: usize) -> Result<String> {
    Ok(text::required_line(what, value, max)?)
}

fn optional(what: &'static str, value: &str, max: usize) -> Result<String> {
    Ok(text::line(what, value, max)?)
}

/// A hash of a random password with the same parameters as real ones, checked when a login
/// names no usable account, so that both cost one Argon2 verification.
fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let password = uuid::Uuid::new_v4().to_string();
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub(crate) fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 10 {
        return Err(ServiceError::Invalid(
            "パスワードは 10 文字以上にしてください (a password has at least 10 characters)".into(),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::failed("staff accounts: a password hash", e.to_string()))
}

fn counterparty_view(c: &Counterparty) -> CounterpartyView {
    CounterpartyView {
        id: c.id.to_string(),
        fields: CounterpartyInput {
            address: c.address.clone(),
            trade_name: c.trade_name.clone(),
            representative: c.representative.clone(),
            signatory_title: c.signatory_title.clone(),
            signatory_name: c.signatory_name.clone(),
            signatory_email: c.signatory_email.to_string(),
            clerk_department: c.clerk_department.clone(),
            clerk_title: c.clerk_title.clone(),
            clerk_name: c.clerk_name.clone(),
            clerk_phone: c.clerk_phone.clone(),
            clerk_email: c.clerk_email.as_ref().map(|e| e.to_string()),
            notified_on: c.notified_on.map(|d| d.to_string()),
        },
    }
}

/// Whether a counterparty matches a search: every word of `query` appears (case folded) in its
/// trade name, representative, signatory, clerk, either email, address or phone.
fn counterparty_matches(c: &Counterparty, words: &[String]) -> bool {
    let haystack = [
        c.trade_name.as_str(),
        &c.representative,
        &c.signatory_title,
        &c.signatory_name,
        c.signatory_email.as_str(),
        &c.clerk_department,
        &c.clerk_name,
        &c.clerk_phone,
        c.clerk_email.as_ref().map_or("", |e| e.as_str()),
        &c.address,
    ]
    .join("\n")
    .to_lowercase();
    words.iter().all(|w| haystack.contains(w.as_str()))
}

/// A counterparty from its 届出書's fields, checked: the ID, organization and registration time
/// are the caller's.
fn counterparty_from(
    id: CounterpartyId,
    organization: OrganizationId,
    input: &CounterpartyInput,
    created_at: i64,
) -> Result<Counterparty> {
    let c = Counterparty {
        id,
        organization,
        address: required("所在地 (address)", &input.address, 300)?,
        trade_name: required("商号又は名称 (trade name)", &input.trade_name, 200)?,
        representative: required("代表者職氏名 (representative)", &input.representative, 200)?,
        signatory_title: optional("契約締結権限者 役職", &input.signatory_title, 100)?,
        signatory_name: required(
            "契約締結権限者 氏名 (signatory's name)",
            &input.signatory_name,
            100,
        )?,
        signatory_email: input.signatory_email.parse()?,
        clerk_department: optional("事務担当者 部署名", &input.clerk_department, 100)?,
        clerk_title: optional("事務担当者 役職", &input.clerk_title, 100)?,
        clerk_name: optional("事務担当者 氏名", &input.clerk_name, 100)?,
        clerk_phone: optional("事務担当者 電話番号", &input.clerk_phone, 30)?,
        clerk_email: match input.clerk_email.as_deref().map(str::trim) {
            Some(e) if !e.is_empty() => Some(e.parse()?),
            _ => None,
        },
        notified_on: match input.notified_on.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Some(CalendarDate::parse(d).map_err(|e| {
                ServiceError::Invalid(format!("届出日 (date of notification): {e}"))
            })?),
            _ => None,
        },
        created_at,
    };
    if !c
        .clerk_phone
        .chars()
        .all(|ch| ch.is_ascii_digit() || "-+() ".contains(ch))
    {
        return Err(ServiceError::Invalid(
            "事務担当者 電話番号は数字、空白、+、-、括弧で書いてください \
             (the clerk's phone has only digits, spaces, +, - and parentheses)"
                .into(),
        ));
    }
    Ok(c)
}

impl Inkan {
    /// Creates an organization, its first department and administrator, and an API key.
    pub async fn create_organization(
        &self,
        input: &NewOrganization,
    ) -> Result<OrganizationCreated> {
        let now = self.now();
        let org = Organization {
            id: OrganizationId::new(),
            name: required("組織名 (organization name)", &input.name, 100)?,
            created_at: now,
            staff_networks: StaffNetworks::unrestricted(),
            mfa_required: false,
            folder_required: false,
        };
        let email: Email = input.admin_email.parse()?;
        let password_hash = match &input.admin_password {
            Some(p) => Some(hash_password(p)?),
            None => None,
        };
        self.store.create_organization(&org).await?;
        let department = match &input.department {
            Some(name) if !name.trim().is_empty() => {
                let d = Department {
                    id: DepartmentId::new(),
                    organization: org.id,
                    name: required("部署 (department)", name, 100)?,
                };
                self.store.create_department(&d).await?;
                Some(d.id)
            }
            _ => None,
        };
        let user = User {
            id: UserId::new(),
            organization: org.id,
            department,
            name: required("管理者の氏名 (administrator name)", &input.admin_name, 100)?,
            email,
            role: UserRole::Admin,
            password_hash,
            created_at: now,
            session_generation: 0,
            disabled_at: None,
            totp_secret: None,
            totp_last_step: None,
        };
        self.store.create_user(&user).await?;
        let (secret, hash) = new_api_key();
        let key = ApiKey {
            id: ApiKeyId::new(),
            organization: org.id,
            name: "initial".into(),
            hash,
            created_at: now,
            revoked_at: None,
            scope: ApiKeyScope::Admin,
            owner: Some(user.id),
        };
        self.store.create_api_key(&key).await?;
        let staff = Staff::user(org.id, user.id, user.role);
        self.store
            .apply(Change {
                audit: vec![self.audit_entry(
                    org.id,
                    &staff.actor,
                    "create_organization",
                    None,
                    None,
                    &Caller::default(),
                    serde_json::json!({ "name": org.name }),
                )],
                now,
                ..Change::default()
            })
            .await?;
        Ok(OrganizationCreated {
            organization_id: org.id.to_string(),
            admin_user_id: user.id.to_string(),
            api_key: secret,
        })
    }

    /// A new API key for the caller's organization (shown once); administrators only.
    pub async fn create_api_key(
        &self,
        staff: &Staff,
        name: &str,
        scope: ApiKeyScope,
        caller: &Caller,
    ) -> Result<String> {
        self.require_admin(staff).await?;
        staff.require_cover(crate::Rights::of_scope(scope).reads)?;
        let (secret, hash) = new_api_key();
        let key = ApiKey {
            id: ApiKeyId::new(),
            organization: staff.organization,
            name: required("API キーの名前 (key name)", name, 100)?,
            hash,
            created_at: self.now(),
            revoked_at: None,
            scope,
            // The administrator who makes it, or the one the making key acts for.
            owner: staff.user.or(staff.on_behalf_of),
        };
        self.store.create_api_key(&key).await?;
        self.record(
            staff,
            caller,
            "create_api_key",
            serde_json::json!({ "key": key.id.to_string(), "name": key.name, "scope": scope.name() }),
        )
        .await?;
        Ok(secret)
    }

    /// The organization's API keys (never their secrets); administrators only.
    pub async fn api_keys(&self, staff: &Staff) -> Result<Vec<ApiKeyView>> {
        self.require_admin(staff).await?;
        Ok(self
            .store
            .api_keys(staff.organization)
            .await?
            .into_iter()
            .map(|k| ApiKeyView {
                id: k.id.to_string(),
                name: k.name,
                scope: k.scope,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect())
    }

    /// Revokes one of the organization's API keys at once; administrators only.
    pub async fn revoke_api_key(&self, staff: &Staff, id: &str, caller: &Caller) -> Result<()> {
        self.require_admin(staff).await?;
        let id: ApiKeyId = id
            .parse()
            .map_err(|_| ServiceError::NotFound("the API key"))?;
        if !self
            .store
            .revoke_api_key(staff.organization, id, self.now())
            .await?
        {
            return Err(ServiceError::NotFound("the API key"));
        }
        self.record(
            staff,
            caller,
            "revoke_api_key",
            serde_json::json!({ "key": id.to_string() }),
        )
        .await
    }

    /// Disables a user of the organization: their sessions end at once and they cannot log in
    /// again; administrators only.
    pub async fn disable_user(&self, staff: &Staff, id: &str, caller: &Caller) -> Result<()> {
        self.require_admin(staff).await?;
        let user = self.user_of(staff, id).await?;
        self.keep_an_administrator(staff.organization, user).await?;
        self.store
            .end_sessions(staff.organization, user, UserChange::Disable, self.now())
            .await?;
        self.record(
            staff,
            caller,
            "disable_user",
            serde_json::json!({ "user": user.to_string() }),
        )
        .await
    }

    /// The logged-in user changes their own password, proving the current one: every session
    /// of theirs ends (the caller opens a new one for this browser).
    pub async fn change_own_password(
        &self,
        staff: &Staff,
        current: &str,
        new: &str,
        caller: &Caller,
    ) -> Result<()> {
        let id = staff
            .user
            .ok_or_else(|| ServiceError::NotAllowed("an API key has no password".into()))?;
        let user = self
            .store
            .user(staff.organization, id)
            .await?
            .ok_or(ServiceError::NotFound("the user"))?;
        let stored = user
            .password_hash
            .clone()
            .unwrap_or_else(|| stand_in_hash().to_string());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ServiceError::failed("staff accounts: a password hash", e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(current.as_bytes(), &parsed)
            .is_ok();
        if !matches || user.password_hash.is_none() {
            self.record(
                staff,
                caller,
                "password_change_refused",
                serde_json::json!({}),
            )
            .await?;
            return Err(ServiceError::Invalid(
                "今のパスワードが違います (the current password is wrong)".into(),
            ));
        }
        self.set_password(staff, &id.to_string(), new, caller).await
    }

    /// Sets a user's password (an administrator's reset, or the user's own change): every
    /// session of that user ends at once.
    pub async fn set_password(
        &self,
        staff: &Staff,
        id: &str,
        password: &str,
        caller: &Caller,
    ) -> Result<()> {
        let user = self.user_of(staff, id).await?;
        if staff.user != Some(user) {
            self.require_admin(staff).await?;
            self.require_cover_of_user(staff, user).await?;
        }
        let hash = hash_password(password)?;
        self.store
            .end_sessions(
                staff.organization,
                user,
                UserChange::Password(Some(hash)),
                self.now(),
            )
            .await?;
        self.record(
            staff,
            caller,
            "set_password",
            serde_json::json!({ "user": user.to_string() }),
        )
        .await
    }

    async fn user_of(&self, staff: &Staff, id: &str) -> Result<UserId> {
        let id: UserId = id.parse().map_err(|_| ServiceError::NotFound("the user"))?;
        self.store
            .user(staff.organization, id)
            .await?
            .map(|u| u.id)
            .ok_or(ServiceError::NotFound("the user"))
    }

    /// Staff login by email and password. A wrong email, a wrong password and a disabled user
    /// look the same, and cost the same: without a stored hash, a stand-in hash is checked so
    /// that the time taken does not tell whether the email exists. A right password leads to
    /// a session, or to the second factor (see [`crate::mfa`]).
    pub async fn login(&self, email: &str, password: &str, caller: &Caller) -> Result<LoginStep> {
        let denied = || ServiceError::Unauthenticated("wrong email or password".into());
        // Counted in the database: the limit holds across every node.
        self.refuse_locked_login(email, caller).await?;
        let user = self
            .store
            .user_by_email(email.trim())
            .await?
            .filter(|u| u.disabled_at.is_none());
        let stored = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| stand_in_hash().to_string());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ServiceError::failed("staff accounts: a password hash", e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        let Some(user) = user.filter(|u| matches && u.password_hash.is_some()) else {
            self.count_failed_login(email, caller).await?;
            return Err(denied());
        };
        let staff = Staff::user(user.organization, user.id, user.role);
        // Only a right password learns that the network is wrong, or that the organization
        // logs in through its single sign-on only.
        self.admit_network(&staff, caller, "login").await?;
        if self.password_login_off(user.organization).await? {
            self.record(
                &staff,
                caller,
                "password_login_refused",
                serde_json::json!({ "reason": "sso_required" }),
            )
            .await?;
            return Err(ServiceError::NotAllowed(
                "この組織ではシングルサインオンでログインしてください (this organization logs in through single sign-on)"
                    .into(),
            ));
        }
        let step = self.second_factor_step(staff, &user).await?;
        if let LoginStep::Done(staff) = &step {
            self.record(
                staff,
                caller,
                "login",
                serde_json::json!({ "email": user.email.to_string() }),
            )
            .await?;
        }
        Ok(step)
    }

    /// Refuses a caller who does not administer the organization: a user who is neither an
    /// administrator nor a system administrator, or an API key without the admin scope.
    /// (A disabled user has no session or login to call with.)
    pub(crate) async fn require_admin(&self, staff: &Staff) -> Result<()> {
        if staff.rights.administers {
            Ok(())
        } else {
            Err(ServiceError::NotAllowed(
                "組織の管理者だけが行えます (only an administrator of the organization can do this)"
                    .into(),
            ))
        }
    }

    /// Adds a staff user (and their department if it is new).
    pub async fn add_user(
        &self,
        staff: &Staff,
        input: &NewUser,
        caller: &Caller,
    ) -> Result<UserView> {
        self.require_admin(staff).await?;
        let department = match input.department.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => {
                let existing = self
                    .store
                    .departments(staff.organization)
                    .await?
                    .into_iter()
                    .find(|d| d.name == name);
                Some(match existing {
                    Some(d) => d,
                    None => {
                        let d = Department {
                            id: DepartmentId::new(),
                            organization: staff.organization,
                            name: required("部署 (department)", name, 100)?,
                        };
                        self.store.create_department(&d).await?;
                        d
                    }
                })
            }
            _ => None,
        };
        let role = match (input.role, input.admin) {
            (Some(role), _) => role,
            (None, true) => UserRole::Admin,
            (None, false) => UserRole::DocumentManager,
        };
        let id = UserId::new();
        staff.require_cover(crate::Rights::of_role(role, id).reads)?;
        let user = User {
            id,
            organization: staff.organization,
            department: department.as_ref().map(|d| d.id),
            name: required("氏名 (user name)", &input.name, 100)?,
            email: input.email.parse()?,
            role,
            password_hash: match &input.password {
                Some(p) => Some(hash_password(p)?),
                None => None,
            },
            created_at: self.now(),
            session_generation: 0,
            disabled_at: None,
            totp_secret: None,
            totp_last_step: None,
        };
        // Logins are unique across the installation; the answer does not say where the
        // address is taken.
        self.store.create_user(&user).await.map_err(|e| match e {
            StoreError::Duplicate(_) => ServiceError::Invalid(
                "このメールアドレスはユーザーとして登録できません (this email address cannot be registered as a user)"
                    .into(),
            ),
            other => other.into(),
        })?;
        self.record(
            staff,
            caller,
            "add_user",
            serde_json::json!({ "user": user.id.to_string(), "email": user.email.to_string() }),
        )
        .await?;
        Ok(UserView {
            id: user.id.to_string(),
            name: user.name,
            email: user.email.to_string(),
            department: department.map(|d| d.name),
            role: user.role,
        })
    }

    /// The organization's departments.
    pub async fn departments(&self, staff: &Staff) -> Result<Vec<DepartmentView>> {
        Ok(self
            .store
            .departments(staff.organization)
            .await?
            .into_iter()
            .map(|d| DepartmentView {
                id: d.id.to_string(),
                name: d.name,
            })
            .collect())
    }

    /// Registers a counterparty from its 届出書.
    pub async fn register_counterparty(
        &self,
        staff: &Staff,
        input: &CounterpartyInput,
        caller: &Caller,
    ) -> Result<CounterpartyView> {
        staff.require_send()?;
        let c = counterparty_from(CounterpartyId::new(), staff.organization, input, self.now())?;
        self.store.save_counterparty(&c).await?;
        self.record(
            staff,
            caller,
            "register_counterparty",
            serde_json::json!({ "counterparty": c.id.to_string(), "trade_name": c.trade_name }),
        )
        .await?;
        Ok(counterparty_view(&c))
    }

    pub async fn counterparties(&self, staff: &Staff) -> Result<Vec<CounterpartyView>> {
        self.search_counterparties(staff, "").await
    }

    /// The counterparties every word of `query` matches (names, emails, address, phone; case
    /// folded), by trade name; all of them for an empty query.
    pub async fn search_counterparties(
        &self,
        staff: &Staff,
        query: &str,
    ) -> Result<Vec<CounterpartyView>> {
        let query = text::line("検索語 (search)", query, 200)?;
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        Ok(self
            .store
            .counterparties(staff.organization)
            .await?
            .iter()
            .filter(|c| counterparty_matches(c, &words))
            .map(counterparty_view)
            .collect())
    }

    /// Replaces a counterparty's fields (a new 届出書: another signatory, a moved office). Its ID
    /// and registration time stay; the audit trail keeps which fields changed, from what to what.
    pub async fn update_counterparty(
        &self,
        staff: &Staff,
        id: &str,
        input: &CounterpartyInput,
        caller: &Caller,
    ) -> Result<CounterpartyView> {
        staff.require_send()?;
        let id: CounterpartyId = id
            .parse()
            .map_err(|_| ServiceError::NotFound("the counterparty"))?;
        let before = self
            .store
            .counterparty(staff.organization, id)
            .await?
            .ok_or(ServiceError::NotFound("the counterparty"))?;
        let after = counterparty_from(id, staff.organization, input, before.created_at)?;
        self.store.save_counterparty(&after).await?;
        let (old, new) = (counterparty_view(&before), counterparty_view(&after));
        let (old, new) = (
            serde_json::to_value(&old.fields)
                .map_err(|e| ServiceError::failed("staff accounts: the counterparty change", e))?,
            serde_json::to_value(&new.fields)
                .map_err(|e| ServiceError::failed("staff accounts: the counterparty change", e))?,
        );
        let changed: serde_json::Map<String, serde_json::Value> = new
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| old.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                let was = old.get(k.as_str()).cloned().unwrap_or_default();
                (k.clone(), serde_json::json!({ "from": was, "to": v }))
            })
            .collect();
        self.record(
            staff,
            caller,
            "update_counterparty",
            serde_json::json!({
                "counterparty": after.id.to_string(),
                "trade_name": after.trade_name,
                "changed": changed,
            }),
        )
        .await?;
        Ok(counterparty_view(&after))
    }

    pub async fn counterparty(&self, staff: &Staff, id: &str) -> Result<CounterpartyView> {
        let id: CounterpartyId = id
            .parse()
            .map_err(|_| ServiceError::NotFound("the counterparty"))?;
        self.store
            .counterparty(staff.organization, id)
            .await?
            .map(|c| counterparty_view(&c))
            .ok_or(ServiceError::NotFound("the counterparty"))
    }

    /// An audit entry of its own (for actions that change nothing else).
    pub(crate) async fn record(
        &self,
        staff: &Staff,
        caller: &Caller,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.append_audit(self.audit_entry(
            staff.organization,
            &staff.actor,
            action,
            None,
            None,
            caller,
            detail,
        ))
        .await
    }
}
