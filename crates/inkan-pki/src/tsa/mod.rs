//! RFC 3161 time-stamping: the authority (server side) and a client with failover.

mod client;
mod protocol;
mod serials;
mod server;

pub use client::{TimeStampToken, TsaClient, TsaError};
pub use protocol::FailureInfo;
pub use server::{TimeStampAuthority, TsaReply};
