//! Liveness and the API's own description.

use axum::Json;
use utoipa::OpenApi;

use crate::openapi::ApiDoc;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database, the blob store and the TSA answer (checked at most every 30 s;
/// 503 names what does not).
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses(
        (status = 200, description = "ready", body = inkan_service::Readiness),
        (status = 503, description = "not ready: the failing part says why", body = inkan_service::Readiness)))]
pub(crate) async fn readyz(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::AppState>>,
) -> (axum::http::StatusCode, Json<inkan_service::Readiness>) {
    let readiness = state.inkan.readiness().await;
    let status = if readiness.ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "the OpenAPI 3 document", content_type = "application/json")))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
