//! What both backends share below the SQL: reading rows back into records (with checked
//! conversions: a stored value that does not fit is [`StoreError::Corrupt`], never a panic),
//! the column lists every query selects, and the mapping of constraint violations to errors.

use std::fmt::Display;
use std::str::FromStr;

use inkan_domain::{Email, Envelope, Yen};
use serde::de::DeserializeOwned;
use sqlx::Row;

use crate::{
    AccessToken, ApiKey, AttachmentRecord, AuditAnchor, AuditEntry, Counterparty, Department,
    DocumentHit, DocumentRecord, EnvelopeRecord, Job, JobCount, JobStatus, LibraryItem,
    NewAuditEntry, Organization, Result, SignerAccount, StoreError, TokenHash, TokenKind,
    TransactionMetadata, User, UserRole, Webhook,
};

/// Typed column access over the rows of either database.
pub(crate) trait Get {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn blob(&self, col: &str) -> Result<Vec<u8>>;
    /// A BOOLEAN (PostgreSQL) or 0/1 INTEGER (SQLite) column.
    fn flag(&self, col: &str) -> Result<bool>;
}

impl Get for sqlx::any::AnyRow {
    fn text(&self, col: &str) -> Result<String> {
        self.try_get(col).map_err(|e| column(col, e))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.try_get(col).map_err(|e| column(col, e))
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.try_get(col).map_err(|e| column(col, e))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.try_get(col).map_err(|e| column(col, e))
    }
    fn blob(&self, col: &str) -> Result<Vec<u8>> {
        self.try_get(col).map_err(|e| column(col, e))
    }
    fn flag(&self, col: &str) -> Result<bool> {
        // SQLite has no boolean type: its rows hold 0 or 1.
        match self.try_get::<bool, _>(col) {
            Ok(flag) => Ok(flag),
            Err(_) => self.int(col).map(|n| n != 0),
        }
    }
}

fn column(col: &str, e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {col}: {e}"))
}

// ── Conversions ──────────────────────────────────────────────────────────────────────────────

fn parse<T: FromStr>(value: &str, what: &str) -> Result<T>
where
    T::Err: Display,
{
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} {value:?}: {e}")))
}

pub(crate) fn id<T: FromStr>(r: &impl Get, col: &str) -> Result<T>
where
    T::Err: Display,
{
    parse(&r.text(col)?, col)
}

pub(crate) fn opt_id<T: FromStr>(r: &impl Get, col: &str) -> Result<Option<T>>
where
    T::Err: Display,
{
    r.opt_text(col)?.map(|s| parse(&s, col)).transpose()
}

pub(crate) fn u32_col(r: &impl Get, col: &str) -> Result<u32> {
    let v = r.int(col)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col}: {v} is out of range")))
}

fn u64_of(v: i64, col: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col}: {v} is negative")))
}

/// A u64 (a size, an amount) as the signed 64-bit integer both databases store.
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| {
        StoreError::Corrupt(format!(
            "{what} {v} cannot be stored: larger than {}",
            i64::MAX
        ))
    })
}

pub(crate) fn json<T: DeserializeOwned>(r: &impl Get, col: &str) -> Result<T> {
    serde_json::from_str(&r.text(col)?).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub(crate) fn to_json(value: &impl serde::Serialize, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("{what} cannot be written as JSON: {e}")))
}

fn email(r: &impl Get, col: &str) -> Result<Email> {
    parse(&r.text(col)?, col)
}

fn token_hash(r: &impl Get, col: &str) -> Result<TokenHash> {
    let bytes = r.blob(col)?;
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Corrupt(format!("{col}: {} bytes, not 32", b.len())))?;
    Ok(TokenHash(array))
}

pub(crate) fn role_name(role: UserRole) -> &'static str {
    role.name()
}

pub(crate) fn token_kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Signer => "signer",
        TokenKind::Completion => "completion",
    }
}

fn job_status(name: &str) -> Result<JobStatus> {
    match name {
        "queued" => Ok(JobStatus::Queued),
        "running" => Ok(JobStatus::Running),
        "done" => Ok(JobStatus::Done),
        "failed" => Ok(JobStatus::Failed),
        other => Err(StoreError::Corrupt(format!("job status {other:?}"))),
    }
}

/// A LIKE pattern matching `needle` anywhere, lowercased, with `\`, `%` and `_` escaped (the
/// queries say `ESCAPE '\'`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Maps a constraint violation to the error the trait promises; other errors pass through.
pub(crate) fn db_error(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Duplicate(what());
        }
        if d.is_foreign_key_violation() {
            return StoreError::NotFound(format!(
                "the organization, envelope or department that {} refers to",
                what()
            ));
        }
    }
    StoreError::Database(e)
}

