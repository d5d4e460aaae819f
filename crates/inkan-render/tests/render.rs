#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use inkan_render::{page_sizes, render_page, RenderError, MAX_PIXELS};

#[path = "../src/test_pdfs.rs"]
mod test_pdfs;

/// A decoded PNG: (width, height, RGB pixels).
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|px| [px[0], px[1], px[2]])
        .collect();
    (info.width, info.height, pixels)
}

fn is_dark(px: &[u8; 3]) -> bool {
    px.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 128
}

fn is_white(px: &[u8; 3]) -> bool {
    px.iter().all(|&c| c >= 250)
}

#[test]
fn page_sizes_of_an_a4_document() {
    let pdf = inkan_testkit::validators::sample_pdf(3);
    let sizes = page_sizes(&pdf).unwrap();
    assert_eq!(sizes.len(), 3);
    for size in sizes {
        assert_eq!((size.width_pt, size.height_pt), (595.0, 842.0));
    }
}

#[test]
fn renders_page_two_at_800_px() {
    let pdf = inkan_testkit::validators::sample_pdf(3);
    let page = render_page(&pdf, 2, 800).unwrap();
    assert_eq!((page.width_px, page.height_px), (800, 1132));
    let (width, height, pixels) = decode(&page.png);
    assert_eq!((width, height), (800, 1132));
    let dark = pixels.iter().filter(|px| is_dark(px)).count();
    let white = pixels.iter().filter(|px| is_white(px)).count();
    assert!(
        dark > 100,
        "the text 'Contract page 2' is drawn: {dark} dark pixels"
    );
    assert!(
        white * 100 > pixels.len() * 95,
        "the page is mostly white paper: {white} of {}",
        pixels.len()
    );
    // The text is near the top (y = 760 pt of 842): no ink in the lower half.
    let lower_half_ink = pixels[pixels.len() / 2..]
        .iter()
        .filter(|px| is_dark(px))
        .count();
    assert_eq!(lower_half_ink, 0, "the page is not upside down");
}

#[test]
fn width_is_clamped() {
    let pdf = inkan_testkit::validators::sample_pdf(1);
    let small = render_page(&pdf, 1, 1).unwrap();
    assert_eq!((small.width_px, small.height_px), (200, 283));
    let (width, height, _) = decode(&small.png);
    assert_eq!((width, height), (200, 283));
    let large = render_page(&pdf, 1, u32::MAX).unwrap();
    assert_eq!(large.width_px, 2400);
    assert!(u64::from(large.width_px) * u64::from(large.height_px) <= MAX_PIXELS);
}

#[test]
fn missing_pages_are_reported() {
    let pdf = inkan_testkit::validators::sample_pdf(3);
    for page in [0, 4, u32::MAX] {
        match render_page(&pdf, page, 800) {
            Err(RenderError::NoSuchPage { page: p, pages: 3 }) => assert_eq!(p, page),
            other => panic!("page {page}: {other:?}"),
        }
    }
    let message = render_page(&pdf, 4, 800).unwrap_err().to_string();
    assert_eq!(message, "page 4 does not exist: the document has 3 page(s)");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let sample = inkan_testkit::validators::sample_pdf(3);
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let truncated = sample[..sample.len() / 2].to_vec();
    let mut header_only = b"%PDF-1.7\n".to_vec();
    header_only.extend_from_slice(&garbage);
    let inputs: [(&str, &[u8]); 4] = [
        ("empty", &[]),
        ("garbage", &garbage),
        ("truncated", &truncated),
        ("header then garbage", &header_only),
    ];
    for (name, input) in inputs {
        let sizes = page_sizes(input);
        assert!(sizes.is_err(), "{name}: page_sizes gave {sizes:?}");
        let render = render_page(input, 1, 800);
        assert!(
            matches!(render, Err(RenderError::NotAPdf(_))),
            "{name}: render_page gave {render:?}"
        );
    }
    assert_eq!(
        render_page(&[], 1, 800).unwrap_err().to_string(),
        "not a readable PDF: the file is empty"
    );
}

/// Encrypted files (made by qpdf): a user password makes it `Encrypted`; an empty user password
/// (only permissions restricted, as many issued PDFs are) renders like any other file.
#[test]
fn encrypted_files() {
    let Some(qpdf) = inkan_testkit::require_tool("qpdf", "encrypts a test PDF (apt install qpdf)")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pdf");
    std::fs::write(&plain, inkan_testkit::validators::sample_pdf(2)).unwrap();
    let encrypt = |user: &str, name: &str| {
        let out = dir.path().join(name);
        let status = std::process::Command::new(&qpdf)
            .args([
                "--encrypt",
                user,
                "owner-secret",
                "256",
                "--print=none",
                "--",
            ])
            .arg(&plain)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "qpdf --encrypt");
        std::fs::read(out).unwrap()
    };

    let locked = encrypt("user-secret", "locked.pdf");
    assert!(matches!(page_sizes(&locked), Err(RenderError::Encrypted)));
    let err = render_page(&locked, 1, 800).unwrap_err();
    assert!(matches!(err, RenderError::Encrypted), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the PDF is encrypted and cannot be shown without its password"
    );

    let restricted = encrypt("", "restricted.pdf");
    assert_eq!(page_sizes(&restricted).unwrap().len(), 2);
    let page = render_page(&restricted, 2, 800).unwrap();
    let (_, _, pixels) = decode(&page.png);
    assert!(
        pixels.iter().any(is_dark),
        "the text is decrypted and drawn"
    );
}

