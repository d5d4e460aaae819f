//! Issue 6 through the use cases: a vendor (契約印タイプ) and the city (実印タイプ) sign from two
//! addresses; the sealed envelope gets a 電子契約締結証明書 whose text (pdftotext) carries every
//! field as recorded when each operation happened, whose own signature passes pyHanko and the
//! offline LTV check, which rides along with the completion email and downloads for staff and
//! through the completion link. The vendor then registers a free account with a mailed code and
//! finds the documents in their library after the 14 days. Verification of uploads: the final
//! PDF matches its 締結証明書ID, a tampered copy fails, a foreign PDF has no ID, nothing is kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine;
use common::start;
use inkan_domain::{Role, SignatureMethod};
use inkan_service::japan::format_slash_jst;
use inkan_service::{
    Caller, CounterpartyInput, MetadataInput, NewDocument, NewEnvelope, NewOrganization,
    NewRecipient, ServiceError,
};
use inkan_testkit::validators::{ltv_check, pyhanko_valid, qpdf_clean, sample_pdf};
use mail_parser::MimeHeaders;

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";
const CITY: &str = "keiyaku@city.morioka.example.jp";
const VENDOR_IP: &str = "203.0.113.7";
const CITY_IP: &str = "198.51.100.23";

fn from(ip: &str) -> Caller {
    Caller {
        ip: Some(ip.parse().unwrap()),
        user_agent: Some("inkan-test/1.0".into()),
        link_pass: None,
    }
}

fn document(name: &str) -> NewDocument {
    NewDocument {
        name: name.into(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(sample_pdf(2)),
        signers: None,
        fields: vec![],
        metadata: MetadataInput::default(),
    }
}

/// Text of a PDF in content order, with all white space removed (so wrapped cells compare).
pub(crate) fn pdf_text(path: &std::path::Path) -> Option<String> {
    let out = match std::process::Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            inkan_testkit::skip_or_fail("pdftotext is not installed (apt install poppler-utils)");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        path.display()
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    )
}

