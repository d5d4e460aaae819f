//! The blob store end to end: a local folder, a SoftHSM2 token, and an S3 server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inkan_blobs::{
    BlobConfig, BlobError, BlobKey, BlobStore, FileMasterKey, MasterKey, MasterKeyConfig,
    Pkcs11MasterKey,
};
use sha2::{Digest, Sha256};

fn key(s: &str) -> BlobKey {
    BlobKey::new(s).unwrap()
}

fn master(seed: u8) -> Arc<dyn MasterKey> {
    Arc::new(FileMasterKey::from_bytes(&[seed; 32]))
}

/// A store in a fresh folder, with that folder (to reach the raw objects).
fn local_store() -> (BlobStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::filesystem(dir.path().join("blobs"), master(1)).unwrap();
    (store, dir)
}

fn object_file(dir: &tempfile::TempDir, key: &str) -> PathBuf {
    dir.path().join("blobs").join(key)
}

/// A store on one backend, with the folder where its raw objects lie as files: a local folder,
/// or the bucket folder of an S3 server (s3s-fs) on loopback.
struct Backend {
    name: &'static str,
    store: BlobStore,
    objects: PathBuf,
    _dir: tempfile::TempDir,
}

impl Backend {
    fn object(&self, key: &BlobKey) -> PathBuf {
        self.objects.join(key.as_str())
    }
}

/// Both backends, each in a fresh folder: the tamper tests run against each.
async fn backends() -> Vec<Backend> {
    let (store, dir) = local_store();
    let local = Backend {
        name: "local",
        store,
        objects: dir.path().join("blobs"),
        _dir: dir,
    };
    let dir = tempfile::tempdir().unwrap();
    let server_root = dir.path().join("s3");
    std::fs::create_dir_all(server_root.join("inkan-blobs")).unwrap();
    let addr = start_s3_server(&server_root, "AKIDINKANTEST", "inkan-test-secret").await;
    let config = BlobConfig::S3 {
        endpoint: Some(format!("http://{addr}")),
        bucket: "inkan-blobs".into(),
        region: "us-east-1".into(),
        access_key_id: "AKIDINKANTEST".into(),
        secret_access_key: "inkan-test-secret".into(),
        allow_http: true,
        prefix: None,
    };
    let s3 = Backend {
        name: "s3",
        store: BlobStore::open(&config, master(1)).unwrap(),
        objects: server_root.join("inkan-blobs"),
        _dir: dir,
    };
    vec![local, s3]
}

/// Pseudo-random but reproducible content (no run of identical bytes to hide in).
fn content(len: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = Sha256::digest([seed]).to_vec();
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(&block).to_vec();
    }
    out.truncate(len);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where the header's parts are: (wrapped data key range, header length).
fn header_layout(object: &[u8]) -> (std::ops::Range<usize>, usize) {
    let id_len = usize::from(object[5]);
    let at = 6 + id_len;
    let wrapped_len = usize::from(u16::from_be_bytes([object[at], object[at + 1]]));
    let wrapped = at + 2..at + 2 + wrapped_len;
    let header_len = wrapped.end + 12 + 8;
    (wrapped, header_len)
}

/// Damages one byte of the wrapped data key and recomputes the (unkeyed) header check, as a
/// deliberate forger would: the master key itself must then refuse it.
fn forge_wrapped_key(object: &[u8]) -> Vec<u8> {
    let (wrapped, header_len) = header_layout(object);
    let mut forged = object.to_vec();
    forged[wrapped.start + wrapped.len() / 2] ^= 0x01;
    let check = Sha256::digest(&forged[..header_len - 8]);
    forged[header_len - 8..header_len].copy_from_slice(&check[..8]);
    forged
}

