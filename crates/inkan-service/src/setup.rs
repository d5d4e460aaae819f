//! Assembling a running service from its configuration: the one place where concrete backends
//! are chosen (SQLite or PostgreSQL, disk or S3, a key file or a PKCS#11 token, the built-in TSA
//! or external ones, SMTP or a folder of .eml files). With no configuration at all everything
//! lives in one data folder and is created on first start, PKI and TSA included.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use inkan_blobs::{BlobConfig, BlobStore, MasterKeyConfig};
use inkan_mail::{MailConfig, SmsConfig};
use inkan_pki::{InitOptions, KeyBackendConfig, Pki};
use serde::Deserialize;
use sha2::Digest;

use crate::{Clock, Inkan, LinkKey, Result, ServiceError, Settings, SigningEngine, SystemClock};

/// The configuration (TOML file and `INKAN_*` environment variables). Every field has a default.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The data folder: database, blobs, keys, PKI, outgoing mail (`./inkan-data`).
    pub data_dir: Option<PathBuf>,
    /// Where to listen (`127.0.0.1:8080`).
    pub listen: Option<String>,
    /// The URL people reach the server at (`http://<listen>`).
    pub public_url: Option<String>,
    /// `sqlite://FILE` (default: `<data_dir>/inkan.db`) or `postgres://…`.
    pub database_url: Option<String>,
    /// Blob storage (default: `<data_dir>/blobs` on disk).
    pub blobs: Option<BlobConfig>,
    /// The master key that wraps every blob's data key (default: `<data_dir>/keys/master.key`).
    pub master_key: Option<MasterKeyConfig>,
    /// Outgoing mail (default: .eml files in `<data_dir>/outbox`).
    pub mail: Option<MailConfig>,
    /// The sender address of emails.
    pub mail_from: Option<String>,
    /// Where SMS codes for signers go (default: text files in `<data_dir>/sms`; `[sms]` with
    /// `transport = "gateway"` for an SMS provider's HTTP gateway).
    pub sms: Option<SmsConfig>,
    /// External RFC 3161 TSAs, tried in order (default: the built-in TSA).
    #[serde(default)]
    pub tsa_urls: Vec<String>,
    /// The PKI folder (default: `<data_dir>/pki`, created on first start).
    pub pki_dir: Option<PathBuf>,
    /// How long a worker holds a job before another may take it over (default 300 s). A worker
    /// that dies mid-job delays that job by this much.
    pub job_lease_seconds: Option<i64>,
    /// Whether the completion email carries the 電子契約締結証明書 as a PDF (default true).
    pub attach_certificate: Option<bool>,
    /// Jobs a worker runs at once (default: twice the number of cores; 1 runs them one by
    /// one).
    pub worker_jobs: Option<usize>,
    /// Public verifications (`/verify`) that may run at once; more get 503 and `Retry-After`
    /// (default 2).
    pub verify_concurrency: Option<usize>,
    /// Reverse proxies in front of Inkan, as CIDR ranges (`["10.0.0.0/8", "::1/128"]`): only
    /// requests from these peers have their client address read from `Forwarded` or
    /// `X-Forwarded-For` (default: none, the peer is the client).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Root certificates (PEM or DER files) trusted besides the installation's own, for signers
    /// who bring their own certificate (実印タイプ): JPKI, 商業登記 based CAs, AATL members.
    #[serde(default)]
    pub trust_anchors: Vec<PathBuf>,
    /// Private, loopback or link-local ranges outbound requests may reach anyway (an internal
    /// TSA or webhook receiver): `["10.20.0.0/16"]`. By default only public addresses, plus the
    /// built-in PKI and the configured TSAs by name.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// Whether webhooks and single sign-on providers may use plain `http://` URLs (default
    /// false: https only).
    pub allow_http_webhooks: Option<bool>,
    /// How often, in hours, each organization's audit chain head is timestamped by the TSA
    /// while entries are added (default 24, at most 24).
    pub audit_anchor_hours: Option<u32>,
    /// How many days before the proof of a sealed document (its newest timestamp's TSA
    /// certificate, or a CA above it) ends, the document gets a new archive timestamp
    /// (default 365). The built-in TSA's certificate is renewed that long and 30 days more
    /// before it ends, so a new timestamp always outlasts the window.
    pub archive_renewal_days: Option<u32>,
    /// Backups: destination, key, retention, schedule (`[backup]`; default: a set every day
    /// after 03:00 JST in `<data_dir>/backups`, 7 daily, 12 monthly, 10 yearly).
    pub backup: Option<crate::backup::BackupConfig>,
    /// A bearer token that opens `/metrics` to Prometheus on another host
    /// (`INKAN_METRICS_TOKEN`; without it, `/metrics` answers loopback clients only).
    pub metrics_token: Option<String>,
    /// The installation operator's bearer token, which enables `POST /api/v1/organizations`
    /// for provisioning (`INKAN_OPERATOR_TOKEN`; at least 16 characters; without it, no
    /// organization is created over the API).
    pub operator_token: Option<String>,
    /// The TrueType font every drawing uses (stamps, appearances, the 締結証明書, page images)
    /// (`INKAN_FONT`; without it, IPAexGothic from Debian's fonts-ipaexfont-gothic).
    pub font: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads a TOML file (if given), then applies `INKAN_DATA_DIR`, `INKAN_LISTEN`,
    /// `INKAN_PUBLIC_URL`, `INKAN_DATABASE_URL`, `INKAN_MAIL_FROM`, `INKAN_TSA_URLS`,
    /// `INKAN_TRUSTED_PROXIES`, `INKAN_ALLOWED_NETWORKS` (comma-separated),
    /// `INKAN_JOB_LEASE_SECONDS`, `INKAN_METRICS_TOKEN`, `INKAN_OPERATOR_TOKEN` and `INKAN_FONT` from the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ServiceError::Invalid(format!("reading {}: {e}", path.display()))
                })?;
                toml::from_str(&text)
                    .map_err(|e| ServiceError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = env("INKAN_DATA_DIR") {
            config.data_dir = Some(v.into());
        }
        if let Some(v) = env("INKAN_LISTEN") {
            config.listen = Some(v);
        }
        if let Some(v) = env("INKAN_PUBLIC_URL") {
            config.public_url = Some(v);
        }
        if let Some(v) = env("INKAN_DATABASE_URL") {
            config.database_url = Some(v);
        }
        if let Some(v) = env("INKAN_MAIL_FROM") {
            config.mail_from = Some(v);
        }
        if let Some(v) = env("INKAN_JOB_LEASE_SECONDS") {
            config.job_lease_seconds = Some(v.parse().map_err(|_| {
                ServiceError::Invalid(format!(
                    "INKAN_JOB_LEASE_SECONDS={v:?} is not a number of seconds"
                ))
            })?);
        }
        if let Some(v) = env("INKAN_WORKER_JOBS") {
            config.worker_jobs = Some(v.parse().map_err(|_| {
                ServiceError::Invalid(format!("INKAN_WORKER_JOBS={v:?} is not a number of jobs"))
            })?);
        }
        if let Some(v) = env("INKAN_TRUSTED_PROXIES") {
            config.trusted_proxies = comma_list(&v);
        }
        if let Some(v) = env("INKAN_ALLOWED_NETWORKS") {
            config.allowed_networks = comma_list(&v);
        }
        if let Some(v) = env("INKAN_TSA_URLS") {
            config.tsa_urls = comma_list(&v);
        }
        if let Some(v) = env("INKAN_METRICS_TOKEN") {
            config.metrics_token = Some(v);
        }
        if let Some(v) = env("INKAN_OPERATOR_TOKEN") {
            config.operator_token = Some(v);
        }
        if let Some(v) = env(inkan_domain::font::FONT_VARIABLE) {
            config.font = Some(v.into());
        }
        Ok(config)
    }

    /// The operator token, checked: 16 characters or more (a shorter one is refused with the
    /// reason, not silently ignored).
    pub fn operator_token(&self) -> Result<Option<String>> {
        match self.operator_token.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if t.chars().count() < 16 => Err(ServiceError::Invalid(
                "operator_token (INKAN_OPERATOR_TOKEN): 16 文字以上にしてください / use at least 16 characters".into(),
            )),
            Some(t) => Ok(Some(t.to_string())),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("inkan-data"))
    }

    pub fn listen(&self) -> String {
        self.listen
            .clone()
            .unwrap_or_else(|| "127.0.0.1:8080".into())
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen()))
            .trim_end_matches('/')
            .to_string()
    }

    /// The trusted proxies, parsed (`10.0.0.1` alone means `10.0.0.1/32`).
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>> {
        networks("trusted_proxies", &self.trusted_proxies)
    }

    /// The egress policy of every outbound request: public addresses, the ranges in
    /// `allowed_networks`, and by name the built-in PKI at `pki_base_url` and the configured
    /// TSAs.
    pub fn egress(&self, pki_base_url: &str) -> Result<inkan_pki::egress::Egress> {
        let mut origins = vec![pki_base_url.to_string()];
        origins.extend(self.tsa_urls.iter().cloned());
        Ok(inkan_pki::egress::Egress::restricted(
            networks("allowed_networks", &self.allowed_networks)?,
            origins,
        ))
    }

    /// The master key (default: the file `<data_dir>/keys/master.key`).
    pub fn master_key(&self) -> MasterKeyConfig {
        self.master_key.clone().unwrap_or(MasterKeyConfig::File {
            path: self.data_dir().join("keys").join("master.key"),
        })
    }

    /// The blob store (default: the folder `<data_dir>/blobs`).
    pub fn blobs(&self) -> BlobConfig {
        self.blobs.clone().unwrap_or(BlobConfig::Filesystem {
            root: self.data_dir().join("blobs"),
        })
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir().join("inkan.db").display()))
    }
}

