//! Objects from tokens: direct objects, and indirect objects (`12 0 obj … endobj`) with their
//! stream data located but not read.

use crate::error::{PdfError, Result};
use crate::lexer::{is_whitespace, next_token, skip_whitespace, Token};
use crate::limits::{MAX_NESTING, MAX_OBJECT_ELEMENTS};
use crate::object::{Dict, Name, ObjRef, Object, PdfString, Stream, StreamData};
use crate::source::Cursor;

/// Finds a stream's `/Length` when it is an indirect reference; `None` when it cannot be known
/// (the parser then scans for `endstream`).
pub(crate) type LengthResolver<'r> = dyn FnMut(ObjRef) -> Result<Option<i64>> + 'r;

/// Parses one direct object at the cursor (references stay references).
pub(crate) fn parse_object(cur: &mut Cursor<'_>) -> Result<Object> {
    let mut budget = MAX_OBJECT_ELEMENTS;
    let tok = next_token(cur)?;
    parse_value(cur, tok, 0, &mut budget)
}

/// Parses the indirect object starting at the cursor: `num gen obj <object> [stream … endstream]
/// [endobj]`. A missing `endobj` is tolerated (common in hand-edited files), and a stream whose
/// `/Length` is wrong is measured by scanning for `endstream`.
pub(crate) fn parse_indirect(
    cur: &mut Cursor<'_>,
    resolve_length: &mut LengthResolver<'_>,
) -> Result<(ObjRef, Object)> {
    skip_whitespace(cur)?;
    let start = cur.pos();
    let header = || PdfError::syntax(start, "expected an object header 'N G obj'");
    let (Token::Int(num), Token::Int(gen)) = (next_token(cur)?, next_token(cur)?) else {
        return Err(header());
    };
    if !next_token(cur)?.is_keyword(b"obj") {
        return Err(header());
    }
    let (Ok(num), Ok(gen)) = (u32::try_from(num), u16::try_from(gen)) else {
        return Err(PdfError::syntax(
            start,
            format!("object number {num} {gen} is out of range"),
        ));
    };
    let id = ObjRef::new(num, gen);
    let mut budget = MAX_OBJECT_ELEMENTS;
    let first = next_token(cur)?;
    if first.is_keyword(b"endobj") {
        // `1 0 obj endobj`: an empty object is null.
        return Ok((id, Object::Null));
    }
    let value = parse_value(cur, first, 0, &mut budget)?;
    let Object::Dict(dict) = value else {
        return Ok((id, value));
    };
    let after_dict = cur.pos();
    if !next_token(cur)?.is_keyword(b"stream") {
        cur.seek(after_dict);
        return Ok((id, Object::Dict(dict)));
    }
    // The data starts after the end of line that follows `stream` (CR LF or LF; a lone CR is
    // wrong but written by some tools).
    match cur.peek()? {
        Some(b'\r') => {
            cur.bump();
            if cur.peek()? == Some(b'\n') {
                cur.bump();
            }
        }
        Some(b'\n') => cur.bump(),
        _ => {}
    }
    let data_start = cur.pos();
    let declared = match dict.get("Length") {
        Some(Object::Integer(n)) => Some(*n),
        Some(Object::Reference(r)) => resolve_length(*r)?,
        _ => None,
    };
    let length = match declared.and_then(|n| u64::try_from(n).ok()) {
        Some(n) if length_fits(cur, data_start, n)? => n,
        _ => measure_stream(cur, data_start)?,
    };
    Ok((
        id,
        Object::Stream(Box::new(Stream {
            dict,
            data: StreamData::InFile {
                offset: data_start,
                length,
            },
        })),
    ))
}

/// True when `endstream` follows `length` bytes of data (after optional whitespace); leaves the
/// cursor after `endstream` when it does.
fn length_fits(cur: &mut Cursor<'_>, data_start: u64, length: u64) -> Result<bool> {
    let Some(end) = data_start.checked_add(length) else {
        return Ok(false);
    };
    if end > cur.len() {
        return Ok(false);
    }
    cur.seek(end);
    while let Some(b) = cur.peek()? {
        if !is_whitespace(b) {
            break;
        }
        cur.bump();
    }
    if cur.starts_with(b"endstream")? {
        cur.seek(cur.pos() + b"endstream".len() as u64);
        return Ok(true);
    }
    Ok(false)
}

/// The length of stream data whose `/Length` is missing or wrong: up to the next `endstream`,
/// minus the end of line before it.
fn measure_stream(cur: &mut Cursor<'_>, data_start: u64) -> Result<u64> {
    cur.seek(data_start);
    let Some(found) = cur.find(b"endstream", u64::MAX)? else {
        return Err(PdfError::syntax(
            data_start,
            "stream data without 'endstream' (and no correct /Length)",
        ));
    };
    let mut end = found;
    cur.seek(end.saturating_sub(1));
    if end > data_start && cur.peek()? == Some(b'\n') {
        end -= 1;
        cur.seek(end.saturating_sub(1));
    }
    if end > data_start && cur.peek()? == Some(b'\r') {
        end -= 1;
    }
    cur.seek(found + b"endstream".len() as u64);
    Ok(end - data_start)
}

fn take_element(budget: &mut usize) -> Result<()> {
    if *budget == 0 {
        return Err(PdfError::Limit {
            what: "the number of values in one object",
            limit: MAX_OBJECT_ELEMENTS as u64,
        });
    }
    *budget -= 1;
    Ok(())
}

/// Parses the value that starts with `tok` (already read), within the usual limits.
pub(crate) fn parse_value_at(cur: &mut Cursor<'_>, tok: Token) -> Result<Object> {
    let mut budget = MAX_OBJECT_ELEMENTS;
    parse_value(cur, tok, 0, &mut budget)
}

