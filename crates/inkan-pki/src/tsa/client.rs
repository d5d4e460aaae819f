//! Asking TSAs for timestamps, with real failover: several URLs tried in order, each with a
//! timeout and a few retries with backoff. When none answers with a valid token, the caller gets
//! an error naming every failure — a timestamp is never invented.

use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use inkan_keys::DigestAlgorithm;
use rand::RngCore;
use std::time::{Duration, SystemTime};
use thiserror::Error;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use super::TstInfo;

use super::protocol::{FailureInfo, TimeStampResponse, STATUS_GRANTED, STATUS_GRANTED_WITH_MODS};

/// Why no timestamp could be had.
#[derive(Debug, Error)]
pub enum TsaError {
    #[error("no TSA URL is configured")]
    NoUrl,
    #[error("no TSA gave a valid timestamp; nothing was signed without one. Tried: {}", .0.join("; "))]
    NoTsaAnswered(Vec<String>),
    #[error("{0}")]
    Invalid(String),
}

/// A checked timestamp token.
#[derive(Debug, Clone)]
pub struct TimeStampToken {
    /// The token (a ContentInfo with SignedData over TSTInfo), DER.
    pub der: Vec<u8>,
    /// genTime.
    pub time: SystemTime,
    /// The TSA certificate that signed it (when the token carries it).
    pub signer: Option<Certificate>,
    /// The TSA that answered.
    pub url: String,
}

/// A client for one or more TSAs.
#[derive(Debug, Clone)]
pub struct TsaClient {
    urls: Vec<String>,
    timeout: Duration,
    attempts_per_url: u32,
    backoff: Duration,
    http: crate::http::Client,
    /// The size of the last token received, shared by clones: a signer sizes the signature slot
    /// from it instead of asking the TSA for a probe token every time.
    last_token_len: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TsaClient {
    /// A client trying `urls` in order: 10 s timeout, 2 attempts each, 200 ms backoff.
    pub fn new(urls: Vec<String>) -> Result<Self, TsaError> {
        if urls.is_empty() {
            return Err(TsaError::NoUrl);
        }
        Ok(Self {
            urls,
            timeout: Duration::from_secs(10),
            attempts_per_url: 2,
            backoff: Duration::from_millis(200),
            http: crate::http::client(),
            last_token_len: Default::default(),
        })
    }

    /// Requests go only where `egress` allows.
    pub fn with_egress(mut self, egress: crate::egress::Egress) -> Self {
        self.http = crate::http::Client::new(egress);
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_attempts(mut self, attempts_per_url: u32, backoff: Duration) -> Self {
        self.attempts_per_url = attempts_per_url.max(1);
        self.backoff = backoff;
        self
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The size of the last token this client received, if it has received one.
    pub fn last_token_len(&self) -> Option<usize> {
        match self
            .last_token_len
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => None,
            n => Some(n),
        }
    }

    /// Gets a timestamp over `imprint` (a `digest` hash of the data).
    pub async fn timestamp(
        &self,
        digest: DigestAlgorithm,
        imprint: &[u8],
    ) -> Result<TimeStampToken, TsaError> {
        if imprint.len() != digest.output_len() {
            return Err(TsaError::Invalid(format!(
                "a {digest:?} imprint has {} bytes, not {}",
                digest.output_len(),
                imprint.len()
            )));
        }
        let mut failures = Vec::new();
        for url in &self.urls {
            for attempt in 1..=self.attempts_per_url {
                let mut nonce = [0u8; 8];
                rand::rngs::OsRng.fill_bytes(&mut nonce);
                // A positive INTEGER in minimal DER: top bit clear, first octet not zero.
                nonce[0] = (nonce[0] & 0x7f) | 0x40;
                let request = build_request(digest, imprint, &nonce)
                    .map_err(|e| TsaError::Invalid(e.to_string()))?;
                let answer = crate::http::post(
                    &self.http,
                    url,
                    "application/timestamp-query",
                    request,
                    self.timeout,
                )
                .await;
                match answer {
                    Ok(body) => match check_response(&body, digest, imprint, &nonce) {
                        Ok((der, time, signer)) => {
                            self.last_token_len
                                .store(der.len(), std::sync::atomic::Ordering::Relaxed);
                            return Ok(TimeStampToken {
                                der,
                                time,
                                signer,
                                url: url.clone(),
                            });
                        }
                        // A TSA that answers wrongly will answer wrongly again: next URL.
                        Err(e) => {
                            crate::failures::count_tsa();
                            failures.push(format!("{url}: {e}"));
                            break;
                        }
                    },
                    // A 4xx answer is the TSA refusing this request: asking again will not help.
                    Err(
                        e @ crate::http::HttpError::Status {
                            status: 400..=499, ..
                        },
                    ) => {
                        crate::failures::count_tsa();
                        failures.push(e.to_string());
                        break;
                    }
                    Err(e) => {
                        crate::failures::count_tsa();
                        failures.push(format!("{e} (attempt {attempt})"));
                        if attempt < self.attempts_per_url {
                            tokio::time::sleep(self.backoff * attempt).await;
                        }
                    }
                }
            }
        }
        Err(TsaError::NoTsaAnswered(failures))
    }
}

/// A DER TimeStampReq asking for the TSA's certificate (certReq), with a nonce.
pub fn build_request(
    digest: DigestAlgorithm,
    imprint: &[u8],
    nonce: &[u8],
) -> Result<Vec<u8>, der::Error> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: digest.oid(),
                parameters: None,
            },
            hashed_message: OctetString::new(imprint)?,
        },
        req_policy: None,
        nonce: Some(Int::new(nonce)?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
}

