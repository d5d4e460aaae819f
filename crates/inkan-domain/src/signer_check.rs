//! A second check of who opens a signer's link (本人確認), beyond control of the mailbox the
//! link was sent to: an access code the sender gives the signer another way (アクセスコード), or
//! a code sent by SMS to the signer's phone when they ask for it (SMS認証).
//!
//! Until the check is passed, the link shows nothing of the contract. Every wrong code counts;
//! the fifth locks the link until the sender sends a fresh one (which starts the count again).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Wrong codes that lock a link.
pub const MAX_WRONG_CODES: u32 = 5;

/// The longest access code a sender may set.
pub const MAX_ACCESS_CODE_CHARS: usize = 40;

/// SMS codes one link may ask for (a fresh link starts again): enough for a few lost messages,
/// few enough that a link cannot be used to send a stream of messages to someone's phone.
pub const MAX_SMS_PER_LINK: u32 = 5;

/// How long a signer waits before asking for another SMS code.
pub const SMS_RESEND_SECONDS: i64 = 60;

/// How long an SMS code is valid.
pub const SMS_CODE_SECONDS: i64 = 10 * 60;

/// The check a signer passes before their link shows the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignerCheck {
    /// アクセスコード: set by the sender; only its password hash (PHC string) is kept.
    AccessCode { hash: String },
    /// SMS認証: a six-digit code sent to this number.
    Sms { phone: PhoneNumber },
}

impl SignerCheck {
    /// How the check is named, without its secret.
    pub fn method(&self) -> CheckMethod {
        match self {
            SignerCheck::AccessCode { .. } => CheckMethod::AccessCode,
            SignerCheck::Sms { .. } => CheckMethod::Sms,
        }
    }

    /// What the signing record keeps of a passed check: the method and, for SMS, the number
    /// masked.
    pub fn record(&self) -> CheckRecord {
        match self {
            SignerCheck::AccessCode { .. } => CheckRecord::AccessCode,
            SignerCheck::Sms { phone } => CheckRecord::Sms {
                masked_phone: phone.masked(),
            },
        }
    }
}

/// The kind of a [`SignerCheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckMethod {
    AccessCode,
    Sms,
}

impl CheckMethod {
    pub fn japanese(self) -> &'static str {
        match self {
            CheckMethod::AccessCode => "アクセスコード",
            CheckMethod::Sms => "SMS認証",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            CheckMethod::AccessCode => "access code",
            CheckMethod::Sms => "SMS code",
        }
    }
}

/// A passed check as the signing record and the 電子契約締結証明書 keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckRecord {
    AccessCode,
    /// The number the code went to, masked: `+81 90-****-5678`.
    Sms {
        masked_phone: String,
    },
}

impl CheckRecord {
    /// `アクセスコード`, `SMS認証 (+81 90-****-5678)`.
    pub fn japanese(&self) -> String {
        match self {
            CheckRecord::AccessCode => CheckMethod::AccessCode.japanese().to_string(),
            CheckRecord::Sms { masked_phone } => format!("SMS認証 ({masked_phone})"),
        }
    }

    pub fn english(&self) -> String {
        match self {
            CheckRecord::AccessCode => CheckMethod::AccessCode.english().to_string(),
            CheckRecord::Sms { masked_phone } => format!("SMS code ({masked_phone})"),
        }
    }
}

/// Where a signer's check stands for their live link. A fresh link starts it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckProgress {
    /// Wrong codes given; [`MAX_WRONG_CODES`] locks the link.
    #[serde(default)]
    pub wrong_codes: u32,
    /// SMS codes sent; each new one replaces the one before.
    #[serde(default)]
    pub sms_sent: u32,
    /// When the last SMS code was asked for (seconds since the Unix epoch).
    #[serde(default)]
    pub sms_sent_at: Option<i64>,
}

impl CheckProgress {
    /// Whether wrong codes have locked the link.
    pub fn locked(&self) -> bool {
        self.wrong_codes >= MAX_WRONG_CODES
    }

    /// Wrong codes left before the link locks.
    pub fn attempts_left(&self) -> u32 {
        MAX_WRONG_CODES.saturating_sub(self.wrong_codes)
    }

    /// Whether the SMS code asked for last is still valid at `now`.
    pub fn sms_code_live(&self, now: i64) -> bool {
        self.sms_sent_at
            .is_some_and(|at| now >= at && now - at < SMS_CODE_SECONDS)
    }

    /// Whether another SMS code may be sent at `now`: why not, in words, when not.
    pub fn may_send_sms(&self, now: i64) -> Result<(), DomainError> {
        if self.locked() {
            return Err(DomainError::NotAllowed(LOCKED.into()));
        }
        if self.sms_sent >= MAX_SMS_PER_LINK {
            return Err(DomainError::Limit(format!(
                "このリンクで送れる SMS は {MAX_SMS_PER_LINK} 通までです。送信者に新しいリンクの送付を依頼してください \
                 (a link sends at most {MAX_SMS_PER_LINK} SMS codes; ask the sender for a fresh link)"
            )));
        }
        if let Some(at) = self.sms_sent_at {
            let wait = at + SMS_RESEND_SECONDS - now;
            if wait > 0 {
                return Err(DomainError::Limit(format!(
                    "SMS は {wait} 秒後にもう一度送れます (another SMS can be sent in {wait} seconds)"
                )));
            }
        }
        Ok(())
    }
}

