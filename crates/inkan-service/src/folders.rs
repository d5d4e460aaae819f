//! 閲覧権限・フォルダ: groups of staff users, folders granted to groups, envelopes moved
//! between folders and shared with single users. Who reads what is decided by the store's one
//! predicate ([`Reach`]); this module keeps the settings that feed it, each change audited.
//!
//! Groups, folders and grants are managed by an administrator who reads every document
//! ([`crate::Rights::manages_folders`]): giving reading is for one who has it all. Moving and
//! sharing an envelope are for whoever may change it, into folders they may choose.

use inkan_domain::{text, FolderId, GroupId, UserId};
use inkan_store::{Change, Folder, Group, Reach};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// A group as the settings page and `GET /api/v1/groups` show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    #[schema(value_type = String)]
    pub id: GroupId,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub members: Vec<UserId>,
}

/// A group to create, or what an existing one becomes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct GroupInput {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub members: Vec<UserId>,
}

/// A folder as the settings page and `GET /api/v1/folders` show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FolderView {
    #[schema(value_type = String)]
    pub id: FolderId,
    #[schema(value_type = Option<String>)]
    pub parent: Option<FolderId>,
    pub name: String,
    /// The names from the top, joined with ` / `: `契約検査課 / 令和8年度`.
    pub path: String,
    /// 1 at the top.
    pub depth: usize,
    #[schema(value_type = Vec<String>)]
    pub grants: Vec<GroupId>,
}

/// A folder to create, or what an existing one becomes (its place and grants included).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FolderInput {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub parent: Option<FolderId>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub grants: Vec<GroupId>,
}

/// A colleague one may share an envelope with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Colleague {
    #[schema(value_type = String)]
    pub id: UserId,
    pub name: String,
}

/// Where an envelope goes (`None`: the top level).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EnvelopeMove {
    #[schema(value_type = Option<String>)]
    pub folder: Option<FolderId>,
}

/// The users one envelope is shared with (replacing the earlier ones).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct EnvelopeShares {
    #[schema(value_type = Vec<String>)]
    pub users: Vec<UserId>,
}

impl Inkan {
    // ── Groups ───────────────────────────────────────────────────────────────────────────────

    /// The organization's groups (administrators).
    pub async fn groups(&self, staff: &Staff) -> Result<Vec<GroupView>> {
        self.require_admin(staff).await?;
        Ok(self
            .store
            .groups(staff.organization)
            .await?
            .into_iter()
            .map(group_view)
            .collect())
    }

    pub async fn create_group(
        &self,
        staff: &Staff,
        caller: &Caller,
        input: &GroupInput,
    ) -> Result<GroupView> {
        staff.require_folder_management()?;
        let group = Group {
            id: GroupId::new(),
            organization: staff.organization,
            name: text::required_line("グループ名 (group name)", &input.name, 100)?,
            members: unique(&input.members),
            created_at: self.now(),
        };
        self.store
            .create_group(&group)
            .await
            .map_err(unknown_user)?;
        self.record(
            staff,
            caller,
            "group_created",
            serde_json::json!({ "group": group.id, "name": group.name, "members": group.members }),
        )
        .await?;
        Ok(group_view(group))
    }

    pub async fn update_group(
        &self,
        staff: &Staff,
        caller: &Caller,
        id: GroupId,
        input: &GroupInput,
    ) -> Result<GroupView> {
        staff.require_folder_management()?;
        let before = self.group(staff, id).await?;
        let group = Group {
            name: text::required_line("グループ名 (group name)", &input.name, 100)?,
            members: unique(&input.members),
            ..before.clone()
        };
        if !self
            .store
            .update_group(&group)
            .await
            .map_err(unknown_user)?
        {
            return Err(ServiceError::NotFound("the group"));
        }
        self.record(
            staff,
            caller,
            "group_changed",
            serde_json::json!({
                "group": id,
                "before": { "name": before.name, "members": before.members },
                "after": { "name": group.name, "members": group.members },
            }),
        )
        .await?;
        Ok(group_view(group))
    }

