//! Checking one signature or document timestamp on its own: integrity, the CMS signature, the
//! signature timestamp, trust and revocation. What depends on the other signatures (PAdES
//! level, LTV, modifications) is added by the caller.

use inkan_cms::CmsError;
use inkan_pdf::{Object, Source};

use super::describe;
use super::integrity::{self, Coverage};
use super::report::{
    CertStatus, Certification, ChangeKind, Check, IntegrityReport, Modifications, RevocationStatus,
    SignatureKind, SignatureReport, TrustStatus,
};
use super::revocation::{self, PathCheck};
use super::signatures::{self, FoundSignature};
use super::timestamp::{self, Failure, TokenCheck};
use super::trust::{self, PathResult};
use super::Context;

/// One signature's results, with what the cross-signature checks need.
pub(crate) struct Checked {
    pub report: SignatureReport,
    pub coverage: Option<Coverage>,
    /// Integrity and the CMS signature both verified.
    pub cms_ok: bool,
    /// ETSI.CAdES.detached with the ESS signing-certificate attribute: a PAdES baseline
    /// signature.
    pub pades: bool,
    /// The signer's (for a document timestamp, the TSA's) path revocation.
    pub revocation: PathCheck,
    /// The signature timestamp, or the document timestamp's own token.
    pub token: Option<TokenCheck>,
    /// The DocMDP permission, for a certification signature.
    pub certification: Option<u8>,
}

fn base_report(found: &FoundSignature, index: usize) -> SignatureReport {
    SignatureReport {
        index,
        field: found.field.clone(),
        kind: found.kind,
        sub_filter: found.sub_filter(),
        valid: false,
        errors: Vec::new(),
        warnings: Vec::new(),
        signer: None,
        integrity: IntegrityReport {
            ok: false,
            message: String::new(),
            byte_range: found.byte_range(),
            covered_revision: None,
            covers_whole_file: false,
            digest_algorithm: None,
        },
        signature: Check::failed("not checked"),
        trust: PathResult::not_checked("not checked: the signature did not verify").report,
        revocation: super::report::RevocationReport::not_checked(),
        timestamp: None,
        level: None,
        ltv: false,
        claimed_signing_time: None,
        reason: found.text("Reason"),
        location: found.text("Location"),
        name: found.text("Name"),
        contact_info: found.text("ContactInfo"),
        certification: None,
        modifications: Modifications {
            kind: ChangeKind::Nothing,
            allowed: true,
            permitted: ChangeKind::Annotations,
            revisions: Vec::new(),
        },
    }
}

fn layout<S: Source>(
    ctx: &Context<'_, S>,
    found: &FoundSignature,
    report: &mut SignatureReport,
) -> Option<Coverage> {
    match integrity::check_layout(ctx.doc, found) {
        Ok(coverage) => {
            report.integrity.covered_revision = Some(coverage.revision);
            report.integrity.covers_whole_file = coverage.revision + 1 == ctx.doc.revisions().len();
            Some(coverage)
        }
        Err(e) => {
            report.integrity.message = e;
            None
        }
    }
}

fn contents(found: &FoundSignature) -> Vec<u8> {
    found
        .sig
        .get("Contents")
        .and_then(Object::as_string)
        .map(|s| s.bytes.clone())
        .unwrap_or_default()
}

