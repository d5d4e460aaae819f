//! Reading encrypted PDFs that open without a password (ISO 32000-2 §7.6): the standard security
//! handler with an empty user password — RC4 (40 to 128 bits), AES-128 and AES-256 — so that a
//! signed, "protected" contract can be verified. Such files are only read: the incremental
//! writer still refuses them, since an update would have to be encrypted too.
//!
//! What is decrypted where: strings and stream data of indirect objects, each with the key of its
//! object (RC4, AESV2) or the file key (AESV3). Not decrypted: the `/Encrypt` dictionary,
//! cross-reference streams, objects inside object streams (the object stream was decrypted as a
//! whole), a signature dictionary's `/Contents` (§7.6.2: it is written in clear so the signed
//! byte ranges can be hashed), and the XMP metadata when `/EncryptMetadata false`.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use md5::{Digest, Md5};
use rc4::{KeyInit, Rc4, StreamCipher};
use sha2::{Sha256, Sha384, Sha512};

use crate::error::{PdfError, Result};
use crate::object::{Dict, ObjRef, Object};

/// The 32-byte padding of passwords (ISO 32000-2 §7.6.4.3.2, algorithm 2, step a).
const PADDING: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// How strings or streams are encrypted (a crypt filter's `/CFM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Not encrypted (`/Identity`, `/None`).
    Identity,
    /// RC4 with a per-object key (`/V2`, and every V1–V3 file).
    Rc4,
    /// AES-128-CBC with a per-object key (`/AESV2`).
    Aes128,
    /// AES-256-CBC with the file key (`/AESV3`).
    Aes256,
}

/// The key and methods of a document opened with the empty user password.
#[derive(Clone)]
pub(crate) struct Decryptor {
    key: Vec<u8>,
    strings: Method,
    streams: Method,
    encrypt_metadata: bool,
    /// The `/Encrypt` dictionary's own object, which is never decrypted.
    pub(crate) encrypt_ref: Option<ObjRef>,
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Decryptor")
            .field("strings", &self.strings)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

fn unsupported(reason: impl Into<String>) -> PdfError {
    PdfError::EncryptedUnreadable(reason.into())
}

impl Decryptor {
    /// Authenticates the empty user password against `/Encrypt` (`encrypt`, already resolved)
    /// and the first file identifier `id0`.
    pub(crate) fn open(
        encrypt: &Dict,
        encrypt_ref: Option<ObjRef>,
        id0: &[u8],
    ) -> Result<Decryptor> {
        let filter = encrypt.get_name("Filter").unwrap_or_default();
        if filter != b"Standard" {
            return Err(unsupported(format!(
                "the security handler /{} (only /Standard, password-based, is read)",
                String::from_utf8_lossy(filter)
            )));
        }
        let v = encrypt.get_int("V").unwrap_or(0);
        let r = encrypt.get_int("R").unwrap_or(0);
        let bytes = |key: &str| -> Vec<u8> {
            encrypt
                .get(key)
                .and_then(Object::as_string)
                .map(|s| s.bytes.clone())
                .unwrap_or_default()
        };
        let (o, u) = (bytes("O"), bytes("U"));
        let p = encrypt.get_int("P").unwrap_or(0);
        let encrypt_metadata = encrypt
            .get("EncryptMetadata")
            .and_then(Object::as_bool)
            .unwrap_or(true);
        let (strings, streams) = match v {
            1 | 2 => (Method::Rc4, Method::Rc4),
            4 | 5 => (
                crypt_filter(encrypt, "StrF")?,
                crypt_filter(encrypt, "StmF")?,
            ),
            other => {
                return Err(unsupported(format!(
                    "encryption version /V {other} (1, 2, 4 and 5 are read)"
                )))
            }
        };
        let key = match r {
            2..=4 => {
                let length = match v {
                    1 => 5,
                    4 => 16,
                    _ => usize::try_from(encrypt.get_int("Length").unwrap_or(40) / 8).unwrap_or(0),
                };
                if !(5..=16).contains(&length) || o.len() < 32 || u.len() < 32 {
                    return Err(unsupported(
                        "a malformed /Encrypt dictionary (/Length, /O or /U)",
                    ));
                }
                let key = rc4_file_key(r, length, &o, p, id0, encrypt_metadata);
                if !user_password_matches(r, &key, &u, id0) {
                    return Err(PdfError::PasswordRequired);
                }
                key
            }
            5 | 6 => {
                let ue = bytes("UE");
                if u.len() < 48 || ue.len() < 32 {
                    return Err(unsupported("a malformed /Encrypt dictionary (/U or /UE)"));
                }
                let hash = |salt: &[u8]| -> Vec<u8> {
                    if r == 5 {
                        Sha256::digest(salt).to_vec()
                    } else {
                        hash_2b(b"", salt, b"")
                    }
                };
                if hash(&u[32..40]) != u[..32] {
                    return Err(PdfError::PasswordRequired);
                }
                let intermediate = hash(&u[40..48]);
                let mut key = ue[..32].to_vec();
                cbc::Decryptor::<aes::Aes256>::new_from_slices(&intermediate, &[0u8; 16])
                    .map_err(|_| unsupported("an AES-256 key of the wrong size"))?
                    .decrypt_padded_mut::<NoPadding>(&mut key)
                    .map_err(|_| unsupported("a malformed /UE"))?;
                key
            }
            other => {
                return Err(unsupported(format!(
                    "the standard security handler's revision /R {other} (2 to 6 are read)"
                )))
            }
        };
        Ok(Decryptor {
            key,
            strings,
            streams,
            encrypt_metadata,
            encrypt_ref,
        })
    }

