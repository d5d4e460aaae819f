//! Tokens of PDF syntax (ISO 32000-2 §7.2–7.3), read through a [`Cursor`].

use crate::error::{PdfError, Result};
use crate::limits::MAX_TOKEN_BYTES;
use crate::source::Cursor;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Int(i64),
    Real(f64),
    LiteralString(Vec<u8>),
    HexString(Vec<u8>),
    Name(Vec<u8>),
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    /// A run of regular characters that is not a number: `obj`, `R`, `true`, `stream`, `xref` …
    Keyword(Vec<u8>),
    Eof,
}

impl Token {
    /// True for the keyword `kw`.
    pub(crate) fn is_keyword(&self, kw: &[u8]) -> bool {
        matches!(self, Token::Keyword(k) if k == kw)
    }

    /// A short description for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Int(i) => format!("the integer {i}"),
            Token::Real(r) => format!("the number {r}"),
            Token::LiteralString(_) | Token::HexString(_) => "a string".into(),
            Token::Name(n) => format!("the name /{}", String::from_utf8_lossy(n)),
            Token::ArrayOpen => "'['".into(),
            Token::ArrayClose => "']'".into(),
            Token::DictOpen => "'<<'".into(),
            Token::DictClose => "'>>'".into(),
            Token::Keyword(k) => {
                let shown: Vec<u8> = k.iter().copied().take(32).collect();
                format!("'{}'", String::from_utf8_lossy(&shown))
            }
            Token::Eof => "the end of the data".into(),
        }
    }
}

/// PDF whitespace (§7.2.3): NUL, TAB, LF, FF, CR, SPACE.
pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

/// PDF delimiters (§7.2.3).
pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn too_long() -> PdfError {
    PdfError::Limit {
        what: "a string or name token",
        limit: MAX_TOKEN_BYTES as u64,
    }
}

/// Skips whitespace and comments.
pub(crate) fn skip_whitespace(cur: &mut Cursor<'_>) -> Result<()> {
    while let Some(b) = cur.peek()? {
        if is_whitespace(b) {
            cur.bump();
        } else if b == b'%' {
            while let Some(c) = cur.peek()? {
                if c == b'\n' || c == b'\r' {
                    break;
                }
                cur.bump();
            }
        } else {
            break;
        }
    }
    Ok(())
}

/// Reads the next token.
pub(crate) fn next_token(cur: &mut Cursor<'_>) -> Result<Token> {
    skip_whitespace(cur)?;
    let start = cur.pos();
    let Some(b) = cur.next()? else {
        return Ok(Token::Eof);
    };
    match b {
        b'[' => Ok(Token::ArrayOpen),
        b']' => Ok(Token::ArrayClose),
        b'{' | b'}' => Ok(Token::Keyword(vec![b])),
        b'/' => read_name(cur),
        b'(' => read_literal_string(cur, start),
        b'<' => {
            if cur.peek()? == Some(b'<') {
                cur.bump();
                Ok(Token::DictOpen)
            } else {
                read_hex_string(cur, start)
            }
        }
        b'>' => {
            if cur.peek()? == Some(b'>') {
                cur.bump();
                Ok(Token::DictClose)
            } else {
                Err(PdfError::syntax(start, "a lone '>'"))
            }
        }
        b')' => Err(PdfError::syntax(start, "an unbalanced ')'")),
        _ => {
            let mut word = vec![b];
            while let Some(c) = cur.peek()? {
                if !is_regular(c) {
                    break;
                }
                // Keywords and numbers are short; a megabyte of letters is garbage, kept short.
                if word.len() < 256 {
                    word.push(c);
                }
                cur.bump();
            }
            Ok(number(&word).unwrap_or(Token::Keyword(word)))
        }
    }
}

