//! 閲覧権限 in the store: groups, folders, grants, shares, and the one reading predicate, checked
//! against a reference model on random organizations.

use std::collections::{BTreeSet, HashMap};

use inkan_domain::{FolderId, GroupId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// A staff user of the model (each is checked with and without the top level).
struct ModelUser {
    id: UserId,
}

/// What the reference model knows: each envelope's creator, folder and shares; each folder's
/// parent and grants; each group's members.
#[derive(Default)]
struct Model {
    envelopes: Vec<(EnvelopeId, UserId, Option<FolderId>, Vec<UserId>)>,
    folders: HashMap<FolderId, (Option<FolderId>, Vec<GroupId>)>,
    groups: HashMap<GroupId, Vec<UserId>>,
}

impl Model {
    /// The folder and every folder above it.
    fn ancestry(&self, folder: FolderId) -> Vec<FolderId> {
        let mut chain = vec![folder];
        let mut next = self.folders[&folder].0;
        while let Some(f) = next {
            chain.push(f);
            next = self.folders[&f].0;
        }
        chain
    }

    /// Written from the product's rule, independently of the SQL.
    fn reads(&self, reach: &Reach, envelope: usize) -> bool {
        let (_, creator, folder, shares) = &self.envelopes[envelope];
        match *reach {
            Reach::Every => true,
            Reach::Nothing => false,
            Reach::Granted { user, unfiled } => {
                *creator == user
                    || shares.contains(&user)
                    || (folder.is_none() && unfiled)
                    || folder.is_some_and(|f| {
                        self.ancestry(f).iter().any(|a| {
                            self.folders[a]
                                .1
                                .iter()
                                .any(|g| self.groups[g].contains(&user))
                        })
                    })
            }
        }
    }

    fn expected(&self, reach: &Reach) -> BTreeSet<EnvelopeId> {
        (0..self.envelopes.len())
            .filter(|&i| self.reads(reach, i))
            .map(|i| self.envelopes[i].0)
            .collect()
    }

    /// Every folder at or below `top`.
    fn subtree(&self, top: FolderId) -> Vec<FolderId> {
        self.folders
            .keys()
            .copied()
            .filter(|f| self.ancestry(*f).contains(&top))
            .collect()
    }
}

fn staff_user(org: OrganizationId, n: usize) -> User {
    User {
        id: UserId::new(),
        organization: org,
        department: None,
        name: format!("職員 {n}"),
        email: email(&format!("staff{n}-{}@city.example.jp", UserId::new())),
        role: UserRole::DocumentManager,
        password_hash: None,
        created_at: NOW,
        session_generation: 0,
        disabled_at: None,
        totp_secret: None,
        totp_last_step: None,
    }
}

/// Builds a random organization in the store and the model alike.
async fn random_organization(
    s: &dyn Store,
    rng: &mut StdRng,
) -> (OrganizationId, Vec<ModelUser>, Model) {
    let org = organization(s, "盛岡市").await;
    let mut model = Model::default();
    let mut users = Vec::new();
    for n in 0..rng.gen_range(2..7) {
        let user = staff_user(org, n);
        s.create_user(&user).await.unwrap();
        users.push(ModelUser { id: user.id });
    }
    let mut groups = Vec::new();
    for n in 0..rng.gen_range(0..4) {
        let members: Vec<UserId> = users
            .iter()
            .filter(|_| rng.gen_bool(0.4))
            .map(|u| u.id)
            .collect();
        let group = Group {
            id: GroupId::new(),
            organization: org,
            name: format!("グループ{n}"),
            members: members.clone(),
            created_at: NOW,
        };
        s.create_group(&group).await.unwrap();
        model.groups.insert(group.id, members);
        groups.push(group.id);
    }
    let mut folders: Vec<FolderId> = Vec::new();
    for n in 0..rng.gen_range(0..8) {
        let parent = if folders.is_empty() || rng.gen_bool(0.3) {
            None
        } else {
            Some(folders[rng.gen_range(0..folders.len())])
        };
        let grants: Vec<GroupId> = groups
            .iter()
            .copied()
            .filter(|_| rng.gen_bool(0.3))
            .collect();
        let folder = Folder {
            id: FolderId::new(),
            organization: org,
            parent,
            name: format!("フォルダ{n}"),
            grants: grants.clone(),
            created_at: NOW,
        };
        match s.create_folder(&folder).await {
            Ok(()) => {
                model.folders.insert(folder.id, (parent, grants));
                folders.push(folder.id);
            }
            // Too deep: refused, and nothing was made.
            Err(StoreError::Refused(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    for n in 0..rng.gen_range(1..16) {
        let mut rec = record(draft(org, &format!("契約{n}"), NOW + 1000), NOW + n);
        rec.created_by = Some(users[rng.gen_range(0..users.len())].id);
        rec.folder = if folders.is_empty() || rng.gen_bool(0.3) {
            None
        } else {
            Some(folders[rng.gen_range(0..folders.len())])
        };
        let mut change = insert(&rec);
        change.documents = vec![document(&rec, 1, TransactionMetadata::default())];
        s.apply(change).await.unwrap();
        let shares: Vec<UserId> = users
            .iter()
            .filter(|_| rng.gen_bool(0.15))
            .map(|u| u.id)
            .collect();
        s.set_envelope_shares(org, rec.id(), &shares, NOW)
            .await
            .unwrap();
        model
            .envelopes
            .push((rec.id(), rec.created_by.unwrap(), rec.folder, shares));
    }
    (org, users, model)
}

/// Every surface the store offers returns exactly what the model allows, for every reach.
async fn check_every_surface(
    s: &dyn Store,
    org: OrganizationId,
    users: &[ModelUser],
    model: &Model,
    seed: u64,
) {
    let mut reaches = vec![Reach::Every, Reach::Nothing];
    for u in users {
        reaches.push(Reach::granted(u.id, true));
        reaches.push(Reach::granted(u.id, false));
    }
    for reach in &reaches {
        let expected = model.expected(reach);
        let listed: BTreeSet<EnvelopeId> = s
            .envelopes(
                org,
                &EnvelopeFilter {
                    reach: *reach,
                    ..EnvelopeFilter::default()
                },
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.id())
            .collect();
        assert_eq!(listed, expected, "seed {seed}: the list for {reach:?}");
        let found: BTreeSet<EnvelopeId> = s
            .search_documents(
                org,
                &DocumentQuery {
                    reach: *reach,
                    ..DocumentQuery::default()
                },
            )
            .await
            .unwrap()
            .iter()
            .map(|h| h.document.envelope)
            .collect();
        assert_eq!(
            found, expected,
            "seed {seed}: the 電帳法 search for {reach:?}"
        );
        for (id, ..) in &model.envelopes {
            let read = s.readable_envelope(org, *id, reach).await.unwrap();
            assert_eq!(
                read.is_some(),
                expected.contains(id),
                "seed {seed}: reading {id} by ID for {reach:?}"
            );
        }
        // A folder filter narrows the same reading to the folder's subtree.
        for folder in model.folders.keys() {
            let subtree = model.subtree(*folder);
            let inside: BTreeSet<EnvelopeId> = model
                .envelopes
                .iter()
                .filter(|(id, _, f, _)| {
                    expected.contains(id) && f.is_some_and(|f| subtree.contains(&f))
                })
                .map(|(id, ..)| *id)
                .collect();
            let listed: BTreeSet<EnvelopeId> = s
                .envelopes(
                    org,
                    &EnvelopeFilter {
                        reach: *reach,
                        folder: Some(*folder),
                        ..EnvelopeFilter::default()
                    },
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.id())
                .collect();
            assert_eq!(listed, inside, "seed {seed}: folder {folder} for {reach:?}");
        }
    }
}

/// Random users, groups, folders (nested), envelopes and shares on each backend; every surface
/// is compared with the model, then again after random folder moves, regrants and a deleted
/// group. A second organization built alike never shows through.
pub(crate) async fn reading_follows_folders_groups_and_shares(ctx: Ctx) {
    let s = &*ctx.store;
    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (org, users, mut model) = random_organization(s, &mut rng).await;
        let (other, other_users, other_model) = random_organization(s, &mut rng).await;
        check_every_surface(s, org, &users, &model, seed).await;
        check_every_surface(s, other, &other_users, &other_model, seed).await;
        // The other organization's users read nothing here, whatever their groups.
        for u in &other_users {
            for (id, ..) in &model.envelopes {
                assert!(s
                    .readable_envelope(org, *id, &Reach::granted(u.id, true))
                    .await
                    .unwrap()
                    .is_none());
            }
        }

        // Moves (some refused: under itself, too deep), new grants, a group deleted.
        let ids: Vec<FolderId> = model.folders.keys().copied().collect();
        let groups: Vec<GroupId> = model.groups.keys().copied().collect();
        for _ in 0..ids.len() {
            let folder = ids[rng.gen_range(0..ids.len())];
            let parent = if rng.gen_bool(0.3) {
                None
            } else {
                Some(ids[rng.gen_range(0..ids.len())])
            };
            let grants: Vec<GroupId> = groups
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.3))
                .collect();
            let update = Folder {
                id: folder,
                organization: org,
                parent,
                name: format!("移動{}", rng.gen::<u32>()),
                grants: grants.clone(),
                created_at: NOW,
            };
            let under_itself = parent.is_some_and(|p| model.ancestry(p).contains(&folder));
            match s.update_folder(&update).await {
                Ok(true) => {
                    assert!(!under_itself, "seed {seed}: a folder moved under itself");
                    model.folders.insert(folder, (parent, grants));
                }
                Err(StoreError::Refused(_)) => {}
                other => panic!("seed {seed}: {other:?}"),
            }
        }
        if let Some(&gone) = groups.first() {
            assert!(s.delete_group(org, gone).await.unwrap());
            model.groups.remove(&gone);
            for (_, grants) in model.folders.values_mut() {
                grants.retain(|g| *g != gone);
            }
        }
        check_every_surface(s, org, &users, &model, seed).await;
        // The store's folders and groups are the model's.
        let stored: HashMap<FolderId, (Option<FolderId>, BTreeSet<GroupId>)> = s
            .folders(org)
            .await
            .unwrap()
            .into_iter()
            .map(|f| (f.id, (f.parent, f.grants.into_iter().collect())))
            .collect();
        let modelled: HashMap<FolderId, (Option<FolderId>, BTreeSet<GroupId>)> = model
            .folders
            .iter()
            .map(|(id, (p, g))| (*id, (*p, g.iter().copied().collect())))
            .collect();
        assert_eq!(stored, modelled, "seed {seed}: the folders");
        assert_eq!(s.groups(org).await.unwrap().len(), model.groups.len());
    }
}

/// The folder tree's rules: parents listed before children, siblings named apart, no folder
/// under itself, at most `MAX_FOLDER_DEPTH` deep, only empty folders deleted, no folder or
/// member of another organization.
pub(crate) async fn folder_tree_rules(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "花巻市").await;
    let folder = |name: &str, parent: Option<FolderId>| Folder {
        id: FolderId::new(),
        organization: org,
        parent,
        name: name.to_string(),
        grants: vec![],
        created_at: NOW,
    };
    let top = folder("契約検査課", None);
    s.create_folder(&top).await.unwrap();
    let year = folder("令和8年度", Some(top.id));
    s.create_folder(&year).await.unwrap();
    let early = folder("A 先頭", None);
    s.create_folder(&early).await.unwrap();
    let names: Vec<String> = s
        .folders(org)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["A 先頭", "契約検査課", "令和8年度"], "tree order");
    assert!(s.folders(other).await.unwrap().is_empty());

    // Siblings cannot share a name; cousins can.
    assert!(matches!(
        s.create_folder(&folder("令和8年度", Some(top.id))).await,
        Err(StoreError::Duplicate(_))
    ));
    s.create_folder(&folder("令和8年度", Some(early.id)))
        .await
        .unwrap();

    // Under itself or under its own subfolder: refused, nothing changed.
    for parent in [top.id, year.id] {
        let moved = Folder {
            parent: Some(parent),
            ..top.clone()
        };
        assert!(matches!(
            s.update_folder(&moved).await,
            Err(StoreError::Refused(_))
        ));
    }
    assert_eq!(
        s.folders(org)
            .await
            .unwrap()
            .iter()
            .find(|f| f.id == top.id)
            .unwrap()
            .parent,
        None
    );

    // At most MAX_FOLDER_DEPTH deep, whether made there or moved there.
    let mut chain = vec![top.id, year.id];
    while chain.len() < MAX_FOLDER_DEPTH {
        let next = folder(&format!("階層{}", chain.len()), chain.last().copied());
        s.create_folder(&next).await.unwrap();
        chain.push(next.id);
    }
    assert!(matches!(
        s.create_folder(&folder("深すぎる", chain.last().copied()))
            .await,
        Err(StoreError::Refused(_))
    ));
    let moved = Folder {
        parent: chain.last().copied(),
        ..early.clone()
    };
    assert!(matches!(
        s.update_folder(&moved).await,
        Err(StoreError::Refused(_))
    ));

    // Another organization's parent, group or member is not found.
    let foreign = Folder {
        organization: other,
        ..folder("他市", Some(top.id))
    };
    assert!(matches!(
        s.create_folder(&foreign).await,
        Err(StoreError::NotFound(_))
    ));
    let foreign_group = Group {
        id: GroupId::new(),
        organization: other,
        name: "他市の課".into(),
        members: vec![],
        created_at: NOW,
    };
    s.create_group(&foreign_group).await.unwrap();
    let granted = Folder {
        grants: vec![foreign_group.id],
        ..top.clone()
    };
    assert!(matches!(
        s.update_folder(&granted).await,
        Err(StoreError::NotFound(_))
    ));
    let stranger = staff_user(other, 99);
    s.create_user(&stranger).await.unwrap();
    let group = Group {
        id: GroupId::new(),
        organization: org,
        name: "契約検査課".into(),
        members: vec![stranger.id],
        created_at: NOW,
    };
    assert!(matches!(
        s.create_group(&group).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        s.groups(org).await.unwrap().is_empty(),
        "nothing of the refused group stays"
    );

    // An envelope in another organization's folder is refused; in ours it keeps the folder
    // from being deleted.
    let mut rec = record(draft(org, "委託契約", NOW + 1000), NOW);
    let mut foreign_folder = folder("他市のフォルダ", None);
    foreign_folder.organization = other;
    s.create_folder(&foreign_folder).await.unwrap();
    rec.folder = Some(foreign_folder.id);
    assert!(matches!(
        s.apply(insert(&rec)).await,
        Err(StoreError::NotFound(_))
    ));
    rec.folder = Some(early.id);
    s.apply(insert(&rec)).await.unwrap();
    assert_eq!(
        s.envelope(org, rec.id()).await.unwrap().unwrap().folder,
        Some(early.id)
    );
    let last = *chain.last().unwrap();
    assert!(matches!(
        s.delete_folder(org, early.id).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.delete_folder(org, top.id).await,
        Err(StoreError::Refused(_))
    ));
    assert!(s.delete_folder(org, last).await.unwrap());
    assert!(!s.delete_folder(org, last).await.unwrap());
    assert!(
        !s.delete_folder(other, top.id).await.unwrap(),
        "not the other's to delete"
    );

    // Shares name the organization's users only; the default filter reads nothing.
    assert!(matches!(
        s.set_envelope_shares(org, rec.id(), &[stranger.id], NOW)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.envelope_shares(org, rec.id()).await.unwrap().is_empty());
    assert!(s
        .envelopes(org, &EnvelopeFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .search_documents(org, &DocumentQuery::default())
        .await
        .unwrap()
        .is_empty());
    assert!(s.set_folder_required(org, true).await.unwrap());
    assert!(s.organization(org).await.unwrap().unwrap().folder_required);
    assert!(
        !s.organization(other)
            .await
            .unwrap()
            .unwrap()
            .folder_required
    );
}
