//! Inkan's storage: everything the service keeps, behind one [`Store`] trait with two
//! implementations that are always compiled — SQLite (the zero-configuration default, one file)
//! and PostgreSQL (by URL, for scaling out). Each applies its own forward-only SQL migrations at
//! start (`migrations/sqlite`, `migrations/postgres`), and one test suite runs against both.
//!
//! Business code never branches on the backend: it computes a [`Change`] (the envelope's new
//! state, its documents, the jobs and audit entries the change causes) and hands it to
//! [`Store::apply`], which writes all of it in one transaction or none of it. That one rule is
//! what makes the service crash-safe: a job exists if and only if the change that caused it
//! was committed.
#![doc = include_str!("../README.md")]

mod audit;
mod dump;
mod error;
mod migrations;
mod model;
mod passkeys;
mod reach;
mod rows;
mod sql;
mod sso;
mod templates;

pub use audit::{
    anchor_imprint, chain_hash, legacy_chain_hash, verify_chain, AuditAnchor, ChainBreak, ChainKey,
    ChainSummary, GENESIS_HASH,
};
pub use dump::{create_database, database_is_empty, drop_database, import_database};
pub use error::StoreError;
pub use model::*;
pub use passkeys::{PasskeyStore, StoredPasskey};
pub use reach::{AccessStore, Folder, Group, Reach, MAX_FOLDER_DEPTH};
pub use sql::SqlStore;
pub use sso::{SsoProvider, SsoStore};
pub use templates::{
    BatchProgress, BatchRecord, BatchRow, RowOutcome, RowState, TemplateStore,
    TemplateVersionRecord,
};

use async_trait::async_trait;
use inkan_domain::{
    ApiKeyId, ConclusionId, CounterpartyId, DocumentId, EnvelopeId, JobId, OrganizationId,
    SignerAccountId, StaffNetworks, UserId,
};
use std::path::Path;
use std::sync::Arc;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Opens the store a URL names: `sqlite://path/to/inkan.db` (created if absent) or
/// `postgres://…`. Migrations are applied before it returns. `chain_key` keys the audit chains
/// (it is kept outside the database, so that writing to the database is not enough to rewrite
/// the trail).
pub async fn open(url: &str, chain_key: ChainKey) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(SqlStore::postgres(url, chain_key).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqlStore::sqlite(url, chain_key).await?))
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL {:?}: use sqlite://FILE or postgres://…",
            url.split('@').next_back().unwrap_or(url)
        )))
    }
}

/// Brings the (new or older) database at `url` to the migrations up to `version` and no
/// further: a database as an earlier release left it, for upgrade tests. Opening a store
/// afterwards applies the rest, as an upgrade does.
pub async fn migrate_to(url: &str, version: i64) -> Result<()> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        sql::postgres::migrate_to(url, version).await
    } else {
        sql::sqlite::migrate_to(url, version).await
    }
}

/// Every migration's version and description, oldest first (the same on both backends).
pub fn migrations() -> Vec<(i64, String)> {
    sql::sqlite::migrations()
}

