//! 一括送信: one envelope per row of a CSV, made from one template version and sent.
//!
//! The CSV is read as Japanese Excel writes it (UTF-8 with or without a BOM, or CP932), up to
//! 1,500 rows. Its columns: 件名 and 管理番号; per role without a default recipient
//! `ロール名:氏名` and `ロール名:メールアドレス` (and optionally `:アクセスコード`, `:SMS`); one
//! column per 差込み項目, by its name; the 電帳法 items 取引年月日, 金額, 取引先 and 種別 (a
//! 差込み項目 of the same name takes the same value). Every row is checked before anything is
//! stored, and a bad one is named by its line and column.
//!
//! Then one change writes the batch, its rows and one job per row (keyed by batch and row).
//! A row's job makes its envelope with an ID derived from the batch and the row, and sends it:
//! run twice — a worker killed mid-batch, its lease taken over — it finds the envelope made,
//! and sending twice changes nothing; so no row is ever sent twice.

use std::collections::BTreeMap;

use inkan_domain::{text, BatchId, Email, EnvelopeId, OrganizationId, UserId};
use inkan_store::{BatchRecord, BatchRow, Change, Job, NewJob, RowOutcome, RowState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::envelopes::parse_metadata;
use crate::import_manifest::ExcelCsv;
use crate::japan::format_japanese;
use crate::template_use::{plan, FromTemplate, RoleRecipient};
use crate::templates::{parse_template_id, TemplateBody};
use crate::{Caller, Inkan, MetadataInput, Result, ServiceError, Staff};

/// Rows a bulk send may hold.
pub const MAX_BULK_ROWS: usize = 1500;
/// The job that makes and sends one row's envelope.
pub(crate) const BULK_JOB: &str = "bulk_row";

/// A column of a bulk-send CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Title,
    Number,
    Role(usize, RolePart),
    Merge(String),
    Date,
    Amount,
    Counterparty,
    Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RolePart {
    Name,
    Email,
    AccessCode,
    Sms,
}

impl RolePart {
    const ALL: [RolePart; 4] = [
        RolePart::Name,
        RolePart::Email,
        RolePart::AccessCode,
        RolePart::Sms,
    ];

    /// The header's Japanese word first (what the ひな形 writes), then the others read.
    fn words(self) -> &'static [&'static str] {
        match self {
            RolePart::Name => &["氏名", "name"],
            RolePart::Email => &["メールアドレス", "メール", "email"],
            RolePart::AccessCode => &["アクセスコード", "access_code"],
            RolePart::Sms => &["SMS", "携帯電話番号", "sms_phone"],
        }
    }
}

/// The 電帳法 columns, Japanese then English.
const METADATA_COLUMNS: [(&str, &str); 4] = [
    ("取引年月日", "date"),
    ("金額", "amount"),
    ("取引先", "counterparty"),
    ("種別", "kind"),
];

fn column_of(header: &str, body: &TemplateBody, merge: &[String]) -> Option<Column> {
    let h = header.trim();
    if let Some((role, part)) = h.split_once(':') {
        let (role, part) = (role.trim(), part.trim());
        let index = body
            .roles
            .iter()
            .position(|r| r.label == role || r.key == role)?;
        let part = RolePart::ALL
            .into_iter()
            .find(|p| p.words().iter().any(|w| w.eq_ignore_ascii_case(part)))?;
        return Some(Column::Role(index, part));
    }
    let is = |ja: &str, en: &str| h == ja || h.eq_ignore_ascii_case(en);
    // The 電帳法 items first (a 差込み項目 of the same name takes their value), then the
    // 差込み項目 (one called 件名 fills the template's title instead of replacing it).
    match () {
        _ if is(METADATA_COLUMNS[0].0, METADATA_COLUMNS[0].1) => Some(Column::Date),
        _ if is(METADATA_COLUMNS[1].0, METADATA_COLUMNS[1].1) => Some(Column::Amount),
        _ if is(METADATA_COLUMNS[2].0, METADATA_COLUMNS[2].1) => Some(Column::Counterparty),
        _ if is(METADATA_COLUMNS[3].0, METADATA_COLUMNS[3].1) => Some(Column::Kind),
        _ if merge.iter().any(|m| m == h) => Some(Column::Merge(h.to_string())),
        _ if is("件名", "title") => Some(Column::Title),
        _ if is("管理番号", "number") => Some(Column::Number),
        _ => None,
    }
}

