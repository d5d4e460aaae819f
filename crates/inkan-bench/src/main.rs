//! Inkan's speed benchmark: sealing a PDF at PAdES B-T with the same key and the same TSA as
//! pyHanko, side by side in one run, and against the floor of hashing the file with OpenSSL and
//! copying it. It prints ratios and peak memory; it never fails on a ratio, only on errors.
//!
//! ```sh
//! cargo run -p inkan-bench --            # full: median of 5, a 300-page text PDF and a ~50 MB scan
//! cargo run -p inkan-bench -- --quick    # CI: one run each, a ~5 MB scan
//! cargo run -p inkan-bench -- load       # the service under load (envelopes/s), both databases
//! cargo run -p inkan-bench -- search     # the 電帳法 search over 1,000,000 generated documents
//! ```
//!
//! Built in the workspace's dev profile (dependencies optimised, like the tests), so CI builds
//! the workspace once. What runs:
//! - a PKI is created in a temporary directory and served on loopback (OCSP, CRLs, TSA);
//! - Inkan seals in this process through `inkan_pades::sign_pdf` (the library, as the service
//!   calls it) and, for its peak memory, in a child process of this binary (`seal-once`), which
//!   is timed too: that is a command-line seal, process start and key loading included;
//! - pyHanko runs as its command line (`pyhanko sign addsig --use-pades --timestamp-url …`), and,
//!   to tell its start-up from its work, as a library inside one Python process;
//! - the floor is `openssl dgst -sha256 FILE` then `cp FILE COPY`, as processes.
//!
//! The runs of the different tools are interleaved (Inkan, pyHanko, floor, Inkan, …) so that
//! machine noise falls on all of them alike. Peak memory is the max RSS that `/usr/bin/time -f
//! %M` reports; without it, the `VmHWM` of `/proc/PID/status` polled while the child runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use inkan_keys::{KeyProtection, SoftwareKey};
use inkan_pki::{InitOptions, KeyBackendConfig, Pki};

mod inputs;
mod load;
mod process;
mod report;
mod sealer;
mod search;

use inputs::*;
use process::*;
use report::*;
use sealer::*;