/// A signature (`/Type /Sig`).
pub(crate) async fn signature<S: Source>(
    ctx: &Context<'_, S>,
    found: &FoundSignature,
    index: usize,
) -> Checked {
    let mut report = base_report(found, index);
    report.claimed_signing_time = found
        .text("M")
        .map(|m| describe::pdf_date_to_rfc3339(&m).unwrap_or(m));
    let certification = signatures::docmdp_permission(ctx.doc, &found.sig);
    if let Some(p) = certification {
        report.certification = Some(Certification {
            permission: p,
            description: match p {
                1 => "no changes allowed / 変更不可",
                2 => "form filling and signing allowed / フォーム入力と署名を許可",
                _ => {
                    "form filling, signing and annotations allowed / フォーム入力・署名・注釈を許可"
                }
            }
            .into(),
        });
        if found.sig_ref.is_none() || signatures::certification_ref(ctx.doc) != found.sig_ref {
            report.warnings.push(
                "the catalog's /Perms /DocMDP does not name this certification signature".into(),
            );
        }
    }
    let mut checked = Checked {
        report,
        coverage: None,
        cms_ok: false,
        pades: false,
        revocation: PathCheck::not_checked(),
        token: None,
        certification,
    };
    let report = &mut checked.report;
    let Some(coverage) = layout(ctx, found, report) else {
        return finish(checked);
    };
    checked.coverage = Some(coverage);
    let parsed = match inkan_cms::parse(&contents(found)) {
        Ok(p) => p,
        Err(e) => {
            report.integrity.message = "cannot be checked: the signature is unreadable".into();
            report.signature = Check::failed(format!("not a readable CMS signature: {e}"));
            return finish(checked);
        }
    };
    let algorithm = match parsed.digest_algorithm() {
        Ok(a) => a,
        Err(e) => {
            report.integrity.message = format!("cannot be checked: {e}");
            return finish(checked);
        }
    };
    let sub_filter = found.sub_filter();
    let embedded_sha1 = sub_filter.as_deref() == Some("adbe.pkcs7.sha1");
    let range_algorithm = if embedded_sha1 {
        inkan_keys::DigestAlgorithm::Sha1
    } else {
        algorithm
    };
    report.integrity.digest_algorithm = Some(integrity::digest_name(range_algorithm).into());
    let range_digest =
        match integrity::digest(ctx.doc, ctx.budget, &coverage.range, range_algorithm) {
            Ok(d) => d,
            Err(e) => {
                report.integrity.message = e;
                return finish(checked);
            }
        };
    const CHANGED: &str = "the signed bytes were changed: their digest differs from the one signed";
    // What the signature covers: the signed bytes' digest, or for adbe.pkcs7.sha1 the
    // encapsulated content, which must be the SHA-1 of the signed bytes.
    let digest = if embedded_sha1 {
        if parsed.encapsulated_content() != Some(range_digest.as_slice()) {
            report.integrity.message = CHANGED.into();
            report.signer = parsed.signer_certificate().map(describe::certificate);
            return finish(checked);
        }
        match parsed.encapsulated_content_digest() {
            Ok(d) => d,
            Err(e) => {
                report.integrity.message = format!("cannot be checked: {e}");
                return finish(checked);
            }
        }
    } else {
        range_digest
    };
    // Without signed attributes the signature is over the digest itself: verifying it is the
    // integrity check, and a failure cannot tell a change from a bad signature.
    let attributes = parsed.signed_attributes_der().is_some();
    if attributes {
        if parsed.message_digest() != Some(digest.as_slice()) {
            report.integrity.message = CHANGED.into();
            report.signer = parsed.signer_certificate().map(describe::certificate);
            return finish(checked);
        }
        report.integrity.ok = true;
        report.integrity.message = "the signed bytes are intact".into();
    }
    let cades = sub_filter.as_deref() == Some("ETSI.CAdES.detached");
    let signer = match inkan_cms::verify_integrity(&parsed, &digest, &ctx.dss.certs, cades) {
        Ok(cert) => cert,
        Err(e) => {
            if !attributes {
                report.integrity.message = "the signed bytes were changed, or the signature \
                     does not match them (it has no signed attributes, so the two are one check)"
                    .into();
            }
            report.signature = Check::failed(signature_error(&e));
            report.signer = parsed.signer_certificate().map(describe::certificate);
            return finish(checked);
        }
    };
    if !attributes {
        report.integrity.ok = true;
        report.integrity.message =
            "the signed bytes are intact (the signature is over their digest itself)".into();
    }
    report.signer = Some(describe::certificate(&signer));
    report.signature = Check::ok("the signature is cryptographically sound");
    checked.cms_ok = true;
    checked.pades = cades
        && parsed
            .signed_attribute_types()
            .contains(&inkan_cms::oid::ID_AA_SIGNING_CERTIFICATE_V2);

    // The signature timestamp proves when the signature existed.
    let token = match parsed.timestamp_tokens() {
        Ok(tokens) => match tokens.first() {
            Some(token) => {
                let value = parsed.signature_value().to_vec();
                Some(timestamp::check(ctx, token, |alg| Ok(alg.hash(&value))).await)
            }
            None => None,
        },
        Err(e) => {
            report.errors.push(format!("signature timestamp: {e}"));
            None
        }
    };
    let proven = token.as_ref().filter(|t| t.ok()).and_then(|t| t.time);
    let at = proven.unwrap_or(ctx.now);
    let mut pool = parsed.certificates().to_vec();
    pool.extend(ctx.dss.certs.iter().cloned());
    let path = trust::validate(&signer, &pool, ctx.anchors, at, None);
    checked.revocation =
        revocation::check_path(&path.path, at, proven.is_some(), ctx.dss, ctx.online).await;
    report.trust = path.report;
    report.revocation = checked.revocation.report.clone();
    report.timestamp = token.as_ref().map(|t| t.report.clone());
    checked.token = token;
    finish(checked)
}

