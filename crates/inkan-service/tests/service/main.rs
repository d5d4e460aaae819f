//! The integration tests of `inkan-service`, linked as one binary (one link).

mod common;
mod conclusion;
mod flow;
mod imports;
mod lifecycle;
mod signer_check;
mod templates;
