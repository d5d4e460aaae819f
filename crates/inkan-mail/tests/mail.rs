//! Templates in both languages, the RFC 5322 message, the .eml folder, and delivery through a
//! real SMTP server (Python's aiosmtpd) on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use inkan_mail::*;
use mail_parser::MimeHeaders;

/// 2025-08-21 23:59:00 JST, the deadline the seeds show.
const DEADLINE: i64 = 1_755_788_340;
const SIGNER_URL: &str = "https://inkan.example.jp/sign/7f3a9c?t=abc&x=1";

fn request() -> SignatureRequest {
    SignatureRequest {
        organization: "南九州市".into(),
        sender_name: "契約検査課".into(),
        recipient_name: "鈴木 太郎".into(),
        envelope_title: "電子契約サービス委託".into(),
        message: Some("ご確認のほど\nよろしくお願いいたします。".into()),
        documents: vec![
            "機密保持契約書".into(),
            "業務委託契約書".into(),
            "送付状".into(),
        ],
        deadline: DEADLINE,
        signer_url: SIGNER_URL.into(),
        number: "R7-契約-0042".into(),
        counterparty: Some("株式会社南九州システム".into()),
    }
}

fn completed() -> Completed {
    Completed {
        organization: "南九州市".into(),
        recipient_name: "鈴木 太郎".into(),
        envelope_title: "5050000111 電子契約サービス委託".into(),
        documents: vec!["電子契約サービス委託".into()],
        sender_name: "契約検査課".into(),
        download_url: "https://inkan.example.jp/download/9b1d".into(),
        download_expires_at: DEADLINE + DOWNLOAD_VALIDITY_DAYS * 86_400,
        number: "R7-契約-0042".into(),
        counterparty: Some("株式会社南九州システム".into()),
    }
}

fn every_template() -> Vec<Template> {
    vec![
        Template::SignatureRequest(request()),
        Template::Reminder(request()),
        Template::ApprovalRequest(ApprovalRequest {
            organization: "南九州市".into(),
            requester_name: "山田 花子".into(),
            approver_name: "佐藤 課長".into(),
            envelope_title: "電子契約サービス委託".into(),
            message: None,
            documents: vec!["業務委託契約書".into()],
            deadline: DEADLINE,
            approval_url: "https://inkan.example.jp/approve/42".into(),
        }),
        Template::Completed(completed()),
        Template::Declined(Declined {
            organization: "南九州市".into(),
            recipient_name: "山田 花子".into(),
            envelope_title: "電子契約サービス委託".into(),
            declined_by_name: "鈴木 太郎".into(),
            declined_by_email: "taro@example.co.jp".into(),
            reason: "金額に誤りがあります".into(),
            declined_at: DEADLINE - 3600,
            envelope_url: Some("https://inkan.example.jp/envelopes/42".into()),
        }),
        Template::Cancelled(Cancelled {
            organization: "南九州市".into(),
            recipient_name: "鈴木 太郎".into(),
            envelope_title: "電子契約サービス委託".into(),
            reason: "契約内容の変更のため".into(),
            cancelled_at: DEADLINE - 7200,
        }),
        Template::Expired(Expired {
            organization: "南九州市".into(),
            recipient_name: "山田 花子".into(),
            envelope_title: "電子契約サービス委託".into(),
            deadline: DEADLINE,
            envelope_url: None,
        }),
        Template::AccountCode(AccountCode {
            code: "042917".into(),
            valid_minutes: 15,
            account_url: "https://inkan.example.jp/my/login".into(),
        }),
        Template::AccountLocked(AccountLocked {
            until: DEADLINE,
            failures: 10,
            account_url: "https://inkan.example.jp/my/login".into(),
        }),
        Template::ArchiveRenewalFailing(ArchiveRenewalFailing {
            organization: "南九州市".into(),
            recipient_name: "山田 花子".into(),
            envelope_title: "電子契約サービス委託".into(),
            number: "R7-契約-0042".into(),
            proof_ends_at: DEADLINE,
            reason: "timestamp: no TSA answered".into(),
            envelope_url: "https://inkan.example.jp/app/envelopes/42".into(),
        }),
        Template::StaffInvitation(StaffInvitation {
            organization: "南九州市".into(),
            invited_by: "契約 花子".into(),
            role_ja: "送信者".into(),
            role_en: "Sender".into(),
            invitation_url: "https://inkan.example.jp/invite/abc".into(),
            expires_at: DEADLINE,
        }),
        Template::SignerLinkLocked(SignerLinkLocked {
            organization: "南九州市".into(),
            recipient_name: "契約 花子".into(),
            envelope_title: "電子契約サービス委託".into(),
            number: "R7-契約-0042".into(),
            signer_name: "鈴木 太郎".into(),
            signer_email: "taro@example.co.jp".into(),
            method_ja: "アクセスコード".into(),
            method_en: "access code".into(),
            locked_at: DEADLINE,
            envelope_url: "https://inkan.example.jp/app/envelopes/42".into(),
        }),
    ]
}

