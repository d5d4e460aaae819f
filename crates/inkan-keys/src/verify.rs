//! Verifying signatures made by anyone (our own keys, OpenSSL, pyHanko, an external TSA).

use const_oid::db::rfc5912;
use der::{Decode, Encode};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, DecodePublicKey, SubjectPublicKeyInfoOwned};
use thiserror::Error;

use crate::DigestAlgorithm;

/// Why a signature did not verify.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the signature does not match the data and the public key")]
    BadSignature,
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("unsupported or malformed public key: {0}")]
    BadPublicKey(String),
}

/// The largest RSA modulus verified. The `rsa` crate stops at 4,096 bits by default, but real
/// signers use larger and odd sizes (6,143 bits among the EU's validation files); the cost of a
/// verification grows with the size, so there is a bound.
const MAX_RSA_BITS: usize = 16_384;

/// An RSA public key of any size up to [`MAX_RSA_BITS`], from the PKCS#1 RSAPublicKey inside
/// the SubjectPublicKeyInfo (rsaEncryption or RSASSA-PSS alike).
fn rsa_public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::RsaPublicKey, VerifyError> {
    let bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
        VerifyError::BadPublicKey("the key's bit string is not whole octets".into())
    })?;
    let key = pkcs1::RsaPublicKey::from_der(bits)
        .map_err(|e| VerifyError::BadPublicKey(format!("RSAPublicKey: {e}")))?;
    let n = rsa::BigUint::from_bytes_be(key.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(key.public_exponent.as_bytes());
    rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS).map_err(|e| {
        VerifyError::BadPublicKey(format!("RSA key: {e} (at most {MAX_RSA_BITS} bits)"))
    })
}

#[derive(Debug, Clone, Copy)]
enum Scheme {
    Pkcs1,
    Pss { salt_len: usize },
    Ecdsa,
}

/// Verifies `signature` over `message` with the public key `spki`.
///
/// `digest_hint` is the digest to use when `signature_algorithm` names only the key type
/// (`rsaEncryption` or `id-ecPublicKey`, as OpenSSL writes into CMS SignerInfos); it is
/// ignored when the algorithm names its own digest.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    signature_algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let (scheme, digest) = scheme_of(signature_algorithm, digest_hint)?;
    let hash = digest.hash(message);
    verify_prehashed(spki, scheme, digest, &hash, Some(message), signature)
}

/// Verifies `signature` over a message whose `digest_algorithm` digest is `hash` (a CMS
/// signature without signed attributes signs the content's digest itself, and the content may
/// be too large to hold).
pub fn verify_prehashed_signature(
    spki: &SubjectPublicKeyInfoOwned,
    signature_algorithm: &AlgorithmIdentifierOwned,
    digest_algorithm: DigestAlgorithm,
    hash: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let (scheme, digest) = scheme_of(signature_algorithm, Some(digest_algorithm))?;
    if digest != digest_algorithm || hash.len() != digest.output_len() {
        return Err(VerifyError::UnsupportedAlgorithm(format!(
            "{} over a digest of another algorithm",
            signature_algorithm.oid
        )));
    }
    verify_prehashed(spki, scheme, digest, hash, None, signature)
}

