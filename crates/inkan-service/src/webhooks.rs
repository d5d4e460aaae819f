//! Webhooks: an organization registers URLs; every envelope event becomes an `event` job that
//! fans out to one `webhook` job per endpoint, each retried with backoff until the endpoint
//! answers 2xx. Each delivery is signed: `Inkan-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>">` with the endpoint's secret, so receivers can check origin and freshness.

use inkan_domain::{EnvelopeId, JobId, OrganizationId, WebhookId};
use inkan_store::{Change, NewJob, Webhook};
use serde::{Deserialize, Serialize};

use crate::secrets::{new_webhook_secret, webhook_signature, Stored};
use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// What a webhook's sealed secret is bound to.
fn webhook_context(org: OrganizationId, id: WebhookId) -> String {
    format!("org/{org}/webhooks/{id}/secret")
}

#[derive(Debug, Serialize, Deserialize)]
struct EventJob {
    organization: OrganizationId,
    envelope: EnvelopeId,
    event: String,
    at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct WebhookJob {
    organization: OrganizationId,
    webhook: WebhookId,
    body: String,
}

/// A registered endpoint, with its secret shown once at creation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    pub id: String,
    pub url: String,
    /// The HMAC key; store it, it is not shown again.
    pub secret: String,
}

fn event_name(action: &str) -> String {
    match action {
        "send" => "envelope.sent",
        "approve" => "recipient.approved",
        "sign" => "recipient.signed",
        "decline" => "envelope.declined",
        "cancel" => "envelope.cancelled",
        "expire" => "envelope.expired",
        "completed" => "envelope.completed",
        other => other,
    }
    .to_string()
}

impl Inkan {
    pub(crate) fn event_job(
        &self,
        organization: OrganizationId,
        envelope: EnvelopeId,
        action: &str,
    ) -> NewJob {
        let job = EventJob {
            organization,
            envelope,
            event: event_name(action),
            at: self.now(),
        };
        NewJob {
            id: JobId::new(),
            kind: "event".into(),
            payload: serde_json::to_value(&job).unwrap_or_default(),
            organization: Some(organization),
            run_at: self.now(),
            max_attempts: 5,
            dedupe_key: None,
            // An organization with no webhook (most) has nothing to deliver: no job.
            only_with_webhooks: true,
        }
    }

    /// Registers a webhook endpoint: an https URL of a public address (the egress policy; http
    /// and internal ranges only where the administrator allowed them).
    pub async fn add_webhook(
        &self,
        staff: &Staff,
        url: &str,
        caller: &Caller,
    ) -> Result<WebhookCreated> {
        self.require_admin(staff).await?;
        let url = url.trim();
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ServiceError::Invalid(format!("webhook URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ServiceError::Invalid(
                "a webhook URL starts with http:// or https://".into(),
            ));
        }
        self.settings.webhook_egress.check(url).map_err(|e| {
            ServiceError::Invalid(format!(
                "この Webhook の URL には送信できません (webhooks may not be sent there): {e}"
            ))
        })?;
        let secret = new_webhook_secret();
        let id = WebhookId::new();
        let webhook = Webhook {
            id,
            organization: staff.organization,
            url: url.to_string(),
            secret: self
                .seal_webhook_secret(staff.organization, id, &secret)
                .await?,
            created_at: self.now(),
        };
        self.store.create_webhook(&webhook).await?;
        self.record(
            staff,
            caller,
            "add_webhook",
            serde_json::json!({ "webhook": webhook.id.to_string(), "url": url }),
        )
        .await?;
        Ok(WebhookCreated {
            id: webhook.id.to_string(),
            url: webhook.url,
            secret,
        })
    }

    /// Webhook secrets are kept encrypted under the master key (`enc1:` and base64), bound to
    /// their endpoint: a database copy does not let anyone forge deliveries.
    async fn seal_webhook_secret(
        &self,
        org: OrganizationId,
        id: WebhookId,
        secret: &str,
    ) -> Result<String> {
        self.seal_text(&webhook_context(org, id), secret.as_bytes())
            .await
    }

    /// The secret of a stored endpoint (one stored in clear by an older version is read as is).
    async fn webhook_secret(&self, hook: &Webhook) -> Result<String> {
        let context = webhook_context(hook.organization, hook.id);
        match self.open_text(&context, &hook.secret).await? {
            Stored::Clear => Ok(hook.secret.clone()),
            Stored::Opened(plain) => String::from_utf8(plain)
                .map_err(|e| ServiceError::failed(format!("webhook {}: secret", hook.id), e)),
        }
    }

    /// Fans an event out to the organization's endpoints.
    pub(crate) async fn run_event_job(&self, payload: &serde_json::Value) -> Result<()> {
        let job: EventJob = serde_json::from_value(payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("event job payload: {e}")))?;
        let hooks = self.store.webhooks(job.organization).await?;
        if hooks.is_empty() {
            return Ok(());
        }
        let envelope = self.store.envelope(job.organization, job.envelope).await?;
        let body = serde_json::json!({
            "event": job.event,
            "at": job.at,
            "envelope": envelope.as_ref().map(crate::views::summary),
        })
        .to_string();
        let jobs = hooks
            .iter()
            .map(|h| NewJob {
                id: JobId::new(),
                kind: "webhook".into(),
                payload: serde_json::to_value(WebhookJob {
                    organization: job.organization,
                    webhook: h.id,
                    body: body.clone(),
                })
                .unwrap_or_default(),
                organization: Some(job.organization),
                run_at: self.now(),
                max_attempts: 10,
                dedupe_key: None,
                only_with_webhooks: false,
            })
            .collect();
        self.store
            .apply(Change {
                jobs,
                now: self.now(),
                ..Change::default()
            })
            .await?;
        Ok(())
    }

    /// Delivers one webhook; anything but a 2xx answer is retried.
    pub(crate) async fn run_webhook_job(&self, payload: &serde_json::Value) -> Result<()> {
        let job: WebhookJob = serde_json::from_value(payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("webhook job payload: {e}")))?;
        let Some(hook) = self
            .store
            .webhooks(job.organization)
            .await?
            .into_iter()
            .find(|h| h.id == job.webhook)
        else {
            return Ok(()); // the endpoint was removed
        };
        // Checked again at delivery: the policy may have changed since the registration.
        self.settings
            .webhook_egress
            .check(&hook.url)
            .map_err(|e| ServiceError::Invalid(format!("webhook not sent: {e}")))?;
        let now = self.now();
        let secret = self.webhook_secret(&hook).await?;
        let signature = webhook_signature(&secret, now, job.body.as_bytes());
        let response = self
            .http
            .post(&hook.url)
            .timeout(std::time::Duration::from_secs(15))
            .header("content-type", "application/json")
            .header("inkan-signature", format!("t={now},v1={signature}"))
            .body(job.body.clone())
            .send()
            .await
            .map_err(|e| ServiceError::Unavailable(format!("webhook {}: {e}", hook.url)))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(format!(
                "webhook {} answered {}",
                hook.url,
                response.status()
            )))
        }
    }
}
