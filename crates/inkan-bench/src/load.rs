//! The load benchmark: completed envelopes per second through the real HTTP API, and the
//! latency of a signer's sign request, on SQLite and on PostgreSQL side by side in one run.
//!
//! Each envelope holds one ~1 MB scanned PDF and two signers (vendor, then city). The timed part
//! starts once every envelope is sent and prepared: signers complete through
//! `POST /api/v1/sign/{token}/complete` (several envelopes at once), while two workers in the
//! same process seal (each signature at B-T, the last one at B-LTA with the built-in TSA and
//! OCSP); it ends when every envelope is sealed. The numbers depend on the machine; the point is
//! to compare backends and to see the cost of a request against the cost of sealing.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use inkan_service::setup::{assemble, system_clock, Config};
use inkan_service::{Inkan, Staff};

use crate::inputs::write_scanned_pdf;
use crate::report::{median, ms};

/// One backend's result.
pub(crate) struct LoadResult {
    pub backend: &'static str,
    pub envelopes: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The tax-audit ZIP of every sealed envelope, fetched over HTTP after the load.
    pub export: ExportMeasure,
    /// CPU seconds this whole process (web, workers, the built-in TSA, SQLite) used during the
    /// timed part: on 2 cores, what bounds the envelopes per second.
    pub cpu_seconds: f64,
    /// Seconds the workers spent in jobs during the timed part, by kind (`seal`, `email` …), from
    /// the service's own metrics: where an envelope's time goes.
    pub job_seconds: Vec<(String, f64)>,
}

/// How big the tax-audit ZIP was, and how much this process's resident memory grew while it
/// was written and read (a ZIP held whole would grow it by about its size).
pub(crate) struct ExportMeasure {
    pub bytes: u64,
    pub rss_growth_kb: u64,
}