/// The words each mail must carry, in subject + text and in the HTML.
fn required(template: &Template, lang: Lang) -> Vec<&'static str> {
    use Lang::{En, Ja};
    match (template, lang) {
        (Template::SignatureRequest(_), Ja) => vec![
            "署名依頼",
            "契約検査課",
            "よろしくお願いいたします",
            "機密保持契約書",
            "業務委託契約書",
            "送付状",
            "署名期限",
            "2025年8月21日(木) 23:59:00",
            "文書を確認する",
            // What the clerk files it under: the 管理番号 and the company.
            "管理番号",
            "R7-契約-0042",
            "取引先",
            "株式会社南九州システム",
        ],
        (Template::SignatureRequest(_), En) => vec![
            "Reference number",
            "R7-契約-0042",
            "please review and sign",
            "Sender",
            "Documents",
            "機密保持契約書",
            "Signing deadline",
            "2025-08-21 23:59:00 JST",
            "Review the documents",
        ],
        (Template::Reminder(_), Ja) => vec![
            "リマインド",
            "署名依頼",
            "2025年8月21日(木) 23:59:00",
            "文書を確認する",
        ],
        (Template::Reminder(_), En) => vec![
            "Reminder",
            "2025-08-21 23:59:00 JST",
            "Review the documents",
        ],
        (Template::ApprovalRequest(_), Ja) => {
            vec!["承認依頼", "山田 花子", "業務委託契約書", "承認"]
        }
        (Template::ApprovalRequest(_), En) => {
            vec!["approval requested", "山田 花子", "Review and approve"]
        }
        (Template::Completed(_), Ja) => vec![
            "電子署名完了のお知らせ",
            "すべての手続きが完了しました",
            "封筒",
            "5050000111 電子契約サービス委託",
            "文書",
            "送り主",
            "契約検査課",
            "ダウンロード",
            "ダウンロード有効期間",
            "14日間（",
            // 14 days after 2025-08-21 23:59:00 JST.
            "2025年9月4日(木) 23:59:00",
            // Past the 14 days: the signer's own library.
            "文書管理",
            "管理番号",
            "R7-契約-0042",
            "株式会社南九州システム",
        ],
        (Template::Completed(_), En) => vec![
            "Signing completed",
            "Envelope",
            "Documents",
            "Sender",
            "Download",
            "2025-09-04 23:59:00 JST",
        ],
        (Template::Declined(_), Ja) => vec![
            "辞退",
            "鈴木 太郎",
            "taro@example.co.jp",
            "金額に誤りがあります",
            "辞退理由",
        ],
        (Template::Declined(_), En) => {
            vec!["declined", "鈴木 太郎", "金額に誤りがあります", "Reason"]
        }
        (Template::Cancelled(_), Ja) => {
            vec!["取り消されました", "取消理由", "契約内容の変更のため"]
        }
        (Template::Cancelled(_), En) => vec!["cancelled", "Reason", "契約内容の変更のため"],
        (Template::Expired(_), Ja) => vec![
            "期限切れ",
            "署名期限が切れました",
            "2025年8月21日(木) 23:59:00",
        ],
        (Template::Expired(_), En) => vec!["expired", "deadline passed", "2025-08-21 23:59:00 JST"],
        (Template::ArchiveRenewalFailing(_), Ja) => vec![
            "【要対応】",
            "アーカイブタイムスタンプを更新できません",
            "R7-契約-0042",
            "更新期限",
            "2025年8月21日(木) 23:59:00",
            "no TSA answered",
            "inkan pki status",
        ],
        (Template::ArchiveRenewalFailing(_), En) => vec![
            "Action needed",
            "cannot be renewed",
            "Renew before",
            "2025-08-21 23:59:00 JST",
            "no TSA answered",
        ],
        (Template::AccountCode(_), Ja) => vec!["確認コード", "042917", "15分間", "文書管理"],
        (Template::AccountCode(_), En) => vec!["confirmation code", "042917", "15 minutes"],
        (Template::AccountLocked(_), Ja) => {
            vec![
                "一時的に停止",
                "10 回",
                "2025年8月21日(木) 23:59:00",
                "再開日時",
            ]
        }
        (Template::AccountLocked(_), En) => vec!["paused", "10 times", "2025-08-21 23:59:00 JST"],
        (Template::StaffInvitation(_), Ja) => vec![
            "南九州市",
            "契約 花子",
            "送信者",
            "パスワードを設定",
            "2025年8月21日(木) 23:59:00",
            "https://inkan.example.jp/invite/abc",
        ],
        (Template::StaffInvitation(_), En) => vec![
            "invited",
            "Sender",
            "Set your password",
            "2025-08-21 23:59:00 JST",
            "https://inkan.example.jp/invite/abc",
        ],
        (Template::SignerLinkLocked(_), Ja) => vec![
            "要対応",
            "ロックされました",
            "鈴木 太郎",
            "taro@example.co.jp",
            "アクセスコード",
            "5回",
            "新しい署名用リンク",
            "2025年8月21日(木) 23:59:00",
            "封筒を確認する",
        ],
        (Template::SignerLinkLocked(_), En) => vec![
            "Action needed",
            "locked",
            "access code",
            "fresh signing link",
            "2025-08-21 23:59:00 JST",
        ],
    }
}

