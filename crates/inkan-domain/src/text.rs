//! Text people type that later reaches a mail header, a file name, a PDF string or a CSV cell:
//! names, titles, departments, company names. It is checked once, at the edge, so that no
//! layer below has to wonder whether a display name ends a mail header early (CR/LF), hides
//! its real order (bidirectional overrides) or carries bytes no reader shows (other controls).

use crate::DomainError;

/// Why `c` may not stand in one line of text, if it may not.
fn refusal(c: char) -> Option<&'static str> {
    match c {
        '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
            Some("改行は使えません (no line breaks)")
        }
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some("文字の向きを変える制御文字は使えません (no bidirectional control characters)")
        }
        c if c.is_control() => Some("制御文字は使えません (no control characters)"),
        _ => None,
    }
}

fn too_long(max: usize) -> String {
    let digits = max.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped} 文字以内で入力してください (at most {grouped} characters)")
}

/// One line of text: trimmed, at most `max` characters, and no line break or other control
/// character. Empty is allowed (see [`required_line`]). `what` names the field in the error, in
/// Japanese and English: `受信者の氏名 (recipients[1].name)`.
pub fn line(what: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    checked(what, value, max, |_| false)
}

/// `value` trimmed, refused when longer than `max` characters or holding a character that
/// [`refusal`] names and `kept` does not keep.
fn checked(
    what: &'static str,
    value: &str,
    max: usize,
    kept: impl Fn(char) -> bool,
) -> Result<String, DomainError> {
    let value = value.trim();
    if let Some(why) = value.chars().filter(|&c| !kept(c)).find_map(refusal) {
        return Err(DomainError::InvalidValue {
            what,
            why: why.to_string(),
        });
    }
    if value.chars().count() > max {
        return Err(DomainError::InvalidValue {
            what,
            why: too_long(max),
        });
    }
    Ok(value.to_string())
}

/// [`line`], and not empty.
pub fn required_line(what: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = line(what, value, max)?;
    if value.is_empty() {
        return Err(DomainError::InvalidValue {
            what,
            why: "入力してください (it is required)".into(),
        });
    }
    Ok(value)
}

/// Longer text kept as written, line breaks included (a message to the recipients, a reason
/// for declining): at most `max` characters, and no control character other than line breaks
/// and tabs. It goes into mail bodies and pages, never into a header.
pub fn paragraphs(what: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    checked(what, value, max, |c| {
        matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}')
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_line_refuses_what_would_break_a_header_and_names_the_field() {
        assert_eq!(
            line("氏名 (name)", "  山田 太郎 ", 100).unwrap(),
            "山田 太郎"
        );
        for bad in [
            "山田\r\nBcc: evil@example.com",
            "a\nb",
            "a\u{0}b",
            "a\tb",
            "a\u{85}b",
            "a\u{2028}b",
            "\u{202e}fdp.exe",
            "a\u{7f}",
        ] {
            let err = line("氏名 (name)", bad, 100).unwrap_err().to_string();
            assert!(err.starts_with("氏名 (name)"), "{err}");
        }
        assert!(line("x", &"あ".repeat(101), 100).is_err());
        assert!(line("x", &"あ".repeat(100), 100).is_ok());
        assert_eq!(line("x", "   ", 10).unwrap(), "");
        assert!(required_line("x", "   ", 10).is_err());
    }

    #[test]
    fn paragraphs_keep_line_breaks_but_refuse_other_controls() {
        assert_eq!(
            paragraphs("m", "よろしく\r\nお願いします\n", 100).unwrap(),
            "よろしく\r\nお願いします"
        );
        assert!(paragraphs("m", "a\u{1b}[31m", 100).is_err());
        assert!(paragraphs("m", "\u{202e}abc", 100).is_err());
        assert!(paragraphs("m", &"a".repeat(101), 100).is_err());
    }
}
