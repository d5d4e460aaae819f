//! Recording actions in the audit trail (each entry is part of the same atomic change as the
//! action itself) and verifying the hash chains.

use inkan_domain::{DocumentId, EnvelopeId, OrganizationId};
use inkan_store::{anchor_imprint, AuditAnchor, AuditEntry, NewAuditEntry};
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::TimestampFault;
use crate::japan::format_iso_jst;
use crate::{Caller, Inkan, Result};

/// The result of `inkan audit verify` for one organization.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub organization: String,
    pub entries: usize,
    /// `None` when the chain is intact, else where and how it is broken.
    pub broken: Option<String>,
    /// The newest entry a valid timestamp anchors, and the token's time.
    pub anchored: Option<Anchored>,
    /// Set when entries older than the anchoring interval (and an hour) wait for an anchor, or
    /// got one late (the TSA was unreachable), or an anchor's TSA is not trusted: the chain is
    /// intact as far as the key shows, but the time proof is missing.
    pub unanchored: Option<String>,
}

/// A timestamp anchor that checked out.
#[derive(Debug, Clone, Serialize)]
pub struct Anchored {
    pub seq: i64,
    /// The token's time (JST, ISO 8601).
    pub time: String,
}

/// What one anchoring round did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnchorRound {
    /// Organizations whose chain head was timestamped.
    pub anchored: usize,
    /// Organizations whose timestamp could not be had (each with the reason, also logged).
    pub failed: Vec<String>,
}

/// How late an anchor may come after the interval: one sweep period and a TSA round trip, with
/// room to spare.
const ANCHOR_GRACE_SECONDS: i64 = 3600;

impl Inkan {
    #[allow(clippy::too_many_arguments)] // one entry has this many facts
    pub(crate) fn audit_entry(
        &self,
        organization: OrganizationId,
        actor: &str,
        action: &str,
        envelope: Option<EnvelopeId>,
        document: Option<DocumentId>,
        caller: &Caller,
        detail: serde_json::Value,
    ) -> NewAuditEntry {
        NewAuditEntry {
            organization,
            at: self.now(),
            actor: actor.to_string(),
            action: action.to_string(),
            envelope,
            document,
            ip: caller.ip.map(|ip| ip.to_string()),
            user_agent: caller.user_agent.clone(),
            detail,
        }
    }

