//! Objects to bytes, in the plain form every reader accepts.

use std::io::Write;

use crate::error::{PdfError, Result};
use crate::lexer::is_delimiter;
use crate::object::{Dict, Name, Object, PdfString, StringFormat};

/// Appends `obj` (a direct object: streams are written by the writer, as indirect objects only).
pub(crate) fn write_object(out: &mut Vec<u8>, obj: &Object) -> Result<()> {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => write_int(out, *i),
        Object::Real(r) => write_real(out, *r),
        Object::String(s) => write_string(out, s),
        Object::Name(n) => write_name(out, n),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, item)?;
            }
            out.push(b']');
        }
        Object::Dict(d) => write_dict(out, d, &mut |_, _| Ok(false))?,
        Object::Stream(_) => {
            return Err(PdfError::InvalidUpdate(
                "a stream can only be the value of an indirect object, not nested in another"
                    .into(),
            ))
        }
        Object::Reference(r) => {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{} {} R", r.num, r.gen);
        }
    }
    Ok(())
}

/// Appends a dictionary; `special` may write a value itself (returning true), which is how the
/// writer puts placeholders in.
pub(crate) fn write_dict(
    out: &mut Vec<u8>,
    dict: &Dict,
    special: &mut dyn FnMut(&mut Vec<u8>, &Name) -> Result<bool>,
) -> Result<()> {
    out.extend_from_slice(b"<<");
    for (key, value) in dict.iter() {
        out.push(b' ');
        write_name(out, key);
        out.push(b' ');
        if !special(out, key)? {
            write_object(out, value)?;
        }
    }
    out.extend_from_slice(b" >>");
    Ok(())
}

/// Appends a stream's dictionary with its `/Length` set to `length`, and the `stream` keyword
/// with its end of line: what precedes the data of every stream written.
pub(crate) fn write_stream_head(out: &mut Vec<u8>, dict: &Dict, length: u64) -> Result<()> {
    let mut dict = dict.clone();
    dict.insert(
        "Length",
        Object::Integer(i64::try_from(length).unwrap_or(i64::MAX)),
    );
    write_object(out, &Object::Dict(dict))?;
    out.extend_from_slice(b"\nstream\n");
    Ok(())
}

pub(crate) fn write_int(out: &mut Vec<u8>, i: i64) {
    let _ = write!(out, "{i}");
}

fn write_real(out: &mut Vec<u8>, r: f64) {
    if !r.is_finite() {
        out.push(b'0');
        return;
    }
    // Six decimals without exponent: PDF has no exponent syntax.
    let text = format!("{r:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    out.extend_from_slice(if text == "-0" { b"0" } else { text.as_bytes() });
}

pub(crate) fn write_name(out: &mut Vec<u8>, name: &Name) {
    out.push(b'/');
    for &b in name.as_bytes() {
        if (0x21..=0x7E).contains(&b) && b != b'#' && !is_delimiter(b) {
            out.push(b);
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &PdfString) {
    match s.format {
        StringFormat::Hex => {
            out.push(b'<');
            write_hex(out, &s.bytes);
            out.push(b'>');
        }
        StringFormat::Literal => {
            out.push(b'(');
            for &b in &s.bytes {
                match b {
                    b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    // Raw end-of-line bytes would be normalised by readers: escape them.
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    _ => out.push(b),
                }
            }
            out.push(b')');
        }
    }
}

pub(crate) fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjRef;
    use crate::parser::parse_object;
    use crate::source::Cursor;

    #[test]
    fn round_trip() {
        let mut d = Dict::new();
        d.insert("Type", Object::name("Sig"));
        d.insert("Name", Object::String(PdfString::from_text("山田 太郎")));
        d.insert(
            "Odd Name#",
            Object::String(PdfString::literal(b"a(b\\c\r\n".to_vec())),
        );
        d.insert(
            "Rect",
            Object::Array(vec![0.into(), (-0.5).into(), 595.275.into(), Object::Null]),
        );
        d.insert("P", Object::Reference(ObjRef::new(3, 0)));
        d.insert("Contents", Object::String(PdfString::hex(vec![0, 0xAB])));
        let obj = Object::Dict(d);
        let mut out = Vec::new();
        assert!(write_object(&mut out, &obj).is_ok());
        let mut cur = Cursor::new(&out, 0);
        assert_eq!(parse_object(&mut cur).ok(), Some(obj));
    }

    #[test]
    fn reals_have_no_exponent() {
        let mut out = Vec::new();
        write_real(&mut out, 1e-9);
        out.push(b' ');
        write_real(&mut out, 12.5);
        out.push(b' ');
        write_real(&mut out, f64::NAN);
        assert_eq!(out, b"0 12.5 0");
    }
}
