//! The 操作ログ as a clerk reads it: who acted by name (a staff member, an API key, a signer
//! with their company and email, the system), what they did, and one row per human action (the
//! page images of one viewing, the steps of one sealing, are one row). The hash-chained entries
//! behind it stay as they are (`audit_trail`), for `audit verify` and the API.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use inkan_domain::CalendarDate;
use inkan_domain::{ApiKeyId, UserId};
use inkan_store::{AuditEntry, EnvelopeRecord};
use serde::{Deserialize, Serialize};

use crate::{Inkan, Result, Staff};

/// Entries of the same actor and action this close together are one row.
const SAME_ACTION_SECONDS: i64 = 600;

/// Who did something, as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorView {
    /// `staff`, `api_key`, `signer` or `system`.
    pub kind: &'static str,
    /// A person's name, an API key's name, or `system`.
    pub name: String,
    /// The signer's company, when known.
    pub company: Option<String>,
    pub email: Option<String>,
}

/// One row of the readable log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    /// The first entry of the row, in the chain.
    pub seq: i64,
    /// When it began (Unix seconds).
    pub at: i64,
    /// The action's code (`view`, `sign`, `seal`, …): several chain actions read as one.
    pub action: String,
    pub actor: ActorView,
    pub ip: Option<String>,
    /// How many entries the row stands for (page images viewed, documents sealed).
    pub count: usize,
}

impl Inkan {
    /// The envelope's 操作ログ, readable (see the module's documentation).
    pub async fn audit_log(&self, staff: &Staff, envelope: &str) -> Result<Vec<AuditLine>> {
        let id = Self::parse_envelope_id(envelope)?;
        let record = self.visible(staff, id).await?;
        let entries = self.audit_trail(staff, Some(envelope)).await?;
        let mut names = Names::default();
        let mut lines: Vec<AuditLine> = Vec::new();
        let mut last_actor = "";
        for entry in &entries {
            let action = readable_action(&entry.entry.action);
            if let Some(last) = lines.last_mut() {
                if last_actor == entry.entry.actor
                    && last.action == action
                    && entry.entry.at - last.at <= SAME_ACTION_SECONDS
                {
                    last.count += 1;
                    continue;
                }
            }
            last_actor = &entry.entry.actor;
            let actor = names.actor(self, staff, Some(&record), entry).await?;
            lines.push(AuditLine {
                seq: entry.seq,
                at: entry.entry.at,
                action: action.to_string(),
                actor,
                ip: entry.entry.ip.clone(),
                count: 1,
            });
        }
        Ok(lines)
    }
}

/// Entries per page of the organization's log.
pub const LOG_PAGE: u32 = 100;

/// A filter of the organization's 操作ログ, as the page and the API take it; empty means "any".
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct LogFilter {
    /// A staff user's ID: what they did.
    #[serde(default)]
    pub user: Option<String>,
    /// An action (`login`, `download`, `role_changed`, …).
    #[serde(default)]
    pub action: Option<String>,
    /// From this day (Japan), `YYYY-MM-DD` or as Japanese forms write it, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// To this day (Japan), inclusive.
    #[serde(default)]
    pub to: Option<String>,
    /// The next page: entries older than this sequence number.
    #[serde(default)]
    pub before: Option<i64>,
}

/// One entry of the organization's 操作ログ.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Its place in the hash chain.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    pub action: String,
    #[schema(value_type = Object)]
    pub actor: ActorView,
    /// The envelope it concerns, if any.
    pub envelope_id: Option<String>,
    pub ip: Option<String>,
}

