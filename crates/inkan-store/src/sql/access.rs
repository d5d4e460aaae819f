//! [`AccessStore`](crate::AccessStore) over [`SqlStore`]: groups, folders, shares and the
//! reading predicate.
//!
//! A folder's `path` is the chain of folder IDs from the top, each followed by `/`, ending with
//! its own; a folder's subtree is every folder whose path starts with its path. IDs are UUIDs
//! (hex and `-`), so a path never holds a `LIKE` wildcard and no path is a prefix of another by
//! accident.

use sqlx::Any;

use super::builder::SqlBuilder;
use super::SqlStore;

impl SqlStore {
    /// The one reading predicate: appends ` AND (…)` so that only the envelopes (alias
    /// `e`) `reach` reads remain. Every list, search and read by ID goes through it.
    pub(crate) fn push_reach(q: &mut SqlBuilder, reach: &crate::Reach) {
        match *reach {
            crate::Reach::Every => {}
            crate::Reach::Nothing => {
                q.push(" AND 1 = 0");
            }
            crate::Reach::Granted { user, unfiled } => {
                let user = user.to_string();
                // Only the organization's own user reads anything of it.
                q.push(
                    " AND EXISTS (SELECT 1 FROM users u \
                     WHERE u.organization = e.organization AND u.id = ",
                )
                .push_bind(user.clone())
                .push(")");
                q.push(" AND (e.created_by = ").push_bind(user.clone());
                q.push(
                    " OR EXISTS (SELECT 1 FROM envelope_shares s \
                     WHERE s.envelope = e.id AND s.user_id = ",
                )
                .push_bind(user.clone())
                .push(")");
                if unfiled {
                    q.push(" OR e.folder IS NULL");
                }
                q.push(
                    " OR EXISTS (SELECT 1 FROM folders f JOIN folders g \
                     ON g.organization = f.organization AND f.path LIKE g.path || '%' \
                     JOIN folder_grants fg ON fg.folder = g.id \
                     JOIN group_members m ON m.group_id = fg.group_id \
                     WHERE f.id = e.folder AND m.user_id = ",
                )
                .push_bind(user)
                .push("))");
            }
        }
    }

    /// Appends ` AND …` keeping the envelopes (alias `e`) in `folder` or below it.
    pub(crate) fn push_folder(q: &mut SqlBuilder, folder: inkan_domain::FolderId) {
        q.push(
            " AND e.folder IN (SELECT f.id FROM folders f JOIN folders top \
             ON top.organization = f.organization AND f.path LIKE top.path || '%' \
             WHERE top.id = ",
        )
        .push_bind(folder.to_string())
        .push(")");
    }

    /// A folder's path, if it is the organization's.
    pub(super) async fn folder_path(
        tx: &mut sqlx::Transaction<'static, Any>,
        org: inkan_domain::OrganizationId,
        id: inkan_domain::FolderId,
    ) -> crate::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT path FROM folders WHERE id = $1 AND organization = $2")
                .bind(id.to_string())
                .bind(org.to_string())
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    /// Replaces a group's members, each of whom must be the organization's user.
    async fn write_members(
        tx: &mut sqlx::Transaction<'static, Any>,
        group: &crate::Group,
    ) -> crate::Result<()> {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1")
            .bind(group.id.to_string())
            .execute(&mut **tx)
            .await?;
        for user in &group.members {
            let done = sqlx::query(
                "INSERT INTO group_members (group_id, user_id, organization) \
                 SELECT $1, id, organization FROM users \
                 WHERE id = $2 AND organization = $3 ON CONFLICT DO NOTHING",
            )
            .bind(group.id.to_string())
            .bind(user.to_string())
            .bind(group.organization.to_string())
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 && !Self::is_member(tx, group.id, *user).await? {
                return Err(crate::StoreError::NotFound(format!(
                    "user {user} of the organization"
                )));
            }
        }
        Ok(())
    }