#[test]
fn every_template_renders_its_words_in_both_languages() {
    for template in every_template() {
        for lang in [Lang::Ja, Lang::En] {
            let r = render(&template, lang);
            let plain = format!("{}\n{}", r.subject, r.text);
            for word in required(&template, lang) {
                assert!(
                    plain.contains(word),
                    "{lang:?} {word:?} missing from:\n{plain}"
                );
                assert!(
                    r.html.contains(word),
                    "{lang:?} {word:?} missing from HTML:\n{}",
                    r.html
                );
            }
            assert!(!r.subject.contains('\n'));
            assert!(r.html.starts_with("<!DOCTYPE html>"));
            let tag = if lang == Lang::Ja {
                "lang=\"ja\""
            } else {
                "lang=\"en\""
            };
            assert!(r.html.contains(tag));
            // Japanese mails do not fall back to English labels, nor the reverse.
            match lang {
                Lang::Ja => assert!(!plain.contains("Dear") && !plain.contains("JST")),
                Lang::En => assert!(!plain.contains(" 様\n") && !plain.contains("年8月")),
            }
        }
    }
}

#[test]
fn signature_request_subject_and_button_are_exact() {
    let r = render(&Template::SignatureRequest(request()), Lang::Ja);
    assert_eq!(
        r.subject,
        "【南九州市】 様より電子契約サービス委託への署名依頼が届いています"
    );
    assert!(r.text.starts_with("鈴木 太郎 様\n"));
    assert!(r
        .text
        .contains(&format!("文書を確認する：\n{SIGNER_URL}\n")));
    // The button: the escaped URL in href, the label as link text.
    let href = SIGNER_URL.replace('&', "&amp;");
    assert!(r.html.contains(&format!("href=\"{href}\"")), "{}", r.html);
    assert!(r.html.contains(">文書を確認する</a>"));

    let en = render(&Template::SignatureRequest(request()), Lang::En);
    assert_eq!(
        en.subject,
        "[南九州市] 電子契約サービス委託 — please review and sign"
    );
    assert!(en.text.starts_with("Dear 鈴木 太郎,\n"));
    assert!(en
        .text
        .contains(&format!("Review the documents:\n{SIGNER_URL}\n")));
    assert!(en.text.contains("Sender: 契約検査課 (南九州市)\n"));
    assert!(en.text.contains("Documents:\n- 機密保持契約書\n"));
}

