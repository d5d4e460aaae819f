//! Who receives an envelope, in which order, and where each of them stands.
//!
//! Approvers (社内承認) act before the envelope is sent. Signers are grouped by `order`: groups
//! sign one after another (vendor first, city last is the usual case), the members of a group in
//! parallel. Cc recipients (受領者) only receive the completed documents.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::signer_check::{CheckProgress, CheckRecord, SignerCheck};
use crate::{Email, RecipientId};

/// What a recipient does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Approves internally before the envelope is sent.
    Approver,
    /// Signs.
    Signer,
    /// Receives the completed documents.
    Cc,
}

impl Role {
    /// The name in the API: `approver`, `signer`, `cc`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Approver => "approver",
            Role::Signer => "signer",
            Role::Cc => "cc",
        }
    }
}

/// Where a recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not their turn, or nothing to do yet.
    Waiting,
    /// Approved (approvers) or signed (signers).
    Done,
    /// Declined (辞退).
    Declined,
}

impl RecipientState {
    /// The name in the API: `waiting`, `done`, `declined`.
    pub fn name(self) -> &'static str {
        match self {
            RecipientState::Waiting => "waiting",
            RecipientState::Done => "done",
            RecipientState::Declined => "declined",
        }
    }
}

/// How a signer's signature is made (署名方法).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureMethod {
    /// 契約印タイプ / 立会人型: the service signs with its own certificate, naming the signer in
    /// the signature's Reason after the signer proved control of their email.
    #[default]
    Witness,
    /// 実印タイプ / 当事者型: a certificate in the signer's own name, issued by the built-in CA.
    Party,
}

impl SignatureMethod {
    /// The name the seeds use.
    pub fn japanese(self) -> &'static str {
        match self {
            SignatureMethod::Witness => "契約印タイプ",
            SignatureMethod::Party => "実印タイプ",
        }
    }
}

/// One recipient of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub id: RecipientId,
    pub name: String,
    pub email: Email,
    pub role: Role,
    /// Routing group: lower groups act first; equal groups act in parallel.
    pub order: u32,
    pub state: RecipientState,
    /// Signers only: how their signature is made.
    #[serde(default)]
    pub method: SignatureMethod,
    /// When they approved or signed (seconds since the Unix epoch).
    #[serde(default)]
    pub done_at: Option<i64>,
    /// Signers: what was recorded when they signed, for the 電子契約締結証明書.
    #[serde(default)]
    pub signing: Option<SigningRecord>,
    /// Which of the recipient's signing links is live: staff sending a fresh link (one was
    /// forwarded or leaked) moves to the next, and the old one stops working.
    #[serde(default)]
    pub link_generation: u32,
    /// Signers: the check they pass before their link shows the contract (アクセスコード or
    /// SMS認証); none: the email link alone.
    #[serde(default)]
    pub check: Option<SignerCheck>,
    /// Where that check stands for the live link (wrong codes, SMS sent).
    #[serde(default)]
    pub check_progress: CheckProgress,
}

/// One signing operation as recorded when it happened: the 電子契約締結証明書 prints this, not
/// what the envelope or the organization's records say later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningRecord {
    /// When they completed (seconds since the Unix epoch).
    pub at: i64,
    /// The client's address as the service saw it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub authentication: Authentication,
    /// The company they signed for, as known at that moment (the counterparty's 商号, or the
    /// sending organization for its own staff).
    pub company: Option<String>,
    /// 実印タイプ: the subject of the certificate the signature was made with, one attribute per
    /// entry (`CN 山田 太郎`, `O 株式会社いわて`, …), recorded when the signature is made.
    #[serde(default)]
    pub certificate_subject: Vec<String>,
    /// The check passed beyond the email link, if the sender required one.
    #[serde(default)]
    pub check: Option<CheckRecord>,
}

impl SigningRecord {
    /// 認証方法 as the 電子契約締結証明書 prints it: the email link, then what was added to it.
    pub fn authentication_japanese(&self) -> String {
        match &self.check {
            None => self.authentication.japanese().to_string(),
            Some(check) => format!("{} + {}", self.authentication.japanese(), check.japanese()),
        }
    }

    pub fn authentication_english(&self) -> String {
        match &self.check {
            None => self.authentication.english().to_string(),
            Some(check) => format!("{} + {}", self.authentication.english(), check.english()),
        }
    }
}

/// How a signer proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authentication {
    /// They opened the unguessable link sent to their email: control of the mailbox.
    EmailLink,
    /// The email link, with their own certificate (PKCS#12) and its passphrase.
    EmailLinkAndOwnCertificate,
}

impl Authentication {
    pub fn japanese(self) -> &'static str {
        match self {
            Authentication::EmailLink => "メールアドレス認証 (署名依頼メールの専用URL)",
            Authentication::EmailLinkAndOwnCertificate => {
                "メールアドレス認証 (署名依頼メールの専用URL) + 本人の電子証明書"
            }
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            Authentication::EmailLink => "Email (the private link of the signature request)",
            Authentication::EmailLinkAndOwnCertificate => {
                "Email (the private link of the signature request) + own certificate"
            }
        }
    }
}

impl Recipient {
    pub fn new(name: &str, email: Email, role: Role, order: u32) -> Recipient {
        Recipient {
            id: RecipientId::new(),
            name: name.trim().to_string(),
            email,
            role,
            order,
            state: RecipientState::Waiting,
            method: SignatureMethod::Witness,
            done_at: None,
            signing: None,
            link_generation: 0,
            check: None,
            check_progress: CheckProgress::default(),
        }
    }
}

/// The signers whose turn it is: those waiting in the lowest group that still has anyone
/// waiting.
pub(crate) fn signers_due(recipients: &[Recipient]) -> Vec<RecipientId> {
    let waiting = || {
        recipients
            .iter()
            .filter(|r| r.role == Role::Signer && r.state == RecipientState::Waiting)
    };
    let Some(group) = waiting().map(|r| r.order).min() else {
        return Vec::new();
    };
    waiting()
        .filter(|r| r.order == group)
        .map(|r| r.id)
        .collect()
}
