//! The 電帳法 search at scale: a generator fills a fresh database with documents of realistic
//! metadata (取引年月日 over ten years, 取引金額 from 1 円 to 10 億円, 5,000 取引先 with Japanese
//! names), then every combination of a date range, an amount range and a 取引先 substring is
//! searched through `Store::search_documents`, on SQLite and on PostgreSQL side by side.
//!
//! The rows are written with plain multi-row `INSERT`s into the store's own schema (a million
//! changes through `Store::apply` would take hours and measure the audit chain, not the search);
//! the store opens the database first, so the schema is the one its migrations make. Both
//! databases are then analysed (`ANALYZE`; PostgreSQL's documents vacuumed too, as autovacuum
//! does after a bulk insert), as a database in service is.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use inkan_domain::{OrganizationId, StaffNetworks, Yen};
use inkan_store::{ChainKey, DocumentQuery, Organization, Reach, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::report::ms;

/// Documents written per `INSERT`.
const BATCH: usize = 400;
/// Documents per envelope.
const PER_ENVELOPE: usize = 4;

/// One combination's latencies, sorted.
pub(crate) struct Combination {
    pub label: String,
    pub hits: usize,
    pub sorted_ms: Vec<f64>,
}

/// One backend's result.
pub(crate) struct SearchResult {
    pub backend: &'static str,
    pub documents: usize,
    pub fill_seconds: f64,
    pub combinations: Vec<Combination>,
    /// The CSV of one year's documents (about a tenth: 100,000 rows at a million), then of all.
    pub csv: [CsvMeasure; 2],
}

/// A search's CSV, made by the service's own export as a request gets it, page by page.
pub(crate) struct CsvMeasure {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// How much this process's resident memory grew while the CSV was made and read (a CSV held
    /// whole would grow it by about its size).
    pub rss_growth_kb: u64,
}

/// 5,000 company names as Japanese 取引先 are written: a legal form, a place, a trade, a suffix.
fn counterparties(rng: &mut StdRng) -> Vec<String> {
    const FORMS: [&str; 4] = ["株式会社", "有限会社", "合同会社", ""];
    const PLACES: [&str; 40] = [
        "盛岡",
        "滝沢",
        "花巻",
        "北上",
        "一関",
        "奥州",
        "宮古",
        "釜石",
        "久慈",
        "二戸",
        "八幡平",
        "遠野",
        "陸前高田",
        "大船渡",
        "雫石",
        "紫波",
        "矢巾",
        "岩手",
        "葛巻",
        "西和賀",
        "金ケ崎",
        "平泉",
        "住田",
        "大槌",
        "山田",
        "岩泉",
        "田野畑",
        "普代",
        "軽米",
        "野田",
        "九戸",
        "洋野",
        "一戸",
        "東北",
        "みちのく",
        "北日本",
        "南部",
        "中央",
        "青葉",
        "さくら",
    ];
    const TRADES: [&str; 32] = [
        "清掃",
        "建設",
        "設備",
        "印刷",
        "電気",
        "造園",
        "測量",
        "警備",
        "給食",
        "運輸",
        "商事",
        "技研",
        "通信",
        "環境",
        "土木",
        "管工",
        "塗装",
        "舗道",
        "機械",
        "情報",
        "システム",
        "医療",
        "事務機",
        "石油",
        "燃料",
        "食品",
        "森林",
        "水道",
        "電設",
        "興業",
        "開発",
        "コンサルタント",
    ];
    const SUFFIXES: [&str; 4] = ["", "工業", "サービス", "センター"];
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 5_000 {
        let form = FORMS[rng.gen_range(0..FORMS.len())];
        let name = format!(
            "{}{}{}{}",
            if rng.gen_bool(0.5) { form } else { "" },
            PLACES[rng.gen_range(0..PLACES.len())],
            TRADES[rng.gen_range(0..TRADES.len())],
            SUFFIXES[rng.gen_range(0..SUFFIXES.len())],
        );
        let name = if names.contains(&name) {
            format!("{name}{}", names.len())
        } else {
            name
        };
        names.insert(name);
    }
    names.into_iter().collect()
}

/// A day in 2016–2025 as `YYYY-MM-DD`.
fn date(rng: &mut StdRng) -> String {
    let year = rng.gen_range(2016..=2025);
    let month = rng.gen_range(1..=12);
    let day = rng.gen_range(1..=28);
    format!("{year:04}-{month:02}-{day:02}")
}

/// 1 円 to 10 億円, evenly over the orders of magnitude (most contracts are small).
fn amount(rng: &mut StdRng) -> i64 {
    let exponent: f64 = rng.gen_range(0.0..9.0);
    10f64.powf(exponent).round() as i64
}

/// Fills the database at `url` (opened, and so migrated, by the store first) with `documents`
/// documents of one organization, and returns the store and the organization.
/// A filled database: the store on it, its organization, how long the filling took, and the
/// 取引先 names used.
struct Filled {
    store: std::sync::Arc<dyn Store>,
    organization: OrganizationId,
    seconds: f64,
    names: Vec<String>,
}

async fn fill(url: &str, documents: usize) -> Result<Filled> {
    let store = inkan_store::open(url, ChainKey::from_bytes([7; 32])).await?;
    let organization = OrganizationId::new();
    store
        .create_organization(&Organization {
            id: organization,
            name: "岩手県".into(),
            created_at: 0,
            staff_networks: StaffNetworks::default(),
            mfa_required: false,
            folder_required: false,
        })
        .await?;
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .context("connecting to fill the database")?;
    let mut rng = StdRng::seed_from_u64(2026);
    let names = counterparties(&mut rng);
    let org = organization.to_string();
    let started = Instant::now();
    let mut written = 0;
    let mut batches = 0usize;
    while written < documents {
        let count = BATCH.min(documents - written);
        let envelopes = count.div_ceil(PER_ENVELOPE);
        let envelope_ids: Vec<String> = (0..envelopes)
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let mut sql = String::from(
            "INSERT INTO envelopes (id, organization, status, number, title, deadline, version, \
             sender_name, sender_email, created_at, updated_at, data) VALUES ",
        );
        let mut n = 0;
        for i in 0..envelopes {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, 'completed', ${}, ${}, 0, 1, '契約検査課', 'keiyaku@example.jp', 0, 0, '{{}}')",
                n + 1,
                n + 2,
                n + 3,
                n + 4
            ));
            n += 4;
        }
        let mut q = sqlx::query(&sql);
        for (i, id) in envelope_ids.iter().enumerate() {
            q = q
                .bind(id.clone())
                .bind(org.clone())
                .bind(format!("R{}-{:06}", 8, written / PER_ENVELOPE + i))
                .bind(format!("業務委託契約 {}", written / PER_ENVELOPE + i));
        }
        let mut tx = pool.begin().await?;
        q.execute(&mut *tx).await.context("writing envelopes")?;
        let mut sql = String::from(
            "INSERT INTO documents (id, envelope, organization, position, name, pages, \
             original_blob, current_blob, revision, size, sha256, fields, signed_by, tx_date, \
             tx_amount, tx_counterparty, created_at) VALUES ",
        );
        let mut n = 0;
        for i in 0..count {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, '契約書.pdf', 2, 'none', 'none', 3, 1000000, 'none', '[]', '[]', ${}, ${}, ${}, 0)",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7
            ));
            n += 7;
        }
        let mut q = sqlx::query(&sql);
        for i in 0..count {
            q = q
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(envelope_ids[i / PER_ENVELOPE].clone())
                .bind(org.clone())
                .bind((i % PER_ENVELOPE) as i64)
                .bind(date(&mut rng))
                .bind(amount(&mut rng))
                .bind(names[rng.gen_range(0..names.len())].clone());
        }
        q.execute(&mut *tx).await.context("writing documents")?;
        tx.commit().await?;
        written += count;
        batches += 1;
        // Statistics now and then as the tables grow (each time they have doubled), so that
        // plans made for small tables (PostgreSQL caches the foreign-key checks' plans per
        // connection) do not scan the large ones row by row.
        if batches.is_power_of_two() && batches >= 4 {
            sqlx::query("ANALYZE").execute(&pool).await?;
        }
    }
    sqlx::query("ANALYZE").execute(&pool).await?;
    // PostgreSQL's autovacuum marks the freshly written pages all-visible soon after a bulk
    // insert, which index-only scans need; a database in service is in that state.
    if store.backend() == "postgres" {
        sqlx::query("VACUUM ANALYZE documents")
            .execute(&pool)
            .await?;
    }
    pool.close().await;
    Ok(Filled {
        store,
        organization,
        seconds: started.elapsed().as_secs_f64(),
        names,
    })
}

