//! Sign-in in the store: single sign-on (one provider per organization, each email domain with
//! one organization, values used once on every node) and passkeys.

use super::*;

fn provider(org: OrganizationId, domains: &[&str]) -> SsoProvider {
    SsoProvider {
        organization: org,
        issuer: "https://login.example.jp".into(),
        client_id: "inkan".into(),
        client_secret: "sealed:AAAA".into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        required: false,
        updated_at: NOW,
    }
}

pub(crate) async fn sso_providers_own_their_domains(ctx: Ctx) {
    let s = &*ctx.store;
    let morioka = organization(s, "盛岡市").await;
    let takizawa = organization(s, "滝沢市").await;
    let mine = provider(morioka, &["city.morioka.example.jp", "morioka.example.jp"]);
    s.set_sso_provider(&mine).await.unwrap();
    assert_eq!(s.sso_provider(morioka).await.unwrap(), Some(mine.clone()));
    assert_eq!(
        s.sso_provider_for_domain("morioka.example.jp")
            .await
            .unwrap()
            .map(|p| p.organization),
        Some(morioka)
    );
    assert!(s.sso_provider(takizawa).await.unwrap().is_none());
    // Another organization cannot take a domain: refused whole, nothing of it kept.
    let theirs = provider(
        takizawa,
        &["city.takizawa.example.jp", "morioka.example.jp"],
    );
    assert!(matches!(
        s.set_sso_provider(&theirs).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(s.sso_provider(takizawa).await.unwrap().is_none());
    assert!(s
        .sso_provider_for_domain("city.takizawa.example.jp")
        .await
        .unwrap()
        .is_none());
    // Replacing keeps one provider with the new domains; removing frees them.
    let changed = SsoProvider {
        domains: vec!["city.morioka.example.jp".into()],
        required: true,
        ..mine.clone()
    };
    s.set_sso_provider(&changed).await.unwrap();
    assert_eq!(s.sso_provider(morioka).await.unwrap(), Some(changed));
    assert!(s
        .sso_provider_for_domain("morioka.example.jp")
        .await
        .unwrap()
        .is_none());
    assert!(s.remove_sso_provider(morioka).await.unwrap());
    assert!(!s.remove_sso_provider(morioka).await.unwrap());
    assert!(s
        .sso_provider_for_domain("city.morioka.example.jp")
        .await
        .unwrap()
        .is_none());
    s.set_sso_provider(&theirs).await.unwrap();

    // Used once, in its scope, until it expires.
    assert!(s
        .use_once("sso-login", "state-1", NOW + 600, NOW)
        .await
        .unwrap());
    assert!(!s
        .use_once("sso-login", "state-1", NOW + 600, NOW + 1)
        .await
        .unwrap());
    assert!(s
        .use_once("other", "state-1", NOW + 600, NOW)
        .await
        .unwrap());
    assert!(
        s.use_once("sso-login", "state-1", NOW + 2000, NOW + 601)
            .await
            .unwrap(),
        "forgotten after its expiry"
    );
}

pub(crate) async fn passkeys_belong_to_their_user(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let (a, b) = (staff_member(s, org).await, staff_member(s, org).await);
    let key = |user: UserId, id: &str, at: i64| StoredPasskey {
        id: id.into(),
        user,
        name: format!("鍵 {id}"),
        credential: "{\"cred\":1}".into(),
        created_at: at,
        last_used_at: None,
    };
    s.add_passkey(&key(a, "k1", NOW)).await.unwrap();
    s.add_passkey(&key(a, "k2", NOW + 1)).await.unwrap();
    s.add_passkey(&key(b, "k3", NOW)).await.unwrap();
    assert!(matches!(
        s.add_passkey(&key(b, "k1", NOW)).await,
        Err(StoreError::Duplicate(_))
    ));
    let ids = |keys: Vec<StoredPasskey>| keys.into_iter().map(|k| k.id).collect::<Vec<_>>();
    assert_eq!(ids(s.passkeys(a).await.unwrap()), ["k1", "k2"]);
    assert!(s
        .touch_passkey(a, "k2", "{\"cred\":2}", NOW + 5)
        .await
        .unwrap());
    assert!(
        !s.touch_passkey(b, "k2", "{}", NOW + 5).await.unwrap(),
        "not b's"
    );
    let k2 = &s.passkeys(a).await.unwrap()[1];
    assert_eq!(
        (k2.credential.as_str(), k2.last_used_at),
        ("{\"cred\":2}", Some(NOW + 5))
    );
    assert!(!s.remove_passkey(b, "k1").await.unwrap(), "not b's");
    assert!(s.remove_passkey(a, "k1").await.unwrap());
    assert_eq!(s.remove_passkeys(a).await.unwrap(), 1);
    assert!(s.passkeys(a).await.unwrap().is_empty());
    assert_eq!(ids(s.passkeys(b).await.unwrap()), ["k3"]);
}
