//! The seeds' flow through the use cases: a city (盛岡市 財政部契約検査課) sends a vendor three
//! contract documents and a 請書; the vendor fills their fields and signs, then the city signs;
//! every document ends at B-LTA and passes pyHanko and the offline LTV check; the completion
//! links work for 14 days and then answer "not found"; the audit trail verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine;
use common::{caller, start};
use inkan_domain::{DateFormat, FieldKind, Role, SignatureMethod, StatusKind};
use inkan_service::{
    CounterpartyInput, FieldInput, MetadataInput, NewDocument, NewEnvelope, NewField,
    NewOrganization, NewRecipient, PlacementView, SearchInput, ServiceError,
};
use inkan_testkit::validators::{ltv_check, pyhanko_valid, qpdf_clean, sample_pdf};

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";
const CITY: &str = "keiyaku@city.morioka.example.jp";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn document(
    name: &str,
    signers: Option<Vec<&str>>,
    fields: Vec<NewField>,
    amount: &str,
) -> NewDocument {
    NewDocument {
        name: name.into(),
        content_base64: b64(&sample_pdf(2)),
        signers: signers.map(|s| s.into_iter().map(String::from).collect()),
        fields,
        metadata: MetadataInput {
            date: Some("2026-04-01".into()),
            amount: Some(amount.into()),
            counterparty: None,
            kind: None,
        },
    }
}

