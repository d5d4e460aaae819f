//! Gathering long-term validation data: for every certificate a validator will have to check
//! (the signer's chain, each TSA's chain, and OCSP responders that are not `ocsp-nocheck`), an
//! OCSP response or a CRL, fetched now and embedded in the DSS so the signature still validates
//! when the services are gone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use der::Encode;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::PadesError;

/// Certificates, OCSP responses and CRLs for a DSS.
#[derive(Debug, Clone, Default)]
pub struct ValidationData {
    pub certificates: Vec<Certificate>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl ValidationData {
    /// Adds what `other` has that this does not (by content).
    pub fn merge(&mut self, other: ValidationData) {
        for cert in other.certificates {
            if !self.certificates.contains(&cert) {
                self.certificates.push(cert);
            }
        }
        for ocsp in other.ocsps {
            if !self.ocsps.contains(&ocsp) {
                self.ocsps.push(ocsp);
            }
        }
        for crl in other.crls {
            if !self.crls.contains(&crl) {
                self.crls.push(crl);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.ocsps.is_empty() && self.crls.is_empty()
    }
}

/// Fetches revocation information over HTTP (OCSP first, the CRL when OCSP fails).
#[derive(Debug, Clone)]
pub struct RevocationFetcher {
    http: inkan_pki::http::Client,
    timeout: Duration,
    /// Within one gathering (see [`RevocationFetcher::gathering`]): the answer already fetched
    /// for a certificate and its issuer.
    answers: Option<Arc<Mutex<Answers>>>,
}

/// Revocation answers by (certificate, issuer) fingerprints: the delegated OCSP responder to
/// check in turn, and the data.
type Answers = HashMap<(Vec<u8>, Vec<u8>), (Option<Certificate>, ValidationData)>;

impl Default for RevocationFetcher {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl RevocationFetcher {
    pub fn new(timeout: Duration) -> Self {
        Self {
            http: inkan_pki::http::client(),
            timeout,
            answers: None,
        }
    }

    /// A fetcher for one gathering of validation data — every answer it fetches is made after
    /// the signatures and timestamps being proven, so one answer serves every signature that
    /// names the same certificate (three signatures by the witness certificate and their three
    /// timestamps by one TSA need one OCSP response each, and one CRL for their common CA, not
    /// six of each). Start a new gathering for anything made later (a document timestamp
    /// added after it): what proves it must be fetched after it.
    pub fn gathering(&self) -> RevocationFetcher {
        RevocationFetcher {
            answers: Some(Arc::default()),
            ..self.clone()
        }
    }

    /// Requests go only where `egress` allows.
    pub fn with_egress(mut self, egress: inkan_pki::egress::Egress) -> Self {
        self.http = inkan_pki::http::Client::new(egress);
        self
    }

    /// Validation data for the path from `leaf` to one of `anchors`, built from `pool`.
    pub async fn collect(
        &self,
        leaf: &Certificate,
        pool: &[Certificate],
        anchors: &[Certificate],
    ) -> Result<ValidationData, PadesError> {
        let mut data = ValidationData::default();
        let mut done = HashSet::new();
        let mut todo = vec![leaf.clone()];
        let mut pool = pool.to_vec();
        // Each round may add an OCSP responder to check; bounded so no chain of responders can
        // make this loop forever.
        for _round in 0..8 {
            let Some(cert) = todo.pop() else { break };
            let path = inkan_cms::path::validate(&cert, &pool, anchors, SystemTime::now(), None)
                .map_err(|e| PadesError::Validation(format!("certificate path: {e}")))?;
            for pair in path.windows(2) {
                let (subject, issuer) = (&pair[0], &pair[1]);
                if !done.insert(fingerprint(subject)) {
                    continue;
                }
                if !data.certificates.contains(subject) {
                    data.certificates.push(subject.clone());
                }
                if has_ocsp_nocheck(subject) {
                    continue;
                }
                let (responder, fetched) = self.revocation_of(subject, issuer).await?;
                data.merge(fetched);
                if let Some(responder) = responder {
                    if !pool.contains(&responder) {
                        pool.push(responder.clone());
                    }
                    if !done.contains(&fingerprint(&responder)) {
                        todo.push(responder);
                    }
                }
            }
            if let Some(anchor) = path.last() {
                if !data.certificates.contains(anchor) {
                    data.certificates.push(anchor.clone());
                }
            }
        }
        Ok(data)
    }

    /// [`Self::fetch_revocation`], answered from this gathering's answers when it has one for
    /// the pair.
    async fn revocation_of(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<(Option<Certificate>, ValidationData), PadesError> {
        let Some(answers) = &self.answers else {
            return self.fetch_revocation(cert, issuer).await;
        };
        let pair = (fingerprint(cert), fingerprint(issuer));
        if let Some(answer) = lock(answers).get(&pair) {
            return Ok(answer.clone());
        }
        let answer = self.fetch_revocation(cert, issuer).await?;
        lock(answers).insert(pair, answer.clone());
        Ok(answer)
    }

    /// OCSP when the certificate names a responder and it answers "good", else the CRL.
    /// Returns the delegated responder's certificate, which needs checking in its turn.
    async fn fetch_revocation(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<(Option<Certificate>, ValidationData), PadesError> {
        let mut data = ValidationData::default();
        let mut errors = Vec::new();
        let has_ocsp =
            !inkan_pki::x509::aia_urls(cert, const_oid::db::rfc5280::ID_AD_OCSP).is_empty();
        if has_ocsp {
            match inkan_pki::ocsp::query(&self.http, cert, issuer, None, self.timeout).await {
                Ok(answer) if answer.status.is_good() => {
                    let responder =
                        inkan_pki::ocsp::responder_of(&answer.der).filter(|r| r != issuer);
                    data.ocsps.push(answer.der);
                    return Ok((responder, data));
                }
                Ok(answer) => {
                    return Err(PadesError::Revoked(format!(
                        "{}: OCSP says {:?}",
                        subject_of(cert),
                        answer.status
                    )))
                }
                Err(e) => errors.push(format!("OCSP: {e}")),
            }
        }
        match inkan_pki::crl::fetch_and_check(&self.http, cert, issuer, self.timeout).await {
            Ok((status, der)) if status.is_good() => {
                data.crls.push(der);
                Ok((None, data))
            }
            Ok((status, _)) => Err(PadesError::Revoked(format!(
                "{}: the CRL says {status:?}",
                subject_of(cert)
            ))),
            Err(e) => {
                errors.push(format!("CRL: {e}"));
                Err(PadesError::Validation(format!(
                    "no revocation information for {}: {}",
                    subject_of(cert),
                    errors.join("; ")
                )))
            }
        }
    }
}

/// The answers, even after a panic elsewhere while they were held (they are only ever
/// inserted whole).
fn lock(answers: &Mutex<Answers>) -> std::sync::MutexGuard<'_, Answers> {
    answers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fingerprint(cert: &Certificate) -> Vec<u8> {
    Sha256::digest(cert.to_der().unwrap_or_default()).to_vec()
}

fn has_ocsp_nocheck(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .any(|e| e.extn_id == inkan_pki::x509::ID_PKIX_OCSP_NOCHECK)
}

pub(crate) fn subject_of(cert: &Certificate) -> String {
    inkan_pki::x509::common_name(&cert.tbs_certificate.subject)
        .unwrap_or_else(|| cert.tbs_certificate.subject.to_string())
}
