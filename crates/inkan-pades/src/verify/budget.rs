//! How much work one verification may do. A PDF is a program of sorts: its DSS can name one
//! large stream a thousand times, or hundreds of distinct ones, and it can hold a hundred
//! signatures that each hash the whole file. A verifier that anyone can feed (the public
//! `/verify`) must stop such a file early, with a clear "too complex to verify", instead of
//! spending minutes of CPU or gigabytes of memory on it.
//!
//! The budget counts as the checks run; once any limit is passed it stays spent, every later
//! step skips its work, and [`super::verify_pdf`] returns [`crate::PadesError::TooComplex`]
//! naming the limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits of one verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    /// Signatures and document timestamps (a real contract has a few; a document renewed
    /// every year for decades a few dozen).
    pub max_signatures: usize,
    /// Revisions (incremental updates) of the file.
    pub max_revisions: usize,
    /// Bytes decoded from streams (DSS certificates, OCSP responses, CRLs), all revisions
    /// together.
    pub max_decoded_bytes: u64,
    /// Bytes hashed for the signatures' ByteRanges, all signatures together.
    pub max_hashed_bytes: u64,
    /// Objects the modification analysis looks at, all revisions together.
    pub max_objects: u64,
    /// Wall time.
    pub max_time: Duration,
}

impl VerifyLimits {
    /// For files anyone may upload to a shared server: a few seconds of one core and tens of
    /// MB at most, still far above what real contracts need.
    pub fn public() -> VerifyLimits {
        VerifyLimits {
            max_signatures: 32,
            max_revisions: 64,
            max_decoded_bytes: 64 << 20,
            max_hashed_bytes: 1 << 30,
            max_objects: 200_000,
            max_time: Duration::from_secs(20),
        }
    }
}

impl Default for VerifyLimits {
    /// For a person verifying a file of their own (`inkan verify`): generous, but still finite.
    fn default() -> VerifyLimits {
        VerifyLimits {
            max_signatures: 1000,
            max_revisions: 5000,
            max_decoded_bytes: 4 << 30,
            max_hashed_bytes: 256 << 30,
            max_objects: 50_000_000,
            max_time: Duration::from_secs(3600),
        }
    }
}

/// What one verification has spent so far (shared by the checks through the context).
#[derive(Debug)]
pub(crate) struct Budget {
    limits: VerifyLimits,
    started: Instant,
    decoded: AtomicU64,
    hashed: AtomicU64,
    objects: AtomicU64,
    /// The first limit passed, in Japanese and English.
    exceeded: Mutex<Option<String>>,
}

impl Budget {
    pub(crate) fn new(limits: VerifyLimits) -> Budget {
        Budget {
            limits,
            started: Instant::now(),
            decoded: AtomicU64::new(0),
            hashed: AtomicU64::new(0),
            objects: AtomicU64::new(0),
            exceeded: Mutex::new(None),
        }
    }

    pub(crate) fn limits(&self) -> &VerifyLimits {
        &self.limits
    }

    /// Records the first limit passed (later ones add nothing).
    pub(crate) fn exceed(&self, why: String) {
        let mut slot = self
            .exceeded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(why);
    }

    /// The limit that was passed, if any.
    pub(crate) fn exceeded(&self) -> Option<String> {
        self.exceeded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// True while the work may go on: nothing exceeded and time left.
    pub(crate) fn ok(&self) -> bool {
        if self.exceeded().is_some() {
            return false;
        }
        if self.started.elapsed() > self.limits.max_time {
            self.exceed(format!(
                "検証に {} 秒以上かかります (it takes longer than {} s)",
                self.limits.max_time.as_secs(),
                self.limits.max_time.as_secs()
            ));
            return false;
        }
        true
    }

    fn spend(&self, counter: &AtomicU64, amount: u64, limit: u64, what: &str) -> bool {
        let total = counter
            .fetch_add(amount, Ordering::Relaxed)
            .saturating_add(amount);
        if total > limit {
            self.exceed(format!("{what}: {limit} を超えます (more than {limit})"));
            return false;
        }
        self.ok()
    }

    /// Before decoding a stream of `len` bytes (its declared or decoded length).
    pub(crate) fn decode(&self, len: u64) -> bool {
        self.spend(
            &self.decoded,
            len,
            self.limits.max_decoded_bytes,
            "展開するデータのバイト数 (bytes decoded)",
        )
    }

    /// Before hashing `len` bytes of a signature's ByteRange.
    pub(crate) fn hash(&self, len: u64) -> bool {
        self.spend(
            &self.hashed,
            len,
            self.limits.max_hashed_bytes,
            "署名のために読むバイト数 (bytes hashed)",
        )
    }

    /// Before looking at `count` objects.
    pub(crate) fn objects(&self, count: u64) -> bool {
        self.spend(
            &self.objects,
            count,
            self.limits.max_objects,
            "調べるオブジェクトの数 (objects examined)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_limit_passed_is_kept_and_stops_everything() {
        let budget = Budget::new(VerifyLimits {
            max_decoded_bytes: 10,
            ..VerifyLimits::public()
        });
        assert!(budget.decode(6));
        assert!(budget.ok());
        assert!(!budget.decode(6));
        assert!(!budget.hash(1), "spent: nothing more runs");
        let why = budget.exceeded().unwrap_or_default();
        assert!(why.contains("bytes decoded"), "{why}");
    }

    #[test]
    fn time_runs_out() {
        let budget = Budget::new(VerifyLimits {
            max_time: Duration::ZERO,
            ..VerifyLimits::public()
        });
        std::thread::sleep(Duration::from_millis(2));
        assert!(!budget.ok());
        assert!(budget
            .exceeded()
            .unwrap_or_default()
            .contains("longer than"));
    }
}
