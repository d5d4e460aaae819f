//! Asking an OCSP responder about a certificate, and checking the answer properly: signed by the
//! issuing CA or by a responder it delegated to, about this certificate, fresh, nonce echoed.

use const_oid::db::{rfc5280, rfc6960};
use der::asn1::OctetString;
use der::{Decode, Encode};
use inkan_keys::DigestAlgorithm;
use rand::RngCore;
use sha1::{Digest, Sha1};
use std::time::{Duration, SystemTime};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest, Version,
};

use crate::revocation::{reason_from_crl, RevocationStatus};
use crate::{x509, PkiError};

/// Clock skew tolerated between us and a responder.
const SKEW: Duration = Duration::from_secs(300);

/// A checked OCSP answer about one certificate.
#[derive(Debug, Clone)]
pub struct OcspAnswer {
    pub status: RevocationStatus,
    pub produced_at: SystemTime,
    pub this_update: SystemTime,
    pub next_update: Option<SystemTime>,
    /// The OCSPResponse as received, for embedding in a DSS.
    pub der: Vec<u8>,
}

/// Builds an OCSPRequest for `cert` (SHA-1 CertID, the one every responder understands), with a
/// nonce when one is given.
pub fn build_request(
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, PkiError> {
    let req_cert = super::cert_id(
        issuer,
        &cert.tbs_certificate.serial_number,
        DigestAlgorithm::Sha1,
    )?;
    let request_extensions = match nonce {
        Some(nonce) => Some(vec![x509::extension(
            rfc6960::ID_PKIX_OCSP_NONCE,
            false,
            &OctetString::new(nonce)?,
        )?]),
        None => None,
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    };
    Ok(request.to_der()?)
}

/// Checks a DER OCSPResponse about `cert` (issued by `issuer`) at time `at`.
pub fn check_response(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
    at: SystemTime,
) -> Result<OcspAnswer, PkiError> {
    let bad = |m: &str| PkiError::Invalid(format!("OCSP response: {m}"));
    let response = OcspResponse::from_der(der).map_err(|e| bad(&e.to_string()))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(bad(&format!(
            "the responder answered {:?}",
            response.response_status
        )));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| bad("successful but without a response"))?;
    if bytes.response_type != rfc6960::ID_PKIX_OCSP_BASIC {
        return Err(bad("not a basic OCSP response"));
    }
    let basic =
        BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| bad(&e.to_string()))?;
    let data = &basic.tbs_response_data;

    // Who signed: the issuer itself, or a delegated responder certified by the issuer.
    let signer = responder_certificate(&basic, issuer, at)?;
    inkan_keys::verify_signature(
        &signer.tbs_certificate.subject_public_key_info,
        &basic.signature_algorithm,
        None,
        &data.to_der()?,
        basic.signature.raw_bytes(),
    )
    .map_err(|e| bad(&format!("signature: {e}")))?;

    if let Some(sent) = nonce {
        let echoed = data
            .response_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == rfc6960::ID_PKIX_OCSP_NONCE);
        if let Some(echoed) = echoed {
            let value = OctetString::from_der(echoed.extn_value.as_bytes())
                .map(|o| o.as_bytes().to_vec())
                .unwrap_or_else(|_| echoed.extn_value.as_bytes().to_vec());
            if value != sent {
                return Err(bad(
                    "the nonce does not match the request (a replayed answer?)",
                ));
            }
        }
    }

    let serial = &cert.tbs_certificate.serial_number;
    let single = data
        .responses
        .iter()
        .find(|r| {
            &r.cert_id.serial_number == serial
                && DigestAlgorithm::from_oid(&r.cert_id.hash_algorithm.oid)
                    .and_then(|d| super::cert_id(issuer, serial, d).ok())
                    .is_some_and(|id| {
                        id.issuer_key_hash == r.cert_id.issuer_key_hash
                            && id.issuer_name_hash == r.cert_id.issuer_name_hash
                    })
        })
        .ok_or_else(|| bad("it says nothing about this certificate"))?;
    let this_update = single.this_update.0.to_system_time();
    let next_update = single.next_update.map(|t| t.0.to_system_time());
    if this_update > at + SKEW {
        return Err(bad("thisUpdate is in the future"));
    }
    if let Some(next) = next_update {
        if next + SKEW < at {
            return Err(bad("the answer is stale (nextUpdate passed)"));
        }
    }
    let status = match &single.cert_status {
        CertStatus::Good(_) => RevocationStatus::Good,
        CertStatus::Revoked(info) => RevocationStatus::Revoked {
            at: info.revocation_time.0.to_system_time(),
            reason: info.revocation_reason.and_then(reason_from_crl),
        },
        CertStatus::Unknown(_) => RevocationStatus::Unknown,
    };
    Ok(OcspAnswer {
        status,
        produced_at: data.produced_at.0.to_system_time(),
        this_update,
        next_update,
        der: der.to_vec(),
    })
}