#[test]
fn the_default_language_is_japanese() {
    assert_eq!(Lang::default(), Lang::Ja);
    assert_eq!(serde_json::to_string(&Lang::En).unwrap(), "\"en\"");
    assert_eq!(serde_json::from_str::<Lang>("\"ja\"").unwrap(), Lang::Ja);
}

#[test]
fn templates_survive_a_job_queue() {
    for template in every_template() {
        let json = serde_json::to_string(&template).unwrap();
        let back: Template = serde_json::from_str(&json).unwrap();
        assert_eq!(back, template);
    }
    let json = serde_json::to_value(Template::Completed(completed())).unwrap();
    assert_eq!(json["kind"], "completed");
}

#[test]
fn user_text_is_escaped_in_html() {
    let mut r = request();
    r.organization = "A&B <市>".into();
    r.envelope_title = "<script>alert(\"x\")</script>".into();
    r.sender_name = "<img src=x onerror=alert(1)>".into();
    r.message = Some("<b>bold</b>\n'quoted'".into());
    r.documents = vec!["<i>doc</i>.pdf".into()];
    r.recipient_name = "<u>name</u>".into();
    r.signer_url = "https://x.example/\"><script>".into();
    for lang in [Lang::Ja, Lang::En] {
        let out = render(&Template::SignatureRequest(r.clone()), lang);
        assert!(!out.html.contains("<script"), "{}", out.html);
        assert!(!out.html.contains("<img"));
        assert!(!out.html.contains("<b>"));
        assert!(!out.html.contains("<i>"));
        assert!(!out.html.contains("<u>"));
        assert!(out
            .html
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(out.html.contains("A&amp;B &lt;市&gt;"));
        assert!(out
            .html
            .contains("&lt;b&gt;bold&lt;/b&gt;<br>\n&#39;quoted&#39;"));
        assert!(out
            .html
            .contains("href=\"https://x.example/&quot;&gt;&lt;script&gt;\""));
        // The plain text carries the text as written.
        assert!(out.text.contains("<script>alert(\"x\")</script>"));
    }
    // Every template escapes, not only the signature request.
    let declined = Template::Declined(Declined {
        organization: "市".into(),
        recipient_name: "x".into(),
        envelope_title: "t".into(),
        declined_by_name: "<script>".into(),
        declined_by_email: "a@b.jp".into(),
        reason: "<script>reason".into(),
        declined_at: 0,
        envelope_url: None,
    });
    for lang in [Lang::Ja, Lang::En] {
        assert!(!render(&declined, lang).html.contains("<script"));
    }
}

#[test]
fn line_breaks_in_user_text_do_not_break_the_subject() {
    let mut r = request();
    r.envelope_title = "契約\r\nBcc: evil@example.com".into();
    let out = render(&Template::SignatureRequest(r), Lang::Ja);
    assert!(!out.subject.contains('\n') && !out.subject.contains('\r'));
    let mail = outgoing("k1", out);
    let bytes = String::from_utf8(mail.to_bytes().unwrap()).unwrap();
    let headers = bytes.split("\r\n\r\n").next().unwrap();
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    let message = parse(bytes.as_bytes());
    assert!(message.bcc().is_none());
    assert_eq!(
        message.subject().unwrap(),
        "【南九州市】 様より契約 Bcc: evil@example.comへの署名依頼が届いています"
    );
}

fn outgoing(key: &str, rendered: Rendered) -> OutgoingMail {
    OutgoingMail {
        to: vec![Address::new("鈴木 太郎", "taro@example.co.jp")],
        from: Address::new("南九州市 電子契約", "noreply@inkan.example.jp"),
        reply_to: Some(Address::new("契約検査課", "keiyaku@city.example.jp")),
        rendered,
        idempotency_key: key.into(),
        attachments: Vec::new(),
    }
}

fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(bytes)
        .expect("a parseable RFC 5322 message")
}

