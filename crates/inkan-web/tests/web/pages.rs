//! The web pages over plain HTTP: what a browser is told (CSP, cookies), what is refused
//! (cross-site posts, forms without their CSRF token, too many login attempts), that user text
//! is escaped, and that dead links get the seeds' pages. The browser-driven flows are in
//! tests/ui.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use serde_json::{json, Value};

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in with a fresh client: the session cookie.
pub(crate) async fn login(app: &TestApp) -> String {
    login_then(app, "/app").await.0
}

/// Logs in with a fresh client asking to go to `next`: the session cookie and where the server
/// sent the browser.
async fn login_then(app: &TestApp, next: &str) -> (String, String) {
    let client = no_redirects();
    let form = client
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    let login_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("inkan_login="))
        .unwrap();
    let nonce = login_cookie.split(';').next().unwrap().to_string();
    let html = form.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let r = client
        .post(format!("{}/login", app.url))
        .header("cookie", &nonce)
        .form(&[
            ("email", ADMIN),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("inkan_session="))
        .unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    let location = r.headers()["location"].to_str().unwrap().to_string();
    (session.split(';').next().unwrap().to_string(), location)
}

#[tokio::test]
async fn after_login_the_browser_stays_on_this_site() {
    let app = TestApp::start().await;
    app.organization_with_login().await;
    assert_eq!(
        login_then(&app, "/app/archive?q=1").await.1,
        "/app/archive?q=1"
    );
    for next in [
        "//evil.example/",
        "/\t/evil.example/",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        assert_eq!(login_then(&app, next).await.1, "/app", "{next:?}");
    }
}

