//! Inkan's speed benchmark: sealing a PDF at PAdES B-T with the same key and the same TSA as
//! pyHanko, side by side in one run, and against the floor of hashing the file with OpenSSL and
//! copying it. It prints ratios and peak memory; it never fails on a ratio, only on errors.
//!
//! ```sh
//! cargo run -p inkan-bench --            # full: median of 5, a 300-page text PDF and a ~50 MB scan
//! cargo run -p inkan-bench -- --quick    # CI: one run each, a ~5 MB scan
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
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use inkan_keys::{DigestAlgorithm, KeyProtection, SigningKey, SoftwareKey};
use inkan_pades::{Level, RevocationFetcher, Services, SignOptions, Signer};
use inkan_pki::tsa::TsaClient;
use inkan_pki::{InitOptions, KeyBackendConfig, Pki};
use rand::{RngCore, SeedableRng};

#[derive(Parser)]
#[command(about = "Inkan B-T sealing vs pyHanko vs hashing+copying, side by side")]
struct Cli {
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
enum Cmd {
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
}

fn main() -> Result<()> {
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
        None => bench(&cli),
    }
}

// ---------------------------------------------------------------------------------------------
// Inkan sealing (in this process, or as the child)

struct Sealer {
    pki: Pki,
    key: Arc<dyn SigningKey>,
    chain: Vec<inkan_cms::Certificate>,
    tsa: TsaClient,
    fetcher: RevocationFetcher,
    runtime: tokio::runtime::Runtime,
}

impl Sealer {
    fn open(pki_dir: &Path, tsa_url: &str) -> Result<Self> {
        let pki = Pki::open(pki_dir)?;
        Ok(Sealer {
            key: pki.witness_key()?,
            chain: vec![pki.issuing_ca().clone()],
            tsa: TsaClient::new(vec![tsa_url.to_string()])?,
            fetcher: RevocationFetcher::default(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            pki,
        })
    }

    fn seal(&self, input: &Path, output: &Path) -> Result<()> {
        self.seal_at(input, output, Level::BT)
    }

    fn seal_at(&self, input: &Path, output: &Path, level: Level) -> Result<()> {
        self.runtime
            .block_on(inkan_pades::sign_pdf(
                input,
                output,
                &Signer {
                    key: self.key.as_ref(),
                    certificate: self.pki.witness_certificate(),
                    chain: &self.chain,
                },
                &SignOptions::new(level),
                &Services {
                    tsa: Some(&self.tsa),
                    revocation: &self.fetcher,
                    anchors: std::slice::from_ref(self.pki.root()),
                },
            ))
            .with_context(|| format!("Inkan sealing {}", input.display()))?;
        Ok(())
    }

    /// Inkan's own steps on this file, timed one by one (where the time of a seal goes).
    fn steps(&self, input: &Path, scratch: &Path) -> Result<Steps> {
        let started = Instant::now();
        self.seal_at(input, scratch, Level::BB)?;
        let seal_bb = started.elapsed();
        std::fs::remove_file(scratch)?;

        let started = Instant::now();
        let imprint = DigestAlgorithm::Sha256.hash(b"probe");
        self.runtime
            .block_on(self.tsa.timestamp(DigestAlgorithm::Sha256, &imprint))?;
        let tsa = started.elapsed();

        let started = Instant::now();
        let digest = self.key.algorithm().digest();
        inkan_cms::sign(&inkan_cms::SignRequest {
            content_type: inkan_cms::oid::ID_DATA,
            encapsulated: None,
            content_digest: &vec![0u8; digest.output_len()],
            digest,
            key: self.key.as_ref(),
            certificate: self.pki.witness_certificate(),
            chain: &self.chain,
            include_certificates: true,
        })?;
        let cms = started.elapsed();

        // Read and hash only.
        let started = Instant::now();
        let mut hasher = DigestAlgorithm::Sha256.hasher();
        let mut reader = File::open(input)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let _ = hasher.finalize();
        let hash = started.elapsed();

        // Read, hash and write in one pass, then fsync: what the signature stage does.
        let started = Instant::now();
        let mut hasher = DigestAlgorithm::Sha256.hasher();
        let mut reader = File::open(input)?;
        let mut writer = BufWriter::new(File::create(scratch)?);
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            writer.write_all(&buf[..n])?;
        }
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        let _ = hasher.finalize();
        let hash_write = started.elapsed();
        let started = Instant::now();
        file.sync_all()?;
        let fsync = started.elapsed();

        let copy_to = scratch.with_extension("copy");
        let started = Instant::now();
        std::fs::copy(scratch, &copy_to)?;
        let copy = started.elapsed();
        std::fs::remove_file(scratch)?;
        std::fs::remove_file(copy_to)?;
        Ok(Steps {
            seal_bb,
            tsa,
            cms,
            hash,
            hash_write,
            fsync,
            copy,
        })
    }
}

