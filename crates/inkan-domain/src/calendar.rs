//! Calendar dates as Japanese contracts write them: 令和8年12月3日 (和暦), 2026年12月3日 (西暦)
//! or 2026-12-03. A date field's format is chosen by the sender; a signer may type the date in
//! any of the forms people use (full-width digits, 元年, R8.12.3, 2026/12/3), and the contract
//! shows it in the field's format.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

use crate::DomainError;

/// How a date field writes its date into the contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// 令和8年12月3日 (the default: what most Japanese contracts write).
    #[default]
    Wareki,
    /// 2026年12月3日.
    Seireki,
    /// 2026-12-03.
    Iso,
}

impl DateFormat {
    pub const ALL: [DateFormat; 3] = [DateFormat::Wareki, DateFormat::Seireki, DateFormat::Iso];

    /// The name in the API: `wareki`, `seireki`, `iso`.
    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Wareki => "wareki",
            DateFormat::Seireki => "seireki",
            DateFormat::Iso => "iso",
        }
    }

    pub fn parse(name: &str) -> Option<DateFormat> {
        DateFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// A day of the Gregorian calendar (from 1873, when Japan adopted it, to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    year: i32,
    month: u32,
    day: u32,
}

/// The eras since the Gregorian calendar, newest first: name, abbreviation, first day.
const ERAS: [(&str, char, (i32, u32, u32)); 5] = [
    ("令和", 'R', (2019, 5, 1)),
    ("平成", 'H', (1989, 1, 8)),
    ("昭和", 'S', (1926, 12, 25)),
    ("大正", 'T', (1912, 7, 30)),
    ("明治", 'M', (1868, 1, 25)),
];

/// Japan Standard Time is UTC+9, with no daylight saving.
const JST_OFFSET: i64 = 9 * 3600;

impl CalendarDate {
    /// The date, if it is a real day between 1873 and 9999.
    pub fn new(year: i32, month: u32, day: u32) -> Option<CalendarDate> {
        let valid = (1873..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(CalendarDate { year, month, day })
    }

    /// The day in Japan at Unix time `at`.
    pub fn jst(at: i64) -> CalendarDate {
        let days = (at + JST_OFFSET).div_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        CalendarDate { year, month, day }
    }

    /// The first second of this day in Japan, as Unix time.
    pub fn jst_start(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400 - JST_OFFSET
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn day(self) -> u32 {
        self.day
    }

    /// Reads a date as a person types it: 令和8年12月3日, 令和元年5月1日, R8.12.3, 2026年12月3日,
    /// 2026-12-03, 2026/12/3, 2026.12.3; full-width digits and spaces are fine. A 和暦 year
    /// must lie within its era.
    pub fn parse(text: &str) -> Result<CalendarDate, DomainError> {
        let invalid = |why: &str| DomainError::InvalidValue {
            what: "日付 (date)",
            why: format!("「{}」: {why}", text.chars().take(40).collect::<String>()),
        };
        let normalized: String = text
            .chars()
            .filter_map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
                'Ｒ' | 'ｒ' | 'r' => Some('R'),
                'Ｈ' | 'ｈ' | 'h' => Some('H'),
                'Ｓ' | 'ｓ' | 's' => Some('S'),
                'Ｔ' | 'ｔ' | 't' => Some('T'),
                'Ｍ' | 'ｍ' | 'm' => Some('M'),
                '／' => Some('/'),
                '－' | 'ー' | '−' => Some('-'),
                '．' | '。' => Some('.'),
                ' ' | '\u{3000}' | '\t' => None,
                c => Some(c),
            })
            .collect();
        if normalized.is_empty() {
            return Err(invalid("日付を入力してください (enter a date)"));
        }
        let (era, rest) = match ERAS.iter().find_map(|era| {
            normalized
                .strip_prefix(era.0)
                .or_else(|| normalized.strip_prefix(era.1))
                .map(|rest| (Some(era), rest))
        }) {
            Some(found) => found,
            None => (None, normalized.as_str()),
        };
        let parts = split_date(rest).ok_or_else(|| {
            invalid("年・月・日が読み取れません (write it as 令和8年12月3日 or 2026-12-03)")
        })?;
        let (year, month, day) = parts;
        let year = match era {
            Some(&(name, _, (first_year, first_month, first_day))) => {
                if year == 0 {
                    return Err(invalid(
                        "和暦の年は元年 (1) からです (era years start at 1)",
                    ));
                }
                let date = CalendarDate::new(first_year + year - 1, month, day)
                    .ok_or_else(|| invalid("その日付はありません (no such day)"))?;
                let first = CalendarDate {
                    year: first_year,
                    month: first_month,
                    day: first_day,
                };
                let next_era_start = ERAS
                    .iter()
                    .take_while(|e| e.0 != name)
                    .last()
                    .map(|&(_, _, (year, month, day))| CalendarDate { year, month, day });
                if date < first || next_era_start.is_some_and(|next| date >= next) {
                    return Err(invalid(&format!(
                        "{name}{}年{month}月{day}日 は{name}の期間にありません (not within the era)",
                        year
                    )));
                }
                date.year
            }
            None => year,
        };
        CalendarDate::new(year, month, day)
            .ok_or_else(|| invalid("その日付はありません (no such day)"))
    }

    /// The date as the contract writes it.
    pub fn format(self, format: DateFormat) -> String {
        let CalendarDate { year, month, day } = self;
        match format {
            DateFormat::Iso => format!("{year:04}-{month:02}-{day:02}"),
            DateFormat::Seireki => format!("{year}年{month}月{day}日"),
            DateFormat::Wareki => match self.era() {
                Some((name, 1)) => format!("{name}元年{month}月{day}日"),
                Some((name, n)) => format!("{name}{n}年{month}月{day}日"),
                None => format!("{year}年{month}月{day}日"),
            },
        }
    }