    pub async fn delete_group(&self, staff: &Staff, caller: &Caller, id: GroupId) -> Result<()> {
        staff.require_folder_management()?;
        let before = self.group(staff, id).await?;
        if !self.store.delete_group(staff.organization, id).await? {
            return Err(ServiceError::NotFound("the group"));
        }
        self.record(
            staff,
            caller,
            "group_deleted",
            serde_json::json!({ "group": id, "name": before.name, "members": before.members }),
        )
        .await
    }

    async fn group(&self, staff: &Staff, id: GroupId) -> Result<Group> {
        self.store
            .groups(staff.organization)
            .await?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or(ServiceError::NotFound("the group"))
    }

    // ── Folders ──────────────────────────────────────────────────────────────────────────────

    /// The folders this caller may send or move envelopes into: every folder for one who reads
    /// every envelope, else those granted (themselves or by a folder above) to one of their
    /// groups.
    pub async fn choosable_folders(&self, staff: &Staff) -> Result<Vec<FolderView>> {
        let folders = self.store.folders(staff.organization).await?;
        let views = folder_views(&folders);
        match staff.rights.reads {
            Reach::Every => Ok(views),
            Reach::Nothing => Ok(Vec::new()),
            Reach::Granted { user, .. } => {
                let groups = self.store.groups(staff.organization).await?;
                let mine: Vec<GroupId> = groups
                    .iter()
                    .filter(|g| g.members.contains(&user))
                    .map(|g| g.id)
                    .collect();
                let granted = granted_folders(&folders, &mine);
                Ok(views
                    .into_iter()
                    .filter(|v| granted.contains(&v.id))
                    .collect())
            }
        }
    }

    pub async fn create_folder(
        &self,
        staff: &Staff,
        caller: &Caller,
        input: &FolderInput,
    ) -> Result<FolderView> {
        staff.require_folder_management()?;
        let folder = Folder {
            id: FolderId::new(),
            organization: staff.organization,
            parent: input.parent,
            name: folder_name(&input.name)?,
            grants: unique(&input.grants),
            created_at: self.now(),
        };
        self.store
            .create_folder(&folder)
            .await
            .map_err(folder_error)?;
        self.record(
            staff,
            caller,
            "folder_created",
            serde_json::json!({
                "folder": folder.id, "name": folder.name, "parent": folder.parent,
                "grants": folder.grants,
            }),
        )
        .await?;
        self.folder_view(staff, folder.id).await
    }

    /// Renames, moves and regrants a folder; a move is audited as `folder_moved`, a change of
    /// name or grants as `folder_changed`.
    pub async fn update_folder(
        &self,
        staff: &Staff,
        caller: &Caller,
        id: FolderId,
        input: &FolderInput,
    ) -> Result<FolderView> {
        staff.require_folder_management()?;
        let before = self
            .store
            .folders(staff.organization)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(ServiceError::NotFound("the folder"))?;
        let folder = Folder {
            parent: input.parent,
            name: folder_name(&input.name)?,
            grants: unique(&input.grants),
            ..before.clone()
        };
        if !self
            .store
            .update_folder(&folder)
            .await
            .map_err(folder_error)?
        {
            return Err(ServiceError::NotFound("the folder"));
        }
        if before.parent != folder.parent {
            self.record(
                staff,
                caller,
                "folder_moved",
                serde_json::json!({ "folder": id, "from": before.parent, "to": folder.parent }),
            )
            .await?;
        }
        if before.name != folder.name || sorted(&before.grants) != sorted(&folder.grants) {
            self.record(
                staff,
                caller,
                "folder_changed",
                serde_json::json!({
                    "folder": id,
                    "before": { "name": before.name, "grants": before.grants },
                    "after": { "name": folder.name, "grants": folder.grants },
                }),
            )
            .await?;
        }
        self.folder_view(staff, id).await
    }

    /// Deletes an empty folder.
    pub async fn delete_folder(&self, staff: &Staff, caller: &Caller, id: FolderId) -> Result<()> {
        staff.require_folder_management()?;
        if !self
            .store
            .delete_folder(staff.organization, id)
            .await
            .map_err(folder_error)?
        {
            return Err(ServiceError::NotFound("the folder"));
        }
        self.record(
            staff,
            caller,
            "folder_deleted",
            serde_json::json!({ "folder": id }),
        )
        .await
    }

