//! The PostgreSQL backend, for running several Inkan processes against one database.
//!
//! Concurrency comes from row locks: the envelope row (the version check is an `UPDATE … WHERE
//! version = $n`), the organization's audit head (`FOR UPDATE`), and job claims with
//! `FOR UPDATE SKIP LOCKED` so that workers never wait for, or share, a job.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Inkan's data in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    chain_key: crate::ChainKey,
    /// How `pg_dump` reaches the same database.
    pub(crate) target: crate::dump::PgTarget,
}

impl PostgresStore {
    /// Connects to `postgres://user@host/db` and applies the migrations it has not seen yet
    /// (under PostgreSQL's advisory lock, so processes starting together do not race).
    pub async fn connect(url: &str, chain_key: crate::ChainKey) -> crate::Result<PostgresStore> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            crate::StoreError::Config(format!(
                "PostgreSQL URL (…@{}): {e}",
                url.split('@').next_back().unwrap_or("")
            ))
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore {
            pool,
            chain_key,
            target: crate::dump::PgTarget::parse(url)?,
        })
    }

    /// The database at `url` brought to the migrations up to `version` only
    /// ([`crate::migrate_to`]).
    pub(crate) async fn migrate_to(url: &str, version: i64) -> crate::Result<()> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| crate::StoreError::Config(format!("PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        crate::migrations::up_to(&MIGRATOR, version)
            .run(&pool)
            .await?;
        pool.close().await;
        Ok(())
    }

    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    async fn begin_write(&self) -> crate::Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

crate::imp::store_impl!(PostgresStore, Postgres, "postgres");
crate::imp_access::access_impl!(PostgresStore, Postgres);
crate::imp_sso::sso_impl!(PostgresStore, Postgres);
crate::imp_passkeys::passkeys_impl!(PostgresStore);
