//! [`FactorStore`](crate::FactorStore) over [`SqlStore`]: second factors and attempt limits.

use super::SqlStore;
use crate::rows;
use crate::{Result, StoreError, TokenHash};
use inkan_domain::{OrganizationId, UserId};

#[async_trait::async_trait]
impl crate::FactorStore for SqlStore {
    async fn set_mfa_required(&self, org: OrganizationId, required: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE organizations SET mfa_required = $1 WHERE id = $2")
            .bind(required)
            .bind(org.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_totp(
        &self,
        org: OrganizationId,
        user: UserId,
        sealed_secret: Option<&str>,
        recovery_codes: &[TokenHash],
    ) -> Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_last_step = NULL \
             WHERE id = $2 AND organization = $3",
        )
        .bind(sealed_secret)
        .bind(user.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if sealed_secret.is_some() {
            for hash in recovery_codes {
                sqlx::query("INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)")
                    .bind(user.to_string())
                    .bind(&hash.0[..])
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn accept_totp_step(&self, org: OrganizationId, user: UserId, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND organization = $3 \
             AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user.to_string())
        .bind(org.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn use_recovery_code(&self, user: UserId, hash: &TokenHash, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user.to_string())
        .bind(&hash.0[..])
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u32> {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?;
        u32::try_from(left).map_err(|_| StoreError::Corrupt(format!("{left} recovery codes left")))
    }

    async fn count_failure(
        &self,
        scope: &str,
        key: &str,
        limit: crate::AttemptLimit,
        now: i64,
    ) -> Result<crate::AttemptCount> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result: Result<crate::AttemptCount> = async {
            let sql = format!(
                "SELECT window_start, failures, locked_until FROM attempt_limits \
                 WHERE scope = $1 AND key = $2{}",
                self.backend.for_update()
            );
            let row = sqlx::query(&sql)
                .bind(scope)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            let (window_start, failures, locked_until) = match &row {
                Some(r) => (
                    rows::Get::int(r, "window_start")?,
                    rows::Get::int(r, "failures")?,
                    rows::Get::opt_int(r, "locked_until")?,
                ),
                None => (now, 0, None),
            };
            let still_locked = locked_until.filter(|&until| until > now);
            // A new window once the old one is over (and any lock has ended).
            let (window_start, failures) =
                if still_locked.is_none() && now - window_start >= limit.window {
                    (now, 1)
                } else {
                    (window_start, failures + 1)
                };
            let newly_locked = still_locked.is_none() && failures >= i64::from(limit.failures);
            let locked_until = if newly_locked {
                Some(now + limit.lock)
            } else {
                still_locked
            };
            sqlx::query(
                "INSERT INTO attempt_limits (scope, key, window_start, failures, locked_until) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (scope, key) DO UPDATE SET window_start = $3, failures = $4, \
                 locked_until = $5",
            )
            .bind(scope)
            .bind(key)
            .bind(window_start)
            .bind(failures)
            .bind(locked_until)
            .execute(&mut *tx)
            .await?;
            Ok(crate::AttemptCount {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                locked_until,
                newly_locked,
            })
        }
        .await;
        Self::end(tx, result).await
    }

    async fn count_request(
        &self,
        scope: &str,
        key: &str,
        window_start: i64,
        forget_before: i64,
    ) -> Result<u32> {
        // One statement, atomic on both databases: concurrent requests each get their own count.
        let row = sqlx::query(
            "INSERT INTO request_windows (scope, key, window_start, requests) \
             VALUES ($1, $2, $3, 1) \
             ON CONFLICT (scope, key, window_start) \
             DO UPDATE SET requests = request_windows.requests + 1 \
             RETURNING requests",
        )
        .bind(scope)
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        let requests = rows::Get::int(&row, "requests")?;
        // The first request of a window clears the windows that are over, for everyone.
        if requests == 1 {
            sqlx::query("DELETE FROM request_windows WHERE window_start < $1")
                .bind(forget_before)
                .execute(&self.pool)
                .await?;
        }
        Ok(u32::try_from(requests).unwrap_or(u32::MAX))
    }

    async fn locked_until(&self, scope: &str, key: &str, now: i64) -> Result<Option<i64>> {
        let row =
            sqlx::query("SELECT locked_until FROM attempt_limits WHERE scope = $1 AND key = $2")
                .bind(scope)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        let until = match &row {
            Some(r) => rows::Get::opt_int(r, "locked_until")?,
            None => None,
        };
        Ok(until.filter(|&until| until > now))
    }
}
