//! Verification anyone can use: upload a signed PDF, learn whether its signatures and
//! timestamps hold, who signed and when, whether it changed since, its LTV status, and whether
//! the 締結証明書ID it shows is that of an envelope concluded here.
//!
//! The upload is written to a private temporary file only for the verifier to read, and deleted
//! when the check ends: nothing of it is kept. The check is offline (what the file embeds, its
//! DSS): a public endpoint that fetched the OCSP and CRL addresses named inside uploaded files
//! would let anyone make the server call any address.

use std::time::Duration;

use inkan_domain::ConclusionId;
use inkan_pades::verify::Report;
use inkan_pades::VerifyOptions;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::japan::format_slash_jst;
use crate::{Inkan, Result, ServiceError};

/// Largest PDF the public verifier reads.
pub const MAX_VERIFY_BYTES: usize = 50 * 1024 * 1024;

/// What a verification found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The uploaded file's name, as given.
    pub file_name: String,
    pub size: u64,
    /// Hex SHA-256 of the uploaded bytes.
    pub sha256: String,
    /// Every signature and document timestamp (the `inkan verify --json` report).
    pub report: Report,
    pub conclusion: ConclusionCheck,
}

/// The 締結証明書ID the document shows, checked against the envelopes concluded here.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConclusionCheck {
    pub id: Option<String>,
    /// True when `id` is that of an envelope concluded here: 「締結証明書ID と一致します」.
    pub matches: bool,
    /// 文書名 of the matching envelope.
    pub title: Option<String>,
    /// Who sent it (送り主).
    pub sender: Option<String>,
    /// When it was concluded, `2026/11/30 13:05:09 (JST)`.
    pub concluded_at: Option<String>,
    /// The stored final document (or the certificate) this file is, byte for byte.
    pub identical_to: Option<String>,
}

impl Verification {
    /// Every signature valid, and the document shows an ID concluded here.
    pub fn summary_ja(&self) -> &'static str {
        match (self.report.signatures.is_empty(), self.report.valid) {
            (true, _) => "この PDF には電子署名がありません。",
            (false, true) => "署名済みであり、すべての署名が有効です。",
            (false, false) => {
                "無効な署名があります。文書が署名後に改ざんされたか、署名を検証できません。"
            }
        }
    }

    pub fn summary_en(&self) -> &'static str {
        match (self.report.signatures.is_empty(), self.report.valid) {
            (true, _) => "This PDF has no electronic signature.",
            (false, true) => "Signed, and every signature is valid.",
            (false, false) => "A signature is not valid: the document was changed after signing, or a signature cannot be verified.",
        }
    }
}

impl Inkan {
    /// Verifies an uploaded PDF against this installation's root, offline, without keeping it.
    pub async fn verify_upload(&self, file_name: &str, bytes: &[u8]) -> Result<Verification> {
        if bytes.is_empty() {
            return Err(ServiceError::Invalid(
                "choose a PDF file to verify (the upload is empty)".into(),
            ));
        }
        if bytes.len() > MAX_VERIFY_BYTES {
            return Err(ServiceError::Invalid(format!(
                "the PDF is {} MB; the verifier reads at most {} MB",
                bytes.len() / (1024 * 1024),
                MAX_VERIFY_BYTES / (1024 * 1024)
            )));
        }
        // PDF readers accept a header within the first KB; so does the verifier.
        if !bytes[..bytes.len().min(1024)]
            .windows(5)
            .any(|w| w == b"%PDF-")
        {
            return Err(ServiceError::Invalid(
                "this is not a PDF file (it does not start with %PDF-)".into(),
            ));
        }
        let scratch = self.engine.scratch();
        let file = tempfile::Builder::new()
            .prefix("verify-")
            .suffix(".pdf")
            .tempfile_in(scratch)
            .map_err(ServiceError::internal)?;
        std::fs::write(file.path(), bytes).map_err(ServiceError::internal)?;
        let options = VerifyOptions {
            anchors: vec![self.engine.root().clone()],
            offline: true,
            timeout: Duration::from_secs(10),
            now: None,
        };
        let mut report = inkan_pades::verify_pdf(file.path(), &options)
            .await
            .map_err(|e| ServiceError::Invalid(format!("the file cannot be verified: {e}")))?;
        drop(file); // deleted now: uploads are not kept
        report.file = file_name.to_string();
        let sha256 = hex::encode(Sha256::digest(bytes));
        let conclusion = self
            .conclusion_check(report.conclusion_id.as_deref(), &sha256)
            .await?;
        Ok(Verification {
            file_name: file_name.to_string(),
            size: bytes.len() as u64,
            sha256,
            report,
            conclusion,
        })
    }

    /// Whether `id` names an envelope concluded here, and whether the file is one of its final
    /// PDFs byte for byte.
    async fn conclusion_check(&self, id: Option<&str>, sha256: &str) -> Result<ConclusionCheck> {
        let Some(shown) = id else {
            return Ok(ConclusionCheck::default());
        };
        let mut check = ConclusionCheck {
            id: Some(shown.to_string()),
            ..ConclusionCheck::default()
        };
        let Ok(parsed) = shown.parse::<ConclusionId>() else {
            return Ok(check);
        };
        let Some(record) = self.store.envelope_by_conclusion(&parsed).await? else {
            return Ok(check);
        };
        let Some(sealed_at) = record.sealed_at else {
            return Ok(check); // not concluded (yet): no match
        };
        check.matches = true;
        check.title = Some(record.envelope.title.clone());
        check.sender = Some(record.sender_name.clone());
        check.concluded_at = Some(format_slash_jst(sealed_at));
        let documents = self
            .store
            .documents(record.organization(), record.id())
            .await?;
        check.identical_to = documents
            .iter()
            .find(|d| d.sha256 == sha256)
            .map(|d| d.name.clone())
            .or_else(|| {
                record
                    .certificate
                    .as_ref()
                    .filter(|c| c.sha256 == sha256)
                    .map(|_| crate::certificate_file_name(&record))
            });
        Ok(check)
    }
}
