//! Stream filters: what is needed to read cross-reference and object streams and the usual
//! content streams (`/FlateDecode` with PNG and TIFF predictors, `/ASCIIHexDecode`,
//! `/ASCII85Decode`), and Flate compression for writing.
//!
//! Image codecs (DCT, JPX, JBIG2, CCITT) are not decoded: signing never needs pixels.

use std::io::{Read, Write};

use crate::error::{PdfError, Result};
use crate::object::{Dict, Object};

/// One filter of a stream's `/Filter` chain with its `/DecodeParms`.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The filter's name without the slash, e.g. `FlateDecode`.
    pub name: Vec<u8>,
    /// Its decode parameters, if any.
    pub params: Option<Dict>,
}

/// The filter chain a stream dictionary declares (`/Filter` name or array, `/DecodeParms` dict
/// or array), with references resolved by `resolve`.
pub(crate) fn chain(
    dict: &Dict,
    resolve: &mut dyn FnMut(&Object) -> Result<Object>,
) -> Result<Vec<Filter>> {
    let bad = |what: &str| PdfError::Decode(format!("{what} of a stream is malformed"));
    let names: Vec<Vec<u8>> = match dict.get("Filter").or_else(|| dict.get("F")) {
        None => return Ok(Vec::new()),
        Some(f) => match resolve(f)? {
            Object::Null => return Ok(Vec::new()),
            Object::Name(n) => vec![n.0],
            Object::Array(items) => {
                if items.len() > 16 {
                    return Err(bad("/Filter"));
                }
                let mut names = Vec::with_capacity(items.len());
                for item in &items {
                    match resolve(item)? {
                        Object::Name(n) => names.push(n.0),
                        _ => return Err(bad("/Filter")),
                    }
                }
                names
            }
            _ => return Err(bad("/Filter")),
        },
    };
    let mut params: Vec<Option<Dict>> = match dict.get("DecodeParms").or_else(|| dict.get("DP")) {
        None => Vec::new(),
        Some(p) => match resolve(p)? {
            Object::Dict(d) => vec![Some(d)],
            Object::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter().take(names.len()) {
                    out.push(match resolve(item)? {
                        Object::Dict(d) => Some(d),
                        _ => None,
                    });
                }
                out
            }
            _ => Vec::new(),
        },
    };
    params.resize(names.len(), None);
    Ok(names
        .into_iter()
        .zip(params)
        .map(|(name, params)| Filter { name, params })
        .collect())
}

/// Decodes `data` through `filters` in order; fails rather than produce more than `limit` bytes
/// (a few KB of Flate can expand to gigabytes).
pub fn decode(data: &[u8], filters: &[Filter], limit: usize) -> Result<Vec<u8>> {
    let mut current: Option<Vec<u8>> = None;
    for f in filters {
        let input = current.as_deref().unwrap_or(data);
        let out = match f.name.as_slice() {
            b"FlateDecode" | b"Fl" => {
                let raw = inflate(input, limit)?;
                apply_predictor(raw, f.params.as_ref(), limit)?
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(input)?,
            b"ASCII85Decode" | b"A85" => ascii85(input)?,
            // Decryption happened when the data was read (see `crate::crypt`).
            b"Crypt" => input.to_vec(),
            other => {
                return Err(PdfError::UnsupportedFilter(
                    String::from_utf8_lossy(other).into_owned(),
                ))
            }
        };
        if out.len() > limit {
            return Err(too_big(limit));
        }
        current = Some(out);
    }
    Ok(current.unwrap_or_else(|| data.to_vec()))
}

fn too_big(limit: usize) -> PdfError {
    PdfError::Limit {
        what: "decoded stream data",
        limit: limit as u64,
    }
}

/// Flate-compresses `data` (zlib format, as `/FlateDecode` expects).
pub fn flate_encode(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .unwrap_or_default()
}

fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut dec = flate2::read::ZlibDecoder::new(data);
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match dec.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                if out.len() + n > limit {
                    return Err(too_big(limit));
                }
                out.extend_from_slice(&chunk[..n]);
            }
            Err(e) => {
                // Streams cut short or with a bad checksum are common in the wild and readers
                // show what could be decoded; nothing decoded at all is an error.
                if out.is_empty() {
                    return Err(PdfError::Decode(format!("Flate data is corrupt: {e}")));
                }
                return Ok(out);
            }
        }
    }
}

fn param(params: Option<&Dict>, key: &str, default: i64) -> i64 {
    params.and_then(|p| p.get_int(key)).unwrap_or(default)
}

fn apply_predictor(data: Vec<u8>, params: Option<&Dict>, limit: usize) -> Result<Vec<u8>> {
    let predictor = param(params, "Predictor", 1);
    if predictor <= 1 {
        return Ok(data);
    }
    let colors = param(params, "Colors", 1);
    let bpc = param(params, "BitsPerComponent", 8);
    let columns = param(params, "Columns", 1);
    if !(1..=32).contains(&colors)
        || ![1, 2, 4, 8, 16].contains(&bpc)
        || !(1..=1 << 24).contains(&columns)
    {
        return Err(PdfError::Decode(format!(
            "predictor parameters out of range (/Colors {colors} /BitsPerComponent {bpc} /Columns {columns})"
        )));
    }
    // All three are small positive numbers now, so these products cannot overflow.
    let bits_per_pixel = (colors * bpc) as usize;
    let bytes_per_pixel = bits_per_pixel.div_ceil(8);
    // A row longer than the data is one partial row: sizing buffers by the data keeps absurd
    // /Columns from allocating gigabytes.
    let row_len = (bits_per_pixel * columns as usize)
        .div_ceil(8)
        .min(data.len().max(1));
    match predictor {
        2 => tiff_predictor(data, bpc, bytes_per_pixel, row_len),
        10..=15 => png_predictor(&data, bytes_per_pixel, row_len, limit),
        other => Err(PdfError::Decode(format!("unknown /Predictor {other}"))),
    }
}

