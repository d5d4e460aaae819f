//! The signing engine: the service's side of inkan-pades. It turns a document's bytes into its
//! next revision — prepared (締結証明書ID stamped, fields placed, certified with DocMDP P=2), or
//! signed by one more signer (their fields filled in the same update) — and the last step of
//! each document goes to B-LTA. Every step works in memory (each update appended to the bytes it
//! was given) and returns the new bytes; nothing is kept if a step fails, and no plaintext
//! revision is written to a disk on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inkan_domain::{ConclusionId, Field, FieldKind, FieldValue, RecipientId};
use inkan_keys::SigningKey;
use inkan_pades::forms::{FieldKind as PdfFieldKind, FieldSpec, FieldValue as PdfValue};
use inkan_pades::{Certify, Level, RevocationFetcher, Services, SignOptions, Signer};
use inkan_pki::tsa::TsaClient;
use inkan_pki::{Pki, SignerRequest};
use x509_cert::Certificate;

use crate::{Result, ServiceError};

/// Who the next signature is by.
pub enum SignAs {
    /// 契約印タイプ: the service's witness certificate, naming the signer in the Reason.
    Witness { name: String, reason: String },
    /// 実印タイプ: the signer's own certificate (uploaded as PKCS#12), or else one in their
    /// name from the built-in CA.
    Party {
        name: String,
        email: String,
        own: Option<Box<crate::own_certificate::OwnKey>>,
    },
}

/// Why a timestamp token does not prove its time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampFault {
    /// Not a token over this data, or its signature does not verify.
    #[error("not a valid timestamp over this data: {0}")]
    Invalid(String),
    /// Intact, but its TSA does not chain to the trust anchors (add the TSA's root to
    /// `trust_anchors`).
    #[error("the timestamp's TSA is not trusted: {0}")]
    Untrusted(String),
}

pub struct SigningEngine {
    pki: Arc<Pki>,
    witness_key: Arc<dyn SigningKey>,
    chain: Vec<Certificate>,
    anchors: Vec<Certificate>,
    tsa: TsaClient,
    revocation: RevocationFetcher,
    font: Option<inkan_pades::font::Font>,
    scratch: PathBuf,
    /// Where the signer certificates it issues are recorded for every node's OCSP responder
    /// (PostgreSQL: nodes on several hosts; see `shared_pki.rs`).
    issued_records: Option<Arc<dyn inkan_store::Store>>,
}

impl SigningEngine {
    /// An engine signing with `pki`'s witness key, timestamping with `tsa_urls` (the PKI's own
    /// TSA when empty), working in `scratch`; every fetch (TSA, OCSP, CRL) goes only where
    /// `egress` allows.
    pub fn new(
        pki: Arc<Pki>,
        tsa_urls: Vec<String>,
        scratch: PathBuf,
        egress: inkan_pki::egress::Egress,
    ) -> Result<SigningEngine> {
        let urls = if tsa_urls.is_empty() {
            vec![pki.urls().tsa()]
        } else {
            tsa_urls
        };
        let tsa = TsaClient::new(urls)
            .map_err(|e| ServiceError::failed("TSA client", e))?
            .with_timeout(Duration::from_secs(20))
            .with_egress(egress.clone());
        std::fs::create_dir_all(&scratch)
            .map_err(|e| ServiceError::failed("the signing engine's work files", e))?;
        Ok(SigningEngine {
            witness_key: pki
                .witness_key()
                .map_err(|e| ServiceError::failed("witness key", e))?,
            chain: pki.chain(),
            anchors: pki.roots(),
            tsa,
            revocation: RevocationFetcher::new(Duration::from_secs(20)).with_egress(egress),
            font: inkan_pades::font::Font::japanese().ok(),
            pki,
            scratch,
            issued_records: None,
        })
    }

    /// Records each signer certificate it issues in `store` (none: the PKI folder is shared).
    pub fn with_issued_records(mut self, store: Option<Arc<dyn inkan_store::Store>>) -> Self {
        self.issued_records = store;
        self
    }

