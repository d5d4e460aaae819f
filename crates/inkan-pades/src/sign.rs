//! Signing a PDF: one incremental update holding the signature, then (B-LT) the validation data,
//! then (B-LTA) a document timestamp and its validation data — each appended in memory (see
//! `stages`); a file output is written once, at the end, so a failure never leaves a
//! half-signed file at the output path.

use std::path::Path;
use std::time::SystemTime;

use inkan_keys::{DigestAlgorithm, SigningKey};
use inkan_pdf::{
    Appended, Dict, Document, IncrementalUpdate, Object, PdfString, Placeholder, Source,
};
use inkan_pki::tsa::TsaClient;
use x509_cert::Certificate;

use crate::contents::{signatures_in, SignatureBytes};
use crate::dss::{validation_data_update, vri_key};
use crate::ltv::{RevocationFetcher, ValidationData};
use crate::stages::{open_input, write_output};
use crate::timestamp::{document_timestamp_update, tsa_validation_data};
use crate::{fields, PadesError};

/// The PAdES baseline level to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A signature.
    BB,
    /// Plus a signature timestamp.
    BT,
    /// Plus validation data (certificates, OCSP, CRLs) in the DSS.
    BLT,
    /// Plus a document timestamp and its validation data.
    BLTA,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "b-b" | "bb" => Some(Level::BB),
            "b-t" | "bt" => Some(Level::BT),
            "b-lt" | "blt" => Some(Level::BLT),
            "b-lta" | "blta" => Some(Level::BLTA),
            _ => None,
        }
    }

    /// `B-B`, `B-T`, `B-LT` or `B-LTA`.
    pub fn name(self) -> &'static str {
        match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        }
    }
}

/// The certification level of a certification signature (DocMDP /P).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certify {
    /// No changes allowed.
    NoChanges = 1,
    /// Form filling and signing allowed.
    FormFilling = 2,
    /// Also annotations.
    Annotations = 3,
}

/// What the signature says and how far it goes.
#[derive(Debug, Clone)]
pub struct SignOptions {
    pub level: Level,
    /// The signature field to fill or create (`Signature1`, `Signature2` … when not given).
    pub field: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// The signer's name in the signature dictionary (the certificate's common name if `None`).
    pub name: Option<String>,
    pub certify: Option<Certify>,
    /// A visible signature (invisible when `None`; a field created with a size gets a visible
    /// appearance in its own rectangle).
    pub visible: Option<crate::Visible>,
    /// Form fields this signer fills, in the same update as the signature.
    pub fill: Vec<(String, crate::forms::FieldValue)>,
    /// The signing time written into `/M`.
    pub time: SystemTime,
}

impl SignOptions {
    pub fn new(level: Level) -> Self {
        SignOptions {
            level,
            field: None,
            reason: None,
            location: None,
            name: None,
            certify: None,
            visible: None,
            fill: Vec::new(),
            time: SystemTime::now(),
        }
    }
}

/// Who signs.
pub struct Signer<'a> {
    pub key: &'a dyn SigningKey,
    pub certificate: &'a Certificate,
    /// Intermediate certificates (and the root, if wanted) to embed.
    pub chain: &'a [Certificate],
}

/// The outside services signing may need.
pub struct Services<'a> {
    /// The TSA(s), for B-T and above.
    pub tsa: Option<&'a TsaClient>,
    /// Where revocation data comes from, for B-LT and above.
    pub revocation: &'a RevocationFetcher,
    /// The trust anchors the signer's and the TSA's chains end in (for B-LT and above).
    pub anchors: &'a [Certificate],
}

/// What was done.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    pub field: String,
    pub level: Level,
    /// Bytes reserved for `/Contents`, and bytes used.
    pub contents_capacity: usize,
    pub contents_used: usize,
    /// The signature timestamp's time (B-T and above).
    pub timestamp: Option<SystemTime>,
}

/// A key that signs nothing: it answers with zeros of the real key's longest signature length,
/// which is all sizing the signature slot needs (and costs no token operation on an HSM).
struct SizingKey<'a>(&'a dyn SigningKey);

impl SigningKey for SizingKey<'_> {
    fn algorithm(&self) -> inkan_keys::SignatureAlgorithm {
        self.0.algorithm()
    }
    fn public_key(&self) -> &spki::SubjectPublicKeyInfoOwned {
        self.0.public_key()
    }
    fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, inkan_keys::KeyError> {
        Ok(vec![0; self.0.max_signature_len()])
    }
}

/// Unsigned-attribute overhead of a signature timestamp besides the token itself, plus slack for
/// a token a few bytes longer than the probe (serial number, nonce, DER lengths).
pub(crate) const TIMESTAMP_SLACK: usize = 256;

