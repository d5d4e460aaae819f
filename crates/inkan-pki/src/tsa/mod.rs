//! RFC 3161 time-stamping: the authority (server side) and a client with failover.

mod client;
mod protocol;
pub(crate) mod serials;
mod server;
mod tst_info;

pub use client::{
    build_request, check_response, check_token, CheckedToken, TimeStampToken, TsaClient, TsaError,
};
pub use protocol::FailureInfo;
pub use serials::{CounterFile, SerialBlocks};
pub use server::{TimeStampAuthority, TsaReply};
pub use tst_info::{GenTime, TstInfo};
