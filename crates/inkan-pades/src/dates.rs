//! Times as PDFs and Japanese readers want them.

use std::time::SystemTime;

/// A PDF date (`D:YYYYMMDDHHmmSSZ`) in UTC.
pub fn pdf_date(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A time as the seeds show it, in JST: `2026年02月01日 10:15:30 JST`.
pub fn japanese_time(at: SystemTime) -> String {
    inkan_domain::Jst::from_system_time(at).japanese_padded()
}
