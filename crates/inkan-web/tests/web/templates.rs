//! Issue 19, items 2 and 3 through HTTP: a template saved from the staff page (its PDF, roles,
//! 差込み項目), a new version, an envelope made and sent from the page, the API's view of the
//! same; a bulk send from the page — the ひな形 CSV downloaded, a bad CSV named by line and
//! column, a good one followed on the progress page until every row is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use crate::pages::{hidden, login, no_redirects};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_and_bulk_sends_from_the_staff_pages() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let session = login(&app).await;
    let client = no_redirects();
    let page = |path: String| {
        let client = client.clone();
        let session = session.clone();
        let url = format!("{}{path}", app.url);
        async move {
            let r = client
                .get(url)
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page("/app/templates/new".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("差込み項目"), "{html}");
    let csrf = hidden(&html, "csrf");
    let form = |csrf: &str, merge_page: &str| {
        Form::new()
            .text("csrf", csrf.to_string())
            .text("name", "物品購入契約")
            .text("title", "{{品名}} の購入")
            .text("deadline_days", "10")
            .part(
                "pdf",
                Part::bytes(pdf())
                    .file_name("契約書.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            )
            .text("role0_label", "取引先")
            .text("role0_role", "signer")
            .text("role0_order", "1")
            .text("role1_label", "")
            .text("merge0_name", "品名")
            .text("merge0_doc", "1")
            .text("merge0_page", merge_page.to_string())
            .text("merge0_x", "72")
            .text("merge0_y", "700")
            .text("merge0_size", "12")
    };
    let post = |path: &str, form: Form| {
        client
            .post(format!("{}{path}", app.url))
            .header("cookie", &session)
            .multipart(form)
            .send()
    };
    // A merge field on a page the PDF lacks: the form comes back naming it.
    let r = post("/app/templates", form(&csrf, "9")).await.unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("merge_fields[0]") && text.contains("9"),
        "{text}"
    );
    // Without the CSRF token: refused.
    let r = post("/app/templates", form("", "1")).await.unwrap();
    assert_eq!(r.status(), 403);
    let r = post("/app/templates", form(&csrf, "1")).await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let id = location.trim_start_matches("/app/templates/").to_string();

    let (_, html) = page(location.clone()).await;
    assert!(
        html.contains("物品購入契約") && html.contains("品名"),
        "{html}"
    );
    // The API sees the same template.
    let listed: Value = app
        .get("/api/v1/templates")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["version"], 1);

    // A new version from the page (the PDF kept): the title changes.
    let r = post(
        &format!("/app/templates/{id}/versions"),
        Form::new()
            .text("csrf", csrf.clone())
            .text("name", "物品購入契約")
            .text("title", "【第2版】{{品名}} の購入")
            .text("deadline_days", "10")
            .text("role0_label", "取引先")
            .text("role0_role", "signer")
            .text("role0_order", "1")
            .text("merge0_name", "品名")
            .text("merge0_doc", "1")
            .text("merge0_page", "1")
            .text("merge0_x", "72")
            .text("merge0_y", "700")
            .text("merge0_size", "12"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let view: Value = app
        .get(&format!("/api/v1/templates/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["version"], 2);
    assert_eq!(view["title"], "【第2版】{{品名}} の購入");
    assert_eq!(view["versions"].as_array().unwrap().len(), 2);

    // An envelope made and sent from the page.
    let r = client
        .post(format!("{}/app/templates/{id}/envelopes", app.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "2"),
            ("role0_name", "佐藤 一郎"),
            ("role0_email", "ichiro@bupin.example.co.jp"),
            ("merge_品名", "事務用机 20台"),
            ("amount", "480000"),
            ("send", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let envelope = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/app/envelopes/")
        .to_string();
    let env: Value = app
        .get(&format!("/api/v1/envelopes/{envelope}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(env["title"], "【第2版】事務用机 20台 の購入");
    assert_eq!(env["status"], "sent");
    assert_eq!(env["template"]["version"], 2);

    // Bulk: the ひな形, a bad CSV named by line and column, then a good one.
    let (status, header) = page(format!("/app/templates/{id}/bulk.csv")).await;
    assert_eq!(status, 200);
    assert!(header.starts_with('\u{feff}'));
    assert!(
        header.contains("取引先:メールアドレス") && header.contains("品名"),
        "{header}"
    );
    let bulk = |csv: String| {
        Form::new()
            .text("csrf", csrf.clone())
            .text("version", "2")
            .part("csv", Part::bytes(csv.into_bytes()).file_name("購入.csv"))
    };
    let head = "取引先:氏名,取引先:メールアドレス,品名,金額\n";
    let r = post(
        &format!("/app/templates/{id}/bulk"),
        bulk(format!(
            "{head}業者A,a@bupin.example.co.jp,机,1000\n業者B,not-an-address,椅子,2000\n"
        )),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("3行目「取引先:メールアドレス」"), "{text}");
    let csv: String = std::iter::once(head.to_string())
        .chain((1..=3).map(|i| format!("業者{i},v{i}@bupin.example.co.jp,品目{i},{i}000\n")))
        .collect();
    let r = post(&format!("/app/templates/{id}/bulk"), bulk(csv))
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let batch_page = r.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = page(batch_page.clone()).await;
    assert!(
        html.contains("bulk.js") && html.contains("待機中"),
        "{html}"
    );
    let (_, progress) = page(format!("{batch_page}/progress")).await;
    let progress: Value = serde_json::from_str(&progress).unwrap();
    assert_eq!(
        (progress["rows"].as_u64(), progress["waiting"].as_u64()),
        (Some(3), Some(3))
    );
    app.drain().await;
    let (_, progress) = page(format!("{batch_page}/progress")).await;
    let progress: Value = serde_json::from_str(&progress).unwrap();
    assert_eq!(progress["sent"], 3, "{progress}");
    assert_eq!(progress["finished"], true);
    let (_, html) = page(batch_page.clone()).await;
    assert_eq!(html.matches("送信済み").count(), 3, "{html}");
    assert!(html.contains("【第2版】品目2 の購入"), "{html}");
    let batches: Value = app
        .get("/api/v1/bulk")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batches[0]["sent"], 3);
    for i in 1..=3 {
        let mails = app.mails_to(&format!("v{i}@bupin.example.co.jp"));
        assert_eq!(mails.len(), 1, "{mails:?}");
    }
}