    async fn folder_view(&self, staff: &Staff, id: FolderId) -> Result<FolderView> {
        folder_views(&self.store.folders(staff.organization).await?)
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(ServiceError::NotFound("the folder"))
    }

    /// Whether the organization requires a folder for every envelope.
    pub async fn folder_required(&self, staff: &Staff) -> Result<bool> {
        Ok(self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?
            .folder_required)
    }

    /// A folder's names from the top (`契約検査課 / 令和8年度`), for showing where an envelope
    /// the caller reads lives.
    pub async fn folder_path(&self, staff: &Staff, id: FolderId) -> Result<String> {
        Ok(self.folder_view(staff, id).await?.path)
    }

    /// The organization's active users, for choosing whom to share an envelope with (anyone
    /// who may send).
    pub async fn colleagues(&self, staff: &Staff) -> Result<Vec<Colleague>> {
        staff.require_send()?;
        Ok(self
            .store
            .users(staff.organization)
            .await?
            .into_iter()
            .filter(|u| u.disabled_at.is_none())
            .map(|u| Colleague {
                id: u.id,
                name: u.name,
            })
            .collect())
    }

    /// Whether every envelope must be sent into a folder (administrators).
    pub async fn set_folder_required(
        &self,
        staff: &Staff,
        caller: &Caller,
        required: bool,
    ) -> Result<()> {
        staff.require_folder_management()?;
        self.store
            .set_folder_required(staff.organization, required)
            .await?;
        self.record(
            staff,
            caller,
            "folder_required_changed",
            serde_json::json!({ "required": required }),
        )
        .await
    }

    /// The folder a new envelope goes into, checked: one the sender may choose, and one at all
    /// when the organization requires it.
    pub(crate) async fn folder_for_new_envelope(
        &self,
        staff: &Staff,
        folder: Option<FolderId>,
        required: bool,
    ) -> Result<Option<FolderId>> {
        match folder {
            None if required => Err(ServiceError::Invalid(
                "この組織では封筒を送るフォルダの指定が必要です (this organization requires a folder for every envelope)"
                    .into(),
            )),
            None => Ok(None),
            Some(id) => {
                self.require_choosable(staff, id).await?;
                Ok(Some(id))
            }
        }
    }

    async fn require_choosable(&self, staff: &Staff, id: FolderId) -> Result<()> {
        if self
            .choosable_folders(staff)
            .await?
            .iter()
            .any(|f| f.id == id)
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound("the folder"))
        }
    }

    // ── One envelope: its folder and who it is shared with ──────────────────────────────────

    /// Moves an envelope into a folder the caller may choose (`None`: the top level, unless the
    /// organization requires a folder). Audited on the envelope as `envelope_moved`.
    pub async fn move_envelope(
        &self,
        staff: &Staff,
        caller: &Caller,
        id: &str,
        to: Option<FolderId>,
    ) -> Result<()> {
        let id = Self::parse_envelope_id(id)?;
        let record = self.changeable(staff, id).await?;
        let org = self
            .store
            .organization(staff.organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?;
        let to = self
            .folder_for_new_envelope(staff, to, org.folder_required)
            .await?;
        if record.folder == to {
            return Ok(());
        }
        let mut write = self.write(&record);
        write.record.folder = to;
        self.store
            .apply(Change {
                envelope: Some(write),
                audit: vec![self.audit_entry(
                    staff.organization,
                    &staff.actor,
                    "envelope_moved",
                    Some(id),
                    None,
                    caller,
                    serde_json::json!({ "from": record.folder, "to": to }),
                )],
                now: self.now(),
                ..Change::default()
            })
            .await?;
        Ok(())
    }

    /// Who an envelope is shared with, one by one (those who read it anyway are not listed).
    pub async fn envelope_shares(&self, staff: &Staff, id: &str) -> Result<EnvelopeShares> {
        let id = Self::parse_envelope_id(id)?;
        self.visible(staff, id).await?;
        Ok(EnvelopeShares {
            users: self.store.envelope_shares(staff.organization, id).await?,
        })
    }

    /// Shares an envelope with exactly these users of the organization (個別共有), for whoever
    /// may change it. Audited on the envelope as `envelope_shares_changed`.
    pub async fn share_envelope(
        &self,
        staff: &Staff,
        caller: &Caller,
        id: &str,
        users: &[UserId],
    ) -> Result<EnvelopeShares> {
        let id = Self::parse_envelope_id(id)?;
        self.changeable(staff, id).await?;
        let before = self.store.envelope_shares(staff.organization, id).await?;
        let after = sorted(&unique(users));
        if before != after {
            self.store
                .set_envelope_shares(staff.organization, id, &after, self.now())
                .await
                .map_err(unknown_user)?;
            self.append_audit(self.audit_entry(
                staff.organization,
                &staff.actor,
                "envelope_shares_changed",
                Some(id),
                None,
                caller,
                serde_json::json!({ "before": before, "after": after }),
            ))
            .await?;
        }
        Ok(EnvelopeShares { users: after })
    }

    /// Whether `user` is given reading beyond their role: a group or a shared envelope.
    pub(crate) async fn has_given_reading(&self, staff: &Staff, user: UserId) -> Result<bool> {
        let groups = self.store.groups(staff.organization).await?;
        Ok(groups.iter().any(|g| g.members.contains(&user))
            || !self
                .store
                .shared_with(staff.organization, user)
                .await?
                .is_empty())
    }
}

