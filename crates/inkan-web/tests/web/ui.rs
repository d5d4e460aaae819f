//! The web pages in a real headless Chromium (Debian's chromium and chromium-driver, through
//! WebDriver): the whole signer flow, a decline, the completion page, and the staff flow, each
//! asserting on what the page shows and saving a screenshot of every step under
//! target/ui-screenshots/. Without Chromium the tests print SKIPPED (and fail under CI=true).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

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
    created_and_sent(app, key, &input).await
}

/// Creates the envelope `input` through the API, sends it and runs the jobs; its ID.
async fn created_and_sent(app: &TestApp, key: &str, input: &Value) -> String {
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(key)
        .json(input)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    app.send_for_link(key, &id, VENDOR).await;
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
    // Each page image has a text alternative: its name, and the page's own text read from the PDF.
    let alternative = js(
        &browser,
        "const i = document.querySelector('#doc-0 img.pageimg');          return [i.alt, document.getElementById(i.getAttribute('aria-describedby')).textContent]",
    )
    .await;
    assert_eq!(alternative[0], "機密保持契約書.pdf 1ページ");
    // The page as the vendor sees it: its text, and the 締結証明書ID line stamped at sending.
    let page_text = alternative[1].as_str().unwrap();
    assert!(
        page_text.starts_with("Contract page 1\n締結証明書ID: "),
        "{page_text:?}"
    );
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
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1",
    )
    .await;
    assert_eq!(fits, json!(true), "the summary overflows a phone screen");
    browser.screenshot("summary-phone").await;
    browser.click("#start").await;
    browser.wait_for_text("#guide", "使い方ガイド").await;
    browser.click("#guide-close").await;
    let fits = js(
        &browser,
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1",
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
    // A new 届出書: 編集 corrects the registration and records its 届出日 (shown in 和暦).
    browser.click("#counterparty-list a.edit").await;
    browser.wait_for_text("h1", "取引先の編集").await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('#trade_name').value"
        )
        .await,
        json!("株式会社盛岡清掃")
    );
    browser.fill("#signatory_title", "代表取締役社長").await;
    js(
        &browser,
        "document.querySelector('#notified_on').value = '2026-12-03'; return true",
    )
    .await;
    browser.screenshot("counterparty-edit").await;
    browser.click("#save").await;
    browser
        .wait_for_text("#counterparty-list", "代表取締役社長 山田太郎")
        .await;
    assert!(browser
        .text("#counterparty-list")
        .await
        .contains("令和8年12月3日"));
    // Searching: nothing for a stranger's name, the vendor for a part of its email.
    browser.fill("#q", "存在しない会社").await;
    browser.click("#search").await;
    browser
        .wait_for_text("#counterparty-empty", "条件に合う取引先はありません")
        .await;
    browser.fill("#q", "SEISOU.example").await;
    browser.click("#search").await;
    browser
        .wait_for_text("#counterparty-list", "株式会社盛岡清掃")
        .await;
    browser.screenshot("counterparty-search").await;

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
    // The upload's progress bar: what it showed last is kept across the page change.
    js(
        &browser,
        "const p = document.querySelector('#upload-percent');          new MutationObserver(() => sessionStorage.setItem('upload-shown', p.textContent))            .observe(p, { childList: true, characterData: true, subtree: true });          return true",
    )
    .await;
    browser.click("#send-now").await;
    browser.wait_for_text("#envelope-status", "署名待ち").await;
    browser.screenshot("sent").await;
    assert_eq!(
        js(&browser, "return sessionStorage.getItem('upload-shown')").await,
        json!("100%"),
        "the progress bar did not reach 100%"
    );

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

/// Every page a signer, a reader or a clerk can reach, checked by axe-core against WCAG 2.2 A/AA
/// (contrast, names and labels, landmarks, target size, …) and for reflow: on a desktop window,
/// on a phone (390×844) and on the narrowest screen WCAG asks for (320 px wide). Dialogs are
/// checked open. Each page is also a screenshot.
#[tokio::test]
async fn every_page_meets_wcag_2_2_aa_on_a_desktop_and_on_phones() {
    for (name, size) in [
        ("wcag-desktop", None),
        ("wcag-390", Some((390, 844))),
        ("wcag-320", Some((320, 640))),
    ] {
        let browser = match size {
            None => Browser::start(name).await,
            Some((w, h)) => Browser::start_mobile_sized(name, w, h).await,
        };
        let Some(browser) = browser else {
            return;
        };
        walk_every_page_checking_accessibility(&browser).await;
        browser.close().await;
    }
}

/// Checks the page shown now and saves its screenshot.
async fn accessible(browser: &Browser, what: &str) {
    browser.screenshot(what).await;
    browser.assert_accessible(what).await;
}

