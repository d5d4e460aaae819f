//! Times in Japan Standard Time, as the signer page and the seeds print them.
//!
//! Every date in a mail is JST whatever the server's time zone: the contracts are Japanese, and
//! a deadline shown in UTC (15:00 the day before) would mislead a vendor.

use time::{OffsetDateTime, UtcOffset, Weekday};

use crate::Lang;

/// UTC+09:00; Japan has no daylight saving time.
const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("+09:00 is a valid offset"),
};

/// Formats a Unix time in JST: `2025年8月21日(木) 23:59:00` (ja) or `2025-08-21 23:59:00 JST` (en).
///
/// A time outside what `time` can represent (years beyond ±9999) is printed as the raw number
/// rather than failing the whole mail.
pub fn format_jst(unix: i64, lang: Lang) -> String {
    let Ok(utc) = OffsetDateTime::from_unix_timestamp(unix) else {
        return unix.to_string();
    };
    let t = utc.to_offset(JST);
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日({}) {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            weekday_ja(t.weekday()),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Lang::En => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} JST",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
    }
}

fn weekday_ja(day: Weekday) -> &'static str {
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
mod tests {
    use super::*;

    #[test]
    fn the_seed_deadline() {
        // 2025-08-21 23:59:00 +09:00 = 14:59:00 UTC.
        let t = 1_755_788_340;
        assert_eq!(format_jst(t, Lang::Ja), "2025年8月21日(木) 23:59:00");
        assert_eq!(format_jst(t, Lang::En), "2025-08-21 23:59:00 JST");
    }

    #[test]
    fn the_day_changes_at_jst_midnight() {
        // 2025-12-31 15:00:00 UTC is already New Year's Day in Japan.
        assert_eq!(
            format_jst(1_767_193_200, Lang::Ja),
            "2026年1月1日(木) 00:00:00"
        );
    }

    #[test]
    fn out_of_range_is_the_number() {
        assert_eq!(format_jst(i64::MAX, Lang::En), i64::MAX.to_string());
    }
}
