//! Archive renewal: a sealed contract stays provable for as long as it is kept (電帳法: 7 to 10
//! years), longer than any TSA certificate lives. Each sealed document and 電子契約締結証明書
//! records when its proof runs out (`archive_until`: the earliest notAfter on the TSA path of its
//! newest timestamp). A window before then (`archive_renewal_days`, a year by default) the
//! `archive` job gives it validation data for that timestamp and a new document timestamp
//! from the configured TSA, as a new revision — audited, like every sealing step.
//!
//! - **The sweep** (the worker's, hourly) first renews the built-in PKI's own certificates
//!   that end soon (the TSA's a window and 30 days ahead, so every new timestamp outlasts the
//!   window), then queues one `archive:<envelope>` job per envelope that is due.
//! - **The job** works one item at a time, committing each renewal with the envelope's version,
//!   like a seal step: a crash before the commit leaves an unreferenced blob and the next
//!   attempt renews from the same revision; after the commit the item is no longer due. So each
//!   document is renewed once per window, whatever crashes.
//! - **A TSA that does not answer** fails the attempt; the job retries with backoff, and when
//!   it keeps failing (from the third attempt), the envelope's sender is told by mail — at most
//!   once a day per organization — long before the proof runs out. A job out of attempts is
//!   queued again by the sweep a day later, and shows meanwhile among the failed jobs.
//! - **A TSA whose certificate ends no later than the old timestamp's** cannot extend anything;
//!   renewing would only add revisions, so the attempt fails with that reason instead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inkan_domain::{EnvelopeId, JobId, OrganizationId};
use inkan_store::{
    Change, DocumentRecord, EnvelopeRecord, Job, NewJob, StoreError, StoredCertificate,
};
use serde::{Deserialize, Serialize};

use crate::envelopes::blob_key;
use crate::notify::ArchiveAlert;
use crate::{Caller, Inkan, Result, ServiceError};

/// The job kind.
pub(crate) const ARCHIVE_JOB: &str = "archive";
/// Attempts of one archive job: with the backoff (5 s doubling up to an hour), about a day.
const ATTEMPTS: u32 = 30;
/// From this failed attempt on, the sender is told.
const ALERT_FROM_ATTEMPT: u32 = 3;
/// The built-in TSA's certificate is renewed this much earlier than the archive window, so a
/// timestamp it makes always outlasts the window.
const TSA_MARGIN_SECONDS: i64 = 30 * 86_400;
/// Envelopes queued per sweep (the next sweep takes the rest).
const SWEEP_BATCH: u32 = 500;

#[derive(Debug, Serialize, Deserialize)]
struct ArchiveJob {
    organization: OrganizationId,
    envelope: EnvelopeId,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchiveSweep {
    /// The built-in PKI's certificates renewed: `tsa`, `ocsp`, `witness`.
    pub certificates_renewed: Vec<&'static str>,
    /// Envelopes given an archive job.
    pub queued: usize,
}

/// One thing of an envelope whose proof is kept up: a document, or the certificate.
#[derive(Clone, Copy)]
enum Item<'a> {
    Document(&'a DocumentRecord),
    Certificate(&'a StoredCertificate),
}

impl Item<'_> {
    fn archive_until(&self) -> Option<i64> {
        match self {
            Item::Document(d) => d.archive_until,
            Item::Certificate(c) => c.archive_until,
        }
    }
    fn blob(&self) -> &str {
        match self {
            Item::Document(d) => &d.current_blob,
            Item::Certificate(c) => &c.blob,
        }
    }
    fn sha256(&self) -> &str {
        match self {
            Item::Document(d) => &d.sha256,
            Item::Certificate(c) => &c.sha256,
        }
    }
    /// Which one, for the job's bookkeeping.
    fn key(&self) -> String {
        match self {
            Item::Document(d) => d.id.to_string(),
            Item::Certificate(_) => "certificate".into(),
        }
    }
}

fn seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn system_time(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0))
}

