//! The integration tests of `inkan-pades`, linked as one binary (one link instead of 6).

mod appearance;
mod certificate;
mod common;
mod forms;
mod producers;
mod signing;
mod verify;
mod verify_support;