fn scheme_of(
    alg: &AlgorithmIdentifierOwned,
    hint: Option<DigestAlgorithm>,
) -> Result<(Scheme, DigestAlgorithm), VerifyError> {
    let need_hint = || {
        hint.ok_or_else(|| {
            VerifyError::UnsupportedAlgorithm(format!("{} without a digest", alg.oid))
        })
    };
    let oid = alg.oid;
    let pair = match oid {
        o if o == rfc5912::SHA_1_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1, DigestAlgorithm::Sha1),
        o if o == rfc5912::SHA_256_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1, DigestAlgorithm::Sha256),
        o if o == rfc5912::SHA_384_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1, DigestAlgorithm::Sha384),
        o if o == rfc5912::SHA_512_WITH_RSA_ENCRYPTION => (Scheme::Pkcs1, DigestAlgorithm::Sha512),
        o if o == rfc5912::RSA_ENCRYPTION => (Scheme::Pkcs1, need_hint()?),
        o if o == rfc5912::ECDSA_WITH_SHA_256 => (Scheme::Ecdsa, DigestAlgorithm::Sha256),
        o if o == rfc5912::ECDSA_WITH_SHA_384 => (Scheme::Ecdsa, DigestAlgorithm::Sha384),
        o if o == rfc5912::ECDSA_WITH_SHA_512 => (Scheme::Ecdsa, DigestAlgorithm::Sha512),
        o if o == rfc5912::ID_EC_PUBLIC_KEY => (Scheme::Ecdsa, need_hint()?),
        o if o == rfc5912::ID_RSASSA_PSS => {
            let params = alg.parameters.as_ref().ok_or_else(|| {
                VerifyError::UnsupportedAlgorithm("RSASSA-PSS without parameters".into())
            })?;
            let der = params
                .to_der()
                .map_err(|e| VerifyError::UnsupportedAlgorithm(e.to_string()))?;
            let params = pkcs1::RsaPssParams::from_der(&der).map_err(|e| {
                VerifyError::UnsupportedAlgorithm(format!("RSASSA-PSS parameters: {e}"))
            })?;
            let digest = DigestAlgorithm::from_oid(&params.hash.oid).ok_or_else(|| {
                VerifyError::UnsupportedAlgorithm(format!("PSS hash {}", params.hash.oid))
            })?;
            (
                Scheme::Pss {
                    salt_len: usize::from(params.salt_len),
                },
                digest,
            )
        }
        other => return Err(VerifyError::UnsupportedAlgorithm(other.to_string())),
    };
    Ok(pair)
}

/// [`verify_uncached`], unless the same verification already succeeded in this process (see
/// `verified`) or ring finds it valid over `message` (when the message is at hand).
fn verify_prehashed(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: Scheme,
    digest: DigestAlgorithm,
    hash: &[u8],
    message: Option<&[u8]>,
    signature: &[u8],
) -> Result<(), VerifyError> {
    let spki_der = spki
        .to_der()
        .map_err(|e| VerifyError::BadPublicKey(e.to_string()))?;
    let name = match scheme {
        Scheme::Pkcs1 => format!("pkcs1/{digest:?}"),
        Scheme::Pss { salt_len } => format!("pss-{salt_len}/{digest:?}"),
        Scheme::Ecdsa => format!("ecdsa/{digest:?}"),
    };
    let key = crate::verified::key_of(&spki_der, &name, hash, signature);
    if crate::verified::contains(&key) {
        return Ok(());
    }
    if !message.is_some_and(|message| ring_accepts(spki, scheme, digest, message, signature)) {
        verify_uncached(spki, &spki_der, scheme, digest, hash, signature)?;
    }
    crate::verified::insert(key);
    Ok(())
}

