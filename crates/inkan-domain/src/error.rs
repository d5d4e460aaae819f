//! Why a value or an operation was refused by the domain's rules, in Japanese then English:
//! a value that is not one (`InvalidValue`, naming the field), an action the envelope's state
//! does not allow (`IllegalTransition`), one this person may not take (`NotAllowed`), a limit
//! passed (`Limit`). The domain does no I/O, so nothing here has a source.
use thiserror::Error;

use crate::EnvelopeStatus;

/// Why a value or an operation was refused. Messages are for the person who tried.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// `what` and `why` each say it in Japanese, then English in parentheses.
    #[error("{what}: {why}")]
    InvalidValue { what: &'static str, why: String },
    #[error(
        "{}の封筒は{}できません (an envelope that is {} cannot be {})",
        from.japanese(), action.ja, from.english(), action.en
    )]
    IllegalTransition {
        from: EnvelopeStatus,
        action: crate::ActionName,
    },
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Limit(String),
}