/// One seal's parts, measured separately.
#[derive(Clone, Copy)]
struct Steps {
    /// A whole seal at B-B: no TSA request at all.
    seal_bb: Duration,
    /// One TSA request on loopback (the TSA signs with RSA-2048).
    tsa: Duration,
    /// One CMS signature with the witness key.
    cms: Duration,
    /// Reading the file and SHA-256 over it.
    hash: Duration,
    /// Reading the file, SHA-256 over it and writing it out.
    hash_write: Duration,
    /// fsync of the written file.
    fsync: Duration,
    /// Copying the file (the finished stage to the output path).
    copy: Duration,
}

/// The peak resident memory (`VmHWM`) of a process, in KB, from `/proc/PID/status`.
fn vm_hwm_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Processes, timed, with their peak memory

struct Measured {
    elapsed: Duration,
    /// Max RSS in KB, when it could be measured.
    peak_kb: Option<u64>,
}

/// Runs `program args` to completion, timing it (wall clock, process start included) and taking
/// its peak memory. Its output goes to `log`; a failure is an error that shows it.
fn run_measured(program: &Path, args: &[OsString], log: &Path) -> Result<Measured> {
    let gnu_time = Path::new("/usr/bin/time");
    let rss_file = log.with_extension("rss");
    let mut cmd = if gnu_time.exists() {
        let mut cmd = Command::new(gnu_time);
        cmd.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(File::create(log)?)
        .stderr(File::create(log.with_extension("err"))?);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let mut polled = None;
    let status = if gnu_time.exists() {
        child.wait()?
    } else {
        let pid = child.id().to_string();
        loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            polled = vm_hwm_kb(&pid).or(polled);
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let elapsed = started.elapsed();
    if !status.success() {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        let err = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
        bail!(
            "{} {:?} failed ({status}):\n{out}{err}",
            program.display(),
            args
        );
    }
    let peak_kb = if gnu_time.exists() {
        let text = std::fs::read_to_string(&rss_file)?;
        text.lines().rev().find_map(|l| l.trim().parse().ok())
    } else {
        polled
    };
    Ok(Measured { elapsed, peak_kb })
}

fn run_quiet(program: &Path, args: &[&OsString]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// A text PDF of `pages` pages: Helvetica (a /Font resource on every page), ~45 lines of text
/// per page in a Flate-compressed content stream, classic xref table, flat page tree.
fn write_text_pdf(path: &Path, pages: usize) -> Result<()> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(b"<< /Title (Service agreement) /Producer (inkan-bench) >>".to_vec());
    for page in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /Font << /F1 3 0 R >> >> >>",
                6 + 2 * page
            )
            .into_bytes(),
        );
        let mut content = format!(
            "BT /F1 16 Tf 56 790 Td (Service agreement - page {} of {pages}) Tj ET\n",
            page + 1
        );
        for line in 0..45 {
            let article = page * 45 + line + 1;
            content.push_str(&format!(
                "BT /F1 10 Tf 56 {} Td (Article {article}. The contractor shall perform the \
                 services described in schedule {} with due care and diligence.) Tj ET\n",
                760 - 16 * line,
                article % 17 + 1
            ));
        }
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content.as_bytes())?;
        let compressed = encoder.finish()?;
        let mut object = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            compressed.len()
        )
        .into_bytes();
        object.extend_from_slice(&compressed);
        object.extend_from_slice(b"\nendstream");
        objects.push(object);
    }
    let mut out = PdfOut::create(path)?;
    for object in &objects {
        out.object(object, &[])?;
    }
    out.finish()
}