fn assert_corrupt(result: Result<Vec<u8>, BlobError>, what: &str) {
    match result {
        Err(BlobError::Corrupt { .. }) => {}
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn round_trips_small_empty_and_large_blobs() {
    let (store, _dir) = local_store();
    let small = b"%PDF-1.7 \xe5\xa5\x91\xe7\xb4\x84\xe6\x9b\xb8".to_vec();
    let large = content(20 * 1024 * 1024, 7);
    for (name, plain) in [
        ("org/a/doc/1/r1.pdf", small),
        ("org/a/doc/2/empty.bin", Vec::new()),
        ("org/a/doc/3/large.pdf", large),
    ] {
        let k = key(name);
        let info = store.put(&k, &plain).await.unwrap();
        assert_eq!(info.size, plain.len() as u64);
        assert_eq!(info.sha256, hex::encode(Sha256::digest(&plain)));
        assert!(store.exists(&k).await.unwrap());
        assert!(store.get(&k).await.unwrap() == plain, "{name}");
    }
}

#[tokio::test]
async fn replaces_and_deletes() {
    let (store, _dir) = local_store();
    let k = key("org/a/doc/1/r1.pdf");
    store.put(&k, b"first").await.unwrap();
    store.put(&k, b"second").await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), b"second");
    store.delete(&k).await.unwrap();
    assert!(!store.exists(&k).await.unwrap());
    // Deleting again is not an error (retried cleanup jobs).
    store.delete(&k).await.unwrap();
}

#[tokio::test]
async fn every_blob_has_its_own_data_key_and_no_plaintext_is_stored() {
    let (store, dir) = local_store();
    let plain = content(64 * 1024, 3);
    store.put(&key("a/one"), &plain).await.unwrap();
    store.put(&key("a/two"), &plain).await.unwrap();
    let one = std::fs::read(object_file(&dir, "a/one")).unwrap();
    let two = std::fs::read(object_file(&dir, "a/two")).unwrap();
    assert!(one.starts_with(b"INKB\x01"));
    assert_eq!(one.len(), two.len());
    assert_ne!(one, two);
    // Not only the ciphertext: the wrapped data keys differ too, and no 32-byte stretch of
    // plaintext appears in either object.
    let header_end = one.len() - plain.len() - 16;
    assert_ne!(one[..header_end], two[..header_end]);
    for chunk in plain.chunks(4096) {
        assert!(!contains(&one, &chunk[..32]) && !contains(&two, &chunk[..32]));
    }
}

