//! SMS: where text messages go, like the mail transports — a folder of messages (a laptop's
//! default: nothing to configure, every message can be read), an HTTP gateway of an SMS
//! provider, or memory (tests).
//!
//! A message is one SMS segment: at most [`MAX_SMS_CHARS`] characters, since Japanese text is
//! sent in UCS-2, whose single segment holds 70; a longer text is refused rather than split.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inkan_domain::PhoneNumber;
use serde::{Deserialize, Serialize};

/// The characters of one SMS segment in UCS-2 (any Japanese text).
pub const MAX_SMS_CHARS: usize = 70;

/// One text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    to: PhoneNumber,
    text: String,
    idempotency_key: String,
}

impl Sms {
    /// A message to `to`; refused when `text` does not fit one segment. `idempotency_key`
    /// makes a retried send the same message (the same file, the gateway's same request).
    pub fn new(to: PhoneNumber, text: &str, idempotency_key: &str) -> Result<Sms, SmsError> {
        let chars = text.chars().count();
        if chars > MAX_SMS_CHARS {
            return Err(SmsError::TooLong(chars));
        }
        if idempotency_key.is_empty()
            || !idempotency_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(SmsError::Build(format!(
                "an idempotency key is letters, digits and hyphens: {idempotency_key:?}"
            )));
        }
        Ok(Sms {
            to,
            text: text.to_string(),
            idempotency_key: idempotency_key.to_string(),
        })
    }

    pub fn to(&self) -> &PhoneNumber {
        &self.to
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }
}

/// Why a message was not sent; [`SmsError::is_permanent`] tells the job system whether to retry.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("an SMS holds at most {MAX_SMS_CHARS} characters; this one has {0}")]
    TooLong(usize),
    #[error("cannot build the SMS: {0}")]
    Build(String),
    /// The gateway refused the message (4xx): sending it again cannot help.
    #[error("the SMS gateway refused the message (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
    /// The gateway failed or could not be reached: try again later.
    #[error("the SMS gateway is unavailable: {0}")]
    Unavailable(String),
    #[error("cannot write the SMS: {0}")]
    Io(#[from] std::io::Error),
}

impl SmsError {
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SmsError::TooLong(_) | SmsError::Build(_) | SmsError::Rejected { .. }
        )
    }
}

/// Sends one message. Safe to call again with the same message after an error.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, sms: &Sms) -> Result<(), SmsError>;
}

/// The SMS transport, as the configuration names it:
///
/// ```toml
/// [sms]
/// transport = "gateway"
/// url = "https://sms.example.jp/v1/messages"
/// token = "…"        # sent as `Authorization: Bearer …`
/// sender = "INKAN"   # optional: the sender ID the gateway shows
/// ```
///
/// or `transport = "folder"` with `dir = "/var/lib/inkan/sms"` (the default, under the data
/// folder).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "transport", rename_all = "snake_case")]
pub enum SmsConfig {
    Folder {
        dir: PathBuf,
    },
    Gateway {
        url: String,
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        sender: Option<String>,
    },
}

impl std::fmt::Debug for SmsConfig {
    // The gateway's token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsConfig::Folder { dir } => f.debug_struct("Folder").field("dir", dir).finish(),
            SmsConfig::Gateway { url, sender, .. } => f
                .debug_struct("Gateway")
                .field("url", url)
                .field("sender", sender)
                .finish_non_exhaustive(),
        }
    }
}

impl SmsConfig {
    /// The configured sender.
    pub fn build(&self) -> Result<Arc<dyn SmsSender>, SmsError> {
        Ok(match self {
            SmsConfig::Folder { dir } => Arc::new(FolderSms::new(dir)?),
            SmsConfig::Gateway { url, token, sender } => {
                Arc::new(GatewaySms::new(url, token.clone(), sender.clone())?)
            }
        })
    }
}

/// Writes each message as a text file (`<key>.sms`: a `To:` line, a blank line, the text).
#[derive(Debug)]
pub struct FolderSms {
    dir: PathBuf,
}

impl FolderSms {
    pub fn new(dir: &Path) -> Result<FolderSms, SmsError> {
        std::fs::create_dir_all(dir)?;
        Ok(FolderSms {
            dir: dir.to_path_buf(),
        })
    }

