//! The certificate path from a signer (or TSA) to the trust anchors. When it does not reach an
//! anchor but does reach a self-signed root the file carries, that path is still returned (so
//! revocation can be reported) and the verdict is "not trusted".

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use x509_cert::Certificate;

use super::describe;
use super::report::{TrustReport, TrustStatus};

/// A verdict and the path it was reached with (empty when none could be built).
pub(crate) struct PathResult {
    pub report: TrustReport,
    pub path: Vec<Certificate>,
}

impl PathResult {
    pub(crate) fn trusted(&self) -> bool {
        self.report.status == TrustStatus::Trusted
    }

    pub(crate) fn not_checked(message: &str) -> Self {
        PathResult {
            report: TrustReport {
                status: TrustStatus::NotChecked,
                message: message.into(),
                chain: Vec::new(),
                validated_at: None,
            },
            path: Vec::new(),
        }
    }
}

/// Validates `leaf`'s path through `pool` to `anchors` at `at`.
pub(crate) fn validate(
    leaf: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
    eku: Option<ObjectIdentifier>,
) -> PathResult {
    let report = |status, message: String, path: &[Certificate]| TrustReport {
        status,
        message,
        chain: path.iter().map(describe::short).collect(),
        validated_at: Some(describe::rfc3339(at)),
    };
    let error = if anchors.is_empty() {
        None
    } else {
        match inkan_cms::path::validate(leaf, pool, anchors, at, eku) {
            Ok(path) => {
                let root = path.last().map(describe::short).unwrap_or_default();
                return PathResult {
                    report: report(
                        TrustStatus::Trusted,
                        format!("the chain ends in the trust anchor \"{root}\""),
                        &path,
                    ),
                    path,
                };
            }
            Err(e) => Some(e),
        }
    };
    // Would it chain to a root the file itself carries? Then the path is sound but not trusted.
    let roots: Vec<Certificate> = pool
        .iter()
        .chain(std::iter::once(leaf))
        .filter(|c| c.tbs_certificate.subject == c.tbs_certificate.issuer)
        .cloned()
        .collect();
    let provisional = if roots.is_empty() {
        None
    } else {
        inkan_cms::path::validate(leaf, pool, &roots, at, eku).ok()
    };
    match (provisional, error) {
        (Some(path), _) => {
            let root = path.last().map(describe::short).unwrap_or_default();
            let hint = if anchors.is_empty() {
                " (no trust anchor was given: use --trust ROOT.pem)"
            } else {
                ""
            };
            PathResult {
                report: report(
                    TrustStatus::NotTrusted,
                    format!(
                        "the chain ends in the root \"{root}\", which is not a trust anchor{hint}"
                    ),
                    &path,
                ),
                path,
            }
        }
        (None, Some(e)) => PathResult {
            report: report(TrustStatus::Invalid, e.to_string(), &[]),
            path: Vec::new(),
        },
        (None, None) => PathResult {
            report: report(
                TrustStatus::NotTrusted,
                "no trust anchor was given (use --trust ROOT.pem) and the file does not carry \
                 the chain's root"
                    .into(),
                &[],
            ),
            path: Vec::new(),
        },
    }
}