#[derive(Parser)]
#[command(about = "Inkan B-T sealing vs pyHanko vs hashing+copying, side by side")]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// CI mode: one run of each, and a ~5 MB scanned file (unless given).
    #[arg(long)]
    quick: bool,
    /// Runs per measurement; the median is reported. Default 5, or 1 with --quick.
    #[arg(long)]
    runs: Option<usize>,
    /// Size of the scanned PDF in MB. Default 50, or 5 with --quick.
    #[arg(long)]
    scanned_mb: Option<usize>,
    /// Pages of the text PDF.
    #[arg(long, default_value_t = 300)]
    pages: usize,
    /// Where to put the PKI, the inputs and the outputs (a temporary directory by default).
    #[arg(long)]
    work: Option<PathBuf>,
    /// The pyHanko virtualenv (default: $INKAN_PYHANKO_VENV, else ~/.cache/inkan/pyhanko-venv).
    #[arg(long)]
    pyhanko_venv: Option<PathBuf>,
    /// The `inkan` binary whose `verify` is timed (default: beside this binary, as Cargo builds
    /// it). Without it, or without its `verify` subcommand, verification is left out.
    #[arg(long)]
    inkan: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// Seal one file at B-T with a PKI's witness key and a TSA, then print this process's peak
    /// memory (`vmhwm_kb=N`). The benchmark runs it as its child process.
    SealOnce {
        #[arg(long)]
        pki: PathBuf,
        #[arg(long)]
        tsa: String,
        input: PathBuf,
        output: PathBuf,
    },
    /// The service under load: completed envelopes per second and sign-request latency, on
    /// SQLite and on PostgreSQL (a fresh database on INKAN_TEST_DATABASE_URL's server).
    Load {
        /// Envelopes per backend (default 100, or 6 with --quick).
        #[arg(long)]
        envelopes: Option<usize>,
        /// Envelopes whose two signers arrive per second (default 30, the goal): every sign
        /// request is made while the worker seals the envelopes before it.
        #[arg(long, default_value_t = 30.0)]
        rate: f64,
        /// Jobs the worker runs at once (default: the service's, two per core).
        #[arg(long)]
        worker_jobs: Option<usize>,
        /// Few envelopes (CI).
        #[arg(long)]
        quick: bool,
        /// Another build of this benchmark (`target/release/inkan-bench`) to run first with
        /// the same load, its rows printed beside this one's: the two profiles in one run.
        #[arg(long)]
        beside: Option<PathBuf>,
        /// Print the results as JSON only (what `--beside` reads from the other build).
        #[arg(long)]
        json: bool,
    },
    /// The 電帳法 search on a generated database: every combination of a date range, an amount
    /// range and a 取引先 substring, on SQLite and on PostgreSQL (a fresh database on
    /// INKAN_TEST_DATABASE_URL's server).
    Search {
        /// Documents per backend (default 1,000,000, or 20,000 with --quick).
        #[arg(long)]
        documents: Option<usize>,
        /// Runs of each combination (default 20, or 3 with --quick).
        #[arg(long)]
        runs: Option<usize>,
        /// A small database (CI).
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> Result<()> {
    // What the service in this process logs goes to stderr (errors only unless RUST_LOG says
    // otherwise): a failed request's reference names a logged error, which must be readable.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match &cli.command {
        Some(Cmd::SealOnce {
            pki,
            tsa,
            input,
            output,
        }) => {
            Sealer::open(pki, tsa)?.seal(input, output)?;
            if let Some(kb) = vm_hwm_kb("self") {
                println!("vmhwm_kb={kb}");
            }
            Ok(())
        }
        Some(Cmd::Load {
            envelopes,
            rate,
            worker_jobs,
            quick,
            beside,
            json,
        }) => {
            let envelopes = envelopes.unwrap_or(if *quick { 6 } else { 100 });
            let load = load::Load {
                envelopes,
                rate: rate.clamp(0.1, 10_000.0),
                worker_jobs: *worker_jobs,
            };
            let mut results = match beside {
                Some(other) => load::run_beside(other, &load)?,
                None => Vec::new(),
            };
            results.extend(load::run_both_backends(&load)?);
            if *json {
                println!("{}", serde_json::to_string(&results)?);
            } else {
                load::print(&results, &load);
            }
            Ok(())
        }
        Some(Cmd::Search {
            documents,
            runs,
            quick,
        }) => {
            let documents = documents.unwrap_or(if *quick { 20_000 } else { 1_000_000 });
            let runs = runs.unwrap_or(if *quick { 3 } else { 20 }).max(1);
            let work = tempfile::tempdir()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let sqlite = search::sqlite_url(work.path());
            let mut results = vec![runtime.block_on(search::run(
                &sqlite,
                documents,
                runs,
                &work.path().join("sqlite-service"),
            ))?];
            match inkan_testkit::postgres::fresh_database() {
                Some(db) => results.push(runtime.block_on(search::run(
                    &db.url,
                    documents,
                    runs,
                    &work.path().join("postgres-service"),
                ))?),
                None => println!("PostgreSQL is not reachable: SQLite only"),
            }
            search::print(&results, runs);
            Ok(())
        }
        None => bench(&cli),
    }
}

/// pyHanko as a library in one Python process: times each seal after the imports, prints ms.
const PYHANKO_LIBRARY: &str = r#"
import sys, time
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

key, cert, chain, url, src, dst, runs = sys.argv[1:8]
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
stamper = timestamps.HTTPTimeStamper(url)
meta = signers.PdfSignatureMetadata(field_name='Sig1', subfilter=SigSeedSubFilter.PADES)
for _ in range(int(runs)):
    started = time.perf_counter()
    with open(src, 'rb') as f, open(dst, 'wb') as out:
        signers.sign_pdf(IncrementalPdfFileWriter(f), meta, signer=signer, timestamper=stamper,
                         output=out)
    print((time.perf_counter() - started) * 1000.0, flush=True)
"#;

pub(crate) struct Input {
    label: String,
    path: PathBuf,
}

