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
use inkan_pades::{VerifyLimits, VerifyOptions};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;

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
    /// The stored final document (or the certificate) this file is, byte for byte — or was,
    /// before an archive renewal added a revision to it.
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

/// A PDF being received for verification: written to a private temporary file as it arrives,
/// never held whole in memory, hashed on the way, and deleted when dropped.
pub struct Upload {
    file: tempfile::NamedTempFile,
    size: u64,
    sha256: Sha256,
}

impl Upload {
    /// Appends the next piece of the upload; refuses past [`MAX_VERIFY_BYTES`].
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use std::io::Write;
        self.size += chunk.len() as u64;
        if self.size > MAX_VERIFY_BYTES as u64 {
            return Err(ServiceError::Invalid(format!(
                "PDF が大きすぎます。検証できるのは {} MB までです (the verifier reads at most {} MB)",
                MAX_VERIFY_BYTES >> 20,
                MAX_VERIFY_BYTES >> 20
            )));
        }
        self.sha256.update(chunk);
        self.file
            .as_file_mut()
            .write_all(chunk)
            .map_err(|e| ServiceError::failed("the upload to verify", e))
    }
}

/// A place among the verifications that run at once; held until the verification ends.
pub struct VerificationSlot(#[allow(dead_code, reason = "held, never read")] OwnedSemaphorePermit);

impl Inkan {
    /// A place to verify one upload now, or [`ServiceError::Busy`] when as many verifications as
    /// the installation allows are running: a flood of uploads waits outside instead of taking
    /// every core (and `/healthz`, signing and the pages with them).
    pub fn verification_slot(&self) -> Result<VerificationSlot> {
        self.verifications
            .clone()
            .try_acquire_owned()
            .map(VerificationSlot)
            .map_err(|_| {
                ServiceError::Busy(
                    "検証の依頼が集中しています。しばらくしてからもう一度お試しください (too many verifications are running; please try again in a few seconds)"
                        .into(),
                )
            })
    }

    /// An empty upload in the scratch folder, to fill with [`Upload::write`].
    pub fn receive_upload(&self) -> Result<Upload> {
        let file = tempfile::Builder::new()
            .prefix("verify-")
            .suffix(".pdf")
            .tempfile_in(self.engine.scratch())
            .map_err(|e| ServiceError::failed("the upload to verify", e))?;
        Ok(Upload {
            file,
            size: 0,
            sha256: Sha256::new(),
        })
    }

    /// Verifies PDF bytes held in memory (tests, callers that already have them).
    pub async fn verify_upload(&self, file_name: &str, bytes: &[u8]) -> Result<Verification> {
        let slot = self.verification_slot()?;
        let mut upload = self.receive_upload()?;
        upload.write(bytes)?;
        self.verify_received(slot, file_name, upload).await
    }

    /// Verifies a received upload against this installation's root, offline, within the public
    /// limits ([`VerifyLimits::public`]), on a blocking thread; the file is deleted at the end.
    pub async fn verify_received(
        &self,
        slot: VerificationSlot,
        file_name: &str,
        upload: Upload,
    ) -> Result<Verification> {
        if upload.size == 0 {
            return Err(ServiceError::Invalid(
                "検証する PDF ファイルを選んでください (choose a PDF file to verify: the upload is empty)".into(),
            ));
        }
        // PDF readers accept a header within the first KB; so does the verifier.
        let mut head = vec![0u8; 1024.min(upload.size as usize)];
        {
            use std::io::{Read, Seek};
            let mut f = upload
                .file
                .reopen()
                .map_err(|e| ServiceError::failed("the upload to verify", e))?;
            f.rewind()
                .map_err(|e| ServiceError::failed("the upload to verify", e))?;
            f.read_exact(&mut head)
                .map_err(|e| ServiceError::failed("the upload to verify", e))?;
        }
        if !head.windows(5).any(|w| w == b"%PDF-") {
            return Err(ServiceError::Invalid(
                "PDF ファイルではありません (this is not a PDF file: it does not start with %PDF-)"
                    .into(),
            ));
        }
        let options = VerifyOptions {
            anchors: self.engine.own_roots(),
            offline: true,
            timeout: Duration::from_secs(10),
            now: None,
            limits: VerifyLimits::public(),
        };
        // The verifier is CPU work that a hostile file makes long: off the async threads, so
        // the server keeps answering everyone else while it runs.
        let path = upload.file.path().to_path_buf();
        let runtime = tokio::runtime::Handle::current();
        let outcome = tokio::task::spawn_blocking(move || {
            let report = runtime.block_on(inkan_pades::verify_pdf(&path, &options));
            drop(slot);
            report
        })
        .await
        .map_err(|e| ServiceError::failed("the verifier stopped", e))?;
        let mut report = outcome.map_err(|e| match e {
            inkan_pades::PadesError::TooComplex(_) => ServiceError::Invalid(e.to_string()),
            other => ServiceError::Invalid(format!(
                "この PDF は検証できません (the file cannot be verified): {other}"
            )),
        })?;
        let (size, sha256) = (upload.size, hex::encode(upload.sha256.finalize()));
        drop(upload.file); // deleted now: uploads are not kept
        report.file = file_name.to_string();
        let conclusion = self
            .conclusion_check(report.conclusion_id.as_deref(), &sha256)
            .await?;
        Ok(Verification {
            file_name: file_name.to_string(),
            size,
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
        if check.identical_to.is_none() {
            // A copy downloaded before an archive renewal is the same contract, one revision
            // shorter: the renewal's audit entry names the file it extended.
            let renewed = self
                .store
                .audit_entries(record.organization(), Some(record.id()))
                .await?
                .into_iter()
                .map(|a| a.entry)
                .find(|e| e.action == "archive_renewed" && e.detail["previous_sha256"] == sha256);
            check.identical_to = renewed.map(|e| match e.document {
                Some(id) => documents
                    .iter()
                    .find(|d| d.id == id)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                None => crate::certificate_file_name(&record),
            });
        }
        Ok(check)
    }
}
