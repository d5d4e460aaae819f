//! [`PasskeyStore`](crate::PasskeyStore) over [`SqlStore`].

use super::SqlStore;

#[async_trait::async_trait]
impl crate::PasskeyStore for SqlStore {
    async fn add_passkey(&self, p: &crate::StoredPasskey) -> crate::Result<()> {
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, name, credential, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&p.id)
        .bind(p.user.to_string())
        .bind(&p.name)
        .bind(&p.credential)
        .bind(p.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| crate::rows::db_error(e, || format!("passkey {}", p.id)))?;
        Ok(())
    }

    async fn passkeys(
        &self,
        user: inkan_domain::UserId,
    ) -> crate::Result<Vec<crate::StoredPasskey>> {
        use sqlx::Row;
        let found = sqlx::query(
            "SELECT id, user_id, name, credential, created_at, last_used_at \
             FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|r| {
                Ok(crate::StoredPasskey {
                    id: r.try_get("id")?,
                    user,
                    name: r.try_get("name")?,
                    credential: r.try_get("credential")?,
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    async fn touch_passkey(
        &self,
        user: inkan_domain::UserId,
        id: &str,
        credential: &str,
        now: i64,
    ) -> crate::Result<bool> {
        let done = sqlx::query(
            "UPDATE passkeys SET credential = $1, last_used_at = $2 \
             WHERE id = $3 AND user_id = $4",
        )
        .bind(credential)
        .bind(now)
        .bind(id)
        .bind(user.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_passkey(&self, user: inkan_domain::UserId, id: &str) -> crate::Result<bool> {
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_passkeys(&self, user: inkan_domain::UserId) -> crate::Result<u64> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