/// Everything Inkan keeps, except blobs (see inkan-blobs). Every read that concerns one
/// organization's data takes that organization's ID, so no query can cross tenants.
#[async_trait]
pub trait Store:
    AccessStore
    + AuditStore
    + FactorStore
    + JobStore
    + PasskeyStore
    + SsoStore
    + TemplateStore
    + Send
    + Sync
{
    /// "sqlite" or "postgres", for logs and benchmarks.
    fn backend(&self) -> &'static str;

    /// Records `fingerprint` as the installation's for key `name` unless one is recorded
    /// already (atomic: of two nodes starting at once, one records), and returns the recorded
    /// one — which a node compares with its own key.
    async fn claim_key_fingerprint(
        &self,
        name: &str,
        fingerprint: &str,
        now: i64,
    ) -> Result<String>;

    /// Moves the shared counter `name` past a block of `size` numbers and returns the block's
    /// first number: the counter's value, or `floor` when that is higher (a counter taking over
    /// from another starts above it). Atomic: two nodes never get overlapping blocks.
    async fn reserve_counter(&self, name: &str, size: u128, floor: u128) -> Result<u128>;

    /// A certificate a CA of the built-in PKI issued (`ca`: `g1/issuing-ca`; the serial in
    /// hex), known so to nodes that do not share the PKI folder. Recording it twice changes
    /// nothing.
    async fn record_pki_certificate(&self, ca: &str, serial: &str, now: i64) -> Result<()>;
    /// A revocation (the PKI's record of it, JSON); a serial revoked already keeps its first.
    async fn record_pki_revocation(
        &self,
        ca: &str,
        serial: &str,
        revocation: &str,
        now: i64,
    ) -> Result<()>;
    /// What is recorded of a serial: nothing, issued (`Some(None)`), or its revocation.
    async fn pki_record(&self, ca: &str, serial: &str) -> Result<Option<Option<String>>>;
    /// Every revocation recorded for `ca`: (serial, revocation), by serial.
    async fn pki_revocations(&self, ca: &str) -> Result<Vec<(String, String)>>;

    // ── Organizations, departments, users, API keys ────────────────────────────────────────
    async fn create_organization(&self, org: &Organization) -> Result<()>;
    async fn organization(&self, id: OrganizationId) -> Result<Option<Organization>>;
    /// Replaces the organization's IP restriction; false when there is no such organization.
    async fn set_staff_networks(
        &self,
        id: OrganizationId,
        networks: &StaffNetworks,
    ) -> Result<bool>;
    async fn create_department(&self, department: &Department) -> Result<()>;
    async fn departments(&self, org: OrganizationId) -> Result<Vec<Department>>;
    /// Staff emails are unique across the installation (they are the login name):
    /// a second user with the same email is [`StoreError::Duplicate`].
    async fn create_user(&self, user: &User) -> Result<()>;
    async fn user(&self, org: OrganizationId, id: UserId) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// The organization's users, disabled ones included, by name.
    async fn users(&self, org: OrganizationId) -> Result<Vec<User>>;
    /// Gives a user another role; false when there is no such user.
    async fn set_user_role(&self, org: OrganizationId, id: UserId, role: UserRole) -> Result<bool>;
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;
    /// The key whose SHA-256 is `hash`, if it exists and is not revoked.
    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>>;
    /// Every key of the organization, revoked ones included, oldest first.
    async fn api_keys(&self, org: OrganizationId) -> Result<Vec<ApiKey>>;
    /// Revokes a key of the organization; `false` when there is no such live key.
    async fn revoke_api_key(&self, org: OrganizationId, id: ApiKeyId, now: i64) -> Result<bool>;
    /// Ends every session of the user at once (the next session generation), with `change`
    /// applied in the same statement; `false` when the organization has no such user.
    async fn end_sessions(
        &self,
        org: OrganizationId,
        id: UserId,
        change: UserChange,
        now: i64,
    ) -> Result<bool>;

    // ── Counterparties (取引先) ──────────────────────────────────────────────────────────────
    /// Inserts or replaces (by ID, within the organization).
    async fn save_counterparty(&self, counterparty: &Counterparty) -> Result<()>;
    async fn counterparty(
        &self,
        org: OrganizationId,
        id: CounterpartyId,
    ) -> Result<Option<Counterparty>>;
    async fn counterparties(&self, org: OrganizationId) -> Result<Vec<Counterparty>>;

    // ── Envelopes, documents, attachments, tokens: written only through `apply` ─────────────
    /// Writes a [`Change`] atomically. An envelope write whose `expected_version` is not the
    /// stored version fails with [`StoreError::Conflict`] and writes nothing.
    async fn apply(&self, change: Change) -> Result<()>;
    async fn envelope(&self, org: OrganizationId, id: EnvelopeId)
        -> Result<Option<EnvelopeRecord>>;
    /// Newest first.
    async fn envelopes(
        &self,
        org: OrganizationId,
        filter: &EnvelopeFilter,
    ) -> Result<Vec<EnvelopeRecord>>;
    /// Envelopes still waiting for someone (awaiting approval, sent, partially signed) whose
    /// deadline is at or before `now`, across organizations: the expiry sweep's input.
    async fn envelopes_past_deadline(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<(OrganizationId, EnvelopeId)>>;
    /// Sealed envelopes whose documents or 電子契約締結証明書 need the archive-renewal job: a
    /// proof that runs out at or before `horizon`, or one not read yet. Envelopes with an
    /// `archive:<id>` job queued or running, or failed since `failed_since`, are left out (a
    /// failing renewal is retried by its job, then once a day). Soonest first.
    async fn archive_due(
        &self,
        horizon: i64,
        failed_since: i64,
        limit: u32,
    ) -> Result<Vec<(OrganizationId, EnvelopeId)>>;
    /// Whether a job with `dedupe_key` was created at or after `since`, whatever its state.
    async fn job_created_since(&self, dedupe_key: &str, since: i64) -> Result<bool>;
    /// In position order.
    async fn documents(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
    ) -> Result<Vec<DocumentRecord>>;
    async fn document(&self, org: OrganizationId, id: DocumentId)
        -> Result<Option<DocumentRecord>>;
    async fn attachments(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
    ) -> Result<Vec<AttachmentRecord>>;
    /// 電帳法 search: every criterion optional, all given ones combined (AND); hits by 取引年月日
    /// (undated documents last), then by creation. Answered from indexes at a million documents
    /// (see `inkan-bench search`).
    async fn search_documents(
        &self,
        org: OrganizationId,
        query: &DocumentQuery,
    ) -> Result<Vec<DocumentHit>>;
    /// The access token whose SHA-256 is `hash` (tokens are never stored in clear).
    async fn token(&self, hash: &TokenHash) -> Result<Option<AccessToken>>;

    // ── Webhooks ─────────────────────────────────────────────────────────────────────────────
    async fn create_webhook(&self, webhook: &Webhook) -> Result<()>;
    async fn webhooks(&self, org: OrganizationId) -> Result<Vec<Webhook>>;

    // ── Conclusion: lookup by 締結証明書ID, signers' libraries and accounts ─────────────────
    /// The envelope with this 締結証明書ID, in any organization: the public verification page
    /// decides what little of it to show.
    async fn envelope_by_conclusion(&self, id: &ConclusionId) -> Result<Option<EnvelopeRecord>>;
    /// The concluded envelopes an email received (as signer or cc), across organizations, newest
    /// first (`limit` 0: 1000).
    async fn library(&self, email: &str, limit: u32) -> Result<Vec<LibraryItem>>;
    /// One account per email, whatever the case: a second is [`StoreError::Duplicate`].
    async fn create_signer_account(&self, account: &SignerAccount) -> Result<()>;
    async fn signer_account(&self, id: SignerAccountId) -> Result<Option<SignerAccount>>;
    async fn signer_account_by_email(&self, email: &str) -> Result<Option<SignerAccount>>;
    /// Stores the email's one pending code, replacing an earlier one.
    async fn put_email_code(&self, code: &EmailCode) -> Result<()>;
    /// Checks a guess against the email's pending code: a right guess uses the code up; a wrong
    /// one counts, and the code dies after `max_attempts` wrong guesses or when it expires.
    async fn take_email_code(
        &self,
        email: &str,
        guess: &TokenHash,
        max_attempts: u32,
        now: i64,
    ) -> Result<CodeCheck>;

    // ── Backups ────────────────────────────────────────────────────────────────────────────
    /// Row counts and every sealed envelope's final files: what a backup records so that a
    /// restore can be checked against it.
    async fn inventory(&self) -> Result<Inventory>;
    /// Writes a consistent copy of the whole database to `file` (which must not exist) while
    /// the service keeps running, and returns the copy's inventory: SQLite's `VACUUM INTO`
    /// (the inventory read from the copy), PostgreSQL's `pg_dump` (custom format) in the
    /// snapshot the inventory was read in. [`import_database`] puts it back.
    async fn export_database(&self, file: &Path) -> Result<Inventory>;
}

/// What ends a user's sessions, besides ending them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Only that (logout everywhere).
    EndSessions,
    /// A new password hash (`None`: no password login any more).
    Password(Option<String>),
    /// The user is disabled.
    Disable,
}

