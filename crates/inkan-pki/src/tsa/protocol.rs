//! The RFC 3161 response envelope, encoded here rather than taken from a library: the PKIStatusInfo
//! types of the crate we would use encode PKIFailureInfo bits wrongly, and a TSA that says the
//! wrong reason for a refusal is a TSA nobody can debug.

use der::asn1::{BitString, Utf8StringRef};
use der::{Any, Sequence};

/// PKIStatus values (RFC 3161 §2.4.2).
pub const STATUS_GRANTED: u8 = 0;
pub const STATUS_GRANTED_WITH_MODS: u8 = 1;
pub const STATUS_REJECTION: u8 = 2;

/// PKIFailureInfo bits (RFC 3161 §2.4.2): the bit number is the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    TimeNotAvailable = 14,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    AddInfoNotAvailable = 17,
    SystemFailure = 25,
}

impl FailureInfo {
    /// A DER BIT STRING with only this bit set (named-bit lists drop trailing zero bits).
    pub fn bit_string(self) -> Result<BitString, der::Error> {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        let unused = 7 - (bit % 8) as u8;
        BitString::new(unused, bytes)
    }

    pub fn from_bit_string(bits: &BitString) -> Option<Self> {
        let raw = bits.raw_bytes();
        let set = (0..raw.len() * 8).find(|i| raw[i / 8] & (0x80 >> (i % 8)) != 0)?;
        [
            Self::BadAlg,
            Self::BadRequest,
            Self::BadDataFormat,
            Self::TimeNotAvailable,
            Self::UnacceptedPolicy,
            Self::UnacceptedExtension,
            Self::AddInfoNotAvailable,
            Self::SystemFailure,
        ]
        .into_iter()
        .find(|f| *f as usize == set)
    }
}

/// PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
/// failInfo PKIFailureInfo OPTIONAL }
#[derive(Debug, Clone, Sequence)]
pub struct StatusInfo<'a> {
    pub status: u8,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<Utf8StringRef<'a>>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
#[derive(Debug, Clone, Sequence)]
pub struct TimeStampResponse<'a> {
    pub status: StatusInfo<'a>,
    #[asn1(optional = "true")]
    pub token: Option<Any>,
}
