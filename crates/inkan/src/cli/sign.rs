//! `inkan sign` and `inkan timestamp`.

use anyhow::{bail, Context};
use clap::Args;
use inkan_keys::{KeyProtection, Pkcs11Token, SigningKey, SoftwareKey};
use inkan_pades::{Certify, Level, RevocationFetcher, Services, SignOptions, Signer};
use inkan_pki::tsa::TsaClient;
use std::path::PathBuf;
use std::process::ExitCode;
use x509_cert::Certificate;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The PDF to sign.
    input: PathBuf,
    /// Where to write the signed PDF.
    #[arg(short, long)]
    output: PathBuf,
    /// Sign with this PKI's witness (立会人型) certificate and use its TSA.
    #[arg(long, conflicts_with_all = ["key", "pkcs11_module"])]
    pki: Option<PathBuf>,
    /// The signer's private key (PEM; encrypted keys read the passphrase from INKAN_KEY_PASSPHRASE).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// The signer's certificate (PEM or DER).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Intermediate certificates to embed (PEM).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// A PKCS#11 module holding the signer's key.
    #[arg(long, requires_all = ["pkcs11_token", "pkcs11_key", "cert"])]
    pkcs11_module: Option<PathBuf>,
    #[arg(long)]
    pkcs11_token: Option<String>,
    /// The key's label in the token.
    #[arg(long)]
    pkcs11_key: Option<String>,
    /// The environment variable holding the token PIN.
    #[arg(long, default_value = "INKAN_PKCS11_PIN")]
    pkcs11_pin_env: String,
    /// b-b, b-t, b-lt or b-lta.
    #[arg(long, default_value = "b-lta")]
    level: String,
    /// TSA URLs, tried in order.
    #[arg(long)]
    tsa: Vec<String>,
    /// Trust anchors (PEM) the signer's and TSA's chains end in (B-LT and above).
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// A visible signature: PAGE:X,Y,W,H (page from 1, points from the bottom-left corner).
    #[arg(long)]
    visible: Option<String>,
    /// A JPEG seal (印影) shown in the visible signature.
    #[arg(long, requires = "visible")]
    seal: Option<PathBuf>,
    /// A certification signature allowing 1 (nothing), 2 (form filling, signing) or 3 (also annotations).
    #[arg(long)]
    certify: Option<u8>,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    location: Option<String>,
    /// The signature field to fill or create.
    #[arg(long)]
    field: Option<String>,
}

#[derive(Debug, Args)]
pub struct TimestampArgs {
    /// The signed PDF.
    input: PathBuf,
    #[arg(short, long)]
    output: PathBuf,
    /// TSA URLs, tried in order.
    #[arg(long, required = true)]
    tsa: Vec<String>,
    /// Trust anchors (PEM) of the TSAs' chains.
    #[arg(long)]
    trust: Vec<PathBuf>,
}

fn read_certs(path: &std::path::Path) -> anyhow::Result<Vec<Certificate>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    inkan_pki::x509::from_pem_or_der(&bytes).with_context(|| format!("reading {}", path.display()))
}

fn anchors(paths: &[PathBuf]) -> anyhow::Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for path in paths {
        out.extend(read_certs(path)?);
    }
    Ok(out)
}

