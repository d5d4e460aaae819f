//! TOTP (RFC 6238) as authenticator apps speak it: HMAC-SHA1, six digits, 30-second steps,
//! a 160-bit secret written in base32. The arithmetic is `totp-rs`'s; what is Inkan's is which
//! step a code belongs to (so that each code is accepted once) and the one step of clock skew
//! either way that a phone's clock is allowed.

use rand::{Rng, RngCore};
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per code.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// How many steps a code may be early or late.
const SKEW_STEPS: i64 = 1;
/// Bytes of a new secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// An authenticator's shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A fresh secret from the operating system's generator.
    pub fn random() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// The raw bytes (as stored, sealed).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<TotpSecret> {
        (bytes.len() >= 16).then_some(TotpSecret(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A secret written in base32 (spaces and case ignored, as people copy it); `None` when it
    /// is not base32 or shorter than 128 bits.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() || compact.len() > 128 {
            return None;
        }
        Secret::Encoded(compact)
            .to_bytes()
            .ok()
            .and_then(TotpSecret::from_bytes)
    }

    /// The secret in base32 without padding, as authenticator apps take it by hand.
    pub fn base32(&self) -> String {
        self.totp(DIGITS).get_secret_base32()
    }

    /// The `otpauth://` URI of the QR code an authenticator app scans (Key URI Format).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let issuer = utf8_percent_encode(&issuer.replace(':', " "), NON_ALPHANUMERIC).to_string();
        let account = utf8_percent_encode(&account.replace(':', " "), NON_ALPHANUMERIC).to_string();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32()
        )
    }

    fn totp(&self, digits: usize) -> TOTP {
        // The step and skew are applied by `step_of`; totp-rs computes one step's code.
        TOTP::new_unchecked(
            Algorithm::SHA1,
            digits,
            0,
            STEP_SECONDS as u64,
            self.0.clone(),
        )
    }

    /// The code of the step that holds Unix time `at`.
    pub fn code_at(&self, at: i64) -> String {
        self.code(DIGITS, at)
    }

    fn code(&self, digits: usize, at: i64) -> String {
        self.totp(digits).generate(u64::try_from(at).unwrap_or(0))
    }

    /// The step `code` belongs to, when it is the code of the step of `now` or of one step
    /// before or after; `None` otherwise. Every candidate is compared, in constant time.
    pub fn step_of(&self, code: &str, now: i64) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.div_euclid(STEP_SECONDS);
        let mut found = None;
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            let expected = self.code_at(step * STEP_SECONDS);
            if equal(expected.as_bytes(), code.as_bytes()) {
                found = Some(step);
            }
        }
        found
    }
}

/// Constant-time equality of two codes of the same length.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Letters and digits of recovery codes: no 0/o, 1/l/i to misread on paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new recovery code, `xxxx-xxxx-xxxx`: twelve characters of 31 (59 bits), typed by a
/// person who lost their phone, from the code sheet they printed.
pub fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12)
        .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed recovery code in canonical form (case, spaces and hyphens forgiven); `None` when
/// it cannot be one.
pub fn canonical_recovery_code(typed: &str) -> Option<String> {
    let compact: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (compact.len() == 12).then(|| format!("{}-{}-{}", &compact[..4], &compact[4..8], &compact[8..]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the 20-byte ASCII secret "12345678901234567890",
    /// eight digits.
    #[test]
    fn the_rfc_6238_test_vectors_pass() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code(8, time), code, "T = {time}");
        }
        // Six digits are the last six of the eight (the same truncation).
        assert_eq!(secret.code_at(59), "287082");
    }

    #[test]
    fn a_code_belongs_to_its_step_with_one_step_of_skew() {
        let secret = TotpSecret::random();
        let now = 1_800_000_015; // inside step 60_000_000
        let step = now / STEP_SECONDS;
        assert_eq!(secret.step_of(&secret.code_at(now), now), Some(step));
        assert_eq!(
            secret.step_of(&secret.code_at(now - 30), now),
            Some(step - 1)
        );
        assert_eq!(
            secret.step_of(&secret.code_at(now + 30), now),
            Some(step + 1)
        );
        for far in [now - 60, now + 60, now - 3600] {
            let code = secret.code_at(far);
            // (A far code may collide with a near one by chance: one in a million.)
            if [now - 30, now, now + 30]
                .iter()
                .all(|t| secret.code_at(*t) != code)
            {
                assert_eq!(secret.step_of(&code, now), None, "{far}");
            }
        }
        assert_eq!(secret.step_of("12345", now), None);
        assert_eq!(secret.step_of("12345a", now), None);
        assert_eq!(secret.step_of("", now), None);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_the_uri() {
        let secret = TotpSecret::random();
        let written = secret.base32();
        assert_eq!(written.len(), 32);
        let typed = written.to_lowercase().replace("", " ");
        assert_eq!(TotpSecret::from_base32(&typed), Some(secret.clone()));
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
        assert_eq!(TotpSecret::from_base32("MFRGG"), None, "too short");
        let uri = secret.otpauth_uri("Inkan 盛岡市", "keiyaku@example.jp");
        assert!(uri.starts_with("otpauth://totp/Inkan%20%E7%9B%9B"), "{uri}");
        assert!(uri.contains(&format!("secret={written}&")), "{uri}");
        assert!(uri.contains(":keiyaku%40example%2Ejp?"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_forgiving_to_type() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 14);
        assert_eq!(
            canonical_recovery_code(&code).as_deref(),
            Some(code.as_str())
        );
        let shouted = code.to_uppercase().replace('-', " ");
        assert_eq!(canonical_recovery_code(&shouted), Some(code));
        assert_eq!(canonical_recovery_code("123456"), None);
        assert_ne!(new_recovery_code(), new_recovery_code());
    }
}
