//! The PKI's services through their HTTP endpoints and Inkan's own clients: TSA behaviour, TSA
//! failover, OCSP and CRL clients, malformed requests.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{http_get, http_post, served};
use der::{Decode, Encode};
use inkan_keys::{DigestAlgorithm, KeyKind};
use inkan_pki::tsa::{TimeStampAuthority, TsaClient, TsaError};
use inkan_pki::{CaRole, RevocationReason, RevocationStatus, SignerRequest};
use std::time::{Duration, SystemTime};
use x509_ocsp::{OcspResponse, OcspResponseStatus};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn new_signer(name: &str) -> x509_cert::Certificate {
    served()
        .pki
        .issue_signer(
            &SignerRequest {
                name: name.into(),
                email: None,
                days: 30,
            },
            KeyKind::EcP256,
        )
        .unwrap()
        .0
}

fn tst_info(token: &[u8]) -> inkan_pki::tsa::TstInfo {
    let parsed = inkan_cms::parse(token).unwrap();
    inkan_pki::tsa::TstInfo::from_der(parsed.encapsulated_content().unwrap()).unwrap()
}

/// A TSA that writes genTime with a fraction of a second, as several public ones do: the client
/// takes the token and its time to the fraction; the token's TSTInfo says it that way.
#[test]
fn tokens_with_fractions_of_a_second_are_accepted() {
    let s = served();
    let tsa = TimeStampAuthority::new(&s.pki)
        .unwrap()
        .with_fractional_seconds();
    let imprint = DigestAlgorithm::Sha256.hash(b"fraction");
    let request =
        inkan_pki::tsa::build_request(DigestAlgorithm::Sha256, &imprint, &[9; 8]).unwrap();
    let reply = tsa.respond(&request);
    assert_eq!(reply.http_status, 200);
    let (token, time, _) =
        inkan_pki::tsa::check_response(&reply.body, DigestAlgorithm::Sha256, &imprint, &[9; 8])
            .unwrap();
    let info = tst_info(&token);
    assert_eq!(info.gen_time.to_system_time(), time);
    let nanos = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    assert_ne!(nanos, 0, "a fraction of a second");
    let gen_time = info.gen_time.to_der().unwrap();
    assert!(
        gen_time.contains(&b'.'),
        "{:?}",
        String::from_utf8_lossy(&gen_time)
    );
    // x509-tsp's strict DER reader is what refused such tokens before.
    let parsed = inkan_cms::parse(&token).unwrap();
    assert!(x509_tsp::TstInfo::from_der(parsed.encapsulated_content().unwrap()).is_err());
}

#[test]
fn tsa_client_gets_a_checked_token_with_nonce_and_policy() {
    let s = served();
    let imprint = DigestAlgorithm::Sha256.hash(b"contract");
    let client = TsaClient::new(vec![format!("{}/tsa", s.base_url)]).unwrap();
    let token = runtime()
        .block_on(client.timestamp(DigestAlgorithm::Sha256, &imprint))
        .unwrap();
    assert_eq!(token.signer.as_ref(), Some(&*s.pki.tsa_certificate()));
    let age = SystemTime::now()
        .duration_since(token.time)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(10));
    let info = tst_info(&token.der);
    assert_eq!(info.policy.to_string(), "1.3.6.1.4.1.99999.1.1");
    assert!(info.nonce.is_some(), "the nonce is echoed");
    assert_eq!(info.accuracy.unwrap().seconds, Some(1));
    // The token chains to our root with the TSA EKU.
    let parsed = inkan_cms::parse(&token.der).unwrap();
    let digest = parsed.encapsulated_content_digest().unwrap();
    let mut options =
        inkan_cms::VerifyOptions::new(std::slice::from_ref(s.pki.root()), SystemTime::now());
    options.required_eku = Some(inkan_cms::oid::ID_KP_TIME_STAMPING);
    inkan_cms::verify(&parsed, &digest, &options).unwrap();
}

