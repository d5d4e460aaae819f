//! The records the store keeps. Domain types (the envelope with its recipients and state, fields)
//! are stored whole; the columns beside them exist for queries (status, deadline, 電帳法 items).

use inkan_domain::{
    ApiKeyId, AttachmentId, CalendarDate, CounterpartyId, DepartmentId, DocumentId, Email,
    Envelope, EnvelopeId, Field, FieldId, FolderId, JobId, OrganizationId, RecipientId,
    SignerAccountId, StaffNetworks, UserId, WebhookId, Yen,
};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::Reach;

/// Seconds since the Unix epoch (UTC). Every time the store keeps is one of these.
pub type UnixTime = i64;

/// The SHA-256 of a secret (an API key, a signer link token): what is stored instead of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(secret: &str) -> TokenHash {
        use sha2::Digest;
        TokenHash(sha2::Sha256::digest(secret.as_bytes()).into())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// A tenant: a city, a company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    /// 組織名, as shown in emails: `盛岡市`.
    pub name: String,
    pub created_at: UnixTime,
    /// IP制限: where its staff may work from (empty: anywhere).
    pub staff_networks: StaffNetworks,
    /// Every staff user must use a second factor (enrolment at their next login).
    pub mfa_required: bool,
    /// Every envelope must be sent into a folder (none may stay at the top level).
    pub folder_required: bool,
}

/// A department (部署) such as 財政部契約検査課.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: DepartmentId,
    pub organization: OrganizationId,
    pub name: String,
}

/// What a staff user may do: the roles the peers (GMOサイン, クラウドサイン) give a contract
/// office. What each role allows is decided in one place, `inkan_service::Rights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// 管理者: everything.
    Admin,
    /// システム管理者: users, API keys and settings, but no document.
    SystemAdmin,
    /// 文書管理者: reads every document, prepares and sends.
    DocumentManager,
    /// 文書閲覧者: reads every document, changes nothing.
    DocumentViewer,
    /// 送信者: prepares and sends; reads what they sent.
    Sender,
}

impl UserRole {
    pub const ALL: [UserRole; 5] = [
        UserRole::Admin,
        UserRole::SystemAdmin,
        UserRole::DocumentManager,
        UserRole::DocumentViewer,
        UserRole::Sender,
    ];

    /// The stored and serialized name.
    pub fn name(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::SystemAdmin => "system_admin",
            UserRole::DocumentManager => "document_manager",
            UserRole::DocumentViewer => "document_viewer",
            UserRole::Sender => "sender",
        }
    }

    /// The role of a stored or typed name.
    pub fn from_name(name: &str) -> Option<UserRole> {
        UserRole::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The role's name on the pages, in Japanese.
    pub fn japanese(self) -> &'static str {
        match self {
            UserRole::Admin => "管理者",
            UserRole::SystemAdmin => "システム管理者",
            UserRole::DocumentManager => "文書管理者",
            UserRole::DocumentViewer => "文書閲覧者",
            UserRole::Sender => "送信者",
        }
    }

    /// The role's name on the pages, in English.
    pub fn english(self) -> &'static str {
        match self {
            UserRole::Admin => "Administrator",
            UserRole::SystemAdmin => "System administrator",
            UserRole::DocumentManager => "Document manager",
            UserRole::DocumentViewer => "Document viewer",
            UserRole::Sender => "Sender",
        }
    }
}

/// A staff user of an organization.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub organization: OrganizationId,
    pub department: Option<DepartmentId>,
    pub name: String,
    pub email: Email,
    pub role: UserRole,
    /// An Argon2 PHC string; `None` for users who cannot log in with a password.
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
    /// Sessions name the generation they were opened in; ending every session of the user
    /// (logout, a new password, disabling) moves to the next.
    pub session_generation: i64,
    /// A disabled user can neither log in nor use a session.
    pub disabled_at: Option<UnixTime>,
    /// The user's TOTP secret, sealed under the master key (`None`: no authenticator).
    /// Written only by [`crate::Store::set_totp`].
    pub totp_secret: Option<String>,
    /// The newest 30-second step a code was accepted for: each code is accepted once.
    pub totp_last_step: Option<i64>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("organization", &self.organization)
            .field("name", &self.name)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An organization's API key, kept as its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub organization: OrganizationId,
    pub name: String,
    pub hash: TokenHash,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub scope: ApiKeyScope,
    /// The staff member the key acts for (the sender of what it sends); `None` for keys of
    /// organizations without users.
    pub owner: Option<UserId>,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Read envelopes, documents, the audit trail and searches.
    Read,
    /// Read, and create, send, remind and cancel envelopes.
    Send,
    /// Everything, users, keys and webhooks included.
    Admin,
}