#[tokio::test]
async fn no_temporary_files_are_left_after_writes() {
    let (store, dir) = local_store();
    for i in 0..5 {
        store
            .put(&key(&format!("d/blob{i}")), &content(100_000, i))
            .await
            .unwrap();
    }
    let mut names: Vec<_> = std::fs::read_dir(dir.path().join("blobs/d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["blob0", "blob1", "blob2", "blob3", "blob4"]);
}

#[tokio::test]
async fn any_changed_byte_is_detected() {
    for backend in backends().await {
        let (name, store) = (backend.name, &backend.store);
        let k = key("org/a/doc/1/r1.pdf");
        store.put(&k, b"the contract text").await.unwrap();
        let path = backend.object(&k);
        let original = std::fs::read(&path).unwrap();
        for i in 0..original.len() {
            for flip in [0x01, 0x80] {
                let mut damaged = original.clone();
                damaged[i] ^= flip;
                std::fs::write(&path, &damaged).unwrap();
                assert_corrupt(
                    store.get(&k).await,
                    &format!("{name}: byte {i} ^ {flip:#x}"),
                );
            }
        }
        // Past the header check, the master key's own authentication refuses a forged data key.
        std::fs::write(&path, forge_wrapped_key(&original)).unwrap();
        let err = store.get(&k).await.unwrap_err();
        assert!(
            err.to_string().contains("data key does not authenticate"),
            "{name}: {err}"
        );

        std::fs::write(&path, &original).unwrap();
        assert_eq!(store.get(&k).await.unwrap(), b"the contract text");
    }
}

#[tokio::test]
async fn truncated_objects_are_detected() {
    for backend in backends().await {
        let (name, store) = (backend.name, &backend.store);
        let k = key("org/a/doc/1/big.pdf");
        let plain = content(300_000, 9);
        store.put(&k, &plain).await.unwrap();
        let path = backend.object(&k);
        let original = std::fs::read(&path).unwrap();
        for keep in [
            0,
            3,
            4,
            5,
            20,
            60,
            100,
            117,
            original.len() / 2,
            original.len() - 1,
        ] {
            std::fs::write(&path, &original[..keep]).unwrap();
            assert_corrupt(store.get(&k).await, &format!("{name}: kept {keep} bytes"));
        }
        // Extra bytes at the end are not accepted either.
        let mut longer = original.clone();
        longer.push(0);
        std::fs::write(&path, &longer).unwrap();
        assert_corrupt(store.get(&k).await, &format!("{name}: one byte appended"));
    }
}

#[tokio::test]
async fn swapped_or_moved_objects_are_detected() {
    for backend in backends().await {
        let (name, store) = (backend.name, &backend.store);
        let (a, b) = (key("org/a/doc/1/r1.pdf"), key("org/b/doc/2/r1.pdf"));
        store.put(&a, b"contract A").await.unwrap();
        store.put(&b, b"contract B").await.unwrap();
        let (pa, pb) = (backend.object(&a), backend.object(&b));
        let (oa, ob) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        std::fs::write(&pa, &ob).unwrap();
        std::fs::write(&pb, &oa).unwrap();
        assert_corrupt(
            store.get(&a).await,
            &format!("{name}: A's name, B's object"),
        );
        assert_corrupt(
            store.get(&b).await,
            &format!("{name}: B's name, A's object"),
        );
        // A copy under a new name is refused as well.
        let c = key("org/a/doc/1/copy.pdf");
        std::fs::write(backend.object(&c), &oa).unwrap();
        assert_corrupt(store.get(&c).await, &format!("{name}: copied object"));
    }
}

/// A revision that appends to the one before (a PDF's incremental update) is stored as the
/// bytes it appends; reading gives the whole plaintext, on both backends.
#[tokio::test]
async fn a_revision_that_appends_stores_what_it_appends() {
    for backend in backends().await {
        let (name, store) = (backend.name, &backend.store);
        let (r0, r1, r2) = (
            key("org/a/env/e/doc/1/r0"),
            key("org/a/env/e/doc/1/r1"),
            key("org/a/env/e/doc/1/r2"),
        );
        let original = content(300_000, 1);
        store.put(&r0, &original).await.unwrap();
        let mut signed = original.clone();
        signed.extend_from_slice(&content(5_000, 2));
        let info = store
            .put_after(&r1, &store.read(&r0).await.unwrap(), &signed)
            .await
            .unwrap();
        assert_eq!(
            (info.size, info.sha256.clone()),
            (signed.len() as u64, hex::encode(Sha256::digest(&signed)))
        );
        let mut sealed = signed.clone();
        sealed.extend_from_slice(&content(8_000, 3));
        store
            .put_after(&r2, &store.read(&r1).await.unwrap(), &sealed)
            .await
            .unwrap();
        assert_eq!(store.get(&r1).await.unwrap(), signed, "{name}");
        assert_eq!(store.get(&r2).await.unwrap(), sealed, "{name}");
        assert_eq!(store.get(&r0).await.unwrap(), original, "{name}");
        // Each continuation's object holds what it appends, not the document again.
        let size = |k: &BlobKey| std::fs::metadata(backend.object(k)).unwrap().len();
        assert!(size(&r1) < 5_000 + 300, "{name}: r1 is {} bytes", size(&r1));
        assert!(size(&r2) < 8_000 + 300, "{name}: r2 is {} bytes", size(&r2));
        assert!(size(&r0) > 300_000, "{name}");
        // Nothing appended in the clear.
        assert!(!contains(
            &std::fs::read(backend.object(&r2)).unwrap(),
            &sealed[sealed.len() - 64..]
        ));

        // Not an append (the bytes before changed): stored whole.
        let r3 = key("org/a/env/e/doc/1/r3");
        let mut rewritten = sealed.clone();
        rewritten[10] ^= 1;
        store
            .put_after(&r3, &store.read(&r2).await.unwrap(), &rewritten)
            .await
            .unwrap();
        assert!(size(&r3) > 300_000, "{name}");
        assert_eq!(store.get(&r3).await.unwrap(), rewritten);
        // Another folder (another document, envelope or tenant): stored whole.
        let elsewhere = key("org/b/env/f/doc/2/r1");
        store
            .put_after(&elsewhere, &store.read(&r2).await.unwrap(), &sealed)
            .await
            .unwrap();
        assert!(size(&elsewhere) > 300_000, "{name}");
        assert_eq!(store.get(&elsewhere).await.unwrap(), sealed);
    }
}

/// A continuation reads only over the very objects it was written after: a base replaced
/// (even by the same plaintext), removed, or damaged makes it unreadable, never wrong.
#[tokio::test]
async fn a_continuation_whose_base_changed_is_refused() {
    for backend in backends().await {
        let (name, store) = (backend.name, &backend.store);
        let (r0, r1) = (key("org/a/env/e/doc/1/r0"), key("org/a/env/e/doc/1/r1"));
        let original = content(50_000, 4);
        store.put(&r0, &original).await.unwrap();
        let mut signed = original.clone();
        signed.extend_from_slice(b"%% an incremental update");
        store
            .put_after(&r1, &store.read(&r0).await.unwrap(), &signed)
            .await
            .unwrap();
        let base_object = std::fs::read(backend.object(&r0)).unwrap();
        let continuation = std::fs::read(backend.object(&r1)).unwrap();

        // Every byte of the continuation matters, its base's name, length and tag included.
        for i in 0..continuation.len() {
            let mut damaged = continuation.clone();
            damaged[i] ^= 0x01;
            std::fs::write(backend.object(&r1), &damaged).unwrap();
            assert_corrupt(store.get(&r1).await, &format!("{name}: byte {i}"));
        }
        std::fs::write(backend.object(&r1), &continuation).unwrap();
        assert_eq!(store.get(&r1).await.unwrap(), signed);

        // The base written again with the same plaintext: another object.
        store.put(&r0, &original).await.unwrap();
        let err = store.get(&r1).await.unwrap_err();
        assert!(
            matches!(&err, BlobError::Corrupt { reason, .. } if reason.contains("replaced")),
            "{name}: {err}"
        );
        // The base removed.
        store.delete(&r0).await.unwrap();
        let err = store.get(&r1).await.unwrap_err();
        assert!(
            matches!(&err, BlobError::Corrupt { reason, .. } if reason.contains("missing")),
            "{name}: {err}"
        );
        // The base damaged: the base's own check refuses it.
        let mut damaged = base_object.clone();
        damaged[base_object.len() / 2] ^= 0x01;
        std::fs::write(backend.object(&r0), &damaged).unwrap();
        assert_corrupt(store.get(&r1).await, &format!("{name}: damaged base"));
        // The original base back: readable again.
        std::fs::write(backend.object(&r0), &base_object).unwrap();
        assert_eq!(store.get(&r1).await.unwrap(), signed, "{name}");
        // A continuation moved into another folder is refused (it would reach its base there).
        let moved = key("org/b/env/f/doc/1/r1");
        std::fs::create_dir_all(backend.object(&moved).parent().unwrap()).unwrap();
        std::fs::write(backend.object(&moved), &continuation).unwrap();
        assert_corrupt(
            store.get(&moved).await,
            &format!("{name}: moved continuation"),
        );
    }
}

/// However often a document is revised, a read opens a bounded number of objects: past 16,
/// a revision is stored whole again.
#[tokio::test]
async fn long_revision_chains_are_cut_by_whole_objects() {
    let (store, dir) = local_store();
    let mut plaintext = content(20_000, 5);
    let first = key("org/a/env/e/doc/1/r0");
    store.put(&first, &plaintext).await.unwrap();
    let mut previous = store.read(&first).await.unwrap();
    let mut whole = Vec::new();
    for n in 1..=40 {
        plaintext.extend_from_slice(format!("update {n}\n").as_bytes());
        let k = key(&format!("org/a/env/e/doc/1/r{n}"));
        store.put_after(&k, &previous, &plaintext).await.unwrap();
        if std::fs::metadata(object_file(&dir, k.as_str()))
            .unwrap()
            .len()
            > 20_000
        {
            whole.push(n);
        }
        previous = store.read(&k).await.unwrap();
        assert_eq!(previous.bytes, plaintext);
        assert_eq!(previous.key(), &k);
    }
    assert_eq!(whole, vec![16, 32]);
}

#[tokio::test]
async fn foreign_objects_are_refused() {
    for backend in backends().await {
        let k = key("org/a/plain.pdf");
        let path = backend.object(&k);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n").unwrap();
        let err = backend.store.get(&k).await.unwrap_err();
        assert!(
            matches!(err, BlobError::Corrupt { .. }),
            "{}: {err}",
            backend.name
        );
        assert!(
            err.to_string().contains("not an encrypted Inkan blob"),
            "{}: {err}",
            backend.name
        );
    }
}

#[tokio::test]
async fn wrong_master_key_is_named_and_retired_keys_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let old = BlobStore::filesystem(&root, master(1)).unwrap();
    let k = key("org/a/doc/1/r1.pdf");
    old.put(&k, b"written under key 1").await.unwrap();

    let other = BlobStore::filesystem(&root, master(2)).unwrap();
    let err = other.get(&k).await.unwrap_err();
    match &err {
        BlobError::UnknownMasterKey { found, known, .. } => {
            assert_eq!(found, master(1).id());
            assert_eq!(known, &[master(2).id().to_string()]);
        }
        e => panic!("expected UnknownMasterKey, got {e:?}"),
    }
    assert!(
        err.to_string().contains("configure the master key"),
        "{err}"
    );

    // Rotation: the new key writes, the retired one still reads.
    let rotated = BlobStore::filesystem(&root, master(2))
        .unwrap()
        .with_retired_master_key(master(1));
    assert_eq!(rotated.get(&k).await.unwrap(), b"written under key 1");
    assert_eq!(rotated.master_key_id(), master(2).id());
}

#[tokio::test]
async fn missing_blobs_are_not_found() {
    let (store, _dir) = local_store();
    let k = key("org/a/doc/1/none.pdf");
    let err = store.get(&k).await.unwrap_err();
    assert!(matches!(err, BlobError::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), "blob org/a/doc/1/none.pdf does not exist");
    assert!(!store.exists(&k).await.unwrap());
}

#[test]
fn bad_keys_are_refused() {
    for bad in ["", "/abs", "a/../../etc/passwd", "a\u{7}b", "a//b", "a\\b"] {
        let err = BlobKey::new(bad).unwrap_err();
        assert!(matches!(err, BlobError::InvalidKey { .. }), "{bad:?}");
    }
    let k = key("org/0d9e/env/77aa/doc/c1/r3.pdf");
    assert_eq!(k.to_string(), "org/0d9e/env/77aa/doc/c1/r3.pdf");
}

#[tokio::test]
async fn file_master_key_from_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let toml_text = format!(
        "[blobs]\nkind = \"filesystem\"\nroot = {:?}\n[master_key]\nkind = \"file\"\npath = {:?}\n",
        dir.path().join("data/blobs"),
        dir.path().join("keys/blobs.key"),
    );
    #[derive(serde::Deserialize)]
    struct Config {
        blobs: BlobConfig,
        master_key: MasterKeyConfig,
    }
    let config: Config = toml::from_str(&toml_text).unwrap();
    let store = BlobStore::open(&config.blobs, config.master_key.open().unwrap()).unwrap();
    store.put(&key("x"), b"configured").await.unwrap();
    // Reopened from the same files: the key file was kept, the blob reads.
    let again = BlobStore::open(&config.blobs, config.master_key.open().unwrap()).unwrap();
    assert_eq!(again.get(&key("x")).await.unwrap(), b"configured");
}

