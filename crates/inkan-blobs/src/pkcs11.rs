//! A master key inside a PKCS#11 token (an HSM in production, SoftHSM2 in tests).
//!
//! The AES-256 key is generated in the token as sensitive and not extractable: it never exists
//! outside it, so copying the server's disk (or its backups) is not enough to read blobs. Data
//! keys are wrapped with CKM_AES_GCM through C_Encrypt / C_Decrypt, which every token with AES
//! offers (SoftHSM2 included), with a random 96-bit IV drawn here and kept beside the result.
//! C_WrapKey would need each data key to be a token object first, for no gain: the data key is
//! used in software anyway.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::master::{DataKey, MasterKey, KEY_LEN, NONCE_LEN, TAG_LEN, WRAP_AAD};
use crate::MasterKeyError;

/// The process's one context for `module`, shared with the signing keys (`inkan-keys` keeps the
/// registry: a module is initialised once per process).
fn context_for(module: &Path) -> Result<Pkcs11, MasterKeyError> {
    inkan_keys::pkcs11_context(module).map_err(|e| MasterKeyError::Pkcs11(e.to_string()))
}

/// A master key held in a PKCS#11 token.
pub struct Pkcs11MasterKey {
    // One logged-in session for the key's life: PKCS#11 sessions are not to be used from two
    // threads at once, and keeping it open keeps the application logged in.
    session: Mutex<Session>,
    handle: ObjectHandle,
    id: String,
}

impl Pkcs11MasterKey {
    /// Opens the AES key labelled `key_label` in the token labelled `token_label`, generating it
    /// in the token when there is none.
    ///
    /// Generate it once, from one process: two processes starting together on an empty token
    /// could each generate one, after which opening reports the label as ambiguous.
    pub fn open_or_create(
        module: impl AsRef<Path>,
        token_label: &str,
        pin: &str,
        key_label: &str,
    ) -> Result<Self, MasterKeyError> {
        Self::open_inner(module.as_ref(), token_label, pin, key_label, true)
    }

    /// Opens an existing AES key; an error when the token holds none with that label.
    pub fn open(
        module: impl AsRef<Path>,
        token_label: &str,
        pin: &str,
        key_label: &str,
    ) -> Result<Self, MasterKeyError> {
        Self::open_inner(module.as_ref(), token_label, pin, key_label, false)
    }

    fn open_inner(
        module: &Path,
        token_label: &str,
        pin: &str,
        key_label: &str,
        create: bool,
    ) -> Result<Self, MasterKeyError> {
        let ctx = context_for(module)?;
        let mut slot = None;
        for candidate in ctx.get_slots_with_token()? {
            if ctx.get_token_info(candidate)?.label().trim() == token_label {
                slot = Some(candidate);
                break;
            }
        }
        let slot = slot.ok_or_else(|| {
            MasterKeyError::Pkcs11(format!(
                "no token labelled {token_label:?} in {}",
                module.display()
            ))
        })?;
        let session = ctx.open_rw_session(slot)?;
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            // Login state is per application: another session may have logged in already.
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => {
                return Err(MasterKeyError::Pkcs11(format!(
                    "login to token {token_label:?}: {e}"
                )))
            }
        }
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(key_label.as_bytes().to_vec()),
        ];
        let found = session.find_objects(&template)?;
        let handle = match found.as_slice() {
            [one] => *one,
            [] if create => generate(&session, key_label)?,
            [] => {
                return Err(MasterKeyError::Pkcs11(format!(
                    "no AES key labelled {key_label:?} in token {token_label:?}"
                )))
            }
            _ => {
                return Err(MasterKeyError::Pkcs11(format!(
                    "{} AES keys are labelled {key_label:?} in token {token_label:?}; \
                     keep one (blobs name the key by label and CKA_ID)",
                    found.len()
                )))
            }
        };
        let mut cka_id = Vec::new();
        for attribute in session.get_attributes(handle, &[AttributeType::Id])? {
            if let Attribute::Id(bytes) = attribute {
                cka_id = bytes;
            }
        }
        // The label names the key for people; the random CKA_ID set at generation tells apart
        // a key regenerated under the same label, so its blobs say "wrong master key" and not
        // "corrupt".
        let id = if cka_id.is_empty() {
            format!("pkcs11:{key_label}")
        } else {
            format!("pkcs11:{key_label}:{}", hex::encode(&cka_id))
        };
        if id.len() > 255 {
            return Err(MasterKeyError::Pkcs11(format!(
                "key label {key_label:?} is too long to name in a blob (keep it under 200 bytes)"
            )));
        }
        Ok(Pkcs11MasterKey {
            session: Mutex::new(session),
            handle,
            id,
        })
    }

    fn session(&self) -> Result<std::sync::MutexGuard<'_, Session>, MasterKeyError> {
        self.session
            .lock()
            .map_err(|_| MasterKeyError::Pkcs11("session lock poisoned".into()))
    }
}

fn generate(session: &Session, key_label: &str) -> Result<ObjectHandle, MasterKeyError> {
    let mut cka_id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut cka_id);
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen((KEY_LEN as u64).into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Label(key_label.as_bytes().to_vec()),
        Attribute::Id(cka_id.to_vec()),
    ];
    Ok(session.generate_key(&Mechanism::AesKeyGen, &template)?)
}

impl MasterKey for Pkcs11MasterKey {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, dek: &DataKey) -> Result<Vec<u8>, MasterKeyError> {
        let mut iv = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut iv);
        let sealed = {
            let params = GcmParams::new(&mut iv, WRAP_AAD, ((TAG_LEN * 8) as u64).into())?;
            self.session()?
                .encrypt(&Mechanism::AesGcm(params), self.handle, dek.as_bytes())?
        };
        if sealed.len() != KEY_LEN + TAG_LEN {
            return Err(MasterKeyError::WrapFailed {
                id: self.id.clone(),
            });
        }
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&iv);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, MasterKeyError> {
        let failed = || MasterKeyError::UnwrapFailed {
            id: self.id.clone(),
        };
        if wrapped.len() != NONCE_LEN + KEY_LEN + TAG_LEN {
            return Err(failed());
        }
        let (iv, sealed) = wrapped.split_at(NONCE_LEN);
        let mut iv: [u8; NONCE_LEN] = iv.try_into().map_err(|_| failed())?;
        let params = GcmParams::new(&mut iv, WRAP_AAD, ((TAG_LEN * 8) as u64).into())?;
        let result = self
            .session()?
            .decrypt(&Mechanism::AesGcm(params), self.handle, sealed);
        match result {
            Ok(plain) => DataKey::from_slice(&Zeroizing::new(plain)).ok_or_else(failed),
            // The tag did not verify: the bytes are not what this key wrapped. SoftHSM2 says
            // so with CKR_GENERAL_ERROR (its OpenSSL decrypt-final fails) rather than
            // CKR_ENCRYPTED_DATA_INVALID; a token that is really broken fails the other calls
            // too (login, encrypt), so it does not hide behind this.
            Err(CkError::Pkcs11(
                RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange
                | RvError::GeneralError,
                _,
            )) => Err(failed()),
            Err(e) => Err(e.into()),
        }
    }
}

impl fmt::Debug for Pkcs11MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
