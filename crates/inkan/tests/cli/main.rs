//! The integration tests of `inkan`, linked as one binary (one link instead of 5).

mod common;
mod pki_cli;
mod service_api;
mod sign_cli;
mod uploads;
mod verify_cli;