#[test]
fn tsa_honours_cert_req_and_refuses_what_it_cannot_grant() {
    let s = served();
    let imprint = DigestAlgorithm::Sha256.hash(b"x");
    let request =
        |cert_req: bool, policy: Option<&str>, digest: DigestAlgorithm, imprint: &[u8]| {
            x509_tsp::TimeStampReq {
                version: x509_tsp::TspVersion::V1,
                message_imprint: x509_tsp::MessageImprint {
                    hash_algorithm: digest.identifier(),
                    hashed_message: der::asn1::OctetString::new(imprint).unwrap(),
                },
                req_policy: policy.map(|p| p.parse().unwrap()),
                nonce: None,
                cert_req,
                extensions: None,
            }
            .to_der()
            .unwrap()
        };
    let post = |body: Vec<u8>| {
        http_post(
            &format!("{}/tsa", s.base_url),
            "application/timestamp-query",
            body,
        )
    };
    let granted_token = |body: &[u8]| {
        // TimeStampResp ::= SEQUENCE { status, token }: take the token as the second element.
        let any = der::Any::from_der(body).unwrap();
        let mut reader = der::SliceReader::new(any.value()).unwrap();
        use der::Reader;
        let status: der::Any = reader.decode().unwrap();
        assert_eq!(status.value()[..3], [0x02, 0x01, 0x00], "granted");
        let token: der::Any = reader.decode().unwrap();
        token.to_der().unwrap()
    };

    let (code, body) = post(request(true, None, DigestAlgorithm::Sha256, &imprint));
    assert_eq!(code, 200);
    let with = inkan_cms::parse(&granted_token(&body)).unwrap();
    assert!(with.certificates().contains(&s.pki.tsa_certificate()));

    let (code, body) = post(request(false, None, DigestAlgorithm::Sha256, &imprint));
    assert_eq!(code, 200);
    let without = inkan_cms::parse(&granted_token(&body)).unwrap();
    assert!(
        without.certificates().is_empty(),
        "certReq=false: no certificates (RFC 3161 §2.4.1)"
    );

    // Our own policy is accepted when asked for by name; another is refused.
    let (_, body) = post(request(
        true,
        Some("1.3.6.1.4.1.99999.1.1"),
        DigestAlgorithm::Sha256,
        &imprint,
    ));
    granted_token(&body);
    let refused = |body: Vec<u8>, reason: &str| {
        let (code, answer) = post(body);
        assert!(code == 200 || code == 400);
        let err = inkan_pki::tsa::check_response(&answer, DigestAlgorithm::Sha256, &imprint, &[1])
            .unwrap_err();
        assert!(err.contains(reason), "{err}");
    };
    refused(
        request(true, Some("1.2.3.4"), DigestAlgorithm::Sha256, &imprint),
        "UnacceptedPolicy",
    );
    refused(
        request(
            true,
            None,
            DigestAlgorithm::Sha1,
            &DigestAlgorithm::Sha1.hash(b"x"),
        ),
        "BadAlg",
    );
    refused(
        request(true, None, DigestAlgorithm::Sha256, &[1, 2, 3]),
        "BadDataFormat",
    );
}

#[test]
fn tsa_serial_numbers_are_unique_and_survive_restarts() {
    let s = served();
    let imprint = DigestAlgorithm::Sha256.hash(b"serials");
    let request = inkan_pki::tsa::build_request(DigestAlgorithm::Sha256, &imprint, &[7]).unwrap();
    let serial_of = |tsa: &TimeStampAuthority| {
        let reply = tsa.respond(&request);
        assert_eq!(reply.http_status, 200);
        let (token, _, _) =
            inkan_pki::tsa::check_response(&reply.body, DigestAlgorithm::Sha256, &imprint, &[7])
                .unwrap();
        tst_info(&token).serial_number.as_bytes().to_vec()
    };
    let mut seen = std::collections::HashSet::new();
    let mut last = Vec::new();
    for _restart in 0..3 {
        // A new authority over the same directory is what a restarted server is.
        let tsa = TimeStampAuthority::new(&s.pki).unwrap();
        for _ in 0..5 {
            let serial = serial_of(&tsa);
            assert!(seen.insert(serial.clone()), "serial repeated");
            last = serial;
        }
    }
    assert!(!last.is_empty());
}

