//! The integration tests of `inkan`, linked as one binary (one link instead of 7).

mod common;
mod import_cli;
mod nodes;
mod pki_cli;
mod service_api;
mod sign_cli;
mod uploads;
mod verify_cli;
