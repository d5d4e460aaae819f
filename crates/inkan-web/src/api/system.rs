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

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "the OpenAPI 3 document", content_type = "application/json")))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
