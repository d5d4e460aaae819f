//! `inkan pki init | issue | revoke | serve | status | rollover`.

use anyhow::Context;
use clap::{Args, Subcommand};
use inkan_keys::{KeyKind, KeyProtection};
use inkan_pki::{InitOptions, KeyBackendConfig, Pki, RevocationReason, SignerRequest};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a root CA, an issuing CA, and the TSA, OCSP-responder and witness certificates.
    Init(InitArgs),
    /// Issue a signer certificate (and its key) from the issuing CA.
    Issue(IssueArgs),
    /// Revoke a certificate issued by this PKI (visible to OCSP and CRLs at once).
    Revoke(RevokeArgs),
    /// Serve OCSP, CRLs, CA certificates and the RFC 3161 TSA over HTTP.
    Serve(ServeArgs),
    /// When each certificate of the PKI ends (証明書の有効期限); exit 1 when one ends within
    /// --warn-days, for monitoring.
    Status(StatusArgs),
    /// Bring in a new root and issuing CA (with new TSA, OCSP and witness keys), the new root
    /// cross-certified by the current one. What the earlier generation issued stays valid and
    /// answered for; restart `inkan serve` / `inkan pki serve` afterwards.
    Rollover(RolloverArgs),
}

#[derive(Debug, Args)]
pub struct RolloverArgs {
    #[arg(long, default_value = "inkan-data/pki")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, default_value = "inkan-data/pki")]
    dir: PathBuf,
    /// Warn (and exit 1) when a certificate ends within this many days. `serve` renews the
    /// OCSP responder's (90-day) certificate 30 days before it ends, so 30 flags only what
    /// nothing renews.
    #[arg(long, default_value_t = 30)]
    warn_days: u64,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The PKI directory to create.
    #[arg(long)]
    dir: PathBuf,
    /// Where `inkan pki serve` will be reachable, e.g. http://127.0.0.1:8440 (written into every
    /// certificate's OCSP, CRL and CA-issuer URLs).
    #[arg(long)]
    base_url: String,
    /// The organisation named in the certificates.
    #[arg(long, default_value = "Inkan")]
    org: String,
    /// The TSA policy OID (a random one under 2.25 if not given).
    #[arg(long)]
    tsa_policy: Option<String>,
    /// Keep the keys in this PKCS#11 module's token instead of files.
    #[arg(long, requires = "pkcs11_token")]
    pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, requires = "pkcs11_module")]
    pkcs11_token: Option<String>,
    /// The environment variable holding the token's user PIN.
    #[arg(long, default_value = "INKAN_PKCS11_PIN")]
    pkcs11_pin_env: String,
    /// Prefix of the key labels in the token.
    #[arg(long, default_value = "inkan")]
    pkcs11_label_prefix: String,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    #[arg(long)]
    dir: PathBuf,
    /// The signer's name (the certificate's common name; Japanese is fine).
    #[arg(long)]
    name: String,
    /// The signer's email (subjectAltName).
    #[arg(long)]
    email: Option<String>,
    /// Writes PREFIX.pem (certificate) and PREFIX.key (private key).
    #[arg(long)]
    out: PathBuf,
    /// rsa2048, rsa3072, p256 or p384.
    #[arg(long, default_value = "rsa2048")]
    key_type: String,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Encrypt PREFIX.key under the passphrase in this environment variable.
    #[arg(long)]
    passphrase_env: Option<String>,
    /// The installation's PostgreSQL (`postgres://…`), where the OCSP responders of nodes on
    /// other hosts learn of the certificate (their copies of the PKI folder do not).
    #[arg(long, env = "INKAN_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[arg(long)]
    dir: PathBuf,
    /// The certificate to revoke (PEM or DER).
    #[arg(long)]
    cert: PathBuf,
    /// unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
    /// cessation-of-operation, certificate-hold or privilege-withdrawn.
    #[arg(long, default_value = "unspecified")]
    reason: String,
    /// The installation's PostgreSQL (`postgres://…`), where nodes on other hosts learn of the
    /// revocation (their copies of the PKI folder do not).
    #[arg(long, env = "INKAN_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The PKI directory; created on first start (with the listen address as base URL) when it
    /// holds no PKI yet, so that a laptop needs no set-up.
    #[arg(long, default_value = "inkan-data/pki")]
    dir: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8440 (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8440")]
    listen: String,
}

pub fn run(command: PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::Init(args) => init(args),
        PkiCommand::Issue(args) => issue(args),
        PkiCommand::Revoke(args) => revoke(args),
        PkiCommand::Serve(args) => serve(args),
        PkiCommand::Status(args) => status(args),
        PkiCommand::Rollover(args) => rollover(args),
    }
}