    async fn is_member(
        tx: &mut sqlx::Transaction<'static, Any>,
        group: inkan_domain::GroupId,
        user: inkan_domain::UserId,
    ) -> crate::Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group.to_string())
                .bind(user.to_string())
                .fetch_optional(&mut **tx)
                .await?;
        Ok(found.is_some())
    }

    /// Replaces a folder's grants, each to one of the organization's groups.
    async fn write_grants(
        tx: &mut sqlx::Transaction<'static, Any>,
        folder: &crate::Folder,
    ) -> crate::Result<()> {
        sqlx::query("DELETE FROM folder_grants WHERE folder = $1")
            .bind(folder.id.to_string())
            .execute(&mut **tx)
            .await?;
        for group in &folder.grants {
            sqlx::query(
                "INSERT INTO folder_grants (folder, group_id, organization) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(folder.id.to_string())
            .bind(group.to_string())
            .bind(folder.organization.to_string())
            .execute(&mut **tx)
            .await
            .map_err(|e| crate::rows::db_error(e, || format!("the grant to group {group}")))?;
        }
        Ok(())
    }

    /// The path a folder gets under `parent`, refused when it would nest too deep
    /// (`below` more levels hang under the folder itself).
    async fn path_under(
        tx: &mut sqlx::Transaction<'static, Any>,
        folder: &crate::Folder,
        below: usize,
    ) -> crate::Result<String> {
        let parent_path = match folder.parent {
            None => String::new(),
            Some(parent) => Self::folder_path(tx, folder.organization, parent)
                .await?
                .ok_or_else(|| {
                    crate::StoreError::NotFound(format!("the parent folder {parent}"))
                })?,
        };
        let path = format!("{parent_path}{}/", folder.id);
        if path.matches('/').count() + below > crate::MAX_FOLDER_DEPTH {
            return Err(crate::StoreError::Refused(format!(
                "フォルダは {} 階層までです (folders nest at most {} deep)",
                crate::MAX_FOLDER_DEPTH,
                crate::MAX_FOLDER_DEPTH
            )));
        }
        Ok(path)
    }
}

#[async_trait::async_trait]
impl crate::AccessStore for SqlStore {
    async fn readable_envelope(
        &self,
        org: inkan_domain::OrganizationId,
        id: inkan_domain::EnvelopeId,
        reach: &crate::Reach,
    ) -> crate::Result<Option<crate::EnvelopeRecord>> {
        let mut q = SqlBuilder::new(format!(
            "SELECT {} FROM envelopes e WHERE e.id = ",
            crate::rows::ENVELOPE
        ));
        q.push_bind(id.to_string())
            .push(" AND e.organization = ")
            .push_bind(org.to_string());
        Self::push_reach(&mut q, reach);
        let row = q.build()?.fetch_optional(&self.pool).await?;
        row.as_ref().map(crate::rows::envelope).transpose()
    }

