//! The human-readable report: Japanese and English side by side, one fact per line.

use std::fmt::Write as _;

use super::report::{
    CertStatus, ChangeKind, Report, RevocationReport, RevocationSource, RevocationStatus,
    SignatureKind, SignatureReport, TrustStatus,
};

fn verdict(valid: bool) -> &'static str {
    if valid {
        "有効 / VALID"
    } else {
        "無効 / INVALID"
    }
}

fn ok(ok: bool) -> &'static str {
    if ok {
        "OK"
    } else {
        "NG / FAILED"
    }
}

/// Renders `report` as text (ending with a newline).
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ファイル / File: {} ({} 版 / revisions)",
        report.file, report.revisions
    );
    if let Some(id) = &report.conclusion_id {
        let _ = writeln!(out, "締結証明書ID / Conclusion ID: {id}");
    }
    if report.signatures.is_empty() {
        let _ = writeln!(
            out,
            "署名がありません / This file has no signatures: 無効 / NOT VALID"
        );
        return out;
    }
    let (mut signatures, mut timestamps) = (0, 0);
    for sig in &report.signatures {
        let _ = writeln!(out);
        match sig.kind {
            SignatureKind::Signature => {
                signatures += 1;
                let _ = writeln!(
                    out,
                    "署名 {signatures} / Signature {signatures}: {}",
                    verdict(sig.valid)
                );
            }
            SignatureKind::DocumentTimestamp => {
                timestamps += 1;
                let _ = writeln!(
                    out,
                    "文書タイムスタンプ {timestamps} / Document timestamp {timestamps}: {}",
                    verdict(sig.valid)
                );
            }
        }
        signature(&mut out, sig);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "総合判定 / Overall: {} ({} 署名, {} 文書タイムスタンプ / {signatures} signature(s), {timestamps} document timestamp(s))",
        verdict(report.valid),
        signatures,
        timestamps
    );
    out
}

