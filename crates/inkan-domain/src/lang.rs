//! The two languages Inkan speaks: Japanese first (the recipients are Japanese cities and
//! their vendors), English beside. One type for the pages, the mails and the documents.

use serde::{Deserialize, Serialize};

/// A reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    /// The text in this language.
    pub fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    /// This language's half of a message written in both, as `日本語 (English)` or
    /// `日本語 / English`; a message in one language only, as it is.
    pub fn pick(self, message: &str) -> String {
        match split_bilingual(message) {
            Some((ja, en)) => self.t(ja, en).to_string(),
            None => message.to_string(),
        }
    }

    /// `ja` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The other language (what a language switch offers).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

/// `日本語 (English)` → (日本語, English), also with something after the English part
/// (`日本語 (English): detail` keeps the detail on both sides), and `日本語 / English`.
/// `None` when the text is not so made: the Japanese part must hold Japanese, the English part
/// none.
fn split_bilingual(message: &str) -> Option<(&str, &str)> {
    let japanese = |s: &str| s.chars().any(|c| c > '\u{2E7F}');
    if let Some((ja, en)) = message.split_once(" / ") {
        if japanese(ja) && !japanese(en) && !ja.is_empty() && !en.is_empty() {
            return Some((ja.trim(), en.trim()));
        }
    }
    let open = message.find(" (")?;
    let close = open + message[open..].find(')')?;
    let (ja, en) = (&message[..open], &message[open + 2..close]);
    let rest = &message[close + 1..];
    (japanese(ja) && !japanese(en) && !en.is_empty() && rest.is_empty()).then_some((ja, en))
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn each_language_gets_its_half() {
        let m = "この封筒は辞退されました (this envelope was declined)";
        assert_eq!(Lang::Ja.pick(m), "この封筒は辞退されました");
        assert_eq!(Lang::En.pick(m), "this envelope was declined");
        let m = "検証情報・タイムスタンプ / validation data and timestamps";
        assert_eq!(Lang::Ja.pick(m), "検証情報・タイムスタンプ");
        assert_eq!(Lang::En.pick(m), "validation data and timestamps");
        // One language only, or a parenthesis that is not a translation: as it is.
        for m in [
            "this file cannot be read",
            "署名日 (必須)",
            "必須項目が未入力です (required items are missing): 署名日",
        ] {
            assert_eq!(Lang::Ja.pick(m), m);
            assert_eq!(Lang::En.pick(m), m);
        }
    }
}
