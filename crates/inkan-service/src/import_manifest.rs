//! The CSV that lists contracts to import (`inkan import`, the staff's import page): one row per
//! PDF with its 件名, 管理番号, 取引先, 取引年月日, 金額 and 種別. As Japanese Excel saves it —
//! UTF-8 with or without a BOM, or CP932 (Shift_JIS) — with Japanese or English headers in any
//! order. Every row is checked before anything is imported, and a bad one is named by its line
//! and column.

use crate::envelopes::{file_name, parse_metadata};
use crate::{ImportInput, MetadataInput, Result, ServiceError};

/// Rows a manifest may hold.
pub const MAX_IMPORT_ROWS: usize = 1500;

/// One contract of a manifest.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The line of the CSV it came from (the header is line 1).
    pub line: usize,
    /// The PDF's file name, as the manifest gives it (a name in the folder beside it).
    pub file: String,
    pub input: ImportInput,
}

/// A column: its Japanese and English headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    File,
    Title,
    Number,
    Counterparty,
    Date,
    Amount,
    Kind,
}

impl Column {
    const ALL: [Column; 7] = [
        Column::File,
        Column::Title,
        Column::Number,
        Column::Counterparty,
        Column::Date,
        Column::Amount,
        Column::Kind,
    ];

    fn headers(self) -> (&'static str, &'static str) {
        match self {
            Column::File => ("ファイル", "file"),
            Column::Title => ("件名", "title"),
            Column::Number => ("管理番号", "number"),
            Column::Counterparty => ("取引先", "counterparty"),
            Column::Date => ("取引年月日", "date"),
            Column::Amount => ("金額", "amount"),
            Column::Kind => ("種別", "kind"),
        }
    }

    fn of(header: &str) -> Option<Column> {
        let header = header.trim();
        Column::ALL.into_iter().find(|c| {
            let (ja, en) = c.headers();
            header == ja || header.eq_ignore_ascii_case(en)
        })
    }
}

/// The text of a CSV file: UTF-8 (its BOM dropped), else CP932 as Japanese Excel writes it.
pub fn decode_csv(bytes: &[u8]) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if had_errors {
        return Err(ServiceError::Invalid(
            "CSV の文字コードを読めません: UTF-8 か Shift_JIS (CP932) で保存してください \
             (the CSV is neither UTF-8 nor Shift_JIS/CP932)"
                .into(),
        ));
    }
    Ok(text.into_owned())
}

/// A CSV as Japanese Excel saves it, read whole: its header line, and each row that is not
/// empty with its line number (the header is line 1).
pub(crate) struct ExcelCsv {
    pub headers: csv::StringRecord,
    pub rows: Vec<(usize, csv::StringRecord)>,
}

impl ExcelCsv {
    /// Reads `bytes` (see [`decode_csv`]); more than `max_rows` rows are refused.
    pub(crate) fn read(bytes: &[u8], max_rows: usize) -> Result<ExcelCsv> {
        let text = decode_csv(bytes)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| {
                ServiceError::Invalid(format!(
                    "CSV の見出し行を読めません (the header line cannot be read): {e}"
                ))
            })?
            .clone();
        let mut rows = Vec::new();
        for (n, record) in reader.records().enumerate() {
            let line = n + 2;
            let record = record.map_err(|e| {
                ServiceError::Invalid(format!(
                    "{line}行目を読めません (line {line} cannot be read): {e}"
                ))
            })?;
            if record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            if rows.len() == max_rows {
                return Err(ServiceError::Invalid(format!(
                    "CSV は一度に {max_rows} 行までです (at most {max_rows} rows at a time)"
                )));
            }
            rows.push((line, record));
        }
        Ok(ExcelCsv { headers, rows })
    }
}