const SUBJECT_JA: &str = "【南九州市】 様より電子契約サービス委託への署名依頼が届いています";

fn check_signature_request_message(bytes: &[u8], key: &str) {
    let message = parse(bytes);
    assert_eq!(message.subject(), Some(SUBJECT_JA));
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("taro@example.co.jp"));
    assert_eq!(to.name(), Some("鈴木 太郎"));
    assert_eq!(
        message.from().unwrap().first().unwrap().address(),
        Some("noreply@inkan.example.jp")
    );
    assert_eq!(
        message.reply_to().unwrap().first().unwrap().address(),
        Some("keiyaku@city.example.jp")
    );
    let text = message.body_text(0).unwrap();
    assert!(text.contains(SIGNER_URL), "{text}");
    assert!(text.contains("2025年8月21日(木) 23:59:00"));
    let html = message.body_html(0).unwrap();
    assert!(html.contains(">文書を確認する</a>"));
    let expected_id = outgoing(
        key,
        render(&Template::SignatureRequest(request()), Lang::Ja),
    )
    .message_id();
    assert_eq!(format!("<{}>", message.message_id().unwrap()), expected_id);
}

#[test]
fn the_message_is_multipart_alternative_with_an_encoded_subject() {
    let mail = outgoing(
        "sign:env-1:rcpt-1",
        render(&Template::SignatureRequest(request()), Lang::Ja),
    );
    let bytes = mail.to_bytes().unwrap();
    let raw = String::from_utf8(bytes.clone()).unwrap();
    // Headers are ASCII: the Japanese subject travels RFC 2047-encoded.
    let headers = raw.split("\r\n\r\n").next().unwrap();
    assert!(headers.is_ascii(), "{headers}");
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("text/plain; charset=utf-8"));
    assert!(raw.contains("text/html; charset=utf-8"));
    assert_eq!(
        mail.message_id(),
        "<sign=3Aenv-1=3Arcpt-1@inkan.example.jp>"
    );
    check_signature_request_message(&bytes, "sign:env-1:rcpt-1");
}

#[test]
fn an_attached_certificate_travels_whole_with_its_japanese_name() {
    let mut mail = outgoing(
        "completed:env-1:rcpt-1",
        render(&Template::Completed(completed()), Lang::Ja),
    );
    let pdf = b"%PDF-1.7\n\x00\xff binary \r\n body".to_vec();
    mail.attachments.push(MailAttachment {
        filename: "電子契約締結証明書_0123.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: pdf.clone(),
    });
    let bytes = mail.to_bytes().unwrap();
    let raw = String::from_utf8(bytes.clone()).unwrap();
    assert!(raw.contains("multipart/mixed"));
    assert!(raw.contains("multipart/alternative"));
    let message = parse(&bytes);
    assert_eq!(message.attachment_count(), 1);
    let attachment = message.attachment(0).unwrap();
    assert_eq!(
        attachment.attachment_name(),
        Some("電子契約締結証明書_0123.pdf")
    );
    assert_eq!(attachment.contents(), &pdf[..]);
    // The text parts are still there.
    assert!(message.subject().unwrap().contains("電子署名完了"));
    assert!(!message.body_text(0).unwrap().is_empty());

    mail.attachments[0].content_type = "not a type".into();
    assert!(mail.to_bytes().is_err());
}

#[test]
fn a_retried_mail_keeps_its_message_id() {
    let rendered = render(&Template::SignatureRequest(request()), Lang::Ja);
    let a = outgoing("same-key", rendered.clone()).to_bytes().unwrap();
    let b = outgoing("same-key", rendered.clone()).to_bytes().unwrap();
    let c = outgoing("other-key", rendered).to_bytes().unwrap();
    let id = |bytes: &[u8]| parse(bytes).message_id().unwrap().to_string();
    assert_eq!(id(&a), id(&b));
    assert_ne!(id(&a), id(&c));
}

