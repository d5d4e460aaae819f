//! What a recipient does through the link in their email — no account: view the request and
//! the documents, download them for internal review, attach files where asked, fill in their
//! fields and complete (sign), approve (approvers), or decline with a reason — and the
//! completion page behind the completion email (14 days).

use inkan_domain::{
    fill, AttachmentId, EnvelopeStatus, FieldId, FieldKind, FieldValue, Outcome, Role,
};
use inkan_store::{AttachmentRecord, Change, EnvelopeRecord, StoreError, TokenKind};

use crate::access::Link;
use crate::envelopes::blob_key;
use crate::views::{attachment_view, document_view, recipient_view, summary};
use crate::{
    AttachmentView, Caller, CompletionView, FieldInput, Inkan, Result, ServiceError, SignerView,
};

/// Why a signing link no longer serves documents.
const CONCLUDED: &str = "この封筒は締結済みです。署名済みの文書は「電子署名完了のお知らせ」メールのリンクからダウンロードしてください (this envelope is concluded: the signed documents are behind the link of the completion email)";

/// Largest file a signer may attach.
const MAX_SIGNER_ATTACHMENT: usize = 20 * 1024 * 1024;

impl Inkan {
    fn actor(record: &EnvelopeRecord, link: &Link) -> String {
        match record.envelope.recipient(link.recipient) {
            Some(r) => format!("recipient:{} {}", r.id, r.email),
            None => format!("recipient:{}", link.recipient),
        }
    }

    /// The envelope behind a signer link, for a caller who passed the link's check (アクセス
    /// コード, SMS認証) if it has one: the gate of every signer read and act.
    pub(crate) async fn signer_envelope(
        &self,
        token: &str,
        caller: &Caller,
    ) -> Result<(Link, EnvelopeRecord)> {
        let (link, record) = self.signer_envelope_unchecked(token).await?;
        self.admit_signer(&record, &link, caller).await?;
        Ok((link, record))
    }

    /// The envelope behind a signer link, before its check (for giving the code); a link of a
    /// finished-without-conclusion envelope is dead ("gone"), with the reason in words.
    pub(crate) async fn signer_envelope_unchecked(
        &self,
        token: &str,
    ) -> Result<(Link, EnvelopeRecord)> {
        let link = self.resolve_link(token, TokenKind::Signer).await?;
        let record = self.load(link.organization, link.envelope).await?;
        let gone = match record.envelope.status() {
            EnvelopeStatus::Cancelled { .. } => Some("この封筒は送信者により取り消されました (this envelope was cancelled by its sender)"),
            EnvelopeStatus::Declined { .. } => Some("この封筒は辞退されました (this envelope was declined)"),
            EnvelopeStatus::Expired => Some("署名期限を過ぎました (the signing deadline has passed)"),
            _ => None,
        };
        match gone {
            Some(why) => Err(ServiceError::Gone(why.into())),
            None => Ok((link, record)),
        }
    }

    /// The envelope behind a signer link, to read its documents: once concluded, the signed
    /// documents are the completion link's to give (14 days, then the signer's library), so a
    /// forwarded or leaked signing link stops serving them.
    pub(crate) async fn signer_documents_envelope(
        &self,
        token: &str,
        caller: &Caller,
    ) -> Result<(Link, EnvelopeRecord)> {
        let (link, record) = self.signer_envelope(token, caller).await?;
        if *record.envelope.status() == EnvelopeStatus::Completed {
            return Err(ServiceError::Gone(CONCLUDED.into()));
        }
        Ok((link, record))
    }

    async fn signer_view(&self, link: &Link, record: &EnvelopeRecord) -> Result<SignerView> {
        let recipient = record
            .envelope
            .recipient(link.recipient)
            .ok_or(ServiceError::NotFound("this link"))?;
        // A concluded envelope's documents come through the completion link only.
        let concluded = *record.envelope.status() == EnvelopeStatus::Completed;
        let (documents, attachments) = if concluded {
            (Vec::new(), Vec::new())
        } else {
            (
                self.store
                    .documents(link.organization, link.envelope)
                    .await?,
                self.store
                    .attachments(link.organization, link.envelope)
                    .await?,
            )
        };
        let can_act = match recipient.role {
            Role::Signer => record.envelope.due().contains(&recipient.id),
            Role::Approver => {
                *record.envelope.status() == EnvelopeStatus::AwaitingApproval
                    && recipient.state == inkan_domain::RecipientState::Waiting
            }
            Role::Cc => false,
        };
        Ok(SignerView {
            envelope: summary(record),
            recipient: recipient_view(recipient),
            can_act,
            documents: documents
                .iter()
                .map(|d| document_view(d, Some(recipient.id)))
                .collect(),
            attachments: attachments
                .iter()
                .filter(|a| a.recipient.is_none() || a.recipient == Some(recipient.id))
                .map(attachment_view)
                .collect(),
            progress: record
                .envelope
                .recipients()
                .iter()
                .map(recipient_view)
                .collect(),
        })
    }

