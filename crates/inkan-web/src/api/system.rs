//! Liveness, readiness and metrics (the API's own description is served by `openapi.rs`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database, the blob store and the TSA answer (checked at most every 30 s;
/// 503 names what does not). Why a part is down is told to loopback clients and to the metrics
/// token (as `/metrics`); anyone else reads `down`.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses(
        (status = 200, description = "ready", body = inkan_service::Readiness),
        (status = 503, description = "not ready: the failing part says `down`, or why to loopback clients and the metrics token", body = inkan_service::Readiness)))]
pub(crate) async fn readyz(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> (StatusCode, Json<inkan_service::Readiness>) {
    let client = crate::client::of(request.extensions());
    let token = state.inkan.settings().metrics_token_sha256.as_ref();
    let readiness = state.inkan.readiness().await;
    let readiness = if crate::metrics::may_read(client, request.headers(), token) {
        readiness
    } else {
        readiness.redacted()
    };
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// Prometheus metrics in the OpenMetrics text format: requests and latencies, jobs by state and
/// the age of the oldest, job (sealing) durations, TSA and OCSP failures, days left on each
/// certificate of the built-in PKI, the newest backup. Loopback clients only, unless a metrics
/// token is configured (`Authorization: Bearer <metrics token>`).
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses(
        (status = 200, description = "the metrics", body = String,
            content_type = "application/openmetrics-text"),
        (status = 403, description = "not a loopback client and no valid metrics token")))]
pub(crate) async fn metrics(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let client = crate::client::of(request.extensions());
    let token = state.inkan.settings().metrics_token_sha256.as_ref();
    if !crate::metrics::may_read(client, request.headers(), token) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "メトリクスはこのサーバー上からか、metrics_token を付けて読んでください / \
             metrics are for loopback clients or the metrics token\n",
        )
            .into_response();
    }
    match state.inkan.metrics_text().await {
        Ok(text) => (
            [(header::CONTENT_TYPE, inkan_service::METRICS_CONTENT_TYPE)],
            text,
        )
            .into_response(),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
