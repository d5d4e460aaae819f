//! Where mails go: an SMTP relay, a folder of .eml files, or memory (tests).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::message::encode_key;
use crate::{MailError, OutgoingMail};

/// Sends one mail. Implementations must be safe to call again with the same mail after an error
/// (the job system retries transient failures).
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// The mail transport, as the service's TOML configuration names it:
///
/// ```toml
/// [mail]
/// transport = "smtp"
/// host = "smtp.example.jp"
/// port = 587
/// tls = "starttls"
/// username = "inkan"
/// password = "…"
/// ```
///
/// or `transport = "eml_dir"` with `dir = "/var/lib/inkan/outbox"` (a laptop's default: no mail
/// server needed, every mail can be opened in a mail client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "transport", rename_all = "snake_case")]
pub enum MailConfig {
    Smtp(SmtpConfig),
    EmlDir { dir: PathBuf },
}

impl MailConfig {
    /// The configured mailer.
    pub fn build(&self) -> Result<Arc<dyn Mailer>, MailError> {
        Ok(match self {
            MailConfig::Smtp(config) => Arc::new(SmtpMailer::new(config)?),
            MailConfig::EmlDir { dir } => Arc::new(EmlDirMailer::new(dir)?),
        })
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text (a relay on localhost or a test server only).
    None,
    /// Plain connection upgraded with STARTTLS, which is required: no credentials or mail are
    /// sent if the server does not offer it (port 587 by default).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465 by default).
    Tls,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// An SMTP relay.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 25, 587 or 465 by `tls`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    /// Both or neither of `username` and `password`.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Seconds allowed for connecting and for each SMTP command.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The name sent in EHLO (default: this machine's host name).
    #[serde(default)]
    pub helo_name: Option<String>,
}

fn default_timeout() -> u64 {
    30
}

impl SmtpConfig {
    /// A plain-text relay at `host:port` with no credentials (tests, a local MTA).
    pub fn plain(host: impl Into<String>, port: u16) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: Some(port),
            tls: TlsMode::None,
            username: None,
            password: None,
            timeout_secs: default_timeout(),
            helo_name: None,
        }
    }
}

/// The password stays out of logs.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .field("helo_name", &self.helo_name)
            .finish()
    }
}

/// Sends through an SMTP relay with lettre (one connection per mail).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> Result<SmtpMailer, MailError> {
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_parameters(&config.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port.unwrap_or(config.tls.default_port()))
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (None, None) => {}
            _ => {
                return Err(MailError::Config(
                    "SMTP username and password go together".into(),
                ))
            }
        }
        if let Some(name) = &config.helo_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
        })
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_string())
        .map_err(|e| MailError::Config(format!("TLS for {host}: {e}")))
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = mail.to_message()?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(MailError::from_smtp)
    }
}

/// Writes each mail as an RFC 5322 `.eml` file: `<UTC time>-<encoded key>.eml`.
///
/// The time prefix sorts the folder by sending order; the key makes a retry find and replace
/// the file written by an earlier attempt instead of adding a second copy. Each file is written
/// to a hidden temporary file in the same folder and renamed, so a reader never sees half a mail.
pub struct EmlDirMailer {
    dir: PathBuf,
}

/// `20250821T145900Z`
const STAMP_LEN: usize = 16;

impl EmlDirMailer {
    /// Creates the folder if needed.
    pub fn new(dir: impl AsRef<Path>) -> Result<EmlDirMailer, MailError> {
        std::fs::create_dir_all(dir.as_ref())?;
        Ok(EmlDirMailer {
            dir: dir.as_ref().to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file already written for this key, if any.
    pub fn existing(&self, idempotency_key: &str) -> Result<Option<PathBuf>, MailError> {
        existing(&self.dir, &format!("{}.eml", encode_key(idempotency_key)))
    }
}

fn existing(dir: &Path, suffix: &str) -> Result<Option<PathBuf>, MailError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() > STAMP_LEN
            && name.as_bytes()[STAMP_LEN] == b'-'
            && name.get(STAMP_LEN + 1..) == Some(suffix)
        {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

fn write_eml(dir: &Path, key: &str, bytes: &[u8]) -> Result<PathBuf, MailError> {
    use std::io::Write;
    let suffix = format!("{}.eml", encode_key(key));
    let path = match existing(dir, &suffix)? {
        Some(path) => path,
        None => {
            let now = time::OffsetDateTime::now_utc();
            let stamp = format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                now.year(),
                u8::from(now.month()),
                now.day(),
                now.hour(),
                now.minute(),
                now.second()
            );
            dir.join(format!("{stamp}-{suffix}"))
        }
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".part")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| MailError::Io(e.error))?;
    Ok(path)
}

#[async_trait::async_trait]
impl Mailer for EmlDirMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let bytes = mail.to_bytes()?;
        let dir = self.dir.clone();
        let key = mail.idempotency_key.clone();
        tokio::task::spawn_blocking(move || write_eml(&dir, &key, &bytes))
            .await
            .map_err(|e| MailError::Io(std::io::Error::other(e)))??;
        Ok(())
    }
}

/// Keeps mails in memory, for the tests of the crates that send them.
///
/// Every successful send is recorded, retries included, so a test can see a duplicate.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<OutgoingMail>>,
    failures: Mutex<VecDeque<bool>>,
}

impl MemoryMailer {
    pub fn new() -> MemoryMailer {
        MemoryMailer::default()
    }

    /// Every mail sent so far.
    pub fn all(&self) -> Vec<OutgoingMail> {
        lock(&self.sent).clone()
    }

    /// Every mail sent so far, emptying the record.
    pub fn take(&self) -> Vec<OutgoingMail> {
        std::mem::take(&mut *lock(&self.sent))
    }

    /// Makes the next send fail (queued: call twice for two failures), permanently (like a 550)
    /// or transiently (like a 451), to test retries.
    pub fn fail_next(&self, permanent: bool) {
        lock(&self.failures).push_back(permanent);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves the data intact: keep using it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait::async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        // Build the message as the real transports do, so a bad address fails here too.
        mail.to_message()?;
        if let Some(permanent) = lock(&self.failures).pop_front() {
            return Err(if permanent {
                MailError::Rejected {
                    code: "550".into(),
                    detail: "MemoryMailer: simulated rejection".into(),
                }
            } else {
                MailError::Deferred {
                    code: "451".into(),
                    detail: "MemoryMailer: simulated deferral".into(),
                }
            });
        }
        lock(&self.sent).push(mail.clone());
        Ok(())
    }
}