fn png_predictor(data: &[u8], bpp: usize, row_len: usize, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().min(limit));
    let mut prev = vec![0u8; row_len];
    let mut row = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let Some((&kind, bytes)) = chunk.split_first() else {
            break;
        };
        // A short last row is decoded as far as it goes.
        let n = bytes.len();
        row[..n].copy_from_slice(bytes);
        row[n..].fill(0);
        for i in 0..row_len {
            let left = if i >= bpp { row[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            row[i] = match kind {
                0 => row[i],
                1 => row[i].wrapping_add(left),
                2 => row[i].wrapping_add(up),
                3 => row[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => row[i].wrapping_add(paeth(left, up, up_left)),
                other => return Err(PdfError::Decode(format!("unknown PNG row filter {other}"))),
            };
        }
        out.extend_from_slice(&row[..n]);
        if out.len() > limit {
            return Err(too_big(limit));
        }
        std::mem::swap(&mut prev, &mut row);
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn tiff_predictor(mut data: Vec<u8>, bpc: i64, bpp: usize, row_len: usize) -> Result<Vec<u8>> {
    if bpc != 8 {
        return Err(PdfError::Decode(format!(
            "TIFF predictor with {bpc} bits per component is not supported"
        )));
    }
    for row in data.chunks_mut(row_len) {
        for i in bpp..row.len() {
            row[i] = row[i].wrapping_add(row[i - bpp]);
        }
    }
    Ok(data)
}

fn ascii_hex(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut high = None;
    for &c in data {
        if c == b'>' {
            break;
        }
        if crate::lexer::is_whitespace(c) {
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => {
                return Err(PdfError::Decode(format!(
                    "'{}' in ASCIIHex data",
                    char::from(c).escape_default()
                )))
            }
        };
        match high.take() {
            Some(h) => out.push(h << 4 | v),
            None => high = Some(v),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    Ok(out)
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 5 * 4);
    let mut group = [0u8; 5];
    let mut n = 0;
    for &c in data {
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = c - b'!';
                n += 1;
                if n == 5 {
                    out.extend_from_slice(&a85_group(&group)?);
                    n = 0;
                }
            }
            c if crate::lexer::is_whitespace(c) => {}
            _ => {
                return Err(PdfError::Decode(format!(
                    "'{}' in ASCII85 data",
                    char::from(c).escape_default()
                )))
            }
        }
    }
    if n == 1 {
        return Err(PdfError::Decode(
            "ASCII85 data ends with a single character".into(),
        ));
    }
    if n > 1 {
        // A final partial group is padded with 'u' and yields n-1 bytes.
        group[n..].fill(b'u' - b'!');
        let bytes = a85_group(&group)?;
        out.extend_from_slice(&bytes[..n - 1]);
    }
    Ok(out)
}

fn a85_group(g: &[u8; 5]) -> Result<[u8; 4]> {
    let v = g.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
    let v = u32::try_from(v).map_err(|_| PdfError::Decode("ASCII85 group out of range".into()))?;
    Ok(v.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flate() -> Filter {
        Filter {
            name: b"FlateDecode".to_vec(),
            params: None,
        }
    }

    #[test]
    fn flate_round_trip_and_limit() {
        let data = vec![7u8; 100_000];
        let enc = flate_encode(&data);
        assert!(enc.len() < 1000);
        assert_eq!(decode(&enc, &[flate()], 1 << 20).ok(), Some(data));
        assert!(matches!(
            decode(&enc, &[flate()], 50_000),
            Err(PdfError::Limit { .. })
        ));
    }

    #[test]
    fn png_up_predictor() {
        // Two rows of 3 columns, "Up" filter (2): second row adds the first.
        let raw = [2u8, 1, 2, 3, 2, 1, 1, 1];
        let mut params = Dict::new();
        params.insert("Predictor", Object::Integer(12));
        params.insert("Columns", Object::Integer(3));
        let f = Filter {
            name: b"FlateDecode".to_vec(),
            params: Some(params),
        };
        let out = decode(&flate_encode(&raw), &[f], 1000).ok();
        assert_eq!(out, Some(vec![1, 2, 3, 2, 3, 4]));
    }

    #[test]
    fn ascii_filters() {
        assert_eq!(ascii_hex(b"48 65 6c6c 6F7>").ok(), Some(b"Hellop".to_vec()));
        assert_eq!(
            ascii85(b"87cURD]i,\"Ebo80~>").ok(),
            Some(b"Hello World!".to_vec())
        );
    }

    #[test]
    fn unknown_filter_is_named() {
        let f = Filter {
            name: b"DCTDecode".to_vec(),
            params: None,
        };
        let err = decode(b"x", &[f], 10).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("stream filter /DCTDecode is not supported")
        );
    }
}
