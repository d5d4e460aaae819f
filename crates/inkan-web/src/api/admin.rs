//! Organizations (operator only), API keys, webhooks and the job queue.

use axum::extract::State;
use axum::http::StatusCode;
use inkan_service::{JobReport, NewOrganization, OrganizationCreated, WebhookCreated};
use inkan_store::ApiKeyScope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, OperatorAuth, Path, Shared, StaffAuth};

/// A new API key's name and scope.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiKeyRequest {
    /// What the key is for: `会計システム連携`.
    pub name: String,
    /// What it may do: `read`, `send` (read, and create, send, remind, cancel envelopes) or
    /// `admin` (everything). Default `send`.
    #[serde(default = "send_scope")]
    #[schema(value_type = String)]
    pub scope: ApiKeyScope,
}

fn send_scope() -> ApiKeyScope {
    ApiKeyScope::Send
}

/// A new password for a user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordRequest {
    /// At least 10 characters.
    pub password: String,
}

/// A new API key, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub api_key: String,
}

/// A webhook endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// `https://…`; events are POSTed with an `Inkan-Signature` HMAC header.
    pub url: String,
}

/// Creates an organization with its first administrator and API key (operator only).
#[utoipa::path(post, path = "/api/v1/organizations", tag = "admin",
    request_body = NewOrganization,
    security(("operator_token" = [])),
    responses(
        (status = 201, description = "created; the API key is shown once", body = OrganizationCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "organization creation over the API is disabled", body = ErrorBody)))]