/// CPU time this process has used so far (user and system, every thread), in seconds, from
/// `/proc/self/stat` (clock ticks of 1/100 s on Linux).
pub(crate) fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces: utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// This process's resident memory (`VmRSS`), in KB.
pub(crate) fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// Fetches `GET /api/v1/documents/export.zip` chunk by chunk (nothing kept), sampling the
/// resident memory at each chunk.
async fn measure_export(client: &reqwest::Client, base: &str, key: &str) -> Result<ExportMeasure> {
    let before = rss_kb();
    let mut peak = before;
    let mut response = client
        .get(format!("{base}/api/v1/documents/export.zip"))
        .bearer_auth(key)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "the export: {} {}",
            response.status(),
            response.text().await?
        );
    }
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        peak = peak.max(rss_kb());
    }
    Ok(ExportMeasure {
        bytes,
        rss_growth_kb: peak.saturating_sub(before),
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs the load on the database at `database_url` (SQLite in `work` when `None`).
pub(crate) async fn run(
    work: &Path,
    database_url: Option<String>,
    envelopes: usize,
    concurrency: usize,
) -> Result<LoadResult> {
    let data = work.join(if database_url.is_some() {
        "load-pg"
    } else {
        "load-sqlite"
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = Config {
        data_dir: Some(data.clone()),
        public_url: Some(base.clone()),
        database_url,
        ..Config::default()
    };
    let app = assemble(config, system_clock())
        .await
        .context("assembling the service")?;
    let inkan = app.inkan.clone();
    let backend = inkan.store().backend();
    let router = inkan_web::router(inkan_web::AppState::new(
        inkan.clone(),
        app.pki.clone(),
        None,
    ))?;
    let server = tokio::spawn(inkan_web::serve(listener, router));

    let pdf_path = data.join("input.pdf");
    write_scanned_pdf(&pdf_path, 1)?;
    let pdf = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&pdf_path)?);
    let created = inkan
        .create_organization(&inkan_service::NewOrganization {
            name: "盛岡市".into(),
            department: Some("財政部契約検査課".into()),
            admin_name: "負荷試験".into(),
            admin_email: format!("load-{backend}@city.morioka.example.jp"),
            admin_password: None,
        })
        .await?;
    let staff = inkan
        .authenticate_api_key(&created.api_key, &Default::default())
        .await?;
    let client = reqwest::Client::new();

    // Prepared envelopes: created and sent through the API, then certified by the workers.
    let mut links = Vec::new();
    for i in 0..envelopes {
        let body = serde_json::json!({
            "number": format!("LOAD-{i:04}"),
            "title": format!("負荷試験 {i}"),
            "deadline": system_clock().now() + 86_400,
            "recipients": [
                {"key": "vendor", "name": "山田太郎", "email": format!("vendor{i}@example.co.jp"), "role": "signer", "order": 1},
                {"key": "city", "name": "盛岡市長", "email": format!("city{i}@city.morioka.example.jp"), "role": "signer", "order": 2}
            ],
            "documents": [{"name": "契約書.pdf", "content_base64": pdf}]
        });
        let response = client
            .post(format!("{base}/api/v1/envelopes"))
            .bearer_auth(&created.api_key)
            .json(&body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!(
                "creating an envelope: {} {}",
                response.status(),
                response.text().await?
            );
        }
        let view: serde_json::Value = response.json().await?;
        let id = view["id"].as_str().context("envelope id")?.to_string();
        inkan
            .send(&staff, &id, &inkan_service::Caller::default())
            .await?;
        let urls = inkan.recipient_links(&staff, &id).await?;
        let tokens: Vec<String> = urls
            .iter()
            .map(|(_, _, url)| url.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        links.push((id, tokens));
    }
    inkan.worker().drain().await?;

    // The timed part: signers complete while two workers seal.
    let jobs_before = job_seconds(&inkan).await?;
    let workers: Vec<_> = (0..2).map(|_| tokio::spawn(inkan.worker().run())).collect();
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let latencies = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::new();
    for (_, tokens) in &links {
        let (client, base, tokens, latencies, semaphore) = (
            client.clone(),
            base.clone(),
            tokens.clone(),
            latencies.clone(),
            semaphore.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await?;
            for token in &tokens {
                let t = Instant::now();
                let response = client
                    .post(format!("{base}/api/v1/sign/{token}/complete"))
                    .json(&serde_json::json!({"values": []}))
                    .send()
                    .await?;
                let elapsed = ms(t.elapsed());
                if !response.status().is_success() {
                    bail!(
                        "sign request: {} {}",
                        response.status(),
                        response.text().await?
                    );
                }
                latencies.lock().await.push(elapsed);
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    wait_sealed(&inkan, &staff, &links).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds() - cpu_before;
    for w in workers {
        w.abort();
    }
    let mut spent: Vec<(String, f64)> = job_seconds(&inkan)
        .await?
        .into_iter()
        .map(|(kind, total)| {
            let before = jobs_before
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(0.0, |(_, s)| *s);
            (kind, total - before)
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    spent.sort_by(|a, b| a.0.cmp(&b.0));
    let export = measure_export(&client, &base, &created.api_key).await?;
    server.abort();
    let mut values = latencies.lock().await.clone();
    values.sort_by(f64::total_cmp);
    Ok(LoadResult {
        backend,
        envelopes,
        seconds,
        p50_ms: median(&values).unwrap_or(f64::NAN),
        p99_ms: percentile(&values, 99.0),
        export,
        cpu_seconds,
        job_seconds: spent,
    })
}

/// Seconds of job attempts so far, by kind, read from `/metrics` as the service renders it.
async fn job_seconds(inkan: &Inkan) -> Result<Vec<(String, f64)>> {
    let text = inkan.metrics_text().await?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let labels = line.split_once("job_duration_seconds_sum{")?.1;
            let kind = labels.split("kind=\"").nth(1)?.split('"').next()?;
            let value = line.rsplit(' ').next()?.parse().ok()?;
            Some((kind.to_string(), value))
        })
        .collect())
}

async fn wait_sealed(inkan: &Inkan, staff: &Staff, links: &[(String, Vec<String>)]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(1800);
    for (id, _) in links {
        loop {
            let view = inkan.envelope(staff, id).await?;
            if view.sealed {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "envelope {id} was not sealed in 30 minutes: {}",
                    view.status.name()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

pub(crate) fn print(results: &[LoadResult], concurrency: usize) {
    println!();
    println!("Load: envelopes of one ~1 MB PDF and two signers (vendor, city), sealed to B-LTA with the built-in TSA;");
    println!("      sign requests over HTTP, {concurrency} envelopes at a time; two workers seal in the same process.");
    println!(
        "{:<10} {:>10} {:>10} {:>14} {:>12} {:>12} {:>16}",
        "backend", "envelopes", "seconds", "envelopes/s", "sign p50", "sign p99", "CPU/envelope"
    );
    for r in results {
        println!(
            "{:<10} {:>10} {:>10.1} {:>14.2} {:>9.1} ms {:>9.1} ms {:>13.0} ms",
            r.backend,
            r.envelopes,
            r.seconds,
            r.envelopes as f64 / r.seconds,
            r.p50_ms,
            r.p99_ms,
            1000.0 * r.cpu_seconds / r.envelopes.max(1) as f64
        );
    }
    println!(
        "Where the workers' time went (job time by kind, per completed envelope; two workers):"
    );
    for r in results {
        let per = |s: f64| 1000.0 * s / r.envelopes.max(1) as f64;
        let total: f64 = r.job_seconds.iter().map(|(_, s)| s).sum();
        let kinds: Vec<String> = r
            .job_seconds
            .iter()
            .map(|(k, s)| format!("{k} {:.0} ms", per(*s)))
            .collect();
        println!(
            "{:<10} {} — {:.0} ms of job time per envelope in {:.0} ms of wall time per envelope",
            r.backend,
            kinds.join(", "),
            per(total),
            per(r.seconds)
        );
    }
    println!("Tax-audit ZIP of every sealed envelope (documents, certificates, index), streamed over HTTP:");
    for r in results {
        println!(
            "{:<10} {:>8.1} MB of ZIP, resident memory +{:.1} MB while it streamed ({:.0}% of its size)",
            r.backend,
            r.export.bytes as f64 / 1e6,
            r.export.rss_growth_kb as f64 / 1e3,
            100.0 * (r.export.rss_growth_kb as f64 * 1e3) / (r.export.bytes.max(1) as f64)
        );
    }
    if let [a, b] = results {
        println!(
            "ratio {}/{}: {:.2}× envelopes/s",
            b.backend,
            a.backend,
            (b.envelopes as f64 / b.seconds) / (a.envelopes as f64 / a.seconds)
        );
    }
}
