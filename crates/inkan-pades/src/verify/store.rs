//! Reading the Document Security Store: the certificates, OCSP responses and CRLs a signer
//! embedded for long-term validation.

use std::collections::HashSet;

use der::Decode;
use inkan_pdf::{Document, ObjRef, Object, Source};

use super::budget::Budget;
use x509_cert::Certificate;

/// The most entries read from each DSS array, and the largest stream decoded: bounds for
/// hostile files (a real DSS has a handful of entries of a few KB each).
const MAX_ENTRIES: usize = 1000;
const MAX_STREAM: usize = 4 << 20;

/// What a DSS holds (DER).
#[derive(Debug, Clone, Default)]
pub(crate) struct Dss {
    pub certs: Vec<Certificate>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl Dss {
    /// True when the DSS holds this exact OCSP response or CRL.
    pub(crate) fn holds(&self, der: &[u8]) -> bool {
        self.ocsps.iter().chain(self.crls.iter()).any(|d| d == der)
    }
}

/// The document's DSS; empty when there is none or it cannot be read (unreadable entries are
/// skipped: they simply do not count as validation data). Each stream is decoded once however
/// often the DSS names it, and what is decoded counts against the budget.
pub(crate) fn read<S: Source>(doc: &Document<S>, budget: &Budget) -> Dss {
    let mut dss = Dss::default();
    let Ok(catalog) = doc.catalog() else {
        return dss;
    };
    let Some(Ok(Object::Dict(dict))) = catalog.get("DSS").map(|d| doc.resolve(d)) else {
        return dss;
    };
    let mut seen = HashSet::new();
    for der in streams(doc, budget, &mut seen, dict.get("Certs")) {
        if let Ok(cert) = Certificate::from_der(&der) {
            if !dss.certs.contains(&cert) {
                dss.certs.push(cert);
            }
        }
    }
    dss.ocsps = streams(doc, budget, &mut seen, dict.get("OCSPs"));
    dss.crls = streams(doc, budget, &mut seen, dict.get("CRLs"));
    dss
}

/// The decoded streams an array names, each reference once (`seen` spans the three arrays).
fn streams<S: Source>(
    doc: &Document<S>,
    budget: &Budget,
    seen: &mut HashSet<ObjRef>,
    array: Option<&Object>,
) -> Vec<Vec<u8>> {
    let Some(Ok(Object::Array(items))) = array.map(|a| doc.resolve(a)) else {
        return Vec::new();
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    for item in items.iter().take(MAX_ENTRIES) {
        if let Some(r) = item.as_ref() {
            if !seen.insert(r) {
                continue;
            }
        }
        if !budget.ok() {
            break;
        }
        let Ok(Object::Stream(stream)) = doc.resolve(item) else {
            continue;
        };
        let decoded = doc.decode_stream(&stream, MAX_STREAM);
        if !budget.decode(decoded.as_ref().map_or(0, |d| d.len() as u64)) {
            break;
        }
        if let Ok(data) = decoded {
            if !out.contains(&data) {
                out.push(data);
            }
        }
    }
    out
}
