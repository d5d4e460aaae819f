//! Prometheus metrics (`/metrics`, OpenMetrics text): what an operator alerts on, listed with
//! thresholds in `docs/operations.md`.
//!
//! Two sorts of value. Events of this process are counted as they happen: requests by route
//! and status with their latency, jobs run by kind and outcome with their duration (a `seal`
//! job's duration is the sealing time), failed TSA and OCSP requests. States are read when the
//! metrics are scraped, so that every node reports the same shared truth: jobs queued, running
//! and failed (and how old the oldest is) from the database, days left on each certificate of
//! the PKI, and the newest backup set.

use std::time::SystemTime;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::{Inkan, Result, ServiceError};

/// The `Content-Type` of [`Inkan::metrics_text`].
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's pattern (`/api/v1/envelopes/{id}`), never the path itself: ids and link
    /// tokens stay out of the metrics, and the series stay few.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobRunLabels {
    kind: String,
    /// `done`, `retry` (failed, tried again later) or `failed` (failed for good).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobKindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobStateLabels {
    kind: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    role: &'static str,
    subject: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackupLabels {
    /// Where the sets are written (a folder or `s3://bucket/prefix`).
    destination: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

fn job_histogram() -> Histogram {
    Histogram::new([
        0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ])
}

/// A job's end, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobOutcome {
    Done,
    Retry,
    Failed,
}

