//! ESS signing-certificate attributes (RFC 2634, RFC 5035): they bind the signature to one
//! certificate, so a signer cannot be swapped for another certificate with the same key.
//! PAdES requires signing-certificate-v2; RFC 3161 tokens carry v1 or v2.

use der::asn1::OctetString;
use der::{Encode, Sequence};
use inkan_keys::DigestAlgorithm;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies SEQUENCE OF
/// PolicyInformation OPTIONAL }` (RFC 5035). The first `certs` entry is the signer's.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first, optionally the rest of its path.
    pub certs: Vec<EssCertIdV2>,
    /// Policies (never written by Inkan).
    #[asn1(optional = "true")]
    pub policies: Option<Vec<PolicyInformation>>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
/// certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Absent means SHA-256 (DER forbids writing the default, so it is `None` for SHA-256).
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// The hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// The certificate's issuer and serial number.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies OPTIONAL }`
/// (RFC 2634, SHA-1 only): still what some TSAs write, so it is verified, never written.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificate {
    /// The signer's certificate first.
    pub certs: Vec<EssCertId>,
    /// Policies.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<PolicyInformation>>,
}

/// `ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial IssuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertId {
    /// SHA-1 of the whole certificate DER.
    pub cert_hash: OctetString,
    /// The certificate's issuer and serial number.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer's name, as one directoryName.
    pub issuer: GeneralNames,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

impl IssuerSerial {
    /// The IssuerSerial of `cert`.
    pub fn of(cert: &Certificate) -> Self {
        IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(
                cert.tbs_certificate.issuer.clone(),
            )],
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }
    }

    /// Whether this names `cert`: same serial, and one of the names is its issuer.
    pub fn matches(&self, cert: &Certificate) -> bool {
        self.serial_number == cert.tbs_certificate.serial_number
            && self.issuer.iter().any(|name| {
                matches!(name, GeneralName::DirectoryName(n) if *n == cert.tbs_certificate.issuer)
            })
    }
}

impl SigningCertificateV2 {
    /// The attribute value naming `cert`, hashed with `digest` (SHA-1 is replaced by SHA-256:
    /// v2 exists to get away from it).
    pub fn for_certificate(
        cert: &Certificate,
        digest: DigestAlgorithm,
    ) -> Result<Self, der::Error> {
        let digest = match digest {
            DigestAlgorithm::Sha1 => DigestAlgorithm::Sha256,
            other => other,
        };
        let hash = digest.hash(&cert.to_der()?);
        Ok(SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: (digest != DigestAlgorithm::Sha256).then(|| digest.identifier()),
                cert_hash: OctetString::new(hash)?,
                issuer_serial: Some(IssuerSerial::of(cert)),
            }],
            policies: None,
        })
    }

    /// Checks that the first entry names `cert` (hash and, when present, issuer/serial).
    pub fn check(&self, cert: &Certificate) -> Result<(), String> {
        let first = self
            .certs
            .first()
            .ok_or("signing-certificate-v2 lists no certificate")?;
        let digest = match &first.hash_algorithm {
            None => DigestAlgorithm::Sha256,
            Some(alg) => DigestAlgorithm::from_oid(&alg.oid)
                .ok_or_else(|| format!("unsupported ESS hash algorithm {}", alg.oid))?,
        };
        check_hash_and_serial(
            cert,
            digest,
            first.cert_hash.as_bytes(),
            first.issuer_serial.as_ref(),
        )
    }
}

impl SigningCertificate {
    /// Checks that the first entry names `cert` (SHA-1 hash and, when present, issuer/serial).
    pub fn check(&self, cert: &Certificate) -> Result<(), String> {
        let first = self
            .certs
            .first()
            .ok_or("signing-certificate lists no certificate")?;
        check_hash_and_serial(
            cert,
            DigestAlgorithm::Sha1,
            first.cert_hash.as_bytes(),
            first.issuer_serial.as_ref(),
        )
    }
}

fn check_hash_and_serial(
    cert: &Certificate,
    digest: DigestAlgorithm,
    cert_hash: &[u8],
    issuer_serial: Option<&IssuerSerial>,
) -> Result<(), String> {
    let der = cert.to_der().map_err(|e| e.to_string())?;
    if digest.hash(&der) != cert_hash {
        return Err(format!(
            "certHash ({digest:?}) is not the hash of the signer's certificate"
        ));
    }
    if let Some(is) = issuer_serial {
        if !is.matches(cert) {
            return Err("issuerSerial names another certificate than the signer's".into());
        }
    }
    Ok(())
}