#[test]
fn tsa_failover_skips_dead_and_hanging_tsas_and_never_invents_a_timestamp() {
    let s = served();
    // A port nobody listens on (bound, then closed).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tsa", l.local_addr().unwrap())
    };
    // A server that accepts connections and never answers.
    let hanging_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging = format!("http://{}/tsa", hanging_listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hanging_listener.incoming().flatten() {
            held.push(stream);
        }
    });
    // A server that answers garbage.
    let garbage = format!("{}/certs/root.cer", s.base_url);
    let good = format!("{}/tsa", s.base_url);
    let imprint = DigestAlgorithm::Sha256.hash(b"failover");
    let rt = runtime();

    let client = TsaClient::new(vec![
        dead.clone(),
        hanging.clone(),
        garbage.clone(),
        good.clone(),
    ])
    .unwrap()
    .with_timeout(Duration::from_millis(500))
    .with_attempts(2, Duration::from_millis(10));
    let token = rt
        .block_on(client.timestamp(DigestAlgorithm::Sha256, &imprint))
        .unwrap();
    assert_eq!(token.url, good);

    let client = TsaClient::new(vec![dead.clone(), hanging.clone(), garbage.clone()])
        .unwrap()
        .with_timeout(Duration::from_millis(300))
        .with_attempts(2, Duration::from_millis(10));
    let err = rt
        .block_on(client.timestamp(DigestAlgorithm::Sha256, &imprint))
        .unwrap_err();
    match &err {
        TsaError::NoTsaAnswered(failures) => {
            assert!(
                failures.iter().any(|f| f.starts_with(&dead)),
                "{failures:?}"
            );
            assert!(
                failures
                    .iter()
                    .any(|f| f.starts_with(&hanging) && f.contains("no answer within")),
                "{failures:?}"
            );
            assert!(
                failures.iter().any(|f| f.starts_with(&garbage)),
                "{failures:?}"
            );
            // Dead and hanging TSAs were retried; the garbage one was not.
            assert_eq!(
                failures.iter().filter(|f| f.starts_with(&hanging)).count(),
                2
            );
            assert_eq!(
                failures.iter().filter(|f| f.starts_with(&garbage)).count(),
                1,
                "{failures:?}"
            );
        }
        other => panic!("expected NoTsaAnswered, got {other:?}"),
    }
    assert!(err.to_string().contains("nothing was signed without one"));
    assert!(matches!(TsaClient::new(vec![]), Err(TsaError::NoUrl)));
}

#[test]
fn ocsp_and_crl_clients_see_good_then_revoked() {
    let s = served();
    let cert = new_signer("取消 確認");
    let issuer = s.pki.issuing_ca().clone();
    let rt = runtime();
    let http = inkan_pki::http::client();
    let timeout = Duration::from_secs(5);
    let ocsp = rt
        .block_on(inkan_pki::ocsp::query(&http, &cert, &issuer, None, timeout))
        .unwrap();
    assert_eq!(ocsp.status, RevocationStatus::Good);
    assert!(ocsp.next_update.is_some());
    let (crl_status, crl_der) = rt
        .block_on(inkan_pki::crl::fetch_and_check(
            &http, &cert, &issuer, timeout,
        ))
        .unwrap();
    assert_eq!(crl_status, RevocationStatus::Good);
    assert!(!crl_der.is_empty());

    s.pki.revoke(&cert, RevocationReason::Superseded).unwrap();
    assert!(matches!(
        s.pki
            .status(CaRole::Issuing, &cert.tbs_certificate.serial_number)
            .unwrap(),
        inkan_pki::CertState::Revoked(_)
    ));
    let ocsp = rt
        .block_on(inkan_pki::ocsp::query(&http, &cert, &issuer, None, timeout))
        .unwrap();
    assert!(matches!(
        ocsp.status,
        RevocationStatus::Revoked {
            reason: Some(RevocationReason::Superseded),
            ..
        }
    ));
    let (crl_status, _) = rt
        .block_on(inkan_pki::crl::fetch_and_check(
            &http, &cert, &issuer, timeout,
        ))
        .unwrap();
    assert!(matches!(crl_status, RevocationStatus::Revoked { .. }));
    // The root's CRL covers the issuing CA, which is good.
    let (root_crl_status, _) = rt
        .block_on(inkan_pki::crl::fetch_and_check(
            &http,
            &issuer,
            s.pki.root(),
            timeout,
        ))
        .unwrap();
    assert_eq!(root_crl_status, RevocationStatus::Good);
    // A CRL is not accepted for a certificate of another issuer, nor when expired.
    assert!(inkan_pki::crl::check_crl(&crl_der, &cert, s.pki.root(), SystemTime::now()).is_err());
    let far_future = SystemTime::now() + Duration::from_secs(365 * 86_400);
    assert!(inkan_pki::crl::check_crl(&crl_der, &cert, &issuer, far_future).is_err());
}

