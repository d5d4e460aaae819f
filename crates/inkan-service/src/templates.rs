//! テンプレート: a reusable envelope — its documents, their fields, the roles that sign,
//! approve or receive a copy and their order, and 差込み項目 (merge fields) drawn into the PDF
//! for each envelope — kept in numbered versions. Saving changes makes a new version; an
//! envelope made from a template records the version it used ([`TemplateUse`]), so a later
//! change never alters what was sent. A template is checked when saved by building the
//! envelope it would make (the same checks as a new envelope), with each role's default
//! recipient or a placeholder.

use std::collections::BTreeMap;

use inkan_domain::{text, Envelope, Role, SignatureMethod, TemplateId};
use inkan_store::{Change, TemplateVersionRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::envelopes::{blob_key_in, check_pdf, file_name, RecipientKeys};
use crate::japan::format_japanese;
use crate::{Caller, Inkan, NewDocument, NewField, NewRecipient, Result, ServiceError, Staff};

/// 差込み項目 a template may hold (over all its documents).
pub const MAX_MERGE_FIELDS: usize = 100;
/// Roles a template may hold.
pub const MAX_ROLES: usize = 20;

/// A template or a new version of it, as staff write it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewTemplate {
    /// テンプレート名.
    pub name: String,
    /// 封筒名 of the envelopes it makes; `{{項目名}}` is replaced by that 差込み項目's value.
    pub title: String,
    #[serde(default)]
    pub message: String,
    /// 署名期限: days from the envelope's creation (1 to 365).
    #[serde(default = "thirty")]
    pub deadline_days: u32,
    pub roles: Vec<NewRole>,
    pub documents: Vec<NewTemplateDocument>,
}

fn thirty() -> u32 {
    30
}

/// A role of a template (`取引先`, `市長`): who fills it is given per envelope, unless the
/// role has a default recipient (the city's own signer, say).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewRole {
    /// The role's key, used by fields and documents (`vendor`).
    pub key: String,
    /// What people call it (`取引先`): the CSV columns of a bulk send are named after it.
    pub label: String,
    pub role: Role,
    #[serde(default = "one")]
    pub order: u32,
    #[serde(default)]
    pub method: SignatureMethod,
    /// A default recipient's name and address (both or neither).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

fn one() -> u32 {
    1
}

/// A document of a template.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewTemplateDocument {
    pub name: String,
    /// The PDF, base64. Empty in a new version: the previous version's document of the same
    /// name is kept.
    #[serde(default)]
    pub content_base64: String,
    /// The role keys who sign it (every signing role when absent).
    #[serde(default)]
    pub signers: Option<Vec<String>>,
    #[serde(default)]
    pub fields: Vec<NewField>,
    #[serde(default)]
    pub merge_fields: Vec<MergeField>,
    /// 種別 given to the envelopes' documents (契約書, 請書 …).
    #[serde(default)]
    pub kind: Option<String>,
}

/// A 差込み項目: a value given per envelope, drawn as one line of text at a place of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MergeField {
    /// The item's name (`契約金額`): the key of its value, and a CSV column of a bulk send.
    pub name: String,
    /// From 1.
    pub page: u32,
    /// The left end of the baseline, in PDF points from the page's bottom-left corner.
    pub x: f64,
    pub y: f64,
    /// Font size in points (6 to 36; 10.5 when absent).
    #[serde(default = "default_size")]
    pub size: f64,
}

fn default_size() -> f64 {
    10.5
}

/// What a template version is, as stored (JSON in the database, PDFs as encrypted blobs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TemplateBody {
    pub title: String,
    pub message: String,
    pub deadline_days: u32,
    pub roles: Vec<NewRole>,
    pub documents: Vec<TemplateDocument>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TemplateDocument {
    pub name: String,
    pub blob: String,
    pub size: u64,
    pub sha256: String,
    pub pages: u32,
    pub signers: Option<Vec<String>>,
    pub fields: Vec<NewField>,
    pub merge_fields: Vec<MergeField>,
    pub kind: Option<String>,
}

