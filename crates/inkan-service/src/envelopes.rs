//! Staff's use cases on envelopes: create a draft with its documents, recipients and fields;
//! send; cancel; remind; read, list and download; the 電帳法 search and its CSV export.

use inkan_domain::{
    text, DocumentId, Email, Envelope, EnvelopeId, EnvelopeStatus, Field, FieldKind, Outcome,
    Placement, Recipient, RecipientId, Role, StatusKind, Yen,
};
use inkan_store::{
    Change, DocumentQuery, EnvelopeFilter, EnvelopeRecord, EnvelopeWrite, TokenKind,
    TransactionMetadata,
};

use crate::notify::MailKind;
use crate::views::{document_view, envelope_view, summary, NewDocument, NewRecipient};
use crate::{
    Caller, DocumentHitView, EnvelopeSummary, EnvelopeView, Inkan, MetadataInput, Result,
    ServiceError, Staff,
};

pub(crate) fn blob_key(org: impl std::fmt::Display, env: EnvelopeId, tail: &str) -> String {
    blob_key_in(&format!("org/{org}/env/{env}"), tail)
}

/// A fresh blob key under `prefix` (blobs are written once: each write gets a new key).
pub(crate) fn blob_key_in(prefix: &str, tail: &str) -> String {
    format!("{prefix}/{tail}-{}", uuid::Uuid::new_v4().simple())
}

/// Checks that `bytes` are a PDF Inkan can sign and returns its page count.
pub(crate) fn check_pdf(name: &str, bytes: &[u8]) -> Result<u32> {
    let bad = |why: String| {
        ServiceError::Invalid(format!(
            "「{name}」は署名できる PDF ではありません (not a PDF Inkan can sign): {why}"
        ))
    };
    let doc = inkan_pdf::Document::open(bytes).map_err(|e| bad(e.to_string()))?;
    doc.ensure_not_encrypted().map_err(|e| bad(e.to_string()))?;
    let pages = doc.pages().map_err(|e| bad(e.to_string()))?.count();
    if pages == 0 {
        return Err(bad("it has no pages".into()));
    }
    if doc
        .acroform()
        .ok()
        .flatten()
        .is_some_and(|f| f.get("SigFlags").is_some())
    {
        return Err(bad(
            "it is already signed; upload the unsigned original (its signatures would break when the 締結証明書ID is stamped)".into(),
        ));
    }
    u32::try_from(pages).map_err(|_| bad("too many pages".into()))
}

/// A file name as people see it in mails, downloads and the 締結証明書: one line, no slashes.
pub(crate) fn file_name(name: &str) -> Result<String> {
    let name = text::required_line("ファイル名 (file name)", name, 200)?;
    if name.contains(['/', '\\']) {
        return Err(ServiceError::Invalid(format!(
            "ファイル名 (file name) is not valid: {name:?} にスラッシュは使えません (no slashes)"
        )));
    }
    Ok(name)
}

pub(crate) fn parse_metadata(m: &MetadataInput) -> Result<TransactionMetadata> {
    let date = match m.date.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(d, format).map_err(|_| {
                ServiceError::Invalid(format!("取引年月日 {d:?} is not a date written YYYY-MM-DD"))
            })?;
            Some(d.to_string())
        }
        _ => None,
    };
    let amount = match m.amount.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => Some(a.parse::<Yen>()?),
        _ => None,
    };
    let counterparty = match m.counterparty.as_deref() {
        Some(c) => Some(text::line("取引先 (metadata.counterparty)", c, 200)?),
        None => None,
    }
    .filter(|c| !c.is_empty());
    let kind = match m.kind.as_deref() {
        Some(k) => Some(text::line("種別 (metadata.kind)", k, 50)?),
        None => None,
    }
    .filter(|k| !k.is_empty());
    Ok(TransactionMetadata {
        date,
        amount,
        counterparty,
        kind,
    })
}