/// `value` appears after `label` in `text` (both compared without white space).
fn assert_after(text: &str, label: &str, value: &str) {
    let label = squeeze(label);
    let at = text
        .find(&label)
        .unwrap_or_else(|| panic!("the certificate lacks {label:?}:\n{text}"));
    assert!(
        text[at + label.len()..].contains(&squeeze(value)),
        "the certificate lacks {value:?} after {label:?}:\n{text}"
    );
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Every .eml of the outbox, parsed.
fn mails(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_of_conclusion_library_and_verification() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let inkan = &t.inkan;
    let office = from("192.0.2.10");
    let org = inkan
        .create_organization(&NewOrganization {
            name: "盛岡市".into(),
            department: Some("財政部契約検査課".into()),
            admin_name: "契約 花子".into(),
            admin_email: CITY.into(),
            admin_password: Some("correct horse battery staple".into()),
        })
        .await
        .unwrap();
    // A staff member who logs in: the envelope names them as its creator, with their email.
    let staff = inkan
        .login(CITY, "correct horse battery staple", &office)
        .await
        .unwrap()
        .done()
        .unwrap();
    assert!(inkan
        .authenticate_api_key(&org.api_key, &Default::default())
        .await
        .is_ok());
    let vendor_company = inkan
        .register_counterparty(
            &staff,
            &CounterpartyInput {
                address: "岩手県盛岡市内丸1-1".into(),
                trade_name: "株式会社盛岡清掃".into(),
                representative: "代表取締役 山田一郎".into(),
                signatory_title: "代表取締役".into(),
                signatory_name: "山田太郎".into(),
                signatory_email: VENDOR.into(),
                clerk_department: "総務部".into(),
                clerk_title: "主任".into(),
                clerk_name: "佐藤花子".into(),
                clerk_phone: "019-000-0000".into(),
                clerk_email: None,
                notified_on: None,
            },
            &office,
        )
        .await
        .unwrap();
    let now = inkan_service::Clock::now(&inkan_service::SystemClock);
    let envelope = inkan
        .create_envelope(
            &staff,
            &NewEnvelope {
                number: "R8-契約-0002".into(),
                title: "庁舎清掃業務委託".into(),
                message: String::new(),
                deadline: now + 7 * 86_400,
                counterparty: Some(vendor_company.id.clone()),
                recipients: vec![
                    NewRecipient {
                        key: "vendor".into(),
                        name: "山田太郎".into(),
                        email: VENDOR.into(),
                        role: Role::Signer,
                        order: 1,
                        method: SignatureMethod::Witness,
                        access_code: None,
                        sms_phone: None,
                    },
                    NewRecipient {
                        key: "city".into(),
                        name: "盛岡市長 契約花子".into(),
                        email: CITY.into(),
                        role: Role::Signer,
                        order: 2,
                        method: SignatureMethod::Party,
                        access_code: None,
                        sms_phone: None,
                    },
                ],
                documents: vec![document("業務委託契約書.pdf"), document("仕様書.pdf")],
                attachments: vec![],
                folder: None,
            },
            &office,
        )
        .await
        .unwrap();
    let worker = inkan.worker();
    inkan.send(&staff, &envelope.id, &office).await.unwrap();
    worker.drain().await.unwrap();
    // No certificate before conclusion.
    assert!(matches!(
        inkan
            .download_certificate(&staff, &envelope.id, &office)
            .await,
        Err(ServiceError::NotFound(_))
    ));
    let vendor_token = t.link_token(VENDOR, "s");
    inkan
        .complete(&vendor_token, &[], &from(VENDOR_IP))
        .await
        .unwrap();
    worker.drain().await.unwrap();
    let city_token = t.link_token(CITY, "s");
    inkan
        .complete(&city_token, &[], &from(CITY_IP))
        .await
        .unwrap();
    worker.drain().await.unwrap();
    let done = inkan.envelope(&staff, &envelope.id).await.unwrap();
    assert!(done.sealed && done.has_certificate, "{done:#?}");

    // ── The certificate: downloaded by staff, checked field by field ──────────────────────────
    let (file_name, certificate) = inkan
        .download_certificate(&staff, &envelope.id, &office)
        .await
        .unwrap();
    assert_eq!(
        file_name,
        format!("電子契約締結証明書_{}.pdf", done.conclusion_id)
    );
    assert_eq!(done.conclusion_id.len(), 32);
    let cert_path = t.data.path().join("certificate.pdf");
    std::fs::write(&cert_path, &certificate).unwrap();
    if let Some(text) = pdf_text(&cert_path) {
        let vendor = done.recipients.iter().find(|r| r.email == VENDOR).unwrap();
        let city = done.recipients.iter().find(|r| r.email == CITY).unwrap();
        // Each label, then its value, in the order the certificate lays them out.
        let pairs = [
            ("電子契約締結証明書", "Certificate".to_string()),
            ("文書名", done.title.clone()),
            ("管理番号", done.number.clone()),
            ("文書作成者", done.sender_name.clone()),
            ("文書作成者メールアドレス", done.sender_email.clone()),
            ("締結証明書ID", done.conclusion_id.clone()),
            // The stamp at the bottom-left of every page, as on the documents.
            ("締結証明書ID:", done.conclusion_id.clone()),
            ("操作日時", "IPアドレス".into()),
            ("署名方法", "署名者情報".into()),
        ];
        assert!(!done.sender_email.is_empty(), "{done:#?}");
        for (label, value) in pairs {
            assert_after(&text, label, &value);
        }
        for d in &done.documents {
            assert_after(&text, &d.name, &d.sha256);
        }
        // The vendor's row: 契約印タイプ with company, name and email, from their own address;
        // then the city's: 実印タイプ with the subject of the certificate it signed with.
        let rows = [
            format_slash_jst(vendor.done_at.unwrap()),
            VENDOR_IP.into(),
            "契約印タイプ".into(),
            "株式会社盛岡清掃".into(),
            "山田太郎".into(),
            VENDOR.into(),
            "メールアドレス認証".into(),
            format_slash_jst(city.done_at.unwrap()),
            CITY_IP.into(),
            "実印タイプ".into(),
            "CN盛岡市長契約花子".into(),
            "メールアドレス認証".into(),
        ];
        let mut from = text.find("操作日時").unwrap();
        for field in rows {
            let field = squeeze(&field);
            let at = text[from..]
                .find(&field)
                .unwrap_or_else(|| panic!("no {field:?} after byte {from} of:\n{text}"));
            from += at + field.len();
        }
        // Each row carries its own operation's address: the vendor's row comes first.
        let vendor_at = text.find(VENDOR_IP).unwrap();
        let city_at = text.find(CITY_IP).unwrap();
        assert!(vendor_at < city_at, "rows in signing order:\n{text}");
    }
    if let Some((ok, out)) = qpdf_clean(&cert_path) {
        assert!(ok, "qpdf:\n{out}");
    }
    if let Some((ok, out)) = pyhanko_valid(&cert_path, &t.root_pem) {
        assert!(ok, "pyHanko on the certificate:\n{out}");
        assert!(out.contains("judged VALID"), "{out}");
    }
    if let Some((ok, out)) = ltv_check(&cert_path, &t.root_pem, None) {
        assert!(ok, "LTV of the certificate:\n{out}");
    }

    // ── The same bytes by the completion link and in the completion email ───────────────────
    let c_token = t.link_token(VENDOR, "c");
    let (_, by_link) = inkan
        .completion_certificate(&c_token, &from(VENDOR_IP))
        .await
        .unwrap();
    assert_eq!(by_link, certificate);
    let attached: Vec<Vec<u8>> = mails(t.data.path())
        .iter()
        .filter_map(|bytes| {
            let m = mail_parser::MessageParser::default().parse(bytes)?;
            let subject = m.subject()?.to_string();
            if !subject.contains("電子署名完了のお知らせ") {
                return None;
            }
            let a = m.attachment(0)?;
            assert_eq!(a.attachment_name(), Some(file_name.as_str()));
            Some(a.contents().to_vec())
        })
        .collect();
    assert!(attached.len() >= 2, "each completion mail carries it");
    assert!(attached.iter().all(|a| *a == certificate));

    // ── The vendor's free account, past the 14 days ───────────────────────────────────────────
    t.clock.advance(15 * 86_400);
    assert!(matches!(
        inkan.completion(&c_token, &from(VENDOR_IP)).await,
        Err(ServiceError::NotFound(_))
    ));
    inkan
        .send_account_code(VENDOR, &from(VENDOR_IP))
        .await
        .unwrap();
    let code_mail = t
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.to == VENDOR && m.subject.contains("確認コード"))
        .expect("a code mail");
    let code: String = code_mail
        .subject
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(code.len(), 6, "{}", code_mail.subject);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        inkan
            .verify_account_code(VENDOR, wrong, &from(VENDOR_IP))
            .await,
        Err(ServiceError::Unauthenticated(_))
    ));
    let (account, session) = inkan
        .verify_account_code(&VENDOR.to_uppercase(), &code, &from(VENDOR_IP))
        .await
        .unwrap();
    assert_eq!(account.email, VENDOR);
    // A code works once.
    assert!(inkan
        .verify_account_code(VENDOR, &code, &from(VENDOR_IP))
        .await
        .is_err());
    let account = inkan.account_session(&session).await.unwrap();
    assert!(inkan.account_session("v1.forged.1.x.y").await.is_err());
    let library = inkan.library(&account).await.unwrap();
    assert_eq!(library.len(), 1, "{library:#?}");
    let entry = &library[0];
    assert_eq!(entry.conclusion_id, done.conclusion_id);
    assert_eq!(entry.documents.len(), 2);
    assert!(entry.has_certificate);
    let (name, pdf) = inkan
        .library_document(
            &account,
            &entry.envelope_id,
            &entry.documents[0].id,
            &from(VENDOR_IP),
        )
        .await
        .unwrap();
    let (_, by_staff) = inkan
        .download_document(&staff, &envelope.id, &entry.documents[0].id, &office)
        .await
        .unwrap();
    assert_eq!(name, "業務委託契約書.pdf");
    assert_eq!(pdf, by_staff);
    let (_, from_library) = inkan
        .library_certificate(&account, &entry.envelope_id, &from(VENDOR_IP))
        .await
        .unwrap();
    assert_eq!(from_library, certificate);
    // Someone else's account sees nothing of it.
    inkan
        .send_account_code("other@example.jp", &office)
        .await
        .unwrap();
    let other_code: String = t
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.to == "other@example.jp")
        .unwrap()
        .subject
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let (other, _) = inkan
        .verify_account_code("other@example.jp", &other_code, &office)
        .await
        .unwrap();
    assert!(inkan.library(&other).await.unwrap().is_empty());
    assert!(matches!(
        inkan
            .library_document(&other, &entry.envelope_id, &entry.documents[0].id, &office)
            .await,
        Err(ServiceError::NotFound(_))
    ));
    // The library's downloads are in the sender's audit trail.
    let trail = inkan.audit_trail(&staff, Some(&envelope.id)).await.unwrap();
    assert!(trail
        .iter()
        .any(|e| e.entry.action == "download" && e.entry.actor.starts_with("signer_account:")));

    // ── Guessing codes: limits per address and per network that new codes do not reset ───────
    let attacker = from("198.51.100.66");
    // The outbox is ordered by file name, not time: a new code is the one not seen before.
    let codes = |to: &str| -> std::collections::HashSet<String> {
        t.outbox()
            .into_iter()
            .filter(|m| m.to == to && m.subject.contains("確認コード"))
            .map(|m| {
                m.subject
                    .chars()
                    .filter(|c| c.is_ascii_digit())
                    .collect::<String>()
            })
            .filter(|c| c.len() == 6)
            .collect()
    };
    let send_code = |who: inkan_service::Caller| {
        let before = codes(VENDOR);
        async move {
            inkan.send_account_code(VENDOR, &who).await.unwrap();
            codes(VENDOR)
                .difference(&before)
                .next()
                .cloned()
                .expect("a new code")
        }
    };
    let (mut wrong_answers, mut locked, mut right) = (0, false, 0u32);
    for attempt in 0..20 {
        if attempt % 5 == 0 {
            // A new code each time the last one died: it does not reset the count.
            right = send_code(attacker.clone()).await.parse().unwrap();
        }
        let guess = format!("{:06}", (right + 1 + attempt) % 1_000_000);
        match inkan.verify_account_code(VENDOR, &guess, &attacker).await {
            Err(ServiceError::Unauthenticated(_)) => wrong_answers += 1,
            Err(ServiceError::NotAllowed(_)) => {
                locked = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    // The owner's two mistakes above count too: ten wrong codes in all, across two codes.
    assert!(
        locked && wrong_answers == 8,
        "{wrong_answers} wrong answers before the lock"
    );
    // Ten wrong codes: the address is locked, even for the right code from its owner.
    let locked = inkan
        .send_account_code(VENDOR, &from(VENDOR_IP))
        .await
        .unwrap_err();
    assert!(
        matches!(locked, ServiceError::NotAllowed(ref why) if why.contains("受け付けません")),
        "{locked}"
    );
    assert!(matches!(
        inkan
            .verify_account_code(VENDOR, "123456", &from(VENDOR_IP))
            .await,
        Err(ServiceError::NotAllowed(_))
    ));
    assert!(
        t.outbox()
            .iter()
            .any(|m| m.to == VENDOR && m.subject.contains("一時的に停止")),
        "the owner is told"
    );
    let trail = inkan.audit_trail(&staff, None).await.unwrap();
    let lock = trail
        .iter()
        .find(|e| e.entry.action == "signer_account_locked")
        .expect("the lock-out is in the sender's audit trail");
    assert_eq!(lock.entry.ip.as_deref(), Some("198.51.100.66"));
    // An hour later the owner gets in.
    t.clock.advance(3601);
    let code = send_code(from(VENDOR_IP)).await;
    inkan
        .verify_account_code(VENDOR, &code, &from(VENDOR_IP))
        .await
        .unwrap();
    // Many addresses tried from one IPv6 /64: the network is locked, other networks are not.
    for i in 0..30 {
        let host = format!("2001:db8:66:1::{:x}", i + 1);
        let _ = inkan
            .verify_account_code(&format!("guess{i}@example.jp"), "000000", &from(&host))
            .await;
    }
    assert!(matches!(
        inkan
            .verify_account_code("guess99@example.jp", "000000", &from("2001:db8:66:1::ffff"))
            .await,
        Err(ServiceError::NotAllowed(_))
    ));
    assert!(matches!(
        inkan
            .verify_account_code("guess99@example.jp", "000000", &from("2001:db8:66:2::1"))
            .await,
        Err(ServiceError::Unauthenticated(_))
    ));

    // ── Verification of uploads ───────────────────────────────────────────────────────────
    let scratch = t.data.path().join("tmp");
    let files_in_scratch = || std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
    let before = files_in_scratch();
    let valid = inkan.verify_upload("契約書.pdf", &pdf).await.unwrap();
    assert!(valid.report.valid, "{:#?}", valid.report);
    assert_eq!(
        valid.report.signatures.len(),
        4,
        "certification, two signers, document timestamp"
    );
    assert!(valid
        .report
        .signatures
        .iter()
        .all(|s| s.ltv || s.kind != inkan_pades::verify::report::SignatureKind::Signature));
    assert!(valid.conclusion.matches);
    assert_eq!(
        valid.conclusion.id.as_deref(),
        Some(done.conclusion_id.as_str())
    );
    assert_eq!(valid.conclusion.title.as_deref(), Some("庁舎清掃業務委託"));
    assert_eq!(
        valid.conclusion.identical_to.as_deref(),
        Some("業務委託契約書.pdf")
    );

    let cert_check = inkan.verify_upload(&file_name, &certificate).await.unwrap();
    assert!(cert_check.report.valid);
    assert!(cert_check.conclusion.matches);
    assert_eq!(
        cert_check.conclusion.identical_to.as_deref(),
        Some(file_name.as_str())
    );

    // A changed byte inside the signed part: the signatures fail, the ID still matches.
    let mut tampered = pdf.clone();
    let at = tampered
        .windows(b"Contract page".len())
        .position(|w| w == b"Contract page")
        .expect("the sample's page text");
    tampered[at] = b'K';
    let bad = inkan
        .verify_upload("tampered.pdf", &tampered)
        .await
        .unwrap();
    assert!(!bad.report.valid);
    assert!(bad.report.signatures.iter().any(|s| !s.integrity.ok));
    assert!(bad.conclusion.matches);
    assert!(bad.conclusion.identical_to.is_none());

    // A PDF from elsewhere: no signature, no ID.
    let foreign = inkan
        .verify_upload("foreign.pdf", &sample_pdf(1))
        .await
        .unwrap();
    assert!(!foreign.report.valid);
    assert!(foreign.report.signatures.is_empty());
    assert!(foreign.conclusion.id.is_none() && !foreign.conclusion.matches);

    // Not a PDF, and an empty upload: clear refusals.
    for junk in [&b"hello"[..], &b""[..]] {
        assert!(matches!(
            inkan.verify_upload("x.pdf", junk).await,
            Err(ServiceError::Invalid(_))
        ));
    }
    // Nothing of the uploads is kept.
    assert_eq!(files_in_scratch(), before);
}
