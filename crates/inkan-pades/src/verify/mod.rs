//! Verifying the signatures and document timestamps of a PDF, as `inkan verify` reports them.
//!
//! For each signature: integrity (the ByteRange covers a whole revision except the signature,
//! and its digest matches), the CMS signature, the chain to the trust anchors, revocation (the
//! DSS first, then online unless offline), the signature timestamp, the PAdES level reached,
//! LTV, the signature dictionary's claims, the certification level, and what every later
//! revision changed. See [`verify_pdf`].

mod budget;
mod changes;
mod check;
mod conclusion;
mod describe;
mod integrity;
mod level;
pub mod report;
mod revocation;
mod signatures;
mod store;
mod structure;
mod text;
mod timestamp;
mod trust;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use inkan_pdf::{Document, FileSource, OpenOptions, Source};
use x509_cert::Certificate;

pub use budget::VerifyLimits;
pub use conclusion::conclusion_id;
pub use report::Report;
pub use text::render_text;

use crate::PadesError;
use budget::Budget;
use check::Checked;
use report::{ChangeKind, RevisionChanges, SignatureKind};
use revocation::Online;
use store::Dss;

/// What to trust and whether the network may be used.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Trust anchors. With none, every chain is "not trusted" (and so invalid).
    pub anchors: Vec<Certificate>,
    /// Use only what the file embeds: no OCSP or CRL requests.
    pub offline: bool,
    /// Per request, when online.
    pub timeout: Duration,
    /// The time to validate at when no timestamp proves an earlier one (now, if `None`).
    pub now: Option<SystemTime>,
    /// How much work the file may cause ([`VerifyLimits::public`] for uploads anyone makes).
    pub limits: VerifyLimits,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            anchors: Vec::new(),
            offline: false,
            timeout: Duration::from_secs(10),
            now: None,
            limits: VerifyLimits::default(),
        }
    }
}

/// What every check of one file shares.
pub(crate) struct Context<'a, S: Source> {
    pub doc: &'a Document<S>,
    /// The DSS of the whole file.
    pub dss: &'a Dss,
    pub anchors: &'a [Certificate],
    pub online: Option<&'a Online>,
    pub now: SystemTime,
    pub budget: &'a Budget,
}

/// Verifies every signature and document timestamp of the PDF at `path`.
///
/// An `Err` means the file could not be read as a PDF at all (missing, not a PDF, damaged
/// cross-reference data, encrypted); everything about the signatures, including broken ones,
/// is in the [`Report`]. A file without signatures gives a report with none, not valid. A file
/// that needs more work than `options.limits` allow is [`PadesError::TooComplex`].
pub async fn verify_pdf(path: &Path, options: &VerifyOptions) -> Result<Report, PadesError> {
    let source = FileSource::open(path).map_err(|e| match e {
        inkan_pdf::PdfError::Io(io) => PadesError::io(path, io),
        other => other.into(),
    })?;
    verify_source(source, &path.display().to_string(), options).await
}

/// [`verify_pdf`] over any [`Source`] (bytes in memory, for the fuzz targets), reported as
/// `file`.
pub async fn verify_source<S: Source>(
    source: S,
    file: &str,
    options: &VerifyOptions,
) -> Result<Report, PadesError> {
    // A signed file whose cross-reference data is broken cannot say which revision a signature
    // covers: refuse it rather than rebuild it.
    let doc = Document::open_with(source, OpenOptions { reconstruct: false })?;
    doc.ensure_readable()?;
    refuse_incomplete_update(&doc)?;
    let budget = Budget::new(options.limits);
    let limits = budget.limits();
    if doc.revisions().len() > limits.max_revisions {
        return Err(PadesError::TooComplex(format!(
            "更新 (リビジョン) が {} 個あります (it has {} revisions; at most {} are verified)",
            doc.revisions().len(),
            doc.revisions().len(),
            limits.max_revisions
        )));
    }
    let found = signatures::find(&doc)?;
    if found.len() > limits.max_signatures {
        return Err(PadesError::TooComplex(format!(
            "署名が {} 個あります (it has {} signatures; at most {} are verified)",
            found.len(),
            found.len(),
            limits.max_signatures
        )));
    }
    let dss = store::read(&doc, &budget);
    let online = (!options.offline).then(|| Online {
        http: inkan_pki::http::client(),
        timeout: options.timeout,
    });
    let ctx = Context {
        doc: &doc,
        dss: &dss,
        anchors: &options.anchors,
        online: online.as_ref(),
        now: options.now.unwrap_or_else(SystemTime::now),
        budget: &budget,
    };
    let mut checked = Vec::new();
    for (i, sig) in found.iter().enumerate() {
        if !budget.ok() {
            break;
        }
        checked.push(match sig.kind {
            SignatureKind::Signature => check::signature(&ctx, sig, i + 1).await,
            SignatureKind::DocumentTimestamp => check::document_timestamp(&ctx, sig, i + 1).await,
        });
    }
    apply_modifications(&doc, &budget, &found, &mut checked);
    apply_levels(&doc, &dss, &budget, &mut checked);
    if let Some(why) = budget.exceeded() {
        return Err(PadesError::TooComplex(why));
    }
    let signatures: Vec<_> = checked.into_iter().map(|c| c.report).collect();
    Ok(Report {
        file: file.to_string(),
        valid: !signatures.is_empty() && signatures.iter().all(|s| s.valid),
        revisions: doc.revisions().len(),
        // What the final revision shows; a page whose text cannot be read just has none.
        conclusion_id: conclusion_id(&doc).ok().flatten(),
        signatures,
    })
}

