//! The integration tests of `inkan`, linked as one binary (one link).

mod bulk;
mod common;
mod import_cli;
mod nodes;
mod pki_cli;
mod service_api;
mod sign_cli;
mod uploads;
mod verify_cli;
