//! A real OpenID provider on loopback for the single sign-on tests: node's `oidc-provider`
//! (installed by `.ci/run` under `~/.cache/inkan/oidc`, or at `INKAN_OIDC_PROVIDER`, the path of
//! its `lib/index.js`), run by `oidc/provider.mjs` beside this crate. Its development login form
//! takes any login name as the account's (verified) email.
//!
//! For the refusal tests it can be told to misbehave ([`OidcProvider::fault`]): the next ID
//! tokens carry another audience, another nonce, or an expiry in the past — each signed with its
//! real key, as a compromised or misconfigured provider would send them.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running provider; stopped when dropped.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

/// How the provider's next ID tokens are spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// `aud` names another client.
    Audience,
    /// `nonce` is not the one the login sent.
    Nonce,
    /// `exp` is an hour ago.
    Expired,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Audience => "aud",
            Fault::Nonce => "nonce",
            Fault::Expired => "expired",
        }
    }
}

fn module() -> Option<PathBuf> {
    std::env::var_os("INKAN_OIDC_PROVIDER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| {
                PathBuf::from(home)
                    .join(".cache/inkan/oidc/node_modules/oidc-provider/lib/index.js")
            })
        })
        .filter(|p| p.is_file())
}

impl OidcProvider {
    /// Starts a provider with one client whose redirect URI is `redirect_uri`. `None` when node
    /// or oidc-provider is missing (after printing why; under `CI=true` a panic).
    pub fn start(redirect_uri: &str) -> Option<OidcProvider> {
        let node = crate::require_tool("node", "the single sign-on tests run an OpenID provider")?;
        let Some(module) = module() else {
            crate::skip_or_fail(
                "oidc-provider is not installed (the single sign-on tests run it): \
                 npm install --prefix ~/.cache/inkan/oidc oidc-provider, or set INKAN_OIDC_PROVIDER",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a loopback port")
            .port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc/provider.mjs");
        let client_secret = format!("secret-{}", std::process::id());
        let mut child = Command::new(node)
            .arg(script)
            .arg(port.to_string())
            .arg("inkan")
            .arg(&client_secret)
            .arg(redirect_uri)
            .env("OIDC_PROVIDER_MODULE", module)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("its output");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("the provider says it is ready");
        assert_eq!(line.trim(), "ready", "the OpenID provider did not start");
        // Keep reading its output, so that a later line never meets a closed pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                eprint!("oidc-provider: {rest}");
                rest.clear();
            }
        });
        Some(OidcProvider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            client_id: "inkan".into(),
            client_secret,
        })
    }

    /// Spoils (or stops spoiling) the ID tokens issued from now on.
    pub async fn fault(&self, fault: Fault) {
        let r = reqwest::Client::new()
            .post(format!("{}/test/fault/{}", self.issuer, fault.name()))
            .send()
            .await
            .expect("the provider answers");
        assert!(r.status().is_success(), "setting the fault: {}", r.status());
    }

    /// The last redirect to the client's callback (code and state), as the browser followed it.
    pub async fn last_callback(&self) -> String {
        reqwest::Client::new()
            .get(format!("{}/test/last-callback", self.issuer))
            .send()
            .await
            .expect("the provider answers")
            .text()
            .await
            .expect("its text")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
