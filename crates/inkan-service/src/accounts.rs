//! A signer's free account and their library (文書管理).
//!
//! A signer registers with the address the documents were sent to: Inkan mails a six-digit code
//! there, and entering it proves they receive that mail. The same code opens a session later;
//! no password is kept. The library lists every envelope concluded with that address as signer
//! or cc, in any organization, for as long as the envelope is kept — the 14-day completion link
//! is only the first way in.
//!
//! Codes are stored as a MAC under the installation's link key (a database copy does not reveal
//! them), die after 15 minutes or 5 wrong guesses, and are used once. Asking for a code answers
//! the same whether or not the address has documents, so the page reveals nothing about who
//! signed what.
//!
//! Wrong guesses are also counted per address and per client network (an IPv4 address, an IPv6
//! /64) in the database, where asking for a new code does not reset them: past the limit, codes
//! for that address (or from that network) are refused for an hour. Locking an address is
//! recorded in the audit trail of every organization that concluded documents with it, and the
//! address is told by mail.

use inkan_domain::{Email, EnvelopeId, SignerAccountId};
use inkan_mail::{Address, Lang, OutgoingMail, Template};
use inkan_store::{
    AttemptLimit, CodeCheck, EmailCode, LibraryItem, SignerAccount, StoreError, TokenHash,
};
use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

use crate::japan::format_slash_jst;
use crate::{Caller, Inkan, Result, ServiceError};

/// How long a code works.
pub const CODE_MINUTES: i64 = 15;
/// Wrong guesses a code survives.
const CODE_ATTEMPTS: u32 = 5;
/// How long a signer's session lasts.
pub const ACCOUNT_SESSION_SECONDS: i64 = 12 * 3600;
const ACCOUNT_SESSION: &str = "signer-account-session";
/// Wrong codes per address: 10 an hour, then an hour's lock.
const PER_EMAIL: AttemptLimit = AttemptLimit {
    failures: 10,
    window: 3600,
    lock: 3600,
};
/// Wrong codes per client network (many addresses tried from one place): 30 an hour.
const PER_NETWORK: AttemptLimit = AttemptLimit {
    failures: 30,
    window: 3600,
    lock: 3600,
};
const EMAIL_SCOPE: &str = "account-code-email";
const NETWORK_SCOPE: &str = "account-code-network";
const EMAIL_CODE: &str = "email-code";

/// A concluded envelope in a signer's library.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LibraryEntryView {
    pub envelope_id: String,
    /// 文書名 (the envelope's title).
    pub title: String,
    /// 管理番号.
    pub number: String,
    /// 送り主.
    pub sender: String,
    /// 締結日時, `2026/11/30 13:05:09 (JST)`.
    pub concluded_at: String,
    pub conclusion_id: String,
    pub documents: Vec<LibraryDocumentView>,
    pub has_certificate: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LibraryDocumentView {
    pub id: String,
    pub name: String,
    pub pages: u32,
    pub sha256: String,
}

impl Inkan {
    fn code_hash(&self, email: &str, code: &str) -> TokenHash {
        TokenHash(self.links.mac(
            EMAIL_CODE,
            format!("{}|{code}", email.to_lowercase()).as_bytes(),
        ))
    }

    /// Refuses codes for a locked address or from a locked network, saying until when.
    async fn refuse_if_locked(&self, email: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        let mut until = self.store.locked_until(EMAIL_SCOPE, email, now).await?;
        if let Some(network) = network_of(caller) {
            until = until.max(
                self.store
                    .locked_until(NETWORK_SCOPE, &network, now)
                    .await?,
            );
        }
        match until {
            Some(until) => Err(ServiceError::NotAllowed(format!(
                "誤った確認コードが続いたため、{} まで確認コードを受け付けません (too many wrong codes: codes are refused until then)",
                format_slash_jst(until)
            ))),
            None => Ok(()),
        }
    }

