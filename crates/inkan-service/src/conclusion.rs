//! The 電子契約締結証明書 (certificate of conclusion) and what feeds it.
//!
//! Each signing operation is recorded on the signer when it happens (time, address, how they
//! were authenticated, the company they signed for; for 実印タイプ the certificate's subject when
//! the signature is made). When the envelope is sealed, the certificate is laid out from those
//! records and the final documents' SHA-256, signed by the service at B-LTA and kept beside the
//! documents. Staff download it from the envelope, recipients from the completion page (and,
//! later, their own library); it can ride along with the completion email.

use inkan_domain::{
    Authentication, EnvelopeId, Recipient, RecipientState, Role, SignatureMethod, SigningRecord,
};
use inkan_pades::{render_certificate, CertifiedDocument, ConclusionCertificate, SigningOperation};
use inkan_store::{DocumentRecord, EnvelopeRecord, StoredCertificate, TokenKind};

use crate::envelopes::blob_key;
use crate::japan::format_slash_jst;
use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// The file name the certificate is downloaded and attached as.
pub fn certificate_file_name(record: &EnvelopeRecord) -> String {
    format!("電子契約締結証明書_{}.pdf", record.envelope.conclusion_id)
}

impl Inkan {
    /// What is recorded when `signer` completes: the moment, the address, how they proved who
    /// they are, and the company they signed for as the organization's records say now.
    pub(crate) async fn signing_record(
        &self,
        record: &EnvelopeRecord,
        signer: &Recipient,
        caller: &Caller,
        at: i64,
    ) -> Result<SigningRecord> {
        let own_certificate = signer.method == SignatureMethod::Party
            && self
                .own_key(record.organization(), record.id(), signer.id)
                .await?
                .is_some();
        Ok(SigningRecord {
            at,
            ip: caller.ip.map(|ip| ip.to_string()),
            user_agent: caller.user_agent.clone(),
            authentication: if own_certificate {
                Authentication::EmailLinkAndOwnCertificate
            } else {
                Authentication::EmailLink
            },
            company: self.company_of(record, signer).await?,
            certificate_subject: Vec::new(),
            check: signer.check.as_ref().map(|c| c.record()),
        })
    }

    /// The company a signer signs for: the counterparty's 商号 when they are its signatory or
    /// clerk, the organization when they are its staff, else unknown.
    async fn company_of(
        &self,
        record: &EnvelopeRecord,
        signer: &Recipient,
    ) -> Result<Option<String>> {
        let org = record.organization();
        let email = signer.email.as_str();
        if let Some(id) = record.counterparty {
            if let Some(c) = self.store.counterparty(org, id).await? {
                let clerk = c.clerk_email.as_ref().map(|e| e.as_str());
                if c.signatory_email.as_str().eq_ignore_ascii_case(email)
                    || clerk.is_some_and(|e| e.eq_ignore_ascii_case(email))
                {
                    return Ok(Some(c.trade_name));
                }
            }
        }
        if let Some(user) = self.store.user_by_email(email).await? {
            if user.organization == org {
                return Ok(self.store.organization(org).await?.map(|o| o.name));
            }
        }
        Ok(None)
    }

    /// Lays out, signs (B-LTA) and stores the certificate of a completed envelope whose
    /// documents are all final.
    pub(crate) async fn issue_certificate(
        &self,
        record: &EnvelopeRecord,
        documents: &[DocumentRecord],
        now: i64,
    ) -> Result<StoredCertificate> {
        let org = self
            .store
            .organization(record.organization())
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let content = certificate_content(record, documents, &org.name);
        let font = self.engine.japanese_font()?;
        let unsigned = render_certificate(&content, font)
            .map_err(|e| ServiceError::failed("laying out the certificate of conclusion", e))?;
        let signed = self
            .engine
            .certify_certificate(&unsigned, &record.envelope.conclusion_id)
            .await?;
        let key = blob_key(
            record.organization(),
            record.id(),
            &format!("certificate/{now}"),
        );
        let (size, sha256) = self.put_blob(&key, &signed).await?;
        Ok(StoredCertificate {
            blob: key,
            sha256,
            size,
            archive_until: self.engine.archive_horizon(&signed).ok(),
        })
    }

