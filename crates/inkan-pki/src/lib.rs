//! Inkan's trust services.
//!
//! - [`Pki`]: a PKI directory — root CA, issuing CA, TSA, OCSP-responder and witness
//!   certificates — that issues signer certificates and revokes them.
//! - [`crl`]: CRLs, issued fresh and checked.
//! - [`ocsp`]: the OCSP responder for the issuing CA and a client for any responder.
//! - [`tsa`]: the RFC 3161 time-stamping authority and a client with failover.
//! - [`server`]: the HTTP endpoints of `inkan pki serve`.
//!
//! Keys live behind [`inkan_keys::SigningKey`], so every CA and service key can sit in a
//! PKCS#11 token by configuration.
#![doc = include_str!("../README.md")]

mod ca;
mod config;
pub mod crl;
pub mod egress;
mod error;
pub mod failures;
mod fsutil;
pub mod http;
mod keystore;
pub mod live;
pub mod ocsp;
mod revocation;
pub mod server;
pub mod shared;
pub mod tsa;
pub mod x509;

pub use ca::{
    read_certificate, serial_hex, CaRole, CertState, Expiry, InitOptions, Pki, Renewal, Revocation,
    RevocationReason, ServiceRole, SignerRequest,
};
pub use config::{KeyBackendConfig, PkiConfig, Urls};
pub use error::PkiError;
pub use keystore::KeyRole;
pub use revocation::RevocationStatus;
