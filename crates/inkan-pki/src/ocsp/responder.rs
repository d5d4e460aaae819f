//! The OCSP responder for the issuing CA, signing as a delegated responder (its own certificate,
//! issued by the issuing CA with id-kp-OCSPSigning and ocsp-nocheck, is included in each answer).

use const_oid::db::rfc6960;
use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Decode, Encode};
use inkan_keys::{DigestAlgorithm, SigningKey};
use sha1::{Digest, Sha1};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
    Version,
};

use crate::{CaRole, CertState, Pki, PkiError};

/// How long an answer may be relied on before asking again.
const RESPONSE_VALIDITY: Duration = Duration::from_secs(86_400);
/// Requests listing more certificates than this are refused as malformed.
const MAX_REQUESTS: usize = 32;

/// The HTTP status and body to send back.
#[derive(Debug)]
pub struct OcspReply {
    pub http_status: u16,
    pub body: Vec<u8>,
}

/// Answers OCSP requests for the certificates of one PKI's issuing CA.
pub struct OcspResponder {
    pki: Arc<Pki>,
    key: Arc<dyn SigningKey>,
    /// What other nodes issued and revoked (none: the PKI folder is all there is).
    shared: Option<Arc<dyn crate::shared::SharedRecords>>,
}

impl OcspResponder {
    pub fn new(pki: Arc<Pki>) -> Result<Self, PkiError> {
        let key = pki.ocsp_key()?;
        Ok(Self {
            pki,
            key,
            shared: None,
        })
    }

    /// Answers from the PKI folder and from `shared` (see [`Pki::shared_status`]).
    pub fn with_shared(mut self, shared: Arc<dyn crate::shared::SharedRecords>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Answers one DER-encoded OCSPRequest. Never fails: a request we cannot read gets a
    /// `malformedRequest` answer with HTTP 400, an internal failure `internalError` with 500.
    pub fn respond(&self, request: &[u8]) -> OcspReply {
        let request = match OcspRequest::from_der(request) {
            Ok(r)
                if !r.tbs_request.request_list.is_empty()
                    && r.tbs_request.request_list.len() <= MAX_REQUESTS =>
            {
                r
            }
            _ => return status_only(400, OcspResponseStatus::MalformedRequest),
        };
        match self.answer(&request) {
            Ok(Some(body)) => OcspReply {
                http_status: 200,
                body,
            },
            Ok(None) => status_only(200, OcspResponseStatus::Unauthorized),
            Err(e) => {
                tracing::error!("OCSP responder failed: {e}");
                status_only(500, OcspResponseStatus::InternalError)
            }
        }
    }

    /// `None` when no certificate in the request is one of ours (RFC 6960: "unauthorized").
    fn answer(&self, request: &OcspRequest) -> Result<Option<Vec<u8>>, PkiError> {
        let issuer = self.pki.issuing_ca();
        let now = SystemTime::now();
        let this_update = ocsp_time(now)?;
        let next_update = ocsp_time(now + RESPONSE_VALIDITY)?;
        let mut responses = Vec::new();
        let mut ours = 0;
        for single in &request.tbs_request.request_list {
            let id = &single.req_cert;
            let Some(digest) = DigestAlgorithm::from_oid(&id.hash_algorithm.oid) else {
                continue;
            };
            let expected = super::cert_id(issuer, &id.serial_number, digest)?;
            let cert_status = if expected.issuer_name_hash == id.issuer_name_hash
                && expected.issuer_key_hash == id.issuer_key_hash
            {
                ours += 1;
                match self.pki.shared_status(
                    CaRole::Issuing,
                    &id.serial_number,
                    self.shared.as_deref(),
                )? {
                    CertState::Good => CertStatus::Good(Null),
                    CertState::Revoked(revocation) => CertStatus::Revoked(RevokedInfo {
                        revocation_time: ocsp_time(
                            SystemTime::UNIX_EPOCH + Duration::from_secs(revocation.revoked_at),
                        )?,
                        revocation_reason: Some(revocation.reason.to_crl_reason()),
                    }),
                    CertState::Unknown => CertStatus::Unknown(Null),
                }
            } else {
                CertStatus::Unknown(Null)
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            });
        }
        if ours == 0 {
            return Ok(None);
        }
        // Echo the nonce (RFC 8954), so clients can tell a fresh answer from a replay.
        let nonce = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == rfc6960::ID_PKIX_OCSP_NONCE)
            .cloned();
        let certificate = self.pki.ocsp_certificate();
        let key_hash = Sha1::digest(
            certificate
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        );
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(OctetString::new(key_hash.to_vec())?),
            produced_at: this_update,
            responses,
            response_extensions: nonce.map(|n| vec![n]),
        };
        let signature_algorithm = self.key.algorithm().identifier();
        let signature = self.key.sign(&data.to_der()?)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm,
            signature: BitString::from_bytes(&signature)?,
            certs: Some(vec![(*certificate).clone()]),
        };
        let response = OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: rfc6960::ID_PKIX_OCSP_BASIC,
                response: OctetString::new(basic.to_der()?)?,
            }),
        };
        Ok(Some(response.to_der()?))
    }
}

fn status_only(http_status: u16, status: OcspResponseStatus) -> OcspReply {
    let response = OcspResponse {
        response_status: status,
        response_bytes: None,
    };
    OcspReply {
        http_status,
        // A bare status response is three fixed bytes; encoding it cannot fail.
        body: response
            .to_der()
            .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02]),
    }
}

pub(crate) fn ocsp_time(at: SystemTime) -> Result<OcspGeneralizedTime, PkiError> {
    // Whole seconds: DER GeneralizedTime for OCSP carries no fractions.
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| PkiError::Invalid("time before 1970".into()))?
        .as_secs();
    Ok(OcspGeneralizedTime(GeneralizedTime::from_unix_duration(
        Duration::from_secs(secs),
    )?))
}