impl Inkan {
    /// The organization's 操作ログ, newest first, filtered by user, action and days
    /// (administrators; [`LOG_PAGE`] entries a page).
    pub async fn organization_log(
        &self,
        staff: &Staff,
        filter: &LogFilter,
    ) -> Result<Vec<LogLine>> {
        self.require_admin(staff).await?;
        fn given(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let day = |s: &str| {
            CalendarDate::parse(s).map_err(|e| crate::ServiceError::Invalid(e.to_string()))
        };
        let actor = match given(&filter.user) {
            Some(user) => {
                let id: UserId = user
                    .parse()
                    .map_err(|_| crate::ServiceError::NotFound("the user"))?;
                Some(format!("user:{id}"))
            }
            None => None,
        };
        let query = inkan_store::AuditQuery {
            actor,
            action: given(&filter.action).map(str::to_string),
            from: given(&filter.from)
                .map(day)
                .transpose()?
                .map(CalendarDate::jst_start),
            until: given(&filter.to)
                .map(day)
                .transpose()?
                .map(|d| d.jst_start() + 86_400),
            before_seq: filter.before,
            limit: LOG_PAGE,
        };
        let entries = self.store.search_audit(staff.organization, &query).await?;
        let mut names = Names::default();
        let mut lines = Vec::with_capacity(entries.len());
        for entry in &entries {
            lines.push(LogLine {
                seq: entry.seq,
                at: entry.entry.at,
                action: entry.entry.action.clone(),
                actor: names.actor(self, staff, None, entry).await?,
                envelope_id: entry.entry.envelope.map(|e| e.to_string()),
                ip: entry.entry.ip.clone(),
            });
        }
        Ok(lines)
    }

    /// Every action in the organization's log (administrators), for the filter's choices.
    pub async fn log_actions(&self, staff: &Staff) -> Result<Vec<String>> {
        self.require_admin(staff).await?;
        Ok(self.store.audit_actions(staff.organization).await?)
    }
}

/// The steps of sealing (one per signature and document) read as the one action they are.
fn readable_action(action: &str) -> &str {
    match action {
        "seal_step" => "seal",
        other => other,
    }
}

/// Names looked up once per log.
#[derive(Default)]
struct Names {
    users: HashMap<UserId, Option<(String, String)>>,
    keys: Option<HashMap<ApiKeyId, String>>,
}

impl Names {
    async fn actor(
        &mut self,
        inkan: &Inkan,
        staff: &Staff,
        record: Option<&EnvelopeRecord>,
        entry: &AuditEntry,
    ) -> Result<ActorView> {
        let raw = entry.entry.actor.as_str();
        let (kind, rest) = raw.split_once(':').unwrap_or((raw, ""));
        let unknown = |kind| ActorView {
            kind,
            name: raw.to_string(),
            company: None,
            email: None,
        };
        Ok(match kind {
            "user" => match rest.parse::<UserId>() {
                Ok(id) => {
                    if let Entry::Vacant(slot) = self.users.entry(id) {
                        let user = inkan.store.user(staff.organization, id).await?;
                        slot.insert(user.map(|u| (u.name, u.email.to_string())));
                    }
                    match self.users.get(&id).cloned().flatten() {
                        Some((name, email)) => ActorView {
                            kind: "staff",
                            name,
                            company: None,
                            email: Some(email),
                        },
                        None => unknown("staff"),
                    }
                }
                Err(_) => unknown("staff"),
            },
            "api_key" => {
                if self.keys.is_none() {
                    let keys = inkan.store.api_keys(staff.organization).await?;
                    self.keys = Some(keys.into_iter().map(|k| (k.id, k.name)).collect());
                }
                let name = rest
                    .parse::<ApiKeyId>()
                    .ok()
                    .and_then(|id| self.keys.as_ref()?.get(&id).cloned());
                ActorView {
                    kind: "api_key",
                    name: name.unwrap_or_else(|| raw.to_string()),
                    company: None,
                    email: None,
                }
            }
            "recipient" => {
                let mut parts = rest.split_whitespace();
                let id = parts.next().unwrap_or("");
                let recipient = record.and_then(|record| {
                    record
                        .envelope
                        .recipients()
                        .iter()
                        .find(|r| r.id.to_string() == id)
                });
                match (recipient, parts.next()) {
                    (Some(r), _) => ActorView {
                        kind: "signer",
                        name: r.name.clone(),
                        company: r.signing.as_ref().and_then(|s| s.company.clone()),
                        email: Some(r.email.to_string()),
                    },
                    // The organization's log reads the signer's email from the entry itself.
                    (None, Some(email)) => ActorView {
                        kind: "signer",
                        name: email.to_string(),
                        company: None,
                        email: Some(email.to_string()),
                    },
                    (None, None) => unknown("signer"),
                }
            }
            "system" => ActorView {
                kind: "system",
                name: "system".to_string(),
                company: None,
                email: None,
            },
            _ => unknown("system"),
        })
    }
}
