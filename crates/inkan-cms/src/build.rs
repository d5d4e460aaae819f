//! Building SignedData by hand, so that the signed attributes are exactly what PAdES allows.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos, UnsignedAttributes,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag, TagNumber};
use inkan_keys::{DigestAlgorithm, SigningKey};
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use crate::ess::SigningCertificateV2;
use crate::oid;
use crate::tlv::{self, children, encode, encode_parts, split};
use crate::CmsError;

/// What to sign.
pub struct SignRequest<'a> {
    /// The eContentType: [`oid::ID_DATA`] for PAdES, [`oid::ID_CT_TST_INFO`] for a TSA token.
    pub content_type: ObjectIdentifier,
    /// `Some(bytes)`: the content is encapsulated (a TSTInfo); `None`: detached (PAdES, where the
    /// content is the PDF's byte ranges).
    pub encapsulated: Option<&'a [u8]>,
    /// The digest of the content computed with `digest` (the caller streams the PDF byte ranges).
    pub content_digest: &'a [u8],
    /// The digest algorithm; must be the one the key signs with (`key.algorithm().digest()`),
    /// because verifiers such as OpenSSL hash the signed attributes with the SignerInfo's digest.
    pub digest: DigestAlgorithm,
    /// The signing key.
    pub key: &'a dyn SigningKey,
    /// The signer's certificate (its public key must be the key's).
    pub certificate: &'a Certificate,
    /// Further certificates to include, normally the intermediates up to (not including) the root.
    pub chain: &'a [Certificate],
    /// Whether to include the certificates at all: a TSA leaves them out when the request did
    /// not ask for them (RFC 3161 certReq = false).
    pub include_certificates: bool,
}

/// Builds a DER ContentInfo(SignedData) with one SignerInfo.
///
/// Signed attributes: content-type, message-digest and signing-certificate-v2, each once, in DER
/// SET OF order, and no signing-time. The SignerInfo is version 1 with issuerAndSerialNumber;
/// the signature is over the DER of the signed attributes as a SET OF. SignedData is version 1,
/// or 3 when the eContentType is not id-data (RFC 5652 §5.1). Certificates: the signer's and the
/// chain, without duplicates.
pub fn sign(req: &SignRequest<'_>) -> Result<Vec<u8>, CmsError> {
    check_request(req)?;
    let enc = CmsError::encoding;
    let ess = SigningCertificateV2::for_certificate(req.certificate, req.digest).map_err(enc)?;
    let signed_attrs: SignedAttributes = SetOfVec::try_from(vec![
        attribute(
            oid::ID_CONTENT_TYPE,
            Any::encode_from(&req.content_type).map_err(enc)?,
        )?,
        attribute(
            oid::ID_MESSAGE_DIGEST,
            Any::new(Tag::OctetString, req.content_digest).map_err(enc)?,
        )?,
        attribute(
            oid::ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(enc)?,
        )?,
    ])
    .map_err(enc)?;
    // What is signed is the SET OF encoding (tag 0x31), not the [0] IMPLICIT one (RFC 5652 §5.4).
    let signature = req.key.sign(&signed_attrs.to_der().map_err(enc)?)?;

    let tbs = &req.certificate.tbs_certificate;
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: req.digest.identifier(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: req.key.algorithm().identifier(),
        signature: OctetString::new(signature).map_err(enc)?,
        unsigned_attrs: None,
    };

    let mut certs: Vec<Certificate> = Vec::with_capacity(1 + req.chain.len());
    for cert in std::iter::once(req.certificate).chain(req.chain) {
        // A SET OF with two equal elements is not DER, and the `der` crate refuses it.
        if !certs.contains(cert) {
            certs.push(cert.clone());
        }
    }
    let certificates = CertificateSet(
        SetOfVec::try_from(
            certs
                .into_iter()
                .map(cms::cert::CertificateChoices::Certificate)
                .collect::<Vec<_>>(),
        )
        .map_err(enc)?,
    );

    let econtent = match req.encapsulated {
        Some(bytes) => Some(Any::new(Tag::OctetString, bytes).map_err(enc)?),
        None => None,
    };
    let signed_data = SignedData {
        version: if req.content_type == oid::ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![req.digest.identifier()]).map_err(enc)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: req.content_type,
            econtent,
        },
        certificates: req.include_certificates.then_some(certificates),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(enc)?),
    };
    ContentInfo {
        content_type: oid::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(enc)?,
    }
    .to_der()
    .map_err(enc)
}

