//! [`TemplateStore`](crate::TemplateStore) over [`SqlStore`]: template versions and bulk sends.

use inkan_domain::{BatchId, OrganizationId, TemplateId};

use super::SqlStore;
use crate::rows::{db_error, id, json, opt_id, to_json, u32_col, Get};
use crate::{
    BatchProgress, BatchRecord, BatchRow, Change, Result, RowOutcome, RowState, StoreError,
    TemplateVersionRecord,
};

const VERSION: &str = "template, version, organization, name, body, created_by, created_at";
const BATCH: &str = "id, organization, template, version, file_name, actor, row_count, created_at";
const ROW: &str = "batch, row_number, organization, input, state, envelope, error, updated_at";

fn version(r: &impl Get) -> Result<TemplateVersionRecord> {
    Ok(TemplateVersionRecord {
        template: id(r, "template")?,
        version: u32_col(r, "version")?,
        organization: id(r, "organization")?,
        name: r.text("name")?,
        body: json(r, "body")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.int("created_at")?,
    })
}

fn batch(r: &impl Get) -> Result<BatchRecord> {
    Ok(BatchRecord {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        template: id(r, "template")?,
        version: u32_col(r, "version")?,
        file_name: r.text("file_name")?,
        actor: r.text("actor")?,
        rows: u32_col(r, "row_count")?,
        created_at: r.int("created_at")?,
    })
}

fn row(r: &impl Get) -> Result<BatchRow> {
    let state = r.text("state")?;
    Ok(BatchRow {
        batch: id(r, "batch")?,
        row: u32_col(r, "row_number")?,
        organization: id(r, "organization")?,
        input: json(r, "input")?,
        state: RowState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("bulk row state {state:?}")))?,
        envelope: opt_id(r, "envelope")?,
        error: r.opt_text("error")?,
        updated_at: r.int("updated_at")?,
    })
}

#[async_trait::async_trait]
impl crate::TemplateStore for SqlStore {
    async fn add_template_version(&self, v: &TemplateVersionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO template_versions (template, version, organization, name, body, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(v.template.to_string())
        .bind(i64::from(v.version))
        .bind(v.organization.to_string())
        .bind(&v.name)
        .bind(to_json(&v.body, "template body")?)
        .bind(&v.created_by)
        .bind(v.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            db_error(e, || {
                format!("template {} version {}", v.template, v.version)
            })
        })?;
        Ok(())
    }

    async fn templates(&self, org: OrganizationId) -> Result<Vec<TemplateVersionRecord>> {
        let found = sqlx::query(&format!(
            "SELECT {VERSION} FROM template_versions t WHERE organization = $1 \
             AND version = (SELECT MAX(version) FROM template_versions l \
             WHERE l.template = t.template) ORDER BY name, template"
        ))
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(version).collect()
    }

