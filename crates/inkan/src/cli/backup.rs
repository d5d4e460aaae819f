//! `inkan backup` (a set now, then pruning), `inkan backup list | verify | prune`, and
//! `inkan restore SET`; and the daily schedule `inkan serve` runs.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{Args, Subcommand};
use inkan_service::backup::{self, Backups, Manifest, Progress, Source};
use inkan_service::setup::{Assembled, Config};

use super::service::{open, runtime, ConfigArgs};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    command: Option<BackupCommand>,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
struct KeyArg {
    /// The backup key file (default: `[backup] key_file`, else <data_dir>/keys/backup.key).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// バックアップ一覧 / The sets in the destination, oldest first.
    List {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        key: KeyArg,
    },
    /// 復元テスト / Restore drill: the set restored into a scratch installation and checked
    /// (counts, audit chains, every final PDF and certificate byte for byte, every signature
    /// offline). Exit 0 sound, 1 not.
    Verify {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        key: KeyArg,
        /// The set's name (20261204T030000Z) or `latest`.
        #[arg(default_value = "latest")]
        set: String,
    },
    /// 世代整理 / Remove the sets the retention (7 daily, 12 monthly, 10 yearly) does not keep.
    Prune {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    key: KeyArg,
    /// The set's name (20261204T030000Z) or `latest`.
    set: String,
}

/// The configuration with `--key` applied.
fn config_with_key(config: &ConfigArgs, key: &KeyArg) -> anyhow::Result<Config> {
    let mut config = config.load()?;
    if let Some(file) = &key.key {
        config.backup.get_or_insert_with(Default::default).key_file = Some(file.clone());
    }
    Ok(config)
}

pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        None => create(args.config, args.key),
        Some(BackupCommand::List { config, key }) => list(config, key),
        Some(BackupCommand::Verify { config, key, set }) => verify(config, key, set),
        Some(BackupCommand::Prune { config, key }) => prune(config, key),
    }
}

fn create(config: ConfigArgs, key: KeyArg) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&config).await?;
        let mut app_config = app.config.clone();
        if let Some(file) = &key.key {
            app_config
                .backup
                .get_or_insert_with(Default::default)
                .key_file = Some(file.clone());
        }
        let backups = open_backups(&app_config, true)?;
        say!("バックアップ先 / destination: {}", backups.describe());
        let source = Source::new(&Assembled {
            config: app_config,
            ..app
        });
        let manifest = backups.create(&source, &Terminal::default()).await?;
        say_set(&manifest);
        let removed = backups.prune(manifest.created_at).await?;
        for name in &removed {
            say!("pruned / 削除: {name}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn list(config: ConfigArgs, key: KeyArg) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let backups = open_backups(&config_with_key(&config, &key)?, false)?;
        let sets = backups.sets().await?;
        for manifest in &sets {
            say_set(manifest);
        }
        if sets.is_empty() {
            say!(
                "no backup sets in {} / バックアップはありません",
                backups.describe()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn verify(config: ConfigArgs, key: KeyArg, set: String) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let config = config_with_key(&config, &key)?;
        let backups = open_backups(&config, false)?;
        let report = backups.drill(&set, &config, &Terminal::default()).await?;
        say!(
            "{}: {} organizations, {} envelopes, {} documents; {} sealed files identical, {} with every signature valid offline; {} audit chains",
            report.set,
            report.organizations,
            report.envelopes,
            report.documents,
            report.sealed_files,
            report.valid_signatures,
            report.audit_chains
        );
        for problem in &report.problems {
            say!("PROBLEM {problem}");
        }
        Ok(if report.sound() {
            say!("OK      the set restores and checks out / 復元テストに合格しました");
            ExitCode::SUCCESS
        } else {
            say!("FAILED  / 復元テストで問題が見つかりました");
            ExitCode::from(1)
        })
    })
}

fn prune(config: ConfigArgs, key: KeyArg) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let backups = open_backups(&config_with_key(&config, &key)?, false)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let removed = backups.prune(now).await?;
        for name in &removed {
            say!("pruned / 削除: {name}");
        }
        say!("{} set(s) removed", removed.len());
        Ok(ExitCode::SUCCESS)
    })
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let config = config_with_key(&args.config, &args.key)?;
        let backups = open_backups(&config, false)?;
        let manifest = backups
            .restore(
                &args.set,
                &config,
                std::time::SystemTime::now(),
                &Terminal::default(),
            )
            .await?;
        say!(
            "restored / 復元しました: {} into {}",
            manifest.name,
            config.data_dir().display()
        );
        // Opening applies the migrations newer than the set.
        let data = config.data_dir();
        inkan_service::setup::assemble(config, inkan_service::setup::system_clock())
            .await
            .with_context(|| format!("opening the restored service in {}", data.display()))?;
        say!(
            "next / 次に: inkan backup verify {} (a restore drill), then inkan serve",
            manifest.name
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn open_backups(config: &Config, create_key: bool) -> anyhow::Result<Backups> {
    let key_file = config
        .backup
        .as_ref()
        .and_then(|b| b.key_file.clone())
        .unwrap_or_else(|| config.data_dir().join("keys").join("backup.key"));
    let new_key = create_key && !key_file.exists();
    let backups = Backups::open(config, create_key)?;
    if Backups::inside_data_folder(config) {
        say!(
            "注意: バックアップ先がデータフォルダの中です / note: the backups are inside the data folder, which a lost disk takes with them; name another disk or an S3 bucket in [backup] destination"
        );
    }
    if new_key {
        say!(
            "バックアップ鍵を作成しました / backup key created: {} — keep a copy away from this server; without it no backup can be read",
            key_file.display()
        );
    }
    Ok(backups)
}

fn say_set(manifest: &Manifest) {
    let blob_bytes: u64 = manifest.blobs.iter().map(|b| b.size).sum();
    say!(
        "{}  {} database, {} MB; {} blobs, {} MB; {} envelopes, {} sealed files",
        manifest.name,
        manifest.database.backend,
        manifest.database.size.div_ceil(1 << 20),
        manifest.blobs.len(),
        blob_bytes.div_ceil(1 << 20),
        manifest.inventory.envelopes,
        manifest.inventory.sealed_files.len()
    );
}

/// `inkan serve`'s daily backup, unless `[backup] scheduled = false`.
pub(super) fn schedule(app: &Assembled) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let settings = app.config.backup.clone().unwrap_or_default();
    if !settings.scheduled() {
        return Ok(None);
    }
    let backups = open_backups(&app.config, true)?;
    say!(
        "  backups:  daily after {:02}:00 JST to {}",
        settings.hour(),
        backups.describe()
    );
    Ok(Some(tokio::spawn(backup::run_schedule(
        Source::new(app),
        Arc::new(backups),
        settings.hour(),
    ))))
}

/// Progress on the terminal: one line per step, rewritten in place on a terminal, printed once
/// at the step's end otherwise (logs, pipes).
#[derive(Default)]
struct Terminal {
    last: Mutex<Option<(String, u64)>>,
}

impl Progress for Terminal {
    fn advance(&self, step: &str, done: u64, total: u64) {
        let mut stderr = std::io::stderr();
        let live = stderr.is_terminal();
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let same = last
            .as_ref()
            .is_some_and(|(s, p)| s == step && *p == percent);
        if same && done != total {
            return;
        }
        *last = Some((step.to_string(), percent));
        if live {
            let end = if done == total { "\n" } else { "" };
            let _ = write!(stderr, "\r  {step}: {done}/{total} ({percent}%){end}");
        } else if done == total {
            let _ = writeln!(stderr, "  {step}: {done}/{total}");
        }
    }
}
