//! Document timestamps (B-LTA) and archive renewal, and the validation data of a TSA's chain.

use std::path::Path;
use std::time::SystemTime;

use der::Decode;
use inkan_keys::DigestAlgorithm;
use inkan_pdf::{Appended, Dict, Document, IncrementalUpdate, Object, Placeholder, Source};
use inkan_pki::tsa::TsaClient;
use inkan_pki::tsa::TstInfo;
use x509_cert::Certificate;

use crate::contents::{last_signature_contents, signatures_in};
use crate::dss::validation_data_update;
use crate::ltv::{RevocationFetcher, ValidationData};
use crate::sign::{Services, TIMESTAMP_SLACK};
use crate::stages::{open_input, write_output};
use crate::{fields, PadesError};

/// Validation data for a timestamp token's TSA chain.
pub(crate) async fn tsa_validation_data(
    token: &[u8],
    services: &Services<'_>,
) -> Result<ValidationData, PadesError> {
    let parsed = inkan_cms::parse(token)?;
    let tsa_cert = parsed
        .signer_certificate()
        .ok_or_else(|| {
            PadesError::Validation("the timestamp token does not carry its TSA certificate".into())
        })?
        .clone();
    services
        .revocation
        .collect(&tsa_cert, parsed.certificates(), services.anchors)
        .await
}

/// Adds a document timestamp (PAdES B-LTA / archive timestamp) to `input`, writing `output`
/// (synced). Returns the token.
pub async fn add_document_timestamp(
    input: &Path,
    output: &Path,
    tsa: &TsaClient,
) -> Result<Vec<u8>, PadesError> {
    let mut pdf = Appended::new(open_input(input)?);
    let (tail, token) = document_timestamp_update(&pdf, tsa).await?;
    pdf.push(&tail);
    write_output(output, &pdf)?;
    Ok(token)
}

/// The update adding a document timestamp to `pdf`, and the timestamp's token.
pub(crate) async fn document_timestamp_update<S: Source + Sync + ?Sized>(
    pdf: &S,
    tsa: &TsaClient,
) -> Result<(Vec<u8>, Vec<u8>), PadesError> {
    let doc = Document::open(pdf)?;
    if fields::docmdp_permission(&doc)? == Some(1) {
        return Err(PadesError::NoChangesAllowed);
    }
    let field = fields::unused_field_name(&doc, "DocTimeStamp")?;
    let token_len = match tsa.last_token_len() {
        Some(len) => len,
        None => tsa
            .timestamp(
                DigestAlgorithm::Sha256,
                &DigestAlgorithm::Sha256.hash(b"probe"),
            )
            .await?
            .der
            .len(),
    };
    let mut capacity = token_len + TIMESTAMP_SLACK;
    for _attempt in 0..3 {
        let mut update = IncrementalUpdate::new(&doc)?;
        let mut sig = Dict::new();
        sig.insert("Type", Object::name("DocTimeStamp"));
        sig.insert("Filter", Object::name("Adobe.PPKLite"));
        sig.insert("SubFilter", Object::name("ETSI.RFC3161"));
        let sig_ref = update.add(sig);
        let byte_range = update.placeholder(sig_ref, "ByteRange", Placeholder::ByteRange)?;
        let contents = update.placeholder(sig_ref, "Contents", Placeholder::Hex { capacity })?;
        fields::place_signature(
            &doc,
            &mut update,
            &field,
            sig_ref,
            fields::Widget::INVISIBLE,
            Vec::new(),
        )?;
        let mut prepared = update.prepare()?;
        prepared.fill_byte_range(byte_range, contents)?;
        let mut hasher = DigestAlgorithm::Sha256.hasher();
        prepared.write_signed(&mut std::io::sink(), contents, &mut |chunk| {
            hasher.update(chunk)
        })?;
        let digest = hasher.finalize().to_vec();
        let token = tsa.timestamp(DigestAlgorithm::Sha256, &digest).await?;
        if token.der.len() > capacity {
            capacity = token.der.len() + TIMESTAMP_SLACK;
            continue;
        }
        prepared.fill_hex(contents, &token.der)?;
        return Ok((prepared.into_appended(), token.der));
    }
    Err(PadesError::OutgrewReservedSpace("timestamp"))
}

/// A document timestamp over a PDF that may carry nobody's signature (a scanned paper
/// contract) or another service's: the timestamp as an incremental update — the original bytes
/// stay as they are, and so do the signatures in them — then its TSA's validation data in the
/// DSS, so the proof of existence verifies offline and archive renewal can extend it.
pub async fn timestamp_document(
    input: &Path,
    output: &Path,
    tsa: &TsaClient,
    revocation: &RevocationFetcher,
    anchors: &[Certificate],
) -> Result<(), PadesError> {
    let mut pdf = Appended::new(open_input(input)?);
    timestamp_appended(&mut pdf, tsa, revocation, anchors).await?;
    write_output(output, &pdf)
}

/// [`timestamp_document`] in memory.
pub async fn timestamp_document_bytes(
    pdf: Vec<u8>,
    tsa: &TsaClient,
    revocation: &RevocationFetcher,
    anchors: &[Certificate],
) -> Result<Vec<u8>, PadesError> {
    let mut pdf = Appended::new(pdf);
    timestamp_appended(&mut pdf, tsa, revocation, anchors).await?;
    Ok(pdf.into_vec())
}

async fn timestamp_appended<S: Source + Sync>(
    pdf: &mut Appended<S>,
    tsa: &TsaClient,
    revocation: &RevocationFetcher,
    anchors: &[Certificate],
) -> Result<(), PadesError> {
    let services = Services {
        tsa: Some(tsa),
        revocation,
        anchors,
    };
    let (tail, token) = document_timestamp_update(&*pdf, tsa).await?;
    pdf.push(&tail);
    let data = tsa_validation_data(&token, &services).await?;
    let tail = validation_data_update(&*pdf, &[(None, data)])?;
    pdf.push(&tail);
    Ok(())
}

