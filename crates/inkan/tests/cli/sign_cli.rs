//! `inkan sign` and `inkan timestamp` as documented, with a PKI served by `inkan pki serve`, the
//! results checked by pyHanko.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{init_and_serve, inkan};
use inkan_testkit::{pyhanko, require_tool, run, run_ok, softhsm};
use std::path::Path;
use std::process::Command;

fn one_page_pdf(path: &Path) {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    std::fs::write(path, out).unwrap();
}

fn pyhanko_says_valid(pdf: &Path, root: &Path, count: usize) {
    let Some(pyhanko) = pyhanko() else { return };
    let out = run(Command::new(pyhanko)
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(root)
        .arg("--trust-replace")
        .arg(pdf));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("judged VALID").count(), count, "{text}");
}

#[test]
fn sign_with_the_pki_witness_key_files_and_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let _server = init_and_serve(&dir, "滝沢市");
    let root = dir.join("root.pem");
    let input = tmp.path().join("in.pdf");
    one_page_pdf(&input);

    // 立会人型: the PKI's witness certificate and TSA, B-LTA by default.
    let witness = tmp.path().join("witness.pdf");
    let out = run_ok(
        inkan()
            .arg("sign")
            .arg(&input)
            .arg("-o")
            .arg(&witness)
            .arg("--pki")
            .arg(&dir)
            .args([
                "--certify",
                "2",
                "--reason",
                "山田太郎様 taro@example.co.jp が承認しました",
                "--location",
                "日本",
            ]),
    );
    assert!(out.contains("署名しました"), "{out}");
    pyhanko_says_valid(&witness, &root, 1);

    // A key file and certificate issued by the PKI, visible, on top of the certification.
    run_ok(
        inkan()
            .args(["pki", "issue", "--dir"])
            .arg(&dir)
            .args([
                "--name",
                "鈴木花子",
                "--email",
                "hanako@example.jp",
                "--out",
            ])
            .arg(tmp.path().join("hanako")),
    );
    let tsa = std::fs::read_to_string(dir.join("pki.toml")).unwrap();
    let base = tsa
        .lines()
        .find(|l| l.starts_with("base_url"))
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();
    let second = tmp.path().join("second.pdf");
    let mut cmd = inkan();
    cmd.arg("sign")
        .arg(&witness)
        .arg("-o")
        .arg(&second)
        .arg("--key")
        .arg(tmp.path().join("hanako.key"))
        .arg("--cert")
        .arg(tmp.path().join("hanako.pem"))
        .arg("--chain")
        .arg(dir.join("issuing-ca.pem"))
        .args(["--tsa", &format!("{base}/tsa"), "--trust"])
        .arg(&root)
        .args(["--level", "b-lt"]);
    run_ok(&mut cmd);
    // A new visible signature on a certified document would break the certification: refused.
    if inkan_pades_font_available() {
        let out = run(inkan()
            .arg("sign")
            .arg(&witness)
            .arg("-o")
            .arg(tmp.path().join("v.pdf"))
            .arg("--pki")
            .arg(&dir)
            .args(["--visible", "1:300,60,220,60"]));
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("certified"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    pyhanko_says_valid(&second, &root, 2);

    // Archive renewal.
    let renewed = tmp.path().join("renewed.pdf");
    run_ok(
        inkan()
            .arg("timestamp")
            .arg(&second)
            .arg("-o")
            .arg(&renewed)
            .args(["--tsa", &format!("{base}/tsa"), "--trust"])
            .arg(&root),
    );
    pyhanko_says_valid(&renewed, &root, 2);

    // A key in a PKCS#11 token.
    if let Some(hsm) = softhsm() {
        if require_tool("openssl", "makes the CSR-less certificate check").is_some() {
            let token = inkan_keys::Pkcs11Token::open(&hsm.module, &hsm.token_label, &hsm.user_pin)
                .unwrap();
            let key = token
                .generate_key("sign-cli", inkan_keys::KeyKind::EcP256)
                .unwrap();
            let pki = inkan_pki::Pki::open(&dir).unwrap();
            let cert = pki
                .issue_signer_for_key(
                    &inkan_pki::SignerRequest {
                        name: "HSM 署名者".into(),
                        email: None,
                        days: 30,
                    },
                    inkan_keys::SigningKey::public_key(&key),
                )
                .unwrap();
            let cert_path = tmp.path().join("hsm.pem");
            std::fs::write(
                &cert_path,
                inkan_pki::x509::to_pem(std::slice::from_ref(&cert)).unwrap(),
            )
            .unwrap();
            let third = tmp.path().join("third.pdf");
            run_ok(
                inkan()
                    .env("INKAN_PKCS11_PIN", &hsm.user_pin)
                    .arg("sign")
                    .arg(&renewed)
                    .arg("-o")
                    .arg(&third)
                    .arg("--pkcs11-module")
                    .arg(&hsm.module)
                    .args([
                        "--pkcs11-token",
                        &hsm.token_label,
                        "--pkcs11-key",
                        "sign-cli",
                        "--cert",
                    ])
                    .arg(&cert_path)
                    .arg("--chain")
                    .arg(dir.join("issuing-ca.pem"))
                    .args(["--tsa", &format!("{base}/tsa"), "--level", "b-t"]),
            );
            pyhanko_says_valid(&third, &root, 3);
        }
    }

    // Clear errors, exit 2, nothing written.
    let refused = tmp.path().join("refused.pdf");
    for args in [
        vec![
            "--pki".to_string(),
            dir.display().to_string(),
            "--level".into(),
            "b-q".into(),
        ],
        vec![
            "--pki".to_string(),
            dir.display().to_string(),
            "--certify".into(),
            "7".into(),
        ],
        vec![
            "--pki".to_string(),
            dir.display().to_string(),
            "--visible".into(),
            "nonsense".into(),
        ],
        vec!["--level".to_string(), "b-b".into()],
    ] {
        let out = run(inkan()
            .arg("sign")
            .arg(&input)
            .arg("-o")
            .arg(&refused)
            .args(&args));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!refused.exists());
    }
    let garbage = tmp.path().join("garbage.pdf");
    std::fs::write(&garbage, b"%PDF-1.7 this is not a PDF").unwrap();
    let out = run(inkan()
        .arg("sign")
        .arg(&garbage)
        .arg("-o")
        .arg(&refused)
        .arg("--pki")
        .arg(&dir)
        .args(["--level", "b-b"]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1,
        "one line: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn inkan_pades_font_available() -> bool {
    [
        "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
}
