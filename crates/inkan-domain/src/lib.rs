//! Inkan's domain model, free of I/O: what an envelope (封筒) is, who receives it in which order,
//! which state changes are legal, and the value types every layer shares.
//!
//! Invalid states are made unrepresentable where the type system allows it (parsed value types,
//! an envelope that changes state only through its methods), and every refused operation says
//! why in a [`DomainError`].
#![doc = include_str!("../README.md")]

pub mod calendar;
mod envelope;
mod error;
mod fields;
pub mod font;
mod ids;
mod jst;
mod lang;
mod routing;
pub mod signer_check;
pub mod staff_networks;
pub mod text;
mod values;

pub use calendar::{CalendarDate, DateFormat};
pub use envelope::{
    Action, ActionName, Envelope, EnvelopeStatus, Outcome, StatusKind, TemplateUse, MAX_DOCUMENTS,
    MAX_TOTAL_BYTES,
};
pub use error::DomainError;
pub use fields::{fill, signs, Field, FieldKind, FieldValue, Placement};
pub use ids::{
    ApiKeyId, AttachmentId, BatchId, CounterpartyId, DepartmentId, DocumentId, EnvelopeId, FieldId,
    FolderId, GroupId, JobId, OrganizationId, RecipientId, SignerAccountId, TemplateId, UserId,
    WebhookId,
};
pub use jst::Jst;
pub use lang::Lang;
pub use routing::{
    Authentication, Recipient, RecipientState, Role, SignatureMethod, SigningRecord,
};
pub use signer_check::{CheckMethod, CheckProgress, CheckRecord, PhoneNumber, SignerCheck};
pub use staff_networks::StaffNetworks;
pub use values::{ConclusionId, Email, Yen};