/// The searches: every date range × amount range × 取引先 (none, two common parts of names, and
/// one whole name, `rare`).
fn queries(rare: &str) -> Vec<(String, DocumentQuery)> {
    let dates: [(&str, Option<&str>, Option<&str>); 4] = [
        ("any date", None, None),
        ("one month", Some("2021-06-01"), Some("2021-06-30")),
        ("one year", Some("2021-01-01"), Some("2021-12-31")),
        ("ten years", Some("2016-01-01"), Some("2025-12-31")),
    ];
    let amounts: [(&str, Option<u64>, Option<u64>); 3] = [
        ("any amount", None, None),
        ("10万–100万円", Some(100_000), Some(1_000_000)),
        ("≥ 1億円", Some(100_000_000), None),
    ];
    let names: [(&str, Option<&str>); 4] = [
        ("any 取引先", None),
        ("盛岡", Some("盛岡")),
        ("清掃", Some("清掃")),
        ("one whole name", Some(rare)),
    ];
    let mut out = Vec::new();
    for (d, from, to) in dates {
        for (a, min, max) in amounts {
            for (c, name) in names {
                out.push((
                    format!("{d} · {a} · {c}"),
                    DocumentQuery {
                        date_from: from.map(String::from),
                        date_to: to.map(String::from),
                        amount_min: min.map(Yen),
                        amount_max: max.map(Yen),
                        counterparty: name.map(String::from),
                        completed_only: false,
                        reach: Reach::Every,
                        limit: 0,
                        after: None,
                    },
                ));
            }
        }
    }
    out
}

