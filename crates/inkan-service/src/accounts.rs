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

use inkan_domain::{Email, EnvelopeId, SignerAccountId};
use inkan_mail::{Address, Lang, OutgoingMail, Template};
use inkan_store::{CodeCheck, EmailCode, LibraryItem, SignerAccount, StoreError, TokenHash};
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

    /// Mails a one-time code to `email` for registering or signing in. Answers the same for
    /// every well-formed address.
    pub async fn send_account_code(&self, email: &str, caller: &Caller) -> Result<()> {
        let email: Email = email.trim().parse().map_err(|_| {
            ServiceError::Invalid(format!("{:?} is not an email address", email.trim()))
        })?;
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
            ServiceError::Unavailable(format!("the code could not be mailed; try again: {e}"))
        })?;
        tracing::info!(
            ip = caller.ip.as_deref().unwrap_or("-"),
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
    ) -> Result<(SignerAccount, String)> {
        let email = email.trim().to_lowercase();
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let wrong = |left: Option<u32>| {
            ServiceError::Unauthenticated(match left {
                Some(n) if n > 0 => {
                    format!("the code is not right ({n} more tries); check the latest mail")
                }
                _ => "the code has expired or was used up; ask for a new one".into(),
            })
        };
        match self
            .store
            .take_email_code(
                &email,
                &self.code_hash(&email, &code),
                CODE_ATTEMPTS,
                self.now(),
            )
            .await?
        {
            CodeCheck::Valid => {}
            CodeCheck::Wrong { attempts_left } => return Err(wrong(Some(attempts_left))),
            CodeCheck::NoCode => return Err(wrong(None)),
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
        let ended = || ServiceError::Unauthenticated("the session has ended; sign in again".into());
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