/// Reads a number token, or `None` when `word` is not one.
fn number(word: &[u8]) -> Option<Token> {
    let first = *word.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return None;
    }
    let mut digits = word;
    let mut negative = false;
    // Some writers emit "--5" or "+-5"; readers take the last sign.
    while let Some((&s, rest)) = digits.split_first() {
        if s == b'-' || s == b'+' {
            negative = s == b'-';
            digits = rest;
        } else {
            break;
        }
    }
    if digits.is_empty() {
        // A lone sign: what Acrobat reads as 0.
        return Some(Token::Int(0));
    }
    let dots = digits.iter().filter(|&&c| c == b'.').count();
    if dots > 1 || !digits.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
        return None;
    }
    // Only ASCII digits and one dot are left, so the conversions below cannot see other bytes.
    let text = std::str::from_utf8(digits).ok()?;
    if dots == 0 {
        if let Ok(v) = text.parse::<i64>() {
            return Some(Token::Int(if negative { -v } else { v }));
        }
    }
    let text = if text == "." { "0" } else { text };
    let v: f64 = text.parse().ok()?;
    Some(Token::Real(if negative { -v } else { v }))
}

fn read_name(cur: &mut Cursor<'_>) -> Result<Token> {
    let mut name = Vec::new();
    while let Some(c) = cur.peek()? {
        if !is_regular(c) {
            break;
        }
        cur.bump();
        if c == b'#' {
            // `#xx` is a byte; a `#` not followed by two hex digits is kept as is (PDF 1.1 files).
            let at = cur.pos();
            let h = cur.next()?.and_then(hex_value);
            let l = cur.next()?.and_then(hex_value);
            if let (Some(h), Some(l)) = (h, l) {
                name.push(h << 4 | l);
                continue;
            }
            cur.seek(at);
        }
        name.push(c);
        if name.len() > MAX_TOKEN_BYTES {
            return Err(too_long());
        }
    }
    Ok(Token::Name(name))
}

fn read_literal_string(cur: &mut Cursor<'_>, start: u64) -> Result<Token> {
    let mut out = Vec::new();
    let mut depth = 1usize;
    loop {
        if out.len() > MAX_TOKEN_BYTES {
            return Err(too_long());
        }
        let Some(c) = cur.next()? else {
            return Err(PdfError::syntax(start, "a string that never ends"));
        };
        match c {
            b'(' => {
                depth += 1;
                out.push(c);
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(Token::LiteralString(out));
                }
                out.push(c);
            }
            b'\r' => {
                // An end of line inside a string is a line feed, whatever its bytes (§7.3.4.2).
                if cur.peek()? == Some(b'\n') {
                    cur.bump();
                }
                out.push(b'\n');
            }
            b'\\' => {
                let Some(e) = cur.next()? else {
                    return Err(PdfError::syntax(start, "a string that never ends"));
                };
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'\r' => {
                        // Backslash + end of line: the string continues on the next line.
                        if cur.peek()? == Some(b'\n') {
                            cur.bump();
                        }
                    }
                    b'\n' => {}
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match cur.peek()? {
                                Some(d @ b'0'..=b'7') => {
                                    cur.bump();
                                    v = v * 8 + u32::from(d - b'0');
                                }
                                _ => break,
                            }
                        }
                        // High-order overflow is ignored (§7.3.4.2): \777 is 0xFF.
                        out.push((v & 0xFF) as u8);
                    }
                    // `\(`, `\)`, `\\`, and an unknown escape, which stands for the character.
                    other => out.push(other),
                }
            }
            _ => out.push(c),
        }
    }
}