fn signature_error(e: &CmsError) -> String {
    match e {
        CmsError::BadSignature(_) => format!("the signature does not verify: {e}"),
        other => other.to_string(),
    }
}

/// A document timestamp (`/Type /DocTimeStamp`).
pub(crate) async fn document_timestamp<S: Source>(
    ctx: &Context<'_, S>,
    found: &FoundSignature,
    index: usize,
) -> Checked {
    let mut checked = Checked {
        report: base_report(found, index),
        coverage: None,
        cms_ok: false,
        pades: false,
        revocation: PathCheck::not_checked(),
        token: None,
        certification: None,
    };
    let report = &mut checked.report;
    let Some(coverage) = layout(ctx, found, report) else {
        return finish(checked);
    };
    checked.coverage = Some(coverage);
    let (doc, budget) = (ctx.doc, ctx.budget);
    let token = timestamp::check(ctx, &contents(found), |alg| {
        integrity::digest(doc, budget, &coverage.range, alg)
    })
    .await;
    report.integrity.digest_algorithm = token.digest.map(|d| integrity::digest_name(d).into());
    match token.failure {
        Some(Failure::Imprint) => {
            report.integrity.message = token.report.message.clone();
        }
        Some(Failure::Token) => {
            report.integrity.ok = true;
            report.integrity.message = "cannot be checked: the token is unreadable".into();
            report.signature = Check::failed(token.report.message.clone());
        }
        None | Some(Failure::Trust) => {
            report.integrity.ok = true;
            report.integrity.message = "the timestamped bytes are intact".into();
            report.signature = Check::ok("the timestamp token is cryptographically sound");
            checked.cms_ok = true;
        }
    }
    report.signer = token.tsa.as_ref().map(describe::certificate);
    report.trust = token.report.trust.clone();
    report.revocation = token.revocation.report.clone();
    report.timestamp = Some(token.report.clone());
    checked.revocation = token.revocation.clone();
    checked.token = Some(token);
    finish(checked)
}

/// Derives errors, warnings and the verdict from the checks done so far.
fn finish(mut checked: Checked) -> Checked {
    let r = &mut checked.report;
    if !r.integrity.ok {
        r.errors
            .push(format!("integrity / 改ざん検知: {}", r.integrity.message));
    } else if !r.signature.ok {
        r.errors
            .push(format!("signature / 署名: {}", r.signature.message));
    } else {
        match r.trust.status {
            TrustStatus::Trusted => {}
            _ => r.errors.push(format!("trust / 信頼: {}", r.trust.message)),
        }
        for cert in &r.revocation.certificates {
            let when = cert.revoked_at.clone().unwrap_or_default();
            match cert.status {
                CertStatus::Revoked => r.errors.push(format!(
                    "revocation / 失効: \"{}\" was revoked ({when})",
                    cert.subject
                )),
                CertStatus::RevokedAfterSigning => r.warnings.push(format!(
                    "\"{}\" was revoked ({when}) after the time the timestamp proves: the \
                     signature stays valid",
                    cert.subject
                )),
                CertStatus::Unknown => r.warnings.push(format!(
                    "revocation unknown / 失効確認不能: \"{}\": {}",
                    cert.subject,
                    cert.message.clone().unwrap_or_default()
                )),
                _ => {}
            }
        }
        if r.kind == SignatureKind::Signature {
            if let Some(ts) = &r.timestamp {
                if !ts.ok {
                    r.errors.push(format!(
                        "signature timestamp / タイムスタンプ: {}",
                        ts.message
                    ));
                }
                for cert in &ts.revocation.certificates {
                    if cert.status == CertStatus::Unknown {
                        r.warnings.push(format!(
                            "timestamp: revocation unknown / 失効確認不能: \"{}\": {}",
                            cert.subject,
                            cert.message.clone().unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    r.valid = r.errors.is_empty()
        && r.integrity.ok
        && r.signature.ok
        && r.trust.status == TrustStatus::Trusted
        && r.revocation.status != RevocationStatus::Revoked;
    checked
}
