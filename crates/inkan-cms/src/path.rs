//! X.509 certificate path validation (the RFC 5280 §6 checks Inkan's trust model needs).
//!
//! A path is built depth-first from the end certificate through untrusted intermediates to a
//! trust anchor, trying anchors before intermediates, checking every link as it goes. Checked:
//! each link's signature, validity at the given time (trust anchors included, as OpenSSL does),
//! issuers being CAs with keyCertSign, pathLenConstraint (anchors' included), unprocessed
//! critical extensions, and optionally one extended key usage of the end certificate.
//! Not checked here: revocation (the OCSP/CRL layer's job), certificate policies and name
//! constraints (a certificate marking those critical is rejected rather than half-checked).

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::db::{rfc5280, rfc5912, rfc6960};
use const_oid::ObjectIdentifier;
use der::Encode;
use inkan_keys::verify_signature;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::Certificate;

use crate::PathError;

/// The longest path considered, end certificate and anchor included. Real PKIs use 2 to 4.
pub const MAX_PATH_LEN: usize = 8;

/// Signature checks one validation may spend. Why: a hostile pool full of certificates with
/// the same names must not make the search explode.
const MAX_SIGNATURE_CHECKS: usize = 64;

/// Extensions whose meaning is checked here or is informational, so they may be critical.
const PROCESSED: [ObjectIdentifier; 11] = [
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
    rfc5280::ID_CE_ISSUER_ALT_NAME,
    rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
    rfc5912::ID_PE_AUTHORITY_INFO_ACCESS,
    rfc6960::ID_PKIX_OCSP_NOCHECK,
    // Policies are informational for Inkan (any-policy validation): accepting a critical
    // certificatePolicies is what OpenSSL and pyHanko do by default.
    rfc5280::ID_CE_CERTIFICATE_POLICIES,
];

struct Search<'a> {
    pool: &'a [Certificate],
    anchors: &'a [Certificate],
    anchor_ders: Vec<Vec<u8>>,
    at: Duration,
    at_text: String,
    checks_left: Cell<usize>,
}

/// Builds and validates a path from `leaf` through `pool` (untrusted intermediates) to one of
/// `anchors`, valid at `at`; returns it, leaf first and anchor last (a leaf that is itself an
/// anchor gives a one-element path). With `required_eku`, the leaf's extended key usage must
/// list that purpose (anyExtendedKeyUsage does not count: a TSA or OCSP responder must be
/// explicitly delegated).
pub fn validate(
    leaf: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
    required_eku: Option<ObjectIdentifier>,
) -> Result<Vec<Certificate>, PathError> {
    if anchors.is_empty() {
        return Err(PathError::NoAnchors);
    }
    let anchor_ders = anchors.iter().map(der_of).collect::<Result<Vec<_>, _>>()?;
    check_critical_extensions(leaf)?;
    if let Some(eku) = required_eku {
        check_eku(leaf, eku)?;
    }
    let search = Search {
        pool,
        anchors,
        anchor_ders,
        at: at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO),
        at_text: fmt_time(at),
        checks_left: Cell::new(MAX_SIGNATURE_CHECKS),
    };
    let mut path = vec![(leaf.clone(), der_of(leaf)?)];
    search.extend(&mut path)?;
    Ok(path.into_iter().map(|(cert, _)| cert).collect())
}

impl Search<'_> {
    /// Completes `path` (whose last element is already linked) up to an anchor.
    fn extend(&self, path: &mut Vec<(Certificate, Vec<u8>)>) -> Result<(), PathError> {
        let Some((current, current_der)) = path.last().cloned() else {
            return Ok(());
        };
        self.check_validity(&current)?;
        if self.anchor_ders.contains(&current_der) {
            return Ok(());
        }
        if path.len() >= MAX_PATH_LEN {
            return Err(self.too_long(path));
        }
        let candidates = self.issuer_candidates(&current, path)?;
        if candidates.is_empty() {
            return Err(PathError::NoIssuer {
                subject: subject(&current),
                issuer: current.tbs_certificate.issuer.to_string(),
            });
        }
        let mut first_error = None;
        for (candidate, candidate_der) in candidates {
            let left = self.checks_left.get();
            if left == 0 {
                return Err(self.too_long(path));
            }
            self.checks_left.set(left - 1);
            let below = path.iter().skip(1).filter(|(c, _)| !self_issued(c)).count();
            let result = check_link(&current, &candidate, below).and_then(|()| {
                path.push((candidate, candidate_der));
                let extended = self.extend(path);
                if extended.is_err() {
                    path.pop();
                }
                extended
            });
            match result {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| self.too_long(path)))
    }

    /// Certificates named as `cert`'s issuer (anchors first, then intermediates matching the
    /// authority key identifier first), excluding any already on the path (no loops).
    fn issuer_candidates(
        &self,
        cert: &Certificate,
        path: &[(Certificate, Vec<u8>)],
    ) -> Result<Vec<(Certificate, Vec<u8>)>, PathError> {
        let aki = cert
            .tbs_certificate
            .get::<AuthorityKeyIdentifier>()
            .ok()
            .flatten()
            .and_then(|(_, aki)| aki.key_identifier);
        let mut out: Vec<(bool, Certificate, Vec<u8>)> = Vec::new();
        for (is_anchor, candidate) in self
            .anchors
            .iter()
            .map(|c| (true, c))
            .chain(self.pool.iter().map(|c| (false, c)))
        {
            if candidate.tbs_certificate.subject != cert.tbs_certificate.issuer {
                continue;
            }
            let der = der_of(candidate)?;
            if path.iter().any(|(_, d)| *d == der) || out.iter().any(|(_, _, d)| *d == der) {
                continue;
            }
            let ski = candidate
                .tbs_certificate
                .get::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .map(|(_, ski)| ski.0);
            let key_match = matches!((&aki, &ski), (Some(a), Some(s)) if a == s);
            let key_mismatch = matches!((&aki, &ski), (Some(a), Some(s)) if a != s);
            if key_mismatch {
                // Same name, different key (a renewed CA): it cannot have signed this one.
                continue;
            }
            out.push((is_anchor || key_match, candidate.clone(), der));
        }
        // Stable sort: preferred (anchors, key-identifier matches) first, pool order otherwise.
        out.sort_by_key(|(preferred, _, _)| !*preferred);
        Ok(out.into_iter().map(|(_, c, d)| (c, d)).collect())
    }

    fn check_validity(&self, cert: &Certificate) -> Result<(), PathError> {
        let validity = &cert.tbs_certificate.validity;
        if self.at < validity.not_before.to_unix_duration() {
            return Err(PathError::NotYetValid {
                subject: subject(cert),
                not_before: validity.not_before.to_string(),
                at: self.at_text.clone(),
            });
        }
        if self.at > validity.not_after.to_unix_duration() {
            return Err(PathError::Expired {
                subject: subject(cert),
                not_after: validity.not_after.to_string(),
                at: self.at_text.clone(),
            });
        }
        Ok(())
    }

    fn too_long(&self, path: &[(Certificate, Vec<u8>)]) -> PathError {
        PathError::TooLong {
            subject: path.first().map(|(c, _)| subject(c)).unwrap_or_default(),
            max: MAX_PATH_LEN,
        }
    }
}

