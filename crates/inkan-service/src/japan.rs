//! Japanese Standard Time, as people read it in Inkan's texts (the forms are
//! [`inkan_domain::Jst`]'s; a time beyond what can be written shows as the Unix epoch).

use inkan_domain::Jst;
use std::time::SystemTime;
use time::OffsetDateTime;

fn jst(at: i64) -> Jst {
    Jst::from_unix(at).unwrap_or_else(|| Jst::from_system_time(SystemTime::UNIX_EPOCH))
}

/// `2026-02-01 10:15:30 +09:00`.
pub fn format_iso_jst(time: SystemTime) -> String {
    Jst::from_system_time(time).iso()
}

/// `2025年8月21日(木) 23:59:00`, the seeds' deadline format (the same as in the emails).
pub fn format_japanese(at: i64) -> String {
    inkan_mail::format_jst(at, inkan_mail::Lang::Ja)
}

/// `YYYY-MM-DD` of a time in JST.
pub fn date_jst(at: i64) -> String {
    jst(at).date()
}

/// `2026/11/30 13:05:09 (JST)`, as the 電子契約締結証明書 shows 操作日時.
pub fn format_slash_jst(at: i64) -> String {
    jst(at).slash()
}

/// An RFC 3339 time (as the verifier reports times) in JST, `2026/11/30 13:05:09 (JST)`;
/// the text itself when it is not one.
pub fn rfc3339_in_jst(text: &str) -> String {
    match OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        Ok(t) => format_slash_jst(t.unix_timestamp()),
        Err(_) => text.to_string(),
    }
}