#[derive(Default)]
pub(crate) struct Row {
    label: String,
    size: u64,
    inkan: Vec<f64>,
    inkan_process: Vec<f64>,
    inkan_peak_kb: Option<u64>,
    pyhanko: Vec<f64>,
    pyhanko_peak_kb: Option<u64>,
    pyhanko_library: Vec<f64>,
    floor: Vec<f64>,
    steps: Vec<Steps>,
    verify: Vec<f64>,
    verify_peak_kb: Option<u64>,
    pyhanko_validate: Vec<f64>,
    pyhanko_validate_peak_kb: Option<u64>,
}

fn bench(cli: &Cli) -> Result<()> {
    let runs = cli.runs.unwrap_or(if cli.quick { 1 } else { 5 }).max(1);
    let scanned_mb = cli.scanned_mb.unwrap_or(if cli.quick { 5 } else { 50 });
    let tmp;
    let work = match &cli.work {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let venv = cli
        .pyhanko_venv
        .clone()
        .or_else(|| std::env::var_os("INKAN_PYHANKO_VENV").map(PathBuf::from))
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/inkan/pyhanko-venv")
        });
    let pyhanko = optional_tool(venv.join("bin/pyhanko"), "pyHanko")?;
    let python = venv.join("bin/python");
    let openssl = optional_tool(on_path("openssl"), "openssl")?;

    // The PKI, served on loopback for both signers.
    let started = Instant::now();
    let pki_dir = work.join("pki");
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let pki = Pki::init(
        &pki_dir,
        InitOptions {
            base_url: base_url.clone(),
            org: "Inkan bench".into(),
            keys: KeyBackendConfig::File {
                kek_file: "keys/kek.bin".into(),
            },
            tsa_policy: None,
            tsa_lifetime: None,
        },
    )
    .context("creating the PKI")?;
    inkan_pki::server::spawn_server(Arc::new(pki), listener);
    let tsa_url = format!("{base_url}/tsa");

    // The witness key as plain PEM for pyHanko (the PKI keeps it wrapped under keys/kek.bin).
    let kek: [u8; 32] = std::fs::read(pki_dir.join("keys/kek.bin"))?
        .try_into()
        .map_err(|_| anyhow!("keys/kek.bin is not a 32-byte key"))?;
    let witness =
        SoftwareKey::read_file(&pki_dir.join("keys/witness.key"), KeyProtection::Kek(&kek))
            .context("reading the witness key")?;
    let key_pem = work.join("witness-key.pem");
    witness.write_file(&key_pem, KeyProtection::None)?;
    let cert_pem = pki_dir.join("witness.pem");
    let chain_pem = pki_dir.join("issuing-ca.pem");
    let sealer = Sealer::open(&pki_dir, &tsa_url)?;

    let text = work.join(format!("text-{}p.pdf", cli.pages));
    write_text_pdf(&text, cli.pages)?;
    let scanned = work.join(format!("scanned-{scanned_mb}mb.pdf"));
    let scan_pages = write_scanned_pdf(&scanned, scanned_mb)?;
    let inputs = [
        Input {
            label: format!("text, {} pages", cli.pages),
            path: text,
        },
        Input {
            label: format!("scanned, {scan_pages} pages"),
            path: scanned,
        },
    ];
    eprintln!(
        "set-up (PKI, inputs) {:.0} ms; {runs} run(s) each; work dir {}",
        ms(started.elapsed()),
        work.display()
    );

    let me = std::env::current_exe()?;
    let inkan = inkan_with_verify(cli)?;
    let mut rows = Vec::new();
    for input in &inputs {
        let mut row = Row {
            label: input.label.clone(),
            size: std::fs::metadata(&input.path)?.len(),
            ..Row::default()
        };
        let out = work.join("out.pdf");
        let log = work.join("child.log");
        // The file both verifiers check: Inkan's B-T seal of this input.
        let signed = work.join("signed.pdf");
        sealer.seal(&input.path, &signed)?;
        for _ in 0..runs {
            // Inkan, in this process.
            let started = Instant::now();
            sealer.seal(&input.path, &out)?;
            row.inkan.push(ms(started.elapsed()));
            std::fs::remove_file(&out)?;

            // Inkan, as a process: time and peak memory.
            let args: Vec<OsString> = vec![
                "seal-once".into(),
                "--pki".into(),
                pki_dir.clone().into(),
                "--tsa".into(),
                tsa_url.clone().into(),
                input.path.clone().into(),
                out.clone().into(),
            ];
            let m = run_measured(&me, &args, &log)?;
            row.inkan_process.push(ms(m.elapsed));
            row.inkan_peak_kb = row.inkan_peak_kb.max(m.peak_kb);
            std::fs::remove_file(&out)?;

            // pyHanko's command line, same key, certificate, chain and TSA.
            if let Some(pyhanko) = &pyhanko {
                let args: Vec<OsString> = [
                    OsString::from("sign"),
                    "addsig".into(),
                    "--field".into(),
                    "Sig1".into(),
                    "--use-pades".into(),
                    "--timestamp-url".into(),
                    tsa_url.clone().into(),
                    "pemder".into(),
                    "--key".into(),
                    key_pem.clone().into(),
                    "--cert".into(),
                    cert_pem.clone().into(),
                    "--chain".into(),
                    chain_pem.clone().into(),
                    "--no-pass".into(),
                    input.path.clone().into(),
                    out.clone().into(),
                ]
                .into();
                let m = run_measured(pyhanko, &args, &log)?;
                row.pyhanko.push(ms(m.elapsed));
                row.pyhanko_peak_kb = row.pyhanko_peak_kb.max(m.peak_kb);
                std::fs::remove_file(&out)?;
            }

            // The floor: hash with OpenSSL, copy with cp.
            if let Some(openssl) = &openssl {
                let path = OsString::from(&input.path);
                let copy = OsString::from(work.join("copy.pdf"));
                let hash = run_quiet(openssl, &[&"dgst".into(), &"-sha256".into(), &path])?;
                let cp = run_quiet(Path::new("cp"), &[&path, &copy])?;
                row.floor.push(ms(hash + cp));
                std::fs::remove_file(&copy)?;
            }

            row.steps
                .push(sealer.steps(&input.path, &work.join("steps.pdf"))?);

            // Verification, both online against the served OCSP responder and CRLs.
            if let Some(inkan) = &inkan {
                let args: Vec<OsString> = vec![
                    "verify".into(),
                    "--trust".into(),
                    pki_dir.join("root.pem").into(),
                    signed.clone().into(),
                ];
                let m = run_measured(inkan, &args, &log)?;
                row.verify.push(ms(m.elapsed));
                row.verify_peak_kb = row.verify_peak_kb.max(m.peak_kb);
                if let Some(pyhanko) = &pyhanko {
                    let args: Vec<OsString> = vec![
                        "sign".into(),
                        "validate".into(),
                        "--trust".into(),
                        pki_dir.join("root.pem").into(),
                        "--trust-replace".into(),
                        signed.clone().into(),
                    ];
                    let m = run_measured(pyhanko, &args, &log)?;
                    row.pyhanko_validate.push(ms(m.elapsed));
                    row.pyhanko_validate_peak_kb = row.pyhanko_validate_peak_kb.max(m.peak_kb);
                }
            }
        }
        std::fs::remove_file(&signed)?;
        // pyHanko as a library: the same seals without Python's start-up and imports.
        if pyhanko.is_some() {
            let out_text = Command::new(&python)
                .arg("-c")
                .arg(PYHANKO_LIBRARY)
                .args([&key_pem, &cert_pem, &chain_pem])
                .arg(&tsa_url)
                .arg(&input.path)
                .arg(&out)
                .arg(runs.to_string())
                .output()?;
            if !out_text.status.success() {
                bail!(
                    "pyHanko as a library failed:\n{}",
                    String::from_utf8_lossy(&out_text.stderr)
                );
            }
            row.pyhanko_library = String::from_utf8_lossy(&out_text.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            std::fs::remove_file(&out)?;
        }
        eprintln!("measured {}", row.label);
        rows.push(row);
    }
    print_report(&rows, runs, cli, inkan.is_some());
    Ok(())
}
