//! Revocation of every certificate of a path: embedded OCSP responses and CRLs (the DSS) first,
//! each checked as of the time the signature is proven to have existed; then, unless offline,
//! the responders named in the certificates.
//!
//! A certificate revoked before the proven signing time (or at all, when no timestamp proves
//! the time) makes the signature invalid; one revoked later does not. No information at all is
//! a warning ("revocation unknown"), not a failure.

use std::time::{Duration, SystemTime};

use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, OcspResponse};

use super::describe;
use super::report::{
    CertRevocation, CertStatus, RevocationReport, RevocationSource, RevocationStatus,
};
use super::store::Dss;

/// How to go online, when allowed.
#[derive(Debug, Clone)]
pub(crate) struct Online {
    pub http: inkan_pki::http::Client,
    pub timeout: Duration,
}

/// One certificate's result, with what long-term validation needs to know.
#[derive(Debug, Clone)]
pub(crate) struct CertCheck {
    pub report: CertRevocation,
    /// Validation data is needed for this certificate (not an anchor, not ocsp-nocheck).
    pub needs_data: bool,
    /// The embedded OCSP responses and CRLs that vouch for it (DER).
    pub embedded: Vec<Vec<u8>>,
}

/// The result for a whole path.
#[derive(Debug, Clone)]
pub(crate) struct PathCheck {
    pub certs: Vec<CertCheck>,
    pub report: RevocationReport,
}

impl PathCheck {
    pub(crate) fn not_checked() -> Self {
        PathCheck {
            certs: Vec::new(),
            report: RevocationReport::not_checked(),
        }
    }

    /// Every certificate that needs validation data has some in `dss`.
    pub(crate) fn covered_by(&self, dss: &Dss) -> bool {
        !self.certs.is_empty()
            && self
                .certs
                .iter()
                .filter(|c| c.needs_data)
                .all(|c| c.embedded.iter().any(|der| dss.holds(der)))
    }
}

/// What the embedded data says about one certificate.
#[derive(Default)]
struct Embedded {
    good: Vec<Vec<u8>>,
    revoked: Option<(SystemTime, RevocationSource)>,
    good_source: Option<RevocationSource>,
    problems: Vec<String>,
}

/// Checks `path` (leaf first, root last). `at` is the time the signature is proven to have
/// existed (its timestamp), or now with `proven` false.
pub(crate) async fn check_path(
    path: &[Certificate],
    at: SystemTime,
    proven: bool,
    dss: &Dss,
    online: Option<&Online>,
) -> PathCheck {
    if path.is_empty() {
        return PathCheck::not_checked();
    }
    let mut certs = Vec::new();
    for (i, cert) in path.iter().enumerate() {
        let subject = describe::short(cert);
        let Some(issuer) = path.get(i + 1) else {
            certs.push(not_needed(subject, "trust anchor / 信頼点"));
            continue;
        };
        if has_ocsp_nocheck(cert) {
            certs.push(not_needed(subject, "OCSP responder (ocsp-nocheck)"));
            continue;
        }
        certs.push(check_one(cert, issuer, subject, at, proven, dss, online).await);
    }
    let status = if certs.iter().any(|c| c.report.status == CertStatus::Revoked) {
        RevocationStatus::Revoked
    } else if certs.iter().any(|c| c.report.status == CertStatus::Unknown) {
        RevocationStatus::Unknown
    } else {
        RevocationStatus::Good
    };
    PathCheck {
        report: RevocationReport {
            status,
            certificates: certs.iter().map(|c| c.report.clone()).collect(),
        },
        certs,
    }
}

fn not_needed(subject: String, why: &str) -> CertCheck {
    CertCheck {
        report: CertRevocation {
            subject,
            status: CertStatus::NotNeeded,
            source: RevocationSource::NotNeeded,
            revoked_at: None,
            message: Some(why.to_string()),
        },
        needs_data: false,
        embedded: Vec::new(),
    }
}

async fn check_one(
    cert: &Certificate,
    issuer: &Certificate,
    subject: String,
    at: SystemTime,
    proven: bool,
    dss: &Dss,
    online: Option<&Online>,
) -> CertCheck {
    let embedded = embedded(cert, issuer, at, dss);
    let result =
        |status, source, revoked_at: Option<SystemTime>, message: Option<String>| CertRevocation {
            subject: subject.clone(),
            status,
            source,
            revoked_at: revoked_at.map(describe::rfc3339),
            message,
        };
    let revoked_status = |when: SystemTime| {
        if proven && when > at {
            CertStatus::RevokedAfterSigning
        } else {
            CertStatus::Revoked
        }
    };
    let report = if let Some((when, source)) = embedded.revoked {
        result(revoked_status(when), source, Some(when), None)
    } else {
        // Without a timestamp the signing time is unproven: a revocation at any time counts,
        // so ask the responder even when the DSS says "good" as of some earlier moment.
        let ask = match (&embedded.good_source, online) {
            (Some(_), Some(online)) if !proven => Some(online),
            (None, Some(online)) => Some(online),
            _ => None,
        };
        let asked = match ask {
            Some(online) => Some(ask_online(cert, issuer, online).await),
            None => None,
        };
        match (asked, embedded.good_source) {
            (Some(Ok((Some(when), source))), _) => {
                result(revoked_status(when), source, Some(when), None)
            }
            (Some(Ok((None, source))), _) => result(CertStatus::Good, source, None, None),
            (_, Some(source)) => result(CertStatus::Good, source, None, None),
            (Some(Err(e)), None) => {
                let mut problems = embedded.problems.clone();
                problems.push(e);
                result(
                    CertStatus::Unknown,
                    RevocationSource::None,
                    None,
                    Some(problems.join("; ")),
                )
            }
            (None, None) => {
                let mut message = String::from("no revocation information is embedded");
                if online.is_none() {
                    message.push_str(" (offline: not asked online)");
                }
                if !embedded.problems.is_empty() {
                    message = format!("{message}; {}", embedded.problems.join("; "));
                }
                result(
                    CertStatus::Unknown,
                    RevocationSource::None,
                    None,
                    Some(message),
                )
            }
        }
    };
    CertCheck {
        report,
        needs_data: true,
        embedded: embedded.good,
    }
}

