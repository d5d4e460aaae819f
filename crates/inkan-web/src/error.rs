//! The one web error type: every failure of a request becomes an HTTP status, a stable code and
//! a message a person understands, as JSON (`{"error": {"code", "message"}}`) (the web pages
//! have their own, `ui::error::UiError`). Internal faults are logged in full and
//! answered with a reference only.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What a use case refused or failed to do.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The request itself is malformed: unreadable JSON, a missing field, a wrong content type,
    /// a bad query string.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the route accepts.
    #[error("{0}")]
    TooLarge(String),
    /// Authenticated (or not) but not allowed to use this route.
    #[error("{0}")]
    Forbidden(String),
    /// No route here.
    #[error("no such route: {0}")]
    NoRoute(String),
    /// A route exists, but not for this method.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid`, `not_allowed`, `not_found`, `gone`,
    /// `unauthenticated`, `forbidden`, `conflict`, `too_large`, `unavailable`, `busy` (with
    /// `Retry-After`), `internal`.
    pub code: String,
    /// For the person who made the request.
    pub message: String,
}

/// Starting the router failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("starting the PKI endpoints (OCSP, TSA): {0}")]
    Pki(#[from] inkan_pki::PkiError),
}

impl ApiError {
    /// Status, code and the message that may be shown (internal details are logged here, once).
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::Service(e) => {
                let status = match e {
                    ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
                    ServiceError::NotAllowed(_) => StatusCode::CONFLICT,
                    ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
                    ServiceError::Gone(_) => StatusCode::GONE,
                    ServiceError::Unauthenticated(_) | ServiceError::CheckRequired(_) => {
                        StatusCode::UNAUTHORIZED
                    }
                    ServiceError::NetworkRefused(_) => StatusCode::FORBIDDEN,
                    ServiceError::Conflict => StatusCode::CONFLICT,
                    ServiceError::Unavailable(_) | ServiceError::Busy(_) => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    ServiceError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                };
                let message = match e {
                    ServiceError::Internal { .. } => {
                        let reference = uuid::Uuid::new_v4();
                        tracing::error!(%reference, error = %e, "internal error");
                        format!(
                            "内部エラーが発生しました (an internal error occurred); reference {reference}"
                        )
                    }
                    ServiceError::Unavailable(detail) => {
                        tracing::warn!(error = %detail, "an outside service is unavailable");
                        e.to_string()
                    }
                    other => other.to_string(),
                };
                (status, e.code(), message)
            }
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "invalid", m.clone()),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found", self.to_string()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                self.to_string(),
            ),
        }
    }

    /// An answer with status 401 for a missing or wrong credential.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::Service(ServiceError::Unauthenticated(message.into()))
    }

    fn rejected(status: StatusCode, what: &str, text: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("{what} is too large for this route"))
        } else {
            ApiError::BadRequest(text)
        }
    }
}

fn with_auth_challenge(mut response: Response, status: StatusCode) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"inkan\""),
        );
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message,
            },
        };
        let mut response = with_auth_challenge((status, axum::Json(body)).into_response(), status);
        if code == "busy" {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(inkan_service::BUSY_RETRY_SECONDS),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                "本文は JSON で送ってください (the body must be JSON, sent with Content-Type: \
                 application/json)"
                    .to_string()
            }
            // serde names the field and, for an enum, the values it allows.
            other => format!(
                "JSON の本文を読めません (the JSON body cannot be read): {}",
                other.body_text()
            ),
        };
        ApiError::rejected(r.status(), "the request body", text)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(format!(
            "クエリ文字列を読めません (the query string cannot be read): {}",
            r.body_text()
        ))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(format!("the URL path cannot be read: {}", r.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let text = format!("the request body cannot be read: {}", r.body_text());
        ApiError::rejected(r.status(), "the request body", text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn internal_errors_answer_a_reference_and_never_the_detail() {
        let e = ApiError::Service(ServiceError::failed(
            "opening /var/lib/inkan/secret.db",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        ));
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body(response).await;
        assert_eq!(body["error"]["code"], "internal");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("reference"), "{message}");
        assert!(!message.contains("secret.db"), "{message}");
    }

    #[tokio::test]
    async fn every_service_error_has_its_status() {
        let cases = [
            (ServiceError::Invalid("x".into()), 400),
            (ServiceError::NotAllowed("x".into()), 409),
            (ServiceError::NotFound("the envelope"), 404),
            (ServiceError::Gone("x".into()), 410),
            (ServiceError::Unauthenticated("x".into()), 401),
            (ServiceError::Conflict, 409),
            (ServiceError::Unavailable("the TSA".into()), 503),
            (ServiceError::NetworkRefused(None), 403),
        ];
        for (e, status) in cases {
            let code = e.code();
            let response = ApiError::Service(e).into_response();
            assert_eq!(response.status().as_u16(), status, "{code}");
            assert_eq!(
                response.headers().contains_key(header::WWW_AUTHENTICATE),
                status == 401
            );
            assert_eq!(body(response).await["error"]["code"], code);
        }
    }
}
