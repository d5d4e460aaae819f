//! TSTInfo (RFC 3161 §2.4.2) as tokens arrive from any TSA.
//!
//! Its `genTime` may carry a fraction of a second (`20130508191615.82Z`): RFC 3161 allows it
//! ("YYYYMMDDhhmmss[.s...]Z", trailing zeros removed) and several public TSAs send it, but the
//! DER `GeneralizedTime` of the `der` crate refuses anything but whole seconds, so `x509_tsp`'s
//! TSTInfo cannot read such tokens. This one is field for field the same, with [`GenTime`].

use der::asn1::{GeneralizedTime, Int};
use der::{
    DateTime, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer,
};
use std::time::{Duration, SystemTime};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_tsp::{Accuracy, MessageImprint, TsaPolicyId, TspVersion};

/// The TSTInfo of a timestamp token.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct TstInfo {
    pub version: TspVersion,
    pub policy: TsaPolicyId,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `genTime`: a GeneralizedTime in UTC, to the nanosecond (digits past the ninth are read and
/// dropped).
#[derive(Clone, Copy, Debug, Eq, PartialEq, PartialOrd, Ord)]
pub struct GenTime(Duration);

/// Longer than any genTime: 14 digits, a point, a fraction, `Z`.
const MAX_LEN: usize = 64;

impl GenTime {
    /// Whole seconds only (what most readers expect).
    pub fn whole_seconds(at: SystemTime) -> der::Result<Self> {
        let since = unix(at)?;
        Ok(GenTime(Duration::from_secs(since.as_secs())))
    }

    /// With the fraction of a second (trailing zeros removed when encoded).
    pub fn with_fraction(at: SystemTime) -> der::Result<Self> {
        Ok(GenTime(unix(at)?))
    }

    pub fn to_system_time(self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.0
    }

    /// The digits after the point, trailing zeros removed (empty for whole seconds).
    fn fraction(self) -> String {
        let nanos = format!("{:09}", self.0.subsec_nanos());
        nanos.trim_end_matches('0').to_string()
    }

    fn whole(self) -> der::Result<DateTime> {
        DateTime::from_unix_duration(Duration::from_secs(self.0.as_secs()))
    }
}

fn unix(at: SystemTime) -> der::Result<Duration> {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| Tag::GeneralizedTime.value_error())
}

impl From<GeneralizedTime> for GenTime {
    fn from(time: GeneralizedTime) -> Self {
        GenTime(time.to_unix_duration())
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length)?;
        if len > MAX_LEN {
            return Err(Tag::GeneralizedTime.length_error());
        }
        let mut buf = [0u8; MAX_LEN];
        let text = reader.read_into(&mut buf[..len])?;
        parse(text).ok_or_else(|| Tag::GeneralizedTime.value_error())
    }
}

/// `YYYYMMDDhhmmss[.f…]Z`.
fn parse(text: &[u8]) -> Option<GenTime> {
    let (body, zulu) = text.split_at(text.len().checked_sub(1)?);
    if zulu != b"Z" || body.len() < 14 || !body[..14].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u16> {
        std::str::from_utf8(&body[from..to]).ok()?.parse().ok()
    };
    let whole = DateTime::new(
        number(0, 4)?,
        u8::try_from(number(4, 6)?).ok()?,
        u8::try_from(number(6, 8)?).ok()?,
        u8::try_from(number(8, 10)?).ok()?,
        u8::try_from(number(10, 12)?).ok()?,
        u8::try_from(number(12, 14)?).ok()?,
    )
    .ok()?;
    let nanos = match &body[14..] {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            let mut nanos = 0u32;
            for i in 0..9 {
                let digit = digits.get(i).map_or(0, |d| u32::from(d - b'0'));
                nanos = nanos * 10 + digit;
            }
            nanos
        }
        _ => return None,
    };
    Some(GenTime(
        whole.unix_duration() + Duration::from_nanos(u64::from(nanos)),
    ))
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        let fraction = self.fraction();
        let point = usize::from(!fraction.is_empty());
        Length::try_from(14 + point + fraction.len() + 1)
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let at = self.whole()?;
        let mut text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minutes(),
            at.seconds()
        );
        let fraction = self.fraction();
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(&fraction);
        }
        text.push('Z');
        writer.write(text.as_bytes())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    fn der(text: &str) -> Vec<u8> {
        let mut out = vec![0x18, u8::try_from(text.len()).unwrap()];
        out.extend_from_slice(text.as_bytes());
        out
    }

    #[test]
    fn reads_whole_and_fractional_seconds_and_writes_them_back() {
        let whole = GenTime::from_der(&der("20130508191615Z")).unwrap();
        assert_eq!(whole.0, Duration::from_secs(1_368_040_575));
        let fractional = GenTime::from_der(&der("20130508191615.82Z")).unwrap();
        assert_eq!(
            fractional.0,
            Duration::from_secs(1_368_040_575) + Duration::from_millis(820)
        );
        assert_eq!(fractional.to_der().unwrap(), der("20130508191615.82Z"));
        assert_eq!(whole.to_der().unwrap(), der("20130508191615Z"));
        // Nanoseconds and beyond: the first nine digits count.
        let fine = GenTime::from_der(&der("20130508191615.1234567891Z")).unwrap();
        assert_eq!(fine.0.subsec_nanos(), 123_456_789);
        // A zero fraction is read; written, it goes (RFC 3161: trailing zeros removed).
        let zero = GenTime::from_der(&der("20130508191615.000Z")).unwrap();
        assert_eq!(zero.to_der().unwrap(), der("20130508191615Z"));
    }

    #[test]
    fn refuses_what_is_not_a_utc_generalized_time() {
        for bad in [
            "",
            "Z",
            "20130508191615",
            "20130508191615+0900",
            "20130508191615.Z",
            "20130508191615.8aZ",
            "2013050819161Z",
            "20131308191615Z",
            "20130508256115Z",
            "2013050819161５Z",
        ] {
            assert!(GenTime::from_der(&der(bad)).is_err(), "{bad:?}");
        }
        let long = format!("20130508191615.{}Z", "1".repeat(80));
        assert!(GenTime::from_der(&der(&long)).is_err());
    }
}
