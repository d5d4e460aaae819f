//! The `seal` job: brings every document of an envelope up to date with the envelope's state,
//! one committed step at a time —
//! 1. revision 0 → 1: the 締結証明書ID stamped, fields placed, certified (P=2) by the service;
//! 2. one revision per signer who has completed, in the order they completed, with their
//!    fields filled; the document's last signature goes to B-LTA;
//! 3. when the envelope is completed and every document is done: sealed, with its signed
//!    電子契約締結証明書, library entries for its recipients, completion links and emails, the
//!    `envelope.completed` webhook.
//!
//! Each step writes its PDF to a new blob and commits the document's new revision together with
//! the envelope's version. A step interrupted by a crash is simply redone by the next attempt
//! (the uncommitted blob is unreferenced); a step raced by a concurrent change loses on the
//! version check and is redone on the new state. So a signature is in a document exactly once.

use inkan_domain::{
    signs, EnvelopeId, EnvelopeStatus, JobId, OrganizationId, RecipientId, RecipientState, Role,
    SignatureMethod,
};
use inkan_store::{Change, DocumentRecord, EnvelopeRecord, NewJob, StoreError, TokenKind};
use serde::{Deserialize, Serialize};

use crate::engine::{witness_reason, SignAs};
use crate::envelopes::blob_key;
use crate::notify::MailKind;
use crate::{Caller, Inkan, Result, ServiceError};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SealJob {
    pub organization: OrganizationId,
    pub envelope: EnvelopeId,
}

/// The next thing to do to one document.
enum Step {
    Prepare { last: bool },
    Sign { recipient: RecipientId, last: bool },
}

/// The signers of a document: those with a signature field on it.
fn signers_of(record: &EnvelopeRecord, doc: &DocumentRecord) -> Vec<RecipientId> {
    record
        .envelope
        .recipients()
        .iter()
        .filter(|r| r.role == Role::Signer && signs(&doc.fields, r.id))
        .map(|r| r.id)
        .collect()
}

fn next_step(record: &EnvelopeRecord, doc: &DocumentRecord) -> Option<Step> {
    let signers = signers_of(record, doc);
    if doc.revision == 0 {
        return Some(Step::Prepare {
            last: signers.is_empty(),
        });
    }
    let mut pending: Vec<_> = record
        .envelope
        .recipients()
        .iter()
        .filter(|r| {
            r.state == RecipientState::Done
                && signers.contains(&r.id)
                && !doc.signed_by.contains(&r.id)
        })
        .collect();
    pending.sort_by_key(|r| r.done_at);
    pending.first().map(|r| Step::Sign {
        recipient: r.id,
        last: doc.signed_by.len() + 1 == signers.len(),
    })
}

impl Inkan {
    pub(crate) fn seal_job(&self, organization: OrganizationId, envelope: EnvelopeId) -> NewJob {
        NewJob {
            id: JobId::new(),
            kind: "seal".into(),
            payload: serde_json::to_value(SealJob {
                organization,
                envelope,
            })
            .unwrap_or_default(),
            organization: Some(organization),
            run_at: self.now(),
            max_attempts: 12,
            dedupe_key: Some(format!("seal:{envelope}")),
            only_with_webhooks: false,
        }
    }

