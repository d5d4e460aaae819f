//! The load benchmark: completed envelopes per second through the real HTTP API, and the
//! latency of a signer's sign request, on SQLite and on PostgreSQL side by side in one run.
//!
//! Each envelope holds one ~1 MB scanned PDF and two signers (vendor, then city). The timed part
//! starts once every envelope is sent and prepared: the signers of one envelope after another
//! arrive at a steady rate (30 envelopes/s by default, the goal) and complete through
//! `POST /api/v1/sign/{token}/complete`, while the worker of the same process (as in `inkan
//! serve`: up to `worker_jobs` jobs at once, on threads of their own) seals (each signature at
//! B-T, the last one at B-LTA with the built-in TSA and OCSP, then the 電子契約締結証明書); it
//! ends when every envelope is sealed. So every sign request but the first is made while
//! envelopes are being sealed. The numbers depend on the machine; the point is
//! to compare backends and to see the cost of a request against the cost of sealing.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use inkan_service::setup::{assemble, system_clock, Config};
use inkan_service::{Inkan, Staff};
use serde::{Deserialize, Serialize};

use crate::inputs::write_scanned_pdf;
use crate::report::{median, ms};

/// The load to apply.
pub(crate) struct Load {
    /// Envelopes per backend.
    pub envelopes: usize,
    /// Envelopes whose signers arrive per second.
    pub rate: f64,
    /// Jobs the worker runs at once (the service's default when `None`).
    pub worker_jobs: Option<usize>,
}

/// The build this benchmark was compiled in.
fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    }
}

/// One backend's result.
#[derive(Serialize, Deserialize)]
pub(crate) struct LoadResult {
    /// The build that ran it: `dev` or `release`.
    pub profile: String,
    pub backend: String,
    pub envelopes: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The tax-audit ZIP of every sealed envelope, fetched over HTTP after the load.
    pub export: ExportMeasure,
    /// CPU seconds this whole process (web, workers, the built-in TSA, SQLite) used during the
    /// timed part: on 2 cores, what bounds the envelopes per second.
    pub cpu_seconds: f64,
    /// Jobs the worker ran at once.
    pub worker_jobs: usize,
    /// Seconds the workers spent in jobs during the timed part, by kind (`seal`, `email` …), from
    /// the service's own metrics: where an envelope's time goes.
    pub job_seconds: Vec<(String, f64)>,
}

/// How big the tax-audit ZIP was, and how much this process's resident memory grew while it
/// was written and read (a ZIP held whole would grow it by about its size).
#[derive(Serialize, Deserialize)]
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

/// Seconds since boot, from `/proc/uptime` (10 ms steps; 0 where there is none).
fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The load on SQLite, then on a fresh PostgreSQL database when the server is reachable.
pub(crate) fn run_both_backends(load: &Load) -> Result<Vec<LoadResult>> {
    let work = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut results = vec![runtime.block_on(run(work.path(), None, load))?];
    match inkan_testkit::postgres::fresh_database() {
        Some(db) => results.push(runtime.block_on(run(work.path(), Some(db.url.clone()), load))?),
        None => eprintln!("PostgreSQL is not reachable: SQLite only"),
    }
    Ok(results)
}

