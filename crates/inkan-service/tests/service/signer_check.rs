//! Issue 19, item 1: a signer's link that asks for an access code or an SMS code. Before the
//! code nothing of the contract is served (the request, the documents, their page images, any
//! act); wrong codes are counted and the fifth locks the link and mails the sender; a fresh link
//! unlocks it; SMS codes go through the SMS port as jobs, one segment, to an E.164 number; the
//! method and the masked number reach the signing record and the 電子契約締結証明書.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{self, caller, recipient, start};
use inkan_domain::{CheckRecord, Role};
use inkan_mail::FolderSms;
use inkan_service::{Caller, Inkan, ServiceError};

const VENDOR: &str = "taro.yamada@seisou.example.co.jp";

fn with_pass(pass: &str) -> Caller {
    Caller {
        link_pass: Some(pass.to_string()),
        ..caller()
    }
}

/// Every read and act of the link, without a pass: each asks for the check.
async fn everything_asks_for_the_code(inkan: &Inkan, token: &str, document: &str, who: &Caller) {
    let asks = |e: ServiceError| matches!(e, ServiceError::CheckRequired(_));
    assert!(asks(inkan.open_link(token, who).await.unwrap_err()));
    assert!(asks(
        inkan
            .signer_document(token, document, who)
            .await
            .unwrap_err()
    ));
    assert!(asks(
        inkan
            .signer_display(token, document, who)
            .await
            .unwrap_err()
    ));
    assert!(asks(inkan.signer_displays(token, who).await.unwrap_err()));
    assert!(asks(inkan.complete(token, &[], who).await.unwrap_err()));
    assert!(asks(inkan.decline(token, "x", who).await.unwrap_err()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_code_guards_the_link_counts_wrong_codes_and_locks_on_the_fifth() {
    let t = start(None).await;
    let inkan = &t.inkan;
    let staff = common::organization(inkan, "盛岡市", "admin@city.morioka.example.jp").await;
    let mut vendor = recipient(VENDOR, Role::Signer, 1);
    vendor.access_code = Some("Kita-2026".into());
    let env = common::draft(inkan, &staff, "清掃業務委託契約", vec![vendor], "1000").await;
    // Only a hash is kept: the code is nowhere in what the store holds for the envelope.
    let stored = inkan
        .store()
        .envelope(staff.organization, env.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!serde_json::to_string(&stored.envelope)
        .unwrap()
        .contains("Kita-2026"));
    inkan.send(&staff, &env.id, &caller()).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token(VENDOR, "s");
    let document = env.documents[0].id.clone();

    // Before the code: nothing, and the prompt names only who asks.
    everything_asks_for_the_code(inkan, &token, &document, &caller()).await;
    let Err(ServiceError::CheckRequired(prompt)) = inkan.open_link(&token, &caller()).await else {
        panic!("the link must ask for the code")
    };
    assert_eq!(prompt.organization, "盛岡市");
    assert_eq!(prompt.attempts_left, 5);
    // A forged pass does not pass.
    for forged in ["", "9999999999.AAAA", "not-a-pass", "1.2.3"] {
        everything_asks_for_the_code(inkan, &token, &document, &with_pass(forged)).await;
    }

    // Four wrong codes, each refused with what is left, then the right one — typed with the
    // IME on — gives a pass and clears the count.
    for left in (1..5).rev() {
        let e = inkan
            .give_link_code(&token, "kita-2026", &caller())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ServiceError::Invalid(m) if m.contains(&format!("あと {left} 回"))),
            "{e}"
        );
    }
    let pass = inkan
        .give_link_code(&token, "Ｋｉｔａ－２０２６", &caller())
        .await
        .unwrap();
    assert!(pass.expires_at > inkan_service::Clock::now(&*t.clock));
    let who = with_pass(&pass.pass);
    let view = inkan.open_link(&token, &who).await.unwrap();
    assert!(view.can_act);
    inkan
        .signer_document(&token, &document, &who)
        .await
        .unwrap();
    assert!(matches!(
        inkan.open_link(&token, &caller()).await.unwrap_err(),
        ServiceError::CheckRequired(p) if p.attempts_left == 5
    ));

    // The pass ends with its day.
    t.clock.advance(inkan_service::PASS_SECONDS + 1);
    assert!(matches!(
        inkan.open_link(&token, &who).await.unwrap_err(),
        ServiceError::CheckRequired(_)
    ));
    t.clock.advance(-(inkan_service::PASS_SECONDS + 1));

    // Five wrong codes lock the link: even the right code is refused, the sender is mailed.
    for _ in 0..4 {
        inkan
            .give_link_code(&token, "0000", &caller())
            .await
            .unwrap_err();
    }
    let locked = inkan
        .give_link_code(&token, "0000", &caller())
        .await
        .unwrap_err();
    assert!(
        matches!(&locked, ServiceError::NotAllowed(m) if m.contains("ロック")),
        "{locked}"
    );
    let refused = inkan
        .give_link_code(&token, "Kita-2026", &caller())
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::NotAllowed(_)), "{refused}");
    // Locked means locked for the pass already given too.
    assert!(matches!(
        inkan.open_link(&token, &who).await.unwrap_err(),
        ServiceError::NotAllowed(_)
    ));
    inkan.worker().drain().await.unwrap();
    let alert = t
        .outbox()
        .into_iter()
        .find(|m| m.subject.contains("ロックされました"))
        .expect("the sender is told the link locked");
    assert_eq!(alert.to, "admin@city.morioka.example.jp");
    assert!(alert.text.contains(VENDOR) && alert.text.contains("アクセスコード"));
    let seen = inkan.envelope(&staff, &env.id).await.unwrap();
    assert!(seen.recipients[0].link_locked);
    let trail = inkan.audit_trail(&staff, Some(&env.id)).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "signer_check_failed")
            .count(),
        9,
        "{actions:?}"
    );
    assert!(actions.contains(&"signer_check_passed"));
    assert!(actions.contains(&"signer_link_locked"));

    // The sender sends a fresh link: the old one is dead, the new one asks again from five.
    let vendor_id = seen.recipients[0].id.clone();
    inkan
        .send_fresh_link(&staff, &env.id, &vendor_id, &caller())
        .await
        .unwrap();
    inkan.worker().drain().await.unwrap();
    let fresh = t.other_link_token(VENDOR, "s", &token);
    assert!(matches!(
        inkan.open_link(&token, &who).await.unwrap_err(),
        ServiceError::NotFound(_)
    ));
    assert!(matches!(
        inkan.open_link(&fresh, &who).await.unwrap_err(),
        ServiceError::CheckRequired(p) if p.attempts_left == 5
    ));
    let pass = inkan
        .give_link_code(&fresh, "Kita-2026", &caller())
        .await
        .unwrap();
    let who = with_pass(&pass.pass);
    inkan.complete(&fresh, &[], &who).await.unwrap();
    inkan.worker().drain().await.unwrap();

    // The signing record and the certificate say how the signer was checked.
    let record = inkan
        .store()
        .envelope(staff.organization, env.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let signing = record.envelope.recipients()[0].signing.clone().unwrap();
    assert_eq!(signing.check, Some(CheckRecord::AccessCode));
    let (_, certificate) = inkan
        .download_certificate(&staff, &env.id, &caller())
        .await
        .unwrap();
    let path = t.data.path().join("certificate.pdf");
    std::fs::write(&path, certificate).unwrap();
    if let Some(text) = crate::conclusion::pdf_text(&path) {
        assert!(
            text.contains("署名依頼メールの専用URL)+アクセスコード"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_code_goes_out_as_a_job_and_only_the_latest_live_code_passes() {
    let t = start(None).await;
    let inkan = &t.inkan;
    let staff = common::organization(inkan, "滝沢市", "admin@city.takizawa.example.jp").await;
    let mut vendor = recipient(VENDOR, Role::Signer, 1);
    vendor.sms_phone = Some("０９０－１２３４－５６７８".into());
    let env = common::draft(inkan, &staff, "物品購入契約", vec![vendor], "1000").await;
    assert_eq!(
        env.recipients[0].check_phone.as_deref(),
        Some("+81 ******5678")
    );
    inkan.send(&staff, &env.id, &caller()).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let token = t.link_token(VENDOR, "s");
    let document = env.documents[0].id.clone();
    everything_asks_for_the_code(inkan, &token, &document, &caller()).await;
    let Err(ServiceError::CheckRequired(prompt)) = inkan.open_link(&token, &caller()).await else {
        panic!("the link must ask for the SMS code")
    };
    assert!(!prompt.code_sent);
    assert_eq!(prompt.masked_phone.as_deref(), Some("+81 ******5678"));
    // No code has been sent: nothing passes.
    assert!(inkan
        .give_link_code(&token, "000000", &caller())
        .await
        .is_err());

    let sent = inkan.send_link_sms(&token, &caller()).await.unwrap();
    assert_eq!(sent.masked_phone, "+81 ******5678");
    // The code is not sent twice a minute.
    let e = inkan.send_link_sms(&token, &caller()).await.unwrap_err();
    assert!(
        matches!(&e, ServiceError::Invalid(m) if m.contains("秒後")),
        "{e}"
    );
    inkan.worker().drain().await.unwrap();
    let messages = FolderSms::read_all(&t.data.path().join("sms")).unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (to, text) = &messages[0];
    assert_eq!(to, "+819012345678");
    assert!(text.chars().count() <= inkan_mail::MAX_SMS_CHARS, "{text}");
    assert!(text.starts_with("滝沢市の電子契約 認証コード: "), "{text}");
    let first_code: String = text
        .split("認証コード: ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    assert!(first_code.chars().all(|c| c.is_ascii_digit()), "{text}");
    // Neither the job rows nor the envelope hold the code.
    let stored = inkan
        .store()
        .envelope(staff.organization, env.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!serde_json::to_string(&stored.envelope)
        .unwrap()
        .contains(&first_code));

    // A minute later a new code replaces the first: the first no longer passes.
    t.clock.advance(61);
    inkan.send_link_sms(&token, &caller()).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let messages = FolderSms::read_all(&t.data.path().join("sms")).unwrap();
    assert_eq!(messages.len(), 2);
    let second_code: String = messages
        .iter()
        .map(|(_, text)| text.split("認証コード: ").nth(1).unwrap())
        .map(|rest| rest.chars().take(6).collect::<String>())
        .find(|c| *c != first_code)
        .unwrap_or_else(|| first_code.clone());
    if second_code != first_code {
        assert!(inkan
            .give_link_code(&token, &first_code, &caller())
            .await
            .is_err());
    }
    // The live code ten minutes on has run out.
    t.clock.advance(10 * 60);
    assert!(inkan
        .give_link_code(&token, &second_code, &caller())
        .await
        .is_err());
    t.clock.advance(-(10 * 60));
    let pass = inkan
        .give_link_code(&token, &second_code, &caller())
        .await
        .unwrap();
    let who = with_pass(&pass.pass);
    inkan.complete(&token, &[], &who).await.unwrap();
    inkan.worker().drain().await.unwrap();
    let record = inkan
        .store()
        .envelope(staff.organization, env.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.envelope.recipients()[0]
            .signing
            .clone()
            .unwrap()
            .check,
        Some(CheckRecord::Sms {
            masked_phone: "+81 ******5678".into()
        })
    );
    let (_, certificate) = inkan
        .download_certificate(&staff, &env.id, &caller())
        .await
        .unwrap();
    let path = t.data.path().join("certificate.pdf");
    std::fs::write(&path, certificate).unwrap();
    if let Some(text) = crate::conclusion::pdf_text(&path) {
        assert!(text.contains("+SMS認証(+81******5678)"), "{text}");
        assert!(!text.contains("12345678"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_is_for_signers_and_a_bad_one_is_named() {
    let t = start(None).await;
    let inkan = &t.inkan;
    let staff = common::organization(inkan, "南九州市", "admin@city.example.jp").await;
    let draft = |r: inkan_service::NewRecipient| {
        let staff = staff.clone();
        async move {
            let input = common::draft_input("契約", vec![r], "1000");
            inkan.create_envelope(&staff, &input, &caller()).await
        }
    };
    let mut approver = recipient("boss@city.example.jp", Role::Approver, 1);
    approver.access_code = Some("1234".into());
    let e = draft(approver).await.unwrap_err().to_string();
    assert!(e.contains("署名者にだけ"), "{e}");
    let mut both = recipient(VENDOR, Role::Signer, 1);
    both.access_code = Some("1234".into());
    both.sms_phone = Some("090-1234-5678".into());
    let e = draft(both).await.unwrap_err().to_string();
    assert!(
        e.contains("recipients[0]") && e.contains("どちらか一方"),
        "{e}"
    );
    let mut landline = recipient(VENDOR, Role::Signer, 1);
    landline.sms_phone = Some("019-651-4111".into());
    let e = draft(landline).await.unwrap_err().to_string();
    assert!(e.contains("recipients[0]") && e.contains("携帯電話"), "{e}");
    let mut long = recipient(VENDOR, Role::Signer, 1);
    long.access_code = Some("x".repeat(41));
    let e = draft(long).await.unwrap_err().to_string();
    assert!(e.contains("40 文字"), "{e}");
    // A link without a check asks for nothing and takes no code.
    let env = common::sent(inkan, &staff, "契約", VENDOR, "1000").await;
    let token = t.link_token(VENDOR, "s");
    assert!(inkan.open_link(&token, &caller()).await.is_ok());
    assert!(matches!(
        inkan.give_link_code(&token, "1234", &caller()).await,
        Err(ServiceError::NotAllowed(_))
    ));
    assert!(inkan.check_prompt(&token).await.unwrap().is_none());
    drop(env);
}
