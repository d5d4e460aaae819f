//! Reading the Document Security Store: the certificates, OCSP responses and CRLs a signer
//! embedded for long-term validation.

use der::Decode;
use inkan_pdf::{Document, Object, Source};
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
/// skipped: they simply do not count as validation data).
pub(crate) fn read<S: Source>(doc: &Document<S>) -> Dss {
    let mut dss = Dss::default();
    let Ok(catalog) = doc.catalog() else {
        return dss;
    };
    let Some(Ok(Object::Dict(dict))) = catalog.get("DSS").map(|d| doc.resolve(d)) else {
        return dss;
    };
    for der in streams(doc, dict.get("Certs")) {
        if let Ok(cert) = Certificate::from_der(&der) {
            if !dss.certs.contains(&cert) {
                dss.certs.push(cert);
            }
        }
    }
    dss.ocsps = streams(doc, dict.get("OCSPs"));
    dss.crls = streams(doc, dict.get("CRLs"));
    dss
}

fn streams<S: Source>(doc: &Document<S>, array: Option<&Object>) -> Vec<Vec<u8>> {
    let Some(Ok(Object::Array(items))) = array.map(|a| doc.resolve(a)) else {
        return Vec::new();
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    for item in items.iter().take(MAX_ENTRIES) {
        let Ok(Object::Stream(stream)) = doc.resolve(item) else {
            continue;
        };
        if let Ok(data) = doc.decode_stream(&stream, MAX_STREAM) {
            if !out.contains(&data) {
                out.push(data);
            }
        }
    }
    out
}
