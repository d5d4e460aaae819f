//! What a relying party learns about a certificate from OCSP or a CRL.

use std::time::SystemTime;

use crate::RevocationReason;

/// A certificate's revocation status as an OCSP response or a CRL states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    Good,
    Revoked {
        at: SystemTime,
        reason: Option<RevocationReason>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

impl RevocationStatus {
    pub fn is_good(&self) -> bool {
        matches!(self, RevocationStatus::Good)
    }
}

pub(crate) fn reason_from_crl(reason: x509_cert::ext::pkix::CrlReason) -> Option<RevocationReason> {
    RevocationReason::ALL
        .into_iter()
        .find(|r| r.to_crl_reason() == reason)
}
