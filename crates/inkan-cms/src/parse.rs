//! Reading SignedData written by anyone: Inkan, OpenSSL, pyHanko, an external TSA.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Decode, Encode, Tag, TagNumber, Tagged};
use inkan_keys::DigestAlgorithm;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::Certificate;

use crate::oid;
use crate::tlv::{self, children, split};
use crate::CmsError;

/// A parsed ContentInfo(SignedData), focused on its first SignerInfo (PAdES signatures and
/// timestamp tokens have exactly one).
#[derive(Debug, Clone)]
pub struct ParsedSignedData {
    signed_data: SignedData,
    signer: SignerInfo,
    signed_attrs_der: Option<Vec<u8>>,
    econtent: Option<Vec<u8>>,
    certificates: Vec<Certificate>,
    content_type_attr: Option<ObjectIdentifier>,
    message_digest: Option<Vec<u8>>,
    signer_cert: Option<usize>,
}

/// Parses a ContentInfo(SignedData), in DER or else in BER (indefinite lengths, OCTET STRINGs
/// in pieces) or with an element repeated in a SET OF: rewritten in DER first, repeats dropped. Zero padding after it (a PDF's /Contents) is ignored. Never
/// panics: anything else than well-formed SignedData is an error saying what is wrong.
pub fn parse(input: &[u8]) -> Result<ParsedSignedData, CmsError> {
    match parse_der(input) {
        Ok(parsed) => Ok(parsed),
        Err(error) => match crate::ber::to_der(input) {
            // Only what the rewriting changed gets a second reading; otherwise the first error
            // stands.
            Ok(der) if tlv::strip_zero_padding(input).ok() != Some(der.as_slice()) => {
                parse_der(&der)
            }
            _ => Err(error),
        },
    }
}

fn parse_der(der: &[u8]) -> Result<ParsedSignedData, CmsError> {
    let der =
        tlv::strip_zero_padding(der).map_err(|e| CmsError::malformed("not a DER structure", e))?;
    let content_info =
        ContentInfo::from_der(der).map_err(|e| CmsError::malformed("ContentInfo", e))?;
    if content_info.content_type != oid::ID_SIGNED_DATA {
        return Err(CmsError::NotSignedData(content_info.content_type));
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| CmsError::malformed("SignedData", e))?;
    if signed_data.signer_infos.0.is_empty() {
        return Err(CmsError::NoSigner);
    }
    // The typed decoder re-sorts SET OFs, so the first SignerInfo and its signed attributes are
    // taken from the raw bytes: they are what was signed.
    let (signer_raw, signed_attrs_der) =
        first_signer_raw(der).map_err(|e| CmsError::malformed("SignerInfo", e))?;
    let signer =
        SignerInfo::from_der(signer_raw).map_err(|e| CmsError::malformed("SignerInfo", e))?;

    let econtent = match &signed_data.encap_content_info.econtent {
        None => None,
        Some(any) if any.tag() == Tag::OctetString => Some(any.value().to_vec()),
        Some(any) => {
            return Err(CmsError::Malformed(format!(
                "eContent is {} instead of an OCTET STRING",
                any.tag()
            )))
        }
    };
    let certificates: Vec<Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();

    let content_type_attr = single_signed_value(&signer, oid::ID_CONTENT_TYPE, "content-type")?
        .map(|any| {
            any.decode_as::<ObjectIdentifier>()
                .map_err(|e| CmsError::malformed("content-type attribute", e))
        })
        .transpose()?;
    let message_digest = single_signed_value(&signer, oid::ID_MESSAGE_DIGEST, "message-digest")?
        .map(|any| {
            any.decode_as::<OctetString>()
                .map(|o| o.as_bytes().to_vec())
                .map_err(|e| CmsError::malformed("message-digest attribute", e))
        })
        .transpose()?;
    let signer_cert = certificates
        .iter()
        .position(|cert| identifies(&signer.sid, cert));
    Ok(ParsedSignedData {
        signed_data,
        signer,
        signed_attrs_der,
        econtent,
        certificates,
        content_type_attr,
        message_digest,
        signer_cert,
    })
}

/// The first SignerInfo's raw DER and its signed attributes re-tagged as a SET OF (0x31).
fn first_signer_raw(der: &[u8]) -> der::Result<(&[u8], Option<Vec<u8>>)> {
    let (content_info, _) = split(der)?;
    let explicit = *children(content_info.value)?
        .get(1)
        .ok_or(Tag::Sequence.value_error())?;
    let (signed_data, _) = split(explicit.value)?;
    let parts = children(signed_data.value)?;
    let infos = parts.last().ok_or(Tag::Sequence.value_error())?;
    let (first, _) = split(infos.value)?;
    let signed_tag = tlv::context(TagNumber::N0);
    let signed_attrs = children(first.value)?
        .into_iter()
        .find(|part| part.tag == signed_tag)
        .map(|part| tlv::encode(Tag::Set, part.value))
        .transpose()?;
    Ok((first.raw, signed_attrs))
}