/// Reads and checks a manifest; nothing is imported unless every row is right.
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<ImportRow>> {
    let ExcelCsv {
        headers,
        rows: lines,
    } = ExcelCsv::read(bytes, MAX_IMPORT_ROWS)?;
    let mut columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let column = Column::of(h).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "1行目 {}列目: 見出し {h:?} は使えません。ファイル, 件名, 管理番号, 取引先, 取引年月日, 金額, 種別 のいずれかにしてください \
                 (line 1, column {}: unknown header {h:?}; use file, title, number, counterparty, date, amount, kind)",
                i + 1,
                i + 1
            ))
        })?;
        if columns.contains(&column) {
            return Err(ServiceError::Invalid(format!(
                "1行目: 見出し「{}」が2つあります (line 1: the header {h:?} appears twice)",
                column.headers().0
            )));
        }
        columns.push(column);
    }
    if !columns.contains(&Column::File) {
        return Err(ServiceError::Invalid(
            "1行目: 「ファイル」の列がありません (line 1: no `file` column)".into(),
        ));
    }
    let mut rows = Vec::new();
    for (line, record) in lines {
        let cell = |c: Column| {
            columns
                .iter()
                .position(|x| *x == c)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let at = |c: Column, e: ServiceError| {
            ServiceError::Invalid(format!("{line}行目「{}」: {e}", c.headers().0))
        };
        let file = cell(Column::File).ok_or_else(|| {
            at(
                Column::File,
                ServiceError::Invalid("ファイル名がありません (no file name)".into()),
            )
        })?;
        file_name(&file).map_err(|e| at(Column::File, e))?;
        let metadata = MetadataInput {
            date: cell(Column::Date),
            amount: cell(Column::Amount),
            counterparty: cell(Column::Counterparty),
            kind: cell(Column::Kind),
        };
        // Each item alone, so that the error names its column.
        for (column, only) in [
            (
                Column::Date,
                MetadataInput {
                    date: metadata.date.clone(),
                    ..MetadataInput::default()
                },
            ),
            (
                Column::Amount,
                MetadataInput {
                    amount: metadata.amount.clone(),
                    ..MetadataInput::default()
                },
            ),
            (
                Column::Counterparty,
                MetadataInput {
                    counterparty: metadata.counterparty.clone(),
                    ..MetadataInput::default()
                },
            ),
            (
                Column::Kind,
                MetadataInput {
                    kind: metadata.kind.clone(),
                    ..MetadataInput::default()
                },
            ),
        ] {
            parse_metadata(&only).map_err(|e| at(column, e))?;
        }
        let title = cell(Column::Title);
        if let Some(t) = &title {
            inkan_domain::text::required_line("件名 (title)", t, 200)
                .map_err(|e| at(Column::Title, e.into()))?;
        }
        let number = cell(Column::Number).unwrap_or_default();
        inkan_domain::text::line("管理番号 (number)", &number, 100)
            .map_err(|e| at(Column::Number, e.into()))?;
        rows.push(ImportRow {
            line,
            file: file.clone(),
            input: ImportInput {
                name: file,
                title,
                number,
                metadata,
                folder: None,
                content_base64: String::new(),
            },
        });
    }
    if rows.is_empty() {
        return Err(ServiceError::Invalid(
            "取り込む行がありません (the CSV lists no contract)".into(),
        ));
    }
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CSV: &str = "ファイル,件名,管理番号,取引先,取引年月日,金額,種別\r\n\
        委託契約書.pdf,庁舎清掃業務委託,H31-0007,株式会社盛岡清掃,2019-04-01,\"1,200,000円\",契約書\r\n\
        請書.pdf,,,株式会社盛岡清掃,2018-03-30,99000,請書\r\n\
        ,,,,,,\r\n";

    #[test]
    fn utf8_with_a_bom_and_cp932_read_alike() {
        let utf8 = parse_manifest(CSV.as_bytes()).unwrap();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(CSV.as_bytes());
        let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(CSV);
        for rows in [
            utf8,
            parse_manifest(&bom).unwrap(),
            parse_manifest(&cp932).unwrap(),
        ] {
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].file, "委託契約書.pdf");
            assert_eq!(rows[0].input.title.as_deref(), Some("庁舎清掃業務委託"));
            assert_eq!(
                rows[0].input.metadata.amount.as_deref(),
                Some("1,200,000円")
            );
            assert_eq!(rows[1].line, 3);
            assert_eq!(rows[1].input.title, None);
            assert_eq!(rows[1].input.metadata.kind.as_deref(), Some("請書"));
        }
    }

    #[test]
    fn english_headers_in_any_order() {
        let rows = parse_manifest(b"amount,FILE,date\n5000,a.pdf,2020-02-29\n").unwrap();
        assert_eq!(rows[0].file, "a.pdf");
        assert_eq!(rows[0].input.metadata.date.as_deref(), Some("2020-02-29"));
    }

    #[test]
    fn a_bad_row_is_named_by_line_and_column() {
        for (csv, needle) in [
            (
                "ファイル,取引年月日\na.pdf,2019-02-30\n",
                "2行目「取引年月日」",
            ),
            ("ファイル,金額\na.pdf,1000\nb.pdf,千円\n", "3行目「金額」"),
            ("ファイル,金額\n,1000\n", "2行目「ファイル」"),
            ("ファイル,金額\n../a.pdf,1000\n", "2行目「ファイル」"),
            ("file,price\na.pdf,1\n", "2列目"),
            ("件名\nx\n", "file"),
            ("ファイル,ファイル\na,b\n", "2つ"),
            ("ファイル,金額\na.pdf\n", "2行目"),
            ("ファイル\n", "ありません"),
        ] {
            let e = parse_manifest(csv.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(needle), "{csv:?}: {e}");
        }
        assert!(parse_manifest(b"\xff\xfe\x00garbage\x81").is_err());
    }
}