/// The value of a hidden input in a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn pages_carry_a_strict_csp_and_no_outside_assets() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let envelope = app
        .envelope(&key, "業務委託契約", "vendor@example.jp")
        .await;
    let id = envelope["id"].as_str().unwrap();
    let token = app.send_for_link(&key, id, "vendor@example.jp").await;
    for path in [
        format!("/s/{token}"),
        format!("/s/{token}/sign"),
        "/login".into(),
        "/verify".into(),
        "/my/login".into(),
    ] {
        let r = app.get(&path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        let html = r.text().await.unwrap();
        // Everything comes from this server: no absolute URLs in src or href of assets.
        for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(
                !html.contains(attr),
                "{path} loads an outside asset: {attr}"
            );
        }
        assert!(!html.contains("<script>"), "{path} has an inline script");
        assert!(!html.contains("style=\""), "{path} has an inline style");
    }
    // The assets themselves, with their types.
    let css = app.get("/assets/inkan.css").send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = app.get("/assets/signer.js").send().await.unwrap();
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.text().await.unwrap().contains("inkan.guide.hidden"));
    // A page image is a PNG rendered here.
    let view: Value = app
        .get(&format!("/api/v1/sign/{token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc = view["documents"][0]["id"].as_str().unwrap();
    let png = app
        .get(&format!("/s/{token}/documents/{doc}/pages/1?w=600"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let missing = app
        .get(&format!("/s/{token}/documents/{doc}/pages/9"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn user_text_is_escaped_on_every_page() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let mut input = new_envelope("<script>alert('title')</script>", "vendor@example.jp");
    input["message"] = json!("<img src=x onerror=alert(1)>\n2行目");
    input["recipients"][0]["name"] = json!("<b>山田</b>");
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&input)
        .send()
        .await
        .unwrap();
    let envelope: Value = r.json().await.unwrap();
    let id = envelope["id"].as_str().unwrap();
    let token = app.send_for_link(&key, id, "vendor@example.jp").await;
    let session = login(&app).await;
    let pages = [
        app.get(&format!("/s/{token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        app.get(&format!("/s/{token}/sign"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        app.get(&format!("/app/envelopes/{id}"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        app.get("/app")
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    ];
    for html in &pages {
        assert!(!html.contains("<script>alert"), "unescaped title: {html}");
        assert!(!html.contains("<img src=x"), "unescaped message");
        assert!(!html.contains("<b>山田</b>"), "unescaped name");
    }
    assert!(
        pages[0].contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;")
            || pages[0].contains("&lt;script&gt;alert('title')&lt;/script&gt;")
    );
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_cross_site_posts_are_refused() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let envelope = app
        .envelope(&key, "業務委託契約", "vendor@example.jp")
        .await;
    let id = envelope["id"].as_str().unwrap().to_string();
    let token = app.send_for_link(&key, &id, "vendor@example.jp").await;
    let html = app
        .get(&format!("/s/{token}/sign"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&html, "csrf");

    // No token, a wrong token, another site's page: refused, and nothing changes.
    let client = no_redirects();
    let url = format!("{}/s/{token}/decline", app.url);
    let r = client
        .post(&url)
        .form(&[("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(&url)
        .form(&[("reason", "x"), ("csrf", "AAAA")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&[("reason", "x"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .form(&[("reason", "x"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A token of another link does not work here either.
    let other = app.inkan.csrf_token("link:someone-else");
    let r = client
        .post(&url)
        .form(&[("reason", "x"), ("csrf", other.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let state: Value = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "sent");

    // Staff forms: the session's own token only.
    let session = login(&app).await;
    let r = client
        .post(format!("{}/app/envelopes/{id}/cancel", app.url))
        .header("cookie", &session)
        .form(&[("reason", "x"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Without a session: to the login page.
    let r = client.get(format!("{}/app", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    let r = client
        .get(format!("{}/app", app.url))
        .header(
            "cookie",
            "inkan_session=v1.forged.session.9999999999.AAAA.AAAA",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // The right token from this origin declines.
    let r = client
        .post(&url)
        .header("origin", &app.url)
        .form(&[
            ("reason", "単価の再確認が必要なため"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("署名を辞退しました"));
}

#[tokio::test]
async fn login_attempts_are_rate_limited_and_wrong_passwords_say_nothing_more() {
    let app = TestApp::start().await;
    app.organization_with_login().await;
    let client = no_redirects();
    let form = client
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    let nonce = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let mut statuses = Vec::new();
    for i in 0..12 {
        let email = if i % 2 == 0 {
            ADMIN
        } else {
            "nobody@example.jp"
        };
        let r = client
            .post(format!("{}/login", app.url))
            .header("cookie", &nonce)
            .form(&[
                ("email", email),
                ("password", "wrong password!"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let html = r.text().await.unwrap();
        if status == 401 {
            assert!(
                html.contains("メールアドレスまたはパスワードが違います"),
                "{html}"
            );
        }
        statuses.push(status);
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        statuses.contains(&429),
        "no limit after 12 attempts: {statuses:?}"
    );
    // The right password is refused too while limited.
    let r = client
        .post(format!("{}/login", app.url))
        .header("cookie", &nonce)
        .form(&[
            ("email", ADMIN),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn dead_links_get_clear_pages() {
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_with_clock(clock.clone()).await;
    let key = app.organization_with_login().await;
    // Unknown links: the seeds' Not Found page, in Japanese and in English.
    for path in ["/s/not-a-real-token", "/c/not-a-real-token"] {
        let r = app.get(path).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("該当のページが見つかりませんでした。"),
            "{html}"
        );
        assert!(
            html.contains("ご指定のURLが間違いないかご確認ください。"),
            "{html}"
        );
    }
    let r = app
        .get("/c/not-a-real-token")
        .header("cookie", "inkan_lang=en")
        .send()
        .await
        .unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The page you asked for was not found."));

    // A completed envelope: the completion page, then Not Found after 14 days.
    let envelope = app
        .envelope(&key, "業務委託契約", "vendor@example.jp")
        .await;
    let id = envelope["id"].as_str().unwrap();
    let token = app.send_for_link(&key, id, "vendor@example.jp").await;
    let r = app
        .post(&format!("/api/v1/sign/{token}/complete"))
        .json(&json!({ "values": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.drain().await;
    // The used link says so.
    let html = app
        .get(&format!("/s/{token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("署名済みです"), "{html}");
    let completion = app.link_token("vendor@example.jp", "c");
    let r = app.get(&format!("/c/{completion}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("全ての手続きが完了しました"), "{html}");
    assert!(html.contains("ダウンロード"));
    assert!(html.contains("署名の進行状況"));
    // A cancelled envelope's link: ended, with the reason, never an error dump.
    let envelope = app
        .envelope(&key, "取消される契約", "other@example.jp")
        .await;
    let id = envelope["id"].as_str().unwrap();
    let token = app.send_for_link(&key, id, "other@example.jp").await;
    app.post(&format!("/api/v1/envelopes/{id}/cancel"))
        .bearer_auth(&key)
        .json(&json!({ "reason": "仕様変更のため" }))
        .send()
        .await
        .unwrap();
    let r = app.get(&format!("/s/{token}")).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let html = r.text().await.unwrap();
    assert!(html.contains("この手続きは終了しました"), "{html}");
    assert!(html.contains("取り消されました"), "{html}");
    assert!(!html.contains("was cancelled"), "{html}");

    // 14 days later (the deadline of the other envelopes moves past too, which is fine). A
    // staff session of today has ended by then as well.
    let session = login(&app).await;
    let r = no_redirects()
        .get(format!("{}/app", app.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    clock.advance(15 * 86_400);
    let r = no_redirects()
        .get(format!("{}/app", app.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "an expired session still works");
    let r = app.get(&format!("/c/{completion}")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("該当のページが見つかりませんでした。"));
}

/// A staff page's HTML, with the session's cookie.
async fn staff_page(app: &TestApp, session: &str, path: &str) -> String {
    app.get(path)
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A staff page's CSRF token (the logout form carries it on every staff page).
async fn staff_csrf(app: &TestApp, session: &str) -> String {
    hidden(&staff_page(app, session, "/app").await, "csrf")
}

#[tokio::test]
async fn internal_approval_then_staff_remind_cancel_and_export_through_the_pages() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let mut input = new_envelope("承認が要る契約", "vendor@example.jp");
    input["recipients"] = json!([
        { "key": "boss", "name": "財政部長", "email": "bucho@city.morioka.example.jp", "role": "approver", "order": 1 },
        { "key": "vendor", "name": "山田太郎", "email": "vendor@example.jp", "role": "signer", "order": 2 }
    ]);
    let envelope: Value = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&input)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = envelope["id"].as_str().unwrap().to_string();
    let session = login(&app).await;
    let csrf = staff_csrf(&app, &session).await;
    let client = no_redirects();

    // Staff send the draft from its page; the approver is asked first.
    let r = client
        .post(format!("{}/app/envelopes/{id}/send", app.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.drain().await;
    let approver = app.link_token("bucho@city.morioka.example.jp", "s");
    let html = app
        .get(&format!("/s/{approver}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("承認依頼が届いています"), "{html}");
    assert!(html.contains("承認する"), "{html}");
    let link_csrf = hidden(&html, "csrf");
    let r = client
        .post(format!("{}/s/{approver}/approve", app.url))
        .form(&[("csrf", link_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let done = app
        .get(&format!("/s/{approver}/done"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("承認が完了しました"), "{done}");
    app.drain().await;
    // Now the vendor has their request; staff remind them, then cancel with a reason.
    app.link_token("vendor@example.jp", "s");
    let r = client
        .post(format!("{}/app/envelopes/{id}/remind", app.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let detail = staff_page(&app, &session, &format!("/app/envelopes/{id}")).await;
    assert!(detail.contains("署名の進行状況"), "{detail}");
    assert!(detail.contains("承認済み"), "{detail}");
    assert!(detail.contains("リマインド"), "{detail}");
    assert!(detail.contains("取引金額: 1,234,567円"), "{detail}");
    // The 操作ログ reads as a clerk reads it: names and emails, actions in Japanese, no ids.
    let log = &detail[detail.find("id=\"audit\"").expect("the audit table")..];
    for raw in ["recipient:", "user:", "api_key:", ">send<", ">approve<"] {
        assert!(!log.contains(raw), "{raw} in {log}");
    }
    for shown in [
        "bucho@city.morioka.example.jp",
        "[宛先]",
        "[職員]",
        "送信",
        "承認",
        "リマインド送信",
    ] {
        assert!(log.contains(shown), "{shown} missing in {log}");
    }
    assert!(
        detail.contains("閲覧"),
        "the audit trail lists the views: {detail}"
    );

    // 文書管理: the search page and its CSV, by amount range and counterparty together.
    let page = staff_page(&app, &session, "/app/documents?amount_min=1000000&amount_max=2000000&counterparty=%E7%9B%9B%E5%B2%A1&date_from=&date_to=").await;
    assert!(page.contains("業務委託契約書.pdf"), "{page}");
    // The amount as it was entered, with its commas and 円.
    assert!(page.contains("1,234,567円"), "{page}");
    let none = staff_page(&app, &session, "/app/documents?amount_min=2000000").await;
    assert!(!none.contains("業務委託契約書.pdf"));
    let csv = app
        .get("/app/documents.csv?counterparty=%E7%9B%9B%E5%B2%A1")
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.text().await.unwrap().contains("業務委託契約書.pdf"));
    // …and everything it finds as one ZIP, offered beside the CSV.
    assert!(page.contains("/app/documents.zip?"), "{page}");
    let zip = app
        .get("/app/documents.zip?counterparty=%E7%9B%9B%E5%B2%A1")
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let zip = zip.bytes().await.unwrap();
    assert!(zip.starts_with(b"PK"));
    let entry = "文書/00001_業務委託契約書.pdf".as_bytes();
    assert!(zip.windows(entry.len()).any(|w| w == entry));

    let r = client
        .post(format!("{}/app/envelopes/{id}/cancel", app.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("reason", "予算の都合により")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let e: Value = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["status"], "cancelled");
    assert_eq!(e["status_reason"], "予算の都合により");
    // The vendor who had not signed yet is no longer 未完了: the envelope ended.
    let detail = staff_page(&app, &session, &format!("/app/envelopes/{id}")).await;
    let progress = &detail[detail.find("署名の進行状況").unwrap()..];
    let progress = &progress[..progress.find("</section>").unwrap()];
    assert!(progress.contains("手続き終了"), "{progress}");
    assert!(!progress.contains("未完了"), "{progress}");
}

#[tokio::test]
async fn english_is_one_click_away_and_signer_links_are_rate_limited() {
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_with_clock(clock.clone()).await;
    let key = app.organization_with_login().await;
    let envelope = app
        .envelope(&key, "業務委託契約", "vendor@example.jp")
        .await;
    let id = envelope["id"].as_str().unwrap();
    let token = app.send_for_link(&key, id, "vendor@example.jp").await;

    // The switch keeps the choice in a cookie and comes back to the page (never elsewhere).
    let client = no_redirects();
    let r = client
        .get(format!("{}/lang?to=en&back=/s/{token}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/s/{token}"));
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = app
        .get(&format!("/s/{token}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Signature requested"), "{html}");
    assert!(html.contains("Start signing"), "{html}");
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    // Every way out is refused: another origin, and paths a browser turns into one (it drops
    // the tab of `/%09/evil.example/`, which leaves `//evil.example/`).
    for back in [
        "https://evil.example/",
        "//evil.example/",
        "/%09/evil.example/",
        "/%0D%0A/evil.example/",
        "/%5Cevil.example/",
        "/%2F%2Fevil.example/",
    ] {
        let r = client
            .get(format!("{}/lang?to=en&back={back}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/", "{back}");
    }

    // Past the deadline: the link says so.
    clock.advance(8 * 86_400);
    app.inkan.expire_due().await.unwrap();
    let r = app.get(&format!("/s/{token}")).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("署名期限を過ぎました"));

    // Guessing links: a client that keeps trying is slowed down.
    let mut limited = false;
    for i in 0..100 {
        let r = app.get(&format!("/s/guess-{i}")).send().await.unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            limited = true;
            break;
        }
        assert_eq!(r.status(), 404);
    }
    assert!(limited, "100 link guesses in a row were never limited");
}

/// The cookie `name` a response sets, as `name=value`.
fn set_cookie_pair(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn verification_api_certificate_downloads_and_the_signer_account_over_http() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let signer = "vendor@example.jp";
    let id = app.concluded(&key, "業務委託契約", signer).await;
    let e: Value = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["has_certificate"], true, "{e}");
    let conclusion_id = e["conclusion_id"].as_str().unwrap();
    let doc = e["documents"][0]["id"].as_str().unwrap();
    let signed = app
        .bytes(&key, &format!("/api/v1/envelopes/{id}/documents/{doc}"))
        .await;

    // The certificate: for staff by API and page, for the signer by the completion link.
    let r = app
        .get(&format!("/api/v1/envelopes/{id}/certificate"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(conclusion_id));
    let certificate = r.bytes().await.unwrap().to_vec();
    let other = app
        .organization("滝沢市", "keiyaku@takizawa.example.jp")
        .await;
    let r = app
        .get(&format!("/api/v1/envelopes/{id}/certificate"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    error_of(r, 404).await;
    let session = login(&app).await;
    let page = staff_page(&app, &session, &format!("/app/envelopes/{id}")).await;
    assert!(page.contains(&format!("/app/envelopes/{id}/certificate")));
    let by_page = app
        .get(&format!("/app/envelopes/{id}/certificate"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(by_page.to_vec(), certificate);
    let completion = app.link_token(signer, "c");
    let page = app
        .get(&format!("/c/{completion}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("電子契約締結証明書"));
    let by_link = app
        .get(&format!("/api/v1/completion/{completion}/certificate"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(by_link.to_vec(), certificate);

    // POST /api/v1/verify: JSON for the signed PDF, the certificate, and clear errors.
    let r = app
        .post("/api/v1/verify?name=契約書.pdf")
        .header("content-type", "application/pdf")
        .body(signed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["report"]["valid"], true, "{v:#}");
    assert_eq!(v["file_name"], "契約書.pdf");
    assert_eq!(v["conclusion"]["matches"], true);
    assert_eq!(v["conclusion"]["id"], conclusion_id);
    assert_eq!(v["conclusion"]["identical_to"], "業務委託契約書.pdf");
    let signatures = v["report"]["signatures"].as_array().unwrap();
    assert!(signatures.iter().any(|s| s["type"] == "document_timestamp"));
    assert!(signatures
        .iter()
        .filter(|s| s["type"] == "signature")
        .all(|s| s["ltv"] == true && s["timestamp"]["ok"] == true));
    let v: Value = app
        .post("/api/v1/verify")
        .body(certificate.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["report"]["valid"], true, "{v:#}");
    assert_eq!(v["conclusion"]["matches"], true);
    let r = app
        .post("/api/v1/verify")
        .body("not a pdf")
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("not a PDF"), "{message}");
    let r = app.post("/api/v1/verify").send().await.unwrap();
    error_of(r, 400).await;
    // The page answers a garbled upload with the form again, not an error page.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.7 garbage".to_vec()).file_name("x.pdf"),
    );
    let r = app.post("/verify").multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("この PDF は検証できません"), "{html}");
    assert!(html.contains("action=\"/verify\""));

    // The signer account: the forms need their CSRF token; a code opens the library.
    let client = no_redirects();
    let form = client
        .get(format!("{}/my/login", app.url))
        .send()
        .await
        .unwrap();
    let nonce = set_cookie_pair(&form, "inkan_account_login");
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let r = client
        .post(format!("{}/my/code", app.url))
        .header("cookie", &nonce)
        .form(&[("email", signer), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app
        .mails_to(signer)
        .iter()
        .all(|(s, _)| !s.contains("確認コード")));
    let r = client
        .post(format!("{}/my/code", app.url))
        .header("cookie", &nonce)
        .form(&[("email", signer), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let code = app.mailed_code(signer);
    let r = client
        .post(format!("{}/my/verify", app.url))
        .header("cookie", &nonce)
        .form(&[("email", signer), ("code", code.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let account = set_cookie_pair(&r, "inkan_account");
    let library = client
        .get(format!("{}/my", app.url))
        .header("cookie", &account)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(library.contains("業務委託契約"), "{library}");
    assert!(library.contains(&format!("/my/envelopes/{id}/certificate")));
    let mine = client
        .get(format!("{}/my/envelopes/{id}/certificate", app.url))
        .header("cookie", &account)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(mine.to_vec(), certificate);
    // No session: to the sign-in page; a forged one too.
    for cookie in ["", "inkan_account=v1.x.1.y.z"] {
        let r = client
            .get(format!("{}/my", app.url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/my/login");
    }
}

/// The address an envelope's creation was recorded under, when it was created with `headers`.
async fn recorded_address(app: &TestApp, key: &str, headers: &[(&str, &str)]) -> Option<String> {
    let mut request = app
        .post("/api/v1/envelopes")
        .bearer_auth(key)
        .json(&new_envelope("転送元の確認", "vendor@example.jp"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let staff = app
        .inkan
        .authenticate_api_key(key, &Default::default())
        .await
        .unwrap();
    let trail = app.inkan.audit_trail(&staff, Some(&id)).await.unwrap();
    let created = trail.iter().find(|e| e.entry.action == "create").unwrap();
    created.entry.ip.clone()
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let spoof = [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=198.51.100.1"),
    ];
    // Nobody trusted: a client's own header is ignored, in the trail and in the rate limits.
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    assert_eq!(
        recorded_address(&app, &key, &spoof).await.as_deref(),
        Some("127.0.0.1")
    );
    let mut limited = false;
    for i in 0..100 {
        let r = app
            .get(&format!("/s/guess-{i}"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(
        limited,
        "a new X-Forwarded-For on each request escaped the rate limit"
    );
    assert!(!app
        .get("/healthz")
        .send()
        .await
        .unwrap()
        .headers()
        .contains_key("strict-transport-security"));

    // Behind a trusted proxy (this test's loopback), the forwarded client is the client.
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    assert_eq!(
        recorded_address(&app, &key, &[("x-forwarded-for", "1.2.3.4, 203.0.113.9")])
            .await
            .as_deref(),
        Some("203.0.113.9")
    );
    assert_eq!(
        recorded_address(&app, &key, &[("forwarded", "for=\"[2001:db8::7]:4711\"")])
            .await
            .as_deref(),
        Some("2001:db8::7")
    );
}

/// Whether a session cookie still opens the dashboard.
async fn session_alive(app: &TestApp, session: &str) -> bool {
    let r = no_redirects()
        .get(format!("{}/app", app.url))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    r.status() == 200
}

#[tokio::test]
async fn sessions_end_on_the_server_at_logout_a_new_password_and_disabling() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    // Two devices; logging out on one ends both.
    let (laptop, phone) = (login(&app).await, login(&app).await);
    assert!(session_alive(&app, &laptop).await && session_alive(&app, &phone).await);
    let r = no_redirects()
        .post(format!("{}/logout", app.url))
        .header("cookie", &laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        !session_alive(&app, &laptop).await,
        "the cookie still works after logout"
    );
    assert!(
        !session_alive(&app, &phone).await,
        "the other device's session survived"
    );

    // A new password (an administrator's reset) ends the sessions too.
    let session = login(&app).await;
    let staff = app
        .inkan
        .session(session.split_once('=').unwrap().1, &Default::default())
        .await
        .unwrap();
    let me = staff.user.unwrap().to_string();
    let r = app
        .post(&format!("/api/v1/users/{me}/password"))
        .bearer_auth(&key)
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(!session_alive(&app, &session).await);

    // Disabling: sessions end and the login is refused like a wrong password. (Another
    // administrator first: the last one cannot be disabled.)
    let r = app
        .post("/api/v1/users")
        .bearer_auth(&key)
        .json(&json!({ "name": "副管理者", "email": "fuku@city.example.jp", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let session = login(&app).await;
    let r = app
        .post(&format!("/api/v1/users/{me}/disable"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(!session_alive(&app, &session).await);
    let unknown = app
        .inkan
        .login(
            "nobody@example.jp",
            PASSWORD,
            &inkan_service::Caller::default(),
        )
        .await
        .unwrap_err()
        .to_string();
    let disabled = app
        .inkan
        .login(ADMIN, PASSWORD, &inkan_service::Caller::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(unknown, disabled, "a disabled user is told nothing more");
}

#[tokio::test]
async fn the_dashboard_shows_work_that_failed_for_good() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let session = login(&app).await;
    let dashboard = || async {
        no_redirects()
            .get(format!("{}/app", app.url))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(!dashboard().await.contains("failed-jobs"));
    // An endpoint stored by hand on loopback: the policy refuses it, so its delivery fails for
    // good.
    let staff = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    app.inkan
        .store()
        .create_webhook(&inkan_store::Webhook {
            id: inkan_domain::WebhookId::new(),
            organization: staff.organization,
            url: "http://127.0.0.1:9/hook".into(),
            secret: "s".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    let id = app.envelope(&key, "通知の失敗", "vendor@example.jp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.send_for_link(&key, &id, "vendor@example.jp").await;
    let html = dashboard().await;
    assert!(html.contains("処理に失敗した作業があります"), "{html}");
    assert!(html.contains("Webhook の通知"), "{html}");
    assert!(html.contains("127.0.0.1"), "the reason is shown: {html}");
}

/// Posts the login form from `address` (behind the test's trusted proxy) as `email` with
/// `password`, asking to go to `next`: the response to the post.
async fn post_login(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let client = no_redirects();
    let form = client
        .get(format!("{}/login", app.url))
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap();
    let nonce = set_cookie_pair(&form, "inkan_login");
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    client
        .post(format!("{}/login", app.url))
        .header("x-forwarded-for", address)
        .header("cookie", &nonce)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// Logs the administrator in from `address`: the session cookie, or the status and page of
/// the refusal.
async fn login_from(app: &TestApp, address: &str, password: &str) -> Result<String, (u16, String)> {
    let r = post_login(app, address, ADMIN, password, "/app").await;
    if r.status() == 303 {
        Ok(set_cookie_pair(&r, "inkan_session"))
    } else {
        Err((r.status().as_u16(), r.text().await.unwrap()))
    }
}

/// IP制限: once the administrator lists the office's networks, staff pages, logins and API
/// keys answer only to addresses inside them (IPv4 and IPv6), a session opened elsewhere
/// stops working there, and every refusal is audited with its address; signer links answer
/// from anywhere. A list that shuts out its own author, or names a wrong network, is refused
/// with the reason and changes nothing; only administrators change it.
#[tokio::test]
async fn staff_work_only_from_the_allowed_networks_and_signers_from_anywhere() {
    const OFFICE: &str = "203.0.113.20";
    const HOME: &str = "198.51.100.7";
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        // The test's loopback is the reverse proxy; X-Forwarded-For carries the client.
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    let envelope = app
        .envelope(&key, "庁舎清掃業務委託契約", "vendor@example.jp")
        .await;
    let token = app
        .send_for_link(&key, envelope["id"].as_str().unwrap(), "vendor@example.jp")
        .await;
    let from = |request: reqwest::RequestBuilder, address: &str| {
        request.header("x-forwarded-for", address.to_string())
    };
    let page_from = |path: &str, session: &str, address: &str| {
        from(no_redirects().get(format!("{}{path}", app.url)), address)
            .header("cookie", session.to_string())
    };

    // No list yet: staff work from anywhere.
    let home_session = login_from(&app, HOME, PASSWORD).await.unwrap();
    let office_session = login_from(&app, OFFICE, PASSWORD).await.unwrap();
    let settings = page_from("/app/settings/security", &office_session, OFFICE)
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 200);
    let html = settings.text().await.unwrap();
    assert!(
        html.contains(&format!("<strong>{OFFICE}</strong>")),
        "the page shows the address: {html}"
    );
    let csrf = hidden(&html, "csrf");
    let save = |networks: &str, address: &str| {
        from(
            no_redirects().post(format!("{}/app/settings/security", app.url)),
            address,
        )
        .header("cookie", office_session.clone())
        .form(&[("csrf", csrf.as_str()), ("networks", networks)])
        .send()
    };
    let stored = || async {
        let r = from(app.get("/api/v1/organization/staff-networks"), OFFICE)
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["networks"].clone()
    };

    // A list without the saver's own address is refused, names it, and keeps what was typed.
    let r = save("192.0.2.0/24", OFFICE).await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("締め出されます"), "{html}");
    assert!(html.contains(OFFICE), "{html}");
    assert!(html.contains(">192.0.2.0/24</textarea>"), "{html}");
    // A wrong entry is named by its place in the list.
    let r = save("203.0.113.0/24\n2001:db8:10::/129", OFFICE)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("2 件目"), "{html}");
    assert!(html.contains("2001:db8:10::/129"), "{html}");
    assert_eq!(stored().await, json!([]), "nothing was saved");

    // Saved from the office, with an IPv6 network beside it.
    let r = save("203.0.113.0/24  # 本庁舎\n2001:db8:10::/48", OFFICE)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/app/settings/security?saved=true");
    assert_eq!(
        stored().await,
        json!(["203.0.113.0/24", "2001:db8:10::/48"])
    );

    // Pages: the session opened at home is refused there with the reason, not sent to login.
    let r = page_from("/app", &home_session, HOME).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("この接続元 (198.51.100.7) からは利用できません"),
        "{html}"
    );
    for (address, status) in [
        (OFFICE, 200),
        ("2001:db8:10::9", 200),
        ("2001:db8:11::9", 403),
        ("127.0.0.1", 403),
    ] {
        let r = page_from("/app/documents", &home_session, address)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "the dashboard from {address}");
    }
    // Logins: the right password from home learns the reason; a wrong one learns nothing more.
    let (status, html) = login_from(&app, HOME, PASSWORD).await.unwrap_err();
    assert_eq!(status, 403);
    assert!(html.contains("からは利用できません"), "{html}");
    let (status, html) = login_from(&app, HOME, "wrong password!").await.unwrap_err();
    assert_eq!(status, 401);
    assert!(!html.contains("からは利用できません"), "{html}");
    assert!(login_from(&app, "203.0.113.254", PASSWORD).await.is_ok());

    // API keys: the same list.
    for (address, status) in [
        (OFFICE, 200),
        (HOME, 403),
        ("2001:db8:10:1::1", 200),
        ("::ffff:203.0.113.5", 200),
        ("2001:db8:11::1", 403),
    ] {
        let r = from(app.get("/api/v1/envelopes"), address)
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "the API from {address}");
        if status == 403 {
            let (code, message) = error_of(r, 403).await;
            assert_eq!(code, "network_refused");
            assert!(message.contains(address), "{message}");
        }
    }
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "the proxy's own address is not in the list either"
    );

    // Signer links never consult the list.
    for path in [format!("/s/{token}"), format!("/api/v1/sign/{token}")] {
        let r = from(app.get(&path), HOME).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} from {HOME}");
    }

    // Only an administrator changes the list: a sending key may not, even from the office.
    let r = from(app.post("/api/v1/api-keys"), OFFICE)
        .bearer_auth(&key)
        .json(&json!({ "name": "会計システム", "scope": "send" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sender = r.json::<Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = from(app.put("/api/v1/organization/staff-networks"), OFFICE)
        .bearer_auth(&sender)
        .json(&json!({ "networks": [] }))
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(r, 409).await;
    assert_eq!(code, "not_allowed");
    // Over the API too, the list must keep the caller's address.
    let r = from(app.put("/api/v1/organization/staff-networks"), OFFICE)
        .bearer_auth(&key)
        .json(&json!({ "networks": ["2001:db8:10::/48"] }))
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains(OFFICE), "{message}");

    // The audit trail: every refusal with its address and what was refused, and the change.
    let office = inkan_service::Caller {
        ip: Some(OFFICE.parse().unwrap()),
        user_agent: None,
        link_pass: None,
    };
    let staff = app.inkan.authenticate_api_key(&key, &office).await.unwrap();
    let trail = app.inkan.audit_trail(&staff, None).await.unwrap();
    let refused: Vec<(String, String)> = trail
        .iter()
        .filter(|e| e.entry.action == "network_refused")
        .map(|e| {
            (
                e.entry.ip.clone().unwrap_or_default(),
                e.entry.detail["refused"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        (HOME, "session"),
        (HOME, "login"),
        (HOME, "api_key"),
        ("2001:db8:11::9", "session"),
        ("127.0.0.1", "api_key"),
    ] {
        assert!(
            refused.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {refused:?}"
        );
    }
    let changes: Vec<_> = trail
        .iter()
        .filter(|e| e.entry.action == "staff_networks_changed")
        .collect();
    assert_eq!(changes.len(), 1, "refused saves changed nothing");
    assert_eq!(changes[0].entry.ip.as_deref(), Some(OFFICE));
    assert_eq!(changes[0].entry.detail["before"], json!([]));
    assert_eq!(
        changes[0].entry.detail["after"],
        json!(["203.0.113.0/24", "2001:db8:10::/48"])
    );

    // An empty list lifts the restriction.
    let r = from(app.put("/api/v1/organization/staff-networks"), OFFICE)
        .bearer_auth(&key)
        .json(&json!({ "networks": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = page_from("/app", &home_session, HOME).send().await.unwrap();
    assert_eq!(r.status(), 200, "from home again");
}

/// A new client address behind the test's trusted proxy for each login request, so that the
/// per-client login rate limit (which a test of the second factor is not about) stays out of
/// the way.
fn next_address() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("198.18.{}.{}", n / 250, n % 250 + 1)
}

/// The password step of a login: where it sends the browser, and the cookie it sets there
/// (`inkan_session` when logged in, `inkan_mfa` when a code comes next).
async fn password_step(app: &TestApp) -> (String, String) {
    let r = post_login(app, &next_address(), ADMIN, PASSWORD, "/app/documents").await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let cookie = if location.starts_with("/login/") {
        set_cookie_pair(&r, "inkan_mfa")
    } else {
        set_cookie_pair(&r, "inkan_session")
    };
    (location, cookie)
}

/// Posts `code` to a second-factor form at `path` (`/login/code`, `/login/enrol`) under the
/// pending login `mfa`: the response.
async fn post_code(
    app: &TestApp,
    path: &str,
    mfa: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = no_redirects()
        .get(format!("{}{path}?next=/app/documents", app.url))
        .header("cookie", mfa)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{path}");
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let mut form = vec![("csrf", csrf.as_str()), ("next", "/app/documents")];
    form.extend_from_slice(fields);
    no_redirects()
        .post(format!("{}{path}", app.url))
        .header("x-forwarded-for", next_address())
        .header("cookie", mfa)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The text of `<code id="totp-secret">` on an enrolment page.
fn offered_secret(html: &str) -> String {
    let start =
        html.find("id=\"totp-secret\">").expect("an offered secret") + "id=\"totp-secret\">".len();
    html[start..].split('<').next().unwrap().to_string()
}

/// The recovery codes an enrolment shows once.
fn recovery_codes(html: &str) -> Vec<String> {
    let list = html
        .split("id=\"recovery-codes\"")
        .nth(1)
        .expect("recovery codes");
    list.split("<code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .take_while(|s| s.len() == 14)
        .collect()
}

fn code_of(secret: &str, at: i64) -> String {
    inkan_service::mfa::TotpSecret::from_base32(secret)
        .unwrap()
        .code_at(at)
}

/// 多要素認証 over HTTP: a user enrols an authenticator on their own page (a wrong code first,
/// then the right one; ten recovery codes shown once); the password then leads to the code,
/// not to a session; each code is accepted once (the enrolment's own code included), and each
/// recovery code once; five wrong codes lock the codes for fifteen minutes; a pending login
/// dies after ten minutes; when the organization requires MFA nobody removes theirs, and a
/// user whose MFA an administrator reset enrols again before any session exists. Every step
/// is in the audit trail.
#[tokio::test]
async fn a_second_factor_after_the_password_accepted_once_per_code() {
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_configured(clock.clone(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    let now = || inkan_service::Clock::now(clock.as_ref());

    // Without MFA the password is enough.
    let (location, session) = password_step(&app).await;
    assert_eq!(location, "/app/documents");
    let page = staff_page(&app, &session, "/app/account/mfa").await;
    assert!(page.contains("<svg"), "a QR code: {page}");
    let secret = offered_secret(&page);
    assert_eq!(secret.len(), 32);
    let csrf = hidden(&page, "csrf");
    let enrol = |code: String, secret: String| {
        no_redirects()
            .post(format!("{}/app/account/mfa", app.url))
            .header("cookie", session.clone())
            .form(&[("csrf", csrf.clone()), ("secret", secret), ("code", code)])
            .send()
    };
    let right = code_of(&secret, now());
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let r = enrol(wrong, secret.clone()).await.unwrap();
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(html.contains("コードが違うか"), "{html}");
    assert_eq!(
        offered_secret(&html),
        secret,
        "the same secret is offered again"
    );
    let r = enrol(code_of(&secret, now()), secret.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let codes = recovery_codes(&r.text().await.unwrap());
    assert_eq!(codes.len(), 10, "{codes:?}");
    let page = staff_page(&app, &session, "/app/account/mfa").await;
    assert!(page.contains("認証アプリを登録済みです"), "{page}");
    assert!(page.contains("残りのリカバリーコード: 10"), "{page}");

    // The password now leads to the code; the enrolment's code does not log in.
    let (location, mfa) = password_step(&app).await;
    assert_eq!(location, "/login/code?next=%2Fapp%2Fdocuments");
    let used = code_of(&secret, now());
    let r = post_code(&app, "/login/code", &mfa, &[("code", &used)]).await;
    assert_eq!(r.status(), 401, "the enrolment's code is spent");
    clock.advance(30);
    let fresh = code_of(&secret, now());
    let r = post_code(&app, "/login/code", &mfa, &[("code", &fresh)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/app/documents");
    let session = set_cookie_pair(&r, "inkan_session");
    assert!(session_alive(&app, &session).await);
    // The same code again, on a new pending login: refused.
    let (_, mfa) = password_step(&app).await;
    let r = post_code(&app, "/login/code", &mfa, &[("code", &fresh)]).await;
    assert_eq!(r.status(), 401);
    // A recovery code (typed in capitals with spaces), once.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let r = post_code(&app, "/login/code", &mfa, &[("code", &typed)]).await;
    assert_eq!(r.status(), 303);
    let (_, mfa) = password_step(&app).await;
    let r = post_code(&app, "/login/code", &mfa, &[("code", &codes[3])]).await;
    assert_eq!(r.status(), 401, "a recovery code is used once");

    // Five wrong codes in fifteen minutes lock the user's codes, even the right one, for
    // fifteen minutes (a new window first: the refusals above counted too).
    clock.advance(901);
    let (_, mfa) = password_step(&app).await;
    let wrong = format!(
        "{:06}",
        (code_of(&secret, now()).parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for attempt in 1..=5 {
        let r = post_code(&app, "/login/code", &mfa, &[("code", &wrong)]).await;
        assert_eq!(r.status(), 401, "wrong code {attempt}");
    }
    let r = post_code(
        &app,
        "/login/code",
        &mfa,
        &[("code", &code_of(&secret, now()))],
    )
    .await;
    assert_eq!(r.status(), 403, "locked");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("までコードを受け付けません"));
    // The pending login runs out after ten minutes: back to the password.
    clock.advance(601);
    let r = post_code(
        &app,
        "/login/code",
        &mfa,
        &[("code", &code_of(&secret, now()))],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    clock.advance(300);
    let (_, mfa) = password_step(&app).await;
    let r = post_code(
        &app,
        "/login/code",
        &mfa,
        &[("code", &code_of(&secret, now()))],
    )
    .await;
    assert_eq!(r.status(), 303, "unlocked after fifteen minutes");
    let session = set_cookie_pair(&r, "inkan_session");

    // Required by the organization: nobody removes theirs.
    let r = app
        .put("/api/v1/organization/mfa-required")
        .bearer_auth(&key)
        .json(&json!({ "required": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = staff_page(&app, &session, "/app/account/mfa").await;
    assert!(page.contains("多要素認証が必須です"), "{page}");
    assert!(!page.contains("id=\"remove\""), "{page}");
    let csrf = hidden(&page, "csrf");
    clock.advance(30);
    let r = no_redirects()
        .post(format!("{}/app/account/mfa/remove", app.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("code", &code_of(&secret, now()))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // An administrator resets it (a lost phone): sessions end, and the next login enrols.
    let staff = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    let me = app
        .inkan
        .session(session.split_once('=').unwrap().1, &Default::default())
        .await
        .unwrap()
        .user
        .unwrap();
    let r = app
        .post(&format!("/api/v1/users/{me}/mfa/reset"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(!session_alive(&app, &session).await);
    let (location, mfa) = password_step(&app).await;
    assert_eq!(location, "/login/enrol?next=%2Fapp%2Fdocuments");
    let page = no_redirects()
        .get(format!("{}/login/enrol", app.url))
        .header("cookie", &mfa)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = offered_secret(&page);
    assert!(
        no_redirects()
            .get(format!("{}/app", app.url))
            .header("cookie", &mfa)
            .send()
            .await
            .unwrap()
            .status()
            == 303,
        "a pending login is no session"
    );
    let r = post_code(
        &app,
        "/login/enrol",
        &mfa,
        &[("secret", &secret), ("code", "000000")],
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = post_code(
        &app,
        "/login/enrol",
        &mfa,
        &[("secret", &secret), ("code", &code_of(&secret, now()))],
    )
    .await;
    assert_eq!(r.status(), 200);
    let session = set_cookie_pair(&r, "inkan_session");
    assert_eq!(recovery_codes(&r.text().await.unwrap()).len(), 10);
    assert!(session_alive(&app, &session).await);

    // The audit trail.
    let trail = app.inkan.audit_trail(&staff, None).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    for action in [
        "mfa_enrolled",
        "mfa_failed",
        "mfa_required_changed",
        "mfa_reset",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let methods: Vec<String> = trail
        .iter()
        .filter(|e| e.entry.action == "login")
        .filter_map(|e| e.entry.detail["mfa"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        methods,
        ["totp", "recovery_code", "totp", "enrolled"],
        "{methods:?}"
    );
    let locked = trail
        .iter()
        .filter(|e| e.entry.action == "mfa_failed")
        .any(|e| e.entry.detail["locked_until"].is_number());
    assert!(locked, "the lock is in the trail");
}

/// Logs `email` in with `password` (no second factor): the session cookie.
async fn login_as(app: &TestApp, email: &str, password: &str) -> String {
    let r = post_login(app, &next_address(), email, password, "/app").await;
    assert_eq!(r.status(), 303, "login of {email}");
    set_cookie_pair(&r, "inkan_session")
}

/// A staff page's status and HTML.
async fn page_of(app: &TestApp, session: &str, path: &str) -> (u16, String) {
    let r = no_redirects()
        .get(format!("{}{path}", app.url))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, format!("{location}{}", r.text().await.unwrap()))
}

/// The password of the staff users [`add_staff`] makes.
const STAFF_PASSWORD: &str = "a long enough password";

/// Staff users of the organization of `key`, by email and role (named by their email, with
/// [`STAFF_PASSWORD`]): their IDs by email.
async fn add_staff(
    app: &TestApp,
    key: &str,
    users: &[(&'static str, &str)],
) -> std::collections::HashMap<&'static str, String> {
    let mut ids = std::collections::HashMap::new();
    for (email, role) in users {
        let r = app
            .post("/api/v1/users")
            .bearer_auth(key)
            .json(
                &json!({ "name": email, "email": email, "password": STAFF_PASSWORD, "role": role }),
            )
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["role"], *role, "{body}");
        ids.insert(*email, body["id"].as_str().unwrap().to_string());
    }
    ids
}

/// Roles: each staff member reads and does what their role allows, on every surface — the
/// dashboard, an envelope's page, its downloads and page images, 文書管理 and its CSV, the API —
/// and a direct URL to an envelope they may not read is "not found". A sender reads what they
/// sent; a viewer reads everything and changes nothing; a system administrator manages users
/// and reads no document. The last administrator keeps the role; every change is audited.
#[tokio::test]
async fn roles_decide_what_each_staff_member_reads_and_does() {
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    const PW: &str = STAFF_PASSWORD;
    let ids = add_staff(
        &app,
        &key,
        &[
            ("sender.a@city.example.jp", "sender"),
            ("sender.b@city.example.jp", "sender"),
            ("viewer@city.example.jp", "document_viewer"),
            ("system@city.example.jp", "system_admin"),
        ],
    )
    .await;
    // The administrator's envelope (made with their key), and sender A's own.
    let city = app.envelope(&key, "市の契約", "vendor@example.jp").await;
    let city_id = city["id"].as_str().unwrap().to_string();
    let city_doc = city["documents"][0]["id"].as_str().unwrap().to_string();
    let sender_a = app
        .inkan
        .login("sender.a@city.example.jp", PW, &Default::default())
        .await
        .unwrap()
        .done()
        .unwrap();
    let input: inkan_service::NewEnvelope =
        serde_json::from_value(new_envelope("送信者Aの契約", "vendor@example.jp")).unwrap();
    let own = app
        .inkan
        .create_envelope(&sender_a, &input, &Default::default())
        .await
        .unwrap();

    let a = login_as(&app, "sender.a@city.example.jp", PW).await;
    let b = login_as(&app, "sender.b@city.example.jp", PW).await;
    let viewer = login_as(&app, "viewer@city.example.jp", PW).await;
    let system = login_as(&app, "system@city.example.jp", PW).await;
    let city_page = format!("/app/envelopes/{city_id}");
    let own_page = format!("/app/envelopes/{}", own.id);
    let city_download = format!("/app/envelopes/{city_id}/documents/{city_doc}/download");
    let city_image = format!("/app/envelopes/{city_id}/documents/{city_doc}/pages/1.png");

    // Sender A: their own only, everywhere.
    let (_, dashboard) = page_of(&app, &a, "/app").await;
    assert!(
        dashboard.contains("送信者Aの契約") && !dashboard.contains("市の契約"),
        "{dashboard}"
    );
    assert_eq!(page_of(&app, &a, &own_page).await.0, 200);
    for path in [&city_page, &city_download, &city_image] {
        assert_eq!(page_of(&app, &a, path).await.0, 404, "{path} for sender A");
    }
    let (_, csv) = page_of(&app, &a, "/app/documents.csv").await;
    assert!(!csv.contains(&city_id), "{csv}");
    // Sender B: neither.
    let (_, dashboard) = page_of(&app, &b, "/app").await;
    assert!(
        !dashboard.contains("送信者Aの契約") && !dashboard.contains("市の契約"),
        "{dashboard}"
    );
    assert_eq!(page_of(&app, &b, &own_page).await.0, 404);
    // The viewer: everything, and no change.
    let (_, dashboard) = page_of(&app, &viewer, "/app").await;
    assert!(
        dashboard.contains("送信者Aの契約") && dashboard.contains("市の契約"),
        "{dashboard}"
    );
    assert!(
        !dashboard.contains("/app/envelopes/new"),
        "no new envelope link for a viewer"
    );
    for path in [&city_page, &own_page, &city_download, &city_image] {
        assert_eq!(
            page_of(&app, &viewer, path).await.0,
            200,
            "{path} for the viewer"
        );
    }
    let (_, viewer_page) = page_of(&app, &viewer, &city_page).await;
    assert!(
        !viewer_page.contains("id=\"cancel\""),
        "no cancel offered to a viewer"
    );
    let (_, manager_page) = page_of(&app, &a, &own_page).await;
    assert!(
        manager_page.contains("id=\"cancel\""),
        "a sender may cancel their own"
    );
    let csrf = hidden(&viewer_page, "csrf");
    let r = no_redirects()
        .post(format!("{}/app/envelopes/{city_id}/cancel", app.url))
        .header("cookie", &viewer)
        .form(&[("csrf", csrf.as_str()), ("reason", "閲覧者の取消")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("この権限では"));
    // The system administrator: users, not documents.
    let (status, home) = page_of(&app, &system, "/app").await;
    assert_eq!(
        (status, home.starts_with("/app/settings/users")),
        (303, true),
        "{home}"
    );
    for path in [&city_page, &own_page, &city_download] {
        assert_eq!(
            page_of(&app, &system, path).await.0,
            404,
            "{path} for the system administrator"
        );
    }
    assert_ne!(page_of(&app, &system, "/app/documents").await.0, 200);
    let (status, users) = page_of(&app, &system, "/app/settings/users").await;
    assert_eq!(status, 200);
    assert!(users.contains("viewer@city.example.jp"), "{users}");
    // A system administrator cannot give (or take over) more reading than they have: no
    // document manager invited, no viewer made an administrator, no key that reads; a sender
    // (who reads only their own) they may invite.
    let csrf = hidden(&users, "csrf");
    let post_as_system = |path: String, form: Vec<(&'static str, String)>| {
        let system = system.clone();
        let url = format!("{}{path}", app.url);
        let csrf = csrf.clone();
        async move {
            let mut form = form;
            form.push(("csrf", csrf));
            no_redirects()
                .post(url)
                .header("cookie", system)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let invite = |role: &'static str, email: &'static str| {
        vec![
            ("name", "新任".to_string()),
            ("email", email.to_string()),
            ("role", role.to_string()),
        ]
    };
    let r = post_as_system(
        "/app/settings/users".into(),
        invite("document_manager", "manager@city.example.jp"),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("文書を閲覧できない権限では"));
    let r = post_as_system(
        format!("/app/settings/users/{}/role", ids["viewer@city.example.jp"]),
        vec![("role", "admin".into())],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = post_as_system(
        "/app/settings/users".into(),
        invite("sender", "sender.c@city.example.jp"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let system_staff = app
        .inkan
        .login("system@city.example.jp", PW, &Default::default())
        .await
        .unwrap()
        .done()
        .unwrap();
    assert!(app
        .inkan
        .create_api_key(
            &system_staff,
            "読み取り",
            inkan_store::ApiKeyScope::Read,
            &Default::default()
        )
        .await
        .is_err());
    assert!(app
        .inkan
        .set_password(
            &system_staff,
            &ids["viewer@city.example.jp"],
            "taken over password",
            &Default::default()
        )
        .await
        .is_err());

    // …and not the other way round: a sender has no users page.
    assert_ne!(page_of(&app, &a, "/app/settings/users").await.0, 200);

    // A new role takes effect on the next request: sender B becomes a viewer.
    let r = app
        .put(&format!(
            "/api/v1/users/{}/role",
            ids["sender.b@city.example.jp"]
        ))
        .bearer_auth(&key)
        .json(&json!({ "role": "document_viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(page_of(&app, &b, &city_page).await.0, 200);
    // The last administrator keeps the role.
    let admin_id = app
        .get("/api/v1/users")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == ADMIN)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(&format!("/api/v1/users/{admin_id}/role"))
        .bearer_auth(&key)
        .json(&json!({ "role": "sender" }))
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 409).await;
    assert_eq!(code, "not_allowed");
    assert!(message.contains("最後の管理者"), "{message}");
    let r = app
        .post(&format!("/api/v1/users/{admin_id}/disable"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let (_, message) = error_of(r, 409).await;
    assert!(message.contains("最後の管理者"), "nor disabled: {message}");
    // An unknown role is named.
    let r = app
        .put(&format!("/api/v1/users/{admin_id}/role"))
        .bearer_auth(&key)
        .json(&json!({ "role": "member" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // API keys: a read key reads and changes nothing, as before.
    let staff = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    let trail = app.inkan.audit_trail(&staff, None).await.unwrap();
    let changed: Vec<_> = trail
        .iter()
        .filter(|e| e.entry.action == "role_changed")
        .map(|e| {
            (
                e.entry.detail["before"].clone(),
                e.entry.detail["after"].clone(),
            )
        })
        .collect();
    assert_eq!(changed, vec![(json!("sender"), json!("document_viewer"))]);
}

/// An invitation: the administrator invites from the users page; the invited user gets a mail
/// whose link sets their password once (two different passwords are refused with the reason),
/// then logs in with the role they were given; the link does not work again.
#[tokio::test]
async fn an_invited_user_sets_their_own_password_once() {
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    let admin = login_as(&app, ADMIN, PASSWORD).await;
    let (_, users) = page_of(&app, &admin, "/app/settings/users").await;
    let csrf = hidden(&users, "csrf");
    const NEW: &str = "shinnin@city.morioka.example.jp";
    let r = no_redirects()
        .post(format!("{}/app/settings/users", app.url))
        .header("cookie", &admin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "新任 一郎"),
            ("email", NEW),
            ("department", "総務部"),
            ("role", "sender"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/app/settings/users?done=invited");
    let (_, users) = page_of(&app, &admin, "/app/settings/users").await;
    assert!(users.contains(NEW) && users.contains("招待中"), "{users}");

    let (subject, text) = app.mails_to(NEW).pop().expect("an invitation mail");
    assert!(subject.contains("盛岡市"), "{subject}");
    assert!(text.contains("送信者"), "{text}");
    let marker = format!("{}/invite/", app.url);
    let start = text.find(&marker).expect("the link") + marker.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let invite = format!("/invite/{token}");
    let page = app.get(&invite).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("新任 一郎"), "{page}");
    let csrf = hidden(&page, "csrf");
    let post = |password: &str, again: &str| {
        no_redirects()
            .post(format!("{}{invite}", app.url))
            .header("x-forwarded-for", next_address())
            .form(&[
                ("csrf", csrf.as_str()),
                ("password", password),
                ("again", again),
            ])
            .send()
    };
    let r = post("first password 1", "first password 2").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("一致しません"));
    let r = post("short", "short").await.unwrap();
    assert_eq!(r.status(), 400, "too short");
    let r = post("the new one's password", "the new one's password")
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?invited=true");
    let session = login_as(&app, NEW, "the new one's password").await;
    assert_eq!(page_of(&app, &session, "/app").await.0, 200);
    assert_ne!(
        page_of(&app, &session, "/app/settings/users").await.0,
        200,
        "a sender"
    );
    // Used: gone.
    let r = app.get(&invite).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let r = post("another password!", "another password!")
        .await
        .unwrap();
    assert_eq!(r.status(), 410);

    let staff = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    let trail = app.inkan.audit_trail(&staff, None).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    for action in ["add_user", "user_invited", "invitation_accepted"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

/// 操作ログ for administrators: the organization's trail, newest first, filtered by staff
/// member, action and days in Japan (a day is whole, from midnight JST), on the page and over
/// the API; a wrong date is named; other roles have no log.
#[tokio::test]
async fn the_operations_log_is_filtered_by_user_action_and_day() {
    let clock = std::sync::Arc::new(inkan_service::ShiftedClock::default());
    let app = TestApp::start_configured(clock.clone(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    let day = |at: i64| inkan_domain::CalendarDate::jst(at).format(inkan_domain::DateFormat::Iso);
    let first_day = day(inkan_service::Clock::now(clock.as_ref()));
    let r = app
        .post("/api/v1/users")
        .bearer_auth(&key)
        .json(
            &json!({ "name": "閲覧 三郎", "email": "etsuran@city.example.jp",
                       "password": "a long enough password", "role": "document_viewer" }),
        )
        .send()
        .await
        .unwrap();
    let viewer_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    login_as(&app, ADMIN, PASSWORD).await;
    app.envelope(&key, "ログの確認", "vendor@example.jp").await;
    clock.advance(2 * 86_400);
    let third_day = day(inkan_service::Clock::now(clock.as_ref()));
    let admin = login_as(&app, ADMIN, PASSWORD).await;
    let viewer = login_as(&app, "etsuran@city.example.jp", "a long enough password").await;

    let rows = |html: &str| -> Vec<String> {
        html.split("<tr data-action=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    let log = |query: String| {
        let admin = admin.clone();
        let app = &app;
        async move { page_of(app, &admin, &format!("/app/settings/audit{query}")).await }
    };
    let (status, all) = log(String::new()).await;
    assert_eq!(status, 200, "{all}");
    let everything = rows(&all);
    assert_eq!(
        everything.first().map(String::as_str),
        Some("login"),
        "newest first: {everything:?}"
    );
    for action in ["create", "login", "add_user"] {
        assert!(
            everything.iter().any(|a| a == action),
            "{action} in {everything:?}"
        );
    }
    let (_, by_viewer) = log(format!("?user={viewer_id}")).await;
    assert_eq!(rows(&by_viewer), ["login"], "{by_viewer}");
    assert!(by_viewer.contains("閲覧 三郎"));
    let (_, creates) = log("?action=create".into()).await;
    assert_eq!(rows(&creates), ["create"]);
    let (_, later) = log(format!("?from={third_day}")).await;
    assert_eq!(rows(&later), ["login", "login"], "only the third day");
    let (_, earlier) = log(format!("?to={first_day}&action=login")).await;
    assert_eq!(
        rows(&earlier),
        ["login"],
        "the administrator's login on the first day"
    );
    assert!(earlier.contains("契約花子"), "{earlier}");
    let (status, wrong) = log("?from=2026-02-30".into()).await;
    assert_eq!(status, 400, "{wrong}");
    assert_ne!(page_of(&app, &viewer, "/app/settings/audit").await.0, 200);

    // The API: the same filter.
    let r = app
        .get("/api/v1/audit?action=login")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let lines: Value = r.json().await.unwrap();
    let names: Vec<&str> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["actor"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["閲覧 三郎", "契約花子", "契約花子"]);
}

/// パスワードの変更: the current password is required (a wrong one is refused and audited), the
/// two new ones must agree; the change ends every other session and keeps this browser logged
/// in with a new one; the new password logs in, the old one does not.
#[tokio::test]
async fn staff_change_their_own_password() {
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    let elsewhere = login_as(&app, ADMIN, PASSWORD).await;
    let here = login_as(&app, ADMIN, PASSWORD).await;
    let (status, page) = page_of(&app, &here, "/app/account/password").await;
    assert_eq!(status, 200);
    let csrf = hidden(&page, "csrf");
    let post = |current: &str, password: &str, again: &str| {
        no_redirects()
            .post(format!("{}/app/account/password", app.url))
            .header("cookie", here.clone())
            .header("x-forwarded-for", next_address())
            .form(&[
                ("csrf", csrf.as_str()),
                ("current", current),
                ("password", password),
                ("again", again),
            ])
            .send()
    };
    const NEW: &str = "a brand new password";
    let r = post("not the password", NEW, NEW).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("今のパスワードが違います"));
    let r = post(PASSWORD, NEW, "something else entirely")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(session_alive(&app, &elsewhere).await, "nothing changed yet");
    let r = post(PASSWORD, NEW, NEW).await.unwrap();
    assert_eq!(r.status(), 303);
    let renewed = set_cookie_pair(&r, "inkan_session");
    assert!(session_alive(&app, &renewed).await, "this browser stays in");
    assert!(
        !session_alive(&app, &elsewhere).await,
        "every other session ended"
    );
    assert!(!session_alive(&app, &here).await);
    let r = post_login(&app, &next_address(), ADMIN, PASSWORD, "/app").await;
    assert_eq!(r.status(), 401, "the old password");
    login_as(&app, ADMIN, NEW).await;

    let staff = app
        .inkan
        .authenticate_api_key(&key, &Default::default())
        .await
        .unwrap();
    let actions: Vec<String> = app
        .inkan
        .audit_trail(&staff, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for action in ["password_change_refused", "set_password"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

/// API キー from the pages: an administrator makes a read key (its secret shown once, on an
/// answer that is not cached), the key reads and may not send, the list shows it without its
/// secret, and revoking it ends it at once.
#[tokio::test]
async fn administrators_make_and_revoke_api_keys_on_their_page() {
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.organization_with_login().await;
    let admin = login_as(&app, ADMIN, PASSWORD).await;
    let (status, page) = page_of(&app, &admin, "/app/settings/api-keys").await;
    assert_eq!(status, 200);
    let csrf = hidden(&page, "csrf");
    let post = |path: &str, form: Vec<(&str, &str)>| {
        let mut form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.push(("csrf".into(), csrf.clone()));
        no_redirects()
            .post(format!("{}{path}", app.url))
            .header("cookie", admin.clone())
            .form(&form)
            .send()
    };
    let r = post(
        "/app/settings/api-keys",
        vec![("name", "会計システム"), ("scope", "read")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let start = html
        .find("id=\"new-key-secret\">")
        .expect("the secret, once")
        + 20;
    let secret = html[start..].split('<').next().unwrap().to_string();
    assert!(secret.starts_with("inkan_"), "{secret}");
    let (_, list) = page_of(&app, &admin, "/app/settings/api-keys").await;
    assert!(
        list.contains("会計システム") && !list.contains(&secret),
        "never shown again"
    );
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&secret)
        .json(&new_envelope("読み取りキー", "vendor@example.jp"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a read key does not send");
    let r = post(
        "/app/settings/api-keys",
        vec![("name", "x"), ("scope", "root")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);

    let row = list.split("data-name=\"会計システム\"").nth(1).unwrap();
    let id = row
        .split("/app/settings/api-keys/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let r = post(&format!("/app/settings/api-keys/{id}/revoke"), vec![])
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "revoked at once");
    let (_, list) = page_of(&app, &admin, "/app/settings/api-keys").await;
    assert!(list.contains("無効化済み"), "{list}");
}

/// Posts a form (fields may repeat) as a logged-in staff member, without following redirects.
async fn post_form(
    app: &TestApp,
    session: &str,
    path: &str,
    form: &[(&str, String)],
) -> reqwest::Response {
    no_redirects()
        .post(format!("{}{path}", app.url))
        .header("cookie", session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.iter()
                .map(|(k, v)| format!("{k}={}", urlencoding(v)))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .unwrap()
}

/// 閲覧権限・フォルダ: folders granted to groups decide what document managers and senders read,
/// on the dashboard, an envelope's page and downloads, 文書管理 and its CSV; a direct URL to an
/// invisible envelope is "not found"; sharing one envelope opens it to one colleague; moves and
/// every setting are audited; a folder can be required; only an administrator who reads every
/// document manages groups and folders.
#[tokio::test]
async fn folders_granted_to_groups_decide_who_reads_each_envelope() {
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let key = app.organization_with_login().await;
    const PW: &str = STAFF_PASSWORD;
    let ids = add_staff(
        &app,
        &key,
        &[
            ("keiyaku@city.example.jp", "document_manager"),
            ("hisho@city.example.jp", "document_manager"),
            ("sender@city.example.jp", "sender"),
            ("system@city.example.jp", "system_admin"),
        ],
    )
    .await;
    let admin = login_as(&app, ADMIN, PASSWORD).await;
    let (status, settings) = page_of(&app, &admin, "/app/settings/folders").await;
    assert_eq!(status, 200, "{settings}");
    let csrf = hidden(&settings, "csrf");
    let form = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        let mut form: Vec<(&'static str, String)> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        form.push(("csrf", csrf.clone()));
        form
    };

    // A group 契約検査課 (the contract manager and the sender), on the page.
    let r = post_form(
        &app,
        &admin,
        "/app/settings/folders/groups",
        &form(&[
            ("name", "契約検査課"),
            ("members", &ids["keiyaku@city.example.jp"]),
            ("members", &ids["sender@city.example.jp"]),
        ]),
    )
    .await;
    assert_eq!(r.status(), 303);
    let groups: Value = app
        .get("/api/v1/groups")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group = groups[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        groups[0]["members"].as_array().unwrap().len(),
        2,
        "{groups}"
    );
    // Folders: 契約検査課 (granted) with 令和8年度 under it; 秘書課 (granted to nobody).
    let r = post_form(
        &app,
        &admin,
        "/app/settings/folders",
        &form(&[("name", "契約検査課"), ("grants", &group)]),
    )
    .await;
    assert_eq!(r.status(), 303);
    let folder = |name: &str, parent: Option<&str>| {
        let body = json!({ "name": name, "parent": parent });
        let key = key.clone();
        let app = &app;
        async move {
            let r = app
                .post("/api/v1/folders")
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        }
    };
    let listed: Value = app
        .get("/api/v1/folders")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contracts = listed[0]["id"].as_str().unwrap().to_string();
    let year = folder("令和8年度", Some(&contracts)).await;
    let secretary = folder("秘書課", None).await;
    let (_, settings) = page_of(&app, &admin, "/app/settings/folders").await;
    assert!(
        settings.contains("令和8年度") && settings.contains("（管理者のみ）"),
        "{settings}"
    );

    // Envelopes: one in 令和8年度 (reached through its parent's grant), one in 秘書課, one in
    // no folder.
    let in_folder = |title: &str, folder: Option<&str>| {
        let mut body = new_envelope(title, "vendor@example.jp");
        body["folder"] = json!(folder);
        let key = key.clone();
        let app = &app;
        async move {
            let r = app
                .post("/api/v1/envelopes")
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let yearly = in_folder("年度の契約", Some(&year)).await;
    let secret = in_folder("秘書課の契約", Some(&secretary)).await;
    let unfiled = in_folder("フォルダなしの契約", None).await;
    assert_eq!(yearly["folder"], json!(year));
    let id = |e: &Value| e["id"].as_str().unwrap().to_string();
    let download = |e: &Value| {
        format!(
            "/app/envelopes/{}/documents/{}/download",
            id(e),
            e["documents"][0]["id"].as_str().unwrap()
        )
    };

    let keiyaku = login_as(&app, "keiyaku@city.example.jp", PW).await;
    let hisho = login_as(&app, "hisho@city.example.jp", PW).await;
    let sender = login_as(&app, "sender@city.example.jp", PW).await;
    let system = login_as(&app, "system@city.example.jp", PW).await;
    // Who reads what: (session, yearly, secret, unfiled).
    let expect = |session: &str, who: &str, reads: [bool; 3]| {
        let session = session.to_string();
        let who = who.to_string();
        let all = [yearly.clone(), secret.clone(), unfiled.clone()];
        let app = &app;
        async move {
            let (_, dashboard) = page_of(app, &session, "/app").await;
            let (_, search) = page_of(app, &session, "/app/documents").await;
            let (_, csv) = page_of(app, &session, "/app/documents.csv").await;
            for (e, reads) in all.iter().zip(reads) {
                let title = e["title"].as_str().unwrap();
                let page = format!("/app/envelopes/{}", id(e));
                let want = if reads { 200 } else { 404 };
                assert_eq!(
                    dashboard.contains(title),
                    reads,
                    "{who}: {title} on the dashboard"
                );
                assert_eq!(search.contains(title), reads, "{who}: {title} in 文書管理");
                assert_eq!(csv.contains(&id(e)), reads, "{who}: {title} in the CSV");
                assert_eq!(page_of(app, &session, &page).await.0, want, "{who}: {page}");
                assert_eq!(
                    page_of(app, &session, &download(e)).await.0,
                    want,
                    "{who}: download of {title}"
                );
            }
        }
    };
    expect(&admin, "the administrator", [true, true, true]).await;
    expect(&keiyaku, "the contract manager", [true, false, true]).await;
    expect(&hisho, "a manager in no group", [false, false, true]).await;
    expect(&sender, "a sender in the group", [true, false, false]).await;

    // Sharing one envelope with one colleague opens it to them alone.
    let secret_page = format!("/app/envelopes/{}", id(&secret));
    let (_, page) = page_of(&app, &admin, &secret_page).await;
    assert!(
        page.contains("秘書課") && page.contains("id=\"share-form\""),
        "{page}"
    );
    let r = post_form(
        &app,
        &admin,
        &format!("{secret_page}/shares"),
        &form(&[("users", &ids["hisho@city.example.jp"])]),
    )
    .await;
    assert_eq!(r.status(), 303);
    expect(&hisho, "a manager it is shared with", [false, true, true]).await;
    expect(&keiyaku, "the contract manager", [true, false, true]).await;

    // Moving the yearly envelope to 秘書課 takes it from the group; the move is audited.
    let r = post_form(
        &app,
        &admin,
        &format!("/app/envelopes/{}/folder", id(&yearly)),
        &form(&[("folder", &secretary)]),
    )
    .await;
    assert_eq!(r.status(), 303);
    expect(
        &keiyaku,
        "the contract manager after the move",
        [false, false, true],
    )
    .await;
    let trail: Value = app
        .get(&format!("/api/v1/envelopes/{}/audit", id(&yearly)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moved = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "envelope_moved")
        .unwrap_or_else(|| panic!("no move in {trail}"));
    assert_eq!(moved["detail"]["to"], json!(secretary), "{moved}");
    assert_eq!(moved["detail"]["from"], json!(year), "{moved}");

    // A sender moves their own into a folder of their group only; a folder they may not
    // choose is "not found".
    let own = app
        .inkan
        .login("sender@city.example.jp", PW, &Default::default())
        .await
        .unwrap()
        .done()
        .unwrap();
    let mut input: inkan_service::NewEnvelope =
        serde_json::from_value(new_envelope("送信者の契約", "vendor@example.jp")).unwrap();
    input.folder = Some(secretary.parse().unwrap());
    assert!(matches!(
        app.inkan
            .create_envelope(&own, &input, &Default::default())
            .await,
        Err(inkan_service::ServiceError::NotFound(_))
    ));
    input.folder = Some(contracts.parse().unwrap());
    app.inkan
        .create_envelope(&own, &input, &Default::default())
        .await
        .unwrap();

    // A folder can be required; then an envelope without one is refused with the reason.
    let r = post_form(
        &app,
        &admin,
        "/app/settings/folders/required",
        &form(&[("required", "on")]),
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&new_envelope("フォルダ未指定", "vendor@example.jp"))
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert!(
        message.contains("フォルダの指定が必要"),
        "{code}: {message}"
    );

    // A folder that is not empty is not deleted; one under itself is refused; both say why.
    let r = post_form(
        &app,
        &admin,
        &format!("/app/settings/folders/{secretary}/delete"),
        &form(&[]),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("フォルダが空ではありません"));
    let r = app
        .put(&format!("/api/v1/folders/{contracts}"))
        .bearer_auth(&key)
        .json(&json!({ "name": "契約検査課", "parent": year, "grants": [group] }))
        .send()
        .await
        .unwrap();
    let (_, message) = error_of(r, 400).await;
    assert!(message.contains("それ自身やその下"), "{message}");

    // Only an administrator who reads every document manages groups and folders: not the
    // system administrator (who could otherwise grant themselves a way in), not a manager.
    for (session, who) in [(&system, "system administrator"), (&keiyaku, "manager")] {
        let (_, users) = page_of(&app, session, "/app/settings/users").await;
        let their_csrf = if users.contains("name=\"csrf\"") {
            hidden(&users, "csrf")
        } else {
            let (_, home) = page_of(&app, session, "/app/documents").await;
            hidden(&home, "csrf")
        };
        let r = post_form(
            &app,
            session,
            "/app/settings/folders/groups",
            &[("name", "勝手なグループ".to_string()), ("csrf", their_csrf)],
        )
        .await;
        assert_ne!(r.status(), 303, "{who} made a group");
    }
    let groups: Value = app
        .get("/api/v1/groups")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    // A system administrator may no longer reset the password of a sender a group reads for.
    let r = app
        .post(&format!(
            "/api/v1/users/{}/password",
            ids["sender@city.example.jp"]
        ))
        .bearer_auth(&key)
        .json(&json!({ "password": "another long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "an administrator's key may");
    let system_staff = app
        .inkan
        .login("system@city.example.jp", PW, &Default::default())
        .await
        .unwrap()
        .done()
        .unwrap();
    assert!(matches!(
        app.inkan
            .set_password(
                &system_staff,
                &ids["sender@city.example.jp"],
                "yet another long password",
                &Default::default()
            )
            .await,
        Err(inkan_service::ServiceError::NotAllowed(_))
    ));

    // Every setting is in the 操作ログ.
    let log: Value = app
        .get("/api/v1/audit")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "group_created",
        "folder_created",
        "envelope_shares_changed",
        "envelope_moved",
        "folder_required_changed",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

/// Hostile settings are refused with their reason and change nothing: an OpenID provider on
/// loopback (the egress policy), a line break in a client ID or a folder name, a domain that is
/// not one, a folder or group of another organization; a missing secret is asked for.
#[tokio::test]
async fn hostile_sso_and_folder_settings_are_refused() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let other = app
        .organization("花巻市", "admin@hanamaki.example.jp")
        .await;
    let sso = |body: Value| {
        let app = &app;
        let key = key.clone();
        async move {
            app.put("/api/v1/organization/sso")
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let good = json!({
        "issuer": "https://login.example.jp", "client_id": "inkan", "client_secret": "s3cret",
        "domains": ["city.morioka.example.jp"],
    });
    for (field, value, says) in [
        ("issuer", json!("http://127.0.0.1:9/"), "接続できません"),
        ("issuer", json!("http://169.254.169.254/"), "接続できません"),
        ("issuer", json!("not a url"), "発行者 URL"),
        (
            "client_id",
            json!("inkan\r\nX-Injected: 1"),
            "クライアント ID",
        ),
        ("domains", json!(["city.example.jp/evil"]), "ドメイン"),
        ("domains", json!([]), "ドメイン"),
        ("client_secret", json!(null), "シークレット"),
    ] {
        let mut body = good.clone();
        body[field] = value.clone();
        let (_, message) = error_of(sso(body).await, 400).await;
        assert!(message.contains(says), "{field} = {value}: {message}");
    }
    let r = app
        .get("/api/v1/organization/sso")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        Value::Null,
        "nothing was set"
    );

    // Folders: a line break in a name; another organization's parent or group.
    let r = app
        .post("/api/v1/folders")
        .bearer_auth(&key)
        .json(&json!({ "name": "契約\n課" }))
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
    let theirs: Value = app
        .post("/api/v1/folders")
        .bearer_auth(&other)
        .json(&json!({ "name": "花巻の契約" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let their_group: Value = app
        .post("/api/v1/groups")
        .bearer_auth(&other)
        .json(&json!({ "name": "花巻の課" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for body in [
        json!({ "name": "子", "parent": theirs["id"] }),
        json!({ "name": "許可", "grants": [their_group["id"]] }),
    ] {
        let r = app
            .post("/api/v1/folders")
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (_, message) = error_of(r, 400).await;
        assert!(
            !message.contains(theirs["id"].as_str().unwrap()),
            "{message}"
        );
    }
    let r = app
        .delete(&format!(
            "/api/v1/folders/{}",
            theirs["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another organization's folder is not found"
    );
    let mine: Value = app
        .get("/api/v1/folders")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine, json!([]), "nothing was made");
}

/// Issue 19 item 1 over HTTP: a link with an access code shows the 本人確認 page and nothing of
/// the contract (page, images, API) until the code is given; the right code sets a pass cookie
/// scoped to the link's paths; the API takes the pass as a header.
#[tokio::test]
async fn a_link_with_an_access_code_shows_nothing_before_the_code() {
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let signer = "taro.yamada@seisou.example.co.jp";
    let mut input = new_envelope("清掃業務委託契約", signer);
    input["recipients"][0]["access_code"] = json!("Kita-2026");
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let envelope: Value = r.json().await.unwrap();
    assert_eq!(envelope["recipients"][0]["check"], "access_code");
    let id = envelope["id"].as_str().unwrap();
    let doc = envelope["documents"][0]["id"].as_str().unwrap().to_string();
    let token = app.send_for_link(&key, id, signer).await;
    let client = no_redirects();

    // The page asks for the code and shows neither the title nor the documents.
    let r = client
        .get(format!("{}/s/{token}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("本人確認") && html.contains("アクセスコード"),
        "{html}"
    );
    assert!(html.contains("盛岡市"), "{html}");
    for secret in ["清掃業務委託契約", "業務委託契約書", "R8-契約-0001"] {
        assert!(!html.contains(secret), "{secret} shown before the code");
    }
    let csrf = hidden(&html, "csrf");
    for path in [
        format!("/s/{token}/documents/{doc}/pages/1"),
        format!("/api/v1/sign/{token}/documents/{doc}"),
        format!("/api/v1/sign/{token}"),
    ] {
        let r = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let (code, message) = error_of(
        client
            .get(format!("{}/api/v1/sign/{token}", app.url))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(code, "check_required");
    assert!(message.contains("アクセスコード"), "{message}");
    // The signing page sends the signer back to the question.
    let r = client
        .get(format!("{}/s/{token}/sign", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // A wrong code: the page again, saying how many tries are left.
    let r = client
        .post(format!("{}/s/{token}/code", app.url))
        .form(&[("code", "wrong"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("あと 4 回"), "{html}");
    // Without its CSRF token the form is refused and nothing is counted.
    let r = client
        .post(format!("{}/s/{token}/code", app.url))
        .form(&[("code", "Kita-2026")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The right code: back to the request with the pass, for this link's paths only.
    let r = client
        .post(format!("{}/s/{token}/code", app.url))
        .form(&[("code", "Kita-2026"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies
        .iter()
        .any(|c| c.contains(&format!("Path=/s/{token};")) && c.contains("HttpOnly")));
    assert!(cookies
        .iter()
        .any(|c| c.contains(&format!("Path=/api/v1/sign/{token};"))));
    let pass_cookie = cookies[0].split(';').next().unwrap().to_string();
    let html = client
        .get(format!("{}/s/{token}", app.url))
        .header("cookie", &pass_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("清掃業務委託契約"), "{html}");
    let r = client
        .get(format!("{}/s/{token}/documents/{doc}/pages/1", app.url))
        .header("cookie", &pass_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The API: the code for a pass, the pass as a header.
    let r = client
        .post(format!("{}/api/v1/sign/{token}/code", app.url))
        .json(&json!({ "code": "Kita-2026" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let pass: Value = r.json().await.unwrap();
    let r = client
        .get(format!("{}/api/v1/sign/{token}", app.url))
        .header("x-inkan-link-pass", pass["pass"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The staff's view names the check.
    let seen: Value = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["recipients"][0]["check"], "access_code");
    assert_eq!(seen["recipients"][0]["link_locked"], false);
}

/// Issue 19 item 4 on the staff's page: the CSV list and the PDFs in one form; a PDF the list
/// names but the form lacks is refused before anything is imported; then each row's result.
#[tokio::test]
async fn contracts_are_imported_from_the_staff_page() {
    use reqwest::multipart::{Form, Part};
    let app = TestApp::start().await;
    let key = app.organization_with_login().await;
    let session = login(&app).await;
    let client = no_redirects();
    let html = client
        .get(format!("{}/app/imports", app.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("書面・他社の契約の取込"), "{html}");
    let csrf = hidden(&html, "csrf");
    let csv = "ファイル,件名,取引先,取引年月日,金額,種別\n\
               請書.pdf,庁舎清掃 請書,株式会社盛岡清掃,2018-03-30,99000,請書\n\
               契約書.pdf,,株式会社盛岡清掃,2019-04-01,1200000,契約書\n";
    let pdf = |name: &str| {
        Part::bytes(inkan_testkit::validators::sample_pdf(1))
            .file_name(name.to_string())
            .mime_str("application/pdf")
            .unwrap()
    };
    let post = |form: Form| {
        client
            .post(format!("{}/app/imports", app.url))
            .header("cookie", &session)
            .multipart(form)
            .send()
    };
    let base = || {
        Form::new()
            .text("csrf", csrf.clone())
            .part(
                "csv",
                Part::bytes(csv.as_bytes().to_vec()).file_name("一覧.csv"),
            )
            .part("pdf", pdf("請書.pdf"))
    };
    let r = post(base()).await.unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("3行目「ファイル」"), "{text}");
    // Without the CSRF token: refused.
    let r = post(
        Form::new()
            .part(
                "csv",
                Part::bytes(csv.as_bytes().to_vec()).file_name("一覧.csv"),
            )
            .part("pdf", pdf("請書.pdf")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let searched = || async {
        app.get("/api/v1/documents/search?completed_only=true")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(searched().await.as_array().unwrap().len(), 0);

    let r = post(base().part("pdf", pdf("契約書.pdf"))).await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("2 件を取り込みました"), "{text}");
    let hits = searched().await;
    assert_eq!(hits.as_array().unwrap().len(), 2, "{hits}");
    assert_eq!(hits[1]["envelope_title"], "契約書");
    assert_eq!(hits[1]["document"]["metadata"]["kind"], "契約書");

    // 訂正 from the envelope's page: the history shows before, after and the reason.
    let id = hits[0]["envelope_id"].as_str().unwrap();
    let doc = hits[0]["document"]["id"].as_str().unwrap();
    let page = |id: &str| {
        client
            .get(format!("{}/app/envelopes/{id}", app.url))
            .header("cookie", &session)
            .send()
    };
    let html = page(id).await.unwrap().text().await.unwrap();
    assert!(html.contains("種別") && html.contains("取込済み"), "{html}");
    let csrf = hidden(&html, "csrf");
    let r = client
        .post(format!(
            "{}/app/envelopes/{id}/documents/{doc}/metadata",
            app.url
        ))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("date", "2018-03-30"),
            ("amount", "990000"),
            ("counterparty", "株式会社盛岡清掃"),
            ("kind", "請書"),
            ("reason", "桁の誤り"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let html = page(id).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("訂正削除の履歴") && html.contains("桁の誤り"),
        "{html}"
    );
    assert!(
        html.contains("99,000") && html.contains("990,000"),
        "{html}"
    );
}