#[test]
fn malformed_requests_get_400_and_the_server_keeps_serving() {
    let s = served();
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        b"hello".to_vec(),
        vec![0x30, 0x80, 0x00, 0x00],
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        vec![0x30; 5000],
    ];
    for body in &garbage {
        let (code, answer) = http_post(
            &format!("{}/ocsp", s.base_url),
            "application/ocsp-request",
            body.clone(),
        );
        assert_eq!(code, 400);
        let response = OcspResponse::from_der(&answer).unwrap();
        assert_eq!(
            response.response_status,
            OcspResponseStatus::MalformedRequest
        );
        let (code, answer) = http_post(
            &format!("{}/tsa", s.base_url),
            "application/timestamp-query",
            body.clone(),
        );
        assert_eq!(code, 400);
        let err = inkan_pki::tsa::check_response(&answer, DigestAlgorithm::Sha256, &[0; 32], &[1])
            .unwrap_err();
        assert!(err.contains("BadDataFormat"), "{err}");
    }
    let (code, _) = http_get(&format!("{}/ocsp/!!!not-base64!!!", s.base_url));
    assert_eq!(code, 400);
    let (code, _) = http_get(&format!("{}/crl/nope.crl", s.base_url));
    assert_eq!(code, 404);
    // A request too large is refused before it is read.
    let (code, _) = http_post(
        &format!("{}/tsa", s.base_url),
        "application/timestamp-query",
        vec![0; 1 << 20],
    );
    assert_eq!(code, 413);
    // Still serving.
    let (code, cert) = http_get(&format!("{}/certs/root.cer", s.base_url));
    assert_eq!(code, 200);
    assert_eq!(
        x509_cert::Certificate::from_der(&cert).unwrap(),
        *s.pki.root()
    );
    // An OCSP request about a certificate of another CA is "unauthorized", not an error.
    let foreign = inkan_pki::ocsp::build_request(s.pki.issuing_ca(), s.pki.root(), None).unwrap();
    let (code, answer) = http_post(
        &format!("{}/ocsp", s.base_url),
        "application/ocsp-request",
        foreign,
    );
    assert_eq!(code, 200);
    assert_eq!(
        OcspResponse::from_der(&answer).unwrap().response_status,
        OcspResponseStatus::Unauthorized
    );
}

#[test]
fn revoking_a_foreign_certificate_is_a_clear_error() {
    let s = served();
    let other = tempfile::tempdir().unwrap();
    let stranger = inkan_pki::Pki::init(
        &other.path().join("p"),
        inkan_pki::InitOptions {
            base_url: "http://127.0.0.1:1".into(),
            org: "Other".into(),
            keys: inkan_pki::KeyBackendConfig::File {
                kek_file: "keys/kek.bin".into(),
            },
            tsa_policy: None,
            tsa_lifetime: None,
        },
    )
    .unwrap();
    let err = s
        .pki
        .revoke(stranger.root(), RevocationReason::Unspecified)
        .unwrap_err();
    assert!(err.to_string().contains("not issued by this PKI"), "{err}");
    // init refuses to overwrite an existing PKI.
    let again = inkan_pki::Pki::init(
        &other.path().join("p"),
        inkan_pki::InitOptions {
            base_url: "http://127.0.0.1:1".into(),
            org: "Other".into(),
            keys: inkan_pki::KeyBackendConfig::File {
                kek_file: "keys/kek.bin".into(),
            },
            tsa_policy: None,
            tsa_lifetime: None,
        },
    );
    assert!(again
        .unwrap_err()
        .to_string()
        .contains("already holds a PKI"));
    assert!(inkan_pki::RevocationReason::parse("nonsense").is_err());
    assert_eq!(
        inkan_pki::RevocationReason::parse("keyCompromise").unwrap(),
        RevocationReason::KeyCompromise
    );
}

