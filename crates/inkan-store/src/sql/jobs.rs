//! [`JobStore`](crate::JobStore) over [`SqlStore`]: the durable job queue.

use sqlx::Any;

use super::builder::SqlBuilder;
use super::{limit_or, SqlStore, DEFAULT_CLAIM_LIMIT, DEFAULT_LIMIT};
use crate::rows;
use crate::{Job, JobCount, JobFilter, Result, StoreError};
use inkan_domain::JobId;

impl SqlStore {
    /// The ID of another queued job with this dedupe key, if any: a job that goes back to
    /// the queue would collide with it.
    async fn queued_twin(
        tx: &mut sqlx::Transaction<'static, Any>,
        id: JobId,
        dedupe_key: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(key) = dedupe_key else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT id FROM jobs WHERE dedupe_key = $1 AND status = 'queued' AND id <> $2",
        )
        .bind(key)
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| rows::Get::text(&r, "id")).transpose()
    }
}

#[async_trait::async_trait]
impl crate::JobStore for SqlStore {
    async fn claim_jobs(
        &self,
        worker: &str,
        now: i64,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<Job>> {
        // One statement: on PostgreSQL the CTE's rows stay locked until the UPDATE
        // (others skip them); on SQLite the statement holds the write lock throughout. A job
        // out of attempts is never taken over (`fail_abandoned_jobs` fails it).
        // A queued job waits while a job of the same `dedupe_key` runs under a live lease: the
        // running one works on the same thing (an envelope's seal, which seals whatever is
        // signed by then), and running both at once did its work twice, one of them thrown
        // away at commit. When the running one ends, the queued one does what is left.
        let sql = format!(
            "WITH due AS (SELECT id FROM jobs \
             WHERE (status = 'queued' AND run_at <= $2 AND (dedupe_key IS NULL OR NOT EXISTS \
                 (SELECT 1 FROM jobs AS twin WHERE twin.status = 'running' \
                  AND twin.dedupe_key = jobs.dedupe_key AND twin.locked_until >= $2))) \
             OR (status = 'running' AND locked_until < $2 AND attempts < max_attempts) \
             ORDER BY run_at, id LIMIT $4{}) \
             UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $3, \
             attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM due) RETURNING {}",
            self.backend.skip_locked(),
            rows::JOB
        );
        let (_turn, mut tx) = self.begin_write().await?;
        // Decoded before the commit: an unreadable row claims nothing.
        let result: Result<Vec<Job>> = async {
            let found = sqlx::query(&sql)
                .bind(worker)
                .bind(now)
                .bind(now.saturating_add(lease_seconds))
                .bind(limit_or(limit, DEFAULT_CLAIM_LIMIT))
                .fetch_all(&mut *tx)
                .await?;
            found.iter().map(rows::job).collect()
        }
        .await;
        let mut jobs = Self::end(tx, result).await?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    async fn fail_abandoned_jobs(&self, now: i64) -> Result<u64> {
        let _turn = self.write_turn().await;
        let failed = sqlx::query(
            "UPDATE jobs SET status = 'failed', locked_until = NULL, \
             updated_at = $1, last_error = $2 \
             WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .bind(
            "its worker stopped before finishing it on every attempt \
             (it crashed on this job, or the job ran past its lease)",
        )
        .execute(&self.pool)
        .await?;
        Ok(failed.rows_affected())
    }

    async fn finish_job(&self, id: JobId, now: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', locked_until = NULL, updated_at = $2 \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("job {id}")));
        }
        Ok(())
    }

    async fn fail_job(
        &self,
        id: JobId,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result: Result<()> = async {
            let sql = format!(
                "SELECT {} FROM jobs WHERE id = $1{}",
                rows::JOB,
                self.backend.for_update()
            );
            let row = sqlx::query(&sql)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(job) = row.as_ref().map(rows::job).transpose()? else {
                return Err(StoreError::NotFound(format!("job {id}")));
            };
            if job.status != crate::JobStatus::Running {
                // Finished or failed meanwhile (a late report from a worker whose lease
                // ran out): the newer outcome stands.
                return Ok(());
            }
            let retry = retry_at.filter(|_| job.attempts < job.max_attempts);
            let twin = match retry {
                Some(_) => Self::queued_twin(&mut tx, id, job.dedupe_key.as_deref()).await?,
                None => None,
            };
            let (status, run_at, message) = match (retry, twin) {
                // A queued job with the same key will do this work: this one is closed.
                (Some(_), Some(twin)) => (
                    "done",
                    job.run_at,
                    format!("superseded by queued job {twin} after: {error}"),
                ),
                (Some(at), None) => ("queued", at, error.to_string()),
                (None, _) => ("failed", job.run_at, error.to_string()),
            };
            sqlx::query(
                "UPDATE jobs SET status = $2, run_at = $3, last_error = $4, \
                 locked_until = NULL, updated_at = $5 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(status)
            .bind(run_at)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Ok(())
        }
        .await;
        Self::end(tx, result).await
    }

    async fn requeue_job(&self, id: JobId, now: i64) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result: Result<()> = async {
            let sql = format!(
                "SELECT {} FROM jobs WHERE id = $1{}",
                rows::JOB,
                self.backend.for_update()
            );
            let row = sqlx::query(&sql)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(job) = row.as_ref().map(rows::job).transpose()? else {
                return Err(StoreError::NotFound(format!("job {id}")));
            };
            if job.status != crate::JobStatus::Failed {
                // Queued, running or done: nothing to retry.
                return Ok(());
            }
            let twin = Self::queued_twin(&mut tx, id, job.dedupe_key.as_deref()).await?;
            match twin {
                Some(twin) => {
                    sqlx::query(
                        "UPDATE jobs SET status = 'done', last_error = $2, updated_at = $3 \
                         WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .bind(format!(
                        "superseded by queued job {twin}; last error: {}",
                        job.last_error.as_deref().unwrap_or("none")
                    ))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "UPDATE jobs SET status = 'queued', run_at = $2, attempts = 0, \
                         locked_by = NULL, locked_until = NULL, updated_at = $2 \
                         WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Ok(())
        }
        .await;
        Self::end(tx, result).await
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        let sql = format!("SELECT {} FROM jobs WHERE id = $1", rows::JOB);
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::job).transpose()
    }

    async fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let mut q = SqlBuilder::new(format!("SELECT {} FROM jobs WHERE 1 = 1", rows::JOB));
        if let Some(status) = filter.status {
            q.push(" AND status = ").push_bind(status.name());
        }
        if let Some(kind) = &filter.kind {
            q.push(" AND kind = ").push_bind(kind.clone());
        }
        if let Some(org) = filter.organization {
            q.push(" AND organization = ").push_bind(org.to_string());
        }
        q.push(" ORDER BY created_at, id LIMIT ")
            .push_bind(limit_or(filter.limit, DEFAULT_LIMIT));
        let found = q.build()?.fetch_all(&self.pool).await?;
        found.iter().map(rows::job).collect()
    }

    async fn job_counts(&self) -> Result<Vec<JobCount>> {
        let found = sqlx::query(
            "SELECT kind, status, COUNT(*) AS n, \
             MIN(CASE WHEN status = 'queued' THEN run_at ELSE updated_at END) AS oldest \
             FROM jobs GROUP BY kind, status ORDER BY kind, status",
        )
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::job_count).collect()
    }
}
