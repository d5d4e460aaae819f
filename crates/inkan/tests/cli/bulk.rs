//! Issue 19 item 3: a bulk send survives a killed process. Two `inkan serve` on one data folder
//! (each runs its workers); a 40-row bulk send starts; once some rows are sent, the process
//! holding a lease on a row's job is killed with SIGKILL. Its jobs are taken over when their
//! leases run out, and in the end every row is sent once: 40 envelopes, one request mail per
//! vendor, no row's envelope made twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::common;

use base64::Engine;
use common::free_port;
use common::service::{call, Serve, OPERATOR_TOKEN};
use inkan_store::{JobFilter, JobStatus, JobStore, SqlStore};
use reqwest::Method;
use serde_json::json;

const ROWS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_send_survives_a_killed_worker_without_duplicates() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    // B first: the PKI (whose URLs the signatures' timestamps use) is set up by the first node,
    // and B outlives A.
    // One node backs up, as the deployment guide says.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[backup]\nscheduled = false\n").unwrap();
    let b = Serve::start(data.path(), free_port());
    let a = Serve::start_with(
        data.path(),
        free_port(),
        &[("INKAN_CONFIG", config.path().to_str().unwrap())],
    );
    let client = reqwest::Client::new();
    let created = call(
        &client,
        Method::POST,
        &format!("{}/api/v1/organizations", b.base),
        Some(OPERATOR_TOKEN),
        Some(json!({"name": "盛岡市", "admin_name": "契約 花子", "admin_email": "keiyaku@city.morioka.example.jp"})),
    )
    .await;
    let key = created["api_key"].as_str().unwrap().to_string();
    let pdf =
        base64::engine::general_purpose::STANDARD.encode(inkan_testkit::validators::sample_pdf(2));
    let template = call(
        &client,
        Method::POST,
        &format!("{}/api/v1/templates", b.base),
        Some(&key),
        Some(json!({
            "name": "清掃業務委託", "title": "{{件名}} 委託契約",
            "roles": [{"key": "vendor", "label": "取引先", "role": "signer"}],
            "documents": [{"name": "委託契約書.pdf", "content_base64": pdf,
                "merge_fields": [{"name": "件名", "page": 1, "x": 72, "y": 700}]}],
        })),
    )
    .await;
    let id = template["id"].as_str().unwrap();
    let csv: String = std::iter::once("件名,取引先:氏名,取引先:メールアドレス\n".to_string())
        .chain(
            (1..=ROWS).map(|i| format!("第{i}地区清掃,業者{i},vendor{i}@seisou.example.co.jp\n")),
        )
        .collect();
    let r = client
        .post(format!(
            "{}/api/v1/templates/{id}/bulk?file_name=kill.csv",
            b.base
        ))
        .bearer_auth(&key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let batch: serde_json::Value = r.json().await.unwrap();
    let batch_url = format!("{}/api/v1/bulk/{}", b.base, batch["id"].as_str().unwrap());

    // The jobs' leases, read from the database both nodes use.
    let store = SqlStore::sqlite(
        &format!("sqlite://{}", data.path().join("inkan.db").display()),
        inkan_store::ChainKey::random(),
    )
    .await
    .unwrap();
    let a_worker = format!("inkan-{}-", a.pid());
    let started = Instant::now();
    let held = loop {
        let progress = call(&client, Method::GET, &batch_url, Some(&key), None).await;
        let running = store
            .jobs(&JobFilter {
                status: Some(JobStatus::Running),
                kind: Some("bulk_row".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        let held: Vec<_> = running
            .iter()
            .filter(|j| {
                j.locked_by
                    .as_deref()
                    .is_some_and(|w| w.starts_with(&a_worker))
            })
            .map(|j| j.id)
            .collect();
        if progress["sent"].as_u64().unwrap() >= 2 && !held.is_empty() {
            assert!(
                progress["waiting"].as_u64().unwrap() > 0,
                "the batch ended before the kill"
            );
            break held;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "node A never took a row: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.kill();

    let started = Instant::now();
    let done = loop {
        let progress = call(&client, Method::GET, &batch_url, Some(&key), None).await;
        if progress["finished"] == true {
            break progress;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the batch did not finish: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        (done["sent"].as_u64(), done["failed"].as_u64()),
        (Some(ROWS as u64), Some(0)),
        "{done}"
    );
    // The killed node's jobs were taken over.
    for id in held {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Done, "{job:?}");
        assert!(job.attempts >= 2, "{job:?}");
    }
    // Every row's envelope once, each its own.
    let lines = done["lines"].as_array().unwrap();
    let mut envelopes: Vec<&str> = lines
        .iter()
        .map(|l| l["envelope"].as_str().unwrap())
        .collect();
    envelopes.sort();
    envelopes.dedup();
    assert_eq!(envelopes.len(), ROWS);
    let all = call(
        &client,
        Method::GET,
        &format!("{}/api/v1/envelopes?limit=500", b.base),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        all.as_array().unwrap().len(),
        ROWS,
        "an envelope was made twice"
    );
    // Each vendor asked once (the mail jobs run after their row's; wait for the last).
    let started = Instant::now();
    loop {
        let outbox = b.outbox();
        let counts: Vec<usize> = (1..=ROWS)
            .map(|i| {
                let to = format!("vendor{i}@seisou.example.co.jp");
                outbox.iter().filter(|(t, _, _)| *t == to).count()
            })
            .collect();
        assert!(
            counts.iter().all(|c| *c <= 1),
            "a vendor was asked twice: {counts:?}"
        );
        if counts.iter().all(|c| *c == 1) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "mails missing: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
