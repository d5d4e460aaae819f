//! Issue 19, items 2 and 3: templates in versions with 差込み項目 drawn into the PDF, and bulk
//! sending from a CSV as Japanese Excel writes it. An envelope made from a template keeps the
//! version it used; its merged PDF (the values drawn as an incremental update) goes through
//! signing to B-LTA and stays valid in pyHanko; every row of a bulk CSV is checked before
//! anything is sent, a bad one named by line and column; each row's envelope is sent once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use base64::Engine;
use inkan_domain::Role;
use inkan_service::{
    BulkStart, FromTemplate, MergeField, MetadataInput, NewRole, NewTemplate, NewTemplateDocument,
    RoleRecipient, ServiceError,
};
use inkan_testkit::validators::{pyhanko_valid, sample_pdf};

use crate::common::{self, caller, start};
use crate::conclusion::pdf_text;

const CITY: &str = "keiyaku@city.morioka.example.jp";

fn merge(name: &str, y: f64) -> MergeField {
    MergeField {
        name: name.into(),
        page: 1,
        x: 72.0,
        y,
        size: 12.0,
    }
}

fn template(title: &str, with_pdf: bool) -> NewTemplate {
    NewTemplate {
        name: "清掃業務委託契約".into(),
        title: title.into(),
        message: "ご確認のうえ署名をお願いします。".into(),
        deadline_days: 14,
        roles: vec![
            NewRole {
                key: "vendor".into(),
                label: "取引先".into(),
                role: Role::Signer,
                order: 1,
                method: Default::default(),
                name: None,
                email: None,
            },
            NewRole {
                key: "city".into(),
                label: "市長".into(),
                role: Role::Signer,
                order: 2,
                method: Default::default(),
                name: Some("盛岡 市長".into()),
                email: Some(CITY.into()),
            },
        ],
        documents: vec![NewTemplateDocument {
            name: "委託契約書.pdf".into(),
            content_base64: if with_pdf {
                base64::engine::general_purpose::STANDARD.encode(sample_pdf(2))
            } else {
                String::new()
            },
            signers: None,
            fields: vec![],
            merge_fields: vec![merge("件名", 700.0), merge("金額", 680.0)],
            kind: Some("契約書".into()),
        }],
    }
}

fn values(subject: &str, amount: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("件名".to_string(), subject.to_string()),
        ("金額".to_string(), amount.to_string()),
    ])
}

fn vendor(email: &str) -> Vec<RoleRecipient> {
    vec![RoleRecipient {
        role: "取引先".into(),
        name: "山田 太郎".into(),
        email: email.into(),
        ..RoleRecipient::default()
    }]
}