    /// An RFC 3161 timestamp over a SHA-256 `imprint` from the configured TSAs (the built-in one
    /// by default). When none answers, the error says so: a timestamp is never made up.
    pub async fn timestamp(&self, imprint: &[u8; 32]) -> Result<inkan_pki::tsa::TimeStampToken> {
        self.tsa
            .timestamp(inkan_keys::DigestAlgorithm::Sha256, imprint)
            .await
            .map_err(|e| ServiceError::Unavailable(format!("timestamp: {e}")))
    }

    /// Checks a timestamp token over a SHA-256 `imprint`: its signature and imprint, then its
    /// TSA's path to the trust anchors at the token's time with id-kp-timeStamping. Returns the
    /// token's time.
    pub fn check_timestamp(
        &self,
        token: &[u8],
        imprint: &[u8; 32],
    ) -> std::result::Result<std::time::SystemTime, TimestampFault> {
        let checked =
            inkan_pki::tsa::check_token(token, inkan_keys::DigestAlgorithm::Sha256, imprint)
                .map_err(TimestampFault::Invalid)?;
        let tsa = checked
            .signer
            .ok_or_else(|| TimestampFault::Invalid("the token names no TSA certificate".into()))?;
        let pool = inkan_cms::parse(token)
            .map(|p| p.certificates().to_vec())
            .unwrap_or_default();
        inkan_cms::path::validate(
            &tsa,
            &pool,
            &self.anchors,
            checked.time,
            Some(inkan_cms::oid::ID_KP_TIME_STAMPING),
        )
        .map_err(|e| TimestampFault::Untrusted(e.to_string()))?;
        Ok(checked.time)
    }

    /// The roots of this installation's PKI, every generation, oldest first: what its own
    /// signatures chain to.
    pub fn own_roots(&self) -> Vec<Certificate> {
        self.pki.roots()
    }

    /// The anchors validation data is gathered to: the oldest of this installation's roots
    /// still valid (so a relying party who trusts only that one validates what a later
    /// generation signed, through the cross certificates), then the roots an administrator
    /// added.
    fn gathering_anchors(&self) -> Vec<Certificate> {
        let own = self.pki.roots();
        std::iter::once(self.pki.oldest_valid_root(SystemTime::now()).clone())
            .chain(self.anchors.iter().filter(|a| !own.contains(a)).cloned())
            .collect()
    }

    /// Also trusts `roots` (an administrator's choice: JPKI, 商業登記 based CAs, AATL
    /// members) for signers who bring their own certificate.
    pub fn with_trust_anchors(mut self, roots: Vec<Certificate>) -> SigningEngine {
        for root in roots {
            if !self.anchors.contains(&root) {
                self.anchors.push(root);
            }
        }
        self
    }

