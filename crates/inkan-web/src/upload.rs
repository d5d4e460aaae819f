//! An envelope uploaded as `multipart/form-data` (the API's `POST /api/v1/envelopes` and the
//! staff's compose page): a part `envelope` first — the envelope as JSON, its documents without
//! `content_base64` — then one part `document` per announced document, in their order, and any
//! number of parts `attachment` (their file names are the attachments' names). Each file is read
//! and handed to the service as it arrives (checked, stored encrypted), so memory holds one file
//! at a time, never the envelope. A refused part stops the upload and deletes what was stored.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;
use inkan_service::{Caller, EnvelopeIntake, EnvelopeView, NewEnvelope, ServiceError, Staff};

use crate::error::ApiError;
use crate::extract::Shared;

/// The envelope's JSON part is small: its documents' contents come in their own parts.
const MAX_ENVELOPE_JSON: u64 = 4 * 1024 * 1024;

/// Receives a multipart envelope and creates its draft.
pub(crate) async fn receive_envelope(
    state: &Shared,
    staff: &Staff,
    mut multipart: Multipart,
    caller: &Caller,
) -> Result<EnvelopeView, ApiError> {
    let first = multipart.next_field().await.map_err(unreadable)?;
    let input: NewEnvelope = match first {
        Some(mut field) if field.name() == Some("envelope") => {
            let json = read_part(&mut field, MAX_ENVELOPE_JSON, "envelope").await?;
            serde_json::from_slice(&json).map_err(|e| {
                ApiError::BadRequest(format!(
                    "envelope: JSON として読めません (the envelope part is not the envelope's JSON): {e}"
                ))
            })?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "最初のパートは封筒の JSON (名前 envelope) にしてください (the first part must be `envelope`, the envelope as JSON)"
                    .into(),
            ))
        }
    };
    if !input.attachments.is_empty() || input.documents.iter().any(|d| !d.content_base64.is_empty())
    {
        return Err(ApiError::BadRequest(
            "multipart では PDF を document / attachment のパートで送ってください (in a multipart upload the files come as `document` and `attachment` parts, not as base64 in the envelope)"
                .into(),
        ));
    }
    let mut intake = state.inkan.start_envelope(staff, input).await?;
    match receive_files(state, &mut intake, &mut multipart).await {
        Ok(()) => Ok(state.inkan.finish_envelope(intake, caller).await?),
        Err(e) => {
            state.inkan.abandon_envelope(intake).await;
            Err(e)
        }
    }
}

async fn receive_files(
    state: &Shared,
    intake: &mut EnvelopeIntake,
    multipart: &mut Multipart,
) -> Result<(), ApiError> {
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("document") => {
                let what = format!("document {}", intake.documents_received() + 1);
                let bytes = read_part(&mut field, intake.bytes_left(), &what).await?;
                state.inkan.add_document_file(intake, bytes).await?;
            }
            Some("attachment") => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = read_part(
                    &mut field,
                    inkan_service::MAX_ATTACHMENT_BYTES as u64,
                    &format!("attachment {name}"),
                )
                .await?;
                state.inkan.add_attachment_file(intake, &name, bytes).await?;
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "パート {:?} は使えません: document か attachment にしてください (unknown part {:?}: use document or attachment)",
                    other.unwrap_or_default(),
                    other.unwrap_or_default()
                )))
            }
        }
    }
    Ok(())
}

/// The bytes of one part, refused past `cap` while they arrive.
async fn read_part(field: &mut Field<'_>, cap: u64, what: &str) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Err(ApiError::Service(ServiceError::Invalid(format!(
                "{what}: 大きすぎます ({} MB まで) (too large: at most {} MB here)",
                cap / (1024 * 1024),
                cap / (1024 * 1024)
            ))));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn unreadable(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!(
            "アップロードが大きすぎます (the upload is larger than this route accepts): {e}"
        ))
    } else {
        ApiError::BadRequest(format!(
            "アップロードを読み取れません (the multipart upload could not be read): {e}"
        ))
    }
}

/// The multipart reader of a request whose content type says `multipart/form-data`.
pub(crate) async fn multipart(
    request: axum::extract::Request,
    state: &Shared,
) -> Result<Multipart, ApiError> {
    use axum::extract::FromRequest;
    Multipart::from_request(request, state).await.map_err(|r| {
        ApiError::BadRequest(format!(
            "アップロードを読み取れません (the multipart upload could not be read): {}",
            r.body_text()
        ))
    })
}

/// Whether a request carries `multipart/form-data`.
pub(crate) fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}
