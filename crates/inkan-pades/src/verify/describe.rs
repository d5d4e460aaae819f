//! Certificates, names and times described for people: decoded strings (a Japanese name stays
//! readable whether it is a UTF8String or a BMPString) and RFC 3339 times.

use std::time::SystemTime;

use const_oid::db::{rfc3280, rfc4519};
use const_oid::ObjectIdentifier;
use der::Encode;
use sha2::{Digest, Sha256};
use x509_cert::name::Name;
use x509_cert::Certificate;

use super::report::CertificateInfo;

/// `2026-02-01T01:15:30Z`.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, every part after the year optional) as RFC 3339;
/// `None` when it does not parse (the caller then shows it raw).
pub(crate) fn pdf_date_to_rfc3339(text: &str) -> Option<String> {
    let s = text.trim().strip_prefix("D:").unwrap_or(text.trim());
    let digits = |from: usize, len: usize, default: u32| -> Option<u32> {
        match s.get(from..from + len) {
            Some(part) if part.bytes().all(|b| b.is_ascii_digit()) => part.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year = digits(0, 4, 0)?;
    if s.len() < 4 {
        return None;
    }
    let month = digits(4, 2, 1)?;
    let day = digits(6, 2, 1)?;
    let hour = digits(8, 2, 0)?;
    let minute = digits(10, 2, 0)?;
    let second = digits(12, 2, 0)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let rest: String = s
        .get(14..)
        .unwrap_or("")
        .chars()
        .filter(|c| *c != '\'')
        .collect();
    let zone = match rest.chars().next() {
        None | Some('Z') => "Z".to_string(),
        Some(sign @ ('+' | '-')) => {
            let hh = rest
                .get(1..3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_digit()))?;
            let mm = rest
                .get(3..5)
                .filter(|m| m.bytes().all(|b| b.is_ascii_digit()))
                .unwrap_or("00");
            format!("{sign}{hh}:{mm}")
        }
        Some(_) => return None,
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{zone}"
    ))
}

/// `CN=山田太郎, O=テスト, C=JP`: most specific first, as RFC 4514 writes it, with every string
/// decoded.
pub(crate) fn name(name: &Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.0.iter().rev() {
        for atv in rdn.0.iter() {
            let key = inkan_pki::x509::attribute_short_name(&atv.oid)
                .map(str::to_string)
                .unwrap_or_else(|| atv.oid.to_string());
            let value = inkan_pki::x509::any_to_string(&atv.value)
                .unwrap_or_else(|| format!("#{}", hex::encode(atv.value.value())));
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join(", ")
}

fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| inkan_pki::x509::any_to_string(&atv.value))
}

/// The common name, else the whole subject: how a certificate is named in one line.
pub(crate) fn short(cert: &Certificate) -> String {
    attribute(&cert.tbs_certificate.subject, rfc4519::CN)
        .unwrap_or_else(|| name(&cert.tbs_certificate.subject))
}

/// Everything a reader wants to know about a certificate.
pub(crate) fn certificate(cert: &Certificate) -> CertificateInfo {
    let tbs = &cert.tbs_certificate;
    let email = attribute(&tbs.subject, rfc3280::EMAIL_ADDRESS).or_else(|| {
        use x509_cert::ext::pkix::name::GeneralName;
        use x509_cert::ext::pkix::SubjectAltName;
        let san: SubjectAltName =
            inkan_pki::x509::find_extension(cert, const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)?;
        san.0.into_iter().find_map(|n| match n {
            GeneralName::Rfc822Name(m) => Some(m.to_string()),
            _ => None,
        })
    });
    CertificateInfo {
        subject: name(&tbs.subject),
        common_name: attribute(&tbs.subject, rfc4519::CN),
        organization: attribute(&tbs.subject, rfc4519::O),
        email,
        issuer: name(&tbs.issuer),
        serial: hex::encode_upper(tbs.serial_number.as_bytes()),
        not_before: rfc3339(tbs.validity.not_before.to_system_time()),
        not_after: rfc3339(tbs.validity.not_after.to_system_time()),
        sha256: hex::encode(Sha256::digest(cert.to_der().unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates() {
        assert_eq!(
            pdf_date_to_rfc3339("D:20260201101530+09'00'").as_deref(),
            Some("2026-02-01T10:15:30+09:00")
        );
        assert_eq!(
            pdf_date_to_rfc3339("D:20260201011530Z").as_deref(),
            Some("2026-02-01T01:15:30Z")
        );
        assert_eq!(
            pdf_date_to_rfc3339("D:2026").as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(pdf_date_to_rfc3339("yesterday"), None);
        assert_eq!(pdf_date_to_rfc3339("D:2026130101"), None);
    }
}
