//! `inkan verify`: every signature and document timestamp of a PDF, in Japanese and English or
//! as JSON. Exit 0 when all are valid, 1 when any is invalid (or there is none), 2 when the file
//! cannot be read.

use anyhow::Context;
use clap::Args;
use inkan_pades::VerifyOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed PDF.
    file: PathBuf,
    /// Trust anchors (PEM or DER root certificates); repeatable.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Use only the validation data embedded in the file: no OCSP or CRL requests.
    #[arg(long)]
    offline: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut anchors = Vec::new();
    for path in &args.trust {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        anchors.extend(
            inkan_pki::x509::from_pem_or_der(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let options = VerifyOptions {
        anchors,
        offline: args.offline,
        ..VerifyOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = match runtime.block_on(inkan_pades::verify_pdf(&args.file, &options)) {
        Ok(report) => report,
        Err(e) => {
            // One line, and the exit code that means "not a readable PDF" (not "invalid").
            eprintln!(
                "inkan: 読み込めません / cannot read {}: {e}",
                args.file.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    if args.json {
        say!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let text = inkan_pades::verify::render_text(&report);
        say!("{}", text.trim_end());
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
