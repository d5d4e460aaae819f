//! The worker: claims due jobs, runs them, and records the outcome — done, retried later with
//! exponential backoff, or failed for good (visible, and retryable by an operator). It also
//! expires envelopes whose deadline passed. Jobs are claimed with a lease: when a worker dies
//! mid-job, the lease runs out and another worker (or the restarted one) takes the job over;
//! every handler is idempotent, so running a job twice does what running it once does.

use inkan_domain::{EnvelopeStatus, OrganizationId, Outcome};
use inkan_store::{Change, Job, JobFilter, JobStatus, StoreError};
use serde::Serialize;
use std::time::Duration;

use crate::metrics::JobOutcome;
use crate::{Caller, Inkan, Result, ServiceError};

/// Runs jobs for an [`Inkan`]: up to `Settings::worker_jobs` at a time, on the jobs' own
/// threads (see `background`).
#[derive(Clone)]
pub struct Worker {
    inkan: Inkan,
    /// Jobs started per round of [`Worker::run_once`], at most (a round ends when they have
    /// all finished).
    pub batch: u32,
    /// How long [`Worker::run`] waits, with a slot free, before looking for due jobs again.
    pub idle: Duration,
}

/// The sweeper's view of the job queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobReport {
    pub queued: usize,
    pub running: usize,
    /// Running jobs whose lease ran out: their worker died; they will be taken over.
    pub stalled: Vec<JobLine>,
    /// Jobs out of attempts: need an operator (`inkan jobs retry`).
    pub failed: Vec<JobLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobLine {
    pub id: String,
    pub kind: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

fn line(j: &Job) -> JobLine {
    JobLine {
        id: j.id.to_string(),
        kind: j.kind.clone(),
        attempts: j.attempts,
        last_error: j.last_error.clone(),
        updated_at: j.updated_at,
    }
}

/// What a job's task ended with when it did not return: the panic's message, or cancellation.
fn panic_text(join: tokio::task::JoinError) -> String {
    if !join.is_panic() {
        return "cancelled".into();
    }
    let payload = join.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    text.chars().take(500).collect()
}

/// A job's task, stopped when its worker's round is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Seconds to wait before attempt `attempts + 1`: 5 s, 10 s, 20 s … up to an hour.
fn backoff(attempts: u32) -> i64 {
    5i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(10))
        .min(3600)
}

impl Inkan {
    pub fn worker(&self) -> Worker {
        Worker {
            inkan: self.clone(),
            batch: 32,
            idle: Duration::from_millis(250),
        }
    }

    /// Runs one job's work.
    async fn run_job(&self, job: &Job) -> Result<()> {
        match job.kind.as_str() {
            "seal" => self.run_seal(&job.payload).await,
            "email" => self.run_mail_job(job.id, &job.payload).await,
            crate::signer_check::SMS_JOB => self.run_sms_job(job.id, &job.payload).await,
            "event" => self.run_event_job(&job.payload).await,
            "webhook" => self.run_webhook_job(&job.payload).await,
            crate::archive::ARCHIVE_JOB => self.run_archive_job(job).await,
            crate::bulk::BULK_JOB => self.run_bulk_job(job).await,
            other => Err(ServiceError::Invalid(format!("unknown job kind {other:?}"))),
        }
    }

    /// Expires envelopes whose deadline has passed (期限切れ). Returns how many.
    pub async fn expire_due(&self) -> Result<usize> {
        let now = self.now();
        let mut count = 0;
        for (org, id) in self.store.envelopes_past_deadline(now, 100).await? {
            let mut record = self.load(org, id).await?;
            let before = record.clone();
            if record.envelope.expire(now)? != Outcome::Changed(EnvelopeStatus::Expired) {
                continue;
            }
            let mut change = Change {
                now,
                ..Change::default()
            };
            self.after_transition(
                &mut record,
                &mut change,
                &Caller::default(),
                "system",
                "expire",
                serde_json::json!({}),
            )?;
            change.envelope = Some(self.write_from(&before, &record));
            match self.store.apply(change).await {
                Ok(()) => count += 1,
                Err(StoreError::Conflict) => {} // someone acted at the same moment; next round
                Err(e) => return Err(e.into()),
            }
        }
        Ok(count)
    }

