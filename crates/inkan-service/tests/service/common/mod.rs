//! A whole service on a temporary data folder — SQLite by default, PostgreSQL when asked — with
//! its PKI's OCSP, CRL and TSA served on loopback, a clock tests can move, and the outbox of
//! .eml files read back.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use inkan_domain::{Role, SignatureMethod};
use inkan_service::setup::{assemble, Config};
use inkan_service::{Caller, Inkan, ShiftedClock};
use std::path::PathBuf;
use std::sync::Arc;

pub struct TestService {
    pub inkan: Inkan,
    pub clock: Arc<ShiftedClock>,
    pub data: tempfile::TempDir,
    pub root_pem: PathBuf,
    pub public_url: String,
    pub database_url: Option<String>,
    /// The PKI endpoints on loopback (stopped by [`reopen`]).
    server: tokio::task::JoinHandle<()>,
}

pub fn caller() -> Caller {
    Caller {
        ip: Some("192.0.2.10".parse().unwrap()),
        user_agent: Some("inkan-test/1.0".into()),
        link_pass: None,
    }
}

pub async fn start(database_url: Option<String>) -> TestService {
    start_with(database_url, |_| {}).await
}

/// [`start`], with the configuration changed by `configure` first.
pub async fn start_with(
    database_url: Option<String>,
    configure: impl FnOnce(&mut Config),
) -> TestService {
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    run_in(data, listener, database_url, configure).await
}

/// The same installation started again, as after a restart: the old one stopped, a new one on
/// the same data folder, database and address (so the URLs in its certificates still answer).
pub async fn reopen(t: TestService, configure: impl FnOnce(&mut Config)) -> TestService {
    let TestService {
        inkan,
        data,
        public_url,
        database_url,
        server,
        ..
    } = t;
    server.abort();
    let _ = server.await;
    drop(inkan);
    let address = public_url.trim_start_matches("http://");
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    run_in(data, listener, database_url, configure).await
}

async fn run_in(
    data: tempfile::TempDir,
    listener: tokio::net::TcpListener,
    database_url: Option<String>,
    configure: impl FnOnce(&mut Config),
) -> TestService {
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config {
        data_dir: Some(data.path().to_path_buf()),
        public_url: Some(public_url.clone()),
        database_url: database_url.clone(),
        ..Config::default()
    };
    configure(&mut config);
    let clock = Arc::new(ShiftedClock::default());
    let assembled = assemble(config, clock.clone()).await.unwrap();
    let services = Arc::new(inkan_pki::server::PkiServices::new(assembled.pki.clone()).unwrap());
    let app = axum::Router::new().nest("/pki", inkan_pki::server::router(services));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestService {
        inkan: assembled.inkan,
        clock,
        root_pem: data.path().join("pki").join("root.pem"),
        data,
        public_url,
        database_url,
        server,
    }
}

