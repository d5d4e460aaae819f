//! The envelope (封筒) and its state machine:
//!
//! ```text
//! draft ──submit──► awaiting_approval ──(all approve)──► sent ──sign──► partially_signed ──► completed
//!   │                      │                              │                 │
//!   └──────────── cancel ──┴──────── cancel / decline / expire at the deadline ┘
//! ```
//! Every operation either changes the envelope and says into what, or says it changed nothing
//! (doing the same thing twice — a double click — is not an error), or refuses with the reason.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

use crate::routing::signers_due;
use crate::{
    CheckProgress, ConclusionId, DomainError, EnvelopeId, OrganizationId, Recipient, RecipientId,
    RecipientState, Role, SigningRecord,
};

/// At most this many documents in one envelope.
pub const MAX_DOCUMENTS: usize = 100;
/// At most this many bytes of documents in one envelope (200 MB).
pub const MAX_TOTAL_BYTES: u64 = 200 * 1024 * 1024;

/// Where an envelope stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum EnvelopeStatus {
    Draft,
    AwaitingApproval,
    Sent,
    PartiallySigned,
    Completed,
    Declined {
        by: RecipientId,
        reason: String,
    },
    Cancelled {
        reason: String,
    },
    Expired,
    /// 取込済み: a contract concluded outside Inkan (on paper, or through another service),
    /// kept with a document timestamp for the 電帳法 search. Nothing more happens to it.
    Imported,
}

/// An envelope's status without its details (who declined, why): what lists show and filters
/// take, by its stable name (`draft`, `sent`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    Draft,
    AwaitingApproval,
    Sent,
    PartiallySigned,
    Completed,
    Declined,
    Cancelled,
    Expired,
    Imported,
}

impl StatusKind {
    /// Every status, in the order an envelope goes through them.
    pub const ALL: [StatusKind; 9] = [
        StatusKind::Draft,
        StatusKind::AwaitingApproval,
        StatusKind::Sent,
        StatusKind::PartiallySigned,
        StatusKind::Completed,
        StatusKind::Declined,
        StatusKind::Cancelled,
        StatusKind::Expired,
        StatusKind::Imported,
    ];

    /// The stable name stored in databases and shown in the API.
    pub fn name(self) -> &'static str {
        match self {
            StatusKind::Draft => "draft",
            StatusKind::AwaitingApproval => "awaiting_approval",
            StatusKind::Sent => "sent",
            StatusKind::PartiallySigned => "partially_signed",
            StatusKind::Completed => "completed",
            StatusKind::Declined => "declined",
            StatusKind::Cancelled => "cancelled",
            StatusKind::Expired => "expired",
            StatusKind::Imported => "imported",
        }
    }

    /// The status of that name.
    pub fn parse(name: &str) -> Option<StatusKind> {
        StatusKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl EnvelopeStatus {
    /// Which status this is, without its details.
    pub fn kind(&self) -> StatusKind {
        match self {
            Self::Draft => StatusKind::Draft,
            Self::AwaitingApproval => StatusKind::AwaitingApproval,
            Self::Sent => StatusKind::Sent,
            Self::PartiallySigned => StatusKind::PartiallySigned,
            Self::Completed => StatusKind::Completed,
            Self::Declined { .. } => StatusKind::Declined,
            Self::Cancelled { .. } => StatusKind::Cancelled,
            Self::Expired => StatusKind::Expired,
            Self::Imported => StatusKind::Imported,
        }
    }

    /// The stable name stored in databases and shown in the API (`draft`, `sent`, …).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Completed, declined, cancelled, expired or imported: nothing more can happen.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Declined { .. }
                | Self::Cancelled { .. }
                | Self::Expired
                | Self::Imported
        )
    }
}