impl ApiKeyScope {
    /// The stored name: `read`, `send`, `admin`.
    pub fn name(self) -> &'static str {
        match self {
            ApiKeyScope::Read => "read",
            ApiKeyScope::Send => "send",
            ApiKeyScope::Admin => "admin",
        }
    }
}

/// A counterparty (取引先), with the fields of its 電子契約用メールアドレス届出書.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterparty {
    pub id: CounterpartyId,
    pub organization: OrganizationId,
    /// 所在地.
    pub address: String,
    /// 商号又は名称.
    pub trade_name: String,
    /// 代表者職氏名.
    pub representative: String,
    /// 契約締結権限者 役職.
    pub signatory_title: String,
    /// 契約締結権限者 氏名.
    pub signatory_name: String,
    /// 契約締結権限者 メールアドレス: the one signing email of this vendor.
    pub signatory_email: Email,
    /// 事務担当者 部署名.
    pub clerk_department: String,
    /// 事務担当者 役職.
    pub clerk_title: String,
    /// 事務担当者 氏名.
    pub clerk_name: String,
    /// 事務担当者 電話番号.
    pub clerk_phone: String,
    /// 事務担当者 メールアドレス.
    pub clerk_email: Option<Email>,
    /// 届出日: the day written on the 届出書 (its 「年 月 日」), when the city recorded it.
    pub notified_on: Option<CalendarDate>,
    pub created_at: UnixTime,
}

/// An envelope as stored: the domain envelope plus who sent it and how far sealing has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeRecord {
    pub envelope: Envelope,
    /// Incremented by every write; writes name the version they read (optimistic locking).
    pub version: i64,
    pub created_by: Option<UserId>,
    /// The folder it lives in (`None`: the organization's top level).
    #[serde(default)]
    pub folder: Option<FolderId>,
    /// 送り主 as shown to recipients: `盛岡市 財政部契約検査課`.
    pub sender_name: String,
    pub sender_email: String,
    pub counterparty: Option<CounterpartyId>,
    /// When every document reached B-LTA; `None` while sealing is pending.
    pub sealed_at: Option<UnixTime>,
    /// The signed certificate of conclusion (電子契約締結証明書), made when sealed.
    pub certificate: Option<StoredCertificate>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Where the signed certificate of conclusion of an envelope is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCertificate {
    pub blob: String,
    /// Hex SHA-256 of the signed PDF.
    pub sha256: String,
    pub size: u64,
    /// When its proof runs out, as for a document ([`DocumentRecord::archive_until`]).
    pub archive_until: Option<UnixTime>,
}

impl EnvelopeRecord {
    pub fn id(&self) -> EnvelopeId {
        self.envelope.id
    }
    pub fn organization(&self) -> OrganizationId {
        self.envelope.organization
    }
}

/// The 電帳法 search items of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionMetadata {
    /// 取引年月日, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// 取引金額.
    pub amount: Option<Yen>,
    /// 取引先 (a name: the counterparty may also be unregistered).
    pub counterparty: Option<String>,
    /// 種別: 契約書, 請書, 注文書 … (free text, as the organization files it).
    #[serde(default)]
    pub kind: Option<String>,
}

/// One PDF of an envelope and where its signing has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: DocumentId,
    pub envelope: EnvelopeId,
    pub organization: OrganizationId,
    /// 1-based order in the envelope (文書 1, 文書 2 …).
    pub position: u32,
    /// File name shown to people: `業務委託契約書.pdf`.
    pub name: String,
    pub pages: u32,
    /// The blob of the uploaded original.
    pub original_blob: String,
    /// The blob of the current revision (the original until sealing starts).
    pub current_blob: String,
    /// 0 = uploaded; each sealing step (certify, each signature, LTA) adds one.
    pub revision: u32,
    /// Size and SHA-256 (hex) of the current revision.
    pub size: u64,
    pub sha256: String,
    pub fields: Vec<Field>,
    /// Recipients whose signature is already in the current revision, in order.
    pub signed_by: Vec<RecipientId>,
    pub metadata: TransactionMetadata,
    /// When the proof of the sealed document runs out (the earliest notAfter on its newest
    /// timestamp's TSA path); the archive-renewal job timestamps it again before then. `None`
    /// until sealed and read.
    pub archive_until: Option<UnixTime>,
    pub created_at: UnixTime,
}

/// A file attached to an envelope: by the sender (納付書) or by a signer where a field asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub id: AttachmentId,
    pub envelope: EnvelopeId,
    pub organization: OrganizationId,
    /// `None` for the sender's attachments.
    pub recipient: Option<RecipientId>,
    pub field: Option<FieldId>,
    pub name: String,
    pub blob: String,
    pub size: u64,
    pub sha256: String,
    pub created_at: UnixTime,
}