impl Inkan {
    pub(crate) async fn load(
        &self,
        org: inkan_domain::OrganizationId,
        id: EnvelopeId,
    ) -> Result<EnvelopeRecord> {
        self.store
            .envelope(org, id)
            .await?
            .ok_or(ServiceError::NotFound("the envelope"))
    }

    /// An envelope the staff caller reads: one of another organization, one their role,
    /// folders and shares do not reach, and none at all look the same ("not found"). The
    /// store decides, with the same predicate as for lists and searches.
    pub(crate) async fn visible(&self, staff: &Staff, id: EnvelopeId) -> Result<EnvelopeRecord> {
        self.store
            .readable_envelope(staff.organization, id, &staff.rights.reads)
            .await?
            .ok_or(ServiceError::NotFound("the envelope"))
    }

    /// An envelope the staff caller may change: one they read, and a role that sends.
    pub(crate) async fn changeable(&self, staff: &Staff, id: EnvelopeId) -> Result<EnvelopeRecord> {
        let record = self.visible(staff, id).await?;
        staff.require_send()?;
        Ok(record)
    }

    pub(crate) fn parse_envelope_id(id: &str) -> Result<EnvelopeId> {
        id.parse()
            .map_err(|_| ServiceError::NotFound("the envelope"))
    }

    /// A write of `record` (changed) over the version it was read at.
    pub(crate) fn write(&self, record: &EnvelopeRecord) -> EnvelopeWrite {
        let mut next = record.clone();
        next.updated_at = self.now();
        EnvelopeWrite {
            expected_version: Some(record.version),
            record: next,
        }
    }

    /// The person sending (the logged-in user, or the one the API key acts for): the name the
    /// mails and the 締結証明書 show (the organization and their department) and their address.
    pub(crate) async fn sender(
        &self,
        staff: &Staff,
        organization: &str,
    ) -> Result<(String, String)> {
        let sender = match staff.on_behalf_of {
            Some(u) => self.store.user(staff.organization, u).await?,
            None => None,
        };
        let department = match sender.as_ref().and_then(|u| u.department) {
            Some(d) => self
                .store
                .departments(staff.organization)
                .await?
                .into_iter()
                .find(|x| x.id == d)
                .map(|x| x.name),
            None => None,
        };
        let name = match department {
            Some(d) => format!("{organization} {d}"),
            None => organization.to_string(),
        };
        Ok((
            name,
            sender.map(|u| u.email.to_string()).unwrap_or_default(),
        ))
    }

    pub(crate) async fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<(u64, String)> {
        let key = inkan_blobs::BlobKey::new(key)
            .map_err(|e| ServiceError::failed(format!("the blob key {key:?}"), e))?;
        let info = self.blobs.put(&key, bytes).await?;
        Ok((info.size, info.sha256))
    }

    pub(crate) async fn get_blob(&self, key: &str) -> Result<Vec<u8>> {
        Ok(self.read_blob(key).await?.bytes)
    }

    /// A document's revision, to be followed by the next with [`Self::put_blob_after`].
    pub(crate) async fn read_blob(&self, key: &str) -> Result<inkan_blobs::Revision> {
        let key = inkan_blobs::BlobKey::new(key)
            .map_err(|e| ServiceError::failed(format!("the blob key {key:?}"), e))?;
        Ok(self.blobs.read(&key).await?)
    }

    /// Stores the revision that follows `previous`: as the bytes it appends when it is an
    /// incremental update of it (a signature, a timestamp), so that a document's size is stored
    /// once, not once per signature.
    pub(crate) async fn put_blob_after(
        &self,
        key: &str,
        previous: &inkan_blobs::Revision,
        bytes: &[u8],
    ) -> Result<(u64, String)> {
        let key = inkan_blobs::BlobKey::new(key)
            .map_err(|e| ServiceError::failed(format!("the blob key {key:?}"), e))?;
        let info = self.blobs.put_after(&key, previous, bytes).await?;
        Ok((info.size, info.sha256))
    }

