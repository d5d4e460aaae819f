//! A throwaway PKI made with the OpenSSL CLI (so Inkan is checked against certificates it did
//! not make), and helpers to run OpenSSL on CMS files.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use der::{DecodePem, EncodePem};
use inkan_cms::{Certificate, SigningKey};
use inkan_testkit::{require_tool, run, run_ok, write};

const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[subca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection,1.3.6.1.5.5.7.3.36
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[badca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
[plainca]
basicConstraints = critical,CA:TRUE
[weird]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
1.3.6.1.4.1.99999.1 = critical,ASN1:NULL
[tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A root (RSA-3072) and an issuing CA (RSA-3072, pathlen 0) in a directory of their own.
pub struct TestPki {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub root: Certificate,
    pub root_pem: PathBuf,
    pub inter: Certificate,
    pub inter_pem: PathBuf,
    pub inter_key: PathBuf,
    serial: AtomicU32,
}

/// A certificate the test PKI issued.
pub struct Issued {
    pub cert: Certificate,
    pub pem: PathBuf,
    /// The private key file, when OpenSSL made the key.
    pub key: Option<PathBuf>,
}

fn openssl() -> Command {
    Command::new("openssl")
}

impl TestPki {
    /// `None` (after printing why) when OpenSSL is missing.
    pub fn new(why: &str) -> Option<Self> {
        require_tool("openssl", why)?;
        let dir = tempfile::tempdir().unwrap();
        let config = write(dir.path(), "ca.cnf", CONFIG);
        let root_pem = dir.path().join("root.pem");
        let root_key = dir.path().join("root.key");
        run_ok(
            openssl()
                .args([
                    "req", "-x509", "-new", "-newkey", "rsa:3072", "-nodes", "-sha256",
                ])
                .args(["-days", "3650", "-subj", "/CN=Inkan CMS Test Root/O=Inkan"])
                .args(["-extensions", "root", "-config"])
                .arg(&config)
                .arg("-keyout")
                .arg(&root_key)
                .arg("-out")
                .arg(&root_pem),
        );
        let mut pki = TestPki {
            root: load(&root_pem),
            root_pem: root_pem.clone(),
            inter: load(&root_pem),
            inter_pem: root_pem.clone(),
            inter_key: root_key.clone(),
            config,
            dir,
            serial: AtomicU32::new(100),
        };
        let inter = pki.issue_openssl_by(
            "inter",
            "rsa:3072",
            "/CN=Inkan CMS Test Issuing CA/O=Inkan",
            "inter",
            1825,
            (&root_pem, &root_key),
        );
        pki.inter = inter.cert;
        pki.inter_pem = inter.pem;
        pki.inter_key = inter.key.unwrap();
        Some(pki)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn next_serial(&self) -> String {
        self.serial.fetch_add(1, Ordering::SeqCst).to_string()
    }

    /// Issues a certificate (signed by the issuing CA) for an Inkan key: OpenSSL signs a CSR made
    /// by a throwaway key, with the subject public key forced to the Inkan key's.
    pub fn issue_for_key(&self, name: &str, key: &dyn SigningKey, profile: &str) -> Issued {
        let pub_pem = write(
            self.dir.path(),
            &format!("{name}.pub.pem"),
            key.public_key().to_pem(der::pem::LineEnding::LF).unwrap(),
        );
        let throwaway = self.path(&format!("{name}.throwaway.key"));
        let csr = self.path(&format!("{name}.csr"));
        run_ok(
            openssl()
                .args(["req", "-new", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:P-256", "-nodes", "-config"])
                .arg(&self.config)
                .args(["-subj", &format!("/CN=Inkan CMS test {name}/O=Inkan")])
                .arg("-keyout")
                .arg(&throwaway)
                .arg("-out")
                .arg(&csr),
        );
        let pem = self.path(&format!("{name}.pem"));
        run_ok(
            openssl()
                .args(["x509", "-req", "-sha256", "-days", "365", "-set_serial"])
                .arg(self.next_serial())
                .arg("-in")
                .arg(&csr)
                .arg("-force_pubkey")
                .arg(&pub_pem)
                .arg("-CA")
                .arg(&self.inter_pem)
                .arg("-CAkey")
                .arg(&self.inter_key)
                .arg("-extfile")
                .arg(&self.config)
                .args(["-extensions", profile, "-out"])
                .arg(&pem),
        );
        Issued {
            cert: load(&pem),
            pem,
            key: None,
        }
    }

    /// Issues a certificate with a key OpenSSL generates (`rsa:2048`, `ec`), by the issuing CA.
    pub fn issue_openssl(&self, name: &str, keyspec: &str, profile: &str) -> Issued {
        let subject = format!("/CN=Inkan CMS test {name}/O=Inkan");
        let issuer = (self.inter_pem.clone(), self.inter_key.clone());
        self.issue_openssl_by(
            name,
            keyspec,
            &subject,
            profile,
            365,
            (&issuer.0, &issuer.1),
        )
    }

    /// Issues a certificate with a fresh OpenSSL key, signed by `issuer` (certificate, key).
    pub fn issue_openssl_by(
        &self,
        name: &str,
        keyspec: &str,
        subject: &str,
        profile: &str,
        days: u32,
        issuer: (&Path, &Path),
    ) -> Issued {
        let key = self.path(&format!("{name}.key"));
        let csr = self.path(&format!("{name}.csr"));
        let mut req = openssl();
        req.args(["req", "-new", "-nodes", "-config"])
            .arg(&self.config);
        if keyspec == "ec" {
            req.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
        } else {
            req.args(["-newkey", keyspec]);
        }
        run_ok(
            req.args(["-subj", subject])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr),
        );
        self.sign_csr(name, &csr, Some(key), profile, days, issuer)
    }

    /// Issues a certificate for an existing OpenSSL key file.
    pub fn issue_for_key_file(
        &self,
        name: &str,
        key: &Path,
        subject: &str,
        profile: &str,
        issuer: (&Path, &Path),
    ) -> Issued {
        let csr = self.path(&format!("{name}.csr"));
        run_ok(
            openssl()
                .args(["req", "-new", "-config"])
                .arg(&self.config)
                .args(["-subj", subject, "-key"])
                .arg(key)
                .arg("-out")
                .arg(&csr),
        );
        self.sign_csr(name, &csr, Some(key.to_path_buf()), profile, 365, issuer)
    }

    fn sign_csr(
        &self,
        name: &str,
        csr: &Path,
        key: Option<PathBuf>,
        profile: &str,
        days: u32,
        issuer: (&Path, &Path),
    ) -> Issued {
        let pem = self.path(&format!("{name}.pem"));
        run_ok(
            openssl()
                .args(["x509", "-req", "-sha256", "-days", &days.to_string()])
                .arg("-set_serial")
                .arg(self.next_serial())
                .arg("-in")
                .arg(csr)
                .arg("-CA")
                .arg(issuer.0)
                .arg("-CAkey")
                .arg(issuer.1)
                .arg("-extfile")
                .arg(&self.config)
                .args(["-extensions", profile, "-out"])
                .arg(&pem),
        );
        Issued {
            cert: load(&pem),
            pem,
            key,
        }
    }

    /// A self-signed EC root unrelated to this PKI (an anchor the signers do not chain to).
    pub fn unrelated_root(&self, name: &str) -> (Certificate, PathBuf, PathBuf) {
        self.self_signed(name, &format!("/CN={name}/O=Elsewhere"), "root")
    }

    /// A self-signed EC certificate with `subject` and extension `profile`.
    pub fn self_signed(
        &self,
        name: &str,
        subject: &str,
        profile: &str,
    ) -> (Certificate, PathBuf, PathBuf) {
        let pem = self.path(&format!("{name}.pem"));
        let key = self.path(&format!("{name}.key"));
        run_ok(
            openssl()
                .args(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "3650"])
                .args(["-subj", subject, "-extensions", profile])
                .arg("-config")
                .arg(&self.config)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&pem),
        );
        (load(&pem), pem, key)
    }
}

pub fn load(pem: &Path) -> Certificate {
    Certificate::from_pem(std::fs::read(pem).unwrap()).unwrap()
}

/// `openssl cms -verify` of a detached (`content` given) or encapsulated CMS against `root`.
/// Returns (success, all output).
pub fn openssl_cms_verify(cms_der: &[u8], content: Option<&[u8]>, root: &Path) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let sig = write(dir.path(), "sig.der", cms_der);
    let mut cmd = openssl();
    cmd.args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(&sig)
        .arg("-CAfile")
        .arg(root)
        .args(["-purpose", "any", "-out"])
        .arg(dir.path().join("out.bin"));
    if let Some(content) = content {
        cmd.arg("-content")
            .arg(write(dir.path(), "data.bin", content));
    }
    let out = run(&mut cmd);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("Verification successful"),
        text,
    )
}

/// `openssl cms -cmsout -print` of a DER CMS.
pub fn openssl_cms_print(cms_der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let sig = write(dir.path(), "sig.der", cms_der);
    run_ok(
        openssl()
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&sig),
    )
}