fn rollover(args: RolloverArgs) -> anyhow::Result<ExitCode> {
    let pki = Pki::rollover(&args.dir)
        .with_context(|| format!("rolling the PKI in {} over", args.dir.display()))?;
    let folder = pki.folder().display();
    say!(
        "第 {} 世代のルート認証局を作成しました / generation {} created in {folder}",
        pki.generation(),
        pki.generation()
    );
    say!("  new root:              {folder}/root.pem");
    say!("  cross-certified:       {folder}/cross-certified.pem  (the new root, certified by the old)");
    say!("  chain:                 {folder}/chain.pem");
    say!(
        "  CA services:           {}",
        pki.urls().ocsp().trim_end_matches("/ocsp")
    );
    say!(
        "以前の世代の証明書・失効情報はそのまま有効です。サービスを再起動してください / \
         the earlier generations stay valid and served; restart the services that use this PKI"
    );
    Ok(ExitCode::SUCCESS)
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let pki = Pki::open(&args.dir)
        .with_context(|| format!("cannot open the PKI in {}", args.dir.display()))?;
    let now = std::time::SystemTime::now();
    let mut soon = 0;
    say!("世代 証明書 / certificate            期限 / ends (JST)             残り / days left");
    for e in pki.expiries() {
        let left = e
            .not_after
            .duration_since(now)
            .map_or(0, |d| d.as_secs() / 86_400);
        let flag = if left < args.warn_days {
            soon += 1;
            "  ← まもなく期限切れ / ends soon"
        } else {
            ""
        };
        say!(
            "g{:<3} {:<16} {:<17} {}  {left:>5}{flag}",
            e.generation,
            e.role,
            e.subject,
            inkan_pades::japanese_time(e.not_after)
        );
    }
    Ok(if soon == 0 {
        ExitCode::SUCCESS
    } else {
        say!(
            "{soon} 件の証明書が {} 日以内に期限切れになります / {soon} certificate(s) end within {} days",
            args.warn_days,
            args.warn_days
        );
        ExitCode::from(1)
    })
}

fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let keys = match (args.pkcs11_module, args.pkcs11_token) {
        (Some(module), Some(token)) => KeyBackendConfig::Pkcs11 {
            module,
            token,
            pin_env: args.pkcs11_pin_env,
            label_prefix: args.pkcs11_label_prefix,
        },
        _ => KeyBackendConfig::File {
            kek_file: PathBuf::from("keys/kek.bin"),
        },
    };
    let pki = Pki::init(
        &args.dir,
        InitOptions {
            base_url: args.base_url,
            org: args.org,
            keys,
            tsa_policy: args.tsa_policy,
            tsa_lifetime: None,
        },
    )
    .with_context(|| format!("creating the PKI in {}", args.dir.display()))?;
    let dir = pki.dir().display();
    say!("PKI を作成しました / PKI created in {dir}");
    say!("  trust anchor (root):   {dir}/root.pem");
    say!("  issuing CA:            {dir}/issuing-ca.pem");
    say!("  chain:                 {dir}/chain.pem");
    say!(
        "  TSA:                   {dir}/tsa.pem  (policy {})",
        pki.config().tsa_policy
    );
    say!("  OCSP responder:        {dir}/ocsp.pem");
    say!("  witness (立会人型):     {dir}/witness.pem");
    say!(
        "Serve it with: inkan pki serve --dir {dir} --listen <host:port of {}>",
        pki.config().base_url
    );
    Ok(ExitCode::SUCCESS)
}

fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let kind = KeyKind::parse(&args.key_type).with_context(|| {
        format!(
            "unknown --key-type {:?}: use rsa2048, rsa3072, p256 or p384",
            args.key_type
        )
    })?;
    let pki = Pki::open(&args.dir)?;
    let (cert, key) = pki.issue_signer(
        &SignerRequest {
            name: args.name,
            email: args.email,
            days: args.days,
        },
        kind,
    )?;
    if let Some(url) = postgres(args.database_url.as_deref()) {
        let ca = inkan_pki::shared::ca_label(pki.generation(), inkan_pki::CaRole::Issuing);
        let serial = inkan_pki::serial_hex(&cert.tbs_certificate.serial_number);
        in_database(url, |store| async move {
            store
                .record_pki_certificate(&ca, &serial, unix_now_seconds())
                .await
        })?;
    }
    let cert_path = with_suffix(&args.out, "pem");
    let key_path = with_suffix(&args.out, "key");
    let passphrase = match &args.passphrase_env {
        Some(var) => Some(zeroize::Zeroizing::new(
            std::env::var(var)
                .with_context(|| format!("the environment variable {var} is not set"))?,
        )),
        None => None,
    };
    let protection = match &passphrase {
        Some(p) => KeyProtection::Passphrase(p.as_bytes()),
        None => KeyProtection::None,
    };
    key.write_file(&key_path, protection)?;
    std::fs::write(
        &cert_path,
        inkan_pki::x509::to_pem(std::slice::from_ref(&cert))?,
    )
    .with_context(|| format!("writing {}", cert_path.display()))?;
    say!("証明書を発行しました / certificate issued");
    say!("  certificate: {}", cert_path.display());
    say!(
        "  private key: {}{}",
        key_path.display(),
        if passphrase.is_some() {
            " (encrypted)"
        } else {
            " (unencrypted, mode 0600)"
        }
    );
    say!(
        "  serial:      {}",
        inkan_pki::serial_hex(&cert.tbs_certificate.serial_number)
    );
    Ok(ExitCode::SUCCESS)
}

