//! Creating a draft envelope, in three steps so that its files can arrive one at a time: the
//! envelope's data is checked first ([`Inkan::start_envelope`]: recipients, counterparty, folder,
//! each document's name and 電帳法 items), then each document and attachment as it arrives
//! ([`Inkan::add_document_file`], [`Inkan::add_attachment_file`]: checked, counted against the
//! envelope's limits and stored encrypted at once, so a 200 MB envelope never sits in memory
//! whole), then one change ([`Inkan::finish_envelope`]). The JSON API's base64 documents go
//! through the same steps ([`Inkan::create_envelope`]); a multipart upload streams into them.
//!
//! Nothing is visible before the last step. A failure on the way deletes what was stored
//! ([`Inkan::abandon_envelope`]); a crash leaves at most unreferenced blobs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use inkan_domain::{text, AttachmentId, DocumentId, Envelope};
use inkan_store::{AttachmentRecord, Change, DocumentRecord, EnvelopeRecord, EnvelopeWrite};

use crate::envelopes::{blob_key, check_pdf, file_name, parse_metadata, RecipientKeys};
use crate::views::envelope_view;
use crate::{Caller, EnvelopeView, Inkan, NewEnvelope, Result, ServiceError, Staff};

/// The largest sender attachment (the page and the API check the same bound).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// Where a new envelope comes from, when not from a blank page.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Origin {
    pub id: Option<inkan_domain::EnvelopeId>,
    pub template: Option<inkan_domain::TemplateUse>,
}

/// A draft envelope being received: its data checked, its files stored as they arrive.
pub struct EnvelopeIntake {
    staff: Staff,
    input: NewEnvelope,
    envelope: Envelope,
    recipients: RecipientKeys,
    counterparty: Option<inkan_store::Counterparty>,
    folder: Option<inkan_domain::FolderId>,
    sender: (String, String),
    documents: Vec<DocumentRecord>,
    attachments: Vec<AttachmentRecord>,
    now: i64,
}

impl std::fmt::Debug for EnvelopeIntake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeIntake")
            .field("envelope", &self.envelope.id)
            .field("documents", &self.documents.len())
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

impl EnvelopeIntake {
    /// The documents the envelope's data announces.
    pub fn documents_expected(&self) -> usize {
        self.input.documents.len()
    }

    /// The documents received so far.
    pub fn documents_received(&self) -> usize {
        self.documents.len()
    }

    /// Bytes of documents still allowed (the envelope's 200 MB, less what arrived).
    pub fn bytes_left(&self) -> u64 {
        let received: u64 = self.documents.iter().map(|d| d.size).sum();
        inkan_domain::MAX_TOTAL_BYTES.saturating_sub(received)
    }
}

impl Inkan {
    /// Creates a draft envelope with its documents, recipients, fields and attachments, the
    /// documents as base64 in `input`: each checked (a PDF Inkan can sign, its fields on its
    /// pages and for signers), counted against the envelope's limits, and stored encrypted.
    pub async fn create_envelope(
        &self,
        staff: &Staff,
        input: &NewEnvelope,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        let mut intake = self.start_envelope(staff, input.data_only()).await?;
        let received = async {
            for (i, d) in input.documents.iter().enumerate() {
                if d.content_base64.trim().is_empty() {
                    return Err(ServiceError::Invalid(format!(
                        "documents[{i}].content_base64: PDF の内容がありません (the PDF is missing: base64 here, or a multipart upload)"
                    )));
                }
                let bytes = decode(&format!("document {}", d.name), &d.content_base64)?;
                self.add_document_file(&mut intake, bytes).await?;
            }
            for a in &input.attachments {
                let bytes = decode(&format!("attachment {}", a.name), &a.content_base64)?;
                self.add_attachment_file(&mut intake, &a.name, bytes).await?;
            }
            Ok(())
        }
        .await;
        match received {
            Ok(()) => self.finish_envelope(intake, caller).await,
            Err(e) => {
                self.abandon_envelope(intake).await;
                Err(e)
            }
        }
    }

    /// Checks a new envelope's data (everything but the files' contents) and starts receiving
    /// its files. `input.documents` announces the documents in the order their files will come;
    /// their `content_base64` is not read here. Attachments may come without being announced.
    pub async fn start_envelope(
        &self,
        staff: &Staff,
        input: NewEnvelope,
    ) -> Result<EnvelopeIntake> {
        self.start_envelope_as(staff, input, Origin::default())
            .await
    }