pub(crate) async fn create_organization(
    State(state): State<Shared>,
    _operator: OperatorAuth,
    Json(input): Json<NewOrganization>,
) -> Result<(StatusCode, Json<OrganizationCreated>), ApiError> {
    let created = state.inkan.create_organization(&input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A new API key for the caller's organization.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "admin",
    request_body = ApiKeyRequest,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "created; the key is shown once", body = ApiKeyCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn create_api_key(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<ApiKeyRequest>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let api_key = state
        .inkan
        .create_api_key(&staff, &input.name, input.scope, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(ApiKeyCreated { api_key })))
}

/// The organization's API keys, revoked ones included (never their secrets); administrators.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "admin",
    security(("api_key" = [])),
    responses(
        (status = 200, body = [inkan_service::ApiKeyView]),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn api_keys(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<inkan_service::ApiKeyView>>, ApiError> {
    Ok(Json(state.inkan.api_keys(&staff).await?))
}

/// An organization's IP restriction (IP制限).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffNetworksBody {
    /// IPv4 and IPv6 networks in CIDR notation (`203.0.113.0/24`, `2001:db8::/48`; a bare
    /// address stands for itself). Staff pages and API keys answer only to these; empty: no
    /// restriction. Signing and completion links are never restricted.
    #[schema(value_type = Vec<String>)]
    pub networks: inkan_domain::StaffNetworks,
}

/// The organization's IP restriction; administrators.
#[utoipa::path(get, path = "/api/v1/organization/staff-networks", tag = "admin",
    security(("api_key" = [])),
    responses(
        (status = 200, body = StaffNetworksBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn staff_networks(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<StaffNetworksBody>, ApiError> {
    let networks = state.inkan.staff_networks(&staff).await?;
    Ok(Json(StaffNetworksBody { networks }))
}

/// Replaces the organization's IP restriction; administrators. A list that leaves out the
/// address of this very request is refused (400), so nobody locks themselves out.
#[utoipa::path(put, path = "/api/v1/organization/staff-networks", tag = "admin",
    request_body = StaffNetworksBody,
    security(("api_key" = [])),
    responses(
        (status = 200, body = StaffNetworksBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn set_staff_networks(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<StaffNetworksBody>,
) -> Result<Json<StaffNetworksBody>, ApiError> {
    let networks = state
        .inkan
        .set_staff_networks(&staff, &caller, input.networks)
        .await?;
    Ok(Json(StaffNetworksBody { networks }))
}

/// Whether every staff user must log in with a second factor.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaRequiredBody {
    /// `true`: users without an authenticator set one up at their next login, and nobody can
    /// remove theirs.
    pub required: bool,
}

/// Requires (or stops requiring) MFA of every staff user; administrators.
#[utoipa::path(put, path = "/api/v1/organization/mfa-required", tag = "admin",
    request_body = MfaRequiredBody,
    security(("api_key" = [])),
    responses(
        (status = 200, body = MfaRequiredBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn set_mfa_required(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<MfaRequiredBody>,
) -> Result<Json<MfaRequiredBody>, ApiError> {
    state
        .inkan
        .set_mfa_required(&staff, &caller, input.required)
        .await?;
    Ok(Json(input))
}

/// Resets a user's second factor (a lost phone and lost recovery codes): their authenticator
/// and recovery codes are removed and every session of theirs ends; administrators.
#[utoipa::path(post, path = "/api/v1/users/{id}/mfa/reset", tag = "admin",
    params(("id" = String, Path, description = "the user's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "reset"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn reset_mfa(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inkan.reset_mfa(&staff, &id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's staff users, disabled and invited ones included; administrators.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    security(("api_key" = [])),
    responses(
        (status = 200, body = [inkan_service::UserLine]),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn users(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<inkan_service::UserLine>>, ApiError> {
    Ok(Json(state.inkan.users(&staff).await?))
}

/// Invites a staff user: they get an email with a link (valid 7 days, once) where they set
/// their own password; administrators.
#[utoipa::path(post, path = "/api/v1/users/invite", tag = "admin",
    request_body = inkan_service::NewUser,
    security(("api_key" = [])),
    responses(
        (status = 201, body = inkan_service::UserView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn invite_user(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<inkan_service::NewUser>,
) -> Result<(StatusCode, Json<inkan_service::UserView>), ApiError> {
    let user = state.inkan.invite_user(&staff, &input, &caller).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Mails an invited user's link again; administrators.
#[utoipa::path(post, path = "/api/v1/users/{id}/invitation", tag = "admin",
    params(("id" = String, Path, description = "the user's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "mailed"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn send_invitation(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inkan.send_invitation(&staff, &id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a user another role (the last administrator keeps theirs); administrators.
#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "admin",
    params(("id" = String, Path, description = "the user's ID")),
    request_body = inkan_service::RoleChange,
    security(("api_key" = [])),
    responses(
        (status = 204, description = "changed"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn change_role(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<inkan_service::RoleChange>,
) -> Result<StatusCode, ApiError> {
    state
        .inkan
        .change_role(&staff, &id, input.role, &caller)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's 操作ログ, newest first, 100 a page (`before` the last `seq` for the next),
/// filtered by user, action and days (Japan); administrators.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin",
    params(inkan_service::LogFilter),
    security(("api_key" = [])),
    responses(
        (status = 200, body = [inkan_service::LogLine]),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn organization_log(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    crate::extract::Query(filter): crate::extract::Query<inkan_service::LogFilter>,
) -> Result<Json<Vec<inkan_service::LogLine>>, ApiError> {
    Ok(Json(state.inkan.organization_log(&staff, &filter).await?))
}

/// Revokes an API key at once; administrators.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "admin",
    params(("id" = String, Path, description = "the key's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "revoked"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn revoke_api_key(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inkan.revoke_api_key(&staff, &id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a user: every session ends at once and the user cannot log in; administrators.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "admin",
    params(("id" = String, Path, description = "the user's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "disabled"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn disable_user(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inkan.disable_user(&staff, &id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a user's password; every session of that user ends at once; administrators.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "admin",
    params(("id" = String, Path, description = "the user's ID")),
    request_body = PasswordRequest,
    security(("api_key" = [])),
    responses(
        (status = 204, description = "set"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn set_password(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .inkan
        .set_password(&staff, &id, &input.password, &caller)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a staff user (administrators and API keys only); a new department is created by name.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin",
    request_body = inkan_service::NewUser,
    security(("api_key" = [])),
    responses(
        (status = 201, body = inkan_service::UserView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn add_user(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<inkan_service::NewUser>,
) -> Result<(StatusCode, Json<inkan_service::UserView>), ApiError> {
    let user = state.inkan.add_user(&staff, &input, &caller).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// The organization's departments (部署).
#[utoipa::path(get, path = "/api/v1/departments", tag = "admin",
    security(("api_key" = [])),
    responses((status = 200, body = [inkan_service::DepartmentView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn departments(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<inkan_service::DepartmentView>>, ApiError> {
    Ok(Json(state.inkan.departments(&staff).await?))
}

/// Registers a webhook endpoint for the organization's envelope events.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "admin",
    request_body = WebhookRequest,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "registered; the HMAC secret is shown once", body = WebhookCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn add_webhook(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<WebhookRequest>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let created = state.inkan.add_webhook(&staff, &input.url, &caller).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The organization's job queue: queued, running, stalled and failed work.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "admin",
    security(("api_key" = [])),
    responses((status = 200, body = JobReport), (status = 401, body = ErrorBody)))]
pub(crate) async fn jobs(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<JobReport>, ApiError> {
    Ok(Json(
        state.inkan.job_report(Some(staff.organization)).await?,
    ))
}

/// Puts a failed job back in the queue.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "admin",
    params(("id" = String, Path, description = "the job's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "queued again"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn retry_job(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.inkan.retry_job(Some(staff.organization), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's single sign-on (OpenID Connect), if set; administrators.
#[utoipa::path(get, path = "/api/v1/organization/sso", tag = "admin",
    security(("api_key" = [])),
    responses(
        (status = 200, body = Option<inkan_service::SsoSettings>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn sso(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Option<inkan_service::SsoSettings>>, ApiError> {
    Ok(Json(state.inkan.sso_settings(&staff).await?))
}

/// Sets the organization's single sign-on: the provider's issuer, the client, the email
/// domains whose users it logs in (provisioned at their first login), and whether password
/// login is off; administrators who read every document.
#[utoipa::path(put, path = "/api/v1/organization/sso", tag = "admin",
    request_body = inkan_service::SsoInput,
    security(("api_key" = [])),
    responses(
        (status = 200, body = inkan_service::SsoSettings),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn set_sso(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<inkan_service::SsoInput>,
) -> Result<Json<inkan_service::SsoSettings>, ApiError> {
    Ok(Json(state.inkan.set_sso(&staff, &caller, &input).await?))
}

/// Turns single sign-on off; administrators who read every document.
#[utoipa::path(delete, path = "/api/v1/organization/sso", tag = "admin",
    security(("api_key" = [])),
    responses(
        (status = 204, description = "off"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn remove_sso(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
) -> Result<StatusCode, ApiError> {
    state.inkan.remove_sso(&staff, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