#[test]
fn bad_addresses_are_permanent_errors() {
    let mut mail = outgoing(
        "k",
        render(&Template::SignatureRequest(request()), Lang::Ja),
    );
    mail.to = vec![Address::new("x", "not an address")];
    let err = mail.to_message().unwrap_err();
    assert!(err.is_permanent(), "{err}");
    mail.to.clear();
    assert!(mail.to_message().unwrap_err().is_permanent());
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn eml_dir_writes_parseable_files_and_a_retry_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let mailer = EmlDirMailer::new(&outbox).unwrap();
    let mail = outgoing(
        "sign:env-1:rcpt-1",
        render(&Template::SignatureRequest(request()), Lang::Ja),
    );
    mailer.send(&mail).await.unwrap();
    let files = eml_files(&outbox);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.ends_with("-sign=3Aenv-1=3Arcpt-1.eml"), "{name}");
    check_signature_request_message(&std::fs::read(&files[0]).unwrap(), "sign:env-1:rcpt-1");

    // The retry lands on the same file (even a second later), and no temporary file is left.
    mailer.send(&mail).await.unwrap();
    assert_eq!(eml_files(&outbox), files);
    assert_eq!(
        mailer.existing("sign:env-1:rcpt-1").unwrap(),
        Some(files[0].clone())
    );

    // A key that merely ends like the first one is another mail.
    let other = outgoing("x-sign:env-1:rcpt-1", mail.rendered.clone());
    mailer.send(&other).await.unwrap();
    let en = outgoing(
        "completed:env-1",
        render(&Template::Completed(completed()), Lang::En),
    );
    mailer.send(&en).await.unwrap();
    let files = eml_files(&outbox);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
}

#[tokio::test]
async fn eml_dir_from_config() {
    let dir = tempfile::tempdir().unwrap();
    let config: MailConfig = serde_json::from_value(serde_json::json!({
        "transport": "eml_dir",
        "dir": dir.path().join("mail"),
    }))
    .unwrap();
    let mailer = config.build().unwrap();
    let mail = outgoing("k", render(&Template::Completed(completed()), Lang::Ja));
    mailer.send(&mail).await.unwrap();
    let files = eml_files(&dir.path().join("mail"));
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(&files[0]).unwrap();
    assert_eq!(
        parse(&bytes).subject(),
        Some("電子署名完了のお知らせ（5050000111 電子契約サービス委託）")
    );
}

#[test]
fn smtp_config_reads_like_the_service_writes_it() {
    let config: MailConfig = serde_json::from_value(serde_json::json!({
        "transport": "smtp",
        "host": "smtp.example.jp",
        "username": "inkan",
        "password": "s3cret",
    }))
    .unwrap();
    let MailConfig::Smtp(smtp) = &config else {
        panic!("{config:?}")
    };
    assert_eq!(smtp.tls, TlsMode::Starttls);
    assert_eq!(smtp.port, None);
    assert_eq!(smtp.timeout_secs, 30);
    assert!(!format!("{config:?}").contains("s3cret"));
    // A typo is an error, not a silently ignored setting.
    assert!(serde_json::from_value::<MailConfig>(serde_json::json!({
        "transport": "smtp", "host": "h", "usrname": "x"
    }))
    .is_err());
    // A username without a password is refused when the mailer is built.
    let half = SmtpConfig {
        password: None,
        ..smtp.clone()
    };
    assert!(matches!(SmtpMailer::new(&half), Err(MailError::Config(_))));
}

#[tokio::test]
async fn memory_mailer_records_and_fails_on_request() {
    let mailer = MemoryMailer::new();
    let mail = outgoing("k", render(&Template::Reminder(request()), Lang::Ja));
    mailer.fail_next(false);
    mailer.fail_next(true);
    assert!(!mailer.send(&mail).await.unwrap_err().is_permanent());
    assert!(mailer.send(&mail).await.unwrap_err().is_permanent());
    mailer.send(&mail).await.unwrap();
    mailer.send(&mail).await.unwrap();
    assert_eq!(mailer.all().len(), 2);
    assert_eq!(mailer.take(), vec![mail.clone(), mail]);
    assert!(mailer.all().is_empty());
}

