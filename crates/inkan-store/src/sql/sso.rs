//! [`SsoStore`](crate::SsoStore) over [`SqlStore`].

use sqlx::Any;

use super::SqlStore;

impl SqlStore {
    async fn sso_domains_of(
        &self,
        org: inkan_domain::OrganizationId,
    ) -> crate::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT domain FROM sso_domains WHERE organization = $1 ORDER BY domain",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn sso_row(
        &self,
        row: Option<<Any as sqlx::Database>::Row>,
    ) -> crate::Result<Option<crate::SsoProvider>> {
        use sqlx::Row;
        let Some(row) = row else {
            return Ok(None);
        };
        let org: String = row.try_get("organization")?;
        let organization: inkan_domain::OrganizationId = org.parse().map_err(|_| {
            crate::StoreError::Corrupt(format!("sso_providers.organization {org:?}"))
        })?;
        Ok(Some(crate::SsoProvider {
            organization,
            issuer: row.try_get("issuer")?,
            client_id: row.try_get("client_id")?,
            client_secret: row.try_get("client_secret")?,
            domains: self.sso_domains_of(organization).await?,
            required: crate::rows::Get::flag(&row, "required")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }
}

#[async_trait::async_trait]
impl crate::SsoStore for SqlStore {
    async fn set_sso_provider(&self, p: &crate::SsoProvider) -> crate::Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            sqlx::query(
                "INSERT INTO sso_providers (organization, issuer, client_id, \
                 client_secret, required, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (organization) DO UPDATE SET issuer = excluded.issuer, \
                 client_id = excluded.client_id, client_secret = excluded.client_secret, \
                 required = excluded.required, updated_at = excluded.updated_at",
            )
            .bind(p.organization.to_string())
            .bind(&p.issuer)
            .bind(&p.client_id)
            .bind(&p.client_secret)
            .bind(p.required)
            .bind(p.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| crate::rows::db_error(e, || "the organization".into()))?;
            sqlx::query("DELETE FROM sso_domains WHERE organization = $1")
                .bind(p.organization.to_string())
                .execute(&mut *tx)
                .await?;
            for domain in &p.domains {
                sqlx::query("INSERT INTO sso_domains (domain, organization) VALUES ($1, $2)")
                    .bind(domain)
                    .bind(p.organization.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        crate::rows::db_error(e, || format!("the email domain {domain}"))
                    })?;
            }
            Ok(())
        }
        .await;
        Self::end(tx, result).await
    }

    async fn remove_sso_provider(&self, org: inkan_domain::OrganizationId) -> crate::Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            sqlx::query("DELETE FROM sso_domains WHERE organization = $1")
                .bind(org.to_string())
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM sso_providers WHERE organization = $1")
                .bind(org.to_string())
                .execute(&mut *tx)
                .await?;
            Ok(done.rows_affected() == 1)
        }
        .await;
        Self::end(tx, result).await
    }

    async fn sso_provider(
        &self,
        org: inkan_domain::OrganizationId,
    ) -> crate::Result<Option<crate::SsoProvider>> {
        let row = sqlx::query(
            "SELECT organization, issuer, client_id, client_secret, required, updated_at \
             FROM sso_providers WHERE organization = $1",
        )
        .bind(org.to_string())
        .fetch_optional(&self.pool)
        .await?;
        self.sso_row(row).await
    }

    async fn sso_provider_for_domain(
        &self,
        domain: &str,
    ) -> crate::Result<Option<crate::SsoProvider>> {
        let row = sqlx::query(
            "SELECT p.organization, p.issuer, p.client_id, p.client_secret, p.required, \
             p.updated_at FROM sso_providers p JOIN sso_domains d \
             ON d.organization = p.organization WHERE d.domain = $1",
        )
        .bind(domain)
        .fetch_optional(&self.pool)
        .await?;
        self.sso_row(row).await
    }

    async fn use_once(
        &self,
        scope: &str,
        value: &str,
        expires_at: i64,
        now: i64,
    ) -> crate::Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let result = async {
            sqlx::query("DELETE FROM used_once WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "INSERT INTO used_once (scope, value, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (scope, value) DO NOTHING",
            )
            .bind(scope)
            .bind(value)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            Ok(done.rows_affected() == 1)
        }
        .await;
        Self::end(tx, result).await
    }
}