#[test]
fn s3_configuration_parses_and_hides_its_secret() {
    let config: BlobConfig = toml::from_str(
        "kind = \"s3\"\nendpoint = \"http://127.0.0.1:9000\"\nbucket = \"inkan\"\n\
         access_key_id = \"AKID\"\nsecret_access_key = \"very-secret\"\nallow_http = true\n",
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(
        shown.contains("inkan") && shown.contains("us-east-1"),
        "{shown}"
    );
    assert!(!shown.contains("very-secret"), "{shown}");
    // A misspelt field is an error, not silently ignored.
    assert!(toml::from_str::<BlobConfig>(
        "kind = \"s3\"\nbucket = \"b\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"\nallow_htp = true\n"
    )
    .is_err());
}

// ---------------------------------------------------------------- PKCS#11 (SoftHSM2)

#[tokio::test]
async fn pkcs11_master_key_round_trip_and_reopen() {
    let Some(hsm) = inkan_testkit::softhsm() else {
        return;
    };
    let open = |label: &str| {
        Pkcs11MasterKey::open_or_create(&hsm.module, &hsm.token_label, &hsm.user_pin, label)
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let k = key("org/a/doc/1/sealed.pdf");
    let plain = content(1_000_000, 5);
    let id = {
        let token_key = open("blobs-master-roundtrip").unwrap();
        let id = token_key.id().to_string();
        assert!(id.starts_with("pkcs11:blobs-master-roundtrip:"), "{id}");
        let store = BlobStore::filesystem(&root, Arc::new(token_key)).unwrap();
        store.put(&k, &plain).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap(), plain);
        id
    }; // session closed, key handle gone

    // Reopened (without creating): the same key, and the blob still reads.
    let reopened = Pkcs11MasterKey::open(
        &hsm.module,
        &hsm.token_label,
        &hsm.user_pin,
        "blobs-master-roundtrip",
    )
    .unwrap();
    assert_eq!(reopened.id(), id);
    let store = BlobStore::filesystem(&root, Arc::new(reopened)).unwrap();
    assert_eq!(store.get(&k).await.unwrap(), plain);

    // Tampering is still caught, now by the token (the wrapped key) or by the content tag.
    let path = root.join(k.as_str());
    let original = std::fs::read(&path).unwrap();
    let (wrapped, header_len) = header_layout(&original);
    assert_eq!(header_len, original.len() - plain.len() - 16);
    for i in [wrapped.start, header_len + 10, original.len() - 1] {
        let mut damaged = original.clone();
        damaged[i] ^= 0x20;
        std::fs::write(&path, &damaged).unwrap();
        assert_corrupt(store.get(&k).await, &format!("byte {i}"));
    }
    // A forged wrapped key (header check recomputed) is refused by the token's GCM tag check.
    std::fs::write(&path, forge_wrapped_key(&original)).unwrap();
    let err = store.get(&k).await.unwrap_err();
    assert!(
        matches!(err, BlobError::Corrupt { .. })
            && err.to_string().contains("data key does not authenticate"),
        "{err:?}"
    );

    // The session survives the token's refusal: the intact blob still reads.
    std::fs::write(&path, &original).unwrap();
    assert_eq!(store.get(&k).await.unwrap(), plain);

    // Another key in the same token is another master key.
    let other = open("blobs-master-other").unwrap();
    assert_ne!(other.id(), id);
    let err = BlobStore::filesystem(&root, Arc::new(other))
        .unwrap()
        .get(&k)
        .await
        .unwrap_err();
    assert!(matches!(err, BlobError::UnknownMasterKey { .. }), "{err}");
}

#[test]
fn pkcs11_key_is_sensitive_and_errors_are_clear() {
    let Some(hsm) = inkan_testkit::softhsm() else {
        return;
    };
    let missing = Pkcs11MasterKey::open(&hsm.module, &hsm.token_label, &hsm.user_pin, "nope")
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("no AES key labelled \"nope\""),
        "{missing}"
    );
    let no_token = Pkcs11MasterKey::open_or_create(&hsm.module, "no-such-token", "1", "k")
        .unwrap_err()
        .to_string();
    assert!(no_token.contains("no token labelled"), "{no_token}");

    // The key cannot be read out of the token.
    let token_key = Pkcs11MasterKey::open_or_create(
        &hsm.module,
        &hsm.token_label,
        &hsm.user_pin,
        "blobs-master-sensitive",
    )
    .unwrap();
    let value = attribute_of_key(hsm, "blobs-master-sensitive");
    assert_eq!(value, (true, false, None));
    drop(token_key);
}