/// A PKI whose first TSA certificate lives 3 days: renewal with a 30-day lead re-certifies the
/// TSA key for 5 years (within the issuing CA's life), leaves the OCSP and witness certificates
/// alone, and does nothing the second time; a TSA and a `Pki` opened before the renewal sign
/// and report with the new certificate at once, without a restart.
#[test]
fn service_certificates_are_renewed_in_place_before_they_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let pki = inkan_pki::Pki::init(
        &dir,
        inkan_pki::InitOptions {
            base_url: "http://127.0.0.1:1".into(),
            org: "滝沢市".into(),
            keys: inkan_pki::KeyBackendConfig::File {
                kek_file: "keys/kek.bin".into(),
            },
            tsa_policy: None,
            tsa_lifetime: Some(std::time::Duration::from_secs(3 * 86_400)),
        },
    )
    .unwrap();
    let tsa = TimeStampAuthority::new(&pki).unwrap();
    let old = pki.tsa_certificate();
    let ocsp = pki.ocsp_certificate();
    let witness = pki.witness_certificate();
    let end = |c: &x509_cert::Certificate| c.tbs_certificate.validity.not_after.to_system_time();
    let now = SystemTime::now();
    assert!(end(&old) < now + Duration::from_secs(3 * 86_400 + 60));

    let lead = Duration::from_secs(30 * 86_400);
    let renewed = pki.renew_service_certificates(now, lead).unwrap();
    assert_eq!(renewed.len(), 1, "{renewed:?}");
    assert_eq!(renewed[0].role, inkan_pki::ServiceRole::Tsa);
    let new = pki.tsa_certificate();
    assert_ne!(
        new.tbs_certificate.serial_number,
        old.tbs_certificate.serial_number
    );
    assert_eq!(
        new.tbs_certificate.subject_public_key_info, old.tbs_certificate.subject_public_key_info,
        "the same key, certified again"
    );
    assert!(end(&new) > now + Duration::from_secs(4 * 365 * 86_400));
    assert!(end(&new) <= end(pki.issuing_ca()), "never outlives its CA");
    assert_eq!(pki.ocsp_certificate(), ocsp);
    assert_eq!(pki.witness_certificate(), witness);
    assert!(pki
        .renew_service_certificates(now, lead)
        .unwrap()
        .is_empty());

    // The TSA made before the renewal answers with the new certificate; so does a reopened PKI.
    let imprint = DigestAlgorithm::Sha256.hash(b"renewed");
    let request =
        inkan_pki::tsa::build_request(DigestAlgorithm::Sha256, &imprint, &[7; 8]).unwrap();
    let reply = tsa.respond(&request);
    assert_eq!(reply.http_status, 200);
    let (_, _, signer) =
        inkan_pki::tsa::check_response(&reply.body, DigestAlgorithm::Sha256, &imprint, &[7; 8])
            .unwrap();
    assert_eq!(signer.as_ref(), Some(&*new));
    assert_eq!(*inkan_pki::Pki::open(&dir).unwrap().tsa_certificate(), *new);
    // `pki status` reads the same.
    let tsa_expiry = pki
        .expiries()
        .into_iter()
        .find(|e| e.role == "tsa")
        .unwrap();
    assert_eq!(tsa_expiry.not_after, end(&new));
}

