//! Issue 19, item 4: contracts concluded outside Inkan. A PDF signed elsewhere (here: the final
//! B-LTA PDF of another organization's envelope) is imported with its 電帳法 items and 種別: kept
//! byte for byte, a document timestamp appended as an incremental update, every signature still
//! valid in pyHanko; a scanned paper contract likewise; encrypted and damaged files refused
//! with the reason; the imports found by the search (締結済みのみ too); a correction of the
//! items kept with before, after and reason (訂正削除の履歴).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{self, caller, start};
use inkan_service::{ImportInput, MetadataCorrection, MetadataInput, SearchInput, ServiceError};
use inkan_testkit::validators::{pyhanko_doc_timestamps_valid, pyhanko_valid, sample_pdf};

fn input(name: &str, counterparty: &str, date: &str, amount: &str, kind: &str) -> ImportInput {
    ImportInput {
        name: name.into(),
        number: "H31-契約-0007".into(),
        metadata: MetadataInput {
            date: Some(date.into()),
            amount: Some(amount.into()),
            counterparty: Some(counterparty.into()),
            kind: Some(kind.into()),
        },
        ..ImportInput::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_from_paper_and_other_services_are_kept_timestamped_and_searchable() {
    let t = start(None).await;
    let inkan = &t.inkan;
    // A contract signed through another service: another organization's concluded envelope.
    let elsewhere = common::organization(inkan, "岩手県", "admin@pref.iwate.example.jp").await;
    let concluded = common::concluded(&t, &elsewhere, "委託契約", "v@example.co.jp").await;
    let (_, signed) = inkan
        .download_document(
            &elsewhere,
            &concluded.id,
            &concluded.documents[0].id,
            &caller(),
        )
        .await
        .unwrap();

    let staff = common::organization(inkan, "盛岡市", "admin@city.morioka.example.jp").await;
    let imported = inkan
        .import_contract(
            &staff,
            &input(
                "委託契約書_2019.pdf",
                "株式会社盛岡清掃",
                "2019-04-01",
                "1,200,000円",
                "契約書",
            ),
            signed.clone(),
            &caller(),
        )
        .await
        .unwrap();
    assert_eq!(imported.status.name(), "imported");
    assert_eq!(imported.title, "委託契約書_2019");
    assert!(imported.recipients.is_empty());
    let doc = &imported.documents[0];
    assert_eq!(doc.metadata.kind.as_deref(), Some("契約書"));
    let (_, stored) = inkan
        .download_document(&staff, &imported.id, &doc.id, &caller())
        .await
        .unwrap();
    // The original bytes, untouched, then the timestamp as an incremental update.
    assert!(stored.len() > signed.len());
    assert!(stored.starts_with(&signed), "the original bytes changed");
    let path = t.data.path().join("imported.pdf");
    std::fs::write(&path, &stored).unwrap();
    assert!(
        stored[signed.len()..]
            .windows(b"/DocTimeStamp".len())
            .any(|w| w == b"/DocTimeStamp"),
        "no document timestamp was appended"
    );
    // Every signature — the seller's, the witness's, the archive timestamps — and the new
    // document timestamp, valid in pyHanko.
    if let Some((valid, text)) = pyhanko_valid(&path, &t.root_pem) {
        assert!(valid, "pyHanko: {text}");
    }
    if let Some((valid, text)) = pyhanko_doc_timestamps_valid(&path, &t.root_pem) {
        assert!(valid, "pyHanko: {text}");
    }

    // A scanned paper contract: no signature at all, timestamped all the same.
    let paper = sample_pdf(2);
    let scanned = inkan
        .import_contract(
            &staff,
            &ImportInput {
                title: Some("庁舎清掃 請書 (紙)".into()),
                ..input(
                    "請書.pdf",
                    "株式会社盛岡清掃",
                    "2018-03-30",
                    "99,000",
                    "請書",
                )
            },
            paper.clone(),
            &caller(),
        )
        .await
        .unwrap();
    let (_, stored) = inkan
        .download_document(&staff, &scanned.id, &scanned.documents[0].id, &caller())
        .await
        .unwrap();
    assert!(stored.starts_with(&paper));
    std::fs::write(&path, &stored).unwrap();
    // Its only signature is the document timestamp: pyHanko's timestamp validation.
    if let Some((valid, text)) = pyhanko_doc_timestamps_valid(&path, &t.root_pem) {
        assert!(valid, "pyHanko: {text}");
    }

    // Refused, with the reason, and nothing stored: damaged, not a PDF, encrypted.
    let mut damaged = paper.clone();
    damaged.truncate(damaged.len() / 2);
    for (bytes, why) in [
        (damaged, "壊れている"),
        (b"GIF89a not a pdf".to_vec(), "PDF ではありません"),
    ] {
        let e = inkan
            .import_contract(
                &staff,
                &input("x.pdf", "a", "2020-01-01", "1", "契約書"),
                bytes,
                &caller(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ServiceError::Invalid(m) if m.contains("「x.pdf」は取り込めません") && m.contains(why)),
            "{e}"
        );
    }
    if let Some(qpdf) = inkan_testkit::require_tool("qpdf", "encrypts the refused PDF") {
        let plain = t.data.path().join("plain.pdf");
        let locked = t.data.path().join("locked.pdf");
        std::fs::write(&plain, &paper).unwrap();
        let status = std::process::Command::new(qpdf)
            .args(["--encrypt", "user-pw", "owner-pw", "256", "--"])
            .arg(&plain)
            .arg(&locked)
            .status()
            .unwrap();
        assert!(status.success());
        let e = inkan
            .import_contract(
                &staff,
                &input("secret.pdf", "a", "2020-01-01", "1", "契約書"),
                std::fs::read(&locked).unwrap(),
                &caller(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ServiceError::Invalid(m) if m.contains("暗号化")),
            "{e}"
        );
    }

    // Found by the same search, concluded-only included; a bad item is refused by name.
    let hits = inkan
        .search(
            &staff,
            &SearchInput {
                counterparty: Some("盛岡清掃".into()),
                completed_only: true,
                ..SearchInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits.iter().all(|h| h.envelope_status.name() == "imported"));
    let e = inkan
        .import_contract(
            &staff,
            &input("y.pdf", "a", "2019-13-01", "1", "契約書"),
            paper.clone(),
            &caller(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("取引年月日"), "{e}");

    // 訂正: the amount was mistyped. Before, after and reason are kept; the search follows.
    let scanned_doc = &scanned.documents[0].id;
    let no_reason = inkan
        .correct_metadata(
            &staff,
            &scanned.id,
            scanned_doc,
            &MetadataCorrection {
                metadata: MetadataInput::default(),
                reason: " ".into(),
            },
            &caller(),
        )
        .await
        .unwrap_err();
    assert!(no_reason.to_string().contains("理由"), "{no_reason}");
    let corrected = inkan
        .correct_metadata(
            &staff,
            &scanned.id,
            scanned_doc,
            &MetadataCorrection {
                metadata: MetadataInput {
                    amount: Some("990,000円".into()),
                    ..scanned.documents[0].metadata.clone()
                },
                reason: "桁の誤り (原本の金額は 990,000 円)".into(),
            },
            &caller(),
        )
        .await
        .unwrap();
    assert_eq!(corrected.metadata.amount.as_deref(), Some("990000"));
    let history = inkan
        .metadata_history(&staff, &scanned.id, scanned_doc)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0].before.amount.as_deref(), Some("99000"));
    assert_eq!(history[0].after.amount.as_deref(), Some("990000"));
    assert_eq!(history[0].before.kind.as_deref(), Some("請書"));
    assert!(history[0].reason.contains("桁の誤り"));
    assert_eq!(history[0].actor, staff.actor);
    let hits = inkan
        .search(
            &staff,
            &SearchInput {
                amount_min: Some("900000".into()),
                amount_max: Some("1000000".into()),
                ..SearchInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    // Another organization sees neither the document nor its history.
    assert!(matches!(
        inkan
            .metadata_history(&elsewhere, &scanned.id, scanned_doc)
            .await,
        Err(ServiceError::NotFound(_))
    ));
    // The audit chain still verifies with the import and the correction in it.
    let trail = inkan.audit_trail(&staff, Some(&scanned.id)).await.unwrap();
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e.entry.action.as_str())
        .filter(|a| *a != "download")
        .collect();
    assert_eq!(actions, ["import", "metadata_corrected"], "{actions:?}");
}
