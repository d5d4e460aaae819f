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
    login_as(base, client_ip, ADMIN, password).await
}

/// [`login`] as `email`.
async fn login_as(base: &str, client_ip: &str, email: &str, password: &str) -> (u16, String) {
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
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
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

/// With PostgreSQL, a client's login attempts per minute are counted in the database: three
/// nodes' in-memory limits would let 15 through at once (5 each), the shared limit lets 10.
/// (The signer links' limit is the same mechanism, at 120 a minute.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_s_login_rate_holds_across_three_nodes_on_postgres() {
    let Some(database) = inkan_testkit::postgres::fresh_database() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("INKAN_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("INKAN_DATABASE_URL", database.url.as_str()),
    ];
    let nodes: Vec<Serve> = (0..3)
        .map(|_| Serve::start_with(data.path(), free_port(), &env))
        .collect();
    // The limit is per minute: start early in one, so that all attempts fall in it.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 40 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let mut statuses = Vec::new();
    for i in 0..15 {
        let node = &nodes[i % 3];
        // Unknown addresses: no account's own limit is reached.
        let (status, page) = login_as(
            &node.base,
            "192.0.2.77",
            &format!("nobody{i}@example.jp"),
            "guess",
        )
        .await;
        assert!(
            status == 401 || status == 429,
            "attempt {i}: {status} {page}"
        );
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // Another client is not held back.
    let (status, _) = login_as(&nodes[0].base, "192.0.2.78", "nobody@example.jp", "guess").await;
    assert_eq!(status, 401);
}

/// Serves the S3 protocol (s3s-fs, SigV4 on) from `root` on a loopback port.
async fn start_s3_server(root: &std::path::Path) -> std::net::SocketAddr {
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(S3_KEY, S3_SECRET));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

const S3_KEY: &str = "AKIDINKANNODES";
const S3_SECRET: &str = "inkan-nodes-secret";

/// nginx from `deploy/nginx/inkan.conf` — the deployment guide's own file — with its upstream
/// pointed at the two nodes and plain HTTP on `port` instead of TLS; killed when dropped.
struct Nginx {
    master: std::process::Child,
    binary: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Nginx {
    fn start(nginx: &std::path::Path, dir: &std::path::Path, port: u16, nodes: [u16; 2]) -> Nginx {
        let shipped = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/inkan.conf"),
        )
        .unwrap();
        let mut conf = String::new();
        let mut skip_block = false;
        let mut servers_done = false;
        for line in shipped.lines() {
            let trimmed = line.trim();
            // The port-80 redirect block goes; so do the TLS lines.
            if trimmed == "listen 80;" {
                skip_block = true;
                // Drop the `server {` line already written.
                let cut = conf.trim_end().rfind("server {").unwrap();
                conf.truncate(cut);
                continue;
            }
            if skip_block {
                if trimmed == "}" {
                    skip_block = false;
                }
                continue;
            }
            if trimmed.starts_with("ssl_") || trimmed.starts_with("# Debian 12") {
                continue;
            }
            if trimmed.starts_with("listen 443") {
                conf.push_str(&format!("    listen 127.0.0.1:{port};\n"));
                continue;
            }
            if trimmed.starts_with("server 10.0.1.") {
                if !servers_done {
                    for node in nodes {
                        conf.push_str(&format!(
                            "    server 127.0.0.1:{node} max_fails=1 fail_timeout=2s;\n"
                        ));
                    }
                    servers_done = true;
                }
                continue;
            }
            conf.push_str(line);
            conf.push('\n');
        }
        assert!(
            servers_done,
            "the shipped configuration has no upstream servers"
        );
        std::fs::write(dir.join("inkan.conf"), conf).unwrap();
        let main = format!(
            "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             include {d}/inkan.conf;\n}}\n",
            d = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        // Its output away from the test's: a worker that outlived the test would hold it open.
        let master = std::process::Command::new(nginx)
            .args(["-e", &dir.join("error.log").display().to_string()])
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Nginx {
            master,
            binary: nginx.to_path_buf(),
            dir: dir.to_path_buf(),
        };
        // Until it answers.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return nginx;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
    }
}

impl Drop for Nginx {
    // `nginx -s stop` stops the master and its workers (a SIGKILL to the master alone would
    // leave the workers running).
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.binary)
            .args(["-e", &self.dir.join("error.log").display().to_string()])
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .args(["-s", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = self.master.wait();
    }
}

/// `inkan worker`, killed when dropped.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 18 item 1: two web nodes and a worker on one PostgreSQL and one S3 server, behind nginx
/// configured by the deployment guide's file. A 20-document envelope goes from a multipart
/// upload to sealed with every request through nginx (so alternating between the nodes); the
/// process sealing it is found by its lease in the database and killed with SIGKILL in the
/// middle; the envelope still ends sealed, each signature in each document once. Then the
/// nodes' TSAs — a third node's from a copy of the PKI folder, as on another host — asked at
/// the same time never repeat a serial number (the counter is in the database).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_and_a_worker_behind_nginx_seal_once_through_a_kill() {
    use reqwest::multipart::{Form, Part};
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let Some(nginx) =
        inkan_testkit::require_tool("nginx", "the reverse proxy of the multi-node test")
    else {
        return;
    };
    let Some(psql) =
        inkan_testkit::require_tool("psql", "reads the job leases of the multi-node test")
    else {
        return;
    };
    let Some(database) = inkan_testkit::postgres::fresh_database() else {
        return;
    };
    let database_url = database.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s3_root = dir.path().join("s3");
    std::fs::create_dir_all(s3_root.join("inkan")).unwrap();
    let s3 = start_s3_server(&s3_root).await;
    let (proxy_port, port_a, port_b) = (free_port(), free_port(), free_port());
    let public = format!("http://127.0.0.1:{proxy_port}");
    let config = dir.path().join("inkan.toml");
    std::fs::write(
        &config,
        format!(
            "public_url = \"{public}\"\ndatabase_url = \"{database_url}\"\n\
             trusted_proxies = [\"127.0.0.1/32\"]\n\
             [blobs]\nkind = \"s3\"\nendpoint = \"http://{s3}\"\nbucket = \"inkan\"\n\
             access_key_id = \"{S3_KEY}\"\nsecret_access_key = \"{S3_SECRET}\"\nallow_http = true\n\
             [backup]\nscheduled = false\n"
        ),
    )
    .unwrap();
    let config_env = config.display().to_string();
    let env = [("INKAN_CONFIG", config_env.as_str())];
    let a = Serve::start_with(&data, port_a, &env);
    let b = Serve::start_with(&data, port_b, &env);
    let worker = Worker(
        common::inkan()
            .arg("worker")
            .env("INKAN_CONFIG", &config)
            .env("INKAN_DATA_DIR", &data)
            .env("INKAN_JOB_LEASE_SECONDS", "3")
            .env("INKAN_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let proxy_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&proxy_dir).unwrap();
    let _nginx = Nginx::start(&nginx, &proxy_dir, proxy_port, [port_a, port_b]);
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{public}/api/v1{path}");

    let created = call(
        &client,
        Method::POST,
        &api("/organizations"),
        Some(OPERATOR_TOKEN),
        Some(json!({"name": "岩手県", "admin_name": "契約 花子", "admin_email": ADMIN})),
    )
    .await;
    let key = created["api_key"].as_str().unwrap().to_string();
    let vendor = "taro.yamada@seisou.example.co.jp";
    let documents: Vec<_> = (0..20)
        .map(|i| json!({ "name": format!("契約書{i:02}.pdf") }))
        .collect();
    let envelope = json!({
        "title": "複数ノード試験",
        "deadline": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 86_400,
        "recipients": [{ "key": "vendor", "name": "山田太郎", "email": vendor, "role": "signer" }],
        "documents": documents,
    });
    let mut form = Form::new().part(
        "envelope",
        Part::text(envelope.to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    for i in 0..20 {
        form = form.part(
            "document",
            Part::bytes(inkan_testkit::validators::sample_pdf(20))
                .file_name(format!("{i}.pdf"))
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    let r = client
        .post(api("/envelopes"))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &client,
        Method::POST,
        &api(&format!("/envelopes/{id}/send")),
        Some(&key),
        None,
    )
    .await;
    let view = || async {
        call(
            &client,
            Method::GET,
            &api(&format!("/envelopes/{id}")),
            Some(&key),
            None,
        )
        .await
    };
    let revisions = |v: &serde_json::Value| -> Vec<i64> {
        v["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["revision"].as_i64().unwrap())
            .collect()
    };
    // The signer's link, from the mail (links name the public URL: nginx).
    let marker = format!("{public}/s/");
    let mut token = None;
    for _ in 0..600 {
        token = a.outbox().into_iter().find_map(|(to, _, text)| {
            (to == vendor).then_some(())?;
            let start = text.find(&marker)? + marker.len();
            Some(
                text[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>(),
            )
        });
        if token.is_some() && revisions(&view().await).iter().all(|r| *r == 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = token.expect("the signature request was mailed");
    call(
        &client,
        Method::POST,
        &api(&format!("/sign/{token}/complete")),
        None,
        Some(json!({ "values": [] })),
    )
    .await;

    // Mid-seal: some documents signed, some not; the process holding the seal job's lease dies.
    let mut holder = None;
    for _ in 0..3000 {
        let revs = revisions(&view().await);
        if revs.contains(&2) && revs.contains(&1) {
            let out = std::process::Command::new(&psql)
                .arg(&database_url)
                .args([
                    "-Atc",
                    "SELECT locked_by FROM jobs WHERE kind = 'seal' AND status = 'running'",
                ])
                .output()
                .unwrap();
            holder = String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .map(str::to_string);
            if holder.is_some() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let holder = holder.expect("the kill came in the middle of sealing");
    let pid: u32 = holder.split('-').nth(1).unwrap().parse().unwrap();
    let (mut a, mut b, mut worker) = (Some(a), Some(b), Some(worker));
    let killed = if a.as_ref().is_some_and(|s| s.pid() == pid) {
        a.take().unwrap().kill();
        "web node A"
    } else if b.as_ref().is_some_and(|s| s.pid() == pid) {
        b.take().unwrap().kill();
        "web node B"
    } else {
        assert_eq!(
            worker.as_ref().unwrap().0.id(),
            pid,
            "the lease names a process of this test"
        );
        drop(worker.take());
        "the worker"
    };
    println!("killed {killed} ({holder}) while it sealed");

    // Sealed all the same, through whatever node is left.
    let mut done = view().await;
    for _ in 0..1200 {
        if done["sealed"] == json!(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        done = view().await;
    }
    assert_eq!(
        done["sealed"],
        json!(true),
        "not sealed after the kill: {done:#}"
    );
    let root = data.join("pki/root.pem");
    for doc in done["documents"].as_array().unwrap() {
        assert_eq!(doc["revision"], 2, "certification + one signature: {doc:#}");
        assert_eq!(doc["signed_by"].as_array().unwrap().len(), 1, "{doc:#}");
    }
    for doc in done["documents"].as_array().unwrap().iter().step_by(7) {
        let bytes = client
            .get(api(&format!(
                "/envelopes/{id}/documents/{}",
                doc["id"].as_str().unwrap()
            )))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let path = dir.path().join("sealed.pdf");
        std::fs::write(&path, &bytes).unwrap();
        if let Some((ok, text)) = inkan_testkit::validators::pyhanko_valid(&path, &root) {
            assert!(ok, "{text}");
            assert_eq!(
                text.matches("judged VALID").count(),
                2,
                "each signature once: {text}"
            );
        }
    }
    // The blobs are on the S3 server, encrypted.
    let stored = walk(&s3_root.join("inkan"));
    assert!(stored.len() >= 60, "{} objects", stored.len());
    assert!(stored
        .iter()
        .all(|p| std::fs::read(p).unwrap().starts_with(b"INKB")));

    // Both web nodes up again, and a third as on another host: its own data folder, a copy of
    // the keys and the PKI folder (whose serial counter file it would hand out again). Their
    // TSAs asked at once: the serials come from the database, none twice.
    let a = a.unwrap_or_else(|| Serve::start_with(&data, port_a, &env));
    let b = b.unwrap_or_else(|| Serve::start_with(&data, port_b, &env));
    let data_c = dir.path().join("data-c");
    copy_folder(&data, &data_c);
    let c = Serve::start_with(&data_c, free_port(), &env);
    let mut asks = Vec::new();
    for i in 0..60u32 {
        let url = match i % 3 {
            0 => format!("{}/pki/tsa", a.base),
            1 => format!("{}/pki/tsa", b.base),
            _ => format!("{}/pki/tsa", c.base),
        };
        asks.push(tokio::spawn(async move {
            let imprint = inkan_keys::DigestAlgorithm::Sha256.hash(&i.to_be_bytes());
            let tsa = inkan_pki::tsa::TsaClient::new(vec![url]).unwrap();
            let token = tsa
                .timestamp(inkan_keys::DigestAlgorithm::Sha256, &imprint)
                .await
                .unwrap();
            let checked = inkan_pki::tsa::check_token(
                &token.der,
                inkan_keys::DigestAlgorithm::Sha256,
                &imprint,
            )
            .unwrap();
            checked.info.serial_number.as_bytes().to_vec()
        }));
    }
    let mut serials = std::collections::BTreeSet::new();
    for ask in asks {
        assert!(
            serials.insert(ask.await.unwrap()),
            "a serial number was repeated"
        );
    }
    assert_eq!(serials.len(), 60);

    // What the CAs issue and revoke reaches the third node through the database: a signer
    // certificate issued on the first host is good at C's OCSP responder; revoked there, it is
    // revoked at C and in C's CRL.
    let pki = inkan_pki::Pki::open(&data.join("pki")).unwrap();
    let issuer = pki.ca_certificate(inkan_pki::CaRole::Issuing).clone();
    let prefix = dir.path().join("signer");
    let cli = |args: &[&str]| {
        let out = common::inkan()
            .arg("pki")
            .args(args)
            .arg("--dir")
            .arg(data.join("pki"))
            .env("INKAN_DATABASE_URL", &database_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let prefix_text = prefix.display().to_string();
    cli(&[
        "issue",
        "--name",
        "山田太郎",
        "--key-type",
        "p256",
        "--out",
        &prefix_text,
    ]);
    let cert = inkan_pki::read_certificate(&dir.path().join("signer.pem")).unwrap();
    let http = inkan_pki::http::client();
    let ask = |base: String| {
        let (http, cert, issuer) = (http.clone(), cert.clone(), issuer.clone());
        async move {
            inkan_pki::ocsp::query(
                &http,
                &cert,
                &issuer,
                Some(&format!("{base}/pki/ocsp")),
                std::time::Duration::from_secs(10),
            )
            .await
            .unwrap()
            .status
        }
    };
    assert_eq!(ask(c.base.clone()).await, inkan_pki::RevocationStatus::Good);
    let cert_path = dir.path().join("signer.pem").display().to_string();
    cli(&["revoke", "--cert", &cert_path, "--reason", "key-compromise"]);
    for base in [&a.base, &c.base] {
        assert!(
            matches!(
                ask(base.clone()).await,
                inkan_pki::RevocationStatus::Revoked { .. }
            ),
            "not revoked at {base}"
        );
    }
    let crl = client
        .get(format!("{}/pki/crl/issuing-ca.crl", c.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let serial = cert.tbs_certificate.serial_number.as_bytes().to_vec();
    assert!(
        crl.windows(serial.len()).any(|w| w == serial.as_slice()),
        "the revoked serial is not in C's CRL"
    );
    drop(worker);
}

/// Copies the folder `from` (files and subfolders) to `to`.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Issue 18 item 1: keys are given to every node, never made per node. A second node on the
/// same database whose `keys/` was not copied from the first creates keys of its own — and
/// refuses to start, naming the key; with the first node's keys copied, it starts.
#[test]
fn a_node_with_keys_of_its_own_does_not_start() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", first.path().join("inkan.db").display());
    let a = Serve::start(first.path(), free_port());
    let port = free_port();
    let mut child = common::inkan()
        .arg("serve")
        .env("INKAN_DATA_DIR", second.path())
        .env("INKAN_DATABASE_URL", &database)
        .env("INKAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("INKAN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a node with its own keys started");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("links.key") && err.contains("keys/"), "{err}");

    // With the first node's keys, the second node joins.
    for name in ["links.key", "audit.key", "master.key"] {
        std::fs::copy(
            first.path().join("keys").join(name),
            second.path().join("keys").join(name),
        )
        .unwrap();
    }
    let b = Serve::start_with(
        second.path(),
        port,
        &[("INKAN_DATABASE_URL", database.as_str())],
    );
    drop((a, b));
}
