//! テンプレート (reusable envelopes in versions, with 差込み項目) and 一括送信 (one envelope per
//! row of a CSV).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_service::{
    BatchView, BulkStart, EnvelopeView, FromTemplate, NewTemplate, ServiceError, TemplateSummary,
    TemplateView,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Query, Shared, StaffAuth};
use crate::render::content_disposition;

/// The organization's templates, each at its latest version.
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates",
    security(("api_key" = [])),
    responses(
        (status = 200, body = Vec<TemplateSummary>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<TemplateSummary>>, ApiError> {
    Ok(Json(state.inkan.templates(&staff).await?))
}

/// Saves a new template (version 1): roles, documents (base64), fields and 差込み項目, each
/// checked as the envelope it would make.
#[utoipa::path(post, path = "/api/v1/templates", tag = "templates",
    request_body = NewTemplate,
    security(("api_key" = [])),
    responses(
        (status = 201, body = TemplateView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<NewTemplate>,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    let view = state
        .inkan
        .save_template(&staff, None, &input, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Which version to read or use.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct VersionQuery {
    /// A version number (the latest when absent).
    #[serde(default)]
    version: Option<u32>,
}

/// One version of a template (the latest unless `version` is given), with its history.
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path, description = "the template's ID"), VersionQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = TemplateView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(state.inkan.template(&staff, &id, q.version).await?))
}

/// Saves a new version of a template. A document given without content keeps the previous
/// version's PDF of the same name; envelopes made earlier keep the version they used.
#[utoipa::path(post, path = "/api/v1/templates/{id}/versions", tag = "templates",
    params(("id" = String, Path, description = "the template's ID")),
    request_body = NewTemplate,
    security(("api_key" = [])),
    responses(
        (status = 201, body = TemplateView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "another version was saved at the same moment", body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub(crate) async fn new_version(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<NewTemplate>,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    let view = state
        .inkan
        .save_template(&staff, Some(&id), &input, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Makes an envelope from a template: roles filled, 差込み項目 drawn into the PDFs; a draft, or
/// sent at once with `"send": true`.
#[utoipa::path(post, path = "/api/v1/templates/{id}/envelopes", tag = "templates",
    params(("id" = String, Path, description = "the template's ID")),
    request_body = FromTemplate,
    security(("api_key" = [])),
    responses(
        (status = 201, body = EnvelopeView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn make_envelope(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<FromTemplate>,
) -> Result<(StatusCode, Json<EnvelopeView>), ApiError> {
    let view = state
        .inkan
        .envelope_from_template(&staff, &id, &input, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The header line of the template's bulk-send CSV (UTF-8 with a BOM, for Excel).
#[utoipa::path(get, path = "/api/v1/templates/{id}/bulk.csv", tag = "templates",
    params(("id" = String, Path, description = "the template's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "CSV, UTF-8 with a BOM", content_type = "text/csv; charset=utf-8", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn bulk_csv(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let csv = state.inkan.bulk_csv_template(&staff, &id).await?;
    Ok(csv_response("一括送信.csv", csv))
}

pub(crate) fn csv_response(name: &str, csv: String) -> Response {
    let disposition = HeaderValue::from_str(&content_disposition(name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response()
}

/// How a bulk send's CSV is named and which version it uses.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct BulkQuery {
    /// A version number (the latest when absent).
    #[serde(default)]
    version: Option<u32>,
    /// The CSV's name as the page shows it (`一括送信.csv` when absent).
    #[serde(default)]
    file_name: Option<String>,
    /// The folder (フォルダ) every envelope goes into (required when the organization requires
    /// one).
    #[serde(default)]
    folder: Option<String>,
}

/// Starts a bulk send: the body is the CSV (UTF-8 or CP932, up to 1,500 rows), every row
/// checked before anything is sent; then one job per row makes and sends its envelope.
#[utoipa::path(post, path = "/api/v1/templates/{id}/bulk", tag = "templates",
    params(("id" = String, Path, description = "the template's ID"), BulkQuery),
    request_body(content = String, content_type = "text/csv", description = "the CSV"),
    security(("api_key" = [])),
    responses(
        (status = 201, body = BatchView),
        (status = 400, description = "a row or column is wrong (named by line and column)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn start_bulk(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Query(q): Query<BulkQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<BatchView>), ApiError> {
    let folder = match q.folder.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(
            f.parse()
                .map_err(|_| ApiError::Service(ServiceError::NotFound("the folder")))?,
        ),
        None => None,
    };
    let start = BulkStart {
        version: q.version,
        file_name: q.file_name.unwrap_or_else(|| "一括送信.csv".into()),
        folder,
    };
    let view = state
        .inkan
        .start_bulk_send(&staff, &id, &start, &body, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The organization's bulk sends, newest first, with their progress.
#[utoipa::path(get, path = "/api/v1/bulk", tag = "templates",
    security(("api_key" = [])),
    responses(
        (status = 200, body = Vec<BatchView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn batches(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<BatchView>>, ApiError> {
    Ok(Json(state.inkan.batches(&staff).await?))
}

/// One bulk send with each row: waiting, sent (with its envelope) or failed (with the reason).
#[utoipa::path(get, path = "/api/v1/bulk/{id}", tag = "templates",
    params(("id" = String, Path, description = "the bulk send's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = BatchView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn batch(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    Ok(Json(state.inkan.batch(&staff, &id).await?))
}