// ── Column lists and decoders ────────────────────────────────────────────────────────────────

pub(crate) const ORGANIZATION: &str =
    "id, name, created_at, staff_networks, mfa_required, folder_required";

pub(crate) fn organization(r: &impl Get) -> Result<Organization> {
    let networks = r.text("staff_networks")?;
    Ok(Organization {
        id: id(r, "id")?,
        name: r.text("name")?,
        created_at: r.int("created_at")?,
        staff_networks: networks
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("staff_networks {networks:?}: {e}")))?,
        mfa_required: r.flag("mfa_required")?,
        folder_required: r.flag("folder_required")?,
    })
}

pub(crate) const DEPARTMENT: &str = "id, organization, name";

pub(crate) fn department(r: &impl Get) -> Result<Department> {
    Ok(Department {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        name: r.text("name")?,
    })
}

pub(crate) const USER: &str = "id, organization, department, name, email, role, password_hash, \
     created_at, session_generation, disabled_at, totp_secret, totp_last_step";

pub(crate) fn user(r: &impl Get) -> Result<User> {
    let role = r.text("role")?;
    let role = UserRole::from_name(&role)
        .ok_or_else(|| StoreError::Corrupt(format!("user role {role:?}")))?;
    Ok(User {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        department: opt_id(r, "department")?,
        name: r.text("name")?,
        email: email(r, "email")?,
        role,
        password_hash: r.opt_text("password_hash")?,
        created_at: r.int("created_at")?,
        session_generation: r.int("session_generation")?,
        disabled_at: r.opt_int("disabled_at")?,
        totp_secret: r.opt_text("totp_secret")?,
        totp_last_step: r.opt_int("totp_last_step")?,
    })
}

pub(crate) const API_KEY: &str =
    "id, organization, name, hash, created_at, revoked_at, scope, owner";

pub(crate) fn api_key(r: &impl Get) -> Result<ApiKey> {
    Ok(ApiKey {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        name: r.text("name")?,
        hash: token_hash(r, "hash")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        scope: match r.text("scope")?.as_str() {
            "read" => crate::ApiKeyScope::Read,
            "send" => crate::ApiKeyScope::Send,
            "admin" => crate::ApiKeyScope::Admin,
            other => return Err(StoreError::Corrupt(format!("API key scope {other:?}"))),
        },
        owner: opt_id(r, "owner")?,
    })
}

pub(crate) const COUNTERPARTY: &str = "id, organization, address, trade_name, representative, \
     signatory_title, signatory_name, signatory_email, clerk_department, clerk_title, \
     clerk_name, clerk_phone, clerk_email, created_at, notified_on";

pub(crate) fn counterparty(r: &impl Get) -> Result<Counterparty> {
    Ok(Counterparty {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        address: r.text("address")?,
        trade_name: r.text("trade_name")?,
        representative: r.text("representative")?,
        signatory_title: r.text("signatory_title")?,
        signatory_name: r.text("signatory_name")?,
        signatory_email: email(r, "signatory_email")?,
        clerk_department: r.text("clerk_department")?,
        clerk_title: r.text("clerk_title")?,
        clerk_name: r.text("clerk_name")?,
        clerk_phone: r.text("clerk_phone")?,
        clerk_email: r
            .opt_text("clerk_email")?
            .map(|s| parse(&s, "clerk_email"))
            .transpose()?,
        notified_on: r
            .opt_text("notified_on")?
            .map(|s| parse(&s, "notified_on"))
            .transpose()?,
        created_at: r.int("created_at")?,
    })
}

pub(crate) const ENVELOPE: &str = "id, organization, version, created_by, sender_name, \
     sender_email, counterparty, sealed_at, certificate_blob, certificate_sha256, \
     certificate_size, certificate_archive_until, created_at, updated_at, data, folder";

