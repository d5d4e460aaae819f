//! Verification for anyone: `POST /api/v1/verify` with a signed PDF as the body. No credential
//! is needed and nothing of the file is kept; requests are rate-limited per client like the
//! link pages.

use axum::body::Body;
use axum::extract::State;
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Query, Shared};

/// Largest body of `POST /api/v1/verify` (the service reads at most 50 MB).
pub(crate) const MAX_VERIFY_BODY: usize = inkan_service::MAX_VERIFY_BYTES + 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct VerifyQuery {
    /// The file's name, shown in the report (`contract.pdf` when absent).
    #[serde(default)]
    name: Option<String>,
}

/// The verification report: `report` is the `inkan verify --json` report (each signature and
/// document timestamp: validity, signer, time, timestamp, level, LTV, changes since), and
/// `conclusion` says whether the 締結証明書ID shown on the document is that of an envelope
/// concluded here (「締結証明書ID と一致します」).
#[derive(utoipa::ToSchema)]
#[schema(value_type = Object)]
#[allow(
    dead_code,
    reason = "only describes the report in the OpenAPI document"
)]
pub(crate) struct VerificationBody(serde_json::Value);

/// Verifies a signed PDF (the raw file as the body), offline against this installation's root.
#[utoipa::path(post, path = "/api/v1/verify", tag = "verify",
    params(VerifyQuery),
    request_body(content = crate::api::Binary, content_type = "application/pdf", description = "the PDF, at most 50 MB"),
    responses(
        (status = 200, body = VerificationBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn verify(
    State(state): State<Shared>,
    Query(q): Query<VerifyQuery>,
    body: Body,
) -> Result<Json<inkan_service::Verification>, ApiError> {
    let name = q
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "contract.pdf".into());
    // A place first: when the verifier is full, the upload is not kept, only read through
    // (a client still sending would otherwise see a reset connection instead of the 503).
    let mut chunks = body.into_data_stream();
    let slot = match state.inkan.verification_slot() {
        Ok(slot) => slot,
        Err(busy) => {
            let mut read = 0usize;
            while let Some(Ok(chunk)) = chunks.next().await {
                read += chunk.len();
                if read > MAX_VERIFY_BODY {
                    break;
                }
            }
            return Err(busy.into());
        }
    };
    let mut upload = state.inkan.receive_upload()?;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::BadRequest(format!(
                "アップロードを読み取れません (the upload could not be read): {e}"
            ))
        })?;
        upload.write(&chunk)?;
    }
    Ok(Json(
        state.inkan.verify_received(slot, &name, upload).await?,
    ))
}
