//! The `inkan` command: one binary for every role — the web server and worker, the PKI,
//! signing, timestamping and verifying, and the operator's commands.
#![doc = include_str!("../README.md")]

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INKAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            // One clear line (plus causes) instead of a backtrace.
            eprintln!("inkan: エラー / error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