/// The header line a template's bulk-send CSV needs (the ひな形 the page offers).
pub(crate) fn csv_headers(body: &TemplateBody) -> Vec<String> {
    let mut headers = vec!["件名".to_string(), "管理番号".to_string()];
    for role in body.roles.iter().filter(|r| r.email.is_none()) {
        headers.push(format!("{}:氏名", role.label));
        headers.push(format!("{}:メールアドレス", role.label));
    }
    for name in body.merge_names() {
        if !headers.contains(&name) {
            headers.push(name);
        }
    }
    for (ja, _) in METADATA_COLUMNS {
        if !headers.iter().any(|h| h == ja) {
            headers.push(ja.to_string());
        }
    }
    headers
}

/// One checked row: its line in the CSV and what it asks for.
#[derive(Debug, Clone)]
pub(crate) struct BulkLine {
    pub line: u32,
    pub input: FromTemplate,
}

/// Reads and checks a bulk-send CSV against a template version: nothing is sent unless every
/// row is right.
pub(crate) fn parse_bulk_csv(bytes: &[u8], body: &TemplateBody, now: i64) -> Result<Vec<BulkLine>> {
    let ExcelCsv { headers, rows } = ExcelCsv::read(bytes, MAX_BULK_ROWS)?;
    let merge = body.merge_names();
    let mut columns: Vec<Column> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let column = column_of(h, body, &merge).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "1行目 {}列目: 見出し {h:?} はこのテンプレートにありません。ひな形の CSV の見出しを使ってください \
                 (line 1, column {}: the template has no column {h:?}; use the headers of the template's CSV)",
                i + 1,
                i + 1
            ))
        })?;
        if columns.contains(&column) {
            return Err(ServiceError::Invalid(format!(
                "1行目: 見出し「{}」が2つあります (line 1: the header {h:?} appears twice)",
                h.trim()
            )));
        }
        columns.push(column);
    }
    // Columns every row needs: a recipient for each role without a default, every 差込み項目.
    for (index, role) in body.roles.iter().enumerate() {
        if role.email.is_some() {
            continue;
        }
        for part in [RolePart::Name, RolePart::Email] {
            if !columns.contains(&Column::Role(index, part)) {
                return Err(ServiceError::Invalid(format!(
                    "1行目: 「{}:{}」の列がありません (line 1: no column for the {} of the role {:?})",
                    role.label,
                    part.words()[0],
                    part.words()[1],
                    role.label
                )));
            }
        }
    }
    let headers_given: Vec<&str> = headers.iter().map(str::trim).collect();
    for name in &merge {
        // A 差込み項目 named like a 電帳法 item (金額) takes that column's value.
        if !headers_given.contains(&name.as_str()) {
            return Err(ServiceError::Invalid(format!(
                "1行目: 差込み項目「{name}」の列がありません (line 1: no column for the merge field {name:?})"
            )));
        }
    }

    let mut lines = Vec::new();
    for (line, record) in rows {
        let input = read_row(line, &headers, &columns, &record, body, &merge)?;
        // What needs the whole row: recipients together, the envelope the row makes.
        let planned = plan(body, &input, now)
            .map_err(|e| ServiceError::Invalid(format!("{line}行目: {}", message(e))))?;
        let mut probe = inkan_domain::Envelope::new(
            OrganizationId::new(),
            &planned.envelope.number,
            &planned.envelope.title,
            planned.envelope.deadline,
            now,
        )
        .map_err(|e| ServiceError::Invalid(format!("{line}行目: {e}")))?;
        crate::envelopes::RecipientKeys::add(&mut probe, &planned.envelope.recipients)
            .map_err(|e| ServiceError::Invalid(format!("{line}行目: {}", message(e))))?;
        lines.push(BulkLine {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            input,
        });
    }
    if lines.is_empty() {
        return Err(ServiceError::Invalid(
            "CSV に送信する行がありません (the CSV has no rows)".into(),
        ));
    }
    Ok(lines)
}

fn message(e: ServiceError) -> String {
    match e {
        ServiceError::Invalid(m) => m,
        other => other.to_string(),
    }
}