impl TemplateBody {
    /// Every 差込み項目's name, once each, in the order they first appear.
    pub(crate) fn merge_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in self.documents.iter().flat_map(|d| &d.merge_fields) {
            if !names.contains(&m.name) {
                names.push(m.name.clone());
            }
        }
        names
    }

    pub(crate) fn parse(record: &TemplateVersionRecord) -> Result<TemplateBody> {
        serde_json::from_value(record.body.clone())
            .map_err(|e| ServiceError::failed(format!("template {}", record.template), e))
    }

    /// The envelope's documents as the intake announces them (their contents come after).
    pub(crate) fn new_document(&self, d: &TemplateDocument) -> NewDocument {
        NewDocument {
            name: d.name.clone(),
            content_base64: String::new(),
            signers: d.signers.clone(),
            fields: d.fields.clone(),
            metadata: crate::MetadataInput {
                kind: d.kind.clone(),
                ..crate::MetadataInput::default()
            },
        }
    }
}

/// A template as the list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateSummary {
    pub id: String,
    pub name: String,
    /// Its latest version.
    pub version: u32,
    pub documents: usize,
    pub roles: Vec<String>,
    pub updated_at: i64,
    pub updated_at_text: String,
}

/// One version of a template, whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub version: u32,
    /// The newest version there is (this one, unless an older one was asked for).
    pub latest_version: u32,
    pub title: String,
    pub message: String,
    pub deadline_days: u32,
    pub roles: Vec<NewRole>,
    pub documents: Vec<TemplateDocumentView>,
    /// Every 差込み項目's name: the values an envelope must give.
    pub merge_names: Vec<String>,
    pub versions: Vec<TemplateVersionLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateDocumentView {
    pub name: String,
    pub pages: u32,
    pub size: u64,
    pub sha256: String,
    pub signers: Option<Vec<String>>,
    pub fields: Vec<NewField>,
    pub merge_fields: Vec<MergeField>,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateVersionLine {
    pub version: u32,
    pub name: String,
    /// `user:<id>` or `api_key:<id>`.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub created_at_text: String,
}

impl Inkan {
    /// The organization's templates, each at its latest version.
    pub async fn templates(&self, staff: &Staff) -> Result<Vec<TemplateSummary>> {
        staff.require_send()?;
        let mut out = Vec::new();
        for record in self.store.templates(staff.organization).await? {
            let body = TemplateBody::parse(&record)?;
            out.push(TemplateSummary {
                id: record.template.to_string(),
                name: record.name.clone(),
                version: record.version,
                documents: body.documents.len(),
                roles: body.roles.iter().map(|r| r.label.clone()).collect(),
                updated_at: record.created_at,
                updated_at_text: format_japanese(record.created_at),
            });
        }
        Ok(out)
    }

    /// One version of a template (the latest when `version` is `None`), with its history.
    pub async fn template(
        &self,
        staff: &Staff,
        id: &str,
        version: Option<u32>,
    ) -> Result<TemplateView> {
        staff.require_send()?;
        let id = parse_template_id(id)?;
        let record = self.template_record(staff, id, version).await?;
        let versions = self.store.template_versions(staff.organization, id).await?;
        let body = TemplateBody::parse(&record)?;
        Ok(TemplateView {
            id: id.to_string(),
            name: record.name.clone(),
            version: record.version,
            latest_version: versions.first().map_or(record.version, |v| v.version),
            title: body.title.clone(),
            message: body.message.clone(),
            deadline_days: body.deadline_days,
            roles: body.roles.clone(),
            merge_names: body.merge_names(),
            documents: body
                .documents
                .iter()
                .map(|d| TemplateDocumentView {
                    name: d.name.clone(),
                    pages: d.pages,
                    size: d.size,
                    sha256: d.sha256.clone(),
                    signers: d.signers.clone(),
                    fields: d.fields.clone(),
                    merge_fields: d.merge_fields.clone(),
                    kind: d.kind.clone(),
                })
                .collect(),
            versions: versions
                .iter()
                .map(|v| TemplateVersionLine {
                    version: v.version,
                    name: v.name.clone(),
                    created_by: v.created_by.clone(),
                    created_at: v.created_at,
                    created_at_text: format_japanese(v.created_at),
                })
                .collect(),
        })
    }

    pub(crate) async fn template_record(
        &self,
        staff: &Staff,
        id: TemplateId,
        version: Option<u32>,
    ) -> Result<TemplateVersionRecord> {
        self.store
            .template_version(staff.organization, id, version)
            .await?
            .ok_or(ServiceError::NotFound("the template"))
    }

    /// Saves a new template (`id` `None`) or a new version of one: every part checked as the
    /// envelope it would make, its new PDFs stored encrypted. Audited (`template_saved`).
    pub async fn save_template(
        &self,
        staff: &Staff,
        id: Option<&str>,
        input: &NewTemplate,
        caller: &Caller,
    ) -> Result<TemplateView> {
        staff.require_send()?;
        let (id, previous) = match id {
            Some(id) => {
                let id = parse_template_id(id)?;
                let previous = self.template_record(staff, id, None).await?;
                (id, Some(TemplateBody::parse(&previous)?.documents))
            }
            None => (TemplateId::new(), None),
        };
        let version = self.store.template_versions(staff.organization, id).await?;
        let number = version.first().map_or(1, |v| v.version + 1);
        let name = text::required_line("テンプレート名 (name)", &input.name, 100)?;
        let body = self
            .template_body(staff, id, number, input, previous.as_deref())
            .await?;
        let now = self.now();
        let record = TemplateVersionRecord {
            template: id,
            version: number,
            organization: staff.organization,
            name: name.clone(),
            body: serde_json::to_value(&body)
                .map_err(|e| ServiceError::failed("the template body", e))?,
            created_by: Some(staff.actor.clone()),
            created_at: now,
        };
        self.store
            .add_template_version(&record)
            .await
            .map_err(|e| match e {
                inkan_store::StoreError::Duplicate(_) => ServiceError::Conflict,
                other => other.into(),
            })?;
        let audit = self.audit_entry(
            staff.organization,
            &staff.actor,
            "template_saved",
            None,
            None,
            caller,
            serde_json::json!({
                "template": id.to_string(),
                "version": number,
                "name": name,
                "documents": body.documents.iter().map(|d| serde_json::json!({"name": d.name, "sha256": d.sha256})).collect::<Vec<_>>(),
            }),
        );
        self.store
            .apply(Change {
                audit: vec![audit],
                now,
                ..Change::default()
            })
            .await?;
        self.template(staff, &id.to_string(), Some(number)).await
    }

    /// Checks a template's input and stores its new PDFs: the body of its next version.
    async fn template_body(
        &self,
        staff: &Staff,
        id: TemplateId,
        version: u32,
        input: &NewTemplate,
        previous: Option<&[TemplateDocument]>,
    ) -> Result<TemplateBody> {
        let title = text::required_line("封筒名 (title)", &input.title, 200)?;
        let message = text::paragraphs("メッセージ (message)", &input.message, 5000)?;
        if !(1..=365).contains(&input.deadline_days) {
            return Err(ServiceError::Invalid(
                "署名期限 (deadline_days) は 1〜365 日にしてください (between 1 and 365 days)"
                    .into(),
            ));
        }
        if input.roles.is_empty() || input.roles.len() > MAX_ROLES {
            return Err(ServiceError::Invalid(format!(
                "ロール (roles) は 1〜{MAX_ROLES} 個にしてください (a template has 1 to {MAX_ROLES} roles)"
            )));
        }
        let mut roles = Vec::new();
        for (i, r) in input.roles.iter().enumerate() {
            let in_role = |e: String| ServiceError::Invalid(format!("roles[{i}]: {e}"));
            let key = text::required_line("キー (key)", &r.key, 40)
                .map_err(|e| in_role(e.to_string()))?;
            let label = text::required_line("ロール名 (label)", &r.label, 40)
                .map_err(|e| in_role(e.to_string()))?;
            if label.contains(':') || starts_like_a_formula(&label) {
                return Err(in_role(
                    "ロール名にコロン (:) や、先頭の = + - @ は使えません (no colon in a role's label, and no =, +, - or @ first: the label heads a CSV column)".into(),
                ));
            }
            if roles.iter().any(|x: &NewRole| x.label == label) {
                return Err(in_role(format!(
                    "ロール名「{label}」が2つあります (two roles are called {label:?})"
                )));
            }
            let default = match (blank(&r.name), blank(&r.email)) {
                (None, None) => (None, None),
                (Some(n), Some(e)) => (Some(n.to_string()), Some(e.to_string())),
                _ => {
                    return Err(in_role(
                        "既定の宛先は氏名とメールアドレスの両方を入れてください (a default recipient needs both a name and an address)".into(),
                    ))
                }
            };
            roles.push(NewRole {
                key,
                label,
                role: r.role,
                order: r.order,
                method: r.method,
                name: default.0,
                email: default.1,
            });
        }
        // The envelope it would make, with placeholders for roles without a default.
        let mut probe = Envelope::new(
            staff.organization,
            "",
            &title,
            self.now() + 86_400,
            self.now(),
        )?;
        let recipients = RecipientKeys::add(&mut probe, &placeholder_recipients(&roles))?;
        if input.documents.is_empty() || input.documents.len() > inkan_domain::MAX_DOCUMENTS {
            return Err(ServiceError::Invalid(format!(
                "文書は 1〜{} 件にしてください (a template has 1 to {} documents)",
                inkan_domain::MAX_DOCUMENTS,
                inkan_domain::MAX_DOCUMENTS
            )));
        }
        let mut documents: Vec<TemplateDocument> = Vec::new();
        let mut merge_count = 0;
        for (i, d) in input.documents.iter().enumerate() {
            let in_doc = |e: ServiceError| match e {
                ServiceError::Invalid(m) => ServiceError::Invalid(format!("documents[{i}]: {m}")),
                other => other,
            };
            let name = file_name(&d.name).map_err(in_doc)?;
            if documents.iter().any(|x| x.name == name) {
                return Err(in_doc(ServiceError::Invalid(format!(
                    "同じ名前の文書が2つあります (two documents are called {name:?})"
                ))));
            }
            let (blob, size, sha256, pages) = if d.content_base64.trim().is_empty() {
                let kept = previous
                    .and_then(|p| p.iter().find(|x| x.name == name))
                    .ok_or_else(|| {
                        in_doc(ServiceError::Invalid(format!(
                            "「{name}」の PDF がありません (the PDF is missing: base64 here, or a document of that name in the previous version)"
                        )))
                    })?;
                (
                    kept.blob.clone(),
                    kept.size,
                    kept.sha256.clone(),
                    kept.pages,
                )
            } else {
                let bytes = crate::intake::decode(&format!("document {name}"), &d.content_base64)
                    .map_err(in_doc)?;
                if bytes.len() as u64 > inkan_domain::MAX_TOTAL_BYTES {
                    return Err(in_doc(ServiceError::Invalid(format!(
                        "「{name}」が大きすぎます (larger than an envelope may hold)"
                    ))));
                }
                let pages = check_pdf(&name, &bytes).map_err(in_doc)?;
                let key = blob_key_in(
                    &format!("org/{}/template/{id}/v{version}", staff.organization),
                    "doc",
                );
                let (size, sha256) = self.put_blob(&key, &bytes).await?;
                (key, size, sha256, pages)
            };
            let announced = NewDocument {
                name: name.clone(),
                content_base64: String::new(),
                signers: d.signers.clone(),
                fields: d.fields.clone(),
                metadata: crate::MetadataInput::default(),
            };
            recipients
                .fields_of(&announced, &name, pages)
                .map_err(in_doc)?;
            let mut merge_fields = Vec::new();
            for (j, m) in d.merge_fields.iter().enumerate() {
                merge_fields.push(check_merge_field(m, pages).map_err(|e| {
                    ServiceError::Invalid(format!("documents[{i}].merge_fields[{j}]: {e}"))
                })?);
            }
            merge_count += merge_fields.len();
            let kind = match d.kind.as_deref() {
                Some(k) => Some(text::line("種別 (kind)", k, 50).map_err(|e| in_doc(e.into()))?),
                None => None,
            }
            .filter(|k| !k.is_empty());
            documents.push(TemplateDocument {
                name,
                blob,
                size,
                sha256,
                pages,
                signers: d.signers.clone(),
                fields: d.fields.clone(),
                merge_fields,
                kind,
            });
        }
        if merge_count > MAX_MERGE_FIELDS {
            return Err(ServiceError::Invalid(format!(
                "差込み項目は {MAX_MERGE_FIELDS} 個までです (at most {MAX_MERGE_FIELDS} merge fields)"
            )));
        }
        for name in placeholders(&title) {
            if !documents
                .iter()
                .flat_map(|d| &d.merge_fields)
                .any(|m| m.name == name)
            {
                return Err(ServiceError::Invalid(format!(
                    "封筒名の {{{{{name}}}}} に当たる差込み項目がありません (the title names {name:?}, which no merge field is)"
                )));
            }
        }
        Ok(TemplateBody {
            title,
            message,
            deadline_days: input.deadline_days,
            roles,
            documents,
        })
    }
}

/// A role's recipients while a template is checked: its default, or a placeholder that passes
/// the checks of a name and an address.
fn placeholder_recipients(roles: &[NewRole]) -> Vec<NewRecipient> {
    roles
        .iter()
        .enumerate()
        .map(|(i, r)| NewRecipient {
            key: r.key.clone(),
            name: r.name.clone().unwrap_or_else(|| r.label.clone()),
            email: r
                .email
                .clone()
                .unwrap_or_else(|| format!("role{i}@template.invalid")),
            role: r.role,
            order: r.order,
            method: r.method,
            access_code: None,
            sms_phone: None,
        })
        .collect()
}

fn blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A CSV cell Excel would run as a formula: role labels and merge names head the columns of
/// the bulk-send ひな形, which staff open in Excel.
fn starts_like_a_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@'])
}

