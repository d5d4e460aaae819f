//! `inkan serve` as a child process on a free port with its own data folder, and a small client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

pub const OPERATOR_TOKEN: &str = "operator-token-for-tests-0123456789";

/// A running `inkan serve`, killed (SIGKILL) when dropped or on `kill()`.
pub struct Serve {
    child: Child,
    pub data: PathBuf,
    pub base: String,
    pub port: u16,
}

impl Serve {
    pub fn start(data: &Path, port: u16) -> Serve {
        Serve::start_with(data, port, &[])
    }

    /// [`Serve::start`] with more environment variables (a second node, trusted proxies …).
    pub fn start_with(data: &Path, port: u16, env: &[(&str, &str)]) -> Serve {
        let mut child = super::inkan()
            .arg("serve")
            .envs(env.iter().copied())
            .env("INKAN_DATA_DIR", data)
            .env("INKAN_LISTEN", format!("127.0.0.1:{port}"))
            .env("INKAN_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("INKAN_JOB_LEASE_SECONDS", "3")
            .env("INKAN_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.contains("listening on http://127.0.0.1:"), "{line}");
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Serve {
            child,
            data: data.to_path_buf(),
            base: format!("http://127.0.0.1:{port}"),
            port,
        }
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far (`VmHWM`), in MB.
    pub fn peak_rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb / 1024
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Every mail in the outbox as (to, subject, text), oldest first.
    pub fn outbox(&self) -> Vec<(String, String, String)> {
        let mut files: Vec<_> = std::fs::read_dir(self.data.join("outbox"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p: &PathBuf| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap();
                let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                let to = m
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_string();
                (
                    to,
                    m.subject().unwrap_or_default().to_string(),
                    m.body_text(0).unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The token of the newest `/{prefix}/<token>` link mailed to `to`, waiting for the mail.
    pub async fn link_token(&self, to: &str, prefix: &str) -> String {
        let marker = format!("{}/{prefix}/", self.base);
        for _ in 0..600 {
            let found = self
                .outbox()
                .into_iter()
                .rev()
                .filter(|m| m.0 == to)
                .find_map(|m| {
                    let start = m.2.find(&marker)? + marker.len();
                    Some(
                        m.2[start..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                            .collect::<String>(),
                    )
                });
            if let Some(token) = found {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "no /{prefix}/ link was mailed to {to}: {:#?}",
            self.outbox()
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON call that must succeed; returns the body.
pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    key: Option<&str>,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut request = client
        .request(method.clone(), url)
        .header("user-agent", "inkan-e2e/1.0");
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {url}: {status}\n{text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}