    /// Opens a signer link (recorded as a view in the audit trail).
    pub async fn open_link(&self, token: &str, caller: &Caller) -> Result<SignerView> {
        let (link, record) = self.signer_envelope(token, caller).await?;
        let view = self.signer_view(&link, &record).await?;
        self.append_audit(self.audit_entry(
            link.organization,
            &Self::actor(&record, &link),
            "view",
            Some(link.envelope),
            None,
            caller,
            serde_json::json!({}),
        ))
        .await?;
        Ok(view)
    }

    /// A document as the signer sees it now (for reading, or internal review before signing).
    pub async fn signer_document(
        &self,
        token: &str,
        document: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let (link, record) = self.signer_documents_envelope(token, caller).await?;
        self.link_document(&link, &record, document, caller).await
    }

    async fn link_document(
        &self,
        link: &Link,
        record: &EnvelopeRecord,
        document: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        self.read_document(
            link.organization,
            link.envelope,
            document,
            &Self::actor(record, link),
            caller,
        )
        .await
    }

    /// Attaches a PDF for one of the signer's attachment fields (添付).
    pub async fn attach(
        &self,
        token: &str,
        field: &str,
        name: &str,
        bytes: Vec<u8>,
        caller: &Caller,
    ) -> Result<AttachmentView> {
        let (link, record) = self.signer_envelope(token, caller).await?;
        if !record.envelope.due().contains(&link.recipient) {
            return Err(ServiceError::NotAllowed(
                "it is not this recipient's turn to sign".into(),
            ));
        }
        let field: FieldId = field
            .parse()
            .map_err(|_| ServiceError::NotFound("the field"))?;
        let documents = self
            .store
            .documents(link.organization, link.envelope)
            .await?;
        let ok = documents.iter().flat_map(|d| &d.fields).any(|f| {
            f.id == field && f.recipient == link.recipient && f.kind == FieldKind::Attachment
        });
        if !ok {
            return Err(ServiceError::NotFound("an attachment field of this signer"));
        }
        if bytes.len() > MAX_SIGNER_ATTACHMENT {
            return Err(ServiceError::Invalid(
                "添付ファイルは 20 MB までです (an attachment is at most 20 MB)".into(),
            ));
        }
        let name = crate::envelopes::file_name(name)?;
        crate::envelopes::check_pdf(&name, &bytes)?;
        let id = AttachmentId::new();
        let key = blob_key(link.organization, link.envelope, &format!("att/{id}"));
        let (size, sha256) = self.put_blob(&key, &bytes).await?;
        let attachment = AttachmentRecord {
            id,
            envelope: link.envelope,
            organization: link.organization,
            recipient: Some(link.recipient),
            field: Some(field),
            name: name.trim().to_string(),
            blob: key,
            size,
            sha256: sha256.clone(),
            created_at: self.now(),
        };
        let view = attachment_view(&attachment);
        self.store
            .apply(Change {
                envelope: Some(self.write(&record)),
                attachments: vec![attachment],
                audit: vec![self.audit_entry(link.organization, &Self::actor(&record, &link), "attach", Some(link.envelope), None, caller, serde_json::json!({ "attachment": id.to_string(), "name": name, "sha256": sha256 }))],
                now: self.now(),
                ..Change::default()
            })
            .await?;
        Ok(view)
    }

