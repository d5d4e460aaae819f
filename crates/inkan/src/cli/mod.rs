//! Command-line parsing and dispatch; each subcommand lives in its own module.

mod pki;

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
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Pki { command } => pki::run(command),
    }
}
