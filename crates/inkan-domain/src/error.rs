use thiserror::Error;

use crate::EnvelopeStatus;

/// Why a value or an operation was refused. Messages are for the person who tried.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("{what} is not valid: {why}")]
    InvalidValue { what: &'static str, why: String },
    #[error("an envelope that is {from} cannot be {action}")]
    IllegalTransition {
        from: EnvelopeStatus,
        action: &'static str,
    },
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Limit(String),
}
