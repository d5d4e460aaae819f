//! The end-to-end test through the JSON API of a running `inkan serve`: an organization and a
//! counterparty, an envelope with three documents plus a 請書, sent, signed by the vendor and
//! then the city, every resulting PDF passing pyHanko at B-LTA; `inkan audit verify` passes and
//! then catches an edited entry. And a crash: the server is killed (SIGKILL) in the middle of
//! sealing and started again; every document ends sealed, each signature in it exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine;
use common::service::{call, Serve, OPERATOR_TOKEN};
use common::{free_port, inkan};
use inkan_testkit::validators::{ltv_check, pyhanko_valid, sample_pdf};
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";
const CITY: &str = "keiyaku@city.morioka.example.jp";

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
    if !inkan_testkit::japanese_font_installed() {
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
    // The chain heads are timestamped by the server's TSA (the worker does it daily by itself).
    let anchor = inkan()
        .args(["audit", "anchor"])
        .env("INKAN_DATA_DIR", data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&anchor.stdout);
    assert!(
        anchor.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&anchor.stderr)
    );
    // (0 when the worker's own sweep already covered the newest entry.)
    assert!(text.contains("chain head(s) timestamped"), "{text}");
    drop(s);

    // The audit chain verifies, anchored; an edited entry is caught, and so is a chain
    // recomputed by someone who can write to the database, with or without the chain key.
    let verify = |dir: &Path| {
        let out = inkan()
            .args(["audit", "verify"])
            .env("INKAN_DATA_DIR", dir)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = verify(data.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("anchored through entry"), "{text}");
    let Some(python) = inkan_testkit::find_tool("python3") else {
        return;
    };
    let attack = |mode: &str| {
        let copy = tempfile::tempdir().unwrap();
        inkan_testkit::run_ok(
            std::process::Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", data.path().display()))
                .arg(copy.path()),
        );
        inkan_testkit::run_ok(
            std::process::Command::new(&python)
                .args(["-c", REWRITE_AUDIT, mode])
                .arg(copy.path().join("inkan.db"))
                .arg(copy.path().join("keys/audit.key")),
        );
        verify(copy.path())
    };
    // Edited only: the entry no longer matches its hash.
    let (code, text) = attack("edit");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("BROKEN") && text.contains("does not match its hash"),
        "{text}"
    );
    // Recomputed with plain SHA-256 (no key) and the anchors deleted: nothing vouches for it.
    let (code, text) = attack("unkeyed");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("BROKEN") && text.contains("unkeyed hashes"),
        "{text}"
    );
    // Recomputed with the real key (an insider): the timestamp anchor covers the old head.
    let (code, text) = attack("keyed");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("BROKEN") && text.contains("covers another hash"),
        "{text}"
    );
}

/// Rewrites the audit trail in an Inkan SQLite database as an attacker with write access would:
/// a download becomes a view; then (mode `unkeyed`) every hash and the head are recomputed with
/// SHA-256 and the anchors deleted, or (mode `keyed`) recomputed with the stolen chain key.
const REWRITE_AUDIT: &str = r#"
import hashlib, hmac, sqlite3, sys
mode, db, keyfile = sys.argv[1], sys.argv[2], sys.argv[3]
c = sqlite3.connect(db)
c.execute("update audit_entries set entry = replace(entry, 'download', 'view') where entry like '%download%'")
key = open(keyfile, 'rb').read()
if mode != 'edit':
    for (org,) in c.execute('select organization from audit_heads').fetchall():
        prev = '0' * 64
        for seq, entry in c.execute('select seq, entry from audit_entries where organization = ? order by seq', (org,)).fetchall():
            data = (prev + '\n' + str(seq) + '\n' + entry).encode()
            if mode == 'keyed':
                h = 'k1:' + hmac.new(key, data, hashlib.sha256).hexdigest()
            else:
                h = hashlib.sha256(data).hexdigest()
            c.execute('update audit_entries set prev_hash = ?, hash = ? where organization = ? and seq = ?', (prev, h, org, seq))
            prev = h
        c.execute('update audit_heads set hash = ? where organization = ?', (prev, org))
if mode == 'unkeyed':
    c.execute('delete from audit_anchors')
