//! Content streams as operations (ISO 32000-2 §7.8.2): operands followed by an operator, read
//! with the same lexer as objects. Also reads PostScript-like CMaps (a ToUnicode CMap is a
//! sequence of operands and operators too).
//!
//! Reading is bounded: each operation holds at most [`MAX_OPERANDS`] operands and each array or
//! dictionary operand the parser's limits; inline image data is skipped, not tokenised.

use crate::error::{PdfError, Result};
use crate::lexer::{is_whitespace, next_token, Token};
use crate::object::{Name, Object, PdfString};
use crate::parser::parse_value_at;
use crate::source::{Cursor, Source};

/// The most operands kept for one operation; beyond that the data is not a content stream.
pub const MAX_OPERANDS: usize = 4096;

/// One operation: `operands operator`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The operator's bytes (`Tj`, `cm`, `beginbfchar` …).
    pub operator: Vec<u8>,
    /// Its operands, in order.
    pub operands: Vec<Object>,
}

/// The operations of a content stream's decoded data, in order. Stops (after yielding the
/// error) at the first syntax error, since nothing after it can be trusted to mean anything.
pub struct Operations<'a> {
    cur: Cursor<'a>,
    done: bool,
}

impl<'a> Operations<'a> {
    /// Operations of `data` (decoded content; e.g. `&vec` for a `Vec<u8>`).
    pub fn new(data: &'a dyn Source) -> Self {
        Operations {
            cur: Cursor::new(data, 0),
            done: false,
        }
    }

    fn read(&mut self) -> Result<Option<Operation>> {
        let mut operands = Vec::new();
        loop {
            let token = next_token(&mut self.cur)?;
            let operator = match token {
                Token::Eof => return Ok(None),
                Token::Keyword(k) if !matches!(k.as_slice(), b"true" | b"false" | b"null") => k,
                t @ (Token::ArrayClose | Token::DictClose) => {
                    return Err(PdfError::syntax(
                        self.cur.pos(),
                        format!("unexpected {}", t.describe()),
                    ))
                }
                t => {
                    if operands.len() >= MAX_OPERANDS {
                        return Err(PdfError::Limit {
                            what: "operands of one content stream operation",
                            limit: MAX_OPERANDS as u64,
                        });
                    }
                    operands.push(self.operand(t)?);
                    continue;
                }
            };
            if operator == b"BI" {
                self.skip_inline_image()?;
                return Ok(Some(Operation {
                    operator: b"EI".to_vec(),
                    operands: Vec::new(),
                }));
            }
            return Ok(Some(Operation { operator, operands }));
        }
    }

    /// A single operand; numbers are never read as references here (`1 0 R` means nothing in
    /// content).
    fn operand(&mut self, token: Token) -> Result<Object> {
        Ok(match token {
            Token::Int(i) => Object::Integer(i),
            Token::Real(r) => Object::Real(r),
            Token::LiteralString(s) => Object::String(PdfString::literal(s)),
            Token::HexString(s) => Object::String(PdfString::hex(s)),
            Token::Name(n) => Object::Name(Name(n)),
            other => parse_value_at(&mut self.cur, other)?,
        })
    }

    /// Skips an inline image: its dictionary up to `ID`, then its binary data up to an `EI`
    /// between whitespace (§8.9.7).
    fn skip_inline_image(&mut self) -> Result<()> {
        loop {
            match next_token(&mut self.cur)? {
                Token::Eof => return Ok(()),
                t if t.is_keyword(b"ID") => break,
                _ => {}
            }
        }
        // One whitespace byte follows `ID`; the data starts after it.
        self.cur.next()?;
        let mut previous_white = true;
        while let Some(b) = self.cur.next()? {
            if previous_white && b == b'E' && self.cur.starts_with(b"I")? {
                let after = self.cur.pos() + 1;
                self.cur.seek(after);
                match self.cur.peek()? {
                    None => return Ok(()),
                    Some(c) if is_whitespace(c) => return Ok(()),
                    Some(_) => {}
                }
            }
            previous_white = is_whitespace(b);
        }
        Ok(())
    }
}

impl Iterator for Operations<'_> {
    type Item = Result<Operation>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read() {
            Ok(Some(op)) => Some(Ok(op)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(data: &[u8]) -> Vec<Result<Operation>> {
        let data = data.to_vec();
        Operations::new(&data).collect()
    }

    #[test]
    fn text_operations() {
        let all = ops(b"BT /F1 7 Tf 1 0 0 1 12 12 Tm [(a) -20 <0041>] TJ (x\\)) ' ET q Q");
        let names: Vec<Vec<u8>> = all
            .iter()
            .filter_map(|o| o.as_ref().ok())
            .map(|o| o.operator.clone())
            .collect();
        assert_eq!(
            names,
            [&b"BT"[..], b"Tf", b"Tm", b"TJ", b"'", b"ET", b"q", b"Q"]
        );
        let Some(Ok(tj)) = all.get(3) else {
            panic!("{all:?}")
        };
        assert_eq!(tj.operands.len(), 1);
        assert_eq!(
            tj.operands[0].as_array().map(|a| a.len()),
            Some(3),
            "{tj:?}"
        );
    }

    #[test]
    fn inline_images_are_skipped() {
        let all = ops(b"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00) EIx (EI \nEI Q");
        let names: Vec<_> = all
            .iter()
            .filter_map(|o| o.as_ref().ok())
            .map(|o| o.operator.clone())
            .collect();
        assert_eq!(names, [&b"EI"[..], b"Q"]);
    }

    #[test]
    fn garbage_ends_with_one_error() {
        let all = ops(b"1 2 re ) f");
        assert!(matches!(all.last(), Some(Err(_))), "{all:?}");
        assert_eq!(all.len(), 2);
        assert!(ops(b"").is_empty());
        assert!(matches!(ops(b"[1 2").last(), Some(Err(_))));
    }
}
