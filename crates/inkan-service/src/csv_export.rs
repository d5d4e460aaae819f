//! The 電帳法 search as CSV (UTF-8 with a BOM, so Excel reads the Japanese): every hit, read
//! from the store a page at a time (each page continuing after the last hit of the one before)
//! and sent as it is written, so a search of a hundred thousand documents takes the memory of
//! one page. The export is recorded in the audit trail, with its criteria, before the first row.

use inkan_store::SearchCursor;
use tokio::sync::mpsc;

use crate::envelopes::hit_view;
use crate::{Caller, DocumentHitView, Inkan, Result, SearchInput, Staff};

/// Hits read from the store at a time.
const PAGE: u32 = 1000;

/// A CSV being written: its rows arrive in chunks (a page each). An `Err` chunk means the
/// export stopped there (the reason is also in the log).
pub struct CsvExport {
    pub chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
}

impl Inkan {
    /// Every hit of `query` that `staff` may read, as CSV.
    pub async fn search_csv(
        &self,
        staff: &Staff,
        query: &SearchInput,
        caller: &Caller,
    ) -> Result<CsvExport> {
        staff.require_some_reading()?;
        let mut q = query.to_query()?;
        q.reach = staff.rights.reads;
        q.limit = PAGE;
        self.record(
            staff,
            caller,
            "export_csv",
            serde_json::json!({ "query": query.described() }),
        )
        .await?;
        let (sender, chunks) = mpsc::channel(2);
        let store = self.store.clone();
        let organization = staff.organization;
        tokio::spawn(async move {
            let mut chunk = String::from("\u{feff}");
            chunk.push_str(INDEX_HEADER);
            chunk.push_str("\r\n");
            loop {
                let page = match store.search_documents(organization, &q).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(error = %e, "the CSV export stopped");
                        let _ = sender.send(Err(std::io::Error::other(e.to_string()))).await;
                        return;
                    }
                };
                let last = page.last().map(SearchCursor::after);
                for hit in page {
                    chunk.push_str(&csv_line(&index_fields(&hit_view(hit))));
                }
                if sender
                    .send(Ok(std::mem::take(&mut chunk).into_bytes()))
                    .await
                    .is_err()
                {
                    return; // the client went away
                }
                match last {
                    Some(cursor) => q.after = Some(cursor),
                    None => return,
                }
            }
        });
        Ok(CsvExport { chunks })
    }
}

/// The columns of the search's CSV (and of a tax-audit export's index, which adds its own).
pub(crate) const INDEX_HEADER: &str =
    "取引年月日,取引金額,取引先,文書名,封筒名,管理番号,状態,SHA-256,封筒ID,文書ID";

/// A search hit as the CSV's columns.
pub(crate) fn index_fields(h: &DocumentHitView) -> [String; 10] {
    [
        h.document.metadata.date.clone().unwrap_or_default(),
        h.document.metadata.amount.clone().unwrap_or_default(),
        h.document.metadata.counterparty.clone().unwrap_or_default(),
        h.document.name.clone(),
        h.envelope_title.clone(),
        h.envelope_number.clone(),
        h.envelope_status.name().to_string(),
        h.document.sha256.clone(),
        h.envelope_id.clone(),
        h.document.id.clone(),
    ]
}

/// One CSV line (CRLF, as Excel writes it).
pub(crate) fn csv_line(cells: &[String]) -> String {
    let mut line = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A CSV cell: quoted when needed; a leading =, +, - or @ is neutralised so a spreadsheet never
/// runs it as a formula.
fn csv_cell(value: &str) -> String {
    let mut v = value.to_string();
    if v.starts_with(['=', '+', '-', '@']) {
        v.insert(0, '\'');
    }
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}