/// A "scanned" PDF of about `megabytes` MB: one A4 page per 150-dpi greyscale image of random
/// (incompressible) bytes, stored uncompressed as /DeviceGray.
fn write_scanned_pdf(path: &Path, megabytes: usize) -> Result<usize> {
    const W: usize = 1240;
    const H: usize = 1754;
    let pages = ((megabytes * 1024 * 1024) as f64 / (W * H) as f64)
        .round()
        .max(1.0) as usize;
    let mut out = PdfOut::create(path)?;
    out.object(b"<< /Type /Catalog /Pages 2 0 R >>", &[])?;
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 3 * i)).collect();
    out.object(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .as_bytes(),
        &[],
    )?;
    out.object(b"<< /Producer (inkan-bench scanner) >>", &[])?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1b4a_2026);
    let mut image = vec![0u8; W * H];
    for page in 0..pages {
        let first = 4 + 3 * page;
        out.object(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /XObject << /Im0 {} 0 R >> >> >>",
                first + 1,
                first + 2
            )
            .as_bytes(),
            &[],
        )?;
        let content = b"q 595 0 0 842 0 0 cm /Im0 Do Q";
        out.object(
            format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
            &[content, b"\nendstream"],
        )?;
        rng.fill_bytes(&mut image);
        out.object(
            format!(
                "<< /Type /XObject /Subtype /Image /Width {W} /Height {H} /ColorSpace /DeviceGray \
                 /BitsPerComponent 8 /Length {} >>\nstream\n",
                image.len()
            )
            .as_bytes(),
            &[&image, b"\nendstream"],
        )?;
    }
    out.finish()?;
    Ok(pages)
}

/// Writes objects numbered in order (1, 2, …) straight to the file, then a classic xref table
/// and a trailer with `/Root 1 0 R` and `/Info` naming the first object that holds /Producer.
struct PdfOut {
    out: BufWriter<File>,
    at: usize,
    offsets: Vec<usize>,
    info: Option<usize>,
}

impl PdfOut {
    fn create(path: &Path) -> Result<Self> {
        let mut out = PdfOut {
            out: BufWriter::new(File::create(path)?),
            at: 0,
            offsets: Vec::new(),
            info: None,
        };
        out.raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")?;
        Ok(out)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes)?;
        self.at += bytes.len();
        Ok(())
    }

    fn object(&mut self, head: &[u8], tail: &[&[u8]]) -> Result<()> {
        self.offsets.push(self.at);
        let num = self.offsets.len();
        if self.info.is_none() && head.windows(9).any(|w| w == b"/Producer") {
            self.info = Some(num);
        }
        self.raw(format!("{num} 0 obj\n").as_bytes())?;
        self.raw(head)?;
        for part in tail {
            self.raw(part)?;
        }
        self.raw(b"\nendobj\n")
    }

    fn finish(mut self) -> Result<()> {
        let xref = self.at;
        let size = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n \n"));
        }
        let info = self
            .info
            .map(|n| format!(" /Info {n} 0 R"))
            .unwrap_or_default();
        table.push_str(&format!(
            "trailer\n<< /Size {size} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        self.raw(table.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

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

struct Input {
    label: String,
    path: PathBuf,
}

#[derive(Default)]
struct Row {
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

/// The `inkan` binary, if it is there and has a `verify` subcommand.
fn inkan_with_verify(cli: &Cli) -> Result<Option<PathBuf>> {
    let path = match &cli.inkan {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("inkan"),
    };
    let has_verify = path.exists()
        && Command::new(&path)
            .args(["verify", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !has_verify {
        eprintln!(
            "note: {} has no `verify` subcommand (or is not built: cargo build -p inkan); \
             verification is left out",
            path.display()
        );
    }
    Ok(has_verify.then_some(path))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A tool the benchmark compares against; missing, its columns say "n/a" (an error under CI).
fn optional_tool(path: PathBuf, what: &str) -> Result<Option<PathBuf>> {
    if path.exists() {
        return Ok(Some(path));
    }
    if in_ci() {
        bail!("CI=true and {what} is missing ({})", path.display());
    }
    eprintln!(
        "note: {what} is missing ({}); its columns say n/a",
        path.display()
    );
    Ok(None)
}

fn on_path(tool: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(tool))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(format!("/usr/bin/{tool}")))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
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

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| {
        if v < 100.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.0}")
        }
    })
}

fn fmt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}×", a / b),
        _ => "n/a".into(),
    }
}

