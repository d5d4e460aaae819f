//! テンプレート and 一括送信 in the store: template versions (written once, never changed) and
//! bulk-send batches with one row per envelope to make.

use async_trait::async_trait;
use inkan_domain::{BatchId, EnvelopeId, OrganizationId, TemplateId};
use serde::{Deserialize, Serialize};

use crate::{Change, Result, UnixTime};

/// One version of a template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVersionRecord {
    pub template: TemplateId,
    /// From 1.
    pub version: u32,
    pub organization: OrganizationId,
    /// テンプレート名 (a version may rename its template).
    pub name: String,
    /// The service's template body, JSON: roles, documents (their blobs), fields, 差込み項目.
    pub body: serde_json::Value,
    /// `user:<id>` or `api_key:<id>`.
    pub created_by: Option<String>,
    pub created_at: UnixTime,
}

/// A bulk send (一括送信) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    pub id: BatchId,
    pub organization: OrganizationId,
    pub template: TemplateId,
    pub version: u32,
    /// The CSV's file name, as the sender chose it.
    pub file_name: String,
    /// Who sent it (`user:<id>` or `api_key:<id>`): each row's envelope is made as them.
    pub actor: String,
    pub rows: u32,
    pub created_at: UnixTime,
}

/// Where a row of a bulk send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// Its job has not made and sent the envelope yet.
    Waiting,
    /// Its envelope was made and sent.
    Sent,
    /// It could not be sent (the reason is kept); the other rows go on.
    Failed,
}

impl RowState {
    pub fn name(self) -> &'static str {
        match self {
            RowState::Waiting => "waiting",
            RowState::Sent => "sent",
            RowState::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<RowState> {
        [RowState::Waiting, RowState::Sent, RowState::Failed]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// One row of a bulk send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub batch: BatchId,
    /// The row's line in the CSV (the header is line 1).
    pub row: u32,
    pub organization: OrganizationId,
    /// What the row asks for (the service's row input, JSON).
    pub input: serde_json::Value,
    pub state: RowState,
    pub envelope: Option<EnvelopeId>,
    pub error: Option<String>,
    pub updated_at: UnixTime,
}

/// What became of a row: its state, the envelope it made, why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    pub state: RowState,
    pub envelope: Option<EnvelopeId>,
    pub error: Option<String>,
}

/// How far a bulk send has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchProgress {
    pub waiting: u32,
    pub sent: u32,
    pub failed: u32,
}

/// The store's part for templates and bulk sends (a part of [`crate::Store`]; implemented in
/// `sql/templates.rs`).
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Writes a new version; [`StoreError::Duplicate`](crate::StoreError::Duplicate) when that
    /// version number exists already (two editors saving at once: one of them retries).
    async fn add_template_version(&self, version: &TemplateVersionRecord) -> Result<()>;
    /// The latest version of each of the organization's templates, by name.
    async fn templates(&self, org: OrganizationId) -> Result<Vec<TemplateVersionRecord>>;
    /// One version, or the latest when `version` is `None`.
    async fn template_version(
        &self,
        org: OrganizationId,
        template: TemplateId,
        version: Option<u32>,
    ) -> Result<Option<TemplateVersionRecord>>;
    /// Every version of a template, newest first.
    async fn template_versions(
        &self,
        org: OrganizationId,
        template: TemplateId,
    ) -> Result<Vec<TemplateVersionRecord>>;

    /// Writes a batch and its rows with `change` (the rows' jobs and the audit entry), in one
    /// transaction.
    async fn create_batch(
        &self,
        batch: &BatchRecord,
        rows: &[BatchRow],
        change: Change,
    ) -> Result<()>;
    async fn batch(&self, org: OrganizationId, id: BatchId) -> Result<Option<BatchRecord>>;
    /// The organization's batches, newest first.
    async fn batches(&self, org: OrganizationId, limit: u32) -> Result<Vec<BatchRecord>>;
    async fn batch_row(
        &self,
        org: OrganizationId,
        batch: BatchId,
        row: u32,
    ) -> Result<Option<BatchRow>>;
    /// Every row of a batch, in CSV order.
    async fn batch_rows(&self, org: OrganizationId, batch: BatchId) -> Result<Vec<BatchRow>>;
    async fn batch_progress(&self, org: OrganizationId, batch: BatchId) -> Result<BatchProgress>;
    /// Records a row's outcome.
    async fn finish_batch_row(
        &self,
        org: OrganizationId,
        batch: BatchId,
        row: u32,
        outcome: &RowOutcome,
        now: UnixTime,
    ) -> Result<()>;
}
