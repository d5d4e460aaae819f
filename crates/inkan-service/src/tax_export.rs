//! The tax-audit export (電子帳簿保存法のダウンロードの求め): for a 電帳法 search, one ZIP with
//! every document as it now stands (the signed, B-LTA PDF once concluded), every envelope's
//! 電子契約締結証明書, and `索引.csv`, the index a tax inspector reads first.
//!
//! The ZIP is written while it is sent: one file at a time is read from the blob store, checked
//! against the SHA-256 the database recorded for it, and written through a bounded channel, so
//! memory holds one document at most, however many the search finds. A file that cannot be read
//! or does not match stops the export (the ZIP is left without its central directory, which
//! every reader refuses) rather than handing over an incomplete answer that looks whole. The
//! export is recorded in the audit trail before the first byte, with what it holds.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use inkan_blobs::{BlobKey, BlobStore};
use inkan_domain::EnvelopeId;
use inkan_store::DocumentHit;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::conclusion::certificate_file_name;
use crate::csv_export::{csv_line, index_fields, INDEX_HEADER};
use crate::envelopes::hit_view;
use crate::{Caller, Inkan, Result, SearchInput, ServiceError, Staff};

/// At most this many documents in one export: a larger search is narrowed first (by 取引年月日,
/// for example one year at a time).
pub const EXPORT_LIMIT: u32 = 100_000;

/// How many chunks may wait for the client: the channel's bound keeps memory flat.
const CHANNEL_CHUNKS: usize = 4;
/// The size of the chunks the ZIP is sent in.
const CHUNK_BYTES: usize = 256 * 1024;

/// A ZIP being written: its name, and its bytes as they are made. An `Err` chunk means the
/// export stopped there (the reason is also in the log).
pub struct TaxExport {
    pub file_name: String,
    pub documents: usize,
    pub certificates: usize,
    pub chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
}

/// One file of the ZIP: where it is kept, what it must hash to, and its path in the ZIP.
struct Entry {
    blob: String,
    sha256: String,
    path: String,
}