    /// Decrypts, in place, every string of the indirect object `r` as read from the file, and
    /// marks its stream data (if any) for decryption with `r`'s key.
    pub(crate) fn decrypt_object(&self, r: ObjRef, obj: &mut Object) -> Result<()> {
        if Some(r) == self.encrypt_ref {
            return Ok(());
        }
        match obj {
            Object::Stream(stream) => {
                if stream.dict.get_name("Type") == Some(b"XRef".as_slice()) {
                    return Ok(());
                }
                let clear_metadata = !self.encrypt_metadata
                    && stream.dict.get_name("Type") == Some(b"Metadata".as_slice());
                self.decrypt_strings(r, &mut stream.dict, 0)?;
                if !clear_metadata
                    && self.streams != Method::Identity
                    && !identity_crypt(&stream.dict)
                {
                    stream.data = stream.data.clone().encrypted_with(r);
                }
                Ok(())
            }
            Object::Dict(dict) => self.decrypt_strings(r, dict, 0),
            other => self.decrypt_value(r, other, 0),
        }
    }

    fn decrypt_strings(&self, r: ObjRef, dict: &mut Dict, depth: usize) -> Result<()> {
        // A signature dictionary's /Contents is in clear (ISO 32000-2 §7.6.2).
        let signature = dict.contains_key("ByteRange");
        for (key, value) in dict.iter_mut() {
            if signature && key.as_bytes() == b"Contents" {
                continue;
            }
            self.decrypt_value(r, value, depth + 1)?;
        }
        Ok(())
    }

    fn decrypt_value(&self, r: ObjRef, value: &mut Object, depth: usize) -> Result<()> {
        if depth > crate::limits::MAX_NESTING {
            return Ok(());
        }
        match value {
            Object::String(s) => {
                s.bytes = self.decrypt(self.strings, r, &s.bytes)?;
            }
            Object::Array(items) => {
                for item in items {
                    self.decrypt_value(r, item, depth + 1)?;
                }
            }
            Object::Dict(d) => self.decrypt_strings(r, d, depth)?,
            _ => {}
        }
        Ok(())
    }

    /// The clear data of a stream of object `r`.
    pub(crate) fn decrypt_stream(&self, r: ObjRef, data: &[u8]) -> Result<Vec<u8>> {
        self.decrypt(self.streams, r, data)
    }

