//! Verifying a SignerInfo: content digest, content type, signature, ESS binding, trust.

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use inkan_keys::{verify_signature, DigestAlgorithm};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::Certificate;

use crate::ess::{SigningCertificate, SigningCertificateV2};
use crate::parse::identifies;
use crate::{oid, path, CmsError, ParsedSignedData};

/// What to trust and when.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// The trust anchors (root certificates).
    pub anchors: &'a [Certificate],
    /// Untrusted certificates to build the path with besides those in the CMS (e.g. a PDF's DSS).
    pub intermediates: &'a [Certificate],
    /// The time at which the certificates must be valid: now, or a timestamp's time.
    pub at: SystemTime,
    /// An extended key usage the signer's certificate must have (id-kp-timeStamping for a TSA).
    pub required_eku: Option<ObjectIdentifier>,
    /// Require the ESS signing-certificate(-v2) attribute (PAdES and RFC 3161 do).
    pub require_signing_certificate: bool,
}

impl<'a> VerifyOptions<'a> {
    /// Options for a PAdES signature: these anchors, at this time, ESS attribute required, no
    /// EKU requirement.
    pub fn new(anchors: &'a [Certificate], at: SystemTime) -> Self {
        VerifyOptions {
            anchors,
            intermediates: &[],
            at,
            required_eku: None,
            require_signing_certificate: true,
        }
    }
}

/// A signer whose signature and certificate path checked out.
#[derive(Debug, Clone)]
pub struct VerifiedSigner {
    /// The signer's certificate.
    pub certificate: Certificate,
    /// The path from the signer's certificate to the trust anchor, both included.
    pub path: Vec<Certificate>,
    /// The SignerInfo's digest algorithm.
    pub digest: DigestAlgorithm,
}

/// Verifies the first SignerInfo completely: [`verify_integrity`], then the signer's certificate
/// path to `options.anchors` at `options.at`.
///
/// `content_digest` is the digest of the detached content (the PDF byte ranges) or of the
/// encapsulated content ([`ParsedSignedData::encapsulated_content_digest`]), computed with the
/// SignerInfo's digest algorithm ([`ParsedSignedData::digest_algorithm`]).
pub fn verify(
    parsed: &ParsedSignedData,
    content_digest: &[u8],
    options: &VerifyOptions<'_>,
) -> Result<VerifiedSigner, CmsError> {
    let certificate = verify_integrity(
        parsed,
        content_digest,
        options.intermediates,
        options.require_signing_certificate,
    )?;
    let mut pool: Vec<Certificate> = parsed.certificates().to_vec();
    pool.extend(options.intermediates.iter().cloned());
    let path = path::validate(
        &certificate,
        &pool,
        options.anchors,
        options.at,
        options.required_eku,
    )?;
    Ok(VerifiedSigner {
        certificate,
        path,
        digest: parsed.digest_algorithm()?,
    })
}

/// Verifies everything but trust, and returns the signer's certificate: the message-digest
/// attribute against `content_digest`, the content-type attribute against eContentType, the
/// signature over the signed attributes, the ESS signing-certificate(-v2) binding, and the
/// signer's key usage. Why separate: a validator reports "intact but untrusted" differently from
/// "tampered".
///
/// The signer's certificate is looked for in the CMS, then in `extra_certificates`.
pub fn verify_integrity(
    parsed: &ParsedSignedData,
    content_digest: &[u8],
    extra_certificates: &[Certificate],
    require_signing_certificate: bool,
) -> Result<Certificate, CmsError> {
    let digest = parsed.digest_algorithm()?;
    let Some(signed_attrs) = parsed.signed_attributes_der() else {
        // No signed attributes (allowed for adbe.pkcs7.detached): the signature is over the
        // content's digest itself, so it verifying is the integrity check. PAdES and RFC 3161
        // require the attributes (and the signing-certificate one among them).
        if require_signing_certificate {
            return Err(CmsError::NoSignedAttributes);
        }
        let certificate = signer_certificate(parsed, extra_certificates)?;
        inkan_keys::verify_prehashed_signature(
            &certificate.tbs_certificate.subject_public_key_info,
            &parsed.signer_info().signature_algorithm,
            digest,
            content_digest,
            parsed.signature_value(),
        )
        .map_err(CmsError::BadSignature)?;
        check_key_usage(&certificate)?;
        return Ok(certificate);
    };

    let content_type = parsed
        .content_type_attribute()
        .ok_or(CmsError::MissingAttribute {
            name: "content-type",
            oid: oid::ID_CONTENT_TYPE,
        })?;
    if content_type != parsed.econtent_type() {
        return Err(CmsError::ContentTypeMismatch {
            attribute: content_type,
            econtent: parsed.econtent_type(),
        });
    }
    let message_digest = parsed.message_digest().ok_or(CmsError::MissingAttribute {
        name: "message-digest",
        oid: oid::ID_MESSAGE_DIGEST,
    })?;
    if message_digest != content_digest {
        return Err(CmsError::DigestMismatch);
    }

    let certificate = signer_certificate(parsed, extra_certificates)?;

    // The digest hint matters when the signature algorithm is a bare key type, as OpenSSL writes.
    verify_signature(
        &certificate.tbs_certificate.subject_public_key_info,
        &parsed.signer_info().signature_algorithm,
        Some(digest),
        signed_attrs,
        parsed.signature_value(),
    )
    .map_err(CmsError::BadSignature)?;

    check_signing_certificate(parsed, &certificate, require_signing_certificate)?;
    check_key_usage(&certificate)?;
    Ok(certificate)
}

/// The signer's certificate: in the SignedData, or else among `extra` (a DSS, say).
fn signer_certificate(
    parsed: &ParsedSignedData,
    extra: &[Certificate],
) -> Result<Certificate, CmsError> {
    let sid = &parsed.signer_info().sid;
    parsed
        .signer_certificate()
        .or_else(|| extra.iter().find(|c| identifies(sid, c)))
        .ok_or(CmsError::SignerCertificateNotFound)
        .cloned()
}

fn check_signing_certificate(
    parsed: &ParsedSignedData,
    cert: &Certificate,
    required: bool,
) -> Result<(), CmsError> {
    let v2 = parsed.signed_attribute_values(oid::ID_AA_SIGNING_CERTIFICATE_V2);
    let v1 = parsed.signed_attribute_values(oid::ID_AA_SIGNING_CERTIFICATE);
    if v2.is_empty() && v1.is_empty() {
        return if required {
            Err(CmsError::MissingSigningCertificate)
        } else {
            Ok(())
        };
    }
    let mismatch = CmsError::SigningCertificateMismatch;
    for value in v2 {
        let attr: SigningCertificateV2 = value
            .decode_as()
            .map_err(|e| mismatch(format!("malformed signing-certificate-v2: {e}")))?;
        attr.check(cert).map_err(mismatch)?;
    }
    for value in v1 {
        let attr: SigningCertificate = value
            .decode_as()
            .map_err(|e| mismatch(format!("malformed signing-certificate: {e}")))?;
        attr.check(cert).map_err(mismatch)?;
    }
    Ok(())
}

fn check_key_usage(cert: &Certificate) -> Result<(), CmsError> {
    match cert.tbs_certificate.get::<KeyUsage>() {
        Ok(None) => Ok(()),
        Ok(Some((_, ku)))
            if ku.0.contains(KeyUsages::DigitalSignature)
                || ku.0.contains(KeyUsages::NonRepudiation) =>
        {
            Ok(())
        }
        Ok(Some(_)) => Err(CmsError::KeyUsage),
        Err(e) => Err(CmsError::malformed("signer certificate key usage", e)),
    }
}
