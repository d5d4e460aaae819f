//! Command-line parsing and dispatch; each subcommand lives in its own module.

/// Prints a line to stdout, ignoring a closed pipe (`inkan … | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod backup;
mod import;
mod pki;
mod service;
mod sign;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "inkan",
    version,
    about = "Inkan 電子契約 — electronic contracts with PAdES signatures"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 認証局 / The built-in PKI: CA, OCSP, CRL and TSA.
    Pki {
        #[command(subcommand)]
        command: pki::PkiCommand,
    },
    /// 署名 / Sign a PDF (PAdES B-B, B-T, B-LT or B-LTA).
    Sign(Box<sign::SignArgs>),
    /// タイムスタンプ / Renew a signed PDF's archive timestamp (validation data + document timestamp).
    Timestamp(sign::TimestampArgs),
    /// 検証 / Verify every signature and document timestamp of a PDF (exit 0 valid, 1 invalid,
    /// 2 unreadable).
    Verify(verify::VerifyArgs),
    /// サーバー起動 / Run the service: web API and job workers (zero configuration: ./inkan-data).
    Serve(service::ConfigArgs),
    /// Job workers only, beside `serve` (PostgreSQL deployments).
    Worker(service::ConfigArgs),
    /// Apply the database migrations and exit.
    Migrate(service::ConfigArgs),
    /// デモ / Seed a sample organization, counterparty and sent envelope; print the signer links.
    Demo(service::ConfigArgs),
    /// 組織 / Organizations.
    Org {
        #[command(subcommand)]
        command: service::OrgCommand,
    },
    /// 監査ログ / The audit trail.
    Audit {
        #[command(subcommand)]
        command: service::AuditCommand,
    },
    /// ジョブ / The durable job queue.
    Jobs {
        #[command(subcommand)]
        command: service::JobsCommand,
    },
    /// アーカイブ / Renew archive timestamps that are due now: the built-in PKI's certificates
    /// that end soon, then a job per envelope whose proof runs out within the window (the
    /// worker does this every hour by itself).
    Archive(service::ConfigArgs),
    /// バックアップ / Make a backup set now and prune old ones; `list`, `verify` (a restore
    /// drill), `prune`.
    Backup(backup::BackupArgs),
    /// 復元 / Restore a backup set into an empty installation (the configuration's data
    /// folder, database and blob store).
    Restore(backup::RestoreArgs),
    /// 取込 / Import contracts concluded outside Inkan (paper, other services) from a CSV of
    /// their 電帳法 items: each PDF kept as it is, with a document timestamp added.
    Import(import::ImportArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Pki { command } => pki::run(command),
        Command::Sign(args) => sign::sign(*args),
        Command::Timestamp(args) => sign::timestamp(args),
        Command::Verify(args) => verify::verify(args),
        Command::Serve(args) => service::serve(args),
        Command::Worker(args) => service::worker(args),
        Command::Migrate(args) => service::migrate(args),
        Command::Demo(args) => service::demo(args),
        Command::Org { command } => service::org(command),
        Command::Audit { command } => service::audit(command),
        Command::Jobs { command } => service::jobs(command),
        Command::Archive(args) => service::archive(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Import(args) => import::import(args),
    }
}
