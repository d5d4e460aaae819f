//! Identifiers: one newtype each, so an envelope's ID can never be passed where a document's is
//! expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::DomainError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, random identifier (UUID v4).
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4())
            }
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, DomainError> {
                uuid::Uuid::parse_str(s).map(Self).map_err(|e| DomainError::InvalidValue {
                    what: $what,
                    why: e.to_string(),
                })
            }
        }
    };
}

uuid_id!(
    /// An organisation (a tenant: a city, a company).
    OrganizationId,
    "organization ID"
);
uuid_id!(
    /// An envelope (封筒).
    EnvelopeId,
    "envelope ID"
);
uuid_id!(
    /// A document inside an envelope.
    DocumentId,
    "document ID"
);
uuid_id!(
    /// A recipient of an envelope.
    RecipientId,
    "recipient ID"
);
uuid_id!(
    /// A department (部署) of an organisation.
    DepartmentId,
    "department ID"
);
uuid_id!(
    /// A staff user of an organisation.
    UserId,
    "user ID"
);
uuid_id!(
    /// A group of staff users (グループ), to which folders are granted.
    GroupId,
    "group ID"
);
uuid_id!(
    /// A folder (フォルダ) of an organisation's envelopes.
    FolderId,
    "folder ID"
);
uuid_id!(
    /// A counterparty (取引先) registered by its 電子契約用メールアドレス届出書.
    CounterpartyId,
    "counterparty ID"
);
uuid_id!(
    /// A template (テンプレート): a reusable envelope, kept in numbered versions.
    TemplateId,
    "template ID"
);
uuid_id!(
    /// A bulk send (一括送信): one envelope per row of a CSV, made from one template version.
    BatchId,
    "batch ID"
);
uuid_id!(
    /// A field placed on a document for one recipient.
    FieldId,
    "field ID"
);
uuid_id!(
    /// A file attached to an envelope, by its sender or by a signer.
    AttachmentId,
    "attachment ID"
);
uuid_id!(
    /// An organisation's API key.
    ApiKeyId,
    "API key ID"
);
uuid_id!(
    /// A durable job.
    JobId,
    "job ID"
);
uuid_id!(
    /// A webhook endpoint of an organisation.
    WebhookId,
    "webhook ID"
);
uuid_id!(
    /// A signer's free account (their own 文書管理), which belongs to no organization.
    SignerAccountId,
    "signer account ID"
);