/// Archive renewal (`inkan timestamp`): embeds validation data for the newest timestamp's TSA
/// chain, then adds a new document timestamp and the validation data of its TSA, so the
/// document stays verifiable past the older TSA certificate's life.
pub async fn renew_archive_timestamp(
    input: &Path,
    output: &Path,
    tsa: &TsaClient,
    revocation: &RevocationFetcher,
    anchors: &[Certificate],
) -> Result<(), PadesError> {
    let mut pdf = Appended::new(open_input(input)?);
    renew_appended(&mut pdf, tsa, revocation, anchors).await?;
    write_output(output, &pdf)
}

/// [`renew_archive_timestamp`] in memory.
pub async fn renew_archive_timestamp_bytes(
    pdf: Vec<u8>,
    tsa: &TsaClient,
    revocation: &RevocationFetcher,
    anchors: &[Certificate],
) -> Result<Vec<u8>, PadesError> {
    let mut pdf = Appended::new(pdf);
    renew_appended(&mut pdf, tsa, revocation, anchors).await?;
    Ok(pdf.into_vec())
}

async fn renew_appended<S: Source + Sync>(
    pdf: &mut Appended<S>,
    tsa: &TsaClient,
    revocation: &RevocationFetcher,
    anchors: &[Certificate],
) -> Result<(), PadesError> {
    // One gathering for the newest timestamp's tokens (they name one TSA, mostly), another for
    // the new document timestamp, fetched after it.
    let gathering = revocation.gathering();
    let services = Services {
        tsa: Some(tsa),
        revocation: &gathering,
        anchors,
    };
    let newest = signatures_in(&Document::open(&*pdf)?)?
        .pop()
        .ok_or(PadesError::NoSignature)?
        .cms;
    // The newest is a document timestamp (a token) or a signature whose tokens are attributes.
    let parsed = inkan_cms::parse(&newest)?;
    let mut data = ValidationData::default();
    if parsed.econtent_type() == inkan_cms::oid::ID_CT_TST_INFO {
        data.merge(tsa_validation_data(&newest, &services).await?);
    } else {
        for token in parsed.timestamp_tokens()? {
            data.merge(tsa_validation_data(&token, &services).await?);
        }
    }
    let tail = validation_data_update(&*pdf, &[(None, data)])?;
    pdf.push(&tail);
    let (tail, token) = document_timestamp_update(&*pdf, tsa).await?;
    pdf.push(&tail);
    let gathering = revocation.gathering();
    let services = Services {
        revocation: &gathering,
        ..services
    };
    let data = tsa_validation_data(&token, &services).await?;
    let tail = validation_data_update(&*pdf, &[(None, data)])?;
    pdf.push(&tail);
    Ok(())
}

/// When the proof a signed PDF carries runs out: the earliest `notAfter` on the path from the
/// TSA certificate of its newest timestamp (the newest document timestamp, or the timestamps of
/// the newest signature) to one of `anchors`. Before that moment the archive must be renewed
/// (ETSI EN 319 142-1 §5.5: a new document timestamp over the validation data of the old one).
pub fn archive_horizon(input: &Path, anchors: &[Certificate]) -> Result<SystemTime, PadesError> {
    horizon_of(last_signature_contents(input)?.cms, anchors)
}

/// [`archive_horizon`] of a PDF in memory (the service's documents are: writing one to a file
/// only to read its last signature cost more than the reading).
pub fn archive_horizon_of(pdf: &[u8], anchors: &[Certificate]) -> Result<SystemTime, PadesError> {
    let newest = crate::contents::signatures_in(&Document::open(pdf)?)?
        .pop()
        .ok_or(PadesError::NoSignature)?;
    horizon_of(newest.cms, anchors)
}

fn horizon_of(newest: Vec<u8>, anchors: &[Certificate]) -> Result<SystemTime, PadesError> {
    let parsed = inkan_cms::parse(&newest)?;
    let tokens = if parsed.econtent_type() == inkan_cms::oid::ID_CT_TST_INFO {
        vec![newest]
    } else {
        parsed.timestamp_tokens()?
    };
    let mut horizon: Option<SystemTime> = None;
    for token in &tokens {
        let end = token_horizon(token, anchors)?;
        horizon = Some(horizon.map_or(end, |h| h.min(end)));
    }
    horizon.ok_or(PadesError::NothingToRenew)
}

/// The earliest `notAfter` on the TSA path of one timestamp token, validated at its genTime.
fn token_horizon(token: &[u8], anchors: &[Certificate]) -> Result<SystemTime, PadesError> {
    let parsed = inkan_cms::parse(token)?;
    let info = parsed
        .encapsulated_content()
        .map(TstInfo::from_der)
        .ok_or_else(|| PadesError::Validation("a timestamp token without TSTInfo".into()))?
        .map_err(|e| PadesError::Validation(format!("a timestamp's TSTInfo: {e}")))?;
    let tsa = parsed.signer_certificate().ok_or_else(|| {
        PadesError::Validation("the timestamp token does not carry its TSA certificate".into())
    })?;
    let path = inkan_cms::path::validate(
        tsa,
        parsed.certificates(),
        anchors,
        info.gen_time.to_system_time(),
        Some(inkan_cms::oid::ID_KP_TIME_STAMPING),
    )
    .map_err(|e| PadesError::Validation(format!("the timestamp's TSA: {e}")))?;
    path.iter()
        .map(|c| c.tbs_certificate.validity.not_after.to_system_time())
        .min()
        .ok_or_else(|| PadesError::Validation("an empty TSA path".into()))
}
