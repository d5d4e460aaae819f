//! Japanese Standard Time, as people read it in Inkan's texts.

use std::time::{SystemTime, UNIX_EPOCH};
use time::{OffsetDateTime, UtcOffset};

fn jst(at: i64) -> OffsetDateTime {
    let offset = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(at)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

/// `2026-02-01 10:15:30 +09:00`.
pub fn format_iso_jst(time: SystemTime) -> String {
    let at = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let t = jst(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +09:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2025年8月21日(木) 23:59:00`, the seeds' deadline format (the same as in the emails).
pub fn format_japanese(at: i64) -> String {
    inkan_mail::format_jst(at, inkan_mail::Lang::Ja)
}

/// `YYYY-MM-DD` of a time in JST.
pub fn date_jst(at: i64) -> String {
    let t = jst(at);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `2026/11/30 13:05:09 (JST)`, as the 電子契約締結証明書 shows 操作日時.
pub fn format_slash_jst(at: i64) -> String {
    let t = jst(at);
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02} (JST)",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An RFC 3339 time (as the verifier reports times) in JST, `2026/11/30 13:05:09 (JST)`;
/// the text itself when it is not one.
pub fn rfc3339_in_jst(text: &str) -> String {
    match OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        Ok(t) => format_slash_jst(t.unix_timestamp()),
        Err(_) => text.to_string(),
    }
}
