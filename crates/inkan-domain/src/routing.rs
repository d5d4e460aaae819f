//! Who receives an envelope, in which order, and where each of them stands.
//!
//! Approvers (社内承認) act before the envelope is sent. Signers are grouped by `order`: groups
//! sign one after another (vendor first, city last is the usual case), the members of a group in
//! parallel. Cc recipients (受領者) only receive the completed documents.

use serde::{Deserialize, Serialize};

use crate::{Email, RecipientId};

/// What a recipient does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Approves internally before the envelope is sent.
    Approver,
    /// Signs.
    Signer,
    /// Receives the completed documents.
    Cc,
}

/// Where a recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not their turn, or nothing to do yet.
    Waiting,
    /// Approved (approvers) or signed (signers).
    Done,
    /// Declined (辞退).
    Declined,
}

/// How a signer's signature is made (署名方法).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