fn read_hex_string(cur: &mut Cursor<'_>, start: u64) -> Result<Token> {
    /// Where a scan of the buffered window stopped.
    enum Stop {
        /// The closing `>`, after `used` bytes.
        End { used: usize },
        /// A byte that is no hex digit, `used` bytes in.
        Bad { used: usize, byte: u8 },
        /// The window ran out.
        More,
    }
    let mut out = Vec::new();
    let mut high: Option<u8> = None;
    // A window at a time, not a byte at a time: a signature's /Contents is tens of thousands of
    // digits, read again by every stage that opens a signed document.
    loop {
        if out.len() > MAX_TOKEN_BYTES {
            return Err(too_long());
        }
        let window = cur.window()?;
        if window.is_empty() {
            return Err(PdfError::syntax(start, "a hex string that never ends"));
        }
        let mut stop = Stop::More;
        for (i, &c) in window.iter().enumerate() {
            if c == b'>' {
                stop = Stop::End { used: i + 1 };
                break;
            }
            if is_whitespace(c) {
                continue;
            }
            let Some(v) = hex_value(c) else {
                stop = Stop::Bad { used: i, byte: c };
                break;
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        let scanned = window.len();
        match stop {
            Stop::End { used } => {
                cur.advance(used);
                if let Some(h) = high {
                    // An odd number of digits: the last one is followed by an implied 0.
                    out.push(h << 4);
                }
                return Ok(Token::HexString(out));
            }
            Stop::Bad { used, byte } => {
                return Err(PdfError::syntax(
                    cur.pos() + used as u64,
                    format!("'{}' in a hex string", char::from(byte).escape_default()),
                ));
            }
            Stop::More => cur.advance(scanned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &[u8]) -> Vec<Token> {
        let mut cur = Cursor::new(&input, 0);
        let mut out = Vec::new();
        loop {
            match next_token(&mut cur) {
                Ok(Token::Eof) => return out,
                Ok(t) => out.push(t),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn numbers_names_and_keywords() {
        assert_eq!(
            tokens(b"12 -3 +4 .5 -.25 4. 1e R obj /A#20B /#zz % comment\n true"),
            vec![
                Token::Int(12),
                Token::Int(-3),
                Token::Int(4),
                Token::Real(0.5),
                Token::Real(-0.25),
                Token::Real(4.0),
                Token::Keyword(b"1e".to_vec()),
                Token::Keyword(b"R".to_vec()),
                Token::Keyword(b"obj".to_vec()),
                Token::Name(b"A B".to_vec()),
                Token::Name(b"#zz".to_vec()),
                Token::Keyword(b"true".to_vec()),
            ]
        );
        assert_eq!(tokens(b"99999999999999999999"), vec![Token::Real(1e20)]);
    }

    #[test]
    fn strings() {
        assert_eq!(
            tokens(b"(a(b)c\\)\\n\\101\\\r\nz\r\n) <48 656c6C6f 7> <<>>"),
            vec![
                Token::LiteralString(b"a(b)c)\nAz\n".to_vec()),
                Token::HexString(vec![0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x70]),
                Token::DictOpen,
                Token::DictClose,
            ]
        );
    }

    /// A hex string longer than the cursor's window (a signature's /Contents) reads whole,
    /// across windows, and a bad digit past the first window is reported where it is.
    #[test]
    fn long_hex_strings_span_windows() {
        let bytes: Vec<u8> = (0..12_345u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut input = b"  <".to_vec();
        for (i, b) in bytes.iter().enumerate() {
            input.extend_from_slice(format!("{b:02X}").as_bytes());
            if i % 40 == 39 {
                input.extend_from_slice(b"\r\n");
            }
        }
        input.extend_from_slice(b"5> 1");
        let mut expected = bytes.clone();
        expected.push(0x50);
        assert_eq!(
            tokens(&input),
            vec![Token::HexString(expected), Token::Int(1)]
        );
        let bad_at = 9_001;
        input[bad_at] = b'x';
        let mut cur = Cursor::new(&input, 0);
        let err = next_token(&mut cur).expect_err("a bad digit").to_string();
        assert!(err.contains(&format!("byte {bad_at}:")), "{err}");
        assert!(err.contains("'x' in a hex string"), "{err}");
    }

    #[test]
    fn unterminated_strings_are_errors() {
        for input in [&b"(abc"[..], b"<414", b"(\\", b"<4g>", b">"] {
            let mut cur = Cursor::new(&input, 0);
            assert!(next_token(&mut cur).is_err(), "{input:?}");
        }
    }
}
