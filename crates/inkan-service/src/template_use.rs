//! An envelope made from a template version: each role filled (by the request, or the role's
//! default recipient), each 差込み項目 given its value and drawn into its document's PDF (an
//! incremental update of the template's PDF, which becomes the envelope's revision 0), the
//! title's `{{項目名}}` replaced. The envelope then goes through the same intake as any other,
//! and records the version it was made from.

use std::collections::BTreeMap;

use inkan_domain::{text, EnvelopeId, TemplateUse};
use inkan_pades::PlacedText;
use inkan_store::TemplateVersionRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::intake::Origin;
use crate::templates::{fill_placeholders, parse_template_id, TemplateBody};
use crate::{
    Caller, EnvelopeView, Inkan, MetadataInput, NewEnvelope, NewRecipient, Result, ServiceError,
    Staff,
};

/// What an envelope made from a template gives.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct FromTemplate {
    /// The template version to use (the latest when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// 封筒名 (the template's, its `{{項目名}}` filled, when absent or empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// 管理番号.
    #[serde(default)]
    pub number: String,
    /// The message (the template's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// 署名期限, seconds since the Unix epoch (the template's number of days from now when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    /// Who fills each role without a default recipient (and any role whose default is to be
    /// replaced).
    #[serde(default)]
    pub recipients: Vec<RoleRecipient>,
    /// Each 差込み項目's value, by name.
    #[serde(default)]
    pub merge: BTreeMap<String, String>,
    /// 電帳法 items of every document (種別: the template's when absent).
    #[serde(default)]
    pub metadata: MetadataInput,
    /// A registered counterparty (取引先) ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub folder: Option<inkan_domain::FolderId>,
    /// Send at once (else it stays a draft).
    #[serde(default)]
    pub send: bool,
}

/// The recipient of one role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RoleRecipient {
    /// The role's key or label.
    pub role: String,
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_phone: Option<String>,
}

/// The envelope a template version makes with `input`, and per document the texts to draw.
pub(crate) struct Plan {
    pub envelope: NewEnvelope,
    pub texts: Vec<Vec<PlacedText>>,
}

/// Checks `input` against the template and plans its envelope (no I/O).
pub(crate) fn plan(body: &TemplateBody, input: &FromTemplate, now: i64) -> Result<Plan> {
    let names = body.merge_names();
    if let Some(unknown) = input.merge.keys().find(|k| !names.contains(k)) {
        return Err(ServiceError::Invalid(format!(
            "差込み項目「{unknown}」はこのテンプレートにありません (merge.{unknown}: the template has no such merge field)"
        )));
    }
    let mut values = BTreeMap::new();
    for name in &names {
        let value = input.merge.get(name).map(String::as_str).unwrap_or("");
        let value = text::line("差込み項目 (merge)", value, 200)
            .map_err(|e| ServiceError::Invalid(format!("merge.{name}: {e}")))?;
        if value.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "差込み項目「{name}」の値がありません (merge.{name}: no value)"
            )));
        }
        values.insert(name.clone(), value);
    }
    for (i, r) in input.recipients.iter().enumerate() {
        if !body
            .roles
            .iter()
            .any(|x| x.key == r.role || x.label == r.role)
        {
            return Err(ServiceError::Invalid(format!(
                "recipients[{i}].role: ロール「{}」はこのテンプレートにありません (the template has no such role)",
                r.role
            )));
        }
    }
    let mut recipients = Vec::new();
    for role in &body.roles {
        let given = input
            .recipients
            .iter()
            .find(|r| r.role == role.key || r.role == role.label);
        let recipient = match (given, &role.name, &role.email) {
            (Some(r), _, _) => NewRecipient {
                key: role.key.clone(),
                name: r.name.clone(),
                email: r.email.clone(),
                role: role.role,
                order: role.order,
                method: role.method,
                access_code: r.access_code.clone(),
                sms_phone: r.sms_phone.clone(),
            },
            (None, Some(name), Some(email)) => NewRecipient {
                key: role.key.clone(),
                name: name.clone(),
                email: email.clone(),
                role: role.role,
                order: role.order,
                method: role.method,
                access_code: None,
                sms_phone: None,
            },
            _ => {
                return Err(ServiceError::Invalid(format!(
                    "ロール「{}」の宛先（氏名とメールアドレス）がありません (recipients: no one for the role {:?})",
                    role.label, role.key
                )))
            }
        };
        recipients.push(recipient);
    }
    let title = match input.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => fill_placeholders(&body.title, &values),
    };
    let documents = body
        .documents
        .iter()
        .map(|d| {
            let mut doc = body.new_document(d);
            let kind = doc.metadata.kind.take();
            doc.metadata = input.metadata.clone();
            if doc
                .metadata
                .kind
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
            {
                doc.metadata.kind = kind;
            }
            doc
        })
        .collect();
    let texts = body
        .documents
        .iter()
        .map(|d| {
            d.merge_fields
                .iter()
                .map(|m| PlacedText {
                    page: m.page,
                    x: m.x,
                    y: m.y,
                    size: m.size,
                    text: values.get(&m.name).cloned().unwrap_or_default(),
                })
                .collect()
        })
        .collect();
    Ok(Plan {
        envelope: NewEnvelope {
            number: input.number.clone(),
            title,
            message: input
                .message
                .clone()
                .unwrap_or_else(|| body.message.clone()),
            deadline: input
                .deadline
                .unwrap_or(now + i64::from(body.deadline_days) * 86_400),
            counterparty: input.counterparty.clone(),
            recipients,
            documents,
            attachments: Vec::new(),
            folder: input.folder,
        },
        texts,
    })
}

impl Inkan {
    /// Makes an envelope from a template (`POST /api/v1/templates/{id}/envelopes`): a draft,
    /// or sent at once when `input.send`.
    pub async fn envelope_from_template(
        &self,
        staff: &Staff,
        template: &str,
        input: &FromTemplate,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        staff.require_send()?;
        let id = parse_template_id(template)?;
        let record = self.template_record(staff, id, input.version).await?;
        let view = self
            .make_from_template(staff, &record, input, None, caller)
            .await?;
        if input.send {
            return self.send(staff, &view.id, caller).await;
        }
        Ok(view)
    }

    /// The draft a template version makes with `input`, with the ID `id` when given.
    pub(crate) async fn make_from_template(
        &self,
        staff: &Staff,
        record: &TemplateVersionRecord,
        input: &FromTemplate,
        id: Option<EnvelopeId>,
        caller: &Caller,
    ) -> Result<EnvelopeView> {
        let body = TemplateBody::parse(record)?;
        let plan = plan(&body, input, self.now())?;
        let origin = Origin {
            id,
            template: Some(TemplateUse {
                template: record.template,
                version: record.version,
            }),
        };
        let mut intake = self.start_envelope_as(staff, plan.envelope, origin).await?;
        let received = async {
            for (d, texts) in body.documents.iter().zip(&plan.texts) {
                let original = self.get_blob(&d.blob).await?;
                let engine = self.engine.clone();
                let texts = texts.clone();
                // Drawing embeds a font subset: CPU work, kept off the async workers.
                let bytes = tokio::task::spawn_blocking(move || {
                    engine.draw_merge_values(&original, &texts)
                })
                .await
                .map_err(|e| ServiceError::failed("drawing the merge fields", e))??;
                self.add_document_file(&mut intake, bytes).await?;
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
}