    /// Sends a draft (送信): approvers are asked first when there are any; otherwise the first
    /// signers get their request, and the documents are prepared for signing. Sending twice
    /// changes nothing.
    pub async fn send(&self, staff: &Staff, id: &str, caller: &Caller) -> Result<EnvelopeView> {
        let id = Self::parse_envelope_id(id)?;
        let mut record = self.changeable(staff, id).await?;
        let before = record.clone();
        let now = self.now();
        if record.envelope.submit(now)? == Outcome::Unchanged {
            return self.envelope(staff, &id.to_string()).await;
        }
        let mut change = Change {
            now,
            ..Change::default()
        };
        // Every approver and signer gets their link now; it dies with the envelope.
        for r in record.envelope.recipients() {
            if r.role != Role::Cc {
                change.tokens.push(self.link_record(
                    TokenKind::Signer,
                    staff.organization,
                    id,
                    r,
                    None,
                ));
            }
        }
        self.after_transition(
            &mut record,
            &mut change,
            caller,
            &staff.actor,
            "send",
            serde_json::json!({}),
        )?;
        change.envelope = Some(self.write_from(&before, &record));
        self.store.apply(change).await?;
        self.envelope(staff, &id.to_string()).await
    }

    /// The jobs and audit entry that follow a state change: emails to whoever's turn it now is,
    /// sealing work, webhooks.
    pub(crate) fn after_transition(
        &self,
        record: &mut EnvelopeRecord,
        change: &mut Change,
        caller: &Caller,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let org = record.organization();
        let id = record.id();
        change
            .audit
            .push(self.audit_entry(org, actor, action, Some(id), None, caller, detail));
        match record.envelope.status() {
            EnvelopeStatus::AwaitingApproval => {
                for r in record.envelope.recipients() {
                    if r.role == Role::Approver && r.state == inkan_domain::RecipientState::Waiting
                    {
                        change.jobs.push(self.mail_job(
                            org,
                            id,
                            Some(r.id),
                            MailKind::ApprovalRequest,
                        ));
                    }
                }
            }
            EnvelopeStatus::Sent | EnvelopeStatus::PartiallySigned | EnvelopeStatus::Completed => {
                // The seal job prepares documents and applies signatures in order.
                change.jobs.push(self.seal_job(org, id));
                for r in record.envelope.due() {
                    change
                        .jobs
                        .push(self.mail_job(org, id, Some(r), MailKind::SignatureRequest));
                }
            }
            EnvelopeStatus::Declined { .. } => {
                change
                    .jobs
                    .push(self.mail_job(org, id, None, MailKind::Declined));
            }
            EnvelopeStatus::Cancelled { .. } => {
                change
                    .jobs
                    .push(self.mail_job(org, id, None, MailKind::Cancelled));
            }
            EnvelopeStatus::Expired => {
                change
                    .jobs
                    .push(self.mail_job(org, id, None, MailKind::Expired));
            }
            // Imported contracts are filed in one step (`imports.rs`), never transitioned.
            EnvelopeStatus::Draft | EnvelopeStatus::Imported => {}
        }
        change.jobs.push(self.event_job(org, id, action));
        Ok(())
    }

    pub(crate) fn write_from(
        &self,
        before: &EnvelopeRecord,
        after: &EnvelopeRecord,
    ) -> EnvelopeWrite {
        let mut next = after.clone();
        next.updated_at = self.now();
        EnvelopeWrite {
            expected_version: Some(before.version),
            record: next,
        }
    }

    /// Cancels (取消) an envelope that is not finished, with a reason.
    pub async fn cancel(
        &self,
        staff: &Staff,
        id: &str,
        reason: &str,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        let id = Self::parse_envelope_id(id)?;
        let mut record = self.changeable(staff, id).await?;
        let before = record.clone();
        if record.envelope.cancel(reason)? == Outcome::Changed(record.envelope.status().clone()) {
            let mut change = Change {
                now: self.now(),
                ..Change::default()
            };
            self.after_transition(
                &mut record,
                &mut change,
                caller,
                &staff.actor,
                "cancel",
                serde_json::json!({ "reason": reason.trim() }),
            )?;
            change.envelope = Some(self.write_from(&before, &record));
            self.store.apply(change).await?;
        }
        self.envelope(staff, &id.to_string()).await
    }