/// What an access token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A recipient's link from the signature request email.
    Signer,
    /// The download page of the completion email (14 days).
    Completion,
}

/// A link token, stored as its hash, scoped to one envelope (and one recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub hash: TokenHash,
    pub kind: TokenKind,
    pub organization: OrganizationId,
    pub envelope: EnvelopeId,
    pub recipient: Option<RecipientId>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
}

/// A write of an envelope: an insert (`expected_version: None`) or an update of the version the
/// writer read.
///
/// The store owns the version: an insert stores `record.version` as given (conventionally 1); an
/// update stores `expected_version + 1`, whatever `record.version` says. An update never moves an
/// envelope to another organization (the stored organization must match, else
/// [`StoreError::NotFound`](crate::StoreError::NotFound)); `created_at` keeps its stored value.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeWrite {
    pub record: EnvelopeRecord,
    pub expected_version: Option<i64>,
}

/// One atomic unit of work: all of it is written, or none.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// The envelope's new state. Documents, attachments and tokens should be written together
    /// with their envelope, so every change to an envelope's files is ordered by its version;
    /// they must then name that envelope and its organization (else
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) and nothing is written). In a change
    /// without an envelope they are accepted only if their envelope exists in their
    /// organization.
    pub envelope: Option<EnvelopeWrite>,
    /// Inserted or replaced by ID (a document's ID never moves to another envelope).
    pub documents: Vec<DocumentRecord>,
    pub attachments: Vec<AttachmentRecord>,
    pub tokens: Vec<AccessToken>,
    /// Links that stop working (a fresh one replaced them): deleted, only among the change's
    /// envelope's tokens.
    pub revoked_tokens: Vec<TokenHash>,
    /// Jobs this change causes. A job with a `dedupe_key` equal to that of a job still queued is
    /// not added twice.
    pub jobs: Vec<NewJob>,
    pub audit: Vec<NewAuditEntry>,
    /// Recipients of a concluded envelope to list in their own library (文書管理) by email.
    /// They must name the change's envelope.
    pub library: Vec<LibraryEntry>,
    /// A job that this change completes (its worker's work and its "done" commit together).
    /// A job that does not exist is [`StoreError::NotFound`](crate::StoreError::NotFound).
    pub finish_job: Option<JobId>,
    /// The time of the change.
    pub now: UnixTime,
}

/// Which envelopes to list.
#[derive(Debug, Clone, Default)]
pub struct EnvelopeFilter {
    /// One status, or all.
    pub status: Option<inkan_domain::StatusKind>,
    /// Whose reading to list for: nothing unless set.
    pub reach: Reach,
    /// Only those in this folder (and its subfolders).
    pub folder: Option<FolderId>,
    /// At most this many (0: 100).
    pub limit: u32,
    pub offset: u32,
}

/// 電帳法 search criteria; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct DocumentQuery {
    /// 取引年月日 from / to, inclusive, `YYYY-MM-DD`.
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    /// 取引金額 from / to, inclusive.
    pub amount_min: Option<Yen>,
    pub amount_max: Option<Yen>,
    /// 取引先: a part of the counterparty's name.
    pub counterparty: Option<String>,
    /// Only documents of concluded envelopes (completed, or imported as concluded elsewhere).
    pub completed_only: bool,
    /// Whose reading to search for: nothing unless set.
    pub reach: Reach,
    /// At most this many hits (0: 1000).
    pub limit: u32,
    /// Only the hits after this one: the next page of a search read page by page.
    pub after: Option<SearchCursor>,
}

/// Where a page of search hits ended: the next page starts after this hit (hits come by
/// 取引年月日, undated ones last, then by creation and ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    pub date: Option<String>,
    pub created_at: UnixTime,
    pub id: DocumentId,
}

impl SearchCursor {
    /// The cursor that continues after `hit`.
    pub fn after(hit: &DocumentHit) -> SearchCursor {
        SearchCursor {
            date: hit.document.metadata.date.clone(),
            created_at: hit.document.created_at,
            id: hit.document.id,
        }
    }
}

/// A search result: the document with its envelope's title, number and status.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentHit {
    pub document: DocumentRecord,
    pub envelope_title: String,
    pub envelope_number: String,
    pub envelope_status: inkan_domain::StatusKind,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    /// Out of attempts or permanently failed: visible, and retryable by an operator.
    Failed,
}