/// Fills the database at `url` and times every combination `runs` times.
/// The CSV exports of one year's documents and of every document, through a service on the
/// filled database: the second is ten times the first, and its memory must not be.
async fn measure_csv(
    url: &str,
    organization: OrganizationId,
    work: &Path,
) -> Result<[CsvMeasure; 2]> {
    let app = inkan_service::setup::assemble(
        inkan_service::setup::Config {
            data_dir: Some(work.to_path_buf()),
            public_url: Some("http://127.0.0.1:9".into()),
            database_url: Some(url.to_string()),
            ..inkan_service::setup::Config::default()
        },
        inkan_service::setup::system_clock(),
    )
    .await
    .context("a service on the search database")?;
    let staff = inkan_service::Staff::api_key(
        organization,
        inkan_domain::ApiKeyId::new(),
        inkan_store::ApiKeyScope::Read,
        None,
    );
    let one_year = inkan_service::SearchInput {
        date_from: Some("2021-01-01".into()),
        date_to: Some("2021-12-31".into()),
        ..inkan_service::SearchInput::default()
    };
    Ok([
        export_csv(&app.inkan, &staff, &one_year).await?,
        export_csv(&app.inkan, &staff, &inkan_service::SearchInput::default()).await?,
    ])
}

/// One CSV export, read chunk by chunk (nothing kept), the resident memory sampled at each.
async fn export_csv(
    inkan: &inkan_service::Inkan,
    staff: &inkan_service::Staff,
    search: &inkan_service::SearchInput,
) -> Result<CsvMeasure> {
    let before = crate::load::rss_kb();
    let mut peak = before;
    let started = Instant::now();
    let mut export = inkan
        .search_csv(staff, search, &inkan_service::Caller::default())
        .await?;
    let (mut rows, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = export.chunks.recv().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        rows += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        peak = peak.max(crate::load::rss_kb());
    }
    Ok(CsvMeasure {
        rows: rows.saturating_sub(1),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        rss_growth_kb: peak.saturating_sub(before),
    })
}

