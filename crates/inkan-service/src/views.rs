//! What the use cases take and return: plain data (strings, numbers, lists and the domain's
//! enums) that the web layer serialises as JSON and describes in its OpenAPI document. serde
//! parses the enums, so a wrong role or kind is refused naming the field and the allowed values.

use inkan_domain::{
    CheckMethod, DateFormat, Envelope, EnvelopeStatus, Field, FieldKind, FieldValue, Recipient,
    RecipientState, Role, SignatureMethod, SignerCheck, StatusKind,
};
use inkan_store::{AttachmentRecord, DocumentRecord, EnvelopeRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::japan::format_japanese;

/// A new envelope (封筒): its documents, recipients and fields, as a draft.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewEnvelope {
    /// 管理番号.
    #[serde(default)]
    pub number: String,
    /// 封筒名.
    pub title: String,
    #[serde(default)]
    pub message: String,
    /// 署名期限, seconds since the Unix epoch.
    pub deadline: i64,
    /// A registered counterparty (取引先) ID.
    #[serde(default)]
    pub counterparty: Option<String>,
    pub recipients: Vec<NewRecipient>,
    pub documents: Vec<NewDocument>,
    /// Files the sender attaches (e.g. 納付書).
    #[serde(default)]
    pub attachments: Vec<NewAttachment>,
    /// The folder (フォルダ) it goes into, one the sender may choose; none: the top level
    /// (refused when the organization requires a folder).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub folder: Option<inkan_domain::FolderId>,
}

impl NewEnvelope {
    /// The envelope's data without its files' contents (which arrive one at a time): a copy
    /// that does not duplicate a base64 upload of 270 MB.
    pub fn data_only(&self) -> NewEnvelope {
        NewEnvelope {
            number: self.number.clone(),
            title: self.title.clone(),
            message: self.message.clone(),
            deadline: self.deadline,
            counterparty: self.counterparty.clone(),
            recipients: self.recipients.clone(),
            documents: self
                .documents
                .iter()
                .map(|d| NewDocument {
                    name: d.name.clone(),
                    content_base64: String::new(),
                    signers: d.signers.clone(),
                    fields: d.fields.clone(),
                    metadata: d.metadata.clone(),
                })
                .collect(),
            attachments: Vec::new(),
            folder: self.folder,
        }
    }
}

/// A recipient of a new envelope.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRecipient {
    /// A name for this recipient inside the request (`vendor`, `city`), used by fields.
    pub key: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Routing group: lower groups act first, equal groups in parallel.
    #[serde(default = "one")]
    pub order: u32,
    /// 契約印タイプ (`witness`, the default) or 実印タイプ (`party`).
    #[serde(default)]
    pub method: SignatureMethod,
    /// Signers: an access code (アクセスコード, up to 40 characters) they must enter before
    /// their link shows the contract; give it to them another way (phone, letter). Only its
    /// hash is kept.
    #[serde(default)]
    pub access_code: Option<String>,
    /// Signers: a mobile number (`090-1234-5678`, or `+` and a country code) that receives a
    /// code by SMS which they must enter first (SMS認証). Not with `access_code`.
    #[serde(default)]
    pub sms_phone: Option<String>,
}

fn one() -> u32 {
    1
}

/// A document of a new envelope.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewDocument {
    /// `業務委託契約書.pdf`.
    pub name: String,
    /// The PDF, base64 (left out in a multipart upload, where the PDF is a `document` part).
    #[serde(default)]
    pub content_base64: String,
    /// The keys of the recipients who sign this document (every signer when absent). A 請書
    /// names the vendor alone.
    #[serde(default)]
    pub signers: Option<Vec<String>>,
    #[serde(default)]
    pub fields: Vec<NewField>,
    #[serde(default)]
    pub metadata: MetadataInput,
}

/// A field placed for a recipient.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewField {
    /// The recipient's key.
    pub recipient: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub placement: Option<PlacementView>,
    /// For date fields: how the date is written into the contract — `wareki` (令和8年12月3日,
    /// the default), `seireki` (2026年12月3日) or `iso` (2026-12-03). The signer may type any
    /// of these forms.
    #[serde(default)]
    pub date_format: DateFormat,
}

/// A file attached by the sender.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewAttachment {
    pub name: String,
    pub content_base64: String,
}

/// 電帳法 items of a document as entered.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct MetadataInput {
    /// 取引年月日, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    /// 取引金額, as people write it: `1,234,567円`.
    #[serde(default)]
    pub amount: Option<String>,
    /// 取引先.
    #[serde(default)]
    pub counterparty: Option<String>,
    /// 種別: 契約書, 請書, 注文書 … (up to 50 characters).
    #[serde(default)]
    pub kind: Option<String>,
}

