//! What `verify_pdf` found, as plain data: serialised as the stable JSON of `inkan verify --json`
//! (field names are snake_case and only ever added to), and rendered as bilingual text by
//! [`super::text`].

use serde::Serialize;

/// The verdict on a whole file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The file as given.
    pub file: String,
    /// True when the file holds at least one signature or document timestamp and every one of
    /// them is valid.
    pub valid: bool,
    /// The number of revisions (the original plus one per incremental update).
    pub revisions: usize,
    /// The 締結証明書ID the first page of the final revision shows (`締結証明書ID: <hex>`, as
    /// Inkan stamps contracts and prints certificates of conclusion), lowercase; `null` when
    /// none.
    pub conclusion_id: Option<String>,
    /// Signatures and document timestamps, in the order they were made.
    pub signatures: Vec<SignatureReport>,
}

/// A signature or a document timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// A CMS signature (`/Type /Sig`).
    Signature,
    /// An RFC 3161 document timestamp (`/Type /DocTimeStamp`, PAdES B-LTA).
    DocumentTimestamp,
}

/// The verdict on one signature or document timestamp.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// 1-based, in signing order.
    pub index: usize,
    /// The fully qualified field name.
    pub field: String,
    #[serde(rename = "type")]
    pub kind: SignatureKind,
    /// The `/SubFilter` (`ETSI.CAdES.detached`, `ETSI.RFC3161`, `adbe.pkcs7.detached` …).
    pub sub_filter: Option<String>,
    /// The bottom line: integrity, signature, trust, revocation, timestamp and modifications
    /// all acceptable.
    pub valid: bool,
    /// Why it is invalid (empty when valid).
    pub errors: Vec<String>,
    /// What deserves attention without making it invalid (unknown revocation status …).
    pub warnings: Vec<String>,
    /// The signer's certificate (the TSA's for a document timestamp).
    pub signer: Option<CertificateInfo>,
    /// ByteRange and digest.
    pub integrity: IntegrityReport,
    /// The CMS signature over the signed attributes (the token's, for a document timestamp).
    pub signature: Check,
    /// The certificate path to a trust anchor.
    pub trust: TrustReport,
    /// Revocation of every certificate of that path.
    pub revocation: RevocationReport,
    /// The signature timestamp (B-T); for a document timestamp, the token itself.
    pub timestamp: Option<TimestampReport>,
    /// The PAdES baseline level reached (`B-B`, `B-T`, `B-LT`, `B-LTA`); `None` for document
    /// timestamps and for signatures that are not PAdES or did not verify.
    pub level: Option<String>,
    /// "LTV enabled": B-LTA with every piece of validation data embedded, so the signature can
    /// be validated offline after its certificates expire.
    pub ltv: bool,
    /// `/M`, as the signer claims it (RFC 3339 when readable).
    pub claimed_signing_time: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// `/Name`.
    pub name: Option<String>,
    pub contact_info: Option<String>,
    /// Present for a certification signature.
    pub certification: Option<Certification>,
    /// What later revisions changed, and whether that is allowed.
    pub modifications: Modifications,
}

/// A pass/fail check with a human-readable reason.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub ok: bool,
    pub message: String,
}

impl Check {
    pub(crate) fn ok(message: impl Into<String>) -> Self {
        Check {
            ok: true,
            message: message.into(),
        }
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Check {
            ok: false,
            message: message.into(),
        }
    }
}

/// A certificate, described for people.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateInfo {
    /// The subject distinguished name with its strings decoded (Japanese names readable).
    pub subject: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub email: Option<String>,
    pub issuer: String,
    /// Hex.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

/// Whether the signed bytes are what was signed.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrityReport {
    pub ok: bool,
    pub message: String,
    pub byte_range: Vec<i64>,
    /// The revision (0 = the original) whose end the ByteRange reaches.
    pub covered_revision: Option<usize>,
    /// True when no incremental update follows the signed revision.
    pub covers_whole_file: bool,
    /// `sha256` …
    pub digest_algorithm: Option<String>,
}

/// Trust in the certificate path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustStatus {
    /// The path ends in one of the trust anchors.
    Trusted,
    /// The path is sound but ends in a root that is not a trust anchor (or none was given).
    NotTrusted,
    /// No valid path (expired, bad signature on a certificate, missing issuer …).
    Invalid,
    /// Not checked because the signature itself did not verify.
    NotChecked,
}

/// The certificate path and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct TrustReport {
    pub status: TrustStatus,
    pub message: String,
    /// Subjects from the signer's certificate to the root.
    pub chain: Vec<String>,
    /// The time the path was validated at (the timestamp's, or now).
    pub validated_at: Option<String>,
}