fn parse_value(
    cur: &mut Cursor<'_>,
    tok: Token,
    depth: usize,
    budget: &mut usize,
) -> Result<Object> {
    let at = cur.pos();
    take_element(budget)?;
    match tok {
        Token::Int(n) => {
            // `n g R` is a reference; anything else means the integer stands alone.
            let after = cur.pos();
            if let (Ok(num), Token::Int(gen)) = (u32::try_from(n), next_token(cur)?) {
                if next_token(cur)?.is_keyword(b"R") {
                    return Ok(match u16::try_from(gen) {
                        Ok(gen) => Object::Reference(ObjRef::new(num, gen)),
                        // A generation beyond 65535 cannot exist: a reference to nothing.
                        Err(_) => Object::Null,
                    });
                }
            }
            cur.seek(after);
            Ok(Object::Integer(n))
        }
        Token::Real(r) => Ok(Object::Real(r)),
        Token::LiteralString(s) => Ok(Object::String(PdfString::literal(s))),
        Token::HexString(s) => Ok(Object::String(PdfString::hex(s))),
        Token::Name(n) => Ok(Object::Name(Name(n))),
        Token::ArrayOpen => {
            let depth = nested(depth, at)?;
            let mut items = Vec::new();
            loop {
                match next_token(cur)? {
                    Token::ArrayClose => return Ok(Object::Array(items)),
                    Token::Eof => return Err(PdfError::syntax(at, "an array that never ends")),
                    t => items.push(parse_value(cur, t, depth, budget)?),
                }
            }
        }
        Token::DictOpen => {
            let depth = nested(depth, at)?;
            let mut dict = Dict::new();
            loop {
                let key_at = cur.pos();
                let key = match next_token(cur)? {
                    Token::DictClose => return Ok(Object::Dict(dict)),
                    Token::Name(n) => Name(n),
                    Token::Eof => return Err(PdfError::syntax(at, "a dictionary that never ends")),
                    t => {
                        return Err(PdfError::syntax(
                            key_at,
                            format!("a dictionary key must be a name, found {}", t.describe()),
                        ))
                    }
                };
                match next_token(cur)? {
                    // `/Key >>`: a key without value, read as null.
                    Token::DictClose => {
                        dict.push(key, Object::Null);
                        return Ok(Object::Dict(dict));
                    }
                    t => {
                        let value = parse_value(cur, t, depth, budget)?;
                        dict.push(key, value);
                    }
                }
            }
        }
        Token::Keyword(k) => match k.as_slice() {
            b"true" => Ok(Object::Bool(true)),
            b"false" => Ok(Object::Bool(false)),
            b"null" => Ok(Object::Null),
            _ => Err(PdfError::syntax(
                at,
                format!("unexpected {}", Token::Keyword(k).describe()),
            )),
        },
        t @ (Token::ArrayClose | Token::DictClose | Token::Eof) => Err(PdfError::syntax(
            at,
            format!("expected a value, found {}", t.describe()),
        )),
    }
}

fn nested(depth: usize, at: u64) -> Result<usize> {
    if depth >= MAX_NESTING {
        return Err(PdfError::syntax(
            at,
            format!("arrays and dictionaries nested deeper than {MAX_NESTING}"),
        ));
    }
    Ok(depth + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Object> {
        let mut cur = Cursor::new(&input, 0);
        parse_object(&mut cur)
    }

    fn no_length(_: ObjRef) -> Result<Option<i64>> {
        Ok(None)
    }

    #[test]
    fn references_and_nesting() {
        let obj = parse(b"<< /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 595.3 842] /X 1 /Y 2 >>")
            .unwrap_or(Object::Null);
        let d = obj.as_dict().cloned().unwrap_or_default();
        assert_eq!(
            d.get("Kids")
                .and_then(Object::as_array)
                .map(<[Object]>::len),
            Some(2)
        );
        assert_eq!(d.get_int("Count"), Some(2));
        assert_eq!(d.get_int("X"), Some(1), "a lone integer is not a reference");
    }

    #[test]
    fn depth_is_limited() {
        let deep = vec![b'['; 100_000];
        assert!(matches!(parse(&deep), Err(PdfError::Syntax { .. })));
        let ok = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn stream_with_wrong_length_is_measured() {
        let input = b"5 0 obj << /Length 999999999999 >> stream\r\nhello\r\nendstream endobj";
        let input = &input[..];
        let mut cur = Cursor::new(&input, 0);
        let (id, obj) =
            parse_indirect(&mut cur, &mut no_length).unwrap_or((ObjRef::new(0, 0), Object::Null));
        assert_eq!(id, ObjRef::new(5, 0));
        let Some(s) = obj.as_stream() else {
            panic!("not a stream")
        };
        assert_eq!(
            s.data,
            StreamData::InFile {
                offset: 43,
                length: 5
            }
        );
    }

    #[test]
    fn stream_with_right_length() {
        let input = b"5 0 obj << /Length 7 >> stream\nhel\nlo\nendstream\nendobj";
        let input = &input[..];
        let mut cur = Cursor::new(&input, 0);
        let (_, obj) =
            parse_indirect(&mut cur, &mut no_length).unwrap_or((ObjRef::new(0, 0), Object::Null));
        let Some(s) = obj.as_stream() else {
            panic!("not a stream")
        };
        assert_eq!(
            s.data,
            StreamData::InFile {
                offset: 31,
                length: 7
            }
        );
    }

    #[test]
    fn missing_endobj_is_fine() {
        let input = b"1 0 obj << /Type /Catalog >>\n2 0 obj";
        let input = &input[..];
        let mut cur = Cursor::new(&input, 0);
        assert!(parse_indirect(&mut cur, &mut no_length).is_ok());
    }
}