    /// Sends the request again to everyone whose turn it is (リマインド).
    pub async fn remind(&self, staff: &Staff, id: &str, caller: &Caller) -> Result<EnvelopeView> {
        let id = Self::parse_envelope_id(id)?;
        let record = self.changeable(staff, id).await?;
        let org = staff.organization;
        let mut change = Change {
            now: self.now(),
            ..Change::default()
        };
        match record.envelope.status() {
            EnvelopeStatus::Sent | EnvelopeStatus::PartiallySigned => {
                for r in record.envelope.due() {
                    change
                        .jobs
                        .push(self.mail_job(org, id, Some(r), MailKind::Reminder));
                }
            }
            EnvelopeStatus::AwaitingApproval => {
                for r in record.envelope.recipients() {
                    if r.role == Role::Approver && r.state == inkan_domain::RecipientState::Waiting
                    {
                        change.jobs.push(self.mail_job(
                            org,
                            id,
                            Some(r.id),
                            MailKind::ApprovalRequest,
                        ));
                    }
                }
            }
            other => {
                return Err(ServiceError::NotAllowed(format!(
                    "{}の封筒にはリマインドする宛先がありません (an envelope that is {} has no one to remind)",
                    other.japanese(),
                    other.english()
                )))
            }
        }
        change.audit.push(self.audit_entry(
            org,
            &staff.actor,
            "remind",
            Some(id),
            None,
            caller,
            serde_json::json!({}),
        ));
        self.store.apply(change).await?;
        self.envelope(staff, &id.to_string()).await
    }

    /// Sends a recipient a fresh link (their mail was forwarded, or the link leaked): the old
    /// link stops working at once, and the request mail goes out again with the new one.
    pub async fn send_fresh_link(
        &self,
        staff: &Staff,
        id: &str,
        recipient: &str,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        let id = Self::parse_envelope_id(id)?;
        let org = staff.organization;
        let mut record = self.changeable(staff, id).await?;
        let rid: RecipientId = recipient
            .parse()
            .map_err(|_| ServiceError::NotFound("the recipient"))?;
        let old = record
            .envelope
            .recipient(rid)
            .cloned()
            .ok_or(ServiceError::NotFound("the recipient"))?;
        record.envelope.renew_link(rid)?;
        let renewed = record
            .envelope
            .recipient(rid)
            .cloned()
            .ok_or(ServiceError::NotFound("the recipient"))?;
        let kind = match renewed.role {
            Role::Approver => MailKind::ApprovalRequest,
            _ => MailKind::SignatureRequest,
        };
        let mut change = Change {
            now: self.now(),
            envelope: Some(self.write(&record)),
            ..Change::default()
        };
        change.revoked_tokens.push(
            self.link_record(TokenKind::Signer, org, id, &old, None)
                .hash,
        );
        change
            .tokens
            .push(self.link_record(TokenKind::Signer, org, id, &renewed, None));
        change.jobs.push(self.mail_job(org, id, Some(rid), kind));
        change.audit.push(self.audit_entry(
            org,
            &staff.actor,
            "new_link",
            Some(id),
            None,
            caller,
            serde_json::json!({ "recipient": rid.to_string(), "email": renewed.email.to_string() }),
        ));
        self.store.apply(change).await?;
        self.envelope(staff, &id.to_string()).await
    }