/// The one value of a signed attribute that RFC 5652 allows only once with one value.
fn single_signed_value<'a>(
    signer: &'a SignerInfo,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<Option<&'a Any>, CmsError> {
    let mut found = signer
        .signed_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(CmsError::AttributeNotSingle { name, oid });
    }
    Ok(attr.values.iter().next())
}

/// Whether `cert` is the one a SignerIdentifier names (issuer and serial, or key identifier).
pub(crate) fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    }
}

impl ParsedSignedData {
    /// The whole SignedData, for anything the accessors do not cover.
    pub fn signed_data(&self) -> &SignedData {
        &self.signed_data
    }

    /// The first SignerInfo (as encoded first, not as re-sorted).
    pub fn signer_info(&self) -> &SignerInfo {
        &self.signer
    }

    /// How many SignerInfos there are (PAdES: exactly one).
    pub fn signer_count(&self) -> usize {
        self.signed_data.signer_infos.0.len()
    }

    /// The signature value: what a B-T signature timestamp's message imprint is computed over.
    pub fn signature_value(&self) -> &[u8] {
        self.signer.signature.as_bytes()
    }

    /// The SignerInfo's digest algorithm; an error names an unsupported one.
    pub fn digest_algorithm(&self) -> Result<DigestAlgorithm, CmsError> {
        let oid = self.signer.digest_alg.oid;
        DigestAlgorithm::from_oid(&oid).ok_or(CmsError::UnsupportedDigest(oid))
    }

    /// The eContentType (id-data for PAdES, id-ct-TSTInfo for a timestamp token).
    pub fn econtent_type(&self) -> ObjectIdentifier {
        self.signed_data.encap_content_info.econtent_type
    }

    /// The encapsulated content (e.g. the TSTInfo DER of a timestamp token); `None` if detached.
    pub fn encapsulated_content(&self) -> Option<&[u8]> {
        self.econtent.as_deref()
    }

    /// The digest of the encapsulated content with the SignerInfo's digest algorithm, ready for
    /// [`crate::verify`]. An error if the content is detached.
    pub fn encapsulated_content_digest(&self) -> Result<Vec<u8>, CmsError> {
        let content = self.econtent.as_deref().ok_or(CmsError::Detached)?;
        Ok(self.digest_algorithm()?.hash(content))
    }

    /// Every certificate in the `certificates` field (other certificate formats are skipped).
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// The signer's certificate, if the CMS carries it (found by issuer+serial or key identifier).
    pub fn signer_certificate(&self) -> Option<&Certificate> {
        self.signer_cert.and_then(|i| self.certificates.get(i))
    }

    /// The signed attributes exactly as signed: a DER SET OF (tag 0x31). `None` if absent.
    pub fn signed_attributes_der(&self) -> Option<&[u8]> {
        self.signed_attrs_der.as_deref()
    }

    /// The OIDs of the signed attributes, in encoded order (to check what a signer included).
    pub fn signed_attribute_types(&self) -> Vec<ObjectIdentifier> {
        self.signer
            .signed_attrs
            .iter()
            .flat_map(|attrs| attrs.iter().map(|a| a.oid))
            .collect()
    }

    /// The values of every signed attribute of type `oid`.
    pub fn signed_attribute_values(&self, oid: ObjectIdentifier) -> Vec<&Any> {
        attribute_values(self.signer.signed_attrs.as_ref(), oid)
    }

    /// The values of every unsigned attribute of type `oid`.
    pub fn unsigned_attribute_values(&self, oid: ObjectIdentifier) -> Vec<&Any> {
        attribute_values(self.signer.unsigned_attrs.as_ref(), oid)
    }

    /// The content-type signed attribute.
    pub fn content_type_attribute(&self) -> Option<ObjectIdentifier> {
        self.content_type_attr
    }

    /// The message-digest signed attribute.
    pub fn message_digest(&self) -> Option<&[u8]> {
        self.message_digest.as_deref()
    }

    /// The signature timestamp tokens (B-T), each a DER ContentInfo to parse with [`crate::parse`].
    pub fn timestamp_tokens(&self) -> Result<Vec<Vec<u8>>, CmsError> {
        self.unsigned_attribute_values(oid::ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
            .into_iter()
            .map(|any| any.to_der().map_err(CmsError::encoding))
            .collect()
    }
}

fn attribute_values(
    attrs: Option<&x509_cert::attr::Attributes>,
    oid: ObjectIdentifier,
) -> Vec<&Any> {
    attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .filter(|a| a.oid == oid)
        .flat_map(|a| a.values.iter())
        .collect()
}
