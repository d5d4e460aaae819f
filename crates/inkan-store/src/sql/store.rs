//! [`Store`](crate::Store) over [`SqlStore`]: organizations, users, envelopes and what belongs
//! to them, jobs, the audit trail, signer accounts, codes and attempt limits.

use sqlx::Any;

use super::builder::SqlBuilder;
use super::{limit_or, SqlStore, DEFAULT_LIMIT, DEFAULT_SEARCH_LIMIT};
use crate::rows::{self, db_error, to_i64, to_json};
use crate::{
    chain_hash, AccessToken, ApiKey, AttachmentRecord, Change, CodeCheck, Counterparty, Department,
    DocumentHit, DocumentQuery, DocumentRecord, EmailCode, EnvelopeFilter, EnvelopeRecord,
    LibraryItem, NewAuditEntry, Organization, Result, SignerAccount, Store, StoreError, TokenHash,
    User, UserRole, Webhook, GENESIS_HASH,
};
use inkan_domain::{
    ApiKeyId, ConclusionId, CounterpartyId, DocumentId, EnvelopeId, OrganizationId,
    SignerAccountId, StaffNetworks, UserId,
};

/// The 取引先 names a search's substring matches: listed (bound one by one), or, when there are
/// more than [`MAX_LISTED_NAMES`], the pattern they match (a subquery).
enum Names {
    Listed(Vec<String>),
    Matching(String),
}

const MAX_LISTED_NAMES: usize = 1000;

impl SqlStore {
    /// Commits after success, rolls back at once after a failure. (A dropped transaction
    /// is rolled back only when the pool next pings the connection, and until then it
    /// keeps its locks: SQLite's write lock, PostgreSQL's row locks.)
    pub(super) async fn end<T>(
        tx: sqlx::Transaction<'static, Any>,
        result: Result<T>,
    ) -> Result<T> {
        match result {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(e) => {
                // The failure is what the caller needs; a failed rollback closes the
                // connection anyway.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Fails unless the envelope exists in that organization.
    pub(super) async fn check_envelope(
        tx: &mut sqlx::Transaction<'static, Any>,
        envelope: EnvelopeId,
        organization: OrganizationId,
        what: &str,
    ) -> Result<()> {
        let found = sqlx::query("SELECT id FROM envelopes WHERE id = $1 AND organization = $2")
            .bind(envelope.to_string())
            .bind(organization.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(format!(
                "envelope {envelope} of {what} (in organization {organization})"
            ))),
        }
    }

    /// Documents, attachments and tokens of a change must belong to the change's envelope;
    /// in a change without one, their envelope must exist in their organization.
    async fn check_owner(
        tx: &mut sqlx::Transaction<'static, Any>,
        owner: Option<(EnvelopeId, OrganizationId)>,
        checked: &mut Vec<(EnvelopeId, OrganizationId)>,
        envelope: EnvelopeId,
        organization: OrganizationId,
        what: &str,
    ) -> Result<()> {
        match owner {
            Some(pair) if pair == (envelope, organization) => Ok(()),
            Some(_) => Err(StoreError::NotFound(format!(
                "envelope {envelope} of {what} in this change \
                 (it names another envelope or organization)"
            ))),
            None if checked.contains(&(envelope, organization)) => Ok(()),
            None => {
                Self::check_envelope(tx, envelope, organization, what).await?;
                checked.push((envelope, organization));
                Ok(())
            }
        }
    }

    async fn write_envelope(
        tx: &mut sqlx::Transaction<'static, Any>,
        write: &crate::EnvelopeWrite,
    ) -> Result<()> {
        let r = &write.record;
        let e = &r.envelope;
        let data = to_json(e, "envelope")?;
        // The folder column's key names no organization: check it here.
        if let Some(folder) = r.folder {
            if Self::folder_path(tx, e.organization, folder)
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound(format!(
                    "folder {folder} (in organization {})",
                    e.organization
                )));
            }
        }
        let certificate_size = r
            .certificate
            .as_ref()
            .map(|c| to_i64(c.size, "certificate size"))
            .transpose()?;
        match write.expected_version {
            None => {
                sqlx::query(
                    "INSERT INTO envelopes (id, organization, status, number, title, \
                     deadline, version, created_by, sender_name, sender_email, \
                     counterparty, sealed_at, created_at, updated_at, data, \
                     conclusion_id, certificate_blob, certificate_sha256, \
                     certificate_size, certificate_archive_until, folder) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                     $14, $15, $16, $17, $18, $19, $20, $21)",
                )
                .bind(e.id.to_string())
                .bind(e.organization.to_string())
                .bind(e.status().name())
                .bind(&e.number)
                .bind(&e.title)
                .bind(e.deadline)
                .bind(r.version)
                .bind(r.created_by.map(|u| u.to_string()))
                .bind(&r.sender_name)
                .bind(&r.sender_email)
                .bind(r.counterparty.map(|c| c.to_string()))
                .bind(r.sealed_at)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(data)
                .bind(e.conclusion_id.as_str())
                .bind(r.certificate.as_ref().map(|c| c.blob.clone()))
                .bind(r.certificate.as_ref().map(|c| c.sha256.clone()))
                .bind(certificate_size)
                .bind(r.certificate.as_ref().and_then(|c| c.archive_until))
                .bind(r.folder.map(|f| f.to_string()))
                .execute(&mut **tx)
                .await
                .map_err(|err| db_error(err, || format!("envelope {}", e.id)))?;
            }
            Some(expected) => {
                let next = expected.checked_add(1).ok_or(StoreError::Conflict)?;
                let done = sqlx::query(
                    "UPDATE envelopes SET status = $3, number = $4, title = $5, \
                     deadline = $6, version = $7, created_by = $8, sender_name = $9, \
                     sender_email = $10, counterparty = $11, sealed_at = $12, \
                     updated_at = $13, data = $14, conclusion_id = $16, \
                     certificate_blob = $17, certificate_sha256 = $18, \
                     certificate_size = $19, certificate_archive_until = $20, \
                     folder = $21 WHERE id = $1 AND organization = $2 AND version = $15",
                )
                .bind(e.id.to_string())
                .bind(e.organization.to_string())
                .bind(e.status().name())
                .bind(&e.number)
                .bind(&e.title)
                .bind(e.deadline)
                .bind(next)
                .bind(r.created_by.map(|u| u.to_string()))
                .bind(&r.sender_name)
                .bind(&r.sender_email)
                .bind(r.counterparty.map(|c| c.to_string()))
                .bind(r.sealed_at)
                .bind(r.updated_at)
                .bind(data)
                .bind(expected)
                .bind(e.conclusion_id.as_str())
                .bind(r.certificate.as_ref().map(|c| c.blob.clone()))
                .bind(r.certificate.as_ref().map(|c| c.sha256.clone()))
                .bind(certificate_size)
                .bind(r.certificate.as_ref().and_then(|c| c.archive_until))
                .bind(r.folder.map(|f| f.to_string()))
                .execute(&mut **tx)
                .await?;
                if done.rows_affected() == 0 {
                    // Tell a stale version from an envelope that is not there (or not
                    // this organization's).
                    Self::check_envelope(tx, e.id, e.organization, "the change").await?;
                    return Err(StoreError::Conflict);
                }
            }
        }
        Ok(())
    }