/// Two rollovers (`inkan pki rollover`): generation 3 issues, each new root certified by the one
/// before. A signer of generation 3 chains to the first root through both cross certificates —
/// in Inkan's path builder and in OpenSSL with only the first root trusted — and to its own root
/// directly. Generation 1 still answers for what it issued at the URLs written into it: OCSP
/// and its CRL see a revocation made after the rollovers. A rollover left unfinished is named,
/// not papered over; `expiries` lists every generation and every cross certificate.
#[test]
fn a_rollover_brings_a_cross_certified_root_and_the_old_generation_keeps_answering() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let first = inkan_pki::Pki::init(
        &dir,
        inkan_pki::InitOptions {
            base_url: base_url.clone(),
            org: "滝沢市".into(),
            keys: inkan_pki::KeyBackendConfig::File {
                kek_file: "keys/kek.bin".into(),
            },
            tsa_policy: None,
            tsa_lifetime: None,
        },
    )
    .unwrap();
    let request = |name: &str| SignerRequest {
        name: name.into(),
        email: None,
        days: 30,
    };
    let (old_signer, _) = first
        .issue_signer(&request("旧世代 署名者"), KeyKind::EcP256)
        .unwrap();
    let first_root = first.root().clone();
    let first_ocsp = first.ocsp_certificate();
    let first_issuing = first.issuing_ca().clone();
    drop(first);

    assert_eq!(inkan_pki::Pki::rollover(&dir).unwrap().generation(), 2);
    // A rollover that stopped half-way leaves its folder: named, and nothing changes.
    std::fs::create_dir(dir.join("g3")).unwrap();
    let refused = inkan_pki::Pki::rollover(&dir).unwrap_err().to_string();
    assert!(
        refused.contains("g3") && refused.contains("generation 2"),
        "{refused}"
    );
    assert_eq!(inkan_pki::Pki::open(&dir).unwrap().generation(), 2);
    std::fs::remove_dir(dir.join("g3")).unwrap();
    let pki = std::sync::Arc::new(inkan_pki::Pki::rollover(&dir).unwrap());
    assert_eq!(pki.generation(), 3);
    assert_eq!(pki.earlier().len(), 2);
    assert_eq!(pki.roots().first(), Some(&first_root), "oldest first");
    assert_eq!(pki.oldest_valid_root(SystemTime::now()), &first_root);
    assert_ne!(pki.root(), &first_root);
    assert!(x509_name(pki.root()).contains("Root CA G3"));
    inkan_pki::server::spawn_server(pki.clone(), listener);

    // Generation 3 issues; its chain leads back to the first root.
    let (new_signer, _) = pki
        .issue_signer(&request("新世代 署名者"), KeyKind::EcP256)
        .unwrap();
    let chain = pki.chain();
    assert_eq!(chain.len(), 3, "issuing CA and two cross certificates");
    let now = SystemTime::now();
    let path = inkan_cms::path::validate(
        &new_signer,
        &chain,
        std::slice::from_ref(&first_root),
        now,
        None,
    )
    .unwrap();
    assert_eq!(
        path.len(),
        5,
        "signer, issuing CA G3, G3 by G2, G2 by the first root, root"
    );
    let path = inkan_cms::path::validate(
        &new_signer,
        &chain,
        std::slice::from_ref(pki.root()),
        now,
        None,
    )
    .unwrap();
    assert_eq!(path.len(), 3);
    if common::openssl() {
        let files = tempfile::tempdir().unwrap();
        let pem = |name: &str, certs: &[x509_cert::Certificate]| {
            let path = files.path().join(name);
            std::fs::write(&path, inkan_pki::x509::to_pem(certs).unwrap()).unwrap();
            path
        };
        let out = inkan_testkit::run_ok(
            std::process::Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(pem("first-root.pem", std::slice::from_ref(&first_root)))
                .arg("-untrusted")
                .arg(pem("chain.pem", &chain))
                .arg(pem("signer.pem", std::slice::from_ref(&new_signer)))
                .arg(pem("tsa.pem", std::slice::from_ref(&pki.tsa_certificate()))),
        );
        assert_eq!(out.matches(": OK").count(), 2, "{out}");
    }

    // The first generation answers for its own, at the URLs in its certificates.
    let rt = runtime();
    let http = inkan_pki::http::client();
    let timeout = Duration::from_secs(5);
    let status = |cert: &x509_cert::Certificate, issuer: &x509_cert::Certificate| {
        let ocsp = rt
            .block_on(inkan_pki::ocsp::query(&http, cert, issuer, None, timeout))
            .unwrap();
        let (crl, _) = rt
            .block_on(inkan_pki::crl::fetch_and_check(
                &http, cert, issuer, timeout,
            ))
            .unwrap();
        (ocsp.status, crl)
    };
    assert_eq!(
        status(&old_signer, &first_issuing),
        (RevocationStatus::Good, RevocationStatus::Good)
    );
    assert_eq!(
        status(&new_signer, &chain[0]),
        (RevocationStatus::Good, RevocationStatus::Good)
    );
    pki.revoke(&old_signer, RevocationReason::Superseded)
        .unwrap();
    let (ocsp, crl) = status(&old_signer, &first_issuing);
    assert!(matches!(ocsp, RevocationStatus::Revoked { .. }), "{ocsp:?}");
    assert!(matches!(crl, RevocationStatus::Revoked { .. }), "{crl:?}");
    // The cross certificates are covered by the CRL of the root that certified them.
    let g2_root = pki.earlier()[0].root().clone();
    let (g2_cross_crl, _) = rt
        .block_on(inkan_pki::crl::fetch_and_check(
            &http,
            &chain[2],
            &first_root,
            timeout,
        ))
        .unwrap();
    assert_eq!(g2_cross_crl, RevocationStatus::Good);
    let (g3_cross_crl, _) = rt
        .block_on(inkan_pki::crl::fetch_and_check(
            &http, &chain[1], &g2_root, timeout,
        ))
        .unwrap();
    assert_eq!(g3_cross_crl, RevocationStatus::Good);

    // Seventy days on, every generation's OCSP responder is re-certified (they all still
    // answer); only the current generation's TSA and witness sign, and they are not due.
    let later = now + Duration::from_secs(70 * 86_400);
    let renewed = pki
        .renew_service_certificates(later, Duration::from_secs(30 * 86_400))
        .unwrap();
    let ocsp = inkan_pki::ServiceRole::Ocsp;
    assert!(renewed.iter().all(|r| r.role == ocsp), "{renewed:?}");
    // (The third generation's was made this very second: a new one would end no later.)
    for generation in [1, 2] {
        assert!(
            renewed.iter().any(|r| r.generation == generation),
            "{renewed:?}"
        );
    }
    let first_generation = &pki.earlier()[1];
    assert_eq!(first_generation.generation(), 1);
    let answer = rt
        .block_on(inkan_pki::ocsp::query(
            &http,
            &old_signer,
            &first_issuing,
            None,
            timeout,
        ))
        .unwrap();
    assert!(matches!(answer.status, RevocationStatus::Revoked { .. }));
    assert_eq!(
        inkan_pki::ocsp::responder_of(&answer.der).as_ref(),
        Some(&*first_generation.ocsp_certificate()),
        "the first generation's responder answers with its new certificate"
    );
    assert_ne!(*first_generation.ocsp_certificate(), *first_ocsp);

    // `pki status`: five certificates a generation and a cross certificate for each later one.
    let expiries = pki.expiries();
    assert_eq!(expiries.len(), 3 * 5 + 2, "{expiries:?}");
    for generation in 1..=3 {
        let roles: Vec<_> = expiries
            .iter()
            .filter(|e| e.generation == generation)
            .map(|e| e.role)
            .collect();
        for role in ["root", "issuing-ca", "tsa", "ocsp", "witness"] {
            assert!(roles.contains(&role), "generation {generation}: {roles:?}");
        }
        assert_eq!(roles.contains(&"cross-certified"), generation > 1);
    }
    assert!(expiries
        .windows(2)
        .all(|w| w[0].not_after <= w[1].not_after));
}

fn x509_name(cert: &x509_cert::Certificate) -> String {
    inkan_pki::x509::common_name(&cert.tbs_certificate.subject).unwrap_or_default()
}