/// The same load run by `other`, another build of this benchmark, as a child process (one at
/// a time: the two builds never compete for the cores).
pub(crate) fn run_beside(other: &Path, load: &Load) -> Result<Vec<LoadResult>> {
    let output = std::process::Command::new(other)
        .args(["load", "--json", "--envelopes"])
        .arg(load.envelopes.to_string())
        .arg("--rate")
        .arg(load.rate.to_string())
        .args(
            load.worker_jobs
                .map(|jobs| ["--worker-jobs".to_string(), jobs.to_string()])
                .into_iter()
                .flatten(),
        )
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", other.display()))?;
    if !output.status.success() {
        bail!("{} load: {}", other.display(), output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let json = text
        .lines()
        .rev()
        .find(|l| l.starts_with('['))
        .with_context(|| format!("{} printed no results", other.display()))?;
    serde_json::from_str(json).with_context(|| format!("the results of {}", other.display()))
}

/// Runs the load on the database at `database_url` (SQLite in `work` when `None`).
async fn run(work: &Path, database_url: Option<String>, load: &Load) -> Result<LoadResult> {
    let envelopes = load.envelopes;
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
        worker_jobs: load.worker_jobs,
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

    // The timed part: signers complete while the worker seals.
    let jobs_before = job_seconds(&inkan).await?;
    let worker = tokio::spawn(inkan.worker().run());
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let marked_from = uptime();
    let latencies = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let interval = Duration::from_secs_f64(1.0 / load.rate);
    let mut tasks = Vec::new();
    for (i, (_, tokens)) in links.iter().enumerate() {
        let (client, base, tokens, latencies) = (
            client.clone(),
            base.clone(),
            tokens.clone(),
            latencies.clone(),
        );
        let arrives = tokio::time::Instant::from_std(started) + interval * i as u32;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(arrives).await;
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
    if std::env::var_os("INKAN_BENCH_MARKS").is_some() {
        // For `perf record -k CLOCK_MONOTONIC` then `perf report --time FROM,TO`: the timed
        // part alone (the clocks agree while the machine does not suspend).
        eprintln!(
            "timed part ({backend}): --time {:.2},{:.2}",
            marked_from,
            uptime()
        );
    }
    worker.abort();
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
        profile: profile().into(),
        backend: backend.into(),
        envelopes,
        seconds,
        p50_ms: median(&values).unwrap_or(f64::NAN),
        p99_ms: percentile(&values, 99.0),
        export,
        cpu_seconds,
        worker_jobs: inkan.settings().worker_jobs,
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

pub(crate) fn print(results: &[LoadResult], load: &Load) {
    let jobs = results.last().map_or(0, |r| r.worker_jobs);
    println!();
    println!("Load: envelopes of one ~1 MB PDF and two signers (vendor, city), sealed to B-LTA with the built-in TSA");
    println!(
        "      and the 電子契約締結証明書; {} envelopes' signers arrive per second and sign over HTTP while",
        load.rate
    );
    println!("      the worker of the same process seals ({jobs} jobs at once, as `inkan serve` on this machine).");
    println!(
        "{:<8} {:<9} {:>9} {:>8} {:>12} {:>10} {:>10} {:>13}",
        "profile",
        "backend",
        "envelopes",
        "seconds",
        "envelopes/s",
        "sign p50",
        "sign p99",
        "CPU/envelope"
    );
    for r in results {
        println!(
            "{:<8} {:<9} {:>9} {:>8.1} {:>12.2} {:>7.1} ms {:>7.1} ms {:>10.0} ms",
            r.profile,
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
        "Where the worker's time went (job time by kind, per completed envelope; jobs overlap):"
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
            "{:<8} {:<9} {} — {:.0} ms of job time per envelope in {:.0} ms of wall time per envelope",
            r.profile,
            r.backend,
            kinds.join(", "),
            per(total),
            per(r.seconds)
        );
    }
    println!("Tax-audit ZIP of every sealed envelope (documents, certificates, index), streamed over HTTP:");
    for r in results {
        println!(
            "{:<8} {:<9} {:>8.1} MB of ZIP, resident memory +{:.1} MB while it streamed ({:.0}% of its size)",
            r.profile,
            r.backend,
            r.export.bytes as f64 / 1e6,
            r.export.rss_growth_kb as f64 / 1e3,
            100.0 * (r.export.rss_growth_kb as f64 * 1e3) / (r.export.bytes.max(1) as f64)
        );
    }
    let rate = |r: &LoadResult| r.envelopes as f64 / r.seconds;
    for (i, a) in results.iter().enumerate() {
        for b in &results[i + 1..] {
            let same_backend = a.backend == b.backend && a.profile != b.profile;
            let same_profile = a.profile == b.profile && a.backend != b.backend;
            if same_backend || same_profile {
                println!(
                    "ratio {} {} / {} {}: {:.2}× envelopes/s",
                    b.profile,
                    b.backend,
                    a.profile,
                    a.backend,
                    rate(b) / rate(a)
                );
            }
        }
    }
}