    /// Every message in the folder, as (number, text), oldest file name first.
    pub fn read_all(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sms"))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for path in names {
            let body = std::fs::read_to_string(&path)?;
            if let Some((head, text)) = body.split_once("\n\n") {
                let to = head.trim_start_matches("To: ").trim().to_string();
                out.push((to, text.trim_end_matches('\n').to_string()));
            }
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl SmsSender for FolderSms {
    async fn send(&self, sms: &Sms) -> Result<(), SmsError> {
        let dir = self.dir.clone();
        let name = format!("{}.sms", sms.idempotency_key);
        let body = format!("To: {}\n\n{}\n", sms.to, sms.text);
        tokio::task::spawn_blocking(move || -> Result<(), SmsError> {
            use std::io::Write;
            let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
            tmp.write_all(body.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(dir.join(name)).map_err(|e| e.error)?;
            Ok(())
        })
        .await
        .map_err(|e| SmsError::Io(std::io::Error::other(e)))?
    }
}

/// An SMS provider's HTTP gateway: `POST <url>` with the JSON body
/// `{"to": "+819012345678", "text": "…", "from": "INKAN"}`, an `Idempotency-Key` header and the
/// token as a bearer credential. 2xx: sent; 4xx (but 408 and 429): refused for good; anything
/// else: retried later.
pub struct GatewaySms {
    url: reqwest::Url,
    token: Option<String>,
    sender: Option<String>,
    client: reqwest::Client,
}

impl GatewaySms {
    pub fn new(
        url: &str,
        token: Option<String>,
        sender: Option<String>,
    ) -> Result<GatewaySms, SmsError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| SmsError::Build(format!("the SMS gateway's URL {url:?}: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(SmsError::Build(format!(
                "the SMS gateway's URL must be https (or http on this machine): {url}"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Build(e.to_string()))?;
        Ok(GatewaySms {
            url,
            token,
            sender,
            client,
        })
    }
}

#[derive(Serialize)]
struct GatewayRequest<'a> {
    to: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
}

#[async_trait::async_trait]
impl SmsSender for GatewaySms {
    async fn send(&self, sms: &Sms) -> Result<(), SmsError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", &sms.idempotency_key)
            .json(&GatewayRequest {
                to: sms.to.as_str(),
                text: &sms.text,
                from: self.sender.as_deref(),
            });
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| SmsError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // What the gateway said, short: it may echo the message, which holds a code.
        let detail: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .take(200)
            .collect();
        let code = status.as_u16();
        if status.is_client_error() && code != 408 && code != 429 {
            Err(SmsError::Rejected {
                status: code,
                detail,
            })
        } else {
            Err(SmsError::Unavailable(format!("HTTP {code}: {detail}")))
        }
    }
}

/// Keeps messages in memory (tests); can be told to fail.
#[derive(Debug, Default)]
pub struct MemorySms {
    sent: Mutex<Vec<Sms>>,
    failures: Mutex<VecDeque<bool>>,
}

impl MemorySms {
    pub fn new() -> MemorySms {
        MemorySms::default()
    }

    /// Every message sent so far.
    pub fn all(&self) -> Vec<Sms> {
        lock(&self.sent).clone()
    }

    /// Makes the next send fail, permanently or not.
    pub fn fail_next(&self, permanent: bool) {
        lock(&self.failures).push_back(permanent);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait::async_trait]
impl SmsSender for MemorySms {
    async fn send(&self, sms: &Sms) -> Result<(), SmsError> {
        if let Some(permanent) = lock(&self.failures).pop_front() {
            return Err(if permanent {
                SmsError::Rejected {
                    status: 400,
                    detail: "MemorySms: simulated refusal".into(),
                }
            } else {
                SmsError::Unavailable("MemorySms: simulated outage".into())
            });
        }
        lock(&self.sent).push(sms.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("090-1234-5678").unwrap()
    }

    #[test]
    fn a_message_fits_one_segment() {
        assert!(Sms::new(phone(), &"あ".repeat(70), "k1").is_ok());
        let e = Sms::new(phone(), &"あ".repeat(71), "k1").unwrap_err();
        assert!(matches!(e, SmsError::TooLong(71)) && e.is_permanent());
        assert!(Sms::new(phone(), "x", "../etc").is_err());
    }

    #[tokio::test]
    async fn the_folder_keeps_one_file_per_message_and_a_retry_rewrites_it() {
        let dir = tempfile::tempdir().unwrap();
        let folder = FolderSms::new(dir.path()).unwrap();
        let sms = Sms::new(phone(), "認証コード 123456", "job-1").unwrap();
        folder.send(&sms).await.unwrap();
        folder.send(&sms).await.unwrap();
        let all = FolderSms::read_all(dir.path()).unwrap();
        assert_eq!(
            all,
            vec![("+819012345678".to_string(), "認証コード 123456".to_string())]
        );
    }

    #[tokio::test]
    async fn the_gateway_posts_json_and_sorts_refusals_from_outages() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A gateway on loopback answering 202, then 400, then 503.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/messages", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut requests = Vec::new();
            for status in ["202 Accepted", "400 Bad Request", "503 Service Unavailable"] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = socket.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                requests.push(String::from_utf8(buf).unwrap());
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: 12\r\nconnection: close\r\n\r\nbad code 123"
                );
                socket.write_all(reply.as_bytes()).await.unwrap();
            }
            requests
        });
        let gateway =
            GatewaySms::new(&url, Some("secret-token".into()), Some("INKAN".into())).unwrap();
        let sms = Sms::new(phone(), "認証コード 123456", "job-7").unwrap();
        gateway.send(&sms).await.unwrap();
        let refused = gateway.send(&sms).await.unwrap_err();
        assert!(refused.is_permanent(), "{refused}");
        // The gateway's words are kept, without digits (they may echo the code).
        assert!(!refused.to_string().contains("123"), "{refused}");
        let outage = gateway.send(&sms).await.unwrap_err();
        assert!(!outage.is_permanent(), "{outage}");
        let requests = server.await.unwrap();
        let first = &requests[0];
        assert!(first.starts_with("POST /v1/messages "), "{first}");
        let lower = first.to_ascii_lowercase();
        assert!(
            lower.contains("authorization: bearer secret-token"),
            "{first}"
        );
        assert!(lower.contains("idempotency-key: job-7"), "{first}");
        let body = first.split_once("\r\n\r\n").unwrap().1;
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["to"], "+819012345678");
        assert_eq!(json["text"], "認証コード 123456");
        assert_eq!(json["from"], "INKAN");
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let config = SmsConfig::Gateway {
            url: "https://sms.example.jp/".into(),
            token: Some("top-secret".into()),
            sender: None,
        };
        assert!(!format!("{config:?}").contains("top-secret"));
    }
}
