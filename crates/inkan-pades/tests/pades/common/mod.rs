//! Shared fixtures: a PKI served on loopback, sample PDFs, and the independent validators.
#![allow(dead_code, clippy::unwrap_used)]

use inkan_pki::{InitOptions, KeyBackendConfig, Pki};
pub use inkan_testkit::validators::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub struct Served {
    pub dir: PathBuf,
    pub pki: Arc<Pki>,
    pub base_url: String,
    pub root_pem: PathBuf,
    _tmp: tempfile::TempDir,
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
                    tsa_policy: None,
                    tsa_lifetime: None,
                },
            )
            .unwrap(),
        );
        inkan_pki::server::spawn_server(pki.clone(), listener);
        Served {
            root_pem: dir.join("root.pem"),
            dir,
            pki,
            base_url,
            _tmp: tmp,
        }
    })
}

/// Signs `input` into `output` with the served PKI's TSA, revocation data and root.
pub fn sign(
    input: &Path,
    output: &Path,
    key: &dyn inkan_keys::SigningKey,
    certificate: &x509_cert::Certificate,
    options: &inkan_pades::SignOptions,
) -> Result<inkan_pades::SignOutcome, inkan_pades::PadesError> {
    let s = served();
    let tsa = inkan_pki::tsa::TsaClient::new(vec![format!("{}/tsa", s.base_url)]).unwrap();
    let fetcher = inkan_pades::RevocationFetcher::default();
    let chain = vec![s.pki.issuing_ca().clone()];
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(inkan_pades::sign_pdf(
            input,
            output,
            &inkan_pades::Signer {
                key,
                certificate,
                chain: &chain,
            },
            options,
            &inkan_pades::Services {
                tsa: Some(&tsa),
                revocation: &fetcher,
                anchors: std::slice::from_ref(s.pki.root()),
            },
        ))
}
