//! `inkan import`: contracts concluded outside Inkan — scanned paper, or PDFs from another
//! service — brought into an organization's 文書管理 from a CSV that lists them with their 電帳法
//! items, each kept with a document timestamp.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

use super::service::{open, runtime, ConfigArgs};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The organization's API key (`inkan_…`, as `org create` printed it): the import is made,
    /// and audited, as this key.
    #[arg(long, env = "INKAN_API_KEY", hide_env_values = true)]
    api_key: String,
    /// The CSV: ファイル, 件名, 管理番号, 取引先, 取引年月日, 金額, 種別 (UTF-8 or CP932, Japanese
    /// or English headers).
    csv: PathBuf,
    /// Where the PDFs are (default: the CSV's folder).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Every row is checked first (CSV, files present); then each contract is imported, and a row
/// that fails does not stop the others. Exit 0 when every row was imported, 1 otherwise.
pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.csv).with_context(|| format!("reading {}", args.csv.display()))?;
    let rows = inkan_service::parse_manifest(&bytes)?;
    let dir = args.dir.clone().unwrap_or_else(|| {
        args.csv
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
    });
    // Every file before the first import: a missing one is named with its line.
    for row in &rows {
        let path = dir.join(&row.file);
        if !path.is_file() {
            anyhow::bail!(
                "{}行目「ファイル」: {} がありません (line {}: no such file {})",
                row.line,
                path.display(),
                row.line,
                path.display()
            );
        }
    }
    runtime()?.block_on(async move {
        let app = open(&args.config).await?;
        let staff = app
            .inkan
            .authenticate_api_key(&args.api_key, &inkan_service::Caller::default())
            .await?;
        let total = rows.len();
        let mut failed = 0;
        for (n, row) in rows.iter().enumerate() {
            let pdf = std::fs::read(dir.join(&row.file))
                .with_context(|| format!("reading {}", row.file))?;
            match app
                .inkan
                .import_contract(&staff, &row.input, pdf, &inkan_service::Caller::default())
                .await
            {
                Ok(view) => say!(
                    "[{}/{total}] {} → {} (取込済み / imported)",
                    n + 1,
                    row.file,
                    view.id
                ),
                Err(e) => {
                    failed += 1;
                    say!(
                        "[{}/{total}] {}行目 {}: 失敗 / failed: {e}",
                        n + 1,
                        row.line,
                        row.file
                    );
                }
            }
        }
        say!(
            "取り込み {}件、失敗 {failed}件 / {} imported, {failed} failed",
            total - failed,
            total - failed
        );
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