fn signature(out: &mut String, sig: &SignatureReport) {
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "  {label}: {value}");
    };
    line("フィールド / Field", &sig.field);
    let who = if sig.kind == SignatureKind::Signature {
        "署名者 / Signer"
    } else {
        "TSA"
    };
    match &sig.signer {
        Some(cert) => line(
            who,
            &format!(
                "{} ({}){}",
                cert.common_name.as_deref().unwrap_or(&cert.subject),
                cert.subject,
                cert.email
                    .as_ref()
                    .map(|e| format!(" <{e}>"))
                    .unwrap_or_default()
            ),
        ),
        None => line(who, "不明 / unknown"),
    }
    let coverage = match (
        sig.integrity.covered_revision,
        sig.integrity.covers_whole_file,
    ) {
        (Some(_), true) => " — ファイル全体 / covers the whole file".to_string(),
        (Some(r), false) => format!(" — 版 {r} まで / covers revision {r}; later updates follow"),
        _ => String::new(),
    };
    line(
        "改ざん検知 / Integrity",
        &format!(
            "{} ({}){coverage}",
            ok(sig.integrity.ok),
            sig.integrity.message
        ),
    );
    line(
        "署名検証 / Signature",
        &format!("{} ({})", ok(sig.signature.ok), sig.signature.message),
    );
    let trust = match sig.trust.status {
        TrustStatus::Trusted => "信頼済み / trusted",
        TrustStatus::NotTrusted => "信頼されていません / not trusted",
        TrustStatus::Invalid => "無効な証明書パス / invalid certificate path",
        TrustStatus::NotChecked => "未確認 / not checked",
    };
    let chain = if sig.trust.chain.is_empty() {
        String::new()
    } else {
        format!(" [{}]", sig.trust.chain.join(" → "))
    };
    line(
        "証明書パス / Trust",
        &format!("{trust}{chain} — {}", sig.trust.message),
    );
    line("失効確認 / Revocation", &revocation(&sig.revocation));
    if sig.kind == SignatureKind::Signature {
        match &sig.timestamp {
            Some(ts) => line(
                "タイムスタンプ / Timestamp",
                &format!(
                    "{} — {} ({})",
                    ts.time.as_deref().unwrap_or("?"),
                    ok(ts.ok),
                    ts.message
                ),
            ),
            None => line("タイムスタンプ / Timestamp", "なし / none"),
        }
        if let Some(m) = &sig.claimed_signing_time {
            line("署名時刻(申告) / Claimed signing time", m);
        }
    } else if let Some(ts) = &sig.timestamp {
        line(
            "時刻 / Time",
            &format!("{} — {}", ts.time.as_deref().unwrap_or("?"), ok(ts.ok)),
        );
    }
    for (label, value) in [
        ("理由 / Reason", &sig.reason),
        ("場所 / Location", &sig.location),
        ("名前 / Name", &sig.name),
        ("連絡先 / Contact", &sig.contact_info),
    ] {
        if let Some(v) = value {
            line(label, v);
        }
    }
    if let Some(c) = &sig.certification {
        line(
            "認証署名 / Certification",
            &format!("P={} ({})", c.permission, c.description),
        );
    }
    if sig.kind == SignatureKind::Signature {
        let none = if !(sig.integrity.ok && sig.signature.ok) {
            "なし / none (the signature did not verify)".to_string()
        } else {
            format!(
                "なし / none (not a PAdES signature: {})",
                sig.sub_filter.as_deref().unwrap_or("no /SubFilter")
            )
        };
        line("レベル / Level", sig.level.as_deref().unwrap_or(&none));
    }
    line(
        "長期検証 / LTV",
        if sig.ltv {
            "有効 / enabled"
        } else {
            "無効 / not enabled"
        },
    );
    let m = &sig.modifications;
    let verdict = if m.kind == ChangeKind::Nothing {
        "なし / none".to_string()
    } else if m.allowed {
        format!("{} — 許可 / allowed", m.kind.describe())
    } else {
        format!("{} — 不許可 / NOT allowed", m.kind.describe())
    };
    line("以降の変更 / Later changes", &verdict);
    for r in m.revisions.iter().filter(|r| r.kind > ChangeKind::Nothing) {
        let _ = writeln!(
            out,
            "    版 / revision {}: {}{}",
            r.revision,
            r.kind.describe(),
            if r.details.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.details.join("; "))
            }
        );
    }
    for e in &sig.errors {
        let _ = writeln!(out, "  エラー / Error: {e}");
    }
    for w in &sig.warnings {
        let _ = writeln!(out, "  警告 / Warning: {w}");
    }
}

fn revocation(report: &RevocationReport) -> String {
    let status = match report.status {
        RevocationStatus::Good => "OK (失効していません / not revoked)",
        RevocationStatus::Unknown => "不明 / unknown",
        RevocationStatus::Revoked => "失効 / REVOKED",
        RevocationStatus::NotChecked => "未確認 / not checked",
    };
    let certs: Vec<String> = report
        .certificates
        .iter()
        .filter(|c| c.status != CertStatus::NotNeeded)
        .map(|c| {
            let state = match c.status {
                CertStatus::Good => "good",
                CertStatus::Revoked => "REVOKED",
                CertStatus::RevokedAfterSigning => "revoked after signing",
                CertStatus::Unknown => "unknown",
                CertStatus::NotNeeded => "not needed",
            };
            let source = match c.source {
                RevocationSource::EmbeddedOcsp => "embedded OCSP",
                RevocationSource::EmbeddedCrl => "embedded CRL",
                RevocationSource::OnlineOcsp => "online OCSP",
                RevocationSource::OnlineCrl => "online CRL",
                RevocationSource::NotNeeded | RevocationSource::None => "no data",
            };
            format!("{}: {state}, {source}", c.subject)
        })
        .collect();
    if certs.is_empty() {
        status.to_string()
    } else {
        format!("{status} [{}]", certs.join("; "))
    }
}