/// Signs `input` into `output` (synced before this returns).
pub async fn sign_pdf(
    input: &Path,
    output: &Path,
    signer: &Signer<'_>,
    options: &SignOptions,
    services: &Services<'_>,
) -> Result<SignOutcome, PadesError> {
    let mut pdf = Appended::new(open_input(input)?);
    let outcome = sign_appended(&mut pdf, signer, options, services).await?;
    write_output(output, &pdf)?;
    Ok(outcome)
}

/// [`sign_pdf`] in memory: `pdf` with the signature's updates appended.
pub async fn sign_pdf_bytes(
    pdf: &[u8],
    signer: &Signer<'_>,
    options: &SignOptions,
    services: &Services<'_>,
) -> Result<(Vec<u8>, SignOutcome), PadesError> {
    let mut pdf = Appended::new(pdf);
    let outcome = sign_appended(&mut pdf, signer, options, services).await?;
    Ok((pdf.into_vec(), outcome))
}

/// The signature's updates, appended to `pdf`.
async fn sign_appended<S: Source + Sync>(
    pdf: &mut Appended<S>,
    signer: &Signer<'_>,
    options: &SignOptions,
    services: &Services<'_>,
) -> Result<SignOutcome, PadesError> {
    let tsa = if options.level >= Level::BT {
        Some(
            services
                .tsa
                .ok_or_else(|| PadesError::NeedsTsa(options.level.name()))?,
        )
    } else {
        None
    };
    // The first signature comes after a revision giving every annotation an object of its own,
    // so that no later update has to rewrite a page (see `annotations`).
    if let Some(hoisted) = crate::annotations::hoist_inline_annotations(&*pdf)? {
        pdf.push(&hoisted);
    }
    let (signature, outcome) = sign_stage(&*pdf, signer, options, tsa).await?;
    pdf.push(&signature);
    finish_levels(pdf, signer, options, services, tsa).await?;
    Ok(outcome)
}

async fn finish_levels<S: Source + Sync>(
    pdf: &mut Appended<S>,
    signer: &Signer<'_>,
    options: &SignOptions,
    services: &Services<'_>,
    tsa: Option<&TsaClient>,
) -> Result<(), PadesError> {
    if options.level >= Level::BLT {
        // Validation data for every signature in the document, not only this one: after the
        // last signer, the whole contract must stay verifiable (earlier signers' chains too).
        // One gathering: each certificate's answer fetched once, however many signatures
        // name it.
        let gathering = services.revocation.gathering();
        let services = &Services {
            revocation: &gathering,
            ..*services
        };
        let mut entries = Vec::new();
        let signatures = signatures_in(&Document::open(&*pdf)?)?;
        let count = signatures.len();
        for (index, SignatureBytes { contents, cms }) in signatures.into_iter().enumerate() {
            // Context, so a failure names the signature.
            let parsed = inkan_cms::parse(&cms).map_err(|e| {
                PadesError::Validation(format!(
                    "signature {} of {count} ({} bytes of /Contents): {e}",
                    index + 1,
                    contents.len()
                ))
            })?;
            let mut data = ValidationData::default();
            if parsed.econtent_type() == inkan_cms::oid::ID_CT_TST_INFO {
                data.merge(tsa_validation_data(&cms, services).await?);
            } else {
                let signer_cert = parsed.signer_certificate().cloned().ok_or_else(|| {
                    PadesError::Validation("a signature does not carry its certificate".into())
                })?;
                let mut pool = parsed.certificates().to_vec();
                pool.extend(signer.chain.iter().cloned());
                data.merge(
                    services
                        .revocation
                        .collect(&signer_cert, &pool, services.anchors)
                        .await?,
                );
                for token in parsed.timestamp_tokens()? {
                    data.merge(tsa_validation_data(&token, services).await?);
                }
            }
            entries.push((Some(vri_key(&contents)), data));
        }
        let tail = validation_data_update(&*pdf, &entries)?;
        pdf.push(&tail);
    }
    if options.level >= Level::BLTA {
        let tsa = tsa.ok_or(PadesError::NeedsTsa("B-LTA"))?;
        let (tail, token) = document_timestamp_update(&*pdf, tsa).await?;
        pdf.push(&tail);
        // A gathering of its own: what proves the document timestamp is fetched after it.
        let gathering = services.revocation.gathering();
        let services = &Services {
            revocation: &gathering,
            ..*services
        };
        let data = tsa_validation_data(&token, services).await?;
        let tail = validation_data_update(&*pdf, &[(None, data)])?;
        pdf.push(&tail);
    }
    Ok(())
}

