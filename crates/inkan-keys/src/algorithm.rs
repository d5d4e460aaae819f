//! The signature and digest algorithms Inkan signs with, and their ASN.1 identifiers.

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, Null};
use der::Any;
use digest::Digest;
use spki::AlgorithmIdentifierOwned;

/// What kind of key pair to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    Rsa3072,
    EcP256,
    EcP384,
}

impl KeyKind {
    /// The signature algorithm a key of this kind uses unless told otherwise (PSS for RSA is opt-in).
    pub fn default_algorithm(self) -> SignatureAlgorithm {
        match self {
            KeyKind::Rsa2048 | KeyKind::Rsa3072 => SignatureAlgorithm::RsaPkcs1Sha256,
            KeyKind::EcP256 => SignatureAlgorithm::EcdsaP256Sha256,
            KeyKind::EcP384 => SignatureAlgorithm::EcdsaP384Sha384,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "rsa2048" | "rsa-2048" => Some(KeyKind::Rsa2048),
            "rsa3072" | "rsa-3072" => Some(KeyKind::Rsa3072),
            "p256" | "ec-p256" | "p-256" => Some(KeyKind::EcP256),
            "p384" | "ec-p384" | "p-384" => Some(KeyKind::EcP384),
            _ => None,
        }
    }
}

/// A signature algorithm Inkan can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    RsaPssSha256,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
}

impl SignatureAlgorithm {
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::RsaPkcs1Sha256 | Self::RsaPssSha256)
    }

    /// The digest the algorithm hashes with.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::EcdsaP384Sha384 => DigestAlgorithm::Sha384,
            _ => DigestAlgorithm::Sha256,
        }
    }

    /// The AlgorithmIdentifier that goes into certificates, CRLs, OCSP responses and SignerInfos.
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        match self {
            Self::RsaPkcs1Sha256 => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::from(AnyRef::from(Null))),
            },
            Self::RsaPssSha256 => AlgorithmIdentifierOwned {
                oid: rfc5912::ID_RSASSA_PSS,
                parameters: Some(pss_sha256_params()),
            },
            Self::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
                oid: rfc5912::ECDSA_WITH_SHA_256,
                parameters: None,
            },
            Self::EcdsaP384Sha384 => AlgorithmIdentifierOwned {
                oid: rfc5912::ECDSA_WITH_SHA_384,
                parameters: None,
            },
        }
    }
}

/// RSASSA-PSS-params for SHA-256 / MGF1-SHA-256 / salt 32 / trailer 1.
fn pss_sha256_params() -> Any {
    let sha256 = spki::AlgorithmIdentifierRef {
        oid: rfc5912::ID_SHA_256,
        parameters: Some(AnyRef::from(Null)),
    };
    let params = pkcs1::RsaPssParams {
        hash: sha256,
        mask_gen: spki::AlgorithmIdentifier {
            oid: rfc5912::ID_MGF_1,
            parameters: Some(sha256),
        },
        salt_len: 32,
        trailer_field: pkcs1::TrailerField::BC,
    };
    // Encoding this fixed, well-formed structure cannot fail; degrade to NULL rather than panic.
    Any::encode_from(&params).unwrap_or_else(|_| Any::from(AnyRef::from(Null)))
}

/// A digest algorithm used in signatures, message imprints and certificate IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => rfc5912::ID_SHA_1,
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|d| d.oid() == *oid)
    }

    /// The AlgorithmIdentifier with absent parameters (what RFC 5754 asks for SHA-2).
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// A streaming hasher, for large inputs (a PDF's byte ranges).
    pub fn hasher(self) -> Box<dyn digest::DynDigest + Send> {
        match self {
            Self::Sha1 => Box::new(sha1::Sha1::new()),
            Self::Sha256 => Box::new(sha2::Sha256::new()),
            Self::Sha384 => Box::new(sha2::Sha384::new()),
            Self::Sha512 => Box::new(sha2::Sha512::new()),
        }
    }
}

/// The named curve of an EC public key, if it has one.
pub(crate) fn named_curve(spki: &spki::SubjectPublicKeyInfoOwned) -> Option<ObjectIdentifier> {
    spki.algorithm
        .parameters
        .as_ref()?
        .decode_as::<ObjectIdentifier>()
        .ok()
}