/// One row's cells, each checked where it stands so that an error names its column.
fn read_row(
    line: usize,
    headers: &csv::StringRecord,
    columns: &[Column],
    record: &csv::StringRecord,
    body: &TemplateBody,
    merge: &[String],
) -> Result<FromTemplate> {
    let mut input = FromTemplate::default();
    let mut recipients: BTreeMap<usize, RoleRecipient> = BTreeMap::new();
    let mut metadata = MetadataInput::default();
    for ((column, header), cell) in columns.iter().zip(headers.iter()).zip(record.iter()) {
        let at =
            |why: String| ServiceError::Invalid(format!("{line}行目「{}」: {why}", header.trim()));
        let value = cell.trim();
        let line_of = |what: &'static str, max: usize| {
            text::line(what, value, max).map_err(|e| at(e.to_string()))
        };
        match column {
            Column::Title => input.title = Some(line_of("件名 (title)", 200)?),
            Column::Number => input.number = line_of("管理番号 (number)", 100)?,
            Column::Role(index, part) => {
                let role = &body.roles[*index];
                let r = recipients.entry(*index).or_insert_with(|| RoleRecipient {
                    role: role.key.clone(),
                    ..RoleRecipient::default()
                });
                match part {
                    RolePart::Name => r.name = line_of("氏名 (name)", 100)?,
                    RolePart::Email => {
                        if !value.is_empty() {
                            value.parse::<Email>().map_err(|e| at(e.to_string()))?;
                        }
                        r.email = value.to_string();
                    }
                    RolePart::AccessCode => {
                        r.access_code = Some(value.to_string()).filter(|v| !v.is_empty())
                    }
                    RolePart::Sms => {
                        r.sms_phone = Some(value.to_string()).filter(|v| !v.is_empty())
                    }
                }
            }
            Column::Merge(name) => {
                let v = line_of("差込み項目 (merge)", 200)?;
                if v.is_empty() {
                    return Err(at("値がありません (no value)".into()));
                }
                input.merge.insert(name.clone(), v);
            }
            Column::Date => metadata.date = Some(value.to_string()),
            Column::Amount => metadata.amount = Some(value.to_string()),
            Column::Counterparty => metadata.counterparty = Some(value.to_string()),
            Column::Kind => metadata.kind = Some(value.to_string()),
        }
        // Each 電帳法 item alone, so that an error names its column; one that is also a
        // 差込み項目 gives it its value.
        let item = Some(value.to_string());
        let alone = match column {
            Column::Date => Some(MetadataInput {
                date: item,
                ..MetadataInput::default()
            }),
            Column::Amount => Some(MetadataInput {
                amount: item,
                ..MetadataInput::default()
            }),
            Column::Counterparty => Some(MetadataInput {
                counterparty: item,
                ..MetadataInput::default()
            }),
            Column::Kind => Some(MetadataInput {
                kind: item,
                ..MetadataInput::default()
            }),
            _ => None,
        };
        if let Some(alone) = alone {
            parse_metadata(&alone).map_err(|e| at(message(e)))?;
            let name = header.trim();
            if merge.iter().any(|m| m == name) {
                if value.is_empty() {
                    return Err(at("値がありません (no value)".into()));
                }
                input.merge.insert(name.to_string(), value.to_string());
            }
        }
    }
    // A role whose default is replaced needs both cells; an empty pair keeps the default.
    for (index, r) in recipients {
        let role = &body.roles[index];
        if r.name.is_empty() && r.email.is_empty() && role.email.is_some() {
            continue;
        }
        for (part, empty) in [
            (RolePart::Name, r.name.is_empty()),
            (RolePart::Email, r.email.is_empty()),
        ] {
            if empty {
                return Err(ServiceError::Invalid(format!(
                    "{line}行目「{}:{}」: 値がありません (no value)",
                    role.label,
                    part.words()[0]
                )));
            }
        }
        input.recipients.push(r);
    }
    input.metadata = metadata;
    Ok(input)
}

