//! Contracts concluded outside Inkan — on paper (scanned), or through another service — brought
//! into the same 文書管理 (`inkan import`, the API, the staff's import page), and the 訂正削除の履歴
//! of every document's 電帳法 items.
//!
//! An imported contract is an envelope in the final status 取込済み, with one document and no
//! recipients. Its PDF is kept twice: revision 0, the bytes as they came; revision 1, those
//! bytes with a document timestamp and its TSA's validation data appended as an incremental
//! update — so whatever signatures it carries stay valid, and the timestamp proves it existed
//! unchanged since the import; the archive sweep renews it like any sealed document. Without a
//! TSA's answer nothing is imported.
//!
//! A correction of a document's 電帳法 items (取引年月日, 金額, 取引先, 種別) is an entry of the
//! hash-chained audit trail holding the items before and after and the reason: the history is
//! as tamper-evident as the trail, and nothing is ever overwritten without it.

use inkan_domain::{DocumentId, Envelope};
use inkan_store::{Change, DocumentRecord, EnvelopeRecord, EnvelopeWrite, TransactionMetadata};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::envelopes::{blob_key, file_name, parse_metadata};
use crate::japan::format_japanese;
use crate::views::{document_view, envelope_view};
use crate::{
    Caller, DocumentView, EnvelopeView, Inkan, MetadataInput, Result, ServiceError, Staff,
};

/// The audit action of a correction.
const CORRECTED: &str = "metadata_corrected";

/// A contract to import.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ImportInput {
    /// The PDF's file name: `庁舎清掃業務委託契約書_平成31年.pdf`.
    pub name: String,
    /// 件名 (the file name without `.pdf` when empty).
    #[serde(default)]
    pub title: Option<String>,
    /// 管理番号.
    #[serde(default)]
    pub number: String,
    /// 取引年月日, 金額, 取引先 and 種別.
    #[serde(default)]
    pub metadata: MetadataInput,
    /// The folder it goes into (one the caller may choose).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub folder: Option<inkan_domain::FolderId>,
    /// The PDF, base64 (the API; the command and the page send the file itself).
    #[serde(default)]
    pub content_base64: String,
}

/// A correction of a document's 電帳法 items, with why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MetadataCorrection {
    /// The items as they must read now (every item: one left out is cleared).
    pub metadata: MetadataInput,
    /// 訂正の理由, kept in the history.
    pub reason: String,
}

/// One entry of a document's 訂正削除の履歴.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetadataChangeView {
    /// The document's ID.
    pub document: String,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// `2026年12月3日 14:05` (JST).
    pub at_text: String,
    /// Who: `user:<id>` or `api_key:<id>`.
    pub actor: String,
    pub before: MetadataInput,
    pub after: MetadataInput,
    pub reason: String,
}

/// Checks that `bytes` are a PDF that can be kept and timestamped: readable, not encrypted, with
/// pages. Signatures are welcome (they stay valid). Its page count.
pub(crate) fn check_importable(name: &str, bytes: &[u8]) -> Result<u32> {
    let bad = |why: String| {
        ServiceError::Invalid(format!(
            "「{name}」は取り込めません (cannot import 「{name}」): {why}"
        ))
    };
    // Without repair: a timestamp appended to a file whose cross-reference table is broken
    // would extend a file other readers cannot open either.
    let doc = inkan_pdf::Document::open_with(bytes, inkan_pdf::OpenOptions { reconstruct: false })
        .map_err(|e| {
            bad(format!(
                "PDF として読めません。壊れているか PDF ではありません (damaged or not a PDF: {e})"
            ))
        })?;
    doc.ensure_not_encrypted().map_err(|e| {
        bad(format!(
            "暗号化されています。パスワードを外した PDF にしてください (encrypted: remove its password first; {e})"
        ))
    })?;
    let pages = doc
        .pages()
        .map_err(|e| {
            bad(format!(
                "ページを読めません (its pages cannot be read: {e})"
            ))
        })?
        .count();
    if pages == 0 {
        return Err(bad("ページがありません (it has no pages)".into()));
    }
    u32::try_from(pages).map_err(|_| bad("ページが多すぎます (too many pages)".into()))
}

fn metadata_input(m: &TransactionMetadata) -> MetadataInput {
    MetadataInput {
        date: m.date.clone(),
        amount: m.amount.map(|y| y.0.to_string()),
        counterparty: m.counterparty.clone(),
        kind: m.kind.clone(),
    }
}