fn placed(recipient: &str, kind: FieldKind, label: &str, y: f64) -> NewField {
    NewField {
        recipient: recipient.into(),
        kind,
        label: label.into(),
        required: true,
        placement: Some(PlacementView {
            page: 2,
            x: 72.0,
            y,
            width: if kind == FieldKind::Checkbox {
                12.0
            } else {
                160.0
            },
            height: if kind == FieldKind::Checkbox {
                12.0
            } else {
                24.0
            },
        }),
        date_format: DateFormat::Wareki,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_then_city_on_sqlite() {
    if inkan_testkit::japanese_font_installed() {
        vendor_then_city_three_documents_and_a_ukesho_end_at_b_lta(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_then_city_on_postgres() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let Some(db) = inkan_testkit::postgres::fresh_database() else {
        return;
    };
    vendor_then_city_three_documents_and_a_ukesho_end_at_b_lta(Some(db.url.clone())).await;
}

async fn vendor_then_city_three_documents_and_a_ukesho_end_at_b_lta(database_url: Option<String>) {
    let t = start(database_url).await;
    let inkan = &t.inkan;
    let who = caller();
    let org = inkan
        .create_organization(&NewOrganization {
            name: "盛岡市".into(),
            department: Some("財政部契約検査課".into()),
            admin_name: "契約 花子".into(),
            admin_email: CITY.into(),
            admin_password: None,
        })
        .await
        .unwrap();
    let staff = inkan
        .authenticate_api_key(&org.api_key, &Default::default())
        .await
        .unwrap();
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
                clerk_email: Some("sato@seisou.example.co.jp".into()),
                notified_on: None,
            },
            &who,
        )
        .await
        .unwrap();

    let now = inkan_service::SystemClock;
    let now = inkan_service::Clock::now(&now);
    let envelope = inkan
        .create_envelope(
            &staff,
            &NewEnvelope {
                number: "R8-契約-0001".into(),
                title: "庁舎清掃業務委託".into(),
                message: "ご確認のうえ署名をお願いします。".into(),
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
                        name: "盛岡市長 契約 花子".into(),
                        email: CITY.into(),
                        role: Role::Signer,
                        order: 2,
                        method: SignatureMethod::Witness,
                        access_code: None,
                        sms_phone: None,
                    },
                ],
                documents: vec![
                    document(
                        "機密保持契約書.pdf",
                        None,
                        vec![
                            placed("vendor", FieldKind::Date, "署名日", 600.0),
                            placed("vendor", FieldKind::Checkbox, "内容に同意します", 560.0),
                        ],
                        "0",
                    ),
                    document(
                        "業務委託契約書.pdf",
                        None,
                        vec![placed("vendor", FieldKind::Text, "担当者名", 600.0)],
                        "1,234,567円",
                    ),
                    document("送付状.pdf", None, vec![], "0"),
                    document("請書.pdf", Some(vec!["vendor"]), vec![], "1,234,567"),
                ],
                attachments: vec![],
                folder: None,
            },
            &who,
        )
        .await
        .unwrap();
    assert_eq!(envelope.status, StatusKind::Draft);
    assert_eq!(envelope.documents.len(), 4);

    let worker = inkan.worker();
    inkan.send(&staff, &envelope.id, &who).await.unwrap();
    // Sending twice is harmless.
    inkan.send(&staff, &envelope.id, &who).await.unwrap();
    worker.drain().await.unwrap();
    let sent = inkan.envelope(&staff, &envelope.id).await.unwrap();
    assert_eq!(sent.status, StatusKind::Sent);
    assert!(
        sent.documents.iter().all(|d| d.revision == 1),
        "every document certified: {sent:#?}"
    );

    // Only the vendor is asked first, with the seeds' subject.
    let outbox = t.outbox();
    assert!(
        outbox.iter().all(|m| m.to != CITY),
        "the city is not asked before the vendor signs"
    );
    let request = outbox
        .iter()
        .find(|m| m.to == VENDOR)
        .expect("a request to the vendor");
    assert_eq!(
        request.subject,
        "【盛岡市】 様より庁舎清掃業務委託への署名依頼が届いています"
    );
    assert!(request.text.contains("文書を確認する"), "{}", request.text);
    for filed_under in ["管理番号", "R8-契約-0001", "取引先", "株式会社盛岡清掃"] {
        assert!(request.text.contains(filed_under), "{}", request.text);
    }

    // The vendor opens the link, sees their fields, fills them and completes.
    let vendor_token = t.link_token(VENDOR, "s");
    let view = inkan.open_link(&vendor_token, &who).await.unwrap();
    assert!(view.can_act);
    assert_eq!(view.documents.len(), 4);
    let date = view.documents[0]
        .fields
        .iter()
        .find(|f| f.label == "署名日")
        .unwrap()
        .id
        .clone();
    let agree = view.documents[0]
        .fields
        .iter()
        .find(|f| f.kind == FieldKind::Checkbox)
        .unwrap()
        .id
        .clone();
    let person = view.documents[1]
        .fields
        .iter()
        .find(|f| f.label == "担当者名")
        .unwrap()
        .id
        .clone();
    // Missing required items are refused, and nothing is signed.
    let err = inkan
        .complete(
            &vendor_token,
            &[FieldInput {
                field: date.clone(),
                value: "2026-04-01".into(),
            }],
            &who,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("必須項目"), "{err}");
    // A day that does not exist is refused, naming the field.
    let err = inkan
        .complete(
            &vendor_token,
            &[FieldInput {
                field: date.clone(),
                value: "令和8年2月30日".into(),
            }],
            &who,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("署名日"), "{err}");
    // The vendor types the date as they like; the contract writes it in 和暦.
    let values = [
        FieldInput {
            field: date.clone(),
            value: "R８.４.１".into(),
        },
        FieldInput {
            field: agree,
            value: "true".into(),
        },
        FieldInput {
            field: person,
            value: "山田太郎".into(),
        },
    ];
    inkan.complete(&vendor_token, &values, &who).await.unwrap();
    let written = inkan
        .envelope(&staff, &envelope.id)
        .await
        .unwrap()
        .documents[0]
        .fields
        .iter()
        .find(|f| f.id == date)
        .and_then(|f| f.value.clone());
    assert_eq!(written.as_deref(), Some("令和8年4月1日"));
    // A double click signs once.
    inkan.complete(&vendor_token, &values, &who).await.unwrap();
    // The city cannot sign before its turn came… it could not even have a link: its link is
    // mailed only now.
    worker.drain().await.unwrap();
    let partial = inkan.envelope(&staff, &envelope.id).await.unwrap();
    assert_eq!(partial.status, StatusKind::PartiallySigned);
    let revisions: Vec<u32> = partial.documents.iter().map(|d| d.revision).collect();
    assert_eq!(
        revisions,
        [2, 2, 2, 2],
        "one vendor signature in each document"
    );

    let city_token = t.link_token(CITY, "s");
    inkan.complete(&city_token, &[], &who).await.unwrap();
    worker.drain().await.unwrap();
    let done = inkan.envelope(&staff, &envelope.id).await.unwrap();
    assert_eq!(done.status, StatusKind::Completed);
    assert!(done.sealed, "{done:#?}");
    let revisions: Vec<u32> = done.documents.iter().map(|d| d.revision).collect();
    assert_eq!(
        revisions,
        [3, 3, 3, 2],
        "the 請書 has the vendor's signature only"
    );

    // Every document passes the validators at B-LTA.
    for d in &done.documents {
        let (name, bytes) = inkan
            .download_document(&staff, &envelope.id, &d.id, &who)
            .await
            .unwrap();
        let path = t.data.path().join(format!("out-{}.pdf", d.position));
        std::fs::write(&path, &bytes).unwrap();
        if d.position == 0 {
            // The date as the contract writes it, in the PDF's form field.
            let values = text_field_values(&bytes);
            assert!(values.iter().any(|v| v == "令和8年4月1日"), "{values:?}");
        }
        if let Some((ok, text)) = qpdf_clean(&path) {
            assert!(ok, "{name}: qpdf\n{text}");
        }
        if let Some((ok, text)) = pyhanko_valid(&path, &t.root_pem) {
            assert!(ok, "{name}: pyHanko\n{text}");
            let signatures = if name == "請書.pdf" { 2 } else { 3 };
            assert_eq!(
                text.matches("judged VALID").count(),
                signatures,
                "{name}: one verdict per signature (the LTV check covers the document timestamp)\n{text}"
            );
        }
        if let Some((ok, text)) = ltv_check(&path, &t.root_pem, None) {
            assert!(ok, "{name}: LTV\n{text}");
        }
    }

    // Completion mails and the 14-day page.
    let completion = t
        .outbox()
        .into_iter()
        .find(|m| m.to == VENDOR && m.subject.contains("電子署名完了のお知らせ"))
        .expect("completion mail");
    assert!(completion.text.contains("請書.pdf"), "{}", completion.text);
    let c_token = t.link_token(VENDOR, "c");
    let page = inkan.completion(&c_token, &who).await.unwrap();
    assert_eq!(page.documents.len(), 4);
    let (_, pdf) = inkan
        .completion_document(&c_token, &page.documents[0].id, &who)
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    t.clock.advance(14 * 86_400 + 60);
    assert!(matches!(
        inkan.completion(&c_token, &who).await,
        Err(ServiceError::NotFound(_))
    ));

    // 電帳法 search by amount and counterparty.
    let hits = inkan
        .search(
            &staff,
            &SearchInput {
                amount_min: Some("1,000,000".into()),
                counterparty: Some("盛岡清掃".into()),
                ..SearchInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 2, "{hits:#?}");

    // The trail has every step and verifies.
    let trail = inkan.audit_trail(&staff, Some(&envelope.id)).await.unwrap();
    for action in [
        "create",
        "send",
        "view",
        "sign",
        "seal_step",
        "sealed",
        "download",
    ] {
        assert!(
            trail.iter().any(|e| e.entry.action == action),
            "no {action} in the trail"
        );
    }
    assert!(trail
        .iter()
        .any(|e| e.entry.ip.as_deref() == Some("192.0.2.10")));
    // The readable 操作ログ: one row per human action, named actors.
    let log = inkan.audit_log(&staff, &envelope.id).await.unwrap();
    assert!(log.len() < trail.len(), "{log:#?}");
    let seal = log.iter().find(|l| l.action == "seal").expect("a seal row");
    assert_eq!(seal.actor.kind, "system");
    assert!(
        seal.count >= 4,
        "one row for the documents of one sealing: {seal:#?}"
    );
    let signed = log.iter().find(|l| l.action == "sign").expect("a sign row");
    assert_eq!(signed.actor.kind, "signer");
    assert_eq!(signed.actor.email.as_deref(), Some(VENDOR));
    assert!(log.iter().all(|l| !l.actor.name.contains(':')), "{log:#?}");
    let reports = inkan.verify_audit().await.unwrap();
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:#?}");
}

/// The values (`/V`) of every text form field of a PDF, decoded.
fn text_field_values(pdf: &[u8]) -> Vec<String> {
    let doc = inkan_pdf::Document::open(pdf.to_vec()).unwrap();
    doc.object_numbers()
        .into_iter()
        .filter_map(|num| doc.get(inkan_pdf::ObjRef { num, gen: 0 }).ok())
        .filter_map(|o| o.as_dict().cloned())
        .filter(|d| {
            d.get("FT")
                .and_then(|t| t.as_name())
                .is_some_and(|n| n == b"Tx")
        })
        .filter_map(|d| {
            let v = d.get("V")?.as_string()?;
            Some(inkan_pdf::text::decode_text_string(&v.bytes))
        })
        .collect()
}
