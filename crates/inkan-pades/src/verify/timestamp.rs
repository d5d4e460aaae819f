//! RFC 3161 timestamp tokens: a signature timestamp (over the SignerInfo's signature value) or a
//! document timestamp (over the ByteRange). The token's signature, its imprint, the TSA's path
//! to the anchors at genTime (with id-kp-timeStamping) and the TSA chain's revocation.

use std::time::SystemTime;

use der::Decode;
use inkan_keys::DigestAlgorithm;
use inkan_pki::tsa::TstInfo;
use x509_cert::Certificate;

use super::describe;
use super::report::{RevocationStatus, TimestampReport};
use super::revocation::{self, PathCheck};
use super::trust;
use super::Context;

/// Why a token failed, so a document timestamp can report "integrity" apart from "signature".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The imprint is not over the data.
    Imprint,
    /// The token is unreadable or its signature does not verify.
    Token,
    /// The token verifies but the TSA is not trusted or is revoked.
    Trust,
}

/// A checked token.
pub(crate) struct TokenCheck {
    pub report: TimestampReport,
    /// genTime, when the token itself verified (trusted or not).
    pub time: Option<SystemTime>,
    pub tsa: Option<Certificate>,
    pub revocation: PathCheck,
    pub failure: Option<Failure>,
    pub digest: Option<DigestAlgorithm>,
}

impl TokenCheck {
    pub(crate) fn ok(&self) -> bool {
        self.failure.is_none()
    }

    fn failed(failure: Failure, message: String) -> Self {
        TokenCheck {
            report: TimestampReport {
                ok: false,
                message,
                time: None,
                tsa: None,
                trust: trust::PathResult::not_checked("the token did not verify").report,
                revocation: super::report::RevocationReport::not_checked(),
            },
            time: None,
            tsa: None,
            revocation: PathCheck::not_checked(),
            failure: Some(failure),
            digest: None,
        }
    }
}

/// Checks `token`, whose imprint must be `imprint(algorithm)` for the algorithm it names.
pub(crate) async fn check<S: inkan_pdf::Source>(
    ctx: &Context<'_, S>,
    token: &[u8],
    imprint: impl FnOnce(DigestAlgorithm) -> Result<Vec<u8>, String>,
) -> TokenCheck {
    let parsed = match inkan_cms::parse(token) {
        Ok(p) => p,
        Err(e) => return TokenCheck::failed(Failure::Token, format!("unreadable token: {e}")),
    };
    let info = match parsed.encapsulated_content().map(TstInfo::from_der) {
        Some(Ok(info)) => info,
        Some(Err(e)) => return TokenCheck::failed(Failure::Token, format!("TSTInfo: {e}")),
        None => return TokenCheck::failed(Failure::Token, "the token has no TSTInfo".into()),
    };
    let Some(algorithm) = DigestAlgorithm::from_oid(&info.message_imprint.hash_algorithm.oid)
    else {
        return TokenCheck::failed(
            Failure::Token,
            format!(
                "unsupported imprint algorithm {}",
                info.message_imprint.hash_algorithm.oid
            ),
        );
    };
    let expected = match imprint(algorithm) {
        Ok(d) => d,
        Err(e) => return TokenCheck::failed(Failure::Imprint, e),
    };
    if info.message_imprint.hashed_message.as_bytes() != expected.as_slice() {
        return TokenCheck::failed(
            Failure::Imprint,
            "the timestamp is not over this data (its message imprint differs)".into(),
        );
    }
    let checked = match inkan_pki::tsa::check_token(token, algorithm, &expected) {
        Ok(c) => c,
        Err(e) => return TokenCheck::failed(Failure::Token, e),
    };
    let Some(tsa) = checked.signer else {
        return TokenCheck::failed(Failure::Token, "the token names no TSA certificate".into());
    };
    let mut pool = parsed.certificates().to_vec();
    pool.extend(ctx.dss.certs.iter().cloned());
    let path = trust::validate(
        &tsa,
        &pool,
        ctx.anchors,
        checked.time,
        Some(inkan_cms::oid::ID_KP_TIME_STAMPING),
    );
    // The TSA's certificate must not have been revoked before it stamped.
    let revocation =
        revocation::check_path(&path.path, checked.time, true, ctx.dss, ctx.online).await;
    let revoked = revocation.report.status == RevocationStatus::Revoked;
    let (failure, message) = if !path.trusted() {
        (
            Some(Failure::Trust),
            format!("the TSA is not trusted: {}", path.report.message),
        )
    } else if revoked {
        (
            Some(Failure::Trust),
            "the TSA's certificate was revoked before it stamped".to_string(),
        )
    } else {
        (
            None,
            "the token verifies and its TSA is trusted".to_string(),
        )
    };
    TokenCheck {
        report: TimestampReport {
            ok: failure.is_none(),
            message,
            time: Some(describe::rfc3339(checked.time)),
            tsa: Some(describe::certificate(&tsa)),
            trust: path.report,
            revocation: revocation.report.clone(),
        },
        time: Some(checked.time),
        tsa: Some(tsa),
        revocation,
        failure,
        digest: Some(algorithm),
    }
}