pub(crate) async fn run(
    url: &str,
    documents: usize,
    runs: usize,
    work: &Path,
) -> Result<SearchResult> {
    let Filled {
        store,
        organization,
        seconds: fill_seconds,
        names,
    } = fill(url, documents).await?;
    let mut combinations = Vec::new();
    for (label, query) in queries(&names[names.len() / 2]) {
        let mut times = Vec::with_capacity(runs);
        let mut hits = 0;
        for _ in 0..runs {
            let started = Instant::now();
            hits = store.search_documents(organization, &query).await?.len();
            times.push(ms(started.elapsed()));
        }
        times.sort_by(f64::total_cmp);
        combinations.push(Combination {
            label,
            hits,
            sorted_ms: times,
        });
    }
    let csv = measure_csv(url, organization, work).await?;
    Ok(SearchResult {
        backend: store.backend(),
        documents,
        fill_seconds,
        csv,
        combinations,
    })
}

/// The SQLite database for the search benchmark, in `work`.
pub(crate) fn sqlite_url(work: &Path) -> String {
    format!("sqlite://{}", work.join("search.db").display())
}

fn p95(sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (0.95 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn print(results: &[SearchResult], runs: usize) {
    println!();
    println!(
        "電帳法 search: every combination, {runs} run(s) each, through Store::search_documents (first 1,000 hits, by date)."
    );
    for r in results {
        println!(
            "{}: {} documents written in {:.1} s",
            r.backend, r.documents, r.fill_seconds
        );
    }
    print!("{:<48} {:>7}", "date · amount · 取引先", "hits");
    for r in results {
        print!(" {:>19}", format!("{} p50/p95 ms", r.backend));
    }
    println!();
    let Some(first) = results.first() else {
        return;
    };
    for (i, c) in first.combinations.iter().enumerate() {
        print!("{:<48} {:>7}", c.label, c.hits);
        for r in results {
            let sorted = &r.combinations[i].sorted_ms;
            let median = crate::report::median(sorted).unwrap_or(f64::NAN);
            print!(" {:>19}", format!("{median:.1} / {:.1}", p95(sorted)));
        }
        println!();
    }
    for r in results {
        for (what, c) in ["one year's documents", "every document"]
            .iter()
            .zip(&r.csv)
        {
            println!(
                "{}: the CSV of {what}, {} rows ({:.1} MB) in {:.1} s ({:.0} rows/s), resident memory +{:.1} MB while it streamed",
                r.backend,
                c.rows,
                c.bytes as f64 / 1_048_576.0,
                c.seconds,
                c.rows as f64 / c.seconds.max(1e-9),
                c.rss_growth_kb as f64 / 1024.0
            );
        }
    }
    for r in results {
        let worst = r
            .combinations
            .iter()
            .map(|c| p95(&c.sorted_ms))
            .fold(0.0, f64::max);
        let over = r
            .combinations
            .iter()
            .filter(|c| p95(&c.sorted_ms) >= 50.0)
            .count();
        println!(
            "{}: worst p95 {worst:.1} ms; {over} of {} combinations at 50 ms or more (target: none)",
            r.backend,
            r.combinations.len()
        );
    }
}