/// Every truncation of the sample (and a few byte flips) either renders or fails cleanly.
#[test]
fn damaged_files_never_panic() {
    let sample = inkan_testkit::validators::sample_pdf(2);
    for len in (0..sample.len()).step_by(37) {
        let _ = page_sizes(&sample[..len]);
        let _ = render_page(&sample[..len], 1, 200);
    }
    for i in (0..sample.len()).step_by(53) {
        let mut damaged = sample.clone();
        damaged[i] ^= 0x5a;
        let _ = render_page(&damaged, 1, 200);
    }
}

#[test]
fn rotated_and_cropped_pages_use_their_displayed_size() {
    let text = "BT /F1 18 Tf 72 760 Td (Contract page) Tj ET";
    let rotated = test_pdfs::one_page("/MediaBox [0 0 595 842] /Rotate 90", text);
    let sizes = page_sizes(&rotated).unwrap();
    assert_eq!((sizes[0].width_pt, sizes[0].height_pt), (842.0, 595.0));
    let page = render_page(&rotated, 1, 842).unwrap();
    assert_eq!((page.width_px, page.height_px), (842, 595));
    // Turned a quarter clockwise, the top of the page (where the text is) is on the right.
    let (width, _, pixels) = decode(&page.png);
    let columns: Vec<usize> = (0..pixels.len())
        .filter(|&i| is_dark(&pixels[i]))
        .map(|i| i % width as usize)
        .collect();
    assert!(!columns.is_empty());
    assert!(
        columns.iter().all(|&x| x > 842 * 3 / 4),
        "text on the right"
    );

    let cropped = test_pdfs::one_page("/MediaBox [0 0 595 842] /CropBox [0 421 595 842]", text);
    let sizes = page_sizes(&cropped).unwrap();
    assert_eq!((sizes[0].width_pt, sizes[0].height_pt), (595.0, 421.0));
    let page = render_page(&cropped, 1, 595).unwrap();
    assert_eq!((page.width_px, page.height_px), (595, 421));
    let (_, _, pixels) = decode(&page.png);
    assert!(
        pixels.iter().any(is_dark),
        "the text is inside the crop box"
    );
}

#[test]
fn huge_pages_are_capped() {
    // 200 × 200 inches, the largest page PDF allows without UserUnit.
    let pdf = test_pdfs::one_page("/MediaBox [0 0 14400 14400]", "0 0 1 rg 0 0 7200 7200 re f");
    let page = render_page(&pdf, 1, 2400).unwrap();
    assert!(u64::from(page.width_px) * u64::from(page.height_px) <= MAX_PIXELS);
    assert_eq!(page.width_px, page.height_px);
    let (w, h, _) = decode(&page.png);
    assert_eq!((w, h), (page.width_px, page.height_px));

    // A very long strip still gives a bounded image.
    let strip = test_pdfs::one_page("/MediaBox [0 0 10 14400]", "");
    let page = render_page(&strip, 1, 800).unwrap();
    assert!(u64::from(page.width_px) * u64::from(page.height_px) <= MAX_PIXELS);
    assert!(page.height_px <= 16_384);

    // Absurd boxes: an error or a bounded image, never a panic or an allocation of gigabytes.
    for media_box in [
        "/MediaBox [0 0 1e40 1e40]",
        "/MediaBox [0 0 99999999999 1]",
        "/MediaBox [0 0 0 0]",
        "/MediaBox [10 10 10 10]",
        "/MediaBox [0 0 -595 -842]",
        "/MediaBox [0 0 595 842] /Rotate 45",
        "/MediaBox (nonsense)",
    ] {
        let pdf = test_pdfs::one_page(media_box, "BT /F1 18 Tf 72 760 Td (x) Tj ET");
        let _ = page_sizes(&pdf);
        if let Ok(page) = render_page(&pdf, 1, 800) {
            assert!(
                u64::from(page.width_px) * u64::from(page.height_px) <= MAX_PIXELS,
                "{media_box}"
            );
        }
    }
}

/// A non-embedded Japanese CID font (HeiseiKakuGo-W5, UniJIS-UCS2-H, Adobe-Japan1): hayro embeds
/// no CJK font, so the glyphs come from the system's Japanese font (IPAexGothic, or INKAN_FONT).
#[test]
fn japanese_text_in_a_non_embedded_font_is_drawn() {
    let pdf = test_pdfs::japanese_pdf();
    let page = render_page(&pdf, 1, 600).expect("renders without error");
    let (_, _, pixels) = decode(&page.png);
    let dark = pixels.iter().filter(|px| is_dark(px)).count();
    let font_installed = std::env::var_os("INKAN_FONT").is_some()
        || std::path::Path::new("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf").exists()
        || std::path::Path::new("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf").exists();
    if !font_installed {
        // Without a Japanese font the page still renders, only without that text.
        inkan_testkit::skip_or_fail("no Japanese font (apt install fonts-ipaexfont-gothic)");
        return;
    }
    assert!(dark > 500, "契約書 is drawn: {dark} dark pixels");
}

/// How long one A4 page at 1000 px takes (printed; asserts only a generous bound).
#[test]
fn render_time_of_an_a4_page_at_1000_px() {
    let pdf = inkan_testkit::validators::sample_pdf(1);
    let _ = render_page(&pdf, 1, 1000).unwrap(); // warm-up (loads fonts)
    let start = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        render_page(&pdf, 1, 1000).unwrap();
    }
    let each = start.elapsed() / runs;
    eprintln!("A4 page at 1000 px: {each:?} per render");
    assert!(each.as_secs() < 5, "{each:?}");
}
