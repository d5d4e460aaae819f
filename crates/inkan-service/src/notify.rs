//! Emails as durable jobs: the job names the envelope, the recipient and the kind of mail; the
//! worker renders it from the envelope's current data and sends it. Links are derived when the
//! mail is rendered (see `secrets`), so no job row ever holds a usable link.

use inkan_domain::{EnvelopeId, EnvelopeStatus, JobId, OrganizationId, RecipientId, Role};
use inkan_mail::{Address, Lang, OutgoingMail, Template};
use inkan_store::{EnvelopeRecord, NewJob, TokenKind};
use serde::{Deserialize, Serialize};

use crate::{Inkan, Result, ServiceError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MailKind {
    SignatureRequest,
    Reminder,
    ApprovalRequest,
    Completed,
    Declined,
    Cancelled,
    Expired,
    /// 要対応: the archive timestamp cannot be renewed (to the sender; [`MailJob::archive`]).
    ArchiveRenewalFailing,
    /// 要対応: wrong codes locked a signer's link (to the sender; the job names the signer).
    SignerLinkLocked,
}

/// What the archive alert tells: when the proof runs out, and why renewing failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ArchiveAlert {
    pub proof_ends_at: i64,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MailJob {
    pub organization: OrganizationId,
    pub envelope: EnvelopeId,
    /// The recipient it is for; `None` for the notices that go to the sender and the
    /// recipients who were involved.
    pub recipient: Option<RecipientId>,
    pub kind: MailKind,
    /// For [`MailKind::ArchiveRenewalFailing`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveAlert>,
}

impl Inkan {
    pub(crate) fn mail_job(
        &self,
        organization: OrganizationId,
        envelope: EnvelopeId,
        recipient: Option<RecipientId>,
        kind: MailKind,
    ) -> NewJob {
        self.queued_mail(MailJob {
            organization,
            envelope,
            recipient,
            kind,
            archive: None,
        })
    }

    /// The mail telling an envelope's sender that its archive timestamp cannot be renewed.
    pub(crate) fn archive_alert_mail(
        &self,
        organization: OrganizationId,
        envelope: EnvelopeId,
        alert: ArchiveAlert,
    ) -> NewJob {
        self.queued_mail(MailJob {
            organization,
            envelope,
            recipient: None,
            kind: MailKind::ArchiveRenewalFailing,
            archive: Some(alert),
        })
    }

    fn queued_mail(&self, job: MailJob) -> NewJob {
        let organization = job.organization;
        NewJob {
            id: JobId::new(),
            kind: "email".into(),
            payload: serde_json::to_value(&job).unwrap_or_default(),
            organization: Some(organization),
            run_at: self.now(),
            max_attempts: 8,
            dedupe_key: None,
            only_with_webhooks: false,
        }
    }

    /// Sends the mail(s) of an email job. The idempotency key makes a retried send the same
    /// message (same Message-ID, same .eml file).
    pub(crate) async fn run_mail_job(
        &self,
        job_id: JobId,
        payload: &serde_json::Value,
    ) -> Result<()> {
        let job: MailJob = serde_json::from_value(payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("email job payload: {e}")))?;
        let Some(record) = self.store.envelope(job.organization, job.envelope).await? else {
            return Err(ServiceError::NotFound("the envelope of this email"));
        };
        let org = self
            .store
            .organization(job.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let documents: Vec<String> = self
            .store
            .documents(job.organization, job.envelope)
            .await?
            .into_iter()
            .map(|d| d.name)
            .collect();
        let counterparty = match record.counterparty {
            Some(id) => self
                .store
                .counterparty(job.organization, id)
                .await?
                .map(|c| c.trade_name),
            None => None,
        };
        let attachments = match job.kind {
            MailKind::Completed if self.settings.attach_certificate => self
                .certificate_attachment(&record)
                .await?
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for (n, (to, template)) in self
            .mails_for(
                &record,
                &org.name,
                &documents,
                counterparty.as_deref(),
                &job,
            )?
            .into_iter()
            .enumerate()
        {
            let mail = OutgoingMail {
                to: vec![to],
                from: parse_from(&self.settings.mail_from),
                reply_to: (!record.sender_email.is_empty())
                    .then(|| Address::new(&record.sender_name, &record.sender_email)),
                rendered: inkan_mail::render(&template, Lang::Ja),
                idempotency_key: format!("{job_id}-{n}"),
                attachments: attachments.clone(),
            };
            self.mailer.send(&mail).await.map_err(|e| {
                if e.is_permanent() {
                    ServiceError::Invalid(format!("the mail was refused: {e}"))
                } else {
                    ServiceError::Unavailable(format!("the mail could not be sent yet: {e}"))
                }
            })?;
        }
        Ok(())
    }

    fn mails_for(
        &self,
        record: &EnvelopeRecord,
        org_name: &str,
        documents: &[String],
        counterparty: Option<&str>,
        job: &MailJob,
    ) -> Result<Vec<(Address, Template)>> {
        let e = &record.envelope;
        let message = (!e.message.is_empty()).then(|| e.message.clone());
        let staff_url = format!("{}/app/envelopes/{}", self.settings.public_url, e.id);
        let sender = (!record.sender_email.is_empty())
            .then(|| Address::new(&record.sender_name, &record.sender_email));
        let recipient = match job.recipient {
            Some(r) => Some(
                e.recipient(r)
                    .ok_or(ServiceError::NotFound("the recipient"))?,
            ),
            None => None,
        };
        let involved = || {
            e.recipients()
                .iter()
                .filter(|r| r.role != Role::Cc)
                .map(|r| Address::new(&r.name, r.email.as_str()))
                .chain(sender.clone())
                .collect::<Vec<_>>()
        };
        let out = match (job.kind, recipient) {
            (MailKind::SignatureRequest | MailKind::Reminder, Some(r)) => {
                if !e.due().contains(&r.id) {
                    return Ok(Vec::new()); // no longer their turn (signed, declined, cancelled)
                }
                let data = inkan_mail::SignatureRequest {
                    organization: org_name.into(),
                    sender_name: record.sender_name.clone(),
                    recipient_name: r.name.clone(),
                    envelope_title: e.title.clone(),
                    message,
                    documents: documents.to_vec(),
                    deadline: e.deadline,
                    signer_url: self.link_url(TokenKind::Signer, e.id, r),
                    number: e.number.clone(),
                    counterparty: counterparty.map(str::to_string),
                };
                let t = if job.kind == MailKind::Reminder {
                    Template::Reminder(data)
                } else {
                    Template::SignatureRequest(data)
                };
                vec![(Address::new(&r.name, r.email.as_str()), t)]
            }
            (MailKind::ApprovalRequest, Some(r)) => {
                if *e.status() != EnvelopeStatus::AwaitingApproval {
                    return Ok(Vec::new());
                }
                vec![(
                    Address::new(&r.name, r.email.as_str()),
                    Template::ApprovalRequest(inkan_mail::ApprovalRequest {
                        organization: org_name.into(),
                        requester_name: record.sender_name.clone(),
                        approver_name: r.name.clone(),
                        envelope_title: e.title.clone(),
                        message,
                        documents: documents.to_vec(),
                        deadline: e.deadline,
                        approval_url: self.link_url(TokenKind::Signer, e.id, r),
                    }),
                )]
            }
            (MailKind::Completed, Some(r)) => vec![(
                Address::new(&r.name, r.email.as_str()),
                Template::Completed(inkan_mail::Completed {
                    organization: org_name.into(),
                    recipient_name: r.name.clone(),
                    envelope_title: e.title.clone(),
                    documents: documents.to_vec(),
                    sender_name: record.sender_name.clone(),
                    download_url: self.link_url(TokenKind::Completion, e.id, r),
                    download_expires_at: record.sealed_at.unwrap_or(record.updated_at)
                        + self.settings.completion_link_days * 86_400,
                    number: e.number.clone(),
                    counterparty: counterparty.map(str::to_string),
                }),
            )],
            (MailKind::Completed, None) => match sender {
                Some(s) => vec![(
                    s.clone(),
                    Template::Completed(inkan_mail::Completed {
                        organization: org_name.into(),
                        recipient_name: s.name.clone(),
                        envelope_title: e.title.clone(),
                        documents: documents.to_vec(),
                        sender_name: record.sender_name.clone(),
                        download_url: staff_url,
                        download_expires_at: record.sealed_at.unwrap_or(record.updated_at)
                            + self.settings.completion_link_days * 86_400,
                        number: e.number.clone(),
                        counterparty: counterparty.map(str::to_string),
                    }),
                )],
                None => Vec::new(),
            },
            (MailKind::Declined, _) => {
                let EnvelopeStatus::Declined { by, reason } = e.status() else {
                    return Ok(Vec::new());
                };
                let who = e.recipient(*by);
                involved()
                    .into_iter()
                    .map(|to| {
                        let t = Template::Declined(inkan_mail::Declined {
                            organization: org_name.into(),
                            recipient_name: to.name.clone(),
                            envelope_title: e.title.clone(),
                            declined_by_name: who.map(|w| w.name.clone()).unwrap_or_default(),
                            declined_by_email: who.map(|w| w.email.to_string()).unwrap_or_default(),
                            reason: reason.clone(),
                            declined_at: record.updated_at,
                            envelope_url: None,
                        });
                        (to, t)
                    })
                    .collect()
            }
            (MailKind::Cancelled, _) => {
                let EnvelopeStatus::Cancelled { reason } = e.status() else {
                    return Ok(Vec::new());
                };
                involved()
                    .into_iter()
                    .map(|to| {
                        let t = Template::Cancelled(inkan_mail::Cancelled {
                            organization: org_name.into(),
                            recipient_name: to.name.clone(),
                            envelope_title: e.title.clone(),
                            reason: reason.clone(),
                            cancelled_at: record.updated_at,
                        });
                        (to, t)
                    })
                    .collect()
            }
            (MailKind::Expired, _) => involved()
                .into_iter()
                .map(|to| {
                    let t = Template::Expired(inkan_mail::Expired {
                        organization: org_name.into(),
                        recipient_name: to.name.clone(),
                        envelope_title: e.title.clone(),
                        deadline: e.deadline,
                        envelope_url: None,
                    });
                    (to, t)
                })
                .collect(),
            (MailKind::ArchiveRenewalFailing, _) => {
                let (Some(to), Some(alert)) = (sender, &job.archive) else {
                    return Ok(Vec::new());
                };
                vec![(
                    to.clone(),
                    Template::ArchiveRenewalFailing(inkan_mail::ArchiveRenewalFailing {
                        organization: org_name.into(),
                        recipient_name: to.name.clone(),
                        envelope_title: e.title.clone(),
                        number: e.number.clone(),
                        proof_ends_at: alert.proof_ends_at,
                        reason: alert.reason.clone(),
                        envelope_url: staff_url,
                    }),
                )]
            }
            (MailKind::SignerLinkLocked, Some(r)) => {
                let Some(to) = sender else {
                    return Ok(Vec::new());
                };
                let method = r
                    .check
                    .as_ref()
                    .map(inkan_domain::SignerCheck::method)
                    .unwrap_or(inkan_domain::CheckMethod::AccessCode);
                vec![(
                    to.clone(),
                    Template::SignerLinkLocked(inkan_mail::SignerLinkLocked {
                        organization: org_name.into(),
                        recipient_name: to.name.clone(),
                        envelope_title: e.title.clone(),
                        number: e.number.clone(),
                        signer_name: r.name.clone(),
                        signer_email: r.email.to_string(),
                        method_ja: method.japanese().into(),
                        method_en: method.english().into(),
                        locked_at: record.updated_at,
                        envelope_url: staff_url,
                    }),
                )]
            }
            (kind, None) => {
                return Err(ServiceError::Invalid(format!(
                    "an email job of kind {kind:?} needs a recipient"
                )))
            }
        };
        Ok(out)
    }
}

/// `Name <address>` or a bare address.
pub(crate) fn parse_from(text: &str) -> Address {
    match text.rsplit_once('<') {
        Some((name, rest)) => Address::new(name.trim(), rest.trim_end_matches('>').trim()),
        None => Address::new("Inkan", text.trim()),
    }
}
