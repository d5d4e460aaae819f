//! The end-to-end test through the JSON API of a running `inkan serve`: an organization and a
//! counterparty, an envelope with three documents plus a 請書, sent, signed by the vendor and
//! then the city, every resulting PDF passing pyHanko at B-LTA; `inkan audit verify` passes and
//! then catches an edited entry. And a crash: the server is killed (SIGKILL) in the middle of
//! sealing and started again; every document ends sealed, each signature in it exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::service::{call, Serve, OPERATOR_TOKEN};
use common::{free_port, inkan};
use inkan_testkit::validators::{ltv_check, pyhanko_valid, sample_pdf};
use reqwest::Method;
use serde_json::json;

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";
const CITY: &str = "keiyaku@city.morioka.example.jp";

fn have_font() -> bool {
    if inkan_pades::font::Font::japanese().is_err() {
        inkan_testkit::skip_or_fail("no Japanese font (apt install fonts-ipaexfont-gothic)");
        return false;
    }
    true
}

fn pdf(pages: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(sample_pdf(pages))
}

/// Creates the organization over the API; returns its API key.
async fn organization(client: &reqwest::Client, s: &Serve) -> String {
    let created = call(
        client,
        Method::POST,
        &format!("{}/api/v1/organizations", s.base),
        Some(OPERATOR_TOKEN),
        Some(json!({"name": "盛岡市", "department": "財政部契約検査課", "admin_name": "契約 花子", "admin_email": CITY})),
    )
    .await;
    created["api_key"].as_str().unwrap().to_string()
}