fn check_merge_field(m: &MergeField, pages: u32) -> std::result::Result<MergeField, String> {
    let name = text::required_line("項目名 (name)", &m.name, 50).map_err(|e| e.to_string())?;
    if name.contains(['{', '}', ':']) || starts_like_a_formula(&name) {
        return Err(format!(
            "項目名「{name}」に {{ }} や : 、先頭の = + - @ は使えません (no braces or colons in a merge field's name, and no =, +, - or @ first: it heads a CSV column)"
        ));
    }
    if m.page == 0 || m.page > pages {
        return Err(format!(
            "ページ {} はありません: 文書は {pages} ページです (page {} is not in the document's {pages} pages)",
            m.page, m.page
        ));
    }
    let finite = [m.x, m.y, m.size].iter().all(|v| v.is_finite());
    if !finite || !(0.0..=14_400.0).contains(&m.x) || !(0.0..=14_400.0).contains(&m.y) {
        return Err("位置 (x, y) はページの中の 0 以上の値にしてください (x and y must be points on the page)".into());
    }
    if !(6.0..=36.0).contains(&m.size) {
        return Err(
            "文字の大きさ (size) は 6〜36 ポイントにしてください (size must be 6 to 36 points)"
                .into(),
        );
    }
    Ok(MergeField {
        name,
        page: m.page,
        x: m.x,
        y: m.y,
        size: m.size,
    })
}