/// Checks that `issuer` may have issued `cert` and did: CA, keyCertSign, path length, signature.
/// `below` is the number of intermediate (non-self-issued) CA certificates under `issuer`.
fn check_link(cert: &Certificate, issuer: &Certificate, below: usize) -> Result<(), PathError> {
    check_critical_extensions(issuer)?;
    let issuer_tbs = &issuer.tbs_certificate;
    let basic = issuer_tbs
        .get::<BasicConstraints>()
        .map_err(|e| malformed(issuer, "basicConstraints", e))?;
    match basic {
        Some((_, bc)) if bc.ca => {
            if let Some(allowed) = bc.path_len_constraint {
                if below > usize::from(allowed) {
                    return Err(PathError::PathLength {
                        subject: subject(issuer),
                        allowed,
                        found: below,
                    });
                }
            }
        }
        // Version 1 certificates have no extensions at all; old self-signed roots are like that.
        None if issuer_tbs.version == Version::V1 => {}
        _ => {
            return Err(PathError::NotCa {
                subject: subject(issuer),
            })
        }
    }
    let key_usage = issuer_tbs
        .get::<KeyUsage>()
        .map_err(|e| malformed(issuer, "keyUsage", e))?;
    if let Some((_, ku)) = key_usage {
        if !ku.0.contains(KeyUsages::KeyCertSign) {
            return Err(PathError::NoKeyCertSign {
                subject: subject(issuer),
            });
        }
    }
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(PathError::Malformed {
            subject: subject(cert),
            reason: "the signature algorithm inside and outside the signed part differ".into(),
        });
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| malformed(cert, "tbsCertificate", e))?;
    verify_signature(
        &issuer_tbs.subject_public_key_info,
        &cert.signature_algorithm,
        None,
        &tbs,
        cert.signature.raw_bytes(),
    )
    .map_err(|e| PathError::BadSignature {
        subject: subject(cert),
        issuer: subject(issuer),
        reason: e.to_string(),
    })
}

fn check_critical_extensions(cert: &Certificate) -> Result<(), PathError> {
    let extensions = cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]);
    match extensions
        .iter()
        .find(|e| e.critical && !PROCESSED.contains(&e.extn_id))
    {
        Some(ext) => Err(PathError::UnsupportedCriticalExtension {
            subject: subject(cert),
            oid: ext.extn_id,
        }),
        None => Ok(()),
    }
}

fn check_eku(cert: &Certificate, eku: ObjectIdentifier) -> Result<(), PathError> {
    let found = cert
        .tbs_certificate
        .get::<ExtendedKeyUsage>()
        .map_err(|e| malformed(cert, "extendedKeyUsage", e))?;
    match found {
        Some((_, list)) if list.0.contains(&eku) => Ok(()),
        _ => Err(PathError::MissingEku {
            subject: subject(cert),
            eku,
        }),
    }
}

fn self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate.subject == cert.tbs_certificate.issuer
}

fn der_of(cert: &Certificate) -> Result<Vec<u8>, PathError> {
    cert.to_der().map_err(|e| malformed(cert, "encoding", e))
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn malformed(cert: &Certificate, what: &str, err: impl std::fmt::Display) -> PathError {
    PathError::Malformed {
        subject: subject(cert),
        reason: format!("{what}: {err}"),
    }
}

fn fmt_time(at: SystemTime) -> String {
    der::DateTime::from_system_time(at)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{at:?}"))
}