pub(crate) fn envelope(r: &impl Get) -> Result<EnvelopeRecord> {
    let envelope: Envelope = json(r, "data")?;
    let row_id: inkan_domain::EnvelopeId = id(r, "id")?;
    let row_org: inkan_domain::OrganizationId = id(r, "organization")?;
    if envelope.id != row_id || envelope.organization != row_org {
        return Err(StoreError::Corrupt(format!(
            "envelope {row_id}: its data names another envelope or organization"
        )));
    }
    Ok(EnvelopeRecord {
        envelope,
        version: r.int("version")?,
        created_by: opt_id(r, "created_by")?,
        folder: opt_id(r, "folder")?,
        sender_name: r.text("sender_name")?,
        sender_email: r.text("sender_email")?,
        counterparty: opt_id(r, "counterparty")?,
        sealed_at: r.opt_int("sealed_at")?,
        certificate: match r.opt_text("certificate_blob")? {
            Some(blob) => Some(crate::StoredCertificate {
                blob,
                sha256: r.opt_text("certificate_sha256")?.unwrap_or_default(),
                size: u64_of(
                    r.opt_int("certificate_size")?.unwrap_or(0),
                    "certificate_size",
                )?,
                archive_until: r.opt_int("certificate_archive_until")?,
            }),
            None => None,
        },
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

/// An envelope's organization and ID, from the columns `organization` and `id`.
pub(crate) fn envelope_key(
    r: &impl Get,
) -> Result<(inkan_domain::OrganizationId, inkan_domain::EnvelopeId)> {
    Ok((id(r, "organization")?, id(r, "id")?))
}

/// Always selected from `documents d`.
pub(crate) const DOCUMENT: &str = "d.id, d.envelope, d.organization, d.position, d.name, \
     d.pages, d.original_blob, d.current_blob, d.revision, d.size, d.sha256, d.fields, \
     d.signed_by, d.tx_date, d.tx_amount, d.tx_counterparty, d.tx_kind, d.archive_until, \
     d.created_at";

pub(crate) fn document(r: &impl Get) -> Result<DocumentRecord> {
    Ok(DocumentRecord {
        id: id(r, "id")?,
        envelope: id(r, "envelope")?,
        organization: id(r, "organization")?,
        position: u32_col(r, "position")?,
        name: r.text("name")?,
        pages: u32_col(r, "pages")?,
        original_blob: r.text("original_blob")?,
        current_blob: r.text("current_blob")?,
        revision: u32_col(r, "revision")?,
        size: u64_of(r.int("size")?, "size")?,
        sha256: r.text("sha256")?,
        fields: json(r, "fields")?,
        signed_by: json(r, "signed_by")?,
        metadata: TransactionMetadata {
            date: r.opt_text("tx_date")?,
            amount: r
                .opt_int("tx_amount")?
                .map(|v| u64_of(v, "tx_amount").map(Yen))
                .transpose()?,
            counterparty: r.opt_text("tx_counterparty")?,
            kind: r.opt_text("tx_kind")?,
        },
        archive_until: r.opt_int("archive_until")?,
        created_at: r.int("created_at")?,
    })
}

fn status_kind(name: &str) -> Result<inkan_domain::StatusKind> {
    inkan_domain::StatusKind::parse(name)
        .ok_or_else(|| StoreError::Corrupt(format!("envelope status {name:?}")))
}

pub(crate) fn document_hit(r: &impl Get) -> Result<DocumentHit> {
    Ok(DocumentHit {
        document: document(r)?,
        envelope_title: r.text("envelope_title")?,
        envelope_number: r.text("envelope_number")?,
        envelope_status: status_kind(&r.text("envelope_status")?)?,
    })
}

pub(crate) const ATTACHMENT: &str =
    "id, envelope, organization, recipient, field, name, blob, size, sha256, created_at";

pub(crate) fn attachment(r: &impl Get) -> Result<AttachmentRecord> {
    Ok(AttachmentRecord {
        id: id(r, "id")?,
        envelope: id(r, "envelope")?,
        organization: id(r, "organization")?,
        recipient: opt_id(r, "recipient")?,
        field: opt_id(r, "field")?,
        name: r.text("name")?,
        blob: r.text("blob")?,
        size: u64_of(r.int("size")?, "size")?,
        sha256: r.text("sha256")?,
        created_at: r.int("created_at")?,
    })
}

pub(crate) const TOKEN: &str =
    "hash, kind, organization, envelope, recipient, created_at, expires_at";

pub(crate) fn token(r: &impl Get) -> Result<AccessToken> {
    let kind = match r.text("kind")?.as_str() {
        "signer" => TokenKind::Signer,
        "completion" => TokenKind::Completion,
        other => return Err(StoreError::Corrupt(format!("token kind {other:?}"))),
    };
    Ok(AccessToken {
        hash: token_hash(r, "hash")?,
        kind,
        organization: id(r, "organization")?,
        envelope: id(r, "envelope")?,
        recipient: opt_id(r, "recipient")?,
        created_at: r.int("created_at")?,
        expires_at: r.opt_int("expires_at")?,
    })
}

pub(crate) const JOB: &str = "id, kind, payload, organization, status, run_at, attempts, \
     max_attempts, dedupe_key, locked_by, locked_until, last_error, created_at, updated_at";

pub(crate) fn job(r: &impl Get) -> Result<Job> {
    Ok(Job {
        id: id(r, "id")?,
        kind: r.text("kind")?,
        payload: json(r, "payload")?,
        organization: opt_id(r, "organization")?,
        status: job_status(&r.text("status")?)?,
        run_at: r.int("run_at")?,
        attempts: u32_col(r, "attempts")?,
        max_attempts: u32_col(r, "max_attempts")?,
        dedupe_key: r.opt_text("dedupe_key")?,
        locked_by: r.opt_text("locked_by")?,
        locked_until: r.opt_int("locked_until")?,
        last_error: r.opt_text("last_error")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

pub(crate) fn job_count(r: &impl Get) -> Result<JobCount> {
    Ok(JobCount {
        kind: r.text("kind")?,
        status: job_status(&r.text("status")?)?,
        count: u64_of(r.int("n")?, "n")?,
        oldest: r.int("oldest")?,
    })
}

pub(crate) const AUDIT: &str = "seq, entry, prev_hash, hash";

pub(crate) fn audit_entry(r: &impl Get) -> Result<AuditEntry> {
    let entry: NewAuditEntry = json(r, "entry")?;
    Ok(AuditEntry {
        seq: r.int("seq")?,
        entry,
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
    })
}

pub(crate) const AUDIT_ANCHOR: &str = "organization, seq, hash, at, token";

pub(crate) fn audit_anchor(r: &impl Get) -> Result<AuditAnchor> {
    Ok(AuditAnchor {
        organization: id(r, "organization")?,
        seq: r.int("seq")?,
        hash: r.text("hash")?,
        at: r.int("at")?,
        token: r.blob("token")?,
    })
}

pub(crate) const WEBHOOK: &str = "id, organization, url, secret, created_at";

pub(crate) fn webhook(r: &impl Get) -> Result<Webhook> {
    Ok(Webhook {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        url: r.text("url")?,
        secret: r.text("secret")?,
        created_at: r.int("created_at")?,
    })
}

pub(crate) fn library_item(r: &impl Get) -> Result<LibraryItem> {
    Ok(LibraryItem {
        record: envelope(r)?,
        recipient: id(r, "library_recipient")?,
        concluded_at: r.int("library_concluded_at")?,
    })
}

pub(crate) fn signer_account(r: &impl Get) -> Result<SignerAccount> {
    Ok(SignerAccount {
        id: id(r, "id")?,
        email: r.text("email")?,
        created_at: r.int("created_at")?,
    })
}

// ── 閲覧権限 ─────────────────────────────────────────────────────────────────────────────────

/// A group without its members (read apart).
pub(crate) fn group(r: &impl Get) -> Result<crate::Group> {
    Ok(crate::Group {
        id: id(r, "id")?,
        organization: id(r, "organization")?,
        name: r.text("name")?,
        members: Vec::new(),
        created_at: r.int("created_at")?,
    })
}

/// A (group, user) row of `group_members`.
pub(crate) fn membership(r: &impl Get) -> Result<(inkan_domain::GroupId, inkan_domain::UserId)> {
    Ok((id(r, "group_id")?, id(r, "user_id")?))
}

/// A folder without its grants (read apart), with its path.
pub(crate) fn folder(r: &impl Get) -> Result<(crate::Folder, String)> {
    Ok((
        crate::Folder {
            id: id(r, "id")?,
            organization: id(r, "organization")?,
            parent: opt_id(r, "parent")?,
            name: r.text("name")?,
            grants: Vec::new(),
            created_at: r.int("created_at")?,
        },
        r.text("path")?,
    ))
}

/// A (folder, group) row of `folder_grants`.
pub(crate) fn grant(r: &impl Get) -> Result<(inkan_domain::FolderId, inkan_domain::GroupId)> {
    Ok((id(r, "folder")?, id(r, "group_id")?))
}

/// Folders in tree order: each parent before its children, siblings by name (a depth-first
/// walk, so an indented list reads as the tree).
pub(crate) fn tree_order(folders: Vec<(crate::Folder, String)>) -> Vec<crate::Folder> {
    // The key of a folder is the names along its path; sorting by it walks the tree.
    let name_of: std::collections::HashMap<String, String> = folders
        .iter()
        .map(|(f, _)| (f.id.to_string(), f.name.clone()))
        .collect();
    let mut keyed: Vec<(Vec<(String, String)>, crate::Folder)> = folders
        .into_iter()
        .map(|(f, path)| {
            let key = path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|id| (name_of.get(id).cloned().unwrap_or_default(), id.to_string()))
                .collect();
            (key, f)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(contains_pattern("株式会社"), "%株式会社%");
    }
}
