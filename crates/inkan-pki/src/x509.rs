//! Building X.509 pieces by hand on the RustCrypto types: names, times, extensions, and signing a
//! TBSCertificate with any [`SigningKey`] (software or PKCS#11).

use const_oid::db::{rfc4519, rfc5280};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Ia5String, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode, Tag, Tagged};
use inkan_keys::SigningKey;
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoOwned;
use std::time::{Duration, SystemTime};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::PkiError;

/// id-kp-documentSigning (RFC 9336), which pyHanko and Acrobat look for on signer certificates.
pub const ID_KP_DOCUMENT_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");
/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): the responder's own certificate is not checked.
pub const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// A distinguished name `C=JP, O=org, CN=common_name`, with Japanese text kept as UTF8String.
pub fn name(org: &str, common_name: &str) -> Result<Name, PkiError> {
    let country = AttributeTypeAndValue {
        oid: rfc4519::C,
        value: Any::from(PrintableStringRef::new("JP")?),
    };
    let mut rdns = vec![country];
    if !org.is_empty() {
        rdns.push(utf8_attribute(rfc4519::O, org)?);
    }
    rdns.push(utf8_attribute(rfc4519::CN, common_name)?);
    let rdns = rdns
        .into_iter()
        .map(|atv| {
            Ok(RelativeDistinguishedName::from(SetOfVec::try_from(vec![
                atv,
            ])?))
        })
        .collect::<Result<Vec<_>, der::Error>>()?;
    Ok(RdnSequence(rdns))
}

fn utf8_attribute(oid: ObjectIdentifier, value: &str) -> Result<AttributeTypeAndValue, PkiError> {
    if value.is_empty() || value.len() > 256 {
        return Err(PkiError::Invalid(format!(
            "a name must have 1 to 256 bytes, got {}",
            value.len()
        )));
    }
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::from(Utf8StringRef::new(value)?),
    })
}

/// The common name of a distinguished name, decoded whatever its string type.
pub fn common_name(name: &Name) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|atv| {
        (atv.oid == rfc4519::CN)
            .then(|| any_to_string(&atv.value))
            .flatten()
    })
}

/// The usual short name of a distinguished-name attribute (`CN`, `O`, `E` …), if it has one.
pub fn attribute_short_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    [
        (rfc4519::CN, "CN"),
        (rfc4519::O, "O"),
        (rfc4519::OU, "OU"),
        (rfc4519::C, "C"),
        (rfc4519::L, "L"),
        (rfc4519::ST, "ST"),
        (rfc4519::SN, "SN"),
        (rfc4519::GIVEN_NAME, "GN"),
        (rfc4519::SERIAL_NUMBER, "serialNumber"),
        (const_oid::db::rfc3280::EMAIL_ADDRESS, "E"),
    ]
    .into_iter()
    .find(|(o, _)| o == oid)
    .map(|(_, name)| name)
}

/// A distinguished name as the 電子契約締結証明書 lists it: one `KEY value` line per attribute,
/// most specific first (`CN 山田 太郎`, `O 株式会社いわて`, `C JP`), every string decoded.
pub fn name_lines(name: &Name) -> Vec<String> {
    name.0
        .iter()
        .rev()
        .flat_map(|rdn| rdn.0.iter())
        .map(|atv| {
            let key = attribute_short_name(&atv.oid)
                .map(str::to_string)
                .unwrap_or_else(|| atv.oid.to_string());
            let value = any_to_string(&atv.value)
                .unwrap_or_else(|| format!("#{}", hex::encode(atv.value.value())));
            format!("{key} {value}")
        })
        .collect()
}

/// Decodes a directory string (UTF8String, PrintableString, IA5String, BMPString…).
pub fn any_to_string(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// An X.509 time: UTCTime until 2049, GeneralizedTime after, as RFC 5280 §4.1.2.5 requires.
pub fn x509_time(at: SystemTime) -> Result<Time, PkiError> {
    Time::try_from(at).map_err(|e| PkiError::Invalid(format!("time out of range: {e}")))
}

/// A validity period starting a few minutes in the past (to tolerate clock skew between hosts).
pub fn validity(days: u32) -> Result<Validity, PkiError> {
    validity_for(Duration::from_secs(u64::from(days) * 86_400))
}

/// A validity period of `lifetime` from now, starting a few minutes in the past.
pub fn validity_for(lifetime: Duration) -> Result<Validity, PkiError> {
    let now = SystemTime::now();
    Ok(Validity {
        not_before: x509_time(now - Duration::from_secs(300))?,
        not_after: x509_time(now + lifetime)?,
    })
}

/// A random, positive 128-bit serial number (RFC 5280 allows up to 20 octets).
pub fn random_serial() -> Result<SerialNumber, PkiError> {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x10; // no leading zero octet to trim
    Ok(SerialNumber::new(&bytes)?)
}

/// The key identifier of a public key: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 (1)).
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

/// Wraps an extension value.
pub fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

pub fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension, PkiError> {
    extension(
        rfc5280::ID_CE_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
    )
}

pub fn key_usage(
    usages: impl Into<der::flagset::FlagSet<KeyUsages>>,
) -> Result<Extension, PkiError> {
    extension(rfc5280::ID_CE_KEY_USAGE, true, &KeyUsage(usages.into()))
}

pub fn extended_key_usage(
    critical: bool,
    oids: &[ObjectIdentifier],
) -> Result<Extension, PkiError> {
    extension(
        rfc5280::ID_CE_EXT_KEY_USAGE,
        critical,
        &ExtendedKeyUsage(oids.to_vec()),
    )
}

pub fn subject_key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<Extension, PkiError> {
    extension(
        rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(OctetString::new(key_identifier(spki))?),
    )
}

pub fn authority_key_identifier(issuer: &SubjectPublicKeyInfoOwned) -> Result<Extension, PkiError> {
    extension(
        rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_identifier(issuer))?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

fn uri(url: &str) -> Result<GeneralName, PkiError> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(url).map_err(|_| PkiError::Invalid(format!("URL must be ASCII: {url}")))?,
    ))
}