    async fn append_audit(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        entries: &[NewAuditEntry],
    ) -> Result<()> {
        let mut organizations: Vec<OrganizationId> =
            entries.iter().map(|e| e.organization).collect();
        organizations.sort();
        organizations.dedup();
        for org in organizations {
            let org_text = org.to_string();
            // The head, created at the genesis hash the first time, and locked until the
            // transaction ends (the no-op update takes the row lock on PostgreSQL, as `FOR
            // UPDATE` would; SQLite's write lock is held already): one statement.
            let head = sqlx::query(
                "INSERT INTO audit_heads (organization, seq, hash) VALUES ($1, 0, $2) \
                 ON CONFLICT (organization) DO UPDATE SET seq = audit_heads.seq \
                 RETURNING seq, hash",
            )
            .bind(&org_text)
            .bind(GENESIS_HASH)
            .fetch_one(&mut **tx)
            .await?;
            let mut seq: i64 = rows::Get::int(&head, "seq")?;
            let mut prev: String = rows::Get::text(&head, "hash")?;
            for entry in entries.iter().filter(|e| e.organization == org) {
                seq = seq
                    .checked_add(1)
                    .ok_or_else(|| StoreError::Corrupt("audit sequence overflow".into()))?;
                let hash = chain_hash(&self.chain_key, &prev, seq, entry);
                sqlx::query(
                    "INSERT INTO audit_entries (organization, seq, envelope, at, entry, \
                     prev_hash, hash, actor, action) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&org_text)
                .bind(seq)
                .bind(entry.envelope.map(|e| e.to_string()))
                .bind(entry.at)
                .bind(to_json(entry, "audit entry")?)
                .bind(&prev)
                .bind(&hash)
                .bind(&entry.actor)
                .bind(&entry.action)
                .execute(&mut **tx)
                .await?;
                prev = hash;
            }
            sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE organization = $1")
                .bind(&org_text)
                .bind(seq)
                .bind(&prev)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn apply_in(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        change: &Change,
    ) -> Result<()> {
        let now = change.now;

        let owner = change
            .envelope
            .as_ref()
            .map(|w| (w.record.envelope.id, w.record.envelope.organization));
        if let Some(write) = &change.envelope {
            Self::write_envelope(tx, write).await?;
        }
        let mut checked = Vec::new();

        for d in &change.documents {
            let what = format!("document {}", d.id);
            Self::check_owner(tx, owner, &mut checked, d.envelope, d.organization, &what).await?;
            let done = sqlx::query(
                "INSERT INTO documents (id, envelope, organization, position, name, pages, \
                 original_blob, current_blob, revision, size, sha256, fields, signed_by, \
                 tx_date, tx_amount, tx_counterparty, tx_kind, archive_until, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19) \
                 ON CONFLICT (id) DO UPDATE SET position = excluded.position, \
                 name = excluded.name, pages = excluded.pages, \
                 original_blob = excluded.original_blob, \
                 current_blob = excluded.current_blob, revision = excluded.revision, \
                 size = excluded.size, sha256 = excluded.sha256, \
                 fields = excluded.fields, signed_by = excluded.signed_by, \
                 tx_date = excluded.tx_date, tx_amount = excluded.tx_amount, \
                 tx_counterparty = excluded.tx_counterparty, tx_kind = excluded.tx_kind, \
                 archive_until = excluded.archive_until \
                 WHERE documents.envelope = excluded.envelope \
                 AND documents.organization = excluded.organization",
            )
            .bind(d.id.to_string())
            .bind(d.envelope.to_string())
            .bind(d.organization.to_string())
            .bind(i64::from(d.position))
            .bind(&d.name)
            .bind(i64::from(d.pages))
            .bind(&d.original_blob)
            .bind(&d.current_blob)
            .bind(i64::from(d.revision))
            .bind(to_i64(d.size, "document size")?)
            .bind(&d.sha256)
            .bind(to_json(&d.fields, "document fields")?)
            .bind(to_json(&d.signed_by, "document signers")?)
            .bind(&d.metadata.date)
            .bind(
                d.metadata
                    .amount
                    .map(|y| to_i64(y.0, "取引金額"))
                    .transpose()?,
            )
            .bind(&d.metadata.counterparty)
            .bind(&d.metadata.kind)
            .bind(d.archive_until)
            .bind(d.created_at)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, || what.clone()))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!(
                    "{what} in envelope {} (the ID belongs to another envelope)",
                    d.envelope
                )));
            }
        }

        for a in &change.attachments {
            let what = format!("attachment {}", a.id);
            Self::check_owner(tx, owner, &mut checked, a.envelope, a.organization, &what).await?;
            sqlx::query(
                "INSERT INTO attachments (id, envelope, organization, recipient, field, \
                 name, blob, size, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(a.id.to_string())
            .bind(a.envelope.to_string())
            .bind(a.organization.to_string())
            .bind(a.recipient.map(|r| r.to_string()))
            .bind(a.field.map(|f| f.to_string()))
            .bind(&a.name)
            .bind(&a.blob)
            .bind(to_i64(a.size, "attachment size")?)
            .bind(&a.sha256)
            .bind(a.created_at)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, || what.clone()))?;
        }

        if !change.revoked_tokens.is_empty() {
            let Some((envelope, organization)) = owner else {
                return Err(StoreError::NotFound(
                    "revoked tokens name no envelope: the change has none".into(),
                ));
            };
            for hash in &change.revoked_tokens {
                sqlx::query(
                    "DELETE FROM tokens WHERE hash = $1 AND envelope = $2 AND organization = $3",
                )
                .bind(&hash.0[..])
                .bind(envelope.to_string())
                .bind(organization.to_string())
                .execute(&mut **tx)
                .await?;
            }
        }

        for t in &change.tokens {
            let what = "an access token";
            Self::check_owner(tx, owner, &mut checked, t.envelope, t.organization, what).await?;
            sqlx::query(
                "INSERT INTO tokens (hash, kind, organization, envelope, recipient, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&t.hash.0[..])
            .bind(rows::token_kind_name(t.kind))
            .bind(t.organization.to_string())
            .bind(t.envelope.to_string())
            .bind(t.recipient.map(|r| r.to_string()))
            .bind(t.created_at)
            .bind(t.expires_at)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, || "an access token with this hash".to_string()))?;
        }

        for l in &change.library {
            let what = format!("library entry of envelope {}", l.envelope);
            if owner != Some((l.envelope, l.organization)) {
                return Err(StoreError::NotFound(format!(
                    "{what}: it must name the change's envelope"
                )));
            }
            sqlx::query(
                "INSERT INTO concluded_recipients (email, envelope, organization, \
                 recipient, concluded_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (email, envelope, recipient) DO NOTHING",
            )
            .bind(l.email.to_lowercase())
            .bind(l.envelope.to_string())
            .bind(l.organization.to_string())
            .bind(l.recipient.to_string())
            .bind(l.concluded_at)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, || what.clone()))?;
        }

        for j in &change.jobs {
            // A queued job with the same dedupe key already covers this one. (SQLite reads an
            // INSERT … SELECT with an upsert clause only with a WHERE clause.)
            let condition = if j.only_with_webhooks {
                "EXISTS (SELECT 1 FROM webhooks WHERE webhooks.organization = $4)"
            } else {
                "true"
            };
            sqlx::query(&format!(
                "INSERT INTO jobs (id, kind, payload, organization, status, run_at, \
                 attempts, max_attempts, dedupe_key, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, 'queued', $5, 0, $6, $7, $8, $8 WHERE {condition} \
                 ON CONFLICT (dedupe_key) WHERE status = 'queued' DO NOTHING"
            ))
            .bind(j.id.to_string())
            .bind(&j.kind)
            .bind(to_json(&j.payload, "job payload")?)
            .bind(j.organization.map(|o| o.to_string()))
            .bind(j.run_at)
            .bind(i64::from(j.max_attempts))
            .bind(&j.dedupe_key)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, || format!("job {}", j.id)))?;
        }

        if let Some(id) = change.finish_job {
            let done = sqlx::query(
                "UPDATE jobs SET status = 'done', locked_until = NULL, updated_at = $2 \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("job {id}")));
            }
        }

        self.append_audit(tx, &change.audit).await
    }

    /// The hits of a search among the dated documents (in date order) or the undated ones (in
    /// the order they came).
    async fn search_part(
        &self,
        org: OrganizationId,
        query: &DocumentQuery,
        names: Option<&Names>,
        dated: bool,
        limit: i64,
    ) -> Result<Vec<DocumentHit>> {
        // Two steps in one statement: the page's document IDs in order, read from one of the
        // covering indexes alone (the envelope joined only when a filter needs it); then those
        // documents with their envelopes. Documents that are not hits are never read whole.
        let needs_envelope = query.completed_only || query.reach != crate::Reach::Every;
        let mut q = SqlBuilder::new(format!(
            "SELECT {}, e.title AS envelope_title, e.number AS envelope_number, \
             e.status AS envelope_status FROM (SELECT d.id FROM documents d",
            rows::DOCUMENT
        ));
        // CROSS JOIN: SQLite then reads the documents first, in their index's order, and looks
        // each one's envelope up; PostgreSQL plans it as any inner join.
        if needs_envelope {
            q.push(" CROSS JOIN envelopes e");
        }
        q.push(" WHERE d.organization = ")
            .push_bind(org.to_string());
        if needs_envelope {
            q.push(" AND e.id = d.envelope AND e.organization = d.organization");
        }
        q.push(if dated {
            " AND d.tx_date IS NOT NULL"
        } else {
            " AND d.tx_date IS NULL"
        });
        // YYYY-MM-DD compares as text in date order.
        if let Some(from) = &query.date_from {
            q.push(" AND d.tx_date >= ").push_bind(from.clone());
        }
        if let Some(to) = &query.date_to {
            q.push(" AND d.tx_date <= ").push_bind(to.clone());
        }
        // Nothing above i64::MAX can be stored, so clamping the bounds changes no answer.
        if let Some(min) = query.amount_min {
            q.push(" AND d.tx_amount >= ")
                .push_bind(i64::try_from(min.0).unwrap_or(i64::MAX));
        }
        if let Some(max) = query.amount_max {
            q.push(" AND d.tx_amount <= ")
                .push_bind(i64::try_from(max.0).unwrap_or(i64::MAX));
        }
        match names {
            None => {}
            Some(Names::Listed(names)) => {
                q.push(" AND d.tx_counterparty IN (");
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        q.push(", ");
                    }
                    q.push_bind(name.clone());
                }
                q.push(")");
            }
            Some(Names::Matching(pattern)) => {
                q.push(
                    " AND d.tx_counterparty IN (SELECT c.name FROM document_counterparties c \
                     WHERE c.organization = ",
                )
                .push_bind(org.to_string())
                .push(" AND lower(c.name) LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\')");
            }
        }
        if query.completed_only {
            q.push(" AND e.status IN ('completed', 'imported')");
        }
        // The next page: after the cursor in this part's order.
        match (&query.after, dated) {
            (Some(after), true) => {
                if let Some(date) = &after.date {
                    q.push(" AND (d.tx_date, d.created_at, d.id) > (")
                        .push_bind(date.clone())
                        .push(", ")
                        .push_bind(after.created_at)
                        .push(", ")
                        .push_bind(after.id.to_string())
                        .push(")");
                }
            }
            (Some(after), false) if after.date.is_none() => {
                q.push(" AND (d.created_at, d.id) > (")
                    .push_bind(after.created_at)
                    .push(", ")
                    .push_bind(after.id.to_string())
                    .push(")");
            }
            _ => {}
        }
        if needs_envelope {
            Self::push_reach(&mut q, &query.reach);
        }
        let order = if dated {
            " ORDER BY d.tx_date, d.created_at, d.id"
        } else {
            " ORDER BY d.created_at, d.id"
        };
        q.push(order).push(" LIMIT ").push_bind(limit);
        q.push(
            ") k CROSS JOIN documents d CROSS JOIN envelopes e \
             WHERE d.id = k.id AND e.id = d.envelope AND e.organization = d.organization",
        )
        .push(order);
        // Planned for these values every time: a cached generic plan would not know whether
        // the listed names hold a few documents or thousands (PostgreSQL switches to one after
        // five runs of a prepared statement), and would read thousands the slow way.
        let found = q.build()?.persistent(false).fetch_all(&self.pool).await?;
        found.iter().map(rows::document_hit).collect()
    }

    /// The organization's 取引先 names containing `part` (case-insensitive for ASCII on SQLite,
    /// for every script on PostgreSQL): thousands of names are read, not a million documents.
    async fn counterparty_names(&self, org: OrganizationId, part: &str) -> Result<Names> {
        let pattern = rows::contains_pattern(part);
        let found = sqlx::query(
            "SELECT c.name FROM document_counterparties c \
             WHERE c.organization = $1 AND lower(c.name) LIKE $2 ESCAPE '\\' \
             ORDER BY c.name LIMIT $3",
        )
        .bind(org.to_string())
        .bind(&pattern)
        .bind(MAX_LISTED_NAMES as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        if found.len() > MAX_LISTED_NAMES {
            return Ok(Names::Matching(pattern));
        }
        Ok(Names::Listed(
            found
                .iter()
                .map(|r| rows::Get::text(r, "name"))
                .collect::<Result<_>>()?,
        ))
    }

    /// Row counts and sealed files as `conn` sees them (inside a snapshot, for exports).
    pub(crate) async fn inventory_on(conn: &mut sqlx::AnyConnection) -> Result<crate::Inventory> {
        let mut counts = [0u64; 3];
        for (n, table) in ["organizations", "envelopes", "documents"]
            .into_iter()
            .enumerate()
        {
            let row = sqlx::query(&format!("SELECT count(*) AS n FROM {table}"))
                .fetch_one(&mut *conn)
                .await?;
            counts[n] = u64::try_from(rows::Get::int(&row, "n")?).unwrap_or(0);
        }
        let files = sqlx::query(
            "SELECT e.organization, e.id AS envelope, CAST(0 AS BIGINT) AS certificate, d.position, \
                    d.current_blob AS blob, d.sha256 \
             FROM envelopes e JOIN documents d ON d.envelope = e.id \
             WHERE e.sealed_at IS NOT NULL \
             UNION ALL \
             SELECT organization, id AS envelope, CAST(1 AS BIGINT) AS certificate, 0 AS position, \
                    certificate_blob AS blob, certificate_sha256 AS sha256 \
             FROM envelopes \
             WHERE sealed_at IS NOT NULL AND certificate_blob IS NOT NULL \
             ORDER BY envelope, certificate, position",
        )
        .fetch_all(&mut *conn)
        .await?;
        let sealed_files = files
            .iter()
            .map(|r| {
                Ok(crate::SealedFile {
                    organization: rows::id(r, "organization")?,
                    envelope: rows::id(r, "envelope")?,
                    kind: if rows::Get::int(r, "certificate")? == 1 {
                        crate::SealedFileKind::Certificate
                    } else {
                        crate::SealedFileKind::Document
                    },
                    blob: rows::Get::text(r, "blob")?,
                    sha256: rows::Get::text(r, "sha256")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::Inventory {
            organizations: counts[0],
            envelopes: counts[1],
            documents: counts[2],
            sealed_files,
        })
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    // ── Organizations, departments, users, API keys ────────────────────────────────

    async fn create_organization(&self, org: &Organization) -> Result<()> {
        sqlx::query(
            "INSERT INTO organizations (id, name, created_at, staff_networks) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(org.id.to_string())
        .bind(&org.name)
        .bind(org.created_at)
        .bind(org.staff_networks.to_string())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, || format!("organization {}", org.id)))?;
        Ok(())
    }

    async fn claim_key_fingerprint(
        &self,
        name: &str,
        fingerprint: &str,
        now: i64,
    ) -> Result<String> {
        sqlx::query(
            "INSERT INTO installation_keys (name, fingerprint, recorded_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fingerprint)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT fingerprint FROM installation_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        rows::Get::text(&row, "fingerprint")
    }

    async fn reserve_counter(&self, name: &str, size: u128, floor: u128) -> Result<u128> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            sqlx::query(
                "INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(floor.to_string())
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(&format!(
                "SELECT value FROM counters WHERE name = $1{}",
                self.backend.for_update()
            ))
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
            let text = rows::Get::text(&row, "value")?;
            let value: u128 = text
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("counter {name}: {text:?}")))?;
            let start = value.max(floor);
            let end = start
                .checked_add(size)
                .ok_or_else(|| StoreError::Corrupt(format!("counter {name} is exhausted")))?;
            sqlx::query("UPDATE counters SET value = $2 WHERE name = $1")
                .bind(name)
                .bind(end.to_string())
                .execute(&mut *tx)
                .await?;
            Ok(start)
        }
        .await;
        Self::end(tx, result).await
    }

    async fn record_pki_certificate(&self, ca: &str, serial: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO pki_records (ca, serial, revocation, recorded_at) \
             VALUES ($1, $2, NULL, $3) ON CONFLICT (ca, serial) DO NOTHING",
        )
        .bind(ca)
        .bind(serial.to_lowercase())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_pki_revocation(
        &self,
        ca: &str,
        serial: &str,
        revocation: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pki_records (ca, serial, revocation, recorded_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (ca, serial) DO UPDATE \
             SET revocation = COALESCE(pki_records.revocation, excluded.revocation)",
        )
        .bind(ca)
        .bind(serial.to_lowercase())
        .bind(revocation)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn pki_record(&self, ca: &str, serial: &str) -> Result<Option<Option<String>>> {
        let row = sqlx::query("SELECT revocation FROM pki_records WHERE ca = $1 AND serial = $2")
            .bind(ca)
            .bind(serial.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::Get::opt_text(&r, "revocation"))
            .transpose()
    }

    async fn pki_revocations(&self, ca: &str) -> Result<Vec<(String, String)>> {
        let found = sqlx::query(
            "SELECT serial, revocation FROM pki_records \
             WHERE ca = $1 AND revocation IS NOT NULL ORDER BY serial",
        )
        .bind(ca)
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|r| {
                Ok((
                    rows::Get::text(r, "serial")?,
                    rows::Get::text(r, "revocation")?,
                ))
            })
            .collect()
    }

    async fn organization(&self, id: OrganizationId) -> Result<Option<Organization>> {
        let sql = format!(
            "SELECT {} FROM organizations WHERE id = $1",
            rows::ORGANIZATION
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::organization).transpose()
    }

    async fn set_staff_networks(
        &self,
        id: OrganizationId,
        networks: &StaffNetworks,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE organizations SET staff_networks = $1 WHERE id = $2")
            .bind(networks.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_department(&self, department: &Department) -> Result<()> {
        sqlx::query("INSERT INTO departments (id, organization, name) VALUES ($1, $2, $3)")
            .bind(department.id.to_string())
            .bind(department.organization.to_string())
            .bind(&department.name)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, || format!("department {}", department.id)))?;
        Ok(())
    }

    async fn departments(&self, org: OrganizationId) -> Result<Vec<Department>> {
        let sql = format!(
            "SELECT {} FROM departments WHERE organization = $1 ORDER BY name, id",
            rows::DEPARTMENT
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::department).collect()
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, organization, department, name, email, role, \
             password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id.to_string())
        .bind(user.organization.to_string())
        .bind(user.department.map(|d| d.to_string()))
        .bind(&user.name)
        .bind(user.email.as_str())
        .bind(rows::role_name(user.role))
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, || format!("a user with the email {}", user.email)))?;
        Ok(())
    }

    async fn users(&self, org: OrganizationId) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE organization = $1 ORDER BY name, id",
            rows::USER
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::user).collect()
    }

    async fn set_user_role(&self, org: OrganizationId, id: UserId, role: UserRole) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2 AND organization = $3")
            .bind(rows::role_name(role))
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn user(&self, org: OrganizationId, id: UserId) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE id = $1 AND organization = $2",
            rows::USER
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE lower(email) = lower($1)",
            rows::USER
        );
        let row = sqlx::query(&sql)
            .bind(email.trim())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, organization, name, hash, created_at, revoked_at, \
             scope, owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key.id.to_string())
        .bind(key.organization.to_string())
        .bind(&key.name)
        .bind(&key.hash.0[..])
        .bind(key.created_at)
        .bind(key.revoked_at)
        .bind(key.scope.name())
        .bind(key.owner.map(|u| u.to_string()))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, || format!("API key {}", key.id)))?;
        Ok(())
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
            rows::API_KEY
        );
        let row = sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn api_keys(&self, org: OrganizationId) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE organization = $1 ORDER BY created_at, id",
            rows::API_KEY
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(&self, org: OrganizationId, id: ApiKeyId, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE id = $1 AND organization = $2 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn end_sessions(
        &self,
        org: OrganizationId,
        id: UserId,
        change: crate::UserChange,
        now: i64,
    ) -> Result<bool> {
        let (password, set_password, disable) = match change {
            crate::UserChange::EndSessions => (None, false, false),
            crate::UserChange::Password(hash) => (hash, true, false),
            crate::UserChange::Disable => (None, false, true),
        };
        let done = sqlx::query(
            "UPDATE users SET session_generation = session_generation + 1, \
             password_hash = CASE WHEN $3 THEN $4 ELSE password_hash END, \
             disabled_at = CASE WHEN $5 THEN $6 ELSE disabled_at END \
             WHERE id = $1 AND organization = $2",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(set_password)
        .bind(password)
        .bind(disable)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    // ── Counterparties ────────────────────────────────────────────────────────────

    async fn save_counterparty(&self, c: &Counterparty) -> Result<()> {
        let sql = format!(
            "INSERT INTO counterparties ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (id) DO UPDATE SET address = excluded.address, \
             trade_name = excluded.trade_name, representative = excluded.representative, \
             signatory_title = excluded.signatory_title, \
             signatory_name = excluded.signatory_name, \
             signatory_email = excluded.signatory_email, \
             clerk_department = excluded.clerk_department, \
             clerk_title = excluded.clerk_title, clerk_name = excluded.clerk_name, \
             clerk_phone = excluded.clerk_phone, clerk_email = excluded.clerk_email, \
             notified_on = excluded.notified_on \
             WHERE counterparties.organization = excluded.organization",
            rows::COUNTERPARTY
        );
        let done = sqlx::query(&sql)
            .bind(c.id.to_string())
            .bind(c.organization.to_string())
            .bind(&c.address)
            .bind(&c.trade_name)
            .bind(&c.representative)
            .bind(&c.signatory_title)
            .bind(&c.signatory_name)
            .bind(c.signatory_email.as_str())
            .bind(&c.clerk_department)
            .bind(&c.clerk_title)
            .bind(&c.clerk_name)
            .bind(&c.clerk_phone)
            .bind(c.clerk_email.as_ref().map(|e| e.as_str().to_string()))
            .bind(c.created_at)
            .bind(c.notified_on.map(|d| d.to_string()))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, || format!("counterparty {}", c.id)))?;
        if done.rows_affected() == 0 {
            // The ID exists in another organization.
            return Err(StoreError::NotFound(format!(
                "counterparty {} in organization {}",
                c.id, c.organization
            )));
        }
        Ok(())
    }

    async fn counterparty(
        &self,
        org: OrganizationId,
        id: CounterpartyId,
    ) -> Result<Option<Counterparty>> {
        let sql = format!(
            "SELECT {} FROM counterparties WHERE id = $1 AND organization = $2",
            rows::COUNTERPARTY
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::counterparty).transpose()
    }

    async fn counterparties(&self, org: OrganizationId) -> Result<Vec<Counterparty>> {
        let sql = format!(
            "SELECT {} FROM counterparties WHERE organization = $1 ORDER BY trade_name, id",
            rows::COUNTERPARTY
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::counterparty).collect()
    }

    // ── Envelopes and what belongs to them ────────────────────────────────────────

    async fn apply(&self, change: Change) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = self.apply_in(&mut tx, &change).await;
        Self::end(tx, result).await
    }

    async fn envelope(
        &self,
        org: OrganizationId,
        id: EnvelopeId,
    ) -> Result<Option<EnvelopeRecord>> {
        let sql = format!(
            "SELECT {} FROM envelopes WHERE id = $1 AND organization = $2",
            rows::ENVELOPE
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::envelope).transpose()
    }

    async fn envelopes(
        &self,
        org: OrganizationId,
        filter: &EnvelopeFilter,
    ) -> Result<Vec<EnvelopeRecord>> {
        let mut q = SqlBuilder::new(format!(
            "SELECT {} FROM envelopes e WHERE e.organization = ",
            rows::ENVELOPE
        ));
        q.push_bind(org.to_string());
        if let Some(status) = filter.status {
            q.push(" AND e.status = ").push_bind(status.name());
        }
        if let Some(folder) = filter.folder {
            Self::push_folder(&mut q, folder);
        }
        Self::push_reach(&mut q, &filter.reach);
        q.push(" ORDER BY e.created_at DESC, e.id DESC LIMIT ")
            .push_bind(limit_or(filter.limit, DEFAULT_LIMIT))
            .push(" OFFSET ")
            .push_bind(i64::from(filter.offset));
        let found = q.build()?.fetch_all(&self.pool).await?;
        found.iter().map(rows::envelope).collect()
    }

    async fn envelopes_past_deadline(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<(OrganizationId, EnvelopeId)>> {
        let found = sqlx::query(
            "SELECT organization, id FROM envelopes \
             WHERE status IN ('awaiting_approval', 'sent', 'partially_signed') \
             AND deadline <= $1 ORDER BY deadline, id LIMIT $2",
        )
        .bind(now)
        .bind(limit_or(limit, DEFAULT_LIMIT))
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::envelope_key).collect()
    }

    async fn archive_due(
        &self,
        horizon: i64,
        failed_since: i64,
        limit: u32,
    ) -> Result<Vec<(OrganizationId, EnvelopeId)>> {
        let found = sqlx::query(
            "SELECT e.organization, e.id FROM envelopes e JOIN documents d \
             ON d.envelope = e.id AND d.organization = e.organization \
             WHERE e.sealed_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedupe_key = 'archive:' || e.id \
               AND (j.status IN ('queued', 'running') \
                 OR (j.status = 'failed' AND j.updated_at >= $2))) \
             GROUP BY e.organization, e.id, e.certificate_archive_until \
             HAVING MIN(COALESCE(d.archive_until, 0)) <= $1 \
               OR COALESCE(e.certificate_archive_until, 0) <= $1 \
             ORDER BY CASE WHEN MIN(COALESCE(d.archive_until, 0)) \
               < COALESCE(e.certificate_archive_until, 0) \
               THEN MIN(COALESCE(d.archive_until, 0)) \
               ELSE COALESCE(e.certificate_archive_until, 0) END, e.id LIMIT $3",
        )
        .bind(horizon)
        .bind(failed_since)
        .bind(limit_or(limit, DEFAULT_LIMIT))
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::envelope_key).collect()
    }

    async fn job_created_since(&self, dedupe_key: &str, since: i64) -> Result<bool> {
        let found = sqlx::query(
            "SELECT 1 AS found FROM jobs WHERE dedupe_key = $1 AND created_at >= $2 LIMIT 1",
        )
        .bind(dedupe_key)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn documents(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
    ) -> Result<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents d WHERE d.organization = $1 AND d.envelope = $2 \
             ORDER BY d.position, d.created_at, d.id",
            rows::DOCUMENT
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(envelope.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::document).collect()
    }

    async fn document(
        &self,
        org: OrganizationId,
        id: DocumentId,
    ) -> Result<Option<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents d WHERE d.id = $1 AND d.organization = $2",
            rows::DOCUMENT
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::document).transpose()
    }

    async fn attachments(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
    ) -> Result<Vec<AttachmentRecord>> {
        let sql = format!(
            "SELECT {} FROM attachments WHERE organization = $1 AND envelope = $2 \
             ORDER BY created_at, id",
            rows::ATTACHMENT
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(envelope.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::attachment).collect()
    }

    async fn search_documents(
        &self,
        org: OrganizationId,
        query: &DocumentQuery,
    ) -> Result<Vec<DocumentHit>> {
        // Dated documents first, in date order; then, when no date was asked for, the undated
        // ones (a date range excludes them). Two queries, because each reads its order straight
        // from `documents_tx_order`, where a single `ORDER BY tx_date IS NULL, …` would sort
        // every match first (and the backends put NULL at opposite ends).
        let limit = limit_or(query.limit, DEFAULT_SEARCH_LIMIT);
        // A 取引先 substring: the matching names first, given to the planner as a list, so it
        // sees how many documents they hold (a whole name: read by name; a common part of
        // names: read in date order).
        let names = match &query.counterparty {
            Some(part) => match self.counterparty_names(org, part).await? {
                Names::Listed(names) if names.is_empty() => return Ok(Vec::new()),
                names => Some(names),
            },
            None => None,
        };
        // A page that continues among the undated documents has no dated ones left to read.
        let past_dated = query.after.as_ref().is_some_and(|c| c.date.is_none());
        let mut hits = if past_dated {
            Vec::new()
        } else {
            self.search_part(org, query, names.as_ref(), true, limit)
                .await?
        };
        let left = limit - i64::try_from(hits.len()).unwrap_or(limit);
        if left > 0 && query.date_from.is_none() && query.date_to.is_none() {
            hits.extend(
                self.search_part(org, query, names.as_ref(), false, left)
                    .await?,
            );
        }
        Ok(hits)
    }

    async fn token(&self, hash: &TokenHash) -> Result<Option<AccessToken>> {
        let sql = format!("SELECT {} FROM tokens WHERE hash = $1", rows::TOKEN);
        let row = sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::token).transpose()
    }

    // ── Webhooks ──────────────────────────────────────────────────────────────────

    async fn create_webhook(&self, webhook: &Webhook) -> Result<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, organization, url, secret, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(webhook.id.to_string())
        .bind(webhook.organization.to_string())
        .bind(&webhook.url)
        .bind(&webhook.secret)
        .bind(webhook.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, || format!("webhook {}", webhook.id)))?;
        Ok(())
    }

    async fn webhooks(&self, org: OrganizationId) -> Result<Vec<Webhook>> {
        let sql = format!(
            "SELECT {} FROM webhooks WHERE organization = $1 ORDER BY created_at, id",
            rows::WEBHOOK
        );
        let found = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::webhook).collect()
    }

    // ── Conclusion: lookup by 締結証明書ID, signers' libraries and accounts ──────────

    async fn envelope_by_conclusion(&self, id: &ConclusionId) -> Result<Option<EnvelopeRecord>> {
        let sql = format!(
            "SELECT {} FROM envelopes WHERE conclusion_id = $1",
            rows::ENVELOPE
        );
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::envelope).transpose()
    }

    async fn library(&self, email: &str, limit: u32) -> Result<Vec<LibraryItem>> {
        let columns = rows::ENVELOPE
            .split(',')
            .map(|c| format!("e.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, c.recipient AS library_recipient, \
             c.concluded_at AS library_concluded_at \
             FROM concluded_recipients c \
             JOIN envelopes e ON e.id = c.envelope AND e.organization = c.organization \
             WHERE c.email = $1 ORDER BY c.concluded_at DESC, e.id LIMIT $2"
        );
        let found = sqlx::query(&sql)
            .bind(email.to_lowercase())
            .bind(limit_or(limit, DEFAULT_SEARCH_LIMIT))
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::library_item).collect()
    }

    async fn create_signer_account(&self, account: &SignerAccount) -> Result<()> {
        sqlx::query("INSERT INTO signer_accounts (id, email, created_at) VALUES ($1, $2, $3)")
            .bind(account.id.to_string())
            .bind(&account.email)
            .bind(account.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, || format!("a signer account for {}", account.email)))?;
        Ok(())
    }

    async fn signer_account(&self, id: SignerAccountId) -> Result<Option<SignerAccount>> {
        let row = sqlx::query("SELECT id, email, created_at FROM signer_accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::signer_account).transpose()
    }

    async fn signer_account_by_email(&self, email: &str) -> Result<Option<SignerAccount>> {
        let row = sqlx::query(
            "SELECT id, email, created_at FROM signer_accounts \
             WHERE lower(email) = $1",
        )
        .bind(email.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::signer_account).transpose()
    }

    // ── One-time codes of signer accounts ──────────────────────────────────────────

    async fn put_email_code(&self, code: &EmailCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO email_codes (email, code_hash, expires_at, attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO UPDATE SET \
             code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
             attempts = excluded.attempts, created_at = excluded.created_at",
        )
        .bind(code.email.to_lowercase())
        .bind(&code.code_hash.0[..])
        .bind(code.expires_at)
        .bind(i64::from(code.attempts))
        .bind(code.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_email_code(
        &self,
        email: &str,
        guess: &TokenHash,
        max_attempts: u32,
        now: i64,
    ) -> Result<CodeCheck> {
        let email = email.to_lowercase();
        let (_turn, mut tx) = self.begin_write().await?;
        let result: Result<CodeCheck> = async {
            let sql = format!(
                "SELECT code_hash, expires_at, attempts FROM email_codes \
                 WHERE email = $1{}",
                self.backend.for_update()
            );
            let Some(row) = sqlx::query(&sql)
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(CodeCheck::NoCode);
            };
            let stored = rows::Get::blob(&row, "code_hash")?;
            let expires_at: i64 = rows::Get::int(&row, "expires_at")?;
            let attempts: i64 = rows::Get::int(&row, "attempts")?;
            if expires_at <= now || attempts >= i64::from(max_attempts) {
                sqlx::query("DELETE FROM email_codes WHERE email = $1")
                    .bind(&email)
                    .execute(&mut *tx)
                    .await?;
                return Ok(CodeCheck::NoCode);
            }
            // Constant-time: the hash is keyed, but a timing difference costs nothing to avoid.
            let matches = stored.len() == 32
                && stored
                    .iter()
                    .zip(guess.0.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if matches {
                sqlx::query("DELETE FROM email_codes WHERE email = $1")
                    .bind(&email)
                    .execute(&mut *tx)
                    .await?;
                Ok(CodeCheck::Valid)
            } else {
                sqlx::query("UPDATE email_codes SET attempts = attempts + 1 WHERE email = $1")
                    .bind(&email)
                    .execute(&mut *tx)
                    .await?;
                Ok(CodeCheck::Wrong {
                    attempts_left: u32::try_from(i64::from(max_attempts) - attempts - 1)
                        .unwrap_or(0),
                })
            }
        }
        .await;
        Self::end(tx, result).await
    }

    // ── Backups ────────────────────────────────────────────────────────────────────

    async fn inventory(&self) -> Result<crate::Inventory> {
        let mut conn = self.pool.acquire().await?;
        Self::inventory_on(&mut conn).await
    }

    async fn export_database(&self, file: &std::path::Path) -> Result<crate::Inventory> {
        self.export_to(file).await
    }
}