/// `a, b,c` as `["a", "b", "c"]`.
fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Addresses or CIDR ranges (`10.0.0.1` alone means `10.0.0.1/32`).
fn networks(setting: &str, values: &[String]) -> Result<Vec<ipnet::IpNet>> {
    values
        .iter()
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ServiceError::Invalid(format!(
                        "{setting}: {s:?} is not an address or a CIDR range (10.0.0.0/8)"
                    ))
                })
        })
        .collect()
}

/// The certificates of the `trust_anchors` files.
fn trust_anchors(files: &[PathBuf]) -> Result<Vec<x509_cert::Certificate>> {
    let mut roots = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| {
            ServiceError::Invalid(format!("trust_anchors: reading {}: {e}", file.display()))
        })?;
        roots.extend(inkan_pki::x509::from_pem_or_der(&bytes).map_err(|e| {
            ServiceError::Invalid(format!("trust_anchors: {}: {e}", file.display()))
        })?);
    }
    Ok(roots)
}

/// A service assembled from its configuration.
pub struct Assembled {
    pub inkan: Inkan,
    pub pki: Arc<Pki>,
    pub config: Config,
}

/// Opens (creating on first start) everything the configuration names.
pub async fn assemble(config: Config, clock: Arc<dyn Clock>) -> Result<Assembled> {
    let data = config.data_dir();
    keep_files_private(&data)?;
    let public_url = config.public_url();
    if let Some(font) = &config.font {
        inkan_domain::font::choose(font.clone());
    }

    let pki_dir = config.pki_dir.clone().unwrap_or_else(|| data.join("pki"));
    let pki = if pki_dir.join("pki.toml").exists() {
        Pki::open(&pki_dir)
    } else {
        Pki::init(
            &pki_dir,
            InitOptions {
                base_url: format!("{public_url}/pki"),
                org: "Inkan".into(),
                keys: KeyBackendConfig::File {
                    kek_file: PathBuf::from("keys/kek.bin"),
                },
                tsa_policy: None,
                tsa_lifetime: None,
            },
        )
    }
    .map_err(|e| ServiceError::failed(format!("the PKI in {}", pki_dir.display()), e))?;
    let pki = Arc::new(pki);

    let store = open_store(&config).await?;
    let master = config
        .master_key()
        .open()
        .map_err(|e| ServiceError::failed("the master key", e))?;
    let blobs = Arc::new(BlobStore::open(&config.blobs(), master)?);
    let mailer = config
        .mail
        .clone()
        .unwrap_or(MailConfig::EmlDir {
            dir: data.join("outbox"),
        })
        .build()
        .map_err(|e| ServiceError::failed("mail", e))?;
    let sms = config
        .sms
        .clone()
        .unwrap_or(SmsConfig::Folder {
            dir: data.join("sms"),
        })
        .build()
        .map_err(|e| ServiceError::failed("SMS", e))?;
    let egress = config.egress(&pki.config().base_url)?;
    let engine = Arc::new(
        SigningEngine::new(
            pki.clone(),
            config.tsa_urls.clone(),
            data.join("tmp"),
            egress.clone(),
        )?
        .with_trust_anchors(trust_anchors(&config.trust_anchors)?)
        .with_issued_records((store.backend() == "postgres").then(|| store.clone())),
    );
    let links = LinkKey::load_or_create(&data.join("keys").join("links.key"))?;
    let mut settings = Settings::new(&public_url);
    if let Some(from) = &config.mail_from {
        settings.mail_from = from.clone();
    }
    if let Some(lease) = config.job_lease_seconds {
        settings.job_lease_seconds = lease.clamp(1, 86_400);
    }
    if let Some(jobs) = config.worker_jobs {
        settings.worker_jobs = jobs.clamp(1, 256);
    }
    if let Some(attach) = config.attach_certificate {
        settings.attach_certificate = attach;
    }
    settings.trusted_proxies = config.trusted_proxies()?;
    // An organization's own endpoints (webhooks, its OpenID provider): https only, unless the
    // operator allows plain http (a provider on the internal network, the tests).
    settings.webhook_egress = if config.allow_http_webhooks.unwrap_or(false) {
        egress
    } else {
        egress.https_only()
    };
    settings.sso_egress = settings.webhook_egress.clone();
    if let Some(n) = config.verify_concurrency {
        settings.verify_concurrency = n.clamp(1, 64);
    }
    if let Some(days) = config.archive_renewal_days {
        settings.archive_renewal_seconds = i64::from(days.clamp(1, 3650)) * 86_400;
    }
    if let Some(hours) = config.audit_anchor_hours {
        settings.audit_anchor_seconds = i64::from(hours.clamp(1, 24)) * 3600;
    }
    if let Some(token) = config.metrics_token.as_deref().map(str::trim) {
        if token.len() < 16 {
            return Err(ServiceError::Invalid(
                "metrics_token: 16 文字以上にしてください / use at least 16 characters".into(),
            ));
        }
        settings.metrics_token_sha256 = Some(sha2::Sha256::digest(token.as_bytes()).into());
    }
    check_installation_keys(&*store, &data.join("keys"), clock.now()).await?;
    let inkan = Inkan::new(store, blobs, mailer, engine, links, clock, settings).with_sms(sms);
    Ok(Assembled { inkan, pki, config })
}