    /// Counts a wrong code against the address and the network; the failure that locks the
    /// address is audited and mailed to it.
    async fn count_wrong_code(&self, email: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        if let Some(network) = network_of(caller) {
            let count = self
                .store
                .count_failure(NETWORK_SCOPE, &network, PER_NETWORK, now)
                .await?;
            if count.newly_locked {
                tracing::warn!(%network, failures = count.failures, "signer account codes locked for a network");
            }
        }
        let count = self
            .store
            .count_failure(EMAIL_SCOPE, email, PER_EMAIL, now)
            .await?;
        let Some(until) = count.locked_until.filter(|_| count.newly_locked) else {
            return Ok(());
        };
        tracing::warn!(
            failures = count.failures,
            "signer account codes locked for an address"
        );
        let detail = serde_json::json!({
            "email": email, "failures": count.failures, "locked_until": until,
        });
        let mut organizations: Vec<_> = self
            .store
            .library(email, 0)
            .await?
            .iter()
            .map(|item| item.record.organization())
            .collect();
        organizations.sort();
        organizations.dedup();
        for org in organizations {
            self.append_audit(self.audit_entry(
                org,
                &format!("signer_account {email}"),
                "signer_account_locked",
                None,
                None,
                caller,
                detail.clone(),
            ))
            .await?;
        }
        let mail = OutgoingMail {
            to: vec![Address::new("", email)],
            from: crate::notify::parse_from(&self.settings.mail_from),
            reply_to: None,
            rendered: inkan_mail::render(
                &Template::AccountLocked(inkan_mail::AccountLocked {
                    until,
                    failures: count.failures,
                    account_url: format!("{}/my/login", self.settings.public_url),
                }),
                Lang::Ja,
            ),
            idempotency_key: format!("account-locked-{}", uuid::Uuid::new_v4().simple()),
            attachments: Vec::new(),
        };
        if let Err(e) = self.mailer.send(&mail).await {
            // The lock holds whether or not the owner could be told.
            tracing::warn!(error = %e, "the lock-out notice could not be mailed");
        }
        Ok(())
    }

    /// Mails a one-time code to `email` for registering or signing in. Answers the same for
    /// every well-formed address that is not locked.
    pub async fn send_account_code(&self, email: &str, caller: &Caller) -> Result<()> {
        let email: Email = email.trim().parse().map_err(|_| {
            ServiceError::Invalid(format!(
                "{:?} はメールアドレスではありません (not an email address)",
                email.trim()
            ))
        })?;
        self.refuse_if_locked(&email.as_str().to_lowercase(), caller)
            .await?;
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let now = self.now();
        self.store
            .put_email_code(&EmailCode {
                email: email.as_str().to_lowercase(),
                code_hash: self.code_hash(email.as_str(), &code),
                expires_at: now + CODE_MINUTES * 60,
                attempts: 0,
                created_at: now,
            })
            .await?;
        // Sent at once rather than as a job: a job row would hold the code in clear.
        let mail = OutgoingMail {
            to: vec![Address::new("", email.as_str())],
            from: crate::notify::parse_from(&self.settings.mail_from),
            reply_to: None,
            rendered: inkan_mail::render(
                &Template::AccountCode(inkan_mail::AccountCode {
                    code,
                    valid_minutes: CODE_MINUTES,
                    account_url: format!("{}/my/login", self.settings.public_url),
                }),
                Lang::Ja,
            ),
            idempotency_key: format!("account-code-{}-{now}", uuid::Uuid::new_v4().simple()),
            attachments: Vec::new(),
        };
        self.mailer.send(&mail).await.map_err(|e| {
            ServiceError::Unavailable(format!(
                "確認コードを送れませんでした。もう一度お試しください (the code could not be mailed; try again: {e})"
            ))
        })?;
        tracing::info!(
            ip = %caller.ip.map_or_else(|| "-".to_string(), |ip| ip.to_string()),
            "a signer account code was sent"
        );
        Ok(())
    }