/// The envelope ID of a batch's row: the same every time the row's job runs.
pub(crate) fn row_envelope_id(batch: BatchId, row: u32) -> EnvelopeId {
    let mut hash = Sha256::new();
    hash.update(b"inkan bulk-send envelope\0");
    hash.update(batch.as_uuid().as_bytes());
    hash.update(row.to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    // A UUID's text form always parses as an ID.
    uuid.to_string().parse().unwrap_or_default()
}

/// How a bulk send starts: which version, the CSV's name, the folder of its envelopes.
#[derive(Debug, Clone, Default)]
pub struct BulkStart {
    /// The template version (the latest when `None`).
    pub version: Option<u32>,
    /// The CSV's name as the pages show it.
    pub file_name: String,
    /// The folder every envelope goes into (required when the organization requires one).
    pub folder: Option<inkan_domain::FolderId>,
}

impl BulkStart {
    /// The latest version, to the top level, from a CSV called `file_name`.
    pub fn named(file_name: &str) -> BulkStart {
        BulkStart {
            file_name: file_name.into(),
            ..BulkStart::default()
        }
    }
}

/// A bulk send as its page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchView {
    pub id: String,
    pub template: String,
    pub template_name: String,
    pub version: u32,
    pub file_name: String,
    pub rows: u32,
    pub waiting: u32,
    pub sent: u32,
    pub failed: u32,
    /// No row waits any more.
    pub finished: bool,
    pub created_at: i64,
    pub created_at_text: String,
    /// Each row (left out of lists).
    #[serde(default)]
    pub lines: Vec<BatchLineView>,
}

/// One row of a bulk send.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchLineView {
    /// Its line in the CSV (the header is line 1).
    pub row: u32,
    pub title: String,
    /// The recipients' addresses the row gives.
    pub recipients: Vec<String>,
    /// `waiting`, `sent` or `failed`.
    pub state: String,
    pub envelope: Option<String>,
    pub error: Option<String>,
}

/// A bulk send's job: which row of which batch.
#[derive(Debug, Serialize, Deserialize)]
struct RowJob {
    organization: OrganizationId,
    batch: BatchId,
    row: u32,
}

impl Inkan {
    /// The header line of a template's bulk-send CSV (UTF-8 with a BOM, as Excel opens it).
    pub async fn bulk_csv_template(&self, staff: &Staff, template: &str) -> Result<String> {
        staff.require_send()?;
        let id = parse_template_id(template)?;
        let record = self.template_record(staff, id, None).await?;
        let body = TemplateBody::parse(&record)?;
        let mut out = String::from("\u{feff}");
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(csv_headers(&body))
            .map_err(|e| ServiceError::failed("the CSV header", e))?;
        let bytes = writer
            .into_inner()
            .map_err(|e| ServiceError::failed("the CSV header", e))?;
        out.push_str(&String::from_utf8_lossy(&bytes).replace('\n', "\r\n"));
        Ok(out)
    }

    /// Starts a bulk send of a template version (the latest when `version` is `None`): every
    /// row checked, then the batch, its rows and their jobs written in one change. Audited
    /// (`bulk_send`).
    pub async fn start_bulk_send(
        &self,
        staff: &Staff,
        template: &str,
        start: &BulkStart,
        csv: &[u8],
        caller: &Caller,
    ) -> Result<BatchView> {
        staff.require_send()?;
        let id = parse_template_id(template)?;
        let record = self.template_record(staff, id, start.version).await?;
        let body = TemplateBody::parse(&record)?;
        let file_name = crate::envelopes::file_name(&start.file_name)?;
        // The folder every row's envelope goes into, checked once before anything is stored.
        let org = self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let folder = self
            .folder_for_new_envelope(staff, start.folder, org.folder_required)
            .await?;
        let now = self.now();
        let mut lines = parse_bulk_csv(csv, &body, now)?;
        for line in &mut lines {
            line.input.folder = folder;
        }
        let batch = BatchRecord {
            id: BatchId::new(),
            organization: staff.organization,
            template: id,
            version: record.version,
            file_name,
            actor: staff.actor.clone(),
            rows: u32::try_from(lines.len()).unwrap_or(u32::MAX),
            created_at: now,
        };
        let mut rows = Vec::with_capacity(lines.len());
        let mut jobs = Vec::with_capacity(lines.len());
        for l in &lines {
            rows.push(BatchRow {
                batch: batch.id,
                row: l.line,
                organization: staff.organization,
                input: serde_json::to_value(&l.input)
                    .map_err(|e| ServiceError::failed("a bulk-send row", e))?,
                state: RowState::Waiting,
                envelope: None,
                error: None,
                updated_at: now,
            });
            jobs.push(NewJob {
                id: inkan_domain::JobId::new(),
                kind: BULK_JOB.into(),
                payload: serde_json::to_value(RowJob {
                    organization: staff.organization,
                    batch: batch.id,
                    row: l.line,
                })
                .map_err(|e| ServiceError::failed("a bulk-send job", e))?,
                organization: Some(staff.organization),
                run_at: now,
                max_attempts: 8,
                dedupe_key: Some(format!("bulk:{}:{}", batch.id, l.line)),
                only_with_webhooks: false,
            });
        }
        let audit = self.audit_entry(
            staff.organization,
            &staff.actor,
            "bulk_send",
            None,
            None,
            caller,
            serde_json::json!({
                "batch": batch.id.to_string(),
                "template": id.to_string(),
                "version": record.version,
                "file_name": batch.file_name,
                "rows": batch.rows,
            }),
        );
        self.store
            .create_batch(
                &batch,
                &rows,
                Change {
                    jobs,
                    audit: vec![audit],
                    now,
                    ..Change::default()
                },
            )
            .await?;
        self.batch(staff, &batch.id.to_string()).await
    }