c.commit()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_middle_of_sealing_it_finishes_after_restart_signing_once() {
    if !inkan_testkit::japanese_font_installed() {
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

/// Runs `inkan COMMAND` on a new data folder (zero configuration); it must succeed. Returns the
/// folder (kept while the caller holds it) and what the command printed.
fn run_on_a_new_installation(command: &str) -> (tempfile::TempDir, String) {
    let data = tempfile::tempdir().unwrap();
    let out = inkan()
        .arg(command)
        .env("INKAN_DATA_DIR", data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (data, text)
}

#[test]
fn demo_seeds_a_sent_envelope_and_prints_the_signer_links() {
    let (_data, text) = run_on_a_new_installation("demo");
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

/// `INKAN_LOG_FORMAT=json`: every log line is one JSON object with its time, level and message,
/// fields at the top level, for a log collector.
#[test]
fn logs_as_json_lines_by_configuration() {
    let data = tempfile::tempdir().unwrap();
    let out = inkan()
        .arg("demo")
        .env("INKAN_DATA_DIR", data.path())
        .env("INKAN_LOG", "debug")
        .env("INKAN_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(out.status.success());
    let logs = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "too few log lines:\n{logs}");
    for line in lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for key in ["timestamp", "level", "target"] {
            assert!(event[key].is_string(), "no {key}: {line}");
        }
    }
    // A value it does not know is named, and text is logged.
    let out = inkan()
        .args(["pki", "status", "--dir"])
        .arg(data.path().join("pki"))
        .env("INKAN_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("INKAN_LOG_FORMAT is text or json"), "{logs}");
}

/// `inkan backup`, `backup list`, `backup verify` and `inkan restore` from the command line, with
/// the destination and key named in the configuration file: a set of the demo installation is
/// made (progress on stderr), listed and drilled; the data folder is destroyed and restored;
/// a second restore into the full folder and an unknown set name are refused with the reason.
#[test]
fn backup_and_restore_from_the_command_line() {
    let place = tempfile::tempdir().unwrap();
    let data = place.path().join("data");
    let config = place.path().join("inkan.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[backup]\nkey_file = {:?}\n[backup.destination]\nkind = \"filesystem\"\nroot = {:?}\n",
            data,
            place.path().join("backup.key"),
            place.path().join("backups")
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = inkan()
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stdout, stderr)
    };
    let (code, text, err) = run(&["demo"]);
    assert_eq!(code, Some(0), "{text}{err}");

    let (code, text, err) = run(&["backup"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("backup key created"), "{text}");
    assert!(text.contains("sqlite database"), "{text}");
    assert!(err.contains("blobs: 2/2"), "progress on stderr: {err}");
    let (code, text, err) = run(&["backup", "list"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("1 envelopes"), "{text}");

    let (code, text, err) = run(&["backup", "verify"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("1 envelopes, 2 documents"), "{text}");
    assert!(text.contains("復元テストに合格しました"), "{text}");

    std::fs::remove_dir_all(&data).unwrap();
    let (code, text, err) = run(&["restore", "latest"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("restored / 復元しました"), "{text}");
    let (code, text, err) = run(&["audit", "verify"]);
    assert_ne!(
        code,
        Some(1),
        "the restored audit trail is intact: {text}{err}"
    );

    let (code, text, err) = run(&["restore", "latest"]);
    assert_ne!(code, Some(0), "{text}");
    assert!(err.contains("空ではありません"), "{err}");
    let (code, _, err) = run(&["backup", "verify", "yesterday"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("バックアップ名ではありません"), "{err}");
}

/// `inkan org allow-ip`, the operator's way back in when an organization's IP restriction
/// leaves no address its staff can use: adds one network (or one address), lifts the
/// restriction with `--unrestricted`, names a wrong network; the change is in the audit trail,
/// whose chain stays intact.
#[test]
fn the_ip_restriction_is_changed_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = inkan()
            .args(args)
            .env("INKAN_DATA_DIR", data.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stdout, stderr)
    };
    let (code, text, err) = run(&[
        "org",
        "create",
        "--name",
        "滝沢市",
        "--admin-name",
        "管理 太郎",
        "--admin-email",
        "kanri@city.takizawa.example.jp",
    ]);
    assert_eq!(code, Some(0), "{text}{err}");
    let org = text
        .lines()
        .find_map(|l| l.strip_prefix("organization: "))
        .unwrap()
        .trim()
        .to_string();

    let (code, text, err) = run(&["org", "allow-ip", "--org", &org, "203.0.113.77/24"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("  203.0.113.0/24"), "{text}");
    let (code, text, err) = run(&["org", "allow-ip", "--org", &org, "2001:db8::7"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(
        text.contains("  203.0.113.0/24\n  2001:db8::7/128"),
        "the list grows: {text}"
    );

    let (code, text, err) = run(&["org", "allow-ip", "--org", &org, "203.0.113.0/33"]);
    assert_ne!(code, Some(0), "{text}");
    assert!(err.contains("203.0.113.0/33"), "{err}");
    let (code, _, err) = run(&["org", "allow-ip", "--org", "not-an-id", "203.0.113.0/24"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("not-an-id"), "{err}");
    let (code, _, _) = run(&["org", "allow-ip", "--org", &org]);
    assert_ne!(code, Some(0), "a network or --unrestricted is required");

    let (code, text, err) = run(&["org", "allow-ip", "--org", &org, "--unrestricted"]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("IP制限なし"), "{text}");
    let (code, text, err) = run(&["audit", "verify"]);
    assert_ne!(code, Some(1), "the chain is intact: {text}{err}");
    assert!(text.contains("改ざんなし"), "{text}");
}

/// `inkan archive` runs the archive sweep once: on a new installation nothing is due and no
/// certificate ends soon.
#[test]
fn the_archive_sweep_from_the_command_line() {
    let (_data, text) = run_on_a_new_installation("archive");
    assert!(
        text.contains("0 envelope(s) queued for archive renewal"),
        "{text}"
    );
    assert!(!text.contains("renewed the"), "{text}");
}

// ── Hostile uploads to the public verifier ──────────────────────────────────────────────────
// A running `inkan serve` against files built to exhaust a verifier, sent to the public
// `POST /api/v1/verify` all at once: a DSS that names one 4 MB stream a thousand times, 400
// distinct 4 MB DSS streams, and a hundred signature dictionaries. Each answers quickly with a
// report or a clear "too complex to verify" (or 503 with `Retry-After` when the verifier is
// full), `/healthz` stays fast meanwhile, and the server's memory stays bounded.

/// A PDF of numbered object bodies (object 1 is the catalog), with a classic xref table.
fn raw_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A Flate stream object that decodes to 4,000,000 bytes (about 4 KB in the file).
fn bomb(seed: u8) -> Vec<u8> {
    let mut data = vec![0u8; 4_000_000];
    data[0] = seed;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&data).unwrap();
    let packed = z.finish().unwrap();
    let mut obj = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        packed.len()
    )
    .into_bytes();
    obj.extend(packed);
    obj.extend(b"\nendstream");
    obj
}

fn page_tree() -> [Vec<u8>; 2] {
    [
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_vec(),
    ]
}

/// The DSS names one 4 MB stream a thousand times.
fn one_stream_a_thousand_times() -> Vec<u8> {
    let refs = "5 0 R ".repeat(1000);
    let [pages, page] = page_tree();
    raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R /DSS 4 0 R >>".to_vec(),
        pages,
        page,
        format!("<< /Certs [{refs}] /OCSPs [{refs}] /CRLs [{refs}] >>").into_bytes(),
        bomb(1),
    ])
}

/// The DSS names 400 distinct streams of 4 MB each.
fn four_hundred_streams() -> Vec<u8> {
    let refs: String = (0..400).map(|i| format!("{} 0 R ", i + 5)).collect();
    let [pages, page] = page_tree();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R /DSS 4 0 R >>".to_vec(),
        pages,
        page,
        format!("<< /CRLs [{refs}] >>").into_bytes(),
    ];
    objects.extend((0..400).map(|i| bomb((i % 250) as u8 + 1)));
    raw_pdf(&objects)
}

/// A hundred signature fields, each with its own inline signature dictionary over the file.
fn a_hundred_signatures() -> Vec<u8> {
    let fields: String = (0..100).map(|i| format!("{} 0 R ", i + 5)).collect();
    let [pages, page] = page_tree();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>".to_vec(),
        pages,
        page,
        format!("<< /Fields [{fields}] /SigFlags 3 >>").into_bytes(),
    ];
    objects.extend((0..100).map(|i| {
        format!(
            "<< /FT /Sig /T (Sig{i}) /V << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
             /ByteRange [0 100 200 100000] /Contents <{:04x}{}> >> >>",
            i,
            "00".repeat(64)
        )
        .into_bytes()
    }));
    raw_pdf(&objects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_built_to_exhaust_the_verifier_do_not_stall_the_server() {
    let data = tempfile::tempdir().unwrap();
    let s = Serve::start(data.path(), free_port());
    let client = reqwest::Client::new();
    let files = [
        ("one stream a thousand times", one_stream_a_thousand_times()),
        ("400 distinct streams", four_hundred_streams()),
        ("100 signatures", a_hundred_signatures()),
    ];
    for (what, bytes) in &files {
        println!("{what}: {} KB", bytes.len() / 1024);
    }
    let before = s.peak_rss_mb();

    // Three of each at once, while a monitor asks /healthz every 50 ms.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let monitor = {
        let (client, url, done) = (client.clone(), format!("{}/healthz", s.base), done.clone());
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let start = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success());
                slowest = slowest.max(start.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            slowest
        })
    };
    let mut uploads = Vec::new();
    for round in 0..3 {
        for (what, bytes) in &files {
            let (client, url, bytes) = (
                client.clone(),
                format!("{}/api/v1/verify?name=hostile-{round}.pdf", s.base),
                bytes.clone(),
            );
            let what = *what;
            uploads.push(tokio::spawn(async move {
                let start = Instant::now();
                let r = client.post(&url).body(bytes).send().await.unwrap();
                let status = r.status().as_u16();
                let retry_after = r.headers().get("retry-after").cloned();
                let body: serde_json::Value = r.json().await.unwrap();
                (what, status, retry_after, body, start.elapsed())
            }));
        }
    }
    let mut answered = 0;
    for upload in uploads {
        let (what, status, retry_after, body, took) = upload.await.unwrap();
        println!("{what}: {status} in {took:?}");
        assert!(took < Duration::from_secs(30), "{what}: {took:?}");
        match status {
            200 => {
                assert_eq!(what, "one stream a thousand times", "{body}");
                assert_eq!(
                    body["report"]["signatures"],
                    serde_json::json!([]),
                    "{body}"
                );
                answered += 1;
            }
            400 => {
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("複雑すぎる") && message.contains("too complex"),
                    "{what}: {body}"
                );
                answered += 1;
            }
            503 => {
                assert_eq!(body["error"]["code"], "busy", "{body}");
                assert!(retry_after.is_some(), "503 without Retry-After");
            }
            other => panic!("{what}: {other} {body}"),
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let slowest = monitor.await.unwrap();
    let peak = s.peak_rss_mb();
    println!("slowest /healthz {slowest:?}; peak RSS {before} MB before, {peak} MB after");
    assert!(answered >= 2, "the verifier answered only {answered} of 9");
    assert!(
        slowest < Duration::from_secs(2),
        "/healthz took {slowest:?}"
    );
    assert!(
        peak < before + 600,
        "peak RSS went from {before} MB to {peak} MB"
    );

    // Alone, each answers: the 400-stream file and the 100 signatures are too complex.
    for (what, bytes) in &files {
        let r = client
            .post(format!("{}/api/v1/verify", s.base))
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        let expected = if *what == "one stream a thousand times" {
            200
        } else {
            400
        };
        assert_eq!(status, expected, "{what}: {body}");
    }
}

// ── The OpenAPI document under schemathesis ─────────────────────────────────────────────────

/// schemathesis (from PyPI) against a running `inkan serve`, with an administrator's key: no
/// 500, and every response as the OpenAPI document says (status code, content type, body). A
/// fixed seed and deterministic generation make a run the same everywhere. Left out: the
/// operations that revoke, disable or reset the caller's own credentials (the stateful phase
/// would lock itself out), organization creation (operator only), and the two that take a raw
/// PDF body (schemathesis generates no application/pdf).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_holds_under_schemathesis() {
    let venv = std::env::var("INKAN_SCHEMATHESIS_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/inkan/schemathesis-venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let schemathesis = std::path::Path::new(&venv).join("bin/schemathesis");
    if !schemathesis.exists() {
        inkan_testkit::skip_or_fail(&format!(
            "schemathesis is not installed at {} (bash .ci/run installs it)",
            schemathesis.display()
        ));
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let s = Serve::start(data.path(), free_port());
    let client = reqwest::Client::new();
    let key = organization(&client, &s).await;
    let output = tokio::process::Command::new(&schemathesis)
        .arg("run")
        .arg(format!("{}/openapi.json", s.base))
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        ])
        .args(["--max-examples", "25", "--seed", "20261203", "--generation-deterministic"])
        .args(["--workers", "1"])
        .args([
            "--exclude-path-regex",
            r"/organizations|/revoke|/disable|/password|/api/v1/verify|/sign/\{token\}/attachments",
        ])
        .env("NO_COLOR", "1")
        // It keeps a cache of what it found in its working folder: never in the source tree.
        .current_dir(data.path())
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{text}"
    );
    assert!(text.contains("passed"), "{text}");
}
