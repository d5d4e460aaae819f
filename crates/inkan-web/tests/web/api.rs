//! The JSON API through a real server on loopback: authentication, validation and error shapes,
//! tenant isolation, signer links (decline, pages), the audit trail of downloads, the OpenAPI
//! document, and a whole signing through the API (TSA served under /pki).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{b64, counterparty, error_of, new_envelope, TestApp, OPERATOR, USER_AGENT};
use serde_json::{json, Value};

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_headers_and_unknown_routes() {
    let app = TestApp::start().await;

    let r = app.get("/healthz").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");
    assert!(header(&r, "content-security-policy").contains("default-src 'self'"));
    assert_eq!(r.text().await.unwrap(), "ok");

    // Ready: database, blob store and the built-in TSA answer.
    let r = app.get("/readyz").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ready: serde_json::Value = r.json().await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["tsa"], "ok", "{ready}");

    let r = app.get("/openapi.json").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/v1/organizations", "post"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys", "get"),
        ("/api/v1/api-keys/{id}/revoke", "post"),
        ("/api/v1/users", "post"),
        ("/api/v1/users", "get"),
        ("/api/v1/users/{id}/disable", "post"),
        ("/api/v1/users/{id}/password", "post"),
        ("/api/v1/users/{id}/mfa/reset", "post"),
        ("/api/v1/users/invite", "post"),
        ("/api/v1/audit", "get"),
        ("/api/v1/users/{id}/invitation", "post"),
        ("/api/v1/users/{id}/role", "put"),
        ("/api/v1/organization/staff-networks", "get"),
        ("/api/v1/organization/staff-networks", "put"),
        ("/api/v1/organization/mfa-required", "put"),
        ("/api/v1/organization/sso", "get"),
        ("/api/v1/organization/sso", "put"),
        ("/api/v1/organization/sso", "delete"),
        ("/api/v1/departments", "get"),
        ("/api/v1/groups", "get"),
        ("/api/v1/groups", "post"),
        ("/api/v1/groups/{id}", "put"),
        ("/api/v1/groups/{id}", "delete"),
        ("/api/v1/folders", "get"),
        ("/api/v1/folders", "post"),
        ("/api/v1/folders/{id}", "put"),
        ("/api/v1/folders/{id}", "delete"),
        ("/api/v1/organization/folder-required", "put"),
        ("/api/v1/envelopes/{id}/folder", "put"),
        ("/api/v1/envelopes/{id}/shares", "get"),
        ("/api/v1/envelopes/{id}/shares", "put"),
        ("/api/v1/counterparties", "get"),
        ("/api/v1/counterparties", "post"),
        ("/api/v1/counterparties/{id}", "get"),
        ("/api/v1/counterparties/{id}", "put"),
        ("/api/v1/envelopes", "post"),
        ("/api/v1/envelopes", "get"),
        ("/api/v1/envelopes/{id}", "get"),
        ("/api/v1/envelopes/{id}/send", "post"),
        ("/api/v1/envelopes/{id}/cancel", "post"),
        ("/api/v1/envelopes/{id}/remind", "post"),
        (
            "/api/v1/envelopes/{id}/recipients/{recipient}/new-link",
            "post",
        ),
        ("/api/v1/envelopes/{id}/documents/{doc}", "get"),
        ("/api/v1/envelopes/{id}/attachments/{att}", "get"),
        ("/api/v1/envelopes/{id}/audit", "get"),
        ("/api/v1/envelopes/{id}/certificate", "get"),
        ("/api/v1/documents/search", "get"),
        ("/api/v1/documents/search.csv", "get"),
        ("/api/v1/documents/export.zip", "get"),
        ("/api/v1/webhooks", "post"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{id}/retry", "post"),
        ("/api/v1/sign/{token}", "get"),
        ("/api/v1/sign/{token}/documents/{doc}", "get"),
        ("/api/v1/sign/{token}/attachments", "post"),
        ("/api/v1/sign/{token}/certificate", "post"),
        ("/api/v1/sign/{token}/complete", "post"),
        ("/api/v1/sign/{token}/approve", "post"),
        ("/api/v1/sign/{token}/decline", "post"),
        ("/api/v1/imports", "post"),
        ("/api/v1/envelopes/{id}/documents/{doc}/metadata", "put"),
        (
            "/api/v1/envelopes/{id}/documents/{doc}/metadata/history",
            "get",
        ),
        ("/api/v1/sign/{token}/code", "post"),
        ("/api/v1/sign/{token}/sms", "post"),
        ("/api/v1/templates", "get"),
        ("/api/v1/templates", "post"),
        ("/api/v1/templates/{id}", "get"),
        ("/api/v1/templates/{id}/versions", "post"),
        ("/api/v1/templates/{id}/envelopes", "post"),
        ("/api/v1/templates/{id}/bulk.csv", "get"),
        ("/api/v1/templates/{id}/bulk", "post"),
        ("/api/v1/bulk", "get"),
        ("/api/v1/bulk/{id}", "get"),
        ("/api/v1/completion/{token}", "get"),
        ("/api/v1/completion/{token}/documents/{doc}", "get"),
        ("/api/v1/completion/{token}/certificate", "get"),
        ("/api/v1/verify", "post"),
        ("/openapi.json", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    // …and nothing else.
    let documented: std::collections::BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let listed: std::collections::BTreeSet<&str> = expected.iter().map(|(p, _)| *p).collect();
    assert_eq!(documented, listed);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "NewEnvelope",
        "EnvelopeView",
        "SignerView",
        "CounterpartyInput",
        "ErrorBody",
        "AuditEntryView",
        "OrganizationCreated",
        "JobReport",
    ] {
        assert!(schemas.contains_key(name), "schema {name} is missing");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    let search_params: Vec<&str> = paths["/api/v1/documents/search"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(search_params.contains(&"amount_min"), "{search_params:?}");
    assert_eq!(
        paths["/api/v1/envelopes/{id}"]["get"]["security"][0]["api_key"],
        json!([])
    );

    let (code, message) = error_of(app.get("/api/v1/nothing").send().await.unwrap(), 404).await;
    assert_eq!(code, "not_found");
    assert!(message.contains("/api/v1/nothing"), "{message}");
    let (code, _) = error_of(app.get("/api/v1/jobs/x/retry").send().await.unwrap(), 405).await;
    assert_eq!(code, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_need_the_operator_token_and_the_api_an_api_key() {
    let app = TestApp::start().await;
    let org = json!({ "name": "盛岡市", "department": "財政部契約検査課",
                      "admin_name": "契約 花子", "admin_email": "keiyaku@city.morioka.example.jp" });

    let r = app
        .post("/api/v1/organizations")
        .json(&org)
        .send()
        .await
        .unwrap();
    assert!(header(&r, "www-authenticate").starts_with("Bearer"));
    let (code, _) = error_of(r, 401).await;
    assert_eq!(code, "unauthenticated");
    let r = app
        .post("/api/v1/organizations")
        .bearer_auth("not-the-operator-token")
        .json(&org)
        .send()
        .await
        .unwrap();
    let (_, message) = error_of(r, 401).await;
    assert!(message.contains("operator token"), "{message}");

    let r = app
        .post("/api/v1/organizations")
        .bearer_auth(OPERATOR)
        .json(&org)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let key = created["api_key"].as_str().unwrap().to_string();
    assert!(!key.is_empty());
    assert!(created["organization_id"].is_string());

    // A server without an operator token refuses, and says what to do instead.
    let closed = app.another_server(None).await;
    let r = app
        .client
        .post(format!("{closed}/api/v1/organizations"))
        .bearer_auth(OPERATOR)
        .json(&org)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 403).await;
    assert_eq!(code, "forbidden");
    assert!(message.contains("inkan org create"), "{message}");

    // The API key: none, malformed, wrong, right.
    let r = app.get("/api/v1/envelopes").send().await.unwrap();
    assert!(header(&r, "www-authenticate").starts_with("Bearer"));
    error_of(r, 401).await;
    let r = app
        .get("/api/v1/envelopes")
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    error_of(r, 401).await;
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth("inkan_wrong")
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(r, 401).await;
    assert_eq!(code, "unauthenticated");
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));

    // A second key works like the first.
    let r = app
        .post("/api/v1/api-keys")
        .bearer_auth(&key)
        .json(&json!({ "name": "会計システム連携" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let second: Value = r.json().await.unwrap();
    let second = second["api_key"].as_str().unwrap();
    let r = app
        .get("/api/v1/jobs")
        .bearer_auth(second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert!(report["failed"].is_array());

    // Scopes: the second key sends (the default) but does not administer; a read key reads.
    let r = app
        .post("/api/v1/api-keys")
        .bearer_auth(second)
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    error_of(r, 409).await;
    let r = app
        .post("/api/v1/api-keys")
        .bearer_auth(&key)
        .json(&json!({ "name": "監査用", "scope": "read" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let reader: Value = r.json().await.unwrap();
    let reader = reader["api_key"].as_str().unwrap();
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(reader)
        .json(&new_envelope("読み取り専用", VENDOR))
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 403).await;
    assert_eq!(code, "forbidden");
    assert!(message.contains("読み取り専用"), "{message}");
    // Listed (never with their secrets), revoked at once.
    let r = app
        .get("/api/v1/api-keys")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let keys: Value = r.json().await.unwrap();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys
        .iter()
        .all(|k| k.get("api_key").is_none() && k.get("hash").is_none()));
    let read_id = keys.iter().find(|k| k["scope"] == "read").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .get("/api/v1/api-keys")
        .bearer_auth(second)
        .send()
        .await
        .unwrap();
    error_of(r, 409).await;
    let r = app
        .post(&format!("/api/v1/api-keys/{read_id}/revoke"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .get("/api/v1/envelopes")
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    error_of(r, 401).await;
    let r = app
        .post(&format!("/api/v1/api-keys/{read_id}/revoke"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    error_of(r, 404).await;

    // Staff users and departments.
    let user = json!({ "name": "契約 次郎", "email": "jiro@city.example.jp", "department": "財政部契約検査課", "password": "correct horse battery" });
    let r = app
        .post("/api/v1/users")
        .bearer_auth(&key)
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["department"], "財政部契約検査課");
    assert_eq!(created["role"], "document_manager", "the default role");
    let r = app
        .post("/api/v1/users")
        .bearer_auth(&key)
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "the same email twice");
    // The answer does not say where the address is taken.
    let other = app
        .organization("滝沢市", "admin@city.takizawa.example.jp")
        .await;
    let r = app
        .post("/api/v1/users")
        .bearer_auth(&other)
        .json(&user)
        .send()
        .await
        .unwrap();
    let (_, message) = error_of(r, 400).await;
    assert!(
        message.contains("登録できません") && !message.contains("盛岡市"),
        "{message}"
    );
    let r = app
        .get("/api/v1/departments")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let departments: Value = r.json().await.unwrap();
    assert!(
        departments
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "財政部契約検査課"),
        "{departments}"
    );

    let r = app
        .post("/api/v1/webhooks")
        .bearer_auth(&key)
        .json(&json!({ "url": "ftp://example.jp/hook" }))
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
    let r = app
        .post("/api/v1/webhooks")
        .bearer_auth(&key)
        .json(&json!({ "url": "https://example.jp/hook" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let hook: Value = r.json().await.unwrap();
    assert!(!hook["secret"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counterparties_envelopes_and_request_errors() {
    let app = TestApp::start().await;
    let key = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;

    // Counterparties: register, read back, list; validation names the field.
    let r = app
        .post("/api/v1/counterparties")
        .bearer_auth(&key)
        .json(&counterparty())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cp: Value = r.json().await.unwrap();
    let id = cp["id"].as_str().unwrap();
    let r = app
        .get(&format!("/api/v1/counterparties/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["trade_name"], "株式会社盛岡清掃");
    let list: Value = app
        .get("/api/v1/counterparties")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let mut blank = counterparty();
    blank["trade_name"] = json!("  ");
    let r = app
        .post("/api/v1/counterparties")
        .bearer_auth(&key)
        .json(&blank)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("trade name"), "{message}");
    let mut bad_email = counterparty();
    bad_email["signatory_email"] = json!("not an email");
    let r = app
        .post("/api/v1/counterparties")
        .bearer_auth(&key)
        .json(&bad_email)
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    let mut missing = counterparty();
    missing.as_object_mut().unwrap().remove("address");
    let r = app
        .post("/api/v1/counterparties")
        .bearer_auth(&key)
        .json(&missing)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("address"), "{message}");
    let r = app
        .get("/api/v1/counterparties/nonsense")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    error_of(r, 404).await;

    // Malformed JSON and a wrong content type answer in the JSON error shape.
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("JSON"), "{message}");
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (_, message) = error_of(r, 400).await;
    assert!(message.contains("application/json"), "{message}");

    // Bodies: 2 MB at most in general, 300 MB for a new envelope.
    let mut big = counterparty();
    big["address"] = json!("x".repeat(3 * 1024 * 1024));
    // On a connection of its own: the server answers 413 without reading the rest and closes
    // it, and a pooled connection closed that way can break the next request's write.
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/counterparties", app.url))
        .bearer_auth(&key)
        .json(&big)
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(r, 413).await;
    assert_eq!(code, "too_large");
    let mut long = new_envelope("x", VENDOR);
    long["message"] = json!("x".repeat(3 * 1024 * 1024));
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&long)
        .send()
        .await
        .unwrap();
    let (_, message) = error_of(r, 400).await;
    assert!(message.contains("5,000 characters"), "{message}");

    // Envelopes: a good one, bad base64, not a PDF.
    let envelope = app.envelope(&key, "庁舎清掃業務委託", VENDOR).await;
    assert_eq!(envelope["status"], "draft");
    assert_eq!(envelope["documents"][0]["name"], "業務委託契約書.pdf");
    let mut bad = new_envelope("x", VENDOR);
    bad["documents"][0]["content_base64"] = json!("%%% not base64 %%%");
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("base64"), "{message}");
    let mut not_pdf = new_envelope("x", VENDOR);
    not_pdf["documents"][0]["content_base64"] = json!(b64(b"hello, this is plain text"));
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&not_pdf)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(
        message.contains("署名できる PDF ではありません"),
        "{message}"
    );
    assert!(message.contains("not a PDF Inkan can sign"), "{message}");
    // A date format that does not exist (with a line break, for good measure) is named.
    let mut bad_format = new_envelope("x", VENDOR);
    bad_format["documents"][0]["fields"] = json!([{ "recipient": "vendor", "kind": "date",
        "label": "署名日", "required": true, "date_format": "gengo\r\nX-Evil: 1" }]);
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&bad_format)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    // serde names the field and the values it allows.
    assert!(
        message.contains("JSON の本文を読めません")
            && message.contains("documents[0].fields[0].date_format")
            && message.contains("wareki"),
        "{message}"
    );
    // So for a role that does not exist.
    let mut bad_role = new_envelope("x", VENDOR);
    bad_role["recipients"][0]["role"] = json!("boss");
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&bad_role)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(
        message.contains("recipients[0].role") && message.contains("approver"),
        "{message}"
    );

    // Listing, with a status filter; a wrong filter or a bad number is a 400.
    let id = envelope["id"].as_str().unwrap();
    let list: Value = app
        .get("/api/v1/envelopes?status=draft&limit=10")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], id);
    let r = app
        .get("/api/v1/envelopes?status=finished")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
    let r = app
        .get("/api/v1/envelopes?limit=many")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;

    // Reminding a draft is not possible (409); cancelling it is.
    let r = app
        .post(&format!("/api/v1/envelopes/{id}/remind"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let (code, _) = error_of(r, 409).await;
    assert_eq!(code, "not_allowed");
    let r = app
        .post(&format!("/api/v1/envelopes/{id}/cancel"))
        .bearer_auth(&key)
        .json(&json!({ "reason": "金額の誤り" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cancelled: Value = r.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organization_never_sees_another() {
    let app = TestApp::start().await;
    let a = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;
    let b = app
        .organization("花巻市", "keiyaku@city.hanamaki.example.jp")
        .await;

    let cp: Value = app
        .post("/api/v1/counterparties")
        .bearer_auth(&a)
        .json(&counterparty())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cp = cp["id"].as_str().unwrap();
    let envelope = app.envelope(&a, "庁舎清掃業務委託", VENDOR).await;
    let id = envelope["id"].as_str().unwrap();
    let doc = envelope["documents"][0]["id"].as_str().unwrap();
    let att = envelope["attachments"][0]["id"].as_str().unwrap();

    // A's own key reaches everything.
    for path in [
        format!("/api/v1/envelopes/{id}"),
        format!("/api/v1/envelopes/{id}/documents/{doc}"),
        format!("/api/v1/envelopes/{id}/attachments/{att}"),
        format!("/api/v1/envelopes/{id}/audit"),
        format!("/api/v1/counterparties/{cp}"),
    ] {
        let r = app.get(&path).bearer_auth(&a).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // B's key: not found, as if nothing were there.
    for path in [
        format!("/api/v1/envelopes/{id}"),
        format!("/api/v1/envelopes/{id}/documents/{doc}"),
        format!("/api/v1/envelopes/{id}/attachments/{att}"),
        format!("/api/v1/envelopes/{id}/audit"),
        format!("/api/v1/counterparties/{cp}"),
    ] {
        let r = app.get(&path).bearer_auth(&b).send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("庁舎清掃"), "{path}: {body}");
    }
    for (path, body) in [
        (format!("/api/v1/envelopes/{id}/send"), None),
        (format!("/api/v1/envelopes/{id}/remind"), None),
        (
            format!("/api/v1/envelopes/{id}/cancel"),
            Some(json!({ "reason": "乗っ取り" })),
        ),
    ] {
        let mut request = app.post(&path).bearer_auth(&b);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (code, _) = error_of(request.send().await.unwrap(), 404).await;
        assert_eq!(code, "not_found", "{path}");
    }
    // Lists and searches show B nothing of A's.
    for path in [
        "/api/v1/envelopes",
        "/api/v1/counterparties",
        "/api/v1/documents/search",
        "/api/v1/documents/search?counterparty=盛岡",
    ] {
        let body: Value = app
            .get(path)
            .bearer_auth(&b)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body, json!([]), "{path}");
    }
    let r = app
        .get("/api/v1/documents/search.csv")
        .bearer_auth(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-type"), "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1, "{csv}");
    // …while A finds its document by amount and gets it in the CSV.
    let hits: Value = app
        .get("/api/v1/documents/search?amount_min=1000000&date_from=2026-01-01")
        .bearer_auth(&a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["document"]["id"], doc);
    let csv = app
        .get("/api/v1/documents/search.csv")
        .bearer_auth(&a)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("業務委託契約書.pdf"), "{csv}");
    // The tax-audit ZIP follows the same line: A's holds A's document, B's only an index.
    let zip_of = |key: String| {
        let request = app.get("/api/v1/documents/export.zip").bearer_auth(key);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(header(&r, "content-type"), "application/zip");
            r.bytes().await.unwrap().to_vec()
        }
    };
    let zip_a = zip_of(a.clone()).await;
    let zip_b = zip_of(b.clone()).await;
    let holds = |zip: &[u8], name: &str| zip.windows(name.len()).any(|w| w == name.as_bytes());
    assert!(zip_a.starts_with(b"PK") && zip_b.starts_with(b"PK"));
    assert!(holds(&zip_a, "業務委託契約書.pdf"));
    assert!(!holds(&zip_b, "業務委託契約書.pdf") && !holds(&zip_b, "%PDF-"));
    // A's trail records A's downloads (B's attempts changed nothing).
    let r = app
        .get(&format!("/api/v1/envelopes/{id}/audit"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    let trail: Value = r.json().await.unwrap();
    assert!(trail
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "download"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_in_the_audit_trail_with_ip_and_user_agent() {
    let app = TestApp::start().await;
    let key = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;
    let envelope = app.envelope(&key, "庁舎清掃業務委託", VENDOR).await;
    let id = envelope["id"].as_str().unwrap();
    let doc = envelope["documents"][0]["id"].as_str().unwrap();
    let att = envelope["attachments"][0]["id"].as_str().unwrap();

    let r = app
        .get(&format!("/api/v1/envelopes/{id}/documents/{doc}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/pdf");
    let disposition = header(&r, "content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E6%A5%AD%E5%8B%99%E5%A7%94%E8%A8%97"),
        "{disposition}"
    );
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    let r = app
        .get(&format!("/api/v1/envelopes/{id}/attachments/{att}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let trail: Vec<Value> = app
        .get(&format!("/api/v1/envelopes/{id}/audit"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let downloads: Vec<&Value> = trail.iter().filter(|e| e["action"] == "download").collect();
    assert_eq!(downloads.len(), 2, "{trail:#?}");
    for d in &downloads {
        assert_eq!(d["ip"], "127.0.0.1", "{d}");
        assert_eq!(d["user_agent"], USER_AGENT, "{d}");
        assert_eq!(d["envelope"], id);
        assert!(d["actor"].as_str().unwrap().starts_with("api_key:"));
        // Keyed: `k1:` and a hex HMAC-SHA256.
        let hash = d["hash"].as_str().unwrap();
        assert!(hash.starts_with("k1:") && hash.len() == 67, "{hash}");
    }
    assert_eq!(downloads[0]["document"], doc);
    assert_eq!(downloads[1]["detail"]["attachment"], att);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_link_declined_is_gone() {
    let app = TestApp::start().await;
    let key = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;

    // Unknown tokens: JSON 404 for the API, a bilingual page for people.
    let unknown = "x".repeat(43);
    let (code, _) = error_of(
        app.get(&format!("/api/v1/sign/{unknown}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(code, "not_found");
    let r = app.get(&format!("/s/{unknown}")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(header(&r, "content-type").starts_with("text/html"));
    assert_eq!(header(&r, "cache-control"), "no-store");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Not Found") && page.contains("該当のページが見つかりませんでした"),
        "{page}"
    );
    let r = app.get(&format!("/c/{unknown}")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // A title that would be markup if it were not escaped.
    let title = "<script>alert(1)</script> 庁舎清掃業務委託";
    let envelope = app.envelope(&key, title, VENDOR).await;
    let id = envelope["id"].as_str().unwrap();
    let r = app
        .post(&format!("/api/v1/envelopes/{id}/send"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["status"], "sent");
    app.drain().await;
    let token = app.link_token(VENDOR, "s");

    let r = app
        .get(&format!("/api/v1/sign/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["can_act"], true);
    assert_eq!(view["envelope"]["title"], title);
    let doc = view["documents"][0]["id"].as_str().unwrap().to_string();

    let r = app.get(&format!("/s/{token}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-security-policy").contains("default-src 'self'"));
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; 庁舎清掃業務委託"));
    assert!(page.contains("業務委託契約書.pdf"));
    assert!(page.contains(&format!("/s/{token}/sign")), "{page}");
    assert!(page.contains(envelope["deadline_text"].as_str().unwrap()));

    let r = app
        .get(&format!("/api/v1/sign/{token}/documents/{doc}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));

    // An empty body is not a decline.
    let r = app
        .post(&format!("/api/v1/sign/{token}/decline"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
    let r = app
        .post(&format!("/api/v1/sign/{token}/decline"))
        .json(&json!({ "reason": "契約金額に誤りがあります" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let declined: Value = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(declined["status"], "declined");
    assert_eq!(declined["status_reason"], "契約金額に誤りがあります");
    // Sent with the organization's API key, the envelope has a sending person (the
    // administrator the key acts for), who is told of the decline.
    assert_eq!(
        declined["sender_email"], "keiyaku@city.morioka.example.jp",
        "{declined}"
    );
    app.drain().await;
    let told = app.mails_to("keiyaku@city.morioka.example.jp");
    assert!(
        told.iter()
            .any(|(subject, text)| subject.contains("辞退")
                && text.contains("契約金額に誤りがあります")),
        "{told:#?}"
    );

    let (code, message) = error_of(
        app.get(&format!("/api/v1/sign/{token}"))
            .send()
            .await
            .unwrap(),
        410,
    )
    .await;
    assert_eq!(code, "gone");
    assert!(message.contains("辞退"), "{message}");
    let r = app.get(&format!("/s/{token}")).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("辞退"));
    let r = app
        .post(&format!("/api/v1/sign/{token}/complete"))
        .json(&json!({ "values": [] }))
        .send()
        .await
        .unwrap();
    error_of(r, 410).await;

    // The signer's view and download are in the trail, with the signer as actor.
    let trail: Vec<Value> = app
        .get(&format!("/api/v1/envelopes/{id}/audit"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["create", "send", "view", "download", "decline"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let signer_download = trail.iter().find(|e| e["action"] == "download").unwrap();
    assert!(signer_download["actor"].as_str().unwrap().contains(VENDOR));
    assert_eq!(signer_download["ip"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_signs_through_the_api_and_downloads_from_the_completion_link() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let app = TestApp::start().await;
    let key = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;
    let mut input = new_envelope("庁舎清掃業務委託", VENDOR);
    input["documents"][0]["fields"] = json!([
        { "recipient": "vendor", "kind": "text", "label": "契約金額", "required": true,
          "placement": { "page": 1, "x": 72.0, "y": 600.0, "width": 160.0, "height": 24.0 } },
        { "recipient": "vendor", "kind": "attachment", "label": "納付書", "required": true }
    ]);
    let r = app
        .post("/api/v1/envelopes")
        .bearer_auth(&key)
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let envelope: Value = r.json().await.unwrap();
    let id = envelope["id"].as_str().unwrap();
    let r = app
        .post(&format!("/api/v1/envelopes/{id}/send"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.drain().await;
    let token = app.link_token(VENDOR, "s");
    let view: Value = app
        .get(&format!("/api/v1/sign/{token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields = view["documents"][0]["fields"].as_array().unwrap();
    let field = |kind: &str| {
        fields
            .iter()
            .find(|f| f["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} field in {fields:?}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (text, attachment) = (field("text"), field("attachment"));

    // The attachment: not a PDF is refused; a PDF is kept.
    let r = app
        .post(&format!(
            "/api/v1/sign/{token}/attachments?field={attachment}&name=納付書.pdf"
        ))
        .body("plain text")
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
    let r = app
        .post(&format!(
            "/api/v1/sign/{token}/attachments?field={attachment}&name=納付書.pdf"
        ))
        .header("content-type", "application/pdf")
        .body(common::pdf())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let attached: Value = r.json().await.unwrap();

    let r = app
        .post(&format!("/api/v1/sign/{token}/complete"))
        .json(&json!({ "values": [
            { "field": text, "value": "1,234,567円" },
            { "field": attachment, "value": attached["id"] }
        ] }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    app.drain().await;

    let done: Value = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["sealed"], true, "{done}");
    let report: Value = app
        .get("/api/v1/jobs")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["failed"], json!([]), "{report}");

    let completion = app.link_token(VENDOR, "c");
    let view: Value = app
        .get(&format!("/api/v1/completion/{completion}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc = view["documents"][0]["id"].as_str().unwrap();
    let r = app
        .get(&format!("/api/v1/completion/{completion}/documents/{doc}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let signed = r.bytes().await.unwrap();
    assert!(signed.starts_with(b"%PDF-"));
    assert!(
        signed.windows(13).any(|w| w == b"/DocTimeStamp"),
        "no archive timestamp"
    );
    let r = app.get(&format!("/c/{completion}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!("/api/v1/completion/{completion}/documents/{doc}")));
}

/// 取引先 are corrected from a new 届出書 (PUT, with its 届出日), searched by any of their names,
/// emails or address, and stay invisible to, and unchangeable by, another organization.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counterparties_are_edited_dated_and_searched() {
    let app = TestApp::start().await;
    let key = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;
    let other = app
        .organization("花巻市", "keiyaku@city.hanamaki.example.jp")
        .await;
    let register = |body: Value| {
        app.post("/api/v1/counterparties")
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let mut first = counterparty();
    first["notified_on"] = json!("令和8年4月1日");
    let r = register(first.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let cp: Value = r.json().await.unwrap();
    let id = cp["id"].as_str().unwrap().to_string();
    // Written as 令和, kept as the ISO date.
    assert_eq!(cp["notified_on"], "2026-04-01");
    let mut second = counterparty();
    second["trade_name"] = json!("有限会社いわて設備");
    second["signatory_email"] = json!("sato@iwate-setsubi.example.jp");
    second["address"] = json!("岩手県花巻市東町1-1");
    assert_eq!(register(second).await.unwrap().status(), 201);

    let search = |q: &'static str, key: String| {
        let app = &app;
        async move {
            let r = app
                .get("/api/v1/counterparties")
                .query(&[("q", q)])
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let list: Value = r.json().await.unwrap();
            list.as_array()
                .unwrap()
                .iter()
                .map(|c| c["trade_name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("", key.clone()).await.len(), 2);
    assert_eq!(search("盛岡", key.clone()).await, ["株式会社盛岡清掃"]);
    assert_eq!(
        search("IWATE-SETSUBI", key.clone()).await,
        ["有限会社いわて設備"]
    );
    assert_eq!(
        search("岩手県 花巻", key.clone()).await,
        ["有限会社いわて設備"]
    );
    assert!(search("存在しない", key.clone()).await.is_empty());
    // A search is one line of text: a line break is refused by name, not matched.
    let r = app
        .get("/api/v1/counterparties")
        .query(&[("q", "盛岡\r\nBcc: x@example.jp")])
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("検索語"), "{message}");
    assert!(search("", other.clone()).await.is_empty());

    // A new 届出書: another signatory and date. Everything is sent, as at registration.
    let mut renewed = first.clone();
    renewed["signatory_name"] = json!("山田花子");
    renewed["signatory_email"] = json!("hanako.yamada@seisou.example.co.jp");
    renewed["notified_on"] = json!("2026-12-03");
    let r = app
        .put(&format!("/api/v1/counterparties/{id}"))
        .bearer_auth(&key)
        .json(&renewed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = app
        .get(&format!("/api/v1/counterparties/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["signatory_name"], "山田花子");
    assert_eq!(got["signatory_email"], "hanako.yamada@seisou.example.co.jp");
    assert_eq!(got["notified_on"], "2026-12-03");
    assert_eq!(got["id"], id.as_str());

    // Wrong input names the field and changes nothing.
    let mut wrong = renewed.clone();
    wrong["notified_on"] = json!("2026-02-30");
    let r = app
        .put(&format!("/api/v1/counterparties/{id}"))
        .bearer_auth(&key)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(r, 400).await;
    assert_eq!(code, "invalid");
    assert!(message.contains("届出日"), "{message}");
    // Another organization cannot change it, nor learn that it exists.
    let r = app
        .put(&format!("/api/v1/counterparties/{id}"))
        .bearer_auth(&other)
        .json(&first)
        .send()
        .await
        .unwrap();
    error_of(r, 404).await;
    let kept: Value = app
        .get(&format!("/api/v1/counterparties/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept, got);
}

/// A TSA that does not answer makes the node not ready, and `/readyz` says so with 503 naming
/// the TSA; the answer is kept for a while, so probes do not become TSA requests. Why it is
/// down is for loopback clients and the metrics token; a client elsewhere reads `down`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_what_is_down() {
    const TOKEN: &str = "prometheus-scrapes-with-this-token";
    let dead_url = inkan_testkit::unanswered_url("/tsa");
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        c.tsa_urls = vec![dead_url.clone()];
        // Requests from this proxy carry the client's address in X-Forwarded-For.
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.metrics_token = Some(TOKEN.into());
    })
    .await;
    let r = app.get("/readyz").send().await.unwrap();
    assert_eq!(r.status(), 503);
    let first: serde_json::Value = r.json().await.unwrap();
    assert_eq!(first["ready"], false, "{first}");
    assert_eq!(first["database"], "ok", "{first}");
    assert_eq!(first["blobs"], "ok", "{first}");
    assert!(
        first["tsa"].as_str().unwrap().contains("timestamp"),
        "{first}"
    );
    let again: serde_json::Value = app
        .get("/readyz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["checked_at"], first["checked_at"],
        "the answer is reused"
    );
    let outside = |token: Option<&str>| {
        let mut request = app.get("/readyz").header("x-forwarded-for", "203.0.113.9");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    };
    let r = outside(None).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let public: serde_json::Value = r.json().await.unwrap();
    assert_eq!(public["tsa"], "down", "{public}");
    assert_eq!(public["database"], "ok", "{public}");
    assert!(!public.to_string().contains(&dead_url), "{public}");
    let r = outside(Some(TOKEN)).send().await.unwrap();
    let told: serde_json::Value = r.json().await.unwrap();
    assert_eq!(told["tsa"], first["tsa"], "{told}");
    assert!(
        first["tsa"].as_str().unwrap().contains(&dead_url),
        "the reason names the TSA's address: {first}"
    );
}

/// `/metrics`: counts by route pattern (never a path with an id or a token), jobs and their
/// durations by kind, days left on each PKI certificate; well-formed OpenMetrics by the
/// Prometheus project's own parser; open to loopback clients and to the metrics token only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_by_route_and_are_for_loopback_or_the_token() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    const TOKEN: &str = "prometheus-scrapes-with-this-token";
    let app = TestApp::start_configured(inkan_service::setup::system_clock(), |c| {
        // Requests from this proxy carry the client's address in X-Forwarded-For.
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.metrics_token = Some(TOKEN.into());
    })
    .await;
    let key = app
        .organization("盛岡市", "admin@city.morioka.example.jp")
        .await;
    let id = app.concluded(&key, "庁舎清掃業務委託", VENDOR).await;
    let r = app
        .get(&format!("/api/v1/envelopes/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .get(&format!("/api/v1/no-such-thing/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = app.get("/metrics").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(!text.contains(&id), "an id reached the metrics:\n{text}");
    let Some(parsed) = inkan_testkit::validators::openmetrics_samples(&text) else {
        return;
    };
    let samples = parsed.unwrap_or_else(|e| panic!("not OpenMetrics: {e}\n{text}"));
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|s| {
                s["name"] == name
                    && labels
                        .iter()
                        .all(|(k, v)| s["labels"][*k].as_str() == Some(*v))
            })
            .map(|s| s["value"].as_f64().unwrap())
    };
    assert_eq!(
        value(
            "inkan_http_requests_total",
            &[
                ("method", "GET"),
                ("route", "/api/v1/envelopes/{id}"),
                ("status", "200")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            "inkan_http_requests_total",
            &[("route", "/api/v1/envelopes"), ("status", "201")]
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        value(
            "inkan_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            "inkan_http_request_duration_seconds_count",
            &[("route", "/api/v1/envelopes/{id}")]
        ) == Some(1.0)
    );
    // The envelope was sealed by seal jobs: their time and their state in the database.
    let seals = value("inkan_job_duration_seconds_count", &[("kind", "seal")]).unwrap_or(0.0);
    assert!(seals >= 1.0, "{text}");
    assert_eq!(
        value(
            "inkan_jobs_run_total",
            &[("kind", "seal"), ("outcome", "done")]
        ),
        Some(seals)
    );
    assert!(value("inkan_jobs", &[("kind", "seal"), ("status", "done")]).unwrap_or(0.0) >= 1.0);
    assert_eq!(value("inkan_jobs", &[("status", "failed")]), None, "{text}");
    // A fresh PKI: the TSA certificate ends in about five years, the root in ten.
    let tsa = value("inkan_certificate_days_left", &[("role", "tsa")]).unwrap();
    assert!((1700.0..1900.0).contains(&tsa), "{tsa}");
    let root = value("inkan_certificate_days_left", &[("role", "root")]).unwrap();
    assert!(root > tsa, "{root} {tsa}");
    assert_eq!(value("inkan_tsa_failures_total", &[]), Some(0.0));

    // From elsewhere (through the trusted proxy): the token, or nothing.
    let remote = |token: Option<&str>| {
        let r = app.get("/metrics").header("x-forwarded-for", "203.0.113.9");
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    };
    assert_eq!(remote(None).send().await.unwrap().status(), 403);
    assert_eq!(
        remote(Some("wrong-token-of-some-length"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let r = remote(Some(TOKEN)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("inkan_http_requests_total{"));
}

/// Counts the files under `dir`, recursively (the stored blobs).
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        files_under(&path)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Issue 18 item 2: an envelope as multipart/form-data — its JSON, then each PDF as a part —
/// is the same envelope as the base64 JSON; a missing, unknown or broken part is refused with
/// its name, and what was stored before it is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_uploads_as_multipart_one_file_at_a_time() {
    use reqwest::multipart::{Form, Part};
    let app = TestApp::start().await;
    let key = app
        .organization("盛岡市", "keiyaku@city.morioka.example.jp")
        .await;
    let signer = "taro.yamada@seisou.example.co.jp";
    let one = inkan_testkit::validators::sample_pdf(1);
    let two = inkan_testkit::validators::sample_pdf(2);
    let mut envelope = new_envelope("清掃業務委託契約", signer);
    envelope["attachments"] = json!([]);
    envelope["documents"] = json!([
        { "name": "業務委託契約書.pdf", "metadata": { "date": "2026-04-01", "amount": "1,234,567円" } },
        { "name": "請書.pdf" }
    ]);
    let form = |parts: Vec<(&'static str, Part)>| {
        parts
            .into_iter()
            .fold(Form::new(), |form, (name, part)| form.part(name, part))
    };
    let json_part = |value: &Value| {
        Part::text(value.to_string())
            .mime_str("application/json")
            .unwrap()
    };
    let pdf_part = |bytes: &[u8], name: &str| {
        Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str("application/pdf")
            .unwrap()
    };
    let post = |form: Form| {
        app.post("/api/v1/envelopes")
            .bearer_auth(&key)
            .multipart(form)
            .send()
    };

    let r = post(form(vec![
        ("envelope", json_part(&envelope)),
        ("document", pdf_part(&one, "a.pdf")),
        ("document", pdf_part(&two, "b.pdf")),
        ("attachment", pdf_part(&one, "納付書.pdf")),
    ]))
    .await
    .unwrap();
    let status = r.status();
    let created: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    let sha = |bytes: &[u8]| {
        use sha2::Digest;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(created["documents"][0]["name"], "業務委託契約書.pdf");
    assert_eq!(created["documents"][0]["sha256"], sha(&one));
    assert_eq!(created["documents"][0]["metadata"]["amount"], "1234567");
    assert_eq!(created["documents"][1]["pages"], 2);
    assert_eq!(created["documents"][1]["sha256"], sha(&two));
    assert_eq!(created["attachments"][0]["name"], "納付書.pdf");
    // It downloads as it was uploaded.
    let id = created["id"].as_str().unwrap();
    let doc = created["documents"][1]["id"].as_str().unwrap();
    let bytes = app
        .bytes(&key, &format!("/api/v1/envelopes/{id}/documents/{doc}"))
        .await;
    assert_eq!(bytes, two);

    // Refused, each naming what is wrong; nothing stays stored.
    let blobs = app.data.path().join("blobs");
    let before = files_under(&blobs);
    let cases: Vec<(Vec<(&'static str, Part)>, &str)> = vec![
        (
            vec![
                ("envelope", json_part(&envelope)),
                ("document", pdf_part(&one, "a.pdf")),
            ],
            "1 of the 2",
        ),
        (
            vec![
                ("envelope", json_part(&envelope)),
                ("document", pdf_part(&one, "a.pdf")),
                ("document", pdf_part(b"%PDF-1.7 not really", "b.pdf")),
            ],
            "請書.pdf",
        ),
        (
            vec![
                ("envelope", json_part(&envelope)),
                ("document", pdf_part(&one, "a.pdf")),
                ("photo", pdf_part(&one, "x.pdf")),
            ],
            "photo",
        ),
        (vec![("document", pdf_part(&one, "a.pdf"))], "envelope"),
        (vec![("envelope", Part::text("{not json"))], "envelope"),
        (
            vec![
                ("envelope", json_part(&envelope)),
                ("document", pdf_part(&one, "a.pdf")),
                ("document", pdf_part(&two, "b.pdf")),
                ("document", pdf_part(&two, "c.pdf")),
            ],
            "more document files",
        ),
    ];
    for (parts, needle) in cases {
        let (code, message) = error_of(post(form(parts)).await.unwrap(), 400).await;
        assert_eq!(code, "invalid", "{message}");
        assert!(message.contains(needle), "{needle}: {message}");
    }
    assert_eq!(files_under(&blobs), before, "a refused upload left files");
    let list: Value = app
        .get("/api/v1/envelopes")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}
