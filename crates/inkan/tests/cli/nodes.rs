//! Issue 18 item 1 (part): two `inkan serve` processes on one database, requests alternating
//! between them. Wrong passwords are counted in the database, so the login limit holds across
//! the nodes — and across client addresses (here given by a trusted proxy's X-Forwarded-For,
//! so that no node's in-memory per-client limit is what stops them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::free_port;
use common::service::{call, Serve, OPERATOR_TOKEN};
use reqwest::Method;
use serde_json::json;

const ADMIN: &str = "keiyaku@city.morioka.example.jp";
const PASSWORD: &str = "correct horse battery staple";

/// One login through the page of `base`, from `client_ip` as the proxy says: status and page.
async fn login(base: &str, client_ip: &str, password: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(format!("{base}/login"))
        .header("x-forwarded-for", client_ip)
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
    let html = form.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = html[start..].split('"').next().unwrap().to_string();
    let r = client
        .post(format!("{base}/login"))
        .header("x-forwarded-for", client_ip)
        .header("cookie", nonce)
        .form(&[("email", ADMIN), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_limit_holds_across_two_nodes() {
    let data = tempfile::tempdir().unwrap();
    let proxy = [("INKAN_TRUSTED_PROXIES", "127.0.0.1/32")];
    let a = Serve::start_with(data.path(), free_port(), &proxy);
    let b = Serve::start_with(data.path(), free_port(), &proxy);
    let client = reqwest::Client::new();
    call(
        &client,
        Method::POST,
        &format!("{}/api/v1/organizations", a.base),
        Some(OPERATOR_TOKEN),
        Some(json!({"name": "盛岡市", "admin_name": "契約 花子", "admin_email": ADMIN, "admin_password": PASSWORD})),
    )
    .await;
    // Both nodes log in.
    for node in [&a, &b] {
        let (status, page) = login(&node.base, "192.0.2.1", PASSWORD).await;
        assert_eq!(status, 303, "{page}");
    }
    // Ten wrong passwords, alternating between the nodes, each from another address.
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (status, page) = login(&node.base, &format!("198.51.100.{}", i + 1), "guess").await;
        assert_eq!(status, 401, "attempt {i}: {page}");
    }
    // Now the account is locked on both nodes, for the right password too, from anywhere.
    for node in [&a, &b] {
        let (status, page) = login(&node.base, "203.0.113.9", PASSWORD).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("ログインの失敗が続いたため"), "{page}");
    }
}
