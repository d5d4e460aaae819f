//! The envelope's state machine: the seeds' flow (vendor first, city last), internal approval,
//! a 請書 with one signer, decline, cancel, expiry; every illegal step refused with the reason;
//! every repeated step harmless.
#![allow(clippy::unwrap_used)]

use inkan_domain::*;

const NOW: i64 = 1_780_000_000;
const DEADLINE: i64 = NOW + 7 * 86_400;

fn email(s: &str) -> Email {
    s.parse().unwrap()
}

fn draft() -> Envelope {
    let mut e = Envelope::new(
        OrganizationId::new(),
        "R7-契約-0123",
        "業務委託契約書",
        DEADLINE,
        NOW,
    )
    .unwrap();
    e.add_document(1_000_000).unwrap();
    e
}

#[test]
fn vendor_first_then_city_completes() {
    let mut e = draft();
    let vendor = e
        .add_recipient(Recipient::new(
            "山田太郎",
            email("taro@example.co.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    let city = e
        .add_recipient(Recipient::new(
            "盛岡市長",
            email("keiyaku@city.morioka.iwate.jp"),
            Role::Signer,
            2,
        ))
        .unwrap();
    e.add_recipient(Recipient::new(
        "会計課",
        email("kaikei@city.morioka.iwate.jp"),
        Role::Cc,
        3,
    ))
    .unwrap();
    assert_eq!(
        e.submit(NOW).unwrap(),
        Outcome::Changed(EnvelopeStatus::Sent)
    );
    assert_eq!(e.due(), vec![vendor]);
    // The city may not sign before the vendor.
    let err = e.sign(city, NOW + 10).unwrap_err();
    assert!(err.to_string().contains("not this signer's turn"), "{err}");
    assert_eq!(
        e.sign(vendor, NOW + 10).unwrap(),
        Outcome::Changed(EnvelopeStatus::PartiallySigned)
    );
    // A double click signs once.
    assert_eq!(e.sign(vendor, NOW + 11).unwrap(), Outcome::Unchanged);
    assert_eq!(e.due(), vec![city]);
    assert_eq!(
        e.sign(city, NOW + 20).unwrap(),
        Outcome::Changed(EnvelopeStatus::Completed)
    );
    assert!(e.status().is_final());
    assert!(e.due().is_empty());
    // Nothing more can happen to a completed envelope.
    assert!(matches!(
        e.cancel("やっぱり").unwrap_err(),
        DomainError::IllegalTransition { .. }
    ));
    assert!(e.expire(DEADLINE + 1).is_err());
    assert!(e.add_document(10).is_err());
}

#[test]
fn parallel_signers_in_one_group() {
    let mut e = draft();
    let a = e
        .add_recipient(Recipient::new("A", email("a@example.jp"), Role::Signer, 1))
        .unwrap();
    let b = e
        .add_recipient(Recipient::new("B", email("b@example.jp"), Role::Signer, 1))
        .unwrap();
    e.submit(NOW).unwrap();
    let mut due = e.due();
    due.sort();
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(due, both);
    assert_eq!(
        e.sign(b, NOW + 1).unwrap(),
        Outcome::Changed(EnvelopeStatus::PartiallySigned)
    );
    assert_eq!(
        e.sign(a, NOW + 2).unwrap(),
        Outcome::Changed(EnvelopeStatus::Completed)
    );
}

#[test]
fn a_single_signer_ukesho_completes_on_that_signature() {
    let mut e = Envelope::new(OrganizationId::new(), "R7-0124", "請書", DEADLINE, NOW).unwrap();
    e.add_document(20_000).unwrap();
    let vendor = e
        .add_recipient(Recipient::new(
            "山田太郎",
            email("taro@example.co.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    e.submit(NOW).unwrap();
    assert_eq!(
        e.sign(vendor, NOW + 1).unwrap(),
        Outcome::Changed(EnvelopeStatus::Completed)
    );
}

#[test]
fn internal_approval_comes_before_sending() {
    let mut e = draft();
    let boss = e
        .add_recipient(Recipient::new(
            "課長",
            email("kacho@city.example.jp"),
            Role::Approver,
            0,
        ))
        .unwrap();
    let vendor = e
        .add_recipient(Recipient::new(
            "業者",
            email("v@example.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    assert_eq!(
        e.submit(NOW).unwrap(),
        Outcome::Changed(EnvelopeStatus::AwaitingApproval)
    );
    assert!(e.due().is_empty(), "nobody signs before approval");
    assert!(e.sign(vendor, NOW).is_err());
    assert_eq!(
        e.approve(boss, NOW).unwrap(),
        Outcome::Changed(EnvelopeStatus::Sent)
    );
    assert_eq!(e.approve(boss, NOW).unwrap(), Outcome::Unchanged);
    assert_eq!(e.due(), vec![vendor]);
    // A signer is not an approver, nor the other way round.
    assert!(e.approve(vendor, NOW).is_err());
    assert!(e.sign(boss, NOW).is_err());
}

#[test]
fn decline_cancel_and_expiry() {
    let mut e = draft();
    let vendor = e
        .add_recipient(Recipient::new(
            "業者",
            email("v@example.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    e.submit(NOW).unwrap();
    assert!(
        e.decline(vendor, "  ", NOW + 1).is_err(),
        "a reason is required"
    );
    let declined = e.decline(vendor, "金額に誤りがあります", NOW + 1).unwrap();
    assert!(matches!(
        declined,
        Outcome::Changed(EnvelopeStatus::Declined { .. })
    ));
    assert_eq!(e.recipient(vendor).unwrap().done_at, Some(NOW + 1));
    assert_eq!(
        e.decline(vendor, "金額に誤りがあります", NOW + 1).unwrap(),
        Outcome::Unchanged
    );
    assert!(e.sign(vendor, NOW + 1).is_err());

    let mut e = draft();
    let vendor = e
        .add_recipient(Recipient::new(
            "業者",
            email("v@example.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    e.submit(NOW).unwrap();
    assert!(matches!(
        e.cancel("差し替え").unwrap(),
        Outcome::Changed(EnvelopeStatus::Cancelled { .. })
    ));
    assert_eq!(e.cancel("差し替え").unwrap(), Outcome::Unchanged);
    assert!(e.sign(vendor, NOW + 1).is_err());

    let mut e = draft();
    let vendor = e
        .add_recipient(Recipient::new(
            "業者",
            email("v@example.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    e.submit(NOW).unwrap();
    assert!(e.expire(DEADLINE - 1).is_err(), "not before the deadline");
    let late = e.sign(vendor, DEADLINE).unwrap_err();
    assert!(late.to_string().contains("deadline"), "{late}");
    assert_eq!(
        e.expire(DEADLINE).unwrap(),
        Outcome::Changed(EnvelopeStatus::Expired)
    );
    assert_eq!(e.expire(DEADLINE + 5).unwrap(), Outcome::Unchanged);
}

#[test]
fn drafts_are_checked_before_sending() {
    assert!(Envelope::new(OrganizationId::new(), "1", "  ", DEADLINE, NOW).is_err());
    assert!(Envelope::new(OrganizationId::new(), "1", "契約", NOW - 1, NOW).is_err());
    let mut e = Envelope::new(OrganizationId::new(), "1", "契約", DEADLINE, NOW).unwrap();
    assert!(e
        .submit(NOW)
        .unwrap_err()
        .to_string()
        .contains("no document"));
    e.add_document(10).unwrap();
    assert!(e.submit(NOW).unwrap_err().to_string().contains("no signer"));
    e.add_recipient(Recipient::new("x", email("x@example.jp"), Role::Signer, 1))
        .unwrap();
    assert!(e
        .add_recipient(Recipient::new("x", email("x@example.jp"), Role::Signer, 2))
        .is_err());
    assert!(e
        .submit(DEADLINE)
        .unwrap_err()
        .to_string()
        .contains("deadline"));
    e.submit(NOW).unwrap();
    assert_eq!(e.submit(NOW).unwrap(), Outcome::Unchanged);
    // Once sent, a draft's content is frozen.
    assert!(e.add_document(1).is_err());
    assert!(e
        .add_recipient(Recipient::new("y", email("y@example.jp"), Role::Signer, 1))
        .is_err());
    assert!(!e.cancel("").unwrap().eq(&Outcome::Unchanged));
}

#[test]
fn document_limits() {
    let mut e = Envelope::new(OrganizationId::new(), "1", "契約", DEADLINE, NOW).unwrap();
    for _ in 0..MAX_DOCUMENTS {
        e.add_document(1).unwrap();
    }
    assert!(matches!(e.add_document(1), Err(DomainError::Limit(_))));
    let mut e = Envelope::new(OrganizationId::new(), "1", "契約", DEADLINE, NOW).unwrap();
    e.add_document(MAX_TOTAL_BYTES).unwrap();
    assert!(matches!(e.add_document(1), Err(DomainError::Limit(_))));
}

#[test]
fn envelopes_round_trip_through_json() {
    let mut e = draft();
    e.add_recipient(Recipient::new(
        "山田太郎",
        email("taro@example.co.jp"),
        Role::Signer,
        1,
    ))
    .unwrap();
    e.submit(NOW).unwrap();
    let json = serde_json::to_string(&e).unwrap();
    let back: Envelope = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
    // Value types refuse bad input even inside JSON.
    assert!(serde_json::from_str::<Email>("\"not-an-email\"").is_err());
    assert!(serde_json::from_str::<ConclusionId>("\"abc\"").is_err());
}

/// What a person is told when refused says it in Japanese first, English after, so the pages can
/// show each reader their half: a transition that cannot happen, a wrong email, amount, deadline.
#[test]
fn refusals_are_japanese_first_with_english_beside() {
    let mut e = draft();
    let vendor = e
        .add_recipient(Recipient::new(
            "業者",
            email("v@example.jp"),
            Role::Signer,
            1,
        ))
        .unwrap();
    e.submit(NOW).unwrap();
    e.cancel("差し替え").unwrap();
    let refused = e.sign(vendor, NOW + 1).unwrap_err().to_string();
    assert_eq!(
        refused,
        "取消の封筒は署名できません (an envelope that is cancelled cannot be signed)"
    );
    let wrong_email = "no-at-sign".parse::<Email>().unwrap_err().to_string();
    assert!(
        wrong_email.starts_with("メールアドレス (email address): "),
        "{wrong_email}"
    );
    assert!(
        wrong_email.contains("@ がありません (no @)"),
        "{wrong_email}"
    );
    let wrong_amount = "-5".parse::<Yen>().unwrap_err().to_string();
    assert!(
        wrong_amount.starts_with("金額 (amount in yen): "),
        "{wrong_amount}"
    );
    assert!(wrong_amount.contains("0以上の整数"), "{wrong_amount}");
}