    /// The era and its year (1 for 元年).
    fn era(self) -> Option<(&'static str, i32)> {
        ERAS.iter().find_map(|&(name, _, (y, m, d))| {
            let first = CalendarDate {
                year: y,
                month: m,
                day: d,
            };
            (self >= first).then_some((name, self.year - y + 1))
        })
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(DateFormat::Iso))
    }
}

impl std::str::FromStr for CalendarDate {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CalendarDate::parse(text)
    }
}

/// Stored and exchanged as `2026-12-03`; read back through [`CalendarDate::parse`].
impl Serialize for CalendarDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CalendarDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CalendarDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `Y年M月D日`, `Y-M-D`, `Y/M/D` or `Y.M.D` (元 as year 1), into numbers.
fn split_date(text: &str) -> Option<(i32, u32, u32)> {
    let text = text.strip_suffix('日').unwrap_or(text);
    let text = text.replacen("元年", "1年", 1);
    let parts: Vec<&str> = text.split(['年', '月', '-', '/', '.']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((number(y)? as i32, number(m)?, number(d)?))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The number of days from 1970-01-01 to a date (Howard Hinnant's algorithm, the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month and day of the `days`-th day since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    #[test]
    fn a_day_in_japan_starts_at_midnight_jst() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2026, 12, 4),
            (2100, 3, 1),
            (1873, 1, 1),
        ] {
            let date = CalendarDate::new(y, m, d).unwrap();
            let start = date.jst_start();
            assert_eq!(CalendarDate::jst(start), date);
            assert_ne!(
                CalendarDate::jst(start - 1),
                date,
                "the second before is the day before"
            );
            assert_eq!(CalendarDate::jst(start + 86_399), date);
        }
        // 2026-12-04 00:00 JST is 2026-12-03 15:00 UTC.
        assert_eq!(
            CalendarDate::new(2026, 12, 4).unwrap().jst_start(),
            1_796_310_000
        );
    }

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> CalendarDate {
        CalendarDate::new(y, m, d).unwrap()
    }

    #[test]
    fn formats_as_contracts_write_dates() {
        let d = date(2026, 12, 3);
        assert_eq!(d.format(DateFormat::Wareki), "令和8年12月3日");
        assert_eq!(d.format(DateFormat::Seireki), "2026年12月3日");
        assert_eq!(d.format(DateFormat::Iso), "2026-12-03");
        assert_eq!(
            date(2019, 5, 1).format(DateFormat::Wareki),
            "令和元年5月1日"
        );
        assert_eq!(
            date(2019, 4, 30).format(DateFormat::Wareki),
            "平成31年4月30日"
        );
        assert_eq!(
            date(1989, 1, 7).format(DateFormat::Wareki),
            "昭和64年1月7日"
        );
        assert_eq!(
            date(1989, 1, 8).format(DateFormat::Wareki),
            "平成元年1月8日"
        );
    }

    #[test]
    fn reads_what_people_type() {
        let d = date(2026, 12, 3);
        for text in [
            "令和8年12月3日",
            "令和８年１２月３日",
            " 令和 8 年 12 月 3 日 ",
            "R8.12.3",
            "r8/12/3",
            "Ｒ８．１２．３",
            "2026年12月3日",
            "2026-12-03",
            "2026/12/3",
            "２０２６／１２／０３",
            "2026.12.03",
        ] {
            assert_eq!(CalendarDate::parse(text).unwrap(), d, "{text}");
        }
        assert_eq!(
            CalendarDate::parse("令和元年5月1日").unwrap(),
            date(2019, 5, 1)
        );
        assert_eq!(
            CalendarDate::parse("平成31年4月30日").unwrap(),
            date(2019, 4, 30)
        );
    }

    #[test]
    fn refuses_what_is_not_a_day() {
        for text in [
            "",
            "明日",
            "2026-02-29",
            "2026-13-01",
            "令和0年1月1日",
            "平成32年1月1日",
            "令和1年4月30日",
            "2026年12月",
            "12345-01-01",
            "2026-12-03-01",
            "1800-01-01",
        ] {
            let e = CalendarDate::parse(text).unwrap_err();
            assert!(e.to_string().contains("日付"), "{text}: {e}");
        }
        assert!(CalendarDate::parse("2024-02-29").is_ok());
    }

    #[test]
    fn the_day_in_japan() {
        // 2026-12-02 15:00 UTC is 2026-12-03 00:00 JST.
        assert_eq!(CalendarDate::jst(1_796_223_600), date(2026, 12, 3));
        assert_eq!(CalendarDate::jst(1_796_223_599), date(2026, 12, 2));
        assert_eq!(CalendarDate::jst(0), date(1970, 1, 1));
        for at in [0i64, 951_782_400, 1_709_164_800, 4_102_444_800] {
            let d = CalendarDate::jst(at);
            assert!(CalendarDate::new(d.year(), d.month(), d.day()).is_some());
        }
    }

    #[test]
    fn formats_read_back() {
        for (y, m, d) in [(2026, 12, 3), (2019, 5, 1), (1990, 2, 28), (2000, 2, 29)] {
            let day = date(y, m, d);
            for f in DateFormat::ALL {
                assert_eq!(CalendarDate::parse(&day.format(f)).unwrap(), day, "{f:?}");
            }
        }
    }
}