/// Whether ring finds `signature` valid over `message`, for the algorithms ring has: several
/// times faster than RustCrypto (RSA in assembly; ECDSA in ring's own field arithmetic), and
/// each envelope verifies a dozen OCSP responses, timestamps and CRLs that are new. Only its
/// "valid" is taken: anything else — a key size or an encoding ring refuses, a bad signature —
/// is decided by RustCrypto in [`verify_uncached`], so no signature is judged otherwise than
/// before.
fn ring_accepts(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: Scheme,
    digest: DigestAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    use ring::signature as ring_sig;
    let curve = || crate::algorithm::named_curve(spki);
    let algorithm: &dyn ring_sig::VerificationAlgorithm = match (scheme, digest, spki.algorithm.oid)
    {
        (Scheme::Pkcs1, DigestAlgorithm::Sha256, rfc5912::RSA_ENCRYPTION) => {
            &ring_sig::RSA_PKCS1_2048_8192_SHA256
        }
        (Scheme::Pkcs1, DigestAlgorithm::Sha384, rfc5912::RSA_ENCRYPTION) => {
            &ring_sig::RSA_PKCS1_2048_8192_SHA384
        }
        (Scheme::Pkcs1, DigestAlgorithm::Sha512, rfc5912::RSA_ENCRYPTION) => {
            &ring_sig::RSA_PKCS1_2048_8192_SHA512
        }
        (Scheme::Ecdsa, DigestAlgorithm::Sha256, rfc5912::ID_EC_PUBLIC_KEY)
            if curve() == Some(rfc5912::SECP_256_R_1) =>
        {
            &ring_sig::ECDSA_P256_SHA256_ASN1
        }
        (Scheme::Ecdsa, DigestAlgorithm::Sha384, rfc5912::ID_EC_PUBLIC_KEY)
            if curve() == Some(rfc5912::SECP_384_R_1) =>
        {
            &ring_sig::ECDSA_P384_SHA384_ASN1
        }
        _ => return false,
    };
    // The RSAPublicKey DER for RSA, the uncompressed point for ECDSA: what ring reads.
    let key = spki.subject_public_key.raw_bytes();
    ring_sig::UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .is_ok()
}

