//! The second check on a signer's link (本人確認): an access code the sender set (アクセスコード)
//! or a code sent by SMS (SMS認証). Every signer read and act goes through [`Inkan::admit_signer`]:
//! until the check is passed the link shows nothing of the contract. A passed check gives a
//! *pass* — an HMAC over the link's recipient and generation with its expiry, so any node can
//! check it without a session table — which the browser keeps as a cookie scoped to the link and
//! an API client sends as a header. Wrong codes count on the recipient (one per link
//! generation); the fifth locks the link and mails the sender, who unlocks it by sending a fresh
//! link. SMS codes are derived like link tokens (HMAC under the link key), so neither the job
//! row nor the envelope ever holds a code.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use inkan_domain::signer_check::{self, MAX_ACCESS_CODE_CHARS, SMS_CODE_SECONDS};
use inkan_domain::{
    CheckMethod, EnvelopeId, JobId, OrganizationId, PhoneNumber, Recipient, RecipientId,
    SignerCheck,
};
use inkan_mail::Sms;
use inkan_store::{Change, EnvelopeRecord, NewJob, StoreError};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Link;
use crate::notify::MailKind;
use crate::{Caller, Inkan, Result, ServiceError};

/// How long a pass lets a signer through after the check (a working day).
pub const PASS_SECONDS: i64 = 12 * 3600;

/// The job that sends an SMS code.
pub(crate) const SMS_JOB: &str = "sms";

/// What a signer is asked before their link shows the contract.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckPrompt {
    pub method: CheckMethod,
    /// Who sent the request (the organization's name): the one thing shown before the check.
    pub organization: String,
    /// SMS: the number codes go to, masked (`+81 ******5678`).
    pub masked_phone: Option<String>,
    /// SMS: whether a code sent lately is still valid (enter it), else ask for one.
    pub code_sent: bool,
    /// Wrong codes left before the link locks.
    pub attempts_left: u32,
}

impl std::fmt::Display for CheckPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.method {
            CheckMethod::AccessCode => write!(
                f,
                "このリンクを開くには、送信者から伝えられたアクセスコードが必要です \
                 (this link needs the access code the sender gave you: POST it to …/code)"
            ),
            CheckMethod::Sms => write!(
                f,
                "このリンクを開くには、{} に SMS で送る認証コードが必要です \
                 (this link needs the code sent by SMS to {}: POST …/sms, then POST the code to …/code)",
                self.masked_phone.as_deref().unwrap_or_default(),
                self.masked_phone.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// Proof that a signer passed their link's check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkPass {
    /// Sent back as the `X-Inkan-Link-Pass` header (API) or kept as a cookie (pages).
    pub pass: String,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
}

/// An SMS code on its way.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmsSent {
    pub masked_phone: String,
    /// When another code may be asked for (seconds since the Unix epoch).
    pub resend_after: i64,
    /// How long the code is valid, in minutes.
    pub valid_minutes: i64,
}

/// The check a sender requires of a new signer, as given: an access code or a mobile number.
pub(crate) fn check_of(
    access_code: Option<&str>,
    sms_phone: Option<&str>,
) -> Result<Option<SignerCheck>> {
    let access_code = access_code.filter(|c| !c.trim().is_empty());
    let sms_phone = sms_phone.filter(|p| !p.trim().is_empty());
    match (access_code, sms_phone) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ServiceError::Invalid(
            "アクセスコードと SMS認証はどちらか一方を選んでください (an access code or an SMS code, not both)"
                .into(),
        )),
        (Some(code), None) => {
            let code = normalize_code(code);
            if code.chars().count() > MAX_ACCESS_CODE_CHARS {
                return Err(ServiceError::Invalid(format!(
                    "アクセスコードは {MAX_ACCESS_CODE_CHARS} 文字までです (an access code has at most {MAX_ACCESS_CODE_CHARS} characters)"
                )));
            }
            if code.chars().any(char::is_control) {
                return Err(ServiceError::Invalid(
                    "アクセスコードに改行や制御文字は使えません (no line breaks or control characters in an access code)"
                        .into(),
                ));
            }
            let salt = SaltString::generate(&mut OsRng);
            let hash = Argon2::default()
                .hash_password(code.as_bytes(), &salt)
                .map_err(|e| ServiceError::failed("an access code's hash", e.to_string()))?
                .to_string();
            Ok(Some(SignerCheck::AccessCode { hash }))
        }
        (None, Some(phone)) => Ok(Some(SignerCheck::Sms {
            phone: PhoneNumber::parse(phone)?,
        })),
    }
}