    /// [`Inkan::start_envelope`] for an envelope made from a template: its ID given (a bulk
    /// send derives it from the batch and row, so a row made twice is refused by the
    /// database) and the template version it uses recorded.
    pub(crate) async fn start_envelope_as(
        &self,
        staff: &Staff,
        input: NewEnvelope,
        origin: Origin,
    ) -> Result<EnvelopeIntake> {
        staff.require_send()?;
        let now = self.now();
        let org = self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let mut envelope = Envelope::new(
            staff.organization,
            &input.number,
            &input.title,
            input.deadline,
            now,
        )?;
        envelope.message = text::paragraphs("メッセージ (message)", &input.message, 5000)?;
        if let Some(id) = origin.id {
            envelope.id = id;
        }
        envelope.template = origin.template;
        let counterparty = match input.counterparty.as_deref() {
            Some(id) if !id.trim().is_empty() => {
                let id: inkan_domain::CounterpartyId = id
                    .parse()
                    .map_err(|_| ServiceError::NotFound("the counterparty"))?;
                Some(
                    self.store
                        .counterparty(staff.organization, id)
                        .await?
                        .ok_or(ServiceError::NotFound("the counterparty"))?,
                )
            }
            _ => None,
        };
        let recipients = RecipientKeys::add(&mut envelope, &input.recipients)?;
        if input.documents.is_empty() {
            return Err(ServiceError::Invalid(
                "文書を1つ以上追加してください (an envelope needs at least one document)".into(),
            ));
        }
        if input.documents.len() > inkan_domain::MAX_DOCUMENTS {
            return Err(ServiceError::Invalid(format!(
                "1つの封筒に入れられる文書は {} 件までです (an envelope holds at most {} documents)",
                inkan_domain::MAX_DOCUMENTS,
                inkan_domain::MAX_DOCUMENTS
            )));
        }
        // What can be checked before a byte of the files arrives.
        for (i, d) in input.documents.iter().enumerate() {
            file_name(&d.name)
                .map_err(|e| ServiceError::Invalid(format!("documents[{i}].name: {e}")))?;
            parse_metadata(&d.metadata)
                .map_err(|e| ServiceError::Invalid(format!("documents[{i}].metadata: {e}")))?;
        }
        let folder = self
            .folder_for_new_envelope(staff, input.folder, org.folder_required)
            .await?;
        let sender = self.sender(staff, &org.name).await?;
        Ok(EnvelopeIntake {
            staff: staff.clone(),
            input,
            envelope,
            recipients,
            counterparty,
            folder,
            sender,
            documents: Vec::new(),
            attachments: Vec::new(),
            now,
        })
    }

    /// The next announced document's PDF: checked (a PDF Inkan can sign, its fields on its
    /// pages), counted against the envelope's limits, stored encrypted.
    pub async fn add_document_file(
        &self,
        intake: &mut EnvelopeIntake,
        bytes: Vec<u8>,
    ) -> Result<()> {
        let i = intake.documents.len();
        let Some(d) = intake.input.documents.get(i) else {
            return Err(ServiceError::Invalid(format!(
                "文書のファイルが多すぎます: 封筒のデータにある文書は {} 件です (more document files than the envelope's {} documents)",
                intake.input.documents.len(),
                intake.input.documents.len()
            )));
        };
        let name = file_name(&d.name)?;
        intake.envelope.add_document(bytes.len() as u64)?;
        let pages = check_pdf(&name, &bytes)?;
        let fields = intake.recipients.fields_of(d, &name, pages)?;
        let id = DocumentId::new();
        let org = intake.staff.organization;
        let key = blob_key(org, intake.envelope.id, &format!("doc/{id}/r0"));
        let (size, sha256) = self.put_blob(&key, &bytes).await?;
        let mut metadata = parse_metadata(&d.metadata)?;
        if metadata.counterparty.is_none() {
            metadata.counterparty = intake.counterparty.as_ref().map(|c| c.trade_name.clone());
        }
        intake.documents.push(DocumentRecord {
            id,
            envelope: intake.envelope.id,
            organization: org,
            position: i as u32 + 1,
            name,
            pages,
            original_blob: key.clone(),
            current_blob: key,
            revision: 0,
            size,
            sha256,
            fields,
            signed_by: Vec::new(),
            metadata,
            archive_until: None,
            created_at: intake.now,
        });
        Ok(())
    }

