//! The benchmark's inputs: a text PDF of many pages and a large "scanned" PDF.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Result;
use rand::{RngCore, SeedableRng};

/// A text PDF of `pages` pages: Helvetica (a /Font resource on every page), ~45 lines of text
/// per page in a Flate-compressed content stream, classic xref table, flat page tree.
pub(crate) fn write_text_pdf(path: &Path, pages: usize) -> Result<()> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(b"<< /Title (Service agreement) /Producer (inkan-bench) >>".to_vec());
    for page in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /Font << /F1 3 0 R >> >> >>",
                6 + 2 * page
            )
            .into_bytes(),
        );
        let mut content = format!(
            "BT /F1 16 Tf 56 790 Td (Service agreement - page {} of {pages}) Tj ET\n",
            page + 1
        );
        for line in 0..45 {
            let article = page * 45 + line + 1;
            content.push_str(&format!(
                "BT /F1 10 Tf 56 {} Td (Article {article}. The contractor shall perform the \
                 services described in schedule {} with due care and diligence.) Tj ET\n",
                760 - 16 * line,
                article % 17 + 1
            ));
        }
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content.as_bytes())?;
        let compressed = encoder.finish()?;
        let mut object = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            compressed.len()
        )
        .into_bytes();
        object.extend_from_slice(&compressed);
        object.extend_from_slice(b"\nendstream");
        objects.push(object);
    }
    let mut out = PdfOut::create(path)?;
    for object in &objects {
        out.object(object, &[])?;
    }
    out.finish()
}

/// A "scanned" PDF of about `megabytes` MB: one A4 page per 150-dpi greyscale image of random
/// (incompressible) bytes, stored uncompressed as /DeviceGray. Under one page's worth (2.2 MB),
/// the one page's image is cut to the size asked for (fewer rows, scaled to the page).
pub(crate) fn write_scanned_pdf(path: &Path, megabytes: usize) -> Result<usize> {
    const W: usize = 1240;
    let bytes = megabytes * 1024 * 1024;
    let pages = (bytes as f64 / (W * 1754) as f64).round().max(1.0) as usize;
    let h = if pages == 1 {
        (bytes / W).clamp(1, 1754)
    } else {
        1754
    };
    let mut out = PdfOut::create(path)?;
    out.object(b"<< /Type /Catalog /Pages 2 0 R >>", &[])?;
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 3 * i)).collect();
    out.object(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .as_bytes(),
        &[],
    )?;
    out.object(b"<< /Producer (inkan-bench scanner) >>", &[])?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1b4a_2026);
    let mut image = vec![0u8; W * h];
    for page in 0..pages {
        let first = 4 + 3 * page;
        out.object(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /XObject << /Im0 {} 0 R >> >> >>",
                first + 1,
                first + 2
            )
            .as_bytes(),
            &[],
        )?;
        let content = b"q 595 0 0 842 0 0 cm /Im0 Do Q";
        out.object(
            format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
            &[content, b"\nendstream"],
        )?;
        rng.fill_bytes(&mut image);
        out.object(
            format!(
                "<< /Type /XObject /Subtype /Image /Width {W} /Height {h} /ColorSpace /DeviceGray \
                 /BitsPerComponent 8 /Length {} >>\nstream\n",
                image.len()
            )
            .as_bytes(),
            &[&image, b"\nendstream"],
        )?;
    }
    out.finish()?;
    Ok(pages)
}

/// Writes objects numbered in order (1, 2, …) straight to the file, then a classic xref table
/// and a trailer with `/Root 1 0 R` and `/Info` naming the first object that holds /Producer.
pub(crate) struct PdfOut {
    pub(crate) out: BufWriter<File>,
    pub(crate) at: usize,
    pub(crate) offsets: Vec<usize>,
    pub(crate) info: Option<usize>,
}

impl PdfOut {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let mut out = PdfOut {
            out: BufWriter::new(File::create(path)?),
            at: 0,
            offsets: Vec::new(),
            info: None,
        };
        out.raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")?;
        Ok(out)
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes)?;
        self.at += bytes.len();
        Ok(())
    }

    pub(crate) fn object(&mut self, head: &[u8], tail: &[&[u8]]) -> Result<()> {
        self.offsets.push(self.at);
        let num = self.offsets.len();
        if self.info.is_none() && head.windows(9).any(|w| w == b"/Producer") {
            self.info = Some(num);
        }
        self.raw(format!("{num} 0 obj\n").as_bytes())?;
        self.raw(head)?;
        for part in tail {
            self.raw(part)?;
        }
        self.raw(b"\nendobj\n")
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        let xref = self.at;
        let size = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n \n"));
        }
        let info = self
            .info
            .map(|n| format!(" /Info {n} 0 R"))
            .unwrap_or_default();
        table.push_str(&format!(
            "trailer\n<< /Size {size} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        self.raw(table.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::process::Command;

    /// The inputs are well-formed PDFs with the pages they claim, or the comparison means
    /// nothing.
    #[test]
    fn generated_inputs_are_valid_pdfs() {
        let tmp = tempfile::tempdir().unwrap();
        let text = tmp.path().join("text.pdf");
        write_text_pdf(&text, 7).unwrap();
        let scanned = tmp.path().join("scanned.pdf");
        let pages = write_scanned_pdf(&scanned, 5).unwrap();
        assert_eq!(pages, 2);
        assert!(std::fs::metadata(&scanned).unwrap().len() > 4_000_000);
        if inkan_testkit::require_tool("qpdf", "checks the inputs (apt install qpdf)").is_none() {
            return;
        }
        for (path, pages) in [(&text, 7), (&scanned, 2)] {
            let check = inkan_testkit::run_ok(Command::new("qpdf").arg("--check").arg(path));
            assert!(!check.to_lowercase().contains("warning"), "{check}");
            let count = inkan_testkit::run_ok(Command::new("qpdf").arg("--show-npages").arg(path));
            assert_eq!(count.trim(), pages.to_string());
        }
    }
}