    /// Appends one entry on its own (for actions that change nothing else: views, downloads).
    pub(crate) async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        self.store
            .apply(inkan_store::Change {
                audit: vec![entry],
                now: self.now(),
                ..inkan_store::Change::default()
            })
            .await?;
        Ok(())
    }

    /// Timestamps every organization's chain head that moved since its last anchor. With
    /// `only_due`, only heads whose last anchor is older than the anchoring interval (the
    /// worker's sweep); without, every moved head (`inkan audit anchor`). A TSA that does not
    /// answer fails that organization's anchor, never the others', and nothing is recorded.
    pub async fn anchor_audit_chains(&self, only_due: bool) -> Result<AnchorRound> {
        let mut round = AnchorRound::default();
        for org in self.store.audited_organizations().await? {
            let Some((seq, hash)) = self.store.audit_head(org).await? else {
                continue;
            };
            let last = self.store.last_audit_anchor(org).await?;
            let last = last.as_ref();
            let moved = last.is_none_or(|a| a.seq < seq);
            let due = last.is_none_or(|a| self.now() - a.at >= self.settings.audit_anchor_seconds);
            if seq == 0 || !moved || (only_due && !due) {
                continue;
            }
            match self
                .engine
                .timestamp(&anchor_imprint(org, seq, &hash))
                .await
            {
                Ok(token) => {
                    self.store
                        .add_audit_anchor(&AuditAnchor {
                            organization: org,
                            seq,
                            hash,
                            at: self.now(),
                            token: token.der,
                        })
                        .await?;
                    round.anchored += 1;
                }
                Err(e) => {
                    tracing::warn!(organization = %org, error = %e, "audit chain head not timestamped");
                    round.failed.push(format!("{org}: {e}"));
                }
            }
        }
        Ok(round)
    }

    /// Verifies every organization's chain: the keyed hashes, the head, every timestamp anchor
    /// against the entry it covers, and that every entry older than the anchoring interval is
    /// anchored in time.
    pub async fn verify_audit(&self) -> Result<Vec<AuditReport>> {
        let mut reports = Vec::new();
        for org in self.store.audited_organizations().await? {
            let entries = self.store.audit_entries(org, None).await?;
            let head = self.store.audit_head(org).await?;
            let anchors = self.store.audit_anchors(org).await?;
            let mut report = AuditReport {
                organization: org.to_string(),
                entries: entries.len(),
                broken: None,
                anchored: None,
                unanchored: None,
            };
            match self
                .store
                .check_chain(&entries, head.as_ref().map(|(s, h)| (*s, h.as_str())))
            {
                Err(b) => report.broken = Some(b.to_string()),
                Ok(summary) => {
                    self.check_anchors(&entries, &anchors, summary.last_unkeyed, &mut report)
                }
            }
            reports.push(report);
        }
        Ok(reports)
    }

    /// The anchors' part of [`Inkan::verify_audit`], for a chain whose hashes hold.
    fn check_anchors(
        &self,
        entries: &[AuditEntry],
        anchors: &[AuditAnchor],
        last_unkeyed: Option<i64>,
        report: &mut AuditReport,
    ) {
        // Each valid anchor: (the entry it covers, the token's time in Unix seconds).
        let mut proven: Vec<(i64, i64)> = Vec::new();
        for anchor in anchors {
            let covered = usize::try_from(anchor.seq - 1)
                .ok()
                .and_then(|i| entries.get(i));
            if covered.is_none_or(|e| e.hash != anchor.hash) {
                report.broken = Some(format!(
                    "entry {}: the timestamp anchor made at {} covers another hash (the entries up to it were rewritten after they were anchored)",
                    anchor.seq,
                    crate::japan::format_japanese(anchor.at)
                ));
                return;
            }
            let imprint = anchor_imprint(anchor.organization, anchor.seq, &anchor.hash);
            match self.engine.check_timestamp(&anchor.token, &imprint) {
                Ok(time) => proven.push((anchor.seq, unix(time))),
                Err(TimestampFault::Invalid(why)) => {
                    report.broken = Some(format!(
                        "entry {}: its timestamp anchor is not valid ({why})",
                        anchor.seq
                    ));
                    return;
                }
                Err(fault @ TimestampFault::Untrusted(_)) => {
                    report.unanchored = Some(format!("entry {}: {fault}", anchor.seq));
                }
            }
        }
        if let Some(&(seq, time)) = proven.iter().max_by_key(|(seq, _)| *seq) {
            report.anchored = Some(Anchored {
                seq,
                time: format_iso_jst(
                    UNIX_EPOCH + std::time::Duration::from_secs(time.max(0) as u64),
                ),
            });
        }
        let anchored_through = report.anchored.as_ref().map_or(0, |a| a.seq);
        if let Some(legacy) = last_unkeyed.filter(|&seq| seq > anchored_through) {
            report.broken = Some(format!(
                "entries 1 to {legacy} have unkeyed hashes and no timestamp anchors them (the chain may have been recomputed without the audit key)"
            ));
            return;
        }
        if report.unanchored.is_none() {
            report.unanchored = self.late_anchoring(entries, &proven);
        }
    }

    /// The first entry old enough to be anchored that has no anchor within the interval.
    fn late_anchoring(&self, entries: &[AuditEntry], proven: &[(i64, i64)]) -> Option<String> {
        let allowed = self.settings.audit_anchor_seconds + ANCHOR_GRACE_SECONDS;
        let now = self.now();
        let mut proven = proven.to_vec();
        proven.sort_unstable();
        let mut next = proven.iter().peekable();
        for e in entries.iter().filter(|e| now - e.entry.at > allowed) {
            while next.peek().is_some_and(|(seq, _)| *seq < e.seq) {
                next.next();
            }
            let at = crate::japan::format_japanese(e.entry.at);
            match next.peek() {
                None => {
                    return Some(format!(
                        "entry {} ({at}) and those after it have no timestamp anchor yet (is the TSA reachable?)",
                        e.seq
                    ))
                }
                Some((_, time)) if *time - e.entry.at > allowed => {
                    return Some(format!(
                        "entry {} ({at}) was anchored only at {}",
                        e.seq,
                        crate::japan::format_japanese(*time)
                    ))
                }
                Some(_) => {}
            }
        }
        None
    }
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
