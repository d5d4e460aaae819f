//! What a recipient does through their link, without an account: the token in the path is the
//! credential. Unknown or expired tokens are "not found"; links of a cancelled, declined or
//! expired envelope are "gone".

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use inkan_service::{AttachmentView, FieldInput, SignerView};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Query, Shared};
use crate::render;

/// Which attachment field a file is for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AttachQuery {
    /// The attachment field's ID.
    field: String,
    /// The file's name: `納付書.pdf`.
    name: String,
}

/// The signer's field values.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[serde(default)]
    pub values: Vec<FieldInput>,
}

/// Why the recipient declines.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeclineRequest {
    /// 辞退理由, shown to the sender.
    pub reason: String,
}

/// The request as this recipient sees it (recorded as a view).
#[utoipa::path(get, path = "/api/v1/sign/{token}", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    responses(
        (status = 200, body = SignerView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn open(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<Json<SignerView>, ApiError> {
    Ok(Json(state.inkan.open_link(&token, &caller).await?))
}

/// A document as it is now, for reading or internal review (recorded as a download).
#[utoipa::path(get, path = "/api/v1/sign/{token}/documents/{doc}", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email"),
           ("doc" = String, Path, description = "the document's ID")),
    responses(
        (status = 200, description = "the PDF", content_type = "application/pdf", body = crate::api::Binary),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn document(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path((token, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state.inkan.signer_document(&token, &doc, &caller).await?;
    Ok(render::file(&name, bytes))
}

/// Attaches a PDF (the raw file as the body) for one of the signer's attachment fields.
#[utoipa::path(post, path = "/api/v1/sign/{token}/attachments", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email"), AttachQuery),
    request_body(content = crate::api::Binary, content_type = "application/pdf", description = "the PDF, at most 20 MB"),
    responses(
        (status = 201, body = AttachmentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub(crate) async fn attach(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Query(q): Query<AttachQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<AttachmentView>), ApiError> {
    let view = state
        .inkan
        .attach(&token, &q.field, &q.name, body?.to_vec(), &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A 実印タイプ signer brings their own certificate: a PKCS#12 file and its password.
#[utoipa::path(post, path = "/api/v1/sign/{token}/certificate", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    request_body = inkan_service::OwnCertificateUpload,
    responses(
        (status = 201, body = inkan_service::OwnCertificateView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn upload_own_certificate(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Json(input): Json<inkan_service::OwnCertificateUpload>,
) -> Result<(StatusCode, Json<inkan_service::OwnCertificateView>), ApiError> {
    let view = state
        .inkan
        .upload_own_certificate(&token, &input, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Completes the signer's part (署名): records the field values and the signature.
#[utoipa::path(post, path = "/api/v1/sign/{token}/complete", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    request_body = CompleteRequest,
    responses(
        (status = 200, body = SignerView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn complete(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Json(input): Json<CompleteRequest>,
) -> Result<Json<SignerView>, ApiError> {
    Ok(Json(
        state.inkan.complete(&token, &input.values, &caller).await?,
    ))
}

/// An approver approves (社内承認).
#[utoipa::path(post, path = "/api/v1/sign/{token}/approve", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    responses(
        (status = 200, body = SignerView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
pub(crate) async fn approve(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<Json<SignerView>, ApiError> {
    Ok(Json(state.inkan.approve(&token, &caller).await?))
}

/// Declines (辞退) with a reason; the envelope ends there.
#[utoipa::path(post, path = "/api/v1/sign/{token}/decline", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    request_body = DeclineRequest,
    responses(
        (status = 204, description = "declined"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn decline(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Json(input): Json<DeclineRequest>,
) -> Result<StatusCode, ApiError> {
    state.inkan.decline(&token, &input.reason, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The code a signer's link asks for: an access code or an SMS code.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    pub code: String,
}

/// Gives the code of a link that asks for one (アクセスコード or SMS認証). Right: a pass, sent
/// as the `X-Inkan-Link-Pass` header with every other request of this link. Wrong: 400, counted;
/// the fifth locks the link (409) and tells the sender.
#[utoipa::path(post, path = "/api/v1/sign/{token}/code", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    request_body = CodeRequest,
    responses(
        (status = 200, body = inkan_service::LinkPass),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn give_code(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Json(input): Json<CodeRequest>,
) -> Result<Json<inkan_service::LinkPass>, ApiError> {
    Ok(Json(
        state
            .inkan
            .give_link_code(&token, &input.code, &caller)
            .await?,
    ))
}

/// Sends a fresh SMS code to the signer's phone (SMS認証): one a minute, five per link.
#[utoipa::path(post, path = "/api/v1/sign/{token}/sms", tag = "signer",
    params(("token" = String, Path, description = "the token of the link in the email")),
    responses(
        (status = 202, body = inkan_service::SmsSent),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub(crate) async fn send_sms(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<(StatusCode, Json<inkan_service::SmsSent>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.inkan.send_link_sms(&token, &caller).await?),
    ))
}