/// Bytes after the last revision that look like the start of another one: a truncated file
/// (typically a cut-off upload), whose last signature could otherwise go unnoticed.
fn refuse_incomplete_update<S: Source>(doc: &Document<S>) -> Result<(), PadesError> {
    let end = doc.revisions().last().map_or(0, |r| r.end);
    let len = doc.len();
    if end >= len {
        return Ok(());
    }
    // Looking at the first MB after the end is enough to recognise PDF objects.
    let mut tail = vec![0u8; usize::try_from((len - end).min(1 << 20)).unwrap_or(0)];
    doc.source()
        .read_exact_at(end, &mut tail)
        .map_err(|e| PadesError::Pdf(e.into()))?;
    let pdf_like = [b"obj".as_slice(), b"xref", b"trailer", b"%%EOF"]
        .iter()
        .any(|word| tail.windows(<[u8]>::len(word)).any(|w| w == *word));
    if pdf_like {
        return Err(PadesError::IncompleteUpdate {
            end,
            extra: len - end,
        });
    }
    Ok(())
}

/// The DocMDP permission in force for a signature covering `revision`: the certification's,
/// once the document is certified.
fn permitted(certification: Option<(usize, u8)>, revision: usize) -> ChangeKind {
    match certification {
        Some((certified, p)) if certified <= revision => match p {
            1 => ChangeKind::ValidationData,
            2 => ChangeKind::FormFilling,
            _ => ChangeKind::Annotations,
        },
        // Approval signatures in an uncertified document: like Acrobat and pyHanko, anything
        // but "other changes" leaves them valid.
        _ => ChangeKind::Annotations,
    }
}

fn apply_modifications<S: Source>(
    doc: &Document<S>,
    budget: &Budget,
    found: &[signatures::FoundSignature],
    checked: &mut [Checked],
) {
    let certification = checked
        .iter()
        .find_map(|c| Some((c.coverage?.revision, c.certification?)).filter(|_| c.cms_ok));
    let count = doc.revisions().len();
    let mut cache: HashMap<usize, RevisionChanges> = HashMap::new();
    for (c, found) in checked.iter_mut().zip(found) {
        let Some(coverage) = c.coverage else { continue };
        let mut revisions: Vec<RevisionChanges> = Vec::new();
        for j in coverage.revision + 1..count {
            // Each analysis walks the objects of two revisions.
            if !cache.contains_key(&j) && !budget.objects(2 * u64::from(doc.size())) {
                return;
            }
            revisions.push(
                cache
                    .entry(j)
                    .or_insert_with(|| changes::analyse(doc, j))
                    .clone(),
            );
        }
        let kind = revisions
            .iter()
            .map(|r| r.kind)
            .max()
            .unwrap_or(ChangeKind::Nothing);
        let allowed_kind = permitted(certification, coverage.revision);
        let m = &mut c.report.modifications;
        m.kind = kind;
        m.permitted = allowed_kind;
        m.allowed = kind <= allowed_kind && kind != ChangeKind::Other;
        m.revisions = revisions;
        // Field locks (FieldMDP): a locked field changed after this signature, whatever the
        // DocMDP level allows.
        let locked: Vec<String> = m
            .revisions
            .iter()
            .flat_map(|r| {
                r.fields_changed
                    .iter()
                    .filter(|f| found.locks.iter().any(|lock| lock.covers(f)))
                    .map(move |f| format!("revision {}: {f:?}", r.revision))
            })
            .take(5)
            .collect();
        if !locked.is_empty() {
            m.allowed = false;
            c.report.errors.push(format!(
                "locked fields / ロックされたフィールド: this signature locked fields that later revisions changed: {}",
                locked.join("; ")
            ));
            c.report.valid = false;
        }
        if !(kind <= allowed_kind && kind != ChangeKind::Other) {
            let details: Vec<String> = m
                .revisions
                .iter()
                .filter(|r| r.kind > allowed_kind)
                .flat_map(|r| {
                    r.details
                        .iter()
                        .map(move |d| format!("revision {}: {d}", r.revision))
                })
                .take(5)
                .collect();
            c.report.errors.push(format!(
                "modifications / 変更: later revisions made changes that are not allowed ({}): {}",
                kind.describe(),
                details.join("; ")
            ));
            c.report.valid = false;
        }
    }
}

fn apply_levels<S: Source>(doc: &Document<S>, dss: &Dss, budget: &Budget, checked: &mut [Checked]) {
    let mut dss_cache: HashMap<usize, Dss> = HashMap::new();
    let mut dss_at = |r: usize| -> Dss {
        dss_cache
            .entry(r)
            .or_insert_with(|| {
                doc.revision(r)
                    .map(|d| store::read(&d, budget))
                    .unwrap_or_default()
            })
            .clone()
    };
    let mut results = Vec::new();
    {
        let timestamps: Vec<level::DocTimestamp<'_>> = checked
            .iter()
            .filter(|c| c.report.kind == SignatureKind::DocumentTimestamp)
            .filter_map(|c| {
                Some(level::DocTimestamp {
                    revision: c.coverage?.revision,
                    valid: c.report.valid,
                    revocation: &c.revocation,
                })
            })
            .collect();
        for c in checked.iter() {
            results.push(match c.report.kind {
                SignatureKind::Signature => level::assess(c, &timestamps, dss, &mut dss_at),
                SignatureKind::DocumentTimestamp => {
                    (None, c.report.valid && c.revocation.covered_by(dss))
                }
            });
        }
    }
    for (c, (level, ltv)) in checked.iter_mut().zip(results) {
        c.report.level = level.map(|l| l.name().to_string());
        c.report.ltv = ltv;
    }
}
