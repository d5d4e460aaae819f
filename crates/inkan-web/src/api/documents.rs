//! 電帳法 search over the organization's documents, as JSON, as a CSV for Excel, or as the ZIP a
//! tax inspector asks for (ダウンロードの求め).

use axum::extract::State;
use axum::response::Response;
use inkan_service::{DocumentHitView, SearchInput};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Query, Shared, StaffAuth};
use crate::render;

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

/// The same search as CSV (UTF-8 with a BOM), every hit, streamed page by page; the export is
/// recorded in the audit trail.
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
    Ok(render::streamed(
        CSV_NAME,
        "text/csv; charset=utf-8",
        csv.chunks,
    ))
}

/// The CSV's file name.
pub(crate) const CSV_NAME: &str = "inkan-documents.csv";

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
    Ok(render::streamed(
        &export.file_name,
        "application/zip",
        export.chunks,
    ))
}