/// The signature stage: field, signature dictionary, CMS, signature timestamp.
/// Returns the update's bytes.
async fn sign_stage<S: Source + Sync + ?Sized>(
    pdf: &S,
    signer: &Signer<'_>,
    options: &SignOptions,
    tsa: Option<&TsaClient>,
) -> Result<(Vec<u8>, SignOutcome), PadesError> {
    let doc = Document::open(pdf)?;
    doc.ensure_not_encrypted()?;
    let permission = fields::docmdp_permission(&doc)?;
    if permission == Some(1) {
        return Err(PadesError::NoChangesAllowed);
    }
    if options.certify.is_some() && permission.is_some() {
        return Err(PadesError::AlreadyCertified);
    }
    let field = match &options.field {
        Some(name) => {
            fields::check_field_name(name)?;
            name.clone()
        }
        None => fields::unused_field_name(&doc, "Signature")?,
    };
    // A signature field another signature locked stays unsigned, and no new signature goes
    // into a locked name (after a lock of every field, no signature at all): Acrobat, pyHanko
    // and the EU's reference validator treat either as changing a locked field. Document
    // timestamps are not signatures and stay allowed. The fields this signer fills are checked
    // with it, once (not per attempt of the write below).
    let changed: Vec<&str> = std::iter::once(field.as_str())
        .chain(options.fill.iter().map(|(name, _)| name.as_str()))
        .collect();
    crate::locks::ensure_unlocked(&doc, &changed)?;
    if permission.is_some() && options.visible.is_some() {
        let exists = fields::find_field(&doc, &field)?.is_some();
        if !exists {
            // A new visible widget is an annotation change that DocMDP P=2 does not allow
            // (validators report the certification as broken): sign into a placed field.
            return Err(PadesError::VisibleAfterCertification);
        }
    }
    let digest = signer.key.algorithm().digest();

    // Size /Contents from the real thing: a CMS built with these certificates and a stand-in
    // signature of the key's longest length, plus a token of the size this TSA gives (asked for
    // once per client with a probe request, then remembered).
    let sizing = SizingKey(signer.key);
    let sizing_signer = Signer {
        key: &sizing,
        certificate: signer.certificate,
        chain: signer.chain,
    };
    let probe = inkan_cms::sign(&cms_request(
        &sizing_signer,
        digest,
        &vec![0u8; digest.output_len()],
    ))?;
    let token_room = match tsa {
        Some(tsa) => {
            let token_len = match tsa.last_token_len() {
                Some(len) => len,
                None => {
                    let probe_imprint = DigestAlgorithm::Sha256.hash(&probe);
                    tsa.timestamp(DigestAlgorithm::Sha256, &probe_imprint)
                        .await?
                        .der
                        .len()
                }
            };
            token_len + TIMESTAMP_SLACK
        }
        None => 0,
    };
    let mut capacity = probe.len() + token_room + 64;

    // Rarely a real signature is longer than the estimate (a longer TSA token): then redo the
    // update with the room it needed.
    for _attempt in 0..3 {
        let cms = write_signature(&doc, signer, options, &field, capacity, tsa).await?;
        match cms {
            Written::Done {
                update,
                used,
                timestamp,
            } => {
                let outcome = SignOutcome {
                    field,
                    level: options.level,
                    contents_capacity: capacity,
                    contents_used: used,
                    timestamp,
                };
                return Ok((update, outcome));
            }
            Written::TooLarge(needed) => capacity = needed + TIMESTAMP_SLACK,
        }
    }
    Err(PadesError::OutgrewReservedSpace("signature"))
}

enum Written {
    Done {
        /// The update's bytes.
        update: Vec<u8>,
        used: usize,
        timestamp: Option<SystemTime>,
    },
    TooLarge(usize),
}

fn cms_request<'a>(
    signer: &'a Signer<'a>,
    digest: DigestAlgorithm,
    content_digest: &'a [u8],
) -> inkan_cms::SignRequest<'a> {
    inkan_cms::SignRequest {
        content_type: inkan_cms::oid::ID_DATA,
        encapsulated: None,
        content_digest,
        digest,
        key: signer.key,
        certificate: signer.certificate,
        chain: signer.chain,
        include_certificates: true,
    }
}