impl Inkan {
    /// Starts the export of everything `query` finds that `staff` may read (ダウンロードの求め).
    pub async fn tax_export(
        &self,
        staff: &Staff,
        query: &SearchInput,
        caller: &Caller,
    ) -> Result<TaxExport> {
        staff.require_some_reading()?;
        let mut q = query.to_query()?;
        q.reach = staff.rights.reads;
        q.limit = EXPORT_LIMIT + 1;
        let hits = self.store.search_documents(staff.organization, &q).await?;
        if hits.len() > EXPORT_LIMIT as usize {
            return Err(ServiceError::Invalid(format!(
                "一度に出力できる文書は {EXPORT_LIMIT} 件までです。取引年月日などで絞り込んでください \
                 (an export holds at most {EXPORT_LIMIT} documents: narrow the search, by date for example)"
            )));
        }
        let documents = hits.len();
        let (index, entries) = self.plan(staff, hits).await?;
        let certificates = entries.len() - documents;
        self.record(
            staff,
            caller,
            "tax_export",
            serde_json::json!({
                "documents": documents,
                "certificates": certificates,
                "query": query.described(),
            }),
        )
        .await?;
        let (sender, chunks) = mpsc::channel(CHANNEL_CHUNKS);
        let blobs = self.blobs.clone();
        let modified = zip_time(self.clock.now());
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let failure = sender.clone();
            if let Err(e) = write_zip(&runtime, &blobs, index, entries, modified, sender) {
                tracing::error!(error = %e, "the tax-audit export stopped");
                let _ = failure.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(TaxExport {
            file_name: format!(
                "inkan-export-{}.zip",
                crate::japan::date_jst(self.clock.now())
            ),
            documents,
            certificates,
            chunks,
        })
    }

    /// The index and the files: each document, then each envelope's certificate once.
    async fn plan(&self, staff: &Staff, hits: Vec<DocumentHit>) -> Result<(String, Vec<Entry>)> {
        let mut index = String::from("\u{feff}");
        index.push_str(INDEX_HEADER);
        index.push_str(",ファイル,電子契約締結証明書\r\n");
        let mut documents = Vec::with_capacity(hits.len());
        let mut certificates = Vec::new();
        // Each envelope read once: its certificate's path in the ZIP, if it has one.
        let mut certificate_of: HashMap<EnvelopeId, Option<String>> = HashMap::new();
        for hit in hits {
            let envelope = hit.document.envelope;
            if let std::collections::hash_map::Entry::Vacant(slot) = certificate_of.entry(envelope)
            {
                let record = self
                    .store
                    .envelope(staff.organization, envelope)
                    .await?
                    .ok_or(ServiceError::NotFound("the envelope"))?;
                let path = record.certificate.as_ref().map(|certificate| {
                    let path = format!("締結証明書/{}", certificate_file_name(&record));
                    certificates.push(Entry {
                        blob: certificate.blob.clone(),
                        sha256: certificate.sha256.clone(),
                        path: path.clone(),
                    });
                    path
                });
                slot.insert(path);
            }
            let path = format!(
                "文書/{:05}_{}",
                documents.len() + 1,
                safe_file_name(&hit.document.name)
            );
            let certificate = certificate_of
                .get(&envelope)
                .and_then(Option::clone)
                .unwrap_or_default();
            documents.push(Entry {
                blob: hit.document.current_blob.clone(),
                sha256: hit.document.sha256.clone(),
                path: path.clone(),
            });
            let mut cells = index_fields(&hit_view(hit)).to_vec();
            cells.push(path);
            cells.push(certificate);
            index.push_str(&csv_line(&cells));
        }
        documents.extend(certificates);
        Ok((index, documents))
    }
}

/// Writes the ZIP on a blocking thread (the zip crate writes synchronously), reading each blob
/// through the runtime, and sends it in chunks.
fn write_zip(
    runtime: &tokio::runtime::Handle,
    blobs: &Arc<BlobStore>,
    index: String,
    entries: Vec<Entry>,
    modified: zip::DateTime,
    sender: mpsc::Sender<std::io::Result<Vec<u8>>>,
) -> std::result::Result<(), ServiceError> {
    let stopped = Arc::new(AtomicBool::new(false));
    let sink = ChannelWriter {
        sender,
        stopped: stopped.clone(),
    };
    let mut zip = ZipWriter::new_stream(std::io::BufWriter::with_capacity(CHUNK_BYTES, sink));
    if let Err(e) = write_entries(runtime, blobs, &mut zip, index, entries, modified) {
        // A dropped ZipWriter writes its central directory, which would make the files written
        // so far look like the whole answer: nothing more goes out once the export has failed.
        stopped.store(true, Ordering::SeqCst);
        return Err(e);
    }
    let mut sink = zip
        .finish()
        .map_err(|e| ServiceError::failed("the export's directory", e))?;
    sink.flush()
        .map_err(|e| ServiceError::failed("the end of the export", e))
}

fn write_entries<W: Write>(
    runtime: &tokio::runtime::Handle,
    blobs: &Arc<BlobStore>,
    zip: &mut ZipWriter<zip::write::StreamWriter<W>>,
    index: String,
    entries: Vec<Entry>,
    modified: zip::DateTime,
) -> std::result::Result<(), ServiceError> {
    let failed = |what: &str, e: zip::result::ZipError| ServiceError::failed(what.to_string(), e);
    let text = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(modified);
    // PDFs are compressed already: stored as they are, byte for byte.
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(modified)
        .large_file(true);
    zip.start_file("索引.csv", text)
        .map_err(|e| failed("the export's index", e))?;
    zip.write_all(index.as_bytes())
        .map_err(|e| ServiceError::failed("the export's index", e))?;
    for entry in entries {
        let key = BlobKey::new(entry.blob.as_str())
            .map_err(|e| ServiceError::failed(format!("the blob key of {}", entry.path), e))?;
        let bytes = runtime.block_on(blobs.get(&key))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if digest != entry.sha256 {
            return Err(ServiceError::internal(format!(
                "{} does not match the SHA-256 recorded for it",
                entry.path
            )));
        }
        zip.start_file(entry.path.as_str(), stored)
            .map_err(|e| failed(&entry.path, e))?;
        zip.write_all(&bytes)
            .map_err(|e| ServiceError::failed(entry.path.clone(), e))?;
    }
    Ok(())
}

/// Sends what is written as chunks, waiting while the client is behind; writes nothing once
/// the export has stopped.
struct ChannelWriter {
    sender: mpsc::Sender<std::io::Result<Vec<u8>>>,
    stopped: Arc<AtomicBool>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the export stopped"));
        }
        self.sender
            .blocking_send(Ok(buf.to_vec()))
            .map_err(|_| std::io::Error::other("the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A document's name as a file name in the ZIP: no folders (`/`, `\`), nothing Windows refuses,
/// no control characters, not hidden, at most 120 characters.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.');
    let short: String = cleaned.chars().take(120).collect();
    if short.is_empty() {
        "document.pdf".to_string()
    } else {
        short
    }
}

/// Unix seconds as the ZIP's local time, in Japan.
fn zip_time(at: i64) -> zip::DateTime {
    let jst = time::OffsetDateTime::from_unix_timestamp(at.saturating_add(9 * 3600))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    zip::DateTime::from_date_and_time(
        u16::try_from(jst.year()).unwrap_or(1980),
        u8::from(jst.month()),
        jst.day(),
        jst.hour(),
        jst.minute(),
        jst.second(),
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_inside_their_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("契約書.pdf"), "契約書.pdf");
        assert_eq!(safe_file_name("a\r\nb:c.pdf"), "a__b_c.pdf");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name("  "), "document.pdf");
        assert_eq!(safe_file_name(&"長".repeat(300)).chars().count(), 120);
    }
}