/// Page and rectangle (PDF points from the bottom-left; page from 1).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct PlacementView {
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// An envelope as staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvelopeView {
    pub id: String,
    pub number: String,
    pub title: String,
    pub message: String,
    /// `draft`, `awaiting_approval`, `sent`, `partially_signed`, `completed`, `declined`,
    /// `cancelled`, `expired`.
    pub status: StatusKind,
    /// The status in words (Japanese and English).
    pub status_label: String,
    /// Why it was declined or cancelled.
    pub status_reason: Option<String>,
    pub deadline: i64,
    /// `2025年8月21日(木) 23:59:00`.
    pub deadline_text: String,
    pub sender_name: String,
    pub sender_email: String,
    /// The folder it lives in (none: the top level).
    #[schema(value_type = Option<String>)]
    pub folder: Option<inkan_domain::FolderId>,
    /// 締結証明書ID.
    pub conclusion_id: String,
    /// True when every document has reached B-LTA.
    pub sealed: bool,
    /// True once the signed 電子契約締結証明書 exists (at sealing).
    pub has_certificate: bool,
    pub created_at: i64,
    pub recipients: Vec<RecipientView>,
    pub documents: Vec<DocumentView>,
    pub attachments: Vec<AttachmentView>,
    /// The template version it was made from.
    #[serde(default)]
    pub template: Option<TemplateUseView>,
}

/// Which version of which template an envelope was made from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateUseView {
    pub template: String,
    pub version: u32,
}

/// One recipient and their progress (署名の進行状況).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecipientView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub order: u32,
    pub state: RecipientState,
    pub method: SignatureMethod,
    pub done_at: Option<i64>,
    /// The check the signer passes before their link shows the contract: `access_code`,
    /// `sms`, or none.
    pub check: Option<CheckMethod>,
    /// SMS認証: the number, masked (`+81 ******5678`).
    pub check_phone: Option<String>,
    /// Five wrong codes locked the link: a fresh link unlocks it.
    pub link_locked: bool,
}

/// A document and its signing progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub position: u32,
    pub name: String,
    pub pages: u32,
    pub size: u64,
    pub sha256: String,
    pub revision: u32,
    /// Recipient IDs whose signatures are in the current revision.
    pub signed_by: Vec<String>,
    pub fields: Vec<FieldView>,
    pub metadata: MetadataInput,
}

/// A field and its value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldView {
    pub id: String,
    pub recipient: String,
    pub kind: FieldKind,
    pub label: String,
    pub required: bool,
    pub placement: Option<PlacementView>,
    /// Text, `true`/`false`, or an attachment ID.
    pub value: Option<String>,
    /// Date fields: how the date is written.
    pub date_format: Option<DateFormat>,
}

/// An attached file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// The recipient who attached it (none for the sender's).
    pub recipient: Option<String>,
}

/// What a recipient sees through their link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignerView {
    pub envelope: EnvelopeSummary,
    pub recipient: RecipientView,
    /// True when it is this recipient's turn to sign or approve.
    pub can_act: bool,
    /// The documents, with this recipient's fields only.
    pub documents: Vec<DocumentView>,
    pub attachments: Vec<AttachmentView>,
    /// Every recipient's progress.
    pub progress: Vec<RecipientView>,
}

/// An envelope in a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvelopeSummary {
    pub id: String,
    pub number: String,
    pub title: String,
    pub message: String,
    pub status: StatusKind,
    pub status_label: String,
    pub deadline: i64,
    pub deadline_text: String,
    pub sender_name: String,
    /// The sending person's address (the user, or the one an API key acts for); empty when
    /// nobody is known.
    pub sender_email: String,
    /// The folder it lives in (none: the top level).
    #[schema(value_type = Option<String>)]
    pub folder: Option<inkan_domain::FolderId>,
    pub conclusion_id: String,
    pub sealed: bool,
    /// True once the signed 電子契約締結証明書 exists (at sealing).
    pub has_certificate: bool,
    pub created_at: i64,
}

/// A field value a signer enters.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FieldInput {
    pub field: String,
    /// Text for text and date fields (a date in any usual form: 令和8年12月3日, 2026年12月3日,
    /// 2026-12-03, R8.12.3; kept in the field's format), `true`/`false` for checkboxes, an
    /// attachment ID for attachment fields.
    pub value: String,
}

/// One 電帳法 search result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentHitView {
    pub envelope_id: String,
    pub envelope_title: String,
    pub envelope_number: String,
    pub envelope_status: StatusKind,
    pub document: DocumentView,
}

/// The completion page behind the completion email.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CompletionView {
    pub envelope: EnvelopeSummary,
    pub documents: Vec<DocumentView>,
    pub progress: Vec<RecipientView>,
    /// When the link stops working.
    pub expires_at: Option<i64>,
}