    /// The sweeper: what is queued, stalled or failed — the whole installation's (`None`, for
    /// operators) or one organization's jobs. Stalled and failed work is logged.
    pub async fn job_report(&self, scope: Option<OrganizationId>) -> Result<JobReport> {
        let now = self.now();
        let all = |status| JobFilter {
            status: Some(status),
            organization: scope,
            limit: 10_000,
            ..JobFilter::default()
        };
        let queued = self.store.jobs(&all(JobStatus::Queued)).await?.len();
        let running = self.store.jobs(&all(JobStatus::Running)).await?;
        let stalled: Vec<JobLine> = running
            .iter()
            .filter(|j| j.locked_until.is_some_and(|t| t < now))
            .map(line)
            .collect();
        let failed = self.failed_jobs(scope).await?;
        for j in &stalled {
            tracing::warn!(job = %j.id, kind = %j.kind, "job stalled: its worker stopped; it will be taken over");
        }
        for j in &failed {
            tracing::error!(job = %j.id, kind = %j.kind, error = ?j.last_error, "job failed for good: retry it with `inkan jobs retry`");
        }
        Ok(JobReport {
            queued,
            running: running.len(),
            stalled,
            failed,
        })
    }

    /// Jobs out of attempts, newest first: the whole installation's (`None`) or one
    /// organization's, as the staff dashboard shows them.
    pub async fn failed_jobs(&self, scope: Option<OrganizationId>) -> Result<Vec<JobLine>> {
        let mut failed: Vec<JobLine> = self
            .store
            .jobs(&JobFilter {
                status: Some(JobStatus::Failed),
                organization: scope,
                limit: 10_000,
                ..JobFilter::default()
            })
            .await?
            .iter()
            .map(line)
            .collect();
        failed.sort_by_key(|j| std::cmp::Reverse(j.updated_at));
        Ok(failed)
    }

    /// Puts a failed job back in the queue; with a scope, only that organization's jobs.
    pub async fn retry_job(&self, scope: Option<OrganizationId>, id: &str) -> Result<()> {
        let id = id.parse().map_err(|_| ServiceError::NotFound("the job"))?;
        let job = self
            .store
            .job(id)
            .await?
            .ok_or(ServiceError::NotFound("the job"))?;
        if scope.is_some() && job.organization != scope {
            return Err(ServiceError::NotFound("the job"));
        }
        Ok(self.store.requeue_job(id, self.now()).await?)
    }
}

impl Worker {
    /// Up to `count` due jobs, leased to this worker.
    async fn claim(&self, now: i64, count: usize) -> Result<Vec<Job>> {
        let settings = &self.inkan.settings;
        Ok(self
            .inkan
            .store
            .claim_jobs(
                &settings.worker_id,
                now,
                settings.job_lease_seconds,
                u32::try_from(count).unwrap_or(u32::MAX),
            )
            .await?)
    }

    /// One round: expiry, then due jobs — up to `worker_jobs` at once, a new one claimed as
    /// each finishes, until `batch` have been started or none is due. Returns the jobs run.
    pub async fn run_once(&self) -> Result<usize> {
        let inkan = &self.inkan;
        inkan.expire_due().await?;
        inkan.store.fail_abandoned_jobs(inkan.now()).await?;
        let parallel = inkan.settings.worker_jobs.max(1);
        let background = crate::background::handle();
        // Dropped with the round (the worker stopped): every job in it stops, as it would with
        // the process; their leases run out and another worker takes them over.
        let mut running = tokio::task::JoinSet::new();
        let mut started = 0usize;
        loop {
            // Claimed again each time a job finishes: work that became due meanwhile (a seal
            // after a sign request) starts at once.
            let free = parallel.saturating_sub(running.len());
            let wanted = free.min((self.batch as usize).saturating_sub(started));
            if wanted > 0 {
                let jobs = self.claim(inkan.now(), wanted).await?;
                for job in jobs {
                    started += 1;
                    running.spawn_on(attempt(inkan.clone(), job), &background);
                }
            }
            match running.join_next().await {
                None => return Ok(started),
                Some(Ok(recorded)) => recorded?,
                Some(Err(e)) => {
                    return Err(ServiceError::internal(format!(
                        "a job's worker task stopped: {e}"
                    )))
                }
            }
        }
    }

