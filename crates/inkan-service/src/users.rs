//! Staff users as an administrator manages them: the list, roles, invitations.
//!
//! An invitation is a user without a password and a mailed link to set one. The link is a
//! sealed token naming the user's session generation: setting the password moves the
//! generation on, so the link works once, and it stops at its expiry or when the user is
//! disabled — nothing about it is stored.

use inkan_domain::{OrganizationId, UserId};
use inkan_mail::{Address, Lang, OutgoingMail, Template};
use inkan_store::{User, UserChange, UserRole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::staff::{hash_password, NewUser, UserView};
use crate::{Caller, Inkan, Result, Rights, ServiceError, Staff};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;
const INVITATION: &str = "staff-invitation";

/// A staff user as the users page and `GET /api/v1/users` show them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub department: Option<String>,
    #[schema(value_type = String)]
    pub role: UserRole,
    /// An authenticator is set up.
    pub mfa: bool,
    /// The user has set a password (an invited user has not yet).
    pub has_password: bool,
    pub disabled: bool,
}

/// A new role for a user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RoleChange {
    #[schema(value_type = String)]
    pub role: UserRole,
}

/// The invitation a link stands for: whose, in which organization.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub organization: String,
    pub name: String,
    pub email: String,
}

impl Inkan {
    /// The organization's users (administrators).
    pub async fn users(&self, staff: &Staff) -> Result<Vec<UserLine>> {
        self.require_admin(staff).await?;
        let departments = self.store.departments(staff.organization).await?;
        let users = self.store.users(staff.organization).await?;
        Ok(users
            .into_iter()
            .map(|u| UserLine {
                id: u.id.to_string(),
                department: u.department.and_then(|d| {
                    departments
                        .iter()
                        .find(|dep| dep.id == d)
                        .map(|dep| dep.name.clone())
                }),
                name: u.name,
                email: u.email.to_string(),
                role: u.role,
                mfa: u.totp_secret.is_some(),
                has_password: u.password_hash.is_some(),
                disabled: u.disabled_at.is_some(),
            })
            .collect())
    }

    /// Gives a user another role (administrators). The organization keeps at least one
    /// active administrator: the last one cannot be given another role.
    pub async fn change_role(
        &self,
        staff: &Staff,
        user: &str,
        role: UserRole,
        caller: &Caller,
    ) -> Result<()> {
        self.require_admin(staff).await?;
        let target = self.user_record(staff.organization, user).await?;
        if target.role == role {
            return Ok(());
        }
        self.require_cover_of_user(staff, target.id).await?;
        staff.require_cover(Rights::of_role(role, target.id).reads)?;
        self.keep_an_administrator(staff.organization, target.id)
            .await?;
        self.store
            .set_user_role(staff.organization, target.id, role)
            .await?;
        self.record(
            staff,
            caller,
            "role_changed",
            serde_json::json!({
                "user": target.id.to_string(),
                "before": target.role.name(),
                "after": role.name(),
            }),
        )
        .await
    }

    /// Adds a user without a password and mails them a link to set one (administrators).
    pub async fn invite_user(
        &self,
        staff: &Staff,
        input: &NewUser,
        caller: &Caller,
    ) -> Result<UserView> {
        if input.password.is_some() {
            return Err(ServiceError::Invalid(
                "招待した職員はパスワードを自分で設定します (an invited user sets their own password)"
                    .into(),
            ));
        }
        let view = self.add_user(staff, input, caller).await?;
        self.send_invitation(staff, &view.id, caller).await?;
        Ok(view)
    }

    /// Mails (again) the invitation of a user who has not set a password yet; a link mailed
    /// earlier keeps working until it expires.
    pub async fn send_invitation(&self, staff: &Staff, user: &str, caller: &Caller) -> Result<()> {
        self.require_admin(staff).await?;
        let target = self.user_record(staff.organization, user).await?;
        if target.password_hash.is_some() || target.disabled_at.is_some() {
            return Err(ServiceError::NotAllowed(
                "パスワードを設定済みか無効化された職員には招待を送れません \
                 (the user has set a password already, or is disabled)"
                    .into(),
            ));
        }
        let organization = self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let invited_by = match staff.user {
            Some(id) => self
                .store
                .user(staff.organization, id)
                .await?
                .map(|u| u.name)
                .unwrap_or_default(),
            None => organization.name.clone(),
        };
        let seconds = INVITATION_DAYS * 86_400;
        let token = self.seal_cookie(
            INVITATION,
            &[
                target.organization.to_string(),
                target.id.to_string(),
                target.session_generation.to_string(),
            ],
            seconds,
        );
        let mail = OutgoingMail {
            to: vec![Address::new(&target.name, target.email.as_str())],
            from: crate::notify::parse_from(&self.settings.mail_from),
            reply_to: None,
            rendered: inkan_mail::render(
                &Template::StaffInvitation(inkan_mail::StaffInvitation {
                    organization: organization.name,
                    invited_by,
                    role_ja: target.role.japanese().into(),
                    role_en: target.role.english().into(),
                    invitation_url: format!("{}/invite/{token}", self.settings.public_url),
                    expires_at: self.now() + seconds,
                }),
                Lang::Ja,
            ),
            idempotency_key: format!("invitation-{}-{}", target.id, self.now()),
            attachments: Vec::new(),
        };
        // Sent at once rather than as a job: a job row would hold the link in clear.
        self.mailer.send(&mail).await.map_err(|e| {
            ServiceError::Unavailable(format!(
                "招待メールを送れませんでした。もう一度お試しください (the invitation could not be mailed; try again: {e})"
            ))
        })?;
        self.record(
            staff,
            caller,
            "user_invited",
            serde_json::json!({ "user": target.id.to_string(), "email": target.email.to_string() }),
        )
        .await
    }

