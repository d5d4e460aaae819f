//! Hand-made PDFs with exact offsets, qpdf conversions of them, and a small PRNG.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use inkan_testkit::require_tool;

/// The Japanese title used in /Info (UTF-16BE with BOM in the file).
pub const JA_TITLE: &str = "電子契約書（テスト）";
/// The Japanese author.
pub const JA_AUTHOR: &str = "山田 太郎";

/// Writes objects with their offsets recorded, then a classic xref table and trailer.
pub struct Builder {
    pub out: Vec<u8>,
    offsets: BTreeMap<u32, usize>,
}

impl Builder {
    pub fn new(version: &str) -> Self {
        let mut out = format!("%PDF-{version}\n").into_bytes();
        // The binary comment line that tells transfer tools the file is binary.
        out.extend_from_slice(b"%\xE2\xE3\xCF\xD3\n");
        Builder {
            out,
            offsets: BTreeMap::new(),
        }
    }

    /// Continues after an existing file (for hand-written incremental updates).
    pub fn after(existing: &[u8]) -> Self {
        Builder {
            out: existing.to_vec(),
            offsets: BTreeMap::new(),
        }
    }

    pub fn obj(&mut self, num: u32, body: &str) -> &mut Self {
        self.obj_bytes(num, body.as_bytes())
    }

    pub fn obj_bytes(&mut self, num: u32, body: &[u8]) -> &mut Self {
        self.offsets.insert(num, self.out.len());
        self.out
            .extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
        self
    }

    pub fn stream(&mut self, num: u32, dict_extra: &str, data: &[u8]) -> &mut Self {
        let mut body = format!("<< /Length {} {dict_extra} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.obj_bytes(num, &body)
    }

    pub fn offset(&self, num: u32) -> usize {
        self.offsets[&num]
    }

    /// Classic table covering 0..=max (gaps free) — for a first revision.
    pub fn finish(mut self, trailer: &str) -> Vec<u8> {
        let xref = self.out.len();
        let max = self.offsets.keys().max().copied().unwrap_or(0);
        let mut t = format!("xref\n0 {}\n0000000000 65535 f\r\n", max + 1);
        for n in 1..=max {
            match self.offsets.get(&n) {
                Some(o) => writeln!(t, "{o:010} 00000 n\r").unwrap(),
                None => writeln!(t, "0000000000 00000 f\r").unwrap(),
            }
        }
        write!(
            t,
            "trailer\n<< /Size {} {trailer} >>\nstartxref\n{xref}\n%%EOF\n",
            max + 1
        )
        .unwrap();
        self.out.extend_from_slice(t.as_bytes());
        self.out
    }

    /// A table listing only the objects written since `after` (an incremental update section).
    pub fn finish_update(mut self, trailer: &str) -> Vec<u8> {
        let xref = self.out.len();
        let mut t = String::from("xref\n");
        for (n, o) in &self.offsets {
            write!(t, "{n} 1\n{o:010} 00000 n\r\n").unwrap();
        }
        write!(t, "trailer\n<< {trailer} >>\nstartxref\n{xref}\n%%EOF\n").unwrap();
        self.out.extend_from_slice(t.as_bytes());
        self.out
    }
}

/// A UTF-16BE-with-BOM hex string for `text`.
pub fn utf16_hex(text: &str) -> String {
    let mut s = String::from("<FEFF");
    for u in text.encode_utf16() {
        write!(s, "{u:04X}").unwrap();
    }
    s.push('>');
    s
}

/// A minimal valid PDF with `pages` pages (a two-level tree when more than 10, inheriting
/// /MediaBox from the root), an /Info with a Japanese or plain title, and an /ID.
pub fn minimal_pdf(pages: usize, japanese: bool) -> Vec<u8> {
    minimal_pdf_version(pages, japanese, "1.7")
}

pub fn minimal_pdf_version(pages: usize, japanese: bool, version: &str) -> Vec<u8> {
    let mut b = Builder::new(version);
    // 1 catalog, 2 root pages, 3 info, 4 content, 5.. intermediate nodes, then pages.
    let leaves_per_node = 10usize;
    let nodes = if pages > leaves_per_node {
        pages.div_ceil(leaves_per_node)
    } else {
        0
    };
    let first_node = 5u32;
    let first_page = first_node + nodes as u32;
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = if nodes == 0 {
        (0..pages)
            .map(|i| format!("{} 0 R", first_page + i as u32))
            .collect()
    } else {
        (0..nodes)
            .map(|i| format!("{} 0 R", first_node + i as u32))
            .collect()
    };
    b.obj(
        2,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} /MediaBox [0 0 595 842] >>",
            kids.join(" ")
        ),
    );
    let (title, author) = if japanese {
        (utf16_hex(JA_TITLE), utf16_hex(JA_AUTHOR))
    } else {
        (
            "(Plain \\(test\\) title)".to_string(),
            "(Inkan)".to_string(),
        )
    };
    b.obj(
        3,
        &format!("<< /Title {title} /Author {author} /Producer (inkan-pdf tests) >>"),
    );
    b.stream(4, "", b"0 0 m 100 100 l S");
    for n in 0..nodes {
        let start = n * leaves_per_node;
        let end = (start + leaves_per_node).min(pages);
        let kids: Vec<String> = (start..end)
            .map(|i| format!("{} 0 R", first_page + i as u32))
            .collect();
        b.obj(
            first_node + n as u32,
            &format!(
                "<< /Type /Pages /Parent 2 0 R /Kids [{}] /Count {} >>",
                kids.join(" "),
                end - start
            ),
        );
    }
    for i in 0..pages {
        let parent = if nodes == 0 {
            2
        } else {
            first_node + (i / leaves_per_node) as u32
        };
        b.obj(
            first_page + i as u32,
            &format!("<< /Type /Page /Parent {parent} 0 R /Contents 4 0 R /Resources << >> >>"),
        );
    }
    b.finish("/Root 1 0 R /Info 3 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]")
}

