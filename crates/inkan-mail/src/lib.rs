//! Inkan's email: what the service tells signers, approvers and senders, and how it gets there.
//!
//! - [`Template`] holds the data of each mail (署名依頼, リマインド, 承認依頼, 電子署名完了のお知らせ,
//!   辞退, 取消, 期限切れ) as plain strings and Unix times; [`render`] turns it into a subject, a
//!   plain-text body and an HTML body in Japanese or English, with user text escaped in the
//!   HTML and every time in JST.
//! - [`OutgoingMail`] adds addresses and an idempotency key and becomes an RFC 5322 message
//!   (multipart/alternative, UTF-8) whose Message-ID comes from the key, so a retried send is
//!   recognisably the same mail.
//! - [`Mailer`] sends it: [`SmtpMailer`] through a relay, [`EmlDirMailer`] into a folder (no mail
//!   server needed on a laptop), [`MemoryMailer`] for other crates' tests. Errors say whether a
//!   retry can help ([`MailError::is_permanent`]).
//!
//! Nothing here knows the database or the envelope state machine: the service builds the
//! template data and decides who gets which mail.
#![doc = include_str!("../README.md")]

mod error;
mod jst;
mod message;
mod sms;
mod template;
mod transport;

pub use error::MailError;
pub use jst::format_jst;
pub use message::{Address, MailAttachment, OutgoingMail};
pub use sms::{
    FolderSms, GatewaySms, MemorySms, Sms, SmsConfig, SmsError, SmsSender, MAX_SMS_CHARS,
};
pub use template::{
    render, AccountCode, AccountLocked, ApprovalRequest, ArchiveRenewalFailing, Cancelled,
    Completed, Declined, Expired, Lang, Rendered, SignatureRequest, SignerLinkLocked,
    StaffInvitation, Template, DOWNLOAD_VALIDITY_DAYS,
};
pub use transport::{
    EmlDirMailer, MailConfig, Mailer, MemoryMailer, SmtpConfig, SmtpMailer, TlsMode,
};