/// The keys every node of an installation must share, by file name in `keys/`.
const SHARED_KEYS: [&str; 2] = ["links.key", "audit.key"];

/// Refuses to start a node whose link or audit-chain key is not the installation's: one that
/// created its own (its `keys/` was not copied from the first node, or was lost) would mail
/// links no other node opens and write audit entries no chain check accepts. The first node to
/// start records a fingerprint of each (a hash that reveals nothing of the key).
async fn check_installation_keys(
    store: &dyn inkan_store::Store,
    keys: &Path,
    now: i64,
) -> Result<()> {
    for name in SHARED_KEYS {
        let path = keys.join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| ServiceError::failed(path.display().to_string(), e))?;
        let mut hash = sha2::Sha256::new();
        hash.update(format!("inkan-key-fingerprint-v1|{name}|").as_bytes());
        hash.update(&bytes);
        let mine = hex::encode(&hash.finalize()[..16]);
        let recorded = store.claim_key_fingerprint(name, &mine, now).await?;
        if recorded != mine {
            return Err(ServiceError::Invalid(format!(
                "このノードの鍵 {} はこのインストールの鍵と異なります。最初のノードの keys/ フォルダをこのノードにコピーしてから起動してください \
                 (this node's {} is not the installation's: copy the keys/ folder of the first node here; a node must never create its own)",
                path.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// The database, with the audit chains keyed by the installation's chain key.
pub async fn open_store(config: &Config) -> Result<Arc<dyn inkan_store::Store>> {
    let key = crate::secrets::audit_chain_key(&config.data_dir().join("keys").join("audit.key"))?;
    Ok(inkan_store::open(&config.database_url(), key).await?)
}

/// Everything under the data folder is the service's alone, whatever umask it was started with:
/// the process umask becomes 077, so every database, key, blob and mail file created from now
/// on is 0600 and every folder 0700; the data folder itself, its `keys/` and the SQLite files
/// of an older installation are set so too.
fn keep_files_private(data: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let failed = |path: &Path, e: std::io::Error| {
        ServiceError::failed(format!("making {} private", path.display()), e)
    };
    std::fs::create_dir_all(data).map_err(|e| failed(data, e))?;
    let mut private = vec![(data.to_path_buf(), 0o700)];
    let keys = data.join("keys");
    if let Ok(entries) = std::fs::read_dir(&keys) {
        private.push((keys, 0o700));
        private.extend(entries.filter_map(|e| e.ok()).map(|e| (e.path(), 0o600)));
    }
    for db in ["inkan.db", "inkan.db-wal", "inkan.db-shm"] {
        let path = data.join(db);
        if path.exists() {
            private.push((path, 0o600));
        }
    }
    for (path, mode) in private {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| failed(&path, e))?;
    }
    Ok(())
}

/// The real clock.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_full_toml_file_reads_and_a_misspelt_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inkan.toml");
        std::fs::write(
            &file,
            r#"
data_dir = "/var/lib/inkan"
listen = "0.0.0.0:8080"
public_url = "https://keiyaku.example.jp/"
database_url = "postgres://inkan@db/inkan"
tsa_urls = ["https://tsa.example.jp/tsa"]
job_lease_seconds = 120
[blobs]
kind = "filesystem"
root = "/srv/blobs"
[master_key]
kind = "file"
path = "/etc/inkan/master.key"
[mail]
transport = "eml_dir"
dir = "/var/spool/inkan"
[sms]
transport = "gateway"
url = "https://sms.example.jp/v1/messages"
token = "gateway-token"
"#,
        )
        .unwrap();
        let config = Config::load(Some(&file)).unwrap();
        assert_eq!(config.public_url(), "https://keiyaku.example.jp");
        assert_eq!(config.database_url(), "postgres://inkan@db/inkan");
        assert_eq!(config.job_lease_seconds, Some(120));
        assert_eq!(config.tsa_urls.len(), 1);
        assert!(matches!(config.sms, Some(SmsConfig::Gateway { .. })));

        std::fs::write(&file, "data_dri = \"x\"\n").unwrap();
        let err = Config::load(Some(&file)).err().unwrap().to_string();
        assert!(err.contains("data_dri"), "{err}");
    }

    #[test]
    fn with_nothing_configured_everything_lives_in_inkan_data() {
        let config = Config::default();
        assert_eq!(config.data_dir(), PathBuf::from("inkan-data"));
        assert_eq!(config.public_url(), "http://127.0.0.1:8080");
        assert_eq!(config.database_url(), "sqlite://inkan-data/inkan.db");
    }

    #[test]
    fn the_operator_token_is_long_enough_or_refused() {
        let with = |token: Option<&str>| Config {
            operator_token: token.map(str::to_string),
            ..Config::default()
        };
        assert_eq!(with(None).operator_token().unwrap(), None);
        assert_eq!(with(Some("  ")).operator_token().unwrap(), None);
        let err = with(Some("short-token")).operator_token().unwrap_err();
        assert!(err.to_string().contains("16"), "{err}");
        assert_eq!(
            with(Some(" operator-token-0123456789 "))
                .operator_token()
                .unwrap(),
            Some("operator-token-0123456789".into())
        );
    }
}