impl Inkan {
    /// The renewal sweep: the built-in PKI's certificates that end soon are renewed, then each
    /// sealed envelope whose proof runs out within the window (or was never read) gets an
    /// archive job. The worker runs it every hour; `inkan archive` runs it at once.
    pub async fn sweep_archives(&self) -> Result<ArchiveSweep> {
        let now = self.now();
        let window = self.settings.archive_renewal_seconds;
        let lead = u64::try_from(window + TSA_MARGIN_SECONDS).unwrap_or(0);
        let renewed = self
            .engine
            .pki()
            .renew_service_certificates(system_time(now), Duration::from_secs(lead))
            .map_err(|e| ServiceError::failed("renewing the PKI's certificates", e))?;
        for r in &renewed {
            tracing::info!(
                certificate = r.role.file_stem(),
                old_not_after = seconds(r.old_not_after),
                new_not_after = seconds(r.new_not_after),
                "a service certificate of the built-in PKI was renewed"
            );
            self.record_renewed(r, now).await?;
        }
        let due = self
            .store
            .archive_due(now + window, now - 86_400, SWEEP_BATCH)
            .await?;
        let jobs: Vec<NewJob> = due
            .iter()
            .map(|(org, envelope)| self.archive_job(*org, *envelope))
            .collect();
        let queued = jobs.len();
        if !jobs.is_empty() {
            self.store
                .apply(Change {
                    jobs,
                    now,
                    ..Change::default()
                })
                .await?;
        }
        Ok(ArchiveSweep {
            certificates_renewed: renewed.iter().map(|r| r.role.file_stem()).collect(),
            queued,
        })
    }

    fn archive_job(&self, organization: OrganizationId, envelope: EnvelopeId) -> NewJob {
        NewJob {
            id: JobId::new(),
            kind: ARCHIVE_JOB.into(),
            payload: serde_json::to_value(ArchiveJob {
                organization,
                envelope,
            })
            .unwrap_or_default(),
            organization: Some(organization),
            run_at: self.now(),
            max_attempts: ATTEMPTS,
            dedupe_key: Some(format!("archive:{envelope}")),
            only_with_webhooks: false,
        }
    }

