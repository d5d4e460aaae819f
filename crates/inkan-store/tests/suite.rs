//! The one test suite of the store, run against both backends: every test below is an async
//! function taking a [`Ctx`], expanded by `both!` into `sqlite::name` (a fresh file in a temporary
//! directory) and `postgres::name` (a fresh database, dropped afterwards).
//!
//! PostgreSQL comes from `INKAN_TEST_DATABASE_URL` (an admin URL allowed to create databases;
//! default `postgres://postgres@127.0.0.1:5432/test`). Unreachable, the PostgreSQL half is
//! skipped with a printed reason, or fails under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use inkan_domain::{
    AttachmentId, ConclusionId, DocumentId, Envelope, EnvelopeId, Field, FieldKind, JobId,
    OrganizationId, Recipient, Role, SignerAccountId, StatusKind, UserId, Yen,
};
use inkan_store::*;
use serde_json::json;

const NOW: i64 = 1_750_000_000;

/// The audit chain key every test store is opened with.
fn chain_key() -> ChainKey {
    ChainKey::from_bytes([7; 32])
}

// ── Harness ──────────────────────────────────────────────────────────────────────────────────

/// What a test gets: the store, its URL (to connect again) and a raw pool (to tamper).
struct Ctx {
    store: Arc<dyn Store>,
    url: String,
    raw: Raw,
}

#[derive(Clone)]
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn exec(&self, sql: &str) -> u64 {
        match self {
            Raw::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.unwrap().rows_affected(),
            Raw::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.unwrap().rows_affected(),
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Raw::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }
}

async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inkan.db").display());
    let store = SqlStore::sqlite(&url, chain_key()).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    let started = std::time::Instant::now();
    test(Ctx {
        store: Arc::new(store),
        url,
        raw,
    })
    .await;
    eprintln!("sqlite: {:?}", started.elapsed());
}

/// The test on a fresh PostgreSQL database (the testkit's: made here, dropped afterwards even
/// when the test fails).
async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = inkan_testkit::postgres::fresh_database() else {
        return;
    };
    let url = database.url.clone();
    let started = std::time::Instant::now();
    let store = SqlStore::postgres(&url, chain_key()).await.unwrap();
    let raw = sqlx::PgPool::connect(&url).await.unwrap();
    // Spawned so that a failing test still lets us drop its database.
    let outcome = tokio::spawn(test(Ctx {
        store: Arc::new(store),
        url,
        raw: Raw::Postgres(raw.clone()),
    }))
    .await;
    eprintln!("postgres: {:?}", started.elapsed());
    raw.close().await;
    drop(database);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_postgres(super::$name).await
                }
            )*
        }
    };
}

both!(
    organizations_users_and_keys,
    counterparties_upsert_and_isolation,
    apply_writes_a_change_whole,
    stale_version_is_a_conflict_and_writes_nothing,
    concurrent_updates_of_one_envelope_conflict,
    documents_must_belong_to_the_change,
    tenants_are_isolated,
    envelopes_newest_first_filtered_and_paged,
    envelopes_past_deadline,
    search_by_each_criterion_and_combined,
    corrupt_values_are_errors_not_panics,
    job_dedupe,
    event_jobs_are_added_only_with_a_webhook,
    claim_respects_run_at_and_leases,
    a_job_waits_while_its_twin_runs,
    a_job_whose_worker_always_dies_fails_after_its_attempts,
    failed_attempts_lock_a_key_for_a_while,
    fail_retry_failed_requeue,
    retry_superseded_by_a_queued_twin,
    concurrent_claimers_never_share_a_job,
    audit_chain_verifies,
    the_operations_log_filters_by_actor_action_and_time,
    tampering_with_an_entry_is_detected,
    recomputing_the_chain_without_the_key_is_detected,
    legacy_entries_are_accepted_before_keyed_ones_only,
    anchors_are_kept_per_organization,
    deleting_a_middle_entry_is_detected,
    deleting_the_last_entry_is_detected,
    swapping_entries_is_detected,
    concurrent_audit_appends_keep_the_chain,
    migrations_apply_once,
    conclusion_lookup_certificate_and_library,
    archive_due_finds_sealed_proofs_that_run_out,
    signer_accounts_and_one_time_codes,
    reading_follows_folders_groups_and_shares,
    folder_tree_rules,
    sso_providers_own_their_domains,
    passkeys_belong_to_their_user,
    template_versions_are_written_once,
    a_batch_is_written_with_its_jobs_and_finished_row_by_row,
    counters_hand_out_blocks_once,
);

#[path = "suite/access.rs"]
mod access;
use access::{folder_tree_rules, reading_follows_folders_groups_and_shares};
#[path = "suite/sso.rs"]
mod sso;
use sso::{passkeys_belong_to_their_user, sso_providers_own_their_domains};
#[path = "suite/counters.rs"]
mod counters;
use counters::counters_hand_out_blocks_once;
#[path = "suite/templates.rs"]
mod templates;
use templates::{
    a_batch_is_written_with_its_jobs_and_finished_row_by_row, template_versions_are_written_once,
};

// ── Fixtures ─────────────────────────────────────────────────────────────────────────────────

async fn organization(store: &dyn Store, name: &str) -> OrganizationId {
    let org = Organization {
        id: OrganizationId::new(),
        name: name.to_string(),
        created_at: NOW,
        staff_networks: Default::default(),
        mfa_required: false,
        folder_required: false,
    };
    store.create_organization(&org).await.unwrap();
    org.id
}

/// A staff user of the organization (a creator the reading predicate knows): their ID.
async fn staff_member(store: &dyn Store, org: OrganizationId) -> UserId {
    let user = User {
        id: UserId::new(),
        organization: org,
        department: None,
        name: "送信 太郎".to_string(),
        email: email(&format!("sender-{}@city.example.jp", UserId::new())),
        role: UserRole::Sender,
        password_hash: None,
        created_at: NOW,
        session_generation: 0,
        disabled_at: None,
        totp_secret: None,
        totp_last_step: None,
    };
    store.create_user(&user).await.unwrap();
    user.id
}

fn email(s: &str) -> inkan_domain::Email {
    s.parse().unwrap()
}

/// A draft with one signer and one document.
fn draft(org: OrganizationId, title: &str, deadline: i64) -> Envelope {
    let mut e = Envelope::new(org, "R7-001", title, deadline, NOW).unwrap();
    e.add_recipient(Recipient::new(
        "山田太郎",
        email("yamada@vendor.example.jp"),
        Role::Signer,
        1,
    ))
    .unwrap();
    e.add_document(1000).unwrap();
    e
}

fn sent(org: OrganizationId, title: &str, deadline: i64) -> Envelope {
    let mut e = draft(org, title, deadline);
    e.submit(NOW).unwrap();
    e
}

fn completed(org: OrganizationId, title: &str) -> Envelope {
    let mut e = sent(org, title, NOW + 1000);
    for signer in e.due() {
        e.sign(signer, NOW).unwrap();
    }
    assert_eq!(e.status().name(), "completed");
    e
}

fn record(envelope: Envelope, created_at: i64) -> EnvelopeRecord {
    EnvelopeRecord {
        envelope,
        version: 1,
        created_by: Some(UserId::new()),
        folder: None,
        sender_name: "盛岡市 財政部契約検査課".to_string(),
        sender_email: "keiyaku@city.example.jp".to_string(),
        counterparty: None,
        sealed_at: None,
        certificate: None,
        created_at,
        updated_at: created_at,
    }
}

fn insert(record: &EnvelopeRecord) -> Change {
    Change {
        envelope: Some(EnvelopeWrite {
            record: record.clone(),
            expected_version: None,
        }),
        now: NOW,
        ..Change::default()
    }
}

fn update(record: &EnvelopeRecord, expected: i64) -> Change {
    Change {
        envelope: Some(EnvelopeWrite {
            record: record.clone(),
            expected_version: Some(expected),
        }),
        now: NOW,
        ..Change::default()
    }
}

fn document(
    record: &EnvelopeRecord,
    position: u32,
    metadata: TransactionMetadata,
) -> DocumentRecord {
    let signer = record.envelope.recipients()[0].id;
    DocumentRecord {
        id: DocumentId::new(),
        envelope: record.id(),
        organization: record.organization(),
        position,
        name: format!("業務委託契約書{position}.pdf"),
        pages: 3,
        original_blob: format!("blob-{position}"),
        current_blob: format!("blob-{position}"),
        revision: 0,
        size: 123_456,
        sha256: "ab".repeat(32),
        fields: vec![Field::new(signer, FieldKind::Signature, "", true, None).unwrap()],
        signed_by: vec![],
        metadata,
        archive_until: None,
        created_at: NOW + i64::from(position),
    }
}

fn meta(
    date: Option<&str>,
    amount: Option<u64>,
    counterparty: Option<&str>,
) -> TransactionMetadata {
    TransactionMetadata {
        date: date.map(str::to_string),
        amount: amount.map(Yen),
        counterparty: counterparty.map(str::to_string),
        kind: None,
    }
}

fn attachment(record: &EnvelopeRecord) -> AttachmentRecord {
    AttachmentRecord {
        id: AttachmentId::new(),
        envelope: record.id(),
        organization: record.organization(),
        recipient: None,
        field: None,
        name: "納付書.pdf".to_string(),
        blob: "blob-attachment".to_string(),
        size: 999,
        sha256: "cd".repeat(32),
        created_at: NOW,
    }
}

fn token(record: &EnvelopeRecord, secret: &str) -> AccessToken {
    AccessToken {
        hash: TokenHash::of(secret),
        kind: TokenKind::Signer,
        organization: record.organization(),
        envelope: record.id(),
        recipient: Some(record.envelope.recipients()[0].id),
        created_at: NOW,
        expires_at: Some(NOW + 86_400),
    }
}

fn job(kind: &str, dedupe_key: Option<&str>, run_at: i64, max_attempts: u32) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: kind.to_string(),
        payload: json!({"kind": kind, "n": [1, 2, 3]}),
        organization: None,
        run_at,
        max_attempts,
        dedupe_key: dedupe_key.map(str::to_string),
        only_with_webhooks: false,
    }
}

fn jobs_change(jobs: Vec<NewJob>) -> Change {
    Change {
        jobs,
        now: NOW,
        ..Change::default()
    }
}

