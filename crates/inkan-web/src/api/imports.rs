//! Contracts concluded outside Inkan (paper, another service) imported with a document
//! timestamp, and the 訂正削除の履歴 of every document's 電帳法 items.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use inkan_service::{
    DocumentView, EnvelopeView, ImportInput, MetadataChangeView, MetadataCorrection, ServiceError,
};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Shared, StaffAuth};

/// Imports a contract concluded outside Inkan: the PDF (base64) is checked — readable, not
/// encrypted; signatures are kept valid — stored as it came and with a document timestamp added,
/// and found by the 電帳法 search (status `imported`).
#[utoipa::path(post, path = "/api/v1/imports", tag = "documents",
    request_body = ImportInput,
    security(("api_key" = [])),
    responses(
        (status = 201, body = EnvelopeView),
        (status = 400, description = "a field is wrong, or the PDF is damaged, encrypted or not a PDF", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, description = "the TSA did not answer: nothing was imported", body = ErrorBody)))]
pub(crate) async fn import(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<ImportInput>,
) -> Result<(StatusCode, Json<EnvelopeView>), ApiError> {
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(input.content_base64.trim())
        .map_err(|e| {
            ApiError::Service(ServiceError::Invalid(format!(
                "content_base64: 内容が base64 として読めません (not valid base64: {e})"
            )))
        })?;
    let view = state
        .inkan
        .import_contract(&staff, &input, pdf, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Corrects a document's 電帳法 items (訂正): the items before and after and the reason are
/// kept in the audit trail.
#[utoipa::path(put, path = "/api/v1/envelopes/{id}/documents/{doc}/metadata", tag = "documents",
    params(("id" = String, Path, description = "the envelope's ID"),
           ("doc" = String, Path, description = "the document's ID")),
    request_body = MetadataCorrection,
    security(("api_key" = [])),
    responses(
        (status = 200, body = DocumentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn correct(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path((id, doc)): Path<(String, String)>,
    Json(input): Json<MetadataCorrection>,
) -> Result<Json<DocumentView>, ApiError> {
    Ok(Json(
        state
            .inkan
            .correct_metadata(&staff, &id, &doc, &input, &caller)
            .await?,
    ))
}

/// A document's 訂正削除の履歴, oldest first.
#[utoipa::path(get, path = "/api/v1/envelopes/{id}/documents/{doc}/metadata/history", tag = "documents",
    params(("id" = String, Path, description = "the envelope's ID"),
           ("doc" = String, Path, description = "the document's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = Vec<MetadataChangeView>),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn history(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Json<Vec<MetadataChangeView>>, ApiError> {
    Ok(Json(state.inkan.metadata_history(&staff, &id, &doc).await?))
}
