//! The web pages in a real headless Chromium (Debian's chromium and chromium-driver, through
//! WebDriver): the whole signer flow, a decline, the completion page, and the staff flow, each
//! asserting on what the page shows and saving a screenshot of every step under
//! target/ui-screenshots/. Without Chromium the tests print SKIPPED (and fail under CI=true).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use inkan_testkit::browser::Browser;
use serde_json::{json, Value};
use std::time::Duration;

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";

/// 製品管理システム開発発注: 機密保持契約書 (two pages, a placed 署名日 and 住所), 業務委託契約書
/// (a required attachment and a checkbox), 送付状; the vendor signs first, the city last.
async fn seeds_envelope(app: &TestApp, key: &str) -> String {
    let pdf2 = b64(&inkan_testkit::validators::sample_pdf(2));
    let pdf1 = b64(&inkan_testkit::validators::sample_pdf(1));
    let input = json!({
        "number": "R8-契約-0042",
        "title": "製品管理システム開発発注",
        "message": "契約書類をお送りします。ご確認のうえ署名をお願いします。",
        "deadline": now() + 7 * 86_400,
        "recipients": [
            { "key": "vendor", "name": "山田太郎", "email": VENDOR, "role": "signer", "order": 1 },
            { "key": "city", "name": "契約花子", "email": ADMIN, "role": "signer", "order": 2 }
        ],
        "documents": [
            { "name": "機密保持契約書.pdf", "content_base64": pdf2, "fields": [
                { "recipient": "vendor", "kind": "date", "label": "署名日", "required": true,
                  "placement": { "page": 1, "x": 72, "y": 120, "width": 160, "height": 22 } },
                { "recipient": "vendor", "kind": "text", "label": "住所", "required": true,
                  "placement": { "page": 2, "x": 72, "y": 600, "width": 240, "height": 22 } }
            ]},
            { "name": "業務委託契約書.pdf", "content_base64": pdf1, "fields": [
                { "recipient": "vendor", "kind": "attachment", "label": "保証証書", "required": true },
                { "recipient": "vendor", "kind": "checkbox", "label": "約款に同意する", "required": true,
                  "placement": { "page": 1, "x": 72, "y": 300, "width": 18, "height": 18 } }
            ]},
            { "name": "送付状.pdf", "content_base64": pdf1 }
        ]
    });
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(key)
        .json(&input)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let r = app
        .post(&format!("/api/v1/envelopes/{id}/send"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.drain().await;
    id
}

async fn js(browser: &Browser, script: &str) -> Value {
    browser.client().execute(script, vec![]).await.unwrap()
}

async fn envelope(app: &TestApp, key: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_vendor_signs_in_the_browser_as_the_seeds_show() {
    let Some(browser) = Browser::start("signer-flow").await else {
        return;
    };
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let id = seeds_envelope(&app, &key).await;
    let token = app.link_token(VENDOR, "s");

    // The request summary.
    browser.goto(&format!("{}/s/{token}", app.url)).await;
    browser.wait_for_text("h1", "署名依頼が届いています").await;
    let summary = browser.body_text().await;
    assert!(summary.contains("製品管理システム開発発注"), "{summary}");
    assert!(summary.contains("送信者\n盛岡市"), "{summary}");
    for doc in ["機密保持契約書.pdf", "業務委託契約書.pdf", "送付状.pdf"] {
        assert!(summary.contains(doc), "{summary}");
    }
    let deadline = browser.text(".deadline").await;
    assert!(
        regex_like_deadline(&deadline),
        "deadline {deadline:?} is not like 2025年8月21日(木) 23:59:00"
    );
    browser.screenshot("summary").await;
    browser.click("#start").await;

    // The usage guide, with 「次回以降表示しない」.
    browser.wait_for_text("#guide", "使い方ガイド").await;
    browser.screenshot("guide").await;
    browser.click("#guide-hide").await;
    browser.click("#guide-close").await;
    assert_eq!(
        js(&browser, "return document.querySelector('#guide').open").await,
        json!(false)
    );
    // 次回以降表示しない: the next visit goes straight to the documents.
    browser.goto(&format!("{}/s/{token}/sign", app.url)).await;
    browser.wait_for_text("#docpos", "文書 1").await;
    assert_eq!(
        js(&browser, "return document.querySelector('#guide').open").await,
        json!(false)
    );
    // The unsigned document can be downloaded for internal review.
    let href = js(
        &browser,
        "return document.querySelector('#doc-0 a.download').getAttribute('href')",
    )
    .await;
    let unsigned = app.get(href.as_str().unwrap()).send().await.unwrap();
    assert_eq!(unsigned.headers()["content-type"], "application/pdf");
    assert!(unsigned.bytes().await.unwrap().starts_with(b"%PDF-"));

    // The tabs and the position.
    let tabs = browser.text(".tabs").await;
    assert!(tabs.contains("1 機密保持契約書"), "{tabs}");
    assert!(tabs.contains("2 業務委託契約書"), "{tabs}");
    assert!(tabs.contains("3 送付状"), "{tabs}");
    assert_eq!(browser.text("#docpos").await, "文書 1 (1/3)");
    // Pages are images the server rendered.
    let loaded = wait_js(&browser, "const i = document.querySelector('#doc-0 img.pageimg'); return !!i && i.complete && i.naturalWidth > 0").await;
    assert!(loaded, "the first page image did not load");
    let checklist = browser.text("#checklist").await;
    for item in [
        "日付 1",
        "テキスト入力 1",
        "添付ファイル 1",
        "チェックボックス 1",
    ] {
        assert!(checklist.contains(item), "{checklist}");
    }
    // Grouped by document: 機密保持契約書 (署名日, 住所) and 業務委託契約書 (the attachment and the
    // checkbox); the 送付状 has nothing to fill.
    let groups = js(
        &browser,
        "return [...document.querySelectorAll('#checklist .docgroup')].map(g => \
         [g.querySelector('.docname').textContent, g.querySelectorAll('.check-item').length])",
    )
    .await;
    assert_eq!(
        groups,
        json!([["1 機密保持契約書", 2], ["2 業務委託契約書", 2]])
    );
    // The signatures are invisible: no box to click, nothing to tick; 完了する gives them.
    assert!(!checklist.contains("署名 1"), "{checklist}");
    assert_eq!(
        js(
            &browser,
            "return document.querySelectorAll('button.field.sig').length"
        )
        .await,
        json!(0)
    );
    assert!(browser.text("#invisible-note").await.contains("完了する"));
    assert_eq!(browser.text(".required").await, "必須項目: 0/4");
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('#finish').disabled"
        )
        .await,
        json!(true)
    );
    browser.screenshot("document-1").await;

    // Zoom.
    browser.click("#zoom-in").await;
    assert_eq!(browser.text("#zoom-level").await, "125%");
    browser.click("#zoom-out").await;
    assert_eq!(browser.text("#zoom-level").await, "100%");

    // A checklist click jumps to the field (on page 2 of document 1) and focuses it.
    browser
        .client()
        .find(fantoccini::Locator::XPath(
            "//button[contains(@class,'check-item')][contains(., '住所')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let focused = js(
        &browser,
        "return document.activeElement && document.activeElement.placeholder",
    )
    .await;
    assert_eq!(
        focused,
        json!("テキスト入力 1 住所"),
        "the jump did not reach 住所"
    );
    browser
        .fill(
            "input[placeholder='テキスト入力 1 住所']",
            "岩手県盛岡市内丸1-1",
        )
        .await;
    browser
        .fill("input[title='日付 1 署名日']", "2026年11月30日")
        .await;
    // A text box showing today's date in the field's format (和暦), tall enough to read.
    let date_box = js(
        &browser,
        "const i = document.querySelector(\"input[title='日付 1 署名日']\"); \
         return [i.type, i.placeholder, i.getBoundingClientRect().height]",
    )
    .await;
    assert_eq!(date_box[0], "text", "{date_box}");
    assert!(
        date_box[1].as_str().unwrap().starts_with("令和"),
        "{date_box}"
    );
    assert!(date_box[2].as_f64().unwrap() >= 28.0, "{date_box}");

    assert_eq!(browser.text(".required").await, "必須項目: 2/4");

    // Document 2: the attachment, the checkbox, the signature.
    browser.click(".tab[data-doc='1']").await;
    assert_eq!(browser.text("#docpos").await, "文書 2 (2/3)");
    assert_eq!(
        js(&browser, "return document.querySelector('#doc-0').hidden").await,
        json!(true)
    );
    let attachment = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(attachment.path(), inkan_testkit::validators::sample_pdf(1)).unwrap();
    browser
        .upload("#doc-1 .attach-file", attachment.path())
        .await;
    browser.wait_for_text("#doc-1 .attach-status", "✓").await;
    browser.click("#doc-1 label.checkbox").await;
    browser.screenshot("document-2-filled").await;
    // Document 3: nothing to fill.
    browser.click(".tab[data-doc='2']").await;
    assert_eq!(browser.text("#docpos").await, "文書 3 (3/3)");
    assert_eq!(browser.text(".required").await, "必須項目: 4/4");
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('#finish').disabled"
        )
        .await,
        json!(false)
    );

    // 完了する → confirmation → 署名手続きを完了する → done.
    browser.click("#finish").await;
    browser
        .wait_for_text("#confirm-dialog", "署名手続きを完了しますか")
        .await;
    browser.screenshot("confirm").await;
    browser.click("#confirm-complete").await;
    browser
        .wait_for_text("#done-title", "署名手続きが完了しました")
        .await;
    browser.screenshot("done").await;

    // What was recorded: the values, the attachment, the signature.
    let e = envelope(&app, &key, &id).await;
    assert_eq!(e["status"], "partially_signed", "{e}");
    let values: Vec<String> = e["documents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["fields"].as_array().unwrap().clone())
        .filter_map(|f| f["value"].as_str().map(str::to_string))
        .collect();
    // Typed in 西暦, written in the field's format (和暦, the default).
    assert!(
        values.contains(&"令和8年11月30日".to_string()),
        "{values:?}"
    );
    assert!(
        values.contains(&"岩手県盛岡市内丸1-1".to_string()),
        "{values:?}"
    );
    assert!(values.contains(&"true".to_string()), "{values:?}");
    assert_eq!(e["attachments"].as_array().unwrap().len(), 1, "{e}");

    // The used link now says it is done; the guide stays hidden on a second visit.
    browser.goto(&format!("{}/s/{token}", app.url)).await;
    browser.wait_for_text("h1", "署名済みです").await;
    browser.screenshot("link-used").await;

    // The city signs last (API), then the completion page behind the email.
    app.drain().await;
    let city = app.link_token(ADMIN, "s");
    let r = app
        .post(&format!("/api/v1/sign/{city}/complete"))
        .json(&json!({ "values": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.drain().await;
    let completion = app.link_token(VENDOR, "c");
    browser.goto(&format!("{}/c/{completion}", app.url)).await;
    browser
        .wait_for_text("#completed", "全ての手続きが完了しました")
        .await;
    let page = browser.body_text().await;
    assert!(page.contains("文書1：機密保持契約書.pdf"), "{page}");
    assert!(page.contains("署名の進行状況"), "{page}");
    let downloads = js(
        &browser,
        "return document.querySelectorAll('ul.downloads a.download').length",
    )
    .await;
    assert_eq!(downloads, json!(3));
    browser.screenshot("completion").await;
    let href = js(
        &browser,
        "return document.querySelector('ul.downloads a.download').getAttribute('href')",
    )
    .await;
    let pdf = app
        .get(href.as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    browser.close().await;
}

fn regex_like_deadline(text: &str) -> bool {
    // 2025年8月21日(木) 23:59:00
    let Some((date, time)) = text.split_once(' ') else {
        return false;
    };
    let weekday_ok = ["(月)", "(火)", "(水)", "(木)", "(金)", "(土)", "(日)"]
        .iter()
        .any(|w| date.ends_with(w));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let date_ok = date.contains('年') && date.contains('月') && date.contains('日');
    let t: Vec<&str> = time.split(':').collect();
    weekday_ok && date_ok && t.len() == 3 && t.iter().all(|p| digits(p) && p.len() == 2)
}

async fn wait_js(browser: &Browser, script: &str) -> bool {
    for _ in 0..50 {
        if js(browser, script).await == json!(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn a_vendor_declines_with_a_reason_on_a_phone() {
    let Some(browser) = Browser::start_mobile("decline-phone").await else {
        return;
    };
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let id = seeds_envelope(&app, &key).await;
    let token = app.link_token(VENDOR, "s");
    browser.goto(&format!("{}/s/{token}", app.url)).await;
    browser.wait_for_text("h1", "署名依頼が届いています").await;
    // Usable on a phone: nothing wider than the screen.
    let fits = js(
        &browser,
        "return document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    assert_eq!(fits, json!(true), "the summary overflows a phone screen");
    browser.screenshot("summary-phone").await;
    browser.click("#start").await;
    browser.wait_for_text("#guide", "使い方ガイド").await;
    browser.click("#guide-close").await;
    let fits = js(
        &browser,
        "return document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    assert_eq!(
        fits,
        json!(true),
        "the signing page overflows a phone screen"
    );
    browser.screenshot("signing-phone").await;
    // その他 → 辞退, with a reason.
    browser.click("#more").await;
    browser.click("#decline-open").await;
    browser
        .wait_for_text("#decline-dialog", "署名を辞退します")
        .await;
    browser
        .fill("#decline-reason", "契約金額の再確認が必要なため")
        .await;
    browser.screenshot("decline-reason").await;
    browser.click("#decline-submit").await;
    browser.wait_for_text("h1", "署名を辞退しました").await;
    browser.screenshot("declined").await;
    let e = envelope(&app, &key, &id).await;
    assert_eq!(e["status"], "declined");
    assert_eq!(e["status_reason"], "契約金額の再確認が必要なため");
    // The link is dead now, and says why.
    browser.goto(&format!("{}/s/{token}", app.url)).await;
    browser
        .wait_for_text("h1", "この手続きは終了しました")
        .await;
    let ended = browser.body_text().await;
    assert!(ended.contains("辞退されました"), "{ended}");
    // In Japanese only: the English half of the reason is for English readers.
    assert!(!ended.contains("was declined"), "{ended}");
    browser.screenshot("link-ended").await;
    browser.close().await;
}

#[tokio::test]
async fn staff_log_in_upload_place_fields_and_send() {
    let Some(browser) = Browser::start("staff-flow").await else {
        return;
    };
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;

    // Login.
    browser.goto(&format!("{}/app", app.url)).await;
    browser.wait_for_text("h1", "ログイン").await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.screenshot("login").await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    browser.screenshot("dashboard-empty").await;

    // The counterparty registry.
    browser
        .goto(&format!("{}/app/counterparties", app.url))
        .await;
    for (field, value) in [
        ("#address", "岩手県盛岡市内丸1-1"),
        ("#trade_name", "株式会社盛岡清掃"),
        ("#representative", "代表取締役 山田一郎"),
        ("#signatory_title", "代表取締役"),
        ("#signatory_name", "山田太郎"),
        ("#signatory_email", VENDOR),
        ("#clerk_department", "総務部"),
        ("#clerk_name", "佐藤次郎"),
        ("#clerk_phone", "019-000-0000"),
    ] {
        browser.fill(field, value).await;
    }
    browser.click("#register").await;
    browser
        .wait_for_text("#counterparty-list", "株式会社盛岡清掃")
        .await;
    browser.screenshot("counterparties").await;

    // A new envelope: title, recipients, a PDF, fields placed on its page, send.
    browser
        .goto(&format!("{}/app/envelopes/new", app.url))
        .await;
    browser.fill("#title", "庁舎清掃業務委託").await;
    browser.fill("#number", "R8-清掃-0007").await;
    let option = js(
        &browser,
        "const s = document.querySelector('#counterparty'); s.selectedIndex = 1; return s.value",
    )
    .await;
    assert!(option.as_str().is_some_and(|v| !v.is_empty()));
    browser.click("#add-counterparty").await;
    browser.click("#add-me").await;
    // Each recipient is readable: name, email, role and method at the column's full width.
    let widths = js(
        &browser,
        "return ['.r-name', '.r-email', '.r-role', '.r-method'].map(c => \
         document.querySelector('#recipients tbody tr ' + c).getBoundingClientRect().width)",
    )
    .await;
    for w in widths.as_array().unwrap() {
        assert!(w.as_f64().unwrap() >= 250.0, "cramped recipients: {widths}");
    }
    browser.screenshot("recipients").await;
    let folder = tempfile::tempdir().unwrap();
    let pdf = folder.path().join("庁舎清掃業務委託契約書.pdf");
    std::fs::write(&pdf, inkan_testkit::validators::sample_pdf(2)).unwrap();
    browser.upload("#files", &pdf).await;
    // A 納付書 sent along, not signed.
    let slip = folder.path().join("納付書.pdf");
    std::fs::write(&slip, inkan_testkit::validators::sample_pdf(1)).unwrap();
    browser.upload("#attachments", &slip).await;
    let shown = wait_js(&browser, "const i = document.querySelector('.page.drop img'); return !!i && i.complete && i.naturalWidth > 0").await;
    assert!(shown, "the uploaded PDF's pages are not shown");
    assert_eq!(
        js(
            &browser,
            "return document.querySelectorAll('.page.drop').length"
        )
        .await,
        json!(2)
    );
    // Drag 「署名」 onto page 1 (pointer events, as a mouse does).
    let chip = browser
        .client()
        .find(fantoccini::Locator::Css(".chip[data-kind='signature']"))
        .await
        .unwrap();
    let page = browser
        .client()
        .find(fantoccini::Locator::Css(".page.drop[data-page='1'] img"))
        .await
        .unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: chip,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 20.0,
            y: 20.0,
        })
        .then(PointerAction::MoveToElement {
            element: page,
            duration: Some(Duration::from_millis(200)),
            x: 60.0,
            y: 120.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser.client().perform_actions(drag).await.unwrap();
    // Click-to-place a required 「日付」 labelled 署名日, written in 西暦.
    browser.fill("#place-label", "署名日").await;
    js(
        &browser,
        "document.querySelector('#place-date-format').value = 'seireki'; return true",
    )
    .await;
    browser.click(".chip[data-kind='date']").await;
    browser.click(".page.drop[data-page='1'] img").await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelectorAll('.placed').length"
        )
        .await,
        json!(2)
    );
    browser.screenshot("fields-placed").await;
    browser.click("#send-now").await;
    browser.wait_for_text("#envelope-status", "署名待ち").await;
    browser.screenshot("sent").await;

    // What the server holds: the recipients in order, the fields where they were put.
    let list: Value = app
        .get("/api/v1/envelopes")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let e = envelope(&app, &key, &id).await;
    assert_eq!(e["title"], "庁舎清掃業務委託");
    assert_eq!(e["documents"][0]["name"], "庁舎清掃業務委託契約書.pdf");
    assert_eq!(e["attachments"][0]["name"], "納付書.pdf", "{e}");
    assert_eq!(e["status"], "sent");
    let recipients = e["recipients"].as_array().unwrap();
    assert_eq!(recipients[0]["email"], VENDOR);
    assert_eq!(recipients[1]["email"], ADMIN);
    assert!(recipients[0]["order"].as_u64() < recipients[1]["order"].as_u64());
    let fields = e["documents"][0]["fields"].as_array().unwrap();
    let vendor = recipients[0]["id"].as_str().unwrap();
    let text = fields.iter().find(|f| f["kind"] == "date").unwrap();
    assert_eq!(text["label"], "署名日");
    assert_eq!(text["date_format"], "seireki");
    assert_eq!(text["recipient"], vendor);
    assert_eq!(text["placement"]["page"], 1);
    let sig = fields
        .iter()
        .find(|f| f["kind"] == "signature" && f["recipient"] == vendor && !f["placement"].is_null())
        .expect("the dragged signature field");
    let (x, y) = (
        sig["placement"]["x"].as_f64().unwrap(),
        sig["placement"]["y"].as_f64().unwrap(),
    );
    assert!(
        (0.0..595.0).contains(&x) && (0.0..842.0).contains(&y),
        "{sig}"
    );

    // The detail shows progress and the audit trail; 文書管理 finds it.
    let detail = browser.body_text().await;
    assert!(detail.contains("署名の進行状況"), "{detail}");
    assert!(detail.contains("送信"), "{detail}");
    browser
        .goto(&format!("{}/app/documents?counterparty=盛岡清掃", app.url))
        .await;
    browser.wait_for_text("#hit-count", "1").await;
    browser.screenshot("archive").await;
    browser.goto(&format!("{}/app", app.url)).await;
    browser
        .wait_for_text("#envelopes", "庁舎清掃業務委託")
        .await;
    browser.screenshot("dashboard").await;
    browser.close().await;
}

/// Uploads `pdf` on the verification page and waits for the result.
async fn verify_in_browser(
    browser: &Browser,
    app: &TestApp,
    dir: &std::path::Path,
    name: &str,
    pdf: &[u8],
) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    browser.goto(&format!("{}/verify", app.url)).await;
    browser.wait_for_text("h1", "電子署名の検証").await;
    browser.upload("#file", &path).await;
    browser.click("#verify").await;
    browser.wait_for_text("h1", "検証結果").await;
    browser.text("#verdict").await
}

#[tokio::test]
async fn anyone_verifies_a_valid_a_tampered_and_a_foreign_pdf() {
    let Some(browser) = Browser::start("verify-page").await else {
        return;
    };
    let app = TestApp::start().await;
    let key = app.organization("盛岡市", "keiyaku@city.example.jp").await;
    let id = app.concluded(&key, "庁舎清掃業務委託", VENDOR).await;
    let e = envelope(&app, &key, &id).await;
    let conclusion_id = e["conclusion_id"].as_str().unwrap().to_string();
    let doc = e["documents"][0]["id"].as_str().unwrap();
    let signed = app
        .bytes(&key, &format!("/api/v1/envelopes/{id}/documents/{doc}"))
        .await;
    let dir = tempfile::tempdir().unwrap();

    // The concluded PDF: every signature valid, the ID matches, the file is the stored one.
    let verdict = verify_in_browser(&browser, &app, dir.path(), "契約書.pdf", &signed).await;
    assert!(
        verdict.contains("署名済みであり、すべての署名が有効です"),
        "{verdict}"
    );
    browser
        .wait_for_text("#conclusion-match", "締結証明書ID と一致します")
        .await;
    assert_eq!(browser.text("#conclusion-id").await, conclusion_id);
    assert!(browser
        .text("#identical")
        .await
        .contains("業務委託契約書.pdf"));
    let body = browser.body_text().await;
    for shown in [
        "山田太郎",
        "タイムスタンプ",
        "署名後に許可された変更のみ",
        "長期検証 (LTV)",
        "有効 (検証情報が埋め込まれています)",
        "文書タイムスタンプ",
        "信頼できる認証局につながっています",
    ] {
        assert!(body.contains(shown), "the result lacks {shown:?}:\n{body}");
    }
    for english in ["the chain ends", "form filling", "validation data"] {
        assert!(
            !body.contains(english),
            "English on the Japanese page: {english:?}\n{body}"
        );
    }
    browser.screenshot("valid").await;

    // One byte changed inside what the signatures cover: not valid, altered, no longer the file.
    let mut tampered = signed.clone();
    let at = tampered
        .windows(b"Contract page".len())
        .position(|w| w == b"Contract page")
        .unwrap();
    tampered[at] = b'K';
    let verdict = verify_in_browser(&browser, &app, dir.path(), "tampered.pdf", &tampered).await;
    assert!(verdict.contains("無効な署名があります"), "{verdict}");
    let body = browser.body_text().await;
    assert!(body.contains("署名後に文書が改ざんされています"), "{body}");
    assert!(browser
        .text("#not-identical")
        .await
        .contains("一致しません"));
    assert!(browser
        .text("#conclusion-caveat")
        .await
        .contains("署名は有効ではありません"));
    browser.screenshot("tampered").await;

    // A PDF from elsewhere: no signature, no 締結証明書ID.
    let foreign = inkan_testkit::validators::sample_pdf(1);
    let verdict = verify_in_browser(&browser, &app, dir.path(), "foreign.pdf", &foreign).await;
    assert!(verdict.contains("電子署名がありません"), "{verdict}");
    browser
        .wait_for_text("#conclusion-absent", "締結証明書IDが見つかりません")
        .await;
    browser.screenshot("foreign").await;

    // In English too.
    browser
        .goto(&format!("{}/lang?to=en&back=/verify", app.url))
        .await;
    browser.wait_for_text("h1", "Verify a signed PDF").await;
    let verdict = verify_in_browser_en(&browser, dir.path(), &signed).await;
    assert!(verdict.contains("every signature is valid"), "{verdict}");
    browser.screenshot("valid-en").await;
    // Nothing uploaded was kept: the server's scratch folder is empty of uploads.
    let kept = std::fs::read_dir(app.data.path().join("tmp"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("verify-"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(kept, 0);
    browser.close().await;
}

async fn verify_in_browser_en(browser: &Browser, dir: &std::path::Path, pdf: &[u8]) -> String {
    let path = dir.join("contract-en.pdf");
    std::fs::write(&path, pdf).unwrap();
    browser.upload("#file", &path).await;
    browser.click("#verify").await;
    browser.wait_for_text("h1", "Verification result").await;
    browser.text("#verdict").await
}

#[tokio::test]
async fn a_signer_registers_with_a_mailed_code_and_keeps_the_documents_after_14_days() {
    let Some(browser) = Browser::start("signer-library").await else {
        return;
    };
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_with_clock(clock.clone()).await;
    let key = app.organization("盛岡市", "keiyaku@city.example.jp").await;
    let id = app.concluded(&key, "庁舎清掃業務委託", VENDOR).await;
    let completion = app.link_token(VENDOR, "c");
    // The completion page offers the certificate of conclusion.
    browser.goto(&format!("{}/c/{completion}", app.url)).await;
    browser
        .wait_for_text("#completed", "全ての手続きが完了しました")
        .await;
    assert!(browser.body_text().await.contains("電子契約締結証明書"));
    browser.screenshot("completion-with-certificate").await;

    // Past the 14 days the link is gone; the account keeps everything.
    clock.advance(15 * 86_400);
    browser.goto(&format!("{}/c/{completion}", app.url)).await;
    browser.wait_for_text("h1", "Not Found").await;
    browser.goto(&format!("{}/my/login", app.url)).await;
    browser.wait_for_text("h1", "署名者アカウント").await;
    browser.fill("#email", VENDOR).await;
    browser.screenshot("email").await;
    browser.click("#send-code").await;
    browser.wait_for_text("#code-sent", VENDOR).await;
    browser.fill("#code", "000000").await;
    let code = app.mailed_code(VENDOR);
    if code == "000000" {
        browser.fill("#code", "111111").await;
    }
    browser.click("#verify-code").await;
    browser
        .wait_for_text("#account-message", "確認コードが正しくない")
        .await;
    browser.screenshot("wrong-code").await;
    browser.fill("#code", &code).await;
    browser.click("#verify-code").await;
    browser.wait_for_text("h1", "文書管理").await;
    assert_eq!(browser.text("#account-email").await, VENDOR);
    let library = browser.text("#library").await;
    assert!(library.contains("庁舎清掃業務委託"), "{library}");
    assert!(library.contains("業務委託契約書.pdf"), "{library}");
    assert!(library.contains("電子契約締結証明書"), "{library}");
    browser.screenshot("library").await;
    // The links download the concluded PDF and the certificate.
    let hrefs = js(
        &browser,
        "return Array.from(document.querySelectorAll('#library a.download')).map(a => a.getAttribute('href'))",
    )
    .await;
    let hrefs: Vec<String> = serde_json::from_value(hrefs).unwrap();
    assert_eq!(hrefs.len(), 2, "{hrefs:?}");
    let e = envelope(&app, &key, &id).await;
    let doc = e["documents"][0]["id"].as_str().unwrap();
    let stored = app
        .bytes(&key, &format!("/api/v1/envelopes/{id}/documents/{doc}"))
        .await;
    let certificate = app
        .bytes(&key, &format!("/api/v1/envelopes/{id}/certificate"))
        .await;
    let fetched = js(
        &browser,
        &format!(
            "return Promise.all({hrefs:?}.map(h => fetch(h).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)).length)))"
        ),
    )
    .await;
    assert_eq!(fetched, json!([stored.len(), certificate.len()]));
    browser.close().await;
}
