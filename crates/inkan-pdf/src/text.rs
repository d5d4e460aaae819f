//! PDF text strings (ISO 32000-2 §7.9.2.2): document titles, field names, signer names.
//!
//! Three encodings exist: UTF-16BE with a byte order mark (what Japanese text uses everywhere),
//! UTF-8 with a byte order mark (PDF 2.0 only) and PDFDocEncoding (a Latin-1 superset). Writing
//! picks PDFDocEncoding when it can hold the text and UTF-16BE otherwise, because PDF 1.x readers
//! do not know UTF-8 strings.

/// PDFDocEncoding bytes 0x18–0x1F and 0x7F–0xA0 where they differ from Latin-1 (0 = undefined).
const PDFDOC_18_1F: [u16; 8] = [
    0x02D8, 0x02C7, 0x02C6, 0x02D9, 0x02DD, 0x02DB, 0x02DA, 0x02DC,
];
const PDFDOC_7F_A0: [u16; 34] = [
    0, // 0x7F undefined
    0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044, // 0x80–0x87
    0x2039, 0x203A, 0x2212, 0x2030, 0x201E, 0x201C, 0x201D, 0x2018, // 0x88–0x8F
    0x2019, 0x201A, 0x2122, 0xFB01, 0xFB02, 0x0141, 0x0152, 0x0160, // 0x90–0x97
    0x0178, 0x017D, 0x0131, 0x0142, 0x0153, 0x0161, 0x017E, 0,      // 0x98–0x9F
    0x20AC, // 0xA0
];

/// The character a PDFDocEncoding byte stands for, if any.
fn pdfdoc_char(b: u8) -> Option<char> {
    let code = match b {
        0x18..=0x1F => PDFDOC_18_1F[usize::from(b - 0x18)],
        0x7F..=0xA0 => PDFDOC_7F_A0[usize::from(b - 0x7F)],
        0xAD => 0,
        _ => u16::from(b),
    };
    (code != 0)
        .then(|| char::from_u32(u32::from(code)))
        .flatten()
}

/// The PDFDocEncoding byte for `c`, if it has one.
fn pdfdoc_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    if (0x20..0x7F).contains(&code) || matches!(code, 0x09 | 0x0A | 0x0D) {
        return Some(code as u8);
    }
    if (0xA1..=0xFF).contains(&code) && code != 0xAD {
        return Some(code as u8);
    }
    (0x18u8..=0xA0).find(|&b| !(0x20..0x7F).contains(&b) && pdfdoc_char(b) == Some(c))
}

/// Decodes a text string: UTF-16BE (or, leniently, UTF-16LE) or UTF-8 by their byte order mark,
/// else PDFDocEncoding. Undecodable units become U+FFFD rather than an error, because a title
/// with one bad byte is still worth showing.
pub fn decode_text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes
        .iter()
        .map(|&b| pdfdoc_char(b).unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    // A language tag escape (U+001B lang U+001B) carries no text: drop it.
    let mut text = Vec::with_capacity(units.len());
    let mut in_escape = false;
    for u in units {
        if u == 0x1B {
            in_escape = !in_escape;
        } else if !in_escape {
            text.push(u);
        }
    }
    char::decode_utf16(text)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Encodes `text` as a text string: PDFDocEncoding when every character has a byte there,
/// otherwise UTF-16BE with a byte order mark.
pub fn encode_text_string(text: &str) -> Vec<u8> {
    let pdfdoc: Option<Vec<u8>> = text.chars().map(pdfdoc_byte).collect();
    if let Some(bytes) = pdfdoc {
        return bytes;
    }
    let mut out = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_round_trips_as_utf16be() {
        let title = "電子契約書（署名済み）";
        let bytes = encode_text_string(title);
        assert_eq!(&bytes[..2], &[0xFE, 0xFF]);
        assert_eq!(decode_text_string(&bytes), title);
    }

    #[test]
    fn latin_text_stays_pdfdoc() {
        let text = "Café – “quoted” €5";
        let bytes = encode_text_string(text);
        assert_eq!(bytes[0], b'C');
        assert_eq!(bytes[3], 0xE9);
        assert_eq!(bytes[5], 0x85, "en dash");
        assert!(bytes.contains(&0xA0), "euro");
        assert_eq!(decode_text_string(&bytes), text);
    }

    #[test]
    fn utf8_bom_and_language_escapes() {
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice("契約".as_bytes());
        assert_eq!(decode_text_string(&utf8), "契約");
        // U+001B "ja" U+001B then 契
        let tagged = [
            0xFE, 0xFF, 0x00, 0x1B, 0x00, b'j', 0x00, b'a', 0x00, 0x1B, 0x59, 0x51,
        ];
        assert_eq!(decode_text_string(&tagged), "契");
    }

    #[test]
    fn broken_utf16_does_not_fail() {
        assert_eq!(decode_text_string(&[0xFE, 0xFF, 0xD8, 0x00]), "\u{FFFD}");
        assert_eq!(decode_text_string(&[0xFE, 0xFF, 0x00]), "");
    }
}