fn invalid(e: ServiceError) -> String {
    match e {
        ServiceError::Invalid(m) => m,
        other => panic!("expected a refusal naming the input, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_in_versions_makes_envelopes_with_its_merge_values_drawn_in() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let inkan = &t.inkan;
    let who = caller();
    let staff = common::organization(inkan, "盛岡市", CITY).await;

    // Refused templates name what is wrong, and nothing is kept.
    let mut off_page = template("{{件名}} 業務委託契約", true);
    off_page.documents[0].merge_fields[1].page = 3;
    let e = invalid(
        inkan
            .save_template(&staff, None, &off_page, &who)
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("documents[0].merge_fields[1]") && e.contains("page 3"),
        "{e}"
    );
    let unknown = template("{{契約番号}} 業務委託契約", true);
    let e = invalid(
        inkan
            .save_template(&staff, None, &unknown, &who)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("契約番号"), "{e}");
    let mut no_pdf = template("業務委託契約", true);
    no_pdf.documents[0].content_base64 =
        base64::engine::general_purpose::STANDARD.encode(b"not a pdf");
    let e = invalid(
        inkan
            .save_template(&staff, None, &no_pdf, &who)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("documents[0]") && e.contains("PDF"), "{e}");
    assert!(inkan.templates(&staff).await.unwrap().is_empty());

    let v1 = inkan
        .save_template(&staff, None, &template("{{件名}} 業務委託契約", true), &who)
        .await
        .unwrap();
    assert_eq!((v1.version, v1.latest_version), (1, 1));
    assert_eq!(v1.merge_names, ["件名", "金額"]);

    // An envelope from version 1: the vendor given, the city's signer by default.
    let input = FromTemplate {
        number: "R8-清掃-001".into(),
        recipients: vendor("taro@seisou.example.co.jp"),
        merge: values("本庁舎清掃業務", "1,234,567円"),
        metadata: MetadataInput {
            date: Some("2026-12-01".into()),
            amount: Some("1,234,567".into()),
            counterparty: Some("株式会社盛岡清掃".into()),
            kind: None,
        },
        ..FromTemplate::default()
    };
    // Missing and unknown values are refused by name.
    let mut missing = input.clone();
    missing.merge.remove("金額");
    let e = invalid(
        inkan
            .envelope_from_template(&staff, &v1.id, &missing, &who)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("merge.金額"), "{e}");
    let mut extra = input.clone();
    extra.merge.insert("工期".into(), "3か月".into());
    let e = invalid(
        inkan
            .envelope_from_template(&staff, &v1.id, &extra, &who)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("merge.工期"), "{e}");
    let mut nobody = input.clone();
    nobody.recipients.clear();
    let e = invalid(
        inkan
            .envelope_from_template(&staff, &v1.id, &nobody, &who)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("取引先") && e.contains("vendor"), "{e}");

    let first = inkan
        .envelope_from_template(&staff, &v1.id, &input, &who)
        .await
        .unwrap();
    assert_eq!(first.title, "本庁舎清掃業務 業務委託契約");
    let used = first.template.clone().unwrap();
    assert_eq!((used.template.as_str(), used.version), (v1.id.as_str(), 1));
    let emails: Vec<_> = first
        .recipients
        .iter()
        .map(|r| (r.email.as_str(), r.order))
        .collect();
    assert_eq!(emails, [("taro@seisou.example.co.jp", 1), (CITY, 2)]);
    assert_eq!(first.documents[0].metadata.kind.as_deref(), Some("契約書"));
    assert_eq!(
        first.documents[0].metadata.counterparty.as_deref(),
        Some("株式会社盛岡清掃")
    );
    // The values are in the PDF's text, drawn over the template's untouched bytes.
    let (_, merged) = inkan
        .download_document(&staff, &first.id, &first.documents[0].id, &who)
        .await
        .unwrap();
    let original = sample_pdf(2);
    assert!(
        merged.starts_with(&original),
        "the template's bytes were changed"
    );
    let path = t.data.path().join("merged.pdf");
    std::fs::write(&path, &merged).unwrap();
    if let Some(text) = pdf_text(&path) {
        assert!(
            text.contains("本庁舎清掃業務") && text.contains("1,234,567円"),
            "{text}"
        );
    }

    // Version 2 keeps the PDF (none given), changes the title; the first envelope keeps 1.
    let v2 = inkan
        .save_template(
            &staff,
            Some(&v1.id),
            &template("【令和9年度】{{件名}}", false),
            &who,
        )
        .await
        .unwrap();
    assert_eq!((v2.id.as_str(), v2.version), (v1.id.as_str(), 2));
    assert_eq!(v2.documents[0].sha256, v1.documents[0].sha256);
    assert_eq!(
        v2.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    let old = inkan.template(&staff, &v1.id, Some(1)).await.unwrap();
    assert_eq!(
        (old.title.as_str(), old.latest_version),
        ("{{件名}} 業務委託契約", 2)
    );
    let second = inkan
        .envelope_from_template(&staff, &v1.id, &input, &who)
        .await
        .unwrap();
    assert_eq!(second.title, "【令和9年度】本庁舎清掃業務");
    assert_eq!(second.template.as_ref().unwrap().version, 2);
    let first_again = inkan.envelope(&staff, &first.id).await.unwrap();
    assert_eq!(first_again.template.as_ref().unwrap().version, 1);
    let pinned = FromTemplate {
        version: Some(1),
        ..input.clone()
    };
    let third = inkan
        .envelope_from_template(&staff, &v1.id, &pinned, &who)
        .await
        .unwrap();
    assert_eq!(third.template.as_ref().unwrap().version, 1);

    // Another organization sees none of it.
    let other = common::organization(inkan, "滝沢市", "keiyaku@city.takizawa.example.jp").await;
    assert!(inkan.templates(&other).await.unwrap().is_empty());
    assert!(matches!(
        inkan.template(&other, &v1.id, None).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        inkan
            .envelope_from_template(&other, &v1.id, &input, &who)
            .await,
        Err(ServiceError::NotFound(_))
    ));

    // The merged document signed by both to B-LTA: valid in pyHanko.
    inkan.send(&staff, &first.id, &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token("taro@seisou.example.co.jp", "s");
    inkan.complete(&token, &[], &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token(CITY, "s");
    inkan.complete(&token, &[], &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let sealed = inkan.envelope(&staff, &first.id).await.unwrap();
    assert!(
        sealed.sealed,
        "the envelope made from the template was not sealed"
    );
    let (_, signed) = inkan
        .download_document(&staff, &first.id, &first.documents[0].id, &who)
        .await
        .unwrap();
    let path = t.data.path().join("signed.pdf");
    std::fs::write(&path, &signed).unwrap();
    if let Some((ok, report)) = pyhanko_valid(&path, &t.root_pem) {
        assert!(ok, "pyHanko:\n{report}");
    }
    if let Some(text) = pdf_text(&path) {
        assert!(text.contains("本庁舎清掃業務"), "{text}");
    }
}

/// The bulk-send CSV as Excel saves it in Japan: CP932, CRLF.
fn cp932(text: &str) -> Vec<u8> {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&crlf);
    assert!(!bad);
    bytes.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_send_checks_every_row_first_and_sends_each_row_once() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let t = start(None).await;
    let inkan = &t.inkan;
    let who = caller();
    let staff = common::organization(inkan, "盛岡市", CITY).await;
    let tpl = inkan
        .save_template(&staff, None, &template("{{件名}} 業務委託契約", true), &who)
        .await
        .unwrap();

    // The ひな形: the vendor's columns (the city's signer has a default), the 差込み項目, the
    // 電帳法 items (金額 is both).
    let header = inkan.bulk_csv_template(&staff, &tpl.id).await.unwrap();
    assert_eq!(
        header.trim_start_matches('\u{feff}').trim_end(),
        "件名,管理番号,取引先:氏名,取引先:メールアドレス,金額,取引年月日,取引先,種別"
    );

    let head = "件名,管理番号,取引先:氏名,取引先:メールアドレス,金額,取引年月日,取引先\n";
    let row = |i: usize| {
        format!(
            "第{i}庁舎清掃業務,R8-{i:03},業者 {i}郎,vendor{i}@seisou.example.co.jp,\"{},000円\",2026-12-01,株式会社清掃{i}\n",
            i * 100
        )
    };
    // A bad address on line 4, a bad date on line 3, a missing column, an unknown column:
    // each named, nothing stored.
    let bad_email = format!(
        "{head}{}{}{}",
        row(1),
        row(2),
        row(3).replace("vendor3@", "vendor3＠")
    );
    let e = invalid(
        inkan
            .start_bulk_send(
                &staff,
                &tpl.id,
                &BulkStart::named("一括.csv"),
                &cp932(&bad_email),
                &who,
            )
            .await
            .unwrap_err(),
    );
    assert!(e.contains("4行目「取引先:メールアドレス」"), "{e}");
    let bad_date = format!(
        "{head}{}{}",
        row(1),
        row(2).replace("2026-12-01", "2026/13/01")
    );
    let e = invalid(
        inkan
            .start_bulk_send(
                &staff,
                &tpl.id,
                &BulkStart::named("一括.csv"),
                &cp932(&bad_date),
                &who,
            )
            .await
            .unwrap_err(),
    );
    assert!(e.contains("3行目「取引年月日」"), "{e}");
    let no_amount =
        "件名,管理番号,取引先:氏名,取引先:メールアドレス\n第1庁舎,R8-1,業者,v@example.co.jp\n";
    let e = invalid(
        inkan
            .start_bulk_send(
                &staff,
                &tpl.id,
                &BulkStart::named("一括.csv"),
                &cp932(no_amount),
                &who,
            )
            .await
            .unwrap_err(),
    );
    assert!(e.contains("1行目") && e.contains("金額"), "{e}");
    let unknown = format!("{}{}", head.replace("管理番号", "備考"), row(1));
    let e = invalid(
        inkan
            .start_bulk_send(
                &staff,
                &tpl.id,
                &BulkStart::named("一括.csv"),
                &cp932(&unknown),
                &who,
            )
            .await
            .unwrap_err(),
    );
    assert!(e.contains("1行目 2列目") && e.contains("備考"), "{e}");
    let too_many: String = std::iter::once(head.to_string())
        .chain((1..=1501).map(row))
        .collect();
    let e = invalid(
        inkan
            .start_bulk_send(
                &staff,
                &tpl.id,
                &BulkStart::named("一括.csv"),
                too_many.as_bytes(),
                &who,
            )
            .await
            .unwrap_err(),
    );
    assert!(e.contains("1500"), "{e}");
    assert!(inkan.batches(&staff).await.unwrap().is_empty());

    // Five rows in CP932 with an empty line; one UTF-8 with a BOM works the same.
    let csv: String = std::iter::once(head.to_string())
        .chain((1..=5).map(row))
        .chain(std::iter::once(",,,,,,\n".to_string()))
        .collect();
    let batch = inkan
        .start_bulk_send(
            &staff,
            &tpl.id,
            &BulkStart::named("令和8年度清掃.csv"),
            &cp932(&csv),
            &who,
        )
        .await
        .unwrap();
    assert_eq!((batch.rows, batch.waiting, batch.sent), (5, 5, 0));
    assert!(!batch.finished);
    let utf8 = format!("\u{feff}{head}{}", row(6));
    let other_batch = inkan
        .start_bulk_send(
            &staff,
            &tpl.id,
            &BulkStart::named("追加.csv"),
            utf8.as_bytes(),
            &who,
        )
        .await
        .unwrap();
    assert_eq!(other_batch.rows, 1);

    inkan.worker().drain().await.unwrap();
    let done = inkan.batch(&staff, &batch.id).await.unwrap();
    assert_eq!(
        (done.sent, done.failed, done.waiting),
        (5, 0, 0),
        "{done:#?}"
    );
    assert!(done.finished);
    let mut envelopes = Vec::new();
    for (i, line) in done.lines.iter().enumerate() {
        assert_eq!(line.row as usize, i + 2, "rows keep their CSV lines");
        assert_eq!(line.state, "sent");
        let id = line.envelope.clone().unwrap();
        let env = inkan.envelope(&staff, &id).await.unwrap();
        assert_eq!(env.title, format!("第{}庁舎清掃業務 業務委託契約", i + 1));
        assert_eq!(env.status.name(), "sent");
        assert_eq!(env.template.as_ref().unwrap().version, 1);
        assert_eq!(
            env.documents[0]
                .metadata
                .amount
                .as_deref()
                .map(|a| a.replace([',', '円'], "")),
            Some(format!("{}000", (i + 1) * 100))
        );
        envelopes.push(id);
    }
    envelopes.sort();
    envelopes.dedup();
    assert_eq!(envelopes.len(), 5);
    // Each vendor asked to sign exactly once.
    let outbox = t.outbox();
    for i in 1..=6 {
        let to = format!("vendor{i}@seisou.example.co.jp");
        let requests = outbox
            .iter()
            .filter(|m| m.to == to && m.subject.contains("署名"))
            .count();
        assert_eq!(requests, 1, "{to} got {requests} requests");
    }
    // The page's list and the audit trail.
    let listed = inkan.batches(&staff).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|b| b.lines.is_empty() && b.finished));
    // An organization that files every envelope in a folder: a bulk send without one is
    // refused before anything is stored; with one, each row's envelope is in it.
    inkan.set_folder_required(&staff, &who, true).await.unwrap();
    let one = format!("{head}{}", row(7));
    let e = invalid(
        inkan
            .start_bulk_send(
                &staff,
                &tpl.id,
                &BulkStart::named("f.csv"),
                one.as_bytes(),
                &who,
            )
            .await
            .unwrap_err(),
    );
    assert!(e.contains("フォルダ"), "{e}");
    assert_eq!(inkan.batches(&staff).await.unwrap().len(), 2);
    let folder = inkan
        .create_folder(
            &staff,
            &who,
            &inkan_service::FolderInput {
                name: "令和8年度".into(),
                parent: None,
                grants: vec![],
            },
        )
        .await
        .unwrap();
    let filed = inkan
        .start_bulk_send(
            &staff,
            &tpl.id,
            &BulkStart {
                folder: Some(folder.id),
                ..BulkStart::named("f.csv")
            },
            one.as_bytes(),
            &who,
        )
        .await
        .unwrap();
    inkan.worker().drain().await.unwrap();
    let filed = inkan.batch(&staff, &filed.id).await.unwrap();
    assert_eq!(filed.sent, 1, "{filed:#?}");
    let env = inkan
        .envelope(&staff, filed.lines[0].envelope.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(env.folder, Some(folder.id));

    // Another organization cannot read it.
    let other = common::organization(inkan, "滝沢市", "keiyaku@city.takizawa.example.jp").await;
    assert!(matches!(
        inkan.batch(&other, &batch.id).await,
        Err(ServiceError::NotFound(_))
    ));
}
