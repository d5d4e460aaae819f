//! The integration tests of `inkan`, linked as one binary (one link instead of 6).

mod common;
mod import_cli;
mod pki_cli;
mod service_api;
mod sign_cli;
mod uploads;
mod verify_cli;
