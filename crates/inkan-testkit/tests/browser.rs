//! The headless-Chromium harness against a one-page server of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use inkan_testkit::browser::Browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PAGE: &str = r#"<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>署名</title>
<style>body { font-family: "IPAexGothic", sans-serif; margin: 2em; }</style>
</head>
<body>
<h1 id="heading">電子署名のテスト</h1>
<label>氏名 <input id="name" type="text"></label>
<p><input id="file" type="file"
   onchange="document.getElementById('picked').textContent = this.files[0].name"></p>
<p id="picked"></p>
<button id="done" onclick="document.getElementById('out').textContent =
   '署名手続きを完了する：' + document.getElementById('name').value">完了</button>
<button id="ask" onclick="document.getElementById('out').textContent =
   confirm('送信しますか？') ? '送信しました' : '取り消しました'">送信</button>
<p id="out">未完了</p>
</body>
</html>
"#;

/// Serves PAGE at `/` (404 elsewhere) on 127.0.0.1; returns its base URL.
async fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65536 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let (status, body) = if head.starts_with("GET / ") {
                    ("200 OK", PAGE)
                } else {
                    ("404 Not Found", "not found")
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}/")
}

fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
}

#[tokio::test]
async fn drives_a_japanese_page() {
    let url = serve().await;
    let started = Instant::now();
    let Some(browser) = Browser::start("testkit-browser").await else {
        return;
    };
    eprintln!("desktop session started in {:?}", started.elapsed());

    browser.goto(&url).await;
    assert_eq!(browser.client().title().await.unwrap(), "署名");
    assert_eq!(browser.text("#heading").await, "電子署名のテスト");
    let viewport = browser
        .client()
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    assert_eq!(viewport, serde_json::json!([1280, 900]));
    let language = browser
        .client()
        .execute("return navigator.language", vec![])
        .await
        .unwrap();
    eprintln!("navigator.language = {language}");

    browser.fill("#name", "山田太郎").await;
    browser.click("#done").await;
    browser.wait_for_text("#out", "署名手続きを完了する").await;
    assert_eq!(browser.text("#out").await, "署名手続きを完了する：山田太郎");

    // fill clears what was there.
    browser.fill("#name", "佐藤花子").await;
    browser.click("#done").await;
    browser.wait_for_text("#out", "佐藤花子").await;

    let dir = tempfile::tempdir().unwrap();
    let file = inkan_testkit::write(dir.path(), "keiyaku.pdf", b"%PDF-1.7\n%%EOF\n");
    browser.upload("#file", &file).await;
    browser.wait_for_text("#picked", "keiyaku.pdf").await;

    assert!(!browser.accept_alert().await, "no dialog is open yet");
    browser.click("#ask").await;
    assert!(browser.accept_alert().await, "the confirm dialog opened");
    browser.wait_for_text("#out", "送信しました").await;

    assert!(browser.body_text().await.contains("氏名"));

    let first = browser.screenshot("署名完了").await;
    let second = browser.screenshot("again").await;
    assert_eq!(first.file_name().unwrap(), "01-署名完了.png");
    assert_eq!(second.file_name().unwrap(), "02-again.png");
    assert!(first.starts_with(browser.screenshot_dir()));
    assert!(browser
        .screenshot_dir()
        .ends_with("ui-screenshots/testkit-browser"));
    assert_png(&first);
    assert_png(&second);

    // A missing element fails with the selector, the URL and the page in the message.
    let browser = Arc::new(browser);
    let shared = Arc::clone(&browser);
    let failure = tokio::spawn(async move { shared.text("#no-such-thing").await })
        .await
        .expect_err("text() of a missing element panics");
    let message = failure
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(message.contains("#no-such-thing"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("電子署名のテスト"), "{message}");

    let browser = Arc::into_inner(browser).unwrap();
    browser.close().await;
}

#[tokio::test]
async fn emulates_a_phone() {
    let url = serve().await;
    let started = Instant::now();
    let Some(browser) = Browser::start_mobile("testkit-browser-mobile").await else {
        return;
    };
    eprintln!("mobile session started in {:?}", started.elapsed());
    browser.goto(&url).await;
    let width = browser
        .client()
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap();
    let width = width.as_u64().unwrap();
    assert!(width < 500, "innerWidth {width}");
    let agent = browser
        .client()
        .execute("return navigator.userAgent", vec![])
        .await
        .unwrap();
    assert!(agent.as_str().unwrap().contains("Mobile"), "{agent}");
    browser.wait_for_text("#heading", "電子署名").await;
    assert_png(&browser.screenshot("phone").await);
    browser.close().await;
}