/// The `{{名前}}` placeholders of a text, in order.
pub(crate) fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// `text` with each `{{名前}}` replaced by its value (an unknown name is left as it is).
pub(crate) fn fill_placeholders(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        match values.get(after[..end].trim()) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn parse_template_id(id: &str) -> Result<TemplateId> {
    id.parse()
        .map_err(|_| ServiceError::NotFound("the template"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_filled() {
        assert_eq!(placeholders("{{件名}} の件 {{ 番号 }}"), ["件名", "番号"]);
        let values = BTreeMap::from([("件名".to_string(), "清掃業務".to_string())]);
        assert_eq!(
            fill_placeholders("{{件名}} 委託契約 {{不明}} {{", &values),
            "清掃業務 委託契約 {{不明}} {{"
        );
    }

    #[test]
    fn a_merge_field_off_the_page_or_too_large_is_refused() {
        let m = MergeField {
            name: "契約金額".into(),
            page: 2,
            x: 100.0,
            y: 100.0,
            size: 10.5,
        };
        assert!(check_merge_field(&m, 2).is_ok());
        assert!(check_merge_field(&m, 1).unwrap_err().contains("page 2"));
        let big = MergeField {
            size: 72.0,
            ..m.clone()
        };
        assert!(check_merge_field(&big, 2).unwrap_err().contains("size"));
        let nan = MergeField {
            x: f64::NAN,
            ..m.clone()
        };
        assert!(check_merge_field(&nan, 2).is_err());
        let formula = MergeField {
            name: "=HYPERLINK(\"http://x\")".into(),
            ..m.clone()
        };
        assert!(check_merge_field(&formula, 2).is_err());
        let braces = MergeField {
            name: "{{x}}".into(),
            ..m
        };
        assert!(check_merge_field(&braces, 2).is_err());
    }
}