    /// A bulk send with each row's progress.
    pub async fn batch(&self, staff: &Staff, id: &str) -> Result<BatchView> {
        self.batch_with(staff, id, true).await
    }

    /// A bulk send's counts, without its rows (what a progress bar polls).
    pub async fn batch_progress(&self, staff: &Staff, id: &str) -> Result<BatchView> {
        self.batch_with(staff, id, false).await
    }

    async fn batch_with(&self, staff: &Staff, id: &str, rows: bool) -> Result<BatchView> {
        staff.require_send()?;
        let id: BatchId = id
            .parse()
            .map_err(|_| ServiceError::NotFound("the bulk send"))?;
        let batch = self
            .store
            .batch(staff.organization, id)
            .await?
            .ok_or(ServiceError::NotFound("the bulk send"))?;
        let mut view = self.batch_view(&batch).await?;
        if !rows {
            return Ok(view);
        }
        let template = self
            .store
            .template_version(staff.organization, batch.template, Some(batch.version))
            .await?
            .ok_or(ServiceError::NotFound("the template"))?;
        let body = TemplateBody::parse(&template)?;
        for r in self.store.batch_rows(staff.organization, id).await? {
            let input: FromTemplate = serde_json::from_value(r.input.clone())
                .map_err(|e| ServiceError::failed("a bulk-send row", e))?;
            let title = match input.title.as_deref() {
                Some(t) if !t.is_empty() => t.to_string(),
                _ => crate::templates::fill_placeholders(&body.title, &input.merge),
            };
            view.lines.push(BatchLineView {
                row: r.row,
                title,
                recipients: input.recipients.iter().map(|x| x.email.clone()).collect(),
                state: r.state.name().into(),
                envelope: r.envelope.map(|e| e.to_string()),
                error: r.error.clone(),
            });
        }
        Ok(view)
    }

    /// The organization's bulk sends, newest first (without their rows).
    pub async fn batches(&self, staff: &Staff) -> Result<Vec<BatchView>> {
        staff.require_send()?;
        let mut out = Vec::new();
        for b in self.store.batches(staff.organization, 50).await? {
            out.push(self.batch_view(&b).await?);
        }
        Ok(out)
    }

    async fn batch_view(&self, b: &BatchRecord) -> Result<BatchView> {
        let progress = self.store.batch_progress(b.organization, b.id).await?;
        let name = self
            .store
            .template_version(b.organization, b.template, Some(b.version))
            .await?
            .map(|t| t.name)
            .unwrap_or_default();
        Ok(BatchView {
            id: b.id.to_string(),
            template: b.template.to_string(),
            template_name: name,
            version: b.version,
            file_name: b.file_name.clone(),
            rows: b.rows,
            waiting: progress.waiting,
            sent: progress.sent,
            failed: progress.failed,
            finished: progress.waiting == 0,
            created_at: b.created_at,
            created_at_text: format_japanese(b.created_at),
            lines: Vec::new(),
        })
    }

