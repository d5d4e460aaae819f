//! Certificate revocation lists: issuing them (the CA side) and checking a certificate against
//! one (the relying-party side).

use const_oid::db::rfc5280;
use der::asn1::{BitString, Uint};
use der::{Decode, Encode};
use std::time::{Duration, SystemTime};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{CrlNumber, CrlReason};
use x509_cert::serial_number::SerialNumber;
use x509_cert::{Certificate, Version};

use crate::revocation::{reason_from_crl, RevocationStatus};
use crate::x509::{self, extension};
use crate::{CaRole, Pki, PkiError};

/// How long a CRL is valid: relying parties fetch a new one after this.
const CRL_VALIDITY: Duration = Duration::from_secs(7 * 86_400);

/// Issues a fresh CRL for `ca` listing every revocation recorded so far (DER).
///
/// Made on request rather than kept for days: a fresh `thisUpdate` is what long-term validation
/// wants when the CRL is embedded right after a signature (see [`CrlCache`]).
pub fn issue_crl(pki: &Pki, ca: CaRole) -> Result<Vec<u8>, PkiError> {
    issue_shared_crl(pki, ca, None)
}

/// [`issue_crl`], listing the revocations other nodes recorded in `shared` too.
pub fn issue_shared_crl(
    pki: &Pki,
    ca: CaRole,
    shared: Option<&dyn crate::shared::SharedRecords>,
) -> Result<Vec<u8>, PkiError> {
    sign_crl(
        pki,
        ca,
        SystemTime::now(),
        &pki.shared_revocations(ca, shared)?,
    )
}

/// The CRLs an endpoint serves: fresh on every request, yet signed at most once per second for
/// the same revocations. CRL times are whole seconds, so a CRL signed again within the same
/// second over the same entries would say exactly what the last one says — only at the cost of
/// an RSA-3072 signature, which was the largest share of sealing an envelope when every
/// B-LTA signature asked for its own.
#[derive(Default)]
pub struct CrlCache {
    last: std::sync::Mutex<Vec<(CaRole, SignedCrl)>>,
}

struct SignedCrl {
    second: u64,
    revoked: Vec<(String, crate::Revocation)>,
    der: Vec<u8>,
}

impl CrlCache {
    /// [`issue_shared_crl`], unless this second's CRL over the same revocations is signed.
    pub fn issue(
        &self,
        pki: &Pki,
        ca: CaRole,
        shared: Option<&dyn crate::shared::SharedRecords>,
    ) -> Result<Vec<u8>, PkiError> {
        let now = SystemTime::now();
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let revoked = pki.shared_revocations(ca, shared)?;
        let fresh = |(role, crl): &(CaRole, SignedCrl)| {
            *role == ca && crl.second == second && crl.revoked == revoked
        };
        if let Some((_, crl)) = self.lock().iter().find(|entry| fresh(entry)) {
            return Ok(crl.der.clone());
        }
        // Signed without the lock held: two requests in the same instant may both sign.
        let der = sign_crl(pki, ca, now, &revoked)?;
        let mut last = self.lock();
        last.retain(|(role, _)| *role != ca);
        last.push((
            ca,
            SignedCrl {
                second,
                revoked,
                der: der.clone(),
            },
        ));
        Ok(der)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(CaRole, SignedCrl)>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A CRL of `ca` at `now` listing `revocations`.
fn sign_crl(
    pki: &Pki,
    ca: CaRole,
    now: SystemTime,
    revocations: &[(String, crate::Revocation)],
) -> Result<Vec<u8>, PkiError> {
    let key = pki.ca_key(ca)?;
    let issuer = pki.ca_certificate(ca);
    let mut revoked = Vec::new();
    for (serial, revocation) in revocations {
        let serial_bytes = hex::decode(serial)
            .map_err(|_| PkiError::Invalid(format!("bad serial file name {serial}")))?;
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(revocation.revoked_at);
        revoked.push(RevokedCert {
            serial_number: SerialNumber::new(&serial_bytes)?,
            revocation_date: x509::x509_time(at)?,
            crl_entry_extensions: Some(vec![extension(
                rfc5280::ID_CE_CRL_REASONS,
                false,
                &revocation.reason.to_crl_reason(),
            )?]),
        });
    }
    let crl_number = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let signature = key.algorithm().identifier();
    let tbs = TbsCertList {
        version: Version::V2,
        signature: signature.clone(),
        issuer: issuer.tbs_certificate.subject.clone(),
        this_update: x509::x509_time(now)?,
        next_update: Some(x509::x509_time(now + CRL_VALIDITY)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(vec![
            x509::authority_key_identifier(&issuer.tbs_certificate.subject_public_key_info)?,
            extension(
                rfc5280::ID_CE_CRL_NUMBER,
                false,
                &CrlNumber(Uint::new(&crl_number.to_be_bytes())?),
            )?,
        ]),
    };
    let value = key.sign(&tbs.to_der()?)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signature,
        signature: BitString::from_bytes(&value)?,
    };
    Ok(crl.to_der()?)
}

/// Checks `cert` against a CRL signed by `issuer`, valid at `at`.
pub fn check_crl(
    crl_der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    at: SystemTime,
) -> Result<RevocationStatus, PkiError> {
    let crl = CertificateList::from_der(crl_der)
        .map_err(|e| PkiError::Invalid(format!("not a CRL: {e}")))?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer != issuer.tbs_certificate.subject {
        return Err(PkiError::Invalid(
            "the CRL was issued by another CA than the certificate's".into(),
        ));
    }
    inkan_keys::verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        &crl.signature_algorithm,
        None,
        &tbs.to_der()?,
        crl.signature.raw_bytes(),
    )
    .map_err(|e| PkiError::Invalid(format!("CRL signature: {e}")))?;
    if tbs.this_update.to_system_time() > at + Duration::from_secs(300) {
        return Err(PkiError::Invalid("the CRL is dated in the future".into()));
    }
    if let Some(next) = tbs.next_update {
        if next.to_system_time() < at {
            return Err(PkiError::Invalid(
                "the CRL has expired (nextUpdate passed)".into(),
            ));
        }
    }
    let serial = &cert.tbs_certificate.serial_number;
    let entry = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .find(|r| &r.serial_number == serial);
    Ok(match entry {
        None => RevocationStatus::Good,
        Some(entry) => {
            let reason = entry
                .crl_entry_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == rfc5280::ID_CE_CRL_REASONS)
                .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok())
                .and_then(reason_from_crl);
            RevocationStatus::Revoked {
                at: entry.revocation_date.to_system_time(),
                reason,
            }
        }
    })
}

/// Fetches the CRL named in `cert`'s CRL distribution points and checks `cert` against it.
/// Returns the status and the CRL's DER (for embedding in a DSS).
pub async fn fetch_and_check(
    client: &crate::http::Client,
    cert: &Certificate,
    issuer: &Certificate,
    timeout: Duration,
) -> Result<(RevocationStatus, Vec<u8>), PkiError> {
    let urls = x509::crl_urls(cert);
    if urls.is_empty() {
        return Err(PkiError::Invalid(
            "the certificate names no CRL distribution point".into(),
        ));
    }
    let mut last_error = None;
    for url in urls {
        match crate::http::get(client, &url, timeout).await {
            Ok(der) => {
                let status = check_crl(&der, cert, issuer, SystemTime::now())?;
                return Ok((status, der));
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(PkiError::Invalid(format!(
        "no CRL could be fetched: {}",
        last_error.map(|e| e.to_string()).unwrap_or_default()
    )))
}