/// The overall revocation verdict of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    /// Every certificate that needs it was found not revoked.
    Good,
    /// Some certificate's status could not be established: a warning, not a failure.
    Unknown,
    /// A certificate was revoked before the proven signing time (or at all, without a timestamp).
    Revoked,
    /// Not checked (no usable path).
    NotChecked,
}

/// Where a certificate's revocation status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationSource {
    /// The DSS (or the signature) holds an OCSP response.
    EmbeddedOcsp,
    /// The DSS holds a CRL.
    EmbeddedCrl,
    /// Asked the OCSP responder now.
    OnlineOcsp,
    /// Fetched the CRL now.
    OnlineCrl,
    /// Nothing needed: a trust anchor, or an OCSP responder certificate with ocsp-nocheck.
    NotNeeded,
    /// Nothing found.
    None,
}

/// One certificate's revocation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    Good,
    /// Revoked before the signing time (or, without a timestamp, at all).
    Revoked,
    /// Revoked after the signing time proven by a timestamp: the signature stays valid.
    RevokedAfterSigning,
    Unknown,
    /// A trust anchor or an ocsp-nocheck responder.
    NotNeeded,
}

/// One certificate of the path.
#[derive(Debug, Clone, Serialize)]
pub struct CertRevocation {
    pub subject: String,
    pub status: CertStatus,
    pub source: RevocationSource,
    pub revoked_at: Option<String>,
    pub message: Option<String>,
}

/// Revocation of a whole path.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationReport {
    pub status: RevocationStatus,
    pub certificates: Vec<CertRevocation>,
}

impl RevocationReport {
    pub(crate) fn not_checked() -> Self {
        RevocationReport {
            status: RevocationStatus::NotChecked,
            certificates: Vec::new(),
        }
    }
}

/// A timestamp token: a signature timestamp, or a document timestamp's own token.
#[derive(Debug, Clone, Serialize)]
pub struct TimestampReport {
    pub ok: bool,
    pub message: String,
    /// genTime, RFC 3339: the proven time.
    pub time: Option<String>,
    /// The TSA certificate.
    pub tsa: Option<CertificateInfo>,
    pub trust: TrustReport,
    pub revocation: RevocationReport,
}

/// A certification signature's DocMDP permission.
#[derive(Debug, Clone, Serialize)]
pub struct Certification {
    /// 1, 2 or 3.
    pub permission: u8,
    pub description: String,
}

/// How much a revision changed the document, from harmless to forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Nothing,
    /// DSS, VRI, document timestamps and their fields.
    ValidationData,
    /// Signatures, signature fields and widgets, field values, appearances.
    FormFilling,
    /// Comments and other non-widget annotations.
    Annotations,
    /// Anything else: page content, pages, other catalog entries … always invalidating.
    Other,
}

impl ChangeKind {
    /// Japanese, then English.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            ChangeKind::Nothing => ("変更なし", "nothing"),
            ChangeKind::ValidationData => {
                ("検証情報・タイムスタンプ", "validation data and timestamps")
            }
            ChangeKind::FormFilling => ("フォーム入力・署名", "form filling and signatures"),
            ChangeKind::Annotations => ("注釈", "annotations"),
            ChangeKind::Other => ("その他の変更", "other changes"),
        }
    }

    /// Japanese and English, for the text report.
    pub fn describe(self) -> &'static str {
        match self {
            ChangeKind::Nothing => "変更なし / nothing",
            ChangeKind::ValidationData => {
                "検証情報・タイムスタンプ / validation data and timestamps"
            }
            ChangeKind::FormFilling => "フォーム入力・署名 / form filling and signatures",
            ChangeKind::Annotations => "注釈 / annotations",
            ChangeKind::Other => "その他の変更 / other changes",
        }
    }
}

/// What one incremental update changed.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionChanges {
    /// The revision (0 = the original).
    pub revision: usize,
    pub kind: ChangeKind,
    /// One line per notable change.
    pub details: Vec<String>,
    /// The form fields (fully qualified names) whose value, signature or appearance this
    /// revision changed: checked against the field locks of earlier signatures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields_changed: Vec<String>,
}

/// The modifications after a signature's revision.
#[derive(Debug, Clone, Serialize)]
pub struct Modifications {
    /// The most serious change of all later revisions (`nothing` when the signature covers the
    /// whole file).
    pub kind: ChangeKind,
    /// Whether that is allowed by the DocMDP permission in force.
    pub allowed: bool,
    /// The most serious change allowed.
    pub permitted: ChangeKind,
    pub revisions: Vec<RevisionChanges>,
}
