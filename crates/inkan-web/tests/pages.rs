//! The web pages over plain HTTP: what a browser is told (CSP, cookies), what is refused
//! (cross-site posts, forms without their CSRF token, too many login attempts), that user text
//! is escaped, and that dead links get the seeds' pages. The browser-driven flows are in
//! tests/ui.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in with a fresh client: the session cookie.
async fn login(app: &TestApp) -> String {
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
fn hidden(html: &str, name: &str) -> String {
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
    let staff = app.inkan.authenticate_api_key(key).await.unwrap();
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
        .session(session.split_once('=').unwrap().1)
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

    // Disabling: sessions end and the login is refused like a wrong password.
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
    let staff = app.inkan.authenticate_api_key(&key).await.unwrap();
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