fn responder_certificate(
    basic: &BasicOcspResponse,
    issuer: &Certificate,
    at: SystemTime,
) -> Result<Certificate, PkiError> {
    let bad = |m: &str| PkiError::Invalid(format!("OCSP response: {m}"));
    let matches = |c: &Certificate| identifies(&basic.tbs_response_data.responder_id, c);
    if matches(issuer) {
        return Ok(issuer.clone());
    }
    let delegate = basic
        .certs
        .iter()
        .flatten()
        .find(|c| matches(c))
        .ok_or_else(|| bad("signed by a responder whose certificate is not included"))?;
    // RFC 6960 §4.2.2.2: issued directly by the CA, with id-kp-OCSPSigning.
    if !x509::is_issued_by(delegate, issuer) {
        return Err(bad(
            "the responder was not certified by the certificate's issuer",
        ));
    }
    inkan_keys::verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        &delegate.signature_algorithm,
        None,
        &delegate.tbs_certificate.to_der()?,
        delegate.signature.raw_bytes(),
    )
    .map_err(|_| bad("the responder certificate's signature is not the issuer's"))?;
    let eku: Option<ExtendedKeyUsage> =
        x509::find_extension(delegate, rfc5280::ID_CE_EXT_KEY_USAGE);
    if !eku.is_some_and(|e| e.0.contains(&rfc5280::ID_KP_OCSP_SIGNING)) {
        return Err(bad("the responder certificate lacks id-kp-OCSPSigning"));
    }
    let validity = &delegate.tbs_certificate.validity;
    if validity.not_before.to_system_time() > at + SKEW
        || validity.not_after.to_system_time() + SKEW < at
    {
        return Err(bad("the responder certificate is not valid now"));
    }
    Ok(delegate.clone())
}

/// Asks the responder named in `cert`'s AIA (or `url` when given) and checks the answer.
pub async fn query(
    client: &crate::http::Client,
    cert: &Certificate,
    issuer: &Certificate,
    url: Option<&str>,
    timeout: Duration,
) -> Result<OcspAnswer, PkiError> {
    let url = match url {
        Some(u) => u.to_string(),
        None => x509::aia_urls(cert, rfc5280::ID_AD_OCSP)
            .into_iter()
            .next()
            .ok_or_else(|| PkiError::Invalid("the certificate names no OCSP responder".into()))?,
    };
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let request = build_request(cert, issuer, Some(&nonce))?;
    let answer =
        match crate::http::post(client, &url, "application/ocsp-request", request, timeout).await {
            Ok(body) => check_response(&body, cert, issuer, Some(&nonce), SystemTime::now()),
            Err(e) => Err(PkiError::Invalid(format!("OCSP: {e}"))),
        };
    if answer.is_err() {
        crate::failures::count_ocsp();
    }
    answer
}

/// The certificate that signed an OCSP response, when the response carries it (a delegated
/// responder); `None` for unreadable responses or responses signed by the CA itself.
pub fn responder_of(der: &[u8]) -> Option<Certificate> {
    let response = OcspResponse::from_der(der).ok()?;
    let basic = BasicOcspResponse::from_der(response.response_bytes?.response.as_bytes()).ok()?;
    let id = &basic.tbs_response_data.responder_id;
    basic.certs?.into_iter().find(|c| identifies(id, c))
}

/// Whether `cert` is the responder a ResponderID names (by subject, or by SHA-1 of its key).
fn identifies(id: &ResponderId, cert: &Certificate) -> bool {
    match id {
        ResponderId::ByName(name) => &cert.tbs_certificate.subject == name,
        ResponderId::ByKey(hash) => {
            Sha1::digest(
                cert.tbs_certificate
                    .subject_public_key_info
                    .subject_public_key
                    .raw_bytes(),
            )
            .as_slice()
                == hash.as_bytes()
        }
    }
}