    pub(crate) async fn read_certificate(
        &self,
        record: &EnvelopeRecord,
        actor: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let stored = record.certificate.as_ref().ok_or(ServiceError::NotFound(
            "the certificate of conclusion (the envelope is not concluded yet)",
        ))?;
        let bytes = self.get_blob(&stored.blob).await?;
        self.append_audit(self.audit_entry(
            record.organization(),
            actor,
            "download",
            Some(record.id()),
            None,
            caller,
            serde_json::json!({ "certificate": true, "sha256": stored.sha256 }),
        ))
        .await?;
        Ok((certificate_file_name(record), bytes))
    }

    /// The certificate of conclusion, for staff (recorded as a download).
    pub async fn download_certificate(
        &self,
        staff: &Staff,
        envelope: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let id: EnvelopeId = Self::parse_envelope_id(envelope)?;
        let record = self.visible(staff, id).await?;
        self.read_certificate(&record, &staff.actor, caller).await
    }

    /// The certificate of conclusion from the completion page (recorded as a download).
    pub async fn completion_certificate(
        &self,
        token: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let link = self.resolve_link(token, TokenKind::Completion).await?;
        let record = self.load(link.organization, link.envelope).await?;
        let actor = match record.envelope.recipient(link.recipient) {
            Some(r) => format!("recipient:{} {}", r.id, r.email),
            None => format!("recipient:{}", link.recipient),
        };
        self.read_certificate(&record, &actor, caller).await
    }

    /// The certificate as a mail attachment (read without an audit entry: the mail job is
    /// the system's own act, and the email itself is logged by the transport).
    pub(crate) async fn certificate_attachment(
        &self,
        record: &EnvelopeRecord,
    ) -> Result<Option<inkan_mail::MailAttachment>> {
        let Some(stored) = &record.certificate else {
            return Ok(None);
        };
        Ok(Some(inkan_mail::MailAttachment {
            filename: certificate_file_name(record),
            content_type: "application/pdf".into(),
            bytes: self.get_blob(&stored.blob).await?,
        }))
    }
}

/// The certificate's content: the envelope as it is at conclusion, and each signing operation
/// as it was recorded when it happened.
fn certificate_content(
    record: &EnvelopeRecord,
    documents: &[DocumentRecord],
    organization: &str,
) -> ConclusionCertificate {
    let e = &record.envelope;
    let mut signers: Vec<&Recipient> = e
        .recipients()
        .iter()
        .filter(|r| r.role == Role::Signer && r.state == RecipientState::Done)
        .collect();
    signers.sort_by_key(|r| r.signing.as_ref().map(|s| s.at).or(r.done_at));
    let concluded_at = signers
        .iter()
        .filter_map(|r| r.signing.as_ref().map(|s| s.at).or(r.done_at))
        .max()
        .or(record.sealed_at)
        .unwrap_or(record.updated_at);
    ConclusionCertificate {
        title: e.title.clone(),
        number: e.number.clone(),
        creator: record.sender_name.clone(),
        creator_email: record.sender_email.clone(),
        conclusion_id: e.conclusion_id.to_string(),
        concluded_at: format_slash_jst(concluded_at),
        documents: documents
            .iter()
            .map(|d| CertifiedDocument {
                name: d.name.clone(),
                pages: d.pages,
                sha256: d.sha256.clone(),
            })
            .collect(),
        operations: signers.iter().map(|r| operation(r)).collect(),
        issued_by: format!("Inkan 電子契約サービス ({organization})"),
    }
}

/// One row of the certificate. Envelopes signed before signing records existed fall back to
/// the signing time alone, with the address unknown.
fn operation(signer: &Recipient) -> SigningOperation {
    let recorded = signer.signing.as_ref();
    let at = recorded.map(|s| s.at).or(signer.done_at).unwrap_or(0);
    let lines = match signer.method {
        SignatureMethod::Party => {
            let subject = recorded
                .map(|s| s.certificate_subject.clone())
                .unwrap_or_default();
            if subject.is_empty() {
                vec![signer.name.clone(), signer.email.to_string()]
            } else {
                subject
            }
        }
        SignatureMethod::Witness => recorded
            .and_then(|s| s.company.clone())
            .into_iter()
            .chain([signer.name.clone(), signer.email.to_string()])
            .collect(),
    };
    SigningOperation {
        at: format_slash_jst(at),
        ip: recorded.and_then(|s| s.ip.clone()).unwrap_or_default(),
        method: signer.method.japanese().to_string(),
        signer: lines,
        authentication: recorded.map_or_else(
            || Authentication::EmailLink.japanese().to_string(),
            SigningRecord::authentication_japanese,
        ),
    }
}
