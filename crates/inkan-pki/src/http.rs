//! The HTTP client side of OCSP, CRL and TSA requests: bounded time, bounded size.

use std::time::Duration;

/// Responses larger than this are refused (a CRL of a large CA is a few MB at most).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: no answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
}

/// A shared HTTP client (connection pooling across requests).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("inkan/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// POSTs `body` with `content_type` and returns the body of a 2xx answer.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, HttpError> {
    let request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .timeout(timeout);
    exchange(request, url, timeout).await
}

/// GETs `url` and returns the body of a 2xx answer.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<Vec<u8>, HttpError> {
    exchange(client.get(url).timeout(timeout), url, timeout).await
}

async fn exchange(
    request: reqwest::RequestBuilder,
    url: &str,
    timeout: Duration,
) -> Result<Vec<u8>, HttpError> {
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            HttpError::Timeout {
                url: url.to_string(),
                timeout,
            }
        } else {
            HttpError::Failed {
                url: url.to_string(),
                message: e.to_string(),
            }
        }
    };
    let mut response = request.send().await.map_err(failed)?;
    if !response.status().is_success() {
        return Err(HttpError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::Failed {
                url: url.to_string(),
                message: format!("response larger than {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
