//! The completion link (14 days after sealing): the concluded envelope and its signed PDFs.

use axum::extract::State;
use axum::response::Response;
use inkan_service::CompletionView;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Shared};
use crate::render;

/// The concluded envelope (recorded as a view).
#[utoipa::path(get, path = "/api/v1/completion/{token}", tag = "completion",
    params(("token" = String, Path, description = "the token of the link in the completion email")),
    responses((status = 200, body = CompletionView), (status = 404, body = ErrorBody)))]
pub(crate) async fn open(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<Json<CompletionView>, ApiError> {
    Ok(Json(state.inkan.completion(&token, &caller).await?))
}

/// A signed document (recorded as a download).
#[utoipa::path(get, path = "/api/v1/completion/{token}/documents/{doc}", tag = "completion",
    params(("token" = String, Path, description = "the token of the link in the completion email"),
           ("doc" = String, Path, description = "the document's ID")),
    responses(
        (status = 200, description = "the signed PDF", content_type = "application/pdf", body = crate::api::Binary),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn document(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path((token, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state
        .inkan
        .completion_document(&token, &doc, &caller)
        .await?;
    Ok(render::file(&name, bytes))
}

/// The signed 電子契約締結証明書 (recorded as a download).
#[utoipa::path(get, path = "/api/v1/completion/{token}/certificate", tag = "completion",
    params(("token" = String, Path, description = "the token of the link in the completion email")),
    responses(
        (status = 200, description = "the certificate of conclusion (PDF, signed and timestamped)", content_type = "application/pdf", body = crate::api::Binary),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn conclusion_certificate(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state.inkan.completion_certificate(&token, &caller).await?;
    Ok(render::file(&name, bytes))
}