/// (sensitive, extractable, readable value) of the AES key with `label`.
fn attribute_of_key(hsm: &inkan_testkit::SoftHsm, label: &str) -> (bool, bool, Option<Vec<u8>>) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    let ctx = Pkcs11::new(&hsm.module).unwrap();
    // Already initialised by the store in this process: that is fine.
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim() == hsm.token_label)
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    let _ = session.login(
        UserType::User,
        Some(&AuthPin::new(hsm.user_pin.clone().into())),
    );
    let handle = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap()[0];
    let (mut sensitive, mut extractable) = (false, true);
    for a in session
        .get_attributes(
            handle,
            &[AttributeType::Sensitive, AttributeType::Extractable],
        )
        .unwrap()
    {
        match a {
            Attribute::Sensitive(v) => sensitive = v,
            Attribute::Extractable(v) => extractable = v,
            _ => {}
        }
    }
    let value = session
        .get_attributes(handle, &[AttributeType::Value])
        .ok()
        .and_then(|attrs| {
            attrs.into_iter().find_map(|a| match a {
                Attribute::Value(v) => Some(v),
                _ => None,
            })
        });
    (sensitive, extractable, value)
}

// ---------------------------------------------------------------- S3 (s3s-fs on loopback)

/// Serves the S3 protocol from `root` (buckets are its folders) on a loopback port, with SigV4
/// authentication on, for the life of the test's runtime.
async fn start_s3_server(root: &Path, access_key: &str, secret: &str) -> SocketAddr {
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key, secret));
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

