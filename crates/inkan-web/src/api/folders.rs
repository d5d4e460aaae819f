//! 閲覧権限: groups, folders and their grants (administrators), an envelope's folder and who it
//! is shared with (whoever may change it).

use axum::extract::State;
use axum::http::StatusCode;
use inkan_domain::{FolderId, GroupId};
use inkan_service::{EnvelopeMove, EnvelopeShares, FolderInput, FolderView, GroupInput, GroupView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Shared, StaffAuth};

/// The organization's groups with their members; administrators.
#[utoipa::path(get, path = "/api/v1/groups", tag = "admin",
    security(("api_key" = [])),
    responses(
        (status = 200, body = [GroupView]),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn groups(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<GroupView>>, ApiError> {
    Ok(Json(state.inkan.groups(&staff).await?))
}

/// Creates a group; administrators who read every document.
#[utoipa::path(post, path = "/api/v1/groups", tag = "admin",
    request_body = GroupInput,
    security(("api_key" = [])),
    responses(
        (status = 201, body = GroupView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn create_group(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<GroupInput>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let group = state.inkan.create_group(&staff, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Renames a group and replaces its members.
#[utoipa::path(put, path = "/api/v1/groups/{id}", tag = "admin",
    params(("id" = String, Path, description = "the group's ID")),
    request_body = GroupInput,
    security(("api_key" = [])),
    responses(
        (status = 200, body = GroupView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update_group(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<GroupId>,
    Json(input): Json<GroupInput>,
) -> Result<Json<GroupView>, ApiError> {
    Ok(Json(
        state
            .inkan
            .update_group(&staff, &caller, id, &input)
            .await?,
    ))
}

/// Deletes a group (its members keep their accounts; its folders lose the grant).
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "admin",
    params(("id" = String, Path, description = "the group's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, description = "not a group ID", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_group(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<GroupId>,
) -> Result<StatusCode, ApiError> {
    state.inkan.delete_group(&staff, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The folders the caller may send into, in tree order (every folder for a caller who reads
/// every document).
#[utoipa::path(get, path = "/api/v1/folders", tag = "envelopes",
    security(("api_key" = [])),
    responses(
        (status = 200, body = [FolderView]),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn folders(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<FolderView>>, ApiError> {
    Ok(Json(state.inkan.choosable_folders(&staff).await?))
}

/// Creates a folder, at the top or under another, granted to groups.
#[utoipa::path(post, path = "/api/v1/folders", tag = "admin",
    request_body = FolderInput,
    security(("api_key" = [])),
    responses(
        (status = 201, body = FolderView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn create_folder(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<FolderInput>,
) -> Result<(StatusCode, Json<FolderView>), ApiError> {
    let folder = state.inkan.create_folder(&staff, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(folder)))
}

/// Renames a folder, moves it under another (or to the top) and replaces its grants.
#[utoipa::path(put, path = "/api/v1/folders/{id}", tag = "admin",
    params(("id" = String, Path, description = "the folder's ID")),
    request_body = FolderInput,
    security(("api_key" = [])),
    responses(
        (status = 200, body = FolderView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update_folder(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<FolderId>,
    Json(input): Json<FolderInput>,
) -> Result<Json<FolderView>, ApiError> {
    Ok(Json(
        state
            .inkan
            .update_folder(&staff, &caller, id, &input)
            .await?,
    ))
}

/// Deletes an empty folder.
#[utoipa::path(delete, path = "/api/v1/folders/{id}", tag = "admin",
    params(("id" = String, Path, description = "the folder's ID")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, description = "not empty", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_folder(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<FolderId>,
) -> Result<StatusCode, ApiError> {
    state.inkan.delete_folder(&staff, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether every envelope must be sent into a folder.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FolderRequiredBody {
    pub required: bool,
}

/// Requires (or stops requiring) a folder for every new envelope.
#[utoipa::path(put, path = "/api/v1/organization/folder-required", tag = "admin",
    request_body = FolderRequiredBody,
    security(("api_key" = [])),
    responses(
        (status = 200, body = FolderRequiredBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn set_folder_required(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<FolderRequiredBody>,
) -> Result<Json<FolderRequiredBody>, ApiError> {
    state
        .inkan
        .set_folder_required(&staff, &caller, input.required)
        .await?;
    Ok(Json(input))
}

/// Moves an envelope into a folder the caller may choose (`null`: the top level).
#[utoipa::path(put, path = "/api/v1/envelopes/{id}/folder", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    request_body = EnvelopeMove,
    security(("api_key" = [])),
    responses(
        (status = 204, description = "moved"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn move_envelope(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<EnvelopeMove>,
) -> Result<StatusCode, ApiError> {
    state
        .inkan
        .move_envelope(&staff, &caller, &id, input.folder)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users one envelope is shared with (個別共有).
#[utoipa::path(get, path = "/api/v1/envelopes/{id}/shares", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeShares),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn shares(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<EnvelopeShares>, ApiError> {
    Ok(Json(state.inkan.envelope_shares(&staff, &id).await?))
}

/// Shares one envelope with exactly these users (replacing the earlier ones).
#[utoipa::path(put, path = "/api/v1/envelopes/{id}/shares", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    request_body = EnvelopeShares,
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeShares),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn share(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<EnvelopeShares>,
) -> Result<Json<EnvelopeShares>, ApiError> {
    Ok(Json(
        state
            .inkan
            .share_envelope(&staff, &caller, &id, &input.users)
            .await?,
    ))
}
