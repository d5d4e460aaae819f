//! Readiness (`/readyz`): whether this node can do its work now — the database answers, the
//! blob store answers, and a TSA grants a timestamp. A load balancer or an orchestrator asks
//! often, and anyone may: the answer is kept for [`READINESS_TTL_SECONDS`], so probes never turn
//! into a stream of TSA requests.

use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Inkan, Result};

/// How long one readiness answer is reused.
pub const READINESS_TTL_SECONDS: i64 = 30;

/// One dependency's state: `ok`, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// True when every check passed.
    pub ready: bool,
    /// `ok` or the reason (the database).
    pub database: String,
    /// `ok` or the reason (the blob store).
    pub blobs: String,
    /// `ok` or the reason (a timestamp from the configured TSA).
    pub tsa: String,
    /// When the checks ran, Unix seconds.
    pub checked_at: i64,
}

impl Readiness {
    /// The same verdicts without their reasons (`down` for each part that is not `ok`): what
    /// anyone on the network may see. A reason can name a database host and user, a bucket or
    /// a TSA's address.
    pub fn redacted(mut self) -> Readiness {
        for part in [&mut self.database, &mut self.blobs, &mut self.tsa] {
            if part != "ok" {
                *part = "down".into();
            }
        }
        self
    }
}

/// The last answer, shared by every request of the process.
#[derive(Default)]
pub(crate) struct ReadinessCache(Mutex<Option<Readiness>>);

fn verdict<T>(outcome: Result<T>) -> String {
    match outcome {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string().chars().take(300).collect(),
    }
}

impl Inkan {
    /// Checks the database, the blob store and the TSA — or returns the answer of the last
    /// [`READINESS_TTL_SECONDS`].
    pub async fn readiness(&self) -> Readiness {
        let now = self.now();
        if let Ok(cached) = self.readiness.0.lock() {
            if let Some(r) = cached
                .as_ref()
                .filter(|r| now - r.checked_at < READINESS_TTL_SECONDS)
            {
                return r.clone();
            }
        }
        let database = verdict(
            self.store
                .organization(inkan_domain::OrganizationId::new())
                .await
                .map_err(Into::into),
        );
        let blobs = verdict(self.blobs.list("readyz/").await.map_err(Into::into));
        let imprint: [u8; 32] = Sha256::digest(b"inkan readiness").into();
        let tsa = verdict(self.engine.timestamp(&imprint).await);
        let answer = Readiness {
            ready: [&database, &blobs, &tsa].iter().all(|v| *v == "ok"),
            database,
            blobs,
            tsa,
            checked_at: now,
        };
        if !answer.ready {
            tracing::warn!(?answer, "not ready");
        }
        if let Ok(mut cached) = self.readiness.0.lock() {
            *cached = Some(answer.clone());
        }
        answer
    }
}
