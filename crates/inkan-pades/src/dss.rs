//! The Document Security Store (ISO 32000-2 §12.8.4.3, PAdES B-LT): certificates, OCSP responses
//! and CRLs as streams referenced from the catalog's `/DSS`, with a `/VRI` entry per signature.

use std::path::Path;

use der::Encode;
use inkan_pdf::{Compression, Dict, Document, IncrementalUpdate, ObjRef, Object, Source};
use sha1::{Digest, Sha1};

use crate::ltv::ValidationData;
use crate::PadesError;

/// The `/VRI` key of a signature: the uppercase hex SHA-1 of its `/Contents` bytes, padding
/// included.
pub fn vri_key(contents: &[u8]) -> String {
    hex::encode_upper(Sha1::digest(contents))
}

/// Writes `input` plus an incremental update adding `data` to the DSS (merged with what the DSS
/// already holds) into `output`. With `vri`, the data is also listed under that signature's VRI.
pub fn add_validation_data(
    input: &Path,
    output: &Path,
    data: &ValidationData,
    vri: Option<&str>,
) -> Result<(), PadesError> {
    add_validation_data_per_signature(input, output, &[(vri.map(str::to_string), data.clone())])
}

/// Like [`add_validation_data`] for several signatures at once, in one update: each entry's
/// data goes into the DSS and, when it names a VRI key, under that key.
pub fn add_validation_data_per_signature(
    input: &Path,
    output: &Path,
    entries: &[(Option<String>, ValidationData)],
) -> Result<(), PadesError> {
    crate::stages::extend_file(input, output, |pdf| validation_data_update(pdf, entries))
}

/// The update adding `entries` to the DSS of `pdf`.
pub(crate) fn validation_data_update<S: Source + ?Sized>(
    pdf: &S,
    entries: &[(Option<String>, ValidationData)],
) -> Result<Vec<u8>, PadesError> {
    let doc = Document::open(pdf)?;
    let mut update = IncrementalUpdate::new(&doc)?;
    let root = doc.root_ref()?;
    let mut catalog = doc.catalog()?;
    let (mut dss, dss_ref) = match catalog.get("DSS") {
        Some(Object::Reference(r)) => (doc.get_dict(*r)?, Some(*r)),
        Some(Object::Dict(d)) => (d.clone(), None),
        _ => (Dict::new(), None),
    };
    let mut vri_dict = match dss.get("VRI") {
        Some(v) => doc.resolve(v)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    for (vri, data) in entries {
        let cert_ders = data
            .certificates
            .iter()
            .map(|c| c.to_der())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PadesError::Validation(format!("certificate encoding: {e}")))?;
        let certs = append_streams(&doc, &mut update, &mut dss, "Certs", &cert_ders)?;
        let ocsps = append_streams(&doc, &mut update, &mut dss, "OCSPs", &data.ocsps)?;
        let crls = append_streams(&doc, &mut update, &mut dss, "CRLs", &data.crls)?;
        // An existing VRI entry stays as it is: validators treat a changed entry as tampering
        // with what an earlier revision recorded. Fresh data still joins the DSS arrays.
        if let Some(key) = vri.as_ref().filter(|k| !vri_dict.contains_key(k.as_str())) {
            let mut entry = Dict::new();
            entry.insert("Cert", refs(&certs));
            entry.insert("OCSP", refs(&ocsps));
            entry.insert("CRL", refs(&crls));
            vri_dict.insert(key.as_str(), entry);
        }
    }
    if !vri_dict.is_empty() {
        dss.insert("VRI", vri_dict);
    }
    match dss_ref {
        Some(r) => update.set(r, dss)?,
        None => {
            let r = update.add(dss);
            catalog.insert("DSS", r);
            update.set(root, catalog)?;
        }
    }
    crate::stages::appended(update)
}

fn refs(list: &[ObjRef]) -> Vec<Object> {
    list.iter().map(|r| Object::from(*r)).collect()
}

/// Adds each blob not yet in the DSS array `key` as a stream; returns the references of all
/// the given blobs (new or already present).
fn append_streams<S: Source>(
    doc: &Document<S>,
    update: &mut IncrementalUpdate<'_, S>,
    dss: &mut Dict,
    key: &str,
    blobs: &[Vec<u8>],
) -> Result<Vec<ObjRef>, PadesError> {
    let mut array: Vec<Object> = match dss.get(key) {
        Some(a) => doc
            .resolve(a)?
            .as_array()
            .map(|a| a.to_vec())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // What the DSS already holds, by content, so nothing is stored twice.
    let mut existing = Vec::new();
    for item in &array {
        if let Some(r) = item.as_ref() {
            if let Ok(Object::Stream(s)) = doc.get(r) {
                if let Ok(bytes) = doc.decode_stream(&s, 64 << 20) {
                    existing.push((bytes, r));
                }
            }
        }
    }
    let mut result = Vec::new();
    for blob in blobs {
        if let Some((_, r)) = existing.iter().find(|(b, _)| b == blob) {
            result.push(*r);
            continue;
        }
        // Stored as they are: DER barely compresses (keys, signatures and serials are random;
        // a certificate shrinks by about a tenth), and deflating every certificate, OCSP
        // response and CRL of each signature cost more CPU than the bytes it saved.
        let r = update.add_stream(Dict::new(), blob, Compression::None)?;
        array.push(r.into());
        existing.push((blob.clone(), r));
        result.push(r);
    }
    dss.insert(key, array);
    Ok(result)
}