/// A PostgreSQL URL (nodes on several hosts share the PKI's records there); SQLite has one host.
fn postgres(url: Option<&str>) -> Option<&str> {
    url.filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// Runs `write` on the installation's database.
fn in_database<F, Fut>(url: &str, write: F) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<dyn inkan_store::Store>) -> Fut,
    Fut: std::future::Future<Output = inkan_store::Result<()>>,
{
    tokio::runtime::Runtime::new()?.block_on(async {
        // Only the PKI's records are written: the audit chain's key is not needed for them.
        let store = inkan_store::open(url, inkan_store::ChainKey::random()).await?;
        write(store).await?;
        Ok(())
    })
}

fn unix_now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn with_suffix(prefix: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn revoke(args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let reason = RevocationReason::parse(&args.reason)?;
    let pki = Pki::open(&args.dir)?;
    let cert = inkan_pki::read_certificate(&args.cert)?;
    let revocation = pki.revoke(&cert, reason)?;
    let serial = inkan_pki::serial_hex(&cert.tbs_certificate.serial_number);
    if let Some(url) = postgres(args.database_url.as_deref()) {
        let (generation, ca) = pki
            .generations()
            .find_map(|g| g.issuer_of(&cert).map(|ca| (g.generation(), ca)))
            .context("the certificate's CA")?;
        let ca = inkan_pki::shared::ca_label(generation, ca);
        let json = inkan_service::revocation_json(&revocation);
        let at = i64::try_from(revocation.revoked_at).unwrap_or(i64::MAX);
        let serial = serial.clone();
        in_database(url, |store| async move {
            store.record_pki_revocation(&ca, &serial, &json, at).await
        })?;
        say!("  データベースにも記録しました / recorded in the database for every node");
    }
    say!(
        "失効しました / revoked: serial {serial} ({})",
        revocation.reason.name()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        let pki = if args.dir.join("pki.toml").exists() {
            Pki::open(&args.dir)?
        } else {
            let host = if address.ip().is_unspecified() {
                std::net::SocketAddr::from(([127, 0, 0, 1], address.port()))
            } else {
                address
            };
            say!(
                "PKI がないため作成します / no PKI in {} yet: creating one for http://{host}",
                args.dir.display()
            );
            Pki::init(
                &args.dir,
                InitOptions {
                    base_url: format!("http://{host}"),
                    org: "Inkan".into(),
                    keys: KeyBackendConfig::File {
                        kek_file: PathBuf::from("keys/kek.bin"),
                    },
                    tsa_policy: None,
                    tsa_lifetime: None,
                },
            )?
        };
        let pki = Arc::new(pki);
        // The service certificates (TSA, OCSP responder, witness) are renewed 30 days before
        // they end: now, and every six hours while serving (the endpoints pick them up).
        let renewer = tokio::spawn(renew_service_certificates(pki.clone()));
        // Tests and scripts read this first line to learn the port.
        say!("listening on http://{address}");
        say!(
            "  OCSP  http://{address}/ocsp\n  TSA   http://{address}/tsa\n  CRL   http://{address}/crl/issuing-ca.crl\n  trust anchor: {}",
            args.dir.join("root.pem").display()
        );
        use std::io::Write;
        std::io::stdout().flush().ok();
        let outcome = tokio::select! {
            result = inkan_pki::server::serve(pki, listener) => result.map_err(anyhow::Error::from),
            _ = tokio::signal::ctrl_c() => Ok(()),
        };
        renewer.abort();
        outcome
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Renews the service certificates that end within 30 days, every six hours.
async fn renew_service_certificates(pki: Arc<Pki>) {
    loop {
        match pki.renew_service_certificates(std::time::SystemTime::now(), Duration::ZERO) {
            Ok(renewed) => {
                for r in renewed {
                    say!(
                        "{} certificate renewed / {} 証明書を更新しました",
                        r.role.file_stem(),
                        r.role.file_stem()
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "renewing the PKI's service certificates failed"),
        }
        tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    }
}