impl Inkan {
    /// Imports a contract concluded outside Inkan: checked (readable, not encrypted), kept as
    /// it came and with a document timestamp added, found by the 電帳法 search.
    pub async fn import_contract(
        &self,
        staff: &Staff,
        input: &ImportInput,
        pdf: Vec<u8>,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        staff.require_send()?;
        let org = self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let name = file_name(&input.name)?;
        let metadata = parse_metadata(&input.metadata)?;
        let pages = check_importable(&name, &pdf)?;
        let title = match input.title.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => name
                .strip_suffix(".pdf")
                .or_else(|| name.strip_suffix(".PDF"))
                .unwrap_or(&name)
                .to_string(),
        };
        let now = self.now();
        // The deadline of a contract concluded elsewhere means nothing; the domain wants one.
        let mut envelope = Envelope::new(staff.organization, &input.number, &title, now + 1, now)?;
        envelope.add_document(pdf.len() as u64)?;
        envelope.import()?;
        let folder = self
            .folder_for_new_envelope(staff, input.folder, org.folder_required)
            .await?;
        let (sender_name, sender_email) = self.sender(staff, &org.name).await?;
        // The timestamp first: without it nothing is stored.
        let stamped = self.engine.timestamp_document(&pdf).await?;
        let archive_until = self.engine.archive_horizon(&stamped).ok();
        let id = DocumentId::new();
        let original_key = blob_key(staff.organization, envelope.id, &format!("doc/{id}/r0"));
        let (_, original_sha256) = self.put_blob(&original_key, &pdf).await?;
        let stamped_key = blob_key(staff.organization, envelope.id, &format!("doc/{id}/r1"));
        let (size, sha256) = self.put_blob(&stamped_key, &stamped).await?;
        let document = DocumentRecord {
            id,
            envelope: envelope.id,
            organization: staff.organization,
            position: 1,
            name: name.clone(),
            pages,
            original_blob: original_key,
            current_blob: stamped_key,
            revision: 1,
            size,
            sha256: sha256.clone(),
            fields: Vec::new(),
            signed_by: Vec::new(),
            metadata: metadata.clone(),
            archive_until,
            created_at: now,
        };
        let record = EnvelopeRecord {
            envelope,
            version: 0,
            created_by: staff.on_behalf_of,
            folder,
            sender_name,
            sender_email,
            counterparty: None,
            sealed_at: None,
            certificate: None,
            created_at: now,
            updated_at: now,
        };
        let audit = vec![self.audit_entry(
            staff.organization,
            &staff.actor,
            "import",
            Some(record.id()),
            Some(id),
            caller,
            serde_json::json!({
                "name": name,
                "title": record.envelope.title,
                "sha256_original": original_sha256,
                "sha256_timestamped": sha256,
                "metadata": metadata_input(&metadata),
            }),
        )];
        let view = envelope_view(&record, std::slice::from_ref(&document), &[]);
        self.store
            .apply(Change {
                envelope: Some(EnvelopeWrite {
                    record,
                    expected_version: None,
                }),
                documents: vec![document],
                audit,
                now,
                ..Change::default()
            })
            .await?;
        Ok(view)
    }

    /// Corrects a document's 電帳法 items (訂正): the items before and after and the reason go
    /// into the audit trail with the change, in one transaction. The same items again change
    /// nothing.
    pub async fn correct_metadata(
        &self,
        staff: &Staff,
        envelope: &str,
        document: &str,
        correction: &MetadataCorrection,
        caller: &Caller,
    ) -> Result<DocumentView> {
        staff.require_send()?;
        let envelope = Self::parse_envelope_id(envelope)?;
        let record = self.visible(staff, envelope).await?;
        let reason =
            inkan_domain::text::paragraphs("訂正の理由 (reason)", &correction.reason, 1000)?;
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid(
                "訂正の理由を入力してください (give the reason for the correction)".into(),
            ));
        }
        let after = parse_metadata(&correction.metadata)?;
        let mut doc = self
            .store
            .documents(staff.organization, envelope)
            .await?
            .into_iter()
            .find(|d| d.id.to_string() == document)
            .ok_or(ServiceError::NotFound("the document"))?;
        if doc.metadata == after {
            return Ok(document_view(&doc, None));
        }
        let before = std::mem::replace(&mut doc.metadata, after);
        let entry = self.audit_entry(
            staff.organization,
            &staff.actor,
            CORRECTED,
            Some(envelope),
            Some(doc.id),
            caller,
            serde_json::json!({
                "document": doc.id.to_string(),
                "name": doc.name,
                "before": metadata_input(&before),
                "after": metadata_input(&doc.metadata),
                "reason": reason,
            }),
        );
        let view = document_view(&doc, None);
        // Written with the envelope's version checked, so two corrections at once cannot both
        // believe they saw the same "before".
        let change = Change {
            envelope: Some(self.write(&record)),
            documents: vec![doc],
            audit: vec![entry],
            now: self.now(),
            ..Change::default()
        };
        match self.store.apply(change).await {
            Ok(()) => Ok(view),
            Err(inkan_store::StoreError::Conflict) => Err(ServiceError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// A document's 訂正削除の履歴, oldest first.
    pub async fn metadata_history(
        &self,
        staff: &Staff,
        envelope: &str,
        document: &str,
    ) -> Result<Vec<MetadataChangeView>> {
        let corrections = self.metadata_corrections(staff, envelope).await?;
        let id = Self::parse_envelope_id(envelope)?;
        if !self
            .store
            .documents(staff.organization, id)
            .await?
            .iter()
            .any(|d| d.id.to_string() == document)
        {
            return Err(ServiceError::NotFound("the document"));
        }
        Ok(corrections
            .into_iter()
            .filter(|c| c.document == document)
            .collect())
    }

    /// The 訂正削除の履歴 of every document of an envelope, oldest first, from one read of its
    /// audit trail (the envelope page shows them all).
    pub async fn metadata_corrections(
        &self,
        staff: &Staff,
        envelope: &str,
    ) -> Result<Vec<MetadataChangeView>> {
        let entries = self.audit_trail(staff, Some(envelope)).await?;
        let parse = |v: &serde_json::Value| -> MetadataInput {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        Ok(entries
            .into_iter()
            .filter(|e| e.entry.action == CORRECTED)
            .filter_map(|e| {
                let e = e.entry;
                Some(MetadataChangeView {
                    document: e.document?.to_string(),
                    at: e.at,
                    at_text: format_japanese(e.at),
                    actor: e.actor.clone(),
                    before: parse(&e.detail["before"]),
                    after: parse(&e.detail["after"]),
                    reason: e.detail["reason"].as_str().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }
}
