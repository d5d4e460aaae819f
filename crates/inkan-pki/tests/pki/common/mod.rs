//! A PKI served on a loopback port, shared by the tests of one test binary (creating one costs a
//! few RSA-3072 key generations).
#![allow(dead_code, clippy::unwrap_used)]

use inkan_keys::{KeyProtection, SoftwareKey};
use inkan_pki::{InitOptions, KeyBackendConfig, Pki};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub struct Served {
    pub dir: PathBuf,
    pub pki: Arc<Pki>,
    pub base_url: String,
    _tmp: tempfile::TempDir,
}

pub fn serve_in_background(pki: Arc<Pki>, listener: std::net::TcpListener) {
    inkan_pki::server::spawn_server(pki, listener);
}

pub fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let pki = Arc::new(
            Pki::init(
                &dir,
                InitOptions {
                    base_url: base_url.clone(),
                    org: "盛岡市".into(),
                    keys: KeyBackendConfig::File {
                        kek_file: "keys/kek.bin".into(),
                    },
                    tsa_policy: Some("1.3.6.1.4.1.99999.1.1".into()),
                    tsa_lifetime: None,
                },
            )
            .unwrap(),
        );
        serve_in_background(pki.clone(), listener);
        Served {
            dir,
            pki,
            base_url,
            _tmp: tmp,
        }
    })
}

/// Decrypts one of the PKI's private keys into a plain PEM file (for OpenSSL's own CA tools).
pub fn export_key(pki_dir: &Path, name: &str, out: &Path) {
    let kek: [u8; 32] = std::fs::read(pki_dir.join("keys/kek.bin"))
        .unwrap()
        .try_into()
        .unwrap();
    let key = SoftwareKey::read_file(
        &pki_dir.join("keys").join(format!("{name}.key")),
        KeyProtection::Kek(&kek),
    )
    .unwrap();
    key.write_file(out, KeyProtection::None).unwrap();
}

pub fn openssl() -> bool {
    inkan_testkit::require_tool("openssl", "the independent check of Inkan's PKI").is_some()
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// GET, returning status and body.
pub fn http_get(url: &str) -> (u16, Vec<u8>) {
    block_on(async {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    })
}

/// POST with a content type, returning status and body.
pub fn http_post(url: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    })
}