    /// Completes the signer's part (「署名手続きを完了する」): records their field values and their
    /// signature; the seal job adds it to the documents. Completing twice changes nothing.
    pub async fn complete(
        &self,
        token: &str,
        values: &[FieldInput],
        caller: &Caller,
    ) -> Result<SignerView> {
        for _ in 0..5 {
            let (link, mut record) = self.signer_envelope(token, caller).await?;
            let before = record.clone();
            let recipient = record
                .envelope
                .recipient(link.recipient)
                .ok_or(ServiceError::NotFound("this link"))?
                .clone();
            if recipient.role == Role::Approver {
                return self.approve(token, caller).await;
            }
            let now = self.now();
            let outcome = record.envelope.sign(recipient.id, now)?;
            if outcome == Outcome::Unchanged {
                return self.signer_view(&link, &record).await;
            }
            // Recorded now, with the envelope's change: the certificate of conclusion prints it.
            let signing = self
                .signing_record(&before, &recipient, caller, now)
                .await?;
            record.envelope.record_signing(recipient.id, signing)?;
            let mut documents = self
                .store
                .documents(link.organization, link.envelope)
                .await?;
            let attachments = self
                .store
                .attachments(link.organization, link.envelope)
                .await?;
            let mut used = vec![false; values.len()];
            for doc in &mut documents {
                let mut mine = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    let Some(f) = doc.fields.iter().find(|f| f.id.to_string() == v.field) else {
                        continue;
                    };
                    used[i] = true;
                    let value = match f.kind {
                        FieldKind::Checkbox => match v.value.as_str() {
                            "true" | "on" | "1" => FieldValue::Checked(true),
                            "false" | "off" | "0" | "" => FieldValue::Checked(false),
                            other => {
                                return Err(ServiceError::Invalid(format!(
                                    "「{}」はチェックボックスです。{other:?} は選べません (a checkbox is true or false)",
                                    f.label
                                )))
                            }
                        },
                        FieldKind::Attachment => {
                            let a = attachments
                                .iter()
                                .find(|a| {
                                    a.id.to_string() == v.value && a.recipient == Some(recipient.id)
                                })
                                .ok_or_else(|| {
                                    ServiceError::Invalid(format!(
                                        "「{}」: 先にファイルを添付してください (attach the file first)",
                                        f.label
                                    ))
                                })?;
                            FieldValue::Attachment(a.id)
                        }
                        _ => FieldValue::Text(v.value.trim().to_string()),
                    };
                    mine.push((f.id, value));
                }
                fill(&mut doc.fields, recipient.id, &mine)?;
            }
            if let Some(i) = used.iter().position(|u| !u) {
                return Err(ServiceError::Invalid(format!(
                    "{:?} はこの封筒の入力項目ではありません (not a field of this envelope)",
                    values[i].field
                )));
            }
            let mut change = Change {
                now,
                documents,
                ..Change::default()
            };
            let detail = serde_json::json!({
                "signer": recipient.name,
                "email": recipient.email.to_string(),
                "method": recipient.method.japanese(),
                "values": values.len(),
            });
            self.after_transition(
                &mut record,
                &mut change,
                caller,
                &Self::actor(&before, &link),
                "sign",
                detail,
            )?;
            change.envelope = Some(self.write_from(&before, &record));
            match self.store.apply(change).await {
                Ok(()) => {
                    let record = self.load(link.organization, link.envelope).await?;
                    return self.signer_view(&link, &record).await;
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict)
    }

    /// An approver approves (社内承認); after the last approval the envelope is sent.
    pub async fn approve(&self, token: &str, caller: &Caller) -> Result<SignerView> {
        for _ in 0..5 {
            let (link, mut record) = self.signer_envelope(token, caller).await?;
            let before = record.clone();
            if record.envelope.approve(link.recipient, self.now())? == Outcome::Unchanged {
                return self.signer_view(&link, &record).await;
            }
            let mut change = Change {
                now: self.now(),
                ..Change::default()
            };
            self.after_transition(
                &mut record,
                &mut change,
                caller,
                &Self::actor(&before, &link),
                "approve",
                serde_json::json!({}),
            )?;
            change.envelope = Some(self.write_from(&before, &record));
            match self.store.apply(change).await {
                Ok(()) => return self.signer_view(&link, &record).await,
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict)
    }

    /// Declines (辞退) with a reason; the envelope ends there.
    pub async fn decline(&self, token: &str, reason: &str, caller: &Caller) -> Result<()> {
        for _ in 0..5 {
            let link = self.resolve_link(token, TokenKind::Signer).await?;
            let mut record = self.load(link.organization, link.envelope).await?;
            self.admit_signer(&record, &link, caller).await?;
            let before = record.clone();
            if record
                .envelope
                .decline(link.recipient, reason, self.now())?
                == Outcome::Unchanged
            {
                return Ok(());
            }
            let mut change = Change {
                now: self.now(),
                ..Change::default()
            };
            self.after_transition(
                &mut record,
                &mut change,
                caller,
                &Self::actor(&before, &link),
                "decline",
                serde_json::json!({ "reason": reason.trim() }),
            )?;
            change.envelope = Some(self.write_from(&before, &record));
            match self.store.apply(change).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict)
    }

    /// The completion page (「全ての手続きが完了しました」), for 14 days after sealing.
    pub async fn completion(&self, token: &str, caller: &Caller) -> Result<CompletionView> {
        let link = self.resolve_link(token, TokenKind::Completion).await?;
        let record = self.load(link.organization, link.envelope).await?;
        let stored = self.store.token(&inkan_store::TokenHash::of(token)).await?;
        let documents = self
            .store
            .documents(link.organization, link.envelope)
            .await?;
        self.append_audit(self.audit_entry(
            link.organization,
            &Self::actor(&record, &link),
            "view",
            Some(link.envelope),
            None,
            caller,
            serde_json::json!({ "page": "completion" }),
        ))
        .await?;
        Ok(CompletionView {
            envelope: summary(&record),
            documents: documents.iter().map(|d| document_view(d, None)).collect(),
            progress: record
                .envelope
                .recipients()
                .iter()
                .map(recipient_view)
                .collect(),
            expires_at: stored.and_then(|t| t.expires_at),
        })
    }

    /// A signed document from the completion page.
    pub async fn completion_document(
        &self,
        token: &str,
        document: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let link = self.resolve_link(token, TokenKind::Completion).await?;
        let record = self.load(link.organization, link.envelope).await?;
        self.link_document(&link, &record, document, caller).await
    }
}