fn fmt_mb(kb: Option<u64>) -> String {
    kb.map_or("n/a".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

fn print_report(rows: &[Row], runs: usize, cli: &Cli, verified: bool) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Inkan B-T sealing vs pyHanko vs the floor — median of {runs} run(s){}; {cores} cores ({cpu})",
        if cli.quick { ", quick mode" } else { "" }
    );
    println!();
    println!("| file | size MB | Inkan ms | pyHanko ms | pyHanko/Inkan | floor ms | Inkan/floor | Inkan peak MB | pyHanko peak MB |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (inkan, pyhanko, floor) = (median(&r.inkan), median(&r.pyhanko), median(&r.floor));
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.size as f64 / 1_048_576.0,
            fmt_ms(inkan),
            fmt_ms(pyhanko),
            fmt_ratio(pyhanko, inkan),
            fmt_ms(floor),
            fmt_ratio(inkan, floor),
            fmt_mb(r.inkan_peak_kb),
            fmt_mb(r.pyhanko_peak_kb),
        );
    }
    println!();
    println!("Start-up told apart: both as processes (Inkan's `seal-once` child: start, open the PKI, unwrap the key, seal), and both as libraries (pyHanko inside one Python process, after its imports):");
    println!();
    println!("| file | Inkan process ms | pyHanko process ms | ratio | Inkan library ms | pyHanko library ms | ratio |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (ip, pp) = (median(&r.inkan_process), median(&r.pyhanko));
        let (il, pl) = (median(&r.inkan), median(&r.pyhanko_library));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            fmt_ms(ip),
            fmt_ms(pp),
            fmt_ratio(pp, ip),
            fmt_ms(il),
            fmt_ms(pl),
            fmt_ratio(pl, il),
        );
    }
    println!();
    println!("Where Inkan's time goes: a B-T seal makes 2 TSA requests and 2 CMS signatures (a probe to size /Contents, then the real ones), reads the input while hashing and writing the update, fsyncs it, then copies the stage file to the output. Its steps timed one by one, and a whole seal at B-B (no TSA):");
    println!();
    println!("| file | B-T seal ms | B-B seal ms | TSA request ms | CMS signature ms | read+SHA-256 ms | read+SHA-256+write ms | fsync ms | copy ms | 2 TSA + 2 CMS + the rest ms |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let pick = |f: fn(&Steps) -> Duration| {
            median(&r.steps.iter().map(|s| ms(f(s))).collect::<Vec<_>>())
        };
        let seal_bb = pick(|s| s.seal_bb);
        let tsa = pick(|s| s.tsa);
        let cms = pick(|s| s.cms);
        let hash = pick(|s| s.hash);
        let hash_write = pick(|s| s.hash_write);
        let fsync = pick(|s| s.fsync);
        let copy = pick(|s| s.copy);
        let sum = [
            tsa.map(|v| 2.0 * v),
            cms.map(|v| 2.0 * v),
            hash_write,
            fsync,
            copy,
        ]
        .iter()
        .copied()
        .sum::<Option<f64>>();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            fmt_ms(median(&r.inkan)),
            fmt_ms(seal_bb),
            fmt_ms(tsa),
            fmt_ms(cms),
            fmt_ms(hash),
            fmt_ms(hash_write),
            fmt_ms(fsync),
            fmt_ms(copy),
            fmt_ms(sum),
        );
    }
    println!();
    if verified {
        println!("Verification of Inkan's B-T seal, both as processes and online (OCSP and CRLs from the served PKI): `inkan verify --trust root.pem` vs `pyhanko sign validate --trust root.pem --trust-replace`:");
        println!();
        println!("| file | inkan verify ms | pyHanko validate ms | pyHanko/Inkan | inkan verify peak MB | pyHanko validate peak MB |");
        println!("|---|--:|--:|--:|--:|--:|");
        for r in rows {
            let (v, p) = (median(&r.verify), median(&r.pyhanko_validate));
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.label,
                fmt_ms(v),
                fmt_ms(p),
                fmt_ratio(p, v),
                fmt_mb(r.verify_peak_kb),
                fmt_mb(r.pyhanko_validate_peak_kb),
            );
        }
    } else {
        println!("Verification: left out (no `inkan verify` subcommand in this build).");
    }
    println!();
    println!("Targets (issue): pyHanko/Inkan ≥ 20× on the text file and ≥ 10× on the 50 MB scan; Inkan/floor ≤ 3×; Inkan peak < 25 MB on the 50 MB scan. Not asserted here.");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The inputs are well-formed PDFs with the pages they claim, or the comparison means
    /// nothing.
    #[test]
    fn generated_inputs_are_valid_pdfs() {
        let tmp = tempfile::tempdir().unwrap();
        let text = tmp.path().join("text.pdf");
        write_text_pdf(&text, 7).unwrap();
        let scanned = tmp.path().join("scanned.pdf");
        let pages = write_scanned_pdf(&scanned, 5).unwrap();
        assert_eq!(pages, 2);
        assert!(std::fs::metadata(&scanned).unwrap().len() > 4_000_000);
        if inkan_testkit::require_tool("qpdf", "checks the inputs (apt install qpdf)").is_none() {
            return;
        }
        for (path, pages) in [(&text, 7), (&scanned, 2)] {
            let check = inkan_testkit::run_ok(Command::new("qpdf").arg("--check").arg(path));
            assert!(!check.to_lowercase().contains("warning"), "{check}");
            let count = inkan_testkit::run_ok(Command::new("qpdf").arg("--show-npages").arg(path));
            assert_eq!(count.trim(), pages.to_string());
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