// ---- A real SMTP server: aiosmtpd ------------------------------------------------------------

/// aiosmtpd running `tests/smtp_sink.py`; killed on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python that has aiosmtpd: the CI venv (`INKAN_PYHANKO_VENV`). Missing: skip, or fail
/// under CI.
fn aiosmtpd_python() -> Option<PathBuf> {
    let venv = inkan_testkit::pyhanko_venv();
    let python = venv.join("bin/python");
    let has_aiosmtpd = python.exists()
        && Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if has_aiosmtpd {
        return Some(python);
    }
    inkan_testkit::skip_or_fail(&format!(
        "aiosmtpd is not installed in {} (bash .ci/run installs it: pip install aiosmtpd)",
        venv.display()
    ));
    None
}

fn start_sink(args: &[&str]) -> Option<SmtpSink> {
    let python = aiosmtpd_python()?;
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("smtp_sink.py did not print its port: {line:?}"));
    // Keep stdin open: the sink exits when it closes.
    child.stdin.as_mut().unwrap().flush().unwrap();
    Some(SmtpSink { child, port, dir })
}

#[tokio::test]
async fn a_mail_arrives_through_a_real_smtp_server() {
    let Some(sink) = start_sink(&[]) else { return };
    let mailer = SmtpMailer::new(&SmtpConfig::plain("127.0.0.1", sink.port)).unwrap();
    let mut mail = outgoing(
        "sign:env-1:rcpt-1",
        render(&Template::SignatureRequest(request()), Lang::Ja),
    );
    mail.to.push(Address::new("", "jimu@example.co.jp"));
    mailer.send(&mail).await.unwrap();

    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sink.dir.path().join("1.json")).unwrap()).unwrap();
    assert_eq!(envelope["mail_from"], "noreply@inkan.example.jp");
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["taro@example.co.jp", "jimu@example.co.jp"])
    );
    let raw = std::fs::read(sink.dir.path().join("1.eml")).unwrap();
    check_signature_request_message(&raw, "sign:env-1:rcpt-1");

    // English, through the same server.
    let en = outgoing(
        "completed:env-1",
        render(&Template::Completed(completed()), Lang::En),
    );
    mailer.send(&en).await.unwrap();
    let raw = std::fs::read(sink.dir.path().join("2.eml")).unwrap();
    let message = parse(&raw);
    assert_eq!(
        message.subject(),
        Some("Signing completed: 5050000111 電子契約サービス委託")
    );
    assert!(message
        .body_text(0)
        .unwrap()
        .contains("https://inkan.example.jp/download/9b1d"));
}

#[tokio::test]
async fn a_5xx_rejection_is_permanent_and_a_4xx_is_not() {
    let Some(sink) = start_sink(&[
        "--reject",
        "gone@example.co.jp",
        "--defer",
        "busy@example.co.jp",
    ]) else {
        return;
    };
    let mailer = SmtpMailer::new(&SmtpConfig::plain("127.0.0.1", sink.port)).unwrap();
    let mut mail = outgoing(
        "k",
        render(&Template::SignatureRequest(request()), Lang::Ja),
    );

    mail.to = vec![Address::new("", "gone@example.co.jp")];
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert_eq!(err.smtp_code(), Some("550"), "{err}");

    mail.to = vec![Address::new("", "busy@example.co.jp")];
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(!err.is_permanent(), "{err:?}");
    assert_eq!(err.smtp_code(), Some("451"), "{err}");

    // Nothing was delivered.
    assert!(!sink.dir.path().join("1.eml").exists());
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    // A port that was free a moment ago: connecting is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::new(&SmtpConfig::plain("127.0.0.1", port)).unwrap();
    let mail = outgoing(
        "k",
        render(&Template::SignatureRequest(request()), Lang::Ja),
    );
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(err, MailError::Connection(_)), "{err:?}");
    assert!(!err.is_permanent());
    assert_eq!(err.smtp_code(), None);
}