/// Checks a DER TimeStampResp: granted, a token signed by the certificate it carries, over our
/// imprint, echoing our nonce. Returns the token DER, its time and its signer.
pub fn check_response(
    der: &[u8],
    digest: DigestAlgorithm,
    imprint: &[u8],
    nonce: &[u8],
) -> Result<(Vec<u8>, SystemTime, Option<Certificate>), String> {
    let response =
        TimeStampResponse::from_der(der).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    if response.status.status != STATUS_GRANTED
        && response.status.status != STATUS_GRANTED_WITH_MODS
    {
        let text = response
            .status
            .status_string
            .iter()
            .flatten()
            .map(|s| s.as_str().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let reason = response
            .status
            .fail_info
            .as_ref()
            .and_then(FailureInfo::from_bit_string)
            .map(|f| format!(" ({f:?})"))
            .unwrap_or_default();
        return Err(format!("the TSA refused{reason}: {text}"));
    }
    let token = response
        .token
        .ok_or("granted, but the response holds no token")?
        .to_der()
        .map_err(|e| e.to_string())?;
    let checked = check_token(&token, digest, imprint)?;
    let info = &checked.info;
    let echoed = info.nonce.as_ref().map(|n| n.as_bytes().to_vec());
    if echoed.as_deref() != Some(strip_sign_octet(nonce)) {
        return Err("the nonce does not match the request (a replayed answer?)".into());
    }
    Ok((token, checked.time, checked.signer))
}

fn strip_sign_octet(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

/// A token whose signature and imprint checked out.
#[derive(Debug, Clone)]
pub struct CheckedToken {
    pub info: TstInfo,
    pub time: SystemTime,
    pub signer: Option<Certificate>,
}

/// Checks a timestamp token on its own: a SignedData over a TSTInfo, signed (with the ESS
/// binding) by the certificate it carries, whose message imprint is `imprint`.
pub fn check_token(
    token: &[u8],
    digest: DigestAlgorithm,
    imprint: &[u8],
) -> Result<CheckedToken, String> {
    let parsed = inkan_cms::parse(token).map_err(|e| format!("token: {e}"))?;
    if parsed.econtent_type() != inkan_cms::oid::ID_CT_TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let content = parsed
        .encapsulated_content()
        .ok_or("the token has no TSTInfo content")?;
    let info = TstInfo::from_der(content).map_err(|e| format!("TSTInfo: {e}"))?;
    if DigestAlgorithm::from_oid(&info.message_imprint.hash_algorithm.oid) != Some(digest)
        || info.message_imprint.hashed_message.as_bytes() != imprint
    {
        return Err("the token is not over our data (message imprint differs)".into());
    }
    let content_digest = parsed
        .encapsulated_content_digest()
        .map_err(|e| format!("token: {e}"))?;
    let signer = inkan_cms::verify_integrity(&parsed, &content_digest, &[], true)
        .map_err(|e| format!("token signature: {e}"))?;
    Ok(CheckedToken {
        time: info.gen_time.to_system_time(),
        info,
        signer: Some(signer),
    })
}