fn verify_uncached(
    spki: &SubjectPublicKeyInfoOwned,
    spki_der: &[u8],
    scheme: Scheme,
    digest: DigestAlgorithm,
    hash: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    match scheme {
        Scheme::Pkcs1 | Scheme::Pss { .. } => {
            if spki.algorithm.oid != rfc5912::RSA_ENCRYPTION
                && spki.algorithm.oid != rfc5912::ID_RSASSA_PSS
            {
                return Err(VerifyError::BadPublicKey("not an RSA key".into()));
            }
            let key = rsa_public_key(spki)?;
            let result = match (scheme, digest) {
                (Scheme::Pkcs1, DigestAlgorithm::Sha1) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), hash, signature)
                }
                (Scheme::Pkcs1, DigestAlgorithm::Sha256) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), hash, signature)
                }
                (Scheme::Pkcs1, DigestAlgorithm::Sha384) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), hash, signature)
                }
                (Scheme::Pkcs1, DigestAlgorithm::Sha512) => {
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), hash, signature)
                }
                (Scheme::Pss { salt_len }, DigestAlgorithm::Sha1) => key.verify(
                    rsa::Pss::new_with_salt::<sha1::Sha1>(salt_len),
                    hash,
                    signature,
                ),
                (Scheme::Pss { salt_len }, DigestAlgorithm::Sha256) => key.verify(
                    rsa::Pss::new_with_salt::<sha2::Sha256>(salt_len),
                    hash,
                    signature,
                ),
                (Scheme::Pss { salt_len }, DigestAlgorithm::Sha384) => key.verify(
                    rsa::Pss::new_with_salt::<sha2::Sha384>(salt_len),
                    hash,
                    signature,
                ),
                (Scheme::Pss { salt_len }, DigestAlgorithm::Sha512) => key.verify(
                    rsa::Pss::new_with_salt::<sha2::Sha512>(salt_len),
                    hash,
                    signature,
                ),
                (Scheme::Ecdsa, _) => return Err(VerifyError::BadSignature),
            };
            result.map_err(|_| VerifyError::BadSignature)
        }
        Scheme::Ecdsa => {
            if spki.algorithm.oid != rfc5912::ID_EC_PUBLIC_KEY {
                return Err(VerifyError::BadPublicKey("not an EC key".into()));
            }
            let curve = crate::algorithm::named_curve(spki)
                .ok_or_else(|| VerifyError::BadPublicKey("EC key without a named curve".into()))?;
            if curve == rfc5912::SECP_256_R_1 {
                let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der)
                    .map_err(|e| VerifyError::BadPublicKey(e.to_string()))?;
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| VerifyError::BadSignature)?;
                key.verify_prehash(hash, &sig)
                    .map_err(|_| VerifyError::BadSignature)
            } else if curve == rfc5912::SECP_384_R_1 {
                let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der)
                    .map_err(|e| VerifyError::BadPublicKey(e.to_string()))?;
                let sig = p384::ecdsa::Signature::from_der(signature)
                    .map_err(|_| VerifyError::BadSignature)?;
                key.verify_prehash(hash, &sig)
                    .map_err(|_| VerifyError::BadSignature)
            } else {
                Err(VerifyError::BadPublicKey(format!("EC curve {curve}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use der::asn1::{BitString, UintRef};

    fn rsa_spki(modulus_bytes: usize) -> SubjectPublicKeyInfoOwned {
        let modulus = vec![0xc5; modulus_bytes];
        let key = pkcs1::RsaPublicKey {
            modulus: UintRef::new(&modulus).unwrap(),
            public_exponent: UintRef::new(&[1, 0, 1]).unwrap(),
        };
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
            subject_public_key: BitString::from_bytes(&key.to_der().unwrap()).unwrap(),
        }
    }

    /// ring only speeds up what RustCrypto accepts: a key ring refuses (RSA under 2,048 bits)
    /// and a pairing ring does not have (P-256 with SHA-512) still verify, and a signature
    /// over other bytes still fails, by either path.
    #[test]
    fn what_ring_does_not_take_is_verified_as_before() {
        use pkcs8::EncodePublicKey;
        use signature::hazmat::PrehashSigner;
        use signature::{SignatureEncoding, Signer};
        let message = b"contract";
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let spki_der = private.to_public_key().to_public_key_der().unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).unwrap();
        let signing = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private);
        let signature = signing.sign(message).to_vec();
        let alg = AlgorithmIdentifierOwned {
            oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            parameters: None,
        };
        assert!(!ring_accepts(
            &spki,
            Scheme::Pkcs1,
            DigestAlgorithm::Sha256,
            message,
            &signature
        ));
        verify_signature(&spki, &alg, None, message, &signature).unwrap();
        assert_eq!(
            verify_signature(&spki, &alg, None, b"other", &signature),
            Err(VerifyError::BadSignature)
        );

        let key = p256::ecdsa::SigningKey::random(&mut rand::thread_rng());
        let spki_der = key.verifying_key().to_public_key_der().unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).unwrap();
        let hash = DigestAlgorithm::Sha512.hash(message);
        let signature: p256::ecdsa::Signature = key.sign_prehash(&hash).unwrap();
        let signature = signature.to_der().to_vec();
        let alg = AlgorithmIdentifierOwned {
            oid: rfc5912::ECDSA_WITH_SHA_512,
            parameters: None,
        };
        assert!(!ring_accepts(
            &spki,
            Scheme::Ecdsa,
            DigestAlgorithm::Sha512,
            message,
            &signature
        ));
        verify_signature(&spki, &alg, None, message, &signature).unwrap();
        assert_eq!(
            verify_signature(&spki, &alg, None, b"other", &signature),
            Err(VerifyError::BadSignature)
        );
    }

    /// Keys past the rsa crate's 4,096 bits are read (the signature is then simply wrong);
    /// past 16,384 bits they are refused as unsupported, before any arithmetic.
    #[test]
    fn rsa_keys_up_to_16384_bits_are_read_and_larger_ones_refused() {
        let hash = [7u8; 32];
        let pkcs1_sha256 = AlgorithmIdentifierOwned {
            oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            parameters: None,
        };
        let check = |bytes: usize| {
            verify_prehashed_signature(
                &rsa_spki(bytes),
                &pkcs1_sha256,
                DigestAlgorithm::Sha256,
                &hash,
                &vec![1; bytes],
            )
        };
        assert_eq!(check(768), Err(VerifyError::BadSignature), "6,144 bits");
        assert!(
            matches!(check(2049), Err(VerifyError::BadPublicKey(m)) if m.contains("16384")),
            "16,392 bits"
        );
    }
}
