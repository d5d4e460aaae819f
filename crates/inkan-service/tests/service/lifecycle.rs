//! Every way an envelope can go besides the happy path — internal approval, decline, cancel,
//! expiry at the deadline, a party-type (実印タイプ) signer, a TSA that is down — and tenant
//! isolation: one organization's credentials never reach another's data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{
    caller, concluded, draft, organization, organization_with_key, recipient, sent, start,
};
use inkan_domain::{FieldKind, RecipientState, Role, SignatureMethod, StatusKind};
use inkan_service::{SearchInput, ServiceError};
use inkan_testkit::validators::{lta_indications_at, ltv_check, pyhanko_valid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_comes_before_the_signers_and_decline_kills_the_links() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "滝沢市", "admin@city.takizawa.example.jp").await;
    let env = draft(
        inkan,
        &staff,
        "物品購入契約",
        vec![
            recipient("kacho@city.takizawa.example.jp", Role::Approver, 1),
            recipient("vendor-a@example.co.jp", Role::Signer, 1),
            recipient("vendor-b@example.co.jp", Role::Signer, 1),
        ],
        "500,000",
    )
    .await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    assert_eq!(
        inkan.envelope(&staff, &env.id).await.unwrap().status,
        StatusKind::AwaitingApproval
    );
    assert!(
        t.outbox().iter().all(|m| !m.to.starts_with("vendor")),
        "signers wait for the approval"
    );
    let approver = t.link_token("kacho@city.takizawa.example.jp", "s");
    inkan.approve(&approver, &who).await.unwrap();
    inkan.approve(&approver, &who).await.unwrap(); // twice: harmless
    inkan.worker().drain().await.unwrap();
    assert_eq!(
        inkan.envelope(&staff, &env.id).await.unwrap().status,
        StatusKind::Sent
    );

    // Two signers in parallel: B declines, which ends the envelope for A too.
    let a = t.link_token("vendor-a@example.co.jp", "s");
    let b = t.link_token("vendor-b@example.co.jp", "s");
    assert!(inkan.open_link(&a, &who).await.unwrap().can_act);
    let err = inkan.decline(&b, "  ", &who).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid(_)),
        "a reason is required: {err}"
    );
    inkan
        .decline(&b, "金額に誤りがあります", &who)
        .await
        .unwrap();
    inkan
        .decline(&b, "金額に誤りがあります", &who)
        .await
        .unwrap();
    let declined = inkan.envelope(&staff, &env.id).await.unwrap();
    assert_eq!(declined.status, StatusKind::Declined);
    assert_eq!(
        declined.status_reason.as_deref(),
        Some("金額に誤りがあります")
    );
    // The decline has its time, as a signature has.
    let decliner = declined
        .recipients
        .iter()
        .find(|r| r.email == "vendor-b@example.co.jp")
        .unwrap();
    assert_eq!(decliner.state, RecipientState::Declined);
    assert!(decliner.done_at.is_some(), "{decliner:?}");
    for token in [&a, &b] {
        assert!(matches!(
            inkan.open_link(token, &who).await,
            Err(ServiceError::Gone(_))
        ));
        assert!(matches!(
            inkan.complete(token, &[], &who).await,
            Err(ServiceError::Gone(_))
        ));
    }
    inkan.worker().drain().await.unwrap();
    assert!(
        t.outbox()
            .iter()
            .any(|m| m.to == "vendor-a@example.co.jp" && m.subject.contains("辞退")),
        "the other signer is told: {:#?}",
        t.outbox()
    );
    // Finished envelopes cannot be cancelled.
    assert!(matches!(
        inkan.cancel(&staff, &env.id, "x", &who).await,
        Err(ServiceError::NotAllowed(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_expiry_end_envelopes_and_notify() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "南九州市", "admin@city.minamikyushu.example.jp").await;
    let cancelled = draft(
        inkan,
        &staff,
        "取消する封筒",
        vec![recipient("v1@example.co.jp", Role::Signer, 1)],
        "1",
    )
    .await;
    inkan.send(&staff, &cancelled.id, &who).await.unwrap();
    inkan
        .cancel(&staff, &cancelled.id, "内容を変更するため", &who)
        .await
        .unwrap();
    inkan
        .cancel(&staff, &cancelled.id, "内容を変更するため", &who)
        .await
        .unwrap();
    assert_eq!(
        inkan.envelope(&staff, &cancelled.id).await.unwrap().status,
        StatusKind::Cancelled
    );

    let expiring = draft(
        inkan,
        &staff,
        "期限切れになる封筒",
        vec![recipient("v2@example.co.jp", Role::Signer, 1)],
        "2",
    )
    .await;
    inkan.send(&staff, &expiring.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token("v2@example.co.jp", "s");
    t.clock.advance(3 * 86_400 + 1);
    inkan.worker().drain().await.unwrap();
    assert_eq!(
        inkan.envelope(&staff, &expiring.id).await.unwrap().status,
        StatusKind::Expired
    );
    assert!(matches!(
        inkan.complete(&token, &[], &who).await,
        Err(ServiceError::Gone(_))
    ));
    let subjects: Vec<String> = t.outbox().into_iter().map(|m| m.subject).collect();
    assert!(subjects.iter().any(|s| s.contains("取消")), "{subjects:#?}");
    assert!(subjects.iter().any(|s| s.contains("期限")), "{subjects:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_type_signer_signs_with_a_certificate_in_their_own_name() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "admin@city.morioka.example.jp").await;
    let mut signer = recipient("jitsuin@example.co.jp", Role::Signer, 1);
    signer.name = "実印 太郎".into();
    signer.method = SignatureMethod::Party;
    let env = draft(inkan, &staff, "実印タイプの契約", vec![signer], "3").await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    inkan
        .complete(&t.link_token("jitsuin@example.co.jp", "s"), &[], &who)
        .await
        .unwrap();
    inkan.worker().drain().await.unwrap();
    let done = inkan.envelope(&staff, &env.id).await.unwrap();
    assert!(done.sealed);
    let (_, pdf) = inkan
        .download_document(&staff, &env.id, &done.documents[0].id, &who)
        .await
        .unwrap();
    let path = t.data.path().join("party.pdf");
    std::fs::write(&path, pdf).unwrap();
    if let Some((ok, text)) = pyhanko_valid(&path, &t.root_pem) {
        assert!(ok, "{text}");
        assert!(
            text.contains("実印 太郎"),
            "the signer's own certificate:\n{text}"
        );
    }
    if let Some((ok, text)) = ltv_check(&path, &t.root_pem, None) {
        assert!(ok, "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tsa_that_is_down_is_retried_and_never_replaced_by_an_invented_time() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let dead_url = inkan_testkit::unanswered_url("/tsa");
    let data = tempfile::tempdir().unwrap();
    let config = inkan_service::setup::Config {
        data_dir: Some(data.path().to_path_buf()),
        public_url: Some("http://127.0.0.1:9".into()),
        tsa_urls: vec![dead_url],
        ..Default::default()
    };
    let app = inkan_service::setup::assemble(config, inkan_service::setup::system_clock())
        .await
        .unwrap();
    let inkan = &app.inkan;
    let who = caller();
    let staff = organization(inkan, "盛岡市", "admin@city.morioka.example.jp").await;
    let env = draft(
        inkan,
        &staff,
        "TSA 停止中",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "4",
    )
    .await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let view = inkan.envelope(&staff, &env.id).await.unwrap();
    assert_eq!(
        view.documents[0].revision, 0,
        "nothing signed without a timestamp"
    );
    let report = inkan.job_report(None).await.unwrap();
    assert_eq!(
        report.queued, 1,
        "the seal job waits for its retry: {report:#?}"
    );
    let seal = inkan
        .store()
        .jobs(&inkan_store::JobFilter {
            kind: Some("seal".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        seal[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("timestamp"),
        "{seal:#?}"
    );
    // Nor is the audit trail anchored with an invented time: the round says what failed.
    let round = inkan.anchor_audit_chains(false).await.unwrap();
    assert_eq!(round.anchored, 0);
    assert_eq!(round.failed.len(), 1, "{round:#?}");
    assert!(inkan
        .store()
        .audit_anchors(staff.organization)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organization_never_sees_another() {
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let a = organization(inkan, "盛岡市", "a@city.morioka.example.jp").await;
    let b = organization(inkan, "滝沢市", "b@city.takizawa.example.jp").await;
    let env = draft(
        inkan,
        &a,
        "盛岡市の封筒",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "99",
    )
    .await;
    let doc = env.documents[0].id.clone();
    let not_found = |r: Result<_, ServiceError>| matches!(r, Err(ServiceError::NotFound(_)));
    assert!(not_found(inkan.envelope(&b, &env.id).await.map(|_| ())));
    assert!(not_found(inkan.send(&b, &env.id, &who).await.map(|_| ())));
    assert!(not_found(
        inkan.cancel(&b, &env.id, "x", &who).await.map(|_| ())
    ));
    assert!(not_found(
        inkan
            .download_document(&b, &env.id, &doc, &who)
            .await
            .map(|_| ())
    ));
    assert!(inkan.envelopes(&b, None, 100, 0).await.unwrap().is_empty());
    assert!(inkan
        .search(&b, &SearchInput::default())
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        inkan.audit_trail(&b, Some(&env.id)).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(inkan
        .audit_trail(&b, None)
        .await
        .unwrap()
        .iter()
        .all(|e| e.entry.envelope.is_none()));
    assert_eq!(
        inkan
            .search(&a, &SearchInput::default())
            .await
            .unwrap()
            .len(),
        1
    );
    // Credentials: a wrong key is refused; a password login names nobody else's organization.
    assert!(matches!(
        inkan
            .authenticate_api_key("inkan_wrong", &Default::default())
            .await,
        Err(ServiceError::Unauthenticated(_))
    ));
    let staff = inkan
        .login("a@city.morioka.example.jp", "correct horse battery", &who)
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(staff.organization, a.organization);
    assert!(inkan
        .login("a@city.morioka.example.jp", "wrong password!!", &who)
        .await
        .is_err());
    // A guessed link is not found.
    assert!(not_found(
        inkan
            .open_link("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &who)
            .await
            .map(|_| ())
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_with_hmac_and_retried_until_delivered() {
    use std::sync::{Arc, Mutex};
    // The receiver is on loopback over plain http: the administrator allows both.
    let t = common::start_with(None, |c| {
        c.allowed_networks = vec!["127.0.0.1/32".into()];
        c.allow_http_webhooks = Some(true);
    })
    .await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "hook@city.morioka.example.jp").await;
    // A receiver that fails the first delivery and accepts the rest.
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = {
        let (received, calls) = (received.clone(), calls.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (received, calls) = (received.clone(), calls.clone());
                async move {
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let signature = headers
                        .get("inkan-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    received.lock().unwrap().push((signature, body));
                    axum::http::StatusCode::OK
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    assert!(inkan
        .add_webhook(&staff, "ftp://example.jp/x", &who)
        .await
        .is_err());
    let hook = inkan.add_webhook(&staff, &url, &who).await.unwrap();
    // The secret is shown once and kept encrypted under the master key.
    let stored = inkan.store().webhooks(staff.organization).await.unwrap();
    assert!(stored[0].secret.starts_with("enc1:"), "kept in clear");
    assert!(!stored[0].secret.contains(&hook.secret));

    let env = draft(
        inkan,
        &staff,
        "通知される封筒",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "5",
    )
    .await;
    inkan.cancel(&staff, &env.id, "テスト", &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    assert!(
        received.lock().unwrap().is_empty(),
        "the first delivery failed"
    );
    t.clock.advance(60);
    inkan.worker().drain().await.unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered once after the retry: {got:#?}");
    let (header, body) = &got[0];
    let (time, mac) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=…,v1=…");
    let expected =
        inkan_service::webhook_signature(&hook.secret, time.parse().unwrap(), body.as_bytes());
    assert_eq!(mac, expected, "the HMAC covers the time and the body");
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["event"], "envelope.cancelled");
    assert_eq!(event["envelope"]["id"], env.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_combines_criteria_and_exports_csv() {
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "csv@city.morioka.example.jp").await;
    for (title, amount) in [
        ("小さい契約", "10,000"),
        ("中くらいの契約", "500,000"),
        ("大きい契約", "2,000,000"),
    ] {
        draft(
            inkan,
            &staff,
            title,
            vec![recipient("v@example.co.jp", Role::Signer, 1)],
            amount,
        )
        .await;
    }
    let search = |min: Option<&str>, max: Option<&str>| SearchInput {
        amount_min: min.map(String::from),
        amount_max: max.map(String::from),
        date_from: Some("2026-05-01".into()),
        date_to: Some("2026-05-01".into()),
        counterparty: Some("テスト".into()),
        ..SearchInput::default()
    };
    assert_eq!(
        inkan
            .search(&staff, &search(Some("10000"), Some("500,000円")))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        inkan
            .search(&staff, &search(Some("500001"), None))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(inkan
        .search(
            &staff,
            &SearchInput {
                date_from: Some("2026-13-01".into()),
                ..SearchInput::default()
            }
        )
        .await
        .is_err());
    let csv = inkan
        .search_csv(&staff, &search(None, None), &who)
        .await
        .unwrap();
    let (csv, failure) = drain(csv.chunks).await;
    assert!(failure.is_none(), "{failure:?}");
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].contains("取引年月日,取引金額,取引先"), "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2026-05-01,2000000,株式会社テスト,契約書.pdf,大きい契約")),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_type_signer_may_bring_their_own_pkcs12() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let Some(openssl) = inkan_testkit::require_tool("openssl", "makes the signer's PKCS#12") else {
        return;
    };
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    // The signer's certificate and key, from a CA the installation trusts, as a .p12 file.
    let pki = inkan_pki::Pki::open(&t.data.path().join("pki")).unwrap();
    let (cert, key) = pki
        .issue_signer(
            &inkan_pki::SignerRequest {
                name: "持参 花子".into(),
                email: Some("own@example.co.jp".into()),
                days: 30,
            },
            inkan_keys::KeyKind::EcP256,
        )
        .unwrap();
    let dir = t.data.path();
    std::fs::write(
        dir.join("own.key"),
        key.to_pem(inkan_keys::KeyProtection::None)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    std::fs::write(
        dir.join("own.crt"),
        inkan_pki::x509::to_pem(&[cert]).unwrap(),
    )
    .unwrap();
    inkan_testkit::run_ok(
        std::process::Command::new(openssl)
            .args([
                "pkcs12",
                "-export",
                "-passout",
                "pass:秘密のパスワード",
                "-inkey",
            ])
            .arg(dir.join("own.key"))
            .arg("-in")
            .arg(dir.join("own.crt"))
            .arg("-certfile")
            .arg(dir.join("pki/issuing-ca.pem"))
            .arg("-out")
            .arg(dir.join("own.p12")),
    );
    let p12 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        std::fs::read(dir.join("own.p12")).unwrap(),
    );

    let staff = organization(inkan, "盛岡市", "p12@city.morioka.example.jp").await;
    let mut signer = recipient("own@example.co.jp", Role::Signer, 1);
    signer.method = SignatureMethod::Party;
    let env = draft(inkan, &staff, "持参の証明書で署名", vec![signer], "6").await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token("own@example.co.jp", "s");
    let upload = |password: &str| inkan_service::OwnCertificateUpload {
        content_base64: p12.clone(),
        password: password.into(),
    };
    let err = inkan
        .upload_own_certificate(&token, &upload("wrong"), &who)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err}");
    let view = inkan
        .upload_own_certificate(&token, &upload("秘密のパスワード"), &who)
        .await
        .unwrap();
    assert!(view.subject.contains("持参 花子"), "{view:?}");
    inkan.complete(&token, &[], &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let done = inkan.envelope(&staff, &env.id).await.unwrap();
    assert!(done.sealed);
    let (_, pdf) = inkan
        .download_document(&staff, &env.id, &done.documents[0].id, &who)
        .await
        .unwrap();
    let path = dir.join("own-signed.pdf");
    std::fs::write(&path, pdf).unwrap();
    if let Some((ok, text)) = pyhanko_valid(&path, &t.root_pem) {
        assert!(ok, "{text}");
        assert!(
            text.contains("持参 花子"),
            "signed with the uploaded certificate:\n{text}"
        );
    }
    if let Some((ok, text)) = ltv_check(&path, &t.root_pem, None) {
        assert!(ok, "{text}");
    }
}

/// Sends every mail through the outbox, except that it panics on one address: a bug deep in a
/// dependency, as lettre's builder once was on a CR/LF display name.
struct PanicsOn {
    address: &'static str,
    outbox: inkan_mail::EmlDirMailer,
}

#[async_trait::async_trait]
impl inkan_mail::Mailer for PanicsOn {
    async fn send(&self, mail: &inkan_mail::OutgoingMail) -> Result<(), inkan_mail::MailError> {
        if mail.to.iter().any(|a| a.email == self.address) {
            panic!("the mail builder choked on {}", self.address);
        }
        self.outbox.send(mail).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_job_fails_alone_and_every_other_organization_goes_on() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let mut t = start(None).await;
    t.inkan = t.inkan.clone().with_mailer(std::sync::Arc::new(PanicsOn {
        address: "poison@example.co.jp",
        outbox: inkan_mail::EmlDirMailer::new(t.data.path().join("outbox")).unwrap(),
    }));
    let (inkan, who) = (&t.inkan, caller());

    // Hostile names are refused where they are typed, naming the field.
    let morioka = organization(inkan, "盛岡市", "a@city.morioka.example.jp").await;
    let mut crlf = recipient("v@example.co.jp", Role::Signer, 1);
    crlf.name = "山田\r\nBcc: victim@example.com".into();
    let err = inkan
        .create_envelope(
            &morioka,
            &inkan_service::NewEnvelope {
                number: "R8-1".into(),
                title: "業務委託契約".into(),
                message: String::new(),
                deadline: inkan_service::Clock::now(&inkan_service::SystemClock) + 86_400,
                counterparty: None,
                recipients: vec![crlf],
                documents: vec![],
                attachments: vec![],
                folder: None,
            },
            &who,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("recipients[0]") && err.contains("受信者の氏名") && err.contains("改行"),
        "{err}"
    );
    for bad_title in ["契約\r\nX-Evil: 1", "\u{202e}fdp.exe"] {
        let err = inkan
            .create_organization(&inkan_service::NewOrganization {
                name: bad_title.into(),
                department: None,
                admin_name: "管理者".into(),
                admin_email: "x@example.jp".into(),
                admin_password: None,
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("組織名"), "{err}");
    }

    // One organization's job panics every time; another organization's envelope goes through.
    let poisoned = draft(
        inkan,
        &morioka,
        "毒入りの封筒",
        vec![recipient("poison@example.co.jp", Role::Signer, 1)],
        "1",
    )
    .await;
    inkan.send(&morioka, &poisoned.id, &who).await.unwrap();
    let takizawa = organization(inkan, "滝沢市", "b@city.takizawa.example.jp").await;
    let healthy = draft(
        inkan,
        &takizawa,
        "物品購入契約",
        vec![recipient("vendor@example.co.jp", Role::Signer, 1)],
        "2",
    )
    .await;
    inkan.send(&takizawa, &healthy.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token("vendor@example.co.jp", "s");
    inkan.complete(&token, &[], &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    assert_eq!(
        inkan.envelope(&takizawa, &healthy.id).await.unwrap().status,
        StatusKind::Completed
    );
    assert!(t
        .outbox()
        .iter()
        .any(|m| m.to == "vendor@example.co.jp" && m.subject.contains("完了")));
    // Concluded: the signing link no longer serves the documents; the completion link does.
    let doc = &healthy.documents[0].id;
    let gone = inkan.signer_document(&token, doc, &who).await.unwrap_err();
    assert!(
        matches!(gone, ServiceError::Gone(ref why) if why.contains("締結済み")),
        "{gone}"
    );
    assert!(inkan.signer_displays(&token, &caller()).await.is_err());
    let view = inkan.open_link(&token, &who).await.unwrap();
    assert!(view.documents.is_empty() && view.attachments.is_empty());
    let completion = t.link_token("vendor@example.co.jp", "c");
    assert!(inkan
        .completion_document(&completion, doc, &who)
        .await
        .is_ok());

    // The poisoned job failed for good, with its reason, seen by its own organization only.
    let failed = inkan.failed_jobs(Some(morioka.organization)).await.unwrap();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].kind, "email");
    let reason = failed[0].last_error.as_deref().unwrap_or_default();
    assert!(
        reason.contains("internal fault") && reason.contains("choked"),
        "{reason}"
    );
    assert!(inkan
        .failed_jobs(Some(takizawa.organization))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(inkan.job_report(None).await.unwrap().failed.len(), 1);
}

/// Whatever umask the service starts with, its folders are 0700 and its files 0600: the
/// database, the keys, the PKI, the encrypted blobs and the outgoing mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "a@city.morioka.example.jp").await;
    let env = draft(
        inkan,
        &staff,
        "権限の確認",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "1",
    )
    .await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let (mut dirs, mut files) = (0, 0);
    let mut stack = vec![t.data.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        dirs += 1;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    assert!(dirs >= 4 && files >= 8, "{dirs} folders, {files} files");
}

/// A sent envelope with one 実印タイプ signer; the signer's link.
async fn party_link(t: &common::TestService, who: &inkan_service::Caller) -> String {
    let staff = organization(&t.inkan, "盛岡市", "p12@city.morioka.example.jp").await;
    let mut signer = recipient("self@example.co.jp", Role::Signer, 1);
    signer.method = SignatureMethod::Party;
    let env = draft(&t.inkan, &staff, "自己署名の証明書", vec![signer], "7").await;
    t.inkan.send(&staff, &env.id, who).await.unwrap();
    t.inkan.worker().drain().await.unwrap();
    t.link_token("self@example.co.jp", "s")
}

/// A signer's PKCS#12 whose certificate does not chain to the installation's trust list is
/// refused at upload with the reason, and nothing is fetched from the addresses it names; an
/// administrator who adds its root to `trust_anchors` makes it acceptable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_certificate_must_chain_to_the_installations_trust_list() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let Some(openssl) = inkan_testkit::require_tool("openssl", "makes the signer's PKCS#12") else {
        return;
    };
    // A listener that must receive nothing: the OCSP and CRL addresses of the certificate.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    inkan_testkit::run_ok(
        std::process::Command::new(&openssl)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args([
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=Self Signed Taro/O=Example",
            ])
            .args([
                "-addext",
                &format!("crlDistributionPoints=URI:http://127.0.0.1:{port}/crl"),
            ])
            .args([
                "-addext",
                &format!("authorityInfoAccess=OCSP;URI:http://127.0.0.1:{port}/ocsp"),
            ])
            .arg("-keyout")
            .arg(p("self.key"))
            .arg("-out")
            .arg(p("self.crt")),
    );
    inkan_testkit::run_ok(
        std::process::Command::new(&openssl)
            .args(["pkcs12", "-export", "-passout", "pass:pw", "-inkey"])
            .arg(p("self.key"))
            .arg("-in")
            .arg(p("self.crt"))
            .arg("-out")
            .arg(p("self.p12")),
    );
    let upload = inkan_service::OwnCertificateUpload {
        content_base64: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            std::fs::read(p("self.p12")).unwrap(),
        ),
        password: "pw".into(),
    };
    let who = caller();
    let t = start(None).await;
    let token = party_link(&t, &who).await;
    let err = t
        .inkan
        .upload_own_certificate(&token, &upload, &who)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid(ref why) if why.contains("信頼する認証局") && why.contains("trusts")),
        "{err}"
    );
    assert!(
        matches!(listener.accept(), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something was fetched from the certificate's addresses"
    );

    // Trusted by the administrator's choice: accepted.
    let trusted = common::start_with(None, |c| c.trust_anchors = vec![p("self.crt")]).await;
    let token = party_link(&trusted, &who).await;
    let view = trusted
        .inkan
        .upload_own_certificate(&token, &upload, &who)
        .await
        .unwrap();
    assert!(view.subject.contains("Self Signed Taro"), "{view:?}");
}

/// Webhooks go to public https URLs only, unless the administrator allows more: loopback,
/// private and metadata addresses are refused at registration, and a stored endpoint the
/// policy no longer allows is never called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_never_reach_internal_addresses() {
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "hook2@city.morioka.example.jp").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://localhost:{port}/hook"),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        "https://[::1]/hook".to_string(),
        "http://hooks.example.jp/plain-http".to_string(),
    ] {
        let err = inkan.add_webhook(&staff, &url, &who).await.unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)), "{url}: {err}");
    }
    // A public https URL is fine (in another organization: this test delivers nothing there).
    let other = organization(inkan, "滝沢市", "hook3@city.takizawa.example.jp").await;
    assert!(inkan
        .add_webhook(&other, "https://hooks.example.jp/inkan", &who)
        .await
        .is_ok());
    // An endpoint stored before the policy (or by hand): its deliveries fail, nothing is sent.
    inkan
        .store()
        .create_webhook(&inkan_store::Webhook {
            id: inkan_domain::WebhookId::new(),
            organization: staff.organization,
            url: format!("http://127.0.0.1:{port}/hook"),
            secret: "s".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    let env = draft(
        inkan,
        &staff,
        "通知の確認",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "1",
    )
    .await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    assert!(
        matches!(listener.accept(), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a webhook reached a loopback listener"
    );
    let failed = inkan.failed_jobs(Some(staff.organization)).await.unwrap();
    assert!(
        failed
            .iter()
            .any(|j| j.kind == "webhook"
                && j.last_error.as_deref().unwrap_or("").contains("127.0.0.1")),
        "{failed:#?}"
    );
}

/// A signer's mail was forwarded: staff send a fresh link, the old one stops working at once,
/// and the new one is mailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_send_a_fresh_link_and_the_old_one_dies() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "link@city.morioka.example.jp").await;
    let env = draft(
        inkan,
        &staff,
        "転送されたメール",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "1",
    )
    .await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let old = t.link_token("v@example.co.jp", "s");
    assert!(inkan.open_link(&old, &who).await.is_ok());
    let signer = inkan.envelope(&staff, &env.id).await.unwrap().recipients[0]
        .id
        .clone();
    inkan
        .send_fresh_link(&staff, &env.id, &signer, &who)
        .await
        .unwrap();
    inkan.worker().drain().await.unwrap();
    assert!(matches!(
        inkan.open_link(&old, &who).await,
        Err(ServiceError::NotFound(_))
    ));
    let fresh: Vec<String> = t
        .outbox()
        .iter()
        .filter(|m| m.to == "v@example.co.jp" && m.subject.contains("署名依頼"))
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(fresh.len(), 2, "the request went out again");
    let new = fresh
        .iter()
        .find_map(|text| {
            let marker = format!("{}/s/", t.public_url);
            let start = text.find(&marker)? + marker.len();
            let token: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            (token != old).then_some(token)
        })
        .expect("a new link");
    assert!(inkan.open_link(&new, &who).await.unwrap().can_act);
    // Another organization cannot, and a recipient who is done has nothing to renew.
    let other = organization(inkan, "滝沢市", "x@city.takizawa.example.jp").await;
    assert!(matches!(
        inkan.send_fresh_link(&other, &env.id, &signer, &who).await,
        Err(ServiceError::NotFound(_))
    ));
    inkan.complete(&new, &[], &who).await.unwrap();
    assert!(inkan
        .send_fresh_link(&staff, &env.id, &signer, &who)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_timestamped_while_it_moves_and_late_anchoring_is_reported() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    const DAY: i64 = 86_400;
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let report = |reports: Vec<inkan_service::AuditReport>| {
        assert_eq!(reports.len(), 1, "{reports:#?}");
        let r = reports.into_iter().next().unwrap();
        assert!(r.broken.is_none(), "{r:#?}");
        r
    };
    // Three days ago (the clock turned back), a draft: entries written then, never anchored.
    t.clock.advance(-3 * DAY);
    let staff = organization(inkan, "盛岡市", "admin@city.morioka.example.jp").await;
    draft(
        inkan,
        &staff,
        "三日前の下書き",
        vec![recipient("v@example.co.jp", Role::Signer, 1)],
        "1",
    )
    .await;
    t.clock.advance(3 * DAY);
    let r = report(inkan.verify_audit().await.unwrap());
    assert!(r.anchored.is_none());
    assert!(
        r.unanchored
            .as_deref()
            .is_some_and(|w| w.contains("no timestamp anchor yet")),
        "{r:#?}"
    );

    // The sweep anchors it now, with the TSA's real time: intact, but anchored late.
    let round = inkan.anchor_audit_chains(true).await.unwrap();
    assert_eq!((round.anchored, round.failed.len()), (1, 0), "{round:#?}");
    let r = report(inkan.verify_audit().await.unwrap());
    let head = inkan
        .store()
        .audit_head(staff.organization)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.anchored.as_ref().map(|a| a.seq), Some(head.0));
    assert!(
        r.unanchored
            .as_deref()
            .is_some_and(|w| w.contains("anchored only at")),
        "{r:#?}"
    );

    // A head that did not move is not stamped again; one that moved waits for the interval.
    assert_eq!(inkan.anchor_audit_chains(true).await.unwrap().anchored, 0);
    let env = draft(
        inkan,
        &staff,
        "今日の契約",
        vec![recipient("w@example.co.jp", Role::Signer, 1)],
        "2",
    )
    .await;
    inkan.send(&staff, &env.id, &who).await.unwrap();
    assert_eq!(inkan.anchor_audit_chains(true).await.unwrap().anchored, 0);
    // `inkan audit anchor` does not wait.
    assert_eq!(inkan.anchor_audit_chains(false).await.unwrap().anchored, 1);
    let anchors = inkan
        .store()
        .audit_anchors(staff.organization)
        .await
        .unwrap();
    assert_eq!(anchors.len(), 2);
    assert!(anchors[0].seq < anchors[1].seq);
    // Every anchor is an RFC 3161 token over the head it names, from a trusted TSA.
    for a in &anchors {
        let imprint = inkan_store::anchor_imprint(a.organization, a.seq, &a.hash);
        inkan.engine().check_timestamp(&a.token, &imprint).unwrap();
        let mut other = imprint;
        other[0] ^= 1;
        assert!(matches!(
            inkan.engine().check_timestamp(&a.token, &other),
            Err(inkan_service::TimestampFault::Invalid(_))
        ));
    }
    // An anchor whose token was swapped for another head's is not a proof.
    let forged = inkan_store::AuditAnchor {
        seq: 1,
        hash: inkan
            .store()
            .audit_entries(staff.organization, None)
            .await
            .unwrap()[0]
            .hash
            .clone(),
        ..anchors[1].clone()
    };
    inkan.store().add_audit_anchor(&forged).await.unwrap();
    let reports = inkan.verify_audit().await.unwrap();
    assert!(
        reports[0]
            .broken
            .as_deref()
            .is_some_and(|b| b.contains("entry 1: its timestamp anchor is not valid")),
        "{reports:#?}"
    );
}

/// `inkan demo` sends real Japanese documents: a 業務委託契約書 with its articles and a 請書 the
/// vendor alone signs, whose 署名日 the vendor writes in; pdftotext reads them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_sends_a_japanese_contract_and_its_ukesho() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let Some(pdftotext) = inkan_testkit::require_tool("pdftotext", "reads the demo's pages") else {
        return;
    };
    let t = start(None).await;
    let seed = inkan_service::demo::seed(&t.inkan).await.unwrap();
    let staff = t
        .inkan
        .authenticate_api_key(&seed.api_key, &Default::default())
        .await
        .unwrap();
    let envelope = t.inkan.envelope(&staff, &seed.envelope_id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut texts = Vec::new();
    for d in &envelope.documents {
        let (_, bytes) = t
            .inkan
            .download_document(&staff, &envelope.id, &d.id, &caller())
            .await
            .unwrap();
        let path = dir.path().join("doc.pdf");
        std::fs::write(&path, bytes).unwrap();
        let out = std::process::Command::new(&pdftotext)
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        texts.push((
            d.name.clone(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        ));
    }
    let (name, contract) = &texts[0];
    assert_eq!(name, "業務委託契約書.pdf");
    for shown in [
        "庁舎清掃業務委託契約書",
        "第1条（委託業務）",
        "第10条",
        "株式会社盛岡清掃",
    ] {
        assert!(contract.contains(shown), "{shown} missing:\n{contract}");
    }
    let (name, ukesho) = &texts[1];
    assert_eq!(name, "請書.pdf");
    assert!(ukesho.contains("次のとおり請け負います"), "{ukesho}");
    assert!(ukesho.contains("署名日"), "{ukesho}");
    // The 請書 is the vendor's alone, and its 署名日 is the vendor's field.
    let vendor = envelope
        .recipients
        .iter()
        .find(|r| r.email == "taro.yamada@seisou.example.co.jp")
        .unwrap();
    let date = envelope.documents[1]
        .fields
        .iter()
        .find(|f| f.kind == FieldKind::Date)
        .expect("the 請書 has the 署名日 field");
    assert_eq!(date.recipient, vendor.id);
    assert_eq!(date.label, "署名日");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_an_empty_installation_on_sqlite() {
    if inkan_testkit::japanese_font_installed() {
        backup_then_disaster_then_restore(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_an_empty_installation_on_postgres() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let (Some(db), Some(empty)) = (
        inkan_testkit::postgres::fresh_database(),
        inkan_testkit::postgres::fresh_database(),
    ) else {
        return;
    };
    backup_then_disaster_then_restore(Some((db.url.clone(), empty.url.clone()))).await;
}

/// Data, a backup, more data, a second (incremental) backup, one more envelope sent, then the
/// installation destroyed; restored from the latest set into an empty one (the same folder; for
/// PostgreSQL a new empty database): what was in the set is back byte for byte, API keys and
/// signer links work, the TSA's serials continue above anything issued, sealing goes on, and
/// the restore drill passes — and fails when the destination was tampered with.
async fn backup_then_disaster_then_restore(postgres: Option<(String, String)>) {
    use inkan_service::backup::{BackupConfig, Backups, Quiet, Source};
    use inkan_service::setup::{assemble, Config};

    let (database, restore_database) = match postgres {
        Some((db, empty)) => (Some(db), Some(empty)),
        None => (None, None),
    };
    let t = start(database.clone()).await;
    let (inkan, who) = (&t.inkan, caller());
    let (api_key, staff) =
        organization_with_key(inkan, "滝沢市", "admin@city.takizawa.example.jp").await;
    let first = concluded(&t, &staff, "清掃業務委託", "a@vendor.example.jp").await;

    let backups_dir = tempfile::tempdir().unwrap();
    let key_dir = tempfile::tempdir().unwrap();
    let backup = BackupConfig {
        destination: Some(inkan_blobs::BlobConfig::Filesystem {
            root: backups_dir.path().to_path_buf(),
        }),
        key_file: Some(key_dir.path().join("backup.key")),
        ..BackupConfig::default()
    };
    let config = Config {
        data_dir: Some(t.data.path().to_path_buf()),
        public_url: Some(t.public_url.clone()),
        database_url: database.clone(),
        backup: Some(backup.clone()),
        ..Config::default()
    };
    let source = Source {
        inkan: inkan.clone(),
        config: config.clone(),
        pki_dir: t.data.path().join("pki"),
    };
    let backups = Backups::open(&config, true).unwrap();
    let set1 = backups.create(&source, &Quiet).await.unwrap();
    assert_eq!(set1.inventory.envelopes, 1);
    assert_eq!(
        set1.inventory.sealed_files.len(),
        2,
        "the document and the certificate"
    );
    assert!(set1.files.iter().any(|f| f.name == "keys/links.key"));
    assert!(set1.files.iter().any(|f| f.name == "pki/root.pem"));
    let pooled = |name: &str| std::fs::read(backups_dir.path().join("blobs").join(name)).unwrap();
    let first_blob = set1.blobs[0].name.clone();
    let first_blob_stored = pooled(&first_blob);
    // Nothing of the contract is readable in the destination.
    assert!(!first_blob_stored.windows(5).any(|w| w == b"%PDF-"));

    // More data, then the next day's set: only new blobs are copied.
    let second = concluded(&t, &staff, "給食業務委託", "b@vendor.example.jp").await;
    let pending = sent(inkan, &staff, "未署名の契約", "c@vendor.example.jp", "5").await;
    let pending_link = t.link_token("c@vendor.example.jp", "s");
    t.clock.advance(86_400);
    let set2 = backups.create(&source, &Quiet).await.unwrap();
    assert_ne!(set1.name, set2.name);
    assert_eq!(set2.inventory.envelopes, 3);
    assert_eq!(
        pooled(&first_blob),
        first_blob_stored,
        "an unchanged blob is not copied again"
    );
    let mut listed: Vec<String> = backups
        .sets()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    listed.sort();
    assert_eq!(listed, vec![set1.name.clone(), set2.name.clone()]);

    // After the set: one more envelope, sealed (the TSA hands out more serial numbers), which
    // the restore will not have.
    let lost = concluded(&t, &staff, "バックアップ後の契約", "d@vendor.example.jp").await;
    let (_, first_pdf) = inkan
        .download_document(&staff, &first.id, &first.documents[0].id, &who)
        .await
        .unwrap();
    let serial_file = t.data.path().join("pki").join("db").join("tsa-serial");
    let issued_before: u128 = std::fs::read_to_string(&serial_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    // The disaster: the data folder's contents gone (and for PostgreSQL, a new empty database).
    for entry in std::fs::read_dir(t.data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let target = Config {
        database_url: restore_database.clone().or(database.clone()),
        ..config.clone()
    };
    let restored_set = Backups::open(&target, false)
        .unwrap()
        .restore("latest", &target, std::time::SystemTime::now(), &Quiet)
        .await
        .unwrap();
    assert_eq!(restored_set.name, set2.name);
    let restored_serial: u128 = std::fs::read_to_string(&serial_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        restored_serial > issued_before,
        "TSA serials continue above anything issued: {restored_serial} > {issued_before}"
    );
    // A second restore into the now full installation is refused.
    let again = Backups::open(&target, false)
        .unwrap()
        .restore("latest", &target, std::time::SystemTime::now(), &Quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("空ではありません"), "{again}");

    let app = assemble(target.clone(), t.clock.clone()).await.unwrap();
    let restored = &app.inkan;
    let staff = restored
        .authenticate_api_key(&api_key, &Default::default())
        .await
        .unwrap();
    let (_, pdf) = restored
        .download_document(&staff, &first.id, &first.documents[0].id, &who)
        .await
        .unwrap();
    assert_eq!(pdf, first_pdf, "the sealed PDF comes back byte for byte");
    assert!(restored.envelope(&staff, &second.id).await.unwrap().sealed);
    assert!(
        restored.envelope(&staff, &lost.id).await.is_err(),
        "made after the set"
    );
    assert!(restored
        .verify_audit()
        .await
        .unwrap()
        .iter()
        .all(|r| r.broken.is_none()));
    // The signer link mailed before the disaster still works, and sealing goes on.
    restored.complete(&pending_link, &[], &who).await.unwrap();
    restored.worker().drain().await.unwrap();
    let pending = restored.envelope(&staff, &pending.id).await.unwrap();
    assert!(
        pending.sealed,
        "{:#?}",
        restored
            .store()
            .jobs(&inkan_store::JobFilter::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.status != inkan_store::JobStatus::Done)
            .map(|j| (j.kind, j.run_at, j.status, j.attempts, j.last_error))
            .collect::<Vec<_>>()
    );
    let (_, pdf) = restored
        .download_document(&staff, &pending.id, &pending.documents[0].id, &who)
        .await
        .unwrap();
    let path = t.data.path().join("after-restore.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Some((ok, text)) = pyhanko_valid(&path, &t.root_pem) {
        assert!(ok, "{text}");
    }

    // The drill: the set restored into a scratch installation and checked.
    let report = backups.drill(&set2.name, &target, &Quiet).await.unwrap();
    assert!(report.sound(), "{report:#?}");
    assert_eq!(
        (
            report.envelopes,
            report.sealed_files,
            report.valid_signatures
        ),
        (3, 4, 4)
    );
    assert!(report.audit_chains >= 1);

    // Pruning to one daily set removes the older set; the kept one still restores.
    let strict = Config {
        backup: Some(BackupConfig {
            keep: inkan_service::backup::Retention {
                daily: 1,
                monthly: 0,
                yearly: 0,
            },
            ..backup.clone()
        }),
        ..target.clone()
    };
    let strict_backups = Backups::open(&strict, false).unwrap();
    let removed = strict_backups
        .prune(inkan_service::Clock::now(&*t.clock))
        .await
        .unwrap();
    assert_eq!(removed, vec![set1.name.clone()]);
    let names: Vec<String> = strict_backups
        .sets()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, vec![set2.name.clone()]);
    fn files_under(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    if e.path().is_dir() {
                        files_under(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    assert_eq!(
        files_under(&backups_dir.path().join("sets").join(&set1.name)),
        0
    );
    assert!(strict_backups
        .drill("latest", &target, &Quiet)
        .await
        .unwrap()
        .sound());

    // A blob changed in the destination: the drill refuses the set and names the blob.
    let tampered = backups_dir.path().join("blobs").join(&first_blob);
    let mut bytes = std::fs::read(&tampered).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&tampered, bytes).unwrap();
    let refused = backups
        .drill("latest", &target, &Quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains(&first_blob), "{refused}");

    // Without the key, nothing.
    let keyless = Config {
        backup: Some(BackupConfig {
            key_file: Some(key_dir.path().join("missing.key")),
            ..backup
        }),
        ..target
    };
    let missing = Backups::open(&keyless, false).err().unwrap().to_string();
    assert!(missing.contains("バックアップ鍵"), "{missing}");
}

// ── Archive renewal ──────────────────────────────────────────────────────────────────────────

/// A service whose built-in TSA's first certificate lives `tsa_lifetime`, renewing archive
/// timestamps a day before their proof runs out; plus a sealed envelope (one document, one
/// signer).
async fn short_lived_tsa(
    tsa_lifetime: std::time::Duration,
) -> (common::TestService, inkan_service::Staff, String) {
    let t = common::start_with(None, |c| {
        let data = c.data_dir.clone().unwrap();
        let base = format!("{}/pki", c.public_url.clone().unwrap());
        inkan_pki::Pki::init(
            &data.join("pki"),
            inkan_pki::InitOptions {
                base_url: base,
                org: "Inkan".into(),
                keys: inkan_pki::KeyBackendConfig::File {
                    kek_file: "keys/kek.bin".into(),
                },
                tsa_policy: None,
                tsa_lifetime: Some(tsa_lifetime),
            },
        )
        .unwrap();
        c.archive_renewal_days = Some(1);
    })
    .await;
    let who = caller();
    let staff = organization(&t.inkan, "南九州市", "admin@city.minamikyushu.example.jp").await;
    let env = draft(
        &t.inkan,
        &staff,
        "長期保存の契約",
        vec![recipient("vendor@example.co.jp", Role::Signer, 1)],
        "880000",
    )
    .await;
    t.inkan.send(&staff, &env.id, &who).await.unwrap();
    t.inkan.worker().drain().await.unwrap();
    t.inkan
        .complete(&t.link_token("vendor@example.co.jp", "s"), &[], &who)
        .await
        .unwrap();
    t.inkan.worker().drain().await.unwrap();
    assert!(t.inkan.envelope(&staff, &env.id).await.unwrap().sealed);
    (t, staff, env.id)
}

/// What an envelope's renewals look like from outside: the document's revision, the
/// certificate's SHA-256, and the `archive_renewed` audit entries.
async fn archive_state(
    t: &common::TestService,
    staff: &inkan_service::Staff,
    id: &str,
) -> (u32, String, usize) {
    let view = t.inkan.envelope(staff, id).await.unwrap();
    let record = t
        .inkan
        .store()
        .envelope(staff.organization, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let renewals = t
        .inkan
        .audit_trail(staff, Some(id))
        .await
        .unwrap()
        .iter()
        .filter(|a| a.entry.action == "archive_renewed")
        .count();
    (
        view.documents[0].revision,
        record.certificate.unwrap().sha256,
        renewals,
    )
}

/// The real time `days` from now, `2029-06-01T00:00:00` (UTC).
fn iso_in_days(days: u64) -> String {
    let at: time::OffsetDateTime =
        (std::time::SystemTime::now() + std::time::Duration::from_secs(days * 86_400)).into();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The end of a certificate, Unix seconds.
fn not_after(certificate: &x509_cert::Certificate) -> i64 {
    certificate
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs() as i64
}

/// Sealed with a TSA certificate that ends in two days. The sweep renews the TSA's own
/// certificate at once (the same key, for 5 years) but the document is not due yet; a day later
/// it is: one job, however often the sweep runs; the worker — killed several times in the
/// middle first — renews the document and the 電子契約締結証明書 exactly once each. At a moment
/// after the first TSA certificate (and the witness certificate) ended, pyHanko validates the
/// renewed files from their embedded data and refuses the copies from before; a copy from
/// before is still recognised as this envelope's document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_timestamps_are_renewed_once_before_the_tsa_certificate_ends() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let (t, staff, id) = short_lived_tsa(std::time::Duration::from_secs(2 * 86_400)).await;
    let inkan = &t.inkan;
    let who = caller();
    let first_tsa_ends = not_after(&inkan.engine().pki().tsa_certificate());
    let documents = inkan
        .store()
        .documents(staff.organization, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        documents[0].archive_until,
        Some(first_tsa_ends),
        "the proof runs out with the TSA certificate"
    );
    let document_id = documents[0].id.to_string();
    let (_, before_pdf) = inkan
        .download_document(&staff, &id, &document_id, &who)
        .await
        .unwrap();
    let (_, before_certificate) = inkan.download_certificate(&staff, &id, &who).await.unwrap();
    let before = archive_state(&t, &staff, &id).await;

    // Today: the TSA's own certificate is renewed (it ends within a day + 30 days); the
    // document is not due (its proof ends in two days, the window is one).
    let sweep = inkan.sweep_archives().await.unwrap();
    assert_eq!(sweep.certificates_renewed, vec!["tsa"]);
    assert_eq!(sweep.queued, 0);
    assert!(not_after(&inkan.engine().pki().tsa_certificate()) > first_tsa_ends + 4 * 365 * 86_400);
    assert_eq!(inkan.sweep_archives().await.unwrap(), Default::default());

    // A day and an hour later it is due: one job for the envelope, even when swept twice.
    t.clock.advance(86_400 + 3600);
    assert_eq!(inkan.sweep_archives().await.unwrap().queued, 1);
    assert_eq!(inkan.sweep_archives().await.unwrap().queued, 0);

    // The worker is killed in the middle of the job a few times; each time the lease runs out
    // and the next worker takes the job over.
    for delay_ms in [1u64, 15, 40, 90, 200, 400] {
        let worker = inkan.worker();
        let round = tokio::spawn(async move { worker.run_once().await });
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        round.abort();
        let _ = round.await;
        t.clock.advance(inkan.settings().job_lease_seconds + 1);
    }
    inkan.worker().drain().await.unwrap();
    let after = archive_state(&t, &staff, &id).await;
    assert_eq!(after.0, before.0 + 1, "the document renewed exactly once");
    assert_ne!(after.1, before.1, "the certificate renewed");
    assert_eq!(
        after.2, 2,
        "two renewals audited: the document and the certificate"
    );
    let documents = inkan
        .store()
        .documents(staff.organization, id.parse().unwrap())
        .await
        .unwrap();
    assert!(documents[0].archive_until.unwrap() > first_tsa_ends + 4 * 365 * 86_400);

    // Nothing more to do: the sweep finds nothing, another round changes nothing.
    assert_eq!(inkan.sweep_archives().await.unwrap().queued, 0);
    inkan.worker().drain().await.unwrap();
    assert_eq!(archive_state(&t, &staff, &id).await, after);
    assert!(inkan
        .verify_audit()
        .await
        .unwrap()
        .iter()
        .all(|r| r.broken.is_none()));

    let (_, after_pdf) = inkan
        .download_document(&staff, &id, &document_id, &who)
        .await
        .unwrap();
    let (_, after_certificate) = inkan.download_certificate(&staff, &id, &who).await.unwrap();
    assert!(
        after_pdf.starts_with(&before_pdf),
        "a new revision, the old bytes kept"
    );
    assert!(after_certificate.starts_with(&before_certificate));
    // The copy from before the renewal is still this envelope's document.
    let verified = inkan
        .verify_upload("before.pdf", &before_pdf)
        .await
        .unwrap();
    assert!(verified.report.valid);
    assert_eq!(
        verified.conclusion.identical_to.as_deref(),
        Some("契約書.pdf")
    );

    // pyHanko: valid now (embedded data only), and at a moment after the first TSA
    // certificate ended only with the renewal.
    let dir = t.data.path();
    for (name, bytes) in [
        ("before.pdf", &before_pdf),
        ("after.pdf", &after_pdf),
        ("certificate-before.pdf", &before_certificate),
        ("certificate-after.pdf", &after_certificate),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    if let Some((ok, text)) = pyhanko_valid(&dir.join("after.pdf"), &t.root_pem) {
        assert!(ok, "{text}");
    }
    if let Some((ok, text)) = ltv_check(&dir.join("after.pdf"), &t.root_pem, None) {
        assert!(ok, "{text}");
    }
    // Past the first TSA certificate and the witness certificate (2 years).
    let later = iso_in_days(2 * 365 + 180);
    for (name, renewed) in [
        ("after.pdf", true),
        ("certificate-after.pdf", true),
        ("before.pdf", false),
        ("certificate-before.pdf", false),
    ] {
        if let Some((indications, text)) = lta_indications_at(&dir.join(name), &t.root_pem, &later)
        {
            assert!(!indications.is_empty(), "{text}");
            let passed = indications.iter().all(|i| i == "AdESPassed.OK");
            assert_eq!(passed, renewed, "{name} at {later}: {text}");
        }
    }
}

/// A new root comes in (`inkan pki rollover`) while sealed contracts exist. Envelope A was
/// sealed by the first generation; after the rollover and a restart, its archive is renewed by
/// the new generation's TSA (the old generation still answering OCSP and CRLs for A's
/// certificates at the URLs written into them), and envelope B is sealed by the new generation.
/// Inkan verifies all of them; pyHanko validates B (LTV, embedded data only) with only the OLD
/// root trusted — through the cross certificate — and with only the new one, and validates A,
/// before and after its renewal, with only the old root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_root_is_cross_certified_and_what_the_old_one_signed_stays_valid() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = common::start(None).await;
    let who = caller();
    let staff = organization(&t.inkan, "滝沢市", "admin@city.takizawa.example.jp").await;
    let a = common::concluded(&t, &staff, "旧ルートの契約", "vendor-a@example.co.jp").await;
    let a_document = a.documents[0].id.clone();
    let (_, a_before) = t
        .inkan
        .download_document(&staff, &a.id, &a_document, &who)
        .await
        .unwrap();
    let old_witness = t.inkan.engine().pki().witness_certificate();

    let pki_dir = t.data.path().join("pki");
    assert_eq!(inkan_pki::Pki::rollover(&pki_dir).unwrap().generation(), 2);
    // Every document is due at once (a ten-year window), so A is renewed now.
    let t = common::reopen(t, |c| c.archive_renewal_days = Some(3650)).await;
    let pki = t.inkan.engine().pki();
    assert_eq!(pki.generation(), 2);
    assert_ne!(*pki.witness_certificate(), *old_witness);
    assert!(t.inkan.sweep_archives().await.unwrap().queued >= 1);
    t.inkan.worker().drain().await.unwrap();
    let renewals = t
        .inkan
        .audit_trail(&staff, Some(&a.id))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.entry.action == "archive_renewed")
        .count();
    assert_eq!(
        renewals, 2,
        "A's document and certificate renewed by the new TSA"
    );
    let (_, a_after) = t
        .inkan
        .download_document(&staff, &a.id, &a_document, &who)
        .await
        .unwrap();
    assert!(a_after.starts_with(&a_before) && a_after.len() > a_before.len());

    let b = common::concluded(&t, &staff, "新ルートの契約", "vendor-b@example.co.jp").await;
    let (_, b_pdf) = t
        .inkan
        .download_document(&staff, &b.id, &b.documents[0].id, &who)
        .await
        .unwrap();
    let (_, b_certificate) = t
        .inkan
        .download_certificate(&staff, &b.id, &who)
        .await
        .unwrap();

    let dir = t.data.path();
    let old_root = t.root_pem.clone();
    let new_root = pki_dir.join("g2").join("root.pem");
    for (name, bytes) in [
        ("a-before.pdf", &a_before),
        ("a-after.pdf", &a_after),
        ("b.pdf", &b_pdf),
        ("b-certificate.pdf", &b_certificate),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
        let verified = t.inkan.verify_upload(name, bytes).await.unwrap();
        assert!(verified.report.valid, "{name}: {:?}", verified.report);
    }
    // B is the new generation's work: its witness signature names the G2 certificate.
    let verified = t.inkan.verify_upload("b.pdf", &b_pdf).await.unwrap();
    let signer = verified.report.signatures[0].signer.as_ref().unwrap();
    assert!(signer.subject.contains("G2"), "{}", signer.subject);

    for (name, root) in [
        ("a-before.pdf", &old_root),
        ("a-after.pdf", &old_root),
        ("b.pdf", &old_root),
        ("b-certificate.pdf", &old_root),
        ("b.pdf", &new_root),
    ] {
        if let Some((ok, text)) = pyhanko_valid(&dir.join(name), root) {
            assert!(ok, "{name} trusting {}: {text}", root.display());
        }
    }
    for (name, root) in [
        ("a-after.pdf", &old_root),
        ("b.pdf", &old_root),
        ("b-certificate.pdf", &old_root),
        ("b.pdf", &new_root),
    ] {
        if let Some((ok, text)) = ltv_check(&dir.join(name), root, None) {
            assert!(ok, "{name} trusting {}: {text}", root.display());
        }
    }
}

/// The TSA does not answer when the document is due: each attempt fails and is retried with
/// backoff, nothing is invented; from the third attempt the sender is told by mail — once a
/// day — while the proof still holds. When the TSA answers again, the renewal goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tsa_that_is_down_at_renewal_is_retried_and_the_sender_is_alerted_in_time() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let (t, staff, id) = short_lived_tsa(std::time::Duration::from_secs(3 * 86_400)).await;
    let before = archive_state(&t, &staff, &id).await;
    let proof_ends = t
        .inkan
        .store()
        .documents(staff.organization, id.parse().unwrap())
        .await
        .unwrap()[0]
        .archive_until
        .unwrap();
    // The same installation, its TSA configured to an address where nothing answers.
    let dead_url = inkan_testkit::unanswered_url("/tsa");
    let down = inkan_service::setup::assemble(
        inkan_service::setup::Config {
            data_dir: Some(t.data.path().to_path_buf()),
            public_url: Some(t.public_url.clone()),
            tsa_urls: vec![dead_url],
            archive_renewal_days: Some(1),
            ..Default::default()
        },
        t.clock.clone(),
    )
    .await
    .unwrap()
    .inkan;
    t.clock.advance(2 * 86_400 + 3600);
    assert_eq!(down.sweep_archives().await.unwrap().queued, 1);
    let alerts = || {
        t.outbox()
            .into_iter()
            .filter(|m| m.subject.contains("【要対応】"))
            .collect::<Vec<_>>()
    };
    // Attempts 1 to 4, each after its backoff (a round also runs the alert mail the failed
    // attempt queued, when it queued one).
    for attempt in 1..=4 {
        assert!(
            down.worker().run_once().await.unwrap() >= 1,
            "attempt {attempt}"
        );
        down.worker().drain().await.unwrap();
        let job = &down
            .store()
            .jobs(&inkan_store::JobFilter {
                kind: Some("archive".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()[0];
        assert_eq!(job.status, inkan_store::JobStatus::Queued, "retried");
        assert_eq!(job.attempts, attempt, "one attempt per round");
        assert!(
            job.last_error
                .as_deref()
                .unwrap_or("")
                .contains("timestamp"),
            "{job:#?}"
        );
        let expected_alerts = usize::from(attempt >= 3);
        assert_eq!(alerts().len(), expected_alerts, "after attempt {attempt}");
        t.clock.advance(3600);
    }
    assert_eq!(
        archive_state(&t, &staff, &id).await,
        before,
        "nothing renewed"
    );
    let alert = &alerts()[0];
    assert_eq!(alert.to, "admin@city.minamikyushu.example.jp");
    assert!(alert.text.contains("長期保存の契約"), "{}", alert.text);
    assert!(alert.text.contains("更新期限"), "{}", alert.text);
    assert!(
        inkan_service::Clock::now(&*t.clock) < proof_ends,
        "the alert came while the proof still holds"
    );

    // The TSA answers again: the next attempt renews.
    t.inkan.worker().drain().await.unwrap();
    let after = archive_state(&t, &staff, &id).await;
    assert_eq!(after.0, before.0 + 1);
    assert_eq!(after.2, 2);
}

// ── Upgrades ────────────────────────────────────────────────────────────────────────────────
// A database at every earlier migration, holding sealed envelopes, a pending one, API keys and
// audit chains, is upgraded by opening it with this version; everything still opens, verifies
// and downloads byte for byte. The earlier databases are made by applying the migrations up to
// that version and copying the rows of a current installation into the columns that existed
// then (later columns are filled by the later migrations, as on a real upgrade).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_at_every_earlier_migration_upgrades_with_its_sealed_envelopes_on_sqlite() {
    if inkan_testkit::japanese_font_installed() {
        upgrade_from_every_earlier_migration(false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_at_every_earlier_migration_upgrades_with_its_sealed_envelopes_on_postgres() {
    if inkan_testkit::japanese_font_installed()
        && inkan_testkit::postgres::fresh_database().is_some()
    {
        upgrade_from_every_earlier_migration(true).await;
    }
}

/// Copies every row of `from` into the tables of `to` (an older schema), in the columns both
/// have. SQLite: through ATTACH, foreign keys off while copying.
async fn copy_rows_sqlite(from: &std::path::Path, to: &std::path::Path) {
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", to.display()))
        .await
        .unwrap();
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("ATTACH DATABASE $1 AS current")
        .bind(from.to_str().unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for table in tables {
        // The older table's columns that the current one has too.
        let shared: Vec<String> = sqlx::query_scalar(
            "SELECT '\"' || o.name || '\"' FROM pragma_table_info($1, 'main') o \
             JOIN pragma_table_info($1, 'current') n ON n.name = o.name ORDER BY o.cid",
        )
        .bind(&table)
        .fetch_all(&mut db)
        .await
        .unwrap();
        let list = shared.join(", ");
        // A table kept by triggers (the 取引先 names of the documents) already has the rows the
        // copied documents brought: the copy adds only what is missing.
        let or_ignore = if table == "document_counterparties" {
            "OR IGNORE "
        } else {
            ""
        };
        sqlx::query(&format!(
            "INSERT {or_ignore}INTO main.\"{table}\" ({list}) SELECT {list} FROM current.\"{table}\""
        ))
        .execute(&mut db)
        .await
        .unwrap();
    }
    sqlx::query("DETACH DATABASE current")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
}

/// The same for PostgreSQL: each row read as JSON and put back with `json_populate_record`
/// (which keeps the columns the older table has), foreign-key triggers off while copying.
async fn copy_rows_postgres(from: &str, to: &str) {
    use sqlx::{Connection, Row};
    let mut source = sqlx::PgConnection::connect(from).await.unwrap();
    let mut db = sqlx::PgConnection::connect(to).await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut db)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for table in tables {
        let rows = sqlx::query(&format!(
            "SELECT row_to_json(t)::text AS row FROM \"{table}\" t"
        ))
        .fetch_all(&mut source)
        .await
        .unwrap();
        for row in rows {
            sqlx::query(&format!(
                "INSERT INTO \"{table}\" SELECT * FROM json_populate_record(NULL::\"{table}\", $1::json)"
            ))
            .bind(row.get::<String, _>("row"))
            .execute(&mut db)
            .await
            .unwrap();
        }
    }
    db.close().await.unwrap();
    source.close().await.unwrap();
}

async fn upgrade_from_every_earlier_migration(postgres: bool) {
    use inkan_service::setup::{assemble, Config};

    let source_db = if postgres {
        Some(inkan_testkit::postgres::fresh_database().unwrap())
    } else {
        None
    };
    let t = start(source_db.as_ref().map(|d| d.url.clone())).await;
    let (inkan, who) = (&t.inkan, caller());
    let (api_key, staff) =
        organization_with_key(inkan, "盛岡市", "admin@city.morioka.example.jp").await;
    let mut sealed = Vec::new();
    for (title, email) in [
        ("庁舎清掃業務委託", "a@vendor.example.jp"),
        ("学校給食調理業務委託", "b@vendor.example.jp"),
    ] {
        let env = concluded(&t, &staff, title, email).await;
        let mut files = Vec::new();
        for d in &env.documents {
            files.push(
                inkan
                    .download_document(&staff, &env.id, &d.id, &who)
                    .await
                    .unwrap()
                    .1,
            );
        }
        let certificate = inkan
            .download_certificate(&staff, &env.id, &who)
            .await
            .unwrap()
            .1;
        sealed.push((env, files, certificate));
    }
    let pending = sent(inkan, &staff, "未署名の契約", "c@vendor.example.jp", "5").await;
    inkan.anchor_audit_chains(false).await.unwrap();
    let inventory = inkan.store().inventory().await.unwrap();

    let migrations = inkan_store::migrations();
    let (latest, _) = migrations.last().unwrap().clone();
    let mut checked_with_pyhanko = false;
    for (version, description) in migrations.iter().filter(|(v, _)| *v < latest) {
        let what = format!("from migration {version} ({description})");
        // The older database, and its rows.
        let pg_target = if postgres {
            Some(inkan_testkit::postgres::fresh_database().unwrap())
        } else {
            None
        };
        let sqlite_file = t.data.path().join(format!("upgrade-{version}.db"));
        let url = match &pg_target {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", sqlite_file.display()),
        };
        inkan_store::migrate_to(&url, *version).await.unwrap();
        match (&source_db, &pg_target) {
            (Some(from), Some(to)) => copy_rows_postgres(&from.url, &to.url).await,
            _ => copy_rows_sqlite(&t.data.path().join("inkan.db"), &sqlite_file).await,
        }

        // This version opens it (the later migrations run) beside the same keys, blobs and PKI.
        let upgraded = assemble(
            Config {
                data_dir: Some(t.data.path().to_path_buf()),
                public_url: Some(t.public_url.clone()),
                database_url: Some(url.clone()),
                ..Config::default()
            },
            t.clock.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let u = &upgraded.inkan;
        let staff = u
            .authenticate_api_key(&api_key, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: the API key: {e}"));
        // The certificate of conclusion came with migration 2: envelopes sealed before have none.
        let has_certificates = *version >= 2;
        let found = u.store().inventory().await.unwrap();
        assert_eq!(
            (found.organizations, found.envelopes, found.documents),
            (
                inventory.organizations,
                inventory.envelopes,
                inventory.documents
            ),
            "{what}"
        );
        let expected_files: Vec<_> = inventory
            .sealed_files
            .iter()
            .filter(|f| has_certificates || f.kind == inkan_store::SealedFileKind::Document)
            .cloned()
            .collect();
        assert_eq!(found.sealed_files, expected_files, "{what}");
        for report in u.verify_audit().await.unwrap() {
            assert!(report.broken.is_none(), "{what}: {report:?}");
        }
        // The 操作ログ's filter columns were filled from the entries written before them.
        let trail = u
            .store()
            .audit_entries(staff.organization, None)
            .await
            .unwrap();
        let actions: std::collections::BTreeSet<&str> =
            trail.iter().map(|e| e.entry.action.as_str()).collect();
        assert!(
            actions.contains("create") && actions.contains("sign"),
            "{what}: {actions:?}"
        );
        for action in actions {
            let expected: Vec<i64> = trail
                .iter()
                .rev()
                .filter(|e| e.entry.action == action)
                .map(|e| e.seq)
                .collect();
            let filtered: Vec<i64> = u
                .store()
                .search_audit(
                    staff.organization,
                    &inkan_store::AuditQuery {
                        action: Some(action.into()),
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect();
            assert!(!expected.is_empty(), "{what}: {action}");
            assert_eq!(filtered, expected, "{what}: {action}");
        }
        let listed = u
            .envelopes(&staff, None, 100, 0)
            .await
            .unwrap_or_else(|e| panic!("{what}: listing: {e}"));
        assert_eq!(listed.len(), 3, "{what}");
        let still_pending = u.envelope(&staff, &pending.id).await.unwrap();
        assert_eq!(still_pending.status, StatusKind::Sent, "{what}");

        for (env, files, certificate) in &sealed {
            let now = u.envelope(&staff, &env.id).await.unwrap();
            assert!(now.sealed, "{what}");
            assert_eq!(now.conclusion_id, env.conclusion_id, "{what}");
            for (d, original) in now.documents.iter().zip(files) {
                let (name, bytes) = u
                    .download_document(&staff, &env.id, &d.id, &who)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: downloading {}: {e}", d.name));
                assert!(bytes == *original, "{what}: {name} changed");
                let verified = u.verify_upload(&name, &bytes).await.unwrap();
                assert!(verified.report.valid, "{what}: {name}");
                if !checked_with_pyhanko {
                    let file = t.data.path().join("upgraded.pdf");
                    std::fs::write(&file, &bytes).unwrap();
                    if let Some((valid, text)) = pyhanko_valid(&file, &t.root_pem) {
                        assert!(valid, "{what}: {text}");
                    }
                    checked_with_pyhanko = true;
                }
            }
            let downloaded = u.download_certificate(&staff, &env.id, &who).await;
            if has_certificates {
                assert!(
                    downloaded.unwrap().1 == *certificate,
                    "{what}: the certificate"
                );
                let by_id = u
                    .verify_upload("締結証明書.pdf", certificate)
                    .await
                    .unwrap();
                assert!(by_id.report.valid && by_id.conclusion.matches, "{what}");
            } else {
                assert!(
                    downloaded.is_err(),
                    "{what}: no certificate before migration 2"
                );
            }
        }
    }
    assert!(migrations.len() >= 8, "every migration so far is covered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tax_audit_export_holds_every_document_certificate_and_an_index() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let Some(python) = inkan_testkit::require_tool("python3", "reads the ZIP with zipfile") else {
        return;
    };
    let t = start(None).await;
    let (inkan, who) = (&t.inkan, caller());
    let staff = organization(inkan, "盛岡市", "admin@morioka.example.jp").await;
    let done = concluded(&t, &staff, "締結済みの契約", "v1@example.co.jp").await;
    let pending = sent(inkan, &staff, "署名待ちの契約", "v2@example.co.jp", "2000").await;

    let export = inkan
        .tax_export(&staff, &SearchInput::default(), &who)
        .await
        .unwrap();
    assert_eq!((export.documents, export.certificates), (2, 1));
    assert!(export.file_name.ends_with(".zip"), "{}", export.file_name);
    let (bytes, failure) = drain(export.chunks).await;
    assert!(failure.is_none(), "{failure:?}");
    let zip = t.data.path().join("export.zip");
    std::fs::write(&zip, &bytes).unwrap();
    // Python's zipfile checks every entry's CRC, then each PDF is hashed and compared with the
    // index's SHA-256 column.
    let script = r#"
import csv, hashlib, io, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
rows = list(csv.reader(io.StringIO(z.read("索引.csv").decode("utf-8-sig"))))
out = {"names": sorted(z.namelist()), "header": rows[0], "rows": rows[1:]}
out["hashes_match"] = all(hashlib.sha256(z.read(r[10])).hexdigest() == r[7] for r in rows[1:])
out["certificates"] = [n for n in z.namelist() if n.startswith("締結証明書/") and z.read(n).startswith(b"%PDF-")]
print(json.dumps(out))
"#;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["header"][10], "ファイル", "{seen}");
    assert_eq!(seen["rows"].as_array().unwrap().len(), 2, "{seen}");
    assert_eq!(seen["hashes_match"], true, "{seen}");
    assert_eq!(seen["certificates"].as_array().unwrap().len(), 1, "{seen}");
    let rows = seen["rows"].as_array().unwrap();
    let row_of = |id: &str| rows.iter().find(|r| r[8] == id).unwrap().clone();
    // The concluded document names its certificate; the pending one has none yet.
    assert_eq!(row_of(&done.id)[6], "completed");
    assert!(row_of(&done.id)[11]
        .as_str()
        .unwrap()
        .starts_with("締結証明書/電子契約締結証明書_"));
    assert_eq!(row_of(&pending.id)[11], "");
    // The export is in the organization's trail, with what it held.
    let trail = inkan.audit_trail(&staff, None).await.unwrap();
    let entry = trail
        .iter()
        .find(|e| e.entry.action == "tax_export")
        .expect("the export is recorded");
    assert_eq!(entry.entry.detail["documents"], 2);
    assert_eq!(entry.entry.detail["certificates"], 1);

    // A search that finds nothing is an empty ZIP with its index; one the reader may not make
    // is refused before anything is written.
    let none = inkan
        .tax_export(
            &staff,
            &SearchInput {
                counterparty: Some("存在しない取引先".into()),
                ..SearchInput::default()
            },
            &who,
        )
        .await
        .unwrap();
    assert_eq!(none.documents, 0);
    let (bytes, failure) = drain(none.chunks).await;
    assert!(failure.is_none() && bytes.starts_with(b"PK"), "{failure:?}");
    assert!(inkan
        .tax_export(
            &staff,
            &SearchInput {
                date_from: Some("2026-13-01".into()),
                ..SearchInput::default()
            },
            &who,
        )
        .await
        .is_err());

    // A stored file that no longer reads back stops the export: the client gets an error and a
    // ZIP without its directory, never a smaller answer that looks whole.
    for file in walk(&t.data.path().join("blobs")) {
        let mut data = std::fs::read(&file).unwrap();
        if let Some(last) = data.last_mut() {
            *last ^= 0x55;
        }
        std::fs::write(&file, data).unwrap();
    }
    let broken = inkan
        .tax_export(&staff, &SearchInput::default(), &who)
        .await
        .unwrap();
    let (bytes, failure) = drain(broken.chunks).await;
    assert!(failure.is_some(), "the export did not stop");
    std::fs::write(&zip, &bytes).unwrap();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg("import sys, zipfile; zipfile.ZipFile(sys.argv[1])")
        .arg(&zip)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a stopped export reads as a ZIP");
}

/// Every byte of an export, and the error it stopped with, if any.
async fn drain(
    mut chunks: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> (Vec<u8>, Option<std::io::Error>) {
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        match chunk {
            Ok(data) => bytes.extend_from_slice(&data),
            Err(e) => return (bytes, Some(e)),
        }
    }
    (bytes, None)
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