    /// The signer-page links of a sent envelope's approvers and signers (to hand over by other
    /// means when a mail went astray).
    pub async fn recipient_links(
        &self,
        staff: &Staff,
        id: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let id = Self::parse_envelope_id(id)?;
        let record = self.changeable(staff, id).await?;
        if *record.envelope.status() == EnvelopeStatus::Draft {
            return Err(ServiceError::NotAllowed(
                "下書きにはまだリンクがありません。先に送信してください (a draft has no links yet: send it first)".into(),
            ));
        }
        Ok(record
            .envelope
            .recipients()
            .iter()
            .filter(|r| r.role != Role::Cc)
            .map(|r| {
                (
                    r.name.clone(),
                    r.email.to_string(),
                    self.link_url(TokenKind::Signer, id, r),
                )
            })
            .collect())
    }

    /// One envelope with its documents and progress.
    pub async fn envelope(&self, staff: &Staff, id: &str) -> Result<EnvelopeView> {
        let id = Self::parse_envelope_id(id)?;
        let record = self.visible(staff, id).await?;
        let documents = self.store.documents(staff.organization, id).await?;
        let attachments = self.store.attachments(staff.organization, id).await?;
        Ok(envelope_view(&record, &documents, &attachments))
    }

    /// The organization's envelopes, newest first, optionally of one status.
    pub async fn envelopes(
        &self,
        staff: &Staff,
        status: Option<StatusKind>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<EnvelopeSummary>> {
        staff.require_some_reading()?;
        let filter = EnvelopeFilter {
            status,
            reach: staff.rights.reads,
            folder: None,
            limit: limit.clamp(1, 500),
            offset,
        };
        Ok(self
            .store
            .envelopes(staff.organization, &filter)
            .await?
            .iter()
            .map(summary)
            .collect())
    }

    /// A document's current revision (the signed PDF once sealed), recorded in the audit trail.
    pub async fn download_document(
        &self,
        staff: &Staff,
        envelope: &str,
        document: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let envelope = Self::parse_envelope_id(envelope)?;
        self.visible(staff, envelope).await?;
        self.read_document(staff.organization, envelope, document, &staff.actor, caller)
            .await
    }

    /// A document's current revision, for whoever may read it (staff, a signer, a completion
    /// page), recorded as a download in the audit trail.
    pub(crate) async fn read_document(
        &self,
        organization: inkan_domain::OrganizationId,
        envelope: EnvelopeId,
        document: &str,
        actor: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let document: DocumentId = document
            .parse()
            .map_err(|_| ServiceError::NotFound("the document"))?;
        let doc = self
            .store
            .document(organization, document)
            .await?
            .filter(|d| d.envelope == envelope)
            .ok_or(ServiceError::NotFound("the document"))?;
        let bytes = self.get_blob(&doc.current_blob).await?;
        self.append_audit(self.audit_entry(
            organization,
            actor,
            "download",
            Some(envelope),
            Some(document),
            caller,
            serde_json::json!({ "name": doc.name, "revision": doc.revision, "sha256": doc.sha256 }),
        ))
        .await?;
        Ok((doc.name, bytes))
    }

    /// A sender's or signer's attachment, recorded in the audit trail.
    pub async fn download_attachment(
        &self,
        staff: &Staff,
        envelope: &str,
        attachment: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let envelope = Self::parse_envelope_id(envelope)?;
        self.visible(staff, envelope).await?;
        let a = self
            .store
            .attachments(staff.organization, envelope)
            .await?
            .into_iter()
            .find(|a| a.id.to_string() == attachment)
            .ok_or(ServiceError::NotFound("the attachment"))?;
        let bytes = self.get_blob(&a.blob).await?;
        self.append_audit(self.audit_entry(
            staff.organization,
            &staff.actor,
            "download",
            Some(envelope),
            None,
            caller,
            serde_json::json!({ "attachment": a.id.to_string(), "name": a.name }),
        ))
        .await?;
        Ok((a.name, bytes))
    }

    /// 電帳法 search: 取引年月日 and 取引金額 ranges and 取引先, in any combination.
    pub async fn search(&self, staff: &Staff, query: &SearchInput) -> Result<Vec<DocumentHitView>> {
        staff.require_some_reading()?;
        let mut q = query.to_query()?;
        q.reach = staff.rights.reads;
        Ok(self
            .store
            .search_documents(staff.organization, &q)
            .await?
            .into_iter()
            .map(hit_view)
            .collect())
    }

    /// An envelope's audit trail (or the organization's, for `None`).
    pub async fn audit_trail(
        &self,
        staff: &Staff,
        envelope: Option<&str>,
    ) -> Result<Vec<inkan_store::AuditEntry>> {
        let envelope = match envelope {
            Some(id) => {
                let id = Self::parse_envelope_id(id)?;
                // Another organization's (or no, or an unreadable) envelope is "not found",
                // not an empty trail.
                self.visible(staff, id).await?;
                Some(id)
            }
            // The organization's whole trail: for those who administer it.
            None => {
                self.require_admin(staff).await?;
                None
            }
        };
        Ok(self
            .store
            .audit_entries(staff.organization, envelope)
            .await?)
    }
}

/// A search hit as the API shows it.
pub(crate) fn hit_view(hit: inkan_store::DocumentHit) -> DocumentHitView {
    DocumentHitView {
        envelope_id: hit.document.envelope.to_string(),
        envelope_title: hit.envelope_title,
        envelope_number: hit.envelope_number,
        envelope_status: hit.envelope_status,
        document: document_view(&hit.document, None),
    }
}

/// The recipients of a new envelope by the keys the request names them with.
pub(crate) struct RecipientKeys {
    keys: Vec<(String, RecipientId, Role)>,
}

impl RecipientKeys {
    /// Checks each recipient (role, unique key, address, name, signature method) and adds it
    /// to `envelope`.
    pub(crate) fn add(envelope: &mut Envelope, input: &[NewRecipient]) -> Result<Self> {
        let mut keys: Vec<(String, RecipientId, Role)> = Vec::new();
        for (i, r) in input.iter().enumerate() {
            let role = r.role;
            if keys.iter().any(|(k, _, _)| *k == r.key) {
                return Err(ServiceError::Invalid(format!(
                    "宛先のキーが重複しています (two recipients have the key {:?})",
                    r.key
                )));
            }
            let in_recipient = |e: inkan_domain::DomainError| {
                ServiceError::Invalid(format!("recipients[{i}]: {e}"))
            };
            let email: Email = r.email.parse().map_err(in_recipient)?;
            let name =
                text::required_line("受信者の氏名 (name)", &r.name, 100).map_err(in_recipient)?;
            let mut recipient = Recipient::new(&name, email, role, r.order);
            recipient.method = r.method;
            recipient.check =
                crate::signer_check::check_of(r.access_code.as_deref(), r.sms_phone.as_deref())
                    .map_err(|e| ServiceError::Invalid(format!("recipients[{i}]: {e}")))?;
            keys.push((r.key.clone(), recipient.id, role));
            envelope.add_recipient(recipient)?;
        }
        Ok(RecipientKeys { keys })
    }

