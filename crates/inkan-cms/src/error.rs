//! Errors a person can act on: what was wrong, and with which certificate or attribute.

use const_oid::ObjectIdentifier;
use inkan_keys::{KeyError, VerifyError};
use thiserror::Error;

/// Why a CMS structure could not be built, parsed or verified.
#[derive(Debug, Error)]
pub enum CmsError {
    /// The bytes are not a DER CMS SignedData as RFC 5652 defines it.
    #[error("not a valid CMS SignedData: {0}")]
    Malformed(String),
    /// The ContentInfo holds something other than SignedData.
    #[error("the CMS content type is {0}, not signed-data (1.2.840.113549.1.7.2)")]
    NotSignedData(ObjectIdentifier),
    /// SignedData without any SignerInfo (a certificates-only bag).
    #[error("the SignedData has no SignerInfo: nothing is signed")]
    NoSigner,
    /// Signatures directly over the content cannot be checked against a digest, and PAdES and
    /// RFC 3161 both require signed attributes.
    #[error("the SignerInfo has no signed attributes (PAdES and RFC 3161 require them)")]
    NoSignedAttributes,
    /// A required signed attribute is absent.
    #[error("the signed attribute {name} ({oid}) is missing")]
    MissingAttribute {
        /// The attribute's name.
        name: &'static str,
        /// The attribute's OID.
        oid: ObjectIdentifier,
    },
    /// RFC 5652 allows content-type and message-digest exactly once with exactly one value.
    #[error("the signed attribute {name} ({oid}) must appear once with one value")]
    AttributeNotSingle {
        /// The attribute's name.
        name: &'static str,
        /// The attribute's OID.
        oid: ObjectIdentifier,
    },
    /// The message-digest attribute differs from the digest of the content.
    #[error("the content does not match the signature: its digest differs from the signed message-digest attribute (the signed bytes were changed)")]
    DigestMismatch,
    /// The content-type attribute names another type than eContentType.
    #[error("the content-type attribute ({attribute}) differs from the encapsulated content type ({econtent})")]
    ContentTypeMismatch {
        /// What the signed attribute says.
        attribute: ObjectIdentifier,
        /// What the EncapsulatedContentInfo says.
        econtent: ObjectIdentifier,
    },
    /// A digest algorithm Inkan does not implement.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedDigest(ObjectIdentifier),
    /// The SignerInfo's issuer/serial or key identifier matches no available certificate.
    #[error("the signer's certificate is neither in the CMS nor among the supplied certificates")]
    SignerCertificateNotFound,
    /// The signature over the signed attributes does not verify with the signer's public key.
    #[error("the signature is invalid: {0}")]
    BadSignature(#[source] VerifyError),
    /// The ESS signing-certificate(-v2) attribute names another certificate than the signer's.
    #[error("the signing-certificate attribute does not identify the signer's certificate: {0}")]
    SigningCertificateMismatch(String),
    /// PAdES (and RFC 3161) require the ESS signing-certificate(-v2) attribute.
    #[error("the signing-certificate-v2 attribute is missing (PAdES requires it)")]
    MissingSigningCertificate,
    /// The signer certificate's key usage excludes signing.
    #[error("the signer's certificate has a key usage allowing neither digitalSignature nor nonRepudiation")]
    KeyUsage,
    /// The signer's certificate does not chain to a trust anchor.
    #[error("the signer's certificate is not trusted: {0}")]
    Path(#[from] PathError),
    /// The key failed to sign.
    #[error("signing failed: {0}")]
    Key(#[from] KeyError),
    /// The signing request is inconsistent (wrong digest length, key not matching the certificate).
    #[error("invalid signing request: {0}")]
    Request(String),
    /// The content is detached, so there is nothing encapsulated to digest.
    #[error(
        "the CMS has no encapsulated content (it is detached): digest the external content instead"
    )]
    Detached,
    /// Encoding our own structures failed (only with absurd sizes).
    #[error("DER encoding failed: {0}")]
    Encoding(String),
}

impl CmsError {
    /// Wraps a DER decoding error with what was being read, so the message says where it failed.
    pub(crate) fn malformed(context: &str, err: impl std::fmt::Display) -> Self {
        CmsError::Malformed(format!("{context}: {err}"))
    }

