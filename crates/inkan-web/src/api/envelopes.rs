//! Envelopes (封筒): create a draft, list, read, send, cancel, remind, download what is inside,
//! and read the audit trail.

use axum::extract::{FromRequest, State};
use axum::http::StatusCode;
use axum::response::Response;
use inkan_domain::StatusKind;
use inkan_service::{EnvelopeSummary, EnvelopeView, NewEnvelope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Query, Shared, StaffAuth};
use crate::render;

/// Which envelopes to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only envelopes of this status.
    #[serde(default, deserialize_with = "crate::extract::empty_as_none")]
    status: Option<StatusKind>,
    /// At most this many (1–500; default 50).
    limit: Option<u32>,
    /// Skip this many (default 0).
    offset: Option<u32>,
}

/// Why an envelope is cancelled.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelRequest {
    /// 取消理由, shown to the recipients.
    pub reason: String,
}

/// One entry of the hash-chained audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// 1, 2, 3 … within the organization's chain.
    pub seq: i64,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// `user:<id>`, `api_key:<id>`, `recipient:<id> <email>` or `system`.
    pub actor: String,
    /// `create`, `send`, `view`, `download`, `sign`, `decline`, `cancel`, `seal` …
    pub action: String,
    pub envelope: Option<String>,
    pub document: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// The previous entry's `hash`.
    pub prev_hash: String,
    /// `k1:` and the hex HMAC-SHA256 over `prev_hash` and this entry under the installation's
    /// chain key (plain hex SHA-256 in entries written before chains were keyed).
    pub hash: String,
}

impl From<inkan_store::AuditEntry> for AuditEntryView {
    fn from(a: inkan_store::AuditEntry) -> Self {
        let e = a.entry;
        AuditEntryView {
            seq: a.seq,
            at: e.at,
            actor: e.actor,
            action: e.action,
            envelope: e.envelope.map(|id| id.to_string()),
            document: e.document.map(|id| id.to_string()),
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e.detail,
            prev_hash: a.prev_hash,
            hash: a.hash,
        }
    }
}

/// An envelope as `multipart/form-data`: its JSON first, then its files, read one at a time.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the parts `crate::upload` reads, for the OpenAPI document
pub(crate) struct EnvelopeUpload {
    /// The envelope (`NewEnvelope` as JSON, each document's `content_base64` left out): the
    /// first part.
    envelope: NewEnvelope,
    /// One PDF per document of `envelope.documents`, in their order.
    #[schema(value_type = Vec<String>, format = Binary)]
    document: Vec<Vec<u8>>,
    /// Files the sender attaches; each part's file name is the attachment's name.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    attachment: Option<Vec<Vec<u8>>>,
}

/// Creates a draft envelope with its documents, recipients and fields: as JSON with the PDFs
/// in base64 (small clients), or as `multipart/form-data` with the PDFs as parts, streamed (up
/// to 100 documents, 200 MB).
#[utoipa::path(post, path = "/api/v1/envelopes", tag = "envelopes",
    request_body(content((NewEnvelope = "application/json"), (EnvelopeUpload = "multipart/form-data"))),
    security(("api_key" = [])),
    responses(
        (status = 201, body = EnvelopeView),
        (status = 400, description = "a field is wrong, the base64 is bad, a part is missing or unknown, or a document is not a PDF Inkan can sign", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "larger than 300 MB", body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    request: axum::extract::Request,
) -> Result<(StatusCode, Json<EnvelopeView>), ApiError> {
    let view = if crate::upload::is_multipart(request.headers()) {
        let multipart = crate::upload::multipart(request, &state).await?;
        crate::upload::receive_envelope(&state, &staff, multipart, &caller).await?
    } else {
        let Json(input) = Json::<NewEnvelope>::from_request(request, &state).await?;
        state.inkan.create_envelope(&staff, &input, &caller).await?
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// The organization's envelopes, newest first.
#[utoipa::path(get, path = "/api/v1/envelopes", tag = "envelopes",
    params(ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = Vec<EnvelopeSummary>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<EnvelopeSummary>>, ApiError> {
    let list = state
        .inkan
        .envelopes(
            &staff,
            q.status,
            q.limit.unwrap_or(50),
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(list))
}

/// One envelope with its recipients, documents and progress.
#[utoipa::path(get, path = "/api/v1/envelopes/{id}", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<EnvelopeView>, ApiError> {
    Ok(Json(state.inkan.envelope(&staff, &id).await?))
}

/// Sends a draft (送信): approvers first, then the signers in routing order.
#[utoipa::path(post, path = "/api/v1/envelopes/{id}/send", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "not possible in the envelope's state", body = ErrorBody)))]
pub(crate) async fn send(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<Json<EnvelopeView>, ApiError> {
    Ok(Json(state.inkan.send(&staff, &id, &caller).await?))
}

/// Cancels (取消) an unfinished envelope, with a reason.
#[utoipa::path(post, path = "/api/v1/envelopes/{id}/cancel", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    request_body = CancelRequest,
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<CancelRequest>,
) -> Result<Json<EnvelopeView>, ApiError> {
    let view = state
        .inkan
        .cancel(&staff, &id, &input.reason, &caller)
        .await?;
    Ok(Json(view))
}

/// Sends the request again to everyone whose turn it is (リマインド).
#[utoipa::path(post, path = "/api/v1/envelopes/{id}/remind", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn remind(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<Json<EnvelopeView>, ApiError> {
    Ok(Json(state.inkan.remind(&staff, &id, &caller).await?))
}

/// Sends one recipient a fresh link (a forwarded or leaked mail): the old link stops working at
/// once and the request mail goes out again.
#[utoipa::path(post, path = "/api/v1/envelopes/{id}/recipients/{recipient}/new-link", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID"),
           ("recipient" = String, Path, description = "the recipient's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = EnvelopeView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn new_link(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path((id, recipient)): Path<(String, String)>,
) -> Result<Json<EnvelopeView>, ApiError> {
    Ok(Json(
        state
            .inkan
            .send_fresh_link(&staff, &id, &recipient, &caller)
            .await?,
    ))
}

/// A document's current revision (the signed PDF once sealed); recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/envelopes/{id}/documents/{doc}", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID"),
           ("doc" = String, Path, description = "the document's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the PDF", content_type = "application/pdf", body = crate::api::Binary),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn document(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state
        .inkan
        .download_document(&staff, &id, &doc, &caller)
        .await?;
    Ok(render::file(&name, bytes))
}

/// A sender's or signer's attachment; recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/envelopes/{id}/attachments/{att}", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID"),
           ("att" = String, Path, description = "the attachment's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the file", content_type = "application/pdf", body = crate::api::Binary),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn attachment(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path((id, att)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state
        .inkan
        .download_attachment(&staff, &id, &att, &caller)
        .await?;
    Ok(render::file(&name, bytes))
}

/// The signed 電子契約締結証明書 of a concluded envelope; recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/envelopes/{id}/certificate", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the certificate of conclusion (PDF, signed and timestamped)", content_type = "application/pdf", body = crate::api::Binary),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn conclusion_certificate(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state
        .inkan
        .download_certificate(&staff, &id, &caller)
        .await?;
    Ok(render::file(&name, bytes))
}

/// The envelope's audit trail, oldest first.
#[utoipa::path(get, path = "/api/v1/envelopes/{id}/audit", tag = "envelopes",
    params(("id" = String, Path, description = "the envelope's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = Vec<AuditEntryView>),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn audit(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    let entries = state.inkan.audit_trail(&staff, Some(&id)).await?;
    Ok(Json(
        entries.into_iter().map(AuditEntryView::from).collect(),
    ))
}