    /// The trust list: this installation's roots first, then the roots an administrator added.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The folder for short-lived working files.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    fn font(&self) -> Result<&inkan_pades::font::Font> {
        self.font.as_ref().ok_or_else(|| {
            ServiceError::internal(
                "no Japanese font for the 締結証明書ID stamp: install fonts-ipaexfont-gothic or set INKAN_FONT",
            )
        })
    }

    /// The service's own signer (立会人型): the witness key with `certificate`, the witness
    /// certificate as it is now (renewed in place: read it once per signature).
    fn witness<'a>(&'a self, certificate: &'a Certificate) -> Signer<'a> {
        Signer {
            key: self.witness_key.as_ref(),
            certificate,
            chain: &self.chain,
        }
    }

    /// The TSA and fetcher, gathering validation data up to `anchors` (see
    /// [`Self::gathering_anchors`]).
    fn services<'a>(&'a self, anchors: &'a [Certificate]) -> Services<'a> {
        Services {
            tsa: Some(&self.tsa),
            revocation: &self.revocation,
            anchors,
        }
    }

    /// A template's document with its 差込み項目 drawn in (an incremental update of the
    /// template's PDF): what becomes revision 0 of an envelope made from the template.
    pub fn draw_merge_values(
        &self,
        original: &[u8],
        texts: &[inkan_pades::PlacedText],
    ) -> Result<Vec<u8>> {
        if texts.is_empty() {
            return Ok(original.to_vec());
        }
        inkan_pades::draw_texts_bytes(original.to_vec(), texts, self.font()?).map_err(pdf_error)
    }

    /// Revision 1 of a document: the 締結証明書ID on every page, every recipient's fields, and
    /// the service's certification signature (P=2: form filling and signing allowed). `last`
    /// when no one else signs this document: then it goes to B-LTA at once.
    pub async fn prepare(
        &self,
        original: &[u8],
        conclusion: &ConclusionId,
        fields: &[Field],
        last: bool,
    ) -> Result<Vec<u8>> {
        let stamped = inkan_pades::stamp_every_page_bytes(
            original.to_vec(),
            &conclusion.stamp_line(),
            self.font()?,
        )
        .map_err(pdf_error)?;
        let with_fields = inkan_pades::forms::add_fields_bytes(stamped, &pdf_fields(fields))
            .map_err(pdf_error)?;
        let mut options = SignOptions::new(if last { Level::BLTA } else { Level::BT });
        options.certify = Some(Certify::FormFilling);
        options.field = Some("inkan_certification".into());
        options.reason = Some(format!("電子契約サービス Inkan による証明 ({conclusion})"));
        options.location = Some("日本".into());
        let certificate = self.pki.witness_certificate();
        let signer = self.witness(&certificate);
        let anchors = self.gathering_anchors();
        signed(&with_fields, &signer, &options, &self.services(&anchors)).await
    }

    /// The next revision: `recipient`'s fields filled and their signature added; B-LTA when
    /// `last`. Also returns the certificate the signature was made with.
    pub async fn sign(
        &self,
        current: &[u8],
        recipient: RecipientId,
        fields: &[Field],
        who: &SignAs,
        signed_at: i64,
        last: bool,
    ) -> Result<(Vec<u8>, Certificate)> {
        let mut options = SignOptions::new(if last { Level::BLTA } else { Level::BT });
        options.field = Some(signature_field_name(recipient));
        options.time = UNIX_EPOCH + Duration::from_secs(signed_at.max(0) as u64);
        options.location = Some("日本".into());
        options.fill = fields
            .iter()
            .filter(|f| f.recipient == recipient && f.placement.is_some())
            .filter_map(|f| {
                let value = match (&f.value, f.kind) {
                    (Some(FieldValue::Text(t)), FieldKind::Text | FieldKind::Date) => {
                        PdfValue::Text(t.clone())
                    }
                    (Some(FieldValue::Checked(c)), FieldKind::Checkbox) => PdfValue::Checked(*c),
                    _ => return None,
                };
                Some((field_name(f), value))
            })
            .collect();
        let anchors = self.gathering_anchors();
        let services = self.services(&anchors);
        let (signed, used) = match who {
            SignAs::Witness { name, reason } => {
                options.name = Some(name.clone());
                options.reason = Some(reason.clone());
                let certificate = self.pki.witness_certificate();
                let signer = self.witness(&certificate);
                let signed = signed(current, &signer, &options, &services).await?;
                (signed, (*certificate).clone())
            }
            SignAs::Party { own: Some(own), .. } => {
                options.reason = Some("署名者本人の電子証明書による署名".into());
                // Only the installation's trust list: a root the signer brings along is not a
                // reason to trust them (nor to fetch the addresses their certificates name).
                let services = Services {
                    tsa: Some(&self.tsa),
                    revocation: &self.revocation,
                    anchors: &self.anchors,
                };
                let signer = Signer {
                    key: &own.key,
                    certificate: &own.certificate,
                    chain: &own.chain,
                };
                let signed = signed(current, &signer, &options, &services).await?;
                (signed, own.certificate.clone())
            }
            SignAs::Party {
                name,
                email,
                own: None,
            } => {
                let (certificate, key) = self
                    .pki
                    .issue_signer(
                        &SignerRequest {
                            name: name.clone(),
                            email: Some(email.clone()),
                            days: 365 * 3,
                        },
                        inkan_keys::KeyKind::EcP256,
                    )
                    .map_err(|e| ServiceError::failed("issuing the signer's certificate", e))?;
                // Known to every node's OCSP responder before anyone asks about it.
                if let Some(store) = &self.issued_records {
                    let ca = inkan_pki::shared::ca_label(
                        self.pki.generation(),
                        inkan_pki::CaRole::Issuing,
                    );
                    let serial = inkan_pki::serial_hex(&certificate.tbs_certificate.serial_number);
                    store
                        .record_pki_certificate(&ca, &serial, signed_at)
                        .await?;
                }
                options.reason = Some("署名者本人の電子証明書による署名".into());
                let signer = Signer {
                    key: &key,
                    certificate: &certificate,
                    chain: &self.chain,
                };
                let signed = signed(current, &signer, &options, &services).await?;
                (signed, certificate)
            }
        };
        Ok((signed, used))
    }

    /// Signs a certificate of conclusion as the service (witness key), straight to B-LTA: it
    /// must stay verifiable as long as the documents it speaks for.
    pub async fn certify_certificate(
        &self,
        pdf: &[u8],
        conclusion: &ConclusionId,
    ) -> Result<Vec<u8>> {
        let mut options = SignOptions::new(Level::BLTA);
        options.field = Some("inkan_conclusion_certificate".into());
        options.reason = Some(format!("電子契約締結証明書の発行 ({conclusion})"));
        options.location = Some("日本".into());
        let certificate = self.pki.witness_certificate();
        let signer = self.witness(&certificate);
        let anchors = self.gathering_anchors();
        signed(pdf, &signer, &options, &self.services(&anchors)).await
    }

    /// The Japanese font the stamps and the certificate are drawn with.
    pub fn japanese_font(&self) -> Result<&inkan_pades::font::Font> {
        self.font()
    }

    /// When the proof `pdf` carries runs out, Unix seconds: the earliest notAfter on the TSA
    /// path of its newest timestamp (see [`inkan_pades::archive_horizon`]).
    pub fn archive_horizon(&self, pdf: &[u8]) -> Result<i64> {
        let end = inkan_pades::archive_horizon_of(pdf, &self.anchors)
            .map_err(|e| ServiceError::failed("reading the archive's newest timestamp", e))?;
        Ok(end
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    }

    /// A document timestamp with its TSA's validation data, as a new revision of `pdf` (a
    /// contract concluded outside Inkan: its bytes and any signatures in it stay intact). A
    /// TSA that does not answer is [`ServiceError::Unavailable`]: no timestamp is invented.
    pub async fn timestamp_document(&self, pdf: &[u8]) -> Result<Vec<u8>> {
        inkan_pades::timestamp_document_bytes(
            pdf.to_vec(),
            &self.tsa,
            &self.revocation,
            &self.gathering_anchors(),
        )
        .await
        .map_err(|e| match e {
            inkan_pades::PadesError::Tsa(_) | inkan_pades::PadesError::Validation(_) => {
                ServiceError::Unavailable(format!("the document timestamp could not be made: {e}"))
            }
            inkan_pades::PadesError::NoChangesAllowed => ServiceError::Invalid(
                "この PDF は変更を一切許さない証明署名付きのため、タイムスタンプを付けられません                  (this PDF is certified with no changes allowed: a timestamp cannot be added)"
                    .into(),
            ),
            other => ServiceError::failed("adding a document timestamp", other),
        })
    }

    /// Archive renewal (PAdES B-LTA, ETSI EN 319 142-1 §5.5) as a new revision of `pdf`:
    /// validation data for its newest timestamp's TSA, a document timestamp from the
    /// configured TSA, and that TSA's validation data. A TSA or responder that does not
    /// answer is [`ServiceError::Unavailable`]: worth a retry, never papered over.
    pub async fn renew_archive(&self, pdf: &[u8]) -> Result<Vec<u8>> {
        inkan_pades::renew_archive_timestamp_bytes(
            pdf.to_vec(),
            &self.tsa,
            &self.revocation,
            &self.gathering_anchors(),
        )
        .await
        .map_err(|e| match e {
            inkan_pades::PadesError::Tsa(_) | inkan_pades::PadesError::Validation(_) => {
                ServiceError::Unavailable(format!(
                    "the archive timestamp could not be renewed: {e}"
                ))
            }
            other => ServiceError::failed("renewing the archive timestamp", other),
        })
    }
}