    fn decrypt(&self, method: Method, r: ObjRef, data: &[u8]) -> Result<Vec<u8>> {
        match method {
            Method::Identity => Ok(data.to_vec()),
            Method::Rc4 => {
                let key = self.object_key(r, false);
                let mut out = data.to_vec();
                rc4_apply(&key, &mut out);
                Ok(out)
            }
            Method::Aes128 => aes_cbc::<aes::Aes128>(&self.object_key(r, true), data, r),
            Method::Aes256 => aes_cbc::<aes::Aes256>(&self.key, data, r),
        }
    }

    /// Algorithm 1 (§7.6.3.3): the file key extended with the object number and generation.
    fn object_key(&self, r: ObjRef, aes: bool) -> Vec<u8> {
        let mut md5 = Md5::new();
        md5.update(&self.key);
        md5.update(&r.num.to_le_bytes()[..3]);
        md5.update(r.gen.to_le_bytes());
        if aes {
            md5.update(b"sAlT");
        }
        let digest = md5.finalize();
        digest[..(self.key.len() + 5).min(16)].to_vec()
    }
}

/// The method a V4/V5 crypt filter named by `/StrF` or `/StmF` uses.
fn crypt_filter(encrypt: &Dict, which: &str) -> Result<Method> {
    let name = encrypt.get_name(which).unwrap_or(b"Identity");
    if name == b"Identity" {
        return Ok(Method::Identity);
    }
    let filter = encrypt
        .get("CF")
        .and_then(Object::as_dict)
        .and_then(|cf| cf.get(name))
        .and_then(Object::as_dict)
        .ok_or_else(|| {
            unsupported(format!(
                "/{which} names the crypt filter /{}, which /CF does not define",
                String::from_utf8_lossy(name)
            ))
        })?;
    match filter.get_name("CFM").unwrap_or(b"None") {
        b"None" => Ok(Method::Identity),
        b"V2" => Ok(Method::Rc4),
        b"AESV2" => Ok(Method::Aes128),
        b"AESV3" => Ok(Method::Aes256),
        other => Err(unsupported(format!(
            "the crypt filter method /{}",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// A stream whose own `/Crypt` filter is the identity (ISO 32000-2 §7.4.10).
fn identity_crypt(dict: &Dict) -> bool {
    let first_filter = match dict.get("Filter") {
        Some(Object::Name(n)) => Some(n.as_bytes()),
        Some(Object::Array(a)) => a.first().and_then(Object::as_name),
        _ => None,
    };
    if first_filter != Some(b"Crypt".as_slice()) {
        return false;
    }
    let params = match dict.get("DecodeParms") {
        Some(Object::Dict(d)) => Some(d),
        Some(Object::Array(a)) => a.first().and_then(Object::as_dict),
        _ => None,
    };
    params
        .and_then(|p| p.get_name("Name"))
        .is_none_or(|n| n == b"Identity")
}

/// Algorithm 2 (§7.6.4.3.2) with the empty password.
fn rc4_file_key(r: i64, length: usize, o: &[u8], p: i64, id0: &[u8], meta: bool) -> Vec<u8> {
    let mut md5 = Md5::new();
    md5.update(PADDING);
    md5.update(&o[..32]);
    // /P is a signed 32-bit value; its low four bytes, least significant first.
    md5.update((p as i32).to_le_bytes());
    md5.update(id0);
    if r >= 4 && !meta {
        md5.update([0xFF; 4]);
    }
    let mut digest = md5.finalize().to_vec();
    if r >= 3 {
        for _ in 0..50 {
            digest = Md5::digest(&digest[..length]).to_vec();
        }
    }
    digest.truncate(length);
    digest
}

/// Algorithms 4 and 5 (§7.6.4.4): does `key` decrypt `/U` to the empty password's value?
fn user_password_matches(r: i64, key: &[u8], u: &[u8], id0: &[u8]) -> bool {
    if r == 2 {
        let mut expected = PADDING.to_vec();
        rc4_apply(key, &mut expected);
        return expected == u[..32];
    }
    let mut md5 = Md5::new();
    md5.update(PADDING);
    md5.update(id0);
    let mut value = md5.finalize().to_vec();
    for i in 0u8..20 {
        let round_key: Vec<u8> = key.iter().map(|b| b ^ i).collect();
        rc4_apply(&round_key, &mut value);
    }
    value[..16] == u[..16]
}

fn rc4_apply(key: &[u8], data: &mut [u8]) {
    // RC4 keys of 5 to 16 bytes, as the standard handler makes them.
    macro_rules! with_len {
        ($($n:literal => $t:ty),*) => {
            match key.len() {
                $($n => {
                    if let Ok(mut cipher) = Rc4::<$t>::new_from_slice(key) {
                        cipher.apply_keystream(data);
                    }
                })*
                _ => {}
            }
        };
    }
    use rc4::consts::*;
    with_len!(5 => U5, 6 => U6, 7 => U7, 8 => U8, 9 => U9, 10 => U10, 11 => U11, 12 => U12,
        13 => U13, 14 => U14, 15 => U15, 16 => U16);
}

/// AES-CBC with the IV in the first 16 bytes and PKCS#5 padding (§7.6.3.2).
fn aes_cbc<C>(key: &[u8], data: &[u8], r: ObjRef) -> Result<Vec<u8>>
where
    cbc::Decryptor<C>: KeyIvInit + BlockDecryptMut,
    C: aes::cipher::BlockCipher + aes::cipher::BlockDecryptMut,
{
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || PdfError::Decode(format!("the encrypted data of object {r} is malformed"));
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return Err(bad());
    }
    let (iv, body) = data.split_at(16);
    let mut out = body.to_vec();
    cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| bad())?
        .decrypt_padded_mut::<NoPadding>(&mut out)
        .map_err(|_| bad())?;
    let pad = usize::from(*out.last().unwrap_or(&0));
    if !(1..=16).contains(&pad)
        || out[out.len() - pad..]
            .iter()
            .any(|b| usize::from(*b) != pad)
    {
        return Err(bad());
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

/// Algorithm 2.B (§7.6.4.3.4): the hash of AES-256 revision 6.
fn hash_2b(password: &[u8], salt: &[u8], udata: &[u8]) -> Vec<u8> {
    let mut k: Vec<u8> = Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(udata)
        .finalize()
        .to_vec();
    let mut round = 0usize;
    loop {
        let mut k1 = Vec::with_capacity(64 * (password.len() + k.len() + udata.len()));
        for _ in 0..64 {
            k1.extend_from_slice(password);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        // K1 is a multiple of 16 bytes long: 64 copies.
        let Ok(encryptor) = cbc::Encryptor::<aes::Aes128>::new_from_slices(&k[..16], &k[16..32])
        else {
            return k;
        };
        let len = k1.len();
        let Ok(e) = encryptor.encrypt_padded_mut::<NoPadding>(&mut k1, len) else {
            return k;
        };
        let e = e.to_vec();
        let sum: u32 = e[..16].iter().map(|b| u32::from(*b)).sum();
        k = match sum % 3 {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        round += 1;
        let last = usize::from(*e.last().unwrap_or(&0));
        if round >= 64 && last + 32 <= round {
            break;
        }
    }
    k.truncate(32);
    k
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_the_known_vector() {
        // RFC 6229's 40-bit key 0x0102030405, first keystream bytes.
        let mut data = [0u8; 8];
        rc4_apply(&[1, 2, 3, 4, 5], &mut data);
        assert_eq!(data, [0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27]);
    }

    #[test]
    fn aes_padding_is_checked() {
        let r = ObjRef::new(1, 0);
        assert!(aes_cbc::<aes::Aes128>(&[0u8; 16], &[0u8; 20], r).is_err());
        assert!(aes_cbc::<aes::Aes128>(&[0u8; 16], &[], r)
            .unwrap()
            .is_empty());
    }
}