impl EnvelopeStatus {
    /// As staff pages name it: 下書き, 承認待ち, 送信済み …
    pub fn japanese(&self) -> &'static str {
        match self {
            Self::Draft => "下書き",
            Self::AwaitingApproval => "承認待ち",
            Self::Sent => "送信済み",
            Self::PartiallySigned => "署名中",
            Self::Completed => "締結済み",
            Self::Declined { .. } => "辞退",
            Self::Cancelled { .. } => "取消",
            Self::Expired => "期限切れ",
            Self::Imported => "取込済み",
        }
    }

    /// As an English sentence names it: `a draft`, `sent` …
    pub fn english(&self) -> &'static str {
        match self {
            Self::Draft => "a draft",
            Self::AwaitingApproval => "awaiting approval",
            Self::Sent => "sent",
            Self::PartiallySigned => "partially signed",
            Self::Completed => "completed",
            Self::Declined { .. } => "declined",
            Self::Cancelled { .. } => "cancelled",
            Self::Expired => "expired",
            Self::Imported => "imported",
        }
    }
}

impl fmt::Display for EnvelopeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.english(), self.japanese())
    }
}

/// The operations, as named in errors and in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Submit,
    Approve,
    Sign,
    Decline,
    Cancel,
    Expire,
    Edit,
    RenewLink,
    Import,
}

/// What an operation is called in a refusal: `{ja}できません`, `cannot be {en}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionName {
    pub ja: &'static str,
    pub en: &'static str,
}

impl Action {
    fn name(self) -> ActionName {
        let (ja, en) = match self {
            Action::Submit => ("送信", "sent"),
            Action::Approve => ("承認", "approved"),
            Action::Sign => ("署名", "signed"),
            Action::Decline => ("辞退", "declined"),
            Action::Cancel => ("取消", "cancelled"),
            Action::Expire => ("期限切れに", "expired"),
            Action::Edit => ("編集", "edited"),
            Action::RenewLink => ("新しいリンクの発行が", "given a fresh link"),
            Action::Import => ("取込", "imported"),
        };
        ActionName { ja, en }
    }
}

/// What an operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The envelope is now in this status (possibly the same, with a recipient's progress).
    Changed(EnvelopeStatus),
    /// Nothing: it had already been done.
    Unchanged,
}

/// An envelope: documents to conclude, sent to recipients in order, until a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: EnvelopeId,
    pub organization: OrganizationId,
    /// 管理番号.
    pub number: String,
    pub title: String,
    pub message: String,
    /// 署名期限, in seconds since the Unix epoch.
    pub deadline: i64,
    pub conclusion_id: ConclusionId,
    status: EnvelopeStatus,
    recipients: Vec<Recipient>,
    documents: usize,
    document_bytes: u64,
    /// The template version it was made from, kept when the template changes later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateUse>,
}

/// Which version of which template an envelope was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateUse {
    pub template: crate::TemplateId,
    pub version: u32,
}

impl Envelope {
    /// A new draft.
    pub fn new(
        organization: OrganizationId,
        number: &str,
        title: &str,
        deadline: i64,
        now: i64,
    ) -> Result<Envelope, DomainError> {
        let title = crate::text::required_line("封筒名 (title)", title, 200)?;
        let number = crate::text::line("管理番号 (number)", number, 100)?;
        if deadline <= now {
            return Err(DomainError::InvalidValue {
                what: "署名期限 (signing deadline)",
                why: "未来の日時にしてください (it must be in the future)".into(),
            });
        }
        Ok(Envelope {
            id: EnvelopeId::new(),
            organization,
            number,
            title,
            message: String::new(),
            deadline,
            conclusion_id: ConclusionId::new(),
            status: EnvelopeStatus::Draft,
            recipients: Vec::new(),
            documents: 0,
            document_bytes: 0,
            template: None,
        })
    }