fn group_view(group: Group) -> GroupView {
    GroupView {
        id: group.id,
        name: group.name,
        members: group.members,
    }
}

/// Folder views in the store's tree order, each with its path of names.
fn folder_views(folders: &[Folder]) -> Vec<FolderView> {
    folders
        .iter()
        .map(|f| {
            let chain = ancestry(folders, f.id);
            FolderView {
                id: f.id,
                parent: f.parent,
                name: f.name.clone(),
                path: chain
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" / "),
                depth: chain.len(),
                grants: f.grants.clone(),
            }
        })
        .collect()
}

/// A folder and those above it, from the top.
fn ancestry(folders: &[Folder], id: FolderId) -> Vec<&Folder> {
    let mut chain = Vec::new();
    let mut next = Some(id);
    while let Some(id) = next {
        // The store keeps the tree acyclic; the bound only guards against a hand-edited one.
        let Some(folder) = folders.iter().find(|f| f.id == id) else {
            break;
        };
        if chain.len() > inkan_store::MAX_FOLDER_DEPTH {
            break;
        }
        chain.push(folder);
        next = folder.parent;
    }
    chain.reverse();
    chain
}

/// The folders granted to one of `groups`, themselves or through a folder above them.
pub(crate) fn granted_folders(folders: &[Folder], groups: &[GroupId]) -> Vec<FolderId> {
    folders
        .iter()
        .filter(|f| {
            ancestry(folders, f.id)
                .iter()
                .any(|a| a.grants.iter().any(|g| groups.contains(g)))
        })
        .map(|f| f.id)
        .collect()
}

fn folder_name(name: &str) -> Result<String> {
    let name = text::required_line("フォルダ名 (folder name)", name, 100)?;
    if name.contains('/') {
        return Err(ServiceError::Invalid(
            "フォルダ名に / は使えません (a folder name cannot hold /)".into(),
        ));
    }
    Ok(name)
}

fn unique<T: Copy + Ord>(items: &[T]) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(*item);
        }
    }
    seen
}

fn sorted<T: Copy + Ord>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// A member or share that names nobody of the organization.
fn unknown_user(e: inkan_store::StoreError) -> ServiceError {
    match e {
        // The store's message names IDs; the person is told what, not which.
        inkan_store::StoreError::NotFound(_) => ServiceError::Invalid(
            "組織にいない職員が指定されました (a user who is not of the organization was named)"
                .into(),
        ),
        other => other.into(),
    }
}

/// A parent or grant that names nothing of the organization, or a refused move.
fn folder_error(e: inkan_store::StoreError) -> ServiceError {
    match e {
        inkan_store::StoreError::NotFound(_) => ServiceError::Invalid(
            "指定された親フォルダまたはグループがありません (no such parent folder or group)"
                .into(),
        ),
        inkan_store::StoreError::Refused(why) => ServiceError::Invalid(why),
        other => other.into(),
    }
}
