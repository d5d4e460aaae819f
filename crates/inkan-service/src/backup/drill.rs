//! The restore drill (`inkan backup verify`): a set restored into a scratch installation (a
//! temporary folder, and for PostgreSQL a temporary database on the same server), opened as a
//! service, and checked: row counts and sealed files as the manifest records them, every audit
//! chain intact, every final PDF and 電子契約締結証明書 byte for byte what was sealed, every
//! signature valid offline. The scratch installation is removed afterwards; the real one is
//! never touched.

use std::time::Duration;

use inkan_pades::{VerifyLimits, VerifyOptions};
use serde::Serialize;

use super::{sha256_hex, Backups, Progress};
use crate::setup::{assemble, Config};
use crate::{Result, ServiceError};

/// What the drill found.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub set: String,
    pub organizations: u64,
    pub envelopes: u64,
    pub documents: u64,
    /// Final PDFs and certificates read back and compared with the manifest.
    pub sealed_files: usize,
    /// Of those, the ones whose every signature verified offline.
    pub valid_signatures: usize,
    /// Audit chains checked intact.
    pub audit_chains: usize,
    /// Everything that did not hold, one line each; empty when the set is sound.
    pub problems: Vec<String>,
}

impl DrillReport {
    pub fn sound(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Backups {
    /// Restores the set `name` (or `latest`) into a scratch installation beside `config`'s and
    /// checks it (module documentation).
    pub async fn drill(
        &self,
        name: &str,
        config: &Config,
        progress: &dyn Progress,
    ) -> Result<DrillReport> {
        let manifest = self.manifest(name).await?;
        let tmp = config.data_dir().join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| ServiceError::failed("the backup drill", e))?;
        let scratch = tempfile::Builder::new()
            .prefix("drill-")
            .tempdir_in(&tmp)
            .map_err(|e| ServiceError::failed("the backup drill", e))?;
        let database = ScratchDatabase::create(&config.database_url(), scratch.path()).await?;
        let scratch_config = Config {
            data_dir: Some(scratch.path().to_path_buf()),
            database_url: Some(database.url.clone()),
            public_url: Some(config.public_url()),
            listen: config.listen.clone(),
            trust_anchors: config.trust_anchors.clone(),
            ..Config::default()
        };
        let outcome = async {
            let restored = self
                .restore(
                    &manifest.name,
                    &scratch_config,
                    std::time::SystemTime::now(),
                    progress,
                )
                .await?;
            check(&restored, scratch_config, progress).await
        }
        .await;
        database.drop_it().await;
        outcome
    }
}

async fn check(
    manifest: &super::Manifest,
    scratch: Config,
    progress: &dyn Progress,
) -> Result<DrillReport> {
    let app = assemble(scratch, crate::setup::system_clock()).await?;
    let inkan = &app.inkan;
    let mut problems = Vec::new();

    let inventory = inkan.store.inventory().await?;
    let expected = &manifest.inventory;
    for (what, found, want) in [
        (
            "organizations",
            inventory.organizations,
            expected.organizations,
        ),
        ("envelopes", inventory.envelopes, expected.envelopes),
        ("documents", inventory.documents, expected.documents),
    ] {
        if found != want {
            problems.push(format!("{what}: {found} restored, {want} backed up"));
        }
    }
    if inventory.sealed_files != expected.sealed_files {
        problems.push(format!(
            "sealed files: {} restored, {} backed up, or their blobs or SHA-256 differ",
            inventory.sealed_files.len(),
            expected.sealed_files.len()
        ));
    }

    let audit = inkan.verify_audit().await?;
    for report in &audit {
        if let Some(why) = &report.broken {
            problems.push(format!("audit chain of {}: {why}", report.organization));
        }
    }

    let options = VerifyOptions {
        // The restored PKI's root and the configured trust anchors.
        anchors: inkan.engine.anchors().to_vec(),
        offline: true,
        timeout: Duration::from_secs(10),
        now: None,
        limits: VerifyLimits::default(),
    };
    let mut valid_signatures = 0;
    let total = expected.sealed_files.len() as u64;
    for (n, file) in expected.sealed_files.iter().enumerate() {
        let label = format!(
            "{:?} {} of envelope {}",
            file.kind, file.blob, file.envelope
        );
        let bytes = match inkan
            .blobs
            .get(&inkan_blobs::BlobKey::new(&file.blob)?)
            .await
        {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push(format!("{label}: {e}"));
                continue;
            }
        };
        if sha256_hex(&bytes) != file.sha256 {
            problems.push(format!(
                "{label}: not the PDF that was sealed (SHA-256 differs)"
            ));
            continue;
        }
        match verify(&bytes, inkan.engine.scratch(), &options).await {
            Ok(report) if report.valid => valid_signatures += 1,
            Ok(report) => problems.push(format!(
                "{label}: a signature does not verify ({} signatures)",
                report.signatures.len()
            )),
            Err(e) => problems.push(format!("{label}: {e}")),
        }
        progress.advance("checks", n as u64 + 1, total);
    }

    Ok(DrillReport {
        set: manifest.name.clone(),
        organizations: inventory.organizations,
        envelopes: inventory.envelopes,
        documents: inventory.documents,
        sealed_files: expected.sealed_files.len(),
        valid_signatures,
        audit_chains: audit.len(),
        problems,
    })
}

/// Verifies PDF bytes offline (through a private temporary file, as the verifier reads files).
async fn verify(
    bytes: &[u8],
    scratch: &std::path::Path,
    options: &VerifyOptions,
) -> Result<inkan_pades::verify::Report> {
    let file = tempfile::Builder::new()
        .suffix(".pdf")
        .tempfile_in(scratch)
        .map_err(|e| ServiceError::failed("the backup drill", e))?;
    std::fs::write(file.path(), bytes).map_err(|e| ServiceError::failed("the backup drill", e))?;
    inkan_pades::verify_pdf(file.path(), options)
        .await
        .map_err(|e| ServiceError::Invalid(format!("cannot be verified: {e}")))
}

/// The drill's database: a file in the scratch folder for SQLite; for PostgreSQL a database
/// created for the drill on the configured server and dropped after it.
struct ScratchDatabase {
    url: String,
    /// The configured database's URL and the scratch database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl ScratchDatabase {
    async fn create(configured: &str, scratch: &std::path::Path) -> Result<ScratchDatabase> {
        if !configured.starts_with("postgres") {
            return Ok(ScratchDatabase {
                url: format!("sqlite://{}", scratch.join("inkan.db").display()),
                postgres: None,
            });
        }
        let name = format!("inkan_drill_{}", hex::encode(rand::random::<[u8; 6]>()));
        inkan_store::create_database(configured, &name).await?;
        let (base, query) = configured.split_once('?').unwrap_or((configured, ""));
        let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Ok(ScratchDatabase {
            url: format!("{server}/{name}{query}"),
            postgres: Some((configured.to_string(), name)),
        })
    }

    async fn drop_it(self) {
        if let Some((configured, name)) = self.postgres {
            if let Err(e) = inkan_store::drop_database(&configured, &name).await {
                tracing::warn!(database = %name, error = %e, "the drill's scratch database could not be dropped");
            }
        }
    }
}