    pub fn status(&self) -> &EnvelopeStatus {
        &self.status
    }

    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// One recipient by ID.
    pub fn recipient(&self, id: RecipientId) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.id == id)
    }

    pub fn document_count(&self) -> usize {
        self.documents
    }

    fn refuse(&self, action: Action) -> DomainError {
        DomainError::IllegalTransition {
            from: self.status.clone(),
            action: action.name(),
        }
    }

    fn editable(&self) -> Result<(), DomainError> {
        if self.status == EnvelopeStatus::Draft {
            Ok(())
        } else {
            Err(self.refuse(Action::Edit))
        }
    }

    /// Adds a recipient to a draft. One email may appear once per role.
    pub fn add_recipient(&mut self, recipient: Recipient) -> Result<RecipientId, DomainError> {
        self.editable()?;
        if self
            .recipients
            .iter()
            .any(|r| r.email == recipient.email && r.role == recipient.role)
        {
            return Err(DomainError::NotAllowed(format!(
                "{} is already a recipient with that role",
                recipient.email
            )));
        }
        if recipient.check.is_some() && recipient.role != Role::Signer {
            return Err(DomainError::NotAllowed(
                "アクセスコードと SMS認証は署名者にだけ設定できます (an access code or SMS code is for signers only)"
                    .into(),
            ));
        }
        let id = recipient.id;
        self.recipients.push(recipient);
        Ok(id)
    }

    /// Files a draft of documents and no recipients as a contract concluded outside Inkan
    /// (取込済み): on paper, or through another service.
    pub fn import(&mut self) -> Result<Outcome, DomainError> {
        if self.status != EnvelopeStatus::Draft {
            return Err(self.refuse(Action::Import));
        }
        if !self.recipients.is_empty() {
            return Err(DomainError::NotAllowed(
                "取り込む契約に宛先は要りません (an imported contract has no recipients)".into(),
            ));
        }
        if self.documents == 0 {
            return Err(DomainError::NotAllowed(
                "取り込む文書がありません (an imported contract needs its document)".into(),
            ));
        }
        self.status = EnvelopeStatus::Imported;
        Ok(Outcome::Changed(EnvelopeStatus::Imported))
    }

    /// Counts a document of `bytes` into a draft, within the envelope's limits.
    pub fn add_document(&mut self, bytes: u64) -> Result<(), DomainError> {
        self.editable()?;
        if self.documents >= MAX_DOCUMENTS {
            return Err(DomainError::Limit(format!(
                "an envelope holds at most {MAX_DOCUMENTS} documents"
            )));
        }
        if self.document_bytes.saturating_add(bytes) > MAX_TOTAL_BYTES {
            return Err(DomainError::Limit(
                "an envelope's documents total at most 200 MB".into(),
            ));
        }
        self.documents += 1;
        self.document_bytes += bytes;
        Ok(())
    }

    /// Sends a draft: to its approvers first if it has any, else to its first signers.
    pub fn submit(&mut self, now: i64) -> Result<Outcome, DomainError> {
        match self.status {
            EnvelopeStatus::Draft => {}
            EnvelopeStatus::AwaitingApproval | EnvelopeStatus::Sent => {
                return Ok(Outcome::Unchanged)
            }
            _ => return Err(self.refuse(Action::Submit)),
        }
        if self.documents == 0 {
            return Err(DomainError::NotAllowed(
                "the envelope has no document".into(),
            ));
        }
        if !self.recipients.iter().any(|r| r.role == Role::Signer) {
            return Err(DomainError::NotAllowed("the envelope has no signer".into()));
        }
        if self.deadline <= now {
            return Err(DomainError::NotAllowed(
                "the signing deadline has passed".into(),
            ));
        }
        let has_approvers = self.recipients.iter().any(|r| r.role == Role::Approver);
        self.status = if has_approvers {
            EnvelopeStatus::AwaitingApproval
        } else {
            EnvelopeStatus::Sent
        };
        Ok(Outcome::Changed(self.status.clone()))
    }

    /// An approver approves; when the last one has, the envelope is sent.
    pub fn approve(&mut self, approver: RecipientId, now: i64) -> Result<Outcome, DomainError> {
        let index = self.recipient_index(approver, Role::Approver)?;
        if self.recipients[index].state == RecipientState::Done {
            return Ok(Outcome::Unchanged);
        }
        if self.status != EnvelopeStatus::AwaitingApproval {
            return Err(self.refuse(Action::Approve));
        }
        self.recipients[index].state = RecipientState::Done;
        self.recipients[index].done_at = Some(now);
        let all_done = self
            .recipients
            .iter()
            .filter(|r| r.role == Role::Approver)
            .all(|r| r.state == RecipientState::Done);
        if all_done {
            self.status = EnvelopeStatus::Sent;
        }
        Ok(Outcome::Changed(self.status.clone()))
    }

    /// The signers who may sign now.
    pub fn due(&self) -> Vec<RecipientId> {
        match self.status {
            EnvelopeStatus::Sent | EnvelopeStatus::PartiallySigned => signers_due(&self.recipients),
            _ => Vec::new(),
        }
    }

    /// A signer signs (a second time changes nothing); after the last one the envelope is
    /// completed. Refused when it is not that signer's turn or past the deadline.
    pub fn sign(&mut self, signer: RecipientId, now: i64) -> Result<Outcome, DomainError> {
        let index = self.recipient_index(signer, Role::Signer)?;
        if self.recipients[index].state == RecipientState::Done {
            return Ok(Outcome::Unchanged);
        }
        if !matches!(
            self.status,
            EnvelopeStatus::Sent | EnvelopeStatus::PartiallySigned
        ) {
            return Err(self.refuse(Action::Sign));
        }
        if now >= self.deadline {
            return Err(DomainError::NotAllowed(
                "the signing deadline has passed".into(),
            ));
        }
        if !signers_due(&self.recipients).contains(&signer) {
            return Err(DomainError::NotAllowed(
                "it is not this signer's turn yet: earlier signers have not signed".into(),
            ));
        }
        self.recipients[index].state = RecipientState::Done;
        self.recipients[index].done_at = Some(now);
        self.status = if signers_due(&self.recipients).is_empty() {
            EnvelopeStatus::Completed
        } else {
            EnvelopeStatus::PartiallySigned
        };
        Ok(Outcome::Changed(self.status.clone()))
    }

    /// A signer declines (辞退), with a reason; the envelope ends there.
    pub fn decline(
        &mut self,
        signer: RecipientId,
        reason: &str,
        now: i64,
    ) -> Result<Outcome, DomainError> {
        let index = self.recipient_index(signer, Role::Signer)?;
        if let EnvelopeStatus::Declined { by, .. } = &self.status {
            if *by == signer {
                return Ok(Outcome::Unchanged);
            }
        }
        if !matches!(
            self.status,
            EnvelopeStatus::Sent | EnvelopeStatus::PartiallySigned
        ) {
            return Err(self.refuse(Action::Decline));
        }
        if self.recipients[index].state == RecipientState::Done {
            return Err(DomainError::NotAllowed(
                "this signer has already signed".into(),
            ));
        }
        let reason = crate::text::paragraphs("辞退の理由 (reason for declining)", reason, 2000)?;
        if reason.is_empty() {
            return Err(DomainError::InvalidValue {
                what: "辞退の理由 (reason for declining)",
                why: "入力してください (it is required)".into(),
            });
        }
        self.recipients[index].state = RecipientState::Declined;
        // When they declined, shown beside 辞退 in the progress.
        self.recipients[index].done_at = Some(now);
        self.status = EnvelopeStatus::Declined { by: signer, reason };
        Ok(Outcome::Changed(self.status.clone()))
    }

    /// A fresh signing link for a recipient who still has to act (the old one was forwarded or
    /// leaked): the next link generation, which the caller turns into the new link.
    pub fn renew_link(&mut self, recipient: RecipientId) -> Result<u32, DomainError> {
        if !matches!(
            self.status,
            EnvelopeStatus::AwaitingApproval
                | EnvelopeStatus::Sent
                | EnvelopeStatus::PartiallySigned
        ) {
            return Err(self.refuse(Action::RenewLink));
        }
        let r = self
            .recipients
            .iter_mut()
            .find(|r| r.id == recipient)
            .ok_or_else(|| DomainError::NotAllowed("no such recipient".into()))?;
        if r.role == Role::Cc || r.state != RecipientState::Waiting {
            return Err(DomainError::NotAllowed(
                "この受信者はすでに手続きを終えています (this recipient has nothing left to do)"
                    .into(),
            ));
        }
        r.link_generation += 1;
        // A fresh link is a fresh start for its check: the old link's wrong codes and SMS
        // codes no longer count (this is how the sender unlocks a locked link).
        r.check_progress = CheckProgress::default();
        Ok(r.link_generation)
    }

    /// Counts a wrong code given on a signer's link; `true` when this one locked it.
    pub fn record_wrong_code(&mut self, signer: RecipientId) -> Result<bool, DomainError> {
        let progress = self.check_progress_mut(signer)?;
        if progress.locked() {
            return Err(DomainError::NotAllowed(crate::signer_check::LOCKED.into()));
        }
        progress.wrong_codes += 1;
        Ok(progress.locked())
    }

    /// A signer gave the right code: the wrong ones before it no longer count.
    pub fn record_check_passed(&mut self, signer: RecipientId) -> Result<Outcome, DomainError> {
        let progress = self.check_progress_mut(signer)?;
        if progress.locked() {
            return Err(DomainError::NotAllowed(crate::signer_check::LOCKED.into()));
        }
        if progress.wrong_codes == 0 {
            return Ok(Outcome::Unchanged);
        }
        progress.wrong_codes = 0;
        Ok(Outcome::Changed(self.status.clone()))
    }

    /// Counts an SMS code sent to a signer at `now`, within the pace and the number a link
    /// may send; the number of this code (1 for the first).
    pub fn record_sms_sent(&mut self, signer: RecipientId, now: i64) -> Result<u32, DomainError> {
        let progress = self.check_progress_mut(signer)?;
        progress.may_send_sms(now)?;
        progress.sms_sent += 1;
        progress.sms_sent_at = Some(now);
        Ok(progress.sms_sent)
    }

    fn check_progress_mut(
        &mut self,
        signer: RecipientId,
    ) -> Result<&mut CheckProgress, DomainError> {
        let index = self.recipient_index(signer, Role::Signer)?;
        let recipient = &mut self.recipients[index];
        if recipient.check.is_none() {
            return Err(DomainError::NotAllowed(
                "この署名者のリンクにはコードの確認がありません (this signer's link has no code to check)"
                    .into(),
            ));
        }
        Ok(&mut recipient.check_progress)
    }

    /// The sender cancels (取消) an envelope that is not finished.
    pub fn cancel(&mut self, reason: &str) -> Result<Outcome, DomainError> {
        if matches!(self.status, EnvelopeStatus::Cancelled { .. }) {
            return Ok(Outcome::Unchanged);
        }
        if self.status.is_final() {
            return Err(self.refuse(Action::Cancel));
        }
        let reason = crate::text::paragraphs("取消の理由 (reason for cancelling)", reason, 2000)?;
        self.status = EnvelopeStatus::Cancelled { reason };
        Ok(Outcome::Changed(self.status.clone()))
    }

    /// Expires an envelope whose deadline has passed before it was completed.
    pub fn expire(&mut self, now: i64) -> Result<Outcome, DomainError> {
        match self.status {
            EnvelopeStatus::Expired => Ok(Outcome::Unchanged),
            _ if self.status.is_final() || self.status == EnvelopeStatus::Draft => {
                Err(self.refuse(Action::Expire))
            }
            _ if now < self.deadline => Err(DomainError::NotAllowed(
                "the signing deadline has not passed yet".into(),
            )),
            _ => {
                self.status = EnvelopeStatus::Expired;
                Ok(Outcome::Changed(EnvelopeStatus::Expired))
            }
        }
    }

    /// Records how a signer who has just signed did it (once: a repeated completion keeps the
    /// first record).
    pub fn record_signing(
        &mut self,
        signer: RecipientId,
        record: SigningRecord,
    ) -> Result<(), DomainError> {
        let index = self.recipient_index(signer, Role::Signer)?;
        let recipient = &mut self.recipients[index];
        if recipient.state != RecipientState::Done {
            return Err(DomainError::NotAllowed(
                "a signing can be recorded only for a signer who has signed".into(),
            ));
        }
        recipient.signing.get_or_insert(record);
        Ok(())
    }

    /// Records the subject of the certificate a 実印タイプ signature was made with, when it is
    /// made (once: the first document's signature names it).
    pub fn record_certificate_subject(
        &mut self,
        signer: RecipientId,
        subject: Vec<String>,
    ) -> Result<(), DomainError> {
        let index = self.recipient_index(signer, Role::Signer)?;
        if let Some(record) = self.recipients[index].signing.as_mut() {
            if record.certificate_subject.is_empty() {
                record.certificate_subject = subject;
            }
        }
        Ok(())
    }

    fn recipient_index(&self, id: RecipientId, role: Role) -> Result<usize, DomainError> {
        self.recipients
            .iter()
            .position(|r| r.id == id && r.role == role)
            .ok_or_else(|| {
                DomainError::NotAllowed(
                    format!("no {role:?} with this ID in the envelope").to_lowercase(),
                )
            })
    }
}
