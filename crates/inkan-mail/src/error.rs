//! Mail errors, split by what the job system should do about them.

/// Why a mail was not sent.
///
/// The job system retries a send only when [`MailError::is_permanent`] is false: retrying a
/// rejected recipient or a malformed address can never succeed and would only delay the report
/// to the sender, whereas a refused connection or a 4xx reply usually passes later.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address (recipient, sender or reply-to) cannot be used.
    #[error("invalid email address {address:?}: {reason}")]
    Address { address: String, reason: String },
    /// The message could not be assembled (e.g. no recipient).
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The configuration is unusable (e.g. an invalid TLS host name).
    #[error("mail configuration: {0}")]
    Config(String),
    /// The SMTP server answered 5xx: it will not take this mail, now or later.
    #[error("the SMTP server rejected the mail ({code}): {detail}")]
    Rejected { code: String, detail: String },
    /// The SMTP server answered 4xx: try again later.
    #[error("the SMTP server deferred the mail ({code}): {detail}")]
    Deferred { code: String, detail: String },
    /// The server could not be reached or the conversation broke off (refused, timeout, TLS,
    /// an unreadable reply).
    #[error("SMTP connection failed: {0}")]
    Connection(String),
    /// Writing the mail to disk failed.
    #[error("cannot write the mail: {0}")]
    Io(#[from] std::io::Error),
}

impl MailError {
    /// True when sending the same mail again cannot succeed (do not retry).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MailError::Address { .. }
                | MailError::Build(_)
                | MailError::Config(_)
                | MailError::Rejected { .. }
        )
    }

    /// The SMTP reply code, when the server answered with an error.
    pub fn smtp_code(&self) -> Option<&str> {
        match self {
            MailError::Rejected { code, .. } | MailError::Deferred { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn from_smtp(error: lettre::transport::smtp::Error) -> MailError {
        let detail = chain(&error);
        match error.status() {
            Some(code) if error.is_permanent() => MailError::Rejected {
                code: code.to_string(),
                detail,
            },
            Some(code) => MailError::Deferred {
                code: code.to_string(),
                detail,
            },
            None => MailError::Connection(detail),
        }
    }
}

/// The error with its sources, so that "connection error" says which connection and why.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