async fn walk_every_page_checking_accessibility(browser: &Browser) {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let url = |path: &str| format!("{}{path}", app.url);

    // The signer: the request, the guide, the documents, each dialog, done, the used link.
    let id = seeds_envelope(&app, &key).await;
    let token = app.link_token(VENDOR, "s");
    browser.goto(&url(&format!("/s/{token}"))).await;
    browser.wait_for_text("h1", "署名依頼が届いています").await;
    accessible(browser, "signer-summary").await;
    browser.click("#start").await;
    browser.wait_for_text("#guide", "使い方ガイド").await;
    accessible(browser, "signer-guide").await;
    browser.click("#guide-close").await;
    wait_js(
        browser,
        "return !!document.querySelector('#doc-0 img.pageimg').complete",
    )
    .await;
    accessible(browser, "signer-documents").await;
    browser.click(".tab[data-doc='1']").await;
    accessible(browser, "signer-document-2").await;
    // The attachment field stays inside its box, whatever the screen.
    let spill = js(
        browser,
        "const f = document.querySelector('#doc-1 .field.attach').getBoundingClientRect();          const box = document.querySelector('#doc-1 .unplaced').getBoundingClientRect();          return f.right - box.right",
    )
    .await;
    assert!(
        spill.as_f64().unwrap() <= 0.5,
        "the attachment field spills over by {spill} px"
    );
    browser.click("#more").await;
    browser.click("#decline-open").await;
    browser
        .wait_for_text("#decline-dialog", "署名を辞退します")
        .await;
    accessible(browser, "signer-decline-dialog").await;
    js(
        browser,
        "document.querySelector('#decline-dialog').close(); return true",
    )
    .await;
    browser.click(".tab[data-doc='0']").await;
    // Fill everything through the API of the page's own form, then the confirmation.
    browser
        .fill(
            "input[placeholder='テキスト入力 1 住所']",
            "岩手県盛岡市内丸1-1",
        )
        .await;
    browser
        .fill("input[title='日付 1 署名日']", "令和8年12月3日")
        .await;
    let attachment = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(attachment.path(), inkan_testkit::validators::sample_pdf(1)).unwrap();
    browser.click(".tab[data-doc='1']").await;
    browser
        .upload("#doc-1 .attach-file", attachment.path())
        .await;
    browser.wait_for_text("#doc-1 .attach-status", "✓").await;
    accessible(browser, "signer-attachment-uploaded").await;
    browser.click("#doc-1 label.checkbox").await;
    // On a phone the checklist, with 完了する, is above the documents: scroll back to it, as a
    // person does (WebDriver would scroll it just under the sticky toolbar).
    js(
        browser,
        "document.querySelector('#finish').scrollIntoView({block: 'center'}); return true",
    )
    .await;
    browser.click("#finish").await;
    browser
        .wait_for_text("#confirm-dialog", "署名手続きを完了しますか")
        .await;
    accessible(browser, "signer-confirm-dialog").await;
    browser.click("#confirm-complete").await;
    browser
        .wait_for_text("#done-title", "署名手続きが完了しました")
        .await;
    accessible(browser, "signer-done").await;
    browser.goto(&url(&format!("/s/{token}"))).await;
    browser.wait_for_text("h1", "署名済みです").await;
    accessible(browser, "signer-link-used").await;

    // The city signs; the vendor's completion page.
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
    browser.goto(&url(&format!("/c/{completion}"))).await;
    browser
        .wait_for_text("#completed", "全ての手続きが完了しました")
        .await;
    accessible(browser, "completion").await;
    browser.goto(&url("/c/no-such-link")).await;
    browser.wait_for_text("h1", "Not Found").await;
    accessible(browser, "not-found").await;

    // A declined envelope's link.
    let declined = seeds_envelope(&app, &key).await;
    let token = app.link_token(VENDOR, "s");
    let r = app
        .post(&format!("/api/v1/sign/{token}/decline"))
        .json(&json!({ "reason": "金額の確認のため" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    browser.goto(&url(&format!("/s/{token}"))).await;
    browser
        .wait_for_text("h1", "この手続きは終了しました")
        .await;
    accessible(browser, "signer-link-ended").await;

    // Anyone: verification, its form and a result.
    let e = envelope(&app, &key, &id).await;
    let doc = e["documents"][0]["id"].as_str().unwrap();
    let signed = app
        .bytes(&key, &format!("/api/v1/envelopes/{id}/documents/{doc}"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    browser.goto(&url("/verify")).await;
    browser.wait_for_text("h1", "電子署名の検証").await;
    accessible(browser, "verify-form").await;
    verify_in_browser(browser, &app, dir.path(), "契約書.pdf", &signed).await;
    accessible(browser, "verify-result").await;

    // The signer's account: the login, the code, the library.
    browser.goto(&url("/my/login")).await;
    browser.wait_for_text("h1", "署名者アカウント").await;
    accessible(browser, "account-login").await;
    browser.fill("#email", VENDOR).await;
    browser.click("#send-code").await;
    browser.wait_for_text("#code-sent", VENDOR).await;
    accessible(browser, "account-code").await;
    browser.fill("#code", &app.mailed_code(VENDOR)).await;
    browser.click("#verify-code").await;
    browser.wait_for_text("h1", "文書管理").await;
    accessible(browser, "account-library").await;

    // Staff: login, dashboard, counterparties, a new envelope, an envelope, 文書管理.
    browser.goto(&url("/app")).await;
    browser.wait_for_text("h1", "ログイン").await;
    accessible(browser, "staff-login").await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    accessible(browser, "staff-dashboard").await;
    let r = app
        .post("/api/v1/counterparties")
        .bearer_auth(&key)
        .json(&counterparty())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    browser.goto(&url("/app/counterparties")).await;
    browser
        .wait_for_text("#counterparty-list", "株式会社盛岡清掃")
        .await;
    accessible(browser, "staff-counterparties").await;
    browser.click("#counterparty-list a.edit").await;
    browser.wait_for_text("h1", "取引先の編集").await;
    accessible(browser, "staff-counterparty-edit").await;
    browser.goto(&url("/app/envelopes/new")).await;
    browser.wait_for_text("h1", "新しい封筒").await;
    accessible(browser, "staff-compose").await;
    let pdf = dir.path().join("業務委託契約書.pdf");
    std::fs::write(&pdf, inkan_testkit::validators::sample_pdf(1)).unwrap();
    browser.upload("#files", &pdf).await;
    wait_js(browser, "const i = document.querySelector('.page.drop img'); return !!i && i.complete && i.naturalWidth > 0").await;
    accessible(browser, "staff-compose-with-pages").await;
    // One still out for signature: its page has the remind, new-link and cancel controls.
    let waiting = seeds_envelope(&app, &key).await;
    for (page, envelope_id) in [
        ("staff-envelope-concluded", &id),
        ("staff-envelope-declined", &declined),
        ("staff-envelope-waiting", &waiting),
    ] {
        browser
            .goto(&url(&format!("/app/envelopes/{envelope_id}")))
            .await;
        browser
            .wait_for_text("h1", "製品管理システム開発発注")
            .await;
        accessible(browser, page).await;
    }
    browser.goto(&url("/app/documents")).await;
    browser.wait_for_text("h1", "文書管理").await;
    accessible(browser, "staff-archive").await;
    browser.goto(&url("/app/imports")).await;
    browser.wait_for_text("h1", "書面・他社の契約の取込").await;
    accessible(browser, "staff-imports").await;
    // テンプレート: the new-template form, a template, a bulk send's progress.
    browser.goto(&url("/app/templates/new")).await;
    browser.wait_for_text("h1", "新しいテンプレート").await;
    accessible(browser, "staff-template-new").await;
    let template: Value = app
        .post("/api/v1/templates")
        .bearer_auth(&key)
        .json(&json!({
            "name": "物品購入契約", "title": "{{品名}} の購入",
            "roles": [{"key": "vendor", "label": "取引先", "role": "signer"}],
            "documents": [{"name": "契約書.pdf", "content_base64": b64(&common::pdf()),
                "merge_fields": [{"name": "品名", "page": 1, "x": 72, "y": 700}]}],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let template_id = template["id"].as_str().unwrap();
    browser
        .goto(&url(&format!("/app/templates/{template_id}")))
        .await;
    browser.wait_for_text("h1", "物品購入契約").await;
    accessible(browser, "staff-template").await;
    let batch: Value = app
        .post(&format!("/api/v1/templates/{template_id}/bulk"))
        .bearer_auth(&key)
        .header("content-type", "text/csv")
        .body("取引先:氏名,取引先:メールアドレス,品名\n業者,bulk@vendor.example.jp,事務机\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    browser
        .goto(&url(&format!(
            "/app/bulk/{}",
            batch["id"].as_str().unwrap()
        )))
        .await;
    browser.wait_for_text("h1", "一括送信の進み具合").await;
    accessible(browser, "staff-bulk").await;
    browser.goto(&url("/app/settings/security")).await;
    browser.wait_for_text("h1", "セキュリティ設定").await;
    accessible(browser, "staff-security").await;
    // A refused list, with its message tied to the field.
    browser.fill("#networks", "192.0.2.0/24").await;
    browser.click("#save").await;
    browser
        .wait_for_text("#networks-error", "締め出されます")
        .await;
    accessible(browser, "staff-security-refused").await;
    browser.goto(&url("/app/settings/users")).await;
    browser.wait_for_text("h1", "職員の管理").await;
    accessible(browser, "staff-users").await;
    browser.goto(&url("/app/settings/audit")).await;
    browser.wait_for_text("h1", "操作ログ").await;
    accessible(browser, "staff-activity-log").await;
    browser.goto(&url("/app/account/mfa")).await;
    browser.wait_for_text("h1", "多要素認証").await;
    accessible(browser, "staff-mfa").await;
    browser.goto(&url("/app/account/password")).await;
    browser.wait_for_text("h1", "パスワードの変更").await;
    accessible(browser, "staff-password").await;
    browser.goto(&url("/app/settings/api-keys")).await;
    browser.wait_for_text("h1", "API キー").await;
    accessible(browser, "staff-api-keys").await;
    // Groups and folders, with one of each (a folder granted to the group).
    let group: Value = app
        .post("/api/v1/groups")
        .bearer_auth(&key)
        .json(&json!({ "name": "契約検査課", "members": [] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = app
        .post("/api/v1/folders")
        .bearer_auth(&key)
        .json(&json!({ "name": "令和8年度", "grants": [group["id"]] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    browser.goto(&url("/app/settings/folders")).await;
    browser.wait_for_text("#folder-tree", "令和8年度").await;
    accessible(browser, "staff-folders").await;

    // 本人確認: a link with an access code asks for it first, says what is wrong, then opens.
    let checked = "check@vendor.example.jp";
    let mut input = new_envelope("アクセスコード付きの契約", checked);
    input["recipients"][0]["access_code"] = json!("Kita-2026");
    created_and_sent(&app, &key, &input).await;
    let checked_token = app.link_token(checked, "s");
    browser.goto(&url(&format!("/s/{checked_token}"))).await;
    browser.wait_for_text("h1", "本人確認").await;
    accessible(browser, "signer-check").await;
    browser.fill("#code", "wrong").await;
    browser.click("#check-submit").await;
    browser
        .wait_for_text(".check .error", "アクセスコードが違います")
        .await;
    accessible(browser, "signer-check-wrong").await;
    browser.fill("#code", "Kita-2026").await;
    browser.click("#check-submit").await;
    browser.wait_for_text("h1", "署名依頼が届いています").await;
    browser
        .wait_for_text("h2.title", "アクセスコード付きの契約")
        .await;

    // In English too: the same pages, the other half of every text.
    let token = app.link_token(VENDOR, "s");
    browser
        .goto(&url(&format!("/lang?to=en&back=/s/{token}")))
        .await;
    browser.wait_for_text("h1", "Signature requested").await;
    accessible(browser, "signer-summary-en").await;
    browser.goto(&url("/app")).await;
    browser.wait_for_text("h1", "Dashboard").await;
    accessible(browser, "staff-dashboard-en").await;
}

/// Presses and releases `key` (a character or a [`fantoccini::key::Key`]) on whatever has focus.
async fn press(browser: &Browser, key: impl Into<char>) {
    use fantoccini::actions::{KeyAction, KeyActions};
    let key = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser.client().perform_actions(actions).await.unwrap();
}

/// Presses Tab until the focused element matches `css` (at most 80 times); panics with the path
/// the focus took when it never gets there.
async fn tab_to(browser: &Browser, css: &str) {
    let probe = format!(
        "const a = document.activeElement; return [!!a && a.matches({css:?}), \
         a ? (a.id || a.tagName + '.' + a.className) : '']"
    );
    let mut path = Vec::new();
    for _ in 0..80 {
        let at = js(browser, &probe).await;
        if at[0] == json!(true) {
            return;
        }
        path.push(at[1].as_str().unwrap_or_default().to_string());
        press(browser, fantoccini::key::Key::Tab).await;
    }
    panic!("Tab never reached `{css}`; the focus went through {path:?}");
}

/// Types `text` into the focused element.
async fn type_text(browser: &Browser, text: &str) {
    let focused = browser.client().active_element().await.unwrap();
    focused.send_keys(text).await.unwrap();
}

/// A 請書 the vendor alone signs, with the 署名日 the seeds show as a text box.
async fn ukesho_envelope(app: &TestApp, key: &str) -> String {
    let input = json!({
        "number": "R8-請書-0105",
        "title": "庁舎清掃業務委託 請書",
        "deadline": now() + 7 * 86_400,
        "recipients": [
            { "key": "vendor", "name": "山田太郎", "email": VENDOR, "role": "signer", "order": 1 }
        ],
        "documents": [
            { "name": "請書.pdf", "content_base64": b64(&inkan_testkit::validators::sample_pdf(1)), "fields": [
                { "recipient": "vendor", "kind": "date", "label": "署名日", "required": true,
                  "placement": { "page": 1, "x": 360, "y": 120, "width": 160, "height": 22 } }
            ]}
        ]
    });
    created_and_sent(app, key, &input).await
}

/// The whole signing flow with the keyboard alone: Tab, Enter, Space and typing; no pointer.
#[tokio::test]
async fn a_vendor_signs_with_the_keyboard_alone() {
    let Some(browser) = Browser::start("keyboard-only").await else {
        return;
    };
    use fantoccini::key::Key;
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let id = ukesho_envelope(&app, &key).await;
    let token = app.link_token(VENDOR, "s");
    browser.goto(&format!("{}/s/{token}", app.url)).await;
    browser.wait_for_text("h1", "署名依頼が届いています").await;
    tab_to(&browser, "#start").await;
    press(&browser, Key::Enter).await;
    // The guide opens with the focus inside it; 閉じる by keyboard.
    browser.wait_for_text("#guide", "使い方ガイド").await;
    tab_to(&browser, "#guide-close").await;
    press(&browser, Key::Enter).await;
    assert_eq!(
        js(&browser, "return document.querySelector('#guide').open").await,
        json!(false)
    );
    // The checklist item takes the focus to its field.
    tab_to(&browser, "button.check-item").await;
    press(&browser, Key::Enter).await;
    assert_eq!(
        js(&browser, "return document.activeElement.title").await,
        json!("日付 1 署名日"),
        "Enter on the checklist item did not focus the field"
    );
    type_text(&browser, "令和8年12月3日").await;
    browser.screenshot("date-typed").await;
    tab_to(&browser, "#finish").await;
    press(&browser, Key::Enter).await;
    browser
        .wait_for_text("#confirm-dialog", "署名手続きを完了しますか")
        .await;
    // The dialog holds the focus: Tab stays inside it and reaches the button.
    tab_to(&browser, "#confirm-complete").await;
    browser.screenshot("confirm-by-keyboard").await;
    press(&browser, Key::Enter).await;
    browser
        .wait_for_text("#done-title", "署名手続きが完了しました")
        .await;
    browser.screenshot("done").await;
    app.drain().await;
    let e = envelope(&app, &key, &id).await;
    assert_eq!(e["status"], "completed", "{e}");
    let value = &e["documents"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "date")
        .unwrap()["value"];
    assert_eq!(value, "令和8年12月3日");
    browser.close().await;
}

/// The briefing's own procedure (南九州市電子契約説明会 資料, 「契約締結の流れ」), step by step for
/// the 請書 the vendor alone signs, from the request mail to the download 14 days later. Each
/// step asserts what the briefing's screen shows and saves a screenshot named after the step;
/// a step the seeds show and Inkan lacks fails here.
#[tokio::test]
async fn the_briefings_signing_procedure_step_by_step() {
    let Some(browser) = Browser::start("seeds-procedure").await else {
        return;
    };
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_with_clock(clock.clone()).await;
    let key = app.organization_with_login().await;
    let id = ukesho_envelope(&app, &key).await;

    // 受注事業者に署名依頼メールが届きます. The two briefings bracket differently (「南九州市 様より
    // 【▲▲▲】」, 「【自治体名】 様より▲▲▲(封筒名)」); product.md follows the second.
    let (subject, body) = app
        .mails_to(VENDOR)
        .into_iter()
        .find(|(s, _)| s.contains("署名依頼"))
        .expect("no 署名依頼 mail");
    assert_eq!(
        subject, "【盛岡市】 様より庁舎清掃業務委託 請書への署名依頼が届いています",
        "the request mail's subject is not the briefing's"
    );
    assert!(body.contains("文書を確認する"), "{body}");
    // 1 メール内の「文書を確認する」(電子署名URL)をクリックします.
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/s/", app.url)))
        .expect("the mail has no signing URL")
        .to_string();
    browser.goto(&link).await;
    // 2 署名依頼の内容が表示されます: 文書, 送信者, 署名期限; 「署名をはじめる」.
    browser.wait_for_text("h1", "署名依頼が届いています").await;
    let summary = browser.body_text().await;
    for shown in [
        "庁舎清掃業務委託 請書",
        "送信者",
        "盛岡市",
        "文書",
        "請書.pdf",
        "署名期限",
    ] {
        assert!(
            summary.contains(shown),
            "the request lacks {shown:?}:\n{summary}"
        );
    }
    assert_eq!(browser.text("#start").await, "署名をはじめる");
    browser
        .screenshot("1-メール内の文書を確認するをクリック")
        .await;
    browser.click("#start").await;
    // 【使い方ガイド】 「次回以降表示しない」, 内容を確認し「閉じる」.
    browser.wait_for_text("#guide", "使い方ガイド").await;
    assert!(browser.text("#guide").await.contains("次回以降表示しない"));
    browser.screenshot("使い方ガイド").await;
    browser.click("#guide-close").await;
    // 2 ブラウザ上に、文書の内容が表示されます (文書 1 (1/1), the page image, its checklist).
    assert_eq!(browser.text("#docpos").await, "文書 1 (1/1)");
    assert!(
        wait_js(&browser, "const i = document.querySelector('#doc-0 img.pageimg'); return !!i && i.complete && i.naturalWidth > 0").await,
        "the document is not shown"
    );
    browser.screenshot("2-文書の内容が表示される").await;
    // (請書) 1 文書内容を確認します; 2 テキストボックスをクリックします.
    let date_box = "input[title='日付 1 署名日']";
    browser.click(date_box).await;
    assert_eq!(
        js(&browser, "return document.activeElement.title").await,
        json!("日付 1 署名日")
    );
    assert_eq!(
        js(
            &browser,
            &format!("return document.querySelector(\"{date_box}\").type")
        )
        .await,
        json!("text"),
        "署名日 is not a text box"
    );
    // 3 署名日をテキストボックスに入力します (送信日と同じ日).
    browser.fill(date_box, "令和8年12月3日").await;
    assert_eq!(browser.text(".required").await, "必須項目: 1/1");
    browser.screenshot("3-署名日を入力").await;
    // 4 【完了する】をクリックするとメッセージが表示されますので、【署名手続きを完了する】.
    browser.click("#finish").await;
    browser
        .wait_for_text("#confirm-dialog", "署名手続きを完了しますか")
        .await;
    browser.screenshot("4-完了するとメッセージ").await;
    browser.click("#confirm-complete").await;
    browser
        .wait_for_text("#done-title", "署名手続きが完了しました")
        .await;
    browser.screenshot("4-署名手続きを完了する").await;

    // 請書は事業者のみ署名: 署名完了となり、「署名完了のお知らせメール」が届きます.
    app.drain().await;
    assert_eq!(envelope(&app, &key, &id).await["status"], "completed");
    let (subject, body) = app
        .mails_to(VENDOR)
        .into_iter()
        .find(|(s, _)| s.contains("完了"))
        .expect("no completion mail reached the vendor");
    assert_eq!(subject, "電子署名完了のお知らせ（庁舎清掃業務委託 請書）");
    for shown in [
        "すべての手続きが完了しました",
        "署名完了文書ダウンロード画面より",
        "封筒：庁舎清掃業務委託 請書",
        "送り主：",
        "ダウンロード有効期間：14日間",
        "R8-請書-0105",
    ] {
        assert!(
            body.contains(shown),
            "the completion mail lacks {shown:?}:\n{body}"
        );
    }
    // 契約書のダウンロード 1 「ダウンロード」をクリック.
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/c/", app.url)))
        .expect("the completion mail has no download URL")
        .to_string();
    browser.goto(&link).await;
    browser
        .wait_for_text("#completed", "全ての手続きが完了しました")
        .await;
    let page = browser.body_text().await;
    for shown in [
        "全ての関係者が手続きを完了しました",
        "文書1：請書.pdf",
        "ダウンロード",
        "署名の進行状況",
    ] {
        assert!(
            page.contains(shown),
            "the download page lacks {shown:?}:\n{page}"
        );
    }
    browser.screenshot("ダウンロード画面").await;
    // 2 再度「ダウンロード」: the signed PDF.
    let href = js(
        &browser,
        "return document.querySelector('ul.downloads a.download').getAttribute('href')",
    )
    .await;
    let pdf = app.get(href.as_str().unwrap()).send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    // 3 期間は2週間です。期限を過ぎるとリンク先には Not Found の画面.
    clock.advance(15 * 86_400);
    browser.goto(&link).await;
    browser.wait_for_text("h1", "Not Found").await;
    assert!(browser
        .body_text()
        .await
        .contains("該当のページが見つかりませんでした"));
    browser.screenshot("期限後-Not-Found").await;
    browser.close().await;
}

/// The accessibility check itself: on a page built to break them, axe-core reports a missing
/// label, a 10 px button (WCAG 2.2's 24 px targets) and too little contrast, and the reflow
/// check sees a page wider than the window. A check that finds nothing here would prove nothing
/// on the real pages.
#[tokio::test]
async fn the_accessibility_check_catches_what_it_must() {
    let Some(browser) = Browser::start_mobile_sized("wcag-self-check", 320, 640).await else {
        return;
    };
    let page = "<!doctype html><html lang=ja><head><title>t</title>\
        <meta name=viewport content='width=device-width'></head><body><main>\
        <h1>検査</h1><input type=text>\
        <p><button style='width:10px;height:10px;padding:0;border:0'>x</button>\
        <button style='width:10px;height:10px;padding:0;border:0'>y</button></p>\
        <p style='color:#bbb;background:#fff'>薄い文字</p>\
        <div style='width:900px'>幅の広い箱</div></main></body></html>";
    browser
        .goto(&format!(
            "data:text/html;charset=utf-8,{}",
            urlencoding(page)
        ))
        .await;
    let Some(violations) = browser.axe_violations().await else {
        return;
    };
    let rules: Vec<&str> = violations.iter().map(|v| v.rule.as_str()).collect();
    for rule in ["label", "target-size", "color-contrast"] {
        assert!(rules.contains(&rule), "axe missed {rule}: {rules:?}");
    }
    // The whole check panics, first on the sideways scrolling (the browser dies with its task).
    let checked = tokio::spawn(async move {
        browser.assert_accessible("the broken page").await;
        browser
    });
    let Err(failure) = checked.await else {
        panic!("a broken page passed the accessibility check");
    };
    let message = failure
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(message.contains("scrolls sideways"), "{message}");
}

/// The code an authenticator app shows for `secret` at Unix time `at`, from oathtool (the OATH
/// Toolkit): an implementation of RFC 6238 that is not Inkan's.
fn oathtool_code(oathtool: &std::path::Path, secret: &str, at: i64) -> String {
    let out = std::process::Command::new(oathtool)
        .args(["--totp", "--base32", secret, "--now", &format!("@{at}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// 多要素認証 in Chromium with a real authenticator's codes (oathtool): a staff member sets up
/// the app from the 多要素認証 page (QR code and key shown, a mistyped code refused, ten
/// recovery codes shown once), logs out, and logs in again with the password and then the
/// app's code; each page meets WCAG 2.2 AA.
#[tokio::test]
async fn staff_set_up_an_authenticator_and_log_in_with_its_codes() {
    let Some(oathtool) =
        inkan_testkit::require_tool("oathtool", "computes the authenticator's TOTP codes")
    else {
        return;
    };
    let Some(browser) = Browser::start("mfa").await else {
        return;
    };
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_with_clock(clock.clone()).await;
    app.organization_with_login().await;
    let now = || inkan_service::Clock::now(clock.as_ref());

    browser.goto(&format!("{}/app", app.url)).await;
    browser.wait_for_text("h1", "ログイン").await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    browser
        .click("nav.staffnav a[href='/app/account/mfa']")
        .await;
    browser.wait_for_text("h1", "多要素認証").await;
    assert_eq!(
        js(&browser, "return !!document.querySelector('.qr svg path')").await,
        json!(true),
        "the QR code is drawn"
    );
    accessible(&browser, "mfa-set-up").await;
    let secret = browser.text("#totp-secret").await;
    let right = oathtool_code(&oathtool, &secret, now());
    let mistyped = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    browser.fill("#code", &mistyped).await;
    browser.click("#enrol").await;
    browser.wait_for_text("#code-error", "コードが違うか").await;
    accessible(&browser, "mfa-set-up-refused").await;
    assert_eq!(
        browser.text("#totp-secret").await,
        secret,
        "the same key again"
    );
    browser
        .fill("#code", &oathtool_code(&oathtool, &secret, now()))
        .await;
    browser.click("#enrol").await;
    browser.wait_for_text("h1", "リカバリーコード").await;
    accessible(&browser, "mfa-recovery-codes").await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelectorAll('#recovery-codes li').length"
        )
        .await,
        json!(10)
    );

    // Log out; the password now leads to the code page, and the app's next code logs in.
    browser.click("#continue").await;
    browser.wait_for_text("#mfa-state", "登録済み").await;
    browser.click("form.logout button").await;
    browser.wait_for_text("h1", "ログイン").await;
    clock.advance(30);
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "確認コードの入力").await;
    accessible(&browser, "mfa-code").await;
    browser
        .fill("#code", &oathtool_code(&oathtool, &secret, now()))
        .await;
    browser.click("#verify").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    browser.screenshot("mfa-logged-in").await;
}

/// Starts a single sign-on at Inkan's login page for `email` and, when the provider asks, signs
/// in there; returns once the browser is back at Inkan (logged in or refused).
async fn sso_login(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&format!("{}/login", app.url)).await;
    browser.wait_for_text("h1", "ログイン").await;
    browser.fill("#sso-email", email).await;
    browser.click("#sso-login").await;
    // Each page on the way: the provider's login form or consent (at /interaction/…), then
    // Inkan's dashboard or its callback with the reason it refused.
    let arrived = "return (location.pathname.startsWith('/interaction/') \
        && !!document.querySelector('button.login-submit')) \
        || location.pathname.startsWith('/app') || location.pathname === '/login/sso/callback'";
    for _ in 0..4 {
        assert!(
            wait_js(browser, arrived).await,
            "no page of the provider or of Inkan came"
        );
        let at = js(browser, "return location.pathname").await;
        let at = at.as_str().unwrap_or_default().to_string();
        if !at.starts_with("/interaction/") {
            return;
        }
        if js(
            browser,
            "return !!document.querySelector('input[name=login]')",
        )
        .await
            == json!(true)
        {
            browser.fill("input[name=login]", email).await;
            browser.fill("input[name=password]", "any password").await;
        }
        browser.click("button.login-submit").await;
        // Until the page it was on has gone.
        let gone = format!("return location.pathname !== '{at}'");
        assert!(wait_js(browser, &gone).await, "the provider's page stayed");
    }
    panic!("the provider kept asking");
}

/// The audit entries of the organization with this action, newest first.
async fn audited(app: &TestApp, key: &str, action: &str) -> Vec<Value> {
    let log: Value = app
        .get(&format!("/api/v1/audit?action={action}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.as_array().unwrap().clone()
}

/// シングルサインオン end to end in Chromium against a real OpenID provider (node's
/// oidc-provider) on loopback: an existing user and a new one (provisioned as a sender) log in;
/// a replayed callback, a wrong audience, a mismatched nonce and an expired ID token are each
/// refused with an audit entry; an email outside the organization's domains is told there is no
/// single sign-on; "SSO required" turns password login off.
#[tokio::test]
async fn staff_log_in_through_their_organizations_openid_provider() {
    let Some(browser) = Browser::start("sso").await else {
        return;
    };
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.allowed_networks = vec!["127.0.0.1/32".into()];
        c.allow_http_webhooks = Some(true);
    })
    .await;
    let Some(provider) =
        inkan_testkit::oidc::OidcProvider::start(&format!("{}/login/sso/callback", app.url))
    else {
        return;
    };
    let key = app.organization_with_login().await;
    let r = app
        .put("/api/v1/organization/sso")
        .bearer_auth(&key)
        .json(&json!({
            "issuer": provider.issuer, "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "domains": ["City.Morioka.Example.JP"], "required": false,
        }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["domains"], json!(["city.morioka.example.jp"]));
    assert!(
        !body.to_string().contains(&provider.client_secret),
        "the secret never comes back"
    );

    // The administrator (an existing user) logs in through the provider.
    sso_login(&browser, &app, ADMIN).await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    let logins = audited(&app, &key, "login").await;
    assert_eq!(logins[0]["actor"]["kind"], json!("staff"), "{logins:?}");
    browser.click("form.logout button").await;
    browser.wait_for_text("h1", "ログイン").await;

    // A new colleague: provisioned at the first login, as a sender. (The provider's session
    // is the administrator's: the browser forgets it, as another person's browser would.)
    let newcomer = "sato.hanako@city.morioka.example.jp";
    browser.client().delete_all_cookies().await.unwrap();
    sso_login(&browser, &app, newcomer).await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    let users: Value = app
        .get("/api/v1/users")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let made = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == json!(newcomer))
        .unwrap_or_else(|| panic!("{newcomer} was not provisioned: {users}"));
    assert_eq!(made["role"], "sender");
    assert_eq!(made["has_password"], false);
    assert_eq!(audited(&app, &key, "user_provisioned").await.len(), 1);
    browser.click("form.logout button").await;
    browser.wait_for_text("h1", "ログイン").await;

    // A replayed callback, even with the login's own cookie, is refused and audited. The login
    // starts over HTTP (its cookie kept here); the browser, signed in at the provider, follows
    // the provider's redirect (and is refused: the cookie is not its own); the callback is then
    // used once with the cookie, and again.
    let http = no_redirect_client();
    let form = http.get(format!("{}/login", app.url)).send().await.unwrap();
    let login_cookie = cookie_pair(&form, "inkan_login");
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let start = http
        .post(format!("{}/login/sso", app.url))
        .header("cookie", &login_cookie)
        .form(&[
            ("email", newcomer),
            ("csrf", csrf.as_str()),
            ("next", "/app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    let sso_cookie = cookie_pair(&start, "inkan_sso");
    let refresh = start.headers()["refresh"].to_str().unwrap().to_string();
    let authorize = refresh.trim_start_matches("0;url=").to_string();
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="));
    browser.goto(&authorize).await;
    browser.wait_for_text("p.error", "期限が切れたか").await;
    let callback = provider.last_callback().await;
    assert!(
        callback.contains("code=") && callback.contains("state="),
        "{callback}"
    );
    let used = http
        .get(&callback)
        .header("cookie", &sso_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 303, "the callback works once");
    assert!(cookie_pair(&used, "inkan_session").len() > "inkan_session=".len());
    let replayed = http
        .get(&callback)
        .header("cookie", &sso_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 401, "a replayed callback");
    assert!(replayed
        .text()
        .await
        .unwrap()
        .contains("この応答は使用済みです"));
    let refused = audited(&app, &key, "sso_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");

    // A wrong audience, a mismatched nonce and an expired ID token: each refused, each audited.
    for (fault, what) in [
        (inkan_testkit::oidc::Fault::Audience, "audience"),
        (inkan_testkit::oidc::Fault::Nonce, "nonce"),
        (inkan_testkit::oidc::Fault::Expired, "expired"),
    ] {
        provider.fault(fault).await;
        let before = audited(&app, &key, "sso_refused").await.len();
        sso_login(&browser, &app, newcomer).await;
        browser
            .wait_for_text("p.error", "ID トークンが正しくありません")
            .await;
        browser.screenshot(&format!("sso-refused-{what}")).await;
        let refused = audited(&app, &key, "sso_refused").await;
        assert_eq!(refused.len(), before + 1, "{what}: {refused:?}");
        assert!(
            page_has_no_session(&app, &browser).await,
            "{what}: a refused login opened a session"
        );
    }
    provider.fault(inkan_testkit::oidc::Fault::None).await;

    // An email outside the organization's domains: no single sign-on for it.
    browser.goto(&format!("{}/login", app.url)).await;
    browser
        .fill("#sso-email", "someone@elsewhere.example.jp")
        .await;
    browser.click("#sso-login").await;
    browser
        .wait_for_text("p.error", "シングルサインオンが設定されていません")
        .await;

    // SSO required: the right password no longer logs in; single sign-on still does.
    let r = app
        .put("/api/v1/organization/sso")
        .bearer_auth(&key)
        .json(&json!({
            "issuer": provider.issuer, "client_id": provider.client_id,
            "domains": ["city.morioka.example.jp"], "required": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the secret is kept when none is given");
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser
        .wait_for_text("p.error", "シングルサインオンでログインしてください")
        .await;
    accessible(&browser, "login-sso-required").await;
    browser.client().delete_all_cookies().await.unwrap();
    sso_login(&browser, &app, ADMIN).await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    browser
        .goto(&format!("{}/app/settings/security", app.url))
        .await;
    browser
        .wait_for_text("#sso-callback", "/login/sso/callback")
        .await;
    accessible(&browser, "staff-security-sso").await;
}

/// A client that does not follow redirects.
fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of a cookie the response sets.
fn cookie_pair(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_string()
}

/// Whether the browser holds no staff session (the dashboard sends it to the login).
async fn page_has_no_session(app: &TestApp, browser: &Browser) -> bool {
    browser.goto(&format!("{}/app", app.url)).await;
    browser.wait_for_text("h1", "ログイン").await;
    true
}

/// A server whose `public_url` names `localhost` (passkeys need a domain name), and that URL.
async fn localhost_app() -> (TestApp, String) {
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.public_url = c
            .public_url
            .as_ref()
            .map(|u| u.replace("127.0.0.1", "localhost"));
    })
    .await;
    let site = app.url.replace("127.0.0.1", "localhost");
    (app, site)
}

/// パスキー: a staff member registers a passkey on their account page (Chromium's virtual
/// authenticator, through WebDriver), and after the password logs in with it instead of a
/// code; the login is audited with the passkey, and a passkey of another user's authenticator
/// is refused. Passkeys need a domain name, so the server is reached at `localhost`.
#[tokio::test]
async fn staff_register_a_passkey_and_log_in_with_it() {
    let Some(browser) = Browser::start("passkey").await else {
        return;
    };
    let (app, site) = localhost_app().await;
    let key = app.organization_with_login().await;
    let authenticator = browser.add_virtual_authenticator().await;

    browser.goto(&format!("{site}/login")).await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    browser.goto(&format!("{site}/app/account/mfa")).await;
    browser.wait_for_text("h2", "パスキー").await;
    browser.fill("#passkey-name", "業務用 PC").await;
    browser.click("#add-passkey").await;
    browser.wait_for_text("#passkey-list", "業務用 PC").await;
    accessible(&browser, "staff-passkeys").await;

    // The password now leads to the second step, where the passkey logs in.
    browser.click("form.logout button").await;
    browser.wait_for_text("h1", "ログイン").await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "確認コードの入力").await;
    accessible(&browser, "mfa-code-with-passkey").await;
    browser.click("#use-passkey").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    let admin = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    let trail = app.inkan.audit_trail(&admin, None).await.unwrap();
    let login = trail
        .iter()
        .rev()
        .find(|e| e.entry.action == "login")
        .unwrap();
    assert_eq!(
        login.entry.detail["mfa"], "passkey",
        "{:?}",
        login.entry.detail
    );
    let log: Value = app
        .get("/api/v1/audit?action=passkey_added")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");

    // Without the authenticator (another person's device), the passkey step says why and
    // the login stays where it is.
    browser.click("form.logout button").await;
    browser.wait_for_text("h1", "ログイン").await;
    browser.remove_virtual_authenticator(&authenticator).await;
    browser.fill("#email", ADMIN).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "確認コードの入力").await;
    assert_eq!(
        js(&browser, "return location.pathname").await,
        json!("/login/code")
    );
}

/// MFA required: a colleague without a second factor registers a passkey on the login's
/// set-up page (instead of an authenticator app) and is logged in by it.
#[tokio::test]
async fn a_required_second_factor_can_be_a_passkey_set_up_at_login() {
    let Some(browser) = Browser::start("passkey-enrol").await else {
        return;
    };
    let (app, site) = localhost_app().await;
    let key = app.organization_with_login().await;
    let admin = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    let r = app
        .put("/api/v1/organization/mfa-required")
        .bearer_auth(&key)
        .json(&json!({ "required": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let colleague = "shinnin@city.morioka.example.jp";
    let r = app
        .post("/api/v1/users")
        .bearer_auth(&key)
        .json(
            &json!({ "name": "新任", "email": colleague, "password": PASSWORD, "role": "sender" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    browser.add_virtual_authenticator().await;
    browser.goto(&format!("{site}/login")).await;
    browser.fill("#email", colleague).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#login").await;
    browser.wait_for_text("h1", "多要素認証の設定").await;
    accessible(&browser, "mfa-enrol-with-passkey").await;
    browser.fill("#passkey-name", "スマートフォン").await;
    browser.click("#add-passkey").await;
    browser.wait_for_text("h1", "ダッシュボード").await;
    let trail = app.inkan.audit_trail(&admin, None).await.unwrap();
    let login = trail
        .iter()
        .rev()
        .find(|e| e.entry.action == "login")
        .unwrap();
    assert_eq!(login.entry.detail["mfa"], "passkey_enrolled");
}
