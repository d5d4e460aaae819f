//! The integration tests of `inkan-pdf`, linked as one binary (one link instead of 4).

mod common;
mod new_document;
mod read;
mod robustness;
mod write;
