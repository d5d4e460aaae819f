//! [`AuditStore`](crate::AuditStore) over [`SqlStore`]: reading the hash-chained trail and
//! its anchors (entries are written with the change they record, in `store.rs`).

use super::builder::SqlBuilder;
use super::{limit_or, SqlStore, DEFAULT_LIMIT};
use crate::rows;
use crate::{AuditAnchor, AuditEntry, Result, StoreError};
use inkan_domain::{EnvelopeId, OrganizationId};

#[async_trait::async_trait]
impl crate::AuditStore for SqlStore {
    async fn audit_entries(
        &self,
        org: OrganizationId,
        envelope: Option<EnvelopeId>,
    ) -> Result<Vec<AuditEntry>> {
        let mut q = SqlBuilder::new(format!(
            "SELECT {} FROM audit_entries WHERE organization = ",
            rows::AUDIT
        ));
        q.push_bind(org.to_string());
        if let Some(envelope) = envelope {
            q.push(" AND envelope = ").push_bind(envelope.to_string());
        }
        q.push(" ORDER BY seq");
        let found = q.build()?.fetch_all(&self.pool).await?;
        found.iter().map(rows::audit_entry).collect()
    }

    async fn search_audit(
        &self,
        org: OrganizationId,
        query: &crate::AuditQuery,
    ) -> Result<Vec<AuditEntry>> {
        let mut q = SqlBuilder::new(format!(
            "SELECT {} FROM audit_entries WHERE organization = ",
            rows::AUDIT
        ));
        q.push_bind(org.to_string());
        if let Some(actor) = &query.actor {
            q.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(action) = &query.action {
            q.push(" AND action = ").push_bind(action.clone());
        }
        if let Some(from) = query.from {
            q.push(" AND at >= ").push_bind(from);
        }
        if let Some(until) = query.until {
            q.push(" AND at < ").push_bind(until);
        }
        if let Some(before) = query.before_seq {
            q.push(" AND seq < ").push_bind(before);
        }
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(limit_or(query.limit, DEFAULT_LIMIT));
        let found = q.build()?.fetch_all(&self.pool).await?;
        found.iter().map(rows::audit_entry).collect()
    }

    async fn audit_actions(&self, org: OrganizationId) -> Result<Vec<String>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT action FROM audit_entries \
             WHERE organization = $1 AND action IS NOT NULL ORDER BY action",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(found)
    }

    async fn audit_head(&self, org: OrganizationId) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE organization = $1")
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((rows::Get::int(&r, "seq")?, rows::Get::text(&r, "hash")?)))
            .transpose()
    }

    async fn audited_organizations(&self) -> Result<Vec<OrganizationId>> {
        // The heads and the entries: an organization whose entries were all deleted, or
        // whose head was, is still listed (and fails verification).
        let found = sqlx::query(
            "SELECT organization FROM audit_heads UNION \
             SELECT organization FROM audit_entries ORDER BY organization",
        )
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|r| {
                let org = rows::Get::text(r, "organization")?;
                org.parse()
                    .map_err(|_| StoreError::Corrupt(format!("audit organization {org:?}")))
            })
            .collect()
    }

    fn check_chain(
        &self,
        entries: &[AuditEntry],
        head: Option<(i64, &str)>,
    ) -> std::result::Result<crate::ChainSummary, crate::ChainBreak> {
        crate::verify_chain(&self.chain_key, entries, head)
    }

    async fn add_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_anchors (organization, seq, hash, at, token) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organization, seq) DO NOTHING",
        )
        .bind(anchor.organization.to_string())
        .bind(anchor.seq)
        .bind(&anchor.hash)
        .bind(anchor.at)
        .bind(&anchor.token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_anchors(&self, org: OrganizationId) -> Result<Vec<AuditAnchor>> {
        let sql = format!(
            "SELECT {} FROM audit_anchors WHERE organization = $1 ORDER BY seq",
            rows::AUDIT_ANCHOR
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::audit_anchor).collect()
    }

    async fn last_audit_anchor(&self, org: OrganizationId) -> Result<Option<AuditAnchor>> {
        let sql = format!(
            "SELECT {} FROM audit_anchors WHERE organization = $1 ORDER BY seq DESC LIMIT 1",
            rows::AUDIT_ANCHOR
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        found.as_ref().map(rows::audit_anchor).transpose()
    }
}