/// How failed attempts of one key are limited: at most `failures` in `window` seconds, then the
/// key is locked for `lock` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    pub failures: u32,
    pub window: i64,
    pub lock: i64,
}

/// Where a key stands after a failed attempt was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCount {
    /// Failures in the current window, this one included.
    pub failures: u32,
    /// When the lock ends, if the key is locked.
    pub locked_until: Option<i64>,
    /// This failure is the one that locked the key (to audit and tell the owner once).
    pub newly_locked: bool,
}

/// What a one-time code guess came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Valid,
    Wrong {
        attempts_left: u32,
    },
    /// No code pending (never sent, used, expired or out of attempts).
    NoCode,
}

/// The store's durable job queue (a part of [`Store`]; implemented in `sql/jobs.rs`). Jobs are
/// created only by [`Store::apply`], with the change that causes them.
#[async_trait]
pub trait JobStore {
    /// Claims up to `limit` jobs that are due: queued with `run_at <= now`, or running with a
    /// lease that expired (their worker died). Each claimed job is `Running`, leased until
    /// `now + lease_seconds`, with `attempts` incremented, oldest `run_at` first (`limit` 0:
    /// 10). Concurrent claimers never get the same job (PostgreSQL: FOR UPDATE SKIP LOCKED;
    /// SQLite: one writer at a time).
    async fn claim_jobs(
        &self,
        worker: &str,
        now: i64,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<Job>>;
    /// Fails for good every running job whose lease ran out with no attempt left: its worker
    /// stopped before finishing it on every attempt (it crashed on this job, or the job ran
    /// past its lease each time). [`claim_jobs`](Self::claim_jobs) never takes such a job;
    /// workers call this once a second, so that it shows as failed. Returns how many.
    async fn fail_abandoned_jobs(&self, now: i64) -> Result<u64>;
    /// The job succeeded. [`StoreError::NotFound`] if there is no such job.
    async fn finish_job(&self, id: JobId, now: i64) -> Result<()>;
    /// The attempt failed: queued again at `retry_at`, or `Failed` once `attempts` reached
    /// `max_attempts` or when `retry_at` is `None` (a permanent failure). A job that is no
    /// longer running (a late report) is left as it is. A retry that would collide with a newer
    /// queued job of the same `dedupe_key` closes this job as `Done` ("superseded by …" in
    /// `last_error`): the queued one does the work.
    async fn fail_job(&self, id: JobId, error: &str, retry_at: Option<i64>, now: i64)
        -> Result<()>;
    /// Puts a failed job back in the queue (an operator's retry), with its attempts reset. Jobs
    /// in any other state are left as they are; a failed job superseded by a queued job of the
    /// same `dedupe_key` is closed as `Done` instead.
    async fn requeue_job(&self, id: JobId, now: i64) -> Result<()>;
    async fn job(&self, id: JobId) -> Result<Option<Job>>;
    async fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;
    /// How many jobs there are of each kind in each state, with the oldest time of each group
    /// (when it became due for queued jobs, its last change for the others): the metrics.
    async fn job_counts(&self) -> Result<Vec<JobCount>>;
}

/// The store's reading of the hash-chained audit trail and its anchors (a part of [`Store`];
/// implemented in `sql/audit.rs`). Entries are written only by [`Store::apply`].
#[async_trait]
pub trait AuditStore {
    /// One organization's trail in chain order (optionally one envelope's entries only).
    async fn audit_entries(
        &self,
        org: OrganizationId,
        envelope: Option<EnvelopeId>,
    ) -> Result<Vec<AuditEntry>>;
    /// The 操作ログ filtered by who, what and when, newest first (a page of it).
    async fn search_audit(
        &self,
        org: OrganizationId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>>;
    /// Every action the organization's trail holds, for the filter's choices.
    async fn audit_actions(&self, org: OrganizationId) -> Result<Vec<String>>;
    /// The organization's chain head (last sequence number and hash), kept apart from the entries
    /// so that deleting the newest entries is detected too.
    async fn audit_head(&self, org: OrganizationId) -> Result<Option<(i64, String)>>;
    /// Checks entries read with [`AuditStore::audit_entries`] (a whole chain) against `head` with
    /// the store's chain key, which never leaves the store.
    fn check_chain(
        &self,
        entries: &[AuditEntry],
        head: Option<(i64, &str)>,
    ) -> std::result::Result<ChainSummary, ChainBreak>;
    /// Every organization that has audit entries (for `inkan audit verify`).
    async fn audited_organizations(&self) -> Result<Vec<OrganizationId>>;
    /// Keeps a timestamp anchor of a chain head.
    async fn add_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()>;
    /// The organization's anchors, oldest entry first.
    async fn audit_anchors(&self, org: OrganizationId) -> Result<Vec<AuditAnchor>>;
    /// The organization's newest anchor (the worker asks every minute whether one is due).
    async fn last_audit_anchor(&self, org: OrganizationId) -> Result<Option<AuditAnchor>>;
}

/// The store's second factors (多要素認証) and attempt limits (a part of [`Store`];
/// implemented in `sql/factors.rs`).
#[async_trait]
pub trait FactorStore {
    /// Whether every staff user of the organization must use a second factor.
    async fn set_mfa_required(&self, org: OrganizationId, required: bool) -> Result<bool>;
    /// Enrols a user's authenticator (`Some`: the sealed secret; the hashes of fresh recovery
    /// codes replace any earlier ones) or removes it (`None`: the secret and every recovery
    /// code go), in one transaction; false when there is no such user.
    async fn set_totp(
        &self,
        org: OrganizationId,
        user: UserId,
        sealed_secret: Option<&str>,
        recovery_codes: &[TokenHash],
    ) -> Result<bool>;
    /// Accepts a code of 30-second `step` for the user only when it is newer than every step
    /// accepted before: atomic, so two requests (or two nodes) never both accept one code.
    async fn accept_totp_step(&self, org: OrganizationId, user: UserId, step: i64) -> Result<bool>;
    /// Uses one of the user's recovery codes: true when it was theirs and unused.
    async fn use_recovery_code(&self, user: UserId, hash: &TokenHash, now: i64) -> Result<bool>;
    /// How many unused recovery codes the user has.
    async fn recovery_codes_left(&self, user: UserId) -> Result<u32>;

    // Attempt limits (one-time codes).
    /// Counts one failed attempt of `key` in `scope` against `limit`; the count survives new
    /// codes and restarts, and is shared by every process on the database.
    async fn count_failure(
        &self,
        scope: &str,
        key: &str,
        limit: AttemptLimit,
        now: i64,
    ) -> Result<AttemptCount>;
    /// When the lock on `key` in `scope` ends, if it is locked at `now`.
    async fn locked_until(&self, scope: &str, key: &str, now: i64) -> Result<Option<i64>>;

    /// Counts one request of `key` in `scope` in the minute starting at `window_start` and
    /// returns the minute's count so far (every node's requests together). Windows older
    /// than `forget_before` may be deleted on the way.
    async fn count_request(
        &self,
        scope: &str,
        key: &str,
        window_start: i64,
        forget_before: i64,
    ) -> Result<u32>;
}