async fn wait_sealed(
    client: &reqwest::Client,
    s: &Serve,
    key: &str,
    id: &str,
) -> serde_json::Value {
    for _ in 0..1200 {
        let view = call(
            client,
            Method::GET,
            &format!("{}/api/v1/envelopes/{id}", s.base),
            Some(key),
            None,
        )
        .await;
        if view["sealed"] == json!(true) {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("envelope {id} was not sealed in 2 minutes");
}

async fn download(client: &reqwest::Client, s: &Serve, key: &str, id: &str, doc: &str) -> Vec<u8> {
    let response = client
        .get(format!("{}/api/v1/envelopes/{id}/documents/{doc}", s.base))
        .header("user-agent", "inkan-e2e/1.0")
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_contract_through_the_api_ends_at_b_lta() {
    if !have_font() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let s = Serve::start(data.path(), free_port());
    let client = reqwest::Client::new();
    let key = organization(&client, &s).await;
    let api = |path: &str| format!("{}/api/v1{path}", s.base);
    let counterparty = call(
        &client,
        Method::POST,
        &api("/counterparties"),
        Some(&key),
        Some(json!({
            "address": "岩手県盛岡市内丸1-1", "trade_name": "株式会社盛岡清掃", "representative": "代表取締役 山田一郎",
            "signatory_title": "代表取締役", "signatory_name": "山田太郎", "signatory_email": VENDOR,
            "clerk_department": "総務部", "clerk_title": "主任", "clerk_name": "佐藤花子", "clerk_phone": "019-000-0000"
        })),
    )
    .await;
    let field = |kind: &str, label: &str, y: f64| {
        json!({"recipient": "vendor", "kind": kind, "label": label, "required": true,
        "placement": {"page": 1, "x": 72.0, "y": y, "width": 150.0, "height": 22.0}})
    };
    let envelope = call(
        &client,
        Method::POST,
        &api("/envelopes"),
        Some(&key),
        Some(json!({
            "number": "R8-契約-0002", "title": "庁舎清掃業務委託", "message": "よろしくお願いします。",
            "deadline": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 7 * 86_400,
            "counterparty": counterparty["id"],
            "recipients": [
                {"key": "vendor", "name": "山田太郎", "email": VENDOR, "role": "signer", "order": 1},
                {"key": "city", "name": "盛岡市長", "email": CITY, "role": "signer", "order": 2}
            ],
            "documents": [
                {"name": "機密保持契約書.pdf", "content_base64": pdf(1), "fields": [field("date", "署名日", 500.0)],
                 "metadata": {"date": "2026-04-01", "amount": "0"}},
                {"name": "業務委託契約書.pdf", "content_base64": pdf(3), "metadata": {"date": "2026-04-01", "amount": "1,234,567円"}},
                {"name": "送付状.pdf", "content_base64": pdf(1)},
                {"name": "請書.pdf", "content_base64": pdf(1), "signers": ["vendor"], "metadata": {"date": "2026-04-01", "amount": "1,234,567"}}
            ]
        })),
    )
    .await;
    let id = envelope["id"].as_str().unwrap().to_string();
    call(
        &client,
        Method::POST,
        &api(&format!("/envelopes/{id}/send")),
        Some(&key),
        None,
    )
    .await;

    // The vendor, from the link in the mail.
    let token = s.link_token(VENDOR, "s").await;
    let view = call(
        &client,
        Method::GET,
        &api(&format!("/sign/{token}")),
        None,
        None,
    )
    .await;
    assert_eq!(view["can_act"], json!(true));
    let date = view["documents"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == "署名日")
        .unwrap()["id"]
        .clone();
    call(
        &client,
        Method::POST,
        &api(&format!("/sign/{token}/complete")),
        None,
        Some(json!({"values": [{"field": date, "value": "2026-04-01"}]})),
    )
    .await;
    // Then the city.
    let token = s.link_token(CITY, "s").await;
    call(
        &client,
        Method::POST,
        &api(&format!("/sign/{token}/complete")),
        None,
        Some(json!({"values": []})),
    )
    .await;

    let done = wait_sealed(&client, &s, &key, &id).await;
    assert_eq!(done["status"], "completed");
    for doc in done["documents"].as_array().unwrap() {
        let name = doc["name"].as_str().unwrap();
        let bytes = download(&client, &s, &key, &id, doc["id"].as_str().unwrap()).await;
        let path = data.path().join(format!("{}.pdf", doc["position"]));
        std::fs::write(&path, bytes).unwrap();
        let root = data.path().join("pki/root.pem");
        if let Some((ok, text)) = pyhanko_valid(&path, &root) {
            assert!(ok, "{name}: pyHanko\n{text}");
            let expected = if name == "請書.pdf" { 2 } else { 3 };
            assert_eq!(
                text.matches("judged VALID").count(),
                expected,
                "{name}\n{text}"
            );
        }
        if let Some((ok, text)) = ltv_check(&path, &root, None) {
            assert!(ok, "{name}: LTV\n{text}");
        }
    }
    let audit = call(
        &client,
        Method::GET,
        &api(&format!("/envelopes/{id}/audit")),
        Some(&key),
        None,
    )
    .await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "download"
                && e["user_agent"] == "inkan-e2e/1.0"
                && e["ip"] == "127.0.0.1"),
        "{audit:#}"
    );
    drop(s);

    // The audit chain verifies, and an edited entry is caught.
    let verify = || {
        inkan()
            .args(["audit", "verify"])
            .env("INKAN_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let out = verify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    if let Some(python) = inkan_testkit::find_tool("python3") {
        let db = data.path().join("inkan.db");
        inkan_testkit::run_ok(std::process::Command::new(python).args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update audit_entries set entry = replace(entry, 'download', 'view') where entry like '%download%' \"); c.commit()",
        ]).arg(&db));
        let out = verify();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("BROKEN"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_middle_of_sealing_it_finishes_after_restart_signing_once() {
    if !have_font() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let s = Serve::start(data.path(), port);
    let client = reqwest::Client::new();
    let key = organization(&client, &s).await;
    let api = |path: &str| format!("http://127.0.0.1:{port}/api/v1{path}");
    let documents: Vec<_> = (0..30)
        .map(|i| json!({"name": format!("契約書{i:02}.pdf"), "content_base64": pdf(20)}))
        .collect();
    let envelope = call(
        &client,
        Method::POST,
        &api("/envelopes"),
        Some(&key),
        Some(json!({
            "title": "再起動試験", "deadline": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 86_400,
            "recipients": [{"key": "vendor", "name": "山田太郎", "email": VENDOR, "role": "signer", "order": 1}],
            "documents": documents
        })),
    )
    .await;
    let id = envelope["id"].as_str().unwrap().to_string();
    call(
        &client,
        Method::POST,
        &api(&format!("/envelopes/{id}/send")),
        Some(&key),
        None,
    )
    .await;
    let token = s.link_token(VENDOR, "s").await;
    // Wait until every document is prepared, then sign, then kill while signatures are applied.
    loop {
        let view = call(
            &client,
            Method::GET,
            &api(&format!("/envelopes/{id}")),
            Some(&key),
            None,
        )
        .await;
        if view["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["revision"] == 1)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    call(
        &client,
        Method::POST,
        &api(&format!("/sign/{token}/complete")),
        None,
        Some(json!({"values": []})),
    )
    .await;
    let mut interrupted = false;
    for _ in 0..2000 {
        let view = call(
            &client,
            Method::GET,
            &api(&format!("/envelopes/{id}")),
            Some(&key),
            None,
        )
        .await;
        let revisions: Vec<i64> = view["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["revision"].as_i64().unwrap())
            .collect();
        if revisions.contains(&2) {
            interrupted = revisions.contains(&1);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    s.kill();
    assert!(interrupted, "the kill came in the middle of sealing");

    let s = Serve::start(data.path(), port);
    let done = wait_sealed(&client, &s, &key, &id).await;
    let root = data.path().join("pki/root.pem");
    for doc in done["documents"].as_array().unwrap() {
        assert_eq!(doc["revision"], 2, "certification + one signature: {doc:#}");
        assert_eq!(
            doc["signed_by"].as_array().unwrap().len(),
            1,
            "signed once: {doc:#}"
        );
    }
    // Each signature exactly once, valid, in a sample of the documents.
    for doc in done["documents"].as_array().unwrap().iter().step_by(10) {
        let bytes = download(&client, &s, &key, &id, doc["id"].as_str().unwrap()).await;
        let path = data.path().join("after-restart.pdf");
        std::fs::write(&path, bytes).unwrap();
        if let Some((ok, text)) = pyhanko_valid(&path, &root) {
            assert!(ok, "{text}");
            assert_eq!(text.matches("judged VALID").count(), 2, "{text}");
        }
    }
    let jobs = call(&client, Method::GET, &api("/jobs"), Some(&key), None).await;
    assert_eq!(jobs["failed"].as_array().unwrap().len(), 0, "{jobs:#}");
}

#[test]
fn demo_seeds_a_sent_envelope_and_prints_the_signer_links() {
    let data = tempfile::tempdir().unwrap();
    let out = inkan()
        .arg("demo")
        .env("INKAN_DATA_DIR", data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("盛岡市 財政部契約検査課"), "{text}");
    assert!(text.contains("API key"), "{text}");
    assert!(
        text.contains("staff login / 職員ログイン: http://127.0.0.1:8080/login"),
        "{text}"
    );
    assert_eq!(
        text.matches("http://127.0.0.1:8080/s/").count(),
        2,
        "{text}"
    );
}
