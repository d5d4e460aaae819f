//! Keys for Inkan: one [`SigningKey`] interface whether the private key is a software key
//! (PKCS#8, encrypted at rest under a passphrase or a key-encryption key) or lives in a PKCS#11
//! token (an HSM, or SoftHSM2 in tests), plus [`verify_signature`] for checking signatures made by
//! anyone.
//!
//! Every caller above this crate (CMS, the CA, OCSP, the TSA) only sees "sign these bytes with
//! this algorithm", so moving a key into an HSM is a configuration change, never a code change.
#![doc = include_str!("../README.md")]

mod algorithm;
mod error;
mod pkcs11;
mod software;
mod verified;
mod verify;

pub use algorithm::{DigestAlgorithm, KeyKind, SignatureAlgorithm};
pub use error::KeyError;
pub use pkcs11::{pkcs11_context, Pkcs11Key, Pkcs11Token};
pub use software::{KeyProtection, SoftwareKey};
pub use verify::{verify_prehashed_signature, verify_signature, VerifyError};

use spki::SubjectPublicKeyInfoOwned;

/// A private key that can sign, wherever it lives.
///
/// `sign` takes the whole message (not a digest): the key hashes it with the digest of its
/// [`SignatureAlgorithm`], so a token can use its combined hash-and-sign mechanisms.
pub trait SigningKey: Send + Sync {
    /// The signature algorithm this key signs with (fixed per key).
    fn algorithm(&self) -> SignatureAlgorithm;
    /// The public half, as it goes into a certificate.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Signs `message`; returns the signature value as X.509 and CMS carry it (RSA: the raw
    /// octets; ECDSA: a DER `Ecdsa-Sig-Value`).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// The longest signature value this key can produce, so that room for a signature can be
    /// reserved without making one (RSA: the modulus length; ECDSA: the longest DER encoding).
    fn max_signature_len(&self) -> usize {
        max_signature_len(self.algorithm(), self.public_key())
    }
}

/// See [`SigningKey::max_signature_len`].
pub fn max_signature_len(
    algorithm: SignatureAlgorithm,
    public_key: &SubjectPublicKeyInfoOwned,
) -> usize {
    match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => 72,
        SignatureAlgorithm::EcdsaP384Sha384 => 104,
        SignatureAlgorithm::RsaPkcs1Sha256 | SignatureAlgorithm::RsaPssSha256 => {
            use der::Decode;
            pkcs1::RsaPublicKey::from_der(public_key.subject_public_key.raw_bytes())
                .map(|k| k.modulus.as_bytes().iter().skip_while(|b| **b == 0).count())
                // 4096-bit keys are the largest Inkan expects; err on the large side.
                .unwrap_or(512)
        }
    }
}

impl<K: SigningKey + ?Sized> SigningKey for std::sync::Arc<K> {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        (**self).sign(message)
    }
}

impl<K: SigningKey + ?Sized> SigningKey for Box<K> {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        (**self).sign(message)
    }
}
