//! A real server on a loopback port: a whole service assembled on a temporary data folder
//! (SQLite, the built-in PKI and TSA, mail as .eml files), its router served with connect info,
//! and a reqwest client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use inkan_service::setup::{assemble, system_clock, Config};
use inkan_service::Inkan;
use inkan_web::AppState;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

pub const OPERATOR: &str = "operator-secret-for-tests-0123456789";
pub const USER_AGENT: &str = "inkan-web-test/1.0 (テスト)";

pub struct TestApp {
    pub url: String,
    pub inkan: Inkan,
    pub pki: Arc<inkan_pki::Pki>,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
}

async fn spawn(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    url
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with_clock(system_clock()).await
    }

    /// A server whose service reads time from `clock` (tests move it forward).
    pub async fn start_with_clock(clock: Arc<dyn inkan_service::Clock>) -> TestApp {
        TestApp::start_configured(clock, |_| {}).await
    }

    /// A server whose configuration `configure` changes first (trusted proxies …).
    pub async fn start_configured(
        clock: Arc<dyn inkan_service::Clock>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        // Bind first: the PKI's certificates carry the server's URL.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            data_dir: Some(data.path().to_path_buf()),
            public_url: Some(url.clone()),
            ..Config::default()
        };
        configure(&mut config);
        let assembled = assemble(config, clock).await.unwrap();
        let state = AppState::new(
            assembled.inkan.clone(),
            assembled.pki.clone(),
            Some(OPERATOR.into()),
        );
        let router = inkan_web::router(state).unwrap();
        tokio::spawn(async move {
            inkan_web::serve(listener, router).await.unwrap();
        });
        TestApp {
            url,
            inkan: assembled.inkan,
            pki: assembled.pki,
            data,
            client: reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .build()
                .unwrap(),
        }
    }

    /// The same service behind a second server with another operator token setting.
    pub async fn another_server(&self, operator_token: Option<String>) -> String {
        let state = AppState::new(self.inkan.clone(), self.pki.clone(), operator_token);
        spawn(inkan_web::router(state).unwrap()).await
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(format!("{}{path}", self.url))
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(format!("{}{path}", self.url))
    }

    /// A new organization through the API; its admin's API key.
    pub async fn organization(&self, name: &str, email: &str) -> String {
        let r = self
            .post("/api/v1/organizations")
            .bearer_auth(OPERATOR)
            .json(&json!({ "name": name, "admin_name": "管理 太郎", "admin_email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        body["api_key"].as_str().unwrap().to_string()
    }

    /// Creates a draft envelope with one document (and one sender attachment); its JSON.
    pub async fn envelope(&self, key: &str, title: &str, signer: &str) -> Value {
        let r = self
            .post("/api/v1/envelopes")
            .bearer_auth(key)
            .json(&new_envelope(title, signer))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Sends envelope `id`, runs the jobs, and returns the token of `to`'s signer link.
    pub async fn send_for_link(&self, key: &str, id: &str, to: &str) -> String {
        let r = self
            .post(&format!("/api/v1/envelopes/{id}/send"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        self.drain().await;
        self.link_token(to, "s")
    }

    /// A one-signer envelope sent, signed by `signer` and sealed (with its certificate of
    /// conclusion); its ID.
    pub async fn concluded(&self, key: &str, title: &str, signer: &str) -> String {
        let id = self.envelope(key, title, signer).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let token = self.send_for_link(key, &id, signer).await;
        let r = self
            .post(&format!("/api/v1/sign/{token}/complete"))
            .json(&json!({ "values": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        self.drain().await;
        id
    }

    /// The body of an authenticated GET that must answer 200.
    pub async fn bytes(&self, key: &str, path: &str) -> Vec<u8> {
        let r = self.get(path).bearer_auth(key).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().await.unwrap().to_vec()
    }

    /// The six-digit code of the last 確認コード mail to `to`.
    pub fn mailed_code(&self, to: &str) -> String {
        self.mails_to(to)
            .into_iter()
            .rev()
            .find_map(|(subject, _)| {
                subject
                    .contains("確認コード")
                    .then(|| subject.chars().filter(|c| c.is_ascii_digit()).collect())
            })
            .unwrap_or_else(|| panic!("no code mailed to {to}"))
    }

    /// (subject, plain text) of every mail to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<(String, String)> {
        let dir = self.data.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .filter_map(|p| {
                let bytes = std::fs::read(p).unwrap();
                let message = mail_parser::MessageParser::default().parse(&bytes)?;
                let addressed = message
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .is_some_and(|a| a == to);
                addressed.then(|| {
                    (
                        message.subject().unwrap_or_default().to_string(),
                        message.body_text(0).unwrap_or_default().to_string(),
                    )
                })
            })
            .collect()
    }

    pub async fn drain(&self) {
        self.inkan.worker().drain().await.unwrap();
    }

    /// The token of the last `/{prefix}/<token>` link mailed to `to`.
    pub fn link_token(&self, to: &str, prefix: &str) -> String {
        let marker = format!("{}/{prefix}/", self.url);
        self.mails_to(to)
            .into_iter()
            .rev()
            .find_map(|(_, text)| {
                let start = text.find(&marker)? + marker.len();
                Some(
                    text[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect(),
                )
            })
            .unwrap_or_else(|| panic!("no /{prefix}/ link mailed to {to}"))
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn pdf() -> Vec<u8> {
    inkan_testkit::validators::sample_pdf(1)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A one-signer envelope: 業務委託契約書.pdf with 電帳法 metadata, and a sender attachment.
pub fn new_envelope(title: &str, signer: &str) -> Value {
    json!({
        "number": "R8-契約-0001",
        "title": title,
        "message": "ご確認のうえ署名をお願いします。",
        "deadline": now() + 7 * 86_400,
        "recipients": [
            { "key": "vendor", "name": "山田太郎", "email": signer, "role": "signer" }
        ],
        "documents": [{
            "name": "業務委託契約書.pdf",
            "content_base64": b64(&pdf()),
            "metadata": { "date": "2026-04-01", "amount": "1,234,567円", "counterparty": "株式会社盛岡清掃" }
        }],
        "attachments": [{ "name": "納付書.pdf", "content_base64": b64(&pdf()) }]
    })
}

pub fn counterparty() -> Value {
    json!({
        "address": "岩手県盛岡市内丸1-1",
        "trade_name": "株式会社盛岡清掃",
        "representative": "代表取締役 山田一郎",
        "signatory_title": "代表取締役",
        "signatory_name": "山田太郎",
        "signatory_email": "taro.yamada@seisou.example.co.jp",
        "clerk_phone": "019-000-0000"
    })
}

/// The JSON error of a response, checking its status.
pub async fn error_of(r: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(r.status(), status, "{:?}", r.headers());
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let body: Value = r.json().await.unwrap();
    (
        body["error"]["code"].as_str().unwrap().to_string(),
        body["error"]["message"].as_str().unwrap().to_string(),
    )
}

/// The administrator's login of [`TestApp::organization_with_login`].
pub const ADMIN: &str = "keiyaku@city.morioka.example.jp";
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// 盛岡市 財政部契約検査課 whose administrator logs in with [`ADMIN`] and [`PASSWORD`]; the
    /// organization's API key.
    pub async fn organization_with_login(&self) -> String {
        let r = self
            .post("/api/v1/organizations")
            .bearer_auth(OPERATOR)
            .json(&json!({
                "name": "盛岡市", "department": "財政部契約検査課",
                "admin_name": "契約花子", "admin_email": ADMIN, "admin_password": PASSWORD
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        body["api_key"].as_str().unwrap().to_string()
    }
}

/// Percent-encodes everything but unreserved characters (a form value, a `data:` URL).
pub fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