fn audit(org: OrganizationId, envelope: Option<EnvelopeId>, n: i64) -> NewAuditEntry {
    NewAuditEntry {
        organization: org,
        at: NOW + n,
        actor: "system".to_string(),
        action: "view".to_string(),
        envelope,
        document: None,
        ip: Some("192.0.2.1".to_string()),
        user_agent: None,
        detail: json!({"n": n, "note": "閲覧", "z": true, "a": null}),
    }
}

async fn verify(store: &dyn Store, org: OrganizationId) -> Result<(), ChainBreak> {
    verify_with(store, org, &chain_key()).await.map(|_| ())
}

async fn verify_with(
    store: &dyn Store,
    org: OrganizationId,
    key: &ChainKey,
) -> Result<ChainSummary, ChainBreak> {
    let entries = store.audit_entries(org, None).await.unwrap();
    let head = store.audit_head(org).await.unwrap();
    verify_chain(key, &entries, head.as_ref().map(|(s, h)| (*s, h.as_str())))
}

async fn count_jobs(store: &dyn Store) -> usize {
    store
        .jobs(&JobFilter {
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len()
}

// ── Organizations, users, keys, counterparties ───────────────────────────────────────────────

async fn organizations_users_and_keys(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "花巻市").await;
    assert_eq!(s.organization(org).await.unwrap().unwrap().name, "盛岡市");
    assert!(s
        .organization(OrganizationId::new())
        .await
        .unwrap()
        .is_none());

    // IP制限: kept per organization, replaced whole, canonical.
    let networks: inkan_domain::StaffNetworks = "203.0.113.77/24\n2001:db8::/32".parse().unwrap();
    assert!(s.set_staff_networks(org, &networks).await.unwrap());
    let stored = s.organization(org).await.unwrap().unwrap().staff_networks;
    assert_eq!(stored.to_string(), "203.0.113.0/24\n2001:db8::/32");
    assert!(s
        .organization(other)
        .await
        .unwrap()
        .unwrap()
        .staff_networks
        .is_unrestricted());
    assert!(!s
        .set_staff_networks(OrganizationId::new(), &networks)
        .await
        .unwrap());
    assert!(s
        .set_staff_networks(org, &Default::default())
        .await
        .unwrap());
    assert!(s
        .organization(org)
        .await
        .unwrap()
        .unwrap()
        .staff_networks
        .is_unrestricted());

    let dept = Department {
        id: inkan_domain::DepartmentId::new(),
        organization: org,
        name: "財政部契約検査課".to_string(),
    };
    s.create_department(&dept).await.unwrap();
    assert_eq!(s.departments(org).await.unwrap(), vec![dept.clone()]);
    assert!(s.departments(other).await.unwrap().is_empty());

    let user = User {
        id: UserId::new(),
        organization: org,
        department: Some(dept.id),
        name: "契約 花子".to_string(),
        email: email("Hanako.Keiyaku@City.Example.JP"),
        role: UserRole::Admin,
        password_hash: Some("$argon2id$v=19$…".to_string()),
        created_at: NOW,
        session_generation: 0,
        disabled_at: None,
        totp_secret: None,
        totp_last_step: None,
    };
    s.create_user(&user).await.unwrap();
    assert_eq!(s.user(org, user.id).await.unwrap().unwrap(), user);
    assert!(s.user(other, user.id).await.unwrap().is_none());
    assert_eq!(
        s.user_by_email("hanako.keiyaku@city.example.jp")
            .await
            .unwrap()
            .unwrap()
            .id,
        user.id
    );
    assert!(s
        .user_by_email("nobody@example.jp")
        .await
        .unwrap()
        .is_none());
    // 多要素認証: a sealed secret with its recovery codes; each step accepted once, in order;
    // each recovery code used once; removal takes the codes too; another organization's
    // credentials reach nothing.
    assert!(s.set_mfa_required(org, true).await.unwrap());
    assert!(s.organization(org).await.unwrap().unwrap().mfa_required);
    assert!(!s.organization(other).await.unwrap().unwrap().mfa_required);
    assert!(
        !s.accept_totp_step(org, user.id, 100).await.unwrap(),
        "no secret yet"
    );
    let codes = [TokenHash::of("aaaa-bbbb"), TokenHash::of("cccc-dddd")];
    assert!(!s
        .set_totp(other, user.id, Some("enc1:x"), &codes)
        .await
        .unwrap());
    assert!(s
        .set_totp(org, user.id, Some("enc1:x"), &codes)
        .await
        .unwrap());
    let enrolled = s.user(org, user.id).await.unwrap().unwrap();
    assert_eq!(enrolled.totp_secret.as_deref(), Some("enc1:x"));
    assert_eq!(s.recovery_codes_left(user.id).await.unwrap(), 2);
    assert!(!s.accept_totp_step(other, user.id, 100).await.unwrap());
    assert!(s.accept_totp_step(org, user.id, 100).await.unwrap());
    assert!(
        !s.accept_totp_step(org, user.id, 100).await.unwrap(),
        "a code is accepted once"
    );
    assert!(
        !s.accept_totp_step(org, user.id, 99).await.unwrap(),
        "nor an older one"
    );
    assert!(s.accept_totp_step(org, user.id, 101).await.unwrap());
    assert_eq!(
        s.user(org, user.id).await.unwrap().unwrap().totp_last_step,
        Some(101)
    );
    assert!(s.use_recovery_code(user.id, &codes[0], NOW).await.unwrap());
    assert!(!s.use_recovery_code(user.id, &codes[0], NOW).await.unwrap());
    assert!(!s
        .use_recovery_code(user.id, &TokenHash::of("eeee-ffff"), NOW)
        .await
        .unwrap());
    assert_eq!(s.recovery_codes_left(user.id).await.unwrap(), 1);
    // Enrolling again: fresh codes, and the step count starts over with the new secret.
    assert!(s
        .set_totp(org, user.id, Some("enc1:y"), &codes[1..])
        .await
        .unwrap());
    assert_eq!(s.recovery_codes_left(user.id).await.unwrap(), 1);
    assert!(s.accept_totp_step(org, user.id, 50).await.unwrap());
    assert!(s.set_totp(org, user.id, None, &[]).await.unwrap());
    let removed = s.user(org, user.id).await.unwrap().unwrap();
    assert_eq!((removed.totp_secret, removed.totp_last_step), (None, None));
    assert_eq!(s.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(!s.use_recovery_code(user.id, &codes[1], NOW).await.unwrap());
    assert!(s.set_mfa_required(org, false).await.unwrap());

    // The same email (in another case, in another organization) is a duplicate.
    let twin = User {
        id: UserId::new(),
        organization: other,
        department: None,
        email: email("hanako.keiyaku@city.example.jp"),
        role: UserRole::Sender,
        password_hash: None,
        ..user.clone()
    };
    assert!(matches!(
        s.create_user(&twin).await,
        Err(StoreError::Duplicate(_))
    ));

    let key = ApiKey {
        id: inkan_domain::ApiKeyId::new(),
        organization: org,
        name: "財務会計システム".to_string(),
        hash: TokenHash::of("ink_live_secret"),
        created_at: NOW,
        revoked_at: None,
        scope: ApiKeyScope::Send,
        owner: Some(user.id),
    };
    s.create_api_key(&key).await.unwrap();
    assert_eq!(s.api_key_by_hash(&key.hash).await.unwrap().unwrap(), key);
    assert!(s
        .api_key_by_hash(&TokenHash::of("other"))
        .await
        .unwrap()
        .is_none());
    let revoked = ApiKey {
        id: inkan_domain::ApiKeyId::new(),
        hash: TokenHash::of("ink_live_old"),
        revoked_at: Some(NOW),
        ..key.clone()
    };
    s.create_api_key(&revoked).await.unwrap();
    assert!(s.api_key_by_hash(&revoked.hash).await.unwrap().is_none());
    let same_hash = ApiKey {
        id: inkan_domain::ApiKeyId::new(),
        ..key.clone()
    };
    assert!(matches!(
        s.create_api_key(&same_hash).await,
        Err(StoreError::Duplicate(_))
    ));
    // Listed with their scopes, revoked once, never across organizations.
    let listed = s.api_keys(org).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed.iter().find(|k| k.id == key.id).unwrap().scope,
        ApiKeyScope::Send
    );
    assert!(s.api_keys(other).await.unwrap().is_empty());
    assert!(!s.revoke_api_key(other, key.id, NOW + 1).await.unwrap());
    assert!(s.revoke_api_key(org, key.id, NOW + 1).await.unwrap());
    assert!(
        !s.revoke_api_key(org, key.id, NOW + 2).await.unwrap(),
        "once"
    );
    assert!(s.api_key_by_hash(&key.hash).await.unwrap().is_none());

    // Ending sessions moves the generation; a new password and disabling do too.
    let end = |change| s.end_sessions(org, user.id, change, NOW + 5);
    assert!(end(UserChange::EndSessions).await.unwrap());
    assert!(end(UserChange::Password(Some("$argon2id$new".into())))
        .await
        .unwrap());
    let changed = s.user(org, user.id).await.unwrap().unwrap();
    assert_eq!(changed.session_generation, 2);
    assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(changed.disabled_at, None);
    assert!(end(UserChange::Disable).await.unwrap());
    let disabled = s.user(org, user.id).await.unwrap().unwrap();
    assert_eq!(
        (disabled.session_generation, disabled.disabled_at),
        (3, Some(NOW + 5))
    );
    assert_eq!(disabled.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(!s
        .end_sessions(other, user.id, UserChange::EndSessions, NOW)
        .await
        .unwrap());

    let hook = Webhook {
        id: inkan_domain::WebhookId::new(),
        organization: org,
        url: "https://erp.example.jp/inkan".to_string(),
        secret: "whsec".to_string(),
        created_at: NOW,
    };
    s.create_webhook(&hook).await.unwrap();
    assert_eq!(s.webhooks(org).await.unwrap(), vec![hook]);
    assert!(s.webhooks(other).await.unwrap().is_empty());
}

fn counterparty(org: OrganizationId, name: &str) -> Counterparty {
    Counterparty {
        id: inkan_domain::CounterpartyId::new(),
        organization: org,
        address: "岩手県盛岡市内丸12-2".to_string(),
        trade_name: name.to_string(),
        representative: "代表取締役 山田太郎".to_string(),
        signatory_title: "代表取締役".to_string(),
        signatory_name: "山田太郎".to_string(),
        signatory_email: email("yamada@vendor.example.jp"),
        clerk_department: "総務部".to_string(),
        clerk_title: "主任".to_string(),
        clerk_name: "佐藤次郎".to_string(),
        clerk_phone: "019-000-0000".to_string(),
        clerk_email: Some(email("sato@vendor.example.jp")),
        notified_on: inkan_domain::CalendarDate::new(2026, 4, 1),
        created_at: NOW,
    }
}

async fn counterparties_upsert_and_isolation(ctx: Ctx) {
    let s = &*ctx.store;
    let a = organization(s, "A市").await;
    let b = organization(s, "B市").await;
    let mut c = counterparty(a, "株式会社いわて");
    s.save_counterparty(&c).await.unwrap();
    assert_eq!(s.counterparty(a, c.id).await.unwrap().unwrap(), c);
    c.trade_name = "株式会社いわて建設".to_string();
    c.clerk_email = None;
    c.notified_on = inkan_domain::CalendarDate::new(2026, 12, 3);
    s.save_counterparty(&c).await.unwrap();
    assert_eq!(
        s.counterparty(a, c.id).await.unwrap().unwrap().notified_on,
        inkan_domain::CalendarDate::new(2026, 12, 3)
    );
    c.notified_on = None;
    s.save_counterparty(&c).await.unwrap();
    assert_eq!(s.counterparty(a, c.id).await.unwrap().unwrap(), c);
    let c2 = counterparty(a, "あおば商事");
    s.save_counterparty(&c2).await.unwrap();
    assert_eq!(s.counterparties(a).await.unwrap(), vec![c2, c.clone()]);

    // Another organization neither sees it nor can overwrite it through its ID.
    assert!(s.counterparty(b, c.id).await.unwrap().is_none());
    assert!(s.counterparties(b).await.unwrap().is_empty());
    let hijack = Counterparty {
        organization: b,
        trade_name: "乗っ取り".to_string(),
        ..c.clone()
    };
    assert!(matches!(
        s.save_counterparty(&hijack).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.counterparty(a, c.id).await.unwrap().unwrap(), c);
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

async fn apply_writes_a_change_whole(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let rec = record(sent(org, "業務委託契約", NOW + 1000), NOW);
    let d1 = document(
        &rec,
        1,
        meta(Some("2025-04-01"), Some(1_100_000), Some("株式会社いわて")),
    );
    let d2 = document(&rec, 2, TransactionMetadata::default());
    let att = attachment(&rec);
    let tok = token(&rec, "signer-link-secret");
    let mut change = insert(&rec);
    change.documents = vec![d2.clone(), d1.clone()];
    change.attachments = vec![att.clone()];
    change.tokens = vec![tok.clone()];
    change.jobs = vec![
        job("email", Some("email:1"), NOW, 5),
        job("seal", None, NOW, 5),
    ];
    change.audit = vec![audit(org, Some(rec.id()), 1), audit(org, Some(rec.id()), 2)];
    s.apply(change).await.unwrap();

    assert_eq!(s.envelope(org, rec.id()).await.unwrap().unwrap(), rec);
    assert_eq!(
        s.documents(org, rec.id()).await.unwrap(),
        vec![d1.clone(), d2]
    );
    assert_eq!(s.document(org, d1.id).await.unwrap().unwrap(), d1);
    assert_eq!(s.attachments(org, rec.id()).await.unwrap(), vec![att]);
    assert_eq!(s.token(&tok.hash).await.unwrap().unwrap(), tok);
    assert!(s.token(&TokenHash::of("guess")).await.unwrap().is_none());
    let jobs = s.jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs
        .iter()
        .all(|j| j.status == JobStatus::Queued && j.attempts == 0));
    assert_eq!(
        jobs[0].payload,
        json!({"kind": jobs[0].kind, "n": [1, 2, 3]})
    );
    assert_eq!(
        s.jobs(&JobFilter {
            kind: Some("seal".into()),
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    let entries = s.audit_entries(org, Some(rec.id())).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(entries[1].entry, audit(org, Some(rec.id()), 2));

    // Inserting it again is a duplicate, and nothing of that change is written.
    let mut again = insert(&rec);
    again.jobs = vec![job("email", None, NOW, 5)];
    again.audit = vec![audit(org, None, 3)];
    assert!(matches!(
        s.apply(again).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(count_jobs(s).await, 2);
    assert_eq!(s.audit_head(org).await.unwrap().unwrap().0, 2);

    // An update bumps the version and replaces the document by ID.
    let mut next = rec.clone();
    next.sealed_at = Some(NOW + 5);
    next.updated_at = NOW + 5;
    let mut d1b = d1.clone();
    d1b.revision = 1;
    d1b.current_blob = "blob-1-rev1".to_string();
    d1b.signed_by = vec![rec.envelope.recipients()[0].id];
    let mut change = update(&next, 1);
    change.documents = vec![d1b.clone()];
    s.apply(change).await.unwrap();
    let stored = s.envelope(org, rec.id()).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.sealed_at, Some(NOW + 5));
    assert_eq!(s.document(org, d1.id).await.unwrap().unwrap(), d1b);
    assert_eq!(s.documents(org, rec.id()).await.unwrap().len(), 2);

    // Updating an envelope that does not exist is not found.
    let ghost = record(sent(org, "幽霊", NOW + 1000), NOW);
    assert!(matches!(
        s.apply(update(&ghost, 1)).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn stale_version_is_a_conflict_and_writes_nothing(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let rec = record(sent(org, "業務委託契約", NOW + 1000), NOW);
    let doc = document(&rec, 1, meta(Some("2025-04-01"), Some(1), Some("x")));
    let mut change = insert(&rec);
    change.documents = vec![doc.clone()];
    change.audit = vec![audit(org, Some(rec.id()), 1)];
    s.apply(change).await.unwrap();
    s.apply(update(&rec, 1)).await.unwrap(); // now version 2

    let mut stale_doc = doc.clone();
    stale_doc.name = "書き換え.pdf".to_string();
    let mut stale = update(&rec, 1);
    stale.documents = vec![stale_doc, document(&rec, 2, TransactionMetadata::default())];
    stale.attachments = vec![attachment(&rec)];
    stale.tokens = vec![token(&rec, "stale")];
    stale.jobs = vec![job("email", Some("k"), NOW, 3)];
    stale.audit = vec![audit(org, Some(rec.id()), 2)];
    assert!(matches!(s.apply(stale).await, Err(StoreError::Conflict)));

    assert_eq!(s.envelope(org, rec.id()).await.unwrap().unwrap().version, 2);
    assert_eq!(s.documents(org, rec.id()).await.unwrap(), vec![doc]);
    assert!(s.attachments(org, rec.id()).await.unwrap().is_empty());
    assert!(s.token(&TokenHash::of("stale")).await.unwrap().is_none());
    assert_eq!(count_jobs(s).await, 0);
    assert_eq!(s.audit_entries(org, None).await.unwrap().len(), 1);
    assert_eq!(s.audit_head(org).await.unwrap().unwrap().0, 1);
    verify(s, org).await.unwrap();

    // An envelope cannot be updated under another organization's ID.
    let other = organization(s, "花巻市").await;
    let mut moved = rec.clone();
    moved.envelope = serde_json::from_value({
        let mut v = serde_json::to_value(&rec.envelope).unwrap();
        v["organization"] = json!(other.to_string());
        v
    })
    .unwrap();
    assert!(matches!(
        s.apply(update(&moved, 2)).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.envelope(org, rec.id()).await.unwrap().unwrap().version, 2);
}

async fn concurrent_updates_of_one_envelope_conflict(ctx: Ctx) {
    let s = ctx.store.clone();
    let org = organization(&*s, "盛岡市").await;
    let rec = record(sent(org, "業務委託契約", NOW + 1000), NOW);
    s.apply(insert(&rec)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        let rec = rec.clone();
        tasks.push(tokio::spawn(async move {
            let mut change = update(&rec, 1);
            change.audit = vec![audit(org, Some(rec.id()), i)];
            change.jobs = vec![job("email", None, NOW, 3)];
            s.apply(change).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(s.envelope(org, rec.id()).await.unwrap().unwrap().version, 2);
    assert_eq!(count_jobs(&*s).await, 1);
    assert_eq!(s.audit_entries(org, None).await.unwrap().len(), 1);
}

async fn documents_must_belong_to_the_change(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "花巻市").await;
    let a = record(draft(org, "A", NOW + 1000), NOW);
    let b = record(draft(org, "B", NOW + 1000), NOW);
    s.apply(insert(&a)).await.unwrap();
    s.apply(insert(&b)).await.unwrap();

    // A document of envelope B inside a change of envelope A.
    let mut change = update(&a, 1);
    change.documents = vec![document(&b, 1, TransactionMetadata::default())];
    change.jobs = vec![job("email", None, NOW, 3)];
    assert!(matches!(
        s.apply(change).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.envelope(org, a.id()).await.unwrap().unwrap().version, 1);
    assert_eq!(count_jobs(s).await, 0);

    // Without an envelope in the change: accepted when the envelope exists in that organization.
    let doc = document(&a, 1, TransactionMetadata::default());
    s.apply(Change {
        documents: vec![doc.clone()],
        attachments: vec![attachment(&a)],
        tokens: vec![token(&a, "t")],
        now: NOW,
        ..Change::default()
    })
    .await
    .unwrap();
    assert_eq!(s.documents(org, a.id()).await.unwrap(), vec![doc.clone()]);
    // … refused when it names another organization or an unknown envelope.
    let mut foreign = document(&a, 2, TransactionMetadata::default());
    foreign.organization = other;
    let unknown = document(
        &record(draft(org, "X", NOW + 1000), NOW),
        1,
        TransactionMetadata::default(),
    );
    for bad in [foreign, unknown] {
        let result = s
            .apply(Change {
                documents: vec![bad],
                now: NOW,
                ..Change::default()
            })
            .await;
        assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    }
    // A document ID cannot move to another envelope.
    let mut moved = doc.clone();
    moved.envelope = b.id();
    let mut change = update(&b, 1);
    change.documents = vec![moved];
    assert!(matches!(
        s.apply(change).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.document(org, doc.id).await.unwrap().unwrap(), doc);
    assert!(s.documents(org, b.id()).await.unwrap().is_empty());

    // finish_job of a job that does not exist fails the whole change.
    let mut change = update(&a, 1);
    change.finish_job = Some(JobId::new());
    assert!(matches!(
        s.apply(change).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.envelope(org, a.id()).await.unwrap().unwrap().version, 1);
}

async fn tenants_are_isolated(ctx: Ctx) {
    let s = &*ctx.store;
    let a = organization(s, "A市").await;
    let b = organization(s, "B市").await;
    let rec = record(sent(a, "A市の契約", NOW + 1000), NOW);
    let doc = document(
        &rec,
        1,
        meta(Some("2025-04-01"), Some(100), Some("株式会社いわて")),
    );
    let mut change = insert(&rec);
    change.documents = vec![doc.clone()];
    change.attachments = vec![attachment(&rec)];
    change.audit = vec![audit(a, Some(rec.id()), 1)];
    s.apply(change).await.unwrap();
    s.save_counterparty(&counterparty(a, "株式会社いわて"))
        .await
        .unwrap();

    assert!(s.envelope(b, rec.id()).await.unwrap().is_none());
    assert!(s.envelopes(b, &every_envelope()).await.unwrap().is_empty());
    assert!(s.documents(b, rec.id()).await.unwrap().is_empty());
    assert!(s.document(b, doc.id).await.unwrap().is_none());
    assert!(s.attachments(b, rec.id()).await.unwrap().is_empty());
    assert!(s.counterparties(b).await.unwrap().is_empty());
    assert!(s
        .search_documents(b, &every_document())
        .await
        .unwrap()
        .is_empty());
    assert!(s.audit_entries(b, None).await.unwrap().is_empty());
    assert!(s.audit_entries(b, Some(rec.id())).await.unwrap().is_empty());
    assert!(s.audit_head(b).await.unwrap().is_none());
    // A's own view is intact.
    assert_eq!(
        s.search_documents(a, &every_document())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.audited_organizations().await.unwrap(), vec![a]);
}

async fn envelopes_newest_first_filtered_and_paged(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let sender = staff_member(s, org).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = if i % 2 == 0 {
            sent(org, &format!("契約{i}"), NOW + 1000)
        } else {
            draft(org, &format!("契約{i}"), NOW + 1000)
        };
        let mut rec = record(e, NOW + i);
        // Envelopes 1 and 3 are one sender's.
        if i % 2 == 1 {
            rec.created_by = Some(sender);
        }
        s.apply(insert(&rec)).await.unwrap();
        ids.push(rec.id());
    }
    let list = |status: Option<StatusKind>, limit, offset| EnvelopeFilter {
        status,
        limit,
        offset,
        ..every_envelope()
    };
    let own: Vec<_> = s
        .envelopes(
            org,
            &EnvelopeFilter {
                reach: Reach::granted(sender, false),
                ..list(None, 0, 0)
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(own, vec![ids[3], ids[1]], "a sender's own, newest first");
    let got: Vec<_> = s
        .envelopes(org, &list(None, 0, 0))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(got, ids.iter().rev().copied().collect::<Vec<_>>());
    let page: Vec<_> = s
        .envelopes(org, &list(None, 2, 1))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(page, vec![ids[3], ids[2]]);
    let sent_ids: Vec<_> = s
        .envelopes(org, &list(Some(StatusKind::Sent), 0, 0))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(sent_ids, vec![ids[4], ids[2], ids[0]]);
    assert!(s
        .envelopes(org, &list(Some(StatusKind::Completed), 0, 0))
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .envelopes(org, &list(None, 10, 5))
        .await
        .unwrap()
        .is_empty());
}

async fn envelopes_past_deadline(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "花巻市").await;
    let deadline = NOW + 100;
    let due_sent = record(sent(org, "送信済み", deadline), NOW);
    let due_other = record(sent(other, "他市", deadline - 50), NOW);
    let mut approval = draft(org, "承認待ち", deadline);
    approval
        .add_recipient(Recipient::new(
            "課長",
            email("kacho@city.example.jp"),
            Role::Approver,
            0,
        ))
        .unwrap();
    approval.submit(NOW).unwrap();
    assert_eq!(approval.status().name(), "awaiting_approval");
    let due_approval = record(approval, NOW);
    let mut partial = draft(org, "署名中", deadline);
    partial
        .add_recipient(Recipient::new(
            "市長",
            email("mayor@city.example.jp"),
            Role::Signer,
            2,
        ))
        .unwrap();
    partial.submit(NOW).unwrap();
    let first = partial.due()[0];
    partial.sign(first, NOW).unwrap();
    assert_eq!(partial.status().name(), "partially_signed");
    let due_partial = record(partial, NOW);
    let later = record(sent(org, "まだ", deadline + 1), NOW);
    let draft_rec = record(draft(org, "下書き", deadline), NOW);
    let done = record(completed(org, "締結済み"), NOW);
    let mut c = sent(org, "取消", deadline);
    c.cancel("誤送信").unwrap();
    let cancelled = record(c, NOW);
    for r in [
        &due_sent,
        &due_other,
        &due_approval,
        &due_partial,
        &later,
        &draft_rec,
        &done,
        &cancelled,
    ] {
        s.apply(insert(r)).await.unwrap();
    }
    let found: HashSet<_> = s
        .envelopes_past_deadline(deadline, 0)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: HashSet<_> = [&due_sent, &due_other, &due_approval, &due_partial]
        .iter()
        .map(|r| (r.organization(), r.id()))
        .collect();
    assert_eq!(found, expected);
    // Earliest deadline first, and the limit holds.
    assert_eq!(
        s.envelopes_past_deadline(deadline, 1).await.unwrap(),
        vec![(other, due_other.id())]
    );
    assert!(s
        .envelopes_past_deadline(deadline - 51, 0)
        .await
        .unwrap()
        .is_empty());
}

async fn search_by_each_criterion_and_combined(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let done = record(completed(org, "締結済みの契約"), NOW);
    let mut open = record(sent(org, "署名待ちの契約", NOW + 1000), NOW);
    open.created_by = Some(staff_member(s, org).await);
    let d_april = document(
        &done,
        1,
        meta(
            Some("2025-04-01"),
            Some(1_000_000),
            Some("株式会社いわて建設"),
        ),
    );
    let d_may = document(
        &done,
        2,
        meta(
            Some("2025-05-15"),
            Some(2_500_000),
            Some("Iwate 100% Partners"),
        ),
    );
    let d_june = document(
        &open,
        1,
        meta(Some("2025-06-30"), Some(500_000), Some("あおば_商事")),
    );
    let d_none = document(&open, 2, TransactionMetadata::default());
    for (rec, docs) in [
        (&done, vec![d_april.clone(), d_may.clone()]),
        (&open, vec![d_june.clone(), d_none.clone()]),
    ] {
        let mut change = insert(rec);
        change.documents = docs;
        s.apply(change).await.unwrap();
    }
    let ids = |hits: Vec<DocumentHit>| hits.into_iter().map(|h| h.document.id).collect::<Vec<_>>();
    let search = |q: DocumentQuery| async move { ids(s.search_documents(org, &q).await.unwrap()) };
    let q = every_document;

    // Nothing given: everything, by date, undated last.
    assert_eq!(
        search(q()).await,
        vec![d_april.id, d_may.id, d_june.id, d_none.id]
    );
    // Read page by page, each page continuing after the last hit of the one before (as the
    // CSV export reads): the same hits in the same order, across the undated ones too.
    for size in [1, 2, 3] {
        let mut paged = Vec::new();
        let mut query = DocumentQuery { limit: size, ..q() };
        loop {
            let page = s.search_documents(org, &query).await.unwrap();
            assert!(page.len() <= size as usize);
            let Some(last) = page.last() else { break };
            paged.extend(page.iter().map(|h| h.document.id));
            query.after = Some(SearchCursor::after(last));
        }
        assert_eq!(
            paged,
            vec![d_april.id, d_may.id, d_june.id, d_none.id],
            "pages of {size}"
        );
    }
    // One creator's envelopes only (a sender reads what they sent).
    assert_eq!(
        search(DocumentQuery {
            reach: Reach::granted(open.created_by.unwrap(), false),
            ..q()
        })
        .await,
        vec![d_june.id, d_none.id]
    );
    // Dates, inclusive at both ends.
    assert_eq!(
        search(DocumentQuery {
            date_from: Some("2025-04-01".into()),
            date_to: Some("2025-05-15".into()),
            ..q()
        })
        .await,
        vec![d_april.id, d_may.id]
    );
    assert_eq!(
        search(DocumentQuery {
            date_from: Some("2025-04-02".into()),
            ..q()
        })
        .await,
        vec![d_may.id, d_june.id]
    );
    assert_eq!(
        search(DocumentQuery {
            date_to: Some("2025-04-01".into()),
            ..q()
        })
        .await,
        vec![d_april.id]
    );
    // Amounts, inclusive.
    assert_eq!(
        search(DocumentQuery {
            amount_min: Some(Yen(1_000_000)),
            amount_max: Some(Yen(2_500_000)),
            ..q()
        })
        .await,
        vec![d_april.id, d_may.id]
    );
    assert_eq!(
        search(DocumentQuery {
            amount_max: Some(Yen(999_999)),
            ..q()
        })
        .await,
        vec![d_june.id]
    );
    assert_eq!(
        search(DocumentQuery {
            amount_min: Some(Yen(u64::MAX)),
            ..q()
        })
        .await,
        vec![]
    );
    // Counterparty: a part of the name, ASCII case ignored, wildcards taken literally.
    assert_eq!(
        search(DocumentQuery {
            counterparty: Some("いわて".into()),
            ..q()
        })
        .await,
        vec![d_april.id]
    );
    assert_eq!(
        search(DocumentQuery {
            counterparty: Some("iwate".into()),
            ..q()
        })
        .await,
        vec![d_may.id]
    );
    assert_eq!(
        search(DocumentQuery {
            counterparty: Some("100%".into()),
            ..q()
        })
        .await,
        vec![d_may.id]
    );
    assert_eq!(
        search(DocumentQuery {
            counterparty: Some("%".into()),
            ..q()
        })
        .await,
        vec![d_may.id]
    );
    assert_eq!(
        search(DocumentQuery {
            counterparty: Some("_".into()),
            ..q()
        })
        .await,
        vec![d_june.id]
    );
    assert_eq!(
        search(DocumentQuery {
            counterparty: Some("存在しない".into()),
            ..q()
        })
        .await,
        vec![]
    );
    // Completed envelopes only.
    assert_eq!(
        search(DocumentQuery {
            completed_only: true,
            ..q()
        })
        .await,
        vec![d_april.id, d_may.id]
    );
    // Combined: AND.
    assert_eq!(
        search(DocumentQuery {
            date_from: Some("2025-04-01".into()),
            amount_min: Some(Yen(600_000)),
            counterparty: Some("partners".into()),
            completed_only: true,
            ..q()
        })
        .await,
        vec![d_may.id]
    );
    assert_eq!(
        search(DocumentQuery {
            date_from: Some("2025-06-01".into()),
            completed_only: true,
            ..q()
        })
        .await,
        vec![]
    );
    assert_eq!(
        search(DocumentQuery { limit: 2, ..q() }).await,
        vec![d_april.id, d_may.id]
    );
    // A hit carries its envelope's title, number and status.
    let hit = &s
        .search_documents(
            org,
            &DocumentQuery {
                date_to: Some("2025-04-01".into()),
                ..q()
            },
        )
        .await
        .unwrap()[0];
    assert_eq!(hit.document, d_april);
    assert_eq!(hit.envelope_title, "締結済みの契約");
    assert_eq!(hit.envelope_number, "R7-001");
    assert_eq!(hit.envelope_status, StatusKind::Completed);
}

async fn corrupt_values_are_errors_not_panics(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let rec = record(sent(org, "契約", NOW + 1000), NOW);
    let doc = document(&rec, 1, TransactionMetadata::default());
    let mut change = insert(&rec);
    change.documents = vec![doc.clone()];
    s.apply(change).await.unwrap();
    ctx.raw
        .exec(&format!(
            "UPDATE documents SET size = -1 WHERE id = '{}'",
            doc.id
        ))
        .await;
    assert!(matches!(
        s.document(org, doc.id).await,
        Err(StoreError::Corrupt(_))
    ));
    ctx.raw
        .exec(&format!(
            "UPDATE documents SET size = 1, pages = 5000000000 WHERE id = '{}'",
            doc.id
        ))
        .await;
    assert!(matches!(
        s.document(org, doc.id).await,
        Err(StoreError::Corrupt(_))
    ));
    ctx.raw
        .exec(&format!(
            "UPDATE envelopes SET data = '{{\"id\": 1}}' WHERE id = '{}'",
            rec.id()
        ))
        .await;
    assert!(matches!(
        s.envelope(org, rec.id()).await,
        Err(StoreError::Corrupt(_))
    ));

    // An amount that does not fit a signed 64-bit column is refused, with nothing written.
    let mut huge = document(&rec, 2, meta(None, Some(u64::MAX), None));
    huge.id = DocumentId::new();
    let result = s
        .apply(Change {
            documents: vec![huge],
            jobs: vec![job("x", None, NOW, 1)],
            now: NOW,
            ..Change::default()
        })
        .await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    assert_eq!(count_jobs(s).await, 0);
}

// ── Jobs ─────────────────────────────────────────────────────────────────────────────────────

/// A job marked `only_with_webhooks` (an envelope event) is added only when its organization
/// has a webhook: another organization's webhook does not count.
async fn event_jobs_are_added_only_with_a_webhook(ctx: Ctx) {
    let s = &*ctx.store;
    let (org, other) = (
        organization(s, "盛岡市").await,
        organization(s, "花巻市").await,
    );
    let event = |org| NewJob {
        organization: Some(org),
        only_with_webhooks: true,
        ..job("event", None, NOW, 5)
    };
    s.apply(jobs_change(vec![event(org), job("email", None, NOW, 3)]))
        .await
        .unwrap();
    assert_eq!(count_jobs(s).await, 1, "no webhook: the email only");
    s.create_webhook(&Webhook {
        id: inkan_domain::WebhookId::new(),
        organization: other,
        url: "https://erp.example.jp/inkan".to_string(),
        secret: "whsec".to_string(),
        created_at: NOW,
    })
    .await
    .unwrap();
    s.apply(jobs_change(vec![event(org)])).await.unwrap();
    assert_eq!(count_jobs(s).await, 1, "another organization's webhook");
    let added = event(other);
    s.apply(jobs_change(vec![added.clone()])).await.unwrap();
    assert_eq!(count_jobs(s).await, 2);
    assert_eq!(s.job(added.id).await.unwrap().unwrap().kind, "event");
}

async fn job_dedupe(ctx: Ctx) {
    let s = &*ctx.store;
    let first = job("seal", Some("seal:env1"), NOW, 3);
    s.apply(jobs_change(vec![
        first.clone(),
        job("seal", Some("seal:env1"), NOW, 3),
    ]))
    .await
    .unwrap();
    s.apply(jobs_change(vec![job("seal", Some("seal:env1"), NOW, 3)]))
        .await
        .unwrap();
    assert_eq!(count_jobs(s).await, 1);
    // A different key, and no key at all, are separate jobs.
    s.apply(jobs_change(vec![
        job("seal", Some("seal:env2"), NOW, 3),
        job("email", None, NOW, 3),
        job("email", None, NOW, 3),
    ]))
    .await
    .unwrap();
    assert_eq!(count_jobs(s).await, 4);
    // The same job ID twice is a duplicate, not silently skipped.
    let mut same_id = job("seal", Some("other"), NOW, 3);
    same_id.id = first.id;
    assert!(matches!(
        s.apply(jobs_change(vec![same_id])).await,
        Err(StoreError::Duplicate(_))
    ));

    // Once the first is running, a new one with its key is added (the running one may have read
    // the state before the change that asks again).
    let claimed = s.claim_jobs("w1", NOW, 60, 10).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let second = job("seal", Some("seal:env1"), NOW + 1, 3);
    s.apply(jobs_change(vec![second.clone()])).await.unwrap();
    assert_eq!(
        s.job(second.id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    // Finishing through a change.
    s.apply(Change {
        finish_job: Some(first.id),
        now: NOW + 2,
        ..Change::default()
    })
    .await
    .unwrap();
    let done = s.job(first.id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.updated_at, NOW + 2);
    let queued = s
        .jobs(&JobFilter {
            status: Some(JobStatus::Queued),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert!(matches!(
        s.finish_job(JobId::new(), NOW).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn claim_respects_run_at_and_leases(ctx: Ctx) {
    let s = &*ctx.store;
    let later = job("email", None, NOW + 10, 5);
    let sooner = job("email", None, NOW + 5, 5);
    s.apply(jobs_change(vec![later.clone(), sooner.clone()]))
        .await
        .unwrap();
    assert!(s.claim_jobs("w1", NOW, 30, 10).await.unwrap().is_empty());
    let got = s.claim_jobs("w1", NOW + 10, 30, 1).await.unwrap();
    assert_eq!(got.len(), 1);
    let j = &got[0];
    assert_eq!(j.id, sooner.id, "oldest run_at first");
    assert_eq!(j.status, JobStatus::Running);
    assert_eq!(j.attempts, 1);
    assert_eq!(j.locked_by.as_deref(), Some("w1"));
    assert_eq!(j.locked_until, Some(NOW + 40));
    assert_eq!(s.job(j.id).await.unwrap().unwrap(), *j);
    let got = s.claim_jobs("w1", NOW + 10, 30, 10).await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![later.id]);
    // Leased: nobody else gets them until the lease runs out (strictly after locked_until).
    assert!(s
        .claim_jobs("w2", NOW + 40, 30, 10)
        .await
        .unwrap()
        .is_empty());
    let again = s.claim_jobs("w2", NOW + 41, 30, 10).await.unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|j| j.attempts == 2
        && j.locked_by.as_deref() == Some("w2")
        && j.locked_until == Some(NOW + 71)));
    s.finish_job(sooner.id, NOW + 42).await.unwrap();
    let done = s.job(sooner.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.locked_until), (JobStatus::Done, None));
    assert!(s
        .claim_jobs("w3", NOW + 1000, 30, 10)
        .await
        .unwrap()
        .iter()
        .all(|j| j.id == later.id));
}

/// A queued job is not claimed while a job of the same dedupe key runs under a live lease (both
/// would do the same work); it is once that one ends, or once its lease runs out. Other keys
/// are claimed meanwhile.
async fn a_job_waits_while_its_twin_runs(ctx: Ctx) {
    let s = &*ctx.store;
    let first = job("seal", Some("seal:e1"), NOW, 5);
    s.apply(jobs_change(vec![first.clone()])).await.unwrap();
    let got = s.claim_jobs("w1", NOW, 30, 10).await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![first.id]);
    let twin = job("seal", Some("seal:e1"), NOW, 5);
    let other = job("seal", Some("seal:e2"), NOW, 5);
    let plain = job("email", None, NOW, 5);
    s.apply(jobs_change(vec![
        twin.clone(),
        other.clone(),
        plain.clone(),
    ]))
    .await
    .unwrap();
    let mut got: Vec<JobId> = s
        .claim_jobs("w2", NOW + 1, 30, 10)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    got.sort();
    let mut expected = vec![other.id, plain.id];
    expected.sort();
    assert_eq!(got, expected, "the twin waits");
    s.finish_job(first.id, NOW + 2).await.unwrap();
    let got = s.claim_jobs("w2", NOW + 2, 30, 10).await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![twin.id]);
    for done in [&twin, &other, &plain] {
        s.finish_job(done.id, NOW + 2).await.unwrap();
    }

    // A twin whose worker died (its lease ran out) holds nobody back.
    let stuck = job("seal", Some("seal:e3"), NOW, 5);
    s.apply(jobs_change(vec![stuck.clone()])).await.unwrap();
    assert_eq!(s.claim_jobs("w3", NOW + 3, 30, 10).await.unwrap().len(), 1);
    let waiting = job("seal", Some("seal:e3"), NOW, 5);
    s.apply(jobs_change(vec![waiting.clone()])).await.unwrap();
    assert!(s
        .claim_jobs("w4", NOW + 33, 30, 10)
        .await
        .unwrap()
        .is_empty());
    let got: Vec<JobId> = s
        .claim_jobs("w4", NOW + 34, 30, 10)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert!(
        got.contains(&waiting.id) && got.contains(&stuck.id),
        "{got:?}"
    );
}

/// Failures are counted per key in a window; the one that reaches the limit locks the key, once;
/// the lock ends; other keys and scopes are untouched.
async fn failed_attempts_lock_a_key_for_a_while(ctx: Ctx) {
    let s = &*ctx.store;
    let limit = AttemptLimit {
        failures: 3,
        window: 3600,
        lock: 600,
    };
    let count = |key: &'static str, at: i64| async move {
        s.count_failure("code-email", key, limit, at).await.unwrap()
    };
    assert_eq!(count("a@example.jp", NOW).await.failures, 1);
    assert_eq!(count("a@example.jp", NOW + 1).await.locked_until, None);
    let third = count("a@example.jp", NOW + 2).await;
    assert_eq!(
        (third.failures, third.locked_until, third.newly_locked),
        (3, Some(NOW + 602), true)
    );
    let fourth = count("a@example.jp", NOW + 3).await;
    assert!(!fourth.newly_locked, "locked once, not again");
    assert_eq!(fourth.locked_until, Some(NOW + 602));
    assert_eq!(
        s.locked_until("code-email", "a@example.jp", NOW + 10)
            .await
            .unwrap(),
        Some(NOW + 602)
    );
    // Other keys and scopes are their own.
    assert_eq!(
        s.locked_until("code-email", "b@example.jp", NOW + 10)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.locked_until("code-network", "a@example.jp", NOW + 10)
            .await
            .unwrap(),
        None
    );
    // The lock ends; a failure long after starts a new window.
    assert_eq!(
        s.locked_until("code-email", "a@example.jp", NOW + 602)
            .await
            .unwrap(),
        None
    );
    let later = count("a@example.jp", NOW + 10_000).await;
    assert_eq!((later.failures, later.locked_until), (1, None));
}

/// A job that kills its worker (a panic that takes the process down, an endless loop past the
/// lease) is taken over only while it has attempts left; then it is failed for good with the
/// reason, and the queue goes on with other work.
async fn a_job_whose_worker_always_dies_fails_after_its_attempts(ctx: Ctx) {
    let s = &*ctx.store;
    let poison = job("email", None, NOW, 2);
    s.apply(jobs_change(vec![poison.clone()])).await.unwrap();
    let mut at = NOW;
    for attempt in 1..=2 {
        let got = s.claim_jobs("w", at, 30, 10).await.unwrap();
        assert_eq!(
            got.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(),
            vec![(poison.id, attempt)]
        );
        at += 31; // the worker died: its lease runs out
    }
    let other = job("seal", None, at, 3);
    s.apply(jobs_change(vec![other.clone()])).await.unwrap();
    let got = s.claim_jobs("w", at, 30, 10).await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![other.id]);
    // Out of attempts, it is never claimed again; the workers' sweep fails it.
    assert_eq!(
        s.job(poison.id).await.unwrap().unwrap().status,
        JobStatus::Running
    );
    assert_eq!(s.fail_abandoned_jobs(at).await.unwrap(), 1);
    let failed = s.job(poison.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.locked_until, None);
    assert!(failed.last_error.unwrap().contains("every attempt"));
    assert!(s
        .claim_jobs("w", at + 10_000, 30, 10)
        .await
        .unwrap()
        .iter()
        .all(|j| j.id != poison.id));
}

async fn fail_retry_failed_requeue(ctx: Ctx) {
    let s = &*ctx.store;
    let j = job("webhook", None, NOW, 2);
    s.apply(jobs_change(vec![j.clone()])).await.unwrap();
    s.claim_jobs("w", NOW, 30, 10).await.unwrap();
    s.fail_job(j.id, "HTTP 503", Some(NOW + 60), NOW + 1)
        .await
        .unwrap();
    let after = s.job(j.id).await.unwrap().unwrap();
    assert_eq!(after.status, JobStatus::Queued);
    assert_eq!(after.run_at, NOW + 60);
    assert_eq!(after.attempts, 1);
    assert_eq!(after.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(after.locked_until, None);
    assert!(s
        .claim_jobs("w", NOW + 59, 30, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.claim_jobs("w", NOW + 60, 30, 10).await.unwrap()[0].attempts,
        2
    );
    // Out of attempts: failed, even though a retry time is given.
    s.fail_job(j.id, "HTTP 500", Some(NOW + 120), NOW + 61)
        .await
        .unwrap();
    let failed = s.job(j.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
    assert!(s
        .claim_jobs("w", NOW + 10_000, 30, 10)
        .await
        .unwrap()
        .is_empty());
    // A late report about a job that is no longer running changes nothing.
    s.fail_job(j.id, "late", Some(NOW), NOW + 62).await.unwrap();
    assert_eq!(s.job(j.id).await.unwrap().unwrap(), failed);

    // The operator retries it.
    s.requeue_job(j.id, NOW + 100).await.unwrap();
    let requeued = s.job(j.id).await.unwrap().unwrap();
    assert_eq!(
        (requeued.status, requeued.attempts, requeued.run_at),
        (JobStatus::Queued, 0, NOW + 100)
    );
    s.requeue_job(j.id, NOW + 200).await.unwrap(); // not failed: unchanged
    assert_eq!(s.job(j.id).await.unwrap().unwrap(), requeued);
    // A permanent failure (no retry time) fails at once.
    s.claim_jobs("w", NOW + 100, 30, 10).await.unwrap();
    s.fail_job(j.id, "410 Gone", None, NOW + 101).await.unwrap();
    assert_eq!(
        s.job(j.id).await.unwrap().unwrap().status,
        JobStatus::Failed
    );
    assert_eq!(
        s.jobs(&JobFilter {
            status: Some(JobStatus::Failed),
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert!(matches!(
        s.fail_job(JobId::new(), "x", None, NOW).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.requeue_job(JobId::new(), NOW).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn retry_superseded_by_a_queued_twin(ctx: Ctx) {
    let s = &*ctx.store;
    let a = job("seal", Some("seal:e"), NOW, 5);
    s.apply(jobs_change(vec![a.clone()])).await.unwrap();
    s.claim_jobs("w", NOW, 30, 10).await.unwrap();
    let b = job("seal", Some("seal:e"), NOW + 1, 5);
    s.apply(jobs_change(vec![b.clone()])).await.unwrap();
    // A goes back to the queue while B is queued with the same key: A is closed instead.
    s.fail_job(a.id, "TSA down", Some(NOW + 60), NOW + 2)
        .await
        .unwrap();
    let a_now = s.job(a.id).await.unwrap().unwrap();
    assert_eq!(a_now.status, JobStatus::Done);
    assert!(a_now.last_error.unwrap().contains("superseded"));
    assert_eq!(
        s.job(b.id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );

    // The same when an operator requeues a failed job whose key is queued again.
    let c = job("mail", Some("mail:e"), NOW, 1);
    s.apply(jobs_change(vec![c.clone()])).await.unwrap();
    let claimed = s.claim_jobs("w", NOW + 100, 30, 10).await.unwrap();
    assert_eq!(claimed.len(), 2); // b and c
    s.fail_job(c.id, "bounce", Some(NOW + 200), NOW + 101)
        .await
        .unwrap();
    assert_eq!(
        s.job(c.id).await.unwrap().unwrap().status,
        JobStatus::Failed
    );
    let d = job("mail", Some("mail:e"), NOW + 300, 1);
    s.apply(jobs_change(vec![d.clone()])).await.unwrap();
    s.requeue_job(c.id, NOW + 102).await.unwrap();
    assert_eq!(s.job(c.id).await.unwrap().unwrap().status, JobStatus::Done);
    assert_eq!(
        s.job(d.id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
}

async fn concurrent_claimers_never_share_a_job(ctx: Ctx) {
    let s = ctx.store.clone();
    let jobs: Vec<_> = (0..50).map(|i| job("email", None, NOW - i, 3)).collect();
    s.apply(jobs_change(jobs)).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s.claim_jobs(&format!("w{w}"), NOW, 300, 3).await.unwrap();
                if got.is_empty() {
                    break;
                }
                for j in got {
                    s.finish_job(j.id, NOW).await.unwrap();
                    mine.push(j.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 50, "every job claimed exactly once");
    assert_eq!(unique.len(), 50);
    assert!(s
        .jobs(&JobFilter::default())
        .await
        .unwrap()
        .iter()
        .all(|j| j.status == JobStatus::Done && j.attempts == 1));
}

// ── Audit trail ──────────────────────────────────────────────────────────────────────────────

/// Five entries for `org` over three changes (and two for another organization in between).
async fn five_entries(s: &dyn Store) -> OrganizationId {
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "花巻市").await;
    let rec = record(sent(org, "契約", NOW + 1000), NOW);
    let mut change = insert(&rec);
    change.audit = vec![audit(org, Some(rec.id()), 1), audit(org, Some(rec.id()), 2)];
    s.apply(change).await.unwrap();
    s.apply(Change {
        audit: vec![
            audit(other, None, 1),
            audit(org, None, 3),
            audit(other, None, 2),
        ],
        now: NOW,
        ..Change::default()
    })
    .await
    .unwrap();
    let mut change = update(&rec, 1);
    change.audit = vec![audit(org, Some(rec.id()), 4), audit(org, None, 5)];
    s.apply(change).await.unwrap();
    org
}

async fn the_operations_log_filters_by_actor_action_and_time(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "花巻市").await;
    let entry = |n: i64, actor: &str, action: &str| NewAuditEntry {
        actor: actor.to_string(),
        action: action.to_string(),
        ..audit(org, None, n)
    };
    s.apply(Change {
        audit: vec![
            entry(1, "user:a", "login"),
            entry(2, "user:b", "login"),
            entry(3, "user:a", "download"),
            entry(4, "api_key:k", "create"),
            entry(5, "user:a", "login"),
            NewAuditEntry {
                actor: "user:a".into(),
                action: "login".into(),
                ..audit(other, None, 6)
            },
        ],
        now: NOW,
        ..Change::default()
    })
    .await
    .unwrap();
    let seqs = |q: AuditQuery| async move {
        s.search_audit(org, &q)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        seqs(AuditQuery::default()).await,
        vec![5, 4, 3, 2, 1],
        "newest first"
    );
    let by_a = AuditQuery {
        actor: Some("user:a".into()),
        ..AuditQuery::default()
    };
    assert_eq!(seqs(by_a.clone()).await, vec![5, 3, 1]);
    assert_eq!(
        seqs(AuditQuery {
            action: Some("login".into()),
            ..by_a.clone()
        })
        .await,
        vec![5, 1]
    );
    assert_eq!(
        seqs(AuditQuery {
            from: Some(NOW + 2),
            until: Some(NOW + 5),
            ..AuditQuery::default()
        })
        .await,
        vec![4, 3, 2],
        "from inclusive, until exclusive"
    );
    assert_eq!(
        seqs(AuditQuery {
            before_seq: Some(4),
            limit: 2,
            ..AuditQuery::default()
        })
        .await,
        vec![3, 2],
        "the next page"
    );
    assert_eq!(
        s.audit_actions(org).await.unwrap(),
        vec!["create", "download", "login"]
    );
    verify(s, org).await.unwrap();
}

fn org_filter(org: OrganizationId) -> String {
    format!("organization = '{org}'")
}

async fn audit_chain_verifies(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    let entries = s.audit_entries(org, None).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(entries[0].prev_hash, GENESIS_HASH);
    assert_eq!(
        entries
            .iter()
            .map(|e| e.entry.detail["n"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let head = s.audit_head(org).await.unwrap().unwrap();
    assert_eq!(head, (5, entries[4].hash.clone()));
    verify(s, org).await.unwrap();
    let orgs = s.audited_organizations().await.unwrap();
    assert_eq!(orgs.len(), 2);
    for o in orgs {
        verify(s, o).await.unwrap();
    }
    let envelope = entries[0].entry.envelope;
    assert_eq!(
        s.audit_entries(org, envelope)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
    // Details survive the trip through the database bit for bit (floats, escapes, nesting).
    let detail = json!({
        "floats": [0.1, 0.30000000000000004, 1e-7, 123456.789e100, -0.0, 5e-324],
        "text": "改行\n\"引用\" \u{1F4C4} \\ ',",
        "nested": {"b": [1, {"z": null, "a": u64::MAX}], "a": i64::MIN},
    });
    s.apply(Change {
        audit: vec![NewAuditEntry {
            detail,
            ..audit(org, None, 6)
        }],
        now: NOW,
        ..Change::default()
    })
    .await
    .unwrap();
    verify(s, org).await.unwrap();
    // No entries, no head: a valid empty chain.
    verify(s, OrganizationId::new()).await.unwrap();
}

async fn tampering_with_an_entry_is_detected(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    let n = ctx
        .raw
        .exec(&format!(
            "UPDATE audit_entries SET entry = replace(entry, '\"n\":3', '\"n\":33') WHERE {} AND seq = 3",
            org_filter(org)
        ))
        .await;
    assert_eq!(n, 1);
    assert_eq!(verify(s, org).await, Err(ChainBreak::Content { seq: 3 }));
}

/// Rewrites entries `from..` of `org`'s chain as someone with write access to the database
/// would: each row's hash recomputed by `hash` from the (edited) content, and the head moved.
async fn rewrite_chain(
    ctx: &Ctx,
    org: OrganizationId,
    from: i64,
    hash: impl Fn(&str, i64, &NewAuditEntry) -> String,
) {
    let entries = ctx.store.audit_entries(org, None).await.unwrap();
    let f = org_filter(org);
    let mut prev = match from {
        1 => GENESIS_HASH.to_string(),
        n => entries[(n - 2) as usize].hash.clone(),
    };
    for e in entries.iter().filter(|e| e.seq >= from) {
        let h = hash(&prev, e.seq, &e.entry);
        ctx.raw
            .exec(&format!(
                "UPDATE audit_entries SET prev_hash = '{prev}', hash = '{h}' WHERE {f} AND seq = {}",
                e.seq
            ))
            .await;
        prev = h;
    }
    ctx.raw
        .exec(&format!("UPDATE audit_heads SET hash = '{prev}' WHERE {f}"))
        .await;
}

async fn recomputing_the_chain_without_the_key_is_detected(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    let f = org_filter(org);
    ctx.raw
        .exec(&format!(
            "UPDATE audit_entries SET entry = replace(entry, '\"n\":3', '\"n\":33') WHERE {f} AND seq = 3"
        ))
        .await;
    // Recomputed with plain SHA-256 from the edited entry on: unkeyed after keyed entries.
    rewrite_chain(&ctx, org, 3, legacy_chain_hash).await;
    assert_eq!(verify(s, org).await, Err(ChainBreak::Unkeyed { seq: 3 }));
    // Recomputed with a key of the attacker's own: the MAC does not match.
    let guess = ChainKey::from_bytes([8; 32]);
    rewrite_chain(&ctx, org, 3, |p, n, e| chain_hash(&guess, p, n, e)).await;
    assert_eq!(verify(s, org).await, Err(ChainBreak::Content { seq: 3 }));
    // Recomputed unkeyed from the very first entry: the rows alone cannot tell, so the summary
    // says that nothing but an anchor vouches for entries 1 to 5 (the service refuses that).
    rewrite_chain(&ctx, org, 1, legacy_chain_hash).await;
    assert_eq!(
        verify_with(s, org, &chain_key()).await,
        Ok(ChainSummary {
            last_unkeyed: Some(5)
        })
    );
    // With the real key the rewrite verifies: only an anchor stops the key's holder.
    rewrite_chain(&ctx, org, 1, |p, n, e| chain_hash(&chain_key(), p, n, e)).await;
    assert_eq!(
        verify_with(s, org, &chain_key()).await,
        Ok(ChainSummary::default())
    );
}

async fn legacy_entries_are_accepted_before_keyed_ones_only(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    // Entries 1 to 3 as an installation from before keyed chains wrote them.
    rewrite_chain(&ctx, org, 1, |p, n, e| {
        if n <= 3 {
            legacy_chain_hash(p, n, e)
        } else {
            chain_hash(&chain_key(), p, n, e)
        }
    })
    .await;
    assert_eq!(
        verify_with(s, org, &chain_key()).await,
        Ok(ChainSummary {
            last_unkeyed: Some(3)
        })
    );
    // New entries follow the legacy ones keyed.
    s.apply(Change {
        audit: vec![audit(org, None, 6)],
        now: NOW,
        ..Change::default()
    })
    .await
    .unwrap();
    let entries = s.audit_entries(org, None).await.unwrap();
    assert!(entries[5].hash.starts_with("k1:"), "{}", entries[5].hash);
    assert_eq!(
        verify_with(s, org, &chain_key())
            .await
            .unwrap()
            .last_unkeyed,
        Some(3)
    );
}

async fn anchors_are_kept_per_organization(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    let other = OrganizationId::new();
    let head = s.audit_head(org).await.unwrap().unwrap();
    let anchor = |organization, seq: i64, hash: &str| AuditAnchor {
        organization,
        seq,
        hash: hash.to_string(),
        at: NOW,
        token: vec![0x30, 0x03, 0x02, 0x01, seq as u8],
    };
    s.add_audit_anchor(&anchor(org, head.0, &head.1))
        .await
        .unwrap();
    s.add_audit_anchor(&anchor(org, 2, "h2")).await.unwrap();
    s.add_audit_anchor(&anchor(other, 1, "h1")).await.unwrap();
    // The same head twice (two workers at once) keeps the first.
    s.add_audit_anchor(&AuditAnchor {
        token: vec![1],
        ..anchor(org, 2, "h2")
    })
    .await
    .unwrap();
    let kept = s.audit_anchors(org).await.unwrap();
    assert_eq!(
        kept,
        vec![anchor(org, 2, "h2"), anchor(org, head.0, &head.1)]
    );
    assert_eq!(
        s.last_audit_anchor(org).await.unwrap(),
        Some(anchor(org, head.0, &head.1))
    );
    assert_eq!(
        s.last_audit_anchor(OrganizationId::new()).await.unwrap(),
        None
    );
    assert_eq!(s.audit_anchors(other).await.unwrap().len(), 1);
    assert!(s
        .audit_anchors(OrganizationId::new())
        .await
        .unwrap()
        .is_empty());
}

async fn deleting_a_middle_entry_is_detected(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    ctx.raw
        .exec(&format!(
            "DELETE FROM audit_entries WHERE {} AND seq = 3",
            org_filter(org)
        ))
        .await;
    assert_eq!(
        verify(s, org).await,
        Err(ChainBreak::Gap {
            seq: 4,
            expected: 3
        })
    );
}

async fn deleting_the_last_entry_is_detected(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    ctx.raw
        .exec(&format!(
            "DELETE FROM audit_entries WHERE {} AND seq = 5",
            org_filter(org)
        ))
        .await;
    assert_eq!(
        verify(s, org).await,
        Err(ChainBreak::Truncated { last: 4, head: 5 })
    );
    // Deleting everything still leaves the organization listed, and broken.
    ctx.raw
        .exec(&format!(
            "DELETE FROM audit_entries WHERE {}",
            org_filter(org)
        ))
        .await;
    assert!(s.audited_organizations().await.unwrap().contains(&org));
    assert_eq!(
        verify(s, org).await,
        Err(ChainBreak::Truncated { last: 0, head: 5 })
    );
}

async fn swapping_entries_is_detected(ctx: Ctx) {
    let s = &*ctx.store;
    let org = five_entries(s).await;
    let f = org_filter(org);
    ctx.raw
        .exec(&format!(
            "UPDATE audit_entries SET seq = -1 WHERE {f} AND seq = 2; \
             UPDATE audit_entries SET seq = 2 WHERE {f} AND seq = 3; \
             UPDATE audit_entries SET seq = 3 WHERE {f} AND seq = -1;"
        ))
        .await;
    assert_eq!(verify(s, org).await, Err(ChainBreak::Link { seq: 2 }));
}

async fn concurrent_audit_appends_keep_the_chain(ctx: Ctx) {
    let s = ctx.store.clone();
    let org = organization(&*s, "盛岡市").await;
    let mut tasks = Vec::new();
    for t in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                s.apply(Change {
                    audit: vec![
                        audit(org, None, t * 100 + i),
                        audit(org, None, t * 100 + i + 50),
                    ],
                    now: NOW,
                    ..Change::default()
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.audit_entries(org, None).await.unwrap().len(), 120);
    assert_eq!(s.audit_head(org).await.unwrap().unwrap().0, 120);
    verify(&*s, org).await.unwrap();
}

// ── Migrations ───────────────────────────────────────────────────────────────────────────────

async fn migrations_apply_once(ctx: Ctx) {
    let org = organization(&*ctx.store, "盛岡市").await;
    let again = inkan_store::open(&ctx.url, chain_key()).await.unwrap();
    assert_eq!(again.backend(), ctx.store.backend());
    assert_eq!(
        again.organization(org).await.unwrap().unwrap().name,
        "盛岡市"
    );
    let third = inkan_store::open(&ctx.url, chain_key()).await.unwrap();
    assert!(third.organization(org).await.unwrap().is_some());
    // Each migration once.
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count();
    assert_eq!(
        ctx.raw.count("SELECT COUNT(*) FROM _sqlx_migrations").await,
        migrations as i64
    );
}

#[tokio::test]
async fn unsupported_urls_are_configuration_errors() {
    for url in ["mysql://root@localhost/inkan", "inkan.db", ""] {
        assert!(matches!(
            inkan_store::open(url, chain_key()).await,
            Err(StoreError::Config(_))
        ));
    }
}

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directory_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = inkan_store::open(&format!("sqlite://{}", path.display()), chain_key())
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert!(path.exists());
    let missing = dir.path().join("no/such/dir.db");
    assert!(
        inkan_store::open(&format!("sqlite://{}", missing.display()), chain_key())
            .await
            .is_err()
    );
}

// ── Conclusion: 締結証明書ID lookup, the certificate, libraries, signer accounts ───────────────

async fn conclusion_lookup_certificate_and_library(ctx: Ctx) {
    let s = &*ctx.store;
    let a = organization(s, "盛岡市").await;
    let b = organization(s, "滝沢市").await;
    let rec = record(completed(a, "業務委託契約"), NOW);
    s.apply(insert(&rec)).await.unwrap();
    let other = record(completed(b, "別の契約"), NOW);
    s.apply(insert(&other)).await.unwrap();

    // Found by its 締結証明書ID in any organization; an unknown ID is nothing.
    let found = s
        .envelope_by_conclusion(&rec.envelope.conclusion_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id(), rec.id());
    assert!(found.certificate.is_none());
    assert!(s
        .envelope_by_conclusion(&ConclusionId::new())
        .await
        .unwrap()
        .is_none());

    // Sealed: the certificate and the library entries are written with the envelope.
    let mut sealed = found.clone();
    sealed.sealed_at = Some(NOW + 5);
    sealed.certificate = Some(StoredCertificate {
        blob: "org/env/certificate".into(),
        sha256: "ab".repeat(32),
        size: 1234,
        archive_until: Some(NOW + 86_400),
    });
    let signer = sealed.envelope.recipients()[0].id;
    let mut change = update(&sealed, found.version);
    change.library = vec![LibraryEntry {
        email: "Yamada@Vendor.example.jp".into(),
        organization: a,
        envelope: rec.id(),
        recipient: signer,
        concluded_at: NOW + 5,
    }];
    s.apply(change.clone()).await.unwrap();
    let stored = s.envelope(a, rec.id()).await.unwrap().unwrap();
    assert_eq!(stored.certificate, sealed.certificate);

    // The library finds it by the email whatever its case, and only for that email.
    let items = s.library("YAMADA@vendor.example.jp", 0).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].record.id(), rec.id());
    assert_eq!(items[0].recipient, signer);
    assert_eq!(items[0].concluded_at, NOW + 5);
    assert!(s
        .library("someone@else.example.jp", 0)
        .await
        .unwrap()
        .is_empty());

    // A library entry must name the change's envelope: another organization's is refused whole.
    let latest = s.envelope(a, rec.id()).await.unwrap().unwrap();
    let mut foreign = update(&latest, latest.version);
    foreign.library = vec![LibraryEntry {
        email: "mallory@example.jp".into(),
        organization: b,
        envelope: other.id(),
        recipient: signer,
        concluded_at: NOW,
    }];
    assert!(matches!(
        s.apply(foreign).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.library("mallory@example.jp", 0).await.unwrap().is_empty());
    assert_eq!(
        s.envelope(a, rec.id()).await.unwrap().unwrap().version,
        latest.version
    );

    // Two envelopes cannot share a 締結証明書ID.
    let mut twin = record(completed(a, "複製"), NOW);
    twin.envelope.conclusion_id = rec.envelope.conclusion_id.clone();
    assert!(s.apply(insert(&twin)).await.is_err());
}

/// The archive sweep's query: sealed envelopes whose document or certificate proof runs out by
/// the horizon (or was never read), soonest first, except those whose archive job is queued,
/// running, or failed recently.
async fn archive_due_finds_sealed_proofs_that_run_out(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let horizon = NOW + 100;
    // (document's horizon, certificate's horizon, sealed)
    let cases = [
        ("文書が近い", Some(NOW + 10), Some(NOW + 1000), true),
        ("証明書が近い", Some(NOW + 1000), Some(NOW + 50), true),
        ("未読", None, None, true),
        ("まだ先", Some(NOW + 1000), Some(NOW + 1000), true),
        ("ちょうど", Some(horizon), Some(NOW + 1000), true),
        ("未封緘", None, None, false),
    ];
    let mut ids = Vec::new();
    for (title, document_until, certificate_until, sealed) in cases {
        let mut rec = record(completed(org, title), NOW);
        let mut change = insert(&rec);
        if sealed {
            rec.sealed_at = Some(NOW);
            rec.certificate = Some(StoredCertificate {
                blob: format!("certificate-{title}"),
                sha256: "cd".repeat(32),
                size: 10,
                archive_until: certificate_until,
            });
            change = insert(&rec);
        }
        let mut doc = document(&rec, 1, TransactionMetadata::default());
        doc.archive_until = document_until;
        change.documents = vec![doc];
        s.apply(change).await.unwrap();
        ids.push(rec.id());
    }
    let due = |failed_since: i64| async move {
        s.archive_due(horizon, failed_since, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|(o, id)| {
                assert_eq!(o, org);
                id
            })
            .collect::<Vec<_>>()
    };
    // Soonest first: never read (0), the document at +10, the certificate at +50, +100.
    assert_eq!(due(NOW).await, vec![ids[2], ids[0], ids[1], ids[4]]);
    assert_eq!(
        s.archive_due(horizon, NOW, 2).await.unwrap().len(),
        2,
        "the limit holds"
    );

    // A queued archive job keeps its envelope out; so does one that failed since `failed_since`.
    let key = |i: usize| format!("archive:{}", ids[i]);
    s.apply(jobs_change(vec![job("archive", Some(&key(2)), NOW, 1)]))
        .await
        .unwrap();
    assert_eq!(due(NOW).await, vec![ids[0], ids[1], ids[4]]);
    let claimed = s.claim_jobs("w", NOW, 60, 10).await.unwrap();
    assert_eq!(due(NOW).await, vec![ids[0], ids[1], ids[4]], "running");
    s.fail_job(claimed[0].id, "TSA down", None, NOW + 5)
        .await
        .unwrap();
    assert_eq!(
        due(NOW).await,
        vec![ids[0], ids[1], ids[4]],
        "failed recently"
    );
    assert_eq!(
        due(NOW + 6).await,
        vec![ids[2], ids[0], ids[1], ids[4]],
        "failed long ago"
    );

    assert!(s.job_created_since(&key(2), NOW).await.unwrap());
    assert!(!s.job_created_since(&key(2), NOW + 1).await.unwrap());
    assert!(!s.job_created_since(&key(0), 0).await.unwrap());
}

async fn signer_accounts_and_one_time_codes(ctx: Ctx) {
    let s = &*ctx.store;
    let account = SignerAccount {
        id: SignerAccountId::new(),
        email: "Hanako@Vendor.example.jp".into(),
        created_at: NOW,
    };
    s.create_signer_account(&account).await.unwrap();
    let twin = SignerAccount {
        id: SignerAccountId::new(),
        email: "hanako@vendor.example.jp".into(),
        created_at: NOW,
    };
    assert!(matches!(
        s.create_signer_account(&twin).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        s.signer_account_by_email("HANAKO@vendor.example.jp")
            .await
            .unwrap(),
        Some(account.clone())
    );
    assert_eq!(s.signer_account(account.id).await.unwrap(), Some(account));
    assert!(s.signer_account(twin.id).await.unwrap().is_none());

    let email = "hanako@vendor.example.jp";
    let code = |secret: &str, expires_at: i64| EmailCode {
        email: email.into(),
        code_hash: TokenHash::of(secret),
        expires_at,
        attempts: 0,
        created_at: NOW,
    };
    // No code yet; a wrong guess counts; the right one is used up.
    assert_eq!(
        s.take_email_code(email, &TokenHash::of("1"), 5, NOW)
            .await
            .unwrap(),
        CodeCheck::NoCode
    );
    s.put_email_code(&code("123456", NOW + 600)).await.unwrap();
    assert_eq!(
        s.take_email_code(email, &TokenHash::of("000000"), 5, NOW)
            .await
            .unwrap(),
        CodeCheck::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        s.take_email_code("HANAKO@vendor.example.jp", &TokenHash::of("123456"), 5, NOW)
            .await
            .unwrap(),
        CodeCheck::Valid
    );
    assert_eq!(
        s.take_email_code(email, &TokenHash::of("123456"), 5, NOW)
            .await
            .unwrap(),
        CodeCheck::NoCode
    );
    // An expired code is dead even when right.
    s.put_email_code(&code("222222", NOW + 600)).await.unwrap();
    assert_eq!(
        s.take_email_code(email, &TokenHash::of("222222"), 5, NOW + 600)
            .await
            .unwrap(),
        CodeCheck::NoCode
    );
    // Out of attempts: dead even when right; a new code replaces it.
    s.put_email_code(&code("333333", NOW + 600)).await.unwrap();
    for left in (0..3).rev() {
        assert_eq!(
            s.take_email_code(email, &TokenHash::of("999999"), 3, NOW)
                .await
                .unwrap(),
            CodeCheck::Wrong {
                attempts_left: left
            }
        );
    }
    assert_eq!(
        s.take_email_code(email, &TokenHash::of("333333"), 3, NOW)
            .await
            .unwrap(),
        CodeCheck::NoCode
    );
    s.put_email_code(&code("444444", NOW + 600)).await.unwrap();
    assert_eq!(
        s.take_email_code(email, &TokenHash::of("444444"), 3, NOW)
            .await
            .unwrap(),
        CodeCheck::Valid
    );
}

/// A listing of every envelope (the filter's default reads nothing).
fn every_envelope() -> EnvelopeFilter {
    EnvelopeFilter {
        reach: Reach::Every,
        ..EnvelopeFilter::default()
    }
}

/// A search of every document (the query's default reads nothing).
fn every_document() -> DocumentQuery {
    DocumentQuery {
        reach: Reach::Every,
        ..DocumentQuery::default()
    }
}