/// Why a locked link shows nothing.
pub const LOCKED: &str = "誤ったコードが5回入力されたため、このリンクはロックされました。送信者に新しいリンクの送付を依頼してください \
     (five wrong codes locked this link; ask the sender to send you a fresh one)";

/// A phone number that can receive SMS, in E.164 (`+819012345678`). Parsed with Google's
/// numbering plan (libphonenumber's data): a number written the Japanese way (`090-1234-5678`,
/// full-width digits included) is read as Japanese; others need their `+` and country code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<PhoneNumber, DomainError> {
        let invalid = |why: &str| DomainError::InvalidValue {
            what: "携帯電話番号 (mobile number)",
            why: format!("{why} ({:?})", input.chars().take(40).collect::<String>()),
        };
        let written: String = input
            .trim()
            .chars()
            .map(|c| match c {
                // Full-width digits, plus and hyphens as Japanese forms often carry them.
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '＋' => '+',
                'ー' | '－' | '‐' | '−' | '―' => '-',
                '（' => '(',
                '）' => ')',
                '　' => ' ',
                c => c,
            })
            .collect();
        if written.is_empty() || written.len() > 30 {
            return Err(invalid("番号を入力してください (enter a number)"));
        }
        if !written
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
        {
            return Err(invalid(
                "数字、+、ハイフンだけで書いてください (digits, +, hyphens and spaces only)",
            ));
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::JP), &written)
            .map_err(|_| invalid("電話番号として読めません (not a phone number)"))?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid(
                "この番号は存在しません (no such number in the numbering plan)",
            ));
        }
        use phonenumber::Type;
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile | Type::Pager => {}
            _ => {
                return Err(invalid(
                    "SMS を受け取れる携帯電話の番号を入力してください (not a mobile number: SMS cannot reach it)",
                ))
            }
        }
        Ok(PhoneNumber(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// `+819012345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its country code and last four digits hidden, for the signing
    /// record and the pages: `+81 ******5678`.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let country = phonenumber::parse(None, &self.0)
            .map(|n| n.code().value().to_string())
            .unwrap_or_default();
        let national = digits.strip_prefix(country.as_str()).unwrap_or(digits);
        let keep = national.len().min(4);
        let hidden = national.len() - keep;
        format!(
            "+{country} {}{}",
            "*".repeat(hidden),
            &national[national.len() - keep..]
        )
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn japanese_mobile_numbers_become_e164() {
        for written in [
            "090-1234-5678",
            "09012345678",
            "+81 90 1234 5678",
            "０９０－１２３４－５６７８",
            "(090) 1234-5678",
        ] {
            assert_eq!(
                PhoneNumber::parse(written).unwrap().as_str(),
                "+819012345678",
                "{written}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("070-3456-7890").unwrap().as_str(),
            "+817034567890"
        );
    }

    #[test]
    fn numbers_that_cannot_receive_sms_are_refused_with_the_reason() {
        // A fixed line (盛岡市役所's 019 area), too short, letters, empty, a toll-free number.
        for (written, why) in [
            ("019-651-4111", "携帯電話"),
            ("090-1234", "番号"),
            ("090-abcd-5678", "数字"),
            ("", "入力"),
            ("0120-123-456", "携帯電話"),
        ] {
            let e = PhoneNumber::parse(written).unwrap_err().to_string();
            assert!(e.contains(why), "{written}: {e}");
            assert!(e.contains("mobile number"), "{e}");
        }
    }

    #[test]
    fn a_foreign_number_keeps_its_country() {
        let n = PhoneNumber::parse("+1 650-253-0000").unwrap();
        assert_eq!(n.as_str(), "+16502530000");
        assert_eq!(n.masked(), "+1 ******0000");
    }

    #[test]
    fn the_mask_keeps_the_country_and_the_last_four_digits() {
        let n = PhoneNumber::parse("090-1234-5678").unwrap();
        assert_eq!(n.masked(), "+81 ******5678");
        let record = SignerCheck::Sms { phone: n }.record();
        assert_eq!(record.japanese(), "SMS認証 (+81 ******5678)");
        // The full number is nowhere in what is recorded.
        assert!(!serde_json::to_string(&record).unwrap().contains("1234"));
    }

    #[test]
    fn five_wrong_codes_lock_and_sms_are_paced() {
        let mut p = CheckProgress::default();
        assert_eq!(p.attempts_left(), 5);
        p.wrong_codes = 4;
        assert!(!p.locked());
        p.wrong_codes = 5;
        assert!(p.locked());
        assert!(p
            .may_send_sms(0)
            .unwrap_err()
            .to_string()
            .contains("ロック"));
        let mut p = CheckProgress {
            sms_sent: 1,
            sms_sent_at: Some(1000),
            ..CheckProgress::default()
        };
        assert!(p.sms_code_live(1000 + SMS_CODE_SECONDS - 1));
        assert!(!p.sms_code_live(1000 + SMS_CODE_SECONDS));
        assert!(p
            .may_send_sms(1030)
            .unwrap_err()
            .to_string()
            .contains("30 秒"));
        assert!(p.may_send_sms(1060).is_ok());
        p.sms_sent = MAX_SMS_PER_LINK;
        assert!(p.may_send_sms(5000).is_err());
    }
}
