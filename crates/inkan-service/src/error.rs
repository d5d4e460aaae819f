//! One error type for every use case, mapped by the web layer to an HTTP status, a stable code
//! and the message itself (which is written for the person who made the request).
//!
//! Which variant to use:
//! - the request is wrong (a value, a file, a setting): [`ServiceError::Invalid`], saying what
//!   and why in Japanese first, English beside;
//! - the request is right but not now, or not for this person: [`ServiceError::NotAllowed`];
//!   another organization's thing, or nothing: [`ServiceError::NotFound`] (the two look alike);
//! - an outside service failed and a retry may work (TSA, SMTP, storage):
//!   [`ServiceError::Unavailable`];
//! - Inkan itself failed (configuration, corrupt data, a task that died):
//!   [`ServiceError::failed`] with what was being done and the error that caused it, kept typed
//!   ([`ServiceError::cause`]) and shown after the context (the web layer logs it and shows only
//!   a reference), or [`ServiceError::internal`] when there is no underlying error.
//!
//! A cause is printed once: an error that shows its cause in its message does not also return
//! it from `source()` (as elsewhere in Inkan), so the message alone is what logs need and
//! `{:#}` never repeats it.

use inkan_domain::DomainError;
use inkan_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    /// The input is wrong: what, and why.
    #[error("{0}")]
    Invalid(String),
    /// The operation is not possible in the envelope's current state (or not this person's).
    #[error("{0}")]
    NotAllowed(String),
    /// No such thing — or it belongs to another organization, which looks the same from outside.
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// The link belonged to an envelope that is over (cancelled, declined, expired).
    #[error("{0}")]
    Gone(String),
    /// Missing or wrong credentials.
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    /// A signer's link asks for its code (アクセスコード or SMS認証) before it shows anything.
    #[error("{0}")]
    CheckRequired(Box<crate::CheckPrompt>),
    /// Someone changed the same envelope at the same moment; retrying is safe.
    #[error("the envelope was changed at the same moment by someone else; please try again")]
    Conflict,
    /// An outside service (TSA, SMTP, storage) failed; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// Too many requests of this kind are being served at once (public verification): try
    /// again after [`BUSY_RETRY_SECONDS`].
    #[error("{0}")]
    Busy(String),
    /// Staff of an organization with an IP restriction, working from an address outside it
    /// (`None`: the address is unknown).
    #[error("{}", network_refused(.0))]
    NetworkRefused(Option<std::net::IpAddr>),
    /// A fault of the installation (configuration, corrupt data, a task that died): reported,
    /// never hidden. `context` says what was being done; `cause` is the error that caused it,
    /// if any.
    #[error("internal error: {context}{}", cause_suffix(.cause))]
    Internal {
        context: String,
        cause: Option<BoxError>,
    },
}

fn cause_suffix(cause: &Option<BoxError>) -> String {
    cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default()
}

fn network_refused(address: &Option<std::net::IpAddr>) -> String {
    let from = address.map_or_else(|| "不明".to_string(), |ip| ip.to_string());
    format!(
        "この接続元 ({from}) からは利用できません。組織の管理者が許可したネットワークから接続してください \
         (your organization allows staff to work only from its own networks, and this request \
         comes from {from})"
    )
}

/// Any error kept as the cause of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a [`ServiceError::Busy`] caller should wait (the `Retry-After` of a 503).
pub const BUSY_RETRY_SECONDS: u32 = 5;

impl ServiceError {
    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(_) => "invalid",
            ServiceError::NotAllowed(_) => "not_allowed",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Gone(_) => "gone",
            ServiceError::Unauthenticated(_) => "unauthenticated",
            ServiceError::CheckRequired(_) => "check_required",
            ServiceError::Conflict => "conflict",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::Busy(_) => "busy",
            ServiceError::NetworkRefused(_) => "network_refused",
            ServiceError::Internal { .. } => "internal",
        }
    }

    /// Inkan failed doing `context` (no underlying error to keep).
    pub fn internal(context: impl Into<String>) -> Self {
        ServiceError::Internal {
            context: context.into(),
            cause: None,
        }
    }

    /// Inkan failed doing `context` because of `cause`, kept typed.
    pub fn failed(context: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        ServiceError::Internal {
            context: context.into(),
            cause: Some(cause.into()),
        }
    }

    /// The error an internal fault was caused by, typed (downcast it to look inside).
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            ServiceError::Internal { cause, .. } => cause.as_deref(),
            _ => None,
        }
    }
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidValue { .. } | DomainError::Limit(_) => {
                ServiceError::Invalid(e.to_string())
            }
            DomainError::IllegalTransition { .. } | DomainError::NotAllowed(_) => {
                ServiceError::NotAllowed(e.to_string())
            }
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ServiceError::Conflict,
            StoreError::Duplicate(what) => {
                ServiceError::Invalid(format!("{what} は既に登録されています (already exists)"))
            }
            StoreError::NotFound(_) => ServiceError::NotFound("the record"),
            other => ServiceError::failed("the database", other),
        }
    }
}

impl From<inkan_blobs::BlobError> for ServiceError {
    fn from(e: inkan_blobs::BlobError) -> Self {
        ServiceError::failed("document storage", e)
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_cause_and_say_it_once() {
        let io = std::io::Error::other("disk full");
        let e = ServiceError::failed("writing the backup", io);
        assert_eq!(
            e.to_string(),
            "internal error: writing the backup: disk full"
        );
        assert!(e
            .cause()
            .and_then(|c| c.downcast_ref::<std::io::Error>())
            .is_some());
        let store = StoreError::Corrupt("row 7".into());
        let e = ServiceError::from(store);
        assert_eq!(
            e.to_string(),
            "internal error: the database: stored data is not readable: row 7"
        );
        assert_eq!(
            ServiceError::internal("sealing did not converge").to_string(),
            "internal error: sealing did not converge"
        );
    }
}