    /// Runs rounds until nothing is due (for tests and `inkan demo`).
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let n = self.run_once().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// Runs forever (until the task is dropped): up to `worker_jobs` jobs at once, a free slot
    /// filled as soon as a job is due — when a job finishes, and at least every `idle` while
    /// a slot is free. Unlike rounds of [`Self::run_once`], the jobs never drain to none before
    /// the next are claimed: the last jobs of a round ran one or two at a time while the cores
    /// were idle (a third of the machine under load). Expiry runs every second; every minute
    /// the sweep (stalled and failed jobs reported, audit chain heads timestamped when due);
    /// every hour the archive sweep (the PKI's certificates renewed when they end soon,
    /// archive timestamps renewed when due).
    pub async fn run(self) {
        let inkan = &self.inkan;
        let parallel = inkan.settings.worker_jobs.max(1);
        let background = crate::background::handle();
        // Dropped with the worker: every job in it stops, as it would with the process; their
        // leases run out and another worker takes them over.
        let mut running = tokio::task::JoinSet::new();
        let (mut last_expiry, mut last_sweep, mut last_archive_sweep) = (i64::MIN, 0, 0);
        loop {
            let now = inkan.now();
            if now != last_expiry {
                last_expiry = now;
                if let Err(e) = inkan.expire_due().await {
                    tracing::error!(error = %e, "expiring envelopes failed; tried again in a second");
                }
                if let Err(e) = inkan.store.fail_abandoned_jobs(now).await {
                    tracing::error!(error = %e, "failing abandoned jobs failed; tried again in a second");
                }
            }
            let free = parallel.saturating_sub(running.len());
            if free > 0 {
                let claimed = self.claim(now, free).await;
                match claimed {
                    Ok(jobs) => {
                        for job in jobs {
                            running.spawn_on(attempt(inkan.clone(), job), &background);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "claiming jobs failed; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
            if running.is_empty() {
                tokio::time::sleep(self.idle).await;
            } else if running.len() < parallel {
                tokio::select! {
                    finished = running.join_next() => log_finished(finished),
                    () = tokio::time::sleep(self.idle) => {}
                }
            } else {
                log_finished(running.join_next().await);
            }
            if now - last_sweep >= 60 {
                last_sweep = now;
                if let Err(e) = inkan.job_report(None).await {
                    tracing::error!(error = %e, "sweeper failed");
                }
                // Each organization's audit chain head, timestamped once per interval while
                // it moves (a failed timestamp is logged and tried again next sweep).
                if let Err(e) = inkan.anchor_audit_chains(true).await {
                    tracing::error!(error = %e, "audit anchoring failed");
                }
            }
            if now - last_archive_sweep >= 3600 {
                last_archive_sweep = now;
                if let Err(e) = inkan.sweep_archives().await {
                    tracing::error!(error = %e, "archive sweep failed; tried again in an hour");
                }
            }
        }
    }
}

/// What [`Worker::run`] does with a job's end: its outcome is recorded by [`attempt`]; a
/// failure to record it is logged, and the job's lease lets another attempt take it over.
fn log_finished(finished: Option<std::result::Result<Result<()>, tokio::task::JoinError>>) {
    match finished {
        None | Some(Ok(Ok(()))) => {}
        Some(Ok(Err(e))) => tracing::error!(error = %e, "recording a job's outcome failed"),
        Some(Err(e)) => tracing::error!(error = %e, "a job's worker task stopped"),
    }
}

/// Runs one claimed job and records its outcome: done, retried later, or failed for good.
async fn attempt(inkan: Inkan, job: Job) -> Result<()> {
    let (id, kind, attempts, max_attempts) =
        (job.id, job.kind.clone(), job.attempts, job.max_attempts);
    // The job runs in a task of its own: a panic in it (a bug, a library that chokes on a
    // value) fails that job with its reason, and the worker goes on with the others. Should
    // this attempt be dropped, the job's task stops with it.
    let started = std::time::Instant::now();
    let runner = inkan.clone();
    let mut task = AbortOnDrop(tokio::spawn(async move { runner.run_job(&job).await }));
    let outcome = (&mut task.0).await;
    let seconds = started.elapsed().as_secs_f64();
    let now = inkan.now();
    let (error, permanent) = match outcome {
        Ok(Ok(())) => {
            inkan.store.finish_job(id, now).await?;
            inkan.metrics.observe_job(&kind, JobOutcome::Done, seconds);
            return Ok(());
        }
        Ok(Err(e)) => {
            let permanent = matches!(
                e,
                ServiceError::Invalid(_) | ServiceError::NotFound(_) | ServiceError::NotAllowed(_)
            );
            (e.to_string(), permanent)
        }
        // Running it again would panic again: failed for good, for an operator to see.
        Err(join) => (
            format!(
                "the job stopped with an internal fault: {}",
                panic_text(join)
            ),
            true,
        ),
    };
    tracing::warn!(job = %id, kind = %kind, attempt = attempts, permanent, error = %error, "job attempt failed");
    let retry_at = (!permanent).then(|| now + backoff(attempts));
    inkan.store.fail_job(id, &error, retry_at, now).await?;
    // The store fails a job for good once its attempts are used up.
    let for_good = permanent || attempts >= max_attempts;
    let outcome = if for_good {
        JobOutcome::Failed
    } else {
        JobOutcome::Retry
    };
    inkan.metrics.observe_job(&kind, outcome, seconds);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), 5);
        assert_eq!(backoff(2), 10);
        assert_eq!(backoff(3), 20);
        assert_eq!(backoff(100), 3600);
        assert_eq!(backoff(0), 5);
    }
}
