//! Inkan sealing, in this process or as the benchmark's child, and its steps timed apart.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use inkan_keys::{DigestAlgorithm, SigningKey};
use inkan_pades::{Level, RevocationFetcher, Services, SignOptions, Signer};
use inkan_pki::tsa::TsaClient;
use inkan_pki::Pki;

// ---------------------------------------------------------------------------------------------
// Inkan sealing (in this process, or as the child)

pub(crate) struct Sealer {
    pub(crate) pki: Pki,
    pub(crate) key: Arc<dyn SigningKey>,
    pub(crate) chain: Vec<inkan_cms::Certificate>,
    pub(crate) tsa: TsaClient,
    pub(crate) fetcher: RevocationFetcher,
    pub(crate) runtime: tokio::runtime::Runtime,
}

impl Sealer {
    pub(crate) fn open(pki_dir: &Path, tsa_url: &str) -> Result<Self> {
        let pki = Pki::open(pki_dir)?;
        Ok(Sealer {
            key: pki.witness_key()?,
            chain: vec![pki.issuing_ca().clone()],
            tsa: TsaClient::new(vec![tsa_url.to_string()])?,
            fetcher: RevocationFetcher::default(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            pki,
        })
    }

    pub(crate) fn seal(&self, input: &Path, output: &Path) -> Result<()> {
        self.seal_at(input, output, Level::BT)
    }

    pub(crate) fn seal_at(&self, input: &Path, output: &Path, level: Level) -> Result<()> {
        self.runtime
            .block_on(inkan_pades::sign_pdf(
                input,
                output,
                &Signer {
                    key: self.key.as_ref(),
                    certificate: &self.pki.witness_certificate(),
                    chain: &self.chain,
                },
                &SignOptions::new(level),
                &Services {
                    tsa: Some(&self.tsa),
                    revocation: &self.fetcher,
                    anchors: std::slice::from_ref(self.pki.root()),
                },
            ))
            .with_context(|| format!("Inkan sealing {}", input.display()))?;
        Ok(())
    }

    /// Inkan's own steps on this file, timed one by one (where the time of a seal goes).
    pub(crate) fn steps(&self, input: &Path, scratch: &Path) -> Result<Steps> {
        let started = Instant::now();
        self.seal_at(input, scratch, Level::BB)?;
        let seal_bb = started.elapsed();
        std::fs::remove_file(scratch)?;

        let started = Instant::now();
        let imprint = DigestAlgorithm::Sha256.hash(b"probe");
        self.runtime
            .block_on(self.tsa.timestamp(DigestAlgorithm::Sha256, &imprint))?;
        let tsa = started.elapsed();

        let started = Instant::now();
        let digest = self.key.algorithm().digest();
        inkan_cms::sign(&inkan_cms::SignRequest {
            content_type: inkan_cms::oid::ID_DATA,
            encapsulated: None,
            content_digest: &vec![0u8; digest.output_len()],
            digest,
            key: self.key.as_ref(),
            certificate: &self.pki.witness_certificate(),
            chain: &self.chain,
            include_certificates: true,
        })?;
        let cms = started.elapsed();

        // Read and hash only.
        let started = Instant::now();
        let mut hasher = DigestAlgorithm::Sha256.hasher();
        let mut reader = File::open(input)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let _ = hasher.finalize();
        let hash = started.elapsed();

        // Read, hash and write in one pass, then fsync: what the signature stage does.
        let started = Instant::now();
        let mut hasher = DigestAlgorithm::Sha256.hasher();
        let mut reader = File::open(input)?;
        let mut writer = BufWriter::new(File::create(scratch)?);
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            writer.write_all(&buf[..n])?;
        }
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        let _ = hasher.finalize();
        let hash_write = started.elapsed();
        let started = Instant::now();
        file.sync_all()?;
        let fsync = started.elapsed();

        let copy_to = scratch.with_extension("copy");
        let started = Instant::now();
        std::fs::copy(scratch, &copy_to)?;
        let copy = started.elapsed();
        std::fs::remove_file(scratch)?;
        std::fs::remove_file(copy_to)?;
        Ok(Steps {
            seal_bb,
            tsa,
            cms,
            hash,
            hash_write,
            fsync,
            copy,
        })
    }
}

/// One seal's parts, measured separately.
#[derive(Clone, Copy)]
pub(crate) struct Steps {
    /// A whole seal at B-B: no TSA request at all.
    pub(crate) seal_bb: Duration,
    /// One TSA request on loopback (the TSA signs with RSA-2048).
    pub(crate) tsa: Duration,
    /// One CMS signature with the witness key.
    pub(crate) cms: Duration,
    /// Reading the file and SHA-256 over it.
    pub(crate) hash: Duration,
    /// Reading the file, SHA-256 over it and writing it out.
    pub(crate) hash_write: Duration,
    /// fsync of the written file.
    pub(crate) fsync: Duration,
    /// Copying the file (the finished stage to the output path).
    pub(crate) copy: Duration,
}