    /// One row's job: make its envelope (unless a run before this one did) and send it.
    /// A reason that will not change (the row's data, the sender's rights) fails the row and
    /// ends the job; anything else is retried as jobs are.
    pub(crate) async fn run_bulk_job(&self, job: &Job) -> Result<()> {
        let RowJob {
            organization: org,
            batch,
            row,
        } = serde_json::from_value(job.payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("bulk-send job payload: {e}")))?;
        let Some(line) = self.store.batch_row(org, batch, row).await? else {
            return Err(ServiceError::Invalid(format!(
                "bulk send {batch} has no row {row}"
            )));
        };
        if line.state != RowState::Waiting {
            return Ok(());
        }
        let envelope = row_envelope_id(batch, row);
        let outcome = self.send_row(org, batch, &line, envelope).await;
        let now = self.now();
        match outcome {
            Ok(()) => {
                let sent = RowOutcome {
                    state: RowState::Sent,
                    envelope: Some(envelope),
                    error: None,
                };
                self.store
                    .finish_batch_row(org, batch, row, &sent, now)
                    .await?;
                Ok(())
            }
            Err(
                e @ (ServiceError::Invalid(_)
                | ServiceError::NotAllowed(_)
                | ServiceError::NotFound(_)),
            ) => {
                let reason = message(e);
                tracing::warn!(%batch, row, reason = %reason, "a bulk-send row was not sent");
                let failed = RowOutcome {
                    state: RowState::Failed,
                    envelope: self.store.envelope(org, envelope).await?.map(|_| envelope),
                    error: Some(reason),
                };
                self.store
                    .finish_batch_row(org, batch, row, &failed, now)
                    .await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn send_row(
        &self,
        org: OrganizationId,
        batch: BatchId,
        line: &BatchRow,
        envelope: EnvelopeId,
    ) -> Result<()> {
        let record = self
            .store
            .batch(org, batch)
            .await?
            .ok_or(ServiceError::NotFound("the bulk send"))?;
        let staff = self.staff_of_actor(org, &record.actor).await?;
        // No request: the audit entries name the batch's sender without an address.
        let caller = Caller::default();
        if self.store.envelope(org, envelope).await?.is_none() {
            let template = self
                .store
                .template_version(org, record.template, Some(record.version))
                .await?
                .ok_or(ServiceError::NotFound("the template"))?;
            let input: FromTemplate = serde_json::from_value(line.input.clone())
                .map_err(|e| ServiceError::failed("a bulk-send row", e))?;
            match self
                .make_from_template(&staff, &template, &input, Some(envelope), &caller)
                .await
            {
                Ok(_) => {}
                // Another run made it in the meantime (a lease taken over): it is there.
                Err(e) if self.store.envelope(org, envelope).await?.is_some() => {
                    tracing::info!(error = %e, "a bulk-send row's envelope was made by another run");
                }
                Err(e) => return Err(e),
            }
        }
        self.send(&staff, &envelope.to_string(), &caller).await?;
        Ok(())
    }

    /// The staff identity a batch was started by, as it is now (a disabled user or a revoked
    /// key sends nothing more).
    async fn staff_of_actor(&self, org: OrganizationId, actor: &str) -> Result<Staff> {
        let gone = || {
            ServiceError::NotAllowed(format!(
                "送信者 {actor} はもう送信できません (the sender can no longer send)"
            ))
        };
        if let Some(id) = actor.strip_prefix("user:") {
            let id: UserId = id.parse().map_err(|_| gone())?;
            let user = self.store.user(org, id).await?.ok_or_else(gone)?;
            if user.disabled_at.is_some() {
                return Err(gone());
            }
            return Ok(Staff::user(org, id, user.role));
        }
        if let Some(id) = actor.strip_prefix("api_key:") {
            let key = self
                .store
                .api_keys(org)
                .await?
                .into_iter()
                .find(|k| k.id.to_string() == id && k.revoked_at.is_none())
                .ok_or_else(gone)?;
            return Ok(Staff::api_key(org, key.id, key.scope, key.owner));
        }
        Err(gone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_row_s_envelope_id_is_the_same_every_time_and_differs_per_row() {
        let batch = BatchId::new();
        assert_eq!(row_envelope_id(batch, 2), row_envelope_id(batch, 2));
        assert_ne!(row_envelope_id(batch, 2), row_envelope_id(batch, 3));
        assert_ne!(
            row_envelope_id(batch, 2),
            row_envelope_id(BatchId::new(), 2)
        );
    }
}