/// A hybrid file: objects 1, 2, 4 in the file, the page (3) in object stream 5, which only the
/// /XRefStm stream (6) lists; the classic table marks 3 free for old readers.
pub fn hybrid_pdf() -> Vec<u8> {
    let mut b = Builder::new("1.5");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(
        2,
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
    );
    b.obj(4, "<< /Title (Hybrid) >>");
    let page = b"<< /Type /Page /Parent 2 0 R /Resources << >> >>";
    let header = b"3 0 ";
    let mut data = header.to_vec();
    data.extend_from_slice(page);
    b.stream(
        5,
        &format!("/Type /ObjStm /N 1 /First {}", header.len()),
        &data,
    );
    // The hidden xref stream: rows for 3 (type 2 in 5) and 5, 6 (type 1); W [1 4 2].
    let off5 = b.offset(5) as u32;
    let off6 = b.out.len() as u32;
    let mut rows = Vec::new();
    rows.extend_from_slice(&[2]);
    rows.extend_from_slice(&5u32.to_be_bytes());
    rows.extend_from_slice(&0u16.to_be_bytes());
    rows.extend_from_slice(&[1]);
    rows.extend_from_slice(&off5.to_be_bytes());
    rows.extend_from_slice(&0u16.to_be_bytes());
    rows.extend_from_slice(&[1]);
    rows.extend_from_slice(&off6.to_be_bytes());
    rows.extend_from_slice(&0u16.to_be_bytes());
    b.stream(6, "/Type /XRef /Size 7 /W [1 4 2] /Index [3 1 5 2]", &rows);
    assert_eq!(b.offset(6) as u32, off6);
    // The classic table: 0..=6 with 3 free (it is compressed).
    let mut out = b.out.clone();
    let xref = out.len();
    let mut t = String::from("xref\n0 7\n0000000000 65535 f\r\n");
    for n in 1..=6u32 {
        if n == 3 {
            t.push_str("0000000000 00000 f\r\n");
        } else {
            writeln!(t, "{:010} 00000 n\r", b.offset(n)).unwrap();
        }
    }
    write!(
        t,
        "trailer\n<< /Size 7 /Root 1 0 R /Info 4 0 R /XRefStm {off6} /ID [<AA><AA>] >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out.extend_from_slice(t.as_bytes());
    out
}

/// Appends a hand-written incremental update to `base` (made by [`minimal_pdf`]): a new /Info
/// (object 3 replaced) and a new object, with /Prev.
pub fn with_manual_update(base: &[u8], new_title: &str) -> Vec<u8> {
    let doc = inkan_pdf::Document::open(base.to_vec()).unwrap();
    let prev = doc.startxref().unwrap();
    let size = doc.size();
    let mut b = Builder::after(base);
    b.obj(
        3,
        &format!("<< /Title {} /Producer (update) >>", utf16_hex(new_title)),
    );
    b.obj(size, "<< /Note (added in the update) >>");
    b.finish_update(&format!(
        "/Size {} /Root 1 0 R /Info 3 0 R /Prev {prev} /ID [<0123456789ABCDEF0123456789ABCDEF> <FEDCBA9876543210FEDCBA9876543210>]",
        size + 1
    ))
}

/// qpdf, or None after printing why the test is skipped.
pub fn qpdf() -> Option<std::path::PathBuf> {
    require_tool(
        "qpdf",
        "converts test PDFs into object-stream, linearized and QDF variants and checks outputs",
    )
}

/// Runs qpdf on `input` with `args`; returns the output file's bytes. Panics on failure.
pub fn qpdf_convert(dir: &Path, name: &str, input: &[u8], args: &[&str]) -> Vec<u8> {
    let inp = dir.join(format!("{name}.in.pdf"));
    let out = dir.join(format!("{name}.pdf"));
    std::fs::write(&inp, input).unwrap();
    let o = Command::new("qpdf")
        .args(args)
        .arg(&inp)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "qpdf {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(out).unwrap()
}

/// `qpdf --check`: must exit 0 and print no warning.
pub fn qpdf_check(dir: &Path, name: &str, pdf: &[u8]) {
    let path = dir.join(format!("{name}.check.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let o = Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.code() == Some(0),
        "qpdf --check {name} failed:\n{text}"
    );
    assert!(
        !text.to_lowercase().contains("warning"),
        "qpdf --check {name} warned:\n{text}"
    );
}

/// The qpdf variants every reader and writer test runs against: (name, qpdf arguments).
pub const VARIANTS: &[(&str, &[&str])] = &[
    ("objstm", &["--object-streams=generate"]),
    ("linearized", &["--linearize"]),
    (
        "linearized-objstm",
        &["--linearize", "--object-streams=generate"],
    ),
    ("qdf", &["--qdf"]),
    (
        "uncompressed",
        &["--object-streams=disable", "--stream-data=uncompress"],
    ),
];

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