pub(crate) fn status_reason(status: &EnvelopeStatus) -> Option<String> {
    match status {
        EnvelopeStatus::Declined { reason, .. } | EnvelopeStatus::Cancelled { reason } => {
            Some(reason.clone())
        }
        _ => None,
    }
}

pub(crate) fn recipient_view(r: &Recipient) -> RecipientView {
    RecipientView {
        id: r.id.to_string(),
        name: r.name.clone(),
        email: r.email.to_string(),
        role: r.role,
        order: r.order,
        state: r.state,
        method: r.method,
        done_at: r.done_at,
        check: r.check.as_ref().map(SignerCheck::method),
        check_phone: match &r.check {
            Some(SignerCheck::Sms { phone }) => Some(phone.masked()),
            _ => None,
        },
        link_locked: r.check.is_some() && r.check_progress.locked(),
    }
}

pub(crate) fn field_view(f: &Field) -> FieldView {
    FieldView {
        id: f.id.to_string(),
        recipient: f.recipient.to_string(),
        kind: f.kind,
        label: f.label.clone(),
        required: f.required,
        placement: f.placement.map(|p| PlacementView {
            page: p.page,
            x: p.x,
            y: p.y,
            width: p.width,
            height: p.height,
        }),
        value: f.value.as_ref().map(|v| match v {
            FieldValue::Text(t) => t.clone(),
            FieldValue::Checked(c) => c.to_string(),
            FieldValue::Attachment(a) => a.to_string(),
        }),
        date_format: (f.kind == FieldKind::Date).then_some(f.date_format),
    }
}

pub(crate) fn document_view(
    d: &DocumentRecord,
    only: Option<inkan_domain::RecipientId>,
) -> DocumentView {
    DocumentView {
        id: d.id.to_string(),
        position: d.position,
        name: d.name.clone(),
        pages: d.pages,
        size: d.size,
        sha256: d.sha256.clone(),
        revision: d.revision,
        signed_by: d.signed_by.iter().map(|r| r.to_string()).collect(),
        fields: d
            .fields
            .iter()
            .filter(|f| only.is_none_or(|r| f.recipient == r))
            .map(field_view)
            .collect(),
        metadata: MetadataInput {
            date: d.metadata.date.clone(),
            amount: d.metadata.amount.map(|y| y.0.to_string()),
            counterparty: d.metadata.counterparty.clone(),
            kind: d.metadata.kind.clone(),
        },
    }
}

pub(crate) fn attachment_view(a: &AttachmentRecord) -> AttachmentView {
    AttachmentView {
        id: a.id.to_string(),
        name: a.name.clone(),
        size: a.size,
        recipient: a.recipient.map(|r| r.to_string()),
    }
}

pub(crate) fn summary(record: &EnvelopeRecord) -> EnvelopeSummary {
    let e: &Envelope = &record.envelope;
    EnvelopeSummary {
        id: e.id.to_string(),
        number: e.number.clone(),
        title: e.title.clone(),
        message: e.message.clone(),
        status: e.status().kind(),
        status_label: e.status().to_string(),
        deadline: e.deadline,
        deadline_text: format_japanese(e.deadline),
        sender_name: record.sender_name.clone(),
        sender_email: record.sender_email.clone(),
        folder: record.folder,
        conclusion_id: e.conclusion_id.to_string(),
        sealed: record.sealed_at.is_some(),
        has_certificate: record.certificate.is_some(),
        created_at: record.created_at,
    }
}

pub(crate) fn envelope_view(
    record: &EnvelopeRecord,
    documents: &[DocumentRecord],
    attachments: &[AttachmentRecord],
) -> EnvelopeView {
    let e = &record.envelope;
    EnvelopeView {
        id: e.id.to_string(),
        number: e.number.clone(),
        title: e.title.clone(),
        message: e.message.clone(),
        status: e.status().kind(),
        status_label: e.status().to_string(),
        status_reason: status_reason(e.status()),
        deadline: e.deadline,
        deadline_text: format_japanese(e.deadline),
        sender_name: record.sender_name.clone(),
        sender_email: record.sender_email.clone(),
        folder: record.folder,
        conclusion_id: e.conclusion_id.to_string(),
        sealed: record.sealed_at.is_some(),
        has_certificate: record.certificate.is_some(),
        created_at: record.created_at,
        recipients: e.recipients().iter().map(recipient_view).collect(),
        documents: documents.iter().map(|d| document_view(d, None)).collect(),
        attachments: attachments.iter().map(attachment_view).collect(),
        template: e.template.map(|t| TemplateUseView {
            template: t.template.to_string(),
            version: t.version,
        }),
    }
}