    async fn template_version(
        &self,
        org: OrganizationId,
        template: TemplateId,
        number: Option<u32>,
    ) -> Result<Option<TemplateVersionRecord>> {
        let found = match number {
            Some(n) => {
                sqlx::query(&format!(
                    "SELECT {VERSION} FROM template_versions \
                     WHERE organization = $1 AND template = $2 AND version = $3"
                ))
                .bind(org.to_string())
                .bind(template.to_string())
                .bind(i64::from(n))
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {VERSION} FROM template_versions \
                     WHERE organization = $1 AND template = $2 ORDER BY version DESC LIMIT 1"
                ))
                .bind(org.to_string())
                .bind(template.to_string())
                .fetch_optional(&self.pool)
                .await?
            }
        };
        found.as_ref().map(version).transpose()
    }

    async fn template_versions(
        &self,
        org: OrganizationId,
        template: TemplateId,
    ) -> Result<Vec<TemplateVersionRecord>> {
        let found = sqlx::query(&format!(
            "SELECT {VERSION} FROM template_versions \
             WHERE organization = $1 AND template = $2 ORDER BY version DESC"
        ))
        .bind(org.to_string())
        .bind(template.to_string())
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(version).collect()
    }

    async fn create_batch(&self, b: &BatchRecord, rows: &[BatchRow], change: Change) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            sqlx::query(&format!(
                "INSERT INTO bulk_batches ({BATCH}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(b.id.to_string())
            .bind(b.organization.to_string())
            .bind(b.template.to_string())
            .bind(i64::from(b.version))
            .bind(&b.file_name)
            .bind(&b.actor)
            .bind(i64::from(b.rows))
            .bind(b.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, || format!("bulk send {}", b.id)))?;
            for r in rows {
                sqlx::query(&format!(
                    "INSERT INTO bulk_rows ({ROW}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(b.id.to_string())
                .bind(i64::from(r.row))
                .bind(b.organization.to_string())
                .bind(to_json(&r.input, "bulk row")?)
                .bind(r.state.name())
                .bind(r.envelope.map(|e| e.to_string()))
                .bind(&r.error)
                .bind(r.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, || format!("bulk send {} row {}", b.id, r.row)))?;
            }
            self.apply_in(&mut tx, &change).await
        }
        .await;
        Self::end(tx, result).await
    }

    async fn batch(&self, org: OrganizationId, id: BatchId) -> Result<Option<BatchRecord>> {
        let found = sqlx::query(&format!(
            "SELECT {BATCH} FROM bulk_batches WHERE organization = $1 AND id = $2"
        ))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        found.as_ref().map(batch).transpose()
    }

    async fn batches(&self, org: OrganizationId, limit: u32) -> Result<Vec<BatchRecord>> {
        let found = sqlx::query(&format!(
            "SELECT {BATCH} FROM bulk_batches WHERE organization = $1 \
             ORDER BY created_at DESC, id LIMIT $2"
        ))
        .bind(org.to_string())
        .bind(super::limit_or(limit, super::DEFAULT_LIMIT))
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(batch).collect()
    }

    async fn batch_row(
        &self,
        org: OrganizationId,
        id: BatchId,
        number: u32,
    ) -> Result<Option<BatchRow>> {
        let found = sqlx::query(&format!(
            "SELECT {ROW} FROM bulk_rows \
             WHERE organization = $1 AND batch = $2 AND row_number = $3"
        ))
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(i64::from(number))
        .fetch_optional(&self.pool)
        .await?;
        found.as_ref().map(row).transpose()
    }

    async fn batch_rows(&self, org: OrganizationId, id: BatchId) -> Result<Vec<BatchRow>> {
        let found = sqlx::query(&format!(
            "SELECT {ROW} FROM bulk_rows WHERE organization = $1 AND batch = $2 \
             ORDER BY row_number"
        ))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(row).collect()
    }

    async fn batch_progress(&self, org: OrganizationId, id: BatchId) -> Result<BatchProgress> {
        use sqlx::Row;
        let found = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM bulk_rows \
             WHERE organization = $1 AND batch = $2 GROUP BY state",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut progress = BatchProgress::default();
        for r in &found {
            let state: String = r.try_get("state")?;
            let n = u32::try_from(r.try_get::<i64, _>("n")?).unwrap_or(u32::MAX);
            match RowState::parse(&state) {
                Some(RowState::Waiting) => progress.waiting = n,
                Some(RowState::Sent) => progress.sent = n,
                Some(RowState::Failed) => progress.failed = n,
                None => return Err(StoreError::Corrupt(format!("bulk row state {state:?}"))),
            }
        }
        Ok(progress)
    }

    async fn finish_batch_row(
        &self,
        org: OrganizationId,
        id: BatchId,
        number: u32,
        outcome: &RowOutcome,
        now: i64,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE bulk_rows SET state = $1, envelope = $2, error = $3, updated_at = $4 \
             WHERE organization = $5 AND batch = $6 AND row_number = $7",
        )
        .bind(outcome.state.name())
        .bind(outcome.envelope.map(|e| e.to_string()))
        .bind(&outcome.error)
        .bind(now)
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(i64::from(number))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("bulk send {id} row {number}")));
        }
        Ok(())
    }
}