    /// Runs the seal job of an envelope until nothing is left to do now.
    pub(crate) async fn run_seal(&self, payload: &serde_json::Value) -> Result<()> {
        let job: SealJob = serde_json::from_value(payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("seal job payload: {e}")))?;
        // The state the next step is computed on: read from the store at first and after a
        // conflict; after a committed step, what that step wrote (a store read per step less).
        // A signer who completes meanwhile queues a seal job of their own, which runs when
        // this one ends: nothing is missed by not reading again. (A step changes neither the
        // status nor `sealed_at`: the state stays sealable.)
        let mut known: Option<(EnvelopeRecord, Vec<DocumentRecord>)> = None;
        // Bounded: every iteration either commits a step or returns; conflicts are rare.
        for _ in 0..10_000 {
            let (record, documents) = match known.take() {
                Some(state) => state,
                None => {
                    let record = self.load(job.organization, job.envelope).await?;
                    if !Self::sealable(&record) {
                        return Ok(());
                    }
                    let documents = self.store.documents(job.organization, job.envelope).await?;
                    (record, documents)
                }
            };
            let step = documents
                .iter()
                .find_map(|d| next_step(&record, d).map(|s| (d, s)));
            let concluding = step.is_none();
            let change = match step {
                Some((doc, step)) => self.seal_step(&record, doc, step).await?,
                None if *record.envelope.status() == EnvelopeStatus::Completed => {
                    self.sealed(&record, &documents).await?
                }
                None => return Ok(()), // waiting for signers
            };
            let written = written_state(&change, documents);
            match self.store.apply(change).await {
                Ok(()) if concluding => {
                    self.forget_own_keys(&record).await;
                    return Ok(());
                }
                Ok(()) => known = written,
                Err(StoreError::Conflict) => continue, // the envelope moved on: redo on the new state
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::internal("sealing did not converge"))
    }

    /// Whether the seal job has work on this envelope: sent, partly signed or completed, and
    /// not sealed yet.
    fn sealable(record: &EnvelopeRecord) -> bool {
        matches!(
            record.envelope.status(),
            EnvelopeStatus::Sent | EnvelopeStatus::PartiallySigned | EnvelopeStatus::Completed
        ) && record.sealed_at.is_none()
    }

    async fn seal_step(
        &self,
        record: &EnvelopeRecord,
        doc: &DocumentRecord,
        step: Step,
    ) -> Result<Change> {
        let previous = self.read_blob(&doc.current_blob).await?;
        let current = &previous.bytes;
        let lta = match step {
            Step::Prepare { last } | Step::Sign { last, .. } => last,
        };
        let before = record;
        let mut record = record.clone();
        let (bytes, detail, signer) = match step {
            Step::Prepare { last } => {
                let bytes = self
                    .engine
                    .prepare(current, &record.envelope.conclusion_id, &doc.fields, last)
                    .await?;
                (
                    bytes,
                    serde_json::json!({ "step": "certify", "lta": last }),
                    None,
                )
            }
            Step::Sign { recipient, last } => {
                let r = before
                    .envelope
                    .recipient(recipient)
                    .ok_or(ServiceError::NotFound("the signer"))?;
                let signed_at = r.done_at.unwrap_or_else(|| self.now());
                let who = match r.method {
                    SignatureMethod::Witness => SignAs::Witness {
                        name: r.name.clone(),
                        reason: witness_reason(&r.name, r.email.as_str(), signed_at),
                    },
                    SignatureMethod::Party => SignAs::Party {
                        name: r.name.clone(),
                        email: r.email.to_string(),
                        own: self
                            .own_key(doc.organization, doc.envelope, recipient)
                            .await?
                            .map(Box::new),
                    },
                };
                let (bytes, certificate) = self
                    .engine
                    .sign(current, recipient, &doc.fields, &who, signed_at, last)
                    .await?;
                if r.method == SignatureMethod::Party {
                    // 実印タイプ: the certificate's subject is known now, when the signature is
                    // made; the 電子契約締結証明書 prints it from this record.
                    record.envelope.record_certificate_subject(
                        recipient,
                        inkan_pki::x509::name_lines(&certificate.tbs_certificate.subject),
                    )?;
                }
                (
                    bytes,
                    serde_json::json!({ "step": "sign", "signer": recipient.to_string(), "method": r.method.japanese(), "lta": last }),
                    Some(recipient),
                )
            }
        };
        let mut next = doc.clone();
        next.revision += 1;
        if lta {
            // Sealed: when its proof runs out, for the archive-renewal job (read again by the
            // job should this fail).
            next.archive_until = self.engine.archive_horizon(&bytes).ok();
        }
        let key = blob_key(
            doc.organization,
            doc.envelope,
            &format!("doc/{}/r{}", doc.id, next.revision),
        );
        let (size, sha256) = self.put_blob_after(&key, &previous, &bytes).await?;
        next.current_blob = key;
        next.size = size;
        next.sha256 = sha256.clone();
        if let Some(r) = signer {
            next.signed_by.push(r);
        }
        let mut detail = detail;
        detail["revision"] = next.revision.into();
        detail["sha256"] = sha256.into();
        detail["document"] = doc.name.clone().into();
        Ok(Change {
            envelope: Some(self.write_from(before, &record)),
            audit: vec![self.audit_entry(
                doc.organization,
                "system",
                "seal_step",
                Some(doc.envelope),
                Some(doc.id),
                &Caller::default(),
                detail,
            )],
            documents: vec![next],
            now: self.now(),
            ..Change::default()
        })
    }

