//! Which backup sets to keep: the newest set of each of the last `daily` days that have one,
//! of each of the last `monthly` months and of each of the last `yearly` years, by the JST
//! calendar (the city's), as restic's and borg's `--keep-daily/monthly/yearly` do. The newest
//! set is always kept.
//!
//! The newest set of a month stays the newest of that month once the month is over, so pruning
//! after every backup keeps exactly what pruning once at the end would.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::japan::date_jst;

/// How many sets of each kind to keep (defaults 7 daily, 12 monthly, 10 yearly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    #[serde(default = "seven")]
    pub daily: u32,
    #[serde(default = "twelve")]
    pub monthly: u32,
    #[serde(default = "ten")]
    pub yearly: u32,
}

fn seven() -> u32 {
    7
}
fn twelve() -> u32 {
    12
}
fn ten() -> u32 {
    10
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            daily: seven(),
            monthly: twelve(),
            yearly: ten(),
        }
    }
}

impl Retention {
    /// The creation times (Unix seconds) among `sets` to keep.
    pub fn keep(&self, sets: &[i64]) -> BTreeSet<i64> {
        let mut newest_first = sets.to_vec();
        newest_first.sort_unstable_by(|a, b| b.cmp(a));
        newest_first.dedup();
        let mut kept: BTreeSet<i64> = newest_first.first().copied().into_iter().collect();
        // The calendar day as YYYY-MM-DD; a month and a year are its first 7 and 4 characters.
        for (count, width) in [(self.daily, 10), (self.monthly, 7), (self.yearly, 4)] {
            let mut last_bucket: Option<String> = None;
            let mut taken = 0;
            for &at in &newest_first {
                if taken >= count {
                    break;
                }
                let mut bucket = date_jst(at);
                bucket.truncate(width);
                if last_bucket.as_ref() != Some(&bucket) {
                    kept.insert(at);
                    taken += 1;
                    last_bucket = Some(bucket);
                }
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2026-01-01 03:00 JST.
    const START: i64 = 1_767_204_000;

    fn months(kept: &BTreeSet<i64>) -> Vec<String> {
        kept.iter().map(|&t| date_jst(t)).collect()
    }

    #[test]
    fn a_daily_backup_over_three_years_keeps_seven_days_twelve_months_and_each_year() {
        let policy = Retention::default();
        // Every day at 03:00 JST from 2026-01-01 to 2029-02-08, pruning after each backup.
        let mut sets: Vec<i64> = Vec::new();
        let days = 3 * 365 + 40;
        for day in 0..days {
            sets.push(START + day * DAY);
            let kept = policy.keep(&sets);
            sets.retain(|t| kept.contains(t));
        }
        let kept: BTreeSet<i64> = sets.iter().copied().collect();
        let dates = months(&kept);
        // The last seven days.
        let last = START + (days - 1) * DAY;
        for d in 0..7 {
            assert!(kept.contains(&(last - d * DAY)), "{dates:?}");
        }
        // The last day of each of the 11 months before the current one (the current month's
        // newest is today), and of 2026, 2027 and 2028.
        for month_end in [
            "2029-01-31",
            "2028-12-31",
            "2028-11-30",
            "2028-10-31",
            "2028-09-30",
            "2028-08-31",
            "2028-07-31",
            "2028-06-30",
            "2028-05-31",
            "2028-04-30",
            "2028-03-31",
            "2027-12-31",
            "2026-12-31",
        ] {
            assert!(
                dates.iter().any(|d| d == month_end),
                "{month_end} in {dates:?}"
            );
        }
        // 7 days + 11 earlier months + 2027 and 2026 (2028's newest is its December, a month
        // already kept): nothing else.
        assert_eq!(kept.len(), 7 + 11 + 2, "{dates:?}");
        // Pruning once at the end keeps the same sets.
        let all: Vec<i64> = (0..days).map(|d| START + d * DAY).collect();
        assert_eq!(policy.keep(&all), kept);
    }

    #[test]
    fn the_newest_of_a_day_counts_and_the_newest_set_stays_whatever_the_policy() {
        let policy = Retention {
            daily: 1,
            monthly: 0,
            yearly: 0,
        };
        let morning = START;
        let evening = START + 12 * 3600;
        assert_eq!(policy.keep(&[morning, evening]), BTreeSet::from([evening]));
        let none = Retention {
            daily: 0,
            monthly: 0,
            yearly: 0,
        };
        assert_eq!(none.keep(&[morning, evening]), BTreeSet::from([evening]));
        assert!(none.keep(&[]).is_empty());
    }

    #[test]
    fn days_are_counted_in_japan() {
        // 2026-01-01 23:30 JST and 2026-01-02 00:30 JST are two days in Japan, one in UTC.
        let policy = Retention {
            daily: 2,
            monthly: 0,
            yearly: 0,
        };
        let before_midnight = START + 20 * 3600 + 1800;
        let after_midnight = before_midnight + 3600;
        assert_eq!(policy.keep(&[before_midnight, after_midnight]).len(), 2);
    }
}
