//! Finding the signed signature fields of a document: every terminal field of the AcroForm tree
//! (through `/Kids`, with `/FT` inherited) whose type is `/Sig` and whose `/V` is a signature
//! dictionary.

use std::collections::HashSet;

use inkan_pdf::{Dict, Document, ObjRef, Object, PdfError, Source};

use super::report::SignatureKind;

/// How deep a field tree may go, and how many fields are looked at: bounds for hostile files.
const MAX_FIELD_DEPTH: usize = 32;
const MAX_FIELDS: usize = 100_000;

/// A signature dictionary found in a field.
#[derive(Debug, Clone)]
pub(crate) struct FoundSignature {
    /// Partial names joined by dots.
    pub field: String,
    /// The signature dictionary's reference (`None` when it is inline, which no writer does).
    pub sig_ref: Option<ObjRef>,
    pub sig: Dict,
    pub kind: SignatureKind,
    /// The fields this signature locks: its FieldMDP references and its field's `/Lock`.
    pub locks: Vec<crate::FieldLock>,
}

impl FoundSignature {
    /// The ByteRange numbers, as written.
    pub(crate) fn byte_range(&self) -> Vec<i64> {
        self.sig
            .get("ByteRange")
            .and_then(Object::as_array)
            .map(|a| a.iter().map(|o| o.as_int().unwrap_or(-1)).collect())
            .unwrap_or_default()
    }

    /// Where the signed data ends: the order signatures were made in.
    fn signed_end(&self) -> i64 {
        match self.byte_range().as_slice() {
            [_, _, c, d] => c.saturating_add(*d),
            _ => i64::MAX,
        }
    }

    /// A text entry of the signature dictionary (`/Reason`, `/Location` …), decoded.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.sig
            .get(key)
            .and_then(Object::as_string)
            .map(|s| s.to_text())
    }

    pub(crate) fn sub_filter(&self) -> Option<String> {
        self.sig
            .get_name("SubFilter")
            .map(|n| String::from_utf8_lossy(n).into_owned())
    }
}

/// What makes two found signatures one.
#[derive(PartialEq, Eq, Hash)]
enum SignatureKey {
    Reference(ObjRef),
    Value(Vec<u8>),
}

/// Every signed signature field, oldest signature first.
pub(crate) fn find<S: Source>(doc: &Document<S>) -> Result<Vec<FoundSignature>, PdfError> {
    let Some(acroform) = doc.acroform()? else {
        return Ok(Vec::new());
    };
    let Some(fields) = acroform.get("Fields") else {
        return Ok(Vec::new());
    };
    let fields = doc.resolve(fields)?;
    // (node, parent name, inherited /FT, depth)
    let mut stack: Vec<(Object, String, Option<Vec<u8>>, usize)> = fields
        .as_array()
        .unwrap_or(&[])
        .iter()
        .rev()
        .map(|f| (f.clone(), String::new(), None, 0))
        .collect();
    let mut visited = HashSet::new();
    let mut seen_signatures = HashSet::new();
    let mut found = Vec::new();
    let mut count = 0;
    while let Some((node, parent, inherited_ft, depth)) = stack.pop() {
        count += 1;
        if count > MAX_FIELDS || depth > MAX_FIELD_DEPTH {
            break;
        }
        if let Some(r) = node.as_ref() {
            if !visited.insert(r) {
                continue;
            }
        }
        let Ok(Object::Dict(dict)) = doc.resolve(&node) else {
            continue;
        };
        let partial = dict
            .get("T")
            .and_then(Object::as_string)
            .map(|t| t.to_text());
        let name = match (&partial, parent.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{parent}.{p}"),
            (None, _) => parent.clone(),
        };
        let ft = dict
            .get_name("FT")
            .map(<[u8]>::to_vec)
            .or(inherited_ft.clone());
        let kids: Vec<Object> = match dict.get("Kids") {
            Some(k) => doc
                .resolve(k)
                .ok()
                .and_then(|k| k.as_array().map(<[Object]>::to_vec))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        // Kids with a /T are fields; kids without are this field's widgets.
        let field_kids: Vec<Object> = kids
            .into_iter()
            .filter(|k| {
                doc.resolve(k)
                    .ok()
                    .and_then(|k| k.as_dict().map(|d| d.contains_key("T")))
                    .unwrap_or(false)
            })
            .collect();
        if !field_kids.is_empty() {
            for kid in field_kids.into_iter().rev() {
                stack.push((kid, name.clone(), ft.clone(), depth + 1));
            }
            continue;
        }
        if ft.as_deref() != Some(b"Sig".as_slice()) {
            continue;
        }
        let Some(value) = dict.get("V") else { continue };
        let sig_ref = value.as_ref();
        let Ok(Object::Dict(sig)) = doc.resolve(value) else {
            continue;
        };
        // Two fields naming one signature dictionary, or holding the same signature value
        // inline: one signature, checked (and its range hashed) once.
        let key = match sig_ref {
            Some(r) => SignatureKey::Reference(r),
            None => SignatureKey::Value(
                sig.get("Contents")
                    .and_then(Object::as_string)
                    .map(|s| s.bytes.clone())
                    .unwrap_or_default(),
            ),
        };
        if !seen_signatures.insert(key) {
            continue;
        }
        let kind = if sig.get_name("Type") == Some(b"DocTimeStamp".as_slice())
            || sig.get_name("SubFilter") == Some(b"ETSI.RFC3161".as_slice())
        {
            SignatureKind::DocumentTimestamp
        } else {
            SignatureKind::Signature
        };
        let locks = crate::locks::field_mdp_of(doc, &sig)
            .into_iter()
            .chain(crate::locks::lock_of_field(doc, &dict))
            .collect();
        found.push(FoundSignature {
            field: name,
            sig_ref,
            sig,
            kind,
            locks,
        });
    }
    found.sort_by_key(FoundSignature::signed_end);
    Ok(found)
}

/// The DocMDP permission a signature dictionary's `/Reference` declares (a certification
/// signature), if any. ISO 32000: `/P` defaults to 2.
pub(crate) fn docmdp_permission<S: Source>(doc: &Document<S>, sig: &Dict) -> Option<u8> {
    let references = doc.resolve(sig.get("Reference")?).ok()?;
    for reference in references.as_array().unwrap_or(&[]) {
        let Ok(Object::Dict(reference)) = doc.resolve(reference) else {
            continue;
        };
        if reference.get_name("TransformMethod") != Some(b"DocMDP".as_slice()) {
            continue;
        }
        let p = reference
            .get("TransformParams")
            .and_then(|p| doc.resolve(p).ok())
            .and_then(|p| p.as_dict().and_then(|d| d.get_int("P")))
            .unwrap_or(2);
        return Some(p.clamp(1, 3) as u8);
    }
    None
}

/// The signature dictionary the catalog's `/Perms /DocMDP` names.
pub(crate) fn certification_ref<S: Source>(doc: &Document<S>) -> Option<ObjRef> {
    let catalog = doc.catalog().ok()?;
    let perms = doc.resolve(catalog.get("Perms")?).ok()?;
    perms.as_dict()?.get_ref("DocMDP")
}
