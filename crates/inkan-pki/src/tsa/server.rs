//! The time-stamping authority: one DER TimeStampReq in, one DER TimeStampResp out.

use const_oid::ObjectIdentifier;
use der::asn1::Int;
use der::{Any, Decode, Encode};
use inkan_keys::{DigestAlgorithm, SigningKey};
use std::sync::Arc;
use std::time::SystemTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::Certificate;
use x509_tsp::{Accuracy, TimeStampReq, TspVersion};

use super::protocol::{
    FailureInfo, StatusInfo, TimeStampResponse, STATUS_GRANTED, STATUS_REJECTION,
};
use super::serials::SerialAllocator;
use super::{GenTime, TstInfo};
use crate::live::LiveCertificate;
use crate::{Pki, PkiError};

/// The HTTP status and body to send back.
#[derive(Debug)]
pub struct TsaReply {
    pub http_status: u16,
    pub body: Vec<u8>,
}

/// A time-stamping authority signing with one key and its certificate (renewed in place).
pub struct TimeStampAuthority {
    key: Arc<dyn SigningKey>,
    certificate: LiveCertificate,
    /// Certificates sent along when the request asks for them (certReq): the TSA's issuers.
    chain: Vec<Certificate>,
    policy: ObjectIdentifier,
    serials: SerialAllocator,
    /// genTime with the fraction of a second, as several public TSAs write it.
    fractional_seconds: bool,
}

impl TimeStampAuthority {
    /// The TSA of a PKI directory, signing with the key of `pki`'s generation (serial numbers
    /// count on across generations: one counter in the PKI directory).
    pub fn new(pki: &Pki) -> Result<Self, PkiError> {
        let policy = pki.config().tsa_policy.parse().map_err(|_| {
            PkiError::Config(format!(
                "tsa_policy {:?} is not an OID",
                pki.config().tsa_policy
            ))
        })?;
        Ok(Self {
            key: pki.tsa_key()?,
            certificate: LiveCertificate::open(&pki.folder().join("tsa.pem"))?,
            chain: pki.chain(),
            policy,
            serials: SerialAllocator::new(&pki.tsa_counter_path()),
            fractional_seconds: false,
        })
    }

    /// Takes serial numbers from `source` instead of the PKI folder's counter file (nodes on
    /// several hosts share one counter).
    pub fn with_serials(mut self, source: Arc<dyn super::SerialBlocks>) -> Self {
        self.serials = SerialAllocator::from(source);
        self
    }

    /// Writes genTime with the fraction of a second (`20261204153001.482Z`), as several public
    /// TSAs do: what a test of the readers of such tokens needs. Whole seconds otherwise.
    pub fn with_fractional_seconds(mut self) -> Self {
        self.fractional_seconds = true;
        self
    }

    /// Answers one DER TimeStampReq. Never fails: what cannot be granted is answered with a
    /// rejection naming the reason (HTTP 400 when the request itself is unreadable).
    pub fn respond(&self, request: &[u8]) -> TsaReply {
        let request = match TimeStampReq::from_der(request) {
            Ok(r) => r,
            Err(_) => {
                return rejection(
                    400,
                    FailureInfo::BadDataFormat,
                    "the request is not a DER TimeStampReq",
                )
            }
        };
        if request.version != TspVersion::V1 {
            return rejection(400, FailureInfo::BadRequest, "unsupported request version");
        }
        let imprint = &request.message_imprint;
        let digest = match DigestAlgorithm::from_oid(&imprint.hash_algorithm.oid) {
            Some(d) if d != DigestAlgorithm::Sha1 => d,
            _ => {
                return rejection(
                    200,
                    FailureInfo::BadAlg,
                    "hash algorithm not accepted (use SHA-256, SHA-384 or SHA-512)",
                )
            }
        };
        if imprint.hashed_message.as_bytes().len() != digest.output_len() {
            return rejection(
                200,
                FailureInfo::BadDataFormat,
                "the message imprint has the wrong length for its hash algorithm",
            );
        }
        if request.req_policy.is_some_and(|p| p != self.policy) {
            return rejection(
                200,
                FailureInfo::UnacceptedPolicy,
                "policy not offered by this TSA",
            );
        }
        if request.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return rejection(
                200,
                FailureInfo::UnacceptedExtension,
                "extensions not supported",
            );
        }
        match self.grant(&request) {
            Ok(body) => TsaReply {
                http_status: 200,
                body,
            },
            Err(e) => {
                tracing::error!("TSA failed: {e}");
                rejection(500, FailureInfo::SystemFailure, "the TSA could not sign")
            }
        }
    }

    fn grant(&self, request: &TimeStampReq) -> Result<Vec<u8>, PkiError> {
        let certificate = self.certificate.current();
        let serial = self.serials.next()?;
        let now = SystemTime::now();
        let info = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: request.message_imprint.clone(),
            serial_number: positive_int(serial)?,
            gen_time: if self.fractional_seconds {
                GenTime::with_fraction(now)?
            } else {
                GenTime::whole_seconds(now)?
            },
            // genTime is truncated (to whole seconds by default), so it is exact to within one
            // second.
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: Some(GeneralName::DirectoryName(
                certificate.tbs_certificate.subject.clone(),
            )),
            extensions: None,
        };
        let content = info.to_der()?;
        // The SignerInfo digest must be the one the key signs with (verifiers hash with it).
        let digest = self.key.algorithm().digest();
        let token = inkan_cms::sign(&inkan_cms::SignRequest {
            content_type: inkan_cms::oid::ID_CT_TST_INFO,
            encapsulated: Some(&content),
            content_digest: &digest.hash(&content),
            digest,
            key: self.key.as_ref(),
            certificate: &certificate,
            chain: &self.chain,
            include_certificates: request.cert_req,
        })?;
        let response = TimeStampResponse {
            status: StatusInfo {
                status: STATUS_GRANTED,
                status_string: None,
                fail_info: None,
            },
            token: Some(Any::from_der(&token)?),
        };
        Ok(response.to_der()?)
    }
}

fn rejection(http_status: u16, reason: FailureInfo, text: &str) -> TsaReply {
    let body = (|| -> Result<Vec<u8>, der::Error> {
        TimeStampResponse {
            status: StatusInfo {
                status: STATUS_REJECTION,
                status_string: Some(vec![der::asn1::Utf8StringRef::new(text)?]),
                fail_info: Some(reason.bit_string()?),
            },
            token: None,
        }
        .to_der()
    })()
    // The fallback is a bare DER rejection (SEQUENCE { SEQUENCE { INTEGER 2 } }).
    .unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]);
    TsaReply { http_status, body }
}

/// A positive INTEGER from an unsigned number (minimal two's-complement encoding).
fn positive_int(value: u128) -> Result<Int, der::Error> {
    let bytes = value.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut encoded = bytes[first..].to_vec();
    if encoded[0] & 0x80 != 0 {
        encoded.insert(0, 0);
    }
    Int::new(&encoded)
}
