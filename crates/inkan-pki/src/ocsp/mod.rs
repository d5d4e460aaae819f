//! OCSP (RFC 6960): the responder that answers for our issuing CA, and the client that asks any
//! responder about any certificate.

mod client;
mod responder;

pub use client::{build_request, check_response, query, responder_of, OcspAnswer};
pub use responder::{OcspReply, OcspResponder};

use der::asn1::OctetString;
use inkan_keys::DigestAlgorithm;
use x509_cert::Certificate;
use x509_ocsp::CertId;

use crate::PkiError;

/// The CertID of `serial` under `issuer`, hashed with `digest`.
pub(crate) fn cert_id(
    issuer: &Certificate,
    serial: &x509_cert::serial_number::SerialNumber,
    digest: DigestAlgorithm,
) -> Result<CertId, PkiError> {
    let name_hash = crate::x509::name_hash(&issuer.tbs_certificate.subject, digest)?;
    let key_hash = digest.hash(
        issuer
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    );
    Ok(CertId {
        hash_algorithm: digest_identifier_with_null(digest),
        issuer_name_hash: OctetString::new(name_hash)?,
        issuer_key_hash: OctetString::new(key_hash)?,
        serial_number: serial.clone(),
    })
}

/// OCSP implementations commonly write hash AlgorithmIdentifiers with NULL parameters.
fn digest_identifier_with_null(digest: DigestAlgorithm) -> spki::AlgorithmIdentifierOwned {
    spki::AlgorithmIdentifierOwned {
        oid: digest.oid(),
        parameters: Some(der::Any::from(der::asn1::AnyRef::from(der::asn1::Null))),
    }
}
