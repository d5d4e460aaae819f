//! Keys in a PKCS#11 token (an HSM in production, SoftHSM2 in tests), through the cryptoki crate.
//!
//! The private key never leaves the token: it is generated there (sensitive, not extractable)
//! and used through the token's sign operation. Keys are found by their label.

use const_oid::db::rfc5912;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode};
use pkcs8::EncodePublicKey;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::software::spki_from_der;
use crate::{KeyError, KeyKind, SignatureAlgorithm, SigningKey};

/// The process's one context for the PKCS#11 `module`: a module may be initialised once per
/// process, and every user of it in Inkan — signing keys here, the blob store's master key —
/// shares this registry. "Already initialised" (by a library outside Inkan) is accepted, and
/// contexts are never finalised, so no other user's sessions are cut.
pub fn pkcs11_context(module: &Path) -> Result<Pkcs11, KeyError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let contexts = CONTEXTS.get_or_init(Default::default);
    let mut contexts = contexts
        .lock()
        .map_err(|_| KeyError::Pkcs11("context registry poisoned".into()))?;
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module)
        .map_err(|e| KeyError::Pkcs11(format!("cannot load module {}: {e}", module.display())))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(e.into()),
    }
    contexts.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// An open, logged-in PKCS#11 token.
pub struct Pkcs11Token {
    ctx: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    label: String,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Token {
    /// Opens the token with the given label through `module` (e.g. libsofthsm2.so).
    pub fn open(module: &Path, token_label: &str, pin: &str) -> Result<Self, KeyError> {
        let ctx = pkcs11_context(module)?;
        let mut found = None;
        for slot in ctx.get_slots_with_token()? {
            let info = ctx.get_token_info(slot)?;
            if info.label().trim() == token_label {
                found = Some(slot);
                break;
            }
        }
        let slot = found.ok_or_else(|| {
            KeyError::Pkcs11(format!(
                "no token labelled {token_label:?} in {}",
                module.display()
            ))
        })?;
        let token = Self {
            ctx,
            slot,
            pin: AuthPin::new(pin.into()),
            label: token_label.to_string(),
        };
        // Check the PIN now, so a wrong one is reported at start and not at the first signature.
        drop(token.session()?);
        Ok(token)
    }

    fn session(&self) -> Result<Session, KeyError> {
        let session = self.ctx.open_rw_session(self.slot)?;
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) => Ok(session),
            // Login state is per application: a second session is already logged in.
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => Ok(session),
            Err(e) => Err(KeyError::Pkcs11(format!(
                "login to token {:?}: {e}",
                self.label
            ))),
        }
    }

    /// Generates a key pair in the token (private key sensitive and not extractable).
    pub fn generate_key(&self, label: &str, kind: KeyKind) -> Result<Pkcs11Key, KeyError> {
        let session = self.session()?;
        let common_public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let (mechanism, mut public) = match kind {
            KeyKind::Rsa2048 | KeyKind::Rsa3072 => {
                let bits: u64 = if kind == KeyKind::Rsa2048 { 2048 } else { 3072 };
                (
                    Mechanism::RsaPkcsKeyPairGen,
                    vec![
                        Attribute::ModulusBits(bits.into()),
                        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                    ],
                )
            }
            KeyKind::EcP256 | KeyKind::EcP384 => {
                let curve = if kind == KeyKind::EcP256 {
                    rfc5912::SECP_256_R_1
                } else {
                    rfc5912::SECP_384_R_1
                };
                let params = curve
                    .to_der()
                    .map_err(|e| KeyError::Pkcs11(e.to_string()))?;
                (Mechanism::EccKeyPairGen, vec![Attribute::EcParams(params)])
            }
        };
        public.extend(common_public);
        let (_public, private) = session.generate_key_pair(&mechanism, &public, &private)?;
        let public_key = read_public_key(&session, label)?;
        Ok(Pkcs11Key {
            session: Mutex::new(session),
            handle: private,
            algorithm: kind.default_algorithm(),
            public_key,
            label: label.to_string(),
        })
    }

    /// Finds the key pair with this label.
    pub fn key(&self, label: &str) -> Result<Pkcs11Key, KeyError> {
        let session = self.session()?;
        let handles = session.find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])?;
        let handle = *handles.first().ok_or_else(|| {
            KeyError::Pkcs11(format!(
                "no private key labelled {label:?} in token {:?}",
                self.label
            ))
        })?;
        let public_key = read_public_key(&session, label)?;
        let algorithm = if public_key.algorithm.oid == rfc5912::RSA_ENCRYPTION {
            SignatureAlgorithm::RsaPkcs1Sha256
        } else if crate::algorithm::named_curve(&public_key) == Some(rfc5912::SECP_384_R_1) {
            SignatureAlgorithm::EcdsaP384Sha384
        } else {
            SignatureAlgorithm::EcdsaP256Sha256
        };
        Ok(Pkcs11Key {
            session: Mutex::new(session),
            handle,
            algorithm,
            public_key,
            label: label.to_string(),
        })
    }

    /// The key with this label, generated first if the token does not hold one yet.
    pub fn key_or_generate(&self, label: &str, kind: KeyKind) -> Result<Pkcs11Key, KeyError> {
        match self.key(label) {
            Ok(key) => Ok(key),
            Err(_) => self.generate_key(label, kind),
        }
    }
}