    /// A file the sender attaches (e.g. 納付書), at most 20 MB, stored encrypted.
    pub async fn add_attachment_file(
        &self,
        intake: &mut EnvelopeIntake,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        let name = file_name(name)?;
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(ServiceError::Invalid(format!(
                "添付ファイル「{name}」が20MBを超えています (attachment 「{name}」 is larger than 20 MB)"
            )));
        }
        let id = AttachmentId::new();
        let org = intake.staff.organization;
        let key = blob_key(org, intake.envelope.id, &format!("att/{id}"));
        let (size, sha256) = self.put_blob(&key, &bytes).await?;
        intake.attachments.push(AttachmentRecord {
            id,
            envelope: intake.envelope.id,
            organization: org,
            recipient: None,
            field: None,
            name,
            blob: key,
            size,
            sha256,
            created_at: intake.now,
        });
        Ok(())
    }

    /// Stores the draft once every announced document has arrived: one change with its
    /// documents, attachments and the audit entry.
    pub async fn finish_envelope(
        &self,
        intake: EnvelopeIntake,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        if intake.documents.len() != intake.input.documents.len() {
            let (got, expected) = (intake.documents.len(), intake.input.documents.len());
            self.abandon_envelope(intake).await;
            return Err(ServiceError::Invalid(format!(
                "文書のファイルが足りません: {expected} 件のうち {got} 件しか届いていません (only {got} of the {expected} documents' files arrived)"
            )));
        }
        let EnvelopeIntake {
            staff,
            envelope,
            counterparty,
            folder,
            sender: (sender_name, sender_email),
            documents,
            attachments,
            now,
            ..
        } = intake;
        let record = EnvelopeRecord {
            envelope,
            version: 0,
            created_by: staff.on_behalf_of,
            folder,
            sender_name,
            sender_email,
            counterparty: counterparty.map(|c| c.id),
            sealed_at: None,
            certificate: None,
            created_at: now,
            updated_at: now,
        };
        let audit = vec![self.audit_entry(
            staff.organization,
            &staff.actor,
            "create",
            Some(record.id()),
            None,
            caller,
            serde_json::json!({
                "title": record.envelope.title,
                "number": record.envelope.number,
                "documents": documents.iter().map(|d| serde_json::json!({"id": d.id.to_string(), "name": d.name, "sha256": d.sha256})).collect::<Vec<_>>(),
                "template": record.envelope.template.map(|t| serde_json::json!({"id": t.template.to_string(), "version": t.version})),
            }),
        )];
        let view = envelope_view(&record, &documents, &attachments);
        // A failed write keeps the files: the change may have been committed before the
        // connection broke, and an unreferenced blob costs less than a document's loss.
        self.store
            .apply(Change {
                envelope: Some(EnvelopeWrite {
                    record,
                    expected_version: None,
                }),
                documents,
                attachments,
                audit,
                now,
                ..Change::default()
            })
            .await?;
        Ok(view)
    }

    /// Gives up an envelope being received: the files stored so far are deleted (best effort:
    /// what cannot be deleted now is unreferenced, never shown).
    pub async fn abandon_envelope(&self, intake: EnvelopeIntake) {
        let blobs: Vec<String> = intake
            .documents
            .iter()
            .map(|d| d.current_blob.clone())
            .chain(intake.attachments.iter().map(|a| a.blob.clone()))
            .collect();
        self.delete_blobs(&blobs).await;
    }

    async fn delete_blobs(&self, keys: &[String]) {
        for key in keys {
            let Ok(key) = inkan_blobs::BlobKey::new(key.clone()) else {
                continue;
            };
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(error = %e, "a blob of an abandoned envelope was not deleted");
            }
        }
    }
}

pub(crate) fn decode(what: &str, text: &str) -> Result<Vec<u8>> {
    STANDARD.decode(text.trim()).map_err(|e| {
        ServiceError::Invalid(format!(
            "{what}: 内容が base64 として読めません (the content is not valid base64: {e})"
        ))
    })
}
