//! Inkan's use cases: what staff, signers and the background workers can do, written once over
//! the ports they need — the [`Store`](inkan_store::Store), the encrypted blob store, the mailer,
//! the signing engine and a clock. No HTTP and no SQL here: the web layer parses requests and
//! calls these functions; the store writes each [`Change`](inkan_store::Change) atomically.
//!
//! The flow of one envelope:
//! 1. staff create a draft with its documents, recipients and fields ([`Inkan::create_envelope`]);
//! 2. they send it ([`Inkan::send`]): approvers get an approval request first, then the first
//!    signers get the signature request email, and a `seal` job prepares every document (the
//!    締結証明書ID stamped, fields placed, certification with DocMDP P=2);
//! 3. each signer completes through their link ([`Inkan::complete`]): their values are recorded
//!    and a `seal` job adds their signature (filling their fields) to each document they sign;
//! 4. after the last signature of a document it is at B-LTA; when every document is, the
//!    envelope is sealed and everyone gets the completion email with a 14-day download link.
#![doc = include_str!("../README.md")]

mod access;
mod accounts;
mod archive;
mod audit;
mod audit_log;
mod background;
pub mod backup;
mod bulk;
mod clock;
mod conclusion;
mod csv_export;
pub mod demo;
mod display;
mod engine;
mod envelopes;
mod error;
mod folders;
mod import_manifest;
mod imports;
mod intake;
pub mod japan;
mod jobs;
mod login_limits;
mod metrics;
pub mod mfa;
mod notify;
mod own_certificate;
mod readiness;
mod request_limits;
mod sealing;
mod secrets;
mod sessions;
pub mod setup;
mod shared_pki;
mod signer;
mod signer_check;
mod sso;
mod staff;
mod staff_networks;
mod tax_export;
mod template_use;
mod templates;
mod users;
mod verification;
mod views;
mod webhooks;

pub use access::{Caller, Reach, Rights, Staff};
pub use accounts::{LibraryDocumentView, LibraryEntryView, ACCOUNT_SESSION_SECONDS, CODE_MINUTES};
pub use archive::ArchiveSweep;
pub use audit::{AnchorRound, Anchored, AuditReport};
pub use audit_log::{ActorView, AuditLine, LogFilter, LogLine, LOG_PAGE};
pub use bulk::{BatchLineView, BatchView, BulkStart, MAX_BULK_ROWS};
pub use clock::{Clock, ShiftedClock, SystemClock};
pub use conclusion::certificate_file_name;
pub use csv_export::CsvExport;
pub use display::DisplaySource;
pub use engine::{signature_field_name, witness_reason, SignAs, SigningEngine, TimestampFault};
pub use envelopes::SearchInput;
pub use error::{Result, ServiceError, BUSY_RETRY_SECONDS};
pub use folders::{
    Colleague, EnvelopeMove, EnvelopeShares, FolderInput, FolderView, GroupInput, GroupView,
};
pub use import_manifest::{decode_csv, parse_manifest, ImportRow, MAX_IMPORT_ROWS};
pub use imports::{ImportInput, MetadataChangeView, MetadataCorrection};
pub use intake::{EnvelopeIntake, MAX_ATTACHMENT_BYTES};
pub use jobs::{JobLine, JobReport, Worker};
pub use metrics::{Metrics, METRICS_CONTENT_TYPE};
pub use own_certificate::{OwnCertificateUpload, OwnCertificateView, OwnKey};
pub use readiness::{Readiness, READINESS_TTL_SECONDS};
pub use request_limits::RequestScope;
pub use secrets::{new_api_key, webhook_signature, LinkKey};
pub use sessions::{SessionUser, SESSION_SECONDS};
pub use shared_pki::{revocation_json, SharedPki};
pub use signer_check::{CheckPrompt, LinkPass, SmsSent, PASS_SECONDS};
pub use sso::{SsoCallback, SsoInput, SsoSettings, SsoStart, SSO_LOGIN_SECONDS};
pub use staff::{
    ApiKeyView, CounterpartyInput, CounterpartyView, DepartmentView, NewOrganization, NewUser,
    OrganizationCreated, UserView,
};
pub use tax_export::{TaxExport, EXPORT_LIMIT};
pub use template_use::{FromTemplate, RoleRecipient};
pub use templates::{
    MergeField, NewRole, NewTemplate, NewTemplateDocument, TemplateDocumentView, TemplateSummary,
    TemplateVersionLine, TemplateView, MAX_MERGE_FIELDS,
};
pub use users::{Invitation, RoleChange, UserLine, INVITATION_DAYS};
pub use verification::{ConclusionCheck, Upload, Verification, VerificationSlot, MAX_VERIFY_BYTES};
pub use views::*;
pub use webhooks::WebhookCreated;