/// Reads the public key object with `label` and encodes it as a SubjectPublicKeyInfo.
fn read_public_key(session: &Session, label: &str) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
    let handles = session.find_objects(&[
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::Label(label.as_bytes().to_vec()),
    ])?;
    let handle = *handles
        .first()
        .ok_or_else(|| KeyError::Pkcs11(format!("no public key labelled {label:?}")))?;
    let attributes = session.get_attributes(
        handle,
        &[
            AttributeType::KeyType,
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::EcParams,
            AttributeType::EcPoint,
        ],
    )?;
    let (mut key_type, mut modulus, mut exponent, mut params, mut point) =
        (None, None, None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Modulus(m) => modulus = Some(m),
            Attribute::PublicExponent(e) => exponent = Some(e),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    match key_type {
        Some(KeyType::RSA) => {
            let (Some(n), Some(e)) = (modulus, exponent) else {
                return Err(KeyError::Pkcs11("RSA public key without modulus".into()));
            };
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&n),
                rsa::BigUint::from_bytes_be(&e),
            )
            .map_err(|e| KeyError::Pkcs11(e.to_string()))?;
            let der = key
                .to_public_key_der()
                .map_err(|e| KeyError::Pkcs11(e.to_string()))?;
            spki_from_der(der.as_bytes())
        }
        Some(KeyType::EC) => {
            let (Some(params), Some(point)) = (params, point) else {
                return Err(KeyError::Pkcs11("EC public key without point".into()));
            };
            let curve = const_oid::ObjectIdentifier::from_der(&params)
                .map_err(|e| KeyError::Pkcs11(format!("EC params: {e}")))?;
            // Tokens return CKA_EC_POINT DER-wrapped in an OCTET STRING (as PKCS#11 says);
            // some return the raw point. Accept both.
            let raw = match OctetString::from_der(&point) {
                Ok(os) => os.as_bytes().to_vec(),
                Err(_) => point,
            };
            Ok(SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: rfc5912::ID_EC_PUBLIC_KEY,
                    parameters: Some(der::Any::from(&curve)),
                },
                subject_public_key: BitString::from_bytes(&raw)
                    .map_err(|e| KeyError::Pkcs11(e.to_string()))?,
            })
        }
        other => Err(KeyError::Unsupported(format!("token key type {other:?}"))),
    }
}

/// A private key inside a PKCS#11 token.
pub struct Pkcs11Key {
    // A PKCS#11 session may not be used from two threads at once.
    session: Mutex<Session>,
    handle: ObjectHandle,
    algorithm: SignatureAlgorithm,
    public_key: SubjectPublicKeyInfoOwned,
    label: String,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Chooses another signature algorithm for the same key (RSA: PKCS#1 v1.5 or PSS).
    pub fn with_algorithm(mut self, algorithm: SignatureAlgorithm) -> Result<Self, KeyError> {
        if algorithm.is_rsa() != self.algorithm.is_rsa()
            || (!algorithm.is_rsa() && algorithm != self.algorithm)
        {
            return Err(KeyError::Unsupported(format!(
                "{algorithm:?} does not fit this key"
            )));
        }
        self.algorithm = algorithm;
        Ok(self)
    }
}

impl SigningKey for Pkcs11Key {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let session = self
            .session
            .lock()
            .map_err(|_| KeyError::Pkcs11("session lock poisoned".into()))?;
        match self.algorithm {
            SignatureAlgorithm::RsaPkcs1Sha256 => {
                Ok(session.sign(&Mechanism::Sha256RsaPkcs, self.handle, message)?)
            }
            SignatureAlgorithm::RsaPssSha256 => {
                let params = PkcsPssParams {
                    hash_alg: MechanismType::SHA256,
                    mgf: PkcsMgfType::MGF1_SHA256,
                    s_len: 32u64.into(),
                };
                Ok(session.sign(&Mechanism::Sha256RsaPkcsPss(params), self.handle, message)?)
            }
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let digest = self.algorithm.digest().hash(message);
                let raw = session.sign(&Mechanism::Ecdsa, self.handle, &digest)?;
                // CKM_ECDSA gives r‖s; X.509 and CMS want a DER Ecdsa-Sig-Value.
                let sig = p256::ecdsa::Signature::from_slice(&raw)
                    .map_err(|e| KeyError::Signing(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            SignatureAlgorithm::EcdsaP384Sha384 => {
                let digest = self.algorithm.digest().hash(message);
                let raw = session.sign(&Mechanism::Ecdsa, self.handle, &digest)?;
                let sig = p384::ecdsa::Signature::from_slice(&raw)
                    .map_err(|e| KeyError::Signing(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}