/// `pdf` signed in memory (the engine keeps what it signs as encrypted blobs: no plaintext
/// revision is written to a disk on the way), read where it lies: the output is its one copy.
async fn signed(
    pdf: &[u8],
    signer: &Signer<'_>,
    options: &SignOptions,
    services: &Services<'_>,
) -> Result<Vec<u8>> {
    inkan_pades::sign_pdf_bytes(pdf, signer, options, services)
        .await
        .map(|(signed, _)| signed)
        .map_err(signing_error)
}

/// The PDF name of a recipient's signature field.
pub fn signature_field_name(recipient: RecipientId) -> String {
    format!("sig_{}", recipient.as_uuid().simple())
}

fn field_name(field: &Field) -> String {
    format!("f_{}", field.id.as_uuid().simple())
}

/// The PDF fields of a document: one signature field per signing recipient (invisible when not
/// placed), and every placed text, date and checkbox field. Each signature field locks its
/// recipient's own fields: once they sign, what they entered cannot change (a FieldMDP
/// transform every validator checks).
fn pdf_fields(fields: &[Field]) -> Vec<FieldSpec> {
    let own_fields = |recipient: RecipientId| -> Vec<String> {
        fields
            .iter()
            .filter(|f| f.recipient == recipient && f.kind != FieldKind::Signature)
            .filter(|f| f.placement.is_some())
            .map(field_name)
            .collect()
    };
    let mut specs = Vec::new();
    let mut signature_done: Vec<RecipientId> = Vec::new();
    for f in fields {
        let (page, rect) = match f.placement {
            Some(p) => (
                p.page.saturating_sub(1) as usize,
                [p.x, p.y, p.x + p.width, p.y + p.height],
            ),
            None => (0, [0.0; 4]),
        };
        match f.kind {
            FieldKind::Signature => {
                if signature_done.contains(&f.recipient) {
                    continue;
                }
                signature_done.push(f.recipient);
                let locked = own_fields(f.recipient);
                specs.push(FieldSpec {
                    name: signature_field_name(f.recipient),
                    label: None,
                    kind: PdfFieldKind::Signature,
                    page,
                    rect,
                    lock: (!locked.is_empty()).then_some(inkan_pades::FieldLock {
                        action: inkan_pades::LockAction::Include,
                        fields: locked,
                    }),
                });
            }
            FieldKind::Text | FieldKind::Date if f.placement.is_some() => specs.push(FieldSpec {
                name: field_name(f),
                label: Some(f.label.clone()),
                kind: PdfFieldKind::Text {
                    required: f.required,
                },
                page,
                rect,
                lock: None,
            }),
            FieldKind::Checkbox if f.placement.is_some() => specs.push(FieldSpec {
                name: field_name(f),
                label: Some(f.label.clone()),
                kind: PdfFieldKind::Checkbox,
                page,
                rect,
                lock: None,
            }),
            _ => {}
        }
    }
    specs
}

fn pdf_error(e: inkan_pades::PadesError) -> ServiceError {
    ServiceError::Invalid(format!(
        "この PDF には署名の準備ができません (the PDF cannot be prepared for signing): {e}"
    ))
}

/// A TSA or OCSP that does not answer is worth a retry; anything else is reported as is.
fn signing_error(e: inkan_pades::PadesError) -> ServiceError {
    match e {
        inkan_pades::PadesError::Tsa(_) | inkan_pades::PadesError::Validation(_) => {
            ServiceError::Unavailable(format!("signing could not finish: {e}"))
        }
        other => ServiceError::failed("signing", other),
    }
}

/// The witness signature's Reason, as the seeds show it:
/// `山田太郎様 taro@example.co.jp が 2026-02-01 10:15:30 +09:00 JSTに承認しました`.
pub fn witness_reason(name: &str, email: &str, at: i64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(at.max(0) as u64);
    let jst = crate::japan::format_iso_jst(time);
    format!("{name}様 {email} が {jst} JSTに承認しました")
}