pub fn crl_distribution_point(url: &str) -> Result<Extension, PkiError> {
    extension(
        rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
        false,
        &CrlDistributionPoints(vec![x509_cert::ext::pkix::crl::dp::DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
            reasons: None,
            crl_issuer: None,
        }]),
    )
}

/// Authority Information Access: OCSP and/or caIssuers URLs.
pub fn authority_info_access(
    ocsp: Option<&str>,
    ca_issuers: Option<&str>,
) -> Result<Extension, PkiError> {
    let mut access = Vec::new();
    if let Some(url) = ocsp {
        access.push(AccessDescription {
            access_method: rfc5280::ID_AD_OCSP,
            access_location: uri(url)?,
        });
    }
    if let Some(url) = ca_issuers {
        access.push(AccessDescription {
            access_method: rfc5280::ID_AD_CA_ISSUERS,
            access_location: uri(url)?,
        });
    }
    extension(
        rfc5280::ID_PE_AUTHORITY_INFO_ACCESS,
        false,
        &AuthorityInfoAccessSyntax(access),
    )
}

pub fn subject_alt_email(email: &str) -> Result<Extension, PkiError> {
    let ia5 = Ia5String::new(email)
        .map_err(|_| PkiError::Invalid(format!("email must be ASCII: {email}")))?;
    extension(
        rfc5280::ID_CE_SUBJECT_ALT_NAME,
        false,
        &SubjectAltName(vec![GeneralName::Rfc822Name(ia5)]),
    )
}

pub fn ocsp_nocheck() -> Result<Extension, PkiError> {
    extension(ID_PKIX_OCSP_NOCHECK, false, &der::asn1::Null)
}

/// Signs a TBSCertificate with the issuer's key.
pub struct CertificateRequest<'a> {
    pub subject: Name,
    pub subject_key: &'a SubjectPublicKeyInfoOwned,
    pub issuer: Name,
    pub issuer_key: &'a dyn SigningKey,
    pub serial: SerialNumber,
    pub validity: Validity,
    pub extensions: Vec<Extension>,
}

impl CertificateRequest<'_> {
    pub fn sign(self) -> Result<Certificate, PkiError> {
        let signature_algorithm = self.issuer_key.algorithm().identifier();
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: self.serial,
            signature: signature_algorithm.clone(),
            issuer: self.issuer,
            validity: self.validity,
            subject: self.subject,
            subject_public_key_info: self.subject_key.clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(self.extensions),
        };
        let signature = self.issuer_key.sign(&tbs.to_der()?)?;
        Ok(Certificate {
            tbs_certificate: tbs,
            signature_algorithm,
            signature: BitString::from_bytes(&signature)?,
        })
    }
}

/// Finds an extension by OID and decodes it.
pub fn find_extension<'a, T: Decode<'a>>(
    cert: &'a Certificate,
    oid: ObjectIdentifier,
) -> Option<T> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .and_then(|e| T::from_der(e.extn_value.as_bytes()).ok())
}

/// The URLs of an access method (OCSP or caIssuers) in a certificate's AIA.
pub fn aia_urls(cert: &Certificate, method: ObjectIdentifier) -> Vec<String> {
    let Some(aia) =
        find_extension::<AuthorityInfoAccessSyntax>(cert, rfc5280::ID_PE_AUTHORITY_INFO_ACCESS)
    else {
        return Vec::new();
    };
    aia.0
        .into_iter()
        .filter(|a| a.access_method == method)
        .filter_map(|a| match a.access_location {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

/// The CRL distribution point URLs of a certificate.
pub fn crl_urls(cert: &Certificate) -> Vec<String> {
    let Some(dps) =
        find_extension::<CrlDistributionPoints>(cert, rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS)
    else {
        return Vec::new();
    };
    dps.0
        .into_iter()
        .filter_map(|dp| match dp.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

/// Certificates to and from PEM.
pub fn to_pem(certs: &[Certificate]) -> Result<String, PkiError> {
    use der::EncodePem;
    let mut out = String::new();
    for cert in certs {
        out.push_str(&cert.to_pem(der::pem::LineEnding::LF)?);
    }
    Ok(out)
}

/// Reads every certificate in PEM text (or a single DER certificate).
pub fn from_pem_or_der(bytes: &[u8]) -> Result<Vec<Certificate>, PkiError> {
    if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        let certs = Certificate::load_pem_chain(bytes)
            .map_err(|e| PkiError::Certificate(format!("not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(PkiError::Certificate("no certificate in the file".into()));
        }
        return Ok(certs);
    }
    Ok(vec![Certificate::from_der(bytes).map_err(|e| {
        PkiError::Certificate(format!("not a DER certificate: {e}"))
    })?])
}

/// The DER hash used in OCSP CertIDs and ESS: SHA-1 of the issuer's DER name.
pub fn name_hash(name: &Name, digest: inkan_keys::DigestAlgorithm) -> Result<Vec<u8>, PkiError> {
    Ok(digest.hash(&name.to_der()?))
}

/// Key identifiers compared for CRL/OCSP issuer matching.
pub fn is_issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    cert.tbs_certificate.issuer == issuer.tbs_certificate.subject
}
