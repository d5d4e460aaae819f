//! Recording actions in the audit trail (each entry is part of the same atomic change as the
//! action itself) and verifying the hash chains.

use inkan_domain::{DocumentId, EnvelopeId, OrganizationId};
use inkan_store::{verify_chain, NewAuditEntry};
use serde::Serialize;

use crate::{Caller, Inkan, Result};

/// The result of `inkan audit verify` for one organization.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub organization: String,
    pub entries: usize,
    /// `None` when the chain is intact, else where and how it is broken.
    pub broken: Option<String>,
}

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
            ip: caller.ip.clone(),
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

    /// Verifies every organization's chain.
    pub async fn verify_audit(&self) -> Result<Vec<AuditReport>> {
        let mut reports = Vec::new();
        for org in self.store.audited_organizations().await? {
            let entries = self.store.audit_entries(org, None).await?;
            let head = self.store.audit_head(org).await?;
            let broken = verify_chain(&entries, head.as_ref().map(|(s, h)| (*s, h.as_str())))
                .err()
                .map(|b| b.to_string());
            reports.push(AuditReport {
                organization: org.to_string(),
                entries: entries.len(),
                broken,
            });
        }
        Ok(reports)
    }
}
