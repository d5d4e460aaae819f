//! The integration tests of `inkan-pades`, linked as one binary (one link instead of 6).

mod common;
mod verify_support;
mod appearance;
mod certificate;
mod forms;
mod producers;
mod signing;
mod verify;