use inkan_blobs::BlobStore;
use inkan_mail::{Mailer, Sms, SmsError, SmsSender};
use inkan_store::Store;
use std::sync::Arc;

/// Settings of the service that are not ports.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL people reach the server at, for links in emails: `http://127.0.0.1:8080`.
    pub public_url: String,
    /// The sender address of emails.
    pub mail_from: String,
    /// How long a completion download link lives (14 days).
    pub completion_link_days: i64,
    /// Whether the completion email carries the 電子契約締結証明書 as a PDF attachment.
    pub attach_certificate: bool,
    /// How long a claimed job is leased to its worker before another may take it over.
    pub job_lease_seconds: i64,
    /// This worker's name in job leases.
    pub worker_id: String,
    /// Jobs one worker runs at once (default: three per core, so that a job waiting on the
    /// disk, a TSA or the database leaves its core to another: with two per core a fifth of
    /// the machine stayed idle under the load benchmark).
    pub worker_jobs: usize,
    /// Public verifications that may run at once (the rest are told to retry): 2.
    pub verify_concurrency: usize,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed (none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where webhook deliveries may go (default: public https URLs only).
    pub webhook_egress: inkan_pki::egress::Egress,
    /// Where single sign-on may reach an organization's OpenID provider (the same policy as
    /// webhooks: public https URLs only by default).
    pub sso_egress: inkan_pki::egress::Egress,
    /// How often a moving audit chain head is timestamped (a day).
    pub audit_anchor_seconds: i64,
    /// How long before a sealed document's proof runs out it is timestamped again (a year).
    pub archive_renewal_seconds: i64,
    /// The SHA-256 of the bearer token that opens `/metrics` to clients other than loopback
    /// (none: loopback only). Only the hash is kept, so the token never shows in a debug print.
    pub metrics_token_sha256: Option<[u8; 32]>,
}

impl Settings {
    pub fn new(public_url: &str) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            mail_from: "Inkan <no-reply@inkan.localhost>".into(),
            completion_link_days: 14,
            attach_certificate: true,
            job_lease_seconds: 300,
            // The process ID alone repeats across hosts; a random part keeps two workers on two
            // nodes from ever holding a lease under the same name.
            worker_id: format!(
                "inkan-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            worker_jobs: 3 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            verify_concurrency: 2,
            trusted_proxies: Vec::new(),
            webhook_egress: inkan_pki::egress::Egress::restricted(Vec::new(), Vec::new())
                .https_only(),
            sso_egress: inkan_pki::egress::Egress::restricted(Vec::new(), Vec::new()).https_only(),
            audit_anchor_seconds: 86_400,
            archive_renewal_seconds: 365 * 86_400,
            metrics_token_sha256: None,
        }
    }
}

/// The service: every use case is a method.
#[derive(Clone)]
pub struct Inkan {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) blobs: Arc<BlobStore>,
    pub(crate) mailer: Arc<dyn Mailer>,
    /// Where SMS codes go (none configured: sending one fails, visibly, as a job).
    pub(crate) sms: Arc<dyn SmsSender>,
    pub(crate) engine: Arc<SigningEngine>,
    pub(crate) links: LinkKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    pub(crate) http: reqwest::Client,
    /// Places for public verifications running at once ([`Settings::verify_concurrency`]).
    pub(crate) verifications: Arc<tokio::sync::Semaphore>,
    /// The last `/readyz` answer.
    pub(crate) readiness: Arc<readiness::ReadinessCache>,
    /// What `/metrics` reports.
    pub(crate) metrics: Arc<Metrics>,
}

impl Inkan {
    /// The same service sending its mail through another transport (embedding, tests).
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Inkan {
        self.mailer = mailer;
        self
    }

    /// The same service sending SMS codes through `sms`.
    pub fn with_sms(mut self, sms: Arc<dyn SmsSender>) -> Inkan {
        self.sms = sms;
        self
    }

    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<BlobStore>,
        mailer: Arc<dyn Mailer>,
        engine: Arc<SigningEngine>,
        links: LinkKey,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Inkan {
        let http = settings.webhook_egress.client();
        Inkan {
            verifications: Arc::new(tokio::sync::Semaphore::new(
                settings.verify_concurrency.max(1),
            )),
            store,
            blobs,
            mailer,
            sms: Arc::new(NoSms),
            engine,
            links,
            clock,
            settings,
            http,
            readiness: Arc::default(),
            metrics: Arc::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn engine(&self) -> &Arc<SigningEngine> {
        &self.engine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// No SMS transport: every send fails permanently, saying so (the job shows it).
struct NoSms;

#[async_trait::async_trait]
impl SmsSender for NoSms {
    async fn send(&self, _: &Sms) -> std::result::Result<(), SmsError> {
        Err(SmsError::Build(
            "no SMS transport is configured ([sms] in the configuration)".into(),
        ))
    }
}
