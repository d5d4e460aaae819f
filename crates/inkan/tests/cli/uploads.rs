//! Issue 18 item 2: a 100-document, 200 MB envelope uploaded as multipart/form-data to a
//! running `inkan serve`, whose resident memory grows by less than 100 MB while it receives,
//! checks and stores the documents one at a time. The same envelope as base64 JSON is measured
//! beside it, for the record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::free_port;
use common::service::{call, Serve, OPERATOR_TOKEN};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::json;

const DOCUMENTS: usize = 100;
const DOCUMENT_BYTES: usize = 2_000_000;

/// A one-page PDF of about `size` bytes: a title, then comment lines in the page's content (as
/// large as a scanned page, and as cheap to make).
fn padded_pdf(title: &str, size: usize) -> Vec<u8> {
    let mut content = format!("BT /F1 14 Tf 72 760 Td ({title}) Tj ET\n");
    let line = "% a contract page as large as a scan of it, for the upload's memory test\n";
    while content.len() + line.len() < size.saturating_sub(600) {
        content.push_str(line);
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len() + 1
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// The server's resident memory now (`VmRSS`), in MB.
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap()
        / 1024
}

fn envelope_json(documents: Vec<serde_json::Value>) -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "title": "令和8年度 施設管理業務 一式",
        "deadline": now + 7 * 86_400,
        "recipients": [{ "key": "vendor", "name": "山田太郎",
                         "email": "taro.yamada@seisou.example.co.jp", "role": "signer" }],
        "documents": documents,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_envelope_streams_in_with_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path(), free_port());
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
    let pdf = padded_pdf("Schedule", DOCUMENT_BYTES);
    assert!(pdf.len() <= DOCUMENT_BYTES && pdf.len() > DOCUMENT_BYTES - 1000);
    let names: Vec<serde_json::Value> = (1..=DOCUMENTS)
        .map(|n| json!({ "name": format!("仕様書{n:03}.pdf") }))
        .collect();

    // Multipart: the envelope's JSON, then a hundred PDFs.
    let mut form = Form::new().part(
        "envelope",
        Part::text(envelope_json(names.clone()).to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    for n in 1..=DOCUMENTS {
        form = form.part(
            "document",
            Part::bytes(pdf.clone())
                .file_name(format!("{n}.pdf"))
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    let before = rss_mb(s.pid());
    let start = std::time::Instant::now();
    let r = client
        .post(format!("{}/api/v1/envelopes", s.base))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let took = start.elapsed();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["documents"].as_array().unwrap().len(), DOCUMENTS);
    let peak = s.peak_rss_mb();
    let growth = peak.saturating_sub(before);
    println!(
        "multipart: {} MB in {took:?}; resident memory {before} MB before, peak {peak} MB (+{growth} MB)",
        DOCUMENTS * DOCUMENT_BYTES / 1_000_000
    );
    assert!(
        growth < 100,
        "a 200 MB multipart envelope grew the server by {growth} MB"
    );

    // The same envelope as base64 JSON (kept for small clients), for comparison.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let documents: Vec<serde_json::Value> = (1..=DOCUMENTS)
        .map(|n| json!({ "name": format!("仕様書{n:03}.pdf"), "content_base64": encoded }))
        .collect();
    let body = serde_json::to_vec(&envelope_json(documents)).unwrap();
    let size = body.len();
    let r = client
        .post(format!("{}/api/v1/envelopes", s.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let json_peak = s.peak_rss_mb();
    println!(
        "base64 JSON: {} MB of JSON; peak {json_peak} MB (+{} MB over the multipart peak at least)",
        size / 1_000_000,
        json_peak.saturating_sub(peak)
    );
}