    /// Checks a code: on success the account exists (created on first use) and a session
    /// cookie value is returned.
    pub async fn verify_account_code(
        &self,
        email: &str,
        code: &str,
        caller: &Caller,
    ) -> Result<(SignerAccount, String)> {
        let email = email.trim().to_lowercase();
        self.refuse_if_locked(&email, caller).await?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let wrong = |left: Option<u32>| {
            ServiceError::Unauthenticated(match left {
                Some(n) if n > 0 => {
                    format!("確認コードが違います。あと {n} 回入力できます (the code is not right: {n} more tries); check the latest mail")
                }
                _ => "確認コードの有効期限が切れたか、使用済みです。新しいコードを請求してください (the code has expired or was used up; ask for a new one)".into(),
            })
        };
        let check = self
            .store
            .take_email_code(
                &email,
                &self.code_hash(&email, &code),
                CODE_ATTEMPTS,
                self.now(),
            )
            .await?;
        match check {
            CodeCheck::Valid => {}
            CodeCheck::Wrong { attempts_left } => {
                self.count_wrong_code(&email, caller).await?;
                return Err(wrong(Some(attempts_left)));
            }
            CodeCheck::NoCode => {
                self.count_wrong_code(&email, caller).await?;
                return Err(wrong(None));
            }
        }
        let account = match self.store.signer_account_by_email(&email).await? {
            Some(a) => a,
            None => {
                let account = SignerAccount {
                    id: SignerAccountId::new(),
                    email: email.clone(),
                    created_at: self.now(),
                };
                match self.store.create_signer_account(&account).await {
                    Ok(()) => account,
                    // Registered at the same moment by another request: use that one.
                    Err(StoreError::Duplicate(_)) => self
                        .store
                        .signer_account_by_email(&email)
                        .await?
                        .ok_or(ServiceError::NotFound("the account"))?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let cookie = self.seal_cookie(
            ACCOUNT_SESSION,
            &[account.id.to_string()],
            ACCOUNT_SESSION_SECONDS,
        );
        Ok((account, cookie))
    }

    /// The account of a session cookie.
    pub async fn account_session(&self, cookie: &str) -> Result<SignerAccount> {
        let ended = || {
            ServiceError::Unauthenticated(
                "セッションが終了しました。もう一度ログインしてください (the session has ended; sign in again)".into(),
            )
        };
        let fields = self
            .open_cookie(ACCOUNT_SESSION, cookie, 1)
            .ok_or_else(ended)?;
        let id: SignerAccountId = fields[0].parse().map_err(|_| ended())?;
        self.store.signer_account(id).await?.ok_or_else(ended)
    }

    /// Every envelope concluded with the account's email, newest first.
    pub async fn library(&self, account: &SignerAccount) -> Result<Vec<LibraryEntryView>> {
        let items = self.store.library(&account.email, 0).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let documents = self
                .store
                .documents(item.record.organization(), item.record.id())
                .await?;
            out.push(LibraryEntryView {
                envelope_id: item.record.id().to_string(),
                title: item.record.envelope.title.clone(),
                number: item.record.envelope.number.clone(),
                sender: item.record.sender_name.clone(),
                concluded_at: format_slash_jst(item.concluded_at),
                conclusion_id: item.record.envelope.conclusion_id.to_string(),
                documents: documents
                    .iter()
                    .map(|d| LibraryDocumentView {
                        id: d.id.to_string(),
                        name: d.name.clone(),
                        pages: d.pages,
                        sha256: d.sha256.clone(),
                    })
                    .collect(),
                has_certificate: item.record.certificate.is_some(),
            });
        }
        Ok(out)
    }

    /// One library entry of the account, or not found (also for envelopes of other people).
    async fn library_item(&self, account: &SignerAccount, envelope: &str) -> Result<LibraryItem> {
        let id: EnvelopeId = envelope
            .parse()
            .map_err(|_| ServiceError::NotFound("the envelope"))?;
        self.store
            .library(&account.email, 0)
            .await?
            .into_iter()
            .find(|i| i.record.id() == id)
            .ok_or(ServiceError::NotFound("the envelope"))
    }

    fn account_actor(account: &SignerAccount) -> String {
        format!("signer_account:{} {}", account.id, account.email)
    }

    /// A concluded document from the library (recorded in the sender's audit trail).
    pub async fn library_document(
        &self,
        account: &SignerAccount,
        envelope: &str,
        document: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let item = self.library_item(account, envelope).await?;
        self.read_document(
            item.record.organization(),
            item.record.id(),
            document,
            &Self::account_actor(account),
            caller,
        )
        .await
    }

    /// The certificate of conclusion from the library (recorded in the sender's audit trail).
    pub async fn library_certificate(
        &self,
        account: &SignerAccount,
        envelope: &str,
        caller: &Caller,
    ) -> Result<(String, Vec<u8>)> {
        let item = self.library_item(account, envelope).await?;
        self.read_certificate(&item.record, &Self::account_actor(account), caller)
            .await
    }
}

/// The network a client's guesses are counted under: its IPv4 address, or the /64 of its IPv6
/// address (one subscriber's allocation). `None` when the address is unknown.
pub(crate) fn network_of(caller: &Caller) -> Option<String> {
    caller.ip.map(network_of_address)
}

/// The network of a client address: an IPv4 address, an IPv6 /64.
pub(crate) fn network_of_address(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> Caller {
        Caller {
            ip: Some(ip.parse().expect("a test address")),
            user_agent: None,
            link_pass: None,
        }
    }

    #[test]
    fn guesses_are_counted_per_ipv4_address_and_per_ipv6_64() {
        assert_eq!(
            network_of(&from("203.0.113.7")).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            network_of(&from("::ffff:203.0.113.7")).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            network_of(&from("2001:db8:1:2:aaaa::1")),
            network_of(&from("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(
            network_of(&from("2001:db8:1:2::1")).as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_ne!(
            network_of(&from("2001:db8:1:2::1")),
            network_of(&from("2001:db8:1:3::1"))
        );
        assert_eq!(network_of(&Caller::default()), None);
    }
}
