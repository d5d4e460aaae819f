//! Helpers of the verification tests: signer key files for pyHanko, a counting proxy, and a
//! PKI behind it.
#![allow(dead_code, clippy::unwrap_used)]

use inkan_pki::{InitOptions, KeyBackendConfig, Pki};
use inkan_testkit::pyhanko;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

/// A signer issued by `pki` whose key and certificate are written as PEM files in `dir`, for
/// tools that sign from files (pyHanko). Returns (certificate, key, key.pem, cert.pem).
pub fn signer_files(
    pki: &Pki,
    dir: &Path,
    name: &str,
) -> (
    x509_cert::Certificate,
    inkan_keys::SoftwareKey,
    PathBuf,
    PathBuf,
) {
    let (cert, key) = pki
        .issue_signer(
            &inkan_pki::SignerRequest {
                name: name.into(),
                email: None,
                days: 30,
            },
            inkan_keys::KeyKind::Rsa2048,
        )
        .unwrap();
    let stem = format!(
        "{}-{}",
        name.len(),
        inkan_pki::serial_hex(&cert.tbs_certificate.serial_number)
    );
    let key_path = dir.join(format!("{stem}.key"));
    let cert_path = dir.join(format!("{stem}.pem"));
    key.write_file(&key_path, inkan_keys::KeyProtection::None)
        .unwrap();
    std::fs::write(
        &cert_path,
        inkan_pki::x509::to_pem(std::slice::from_ref(&cert)).unwrap(),
    )
    .unwrap();
    (cert, key, key_path, cert_path)
}

/// `pyhanko sign addsig --field FIELD ARGS… pemder --key K --cert C --chain CHAIN --no-pass IN OUT`
/// (`None` when pyHanko is missing locally). Panics when pyHanko fails.
pub fn pyhanko_sign(
    input: &Path,
    output: &Path,
    field: &str,
    args: &[&str],
    key: &Path,
    cert: &Path,
    chain: &Path,
) -> Option<()> {
    let pyhanko = pyhanko()?;
    inkan_testkit::run_ok(
        Command::new(pyhanko)
            .args(["sign", "addsig", "--field", field])
            .args(args)
            .args(["pemder", "--key"])
            .arg(key)
            .arg("--cert")
            .arg(cert)
            .arg("--chain")
            .arg(chain)
            .arg("--no-pass")
            .arg(input)
            .arg(output),
    );
    Some(())
}

/// A loopback TCP forwarder in front of a server, counting the connections made to it and able
/// to refuse them: proves that an offline verification makes no request, and lets a test act
/// as if the PKI's services were gone.
pub struct CountingProxy {
    pub base_url: String,
    connections: Arc<std::sync::atomic::AtomicUsize>,
    refuse: Arc<std::sync::atomic::AtomicBool>,
}

impl CountingProxy {
    pub fn start(target: std::net::SocketAddr) -> CountingProxy {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let refuse = Arc::new(AtomicBool::new(false));
        let (count, refusing) = (connections.clone(), refuse.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                if refusing.load(Ordering::SeqCst) {
                    continue; // dropped: connection closed
                }
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        CountingProxy {
            base_url,
            connections,
            refuse,
        }
    }

    /// Connections made so far.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// From now on, drop every connection (the services look gone).
    pub fn refuse(&self, refuse: bool) {
        self.refuse
            .store(refuse, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A second PKI whose certificates point at a [`CountingProxy`] (its own, not shared with
/// [`served`], so counting is not disturbed by other tests).
pub struct Proxied {
    pub pki: Arc<Pki>,
    pub proxy: CountingProxy,
    pub root_pem: PathBuf,
    _tmp: tempfile::TempDir,
}

pub fn proxied() -> &'static Proxied {
    static PROXIED: OnceLock<Proxied> = OnceLock::new();
    PROXIED.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = CountingProxy::start(listener.local_addr().unwrap());
        let pki = Arc::new(
            Pki::init(
                &dir,
                InitOptions {
                    base_url: proxy.base_url.clone(),
                    org: "検証テスト".into(),
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
        Proxied {
            root_pem: dir.join("root.pem"),
            pki,
            proxy,
            _tmp: tmp,
        }
    })
}
