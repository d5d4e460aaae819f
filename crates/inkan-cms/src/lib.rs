//! CMS SignedData (RFC 5652) exactly as PAdES baseline signatures and RFC 3161 timestamp tokens
//! need it, plus X.509 certificate path validation.
//!
//! - [`sign`] builds a ContentInfo(SignedData) whose signed attributes are content-type,
//!   message-digest and signing-certificate-v2, and nothing else (PAdES forbids signing-time: the
//!   time goes into the PDF's `/M`). It is written by hand rather than with `cms::builder`,
//!   because the builder adds signing-time.
//! - [`add_signature_timestamp`] adds a B-T signature timestamp as an unsigned attribute without
//!   touching a single signed byte.
//! - [`parse`] and [`verify`] read what Inkan, OpenSSL, pyHanko or an external TSA wrote.
//! - [`path::validate`] builds and checks a certificate path to trust anchors.
//!
//! All keys are used through [`inkan_keys::SigningKey`], so an HSM signs the same way as a
//! software key.
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod ber;
mod build;
mod error;
pub mod ess;
mod parse;
pub mod path;
mod tlv;
mod verify;

pub use build::{add_signature_timestamp, sign, SignRequest};
pub use error::{CmsError, PathError};
pub use inkan_keys::{DigestAlgorithm, SigningKey};
pub use parse::{parse, ParsedSignedData};
pub use verify::{verify, verify_integrity, VerifiedSigner, VerifyOptions};

/// Re-exported so callers name the same certificate and OID types as this crate.
pub use const_oid::ObjectIdentifier;
/// Re-exported so callers name the same certificate type as this crate.
pub use x509_cert::Certificate;

/// The object identifiers this crate reads and writes.
pub mod oid {
    use const_oid::ObjectIdentifier;

    /// id-data: the eContentType of a PAdES signature (the PDF byte ranges, detached).
    pub const ID_DATA: ObjectIdentifier = const_oid::db::rfc5911::ID_DATA;
    /// id-signedData: the ContentInfo content type of every structure here.
    pub const ID_SIGNED_DATA: ObjectIdentifier = const_oid::db::rfc5911::ID_SIGNED_DATA;
    /// id-ct-TSTInfo: the eContentType of an RFC 3161 timestamp token.
    pub const ID_CT_TST_INFO: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
    /// The content-type signed attribute.
    pub const ID_CONTENT_TYPE: ObjectIdentifier = const_oid::db::rfc5911::ID_CONTENT_TYPE;
    /// The message-digest signed attribute.
    pub const ID_MESSAGE_DIGEST: ObjectIdentifier = const_oid::db::rfc5911::ID_MESSAGE_DIGEST;
    /// The signing-time attribute, which PAdES forbids (named so tests and checks can look for it).
    pub const ID_SIGNING_TIME: ObjectIdentifier = const_oid::db::rfc5911::ID_SIGNING_TIME;
    /// ESS signing-certificate (v1, SHA-1; RFC 2634).
    pub const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
        const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE;
    /// ESS signing-certificate-v2 (RFC 5035), required by PAdES.
    pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
        const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2;
    /// The signature-time-stamp-token unsigned attribute (PAdES B-T).
    pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
    /// id-kp-timeStamping: the extended key usage a TSA certificate must have.
    pub const ID_KP_TIME_STAMPING: ObjectIdentifier = const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
    /// id-kp-OCSPSigning: the extended key usage of a delegated OCSP responder.
    pub const ID_KP_OCSP_SIGNING: ObjectIdentifier = const_oid::db::rfc5280::ID_KP_OCSP_SIGNING;
}
