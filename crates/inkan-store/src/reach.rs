//! 閲覧権限: who reads which envelope. Staff users belong to groups; folders form a tree and are
//! granted to groups (a grant covers the folder's subfolders); an envelope lives in one folder
//! or at the organization's top level, and may be shared with single users. [`Reach`] is the one
//! predicate every read applies — lists, the 文書管理 search and its CSV, reads by ID (and so
//! downloads, page images, certificates and audit reads) — written once, in SQL, by the store.

use async_trait::async_trait;
use inkan_domain::{EnvelopeId, FolderId, GroupId, OrganizationId, UserId};
use serde::{Deserialize, Serialize};

use crate::{EnvelopeRecord, Result, UnixTime};

/// Which envelopes (and everything of them) a staff caller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// Every envelope of the organization (管理者, API keys, the service's own work).
    Every,
    /// What one user is given: the envelopes they created, those shared with them, those in a
    /// folder granted (itself or through a folder above it) to a group they belong to, and,
    /// with `unfiled`, every envelope at the top level (in no folder).
    Granted { user: UserId, unfiled: bool },
    /// None (システム管理者). Also what a filter reads unless told otherwise, so a forgotten
    /// field shows nothing rather than everything.
    #[default]
    Nothing,
}

impl Reach {
    pub fn granted(user: UserId, unfiled: bool) -> Reach {
        Reach::Granted { user, unfiled }
    }
}

/// A group of staff users (グループ): what folders are granted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub organization: OrganizationId,
    /// Unique in the organization: `契約検査課`.
    pub name: String,
    /// By user ID.
    pub members: Vec<UserId>,
    pub created_at: UnixTime,
}

/// A folder (フォルダ) of envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub id: FolderId,
    pub organization: OrganizationId,
    /// `None`: at the top.
    pub parent: Option<FolderId>,
    /// Unique among its siblings: `令和8年度`.
    pub name: String,
    /// The groups whose members read what is in it and in its subfolders.
    pub grants: Vec<GroupId>,
    pub created_at: UnixTime,
}

/// How deep folders nest at most (the top level is depth 1).
pub const MAX_FOLDER_DEPTH: usize = 8;

/// The store's part for 閲覧権限 (a part of [`crate::Store`]; implemented in `sql/access.rs`).
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// The envelope, if it is the organization's and `reach` reads it.
    async fn readable_envelope(
        &self,
        org: OrganizationId,
        id: EnvelopeId,
        reach: &Reach,
    ) -> Result<Option<EnvelopeRecord>>;
    /// A name used by another of the organization's groups is [`crate::StoreError::Duplicate`]; a
    /// member who is not the organization's user is [`crate::StoreError::NotFound`].
    async fn create_group(&self, group: &Group) -> Result<()>;
    /// By name.
    async fn groups(&self, org: OrganizationId) -> Result<Vec<Group>>;
    /// Renames the group and replaces its members; false when there is no such group.
    async fn update_group(&self, group: &Group) -> Result<bool>;
    /// Deletes the group with its memberships and its folders' grants to it; false when there is
    /// no such group.
    async fn delete_group(&self, org: OrganizationId, id: GroupId) -> Result<bool>;
    /// A parent that is not the organization's folder is [`crate::StoreError::NotFound`]; a name used by
    /// a sibling is [`crate::StoreError::Duplicate`]; deeper than [`MAX_FOLDER_DEPTH`] is
    /// [`crate::StoreError::Refused`]. Grants name the organization's groups.
    async fn create_folder(&self, folder: &Folder) -> Result<()>;
    /// Every folder, parents before their children, siblings by name.
    async fn folders(&self, org: OrganizationId) -> Result<Vec<Folder>>;
    /// Renames, moves (under `parent`) and replaces the grants of a folder in one transaction;
    /// false when there is no such folder. A move under itself or one of its subfolders, or
    /// deeper than [`MAX_FOLDER_DEPTH`], is [`crate::StoreError::Refused`].
    async fn update_folder(&self, folder: &Folder) -> Result<bool>;
    /// Deletes a folder that holds no subfolder and no envelope ([`crate::StoreError::Refused`]
    /// otherwise); false when there is no such folder.
    async fn delete_folder(&self, org: OrganizationId, id: FolderId) -> Result<bool>;
    /// Replaces the users one envelope is shared with (users of its organization).
    async fn set_envelope_shares(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
        users: &[UserId],
        now: i64,
    ) -> Result<()>;
    async fn envelope_shares(
        &self,
        org: OrganizationId,
        envelope: EnvelopeId,
    ) -> Result<Vec<UserId>>;
    /// The envelopes shared with one user.
    async fn shared_with(&self, org: OrganizationId, user: UserId) -> Result<Vec<EnvelopeId>>;
    /// Whether every envelope must be sent into a folder; false when there is no such
    /// organization.
    async fn set_folder_required(&self, org: OrganizationId, required: bool) -> Result<bool>;
}