pub fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let level = Level::parse(&args.level).with_context(|| {
        format!(
            "unknown --level {:?}: use b-b, b-t, b-lt or b-lta",
            args.level
        )
    })?;
    let visible = match &args.visible {
        None => None,
        Some(spec) => {
            let mut visible = inkan_pades::Visible::parse(spec)?;
            if let Some(seal) = &args.seal {
                visible.seal_jpeg = Some(
                    std::fs::read(seal).with_context(|| format!("reading {}", seal.display()))?,
                );
            }
            Some(visible)
        }
    };
    let certify = match args.certify {
        None => None,
        Some(1) => Some(Certify::NoChanges),
        Some(2) => Some(Certify::FormFilling),
        Some(3) => Some(Certify::Annotations),
        Some(n) => bail!("--certify takes 1, 2 or 3, not {n}"),
    };
    let mut tsa_urls = args.tsa.clone();
    let mut trust = anchors(&args.trust)?;
    let (key, certificate, chain): (Box<dyn SigningKey>, Certificate, Vec<Certificate>) =
        if let Some(dir) = &args.pki {
            let pki = inkan_pki::Pki::open(dir)?;
            if tsa_urls.is_empty() {
                tsa_urls.push(pki.urls().tsa());
            }
            trust.push(pki.oldest_valid_root(std::time::SystemTime::now()).clone());
            (
                Box::new(pki.witness_key()?),
                (*pki.witness_certificate()).clone(),
                pki.chain(),
            )
        } else if let (Some(key_path), Some(cert_path)) = (&args.key, &args.cert) {
            let passphrase = std::env::var("INKAN_KEY_PASSPHRASE").ok();
            let protection = match &passphrase {
                Some(p) => KeyProtection::Passphrase(p.as_bytes()),
                None => KeyProtection::None,
            };
            let key = SoftwareKey::read_file(key_path, protection)?;
            let cert = read_certs(cert_path)?.remove(0);
            let chain = match &args.chain {
                Some(p) => read_certs(p)?,
                None => Vec::new(),
            };
            (Box::new(key), cert, chain)
        } else if let (Some(module), Some(token), Some(label), Some(cert_path)) = (
            &args.pkcs11_module,
            &args.pkcs11_token,
            &args.pkcs11_key,
            &args.cert,
        ) {
            let pin = zeroize::Zeroizing::new(std::env::var(&args.pkcs11_pin_env).with_context(
                || {
                    format!(
                        "the token PIN is read from {}, which is not set",
                        args.pkcs11_pin_env
                    )
                },
            )?);
            let token = Pkcs11Token::open(module, token, &pin)?;
            let key = token.key(label)?;
            let cert = read_certs(cert_path)?.remove(0);
            let chain = match &args.chain {
                Some(p) => read_certs(p)?,
                None => Vec::new(),
            };
            (Box::new(key), cert, chain)
        } else {
            bail!("say who signs: --pki DIR, or --key K --cert C, or --pkcs11-module M --pkcs11-token T --pkcs11-key L --cert C");
        };
    if key.public_key() != &certificate.tbs_certificate.subject_public_key_info {
        bail!("the key does not belong to the certificate");
    }
    // Self-signed certificates among the chain are anchors too.
    for cert in &chain {
        if cert.tbs_certificate.issuer == cert.tbs_certificate.subject && !trust.contains(cert) {
            trust.push(cert.clone());
        }
    }
    if level >= Level::BLT && trust.is_empty() {
        bail!(
            "{} needs the trust anchor of the chains: give --trust ROOT.pem",
            args.level
        );
    }
    let tsa = if tsa_urls.is_empty() {
        None
    } else {
        Some(TsaClient::new(tsa_urls)?)
    };
    let mut options = SignOptions::new(level);
    options.field = args.field;
    options.reason = args.reason;
    options.location = args.location;
    options.certify = certify;
    options.visible = visible;
    let fetcher = RevocationFetcher::default();
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(inkan_pades::sign_pdf(
        &args.input,
        &args.output,
        &Signer {
            key: key.as_ref(),
            certificate: &certificate,
            chain: &chain,
        },
        &options,
        &Services {
            tsa: tsa.as_ref(),
            revocation: &fetcher,
            anchors: &trust,
        },
    ))?;
    say!(
        "署名しました / signed: {} (field {}, {:?}, {} of {} bytes reserved for the signature)",
        args.output.display(),
        outcome.field,
        outcome.level,
        outcome.contents_used,
        outcome.contents_capacity
    );
    Ok(ExitCode::SUCCESS)
}

pub fn timestamp(args: TimestampArgs) -> anyhow::Result<ExitCode> {
    let trust = anchors(&args.trust)?;
    let tsa = TsaClient::new(args.tsa)?;
    let fetcher = RevocationFetcher::default();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(inkan_pades::renew_archive_timestamp(
        &args.input,
        &args.output,
        &tsa,
        &fetcher,
        &trust,
    ))?;
    say!(
        "タイムスタンプを追加しました / document timestamp added: {}",
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
