//! Value types parsed once at the edge: an email address, an amount in yen, a 締結証明書ID.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// An email address, as the 電子契約用メールアドレス届出書 registers it: the domain part is
/// lowercased (domains are case-insensitive), the local part kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let bad = |why: &str| DomainError::InvalidValue {
            what: "メールアドレス (email address)",
            why: format!("{s:?}: {why}"),
        };
        let s = s.trim();
        if s.len() > 254 {
            return Err(bad("254文字を超えています (longer than 254 characters)"));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| bad("@ がありません (no @)"))?;
        if local.is_empty() || local.len() > 64 || local.contains(char::is_whitespace) {
            return Err(bad("@ の前が空、長すぎる、または空白を含みます (the part before @ is empty, too long or has spaces)"));
        }
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !domain_ok {
            return Err(bad(
                "@ の後がドメイン名ではありません (the domain is not a domain name)",
            ));
        }
        if !local.is_ascii() {
            return Err(bad(
                "半角英数字のアドレスのみ使えます (only ASCII addresses are accepted)",
            ));
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
}

impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        s.parse()
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount in yen (取引金額): whole yen, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Yen(pub u64);

impl FromStr for Yen {
    type Err = DomainError;
    /// Accepts `1234567`, `1,234,567`, `1,234,567円`, `¥1,234,567` and full-width digits.
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let digits: String = s
            .trim()
            .trim_end_matches('円')
            .trim_start_matches(['¥', '￥'])
            .chars()
            .filter(|c| *c != ',' && *c != '，')
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                other => other,
            })
            .collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::InvalidValue {
                what: "金額 (amount in yen)",
                why: format!("{s:?} は0以上の整数の円で書いてください (not a whole, non-negative number of yen)"),
            });
        }
        digits
            .parse()
            .map(Yen)
            .map_err(|_| DomainError::InvalidValue {
                what: "金額 (amount in yen)",
                why: format!("{s:?} は大きすぎます (too large)"),
            })
    }
}

impl fmt::Display for Yen {
    /// `1,234,567円`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        write!(f, "{out}円")
    }
}

/// The 締結証明書ID: 32 lowercase hexadecimal characters (128 random bits), printed on every
/// page of the signed documents and on the certificate of conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConclusionId(String);

impl ConclusionId {
    /// A new random ID.
    pub fn new() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        ConclusionId(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The line stamped at the bottom-left of every page.
    pub fn stamp_line(&self) -> String {
        format!("締結証明書ID: {}", self.0)
    }
}

impl Default for ConclusionId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for ConclusionId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(ConclusionId(s))
        } else {
            Err(DomainError::InvalidValue {
                what: "締結証明書ID",
                why: "32桁の16進数です (it has 32 hexadecimal characters)".into(),
            })
        }
    }
}

impl TryFrom<String> for ConclusionId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        s.parse()
    }
}

impl From<ConclusionId> for String {
    fn from(id: ConclusionId) -> String {
        id.0
    }
}

impl fmt::Display for ConclusionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn emails_are_parsed_and_normalised() {
        let e: Email = " Taro.Yamada@Example.CO.JP ".parse().unwrap();
        assert_eq!(e.as_str(), "Taro.Yamada@example.co.jp");
        for bad in [
            "",
            "taro",
            "@example.jp",
            "taro@",
            "taro@localhost",
            "ta ro@example.jp",
            "太郎@example.jp",
            "taro@exa mple.jp",
            "taro@.example.jp",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
    }

    #[test]
    fn yen_reads_what_people_write_and_prints_with_commas() {
        for (text, value) in [
            ("1234567", 1_234_567),
            ("1,234,567円", 1_234_567),
            ("¥1,000", 1000),
            ("１２，０００円", 12_000),
            ("0", 0),
        ] {
            assert_eq!(text.parse::<Yen>().unwrap(), Yen(value), "{text}");
        }
        for bad in ["", "-5", "1.5", "abc", "円", "99999999999999999999999"] {
            assert!(bad.parse::<Yen>().is_err(), "{bad}");
        }
        assert_eq!(Yen(1_234_567).to_string(), "1,234,567円");
        assert_eq!(Yen(999).to_string(), "999円");
        assert_eq!(Yen(1000).to_string(), "1,000円");
    }

    #[test]
    fn conclusion_ids_are_32_hex_and_unique() {
        let a = ConclusionId::new();
        let b = ConclusionId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(a.as_str().parse::<ConclusionId>().unwrap(), a);
        assert_eq!(
            "7DFD11D5126DB4C1699470984EEC8B02"
                .parse::<ConclusionId>()
                .unwrap()
                .as_str(),
            "7dfd11d5126db4c1699470984eec8b02"
        );
        assert!("7dfd11d5".parse::<ConclusionId>().is_err());
        assert!("zzfd11d5126db4c1699470984eec8b02"
            .parse::<ConclusionId>()
            .is_err());
        assert_eq!(a.stamp_line(), format!("締結証明書ID: {a}"));
    }
}