#[tokio::test]
async fn s3_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server_root = dir.path().join("s3");
    std::fs::create_dir_all(server_root.join("inkan-blobs")).unwrap();
    let addr = start_s3_server(&server_root, "AKIDINKANTEST", "inkan-test-secret").await;
    let config = BlobConfig::S3 {
        endpoint: Some(format!("http://{addr}")),
        bucket: "inkan-blobs".into(),
        region: "us-east-1".into(),
        access_key_id: "AKIDINKANTEST".into(),
        secret_access_key: "inkan-test-secret".into(),
        allow_http: true,
        prefix: None,
    };
    let store = BlobStore::open(&config, master(4)).unwrap();

    let k = key("org/a/env/b/doc/c/r3.pdf");
    let plain = content(3 * 1024 * 1024, 11);
    let info = store.put(&k, &plain).await.unwrap();
    assert_eq!(info.sha256, hex::encode(Sha256::digest(&plain)));
    assert!(store.exists(&k).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), plain);

    // The server holds ciphertext only, and a changed byte there is caught.
    let object_path = server_root.join("inkan-blobs").join(k.as_str());
    let stored = std::fs::read(&object_path).unwrap();
    assert!(stored.starts_with(b"INKB"));
    assert!(!contains(&stored, &plain[1000..1032]));
    let mut damaged = stored.clone();
    damaged[stored.len() / 2] ^= 1;
    std::fs::write(&object_path, &damaged).unwrap();
    assert_corrupt(store.get(&k).await, "damaged on the server");
    std::fs::write(&object_path, &stored).unwrap();

    let missing = key("org/a/none");
    assert!(matches!(
        store.get(&missing).await.unwrap_err(),
        BlobError::NotFound { .. }
    ));
    assert!(!store.exists(&missing).await.unwrap());

    store.delete(&k).await.unwrap();
    assert!(!store.exists(&k).await.unwrap());
    store.delete(&k).await.unwrap();

    // Under a prefix: every key lives in a folder of the bucket and is listed without it.
    let BlobConfig::S3 { endpoint, .. } = &config else {
        unreachable!()
    };
    let prefixed = BlobStore::open(
        &BlobConfig::S3 {
            endpoint: endpoint.clone(),
            bucket: "inkan-blobs".into(),
            region: "us-east-1".into(),
            access_key_id: "AKIDINKANTEST".into(),
            secret_access_key: "inkan-test-secret".into(),
            allow_http: true,
            prefix: Some("backups/prod/".into()),
        },
        master(4),
    )
    .unwrap();
    let manifest = key("sets/20261204T030000Z/manifest.json");
    prefixed.put(&manifest, b"{}").await.unwrap();
    prefixed.put(&key("blobs/a"), b"a").await.unwrap();
    assert!(server_root
        .join("inkan-blobs/backups/prod/sets/20261204T030000Z/manifest.json")
        .exists());
    assert_eq!(
        prefixed.list("sets/").await.unwrap(),
        vec![manifest.clone()]
    );
    assert_eq!(
        prefixed.list("").await.unwrap(),
        vec![key("blobs/a"), manifest]
    );
    assert_eq!(
        store.list("backups/prod/blobs").await.unwrap(),
        vec![key("backups/prod/blobs/a")]
    );

    // Wrong credentials: refused by the server, reported as a backend error.
    let BlobConfig::S3 { endpoint, .. } = &config else {
        unreachable!()
    };
    let wrong = BlobConfig::S3 {
        endpoint: endpoint.clone(),
        bucket: "inkan-blobs".into(),
        region: "us-east-1".into(),
        access_key_id: "AKIDINKANTEST".into(),
        secret_access_key: "not-the-secret".into(),
        allow_http: true,
        prefix: None,
    };
    let err = BlobStore::open(&wrong, master(4))
        .unwrap()
        .put(&k, b"x")
        .await
        .unwrap_err();
    assert!(matches!(err, BlobError::Backend { .. }), "{err:?}");
}

/// The blob store's master key and the signing keys may live in the same HSM module: whichever
/// opens it first, the other shares the process's one context (a second initialisation of a
/// module is an error in PKCS#11).
#[test]
fn the_master_key_and_signing_keys_share_one_pkcs11_module() {
    let Some(hsm) = inkan_testkit::softhsm() else {
        return;
    };
    let master = Pkcs11MasterKey::open_or_create(
        &hsm.module,
        &hsm.token_label,
        &hsm.user_pin,
        "blobs-master-shared-module",
    )
    .unwrap();
    let token =
        inkan_keys::Pkcs11Token::open(&hsm.module, &hsm.token_label, &hsm.user_pin).unwrap();
    let key = token
        .generate_key("signing-shared-module", inkan_keys::KeyKind::EcP256)
        .unwrap();
    let signature = inkan_keys::SigningKey::sign(&key, b"contract").unwrap();
    assert!(!signature.is_empty());
    assert!(master
        .id()
        .starts_with("pkcs11:blobs-master-shared-module:"));
}