    /// The invitation behind a link: refused (as gone) when forged, expired, used, or when the
    /// user was disabled since.
    pub async fn invitation(&self, token: &str) -> Result<Invitation> {
        let (_, user) = self.invited_user(token).await?;
        let organization = self
            .store
            .organization(user.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        Ok(Invitation {
            organization: organization.name,
            name: user.name,
            email: user.email.to_string(),
        })
    }

    /// Sets the invited user's password; the link dies with it.
    pub async fn accept_invitation(
        &self,
        token: &str,
        password: &str,
        caller: &Caller,
    ) -> Result<()> {
        let (staff, user) = self.invited_user(token).await?;
        let hash = hash_password(password)?;
        self.store
            .end_sessions(
                user.organization,
                user.id,
                UserChange::Password(Some(hash)),
                self.now(),
            )
            .await?;
        self.record(
            &staff,
            caller,
            "invitation_accepted",
            serde_json::json!({ "email": user.email.to_string() }),
        )
        .await
    }

    async fn invited_user(&self, token: &str) -> Result<(Staff, User)> {
        let gone = || {
            ServiceError::Gone(
                "この招待リンクは使用済みか期限切れです。管理者に招待の再送を依頼してください \
                 (this invitation was used or has expired; ask your administrator to send it again)"
                    .into(),
            )
        };
        let fields = self.open_cookie(INVITATION, token, 3).ok_or_else(gone)?;
        let org: OrganizationId = fields[0].parse().map_err(|_| gone())?;
        let id: UserId = fields[1].parse().map_err(|_| gone())?;
        let generation: i64 = fields[2].parse().map_err(|_| gone())?;
        let user = self.store.user(org, id).await?.ok_or_else(gone)?;
        if user.disabled_at.is_some()
            || user.session_generation != generation
            || user.password_hash.is_some()
        {
            return Err(gone());
        }
        Ok((Staff::user(org, id, user.role), user))
    }

    /// Refuses a caller who reads less than `user` does (resetting such a user's password or
    /// second factor, or changing their role, would be a way into their reading): their role's
    /// reading, and for one who reads no more than their own, any group or shared envelope
    /// that gives them more.
    pub(crate) async fn require_cover_of_user(&self, staff: &Staff, user: UserId) -> Result<()> {
        let target = self
            .store
            .user(staff.organization, user)
            .await?
            .ok_or(ServiceError::NotFound("the user"))?;
        staff.require_cover(Rights::of_role(target.role, target.id).reads)?;
        if staff.rights.reads != crate::Reach::Every
            && self.has_given_reading(staff, target.id).await?
        {
            // What a user reads through folders and shares is as much theirs as their role's.
            staff.require_cover(crate::Reach::Every)?;
        }
        Ok(())
    }

    /// Refuses to take `user` away from the administrators (a new role, disabling) when they
    /// are the organization's last active one: nobody would be left to manage it.
    pub(crate) async fn keep_an_administrator(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<()> {
        let admins: Vec<UserId> = self
            .store
            .users(org)
            .await?
            .into_iter()
            .filter(|u| u.role == UserRole::Admin && u.disabled_at.is_none())
            .map(|u| u.id)
            .collect();
        if admins == [user] {
            return Err(ServiceError::NotAllowed(
                "組織の最後の管理者は、権限の変更も無効化もできません。先に別の管理者を任命してください \
                 (the last administrator stays one: make someone else an administrator first)"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn user_record(&self, org: OrganizationId, id: &str) -> Result<User> {
        let id: UserId = id.parse().map_err(|_| ServiceError::NotFound("the user"))?;
        self.store
            .user(org, id)
            .await?
            .ok_or(ServiceError::NotFound("the user"))
    }
}
