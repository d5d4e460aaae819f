//! The `inkan` command: one binary for every role — the web server and worker, the PKI,
//! signing, timestamping and verifying, and the operator's commands.
#![doc = include_str!("../README.md")]

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    init_logging();
    // The font every drawing uses (a visible signature, the 締結証明書): the commands that sign
    // take it from the environment here; `inkan serve` reads it with its configuration too.
    if let Some(font) = std::env::var_os(inkan_domain::font::FONT_VARIABLE) {
        inkan_domain::font::choose(font.into());
    }
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

/// Logs go to stderr, filtered by `INKAN_LOG` (`info` by default; `inkan_service=debug,warn` …),
/// as text for people or, with `INKAN_LOG_FORMAT=json`, one JSON object per line for a log
/// collector (`timestamp`, `level`, `target`, `message` and the event's fields at the top level).
/// Logging starts before the configuration is read, so this one setting comes from the
/// environment alone.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INKAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = std::env::var("INKAN_LOG_FORMAT").unwrap_or_default();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.trim() {
        "json" => logs.json().flatten_event(true).init(),
        "" | "text" => logs.init(),
        other => {
            logs.init();
            tracing::warn!(
                value = other,
                "INKAN_LOG_FORMAT は text か json です / INKAN_LOG_FORMAT is text or json: logging as text"
            );
        }
    }
}