/// Checks every embedded OCSP response and CRL about `cert`, each as of the later of `at` and
/// its own issue time: a response made after the signature (the usual B-LT case) is checked
/// when it was made, one made before must still have been current at `at`.
fn embedded(cert: &Certificate, issuer: &Certificate, at: SystemTime, dss: &Dss) -> Embedded {
    let mut found = Embedded::default();
    for der in &dss.ocsps {
        let Some(this_update) = ocsp_this_update(der, cert) else {
            continue;
        };
        match inkan_pki::ocsp::check_response(der, cert, issuer, None, at.max(this_update)) {
            Ok(answer) => match answer.status {
                inkan_pki::RevocationStatus::Good => {
                    found.good.push(der.clone());
                    found
                        .good_source
                        .get_or_insert(RevocationSource::EmbeddedOcsp);
                }
                inkan_pki::RevocationStatus::Revoked { at: when, .. } => {
                    found.revoked = Some((when, RevocationSource::EmbeddedOcsp));
                }
                inkan_pki::RevocationStatus::Unknown => {
                    found
                        .problems
                        .push("an embedded OCSP response says \"unknown\"".into());
                }
            },
            Err(e) => found.problems.push(format!("embedded {e}")),
        }
    }
    for der in &dss.crls {
        let Ok(crl) = CertificateList::from_der(der) else {
            continue;
        };
        if crl.tbs_cert_list.issuer != issuer.tbs_certificate.subject {
            continue;
        }
        let this_update = crl.tbs_cert_list.this_update.to_system_time();
        match inkan_pki::crl::check_crl(der, cert, issuer, at.max(this_update)) {
            Ok(inkan_pki::RevocationStatus::Revoked { at: when, .. }) => {
                found.revoked = Some((when, RevocationSource::EmbeddedCrl));
            }
            Ok(_) => {
                found.good.push(der.clone());
                found
                    .good_source
                    .get_or_insert(RevocationSource::EmbeddedCrl);
            }
            Err(e) => found.problems.push(format!("embedded CRL: {e}")),
        }
    }
    found
}

/// The thisUpdate of the response's answer about `cert`, if it has one (a cheap filter before
/// checking signatures).
fn ocsp_this_update(der: &[u8], cert: &Certificate) -> Option<SystemTime> {
    let response = OcspResponse::from_der(der).ok()?;
    let basic = BasicOcspResponse::from_der(response.response_bytes?.response.as_bytes()).ok()?;
    basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| r.cert_id.serial_number == cert.tbs_certificate.serial_number)
        .map(|r| r.this_update.0.to_system_time())
}

/// OCSP when the certificate names a responder, else (or when it fails) the CRL. `Ok(Some(t))`
/// is "revoked at t", `Ok(None)` is "good".
async fn ask_online(
    cert: &Certificate,
    issuer: &Certificate,
    online: &Online,
) -> Result<(Option<SystemTime>, RevocationSource), String> {
    let mut errors = Vec::new();
    let has_ocsp = !inkan_pki::x509::aia_urls(cert, const_oid::db::rfc5280::ID_AD_OCSP).is_empty();
    if has_ocsp {
        match inkan_pki::ocsp::query(&online.http, cert, issuer, None, online.timeout).await {
            Ok(answer) => match answer.status {
                inkan_pki::RevocationStatus::Good => {
                    return Ok((None, RevocationSource::OnlineOcsp))
                }
                inkan_pki::RevocationStatus::Revoked { at, .. } => {
                    return Ok((Some(at), RevocationSource::OnlineOcsp))
                }
                inkan_pki::RevocationStatus::Unknown => {
                    errors.push("the OCSP responder says \"unknown\"".to_string())
                }
            },
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !inkan_pki::x509::crl_urls(cert).is_empty() {
        match inkan_pki::crl::fetch_and_check(&online.http, cert, issuer, online.timeout).await {
            Ok((inkan_pki::RevocationStatus::Revoked { at, .. }, _)) => {
                return Ok((Some(at), RevocationSource::OnlineCrl))
            }
            Ok((inkan_pki::RevocationStatus::Good, _)) => {
                return Ok((None, RevocationSource::OnlineCrl))
            }
            Ok((inkan_pki::RevocationStatus::Unknown, _)) => {
                errors.push("the CRL says \"unknown\"".to_string())
            }
            Err(e) => errors.push(format!("CRL: {e}")),
        }
    }
    if errors.is_empty() {
        errors.push("the certificate names no OCSP responder and no CRL".into());
    }
    Err(errors.join("; "))
}

fn has_ocsp_nocheck(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .any(|e| e.extn_id == inkan_pki::x509::ID_PKIX_OCSP_NOCHECK)
}
