//! The service commands: `serve` (web + workers), `worker`, `migrate`, `demo`, `org create`,
//! `audit verify`, `jobs`. All read the same configuration: a TOML file (`--config` or
//! INKAN_CONFIG) and INKAN_* variables; with none, everything lives in ./inkan-data.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use inkan_service::setup::{assemble, system_clock, Assembled, Config};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The configuration file (TOML). Without one: ./inkan-data, SQLite, files, built-in PKI.
    #[arg(long, env = "INKAN_CONFIG")]
    config: Option<PathBuf>,
}

impl ConfigArgs {
    pub(super) fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref())?)
    }
}

pub(super) async fn open(args: &ConfigArgs) -> anyhow::Result<Assembled> {
    let config = args.load()?;
    let data = config.data_dir();
    assemble(config, system_clock())
        .await
        .with_context(|| format!("opening the service in {}", data.display()))
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `inkan serve`: the web server and the job workers in one process.
pub fn serve(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&args).await?;
        let operator_token = app.config.operator_token()?;
        let listen = app.config.listen();
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let url = app.inkan.settings().public_url.clone();
        say!(
            "Inkan 電子契約: listening on http://{} ({url})",
            listener.local_addr()?
        );
        say!("  data:     {}", app.config.data_dir().display());
        say!("  database: {}", app.inkan.store().backend());
        say!("  pages:    {url}/login (staff), {url}/s/… and {url}/c/… (email links)");
        say!("  API:      {url}/api/v1  (OpenAPI: {url}/openapi.json)");
        say!("  PKI/TSA:  {url}/pki");
        let worker = tokio::spawn(app.inkan.worker().run());
        let backups = super::backup::schedule(&app)?;
        let state = inkan_web::AppState::new(app.inkan.clone(), app.pki.clone(), operator_token);
        let router = inkan_web::router(state)?;
        inkan_web::serve(listener, router).await?;
        worker.abort();
        if let Some(backups) = backups {
            backups.abort();
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `inkan worker`: job workers only (to scale out beside `serve`, on PostgreSQL).
pub fn worker(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&args).await?;
        say!(
            "Inkan worker {} on {}",
            app.inkan.settings().worker_id,
            app.inkan.store().backend()
        );
        app.inkan.worker().run().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// `inkan migrate`: applies the database migrations and exits.
pub fn migrate(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let config = args.load()?;
        let store = inkan_service::setup::open_store(&config).await?;
        say!("{}: migrations applied", store.backend());
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// 組織の作成 / Create an organization with its administrator; prints its first API key.
    Create {
        #[command(flatten)]
        config: ConfigArgs,
        /// 組織名, e.g. 盛岡市.
        #[arg(long)]
        name: String,
        /// 部署, e.g. 財政部契約検査課.
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        admin_name: String,
        #[arg(long)]
        admin_email: String,
    },
    /// IP制限の追加・解除 / The way back in: add a network to an organization's IP restriction
    /// (or lift it with --unrestricted), from the server, when no allowed address is left.
    AllowIp {
        #[command(flatten)]
        config: ConfigArgs,
        /// The organization's ID (as `org create` printed it).
        #[arg(long)]
        org: inkan_domain::OrganizationId,
        /// A network in CIDR notation (203.0.113.0/24, 2001:db8::/48) or one address.
        #[arg(
            required_unless_present = "unrestricted",
            conflicts_with = "unrestricted"
        )]
        network: Option<String>,
        /// Lift the restriction: staff may work from anywhere again.
        #[arg(long)]
        unrestricted: bool,
    },
}

pub fn org(command: OrgCommand) -> anyhow::Result<ExitCode> {
    match command {
        OrgCommand::Create {
            config,
            name,
            department,
            admin_name,
            admin_email,
        } => org_create(config, name, department, admin_name, admin_email),
        OrgCommand::AllowIp {
            config,
            org,
            network,
            unrestricted: _,
        } => org_allow_ip(config, org, network),
    }
}

