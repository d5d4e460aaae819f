//! Fields (入力項目) that a sender places on a document for one recipient: where the signature
//! goes, and what the signer must fill in before signing (署名日, a checkbox, an attached PDF).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AttachmentId, CalendarDate, DateFormat, DomainError, FieldId, RecipientId};

/// What a field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// The recipient's signature. Without a placement it is invisible (the seeds' default).
    Signature,
    /// Free text with a label, such as 署名日 or 住所.
    Text,
    /// A date, written into the contract in the field's [`DateFormat`].
    Date,
    /// A checkbox.
    Checkbox,
    /// A PDF the signer must attach (添付依頼).
    Attachment,
}

impl FieldKind {
    /// The name in the API: `signature`, `text`, `date`, `checkbox`, `attachment`.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Signature => "signature",
            FieldKind::Text => "text",
            FieldKind::Date => "date",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Attachment => "attachment",
        }
    }
}

/// Where a field sits: a page (1-based) and a rectangle in PDF points from the bottom-left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// What a recipient entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum FieldValue {
    Text(String),
    Checked(bool),
    Attachment(AttachmentId),
}

/// One field of one document, for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: FieldId,
    pub recipient: RecipientId,
    pub kind: FieldKind,
    pub label: String,
    pub required: bool,
    pub placement: Option<Placement>,
    pub value: Option<FieldValue>,
    /// How a date field writes its date (和暦 unless the sender chose otherwise).
    #[serde(default)]
    pub date_format: DateFormat,
}

impl Field {
    /// A new, empty field. Signature fields are always required.
    pub fn new(
        recipient: RecipientId,
        kind: FieldKind,
        label: &str,
        required: bool,
        placement: Option<Placement>,
    ) -> Result<Field, DomainError> {
        if let Some(p) = placement {
            let finite = [p.x, p.y, p.width, p.height].iter().all(|v| v.is_finite());
            if p.page == 0 || !finite || p.width <= 0.0 || p.height <= 0.0 || p.x < 0.0 || p.y < 0.0
            {
                return Err(DomainError::InvalidValue {
                    what: "入力項目の位置 (field placement)",
                    why: "ページは1から数え、枠には幅と高さが必要です (the page counts from 1 and the rectangle must have a positive size on the page)".into(),
                });
            }
        }
        let label = crate::text::line("項目名 (field label)", label, 100)?;
        if kind != FieldKind::Signature && label.is_empty() {
            return Err(DomainError::InvalidValue {
                what: "入力項目の名前 (field label)",
                why: "署名者が入力する項目には「署名日」などの名前が必要です (a field the signer fills needs a label)".into(),
            });
        }
        Ok(Field {
            id: FieldId::new(),
            recipient,
            kind,
            label,
            required: required || kind == FieldKind::Signature,
            placement,
            value: None,
            date_format: DateFormat::default(),
        })
    }

    /// The same field, writing its date in `format`.
    pub fn with_date_format(mut self, format: DateFormat) -> Field {
        self.date_format = format;
        self
    }
}

/// Records `recipient`'s values into `fields`: each value must be for one of that recipient's
/// fields and of the field's kind, and afterwards every required field of theirs (other than the
/// signature itself, which signing supplies) must have a value. Nothing changes on refusal.
pub fn fill(
    fields: &mut [Field],
    recipient: RecipientId,
    values: &[(FieldId, FieldValue)],
) -> Result<(), DomainError> {
    let mut staged: Vec<Field> = fields.to_vec();
    for (id, value) in values {
        let field = staged
            .iter_mut()
            .find(|f| f.id == *id && f.recipient == recipient)
            .ok_or_else(|| {
                DomainError::NotAllowed(format!("field {id} is not one of this signer's fields"))
            })?;
        let kept = match (field.kind, value) {
            // Drawn into the PDF as one line of text: no line breaks or other controls.
            (FieldKind::Text, FieldValue::Text(t)) => crate::text::line("", t, 1000)
                .is_ok()
                .then(|| value.clone()),
            // Typed in any usual form, kept as the contract writes it; left empty, empty.
            (FieldKind::Date, FieldValue::Text(t)) if t.trim().is_empty() => {
                Some(FieldValue::Text(String::new()))
            }
            (FieldKind::Date, FieldValue::Text(t)) => {
                let date = CalendarDate::parse(t).map_err(|e| DomainError::InvalidValue {
                    what: "入力値 (field value)",
                    why: format!("「{}」: {e}", field.label),
                })?;
                Some(FieldValue::Text(date.format(field.date_format)))
            }
            (FieldKind::Checkbox, FieldValue::Checked(_)) => Some(value.clone()),
            (FieldKind::Attachment, FieldValue::Attachment(_)) => Some(value.clone()),
            _ => None,
        };
        let Some(kept) = kept else {
            return Err(DomainError::InvalidValue {
                what: "入力値 (field value)",
                why: format!(
                    "{:?} は入力項目「{}」に合いません (does not fit the field, {:?})",
                    value, field.label, field.kind,
                ),
            });
        };
        field.value = Some(kept);
    }
    let missing: Vec<&str> = staged
        .iter()
        .filter(|f| f.recipient == recipient && f.required && f.kind != FieldKind::Signature)
        .filter(|f| match &f.value {
            None => true,
            Some(FieldValue::Text(t)) => t.trim().is_empty(),
            Some(FieldValue::Checked(c)) => !c,
            Some(FieldValue::Attachment(_)) => false,
        })
        .map(|f| f.label.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(DomainError::NotAllowed(format!(
            "required items are not filled in (必須項目が未入力です): {}",
            missing.join(", ")
        )));
    }
    fields.clone_from_slice(&staged);
    Ok(())
}

/// True when `recipient` signs this document (has a signature field on it).
pub fn signs(fields: &[Field], recipient: RecipientId) -> bool {
    fields
        .iter()
        .any(|f| f.recipient == recipient && f.kind == FieldKind::Signature)
}
