//! Japan Standard Time, in every form Inkan writes a time for people to read: the mails and
//! pages (`2025年8月21日(木) 23:59:00`), the 電子契約締結証明書 (`2026/11/30 13:05:09 (JST)`), the
//! command line (`2026年02月01日 10:15:30 JST`), logs and CSV (`2026-02-01 10:15:30 +09:00`).
//!
//! Always JST whatever the server's time zone: the contracts are Japanese, and a deadline shown in
//! UTC (15:00 the day before) would mislead a vendor. Japan has no daylight saving time.

use std::time::SystemTime;
use time::{OffsetDateTime, UtcOffset, Weekday};

/// UTC+09:00.
const OFFSET: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("+09:00 is a valid offset"),
};

/// A moment, as a clock in Japan shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jst(OffsetDateTime);

impl Jst {
    /// `None` outside what can be written (years beyond ±9999).
    pub fn from_unix(seconds: i64) -> Option<Jst> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .map(|t| Jst(t.to_offset(OFFSET)))
    }

    pub fn from_system_time(at: SystemTime) -> Jst {
        Jst(OffsetDateTime::from(at).to_offset(OFFSET))
    }

    /// `2025年8月21日(木) 23:59:00` — as the seeds print a deadline.
    pub fn japanese(&self) -> String {
        let t = self.0;
        format!(
            "{}年{}月{}日({}) {}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            weekday(t.weekday()),
            self.clock()
        )
    }

    /// `2026年02月01日 10:15:30 JST` — fixed width, for columns.
    pub fn japanese_padded(&self) -> String {
        let t = self.0;
        format!(
            "{:04}年{:02}月{:02}日 {} JST",
            t.year(),
            u8::from(t.month()),
            t.day(),
            self.clock()
        )
    }

    /// `2025-08-21 23:59:00 JST`.
    pub fn english(&self) -> String {
        format!("{} {} JST", self.date(), self.clock())
    }

    /// `2026-02-01 10:15:30 +09:00`.
    pub fn iso(&self) -> String {
        format!("{} {} +09:00", self.date(), self.clock())
    }

    /// `2026/11/30 13:05:09 (JST)` — as the 電子契約締結証明書 shows 操作日時.
    pub fn slash(&self) -> String {
        let t = self.0;
        format!(
            "{:04}/{:02}/{:02} {} (JST)",
            t.year(),
            u8::from(t.month()),
            t.day(),
            self.clock()
        )
    }

    /// `2026-02-01`.
    pub fn date(&self) -> String {
        let t = self.0;
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    }

    /// `10:15:30`.
    fn clock(&self) -> String {
        let t = self.0;
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "月",
        Weekday::Tuesday => "火",
        Weekday::Wednesday => "水",
        Weekday::Thursday => "木",
        Weekday::Friday => "金",
        Weekday::Saturday => "土",
        Weekday::Sunday => "日",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_seed_deadline() {
        // 2025-08-21 23:59:00 +09:00 = 14:59:00 UTC.
        let t = Jst::from_unix(1_755_788_340).unwrap();
        assert_eq!(t.japanese(), "2025年8月21日(木) 23:59:00");
        assert_eq!(t.japanese_padded(), "2025年08月21日 23:59:00 JST");
        assert_eq!(t.english(), "2025-08-21 23:59:00 JST");
        assert_eq!(t.iso(), "2025-08-21 23:59:00 +09:00");
        assert_eq!(t.slash(), "2025/08/21 23:59:00 (JST)");
        assert_eq!(t.date(), "2025-08-21");
        let system = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_755_788_340);
        assert_eq!(Jst::from_system_time(system), t);
    }

    #[test]
    fn the_day_changes_at_midnight_in_japan() {
        // 2025-12-31 15:00:00 UTC is already New Year's Day in Japan.
        let t = Jst::from_unix(1_767_193_200).unwrap();
        assert_eq!(t.japanese(), "2026年1月1日(木) 00:00:00");
        assert!(Jst::from_unix(i64::MAX).is_none());
    }
}