fn org_allow_ip(
    config: ConfigArgs,
    org: inkan_domain::OrganizationId,
    network: Option<String>,
) -> anyhow::Result<ExitCode> {
    // The same reading as the settings page: one network, or one address standing for itself.
    let network = match network {
        Some(text) => {
            let parsed = inkan_domain::StaffNetworks::parse_list(&text)?;
            match parsed.networks() {
                [one] => Some(*one),
                _ => anyhow::bail!(
                    "ネットワークを1つ指定してください (give exactly one network): {text:?}"
                ),
            }
        }
        None => None,
    };
    runtime()?.block_on(async move {
        let app = open(&config).await?;
        let after = app.inkan.operator_allow_staff_network(org, network).await?;
        if after.is_unrestricted() {
            say!("IP制限なし / no IP restriction: staff may work from any address");
        } else {
            say!("許可するネットワーク / allowed networks:");
            for net in after.networks() {
                say!("  {net}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn org_create(
    config: ConfigArgs,
    name: String,
    department: Option<String>,
    admin_name: String,
    admin_email: String,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&config).await?;
        let password = std::env::var("INKAN_ADMIN_PASSWORD").ok();
        let created = app
            .inkan
            .create_organization(&inkan_service::NewOrganization {
                name,
                department,
                admin_name,
                admin_email,
                admin_password: password,
            })
            .await?;
        say!("organization: {}", created.organization_id);
        say!("API key (shown once / 一度だけ表示): {}", created.api_key);
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// 監査ログの検証 / Check every organization's chain (keyed hashes, head, timestamp anchors):
    /// exit 0 intact and anchored, 1 broken, 2 intact but not anchored in time.
    Verify {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// 監査ログのタイムスタンプ / Timestamp every chain head that moved since its last anchor,
    /// now (the worker does it once per `audit_anchor_hours` by itself).
    Anchor {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { config } => audit_verify(config),
        AuditCommand::Anchor { config } => audit_anchor(config),
    }
}

fn audit_verify(config: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&config).await?;
        let reports = app.inkan.verify_audit().await?;
        let (mut broken, mut unanchored) = (false, false);
        for r in &reports {
            let anchored = match &r.anchored {
                Some(a) => format!("anchored through entry {} at {} / タイムスタンプ済み", a.seq, a.time),
                None => "no timestamp anchor yet / タイムスタンプなし".to_string(),
            };
            match (&r.broken, &r.unanchored) {
                (Some(why), _) => {
                    broken = true;
                    say!(
                        "BROKEN  {} ({} entries) / 改ざんを検出: {why}",
                        r.organization,
                        r.entries
                    );
                }
                (None, Some(why)) => {
                    unanchored = true;
                    say!(
                        "LATE    {} ({} entries) / 改ざんなし、ただしタイムスタンプが遅延: {why}; {anchored}",
                        r.organization,
                        r.entries
                    );
                }
                (None, None) => say!(
                    "OK      {} ({} entries) / 改ざんなし; {anchored}",
                    r.organization,
                    r.entries
                ),
            }
        }
        if reports.is_empty() {
            say!("no audit entries yet / 監査ログはまだありません");
        }
        Ok(match (broken, unanchored) {
            (true, _) => ExitCode::from(1),
            (false, true) => ExitCode::from(2),
            (false, false) => ExitCode::SUCCESS,
        })
    })
}

fn audit_anchor(config: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&config).await?;
        let round = app.inkan.anchor_audit_chains(false).await?;
        say!(
            "{} chain head(s) timestamped / 監査ログにタイムスタンプを付与しました",
            round.anchored
        );
        for failure in &round.failed {
            say!("FAILED  {failure} / タイムスタンプを取得できませんでした");
        }
        Ok(if round.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// `inkan archive`: the archive sweep now (the worker runs it every hour): the built-in PKI's
/// certificates that end soon renewed, an archive job queued for each envelope whose proof runs
/// out within `archive_renewal_days`; the worker of `inkan serve` or `inkan worker` runs them.
pub fn archive(config: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&config).await?;
        let sweep = app.inkan.sweep_archives().await?;
        for role in &sweep.certificates_renewed {
            say!("renewed the {role} certificate / {role} 証明書を更新しました");
        }
        say!(
            "{} envelope(s) queued for archive renewal / {} 件の封筒のアーカイブタイムスタンプ更新を登録しました",
            sweep.queued,
            sweep.queued
        );
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The queue: queued, running, stalled and failed jobs.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Puts a failed job back in the queue.
    Retry {
        #[command(flatten)]
        config: ConfigArgs,
        id: String,
    },
}

pub fn jobs(command: JobsCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        match command {
            JobsCommand::List { config } => {
                let app = open(&config).await?;
                let report = app.inkan.job_report(None).await?;
                say!(
                    "queued {}, running {}, stalled {}, failed {}",
                    report.queued,
                    report.running,
                    report.stalled.len(),
                    report.failed.len()
                );
                for j in report.stalled.iter().chain(&report.failed) {
                    say!(
                        "{} {} attempts={} {}",
                        j.id,
                        j.kind,
                        j.attempts,
                        j.last_error.as_deref().unwrap_or("")
                    );
                }
                Ok(if report.failed.is_empty() && report.stalled.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            JobsCommand::Retry { config, id } => {
                let app = open(&config).await?;
                app.inkan.retry_job(None, &id).await?;
                say!("job {id} queued again");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// `inkan demo`: a sample organization (盛岡市 財政部契約検査課), a counterparty and a sent
/// envelope; prints the API key and the signer links. The running `inkan serve` seals.
pub fn demo(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let app = open(&args).await?;
        let inkan = &app.inkan;
        let demo = inkan_service::demo::seed(inkan).await?;
        say!(
            "盛岡市 財政部契約検査課 — demo organization {}",
            demo.organization_id
        );
        say!("API key (shown once / 一度だけ表示): {}", demo.api_key);
        say!(
            "staff login / 職員ログイン: {}/login  {}  password {}",
            inkan.settings().public_url,
            demo.admin_email,
            demo.admin_password
        );
        say!(
            "envelope 「{}」 sent: {}",
            demo.envelope_title,
            demo.envelope_id
        );
        for (name, email, url) in &demo.links {
            say!("  {name} <{email}>: {url}");
        }
        if demo.links.is_empty() {
            bail!("the demo envelope has no signer links");
        }
        Ok(ExitCode::SUCCESS)
    })
}