    /// The recipient a request names by `key`, with their role.
    fn get(&self, key: &str) -> Result<(RecipientId, Role)> {
        self.keys
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, id, role)| (*id, *role))
            .ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "そのキーの宛先はありません (no recipient has the key {key:?})"
                ))
            })
    }

    /// The signer named by `key` (another role is refused).
    fn signer(&self, key: &str) -> Result<RecipientId> {
        match self.get(key)? {
            (id, Role::Signer) => Ok(id),
            _ => Err(ServiceError::Invalid(format!(
                "署名者ではありません (not a signer): {key:?}"
            ))),
        }
    }

    fn signers(&self) -> Vec<RecipientId> {
        self.keys
            .iter()
            .filter(|(_, _, role)| *role == Role::Signer)
            .map(|(_, id, _)| *id)
            .collect()
    }

    /// The fields of document `d` (「name」, of `pages` pages): each for a signer and on a page
    /// the document has, one signature field per signer at most; then a signature field for
    /// every signer of the document who has none (invisible unless placed). Who signs: those
    /// the document names, else every signer.
    pub(crate) fn fields_of(&self, d: &NewDocument, name: &str, pages: u32) -> Result<Vec<Field>> {
        let mut fields = Vec::new();
        for f in &d.fields {
            let (recipient, role) = self.get(&f.recipient)?;
            if role != Role::Signer {
                return Err(ServiceError::Invalid(format!(
                    "入力項目は署名者にだけ置けます (fields are for signers; {:?} is not a signer)",
                    f.recipient
                )));
            }
            let placement = f.placement.map(|p| Placement {
                page: p.page,
                x: p.x,
                y: p.y,
                width: p.width,
                height: p.height,
            });
            if placement.is_some_and(|p| p.page > pages) {
                return Err(ServiceError::Invalid(format!(
                    "「{name}」は{pages}ページです (a field of {:?} is placed on page {} of 「{name}」, which has {pages} pages)",
                    f.recipient,
                    placement.map_or(0, |p| p.page)
                )));
            }
            let kind = f.kind;
            if kind == FieldKind::Signature
                && fields
                    .iter()
                    .any(|x: &Field| x.recipient == recipient && x.kind == FieldKind::Signature)
            {
                return Err(ServiceError::Invalid(format!(
                    "署名欄は文書ごとに宛先1人につき1つです (one signature per document: {:?} has two on 「{name}」)",
                    f.recipient
                )));
            }
            fields.push(
                Field::new(recipient, kind, &f.label, f.required, placement)?
                    .with_date_format(f.date_format),
            );
        }
        let doc_signers: Vec<RecipientId> = match &d.signers {
            Some(list) => list.iter().map(|k| self.signer(k)).collect::<Result<_>>()?,
            None => self.signers(),
        };
        for s in &doc_signers {
            if !inkan_domain::signs(&fields, *s) {
                fields.push(Field::new(*s, FieldKind::Signature, "", true, None)?);
            }
        }
        Ok(fields)
    }
}

