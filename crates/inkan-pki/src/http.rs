//! The HTTP client side of OCSP, CRL and TSA requests: bounded time, bounded size, no
//! redirects, and only where the [`Egress`] policy allows.

use std::time::Duration;

use crate::egress::Egress;

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
    #[error("{0}")]
    Refused(#[from] crate::egress::Refused),
}

/// An HTTP client (connections pooled across requests) bound to an egress policy.
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    egress: Egress,
}

impl Client {
    /// A client that goes only where `egress` allows.
    pub fn new(egress: Egress) -> Client {
        Client {
            inner: egress.client(),
            egress,
        }
    }

    pub fn egress(&self) -> &Egress {
        &self.egress
    }
}

/// A client without restriction (the command-line tools, whose URLs the operator gives).
pub fn client() -> Client {
    Client::new(Egress::open())
}

/// POSTs `body` with `content_type` and returns the body of a 2xx answer.
pub async fn post(
    client: &Client,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, HttpError> {
    client.egress.check(url)?;
    let request = client
        .inner
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .timeout(timeout);
    exchange(request, url, timeout).await
}

/// GETs `url` and returns the body of a 2xx answer.
pub async fn get(client: &Client, url: &str, timeout: Duration) -> Result<Vec<u8>, HttpError> {
    client.egress.check(url)?;
    exchange(client.inner.get(url).timeout(timeout), url, timeout).await
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
    if response.status().is_redirection() {
        return Err(HttpError::Failed {
            url: url.to_string(),
            message: format!(
                "answered with a redirect ({}), which is not followed",
                response.status().as_u16()
            ),
        });
    }
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