/// A code as typed: trimmed, full-width letters and digits (an IME left on) made half-width.
fn normalize_code(code: &str) -> String {
    code.trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// What an SMS job carries: which code of which signer (never the code).
#[derive(Debug, Serialize, Deserialize)]
struct SmsJob {
    organization: OrganizationId,
    envelope: EnvelopeId,
    recipient: RecipientId,
    /// The number of the code (1 for the first of this link).
    serial: u32,
}

impl Inkan {
    /// Lets a signer's request through their link's check, or says what to ask
    /// ([`ServiceError::CheckRequired`]); a locked link is refused with the reason.
    pub(crate) async fn admit_signer(
        &self,
        record: &EnvelopeRecord,
        link: &Link,
        caller: &Caller,
    ) -> Result<()> {
        let recipient = record
            .envelope
            .recipient(link.recipient)
            .ok_or(ServiceError::NotFound("this link"))?;
        if recipient.check.is_none() {
            return Ok(());
        }
        if recipient.check_progress.locked() {
            return Err(ServiceError::NotAllowed(signer_check::LOCKED.into()));
        }
        if let Some(pass) = &caller.link_pass {
            if self.pass_valid(link, recipient, pass) {
                return Ok(());
            }
        }
        Err(ServiceError::CheckRequired(Box::new(
            self.prompt(record, recipient).await?,
        )))
    }

    async fn prompt(&self, record: &EnvelopeRecord, recipient: &Recipient) -> Result<CheckPrompt> {
        let (method, masked_phone) = match &recipient.check {
            Some(SignerCheck::Sms { phone }) => (CheckMethod::Sms, Some(phone.masked())),
            _ => (CheckMethod::AccessCode, None),
        };
        Ok(CheckPrompt {
            method,
            organization: self.organization_name(record).await?,
            masked_phone,
            code_sent: recipient.check_progress.sms_code_live(self.now()),
            attempts_left: recipient.check_progress.attempts_left(),
        })
    }

    async fn organization_name(&self, record: &EnvelopeRecord) -> Result<String> {
        Ok(self
            .store
            .organization(record.organization())
            .await?
            .map(|o| o.name)
            .unwrap_or_default())
    }

    /// What a signer's link asks before it shows the contract (`None`: nothing, or a check
    /// already locked is refused with the reason).
    pub async fn check_prompt(&self, token: &str) -> Result<Option<CheckPrompt>> {
        let (link, record) = self.signer_envelope_unchecked(token).await?;
        match self.admit_signer(&record, &link, &Caller::default()).await {
            Ok(()) => Ok(None),
            Err(ServiceError::CheckRequired(prompt)) => Ok(Some(*prompt)),
            Err(e) => Err(e),
        }
    }

    /// The pass of a recipient's live link, valid until `expires_at`.
    fn pass_for(&self, link: &Link, recipient: &Recipient, expires_at: i64) -> String {
        let tag = self
            .links
            .mac("signer-pass", &pass_data(link, recipient, expires_at));
        format!("{expires_at}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    fn pass_valid(&self, link: &Link, recipient: &Recipient, pass: &str) -> bool {
        let Some((expires_at, tag)) = pass.split_once('.') else {
            return false;
        };
        let (Ok(expires_at), Ok(tag)) = (expires_at.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag))
        else {
            return false;
        };
        expires_at > self.now()
            && self
                .links
                .verify("signer-pass", &pass_data(link, recipient, expires_at), &tag)
    }

    /// The SMS code number `serial` of a recipient's live link: six digits.
    fn sms_code(&self, link: &Link, recipient: &Recipient, serial: u32) -> String {
        let data = format!(
            "{}|{}|{}|{serial}",
            link.envelope, link.recipient, recipient.link_generation
        );
        let tag = self.links.mac("sms-code", data.as_bytes());
        let n = u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]]) % 1_000_000;
        format!("{n:06}")
    }

    /// A signer gives their code (アクセスコード or SMS code): right, a pass; wrong, counted
    /// (the fifth locks the link and tells the sender). Every try is in the audit trail.
    pub async fn give_link_code(
        &self,
        token: &str,
        code: &str,
        caller: &Caller,
    ) -> Result<LinkPass> {
        let given = normalize_code(code);
        if given.is_empty() || given.chars().count() > MAX_ACCESS_CODE_CHARS {
            return Err(ServiceError::Invalid(
                "コードを入力してください (enter the code)".into(),
            ));
        }
        for _ in 0..5 {
            let (link, mut record) = self.signer_envelope_unchecked(token).await?;
            let recipient = record
                .envelope
                .recipient(link.recipient)
                .ok_or(ServiceError::NotFound("this link"))?
                .clone();
            let Some(check) = recipient.check.clone() else {
                return Err(ServiceError::NotAllowed(
                    "このリンクにはコードの確認がありません (this link asks for no code)".into(),
                ));
            };
            if recipient.check_progress.locked() {
                return Err(ServiceError::NotAllowed(signer_check::LOCKED.into()));
            }
            let right = match &check {
                SignerCheck::AccessCode { hash } => {
                    let hash = hash.clone();
                    let given = given.clone();
                    tokio::task::spawn_blocking(move || {
                        PasswordHash::new(&hash).is_ok_and(|parsed| {
                            Argon2::default()
                                .verify_password(given.as_bytes(), &parsed)
                                .is_ok()
                        })
                    })
                    .await
                    .map_err(|e| ServiceError::failed("checking an access code", e))?
                }
                SignerCheck::Sms { .. } => {
                    let progress = &recipient.check_progress;
                    progress.sms_sent > 0
                        && progress.sms_code_live(self.now())
                        && constant_time_eq(
                            given.as_bytes(),
                            self.sms_code(&link, &recipient, progress.sms_sent)
                                .as_bytes(),
                        )
                }
            };
            let method = check.method();
            let actor = format!("recipient:{} {}", recipient.id, recipient.email);
            let before = record.clone();
            let mut change = Change {
                now: self.now(),
                ..Change::default()
            };
            let locked = if right {
                record.envelope.record_check_passed(recipient.id)?;
                change.audit.push(self.audit_entry(
                    link.organization,
                    &actor,
                    "signer_check_passed",
                    Some(link.envelope),
                    None,
                    caller,
                    serde_json::json!({ "method": method.japanese() }),
                ));
                false
            } else {
                let locked = record.envelope.record_wrong_code(recipient.id)?;
                change.audit.push(self.audit_entry(
                    link.organization,
                    &actor,
                    "signer_check_failed",
                    Some(link.envelope),
                    None,
                    caller,
                    serde_json::json!({
                        "method": method.japanese(),
                        "wrong_codes": recipient.check_progress.wrong_codes + 1,
                    }),
                ));
                if locked {
                    change.audit.push(self.audit_entry(
                        link.organization,
                        "system",
                        "signer_link_locked",
                        Some(link.envelope),
                        None,
                        caller,
                        serde_json::json!({
                            "signer": recipient.name,
                            "email": recipient.email.to_string(),
                            "method": method.japanese(),
                        }),
                    ));
                    change.jobs.push(self.mail_job(
                        link.organization,
                        link.envelope,
                        Some(recipient.id),
                        MailKind::SignerLinkLocked,
                    ));
                }
                locked
            };
            if before.envelope != record.envelope {
                change.envelope = Some(self.write_from(&before, &record));
            }
            match self.store.apply(change).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
            if right {
                let expires_at = self.now() + PASS_SECONDS;
                return Ok(LinkPass {
                    pass: self.pass_for(&link, &recipient, expires_at),
                    expires_at,
                });
            }
            return Err(if locked {
                ServiceError::NotAllowed(signer_check::LOCKED.into())
            } else {
                let left = recipient.check_progress.attempts_left() - 1;
                ServiceError::Invalid(format!(
                    "{}が違います。あと {left} 回間違えるとリンクがロックされます \
                     (wrong {}: {left} more wrong codes lock the link)",
                    method.japanese(),
                    method.english()
                ))
            });
        }
        Err(ServiceError::Conflict)
    }

    /// Sends the signer a fresh SMS code (it replaces the one before), within the pace and the
    /// number a link may send; the message goes out as a job, retried if the gateway fails.
    pub async fn send_link_sms(&self, token: &str, caller: &Caller) -> Result<SmsSent> {
        for _ in 0..5 {
            let (link, mut record) = self.signer_envelope_unchecked(token).await?;
            let before = record.clone();
            let recipient = record
                .envelope
                .recipient(link.recipient)
                .ok_or(ServiceError::NotFound("this link"))?
                .clone();
            let Some(SignerCheck::Sms { phone }) = &recipient.check else {
                return Err(ServiceError::NotAllowed(
                    "このリンクには SMS認証がありません (this link asks for no SMS code)".into(),
                ));
            };
            let now = self.now();
            let serial = record.envelope.record_sms_sent(recipient.id, now)?;
            let job = SmsJob {
                organization: link.organization,
                envelope: link.envelope,
                recipient: recipient.id,
                serial,
            };
            let change = Change {
                now,
                envelope: Some(self.write_from(&before, &record)),
                jobs: vec![NewJob {
                    id: JobId::new(),
                    kind: SMS_JOB.into(),
                    payload: serde_json::to_value(&job)
                        .map_err(|e| ServiceError::failed("an SMS job", e))?,
                    organization: Some(link.organization),
                    run_at: now,
                    max_attempts: 5,
                    dedupe_key: None,
                    only_with_webhooks: false,
                }],
                audit: vec![self.audit_entry(
                    link.organization,
                    &format!("recipient:{} {}", recipient.id, recipient.email),
                    "sms_code_sent",
                    Some(link.envelope),
                    None,
                    caller,
                    serde_json::json!({ "to": phone.masked(), "serial": serial }),
                )],
                ..Change::default()
            };
            match self.store.apply(change).await {
                Ok(()) => {
                    return Ok(SmsSent {
                        masked_phone: phone.masked(),
                        resend_after: now + signer_check::SMS_RESEND_SECONDS,
                        valid_minutes: SMS_CODE_SECONDS / 60,
                    })
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict)
    }

    /// Sends an SMS code (the `sms` job). A code that a newer one replaced, or that has run
    /// out, is not sent: it could no longer be used.
    pub(crate) async fn run_sms_job(
        &self,
        job_id: JobId,
        payload: &serde_json::Value,
    ) -> Result<()> {
        let job: SmsJob = serde_json::from_value(payload.clone())
            .map_err(|e| ServiceError::Invalid(format!("SMS job payload: {e}")))?;
        let Some(record) = self.store.envelope(job.organization, job.envelope).await? else {
            return Err(ServiceError::NotFound("the envelope of this SMS"));
        };
        let Some(recipient) = record.envelope.recipient(job.recipient) else {
            return Err(ServiceError::NotFound("the recipient of this SMS"));
        };
        let Some(SignerCheck::Sms { phone }) = &recipient.check else {
            return Ok(());
        };
        let progress = &recipient.check_progress;
        if progress.sms_sent != job.serial || !progress.sms_code_live(self.now()) {
            return Ok(());
        }
        let link = Link {
            organization: job.organization,
            envelope: job.envelope,
            recipient: job.recipient,
        };
        let code = self.sms_code(&link, recipient, job.serial);
        let text = sms_text(&self.organization_name(&record).await?, &code);
        let sms = Sms::new(phone.clone(), &text, &job_id.to_string())
            .map_err(|e| ServiceError::Invalid(format!("the SMS: {e}")))?;
        self.sms.send(&sms).await.map_err(|e| {
            if e.is_permanent() {
                ServiceError::Invalid(format!("the SMS was refused: {e}"))
            } else {
                ServiceError::Unavailable(format!("the SMS could not be sent yet: {e}"))
            }
        })
    }
}

fn pass_data(link: &Link, recipient: &Recipient, expires_at: i64) -> Vec<u8> {
    format!(
        "{}|{}|{}|{expires_at}",
        link.envelope, link.recipient, recipient.link_generation
    )
    .into_bytes()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The SMS: who asks, the code, how long it lives — one segment of at most 70 characters, the
/// organization's name shortened when it would not fit.
pub(crate) fn sms_text(organization: &str, code: &str) -> String {
    let minutes = SMS_CODE_SECONDS / 60;
    let rest = format!(
        "の電子契約 認証コード: {code}\n{minutes}分間有効です。他の人に教えないでください。"
    );
    let room = inkan_mail::MAX_SMS_CHARS - rest.chars().count();
    let name: String = organization.trim().chars().take(room).collect();
    format!("{name}{rest}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sms_fits_one_segment_whatever_the_organization() {
        let short = sms_text("南九州市", "012345");
        assert!(
            short.starts_with("南九州市の電子契約 認証コード: 012345"),
            "{short}"
        );
        let long = sms_text(&"岩手県".repeat(40), "999999");
        assert_eq!(long.chars().count(), inkan_mail::MAX_SMS_CHARS, "{long}");
        assert!(long.contains("999999"));
    }

    #[test]
    fn codes_typed_with_the_ime_on_are_read_as_typed_without_it() {
        assert_eq!(normalize_code(" ＡＢｃ１２３ "), "ABc123");
        assert_eq!(normalize_code("abc 123"), "abc 123");
    }

    #[test]
    fn a_check_is_an_access_code_or_a_phone_never_both() {
        assert!(check_of(None, None).unwrap().is_none());
        assert!(check_of(Some("  "), Some("")).unwrap().is_none());
        assert!(check_of(Some("1234"), Some("090-1234-5678")).is_err());
        assert!(check_of(Some(&"x".repeat(41)), None).is_err());
        assert!(check_of(Some("a\nb"), None).is_err());
        let Some(SignerCheck::AccessCode { hash }) = check_of(Some("ｋｉｔａ-2026"), None).unwrap()
        else {
            panic!("an access code")
        };
        // Only the hash is kept, and it takes the half-width form.
        assert!(!hash.contains("kita"));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"kita-2026", &parsed)
            .is_ok());
        let Some(SignerCheck::Sms { phone }) = check_of(None, Some("090-1234-5678")).unwrap()
        else {
            panic!("a phone")
        };
        assert_eq!(phone.as_str(), "+819012345678");
        assert!(check_of(None, Some("019-651-4111"))
            .unwrap_err()
            .to_string()
            .contains("携帯電話"));
    }
}