/// 電帳法 search criteria as a request gives them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct SearchInput {
    /// 取引年月日 from (YYYY-MM-DD).
    pub date_from: Option<String>,
    /// 取引年月日 to (YYYY-MM-DD).
    pub date_to: Option<String>,
    /// 取引金額 from.
    pub amount_min: Option<String>,
    /// 取引金額 to.
    pub amount_max: Option<String>,
    /// 取引先 (part of the name).
    pub counterparty: Option<String>,
    /// Only concluded documents.
    #[serde(default)]
    pub completed_only: bool,
}

impl SearchInput {
    /// The criteria as the audit trail records them.
    pub(crate) fn described(&self) -> serde_json::Value {
        serde_json::json!({
            "date_from": self.date_from,
            "date_to": self.date_to,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "counterparty": self.counterparty,
            "completed_only": self.completed_only,
        })
    }

    pub(crate) fn to_query(&self) -> Result<DocumentQuery> {
        let date = |d: &Option<String>| -> Result<Option<String>> {
            parse_metadata(&MetadataInput {
                date: d.clone(),
                ..Default::default()
            })
            .map(|m| m.date)
        };
        let amount = |a: &Option<String>| -> Result<Option<Yen>> {
            parse_metadata(&MetadataInput {
                amount: a.clone(),
                ..Default::default()
            })
            .map(|m| m.amount)
        };
        Ok(DocumentQuery {
            date_from: date(&self.date_from)?,
            date_to: date(&self.date_to)?,
            amount_min: amount(&self.amount_min)?,
            amount_max: amount(&self.amount_max)?,
            counterparty: self.counterparty.clone().filter(|c| !c.trim().is_empty()),
            completed_only: self.completed_only,
            reach: inkan_store::Reach::Nothing,
            limit: 1000,
            after: None,
        })
    }
}
