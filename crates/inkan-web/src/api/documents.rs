//! 電帳法 search over the organization's documents, as JSON or as a CSV for Excel.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use inkan_service::{DocumentHitView, SearchInput};

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