    /// Runs an archive job; when it fails again and again, tells the sender.
    pub(crate) async fn run_archive_job(&self, job: &Job) -> Result<()> {
        let payload: ArchiveJob = serde_json::from_value(job.payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("archive job payload: {e}")))?;
        let outcome = self.renew_archives(&payload).await;
        if let Err(e) = &outcome {
            if job.attempts >= ALERT_FROM_ATTEMPT {
                if let Err(alert) = self.archive_alert(&payload, &e.to_string()).await {
                    tracing::error!(envelope = %payload.envelope, error = %alert, "the archive alert could not be queued");
                }
            }
        }
        outcome
    }

    /// Brings every document and the certificate of one sealed envelope up to date.
    async fn renew_archives(&self, job: &ArchiveJob) -> Result<()> {
        // Items renewed in this run: when the TSA's chain is short, the new proof may itself
        // fall in the window, and renewing it again at once would not help.
        let mut renewed: Vec<String> = Vec::new();
        // Bounded: each round commits one item or returns.
        for _ in 0..1_000 {
            let record = self.load(job.organization, job.envelope).await?;
            if record.sealed_at.is_none() {
                return Ok(());
            }
            let documents = self.store.documents(job.organization, job.envelope).await?;
            let horizon = self.now() + self.settings.archive_renewal_seconds;
            let mut items: Vec<Item> = documents.iter().map(Item::Document).collect();
            items.extend(record.certificate.as_ref().map(Item::Certificate));
            let next = items.into_iter().find(|item| {
                !renewed.contains(&item.key()) && item.archive_until().is_none_or(|u| u <= horizon)
            });
            let Some(item) = next else {
                return Ok(());
            };
            let (change, was_renewed) = self.archive_step(&record, item, horizon).await?;
            match self.store.apply(change).await {
                Ok(()) => {
                    if was_renewed {
                        renewed.push(item.key());
                    }
                }
                Err(StoreError::Conflict) => continue, // the envelope moved: read it again
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::internal("archive renewal did not converge"))
    }

    /// One item: its horizon read and recorded, or its archive renewed. Returns the change and
    /// whether it renews.
    async fn archive_step(
        &self,
        record: &EnvelopeRecord,
        item: Item<'_>,
        horizon: i64,
    ) -> Result<(Change, bool)> {
        let previous = self.read_blob(item.blob()).await?;
        let current = &previous.bytes;
        let until = match item.archive_until() {
            Some(until) => until,
            None => self.engine.archive_horizon(current)?,
        };
        let mut next = record.clone();
        let mut documents = Vec::new();
        if until > horizon {
            // Read for the first time (sealed before horizons were kept): recorded, not renewed.
            match item {
                Item::Document(d) => documents.push(DocumentRecord {
                    archive_until: Some(until),
                    ..d.clone()
                }),
                Item::Certificate(c) => {
                    next.certificate = Some(StoredCertificate {
                        archive_until: Some(until),
                        ..c.clone()
                    })
                }
            }
            let change = Change {
                envelope: Some(self.write_from(record, &next)),
                documents,
                now: self.now(),
                ..Change::default()
            };
            return Ok((change, false));
        }
        let renewed = self.engine.renew_archive(current).await?;
        let new_until = self.engine.archive_horizon(&renewed)?;
        if new_until <= until {
            return Err(ServiceError::Unavailable(format!(
                "the TSA's certificate path ends {}, no later than the current proof ({}): a new \
                 timestamp from it would not extend the archive; renew the TSA certificate or \
                 configure another TSA",
                crate::japan::format_slash_jst(new_until),
                crate::japan::format_slash_jst(until),
            )));
        }
        let org = record.organization();
        let (document, detail) = match item {
            Item::Document(d) => {
                let revision = d.revision + 1;
                let key = blob_key(org, record.id(), &format!("doc/{}/r{revision}", d.id));
                let (size, sha256) = self.put_blob_after(&key, &previous, &renewed).await?;
                documents.push(DocumentRecord {
                    current_blob: key,
                    revision,
                    size,
                    sha256: sha256.clone(),
                    archive_until: Some(new_until),
                    ..d.clone()
                });
                (
                    Some(d.id),
                    serde_json::json!({ "document": d.name, "revision": revision, "sha256": sha256 }),
                )
            }
            Item::Certificate(_) => {
                let key = blob_key(org, record.id(), &format!("certificate/{}", self.now()));
                let (size, sha256) = self.put_blob_after(&key, &previous, &renewed).await?;
                next.certificate = Some(StoredCertificate {
                    blob: key,
                    sha256: sha256.clone(),
                    size,
                    archive_until: Some(new_until),
                });
                (
                    None,
                    serde_json::json!({ "certificate": true, "sha256": sha256 }),
                )
            }
        };
        let mut detail = detail;
        detail["previous_sha256"] = item.sha256().into();
        detail["previous_valid_until"] = until.into();
        detail["valid_until"] = new_until.into();
        let audit = self.audit_entry(
            org,
            "system",
            "archive_renewed",
            Some(record.id()),
            document,
            &Caller::default(),
            detail,
        );
        let change = Change {
            envelope: Some(self.write_from(record, &next)),
            documents,
            audit: vec![audit],
            now: self.now(),
            ..Change::default()
        };
        Ok((change, true))
    }

    /// Queues the mail that tells the sender the renewal keeps failing — unless the
    /// organization was told in the last day.
    async fn archive_alert(&self, job: &ArchiveJob, reason: &str) -> Result<()> {
        let now = self.now();
        let dedupe = format!("archive-alert:{}", job.organization);
        if self.store.job_created_since(&dedupe, now - 86_400).await? {
            return Ok(());
        }
        let record = self.load(job.organization, job.envelope).await?;
        let documents = self.store.documents(job.organization, job.envelope).await?;
        let proof_ends_at = documents
            .iter()
            .filter_map(|d| d.archive_until)
            .chain(record.certificate.as_ref().and_then(|c| c.archive_until))
            .min()
            .unwrap_or(now);
        tracing::error!(
            envelope = %job.envelope,
            proof_ends_at,
            reason,
            "archive renewal keeps failing; the sender is told"
        );
        let mut mail = self.archive_alert_mail(
            job.organization,
            job.envelope,
            ArchiveAlert {
                proof_ends_at,
                reason: reason.chars().take(500).collect(),
            },
        );
        mail.dedupe_key = Some(dedupe);
        let audit = self.audit_entry(
            job.organization,
            "system",
            "archive_renewal_failing",
            Some(job.envelope),
            None,
            &Caller::default(),
            serde_json::json!({ "proof_ends_at": proof_ends_at, "reason": reason }),
        );
        self.store
            .apply(Change {
                jobs: vec![mail],
                audit: vec![audit],
                now,
                ..Change::default()
            })
            .await?;
        Ok(())
    }
}

impl Inkan {
    /// With PostgreSQL, a renewed certificate of the PKI is recorded for the OCSP responders of
    /// nodes on other hosts (see `shared_pki.rs`).
    async fn record_renewed(&self, r: &inkan_pki::Renewal, now: i64) -> Result<()> {
        if self.store.backend() != "postgres" {
            return Ok(());
        }
        let pki = self.engine.pki();
        let Some(generation) = pki.generations().find(|g| g.generation() == r.generation) else {
            return Ok(());
        };
        let certificate = match r.role {
            inkan_pki::ServiceRole::Tsa => generation.tsa_certificate(),
            inkan_pki::ServiceRole::Ocsp => generation.ocsp_certificate(),
            inkan_pki::ServiceRole::Witness => generation.witness_certificate(),
        };
        self.store
            .record_pki_certificate(
                &inkan_pki::shared::ca_label(r.generation, inkan_pki::CaRole::Issuing),
                &inkan_pki::serial_hex(&certificate.tbs_certificate.serial_number),
                now,
            )
            .await?;
        Ok(())
    }
}
