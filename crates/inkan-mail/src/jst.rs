//! Times in Japan Standard Time, as the signer page and the seeds print them (the forms are
//! [`inkan_domain::Jst`]'s).

use inkan_domain::Jst;

use crate::Lang;

/// Formats a Unix time in JST: `2025年8月21日(木) 23:59:00` (ja) or `2025-08-21 23:59:00 JST` (en).
///
/// A time outside what can be represented (years beyond ±9999) is printed as the raw number
/// rather than failing the whole mail.
pub fn format_jst(unix: i64, lang: Lang) -> String {
    match (Jst::from_unix(unix), lang) {
        (None, _) => unix.to_string(),
        (Some(t), Lang::Ja) => t.japanese(),
        (Some(t), Lang::En) => t.english(),
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
    fn out_of_range_is_the_number() {
        assert_eq!(format_jst(i64::MAX, Lang::En), i64::MAX.to_string());
    }
}