    async fn create_group(&self, group: &crate::Group) -> crate::Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            sqlx::query(
                "INSERT INTO staff_groups (id, organization, name, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(group.id.to_string())
            .bind(group.organization.to_string())
            .bind(&group.name)
            .bind(group.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| crate::rows::db_error(e, || format!("the group name {:?}", group.name)))?;
            Self::write_members(&mut tx, group).await
        }
        .await;
        Self::end(tx, result).await
    }

    async fn groups(&self, org: inkan_domain::OrganizationId) -> crate::Result<Vec<crate::Group>> {
        let found = sqlx::query(
            "SELECT id, organization, name, created_at FROM staff_groups \
             WHERE organization = $1 ORDER BY name, id",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        let members = sqlx::query(
            "SELECT m.group_id, m.user_id FROM group_members m \
             WHERE m.organization = $1 ORDER BY m.group_id, m.user_id",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut groups = found
            .iter()
            .map(crate::rows::group)
            .collect::<crate::Result<Vec<_>>>()?;
        for row in &members {
            let (group, user) = crate::rows::membership(row)?;
            if let Some(g) = groups.iter_mut().find(|g| g.id == group) {
                g.members.push(user);
            }
        }
        Ok(groups)
    }

    async fn update_group(&self, group: &crate::Group) -> crate::Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            let done = sqlx::query(
                "UPDATE staff_groups SET name = $1 WHERE id = $2 AND organization = $3",
            )
            .bind(&group.name)
            .bind(group.id.to_string())
            .bind(group.organization.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| crate::rows::db_error(e, || format!("the group name {:?}", group.name)))?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            Self::write_members(&mut tx, group).await?;
            Ok(true)
        }
        .await;
        Self::end(tx, result).await
    }

    async fn delete_group(
        &self,
        org: inkan_domain::OrganizationId,
        id: inkan_domain::GroupId,
    ) -> crate::Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            for table in ["folder_grants", "group_members"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE group_id = $1 AND organization = $2"
                ))
                .bind(id.to_string())
                .bind(org.to_string())
                .execute(&mut *tx)
                .await?;
            }
            let done = sqlx::query("DELETE FROM staff_groups WHERE id = $1 AND organization = $2")
                .bind(id.to_string())
                .bind(org.to_string())
                .execute(&mut *tx)
                .await?;
            Ok(done.rows_affected() == 1)
        }
        .await;
        Self::end(tx, result).await
    }

    async fn create_folder(&self, folder: &crate::Folder) -> crate::Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            let path = Self::path_under(&mut tx, folder, 0).await?;
            sqlx::query(
                "INSERT INTO folders (id, organization, parent, name, path, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(folder.id.to_string())
            .bind(folder.organization.to_string())
            .bind(folder.parent.map(|p| p.to_string()))
            .bind(&folder.name)
            .bind(path)
            .bind(folder.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                crate::rows::db_error(e, || format!("the folder name {:?}", folder.name))
            })?;
            Self::write_grants(&mut tx, folder).await
        }
        .await;
        Self::end(tx, result).await
    }

    async fn folders(
        &self,
        org: inkan_domain::OrganizationId,
    ) -> crate::Result<Vec<crate::Folder>> {
        let found = sqlx::query(
            "SELECT id, organization, parent, name, path, created_at FROM folders \
             WHERE organization = $1",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        let grants = sqlx::query(
            "SELECT folder, group_id FROM folder_grants WHERE organization = $1 \
             ORDER BY folder, group_id",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut folders = found
            .iter()
            .map(crate::rows::folder)
            .collect::<crate::Result<Vec<_>>>()?;
        for row in &grants {
            let (folder, group) = crate::rows::grant(row)?;
            if let Some(f) = folders.iter_mut().find(|(f, _)| f.id == folder) {
                f.0.grants.push(group);
            }
        }
        Ok(crate::rows::tree_order(folders))
    }

    async fn update_folder(&self, folder: &crate::Folder) -> crate::Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            let Some(old_path) = Self::folder_path(&mut tx, folder.organization, folder.id).await?
            else {
                return Ok(false);
            };
            if let Some(parent) = folder.parent {
                let parent_path = Self::folder_path(&mut tx, folder.organization, parent)
                    .await?
                    .unwrap_or_default();
                if parent_path.starts_with(&old_path) {
                    return Err(crate::StoreError::Refused(
                        "フォルダをそれ自身やその下のフォルダへは移動できません \
                         (a folder cannot move into itself or one of its subfolders)"
                            .into(),
                    ));
                }
            }
            let subtree: Vec<String> = sqlx::query_scalar(
                "SELECT path FROM folders WHERE organization = $1 AND path LIKE $2",
            )
            .bind(folder.organization.to_string())
            .bind(format!("{old_path}%"))
            .fetch_all(&mut *tx)
            .await?;
            let own_depth = old_path.matches('/').count();
            let below = subtree
                .iter()
                .map(|p| p.matches('/').count() - own_depth)
                .max()
                .unwrap_or(0);
            let new_path = Self::path_under(&mut tx, folder, below).await?;
            sqlx::query(
                "UPDATE folders SET name = $1, parent = $2 \
                 WHERE id = $3 AND organization = $4",
            )
            .bind(&folder.name)
            .bind(folder.parent.map(|p| p.to_string()))
            .bind(folder.id.to_string())
            .bind(folder.organization.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                crate::rows::db_error(e, || format!("the folder name {:?}", folder.name))
            })?;
            if new_path != old_path {
                sqlx::query(
                    "UPDATE folders SET path = $1 || substr(path, $2) \
                     WHERE organization = $3 AND path LIKE $4",
                )
                .bind(&new_path)
                .bind(i32::try_from(old_path.len() + 1).unwrap_or(i32::MAX))
                .bind(folder.organization.to_string())
                .bind(format!("{old_path}%"))
                .execute(&mut *tx)
                .await?;
            }
            Self::write_grants(&mut tx, folder).await?;
            Ok(true)
        }
        .await;
        Self::end(tx, result).await
    }

    async fn delete_folder(
        &self,
        org: inkan_domain::OrganizationId,
        id: inkan_domain::FolderId,
    ) -> crate::Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            if Self::folder_path(&mut tx, org, id).await?.is_none() {
                return Ok(false);
            }
            let used: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM folders WHERE parent = $1) \
                 + (SELECT COUNT(*) FROM envelopes WHERE folder = $1)",
            )
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            if used > 0 {
                return Err(crate::StoreError::Refused(
                    "フォルダが空ではありません。中の封筒とフォルダを先に移動してください \
                     (the folder is not empty: move its envelopes and folders first)"
                        .into(),
                ));
            }
            sqlx::query("DELETE FROM folder_grants WHERE folder = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM folders WHERE id = $1 AND organization = $2")
                .bind(id.to_string())
                .bind(org.to_string())
                .execute(&mut *tx)
                .await?;
            Ok(true)
        }
        .await;
        Self::end(tx, result).await
    }

    async fn set_envelope_shares(
        &self,
        org: inkan_domain::OrganizationId,
        envelope: inkan_domain::EnvelopeId,
        users: &[inkan_domain::UserId],
        now: i64,
    ) -> crate::Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            Self::check_envelope(&mut tx, envelope, org, "the share").await?;
            sqlx::query("DELETE FROM envelope_shares WHERE envelope = $1")
                .bind(envelope.to_string())
                .execute(&mut *tx)
                .await?;
            for user in users {
                let done = sqlx::query(
                    "INSERT INTO envelope_shares (envelope, user_id, organization, \
                     created_at) SELECT $1, id, organization, $2 FROM users \
                     WHERE id = $3 AND organization = $4 ON CONFLICT DO NOTHING",
                )
                .bind(envelope.to_string())
                .bind(now)
                .bind(user.to_string())
                .bind(org.to_string())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    let known: Option<i32> = sqlx::query_scalar(
                        "SELECT 1 FROM users WHERE id = $1 AND organization = $2",
                    )
                    .bind(user.to_string())
                    .bind(org.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if known.is_none() {
                        return Err(crate::StoreError::NotFound(format!(
                            "user {user} of the organization"
                        )));
                    }
                }
            }
            Ok(())
        }
        .await;
        Self::end(tx, result).await
    }

    async fn envelope_shares(
        &self,
        org: inkan_domain::OrganizationId,
        envelope: inkan_domain::EnvelopeId,
    ) -> crate::Result<Vec<inkan_domain::UserId>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM envelope_shares WHERE envelope = $1 AND organization = $2 \
             ORDER BY user_id",
        )
        .bind(envelope.to_string())
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|u| {
                u.parse().map_err(|_| {
                    crate::StoreError::Corrupt(format!("envelope_shares.user_id {u:?}"))
                })
            })
            .collect()
    }

    async fn shared_with(
        &self,
        org: inkan_domain::OrganizationId,
        user: inkan_domain::UserId,
    ) -> crate::Result<Vec<inkan_domain::EnvelopeId>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT envelope FROM envelope_shares WHERE user_id = $1 AND organization = $2 \
             ORDER BY envelope",
        )
        .bind(user.to_string())
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|e| {
                e.parse().map_err(|_| {
                    crate::StoreError::Corrupt(format!("envelope_shares.envelope {e:?}"))
                })
            })
            .collect()
    }

    async fn set_folder_required(
        &self,
        org: inkan_domain::OrganizationId,
        required: bool,
    ) -> crate::Result<bool> {
        let done = sqlx::query("UPDATE organizations SET folder_required = $1 WHERE id = $2")
            .bind(required)
            .bind(org.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