impl JobOutcome {
    fn label(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Retry => "retry",
            JobOutcome::Failed => "failed",
        }
    }
}

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    jobs_run: Family<JobRunLabels, Counter>,
    job_duration: HistogramFamily<JobKindLabels>,
    tsa_failures: Counter,
    ocsp_failures: Counter,
    jobs: Family<JobStateLabels, Gauge>,
    job_oldest_age: Family<JobStateLabels, Gauge>,
    certificate_days_left: Family<CertificateLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    certificate_not_after: Family<CertificateLabels, Gauge>,
    backup_last: Family<BackupLabels, Gauge>,
    backup_age: Family<BackupLabels, Gauge>,
    /// Where backups go and the newest complete set there (Unix seconds; 0: none), once the
    /// backup schedule of this process has looked.
    newest_backup: std::sync::Mutex<Option<(String, i64)>>,
    /// One scrape at a time: the scrape-time values are cleared and set again.
    scrape: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("inkan");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and route pattern",
            Unit::Seconds,
            latency.clone(),
        );
        let jobs_run = Family::<JobRunLabels, Counter>::default();
        registry.register(
            "jobs_run",
            "Job attempts of this process, by kind and outcome (done, retry, failed)",
            jobs_run.clone(),
        );
        let job_duration: HistogramFamily<JobKindLabels> =
            Family::new_with_constructor(job_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "job_duration",
            "Time one job attempt took, by kind (kind=\"seal\": the sealing time)",
            Unit::Seconds,
            job_duration.clone(),
        );
        let tsa_failures = Counter::default();
        registry.register(
            "tsa_failures",
            "TSA requests of this process that brought no valid timestamp (each attempt)",
            tsa_failures.clone(),
        );
        let ocsp_failures = Counter::default();
        registry.register(
            "ocsp_failures",
            "OCSP queries of this process that brought no valid answer",
            ocsp_failures.clone(),
        );
        let jobs = Family::<JobStateLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs in the database, by kind and status (queued, running, done, failed)",
            jobs.clone(),
        );
        let job_oldest_age = Family::<JobStateLabels, Gauge>::default();
        registry.register_with_unit(
            "job_oldest_age",
            "Age of the oldest job of each kind and status: since it became due (queued) or \
             last changed (running, failed)",
            Unit::Seconds,
            job_oldest_age.clone(),
        );
        let certificate_days_left = Family::default();
        registry.register(
            "certificate_days_left",
            "Days until each certificate of the built-in PKI ends (root, issuing-ca, tsa, ocsp, \
             witness)",
            certificate_days_left.clone(),
        );
        let certificate_not_after = Family::<CertificateLabels, Gauge>::default();
        registry.register_with_unit(
            "certificate_not_after",
            "When each certificate of the built-in PKI ends, Unix time",
            Unit::Seconds,
            certificate_not_after.clone(),
        );
        let backup_last = Family::<BackupLabels, Gauge>::default();
        registry.register_with_unit(
            "backup_last_success",
            "When the newest complete backup set was made, Unix time (0: there is none); \
             reported by the process that runs the backup schedule (`inkan serve`)",
            Unit::Seconds,
            backup_last.clone(),
        );
        let backup_age = Family::<BackupLabels, Gauge>::default();
        registry.register_with_unit(
            "backup_age",
            "Age of the newest complete backup set (with no set at all: since 1970)",
            Unit::Seconds,
            backup_age.clone(),
        );
        registry.register(
            "build",
            "The Inkan version",
            Info::new(VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Metrics {
            registry,
            requests,
            latency,
            jobs_run,
            job_duration,
            tsa_failures,
            ocsp_failures,
            jobs,
            job_oldest_age,
            certificate_days_left,
            certificate_not_after,
            backup_last,
            backup_age,
            newest_backup: std::sync::Mutex::new(None),
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// One answered request: `route` is the matched route's pattern (or `unmatched`).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    pub(crate) fn observe_job(&self, kind: &str, outcome: JobOutcome, seconds: f64) {
        self.jobs_run
            .get_or_create(&JobRunLabels {
                kind: kind.to_string(),
                outcome: outcome.label(),
            })
            .inc();
        self.job_duration
            .get_or_create(&JobKindLabels {
                kind: kind.to_string(),
            })
            .observe(seconds);
    }

    /// The newest complete backup set at `destination` (0: none), each time the backup
    /// schedule has listed the sets.
    pub(crate) fn saw_backups(&self, destination: &str, newest: i64) {
        if let Ok(mut seen) = self.newest_backup.lock() {
            *seen = Some((destination.to_string(), newest));
        }
    }
}

/// Whole days (with a fraction) from `now` to `end`; negative once it ended.
fn days_between(now: SystemTime, end: SystemTime) -> f64 {
    match end.duration_since(now) {
        Ok(left) => left.as_secs_f64() / 86_400.0,
        Err(past) => -past.duration().as_secs_f64() / 86_400.0,
    }
}

fn unix(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

impl Inkan {
    /// This process's metrics, for the web layer to record requests in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The metrics in the OpenMetrics text format ([`METRICS_CONTENT_TYPE`]), the scrape-time
    /// values read now.
    pub async fn metrics_text(&self) -> Result<String> {
        let m = &*self.metrics;
        let _one_at_a_time = m.scrape.lock().await;
        let now = self.now();

        m.jobs.clear();
        m.job_oldest_age.clear();
        for group in self.store.job_counts().await? {
            let labels = JobStateLabels {
                kind: group.kind,
                status: group.status.name(),
            };
            m.jobs
                .get_or_create(&labels)
                .set(i64::try_from(group.count).unwrap_or(i64::MAX));
            m.job_oldest_age
                .get_or_create(&labels)
                .set((now - group.oldest).max(0));
        }

        // The counters follow the process-wide tallies of inkan-pki (they only grow).
        for (counter, total) in [
            (&m.tsa_failures, inkan_pki::failures::tsa()),
            (&m.ocsp_failures, inkan_pki::failures::ocsp()),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }

        m.certificate_days_left.clear();
        m.certificate_not_after.clear();
        let clock_now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64);
        for expiry in self.engine.pki().expiries() {
            let labels = CertificateLabels {
                role: expiry.role,
                subject: expiry.subject,
            };
            m.certificate_days_left
                .get_or_create(&labels)
                .set(days_between(clock_now, expiry.not_after));
            m.certificate_not_after
                .get_or_create(&labels)
                .set(unix(expiry.not_after));
        }

        let seen = m.newest_backup.lock().ok().and_then(|seen| seen.clone());
        if let Some((destination, newest)) = seen {
            let labels = BackupLabels { destination };
            m.backup_last.get_or_create(&labels).set(newest);
            m.backup_age
                .get_or_create(&labels)
                .set((now - newest).max(0));
        }

        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &m.registry)
            .map_err(|e| ServiceError::failed("encoding the metrics", e))?;
        Ok(text)
    }
}