/// A received mail: to, subject, plain text.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl TestService {
    /// Every mail in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<Mail> {
        let dir = self.data.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap();
                let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                let to = message
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_string();
                Mail {
                    to,
                    subject: message.subject().unwrap_or_default().to_string(),
                    text: message.body_text(0).unwrap_or_default().to_string(),
                }
            })
            .collect()
    }

    /// The token of a link `/{prefix}/<token>` mailed to `to` other than `old` (mails of the
    /// same second need not sort in the order they were sent).
    pub fn other_link_token(&self, to: &str, prefix: &str, old: &str) -> String {
        let marker = format!("{}/{prefix}/", self.public_url);
        self.outbox()
            .iter()
            .filter(|m| m.to == to)
            .filter_map(|m| {
                let start = m.text.find(&marker)? + marker.len();
                let token: String = m.text[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                (token != old).then_some(token)
            })
            .next()
            .unwrap_or_else(|| panic!("no new /{prefix}/ link mailed to {to}"))
    }

    /// The token of the last link `/{prefix}/<token>` mailed to `to`.
    pub fn link_token(&self, to: &str, prefix: &str) -> String {
        let marker = format!("{}/{prefix}/", self.public_url);
        self.outbox()
            .iter()
            .rev()
            .filter(|m| m.to == to)
            .find_map(|m| {
                let start = m.text.find(&marker)? + marker.len();
                let token: String = m.text[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                Some(token)
            })
            .unwrap_or_else(|| panic!("no /{prefix}/ link mailed to {to}: {:#?}", self.outbox()))
    }
}

/// A new organization; returns its staff identity.
pub async fn organization(inkan: &Inkan, name: &str, admin_email: &str) -> inkan_service::Staff {
    organization_with_key(inkan, name, admin_email).await.1
}

/// A new organization; returns its first API key and the staff identity it acts for.
pub async fn organization_with_key(
    inkan: &Inkan,
    name: &str,
    admin_email: &str,
) -> (String, inkan_service::Staff) {
    let created = inkan
        .create_organization(&inkan_service::NewOrganization {
            name: name.into(),
            department: None,
            admin_name: "管理者".into(),
            admin_email: admin_email.into(),
            admin_password: Some("correct horse battery".into()),
        })
        .await
        .unwrap();
    let staff = inkan
        .authenticate_api_key(&created.api_key, &Default::default())
        .await
        .unwrap();
    (created.api_key, staff)
}

/// A recipient of `role` with `email`, keyed by its email.
pub fn recipient(email: &str, role: Role, order: u32) -> inkan_service::NewRecipient {
    inkan_service::NewRecipient {
        key: email.into(),
        name: format!("{email} さん"),
        email: email.into(),
        role,
        order,
        method: SignatureMethod::Witness,
        access_code: None,
        sms_phone: None,
    }
}

/// A draft with one two-page document (取引金額 `amount`) for `recipients`.
pub async fn draft(
    inkan: &Inkan,
    staff: &inkan_service::Staff,
    title: &str,
    recipients: Vec<inkan_service::NewRecipient>,
    amount: &str,
) -> inkan_service::EnvelopeView {
    inkan
        .create_envelope(staff, &draft_input(title, recipients, amount), &caller())
        .await
        .unwrap()
}

/// What [`draft`] creates: one two-page document (取引金額 `amount`) for `recipients`.
pub fn draft_input(
    title: &str,
    recipients: Vec<inkan_service::NewRecipient>,
    amount: &str,
) -> inkan_service::NewEnvelope {
    use base64::Engine;
    let now = inkan_service::Clock::now(&inkan_service::SystemClock);
    inkan_service::NewEnvelope {
        number: "R8-0001".into(),
        title: title.into(),
        message: String::new(),
        deadline: now + 3 * 86_400,
        counterparty: None,
        recipients,
        documents: vec![inkan_service::NewDocument {
            name: "契約書.pdf".into(),
            content_base64: base64::engine::general_purpose::STANDARD
                .encode(inkan_testkit::validators::sample_pdf(2)),
            signers: None,
            fields: vec![],
            metadata: inkan_service::MetadataInput {
                date: Some("2026-05-01".into()),
                amount: Some(amount.into()),
                counterparty: Some("株式会社テスト".into()),
                kind: None,
            },
        }],
        attachments: vec![],
        folder: None,
    }
}

/// A one-signer envelope `title` (取引金額 `amount`) sent to `email`; the mail jobs run, so the
/// link is in the outbox.
pub async fn sent(
    inkan: &Inkan,
    staff: &inkan_service::Staff,
    title: &str,
    email: &str,
    amount: &str,
) -> inkan_service::EnvelopeView {
    let env = draft(
        inkan,
        staff,
        title,
        vec![recipient(email, Role::Signer, 1)],
        amount,
    )
    .await;
    inkan.send(staff, &env.id, &caller()).await.unwrap();
    inkan.worker().drain().await.unwrap();
    env
}

/// A one-signer envelope `title` sent to `email`, signed through their link and sealed with
/// its 電子契約締結証明書 (the jobs run in between).
pub async fn concluded(
    t: &TestService,
    staff: &inkan_service::Staff,
    title: &str,
    email: &str,
) -> inkan_service::EnvelopeView {
    let (inkan, who) = (&t.inkan, caller());
    let env = sent(inkan, staff, title, email, "1000").await;
    inkan
        .complete(&t.link_token(email, "s"), &[], &who)
        .await
        .unwrap();
    inkan.worker().drain().await.unwrap();
    let env = inkan.envelope(staff, &env.id).await.unwrap();
    assert!(
        env.sealed && env.has_certificate,
        "{title} was not concluded"
    );
    env
}