async fn write_signature<S: inkan_pdf::Source>(
    doc: &Document<S>,
    signer: &Signer<'_>,
    options: &SignOptions,
    field: &str,
    capacity: usize,
    tsa: Option<&TsaClient>,
) -> Result<Written, PadesError> {
    let mut update = IncrementalUpdate::new(doc)?;
    let mut sig = Dict::new();
    sig.insert("Type", Object::name("Sig"));
    sig.insert("Filter", Object::name("Adobe.PPKLite"));
    sig.insert("SubFilter", Object::name("ETSI.CAdES.detached"));
    sig.insert(
        "M",
        PdfString::literal(crate::dates::pdf_date(options.time)),
    );
    let name = options
        .name
        .clone()
        .or_else(|| inkan_pki::x509::common_name(&signer.certificate.tbs_certificate.subject));
    if let Some(name) = &name {
        sig.insert("Name", PdfString::from_text(name));
    }
    if let Some(reason) = &options.reason {
        sig.insert("Reason", PdfString::from_text(reason));
    }
    if let Some(location) = &options.location {
        sig.insert("Location", PdfString::from_text(location));
    }
    let mut catalog_extra = Vec::new();
    let sig_ref = update.reserve();
    let mut references = Vec::new();
    // The field's /Lock takes effect with this signature: recorded as a FieldMDP transform, as
    // ISO 32000-2 §12.7.5.5 asks.
    if let Some(lock) = fields::find_field(doc, field)?
        .and_then(|(_, dict)| crate::locks::lock_of_field(doc, &dict))
    {
        references.push(Object::from(lock.field_mdp_reference()));
    }
    if let Some(level) = options.certify {
        let mut params = Dict::new();
        params.insert("Type", Object::name("TransformParams"));
        params.insert("P", level as i64);
        params.insert("V", Object::name("1.2"));
        let mut reference = Dict::new();
        reference.insert("Type", Object::name("SigRef"));
        reference.insert("TransformMethod", Object::name("DocMDP"));
        reference.insert("TransformParams", params);
        references.insert(0, Object::from(reference));
        let mut perms = Dict::new();
        perms.insert("DocMDP", sig_ref);
        catalog_extra.push(("Perms", Object::from(perms)));
    }
    if !references.is_empty() {
        sig.insert("Reference", references);
    }
    update.set(sig_ref, sig)?;
    let byte_range = update.placeholder(sig_ref, "ByteRange", Placeholder::ByteRange)?;
    let contents = update.placeholder(sig_ref, "Contents", Placeholder::Hex { capacity })?;
    crate::forms::fill(doc, &mut update, &options.fill)?;
    // A field placed with a size shows its signature there.
    let placed = fields::find_field(doc, field)?
        .map(|(_, d)| crate::forms::rect_of(&d))
        .filter(|r| r[2] - r[0] > 1.0 && r[3] - r[1] > 1.0)
        .map(|rect| crate::Visible {
            page: 0,
            rect,
            seal_jpeg: None,
        });
    let widget = match options.visible.as_ref().or(placed.as_ref()) {
        None => fields::Widget::INVISIBLE,
        Some(visible) => {
            let font = crate::font::Font::japanese()?;
            let lines = vec![
                name.clone().unwrap_or_default(),
                "電子署名 / Digitally signed".to_string(),
                crate::dates::japanese_time(options.time),
            ];
            let appearance =
                crate::appearance::signature_appearance(&mut update, &font, visible, &lines)?;
            fields::Widget {
                page: visible.page,
                rect: visible.rect,
                appearance: Some(appearance),
            }
        }
    };
    fields::place_signature(doc, &mut update, field, sig_ref, widget, catalog_extra)?;

    let mut prepared = update.prepare()?;
    prepared.fill_byte_range(byte_range, contents)?;
    let digest_alg = signer.key.algorithm().digest();
    let mut hasher = digest_alg.hasher();
    prepared.write_signed(&mut std::io::sink(), contents, &mut |chunk| {
        hasher.update(chunk)
    })?;
    let digest = hasher.finalize().to_vec();

    let mut cms = inkan_cms::sign(&cms_request(signer, digest_alg, &digest))?;
    let mut timestamp = None;
    if let Some(tsa) = tsa {
        // The signature timestamp covers the SignerInfo's signature value (ETSI EN 319 122).
        let value = inkan_cms::parse(&cms)?.signature_value().to_vec();
        let token = tsa
            .timestamp(
                DigestAlgorithm::Sha256,
                &DigestAlgorithm::Sha256.hash(&value),
            )
            .await?;
        timestamp = Some(token.time);
        cms = inkan_cms::add_signature_timestamp(&cms, &token.der)?;
    }
    if cms.len() > capacity {
        return Ok(Written::TooLarge(cms.len()));
    }
    prepared.fill_hex(contents, &cms)?;
    Ok(Written::Done {
        update: prepared.into_appended(),
        used: cms.len(),
        timestamp,
    })
}