    /// Wraps a DER encoding error.
    pub(crate) fn encoding(err: der::Error) -> Self {
        CmsError::Encoding(err.to_string())
    }
}

/// Why a certificate path could not be built or validated. Every variant names the certificate
/// (by subject) it is about.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Validating against nothing would accept nothing; say so instead of "no issuer".
    #[error("no trust anchors were given")]
    NoAnchors,
    /// No certificate among the anchors and intermediates has this certificate's issuer name.
    #[error("no issuer found for certificate \"{subject}\" (issued by \"{issuer}\") among the trust anchors and intermediate certificates")]
    NoIssuer {
        /// Subject of the certificate whose issuer is missing.
        subject: String,
        /// The issuer name that was looked for.
        issuer: String,
    },
    /// The issuer's key does not verify the certificate's signature.
    #[error("the signature on certificate \"{subject}\" does not verify with the key of \"{issuer}\": {reason}")]
    BadSignature {
        /// Subject of the certificate whose signature failed.
        subject: String,
        /// Subject of the issuer tried.
        issuer: String,
        /// What the signature check said.
        reason: String,
    },
    /// Checked before notBefore.
    #[error("certificate \"{subject}\" is not valid before {not_before} (checked at {at})")]
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Its notBefore.
        not_before: String,
        /// The validation time.
        at: String,
    },
    /// Checked after notAfter.
    #[error("certificate \"{subject}\" expired at {not_after} (checked at {at})")]
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// Its notAfter.
        not_after: String,
        /// The validation time.
        at: String,
    },
    /// An issuing certificate lacks basicConstraints cA=TRUE.
    #[error("certificate \"{subject}\" issued a certificate but is not a CA (basicConstraints cA=TRUE is missing)")]
    NotCa {
        /// Subject of the would-be CA.
        subject: String,
    },
    /// An issuing certificate's key usage lacks keyCertSign.
    #[error("certificate \"{subject}\" issued a certificate but its key usage lacks keyCertSign")]
    NoKeyCertSign {
        /// Subject of the CA.
        subject: String,
    },
    /// More intermediate CAs below a CA than its pathLenConstraint allows.
    #[error("certificate \"{subject}\" allows {allowed} intermediate CA(s) below it (pathLenConstraint) but the path has {found}")]
    PathLength {
        /// Subject of the constraining CA.
        subject: String,
        /// Its pathLenConstraint.
        allowed: u8,
        /// Intermediate CAs found below it.
        found: usize,
    },
    /// The end certificate is not allowed the required purpose.
    #[error("certificate \"{subject}\" lacks the extended key usage {eku}")]
    MissingEku {
        /// Subject of the end certificate.
        subject: String,
        /// The required key purpose.
        eku: ObjectIdentifier,
    },
    /// RFC 5280 requires rejecting certificates with critical extensions one does not process.
    #[error(
        "certificate \"{subject}\" has a critical extension {oid} that Inkan does not process"
    )]
    UnsupportedCriticalExtension {
        /// Subject of the certificate.
        subject: String,
        /// The extension's OID.
        oid: ObjectIdentifier,
    },
    /// An extension or field could not be decoded or encoded.
    #[error("certificate \"{subject}\" is malformed: {reason}")]
    Malformed {
        /// Subject of the certificate.
        subject: String,
        /// What was wrong.
        reason: String,
    },
    /// The path search gave up (too long, or too many candidates: a hostile certificate pool).
    #[error("no path of at most {max} certificates from \"{subject}\" to a trust anchor")]
    TooLong {
        /// Subject of the end certificate.
        subject: String,
        /// The limit.
        max: usize,
    },
}