fn check_request(req: &SignRequest<'_>) -> Result<(), CmsError> {
    if req.content_digest.len() != req.digest.output_len() {
        return Err(CmsError::Request(format!(
            "the content digest has {} bytes, {:?} gives {}",
            req.content_digest.len(),
            req.digest,
            req.digest.output_len()
        )));
    }
    let key_digest = req.key.algorithm().digest();
    if key_digest != req.digest {
        return Err(CmsError::Request(format!(
            "the content is digested with {:?} but the key signs with {:?}; they must be the \
             same because verifiers hash the signed attributes with the SignerInfo's digest",
            req.digest, key_digest
        )));
    }
    let cert_key = req
        .certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(CmsError::encoding)?;
    let key = req.key.public_key().to_der().map_err(CmsError::encoding)?;
    if cert_key != key {
        return Err(CmsError::Request(
            "the certificate's public key is not the signing key's".into(),
        ));
    }
    Ok(())
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(CmsError::encoding)?,
    })
}

/// Adds the unsigned attribute signature-time-stamp-token holding `token` (a DER ContentInfo, an
/// RFC 3161 TimeStampToken over the signature value) to the first SignerInfo, and returns the new
/// ContentInfo DER.
///
/// Everything else is copied byte for byte (the SignerInfo is spliced, not re-encoded), so the
/// signature stays valid whatever encoder produced the input.
pub fn add_signature_timestamp(signed: &[u8], token: &[u8]) -> Result<Vec<u8>, CmsError> {
    let token_info = ContentInfo::from_der(token)
        .map_err(|e| CmsError::malformed("the timestamp token is not a ContentInfo", e))?;
    if token_info.content_type != oid::ID_SIGNED_DATA {
        return Err(CmsError::NotSignedData(token_info.content_type));
    }
    // Check the input the same way `parse` does, so the errors are the same.
    crate::parse(signed)?;
    let out = splice_unsigned_attribute(signed, token)
        .map_err(|e| CmsError::malformed("adding the timestamp", e))?;
    // The result must be readable by ourselves before anyone embeds it in a PDF.
    crate::parse(&out)?;
    Ok(out)
}

fn splice_unsigned_attribute(signed: &[u8], token: &[u8]) -> der::Result<Vec<u8>> {
    let (content_info, _) = split(tlv::strip_zero_padding(signed)?)?;
    let ci_parts = children(content_info.value)?;
    let (ci_oid, explicit) = match ci_parts.as_slice() {
        [oid, explicit] => (*oid, *explicit),
        _ => return Err(Tag::Sequence.value_error()),
    };
    let (signed_data, _) = split(explicit.value)?;
    let sd_parts = children(signed_data.value)?;
    let (signer_infos, sd_head) = sd_parts.split_last().ok_or(Tag::Set.value_error())?;
    let infos = children(signer_infos.value)?;
    let (first, other_infos) = infos.split_first().ok_or(Tag::Set.value_error())?;

    let mut si_parts = children(first.value)?;
    let unsigned_tag = tlv::context(TagNumber::N1);
    let mut attrs: UnsignedAttributes = match si_parts.last() {
        Some(last) if last.tag == unsigned_tag => {
            let existing = SetOfVec::from_der(&encode(Tag::Set, last.value)?)?;
            si_parts.pop();
            existing
        }
        _ => SetOfVec::new(),
    };
    let token_any = Any::from_der(token)?;
    // One attribute per token is what CAdES verifiers expect; a second token (a renewal)
    // becomes a second attribute, inserted in DER order.
    attrs.insert(Attribute {
        oid: oid::ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
        values: SetOfVec::try_from(vec![token_any])?,
    })?;
    let attrs_der = attrs.to_der()?;
    let (attrs_set, _) = split(&attrs_der)?;
    let unsigned = encode(unsigned_tag, attrs_set.value)?;

    let mut si_raw: Vec<&[u8]> = si_parts.iter().map(|t| t.raw).collect();
    si_raw.push(&unsigned);
    let new_signer = encode_parts(Tag::Sequence, &si_raw)?;

    let mut infos_raw: Vec<&[u8]> = vec![&new_signer];
    infos_raw.extend(other_infos.iter().map(|t| t.raw));
    let new_infos = encode_parts(Tag::Set, &infos_raw)?;

    let mut sd_raw: Vec<&[u8]> = sd_head.iter().map(|t| t.raw).collect();
    sd_raw.push(&new_infos);
    let new_sd = encode_parts(Tag::Sequence, &sd_raw)?;
    let new_explicit = encode(explicit.tag, &new_sd)?;
    encode_parts(Tag::Sequence, &[ci_oid.raw, &new_explicit])
}
