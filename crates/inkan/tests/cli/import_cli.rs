//! `inkan import` beside a running `inkan serve` (whose built-in TSA timestamps the imports): a
//! CSV saved by Japanese Excel (CP932) lists a scanned paper contract and a PDF from another
//! service; both are imported and found by the 電帳法 search; a CSV with a bad row or a missing
//! file is refused naming the line, and imports nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::service::{call, Serve, OPERATOR_TOKEN};
use common::{free_port, inkan};
use inkan_testkit::validators::sample_pdf;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_are_imported_from_a_cp932_csv() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let s = Serve::start(data.path(), port);
    let client = reqwest::Client::new();
    let created = call(
        &client,
        Method::POST,
        &format!("{}/api/v1/organizations", s.base),
        Some(OPERATOR_TOKEN),
        Some(json!({"name": "盛岡市", "admin_name": "契約 花子", "admin_email": "keiyaku@city.morioka.example.jp"})),
    )
    .await;
    let key = created["api_key"].as_str().unwrap().to_string();

    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("請書_2018.pdf"), sample_pdf(1)).unwrap();
    std::fs::write(folder.path().join("委託契約書_2019.pdf"), sample_pdf(2)).unwrap();
    let csv = "ファイル,件名,取引先,取引年月日,金額,種別\r\n\
               請書_2018.pdf,庁舎清掃 請書,株式会社盛岡清掃,2018-03-30,\"99,000円\",請書\r\n\
               委託契約書_2019.pdf,庁舎清掃業務委託,株式会社盛岡清掃,2019-04-01,1200000,契約書\r\n";
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(csv);
    let manifest = folder.path().join("取込.csv");
    std::fs::write(&manifest, &cp932).unwrap();
    let run = |args: &[&str]| {
        let out = inkan()
            .arg("import")
            .args(args)
            .env("INKAN_DATA_DIR", data.path())
            .env("INKAN_LISTEN", format!("127.0.0.1:{port}"))
            .env("INKAN_API_KEY", &key)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let search = || async {
        call(
            &client,
            Method::GET,
            &format!(
                "{}/api/v1/documents/search?counterparty={}",
                s.base, "%E7%9B%9B%E5%B2%A1%E6%B8%85%E6%8E%83"
            ),
            Some(&key),
            None,
        )
        .await
    };

    // A bad row, then a missing file: refused by line, nothing imported.
    let bad = folder.path().join("bad.csv");
    std::fs::write(
        &bad,
        "ファイル,取引年月日\n請書_2018.pdf,2018-03-30\n委託契約書_2019.pdf,2019-02-30\n",
    )
    .unwrap();
    let (code, out, err) = run(&[bad.to_str().unwrap()]);
    assert_ne!(code, Some(0), "{out}");
    assert!(err.contains("3行目「取引年月日」"), "{err}");
    let missing = folder.path().join("missing.csv");
    std::fs::write(&missing, "ファイル\n請書_2018.pdf\nない.pdf\n").unwrap();
    let (code, _, err) = run(&[missing.to_str().unwrap()]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("3行目「ファイル」") && err.contains("ない.pdf"),
        "{err}"
    );
    assert_eq!(search().await.as_array().unwrap().len(), 0);

    let (code, out, err) = run(&[manifest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("[1/2] 請書_2018.pdf") && out.contains("[2/2] 委託契約書_2019.pdf"),
        "{out}"
    );
    assert!(out.contains("2 imported, 0 failed"), "{out}");
    let hits = search().await;
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits.iter().all(|h| h["envelope_status"] == "imported"));
    let first = &hits[0];
    assert_eq!(first["envelope_title"], "庁舎清掃 請書");
    assert_eq!(first["document"]["metadata"]["amount"], "99000");
    assert_eq!(first["document"]["metadata"]["kind"], "請書");
    drop(s);
}