    /// Deletes the keys signers brought, once their signatures are in every document. Best
    /// effort: a key left behind stays encrypted and is reported.
    async fn forget_own_keys(&self, record: &EnvelopeRecord) {
        for r in record.envelope.recipients() {
            if r.method == SignatureMethod::Party {
                let key =
                    crate::own_certificate::key_blob(record.organization(), record.id(), r.id);
                if let Ok(key) = inkan_blobs::BlobKey::new(key) {
                    if let Err(e) = self.blobs.delete(&key).await {
                        tracing::warn!(envelope = %record.id(), error = %e, "a signer's key could not be deleted after sealing");
                    }
                }
            }
        }
    }

    /// The change that concludes an envelope: sealed, its signed certificate of conclusion,
    /// the recipients' library entries, completion links (14 days) and emails.
    async fn sealed(
        &self,
        record: &EnvelopeRecord,
        documents: &[DocumentRecord],
    ) -> Result<Change> {
        let now = self.now();
        let org = record.organization();
        let id = record.id();
        let mut sealed = record.clone();
        sealed.sealed_at = Some(now);
        sealed.certificate = Some(self.issue_certificate(record, documents, now).await?);
        let expires = now + self.settings.completion_link_days * 86_400;
        let mut change = Change {
            now,
            ..Change::default()
        };
        for r in record.envelope.recipients() {
            if matches!(r.role, Role::Signer | Role::Cc) {
                change.library.push(inkan_store::LibraryEntry {
                    email: r.email.as_str().to_lowercase(),
                    organization: org,
                    envelope: id,
                    recipient: r.id,
                    concluded_at: now,
                });
                change.tokens.push(self.link_record(
                    TokenKind::Completion,
                    org,
                    id,
                    r,
                    Some(expires),
                ));
                change
                    .jobs
                    .push(self.mail_job(org, id, Some(r.id), MailKind::Completed));
            }
        }
        change
            .jobs
            .push(self.mail_job(org, id, None, MailKind::Completed));
        change.jobs.push(self.event_job(org, id, "completed"));
        change.audit.push(self.audit_entry(
            org,
            "system",
            "sealed",
            Some(id),
            None,
            &Caller::default(),
            serde_json::json!({
                "conclusion_id": record.envelope.conclusion_id.to_string(),
                "certificate_sha256": sealed.certificate.as_ref().map(|c| c.sha256.clone()),
            }),
        ));
        change.envelope = Some(self.write_from(record, &sealed));
        Ok(change)
    }
}

/// The envelope and documents as the store holds them once `change` (a seal step, made from
/// `documents`) is committed: its envelope at the next version, its documents in place of the
/// ones they update. `None` if the change writes no envelope.
fn written_state(
    change: &Change,
    mut documents: Vec<DocumentRecord>,
) -> Option<(EnvelopeRecord, Vec<DocumentRecord>)> {
    let write = change.envelope.as_ref()?;
    let mut record = write.record.clone();
    record.version = write.expected_version?.checked_add(1)?;
    for written in &change.documents {
        if let Some(doc) = documents.iter_mut().find(|d| d.id == written.id) {
            *doc = written.clone();
        }
    }
    Some((record, documents))
}
