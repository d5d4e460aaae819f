//! 電帳法 search over the organization's documents, as JSON, as a CSV for Excel, or as the ZIP a
//! tax inspector asks for (ダウンロードの求め).

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use inkan_service::{DocumentHitView, SearchInput, TaxExport};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Query, Shared, StaffAuth};

/// Searches by 取引年月日, 取引金額 and 取引先, in any combination.
#[utoipa::path(get, path = "/api/v1/documents/search", tag = "documents",
    params(SearchInput),
    security(("api_key" = [])),
    responses(
        (status = 200, body = Vec<DocumentHitView>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn search(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Query(q): Query<SearchInput>,
) -> Result<Json<Vec<DocumentHitView>>, ApiError> {
    Ok(Json(state.inkan.search(&staff, &q).await?))
}

/// The same search as CSV (UTF-8 with a BOM); the export is recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/documents/search.csv", tag = "documents",
    params(SearchInput),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "CSV, UTF-8 with a BOM", content_type = "text/csv; charset=utf-8", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn search_csv(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Query(q): Query<SearchInput>,
) -> Result<Response, ApiError> {
    let csv = state.inkan.search_csv(&staff, &q, &caller).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"inkan-documents.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// Everything the search finds, as one ZIP (ダウンロードの求め): each document as it now stands,
/// each envelope's 電子契約締結証明書 and `索引.csv`. Streamed as it is written; recorded in
/// the audit trail. At most 100,000 documents.
#[utoipa::path(get, path = "/api/v1/documents/export.zip", tag = "documents",
    params(SearchInput),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "ZIP: 索引.csv, 文書/…, 締結証明書/…", content_type = "application/zip", body = crate::api::Binary),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn tax_export(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Query(q): Query<SearchInput>,
) -> Result<Response, ApiError> {
    let export = state.inkan.tax_export(&staff, &q, &caller).await?;
    Ok(zip_response(export))
}

/// A ZIP sent as it is written.
pub(crate) fn zip_response(export: TaxExport) -> Response {
    let disposition = crate::render::content_disposition(&export.file_name);
    let chunks = futures_util::stream::unfold(export.chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}