impl JobStatus {
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// A job to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    /// What to do: `seal`, `email`, `expire`, `webhook` …
    pub kind: String,
    pub payload: serde_json::Value,
    pub organization: Option<OrganizationId>,
    pub run_at: UnixTime,
    pub max_attempts: u32,
    pub dedupe_key: Option<String>,
    /// Added only if its organization has a webhook registered when the change commits (an
    /// envelope event, which fans out to the organization's webhooks: without one it would be
    /// a job that does nothing).
    pub only_with_webhooks: bool,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub organization: Option<OrganizationId>,
    pub status: JobStatus,
    pub run_at: UnixTime,
    pub attempts: u32,
    pub max_attempts: u32,
    pub dedupe_key: Option<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<UnixTime>,
    pub last_error: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// One group of [`JobStore::job_counts`](crate::JobStore::job_counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub status: JobStatus,
    pub count: u64,
    /// Queued jobs: the earliest `run_at`; others: the earliest `updated_at`.
    pub oldest: UnixTime,
}

/// Which jobs to list (oldest first).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    pub organization: Option<OrganizationId>,
    /// At most this many (0: 100).
    pub limit: u32,
}

/// An audit entry to append; the store gives it its place and hashes in the organization's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub organization: OrganizationId,
    pub at: UnixTime,
    /// Who: `user:<id>`, `api_key:<id>`, `signer:<recipient id> <email>`, `system`.
    pub actor: String,
    /// What: `create`, `send`, `approve`, `view`, `download`, `fill`, `attach`, `sign`,
    /// `decline`, `cancel`, `login`, `seal` …
    pub action: String,
    pub envelope: Option<EnvelopeId>,
    pub document: Option<DocumentId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: serde_json::Value,
}

/// A filter of the 操作ログ; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// `user:<id>`, `api_key:<id>`, `system`, … exactly.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// From this Unix second, inclusive.
    pub from: Option<UnixTime>,
    /// Until this Unix second, exclusive.
    pub until: Option<UnixTime>,
    /// Only entries older than this sequence number (the next page).
    pub before_seq: Option<i64>,
    /// At most this many (0: 100).
    pub limit: u32,
}

/// An entry of the hash-chained audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3 … within the organization's chain.
    pub seq: i64,
    pub entry: NewAuditEntry,
    /// The previous entry's hash (or [`crate::GENESIS_HASH`]).
    pub prev_hash: String,
    /// `k1:` and the hex HMAC-SHA256 over `prev_hash` and this entry under the chain key (see
    /// [`crate::chain_hash`]); plain hex SHA-256 in entries written before chains were keyed.
    pub hash: String,
}

/// An organization's webhook endpoint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub organization: OrganizationId,
    pub url: String,
    /// The HMAC-SHA256 key for the `Inkan-Signature` header.
    pub secret: String,
    pub created_at: UnixTime,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A recipient (signer or cc) of a concluded envelope, found by their email in their library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryEntry {
    /// Compared without regard to case (stored lower-cased).
    pub email: String,
    pub organization: OrganizationId,
    pub envelope: EnvelopeId,
    pub recipient: RecipientId,
    pub concluded_at: UnixTime,
}

/// One concluded envelope in a signer's library, with who they were in it.
#[derive(Debug, Clone)]
pub struct LibraryItem {
    pub record: EnvelopeRecord,
    pub recipient: RecipientId,
    pub concluded_at: UnixTime,
}

/// A signer's free account: the email they proved they receive. No password is kept; each
/// sign-in proves the email again with a one-time code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerAccount {
    pub id: SignerAccountId,
    pub email: String,
    pub created_at: UnixTime,
}

/// A pending one-time code sent to an email, stored as a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCode {
    /// Lower-cased.
    pub email: String,
    pub code_hash: TokenHash,
    pub expires_at: UnixTime,
    /// Wrong guesses so far.
    pub attempts: u32,
    pub created_at: UnixTime,
}

/// What a backup records of the database, to check a restore against: how many rows of each
/// kind, and every sealed envelope's final documents and 電子契約締結証明書 with their SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub organizations: u64,
    pub envelopes: u64,
    pub documents: u64,
    /// The files of every sealed envelope, ordered by envelope, certificate after documents.
    pub sealed_files: Vec<SealedFile>,
}

/// A final PDF of a sealed envelope: a document's last revision or its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedFile {
    pub organization: OrganizationId,
    pub envelope: EnvelopeId,
    pub kind: SealedFileKind,
    /// The blob holding it.
    pub blob: String,
    /// Hex SHA-256 of the PDF, as recorded when it was stored.
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealedFileKind {
    /// A signed document (its final revision).
    Document,
    /// The 電子契約締結証明書.
    Certificate,
}
